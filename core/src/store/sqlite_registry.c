/* store/sqlite_registry.c — the registry (TEMPORARY STUB). */

#include "store/sqlite_internal.h"

int sq_registry_insert(store *s, const char *kind, json_t *rec) {
  (void)s;
  (void)kind;
  (void)rec;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int sq_registry_update(store *s, const char *kind, json_t *rec) {
  (void)s;
  (void)kind;
  (void)rec;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int sq_registry_get(store *s, const char *kind, const char *id, json_t **out) {
  (void)s;
  (void)kind;
  (void)id;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int sq_registry_list(store *s, const char *kind, const char *project_id, const json_t *filter, json_t **out) {
  (void)s;
  (void)kind;
  (void)project_id;
  (void)filter;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int sq_registry_delete(store *s, const char *kind, const char *id) {
  (void)s;
  (void)kind;
  (void)id;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}
