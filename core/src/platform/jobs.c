/* platform/jobs.c — job queue and workers (TEMPORARY STUB). */

#include "platform/handlers.h"
#include "platform/jobs.h"

int jobs_submit(store *s, const char *type, const char *workspace_id, const char *project_id, const char *submitted_by, json_t *request, char job_id[37]) {
  (void)s;
  (void)type;
  (void)workspace_id;
  (void)project_id;
  (void)submitted_by;
  (void)request;
  (void)job_id;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

void jobs_notify(assay_platform *p) {
  (void)p;
  return;
}

int jobs_get(store *s, const char *job_id, json_t **out) {
  (void)s;
  (void)job_id;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_job_get(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_job_log(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}
int jobs_start(assay_platform *p, int workers) {
  (void)p;
  (void)workers;
  return ASSAY_OK;
}

void jobs_stop(assay_platform *p) { (void)p; }
