/* engine/frame.c — frames: type names, freeing, column lookup, concatenation
 * with type widening and dictionary merging, and frames built from JSON
 * tables. The columnar file is in acol.c, the profile in profile.c, the CSV
 * reader/writer in csv.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/frame_impl.h"
#include "internal.h"

const char *col_type_name(col_type t) {
  switch (t) {
    case COL_INT64: return "int64";
    case COL_FLOAT64: return "float64";
    case COL_BOOL: return "bool";
    case COL_STRING: return "string";
    case COL_TIMESTAMP: return "timestamp";
  }
  return "unknown";
}

void frame_free(frame *f) {
  if (!f) return;
  for (int i = 0; i < f->ncols; i++) fx_column_clear(&f->cols[i]);
  free(f->cols);
  if (f->map) munmap(f->map, f->map_len);
  free(f->data);
  free(f);
}

const column *frame_col(const frame *f, const char *name) {
  if (!f || !name) return NULL;
  for (int i = 0; i < f->ncols; i++)
    if (strcmp(f->cols[i].name, name) == 0) return &f->cols[i];
  return NULL;
}

/* --- concatenation ------------------------------------------------------------ */

/* The type two parts' columns widen to, or 0. bool < int64 < float64. */
static col_type widen(col_type a, col_type b) {
  if (a == b) return a;
  int ra = a == COL_BOOL ? 1 : a == COL_INT64 ? 2 : a == COL_FLOAT64 ? 3 : 0;
  int rb = b == COL_BOOL ? 1 : b == COL_INT64 ? 2 : b == COL_FLOAT64 ? 3 : 0;
  if (!ra || !rb) return (col_type)0;
  return ra > rb ? a : b;
}

/* Copy part column `c` (rows n) into the output column `o` at row `at`. */
static int concat_values(column *o, const column *c, int64_t n, int64_t at, strdict *dict) {
  char *dst = (char *)o->owned[1];
  if (o->type == COL_STRING) {
    int32_t *codes = (int32_t *)dst + at;
    int32_t *map = malloc((size_t)(c->dict_count ? c->dict_count : 1) * sizeof *map);
    if (!map) return assay__nomem();
    for (int64_t k = 0; k < c->dict_count; k++) {
      const char *s = c->dict_data + c->dict_offsets[k];
      size_t len = (size_t)(c->dict_offsets[k + 1] - c->dict_offsets[k]);
      int32_t code = strdict_add(dict, s, len, fx_hash(s, len));
      if (code < 0) {
        free(map);
        return assay__err(ASSAY_ERR_NOMEM, "concatenating column \"%s\": out of memory (or "
                                           "more than 2^31 distinct strings)", o->name);
      }
      map[k] = code;
    }
    const int32_t *src = c->values;
    for (int64_t i = 0; i < n; i++) codes[i] = col_valid(c, i) ? map[src[i]] : 0;
    free(map);
    return 0;
  }
  if (o->type == c->type) {
    size_t w = fx_width(o->type);
    memcpy(dst + (size_t)at * w, c->values, (size_t)n * w);
    return 0;
  }
  if (o->type == COL_INT64) { /* from bool */
    int64_t *d = (int64_t *)dst + at;
    const uint8_t *s = c->values;
    for (int64_t i = 0; i < n; i++) d[i] = s[i];
    return 0;
  }
  /* float64 from int64 or bool (null rows hold 0 either way) */
  double *d = (double *)dst + at;
  if (c->type == COL_INT64) {
    const int64_t *s = c->values;
    for (int64_t i = 0; i < n; i++) d[i] = (double)s[i];
  } else {
    const uint8_t *s = c->values;
    for (int64_t i = 0; i < n; i++) d[i] = s[i];
  }
  return 0;
}

static void bits_copy(uint8_t *dst, int64_t at, const column *c, int64_t n, int all_null) {
  for (int64_t i = 0; i < n; i++) {
    int64_t j = at + i;
    if (all_null || !col_valid(c, i)) dst[j >> 3] &= (uint8_t) ~(1u << (j & 7));
  }
}

int frame_concat(frame **out, frame *const *parts, int nparts) {
  *out = NULL;
  if (nparts < 0 || (nparts > 0 && !parts))
    return assay__err(ASSAY_ERR_INTERNAL, "frame_concat: bad arguments");
  frame *f = calloc(1, sizeof *f);
  if (!f) return assay__nomem();
  if (nparts == 0) {
    *out = f;
    return 0;
  }
  const frame *first = parts[0];
  int64_t rows = 0;
  for (int p = 0; p < nparts; p++) {
    const frame *q = parts[p];
    if (q->ncols != first->ncols) {
      frame_free(f);
      return assay__err(ASSAY_ERR_DATA,
                        "part %d has %d columns but part 1 has %d; the parts must have the "
                        "same columns in the same order",
                        p + 1, q->ncols, first->ncols);
    }
    for (int k = 0; k < q->ncols; k++)
      if (strcmp(q->cols[k].name, first->cols[k].name) != 0) {
        frame_free(f);
        return assay__err(ASSAY_ERR_DATA,
                          "part %d: column %d is \"%s\" but part 1's is \"%s\"; the parts "
                          "must have the same columns in the same order",
                          p + 1, k + 1, q->cols[k].name, first->cols[k].name);
      }
    if (__builtin_add_overflow(rows, q->rows, &rows)) {
      frame_free(f);
      return assay__err(ASSAY_ERR_DATA, "too many rows to concatenate");
    }
  }
  f->rows = rows;
  f->cols = calloc((size_t)(first->ncols ? first->ncols : 1), sizeof *f->cols);
  if (!f->cols) {
    frame_free(f);
    return assay__nomem();
  }
  f->ncols = first->ncols;
  int rc = 0;
  for (int k = 0; k < f->ncols && rc == 0; k++) {
    column *o = &f->cols[k];
    o->name = strdup(first->cols[k].name);
    if (!o->name) {
      rc = assay__nomem();
      break;
    }
    /* The type: parts without rows, and parts where the column is entirely
     * null, take any type. */
    col_type t = (col_type)0;
    int tpart = 0;
    int64_t nulls = 0;
    for (int p = 0; p < nparts; p++) {
      const column *c = &parts[p]->cols[k];
      int64_t n = parts[p]->rows;
      nulls += c->validity ? c->null_count : 0;
      if (n == 0 || (c->validity && c->null_count == n)) continue;
      if (!t) {
        t = c->type;
        tpart = p;
        continue;
      }
      col_type w = widen(t, c->type);
      if (!w) {
        rc = assay__err(ASSAY_ERR_DATA,
                        "column \"%s\" is %s in part %d but %s in part %d; only bool, int64 "
                        "and float64 widen into each other",
                        o->name, col_type_name(t), tpart + 1, col_type_name(c->type), p + 1);
        break;
      }
      if (w != t) tpart = p;
      t = w;
    }
    if (rc) break;
    if (!t) t = first->cols[k].type;
    o->type = t;
    o->null_count = nulls;
    size_t bytes = fx_mul((size_t)rows, fx_width(t));
    o->owned[1] = fx_calloc(bytes);
    if (!o->owned[1]) {
      rc = assay__nomem();
      break;
    }
    o->values = o->owned[1];
    if (nulls) {
      size_t vb = ((size_t)rows + 7) / 8;
      o->owned[0] = fx_alloc(vb);
      if (!o->owned[0]) {
        rc = assay__nomem();
        break;
      }
      memset(o->owned[0], 0xff, vb);
      o->validity = o->owned[0];
    }
    strdict dict = {0};
    if (t == COL_STRING && strdict_init(&dict) != 0) {
      rc = assay__nomem();
      break;
    }
    int64_t at = 0;
    for (int p = 0; p < nparts && rc == 0; p++) {
      const column *c = &parts[p]->cols[k];
      int64_t n = parts[p]->rows;
      /* an entirely null part (of any type) only brings its nulls */
      int all_null = n > 0 && c->validity && c->null_count == n;
      if (n > 0 && !all_null) rc = concat_values(o, c, n, at, &dict);
      if (rc == 0 && n > 0 && (all_null || c->validity)) bits_copy(o->owned[0], at, c, n, all_null);
      at += n;
    }
    if (t == COL_STRING) {
      if (rc == 0 && strdict_give(&dict, o) != 0) rc = assay__nomem();
      if (rc) strdict_free(&dict);
    }
  }
  if (rc) {
    frame_free(f);
    return rc;
  }
  *out = f;
  return 0;
}

/* --- frames from JSON tables ------------------------------------------------------ */

/* Kinds seen in a JSON column. */
enum { K_BOOL = 1, K_INT = 2, K_REAL = 4, K_STRING = 8 };

static int json_column(column *c, const char *name, const json_t *values, int64_t rows) {
  c->name = strdup(name);
  if (!c->name) return assay__nomem();
  int kinds = 0;
  int64_t nulls = 0;
  for (int64_t i = 0; i < rows; i++) {
    const json_t *v = json_array_get(values, (size_t)i);
    switch (json_typeof(v)) {
      case JSON_NULL: nulls++; break;
      case JSON_TRUE:
      case JSON_FALSE: kinds |= K_BOOL; break;
      case JSON_INTEGER: kinds |= K_INT; break;
      case JSON_REAL: kinds |= K_REAL; break;
      case JSON_STRING: kinds |= K_STRING; break;
      default:
        return assay__err(ASSAY_ERR_CONFIG,
                          "column \"%s\", row %lld: an %s; expected a string, number, boolean "
                          "or null",
                          name, (long long)i, json_is_object(v) ? "object" : "array");
    }
    if ((kinds & K_STRING) && (kinds & ~K_STRING))
      return assay__err(ASSAY_ERR_CONFIG,
                        "column \"%s\" mixes strings with numbers or booleans (row %lld); a "
                        "column holds strings, or numbers and booleans",
                        name, (long long)i);
  }
  col_type t = kinds & K_STRING ? COL_STRING
               : kinds & K_REAL ? COL_FLOAT64
               : kinds & K_INT  ? COL_INT64
               : kinds & K_BOOL ? COL_BOOL
                                : COL_FLOAT64; /* no values: as pandas, float64 */
  c->type = t;
  c->null_count = nulls;
  c->owned[1] = fx_calloc(fx_mul((size_t)rows, fx_width(t)));
  if (!c->owned[1]) return assay__nomem();
  c->values = c->owned[1];
  if (nulls) {
    c->owned[0] = fx_alloc(((size_t)rows + 7) / 8);
    if (!c->owned[0]) return assay__nomem();
    memset(c->owned[0], 0xff, ((size_t)rows + 7) / 8);
    c->validity = c->owned[0];
  }
  strdict dict = {0};
  if (t == COL_STRING && strdict_init(&dict) != 0) return assay__nomem();
  uint8_t *valid = c->owned[0];
  for (int64_t i = 0; i < rows; i++) {
    const json_t *v = json_array_get(values, (size_t)i);
    if (json_is_null(v)) {
      valid[i >> 3] &= (uint8_t) ~(1u << (i & 7));
      continue;
    }
    switch (t) {
      case COL_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        int32_t code = strdict_add(&dict, s, n, fx_hash(s, n));
        if (code < 0) {
          strdict_free(&dict);
          return assay__nomem();
        }
        ((int32_t *)c->owned[1])[i] = code;
        break;
      }
      case COL_FLOAT64: ((double *)c->owned[1])[i] = json_number_value(v); break;
      case COL_INT64:
        ((int64_t *)c->owned[1])[i] =
            json_is_integer(v) ? (int64_t)json_integer_value(v) : json_is_true(v);
        break;
      case COL_BOOL: ((uint8_t *)c->owned[1])[i] = json_is_true(v); break;
      case COL_TIMESTAMP: break;
    }
  }
  if (t == COL_STRING && strdict_give(&dict, c) != 0) {
    strdict_free(&dict);
    return assay__nomem();
  }
  /* json reals are finite; booleans in a float column are 0/1 */
  if (t == COL_FLOAT64)
    for (int64_t i = 0; i < rows; i++) {
      const json_t *v = json_array_get(values, (size_t)i);
      if (json_is_boolean(v)) ((double *)c->owned[1])[i] = json_is_true(v);
    }
  return 0;
}

int frame_from_json(frame **out, const json_t *table) {
  *out = NULL;
  const char *expected = "expected an object {\"name\": [values...]} or an array of "
                         "{\"name\": ..., \"values\": [...]}";
  size_t ncols;
  if (json_is_object(table)) {
    ncols = json_object_size(table);
  } else if (json_is_array(table)) {
    ncols = json_array_size(table);
  } else {
    return assay__err(ASSAY_ERR_CONFIG, "a table of columns: got %s; %s",
                      table ? "a JSON scalar" : "nothing", expected);
  }
  if (ncols > INT32_MAX) return assay__err(ASSAY_ERR_CONFIG, "too many columns");
  const char **names = calloc(ncols ? ncols : 1, sizeof *names);
  const json_t **vals = calloc(ncols ? ncols : 1, sizeof *vals);
  if (!names || !vals) {
    free(names);
    free(vals);
    return assay__nomem();
  }
  int rc = 0;
  if (json_is_object(table)) {
    size_t i = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)table, key, v) {
      names[i] = key;
      vals[i++] = v;
    }
  } else {
    for (size_t i = 0; i < ncols && rc == 0; i++) {
      const json_t *e = json_array_get(table, i);
      const json_t *name = json_object_get(e, "name");
      if (!json_is_object(e) || !json_is_string(name) || !json_object_get(e, "values")) {
        rc = assay__err(ASSAY_ERR_CONFIG, "column %zu: not an object with \"name\" (a string) "
                                          "and \"values\"; %s",
                        i, expected);
        break;
      }
      if (json_object_size(e) != 2) {
        rc = assay__err(ASSAY_ERR_CONFIG,
                        "column %zu (\"%s\"): unknown key; a column has only \"name\" and "
                        "\"values\"",
                        i, json_string_value(name));
        break;
      }
      names[i] = json_string_value(name);
      vals[i] = json_object_get(e, "values");
      if (strlen(names[i]) != json_string_length(name)) {
        rc = assay__err(ASSAY_ERR_CONFIG, "column %zu: the name holds a NUL character", i);
        break;
      }
      for (size_t j = 0; j < i; j++)
        if (strcmp(names[j], names[i]) == 0) {
          rc = assay__err(ASSAY_ERR_CONFIG, "column \"%s\" appears twice", names[i]);
          break;
        }
    }
  }
  int64_t rows = 0;
  for (size_t i = 0; i < ncols && rc == 0; i++) {
    if (!json_is_array(vals[i])) {
      rc = assay__err(ASSAY_ERR_CONFIG, "column \"%s\": the values are not an array", names[i]);
      break;
    }
    int64_t n = (int64_t)json_array_size(vals[i]);
    if (i == 0) {
      rows = n;
    } else if (n != rows) {
      rc = assay__err(ASSAY_ERR_CONFIG,
                      "columns \"%s\" (%lld values) and \"%s\" (%lld values) differ in length; "
                      "every column needs the same number of values",
                      names[0], (long long)rows, names[i], (long long)n);
    }
  }
  frame *f = NULL;
  if (rc == 0) {
    f = calloc(1, sizeof *f);
    if (f) f->cols = calloc(ncols ? ncols : 1, sizeof *f->cols);
    if (!f || !f->cols) rc = assay__nomem();
  }
  if (rc == 0) {
    f->rows = rows;
    f->ncols = (int)ncols;
    for (size_t i = 0; i < ncols && rc == 0; i++)
      rc = json_column(&f->cols[i], names[i], vals[i], rows);
  }
  free(names);
  free(vals);
  if (rc) {
    frame_free(f);
    return rc;
  }
  *out = f;
  return 0;
}
