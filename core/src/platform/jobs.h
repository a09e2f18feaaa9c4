/* platform/jobs.h — the job queue and the platform's worker threads.
 *
 * Jobs are rows of the store's `jobs` table, so they survive restarts and
 * any process that opens the home may run them. A platform starts
 * `workers` threads (assay_platform_options.workers, default 2; 0: none,
 * e.g. the CLI's one-shot commands). A worker claims the oldest
 * JOB_STATUS_PENDING job in a write transaction (status RUNNING, owner =
 * this process's random id, heartbeat_at = now), runs its type's function,
 * and records SUCCEEDED or FAILED with error_msg (CANCELLED when the job
 * was cancelled, see jobs_cancel). While a job runs its
 * worker refreshes heartbeat_at every JOBS_HEARTBEAT_S; a RUNNING job whose
 * heartbeat is older than JOBS_STALE_S (its process died) is marked FAILED
 * ("the platform process running this job stopped") by the next worker
 * that looks — a job is never left running forever — and its type's
 * `abandoned` hook settles what the job left unfinished (a validation's
 * entry becomes INVALID) in the same transaction. Stopping a platform
 * cancels the jobs it runs (their loaders are killed at once) and puts
 * them back to PENDING, so the next platform that opens the home runs them
 * again. Workers wake at once for jobs submitted in this process and poll
 * every second for others. Not installed. */
#ifndef ASSAY_JOBS_H
#define ASSAY_JOBS_H

#include <jansson.h>
#include <stddef.h>

#include "platform/platform.h"

#define JOBS_HEARTBEAT_S 5
#define JOBS_STALE_S 30
/* A job's log (<home>/jobs/<job>.log) holds at most this many bytes of
 * lines (a loader printing for its whole time limit must not fill the
 * disk): the first line that would go past it is replaced by one line
 * "[log truncated at 64 MiB: further output dropped]" and nothing more is
 * written to that log, by the job or its loader. A log already past the
 * cap when a job runs again (it was requeued) takes nothing more. */
#define JOBS_LOG_MAX_BYTES ((long long)64 << 20)

/* Job types of this issue. */
#define JOB_TYPE_DATASET_VALIDATION "JOB_TYPE_DATASET_VALIDATION"
#define JOB_TYPE_PREDICTIONS_VALIDATION "JOB_TYPE_PREDICTIONS_VALIDATION"
#define JOB_TYPE_STRESS_TEST "JOB_TYPE_STRESS_TEST"

/* Job statuses. */
#define JOB_STATUS_PENDING "JOB_STATUS_PENDING"
#define JOB_STATUS_RUNNING "JOB_STATUS_RUNNING"
#define JOB_STATUS_SUCCEEDED "JOB_STATUS_SUCCEEDED"
#define JOB_STATUS_FAILED "JOB_STATUS_FAILED"
#define JOB_STATUS_CANCELLED "JOB_STATUS_CANCELLED"
/* The error_msg of a cancelled job. */
#define JOB_CANCELLED_MESSAGE "the job was cancelled"
/* A job's progress is written to the store at most this often (ms); the
 * first report (done 0) and the last (done == total) always are. */
#define JOBS_PROGRESS_MIN_MS 200
/* How often (s) a process's heartbeat thread looks for cancellations of
 * its running jobs requested by other processes (jobs.cancel_requested). */
#define JOBS_CANCEL_POLL_S 1

/* What a running job gets. */
typedef struct job_ctx {
  assay_platform *platform;
  const char *job_id;
  const char *workspace_id;
  const char *project_id;
  const char *submitted_by;    /* user id: whose member secrets are used */
  const json_t *request;       /* the job's request object as submitted */
  /* The job's cancellation flag (a RUNNER_CANCEL_* reason once set, see
   * runner/runner.h): pass it on as load_request.cancel /
   * runner_config.cancel; a long job function may also poll it
   * (__atomic_load_n). Set by jobs_stop (RUNNER_CANCEL_STOPPING) and
   * jobs_cancel_running. */
  const int *cancel;
  /* Append a line to the job's log (<home>/jobs/<job_id>.log). The text
   * must already be redacted. */
  void (*log)(struct job_ctx *j, const char *fmt, ...);
  /* Report progress: `done` of `total` steps (a stress test: test
   * batches). Safe from any thread; written to the job's record at most
   * every JOBS_PROGRESS_MIN_MS (the first and the final report always). */
  void (*progress)(struct job_ctx *j, int done, int total);
} job_ctx;

/* Run a job; ASSAY_OK: SUCCEEDED; an error: FAILED with the last error's
 * message (which must hold no secret), or CANCELLED (error_msg
 * JOB_CANCELLED_MESSAGE; the job's own message goes to its log) when its
 * flag was RUNNER_CANCEL_JOB by then. *result (may stay NULL) is stored
 * as the job's result. Exception: a job that returns ASSAY_ERR_UNAVAILABLE
 * after its flag was set to RUNNER_CANCEL_STOPPING (the platform is
 * stopping) goes back to PENDING instead, to run again from the start
 * later: it must then leave what it works on as it would be before a run
 * (a validation leaves its entry PENDING). */
typedef int (*job_fn)(job_ctx *j, json_t **result);

/* Why a job's `abandoned` hook is called. */
enum {
  /* failed as stale: the process running it died */
  JOB_ABANDONED_STALE = 1,
  /* cancelled before its function ran: a PENDING job cancelled
   * (jobs_cancel), or a requeued one whose cancellation was requested,
   * claimed and not run */
  JOB_ABANDONED_CANCELLED = 2
};

/* Settle what a job left unfinished when it ends without its function
 * having settled it (`why`, a JOB_ABANDONED_* value): called with the
 * job's stored record ({job_id, job_type, workspace_id, project_id,
 * submitted_by, request, ...}) inside the write transaction on s that
 * fails or cancels it. An error rolls the transaction back (a stale job
 * stays RUNNING and is tried again at the next look; a cancellation fails
 * with it), so return one only for store failures. */
typedef int (*job_abandoned_fn)(store *s, const json_t *job, int why);

/* Insert a PENDING job inside the caller's write transaction on s
 * (`request`, an object or NULL for {}, is not stolen); job_id receives
 * its id. Call jobs_notify() after the commit to wake this process's
 * workers at once (others find it within a second). */
int jobs_submit(store *s, const char *type, const char *workspace_id, const char *project_id,
                const char *submitted_by, json_t *request, char job_id[37]);
void jobs_notify(assay_platform *p);

/* Start / stop the platform's workers (platform.c calls these; workers
 * <= 0 starts none, and jobs_start may be called later on such a
 * platform). Stopping claims nothing more, sets the cancellation flag of
 * every job this process runs (RUNNER_CANCEL_STOPPING: a loader's process
 * group is killed within ~50 ms and the job goes back to PENDING, see
 * job_fn), waits for the job functions to return — a job that does not
 * look at its flag (a native CSV read, a test job) still runs to its end —
 * with their heartbeats going on meanwhile, then joins the threads. A
 * process that dies instead leaves its jobs RUNNING until another
 * process's worker fails them as stale. */
int jobs_start(assay_platform *p, int workers);
void jobs_stop(assay_platform *p);

/* For tests: the log cap of this platform's jobs (JOBS_LOG_MAX_BYTES until
 * set; the note then says "N bytes" unless N is a whole number of MiB).
 * Takes effect for lines written after the call. */
void jobs_set_log_max(assay_platform *p, long long max_bytes);

/* Set the cancellation flag of job_id if a worker of this platform runs it
 * (reason: a RUNNER_CANCEL_* value, not 0); 1 when it did, 0 when the job
 * does not run here. A flag already set keeps its first reason.
 * RUNNER_CANCEL_JOB makes a job that then fails end JOB_STATUS_CANCELLED
 * (a validation records its entry INVALID "validation was cancelled: the
 * job was cancelled"). */
int jobs_cancel_running(assay_platform *p, const char *job_id, int reason);

/* Cancel a job (the cancel route; caller checks access): in one write
 * transaction on s, a PENDING job becomes JOB_STATUS_CANCELLED at once
 * (error_msg JOB_CANCELLED_MESSAGE) and its type's `abandoned` hook
 * settles what it would have worked on (JOB_ABANDONED_CANCELLED: a
 * validation's entry becomes INVALID "validation was cancelled: the job
 * was cancelled"); a RUNNING one gets cancel_requested —
 * then, after the commit, its flag is set here (RUNNER_CANCEL_JOB) when
 * this process runs it, and otherwise the heartbeat thread of the process
 * that runs it sets it within about JOBS_CANCEL_POLL_S; the job ends
 * CANCELLED when its function gives up (or SUCCEEDED if it finished
 * first). A job requeued while its cancellation was requested is
 * cancelled when next claimed, not run (its hook called the same way, in
 * the transaction that records it CANCELLED). A finished job is ASSAY_ERR_CONFIG
 * "job '<id>' already finished (JOB_STATUS_...)". *out: the record after. */
int jobs_cancel(assay_platform *p, store *s, const char *job_id, json_t **out);

/* A project's jobs, newest first, as public records (jobs_get). filter as
 * store_ops.job_list; statuses must be known (else ASSAY_ERR_CONFIG listing
 * them). */
int jobs_list(store *s, const char *project_id, const json_t *filter, json_t **out);

/* The record of a job: {job_id, job_type, status, project_id,
 * workspace_id, submitted_by, created_at, started_at, finished_at (RFC
 * 3339 text or null), start_time_secs (when it started, seconds since the
 * epoch, or null), running_time_secs (seconds it ran or runs so far, a
 * number; 0 before it starts), error_msg (null unless it failed or was
 * cancelled), result, progress {done, total} (0, 0 until the job reports
 * any), cancel_requested (bool)}. NOT_FOUND when there is no such job. */
int jobs_get(store *s, const char *job_id, json_t **out);

/* Add a job type to the dispatch table of this process (the built-in
 * types are the validations below); for tests and later job types.
 * `abandoned` (may be NULL) is the type's hook for stale jobs and jobs
 * cancelled before they ran (job_abandoned_fn). A type
 * registered twice keeps its last functions. A worker that claims a job
 * of a type it does not know fails it ("unknown job type"). */
int jobs_register(const char *type, job_fn fn, job_abandoned_fn abandoned);

/* A runner_log_fn (runner/runner.h) writing to the job's log; ctx is the
 * job_ctx. */
void jobs_runner_log(void *ctx, const char *stream, const char *line, size_t len);

/* A job's message as the workspace may read it (a new string, NULL when out
 * of memory): paths into the platform's home — a loader's or model's
 * traceback names its file — shown as file locations
 * (assay://files/...) or as $ASSAY_HOME, never as the server's layout. */
char *jobs_readable_message(job_ctx *j, const char *message);

/* platform/validate.c: the validation jobs. Request {"kind": "dataset" or
 * "predictions", "id": "<entry id>"}: load the data (cache on), check it
 * (rows, label / timestamp / prediction columns, for predictions the row
 * count of a VALID dataset), profile it, and record the verdict on the
 * entry (VALID with row_count and schema_profile, or INVALID with the
 * reason). A data or config problem gives an INVALID entry and a
 * SUCCEEDED job; only an internal failure fails the job (and the entry is
 * INVALID "validation failed: <message>"). Result: {kind, id,
 * validity_status, row_count, cached}. Cancelled because the platform
 * stops: the entry is left PENDING (the job runs again later); cancelled
 * otherwise: INVALID "validation was cancelled: <reason>".
 * validate_abandoned, the hook of both types: the entry of a job, still
 * PENDING and still this job's to validate, becomes INVALID — stale:
 * "validation did not finish: the platform process running it stopped;
 * ..."; cancelled before it ran: "validation was cancelled: the job was
 * cancelled" (as when a running validation is cancelled). */
int validate_dataset_job(job_ctx *j, json_t **result);
int validate_predictions_job(job_ctx *j, json_t **result);
int validate_abandoned(store *s, const json_t *job, int why);

/* platform/stress_job.c: the stress test job (JOB_TYPE_STRESS_TEST).
 * Request {"config": test_config_normalize()'s output}: loads the
 * reference and evaluation datasets (cache on), finds predictions (the
 * registered prediction set of (dataset, model); else the dataset's
 * pred_col, which the engine reads; else the model file run by the runner
 * when model_info names one; else none), runs the engine with the job's
 * progress, log and flag, and stores the run document (test_runs) with
 * its ids, name and times. Result {test_run_id}. Cancelled because the
 * platform stops: back to the queue (runs again from the start); a stale
 * job leaves nothing to settle. */
int stress_test_job(job_ctx *j, json_t **result);
/* For tests: when set, the stress test job calls it with stage "ready"
 * after loading its data and finding predictions, before the engine runs
 * (e.g. to wait for the job's flag), and with stage "progress" at each of
 * the engine's progress reports (done of total test batches). */
extern void (*stress_job_test_hook)(job_ctx *j, const char *stage, int done, int total);

#endif
