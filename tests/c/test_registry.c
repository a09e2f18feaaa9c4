/* test_registry.c — the registry (datasets, models, prediction sets)
 * through the router with real bearer tokens, and through the public client
 * on the embedded platform and over HTTP:
 *   - records as registered (defaults, normalized configs, validity
 *     PENDING with a validation job, or "validation skipped" without one),
 *     get, list with filters, delete;
 *   - names unique per project (409), one prediction set per dataset and
 *     model (409), the record and its job written together or not at all;
 *   - the role matrix: viewer reads, member registers and deletes its own,
 *     admin deletes any, other workspaces see nothing (404);
 *   - integration checks (unknown, other workspace, members-level value
 *     missing) and file checks (not uploaded, a directory, another
 *     workspace's), each naming the key;
 *   - bad bodies as typed errors naming the field;
 *   - deleting a dataset or model deletes its prediction sets and cached
 *     data; a project holding entries is 409 unless force, which deletes
 *     them and their cached data;
 *   - with job workers, validation outcomes (VALID with row count and
 *     profile, INVALID with the reason) and the client waiting for them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "internal.h"
#include "platform/platform.h"
#include "platform/router.h"
#include "test_support.h"

enum {
  ORG,      /* the bootstrap admin, token for its default workspace */
  ORG_TEAM, /* the bootstrap admin, token for the team workspace */
  WADMIN,   /* admin of the team workspace */
  MEMBER,   /* member of the team workspace */
  MEMBER2,  /* another member */
  VIEWER,   /* viewer of the team workspace */
  OUTSIDER, /* admin of another workspace only */
  N_USERS
};
static const char *const caller_names[N_USERS] = {
  "org admin (default workspace)", "org admin (team token)", "workspace admin", "member",
  "member 2", "viewer", "outsider"};

typedef struct fixture {
  char *home;
  assay_platform *p;
  char ws[37], other_ws[37];
  char user[N_USERS][37];
  char token[N_USERS][ASSAY_TOKEN_LEN];
  char project[37];       /* the team's project, made by MEMBER */
  char other_project[37]; /* a second team project, made by MEMBER */
} fixture;

static int counter;

/* --- requests ------------------------------------------------------------------------------ */

#define jf test_jsonf /* JSON from printf-formatted text (test_support.h) */

/* Send `body` (stolen; may be NULL) as `who` with `query` and expect
 * `status`; the answer (caller decrefs). */
static json_t *callq(fixture *f, int status, const char *method, const char *path,
                     const char *query, int who, json_t *body) {
  return router_expect(f->p, status, method, path, query, f->token[who], caller_names[who], body);
}

static json_t *call(fixture *f, int status, const char *method, const char *path, int who,
                    json_t *body) {
  return callq(f, status, method, path, NULL, who, body);
}

/* An error answer: status, error name and fragments of its message. */
static void call_err(fixture *f, int status, const char *name, const char *frag1,
                     const char *frag2, const char *method, const char *path, int who,
                     json_t *body) {
  expect_error_answer(call(f, status, method, path, who, body), name, frag1, frag2, method,
                      path);
}

static const char *str(const json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

static char *ppath(const char *project, const char *what) {
  static char path[4][256];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, 256, "/v1/projects/%s/%s", project, what);
  return p;
}

static char *idpath(const char *collection, const char *id) {
  static char path[4][256];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, 256, "/v1/%s/%s", collection, id);
  return p;
}

/* Upload `content` as <folder>/<name> into the workspace of who's token. */
static void upload(fixture *f, int who, const char *folder, const char *name,
                   const char *content) {
  char query[512];
  snprintf(query, sizeof query, "name=%s&upload_path=%s", name, folder);
  json_t *b = NULL;
  int got = router_send(f->p, "PUT", "/v1/files", query, f->token[who], content, &b);
  if (got != 201) {
    char *answer = b ? json_dumps(b, 0) : NULL;
    fail_msg("upload %s/%s: %d %s", folder, name, got, answer ? answer : "");
  }
  json_decref(b);
}

#define CSV_TEXT "a,b,y\n1,x,0\n2,y,1\n3,z,0\n"
#define DATA_LOC "assay://files/d/data.csv"
#define PRED_LOC "assay://files/d/preds.csv"
#define LOADER_LOC "assay://files/l/loader.py"

/* A data_file data_info for `location`. */
static json_t *file_info(const char *location) {
  return jf("{\"connection_info\":{\"data_file\":{\"path\":\"%s\"}},"
            "\"data_params\":{\"label_col\":\"y\"}}",
            location);
}

/* Register a dataset (skip_validation unless validate) as who; its id. */
static void make_dataset(fixture *f, int who, const char *project, const char *name,
                         int validate, char id[37]) {
  json_t *b = call(f, 201, "POST", ppath(project, "datasets"), who,
                   json_pack("{s:s, s:o, s:b}", "name", name, "data_info", file_info(DATA_LOC),
                             "skip_validation", !validate));
  snprintf(id, 37, "%s", str(b, "dataset_id"));
  json_decref(b);
}

static void make_model(fixture *f, int who, const char *project, const char *name,
                       char id[37]) {
  json_t *b = call(f, 201, "POST", ppath(project, "models"), who,
                   json_pack("{s:s, s:n}", "name", name, "model_info"));
  snprintf(id, 37, "%s", str(b, "model_id"));
  json_decref(b);
}

static void make_predictions(fixture *f, int who, const char *project, const char *dataset,
                             const char *model, char id[37]) {
  json_t *b = call(f, 201, "POST", ppath(project, "predictions"), who,
                   jf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"skip_validation\":true,"
                      "\"pred_info\":{\"connection_info\":{\"data_file\":{\"path\":\"%s\"}},"
                      "\"pred_params\":{\"pred_col\":\"p\"}}}",
                      dataset, model, PRED_LOC));
  snprintf(id, 37, "%s", str(b, "prediction_id"));
  json_decref(b);
}

static char *unique(const char *prefix) {
  static char name[4][64];
  static int next;
  char *n = name[next++ % 4];
  snprintf(n, 64, "%s-%d", prefix, ++counter);
  return n;
}

/* Rows of the jobs table (straight from the database). */
static long long count_rows(fixture *f, const char *table) {
  char path[4096], sql[128];
  snprintf(path, sizeof path, "%s/assay.db", f->home);
  snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  long long n = -1;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  assert_true(n >= 0);
  return n;
}

/* A cache folder for `id` as the loader would leave it; 1 if it exists. */
static void make_cache(fixture *f, const char *id) {
  char path[4096];
  snprintf(path, sizeof path, "%s/cache", f->home);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/cache/%s", f->home, id);
  assert_int_equal(mkdir(path, 0700), 0);
  snprintf(path, sizeof path, "%s/cache/%s/0123.acol", f->home, id);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs("x", fp);
  fclose(fp);
}

static int cache_exists(fixture *f, const char *id) {
  char path[4096];
  struct stat st;
  snprintf(path, sizeof path, "%s/cache/%s", f->home, id);
  return stat(path, &st) == 0;
}

/* --- setup --------------------------------------------------------------------------------- */

static int open_fixture(void **state, int workers) {
  fixture *f = calloc(1, sizeof *f);
  if (!f || !(f->home = make_home())) return -1;
  assay_platform_options o = ASSAY_PLATFORM_OPTIONS_INIT;
  o.home = f->home;
  o.workers = workers;
  if (assay_platform_open_with(&f->p, &o) != ASSAY_OK) {
    fprintf(stderr, "open: %s\n", assay_error_last()->message);
    return -1;
  }
  if (read_admin_token(f->home, f->token[ORG], sizeof f->token[ORG]) != 0) return -1;
  snprintf(f->user[ORG], 37, "%s", platform_admin_principal(f->p)->user_id);
  snprintf(f->user[ORG_TEAM], 37, "%s", f->user[ORG]);

  store *s = NULL;
  if (platform_store_acquire(f->p, &s) != ASSAY_OK) return -1;
  int64_t now = assay__now();
  static const test_person people[] = {
    {WADMIN, "WORKSPACE_ROLE_ADMIN", 0},  {MEMBER, "WORKSPACE_ROLE_MEMBER", 0},
    {MEMBER2, "WORKSPACE_ROLE_MEMBER", 0}, {VIEWER, "WORKSPACE_ROLE_VIEWER", 0},
    {OUTSIDER, "WORKSPACE_ROLE_ADMIN", 1},
  };
  char token_id[37];
  int rc = s->ops->begin(s, 1);
  if (!rc)
    rc = test_seed_people(s, now, f->ws, f->other_ws, people, sizeof people / sizeof people[0],
                          caller_names, f->user, f->token);
  if (!rc)
    rc = token_mint(s, f->user[ORG], f->ws, "team", now + 86400, f->token[ORG_TEAM], token_id);
  if (!rc) rc = s->ops->commit(s);
  if (rc) {
    s->ops->rollback(s);
    fprintf(stderr, "setup: %s\n", assay_error_last()->message);
  }
  platform_store_release(f->p, s);
  if (rc) return -1;
  *state = f;

  /* a project, the data files every test uses, in the team workspace */
  json_t *b = call(f, 201, "POST", "/v1/projects", MEMBER,
                   json_pack("{s:s, s:s, s:s}", "name", "fraud", "description", "",
                             "model_task", "MODEL_TASK_BINARY_CLASSIFICATION"));
  snprintf(f->project, 37, "%s", str(b, "project_id"));
  json_decref(b);
  b = call(f, 201, "POST", "/v1/projects", MEMBER,
           json_pack("{s:s, s:s, s:s}", "name", "other", "description", "", "model_task",
                     "MODEL_TASK_BINARY_CLASSIFICATION"));
  snprintf(f->other_project, 37, "%s", str(b, "project_id"));
  json_decref(b);
  upload(f, MEMBER, "d", "data.csv", CSV_TEXT);
  upload(f, MEMBER, "d", "preds.csv", "p\n0.1\n0.9\n0.2\n");
  upload(f, MEMBER, "l", "loader.py", "def load(**kw):\n    raise ValueError('x')\n");
  upload(f, MEMBER, "m/model", "model.py", "def predict_df(df):\n    return df\n");
  return 0;
}

static int setup(void **state) { return open_fixture(state, 0); }

static int teardown(void **state) {
  fixture *f = *state;
  assay_platform_free(f->p);
  rm_home(f->home);
  free(f);
  return 0;
}

/* --- datasets ------------------------------------------------------------------------------ */

static void dataset_records(void **state) {
  fixture *f = *state;
  long long jobs = count_rows(f, "jobs");

  /* skip_validation: PENDING, "validation skipped", no job */
  json_t *b = call(f, 201, "POST", ppath(f->project, "datasets"), MEMBER,
                   json_pack("{s:s, s:o, s:b}", "name", "ref", "data_info",
                             file_info(DATA_LOC), "skip_validation", 1));
  char skipped[37];
  snprintf(skipped, sizeof skipped, "%s", str(b, "dataset_id"));
  assert_int_equal(strlen(skipped), 36);
  assert_string_equal(str(b, "project_id"), f->project);
  assert_string_equal(str(b, "name"), "ref");
  assert_string_equal(str(b, "created_by"), f->user[MEMBER]);
  assert_non_null(str(b, "created_at"));
  assert_string_equal(str(b, "validity_status"), "VALIDITY_STATUS_PENDING");
  assert_string_equal(str(b, "validity_message"), "validation skipped");
  assert_true(json_is_null(json_object_get(b, "validation_job_id")));
  assert_true(json_is_null(json_object_get(b, "row_count")));
  assert_true(json_is_null(json_object_get(b, "schema_profile")));
  assert_true(json_is_null(json_object_get(b, "integration_id")));
  assert_true(json_is_null(json_object_get(b, "ct_info")));
  assert_true(json_is_true(json_object_get(b, "skip_validation")));
  assert_int_equal(json_array_size(json_object_get(b, "tags")), 0);
  assert_true(json_is_array(json_object_get(b, "tags")));
  assert_int_equal(json_object_size(json_object_get(b, "metadata")), 0);
  assert_true(json_is_object(json_object_get(b, "metadata")));
  assert_null(json_object_get(b, "created_at_secs"));
  /* the normalized config: data_type filled in */
  json_t *df = json_object_get(json_object_get(json_object_get(b, "data_info"),
                                               "connection_info"), "data_file");
  assert_string_equal(str(df, "data_type"), "csv");
  assert_string_equal(str(df, "path"), DATA_LOC);
  assert_int_equal(count_rows(f, "jobs"), jobs);

  /* what get answers is what register answered */
  json_t *g = call(f, 200, "GET", idpath("datasets", skipped), VIEWER, NULL);
  assert_true(json_equal(b, g));
  json_decref(g);
  json_decref(b);

  /* with validation: PENDING, its job submitted with the record */
  b = call(f, 201, "POST", ppath(f->project, "datasets"), MEMBER,
           jf("{\"name\":\"eval\",\"data_info\":{\"connection_info\":{\"data_loading\":"
              "{\"path\":\"%s\",\"load_func_name\":\"load\",\"loader_kwargs_json\":"
              "\"{\\\"day\\\": 3}\"}}},\"tags\":[\"a\",\"b\"],\"metadata\":{\"k\":[1]},"
              "\"ct_info\":{\"c\":1},\"agent_id\":\"agent-1\"}",
              LOADER_LOC));
  assert_string_equal(str(b, "validity_status"), "VALIDITY_STATUS_PENDING");
  assert_true(json_is_null(json_object_get(b, "validity_message")));
  assert_true(json_is_false(json_object_get(b, "skip_validation")));
  const char *job = str(b, "validation_job_id");
  assert_non_null(job);
  assert_int_equal(strlen(job), 36);
  assert_int_equal(count_rows(f, "jobs"), jobs + 1);
  json_t *dl = json_object_get(json_object_get(json_object_get(b, "data_info"),
                                               "connection_info"), "data_loading");
  assert_null(json_object_get(dl, "loader_kwargs_json"));
  json_t *kwargs = json_object_get(dl, "loader_kwargs");
  assert_int_equal(json_integer_value(json_object_get(kwargs, "day")), 3);
  assert_string_equal(json_string_value(json_array_get(json_object_get(b, "tags"), 1)), "b");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "ct_info"), "c")), 1);
  assert_null(json_object_get(b, "agent_id"));
  /* the job is the dataset's validation, pending for the caller */
  json_t *jr = call(f, 200, "GET", idpath("jobs", job), MEMBER, NULL);
  assert_string_equal(str(jr, "job_type"), "JOB_TYPE_DATASET_VALIDATION");
  assert_string_equal(str(jr, "status"), "JOB_STATUS_PENDING");
  assert_string_equal(str(jr, "project_id"), f->project);
  assert_string_equal(str(jr, "submitted_by"), f->user[MEMBER]);
  json_decref(jr);
  char validated[37];
  snprintf(validated, sizeof validated, "%s", str(b, "dataset_id"));
  json_decref(b);

  /* list: oldest first; ?name= filters */
  b = call(f, 200, "GET", ppath(f->project, "datasets"), VIEWER, NULL);
  json_t *list = json_object_get(b, "datasets");
  assert_int_equal(json_array_size(list), 2);
  assert_string_equal(str(json_array_get(list, 0), "dataset_id"), skipped);
  assert_string_equal(str(json_array_get(list, 1), "dataset_id"), validated);
  json_decref(b);
  b = callq(f, 200, "GET", ppath(f->project, "datasets"), "name=eval", VIEWER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "datasets")), 1);
  assert_string_equal(str(json_array_get(json_object_get(b, "datasets"), 0), "name"), "eval");
  json_decref(b);
  b = callq(f, 200, "GET", ppath(f->project, "datasets"), "name=nope", VIEWER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "datasets")), 0);
  json_decref(b);
  b = call(f, 200, "GET", ppath(f->other_project, "datasets"), VIEWER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "datasets")), 0);
  json_decref(b);

  /* names are unique per project: the record and its job go in together or not at all */
  call_err(f, 409, "ConflictError", "a dataset named 'eval' already exists in this project",
           NULL, "POST", ppath(f->project, "datasets"), MEMBER2,
           json_pack("{s:s, s:o}", "name", "eval", "data_info", file_info(DATA_LOC)));
  assert_int_equal(count_rows(f, "jobs"), jobs + 1);
  /* the same name in another project is fine */
  char again[37];
  make_dataset(f, MEMBER, f->other_project, "eval", 0, again);

  /* delete: gone, with its cache */
  make_cache(f, skipped);
  assert_null(call(f, 204, "DELETE", idpath("datasets", skipped), MEMBER, NULL));
  assert_false(cache_exists(f, skipped));
  call_err(f, 404, "NotFoundError", "dataset '", skipped, "GET", idpath("datasets", skipped),
           MEMBER, NULL);
  call_err(f, 404, "NotFoundError", "not found", NULL, "DELETE", idpath("datasets", skipped),
           MEMBER, NULL);
  /* unknown ids, and ids of another kind */
  call_err(f, 404, "NotFoundError", "dataset 'nope' not found", NULL, "GET",
           idpath("datasets", "nope"), VIEWER, NULL);
  call_err(f, 404, "NotFoundError", "model '", validated, "GET", idpath("models", validated),
           VIEWER, NULL);
  call_err(f, 404, "NotFoundError", "prediction set '", NULL, "GET",
           idpath("predictions", validated), VIEWER, NULL);
  call_err(f, 404, "NotFoundError", "project '", NULL, "GET", ppath("nope", "datasets"),
           VIEWER, NULL);
  call_err(f, 404, "NotFoundError", "project '", NULL, "POST", ppath("nope", "datasets"),
           MEMBER, json_pack("{s:s, s:o}", "name", "x", "data_info", file_info(DATA_LOC)));
}

/* --- models -------------------------------------------------------------------------------- */

static void model_records(void **state) {
  fixture *f = *state;
  long long jobs = count_rows(f, "jobs");
  json_t *b = call(f, 201, "POST", ppath(f->project, "models"), MEMBER,
                   json_pack("{s:s}", "name", "no-model"));
  assert_true(json_is_null(json_object_get(b, "model_info")));
  assert_string_equal(str(b, "project_id"), f->project);
  assert_string_equal(str(b, "created_by"), f->user[MEMBER]);
  assert_true(json_is_null(json_object_get(b, "external_id")));
  assert_true(json_is_null(json_object_get(b, "integration_id")));
  assert_true(json_is_null(json_object_get(b, "model_endpoint_integration_id")));
  assert_true(json_is_array(json_object_get(b, "tags")));
  assert_true(json_is_object(json_object_get(b, "metadata")));
  assert_null(json_object_get(b, "validity_status"));
  assert_null(json_object_get(b, "validation_job_id"));
  char first[37];
  snprintf(first, sizeof first, "%s", str(b, "model_id"));
  json_t *g = call(f, 200, "GET", idpath("models", first), VIEWER, NULL);
  assert_true(json_equal(b, g));
  json_decref(g);
  json_decref(b);

  /* each kind of model_info; a model folder is a directory location */
  b = call(f, 201, "POST", ppath(f->project, "models"), MEMBER,
           jf("{\"name\":\"folder\",\"model_info\":{\"model_path\":{\"path\":\"assay://files/m\"}},"
              "\"external_id\":\"ext-7\",\"tags\":[\"prod\"]}"));
  assert_string_equal(str(b, "external_id"), "ext-7");
  assert_string_equal(str(json_object_get(json_object_get(b, "model_info"), "model_path"), "path"),
                      "assay://files/m");
  json_decref(b);
  json_decref(call(f, 201, "POST", ppath(f->project, "models"), MEMBER,
                   jf("{\"name\":\"hf\",\"model_info\":{\"hugging_face\":"
                      "{\"model_uri\":\"o/m\"}}}")));
  json_decref(call(f, 201, "POST", ppath(f->project, "models"), MEMBER,
                   jf("{\"name\":\"loading\",\"model_info\":{\"model_loading\":{\"path\":"
                      "\"assay://files/m/model/model.py\",\"load_func_name\":\"get\"}}}")));
  /* no validation job for models */
  assert_int_equal(count_rows(f, "jobs"), jobs);

  b = call(f, 200, "GET", ppath(f->project, "models"), VIEWER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "models")), 4);
  assert_string_equal(str(json_array_get(json_object_get(b, "models"), 0), "model_id"), first);
  json_decref(b);
  b = callq(f, 200, "GET", ppath(f->project, "models"), "name=hf", VIEWER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "models")), 1);
  json_decref(b);

  call_err(f, 409, "ConflictError", "a model named 'hf' already exists in this project", NULL,
           "POST", ppath(f->project, "models"), MEMBER, json_pack("{s:s}", "name", "hf"));
  /* a dataset and a model may share a name */
  char ds[37];
  make_dataset(f, MEMBER, f->project, "hf", 0, ds);

  call_err(f, 400, "ConfigError", "model_info: unknown model type 'sagemaker'", NULL, "POST",
           ppath(f->project, "models"), MEMBER,
           jf("{\"name\":\"x\",\"model_info\":{\"sagemaker\":{}}}"));
  call_err(f, 404, "NotFoundError", "model_info.model_path.path: ",
           "no uploaded file at assay://files/nope", "POST", ppath(f->project, "models"), MEMBER,
           jf("{\"name\":\"x\",\"model_info\":{\"model_path\":"
              "{\"path\":\"assay://files/nope\"}}}"));
  call_err(f, 404, "NotFoundError", "model_info.model_loading.path: ",
           "no uploaded file at assay://files/m.py", "POST", ppath(f->project, "models"), MEMBER,
           jf("{\"name\":\"x\",\"model_info\":{\"model_loading\":"
              "{\"path\":\"assay://files/m.py\"}}}"));

  assert_null(call(f, 204, "DELETE", idpath("models", first), MEMBER, NULL));
  call_err(f, 404, "NotFoundError", "model '", NULL, "GET", idpath("models", first), VIEWER, NULL);
}

/* --- predictions --------------------------------------------------------------------------- */

static void prediction_records(void **state) {
  fixture *f = *state;
  char ds[37], ds2[37], model[37], model2[37], other_ds[37], pred[37], pred2[37], pred3[37];
  make_dataset(f, MEMBER, f->project, "ref", 0, ds);
  make_dataset(f, MEMBER, f->project, "eval", 0, ds2);
  make_dataset(f, MEMBER, f->other_project, "ref", 0, other_ds);
  make_model(f, MEMBER, f->project, "m1", model);
  make_model(f, MEMBER, f->project, "m2", model2);

  long long jobs = count_rows(f, "jobs");
  json_t *b = call(f, 201, "POST", ppath(f->project, "predictions"), MEMBER,
                   jf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"pred_info\":"
                      "{\"connection_info\":{\"data_file\":{\"path\":\"%s\"}},"
                      "\"pred_params\":{\"pred_col\":\"p\"}},\"tags\":[\"t\"]}",
                      ds, model, PRED_LOC));
  snprintf(pred, sizeof pred, "%s", str(b, "prediction_id"));
  assert_string_equal(str(b, "dataset_id"), ds);
  assert_string_equal(str(b, "model_id"), model);
  assert_string_equal(str(b, "project_id"), f->project);
  assert_string_equal(str(b, "validity_status"), "VALIDITY_STATUS_PENDING");
  assert_null(json_object_get(b, "name"));
  const char *job = str(b, "validation_job_id");
  assert_non_null(job);
  assert_int_equal(count_rows(f, "jobs"), jobs + 1);
  json_t *jr = call(f, 200, "GET", idpath("jobs", job), VIEWER, NULL);
  assert_string_equal(str(jr, "job_type"), "JOB_TYPE_PREDICTIONS_VALIDATION");
  json_decref(jr);
  assert_string_equal(str(json_object_get(json_object_get(json_object_get(b, "pred_info"),
                                                          "connection_info"), "data_file"),
                          "data_type"),
                      "csv");
  json_t *g = call(f, 200, "GET", idpath("predictions", pred), VIEWER, NULL);
  assert_true(json_equal(b, g));
  json_decref(g);
  json_decref(b);

  /* one set per (dataset, model) */
  call_err(f, 409, "ConflictError", "already registered", model, "POST",
           ppath(f->project, "predictions"), MEMBER2,
           jf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"pred_info\":"
              "{\"connection_info\":{\"data_file\":{\"path\":\"%s\"}}}}",
              ds, model, PRED_LOC));
  assert_int_equal(count_rows(f, "jobs"), jobs + 1);
  make_predictions(f, MEMBER, f->project, ds, model2, pred2);
  make_predictions(f, MEMBER2, f->project, ds2, model, pred3);

  /* filters */
  b = call(f, 200, "GET", ppath(f->project, "predictions"), VIEWER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "predictions")), 3);
  json_decref(b);
  char q[128];
  snprintf(q, sizeof q, "model_id=%s", model);
  b = callq(f, 200, "GET", ppath(f->project, "predictions"), q, VIEWER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "predictions")), 2);
  json_decref(b);
  snprintf(q, sizeof q, "model_id=%s&dataset_id=%s", model, ds2);
  b = callq(f, 200, "GET", ppath(f->project, "predictions"), q, VIEWER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "predictions")), 1);
  assert_string_equal(str(json_array_get(json_object_get(b, "predictions"), 0), "prediction_id"),
                      pred3);
  json_decref(b);

  /* dataset and model must be entries of the project */
  call_err(f, 400, "ConfigError", "dataset_id: dataset '", "belongs to another project", "POST",
           ppath(f->project, "predictions"), MEMBER,
           jf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"skip_validation\":true,\"pred_info\":"
              "{\"connection_info\":{\"data_file\":{\"path\":\"%s\"}}}}",
              other_ds, model, PRED_LOC));
  call_err(f, 404, "NotFoundError", "dataset_id: dataset 'nope' not found in project", NULL,
           "POST", ppath(f->project, "predictions"), MEMBER,
           jf("{\"dataset_id\":\"nope\",\"model_id\":\"%s\",\"pred_info\":"
              "{\"connection_info\":{\"data_file\":{\"path\":\"%s\"}}}}",
              model, PRED_LOC));
  call_err(f, 404, "NotFoundError", "model_id: model '", "not found in project", "POST",
           ppath(f->project, "predictions"), MEMBER,
           jf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"pred_info\":"
              "{\"connection_info\":{\"data_file\":{\"path\":\"%s\"}}}}",
              ds, ds2, PRED_LOC));
  call_err(f, 400, "ConfigError", "pred_info.pred_params: unknown key 'label_col'", NULL, "POST",
           ppath(f->project, "predictions"), MEMBER,
           jf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"pred_info\":"
              "{\"connection_info\":{\"data_file\":{\"path\":\"%s\"}},"
              "\"pred_params\":{\"label_col\":\"y\"}}}",
              ds, model, PRED_LOC));
  call_err(f, 404, "NotFoundError", "pred_info.connection_info.data_file.path: ",
           "no uploaded file at assay://files/d/none.csv", "POST",
           ppath(f->project, "predictions"), MEMBER,
           jf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"pred_info\":"
              "{\"connection_info\":{\"data_file\":{\"path\":\"assay://files/d/none.csv\"}}}}",
              ds2, model2));
  call_err(f, 400, "ConfigError", "dataset_id is required", NULL, "POST",
           ppath(f->project, "predictions"), MEMBER,
           jf("{\"model_id\":\"%s\",\"pred_info\":{}}", model));
  call_err(f, 400, "ConfigError", "pred_info is required", NULL, "POST",
           ppath(f->project, "predictions"), MEMBER,
           jf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\"}", ds, model));

  /* deleting a dataset deletes its prediction sets and their caches */
  make_cache(f, ds);
  make_cache(f, pred);
  make_cache(f, pred2);
  assert_null(call(f, 204, "DELETE", idpath("datasets", ds), MEMBER, NULL));
  assert_false(cache_exists(f, ds));
  assert_false(cache_exists(f, pred));
  assert_false(cache_exists(f, pred2));
  call_err(f, 404, "NotFoundError", "prediction set '", NULL, "GET", idpath("predictions", pred),
           VIEWER, NULL);
  call_err(f, 404, "NotFoundError", NULL, NULL, "GET", idpath("predictions", pred2), VIEWER,
           NULL);
  json_decref(call(f, 200, "GET", idpath("predictions", pred3), VIEWER, NULL));
  /* deleting a model deletes its prediction sets (the admin may delete another's) */
  make_cache(f, pred3);
  assert_null(call(f, 204, "DELETE", idpath("models", model), WADMIN, NULL));
  assert_false(cache_exists(f, pred3));
  call_err(f, 404, "NotFoundError", NULL, NULL, "GET", idpath("predictions", pred3), VIEWER,
           NULL);
  b = call(f, 200, "GET", ppath(f->project, "predictions"), VIEWER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "predictions")), 0);
  json_decref(b);
  /* deleting a prediction set by itself */
  make_predictions(f, MEMBER, f->project, ds2, model2, pred);
  make_cache(f, pred);
  assert_null(call(f, 204, "DELETE", idpath("predictions", pred), MEMBER, NULL));
  assert_false(cache_exists(f, pred));
  json_decref(call(f, 200, "GET", idpath("datasets", ds2), VIEWER, NULL));
  json_decref(call(f, 200, "GET", idpath("models", model2), VIEWER, NULL));
}

/* --- roles --------------------------------------------------------------------------------- */

typedef struct role_op {
  const char *name;
  int expect[N_USERS];
  void (*run)(fixture *f, int who, int status);
} role_op;

static void check_error(json_t *b, int status) {
  if (status == 404) assert_string_equal(err_name(b), "NotFoundError");
  if (status == 403) assert_string_equal(err_name(b), "PermissionDeniedError");
}

static void op_register_dataset(fixture *f, int who, int status) {
  json_t *b = call(f, status, "POST", ppath(f->project, "datasets"), who,
                   json_pack("{s:s, s:o, s:b}", "name", unique("ds"), "data_info",
                             file_info(DATA_LOC), "skip_validation", 1));
  check_error(b, status);
  if (status == 201) assert_string_equal(str(b, "created_by"), f->user[who]);
  json_decref(b);
}

static void op_register_model(fixture *f, int who, int status) {
  json_t *b = call(f, status, "POST", ppath(f->project, "models"), who,
                   json_pack("{s:s}", "name", unique("model")));
  check_error(b, status);
  json_decref(b);
}

static char shared_ds[37], shared_model[37], shared_pred[37];

static void make_shared(fixture *f) {
  if (*shared_ds) return;
  make_dataset(f, MEMBER, f->project, "shared", 0, shared_ds);
  make_model(f, MEMBER, f->project, "shared", shared_model);
  make_predictions(f, MEMBER, f->project, shared_ds, shared_model, shared_pred);
}

static void op_register_predictions(fixture *f, int who, int status) {
  char model[37];
  make_model(f, MEMBER, f->project, unique("pm"), model);
  json_t *b = call(f, status, "POST", ppath(f->project, "predictions"), who,
                   jf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"skip_validation\":true,"
                      "\"pred_info\":{\"connection_info\":{\"data_file\":{\"path\":\"%s\"}}}}",
                      shared_ds, model, PRED_LOC));
  check_error(b, status);
  json_decref(b);
}

static void op_lists(fixture *f, int who, int status) {
  const char *what[] = {"datasets", "models", "predictions"};
  for (int i = 0; i < 3; i++) {
    json_t *b = call(f, status, "GET", ppath(f->project, what[i]), who, NULL);
    check_error(b, status);
    if (status == 200) assert_true(json_array_size(json_object_get(b, what[i])) >= 1);
    json_decref(b);
  }
}

static void op_gets(fixture *f, int who, int status) {
  const char *what[] = {"datasets", "models", "predictions"};
  const char *ids[] = {shared_ds, shared_model, shared_pred};
  for (int i = 0; i < 3; i++) {
    json_t *b = call(f, status, "GET", idpath(what[i], ids[i]), who, NULL);
    check_error(b, status);
    if (status == 404) assert_non_null(strstr(err_message(b), ids[i]));
    json_decref(b);
  }
}

/* Delete entries MEMBER registered. */
static void op_delete_members(fixture *f, int who, int status) {
  char ds[37], model[37], pred[37];
  make_dataset(f, MEMBER, f->project, unique("del"), 0, ds);
  make_model(f, MEMBER, f->project, unique("del"), model);
  make_predictions(f, MEMBER, f->project, ds, model, pred);
  const char *what[] = {"predictions", "models", "datasets"};
  const char *ids[] = {pred, model, ds};
  for (int i = 0; i < 3; i++) {
    json_t *b = call(f, status, "DELETE", idpath(what[i], ids[i]), who, NULL);
    check_error(b, status);
    if (status == 403 && who == MEMBER2)
      assert_non_null(strstr(err_message(b), "registered by another user"));
    if (status == 403 && who == VIEWER)
      assert_non_null(strstr(err_message(b), "needs the WORKSPACE_ROLE_MEMBER role"));
    json_decref(b);
    json_decref(call(f, status == 204 ? 404 : 200, "GET", idpath(what[i], ids[i]), MEMBER, NULL));
  }
}

/* Delete one's own entries. */
static void op_delete_own(fixture *f, int who, int status) {
  char ds[37], model[37];
  int maker = status == 204 ? who : MEMBER;
  make_dataset(f, maker, f->project, unique("own"), 0, ds);
  make_model(f, maker, f->project, unique("own"), model);
  json_t *b = call(f, status, "DELETE", idpath("datasets", ds), who, NULL);
  check_error(b, status);
  json_decref(b);
  b = call(f, status, "DELETE", idpath("models", model), who, NULL);
  check_error(b, status);
  json_decref(b);
}

static void role_matrix(void **state) {
  fixture *f = *state;
  make_shared(f);
  /*                               org  orgT wadm  mem  mem2 view  out */
  const role_op ops[] = {
    {"register dataset",     {404, 201, 201, 201, 201, 403, 404}, op_register_dataset},
    {"register model",       {404, 201, 201, 201, 201, 403, 404}, op_register_model},
    {"register predictions", {404, 201, 201, 201, 201, 403, 404}, op_register_predictions},
    {"list",                 {404, 200, 200, 200, 200, 200, 404}, op_lists},
    {"get",                  {404, 200, 200, 200, 200, 200, 404}, op_gets},
    {"delete member's",      {404, 204, 204, 204, 403, 403, 404}, op_delete_members},
    {"delete own",           {404, 204, 204, 204, 204, 403, 404}, op_delete_own},
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    for (int who = 0; who < N_USERS; who++) {
      print_message("  %-22s as %s\n", ops[i].name, caller_names[who]);
      ops[i].run(f, who, ops[i].expect[who]);
    }
  /* without a token */
  json_t *b = NULL;
  assert_int_equal(router_send(f->p, "GET", ppath(f->project, "datasets"), NULL, NULL, NULL, &b),
                   401);
  json_decref(b);
}


/* --- integrations and files ---------------------------------------------------------------- */

#define MEMBER_SECRET "mbS3CR3T-2f7c1a-never-in-an-answer"

/* An integration in `ws` made by `who` with a members-level variable; its id. */
static void make_integration(fixture *f, int who, const char *ws, const char *name, char id[37]) {
  char path[128];
  snprintf(path, sizeof path, "/v1/workspaces/%s/integrations", ws);
  json_t *b = call(f, 201, "POST", path, who,
                   jf("{\"name\":\"%s\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\","
                      "\"integration_schema\":[{\"name\":\"HOST\",\"sensitivity\":"
                      "\"not_sensitive\",\"value\":\"db.example\"},{\"name\":\"USER_TOKEN\","
                      "\"sensitivity\":\"members\"}]}",
                      name));
  snprintf(id, 37, "%s", str(b, "integration_id"));
  json_decref(b);
}

static json_t *loader_dataset(const char *name, const char *endpoint, const char *integration) {
  json_t *b = jf("{\"name\":\"%s\",\"skip_validation\":true,\"data_info\":{\"connection_info\":"
                 "{\"data_loading\":{\"path\":\"%s\",\"load_func_name\":\"load\"}}}}",
                 name, LOADER_LOC);
  json_t *dl = json_object_get(json_object_get(json_object_get(b, "data_info"),
                                               "connection_info"), "data_loading");
  if (endpoint) json_object_set_new(dl, "data_endpoint_integration_id", json_string(endpoint));
  if (integration) json_object_set_new(b, "integration_id", json_string(integration));
  return b;
}

static void integration_checks(void **state) {
  fixture *f = *state;
  char team[37], far[37];
  make_integration(f, WADMIN, f->ws, "source", team);
  make_integration(f, OUTSIDER, f->other_ws, "far", far);
  const char *datasets = ppath(f->project, "datasets");

  call_err(f, 404, "NotFoundError", "integration_id: integration 'nope' not found in this "
           "workspace", NULL, "POST", datasets, MEMBER, loader_dataset("a", NULL, "nope"));
  call_err(f, 404, "NotFoundError", "integration_id: integration '", "not found in this workspace",
           "POST", datasets, MEMBER, loader_dataset("a", NULL, far));
  call_err(f, 404, "NotFoundError",
           "data_info.connection_info.data_loading.data_endpoint_integration_id: integration '",
           "not found in this workspace", "POST", datasets, MEMBER,
           loader_dataset("a", far, NULL));
  /* the member has not set its members-level value: refused at once, naming both */
  call_err(f, 400, "ConfigError",
           "data_info.connection_info.data_loading.data_endpoint_integration_id: integration "
           "'source'",
           "USER_TOKEN", "POST", datasets, MEMBER, loader_dataset("a", team, NULL));
  call_err(f, 400, "ConfigError", "integration_id: integration 'source'", "USER_TOKEN", "POST",
           datasets, MEMBER, loader_dataset("a", NULL, team));
  /* a viewer is refused before any integration is looked at */
  call_err(f, 403, "PermissionDeniedError", NULL, NULL, "POST", datasets, VIEWER,
           loader_dataset("a", NULL, "nope"));
  /* with the value set, it registers; the value appears nowhere */
  char cred_path[128];
  snprintf(cred_path, sizeof cred_path, "/v1/integrations/%s/credentials", team);
  json_decref(call(f, 200, "PUT", cred_path, MEMBER,
                   json_pack("{s:{s:s}}", "credentials", "USER_TOKEN", MEMBER_SECRET)));
  json_t *b = call(f, 201, "POST", datasets, MEMBER, loader_dataset("a", team, team));
  char *text = json_dumps(b, 0);
  assert_null(strstr(text, MEMBER_SECRET));
  free(text);
  assert_string_equal(str(b, "integration_id"), team);
  json_decref(b);
  /* member 2 has no value of its own */
  call_err(f, 400, "ConfigError", "USER_TOKEN", NULL, "POST", datasets, MEMBER2,
           loader_dataset("b", team, NULL));

  /* models and prediction sets check theirs too */
  call_err(f, 404, "NotFoundError", "model_endpoint_integration_id: integration '", NULL, "POST",
           ppath(f->project, "models"), MEMBER,
           json_pack("{s:s, s:s}", "name", "m", "model_endpoint_integration_id", far));
  call_err(f, 404, "NotFoundError", "integration_id: integration 'gone'", NULL, "POST",
           ppath(f->project, "models"), MEMBER,
           json_pack("{s:s, s:s}", "name", "m", "integration_id", "gone"));
  b = call(f, 201, "POST", ppath(f->project, "models"), MEMBER,
           json_pack("{s:s, s:s, s:s}", "name", "m", "integration_id", team,
                     "model_endpoint_integration_id", team));
  assert_string_equal(str(b, "model_endpoint_integration_id"), team);
  char model[37], ds[37];
  snprintf(model, sizeof model, "%s", str(b, "model_id"));
  json_decref(b);
  make_dataset(f, MEMBER, f->project, "d", 0, ds);
  call_err(f, 400, "ConfigError", "integration_id: integration 'source'", "USER_TOKEN", "POST",
           ppath(f->project, "predictions"), MEMBER2,
           jf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"integration_id\":\"%s\","
              "\"pred_info\":{\"connection_info\":{\"data_file\":{\"path\":\"%s\"}}}}",
              ds, model, team, PRED_LOC));
}

static void file_checks(void **state) {
  fixture *f = *state;
  const char *datasets = ppath(f->project, "datasets");
  call_err(f, 404, "NotFoundError", "data_info.connection_info.data_file.path: ",
           "no uploaded file at assay://files/d/none.csv", "POST", datasets, MEMBER,
           json_pack("{s:s, s:o, s:b}", "name", "x", "data_info",
                     file_info("assay://files/d/none.csv"), "skip_validation", 1));
  json_t *body = loader_dataset("x", NULL, NULL);
  json_object_set_new(json_object_get(json_object_get(json_object_get(body, "data_info"),
                                                      "connection_info"), "data_loading"),
                      "path", json_string("assay://files/l/none.py"));
  call_err(f, 404, "NotFoundError", "data_info.connection_info.data_loading.path: ",
           "no uploaded file at assay://files/l/none.py", "POST", datasets, MEMBER, body);
  /* a folder where a file is expected */
  call_err(f, 400, "ConfigError", "data_info.connection_info.data_file.path: ",
           "assay://files/d is a directory; expected a file", "POST", datasets, MEMBER,
           jf("{\"name\":\"x\",\"data_info\":{\"connection_info\":{\"data_file\":"
              "{\"path\":\"assay://files/d\",\"data_type\":\"csv\"}}}}"));
  /* another workspace's file is not there for the team */
  upload(f, OUTSIDER, "far", "only.csv", CSV_TEXT);
  call_err(f, 404, "NotFoundError", "no uploaded file at assay://files/far/only.csv", NULL,
           "POST", datasets, MEMBER,
           json_pack("{s:s, s:o}", "name", "x", "data_info",
                     file_info("assay://files/far/only.csv")));
  /* a location that is not one */
  call_err(f, 400, "ConfigError", "data_info.connection_info.data_file.path: expected a file "
           "location of the form assay://files/<path>", "got '/etc/passwd'", "POST", datasets,
           MEMBER,
           json_pack("{s:s, s:o}", "name", "x", "data_info", file_info("/etc/passwd")));
  /* nothing was registered */
  json_t *b = call(f, 200, "GET", datasets, VIEWER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "datasets")), 0);
  json_decref(b);
}

/* --- bad bodies ---------------------------------------------------------------------------- */

static void bad_bodies(void **state) {
  fixture *f = *state;
  const char *datasets = ppath(f->project, "datasets"), *models = ppath(f->project, "models");
  char long_name[258];
  memset(long_name, 'n', 257);
  long_name[257] = '\0';
  static const struct {
    const char *body, *frag1, *frag2;
  } bad[] = {
    {"{\"name\":\"x\",\"data_info\":%s,\"colour\":1}", "unknown field 'colour' in a dataset",
     "expected only: name, data_info, integration_id, tags, metadata, ct_info, "
     "skip_validation, agent_id"},
    {"{\"data_info\":%s}", "name is required", NULL},
    {"{\"name\":7,\"data_info\":%s}", "name must be a string", "integer"},
    {"{\"name\":\"  \",\"data_info\":%s}", "name must not be empty or blank", NULL},
    {"{\"name\":\"a\\nb\",\"data_info\":%s}", "name must not contain control characters", NULL},
    {"{\"name\":\"x\"}", "data_info is required", NULL},
    {"{\"name\":\"x\",\"data_info\":null}", "data_info is required", NULL},
    {"{\"name\":\"x\",\"data_info\":{\"connection_info\":{\"s3\":{}}}}",
     "data_info.connection_info: unknown connection type 's3'", "data_file, data_loading"},
    {"{\"name\":\"x\",\"data_info\":%s,\"tags\":\"a\"}", "tags must be an array of strings",
     NULL},
    {"{\"name\":\"x\",\"data_info\":%s,\"tags\":[\"a\",1]}", "tags[1] must be a string", NULL},
    {"{\"name\":\"x\",\"data_info\":%s,\"tags\":[\"a\\u0001\"]}", "tags[0] must not contain",
     NULL},
    {"{\"name\":\"x\",\"data_info\":%s,\"metadata\":[]}", "metadata must be an object", NULL},
    {"{\"name\":\"x\",\"data_info\":%s,\"ct_info\":\"c\"}", "ct_info must be an object", NULL},
    {"{\"name\":\"x\",\"data_info\":%s,\"skip_validation\":\"yes\"}",
     "skip_validation must be a boolean", "string"},
    {"{\"name\":\"x\",\"data_info\":%s,\"integration_id\":\"\"}",
     "integration_id must be a non-empty string", NULL},
    {"{\"name\":\"x\",\"data_info\":%s,\"integration_id\":5}", "integration_id must be a string",
     NULL},
    {"{\"name\":\"x\",\"data_info\":%s,\"agent_id\":[]}", "agent_id must be a string", NULL},
  };
  json_t *good = file_info(DATA_LOC);
  char *info = json_dumps(good, JSON_COMPACT);
  json_decref(good);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    /* the body with the good data_info in place of %s */
    char text[1024];
    const char *at = strstr(bad[i].body, "%s");
    if (at)
      snprintf(text, sizeof text, "%.*s%s%s", (int)(at - bad[i].body), bad[i].body, info, at + 2);
    else
      snprintf(text, sizeof text, "%s", bad[i].body);
    print_message("  %s\n", text);
    call_err(f, 400, "ConfigError", bad[i].frag1, bad[i].frag2, "POST", datasets, MEMBER,
             jf("%s", text));
  }
  /* names: at most 256 bytes */
  call_err(f, 400, "ConfigError", "name must be at most 256 bytes", "got 257", "POST", datasets,
           MEMBER, json_pack("{s:s, s:o}", "name", long_name, "data_info", file_info(DATA_LOC)));
  long_name[256] = '\0';
  json_decref(call(f, 201, "POST", datasets, MEMBER,
                   json_pack("{s:s, s:o, s:b}", "name", long_name, "data_info",
                             file_info(DATA_LOC), "skip_validation", 1)));
  free(info);

  /* models */
  call_err(f, 400, "ConfigError", "unknown field 'model_config' in a model",
           "expected only: name, model_info, tags, metadata, external_id, integration_id, "
           "model_endpoint_integration_id, agent_id",
           "POST", models, MEMBER, jf("{\"name\":\"x\",\"model_config\":{}}"));
  call_err(f, 400, "ConfigError", "name is required", NULL, "POST", models, MEMBER, jf("{}"));
  call_err(f, 400, "ConfigError", "external_id must be a string", NULL, "POST", models, MEMBER,
           jf("{\"name\":\"x\",\"external_id\":1}"));
  call_err(f, 400, "ConfigError", "model_info.model_path: required key 'path' is missing", NULL,
           "POST", models, MEMBER, jf("{\"name\":\"x\",\"model_info\":{\"model_path\":{}}}"));
  /* predictions */
  call_err(f, 400, "ConfigError", "unknown field 'name' in a prediction set",
           "expected only: dataset_id, model_id, pred_info", "POST",
           ppath(f->project, "predictions"), MEMBER, jf("{\"name\":\"x\"}"));
  /* a body that is not an object */
  call_err(f, 400, "ConfigError", "must be a JSON object", NULL, "POST", datasets, MEMBER,
           jf("[1]"));
  /* nothing was registered but the one good dataset */
  json_t *b = call(f, 200, "GET", datasets, VIEWER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "datasets")), 1);
  json_decref(b);
}

/* --- projects ------------------------------------------------------------------------------ */

static void project_delete(void **state) {
  fixture *f = *state;
  char ds[37], model[37], pred[37], kept[37];
  make_dataset(f, MEMBER, f->project, "ref", 1, ds);
  make_model(f, MEMBER, f->project, "m", model);
  make_predictions(f, MEMBER, f->project, ds, model, pred);
  make_dataset(f, MEMBER, f->other_project, "kept", 0, kept);
  make_cache(f, ds);
  make_cache(f, pred);
  make_cache(f, kept);
  const char *path = idpath("projects", f->project);
  call_err(f, 409, "ConflictError", "still holds 3 datasets, models, prediction sets or test runs",
           "force=true", "DELETE", path, MEMBER, NULL);
  json_decref(call(f, 200, "GET", idpath("datasets", ds), VIEWER, NULL));
  assert_true(cache_exists(f, ds));
  /* roles still apply first */
  call_err(f, 403, "PermissionDeniedError", NULL, NULL, "DELETE", path, MEMBER2, NULL);
  assert_null(callq(f, 204, "DELETE", path, "force=true", MEMBER, NULL));
  call_err(f, 404, "NotFoundError", NULL, NULL, "GET", idpath("datasets", ds), VIEWER, NULL);
  call_err(f, 404, "NotFoundError", NULL, NULL, "GET", idpath("models", model), VIEWER, NULL);
  call_err(f, 404, "NotFoundError", NULL, NULL, "GET", idpath("predictions", pred), VIEWER, NULL);
  assert_false(cache_exists(f, ds));
  assert_false(cache_exists(f, pred));
  /* the other project's entries and cache stay */
  assert_true(cache_exists(f, kept));
  json_decref(call(f, 200, "GET", idpath("datasets", kept), VIEWER, NULL));
  assert_int_equal(count_rows(f, "registry"), 1);
  /* an emptied project is deleted without force */
  assert_null(call(f, 204, "DELETE", idpath("datasets", kept), MEMBER, NULL));
  assert_null(call(f, 204, "DELETE", idpath("projects", f->other_project), MEMBER, NULL));
}

/* --- the client: embedded and over HTTP ---------------------------------------------------- */

typedef struct target {
  char *home, *inputs;      /* the platform's home; where the test writes files to upload */
  assay_platform *platform; /* HTTP: the served platform */
  assay_server *server;
  char url[64];
  assay_client *c;          /* the organisation admin */
} target;

static int setup_target(void **state, int http, int workers) {
  target *t = calloc(1, sizeof *t);
  if (!t || assay_init() != ASSAY_OK || !(t->home = make_home()) || !(t->inputs = make_home()))
    return -1;
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  if (http) {
    assay_platform_options po = ASSAY_PLATFORM_OPTIONS_INIT;
    po.home = t->home;
    po.workers = workers;
    if (assay_platform_open_with(&t->platform, &po) != ASSAY_OK) return -1;
    assay_server_options so = ASSAY_SERVER_OPTIONS_INIT;
    so.listen = "127.0.0.1:0";
    so.threads = 2;
    if (assay_server_start(&t->server, t->platform, &so) != ASSAY_OK) return -1;
    snprintf(t->url, sizeof t->url, "http://127.0.0.1:%d", assay_server_port(t->server));
    static char token[256];
    if (read_admin_token(t->home, token, sizeof token) != 0) return -1;
    o.domain = t->url;
    o.api_key = token;
  } else {
    o.home = t->home;
    o.workers = workers;
  }
  if (assay_client_new(&t->c, &o) != ASSAY_OK) {
    fprintf(stderr, "client: %s\n", assay_error_last()->message);
    return -1;
  }
  *state = t;
  return 0;
}

static int setup_embedded(void **state) { return setup_target(state, 0, 0); }
static int setup_http(void **state) { return setup_target(state, 1, 0); }
static int setup_embedded_workers(void **state) { return setup_target(state, 0, 1); }
static int setup_http_workers(void **state) { return setup_target(state, 1, 1); }

static int teardown_target(void **state) {
  target *t = *state;
  assay_client_free(t->c);
  if (t->platform) {
    assay_server_stop(t->server);
    assay_platform_free(t->platform);
    assay_shutdown();
  }
  rm_home(t->home);
  rm_home(t->inputs);
  free(t);
  return 0;
}

static void expect(int rc, int code, int http_status, const char *fragment) {
  const assay_error *e = assay_error_last();
  if (rc != code)
    fail_msg("got %d (%s); expected %d", rc, e ? e->message : "-", code);
  assert_non_null(e);
  assert_int_equal(e->code, code);
  if (http_status) assert_int_equal(e->http_status, http_status);
  if (fragment && !strstr(e->message, fragment))
    fail_msg("message '%s' lacks '%s'", e->message, fragment);
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static assay_value *vf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  assay_value *v = test_value_v(fmt, ap);
  va_end(ap);
  return v;
}

static const char *vstr(const assay_value *v, const char *key) {
  return assay_value_get_string(assay_value_object_get(v, key), NULL);
}

/* Write `content` to <inputs>/<name> and upload it to upload_path; its location. */
static void client_upload(target *t, const char *name, const char *content,
                          const char *upload_path, char location[256]) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", t->inputs, name);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(content, fp);
  fclose(fp);
  assay_value *v = NULL;
  if (assay_client_upload_file(&v, t->c, path, upload_path) != ASSAY_OK)
    fail_msg("upload %s: %s", name, assay_error_last()->message);
  snprintf(location, 256, "%s", vstr(v, "location"));
  assay_value_free(v);
}

static void client_project(target *t, char id[37]) {
  assay_value *p = NULL;
  assert_int_equal(assay_client_create_project(&p, t->c, "registry", "",
                                               "MODEL_TASK_BINARY_CLASSIFICATION", NULL),
                   ASSAY_OK);
  snprintf(id, 37, "%s", vstr(p, "project_id"));
  assay_value_free(p);
}

static void client_round_trip(void **state) {
  target *t = *state;
  char data[256], preds[256], pid[37], ds[37], model[37], pred[37];
  client_upload(t, "data.csv", CSV_TEXT, "rt", data);
  assert_string_equal(data, "assay://files/rt/data.csv");
  client_upload(t, "preds.csv", "p\n0.1\n0.9\n0.3\n", "rt", preds);
  client_project(t, pid);
  assay_value *v = NULL, *req, *list;

  /* register (waiting is immediate without a job), get, by name, list */
  req = vf("{\"name\":\"ref\",\"skip_validation\":true,\"tags\":[\"x\"],\"data_info\":"
           "{\"connection_info\":{\"data_file\":{\"path\":\"%s\"}},"
           "\"data_params\":{\"label_col\":\"y\"}}}", data);
  assert_int_equal(assay_client_register_dataset(&v, t->c, pid, req, 1), ASSAY_OK);
  assert_string_equal(vstr(v, "validity_message"), "validation skipped");
  snprintf(ds, sizeof ds, "%s", vstr(v, "dataset_id"));
  assay_value_free(v);
  expect(assay_client_register_dataset(&v, t->c, pid, req, 0), ASSAY_ERR_CONFLICT, 409,
         "a dataset named 'ref' already exists in this project");
  assay_value_free(req);
  assert_int_equal(assay_client_get_dataset(&v, t->c, ds), ASSAY_OK);
  assert_string_equal(vstr(v, "name"), "ref");
  assay_value_free(v);
  assert_int_equal(assay_client_get_dataset_by_name(&v, t->c, pid, "ref"), ASSAY_OK);
  assert_string_equal(vstr(v, "dataset_id"), ds);
  assay_value_free(v);
  expect(assay_client_get_dataset_by_name(&v, t->c, pid, "other name"), ASSAY_ERR_NOT_FOUND, 0,
         "no dataset named 'other name'");
  expect(assay_client_get_dataset_by_name(&v, t->c, pid, ""), ASSAY_ERR_CONFIG, 0, "name");
  assert_int_equal(assay_client_list_datasets(&list, t->c, pid), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 1);
  assay_value_free(list);

  /* without skip_validation and without waiting: PENDING with its job */
  req = vf("{\"name\":\"eval\",\"data_info\":{\"connection_info\":{\"data_file\":"
           "{\"path\":\"%s\"}}}}", data);
  assert_int_equal(assay_client_register_dataset(&v, t->c, pid, req, 0), ASSAY_OK);
  assay_value_free(req);
  assert_string_equal(vstr(v, "validity_status"), "VALIDITY_STATUS_PENDING");
  assert_non_null(vstr(v, "validation_job_id"));
  assay_value_free(v);

  /* typed errors over either transport */
  req = vf("{\"name\":\"bad\",\"data_info\":{\"connection_info\":{\"data_file\":"
           "{\"path\":\"%s\",\"data_type\":\"xls\"}}}}", data);
  expect(assay_client_register_dataset(&v, t->c, pid, req, 1), ASSAY_ERR_CONFIG, 400,
         "data_info.connection_info.data_file.data_type: expected one of csv");
  assay_value_free(req);
  req = vf("{\"name\":\"gone\",\"skip_validation\":true,\"data_info\":{\"connection_info\":"
           "{\"data_file\":{\"path\":\"assay://files/rt/none.csv\"}}}}");
  expect(assay_client_register_dataset(&v, t->c, pid, req, 1), ASSAY_ERR_NOT_FOUND, 404,
         "data_info.connection_info.data_file.path: no uploaded file at assay://files/rt/none.csv");
  assay_value_free(req);
  expect(assay_client_register_dataset(&v, t->c, pid, NULL, 0), ASSAY_ERR_CONFIG, 0, "request");
  expect(assay_client_register_dataset(&v, t->c, NULL, NULL, 0), ASSAY_ERR_CONFIG, 0,
         "project_id");
  expect(assay_client_get_dataset(&v, t->c, NULL), ASSAY_ERR_CONFIG, 0, "dataset_id");
  expect(assay_client_get_dataset(&v, t->c, "../models/x"), ASSAY_ERR_NOT_FOUND, 404, NULL);

  /* models */
  req = vf("{\"name\":\"m\",\"model_info\":null,\"external_id\":\"e1\"}");
  assert_int_equal(assay_client_register_model(&v, t->c, pid, req), ASSAY_OK);
  assay_value_free(req);
  snprintf(model, sizeof model, "%s", vstr(v, "model_id"));
  assay_value_free(v);
  assert_int_equal(assay_client_get_model(&v, t->c, model), ASSAY_OK);
  assert_string_equal(vstr(v, "external_id"), "e1");
  assay_value_free(v);
  assert_int_equal(assay_client_get_model_by_name(&v, t->c, pid, "m"), ASSAY_OK);
  assert_string_equal(vstr(v, "model_id"), model);
  assay_value_free(v);
  expect(assay_client_get_model_by_name(&v, t->c, pid, "n"), ASSAY_ERR_NOT_FOUND, 0,
         "no model named 'n'");
  assert_int_equal(assay_client_list_models(&list, t->c, pid), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 1);
  assay_value_free(list);

  /* prediction sets */
  req = vf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"skip_validation\":true,"
           "\"pred_info\":{\"connection_info\":{\"data_file\":{\"path\":\"%s\"}},"
           "\"pred_params\":{\"pred_col\":\"p\"}}}", ds, model, preds);
  assert_int_equal(assay_client_register_predictions(&v, t->c, pid, req, 1), ASSAY_OK);
  snprintf(pred, sizeof pred, "%s", vstr(v, "prediction_id"));
  assay_value_free(v);
  expect(assay_client_register_predictions(&v, t->c, pid, req, 1), ASSAY_ERR_CONFLICT, 409,
         "already registered");
  assay_value_free(req);
  assert_int_equal(assay_client_list_predictions(&list, t->c, pid, NULL, NULL), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 1);
  assay_value_free(list);
  assert_int_equal(assay_client_list_predictions(&list, t->c, pid, model, NULL), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 1);
  assay_value_free(list);
  assert_int_equal(assay_client_list_predictions(&list, t->c, pid, NULL, model), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 0);
  assay_value_free(list);
  assert_int_equal(assay_client_get_predictions(&v, t->c, pid, model, ds), ASSAY_OK);
  assert_string_equal(vstr(v, "prediction_id"), pred);
  assay_value_free(v);
  expect(assay_client_get_predictions(&v, t->c, pid, ds, model), ASSAY_ERR_NOT_FOUND, 0,
         "no predictions of model");
  expect(assay_client_get_predictions(&v, t->c, pid, NULL, ds), ASSAY_ERR_CONFIG, 0, "model_id");

  /* the project holds entries now */
  expect(assay_client_delete_project(t->c, pid, 0), ASSAY_ERR_CONFLICT, 409, "force=true");

  /* delete: the prediction set goes with its model */
  assert_int_equal(assay_client_delete_model(t->c, model), ASSAY_OK);
  expect(assay_client_get_model(&v, t->c, model), ASSAY_ERR_NOT_FOUND, 404, NULL);
  expect(assay_client_delete_predictions(t->c, pred), ASSAY_ERR_NOT_FOUND, 404, NULL);
  assert_int_equal(assay_client_delete_dataset(t->c, ds), ASSAY_OK);
  expect(assay_client_get_dataset(&v, t->c, ds), ASSAY_ERR_NOT_FOUND, 404, "not found");
  assert_int_equal(assay_client_delete_project(t->c, pid, 1), ASSAY_OK);
}

/* --- validation outcomes (job workers on) -------------------------------------------------- */

static void client_validation(void **state) {
  target *t = *state;
  char data[256], preds[256], short_preds[256], loader[256], pid[37], ds[37], model[37];
  client_upload(t, "data.csv", CSV_TEXT, "v", data);
  client_upload(t, "preds.csv", "p\n0.1\n0.9\n0.3\n", "v", preds);
  client_upload(t, "short.csv", "p\n0.1\n", "v", short_preds);
  client_upload(t, "loader.py",
                "def load(start_time=None, end_time=None, **kw):\n"
                "    raise ValueError('the source said no')\n",
                "v", loader);
  client_project(t, pid);
  assay_value *v = NULL, *req;

  /* a valid CSV: VALID, with its row count and profile */
  req = vf("{\"name\":\"ref\",\"data_info\":{\"connection_info\":{\"data_file\":"
           "{\"path\":\"%s\"}},\"data_params\":{\"label_col\":\"y\"}}}", data);
  assert_int_equal(assay_client_register_dataset(&v, t->c, pid, req, 1), ASSAY_OK);
  assay_value_free(req);
  if (strcmp(vstr(v, "validity_status"), "VALIDITY_STATUS_VALID") != 0)
    fail_msg("expected VALID: %s", vstr(v, "validity_message"));
  assert_int_equal(assay_value_get_int(assay_value_object_get(v, "row_count")), 3);
  assert_int_equal(assay_value_array_size(assay_value_object_get(v, "schema_profile")), 3);
  snprintf(ds, sizeof ds, "%s", vstr(v, "dataset_id"));
  assay_value_free(v);

  /* a missing label column: INVALID naming it */
  req = vf("{\"name\":\"nolabel\",\"data_info\":{\"connection_info\":{\"data_file\":"
           "{\"path\":\"%s\"}},\"data_params\":{\"label_col\":\"target\"}}}", data);
  assert_int_equal(assay_client_register_dataset(&v, t->c, pid, req, 1), ASSAY_OK);
  assay_value_free(req);
  assert_string_equal(vstr(v, "validity_status"), "VALIDITY_STATUS_INVALID");
  assert_non_null(strstr(vstr(v, "validity_message"), "target"));
  assay_value_free(v);

  /* a loader that raises: INVALID with its error */
  req = vf("{\"name\":\"loaded\",\"data_info\":{\"connection_info\":{\"data_loading\":"
           "{\"path\":\"%s\",\"load_func_name\":\"load\"}}}}", loader);
  assert_int_equal(assay_client_register_dataset(&v, t->c, pid, req, 1), ASSAY_OK);
  assay_value_free(req);
  assert_string_equal(vstr(v, "validity_status"), "VALIDITY_STATUS_INVALID");
  assert_non_null(strstr(vstr(v, "validity_message"), "the source said no"));
  assay_value_free(v);

  /* predictions: valid; and one whose row count differs from the dataset's */
  req = vf("{\"name\":\"m\"}");
  assert_int_equal(assay_client_register_model(&v, t->c, pid, req), ASSAY_OK);
  assay_value_free(req);
  snprintf(model, sizeof model, "%s", vstr(v, "model_id"));
  assay_value_free(v);
  req = vf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"pred_info\":{\"connection_info\":"
           "{\"data_file\":{\"path\":\"%s\"}},\"pred_params\":{\"pred_col\":\"p\"}}}",
           ds, model, preds);
  assert_int_equal(assay_client_register_predictions(&v, t->c, pid, req, 1), ASSAY_OK);
  assay_value_free(req);
  if (strcmp(vstr(v, "validity_status"), "VALIDITY_STATUS_VALID") != 0)
    fail_msg("expected VALID predictions: %s", vstr(v, "validity_message"));
  assert_int_equal(assay_value_get_int(assay_value_object_get(v, "row_count")), 3);
  char pred[37];
  snprintf(pred, sizeof pred, "%s", vstr(v, "prediction_id"));
  assay_value_free(v);
  assert_int_equal(assay_client_delete_predictions(t->c, pred), ASSAY_OK);
  req = vf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"pred_info\":{\"connection_info\":"
           "{\"data_file\":{\"path\":\"%s\"}},\"pred_params\":{\"pred_col\":\"p\"}}}",
           ds, model, short_preds);
  assert_int_equal(assay_client_register_predictions(&v, t->c, pid, req, 1), ASSAY_OK);
  assay_value_free(req);
  assert_string_equal(vstr(v, "validity_status"), "VALIDITY_STATUS_INVALID");
  assay_value_free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(dataset_records, setup, teardown),
    cmocka_unit_test_setup_teardown(model_records, setup, teardown),
    cmocka_unit_test_setup_teardown(prediction_records, setup, teardown),
    cmocka_unit_test_setup_teardown(role_matrix, setup, teardown),
    cmocka_unit_test_setup_teardown(integration_checks, setup, teardown),
    cmocka_unit_test_setup_teardown(file_checks, setup, teardown),
    cmocka_unit_test_setup_teardown(bad_bodies, setup, teardown),
    cmocka_unit_test_setup_teardown(project_delete, setup, teardown),
    cmocka_unit_test_setup_teardown(client_round_trip, setup_embedded, teardown_target),
    cmocka_unit_test_setup_teardown(client_round_trip, setup_http, teardown_target),
    cmocka_unit_test_setup_teardown(client_validation, setup_embedded_workers, teardown_target),
    cmocka_unit_test_setup_teardown(client_validation, setup_http_workers, teardown_target),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
