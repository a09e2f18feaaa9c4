/* platform/jobs.h — the job queue and the platform's worker threads.
 *
 * Jobs are rows of the store's `jobs` table, so they survive restarts and
 * any process that opens the home may run them. A platform starts
 * `workers` threads (assay_platform_options.workers, default 2; 0: none,
 * e.g. the CLI's one-shot commands). A worker claims the oldest
 * JOB_STATUS_PENDING job in a write transaction (status RUNNING, owner =
 * this process's random id, heartbeat_at = now), runs its type's function,
 * and records SUCCEEDED or FAILED with error_msg. While a job runs its
 * worker refreshes heartbeat_at every JOBS_HEARTBEAT_S; a RUNNING job whose
 * heartbeat is older than JOBS_STALE_S (its process died) is marked FAILED
 * ("the platform process running this job stopped") by the next worker
 * that looks — a job is never left running forever. Workers wake at once
 * for jobs submitted in this process and poll every second for others.
 * Not installed. */
#ifndef ASSAY_JOBS_H
#define ASSAY_JOBS_H

#include <jansson.h>

#include "platform/platform.h"

#define JOBS_HEARTBEAT_S 5
#define JOBS_STALE_S 30

/* Job types of this issue. */
#define JOB_TYPE_DATASET_VALIDATION "JOB_TYPE_DATASET_VALIDATION"
#define JOB_TYPE_PREDICTIONS_VALIDATION "JOB_TYPE_PREDICTIONS_VALIDATION"

/* What a running job gets. */
typedef struct job_ctx {
  assay_platform *platform;
  const char *job_id;
  const char *workspace_id;
  const char *project_id;
  const char *submitted_by;    /* user id: whose member secrets are used */
  const json_t *request;       /* the job's request object as submitted */
  /* Append a line to the job's log (<home>/jobs/<job_id>.log). The text
   * must already be redacted. */
  void (*log)(struct job_ctx *j, const char *fmt, ...);
} job_ctx;

/* Run a job; ASSAY_OK: SUCCEEDED; an error: FAILED with the last error's
 * message (which must hold no secret). *result (may stay NULL) is stored
 * as the job's result. */
typedef int (*job_fn)(job_ctx *j, json_t **result);

/* Insert a PENDING job inside the caller's write transaction on s; wakes
 * this process's workers after the commit (jobs_notify). */
int jobs_submit(store *s, const char *type, const char *workspace_id, const char *project_id,
                const char *submitted_by, json_t *request, char job_id[37]);
void jobs_notify(assay_platform *p);

/* Start / stop the platform's workers (platform.c calls these). Stopping
 * waits for running jobs to finish (their children are killed when the
 * platform is freed with jobs still running: those are marked FAILED). */
int jobs_start(assay_platform *p, int workers);
void jobs_stop(assay_platform *p);

/* The record of a job: {job_id, job_type, status, project_id,
 * workspace_id, submitted_by, created_at, started_at, finished_at,
 * start_time_secs, running_time_secs, error_msg, result}. */
int jobs_get(store *s, const char *job_id, json_t **out);

#endif
