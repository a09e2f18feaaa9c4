/* errors.c — the error table (one row per assay_error_code) and the
 * per-thread last-error slot. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const assay_error_info error_table[] = {
  {ASSAY_ERR_GENERIC, "Error", NULL, 500, "Any assay error; the base of all others."},
  {ASSAY_ERR_CONFIG, "ConfigError", "Error", 400,
   "An argument, config or request body was not what was expected."},
  {ASSAY_ERR_NOT_FOUND, "NotFoundError", "Error", 404,
   "The resource or route does not exist, or is not visible to the caller."},
  {ASSAY_ERR_AUTH, "AuthError", "Error", 401,
   "The API token is missing, invalid, expired or revoked."},
  {ASSAY_ERR_PERMISSION_DENIED, "PermissionDeniedError", "Error", 403,
   "The caller's role does not allow this operation."},
  {ASSAY_ERR_CONFLICT, "ConflictError", "Error", 409,
   "The request conflicts with the current state (name taken, resource not empty)."},
  {ASSAY_ERR_TRANSPORT, "TransportError", "Error", 0,
   "The client could not reach the server or read its answer."},
  {ASSAY_ERR_TIMEOUT, "TimeoutError", "TransportError", 504,
   "The request did not complete within channel_timeout."},
  {ASSAY_ERR_UNAVAILABLE, "UnavailableError", "TransportError", 503,
   "The server is overloaded or shutting down; retry later."},
  {ASSAY_ERR_METHOD_NOT_ALLOWED, "MethodNotAllowedError", "ConfigError", 405,
   "The route exists but does not accept this HTTP method."},
  {ASSAY_ERR_PAYLOAD_TOO_LARGE, "PayloadTooLargeError", "ConfigError", 413,
   "The request body is larger than the server accepts."},
  {ASSAY_ERR_STORE, "StoreError", "Error", 500, "The platform's database failed."},
  {ASSAY_ERR_INTERNAL, "InternalError", "Error", 500,
   "A bug or broken invariant inside assay; please report it."},
  {ASSAY_ERR_NOMEM, "OutOfMemoryError", "Error", 500, "Memory could not be allocated."},
  {ASSAY_ERR_DATA, "DataError", "Error", 422,
   "Data could not be loaded or read (a loader failed, a file is malformed) or does not "
   "match its config (a named column is missing, no rows)."},
};

#define TABLE_SIZE (sizeof error_table / sizeof error_table[0])

const assay_error_info *assay_error_table(size_t *count) {
  if (count) *count = TABLE_SIZE;
  return error_table;
}

const assay_error_info *assay_error_info_for(int code) {
  for (size_t i = 0; i < TABLE_SIZE; i++)
    if (error_table[i].code == code) return &error_table[i];
  return NULL;
}

const assay_error_info *assay_error_info_by_name(const char *name) {
  if (!name) return NULL;
  for (size_t i = 0; i < TABLE_SIZE; i++)
    if (strcmp(error_table[i].name, name) == 0) return &error_table[i];
  return NULL;
}

int assay_error_table_value(assay_value **out) {
  json_t *arr = json_array();
  if (!arr) return assay__nomem();
  for (size_t i = 0; i < TABLE_SIZE; i++) {
    const assay_error_info *e = &error_table[i];
    json_t *row = json_pack("{s:i, s:s, s:s?, s:i, s:s}", "code", e->code, "name", e->name,
                            "parent", e->parent, "http_status", e->http_status,
                            "description", e->description);
    if (!row || json_array_append_new(arr, row) != 0) {
      json_decref(arr);
      return assay__nomem();
    }
  }
  *out = AV(arr);
  return ASSAY_OK;
}

/* --- per-thread last error ------------------------------------------- */

typedef struct last_error {
  assay_error pub;
  char *message;
  int set;
} last_error;

static _Thread_local last_error tls_error;

static const char nomem_message[] = "out of memory";

/* A thread that exits frees its message: a pthread key whose destructor runs
 * at thread exit, registered the first time the thread records an error. */
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static _Thread_local int tls_registered;

static void tls_release(void *p) {
  last_error *e = p;
  if (e->message && e->message != nomem_message) free(e->message);
  e->message = NULL;
  e->set = 0;
}

static void tls_make_key(void) { (void)pthread_key_create(&tls_key, tls_release); }

static void tls_register(void) {
  if (tls_registered) return;
  pthread_once(&tls_once, tls_make_key);
  if (pthread_setspecific(tls_key, &tls_error) == 0) tls_registered = 1;
}

const assay_error *assay_error_last(void) {
  return tls_error.set ? &tls_error.pub : NULL;
}

void assay_error_clear(void) {
  if (tls_error.message && tls_error.message != nomem_message) free(tls_error.message);
  memset(&tls_error, 0, sizeof tls_error);
}

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, at most U+10FFFF), or 0 if the bytes there are not one. */
static size_t utf8_seq(const unsigned char *s) {
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  size_t n;
  unsigned int cp;
  if (c >= 0xc2 && c <= 0xdf) n = 2, cp = c & 0x1fu;
  else if (c >= 0xe0 && c <= 0xef) n = 3, cp = c & 0x0fu;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, cp = c & 0x07u;
  else return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3fu);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return n;
}

/* Messages may quote what a caller sent (a path, an id): replace bytes that
 * are not UTF-8 with '?', so every message is valid text for JSON, Python
 * and Lua alike. */
static void utf8_scrub(char *text) {
  unsigned char *s = (unsigned char *)text;
  while (*s) {
    size_t n = utf8_seq(s);
    if (n == 0) *s++ = '?';
    else s += n;
  }
}

int assay__verr(int code, int http_status, const char *fmt, va_list ap) {
  const assay_error_info *info = assay_error_info_for(code);
  if (!info) info = assay_error_info_for(ASSAY_ERR_GENERIC);
  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
  if (msg) utf8_scrub(msg);
  assay_error_clear();
  tls_register();
  tls_error.set = 1;
  tls_error.message = msg ? msg : (char *)nomem_message;
  tls_error.pub.code = code;
  tls_error.pub.name = info->name;
  tls_error.pub.message = tls_error.message;
  tls_error.pub.http_status = http_status >= 0 ? http_status : info->http_status;
  return code;
}

int assay__err(int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  assay__verr(code, -1, fmt, ap);
  va_end(ap);
  return code;
}

int assay__err_status(int code, int http_status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  assay__verr(code, http_status, fmt, ap);
  va_end(ap);
  return code;
}

int assay__nomem(void) {
  assay_error_clear();
  tls_error.set = 1;
  tls_error.message = (char *)nomem_message;
  tls_error.pub.code = ASSAY_ERR_NOMEM;
  tls_error.pub.name = "OutOfMemoryError";
  tls_error.pub.message = nomem_message;
  tls_error.pub.http_status = 500;
  return ASSAY_ERR_NOMEM;
}
