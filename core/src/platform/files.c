/* platform/files.c — the file store (TEMPORARY STUB). */

#include "platform/files.h"
#include "platform/handlers.h"

int files_check_path(const char *what, const char *path) {
  (void)what;
  (void)path;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int files_resolve(assay_platform *p, store *s, const char *workspace_id, const char *location, char **out) {
  (void)p;
  (void)s;
  (void)workspace_id;
  (void)location;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int files_content_hash(store *s, const char *workspace_id, const char *location, char out[65]) {
  (void)s;
  (void)workspace_id;
  (void)location;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int files_upload_begin(file_upload **out, assay_platform *p, store *s, const principal *who, const char *query) {
  (void)out;
  (void)p;
  (void)s;
  (void)who;
  (void)query;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int files_upload_write(file_upload *u, const void *data, size_t n) {
  (void)u;
  (void)data;
  (void)n;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int files_upload_finish(file_upload *u, json_t **answer) {
  (void)u;
  (void)answer;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

void files_upload_abort(file_upload *u) {
  (void)u;
  return;
}

int h_files_upload(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_files_list(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_files_delete(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}
