/* platform/handlers.h — what a route handler gets (route_ctx), the request
 * body readers that produce the API's validation messages, and the list of
 * handlers the router dispatches to. Not installed. */
#ifndef ASSAY_HANDLERS_H
#define ASSAY_HANDLERS_H

#include <jansson.h>

#include "platform/platform.h"

#define ROUTE_MAX_PARAMS 4

typedef struct route_ctx {
  assay_platform *platform;
  store *store;                 /* a pooled connection, no transaction open */
  const principal *who;         /* NULL only on routes without auth         */
  const router_request *req;
  json_t *body;                 /* parsed JSON object for POST/PUT/PATCH    */
  char *params[ROUTE_MAX_PARAMS]; /* decoded path parameters, in order      */
  router_response *resp;        /* status and body to fill                  */
} route_ctx;

typedef int (*route_handler)(route_ctx *c);

/* Body readers: a missing optional field (or JSON null) leaves *out as it
 * was; a wrong type is ASSAY_ERR_CONFIG naming the field, the expected and
 * the actual type. */
int body_check_fields(json_t *body, const char *const *allowed, const char *what);
int body_string(json_t *body, const char *field, int required, const char **out);
int body_int(json_t *body, const char *field, json_int_t *out);
int body_object(json_t *body, const char *field, json_t **out);
/* A text query parameter, percent-decoded (caller frees *out); absent
 * leaves *out NULL. */
int query_string(const char *query, const char *name, char **out);
/* Text fields: at most `max` bytes; a single-line one (a name) must not be
 * blank and has no control characters; a multi-line one may hold line
 * breaks and tabs. Errors name `field`. */
int check_text(const char *field, const char *v, size_t max, int single_line);
/* A boolean query parameter (true/false/1/0); absent leaves *out. */
int query_bool(const char *query, const char *name, int *out);
/* The JSON type name of `j`, for messages. */
const char *json_type_name(const json_t *j);

/* Handlers (one per route). */
int h_health(route_ctx *c);
int h_platform(route_ctx *c);
int h_projects_create(route_ctx *c);
int h_projects_list(route_ctx *c);
int h_project_get(route_ctx *c);
int h_project_delete(route_ctx *c);
/* tokens.c */
int h_api_tokens_create(route_ctx *c);
int h_api_tokens_list(route_ctx *c);
int h_api_token_revoke(route_ctx *c);
/* people.c: users, workspaces, membership */
int h_users_list(route_ctx *c);
int h_users_create(route_ctx *c);
int h_workspaces_list(route_ctx *c);
int h_workspaces_create(route_ctx *c);
int h_workspace_get(route_ctx *c);
int h_members_list(route_ctx *c);
int h_members_add(route_ctx *c);
int h_member_update(route_ctx *c);
int h_member_remove(route_ctx *c);
/* integration/integrations.c */
int h_integrations_list(route_ctx *c);
int h_integrations_create(route_ctx *c);
int h_integration_get(route_ctx *c);
int h_integration_update(route_ctx *c);
int h_integration_delete(route_ctx *c);
int h_integration_credentials(route_ctx *c);
/* admin.c */
int h_admin_rotate_key(route_ctx *c);
/* files.c: PUT streams its body (see router.h) */
int h_files_upload(route_ctx *c);
int h_files_list(route_ctx *c);
int h_files_delete(route_ctx *c);
/* registry.c */
int h_datasets_create(route_ctx *c);
int h_datasets_list(route_ctx *c);
int h_dataset_get(route_ctx *c);
int h_dataset_delete(route_ctx *c);
int h_models_create(route_ctx *c);
int h_models_list(route_ctx *c);
int h_model_get(route_ctx *c);
int h_model_delete(route_ctx *c);
int h_predictions_create(route_ctx *c);
int h_predictions_list(route_ctx *c);
int h_prediction_get(route_ctx *c);
int h_prediction_delete(route_ctx *c);
/* The ids of a project's datasets and prediction sets (*ids, an array), and
 * dropping their cached data (engine/load.h) after a forced project delete. */
int registry_cached_ids(store *s, const char *project_id, json_t **ids);
void registry_drop_caches(assay_platform *p, json_t *ids);
/* jobs.c */
int h_job_get(route_ctx *c);
int h_job_log(route_ctx *c);
int h_jobs_list(route_ctx *c);
int h_job_cancel(route_ctx *c);
/* test_runs.c: stress tests and their results */
int h_stress_test_start(route_ctx *c);
int h_test_runs_list(route_ctx *c);
int h_test_run_get(route_ctx *c);
int h_test_run_document(route_ctx *c);
int h_test_run_result(route_ctx *c);
int h_test_run_test_cases(route_ctx *c);
int h_test_run_categories(route_ctx *c);
int h_test_run_batches(route_ctx *c);
int h_test_run_batch(route_ctx *c);
int h_test_run_report(route_ctx *c);
/* projects.c: a project record as answered (stress_test_categories filled
 * with the defaults when never set), in place; the categories route. */
int project_public(json_t *project);
int h_stress_test_categories_update(route_ctx *c);

#endif
