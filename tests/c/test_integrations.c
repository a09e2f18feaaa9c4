/* test_integrations.c — integrations through the router with real bearer
 * tokens: the permission matrix (organisation admin, workspace admin,
 * member, viewer, member of another workspace, a member of both workspaces
 * holding the other workspace's token, expired and revoked tokens) against
 * every integration route; what each caller sees (public values, never a
 * secret: every answer of this file is searched for the secret bytes);
 * credential status before and after; every bad input as a typed error;
 * PATCH keeping member credentials; resolution of a job's
 * integration_dict; no secret bytes anywhere under the home; and no trace
 * of a sealed value left in the home's files once it was cleared,
 * replaced, its variable removed, its member removed or its integration
 * deleted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <ftw.h>
#include <sodium.h>
#include <sqlite3.h>

#include <cmocka.h>

#include "integration/integration.h"
#include "integration/secrets.h"
#include "internal.h"
#include "platform/platform.h"
#include "platform/router.h"
#include "test_support.h"

enum {
  ORG,      /* the bootstrap admin, with its token for the default workspace */
  WADMIN,   /* admin of the team workspace */
  MEMBER,   /* member of the team workspace */
  VIEWER,   /* viewer of the team workspace */
  OUTSIDER, /* admin of another workspace only */
  SPLIT,    /* member of the team, calling with a token for the other workspace */
  EXPIRED,  /* team admin whose token has expired */
  REVOKED,  /* team admin whose token was revoked */
  N_MATRIX,
  MEMBER2 = N_MATRIX, /* a second member of the team (never sets credentials) */
  N_USERS
};
static const char *const caller_names[N_USERS] = {
  "org admin", "workspace admin", "member", "viewer", "outsider", "other-workspace token",
  "expired", "revoked", "member 2"};

typedef struct fixture {
  char *home;
  assay_platform *p;
  char ws[37], other_ws[37];
  char user[N_USERS][37];
  char token[N_USERS][ASSAY_TOKEN_LEN];
  /* the shared integration: HOST (public), WS_TOKEN (workspace), USER_TOKEN (members) */
  char shared[37];
} fixture;

/* Secret texts that must never appear in an answer. Every request of this
 * file checks its answer against them. */
#define MAX_WATCHED 16
static char watched[MAX_WATCHED][128];
static int n_watched;

static const char *watch_secret(const char *prefix) {
  unsigned char raw[12];
  char hex[25];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  assert_true(n_watched < MAX_WATCHED);
  snprintf(watched[n_watched], sizeof watched[0], "%s-%s", prefix, hex);
  return watched[n_watched++];
}

static int answers_checked;

static int send_req(fixture *f, const char *method, const char *path, const char *query,
                    const char *token, const char *body, json_t **out) {
  json_t *b = NULL;
  int status = router_send(f->p, method, path, query, token, body, &b);
  if (b) {
    char *text = json_dumps(b, JSON_ENCODE_ANY);
    assert_non_null(text);
    for (int i = 0; i < n_watched; i++)
      if (strstr(text, watched[i]))
        fail_msg("%s %s answered a secret: %s", method, path, text);
    free(text);
    answers_checked++;
  }
  if (out) *out = b;
  else json_decref(b);
  return status;
}


/* Send `body` (stolen; may be NULL) as `who` and expect `status`; returns
 * the answer (caller decrefs). */
static json_t *call(fixture *f, int status, const char *method, const char *path, int who,
                    json_t *body) {
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  json_t *b = NULL;
  int got = send_req(f, method, path, NULL, f->token[who], text, &b);
  if (got != status) {
    char *answer = b ? json_dumps(b, 0) : NULL;
    fail_msg("%s %s as %s: expected %d, got %d: %s", method, path, caller_names[who], status,
             got, answer ? answer : "");
  }
  free(text);
  return b;
}

/* Expect an error answer: status, error name and a fragment of its message. */
static void call_err(fixture *f, int status, const char *name, const char *fragment,
                     const char *method, const char *path, int who, json_t *body) {
  json_t *b = call(f, status, method, path, who, body);
  assert_non_null(err_name(b));
  if (strcmp(err_name(b), name) != 0 || !strstr(err_message(b), fragment))
    fail_msg("%s %s: expected %s with '%s', got %s: %s", method, path, name, fragment,
             err_name(b), err_message(b));
  json_decref(b);
}

static char *ws_path(const char *ws) {
  static char path[256];
  snprintf(path, sizeof path, "/v1/workspaces/%s/integrations", ws);
  return path;
}

static char *int_path(const char *id, const char *suffix) {
  static char path[256];
  snprintf(path, sizeof path, "/v1/integrations/%s%s", id, suffix ? suffix : "");
  return path;
}

static json_t *parse(const char *text) {
  json_error_t e;
  json_t *j = json_loads(text, 0, &e);
  if (!j) fail_msg("bad test JSON: %s: %s", text, e.text);
  return j;
}

/* Create an integration in the team workspace as `who`; its id into id. */
static void create(fixture *f, int who, const char *name, const char *type, json_t *schema,
                   char id[37]) {
  json_t *b = call(f, 201, "POST", ws_path(f->ws), who,
                   json_pack("{s:s, s:s, s:o}", "name", name, "integration_type", type,
                             "integration_schema", schema));
  const char *v = json_string_value(json_object_get(b, "integration_id"));
  assert_non_null(v);
  snprintf(id, 37, "%s", v);
  json_decref(b);
}

static int unique_counter;

static char scratch_name[64];

static void create_scratch(fixture *f, char id[37]) {
  char *name = scratch_name;
  snprintf(name, sizeof scratch_name, "scratch-%d", ++unique_counter);
  create(f, WADMIN, name, "INTEGRATION_TYPE_CUSTOM",
         parse("[{\"name\":\"A\",\"sensitivity\":\"not_sensitive\",\"value\":\"a\"},"
               "{\"name\":\"M\",\"sensitivity\":\"members\"}]"),
         id);
}

static void set_credential(fixture *f, int who, const char *id, const char *name,
                           const char *value, int status) {
  json_t *creds = json_object();
  json_object_set_new(creds, name, value ? json_string(value) : json_null());
  json_decref(call(f, status, "PUT", int_path(id, "/credentials"), who,
                   json_pack("{s:o}", "credentials", creds)));
}

/* --- setup: users, workspaces, memberships and tokens through the store -- */

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  n_watched = 0;
  f->home = make_home();
  if (assay_platform_open(&f->p, f->home) != ASSAY_OK) return -1;
  if (read_admin_token(f->home, f->token[ORG], sizeof f->token[ORG]) != 0) return -1;
  snprintf(f->user[ORG], 37, "%s", platform_admin_principal(f->p)->user_id);

  store *s = NULL;
  if (platform_store_acquire(f->p, &s) != ASSAY_OK) return -1;
  int64_t now = assay__now();
  assay__uuid(f->ws);
  assay__uuid(f->other_ws);
  int rc = s->ops->begin(s, 1);
  if (!rc) rc = s->ops->workspace_insert(s, f->ws, "team", now);
  if (!rc) rc = s->ops->workspace_insert(s, f->other_ws, "elsewhere", now);
  static const struct {
    int who;
    const char *role, *other_role;
    int token_in_other;
  } people[] = {
    {WADMIN, "WORKSPACE_ROLE_ADMIN", NULL, 0},
    {MEMBER, "WORKSPACE_ROLE_MEMBER", NULL, 0},
    {VIEWER, "WORKSPACE_ROLE_VIEWER", NULL, 0},
    {OUTSIDER, NULL, "WORKSPACE_ROLE_ADMIN", 1},
    {SPLIT, "WORKSPACE_ROLE_MEMBER", "WORKSPACE_ROLE_ADMIN", 1},
    {EXPIRED, "WORKSPACE_ROLE_ADMIN", NULL, 0},
    {REVOKED, "WORKSPACE_ROLE_ADMIN", NULL, 0},
    {MEMBER2, "WORKSPACE_ROLE_MEMBER", NULL, 0},
  };
  char revoked_id[37] = "";
  for (size_t i = 0; !rc && i < sizeof people / sizeof people[0]; i++) {
    int who = people[i].who;
    char username[64], token_id[37];
    snprintf(username, sizeof username, "user-%d", who);
    assay__uuid(f->user[who]);
    rc = s->ops->user_insert(s, f->user[who], username, caller_names[who], 0, now);
    if (!rc && people[i].role) rc = s->ops->member_insert(s, f->ws, f->user[who], people[i].role);
    if (!rc && people[i].other_role)
      rc = s->ops->member_insert(s, f->other_ws, f->user[who], people[i].other_role);
    int64_t expires = who == EXPIRED ? now - 60 : now + 86400;
    if (!rc)
      rc = token_mint(s, f->user[who], people[i].token_in_other ? f->other_ws : f->ws, "t",
                      expires, f->token[who], token_id);
    if (who == REVOKED) snprintf(revoked_id, sizeof revoked_id, "%s", token_id);
  }
  if (!rc) rc = s->ops->token_revoke(s, revoked_id, now);
  if (!rc) rc = s->ops->commit(s);
  if (rc) {
    s->ops->rollback(s);
    fprintf(stderr, "setup: %s\n", assay_error_last()->message);
  }
  platform_store_release(f->p, s);
  if (rc) return -1;
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

/* The shared integration, created once by the workspace admin. */
static const char *shared_host = "db.team.example.internal";
static const char *shared_ws_secret, *shared_member_secret;

static void make_shared(fixture *f) {
  if (*f->shared) return;
  shared_ws_secret = watch_secret("ws-secret");
  shared_member_secret = watch_secret("member-secret");
  json_t *schema = json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s}]",
                             "name", "HOST", "sensitivity", "VARIABLE_SENSITIVITY_PUBLIC",
                             "value", shared_host,
                             "name", "WS_TOKEN", "sensitivity", "workspace",
                             "value", shared_ws_secret,
                             "name", "USER_TOKEN", "sensitivity", "members");
  create(f, WADMIN, "shared", "INTEGRATION_TYPE_CUSTOM", schema, f->shared);
}

/* --- the permission matrix -------------------------------------------------- */

typedef struct op {
  const char *name;
  int expect[N_MATRIX];
  void (*run)(fixture *f, int who, int status);
} op;

/* A 404 on an integration route must read exactly like an unknown id. */
static void check_not_found(fixture *f, json_t *b, const char *id) {
  char want[128];
  snprintf(want, sizeof want, "integration '%s' not found", id);
  assert_string_equal(err_name(b), "NotFoundError");
  assert_string_equal(err_message(b), want);
  assert_null(strstr(err_message(b), f->ws));
}

static void check_status_body(fixture *f, json_t *b, int status, const char *id) {
  if (status == 404 && id) check_not_found(f, b, id);
  if (status == 404 && !id) assert_string_equal(err_name(b), "NotFoundError");
  if (status == 403) assert_string_equal(err_name(b), "PermissionDeniedError");
  if (status == 401) assert_string_equal(err_name(b), "AuthError");
}

static void op_create(fixture *f, int who, int status) {
  char name[64];
  snprintf(name, sizeof name, "matrix-%d", ++unique_counter);
  json_t *b = call(f, status, "POST", ws_path(f->ws), who,
                   json_pack("{s:s, s:s, s:[{s:s, s:s, s:s}]}", "name", name,
                             "integration_type", "INTEGRATION_TYPE_CUSTOM",
                             "integration_schema", "name", "X", "sensitivity", "not_sensitive",
                             "value", "x"));
  check_status_body(f, b, status, NULL);
  if (status == 201) {
    assert_string_equal(json_string_value(json_object_get(b, "workspace_id")), f->ws);
    assert_string_equal(json_string_value(json_object_get(b, "created_by")), f->user[who]);
  }
  json_decref(b);
}

static void op_list(fixture *f, int who, int status) {
  json_t *b = call(f, status, "GET", ws_path(f->ws), who, NULL);
  check_status_body(f, b, status, NULL);
  if (status == 200) {
    json_t *list = json_object_get(b, "integrations");
    int found = 0;
    size_t i;
    json_t *rec;
    json_array_foreach(list, i, rec) {
      assert_string_equal(json_string_value(json_object_get(rec, "workspace_id")), f->ws);
      found |= strcmp(json_string_value(json_object_get(rec, "integration_id")), f->shared) == 0;
    }
    assert_true(found);
  }
  json_decref(b);
}

static void op_get(fixture *f, int who, int status) {
  json_t *b = call(f, status, "GET", int_path(f->shared, NULL), who, NULL);
  check_status_body(f, b, status, f->shared);
  if (status == 200)
    assert_string_equal(json_string_value(json_object_get(b, "name")), "shared");
  json_decref(b);
}

static void op_update(fixture *f, int who, int status) {
  char id[37], name[64];
  create_scratch(f, id);
  snprintf(name, sizeof name, "renamed-%d", ++unique_counter);
  json_t *b = call(f, status, "PATCH", int_path(id, NULL), who, json_pack("{s:s}", "name", name));
  check_status_body(f, b, status, id);
  json_decref(b);
  b = call(f, 200, "GET", int_path(id, NULL), WADMIN, NULL);
  assert_string_equal(json_string_value(json_object_get(b, "name")),
                      status == 200 ? name : scratch_name);
  json_decref(b);
}

static void op_delete(fixture *f, int who, int status) {
  char id[37];
  create_scratch(f, id);
  json_t *b = call(f, status, "DELETE", int_path(id, NULL), who, NULL);
  if (status == 204) assert_null(b);
  else check_status_body(f, b, status, id);
  json_decref(b);
  json_decref(call(f, status == 204 ? 404 : 200, "GET", int_path(id, NULL), WADMIN, NULL));
}

static void op_credentials(fixture *f, int who, int status) {
  char id[37];
  create_scratch(f, id);
  json_t *b = call(f, status, "PUT", int_path(id, "/credentials"), who,
                   parse("{\"credentials\":{\"M\":\"matrix-value\"}}"));
  check_status_body(f, b, status, id);
  if (status == 200) {
    assert_string_equal(json_string_value(json_object_get(b, "integration_id")), id);
    assert_true(json_is_true(json_object_get(json_object_get(b, "credential_status"),
                                             "configured")));
  }
  json_decref(b);
}

static void permission_matrix(void **state) {
  fixture *f = *state;
  make_shared(f);
  /*                                 org  wadm  mem  view  out  split exp  rev */
  const op ops[] = {
    {"create integration", {201, 201, 403, 403, 404, 404, 401, 401}, op_create},
    {"list integrations",  {200, 200, 200, 200, 404, 404, 401, 401}, op_list},
    {"get integration",    {200, 200, 200, 200, 404, 404, 401, 401}, op_get},
    {"update integration", {200, 200, 403, 403, 404, 404, 401, 401}, op_update},
    {"delete integration", {204, 204, 403, 403, 404, 404, 401, 401}, op_delete},
    {"set credentials",    {200, 200, 200, 403, 404, 404, 401, 401}, op_credentials},
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    for (int who = 0; who < N_MATRIX; who++) {
      print_message("  %-20s as %s\n", ops[i].name, caller_names[who]);
      ops[i].run(f, who, ops[i].expect[who]);
    }
}

/* An unknown id and an integration of another workspace answer the same. */
static void outsiders_learn_nothing(void **state) {
  fixture *f = *state;
  make_shared(f);
  char unknown[37];
  assay__uuid(unknown);
  const char *methods[] = {"GET", "PATCH", "DELETE", "PUT"};
  for (size_t i = 0; i < 4; i++) {
    int creds = strcmp(methods[i], "PUT") == 0;
    json_t *body = strcmp(methods[i], "PATCH") == 0 ? json_pack("{s:s}", "name", "x")
                   : creds ? parse("{\"credentials\":{\"USER_TOKEN\":\"v\"}}") : NULL;
    json_t *a = call(f, 404, methods[i], int_path(f->shared, creds ? "/credentials" : NULL),
                     OUTSIDER, json_incref(body));
    json_t *b = call(f, 404, methods[i], int_path(unknown, creds ? "/credentials" : NULL),
                     OUTSIDER, body);
    check_not_found(f, a, f->shared);
    check_not_found(f, b, unknown);
    json_decref(a);
    json_decref(b);
  }
  /* the outsider's own workspace does not list the team's integrations */
  json_t *b = call(f, 200, "GET", ws_path(f->other_ws), OUTSIDER, NULL);
  assert_int_equal(json_array_size(json_object_get(b, "integrations")), 0);
  json_decref(b);
  /* nor may the team's admin touch the other workspace */
  call_err(f, 404, "NotFoundError", "not found", "GET", ws_path(f->other_ws), WADMIN, NULL);
}

/* --- what each caller sees ------------------------------------------------------ */

static json_t *variable(json_t *rec, const char *name) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(rec, "variables"), i, v)
    if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0) return v;
  fail_msg("no variable %s", name);
  return NULL;
}

static void check_status(json_t *rec, int configured, const char *missing) {
  json_t *st = json_object_get(rec, "credential_status");
  assert_non_null(st);
  assert_int_equal(json_is_true(json_object_get(st, "configured")), configured);
  json_t *m = json_object_get(st, "missing");
  assert_true(json_is_array(m));
  if (missing) {
    assert_int_equal(json_array_size(m), 1);
    assert_string_equal(json_string_value(json_array_get(m, 0)), missing);
  } else {
    assert_int_equal(json_array_size(m), 0);
  }
}

static void members_see_public_values_only(void **state) {
  fixture *f = *state;
  make_shared(f);
  const int readers[] = {ORG, WADMIN, MEMBER, VIEWER, MEMBER2};
  for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++) {
    json_t *b = call(f, 200, "GET", int_path(f->shared, NULL), readers[i], NULL);
    assert_string_equal(json_string_value(json_object_get(b, "integration_type")),
                        "INTEGRATION_TYPE_CUSTOM");
    json_t *host = variable(b, "HOST"), *ws = variable(b, "WS_TOKEN"),
           *user = variable(b, "USER_TOKEN");
    assert_string_equal(json_string_value(json_object_get(host, "value")), shared_host);
    assert_string_equal(json_string_value(json_object_get(host, "sensitivity")),
                        "VARIABLE_SENSITIVITY_PUBLIC");
    /* aliases come back canonical */
    assert_string_equal(json_string_value(json_object_get(ws, "sensitivity")),
                        "VARIABLE_SENSITIVITY_WORKSPACE_SECRET");
    assert_string_equal(json_string_value(json_object_get(user, "sensitivity")),
                        "VARIABLE_SENSITIVITY_USER_SECRET");
    assert_null(json_object_get(ws, "value"));
    assert_null(json_object_get(user, "value"));
    assert_true(json_is_true(json_object_get(ws, "is_set")));
    json_decref(b);
  }
  /* the list answers the same record */
  json_t *b = call(f, 200, "GET", ws_path(f->ws), MEMBER, NULL);
  assert_true(json_array_size(json_object_get(b, "integrations")) >= 1);
  json_decref(b);
}

static void credential_status_per_member(void **state) {
  fixture *f = *state;
  make_shared(f);
  /* before: nobody has set USER_TOKEN */
  json_t *b = call(f, 200, "GET", int_path(f->shared, NULL), MEMBER, NULL);
  check_status(b, 0, "USER_TOKEN");
  assert_true(json_is_false(json_object_get(variable(b, "USER_TOKEN"), "is_set")));
  json_decref(b);
  /* the member sets theirs: their status turns configured ... */
  b = call(f, 200, "PUT", int_path(f->shared, "/credentials"), MEMBER,
           json_pack("{s:{s:s}}", "credentials", "USER_TOKEN", shared_member_secret));
  assert_string_equal(json_string_value(json_object_get(b, "integration_id")), f->shared);
  check_status(b, 1, NULL);
  json_decref(b);
  b = call(f, 200, "GET", int_path(f->shared, NULL), MEMBER, NULL);
  check_status(b, 1, NULL);
  assert_true(json_is_true(json_object_get(variable(b, "USER_TOKEN"), "is_set")));
  json_decref(b);
  /* ... while every other caller's stays their own */
  const int others[] = {MEMBER2, WADMIN, ORG, VIEWER};
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
    b = call(f, 200, "GET", int_path(f->shared, NULL), others[i], NULL);
    check_status(b, 0, "USER_TOKEN");
    json_decref(b);
    b = call(f, 200, "GET", ws_path(f->ws), others[i], NULL);
    size_t k;
    json_t *rec;
    json_array_foreach(json_object_get(b, "integrations"), k, rec)
      if (strcmp(json_string_value(json_object_get(rec, "integration_id")), f->shared) == 0)
        check_status(rec, 0, "USER_TOKEN");
    json_decref(b);
  }
  /* null clears the member's value, and setting it again restores it */
  set_credential(f, MEMBER, f->shared, "USER_TOKEN", NULL, 200);
  b = call(f, 200, "GET", int_path(f->shared, NULL), MEMBER, NULL);
  check_status(b, 0, "USER_TOKEN");
  json_decref(b);
  set_credential(f, MEMBER, f->shared, "USER_TOKEN", shared_member_secret, 200);
  /* an integration without members-level variables is configured for all */
  char id[37];
  create(f, WADMIN, "public only", "INTEGRATION_TYPE_CUSTOM",
         parse("[{\"name\":\"URL\",\"sensitivity\":\"not_sensitive\",\"value\":\"u\"}]"), id);
  b = call(f, 200, "GET", int_path(id, NULL), VIEWER, NULL);
  check_status(b, 1, NULL);
  json_decref(b);
}

/* A member demoted to viewer keeps their values (a promotion brings them
 * back) and may clear them, but not set them. */
static void demoted_members_may_clear(void **state) {
  fixture *f = *state;
  make_shared(f);
  set_credential(f, MEMBER2, f->shared, "USER_TOKEN", shared_member_secret, 200);
  char path[256];
  snprintf(path, sizeof path, "/v1/workspaces/%s/members/%s", f->ws, f->user[MEMBER2]);
  json_decref(call(f, 200, "PUT", path, ORG, json_pack("{s:s}", "role", "viewer")));
  json_t *b = call(f, 200, "GET", int_path(f->shared, NULL), MEMBER2, NULL);
  check_status(b, 1, NULL); /* still theirs */
  json_decref(b);
  call_err(f, 403, "PermissionDeniedError", "may only clear its own values", "PUT",
           int_path(f->shared, "/credentials"), MEMBER2,
           json_pack("{s:{s:s}}", "credentials", "USER_TOKEN", "another value"));
  b = call(f, 200, "PUT", int_path(f->shared, "/credentials"), MEMBER2,
           json_pack("{s:{s:n}}", "credentials", "USER_TOKEN"));
  check_status(b, 0, "USER_TOKEN");
  json_decref(b);
  /* a mix of clearing and setting is refused whole */
  call_err(f, 403, "PermissionDeniedError", "WORKSPACE_ROLE_VIEWER", "PUT",
           int_path(f->shared, "/credentials"), VIEWER,
           json_pack("{s:{s:n, s:s}}", "credentials", "USER_TOKEN", "X", "v"));
}

/* --- bad inputs ------------------------------------------------------------------ */

typedef struct bad_case {
  const char *body; /* the whole request body, JSON */
  const char *fragment;
} bad_case;

static void bad_inputs_are_config_errors(void **state) {
  fixture *f = *state;
  const bad_case cases[] = {
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_FTP\",\"integration_schema\":[]}",
     "integration_type 'INTEGRATION_TYPE_FTP' is not a known integration type; expected one "
     "of: INTEGRATION_TYPE_CUSTOM, INTEGRATION_TYPE_DATABRICKS"},
    {"{\"name\":\"b\",\"integration_schema\":[]}", "integration_type is required"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\"}",
     "integration_schema is required"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\","
     "\"integration_schema\":{\"A\":\"x\"}}",
     "integration_schema must be an array of variable entries"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\","
     "\"integration_schema\":[\"A\"]}",
     "integration_schema[0] must be an object"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":"
     "[{\"name\":\"A\",\"sensitivity\":\"members\"},{\"sensitivity\":\"members\"}]}",
     "integration_schema[1] has no name"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":"
     "[{\"name\":7,\"sensitivity\":\"members\"}]}",
     "integration_schema[0].name must be a string; got integer"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":"
     "[{\"name\":\"A\",\"value\":\"x\"}]}",
     "integration_schema[0] (variable 'A') has no sensitivity; expected one of "
     "VARIABLE_SENSITIVITY_PUBLIC"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":"
     "[{\"name\":\"A\",\"sensitivity\":\"secretish\",\"value\":\"x\"}]}",
     "unknown sensitivity 'secretish'; expected one of VARIABLE_SENSITIVITY_PUBLIC (or "
     "\"not_sensitive\"), VARIABLE_SENSITIVITY_WORKSPACE_SECRET (or \"workspace\"), "
     "VARIABLE_SENSITIVITY_USER_SECRET (or \"members\")"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":"
     "[{\"name\":\"A\",\"sensitivity\":\"members\",\"secret\":true}]}",
     "integration_schema[0] has an unknown key 'secret'"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":"
     "[{\"name\":\"\",\"sensitivity\":\"members\"}]}",
     "integration_schema[0].name must not be empty or blank"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":"
     "[{\"name\":\"  \",\"sensitivity\":\"members\"}]}",
     "integration_schema[0].name must not be empty or blank"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":"
     "[{\"name\":\"A\\nB\",\"sensitivity\":\"members\"}]}",
     "integration_schema[0].name must not contain control characters"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":"
     "[{\"name\":\"A\",\"sensitivity\":\"members\"},{\"name\":\"B\",\"sensitivity\":\"members\"},"
     "{\"name\":\"A\",\"sensitivity\":\"workspace\",\"value\":\"x\"}]}",
     "integration_schema[2]: variable 'A' appears more than once"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":"
     "[{\"name\":\"A\",\"sensitivity\":\"not_sensitive\"}]}",
     "integration_schema[0] (variable 'A', VARIABLE_SENSITIVITY_PUBLIC) needs a value"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":"
     "[{\"name\":\"A\",\"sensitivity\":\"workspace\",\"value\":null}]}",
     "integration_schema[0] (variable 'A', VARIABLE_SENSITIVITY_WORKSPACE_SECRET) needs a value"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":"
     "[{\"name\":\"A\",\"sensitivity\":\"members\",\"value\":\"mine-9f8e7d\"}]}",
     "is members-level (VARIABLE_SENSITIVITY_USER_SECRET) and takes no value here"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":"
     "[{\"name\":\"A\",\"sensitivity\":\"workspace\",\"value\":12345}]}",
     "the value of integration_schema[0] (variable 'A') must be a string; got integer"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":"
     "[{\"name\":\"A\",\"sensitivity\":\"workspace\",\"value\":\"x\\u0000y\"}]}",
     "request body holds a NUL character"}, /* NUL inside a string */
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_DATABRICKS\",\"integration_schema\":"
     "[{\"name\":\"DATABRICKS_HOST\",\"sensitivity\":\"not_sensitive\",\"value\":\"h\"},"
     "{\"name\":\"DATABRICKS_TOKEN\",\"sensitivity\":\"not_sensitive\",\"value\":\"dapi-0a1b2c\"}]}",
     "variable 'DATABRICKS_TOKEN' of INTEGRATION_TYPE_DATABRICKS holds a secret but was declared "
     "VARIABLE_SENSITIVITY_PUBLIC: a not-sensitive value where a secret was expected"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_DATABRICKS\",\"integration_schema\":"
     "[{\"name\":\"DATABRICKS_HOST\",\"sensitivity\":\"not_sensitive\",\"value\":\"h\"}]}",
     "INTEGRATION_TYPE_DATABRICKS needs the variables DATABRICKS_HOST, DATABRICKS_TOKEN; "
     "missing: DATABRICKS_TOKEN"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_HUGGINGFACE\",\"integration_schema\":"
     "[{\"name\":\"HUGGINGFACE_API_TOKEN\",\"sensitivity\":\"members\"},"
     "{\"name\":\"FOO\",\"sensitivity\":\"members\"}]}",
     "INTEGRATION_TYPE_HUGGINGFACE takes only the variables HUGGINGFACE_API_TOKEN; 'FOO' is not "
     "one of them"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_AWS_ROLE_ARN\",\"integration_schema\":"
     "[{\"name\":\"AWS_REGION\",\"sensitivity\":\"not_sensitive\",\"value\":\"eu-west-1\"}]}",
     "missing: AWS_ROLE_ARN"},
    {"{\"name\":\"\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":[]}",
     "name must not be empty or blank"},
    {"{\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":[]}",
     "name is required"},
    {"{\"name\":\"a\\tb\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\","
     "\"integration_schema\":[]}",
     "name must not contain control characters"},
    {"{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\",\"integration_schema\":[],"
     "\"schema\":[]}",
     "unknown field 'schema' in an integration"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    print_message("  bad input %zu: %s\n", i, cases[i].fragment);
    json_t *b = NULL;
    assert_int_equal(send_req(f, "POST", ws_path(f->ws), NULL, f->token[WADMIN], cases[i].body,
                              &b), 400);
    assert_string_equal(err_name(b), "ConfigError");
    if (!strstr(err_message(b), cases[i].fragment))
      fail_msg("expected '%s' in: %s", cases[i].fragment, err_message(b));
    json_decref(b);
  }

  /* values given by mistake are never echoed */
  json_t *b = call(f, 400, "POST", ws_path(f->ws), WADMIN,
                   parse("{\"name\":\"b\",\"integration_type\":\"INTEGRATION_TYPE_DATABRICKS\","
                         "\"integration_schema\":[{\"name\":\"DATABRICKS_HOST\",\"sensitivity\":"
                         "\"not_sensitive\",\"value\":\"h\"},{\"name\":\"DATABRICKS_TOKEN\","
                         "\"sensitivity\":\"not_sensitive\",\"value\":\"dapi-0a1b2c\"}]}"));
  assert_null(strstr(err_message(b), "dapi-0a1b2c"));
  json_decref(b);

  /* names and values at and over their limits */
  char *long_name = malloc(INTEGRATION_VARIABLE_NAME_MAX + 2);
  memset(long_name, 'N', INTEGRATION_VARIABLE_NAME_MAX + 1);
  long_name[INTEGRATION_VARIABLE_NAME_MAX + 1] = '\0';
  call_err(f, 400, "ConfigError", "integration_schema[0].name must be at most 256 bytes; got 257",
           "POST", ws_path(f->ws), WADMIN,
           json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "name", "b", "integration_type",
                     "INTEGRATION_TYPE_CUSTOM", "integration_schema", "name", long_name,
                     "sensitivity", "members"));
  long_name[INTEGRATION_VARIABLE_NAME_MAX] = '\0'; /* exactly the limit: fine */
  char id[37];
  create(f, WADMIN, "long variable name", "INTEGRATION_TYPE_CUSTOM",
         json_pack("[{s:s, s:s}]", "name", long_name, "sensitivity", "members"), id);
  memset(long_name, 'I', INTEGRATION_NAME_MAX + 1);
  long_name[INTEGRATION_NAME_MAX + 1] = '\0';
  call_err(f, 400, "ConfigError", "name must be at most 256 bytes; got 257", "POST",
           ws_path(f->ws), WADMIN,
           json_pack("{s:s, s:s, s:[]}", "name", long_name, "integration_type",
                     "INTEGRATION_TYPE_CUSTOM", "integration_schema"));
  free(long_name);

  const char *big_prefix = watch_secret("oversized-secret");
  char *big = malloc(SECRET_VALUE_MAX + 2);
  memset(big, 'x', SECRET_VALUE_MAX + 1);
  memcpy(big, big_prefix, strlen(big_prefix));
  big[SECRET_VALUE_MAX + 1] = '\0';
  call_err(f, 400, "ConfigError",
           "the value of integration_schema[0] (variable 'BIG') is 65537 bytes; a value may be "
           "at most 65536 bytes",
           "POST", ws_path(f->ws), WADMIN,
           json_pack("{s:s, s:s, s:[{s:s, s:s, s:s}]}", "name", "b", "integration_type",
                     "INTEGRATION_TYPE_CUSTOM", "integration_schema", "name", "BIG",
                     "sensitivity", "workspace", "value", big));
  big[SECRET_VALUE_MAX] = '\0'; /* exactly the limit: stored */
  create(f, WADMIN, "big secret", "INTEGRATION_TYPE_CUSTOM",
         json_pack("[{s:s, s:s, s:s}]", "name", "BIG", "sensitivity", "workspace", "value", big),
         id);
  free(big);

  json_t *many = json_array();
  for (int i = 0; i <= INTEGRATION_VARIABLES_MAX; i++) {
    char name[16];
    snprintf(name, sizeof name, "V%d", i);
    json_array_append_new(many, json_pack("{s:s, s:s}", "name", name, "sensitivity", "members"));
  }
  call_err(f, 400, "ConfigError", "integration_schema has 257 variables; an integration holds at most 256",
           "POST", ws_path(f->ws), WADMIN,
           json_pack("{s:s, s:s, s:O}", "name", "b", "integration_type", "INTEGRATION_TYPE_CUSTOM",
                     "integration_schema", many));
  json_array_remove(many, 0); /* exactly the limit: fine */
  create(f, WADMIN, "many variables", "INTEGRATION_TYPE_CUSTOM", many, id);

  /* the name is unique in the workspace */
  create(f, WADMIN, "taken", "INTEGRATION_TYPE_CUSTOM", json_array(), id);
  call_err(f, 409, "ConflictError", "an integration named 'taken' already exists in this workspace",
           "POST", ws_path(f->ws), WADMIN,
           parse("{\"name\":\"taken\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\","
                 "\"integration_schema\":[]}"));
  /* ... but another workspace may use it */
  json_decref(call(f, 201, "POST", ws_path(f->other_ws), OUTSIDER,
                   parse("{\"name\":\"taken\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\","
                         "\"integration_schema\":[]}")));

  /* every type with its variables is accepted */
  create(f, WADMIN, "aws", "INTEGRATION_TYPE_AWS_ACCESS_KEY",
         parse("[{\"name\":\"AWS_ACCESS_KEY_ID\",\"sensitivity\":\"not_sensitive\",\"value\":\"AKIA\"},"
               "{\"name\":\"AWS_SECRET_ACCESS_KEY\",\"sensitivity\":\"members\"},"
               "{\"name\":\"AWS_SESSION_TOKEN\",\"sensitivity\":\"members\"},"
               "{\"name\":\"AWS_REGION\",\"sensitivity\":\"not_sensitive\",\"value\":\"eu-west-1\"}]"),
         id);
  create(f, WADMIN, "gcs", "INTEGRATION_TYPE_GCS",
         parse("[{\"name\":\"GCS_SERVICE_ACCOUNT_JSON\",\"sensitivity\":\"members\"}]"), id);
  create(f, WADMIN, "azure", "INTEGRATION_TYPE_AZURE_CLIENT_SECRET",
         parse("[{\"name\":\"AZURE_TENANT_ID\",\"sensitivity\":\"not_sensitive\",\"value\":\"t\"},"
               "{\"name\":\"AZURE_CLIENT_ID\",\"sensitivity\":\"not_sensitive\",\"value\":\"c\"},"
               "{\"name\":\"AZURE_CLIENT_SECRET\",\"sensitivity\":\"members\"}]"),
         id);
  create(f, WADMIN, "azure wi", "INTEGRATION_TYPE_AZURE_WORKLOAD_IDENTITY",
         parse("[{\"name\":\"AZURE_TENANT_ID\",\"sensitivity\":\"not_sensitive\",\"value\":\"t\"},"
               "{\"name\":\"AZURE_CLIENT_ID\",\"sensitivity\":\"members\"}]"),
         id);
  create(f, WADMIN, "role", "INTEGRATION_TYPE_AWS_ROLE_ARN",
         parse("[{\"name\":\"AWS_ROLE_ARN\",\"sensitivity\":\"not_sensitive\",\"value\":\"arn\"}]"),
         id);
}

static void bad_credentials(void **state) {
  fixture *f = *state;
  make_shared(f);
  const char *path = int_path(f->shared, "/credentials");
  char p[256];
  snprintf(p, sizeof p, "%s", path);
  call_err(f, 400, "ConfigError",
           "variable HOST is VARIABLE_SENSITIVITY_PUBLIC; only members-level "
           "(VARIABLE_SENSITIVITY_USER_SECRET) variables take per-member values",
           "PUT", p, MEMBER, parse("{\"credentials\":{\"HOST\":\"h2\"}}"));
  call_err(f, 400, "ConfigError", "variable WS_TOKEN is VARIABLE_SENSITIVITY_WORKSPACE_SECRET",
           "PUT", p, WADMIN, parse("{\"credentials\":{\"WS_TOKEN\":\"w2\"}}"));
  call_err(f, 400, "ConfigError",
           "integration 'shared' has no variable 'NOPE'; its members-level "
           "(VARIABLE_SENSITIVITY_USER_SECRET) variables are: USER_TOKEN",
           "PUT", p, MEMBER, parse("{\"credentials\":{\"NOPE\":\"v\"}}"));
  call_err(f, 400, "ConfigError", "must be a string; got integer", "PUT", p, MEMBER,
           parse("{\"credentials\":{\"USER_TOKEN\":5}}"));
  call_err(f, 400, "ConfigError", "credentials is required", "PUT", p, MEMBER, parse("{}"));
  call_err(f, 400, "ConfigError", "credentials must be an object", "PUT", p, MEMBER,
           parse("{\"credentials\":[\"USER_TOKEN\"]}"));
  call_err(f, 400, "ConfigError", "unknown field 'USER_TOKEN'", "PUT", p, MEMBER,
           parse("{\"USER_TOKEN\":\"v\"}"));
  const char *big_prefix = watch_secret("oversized-credential");
  char *big = malloc(SECRET_VALUE_MAX + 2);
  memset(big, 'y', SECRET_VALUE_MAX + 1);
  memcpy(big, big_prefix, strlen(big_prefix));
  big[SECRET_VALUE_MAX + 1] = '\0';
  call_err(f, 400, "ConfigError", "is 65537 bytes; a value may be at most 65536 bytes", "PUT", p,
           MEMBER, json_pack("{s:{s:s}}", "credentials", "USER_TOKEN", big));
  free(big);
  /* a refused request changes nothing: all or none */
  json_t *b = call(f, 200, "GET", int_path(f->shared, NULL), MEMBER2, NULL);
  check_status(b, 0, "USER_TOKEN");
  json_decref(b);
  call_err(f, 400, "ConfigError", "has no variable 'NOPE'", "PUT", p, MEMBER2,
           parse("{\"credentials\":{\"USER_TOKEN\":\"set-then-refused\",\"NOPE\":\"v\"}}"));
  b = call(f, 200, "GET", int_path(f->shared, NULL), MEMBER2, NULL);
  check_status(b, 0, "USER_TOKEN");
  json_decref(b);
}

/* --- resolution ---------------------------------------------------------------- */

static int resolve_as(fixture *f, const char *id, int who, json_t **dict) {
  store *s = NULL;
  assert_int_equal(platform_store_acquire(f->p, &s), ASSAY_OK);
  int rc = integration_resolve(f->p, s, id, f->user[who], dict);
  platform_store_release(f->p, s);
  return rc;
}

static void check_dict(json_t *dict, const char *name, const char *want) {
  json_t *v = json_object_get(dict, name);
  if (!json_is_string(v)) fail_msg("dict has no %s", name);
  assert_string_equal(json_string_value(v), want);
}

static void resolution_for_jobs(void **state) {
  fixture *f = *state;
  make_shared(f);
  set_credential(f, MEMBER, f->shared, "USER_TOKEN", shared_member_secret, 200);
  json_t *dict = NULL;
  assert_int_equal(resolve_as(f, f->shared, MEMBER, &dict), ASSAY_OK);
  assert_int_equal(json_object_size(dict), 3);
  check_dict(dict, "HOST", shared_host);
  check_dict(dict, "WS_TOKEN", shared_ws_secret);
  check_dict(dict, "USER_TOKEN", shared_member_secret);
  integration_dict_free(dict);

  /* a member without their value: an error naming integration and variable */
  dict = NULL;
  assert_int_equal(resolve_as(f, f->shared, MEMBER2, &dict), ASSAY_ERR_CONFIG);
  assert_null(dict);
  char want[256];
  snprintf(want, sizeof want,
           "integration 'shared' (%s): members-level variable 'USER_TOKEN' has no value for "
           "this user; set it with set_integration_credentials",
           f->shared);
  assert_string_equal(assay_error_last()->message, want);
  /* the workspace admin likewise, until they set theirs */
  assert_int_equal(resolve_as(f, f->shared, WADMIN, &dict), ASSAY_ERR_CONFIG);
  set_credential(f, WADMIN, f->shared, "USER_TOKEN", "admin-own-value", 200);
  assert_int_equal(resolve_as(f, f->shared, WADMIN, &dict), ASSAY_OK);
  check_dict(dict, "USER_TOKEN", "admin-own-value");
  check_dict(dict, "WS_TOKEN", shared_ws_secret);
  integration_dict_free(dict);
  /* the organisation admin is no member but may use it with their own value */
  set_credential(f, ORG, f->shared, "USER_TOKEN", "org-own-value", 200);
  assert_int_equal(resolve_as(f, f->shared, ORG, &dict), ASSAY_OK);
  check_dict(dict, "USER_TOKEN", "org-own-value");
  integration_dict_free(dict);
  /* viewers see but may not use */
  assert_int_equal(resolve_as(f, f->shared, VIEWER, &dict), ASSAY_ERR_PERMISSION_DENIED);
  assert_non_null(strstr(assay_error_last()->message, "WORKSPACE_ROLE_VIEWER"));
  /* outsiders and unknown ids: not found, alike */
  assert_int_equal(resolve_as(f, f->shared, OUTSIDER, &dict), ASSAY_ERR_NOT_FOUND);
  snprintf(want, sizeof want, "integration '%s' not found", f->shared);
  assert_string_equal(assay_error_last()->message, want);
  char unknown[37];
  assay__uuid(unknown);
  assert_int_equal(resolve_as(f, unknown, MEMBER, &dict), ASSAY_ERR_NOT_FOUND);
  /* the split user is a member of the team: resolution is for the user, not a token */
  set_credential(f, SPLIT, f->shared, "USER_TOKEN", "split", 404);
  assert_int_equal(resolve_as(f, f->shared, SPLIT, &dict), ASSAY_ERR_CONFIG);
  assert_null(dict);
}

/* --- PATCH ------------------------------------------------------------------------ */

/* How many rows of `table` belong to integration `id` (and, when given,
 * have variable `name` / user `user`), read straight from the database. */
static long count_rows(fixture *f, const char *table, const char *id, const char *name,
                       const char *user) {
  char path[4096], sql[256];
  snprintf(path, sizeof path, "%s/assay.db", f->home);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM %s WHERE integration_id = ?1 AND (?2 IS NULL OR name = ?2)"
           "%s",
           table, user ? " AND user_id = ?3" : "");
  sqlite3 *h;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
  if (name) sqlite3_bind_text(st, 2, name, -1, SQLITE_TRANSIENT);
  if (user) sqlite3_bind_text(st, 3, user, -1, SQLITE_TRANSIENT);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  long n = (long)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}
#define count_secrets(f, id, name, user) count_rows(f, "integration_secrets", id, name, user)

static void variable_order(json_t *rec, const char *const *names) {
  json_t *vars = json_object_get(rec, "variables");
  size_t n = 0;
  while (names[n]) n++;
  assert_int_equal(json_array_size(vars), n);
  for (size_t i = 0; i < n; i++)
    assert_string_equal(json_string_value(json_object_get(json_array_get(vars, i), "name")),
                        names[i]);
}

static void update_keeps_and_drops_secrets(void **state) {
  fixture *f = *state;
  make_shared(f);
  char id[37];
  const char *ws1 = watch_secret("patch-ws1"), *ws2 = watch_secret("patch-ws2"),
             *ws3 = watch_secret("patch-ws3"), *mine = watch_secret("patch-member");
  create(f, WADMIN, "patchme", "INTEGRATION_TYPE_CUSTOM",
         json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s}, {s:s, s:s}]",
                   "name", "PUB", "sensitivity", "not_sensitive", "value", "p1",
                   "name", "WS", "sensitivity", "workspace", "value", ws1,
                   "name", "MEM", "sensitivity", "members",
                   "name", "MEM2", "sensitivity", "members"),
         id);
  set_credential(f, MEMBER, id, "MEM", mine, 200);
  set_credential(f, MEMBER, id, "MEM2", "second", 200);
  char path[256];
  snprintf(path, sizeof path, "/v1/integrations/%s", id);

  /* rename and add: every stored value survives */
  json_t *b = call(f, 200, "PATCH", path, WADMIN,
                   parse("{\"name\":\"patched\",\"variables\":[{\"name\":\"NEW\","
                         "\"sensitivity\":\"not_sensitive\",\"value\":\"n\"}]}"));
  assert_string_equal(json_string_value(json_object_get(b, "name")), "patched");
  variable_order(b, (const char *const[]){"PUB", "WS", "MEM", "MEM2", "NEW", NULL});
  assert_true(json_is_true(json_object_get(variable(b, "WS"), "is_set")));
  json_decref(b);
  json_t *dict = NULL;
  assert_int_equal(resolve_as(f, id, MEMBER, &dict), ASSAY_OK);
  check_dict(dict, "WS", ws1);
  check_dict(dict, "MEM", mine);
  check_dict(dict, "NEW", "n");
  integration_dict_free(dict);

  /* replace the public value and the workspace secret; MEM stays members-level */
  b = call(f, 200, "PATCH", path, WADMIN,
           json_pack("{s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s}]}", "variables",
                     "name", "PUB", "sensitivity", "VARIABLE_SENSITIVITY_PUBLIC", "value", "p2",
                     "name", "WS", "sensitivity", "workspace", "value", ws2,
                     "name", "MEM", "sensitivity", "members"));
  assert_string_equal(json_string_value(json_object_get(variable(b, "PUB"), "value")), "p2");
  variable_order(b, (const char *const[]){"PUB", "WS", "MEM", "MEM2", "NEW", NULL});
  json_decref(b);
  assert_int_equal(resolve_as(f, id, MEMBER, &dict), ASSAY_OK);
  check_dict(dict, "PUB", "p2");
  check_dict(dict, "WS", ws2);
  check_dict(dict, "MEM", mine);
  integration_dict_free(dict);

  /* MEM turns workspace-level: the members' values are dropped */
  b = call(f, 200, "PATCH", path, WADMIN,
           json_pack("{s:[{s:s, s:s, s:s}]}", "variables", "name", "MEM", "sensitivity",
                     "workspace", "value", ws3));
  json_decref(b);
  assert_int_equal(count_secrets(f, id, "MEM", NULL), 1);
  assert_int_equal(count_secrets(f, id, "MEM", ""), 1);
  assert_int_equal(resolve_as(f, id, MEMBER, &dict), ASSAY_OK);
  check_dict(dict, "MEM", ws3);
  check_dict(dict, "MEM2", "second");
  integration_dict_free(dict);
  /* ... and back to members-level: the workspace value goes too */
  json_decref(call(f, 200, "PATCH", path, WADMIN,
                   parse("{\"variables\":[{\"name\":\"MEM\",\"sensitivity\":\"members\"}]}")));
  assert_int_equal(count_secrets(f, id, "MEM", NULL), 0);
  b = call(f, 200, "GET", path, MEMBER, NULL);
  check_status(b, 0, "MEM");
  json_decref(b);
  assert_int_equal(resolve_as(f, id, MEMBER, &dict), ASSAY_ERR_CONFIG);
  assert_non_null(strstr(assay_error_last()->message, "'MEM'"));

  /* a workspace secret turned public keeps no sealed value */
  json_decref(call(f, 200, "PATCH", path, WADMIN,
                   parse("{\"variables\":[{\"name\":\"WS\",\"sensitivity\":\"not_sensitive\","
                         "\"value\":\"now public\"}]}")));
  assert_int_equal(count_secrets(f, id, "WS", NULL), 0);

  /* removal */
  call_err(f, 400, "ConfigError",
           "remove_variables[0]: integration 'patched' has no variable 'NOPE'; its variables "
           "are: PUB, WS, MEM, MEM2, NEW",
           "PATCH", path, WADMIN, parse("{\"remove_variables\":[\"NOPE\"]}"));
  call_err(f, 400, "ConfigError", "remove_variables must be an array of variable names", "PATCH",
           path, WADMIN, parse("{\"remove_variables\":\"MEM2\"}"));
  call_err(f, 400, "ConfigError", "both in variables and in remove_variables", "PATCH", path,
           WADMIN,
           parse("{\"remove_variables\":[\"NEW\"],\"variables\":[{\"name\":\"NEW\","
                 "\"sensitivity\":\"members\"}]}"));
  b = call(f, 200, "PATCH", path, WADMIN, parse("{\"remove_variables\":[\"MEM2\", \"NEW\"]}"));
  variable_order(b, (const char *const[]){"PUB", "WS", "MEM", NULL});
  json_decref(b);
  assert_int_equal(count_secrets(f, id, "MEM2", NULL), 0);

  /* other bad updates */
  call_err(f, 400, "ConfigError", "nothing to update", "PATCH", path, WADMIN, parse("{}"));
  call_err(f, 400, "ConfigError", "unknown field 'integration_type'", "PATCH", path, WADMIN,
           parse("{\"integration_type\":\"INTEGRATION_TYPE_GCS\"}"));
  call_err(f, 400, "ConfigError", "variables[0] (variable 'X') has an unknown sensitivity", "PATCH",
           path, WADMIN, parse("{\"variables\":[{\"name\":\"X\",\"sensitivity\":\"loud\"}]}"));
  call_err(f, 400, "ConfigError", "name must not be empty", "PATCH", path, WADMIN,
           parse("{\"name\":\" \"}"));
  call_err(f, 409, "ConflictError", "an integration named 'shared' already exists", "PATCH", path,
           WADMIN, parse("{\"name\":\"shared\"}"));

  /* the result is checked against the type */
  char db[37];
  create(f, WADMIN, "databricks", "INTEGRATION_TYPE_DATABRICKS",
         parse("[{\"name\":\"DATABRICKS_HOST\",\"sensitivity\":\"not_sensitive\",\"value\":\"h\"},"
               "{\"name\":\"DATABRICKS_TOKEN\",\"sensitivity\":\"members\"}]"),
         db);
  snprintf(path, sizeof path, "/v1/integrations/%s", db);
  call_err(f, 400, "ConfigError", "missing: DATABRICKS_TOKEN", "PATCH", path, WADMIN,
           parse("{\"remove_variables\":[\"DATABRICKS_TOKEN\"]}"));
  call_err(f, 400, "ConfigError", "a not-sensitive value where a secret was expected", "PATCH",
           path, WADMIN,
           parse("{\"variables\":[{\"name\":\"DATABRICKS_TOKEN\",\"sensitivity\":"
                 "\"not_sensitive\",\"value\":\"dapi-should-not-echo\"}]}"));
  call_err(f, 400, "ConfigError", "'EXTRA' is not one of them", "PATCH", path, WADMIN,
           parse("{\"variables\":[{\"name\":\"EXTRA\",\"sensitivity\":\"members\"}]}"));
  json_decref(call(f, 200, "PATCH", path, WADMIN,
                   parse("{\"variables\":[{\"name\":\"DATABRICKS_TOKEN\",\"sensitivity\":"
                         "\"workspace\",\"value\":\"dapi-ok\"}]}")));
}

static void delete_cascades(void **state) {
  fixture *f = *state;
  char id[37], path[256];
  create(f, WADMIN, "doomed", "INTEGRATION_TYPE_CUSTOM",
         json_pack("[{s:s, s:s, s:s}, {s:s, s:s}]", "name", "W", "sensitivity", "workspace",
                   "value", watch_secret("doomed-ws"), "name", "M", "sensitivity", "members"),
         id);
  set_credential(f, MEMBER, id, "M", watch_secret("doomed-member"), 200);
  assert_int_equal(count_secrets(f, id, NULL, NULL), 2);
  snprintf(path, sizeof path, "/v1/integrations/%s", id);
  json_decref(call(f, 204, "DELETE", path, WADMIN, NULL));
  assert_int_equal(count_secrets(f, id, NULL, NULL), 0);
  assert_int_equal(count_rows(f, "integration_variables", id, NULL, NULL), 0);
  json_t *b = call(f, 404, "GET", path, WADMIN, NULL);
  check_not_found(f, b, id);
  json_decref(b);
  json_decref(call(f, 404, "DELETE", path, WADMIN, NULL));
  /* the name is free again */
  create(f, WADMIN, "doomed", "INTEGRATION_TYPE_CUSTOM", json_array(), id);
}

/* --- deleted and replaced values leave the files --------------------------------- */

/* One stored sealed value, copied straight from the database. */
typedef struct sealed_copy {
  char name[64];
  char user[37];
  unsigned char *bytes;
  size_t len;
} sealed_copy;

/* The sealed values of integration id (at most max), through a connection
 * of the test's own that is closed again before returning. */
static size_t sealed_of(fixture *f, const char *id, sealed_copy *out, size_t max) {
  char path[4096];
  snprintf(path, sizeof path, "%s/assay.db", f->home);
  sqlite3 *h;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(h,
                                      "SELECT name, user_id, sealed FROM integration_secrets "
                                      "WHERE integration_id = ?1 ORDER BY name, user_id",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
  size_t n = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    assert_true(n < max);
    sealed_copy *c = &out[n++];
    snprintf(c->name, sizeof c->name, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(c->user, sizeof c->user, "%s", (const char *)sqlite3_column_text(st, 1));
    c->len = (size_t)sqlite3_column_bytes(st, 2);
    assert_true(c->len > 24);
    c->bytes = malloc(c->len);
    memcpy(c->bytes, sqlite3_column_blob(st, 2), c->len);
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}

static const sealed_copy *pick(const sealed_copy *v, size_t n, const char *name,
                               const char *user) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i].name, name) == 0 && strcmp(v[i].user, user) == 0) return &v[i];
  fail_msg("no stored value of %s for '%s'", name, user);
  return NULL;
}

static const sealed_copy *scan_sealed;
static int scan_sealed_hits, scan_sealed_report;

static int scan_sealed_file(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)ftw;
  if (type != FTW_F || !S_ISREG(st->st_mode)) return 0;
  FILE *fp = fopen(path, "rb");
  if (!fp) return 0;
  size_t cap = 1 << 20, n = 0, got;
  char *buf = malloc(cap);
  while ((got = fread(buf + n, 1, cap - n, fp)) > 0) {
    n += got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(fp);
  /* the whole sealed value, or its nonce alone (a fragment of it) */
  if (memmem(buf, n, scan_sealed->bytes, scan_sealed->len) ||
      memmem(buf, n, scan_sealed->bytes, 24)) {
    if (scan_sealed_report)
        fprintf(stderr, "  sealed value of %s ('%s') found in %s\n", scan_sealed->name,
              scan_sealed->user, path);
    scan_sealed_hits++;
  }
  free(buf);
  return 0;
}

/* In how many files under the home the sealed value c is (report: say
 * where). */
static int sealed_found(fixture *f, const sealed_copy *c, int report) {
  scan_sealed = c;
  scan_sealed_report = report;
  scan_sealed_hits = 0;
  assert_int_equal(nftw(f->home, scan_sealed_file, 16, FTW_PHYS), 0);
  return scan_sealed_hits;
}

static void deleted_values_leave_the_files(void **state) {
  fixture *f = *state;
  char id[37], path[256];
  create(f, WADMIN, "shredder", "INTEGRATION_TYPE_CUSTOM",
         json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s}, {s:s, s:s}]",
                   "name", "W", "sensitivity", "workspace", "value", watch_secret("shred-w"),
                   "name", "GONE", "sensitivity", "workspace", "value",
                   watch_secret("shred-gone"), "name", "M", "sensitivity", "members",
                   "name", "N", "sensitivity", "members"),
         id);
  set_credential(f, MEMBER, id, "M", watch_secret("shred-m"), 200);
  set_credential(f, MEMBER2, id, "M", watch_secret("shred-m2"), 200);
  set_credential(f, MEMBER2, id, "N", watch_secret("shred-n2"), 200);
  sealed_copy v[8];
  size_t n = sealed_of(f, id, v, 8);
  assert_int_equal(n, 5);
  for (size_t i = 0; i < n; i++) assert_true(sealed_found(f, &v[i], 0) > 0); /* the scan works */
  snprintf(path, sizeof path, "/v1/integrations/%s", id);

  /* a member clears a credential */
  set_credential(f, MEMBER, id, "M", NULL, 200);
  assert_int_equal(sealed_found(f, pick(v, n, "M", f->user[MEMBER]), 1), 0);
  /* a workspace value is replaced */
  json_decref(call(f, 200, "PATCH", path, WADMIN,
                   json_pack("{s:[{s:s, s:s, s:s}]}", "variables", "name", "W", "sensitivity",
                             "workspace", "value", watch_secret("shred-w-again"))));
  assert_int_equal(sealed_found(f, pick(v, n, "W", ""), 1), 0);
  /* a variable is removed */
  json_decref(call(f, 200, "PATCH", path, WADMIN, parse("{\"remove_variables\":[\"GONE\"]}")));
  assert_int_equal(sealed_found(f, pick(v, n, "GONE", ""), 1), 0);
  /* a member leaves the workspace */
  char member_path[256];
  snprintf(member_path, sizeof member_path, "/v1/workspaces/%s/members/%s", f->ws,
           f->user[MEMBER2]);
  json_decref(call(f, 204, "DELETE", member_path, WADMIN, NULL));
  assert_int_equal(sealed_found(f, pick(v, n, "M", f->user[MEMBER2]), 1), 0);
  assert_int_equal(sealed_found(f, pick(v, n, "N", f->user[MEMBER2]), 1), 0);
  for (size_t i = 0; i < n; i++) free(v[i].bytes);

  /* the integration is deleted */
  n = sealed_of(f, id, v, 8);
  assert_int_equal(n, 1);
  assert_true(sealed_found(f, &v[0], 0) > 0);
  json_decref(call(f, 204, "DELETE", path, WADMIN, NULL));
  assert_int_equal(sealed_found(f, &v[0], 1), 0);
  free(v[0].bytes);
}

/* --- nothing secret at rest -------------------------------------------------------- */

static int scan_hits, scan_files, scan_public_hits;
static const char *scan_public;

static int scan_file(const char *path, const struct stat *st, int type, struct FTW *ftw) {
  (void)ftw;
  if (type != FTW_F || !S_ISREG(st->st_mode)) return 0;
  FILE *fp = fopen(path, "rb");
  if (!fp) return 0;
  size_t cap = 1 << 20, n = 0, got;
  char *buf = malloc(cap);
  while ((got = fread(buf + n, 1, cap - n, fp)) > 0) {
    n += got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(fp);
  scan_files++;
  for (int i = 0; i < n_watched; i++)
    if (memmem(buf, n, watched[i], strlen(watched[i]))) {
      fprintf(stderr, "secret %s found in %s\n", watched[i], path);
      scan_hits++;
    }
  if (memmem(buf, n, scan_public, strlen(scan_public))) scan_public_hits++;
  free(buf);
  return 0;
}

static void no_secret_bytes_at_rest(void **state) {
  fixture *f = *state;
  make_shared(f);
  set_credential(f, MEMBER, f->shared, "USER_TOKEN", shared_member_secret, 200);
  char id[37];
  const char *public_marker = "public-marker-6b1d";
  create(f, WADMIN, "at rest", "INTEGRATION_TYPE_CUSTOM",
         json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}, {s:s, s:s}]",
                   "name", "P", "sensitivity", "not_sensitive", "value", public_marker,
                   "name", "W", "sensitivity", "workspace", "value", watch_secret("rest-ws"),
                   "name", "M", "sensitivity", "members"),
         id);
  set_credential(f, MEMBER, id, "M", watch_secret("rest-member"), 200);
  set_credential(f, MEMBER2, id, "M", watch_secret("rest-member2"), 200);
  /* the resolved values are the secrets indeed */
  json_t *dict = NULL;
  assert_int_equal(resolve_as(f, id, MEMBER2, &dict), ASSAY_OK);
  check_dict(dict, "M", watched[n_watched - 1]);
  integration_dict_free(dict);

  scan_hits = scan_files = scan_public_hits = 0;
  scan_public = public_marker;
  assert_int_equal(nftw(f->home, scan_file, 16, FTW_PHYS), 0);
  assert_true(scan_files >= 2);
  assert_int_equal(scan_hits, 0);
  /* the same search finds what is stored in the clear */
  assert_true(scan_public_hits >= 1);
  assert_true(answers_checked > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(permission_matrix, setup, teardown),
    cmocka_unit_test_setup_teardown(outsiders_learn_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(members_see_public_values_only, setup, teardown),
    cmocka_unit_test_setup_teardown(credential_status_per_member, setup, teardown),
    cmocka_unit_test_setup_teardown(demoted_members_may_clear, setup, teardown),
    cmocka_unit_test_setup_teardown(bad_inputs_are_config_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(bad_credentials, setup, teardown),
    cmocka_unit_test_setup_teardown(resolution_for_jobs, setup, teardown),
    cmocka_unit_test_setup_teardown(update_keeps_and_drops_secrets, setup, teardown),
    cmocka_unit_test_setup_teardown(delete_cascades, setup, teardown),
    cmocka_unit_test_setup_teardown(deleted_values_leave_the_files, setup, teardown),
    cmocka_unit_test_setup_teardown(no_secret_bytes_at_rest, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
