/* client/client_registry.c — the registry calls of the client (datasets,
 * models, prediction sets: register, waiting for validation when asked;
 * get by id or by name; list; delete), then the job calls (the section
 * "jobs" at the end of this file). One request path for all: client.c's
 * helpers. Contracts in assay/client.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_internal.h"

/* --- the registry ------------------------------------------------------------------- */

/* POST the request object to the project's collection `what`; with wait,
 * when the answer names a validation job, wait for the job and answer the
 * record as it is then (GET /v1/<collection>/<id>). */
static int register_entry(assay_value **out, assay_client *c, const char *project_id,
                          const assay_value *request, const char *what, const char *collection,
                          const char *id_key, int wait) {
  char *path = NULL;
  json_t *body = NULL, *rec = NULL;
  int rc = client__project_path(&path, project_id, what, NULL);
  if (!rc) rc = client__object_arg(&body, "request", request, 1);
  if (!rc) {
    rc = client__call(c, "POST", path, body, &rec);
    body = NULL;
  }
  json_decref(body);
  free(path);
  if (rc) return rc;
  const char *job = json_string_value(json_object_get(rec, "validation_job_id"));
  const char *id = json_string_value(json_object_get(rec, id_key));
  if (!wait || !job || !id) return client__wrap_out(out, rec);
  rc = assay_client_wait_job(NULL, c, job, 0, 0);
  if (!rc) rc = client__call_id(out, c, "GET", id_key, collection, id, NULL, NULL);
  json_decref(rec);
  return rc;
}

/* GET the project's collection `what` with `query`; the array `what` of the
 * answer. */
static int list_entries(json_t **out, assay_client *c, const char *project_id,
                        const char *what, const char *query) {
  char *path = NULL;
  int rc = client__project_path(&path, project_id, what, query);
  if (rc) return rc;
  json_t *resp = NULL;
  rc = client__call(c, "GET", path, NULL, &resp);
  free(path);
  if (rc) return rc;
  assay_value *list = NULL;
  rc = client__unwrap_list(&list, resp, what);
  if (!rc) *out = JV(list);
  return rc;
}

/* The entry named `name` in the project (the ?name= filter). */
static int get_by_name(assay_value **out, assay_client *c, const char *project_id,
                       const char *name, const char *what, const char *noun) {
  if (!name || !*name)
    return assay__err(ASSAY_ERR_CONFIG, "name must be a non-empty string");
  char *q = strdup("");
  if (!q) return assay__nomem();
  int rc = client__add_query(&q, "name", name);
  json_t *list = NULL;
  if (!rc) rc = list_entries(&list, c, project_id, what, q);
  free(q);
  if (rc) return rc;
  json_t *first = json_incref(json_array_get(list, 0));
  json_decref(list);
  if (!first)
    return assay__err(ASSAY_ERR_NOT_FOUND, "no %s named '%s' in project '%s'", noun, name,
                      project_id);
  return client__wrap_out(out, first);
}

int assay_client_register_dataset(assay_value **out, assay_client *c, const char *project_id,
                                   const assay_value *request, int wait) {
  return register_entry(out, c, project_id, request, "datasets", "datasets", "dataset_id",
                        wait);
}

int assay_client_get_dataset(assay_value **out, assay_client *c, const char *dataset_id) {
  return client__call_id(out, c, "GET", "dataset_id", "datasets", dataset_id, NULL, NULL);
}

int assay_client_get_dataset_by_name(assay_value **out, assay_client *c, const char *project_id,
                                     const char *name) {
  return get_by_name(out, c, project_id, name, "datasets", "dataset");
}

int assay_client_list_datasets(assay_value **out, assay_client *c, const char *project_id) {
  json_t *list = NULL;
  int rc = list_entries(&list, c, project_id, "datasets", NULL);
  return rc ? rc : client__wrap_out(out, list);
}

int assay_client_delete_dataset(assay_client *c, const char *dataset_id) {
  return client__call_id(NULL, c, "DELETE", "dataset_id", "datasets", dataset_id, NULL, NULL);
}

int assay_client_register_model(assay_value **out, assay_client *c, const char *project_id,
                                 const assay_value *request) {
  return register_entry(out, c, project_id, request, "models", "models", "model_id", 0);
}

int assay_client_get_model(assay_value **out, assay_client *c, const char *model_id) {
  return client__call_id(out, c, "GET", "model_id", "models", model_id, NULL, NULL);
}

int assay_client_get_model_by_name(assay_value **out, assay_client *c, const char *project_id,
                                   const char *name) {
  return get_by_name(out, c, project_id, name, "models", "model");
}

int assay_client_list_models(assay_value **out, assay_client *c, const char *project_id) {
  json_t *list = NULL;
  int rc = list_entries(&list, c, project_id, "models", NULL);
  return rc ? rc : client__wrap_out(out, list);
}

int assay_client_delete_model(assay_client *c, const char *model_id) {
  return client__call_id(NULL, c, "DELETE", "model_id", "models", model_id, NULL, NULL);
}

int assay_client_register_predictions(assay_value **out, assay_client *c,
                                       const char *project_id, const assay_value *request,
                                       int wait) {
  return register_entry(out, c, project_id, request, "predictions", "predictions",
                        "prediction_id", wait);
}

/* The prediction sets of a project, filtered by model and dataset (NULL:
 * any). */
static int list_predictions(json_t **out, assay_client *c, const char *project_id,
                            const char *model_id, const char *dataset_id) {
  char *q = strdup("");
  if (!q) return assay__nomem();
  int rc = client__add_query(&q, "model_id", model_id);
  if (!rc) rc = client__add_query(&q, "dataset_id", dataset_id);
  if (!rc) rc = list_entries(out, c, project_id, "predictions", q);
  free(q);
  return rc;
}

int assay_client_list_predictions(assay_value **out, assay_client *c, const char *project_id,
                                  const char *model_id, const char *dataset_id) {
  json_t *list = NULL;
  int rc = list_predictions(&list, c, project_id, model_id, dataset_id);
  return rc ? rc : client__wrap_out(out, list);
}

int assay_client_get_predictions(assay_value **out, assay_client *c, const char *project_id,
                                 const char *model_id, const char *dataset_id) {
  int rc = client__require_id("model_id", model_id);
  if (!rc) rc = client__require_id("dataset_id", dataset_id);
  json_t *list = NULL;
  if (!rc) rc = list_predictions(&list, c, project_id, model_id, dataset_id);
  if (rc) return rc;
  json_t *first = json_incref(json_array_get(list, 0));
  json_decref(list);
  if (!first)
    return assay__err(ASSAY_ERR_NOT_FOUND,
                      "no predictions of model '%s' on dataset '%s' in project '%s'", model_id,
                      dataset_id, project_id);
  return client__wrap_out(out, first);
}

int assay_client_delete_predictions(assay_client *c, const char *prediction_id) {
  return client__call_id(NULL, c, "DELETE", "prediction_id", "predictions", prediction_id, NULL,
                         NULL);
}

/* ===================================================================================
 * jobs — assay_client_get_job, assay_client_get_job_log, assay_client_wait_job.
 * This section belongs to the jobs work (H5), who replaces what follows; the
 * registry calls above use only assay_client_wait_job.
 * =================================================================================== */

#include <errno.h>
#include <time.h>

int assay_client_get_job(assay_value **out, assay_client *c, const char *job_id) {
  return client__call_id(out, c, "GET", "job_id", "jobs", job_id, NULL, NULL);
}

int assay_client_get_job_log(assay_value **out, assay_client *c, const char *job_id) {
  return client__call_id(out, c, "GET", "job_id", "jobs", job_id, "/log", NULL);
}

static double monotonic_secs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_secs(double secs) {
  if (secs <= 0) return;
  struct timespec ts = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Still to run or running (JOB_STATUS_REQUESTED is rime's "about to be
 * queued"). */
static int job_active(const char *status) {
  return status && (strcmp(status, "JOB_STATUS_PENDING") == 0 ||
                    strcmp(status, "JOB_STATUS_RUNNING") == 0 ||
                    strcmp(status, "JOB_STATUS_REQUESTED") == 0);
}

int assay_client_wait_job(assay_value **out, assay_client *c, const char *job_id,
                          double poll_rate_sec, double timeout_sec) {
  int rc = client__require_id("job_id", job_id);
  if (rc) return rc;
  if (poll_rate_sec != poll_rate_sec || timeout_sec != timeout_sec) /* NaN */
    return assay__err(ASSAY_ERR_CONFIG, "poll_rate_sec and timeout_sec must be numbers");
  double most = poll_rate_sec > 0 ? poll_rate_sec : 1.0;
  double pause = most < 0.05 ? most : 0.05;
  double start = monotonic_secs();
  for (;;) {
    assay_value *job = NULL;
    rc = assay_client_get_job(&job, c, job_id);
    if (rc) return rc;
    const char *status = json_string_value(json_object_get(JV(job), "status"));
    if (!job_active(status)) {
      if (out) *out = job;
      else assay_value_free(job);
      return ASSAY_OK;
    }
    double elapsed = monotonic_secs() - start;
    if (timeout_sec > 0 && elapsed >= timeout_sec) {
      rc = assay__err(ASSAY_ERR_TIMEOUT, "job %s is still %s after %.3g s (timeout_sec=%.3g)",
                      job_id, status, elapsed, timeout_sec);
      assay_value_free(job);
      return rc;
    }
    assay_value_free(job);
    double wait = pause;
    if (timeout_sec > 0 && wait > timeout_sec - elapsed) wait = timeout_sec - elapsed;
    sleep_secs(wait);
    pause = pause * 2 < most ? pause * 2 : most;
  }
}
