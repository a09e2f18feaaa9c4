/* test_openapi.c — the OpenAPI document (docs/api/openapi.json) describes
 * exactly the routes the router serves: the set of (method, path pattern)
 * in the spec equals router_routes(), every route that needs a token
 * declares bearer security (and a 401 answer) and the others declare none,
 * and the spec's error names and statuses are the core's error table's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "assay.h"
#include "platform/router.h"

#define SPEC_PATH ASSAY_SOURCE_DIR "/docs/api/openapi.json"

static const char *const http_methods[] = {"get", "put", "post", "delete",
                                           "options", "head", "patch", "trace"};

/* One operation of the spec: "POST" "/v1/projects", and whether it
 * declares bearer auth. */
typedef struct spec_op {
  char method[8];
  const char *path;
  int auth;
  json_t *op;
} spec_op;

typedef struct fixture {
  json_t *spec;
  spec_op ops[64];
  size_t n_ops;
} fixture;

/* Does a security requirement array demand the bearer token? An empty
 * array, or one with an empty alternative ({}), means no token needed. */
static int requires_bearer(const json_t *security) {
  size_t i;
  json_t *alt;
  int bearer = 0;
  if (!json_is_array(security) || json_array_size(security) == 0) return 0;
  json_array_foreach(security, i, alt) {
    if (!json_is_object(alt) || json_object_size(alt) == 0) return 0;
    if (json_object_get(alt, "bearerAuth")) bearer = 1;
  }
  return bearer;
}

static int setup(void **state) {
  static fixture fx;
  json_error_t jerr;
  const char *path;
  json_t *item, *paths, *root_security;
  size_t m;

  memset(&fx, 0, sizeof fx);
  fx.spec = json_load_file(SPEC_PATH, 0, &jerr);
  if (!fx.spec) {
    print_error("cannot load %s: %s (line %d)\n", SPEC_PATH, jerr.text, jerr.line);
    return -1;
  }
  paths = json_object_get(fx.spec, "paths");
  if (!json_is_object(paths)) {
    print_error("%s has no \"paths\" object\n", SPEC_PATH);
    return -1;
  }
  root_security = json_object_get(fx.spec, "security");
  json_object_foreach(paths, path, item) {
    for (m = 0; m < sizeof http_methods / sizeof *http_methods; m++) {
      json_t *op = json_object_get(item, http_methods[m]);
      json_t *sec;
      spec_op *so;
      size_t k;
      if (!op) continue;
      if (fx.n_ops == sizeof fx.ops / sizeof *fx.ops) {
        print_error("too many operations in the spec for this test\n");
        return -1;
      }
      so = &fx.ops[fx.n_ops++];
      for (k = 0; http_methods[m][k]; k++) so->method[k] = (char)toupper((unsigned char)http_methods[m][k]);
      so->path = path;
      so->op = op;
      sec = json_object_get(op, "security");
      so->auth = requires_bearer(sec ? sec : root_security);
    }
  }
  *state = &fx;
  return 0;
}

static int teardown(void **state) {
  fixture *fx = *state;
  json_decref(fx->spec);
  return 0;
}

static const spec_op *find_op(const fixture *fx, const char *method, const char *path) {
  size_t i;
  for (i = 0; i < fx->n_ops; i++)
    if (strcmp(fx->ops[i].method, method) == 0 && strcmp(fx->ops[i].path, path) == 0)
      return &fx->ops[i];
  return NULL;
}

/* Every route of the router is in the spec, with the same auth. */
static void test_every_route_is_documented(void **state) {
  const fixture *fx = *state;
  size_t n = 0, i, j;
  const router_route *routes = router_routes(&n);

  assert_non_null(routes);
  assert_true(n > 0);
  for (i = 0; i < n; i++) {
    const spec_op *op = find_op(fx, routes[i].method, routes[i].pattern);
    if (!op) fail_msg("route %s %s is not in %s", routes[i].method, routes[i].pattern, SPEC_PATH);
    if (op->auth != (routes[i].needs_auth != 0))
      fail_msg("%s %s: the router says needs_auth=%d, the spec says %s", routes[i].method,
               routes[i].pattern, routes[i].needs_auth,
               op->auth ? "bearerAuth" : "no security");
    for (j = 0; j < i; j++)
      if (strcmp(routes[i].method, routes[j].method) == 0 &&
          strcmp(routes[i].pattern, routes[j].pattern) == 0)
        fail_msg("route %s %s is listed twice by router_routes()", routes[i].method,
                 routes[i].pattern);
  }
}

/* Every operation of the spec is served by the router. */
static void test_every_documented_operation_is_routed(void **state) {
  const fixture *fx = *state;
  size_t n = 0, i, k;
  const router_route *routes = router_routes(&n);

  assert_true(fx->n_ops > 0);
  for (i = 0; i < fx->n_ops; i++) {
    int found = 0;
    for (k = 0; k < n && !found; k++)
      found = strcmp(routes[k].method, fx->ops[i].method) == 0 &&
              strcmp(routes[k].pattern, fx->ops[i].path) == 0;
    if (!found)
      fail_msg("the spec documents %s %s but router_routes() does not serve it", fx->ops[i].method,
               fx->ops[i].path);
  }
}

/* bearerAuth is an HTTP bearer scheme; routes that need it answer 401,
 * routes with a body answer 400 and 413. */
static void test_security_and_error_answers(void **state) {
  const fixture *fx = *state;
  json_t *scheme = json_object_get(
      json_object_get(json_object_get(fx->spec, "components"), "securitySchemes"), "bearerAuth");
  size_t i;

  assert_non_null(scheme);
  assert_string_equal(json_string_value(json_object_get(scheme, "type")), "http");
  assert_string_equal(json_string_value(json_object_get(scheme, "scheme")), "bearer");
  for (i = 0; i < fx->n_ops; i++) {
    const spec_op *op = &fx->ops[i];
    json_t *responses = json_object_get(op->op, "responses");
    if (!json_is_object(responses))
      fail_msg("%s %s has no responses", op->method, op->path);
    if (op->auth && !json_object_get(responses, "401"))
      fail_msg("%s %s needs a token but documents no 401 answer", op->method, op->path);
    if (!op->auth && json_object_get(responses, "401"))
      fail_msg("%s %s needs no token but documents a 401 answer", op->method, op->path);
    if (json_object_get(op->op, "requestBody")) {
      if (!json_object_get(responses, "400"))
        fail_msg("%s %s takes a body but documents no 400 answer", op->method, op->path);
      if (!json_object_get(responses, "413"))
        fail_msg("%s %s takes a body but documents no 413 answer", op->method, op->path);
    }
  }
}

/* The Error schema's name enum holds exactly the names of the core's error
 * table (in any order). */
static void test_error_names_match_error_table(void **state) {
  const fixture *fx = *state;
  json_t *schemas = json_object_get(json_object_get(fx->spec, "components"), "schemas");
  json_t *error = json_object_get(json_object_get(json_object_get(schemas, "Error"),
                                                  "properties"), "error");
  json_t *names = json_object_get(json_object_get(error, "properties"), "name");
  json_t *enumv = json_object_get(names, "enum"), *item;
  size_t n = 0, i, k;
  const assay_error_info *table = assay_error_table(&n);

  assert_true(json_is_array(enumv));
  for (i = 0; i < n; i++) {
    int found = 0;
    json_array_foreach(enumv, k, item) found |= json_is_string(item) &&
                                                strcmp(json_string_value(item), table[i].name) == 0;
    if (!found) fail_msg("the error table's %s is missing from Error.error.name's enum", table[i].name);
  }
  json_array_foreach(enumv, k, item) {
    if (!json_is_string(item) || !assay_error_info_by_name(json_string_value(item)))
      fail_msg("Error.error.name's enum[%zu] is not a name in the error table", k);
  }
  if (json_array_size(enumv) != n)
    fail_msg("Error.error.name's enum has %zu entries, the error table %zu rows",
             json_array_size(enumv), n);
}

/* Each error response in components.responses names an error whose HTTP
 * status in the table is the status the response pins. */
static void test_error_responses_match_error_table(void **state) {
  const fixture *fx = *state;
  json_t *responses = json_object_get(json_object_get(fx->spec, "components"), "responses");
  const char *key;
  json_t *r;
  size_t checked = 0;

  assert_true(json_is_object(responses));
  json_object_foreach(responses, key, r) {
    json_t *schema = json_object_get(
        json_object_get(json_object_get(json_object_get(r, "content"), "application/json"),
                        "schema"),
        "allOf");
    json_t *errp = json_object_get(
        json_object_get(json_object_get(json_array_get(schema, 1), "properties"), "error"),
        "properties");
    const char *name = json_string_value(json_object_get(json_object_get(errp, "name"), "const"));
    json_t *status = json_object_get(json_object_get(errp, "status"), "const");
    const assay_error_info *info;
    if (!name || !json_is_integer(status))
      fail_msg("components.responses.%s does not pin error.name and error.status", key);
    info = assay_error_info_by_name(name);
    if (!info) fail_msg("components.responses.%s names %s, not in the error table", key, name);
    if (info->http_status != (int)json_integer_value(status))
      fail_msg("components.responses.%s: %s is answered with %d, the spec says %d", key, name,
               info->http_status, (int)json_integer_value(status));
    checked++;
  }
  assert_true(checked > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_route_is_documented),
      cmocka_unit_test(test_every_documented_operation_is_routed),
      cmocka_unit_test(test_security_and_error_answers),
      cmocka_unit_test(test_error_names_match_error_table),
      cmocka_unit_test(test_error_responses_match_error_table),
  };
  return cmocka_run_group_tests_name("openapi", tests, setup, teardown);
}
