/* test_stats.c — the statistics of engine/stats.h on hand-checked values
 * (worked out below each case, or from the scipy / scikit-learn docs),
 * edge cases (empty input, one row, one class, constant columns,
 * infinities), the sort and AUC on a million rows, and assay__debug_stat.
 * tests/python/test_stats_vs_scipy.py compares against scipy / sklearn
 * themselves on generated data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assay/errors.h"
#include "assay/value.h"
#include "engine/stats.h"

static void near(double a, double b, int line) {
  if (!(fabs(a - b) <= 1e-12 + 1e-12 * fabs(b))) {
    printf("line %d: %.17g, expected %.17g\n", line, a, b);
    fail();
  }
}
#define NEAR(a, b) near((a), (b), __LINE__)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t next_u64(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717u;
}
static double next_unit(void) { return (double)(next_u64() >> 11) / 9007199254740992.0; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* --- sorting ---------------------------------------------------------------------------------- */

static void sort_small_and_special(void **state) {
  (void)state;
  assert_int_equal(stats_sort_f64(NULL, 0, NULL), 0);
  double one[1] = {3};
  assert_int_equal(stats_sort_f64(one, 1, NULL), 0);
  assert_true(one[0] == 3);
  double v[8] = {2.5, -0.0, INFINITY, -1e300, 0.0, -INFINITY, 2.5, -3};
  assert_int_equal(stats_sort_f64(v, 8, NULL), 0);
  double want[8] = {-INFINITY, -1e300, -3, -0.0, 0.0, 2.5, 2.5, INFINITY};
  for (int i = 0; i < 8; i++) assert_true(v[i] == want[i]);
  assert_true(signbit(v[3]) && !signbit(v[4])); /* -0.0 before +0.0 */
}

static void sort_large_matches_qsort(void **state) {
  (void)state;
  size_t sizes[] = {65, 1000, 100003, 1000000};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    size_t n = sizes[s];
    double *v = malloc(n * sizeof *v), *w = malloc(n * sizeof *w), *scratch = malloc(n * sizeof *v);
    assert_non_null(v);
    assert_non_null(w);
    assert_non_null(scratch);
    for (size_t i = 0; i < n; i++) {
      double x = (next_unit() - 0.5) * pow(10, (double)(next_u64() % 40) - 20);
      if (i % 5 == 0) x = floor(x); /* ties */
      v[i] = w[i] = x;
    }
    double t0 = now();
    assert_int_equal(stats_sort_f64(v, n, s % 2 ? scratch : NULL), 0);
    double t1 = now();
    qsort(w, n, sizeof *w, cmp_double);
    for (size_t i = 0; i < n; i++) assert_true(v[i] == w[i]);
    if (n == 1000000) {
      printf("sort of 1M doubles: %.1f ms (qsort %.1f ms)\n", (t1 - t0) * 1e3, (now() - t1) * 1e3);
      assert_true(t1 - t0 < 2.0);
    }
    free(v);
    free(w);
    free(scratch);
  }
}

static void argsort_stable(void **state) {
  (void)state;
  size_t n = 200000;
  double *v = malloc(n * sizeof *v);
  size_t *o = malloc(n * sizeof *o);
  assert_non_null(v);
  assert_non_null(o);
  for (size_t i = 0; i < n; i++) v[i] = (double)(next_u64() % 1000) - 500;
  assert_int_equal(stats_argsort_f64(v, n, o), 0);
  for (size_t i = 1; i < n; i++) {
    assert_true(v[o[i - 1]] <= v[o[i]]);
    if (v[o[i - 1]] == v[o[i]]) assert_true(o[i - 1] < o[i]); /* stable */
  }
  double small[5] = {3, 1, 3, 2, 1};
  size_t so[5];
  assert_int_equal(stats_argsort_f64(small, 5, so), 0);
  size_t want[5] = {1, 4, 3, 0, 2};
  for (int i = 0; i < 5; i++) assert_int_equal(so[i], want[i]);
  assert_int_equal(stats_argsort_f64(small, 0, so), 0);
  uint64_t k[6] = {5, UINT64_MAX, 0, 5, 1u << 20, 3};
  assert_int_equal(stats_sort_u64(k, 6, NULL), 0);
  uint64_t kw[6] = {0, 3, 5, 5, 1u << 20, UINT64_MAX};
  for (int i = 0; i < 6; i++) assert_true(k[i] == kw[i]);
  free(v);
  free(o);
}

/* --- quantiles and ranks ---------------------------------------------------------------------- */

static void quantiles(void **state) {
  (void)state;
  double s[4] = {1, 2, 3, 4};
  NEAR(stats_quantile_sorted(s, 4, 0.5), 2.5);   /* h = 1.5 */
  NEAR(stats_quantile_sorted(s, 4, 0.25), 1.75); /* h = 0.75 */
  NEAR(stats_quantile_sorted(s, 4, 0), 1);
  NEAR(stats_quantile_sorted(s, 4, 1), 4);
  NEAR(stats_quantile_sorted(s, 1, 0.3), 1);
  assert_true(isnan(stats_quantile_sorted(s, 0, 0.5)));
  double inf[3] = {-INFINITY, 1, INFINITY};
  assert_true(stats_quantile_sorted(inf, 3, 0) == -INFINITY);
  assert_true(stats_quantile_sorted(inf, 3, 0.5) == 1);
  assert_true(stats_quantile_sorted(inf, 3, 0.75) == INFINITY);

  double ten[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  double e[9];
  assert_int_equal(stats_quantile_edges(ten, 10, 4, e), 3);
  NEAR(e[0], 3.25); /* h = 9 * 0.25 = 2.25 */
  NEAR(e[1], 5.5);
  NEAR(e[2], 7.75);
  double ties[6] = {1, 1, 1, 1, 2, 3};
  assert_int_equal(stats_quantile_edges(ties, 6, 4, e), 2); /* 1, 1, 1.75 -> 1, 1.75 */
  NEAR(e[0], 1);
  NEAR(e[1], 1.75);
  assert_int_equal(stats_quantile_edges(ties, 0, 4, e), 0);
  double edges[2] = {1, 2};
  assert_int_equal(stats_bin_of(edges, 2, 0.5), 0);
  assert_int_equal(stats_bin_of(edges, 2, 1), 0); /* (-inf, 1] */
  assert_int_equal(stats_bin_of(edges, 2, 1.5), 1);
  assert_int_equal(stats_bin_of(edges, 2, 2), 1);
  assert_int_equal(stats_bin_of(edges, 2, INFINITY), 2);
  assert_int_equal(stats_bin_of(edges, 0, 7), 0);

  double v[4] = {10, 20, 10, 30}, r[4];
  assert_int_equal(stats_rank_average(v, 4, r), 0);
  NEAR(r[0], 1.5);
  NEAR(r[1], 3);
  NEAR(r[2], 1.5);
  NEAR(r[3], 4);
  assert_int_equal(stats_rank_average(v, 0, r), 0);
}

/* --- drift ------------------------------------------------------------------------------------ */

static void drift(void **state) {
  (void)state;
  double r[2] = {50, 50}, e[2] = {90, 10};
  NEAR(stats_psi(r, e, 2, STATS_PSI_EPS), (0.5 - 0.9) * log(0.5 / 0.9) + (0.5 - 0.1) * log(5.0));
  double z[2] = {0, 0}, one[2] = {1, 0};
  NEAR(stats_psi(one, r, 2, 1e-4), (1 - 0.5) * log(1 / 0.5) + (1e-4 - 0.5) * log(1e-4 / 0.5));
  assert_true(isnan(stats_psi(z, e, 2, 1e-4)));
  assert_true(isnan(stats_psi(r, z, 2, 1e-4)));
  assert_true(isnan(stats_psi(NULL, NULL, 0, 1e-4)));

  double p[2] = {1, 0}, q[2] = {0, 3};
  NEAR(stats_js_distance(p, q, 2), 1.0); /* disjoint: the maximum with base 2 */
  NEAR(stats_js_distance(r, r, 2), 0.0);
  assert_true(isnan(stats_js_distance(z, q, 2)));

  double a[3] = {1, 2, 3}, b[3] = {4, 5, 6}, d, pv;
  stats_ks_2samp(a, 3, b, 3, &d, &pv);
  NEAR(d, 1.0);
  NEAR(pv, 0.1); /* 2 * C(3,3)... : 2 / C(6, 3) = 0.1 */
  stats_ks_2samp(a, 3, a, 3, &d, &pv);
  NEAR(d, 0);
  NEAR(pv, 1);
  stats_ks_2samp(a, 0, b, 3, &d, &pv);
  assert_true(isnan(d) && isnan(pv));
  stats_ks_2samp(a, 3, b, 3, NULL, NULL);

  double u[3] = {0, 1, 3}, w[3] = {5, 6, 8};
  NEAR(stats_wasserstein(u, 3, w, 3), 5.0); /* scipy's docstring example */
  double u2[2] = {0, 10}, w2[1] = {5};
  NEAR(stats_wasserstein(u2, 2, w2, 1), 5.0);
  NEAR(stats_wasserstein_normed(u2, 2, w2, 1), 1.0); /* std of {0, 10} = 5 */
  double c3[3] = {2, 2, 2};
  NEAR(stats_wasserstein_normed(c3, 3, w2, 1), 3 / 0.001);
  assert_true(isnan(stats_wasserstein(u, 0, w, 3)));
  double uinf[2] = {1, 2}, winf[2] = {1, INFINITY};
  assert_true(stats_wasserstein(uinf, 2, winf, 2) == INFINITY);

  double obs[3] = {10, 20, 30}, ex[3] = {20, 20, 20}, st;
  stats_chisquare(obs, ex, 3, &st, &pv);
  NEAR(st, 10);
  NEAR(pv, exp(-5)); /* chi2 with 2 dof: sf(x) = exp(-x / 2) */
  stats_chisquare(obs, ex, 1, &st, &pv);
  assert_true(isnan(st) && isnan(pv));
  NEAR(stats_chi2_sf(2, 2), exp(-1));
  NEAR(stats_chi2_sf(1, 1), erfc(sqrt(0.5)));
  NEAR(stats_chi2_sf(0, 3), 1);
  NEAR(stats_chi2_sf(-1, 3), 1);
  assert_true(stats_chi2_sf(INFINITY, 3) == 0);
  assert_true(isnan(stats_chi2_sf(1, 0)));
  /* a far tail: sf(x, 2) = exp(-x / 2), relative accuracy kept */
  assert_true(fabs(stats_chi2_sf(1000, 2) / exp(-500) - 1) < 1e-12);

  double zz;
  stats_ztest_2prop(10, 100, 20, 100, &zz, &pv);
  double sd = sqrt(0.15 * 0.85 * (0.01 + 0.01));
  NEAR(zz, -0.1 / sd);
  NEAR(pv, erfc(0.1 / sd / sqrt(2)));
  stats_ztest_2prop(0, 10, 0, 10, &zz, &pv);
  assert_true(isnan(zz) && isnan(pv));
  stats_ztest_2prop(1, 0, 0, 10, &zz, &pv);
  assert_true(isnan(zz) && isnan(pv));
}

/* --- dependence ------------------------------------------------------------------------------- */

static void dependence(void **state) {
  (void)state;
  double x[3] = {1, 2, 3}, y[3] = {2, 4, 6.5};
  /* deviations x: -1, 0, 1; y: mean 4.1667: -2.1667, -0.1667, 2.3333 */
  double my = 12.5 / 3, dy[3] = {2 - my, 4 - my, 6.5 - my};
  double syy = dy[0] * dy[0] + dy[1] * dy[1] + dy[2] * dy[2];
  NEAR(stats_pearson(x, y, 3), (-dy[0] + dy[2]) / sqrt(2 * syy));
  double c[3] = {5, 5, 5};
  assert_true(isnan(stats_pearson(x, c, 3)));
  assert_true(isnan(stats_pearson(x, y, 1)));
  assert_true(isnan(stats_spearman(c, y, 3)));
  double s1[4] = {1, 2, 3, 4}, s2[4] = {1, 3, 2, 4};
  NEAR(stats_spearman(s1, s2, 4), 0.8); /* 1 - 6 * 2 / (4 * 15) */
  NEAR(stats_spearman(s1, s1, 4), 1.0);

  int32_t a[4] = {0, 0, 1, 1}, b[4] = {0, 0, 1, 1}, ind[4] = {0, 1, 0, 1};
  NEAR(stats_mutual_info(a, 2, b, 2, 4), log(2));
  NEAR(stats_mutual_info(a, 2, ind, 2, 4), 0);
  int32_t bad[4] = {0, 2, 0, 1};
  assert_true(isnan(stats_mutual_info(a, 2, bad, 2, 4)));
  assert_true(isnan(stats_mutual_info(a, 2, b, 2, 0)));
  double t[4] = {2, 0, 0, 2};
  NEAR(stats_mutual_info_table(t, 2, 2), log(2));
  double t1[3] = {1, 2, 3};
  NEAR(stats_mutual_info_table(t1, 1, 3), 0); /* one class */
  double counts[3] = {1, 1, 0};
  NEAR(stats_entropy(counts, 3), log(2));
  assert_true(isnan(stats_entropy(counts, 0)));
  double diag[4] = {10, 0, 0, 10};
  NEAR(stats_cramers_v(diag, 2, 2), 1.0);
  double flat[4] = {5, 5, 5, 5};
  NEAR(stats_cramers_v(flat, 2, 2), 0.0);
  double withzero[6] = {10, 0, 0, 0, 0, 10}; /* 3 x 2 with an empty middle row */
  NEAR(stats_cramers_v(withzero, 3, 2), 1.0);
  assert_true(isnan(stats_cramers_v(t1, 1, 3)));
}

/* --- classification --------------------------------------------------------------------------- */

static void classification(void **state) {
  (void)state;
  stats_confusion c = {3, 1, 4, 2};
  NEAR(stats_accuracy(&c), 0.7);
  NEAR(stats_precision(&c), 0.75);
  NEAR(stats_recall(&c), 0.6);
  NEAR(stats_f1(&c), 6.0 / 9.0);
  NEAR(stats_fpr(&c), 0.2);
  NEAR(stats_fnr(&c), 0.4);
  NEAR(stats_positive_rate(&c), 0.4);
  stats_confusion none = {0, 0, 0, 0};
  assert_true(isnan(stats_accuracy(&none)) && isnan(stats_fpr(&none)) && isnan(stats_fnr(&none)));
  assert_true(isnan(stats_positive_rate(&none)));
  assert_true(stats_precision(&none) == 0 && stats_recall(&none) == 0 && stats_f1(&none) == 0);

  uint8_t y[4] = {0, 0, 1, 1};
  double s[4] = {0.1, 0.4, 0.35, 0.8};
  NEAR(stats_roc_auc(y, s, 4, NULL), 0.75); /* sklearn's docstring example */
  size_t o[4] = {0, 2, 1, 3};
  NEAR(stats_roc_auc(y, s, 4, o), 0.75);
  double tie[4] = {0.5, 0.5, 0.5, 0.5};
  NEAR(stats_roc_auc(y, tie, 4, NULL), 0.5);
  uint8_t ones[3] = {1, 1, 1};
  assert_true(isnan(stats_roc_auc(ones, s, 3, NULL)));
  assert_true(isnan(stats_roc_auc(y, s, 0, NULL)));

  uint8_t yl[2] = {1, 0};
  double pl[2] = {0.9, 0.1};
  NEAR(stats_log_loss_binary(yl, pl, 2), -log(0.9));
  double wrong[2] = {0, 1}; /* clipped at DBL_EPSILON */
  NEAR(stats_log_loss_binary(yl, wrong, 2), -log(DBL_EPSILON));
  double out[2] = {1.5, 0};
  assert_true(isnan(stats_log_loss_binary(yl, out, 2)));
  assert_true(isnan(stats_log_loss_binary(yl, pl, 0)));
  double pb[2] = {0.9, 0.2};
  NEAR(stats_brier(yl, pb, 2), (0.01 + 0.04) / 2);

  double cm[4] = {2, 1, 0, 3}; /* rows true, columns predicted */
  NEAR(stats_mc_accuracy(cm, 2), 5.0 / 6);
  NEAR(stats_mc_precision(cm, 2, STATS_AVG_MACRO), (1 + 0.75) / 2);
  NEAR(stats_mc_recall(cm, 2, STATS_AVG_MACRO), (2.0 / 3 + 1) / 2);
  NEAR(stats_mc_f1(cm, 2, STATS_AVG_MACRO), (0.8 + 6.0 / 7) / 2);
  NEAR(stats_mc_precision(cm, 2, STATS_AVG_MICRO), 5.0 / 6);
  NEAR(stats_mc_recall(cm, 2, STATS_AVG_WEIGHTED), (3 * 2.0 / 3 + 3 * 1) / 6);
  double cm3[9] = {2, 1, 0, 0, 3, 0, 0, 0, 0}; /* class 2 in neither: not a label */
  NEAR(stats_mc_precision(cm3, 3, STATS_AVG_MACRO), (1 + 0.75) / 2);
  double cm0[4] = {0, 0, 0, 0};
  assert_true(isnan(stats_mc_accuracy(cm0, 2)) && isnan(stats_mc_f1(cm0, 2, STATS_AVG_MACRO)));

  int32_t yc[4] = {0, 1, 2, 2};
  double P[12] = {0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.1, 0.2, 0.7, 0.3, 0.3, 0.4};
  NEAR(stats_mc_roc_auc_ovr(yc, P, 4, 3), 1.0);
  NEAR(stats_mc_log_loss(yc, P, 4, 3), -(log(0.8) + log(0.7) + log(0.7) + log(0.4)) / 4);
  int32_t grp[4] = {0, 1, 0, 1};
  double gauc[2];
  assert_int_equal(stats_roc_auc_groups(y, s, 4, o, grp, 2, gauc), 0);
  NEAR(gauc[0], 1.0); /* rows 0 (y 0, 0.1) and 2 (y 1, 0.35) */
  NEAR(gauc[1], 1.0); /* rows 1 (y 0, 0.4) and 3 (y 1, 0.8) */
  int32_t grp1[4] = {0, 0, 0, 1};
  assert_int_equal(stats_roc_auc_groups(y, s, 4, o, grp1, 2, gauc), 0);
  NEAR(gauc[0], 0.5); /* negatives 0.1, 0.4 vs positive 0.35 */
  assert_true(isnan(gauc[1]));
  int32_t yabsent[4] = {0, 1, 1, 0};
  assert_true(isnan(stats_mc_roc_auc_ovr(yabsent, P, 4, 3)));
  assert_true(isnan(stats_mc_log_loss(yc, P, 0, 3)));
}

static void auc_of_a_million(void **state) {
  (void)state;
  size_t n = 1000000;
  uint8_t *y = malloc(n);
  double *s = malloc(n * sizeof *s);
  size_t *o = malloc(n * sizeof *o);
  assert_non_null(y);
  assert_non_null(s);
  assert_non_null(o);
  for (size_t i = 0; i < n; i++) {
    y[i] = next_unit() < 0.3;
    s[i] = floor((next_unit() + 0.2 * y[i]) * 1000) / 1000; /* ties */
  }
  double t0 = now();
  double a1 = stats_roc_auc(y, s, n, NULL);
  double t1 = now();
  assert_int_equal(stats_argsort_f64(s, n, o), 0);
  double t2 = now();
  double a2 = stats_roc_auc(y, s, n, o);
  double t3 = now();
  printf("ROC AUC of 1M rows: %.1f ms (argsort %.1f ms, AUC from the order %.1f ms)\n",
         (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3);
  assert_true(a1 == a2);
  /* the same by groups in one pass: even and odd rows, and all rows */
  int32_t *g = malloc(n * sizeof *g);
  assert_non_null(g);
  for (size_t i = 0; i < n; i++) g[i] = (int32_t)(i % 2);
  double ga[3];
  t0 = now();
  assert_int_equal(stats_roc_auc_groups(y, s, n, o, g, 2, ga), 0);
  printf("ROC AUC of 2 groups of 1M rows from the order: %.1f ms\n", (now() - t0) * 1e3);
  for (size_t i = 0; i < n; i++) g[i] = 2 * (int32_t)(i % 2) - 1; /* -1 or 1 */
  assert_int_equal(stats_roc_auc_groups(y, s, n, o, g, 3, ga + 0), 0);
  assert_true(isnan(ga[0])); /* no rows */
  for (size_t i = 0; i < n; i++) g[i] = 0;
  assert_int_equal(stats_roc_auc_groups(y, s, n, o, g, 1, ga + 2), 0);
  assert_true(ga[2] == a1);
  free(g);
  /* Mann-Whitney by counting over the 1201 possible scores */
  double *pos = calloc(2402, sizeof *pos), *neg = pos + 1201;
  assert_non_null(pos);
  for (size_t i = 0; i < n; i++) {
    long b = lround(s[i] * 1000);
    assert_true(b >= 0 && b < 1201);
    if (y[i])
      pos[b] += 1;
    else
      neg[b] += 1;
  }
  double P = 0, N = 0, area = 0;
  for (int b = 0; b < 1201; b++) {
    area += pos[b] * (N + neg[b] / 2);
    N += neg[b];
    P += pos[b];
  }
  assert_true(fabs(a1 - area / P / N) < 1e-12);
  free(pos);
  free(y);
  free(s);
  free(o);
}

/* --- regression ------------------------------------------------------------------------------- */

static void regression(void **state) {
  (void)state;
  double y[4] = {3, -0.5, 2, 7}, p[4] = {2.5, 0.0, 2, 8};
  stats_reg r;
  stats_reg_init(&r);
  for (int i = 0; i < 4; i++) stats_reg_add(&r, y[i], p[i]);
  NEAR(stats_reg_mae(&r), 0.5); /* sklearn's docstring examples */
  NEAR(stats_reg_mse(&r), 0.375);
  NEAR(stats_reg_rmse(&r), sqrt(0.375));
  NEAR(stats_reg_r2(&r), 0.9486081370449679);
  NEAR(stats_reg_mape(&r), (0.5 / 3 + 0.5 / 0.5 + 0 + 1.0 / 7) / 4);
  double sle = 0;
  for (int i = 0; i < 4; i++) sle += pow(log1p(y[i]) - log1p(p[i]), 2);
  NEAR(stats_reg_msle(&r), sle / 4); /* values > -1 are allowed (sklearn) */
  NEAR(stats_reg_mean_pred(&r), 12.5 / 4);
  double m = 12.5 / 4, var = 0;
  for (int i = 0; i < 4; i++) var += (p[i] - m) * (p[i] - m);
  NEAR(stats_reg_var_pred(&r), var / 4);

  stats_reg a, b;
  stats_reg_init(&a);
  stats_reg_init(&b);
  stats_reg_add(&a, y[0], p[0]);
  for (int i = 1; i < 4; i++) stats_reg_add(&b, y[i], p[i]);
  stats_reg_merge(&a, &b);
  NEAR(stats_reg_r2(&a), stats_reg_r2(&r));
  NEAR(stats_reg_var_pred(&a), stats_reg_var_pred(&r));
  NEAR(stats_reg_mae(&a), 0.5);
  stats_reg e;
  stats_reg_init(&e);
  stats_reg_merge(&e, &r); /* into an empty one */
  NEAR(stats_reg_mse(&e), 0.375);
  stats_reg_init(&b);
  stats_reg_merge(&e, &b); /* an empty one in */
  NEAR(stats_reg_mse(&e), 0.375);

  stats_reg_add(&r, -2, 1); /* y <= -1: MSLE undefined */
  assert_true(isnan(stats_reg_msle(&r)));

  stats_reg k;
  stats_reg_init(&k);
  for (int i = 0; i < 3; i++) stats_reg_add(&k, 1, 1);
  assert_true(stats_reg_r2(&k) == 1.0); /* constant y, exact predictions */
  stats_reg_add(&k, 1, 2);
  assert_true(stats_reg_r2(&k) == 0.0); /* constant y otherwise: force_finite */

  stats_reg z;
  stats_reg_init(&z);
  assert_true(isnan(stats_reg_mae(&z)) && isnan(stats_reg_r2(&z)) && isnan(stats_reg_mape(&z)));
  assert_true(isnan(stats_reg_mean_pred(&z)) && isnan(stats_reg_var_pred(&z)));
  stats_reg_add(&z, 1, 3);
  assert_true(isnan(stats_reg_r2(&z))); /* one row */
  NEAR(stats_reg_mse(&z), 4);
}

/* --- the JSON entry point --------------------------------------------------------------------- */

static void debug_stat(void **state) {
  (void)state;
  char *out = NULL;
  assert_int_equal(assay__debug_stat("{\"fn\": \"ks_2samp\", \"a\": [3, 1, 2], \"b\": [6, 5, 4]}",
                                     &out),
                   0);
  assert_non_null(out);
  json_t *j = json_loads(out, 0, NULL);
  assert_non_null(j);
  NEAR(json_real_value(json_object_get(j, "statistic")), 1.0);
  NEAR(json_real_value(json_object_get(j, "pvalue")), 0.1);
  json_decref(j);
  assay_string_free(out);

  assert_int_equal(assay__debug_stat("{\"fn\": \"sort\", \"v\": [\"inf\", null, -1, \"-inf\"]}",
                                     &out),
                   0);
  assert_non_null(strstr(out, "\"-inf\""));
  assay_string_free(out);
  assert_int_equal(
      assay__debug_stat("{\"fn\": \"pearson\", \"x\": [1, 1], \"y\": [1, 2]}", &out), 0);
  assert_string_equal(out, "{\"value\":null}");
  assay_string_free(out);

  const char *bad[] = {"nope", "[]", "{\"fn\": 1}", "{\"fn\": \"unknown\"}", "{\"fn\": \"sort\"}",
                       "{\"fn\": \"sort\", \"v\": [true]}",
                       "{\"fn\": \"psi\", \"ref\": [1], \"eval\": [1, 2]}",
                       "{\"fn\": \"quantile_edges\", \"v\": [1], \"nbins\": 1}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    out = (char *)1;
    assert_int_equal(assay__debug_stat(bad[i], &out), ASSAY_ERR_CONFIG);
    assert_null(out);
  }
  assert_int_equal(assay__debug_stat(NULL, &out), ASSAY_ERR_CONFIG);
  assert_int_equal(assay__debug_stat("{}", NULL), ASSAY_ERR_CONFIG);

  /* every function on empty input: no crash, a result */
  const char *empty[] = {
      "{\"fn\":\"sort\",\"v\":[]}", "{\"fn\":\"argsort\",\"v\":[]}",
      "{\"fn\":\"rank_average\",\"v\":[]}", "{\"fn\":\"quantile\",\"v\":[],\"q\":[0.5]}",
      "{\"fn\":\"quantile_edges\",\"v\":[],\"nbins\":10}",
      "{\"fn\":\"bin_of\",\"edges\":[],\"x\":[]}",
      "{\"fn\":\"psi\",\"ref\":[],\"eval\":[]}", "{\"fn\":\"js_distance\",\"p\":[],\"q\":[]}",
      "{\"fn\":\"ks_2samp\",\"a\":[],\"b\":[]}", "{\"fn\":\"wasserstein\",\"a\":[],\"b\":[]}",
      "{\"fn\":\"wasserstein_normed\",\"a\":[],\"b\":[]}",
      "{\"fn\":\"chisquare\",\"observed\":[],\"expected\":[]}", "{\"fn\":\"chi2_sf\"}",
      "{\"fn\":\"ztest_2prop\"}", "{\"fn\":\"pearson\",\"x\":[],\"y\":[]}",
      "{\"fn\":\"spearman\",\"x\":[],\"y\":[]}", "{\"fn\":\"entropy\",\"counts\":[]}",
      "{\"fn\":\"mutual_info\",\"x\":[],\"y\":[]}", "{\"fn\":\"mutual_info_table\",\"table\":[]}",
      "{\"fn\":\"cramers_v\",\"table\":[]}", "{\"fn\":\"binary\",\"y\":[],\"score\":[]}",
      "{\"fn\":\"multiclass\",\"y\":[],\"pred\":[],\"k\":2}",
      "{\"fn\":\"mc_roc_auc_ovr\",\"y\":[],\"proba\":[]}",
      "{\"fn\":\"mc_log_loss\",\"y\":[],\"proba\":[]}", "{\"fn\":\"regression\",\"y\":[],\"p\":[]}",
      "{\"fn\":\"kstwo_sf\",\"n\":10,\"x\":0.3}", "{\"fn\":\"smirnov\",\"n\":10,\"x\":0.3}"};
  for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
    out = NULL;
    assert_int_equal(assay__debug_stat(empty[i], &out), 0);
    assert_non_null(out);
    assay_string_free(out);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(sort_small_and_special), cmocka_unit_test(sort_large_matches_qsort),
      cmocka_unit_test(argsort_stable),         cmocka_unit_test(quantiles),
      cmocka_unit_test(drift),                  cmocka_unit_test(dependence),
      cmocka_unit_test(classification),         cmocka_unit_test(auc_of_a_million),
      cmocka_unit_test(regression),             cmocka_unit_test(debug_stat),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
