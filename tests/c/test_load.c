/* test_load.c — dataset_load and its cache, and the validation jobs:
 * a CSV read natively (loading_kwargs, nrows), the cache (a hit does not
 * call the loader again — proved by a loader that appends to a counter
 * file —, a changed loader file misses, so does a changed file in the
 * loader's folder, another window misses, use_cache=0
 * bypasses, a drop empties it), Parquet through the runner, a loader
 * failure, and validation verdicts recorded on registry entries (VALID
 * with row count and profile; INVALID for no rows, a missing or mistyped
 * column, a loader error, a row count that differs from the dataset's;
 * secrets of the loader's integration redacted everywhere); the cache kept
 * apart per member when the loader gets a member's own values, shared
 * otherwise; a platform freed while a loader runs (it returns at once, the
 * job goes back to PENDING, the entry stays PENDING, the next platform
 * validates it); a validation job failed as stale leaves its entry
 * INVALID, not PENDING. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "assay/server.h"
#include "engine/load.h"
#include "internal.h"
#include "platform/jobs.h"
#include "platform/platform.h"
#include "platform/router.h"
#include "test_support.h"

typedef struct fixture {
  char *home;
  char *work; /* beside the home: loaders may write here (the home is theirs to neither read nor write) */
  assay_platform *p;
  char token[128];
  char ws[37];
  char user[37];
  char project[37];
} fixture;

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int setup_with(void **state, int workers) {
  fixture *f = calloc(1, sizeof *f);
  f->home = make_home();
  f->work = make_home();
  assay_platform_options o = ASSAY_PLATFORM_OPTIONS_INIT;
  o.home = f->home;
  o.workers = workers;
  o.loader_timeout = 60;
  if (assay_platform_open_with(&f->p, &o) != ASSAY_OK) {
    fprintf(stderr, "open: %s\n", assay_error_last()->message);
    return -1;
  }
  if (read_admin_token(f->home, f->token, sizeof f->token) != 0) return -1;
  const principal *admin = platform_admin_principal(f->p);
  snprintf(f->ws, sizeof f->ws, "%s", admin->workspace_id);
  snprintf(f->user, sizeof f->user, "%s", admin->user_id);
  json_t *b = NULL;
  int st = router_send(f->p, "POST", "/v1/projects", NULL, f->token,
                       "{\"name\": \"loading\", \"description\": \"d\", "
                       "\"model_task\": \"MODEL_TASK_BINARY_CLASSIFICATION\"}",
                       &b);
  if (st != 201) return -1;
  snprintf(f->project, sizeof f->project, "%s",
           json_string_value(json_object_get(b, "project_id")));
  json_decref(b);
  *state = f;
  return 0;
}

static int setup(void **state) { return setup_with(state, 1); }
/* No workers: jobs stay PENDING until the test starts some. */
static int setup_idle(void **state) { return setup_with(state, 0); }

static int teardown(void **state) {
  fixture *f = *state;
  assay_platform_free(f->p);
  rm_home(f->home);
  rm_home(f->work);
  free(f);
  return 0;
}

/* Upload bytes as <folder>/<name>; the location (caller frees). */
static char *upload(fixture *f, const char *folder, const char *name, const void *data,
                    size_t len) {
  char query[512];
  snprintf(query, sizeof query, "name=%s&upload_path=%s", name, folder);
  router_request req = {"PUT", "/v1/files", query, f->token, NULL, data, len, 0};
  router_response r;
  router_handle(f->p, &req, &r);
  if (r.status != 201) {
    char *text = json_dumps(r.body, 0);
    fprintf(stderr, "upload %s: %d %s\n", name, r.status, text ? text : "");
    free(text);
  }
  assert_int_equal(r.status, 201);
  char *loc = strdup(json_string_value(json_object_get(r.body, "location")));
  router_response_clear(&r);
  return loc;
}

static char *upload_text(fixture *f, const char *folder, const char *name, const char *text) {
  return upload(f, folder, name, text, strlen(text));
}

static json_t *parse(const char *text) {
  json_error_t e;
  json_t *j = json_loads(text, 0, &e);
  if (!j) fprintf(stderr, "bad JSON in test: %s\n", e.text);
  assert_non_null(j);
  return j;
}

static json_t *file_info(const char *loc, const char *params_json) {
  json_t *info = json_pack("{s:{s:{s:s}}}", "connection_info", "data_file", "path", loc);
  if (params_json) json_object_set_new(info, "data_params", parse(params_json));
  return info;
}

static json_t *loader_info(const char *loc, const char *func, json_t *kwargs,
                           const char *params_json) {
  json_t *info = json_pack("{s:{s:{s:s, s:s, s:o}}}", "connection_info", "data_loading", "path",
                           loc, "load_func_name", func, "loader_kwargs",
                           kwargs ? kwargs : json_object());
  if (params_json) json_object_set_new(info, "data_params", parse(params_json));
  return info;
}

static int do_load_as(fixture *f, const char *user, const char *id, const json_t *info,
                      const load_window *w, int use_cache, frame **out, int *cached) {
  load_request req = {.dataset_id = id,
                      .workspace_id = f->ws,
                      .user_id = user,
                      .info = info,
                      .window = w ? *w : (load_window){0, 0, 0},
                      .use_cache = use_cache};
  int rc = dataset_load(f->p, &req, out, cached);
  if (rc) fprintf(stderr, "load: %s\n", assay_error_last()->message);
  return rc;
}

static int do_load(fixture *f, const char *id, const json_t *info, const load_window *w,
                   int use_cache, frame **out, int *cached) {
  return do_load_as(f, f->user, id, info, w, use_cache, out, cached);
}

static int count_lines(const char *path) {
  FILE *fp = fopen(path, "r");
  if (!fp) return 0;
  int n = 0, c;
  while ((c = fgetc(fp)) != EOF) n += c == '\n';
  fclose(fp);
  return n;
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static char *cache_dir(fixture *f, const char *id) {
  char *d = NULL;
  assert_true(asprintf(&d, "%s/cache/%s", f->home, id) > 0);
  return d;
}

/* --- CSV ---------------------------------------------------------------------------- */

static void csv_load_and_cache(void **state) {
  fixture *f = *state;
  char *loc = upload_text(f, "csv", "data.csv",
                          "id,name,score,when\n1,ann,0.5,2024-01-01T00:00:00Z\n"
                          "2,bob,,2024-01-02T00:00:00Z\n3,\"c, d\",1.5,2024-01-03T00:00:00Z\n");
  json_t *info = file_info(loc, NULL);
  const char *id = "11111111-0000-0000-0000-000000000001";
  frame *fr = NULL;
  int cached = -1;
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  assert_int_equal(fr->rows, 3);
  assert_int_equal(fr->ncols, 4);
  assert_int_equal(frame_col(fr, "id")->type, COL_INT64);
  assert_int_equal(frame_col(fr, "score")->type, COL_FLOAT64);
  assert_int_equal(frame_col(fr, "score")->null_count, 1);
  assert_int_equal(frame_col(fr, "when")->type, COL_TIMESTAMP);
  assert_int_equal(((const int64_t *)frame_col(fr, "id")->values)[2], 3);
  frame_free(fr);

  /* the cache file, private; the second load maps it */
  load_request req = {.dataset_id = id, .workspace_id = f->ws, .info = info, .use_cache = 1};
  char *path = NULL;
  assert_int_equal(dataset_cache_path(f->p, &req, &path), ASSAY_OK);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 1);
  assert_non_null(fr->map);
  assert_int_equal(fr->rows, 3);
  assert_int_equal(((const int64_t *)frame_col(fr, "id")->values)[1], 2);
  assert_int_equal(frame_col(fr, "name")->type, COL_STRING);
  frame_free(fr);

  /* a window does not matter for a data file: still a hit */
  load_window w = {1, 100, 200};
  assert_int_equal(do_load(f, id, info, &w, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 1);
  frame_free(fr);

  /* use_cache = 0 reads the file */
  assert_int_equal(do_load(f, id, info, NULL, 0, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  frame_free(fr);

  /* nrows is part of the config: another entry, fewer rows */
  json_t *info2 = file_info(loc, "{\"nrows\": 2}");
  assert_int_equal(do_load(f, id, info2, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  assert_int_equal(fr->rows, 2);
  frame_free(fr);
  json_decref(info2);

  /* a damaged cache entry is loaded again */
  int fd = open(path, O_WRONLY | O_TRUNC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "junk", 4), 4);
  close(fd);
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  assert_int_equal(fr->rows, 3);
  frame_free(fr);

  /* drop: the folder goes, the next load misses */
  char *dir = cache_dir(f, id);
  assert_true(exists(dir));
  assert_int_equal(dataset_cache_drop(f->p, id), ASSAY_OK);
  assert_false(exists(dir));
  assert_int_equal(dataset_cache_drop(f->p, id), ASSAY_OK); /* missing is fine */
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  frame_free(fr);
  assert_int_equal(dataset_cache_drop(f->p, "../escape"), ASSAY_ERR_CONFIG);

  free(dir);
  free(path);
  json_decref(info);
  free(loc);
}

static void csv_loading_kwargs(void **state) {
  fixture *f = *state;
  char *loc = upload_text(f, "csv", "semi.csv", "a;b\n1;x\n2;-\n3;y\n");
  json_t *info = file_info(loc, "{\"loading_kwargs\": {\"sep\": \";\", \"na_values\": [\"-\"]}}");
  frame *fr = NULL;
  assert_int_equal(do_load(f, "22222222-0000-0000-0000-000000000002", info, NULL, 1, &fr, NULL),
                   ASSAY_OK);
  assert_int_equal(fr->ncols, 2);
  assert_int_equal(frame_col(fr, "b")->null_count, 1);
  frame_free(fr);
  json_decref(info);
  /* an unknown loading kwarg is a config error */
  info = file_info(loc, "{\"loading_kwargs\": {\"engine\": \"c\"}}");
  assert_int_equal(dataset_load(f->p,
                                &(load_request){.dataset_id = "x", .workspace_id = f->ws,
                                                .info = info, .use_cache = 1},
                                &fr, NULL),
                   ASSAY_ERR_CONFIG);
  json_decref(info);
  /* a location that was never uploaded */
  info = file_info("assay://files/nowhere/none.csv", NULL);
  assert_int_equal(dataset_load(f->p,
                                &(load_request){.dataset_id = "x", .workspace_id = f->ws,
                                                .info = info, .use_cache = 1},
                                &fr, NULL),
                   ASSAY_ERR_NOT_FOUND);
  json_decref(info);
  free(loc);
}

/* --- a custom loader ------------------------------------------------------------------ */

static const char *counting_loader =
  "import pandas as pd\n"
  "\n"
  "def load(counter, start_time=None, end_time=None):\n"
  "    with open(counter, 'a') as fh:\n"
  "        fh.write('called\\n')\n"
  "    s = -1 if start_time is None else start_time\n"
  "    e = -1 if end_time is None else end_time\n"
  "    print('loading', s, e)\n"
  "    return pd.DataFrame({'a': [1, 2, 3], 'start': [s, s, s], 'end': [e, e, e]})\n";

static void loader_cache(void **state) {
  fixture *f = *state;
  char counter[4096];
  snprintf(counter, sizeof counter, "%s/counter.txt", f->work);
  char *loc = upload_text(f, "loaders", "count.py", counting_loader);
  json_t *info = loader_info(loc, "load", json_pack("{s:s}", "counter", counter), NULL);
  const char *id = "33333333-0000-0000-0000-000000000003";
  frame *fr = NULL;
  int cached = -1;

  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  assert_int_equal(count_lines(counter), 1);
  assert_int_equal(fr->rows, 3);
  assert_int_equal(((const int64_t *)frame_col(fr, "start")->values)[0], -1);
  frame_free(fr);
  /* the same request: from the cache, the loader is not called */
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 1);
  assert_int_equal(count_lines(counter), 1);
  assert_int_equal(fr->rows, 3);
  frame_free(fr);

  /* a window: loaded for it, then cached for it */
  load_window w1 = {1, 1700000000, 1700086400}, w2 = {1, 1700000000, 1700172800};
  assert_int_equal(do_load(f, id, info, &w1, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  assert_int_equal(count_lines(counter), 2);
  assert_int_equal(((const int64_t *)frame_col(fr, "start")->values)[0], 1700000000);
  assert_int_equal(((const int64_t *)frame_col(fr, "end")->values)[0], 1700086400);
  frame_free(fr);
  assert_int_equal(do_load(f, id, info, &w1, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 1);
  assert_int_equal(count_lines(counter), 2);
  frame_free(fr);
  /* another window misses */
  assert_int_equal(do_load(f, id, info, &w2, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  assert_int_equal(count_lines(counter), 3);
  frame_free(fr);

  /* a changed loader file (same location, new content) misses */
  char changed[2048];
  snprintf(changed, sizeof changed, "%s# changed\n", counting_loader);
  free(upload_text(f, "loaders", "count.py", changed));
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  assert_int_equal(count_lines(counter), 4);
  frame_free(fr);
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 1);
  assert_int_equal(count_lines(counter), 4);
  frame_free(fr);

  /* use_cache = 0 always calls it */
  assert_int_equal(do_load(f, id, info, NULL, 0, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  assert_int_equal(count_lines(counter), 5);
  frame_free(fr);

  /* dropped: called again */
  assert_int_equal(dataset_cache_drop(f->p, id), ASSAY_OK);
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  assert_int_equal(count_lines(counter), 6);
  frame_free(fr);

  /* no scratch folder is left behind */
  char scratch[4096];
  snprintf(scratch, sizeof scratch, "%s/scratch", f->home);
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s' 2>/dev/null)\"", scratch);
  assert_int_equal(system(cmd), 0);
  json_decref(info);
  free(loc);
}

/* The loader's folder is its working directory and on its sys.path: a
 * changed neighbour module (or any file under the folder) misses the
 * cache, a file elsewhere does not. */
static void loader_folder_in_cache_key(void **state) {
  fixture *f = *state;
  const char *loader = "import pandas as pd\n"
                       "import helper\n"
                       "def load():\n"
                       "    return pd.DataFrame({'v': [helper.V]})\n";
  free(upload_text(f, "nb", "helper.py", "V = 1\n"));
  char *loc = upload_text(f, "nb", "load.py", loader);
  json_t *info = loader_info(loc, "load", json_object(), NULL);
  const char *id = "33333333-0000-0000-0000-000000000009";
  frame *fr = NULL;
  int cached = -1;
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  assert_int_equal(((const int64_t *)frame_col(fr, "v")->values)[0], 1);
  frame_free(fr);
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 1);
  frame_free(fr);

  /* the neighbour changes: loaded again, with the new value */
  free(upload_text(f, "nb", "helper.py", "V = 2\n"));
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  assert_int_equal(((const int64_t *)frame_col(fr, "v")->values)[0], 2);
  frame_free(fr);
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 1);
  frame_free(fr);
  /* a new file in a sub-folder (a package, a data file) misses too */
  free(upload_text(f, "nb/data", "extra.csv", "a\n1\n"));
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  frame_free(fr);
  /* a file in another folder does not */
  free(upload_text(f, "elsewhere", "helper.py", "V = 3\n"));
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 1);
  assert_int_equal(((const int64_t *)frame_col(fr, "v")->values)[0], 2);
  frame_free(fr);
  json_decref(info);
  free(loc);
}

static void loader_failure_is_not_cached(void **state) {
  fixture *f = *state;
  char *loc = upload_text(f, "loaders", "bad.py",
                          "def load():\n    raise ValueError('the source is down')\n");
  json_t *info = loader_info(loc, "load", NULL, NULL);
  const char *id = "44444444-0000-0000-0000-000000000004";
  frame *fr = NULL;
  load_request req = {.dataset_id = id, .workspace_id = f->ws, .user_id = f->user, .info = info,
                      .use_cache = 1};
  assert_int_equal(dataset_load(f->p, &req, &fr, NULL), ASSAY_ERR_DATA);
  assert_null(fr);
  assert_non_null(strstr(assay_error_last()->message, "the source is down"));
  char *dir = cache_dir(f, id);
  assert_false(exists(dir));
  free(dir);
  json_decref(info);
  free(loc);
}

static void parquet_through_the_runner(void **state) {
  fixture *f = *state;
  char src[4096], cmd[8192];
  snprintf(src, sizeof src, "%s/made.parquet", f->home);
  snprintf(cmd, sizeof cmd,
           "'%s' -c \"import pandas as pd; pd.DataFrame({'k': [1, 2, 3, 4], "
           "'v': ['a', None, 'c', 'd']}).to_parquet('%s')\"",
           platform_runner(f->p)->python, src);
  if (system(cmd) != 0) {
    fprintf(stderr, "no pandas/pyarrow for %s: skipped\n", platform_runner(f->p)->python);
    skip();
  }
  FILE *fp = fopen(src, "rb");
  assert_non_null(fp);
  char *buf = malloc(1 << 20);
  size_t n = fread(buf, 1, 1 << 20, fp);
  fclose(fp);
  char *loc = upload(f, "pq", "made.parquet", buf, n);
  free(buf);
  json_t *info = file_info(loc, NULL);
  frame *fr = NULL;
  int cached = -1;
  const char *id = "55555555-0000-0000-0000-000000000005";
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(fr->rows, 4);
  assert_int_equal(frame_col(fr, "k")->type, COL_INT64);
  assert_int_equal(frame_col(fr, "v")->type, COL_STRING);
  assert_int_equal(frame_col(fr, "v")->null_count, 1);
  frame_free(fr);
  assert_int_equal(do_load(f, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 1);
  frame_free(fr);
  json_t *limited = file_info(loc, "{\"nrows\": 2}");
  assert_int_equal(do_load(f, id, limited, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(fr->rows, 2);
  frame_free(fr);
  json_decref(limited);
  json_decref(info);
  free(loc);
}

/* --- validation jobs -------------------------------------------------------------------- */

/* Insert a registry entry (rec, stolen; PENDING) with its validation job;
 * the job id. */
static void register_entry(fixture *f, const char *kind, json_t *rec, char job_id[37]) {
  store *s = NULL;
  assert_int_equal(platform_store_acquire(f->p, &s), ASSAY_OK);
  const char *id_key = strcmp(kind, "dataset") == 0 ? "dataset_id" : "prediction_id";
  char id[37];
  assay__uuid(id);
  json_object_set_new(rec, id_key, json_string(id));
  json_object_set_new(rec, "project_id", json_string(f->project));
  json_object_set_new(rec, "validity_status", json_string("VALIDITY_STATUS_PENDING"));
  json_object_set_new(rec, "created_by", json_string(f->user));
  json_object_set_new(rec, "created_at_secs", json_integer(assay__now()));
  if (!json_object_get(rec, "name") && strcmp(kind, "dataset") == 0)
    json_object_set_new(rec, "name", json_string(id));
  json_t *request = json_pack("{s:s, s:s}", "kind", kind, "id", id);
  int rc = s->ops->begin(s, 1);
  if (!rc)
    rc = jobs_submit(s,
                     strcmp(kind, "dataset") == 0 ? JOB_TYPE_DATASET_VALIDATION
                                                  : JOB_TYPE_PREDICTIONS_VALIDATION,
                     f->ws, f->project, f->user, request, job_id);
  if (!rc) json_object_set_new(rec, "validation_job_id", json_string(job_id));
  if (!rc) rc = s->ops->registry_insert(s, kind, rec);
  if (!rc) rc = s->ops->commit(s);
  if (rc) fprintf(stderr, "register: %s\n", assay_error_last()->message);
  assert_int_equal(rc, ASSAY_OK);
  platform_store_release(f->p, s);
  json_decref(request);
  json_decref(rec);
  jobs_notify(f->p);
}

/* A model entry (prediction sets hang off one); its id in id. */
static void register_model(fixture *f, char id[37]) {
  store *s = NULL;
  assert_int_equal(platform_store_acquire(f->p, &s), ASSAY_OK);
  assay__uuid(id);
  json_t *rec = json_pack("{s:s, s:s, s:s, s:n, s:s, s:I}", "model_id", id, "project_id",
                          f->project, "name", id, "model_info", "created_by", f->user,
                          "created_at_secs", (json_int_t)assay__now());
  int rc = s->ops->begin(s, 1);
  if (!rc) rc = s->ops->registry_insert(s, "model", rec);
  if (!rc) rc = s->ops->commit(s);
  assert_int_equal(rc, ASSAY_OK);
  platform_store_release(f->p, s);
  json_decref(rec);
}

/* Wait for the job to end; the entry's record afterwards. */
static json_t *validated(fixture *f, const char *kind, const char *job_id, const char *want_job,
                         json_t **job_out) {
  store *s = NULL;
  json_t *job = NULL;
  for (int i = 0; i < 3000; i++) {
    assert_int_equal(platform_store_acquire(f->p, &s), ASSAY_OK);
    assert_int_equal(jobs_get(s, job_id, &job), ASSAY_OK);
    platform_store_release(f->p, s);
    const char *st = json_string_value(json_object_get(job, "status"));
    if (strcmp(st, "JOB_STATUS_PENDING") != 0 && strcmp(st, "JOB_STATUS_RUNNING") != 0) break;
    json_decref(job);
    job = NULL;
    sleep_ms(20);
  }
  assert_non_null(job);
  const char *st = json_string_value(json_object_get(job, "status"));
  if (strcmp(st, want_job) != 0)
    fprintf(stderr, "job %s: %s (%s)\n", job_id, st,
            json_string_value(json_object_get(job, "error_msg")));
  assert_string_equal(st, want_job);
  const char *id = json_string_value(json_object_get(json_object_get(job, "result"), "id"));
  json_t *rec = NULL;
  assert_int_equal(platform_store_acquire(f->p, &s), ASSAY_OK);
  if (id) {
    assert_int_equal(s->ops->registry_get(s, kind, id, &rec), ASSAY_OK);
  }
  platform_store_release(f->p, s);
  if (job_out) *job_out = job;
  else json_decref(job);
  return rec;
}

static const char *validity(json_t *rec) {
  return json_string_value(json_object_get(rec, "validity_status"));
}
static const char *message(json_t *rec) {
  return json_string_value(json_object_get(rec, "validity_message"));
}

static json_t *dataset_rec(json_t *info) {
  return json_pack("{s:o}", "data_info", info);
}

static void validation_verdicts(void **state) {
  fixture *f = *state;
  char *good = upload_text(f, "v", "good.csv",
                           "label,ts,num,txt\n1,2024-01-01,10,a\n0,2024-01-02,20,b\n"
                           "1,2024-01-03,30,c\n");
  char *empty = upload_text(f, "v", "empty.csv", "label,ts\n");
  char job[37];

  /* VALID: row count and profile */
  register_entry(f, "dataset",
                 dataset_rec(file_info(good, "{\"label_col\": \"label\", \"timestamp_col\": "
                                             "\"ts\"}")),
                 job);
  json_t *j = NULL;
  json_t *ds = validated(f, "dataset", job, "JOB_STATUS_SUCCEEDED", &j);
  assert_string_equal(validity(ds), "VALIDITY_STATUS_VALID");
  assert_int_equal(json_integer_value(json_object_get(ds, "row_count")), 3);
  json_t *profile = json_object_get(ds, "schema_profile");
  assert_int_equal(json_array_size(profile), 4);
  assert_string_equal(json_string_value(json_object_get(json_array_get(profile, 0), "column")),
                      "label");
  assert_true(json_is_null(json_object_get(ds, "validity_message")));
  json_t *result = json_object_get(j, "result");
  assert_string_equal(json_string_value(json_object_get(result, "validity_status")),
                      "VALIDITY_STATUS_VALID");
  assert_int_equal(json_integer_value(json_object_get(result, "row_count")), 3);
  json_decref(j);
  const char *good_id = json_string_value(json_object_get(ds, "dataset_id"));
  char *dir = cache_dir(f, good_id);
  assert_true(exists(dir)); /* the validation filled the cache */
  free(dir);

  /* INVALID verdicts: the job itself SUCCEEDED */
  struct {
    const char *loc_params;
    const char *fragment;
  } bad[] = {
    {"{\"label_col\": \"target\"}",
     "data_params.label_col 'target' is not a column of the data; the data has 4 columns: "
     "label, ts, num, txt"},
    {"{\"timestamp_col\": \"txt\"}", "data_params.timestamp_col 'txt' is a string column"},
    {"{\"timestamp_col\": \"missing\"}", "timestamp_col 'missing' is not a column"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    register_entry(f, "dataset", dataset_rec(file_info(good, bad[i].loc_params)), job);
    json_t *rec = validated(f, "dataset", job, "JOB_STATUS_SUCCEEDED", NULL);
    assert_string_equal(validity(rec), "VALIDITY_STATUS_INVALID");
    if (!strstr(message(rec), bad[i].fragment)) fprintf(stderr, "got: %s\n", message(rec));
    assert_non_null(strstr(message(rec), bad[i].fragment));
    assert_true(json_is_null(json_object_get(rec, "row_count")));
    json_decref(rec);
  }
  /* at most 20 columns are listed */
  char wide_csv[512] = "", *w = wide_csv;
  for (int i = 0; i < 25; i++) w += sprintf(w, "%sc%d", i ? "," : "", i);
  w += sprintf(w, "\n");
  for (int i = 0; i < 25; i++) w += sprintf(w, "%s%d", i ? "," : "", i);
  sprintf(w, "\n");
  char *wide = upload_text(f, "v", "wide.csv", wide_csv);
  register_entry(f, "dataset", dataset_rec(file_info(wide, "{\"label_col\": \"zz\"}")), job);
  json_t *wrec = validated(f, "dataset", job, "JOB_STATUS_SUCCEEDED", NULL);
  assert_non_null(strstr(message(wrec), "the data has 25 columns: c0, c1, "));
  assert_non_null(strstr(message(wrec), ", c19, ..."));
  assert_null(strstr(message(wrec), "c20"));
  json_decref(wrec);
  free(wide);

  register_entry(f, "dataset", dataset_rec(file_info(empty, NULL)), job);
  json_t *rec = validated(f, "dataset", job, "JOB_STATUS_SUCCEEDED", NULL);
  assert_string_equal(validity(rec), "VALIDITY_STATUS_INVALID");
  assert_string_equal(message(rec), "the loaded data has no rows");
  json_decref(rec);

  /* predictions: pred_col present, row count equal to the VALID dataset's */
  char *preds3 = upload_text(f, "v", "p3.csv", "p\n0.1\n0.2\n0.3\n");
  char *preds2 = upload_text(f, "v", "p2.csv", "p\n0.1\n0.2\n");
  char m1[37], m2[37], m3[37], m4[37];
  register_model(f, m1);
  register_model(f, m2);
  register_model(f, m3);
  register_model(f, m4);
  json_t *pr = json_pack("{s:s, s:s, s:{s:{s:{s:s}}, s:{s:s}}}", "dataset_id", good_id,
                         "model_id", m1, "pred_info", "connection_info", "data_file", "path",
                         preds3, "pred_params", "pred_col", "p");
  register_entry(f, "predictions", pr, job);
  rec = validated(f, "predictions", job, "JOB_STATUS_SUCCEEDED", NULL);
  assert_string_equal(validity(rec), "VALIDITY_STATUS_VALID");
  assert_int_equal(json_integer_value(json_object_get(rec, "row_count")), 3);
  json_decref(rec);
  pr = json_pack("{s:s, s:s, s:{s:{s:{s:s}}, s:{s:s}}}", "dataset_id", good_id, "model_id", m2,
                 "pred_info", "connection_info", "data_file", "path", preds2, "pred_params",
                 "pred_col", "p");
  register_entry(f, "predictions", pr, job);
  rec = validated(f, "predictions", job, "JOB_STATUS_SUCCEEDED", NULL);
  assert_string_equal(validity(rec), "VALIDITY_STATUS_INVALID");
  assert_non_null(strstr(message(rec), "the predictions have 2 rows but dataset"));
  assert_non_null(strstr(message(rec), "has 3"));
  json_decref(rec);
  pr = json_pack("{s:s, s:s, s:{s:{s:{s:s}}}}", "dataset_id", good_id, "model_id", m3,
                 "pred_info", "connection_info", "data_file", "path", preds3);
  register_entry(f, "predictions", pr, job);
  rec = validated(f, "predictions", job, "JOB_STATUS_SUCCEEDED", NULL);
  assert_string_equal(validity(rec), "VALIDITY_STATUS_INVALID");
  assert_non_null(strstr(message(rec), "pred_col is not set"));
  json_decref(rec);
  pr = json_pack("{s:s, s:s, s:{s:{s:{s:s}}, s:{s:s}}}", "dataset_id", good_id, "model_id", m4,
                 "pred_info", "connection_info", "data_file", "path", preds3, "pred_params",
                 "pred_col", "score");
  register_entry(f, "predictions", pr, job);
  rec = validated(f, "predictions", job, "JOB_STATUS_SUCCEEDED", NULL);
  assert_string_equal(validity(rec), "VALIDITY_STATUS_INVALID");
  assert_non_null(strstr(message(rec), "pred_params.pred_col 'score' is not a column"));
  json_decref(rec);

  json_decref(ds);
  free(good);
  free(empty);
  free(preds3);
  free(preds2);
}

/* An internal failure (here: no scratch folder can be made) fails the job
 * and leaves the entry INVALID "validation failed: ...". */
static void validation_internal_failure(void **state) {
  fixture *f = *state;
  char scratch[4096];
  snprintf(scratch, sizeof scratch, "%s/scratch", f->home);
  FILE *fp = fopen(scratch, "w"); /* a file where the folder should be */
  assert_non_null(fp);
  fclose(fp);
  char *loc = upload_text(f, "i", "l.py", "import pandas as pd\ndef load():\n"
                                          "    return pd.DataFrame({'a': [1]})\n");
  char job[37];
  register_entry(f, "dataset", dataset_rec(loader_info(loc, "load", NULL, NULL)), job);
  json_t *j = NULL;
  json_t *rec = validated(f, "dataset", job, "JOB_STATUS_FAILED", &j);
  assert_null(rec); /* a failed job has no result naming the entry */
  assert_non_null(strstr(json_string_value(json_object_get(j, "error_msg")), "cannot create"));
  json_decref(j);
  /* the entry: INVALID with the reason */
  store *s = NULL;
  json_t *list = NULL;
  assert_int_equal(platform_store_acquire(f->p, &s), ASSAY_OK);
  assert_int_equal(s->ops->registry_list(s, "dataset", f->project, NULL, &list), ASSAY_OK);
  platform_store_release(f->p, s);
  assert_int_equal(json_array_size(list), 1);
  rec = json_array_get(list, 0);
  assert_string_equal(validity(rec), "VALIDITY_STATUS_INVALID");
  assert_non_null(strstr(message(rec), "validation failed: cannot create"));
  json_decref(list);
  free(loc);
}

/* The submitting user lacks a members-level value of the loader's
 * integration (cleared after registration): an INVALID verdict naming the
 * variable, not a failed job. */
static void validation_missing_credential(void **state) {
  fixture *f = *state;
  char path[256];
  snprintf(path, sizeof path, "/v1/workspaces/%s/integrations", f->ws);
  json_t *b = NULL;
  assert_int_equal(router_send(f->p, "POST", path, NULL, f->token,
                               "{\"name\": \"personal\", \"integration_type\": "
                               "\"INTEGRATION_TYPE_CUSTOM\", \"integration_schema\": "
                               "[{\"name\": \"MY_KEY\", \"sensitivity\": \"members\"}]}",
                               &b),
                   201);
  char *loc = upload_text(f, "m", "l.py", "import pandas as pd\ndef load(**kw):\n"
                                          "    return pd.DataFrame({'a': [1]})\n");
  json_t *info = loader_info(loc, "load", NULL, NULL);
  json_t *rec = json_pack("{s:o, s:s}", "data_info", info, "integration_id",
                          json_string_value(json_object_get(b, "integration_id")));
  char job[37];
  register_entry(f, "dataset", rec, job);
  rec = validated(f, "dataset", job, "JOB_STATUS_SUCCEEDED", NULL);
  assert_string_equal(validity(rec), "VALIDITY_STATUS_INVALID");
  assert_non_null(strstr(message(rec), "'MY_KEY' has no value for this user"));
  json_decref(rec);
  json_decref(b);
  free(loc);
}

/* grep -r for `needle` under dir: 1 when found. */
static int found_under(const char *dir, const char *needle) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "grep -r -a -q -F -e '%s' '%s'", needle, dir);
  return system(cmd) == 0;
}

/* A loader that needs a secret, prints it and fails with it in its message:
 * the entry is INVALID with the message redacted, and the secret is
 * nowhere under the home. A loader that succeeds with it is VALID. */
static void validation_with_secrets(void **state) {
  fixture *f = *state;
  char secret[80];
  char hex[33];
  for (int i = 0; i < 32; i++) hex[i] = "0123456789abcdef"[rand() % 16];
  hex[32] = '\0';
  snprintf(secret, sizeof secret, "s3cr3t-%s", hex);
  char path[256], body[1024];
  snprintf(path, sizeof path, "/v1/workspaces/%s/integrations", f->ws);
  snprintf(body, sizeof body,
           "{\"name\": \"source\", \"integration_type\": \"INTEGRATION_TYPE_CUSTOM\", "
           "\"integration_schema\": [{\"name\": \"TOKEN\", \"sensitivity\": \"workspace\", "
           "\"value\": \"%s\"}, {\"name\": \"HOST\", \"sensitivity\": \"not_sensitive\", "
           "\"value\": \"example\"}]}",
           secret);
  json_t *b = NULL;
  assert_int_equal(router_send(f->p, "POST", path, NULL, f->token, body, &b), 201);
  const char *integ = json_string_value(json_object_get(b, "integration_id"));

  char *leaky = upload_text(
    f, "sec", "leaky.py",
    "import sys\n"
    "def load(integration_dict):\n"
    "    tok = integration_dict['TOKEN']\n"
    "    print('connecting with', tok)\n"
    "    print('to', integration_dict['HOST'], file=sys.stderr)\n"
    "    raise RuntimeError('login refused for token ' + tok + ' at ' +\n"
    "                       integration_dict['HOST'])\n");
  char *fine = upload_text(f, "sec", "fine.py",
                           "import pandas as pd\n"
                           "def load(integration_dict, **kwargs):\n"
                           "    print('token is', integration_dict['TOKEN'])\n"
                           "    return pd.DataFrame({'n': [len(integration_dict['TOKEN'])]})\n");
  json_t *info = loader_info(leaky, "load", NULL, NULL);
  json_object_set_new(json_object_get(json_object_get(info, "connection_info"), "data_loading"),
                      "data_endpoint_integration_id", json_string(integ));
  char job[37];
  register_entry(f, "dataset", dataset_rec(info), job);
  json_t *j = NULL;
  json_t *rec = validated(f, "dataset", job, "JOB_STATUS_SUCCEEDED", &j);
  assert_string_equal(validity(rec), "VALIDITY_STATUS_INVALID");
  /* a not-sensitive value is no secret: it stays readable */
  if (!strstr(message(rec), "login refused for token [REDACTED] at example"))
    fprintf(stderr, "got: %s\n", message(rec));
  assert_non_null(strstr(message(rec), "login refused for token [REDACTED] at example"));
  assert_null(strstr(message(rec), secret));
  json_decref(rec);
  json_decref(j);

  /* the integration through the record's integration_id, a loader that works */
  info = loader_info(fine, "load", NULL, NULL);
  json_t *r2 = json_pack("{s:o, s:s}", "data_info", info, "integration_id", integ);
  register_entry(f, "dataset", r2, job);
  rec = validated(f, "dataset", job, "JOB_STATUS_SUCCEEDED", NULL);
  assert_string_equal(validity(rec), "VALIDITY_STATUS_VALID");
  assert_int_equal(json_integer_value(json_object_get(rec, "row_count")), 1);
  json_decref(rec);

  /* the log has the loader's output, redacted */
  char log[4096];
  snprintf(log, sizeof log, "%s/jobs/%s.log", f->home, job);
  assert_true(exists(log));
  assert_true(found_under(log, "token is [REDACTED]"));
  /* the secret is nowhere under the home but in the sealed store */
  char files[4096];
  snprintf(files, sizeof files, "%s", f->home);
  assert_false(found_under(files, secret));
  json_decref(b);
  free(leaky);
  free(fine);
}

/* --- the cache and members' own values ---------------------------------------------- */

/* A member of the fixture's workspace; its id in id, a token in token. */
static void add_member(fixture *f, const char *name, char id[37], char token[ASSAY_TOKEN_LEN]) {
  store *s = NULL;
  assert_int_equal(platform_store_acquire(f->p, &s), ASSAY_OK);
  int64_t now = assay__now();
  char tid[37];
  assay__uuid(id);
  int rc = s->ops->begin(s, 1);
  if (!rc) rc = s->ops->user_insert(s, id, name, name, 0, now);
  if (!rc) rc = s->ops->member_insert(s, f->ws, id, "WORKSPACE_ROLE_MEMBER");
  if (!rc) rc = token_mint(s, id, f->ws, "t", now + 3600, token, tid);
  if (!rc) rc = s->ops->commit(s);
  if (rc) fprintf(stderr, "add member: %s\n", assay_error_last()->message);
  assert_int_equal(rc, ASSAY_OK);
  platform_store_release(f->p, s);
}

/* Create an integration from its JSON body; its id (caller frees). */
static char *make_integration(fixture *f, const char *body) {
  char path[256];
  snprintf(path, sizeof path, "/v1/workspaces/%s/integrations", f->ws);
  json_t *b = NULL;
  assert_int_equal(router_send(f->p, "POST", path, NULL, f->token, body, &b), 201);
  char *id = strdup(json_string_value(json_object_get(b, "integration_id")));
  json_decref(b);
  return id;
}

static void set_credential(fixture *f, const char *integ, const char *token, const char *name,
                           const char *value) {
  char path[256], body[512];
  snprintf(path, sizeof path, "/v1/integrations/%s/credentials", integ);
  snprintf(body, sizeof body, "{\"credentials\": {\"%s\": \"%s\"}}", name, value);
  json_t *b = NULL;
  int st = router_send(f->p, "PUT", path, NULL, token, body, &b);
  if (st != 200 && st != 204) fprintf(stderr, "credentials: %d\n", st);
  assert_true(st == 200 || st == 204);
  json_decref(b);
}

static const char *keyed_loader =
  "import pandas as pd\n"
  "\n"
  "def load(counter, integration_dict):\n"
  "    with open(counter, 'a') as fh:\n"
  "        fh.write('called\\n')\n"
  "    return pd.DataFrame({'n': [len(integration_dict['KEY'])]})\n";

/* With a members-level variable each member's load is cached apart (the
 * second member calls the loader again and gets rows made with its own
 * value; a member without a value gets no cached rows but its error);
 * with only workspace and public values every user shares the entry. */
static void cache_kept_apart_per_member(void **state) {
  fixture *f = *state;
  char ann[37], bob[37], cid[37], ann_token[ASSAY_TOKEN_LEN], bob_token[ASSAY_TOKEN_LEN],
    cid_token[ASSAY_TOKEN_LEN];
  add_member(f, "ann", ann, ann_token);
  add_member(f, "bob", bob, bob_token);
  add_member(f, "cid", cid, cid_token);
  char *personal = make_integration(
    f, "{\"name\": \"personal\", \"integration_type\": \"INTEGRATION_TYPE_CUSTOM\", "
       "\"integration_schema\": [{\"name\": \"KEY\", \"sensitivity\": \"members\"}, "
       "{\"name\": \"HOST\", \"sensitivity\": \"not_sensitive\", \"value\": \"h\"}]}");
  set_credential(f, personal, ann_token, "KEY", "ann-key");            /* 7 bytes */
  set_credential(f, personal, bob_token, "KEY", "bob-key-which-is-longer"); /* 23 */
  char *shared = make_integration(
    f, "{\"name\": \"shared\", \"integration_type\": \"INTEGRATION_TYPE_CUSTOM\", "
       "\"integration_schema\": [{\"name\": \"KEY\", \"sensitivity\": \"workspace\", "
       "\"value\": \"the-workspace-key\"}, {\"name\": \"HOST\", \"sensitivity\": "
       "\"not_sensitive\", \"value\": \"h\"}]}");

  char counter[4096];
  snprintf(counter, sizeof counter, "%s/keyed.txt", f->work);
  char *loc = upload_text(f, "keyed", "keyed.py", keyed_loader);
  json_t *info = loader_info(loc, "load", json_pack("{s:s}", "counter", counter), NULL);
  json_object_set_new(json_object_get(json_object_get(info, "connection_info"), "data_loading"),
                      "data_endpoint_integration_id", json_string(personal));
  const char *id = "66666666-0000-0000-0000-000000000006";
  frame *fr = NULL;
  int cached = -1;

  assert_int_equal(do_load_as(f, ann, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  assert_int_equal(((const int64_t *)frame_col(fr, "n")->values)[0], 7);
  frame_free(fr);
  assert_int_equal(do_load_as(f, ann, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 1);
  frame_free(fr);
  assert_int_equal(count_lines(counter), 1);
  /* bob: his own load, with his own value */
  assert_int_equal(do_load_as(f, bob, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  assert_int_equal(count_lines(counter), 2);
  assert_int_equal(((const int64_t *)frame_col(fr, "n")->values)[0], 23);
  frame_free(fr);
  assert_int_equal(do_load_as(f, bob, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 1);
  assert_int_equal(((const int64_t *)frame_col(fr, "n")->values)[0], 23);
  frame_free(fr);
  assert_int_equal(do_load_as(f, ann, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 1);
  assert_int_equal(((const int64_t *)frame_col(fr, "n")->values)[0], 7);
  frame_free(fr);
  assert_int_equal(count_lines(counter), 2);
  /* cid has no value: no cached rows of another member, the missing value */
  load_request req = {.dataset_id = id, .workspace_id = f->ws, .user_id = cid, .info = info,
                      .use_cache = 1};
  assert_int_equal(dataset_load(f->p, &req, &fr, &cached), ASSAY_ERR_CONFIG);
  assert_null(fr);
  assert_non_null(strstr(assay_error_last()->message, "KEY"));
  assert_int_equal(count_lines(counter), 2);
  /* the two cache paths differ */
  char *pa = NULL, *pb = NULL;
  req.user_id = ann;
  assert_int_equal(dataset_cache_path(f->p, &req, &pa), ASSAY_OK);
  req.user_id = bob;
  assert_int_equal(dataset_cache_path(f->p, &req, &pb), ASSAY_OK);
  assert_string_not_equal(pa, pb);
  free(pa);
  free(pb);
  json_decref(info);

  /* only workspace and public values: one entry for everybody */
  info = loader_info(loc, "load", json_pack("{s:s}", "counter", counter), NULL);
  json_object_set_new(json_object_get(json_object_get(info, "connection_info"), "data_loading"),
                      "data_endpoint_integration_id", json_string(shared));
  assert_int_equal(do_load_as(f, ann, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 0);
  assert_int_equal(((const int64_t *)frame_col(fr, "n")->values)[0], 17);
  frame_free(fr);
  assert_int_equal(count_lines(counter), 3);
  assert_int_equal(do_load_as(f, bob, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 1);
  frame_free(fr);
  assert_int_equal(do_load_as(f, cid, id, info, NULL, 1, &fr, &cached), ASSAY_OK);
  assert_int_equal(cached, 1);
  frame_free(fr);
  assert_int_equal(count_lines(counter), 3);
  json_decref(info);
  free(loc);
  free(personal);
  free(shared);
}

/* --- stopping and stale validations ----------------------------------------------------- */

static json_t *job_rec(fixture *f, const char *job_id) {
  store *s = NULL;
  json_t *job = NULL;
  assert_int_equal(platform_store_acquire(f->p, &s), ASSAY_OK);
  assert_int_equal(s->ops->job_get(s, job_id, &job), ASSAY_OK);
  platform_store_release(f->p, s);
  return job;
}

static json_t *entry_rec(fixture *f, const char *kind, const char *id) {
  store *s = NULL;
  json_t *rec = NULL;
  assert_int_equal(platform_store_acquire(f->p, &s), ASSAY_OK);
  assert_int_equal(s->ops->registry_get(s, kind, id, &rec), ASSAY_OK);
  platform_store_release(f->p, s);
  return rec;
}

/* The entry a validation job validates (caller frees). */
static char *entry_of(fixture *f, const char *job_id) {
  json_t *job = job_rec(f, job_id);
  char *id = strdup(json_string_value(json_object_get(json_object_get(job, "request"), "id")));
  json_decref(job);
  return id;
}

static void reopen(fixture *f, int workers) {
  assay_platform_options o = ASSAY_PLATFORM_OPTIONS_INIT;
  o.home = f->home;
  o.workers = workers;
  o.loader_timeout = 60;
  f->p = NULL;
  assert_int_equal(assay_platform_open_with(&f->p, &o), ASSAY_OK);
}

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Is a live process running the runner script of `home` (an argument under
 * <home>/runtime/)? Waits up to 2 s for none to be left. */
static int runs_script_of(const char *home) {
  char prefix[4200];
  snprintf(prefix, sizeof prefix, "%s/runtime/", home);
  for (int round = 0;; round++) {
    int found = 0;
    DIR *d = opendir("/proc");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
      char path[300], buf[8192];
      snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      ssize_t n = read(fd, buf, sizeof buf - 1);
      close(fd);
      if (n <= 0) continue; /* a zombie has none */
      buf[n] = '\0';
      for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
        found |= strncmp(buf + i, prefix, strlen(prefix)) == 0;
    }
    closedir(d);
    if (!found || round >= 40) return found;
    sleep_ms(50);
  }
}

static const char *sleepy_loader =
  "import os, time\n"
  "import pandas as pd\n"
  "\n"
  "def load(marker, started):\n"
  "    with open(started, 'a') as fh:\n"
  "        fh.write('%d\\n' % os.getpid())\n"
  "    if os.path.exists(marker):\n"
  "        time.sleep(60)\n"
  "    return pd.DataFrame({'label': [0, 1, 1], 'x': [1.0, 2.0, 3.0]})\n";

/* Freeing the platform while a loader sleeps returns at once; the job is
 * PENDING again (not FAILED, started_at cleared), the dataset stays
 * PENDING with no message, and the next platform on the home validates it
 * (here the loader no longer sleeps): VALID. */
static void stop_interrupts_a_long_loader(void **state) {
  fixture *f = *state;
  char marker[4096], started[4096];
  snprintf(marker, sizeof marker, "%s/sleep-marker", f->work);
  snprintf(started, sizeof started, "%s/started.txt", f->work);
  FILE *fp = fopen(marker, "w");
  assert_non_null(fp);
  fclose(fp);
  char *loc = upload_text(f, "slow", "sleepy.py", sleepy_loader);
  json_t *info = loader_info(loc, "load", json_pack("{s:s, s:s}", "marker", marker, "started",
                                                     started),
                             "{\"label_col\": \"label\"}");
  char job[37];
  register_entry(f, "dataset", dataset_rec(info), job);
  char *id = entry_of(f, job);
  for (int i = 0; i < 1500 && count_lines(started) < 1; i++) sleep_ms(20);
  assert_int_equal(count_lines(started), 1);
  FILE *sp = fopen(started, "r");
  assert_non_null(sp);
  int pid = 0;
  assert_int_equal(fscanf(sp, "%d", &pid), 1);
  fclose(sp);

  double t0 = mono_s();
  assay_platform_free(f->p);
  double took = mono_s() - t0;
  f->p = NULL;
  if (took > 5.0) fail_msg("freeing the platform took %.1f s", took);
  /* the loader's process is gone: no live process runs this home's runner
   * script (the pid the loader wrote is its pid in its own namespace) */
  (void)pid;
  assert_false(runs_script_of(f->home));

  reopen(f, 0);
  json_t *j = job_rec(f, job);
  assert_string_equal(json_string_value(json_object_get(j, "status")), "JOB_STATUS_PENDING");
  assert_true(json_is_null(json_object_get(j, "started_at")));
  assert_true(json_is_null(json_object_get(j, "owner")));
  assert_true(json_is_null(json_object_get(j, "error_msg")));
  json_decref(j);
  json_t *rec = entry_rec(f, "dataset", id);
  assert_string_equal(validity(rec), "VALIDITY_STATUS_PENDING");
  assert_null(message(rec));
  assert_false(json_is_integer(json_object_get(rec, "row_count")));
  json_decref(rec);
  char log[4096];
  snprintf(log, sizeof log, "%s/jobs/%s.log", f->home, job);
  assert_true(found_under(log, "interrupted: the platform is stopping"));
  assert_true(found_under(log, "stays VALIDITY_STATUS_PENDING"));
  assert_false(found_under(log, "[assay] failed"));
  assert_false(found_under(log, "without a result"));
  /* nothing cached, no scratch left */
  char *dir = cache_dir(f, id);
  assert_false(exists(dir));
  free(dir);
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s/scratch' 2>/dev/null)\"", f->home);
  assert_int_equal(system(cmd), 0);

  /* resumed by the next platform with workers */
  assert_int_equal(unlink(marker), 0);
  assay_platform_free(f->p);
  reopen(f, 1);
  rec = validated(f, "dataset", job, "JOB_STATUS_SUCCEEDED", NULL);
  assert_string_equal(validity(rec), "VALIDITY_STATUS_VALID");
  assert_int_equal(json_integer_value(json_object_get(rec, "row_count")), 3);
  json_decref(rec);
  assert_int_equal(count_lines(started), 2);
  free(id);
  free(loc);
}

/* Force a record's validity (as a verdict recorded just before the
 * process died would). */
static void set_validity(fixture *f, const char *kind, const char *id, const char *status) {
  store *s = NULL;
  json_t *rec = NULL;
  assert_int_equal(platform_store_acquire(f->p, &s), ASSAY_OK);
  assert_int_equal(s->ops->begin(s, 1), ASSAY_OK);
  assert_int_equal(s->ops->registry_get(s, kind, id, &rec), ASSAY_OK);
  json_object_set_new(rec, "validity_status", json_string(status));
  json_object_set_new(rec, "row_count", json_integer(3));
  assert_int_equal(s->ops->registry_update(s, kind, rec), ASSAY_OK);
  assert_int_equal(s->ops->commit(s), ASSAY_OK);
  platform_store_release(f->p, s);
  json_decref(rec);
}

/* Claim the next pending job as a process that died long ago. */
static void claim_as_dead(fixture *f, const char *want) {
  store *s = NULL;
  json_t *j = NULL;
  assert_int_equal(platform_store_acquire(f->p, &s), ASSAY_OK);
  assert_int_equal(s->ops->begin(s, 1), ASSAY_OK);
  assert_int_equal(s->ops->job_claim(s, "a-dead-process", assay__now() - JOBS_STALE_S - 60, &j),
                   ASSAY_OK);
  assert_int_equal(s->ops->commit(s), ASSAY_OK);
  platform_store_release(f->p, s);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "job_id")), want);
  json_decref(j);
}

/* Validation jobs whose process died (faked old heartbeat): failed as
 * stale by the next platform with workers, and their entries, still
 * PENDING, become INVALID saying so; an entry whose verdict was recorded
 * already keeps it. */
static void stale_validation_leaves_entry_invalid(void **state) {
  fixture *f = *state; /* no workers yet */
  char *csv = upload_text(f, "st", "d.csv", "label\n1\n0\n1\n");
  char *preds = upload_text(f, "st", "p.csv", "p\n0.1\n0.2\n0.3\n");
  char job_ds[37], job_done[37], job_pr[37], model[37];
  register_entry(f, "dataset", dataset_rec(file_info(csv, NULL)), job_ds);
  register_entry(f, "dataset", dataset_rec(file_info(csv, NULL)), job_done);
  char *ds = entry_of(f, job_ds), *done = entry_of(f, job_done);
  register_model(f, model);
  register_entry(f, "predictions",
                 json_pack("{s:s, s:s, s:{s:{s:{s:s}}, s:{s:s}}}", "dataset_id", ds, "model_id",
                           model, "pred_info", "connection_info", "data_file", "path", preds,
                           "pred_params", "pred_col", "p"),
                 job_pr);
  char *pr = entry_of(f, job_pr);
  claim_as_dead(f, job_ds);
  claim_as_dead(f, job_done);
  claim_as_dead(f, job_pr);
  set_validity(f, "dataset", done, "VALIDITY_STATUS_VALID");

  assert_int_equal(jobs_start(f->p, 1), ASSAY_OK);
  const char *jobs[] = {job_ds, job_done, job_pr};
  for (int i = 0; i < 3; i++) {
    json_t *j = NULL;
    for (int k = 0; k < 500; k++) {
      j = job_rec(f, jobs[i]);
      if (strcmp(json_string_value(json_object_get(j, "status")), "JOB_STATUS_FAILED") == 0)
        break;
      json_decref(j);
      j = NULL;
      sleep_ms(20);
    }
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "error_msg")),
                        "the platform process running this job stopped");
    json_decref(j);
  }
  json_t *rec = entry_rec(f, "dataset", ds);
  assert_string_equal(validity(rec), "VALIDITY_STATUS_INVALID");
  char want[256];
  snprintf(want, sizeof want,
           "validation did not finish: the platform process running it stopped (job %s); "
           "delete the dataset and register it again",
           job_ds);
  assert_string_equal(message(rec), want);
  assert_true(json_is_null(json_object_get(rec, "row_count")));
  json_decref(rec);
  rec = entry_rec(f, "predictions", pr);
  assert_string_equal(validity(rec), "VALIDITY_STATUS_INVALID");
  assert_non_null(strstr(message(rec), "delete the prediction set and register it again"));
  json_decref(rec);
  rec = entry_rec(f, "dataset", done);
  assert_string_equal(validity(rec), "VALIDITY_STATUS_VALID");
  assert_int_equal(json_integer_value(json_object_get(rec, "row_count")), 3);
  json_decref(rec);
  free(ds);
  free(done);
  free(pr);
  free(csv);
  free(preds);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(csv_load_and_cache, setup, teardown),
    cmocka_unit_test_setup_teardown(csv_loading_kwargs, setup, teardown),
    cmocka_unit_test_setup_teardown(loader_cache, setup, teardown),
    cmocka_unit_test_setup_teardown(loader_folder_in_cache_key, setup, teardown),
    cmocka_unit_test_setup_teardown(loader_failure_is_not_cached, setup, teardown),
    cmocka_unit_test_setup_teardown(parquet_through_the_runner, setup, teardown),
    cmocka_unit_test_setup_teardown(validation_verdicts, setup, teardown),
    cmocka_unit_test_setup_teardown(validation_internal_failure, setup, teardown),
    cmocka_unit_test_setup_teardown(validation_missing_credential, setup, teardown),
    cmocka_unit_test_setup_teardown(validation_with_secrets, setup, teardown),
    cmocka_unit_test_setup_teardown(cache_kept_apart_per_member, setup, teardown),
    cmocka_unit_test_setup_teardown(stop_interrupts_a_long_loader, setup, teardown),
    cmocka_unit_test_setup_teardown(stale_validation_leaves_entry_invalid, setup_idle, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
