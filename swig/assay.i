/* swig/assay.i — the one interface both languages wrap.
 *
 * Included by swig/python/assay_python.i and swig/lua/assay_lua.i after
 * their typemaps. It declares what the generated modules expose: the error
 * table, the version, and the client operations. Everything crosses as plain
 * strings, numbers and assay_value trees, which each language's typemaps turn
 * into dicts/lists (Python) or tables (Lua). Functions returning int are
 * return codes: a negative one raises the language's typed error built from
 * assay_error_last(). */

%{
#include "assay.h"
%}

%include "common/handles.i"

/* Version */
const char *assay_version(void);

/* Values: a native dict/table as JSON text, by the core's serialiser (what
 * client.request() sends as a body). */
int assay_value_dump(char **out, const assay_value *v, int sorted);

/* Errors: the table the bindings build their classes from. */
int assay_error_table_value(assay_value **out);

/* Client */
#define ASSAY_TOKEN_EXPIRY_DEFAULT (-2147483647 - 1)
int assay_client_new_with(assay_client **out, const assay_value *options);
int assay_client_request(assay_value **out, assay_client *client, const char *method,
                         const char *path, const char *body, size_t body_len);
int assay_client_platform_info(assay_value **out, assay_client *client);
int assay_client_create_project(assay_value **out, assay_client *client,
                                const char *name, const char *description,
                                const char *model_task, const assay_value *extra);
int assay_client_get_project(assay_value **out, assay_client *client, const char *project_id);
int assay_client_list_projects(assay_value **out, assay_client *client);
int assay_client_delete_project(assay_client *client, const char *project_id, int force);
int assay_client_create_api_token(assay_value **out, assay_client *client,
                                  const char *workspace_id, const char *name,
                                  const char *user_id, int expires_in_days);
int assay_client_list_api_tokens(assay_value **out, assay_client *client,
                                 const char *workspace_id, const char *user_id);
int assay_client_revoke_api_token(assay_client *client, const char *token_id);

/* Workspaces, users, members */
int assay_client_create_workspace(assay_value **out, assay_client *client, const char *name);
int assay_client_list_workspaces(assay_value **out, assay_client *client);
int assay_client_get_workspace(assay_value **out, assay_client *client,
                               const char *workspace_id);
int assay_client_create_user(assay_value **out, assay_client *client, const char *username,
                             const char *display_name);
int assay_client_list_users(assay_value **out, assay_client *client);
int assay_client_add_workspace_member(assay_value **out, assay_client *client,
                                      const char *workspace_id, const char *user_id,
                                      const char *role);
int assay_client_update_workspace_member(assay_value **out, assay_client *client,
                                         const char *workspace_id, const char *user_id,
                                         const char *role);
int assay_client_remove_workspace_member(assay_client *client, const char *workspace_id,
                                         const char *user_id);
int assay_client_list_workspace_members(assay_value **out, assay_client *client,
                                        const char *workspace_id);

/* Integrations */
int assay_client_create_integration(assay_value **out, assay_client *client,
                                    const char *workspace_id, const char *name,
                                    const char *integration_type, const assay_value *schema);
int assay_client_list_integrations(assay_value **out, assay_client *client,
                                   const char *workspace_id);
int assay_client_get_integration(assay_value **out, assay_client *client,
                                 const char *integration_id);
int assay_client_update_integration(assay_value **out, assay_client *client,
                                    const char *integration_id, const assay_value *changes);
int assay_client_delete_integration(assay_client *client, const char *integration_id);
int assay_client_set_integration_credentials(assay_value **out, assay_client *client,
                                             const char *integration_id,
                                             const assay_value *credentials);

/* Files */
int assay_client_upload_file(assay_value **out, assay_client *client, const char *file_path,
                             const char *upload_path);
int assay_client_upload_directory(assay_value **out, assay_client *client, const char *dir_path,
                                  int upload_hidden, const char *upload_path);
int assay_client_upload_columns(assay_value **out, assay_client *client,
                                const assay_value *columns, const char *name,
                                const char *upload_path);
int assay_client_list_uploaded_files(assay_value **out, assay_client *client);
int assay_client_delete_uploaded_file(assay_client *client, const char *location);

/* Registry */
int assay_client_register_dataset(assay_value **out, assay_client *client,
                                  const char *project_id, const assay_value *request, int wait);
int assay_client_get_dataset(assay_value **out, assay_client *client, const char *dataset_id);
int assay_client_get_dataset_by_name(assay_value **out, assay_client *client,
                                     const char *project_id, const char *name);
int assay_client_list_datasets(assay_value **out, assay_client *client, const char *project_id);
int assay_client_delete_dataset(assay_client *client, const char *dataset_id);
int assay_client_register_model(assay_value **out, assay_client *client, const char *project_id,
                                const assay_value *request);
int assay_client_get_model(assay_value **out, assay_client *client, const char *model_id);
int assay_client_get_model_by_name(assay_value **out, assay_client *client,
                                   const char *project_id, const char *name);
int assay_client_list_models(assay_value **out, assay_client *client, const char *project_id);
int assay_client_delete_model(assay_client *client, const char *model_id);
int assay_client_register_predictions(assay_value **out, assay_client *client,
                                      const char *project_id, const assay_value *request,
                                      int wait);
int assay_client_list_predictions(assay_value **out, assay_client *client,
                                  const char *project_id, const char *model_id,
                                  const char *dataset_id);
int assay_client_get_predictions(assay_value **out, assay_client *client, const char *project_id,
                                 const char *model_id, const char *dataset_id);
int assay_client_delete_predictions(assay_client *client, const char *prediction_id);

int assay_client_register_dataset_from_file(assay_value **out, assay_client *client,
                                            const char *project_id, const assay_value *request,
                                            int wait);
int assay_client_register_model_from_path(assay_value **out, assay_client *client,
                                          const char *project_id, const assay_value *request);
int assay_client_register_predictions_from_file(assay_value **out, assay_client *client,
                                                const char *project_id,
                                                const assay_value *request, int wait);

/* Jobs */
int assay_client_get_job(assay_value **out, assay_client *client, const char *job_id);
int assay_client_get_job_log(assay_value **out, assay_client *client, const char *job_id);
int assay_client_wait_job(assay_value **out, assay_client *client, const char *job_id,
                          double poll_rate_sec, double timeout_sec);
int assay_client_list_jobs(assay_value **out, assay_client *client, const char *project_id,
                           const assay_value *filter);
int assay_client_cancel_job(assay_value **out, assay_client *client, const char *job_id);

/* Stress tests and their results */
int assay_client_start_stress_test(assay_value **out, assay_client *client,
                                   const char *project_id, const assay_value *test_run_config);
int assay_client_update_stress_test_categories(assay_value **out, assay_client *client,
                                               const char *project_id,
                                               const assay_value *categories);
int assay_client_list_test_runs(assay_value **out, assay_client *client, const char *project_id);
int assay_client_get_test_run(assay_value **out, assay_client *client, const char *test_run_id);
int assay_client_get_test_run_document(assay_value **out, assay_client *client,
                                       const char *test_run_id);
int assay_client_get_test_run_result(assay_value **out, assay_client *client,
                                     const char *test_run_id);
int assay_client_get_test_cases(assay_value **out, assay_client *client, const char *test_run_id,
                                const char *test_type, int show_metrics);
int assay_client_get_category_results(assay_value **out, assay_client *client,
                                      const char *test_run_id, int show_metrics);
int assay_client_list_test_batches(assay_value **out, assay_client *client,
                                   const char *test_run_id);
int assay_client_get_test_batch(assay_value **out, assay_client *client, const char *test_run_id,
                                const char *test_type);
int assay_client_get_test_run_report(assay_value **out, assay_client *client,
                                     const char *test_run_id);

/* Administration */
int assay_client_rotate_secret_key(assay_value **out, assay_client *client);
