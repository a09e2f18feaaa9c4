/* test_router.c — the platform and its REST router, in process: bootstrap
 * of a home, token checks, every project route, and each bad input
 * answering its documented status and typed error body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "platform/platform.h"
#include "platform/router.h"
#include "test_support.h"

typedef struct fixture {
  char *home;
  assay_platform *p;
  char token[128];
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->home = make_home();
  if (assay_platform_open(&f->p, f->home) != ASSAY_OK) return -1;
  if (read_admin_token(f->home, f->token, sizeof f->token) != 0) return -1;
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

static int send_req(fixture *f, const char *method, const char *path, const char *query,
                    const char *token, const char *body, json_t **out) {
  return router_send(f->p, method, path, query, token, body, out);
}

/* Does the file at `path` contain `needle` anywhere? */
static int file_contains(const char *path, const char *needle) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return 0;
  size_t cap = 1 << 20, n = 0, got;
  char *buf = malloc(cap);
  while ((got = fread(buf + n, 1, cap - n, fp)) > 0) {
    n += got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  fclose(fp);
  int found = memmem(buf, n, needle, strlen(needle)) != NULL;
  free(buf);
  return found;
}


static void bootstrap_writes_private_token(void **state) {
  fixture *f = *state;
  char path[4096];
  snprintf(path, sizeof path, "%s/admin.token", f->home);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(strncmp(f->token, "asy_", 4), 0);
  assert_int_equal(strlen(f->token), ASSAY_TOKEN_LEN - 1);
  /* a second open of the same home keeps the same admin and token */
  assay_platform *again;
  assert_int_equal(assay_platform_open(&again, f->home), ASSAY_OK);
  assert_string_equal(platform_admin_principal(again)->user_id,
                      platform_admin_principal(f->p)->user_id);
  assay_platform_free(again);
  char token2[128] = "";
  FILE *fp = fopen(path, "r");
  assert_non_null(fgets(token2, sizeof token2, fp));
  fclose(fp);
  token2[strcspn(token2, "\n")] = '\0';
  assert_string_equal(token2, f->token);
  /* the database is private too, and holds no token text, only its hash */
  char db[4096];
  snprintf(db, sizeof db, "%s/assay.db", f->home);
  assert_int_equal(stat(db, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(stat(f->home, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0700);
  /* with WAL, fresh rows sit in assay.db-wal: search every file of the home */
  char wal[4200];
  snprintf(wal, sizeof wal, "%s-wal", db);
  assert_int_equal(stat(wal, &st), 0);
  assert_true(st.st_size > 0);
  assert_false(file_contains(db, f->token));
  assert_false(file_contains(wal, f->token));
  /* ... while the same search does find what is stored: the token's id */
  json_t *b = NULL;
  assert_int_equal(send_req(f, "POST", "/v1/api-tokens", NULL, f->token, "{\"name\":\"probe\"}",
                            &b), 201);
  const char *id = json_string_value(json_object_get(b, "id"));
  assert_true(file_contains(db, id) || file_contains(wal, id));
  assert_false(file_contains(db, json_string_value(json_object_get(b, "token"))));
  assert_false(file_contains(wal, json_string_value(json_object_get(b, "token"))));
  json_decref(b);
}

static void health_needs_no_token(void **state) {
  fixture *f = *state;
  json_t *b;
  assert_int_equal(send_req(f, "GET", "/v1/health", NULL, NULL, NULL, &b), 200);
  assert_string_equal(json_string_value(json_object_get(b, "status")), "ok");
  json_decref(b);
}

static void tokens_are_checked(void **state) {
  fixture *f = *state;
  json_t *b;
  assert_int_equal(send_req(f, "GET", "/v1/projects", NULL, NULL, NULL, &b), 401);
  assert_string_equal(err_name(b), "AuthError");
  assert_non_null(strstr(err_message(b), "Authorization"));
  json_decref(b);
  assert_int_equal(send_req(f, "GET", "/v1/projects", NULL, "asy_nope", NULL, &b), 401);
  json_decref(b);
  char wrong[128];
  snprintf(wrong, sizeof wrong, "%s", f->token);
  wrong[10] = wrong[10] == 'A' ? 'B' : 'A';
  assert_int_equal(send_req(f, "GET", "/v1/projects", NULL, wrong, NULL, &b), 401);
  assert_string_equal(err_name(b), "AuthError");
  json_decref(b);
  assert_int_equal(send_req(f, "GET", "/v1/platform", NULL, f->token, NULL, &b), 200);
  assert_string_equal(json_string_value(json_object_get(b, "api_version")), "v1");
  assert_false(json_is_true(json_object_get(b, "embedded")));
  json_decref(b);
}

static void minted_tokens_work_expire_and_revoke(void **state) {
  fixture *f = *state;
  json_t *b;
  assert_int_equal(send_req(f, "POST", "/v1/api-tokens", NULL, f->token,
                            "{\"name\":\"ci\",\"expires_in_days\":3}", &b), 201);
  char token[128], id[64];
  snprintf(token, sizeof token, "%s", json_string_value(json_object_get(b, "token")));
  snprintf(id, sizeof id, "%s", json_string_value(json_object_get(b, "id")));
  json_decref(b);
  assert_int_equal(send_req(f, "GET", "/v1/projects", NULL, token, NULL, NULL), 200);

  /* bad token requests */
  assert_int_equal(send_req(f, "POST", "/v1/api-tokens", NULL, f->token, "{}", &b), 400);
  assert_non_null(strstr(err_message(b), "name is required"));
  json_decref(b);
  assert_int_equal(send_req(f, "POST", "/v1/api-tokens", NULL, f->token,
                            "{\"name\":\"x\",\"expires_in_days\":0}", &b), 400);
  assert_non_null(strstr(err_message(b), "between 1 and"));
  json_decref(b);
  assert_int_equal(send_req(f, "POST", "/v1/api-tokens", NULL, f->token,
                            "{\"name\":\"x\",\"user_id\":\"nobody\"}", &b), 404);
  json_decref(b);

  /* expire it, then revoke it, straight in the database */
  char db[4096], sql[256];
  snprintf(db, sizeof db, "%s/assay.db", f->home);
  sqlite3 *h;
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  snprintf(sql, sizeof sql, "UPDATE api_tokens SET expires_at = 1000 WHERE id = '%s'", id);
  assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(send_req(f, "GET", "/v1/projects", NULL, token, NULL, &b), 401);
  assert_non_null(strstr(err_message(b), "expired"));
  json_decref(b);
  snprintf(sql, sizeof sql,
           "UPDATE api_tokens SET expires_at = 0, revoked_at = 5 WHERE id = '%s'", id);
  assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(h);
  assert_int_equal(send_req(f, "GET", "/v1/projects", NULL, token, NULL, &b), 401);
  assert_non_null(strstr(err_message(b), "revoked"));
  json_decref(b);
}

/* A member who is not an organisation admin: a token may not mint a token
 * that outlives it, nor one for somebody else. */
static void member_tokens_are_bounded(void **state) {
  fixture *f = *state;
  store *s;
  char token[ASSAY_TOKEN_LEN], id[37];
  const principal *admin = platform_admin_principal(f->p);
  assert_int_equal(platform_store_acquire(f->p, &s), ASSAY_OK);
  assert_int_equal(s->ops->begin(s, 1), ASSAY_OK);
  assert_int_equal(s->ops->user_insert(s, "member-1", "member", NULL, 0, 1), ASSAY_OK);
  assert_int_equal(s->ops->member_insert(s, admin->workspace_id, "member-1",
                                         "WORKSPACE_ROLE_MEMBER"), ASSAY_OK);
  assert_int_equal(token_mint(s, "member-1", admin->workspace_id, "short",
                              assay__now() + 3 * 86400, token, id), ASSAY_OK);
  assert_int_equal(s->ops->commit(s), ASSAY_OK);
  platform_store_release(f->p, s);

  json_t *b;
  assert_int_equal(send_req(f, "POST", "/v1/api-tokens", NULL, token,
                            "{\"name\":\"long\",\"expires_in_days\":3650}", &b), 403);
  assert_string_equal(err_name(b), "PermissionDeniedError");
  assert_non_null(strstr(err_message(b), "outlive"));
  json_decref(b);
  assert_int_equal(send_req(f, "POST", "/v1/api-tokens", NULL, token,
                            "{\"name\":\"shorter\",\"expires_in_days\":2}", &b), 201);
  json_decref(b);
  char other[256];
  snprintf(other, sizeof other, "{\"name\":\"x\",\"expires_in_days\":1,\"user_id\":\"%s\"}",
           admin->user_id);
  assert_int_equal(send_req(f, "POST", "/v1/api-tokens", NULL, token, other, &b), 403);
  json_decref(b);
  /* the organisation admin is not bounded */
  assert_int_equal(send_req(f, "POST", "/v1/api-tokens", NULL, f->token,
                            "{\"name\":\"long\",\"expires_in_days\":3650}", &b), 201);
  json_decref(b);
}

static void projects_crud(void **state) {
  fixture *f = *state;
  json_t *b;
  assert_int_equal(send_req(f, "POST", "/v1/projects", NULL, f->token,
                            "{\"name\":\"Fraud\",\"description\":\"card fraud\","
                            "\"model_task\":\"MODEL_TASK_BINARY_CLASSIFICATION\","
                            "\"use_case\":\"payments\",\"run_time_info\":{\"random_seed\":3}}",
                            &b), 201);
  char id[64];
  snprintf(id, sizeof id, "%s", json_string_value(json_object_get(b, "project_id")));
  assert_string_equal(json_string_value(json_object_get(b, "general_access_role")),
                      "ACTOR_ROLE_NONE");
  assert_string_equal(json_string_value(json_object_get(b, "owner_id")),
                      platform_admin_principal(f->p)->user_id);
  assert_null(json_object_get(b, "created_at_secs"));
  json_decref(b);

  char path[128];
  snprintf(path, sizeof path, "/v1/projects/%s", id);
  assert_int_equal(send_req(f, "GET", path, NULL, f->token, NULL, &b), 200);
  assert_string_equal(json_string_value(json_object_get(b, "use_case")), "payments");
  assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "run_time_info"),
                                                      "random_seed")), 3);
  assert_true(json_is_null(json_object_get(b, "profiling_config")));
  json_decref(b);

  assert_int_equal(send_req(f, "GET", "/v1/projects", NULL, f->token, NULL, &b), 200);
  assert_int_equal(json_array_size(json_object_get(b, "projects")), 1);
  json_decref(b);

  assert_int_equal(send_req(f, "DELETE", path, "force=maybe", f->token, NULL, &b), 400);
  json_decref(b);
  assert_int_equal(send_req(f, "DELETE", path, NULL, f->token, NULL, &b), 204);
  assert_null(b);
  assert_int_equal(send_req(f, "GET", path, NULL, f->token, NULL, &b), 404);
  assert_string_equal(err_name(b), "NotFoundError");
  json_decref(b);
  assert_int_equal(send_req(f, "DELETE", path, "force=true", f->token, NULL, &b), 404);
  json_decref(b);
}

static void expect_error(fixture *f, const char *method, const char *path, const char *body,
                         int status, const char *name, const char *fragment) {
  json_t *b = NULL;
  int got = send_req(f, method, path, NULL, f->token, body, &b);
  if (got != status || strcmp(err_name(b) ? err_name(b) : "", name) != 0 ||
      (fragment && !strstr(err_message(b), fragment)))
    fail_msg("%s %s %s: got %d %s '%s'; expected %d %s containing '%s'", method, path,
             body ? body : "", got, err_name(b), err_message(b), status, name,
             fragment ? fragment : "");
  json_t *e = json_object_get(b, "error");
  assert_int_equal(json_integer_value(json_object_get(e, "status")), status);
  assert_int_equal(json_integer_value(json_object_get(e, "code")),
                   assay_error_info_by_name(name)->code);
  json_decref(b);
}

#define P(fields) "{\"name\":\"n\",\"description\":\"d\",\"model_task\":\"MODEL_TASK_REGRESSION\"" fields "}"

static void bad_inputs(void **state) {
  fixture *f = *state;
  expect_error(f, "POST", "/v1/projects",
               "{\"name\":\"n\",\"description\":\"d\",\"model_task\":\"MODEL_TASK_GUESSING\"}",
               400, "ConfigError", "MODEL_TASK_BINARY_CLASSIFICATION");
  expect_error(f, "POST", "/v1/projects", "{\"description\":\"d\",\"model_task\":\"MODEL_TASK_RANKING\"}",
               400, "ConfigError", "name is required");
  expect_error(f, "POST", "/v1/projects", P(",\"name\":5"), 400, "ConfigError", NULL);
  expect_error(f, "POST", "/v1/projects",
               "{\"name\":5,\"description\":\"d\",\"model_task\":\"MODEL_TASK_RANKING\"}", 400,
               "ConfigError", "name must be a string; got integer");
  expect_error(f, "POST", "/v1/projects",
               "{\"name\":\"  \",\"description\":\"d\",\"model_task\":\"MODEL_TASK_RANKING\"}",
               400, "ConfigError", "must not be empty");
  expect_error(f, "POST", "/v1/projects",
               "{\"name\":\"a\\r\\nb\",\"description\":\"d\",\"model_task\":\"MODEL_TASK_RANKING\"}",
               400, "ConfigError", "control characters");
  expect_error(f, "POST", "/v1/projects",
               "{\"name\":\"\\n\",\"description\":\"d\",\"model_task\":\"MODEL_TASK_RANKING\"}",
               400, "ConfigError", "control characters");
  expect_error(f, "POST", "/v1/projects", P(",\"colour\":\"red\""), 400, "ConfigError",
               "unknown field 'colour'");
  expect_error(f, "POST", "/v1/projects", P(",\"profiling_config\":\"x\""), 400, "ConfigError",
               "profiling_config must be an object");
  expect_error(f, "POST", "/v1/projects", P(",\"general_access_role\":\"ROOT\""), 400,
               "ConfigError", "ACTOR_ROLE_NONE");
  expect_error(f, "POST", "/v1/projects", "{\"name\": ", 400, "ConfigError", "not valid JSON");
  expect_error(f, "POST", "/v1/projects", "[1,2]", 400, "ConfigError", "JSON object");
  expect_error(f, "GET", "/v1/nothing", NULL, 404, "NotFoundError", "no route");
  expect_error(f, "GET", "/v2/projects", NULL, 404, "NotFoundError", NULL);
  expect_error(f, "GET", "/v1/projects/a%2Fb", NULL, 404, "NotFoundError", NULL);
  expect_error(f, "GET", "/v1/projects/%zz", NULL, 404, "NotFoundError", NULL);
  /* ids and paths that are not UTF-8 still get a JSON error body */
  expect_error(f, "GET", "/v1/projects/%FF%FE", NULL, 404, "NotFoundError", "not found");
  expect_error(f, "GET", "/v1/\xff\xc0", NULL, 404, "NotFoundError", "no route");
  expect_error(f, "PUT", "/v1/projects", NULL, 405, "MethodNotAllowedError", "GET, POST");
  expect_error(f, "PATCH", "/v1/health", NULL, 405, "MethodNotAllowedError", NULL);

  /* a duplicate name is a conflict */
  json_t *b;
  assert_int_equal(send_req(f, "POST", "/v1/projects", NULL, f->token, P(""), &b), 201);
  json_decref(b);
  expect_error(f, "POST", "/v1/projects", P(""), 409, "ConflictError", "already exists");

  /* 405 carries the Allow list */
  router_request req = {"PUT", "/v1/projects", NULL, f->token, NULL, NULL, 0, 0};
  router_response r;
  router_handle(f->p, &req, &r);
  assert_string_equal(r.allow, "GET, POST");
  router_response_clear(&r);
}

static void oversized_body(void **state) {
  fixture *f = *state;
  size_t n = platform_max_body(f->p) + 1;
  char *big = malloc(n + 1);
  memset(big, ' ', n);
  big[n] = '\0';
  expect_error(f, "POST", "/v1/projects", big, 413, "PayloadTooLargeError", "limit");
  free(big);
}

/* Several processes opening one fresh home at once: exactly one bootstraps,
 * all of them work, nothing is lost. */
static void concurrent_first_open(void **state) {
  (void)state;
  char *home = make_home();
  enum { N = 5, EACH = 10 };
  pid_t pids[N];
  for (int i = 0; i < N; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0) {
      assay_platform *p;
      if (assay_platform_open(&p, home) != ASSAY_OK) _exit(10);
      int bad = 0;
      for (int k = 0; k < EACH; k++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"name\":\"p%d-%d\",\"description\":\"\",\"model_task\":"
                 "\"MODEL_TASK_REGRESSION\"}", i, k);
        router_request req = {"POST", "/v1/projects", NULL, NULL, platform_admin_principal(p),
                              body, strlen(body), 0};
        router_response r;
        router_handle(p, &req, &r);
        if (r.status != 201) bad++;
        router_response_clear(&r);
      }
      assay_platform_free(p);
      _exit(bad ? 11 : 0);
    }
  }
  for (int i = 0; i < N; i++) {
    int status = 0;
    waitpid(pids[i], &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  char db[4096];
  snprintf(db, sizeof db, "%s/assay.db", home);
  sqlite3 *h;
  assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
  sqlite3_stmt *st;
  sqlite3_prepare_v2(h, "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM projects),"
                        " (SELECT count(DISTINCT workspace_id) FROM projects)", -1, &st, NULL);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 1);
  assert_int_equal(sqlite3_column_int(st, 1), N * EACH);
  assert_int_equal(sqlite3_column_int(st, 2), 1);
  sqlite3_finalize(st);
  sqlite3_close(h);
  rm_home(home);
}

static void routes_are_unique(void **state) {
  (void)state;
  size_t n = 0;
  const router_route *r = router_routes(&n);
  assert_true(n >= 7);
  for (size_t i = 0; i < n; i++)
    for (size_t j = i + 1; j < n; j++)
      assert_false(!strcmp(r[i].method, r[j].method) && !strcmp(r[i].pattern, r[j].pattern));
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(bootstrap_writes_private_token, setup, teardown),
    cmocka_unit_test_setup_teardown(health_needs_no_token, setup, teardown),
    cmocka_unit_test_setup_teardown(tokens_are_checked, setup, teardown),
    cmocka_unit_test_setup_teardown(minted_tokens_work_expire_and_revoke, setup, teardown),
    cmocka_unit_test_setup_teardown(member_tokens_are_bounded, setup, teardown),
    cmocka_unit_test_setup_teardown(projects_crud, setup, teardown),
    cmocka_unit_test_setup_teardown(bad_inputs, setup, teardown),
    cmocka_unit_test_setup_teardown(oversized_body, setup, teardown),
    cmocka_unit_test(concurrent_first_open),
    cmocka_unit_test(routes_are_unique),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
