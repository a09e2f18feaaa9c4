/* platform/admin.c — TEMPORARY STUB (issue 3 in progress): replaced by the real implementation. */
#include "platform/handlers.h"

int h_admin_rotate_key(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_admin_rotate_key: not implemented yet");
}
