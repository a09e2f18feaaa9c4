/* platform/access.c — TEMPORARY STUB (issue 3 in progress): replaced by the real implementation. */
#include "platform/access.h"
#include "internal.h"

int role_parse(const char *field, const char *text, workspace_role *out) {
  (void)field;
  (void)text;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "role_parse: not implemented yet");
}

int access_workspace(store *s, const principal *who, const char *workspace_id, workspace_role min, workspace_role *held) {
  (void)s;
  (void)who;
  (void)workspace_id;
  (void)min;
  (void)held;
  return assay__err(ASSAY_ERR_INTERNAL, "access_workspace: not implemented yet");
}
const char *role_name(workspace_role r) {
  (void)r;
  return NULL;
}
