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

#endif
