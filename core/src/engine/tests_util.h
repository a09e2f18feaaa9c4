/* engine/tests_util.h — small helpers shared by the data-level test modules
 * (tests_drift.c, tests_abnormal.c, tests_cleanliness.c): numeric columns
 * read in chunks as doubles, counting a sorted sample into bins, bin
 * labels, options of a normalized test entry, and the cancellation error.
 * Header-only (static inline); not installed. */
#ifndef ASSAY_ENGINE_TESTS_UTIL_H
#define ASSAY_ENGINE_TESTS_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/stress_internal.h"
#include "internal.h"

/* Rows per chunk of the column loops (a chunk of doubles stays in L1/L2). */
#define TU_CHUNK 2048

/* Rows [start, start + len) of a numeric column as doubles, NAN for nulls
 * (int64, timestamp (ns), bool, float64 read directly; any other type —
 * a string column in place of a numeric one — through stress_num). */
static inline void tu_num_chunk(const column *col, int64_t start, int len, double *out) {
  switch (col->type) {
    case COL_FLOAT64: {
      const double *v = (const double *)col->values + start;
      memcpy(out, v, (size_t)len * sizeof *out);
      break;
    }
    case COL_INT64:
    case COL_TIMESTAMP: {
      const int64_t *v = (const int64_t *)col->values + start;
      for (int k = 0; k < len; k++) out[k] = (double)v[k];
      break;
    }
    case COL_BOOL: {
      const uint8_t *v = (const uint8_t *)col->values + start;
      for (int k = 0; k < len; k++) out[k] = v[k] ? 1.0 : 0.0;
      break;
    }
    default:
      for (int k = 0; k < len; k++) out[k] = stress_num(col, start + k);
      return;
  }
  if (col->validity && col->null_count > 0) {
    for (int k = 0; k < len; k++)
      if (!col_valid(col, start + k)) out[k] = NAN;
  }
}

/* The same rows without a copy when the column allows it: a float64 column
 * without nulls is read in place (the pointer into its values), any other
 * is converted into buf (tu_num_chunk). */
static inline const double *tu_num_view(const column *col, int64_t start, int len, double *buf) {
  if (col->type == COL_FLOAT64 && (!col->validity || col->null_count == 0))
    return (const double *)col->values + start;
  tu_num_chunk(col, start, len, buf);
  return buf;
}

/* Vectors of two doubles / two 64-bit integers (GCC / Clang vector
 * extensions; one SSE2 register each on x86-64). A comparison gives -1
 * (all ones) where true. Loads go through memcpy (no alignment needed). */
typedef double tu_v2d __attribute__((vector_size(16)));
typedef long long tu_v2l __attribute__((vector_size(16)));
#define TU_LOAD2(v, p) memcpy(&(v), (p), sizeof(v))

/* out[k] = the number of the m edges strictly below x[k] (stats_bin_of's
 * bin: (-inf, e1], (e1, e2], ..., (em, +inf)) for len values (NaN: 0;
 * callers skip NaN themselves). Four values at a time, edge by edge, when
 * m <= 16; a binary search per value otherwise. */
static inline void tu_bins(const double *x, int len, const double *e, size_t m, int32_t *out) {
  int k = 0;
  if (m <= 16) {
    tu_v2d ev[16];
    for (size_t j = 0; j < m; j++) ev[j] = (tu_v2d){e[j], e[j]};
    for (; k + 4 <= len; k += 4) {
      tu_v2d a, b;
      TU_LOAD2(a, x + k);
      TU_LOAD2(b, x + k + 2);
      tu_v2l ca = {0, 0}, cb = {0, 0};
      for (size_t j = 0; j < m; j++) {
        ca -= (tu_v2l)(a > ev[j]);
        cb -= (tu_v2l)(b > ev[j]);
      }
      out[k] = (int32_t)ca[0];
      out[k + 1] = (int32_t)ca[1];
      out[k + 2] = (int32_t)cb[0];
      out[k + 3] = (int32_t)cb[1];
    }
  }
  for (; k < len; k++) {
    size_t lo = 0, hi = m;
    double v = x[k];
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (e[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    out[k] = (int32_t)lo;
  }
}

/* Counts of a numeric column's finite values in the bins of the m edges
 * (counts[m + 1]) and how many there are (*n). Nulls, NaN and infinities
 * are left out (as in the quantile edges). With m <= 16, no value is
 * binned: per edge, how many values lie above it (vector compares summed),
 * and a bin's count is the difference of its two edges' (the finite ones:
 * +inf lies above every edge, and is taken off). */
static inline void tu_count_column(const column *col, int64_t rows, const double *edges, size_t m,
                                   double *counts, size_t *n) {
  double buf[TU_CHUNK];
  int64_t total = 0;
  if (m <= 16) {
    tu_v2d ev[16];
    tu_v2l above[16], fin = {0, 0}, pinf = {0, 0};
    for (size_t j = 0; j < m; j++) {
      ev[j] = (tu_v2d){edges[j], edges[j]};
      above[j] = (tu_v2l){0, 0};
    }
    const tu_v2d big = {1.7976931348623157e308, 1.7976931348623157e308};
    const tu_v2d inf = {INFINITY, INFINITY};
    int64_t gt[17] = {0}, tail_fin = 0, tail_pinf = 0;
    for (int64_t s = 0; s < rows; s += TU_CHUNK) {
      int len = (int)(rows - s < TU_CHUNK ? rows - s : TU_CHUNK);
      const double *x = tu_num_view(col, s, len, buf);
      int k = 0;
      for (; k + 2 <= len; k += 2) {
        tu_v2d v;
        TU_LOAD2(v, x + k);
        fin -= (tu_v2l)(v <= big) & (tu_v2l)(v >= -big);
        pinf -= (tu_v2l)(v == inf);
        for (size_t j = 0; j < m; j++) above[j] -= (tu_v2l)(v > ev[j]);
      }
      for (; k < len; k++) {
        double v = x[k];
        tail_fin += isfinite(v);
        tail_pinf += v == INFINITY;
        for (size_t j = 0; j < m; j++) gt[j] += v > edges[j];
      }
    }
    int64_t nf = tail_fin + fin[0] + fin[1];
    int64_t np = tail_pinf + pinf[0] + pinf[1];
    for (size_t j = 0; j < m; j++) gt[j] += above[j][0] + above[j][1] - np;
    /* gt[j]: finite values above edge j */
    int64_t prev = nf;
    for (size_t j = 0; j < m; j++) {
      counts[j] = (double)(prev - gt[j]);
      prev = gt[j];
    }
    counts[m] = (double)prev;
    *n = (size_t)nf;
    return;
  }
  int32_t bins[TU_CHUNK];
  int64_t *c = calloc(m + 1, sizeof *c);
  if (!c) { /* cannot happen for the engine's <= 100 bins */
    *n = 0;
    memset(counts, 0, (m + 1) * sizeof *counts);
    return;
  }
  for (int64_t s = 0; s < rows; s += TU_CHUNK) {
    int len = (int)(rows - s < TU_CHUNK ? rows - s : TU_CHUNK);
    const double *x = tu_num_view(col, s, len, buf);
    tu_bins(x, len, edges, m, bins);
    for (int k = 0; k < len; k++) {
      int ok = isfinite(x[k]);
      c[ok ? bins[k] : 0] += ok;
      total += ok;
    }
  }
  for (size_t j = 0; j <= m; j++) counts[j] = (double)c[j];
  *n = (size_t)total;
  free(c);
}

/* Counts of the finite values among n per-row bin codes (stress_bins:
 * 0..m a bin, other codes null or infinite) into counts[m + 1], and their
 * total (*total). */
static inline void tu_count_bins(const uint8_t *b, int64_t n, size_t m, double *counts,
                                 size_t *total) {
  int64_t h[4][256];
  memset(h, 0, sizeof h);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) { /* four tables: no chain through one counter */
    h[0][b[i]]++;
    h[1][b[i + 1]]++;
    h[2][b[i + 2]]++;
    h[3][b[i + 3]]++;
  }
  for (; i < n; i++) h[0][b[i]]++;
  int64_t t = 0;
  for (size_t j = 0; j <= m && j < 256; j++) {
    int64_t v = h[0][j] + h[1][j] + h[2][j] + h[3][j];
    counts[j] = (double)v;
    t += v;
  }
  *total = (size_t)t;
}

/* How many of the n sorted values are <= x (NaN x: 0). */
static inline size_t tu_upper(const double *s, size_t n, double x) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Counts of a sorted sample in the bins (-inf, e1], (e1, e2], ..., (em,
 * +inf) (stats_bin_of's bins): counts[m + 1]. O(m log n). */
static inline void tu_count_sorted(const double *s, size_t n, const double *edges, size_t m,
                                   double *counts) {
  size_t prev = 0;
  for (size_t j = 0; j < m; j++) {
    size_t u = tu_upper(s, n, edges[j]);
    if (u < prev) u = prev; /* a NaN edge (infinite reference values) */
    counts[j] = (double)(u - prev);
    prev = u;
  }
  counts[m] = (double)(n - prev);
}

/* Label of bin j of m edges: "(-inf, e1]", "(e1, e2]", ..., "(em, inf)"
 * (%.6g), "(-inf, inf)" when there are no edges. */
static inline void tu_bin_label(char *buf, size_t size, const double *edges, size_t m, size_t j) {
  char lo[40], hi[40];
  if (j == 0) snprintf(lo, sizeof lo, "-inf");
  else snprintf(lo, sizeof lo, "%.6g", edges[j - 1]);
  if (j == m) snprintf(hi, sizeof hi, "inf");
  else snprintf(hi, sizeof hi, "%.6g", edges[j]);
  snprintf(buf, size, "(%s, %s%s", lo, hi, j == m ? ")" : "]");
}

/* An option of a normalized test entry, or its default. */
static inline double tu_opt_num(const json_t *test, const char *key, double dflt) {
  const json_t *v = json_object_get(test, key);
  return json_is_number(v) ? json_number_value(v) : dflt;
}
static inline const char *tu_opt_str(const json_t *test, const char *key, const char *dflt) {
  const char *s = json_string_value(json_object_get(test, key));
  return s ? s : dflt;
}

/* Set a case's features to [a, b]. */
static inline void tu_set_pair(json_t *tc, const char *a, const char *b) {
  json_object_set_new(tc, "features", json_pack("[ss]", a, b));
}

/* The error of a cancelled run. */
static inline int tu_cancelled(void) {
  return assay__err(ASSAY_ERR_UNAVAILABLE, "stress test cancelled");
}

/* The batch's "metrics" object (created when absent). */
static inline json_t *tu_batch_metrics(json_t *batch) {
  json_t *m = json_object_get(batch, "metrics");
  if (!json_is_object(m)) {
    m = json_object();
    json_object_set_new(batch, "metrics", m);
  }
  return m;
}

/* Append cases[0..n) (non-NULL ones; references stolen) to the batch's
 * test_cases. */
static inline int tu_append_cases(json_t *batch, json_t **cases, int n) {
  json_t *arr = json_object_get(batch, "test_cases");
  if (!json_is_array(arr)) {
    arr = json_array();
    json_object_set_new(batch, "test_cases", arr);
  }
  int rc = 0;
  for (int i = 0; i < n; i++) {
    if (!cases[i]) continue;
    if (json_array_append_new(arr, cases[i]) != 0) rc = assay__nomem();
    cases[i] = NULL;
  }
  return rc;
}

/* Whether a case (built by stress_case) is not skipped and not passing. */
static inline int tu_case_flagged(const json_t *tc) {
  const char *sev = json_string_value(json_object_get(tc, "severity"));
  const char *st = json_string_value(json_object_get(tc, "status"));
  return sev && st && strcmp(st, TC_SKIP) != 0 && strcmp(sev, SEV_PASS) != 0;
}
static inline int tu_case_skipped(const json_t *tc) {
  const char *st = json_string_value(json_object_get(tc, "status"));
  return st && strcmp(st, TC_SKIP) == 0;
}

#endif
