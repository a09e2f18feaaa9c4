/* test_people.c — users, workspaces, membership and API tokens through the
 * router with real bearer tokens: who may do what (organisation admin,
 * workspace admin, member, viewer, member of another workspace, expired and
 * revoked tokens), the last-admin rule, removal revoking a member's tokens,
 * token listing and revocation, project roles, and bad inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include <time.h>

#include <cmocka.h>

#include "internal.h"
#include "platform/platform.h"
#include "platform/router.h"
#include "test_support.h"

enum { ORG, WADMIN, MEMBER, VIEWER, OUTSIDER, EXPIRED, REVOKED, N_CALLERS };
static const char *const caller_names[N_CALLERS] = {
  "org admin", "workspace admin", "member", "viewer", "outsider", "expired", "revoked"};

typedef struct fixture {
  char *home;
  assay_platform *p;
  char ws[37], other_ws[37];
  char user[N_CALLERS][37];
  char token[N_CALLERS][64];
  char token_id[N_CALLERS][37];
} fixture;

static int send_req(fixture *f, const char *method, const char *path, const char *query,
                    const char *token, const char *body, json_t **out) {
  return router_send(f->p, method, path, query, token, body, out);
}


/* Send and expect `status`; returns the body (caller decrefs). */
static json_t *expect(fixture *f, int status, const char *method, const char *path,
                      const char *token, const char *body) {
  json_t *b = NULL;
  char *q = strchr(path, '?'), *p = strdup(path);
  if (q) p[q - path] = '\0';
  int got = send_req(f, method, p, q ? q + 1 : NULL, token, body, &b);
  if (got != status) {
    char *text = b ? json_dumps(b, 0) : NULL;
    fail_msg("%s %s: expected %d, got %d: %s", method, path, status, got, text ? text : "");
  }
  free(p);
  return b;
}

static void get_id(json_t *b, const char *field, char out[37]) {
  const char *v = json_string_value(json_object_get(b, field));
  assert_non_null(v);
  snprintf(out, 37, "%s", v);
}

/* As the organisation admin: create a user, add them to `ws` with `role`
 * and mint their token. */
static void make_person(fixture *f, int who, const char *ws, const char *role) {
  char body[512];
  snprintf(body, sizeof body, "{\"username\":\"%s-%d\"}",
           who == OUTSIDER ? "outsider" : "person", who);
  json_t *b = expect(f, 201, "POST", "/v1/users", f->token[ORG], body);
  get_id(b, "user_id", f->user[who]);
  json_decref(b);
  char path[256];
  snprintf(path, sizeof path, "/v1/workspaces/%s/members", ws);
  snprintf(body, sizeof body, "{\"user_id\":\"%s\",\"role\":\"%s\"}", f->user[who], role);
  json_decref(expect(f, 201, "POST", path, f->token[ORG], body));
  snprintf(body, sizeof body, "{\"name\":\"t\",\"user_id\":\"%s\",\"workspace_id\":\"%s\"}",
           f->user[who], ws);
  b = expect(f, 201, "POST", "/v1/api-tokens", f->token[ORG], body);
  snprintf(f->token[who], sizeof f->token[who], "%s",
           json_string_value(json_object_get(b, "token")));
  get_id(b, "id", f->token_id[who]);
  json_decref(b);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->home = make_home();
  if (assay_platform_open(&f->p, f->home) != ASSAY_OK) return -1;
  if (read_admin_token(f->home, f->token[ORG], sizeof f->token[ORG]) != 0) return -1;
  snprintf(f->user[ORG], 37, "%s", platform_admin_principal(f->p)->user_id);

  json_t *b = expect(f, 201, "POST", "/v1/workspaces", f->token[ORG], "{\"name\":\"team\"}");
  get_id(b, "workspace_id", f->ws);
  json_decref(b);
  b = expect(f, 201, "POST", "/v1/workspaces", f->token[ORG], "{\"name\":\"elsewhere\"}");
  get_id(b, "workspace_id", f->other_ws);
  json_decref(b);
  make_person(f, WADMIN, f->ws, "WORKSPACE_ROLE_ADMIN");
  make_person(f, MEMBER, f->ws, "member"); /* the alias */
  make_person(f, VIEWER, f->ws, "WORKSPACE_ROLE_VIEWER");
  make_person(f, OUTSIDER, f->other_ws, "WORKSPACE_ROLE_ADMIN");
  make_person(f, EXPIRED, f->ws, "WORKSPACE_ROLE_ADMIN");
  make_person(f, REVOKED, f->ws, "WORKSPACE_ROLE_ADMIN");
  /* the organisation admin's own token for the team workspace */
  char body[256];
  snprintf(body, sizeof body, "{\"name\":\"org\",\"workspace_id\":\"%s\"}", f->ws);
  b = expect(f, 201, "POST", "/v1/api-tokens", f->token[ORG], body);
  snprintf(f->token[ORG], sizeof f->token[ORG], "%s",
           json_string_value(json_object_get(b, "token")));
  json_decref(b);

  /* expire one token in the database; revoke the other through the API */
  char path[4096];
  snprintf(path, sizeof path, "%s/assay.db", f->home);
  sqlite3 *h;
  char sql[256];
  if (sqlite3_open(path, &h) != SQLITE_OK) return -1;
  snprintf(sql, sizeof sql, "UPDATE api_tokens SET expires_at = 1000 WHERE id = '%s'",
           f->token_id[EXPIRED]);
  if (sqlite3_exec(h, sql, NULL, NULL, NULL) != SQLITE_OK) return -1;
  sqlite3_close(h);
  snprintf(path, sizeof path, "/v1/api-tokens/%s", f->token_id[REVOKED]);
  json_decref(expect(f, 204, "DELETE", path, f->token[ORG], NULL));
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  assay_platform_free(f->p);
  rm_home(f->home);
  free(f);
  return 0;
}

/* One operation of the matrix: the expected status per caller. A fresh
 * target per call keeps cells independent. */
typedef struct op {
  const char *name;
  int expect[N_CALLERS];
  void (*run)(fixture *f, int who, int status);
} op;

static char scratch_user[37];

static void fresh_user(fixture *f) {
  static int n;
  char body[128];
  snprintf(body, sizeof body, "{\"username\":\"scratch-%d\"}", ++n);
  json_t *b = expect(f, 201, "POST", "/v1/users", f->token[ORG], body);
  get_id(b, "user_id", scratch_user);
  json_decref(b);
}

static void add_scratch_member(fixture *f) {
  char path[256], body[256];
  fresh_user(f);
  snprintf(path, sizeof path, "/v1/workspaces/%s/members", f->ws);
  snprintf(body, sizeof body, "{\"user_id\":\"%s\",\"role\":\"viewer\"}", scratch_user);
  json_decref(expect(f, 201, "POST", path, f->token[ORG], body));
}

/* The scratch user's role in the team workspace as the organisation admin
 * sees it; "" when not a member. */
static void scratch_role(fixture *f, char out[32]) {
  char path[256];
  snprintf(path, sizeof path, "/v1/workspaces/%s/members", f->ws);
  json_t *b = expect(f, 200, "GET", path, f->token[ORG], NULL), *m;
  size_t i;
  out[0] = '\0';
  json_array_foreach(json_object_get(b, "members"), i, m) {
    if (strcmp(json_string_value(json_object_get(m, "user_id")), scratch_user) == 0)
      snprintf(out, 32, "%s", json_string_value(json_object_get(m, "role")));
  }
  json_decref(b);
}

static void op_add_member(fixture *f, int who, int status) {
  char path[256], body[256];
  fresh_user(f);
  snprintf(path, sizeof path, "/v1/workspaces/%s/members", f->ws);
  snprintf(body, sizeof body, "{\"user_id\":\"%s\",\"role\":\"viewer\"}", scratch_user);
  json_decref(expect(f, status, "POST", path, f->token[who], body));
  char role[32];
  scratch_role(f, role); /* a refused add left nothing behind */
  assert_string_equal(role, status == 201 ? "WORKSPACE_ROLE_VIEWER" : "");
}

static void op_update_member(fixture *f, int who, int status) {
  char path[256];
  add_scratch_member(f);
  snprintf(path, sizeof path, "/v1/workspaces/%s/members/%s", f->ws, scratch_user);
  json_decref(expect(f, status, "PUT", path, f->token[who], "{\"role\":\"member\"}"));
  char role[32];
  scratch_role(f, role);
  assert_string_equal(role, status == 200 ? "WORKSPACE_ROLE_MEMBER" : "WORKSPACE_ROLE_VIEWER");
}

static void op_remove_member(fixture *f, int who, int status) {
  char path[256];
  add_scratch_member(f);
  snprintf(path, sizeof path, "/v1/workspaces/%s/members/%s", f->ws, scratch_user);
  json_decref(expect(f, status, "DELETE", path, f->token[who], NULL));
  char role[32];
  scratch_role(f, role);
  assert_string_equal(role, status == 204 ? "" : "WORKSPACE_ROLE_VIEWER");
}

static void op_list_members(fixture *f, int who, int status) {
  char path[256];
  snprintf(path, sizeof path, "/v1/workspaces/%s/members", f->ws);
  json_t *b = expect(f, status, "GET", path, f->token[who], NULL);
  if (status == 200) assert_true(json_array_size(json_object_get(b, "members")) >= 6);
  json_decref(b);
}

static void op_get_workspace(fixture *f, int who, int status) {
  char path[256];
  snprintf(path, sizeof path, "/v1/workspaces/%s", f->ws);
  json_decref(expect(f, status, "GET", path, f->token[who], NULL));
}

static void op_create_workspace(fixture *f, int who, int status) {
  static int n;
  char body[128];
  snprintf(body, sizeof body, "{\"name\":\"ws-%d\"}", ++n);
  json_decref(expect(f, status, "POST", "/v1/workspaces", f->token[who], body));
}

static void op_create_user(fixture *f, int who, int status) {
  static int n;
  char body[128];
  snprintf(body, sizeof body, "{\"username\":\"made-%d\"}", ++n);
  json_decref(expect(f, status, "POST", "/v1/users", f->token[who], body));
}

static void op_list_users(fixture *f, int who, int status) {
  json_decref(expect(f, status, "GET", "/v1/users", f->token[who], NULL));
}

/* A token for someone else (the member; for the member, the viewer). */
static void op_token_for_other(fixture *f, int who, int status) {
  char body[256];
  snprintf(body, sizeof body, "{\"name\":\"x\",\"expires_in_days\":1,\"user_id\":\"%s\","
                              "\"workspace_id\":\"%s\"}",
           f->user[who == MEMBER ? VIEWER : MEMBER], f->ws);
  json_decref(expect(f, status, "POST", "/v1/api-tokens", f->token[who], body));
}

/* Revoke a fresh token of someone else (the viewer; for the viewer, the member). */
static void op_revoke_other(fixture *f, int who, int status) {
  char body[256], path[256], id[37];
  snprintf(body, sizeof body, "{\"name\":\"victim\",\"user_id\":\"%s\",\"workspace_id\":\"%s\"}",
           f->user[who == VIEWER ? MEMBER : VIEWER], f->ws);
  json_t *b = expect(f, 201, "POST", "/v1/api-tokens", f->token[ORG], body);
  get_id(b, "id", id);
  json_decref(b);
  snprintf(path, sizeof path, "/v1/api-tokens/%s", id);
  json_decref(expect(f, status, "DELETE", path, f->token[who], NULL));
}

/* List the workspace's tokens of the viewer. */
static void op_list_tokens_of_other(fixture *f, int who, int status) {
  char path[256];
  snprintf(path, sizeof path, "/v1/api-tokens?workspace_id=%s&user_id=%s", f->ws,
           who == VIEWER ? f->user[MEMBER] : f->user[VIEWER]);
  json_decref(expect(f, status, "GET", path, f->token[who], NULL));
}

static void op_create_project(fixture *f, int who, int status) {
  static int n;
  char body[256];
  snprintf(body, sizeof body, "{\"name\":\"p-%d\",\"description\":\"d\",\"model_task\":"
                              "\"MODEL_TASK_REGRESSION\"}", ++n);
  json_decref(expect(f, status, "POST", "/v1/projects", f->token[who], body));
}

static void permission_matrix(void **state) {
  fixture *f = *state;
  /*                                     org  wadm  mem  view  out  exp  rev */
  const op ops[] = {
    {"add member",           {201, 201, 403, 403, 404, 401, 401}, op_add_member},
    {"update member",        {200, 200, 403, 403, 404, 401, 401}, op_update_member},
    {"remove member",        {204, 204, 403, 403, 404, 401, 401}, op_remove_member},
    {"list members",         {200, 200, 200, 200, 404, 401, 401}, op_list_members},
    {"get workspace",        {200, 200, 200, 200, 404, 401, 401}, op_get_workspace},
    {"create workspace",     {201, 403, 403, 403, 403, 401, 401}, op_create_workspace},
    {"create user",          {201, 403, 403, 403, 403, 401, 401}, op_create_user},
    {"list users",           {200, 403, 403, 403, 403, 401, 401}, op_list_users},
    {"token for other user", {201, 403, 403, 403, 403, 401, 401}, op_token_for_other},
    {"revoke other's token", {204, 204, 404, 404, 404, 401, 401}, op_revoke_other},
    {"list other's tokens",  {200, 200, 403, 403, 404, 401, 401}, op_list_tokens_of_other},
    {"create project",       {201, 201, 201, 403, 201, 401, 401}, op_create_project},
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    for (int who = 0; who < N_CALLERS; who++) {
      print_message("  %-22s as %s\n", ops[i].name, caller_names[who]);
      ops[i].run(f, who, ops[i].expect[who]);
    }
}

static void listings_are_scoped(void **state) {
  fixture *f = *state;
  /* a non-admin sees only their token's workspace, with their role */
  json_t *b = expect(f, 200, "GET", "/v1/workspaces", f->token[MEMBER], NULL);
  json_t *list = json_object_get(b, "workspaces");
  assert_int_equal(json_array_size(list), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "role")),
                      "WORKSPACE_ROLE_MEMBER");
  json_decref(b);
  /* the organisation admin sees all (default + team + elsewhere + made ones) */
  b = expect(f, 200, "GET", "/v1/workspaces", f->token[ORG], NULL);
  assert_true(json_array_size(json_object_get(b, "workspaces")) >= 3);
  json_decref(b);
  /* a member lists only their own tokens, never a secret or hash */
  b = expect(f, 200, "GET", "/v1/api-tokens", f->token[MEMBER], NULL);
  list = json_object_get(b, "api_tokens");
  assert_true(json_array_size(list) >= 1);
  size_t i;
  json_t *t;
  json_array_foreach(list, i, t) {
    assert_string_equal(json_string_value(json_object_get(t, "user_id")), f->user[MEMBER]);
    assert_null(json_object_get(t, "token"));
    assert_null(json_object_get(t, "token_hash"));
  }
  char *text = json_dumps(b, 0);
  assert_null(strstr(text, f->token[MEMBER]));
  free(text);
  json_decref(b);
  /* statuses */
  char path[256];
  snprintf(path, sizeof path, "/v1/api-tokens?user_id=%s", f->user[REVOKED]);
  b = expect(f, 200, "GET", path, f->token[ORG], NULL);
  assert_string_equal(json_string_value(json_object_get(
                        json_array_get(json_object_get(b, "api_tokens"), 0), "status")),
                      "revoked");
  json_decref(b);
  snprintf(path, sizeof path, "/v1/api-tokens?user_id=%s", f->user[EXPIRED]);
  b = expect(f, 200, "GET", path, f->token[ORG], NULL);
  assert_string_equal(json_string_value(json_object_get(
                        json_array_get(json_object_get(b, "api_tokens"), 0), "status")),
                      "expired");
  json_decref(b);
  /* another workspace's tokens are not found for a workspace admin */
  snprintf(path, sizeof path, "/v1/api-tokens?workspace_id=%s", f->other_ws);
  json_decref(expect(f, 404, "GET", path, f->token[WADMIN], NULL));
}

static int64_t parse_time(const char *text) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  assert_non_null(strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm));
  return (int64_t)timegm(&tm);
}

/* The default lifetime is 270 days; 1..3650 may be asked for. */
static void token_lifetimes(void **state) {
  fixture *f = *state;
  json_t *b = expect(f, 201, "POST", "/v1/api-tokens", f->token[ORG], "{\"name\":\"default\"}");
  int64_t life = parse_time(json_string_value(json_object_get(b, "expires_at"))) -
                 parse_time(json_string_value(json_object_get(b, "created_at")));
  assert_int_equal(life, 270 * 86400);
  json_decref(b);
  b = expect(f, 201, "POST", "/v1/api-tokens", f->token[ORG],
             "{\"name\":\"longest\",\"expires_in_days\":3650}");
  life = parse_time(json_string_value(json_object_get(b, "expires_at"))) -
         parse_time(json_string_value(json_object_get(b, "created_at")));
  assert_int_equal(life, 3650 * 86400);
  json_decref(b);
  b = expect(f, 400, "POST", "/v1/api-tokens", f->token[ORG],
             "{\"name\":\"too long\",\"expires_in_days\":3651}");
  assert_non_null(strstr(err_message(b), "between 1 and 3650"));
  json_decref(b);
  json_decref(expect(f, 400, "POST", "/v1/api-tokens", f->token[ORG],
                     "{\"name\":\"zero\",\"expires_in_days\":0}"));
}

/* Without expires_in_days, a member's new token ends with the member's own
 * token; asking for longer is refused. */
static void member_tokens_end_with_theirs(void **state) {
  fixture *f = *state;
  char path[256], mine[32];
  json_t *b;
  /* bring the member's token to 10 days from now */
  char db[4096], sql[256];
  snprintf(db, sizeof db, "%s/assay.db", f->home);
  sqlite3 *h;
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  snprintf(sql, sizeof sql, "UPDATE api_tokens SET expires_at = %lld WHERE id = '%s'",
           (long long)(assay__now() + 10 * 86400), f->token_id[MEMBER]);
  assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(h);
  snprintf(path, sizeof path, "/v1/api-tokens?user_id=%s", f->user[MEMBER]);
  b = expect(f, 200, "GET", path, f->token[MEMBER], NULL);
  snprintf(mine, sizeof mine, "%s", json_string_value(json_object_get(
             json_array_get(json_object_get(b, "api_tokens"), 0), "expires_at")));
  json_decref(b);
  b = expect(f, 201, "POST", "/v1/api-tokens", f->token[MEMBER], "{\"name\":\"ci\"}");
  assert_string_equal(json_string_value(json_object_get(b, "expires_at")), mine);
  json_decref(b);
  b = expect(f, 403, "POST", "/v1/api-tokens", f->token[MEMBER],
             "{\"name\":\"ci\",\"expires_in_days\":11}");
  assert_non_null(strstr(err_message(b), "outlive"));
  json_decref(b);
}

static void expired_and_revoked_say_why(void **state) {
  fixture *f = *state;
  json_t *b = expect(f, 401, "GET", "/v1/projects", f->token[EXPIRED], NULL);
  assert_non_null(strstr(err_message(b), "expired"));
  json_decref(b);
  b = expect(f, 401, "GET", "/v1/projects", f->token[REVOKED], NULL);
  assert_non_null(strstr(err_message(b), "revoked"));
  json_decref(b);
}

static void last_admin_is_kept(void **state) {
  fixture *f = *state;
  char org_path[256], out_path[256];
  snprintf(org_path, sizeof org_path, "/v1/workspaces/%s/members/%s", f->other_ws, f->user[ORG]);
  snprintf(out_path, sizeof out_path, "/v1/workspaces/%s/members/%s", f->other_ws,
           f->user[OUTSIDER]);
  /* `elsewhere` has two admins: its creator (the org admin) and the outsider */
  json_decref(expect(f, 200, "PUT", org_path, f->token[ORG], "{\"role\":\"viewer\"}"));
  /* now the outsider is the last one: neither demoted nor removed */
  json_t *b = expect(f, 409, "PUT", out_path, f->token[ORG], "{\"role\":\"WORKSPACE_ROLE_MEMBER\"}");
  assert_string_equal(err_name(b), "ConflictError");
  assert_non_null(strstr(err_message(b), "last WORKSPACE_ROLE_ADMIN"));
  json_decref(b);
  json_decref(expect(f, 409, "DELETE", out_path, f->token[OUTSIDER], NULL));
  /* with a second admin again, the first may step down */
  json_decref(expect(f, 200, "PUT", org_path, f->token[ORG], "{\"role\":\"admin\"}"));
  json_decref(expect(f, 200, "PUT", out_path, f->token[OUTSIDER], "{\"role\":\"member\"}"));
  b = expect(f, 200, "GET", "/v1/workspaces", f->token[ORG], NULL);
  json_decref(b);
}

/* A workspace admin cannot lock an organisation admin out: not by removing
 * or demoting them, not by revoking their tokens. */
static void org_admins_are_out_of_reach(void **state) {
  fixture *f = *state;
  char path[256];
  snprintf(path, sizeof path, "/v1/workspaces/%s/members/%s", f->ws, f->user[ORG]);
  json_t *b = expect(f, 403, "DELETE", path, f->token[WADMIN], NULL);
  assert_non_null(strstr(err_message(b), "organisation admin"));
  json_decref(b);
  json_decref(expect(f, 403, "PUT", path, f->token[WADMIN], "{\"role\":\"viewer\"}"));
  snprintf(path, sizeof path, "/v1/api-tokens?workspace_id=%s&user_id=%s", f->ws, f->user[ORG]);
  b = expect(f, 200, "GET", path, f->token[ORG], NULL);
  char id[37];
  get_id(json_array_get(json_object_get(b, "api_tokens"), 0), "id", id);
  json_decref(b);
  snprintf(path, sizeof path, "/v1/api-tokens/%s", id);
  json_decref(expect(f, 404, "DELETE", path, f->token[WADMIN], NULL));
  /* nor are they listed to a workspace admin */
  snprintf(path, sizeof path, "/v1/api-tokens?workspace_id=%s", f->ws);
  b = expect(f, 200, "GET", path, f->token[WADMIN], NULL);
  size_t i;
  json_t *t;
  assert_true(json_array_size(json_object_get(b, "api_tokens")) >= 5);
  json_array_foreach(json_object_get(b, "api_tokens"), i, t)
    assert_string_not_equal(json_string_value(json_object_get(t, "user_id")), f->user[ORG]);
  json_decref(b);
  json_decref(expect(f, 200, "GET", "/v1/projects", f->token[ORG], NULL));
}

static void removal_revokes_tokens(void **state) {
  fixture *f = *state;
  char path[256], body[256], token[64];
  add_scratch_member(f);
  snprintf(body, sizeof body, "{\"name\":\"soon gone\",\"user_id\":\"%s\",\"workspace_id\":\"%s\"}",
           scratch_user, f->ws);
  json_t *b = expect(f, 201, "POST", "/v1/api-tokens", f->token[ORG], body);
  snprintf(token, sizeof token, "%s", json_string_value(json_object_get(b, "token")));
  json_decref(b);
  json_decref(expect(f, 200, "GET", "/v1/projects", token, NULL));
  /* the same user in another workspace, with a token there */
  char elsewhere_token[64];
  snprintf(path, sizeof path, "/v1/workspaces/%s/members", f->other_ws);
  snprintf(body, sizeof body, "{\"user_id\":\"%s\",\"role\":\"member\"}", scratch_user);
  json_decref(expect(f, 201, "POST", path, f->token[ORG], body));
  snprintf(body, sizeof body, "{\"name\":\"stays\",\"user_id\":\"%s\",\"workspace_id\":\"%s\"}",
           scratch_user, f->other_ws);
  b = expect(f, 201, "POST", "/v1/api-tokens", f->token[ORG], body);
  snprintf(elsewhere_token, sizeof elsewhere_token, "%s",
           json_string_value(json_object_get(b, "token")));
  json_decref(b);
  snprintf(path, sizeof path, "/v1/workspaces/%s/members/%s", f->ws, scratch_user);
  json_decref(expect(f, 204, "DELETE", path, f->token[WADMIN], NULL));
  /* only the team workspace's tokens went */
  json_decref(expect(f, 200, "GET", "/v1/projects", elsewhere_token, NULL));
  b = expect(f, 401, "GET", "/v1/projects", token, NULL);
  assert_string_equal(err_name(b), "AuthError");
  json_decref(b);
  /* re-adding does not revive the old token */
  snprintf(path, sizeof path, "/v1/workspaces/%s/members", f->ws);
  snprintf(body, sizeof body, "{\"user_id\":\"%s\",\"role\":\"member\"}", scratch_user);
  json_decref(expect(f, 201, "POST", path, f->token[WADMIN], body));
  json_decref(expect(f, 401, "GET", "/v1/projects", token, NULL));
}

static void project_roles(void **state) {
  fixture *f = *state;
  json_t *b = expect(f, 201, "POST", "/v1/projects", f->token[MEMBER],
                     "{\"name\":\"mine\",\"description\":\"d\",\"model_task\":"
                     "\"MODEL_TASK_REGRESSION\"}");
  char id[37], path[128];
  get_id(b, "project_id", id);
  json_decref(b);
  snprintf(path, sizeof path, "/v1/projects/%s", id);
  json_decref(expect(f, 200, "GET", path, f->token[VIEWER], NULL));
  json_decref(expect(f, 404, "GET", path, f->token[OUTSIDER], NULL));
  json_decref(expect(f, 403, "DELETE", path, f->token[VIEWER], NULL));
  b = expect(f, 201, "POST", "/v1/projects", f->token[WADMIN],
             "{\"name\":\"theirs\",\"description\":\"d\",\"model_task\":\"MODEL_TASK_REGRESSION\"}");
  char other[37], other_path[128];
  get_id(b, "project_id", other);
  json_decref(b);
  snprintf(other_path, sizeof other_path, "/v1/projects/%s", other);
  b = expect(f, 403, "DELETE", other_path, f->token[MEMBER], NULL);
  assert_non_null(strstr(err_message(b), "belongs to another user"));
  json_decref(b);
  json_decref(expect(f, 204, "DELETE", path, f->token[MEMBER], NULL));
  json_decref(expect(f, 204, "DELETE", other_path, f->token[WADMIN], NULL));
}

static void bad_inputs(void **state) {
  fixture *f = *state;
  char path[256], body[256];
  struct {
    const char *method, *path_fmt, *body;
    int status;
    const char *fragment;
  } cases[] = {
    {"POST", "/v1/users", "{}", 400, "username is required"},
    {"POST", "/v1/users", "{\"username\":\"has space\"}", 400, "only letters"},
    {"POST", "/v1/users", "{\"username\":\"\"}", 400, "1 to 64"},
    {"POST", "/v1/users", "{\"username\":\"ok\",\"admin\":true}", 400, "unknown field 'admin'"},
    {"POST", "/v1/users", "{\"username\":\"person-2\"}", 409, "already exists"},
    {"POST", "/v1/workspaces", "{\"name\":\"  \"}", 400, "blank"},
    {"POST", "/v1/workspaces", "{\"name\":\"team\"}", 409, "already exists"},
    {"POST", "/v1/workspaces/%s/members", "{\"user_id\":\"nobody\",\"role\":\"viewer\"}", 404,
     "user 'nobody' not found"},
    {"POST", "/v1/workspaces/%s/members", "{\"user_id\":\"x\",\"role\":\"owner\"}", 400,
     "WORKSPACE_ROLE_ADMIN, WORKSPACE_ROLE_MEMBER, WORKSPACE_ROLE_VIEWER"},
    {"POST", "/v1/workspaces/%s/members", "{\"role\":\"viewer\"}", 400, "user_id is required"},
    {"PUT", "/v1/workspaces/%s/members/nobody", "{\"role\":\"viewer\"}", 404, "not a member"},
    {"DELETE", "/v1/api-tokens/nope", NULL, 404, "not found"},
    {"POST", "/v1/workspaces/nope/members", "{\"user_id\":\"x\",\"role\":\"viewer\"}", 404,
     "workspace 'nope' not found"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *hole = strstr(cases[i].path_fmt, "%s");
    if (hole)
      snprintf(path, sizeof path, "%.*s%s%s", (int)(hole - cases[i].path_fmt),
               cases[i].path_fmt, f->ws, hole + 2);
    else
      snprintf(path, sizeof path, "%s", cases[i].path_fmt);
    json_t *b = expect(f, cases[i].status, cases[i].method, path, f->token[ORG], cases[i].body);
    if (!strstr(err_message(b), cases[i].fragment))
      fail_msg("%s %s: message '%s' lacks '%s'", cases[i].method, path, err_message(b),
               cases[i].fragment);
    json_decref(b);
  }
  /* a malformed body never has its text quoted back (it may hold a secret) */
  json_t *bad = expect(f, 400, "POST", "/v1/users", f->token[ORG],
                       "{\"username\": \"sup3rs3cret\x01\"}");
  assert_non_null(strstr(err_message(bad), "not valid JSON"));
  assert_null(strstr(err_message(bad), "sup3rs3cret"));
  json_decref(bad);
  /* already a member */
  snprintf(path, sizeof path, "/v1/workspaces/%s/members", f->ws);
  snprintf(body, sizeof body, "{\"user_id\":\"%s\",\"role\":\"viewer\"}", f->user[MEMBER]);
  json_t *b = expect(f, 409, "POST", path, f->token[ORG], body);
  assert_non_null(strstr(err_message(b), "already a member"));
  json_decref(b);
  /* a token for someone outside the workspace */
  snprintf(body, sizeof body, "{\"name\":\"x\",\"user_id\":\"%s\",\"workspace_id\":\"%s\"}",
           f->user[OUTSIDER], f->ws);
  b = expect(f, 400, "POST", "/v1/api-tokens", f->token[ORG], body);
  assert_non_null(strstr(err_message(b), "not a member"));
  json_decref(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(permission_matrix, setup, teardown),
    cmocka_unit_test_setup_teardown(listings_are_scoped, setup, teardown),
    cmocka_unit_test_setup_teardown(expired_and_revoked_say_why, setup, teardown),
    cmocka_unit_test_setup_teardown(member_tokens_end_with_theirs, setup, teardown),
    cmocka_unit_test_setup_teardown(token_lifetimes, setup, teardown),
    cmocka_unit_test_setup_teardown(last_admin_is_kept, setup, teardown),
    cmocka_unit_test_setup_teardown(removal_revokes_tokens, setup, teardown),
    cmocka_unit_test_setup_teardown(org_admins_are_out_of_reach, setup, teardown),
    cmocka_unit_test_setup_teardown(project_roles, setup, teardown),
    cmocka_unit_test_setup_teardown(bad_inputs, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
