/* test_stress_job.c — stress tests as jobs, and their stored results,
 * through the router with real bearer tokens and through the C client:
 *   - starting a run: config, model, datasets and predictions checked at
 *     once (typed errors naming what is wrong), roles, nothing queued on a
 *     refusal; bounded lists of names refused at once, the config checked
 *     outside the write transaction (answered while another connection
 *     holds the write lock);
 *   - the job's life: PENDING -> RUNNING (progress reported, monotonic,
 *     ending done == total) -> SUCCEEDED with {test_run_id};
 *   - the result routes' shapes: summary, document, the flat result row,
 *     test case rows (with and without metrics, filtered by test type),
 *     category rows, batches, one batch, the report; unknown ids and test
 *     types; other workspaces see nothing;
 *   - cancelling: a pending job at once, a running one (the engine itself
 *     noticing the flag mid-run), one running in another platform process
 *     (cancel_requested seen within about a second), a finished one
 *     refused, roles; a cancelled validation job (entry INVALID saying so);
 *   - a platform stopping mid-run: the job is requeued and the next
 *     platform finishes it (one run stored);
 *   - listing a project's jobs with status and type filters;
 *   - a project's stress-test categories (defaults, update, used by runs);
 *   - where predictions come from: the dataset's pred_col, a registered
 *     prediction set (also a multiclass one with an array of probability
 *     columns), the model file run by the runner;
 *   - the client functions of assay/client.h on the embedded transport. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "assay/client.h"
#include "internal.h"
#include "platform/jobs.h"
#include "platform/platform.h"
#include "platform/router.h"
#include "test_support.h"

enum { WADMIN, MEMBER, MEMBER2, VIEWER, OUTSIDER, N_USERS };
static const char *const caller_names[N_USERS] = {"workspace admin", "member", "member 2",
                                                  "viewer", "outsider"};

typedef struct fixture {
  char *home;
  assay_platform *p;
  char ws[37], other_ws[37];
  char user[N_USERS][37];
  char token[N_USERS][ASSAY_TOKEN_LEN];
  char project[37], model[37], ref[37], eval[37];
} fixture;

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static double now_secs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- requests ---------------------------------------------------------------------------- */

#define jf test_jsonf /* JSON from printf-formatted text (test_support.h) */

/* Send `body` (stolen; may be NULL) as `who` through platform p and expect
 * `status`; the answer (caller decrefs). */
static json_t *callp(fixture *f, assay_platform *p, int status, const char *method,
                     const char *path, const char *query, int who, json_t *body) {
  return router_expect(p, status, method, path, query, f->token[who], caller_names[who], body);
}

static json_t *callq(fixture *f, int status, const char *method, const char *path,
                     const char *query, int who, json_t *body) {
  return callp(f, f->p, status, method, path, query, who, body);
}

static json_t *call(fixture *f, int status, const char *method, const char *path, int who,
                    json_t *body) {
  return callq(f, status, method, path, NULL, who, body);
}

/* An error answer: status, error name and fragments of its message. */
static void call_errq(fixture *f, int status, const char *name, const char *frag1,
                      const char *frag2, const char *method, const char *path,
                      const char *query, int who, json_t *body) {
  expect_error_answer(callq(f, status, method, path, query, who, body), name, frag1, frag2,
                      method, path);
}

static void call_err(fixture *f, int status, const char *name, const char *frag1,
                     const char *frag2, const char *method, const char *path, int who,
                     json_t *body) {
  call_errq(f, status, name, frag1, frag2, method, path, NULL, who, body);
}

static const char *str(const json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

/* "/v1/<a>/<b>[/<c>]" in one of a few rotating buffers. */
static char *pathf(const char *fmt, ...) {
  static char path[8][512];
  static int next;
  char *p = path[next++ % 8];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p, 512, fmt, ap);
  va_end(ap);
  return p;
}

/* Upload `content` as <folder>/<name>; its location. */
static char *upload(fixture *f, int who, const char *folder, const char *name,
                    const char *content) {
  char query[512];
  snprintf(query, sizeof query, "name=%s&upload_path=%s", name, folder);
  json_t *r = NULL;
  int got = router_send(f->p, "PUT", "/v1/files", query, f->token[who], content, &r);
  if (got != 201) fail_msg("upload %s/%s: %d", folder, name, got);
  char *loc = strdup(str(r, "location"));
  json_decref(r);
  return loc;
}

/* --- data ---------------------------------------------------------------------------------- */

static uint64_t rng_state;
static double uniform(void) {
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* A binary classification CSV: x1, x2 (numeric), c (categorical), y
 * (label), p (the model's probability); `shift` moves x1. */
static char *binary_csv(int rows, double shift, uint64_t seed) {
  rng_state = seed;
  size_t cap = (size_t)rows * 64 + 64, len = 0;
  char *t = malloc(cap);
  len += (size_t)snprintf(t, cap, "x1,x2,c,y,p\n");
  static const char *const cats[] = {"a", "b", "c"};
  for (int i = 0; i < rows; i++) {
    double x1 = uniform() * 10 + shift, x2 = uniform() * 5;
    double p = 1.0 / (1.0 + exp(-(x1 - 5.0 - shift) * 0.8));
    int y = uniform() < p ? 1 : 0;
    len += (size_t)snprintf(t + len, cap - len, "%.4f,%.4f,%s,%d,%.6f\n", x1, x2,
                            cats[(int)(uniform() * 3)], y, p);
  }
  return t;
}

/* --- the fixture ---------------------------------------------------------------------------- */

/* The job's record once it has left PENDING/RUNNING (or `want` is seen). */
static json_t *wait_job_p(fixture *f, assay_platform *p, const char *job_id, const char *want,
                          double secs) {
  double until = now_secs() + secs;
  for (;;) {
    json_t *j = callp(f, p, 200, "GET", pathf("/v1/jobs/%s", job_id), NULL, MEMBER, NULL);
    const char *s = str(j, "status");
    if (want ? strcmp(s, want) == 0
             : strcmp(s, "JOB_STATUS_PENDING") != 0 && strcmp(s, "JOB_STATUS_RUNNING") != 0)
      return j;
    if (now_secs() > until) {
      char *text = json_dumps(j, 0);
      fail_msg("job %s: still %s after %.0f s (waiting for %s): %s", job_id, s, secs,
               want ? want : "its end", text);
    }
    json_decref(j);
    sleep_ms(20);
  }
}

static json_t *wait_job(fixture *f, const char *job_id) {
  return wait_job_p(f, f->p, job_id, NULL, 120);
}

/* Register a dataset (validated, waited for) of `location`; its id. */
static void make_dataset(fixture *f, const char *project, const char *name, const char *location,
                         const char *params, char id[37]) {
  json_t *b = call(f, 201, "POST", pathf("/v1/projects/%s/datasets", project), MEMBER,
                   jf("{\"name\":\"%s\",\"data_info\":{\"connection_info\":{\"data_file\":"
                      "{\"path\":\"%s\"}},\"data_params\":%s}}",
                      name, location, params));
  snprintf(id, 37, "%s", str(b, "dataset_id"));
  json_t *j = wait_job(f, str(b, "validation_job_id"));
  json_decref(j);
  json_decref(b);
}

static void make_model(fixture *f, const char *project, const char *name, const char *info,
                       char id[37]) {
  json_t *b = call(f, 201, "POST", pathf("/v1/projects/%s/models", project), MEMBER,
                   jf("{\"name\":\"%s\",\"model_info\":%s}", name, info));
  snprintf(id, 37, "%s", str(b, "model_id"));
  json_decref(b);
}

static void make_project(fixture *f, const char *name, const char *task, char id[37]) {
  json_t *b = call(f, 201, "POST", "/v1/projects", MEMBER,
                   json_pack("{s:s, s:s, s:s}", "name", name, "description", "", "model_task",
                             task));
  snprintf(id, 37, "%s", str(b, "project_id"));
  json_decref(b);
}

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
  store *s = NULL;
  if (platform_store_acquire(f->p, &s) != ASSAY_OK) return -1;
  static const test_person people[] = {
    {WADMIN, "WORKSPACE_ROLE_ADMIN", 0},   {MEMBER, "WORKSPACE_ROLE_MEMBER", 0},
    {MEMBER2, "WORKSPACE_ROLE_MEMBER", 0}, {VIEWER, "WORKSPACE_ROLE_VIEWER", 0},
    {OUTSIDER, "WORKSPACE_ROLE_ADMIN", 1},
  };
  int rc = s->ops->begin(s, 1);
  if (!rc)
    rc = test_seed_people(s, assay__now(), f->ws, f->other_ws, people,
                          sizeof people / sizeof people[0], caller_names, f->user, f->token);
  if (!rc) rc = s->ops->commit(s);
  if (rc) {
    s->ops->rollback(s);
    fprintf(stderr, "setup: %s\n", assay_error_last()->message);
  }
  platform_store_release(f->p, s);
  if (rc) return -1;
  *state = f;

  make_project(f, "fraud", "MODEL_TASK_BINARY_CLASSIFICATION", f->project);
  char *ref = binary_csv(400, 0, 1), *eval = binary_csv(400, 3.0, 2);
  char *ref_loc = upload(f, MEMBER, "data", "ref.csv", ref);
  char *eval_loc = upload(f, MEMBER, "data", "eval.csv", eval);
  free(ref);
  free(eval);
  const char *params = "{\"label_col\":\"y\",\"pred_col\":\"p\"}";
  make_dataset(f, f->project, "reference", ref_loc, params, f->ref);
  make_dataset(f, f->project, "evaluation", eval_loc, params, f->eval);
  free(ref_loc);
  free(eval_loc);
  make_model(f, f->project, "model", "null", f->model);
  return 0;
}

static int setup(void **state) { return open_fixture(state, 1); }

static int teardown(void **state) {
  fixture *f = *state;
  stress_job_test_hook = NULL;
  assay_platform_free(f->p);
  rm_home(f->home);
  free(f);
  return 0;
}

/* A test_run_config of the fixture's model and datasets, plus `extra`
 * (",\"key\": ..." or ""). */
static json_t *config(fixture *f, const char *name, const char *extra) {
  return jf("{\"run_name\":\"%s\",\"model_id\":\"%s\",\"data_info\":{\"ref_dataset_id\":\"%s\","
            "\"eval_dataset_id\":\"%s\"}%s}",
            name, f->model, f->ref, f->eval, extra);
}

/* Start a run as MEMBER; the job's id. */
static void start(fixture *f, json_t *cfg, char job_id[37]) {
  json_t *b = call(f, 202, "POST", pathf("/v1/projects/%s/stress-tests", f->project), MEMBER,
                   cfg);
  assert_string_equal(str(b, "job_type"), "JOB_TYPE_STRESS_TEST");
  snprintf(job_id, 37, "%s", str(b, "job_id"));
  json_decref(b);
}

/* Run to the end; the test run's id (the job must succeed). */
static void run_to_end(fixture *f, json_t *cfg, char run_id[37]) {
  char job[37];
  start(f, cfg, job);
  json_t *j = wait_job(f, job);
  if (strcmp(str(j, "status"), "JOB_STATUS_SUCCEEDED") != 0) {
    char *text = json_dumps(j, 0);
    fail_msg("the stress test job did not succeed: %s", text);
  }
  snprintf(run_id, 37, "%s", str(json_object_get(j, "result"), "test_run_id"));
  assert_int_equal(strlen(run_id), 36);
  json_decref(j);
}

/* The job's log. */
static char *job_log(fixture *f, const char *job_id) {
  json_t *b = call(f, 200, "GET", pathf("/v1/jobs/%s/log", job_id), MEMBER, NULL);
  char *log = strdup(str(b, "log"));
  json_decref(b);
  return log;
}

/* --- test hooks ------------------------------------------------------------------------- */

static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static int hook_ready;            /* the job reached "ready" */
static int hook_hold;             /* hold at "ready" until released or the job's flag */
static int hook_progress[512][2]; /* progress reports seen */
static int hook_nprogress;
/* cancel through the router at the first progress report with done >= 1 */
static fixture *hook_cancel_fixture;
static char hook_cancel_job[37];
static int hook_cancel_status;

static void hook(job_ctx *j, const char *stage, int done, int total) {
  if (strcmp(stage, "ready") == 0) {
    __atomic_store_n(&hook_ready, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 3000 && __atomic_load_n(&hook_hold, __ATOMIC_ACQUIRE); i++) {
      if (__atomic_load_n(j->cancel, __ATOMIC_ACQUIRE)) break;
      sleep_ms(10);
    }
    return;
  }
  pthread_mutex_lock(&hook_lock);
  if (hook_nprogress < 512) {
    hook_progress[hook_nprogress][0] = done;
    hook_progress[hook_nprogress][1] = total;
    hook_nprogress++;
  }
  fixture *f = hook_cancel_fixture;
  if (f && done >= 1 && !hook_cancel_status) {
    hook_cancel_status = -1;
    pthread_mutex_unlock(&hook_lock);
    json_t *b = NULL;
    int got = router_send(f->p, "POST", pathf("/v1/jobs/%s/cancel", hook_cancel_job), NULL,
                          f->token[MEMBER], NULL, &b);
    json_decref(b);
    pthread_mutex_lock(&hook_lock);
    hook_cancel_status = got;
  }
  pthread_mutex_unlock(&hook_lock);
}

static void hook_reset(int hold) {
  pthread_mutex_lock(&hook_lock);
  hook_nprogress = 0;
  hook_cancel_fixture = NULL;
  hook_cancel_job[0] = '\0';
  hook_cancel_status = 0;
  pthread_mutex_unlock(&hook_lock);
  __atomic_store_n(&hook_ready, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&hook_hold, hold, __ATOMIC_RELEASE);
  stress_job_test_hook = hook;
}

static void wait_ready(void) {
  for (int i = 0; i < 6000 && !__atomic_load_n(&hook_ready, __ATOMIC_ACQUIRE); i++) sleep_ms(10);
  assert_int_equal(__atomic_load_n(&hook_ready, __ATOMIC_ACQUIRE), 1);
}

/* --- starting a run ------------------------------------------------------------------------ */

static long long stress_jobs(fixture *f) {
  json_t *b = callq(f, 200, "GET", pathf("/v1/projects/%s/jobs", f->project),
                    "job_type=JOB_TYPE_STRESS_TEST", MEMBER, NULL);
  long long n = (long long)json_array_size(json_object_get(b, "jobs"));
  json_decref(b);
  return n;
}

static void start_refusals(void **state) {
  fixture *f = *state;
  const char *path = pathf("/v1/projects/%s/stress-tests", f->project);
  char route[512];
  snprintf(route, sizeof route, "%s", path);
  call_err(f, 404, "NotFoundError", "project", NULL, "POST", "/v1/projects/nope/stress-tests",
           MEMBER, config(f, "r", ""));
  call_err(f, 404, "NotFoundError", NULL, NULL, "POST", route, OUTSIDER, config(f, "r", ""));
  call_err(f, 403, "PermissionDeniedError", "WORKSPACE_ROLE_MEMBER", NULL, "POST", route, VIEWER,
           config(f, "r", ""));
  json_t *b = NULL;
  json_t *cfg = config(f, "r", "");
  char *text = json_dumps(cfg, JSON_COMPACT);
  json_decref(cfg);
  assert_int_equal(router_send(f->p, "POST", route, NULL, NULL, text, &b), 401);
  json_decref(b);
  /* the config: its own messages name the key */
  call_err(f, 400, "ConfigError", "model_id", NULL, "POST", route, MEMBER,
           jf("{\"run_name\":\"r\",\"data_info\":{\"ref_dataset_id\":\"%s\","
              "\"eval_dataset_id\":\"%s\"}}",
              f->ref, f->eval));
  call_err(f, 400, "ConfigError", "colour", "run_name", "POST", route, MEMBER,
           config(f, "r", ",\"colour\":1"));
  call_err(f, 400, "ConfigError", "TEST_CATEGORY_TYPE_NOPE", "TEST_CATEGORY_TYPE_DRIFT", "POST",
           route, MEMBER, config(f, "r", ",\"categories\":[\"TEST_CATEGORY_TYPE_NOPE\"]"));
  call_err(f, 400, "ConfigError", "no_such_test", "numeric_feature_drift", "POST", route,
           MEMBER,
           config(f, "r", ",\"test_suite_config\":{\"individual_tests_config\":"
                          "{\"no_such_test\":{}}}"));
  call_err(f, 400, "ConfigError", "JSON object", NULL, "POST", route, MEMBER, jf("[1]"));
  /* the model and datasets must be entries of the project */
  call_err(f, 404, "NotFoundError", "model_id: model 'nope' not found in project", f->project,
           "POST", route, MEMBER,
           jf("{\"run_name\":\"r\",\"model_id\":\"nope\",\"data_info\":{\"ref_dataset_id\":"
              "\"%s\",\"eval_dataset_id\":\"%s\"}}",
              f->ref, f->eval));
  char other[37], elsewhere[37];
  make_project(f, "other", "MODEL_TASK_BINARY_CLASSIFICATION", other);
  char *loc = upload(f, MEMBER, "other", "d.csv", "x1,y\n1,0\n2,1\n");
  make_dataset(f, other, "there", loc, "{\"label_col\":\"y\"}", elsewhere);
  call_err(f, 404, "NotFoundError", "data_info.eval_dataset_id: dataset", elsewhere, "POST",
           route, MEMBER,
           jf("{\"run_name\":\"r\",\"model_id\":\"%s\",\"data_info\":{\"ref_dataset_id\":"
              "\"%s\",\"eval_dataset_id\":\"%s\"}}",
              f->model, f->ref, elsewhere));
  /* an INVALID dataset: refused with its reason */
  char bad[37];
  make_dataset(f, f->project, "bad", loc, "{\"label_col\":\"zz\"}", bad);
  free(loc);
  call_err(f, 400, "ConfigError", "data_info.ref_dataset_id: dataset 'bad'",
           "VALIDITY_STATUS_INVALID: data_params.label_col 'zz' is not a column", "POST", route,
           MEMBER,
           jf("{\"run_name\":\"r\",\"model_id\":\"%s\",\"data_info\":{\"ref_dataset_id\":"
              "\"%s\",\"eval_dataset_id\":\"%s\"}}",
              f->model, bad, f->eval));
  /* INVALID predictions of the model on a dataset: refused too */
  char *ploc = upload(f, MEMBER, "preds", "p.csv", "q\n0.5\n");
  b = call(f, 201, "POST", pathf("/v1/projects/%s/predictions", f->project), MEMBER,
           jf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"pred_info\":{\"connection_info\":"
              "{\"data_file\":{\"path\":\"%s\"}},\"pred_params\":{\"pred_col\":\"score\"}}}",
              f->eval, f->model, ploc));
  free(ploc);
  char pred_id[37];
  snprintf(pred_id, sizeof pred_id, "%s", str(b, "prediction_id"));
  json_decref(wait_job(f, str(b, "validation_job_id")));
  json_decref(b);
  call_err(f, 400, "ConfigError", "data_info.eval_dataset_id: the predictions of model",
           "VALIDITY_STATUS_INVALID", "POST", route, MEMBER, config(f, "r", ""));
  json_decref(call(f, 204, "DELETE", pathf("/v1/predictions/%s", pred_id), MEMBER, NULL));
  /* no refusal queued anything */
  assert_int_equal(stress_jobs(f), 0);
  free(text);
}

/* --- large configs and the write lock ----------------------------------------------------- */

/* n column names "c0".."c<n-1>". */
static json_t *column_names(int n) {
  json_t *a = json_array();
  for (int i = 0; a && i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "c%d", i);
    json_array_append_new(a, json_string(name));
  }
  return a;
}

static json_t *config_excluding(fixture *f, const char *name, int n) {
  json_t *cfg = config(f, name, "");
  json_object_set_new(cfg, "test_suite_config",
                      json_pack("{s:o}", "global_exclude_columns", column_names(n)));
  return cfg;
}

/* A start request sent from another thread. */
typedef struct start_call {
  fixture *f;
  const char *route;
  char *body;
  int status, done;
  json_t *answer;
} start_call;

static void *start_thread(void *arg) {
  start_call *c = arg;
  c->status = router_send(c->f->p, "POST", c->route, NULL, c->f->token[MEMBER], c->body,
                          &c->answer);
  __atomic_store_n(&c->done, 1, __ATOMIC_RELEASE);
  return NULL;
}

/* The security review's probe: 120,000 excluded columns held the database
 * write lock for half a minute (a quadratic duplicate check inside the
 * start route's write transaction). Lists are bounded and checked in
 * O(n log n), and the config is checked before the write transaction: a
 * config refused is answered while another connection holds the write
 * lock, and one at the bound starts at once. */
static void large_configs(void **state) {
  fixture *f = *state;
  char route[512];
  snprintf(route, sizeof route, "/v1/projects/%s/stress-tests", f->project);
  double t0 = now_secs();
  call_err(f, 400, "ConfigError",
           "test_run_config.test_suite_config.global_exclude_columns: expected at most 10000 "
           "column names",
           "got 120000", "POST", route, MEMBER, config_excluding(f, "huge", 120000));
  if (now_secs() - t0 > 2.0) fail_msg("refusing 120,000 names took %.2f s", now_secs() - t0);

  /* a refusal does not wait for the write lock */
  store *s = NULL;
  assert_int_equal(platform_store_acquire(f->p, &s), ASSAY_OK);
  assert_int_equal(s->ops->begin(s, 1), ASSAY_OK);
  json_t *cfg = config_excluding(f, "refused", 10001);
  start_call c = {f, route, json_dumps(cfg, JSON_COMPACT), 0, 0, NULL};
  json_decref(cfg);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, start_thread, &c), 0);
  t0 = now_secs();
  while (!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE) && now_secs() - t0 < 5.0) sleep_ms(5);
  int answered_under_lock = __atomic_load_n(&c.done, __ATOMIC_ACQUIRE);
  s->ops->rollback(s);
  platform_store_release(f->p, s);
  pthread_join(th, NULL);
  if (!answered_under_lock)
    fail_msg("a refused config waited for another connection's write lock");
  assert_int_equal(c.status, 400);
  expect_error_answer(c.answer, "ConfigError", "expected at most 10000 column names",
                      "got 10001", "POST", route);
  free(c.body);

  /* a run name with control characters is refused the same way */
  call_err(f, 400, "ConfigError", "run_name: expected one line of text without control",
           "U+001B", "POST", route, MEMBER, config(f, "\\u001b[2Jcleared", ""));
  assert_int_equal(stress_jobs(f), 0);

  /* at the bound: accepted at once (held at "ready" until cancelled below:
   * the run itself is quick enough to end before the cancel otherwise) */
  hook_reset(1);
  t0 = now_secs();
  char job[37];
  start(f, config_excluding(f, "wide", 10000), job);
  if (now_secs() - t0 > 2.0) fail_msg("starting with 10,000 names took %.2f s", now_secs() - t0);
  assert_int_equal(stress_jobs(f), 1);
  json_decref(call(f, 200, "POST", pathf("/v1/jobs/%s/cancel", job), MEMBER, NULL));
}

/* --- a run's life and its results ---------------------------------------------------------- */

static const char *const case_keys[] = {"test_run_id", "test_batch_type", "features", "status",
                                        "severity", "category", "importance_score",
                                        "skip_reason", NULL};

static int is_case_key(const char *k) {
  for (int i = 0; case_keys[i]; i++)
    if (strcmp(case_keys[i], k) == 0) return 1;
  return 0;
}

static void lifecycle_and_results(void **state) {
  fixture *f = *state;
  hook_reset(1);
  char job[37];
  json_t *b = call(f, 202, "POST", pathf("/v1/projects/%s/stress-tests", f->project), MEMBER,
                   config(f, "first run", ""));
  snprintf(job, sizeof job, "%s", str(b, "job_id"));
  assert_string_equal(str(b, "job_type"), "JOB_TYPE_STRESS_TEST");
  assert_string_equal(str(b, "project_id"), f->project);
  assert_string_equal(str(b, "submitted_by"), f->user[MEMBER]);
  assert_true(json_is_false(json_object_get(b, "cancel_requested")));
  json_t *progress = json_object_get(b, "progress");
  assert_int_equal(json_integer_value(json_object_get(progress, "done")), 0);
  assert_int_equal(json_integer_value(json_object_get(progress, "total")), 0);
  json_decref(b);

  /* held after loading: RUNNING */
  wait_ready();
  b = call(f, 200, "GET", pathf("/v1/jobs/%s", job), VIEWER, NULL);
  assert_string_equal(str(b, "status"), "JOB_STATUS_RUNNING");
  assert_true(json_is_string(json_object_get(b, "started_at")));
  json_decref(b);
  b = callq(f, 200, "GET", pathf("/v1/projects/%s/jobs", f->project),
            "status=JOB_STATUS_RUNNING", VIEWER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "jobs")), 1);
  assert_string_equal(str(json_array_get(json_object_get(b, "jobs"), 0), "job_id"), job);
  json_decref(b);
  __atomic_store_n(&hook_hold, 0, __ATOMIC_RELEASE);

  json_t *j = wait_job(f, job);
  assert_string_equal(str(j, "status"), "JOB_STATUS_SUCCEEDED");
  assert_true(json_is_null(json_object_get(j, "error_msg")));
  progress = json_object_get(j, "progress");
  json_int_t done = json_integer_value(json_object_get(progress, "done"));
  json_int_t total = json_integer_value(json_object_get(progress, "total"));
  assert_true(total > 0);
  assert_int_equal(done, total);
  char run[37];
  snprintf(run, sizeof run, "%s", str(json_object_get(j, "result"), "test_run_id"));
  assert_int_equal(strlen(run), 36);
  json_decref(j);
  /* the engine's progress: from 0, never backwards, to total */
  pthread_mutex_lock(&hook_lock);
  assert_true(hook_nprogress >= 2);
  assert_int_equal(hook_progress[0][0], 0);
  for (int i = 1; i < hook_nprogress; i++) {
    assert_true(hook_progress[i][0] >= hook_progress[i - 1][0]);
    assert_int_equal(hook_progress[i][1], total);
  }
  assert_int_equal(hook_progress[hook_nprogress - 1][0], total);
  pthread_mutex_unlock(&hook_lock);
  stress_job_test_hook = NULL;
  char *log = job_log(f, job);
  assert_non_null(strstr(log, "loaded the reference dataset 'reference': 400 rows, 5 columns"));
  assert_non_null(strstr(log, "test run "));
  assert_non_null(strstr(log, "succeeded"));
  free(log);

  /* the summary */
  json_t *sum = call(f, 200, "GET", pathf("/v1/test-runs/%s", run), VIEWER, NULL);
  assert_string_equal(str(sum, "test_run_id"), run);
  assert_string_equal(str(sum, "name"), "first run");
  assert_string_equal(str(sum, "project_id"), f->project);
  assert_string_equal(str(sum, "workspace_id"), f->ws);
  assert_string_equal(str(sum, "job_id"), job);
  assert_string_equal(str(sum, "model_id"), f->model);
  assert_string_equal(str(sum, "ref_dataset_id"), f->ref);
  assert_string_equal(str(sum, "eval_dataset_id"), f->eval);
  assert_string_equal(str(sum, "ref_dataset_name"), "reference");
  assert_string_equal(str(sum, "model_task"), "MODEL_TASK_BINARY_CLASSIFICATION");
  assert_int_equal(strlen(str(sum, "created_at")), 20);
  assert_int_equal(strlen(str(sum, "started_at")), 20);
  assert_int_equal(strlen(str(sum, "finished_at")), 20);
  assert_true(strcmp(str(sum, "started_at"), str(sum, "finished_at")) <= 0);
  assert_true(json_is_integer(json_object_get(sum, "duration_in_millis")));
  assert_null(json_object_get(sum, "test_batches"));
  json_t *data = json_object_get(sum, "data");
  assert_string_equal(str(data, "pred_source"), "pred_col");
  assert_int_equal(json_integer_value(json_object_get(data, "ref_rows")), 400);
  json_int_t cases_total =
    json_integer_value(json_object_get(json_object_get(sum, "summary_counts"), "total"));
  assert_true(cases_total > 0);

  /* the document: the summary plus its batches */
  json_t *doc = call(f, 200, "GET", pathf("/v1/test-runs/%s/document", run), VIEWER, NULL);
  json_t *batches = json_object_get(doc, "test_batches");
  assert_true(json_array_size(batches) > 0);
  assert_int_equal((json_int_t)json_array_size(batches), total);
  json_int_t sum_cases = 0;
  size_t i;
  json_t *batch;
  json_array_foreach(batches, i, batch) sum_cases +=
    (json_int_t)json_array_size(json_object_get(batch, "test_cases"));
  assert_int_equal(sum_cases, cases_total);
  {
    json_t *copy = json_copy(doc);
    json_object_del(copy, "test_batches");
    assert_true(json_equal(copy, sum));
    json_decref(copy);
  }

  /* the flat result row */
  b = call(f, 200, "GET", pathf("/v1/test-runs/%s/result", run), VIEWER, NULL);
  static const char *const result_keys[] = {
    "test_run_id", "name", "project_id", "model_id", "ref_dataset_id", "eval_dataset_id",
    "model_task", "created_at", "started_at", "finished_at", "duration_in_millis",
    "summary_counts.total", "summary_counts.pass", "summary_counts.warning",
    "summary_counts.fail", "summary_counts.skip", "severity_counts.num_pass_severity",
    "severity_counts.num_warning_severity", "severity_counts.num_alert_severity", NULL};
  for (int k = 0; result_keys[k]; k++)
    if (!json_object_get(b, result_keys[k])) fail_msg("result row lacks %s", result_keys[k]);
  assert_int_equal(json_object_size(b), 19);
  assert_int_equal(json_integer_value(json_object_get(b, "summary_counts.total")), cases_total);
  assert_string_equal(str(b, "name"), "first run");
  json_decref(b);

  /* test case rows: the fixed keys only, one per case */
  b = call(f, 200, "GET", pathf("/v1/test-runs/%s/test-cases", run), VIEWER, NULL);
  json_t *rows = json_object_get(b, "test_cases");
  assert_int_equal((json_int_t)json_array_size(rows), cases_total);
  json_t *row;
  json_array_foreach(rows, i, row) {
    assert_int_equal(json_object_size(row), 8);
    for (int k = 0; case_keys[k]; k++) assert_non_null(json_object_get(row, case_keys[k]));
    assert_string_equal(str(row, "test_run_id"), run);
  }
  /* the first row is the first batch's first case */
  json_t *b0 = json_array_get(batches, 0), *c0 = json_array_get(json_object_get(b0, "test_cases"), 0);
  assert_string_equal(str(json_array_get(rows, 0), "test_batch_type"), str(b0, "test_type"));
  assert_string_equal(str(json_array_get(rows, 0), "category"), str(b0, "category"));
  assert_string_equal(str(json_array_get(rows, 0), "status"), str(c0, "status"));
  assert_true(json_equal(json_object_get(json_array_get(rows, 0), "features"),
                         json_object_get(c0, "features")));
  json_decref(b);
  /* with metrics: every row has the same keys (null where a case has no such metric) and
   * each metric's value is the document's */
  b = callq(f, 200, "GET", pathf("/v1/test-runs/%s/test-cases", run), "show_metrics=true",
            VIEWER, NULL);
  rows = json_object_get(b, "test_cases");
  assert_int_equal((json_int_t)json_array_size(rows), cases_total);
  size_t width = json_object_size(json_array_get(rows, 0));
  assert_true(width > 8);
  json_array_foreach(rows, i, row) assert_int_equal(json_object_size(row), width);
  size_t at = 0;
  json_array_foreach(batches, i, batch) {
    size_t k;
    json_t *tc;
    json_array_foreach(json_object_get(batch, "test_cases"), k, tc) {
      row = json_array_get(rows, at++);
      const char *key;
      json_t *v;
      json_object_foreach(json_object_get(tc, "metrics"), key, v) {
        if (is_case_key(key)) continue;
        if (!json_equal(json_object_get(row, key), v))
          fail_msg("row %zu: metric %s differs from the document's", at - 1, key);
      }
      json_object_foreach(row, key, v) {
        if (is_case_key(key)) continue;
        if (!json_object_get(json_object_get(tc, "metrics"), key) && !json_is_null(v))
          fail_msg("row %zu: %s should be null (the case has no such metric)", at - 1, key);
      }
    }
  }
  json_decref(b);
  /* one test type */
  json_t *drift = NULL;
  json_array_foreach(batches, i, batch) if (strcmp(str(batch, "test_type"),
                                                   "numeric_feature_drift") == 0) drift = batch;
  assert_non_null(drift);
  b = callq(f, 200, "GET", pathf("/v1/test-runs/%s/test-cases", run),
            "test_type=numeric_feature_drift&show_metrics=1", VIEWER, NULL);
  rows = json_object_get(b, "test_cases");
  assert_int_equal(json_array_size(rows), json_array_size(json_object_get(drift, "test_cases")));
  assert_int_equal(json_array_size(rows), 2); /* x1, x2 (p is the prediction column) */
  json_array_foreach(rows, i, row) {
    assert_string_equal(str(row, "test_batch_type"), "numeric_feature_drift");
    assert_true(json_is_number(json_object_get(row, "psi")));
  }
  /* x1 was shifted: flagged; x2 was not */
  json_array_foreach(rows, i, row) {
    const char *feat = json_string_value(json_array_get(json_object_get(row, "features"), 0));
    if (strcmp(feat, "x1") == 0) assert_string_not_equal(str(row, "severity"), "SEVERITY_PASS");
    if (strcmp(feat, "x2") == 0) assert_string_equal(str(row, "severity"), "SEVERITY_PASS");
  }
  json_decref(b);
  call_errq(f, 404, "NotFoundError", "test type 'nope' is not in test run",
            "numeric_feature_drift", "GET", pathf("/v1/test-runs/%s/test-cases", run),
            "test_type=nope", VIEWER, NULL);
  call_errq(f, 400, "ConfigError", "show_metrics", NULL, "GET",
            pathf("/v1/test-runs/%s/test-cases", run), "show_metrics=maybe", VIEWER, NULL);

  /* category rows */
  b = call(f, 200, "GET", pathf("/v1/test-runs/%s/categories", run), VIEWER, NULL);
  rows = json_object_get(b, "categories");
  assert_int_equal(json_array_size(rows), json_array_size(json_object_get(sum, "category_results")));
  assert_true(json_array_size(rows) > 0);
  json_array_foreach(rows, i, row) {
    json_t *cr = json_array_get(json_object_get(sum, "category_results"), i);
    assert_null(json_object_get(row, "num_test_cases")); /* metrics only when asked */
    assert_string_equal(str(row, "test_run_id"), run);
    assert_string_equal(str(row, "category"), str(cr, "category"));
    assert_string_equal(str(row, "severity"), str(cr, "severity"));
    assert_true(json_equal(json_object_get(row, "test_types"), json_object_get(cr, "test_types")));
    assert_true(json_is_array(json_object_get(row, "failing_test_types")));
    assert_true(json_equal(json_object_get(row, "summary_counts.total"),
                           json_object_get(json_object_get(cr, "summary_counts"), "total")));
  }
  json_decref(b);
  b = callq(f, 200, "GET", pathf("/v1/test-runs/%s/categories", run), "show_metrics=true",
            VIEWER, NULL);
  rows = json_object_get(b, "categories");
  assert_true(json_array_size(rows) > 0);
  json_array_foreach(rows, i, row) {
    /* the category's metrics, counted from its summary */
    json_t *cr = json_array_get(json_object_get(sum, "category_results"), i);
    json_t *sc = json_object_get(cr, "summary_counts");
    json_int_t ncase = json_integer_value(json_object_get(sc, "total"));
    json_int_t bad = json_integer_value(json_object_get(sc, "warning")) +
                     json_integer_value(json_object_get(sc, "fail"));
    assert_true(ncase > 0);
    assert_int_equal(json_integer_value(json_object_get(row, "num_test_cases")), ncase);
    assert_int_equal(json_integer_value(json_object_get(row, "num_failing_test_cases")), bad);
    assert_int_equal(json_integer_value(json_object_get(row, "num_test_batches")),
                     json_array_size(json_object_get(cr, "test_types")));
    assert_int_equal(json_integer_value(json_object_get(row, "num_failing_test_batches")),
                     json_array_size(json_object_get(cr, "failing_test_types")));
    assert_float_equal(json_number_value(json_object_get(row, "share_failing_test_cases")),
                       (double)bad / (double)ncase, 1e-12);
  }
  json_decref(b);

  /* batches: without cases; one batch with them */
  b = call(f, 200, "GET", pathf("/v1/test-runs/%s/test-batches", run), VIEWER, NULL);
  rows = json_object_get(b, "test_batches");
  assert_int_equal(json_array_size(rows), json_array_size(batches));
  json_array_foreach(rows, i, row) {
    assert_null(json_object_get(row, "test_cases"));
    assert_string_equal(str(row, "test_run_id"), run);
    assert_string_equal(str(row, "test_type"), str(json_array_get(batches, i), "test_type"));
    assert_true(json_is_object(json_object_get(row, "summary_counts")));
  }
  json_decref(b);
  b = call(f, 200, "GET", pathf("/v1/test-runs/%s/test-batches/numeric_feature_drift", run),
           VIEWER, NULL);
  assert_string_equal(str(b, "test_run_id"), run);
  json_object_del(b, "test_run_id");
  assert_true(json_equal(b, drift));
  json_decref(b);
  call_err(f, 404, "NotFoundError", "test type 'label_drift_x' is not in test run",
           "its test types: ", "GET",
           pathf("/v1/test-runs/%s/test-batches/label_drift_x", run), VIEWER, NULL);

  /* the report */
  b = call(f, 200, "GET", pathf("/v1/test-runs/%s/report", run), VIEWER, NULL);
  assert_string_equal(str(b, "test_run_id"), run);
  assert_non_null(strcasestr(str(b, "html"), "<html"));
  assert_non_null(strstr(str(b, "html"), "first run"));
  json_decref(b);

  /* unknown runs, and runs of another workspace: not found */
  static const char *const suffixes[] = {"", "/document", "/result", "/test-cases",
                                         "/categories", "/test-batches",
                                         "/test-batches/numeric_feature_drift", "/report", NULL};
  for (int k = 0; suffixes[k]; k++) {
    call_err(f, 404, "NotFoundError", "test run 'nope' not found", NULL, "GET",
             pathf("/v1/test-runs/nope%s", suffixes[k]), VIEWER, NULL);
    call_err(f, 404, "NotFoundError", "test run", run, "GET",
             pathf("/v1/test-runs/%s%s", run, suffixes[k]), OUTSIDER, NULL);
    json_t *e = NULL;
    assert_int_equal(router_send(f->p, "GET", pathf("/v1/test-runs/%s%s", run, suffixes[k]),
                                 NULL, NULL, NULL, &e),
                     401);
    json_decref(e);
  }

  /* a second run: lists are newest first */
  char run2[37];
  run_to_end(f, config(f, "second run", ""), run2);
  b = call(f, 200, "GET", pathf("/v1/projects/%s/test-runs", f->project), VIEWER, NULL);
  rows = json_object_get(b, "test_runs");
  assert_int_equal(json_array_size(rows), 2);
  assert_string_equal(str(json_array_get(rows, 0), "test_run_id"), run2);
  assert_string_equal(str(json_array_get(rows, 1), "test_run_id"), run);
  assert_true(json_equal(json_array_get(rows, 1), sum));
  json_decref(b);
  call_err(f, 404, "NotFoundError", NULL, NULL, "GET",
           pathf("/v1/projects/%s/test-runs", f->project), OUTSIDER, NULL);

  /* the project's jobs, filtered */
  b = callq(f, 200, "GET", pathf("/v1/projects/%s/jobs", f->project),
            "job_type=JOB_TYPE_STRESS_TEST", VIEWER, NULL);
  rows = json_object_get(b, "jobs");
  assert_int_equal(json_array_size(rows), 2);
  assert_string_equal(str(json_array_get(rows, 1), "job_id"), job);
  json_decref(b);
  b = callq(f, 200, "GET", pathf("/v1/projects/%s/jobs", f->project), NULL, VIEWER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "jobs")), 4); /* + 2 validations */
  json_decref(b);
  b = callq(f, 200, "GET", pathf("/v1/projects/%s/jobs", f->project),
            "status=JOB_STATUS_SUCCEEDED,%20JOB_STATUS_FAILED&job_type=JOB_TYPE_DATASET_VALIDATION",
            VIEWER, NULL);
  rows = json_object_get(b, "jobs");
  assert_int_equal(json_array_size(rows), 2);
  json_array_foreach(rows, i, row) assert_string_equal(str(row, "job_type"),
                                                       "JOB_TYPE_DATASET_VALIDATION");
  json_decref(b);
  b = callq(f, 200, "GET", pathf("/v1/projects/%s/jobs", f->project),
            "status=JOB_STATUS_CANCELLED,JOB_STATUS_PENDING", VIEWER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "jobs")), 0);
  json_decref(b);
  call_errq(f, 400, "ConfigError", "unknown job status 'JOB_STATUS_BOGUS'",
            "JOB_STATUS_CANCELLED", "GET", pathf("/v1/projects/%s/jobs", f->project),
            "status=JOB_STATUS_SUCCEEDED,JOB_STATUS_BOGUS", VIEWER, NULL);
  call_err(f, 404, "NotFoundError", NULL, NULL, "GET", "/v1/projects/nope/jobs", VIEWER, NULL);
  call_err(f, 404, "NotFoundError", NULL, NULL, "GET",
           pathf("/v1/projects/%s/jobs", f->project), OUTSIDER, NULL);
  json_decref(doc);
  json_decref(sum);

  /* a project holding test runs is deleted only with force, and its runs with it */
  call_err(f, 409, "ConflictError", "test runs", NULL, "DELETE",
           pathf("/v1/projects/%s", f->project), MEMBER, NULL);
  json_decref(callq(f, 204, "DELETE", pathf("/v1/projects/%s", f->project), "force=true",
                    MEMBER, NULL));
  call_err(f, 404, "NotFoundError", "test run", run, "GET", pathf("/v1/test-runs/%s", run),
           MEMBER, NULL);
}

/* --- cancelling ------------------------------------------------------------------------------ */

static void cancel_jobs(void **state) {
  fixture *f = *state;
  /* pending: no workers, so it stays PENDING until cancelled at once */
  jobs_stop(f->p);
  char job[37];
  start(f, config(f, "pending", ""), job);
  const char *cancel = pathf("/v1/jobs/%s/cancel", job);
  char route[512];
  snprintf(route, sizeof route, "%s", cancel);
  call_err(f, 403, "PermissionDeniedError", "WORKSPACE_ROLE_MEMBER", NULL, "POST", route, VIEWER,
           NULL);
  call_err(f, 403, "PermissionDeniedError", "submitted by another user", "WORKSPACE_ROLE_ADMIN",
           "POST", route, MEMBER2, NULL);
  call_err(f, 404, "NotFoundError", "job", job, "POST", route, OUTSIDER, NULL);
  call_err(f, 404, "NotFoundError", "job 'nope' not found", NULL, "POST", "/v1/jobs/nope/cancel",
           MEMBER, NULL);
  json_t *b = call(f, 200, "POST", route, MEMBER, NULL);
  assert_string_equal(str(b, "status"), "JOB_STATUS_CANCELLED");
  assert_string_equal(str(b, "error_msg"), "the job was cancelled");
  assert_true(json_is_string(json_object_get(b, "finished_at")));
  assert_true(json_is_null(json_object_get(b, "started_at")));
  json_decref(b);
  call_err(f, 400, "ConfigError", "already finished (JOB_STATUS_CANCELLED)", job, "POST", route,
           MEMBER, NULL);
  assert_int_equal(jobs_start(f->p, 1), ASSAY_OK);
  jobs_notify(f->p);
  sleep_ms(300); /* a worker would have claimed it by now: it must not */
  b = call(f, 200, "GET", pathf("/v1/jobs/%s", job), MEMBER, NULL);
  assert_string_equal(str(b, "status"), "JOB_STATUS_CANCELLED");
  json_decref(b);

  /* running, held after loading until its flag is set: an admin cancels it */
  hook_reset(1);
  start(f, config(f, "running", ""), job);
  snprintf(route, sizeof route, "/v1/jobs/%s/cancel", job);
  wait_ready();
  b = call(f, 200, "POST", route, WADMIN, NULL);
  assert_true(json_is_true(json_object_get(b, "cancel_requested")));
  assert_true(strcmp(str(b, "status"), "JOB_STATUS_RUNNING") == 0 ||
              strcmp(str(b, "status"), "JOB_STATUS_CANCELLED") == 0);
  json_decref(b);
  json_t *j = wait_job(f, job);
  assert_string_equal(str(j, "status"), "JOB_STATUS_CANCELLED");
  assert_string_equal(str(j, "error_msg"), "the job was cancelled");
  assert_true(json_is_null(json_object_get(j, "result")));
  json_decref(j);
  char *log = job_log(f, job);
  assert_non_null(strstr(log, "cancellation requested"));
  assert_non_null(strstr(log, "cancelled: stress test cancelled: the job was cancelled"));
  free(log);
  call_err(f, 400, "ConfigError", "already finished (JOB_STATUS_CANCELLED)", NULL, "POST", route,
           MEMBER, NULL);

  /* the engine itself notices: cancelled (through the route) after its first batch */
  hook_reset(0);
  start(f, config(f, "mid-engine", ""), job);
  pthread_mutex_lock(&hook_lock);
  snprintf(hook_cancel_job, sizeof hook_cancel_job, "%s", job);
  hook_cancel_fixture = f;
  pthread_mutex_unlock(&hook_lock);
  j = wait_job(f, job);
  assert_string_equal(str(j, "status"), "JOB_STATUS_CANCELLED");
  json_t *progress = json_object_get(j, "progress");
  assert_true(json_integer_value(json_object_get(progress, "done")) <
              json_integer_value(json_object_get(progress, "total")));
  json_decref(j);
  pthread_mutex_lock(&hook_lock);
  assert_int_equal(hook_cancel_status, 200);
  int last_done = hook_progress[hook_nprogress - 1][0], total = hook_progress[0][1];
  pthread_mutex_unlock(&hook_lock);
  assert_true(last_done < total);
  log = job_log(f, job);
  assert_non_null(strstr(log, "stress test cancelled: the job was cancelled"));
  free(log);

  /* running in another platform process: that process's worker sees the request */
  hook_reset(1);
  assay_platform_options o = ASSAY_PLATFORM_OPTIONS_INIT;
  o.home = f->home;
  o.workers = 0;
  assay_platform *q = NULL;
  assert_int_equal(assay_platform_open_with(&q, &o), ASSAY_OK);
  start(f, config(f, "elsewhere", ""), job);
  snprintf(route, sizeof route, "/v1/jobs/%s/cancel", job);
  wait_ready();
  double t0 = now_secs();
  b = callp(f, q, 200, "POST", route, NULL, MEMBER, NULL);
  assert_string_equal(str(b, "status"), "JOB_STATUS_RUNNING");
  assert_true(json_is_true(json_object_get(b, "cancel_requested")));
  json_decref(b);
  j = wait_job_p(f, q, job, NULL, 30);
  double took = now_secs() - t0;
  assert_string_equal(str(j, "status"), "JOB_STATUS_CANCELLED");
  json_decref(j);
  if (took > 3.0) fail_msg("the other process's cancel took %.2f s to be seen", took);
  assay_platform_free(q);
  stress_job_test_hook = NULL;

  /* a finished job */
  char run[37];
  run_to_end(f, config(f, "done", ""), run);
  b = callq(f, 200, "GET", pathf("/v1/projects/%s/jobs", f->project),
            "status=JOB_STATUS_SUCCEEDED&job_type=JOB_TYPE_STRESS_TEST", MEMBER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "jobs")), 1);
  snprintf(job, sizeof job, "%s", str(json_array_get(json_object_get(b, "jobs"), 0), "job_id"));
  json_decref(b);
  call_err(f, 400, "ConfigError", "already finished (JOB_STATUS_SUCCEEDED)", job, "POST",
           pathf("/v1/jobs/%s/cancel", job), MEMBER, NULL);
  /* only the finished run was stored */
  b = call(f, 200, "GET", pathf("/v1/projects/%s/test-runs", f->project), MEMBER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "test_runs")), 1);
  json_decref(b);
  b = callq(f, 200, "GET", pathf("/v1/projects/%s/jobs", f->project),
            "status=JOB_STATUS_CANCELLED", MEMBER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "jobs")), 4);
  json_decref(b);
}

/* A validation job cancelled by its user: CANCELLED, the entry INVALID
 * saying so. */
static void cancel_validation(void **state) {
  fixture *f = *state;
  char *loader = upload(f, MEMBER, "slow", "loader.py",
                        "import time\nimport pandas as pd\n"
                        "def load():\n    time.sleep(60)\n    return pd.DataFrame({'a': [1]})\n");
  json_t *b = call(f, 201, "POST", pathf("/v1/projects/%s/datasets", f->project), MEMBER,
                   jf("{\"name\":\"slow\",\"data_info\":{\"connection_info\":{\"data_loading\":"
                      "{\"path\":\"%s\",\"load_func_name\":\"load\"}}}}",
                      loader));
  free(loader);
  char job[37], ds[37];
  snprintf(job, sizeof job, "%s", str(b, "validation_job_id"));
  snprintf(ds, sizeof ds, "%s", str(b, "dataset_id"));
  json_decref(b);
  json_decref(wait_job_p(f, f->p, job, "JOB_STATUS_RUNNING", 30));
  double t0 = now_secs();
  json_decref(call(f, 200, "POST", pathf("/v1/jobs/%s/cancel", job), MEMBER, NULL));
  json_t *j = wait_job(f, job);
  assert_string_equal(str(j, "status"), "JOB_STATUS_CANCELLED");
  assert_string_equal(str(j, "error_msg"), "the job was cancelled");
  json_decref(j);
  assert_true(now_secs() - t0 < 10);
  b = call(f, 200, "GET", pathf("/v1/datasets/%s", ds), MEMBER, NULL);
  assert_string_equal(str(b, "validity_status"), "VALIDITY_STATUS_INVALID");
  assert_string_equal(str(b, "validity_message"),
                      "validation was cancelled: the job was cancelled");
  json_decref(b);
}

/* --- a platform stopping mid-run ----------------------------------------------------------- */

static void restart_requeues(void **state) {
  fixture *f = *state;
  hook_reset(1);
  char job[37];
  start(f, config(f, "interrupted", ""), job);
  wait_ready();
  assay_platform_free(f->p); /* stops: the held job sees its flag, goes back to the queue */
  f->p = NULL;
  stress_job_test_hook = NULL;

  assay_platform_options o = ASSAY_PLATFORM_OPTIONS_INIT;
  o.home = f->home;
  o.workers = 0;
  assert_int_equal(assay_platform_open_with(&f->p, &o), ASSAY_OK);
  json_t *b = call(f, 200, "GET", pathf("/v1/jobs/%s", job), MEMBER, NULL);
  assert_string_equal(str(b, "status"), "JOB_STATUS_PENDING");
  assert_true(json_is_null(json_object_get(b, "started_at")));
  assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "progress"), "total")), 0);
  json_decref(b);
  char *log = job_log(f, job);
  assert_non_null(strstr(log, "interrupted: the platform is stopping"));
  free(log);
  b = call(f, 200, "GET", pathf("/v1/projects/%s/test-runs", f->project), MEMBER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "test_runs")), 0);
  json_decref(b);

  /* the next platform with workers runs it from the start to its end */
  assert_int_equal(jobs_start(f->p, 1), ASSAY_OK);
  jobs_notify(f->p);
  json_t *j = wait_job(f, job);
  assert_string_equal(str(j, "status"), "JOB_STATUS_SUCCEEDED");
  const char *run = str(json_object_get(j, "result"), "test_run_id");
  b = call(f, 200, "GET", pathf("/v1/projects/%s/test-runs", f->project), MEMBER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "test_runs")), 1);
  assert_string_equal(str(json_array_get(json_object_get(b, "test_runs"), 0), "test_run_id"), run);
  assert_string_equal(str(json_array_get(json_object_get(b, "test_runs"), 0), "job_id"), job);
  json_decref(b);
  json_decref(j);
}

/* --- categories ---------------------------------------------------------------------------------- */

static void categories(void **state) {
  fixture *f = *state;
  json_t *b = call(f, 200, "GET", pathf("/v1/projects/%s", f->project), VIEWER, NULL);
  json_t *cats = json_object_get(b, "stress_test_categories");
  assert_int_equal(json_array_size(cats), 6);
  assert_string_equal(json_string_value(json_array_get(cats, 0)),
                      "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE");
  json_decref(b);
  b = call(f, 200, "GET", "/v1/projects", VIEWER, NULL);
  assert_int_equal(json_array_size(json_object_get(json_array_get(json_object_get(b, "projects"), 0),
                                                   "stress_test_categories")),
                   6);
  json_decref(b);

  const char *route = pathf("/v1/projects/%s/stress-test-categories", f->project);
  char put[512];
  snprintf(put, sizeof put, "%s", route);
  call_err(f, 403, "PermissionDeniedError", NULL, NULL, "PUT", put, VIEWER,
           jf("{\"categories\":[\"TEST_CATEGORY_TYPE_DRIFT\"]}"));
  call_err(f, 404, "NotFoundError", NULL, NULL, "PUT", put, OUTSIDER,
           jf("{\"categories\":[\"TEST_CATEGORY_TYPE_DRIFT\"]}"));
  call_err(f, 404, "NotFoundError", NULL, NULL, "PUT",
           "/v1/projects/nope/stress-test-categories", MEMBER,
           jf("{\"categories\":[\"TEST_CATEGORY_TYPE_DRIFT\"]}"));
  call_err(f, 400, "ConfigError", "categories is required", NULL, "PUT", put, MEMBER, jf("{}"));
  call_err(f, 400, "ConfigError", "unknown field 'colour'", NULL, "PUT", put, MEMBER,
           jf("{\"categories\":[\"TEST_CATEGORY_TYPE_DRIFT\"],\"colour\":1}"));
  call_err(f, 400, "ConfigError", "TEST_CATEGORY_TYPE_DRIFTY", "TEST_CATEGORY_TYPE_DRIFT", "PUT",
           put, MEMBER, jf("{\"categories\":[\"TEST_CATEGORY_TYPE_DRIFTY\"]}"));
  call_err(f, 400, "ConfigError", "categories", NULL, "PUT", put, MEMBER,
           jf("{\"categories\":[]}"));
  call_err(f, 400, "ConfigError", "listed twice", NULL, "PUT", put, MEMBER,
           jf("{\"categories\":[\"TEST_CATEGORY_TYPE_DRIFT\",\"TEST_CATEGORY_TYPE_DRIFT\"]}"));
  b = call(f, 200, "PUT", put, MEMBER,
           jf("{\"categories\":[\"TEST_CATEGORY_TYPE_DATA_CLEANLINESS\","
              "\"TEST_CATEGORY_TYPE_DRIFT\"]}"));
  assert_string_equal(str(b, "project_id"), f->project);
  json_t *want = jf("[\"TEST_CATEGORY_TYPE_DATA_CLEANLINESS\",\"TEST_CATEGORY_TYPE_DRIFT\"]");
  assert_true(json_equal(json_object_get(b, "stress_test_categories"), want));
  json_decref(b);
  b = call(f, 200, "GET", pathf("/v1/projects/%s", f->project), VIEWER, NULL);
  assert_true(json_equal(json_object_get(b, "stress_test_categories"), want));
  assert_string_equal(str(b, "name"), "fraud"); /* the rest of the record unchanged */
  json_decref(b);

  /* a run without categories runs the project's */
  char run[37];
  run_to_end(f, config(f, "project categories", ""), run);
  b = call(f, 200, "GET", pathf("/v1/test-runs/%s/document", run), MEMBER, NULL);
  json_t *ran = json_object_get(b, "categories");
  assert_int_equal(json_array_size(ran), 2);
  size_t i;
  json_t *batch;
  json_array_foreach(json_object_get(b, "test_batches"), i, batch) {
    const char *c = str(batch, "category");
    assert_true(strcmp(c, "TEST_CATEGORY_TYPE_DRIFT") == 0 ||
                strcmp(c, "TEST_CATEGORY_TYPE_DATA_CLEANLINESS") == 0);
  }
  json_decref(b);
  /* the config's own categories win */
  run_to_end(f, config(f, "own categories",
                       ",\"categories\":[\"TEST_CATEGORY_TYPE_MODEL_PERFORMANCE\"]"),
             run);
  b = call(f, 200, "GET", pathf("/v1/test-runs/%s/test-batches", run), MEMBER, NULL);
  json_array_foreach(json_object_get(b, "test_batches"), i, batch)
    assert_string_equal(str(batch, "category"), "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE");
  assert_true(json_array_size(json_object_get(b, "test_batches")) > 0);
  json_decref(b);
  json_decref(want);
}

/* --- where predictions come from -------------------------------------------------------------- */

/* The run document's data.pred_source and pred_sources. */
static void expect_sources(fixture *f, const char *run, const char *source, const char *ref,
                           const char *eval) {
  json_t *b = call(f, 200, "GET", pathf("/v1/test-runs/%s", run), MEMBER, NULL);
  json_t *data = json_object_get(b, "data");
  assert_string_equal(str(data, "pred_source"), source);
  assert_string_equal(str(json_object_get(data, "pred_sources"), "reference"), ref);
  assert_string_equal(str(json_object_get(data, "pred_sources"), "evaluation"), eval);
  json_decref(b);
}

/* A batch's case count that is not skipped. */
static int batch_ran(fixture *f, const char *run, const char *type) {
  json_t *b = call(f, 200, "GET", pathf("/v1/test-runs/%s/test-batches/%s", run, type), MEMBER,
                   NULL);
  json_t *tc = json_array_get(json_object_get(b, "test_cases"), 0);
  int ran = tc && strcmp(str(tc, "status"), "TEST_CASE_STATUS_SKIP") != 0;
  json_decref(b);
  return ran;
}

static void prediction_sources(void **state) {
  fixture *f = *state;
  const char *perf = ",\"categories\":[\"TEST_CATEGORY_TYPE_MODEL_PERFORMANCE\"]";
  /* registered predictions of the model on the evaluation set; the reference keeps its
   * pred_col */
  rng_state = 7;
  char *preds = malloc(400 * 16 + 16);
  size_t len = (size_t)sprintf(preds, "score\n");
  for (int i = 0; i < 400; i++) len += (size_t)sprintf(preds + len, "%.4f\n", uniform());
  char *loc = upload(f, MEMBER, "preds", "eval.csv", preds);
  free(preds);
  json_t *b = call(f, 201, "POST", pathf("/v1/projects/%s/predictions", f->project), MEMBER,
                   jf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"pred_info\":{"
                      "\"connection_info\":{\"data_file\":{\"path\":\"%s\"}},"
                      "\"pred_params\":{\"pred_col\":\"score\"}}}",
                      f->eval, f->model, loc));
  free(loc);
  json_decref(wait_job(f, str(b, "validation_job_id")));
  json_decref(b);
  char run[37];
  run_to_end(f, config(f, "registered", perf), run);
  expect_sources(f, run, "pred_col", "pred_col", "predictions");
  assert_true(batch_ran(f, run, "accuracy"));

  /* no pred_col, no predictions, a model file: the runner predicts */
  char *m = upload(f, MEMBER, "model", "model.py",
                   "import numpy as np\n"
                   "def predict_df(df):\n"
                   "    return 1.0 / (1.0 + np.exp(-(df['x1'].to_numpy() - 5.0)))\n");
  char model[37], ref[37], eval[37];
  char info[512];
  snprintf(info, sizeof info, "{\"model_path\":{\"path\":\"%s\"}}", m);
  free(m);
  make_model(f, f->project, "file model", info, model);
  char *r = binary_csv(300, 0, 11), *e = binary_csv(300, 1.0, 12);
  char *rl = upload(f, MEMBER, "plain", "ref.csv", r), *el = upload(f, MEMBER, "plain", "eval.csv", e);
  free(r);
  free(e);
  make_dataset(f, f->project, "plain ref", rl, "{\"label_col\":\"y\"}", ref);
  make_dataset(f, f->project, "plain eval", el, "{\"label_col\":\"y\"}", eval);
  free(rl);
  free(el);
  json_t *cfg = jf("{\"run_name\":\"by model\",\"model_id\":\"%s\",\"data_info\":{"
                   "\"ref_dataset_id\":\"%s\",\"eval_dataset_id\":\"%s\"}%s}",
                   model, ref, eval, perf);
  run_to_end(f, cfg, run);
  expect_sources(f, run, "model", "model", "model");
  assert_true(batch_ran(f, run, "auc"));
  /* no model file either: the performance tests are skipped */
  cfg = jf("{\"run_name\":\"none\",\"model_id\":\"%s\",\"data_info\":{"
           "\"ref_dataset_id\":\"%s\",\"eval_dataset_id\":\"%s\"}%s}",
           f->model, ref, eval, perf);
  run_to_end(f, cfg, run);
  expect_sources(f, run, "none", "none", "none");
  assert_false(batch_ran(f, run, "auc"));
}

/* Multiclass: a prediction set whose pred_col lists the class probability
 * columns; data_info's pred_col accepts such an array too. */
static void multiclass_prediction_columns(void **state) {
  fixture *f = *state;
  char project[37], model[37], ref[37], eval[37];
  make_project(f, "iris", "MODEL_TASK_MULTICLASS_CLASSIFICATION", project);
  make_model(f, project, "m", "null", model);
  rng_state = 99;
  char *data[2], *preds[2];
  for (int s = 0; s < 2; s++) {
    size_t cap = 300 * 64 + 64, dl = 0, pl = 0;
    data[s] = malloc(cap);
    preds[s] = malloc(cap);
    dl += (size_t)sprintf(data[s], "x1,x2,y\n");
    pl += (size_t)sprintf(preds[s], "p0,p1,p2\n");
    for (int i = 0; i < 300; i++) {
      int y = (int)(uniform() * 3);
      double a = uniform(), b = uniform() * (1 - a), c = 1 - a - b;
      dl += (size_t)sprintf(data[s] + dl, "%.3f,%.3f,%d\n", uniform() + y, uniform(), y);
      pl += (size_t)sprintf(preds[s] + pl, "%.4f,%.4f,%.4f\n", a, b, c);
    }
  }
  char *rl = upload(f, MEMBER, "mc", "ref.csv", data[0]);
  char *el = upload(f, MEMBER, "mc", "eval.csv", data[1]);
  char *rp = upload(f, MEMBER, "mc", "ref_p.csv", preds[0]);
  char *ep = upload(f, MEMBER, "mc", "eval_p.csv", preds[1]);
  for (int s = 0; s < 2; s++) {
    free(data[s]);
    free(preds[s]);
  }
  make_dataset(f, project, "ref", rl, "{\"label_col\":\"y\"}", ref);
  make_dataset(f, project, "eval", el, "{\"label_col\":\"y\"}", eval);
  /* bad pred_col arrays are refused at registration, naming the key */
  call_err(f, 400, "ConfigError", "pred_info.pred_params.pred_col[1]: column 'p0' is listed twice",
           NULL, "POST", pathf("/v1/projects/%s/predictions", project), MEMBER,
           jf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"pred_info\":{\"connection_info\":"
              "{\"data_file\":{\"path\":\"%s\"}},\"pred_params\":{\"pred_col\":[\"p0\",\"p0\"]}}}",
              ref, model, rp));
  call_err(f, 400, "ConfigError", "pred_info.pred_params.pred_col: expected a non-empty string",
           "got an array with no names", "POST", pathf("/v1/projects/%s/predictions", project),
           MEMBER,
           jf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"pred_info\":{\"connection_info\":"
              "{\"data_file\":{\"path\":\"%s\"}},\"pred_params\":{\"pred_col\":[]}}}",
              ref, model, rp));
  call_err(f, 400, "ConfigError", "data_info.data_params.pred_col[0]: expected a non-empty string",
           NULL, "POST", pathf("/v1/projects/%s/datasets", project), MEMBER,
           jf("{\"name\":\"x\",\"skip_validation\":true,\"data_info\":{\"connection_info\":"
              "{\"data_file\":{\"path\":\"%s\"}},\"data_params\":{\"pred_col\":[3]}}}",
              rl));
  const char *sets[2][2] = {{ref, rp}, {eval, ep}};
  for (int s = 0; s < 2; s++) {
    json_t *b = call(f, 201, "POST", pathf("/v1/projects/%s/predictions", project), MEMBER,
                     jf("{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"pred_info\":{"
                        "\"connection_info\":{\"data_file\":{\"path\":\"%s\"}},"
                        "\"pred_params\":{\"pred_col\":[\"p0\",\"p1\",\"p2\"]}}}",
                        sets[s][0], model, sets[s][1]));
    assert_true(json_is_array(json_object_get(
      json_object_get(json_object_get(b, "pred_info"), "pred_params"), "pred_col")));
    json_t *j = wait_job(f, str(b, "validation_job_id"));
    assert_string_equal(str(json_object_get(j, "result"), "validity_status"),
                        "VALIDITY_STATUS_VALID");
    json_decref(j);
    json_decref(b);
  }
  free(rl);
  free(el);
  free(rp);
  free(ep);
  json_t *b = call(f, 202, "POST", pathf("/v1/projects/%s/stress-tests", project), MEMBER,
                   jf("{\"run_name\":\"mc\",\"model_id\":\"%s\",\"data_info\":{"
                      "\"ref_dataset_id\":\"%s\",\"eval_dataset_id\":\"%s\"},"
                      "\"categories\":[\"TEST_CATEGORY_TYPE_MODEL_PERFORMANCE\"]}",
                      model, ref, eval));
  json_t *j = wait_job(f, str(b, "job_id"));
  json_decref(b);
  if (strcmp(str(j, "status"), "JOB_STATUS_SUCCEEDED") != 0)
    fail_msg("multiclass run: %s", str(j, "error_msg"));
  char run[37];
  snprintf(run, sizeof run, "%s", str(json_object_get(j, "result"), "test_run_id"));
  json_decref(j);
  expect_sources(f, run, "predictions", "predictions", "predictions");
  assert_true(batch_ran(f, run, "multiclass_accuracy"));
}

/* --- the C client --------------------------------------------------------------------------------- */

static void client_functions(void **state) {
  fixture *f = *state;
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.home = f->home;
  o.workers = 0; /* the fixture's platform runs the jobs */
  o.api_key = f->token[MEMBER];
  assay_client *c = NULL;
  assert_int_equal(assay_client_new(&c, &o), ASSAY_OK);

  char text[1024];
  snprintf(text, sizeof text,
           "{\"run_name\":\"client\",\"model_id\":\"%s\",\"data_info\":{\"ref_dataset_id\":"
           "\"%s\",\"eval_dataset_id\":\"%s\"}}",
           f->model, f->ref, f->eval);
  assay_value *cfg = NULL, *v = NULL;
  assert_int_equal(assay_value_parse(&cfg, text, strlen(text)), ASSAY_OK);
  assert_int_equal(assay_client_start_stress_test(&v, c, f->project, cfg), ASSAY_OK);
  char job[37];
  snprintf(job, sizeof job, "%s", str(JV(v), "job_id"));
  assay_value_free(v);
  jobs_notify(f->p);
  assert_int_equal(assay_client_wait_job(&v, c, job, 0.1, 120), ASSAY_OK);
  assert_string_equal(str(JV(v), "status"), "JOB_STATUS_SUCCEEDED");
  char run[37];
  snprintf(run, sizeof run, "%s", str(json_object_get(JV(v), "result"), "test_run_id"));
  assay_value_free(v);
  assert_int_equal(assay_client_start_stress_test(&v, c, "nope", cfg), ASSAY_ERR_NOT_FOUND);
  assert_int_equal(assay_client_start_stress_test(&v, c, f->project, NULL), ASSAY_ERR_CONFIG);
  assay_value_free(cfg);

  /* jobs, filtered */
  assay_value *filter = NULL;
  const char *ft = "{\"status\":[\"JOB_STATUS_SUCCEEDED\"],\"job_type\":\"JOB_TYPE_STRESS_TEST\"}";
  assert_int_equal(assay_value_parse(&filter, ft, strlen(ft)), ASSAY_OK);
  assert_int_equal(assay_client_list_jobs(&v, c, f->project, filter), ASSAY_OK);
  assert_true(json_is_array(JV(v)));
  assert_int_equal(json_array_size(JV(v)), 1);
  assert_string_equal(str(json_array_get(JV(v), 0), "job_id"), job);
  assay_value_free(v);
  assay_value_free(filter);
  assert_int_equal(assay_client_list_jobs(&v, c, f->project, NULL), ASSAY_OK);
  assert_int_equal(json_array_size(JV(v)), 3);
  assay_value_free(v);
  ft = "{\"status\":\"JOB_STATUS_FAILED\"}";
  assert_int_equal(assay_value_parse(&filter, ft, strlen(ft)), ASSAY_OK);
  assert_int_equal(assay_client_list_jobs(&v, c, f->project, filter), ASSAY_OK);
  assert_int_equal(json_array_size(JV(v)), 0);
  assay_value_free(v);
  assay_value_free(filter);
  ft = "{\"state\":[]}";
  assert_int_equal(assay_value_parse(&filter, ft, strlen(ft)), ASSAY_OK);
  assert_int_equal(assay_client_list_jobs(&v, c, f->project, filter), ASSAY_ERR_CONFIG);
  assert_non_null(strstr(assay_error_last()->message, "unknown filter key 'state'"));
  assay_value_free(filter);
  ft = "{\"status\":[\"JOB_STATUS_NOPE\"]}";
  assert_int_equal(assay_value_parse(&filter, ft, strlen(ft)), ASSAY_OK);
  assert_int_equal(assay_client_list_jobs(&v, c, f->project, filter), ASSAY_ERR_CONFIG);
  assert_non_null(strstr(assay_error_last()->message, "JOB_STATUS_NOPE"));
  assay_value_free(filter);
  assert_int_equal(assay_client_cancel_job(&v, c, job), ASSAY_ERR_CONFIG);
  assert_non_null(strstr(assay_error_last()->message, "already finished"));
  assert_int_equal(assay_client_cancel_job(&v, c, ""), ASSAY_ERR_CONFIG);

  /* results */
  assert_int_equal(assay_client_list_test_runs(&v, c, f->project), ASSAY_OK);
  assert_int_equal(json_array_size(JV(v)), 1);
  assay_value_free(v);
  assert_int_equal(assay_client_get_test_run(&v, c, run), ASSAY_OK);
  assert_string_equal(str(JV(v), "name"), "client");
  assay_value_free(v);
  assert_int_equal(assay_client_get_test_run(&v, c, "nope"), ASSAY_ERR_NOT_FOUND);
  assert_int_equal(assay_client_get_test_run_document(&v, c, run), ASSAY_OK);
  size_t nbatches = json_array_size(json_object_get(JV(v), "test_batches"));
  json_int_t total =
    json_integer_value(json_object_get(json_object_get(JV(v), "summary_counts"), "total"));
  assay_value_free(v);
  assert_int_equal(assay_client_get_test_run_result(&v, c, run), ASSAY_OK);
  assert_int_equal(json_integer_value(json_object_get(JV(v), "summary_counts.total")), total);
  assay_value_free(v);
  if (assay_client_get_test_cases(&v, c, run, NULL, 0) != ASSAY_OK)
    fail_msg("get_test_cases: %s", assay_error_last()->message);
  assert_int_equal((json_int_t)json_array_size(JV(v)), total);
  assert_int_equal(json_object_size(json_array_get(JV(v), 0)), 8);
  assay_value_free(v);
  assert_int_equal(assay_client_get_test_cases(&v, c, run, "numeric_feature_drift", 1), ASSAY_OK);
  assert_int_equal(json_array_size(JV(v)), 2);
  assert_non_null(json_object_get(json_array_get(JV(v), 0), "psi"));
  assay_value_free(v);
  assert_int_equal(assay_client_get_test_cases(&v, c, run, "nope", 1), ASSAY_ERR_NOT_FOUND);
  assert_int_equal(assay_client_get_test_cases(&v, c, run, "", 1), ASSAY_ERR_CONFIG);
  assert_int_equal(assay_client_get_category_results(&v, c, run, 0), ASSAY_OK);
  assert_true(json_array_size(JV(v)) > 0);
  assert_non_null(json_object_get(json_array_get(JV(v), 0), "summary_counts.total"));
  assay_value_free(v);
  assert_int_equal(assay_client_list_test_batches(&v, c, run), ASSAY_OK);
  assert_int_equal(json_array_size(JV(v)), nbatches);
  assert_null(json_object_get(json_array_get(JV(v), 0), "test_cases"));
  assay_value_free(v);
  assert_int_equal(assay_client_get_test_batch(&v, c, run, "numeric_feature_drift"), ASSAY_OK);
  assert_int_equal(json_array_size(json_object_get(JV(v), "test_cases")), 2);
  assay_value_free(v);
  assert_int_equal(assay_client_get_test_batch(&v, c, run, "no/such"), ASSAY_ERR_NOT_FOUND);
  assert_int_equal(assay_client_get_test_batch(&v, c, run, NULL), ASSAY_ERR_CONFIG);
  assert_int_equal(assay_client_get_test_run_report(&v, c, run), ASSAY_OK);
  assert_non_null(strcasestr(str(JV(v), "html"), "<html"));
  assay_value_free(v);

  /* categories */
  assay_value *cats = NULL;
  const char *ct = "[\"TEST_CATEGORY_TYPE_DRIFT\"]";
  assert_int_equal(assay_value_parse(&cats, ct, strlen(ct)), ASSAY_OK);
  assert_int_equal(assay_client_update_stress_test_categories(&v, c, f->project, cats), ASSAY_OK);
  assert_string_equal(json_string_value(json_array_get(
                        json_object_get(JV(v), "stress_test_categories"), 0)),
                      "TEST_CATEGORY_TYPE_DRIFT");
  assay_value_free(v);
  assay_value_free(cats);
  assert_int_equal(assay_client_update_stress_test_categories(&v, c, f->project, NULL),
                   ASSAY_ERR_CONFIG);
  assay_client_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(start_refusals, setup, teardown),
    cmocka_unit_test_setup_teardown(large_configs, setup, teardown),
    cmocka_unit_test_setup_teardown(lifecycle_and_results, setup, teardown),
    cmocka_unit_test_setup_teardown(cancel_jobs, setup, teardown),
    cmocka_unit_test_setup_teardown(cancel_validation, setup, teardown),
    cmocka_unit_test_setup_teardown(restart_requeues, setup, teardown),
    cmocka_unit_test_setup_teardown(categories, setup, teardown),
    cmocka_unit_test_setup_teardown(prediction_sources, setup, teardown),
    cmocka_unit_test_setup_teardown(multiclass_prediction_columns, setup, teardown),
    cmocka_unit_test_setup_teardown(client_functions, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
