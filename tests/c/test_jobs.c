/* test_jobs.c — the job queue and its workers: the store's job operations
 * (claim order, finish once, heartbeats, stale jobs handed back, requeue),
 * workers running and failing jobs, two processes on one home never running
 * a job twice, stale job recovery with the type's `abandoned` hook (in the
 * same transaction: a failing hook leaves the job RUNNING), workers=0
 * leaving jobs pending, jobs_stop waiting for a job that ignores its
 * cancellation flag, cancelling one that watches it (back to PENDING and
 * run again by the next platform), jobs_cancel_running (the job ends
 * CANCELLED), a job cancelled before it ran settled by its type's hook (a
 * pending validation's entry INVALID), the job log (and
 * its cap), the /v1/jobs routes (404 across workspaces) and the client's
 * wait_job. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "assay/client.h"
#include "assay/server.h"
#include "internal.h"
#include "platform/jobs.h"
#include "platform/platform.h"
#include "platform/router.h"
#include "test_support.h"

#define T_ECHO "JOB_TYPE_TEST_ECHO"
#define T_FAIL "JOB_TYPE_TEST_FAIL"
#define T_COUNT "JOB_TYPE_TEST_COUNT"
#define T_SLOW "JOB_TYPE_TEST_SLOW"
#define T_HOOKED "JOB_TYPE_TEST_HOOKED"
#define T_WATCH "JOB_TYPE_TEST_WATCH"
#define T_FLOOD "JOB_TYPE_TEST_FLOOD"

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* --- test job types ------------------------------------------------------------- */

/* Logs a line and answers {echo: request}. */
static int job_echo(job_ctx *j, json_t **result) {
  j->log(j, "echo %s", json_string_value(json_object_get(j->request, "word")));
  jobs_runner_log(j, "stdout", "a line from user code", 21);
  *result = json_pack("{s:O}", "echo", j->request);
  return ASSAY_OK;
}

static int job_fail(job_ctx *j, json_t **result) {
  (void)j;
  (void)result;
  return assay__err(ASSAY_ERR_DATA, "the data was bad: column 'x' missing");
}

/* Appends "<n> <pid>\n" to the file named in the request, after a pause. */
static int job_count(job_ctx *j, json_t **result) {
  (void)result;
  const char *path = json_string_value(json_object_get(j->request, "file"));
  int n = (int)json_integer_value(json_object_get(j->request, "n"));
  sleep_ms(30);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
  if (fd < 0) return assay__err(ASSAY_ERR_INTERNAL, "cannot open %s", path);
  char line[64];
  int len = snprintf(line, sizeof line, "%d %ld\n", n, (long)getpid());
  ssize_t w = write(fd, line, (size_t)len);
  close(fd);
  return w == len ? ASSAY_OK : assay__err(ASSAY_ERR_INTERNAL, "short write");
}

static pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;
static int slow_started, slow_finished;

static int job_slow(job_ctx *j, json_t **result) {
  (void)j;
  (void)result;
  pthread_mutex_lock(&slow_lock);
  slow_started = 1;
  pthread_mutex_unlock(&slow_lock);
  sleep_ms(800);
  pthread_mutex_lock(&slow_lock);
  slow_finished = 1;
  pthread_mutex_unlock(&slow_lock);
  return ASSAY_OK;
}

/* The abandoned hook of T_HOOKED: notes the jobs it was called for (their
 * request's "word"), or fails when hook_fails is set. */
static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static int hook_calls, hook_fails;
static char hook_words[256];

static int hooked_abandoned(store *s, const json_t *job, int why) {
  (void)s;
  pthread_mutex_lock(&hook_lock);
  int fails = hook_fails;
  if (!fails) {
    hook_calls++;
    const char *word = json_string_value(json_object_get(json_object_get(job, "request"), "word"));
    const char *status = json_string_value(json_object_get(job, "status"));
    size_t n = strlen(hook_words);
    snprintf(hook_words + n, sizeof hook_words - n, "%s:%s:%s ", word ? word : "?",
             status ? status : "?",
             why == JOB_ABANDONED_STALE       ? "stale"
             : why == JOB_ABANDONED_CANCELLED ? "cancelled"
                                              : "?");
  }
  pthread_mutex_unlock(&hook_lock);
  return fails ? assay__err(ASSAY_ERR_STORE, "the hook's store failed") : ASSAY_OK;
}

/* T_WATCH: while watch_wait is set, waits (up to 20 s) for its
 * cancellation flag, then ends as a cancelled run does; else succeeds. */
static int watch_wait, watch_started, watch_runs;

static int job_watch(job_ctx *j, json_t **result) {
  (void)result;
  __atomic_add_fetch(&watch_runs, 1, __ATOMIC_ACQ_REL);
  if (!__atomic_load_n(&watch_wait, __ATOMIC_ACQUIRE)) return ASSAY_OK;
  __atomic_store_n(&watch_started, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < 2000; i++) {
    int why = __atomic_load_n(j->cancel, __ATOMIC_ACQUIRE);
    if (why)
      return assay__err(ASSAY_ERR_UNAVAILABLE, "watcher cancelled: %s", runner_cancel_reason(why));
    sleep_ms(10);
  }
  return assay__err(ASSAY_ERR_INTERNAL, "never cancelled");
}

/* T_FLOOD: user code printing request.lines lines of 99 characters, then
 * a line of the job's own. */
static int job_flood(job_ctx *j, json_t **result) {
  (void)result;
  char line[99];
  memset(line, 'x', sizeof line);
  json_int_t n = json_integer_value(json_object_get(j->request, "lines"));
  for (json_int_t i = 0; i < n; i++) jobs_runner_log(j, "stdout", line, sizeof line);
  j->log(j, "flood done");
  return ASSAY_OK;
}

static int register_types(void) {
  int rc = jobs_register(T_ECHO, job_echo, NULL);
  if (!rc) rc = jobs_register(T_FAIL, job_fail, NULL);
  if (!rc) rc = jobs_register(T_COUNT, job_count, NULL);
  if (!rc) rc = jobs_register(T_SLOW, job_slow, NULL);
  if (!rc) rc = jobs_register(T_HOOKED, job_echo, hooked_abandoned);
  if (!rc) rc = jobs_register(T_WATCH, job_watch, NULL);
  if (!rc) rc = jobs_register(T_FLOOD, job_flood, NULL);
  return rc;
}

/* --- helpers ------------------------------------------------------------------------- */

static assay_platform *open_platform(const char *home, int workers) {
  assay_platform_options o = ASSAY_PLATFORM_OPTIONS_INIT;
  o.home = home;
  o.workers = workers;
  assay_platform *p = NULL;
  int rc = assay_platform_open_with(&p, &o);
  if (rc) fprintf(stderr, "open: %s\n", assay_error_last()->message);
  assert_int_equal(rc, ASSAY_OK);
  return p;
}

/* Submit a job (own transaction) in the admin's default workspace. */
static void submit(assay_platform *p, const char *type, json_t *request, char id[37]) {
  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  const principal *admin = platform_admin_principal(p);
  int rc = s->ops->begin(s, 1);
  if (!rc) rc = jobs_submit(s, type, admin->workspace_id, NULL, admin->user_id, request, id);
  if (!rc) rc = s->ops->commit(s);
  if (rc) fprintf(stderr, "submit: %s\n", assay_error_last()->message);
  assert_int_equal(rc, ASSAY_OK);
  platform_store_release(p, s);
  json_decref(request);
}

static json_t *get_job(assay_platform *p, const char *id) {
  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  json_t *job = NULL;
  int rc = jobs_get(s, id, &job);
  platform_store_release(p, s);
  assert_int_equal(rc, ASSAY_OK);
  return job;
}

static const char *status_of(json_t *job) {
  return json_string_value(json_object_get(job, "status"));
}

/* Poll until the job's status is `want` (or the time is up); the record. */
static json_t *wait_status(assay_platform *p, const char *id, const char *want, int secs) {
  for (int i = 0; i < secs * 50; i++) {
    json_t *job = get_job(p, id);
    if (strcmp(status_of(job), want) == 0) return job;
    json_decref(job);
    sleep_ms(20);
  }
  json_t *job = get_job(p, id);
  fprintf(stderr, "job %s: %s, wanted %s\n", id, status_of(job), want);
  fail();
  return job;
}

static char *read_text(const char *path) {
  FILE *fp = fopen(path, "r");
  if (!fp) return NULL;
  char *buf = NULL;
  size_t cap = 0;
  ssize_t n = getdelim(&buf, &cap, '\0', fp);
  fclose(fp);
  if (n < 0) {
    free(buf);
    return strdup("");
  }
  return buf;
}

/* --- the store's operations -------------------------------------------------------- */

static void store_claim_finish(void **state) {
  (void)state;
  char *home = make_home();
  assay_platform *p = open_platform(home, 0);
  char a[37], b[37], c[37];
  submit(p, T_ECHO, json_pack("{s:s}", "word", "first"), a);
  submit(p, T_ECHO, NULL, b);
  submit(p, T_ECHO, NULL, c);

  json_t *job = get_job(p, a);
  assert_string_equal(status_of(job), "JOB_STATUS_PENDING");
  assert_string_equal(json_string_value(json_object_get(job, "job_type")), T_ECHO);
  assert_true(json_is_null(json_object_get(job, "start_time_secs")));
  assert_true(json_is_null(json_object_get(job, "started_at")));
  assert_true(json_is_null(json_object_get(job, "error_msg")));
  assert_true(json_real_value(json_object_get(job, "running_time_secs")) == 0.0);
  assert_null(json_object_get(job, "owner"));   /* internal fields stay inside */
  assert_null(json_object_get(job, "request"));
  assert_non_null(json_string_value(json_object_get(job, "created_at")));
  json_decref(job);

  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  int64_t now = assay__now();
  /* claims come oldest first, each job once */
  const char *order[] = {a, b, c};
  for (int i = 0; i < 3; i++) {
    json_t *claimed = NULL;
    assert_int_equal(s->ops->begin(s, 1), ASSAY_OK);
    assert_int_equal(s->ops->job_claim(s, "owner-1", now - 10, &claimed), ASSAY_OK);
    assert_int_equal(s->ops->commit(s), ASSAY_OK);
    assert_non_null(claimed);
    assert_string_equal(json_string_value(json_object_get(claimed, "job_id")), order[i]);
    assert_string_equal(status_of(claimed), "JOB_STATUS_RUNNING");
    if (i == 0)
      assert_string_equal(
        json_string_value(json_object_get(json_object_get(claimed, "request"), "word")),
        "first");
    json_decref(claimed);
  }
  json_t *none = (json_t *)1;
  assert_int_equal(s->ops->job_claim(s, "owner-1", now, &none), ASSAY_OK);
  assert_null(none);

  /* heartbeats keep the owner's jobs from going stale */
  json_t *failed = NULL;
  assert_int_equal(s->ops->job_heartbeat(s, "owner-1", now), ASSAY_OK);
  assert_int_equal(s->ops->job_fail_stale(s, now - JOBS_STALE_S, "stale", now, &failed),
                   ASSAY_OK);
  assert_true(json_is_array(failed));
  assert_int_equal(json_array_size(failed), 0);
  json_decref(failed);

  /* requeue: only the owner's RUNNING job, back to PENDING as if never
   * claimed; claimed again afterwards */
  assert_int_equal(s->ops->job_requeue(s, c, "owner-2"), ASSAY_ERR_CONFLICT);
  assert_int_equal(s->ops->job_requeue(s, "no-such-job", "owner-1"), ASSAY_ERR_NOT_FOUND);
  assert_int_equal(s->ops->job_requeue(s, c, "owner-1"), ASSAY_OK);
  json_t *back = NULL;
  assert_int_equal(s->ops->job_get(s, c, &back), ASSAY_OK);
  assert_string_equal(status_of(back), "JOB_STATUS_PENDING");
  assert_true(json_is_null(json_object_get(back, "owner")));
  assert_true(json_is_null(json_object_get(back, "started_at")));
  assert_true(json_is_null(json_object_get(back, "heartbeat_at_secs")));
  json_decref(back);
  assert_int_equal(s->ops->job_requeue(s, c, "owner-1"), ASSAY_ERR_CONFLICT);
  assert_non_null(strstr(assay_error_last()->message, "JOB_STATUS_PENDING"));
  assert_int_equal(s->ops->job_claim(s, "owner-3", now - 10, &back), ASSAY_OK);
  assert_non_null(back);
  assert_string_equal(json_string_value(json_object_get(back, "job_id")), c);
  assert_string_equal(json_string_value(json_object_get(back, "owner")), "owner-3");
  json_decref(back);

  json_t *result = json_pack("{s:i}", "answer", 42);
  assert_int_equal(s->ops->job_finish(s, a, "JOB_STATUS_SUCCEEDED", NULL, result, now),
                   ASSAY_OK);
  /* a job ends once */
  assert_int_equal(s->ops->job_finish(s, a, "JOB_STATUS_FAILED", "late", NULL, now),
                   ASSAY_ERR_CONFLICT);
  assert_non_null(strstr(assay_error_last()->message, "already ended"));
  assert_int_equal(s->ops->job_finish(s, "no-such-job", "JOB_STATUS_FAILED", "x", NULL, now),
                   ASSAY_ERR_NOT_FOUND);
  json_decref(result);
  platform_store_release(p, s);

  job = get_job(p, a);
  assert_string_equal(status_of(job), "JOB_STATUS_SUCCEEDED");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(job, "result"), "answer")),
                   42);
  assert_int_equal(json_integer_value(json_object_get(job, "start_time_secs")), now - 10);
  assert_true(json_real_value(json_object_get(job, "running_time_secs")) == 10.0);
  assert_non_null(json_string_value(json_object_get(job, "finished_at")));
  json_decref(job);

  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  assert_int_equal(jobs_get(s, "no-such-job", &job), ASSAY_ERR_NOT_FOUND);
  platform_store_release(p, s);
  assay_platform_free(p);
  rm_home(home);
}

/* --- workers ------------------------------------------------------------------------- */

static void workers_run_and_log(void **state) {
  (void)state;
  char *home = make_home();
  assay_platform *p = open_platform(home, 2);
  char ok[37], bad[37], unknown[37];
  submit(p, T_ECHO, json_pack("{s:s}", "word", "hello"), ok);
  submit(p, T_FAIL, NULL, bad);
  submit(p, "JOB_TYPE_NOBODY_KNOWS", NULL, unknown);
  jobs_notify(p);

  json_t *job = wait_status(p, ok, "JOB_STATUS_SUCCEEDED", 10);
  json_t *result = json_object_get(job, "result");
  assert_string_equal(
    json_string_value(json_object_get(json_object_get(result, "echo"), "word")), "hello");
  assert_true(json_is_integer(json_object_get(job, "start_time_secs")));
  assert_true(json_is_null(json_object_get(job, "error_msg")));
  json_decref(job);

  job = wait_status(p, bad, "JOB_STATUS_FAILED", 10);
  assert_string_equal(json_string_value(json_object_get(job, "error_msg")),
                      "the data was bad: column 'x' missing");
  json_decref(job);
  job = wait_status(p, unknown, "JOB_STATUS_FAILED", 10);
  assert_non_null(strstr(json_string_value(json_object_get(job, "error_msg")),
                         "unknown job type 'JOB_TYPE_NOBODY_KNOWS'"));
  json_decref(job);

  /* the log: private, the job's lines and user code's */
  char path[4096];
  snprintf(path, sizeof path, "%s/jobs/%s.log", home, ok);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  char *log = read_text(path);
  assert_non_null(log);
  assert_non_null(strstr(log, "[assay] echo hello\n"));
  assert_non_null(strstr(log, "\na line from user code\n"));
  assert_non_null(strstr(log, "[assay] succeeded"));
  free(log);
  snprintf(path, sizeof path, "%s/jobs/%s.log", home, bad);
  log = read_text(path);
  assert_non_null(log);
  assert_non_null(strstr(log, "failed: the data was bad"));
  free(log);
  assay_platform_free(p);
  rm_home(home);
}

/* The log's cap: whole lines up to it, then one note line, then nothing
 * (not even the job's own lines). */
static void check_capped_log(const char *home, const char *id, long long cap, const char *note) {
  char path[4096];
  snprintf(path, sizeof path, "%s/jobs/%s.log", home, id);
  char *log = read_text(path);
  assert_non_null(log);
  size_t len = strlen(log), nl = strlen(note);
  assert_true(len > nl && len <= (size_t)cap + nl);
  if (strcmp(log + len - nl, note) != 0) fail_msg("the log ends with \"%s\"", log + len - nl);
  assert_true(len - nl > (size_t)cap - 100); /* filled up to the last whole line */
  assert_ptr_equal(strstr(log, "[log truncated"), log + len - nl); /* one note */
  assert_null(strstr(log, "flood done"));
  assert_null(strstr(log, "succeeded"));
  /* every line before the note is whole */
  size_t lines = 0;
  for (char *at = log, *end; at < log + len - nl; at = end + 1) {
    end = strchr(at, '\n');
    assert_non_null(end);
    assert_true(strncmp(at, "[assay] ", 8) == 0 || end - at == 99);
    lines++;
  }
  assert_true(lines >= 2);
  free(log);
}

static void job_log_is_capped(void **state) {
  (void)state;
  char *home = make_home();
  assay_platform *p = open_platform(home, 1);
  jobs_set_log_max(p, 4096);
  char small[37], big[37], quiet[37];
  submit(p, T_FLOOD, json_pack("{s:i}", "lines", 1000), small);
  jobs_notify(p);
  json_decref(wait_status(p, small, "JOB_STATUS_SUCCEEDED", 20));
  check_capped_log(home, small, 4096, "[log truncated at 4096 bytes: further output dropped]\n");
  /* a cap of whole MiB says so (the default's note: "at 64 MiB") */
  jobs_set_log_max(p, 1 << 20);
  submit(p, T_FLOOD, json_pack("{s:i}", "lines", 20000), big);
  jobs_notify(p);
  json_decref(wait_status(p, big, "JOB_STATUS_SUCCEEDED", 30));
  check_capped_log(home, big, 1 << 20, "[log truncated at 1 MiB: further output dropped]\n");
  /* under the cap nothing is dropped */
  submit(p, T_FLOOD, json_pack("{s:i}", "lines", 3), quiet);
  jobs_notify(p);
  json_decref(wait_status(p, quiet, "JOB_STATUS_SUCCEEDED", 20));
  char path[4096];
  snprintf(path, sizeof path, "%s/jobs/%s.log", home, quiet);
  char *log = read_text(path);
  assert_non_null(strstr(log, "[assay] flood done\n[assay] succeeded\n"));
  assert_null(strstr(log, "truncated"));
  free(log);
  assay_platform_free(p);
  rm_home(home);
}

static void workers_zero_leave_jobs_pending(void **state) {
  (void)state;
  char *home = make_home();
  assay_platform *p = open_platform(home, 0);
  char id[37];
  submit(p, T_ECHO, NULL, id);
  jobs_notify(p); /* nobody to wake */
  sleep_ms(1500);
  json_t *job = get_job(p, id);
  assert_string_equal(status_of(job), "JOB_STATUS_PENDING");
  json_decref(job);
  /* another platform with workers on the same home finds it (polling) */
  assay_platform *q = open_platform(home, 1);
  json_decref(wait_status(p, id, "JOB_STATUS_SUCCEEDED", 10));
  assay_platform_free(q);
  assay_platform_free(p);
  rm_home(home);
}

/* Read the count file: how often each job index 0..n-1 ran; pids seen. */
static void count_runs(const char *path, int n, int *runs, long *pids, int *npids) {
  memset(runs, 0, sizeof(int) * (size_t)n);
  *npids = 0;
  char *text = read_text(path);
  assert_non_null(text);
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    int idx = -1;
    long pid = 0;
    assert_int_equal(sscanf(line, "%d %ld", &idx, &pid), 2);
    assert_true(idx >= 0 && idx < n);
    runs[idx]++;
    int seen = 0;
    for (int i = 0; i < *npids; i++) seen |= pids[i] == pid;
    if (!seen && *npids < 8) pids[(*npids)++] = pid;
  }
  free(text);
}

#define N_SHARED 40

/* Two processes (fork) and two platform objects in this one, all on one
 * home, share a queue: every job runs exactly once. */
static void two_processes_never_run_a_job_twice(void **state) {
  (void)state;
  char *home = make_home();
  char file[4096];
  snprintf(file, sizeof file, "%s/runs.txt", home);
  /* the home exists (bootstrapped) and holds the jobs before the fork;
   * no database connection is open across it */
  assay_platform *p = open_platform(home, 0);
  char ids[N_SHARED][37];
  for (int i = 0; i < N_SHARED; i++)
    submit(p, T_COUNT, json_pack("{s:s, s:i}", "file", file, "n", i), ids[i]);
  assay_platform_free(p);

  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0) {
    /* the other process: its own platform and workers until the queue is
     * drained */
    assay_platform_options o = ASSAY_PLATFORM_OPTIONS_INIT;
    o.home = home;
    o.workers = 2;
    assay_platform *c = NULL;
    if (assay_platform_open_with(&c, &o) != ASSAY_OK) _exit(2);
    for (int tries = 0; tries < 1500; tries++) {
      store *s = NULL;
      int done = 1;
      if (platform_store_acquire(c, &s) != ASSAY_OK) _exit(3);
      json_t *job = NULL;
      if (jobs_get(s, ids[N_SHARED - 1], &job) != ASSAY_OK) _exit(4);
      done = strcmp(status_of(job), "JOB_STATUS_SUCCEEDED") == 0;
      json_decref(job);
      platform_store_release(c, s);
      if (done) break;
      sleep_ms(20);
    }
    assay_platform_free(c);
    _exit(0);
  }
  p = open_platform(home, 0);
  assay_platform *q1 = open_platform(home, 2), *q2 = open_platform(home, 2);
  jobs_notify(q1);
  jobs_notify(q2);
  for (int i = 0; i < N_SHARED; i++) json_decref(wait_status(p, ids[i], "JOB_STATUS_SUCCEEDED", 30));
  int status = 0;
  assert_int_equal(waitpid(child, &status, 0), child);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assay_platform_free(q1);
  assay_platform_free(q2);

  int runs[N_SHARED], npids = 0;
  long pids[8];
  count_runs(file, N_SHARED, runs, pids, &npids);
  for (int i = 0; i < N_SHARED; i++) {
    if (runs[i] != 1) fprintf(stderr, "job %d ran %d times\n", i, runs[i]);
    assert_int_equal(runs[i], 1);
  }
  assert_true(npids >= 1 && npids <= 2);
  assay_platform_free(p);
  rm_home(home);
}

/* Claim the next pending job for `owner` with a heartbeat at `when`. */
static void claim_as(assay_platform *p, const char *owner, int64_t when, const char *want) {
  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  json_t *j = NULL;
  assert_int_equal(s->ops->begin(s, 1), ASSAY_OK);
  assert_int_equal(s->ops->job_claim(s, owner, when, &j), ASSAY_OK);
  assert_int_equal(s->ops->commit(s), ASSAY_OK);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "job_id")), want);
  json_decref(j);
  platform_store_release(p, s);
}

/* A RUNNING job whose heartbeat is old (its process died) is failed by the
 * next worker that looks, and its type's `abandoned` hook is called with
 * it in the same transaction; a fresh one is left alone. */
static void stale_jobs_fail(void **state) {
  (void)state;
  char *home = make_home();
  assay_platform *p = open_platform(home, 0);
  char dead[37], alive[37], hooked[37], hooked_alive[37];
  submit(p, T_ECHO, NULL, dead);
  submit(p, T_ECHO, NULL, alive);
  submit(p, T_HOOKED, json_pack("{s:s}", "word", "abandoned"), hooked);
  submit(p, T_HOOKED, json_pack("{s:s}", "word", "still-beating"), hooked_alive);
  int64_t now = assay__now();
  claim_as(p, "a-dead-process", now - JOBS_STALE_S - 60, dead);
  claim_as(p, "a-live-process", now, alive);
  claim_as(p, "a-dead-process", now - JOBS_STALE_S - 60, hooked);
  claim_as(p, "a-live-process", now, hooked_alive);

  /* a hook that fails rolls the whole look back: nothing is failed yet */
  pthread_mutex_lock(&hook_lock);
  hook_fails = 1;
  hook_calls = 0;
  hook_words[0] = '\0';
  pthread_mutex_unlock(&hook_lock);
  assay_platform *q = open_platform(home, 1);
  sleep_ms(1000);
  assay_platform_free(q);
  json_t *job = get_job(p, dead);
  assert_string_equal(status_of(job), "JOB_STATUS_RUNNING");
  json_decref(job);
  job = get_job(p, hooked);
  assert_string_equal(status_of(job), "JOB_STATUS_RUNNING");
  json_decref(job);

  pthread_mutex_lock(&hook_lock);
  hook_fails = 0;
  pthread_mutex_unlock(&hook_lock);
  q = open_platform(home, 1);
  job = wait_status(p, dead, "JOB_STATUS_FAILED", 10);
  assert_string_equal(json_string_value(json_object_get(job, "error_msg")),
                      "the platform process running this job stopped");
  assert_non_null(json_string_value(json_object_get(job, "finished_at")));
  json_decref(job);
  job = wait_status(p, hooked, "JOB_STATUS_FAILED", 10);
  json_decref(job);
  job = get_job(p, alive);
  assert_string_equal(status_of(job), "JOB_STATUS_RUNNING");
  json_decref(job);
  job = get_job(p, hooked_alive);
  assert_string_equal(status_of(job), "JOB_STATUS_RUNNING");
  json_decref(job);
  /* the hook: once, for the stale job of its type, seen as FAILED */
  pthread_mutex_lock(&hook_lock);
  assert_int_equal(hook_calls, 1);
  assert_string_equal(hook_words, "abandoned:JOB_STATUS_FAILED:stale ");
  pthread_mutex_unlock(&hook_lock);
  /* the job's log says why */
  char path[4096];
  snprintf(path, sizeof path, "%s/jobs/%s.log", home, hooked);
  char *log = read_text(path);
  assert_non_null(log);
  assert_non_null(strstr(log, "failed: the platform process running this job stopped"));
  free(log);
  assay_platform_free(q);
  assay_platform_free(p);
  rm_home(home);
}

/* A job that watches its cancellation flag: freeing the platform cancels
 * it at once, it goes back to PENDING (not FAILED), and the next platform
 * on the home runs it again. jobs_cancel_running(RUNNER_CANCEL_JOB) ends
 * it CANCELLED. */
static void stop_cancels_and_requeues(void **state) {
  (void)state;
  char *home = make_home();
  __atomic_store_n(&watch_wait, 1, __ATOMIC_RELEASE);
  __atomic_store_n(&watch_started, 0, __ATOMIC_RELEASE);
  __atomic_store_n(&watch_runs, 0, __ATOMIC_RELEASE);
  assay_platform *p = open_platform(home, 1);
  char id[37];
  submit(p, T_WATCH, NULL, id);
  jobs_notify(p);
  for (int i = 0; i < 500 && !__atomic_load_n(&watch_started, __ATOMIC_ACQUIRE); i++) sleep_ms(10);
  assert_int_equal(__atomic_load_n(&watch_started, __ATOMIC_ACQUIRE), 1);
  assert_int_equal(jobs_cancel_running(p, "not-running-here", RUNNER_CANCEL_JOB), 0);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  assay_platform_free(p);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  if (took > 3.0) fail_msg("freeing the platform took %.1f s", took);

  p = open_platform(home, 0);
  json_t *job = get_job(p, id);
  assert_string_equal(status_of(job), "JOB_STATUS_PENDING");
  assert_true(json_is_null(json_object_get(job, "started_at")));
  assert_true(json_is_null(json_object_get(job, "error_msg")));
  assert_true(json_is_null(json_object_get(job, "finished_at")));
  json_decref(job);
  char path[4096];
  snprintf(path, sizeof path, "%s/jobs/%s.log", home, id);
  char *log = read_text(path);
  assert_non_null(log);
  assert_non_null(strstr(log, "interrupted: the platform is stopping; the job goes back"));
  assert_null(strstr(log, "failed:"));
  free(log);

  /* the next platform runs it again (this time it does not wait) */
  __atomic_store_n(&watch_wait, 0, __ATOMIC_RELEASE);
  assay_platform *q = open_platform(home, 1);
  json_decref(wait_status(p, id, "JOB_STATUS_SUCCEEDED", 10));
  assert_int_equal(__atomic_load_n(&watch_runs, __ATOMIC_ACQUIRE), 2);

  /* cancelled by its user: CANCELLED, the job's own message in its log */
  __atomic_store_n(&watch_wait, 1, __ATOMIC_RELEASE);
  __atomic_store_n(&watch_started, 0, __ATOMIC_RELEASE);
  char other[37];
  submit(p, T_WATCH, NULL, other);
  jobs_notify(q);
  for (int i = 0; i < 500 && !__atomic_load_n(&watch_started, __ATOMIC_ACQUIRE); i++) sleep_ms(10);
  assert_int_equal(jobs_cancel_running(q, other, RUNNER_CANCEL_JOB), 1);
  job = wait_status(p, other, "JOB_STATUS_CANCELLED", 10);
  assert_string_equal(json_string_value(json_object_get(job, "error_msg")),
                      "the job was cancelled");
  json_decref(job);
  snprintf(path, sizeof path, "%s/jobs/%s.log", home, other);
  log = read_text(path);
  assert_non_null(log);
  assert_non_null(strstr(log, "cancelled: watcher cancelled: the job was cancelled"));
  free(log);
  assay_platform_free(q);
  assay_platform_free(p);
  rm_home(home);
}

/* A job cancelled before its function ran — PENDING when cancelled, or
 * requeued after its cancellation was requested and then claimed — gets
 * its type's `abandoned` hook (JOB_ABANDONED_CANCELLED) with its record
 * as recorded CANCELLED, in the same transaction; a job that ran does
 * not. */
static void cancelled_before_running(void **state) {
  (void)state;
  char *home = make_home();
  assay_platform *p = open_platform(home, 0);
  pthread_mutex_lock(&hook_lock);
  hook_fails = 0;
  hook_calls = 0;
  hook_words[0] = '\0';
  pthread_mutex_unlock(&hook_lock);

  /* pending: cancelled at once, the hook called once */
  char pending[37];
  submit(p, T_HOOKED, json_pack("{s:s}", "word", "pending"), pending);
  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  json_t *rec = NULL;
  assert_int_equal(jobs_cancel(p, s, pending, &rec), ASSAY_OK);
  assert_string_equal(status_of(rec), "JOB_STATUS_CANCELLED");
  json_decref(rec);
  /* a second cancel: already finished, no second call */
  assert_int_equal(jobs_cancel(p, s, pending, &rec), ASSAY_ERR_CONFIG);
  platform_store_release(p, s);
  pthread_mutex_lock(&hook_lock);
  assert_int_equal(hook_calls, 1);
  assert_string_equal(hook_words, "pending:JOB_STATUS_CANCELLED:cancelled ");
  hook_calls = 0;
  hook_words[0] = '\0';
  pthread_mutex_unlock(&hook_lock);

  /* requeued with its cancellation requested: not run, CANCELLED, hooked */
  char requeued[37];
  submit(p, T_HOOKED, json_pack("{s:s}", "word", "requeued"), requeued);
  claim_as(p, "a-stopping-process", assay__now(), requeued);
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  assert_int_equal(s->ops->begin(s, 1), ASSAY_OK);
  assert_int_equal(s->ops->job_request_cancel(s, requeued), ASSAY_OK);
  assert_int_equal(s->ops->job_requeue(s, requeued, "a-stopping-process"), ASSAY_OK);
  assert_int_equal(s->ops->commit(s), ASSAY_OK);
  platform_store_release(p, s);
  assert_int_equal(jobs_start(p, 1), ASSAY_OK);
  jobs_notify(p);
  json_t *job = wait_status(p, requeued, "JOB_STATUS_CANCELLED", 10);
  assert_string_equal(json_string_value(json_object_get(job, "error_msg")),
                      "the job was cancelled");
  json_decref(job);
  /* one that runs (and succeeds): no hook */
  char ran[37];
  submit(p, T_HOOKED, json_pack("{s:s}", "word", "ran"), ran);
  jobs_notify(p);
  json_decref(wait_status(p, ran, "JOB_STATUS_SUCCEEDED", 10));
  pthread_mutex_lock(&hook_lock);
  assert_int_equal(hook_calls, 1);
  assert_string_equal(hook_words, "requeued:JOB_STATUS_CANCELLED:cancelled ");
  pthread_mutex_unlock(&hook_lock);
  assay_platform_free(p);
  rm_home(home);
}

/* Cancelling a pending validation (of a dataset, of a prediction set)
 * settles its entry: INVALID "validation was cancelled: the job was
 * cancelled", not PENDING forever; an entry whose validation another job
 * now owns is left alone. */
static void cancelled_pending_validation_is_invalid(void **state) {
  (void)state;
  char *home = make_home();
  assay_platform *p = open_platform(home, 0); /* nothing runs the validations */
  char token[128];
  assert_int_equal(read_admin_token(home, token, sizeof token), 0);
  json_t *b = NULL;
  assert_int_equal(router_send(p, "POST", "/v1/projects", NULL, token,
                               "{\"name\":\"v\",\"description\":\"\","
                               "\"model_task\":\"MODEL_TASK_BINARY_CLASSIFICATION\"}",
                               &b),
                   201);
  char project[37], path[256], body[1024];
  snprintf(project, sizeof project, "%s",
           json_string_value(json_object_get(b, "project_id")));
  json_decref(b);
  assert_int_equal(router_send(p, "PUT", "/v1/files", "name=data.csv&upload_path=d", token,
                               "a,y\n1,0\n2,1\n", &b),
                   201);
  json_decref(b);
  assert_int_equal(router_send(p, "PUT", "/v1/files", "name=preds.csv&upload_path=d", token,
                               "p\n0.1\n0.9\n", &b),
                   201);
  json_decref(b);

  /* a dataset: its validation job pending, then cancelled */
  snprintf(path, sizeof path, "/v1/projects/%s/datasets", project);
  assert_int_equal(
      router_send(p, "POST", path, NULL, token,
                  "{\"name\":\"ref\",\"data_info\":{\"connection_info\":{\"data_file\":"
                  "{\"path\":\"assay://files/d/data.csv\"}},\"data_params\":{\"label_col\":"
                  "\"y\"}}}",
                  &b),
      201);
  char dataset[37], djob[37];
  snprintf(dataset, sizeof dataset, "%s", json_string_value(json_object_get(b, "dataset_id")));
  snprintf(djob, sizeof djob, "%s",
           json_string_value(json_object_get(b, "validation_job_id")));
  assert_string_equal(json_string_value(json_object_get(b, "validity_status")),
                      "VALIDITY_STATUS_PENDING");
  json_decref(b);
  assert_int_equal(strlen(djob), 36);

  /* a prediction set of it, its validation pending too */
  snprintf(path, sizeof path, "/v1/projects/%s/models", project);
  assert_int_equal(router_send(p, "POST", path, NULL, token,
                               "{\"name\":\"m\",\"model_info\":null}", &b),
                   201);
  char model[37];
  snprintf(model, sizeof model, "%s", json_string_value(json_object_get(b, "model_id")));
  json_decref(b);
  snprintf(path, sizeof path, "/v1/projects/%s/predictions", project);
  snprintf(body, sizeof body,
           "{\"dataset_id\":\"%s\",\"model_id\":\"%s\",\"pred_info\":{\"connection_info\":"
           "{\"data_file\":{\"path\":\"assay://files/d/preds.csv\"}},\"pred_params\":"
           "{\"pred_col\":\"p\"}}}",
           dataset, model);
  assert_int_equal(router_send(p, "POST", path, NULL, token, body, &b), 201);
  char preds[37], pjob[37];
  snprintf(preds, sizeof preds, "%s", json_string_value(json_object_get(b, "prediction_id")));
  snprintf(pjob, sizeof pjob, "%s", json_string_value(json_object_get(b, "validation_job_id")));
  json_decref(b);
  assert_int_equal(strlen(pjob), 36);

  const char *jobs[2] = {djob, pjob};
  const char *entries[2] = {"datasets", "predictions"};
  const char *ids[2] = {dataset, preds};
  for (int k = 0; k < 2; k++) {
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", jobs[k]);
    assert_int_equal(router_send(p, "POST", path, NULL, token, NULL, &b), 200);
    assert_string_equal(status_of(b), "JOB_STATUS_CANCELLED");
    json_decref(b);
    snprintf(path, sizeof path, "/v1/%s/%s", entries[k], ids[k]);
    assert_int_equal(router_send(p, "GET", path, NULL, token, NULL, &b), 200);
    assert_string_equal(json_string_value(json_object_get(b, "validity_status")),
                        "VALIDITY_STATUS_INVALID");
    assert_string_equal(json_string_value(json_object_get(b, "validity_message")),
                        "validation was cancelled: the job was cancelled");
    assert_true(json_is_null(json_object_get(b, "row_count")));
    json_decref(b);
  }

  /* the hook itself: an entry another job validates now is not touched */
  json_t *job = get_job(p, djob);
  json_object_set_new(json_object_get(job, "request"), "id", json_string(dataset));
  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  json_t *rec = NULL;
  assert_int_equal(s->ops->begin(s, 1), ASSAY_OK);
  assert_int_equal(s->ops->registry_get(s, "dataset", dataset, &rec), ASSAY_OK);
  json_object_set_new(rec, "validity_status", json_string("VALIDITY_STATUS_PENDING"));
  json_object_set_new(rec, "validation_job_id", json_string("another-job"));
  assert_int_equal(s->ops->registry_update(s, "dataset", rec), ASSAY_OK);
  json_decref(rec);
  assert_int_equal(validate_abandoned(s, job, JOB_ABANDONED_CANCELLED), ASSAY_OK);
  assert_int_equal(s->ops->registry_get(s, "dataset", dataset, &rec), ASSAY_OK);
  assert_string_equal(json_string_value(json_object_get(rec, "validity_status")),
                      "VALIDITY_STATUS_PENDING");
  json_decref(rec);
  assert_int_equal(s->ops->commit(s), ASSAY_OK);
  platform_store_release(p, s);
  json_decref(job);
  assay_platform_free(p);
  rm_home(home);
}

/* Freeing the platform waits for the job its worker runs. */
static void stop_waits_for_running_jobs(void **state) {
  (void)state;
  char *home = make_home();
  slow_started = slow_finished = 0;
  assay_platform *p = open_platform(home, 1);
  char id[37];
  submit(p, T_SLOW, NULL, id);
  jobs_notify(p);
  json_decref(wait_status(p, id, "JOB_STATUS_RUNNING", 10));
  pthread_mutex_lock(&slow_lock);
  assert_int_equal(slow_started, 1);
  assert_int_equal(slow_finished, 0);
  pthread_mutex_unlock(&slow_lock);
  assay_platform_free(p);
  pthread_mutex_lock(&slow_lock);
  assert_int_equal(slow_finished, 1);
  pthread_mutex_unlock(&slow_lock);
  p = open_platform(home, 0);
  json_t *job = get_job(p, id);
  assert_string_equal(status_of(job), "JOB_STATUS_SUCCEEDED");
  json_decref(job);
  assay_platform_free(p);
  rm_home(home);
}

/* --- routes and the client ------------------------------------------------------------ */

static void job_routes(void **state) {
  (void)state;
  char *home = make_home();
  assay_platform *p = open_platform(home, 1);
  char token[128], outsider_token[ASSAY_TOKEN_LEN], viewer_token[ASSAY_TOKEN_LEN];
  assert_int_equal(read_admin_token(home, token, sizeof token), 0);

  /* a viewer of the default workspace, and the admin of another one */
  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  int64_t now = assay__now();
  char other_ws[37], viewer[37], outsider[37], tid[37];
  assay__uuid(other_ws);
  assay__uuid(viewer);
  assay__uuid(outsider);
  const principal *admin = platform_admin_principal(p);
  int rc = s->ops->begin(s, 1);
  if (!rc) rc = s->ops->workspace_insert(s, other_ws, "elsewhere", now);
  if (!rc) rc = s->ops->user_insert(s, viewer, "viewer", "Viewer", 0, now);
  if (!rc) rc = s->ops->user_insert(s, outsider, "outsider", "Outsider", 0, now);
  if (!rc) rc = s->ops->member_insert(s, admin->workspace_id, viewer, "WORKSPACE_ROLE_VIEWER");
  if (!rc) rc = s->ops->member_insert(s, other_ws, outsider, "WORKSPACE_ROLE_ADMIN");
  if (!rc) rc = token_mint(s, viewer, admin->workspace_id, "t", now + 3600, viewer_token, tid);
  if (!rc) rc = token_mint(s, outsider, other_ws, "t", now + 3600, outsider_token, tid);
  if (!rc) rc = s->ops->commit(s);
  assert_int_equal(rc, ASSAY_OK);
  platform_store_release(p, s);

  char id[37];
  submit(p, T_ECHO, json_pack("{s:s}", "word", "routed"), id);
  jobs_notify(p);
  json_decref(wait_status(p, id, "JOB_STATUS_SUCCEEDED", 10));

  char path[128], log_path[160];
  snprintf(path, sizeof path, "/v1/jobs/%s", id);
  snprintf(log_path, sizeof log_path, "/v1/jobs/%s/log", id);
  json_t *b = NULL;
  assert_int_equal(router_send(p, "GET", path, NULL, token, NULL, &b), 200);
  assert_string_equal(json_string_value(json_object_get(b, "job_id")), id);
  assert_string_equal(status_of(b), "JOB_STATUS_SUCCEEDED");
  assert_true(json_is_number(json_object_get(b, "running_time_secs")));
  assert_true(json_is_integer(json_object_get(b, "start_time_secs")));
  json_decref(b);
  assert_int_equal(router_send(p, "GET", log_path, NULL, viewer_token, NULL, &b), 200);
  assert_string_equal(json_string_value(json_object_get(b, "job_id")), id);
  assert_non_null(strstr(json_string_value(json_object_get(b, "log")), "echo routed"));
  json_decref(b);

  /* another workspace's caller: not found, like an unknown job */
  assert_int_equal(router_send(p, "GET", path, NULL, outsider_token, NULL, &b), 404);
  assert_string_equal(err_name(b), "NotFoundError");
  assert_non_null(strstr(err_message(b), id));
  json_decref(b);
  assert_int_equal(router_send(p, "GET", log_path, NULL, outsider_token, NULL, &b), 404);
  json_decref(b);
  assert_int_equal(router_send(p, "GET", "/v1/jobs/nope", NULL, token, NULL, &b), 404);
  assert_non_null(strstr(err_message(b), "job 'nope' not found"));
  json_decref(b);
  assert_int_equal(router_send(p, "GET", "/v1/jobs/nope/log", NULL, token, NULL, &b), 404);
  json_decref(b);
  assert_int_equal(router_send(p, "GET", path, NULL, NULL, NULL, &b), 401);
  json_decref(b);

  /* a job without a log yet: an empty log; invalid UTF-8 in a log is
   * replaced, the answer stays JSON */
  char quiet[37];
  submit(p, "JOB_TYPE_NOT_RUN_HERE", NULL, quiet);
  snprintf(log_path, sizeof log_path, "/v1/jobs/%s/log", quiet);
  jobs_notify(p);
  json_t *job = wait_status(p, quiet, "JOB_STATUS_FAILED", 10); /* nothing writes it now */
  json_decref(job);
  char file[4096];
  snprintf(file, sizeof file, "%s/jobs/%s.log", home, quiet);
  unlink(file);
  assert_int_equal(router_send(p, "GET", log_path, NULL, token, NULL, &b), 200);
  assert_string_equal(json_string_value(json_object_get(b, "log")), "");
  json_decref(b);
  FILE *fp = fopen(file, "w");
  assert_non_null(fp);
  fputs("bad \xff\xfe bytes\n", fp);
  fclose(fp);
  assert_int_equal(router_send(p, "GET", log_path, NULL, token, NULL, &b), 200);
  assert_string_equal(json_string_value(json_object_get(b, "log")),
                      "bad \xEF\xBF\xBD\xEF\xBF\xBD bytes\n");
  json_decref(b);
  assay_platform_free(p);
  rm_home(home);
}

static void client_wait_job(void **state) {
  (void)state;
  char *home = make_home();
  assay_platform *p = open_platform(home, 0);
  char id[37];
  submit(p, T_ECHO, json_pack("{s:s}", "word", "waited"), id);

  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.home = home;
  o.workers = 0;
  assay_client *c = NULL;
  assert_int_equal(assay_client_new(&c, &o), ASSAY_OK);
  assay_value *v = NULL;
  assert_int_equal(assay_client_get_job(&v, c, id), ASSAY_OK);
  assert_string_equal(status_of(JV(v)), "JOB_STATUS_PENDING");
  assay_value_free(v);

  /* nobody runs it: a timeout that names the job and its status */
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  assert_int_equal(assay_client_wait_job(&v, c, id, 0.1, 0.3), ASSAY_ERR_TIMEOUT);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  assert_true(took >= 0.25 && took < 2.0);
  assert_non_null(strstr(assay_error_last()->message, id));
  assert_non_null(strstr(assay_error_last()->message, "JOB_STATUS_PENDING"));

  /* workers start: the wait ends with the final record */
  assert_int_equal(jobs_start(p, 1), ASSAY_OK);
  jobs_notify(p);
  assert_int_equal(assay_client_wait_job(&v, c, id, 0.2, 10), ASSAY_OK);
  assert_string_equal(status_of(JV(v)), "JOB_STATUS_SUCCEEDED");
  assay_value_free(v);
  assert_int_equal(assay_client_wait_job(NULL, c, id, 0, 0), ASSAY_OK);
  assert_int_equal(assay_client_get_job_log(&v, c, id), ASSAY_OK);
  assert_non_null(strstr(json_string_value(json_object_get(JV(v), "log")), "echo waited"));
  assay_value_free(v);
  assert_int_equal(assay_client_get_job(&v, c, "missing"), ASSAY_ERR_NOT_FOUND);
  assert_int_equal(assay_client_wait_job(&v, c, "", 0, 0), ASSAY_ERR_CONFIG);
  assay_client_free(c);
  assay_platform_free(p);
  rm_home(home);
}

int main(void) {
  if (register_types() != ASSAY_OK) return 1;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(store_claim_finish),
    cmocka_unit_test(workers_run_and_log),
    cmocka_unit_test(job_log_is_capped),
    cmocka_unit_test(workers_zero_leave_jobs_pending),
    cmocka_unit_test(two_processes_never_run_a_job_twice),
    cmocka_unit_test(stale_jobs_fail),
    cmocka_unit_test(stop_waits_for_running_jobs),
    cmocka_unit_test(stop_cancels_and_requeues),
    cmocka_unit_test(cancelled_before_running),
    cmocka_unit_test(cancelled_pending_validation_is_invalid),
    cmocka_unit_test(job_routes),
    cmocka_unit_test(client_wait_job),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
