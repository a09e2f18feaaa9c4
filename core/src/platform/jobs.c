/* platform/jobs.c — the job queue's workers (contract in jobs.h): worker
 * threads that claim and run jobs (each running job with its cancellation
 * flag, set when the platform stops: the job goes back to the queue), a
 * heartbeat thread that keeps this process's running jobs alive and fails
 * those whose process died (calling their type's `abandoned` hook), the
 * dispatch table (job type -> functions), job logs under <home>/jobs/, and
 * the GET /v1/jobs/{job_id}[/log] handlers. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "platform/access.h"
#include "platform/files.h"
#include "platform/handlers.h"
#include "platform/jobs.h"

#define ST_PENDING JOB_STATUS_PENDING
#define ST_RUNNING JOB_STATUS_RUNNING
#define ST_SUCCEEDED JOB_STATUS_SUCCEEDED
#define ST_FAILED JOB_STATUS_FAILED
#define ST_CANCELLED JOB_STATUS_CANCELLED
#define STALE_MESSAGE "the platform process running this job stopped"
/* GET /v1/jobs/{id}/log answers at most the last this many bytes. */
#define LOG_ANSWER_MAX ((off_t)1 << 20)

/* --- the dispatch table ---------------------------------------------------------- */

typedef struct job_type_entry {
  char type[64];
  job_fn fn;
  job_abandoned_fn abandoned;
} job_type_entry;

#define JOB_TYPES_MAX 32
static job_type_entry job_types[JOB_TYPES_MAX] = {
  {JOB_TYPE_DATASET_VALIDATION, validate_dataset_job, validate_abandoned},
  {JOB_TYPE_PREDICTIONS_VALIDATION, validate_predictions_job, validate_abandoned},
  {JOB_TYPE_STRESS_TEST, stress_test_job, NULL},
};
static int n_job_types = 3;
static pthread_mutex_t job_types_lock = PTHREAD_MUTEX_INITIALIZER;

int jobs_register(const char *type, job_fn fn, job_abandoned_fn abandoned) {
  if (!type || !*type || strlen(type) >= sizeof job_types[0].type || !fn)
    return assay__err(ASSAY_ERR_CONFIG, "jobs_register: a job type name (1..63 bytes) and a "
                                        "function are required");
  int rc = ASSAY_OK;
  pthread_mutex_lock(&job_types_lock);
  int i = 0;
  while (i < n_job_types && strcmp(job_types[i].type, type) != 0) i++;
  if (i == n_job_types) {
    if (n_job_types == JOB_TYPES_MAX) {
      rc = assay__err(ASSAY_ERR_CONFIG, "jobs_register: at most %d job types", JOB_TYPES_MAX);
    } else {
      snprintf(job_types[i].type, sizeof job_types[i].type, "%s", type);
      n_job_types++;
    }
  }
  if (!rc) {
    job_types[i].fn = fn;
    job_types[i].abandoned = abandoned;
  }
  pthread_mutex_unlock(&job_types_lock);
  return rc;
}

/* The functions of a job type; 0 when it is unknown. */
static int job_type_find(const char *type, job_fn *fn, job_abandoned_fn *abandoned) {
  int found = 0;
  pthread_mutex_lock(&job_types_lock);
  for (int i = 0; type && i < n_job_types && !found; i++) {
    if (strcmp(job_types[i].type, type) != 0) continue;
    found = 1;
    if (fn) *fn = job_types[i].fn;
    if (abandoned) *abandoned = job_types[i].abandoned;
  }
  pthread_mutex_unlock(&job_types_lock);
  return found;
}

/* --- submitting and reading --------------------------------------------------------- */

int jobs_submit(store *s, const char *type, const char *workspace_id, const char *project_id,
                const char *submitted_by, json_t *request, char job_id[37]) {
  if (!type || !workspace_id)
    return assay__err(ASSAY_ERR_INTERNAL, "jobs_submit: a job type and a workspace are required");
  if (request && !json_is_object(request))
    return assay__err(ASSAY_ERR_INTERNAL, "jobs_submit: the request must be an object");
  char id[37];
  assay__uuid(id);
  json_t *job = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:I}", "job_id", id, "job_type",
                          type, "workspace_id", workspace_id, "project_id", project_id,
                          "submitted_by", submitted_by, "status", ST_PENDING, "created_at_secs",
                          (json_int_t)assay__now());
  if (!job) return assay__nomem();
  if (request && json_object_set(job, "request", request) != 0) {
    json_decref(job);
    return assay__nomem();
  }
  int rc = s->ops->job_insert(s, job);
  json_decref(job);
  if (!rc) memcpy(job_id, id, sizeof id);
  return rc;
}

/* The public record of a stored one (see jobs.h), in place. */
static int job_public(json_t *rec, int64_t now) {
  json_t *started = json_object_get(rec, "started_at_secs");
  json_t *finished = json_object_get(rec, "finished_at_secs");
  double running = 0;
  if (json_is_integer(started)) {
    int64_t end = json_is_integer(finished) ? (int64_t)json_integer_value(finished) : now;
    int64_t d = end - (int64_t)json_integer_value(started);
    running = d > 0 ? (double)d : 0.0;
  }
  if (json_object_set(rec, "start_time_secs", json_is_integer(started) ? started : json_null()) ||
      json_object_set_new(rec, "running_time_secs", json_real(running)))
    return assay__nomem();
  static const char *const internal[] = {"request",          "owner",           "heartbeat_at_secs",
                                         "created_at_secs",  "started_at_secs", "finished_at_secs",
                                         NULL};
  for (int i = 0; internal[i]; i++) json_object_del(rec, internal[i]);
  return ASSAY_OK;
}

int jobs_get(store *s, const char *job_id, json_t **out) {
  json_t *rec = NULL;
  int rc = s->ops->job_get(s, job_id, &rec);
  if (!rc) rc = job_public(rec, assay__now());
  if (rc) {
    json_decref(rec);
    return rc;
  }
  *out = rec;
  return ASSAY_OK;
}

/* --- the workers' state --------------------------------------------------------- */

typedef struct job_run job_run;

typedef struct jobs_state {
  assay_platform *p;
  pthread_mutex_t mu;
  pthread_cond_t wake;     /* workers: a job was submitted here, or stop */
  pthread_cond_t hb_wake;  /* the heartbeat thread: stop */
  unsigned long kicks;     /* jobs_notify() calls so far */
  int stopping;            /* workers: claim nothing more, exit */
  int hb_stopping;         /* the heartbeat thread: exit */
  int running;             /* jobs running in this process */
  job_run *runs;           /* ... and their runs (each one's cancel flag) */
  int n_threads;
  pthread_t *threads;
  int hb_started;
  pthread_t hb;
  char owner[37];          /* this platform instance's id in jobs.owner */
  char *dir;               /* <home>/jobs */
  long long log_max;       /* each job log's cap (JOBS_LOG_MAX_BYTES); atomic */
} jobs_state;

static jobs_state *state_of(assay_platform *p) { return p ? *platform_jobs_slot(p) : NULL; }

void jobs_notify(assay_platform *p) {
  jobs_state *js = state_of(p);
  if (!js) return;
  pthread_mutex_lock(&js->mu);
  js->kicks++;
  pthread_cond_broadcast(&js->wake);
  pthread_mutex_unlock(&js->mu);
}

/* Wait on cv (CLOCK_MONOTONIC) for at most `secs`; js->mu is held. */
static void wait_secs(jobs_state *js, pthread_cond_t *cv, time_t secs) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += secs;
  pthread_cond_timedwait(cv, &js->mu, &until);
}

/* --- job logs ------------------------------------------------------------------- */

struct job_run {
  job_ctx ctx;        /* first: a job_ctx * is a job_run * */
  jobs_state *js;
  int fd;             /* the log, opened at the first line; -1 before */
  int log_failed;
  long long log_size; /* bytes in the log (from its size when opened) */
  int log_full;       /* the cap was reached: nothing more is written */
  int cancel;         /* ctx.cancel points here; __atomic_* access */
  job_run *next;      /* js->runs, under js->mu */
  pthread_mutex_t mu; /* the log and the progress (any thread may report) */
  int64_t progress_ms;   /* when progress was last written (monotonic ms) */
  int progress_written;  /* whether any was */
};

static int log_path(char *buf, size_t size, const char *dir, const char *job_id) {
  return snprintf(buf, size, "%s/%s.log", dir, job_id) < (int)size ? 0 : -1;
}

/* Write a whole line (one write keeps lines whole); 0 when all of it went. */
static int write_line(job_run *r, const char *line, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(r->fd, line + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += (size_t)n;
  }
  r->log_size += (long long)off;
  return off == len ? 0 : -1;
}

/* Append `len` bytes and a line break to the job's log, up to its cap
 * (jobs.h, JOBS_LOG_MAX_BYTES). */
static void log_write_locked(job_run *r, const char *text, size_t len);
static void log_write(job_run *r, const char *text, size_t len) {
  pthread_mutex_lock(&r->mu);
  log_write_locked(r, text, len);
  pthread_mutex_unlock(&r->mu);
}

static void log_write_locked(job_run *r, const char *text, size_t len) {
  if (r->log_full) return;
  long long max = __atomic_load_n(&r->js->log_max, __ATOMIC_RELAXED);
  if (r->fd < 0 && !r->log_failed) {
    char path[PATH_MAX];
    (void)mkdir(r->js->dir, 0700);
    if (log_path(path, sizeof path, r->js->dir, r->ctx.job_id) == 0)
      r->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    struct stat st;
    if (r->fd >= 0 && fstat(r->fd, &st) == 0) r->log_size = (long long)st.st_size;
    if (r->fd < 0) r->log_failed = 1; /* best effort: the job still runs */
    /* only the truncation note goes past the cap: this log was cut before */
    if (r->log_size > max) r->log_full = 1;
  }
  if (r->fd < 0 || r->log_full) return;
  if ((long long)len + 1 > max - r->log_size) {
    char note[96];
    int mib = max % ((long long)1 << 20) == 0;
    int n = snprintf(note, sizeof note, "[log truncated at %lld %s: further output dropped]\n",
                     mib ? max >> 20 : max, mib ? "MiB" : "bytes");
    (void)write_line(r, note, (size_t)n);
    r->log_full = 1;
    return;
  }
  char *line = malloc(len + 1);
  if (!line) return;
  memcpy(line, text, len);
  line[len] = '\n';
  (void)write_line(r, line, len + 1);
  free(line);
}

static void job_log(job_ctx *j, const char *fmt, ...) {
  job_run *r = (job_run *)j;
  char *text = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&text, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  char *line = NULL;
  int m = asprintf(&line, "[assay] %s", text);
  free(text);
  if (m < 0) return;
  log_write(r, line, (size_t)m);
  free(line);
}

void jobs_runner_log(void *ctx, const char *stream, const char *line, size_t len) {
  (void)stream;
  if (ctx) log_write((job_run *)ctx, line, len);
}

/* --- running one job ------------------------------------------------------------ */

typedef struct claim_ctx {
  const char *owner;
  json_t *job;
} claim_ctx;

static int claim_tx(store *s, void *vctx) {
  claim_ctx *x = vctx;
  json_decref(x->job); /* a retried transaction's earlier attempt */
  x->job = NULL;
  return s->ops->job_claim(s, x->owner, assay__now(), &x->job);
}

typedef struct finish_ctx {
  const char *job_id, *status, *error_msg;
  const json_t *result;
  /* the job was cancelled before it ran: its type's abandoned hook
   * settles it in the same transaction */
  int unrun;
} finish_ctx;

static const char *text_of(const json_t *obj, const char *field);

/* Job job_id, just recorded CANCELLED before its function ran: its type's
 * hook (if any), with the record as it now is. */
static int settle_unrun(store *s, const char *job_id) {
  json_t *rec = NULL;
  int rc = s->ops->job_get(s, job_id, &rec);
  job_abandoned_fn abandoned = NULL;
  if (!rc && job_type_find(text_of(rec, "job_type"), NULL, &abandoned) && abandoned)
    rc = abandoned(s, rec, JOB_ABANDONED_CANCELLED);
  json_decref(rec);
  return rc;
}

static int finish_tx(store *s, void *vctx) {
  finish_ctx *x = vctx;
  int rc = s->ops->job_finish(s, x->job_id, x->status, x->error_msg, x->result, assay__now());
  if (!rc && x->unrun) rc = settle_unrun(s, x->job_id);
  return rc;
}

static const char *text_of(const json_t *obj, const char *field) {
  return json_string_value(json_object_get(obj, field));
}

typedef struct requeue_ctx {
  const char *job_id, *owner;
} requeue_ctx;

static int requeue_tx(store *s, void *vctx) {
  requeue_ctx *x = vctx;
  return s->ops->job_requeue(s, x->job_id, x->owner);
}

/* Put an interrupted job back to PENDING; 0 when it is. */
static int requeue(job_run *r) {
  requeue_ctx x = {r->ctx.job_id, r->js->owner};
  store *s = NULL;
  int rc = platform_store_acquire(r->js->p, &s);
  if (!rc) rc = store_tx(s, 1, requeue_tx, &x);
  platform_store_release(r->js->p, s);
  if (rc) {
    /* Left RUNNING (or already ended): failed as stale later at worst. */
    const assay_error *e = assay_error_last();
    job_log(&r->ctx, "could not put the job back in the queue: %s",
            e && e->message ? e->message : "?");
  }
  return rc;
}

/* --- progress ------------------------------------------------------------------- */

static int64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct progress_ctx {
  const char *job_id;
  int64_t done, total;
} progress_ctx;

static int progress_tx(store *s, void *vctx) {
  progress_ctx *x = vctx;
  return s->ops->job_progress(s, x->job_id, x->done, x->total);
}

/* job_ctx.progress: throttled writes of {done, total} to the job's row. */
static void job_progress(job_ctx *j, int done, int total) {
  job_run *r = (job_run *)j;
  if (done < 0) done = 0;
  if (total < 0) total = 0;
  pthread_mutex_lock(&r->mu);
  int64_t now = monotonic_ms();
  int due = !r->progress_written || done == 0 || done >= total ||
            now - r->progress_ms >= JOBS_PROGRESS_MIN_MS;
  if (due) {
    progress_ctx x = {j->job_id, done, total};
    store *s = NULL;
    /* best effort: a failed write only leaves the record behind */
    int rc = platform_store_acquire(j->platform, &s);
    if (!rc) rc = store_tx(s, 1, progress_tx, &x);
    platform_store_release(j->platform, s);
    if (!rc) {
      r->progress_written = 1;
      r->progress_ms = now;
    }
  }
  pthread_mutex_unlock(&r->mu);
}

/* --- running one job ------------------------------------------------------------ */

/* "A, B, C": the job types this process runs (a static buffer, under
 * job_types_lock). */
static void job_type_names(char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  pthread_mutex_lock(&job_types_lock);
  for (int i = 0; i < n_job_types && used < size; i++) {
    int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", job_types[i].type);
    if (n < 0) break;
    used += (size_t)n;
  }
  pthread_mutex_unlock(&job_types_lock);
}

/* Run a claimed job and record how it ended. */
static void run_job(jobs_state *js, json_t *job) {
  job_run r;
  memset(&r, 0, sizeof r);
  pthread_mutex_init(&r.mu, NULL);
  r.js = js;
  r.fd = -1;
  r.ctx.platform = js->p;
  r.ctx.job_id = text_of(job, "job_id");
  r.ctx.workspace_id = text_of(job, "workspace_id");
  r.ctx.project_id = text_of(job, "project_id");
  r.ctx.submitted_by = text_of(job, "submitted_by");
  r.ctx.request = json_object_get(job, "request");
  r.ctx.log = job_log;
  r.ctx.progress = job_progress;
  r.ctx.cancel = &r.cancel;
  /* a job requeued after its cancellation was requested is not run again */
  if (json_is_true(json_object_get(job, "cancel_requested")))
    __atomic_store_n(&r.cancel, RUNNER_CANCEL_JOB, __ATOMIC_RELEASE);
  /* visible to jobs_stop / jobs_cancel_running from here on */
  pthread_mutex_lock(&js->mu);
  r.next = js->runs;
  js->runs = &r;
  js->running++;
  if (js->stopping) {
    int none = RUNNER_CANCEL_NONE;
    __atomic_compare_exchange_n(&r.cancel, &none, RUNNER_CANCEL_STOPPING, 0, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
  }
  pthread_mutex_unlock(&js->mu);

  const char *type = text_of(job, "job_type");
  job_fn fn = NULL;
  json_t *result = NULL;
  char *error_msg = NULL;
  int rc;
  assay_error_clear();
  int early = __atomic_load_n(&r.cancel, __ATOMIC_ACQUIRE);
  if (early == RUNNER_CANCEL_STOPPING) {
    /* claimed as the platform began to stop: not started at all */
    rc = assay__err(ASSAY_ERR_UNAVAILABLE, "the job was not started: %s",
                    runner_cancel_reason(RUNNER_CANCEL_STOPPING));
  } else if (early == RUNNER_CANCEL_JOB) {
    rc = assay__err(ASSAY_ERR_UNAVAILABLE, "the job was not started: %s",
                    runner_cancel_reason(RUNNER_CANCEL_JOB));
  } else if (!job_type_find(type, &fn, NULL) || !fn) {
    char names[512];
    job_type_names(names, sizeof names);
    rc = assay__err(ASSAY_ERR_INTERNAL, "unknown job type '%s'; this platform runs: %s", type,
                    names);
  } else {
    job_log(&r.ctx, "job %s (%s) started", r.ctx.job_id, type);
    rc = fn(&r.ctx, &result);
  }
  int why = __atomic_load_n(&r.cancel, __ATOMIC_ACQUIRE);
  if (rc == ASSAY_ERR_UNAVAILABLE && why == RUNNER_CANCEL_STOPPING) {
    /* interrupted because this platform stops: not a verdict on the job */
    job_log(&r.ctx, "interrupted: the platform is stopping; the job goes back to the queue "
                    "and runs again when a platform opens this home");
    (void)requeue(&r); /* when it cannot, the job is failed as stale later */
    goto done;
  }
  const char *status = rc ? ST_FAILED : ST_SUCCEEDED;
  if (rc) {
    const assay_error *e = assay_error_last();
    if (e && e->message && *e->message) error_msg = strdup(e->message);
    else if (asprintf(&error_msg, "the job failed (error %d)", rc) < 0) error_msg = NULL;
    if (why == RUNNER_CANCEL_JOB) {
      status = ST_CANCELLED;
      job_log(&r.ctx, "cancelled: %s", error_msg ? error_msg : "(no message)");
      free(error_msg);
      error_msg = strdup(JOB_CANCELLED_MESSAGE);
    } else {
      job_log(&r.ctx, "failed: %s", error_msg ? error_msg : "(no message)");
    }
  } else {
    job_log(&r.ctx, "succeeded");
  }
  finish_ctx f = {r.ctx.job_id, status,
                  rc ? (error_msg ? error_msg : "the job failed") : NULL, result,
                  early == RUNNER_CANCEL_JOB};
  store *s = NULL;
  int frc = platform_store_acquire(js->p, &s);
  if (!frc) frc = store_tx(s, 1, finish_tx, &f);
  platform_store_release(js->p, s);
  if (frc) {
    /* Left RUNNING: without heartbeats it is failed as stale later. */
    const assay_error *e = assay_error_last();
    job_log(&r.ctx, "could not record the job's end: %s", e && e->message ? e->message : "?");
  }
done:
  pthread_mutex_lock(&js->mu);
  for (job_run **at = &js->runs; *at; at = &(*at)->next) {
    if (*at == &r) {
      *at = r.next;
      break;
    }
  }
  js->running--;
  pthread_mutex_unlock(&js->mu);
  if (r.fd >= 0) close(r.fd);
  pthread_mutex_destroy(&r.mu);
  json_decref(result);
  free(error_msg);
  assay_error_clear();
}

/* Claim the oldest pending job and run it; *ran = 1 when there was one. */
static void run_one(jobs_state *js, int *ran) {
  *ran = 0;
  store *s = NULL;
  if (platform_store_acquire(js->p, &s) != ASSAY_OK) return;
  claim_ctx x = {js->owner, NULL};
  /* A deferred transaction: polling an empty queue takes no write lock;
   * the claim's UPDATE takes it (and is retried if another connection
   * wrote meanwhile), and only changes a row still PENDING. */
  int rc = store_tx(s, 0, claim_tx, &x);
  platform_store_release(js->p, s);
  if (rc || !x.job) {
    json_decref(x.job);
    assay_error_clear();
    return;
  }
  *ran = 1;
  run_job(js, x.job);
  json_decref(x.job);
}

static void *worker_main(void *arg) {
  jobs_state *js = arg;
  for (;;) {
    pthread_mutex_lock(&js->mu);
    int stop = js->stopping;
    unsigned long seen = js->kicks;
    pthread_mutex_unlock(&js->mu);
    if (stop) break;
    int ran = 0;
    run_one(js, &ran);
    if (ran) continue; /* maybe more are waiting */
    pthread_mutex_lock(&js->mu);
    /* Wake for a job submitted here (a kick since the look), else poll
     * every second for jobs of other processes. */
    if (!js->stopping && js->kicks == seen) wait_secs(js, &js->wake, 1);
    pthread_mutex_unlock(&js->mu);
  }
  return NULL;
}

/* --- heartbeats and stale jobs ----------------------------------------------------- */

typedef struct beat_ctx {
  const char *owner;
  int beat;
  json_t *failed;  /* the jobs failed as stale */
} beat_ctx;

/* Heartbeats, then stale jobs failed and what they left settled by their
 * types' hooks, all in one transaction. */
static int beat_tx(store *s, void *vctx) {
  beat_ctx *x = vctx;
  json_decref(x->failed); /* a retried transaction's earlier attempt */
  x->failed = NULL;
  int64_t now = assay__now();
  int rc = x->beat ? s->ops->job_heartbeat(s, x->owner, now) : ASSAY_OK;
  if (!rc) rc = s->ops->job_fail_stale(s, now - JOBS_STALE_S, STALE_MESSAGE, now, &x->failed);
  size_t i;
  json_t *job;
  json_array_foreach(x->failed, i, job) {
    job_abandoned_fn abandoned = NULL;
    if (rc) break;
    if (job_type_find(text_of(job, "job_type"), NULL, &abandoned) && abandoned)
      rc = abandoned(s, job, JOB_ABANDONED_STALE);
  }
  return rc;
}

/* A line in the log of each job failed as stale. */
static void log_stale(jobs_state *js, const json_t *failed) {
  size_t i;
  json_t *job;
  json_array_foreach(failed, i, job) {
    job_run r;
    memset(&r, 0, sizeof r);
    r.js = js;
    r.fd = -1;
    r.ctx.job_id = text_of(job, "job_id");
    if (!r.ctx.job_id) continue;
    pthread_mutex_init(&r.mu, NULL);
    job_log(&r.ctx, "failed: %s (no heartbeat for more than %d s)", STALE_MESSAGE,
            JOBS_STALE_S);
    if (r.fd >= 0) close(r.fd);
    pthread_mutex_destroy(&r.mu);
  }
}

typedef struct cancels_ctx {
  const char *owner;
  json_t *ids;
} cancels_ctx;

static int cancels_tx(store *s, void *vctx) {
  cancels_ctx *x = vctx;
  json_decref(x->ids);
  x->ids = NULL;
  return s->ops->job_cancel_requests(s, x->owner, &x->ids);
}

/* Cancellations requested (by any process) of the jobs this one runs:
 * their flags are set. */
static void poll_cancels(jobs_state *js) {
  store *s = NULL;
  if (platform_store_acquire(js->p, &s) != ASSAY_OK) return;
  cancels_ctx x = {js->owner, NULL};
  int rc = store_tx(s, 0, cancels_tx, &x);
  platform_store_release(js->p, s);
  size_t i;
  json_t *id;
  if (!rc) {
    json_array_foreach(x.ids, i, id) {
      if (jobs_cancel_running(js->p, json_string_value(id), RUNNER_CANCEL_JOB)) {
        job_run *r = NULL;
        pthread_mutex_lock(&js->mu);
        for (r = js->runs; r; r = r->next)
          if (r->ctx.job_id && strcmp(r->ctx.job_id, json_string_value(id)) == 0) break;
        if (r) job_log(&r->ctx, "cancellation requested");
        pthread_mutex_unlock(&js->mu);
      }
    }
  }
  json_decref(x.ids);
}

/* Heartbeats and stale jobs every JOBS_HEARTBEAT_S; cancellation requests
 * of running jobs every JOBS_CANCEL_POLL_S. */
static void *heartbeat_main(void *arg) {
  jobs_state *js = arg;
  int64_t last_beat = 0;
  int beaten = 0;
  pthread_mutex_lock(&js->mu);
  while (!js->hb_stopping) {
    int running = js->running > 0;
    pthread_mutex_unlock(&js->mu);
    int64_t now = monotonic_ms();
    if (!beaten || now - last_beat >= (int64_t)JOBS_HEARTBEAT_S * 1000) {
      store *s = NULL;
      if (platform_store_acquire(js->p, &s) == ASSAY_OK) {
        beat_ctx x = {js->owner, running, NULL};
        if (store_tx(s, 0, beat_tx, &x) == ASSAY_OK) log_stale(js, x.failed);
        platform_store_release(js->p, s);
        json_decref(x.failed);
      }
      beaten = 1;
      last_beat = now;
    }
    if (running) poll_cancels(js);
    assay_error_clear();
    pthread_mutex_lock(&js->mu);
    if (!js->hb_stopping) wait_secs(js, &js->hb_wake, JOBS_CANCEL_POLL_S);
  }
  pthread_mutex_unlock(&js->mu);
  return NULL;
}

/* --- start / stop --------------------------------------------------------------- */

static void state_free(jobs_state *js) {
  pthread_cond_destroy(&js->wake);
  pthread_cond_destroy(&js->hb_wake);
  pthread_mutex_destroy(&js->mu);
  free(js->threads);
  free(js->dir);
  free(js);
}

static int cond_init_monotonic(pthread_cond_t *cv) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  int rc = pthread_cond_init(cv, &a);
  pthread_condattr_destroy(&a);
  return rc;
}

int jobs_start(assay_platform *p, int workers) {
  void **slot = platform_jobs_slot(p);
  if (*slot) return assay__err(ASSAY_ERR_INTERNAL, "jobs_start: the workers already run");
  if (workers <= 0) return ASSAY_OK; /* jobs wait for another process's workers */
  jobs_state *js = calloc(1, sizeof *js);
  if (!js) return assay__nomem();
  js->p = p;
  js->log_max = JOBS_LOG_MAX_BYTES;
  pthread_mutex_init(&js->mu, NULL);
  cond_init_monotonic(&js->wake);
  cond_init_monotonic(&js->hb_wake);
  assay__uuid(js->owner);
  js->threads = calloc((size_t)workers, sizeof *js->threads);
  if (!js->threads || asprintf(&js->dir, "%s/jobs", assay_platform_home(p)) < 0) {
    js->dir = NULL;
    state_free(js);
    return assay__nomem();
  }
  if (mkdir(js->dir, 0700) != 0 && errno != EEXIST) {
    int rc = assay__err(ASSAY_ERR_STORE, "cannot create %s: %s", js->dir, strerror(errno));
    state_free(js);
    return rc;
  }
  *slot = js;
  int rc = ASSAY_OK;
  if (pthread_create(&js->hb, NULL, heartbeat_main, js) != 0)
    rc = assay__err(ASSAY_ERR_INTERNAL, "cannot start the job heartbeat thread");
  else js->hb_started = 1;
  for (int i = 0; !rc && i < workers; i++) {
    if (pthread_create(&js->threads[i], NULL, worker_main, js) != 0)
      rc = assay__err(ASSAY_ERR_INTERNAL, "cannot start job worker thread %d of %d", i + 1,
                      workers);
    else js->n_threads++;
  }
  if (rc) jobs_stop(p);
  return rc;
}

void jobs_stop(assay_platform *p) {
  jobs_state *js = state_of(p);
  if (!js) return;
  /* Workers claim nothing more; the jobs they run are cancelled (a loader
   * is killed at once; the job goes back to the queue) and the heartbeat
   * keeps them alive until their functions return. */
  pthread_mutex_lock(&js->mu);
  js->stopping = 1;
  for (job_run *r = js->runs; r; r = r->next) {
    int none = RUNNER_CANCEL_NONE; /* a job cancelled already stays so */
    __atomic_compare_exchange_n(&r->cancel, &none, RUNNER_CANCEL_STOPPING, 0, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
  }
  pthread_cond_broadcast(&js->wake);
  pthread_mutex_unlock(&js->mu);
  for (int i = 0; i < js->n_threads; i++) pthread_join(js->threads[i], NULL);
  pthread_mutex_lock(&js->mu);
  js->hb_stopping = 1;
  pthread_cond_broadcast(&js->hb_wake);
  pthread_mutex_unlock(&js->mu);
  if (js->hb_started) pthread_join(js->hb, NULL);
  *platform_jobs_slot(p) = NULL;
  state_free(js);
}

void jobs_set_log_max(assay_platform *p, long long max_bytes) {
  jobs_state *js = state_of(p);
  if (js && max_bytes > 0) __atomic_store_n(&js->log_max, max_bytes, __ATOMIC_RELAXED);
}

int jobs_cancel_running(assay_platform *p, const char *job_id, int reason) {
  jobs_state *js = state_of(p);
  if (!js || !job_id || reason == RUNNER_CANCEL_NONE) return 0;
  int found = 0;
  pthread_mutex_lock(&js->mu);
  for (job_run *r = js->runs; r; r = r->next) {
    if (r->ctx.job_id && strcmp(r->ctx.job_id, job_id) == 0) {
      int none = RUNNER_CANCEL_NONE; /* a reason set first (stopping) stays */
      __atomic_compare_exchange_n(&r->cancel, &none, reason, 0, __ATOMIC_ACQ_REL,
                                  __ATOMIC_ACQUIRE);
      found = 1;
    }
  }
  pthread_mutex_unlock(&js->mu);
  return found;
}

/* --- routes ------------------------------------------------------------------------- */

/* The job, when the caller may see its workspace (else "not found"). */
static int visible_job(route_ctx *c, json_t **out) {
  const char *id = c->params[0];
  json_t *job = NULL;
  int rc = jobs_get(c->store, id, &job);
  if (rc) return rc;
  rc = access_workspace(c->store, c->who, text_of(job, "workspace_id"), ROLE_VIEWER, NULL);
  if (rc == ASSAY_ERR_NOT_FOUND || rc == ASSAY_ERR_PERMISSION_DENIED)
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "job '%s' not found", id);
  if (rc) {
    json_decref(job);
    return rc;
  }
  *out = job;
  return ASSAY_OK;
}

/* GET /v1/jobs/{job_id} */
int h_job_get(route_ctx *c) { return visible_job(c, &c->resp->body); }

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned char c = s[0];
  size_t len;
  uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return len;
}

/* `text` as a JSON string, each invalid UTF-8 byte replaced by U+FFFD. */
static json_t *utf8_string(const char *text, size_t n) {
  char *out = malloc(3 * n + 1);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n;) {
    size_t len = utf8_seq((const unsigned char *)text + i, n - i);
    if (len && !(len == 1 && text[i] == '\0')) {
      memcpy(out + o, text + i, len);
      o += len;
      i += len;
    } else {
      memcpy(out + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i++;
    }
  }
  json_t *j = json_stringn(out, o);
  free(out);
  return j;
}

/* The job's log: the whole file, or its last LOG_ANSWER_MAX bytes from a
 * line start, after a note saying how much was left out. */
static int read_log(assay_platform *p, const char *job_id, json_t **out) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/jobs/%s.log", assay_platform_home(p), job_id) >=
      (int)sizeof path)
    return assay__err(ASSAY_ERR_INTERNAL, "job log path too long");
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno != ENOENT) return assay__err(ASSAY_ERR_STORE, "cannot read the job's log: %s",
                                           strerror(errno));
    *out = json_string("");
    return *out ? ASSAY_OK : assay__nomem();
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return assay__err(ASSAY_ERR_STORE, "cannot read the job's log: %s", strerror(errno));
  }
  off_t start = st.st_size > LOG_ANSWER_MAX ? st.st_size - LOG_ANSWER_MAX : 0;
  size_t want = (size_t)(st.st_size - start);
  char *buf = malloc(want + 1);
  if (!buf) {
    close(fd);
    return assay__nomem();
  }
  size_t got = 0;
  while (got < want) {
    ssize_t n = pread(fd, buf + got, want - got, start + (off_t)got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  const char *text = buf;
  size_t len = got;
  char *joined = NULL;
  if (start > 0) {
    const char *nl = memchr(buf, '\n', got);
    size_t skip = nl ? (size_t)(nl - buf) + 1 : 0;
    text = buf + skip;
    len = got - skip;
    char note[96];
    int m = snprintf(note, sizeof note, "[... %lld bytes of earlier output left out]\n",
                     (long long)start + (long long)skip);
    joined = malloc((size_t)m + len);
    if (!joined) {
      free(buf);
      return assay__nomem();
    }
    memcpy(joined, note, (size_t)m);
    memcpy(joined + m, text, len);
    text = joined;
    len += (size_t)m;
  }
  *out = utf8_string(text, len);
  free(joined);
  free(buf);
  return *out ? ASSAY_OK : assay__nomem();
}

/* GET /v1/jobs/{job_id}/log -> {job_id, log} */
int h_job_log(route_ctx *c) {
  json_t *job = NULL, *log = NULL;
  int rc = visible_job(c, &job);
  if (rc) return rc;
  rc = read_log(c->platform, text_of(job, "job_id"), &log);
  if (!rc) {
    c->resp->body = json_pack("{s:s, s:o}", "job_id", text_of(job, "job_id"), "log", log);
    if (!c->resp->body) rc = assay__nomem();
  }
  json_decref(job);
  return rc;
}

/* --- cancelling and listing ------------------------------------------------------------ */

static const char *const job_status_names[] = {ST_PENDING, ST_RUNNING, ST_SUCCEEDED, ST_FAILED,
                                               ST_CANCELLED, NULL};

typedef struct cancel_ctx {
  const char *job_id;
  int running; /* out: the job was RUNNING (cancellation requested) */
} cancel_ctx;

static int cancel_tx(store *s, void *vctx) {
  cancel_ctx *x = vctx;
  x->running = 0;
  json_t *rec = NULL;
  int rc = s->ops->job_get(s, x->job_id, &rec);
  if (rc) return rc;
  const char *status = text_of(rec, "status");
  if (status && strcmp(status, ST_PENDING) == 0) {
    rc = s->ops->job_finish(s, x->job_id, ST_CANCELLED, JOB_CANCELLED_MESSAGE, NULL,
                            assay__now());
    /* never to run: what it would have settled is settled now */
    if (!rc) rc = settle_unrun(s, x->job_id);
  } else if (status && strcmp(status, ST_RUNNING) == 0) {
    rc = s->ops->job_request_cancel(s, x->job_id);
    x->running = 1;
  } else {
    rc = assay__err(ASSAY_ERR_CONFIG, "job '%s' already finished (%s); only a pending or "
                                      "running job can be cancelled",
                    x->job_id, status ? status : "?");
  }
  json_decref(rec);
  return rc;
}

int jobs_cancel(assay_platform *p, store *s, const char *job_id, json_t **out) {
  cancel_ctx x = {job_id, 0};
  int rc = store_tx(s, 1, cancel_tx, &x);
  if (rc) return rc;
  if (x.running && jobs_cancel_running(p, job_id, RUNNER_CANCEL_JOB)) {
    jobs_state *js = state_of(p);
    pthread_mutex_lock(&js->mu);
    for (job_run *r = js->runs; r; r = r->next)
      if (r->ctx.job_id && strcmp(r->ctx.job_id, job_id) == 0) job_log(&r->ctx, "cancellation requested");
    pthread_mutex_unlock(&js->mu);
  }
  return jobs_get(s, job_id, out);
}

/* "A, B, ..." of a NULL-terminated list into buf. */
static void join_names(char *buf, size_t size, const char *const *names) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; names[i] && used < size; i++) {
    int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
    if (n < 0) break;
    used += (size_t)n;
  }
}

int jobs_list(store *s, const char *project_id, const json_t *filter, json_t **out) {
  size_t i;
  json_t *st;
  json_array_foreach(json_object_get(filter, "status"), i, st) {
    const char *name = json_string_value(st);
    int known = 0;
    for (int k = 0; name && job_status_names[k] && !known; k++)
      known = strcmp(name, job_status_names[k]) == 0;
    if (!known) {
      char list[256];
      join_names(list, sizeof list, job_status_names);
      return assay__err(ASSAY_ERR_CONFIG, "unknown job status '%s'; expected any of: %s",
                        name ? name : "(not a string)", list);
    }
  }
  json_t *list = NULL;
  int rc = s->ops->job_list(s, project_id, filter, &list);
  if (rc) return rc;
  int64_t now = assay__now();
  json_t *job;
  json_array_foreach(list, i, job) {
    if (!rc) rc = job_public(job, now);
  }
  if (rc) {
    json_decref(list);
    return rc;
  }
  *out = list;
  return ASSAY_OK;
}

/* The caller may see project_id (it is in the caller's workspace) with at
 * least `min`. */
static int project_visible(route_ctx *c, const char *project_id, workspace_role min) {
  json_t *p = NULL;
  int rc = c->store->ops->project_get(c->store, c->who->workspace_id, project_id, &p);
  json_decref(p);
  if (!rc) rc = access_workspace(c->store, c->who, c->who->workspace_id, min, NULL);
  return rc;
}

/* GET /v1/projects/{project_id}/jobs?status=A,B&job_type=T -> {jobs: [...]} */
int h_jobs_list(route_ctx *c) {
  char *status = NULL, *type = NULL;
  json_t *filter = json_object(), *list = NULL;
  if (!filter) return assay__nomem();
  int rc = query_string(c->req->query, "status", &status);
  if (!rc) rc = query_string(c->req->query, "job_type", &type);
  if (!rc && type && *type && json_object_set_new(filter, "job_type", json_string(type)) != 0)
    rc = assay__err(ASSAY_ERR_CONFIG, "query parameter job_type must be UTF-8 text");
  if (!rc && status) {
    json_t *arr = json_array();
    if (!arr || json_object_set_new(filter, "status", arr) != 0) rc = assay__nomem();
    for (char *save = NULL, *tok = strtok_r(status, ",", &save); !rc && tok;
         tok = strtok_r(NULL, ",", &save)) {
      while (*tok == ' ') tok++;
      size_t n = strlen(tok);
      while (n && tok[n - 1] == ' ') tok[--n] = '\0';
      if (!n) continue;
      json_t *t = json_string(tok);
      if (!t) rc = assay__err(ASSAY_ERR_CONFIG, "query parameter status must be UTF-8 text");
      else if (json_array_append_new(arr, t) != 0) rc = assay__nomem();
    }
    /* "status=" (nothing listed): no filter */
    if (!rc && json_array_size(arr) == 0) json_object_del(filter, "status");
  }
  free(status);
  free(type);
  store *s = c->store;
  if (!rc) rc = s->ops->begin(s, 0);
  if (!rc) {
    rc = project_visible(c, c->params[0], ROLE_VIEWER);
    if (!rc) rc = jobs_list(s, c->params[0], filter, &list);
    if (!rc) rc = s->ops->commit(s);
    if (rc) s->ops->rollback(s);
  }
  json_decref(filter);
  if (rc) {
    json_decref(list);
    return rc;
  }
  c->resp->body = json_pack("{s:o}", "jobs", list);
  return c->resp->body ? ASSAY_OK : assay__nomem();
}

/* POST /v1/jobs/{job_id}/cancel: members cancel the jobs they submitted,
 * admins any job of the workspace. */
int h_job_cancel(route_ctx *c) {
  json_t *job = NULL;
  int rc = visible_job(c, &job);
  workspace_role held = ROLE_NONE;
  if (!rc) rc = access_workspace(c->store, c->who, text_of(job, "workspace_id"), ROLE_MEMBER,
                                 &held);
  const char *by = job ? text_of(job, "submitted_by") : NULL;
  if (!rc && held < ROLE_ADMIN && (!by || strcmp(by, c->who->user_id) != 0))
    rc = assay__err(ASSAY_ERR_PERMISSION_DENIED,
                    "job '%s' was submitted by another user; cancelling it needs the "
                    "WORKSPACE_ROLE_ADMIN role",
                    c->params[0]);
  json_decref(job);
  if (rc) return rc;
  return jobs_cancel(c->platform, c->store, c->params[0], &c->resp->body);
}

/* `text` with every `from` replaced by `to` (a new string; NULL: no memory). */
static char *replace_all(const char *text, const char *from, const char *to) {
  size_t nf = strlen(from), nt = strlen(to), n = 0;
  for (const char *p = text; nf && (p = strstr(p, from)); p += nf) n++;
  char *out = malloc(strlen(text) + n * (nt > nf ? nt - nf : 0) + 1), *o = out;
  if (!out) return NULL;
  for (const char *p = text, *hit; *p;) {
    if (nf && (hit = strstr(p, from))) {
      memcpy(o, p, (size_t)(hit - p));
      o += hit - p;
      memcpy(o, to, nt);
      o += nt;
      p = hit + nf;
    } else {
      size_t rest = strlen(p);
      memcpy(o, p, rest);
      o += rest;
      break;
    }
  }
  *o = '\0';
  return out;
}

/* A message as the workspace may read it: paths of the platform's home (a
 * loader's traceback names its file) shown as file locations, or as
 * $ASSAY_HOME, never as the server's layout. */
char *jobs_readable_message(job_ctx *j, const char *message) {
  const char *home = assay_platform_home(j->platform);
  char *files = NULL;
  if (!home || !*home) return strdup(message);
  if (asprintf(&files, "%s/files/%s/", home, j->workspace_id) < 0) return NULL;
  char *a = replace_all(message, files, FILES_LOCATION_PREFIX);
  char *b = a ? replace_all(a, home, "$ASSAY_HOME") : NULL;
  free(files);
  free(a);
  return b;
}
