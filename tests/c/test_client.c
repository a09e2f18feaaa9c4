/* test_client.c — the public client API on the embedded platform: options
 * (as a struct and as a value), project operations, raw requests, the typed
 * errors each bad input gives, and an embedded client acting as the user of
 * an api_key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

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

static void expect(int rc, int code, const char *fragment) {
  if (rc != code) fail_msg("got %d (%s); expected %d", rc,
                           assay_error_last() ? assay_error_last()->message : "-", code);
  const assay_error *e = assay_error_last();
  assert_non_null(e);
  assert_int_equal(e->code, code);
  if (fragment && !strstr(e->message, fragment))
    fail_msg("message '%s' lacks '%s'", e->message, fragment);
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
  assert_int_equal(assay_client_create_api_token(&tok, f->c, ws, "alice-cli", alice, 0),
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

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(project_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown(bad_inputs_are_typed, setup, teardown),
    cmocka_unit_test(options_are_checked),
    cmocka_unit_test(embedded_default_home),
    cmocka_unit_test_setup_teardown(people_and_integration_arguments, setup, teardown),
    cmocka_unit_test_setup_teardown(embedded_api_key_acts_as_its_user, setup, teardown),
    cmocka_unit_test(embedded_secret_key_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
