/* client/client_files.c — uploads (TEMPORARY STUB). */

#include "client/client_internal.h"

ASSAY_API int assay_client_upload_file(assay_value **out, assay_client *client, const char *file_path, const char *upload_path) {
  (void)out;
  (void)client;
  (void)file_path;
  (void)upload_path;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_upload_directory(assay_value **out, assay_client *client, const char *dir_path, int upload_hidden, const char *upload_path) {
  (void)out;
  (void)client;
  (void)dir_path;
  (void)upload_hidden;
  (void)upload_path;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_upload_columns(assay_value **out, assay_client *client, const assay_value *columns, const char *name, const char *upload_path) {
  (void)out;
  (void)client;
  (void)columns;
  (void)name;
  (void)upload_path;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_list_uploaded_files(assay_value **out, assay_client *client) {
  (void)out;
  (void)client;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

ASSAY_API int assay_client_delete_uploaded_file(assay_client *client, const char *location) {
  (void)client;
  (void)location;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}
