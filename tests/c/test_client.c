/* test_client.c — the public client API on the embedded platform: options
 * (as a struct and as a value), project operations, raw requests, and the
 * typed errors each bad input gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

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

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(project_round_trip, setup, teardown),
    cmocka_unit_test_setup_teardown(bad_inputs_are_typed, setup, teardown),
    cmocka_unit_test(options_are_checked),
    cmocka_unit_test(embedded_default_home),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
