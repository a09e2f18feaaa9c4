/* test_frame.c — frames: type names, frames from JSON tables (types and
 * errors), the columnar file (round trip of every type with and without
 * nulls, layout, and frame_map and frame_read refusing truncated,
 * corrupted and hostile files without crashing; frame_read refusing links,
 * FIFOs and other users' files, files shrinking while they are read, and
 * — before reading any buffer — files of another size than their header
 * needs, past the caller's limit, sparse, or with a header too large to
 * parse), concatenation (widening, dictionary merging, validity) and the schema
 * profile (null shares, exact distinct counts). */
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "assay.h"
#include "engine/frame.h"
#include "test_support.h"

/* --- helpers ---------------------------------------------------------------------------- */

static char *g_dir;

static int setup(void **state) {
  (void)state;
  g_dir = make_home();
  return g_dir ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  rm_home(g_dir);
  g_dir = NULL;
  return 0;
}

static char *path_in_dir(const char *name) {
  static char buf[8][4096];
  static int next;
  char *p = buf[next++ % 8];
  snprintf(p, 4096, "%s/%s", g_dir, name);
  return p;
}

static frame *from_json_text(const char *text) {
  json_error_t err;
  json_t *t = json_loads(text, JSON_ALLOW_NUL, &err);
  assert_non_null(t);
  frame *f = NULL;
  int rc = frame_from_json(&f, t);
  json_decref(t);
  if (rc != ASSAY_OK) fail_msg("frame_from_json: %s", assay_error_last()->message);
  return f;
}

static int from_json_rc(const char *text) {
  json_t *t = json_loads(text, JSON_ALLOW_NUL, NULL);
  assert_non_null(t);
  frame *f = NULL;
  int rc = frame_from_json(&f, t);
  json_decref(t);
  frame_free(f);
  return rc;
}

static const char *last_message(void) { return assay_error_last()->message; }

static void assert_msg_has(const char *needle) {
  const char *m = last_message();
  if (!strstr(m, needle)) fail_msg("message \"%s\" lacks \"%s\"", m, needle);
}

/* The string at row i of a string column (NUL-terminated copy, static). */
static const char *str_at(const column *c, int64_t i) {
  static char buf[4][256];
  static int next;
  char *b = buf[next++ % 4];
  int32_t code = ((const int32_t *)c->values)[i];
  int64_t a = c->dict_offsets[code], z = c->dict_offsets[code + 1];
  snprintf(b, 256, "%.*s", (int)(z - a), c->dict_data + a);
  return b;
}

static int64_t i64_at(const column *c, int64_t i) { return ((const int64_t *)c->values)[i]; }
static double f64_at(const column *c, int64_t i) { return ((const double *)c->values)[i]; }
static int bool_at(const column *c, int64_t i) { return ((const uint8_t *)c->values)[i]; }

/* Two frames hold the same table (types, nulls, values; strings by text). */
static void assert_frames_equal(const frame *a, const frame *b) {
  assert_int_equal(a->rows, b->rows);
  assert_int_equal(a->ncols, b->ncols);
  for (int k = 0; k < a->ncols; k++) {
    const column *x = &a->cols[k], *y = &b->cols[k];
    assert_string_equal(x->name, y->name);
    assert_int_equal(x->type, y->type);
    int64_t nx = x->validity ? x->null_count : 0, ny = y->validity ? y->null_count : 0;
    assert_int_equal(nx, ny);
    for (int64_t i = 0; i < a->rows; i++) {
      assert_int_equal(col_valid(x, i), col_valid(y, i));
      if (!col_valid(x, i)) continue;
      switch (x->type) {
        case COL_INT64:
        case COL_TIMESTAMP: assert_true(i64_at(x, i) == i64_at(y, i)); break;
        case COL_FLOAT64: {
          double u = f64_at(x, i), v = f64_at(y, i);
          assert_memory_equal(&u, &v, 8);
          break;
        }
        case COL_BOOL: assert_int_equal(bool_at(x, i), bool_at(y, i)); break;
        case COL_STRING: {
          int32_t cx = ((const int32_t *)x->values)[i], cy = ((const int32_t *)y->values)[i];
          int64_t lx = x->dict_offsets[cx + 1] - x->dict_offsets[cx];
          int64_t ly = y->dict_offsets[cy + 1] - y->dict_offsets[cy];
          assert_int_equal(lx, ly);
          assert_memory_equal(x->dict_data + x->dict_offsets[cx], y->dict_data + y->dict_offsets[cy],
                              (size_t)lx);
          break;
        }
      }
    }
  }
}

static unsigned char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)n + 1);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  *len = (size_t)n;
  return b;
}

static void spit(const char *path, const void *data, size_t len) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  if (len) assert_int_equal(fwrite(data, 1, len, fp), len);
  fclose(fp);
}

/* A frame of every type, with nulls in every column. */
static const char *EVERY_TYPE =
    "{\"i\": [1, null, -9223372036854775807, 9223372036854775807, 0],"
    " \"f\": [1.5, -0.0, null, 1e300, -2.5e-310],"
    " \"b\": [true, false, null, true, false],"
    " \"s\": [\"a\", \"\", null, \"h\\u00e9llo \\u2603\", \"a\"],"
    " \"n\": [null, null, null, null, null]}";

/* --- type names and JSON tables ------------------------------------------------------- */

static void type_names(void **state) {
  (void)state;
  assert_string_equal(col_type_name(COL_INT64), "int64");
  assert_string_equal(col_type_name(COL_FLOAT64), "float64");
  assert_string_equal(col_type_name(COL_BOOL), "bool");
  assert_string_equal(col_type_name(COL_STRING), "string");
  assert_string_equal(col_type_name(COL_TIMESTAMP), "timestamp");
  assert_null(frame_col(NULL, "x"));
  frame_free(NULL);
}

static void json_tables(void **state) {
  (void)state;
  frame *f = from_json_text(EVERY_TYPE);
  assert_int_equal(f->rows, 5);
  assert_int_equal(f->ncols, 5);
  assert_string_equal(f->cols[0].name, "i");
  assert_string_equal(f->cols[4].name, "n");
  const column *i = frame_col(f, "i"), *fl = frame_col(f, "f"), *b = frame_col(f, "b");
  const column *s = frame_col(f, "s"), *n = frame_col(f, "n");
  assert_null(frame_col(f, "missing"));
  assert_int_equal(i->type, COL_INT64);
  assert_int_equal(i->null_count, 1);
  assert_false(col_valid(i, 1));
  assert_true(i64_at(i, 2) == -INT64_MAX);
  assert_true(i64_at(i, 1) == 0); /* a null's value is 0 */
  assert_int_equal(fl->type, COL_FLOAT64);
  assert_true(signbit(f64_at(fl, 1)));
  assert_true(f64_at(fl, 4) == -2.5e-310);
  assert_int_equal(b->type, COL_BOOL);
  assert_int_equal(bool_at(b, 0), 1);
  assert_int_equal(s->type, COL_STRING);
  assert_int_equal(s->dict_count, 3); /* "a", "", "héllo ☃": first appearance order */
  assert_string_equal(str_at(s, 3), "h\xc3\xa9llo \xe2\x98\x83");
  assert_int_equal(((const int32_t *)s->values)[0], ((const int32_t *)s->values)[4]);
  assert_int_equal(((const int32_t *)s->values)[2], 0); /* null code */
  assert_int_equal(n->type, COL_FLOAT64);               /* no values: float64 */
  assert_int_equal(n->null_count, 5);
  frame_free(f);

  /* the array form, widening inside a column, strings that look like dates */
  f = from_json_text("[{\"name\": \"x\", \"values\": [1, 2.5]},"
                     " {\"name\": \"y\", \"values\": [true, 3]},"
                     " {\"name\": \"z\", \"values\": [\"2020-01-01\", \"b\"]},"
                     " {\"name\": \"w\", \"values\": [false, 0.5]}]");
  assert_int_equal(f->cols[0].type, COL_FLOAT64);
  assert_true(f64_at(&f->cols[0], 0) == 1.0);
  assert_int_equal(f->cols[1].type, COL_INT64);
  assert_true(i64_at(&f->cols[1], 0) == 1);
  assert_int_equal(f->cols[2].type, COL_STRING);
  assert_int_equal(f->cols[3].type, COL_FLOAT64);
  assert_true(f64_at(&f->cols[3], 0) == 0.0 && f64_at(&f->cols[3], 1) == 0.5);
  frame_free(f);

  /* no rows, no columns */
  f = from_json_text("{\"a\": []}");
  assert_int_equal(f->rows, 0);
  assert_int_equal(f->ncols, 1);
  frame_free(f);
  f = from_json_text("{}");
  assert_int_equal(f->ncols, 0);
  frame_free(f);
}

static void json_table_errors(void **state) {
  (void)state;
  assert_int_equal(from_json_rc("{\"a\": [1, \"x\"]}"), ASSAY_ERR_CONFIG);
  assert_msg_has("\"a\"");
  assert_int_equal(from_json_rc("{\"a\": [1, {}]}"), ASSAY_ERR_CONFIG);
  assert_msg_has("object");
  assert_int_equal(from_json_rc("{\"a\": [[1]]}"), ASSAY_ERR_CONFIG);
  assert_int_equal(from_json_rc("{\"a\": [1, 2], \"b\": [1]}"), ASSAY_ERR_CONFIG);
  assert_msg_has("\"b\" (1 values)");
  assert_int_equal(from_json_rc("{\"a\": 5}"), ASSAY_ERR_CONFIG);
  assert_msg_has("not an array");
  assert_int_equal(from_json_rc("[{\"name\": \"a\", \"values\": []}, {\"name\": \"a\", "
                                "\"values\": []}]"),
                   ASSAY_ERR_CONFIG);
  assert_msg_has("twice");
  assert_int_equal(from_json_rc("[{\"values\": []}]"), ASSAY_ERR_CONFIG);
  assert_int_equal(from_json_rc("[{\"name\": \"a\", \"values\": [], \"x\": 1}]"),
                   ASSAY_ERR_CONFIG);
  assert_int_equal(from_json_rc("[5]"), ASSAY_ERR_CONFIG);
  assert_int_equal(from_json_rc("[{\"name\": \"a\\u0000b\", \"values\": []}]"),
                   ASSAY_ERR_CONFIG);
  json_t *scalar = json_integer(3);
  frame *f = NULL;
  assert_int_equal(frame_from_json(&f, scalar), ASSAY_ERR_CONFIG);
  assert_null(f);
  json_decref(scalar);
  assert_int_equal(frame_from_json(&f, NULL), ASSAY_ERR_CONFIG);
}

/* --- the columnar file ---------------------------------------------------------------- */

static void acol_round_trip(void **state) {
  (void)state;
  const char *tables[] = {
      EVERY_TYPE,
      /* no nulls at all */
      "{\"i\": [3, 1, 2], \"f\": [0.1, 0.2, -1e-9], \"b\": [true, true, false],"
      " \"s\": [\"x\", \"y\", \"x\"]}",
      /* zero rows */
      "{\"i\": [], \"s\": []}",
      /* no columns */
      "{}",
      /* 9 rows: a validity bitmap of two bytes; a string with a NUL */
      "{\"s\": [\"a\\u0000b\", null, \"c\", \"d\", \"e\", \"f\", \"g\", \"h\", null],"
      " \"i\": [1, 2, 3, 4, 5, 6, 7, 8, null]}",
  };
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
    frame *f = from_json_text(tables[t]);
    const char *path = path_in_dir("rt.acol");
    assert_int_equal(frame_write(f, path), ASSAY_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    frame *m = NULL;
    if (frame_map(&m, path) != ASSAY_OK) fail_msg("frame_map: %s", last_message());
    assert_non_null(m->map);
    assert_frames_equal(f, m);
    /* mapped columns point into the map and own nothing */
    for (int k = 0; k < m->ncols; k++) {
      assert_null(m->cols[k].owned[1]);
      if (m->rows)
        assert_true((const char *)m->cols[k].values >= (const char *)m->map &&
                    (const char *)m->cols[k].values < (const char *)m->map + m->map_len);
      assert_int_equal(((uintptr_t)m->cols[k].values - (uintptr_t)m->map) % 64, 0);
    }
    /* read into memory: the same table, columns aligned in one private copy */
    frame *r = NULL;
    if (frame_read(&r, path) != ASSAY_OK) fail_msg("frame_read: %s", last_message());
    assert_null(r->map);
    assert_non_null(r->data);
    assert_int_equal((uintptr_t)r->data % 64, 0);
    assert_frames_equal(f, r);
    for (int k = 0; k < r->ncols; k++) {
      assert_null(r->cols[k].owned[1]);
      if (r->rows)
        assert_true((const char *)r->cols[k].values >= (const char *)r->data &&
                    (const char *)r->cols[k].values < (const char *)r->data + st.st_size);
      assert_int_equal(((uintptr_t)r->cols[k].values - (uintptr_t)r->data) % 64, 0);
    }
    frame_free(r);
    /* writing a mapped frame gives the same file again */
    const char *path2 = path_in_dir("rt2.acol");
    assert_int_equal(frame_write(m, path2), ASSAY_OK);
    size_t l1, l2;
    unsigned char *b1 = slurp(path, &l1), *b2 = slurp(path2, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(b1, b2, l1);
    free(b1);
    free(b2);
    frame_free(m);
    frame_free(f);
  }
  /* no temporary files are left behind */
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "ls '%s' | grep -c tmp", g_dir);
  FILE *p = popen(cmd, "r");
  char out[16] = "";
  assert_non_null(fgets(out, sizeof out, p));
  pclose(p);
  assert_string_equal(out, "0\n");
  /* overwriting an existing file is atomic (the rename replaces it) */
  frame *f = from_json_text("{\"a\": [1]}");
  assert_int_equal(frame_write(f, path_in_dir("rt.acol")), ASSAY_OK);
  frame_free(f);
  /* a folder that does not exist */
  f = from_json_text("{\"a\": [1]}");
  assert_int_equal(frame_write(f, path_in_dir("no/such/dir.acol")), ASSAY_ERR_STORE);
  frame_free(f);
}

static void acol_layout(void **state) {
  (void)state;
  frame *f = from_json_text(EVERY_TYPE);
  const char *path = path_in_dir("layout.acol");
  assert_int_equal(frame_write(f, path), ASSAY_OK);
  frame_free(f);
  size_t len;
  unsigned char *b = slurp(path, &len);
  assert_memory_equal(b, "ASSAYCOL", 8);
  uint32_t version, hlen;
  memcpy(&version, b + 8, 4);
  memcpy(&hlen, b + 12, 4);
  assert_int_equal(version, 1);
  assert_true(16 + hlen <= len);
  json_t *h = json_loadb((const char *)b + 16, hlen, 0, NULL);
  assert_non_null(h);
  assert_int_equal(json_integer_value(json_object_get(h, "rows")), 5);
  json_t *cols = json_object_get(h, "columns");
  assert_int_equal(json_array_size(cols), 5);
  const char *types[] = {"int64", "float64", "bool", "string", "float64"};
  for (size_t k = 0; k < 5; k++) {
    json_t *c = json_array_get(cols, k);
    assert_string_equal(json_string_value(json_object_get(c, "type")), types[k]);
    const char *keys[] = {"validity", "values", "dict_offsets", "dict_data"};
    for (int q = 0; q < 4; q++) {
      json_t *buf = json_object_get(c, keys[q]);
      if (!buf) continue;
      json_int_t off = json_integer_value(json_object_get(buf, "offset"));
      json_int_t l = json_integer_value(json_object_get(buf, "length"));
      assert_int_equal(off % 64, 0);
      assert_true(off >= 16 + (json_int_t)hlen);
      assert_true(off + l <= (json_int_t)len);
    }
  }
  json_t *s = json_array_get(cols, 3);
  assert_int_equal(json_integer_value(json_object_get(s, "dict_count")), 3);
  assert_int_equal(json_integer_value(json_object_get(s, "null_count")), 1);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "values"), "length")),
                   20);
  /* the bits past the last row are written as 0 */
  json_t *v = json_object_get(json_array_get(cols, 0), "validity");
  unsigned char bits = b[json_integer_value(json_object_get(v, "offset"))];
  assert_int_equal(bits, 0x1d); /* rows 0, 2, 3, 4 valid */
  json_decref(h);
  free(b);
}

static void shift_offsets(json_t *h, json_int_t delta) {
  const char *keys[] = {"validity", "values", "dict_offsets", "dict_data"};
  json_t *cols = json_object_get(h, "columns");
  for (size_t k = 0; k < json_array_size(cols); k++)
    for (int q = 0; q < 4; q++) {
      json_t *b = json_object_get(json_array_get(cols, k), keys[q]);
      json_t *off = json_object_get(b, "offset");
      if (off) json_integer_set(off, json_integer_value(off) + delta);
    }
}

/* Write `table`, then let `edit` change the header JSON. When the new
 * header needs more room, the buffers move down by a multiple of 64 (their
 * offsets moved before the edit sees them). */
static void write_with_header(const char *path, const char *table, void (*edit)(json_t *h)) {
  frame *f = from_json_text(table);
  assert_int_equal(frame_write(f, path), ASSAY_OK);
  frame_free(f);
  size_t len;
  unsigned char *b = slurp(path, &len);
  uint32_t hlen;
  memcpy(&hlen, b + 12, 4);
  json_t *h = json_loadb((const char *)b + 16, hlen, 0, NULL);
  assert_non_null(h);
  json_t *probe = json_deep_copy(h);
  edit(probe);
  char *text = json_dumps(probe, JSON_COMPACT);
  size_t delta = strlen(text) > hlen ? (strlen(text) - hlen + 63) / 64 * 64 + 64 : 0;
  free(text);
  json_decref(probe);
  shift_offsets(h, (json_int_t)delta);
  edit(h);
  text = json_dumps(h, JSON_COMPACT);
  size_t tl = strlen(text), room = hlen + delta;
  assert_true(tl <= room);
  unsigned char *nb = malloc(len + delta);
  memcpy(nb, b, 16);
  uint32_t nh = (uint32_t)room;
  memcpy(nb + 12, &nh, 4);
  memcpy(nb + 16, text, tl);
  memset(nb + 16 + tl, ' ', room - tl);
  memcpy(nb + 16 + room, b + 16 + hlen, len - 16 - hlen);
  spit(path, nb, len + delta);
  free(nb);
  free(text);
  json_decref(h);
  free(b);
}

static json_t *col_of(json_t *h, size_t k) { return json_array_get(json_object_get(h, "columns"), k); }
static void set_buf(json_t *h, size_t k, const char *key, json_int_t off, json_int_t len) {
  json_object_set_new(col_of(h, k), key, json_pack("{s:I,s:I}", "offset", off, "length", len));
}
static json_int_t buf_field(json_t *h, size_t k, const char *key, const char *field) {
  return json_integer_value(json_object_get(json_object_get(col_of(h, k), key), field));
}

static void e_unknown_top(json_t *h) { json_object_set_new(h, "x", json_true()); }
static void e_no_rows(json_t *h) { json_object_del(h, "rows"); }
static void e_neg_rows(json_t *h) { json_object_set_new(h, "rows", json_integer(-1)); }
static void e_more_rows(json_t *h) { json_object_set_new(h, "rows", json_integer(6)); }
static void e_huge_rows(json_t *h) { json_object_set_new(h, "rows", json_integer(INT64_MAX)); }
static void e_cols_obj(json_t *h) { json_object_set_new(h, "columns", json_object()); }
static void e_bad_type(json_t *h) { json_object_set_new(col_of(h, 0), "type", json_string("int32")); }
static void e_type_num(json_t *h) { json_object_set_new(col_of(h, 0), "type", json_integer(1)); }
static void e_unknown_key(json_t *h) { json_object_set_new(col_of(h, 0), "extra", json_true()); }
static void e_dict_on_int(json_t *h) { json_object_set_new(col_of(h, 0), "dict_count", json_integer(0)); }
static void e_no_name(json_t *h) { json_object_del(col_of(h, 0), "name"); }
static void e_dup_name(json_t *h) { json_object_set_new(col_of(h, 1), "name", json_string("i")); }
static void e_nul_name(json_t *h) { json_object_set_new(col_of(h, 0), "name", json_stringn("a\0b", 3)); }
static void e_null_count_big(json_t *h) { json_object_set_new(col_of(h, 0), "null_count", json_integer(6)); }
static void e_null_count_wrong(json_t *h) { json_object_set_new(col_of(h, 0), "null_count", json_integer(2)); }
static void e_no_validity(json_t *h) { json_object_del(col_of(h, 0), "validity"); }
static void e_no_values(json_t *h) { json_object_del(col_of(h, 0), "values"); }
static void e_misaligned(json_t *h) {
  set_buf(h, 0, "values", buf_field(h, 0, "values", "offset") + 8, 40);
}
static void e_in_header(json_t *h) { set_buf(h, 0, "values", 0, 40); }
static void e_past_end(json_t *h) { set_buf(h, 0, "values", 1 << 20, 40); }
static void e_overflow(json_t *h) { set_buf(h, 0, "values", 4611686018427387840LL, 40); }
static void e_short_values(json_t *h) {
  set_buf(h, 0, "values", buf_field(h, 0, "values", "offset"), 32);
}
static void e_buf_keys(json_t *h) {
  json_object_set_new(col_of(h, 0), "values", json_pack("{s:i}", "offset", 64));
}
static void e_buf_neg(json_t *h) { set_buf(h, 0, "values", -64, 40); }
static void e_dict_count_big(json_t *h) { json_object_set_new(col_of(h, 3), "dict_count", json_integer(4)); }
static void e_dict_count_neg(json_t *h) { json_object_set_new(col_of(h, 3), "dict_count", json_integer(-1)); }
static void e_dict_missing(json_t *h) { json_object_del(col_of(h, 3), "dict_data"); }
static void e_dict_data_len(json_t *h) {
  set_buf(h, 3, "dict_data", buf_field(h, 3, "dict_data", "offset"),
          buf_field(h, 3, "dict_data", "length") - 1);
}

/* Both readers refuse the file with a DataError (the same checks). */
static void expect_map_error(const char *path, const char *needle) {
  frame *m = NULL;
  int rc = frame_map(&m, path);
  if (rc != ASSAY_ERR_DATA) fail_msg("frame_map gave %d, expected a DataError (%s)", rc, needle);
  assert_null(m);
  if (needle) assert_msg_has(needle);
  rc = frame_read(&m, path);
  if (rc != ASSAY_ERR_DATA) fail_msg("frame_read gave %d, expected a DataError (%s)", rc, needle);
  assert_null(m);
  if (needle) assert_msg_has(needle);
}

static void acol_bad_headers(void **state) {
  (void)state;
  struct {
    void (*edit)(json_t *);
    const char *needle;
  } cases[] = {
      {e_unknown_top, "{\"rows\""},        {e_no_rows, "{\"rows\""},
      {e_neg_rows, "{\"rows\""},           {e_more_rows, "column \"i\""},
      {e_huge_rows, "cannot fit"},         {e_cols_obj, "{\"rows\""},
      {e_bad_type, "\"type\""},            {e_type_num, "\"type\""},
      {e_unknown_key, "\"extra\""},        {e_dict_on_int, "dict_count"},
      {e_no_name, "\"name\""},             {e_dup_name, "twice"},
      {e_nul_name, "NUL"},                 {e_null_count_big, "null_count"},
      {e_null_count_wrong, "null_count is 2"}, {e_no_validity, "no validity"},
      {e_no_values, "\"values\""},         {e_misaligned, "multiple of 64"},
      {e_in_header, "header"},             {e_past_end, "past the end"},
      {e_overflow, "past the end"},        {e_short_values, "expected 40"},
      {e_buf_keys, "\"values\""},          {e_buf_neg, "\"values\""},
      {e_dict_count_big, "dict_offsets"},  {e_dict_count_neg, "dict_count"},
      {e_dict_missing, "dict_data"},       {e_dict_data_len, "dict_data is"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *path = path_in_dir("bad.acol");
    write_with_header(path, EVERY_TYPE, cases[i].edit);
    expect_map_error(path, cases[i].needle);
  }
}

/* Patch bytes of a written file at a buffer of column k. */
static void patch(const char *path, size_t k, const char *key, size_t at, const void *bytes,
                  size_t n) {
  size_t len;
  unsigned char *b = slurp(path, &len);
  uint32_t hlen;
  memcpy(&hlen, b + 12, 4);
  json_t *h = json_loadb((const char *)b + 16, hlen, 0, NULL);
  json_int_t off = buf_field(h, k, key, "offset");
  memcpy(b + off + at, bytes, n);
  spit(path, b, len);
  json_decref(h);
  free(b);
}

static void acol_bad_buffers(void **state) {
  (void)state;
  const char *path = path_in_dir("bytes.acol");
  frame *f = from_json_text(EVERY_TYPE);
  assert_int_equal(frame_write(f, path), ASSAY_OK);
  frame_free(f);
  size_t len;
  unsigned char *orig = slurp(path, &len);

  struct {
    size_t col;
    const char *key;
    size_t at;
    unsigned char bytes[8];
    size_t n;
    const char *needle;
  } cases[] = {
      {2, "values", 1, {2}, 1, "a bool is 0 or 1"},
      {1, "values", 0, {0, 0, 0, 0, 0, 0, 0xf8, 0x7f}, 8, "NaN"},       /* row 0 valid */
      {3, "values", 4, {3, 0, 0, 0}, 4, "code 3"},                        /* >= dict_count */
      {3, "values", 0, {0xff, 0xff, 0xff, 0xff}, 4, "code -1"},           /* negative */
      {3, "values", 8, {1, 0, 0, 0}, 4, "0 (a null row)"},                /* row 2 is null */
      {3, "dict_offsets", 0, {1}, 1, "dict_offsets[0]"},
      {3, "dict_offsets", 16, {0}, 1, "decrease"},
      {3, "dict_data", 0, {0xff}, 1, "UTF-8"},
      {3, "dict_data", 1, {0xc3}, 1, "UTF-8"}, /* a lead byte before 'é''s own */
      {0, "validity", 0, {0x1f}, 1, "nulls but null_count"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    spit(path, orig, len);
    patch(path, cases[i].col, cases[i].key, cases[i].at, cases[i].bytes, cases[i].n);
    expect_map_error(path, cases[i].needle);
  }
  /* NaN in a null row is fine (the value means nothing) */
  spit(path, orig, len);
  unsigned char nan[8] = {0, 0, 0, 0, 0, 0, 0xf8, 0x7f};
  patch(path, 1, "values", 16, nan, 8);
  frame *m = NULL;
  assert_int_equal(frame_map(&m, path), ASSAY_OK);
  frame_free(m);

  /* the preamble */
  unsigned char *b = malloc(len);
  memcpy(b, orig, len);
  b[0] = 'X';
  spit(path, b, len);
  expect_map_error(path, "ASSAYCOL");
  memcpy(b, orig, len);
  b[8] = 2;
  spit(path, b, len);
  expect_map_error(path, "version 2");
  memcpy(b, orig, len);
  uint32_t huge = (uint32_t)len;
  memcpy(b + 12, &huge, 4);
  spit(path, b, len);
  expect_map_error(path, "header length");
  memcpy(b, orig, len);
  memset(b + 12, 0, 4);
  spit(path, b, len);
  expect_map_error(path, "header length");
  memcpy(b, orig, len);
  b[16] = '[';
  spit(path, b, len);
  expect_map_error(path, "not JSON");
  free(b);

  /* every truncation fails cleanly (the file ends with its last buffer) */
  for (size_t cut = 0; cut < len; cut++) {
    spit(path, orig, cut);
    frame *t = NULL;
    int rc = frame_map(&t, path);
    assert_int_equal(rc, ASSAY_ERR_DATA);
    assert_null(t);
    rc = frame_read(&t, path);
    assert_int_equal(rc, ASSAY_ERR_DATA);
    assert_null(t);
  }
  /* trailing bytes are ignored */
  unsigned char *longer = calloc(1, len + 100);
  memcpy(longer, orig, len);
  spit(path, longer, len + 100);
  assert_int_equal(frame_map(&m, path), ASSAY_OK);
  frame_free(m);
  free(longer);

  /* a missing file, a folder */
  assert_int_equal(frame_map(&m, path_in_dir("nope.acol")), ASSAY_ERR_NOT_FOUND);
  assert_int_equal(frame_map(&m, g_dir), ASSAY_ERR_DATA);
  free(orig);
}

/* Random corruption: every mutated file maps or is refused with a
 * DataError; what maps can be profiled and written again (ASan watches). */
static void acol_fuzz(void **state) {
  (void)state;
  const char *path = path_in_dir("fuzz.acol");
  frame *f = from_json_text(EVERY_TYPE);
  assert_int_equal(frame_write(f, path), ASSAY_OK);
  frame_free(f);
  size_t len;
  unsigned char *orig = slurp(path, &len);
  unsigned char *b = malloc(len);
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  int mapped = 0, refused = 0;
  for (int round = 0; round < 3000; round++) {
    memcpy(b, orig, len);
    int flips = 1 + round % 4;
    for (int k = 0; k < flips; k++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      size_t at = (size_t)(seed >> 33) % len;
      b[at] ^= (unsigned char)(1u << ((seed >> 20) & 7));
    }
    spit(path, b, len);
    frame *m = NULL;
    int rc = frame_map(&m, path);
    frame *copy = NULL;
    int rc_read = frame_read(&copy, path);
    /* the same checks, and one more of the size the header's buffers
     * need (a changed offset can leave bytes after the last buffer) */
    if (rc_read != rc) {
      assert_int_equal(rc, ASSAY_OK);
      assert_int_equal(rc_read, ASSAY_ERR_DATA);
      assert_msg_has("its header's buffers need");
    }
    if (copy) assert_frames_equal(m, copy);
    frame_free(copy);
    if (rc == ASSAY_OK) {
      mapped++;
      json_t *p = NULL;
      assert_int_equal(frame_profile(m, &p), ASSAY_OK);
      json_decref(p);
      assert_int_equal(frame_write(m, path_in_dir("fuzz2.acol")), ASSAY_OK);
      frame_free(m);
    } else {
      assert_int_equal(rc, ASSAY_ERR_DATA);
      assert_null(m);
      refused++;
    }
  }
  assert_true(mapped > 0 && refused > 0);
  free(b);
  free(orig);
}

/* frame_read takes only a regular file of this user, never through a
 * symbolic link, never waiting on a FIFO. */
static void acol_read_file_checks(void **state) {
  (void)state;
  const char *path = path_in_dir("ok.acol");
  frame *f = from_json_text(EVERY_TYPE);
  assert_int_equal(frame_write(f, path), ASSAY_OK);
  frame_free(f);
  frame *m = NULL;
  /* a symbolic link to a good file: frame_map follows it, frame_read not */
  const char *link = path_in_dir("link.acol");
  assert_int_equal(symlink(path, link), 0);
  assert_int_equal(frame_map(&m, link), ASSAY_OK);
  frame_free(m);
  m = NULL;
  assert_int_equal(frame_read(&m, link), ASSAY_ERR_DATA);
  assert_null(m);
  assert_msg_has("symbolic link");
  /* a FIFO: refused at once (an open without O_NONBLOCK would hang) */
  const char *fifo = path_in_dir("fifo.acol");
  assert_int_equal(mkfifo(fifo, 0600), 0);
  assert_int_equal(frame_read(&m, fifo), ASSAY_ERR_DATA);
  assert_msg_has("not a regular file");
  /* a folder, a missing file, a short one */
  assert_int_equal(frame_read(&m, g_dir), ASSAY_ERR_DATA);
  assert_int_equal(frame_read(&m, path_in_dir("nope.acol")), ASSAY_ERR_NOT_FOUND);
  spit(path_in_dir("short.acol"), "ASSAYCOL", 8);
  assert_int_equal(frame_read(&m, path_in_dir("short.acol")), ASSAY_ERR_DATA);
  assert_msg_has("16-byte preamble");
  /* a (sparse) file larger than the machine's memory is not read */
  const char *huge = path_in_dir("huge.acol");
  spit(huge, "ASSAYCOL", 8);
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  assert_int_equal(truncate(huge, (off_t)pages * psize + 4096), 0);
  assert_int_equal(frame_read(&m, huge), ASSAY_ERR_DATA);
  assert_msg_has("more than this machine's memory");
  /* a file of another user (only root can make one) */
  if (geteuid() == 0) {
    assert_int_equal(chown(path, 65534, 65534), 0);
    assert_int_equal(frame_read(&m, path), ASSAY_ERR_DATA);
    assert_null(m);
    assert_msg_has("owned by user 65534");
    assert_int_equal(frame_map(&m, path), ASSAY_OK); /* the platform's own files: no check */
    frame_free(m);
  }
}

/* frame_read_test_hook recording the largest offset read from. */
static uint64_t g_max_offset;
static int g_reads;
static void offset_hook(int fd, uint64_t offset) {
  (void)fd;
  g_reads++;
  if (offset > g_max_offset) g_max_offset = offset;
}

/* The data start (16 + H) of a columnar file's bytes. */
static uint64_t data_start(const unsigned char *b) {
  uint32_t hlen;
  memcpy(&hlen, b + 12, 4);
  return 16 + (uint64_t)hlen;
}

/* frame_read refuses what its header says it is not before reading a
 * buffer: a file larger than the caller's limit, than the header's
 * buffers need (trailing bytes past the 64-byte padding), or smaller; a
 * sparse file; a header of more values than the limit allows parsing. */
static void acol_read_size_checks(void **state) {
  (void)state;
  const char *path = path_in_dir("sized.acol");
  frame *f = from_json_text(EVERY_TYPE);
  assert_int_equal(frame_write(f, path), ASSAY_OK);
  size_t len;
  unsigned char *orig = slurp(path, &len);
  frame *m = NULL;
  uint64_t size = 0;
  /* the whole file: read, its size told */
  assert_int_equal(frame_read_limited(&m, path, 0, &size), ASSAY_OK);
  assert_int_equal(size, len);
  assert_frames_equal(f, m);
  frame_free(m);
  /* a limit: exactly the size is fine, a byte less is refused, unread */
  assert_int_equal(frame_read_limited(&m, path, len, NULL), ASSAY_OK);
  frame_free(m);
  g_reads = 0;
  frame_read_test_hook = offset_hook;
  assert_int_equal(frame_read_limited(&m, path, len - 1, &size), ASSAY_ERR_DATA);
  frame_read_test_hook = NULL;
  assert_null(m);
  assert_int_equal(size, 0);
  assert_int_equal(g_reads, 0);
  char want[128];
  snprintf(want, sizeof want, "%zu bytes, more than the %zu bytes allowed here", len, len - 1);
  assert_msg_has(want);
  assert_msg_has("columnar file sized.acol is not valid");

  /* padding to the next multiple of 64 (as the Python writer does) is
   * fine; one more byte is not — and nothing past the header is read */
  size_t padded = (len + 63) / 64 * 64;
  unsigned char *longer = calloc(1, len + 4096);
  memcpy(longer, orig, len);
  spit(path, longer, padded);
  assert_int_equal(frame_read(&m, path), ASSAY_OK);
  assert_frames_equal(f, m);
  frame_free(m);
  const size_t extra[] = {padded + 1 - len, 64 + (padded - len), 4096};
  for (size_t k = 0; k < 3; k++) {
    spit(path, longer, len + extra[k]);
    g_reads = 0;
    g_max_offset = 0;
    frame_read_test_hook = offset_hook;
    assert_int_equal(frame_read(&m, path), ASSAY_ERR_DATA);
    frame_read_test_hook = NULL;
    assert_null(m);
    assert_msg_has("its header's buffers need");
    assert_true(g_reads >= 1 && g_max_offset < data_start(orig));
    assert_int_equal(frame_map(&m, path), ASSAY_OK); /* the platform's own files: ignored */
    frame_free(m);
  }
  free(longer);

  /* smaller than the buffers: refused before reading them */
  spit(path, orig, len - 1);
  g_reads = 0;
  g_max_offset = 0;
  frame_read_test_hook = offset_hook;
  assert_int_equal(frame_read(&m, path), ASSAY_ERR_DATA);
  frame_read_test_hook = NULL;
  assert_msg_has("goes past the end of the file");
  assert_true(g_max_offset < data_start(orig));

  /* a sparse file: a header for 3,000,000 float64 rows (24 MB of values)
   * and a file sized to hold them without writing them */
  const char *sparse = path_in_dir("sparse.acol");
  char header[512];
  int hl = snprintf(header, sizeof header,
                    "{\"rows\":3000000,\"columns\":[{\"name\":\"x\",\"type\":\"float64\","
                    "\"null_count\":0,\"values\":{\"offset\":256,\"length\":24000000}}]}");
  unsigned char pre[256];
  memset(pre, ' ', sizeof pre);
  memcpy(pre, "ASSAYCOL", 8);
  uint32_t v = 1, h = 240;
  memcpy(pre + 8, &v, 4);
  memcpy(pre + 12, &h, 4);
  assert_true(hl <= 240);
  memcpy(pre + 16, header, (size_t)hl);
  spit(sparse, pre, sizeof pre);
  assert_int_equal(truncate(sparse, 256 + 24000000), 0);
  struct stat st;
  assert_int_equal(stat(sparse, &st), 0);
  if ((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size / 2) { /* the file system has holes */
    g_reads = 0;
    frame_read_test_hook = offset_hook;
    assert_int_equal(frame_read(&m, sparse), ASSAY_ERR_DATA);
    frame_read_test_hook = NULL;
    assert_null(m);
    assert_int_equal(g_reads, 0);
    assert_msg_has("it is a sparse file: 24000256 bytes long");
    assert_int_equal(frame_map(&m, sparse), ASSAY_OK); /* zeros: valid floats */
    assert_int_equal(m->rows, 3000000);
    frame_free(m);
  } else {
    print_message("no holes on this file system: the sparse case is not tried\n");
  }
  /* the same bytes written out: read */
  unsigned char *zeros = calloc(1, 256 + 24000000);
  memcpy(zeros, pre, sizeof pre);
  spit(sparse, zeros, 256 + 24000000);
  free(zeros);
  assert_int_equal(frame_read(&m, sparse), ASSAY_OK);
  assert_int_equal(m->rows, 3000000);
  frame_free(m);

  /* a header of many tiny values: refused unparsed when the limit cannot
   * pay for parsing it (~64 bytes a value, of at least 16 MiB: 262144
   * values are always allowed), parsed (and refused for
   * what it says) when it can */
  const char *flood = path_in_dir("flood.acol");
  size_t nvals = 300000, hlen2 = 22 + 2 * nvals;
  unsigned char *fb = malloc(16 + hlen2 + 64);
  memcpy(fb, "ASSAYCOL", 8);
  uint32_t h2 = (uint32_t)hlen2;
  memcpy(fb + 8, &v, 4);
  memcpy(fb + 12, &h2, 4);
  char *t = (char *)fb + 16;
  memcpy(t, "{\"rows\":0,\"columns\":[", 21);
  for (size_t i = 0; i < nvals; i++) {
    t[21 + 2 * i] = '0';
    t[22 + 2 * i] = ',';
  }
  t[21 + 2 * nvals - 1] = ']';
  t[21 + 2 * nvals] = '}';
  spit(flood, fb, 16 + hlen2);
  free(fb);
  assert_int_equal(frame_read_limited(&m, flood, (uint64_t)nvals * 16, NULL), ASSAY_ERR_DATA);
  assert_msg_has("JSON values, more than the");
  assert_int_equal(frame_read_limited(&m, flood, 0, NULL), ASSAY_ERR_DATA);
  assert_msg_has("column #0 is not an object");
  free(orig);
  frame_free(f);
}

/* The file changing under frame_read: what was read is checked and kept;
 * a file that shrinks before all of it was read is a DataError. */
static const char *g_hook_path;
static uint64_t g_hook_at;      /* act at the first call with offset >= this */
static off_t g_hook_size;       /* truncate to this size, or... */
static int g_hook_calls, g_hook_done;
static void shrink_hook(int fd, uint64_t offset) {
  (void)fd;
  g_hook_calls++;
  if (g_hook_done || offset < g_hook_at) return;
  g_hook_done = 1;
  assert_int_equal(truncate(g_hook_path, g_hook_size), 0);
}
static void grow_hook(int fd, uint64_t offset) {
  (void)fd;
  (void)offset;
  g_hook_calls++;
  if (g_hook_done) return;
  g_hook_done = 1;
  FILE *fp = fopen(g_hook_path, "ab");
  assert_non_null(fp);
  assert_int_equal(fwrite("trailing bytes", 1, 14, fp), 14);
  fclose(fp);
}

static void acol_read_changing_file(void **state) {
  (void)state;
  const char *path = path_in_dir("big.acol");
  /* 3,000,000 rows: 24 MB of int64 values, read in more than one block */
  const int64_t n = 3000000;
  frame *f = calloc(1, sizeof *f);
  assert_non_null(f);
  f->rows = n;
  f->ncols = 1;
  f->cols = calloc(1, sizeof *f->cols);
  f->cols[0].name = strdup("v");
  f->cols[0].type = COL_INT64;
  int64_t *v = malloc((size_t)n * 8);
  assert_non_null(v);
  for (int64_t i = 0; i < n; i++) v[i] = i * 7;
  f->cols[0].values = v;
  f->cols[0].owned[1] = v;
  assert_int_equal(frame_write(f, path), ASSAY_OK);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  g_hook_path = path;

  /* whole: several blocks */
  frame *m = NULL;
  g_hook_calls = 0;
  g_hook_done = 1;
  frame_read_test_hook = shrink_hook;
  assert_int_equal(frame_read(&m, path), ASSAY_OK);
  assert_true(g_hook_calls >= 2);
  assert_frames_equal(f, m);
  /* the copy is private: truncating the file afterwards changes nothing
   * (a map would die of SIGBUS here) */
  assert_int_equal(truncate(path, 0), 0);
  const int64_t *got = m->cols[0].values;
  int64_t sum = 0;
  for (int64_t i = 0; i < n; i++) sum += got[i] - i * 7;
  assert_true(sum == 0);
  frame_free(m);
  m = NULL;

  /* shrinking between fstat and the first read, and between two blocks */
  const uint64_t ats[] = {0, 1};
  for (size_t k = 0; k < 2; k++) {
    assert_int_equal(frame_write(f, path), ASSAY_OK);
    g_hook_at = ats[k] ? (uint64_t)st.st_size / 2 : 0;
    g_hook_size = ats[k] ? st.st_size * 3 / 4 : 40;
    g_hook_calls = 0;
    g_hook_done = 0;
    assert_int_equal(frame_read(&m, path), ASSAY_ERR_DATA);
    assert_true(g_hook_done);
    assert_null(m);
    assert_msg_has("shrank");
  }
  /* growing meanwhile: read up to the size it had */
  assert_int_equal(frame_write(f, path), ASSAY_OK);
  g_hook_calls = 0;
  g_hook_done = 0;
  frame_read_test_hook = grow_hook;
  assert_int_equal(frame_read(&m, path), ASSAY_OK);
  assert_true(g_hook_done);
  assert_frames_equal(f, m);
  frame_free(m);
  frame_read_test_hook = NULL;
  frame_free(f);
}

/* A mapped dictionary may repeat entries and hold unused ones: the
 * profile counts distinct texts in use. */
static void acol_repeated_dictionary(void **state) {
  (void)state;
  const char *path = path_in_dir("dict.acol");
  /* dictionary ["a", "b", "a", "zz"]: codes [0, 2, 1, 0] use "a", "a", "b" */
  char header[512];
  int hl = snprintf(header, sizeof header,
                    "{\"rows\":4,\"columns\":[{\"name\":\"s\",\"type\":\"string\",\"null_count\":0,"
                    "\"values\":{\"offset\":512,\"length\":16},\"dict_count\":4,"
                    "\"dict_offsets\":{\"offset\":576,\"length\":40},"
                    "\"dict_data\":{\"offset\":640,\"length\":5}}]}");
  unsigned char file[704];
  memset(file, 0, sizeof file);
  memcpy(file, "ASSAYCOL", 8);
  uint32_t v = 1, h = (uint32_t)hl;
  memcpy(file + 8, &v, 4);
  memcpy(file + 12, &h, 4);
  memcpy(file + 16, header, (size_t)hl);
  int32_t codes[4] = {0, 2, 1, 0};
  memcpy(file + 512, codes, sizeof codes);
  int64_t offs[5] = {0, 1, 2, 3, 5};
  memcpy(file + 576, offs, sizeof offs);
  memcpy(file + 640, "abazz", 5);
  spit(path, file, 645);
  frame *m = NULL;
  if (frame_map(&m, path) != ASSAY_OK) fail_msg("%s", last_message());
  json_t *p = NULL;
  assert_int_equal(frame_profile(m, &p), ASSAY_OK);
  assert_int_equal(json_integer_value(json_object_get(json_array_get(p, 0), "distinct_count")), 2);
  json_decref(p);
  frame_free(m);
}

/* --- concatenation ---------------------------------------------------------------------- */

static void concat_widening(void **state) {
  (void)state;
  frame *a = from_json_text("{\"x\": [1, 2], \"y\": [true, null], \"s\": [\"p\", \"q\"],"
                            " \"z\": [1.5, 2.5], \"t\": [true, false]}");
  frame *b = from_json_text("{\"x\": [0.5, null], \"y\": [7, 8], \"s\": [\"q\", \"r\"],"
                            " \"z\": [3, 4], \"t\": [null, null]}");
  frame *parts[] = {a, b};
  frame *c = NULL;
  if (frame_concat(&c, parts, 2) != ASSAY_OK) fail_msg("%s", last_message());
  assert_int_equal(c->rows, 4);
  const column *x = frame_col(c, "x"), *y = frame_col(c, "y"), *s = frame_col(c, "s");
  const column *z = frame_col(c, "z"), *t = frame_col(c, "t");
  assert_int_equal(x->type, COL_FLOAT64); /* int64 + float64 */
  assert_true(f64_at(x, 0) == 1.0 && f64_at(x, 2) == 0.5);
  assert_false(col_valid(x, 3));
  assert_int_equal(x->null_count, 1);
  assert_int_equal(y->type, COL_INT64); /* bool + int64 */
  assert_true(i64_at(y, 0) == 1 && i64_at(y, 2) == 7 && i64_at(y, 3) == 8);
  assert_false(col_valid(y, 1));
  assert_int_equal(z->type, COL_FLOAT64);
  assert_true(f64_at(z, 3) == 4.0);
  assert_int_equal(t->type, COL_BOOL); /* an all-null part takes any type */
  assert_int_equal(t->null_count, 2);
  assert_true(col_valid(t, 0) && !col_valid(t, 2));
  assert_int_equal(s->type, COL_STRING); /* dictionaries merged */
  assert_int_equal(s->dict_count, 3);
  assert_string_equal(str_at(s, 0), "p");
  assert_string_equal(str_at(s, 1), "q");
  assert_string_equal(str_at(s, 2), "q");
  assert_string_equal(str_at(s, 3), "r");
  assert_int_equal(((const int32_t *)s->values)[1], ((const int32_t *)s->values)[2]);
  assert_null(s->validity);
  /* the parts are left as they are */
  assert_int_equal(frame_col(b, "x")->type, COL_FLOAT64);
  assert_int_equal(frame_col(a, "x")->type, COL_INT64);
  frame_free(c);

  /* mapped parts, an all-null string part of another type, zero-row parts */
  frame *e = from_json_text("{\"x\": [], \"y\": [], \"s\": [], \"z\": [], \"t\": []}");
  frame *n = from_json_text("{\"x\": [null], \"y\": [null], \"s\": [null], \"z\": [null],"
                            " \"t\": [null]}");
  assert_int_equal(frame_write(a, path_in_dir("a.acol")), ASSAY_OK);
  frame *am = NULL;
  assert_int_equal(frame_map(&am, path_in_dir("a.acol")), ASSAY_OK);
  frame *parts2[] = {e, am, n, b};
  assert_int_equal(frame_concat(&c, parts2, 4), ASSAY_OK);
  assert_int_equal(c->rows, 5);
  s = frame_col(c, "s");
  assert_int_equal(s->type, COL_STRING);
  assert_int_equal(s->null_count, 1);
  assert_false(col_valid(s, 2));
  assert_int_equal(((const int32_t *)s->values)[2], 0);
  assert_string_equal(str_at(s, 4), "r");
  assert_int_equal(frame_col(c, "y")->type, COL_INT64);
  assert_int_equal(frame_col(c, "x")->null_count, 2);
  frame_free(c);
  frame_free(am);
  frame_free(e);
  frame_free(n);

  /* one part, no parts */
  frame *one[] = {a};
  assert_int_equal(frame_concat(&c, one, 1), ASSAY_OK);
  assert_frames_equal(a, c);
  frame_free(c);
  assert_int_equal(frame_concat(&c, NULL, 0), ASSAY_OK);
  assert_int_equal(c->rows, 0);
  assert_int_equal(c->ncols, 0);
  frame_free(c);
  frame_free(a);
  frame_free(b);
}

static void concat_errors(void **state) {
  (void)state;
  frame *a = from_json_text("{\"x\": [1], \"y\": [\"s\"]}");
  frame *b = from_json_text("{\"x\": [1], \"y\": [2]}");
  frame *c = from_json_text("{\"x\": [1]}");
  frame *d = from_json_text("{\"y\": [\"s\"], \"x\": [1]}");
  frame *out = NULL;
  frame *p1[] = {a, b};
  assert_int_equal(frame_concat(&out, p1, 2), ASSAY_ERR_DATA);
  assert_null(out);
  assert_msg_has("column \"y\" is string in part 1 but int64 in part 2");
  frame *p2[] = {a, c};
  assert_int_equal(frame_concat(&out, p2, 2), ASSAY_ERR_DATA);
  assert_msg_has("part 2 has 1 columns");
  frame *p3[] = {a, d};
  assert_int_equal(frame_concat(&out, p3, 2), ASSAY_ERR_DATA);
  assert_msg_has("\"y\"");
  frame_free(a);
  frame_free(b);
  frame_free(c);
  frame_free(d);
}

/* --- the profile -------------------------------------------------------------------------- */

static json_t *profile_of(const frame *f) {
  json_t *p = NULL;
  if (frame_profile(f, &p) != ASSAY_OK) fail_msg("%s", last_message());
  return p;
}

static void assert_profile(json_t *p, size_t k, const char *name, const char *type, double nulls,
                           json_int_t distinct) {
  json_t *e = json_array_get(p, k);
  assert_string_equal(json_string_value(json_object_get(e, "column")), name);
  assert_string_equal(json_string_value(json_object_get(e, "type")), type);
  assert_true(fabs(json_real_value(json_object_get(e, "null_share")) - nulls) < 1e-12);
  json_int_t got = json_integer_value(json_object_get(e, "distinct_count"));
  if (got != distinct)
    fail_msg("%s: distinct_count %lld, expected %lld", name, (long long)got, (long long)distinct);
}

static void profile_values(void **state) {
  (void)state;
  frame *f = from_json_text(EVERY_TYPE);
  json_t *p = profile_of(f);
  assert_int_equal(json_array_size(p), 5);
  assert_profile(p, 0, "i", "int64", 0.2, 4);
  assert_profile(p, 1, "f", "float64", 0.2, 4);
  assert_profile(p, 2, "b", "bool", 0.2, 2);
  assert_profile(p, 3, "s", "string", 0.2, 3);
  assert_profile(p, 4, "n", "float64", 1.0, 0);
  json_decref(p);
  frame_free(f);

  /* -0.0 and 0.0 are one value; no rows */
  f = from_json_text("{\"f\": [0.0, -0.0, 1.0], \"b\": [true, true, null], \"e\": [null, null, null]}");
  p = profile_of(f);
  assert_profile(p, 0, "f", "float64", 0.0, 2);
  assert_profile(p, 1, "b", "bool", 1.0 / 3, 1);
  json_decref(p);
  frame_free(f);
  f = from_json_text("{\"a\": [], \"s\": []}");
  p = profile_of(f);
  assert_profile(p, 0, "a", "float64", 0.0, 0);
  json_decref(p);
  frame_free(f);
}

/* Large columns take the other counting paths (a wide integer range, more
 * distinct values than the small set holds): checked against a count by
 * sorting. */
static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void profile_large(void **state) {
  (void)state;
  const int64_t n = 300000;
  json_t *ints = json_array(), *wide = json_array(), *floats = json_array(), *strs = json_array();
  uint64_t *k1 = malloc(n * 8), *k2 = malloc(n * 8), *k3 = malloc(n * 8);
  uint64_t seed = 12345;
  int64_t nulls = 0;
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    int64_t small = (int64_t)(seed >> 44);            /* about 1M possible values */
    int64_t big = (int64_t)(seed ^ (seed << 17));     /* all over int64 */
    if (i % 3 == 0) big = (int64_t)(i % 50000);       /* and repeats */
    double d = (double)(seed >> 40) / 7.0;
    json_array_append_new(ints, json_integer(small));
    json_array_append_new(wide, json_integer(big));
    if (i % 10 == 0) {
      json_array_append_new(floats, json_null());
      nulls++;
      k3[i] = UINT64_MAX;
    } else {
      json_array_append_new(floats, json_real(d));
      memcpy(&k3[i], &d, 8);
    }
    char s[32];
    snprintf(s, sizeof s, "v%llu", (unsigned long long)((seed >> 30) % 60000));
    json_array_append_new(strs, json_string(s));
    k1[i] = (uint64_t)small;
    k2[i] = (uint64_t)big;
  }
  json_t *t = json_pack("{s:o,s:o,s:o,s:o}", "ints", ints, "wide", wide, "floats", floats, "strs",
                        strs);
  frame *f = NULL;
  assert_int_equal(frame_from_json(&f, t), ASSAY_OK);
  json_decref(t);
  uint64_t *keys[] = {k1, k2, k3};
  json_int_t expect[3];
  for (int q = 0; q < 3; q++) {
    qsort(keys[q], (size_t)n, 8, cmp_u64);
    json_int_t d = 0;
    for (int64_t i = 0; i < n; i++)
      if ((i == 0 || keys[q][i] != keys[q][i - 1]) && keys[q][i] != UINT64_MAX) d++;
    expect[q] = d;
  }
  json_t *p = profile_of(f);
  assert_profile(p, 0, "ints", "int64", 0.0, expect[0]);
  assert_profile(p, 1, "wide", "int64", 0.0, expect[1]);
  assert_profile(p, 2, "floats", "float64", (double)nulls / (double)n, expect[2]);
  assert_profile(p, 3, "strs", "string", 0.0, frame_col(f, "strs")->dict_count);
  json_decref(p);
  frame_free(f);
  free(k1);
  free(k2);
  free(k3);
}

int main(void) {
  assay_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(type_names),
      cmocka_unit_test(json_tables),
      cmocka_unit_test(json_table_errors),
      cmocka_unit_test_setup_teardown(acol_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(acol_layout, setup, teardown),
      cmocka_unit_test_setup_teardown(acol_bad_headers, setup, teardown),
      cmocka_unit_test_setup_teardown(acol_bad_buffers, setup, teardown),
      cmocka_unit_test_setup_teardown(acol_fuzz, setup, teardown),
      cmocka_unit_test_setup_teardown(acol_read_file_checks, setup, teardown),
      cmocka_unit_test_setup_teardown(acol_read_size_checks, setup, teardown),
      cmocka_unit_test_setup_teardown(acol_read_changing_file, setup, teardown),
      cmocka_unit_test_setup_teardown(acol_repeated_dictionary, setup, teardown),
      cmocka_unit_test_setup_teardown(concat_widening, setup, teardown),
      cmocka_unit_test(concat_errors),
      cmocka_unit_test(profile_values),
      cmocka_unit_test(profile_large),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  assay_shutdown();
  return rc;
}
