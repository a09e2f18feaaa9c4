/* engine/tests_abnormal.c — the ABNORMAL_INPUTS category: evaluation rows
 * checked against the reference (numeric outliers, out-of-range values,
 * unseen and rare categories, nulls, empty strings, type mismatches,
 * capitalisation variants), each with the share of evaluation rows
 * affected and, when the run has labels and predictions, the task's
 * headline metric (accuracy, or MAE for regression) on the affected rows
 * against all rows.
 *
 * Categorical checks flag unified category codes once (per code, not per
 * row) and then count the evaluation rows whose code is flagged; numeric
 * checks read the column in chunks of doubles. One feature per task on the
 * run's threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/frame_impl.h"
#include "engine/tests_util.h"

/* --- performance on affected rows ----------------------------------------------------------- */

typedef struct perf_ctx {
  int mode;                  /* 0 none, 1 accuracy (classification), 2 MAE (regression) */
  const int32_t *label, *pred;
  const double *y, *p;
  double overall;
} perf_ctx;

typedef struct perf_acc {
  double n, good;            /* rows with label and prediction; correct ones */
  double sum, comp;          /* |y - p| (Neumaier) */
} perf_acc;

static inline void perf_add(const perf_ctx *p, perf_acc *a, int64_t i) {
  if (p->mode == 1) {
    int32_t l = p->label[i], q = p->pred[i];
    if (l >= 0 && q >= 0) {
      a->n += 1;
      a->good += l == q;
    }
  } else if (p->mode == 2) {
    double y = p->y[i], q = p->p[i];
    if (!isnan(y) && !isnan(q)) {
      double d = fabs(y - q), t = a->sum + d;
      if (fabs(a->sum) >= d) a->comp += (a->sum - t) + d;
      else a->comp += (d - t) + a->sum;
      a->sum = t;
      a->n += 1;
    }
  }
}

static double perf_value(const perf_ctx *p, const perf_acc *a) {
  if (!p->mode || a->n < 1) return NAN;
  return p->mode == 1 ? a->good / a->n : (a->sum + a->comp) / a->n;
}

static void perf_init(stress_ctx *c, perf_ctx *p) {
  memset(p, 0, sizeof *p);
  const stress_side *e = &c->side[1];
  if (c->task == TASK_REGRESSION) {
    if (e->label_value && e->score) {
      p->mode = 2;
      p->y = e->label_value;
      p->p = e->score;
    }
  } else if (e->label_class && e->pred_class) {
    p->mode = 1;
    p->label = e->label_class;
    p->pred = e->pred_class;
  }
  if (!p->mode) return;
  perf_acc a = {0, 0, 0, 0};
  for (int64_t i = 0; i < e->n; i++) perf_add(p, &a, i);
  p->overall = perf_value(p, &a);
}

/* --- the job ------------------------------------------------------------------------------- */

typedef struct ab_job ab_job;
/* One feature's case (NULL: out of memory). */
typedef json_t *(*ab_one_fn)(ab_job *j, stress_feature *f);

struct ab_job {
  stress_ctx *c;
  const test_def *def;
  const json_t *test;
  perf_ctx perf;
  ab_one_fn one;
  int *feat;
  json_t **cases;
};

/* The case of a check: the value judged (share_affected: rows / eval rows,
 * or for null_check and empty_strings the rise of the share), the rows
 * affected, and the performance on them (all null when none of them has a
 * label and a prediction). */
static json_t *affected_case(ab_job *j, const char *feature, double value, int64_t rows,
                             const perf_acc *a) {
  json_t *tc = stress_case(j->test, feature, value);
  if (!tc) return NULL;
  stress_metric(tc, j->def && j->def->metric ? j->def->metric : "share_affected", value);
  stress_metric(tc, "rows_affected", (double)rows);
  if (j->perf.mode) {
    double pa = perf_value(&j->perf, a);
    stress_metric(tc, "performance_affected", pa);
    stress_metric(tc, "performance_overall", isnan(pa) ? NAN : j->perf.overall);
    stress_metric(tc, "performance_change", pa - j->perf.overall);
  }
  return tc;
}

/* Evaluation rows whose value lies outside [lo, hi] (nulls never). */
static int64_t scan_range(ab_job *j, const column *col, double lo, double hi, perf_acc *a) {
  int64_t n = j->c->side[1].n, rows = 0;
  double buf[TU_CHUNK];
  for (int64_t s = 0; s < n; s += TU_CHUNK) {
    int len = (int)(n - s < TU_CHUNK ? n - s : TU_CHUNK);
    const double *x = tu_num_view(col, s, len, buf);
    if (!j->perf.mode) {
      for (int k = 0; k < len; k++) rows += (x[k] < lo) | (x[k] > hi);
    } else {
      for (int k = 0; k < len; k++)
        if (x[k] < lo || x[k] > hi) {
          rows++;
          perf_add(&j->perf, a, s + k);
        }
    }
  }
  return rows;
}

/* Evaluation rows whose unified code is flagged. */
static int64_t scan_codes(ab_job *j, const int32_t *codes, const uint8_t *flags, perf_acc *a) {
  int64_t n = j->c->side[1].n, rows = 0;
  for (int64_t i = 0; i < n; i++) {
    int32_t v = codes[i];
    if (v >= 0 && flags[v]) {
      rows++;
      if (j->perf.mode) perf_add(&j->perf, a, i);
    }
  }
  return rows;
}

/* Evaluation rows that are null. */
static int64_t scan_nulls(ab_job *j, const column *col, perf_acc *a) {
  if (!col->validity || col->null_count == 0) return 0;
  if (!j->perf.mode) return col->null_count;
  int64_t n = j->c->side[1].n, rows = 0;
  for (int64_t i = 0; i < n; i++)
    if (!col_valid(col, i)) {
      rows++;
      perf_add(&j->perf, a, i);
    }
  return rows;
}

/* Common preconditions: the evaluation has the column and rows. */
static json_t *precheck(ab_job *j, stress_feature *f, int need_codes) {
  if (!f->eval_col || (need_codes && !f->eval_codes))
    return stress_case_skip(f->name, "the evaluation data has no such column");
  if (j->c->side[1].n == 0) return stress_case_skip(f->name, "the evaluation has no rows");
  return NULL;
}

/* --- numeric checks ------------------------------------------------------------------------ */

static json_t *range_case(ab_job *j, stress_feature *f, int outliers) {
  json_t *tc = precheck(j, f, 0);
  if (tc) return tc;
  const stress_numstats *st = stress_ref_stats(j->c, f);
  if (!st) return NULL;
  if (st->n == 0) return stress_case_skip(f->name, "the reference has no non-null values");
  double lo = st->min, hi = st->max;
  double q1 = NAN, q3 = NAN;
  if (outliers) {
    q1 = st->q1;
    q3 = st->q3;
    double iqr = q3 - q1;
    if (iqr > 0 && isfinite(iqr)) {
      lo = q1 - 3 * iqr;
      hi = q3 + 3 * iqr;
    }
  }
  perf_acc a = {0, 0, 0, 0};
  int64_t rows = scan_range(j, f->eval_col, lo, hi, &a);
  tc = affected_case(j, f->name, (double)rows / (double)j->c->side[1].n, rows, &a);
  if (tc) {
    stress_metric(tc, "lower_bound", lo);
    stress_metric(tc, "upper_bound", hi);
    if (outliers) {
      stress_metric(tc, "q1", q1);
      stress_metric(tc, "q3", q3);
    }
  }
  return tc;
}

static json_t *outliers_one(ab_job *j, stress_feature *f) { return range_case(j, f, 1); }
static json_t *out_of_range_one(ab_job *j, stress_feature *f) { return range_case(j, f, 0); }

/* --- categorical checks -------------------------------------------------------------------- */

/* flags[ncat] for a code-flag check, zeroed (NULL when out of memory). */
static uint8_t *new_flags(stress_feature *f) {
  return calloc((size_t)(f->ncat > 0 ? f->ncat : 1), 1);
}

static json_t *flags_case(ab_job *j, stress_feature *f, uint8_t *flags) {
  perf_acc a = {0, 0, 0, 0};
  int64_t rows = scan_codes(j, f->eval_codes, flags, &a);
  free(flags);
  return affected_case(j, f->name, (double)rows / (double)j->c->side[1].n, rows, &a);
}

static json_t *unseen_one(ab_job *j, stress_feature *f) {
  json_t *tc = precheck(j, f, 1);
  if (tc) return tc;
  uint8_t *flags = new_flags(f);
  if (!flags) return NULL;
  for (int32_t k = f->ncat_ref; k < f->ncat; k++) flags[k] = 1;
  tc = flags_case(j, f, flags);
  if (tc) stress_metric(tc, "num_unseen_categories", (double)(f->ncat - f->ncat_ref));
  return tc;
}

static json_t *rare_one(ab_job *j, stress_feature *f) {
  json_t *tc = precheck(j, f, 1);
  if (tc) return tc;
  double thr = tu_opt_num(j->test, "rare_threshold", 0.001);
  uint8_t *flags = new_flags(f);
  int64_t *cnt = calloc((size_t)(f->ncat_ref > 0 ? f->ncat_ref : 1), sizeof *cnt);
  if (!flags || !cnt) {
    free(flags), free(cnt);
    return NULL;
  }
  int64_t total = j->c->side[0].n; /* a category's share: its count / reference rows */
  for (int64_t i = 0; i < total; i++) {
    int32_t v = f->ref_codes[i];
    if (v >= 0 && v < f->ncat_ref) cnt[v]++;
  }
  int32_t nrare = 0;
  for (int32_t k = 0; k < f->ncat_ref && total > 0; k++) {
    double share = (double)cnt[k] / (double)total;
    if (share > 0 && share < thr) flags[k] = 1, nrare++;
  }
  free(cnt);
  tc = flags_case(j, f, flags);
  if (tc) {
    stress_metric(tc, "num_rare_categories", (double)nrare);
    stress_metric(tc, "rare_threshold", thr);
  }
  return tc;
}

static int is_space(unsigned char ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* Trim ASCII whitespace around s (length *n). */
static const char *trim_ws(const char *s, size_t *n) {
  size_t a = 0, b = *n;
  while (a < b && is_space((unsigned char)s[a])) a++;
  while (b > a && is_space((unsigned char)s[b - 1])) b--;
  *n = b - a;
  return s + a;
}

static json_t *empty_strings_one(ab_job *j, stress_feature *f) {
  json_t *tc = precheck(j, f, 1);
  if (tc) return tc;
  uint8_t *flags = new_flags(f);
  if (!flags) return NULL;
  for (int32_t k = 0; k < f->ncat; k++) {
    const char *s = f->cat_names[k];
    size_t n = s ? strlen(s) : 0;
    trim_ws(s ? s : "", &n);
    flags[k] = n == 0;
  }
  int64_t ref_rows = 0, nr = j->c->side[0].n;
  for (int64_t i = 0; i < nr; i++) {
    int32_t v = f->ref_codes[i];
    ref_rows += v >= 0 && flags[v];
  }
  perf_acc a = {0, 0, 0, 0};
  int64_t rows = scan_codes(j, f->eval_codes, flags, &a);
  free(flags);
  double rs = nr > 0 ? (double)ref_rows / (double)nr : 0.0;
  double es = (double)rows / (double)j->c->side[1].n;
  tc = affected_case(j, f->name, es - rs > 0 ? es - rs : 0.0, rows, &a);
  if (tc) {
    stress_metric(tc, "ref_share", rs);
    stress_metric(tc, "eval_share", es);
  }
  return tc;
}

/* Case-folded, trimmed text: hash and comparison. */
static uint64_t fold_hash(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch >= 'A' && ch <= 'Z') ch = (unsigned char)(ch + 32);
    h = (h ^ ch) * 0x100000001b3ull;
  }
  return fx_hash_u64(h);
}

static int fold_eq(const char *a, size_t na, const char *b, size_t nb) {
  if (na != nb) return 0;
  for (size_t i = 0; i < na; i++) {
    unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
    if (x >= 'A' && x <= 'Z') x = (unsigned char)(x + 32);
    if (y >= 'A' && y <= 'Z') y = (unsigned char)(y + 32);
    if (x != y) return 0;
  }
  return 1;
}

static json_t *capitalization_one(ab_job *j, stress_feature *f) {
  json_t *tc = precheck(j, f, 1);
  if (tc) return tc;
  uint8_t *flags = new_flags(f);
  if (!flags) return NULL;
  int32_t nvariants = 0;
  if (f->ncat > f->ncat_ref && f->ncat_ref > 0) {
    size_t cap = 16;
    while (cap < (size_t)f->ncat_ref * 2) cap *= 2;
    int32_t *slots = malloc(cap * sizeof *slots);
    if (!slots) {
      free(flags);
      return NULL;
    }
    memset(slots, 0xff, cap * sizeof *slots); /* -1: empty */
    for (int32_t k = 0; k < f->ncat_ref; k++) {
      size_t n = strlen(f->cat_names[k]);
      const char *s = trim_ws(f->cat_names[k], &n);
      size_t h = (size_t)fold_hash(s, n) & (cap - 1);
      while (slots[h] >= 0) h = (h + 1) & (cap - 1);
      slots[h] = k; /* duplicates of a folded text are harmless */
    }
    for (int32_t k = f->ncat_ref; k < f->ncat; k++) {
      size_t n = strlen(f->cat_names[k]);
      const char *s = trim_ws(f->cat_names[k], &n);
      if (n == 0) continue; /* blank values are empty_strings' */
      size_t h = (size_t)fold_hash(s, n) & (cap - 1);
      for (; slots[h] >= 0; h = (h + 1) & (cap - 1)) {
        size_t m = strlen(f->cat_names[slots[h]]);
        const char *t = trim_ws(f->cat_names[slots[h]], &m);
        if (fold_eq(s, n, t, m)) {
          flags[k] = 1;
          nvariants++;
          break;
        }
      }
    }
    free(slots);
  }
  tc = flags_case(j, f, flags);
  if (tc) stress_metric(tc, "num_variants", (double)nvariants);
  return tc;
}

/* --- nulls --------------------------------------------------------------------------------- */

static json_t *null_check_one(ab_job *j, stress_feature *f) {
  json_t *tc = precheck(j, f, 0);
  if (tc) return tc;
  perf_acc a = {0, 0, 0, 0};
  int64_t rows = scan_nulls(j, f->eval_col, &a);
  double nr = (double)j->c->side[0].n;
  double rs = nr > 0 ? (double)f->ref_col->null_count / nr : 0.0;
  double es = (double)rows / (double)j->c->side[1].n;
  tc = affected_case(j, f->name, es - rs > 0 ? es - rs : 0.0, rows, &a);
  if (tc) {
    stress_metric(tc, "ref_null_share", rs);
    stress_metric(tc, "eval_null_share", es);
  }
  return tc;
}

/* --- type mismatch ------------------------------------------------------------------------- */

enum { TM_NONE = 0, TM_ALL, TM_INT, TM_01, TM_TEXT };

/* How evaluation values of type et are checked against reference type rt. */
static int mismatch_kind(col_type rt, col_type et) {
  if (rt == et || rt == COL_STRING) return TM_NONE;
  if (et == COL_STRING) return TM_TEXT;
  switch (rt) {
    case COL_INT64: return et == COL_FLOAT64 ? TM_INT : TM_ALL;
    case COL_FLOAT64: return et == COL_INT64 ? TM_NONE : TM_ALL;
    case COL_BOOL: return (et == COL_INT64 || et == COL_FLOAT64) ? TM_01 : TM_ALL;
    default: return TM_ALL; /* timestamps: numbers and bools are not times */
  }
}

/* Whether text is a value of type rt (the CSV reader's syntax). */
static int text_is(col_type rt, const char *s, size_t n) {
  switch (rt) {
    case COL_INT64: {
      int64_t v;
      int overflow;
      return fx_parse_int(s, n, &v, &overflow);
    }
    case COL_FLOAT64: {
      double v;
      return fx_parse_float(s, n, &v);
    }
    case COL_BOOL: {
      uint8_t v;
      return fx_parse_bool(s, n, &v);
    }
    case COL_TIMESTAMP: {
      int64_t v;
      return fx_parse_timestamp(s, n, &v);
    }
    default: return 1;
  }
}

static json_t *type_mismatch_one(ab_job *j, stress_feature *f) {
  json_t *tc = precheck(j, f, 0);
  if (tc) return tc;
  const column *ev = f->eval_col;
  int kind = mismatch_kind(f->ref_col->type, ev->type);
  int64_t n = j->c->side[1].n, rows = 0;
  perf_acc a = {0, 0, 0, 0};
  if (kind == TM_ALL) {
    for (int64_t i = 0; i < n; i++)
      if (col_valid(ev, i)) {
        rows++;
        if (j->perf.mode) perf_add(&j->perf, &a, i);
      }
  } else if (kind == TM_INT || kind == TM_01) {
    double buf[TU_CHUNK];
    for (int64_t s = 0; s < n; s += TU_CHUNK) {
      int len = (int)(n - s < TU_CHUNK ? n - s : TU_CHUNK);
      const double *xs = tu_num_view(ev, s, len, buf);
      for (int k = 0; k < len; k++) {
        double x = xs[k];
        if (isnan(x)) continue;
        int bad = kind == TM_01 ? (x != 0 && x != 1)
                                : !(x == trunc(x) && x >= -9223372036854775808.0 &&
                                    x < 9223372036854775808.0);
        if (bad) {
          rows++;
          if (j->perf.mode) perf_add(&j->perf, &a, s + k);
        }
      }
    }
  } else if (kind == TM_TEXT) {
    uint8_t *bad = malloc((size_t)(ev->dict_count > 0 ? ev->dict_count : 1));
    if (!bad) return NULL;
    for (int64_t d = 0; d < ev->dict_count; d++) {
      const char *s = ev->dict_data + ev->dict_offsets[d];
      size_t len = (size_t)(ev->dict_offsets[d + 1] - ev->dict_offsets[d]);
      bad[d] = !text_is(f->ref_col->type, s, len);
    }
    const int32_t *codes = ev->values;
    for (int64_t i = 0; i < n; i++)
      if (col_valid(ev, i) && codes[i] >= 0 && codes[i] < ev->dict_count && bad[codes[i]]) {
        rows++;
        if (j->perf.mode) perf_add(&j->perf, &a, i);
      }
    free(bad);
  }
  tc = affected_case(j, f->name, (double)rows / (double)n, rows, &a);
  if (tc)
    json_object_set_new(tc, "details", json_pack("{s:s, s:s}", "ref_type",
                                                 col_type_name(f->ref_col->type), "eval_type",
                                                 col_type_name(ev->type)));
  return tc;
}

/* --- running a check over the features ------------------------------------------------------- */

static int ab_task(void *arg, int i) {
  ab_job *j = arg;
  if (stress_cancelled(j->c)) return tu_cancelled();
  json_t *tc = j->one(j, &j->c->features[j->feat[i]]);
  if (!tc) return assay__nomem();
  j->cases[i] = tc;
  return 0;
}

enum { APPLY_ALL = 0, APPLY_NUMERIC, APPLY_CATEGORICAL, APPLY_STRING };

static int run_check(stress_ctx *c, const test_def *def, const json_t *test, json_t *batch,
                     int applies, ab_one_fn one) {
  int *feat = malloc(((size_t)c->nfeatures + 1) * sizeof *feat);
  json_t **cases = calloc((size_t)c->nfeatures + 1, sizeof *cases);
  if (!feat || !cases) {
    free(feat), free(cases);
    return assay__nomem();
  }
  int n = 0;
  for (int i = 0; i < c->nfeatures; i++) {
    stress_feature *f = &c->features[i];
    int ok = applies == APPLY_ALL ||
             (applies == APPLY_NUMERIC && !f->categorical) ||
             (applies == APPLY_CATEGORICAL && f->categorical) ||
             (applies == APPLY_STRING && f->categorical && f->ref_col->type == COL_STRING);
    if (ok && !stress_excluded(test, f->name)) feat[n++] = i;
  }
  ab_job j = {c, def, test, {0}, one, feat, cases};
  if (n) perf_init(c, &j.perf);
  int rc = n ? stress_parallel(c, n, ab_task, &j) : 0;
  if (!rc) rc = tu_append_cases(batch, cases, n);
  for (int i = 0; i < n; i++) json_decref(cases[i]);
  free(cases);
  free(feat);
  return rc;
}

#define CHECK(name, applies, one)                                                          \
  static int name(stress_ctx *c, const test_def *def, const json_t *test, json_t *batch) { \
    return run_check(c, def, test, batch, applies, one);                                   \
  }
CHECK(numeric_outliers, APPLY_NUMERIC, outliers_one)
CHECK(out_of_range, APPLY_NUMERIC, out_of_range_one)
CHECK(unseen_categories, APPLY_CATEGORICAL, unseen_one)
CHECK(rare_categories, APPLY_CATEGORICAL, rare_one)
CHECK(null_check, APPLY_ALL, null_check_one)
CHECK(empty_strings, APPLY_STRING, empty_strings_one)
CHECK(type_mismatch, APPLY_ALL, type_mismatch_one)
CHECK(capitalization, APPLY_STRING, capitalization_one)
#undef CHECK

stress_test_fn tests_abnormal_find(const char *type) {
  static const struct {
    const char *type;
    stress_test_fn fn;
  } table[] = {
      {"numeric_outliers", numeric_outliers},   {"out_of_range", out_of_range},
      {"unseen_categories", unseen_categories}, {"rare_categories", rare_categories},
      {"null_check", null_check},               {"empty_strings", empty_strings},
      {"type_mismatch", type_mismatch},         {"capitalization", capitalization},
  };
  if (!type) return NULL;
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].type, type) == 0) return table[i].fn;
  return NULL;
}
