/* platform/admin.c — organisation administration routes: rotating the
 * master key that seals the secrets at rest (POST /v1/admin/rotate-key). */
#include "platform/handlers.h"

/* POST /v1/admin/rotate-key: {} → {key_id, secrets_resealed, compacted} */
int h_admin_rotate_key(route_ctx *c) {
  if (!c->who->is_org_admin)
    return assay__err(ASSAY_ERR_PERMISSION_DENIED,
                      "rotating the secret key needs an organisation admin");
  const char *key;
  json_t *v;
  json_object_foreach(c->body, key, v) {
    return assay__err(ASSAY_ERR_CONFIG,
                      "unknown field '%s' in a key rotation request; it takes no fields "
                      "(send {} or no body)",
                      key);
  }
  return platform_rotate_key(c->platform, c->store, &c->resp->body);
}
