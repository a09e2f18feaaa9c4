/* test_client.c — the public client API on the embedded platform: options
 * (as a struct and as a value), project operations, raw requests, the typed
 * errors each bad input gives, and an embedded client acting as the user of
 * an api_key. The issue-3 calls (workspaces, users, members, API tokens,
 * integrations, credentials, key rotation) are run as round trips twice:
 * on the embedded platform and over HTTP against an in-process server, with
 * every answer and error searched for the secret values sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include <cmocka.h>

#include "assay.h"
#include "test_support.h"

typedef struct fixture {
  char *home;
  assay_client *c;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->home = make_home();
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.home = f->home;
  if (assay_client_new(&f->c, &o) != ASSAY_OK) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  assay_client_free(f->c);
  rm_home(f->home);
  free(f);
  return 0;
}

static const char *str(const assay_value *v, const char *key) {
  return assay_value_get_string(assay_value_object_get(v, key), NULL);
}

/* The secret values the tests send: no answer and no error may hold one. */
#define WS_SECRET "wsS3CR3T-5b1e0c-never-in-an-answer"
#define WS_SECRET2 "wsS3CR3T-77aa01-replaced-never-in-an-answer"
#define MEMBER_SECRET "mbS3CR3T-9d2f3a-never-in-an-answer"
#define ADMIN_SECRET "adS3CR3T-1c4e5b-never-in-an-answer"
#define BAD_SECRET "bdS3CR3T-e0e0e0-refused-never-echoed"
static const char *const SECRETS[] = {WS_SECRET, WS_SECRET2, MEMBER_SECRET, ADMIN_SECRET,
                                      BAD_SECRET};
#define N_SECRETS (sizeof SECRETS / sizeof SECRETS[0])

static void expect(int rc, int code, const char *fragment) {
  if (rc != code) fail_msg("got %d (%s); expected %d", rc,
                           assay_error_last() ? assay_error_last()->message : "-", code);
  const assay_error *e = assay_error_last();
  assert_non_null(e);
  assert_int_equal(e->code, code);
  if (fragment && !strstr(e->message, fragment))
    fail_msg("message '%s' lacks '%s'", e->message, fragment);
  for (size_t i = 0; i < N_SECRETS; i++)
    if (strstr(e->message, SECRETS[i])) fail_msg("a secret is in the message '%s'", e->message);
}

static void project_round_trip(void **state) {
  fixture *f = *state;
  assert_true(assay_client_is_embedded(f->c));
  assay_value *extra, *v, *p, *list;
  assert_int_equal(assay_value_parse(&extra, "{\"use_case\":\"fraud\"}", 20), ASSAY_OK);
  assert_int_equal(assay_client_create_project(&p, f->c, "Fraud", "card fraud model",
                                               "MODEL_TASK_BINARY_CLASSIFICATION", extra),
                   ASSAY_OK);
  assay_value_free(extra);
  assert_string_equal(str(p, "name"), "Fraud");
  assert_string_equal(str(p, "use_case"), "fraud");
  char id[64];
  snprintf(id, sizeof id, "%s", str(p, "project_id"));
  assay_value_free(p);

  assert_int_equal(assay_client_get_project(&v, f->c, id), ASSAY_OK);
  assert_string_equal(str(v, "description"), "card fraud model");
  assay_value_free(v);
  assert_int_equal(assay_client_list_projects(&list, f->c), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 1);
  assay_value_free(list);

  assert_int_equal(assay_client_platform_info(&v, f->c), ASSAY_OK);
  assert_true(assay_value_get_bool(assay_value_object_get(v, "embedded")));
  assert_non_null(str(v, "home"));
  assay_value_free(v);

  assert_int_equal(assay_client_delete_project(f->c, id, 0), ASSAY_OK);
  expect(assay_client_get_project(&v, f->c, id), ASSAY_ERR_NOT_FOUND, "not found");
  assert_int_equal(assay_error_last()->http_status, 404);
  expect(assay_client_delete_project(f->c, id, 1), ASSAY_ERR_NOT_FOUND, NULL);
}

static void bad_inputs_are_typed(void **state) {
  fixture *f = *state;
  assay_value *v = NULL;
  expect(assay_client_create_project(&v, f->c, "x", "d", "MODEL_TASK_NOPE", NULL),
         ASSAY_ERR_CONFIG, "MODEL_TASK_REGRESSION");
  expect(assay_client_create_project(&v, f->c, NULL, "d", "MODEL_TASK_RANKING", NULL),
         ASSAY_ERR_CONFIG, "name is required");
  expect(assay_client_create_project(&v, f->c, "bad\xff", "d", "MODEL_TASK_RANKING", NULL),
         ASSAY_ERR_CONFIG, "UTF-8");
  assert_int_equal(assay_client_create_project(&v, f->c, "dup", "", "MODEL_TASK_RANKING", NULL),
                   ASSAY_OK);
  assay_value_free(v);
  expect(assay_client_create_project(&v, f->c, "dup", "", "MODEL_TASK_RANKING", NULL),
         ASSAY_ERR_CONFLICT, "already exists");
  expect(assay_client_get_project(&v, f->c, ""), ASSAY_ERR_CONFIG, "project_id");
  expect(assay_client_get_project(&v, f->c, NULL), ASSAY_ERR_CONFIG, "project_id");
  /* an id with a slash stays one path segment */
  expect(assay_client_get_project(&v, f->c, "../api-tokens"), ASSAY_ERR_NOT_FOUND, NULL);
  expect(assay_client_create_api_token(&v, f->c, NULL, "t", NULL, -3), ASSAY_ERR_CONFIG,
         "expires_in_days");

  /* raw requests: the router's errors, typed */
  const char *bad = "{\"name\": ";
  expect(assay_client_request(&v, f->c, "POST", "/v1/projects", bad, strlen(bad)),
         ASSAY_ERR_CONFIG, "not valid JSON");
  expect(assay_client_request(&v, f->c, "GET", "/v1/elsewhere", NULL, 0), ASSAY_ERR_NOT_FOUND,
         "no route");
  expect(assay_client_request(&v, f->c, "DELETE", "/v1/projects", NULL, 0),
         ASSAY_ERR_METHOD_NOT_ALLOWED, "allowed");
  assert_int_equal(assay_error_last()->http_status, 405);
  expect(assay_client_request(&v, f->c, "GET", "v1/projects", NULL, 0), ASSAY_ERR_CONFIG,
         "must start with '/'");
  size_t n = 16 * 1024 * 1024 + 10;
  char *big = malloc(n);
  memset(big, ' ', n);
  expect(assay_client_request(&v, f->c, "POST", "/v1/projects", big, n),
         ASSAY_ERR_PAYLOAD_TOO_LARGE, "limit");
  free(big);
  assert_int_equal(assay_client_request(&v, f->c, "GET", "/v1/health", NULL, 0), ASSAY_OK);
  assert_string_equal(str(v, "status"), "ok");
  assay_value_free(v);
}

static void options_are_checked(void **state) {
  (void)state;
  assay_client *c = NULL;
  assay_value *o;
  const char *cases[][2] = {
    {"{\"colour\":1}", "unknown client option 'colour'"},
    {"{\"channel_timeout\":\"soon\"}", "channel_timeout must be a number"},
    {"{\"channel_timeout\":0}", "channel_timeout must be"},
    {"{\"disable_tls\":1}", "disable_tls must be a boolean"},
    {"{\"domain\":5}", "domain must be a string"},
    {"{\"domain\":\"localhost:1\",\"cert_file\":\"/etc/hostname\"}", "together"},
    {"{\"domain\":\"localhost:1\",\"ssl_ca_cert\":\"/no/such/ca.pem\"}", "cannot read"},
    {"{\"assert_hostname\":true}", "got true"},
    {"{\"assert_hostname\":7}", "assert_hostname must be a string"},
    {"{\"max_retries\":4294967297}", "max_retries must be an integer from 0 to 10"},
    {"[]", "must be an object"},
    {"{\"secret_key_file\":5}", "secret_key_file must be a string"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(assay_value_parse(&o, cases[i][0], strlen(cases[i][0])), ASSAY_OK);
    expect(assay_client_new_with(&c, o), ASSAY_ERR_CONFIG, cases[i][1]);
    assert_null(c);
    assay_value_free(o);
  }
  assay_client_options bad = ASSAY_CLIENT_OPTIONS_INIT;
  bad.version = 99;
  expect(assay_client_new(&c, &bad), ASSAY_ERR_CONFIG, "version");
  assay_client_free(NULL);
}

static void embedded_default_home(void **state) {
  (void)state;
  char *home = make_home();
  setenv("ASSAY_HOME", home, 1);
  assay_client *c;
  assert_int_equal(assay_client_new_with(&c, NULL), ASSAY_OK);
  assay_value *v;
  assert_int_equal(assay_client_platform_info(&v, c), ASSAY_OK);
  char real[4096];
  assert_non_null(realpath(home, real));
  assert_string_equal(str(v, "home"), real);
  assay_value_free(v);
  assay_client_free(c);
  unsetenv("ASSAY_HOME");
  rm_home(home);
}

/* Client-side argument checks of the issue-3 calls: they fail before any
 * request, with the name of the argument. */
static void people_and_integration_arguments(void **state) {
  fixture *f = *state;
  assay_value *v = NULL, *arr = NULL, *text = NULL;
  expect(assay_client_get_workspace(&v, f->c, NULL), ASSAY_ERR_CONFIG, "workspace_id");
  expect(assay_client_list_workspace_members(&v, f->c, ""), ASSAY_ERR_CONFIG, "workspace_id");
  expect(assay_client_add_workspace_member(&v, f->c, NULL, "u", "admin"), ASSAY_ERR_CONFIG,
         "workspace_id");
  expect(assay_client_update_workspace_member(&v, f->c, "w", NULL, "admin"), ASSAY_ERR_CONFIG,
         "user_id");
  expect(assay_client_remove_workspace_member(f->c, "w", ""), ASSAY_ERR_CONFIG, "user_id");
  expect(assay_client_revoke_api_token(f->c, NULL), ASSAY_ERR_CONFIG, "token_id");
  expect(assay_client_create_integration(&v, f->c, NULL, "n", "INTEGRATION_TYPE_CUSTOM", NULL),
         ASSAY_ERR_CONFIG, "workspace_id");
  expect(assay_client_list_integrations(&v, f->c, NULL), ASSAY_ERR_CONFIG, "workspace_id");
  expect(assay_client_get_integration(&v, f->c, ""), ASSAY_ERR_CONFIG, "integration_id");
  expect(assay_client_delete_integration(f->c, NULL), ASSAY_ERR_CONFIG, "integration_id");
  assert_int_equal(assay_value_parse(&arr, "[1]", 3), ASSAY_OK);
  assert_int_equal(assay_value_parse(&text, "\"s3cr3t\"", 8), ASSAY_OK);
  expect(assay_client_update_integration(&v, f->c, "i", arr), ASSAY_ERR_CONFIG,
         "changes must be an object; got an array");
  expect(assay_client_update_integration(&v, f->c, "i", NULL), ASSAY_ERR_CONFIG, "changes");
  expect(assay_client_set_integration_credentials(&v, f->c, "i", text), ASSAY_ERR_CONFIG,
         "credentials must be an object; got a string");
  /* the rejected value is never echoed */
  assert_null(strstr(assay_error_last()->message, "s3cr3t"));
  expect(assay_client_set_integration_credentials(&v, f->c, "i", NULL), ASSAY_ERR_CONFIG,
         "credentials");
  expect(assay_client_set_integration_credentials(&v, f->c, NULL, text), ASSAY_ERR_CONFIG,
         "integration_id");
  assay_value_free(arr);
  assay_value_free(text);
  assert_null(v);
  /* ids stay one path segment: no route is reached by "../" */
  expect(assay_client_get_integration(&v, f->c, "../workspaces"), ASSAY_ERR_NOT_FOUND, NULL);
  expect(assay_client_get_workspace(&v, f->c, "x/members"), ASSAY_ERR_NOT_FOUND, NULL);
}

/* An embedded client given an api_key authenticates with it for every
 * request: it is that token's user, with that user's rights. */
static void embedded_api_key_acts_as_its_user(void **state) {
  fixture *f = *state;
  assay_value *info, *user, *member, *tok, *v = NULL, *list;
  assert_int_equal(assay_client_platform_info(&info, f->c), ASSAY_OK);
  char ws[64], admin_id[64];
  snprintf(ws, sizeof ws, "%s", str(info, "workspace_id"));
  snprintf(admin_id, sizeof admin_id, "%s", str(info, "user_id"));
  assay_value_free(info);

  assert_int_equal(assay_client_create_user(&user, f->c, "alice", "Alice A."), ASSAY_OK);
  char alice[64];
  snprintf(alice, sizeof alice, "%s", str(user, "user_id"));
  assert_string_equal(str(user, "username"), "alice");
  assay_value_free(user);
  assert_int_equal(assay_client_add_workspace_member(&member, f->c, ws, alice, "viewer"),
                   ASSAY_OK);
  assert_string_equal(str(member, "role"), "WORKSPACE_ROLE_VIEWER");
  assay_value_free(member);
  assert_int_equal(assay_client_create_api_token(&tok, f->c, ws, "alice-cli", alice,
                                                 ASSAY_TOKEN_EXPIRY_DEFAULT),
                   ASSAY_OK);
  char token[256], token_id[64];
  snprintf(token, sizeof token, "%s", str(tok, "token"));
  snprintf(token_id, sizeof token_id, "%s", str(tok, "id"));
  assay_value_free(tok);

  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.home = f->home;
  o.api_key = token;
  assay_client *as_alice = NULL;
  assert_int_equal(assay_client_new(&as_alice, &o), ASSAY_OK);
  assert_true(assay_client_is_embedded(as_alice));
  assert_int_equal(assay_client_platform_info(&info, as_alice), ASSAY_OK);
  assert_string_equal(str(info, "user_id"), alice);
  assert_string_equal(str(info, "workspace_id"), ws);
  assert_true(assay_value_get_bool(assay_value_object_get(info, "embedded")));
  assay_value_free(info);
  /* alice is no organisation admin */
  expect(assay_client_create_user(&v, as_alice, "mallory", NULL),
         ASSAY_ERR_PERMISSION_DENIED, NULL);
  expect(assay_client_list_users(&v, as_alice), ASSAY_ERR_PERMISSION_DENIED, NULL);
  /* ... and sees only her own tokens, never a secret */
  assert_int_equal(assay_client_list_api_tokens(&list, as_alice, NULL, NULL), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 1);
  assert_string_equal(str(assay_value_array_get(list, 0), "id"), token_id);
  assert_null(assay_value_object_get(assay_value_array_get(list, 0), "token"));
  assay_value_free(list);
  /* the admin filters by user (the query is encoded) */
  assert_int_equal(assay_client_list_api_tokens(&list, f->c, ws, alice), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 1);
  assay_value_free(list);
  assert_int_equal(assay_client_list_api_tokens(&list, f->c, NULL, "no such&user=x"),
                   ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 0);
  assay_value_free(list);

  /* revoked: the same embedded client is refused from the next call on */
  assert_int_equal(assay_client_revoke_api_token(f->c, token_id), ASSAY_OK);
  expect(assay_client_platform_info(&v, as_alice), ASSAY_ERR_AUTH, NULL);
  assay_client_free(as_alice);

  /* a key that is no token: every call is AuthError, never the admin */
  o.api_key = "assay_not-a-token";
  assert_int_equal(assay_client_new(&as_alice, &o), ASSAY_OK);
  expect(assay_client_list_projects(&v, as_alice), ASSAY_ERR_AUTH, NULL);
  assert_null(v);
  assay_client_free(as_alice);
  /* an empty key means none: the home's admin */
  o.api_key = "";
  assert_int_equal(assay_client_new(&as_alice, &o), ASSAY_OK);
  assert_int_equal(assay_client_platform_info(&info, as_alice), ASSAY_OK);
  assert_string_equal(str(info, "user_id"), admin_id);
  assay_value_free(info);
  assay_client_free(as_alice);
}

/* secret_key_file: the embedded platform keeps its master key there, not in
 * <home>/secret.key. */
static void embedded_secret_key_file(void **state) {
  (void)state;
  char *home = make_home(), *key = NULL, *default_key = NULL;
  assert_true(asprintf(&key, "%s/elsewhere.key", home) > 0);
  assert_true(asprintf(&default_key, "%s/secret.key", home) > 0);
  assay_value *o = NULL;
  char *json = NULL;
  assert_true(asprintf(&json, "{\"home\":\"%s\",\"secret_key_file\":\"%s\"}", home, key) > 0);
  assert_int_equal(assay_value_parse(&o, json, strlen(json)), ASSAY_OK);
  assay_client *c = NULL;
  assert_int_equal(assay_client_new_with(&c, o), ASSAY_OK);
  struct stat st;
  assert_int_equal(stat(key, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_not_equal(stat(default_key, &st), 0);
  assay_client_free(c);
  assay_value_free(o);
  free(json);
  free(key);
  free(default_key);
  rm_home(home);
}

/* --- issue 3 round trips: embedded and over HTTP ----------------------------- */

/* Where the round trips run: an embedded platform in `home`, or an
 * in-process assay_server over a platform in `home`. `admin` is the
 * organisation admin (the home's bootstrap admin); open_as() opens clients
 * acting as other tokens' users, closed by the teardown. */
typedef struct target {
  char *home;
  assay_platform *platform; /* HTTP: the served platform */
  assay_server *server;
  char url[64];
  assay_client *admin;
  assay_client *opened[16];
  int nopened;
} target;

static int setup_embedded_target(void **state) {
  target *t = calloc(1, sizeof *t);
  if (!t || !(t->home = make_home())) return -1;
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.home = t->home;
  if (assay_client_new(&t->admin, &o) != ASSAY_OK) return -1;
  *state = t;
  return 0;
}

static int setup_http_target(void **state) {
  target *t = calloc(1, sizeof *t);
  if (!t || assay_init() != ASSAY_OK || !(t->home = make_home())) return -1;
  if (assay_platform_open(&t->platform, t->home) != ASSAY_OK) return -1;
  assay_server_options so = ASSAY_SERVER_OPTIONS_INIT;
  so.listen = "127.0.0.1:0";
  so.threads = 2;
  if (assay_server_start(&t->server, t->platform, &so) != ASSAY_OK) {
    fprintf(stderr, "server_start: %s\n", assay_error_last()->message);
    return -1;
  }
  snprintf(t->url, sizeof t->url, "http://127.0.0.1:%d", assay_server_port(t->server));
  char token[256] = "";
  if (read_admin_token(t->home, token, sizeof token) != 0) return -1;
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.domain = t->url;
  o.api_key = token;
  if (assay_client_new(&t->admin, &o) != ASSAY_OK) return -1;
  *state = t;
  return 0;
}

static int teardown_target(void **state) {
  target *t = *state;
  for (int i = 0; i < t->nopened; i++) assay_client_free(t->opened[i]);
  assay_client_free(t->admin);
  if (t->platform) {
    assay_server_stop(t->server);
    assay_platform_free(t->platform);
    assay_shutdown();
  }
  rm_home(t->home);
  free(t);
  return 0;
}

/* A client of the target acting as the user of `token`. */
static assay_client *open_as(target *t, const char *token) {
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  if (t->platform)
    o.domain = t->url;
  else
    o.home = t->home;
  o.api_key = token;
  assay_client *c = NULL;
  if (assay_client_new(&c, &o) != ASSAY_OK) fail_msg("client: %s", assay_error_last()->message);
  assert_true(t->nopened < (int)(sizeof t->opened / sizeof t->opened[0]));
  t->opened[t->nopened++] = c;
  return c;
}

/* A value parsed from printf-formatted JSON text. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static assay_value *json_of(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  assay_value *v = test_value_v(fmt, ap);
  va_end(ap);
  return v;
}

/* The whole answer as sorted JSON text must hold none of SECRETS. */
static void no_secret(const assay_value *v, const char *where) {
  char *text = NULL;
  assert_int_equal(assay_value_dump(&text, v, 1), ASSAY_OK);
  for (size_t i = 0; i < N_SECRETS; i++)
    if (strstr(text, SECRETS[i])) fail_msg("%s: a secret value is in the answer: %s", where, text);
  assay_string_free(text);
}

static int same_json(const assay_value *a, const assay_value *b) {
  char *x = NULL, *y = NULL;
  assert_int_equal(assay_value_dump(&x, a, 1), ASSAY_OK);
  assert_int_equal(assay_value_dump(&y, b, 1), ASSAY_OK);
  int same = strcmp(x, y) == 0;
  if (!same) fprintf(stderr, "differ:\n  %s\n  %s\n", x, y);
  assay_string_free(x);
  assay_string_free(y);
  return same;
}

static int is_bool(const assay_value *v, const char *key, int want) {
  const assay_value *b = assay_value_object_get(v, key);
  return assay_value_type_of(b) == ASSAY_VALUE_BOOL && !assay_value_get_bool(b) == !want;
}

static int is_null(const assay_value *v, const char *key) {
  const assay_value *n = assay_value_object_get(v, key);
  return n && assay_value_type_of(n) == ASSAY_VALUE_NULL;
}

/* Seconds since the epoch of an RFC 3339 UTC field ("2026-11-26T05:00:00Z"). */
static int64_t when(const assay_value *rec, const char *key) {
  const char *text = str(rec, key);
  if (!text) fail_msg("no %s", key);
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end) fail_msg("%s is not RFC 3339 UTC: %s", key, text);
  return (int64_t)timegm(&tm);
}

/* The element of an array of records whose `key` is `id` (NULL: none). */
static const assay_value *find_by(const assay_value *list, const char *key, const char *id) {
  for (size_t i = 0; i < assay_value_array_size(list); i++)
    if (str(assay_value_array_get(list, i), key) &&
        strcmp(str(assay_value_array_get(list, i), key), id) == 0)
      return assay_value_array_get(list, i);
  return NULL;
}

static const assay_value *variable(const assay_value *record, const char *name) {
  const assay_value *v = find_by(assay_value_object_get(record, "variables"), "name", name);
  if (!v) fail_msg("the record has no variable %s", name);
  return v;
}

/* "configured" and the comma-joined "missing" names of a credential_status. */
static void expect_status(const assay_value *record, int configured, const char *missing) {
  const assay_value *s = assay_value_object_get(record, "credential_status");
  assert_non_null(s);
  assert_true(is_bool(s, "configured", configured));
  const assay_value *m = assay_value_object_get(s, "missing");
  char got[512] = "";
  for (size_t i = 0; i < assay_value_array_size(m); i++)
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? "," : "",
             assay_value_get_string(assay_value_array_get(m, i), NULL));
  assert_string_equal(got, missing);
}

/* The variables' names, comma-joined, in order. */
static void expect_names(const assay_value *record, const char *names) {
  const assay_value *vars = assay_value_object_get(record, "variables");
  char got[512] = "";
  for (size_t i = 0; i < assay_value_array_size(vars); i++)
    snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? "," : "",
             str(assay_value_array_get(vars, i), "name"));
  assert_string_equal(got, names);
}

/* A new user `username` in workspace `ws` with `role`, and a client acting
 * as them through a fresh token there. Their id goes to user_id[64]. */
static assay_client *new_member(target *t, const char *ws, const char *username,
                                const char *role, char *user_id) {
  assay_value *v = NULL;
  assert_int_equal(assay_client_create_user(&v, t->admin, username, NULL), ASSAY_OK);
  snprintf(user_id, 64, "%s", str(v, "user_id"));
  assay_value_free(v);
  assert_int_equal(assay_client_add_workspace_member(&v, t->admin, ws, user_id, role),
                   ASSAY_OK);
  assay_value_free(v);
  assert_int_equal(assay_client_create_api_token(&v, t->admin, ws, username, user_id,
                                                 ASSAY_TOKEN_EXPIRY_DEFAULT),
                   ASSAY_OK);
  assay_client *c = open_as(t, str(v, "token"));
  assay_value_free(v);
  return c;
}

static void people_round_trip(void **state) {
  target *t = *state;
  assay_value *info, *ws_rec, *v = NULL, *list;
  assert_int_equal(assay_client_platform_info(&info, t->admin), ASSAY_OK);
  char me[64], home_ws[64];
  snprintf(me, sizeof me, "%s", str(info, "user_id"));
  snprintf(home_ws, sizeof home_ws, "%s", str(info, "workspace_id"));
  assay_value_free(info);

  /* workspaces */
  assert_int_equal(assay_client_create_workspace(&ws_rec, t->admin, "analytics"), ASSAY_OK);
  char ws[64];
  snprintf(ws, sizeof ws, "%s", str(ws_rec, "workspace_id"));
  assert_int_equal(strlen(ws), 36);
  assert_string_equal(str(ws_rec, "name"), "analytics");
  assert_string_equal(str(ws_rec, "role"), "WORKSPACE_ROLE_ADMIN");
  assert_true(when(ws_rec, "created_at") > 0);
  assert_int_equal(assay_client_get_workspace(&v, t->admin, ws), ASSAY_OK);
  assert_true(same_json(v, ws_rec));
  assay_value_free(v);
  assert_int_equal(assay_client_list_workspaces(&list, t->admin), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 2);
  assert_non_null(find_by(list, "workspace_id", home_ws));
  assert_true(same_json(find_by(list, "workspace_id", ws), ws_rec));
  assay_value_free(list);
  assay_value_free(ws_rec);
  expect(assay_client_create_workspace(&v, t->admin, "analytics"), ASSAY_ERR_CONFLICT,
         "a workspace named 'analytics' already exists");
  expect(assay_client_create_workspace(&v, t->admin, " "), ASSAY_ERR_CONFIG,
         "name must not be empty or blank");
  expect(assay_client_get_workspace(&v, t->admin, "00000000-0000-4000-8000-000000000000"),
         ASSAY_ERR_NOT_FOUND, "workspace '00000000-0000-4000-8000-000000000000' not found");

  /* users */
  assay_value *ana_rec, *bob_rec;
  assert_int_equal(assay_client_create_user(&ana_rec, t->admin, "ana", "Ana A."), ASSAY_OK);
  assert_string_equal(str(ana_rec, "username"), "ana");
  assert_string_equal(str(ana_rec, "display_name"), "Ana A.");
  assert_true(is_bool(ana_rec, "is_org_admin", 0));
  assert_true(when(ana_rec, "created_at") > 0);
  assert_int_equal(assay_client_create_user(&bob_rec, t->admin, "bob.b@corp-1", NULL),
                   ASSAY_OK);
  assert_true(is_null(bob_rec, "display_name"));
  char ana[64], bob[64];
  snprintf(ana, sizeof ana, "%s", str(ana_rec, "user_id"));
  snprintf(bob, sizeof bob, "%s", str(bob_rec, "user_id"));
  assert_int_equal(assay_client_list_users(&list, t->admin), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 3);
  assert_true(same_json(find_by(list, "user_id", ana), ana_rec));
  assert_true(same_json(find_by(list, "user_id", bob), bob_rec));
  assert_true(is_bool(find_by(list, "user_id", me), "is_org_admin", 1));
  assay_value_free(list);
  assay_value_free(ana_rec);
  assay_value_free(bob_rec);
  expect(assay_client_create_user(&v, t->admin, "ana", NULL), ASSAY_ERR_CONFLICT,
         "a user named 'ana' already exists");
  expect(assay_client_create_user(&v, t->admin, "has space", NULL), ASSAY_ERR_CONFIG,
         "username may hold only letters, digits and . _ @ -");

  /* members: aliases in, canonical names out */
  assert_int_equal(assay_client_add_workspace_member(&v, t->admin, ws, ana, "member"),
                   ASSAY_OK);
  assert_string_equal(str(v, "workspace_id"), ws);
  assert_string_equal(str(v, "user_id"), ana);
  assert_string_equal(str(v, "username"), "ana");
  assert_string_equal(str(v, "display_name"), "Ana A.");
  assert_string_equal(str(v, "role"), "WORKSPACE_ROLE_MEMBER");
  assay_value_free(v);
  assert_int_equal(
    assay_client_add_workspace_member(&v, t->admin, ws, bob, "WORKSPACE_ROLE_VIEWER"),
    ASSAY_OK);
  assert_string_equal(str(v, "role"), "WORKSPACE_ROLE_VIEWER");
  assay_value_free(v);
  expect(assay_client_add_workspace_member(&v, t->admin, ws, ana, "viewer"),
         ASSAY_ERR_CONFLICT, "is already a member of workspace");
  expect(assay_client_add_workspace_member(&v, t->admin, ws, bob, "owner"), ASSAY_ERR_CONFIG,
         "(or admin, member, viewer); got 'owner'");
  expect(assay_client_add_workspace_member(&v, t->admin, ws,
                                           "00000000-0000-4000-8000-000000000000", "member"),
         ASSAY_ERR_NOT_FOUND, NULL);
  assert_int_equal(assay_client_list_workspace_members(&list, t->admin, ws), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 3);
  assert_string_equal(str(find_by(list, "user_id", me), "role"), "WORKSPACE_ROLE_ADMIN");
  assert_string_equal(str(find_by(list, "user_id", ana), "role"), "WORKSPACE_ROLE_MEMBER");
  assert_string_equal(str(find_by(list, "user_id", bob), "role"), "WORKSPACE_ROLE_VIEWER");
  for (size_t i = 1; i < assay_value_array_size(list); i++) /* by username */
    assert_true(strcmp(str(assay_value_array_get(list, i - 1), "username"),
                       str(assay_value_array_get(list, i), "username")) < 0);
  assay_value_free(list);
  assert_int_equal(assay_client_update_workspace_member(&v, t->admin, ws, bob, "admin"),
                   ASSAY_OK);
  assert_string_equal(str(v, "role"), "WORKSPACE_ROLE_ADMIN");
  assay_value_free(v);
  assert_int_equal(assay_client_update_workspace_member(&v, t->admin, ws, bob, "viewer"),
                   ASSAY_OK);
  assert_string_equal(str(v, "role"), "WORKSPACE_ROLE_VIEWER");
  assay_value_free(v);
  /* the creator is the workspace's only admin */
  expect(assay_client_update_workspace_member(&v, t->admin, ws, me, "member"),
         ASSAY_ERR_CONFLICT, "last WORKSPACE_ROLE_ADMIN");
  expect(assay_client_remove_workspace_member(t->admin, ws, me), ASSAY_ERR_CONFLICT,
         "last WORKSPACE_ROLE_ADMIN");

  /* a member's own client: their workspace only, no admin rights */
  assert_int_equal(assay_client_create_api_token(&v, t->admin, ws, "ana", ana,
                                                 ASSAY_TOKEN_EXPIRY_DEFAULT),
                   ASSAY_OK);
  assay_client *as_ana = open_as(t, str(v, "token"));
  assay_value_free(v);
  assert_int_equal(assay_client_list_workspaces(&list, as_ana), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 1);
  assert_string_equal(str(assay_value_array_get(list, 0), "workspace_id"), ws);
  assert_string_equal(str(assay_value_array_get(list, 0), "role"), "WORKSPACE_ROLE_MEMBER");
  assay_value_free(list);
  expect(assay_client_get_workspace(&v, as_ana, home_ws), ASSAY_ERR_NOT_FOUND, "not found");
  expect(assay_client_create_workspace(&v, as_ana, "mine"), ASSAY_ERR_PERMISSION_DENIED,
         "needs an organisation admin");
  expect(assay_client_update_workspace_member(&v, as_ana, ws, bob, "admin"),
         ASSAY_ERR_PERMISSION_DENIED, "you have WORKSPACE_ROLE_MEMBER");
  assert_int_equal(assay_client_list_workspace_members(&list, as_ana, ws), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 3);
  assay_value_free(list);

  /* removing a member revokes their token for the workspace */
  assert_int_equal(assay_client_remove_workspace_member(t->admin, ws, ana), ASSAY_OK);
  assert_int_equal(assay_client_list_workspace_members(&list, t->admin, ws), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 2);
  assert_null(find_by(list, "user_id", ana));
  assay_value_free(list);
  v = NULL;
  expect(assay_client_list_workspaces(&v, as_ana), ASSAY_ERR_AUTH, NULL);
  expect(assay_client_remove_workspace_member(t->admin, ws, ana), ASSAY_ERR_NOT_FOUND, NULL);
  assert_null(v);
}

static void token_round_trip(void **state) {
  target *t = *state;
  assay_value *v = NULL, *tok, *list;
  assert_int_equal(assay_client_create_workspace(&v, t->admin, "tokens"), ASSAY_OK);
  char ws[64], carol[64], stranger[64];
  snprintf(ws, sizeof ws, "%s", str(v, "workspace_id"));
  assay_value_free(v);
  assay_client *as_carol = new_member(t, ws, "carol", "member", carol);
  assert_int_equal(assay_client_create_user(&v, t->admin, "stranger", NULL), ASSAY_OK);
  snprintf(stranger, sizeof stranger, "%s", str(v, "user_id"));
  assay_value_free(v);

  /* the default lifetime is exactly 270 days */
  assert_int_equal(assay_client_create_api_token(&tok, t->admin, ws, "carol-default", carol,
                                                 ASSAY_TOKEN_EXPIRY_DEFAULT),
                   ASSAY_OK);
  assert_int_equal(strncmp(str(tok, "token"), "asy_", 4), 0);
  assert_string_equal(str(tok, "name"), "carol-default");
  assert_string_equal(str(tok, "user_id"), carol);
  assert_string_equal(str(tok, "workspace_id"), ws);
  assert_int_equal(when(tok, "expires_at") - when(tok, "created_at"), 270 * 86400);
  char default_id[64], default_token[256];
  snprintf(default_id, sizeof default_id, "%s", str(tok, "id"));
  snprintf(default_token, sizeof default_token, "%s", str(tok, "token"));
  assay_value_free(tok);
  /* 3650 days is the most */
  assert_int_equal(assay_client_create_api_token(&tok, t->admin, ws, "carol-long", carol, 3650),
                   ASSAY_OK);
  assert_int_equal(when(tok, "expires_at") - when(tok, "created_at"), 3650LL * 86400);
  char long_id[64], long_token[256];
  snprintf(long_id, sizeof long_id, "%s", str(tok, "id"));
  snprintf(long_token, sizeof long_token, "%s", str(tok, "token"));
  assay_value_free(tok);
  assert_int_equal(assay_client_create_api_token(&tok, t->admin, ws, "carol-day", carol, 1),
                   ASSAY_OK);
  assert_int_equal(when(tok, "expires_at") - when(tok, "created_at"), 86400);
  assay_value_free(tok);
  v = NULL;
  expect(assay_client_create_api_token(&v, t->admin, ws, "zero", carol, 0), ASSAY_ERR_CONFIG,
         "expires_in_days must be between 1 and 3650; got 0");
  expect(assay_client_create_api_token(&v, t->admin, ws, "long", carol, 3651),
         ASSAY_ERR_CONFIG, "expires_in_days must be between 1 and 3650; got 3651");
  expect(assay_client_create_api_token(&v, t->admin, ws, "outsider", stranger,
                                       ASSAY_TOKEN_EXPIRY_DEFAULT),
         ASSAY_ERR_CONFIG, "is not a member of workspace");
  expect(assay_client_create_api_token(&v, t->admin, ws, "", carol, ASSAY_TOKEN_EXPIRY_DEFAULT),
         ASSAY_ERR_CONFIG, "name must not be empty");
  assert_null(v);

  /* list with filters: never a secret */
  assert_int_equal(assay_client_list_api_tokens(&list, t->admin, ws, carol), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 4); /* new_member's, default, long, day */
  const assay_value *row = find_by(list, "id", long_id);
  assert_non_null(row);
  assert_string_equal(str(row, "name"), "carol-long");
  assert_string_equal(str(row, "user_id"), carol);
  assert_string_equal(str(row, "workspace_id"), ws);
  assert_string_equal(str(row, "status"), "active");
  assert_true(is_null(row, "revoked_at"));
  assert_int_equal(when(row, "expires_at") - when(row, "created_at"), 3650LL * 86400);
  char *text = NULL;
  assert_int_equal(assay_value_dump(&text, list, 1), ASSAY_OK);
  assert_null(strstr(text, long_token));
  assert_null(strstr(text, default_token));
  assert_null(strstr(text, "\"token\""));
  assay_string_free(text);
  assay_value_free(list);
  assert_int_equal(assay_client_list_api_tokens(&list, t->admin, ws, NULL), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 4);
  assay_value_free(list);
  assert_int_equal(assay_client_list_api_tokens(&list, t->admin, NULL, carol), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 4);
  assay_value_free(list);
  assert_int_equal(assay_client_list_api_tokens(&list, t->admin, ws, stranger), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 0);
  assay_value_free(list);
  /* carol sees her own */
  assert_int_equal(assay_client_list_api_tokens(&list, as_carol, NULL, NULL), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 4);
  assay_value_free(list);

  /* revoke: the token stops working, the list says so, revoking again is fine */
  assay_client *with_long = open_as(t, long_token);
  assert_int_equal(assay_client_platform_info(&v, with_long), ASSAY_OK);
  assert_string_equal(str(v, "user_id"), carol);
  assay_value_free(v);
  assert_int_equal(assay_client_revoke_api_token(t->admin, long_id), ASSAY_OK);
  assert_int_equal(assay_client_revoke_api_token(t->admin, long_id), ASSAY_OK);
  expect(assay_client_platform_info(&v, with_long), ASSAY_ERR_AUTH, "has been revoked");
  assert_int_equal(assay_error_last()->http_status, 401);
  assert_int_equal(assay_client_list_api_tokens(&list, t->admin, ws, carol), ASSAY_OK);
  row = find_by(list, "id", long_id);
  assert_string_equal(str(row, "status"), "revoked");
  assert_true(when(row, "revoked_at") > 0);
  assert_string_equal(str(find_by(list, "id", default_id), "status"), "active");
  assay_value_free(list);
  /* carol revokes one of her own; her other token still works */
  assert_int_equal(assay_client_revoke_api_token(as_carol, default_id), ASSAY_OK);
  assay_client *with_default = open_as(t, default_token);
  expect(assay_client_list_projects(&v, with_default), ASSAY_ERR_AUTH, "has been revoked");
  assert_int_equal(assay_client_platform_info(&v, as_carol), ASSAY_OK);
  assert_string_equal(str(v, "user_id"), carol);
  assay_value_free(v);
  expect(assay_client_revoke_api_token(t->admin, "no-such-token"), ASSAY_ERR_NOT_FOUND,
         "API token 'no-such-token' not found");
}

/* The integration tests' workspace: its id, and clients for a member
 * (dana) and a viewer (eve). */
typedef struct crew {
  char ws[64], me[64], dana[64], eve[64];
  assay_client *dana_c, *eve_c;
} crew;

static void make_crew(target *t, crew *k, const char *name) {
  assay_value *v = NULL;
  assert_int_equal(assay_client_platform_info(&v, t->admin), ASSAY_OK);
  snprintf(k->me, sizeof k->me, "%s", str(v, "user_id"));
  assay_value_free(v);
  assert_int_equal(assay_client_create_workspace(&v, t->admin, name), ASSAY_OK);
  snprintf(k->ws, sizeof k->ws, "%s", str(v, "workspace_id"));
  assay_value_free(v);
  char username[64];
  snprintf(username, sizeof username, "dana-%s", name);
  k->dana_c = new_member(t, k->ws, username, "member", k->dana);
  snprintf(username, sizeof username, "eve-%s", name);
  k->eve_c = new_member(t, k->ws, username, "viewer", k->eve);
}

/* The master key file's bytes (base64 text). */
static void read_key(const target *t, char *buf, size_t size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/secret.key", t->home);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t n = fread(buf, 1, size - 1, f);
  fclose(f);
  buf[n] = '\0';
  assert_true(n > 40);
}

static void expect_rotation(target *t, size_t resealed, char *key_id /* [32], in and out */) {
  assay_value *v = NULL;
  char before[256], after[256];
  read_key(t, before, sizeof before);
  assert_int_equal(assay_client_rotate_secret_key(&v, t->admin), ASSAY_OK);
  assert_int_equal(assay_value_object_size(v), 3);
  assert_non_null(assay_value_object_get(v, "compacted"));
  assert_int_equal(assay_value_get_int(assay_value_object_get(v, "secrets_resealed")),
                   (int64_t)resealed);
  const char *id = str(v, "key_id");
  assert_int_equal(strlen(id), 16);
  assert_int_equal(strspn(id, "0123456789abcdef"), 16);
  assert_string_not_equal(id, key_id);
  snprintf(key_id, 32, "%s", id);
  assay_value_free(v);
  read_key(t, after, sizeof after);
  assert_string_not_equal(before, after);
}

static void integration_round_trip(void **state) {
  target *t = *state;
  crew k;
  make_crew(t, &k, "integrations");
  assay_value *rec, *v = NULL, *list, *changes;
  assay_value *schema =
    json_of("[{\"name\":\"HOST\",\"sensitivity\":\"not_sensitive\",\"value\":\"https://db.x\"},"
            "{\"name\":\"WS_TOKEN\",\"sensitivity\":\"workspace\",\"value\":\"%s\"},"
            "{\"name\":\"MY_TOKEN\",\"sensitivity\":\"members\"}]",
            WS_SECRET);
  assert_int_equal(assay_client_create_integration(&rec, t->admin, k.ws, "warehouse",
                                                   "INTEGRATION_TYPE_CUSTOM", schema),
                   ASSAY_OK);
  assay_value_free(schema);
  no_secret(rec, "create");
  char id[64];
  snprintf(id, sizeof id, "%s", str(rec, "integration_id"));
  assert_int_equal(strlen(id), 36);
  assert_string_equal(str(rec, "workspace_id"), k.ws);
  assert_string_equal(str(rec, "name"), "warehouse");
  assert_string_equal(str(rec, "integration_type"), "INTEGRATION_TYPE_CUSTOM");
  assert_string_equal(str(rec, "created_by"), k.me);
  assert_int_equal(when(rec, "created_at"), when(rec, "updated_at"));
  expect_names(rec, "HOST,WS_TOKEN,MY_TOKEN");
  const assay_value *var = variable(rec, "HOST");
  assert_string_equal(str(var, "sensitivity"), "VARIABLE_SENSITIVITY_PUBLIC");
  assert_string_equal(str(var, "value"), "https://db.x");
  assert_true(is_bool(var, "is_set", 1));
  var = variable(rec, "WS_TOKEN");
  assert_string_equal(str(var, "sensitivity"), "VARIABLE_SENSITIVITY_WORKSPACE_SECRET");
  assert_null(assay_value_object_get(var, "value"));
  assert_true(is_bool(var, "is_set", 1));
  var = variable(rec, "MY_TOKEN");
  assert_string_equal(str(var, "sensitivity"), "VARIABLE_SENSITIVITY_USER_SECRET");
  assert_null(assay_value_object_get(var, "value"));
  assert_true(is_bool(var, "is_set", 0));
  expect_status(rec, 0, "MY_TOKEN");

  /* get and list: the same record, for every role */
  assert_int_equal(assay_client_get_integration(&v, t->admin, id), ASSAY_OK);
  assert_true(same_json(v, rec));
  assay_value_free(v);
  assert_int_equal(assay_client_list_integrations(&list, k.eve_c, k.ws), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 1);
  assert_true(same_json(assay_value_array_get(list, 0), rec));
  assay_value_free(list);
  assay_value_free(rec);
  schema = json_of("[]");
  expect(assay_client_create_integration(&v, t->admin, k.ws, "warehouse",
                                         "INTEGRATION_TYPE_CUSTOM", schema),
         ASSAY_ERR_CONFLICT, "warehouse");
  assay_value_free(schema);

  /* members-level credentials: status before and after, per caller */
  assert_int_equal(assay_client_get_integration(&v, k.dana_c, id), ASSAY_OK);
  expect_status(v, 0, "MY_TOKEN");
  assert_string_equal(str(variable(v, "HOST"), "value"), "https://db.x");
  assay_value_free(v);
  assay_value *creds = json_of("{\"MY_TOKEN\":\"%s\"}", MEMBER_SECRET);
  assert_int_equal(assay_client_set_integration_credentials(&v, k.dana_c, id, creds), ASSAY_OK);
  no_secret(v, "set_integration_credentials");
  assert_int_equal(assay_value_object_size(v), 2);
  assert_string_equal(str(v, "integration_id"), id);
  expect_status(v, 1, "");
  assay_value_free(v);
  expect(assay_client_set_integration_credentials(&v, k.eve_c, id, creds),
         ASSAY_ERR_PERMISSION_DENIED, "needs the WORKSPACE_ROLE_MEMBER role");
  assay_value_free(creds);
  assert_int_equal(assay_client_get_integration(&v, k.dana_c, id), ASSAY_OK);
  no_secret(v, "get by the member");
  expect_status(v, 1, "");
  assert_true(is_bool(variable(v, "MY_TOKEN"), "is_set", 1));
  assay_value_free(v);
  assert_int_equal(assay_client_get_integration(&v, k.eve_c, id), ASSAY_OK);
  expect_status(v, 0, "MY_TOKEN"); /* dana's value is hers only */
  assert_true(is_bool(variable(v, "MY_TOKEN"), "is_set", 0));
  assay_value_free(v);
  creds = json_of("{\"MY_TOKEN\":\"%s\"}", ADMIN_SECRET);
  assert_int_equal(assay_client_set_integration_credentials(&v, t->admin, id, creds), ASSAY_OK);
  expect_status(v, 1, "");
  assay_value_free(v);
  assay_value_free(creds);
  creds = json_of("{\"HOST\":\"%s\"}", BAD_SECRET);
  expect(assay_client_set_integration_credentials(&v, k.dana_c, id, creds), ASSAY_ERR_CONFIG,
         "variable HOST is VARIABLE_SENSITIVITY_PUBLIC; only members-level "
         "(VARIABLE_SENSITIVITY_USER_SECRET) variables take per-member values");
  assay_value_free(creds);
  creds = json_of("{\"NOPE\":\"%s\"}", BAD_SECRET);
  expect(assay_client_set_integration_credentials(&v, k.dana_c, id, creds), ASSAY_ERR_CONFIG,
         "integration 'warehouse' has no variable 'NOPE'; its members-level "
         "(VARIABLE_SENSITIVITY_USER_SECRET) variables are: MY_TOKEN");
  assay_value_free(creds);
  creds = json_of("{\"MY_TOKEN\":\"\"}");
  expect(assay_client_set_integration_credentials(&v, k.dana_c, id, creds), ASSAY_ERR_CONFIG,
         "the value for variable 'MY_TOKEN' (a string, or null to clear it) is empty; a secret "
         "value must not be empty");
  assay_value_free(creds);
  creds = json_of("{\"MY_TOKEN\":7}");
  expect(assay_client_set_integration_credentials(&v, k.dana_c, id, creds), ASSAY_ERR_CONFIG,
         "must be a string; got integer");
  assay_value_free(creds);
  /* the refused calls changed nothing */
  assert_int_equal(assay_client_get_integration(&v, k.dana_c, id), ASSAY_OK);
  expect_status(v, 1, "");
  assay_value_free(v);

  /* update: only admins */
  changes = json_of("{\"name\":\"mine\"}");
  expect(assay_client_update_integration(&v, k.dana_c, id, changes),
         ASSAY_ERR_PERMISSION_DENIED, "needs the WORKSPACE_ROLE_ADMIN role");
  assay_value_free(changes);
  /* add one, replace the workspace secret */
  changes = json_of("{\"variables\":["
                    "{\"name\":\"REGION\",\"sensitivity\":\"not_sensitive\",\"value\":\"eu\"},"
                    "{\"name\":\"WS_TOKEN\",\"sensitivity\":\"workspace\",\"value\":\"%s\"}]}",
                    WS_SECRET2);
  assert_int_equal(assay_client_update_integration(&v, t->admin, id, changes), ASSAY_OK);
  assay_value_free(changes);
  no_secret(v, "update");
  expect_names(v, "HOST,WS_TOKEN,MY_TOKEN,REGION");
  assert_string_equal(str(variable(v, "REGION"), "value"), "eu");
  assert_true(is_bool(variable(v, "WS_TOKEN"), "is_set", 1));
  assert_null(assay_value_object_get(variable(v, "WS_TOKEN"), "value"));
  assert_true(when(v, "updated_at") >= when(v, "created_at"));
  assay_value_free(v);
  /* dana's own value survived */
  assert_int_equal(assay_client_get_integration(&v, k.dana_c, id), ASSAY_OK);
  expect_status(v, 1, "");
  assay_value_free(v);
  /* remove, rename */
  changes = json_of("{\"remove_variables\":[\"REGION\"],\"name\":\"warehouse-2\"}");
  assert_int_equal(assay_client_update_integration(&v, t->admin, id, changes), ASSAY_OK);
  assay_value_free(changes);
  expect_names(v, "HOST,WS_TOKEN,MY_TOKEN");
  assert_string_equal(str(v, "name"), "warehouse-2");
  assay_value_free(v);
  assert_int_equal(assay_client_get_integration(&v, k.eve_c, id), ASSAY_OK);
  assert_string_equal(str(v, "name"), "warehouse-2");
  expect_names(v, "HOST,WS_TOKEN,MY_TOKEN");
  assay_value_free(v);
  /* bad updates */
  changes = json_of("{\"remove_variables\":[\"NOPE\"]}");
  expect(assay_client_update_integration(&v, t->admin, id, changes), ASSAY_ERR_CONFIG,
         "remove_variables[0]: integration 'warehouse-2' has no variable 'NOPE'; its variables "
         "are: HOST, WS_TOKEN, MY_TOKEN");
  assay_value_free(changes);
  changes = json_of("{\"variables\":["
                    "{\"name\":\"A\",\"sensitivity\":\"not_sensitive\",\"value\":\"a\"},"
                    "{\"name\":\"A\",\"sensitivity\":\"workspace\",\"value\":\"%s\"}]}",
                    BAD_SECRET);
  expect(assay_client_update_integration(&v, t->admin, id, changes), ASSAY_ERR_CONFIG,
         "variables[1]: variable 'A' appears more than once (also at variables[0])");
  assay_value_free(changes);
  changes = json_of("{\"variables\":[{\"name\":\"WS_TOKEN\",\"sensitivity\":\"workspace\","
                    "\"value\":\"\"}]}");
  expect(assay_client_update_integration(&v, t->admin, id, changes), ASSAY_ERR_CONFIG,
         "the value of variables[0] (variable 'WS_TOKEN') is empty; a secret value must not be "
         "empty");
  assay_value_free(changes);
  changes = json_of("{}");
  expect(assay_client_update_integration(&v, t->admin, id, changes), ASSAY_ERR_CONFIG,
         "nothing to update: give name, variables or remove_variables");
  assay_value_free(changes);
  assert_int_equal(assay_client_get_integration(&v, t->admin, id), ASSAY_OK);
  expect_names(v, "HOST,WS_TOKEN,MY_TOKEN");
  assay_value_free(v);

  /* rotation: the workspace secret and both members' values re-sealed */
  char key_id[32] = "";
  expect_rotation(t, 3, key_id);
  char first_id[32];
  snprintf(first_id, sizeof first_id, "%s", key_id);
  expect_rotation(t, 3, key_id);
  assert_string_not_equal(first_id, key_id);
  expect(assay_client_rotate_secret_key(&v, k.dana_c), ASSAY_ERR_PERMISSION_DENIED,
         "rotating the secret key needs an organisation admin");
  /* still readable under the new key, by the member's own client */
  assert_int_equal(assay_client_get_integration(&v, k.dana_c, id), ASSAY_OK);
  expect_status(v, 1, "");
  assert_true(is_bool(variable(v, "WS_TOKEN"), "is_set", 1));
  assay_value_free(v);
  /* null clears; one fewer value to re-seal */
  creds = json_of("{\"MY_TOKEN\":null}");
  assert_int_equal(assay_client_set_integration_credentials(&v, k.dana_c, id, creds), ASSAY_OK);
  expect_status(v, 0, "MY_TOKEN");
  assay_value_free(v);
  assay_value_free(creds);
  assert_int_equal(assay_client_get_integration(&v, k.dana_c, id), ASSAY_OK);
  assert_true(is_bool(variable(v, "MY_TOKEN"), "is_set", 0));
  assay_value_free(v);
  expect_rotation(t, 2, key_id);

  /* delete: admins only; everything goes */
  expect(assay_client_delete_integration(k.dana_c, id), ASSAY_ERR_PERMISSION_DENIED,
         "needs the WORKSPACE_ROLE_ADMIN role");
  assert_int_equal(assay_client_delete_integration(t->admin, id), ASSAY_OK);
  expect(assay_client_get_integration(&v, t->admin, id), ASSAY_ERR_NOT_FOUND,
         "not found");
  assert_int_equal(assay_error_last()->http_status, 404);
  expect(assay_client_delete_integration(t->admin, id), ASSAY_ERR_NOT_FOUND, "not found");
  assert_int_equal(assay_client_list_integrations(&list, k.dana_c, k.ws), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 0);
  assay_value_free(list);
  expect_rotation(t, 0, key_id);
}

/* An update is checked against the integration's type again. */
static void integration_update_revalidated(void **state) {
  target *t = *state;
  crew k;
  make_crew(t, &k, "typed");
  assay_value *v = NULL, *changes;
  assay_value *schema = json_of(
    "[{\"name\":\"DATABRICKS_HOST\",\"sensitivity\":\"not_sensitive\",\"value\":\"h\"},"
    "{\"name\":\"DATABRICKS_TOKEN\",\"sensitivity\":\"workspace\",\"value\":\"%s\"}]",
    WS_SECRET);
  assert_int_equal(assay_client_create_integration(&v, t->admin, k.ws, "dbx",
                                                   "INTEGRATION_TYPE_DATABRICKS", schema),
                   ASSAY_OK);
  assay_value_free(schema);
  char id[64];
  snprintf(id, sizeof id, "%s", str(v, "integration_id"));
  assay_value_free(v);
  v = NULL;
  static const struct {
    const char *changes, *fragment;
  } cases[] = {
    {"{\"remove_variables\":[\"DATABRICKS_TOKEN\"]}",
     "INTEGRATION_TYPE_DATABRICKS needs the variables DATABRICKS_HOST, DATABRICKS_TOKEN; "
     "missing: DATABRICKS_TOKEN"},
    {"{\"variables\":[{\"name\":\"DATABRICKS_TOKEN\",\"sensitivity\":\"not_sensitive\","
     "\"value\":\"" BAD_SECRET "\"}]}",
     "variable 'DATABRICKS_TOKEN' of INTEGRATION_TYPE_DATABRICKS holds a secret but was "
     "declared VARIABLE_SENSITIVITY_PUBLIC: a not-sensitive value where a secret was expected"},
    {"{\"variables\":[{\"name\":\"EXTRA\",\"sensitivity\":\"not_sensitive\",\"value\":\"x\"}]}",
     "INTEGRATION_TYPE_DATABRICKS takes only the variables DATABRICKS_HOST, DATABRICKS_TOKEN; "
     "'EXTRA' is not one of them"},
    {"{\"variables\":[{\"name\":\"DATABRICKS_HOST\",\"sensitivity\":\"not_sensitive\","
     "\"value\":\"h2\"}],\"remove_variables\":[\"DATABRICKS_HOST\"]}",
     "variable 'DATABRICKS_HOST' is both in variables and in remove_variables"},
    {"{\"name\":\"two\\nlines\"}", "name must not contain control characters"},
    {"{\"colour\":\"blue\"}", "colour"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    changes = json_of("%s", cases[i].changes);
    expect(assay_client_update_integration(&v, t->admin, id, changes), ASSAY_ERR_CONFIG,
           cases[i].fragment);
    assay_value_free(changes);
  }
  assert_null(v);
  /* nothing changed */
  assert_int_equal(assay_client_get_integration(&v, t->admin, id), ASSAY_OK);
  expect_names(v, "DATABRICKS_HOST,DATABRICKS_TOKEN");
  assert_string_equal(str(variable(v, "DATABRICKS_HOST"), "value"), "h");
  assert_string_equal(str(variable(v, "DATABRICKS_TOKEN"), "sensitivity"),
                      "VARIABLE_SENSITIVITY_WORKSPACE_SECRET");
  assay_value_free(v);
  /* a valid change of sensitivity: workspace -> members */
  changes = json_of("{\"variables\":[{\"name\":\"DATABRICKS_TOKEN\",\"sensitivity\":"
                    "\"members\"}]}");
  assert_int_equal(assay_client_update_integration(&v, t->admin, id, changes), ASSAY_OK);
  assay_value_free(changes);
  assert_string_equal(str(variable(v, "DATABRICKS_TOKEN"), "sensitivity"),
                      "VARIABLE_SENSITIVITY_USER_SECRET");
  assert_true(is_bool(variable(v, "DATABRICKS_TOKEN"), "is_set", 0));
  expect_status(v, 0, "DATABRICKS_TOKEN");
  assay_value_free(v);
  char key_id[32] = "";
  expect_rotation(t, 0, key_id); /* the workspace value went with the change */
}

/* A schema entry with one long value (`len` bytes of a secret marker). */
static assay_value *schema_with_value(const char *name, const char *sensitivity, size_t len,
                                      char fill_nul_at) {
  char *buf = malloc(len + 1);
  assert_non_null(buf);
  for (size_t i = 0; i < len; i++) buf[i] = BAD_SECRET[i % strlen(BAD_SECRET)];
  if (fill_nul_at) buf[len / 2] = '\0';
  assay_value *schema, *entry, *s;
  assert_int_equal(assay_value_new_array(&schema), ASSAY_OK);
  assert_int_equal(assay_value_new_object(&entry), ASSAY_OK);
  assert_int_equal(assay_value_new_string(&s, name, strlen(name)), ASSAY_OK);
  assert_int_equal(assay_value_object_set(entry, "name", s), ASSAY_OK);
  assert_int_equal(assay_value_new_string(&s, sensitivity, strlen(sensitivity)), ASSAY_OK);
  assert_int_equal(assay_value_object_set(entry, "sensitivity", s), ASSAY_OK);
  assert_int_equal(assay_value_new_string(&s, buf, len), ASSAY_OK);
  assert_int_equal(assay_value_object_set(entry, "value", s), ASSAY_OK);
  assert_int_equal(assay_value_array_append(schema, entry), ASSAY_OK);
  free(buf);
  return schema;
}

/* Every bad schema of the issue, through the C API: a ConfigError that
 * says what was wrong, never echoes a value, and stores nothing. */
static void integration_bad_schemas(void **state) {
  target *t = *state;
  assay_value *v = NULL, *info;
  assert_int_equal(assay_client_platform_info(&info, t->admin), ASSAY_OK);
  char ws[64];
  snprintf(ws, sizeof ws, "%s", str(info, "workspace_id"));
  assay_value_free(info);
  static const struct {
    const char *type, *schema, *fragment;
  } cases[] = {
    {"INTEGRATION_TYPE_FTP", "[]",
     "integration_type 'INTEGRATION_TYPE_FTP' is not a known integration type; expected one "
     "of: INTEGRATION_TYPE_CUSTOM, INTEGRATION_TYPE_DATABRICKS"},
    {"INTEGRATION_TYPE_CUSTOM",
     "[{\"name\":\"A\",\"sensitivity\":\"not_sensitive\",\"value\":\"a\"},"
     "{\"sensitivity\":\"workspace\",\"value\":\"" BAD_SECRET "\"}]",
     "integration_schema[1] has no name; each entry needs a name and a sensitivity"},
    {"INTEGRATION_TYPE_CUSTOM", "[{\"name\":\"A\",\"value\":\"" BAD_SECRET "\"}]",
     "integration_schema[0] (variable 'A') has no sensitivity; expected one of "
     "VARIABLE_SENSITIVITY_PUBLIC (or \"not_sensitive\"), VARIABLE_SENSITIVITY_WORKSPACE_SECRET "
     "(or \"workspace\"), VARIABLE_SENSITIVITY_USER_SECRET (or \"members\")"},
    {"INTEGRATION_TYPE_CUSTOM",
     "[{\"name\":\"A\",\"sensitivity\":\"loud\",\"value\":\"" BAD_SECRET "\"}]",
     "integration_schema[0] (variable 'A') has an unknown sensitivity 'loud'; expected one of "
     "VARIABLE_SENSITIVITY_PUBLIC"},
    {"INTEGRATION_TYPE_CUSTOM",
     "[{\"name\":\"A\",\"sensitivity\":\"not_sensitive\",\"value\":\"a\"},"
     "{\"name\":\"B\",\"sensitivity\":\"members\"},"
     "{\"name\":\"A\",\"sensitivity\":\"workspace\",\"value\":\"" BAD_SECRET "\"}]",
     "integration_schema[2]: variable 'A' appears more than once (also at "
     "integration_schema[0]); variable names must be unique"},
    {"INTEGRATION_TYPE_CUSTOM",
     "[{\"name\":\"\",\"sensitivity\":\"not_sensitive\",\"value\":\"v\"}]",
     "integration_schema[0].name must not be empty or blank"},
    {"INTEGRATION_TYPE_CUSTOM",
     "[{\"name\":\"A\\nB\",\"sensitivity\":\"not_sensitive\",\"value\":\"v\"}]",
     "integration_schema[0].name must not contain control characters"},
    {"INTEGRATION_TYPE_DATABRICKS",
     "[{\"name\":\"DATABRICKS_HOST\",\"sensitivity\":\"not_sensitive\",\"value\":\"h\"},"
     "{\"name\":\"DATABRICKS_TOKEN\",\"sensitivity\":\"not_sensitive\",\"value\":\"" BAD_SECRET
     "\"}]",
     "variable 'DATABRICKS_TOKEN' of INTEGRATION_TYPE_DATABRICKS holds a secret but was "
     "declared VARIABLE_SENSITIVITY_PUBLIC: a not-sensitive value where a secret was expected"},
    {"INTEGRATION_TYPE_CUSTOM", "[{\"name\":\"A\",\"sensitivity\":\"workspace\",\"value\":\"\"}]",
     "the value of integration_schema[0] (variable 'A') is empty; a secret value must not be "
     "empty"},
    {"INTEGRATION_TYPE_CUSTOM",
     "[{\"name\":\"A\",\"sensitivity\":\"members\",\"value\":\"" BAD_SECRET "\"}]",
     "integration_schema[0] (variable 'A') is members-level (VARIABLE_SENSITIVITY_USER_SECRET) "
     "and takes no value here"},
    {"INTEGRATION_TYPE_CUSTOM", "[{\"name\":\"A\",\"sensitivity\":\"workspace\"}]",
     "integration_schema[0] (variable 'A', VARIABLE_SENSITIVITY_WORKSPACE_SECRET) needs a "
     "value"},
    {"INTEGRATION_TYPE_CUSTOM",
     "[{\"name\":\"A\",\"sensitivity\":\"workspace\",\"value\":\"" BAD_SECRET
     "\",\"secret\":true}]",
     "integration_schema[0] has an unknown key 'secret'; an entry takes only name, sensitivity "
     "and value"},
    {"INTEGRATION_TYPE_CUSTOM", "{\"A\":\"" BAD_SECRET "\"}",
     "integration_schema must be an array of variable entries {\"name\", \"sensitivity\", "
     "\"value\"?}; got object"},
    {"INTEGRATION_TYPE_CUSTOM", "[\"" BAD_SECRET "\"]",
     "integration_schema[0] must be an object"},
    {"INTEGRATION_TYPE_DATABRICKS",
     "[{\"name\":\"DATABRICKS_HOST\",\"sensitivity\":\"not_sensitive\",\"value\":\"h\"}]",
     "INTEGRATION_TYPE_DATABRICKS needs the variables DATABRICKS_HOST, DATABRICKS_TOKEN; "
     "missing: DATABRICKS_TOKEN"},
    {"INTEGRATION_TYPE_HUGGINGFACE",
     "[{\"name\":\"HUGGINGFACE_API_TOKEN\",\"sensitivity\":\"members\"},"
     "{\"name\":\"FOO\",\"sensitivity\":\"not_sensitive\",\"value\":\"x\"}]",
     "INTEGRATION_TYPE_HUGGINGFACE takes only the variables HUGGINGFACE_API_TOKEN; 'FOO' is "
     "not one of them"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assay_value *schema = json_of("%s", cases[i].schema);
    expect(assay_client_create_integration(&v, t->admin, ws, "bad", cases[i].type, schema),
           ASSAY_ERR_CONFIG, cases[i].fragment);
    assert_int_equal(assay_error_last()->http_status, 400);
    assay_value_free(schema);
  }

  /* oversized values (public and secret): the size is named, not the value */
  const char *sens[] = {"not_sensitive", "workspace"};
  for (size_t i = 0; i < 2; i++) {
    assay_value *schema = schema_with_value("BIG", sens[i], 65537, 0);
    expect(assay_client_create_integration(&v, t->admin, ws, "bad", "INTEGRATION_TYPE_CUSTOM",
                                           schema),
           ASSAY_ERR_CONFIG,
           "the value of integration_schema[0] (variable 'BIG') is 65537 bytes; a value may be at "
           "most 65536 bytes");
    assay_value_free(schema);
  }
  /* a NUL inside a value: named plainly, nothing of the parser's internals */
  assay_value *schema = schema_with_value("NUL", "workspace", 64, 1);
  expect(assay_client_create_integration(&v, t->admin, ws, "bad", "INTEGRATION_TYPE_CUSTOM",
                                         schema),
         ASSAY_ERR_CONFIG, "NUL character");
  assert_null(strstr(assay_error_last()->message, "JSON_ALLOW_NUL"));
  assay_value_free(schema);
  /* integration names */
  static const char *const bad_names[][2] = {
    {"", "name must not be empty or blank"},
    {"two\nlines", "name must not contain control characters"},
  };
  for (size_t i = 0; i < 2; i++) {
    schema = json_of("[]");
    expect(assay_client_create_integration(&v, t->admin, ws, bad_names[i][0],
                                           "INTEGRATION_TYPE_CUSTOM", schema),
           ASSAY_ERR_CONFIG, bad_names[i][1]);
    assay_value_free(schema);
  }
  assert_null(v);
  /* nothing was stored */
  assay_value *list = NULL;
  assert_int_equal(assay_client_list_integrations(&list, t->admin, ws), ASSAY_OK);
  assert_int_equal(assay_value_array_size(list), 0);
  assay_value_free(list);

  /* the limits themselves are fine */
  schema = schema_with_value("BIG", "workspace", 65536, 0);
  assert_int_equal(assay_client_create_integration(&v, t->admin, ws, "limits",
                                                   "INTEGRATION_TYPE_CUSTOM", schema),
                   ASSAY_OK);
  assert_true(is_bool(variable(v, "BIG"), "is_set", 1));
  no_secret(v, "create with a 65536-byte secret");
  assay_value_free(v);
  assay_value_free(schema);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(project_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown(bad_inputs_are_typed, setup, teardown),
    cmocka_unit_test(options_are_checked),
    cmocka_unit_test(embedded_default_home),
    cmocka_unit_test_setup_teardown(people_and_integration_arguments, setup, teardown),
    cmocka_unit_test_setup_teardown(embedded_api_key_acts_as_its_user, setup, teardown),
    cmocka_unit_test(embedded_secret_key_file),
    cmocka_unit_test_setup_teardown(people_round_trip, setup_embedded_target, teardown_target),
    cmocka_unit_test_setup_teardown(people_round_trip, setup_http_target, teardown_target),
    cmocka_unit_test_setup_teardown(token_round_trip, setup_embedded_target, teardown_target),
    cmocka_unit_test_setup_teardown(token_round_trip, setup_http_target, teardown_target),
    cmocka_unit_test_setup_teardown(integration_round_trip, setup_embedded_target,
                                    teardown_target),
    cmocka_unit_test_setup_teardown(integration_round_trip, setup_http_target, teardown_target),
    cmocka_unit_test_setup_teardown(integration_update_revalidated, setup_embedded_target,
                                    teardown_target),
    cmocka_unit_test_setup_teardown(integration_update_revalidated, setup_http_target,
                                    teardown_target),
    cmocka_unit_test_setup_teardown(integration_bad_schemas, setup_embedded_target,
                                    teardown_target),
    cmocka_unit_test_setup_teardown(integration_bad_schemas, setup_http_target, teardown_target),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
