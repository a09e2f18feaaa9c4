/* test_support.h — helpers shared by the C tests: temporary homes, the
 * bootstrap admin's token of a home, and (for tests that include the
 * router's header first) requests through the router and the fields of
 * error answers. */
#ifndef ASSAY_TEST_SUPPORT_H
#define ASSAY_TEST_SUPPORT_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A fresh directory under $TMPDIR; removed (recursively) by rm_home. */
static inline char *make_home(void) {
  const char *tmp = getenv("TMPDIR");
  char *path = NULL;
  if (asprintf(&path, "%s/assay-test-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0) return NULL;
  return mkdtemp(path);
}

static inline void rm_home(char *path) {
  if (!path) return;
  char *cmd = NULL;
  if (asprintf(&cmd, "rm -rf '%s'", path) >= 0) {
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", path);
  }
  free(cmd);
  free(path);
}

/* Read <home>/admin.token into buf (without its newline); 0 on success. */
static inline int read_admin_token(const char *home, char *buf, size_t size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/admin.token", home);
  FILE *fp = fopen(path, "r");
  if (!fp) return -1;
  int ok = fgets(buf, (int)size, fp) != NULL;
  fclose(fp);
  if (!ok) return -1;
  buf[strcspn(buf, "\r\n")] = '\0';
  return buf[0] ? 0 : -1;
}

#ifdef ASSAY_ROUTER_H
/* Send one request through the router as an HTTP caller with `token` (may
 * be NULL); returns the status, and the body in *out (caller decrefs). */
static inline int router_send(assay_platform *p, const char *method, const char *path,
                              const char *query, const char *token, const char *body,
                              json_t **out) {
  router_request req = {method, path, query, token, NULL, body, body ? strlen(body) : 0, 0};
  router_response r;
  router_handle(p, &req, &r);
  int status = r.status;
  if (out) *out = json_incref(r.body);
  router_response_clear(&r);
  return status;
}

static inline const char *err_name(json_t *b) {
  return json_string_value(json_object_get(json_object_get(b, "error"), "name"));
}
static inline const char *err_message(json_t *b) {
  return json_string_value(json_object_get(json_object_get(b, "error"), "message"));
}
#endif

/* printf-formatted text (caller frees); the test binary aborts when out
 * of memory. */
static inline char *test_format_v(const char *fmt, va_list ap) {
  char *text = NULL;
  if (vasprintf(&text, fmt, ap) < 0) abort();
  return text;
}

#ifdef ASSAY_VALUE_H
/* A value parsed from printf-formatted JSON text (tests build configs and
 * bodies this way); text that does not parse fails the test binary. */
static inline assay_value *test_value_v(const char *fmt, va_list ap) {
  char *text = test_format_v(fmt, ap);
  assay_value *v = NULL;
  if (assay_value_parse(&v, text, strlen(text)) != 0) {
    fprintf(stderr, "bad test JSON: %s\n", text);
    abort();
  }
  free(text);
  return v;
}
#endif

/* --- for cmocka suites that include jansson.h (and the named headers) first --- */

#if defined(JANSSON_H) && defined(CMOCKA_H_)
/* JSON (any value) parsed from text; text that does not parse fails the
 * test. */
static inline json_t *test_json_of(const char *text) {
  json_error_t e;
  json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
  if (!j) fail_msg("bad test JSON (%s): %s", e.text, text);
  return j;
}

/* test_json_of of printf-formatted text. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static inline json_t *test_jsonf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *text = test_format_v(fmt, ap);
  va_end(ap);
  json_t *j = test_json_of(text);
  free(text);
  return j;
}

/* The test batch of `type` in a stress test document; fails the test when
 * there is none. */
static inline json_t *test_batch_of(json_t *doc, const char *type) {
  size_t i;
  json_t *b;
  json_array_foreach(json_object_get(doc, "test_batches"), i, b) {
    if (strcmp(json_string_value(json_object_get(b, "test_type")), type) == 0) return b;
  }
  fail_msg("no batch %s", type);
  return NULL;
}

/* The case of the batch `type` whose first feature is `feature` (NULL: the
 * first case with no features); fails the test when there is none. */
static inline json_t *test_case_of(json_t *doc, const char *type, const char *feature) {
  size_t i;
  json_t *tc;
  json_array_foreach(json_object_get(test_batch_of(doc, type), "test_cases"), i, tc) {
    const char *f0 = json_string_value(json_array_get(json_object_get(tc, "features"), 0));
    if ((!feature && !f0) || (feature && f0 && strcmp(f0, feature) == 0)) return tc;
  }
  fail_msg("no case %s / %s", type, feature ? feature : "(none)");
  return NULL;
}

#ifdef ASSAY_ENGINE_FRAME_H
/* A frame from a JSON table text (frame_from_json); fails the test when it
 * is not one. */
static inline frame *test_frame_of(const char *table) {
  json_t *t = test_json_of(table);
  frame *f = NULL;
  int rc = frame_from_json(&f, t);
  if (rc) fprintf(stderr, "frame_from_json: %s\n", assay_error_last()->message);
  assert_int_equal(rc, 0);
  json_decref(t);
  return f;
}
#endif

#ifdef ASSAY_CONFIG_TEST_CONFIG_H
/* The normalized test_run_config (test_config_normalize) of a run "t" of
 * model "m" on datasets "r" and "e" for `task`, with the JSON texts
 * `categories` and `suite` (the test_suite_config; NULL: {}); fails the
 * test when it does not validate. Caller decrefs. */
static inline json_t *test_config_of(const char *task, const char *categories,
                                     const char *suite) {
  char *text = NULL;
  if (asprintf(&text,
               "{\"run_name\": \"t\", \"model_id\": \"m\", \"data_info\": {\"ref_dataset_id\": "
               "\"r\", \"eval_dataset_id\": \"e\"}, \"categories\": %s, \"test_suite_config\": "
               "%s}",
               categories, suite ? suite : "{}") < 0)
    abort();
  json_t *cfg = test_json_of(text);
  free(text);
  json_t *norm = NULL;
  int rc = test_config_normalize(cfg, task, NULL, &norm);
  if (rc) fprintf(stderr, "test_config_normalize: %s\n", assay_error_last()->message);
  assert_int_equal(rc, 0);
  json_decref(cfg);
  return norm;
}
#endif

#ifdef ASSAY_ROUTER_H
/* Send `body` (stolen; may be NULL) through the router with `token` (the
 * caller called `who` in messages) and `query` (may be NULL), and expect
 * `status`, else fail the test showing the answer; the answer (caller
 * decrefs). */
static inline json_t *router_expect(assay_platform *p, int status, const char *method,
                                    const char *path, const char *query, const char *token,
                                    const char *who, json_t *body) {
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  json_t *b = NULL;
  int got = router_send(p, method, path, query, token, text, &b);
  if (got != status) {
    char *answer = b ? json_dumps(b, 0) : NULL;
    fail_msg("%s %s%s%s as %s: expected %d, got %d: %s", method, path, query ? "?" : "",
             query ? query : "", who, status, got, answer ? answer : "");
  }
  free(text);
  return b;
}

/* The error answer b (decref'd here) of `method path` is the error `name`
 * with a message holding frag1 and frag2 (each may be NULL), else fail the
 * test. */
static inline void expect_error_answer(json_t *b, const char *name, const char *frag1,
                                       const char *frag2, const char *method,
                                       const char *path) {
  const char *n = err_name(b), *m = err_message(b);
  if (!n || strcmp(n, name) != 0 || (frag1 && !strstr(m, frag1)) || (frag2 && !strstr(m, frag2)))
    fail_msg("%s %s: expected %s with '%s' and '%s'; got %s: %s", method, path, name,
             frag1 ? frag1 : "", frag2 ? frag2 : "", n ? n : "(none)", m ? m : "");
  json_decref(b);
}
#endif
#endif

#ifdef ASSAY_PLATFORM_H
/* One person of test_seed_people: the index into the suite's user and
 * token arrays, the workspace role, and whether the member belongs to the
 * other workspace. */
typedef struct test_person {
  int who;
  const char *role;
  int other;
} test_person;

/* Within a store transaction the caller opened: new workspaces "team" (id
 * into ws) and "elsewhere" (id into other_ws), and for each of the n people
 * a user "user-<who>" with the display name names[who] (id into
 * user[who]), a member of ws (other_ws for `other`) with the role, and a
 * token for that workspace valid a day (into token[who]). 0 or the
 * store's error. */
static inline int test_seed_people(store *s, int64_t now, char ws[37], char other_ws[37],
                                   const test_person *people, size_t n,
                                   const char *const *names, char (*user)[37],
                                   char (*token)[ASSAY_TOKEN_LEN]) {
  assay__uuid(ws);
  assay__uuid(other_ws);
  int rc = s->ops->workspace_insert(s, ws, "team", now);
  if (!rc) rc = s->ops->workspace_insert(s, other_ws, "elsewhere", now);
  char token_id[37];
  for (size_t i = 0; !rc && i < n; i++) {
    int who = people[i].who;
    char username[64];
    snprintf(username, sizeof username, "user-%d", who);
    assay__uuid(user[who]);
    const char *in = people[i].other ? other_ws : ws;
    rc = s->ops->user_insert(s, user[who], username, names[who], 0, now);
    if (!rc) rc = s->ops->member_insert(s, in, user[who], people[i].role);
    if (!rc) rc = token_mint(s, user[who], in, "t", now + 86400, token[who], token_id);
  }
  return rc;
}
#endif

#endif
