/* platform/access.c — workspace roles and the access check of every
 * workspace-scoped operation (see access.h for the rules). */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "platform/access.h"

static const struct {
  workspace_role role;
  const char *name;
  const char *alias;
} roles[] = {
  {ROLE_VIEWER, "WORKSPACE_ROLE_VIEWER", "viewer"},
  {ROLE_MEMBER, "WORKSPACE_ROLE_MEMBER", "member"},
  {ROLE_ADMIN, "WORKSPACE_ROLE_ADMIN", "admin"},
};
#define N_ROLES (sizeof roles / sizeof roles[0])

int role_parse(const char *field, const char *text, workspace_role *out) {
  for (size_t i = 0; text && i < N_ROLES; i++) {
    if (strcmp(text, roles[i].name) == 0 || strcmp(text, roles[i].alias) == 0) {
      *out = roles[i].role;
      return ASSAY_OK;
    }
  }
  return assay__err(ASSAY_ERR_CONFIG,
                    "%s must be one of WORKSPACE_ROLE_ADMIN, WORKSPACE_ROLE_MEMBER, "
                    "WORKSPACE_ROLE_VIEWER (or admin, member, viewer); got '%s'",
                    field, text ? text : "(none)");
}

const char *role_name(workspace_role r) {
  for (size_t i = 0; i < N_ROLES; i++)
    if (roles[i].role == r) return roles[i].name;
  return NULL;
}

static int not_found(const char *workspace_id) {
  return assay__err(ASSAY_ERR_NOT_FOUND, "workspace '%s' not found", workspace_id);
}

int access_workspace(store *s, const principal *who, const char *workspace_id,
                     workspace_role min, workspace_role *held) {
  workspace_role r = ROLE_NONE;
  if (!workspace_id || !*workspace_id)
    return assay__err(ASSAY_ERR_CONFIG, "workspace_id must be a non-empty string");
  if (who->is_org_admin) {
    int rc = s->ops->workspace_exists(s, workspace_id);
    if (rc == ASSAY_ERR_NOT_FOUND) return not_found(workspace_id);
    if (rc) return rc;
    r = ROLE_ADMIN;
  } else {
    /* A token is scoped to its workspace: nothing else exists for it. */
    if (strcmp(workspace_id, who->workspace_id) != 0) return not_found(workspace_id);
    char role[32];
    int rc = s->ops->member_role(s, workspace_id, who->user_id, role);
    if (rc == ASSAY_ERR_NOT_FOUND) return not_found(workspace_id);
    if (rc) return rc;
    rc = role_parse("role", role, &r);
    if (rc) return assay__err(ASSAY_ERR_STORE, "stored membership has an unknown role");
  }
  if (held) *held = r;
  if (r < min)
    return assay__err(ASSAY_ERR_PERMISSION_DENIED,
                      "this needs the %s role in workspace '%s' (or an organisation admin); "
                      "you have %s",
                      role_name(min), workspace_id, role_name(r));
  return ASSAY_OK;
}
