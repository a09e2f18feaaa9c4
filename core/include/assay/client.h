/* assay/client.h — the client: one API over two transports.
 *
 * A client with no domain opens the embedded platform in a home directory
 * ($ASSAY_HOME, default ~/.assay) and calls the platform's request router in
 * process, acting as the home's bootstrap administrator. A client with a
 * domain ("http://host:port" or "host:port") talks to an assayd server over
 * HTTP(S) through libcurl, authenticated by an API token. Both paths go
 * through the same router, so they answer the same records and errors.
 *
 * Every operation returns ASSAY_OK or a negative assay_error_code, with the
 * detail in assay_error_last(). Records come back as assay_value objects
 * (see docs/api/openapi.json for their fields). A client may be shared by
 * threads; calls on one client are serialised. */
#ifndef ASSAY_CLIENT_H
#define ASSAY_CLIENT_H

#include "common.h"
#include "value.h"

ASSAY_BEGIN_DECLS

typedef struct assay_client assay_client;

#define ASSAY_CLIENT_OPTIONS_VERSION 2

/* Options for assay_client_new(). Start from ASSAY_CLIENT_OPTIONS_INIT so
 * fields added later get their defaults. Strings are copied. */
typedef struct assay_client_options {
  unsigned int version;        /* ASSAY_CLIENT_OPTIONS_VERSION               */
  const char *domain;          /* NULL or "": embedded platform              */
  const char *api_key;         /* token for a server; embedded: act as that
                                  token's user instead of the home's admin   */
  double channel_timeout;      /* seconds for one HTTP request (default 180) */
  int disable_tls;             /* domain without scheme: use http, not https */
  const char *ssl_ca_cert;     /* CA bundle to verify the server with        */
  const char *cert_file;       /* client certificate (PEM)                   */
  const char *key_file;        /* client key (PEM)                           */
  const char *assert_hostname; /* name the server certificate must carry when
                                  it differs from the domain's host          */
  const char *home;            /* embedded: home directory; NULL: $ASSAY_HOME
                                  or ~/.assay                                */
  int max_retries;             /* retries on 429/5xx (default 3; <0: none)   */
  int skip_hostname_check;     /* non-zero: accept a server certificate for
                                  any name (rime-sdk's assert_hostname=False);
                                  the chain is still verified               */
  const char *secret_key_file; /* embedded: the master key file (see
                                  assay_platform_options)                   */
  /* version 2: the embedded platform's jobs (see assay_platform_options) */
  int workers;                 /* job worker threads; <0: default (2)       */
  const char *runner_python;   /* interpreter for custom loaders            */
  double loader_timeout;       /* seconds; 0: default; <0: none             */
  long long loader_memory_bytes; /* 0: default; <0: none                    */
} assay_client_options;

/* Version 1 callers (without the version 2 fields) are still accepted. */
#define ASSAY_CLIENT_OPTIONS_INIT \
  { ASSAY_CLIENT_OPTIONS_VERSION, NULL, NULL, 180.0, 0, NULL, NULL, NULL, NULL, NULL, 3, 0, NULL, \
    -1, NULL, 0.0, 0 }

/* Open a client. opts may be NULL (embedded platform, defaults). */
ASSAY_API int assay_client_new(assay_client **out, const assay_client_options *opts);
/* Open a client from an options object with the field names of
 * assay_client_options ({"domain", "api_key", "channel_timeout", ...}); what
 * the bindings call. Unknown fields and wrong types are ASSAY_ERR_CONFIG.
 * `options` may be NULL. */
ASSAY_API int assay_client_new_with(assay_client **out, const assay_value *options);

/* Close a client; NULL is accepted. */
ASSAY_API void assay_client_free(assay_client *client);

/* Non-zero when the client runs the platform in process. */
ASSAY_API int assay_client_is_embedded(const assay_client *client);

/* The platform's identity: {"version", "api_version", "home"?, ...}. */
ASSAY_API int assay_client_platform_info(assay_value **out, assay_client *client);

/* Send one raw REST request (method, path under /v1 with optional query,
 * JSON body text or NULL) and return the decoded answer (NULL-valued when
 * the answer has no body). The escape hatch for routes without a typed
 * function, and how tests send malformed bodies: the router's errors come
 * back typed exactly as for the typed calls. */
ASSAY_API int assay_client_request(assay_value **out, assay_client *client, const char *method,
                                   const char *path, const char *body, size_t body_len);

/* --- projects ---------------------------------------------------------- */

/* Create a project in the caller's workspace. `model_task` is one of the
 * MODEL_TASK_* names; `extra` (may be NULL) holds the optional fields
 * use_case, ethical_consideration, profiling_config, general_access_role,
 * run_time_info. Out: the project record. A name already used in the
 * workspace is ASSAY_ERR_CONFLICT. */
ASSAY_API int assay_client_create_project(assay_value **out, assay_client *client,
                                          const char *name, const char *description,
                                          const char *model_task, const assay_value *extra);

/* The project record, or ASSAY_ERR_NOT_FOUND. */
ASSAY_API int assay_client_get_project(assay_value **out, assay_client *client,
                                       const char *project_id);

/* An array of project records of the caller's workspace, oldest first. */
ASSAY_API int assay_client_list_projects(assay_value **out, assay_client *client);

/* Delete a project. A project that still holds datasets, models or test
 * runs is refused with ASSAY_ERR_CONFLICT unless `force` is non-zero. */
ASSAY_API int assay_client_delete_project(assay_client *client, const char *project_id,
                                          int force);

/* --- API tokens -------------------------------------------------------- */

/* Marker for "no expires_in_days given" (INT_MIN): the default lifetime (270 days,
 * or up to the calling token's own expiry for a non-admin). */
#define ASSAY_TOKEN_EXPIRY_DEFAULT (-2147483647 - 1)

/* Create an API token. NULL workspace_id / user_id mean the caller's;
 * expires_in_days ASSAY_TOKEN_EXPIRY_DEFAULT means the default; any other
 * value is sent and must be 1..3650. Out: {"token", "id", "name",
 * "user_id", "workspace_id", "created_at", "expires_at"}; "token" is the
 * secret, shown only here. */
ASSAY_API int assay_client_create_api_token(assay_value **out, assay_client *client,
                                            const char *workspace_id, const char *name,
                                            const char *user_id, int expires_in_days);

/* List API tokens (never their secrets): an array of {id, name, user_id,
 * workspace_id, created_at, expires_at (null: never), revoked_at (null),
 * status ("active", "expired", "revoked")}. NULL filters match all the
 * caller may see: an organisation admin every token, a workspace admin
 * those of the workspace, anyone else their own. */
ASSAY_API int assay_client_list_api_tokens(assay_value **out, assay_client *client,
                                           const char *workspace_id, const char *user_id);

/* Revoke an API token by id (idempotent). */
ASSAY_API int assay_client_revoke_api_token(assay_client *client, const char *token_id);

/* --- workspaces, users, members ------------------------------------------ */

/* Roles are WORKSPACE_ROLE_ADMIN (manages members and integrations),
 * WORKSPACE_ROLE_MEMBER (uses integrations, runs tests) and
 * WORKSPACE_ROLE_VIEWER (reads only); "admin", "member" and "viewer" are
 * accepted too. A caller's token is scoped to its workspace: other
 * workspaces are ASSAY_ERR_NOT_FOUND unless the caller is an organisation
 * admin. Too low a role is ASSAY_ERR_PERMISSION_DENIED. */

/* Create a workspace (organisation admins only); the caller becomes its
 * admin. Out: {workspace_id, name, created_at, role}. */
ASSAY_API int assay_client_create_workspace(assay_value **out, assay_client *client,
                                            const char *name);
/* The workspaces the caller can see, each with the caller's "role". */
ASSAY_API int assay_client_list_workspaces(assay_value **out, assay_client *client);
ASSAY_API int assay_client_get_workspace(assay_value **out, assay_client *client,
                                         const char *workspace_id);

/* Create a user (organisation admins only); display_name may be NULL.
 * Out: {user_id, username, display_name, is_org_admin, created_at}. */
ASSAY_API int assay_client_create_user(assay_value **out, assay_client *client,
                                       const char *username, const char *display_name);
/* Every user (organisation admins only). */
ASSAY_API int assay_client_list_users(assay_value **out, assay_client *client);

/* Membership (workspace admins). Out: {workspace_id, user_id, username,
 * display_name, role}. */
ASSAY_API int assay_client_add_workspace_member(assay_value **out, assay_client *client,
                                                const char *workspace_id, const char *user_id,
                                                const char *role);
ASSAY_API int assay_client_update_workspace_member(assay_value **out, assay_client *client,
                                                   const char *workspace_id,
                                                   const char *user_id, const char *role);
/* Removing a member also deletes their members-level credentials in the
 * workspace and revokes their tokens for it. The last admin of a workspace
 * can be neither removed nor demoted (ASSAY_ERR_CONFLICT). */
ASSAY_API int assay_client_remove_workspace_member(assay_client *client,
                                                   const char *workspace_id,
                                                   const char *user_id);
/* An array of member records, by username. */
ASSAY_API int assay_client_list_workspace_members(assay_value **out, assay_client *client,
                                                  const char *workspace_id);

/* --- integrations --------------------------------------------------------- */

/* Create an integration (workspace admins). `integration_type` is one of
 * INTEGRATION_TYPE_*; `schema` an array of {"name", "sensitivity",
 * "value"?} where sensitivity is VARIABLE_SENSITIVITY_PUBLIC ("not_sensitive"),
 * _WORKSPACE_SECRET ("workspace") or _USER_SECRET ("members"). Out: the
 * integration record as the caller sees it: {integration_id, workspace_id,
 * name, integration_type, created_by, created_at, updated_at, variables:
 * [{name, sensitivity, value (not-sensitive ones only), is_set}],
 * credential_status: {configured, missing}}. No secret value is ever
 * returned. */
ASSAY_API int assay_client_create_integration(assay_value **out, assay_client *client,
                                              const char *workspace_id, const char *name,
                                              const char *integration_type,
                                              const assay_value *schema);
/* The integrations of a workspace (any role), oldest first. */
ASSAY_API int assay_client_list_integrations(assay_value **out, assay_client *client,
                                             const char *workspace_id);
ASSAY_API int assay_client_get_integration(assay_value **out, assay_client *client,
                                           const char *integration_id);
/* Change an integration (workspace admins): `changes` is {"name"?,
 * "variables"?: [entry, ...] (added, or replacing the one of that name),
 * "remove_variables"?: [name, ...]}. Out: the updated record. */
ASSAY_API int assay_client_update_integration(assay_value **out, assay_client *client,
                                              const char *integration_id,
                                              const assay_value *changes);
ASSAY_API int assay_client_delete_integration(assay_client *client,
                                              const char *integration_id);
/* Set the caller's own values of members-level variables: `credentials`
 * is {name: value or null (clears)}. Members and admins; viewers may not.
 * Out: {integration_id, credential_status: {configured, missing}}. */
ASSAY_API int assay_client_set_integration_credentials(assay_value **out, assay_client *client,
                                                       const char *integration_id,
                                                       const assay_value *credentials);

/* --- files ----------------------------------------------------------------- */

/* Files are stored per workspace (the caller's). A file's location,
 * "assay://files/<path>", is what configs reference (data_file.path,
 * data_loading.path, model_path.path). Uploads stream from disk: no call
 * holds a whole file in memory, so files of several GB work (over HTTP,
 * channel_timeout bounds a stalled transfer, not a long one).
 * upload_path (NULL: a folder named after the content's hash) is a
 * relative folder path; "" is ASSAY_ERR_CONFIG, as are absolute paths, ".."
 * and "." components. Viewers list. Members upload into top-level folders
 * holding only their own files (a content-hash folder takes only that
 * content; the same bytes again answer the same location) and delete their
 * own files; workspace admins write and delete anywhere. Over the maximum
 * file size, the workspace quota or the free-space reserve:
 * ASSAY_ERR_PAYLOAD_TOO_LARGE (see docs/registry.md). */

/* Upload one file; out: {location, path, size, blake2b, uploaded_by,
 * uploaded_at}. The location is assay://files/<upload_path>/<file name>. */
ASSAY_API int assay_client_upload_file(assay_value **out, assay_client *client,
                                       const char *file_path, const char *upload_path);
/* Upload a directory tree (regular files; hidden ones, whose name starts
 * with '.', only when upload_hidden). A symbolic link pointing outside
 * dir_path is ASSAY_ERR_CONFIG and nothing is uploaded; one inside is
 * uploaded as the file it points to. out: {location (the directory's:
 * assay://files/<upload_path or a random folder>/<dir name>), files: [file
 * records]}. */
ASSAY_API int assay_client_upload_directory(assay_value **out, assay_client *client,
                                            const char *dir_path, int upload_hidden,
                                            const char *upload_path);
/* Write a table of columns (an object {name: [values]} or an array of
 * {"name", "values"}; see the CSV reader for how values are typed) as a CSV
 * file named `name` (NULL: "data.csv"; ".csv" is added when missing) and
 * upload it like assay_client_upload_file. */
ASSAY_API int assay_client_upload_columns(assay_value **out, assay_client *client,
                                          const assay_value *columns, const char *name,
                                          const char *upload_path);
/* The uploaded files of the caller's workspace (records as above), by path. */
ASSAY_API int assay_client_list_uploaded_files(assay_value **out, assay_client *client);
/* Delete an uploaded file, or every file under a directory location. */
ASSAY_API int assay_client_delete_uploaded_file(assay_client *client, const char *location);

/* --- the registry: datasets, models, predictions ------------------------------ */

/* Register a dataset in a project. `request` is {"name", "data_info",
 * "integration_id"?, "tags"?: [..], "metadata"?: {..}, "ct_info"?: {..},
 * "skip_validation"?: bool, "agent_id"?} with data_info as in rime-sdk
 * (validated in full: each bad key is ASSAY_ERR_CONFIG naming it). Unless
 * skip_validation, a validation job loads the data and records validity,
 * row count and schema profile; this call waits for it (with `wait`
 * non-zero) and answers the dataset record: {dataset_id, project_id, name,
 * data_info, integration_id, tags, metadata, ct_info, created_by,
 * created_at, validity_status (VALIDITY_STATUS_VALID / _INVALID /
 * _PENDING), validity_message, row_count, schema_profile: [{column, type,
 * null_share, distinct_count}], validation_job_id}. An invalid dataset is
 * not an error of this call: it is registered with _INVALID and the
 * reason. */
ASSAY_API int assay_client_register_dataset(assay_value **out, assay_client *client,
                                            const char *project_id, const assay_value *request,
                                            int wait);
ASSAY_API int assay_client_get_dataset(assay_value **out, assay_client *client,
                                       const char *dataset_id);
/* The dataset named `name` in a project; ASSAY_ERR_NOT_FOUND if none. */
ASSAY_API int assay_client_get_dataset_by_name(assay_value **out, assay_client *client,
                                               const char *project_id, const char *name);
ASSAY_API int assay_client_list_datasets(assay_value **out, assay_client *client,
                                         const char *project_id);
/* Deletes its predictions and cached data too. */
ASSAY_API int assay_client_delete_dataset(assay_client *client, const char *dataset_id);

/* Register a model: `request` is {"name", "model_info"? (null: no model),
 * "tags"?, "metadata"?, "external_id"?, "integration_id"?,
 * "model_endpoint_integration_id"?, "agent_id"?}. Out: {model_id,
 * project_id, name, model_info, ...}. */
ASSAY_API int assay_client_register_model(assay_value **out, assay_client *client,
                                          const char *project_id, const assay_value *request);
ASSAY_API int assay_client_get_model(assay_value **out, assay_client *client,
                                     const char *model_id);
ASSAY_API int assay_client_get_model_by_name(assay_value **out, assay_client *client,
                                             const char *project_id, const char *name);
ASSAY_API int assay_client_list_models(assay_value **out, assay_client *client,
                                       const char *project_id);
ASSAY_API int assay_client_delete_model(assay_client *client, const char *model_id);

/* Register predictions of a model on a dataset: `request` is
 * {"dataset_id", "model_id", "pred_info", "integration_id"?, "tags"?,
 * "metadata"?, "skip_validation"?, "agent_id"?}; validated and waited for
 * as datasets. Out: {prediction_id, project_id, dataset_id, model_id,
 * pred_info, validity_status, validity_message, row_count, ...}. One
 * prediction set per (dataset, model): a second is ASSAY_ERR_CONFLICT. */
ASSAY_API int assay_client_register_predictions(assay_value **out, assay_client *client,
                                                const char *project_id,
                                                const assay_value *request, int wait);
/* NULL filters match all. */
ASSAY_API int assay_client_list_predictions(assay_value **out, assay_client *client,
                                            const char *project_id, const char *model_id,
                                            const char *dataset_id);
/* The prediction set of (model, dataset) in a project; NOT_FOUND if none. */
ASSAY_API int assay_client_get_predictions(assay_value **out, assay_client *client,
                                           const char *project_id, const char *model_id,
                                           const char *dataset_id);
ASSAY_API int assay_client_delete_predictions(assay_client *client, const char *prediction_id);

/* The registrations from a file location (rime-sdk's *_from_file / _from_path):
 * `request` is the matching register request with "remote_path" (an
 * assay://files/ location) instead of the config, plus
 *   datasets:    "data_params"?  -> data_info {connection_info: {data_file:
 *                                   {path: remote_path}}, data_params}
 *   models:      nothing more    -> model_info {model_path: {path: remote_path}}
 *   predictions: "pred_params"?  -> pred_info {connection_info: {data_file:
 *                                   {path: remote_path}}, pred_params}
 * and then behave as the register functions above. */
ASSAY_API int assay_client_register_dataset_from_file(assay_value **out, assay_client *client,
                                                      const char *project_id,
                                                      const assay_value *request, int wait);
ASSAY_API int assay_client_register_model_from_path(assay_value **out, assay_client *client,
                                                    const char *project_id,
                                                    const assay_value *request);
ASSAY_API int assay_client_register_predictions_from_file(assay_value **out,
                                                          assay_client *client,
                                                          const char *project_id,
                                                          const assay_value *request, int wait);

/* --- jobs ------------------------------------------------------------------------ */

/* A job's record: {job_id, job_type, status (JOB_STATUS_PENDING / _RUNNING /
 * _SUCCEEDED / _FAILED / _CANCELLED), project_id, submitted_by, created_at,
 * started_at, finished_at, start_time_secs, running_time_secs, error_msg}. */
ASSAY_API int assay_client_get_job(assay_value **out, assay_client *client, const char *job_id);
/* The job's log (user code's output, secrets redacted): {job_id, log}. */
ASSAY_API int assay_client_get_job_log(assay_value **out, assay_client *client,
                                       const char *job_id);
/* Wait until a job leaves PENDING/RUNNING (polling with growing pauses up
 * to poll_rate_sec, default 1 s when <= 0); timeout_sec <= 0: no limit,
 * else ASSAY_ERR_TIMEOUT. Out: the final record. */
ASSAY_API int assay_client_wait_job(assay_value **out, assay_client *client, const char *job_id,
                                    double poll_rate_sec, double timeout_sec);

/* --- stress tests and their results ----------------------------------------------- *
 * A stress test (RIME_API.md's start_stress_test) runs as a job of type
 * JOB_TYPE_STRESS_TEST; job records carry "progress": {done, total} (test
 * batches) and "cancel_requested"; a finished stress job's "result" is
 * {test_run_id}. docs/tests.md lists every test. */

/* Validate test_run_config (ASSAY_ERR_CONFIG naming what is wrong; unknown
 * tests and categories list the valid ones; NOT_FOUND for a model or
 * dataset not in the project) and queue the run. Out: the job record. */
ASSAY_API int assay_client_start_stress_test(assay_value **out, assay_client *client,
                                             const char *project_id,
                                             const assay_value *test_run_config);
/* A project's jobs, newest first. filter: {status: [JOB_STATUS_...],
 * job_type: "JOB_TYPE_..."} (each optional) or NULL. Out: an array. */
ASSAY_API int assay_client_list_jobs(assay_value **out, assay_client *client,
                                     const char *project_id, const assay_value *filter);
/* Cancel a job: a pending one is JOB_STATUS_CANCELLED at once, a running one
 * stops within about a second and ends JOB_STATUS_CANCELLED; a finished one
 * is ASSAY_ERR_CONFIG. Out: the job record. */
ASSAY_API int assay_client_cancel_job(assay_value **out, assay_client *client,
                                      const char *job_id);
/* Set the categories a project's stress tests run when their config names
 * none (an array of TEST_CATEGORY_TYPE_* names). Out: the project record. */
ASSAY_API int assay_client_update_stress_test_categories(assay_value **out,
                                                         assay_client *client,
                                                         const char *project_id,
                                                         const assay_value *categories);
/* Test runs: summaries (the document without test_batches), newest first. */
ASSAY_API int assay_client_list_test_runs(assay_value **out, assay_client *client,
                                          const char *project_id);
/* A run's summary; ASSAY_ERR_NOT_FOUND for an unknown id. */
ASSAY_API int assay_client_get_test_run(assay_value **out, assay_client *client,
                                        const char *test_run_id);
/* The whole run document (with every test batch and case). */
ASSAY_API int assay_client_get_test_run_document(assay_value **out, assay_client *client,
                                                 const char *test_run_id);
/* One flat row for the run (get_result_df). */
ASSAY_API int assay_client_get_test_run_result(assay_value **out, assay_client *client,
                                               const char *test_run_id);
/* Flat test case rows (get_test_cases_df); test_type NULL: every batch;
 * show_metrics: each case metric as a key of its row. */
ASSAY_API int assay_client_get_test_cases(assay_value **out, assay_client *client,
                                          const char *test_run_id, const char *test_type,
                                          int show_metrics);
/* Flat rows per category (get_category_results_df). */
ASSAY_API int assay_client_get_category_results(assay_value **out, assay_client *client,
                                                const char *test_run_id, int show_metrics);
/* Batch summaries (without their cases), and one batch with its cases. */
ASSAY_API int assay_client_list_test_batches(assay_value **out, assay_client *client,
                                             const char *test_run_id);
ASSAY_API int assay_client_get_test_batch(assay_value **out, assay_client *client,
                                          const char *test_run_id, const char *test_type);
/* The run's self-contained HTML report: {test_run_id, html}. */
ASSAY_API int assay_client_get_test_run_report(assay_value **out, assay_client *client,
                                               const char *test_run_id);

/* --- administration -------------------------------------------------------- */

/* Rotate the platform's master key (organisation admins): every stored
 * secret is re-encrypted under a new key. Out: {key_id, secrets_resealed,
 * compacted}; compacted is false when a reader kept the retired ciphertexts
 * in the WAL for now (they leave at the next write). */
ASSAY_API int assay_client_rotate_secret_key(assay_value **out, assay_client *client);

ASSAY_END_DECLS

#endif
