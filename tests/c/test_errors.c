/* test_errors.c — the error table (names, parents, statuses) and the
 * per-thread last-error slot. */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static void table_is_well_formed(void **state) {
  (void)state;
  size_t n = 0;
  const assay_error_info *t = assay_error_table(&n);
  assert_true(n >= 14);
  assert_string_equal(t[0].name, "Error");
  assert_null(t[0].parent);
  for (size_t i = 0; i < n; i++) {
    assert_true(t[i].code < 0);
    assert_non_null(t[i].description);
    assert_ptr_equal(assay_error_info_for(t[i].code), &t[i]);
    assert_ptr_equal(assay_error_info_by_name(t[i].name), &t[i]);
    if (i > 0) {
      /* parents precede children, so bindings can build classes in order */
      const assay_error_info *parent = assay_error_info_by_name(t[i].parent);
      assert_non_null(parent);
      assert_true(parent < &t[i]);
    }
    for (size_t j = i + 1; j < n; j++) {
      assert_int_not_equal(t[i].code, t[j].code);
      assert_string_not_equal(t[i].name, t[j].name);
    }
  }
  assert_null(assay_error_info_for(12345));
  assert_null(assay_error_info_by_name("NoSuchError"));
  assert_null(assay_error_info_by_name(NULL));
}

static void issue_names_exist(void **state) {
  (void)state;
  static const struct { int code; const char *name; const char *parent; int status; } want[] = {
    {ASSAY_ERR_CONFIG, "ConfigError", "Error", 400},
    {ASSAY_ERR_NOT_FOUND, "NotFoundError", "Error", 404},
    {ASSAY_ERR_AUTH, "AuthError", "Error", 401},
    {ASSAY_ERR_PERMISSION_DENIED, "PermissionDeniedError", "Error", 403},
    {ASSAY_ERR_CONFLICT, "ConflictError", "Error", 409},
    {ASSAY_ERR_TRANSPORT, "TransportError", "Error", 0},
    {ASSAY_ERR_TIMEOUT, "TimeoutError", "TransportError", 504},
    {ASSAY_ERR_METHOD_NOT_ALLOWED, "MethodNotAllowedError", "ConfigError", 405},
    {ASSAY_ERR_PAYLOAD_TOO_LARGE, "PayloadTooLargeError", "ConfigError", 413},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    const assay_error_info *e = assay_error_info_for(want[i].code);
    assert_non_null(e);
    assert_string_equal(e->name, want[i].name);
    assert_string_equal(e->parent, want[i].parent);
    assert_int_equal(e->http_status, want[i].status);
  }
}

static void table_as_value(void **state) {
  (void)state;
  assay_value *v = NULL;
  size_t n = 0;
  assay_error_table(&n);
  assert_int_equal(assay_error_table_value(&v), ASSAY_OK);
  assert_int_equal(assay_value_array_size(v), n);
  const assay_value *row = assay_value_array_get(v, 1);
  assert_string_equal(assay_value_get_string(assay_value_object_get(row, "name"), NULL),
                      "ConfigError");
  assert_int_equal(assay_value_get_int(assay_value_object_get(row, "code")), ASSAY_ERR_CONFIG);
  assert_int_equal(assay_value_type_of(assay_value_object_get(assay_value_array_get(v, 0),
                                                               "parent")),
                   ASSAY_VALUE_NULL);
  assay_value_free(v);
}

static void last_error_records_and_clears(void **state) {
  (void)state;
  assay_error_clear();
  assert_null(assay_error_last());
  assert_int_equal(assay__err(ASSAY_ERR_NOT_FOUND, "project '%s' not found", "x"),
                   ASSAY_ERR_NOT_FOUND);
  const assay_error *e = assay_error_last();
  assert_non_null(e);
  assert_int_equal(e->code, ASSAY_ERR_NOT_FOUND);
  assert_string_equal(e->name, "NotFoundError");
  assert_string_equal(e->message, "project 'x' not found");
  assert_int_equal(e->http_status, 404);
  /* bytes that are not UTF-8 become '?'; valid multi-byte text stays */
  assay__err(ASSAY_ERR_NOT_FOUND, "id '%s' \xc3\xa9 \xed\xa0\x80", "a\xff\xc0" "b");
  assert_string_equal(assay_error_last()->message, "id 'a??b' \xc3\xa9 ???");
  assay__err_status(ASSAY_ERR_INTERNAL, 502, "bad gateway");
  assert_int_equal(assay_error_last()->http_status, 502);
  assay_error_clear();
  assert_null(assay_error_last());
}

static void *other_thread(void *arg) {
  (void)arg;
  /* a new thread starts with no error, and its error stays its own */
  void *clean = (void *)(intptr_t)(assay_error_last() == NULL);
  assay__err(ASSAY_ERR_CONFLICT, "from another thread");
  return clean;
}

static void last_error_is_per_thread(void **state) {
  (void)state;
  assay__err(ASSAY_ERR_AUTH, "main thread");
  pthread_t t;
  void *clean = NULL;
  assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
  pthread_join(t, &clean);
  assert_true(clean != NULL);
  assert_int_equal(assay_error_last()->code, ASSAY_ERR_AUTH);
  assert_string_equal(assay_error_last()->message, "main thread");
  assay_error_clear();
}

/* A thread that recorded an error in a dlopen()ed libassay may exit after
 * the library was dlclose()d (Lua unloads modules at lua_close). */
typedef struct unload_ctx {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int stage; /* 1: error recorded, 2: library closed */
  void *lib;
} unload_ctx;

static void *record_then_wait(void *arg) {
  unload_ctx *u = arg;
  int (*new_real)(assay_value **, double) =
      (int (*)(assay_value **, double))dlsym(u->lib, "assay_value_new_real");
  assay_value *v = NULL;
  if (new_real) new_real(&v, NAN); /* records an error in this thread */
  pthread_mutex_lock(&u->lock);
  u->stage = 1;
  pthread_cond_broadcast(&u->cond);
  while (u->stage < 2) pthread_cond_wait(&u->cond, &u->lock);
  pthread_mutex_unlock(&u->lock);
  return NULL; /* exits after the dlclose */
}

static void thread_exit_after_dlclose(void **state) {
  (void)state;
  unload_ctx u = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, NULL};
  u.lib = dlopen(ASSAY_BINARY_DIR "/core/libassay.so", RTLD_NOW | RTLD_LOCAL);
  assert_non_null(u.lib);
  assert_non_null(dlsym(u.lib, "assay_value_new_real"));
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, record_then_wait, &u), 0);
  pthread_mutex_lock(&u.lock);
  while (u.stage < 1) pthread_cond_wait(&u.cond, &u.lock);
  dlclose(u.lib);
  u.stage = 2;
  pthread_cond_broadcast(&u.cond);
  pthread_mutex_unlock(&u.lock);
  pthread_join(t, NULL); /* without -z nodelete: SIGSEGV in the TLS destructor */
}

static void version_matches_header(void **state) {
  (void)state;
  int a, b, c;
  assay_version_numbers(&a, &b, &c);
  assert_int_equal(a, ASSAY_VERSION_MAJOR);
  assert_int_equal(b, ASSAY_VERSION_MINOR);
  assert_int_equal(c, ASSAY_VERSION_PATCH);
  assert_string_equal(assay_version(), ASSAY_VERSION);
  assay_version_numbers(NULL, NULL, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(table_is_well_formed),
    cmocka_unit_test(issue_names_exist),
    cmocka_unit_test(table_as_value),
    cmocka_unit_test(last_error_records_and_clears),
    cmocka_unit_test(last_error_is_per_thread),
    cmocka_unit_test(version_matches_header),
    cmocka_unit_test(thread_exit_after_dlclose),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
