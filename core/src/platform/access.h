/* platform/access.h — who may do what: workspace roles, and the one check
 * every workspace-scoped handler makes. Not installed.
 *
 * Organisation admins act as WORKSPACE_ROLE_ADMIN in every workspace. Any
 * other caller's token is scoped to its workspace: other workspaces, and
 * everything in them, are "not found" so IDs do not leak across them.
 * Inside the workspace, too low a role is PermissionDenied. */
#ifndef ASSAY_ACCESS_H
#define ASSAY_ACCESS_H

#include "platform/router.h"
#include "store/store.h"

typedef enum workspace_role {
  ROLE_NONE = 0,
  ROLE_VIEWER = 1,
  ROLE_MEMBER = 2,
  ROLE_ADMIN = 3
} workspace_role;

/* Parse a role: WORKSPACE_ROLE_ADMIN / _MEMBER / _VIEWER, or the aliases
 * "admin", "member", "viewer". Anything else is ASSAY_ERR_CONFIG naming
 * `field` and the valid values. */
int role_parse(const char *field, const char *text, workspace_role *out);
/* Canonical name ("WORKSPACE_ROLE_MEMBER"); NULL for ROLE_NONE. */
const char *role_name(workspace_role r);

/* May `who` act in `workspace_id` with at least `min`? The workspace must
 * exist and be visible to the caller (else ASSAY_ERR_NOT_FOUND "workspace
 * '<id>' not found"); then a role below `min` is ASSAY_ERR_PERMISSION_DENIED
 * naming the role needed and the role held. `held` (may be NULL) receives
 * the caller's effective role. Reads the store; call it inside the
 * handler's transaction when one is open. */
int access_workspace(store *s, const principal *who, const char *workspace_id,
                     workspace_role min, workspace_role *held);

#endif
