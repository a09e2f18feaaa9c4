/* client/client_tests.c — the client's stress test calls: start a run,
 * list and cancel jobs, a project's stress-test categories, and the stored
 * runs' summaries, documents, flat rows, batches and report. One request
 * path for all (client.c's helpers), so the embedded and HTTP transports
 * answer alike; list answers ({"jobs": [...]} ...) are unwrapped to their
 * arrays. Contracts in assay/client.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_internal.h"

/* GET path; the array `key` of the answer. */
static int get_list(assay_value **out, assay_client *c, const char *path, const char *key) {
  json_t *resp = NULL;
  int rc = client__call(c, "GET", path, NULL, &resp);
  if (rc) return rc;
  return client__unwrap_list(out, resp, key);
}

int assay_client_start_stress_test(assay_value **out, assay_client *c, const char *project_id,
                                   const assay_value *test_run_config) {
  char *path = NULL;
  json_t *body = NULL;
  int rc = client__project_path(&path, project_id, "stress-tests", NULL);
  if (!rc) rc = client__object_arg(&body, "test_run_config", test_run_config, 1);
  /* on an error body is NULL; client__call_body steals it */
  if (!rc) rc = client__call_body(out, c, "POST", path, body);
  free(path);
  return rc;
}

/* The filter {status: [..] or "..", job_type: ".."} as a query string. */
static int jobs_query(const json_t *filter, char **q) {
  *q = strdup("");
  if (!*q) return assay__nomem();
  if (!filter || json_is_null(filter)) return ASSAY_OK;
  if (!json_is_object(filter))
    return assay__err(ASSAY_ERR_CONFIG, "filter must be an object {\"status\": [...], "
                                        "\"job_type\": \"...\"} or null");
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)filter, key, v) {
    if (strcmp(key, "status") != 0 && strcmp(key, "job_type") != 0)
      return assay__err(ASSAY_ERR_CONFIG, "unknown filter key '%s'; expected only: status, "
                                          "job_type",
                        key);
  }
  json_t *status = json_object_get(filter, "status");
  json_t *type = json_object_get(filter, "job_type");
  if (status && !json_is_null(status)) {
    size_t cap = 1, i;
    json_t *s;
    if (json_is_string(status)) {
      cap += json_string_length(status);
    } else if (json_is_array(status)) {
      json_array_foreach(status, i, s) {
        if (!json_is_string(s) || !json_string_length(s) ||
            strchr(json_string_value(s), ','))
          return assay__err(ASSAY_ERR_CONFIG, "filter.status[%zu] must be a job status name "
                                              "(JOB_STATUS_PENDING, ...)",
                            i);
        cap += json_string_length(s) + 1;
      }
    } else {
      return assay__err(ASSAY_ERR_CONFIG, "filter.status must be an array of job statuses");
    }
    char *joined = malloc(cap);
    if (!joined) return assay__nomem();
    joined[0] = '\0';
    if (json_is_string(status)) {
      strcat(joined, json_string_value(status));
    } else {
      json_array_foreach(status, i, s) {
        if (i) strcat(joined, ",");
        strcat(joined, json_string_value(s));
      }
    }
    /* an empty list filters nothing, as no list */
    int rc = *joined ? client__add_query(q, "status", joined) : ASSAY_OK;
    free(joined);
    if (rc) return rc;
  }
  if (type && !json_is_null(type)) {
    if (!json_is_string(type))
      return assay__err(ASSAY_ERR_CONFIG, "filter.job_type must be a string (JOB_TYPE_...)");
    int rc = client__add_query(q, "job_type", json_string_value(type));
    if (rc) return rc;
  }
  return ASSAY_OK;
}

int assay_client_list_jobs(assay_value **out, assay_client *c, const char *project_id,
                           const assay_value *filter) {
  char *q = NULL, *path = NULL;
  int rc = jobs_query(JV(filter), &q);
  if (!rc) rc = client__project_path(&path, project_id, "jobs", q);
  if (!rc) rc = get_list(out, c, path, "jobs");
  free(q);
  free(path);
  return rc;
}

int assay_client_cancel_job(assay_value **out, assay_client *c, const char *job_id) {
  int rc = client__require_id("job_id", job_id);
  char *path = NULL;
  if (!rc) rc = client__id_path(&path, "jobs", job_id, "/cancel");
  if (!rc) rc = client__call_body(out, c, "POST", path, NULL);
  free(path);
  return rc;
}

int assay_client_update_stress_test_categories(assay_value **out, assay_client *c,
                                               const char *project_id,
                                               const assay_value *categories) {
  char *path = NULL;
  int rc = client__project_path(&path, project_id, "stress-test-categories", NULL);
  if (rc) return rc;
  const json_t *cats = JV(categories);
  json_t *body = json_pack("{s:O}", "categories", cats ? (json_t *)cats : json_null());
  if (!body) rc = assay__nomem();
  else rc = client__call_body(out, c, "PUT", path, body);
  free(path);
  return rc;
}

int assay_client_list_test_runs(assay_value **out, assay_client *c, const char *project_id) {
  char *path = NULL;
  int rc = client__project_path(&path, project_id, "test-runs", NULL);
  if (!rc) rc = get_list(out, c, path, "test_runs");
  free(path);
  return rc;
}

int assay_client_get_test_run(assay_value **out, assay_client *c, const char *test_run_id) {
  return client__call_id(out, c, "GET", "test_run_id", "test-runs", test_run_id, NULL, NULL);
}

int assay_client_get_test_run_document(assay_value **out, assay_client *c,
                                       const char *test_run_id) {
  return client__call_id(out, c, "GET", "test_run_id", "test-runs", test_run_id, "/document",
                         NULL);
}

int assay_client_get_test_run_result(assay_value **out, assay_client *c,
                                     const char *test_run_id) {
  return client__call_id(out, c, "GET", "test_run_id", "test-runs", test_run_id, "/result",
                         NULL);
}

int assay_client_get_test_cases(assay_value **out, assay_client *c, const char *test_run_id,
                                const char *test_type, int show_metrics) {
  char *q = strdup(""), *suffix = NULL;
  if (!q) return assay__nomem();
  int rc = client__add_query(&q, "show_metrics", show_metrics ? "true" : "false");
  if (!rc && test_type) {
    if (!*test_type)
      rc = assay__err(ASSAY_ERR_CONFIG, "test_type must be a non-empty string or NULL");
    else rc = client__add_query(&q, "test_type", test_type);
  }
  if (!rc && asprintf(&suffix, "/test-cases%s", q) < 0) {
    suffix = NULL;
    rc = assay__nomem();
  }
  if (!rc)
    rc = client__call_id(out, c, "GET", "test_run_id", "test-runs", test_run_id, suffix,
                         "test_cases");
  free(q);
  free(suffix);
  return rc;
}

int assay_client_get_category_results(assay_value **out, assay_client *c,
                                      const char *test_run_id, int show_metrics) {
  return client__call_id(out, c, "GET", "test_run_id", "test-runs", test_run_id,
                         show_metrics ? "/categories?show_metrics=true"
                                      : "/categories?show_metrics=false",
                         "categories");
}

int assay_client_list_test_batches(assay_value **out, assay_client *c,
                                   const char *test_run_id) {
  return client__call_id(out, c, "GET", "test_run_id", "test-runs", test_run_id,
                         "/test-batches", "test_batches");
}

int assay_client_get_test_batch(assay_value **out, assay_client *c, const char *test_run_id,
                                const char *test_type) {
  int rc = client__require_id("test_type", test_type);
  char *e = rc ? NULL : client__escape_segment(test_type), *suffix = NULL;
  if (!rc && !e) rc = assay__nomem();
  if (!rc && asprintf(&suffix, "/test-batches/%s", e) < 0) {
    suffix = NULL;
    rc = assay__nomem();
  }
  if (!rc)
    rc = client__call_id(out, c, "GET", "test_run_id", "test-runs", test_run_id, suffix, NULL);
  free(e);
  free(suffix);
  return rc;
}

int assay_client_get_test_run_report(assay_value **out, assay_client *c,
                                     const char *test_run_id) {
  return client__call_id(out, c, "GET", "test_run_id", "test-runs", test_run_id, "/report",
                         NULL);
}
