/* store/sqlite_files.c — uploaded files (TEMPORARY STUB). */

#include "store/sqlite_internal.h"

int sq_file_put(store *s, const char *workspace_id, const char *path, int64_t size, const char *blake2b, const char *uploaded_by, int64_t now) {
  (void)s;
  (void)workspace_id;
  (void)path;
  (void)size;
  (void)blake2b;
  (void)uploaded_by;
  (void)now;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int sq_file_get(store *s, const char *workspace_id, const char *path, json_t **out) {
  (void)s;
  (void)workspace_id;
  (void)path;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int sq_file_list(store *s, const char *workspace_id, const char *prefix, json_t **out) {
  (void)s;
  (void)workspace_id;
  (void)prefix;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int sq_file_delete(store *s, const char *workspace_id, const char *path, int prefix, int64_t *deleted) {
  (void)s;
  (void)workspace_id;
  (void)path;
  (void)prefix;
  (void)deleted;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}
