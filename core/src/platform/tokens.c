/* platform/tokens.c — API tokens: minting (random, shown once, stored as a
 * BLAKE2b hash) and the POST /v1/api-tokens handler. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"
#include "platform/access.h"
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
  /* Nobody but an organisation admin mints tokens for someone else: a
   * token acts with its user's members-level secrets. */
  if (strcmp(user_id, c->who->user_id) != 0 && !c->who->is_org_admin)
    return assay__err(ASSAY_ERR_PERMISSION_DENIED,
                      "only an organisation admin may create tokens for another user");
  char token[ASSAY_TOKEN_LEN], id[37];
  int64_t now = assay__now(), expires = now + (int64_t)days * 86400;
  /* A short-lived token must not mint itself a long-lived one: without an
   * explicit expires_in_days the new token ends when the caller's does. */
  if (!c->who->is_org_admin && c->who->token_expires_at && expires > c->who->token_expires_at &&
      !json_object_get(c->body, "expires_in_days"))
    expires = c->who->token_expires_at;
  if (!c->who->is_org_admin && c->who->token_expires_at && expires > c->who->token_expires_at) {
    char when[32];
    assay__rfc3339(when, c->who->token_expires_at);
    return assay__err(ASSAY_ERR_PERMISSION_DENIED,
                      "a new token may not outlive the token that creates it (which expires "
                      "at %s); ask for fewer expires_in_days, or an organisation admin",
                      when);
  }
  store *s = c->store;
  int target_is_org_admin = 0;
  char role[32];
  rc = s->ops->begin(s, 1);
  if (!rc) rc = access_workspace(s, c->who, workspace_id, ROLE_VIEWER, NULL);
  if (!rc) rc = s->ops->user_exists(s, user_id, &target_is_org_admin);
  if (!rc && !target_is_org_admin) {
    rc = s->ops->member_role(s, workspace_id, user_id, role);
    if (rc == ASSAY_ERR_NOT_FOUND)
      rc = assay__err(ASSAY_ERR_CONFIG,
                      "user '%s' is not a member of workspace '%s'; add them with "
                      "add_workspace_member first",
                      user_id, workspace_id);
  }
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

/* GET /v1/api-tokens?workspace_id=&user_id= — organisation admins see every
 * token, workspace admins those of their workspace, others their own. */
int h_api_tokens_list(route_ctx *c) {
  char *ws = NULL, *user = NULL;
  json_t *list = NULL;
  workspace_role held = ROLE_NONE;
  int rc = query_string(c->req->query, "workspace_id", &ws);
  if (!rc) rc = query_string(c->req->query, "user_id", &user);
  if (!rc && !c->who->is_org_admin) {
    if (!ws) ws = assay__strdup(c->who->workspace_id);
    rc = ws ? access_workspace(c->store, c->who, ws, ROLE_VIEWER, &held) : assay__nomem();
    if (!rc && held < ROLE_ADMIN) {
      if (user && strcmp(user, c->who->user_id) != 0)
        rc = assay__err(ASSAY_ERR_PERMISSION_DENIED,
                        "listing another user's tokens needs the WORKSPACE_ROLE_ADMIN role");
      free(user);
      user = rc ? NULL : assay__strdup(c->who->user_id);
      if (!rc && !user) rc = assay__nomem();
    }
  }
  if (!rc) rc = c->store->ops->token_list(c->store, ws, user, assay__now(), &list);
  free(ws);
  free(user);
  if (rc) return rc;
  /* Organisation admins' tokens are out of a workspace admin's reach (they
   * cannot revoke them), so they are not listed to them either. */
  for (size_t i = 0; !c->who->is_org_admin && i < json_array_size(list);) {
    json_t *t = json_array_get(list, i);
    const char *owner = json_string_value(json_object_get(t, "user_id"));
    int owner_is_org_admin = 0;
    if (strcmp(owner, c->who->user_id) != 0 &&
        c->store->ops->user_exists(c->store, owner, &owner_is_org_admin) == ASSAY_OK &&
        owner_is_org_admin)
      json_array_remove(list, i);
    else
      i++;
  }
  assay_error_clear();
  c->resp->body = json_pack("{s:o}", "api_tokens", list);
  return c->resp->body ? ASSAY_OK : assay__nomem();
}

/* DELETE /v1/api-tokens/{token_id} — revoke (idempotent). Own tokens;
 * workspace admins: the workspace's; organisation admins: any. A token the
 * caller may not see is "not found". */
int h_api_token_revoke(route_ctx *c) {
  store *s = c->store;
  token_row t;
  workspace_role held = ROLE_NONE;
  int rc = s->ops->begin(s, 1);
  if (!rc) rc = s->ops->token_get(s, c->params[0], &t);
  if (!rc && !c->who->is_org_admin) {
    /* Scoped like everything else: only tokens of the caller's workspace,
     * and among them only their own unless they administer it. */
    int own = strcmp(t.user_id, c->who->user_id) == 0;
    int access = strcmp(t.workspace_id, c->who->workspace_id) != 0 ? ASSAY_ERR_NOT_FOUND
                 : own ? ASSAY_OK
                 /* a workspace admin cannot lock an organisation admin out */
                 : t.user_is_org_admin ? ASSAY_ERR_NOT_FOUND
                       : access_workspace(s, c->who, t.workspace_id, ROLE_ADMIN, &held);
    if (access) rc = assay__err(ASSAY_ERR_NOT_FOUND, "API token '%s' not found", c->params[0]);
  }
  if (!rc) rc = s->ops->token_revoke(s, c->params[0], assay__now());
  if (!rc) rc = s->ops->commit(s);
  if (rc) s->ops->rollback(s);
  return rc;
}
