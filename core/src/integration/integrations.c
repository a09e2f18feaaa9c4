/* integration/integrations.c — TEMPORARY STUB (issue 3 in progress): replaced by the real implementation. */
#include "platform/handlers.h"

int h_integrations_list(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_integrations_list: not implemented yet");
}

int h_integrations_create(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_integrations_create: not implemented yet");
}

int h_integration_get(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_integration_get: not implemented yet");
}

int h_integration_update(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_integration_update: not implemented yet");
}

int h_integration_delete(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_integration_delete: not implemented yet");
}

int h_integration_credentials(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_integration_credentials: not implemented yet");
}
