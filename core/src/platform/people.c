/* platform/people.c — TEMPORARY STUB (issue 3 in progress): replaced by the real implementation. */
#include "platform/handlers.h"

int h_users_list(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_users_list: not implemented yet");
}

int h_users_create(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_users_create: not implemented yet");
}

int h_workspaces_list(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_workspaces_list: not implemented yet");
}

int h_workspaces_create(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_workspaces_create: not implemented yet");
}

int h_workspace_get(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_workspace_get: not implemented yet");
}

int h_members_list(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_members_list: not implemented yet");
}

int h_members_add(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_members_add: not implemented yet");
}

int h_member_update(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_member_update: not implemented yet");
}

int h_member_remove(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "h_member_remove: not implemented yet");
}
