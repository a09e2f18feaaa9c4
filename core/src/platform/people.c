/* platform/people.c — users, workspaces and workspace membership: the
 * handlers of /v1/users, /v1/workspaces and /v1/workspaces/{id}/members.
 * Who may do what is in access.h; the rules that only organisation admins
 * create users and workspaces, and that a workspace keeps at least one
 * admin, are here. */
#include <stdio.h>
#include <string.h>

#include "platform/access.h"
#include "platform/handlers.h"

#define USERNAME_MAX 64
#define DISPLAY_NAME_MAX 256
#define WORKSPACE_NAME_MAX 256

static int need_org_admin(route_ctx *c, const char *what) {
  if (c->who->is_org_admin) return ASSAY_OK;
  return assay__err(ASSAY_ERR_PERMISSION_DENIED, "%s needs an organisation admin", what);
}

/* Start a write transaction; every handler below ends with finish(). */
static int begin_write(route_ctx *c) { return c->store->ops->begin(c->store, 1); }

static int finish(route_ctx *c, int rc) {
  store *s = c->store;
  if (!rc) rc = s->ops->commit(s);
  if (rc) s->ops->rollback(s);
  return rc;
}

static int answer(route_ctx *c, int status, json_t *body) {
  if (!body) return assay__nomem();
  c->resp->status = status;
  c->resp->body = body;
  return ASSAY_OK;
}

/* --- users ------------------------------------------------------------------ */

static int check_username(const char *u) {
  size_t n = strlen(u);
  if (n == 0 || n > USERNAME_MAX)
    return assay__err(ASSAY_ERR_CONFIG, "username must be 1 to %d characters; got %zu",
                      USERNAME_MAX, n);
  for (size_t i = 0; i < n; i++) {
    char ch = u[i];
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '.' || ch == '_' || ch == '@' || ch == '-';
    if (!ok)
      return assay__err(ASSAY_ERR_CONFIG,
                        "username may hold only letters, digits and . _ @ -; got '%s'", u);
  }
  return ASSAY_OK;
}

/* GET /v1/users */
int h_users_list(route_ctx *c) {
  json_t *list = NULL;
  int rc = need_org_admin(c, "listing users");
  if (!rc) rc = c->store->ops->user_list(c->store, &list);
  return rc ? rc : answer(c, 200, json_pack("{s:o}", "users", list));
}

/* POST /v1/users {username, display_name?} */
int h_users_create(route_ctx *c) {
  static const char *const fields[] = {"username", "display_name", NULL};
  const char *username = NULL, *display = NULL;
  int rc = need_org_admin(c, "creating a user");
  if (!rc) rc = body_check_fields(c->body, fields, "a user");
  if (!rc) rc = body_string(c->body, "username", 1, &username);
  if (!rc) rc = body_string(c->body, "display_name", 0, &display);
  if (!rc) rc = check_username(username);
  if (!rc && display) rc = check_text("display_name", display, DISPLAY_NAME_MAX, 1);
  if (rc) return rc;
  char id[37];
  assay__uuid(id);
  store *s = c->store;
  json_t *user = NULL;
  rc = begin_write(c);
  if (!rc) {
    rc = s->ops->user_insert(s, id, username, display, 0, assay__now());
    if (rc == ASSAY_ERR_CONFLICT)
      rc = assay__err(ASSAY_ERR_CONFLICT, "a user named '%s' already exists", username);
  }
  if (!rc) rc = s->ops->user_get(s, id, &user);
  rc = finish(c, rc);
  if (rc) {
    json_decref(user);
    return rc;
  }
  return answer(c, 201, user);
}

/* --- workspaces ---------------------------------------------------------------- */

/* GET /v1/workspaces */
int h_workspaces_list(route_ctx *c) {
  json_t *list = NULL;
  int rc = c->store->ops->workspace_list(c->store, c->who->user_id, c->who->is_org_admin, &list);
  if (rc) return rc;
  if (!c->who->is_org_admin) { /* a token sees its own workspace only */
    size_t i = 0;
    while (i < json_array_size(list)) {
      json_t *w = json_array_get(list, i);
      if (strcmp(json_string_value(json_object_get(w, "workspace_id")), c->who->workspace_id))
        json_array_remove(list, i);
      else
        i++;
    }
  }
  return answer(c, 200, json_pack("{s:o}", "workspaces", list));
}

/* POST /v1/workspaces {name} */
int h_workspaces_create(route_ctx *c) {
  static const char *const fields[] = {"name", NULL};
  const char *name = NULL;
  int rc = need_org_admin(c, "creating a workspace");
  if (!rc) rc = body_check_fields(c->body, fields, "a workspace");
  if (!rc) rc = body_string(c->body, "name", 1, &name);
  if (!rc) rc = check_text("name", name, WORKSPACE_NAME_MAX, 1);
  if (rc) return rc;
  char id[37];
  assay__uuid(id);
  store *s = c->store;
  json_t *w = NULL;
  rc = begin_write(c);
  if (!rc) {
    rc = s->ops->workspace_insert(s, id, name, assay__now());
    if (rc == ASSAY_ERR_CONFLICT)
      rc = assay__err(ASSAY_ERR_CONFLICT, "a workspace named '%s' already exists", name);
  }
  /* Its creator administers it. */
  if (!rc) rc = s->ops->member_insert(s, id, c->who->user_id, role_name(ROLE_ADMIN));
  if (!rc) rc = s->ops->workspace_get(s, id, &w);
  rc = finish(c, rc);
  if (rc) {
    json_decref(w);
    return rc;
  }
  json_object_set_new(w, "role", json_string(role_name(ROLE_ADMIN)));
  return answer(c, 201, w);
}

/* GET /v1/workspaces/{workspace_id} */
int h_workspace_get(route_ctx *c) {
  workspace_role held;
  json_t *w = NULL;
  char role[32] = "";
  int rc = access_workspace(c->store, c->who, c->params[0], ROLE_VIEWER, &held);
  if (!rc) rc = c->store->ops->workspace_get(c->store, c->params[0], &w);
  if (rc) return rc;
  int member = c->store->ops->member_role(c->store, c->params[0], c->who->user_id, role);
  assay_error_clear();
  json_object_set_new(w, "role", member == ASSAY_OK ? json_string(role) : json_null());
  return answer(c, 200, w);
}

/* --- membership ---------------------------------------------------------------- */

static int member_record(store *s, const char *workspace_id, const char *user_id,
                         const char *role, json_t **out) {
  json_t *u = NULL;
  int rc = s->ops->user_get(s, user_id, &u);
  if (rc) return rc;
  *out = json_pack("{s:s, s:s, s:O, s:O, s:s}", "workspace_id", workspace_id, "user_id",
                   user_id, "username", json_object_get(u, "username"), "display_name",
                   json_object_get(u, "display_name") ? json_object_get(u, "display_name")
                                                      : json_null(),
                   "role", role);
  json_decref(u);
  return *out ? ASSAY_OK : assay__nomem();
}

/* Only an organisation admin changes an organisation admin's membership
 * (removing it would revoke their tokens for the workspace). */
static int may_manage(route_ctx *c, const char *user_id) {
  int target_is_org_admin = 0;
  if (c->who->is_org_admin) return ASSAY_OK;
  int rc = c->store->ops->user_exists(c->store, user_id, &target_is_org_admin);
  if (rc == ASSAY_ERR_NOT_FOUND) {
    assay_error_clear();
    return ASSAY_OK; /* member_role reports the missing member */
  }
  if (rc) return rc;
  if (target_is_org_admin)
    return assay__err(ASSAY_ERR_PERMISSION_DENIED,
                      "user '%s' is an organisation admin; only an organisation admin may "
                      "change or remove their membership",
                      user_id);
  return ASSAY_OK;
}

/* Refuse to take the admin role from the last admin of a workspace. */
static int keep_an_admin(store *s, const char *workspace_id, const char *user_id,
                         const char *current_role, const char *doing) {
  if (strcmp(current_role, role_name(ROLE_ADMIN)) != 0) return ASSAY_OK;
  int64_t admins = 0;
  int rc = s->ops->member_count_role(s, workspace_id, current_role, &admins);
  if (rc) return rc;
  if (admins <= 1)
    return assay__err(ASSAY_ERR_CONFLICT,
                      "cannot %s user '%s': they are the last WORKSPACE_ROLE_ADMIN of workspace "
                      "'%s'; make another member an admin first",
                      doing, user_id, workspace_id);
  return ASSAY_OK;
}

/* GET /v1/workspaces/{workspace_id}/members */
int h_members_list(route_ctx *c) {
  json_t *list = NULL;
  int rc = access_workspace(c->store, c->who, c->params[0], ROLE_VIEWER, NULL);
  if (!rc) rc = c->store->ops->member_list(c->store, c->params[0], &list);
  return rc ? rc : answer(c, 200, json_pack("{s:o}", "members", list));
}

/* POST /v1/workspaces/{workspace_id}/members {user_id, role} */
int h_members_add(route_ctx *c) {
  static const char *const fields[] = {"user_id", "role", NULL};
  const char *user_id = NULL, *role_text = NULL, *ws = c->params[0];
  workspace_role role;
  store *s = c->store;
  json_t *m = NULL;
  int rc = begin_write(c);
  if (!rc) rc = access_workspace(s, c->who, ws, ROLE_ADMIN, NULL);
  if (!rc) rc = body_check_fields(c->body, fields, "a workspace member");
  if (!rc) rc = body_string(c->body, "user_id", 1, &user_id);
  if (!rc) rc = body_string(c->body, "role", 1, &role_text);
  if (!rc) rc = role_parse("role", role_text, &role);
  if (!rc) rc = s->ops->user_exists(s, user_id, NULL);
  if (!rc) {
    rc = s->ops->member_insert(s, ws, user_id, role_name(role));
    if (rc == ASSAY_ERR_CONFLICT)
      rc = assay__err(ASSAY_ERR_CONFLICT,
                      "user '%s' is already a member of workspace '%s'; change their role "
                      "with update_workspace_member",
                      user_id, ws);
  }
  if (!rc) rc = member_record(s, ws, user_id, role_name(role), &m);
  rc = finish(c, rc);
  if (rc) {
    json_decref(m);
    return rc;
  }
  return answer(c, 201, m);
}

/* PUT /v1/workspaces/{workspace_id}/members/{user_id} {role} */
int h_member_update(route_ctx *c) {
  static const char *const fields[] = {"role", NULL};
  const char *role_text = NULL, *ws = c->params[0], *user_id = c->params[1];
  workspace_role role;
  char current[32];
  store *s = c->store;
  json_t *m = NULL;
  int rc = begin_write(c);
  if (!rc) rc = access_workspace(s, c->who, ws, ROLE_ADMIN, NULL);
  if (!rc) rc = body_check_fields(c->body, fields, "a membership change");
  if (!rc) rc = body_string(c->body, "role", 1, &role_text);
  if (!rc) rc = role_parse("role", role_text, &role);
  if (!rc) rc = s->ops->member_role(s, ws, user_id, current);
  if (!rc) rc = may_manage(c, user_id);
  if (!rc && role != ROLE_ADMIN) rc = keep_an_admin(s, ws, user_id, current, "demote");
  if (!rc) rc = s->ops->member_update(s, ws, user_id, role_name(role));
  if (!rc) rc = member_record(s, ws, user_id, role_name(role), &m);
  rc = finish(c, rc);
  if (rc) {
    json_decref(m);
    return rc;
  }
  return answer(c, 200, m);
}

/* DELETE /v1/workspaces/{workspace_id}/members/{user_id}: also deletes the
 * user's members-level credentials in the workspace and revokes their
 * tokens for it. */
int h_member_remove(route_ctx *c) {
  const char *ws = c->params[0], *user_id = c->params[1];
  char current[32];
  store *s = c->store;
  int rc = begin_write(c);
  if (!rc) rc = access_workspace(s, c->who, ws, ROLE_ADMIN, NULL);
  if (!rc) rc = s->ops->member_role(s, ws, user_id, current);
  if (!rc) rc = may_manage(c, user_id);
  if (!rc) rc = keep_an_admin(s, ws, user_id, current, "remove");
  if (!rc) rc = s->ops->secret_delete_member(s, ws, user_id);
  if (!rc) rc = s->ops->token_revoke_member(s, ws, user_id, assay__now());
  if (!rc) rc = s->ops->member_delete(s, ws, user_id);
  rc = finish(c, rc);
  /* After the commit: the member's deleted secret values (if they had
   * any) out of the store's files; never fails the removal. */
  if (!rc) (void)platform_compact(c->platform, s);
  return rc;
}
