/* store/sqlite_jobs.c — jobs (TEMPORARY STUB). */

#include "store/sqlite_internal.h"

int sq_job_insert(store *s, const json_t *job) {
  (void)s;
  (void)job;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int sq_job_get(store *s, const char *job_id, json_t **out) {
  (void)s;
  (void)job_id;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int sq_job_claim(store *s, const char *owner, int64_t now, json_t **out) {
  (void)s;
  (void)owner;
  (void)now;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int sq_job_heartbeat(store *s, const char *owner, int64_t now) {
  (void)s;
  (void)owner;
  (void)now;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int sq_job_finish(store *s, const char *job_id, const char *status, const char *error_msg, const json_t *result, int64_t now) {
  (void)s;
  (void)job_id;
  (void)status;
  (void)error_msg;
  (void)result;
  (void)now;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int sq_job_fail_stale(store *s, int64_t before, const char *error_msg, int64_t now, int64_t *n) {
  (void)s;
  (void)before;
  (void)error_msg;
  (void)now;
  (void)n;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}
