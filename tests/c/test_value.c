/* test_value.c — assay_value: construction, reading, iteration, parse and
 * dump, and the refusals (NaN, bad UTF-8, malformed JSON). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "assay.h"

static void build_and_read(void **state) {
  (void)state;
  assay_value *obj, *arr, *v;
  assert_int_equal(assay_value_new_object(&obj), ASSAY_OK);
  assert_int_equal(assay_value_new_int(&v, INT64_MAX), ASSAY_OK);
  assert_int_equal(assay_value_object_set(obj, "big", v), ASSAY_OK);
  assert_int_equal(assay_value_new_real(&v, 0.5), ASSAY_OK);
  assert_int_equal(assay_value_object_set(obj, "half", v), ASSAY_OK);
  assert_int_equal(assay_value_new_string(&v, "a\0b", 3), ASSAY_OK);
  assert_int_equal(assay_value_object_set(obj, "nul", v), ASSAY_OK);
  assert_int_equal(assay_value_new_array(&arr), ASSAY_OK);
  assert_int_equal(assay_value_new_bool(&v, 1), ASSAY_OK);
  assert_int_equal(assay_value_array_append(arr, v), ASSAY_OK);
  assert_int_equal(assay_value_new_null(&v), ASSAY_OK);
  assert_int_equal(assay_value_array_append(arr, v), ASSAY_OK);
  assert_int_equal(assay_value_object_set(obj, "list", arr), ASSAY_OK);

  assert_int_equal(assay_value_type_of(obj), ASSAY_VALUE_OBJECT);
  assert_int_equal(assay_value_object_size(obj), 4);
  assert_true(assay_value_get_int(assay_value_object_get(obj, "big")) == INT64_MAX);
  assert_true(assay_value_get_real(assay_value_object_get(obj, "half")) == 0.5);
  size_t len = 0;
  const char *s = assay_value_get_string(assay_value_object_get(obj, "nul"), &len);
  assert_int_equal(len, 3);
  assert_memory_equal(s, "a\0b", 3);
  const assay_value *l = assay_value_object_get(obj, "list");
  assert_int_equal(assay_value_array_size(l), 2);
  assert_true(assay_value_get_bool(assay_value_array_get(l, 0)));
  assert_int_equal(assay_value_type_of(assay_value_array_get(l, 1)), ASSAY_VALUE_NULL);
  assert_null(assay_value_array_get(l, 2));
  assert_null(assay_value_object_get(obj, "missing"));
  assert_int_equal(assay_value_type_of(NULL), ASSAY_VALUE_NULL);

  /* iteration visits every key once */
  void *it = NULL;
  const assay_value *val;
  int seen = 0;
  while (assay_value_object_next(obj, &it, &val)) seen++;
  assert_int_equal(seen, 4);

  char *text;
  assert_int_equal(assay_value_dump(&text, obj, 1), ASSAY_OK);
  assert_string_equal(text,
                      "{\"big\":9223372036854775807,\"half\":0.5,\"list\":[true,null],"
                      "\"nul\":\"a\\u0000b\"}");
  assay_value *back;
  assert_int_equal(assay_value_parse(&back, text, strlen(text)), ASSAY_OK);
  assert_true(assay_value_get_int(assay_value_object_get(back, "big")) == INT64_MAX);
  assay_string_free(text);
  assay_value_free(back);
  assay_value_free(obj);
  assay_value_free(NULL);
  assay_string_free(NULL);
}

static void refusals(void **state) {
  (void)state;
  assay_value *v = NULL;
  assert_int_equal(assay_value_new_real(&v, NAN), ASSAY_ERR_CONFIG);
  assert_non_null(strstr(assay_error_last()->message, "NaN"));
  assert_int_equal(assay_value_new_real(&v, INFINITY), ASSAY_ERR_CONFIG);
  assert_int_equal(assay_value_new_string(&v, "\xff\xfe", 2), ASSAY_ERR_CONFIG);
  assert_non_null(strstr(assay_error_last()->message, "UTF-8"));
  assert_int_equal(assay_value_parse(&v, "{\"a\": }", 7), ASSAY_ERR_CONFIG);
  assert_non_null(strstr(assay_error_last()->message, "line 1"));
  assert_int_equal(assay_value_parse(&v, "{\"a\":1,\"a\":2}", 13), ASSAY_ERR_CONFIG);
  assert_int_equal(assay_value_parse(&v, NULL, 0), ASSAY_ERR_CONFIG);

  /* setting into a non-object releases the value and fails */
  assay_value *arr, *x;
  assay_value_new_array(&arr);
  assay_value_new_int(&x, 1);
  assert_int_equal(assay_value_object_set(arr, "k", x), ASSAY_ERR_CONFIG);
  assay_value_free(arr);
}

static void scalars_parse(void **state) {
  (void)state;
  assay_value *v;
  assert_int_equal(assay_value_parse(&v, "42", 2), ASSAY_OK);
  assert_int_equal(assay_value_type_of(v), ASSAY_VALUE_INT);
  assert_true(assay_value_get_real(v) == 42.0);
  assay_value_free(v);
  assert_int_equal(assay_value_parse(&v, "\"x\"", 3), ASSAY_OK);
  assert_string_equal(assay_value_get_string(v, NULL), "x");
  assert_null(assay_value_get_string(NULL, NULL));
  assay_value *r = assay_value_ref(v);
  assay_value_free(v);
  assert_string_equal(assay_value_get_string(r, NULL), "x");
  assay_value_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(build_and_read),
    cmocka_unit_test(refusals),
    cmocka_unit_test(scalars_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
