/* engine/tests_util.h — small helpers shared by the data-level test modules
 * (tests_drift.c, tests_abnormal.c, tests_cleanliness.c): numeric columns
 * read in chunks as doubles, counting a sorted sample into bins, bin
 * labels, options of a normalized test entry, and the cancellation error.
 * Header-only (static inline); not installed. */
#ifndef ASSAY_ENGINE_TESTS_UTIL_H
#define ASSAY_ENGINE_TESTS_UTIL_H

#include <math.h>
#include <stdio.h>
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
