/* client/client_registry.c — registry and jobs (TEMPORARY STUB). */

#include "client/client_internal.h"

ASSAY_API int assay_client_register_dataset(assay_value **out, assay_client *client, const char *project_id, const assay_value *request, int wait) {
  (void)out;
  (void)client;
  (void)project_id;
  (void)request;
  (void)wait;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_get_dataset(assay_value **out, assay_client *client, const char *dataset_id) {
  (void)out;
  (void)client;
  (void)dataset_id;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_get_dataset_by_name(assay_value **out, assay_client *client, const char *project_id, const char *name) {
  (void)out;
  (void)client;
  (void)project_id;
  (void)name;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_list_datasets(assay_value **out, assay_client *client, const char *project_id) {
  (void)out;
  (void)client;
  (void)project_id;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_delete_dataset(assay_client *client, const char *dataset_id) {
  (void)client;
  (void)dataset_id;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_register_model(assay_value **out, assay_client *client, const char *project_id, const assay_value *request) {
  (void)out;
  (void)client;
  (void)project_id;
  (void)request;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_get_model(assay_value **out, assay_client *client, const char *model_id) {
  (void)out;
  (void)client;
  (void)model_id;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_get_model_by_name(assay_value **out, assay_client *client, const char *project_id, const char *name) {
  (void)out;
  (void)client;
  (void)project_id;
  (void)name;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_list_models(assay_value **out, assay_client *client, const char *project_id) {
  (void)out;
  (void)client;
  (void)project_id;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_delete_model(assay_client *client, const char *model_id) {
  (void)client;
  (void)model_id;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_register_predictions(assay_value **out, assay_client *client, const char *project_id, const assay_value *request, int wait) {
  (void)out;
  (void)client;
  (void)project_id;
  (void)request;
  (void)wait;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_list_predictions(assay_value **out, assay_client *client, const char *project_id, const char *model_id, const char *dataset_id) {
  (void)out;
  (void)client;
  (void)project_id;
  (void)model_id;
  (void)dataset_id;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_get_predictions(assay_value **out, assay_client *client, const char *project_id, const char *model_id, const char *dataset_id) {
  (void)out;
  (void)client;
  (void)project_id;
  (void)model_id;
  (void)dataset_id;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_delete_predictions(assay_client *client, const char *prediction_id) {
  (void)client;
  (void)prediction_id;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_get_job(assay_value **out, assay_client *client, const char *job_id) {
  (void)out;
  (void)client;
  (void)job_id;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_get_job_log(assay_value **out, assay_client *client, const char *job_id) {
  (void)out;
  (void)client;
  (void)job_id;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_wait_job(assay_value **out, assay_client *client, const char *job_id, double poll_rate_sec, double timeout_sec) {
  (void)out;
  (void)client;
  (void)job_id;
  (void)poll_rate_sec;
  (void)timeout_sec;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}
