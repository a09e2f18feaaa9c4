/* value.c — assay_value: the JSON-shaped value of the public API, a thin
 * veneer over jansson's json_t (construction, reading, parse, dump). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int wrap(assay_value **out, json_t *j) {
  if (!j) return assay__nomem();
  *out = AV(j);
  return ASSAY_OK;
}

int assay_value_new_null(assay_value **out) { return wrap(out, json_null()); }
int assay_value_new_bool(assay_value **out, int b) { return wrap(out, json_boolean(b)); }
int assay_value_new_int(assay_value **out, int64_t i) { return wrap(out, json_integer(i)); }

int assay_value_new_real(assay_value **out, double d) {
  if (!isfinite(d))
    return assay__err(ASSAY_ERR_CONFIG, "a number must be finite; got %s",
                      isnan(d) ? "NaN" : (d > 0 ? "inf" : "-inf"));
  return wrap(out, json_real(d));
}

int assay_value_new_string(assay_value **out, const char *s, size_t len) {
  if (!s && len) return assay__err(ASSAY_ERR_CONFIG, "string pointer is NULL");
  json_t *j = json_stringn(s ? s : "", len);
  if (!j) return assay__err(ASSAY_ERR_CONFIG, "a string must be valid UTF-8");
  *out = AV(j);
  return ASSAY_OK;
}

int assay_value_new_array(assay_value **out) { return wrap(out, json_array()); }
int assay_value_new_object(assay_value **out) { return wrap(out, json_object()); }

int assay_value_object_set(assay_value *obj, const char *key, assay_value *val) {
  if (!json_is_object(JV(obj))) {
    json_decref(JV(val));
    return assay__err(ASSAY_ERR_CONFIG, "assay_value_object_set: target is not an object");
  }
  if (!key || !val) {
    json_decref(JV(val));
    return assay__err(ASSAY_ERR_CONFIG, "assay_value_object_set: key and value are required");
  }
  if (json_object_set_new(JV(obj), key, JV(val)) != 0)
    return assay__err(ASSAY_ERR_CONFIG, "object keys must be valid UTF-8");
  return ASSAY_OK;
}

int assay_value_array_append(assay_value *arr, assay_value *val) {
  if (!json_is_array(JV(arr)) || !val) {
    json_decref(JV(val));
    return assay__err(ASSAY_ERR_CONFIG, "assay_value_array_append: target is not an array");
  }
  if (json_array_append_new(JV(arr), JV(val)) != 0) return assay__nomem();
  return ASSAY_OK;
}

int assay_value_parse(assay_value **out, const char *text, size_t len) {
  json_error_t e;
  if (!text) return assay__err(ASSAY_ERR_CONFIG, "no JSON text given");
  json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
  if (!j)
    return assay__err(ASSAY_ERR_CONFIG, "invalid JSON at line %d, column %d: %s", e.line,
                      e.column, e.text);
  *out = AV(j);
  return ASSAY_OK;
}

int assay_value_dump(char **out, const assay_value *v, int sorted) {
  size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | (sorted ? JSON_SORT_KEYS : 0);
  char *s = json_dumps(v ? JV(v) : json_null(), flags);
  if (!s) return assay__nomem();
  *out = s;
  return ASSAY_OK;
}

assay_value *assay_value_ref(assay_value *v) { return AV(json_incref(JV(v))); }
void assay_value_free(assay_value *v) { json_decref(JV(v)); }
void assay_string_free(char *s) { free(s); }

assay_value_type assay_value_type_of(const assay_value *v) {
  switch (json_typeof(JV(v) ? JV(v) : json_null())) {
  case JSON_TRUE:
  case JSON_FALSE: return ASSAY_VALUE_BOOL;
  case JSON_INTEGER: return ASSAY_VALUE_INT;
  case JSON_REAL: return ASSAY_VALUE_REAL;
  case JSON_STRING: return ASSAY_VALUE_STRING;
  case JSON_ARRAY: return ASSAY_VALUE_ARRAY;
  case JSON_OBJECT: return ASSAY_VALUE_OBJECT;
  default: return ASSAY_VALUE_NULL;
  }
}

int assay_value_get_bool(const assay_value *v) { return json_is_true(JV(v)); }
int64_t assay_value_get_int(const assay_value *v) {
  return json_is_integer(JV(v)) ? (int64_t)json_integer_value(JV(v)) : 0;
}
double assay_value_get_real(const assay_value *v) { return json_number_value(JV(v)); }

const char *assay_value_get_string(const assay_value *v, size_t *len) {
  if (!json_is_string(JV(v))) {
    if (len) *len = 0;
    return NULL;
  }
  if (len) *len = json_string_length(JV(v));
  return json_string_value(JV(v));
}

size_t assay_value_array_size(const assay_value *v) { return json_array_size(JV(v)); }
const assay_value *assay_value_array_get(const assay_value *v, size_t i) {
  return AV(json_array_get(JV(v), i));
}
size_t assay_value_object_size(const assay_value *v) { return json_object_size(JV(v)); }
const assay_value *assay_value_object_get(const assay_value *v, const char *key) {
  return key ? AV(json_object_get(JV(v), key)) : NULL;
}

const char *assay_value_object_next(const assay_value *obj, void **iter, const assay_value **val) {
  if (!json_is_object(JV(obj)) || !iter) return NULL;
  void *it = *iter ? json_object_iter_next(JV(obj), *iter) : json_object_iter(JV(obj));
  *iter = it;
  if (!it) return NULL;
  if (val) *val = AV(json_object_iter_value(it));
  return json_object_iter_key(it);
}
