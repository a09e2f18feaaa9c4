/* store/sqlite_secrets.c — TEMPORARY STUB (issue 3 in progress): replaced by the real implementation. */
#include "store/sqlite_internal.h"

int sq_secret_put(store *s, const secret_row *row, int64_t now) {
  (void)s;
  (void)row;
  (void)now;
  return assay__err(ASSAY_ERR_INTERNAL, "sq_secret_put: not implemented yet");
}

int sq_secret_get(store *s, const char *integration_id, const char *name, const char *user_id, secret_row *out) {
  (void)s;
  (void)integration_id;
  (void)name;
  (void)user_id;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "sq_secret_get: not implemented yet");
}

int sq_secret_delete(store *s, const char *integration_id, const char *name, const char *user_id) {
  (void)s;
  (void)integration_id;
  (void)name;
  (void)user_id;
  return assay__err(ASSAY_ERR_INTERNAL, "sq_secret_delete: not implemented yet");
}

int sq_secret_delete_member(store *s, const char *workspace_id, const char *user_id) {
  (void)s;
  (void)workspace_id;
  (void)user_id;
  return assay__err(ASSAY_ERR_INTERNAL, "sq_secret_delete_member: not implemented yet");
}

int sq_secret_names(store *s, const char *integration_id, const char *user_id, json_t **out) {
  (void)s;
  (void)integration_id;
  (void)user_id;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "sq_secret_names: not implemented yet");
}

int sq_secret_all(store *s, secret_row **rows, size_t *n) {
  (void)s;
  (void)rows;
  (void)n;
  return assay__err(ASSAY_ERR_INTERNAL, "sq_secret_all: not implemented yet");
}

void secret_rows_free(secret_row *rows, size_t n) {
  (void)rows;
  (void)n;
}
