/* platform/info.c — GET /v1/health (no auth) and GET /v1/platform (who am I,
 * which version). */
#include "platform/handlers.h"

int h_health(route_ctx *c) {
  c->resp->body = json_pack("{s:s, s:s}", "status", "ok", "version", ASSAY_VERSION);
  return c->resp->body ? ASSAY_OK : assay__nomem();
}

int h_platform(route_ctx *c) {
  c->resp->body = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "version", ASSAY_VERSION,
                            "api_version", ASSAY_API_VERSION, "user_id", c->who->user_id,
                            "workspace_id", c->who->workspace_id, "embedded",
                            c->req->principal != NULL, "store", c->store->ops->backend);
  return c->resp->body ? ASSAY_OK : assay__nomem();
}
