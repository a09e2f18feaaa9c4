/* integration/resolve.c — TEMPORARY STUB (issue 3 in progress): replaced by the real implementation. */
#include "integration/integration.h"

int integration_resolve(assay_platform *p, store *s, const char *integration_id, const char *user_id, json_t **dict) {
  (void)p;
  (void)s;
  (void)integration_id;
  (void)user_id;
  (void)dict;
  return assay__err(ASSAY_ERR_INTERNAL, "integration_resolve: not implemented yet");
}

void integration_dict_free(json_t *dict) {
  (void)dict;
}
