/* store/sqlite_integrations.c — TEMPORARY STUB (issue 3 in progress): replaced by the real implementation. */
#include "store/sqlite_internal.h"

int sq_integration_insert(store *s, json_t *rec) {
  (void)s;
  (void)rec;
  return assay__err(ASSAY_ERR_INTERNAL, "sq_integration_insert: not implemented yet");
}

int sq_integration_get(store *s, const char *integration_id, json_t **out) {
  (void)s;
  (void)integration_id;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "sq_integration_get: not implemented yet");
}

int sq_integration_list(store *s, const char *workspace_id, json_t **out) {
  (void)s;
  (void)workspace_id;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "sq_integration_list: not implemented yet");
}

int sq_integration_update(store *s, json_t *rec) {
  (void)s;
  (void)rec;
  return assay__err(ASSAY_ERR_INTERNAL, "sq_integration_update: not implemented yet");
}

int sq_integration_delete(store *s, const char *integration_id) {
  (void)s;
  (void)integration_id;
  return assay__err(ASSAY_ERR_INTERNAL, "sq_integration_delete: not implemented yet");
}
