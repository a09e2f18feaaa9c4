/* platform/tokens.c — API tokens: minting (random, shown once, stored as a
 * BLAKE2b hash) and the POST /v1/api-tokens handler. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "platform/platform.h"
#include "platform/handlers.h"

void token_hash(const char *token, unsigned char out[32]) {
  crypto_generichash(out, 32, (const unsigned char *)token, strlen(token), NULL, 0);
}

int token_mint(store *s, const char *user_id, const char *workspace_id, const char *name,
               int64_t expires_at, char token[ASSAY_TOKEN_LEN], char id[37]) {
  unsigned char raw[32], hash[32];
  randombytes_buf(raw, sizeof raw);
  memcpy(token, "asy_", 4);
  sodium_bin2base64(token + 4, ASSAY_TOKEN_LEN - 4, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  token_hash(token, hash);
  assay__uuid(id);
  return s->ops->token_insert(s, id, user_id, workspace_id, name, hash, assay__now(),
                              expires_at);
}

/* POST /v1/api-tokens {"name", "workspace_id"?, "user_id"?, "expires_in_days"?} */
int h_api_tokens_create(route_ctx *c) {
  static const char *const fields[] = {"name", "workspace_id", "user_id", "expires_in_days",
                                       NULL};
  const char *name = NULL, *workspace_id = NULL, *user_id = NULL;
  json_int_t days = ASSAY_TOKEN_DEFAULT_DAYS;
  int rc = body_check_fields(c->body, fields, "an API token");
  if (!rc) rc = body_string(c->body, "name", 1, &name);
  if (!rc) rc = body_string(c->body, "workspace_id", 0, &workspace_id);
  if (!rc) rc = body_string(c->body, "user_id", 0, &user_id);
  if (!rc) rc = body_int(c->body, "expires_in_days", &days);
  if (rc) return rc;
  if (!*name) return assay__err(ASSAY_ERR_CONFIG, "name must not be empty");
  if (strlen(name) > 256)
    return assay__err(ASSAY_ERR_CONFIG, "name must be at most 256 bytes; got %zu",
                      strlen(name));
  if (days < 1 || days > ASSAY_TOKEN_MAX_DAYS)
    return assay__err(ASSAY_ERR_CONFIG, "expires_in_days must be between 1 and %d; got %lld",
                      ASSAY_TOKEN_MAX_DAYS, (long long)days);
  if (!workspace_id) workspace_id = c->who->workspace_id;
  if (!user_id) user_id = c->who->user_id;
  /* Until workspace roles arrive, only an organisation admin may mint tokens
   * for another user or workspace. */
  if ((strcmp(workspace_id, c->who->workspace_id) != 0 ||
       strcmp(user_id, c->who->user_id) != 0) && !c->who->is_org_admin)
    return assay__err(ASSAY_ERR_PERMISSION_DENIED,
                      "only an organisation admin may create tokens for another user or "
                      "workspace");

  char token[ASSAY_TOKEN_LEN], id[37];
  int64_t now = assay__now(), expires = now + (int64_t)days * 86400;
  /* A short-lived token must not mint itself a long-lived one. */
  if (!c->who->is_org_admin && c->who->token_expires_at && expires > c->who->token_expires_at) {
    char when[32];
    assay__rfc3339(when, c->who->token_expires_at);
    return assay__err(ASSAY_ERR_PERMISSION_DENIED,
                      "a new token may not outlive the token that creates it (which expires "
                      "at %s); ask for fewer expires_in_days, or an organisation admin",
                      when);
  }
  store *s = c->store;
  rc = s->ops->begin(s, 1);
  if (!rc) rc = s->ops->user_exists(s, user_id, NULL);
  if (!rc) rc = s->ops->workspace_exists(s, workspace_id);
  if (!rc) rc = token_mint(s, user_id, workspace_id, name, expires, token, id);
  if (!rc) rc = s->ops->commit(s);
  if (rc) {
    s->ops->rollback(s);
    return rc;
  }
  char created[32], expires_text[32];
  assay__rfc3339(created, now);
  assay__rfc3339(expires_text, expires);
  c->resp->status = 201;
  c->resp->body = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "token", token, "id", id,
                            "name", name, "user_id", user_id, "workspace_id", workspace_id,
                            "created_at", created, "expires_at", expires_text);
  sodium_memzero(token, sizeof token);
  return c->resp->body ? ASSAY_OK : assay__nomem();
}

int h_api_tokens_list(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_api_token_revoke(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}
