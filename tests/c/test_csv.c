/* test_csv.c — the native CSV reader and writer: type inference (every
 * case), nulls (pandas' defaults, custom na_values, keep_default_na),
 * quoting (delimiters, quotes and line breaks inside fields), CRLF, lone
 * CR, BOM, blank lines, UTF-8 errors with their line, field-count errors,
 * headers (empty names, duplicates), numbers exactly as strtod/strtoll,
 * ISO 8601 timestamps, files larger than a read block with records
 * spanning blocks, the multi-threaded reading (same frame as one thread,
 * ranges starting inside quoted fields, errors' lines), nrows, custom
 * delimiters, loading_kwargs, and csv_write round trips. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
  unsetenv("ASSAY_CSV_THREADS");
  rm_home(g_dir);
  g_dir = NULL;
  return 0;
}

static const char *write_bytes(const char *name, const char *data, size_t len) {
  static char buf[8][4096];
  static int next;
  char *p = buf[next++ % 8];
  snprintf(p, 4096, "%s/%s", g_dir, name);
  FILE *fp = fopen(p, "wb");
  assert_non_null(fp);
  if (len) assert_int_equal(fwrite(data, 1, len, fp), len);
  fclose(fp);
  return p;
}

static const char *write_text(const char *name, const char *text) {
  return write_bytes(name, text, strlen(text));
}

static frame *read_opts(const char *text, const csv_options *o) {
  const char *path = write_text("t.csv", text);
  frame *f = NULL;
  int rc = csv_read(&f, path, o);
  if (rc != ASSAY_OK) fail_msg("csv_read: %s", assay_error_last()->message);
  return f;
}

static frame *read_text(const char *text) { return read_opts(text, NULL); }

static void assert_msg_has(const char *needle) {
  const char *m = assay_error_last()->message;
  if (!strstr(m, needle)) fail_msg("message \"%s\" lacks \"%s\"", m, needle);
}

static void read_fails(const char *data, size_t len, const csv_options *o, int code,
                       const char *needle) {
  const char *path = write_bytes("bad.csv", data, len);
  frame *f = NULL;
  int rc = csv_read(&f, path, o);
  if (rc != code) fail_msg("csv_read gave %d, expected %d (%s)", rc, code, needle);
  assert_null(f);
  if (needle) assert_msg_has(needle);
}

/* read_fails on a string literal (which may hold NUL bytes) */
#define FAILS(lit, o, code, needle) read_fails(lit, sizeof(lit) - 1, o, code, needle)

static const column *col(const frame *f, const char *name) {
  const column *c = frame_col(f, name);
  if (!c) fail_msg("no column \"%s\"", name);
  return c;
}

static const char *type_of(const frame *f, const char *name) {
  return col_type_name(col(f, name)->type);
}

static int64_t I(const frame *f, const char *name, int64_t i) {
  const column *c = col(f, name);
  assert_true(col_valid(c, i));
  return ((const int64_t *)c->values)[i];
}

static double F(const frame *f, const char *name, int64_t i) {
  const column *c = col(f, name);
  assert_int_equal(c->type, COL_FLOAT64);
  assert_true(col_valid(c, i));
  return ((const double *)c->values)[i];
}

static int B(const frame *f, const char *name, int64_t i) {
  const column *c = col(f, name);
  assert_int_equal(c->type, COL_BOOL);
  assert_true(col_valid(c, i));
  return ((const uint8_t *)c->values)[i];
}

/* The text of row i of a string column, copied (static, NUL added). */
static const char *S(const frame *f, const char *name, int64_t i) {
  static char buf[4][4096];
  static int next;
  const column *c = col(f, name);
  assert_int_equal(c->type, COL_STRING);
  assert_true(col_valid(c, i));
  char *b = buf[next++ % 4];
  int32_t code = ((const int32_t *)c->values)[i];
  int64_t a = c->dict_offsets[code], z = c->dict_offsets[code + 1];
  assert_true(z - a < 4096);
  memcpy(b, c->dict_data + a, (size_t)(z - a));
  b[z - a] = '\0';
  return b;
}

static int is_null(const frame *f, const char *name, int64_t i) { return !col_valid(col(f, name), i); }

/* Same table, same dictionaries (codes in the same order). */
static void assert_same_frame(const frame *a, const frame *b) {
  assert_int_equal(a->rows, b->rows);
  assert_int_equal(a->ncols, b->ncols);
  for (int k = 0; k < a->ncols; k++) {
    const column *x = &a->cols[k], *y = &b->cols[k];
    assert_string_equal(x->name, y->name);
    assert_int_equal(x->type, y->type);
    assert_int_equal(x->validity ? x->null_count : 0, y->validity ? y->null_count : 0);
    assert_int_equal(!x->validity, !y->validity);
    if (x->validity) assert_memory_equal(x->validity, y->validity, (size_t)(a->rows / 8));
    for (int64_t i = 0; i < a->rows; i++) assert_int_equal(col_valid(x, i), col_valid(y, i));
    size_t w = x->type == COL_BOOL ? 1 : x->type == COL_STRING ? 4 : 8;
    if (a->rows) assert_memory_equal(x->values, y->values, (size_t)a->rows * w);
    if (x->type == COL_STRING) {
      assert_int_equal(x->dict_count, y->dict_count);
      assert_memory_equal(x->dict_offsets, y->dict_offsets, (size_t)(x->dict_count + 1) * 8);
      assert_memory_equal(x->dict_data, y->dict_data, (size_t)x->dict_offsets[x->dict_count]);
    }
  }
}

/* --- types --------------------------------------------------------------------------------- */

static void type_inference(void **state) {
  (void)state;
  frame *f = read_text(
      "int,float,boolean,text,ts,date,intfloat,boolint,intts,floatts,boolts,empty,ovf,lead\n"
      "1,1.5,True,abc,2020-01-01T00:00:00Z,2020-01-01,1,True,1,1.5,True,,9223372036854775808,007\n"
      "-2,2,false,x y,2020-01-01 10:30,1999-12-31,2.5,0,2020-01-01,2020-01-01,2020-01-01,,1,-010\n"
      "+3,.5,TRUE,3,2020-01-01T10:30:15.5+01:00,2000-02-29,3,1,3,3,false,,2,+0\n"
      " 4 ,1e3,FALSE,,2020-01-01T00:00-05:30,2021-02-28,4,2,4,4,true,,3,0000000000000000000000042\n");
  assert_int_equal(f->rows, 4);
  assert_int_equal(f->ncols, 14);
  assert_string_equal(type_of(f, "int"), "int64");
  assert_true(I(f, "int", 0) == 1 && I(f, "int", 1) == -2 && I(f, "int", 2) == 3);
  assert_true(I(f, "int", 3) == 4); /* spaces around a number, as pandas */
  assert_string_equal(type_of(f, "float"), "float64");
  assert_true(F(f, "float", 1) == 2.0 && F(f, "float", 2) == 0.5 && F(f, "float", 3) == 1000.0);
  assert_string_equal(type_of(f, "boolean"), "bool");
  assert_true(B(f, "boolean", 0) && !B(f, "boolean", 1) && B(f, "boolean", 2) &&
              !B(f, "boolean", 3));
  assert_string_equal(type_of(f, "text"), "string"); /* "3" among text stays text */
  assert_string_equal(S(f, "text", 2), "3");
  assert_true(is_null(f, "text", 3));
  assert_string_equal(type_of(f, "ts"), "timestamp");
  assert_string_equal(type_of(f, "date"), "timestamp");
  assert_string_equal(type_of(f, "intfloat"), "float64");
  assert_true(F(f, "intfloat", 0) == 1.0);
  assert_string_equal(type_of(f, "boolint"), "string"); /* as pandas: object */
  assert_string_equal(S(f, "boolint", 0), "True");
  assert_string_equal(type_of(f, "intts"), "string");
  assert_string_equal(type_of(f, "floatts"), "string");
  assert_string_equal(type_of(f, "boolts"), "string");
  assert_string_equal(type_of(f, "empty"), "float64"); /* no values: float64 */
  assert_int_equal(col(f, "empty")->null_count, 4);
  assert_string_equal(type_of(f, "ovf"), "float64"); /* past int64: float */
  assert_true(F(f, "ovf", 0) == 9223372036854775808.0);
  assert_string_equal(type_of(f, "lead"), "int64"); /* leading zeros: still numbers */
  assert_true(I(f, "lead", 0) == 7 && I(f, "lead", 1) == -10 && I(f, "lead", 2) == 0 &&
              I(f, "lead", 3) == 42);
  frame_free(f);

  /* int64's edges, and past them */
  f = read_text("a,b,c\n9223372036854775807,-9223372036854775808,-9223372036854775809\n");
  assert_true(I(f, "a", 0) == INT64_MAX);
  assert_true(I(f, "b", 0) == INT64_MIN);
  assert_string_equal(type_of(f, "c"), "float64");
  frame_free(f);

  /* what is not a number */
  f = read_text("a,b,c,d,e,f,g,h,i\n0x10,1e,-,.,1_000,1.5e,infinit,1.2.3,1e5x\n");
  for (int k = 0; k < 9; k++) assert_int_equal(f->cols[k].type, COL_STRING);
  frame_free(f);

  /* infinities and exponents */
  f = read_text("a,b,c,d,e,f\ninf,-Infinity,+INF,1e400,1e-400,1.e5\n");
  assert_true(isinf(F(f, "a", 0)) && F(f, "a", 0) > 0);
  assert_true(isinf(F(f, "b", 0)) && F(f, "b", 0) < 0);
  assert_true(isinf(F(f, "c", 0)));
  assert_true(isinf(F(f, "d", 0)));
  assert_true(F(f, "e", 0) == 0.0);
  assert_true(F(f, "f", 0) == 100000.0);
  frame_free(f);

  /* bools are exactly these words */
  f = read_text("a,b,c\ntrue,yes, True\nFalse,no,False\n");
  assert_string_equal(type_of(f, "a"), "bool");
  assert_string_equal(type_of(f, "b"), "string");
  assert_string_equal(type_of(f, "c"), "string");
  frame_free(f);
}

static void timestamps(void **state) {
  (void)state;
  struct {
    const char *text;
    int64_t ns;
  } cases[] = {
      {"2020-01-01", 1577836800LL * 1000000000},
      {"2020-01-01T00:00:00Z", 1577836800LL * 1000000000},
      {"2020-01-01 10:30", (1577836800LL + 37800) * 1000000000},
      {"2020-01-01T10:30:15.123456789", (1577836800LL + 37815) * 1000000000 + 123456789},
      {"2020-01-01T10:30:15.1234567891", (1577836800LL + 37815) * 1000000000 + 123456789},
      {"2020-01-01T10:30:15.5+01:00", (1577836800LL + 34215) * 1000000000 + 500000000},
      {"2020-01-01T00:00:00-05:30", (1577836800LL + 19800) * 1000000000},
      {"2020-01-01T00:00:00+0530", (1577836800LL - 19800) * 1000000000},
      {"2020-01-01T00:00:00.25Z", 1577836800LL * 1000000000 + 250000000},
      {"1970-01-01T00:00:00.000000001Z", 1},
      {"1969-12-31T23:59:59.999999999Z", -1},
      {"2000-02-29", 951782400LL * 1000000000},
      {"2262-04-11T23:47:16.854775807Z", INT64_MAX},
      {"1677-09-21T00:12:43.145224192Z", INT64_MIN},
  };
  char text[4096] = "t\n";
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    snprintf(text + strlen(text), sizeof text - strlen(text), "%s\n", cases[i].text);
  frame *f = read_text(text);
  assert_string_equal(type_of(f, "t"), "timestamp");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (I(f, "t", (int64_t)i) != cases[i].ns)
      fail_msg("%s: %lld, expected %lld", cases[i].text, (long long)I(f, "t", (int64_t)i),
               (long long)cases[i].ns);
  frame_free(f);

  /* not timestamps: the column stays text */
  const char *bad[] = {"2021-02-29", "1900-02-29", "2020-13-01", "2020-01-32", "2020-00-10",
                       "2020-1-01",  "2020-01-01T24:00", "2020-01-01T10:60", "2020-01-01T10:00:61",
                       "2020-01-01T10", "2020-01-01T10:00:00.", "2020-01-01T10:00Zx",
                       "2020-01-01t10:00", "2300-01-01", "1600-01-01", "2020-01-01T10:00+25:00",
                       "2020-01-01 ", " 2020-01-01"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char t2[256];
    snprintf(t2, sizeof t2, "t\n2020-01-01\n%s\n", bad[i]);
    f = read_text(t2);
    if (f->cols[0].type != COL_STRING) fail_msg("\"%s\" was taken for a timestamp", bad[i]);
    frame_free(f);
  }
}

/* Every number token compared with strtod / strtoll on the same text. */
static void numbers_exact(void **state) {
  (void)state;
  const int n = 20000;
  size_t cap = (size_t)n * 40 + 16;
  char *text = malloc(cap), **tokens = calloc((size_t)n, sizeof *tokens);
  size_t len = 0;
  len += (size_t)sprintf(text, "x\n");
  uint64_t seed = 42;
  for (int i = 0; i < n; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    char tok[64];
    int kind = (int)(seed >> 60) % 6;
    uint64_t m = seed >> (seed >> 58 & 31);
    int e = (int)((seed >> 8) % 700) - 350;
    switch (kind) {
      case 0: snprintf(tok, sizeof tok, "%llu.%llu", (unsigned long long)(m % 1000000),
                       (unsigned long long)(seed % 100000000000ull)); break;
      case 1: snprintf(tok, sizeof tok, "%.17g", (double)m * pow(10, e % 30)); break;
      case 2: snprintf(tok, sizeof tok, "%llue%d", (unsigned long long)m, e); break;
      case 3: snprintf(tok, sizeof tok, "-0.%019llu", (unsigned long long)(m % 10000000000000000000ull)); break;
      case 4: snprintf(tok, sizeof tok, "%.*g", 1 + (int)(seed % 17), (double)(seed >> 11) / 9007199254740992.0); break;
      default: snprintf(tok, sizeof tok, "%lld.%03d", (long long)(m % 100000), (int)(seed % 1000)); break;
    }
    tokens[i] = strdup(tok);
    len += (size_t)snprintf(text + len, cap - len, "%s\n", tok);
  }
  const char *path = write_bytes("nums.csv", text, len);
  frame *f = NULL;
  assert_int_equal(csv_read(&f, path, NULL), ASSAY_OK);
  assert_int_equal(f->rows, n);
  assert_string_equal(type_of(f, "x"), "float64");
  for (int i = 0; i < n; i++) {
    double want = strtod(tokens[i], NULL), got = F(f, "x", i);
    if (memcmp(&want, &got, 8) != 0)
      fail_msg("%s: got %.17g, strtod gives %.17g", tokens[i], got, want);
    free(tokens[i]);
  }
  frame_free(f);
  free(tokens);
  free(text);

  /* integers: every digit count, both signs */
  char ints[8192] = "i\n";
  int64_t v = 0;
  for (int d = 1; d <= 18; d++) {
    v = v * 10 + d % 10;
    snprintf(ints + strlen(ints), sizeof ints - strlen(ints), "%lld\n-%lld\n", (long long)v,
             (long long)v);
  }
  f = read_text(ints);
  assert_string_equal(type_of(f, "i"), "int64");
  const char *p = ints + 2;
  for (int64_t i = 0; i < f->rows; i++) {
    long long want = strtoll(p, NULL, 10);
    assert_true(I(f, "i", i) == want);
    p = strchr(p, '\n') + 1;
  }
  frame_free(f);

  /* hard cases: halfway points, subnormals, the extremes, long mantissas */
  const char *hard[] = {"9007199254740993", "9007199254740995", "2.2250738585072011e-308",
                        "1.7976931348623157e308", "4.9e-324", "2.4703282292062327e-324",
                        "2.4703282292062328e-324", "0.1", "123456789012345678901234567890",
                        "1e23", "8.98846567431158e307", "1.7976931348623158e308",
                        "1.00000000000000011102230246251565404236316680908203125",
                        "1.00000000000000011102230246251565404236316680908203126",
                        "0.000000000000000000000000000000000000000001", "-0", "00000.5e1",
                        "18446744073709551615", "18446744073709551616", "3.0e-5", "7e22", "7e27"};
  char htext[2048] = "h\n";
  for (size_t i = 0; i < sizeof hard / sizeof hard[0]; i++)
    snprintf(htext + strlen(htext), sizeof htext - strlen(htext), "%s\n", hard[i]);
  f = read_text(htext);
  for (size_t i = 0; i < sizeof hard / sizeof hard[0]; i++) {
    double want = strtod(hard[i], NULL), got = F(f, "h", (int64_t)i);
    if (memcmp(&want, &got, 8) != 0) fail_msg("%s: got %.17g, strtod gives %.17g", hard[i], got, want);
  }
  frame_free(f);
}

/* --- nulls ------------------------------------------------------------------------------- */

static void nulls(void **state) {
  (void)state;
  const char *na[] = {"", "\"\"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN",
                      "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None",
                      "n/a", "nan", "null", "\"NA\""};
  char text[1024] = "a,b\n";
  size_t n = sizeof na / sizeof na[0];
  for (size_t i = 0; i < n; i++)
    snprintf(text + strlen(text), sizeof text - strlen(text), "%s,1\n", na[i]);
  frame *f = read_text(text);
  assert_int_equal(f->rows, (int64_t)n);
  assert_int_equal(col(f, "a")->null_count, (int64_t)n);
  assert_string_equal(type_of(f, "a"), "float64");
  for (size_t i = 0; i < n; i++) assert_true(is_null(f, "a", (int64_t)i));
  frame_free(f);

  /* near misses are values */
  f = read_text("a\n1\n NA\nna\nNone \nNAN\n");
  assert_string_equal(type_of(f, "a"), "string");
  assert_int_equal(col(f, "a")->null_count, 0);
  assert_null(col(f, "a")->validity);
  assert_string_equal(S(f, "a", 1), " NA");
  frame_free(f);

  /* nulls keep a column's type; nulls at the end, and in every position */
  f = read_text("i,f,b,s,t\n1,1.5,true,x,2020-01-01\nNA,,null,,NaN\n3,2.5,false,y,2020-01-02\n");
  assert_string_equal(type_of(f, "i"), "int64");
  assert_string_equal(type_of(f, "f"), "float64");
  assert_string_equal(type_of(f, "b"), "bool");
  assert_string_equal(type_of(f, "s"), "string");
  assert_string_equal(type_of(f, "t"), "timestamp");
  for (int k = 0; k < 5; k++) {
    assert_int_equal(f->cols[k].null_count, 1);
    assert_false(col_valid(&f->cols[k], 1));
    assert_true(col_valid(&f->cols[k], 0) && col_valid(&f->cols[k], 2));
  }
  assert_true(I(f, "i", 2) == 3);
  assert_int_equal(((const int64_t *)col(f, "i")->values)[1], 0); /* a null's value is 0 */
  assert_int_equal(((const int32_t *)col(f, "s")->values)[1], 0);
  frame_free(f);

  /* custom null strings, with and without the defaults */
  json_t *extra = json_pack("[s,s]", "-", "missing");
  csv_options o = CSV_OPTIONS_INIT;
  o.na_values = extra;
  f = read_opts("a,b\n1,-\nmissing,NA\n3,4\n", &o);
  assert_string_equal(type_of(f, "a"), "int64");
  assert_true(is_null(f, "a", 1) && is_null(f, "b", 0) && is_null(f, "b", 1));
  frame_free(f);
  o.keep_default_na = 0;
  f = read_opts("a,b,c\n1,-,\nmissing,NA,x\n3,4,y\n", &o);
  assert_string_equal(type_of(f, "a"), "int64");
  assert_string_equal(type_of(f, "b"), "string"); /* "NA" is text now */
  assert_string_equal(S(f, "b", 1), "NA");
  assert_string_equal(type_of(f, "c"), "string"); /* so is the empty field */
  assert_string_equal(S(f, "c", 0), "");
  frame_free(f);
  json_decref(extra);
  /* one string instead of an array; a bad value */
  json_t *one = json_string("zz");
  o = (csv_options)CSV_OPTIONS_INIT;
  o.na_values = one;
  f = read_opts("a\n1\nzz\n", &o);
  assert_true(is_null(f, "a", 1));
  frame_free(f);
  json_decref(one);
  json_t *bad = json_integer(3);
  o.na_values = bad;
  FAILS("a\n1\n", &o, ASSAY_ERR_CONFIG, "na_values");
  json_decref(bad);
}

/* --- shape ------------------------------------------------------------------------------- */

static void quoting(void **state) {
  (void)state;
  frame *f = read_text("a,b\n"
                       "\"x,1\",\"he said \"\"hi\"\"\"\n"
                       "\"multi\nline\",2\n"
                       "\"5\",3\n"
                       "\"ab\"cd,4\n"
                       "x\"y,5\n"
                       "\"\"\"\",\"a\r\nb\"\n");
  assert_int_equal(f->rows, 6);
  assert_string_equal(S(f, "a", 0), "x,1");
  assert_string_equal(S(f, "b", 0), "he said \"hi\"");
  assert_string_equal(S(f, "a", 1), "multi\nline");
  assert_string_equal(S(f, "a", 2), "5"); /* quoted or not, the column decides */
  assert_string_equal(S(f, "a", 3), "abcd"); /* text after the closing quote is kept */
  assert_string_equal(S(f, "a", 4), "x\"y"); /* a quote inside an unquoted field */
  assert_string_equal(S(f, "a", 5), "\"");
  assert_string_equal(S(f, "b", 5), "a\r\nb");
  frame_free(f);
  /* a quoted number is a number */
  f = read_text("n\n\"1\"\n\" 2\"\n3\n");
  assert_string_equal(type_of(f, "n"), "int64");
  assert_true(I(f, "n", 1) == 2);
  frame_free(f);
  /* an unclosed quote */
  FAILS("a,b\n1,2\n3,\"open\n4,5\n", NULL, ASSAY_ERR_DATA,
             "line 3: a quoted field is not closed");
}

static void line_endings_and_bom(void **state) {
  (void)state;
  frame *f = read_text("\xEF\xBB\xBF" "a,b\r\n1,x\r\n2,y\r\n");
  assert_string_equal(f->cols[0].name, "a");
  assert_int_equal(f->rows, 2);
  assert_string_equal(S(f, "b", 0), "x");
  assert_string_equal(S(f, "b", 1), "y");
  frame_free(f);
  f = read_text("a,b\r1,2\r3,4"); /* lone CRs, no final line break */
  assert_int_equal(f->rows, 2);
  assert_true(I(f, "b", 1) == 4);
  frame_free(f);
  f = read_text("a,b\n1,2"); /* no final line break */
  assert_int_equal(f->rows, 1);
  assert_true(I(f, "b", 0) == 2);
  frame_free(f);
  /* blank lines (also of spaces and tabs) are skipped, before the header too */
  f = read_text("\n\n  \na,b\n1,2\n\n \t \r\n3,4\n\n");
  assert_int_equal(f->rows, 2);
  assert_true(I(f, "a", 1) == 3);
  frame_free(f);
  /* but a quoted empty field is a row */
  f = read_text("a\n1\n\"\"\n2\n");
  assert_int_equal(f->rows, 3);
  assert_true(is_null(f, "a", 1));
  frame_free(f);
}

static void field_counts_and_headers(void **state) {
  (void)state;
  FAILS("a,b\n1,2\n1,2,3\n", NULL, ASSAY_ERR_DATA, "line 3: 3 fields, but the header has 2");
  FAILS("a,b\n1,2,\n", NULL, ASSAY_ERR_DATA, "line 2: 3 fields");
  /* the line counts line breaks inside quoted fields */
  FAILS("a,b\n\"x\ny\nz\",2\n1,2,3\n", NULL, ASSAY_ERR_DATA, "line 5:");
  frame *f = read_text("a,b,c\n1\n2,3\n4,5,6\n");
  assert_int_equal(f->rows, 3);
  assert_true(is_null(f, "b", 0) && is_null(f, "c", 0) && is_null(f, "c", 1));
  assert_true(I(f, "b", 1) == 3 && I(f, "c", 2) == 6);
  assert_int_equal(col(f, "c")->null_count, 2);
  frame_free(f);
  FAILS("a,b,a\n1,2,3\n", NULL, ASSAY_ERR_DATA, "\"a\" appears twice");
  f = read_text(",b,\n1,2,3\n");
  assert_string_equal(f->cols[0].name, "Unnamed: 0");
  assert_string_equal(f->cols[1].name, "b");
  assert_string_equal(f->cols[2].name, "Unnamed: 2");
  frame_free(f);
  f = read_text("\"a,1\",\"b\"\"\"\n1,2\n");
  assert_string_equal(f->cols[0].name, "a,1");
  assert_string_equal(f->cols[1].name, "b\"");
  frame_free(f);
  /* only a header: no rows */
  f = read_text("a,b\n");
  assert_int_equal(f->rows, 0);
  assert_int_equal(f->ncols, 2);
  assert_string_equal(type_of(f, "a"), "float64");
  frame_free(f);
  FAILS("", NULL, ASSAY_ERR_DATA, "empty");
  FAILS("\n\n  \n", NULL, ASSAY_ERR_DATA, "empty");
  FAILS("a\x00" "b,c\n1,2\n", NULL, ASSAY_ERR_DATA, "NUL");
  /* files that cannot be read */
  frame *g = NULL;
  char missing[4200];
  snprintf(missing, sizeof missing, "%s/none.csv", g_dir);
  assert_int_equal(csv_read(&g, missing, NULL), ASSAY_ERR_NOT_FOUND);
  assert_int_equal(csv_read(&g, g_dir, NULL), ASSAY_ERR_DATA);
  csv_options o = CSV_OPTIONS_INIT;
  o.delimiter = '"';
  FAILS("a\n", &o, ASSAY_ERR_CONFIG, "delimiter");
}

static void utf8(void **state) {
  (void)state;
  frame *f = read_text("name,city\n\xc3\xa9mile,M\xc3\xbcnchen\n\xe2\x98\x83,\xf0\x9f\x98\x80\n");
  assert_string_equal(S(f, "name", 0), "\xc3\xa9mile");
  assert_string_equal(S(f, "city", 1), "\xf0\x9f\x98\x80");
  frame_free(f);
  FAILS("a,b\n1,ok\n2,\xff\n", NULL, ASSAY_ERR_DATA, "line 3: column \"b\" is not valid UTF-8");
  FAILS("a,b\n1,\"x\ny\"\n2,\xc3\x28\n", NULL, ASSAY_ERR_DATA, "line 4:");
  FAILS("a,b\n\"p\nq\",\"ok\n\xed\xa0\x80\"\n", NULL, ASSAY_ERR_DATA, "line 4:");
  FAILS("a,\xc0\xaf\n1,2\n", NULL, ASSAY_ERR_DATA, "line 1: column 2's name");
  /* a number column with a bad byte becomes text, and is caught there */
  FAILS("a\n1\n2\xe2\x82\n", NULL, ASSAY_ERR_DATA, "line 3:");
}

static void delimiters_and_nrows(void **state) {
  (void)state;
  csv_options o = CSV_OPTIONS_INIT;
  o.delimiter = ';';
  frame *f = read_opts("a;b\n1,5;x\n2;\"y;z\"\n", &o);
  assert_string_equal(S(f, "a", 0), "1,5");
  assert_string_equal(S(f, "b", 1), "y;z");
  frame_free(f);
  o.delimiter = '\t';
  f = read_opts("a\tb\n1\t2\n", &o);
  assert_true(I(f, "b", 0) == 2);
  frame_free(f);
  o.delimiter = '|';
  f = read_opts("a|b\n1|2\n", &o);
  assert_true(I(f, "a", 0) == 1);
  frame_free(f);

  o = (csv_options)CSV_OPTIONS_INIT;
  o.nrows = 2;
  f = read_opts("a,b\n1,x\n2,y\nthree,z\n4,w\n", &o);
  assert_int_equal(f->rows, 2);
  assert_string_equal(type_of(f, "a"), "int64"); /* only the rows read count */
  frame_free(f);
  o.nrows = 10;
  f = read_opts("a\n1\n2\n", &o);
  assert_int_equal(f->rows, 2);
  frame_free(f);
  o.nrows = -1;
  FAILS("a\n", &o, ASSAY_ERR_CONFIG, "nrows");
}

static void loading_kwargs(void **state) {
  (void)state;
  csv_options o;
  json_t *kw = json_loads("{\"sep\": \";\", \"nrows\": 5, \"na_values\": [\"x\"], "
                          "\"keep_default_na\": false}", 0, NULL);
  assert_int_equal(csv_options_from_json(&o, kw), ASSAY_OK);
  assert_int_equal(o.delimiter, ';');
  assert_true(o.nrows == 5);
  assert_false(o.keep_default_na);
  assert_ptr_equal(o.na_values, json_object_get(kw, "na_values"));
  json_decref(kw);
  assert_int_equal(csv_options_from_json(&o, NULL), ASSAY_OK);
  assert_int_equal(o.delimiter, ',');
  assert_true(o.keep_default_na == 1 && o.nrows == 0 && !o.na_values);
  kw = json_loads("{\"delimiter\": \"\\t\", \"na_values\": \"-\", \"nrows\": null}", 0, NULL);
  assert_int_equal(csv_options_from_json(&o, kw), ASSAY_OK);
  assert_int_equal(o.delimiter, '\t');
  json_decref(kw);
  const char *bad[] = {"{\"sep\": \";;\"}",     "{\"sep\": 1}",           "{\"nrows\": 0}",
                       "{\"nrows\": \"5\"}",     "{\"na_values\": [1]}",   "{\"foo\": 1}",
                       "{\"keep_default_na\": 1}", "{\"sep\": \",\", \"delimiter\": \";\"}",
                       "{\"sep\": \"\\\"\"}",    "[1]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    kw = json_loads(bad[i], 0, NULL);
    assert_non_null(kw);
    if (csv_options_from_json(&o, kw) != ASSAY_ERR_CONFIG) fail_msg("%s was accepted", bad[i]);
    json_decref(kw);
  }
  kw = json_loads("{\"foo\": 1}", 0, NULL);
  csv_options_from_json(&o, kw);
  assert_msg_has("\"sep\", \"delimiter\", \"nrows\", \"na_values\", \"keep_default_na\"");
  json_decref(kw);
}

/* --- big files and threads ---------------------------------------------------------------- */

/* A file of `rows` records, some with quoted multi-line fields and long
 * fields so records span the 1 MiB read blocks; values follow from i. */
static char *big_csv(int rows, size_t *len) {
  size_t cap = (size_t)rows * 160 + 300000;
  char *t = malloc(cap);
  size_t n = (size_t)snprintf(t, cap, "id,name,x,flag,when,note\r\n");
  for (int i = 0; i < rows; i++) {
    char note[5000];
    if (i % 997 == 0) {
      memset(note, 'n', 3000); /* a long field */
      note[3000] = '\0';
    } else if (i % 50 == 0) {
      snprintf(note, sizeof note, "\"line one\nline \"\"two\"\"\r\nend %d\"", i);
    } else if (i % 7 == 0) {
      note[0] = '\0';
    } else {
      snprintf(note, sizeof note, "n%d", i % 300);
    }
    n += (size_t)snprintf(t + n, cap - n, "%d,user_%d,%d.%02d,%s,2021-03-%02dT%02d:00:00Z,%s\r\n",
                          i, i % 1000, i, i % 100, i % 3 ? "true" : "false", 1 + i % 28, i % 24,
                          note);
  }
  *len = n;
  return t;
}

static void big_file_and_threads(void **state) {
  (void)state;
  const int rows = 60000;
  size_t len;
  char *text = big_csv(rows, &len);
  assert_true(len > 3u << 20); /* several read blocks */
  const char *path = write_bytes("big.csv", text, len);
  setenv("ASSAY_CSV_THREADS", "1", 1);
  frame *one = NULL;
  if (csv_read(&one, path, NULL) != ASSAY_OK) fail_msg("%s", assay_error_last()->message);
  assert_int_equal(one->rows, rows);
  assert_string_equal(type_of(one, "id"), "int64");
  assert_string_equal(type_of(one, "x"), "float64");
  assert_string_equal(type_of(one, "flag"), "bool");
  assert_string_equal(type_of(one, "when"), "timestamp");
  assert_string_equal(type_of(one, "note"), "string");
  for (int i = 0; i < rows; i += 37) {
    assert_true(I(one, "id", i) == i);
    char want[64];
    snprintf(want, sizeof want, "user_%d", i % 1000);
    assert_string_equal(S(one, "name", i), want);
    snprintf(want, sizeof want, "%d.%02d", i, i % 100);
    assert_true(F(one, "x", i) == strtod(want, NULL));
    assert_int_equal(B(one, "flag", i), i % 3 != 0);
  }
  assert_string_equal(S(one, "note", 50), "line one\nline \"two\"\r\nend 50");
  assert_true(is_null(one, "note", 7));
  assert_int_equal(strlen(S(one, "note", 997)), 3000);
  for (int t = 2; t <= 8; t += 3) {
    char n[8];
    snprintf(n, sizeof n, "%d", t);
    setenv("ASSAY_CSV_THREADS", n, 1);
    frame *many = NULL;
    if (csv_read(&many, path, NULL) != ASSAY_OK) fail_msg("%s", assay_error_last()->message);
    assert_same_frame(one, many);
    frame_free(many);
  }
  frame_free(one);
  free(text);

  /* ranges starting inside a huge quoted field: read again by one thread */
  size_t cap = 4u << 20;
  text = malloc(cap);
  size_t n = (size_t)snprintf(text, cap, "a,b\n1,x\n2,\"");
  while (n < (3u << 20)) n += (size_t)snprintf(text + n, cap - n, "in quotes, line %zu\n", n);
  n += (size_t)snprintf(text + n, cap - n, "\"\n3,y\n");
  path = write_bytes("quoted.csv", text, n);
  setenv("ASSAY_CSV_THREADS", "4", 1);
  frame *f = NULL;
  if (csv_read(&f, path, NULL) != ASSAY_OK) fail_msg("%s", assay_error_last()->message);
  assert_int_equal(f->rows, 3);
  assert_true(I(f, "a", 2) == 3);
  const column *b = col(f, "b");
  int32_t code = ((const int32_t *)b->values)[1];
  assert_true(b->dict_offsets[code + 1] - b->dict_offsets[code] > (3 << 20) - 20);
  assert_memory_equal(b->dict_data + b->dict_offsets[code], "in quotes, line", 15);
  frame_free(f);
  free(text);

  /* errors found by a later range name the right line */
  text = big_csv(20000, &len);
  char *lines = malloc(len + 64);
  memcpy(lines, text, len);
  size_t m = len + (size_t)snprintf(lines + len, 64, "1,2,3,4,5,6,7\r\n");
  path = write_bytes("late.csv", lines, m);
  int64_t expect_line = 1; /* the header */
  for (size_t i = 0; i < len; i++) expect_line += text[i] == '\n';
  char needle[64];
  snprintf(needle, sizeof needle, "line %lld: 7 fields", (long long)expect_line);
  for (int t = 1; t <= 4; t += 3) {
    char tn[8];
    snprintf(tn, sizeof tn, "%d", t);
    setenv("ASSAY_CSV_THREADS", tn, 1);
    read_fails(lines, m, NULL, ASSAY_ERR_DATA, needle);
  }
  /* a bad byte late in the file */
  memcpy(lines, text, len);
  m = len + (size_t)snprintf(lines + len, 64, "9,\xff,1.0,true,2021-01-01,x\r\n");
  snprintf(needle, sizeof needle, "line %lld: column \"name\"", (long long)expect_line);
  for (int t = 1; t <= 4; t += 3) {
    char tn[8];
    snprintf(tn, sizeof tn, "%d", t);
    setenv("ASSAY_CSV_THREADS", tn, 1);
    read_fails(lines, m, NULL, ASSAY_ERR_DATA, needle);
  }
  unsetenv("ASSAY_CSV_THREADS");
  free(lines);
  free(text);
}

/* Columns whose values change kind late in the file, so that ranges read
 * by different threads guess differently (int then float, numbers then
 * text, bools then text, nulls then values): every thread count gives the
 * same frame, with the right values. */
static void types_settled_late(void **state) {
  (void)state;
  const int rows = 40000;
  size_t cap = (size_t)rows * 120 + 1000, n = 0;
  char *t = malloc(cap);
  n += (size_t)snprintf(t, cap, "i2f,i2s,b2s,n2i,s2n,big,f,t2s\n");
  for (int i = 0; i < rows; i++) {
    int late = i >= rows - 10; /* the last rows: in the last range */
    char i2f[32], i2s[32], b2s[32], n2i[32], s2n[32], big[32], t2s[32];
    snprintf(i2f, sizeof i2f, late ? "%d.5" : "%d", i);
    snprintf(i2s, sizeof i2s, late && i % 2 ? "x%d" : "%d", i);
    snprintf(b2s, sizeof b2s, "%s", late ? "maybe" : i % 2 ? "true" : "false");
    snprintf(n2i, sizeof n2i, i < rows / 2 ? "" : "%d", i);
    snprintf(s2n, sizeof s2n, i < 5 ? "s%d" : "%d", i);
    snprintf(big, sizeof big, i == rows - 1 ? "99999999999999999999" : "%d", -i);
    snprintf(t2s, sizeof t2s, late ? "soon" : "2021-01-%02dT00:00:00", 1 + i % 28);
    n += (size_t)snprintf(t + n, cap - n, "%s,%s,%s,%s,%s,%s,%d.25,%s\n", i2f, i2s, b2s, n2i, s2n,
                          big, i, t2s);
  }
  const char *path = write_bytes("late.csv", t, n);
  frame *ref = NULL;
  for (int threads = 1; threads <= 4; threads++) {
    char tn[8];
    snprintf(tn, sizeof tn, "%d", threads);
    setenv("ASSAY_CSV_THREADS", tn, 1);
    frame *f = NULL;
    if (csv_read(&f, path, NULL) != ASSAY_OK) fail_msg("%s", assay_error_last()->message);
    assert_string_equal(type_of(f, "i2f"), "float64");
    assert_true(F(f, "i2f", 7) == 7.0 && F(f, "i2f", rows - 1) == rows - 1 + 0.5);
    assert_string_equal(type_of(f, "i2s"), "string");
    assert_string_equal(S(f, "i2s", 7), "7");
    assert_string_equal(S(f, "i2s", rows - 1), "x39999");
    assert_string_equal(type_of(f, "b2s"), "string");
    assert_string_equal(S(f, "b2s", 1), "true");
    assert_string_equal(S(f, "b2s", rows - 1), "maybe");
    assert_string_equal(type_of(f, "n2i"), "int64");
    assert_true(is_null(f, "n2i", 0) && I(f, "n2i", rows - 1) == rows - 1);
    assert_int_equal(col(f, "n2i")->null_count, rows / 2);
    assert_string_equal(type_of(f, "s2n"), "string");
    assert_string_equal(S(f, "s2n", 100), "100");
    assert_string_equal(type_of(f, "big"), "float64");
    assert_true(F(f, "big", 3) == -3.0 && F(f, "big", rows - 1) == 1e20);
    assert_string_equal(type_of(f, "f"), "float64");
    assert_string_equal(type_of(f, "t2s"), "string");
    assert_string_equal(S(f, "t2s", 0), "2021-01-01T00:00:00");
    if (!ref) {
      ref = f;
    } else {
      /* the same table (dictionaries may be numbered differently) */
      assert_int_equal(f->rows, ref->rows);
      for (int k = 0; k < f->ncols; k++)
        for (int64_t i = 0; i < f->rows; i += 97) {
          const column *a = &f->cols[k], *b = &ref->cols[k];
          assert_int_equal(a->type, b->type);
          assert_int_equal(col_valid(a, i), col_valid(b, i));
          if (!col_valid(a, i)) continue;
          if (a->type == COL_STRING)
            assert_string_equal(S(f, a->name, i), S(ref, b->name, i));
          else
            assert_memory_equal((const char *)a->values + i * 8, (const char *)b->values + i * 8, 8);
        }
      frame_free(f);
    }
  }
  frame_free(ref);
  unsetenv("ASSAY_CSV_THREADS");
  free(t);
}

/* --- the writer -------------------------------------------------------------------------- */

static void write_round_trip(void **state) {
  (void)state;
  /* every type, nulls, strings needing quotes, non-finite and extreme floats */
  frame *f = read_text("i,f,b,s,t,g\n"
                       "1,0.1,True,\"a,b\",2020-01-01T10:00:00.123Z,1\n"
                       "-5,-inf,False,\"he said \"\"hi\"\"\",1969-12-31T23:59:59.999999999Z,2\n"
                       ",1e-310,,\"two\nlines\",,\n"
                       "9223372036854775807,1.7976931348623157e308,true,\" spaced \",2262-04-11,\n"
                       "3,2,false,plain,2020-01-01,4\n");
  assert_string_equal(type_of(f, "f"), "float64");
  assert_string_equal(type_of(f, "g"), "int64");
  const char *out = write_bytes("out.csv", "", 0);
  assert_int_equal(csv_write(f, out), ASSAY_OK);
  frame *back = NULL;
  if (csv_read(&back, out, NULL) != ASSAY_OK) fail_msg("%s", assay_error_last()->message);
  assert_same_frame(f, back);
  frame_free(back);
  frame_free(f);

  /* random doubles round-trip bit for bit; integral ones stay floats */
  json_t *vals = json_array();
  uint64_t seed = 7;
  for (int i = 0; i < 5000; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    double d;
    uint64_t bits = seed;
    memcpy(&d, &bits, 8);
    if (!isfinite(d)) d = (double)(int64_t)seed;
    if (i % 10 == 0) d = (double)(i - 2500);
    json_array_append_new(vals, json_real(d));
  }
  json_t *table = json_pack("{s:o}", "x", vals);
  assert_int_equal(frame_from_json(&f, table), ASSAY_OK);
  json_decref(table);
  assert_int_equal(csv_write(f, out), ASSAY_OK);
  assert_int_equal(csv_read(&back, out, NULL), ASSAY_OK);
  assert_same_frame(f, back);
  frame_free(back);
  frame_free(f);

  /* one column of nulls: each null row is written "" (a blank line would be
   * skipped) */
  f = read_text("a,b\n1,\n2,\n");
  frame *single = NULL;
  json_t *t2 = json_loads("{\"only\": [null, 1, null]}", 0, NULL);
  assert_int_equal(frame_from_json(&single, t2), ASSAY_OK);
  json_decref(t2);
  assert_int_equal(csv_write(single, out), ASSAY_OK);
  assert_int_equal(csv_read(&back, out, NULL), ASSAY_OK);
  assert_int_equal(back->rows, 3);
  assert_true(is_null(back, "only", 0) && !is_null(back, "only", 1));
  frame_free(back);
  frame_free(single);
  frame_free(f);
  /* no folder */
  f = read_text("a\n1\n");
  char bad[4200];
  snprintf(bad, sizeof bad, "%s/no/such.csv", g_dir);
  assert_int_equal(csv_write(f, bad), ASSAY_ERR_STORE);
  frame_free(f);
}

int main(void) {
  assay_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(type_inference, setup, teardown),
      cmocka_unit_test_setup_teardown(timestamps, setup, teardown),
      cmocka_unit_test_setup_teardown(numbers_exact, setup, teardown),
      cmocka_unit_test_setup_teardown(nulls, setup, teardown),
      cmocka_unit_test_setup_teardown(quoting, setup, teardown),
      cmocka_unit_test_setup_teardown(line_endings_and_bom, setup, teardown),
      cmocka_unit_test_setup_teardown(field_counts_and_headers, setup, teardown),
      cmocka_unit_test_setup_teardown(utf8, setup, teardown),
      cmocka_unit_test_setup_teardown(delimiters_and_nrows, setup, teardown),
      cmocka_unit_test(loading_kwargs),
      cmocka_unit_test_setup_teardown(big_file_and_threads, setup, teardown),
      cmocka_unit_test_setup_teardown(types_settled_late, setup, teardown),
      cmocka_unit_test_setup_teardown(write_round_trip, setup, teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  assay_shutdown();
  return rc;
}
