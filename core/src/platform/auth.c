/* platform/auth.c — authentication: turning a bearer token into the
 * principal (user, workspace, org-admin flag) a request acts as. */
#include <stdio.h>
#include <string.h>

#include "platform/platform.h"

int auth_principal(store *s, const char *token, principal *out) {
  if (!token || !*token)
    return assay__err(ASSAY_ERR_AUTH,
                      "missing API token: send it as the header 'Authorization: Bearer <token>'");
  if (strlen(token) != ASSAY_TOKEN_LEN - 1 || strncmp(token, "asy_", 4) != 0)
    return assay__err(ASSAY_ERR_AUTH, "invalid API token: not a token this platform issued");
  unsigned char hash[32];
  token_hash(token, hash);
  token_row row;
  int rc = s->ops->token_lookup(s, hash, &row);
  if (rc == ASSAY_ERR_NOT_FOUND)
    return assay__err(ASSAY_ERR_AUTH, "invalid API token: unknown or deleted");
  if (rc) return rc;
  if (row.revoked_at)
    return assay__err(ASSAY_ERR_AUTH, "API token %s has been revoked", row.id);
  if (row.expires_at && row.expires_at <= assay__now()) {
    char when[32];
    assay__rfc3339(when, row.expires_at);
    return assay__err(ASSAY_ERR_AUTH, "API token %s expired at %s", row.id, when);
  }
  /* A token acts in its workspace: a user removed from it loses it. */
  if (!row.user_is_org_admin && !row.role[0])
    return assay__err(ASSAY_ERR_AUTH,
                      "API token %s belongs to a workspace its user is no longer a member of",
                      row.id);
  memset(out, 0, sizeof *out);
  snprintf(out->user_id, sizeof out->user_id, "%s", row.user_id);
  snprintf(out->workspace_id, sizeof out->workspace_id, "%s", row.workspace_id);
  snprintf(out->token_id, sizeof out->token_id, "%s", row.id);
  out->token_expires_at = row.expires_at;
  out->is_org_admin = row.user_is_org_admin;
  return ASSAY_OK;
}
