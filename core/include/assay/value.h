/* assay/value.h — the JSON-shaped value that crosses the API.
 *
 * Configs go into the core and records come out of it as assay_value trees
 * (null, bool, 64-bit integer, double, UTF-8 string, array, object). The
 * bindings convert these to and from native dicts/lists (Python) and tables
 * (Lua) with the accessors below; nothing builds JSON by concatenating text.
 *
 * Ownership: a function that returns `assay_value **out` gives the caller one
 * reference, released with assay_value_free(). Accessors that return
 * `const assay_value *` lend a borrowed pointer that lives as long as its
 * parent. assay_value_object_set() and assay_value_array_append() take over
 * the reference of the value passed in (also on failure). */
#ifndef ASSAY_VALUE_H
#define ASSAY_VALUE_H

#include "common.h"

ASSAY_BEGIN_DECLS

typedef struct assay_value assay_value;

typedef enum assay_value_type {
  ASSAY_VALUE_NULL = 0,
  ASSAY_VALUE_BOOL,
  ASSAY_VALUE_INT,
  ASSAY_VALUE_REAL,
  ASSAY_VALUE_STRING,
  ASSAY_VALUE_ARRAY,
  ASSAY_VALUE_OBJECT
} assay_value_type;

/* --- construction (each returns ASSAY_OK or ASSAY_ERR_*) --------------- */
ASSAY_API int assay_value_new_null(assay_value **out);
ASSAY_API int assay_value_new_bool(assay_value **out, int b);
ASSAY_API int assay_value_new_int(assay_value **out, int64_t i);
/* NaN and infinities are refused (JSON cannot carry them): ASSAY_ERR_CONFIG. */
ASSAY_API int assay_value_new_real(assay_value **out, double d);
/* `s` must be valid UTF-8 of `len` bytes (may contain NUL): else ASSAY_ERR_CONFIG. */
ASSAY_API int assay_value_new_string(assay_value **out, const char *s, size_t len);
ASSAY_API int assay_value_new_array(assay_value **out);
ASSAY_API int assay_value_new_object(assay_value **out);

/* Steal `val`'s reference into `obj[key]` (replacing any previous value). */
ASSAY_API int assay_value_object_set(assay_value *obj, const char *key, assay_value *val);
/* Steal `val`'s reference onto the end of `arr`. */
ASSAY_API int assay_value_array_append(assay_value *arr, assay_value *val);

/* Parse JSON text. Bad text is ASSAY_ERR_CONFIG with line and column. */
ASSAY_API int assay_value_parse(assay_value **out, const char *text, size_t len);
/* Serialise as compact JSON (keys sorted when `sorted` is non-zero). Free the
 * text with assay_string_free(). */
ASSAY_API int assay_value_dump(char **out, const assay_value *v, int sorted);

/* A new reference to the same value (shared, not copied). */
ASSAY_API assay_value *assay_value_ref(assay_value *v);
/* Drop one reference; NULL is accepted. */
ASSAY_API void assay_value_free(assay_value *v);
/* Free text returned by the library; NULL is accepted. */
ASSAY_API void assay_string_free(char *s);

/* --- reading (all accept NULL and then answer as for a JSON null) ------ */
ASSAY_API assay_value_type assay_value_type_of(const assay_value *v);
ASSAY_API int assay_value_get_bool(const assay_value *v);
ASSAY_API int64_t assay_value_get_int(const assay_value *v);
/* Integers are converted; anything else gives 0.0. */
ASSAY_API double assay_value_get_real(const assay_value *v);
/* The string's bytes (NUL-terminated) and, if len is not NULL, its length. */
ASSAY_API const char *assay_value_get_string(const assay_value *v, size_t *len);

ASSAY_API size_t assay_value_array_size(const assay_value *v);
ASSAY_API const assay_value *assay_value_array_get(const assay_value *v, size_t i);

ASSAY_API size_t assay_value_object_size(const assay_value *v);
ASSAY_API const assay_value *assay_value_object_get(const assay_value *v, const char *key);
/* Iterate an object: start with *iter = NULL; each call returns the next key
 * (and its value in *val) or NULL at the end. Do not modify the object while
 * iterating. */
ASSAY_API const char *assay_value_object_next(const assay_value *obj, void **iter,
                                              const assay_value **val);

ASSAY_END_DECLS

#endif
