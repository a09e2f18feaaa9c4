/* platform/admin.c — organisation administration routes: rotating the
 * master key that seals the secrets at rest (POST /v1/admin/rotate-key). */
#include "integration/secrets.h"
#include "platform/handlers.h"

/* POST /v1/admin/rotate-key: {} → {key_id, secrets_resealed} */
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
  size_t resealed = 0;
  char key_id[SECRET_KEY_ID_LEN + 1];
  int rc = keyring_rotate(platform_keyring(c->platform), c->store, &resealed, key_id);
  if (rc) return rc;
  c->resp->body =
      json_pack("{s:s, s:I}", "key_id", key_id, "secrets_resealed", (json_int_t)resealed);
  return c->resp->body ? ASSAY_OK : assay__nomem();
}
