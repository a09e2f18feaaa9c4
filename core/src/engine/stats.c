/* engine/stats.c — the statistics and metrics of the test engine (see
 * engine/stats.h for what each computes and which scipy / scikit-learn
 * function it matches), the special functions they need (regularized
 * incomplete gamma, the Kolmogorov-Smirnov distributions as scipy computes
 * them) and assay__debug_stat, the JSON entry point the tests compare
 * against scipy / scikit-learn through. Sorting lives in engine/sort.c. */
#include <float.h>
#include <stdio.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/stats.h"
#include "internal.h"

/* --- small helpers --------------------------------------------------------------------------- */

/* Neumaier-compensated sum: s + c is the sum. */
static inline void nsum_add(double *s, double *c, double x) {
  double t = *s + x;
  if (fabs(*s) >= fabs(x))
    *c += (*s - t) + x;
  else
    *c += (x - t) + *s;
  *s = t;
}

/* The compensated sum's value (an infinite or NaN sum as it is: its
 * compensation is then meaningless). */
static inline double nsum_get(double s, double c) { return isfinite(s) ? s + c : s; }

/* --- quantiles and ranks --------------------------------------------------------------------- */

double stats_quantile_sorted(const double *s, size_t n, double q) {
  if (n == 0 || isnan(q)) return NAN;
  if (q < 0) q = 0;
  if (q > 1) q = 1;
  /* numpy's "linear" method: virtual index (n - 1) q, its floor and
   * floor + 1 (both the last element at or past it), _lerp. */
  double h = (double)(n - 1) * q;
  size_t lo, hi;
  if (h >= (double)(n - 1)) {
    lo = hi = n - 1;
  } else {
    lo = (size_t)floor(h);
    hi = lo + 1;
  }
  double g = h - (double)lo;
  double a = s[lo], b = s[hi];
  if (g == 0 || a == b) return a; /* numpy: NaN when a or b is infinite */
  double diff = b - a;
  if (!isfinite(diff)) return isinf(a) ? a : b;
  return g >= 0.5 ? b - diff * (1 - g) : a + diff * g;
}

size_t stats_quantile_edges(const double *sorted, size_t n, int nbins, double *edges) {
  if (n == 0 || nbins < 2) return 0;
  size_t m = 0;
  for (int i = 1; i < nbins; i++) {
    double e = stats_quantile_sorted(sorted, n, (double)i / (double)nbins);
    if (isnan(e)) continue;
    if (m > 0 && e <= edges[m - 1]) continue;
    edges[m++] = e;
  }
  return m;
}

size_t stats_bin_of(const double *edges, size_t m, double x) {
  /* searchsorted(edges, x, side="left"): the number of edges < x. */
  size_t lo = 0, hi = m;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (edges[mid] < x)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

int stats_rank_average(const double *v, size_t n, double *ranks) {
  if (n == 0) return 0;
  size_t *order = malloc(n * sizeof *order);
  if (!order) return assay__nomem();
  int rc = stats_argsort_f64(v, n, order);
  if (rc) {
    free(order);
    return rc;
  }
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && v[order[j]] == v[order[i]]) j++;
    double r = ((double)(i + 1) + (double)j) / 2.0; /* positions i+1 .. j */
    for (size_t t = i; t < j; t++) ranks[order[t]] = r;
    i = j;
  }
  free(order);
  return 0;
}

/* --- special functions ----------------------------------------------------------------------- */

/* log(1 + u) - u, accurate for small u. */
static double log1pmx(double u) {
  if (fabs(u) > 0.1) return log1p(u) - u;
  double term = u, sum = 0;
  for (int k = 2; k < 60; k++) {
    term *= -u;
    double t = term / k;
    sum += t;
    if (fabs(t) <= DBL_EPSILON * fabs(sum)) break;
  }
  return sum;
}

/* lgamma(a) minus Stirling's approximation, for a >= 10. */
static double stirling_corr(double a) {
  double r = 1.0 / a, r2 = r * r;
  return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 / 1188))));
}

/* x^a e^-x / Gamma(a), computed without cancellation for large a. */
static double igam_fac(double a, double x) {
  if (a < 10) {
    double l = a * log(x) - x - lgamma(a);
    return exp(l);
  }
  double u = (x - a) / a;
  double l = a * log1pmx(u) + 0.5 * log(a) - 0.5 * log(2 * M_PI) - stirling_corr(a);
  /* a log x - x - lgamma(a) with lgamma(a) = (a - 1/2) log a - a + log
   * sqrt(2 pi) + corr(a) and x = a (1 + u). */
  return exp(l);
}

/* Regularized lower incomplete gamma by its series (x < a + 1). */
static double igam_series(double a, double x) {
  double fac = igam_fac(a, x);
  if (fac == 0) return 0;
  double ap = a, term = 1, sum = 1;
  for (int i = 0; i < 10000000; i++) {
    ap += 1;
    term *= x / ap;
    sum += term;
    if (term <= sum * DBL_EPSILON) break;
  }
  return fac * sum / a;
}

/* Regularized upper incomplete gamma by its continued fraction (x >= a + 1). */
static double igamc_cf(double a, double x) {
  double fac = igam_fac(a, x);
  if (fac == 0) return 0;
  const double tiny = 1e-300;
  double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (int i = 1; i < 10000000; i++) {
    double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1 / d;
    double del = d * c;
    h *= del;
    if (fabs(del - 1) <= DBL_EPSILON) break;
  }
  return fac * h;
}

/* Q(a, x) = Gamma(a, x) / Gamma(a). */
static double igamc(double a, double x) {
  if (isnan(a) || isnan(x) || a <= 0 || x < 0) return NAN;
  if (x == 0) return 1;
  if (isinf(x)) return 0;
  if (x < a + 1) return 1 - igam_series(a, x);
  return igamc_cf(a, x);
}

double stats_chi2_sf(double x, double dof) {
  if (isnan(x) || isnan(dof) || dof <= 0) return NAN;
  if (x <= 0) return 1;
  return igamc(dof / 2, x / 2);
}

static double norm_sf(double z) { return 0.5 * erfc(z / M_SQRT2); }

/* --- Kolmogorov-Smirnov distributions (scipy's) ---------------------------------------------- */

/* scipy.stats.kstwo.sf(x, n): the two-sided one-sample statistic's
 * survival function (scipy/stats/_ksstats.py, _kolmogn with cdf=False). */
static double kstwo_sf(double n, double x);

/* scipy.stats._stats_py._compute_prob_outside_square(n, h). */
static double ks_prob_outside_square(int64_t n, int64_t h) {
  double P = 0.0;
  int64_t k = (int64_t)floor((double)n / (double)h);
  while (k >= 0) {
    double p1 = 1.0;
    for (int64_t j = 0; j < h; j++)
      p1 = (double)(n - k * h - j) * p1 / (double)(n + k * h + j + 1);
    P = p1 * (1.0 - P);
    k -= 1;
  }
  return 2 * P;
}

/* scipy.stats._stats_pythran._compute_outer_prob_inside_method(m, n, g, h):
 * 1 - the proportion of lattice paths staying strictly inside the band
 * (Hodges; Viehmann's recursion for 1 - p). Returns NAN when out of memory. */
static double ks_outer_prob_inside(int64_t m, int64_t n, int64_t g, int64_t h) {
  if (m < n) {
    int64_t t = m;
    m = n;
    n = t;
  }
  int64_t mg = m / g, ng = n / g;
  int64_t minj = 0, maxj = (int64_t)ceil((double)h / (double)mg);
  if (maxj > n + 1) maxj = n + 1;
  int64_t curlen = maxj - minj;
  int64_t lenA = 2 * maxj + 2 < n + 1 ? 2 * maxj + 2 : n + 1;
  double *A = malloc((size_t)lenA * sizeof *A);
  if (!A) return NAN;
  for (int64_t j = 0; j < lenA; j++) A[j] = 1.0;
  for (int64_t j = minj; j < maxj; j++) A[j] = 0.0;
  for (int64_t i = 1; i <= m; i++) {
    int64_t lastminj = minj, lastlen = curlen;
    minj = (int64_t)floor((double)(ng * i - h) / (double)mg) + 1;
    if (minj < 0) minj = 0;
    if (minj > n) minj = n;
    maxj = (int64_t)ceil((double)(ng * i + h) / (double)mg);
    if (maxj > n + 1) maxj = n + 1;
    if (maxj <= minj) {
      free(A);
      return 1.0;
    }
    double val = minj == 0 ? 0.0 : 1.0;
    for (int64_t jj = 0; jj < maxj - minj; jj++) {
      int64_t j = jj + minj;
      val = (A[jj + minj - lastminj] * (double)i + val * (double)j) / (double)(i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen)
      for (int64_t t = maxj - minj; t < maxj - minj + (lastlen - curlen); t++) A[t] = 1;
  }
  double r = A[maxj - minj - 1];
  free(A);
  return r;
}

static int64_t gcd64(int64_t a, int64_t b) {
  while (b) {
    int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

void stats_ks_2samp(const double *a, size_t na, const double *b, size_t nb, double *d_out,
                    double *p_out) {
  double d = NAN, p = NAN;
  if (na == 0 || nb == 0) goto done;
  /* D: max and min of cdf_a - cdf_b over the pooled values (scipy's
   * searchsorted(side="right") / n at each value). */
  double maxS = -INFINITY, minS = INFINITY;
  size_t i = 0, j = 0;
  const double n1 = (double)na, n2 = (double)nb;
  while (i < na || j < nb) {
    double x = (j >= nb || (i < na && a[i] <= b[j])) ? a[i] : b[j];
    while (i < na && a[i] <= x) i++;
    while (j < nb && b[j] <= x) j++;
    double diff = (double)i / n1 - (double)j / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
  }
  double mins = -minS;
  if (mins < 0) mins = 0;
  if (mins > 1) mins = 1;
  d = mins > maxS ? mins : maxS;
  int exact = (na > nb ? na : nb) <= 10000;
  if (exact) {
    int64_t g = gcd64((int64_t)na, (int64_t)nb);
    int64_t lcm = ((int64_t)na / g) * (int64_t)nb;
    int64_t h = (int64_t)nearbyint(d * (double)lcm);
    d = (double)h * 1.0 / (double)lcm;
    if (h == 0) {
      p = 1.0;
    } else {
      if (na == nb)
        p = ks_prob_outside_square((int64_t)na, h);
      else
        p = ks_outer_prob_inside((int64_t)na, (int64_t)nb, g, h);
      if (!(p >= 0 && p <= 1)) exact = 0; /* scipy falls back to the asymptotic */
    }
  }
  if (!exact) {
    double m = n1 > n2 ? n1 : n2, nn = n1 > n2 ? n2 : n1;
    double en = m * nn / (m + nn);
    p = kstwo_sf(nearbyint(en), d);
  }
  if (p < 0) p = 0;
  if (p > 1) p = 1;
done:
  if (d_out) *d_out = d;
  if (p_out) *p_out = p;
}

/* --- drift statistics ------------------------------------------------------------------------ */

static double total_of(const double *c, size_t k) {
  double s = 0;
  for (size_t i = 0; i < k; i++) s += c[i];
  return s;
}

double stats_psi(const double *ref, const double *ev, size_t k, double eps) {
  double R = total_of(ref, k), E = total_of(ev, k);
  if (!(R > 0) || !(E > 0)) return NAN;
  double psi = 0;
  for (size_t i = 0; i < k; i++) {
    double r = ref[i] / R, e = ev[i] / E;
    if (r < eps) r = eps;
    if (e < eps) e = eps;
    psi += (r - e) * log(r / e);
  }
  return psi;
}

/* scipy.special.rel_entr */
static double rel_entr(double x, double y) {
  if (isnan(x) || isnan(y)) return NAN;
  if (x > 0 && y > 0) return x * log(x / y);
  if (x == 0 && y >= 0) return 0;
  return INFINITY;
}

double stats_js_distance(const double *pc, const double *qc, size_t k) {
  double P = total_of(pc, k), Q = total_of(qc, k);
  if (!(P > 0) || !(Q > 0)) return NAN;
  double left = 0, right = 0;
  for (size_t i = 0; i < k; i++) {
    double p = pc[i] / P, q = qc[i] / Q, m = (p + q) / 2.0;
    left += rel_entr(p, m);
    right += rel_entr(q, m);
  }
  double js = (left + right) / log(2.0);
  if (js < 0) js = 0; /* rounding; scipy would return NaN from sqrt */
  return sqrt(js / 2.0);
}

double stats_wasserstein(const double *u, size_t nu, const double *v, size_t nv) {
  if (nu == 0 || nv == 0) return NAN;
  /* scipy's _cdf_distance(1, u, v): over the pooled sorted values x_k,
   * sum |U(x_k) - V(x_k)| (x_{k+1} - x_k), U, V the empirical CDFs
   * (searchsorted side="right"). Runs of equal values contribute
   * (x - x) = 0 each, NaN when x is infinite. */
  double s = 0, c = 0;
  size_t i = 0, j = 0;
  const double fu = (double)nu, fv = (double)nv;
  while (i < nu || j < nv) {
    double x = (j >= nv || (i < nu && u[i] <= v[j])) ? u[i] : v[j];
    size_t i0 = i, j0 = j;
    while (i < nu && u[i] <= x) i++;
    while (j < nv && v[j] <= x) j++;
    size_t g = (i - i0) + (j - j0);
    double du = fabs((double)i / fu - (double)j / fv);
    if (g > 1 && isinf(x)) return NAN;
    if (i < nu || j < nv) {
      double next = (j >= nv || (i < nu && u[i] <= v[j])) ? u[i] : v[j];
      nsum_add(&s, &c, du * (next - x));
    }
  }
  return nsum_get(s, c);
}

/* numpy.std (population), two passes. */
static double pop_std(const double *x, size_t n) {
  if (n == 0) return NAN;
  double s = 0, c = 0;
  for (size_t i = 0; i < n; i++) nsum_add(&s, &c, x[i]);
  double mean = nsum_get(s, c) / (double)n;
  double q = 0, qc = 0;
  for (size_t i = 0; i < n; i++) {
    double dd = x[i] - mean;
    nsum_add(&q, &qc, dd * dd);
  }
  return sqrt(nsum_get(q, qc) / (double)n);
}

double stats_wasserstein_normed(const double *a, size_t na, const double *b, size_t nb) {
  double w = stats_wasserstein(a, na, b, nb);
  if (isnan(w)) return NAN;
  double sd = pop_std(a, na);
  if (!(sd >= 0.001) && !isnan(sd)) sd = 0.001; /* Python max(std, 0.001) */
  return w / sd;
}

void stats_chisquare(const double *obs, const double *expd, size_t k, double *stat,
                     double *pvalue) {
  double s = NAN, p = NAN;
  if (k >= 2) {
    double acc = 0;
    for (size_t i = 0; i < k; i++) {
      double d = obs[i] - expd[i];
      acc += d * d / expd[i];
    }
    s = acc;
    p = stats_chi2_sf(s, (double)(k - 1));
  }
  if (stat) *stat = s;
  if (pvalue) *pvalue = p;
}

void stats_ztest_2prop(double x1, double n1, double x2, double n2, double *z, double *pvalue) {
  double zz = NAN, pp = NAN;
  if (n1 > 0 && n2 > 0) {
    double diff = x1 / n1 - x2 / n2;
    double pooled = (x1 + x2) / (n1 + n2);
    double var = pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2);
    double sd = sqrt(var);
    zz = diff / sd; /* 0 / 0: NaN (statsmodels too) */
    if (isnan(zz))
      pp = NAN;
    else
      pp = norm_sf(fabs(zz)) * 2;
  }
  if (z) *z = zz;
  if (pvalue) *pvalue = pp;
}

/* --- dependence ------------------------------------------------------------------------------ */

double stats_pearson(const double *x, const double *y, size_t n) {
  if (n < 2) return NAN;
  /* scipy.stats.pearsonr: centre, scale by the max |deviation|, normalise, dot. */
  double sx = 0, cx = 0, sy = 0, cy = 0;
  for (size_t i = 0; i < n; i++) {
    nsum_add(&sx, &cx, x[i]);
    nsum_add(&sy, &cy, y[i]);
  }
  double mx = nsum_get(sx, cx) / (double)n, my = nsum_get(sy, cy) / (double)n;
  double xmax = 0, ymax = 0;
  for (size_t i = 0; i < n; i++) {
    double a = fabs(x[i] - mx), b = fabs(y[i] - my);
    if (a > xmax || isnan(a)) xmax = a;
    if (b > ymax || isnan(b)) ymax = b;
  }
  if (!(xmax > 0) || !(ymax > 0) || !isfinite(xmax) || !isfinite(ymax)) return NAN;
  double sxx = 0, syy = 0, sxy = 0, c1 = 0, c2 = 0, c3 = 0;
  for (size_t i = 0; i < n; i++) {
    double a = (x[i] - mx) / xmax, b = (y[i] - my) / ymax;
    nsum_add(&sxx, &c1, a * a);
    nsum_add(&syy, &c2, b * b);
    nsum_add(&sxy, &c3, a * b);
  }
  sxx = nsum_get(sxx, c1);
  syy = nsum_get(syy, c2);
  sxy = nsum_get(sxy, c3);
  double r = sxy / (sqrt(sxx) * sqrt(syy));
  if (r > 1) r = 1;
  if (r < -1) r = -1;
  return r;
}

double stats_spearman(const double *x, const double *y, size_t n) {
  if (n < 2) return NAN;
  double *rx = malloc(2 * n * sizeof *rx);
  if (!rx) return NAN;
  double *ry = rx + n;
  double r = NAN;
  if (!stats_rank_average(x, n, rx) && !stats_rank_average(y, n, ry)) r = stats_pearson(rx, ry, n);
  free(rx);
  return r;
}

double stats_entropy(const double *counts, size_t k) {
  double t = 0;
  for (size_t i = 0; i < k; i++) {
    if (counts[i] < 0 || isnan(counts[i])) return NAN;
    t += counts[i];
  }
  if (!(t > 0) || isinf(t)) return NAN;
  double s = 0;
  for (size_t i = 0; i < k; i++) {
    double p = counts[i] / t;
    if (p > 0) s -= p * log(p);
  }
  return s;
}

double stats_mutual_info_table(const double *table, int32_t kx, int32_t ky) {
  if (kx <= 0 || ky <= 0) return NAN;
  double *pi = calloc((size_t)kx + (size_t)ky, sizeof *pi);
  if (!pi) return NAN;
  double *pj = pi + kx;
  double total = 0;
  for (int32_t i = 0; i < kx; i++)
    for (int32_t j = 0; j < ky; j++) {
      double v = table[(size_t)i * (size_t)ky + (size_t)j];
      if (v < 0 || isnan(v)) {
        free(pi);
        return NAN;
      }
      pi[i] += v;
      pj[j] += v;
      total += v;
    }
  double mi = NAN;
  if (total > 0) {
    int32_t rows = 0, cols = 0;
    for (int32_t i = 0; i < kx; i++) rows += pi[i] > 0;
    for (int32_t j = 0; j < ky; j++) cols += pj[j] > 0;
    if (rows == 1 || cols == 1) {
      mi = 0.0;
    } else {
      /* sklearn.metrics.mutual_info_score, term by term (terms below
       * machine epsilon in magnitude are zeroed, the sum clipped at 0). */
      double logtot = log(total), s = 0, c = 0;
      for (int32_t i = 0; i < kx; i++)
        for (int32_t j = 0; j < ky; j++) {
          double v = table[(size_t)i * (size_t)ky + (size_t)j];
          if (v <= 0) continue;
          double nm = v / total;
          double log_outer = -log(pi[i] * pj[j]) + logtot + logtot;
          double term = nm * (log(v) - logtot) + nm * log_outer;
          if (fabs(term) < DBL_EPSILON) term = 0.0;
          nsum_add(&s, &c, term);
        }
      mi = nsum_get(s, c);
      if (mi < 0) mi = 0;
    }
  }
  free(pi);
  return mi;
}

double stats_mutual_info(const int32_t *x, int32_t kx, const int32_t *y, int32_t ky, size_t n) {
  if (n == 0 || kx <= 0 || ky <= 0) return NAN;
  for (size_t r = 0; r < n; r++)
    if (x[r] < 0 || x[r] >= kx || y[r] < 0 || y[r] >= ky) return NAN;
  size_t cells = (size_t)kx * (size_t)ky;
  if (cells <= 4 * n + 4096) {
    double *t = calloc(cells, sizeof *t);
    if (!t) return NAN;
    for (size_t r = 0; r < n; r++) t[(size_t)x[r] * (size_t)ky + (size_t)y[r]] += 1;
    double mi = stats_mutual_info_table(t, kx, ky);
    free(t);
    return mi;
  }
  /* Sparse: sort the cell keys, count runs, then the same sum. */
  uint64_t *k = malloc(n * sizeof *k);
  double *pi = calloc((size_t)kx + (size_t)ky, sizeof *pi);
  if (!k || !pi) {
    free(k);
    free(pi);
    return NAN;
  }
  double *pj = pi + kx;
  for (size_t r = 0; r < n; r++) {
    k[r] = (uint64_t)x[r] * (uint64_t)ky + (uint64_t)y[r];
    pi[x[r]] += 1;
    pj[y[r]] += 1;
  }
  double mi = NAN;
  if (!stats_sort_u64(k, n, NULL)) {
    int32_t rows = 0, cols = 0;
    for (int32_t i = 0; i < kx; i++) rows += pi[i] > 0;
    for (int32_t j = 0; j < ky; j++) cols += pj[j] > 0;
    if (rows == 1 || cols == 1) {
      mi = 0;
    } else {
      double total = (double)n, logtot = log(total), s = 0, c = 0;
      for (size_t r = 0; r < n;) {
        size_t e = r + 1;
        while (e < n && k[e] == k[r]) e++;
        double v = (double)(e - r);
        size_t i = (size_t)(k[r] / (uint64_t)ky), j = (size_t)(k[r] % (uint64_t)ky);
        double nm = v / total;
        double term = nm * (log(v) - logtot) + nm * (-log(pi[i] * pj[j]) + logtot + logtot);
        if (fabs(term) < DBL_EPSILON) term = 0.0;
        nsum_add(&s, &c, term);
        r = e;
      }
      mi = nsum_get(s, c);
      if (mi < 0) mi = 0;
    }
  }
  free(k);
  free(pi);
  return mi;
}

double stats_cramers_v(const double *table, int32_t kx, int32_t ky) {
  if (kx <= 0 || ky <= 0) return NAN;
  double *rs = calloc((size_t)kx + (size_t)ky, sizeof *rs);
  if (!rs) return NAN;
  double *cs = rs + kx, total = 0;
  for (int32_t i = 0; i < kx; i++)
    for (int32_t j = 0; j < ky; j++) {
      double v = table[(size_t)i * (size_t)ky + (size_t)j];
      if (v < 0 || isnan(v)) {
        free(rs);
        return NAN;
      }
      rs[i] += v;
      cs[j] += v;
      total += v;
    }
  /* scipy.stats.contingency.association(method="cramer") on the table
   * without its empty rows and columns (scipy refuses those). */
  int32_t r = 0, c = 0;
  for (int32_t i = 0; i < kx; i++) r += rs[i] > 0;
  for (int32_t j = 0; j < ky; j++) c += cs[j] > 0;
  double v = NAN;
  if (total > 0 && r >= 2 && c >= 2) {
    double chi = 0, cc = 0;
    for (int32_t i = 0; i < kx; i++) {
      if (!(rs[i] > 0)) continue;
      for (int32_t j = 0; j < ky; j++) {
        if (!(cs[j] > 0)) continue;
        double e = rs[i] * cs[j] / total;
        double d = table[(size_t)i * (size_t)ky + (size_t)j] - e;
        nsum_add(&chi, &cc, d * d / e);
      }
    }
    double phi2 = nsum_get(chi, cc) / total;
    int32_t m = (r < c ? r : c) - 1;
    v = sqrt(phi2 / (double)m);
  }
  free(rs);
  return v;
}

/* --- classification metrics ------------------------------------------------------------------ */

static double ratio0(double a, double b) { return b > 0 ? a / b : 0.0; }
static double ratio_nan(double a, double b) { return b > 0 ? a / b : NAN; }

double stats_accuracy(const stats_confusion *c) {
  return ratio_nan(c->tp + c->tn, c->tp + c->tn + c->fp + c->fn);
}
double stats_precision(const stats_confusion *c) { return ratio0(c->tp, c->tp + c->fp); }
double stats_recall(const stats_confusion *c) { return ratio0(c->tp, c->tp + c->fn); }
double stats_f1(const stats_confusion *c) {
  return ratio0(2 * c->tp, 2 * c->tp + c->fp + c->fn);
}
double stats_fpr(const stats_confusion *c) { return ratio_nan(c->fp, c->fp + c->tn); }
double stats_fnr(const stats_confusion *c) { return ratio_nan(c->fn, c->fn + c->tp); }
double stats_positive_rate(const stats_confusion *c) {
  return ratio_nan(c->tp + c->fp, c->tp + c->tn + c->fp + c->fn);
}

/* AUC over rows visited in ascending score order: Mann-Whitney U / (P N),
 * ties counting one half (= the trapezoid over distinct thresholds). */
static double auc_ordered(const uint8_t *y, const double *score, size_t n, const size_t *order) {
  double P = 0, N = 0, area = 0, neg_below = 0;
  for (size_t i = 0; i < n;) {
    double s = score[order[i]];
    if (isnan(s)) return NAN;
    double pos = 0, neg = 0;
    size_t j = i;
    while (j < n && score[order[j]] == s) {
      if (y[order[j]])
        pos += 1;
      else
        neg += 1;
      j++;
    }
    area += pos * (neg_below + neg / 2);
    neg_below += neg;
    P += pos;
    N += neg;
    i = j;
  }
  if (P == 0 || N == 0) return NAN;
  return area / P / N;
}

double stats_roc_auc(const uint8_t *y, const double *score, size_t n, const size_t *order) {
  if (n == 0) return NAN;
  if (order) return auc_ordered(y, score, n, order);
  size_t *o = malloc(n * sizeof *o);
  if (!o) return NAN;
  double r = NAN;
  if (!stats_argsort_f64(score, n, o)) r = auc_ordered(y, score, n, o);
  free(o);
  return r;
}

int stats_roc_auc_groups(const uint8_t *y, const double *score, size_t n, const size_t *order,
                         const int32_t *group, int32_t ngroups, double *auc) {
  if (ngroups <= 0) return 0;
  size_t G = (size_t)ngroups;
  /* per group: P, N, area, negatives below the current run, and the
   * current run's positives and negatives; touched: groups in the run */
  double *c = calloc(6 * G, sizeof *c);
  int32_t *touched = malloc(G * sizeof *touched);
  if (!c || !touched) {
    free(c);
    free(touched);
    return assay__nomem();
  }
  double *P = c, *N = c + G, *area = c + 2 * G, *below = c + 3 * G, *rpos = c + 4 * G,
         *rneg = c + 5 * G;
  for (size_t i = 0; i < n;) {
    double s = score[order[i]];
    if (isnan(s)) { /* its group has no AUC */
      int32_t g = group[order[i]];
      if (g >= 0 && g < ngroups) P[g] = NAN;
    }
    size_t nt = 0, j = i;
    for (; j < n && score[order[j]] == s; j++) {
      size_t r = order[j];
      int32_t g = group[r];
      if (g < 0 || g >= ngroups) continue;
      if (rpos[g] == 0 && rneg[g] == 0) touched[nt++] = g;
      if (y[r])
        rpos[g] += 1;
      else
        rneg[g] += 1;
    }
    if (j == i) j = i + 1; /* a NaN score: a run of its own */
    for (size_t t = 0; t < nt; t++) {
      int32_t g = touched[t];
      area[g] += rpos[g] * (below[g] + rneg[g] / 2);
      below[g] += rneg[g];
      P[g] += rpos[g];
      N[g] += rneg[g];
      rpos[g] = rneg[g] = 0;
    }
    i = j;
  }
  for (size_t g = 0; g < G; g++)
    auc[g] = (isnan(P[g]) || P[g] == 0 || N[g] == 0) ? NAN : area[g] / P[g] / N[g];
  free(c);
  free(touched);
  return 0;
}

double stats_log_loss_binary(const uint8_t *y, const double *p, size_t n) {
  if (n == 0) return NAN;
  const double eps = DBL_EPSILON;
  double s = 0, c = 0;
  for (size_t i = 0; i < n; i++) {
    double q = p[i];
    if (!(q >= 0 && q <= 1)) return NAN; /* sklearn raises */
    double t = y[i] ? q : 1 - q;
    if (t < eps) t = eps;
    if (t > 1 - eps) t = 1 - eps;
    nsum_add(&s, &c, -log(t));
  }
  return nsum_get(s, c) / (double)n;
}

double stats_brier(const uint8_t *y, const double *p, size_t n) {
  if (n == 0) return NAN;
  double s = 0, c = 0;
  for (size_t i = 0; i < n; i++) {
    double q = p[i];
    if (!(q >= 0 && q <= 1)) return NAN; /* sklearn raises */
    double d = (y[i] ? 1.0 : 0.0) - q;
    nsum_add(&s, &c, d * d);
  }
  return nsum_get(s, c) / (double)n;
}

double stats_mc_accuracy(const double *cm, int32_t k) {
  if (k <= 0) return NAN;
  double tr = 0, tot = 0;
  for (int32_t i = 0; i < k; i++)
    for (int32_t j = 0; j < k; j++) {
      double v = cm[(size_t)i * (size_t)k + (size_t)j];
      tot += v;
      if (i == j) tr += v;
    }
  return ratio_nan(tr, tot);
}

enum { MC_PRECISION, MC_RECALL, MC_F1 };

static double mc_score(const double *cm, int32_t k, stats_average avg, int what) {
  if (k <= 0) return NAN;
  double tot = 0, tp_all = 0;
  for (int32_t i = 0; i < k; i++)
    for (int32_t j = 0; j < k; j++) tot += cm[(size_t)i * (size_t)k + (size_t)j];
  if (!(tot > 0)) return NAN;
  double num = 0, wsum = 0;
  int32_t labels = 0;
  for (int32_t c = 0; c < k; c++) {
    double tp = cm[(size_t)c * (size_t)k + (size_t)c], rs = 0, cs = 0;
    for (int32_t j = 0; j < k; j++) rs += cm[(size_t)c * (size_t)k + (size_t)j];
    for (int32_t i = 0; i < k; i++) cs += cm[(size_t)i * (size_t)k + (size_t)c];
    tp_all += tp;
    if (rs == 0 && cs == 0) continue; /* not among sklearn's labels */
    labels++;
    double v = what == MC_PRECISION ? ratio0(tp, cs)
               : what == MC_RECALL  ? ratio0(tp, rs)
                                    : ratio0(2 * tp, rs + cs);
    if (avg == STATS_AVG_WEIGHTED) {
      num += rs * v;
      wsum += rs;
    } else {
      num += v;
    }
  }
  if (avg == STATS_AVG_MICRO) return tp_all / tot;
  if (avg == STATS_AVG_WEIGHTED) return ratio0(num, wsum);
  return labels ? num / labels : NAN;
}

double stats_mc_precision(const double *cm, int32_t k, stats_average avg) {
  return mc_score(cm, k, avg, MC_PRECISION);
}
double stats_mc_recall(const double *cm, int32_t k, stats_average avg) {
  return mc_score(cm, k, avg, MC_RECALL);
}
double stats_mc_f1(const double *cm, int32_t k, stats_average avg) {
  return mc_score(cm, k, avg, MC_F1);
}

double stats_mc_roc_auc_ovr(const int32_t *y, const double *proba, size_t n, int32_t k) {
  if (n == 0 || k < 2) return NAN;
  for (size_t i = 0; i < n; i++)
    if (y[i] < 0 || y[i] >= k) return NAN;
  double *col = malloc(n * sizeof *col);
  uint8_t *yb = malloc(n);
  size_t *o = malloc(n * sizeof *o);
  double sum = 0;
  if (!col || !yb || !o) sum = NAN;
  for (int32_t c = 0; c < k && !isnan(sum); c++) {
    for (size_t i = 0; i < n; i++) {
      col[i] = proba[i * (size_t)k + (size_t)c];
      yb[i] = y[i] == c;
    }
    if (stats_argsort_f64(col, n, o)) {
      sum = NAN;
      break;
    }
    sum += auc_ordered(yb, col, n, o);
  }
  free(col);
  free(yb);
  free(o);
  return sum / k;
}

double stats_mc_log_loss(const int32_t *y, const double *proba, size_t n, int32_t k) {
  if (n == 0 || k < 1) return NAN;
  const double eps = DBL_EPSILON;
  double s = 0, c = 0;
  for (size_t i = 0; i < n; i++) {
    if (y[i] < 0 || y[i] >= k) return NAN;
    for (int32_t j = 0; j < k; j++) {
      double q = proba[i * (size_t)k + (size_t)j];
      if (!(q >= 0 && q <= 1)) return NAN; /* sklearn raises */
    }
    double t = proba[i * (size_t)k + (size_t)y[i]];
    if (t < eps) t = eps;
    if (t > 1 - eps) t = 1 - eps;
    nsum_add(&s, &c, -log(t));
  }
  return nsum_get(s, c) / (double)n;
}

/* --- regression metrics ---------------------------------------------------------------------- */

void stats_reg_init(stats_reg *r) { memset(r, 0, sizeof *r); }

void stats_reg_add(stats_reg *r, double y, double p) {
  double d = y - p, ad = fabs(d);
  r->n += 1;
  nsum_add(&r->sum_abs, &r->sum_abs_c, ad);
  nsum_add(&r->sum_sq, &r->sum_sq_c, d * d);
  double den = fabs(y) > DBL_EPSILON ? fabs(y) : DBL_EPSILON;
  nsum_add(&r->sum_ape, &r->sum_ape_c, ad / den);
  if (y <= -1 || p <= -1 || isnan(y) || isnan(p)) {
    r->sle_invalid = 1;
  } else {
    double l = log1p(y) - log1p(p);
    nsum_add(&r->sum_sle, &r->sum_sle_c, l * l);
  }
  double dy = y - r->mean_y;
  r->mean_y += dy / r->n;
  r->m2_y += dy * (y - r->mean_y);
  nsum_add(&r->sum_p, &r->sum_p_c, p);
  double dp = p - r->mean_p;
  r->mean_p += dp / r->n;
  r->m2_p += dp * (p - r->mean_p);
}

void stats_reg_merge(stats_reg *into, const stats_reg *o) {
  if (o->n == 0) return;
  if (into->n == 0) {
    *into = *o;
    return;
  }
  double na = into->n, nb = o->n, n = na + nb;
  nsum_add(&into->sum_abs, &into->sum_abs_c, o->sum_abs);
  into->sum_abs_c += o->sum_abs_c;
  nsum_add(&into->sum_sq, &into->sum_sq_c, o->sum_sq);
  into->sum_sq_c += o->sum_sq_c;
  nsum_add(&into->sum_ape, &into->sum_ape_c, o->sum_ape);
  into->sum_ape_c += o->sum_ape_c;
  nsum_add(&into->sum_sle, &into->sum_sle_c, o->sum_sle);
  into->sum_sle_c += o->sum_sle_c;
  into->sle_invalid |= o->sle_invalid;
  double dy = o->mean_y - into->mean_y;
  into->m2_y += o->m2_y + dy * dy * na * nb / n;
  into->mean_y += dy * nb / n;
  nsum_add(&into->sum_p, &into->sum_p_c, o->sum_p);
  into->sum_p_c += o->sum_p_c;
  double dp = o->mean_p - into->mean_p;
  into->m2_p += o->m2_p + dp * dp * na * nb / n;
  into->mean_p += dp * nb / n;
  into->n = n;
}

double stats_reg_mae(const stats_reg *r) {
  return r->n > 0 ? nsum_get(r->sum_abs, r->sum_abs_c) / r->n : NAN;
}
double stats_reg_mse(const stats_reg *r) {
  return r->n > 0 ? nsum_get(r->sum_sq, r->sum_sq_c) / r->n : NAN;
}
double stats_reg_rmse(const stats_reg *r) { return sqrt(stats_reg_mse(r)); }
double stats_reg_mape(const stats_reg *r) {
  return r->n > 0 ? nsum_get(r->sum_ape, r->sum_ape_c) / r->n : NAN;
}
double stats_reg_msle(const stats_reg *r) {
  return r->n > 0 && !r->sle_invalid ? nsum_get(r->sum_sle, r->sum_sle_c) / r->n : NAN;
}
double stats_reg_r2(const stats_reg *r) {
  if (r->n < 2) return NAN;
  double num = nsum_get(r->sum_sq, r->sum_sq_c), den = r->m2_y;
  if (isnan(num) || isnan(den)) return NAN;
  if (num == 0) return 1.0;
  if (den == 0) return 0.0;
  return 1 - num / den;
}
double stats_reg_mean_pred(const stats_reg *r) {
  return r->n > 0 ? nsum_get(r->sum_p, r->sum_p_c) / r->n : NAN;
}
double stats_reg_var_pred(const stats_reg *r) { return r->n > 0 ? r->m2_p / r->n : NAN; }

/* --- scipy's kstwo: the two-sided one-sample KS distribution ----------------------------------
 * A port of scipy/stats/_ksstats.py (_kolmogn and its methods, Simard &
 * L'Ecuyer's choice among them) and of scipy.special.smirnov (xsf
 * cephes/kolmogorov.h, _smirnov), with long double where scipy uses
 * double-double arithmetic. */

#define KS_E128 128
static const double KS_EP128 = 3.4028236692093846e38;  /* 2^128 */
static const double KS_EM128 = 2.9387358770557188e-39; /* 2^-128 */

static double clip01(double p) { return p < 0 ? 0 : p > 1 ? 1 : p; }

/* log(n! / n^n) by Stirling's series (scipy's _log_nfactorial_div_n_pow_n). */
static double log_nfact_div_npown(double n) {
  static const double c[8] = {-2.955065359477124183e-2, 6.4102564102564102564e-3,
                              -1.9175269175269175269e-3, 8.4175084175084175084e-4,
                              -5.952380952380952381e-4, 7.9365079365079365079e-4,
                              -2.7777777777777777778e-3, 8.3333333333333333333e-2};
  double rn = 1.0 / n, z = rn / n, pv = 0;
  for (int i = 0; i < 8; i++) pv = pv * z + c[i];
  return log(n) / 2 - n + log(2 * M_PI) / 2 + rn * pv;
}

/* scipy.special.smirnov(n, x): Pr(D_n^+ >= x), one-sided. */
static double smirnov_sf(int n, double x) {
  if (!(n > 0 && x >= 0.0 && x <= 1.0)) return NAN;
  if (n == 1) return 1 - x;
  if (x == 0.0) return 1.0;
  if (x == 1.0) return 0.0;
  long double nxl = (long double)n * (long double)x;
  long double nxfl_l = floorl(nxl);
  double alpha = (double)(nxl - nxfl_l);
  int nxfl = (int)nxfl_l;
  if (alpha == 1) {
    nxfl += 1;
    alpha = 0;
  }
  int n1mxfl = n - nxfl - (alpha == 0 ? 0 : 1);
  int n1mxceil = n - nxfl;
  if (alpha == 0) {
    n1mxfl -= 1;
    n1mxceil += 1;
  }
  if (nxfl == 0 || (nxfl == 1 && alpha == 0)) {
    long double t = powl(1.0L + (long double)x, n - 1);
    double cdf = (double)((long double)x * t);
    return clip01(1 - cdf);
  }
  if (-2.0 * n * x * x < -7.08396418532264106224E2) return 0; /* MINLOG */
  if (nxfl >= n - 1) return clip01((double)powl(1.0L - (long double)x, n));
  if (n > 1000000) {
    double logp = -pow(6.0 * n * x + 1, 2) / 18.0 / n;
    if (logp < -M_LN2) return clip01(exp(logp));
    return clip01(1 - (-expm1(logp)));
  }
  int nUpperTerms = n - n1mxceil + 1;
  int upper = (nUpperTerms <= 1 && x < 0.5) ||
              (n >= 10 && nUpperTerms <= 3 && x <= 0.5 / sqrt((double)n));
  int start = 0, step = 1, nTerms = n1mxfl + 1, vmid = n / 2;
  long double lx = (long double)x, sum = 0, Aj;
  if (upper) {
    start = n;
    step = -1;
    nTerms = n - n1mxceil + 1;
    Aj = powl(1.0L + lx, n - 1);
  } else {
    Aj = powl(1.0L - lx, n) / lx;
  }
  sum += Aj;
  /* The logarithms and exponentials in double (fast), their sums in long
   * double: the terms' exponents are sums of values up to ~n in size. */
  long double logC = log((double)n); /* log binomial(n, 1) */
  for (int j = 1; j < nTerms; j++) {
    int v = start + j * step;
    /* A_v = C(n, v) (1 - x - v/n)^(n - v) (x + v/n)^(v - 1), with
     * 1 - x - v/n = (n - nxfl - v - alpha) / n, x + v/n = (nxfl + v + alpha) / n */
    long double t2x = ((long double)(n - nxfl - v) - alpha) / n;
    long double t1x = ((long double)(nxfl + v) + alpha) / n;
    long double sign = 1;
    if (t2x < 0 && ((n - v) & 1)) sign = -1;
    long double l = logC + (long double)(n - v) * log((double)fabsl(t2x)) +
                    (long double)(v - 1) * log((double)t1x);
    if (t2x == 0) l = (n - v) == 0 ? logC + (long double)(v - 1) * log((double)t1x) : -INFINITY;
    Aj = sign * exp((double)l);
    if (isfinite((double)Aj) && Aj != 0) sum += Aj;
    if (Aj != 0) {
      if (4.0L * (nTerms - j) * fabsl(Aj) < (long double)DBL_EPSILON * sum && j != nTerms - 1)
        break;
    } else if (j > vmid) {
      break;
    }
    logC += log((double)(n - j) / (double)(j + 1));
  }
  double prob = (double)(lx * sum);
  return clip01(upper ? 1 - prob : prob);
}

/* Durbin's matrix algorithm as Marsaglia, Tsang & Wang: Pr(D_n <= d). */
static double kolmogn_dmtw(int n, double d) {
  if (d >= 1.0) return 1.0;
  double nd = n * d;
  if (nd <= 0.5) return 0.0;
  int k = (int)ceil(nd);
  double h = k - nd;
  int m = 2 * k - 1;
  size_t mm = (size_t)m * (size_t)m;
  double *H = calloc(3 * mm + 2 * (size_t)m, sizeof *H);
  if (!H) return NAN;
  double *P = H + mm, *T = P + mm, *v = T + mm, *w = v + m;
  double fac = 1.0;
  for (int j = 1; j <= m; j++) {
    v[j - 1] = 1.0 - pow(h, j);
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] *= fac;
  }
  double tt = pow(fmax(2 * h - 1.0, 0), m) - 2 * pow(h, m);
  v[m - 1] = (1.0 + tt) * fac;
  for (int i = 1; i < m; i++)
    for (int r = i - 1; r < m; r++) H[(size_t)r * m + i] = w[r - (i - 1)];
  for (int r = 0; r < m; r++) H[(size_t)r * m] = v[r];
  for (int c = 0; c < m; c++) H[(size_t)(m - 1) * m + c] = v[m - 1 - c];
  for (int r = 0; r < m; r++) P[(size_t)r * m + r] = 1.0;
  int nn = n, expnt = 0, Hexpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      memset(T, 0, mm * sizeof *T);
      for (int r = 0; r < m; r++)
        for (int q = 0; q < m; q++) {
          double a = P[(size_t)r * m + q];
          if (a == 0) continue;
          const double *hr = H + (size_t)q * m;
          double *tr = T + (size_t)r * m;
          for (int c = 0; c < m; c++) tr[c] += a * hr[c];
        }
      memcpy(P, T, mm * sizeof *T);
      expnt += Hexpnt;
    }
    memset(T, 0, mm * sizeof *T);
    for (int r = 0; r < m; r++)
      for (int q = 0; q < m; q++) {
        double a = H[(size_t)r * m + q];
        if (a == 0) continue;
        const double *hr = H + (size_t)q * m;
        double *tr = T + (size_t)r * m;
        for (int c = 0; c < m; c++) tr[c] += a * hr[c];
      }
    memcpy(H, T, mm * sizeof *T);
    Hexpnt *= 2;
    if (fabs(H[(size_t)(k - 1) * m + (k - 1)]) > KS_EP128) {
      for (size_t i = 0; i < mm; i++) H[i] /= KS_EP128;
      Hexpnt += KS_E128;
    }
    nn /= 2;
  }
  double p = P[(size_t)(k - 1) * m + (k - 1)];
  for (int i = 1; i <= n; i++) {
    p = i * p / n;
    if (fabs(p) < KS_EM128) {
      p *= KS_EP128;
      expnt -= KS_E128;
    }
  }
  if (expnt != 0) p = ldexp(p, expnt);
  free(H);
  return clip01(p);
}

static void pomeranz_j1j2(int i, int n, int ll, int ceilf, int roundf, int *pj1, int *pj2) {
  int j1, j2;
  if (i == 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    int ip1div2 = (i + 1) / 2, ip1mod2 = (i + 1) % 2;
    if (ip1mod2 == 0) {
      if (ip1div2 == n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  *pj1 = j1 + 2 > 0 ? j1 + 2 : 0;
  *pj2 = j2 < n ? j2 : n;
}

/* Pomeranz's recursion: Pr(D_n <= x). */
static double kolmogn_pomeranz(int n, double x) {
  double t = n * x;
  int ll = (int)floor(t);
  double f = t - ll;
  double g = fmin(f, 1.0 - f);
  int ceilf = f > 0 ? 1 : 0, roundf = f > 0.5 ? 1 : 0;
  int npwrs = 2 * (ll + 1);
  double *mem = calloc(5 * (size_t)npwrs + 2 * (size_t)npwrs, sizeof *mem);
  if (!mem) return NAN;
  double *gpower = mem, *twogpower = gpower + npwrs, *onem2gpower = twogpower + npwrs;
  double *V0 = onem2gpower + npwrs, *V1 = V0 + npwrs, *conv = V1 + npwrs; /* conv: 2 npwrs */
  gpower[0] = twogpower[0] = onem2gpower[0] = 1.0;
  int expnt = 0;
  double g_n = g / n, tg_n = 2 * g / n, om_n = (1 - 2 * g) / n;
  for (int m = 1; m < npwrs; m++) {
    gpower[m] = gpower[m - 1] * g_n / m;
    twogpower[m] = twogpower[m - 1] * tg_n / m;
    onem2gpower[m] = onem2gpower[m - 1] * om_n / m;
  }
  V1[0] = 1;
  int V0s = 0, V1s = 0, j1, j2;
  pomeranz_j1j2(0, n, ll, ceilf, roundf, &j1, &j2);
  for (int i = 1; i < 2 * n + 2; i++) {
    int k1 = j1;
    double *tmp = V0;
    V0 = V1;
    V1 = tmp;
    int ts = V0s;
    V0s = V1s;
    V1s = ts;
    memset(V1, 0, (size_t)npwrs * sizeof *V1);
    pomeranz_j1j2(i, n, ll, ceilf, roundf, &j1, &j2);
    const double *pw = (i == 1 || i == 2 * n + 1) ? gpower : (i % 2 ? twogpower : onem2gpower);
    int ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      int a0 = k1 - V0s;
      int la = ln2, lb = ln2;
      if (a0 < 0) a0 = 0; /* not reached (numpy would wrap) */
      if (a0 + la > npwrs) la = npwrs - a0;
      if (lb > npwrs) lb = npwrs;
      int lc = la + lb - 1;
      for (int q = 0; q < lc; q++) {
        double s = 0;
        int lo = q - lb + 1 > 0 ? q - lb + 1 : 0, hi = q < la - 1 ? q : la - 1;
        for (int r = lo; r <= hi; r++) s += V0[a0 + r] * pw[q - r];
        conv[q] = s;
      }
      int conv_start = j1 - k1, conv_len = j2 - j1 + 1;
      double mx = 0; /* np.max(V1): the rest of V1 is 0 */
      for (int q = 0; q < conv_len && q < npwrs; q++) {
        int ci = conv_start + q;
        V1[q] = (ci >= 0 && ci < lc) ? conv[ci] : 0;
        if (V1[q] > mx) mx = V1[q];
      }
      if (0 < mx && mx < KS_EM128) {
        for (int q = 0; q < npwrs; q++) V1[q] *= KS_EP128;
        expnt -= KS_E128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  int idx = n - V1s;
  double ans = (idx >= 0 && idx < npwrs) ? V1[idx] : 0;
  for (int m = 1; m <= n; m++) {
    if (fabs(ans) > KS_EP128) {
      ans *= KS_EM128;
      expnt += KS_E128;
    }
    ans *= m;
  }
  if (expnt != 0) ans = ldexp(ans, expnt);
  free(mem);
  return clip01(ans);
}

/* Pelz-Good approximation of Pr(D_n <= x). */
static double kolmogn_pelzgood(int n, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double PI2 = M_PI * M_PI, PI4 = PI2 * PI2, PI6 = PI4 * PI2;
  const double SQRT2PI = sqrt(2 * M_PI);
  double z = sqrt((double)n) * x;
  double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
  double qlog = -PI2 / 8 / z2;
  if (qlog < -708) return 0.0;
  double q = exp(qlog);
  double k1a = -z2, k1b = PI2 / 4;
  double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * PI2 / 4, k2c = PI4 * (1 - 2 * z2) / 16;
  double k3d = PI6 * (5 - 30 * z2) / 64, k3c = PI4 * (-60 * z2 + 212 * z4) / 16;
  double k3b = PI2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * pow(z, 8);
  double K[4] = {0, 0, 0, 0};
  int maxk = (int)ceil(16 * z / M_PI);
  for (int k = maxk; k > 0; k--) {
    double m = 2 * k - 1, m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
    double qp = pow(q, 8 * k);
    double cf[4] = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                    k3a + k3b * m2 + k3c * m4 + k3d * m6};
    for (int i = 0; i < 4; i++) K[i] = K[i] * qp + cf[i];
  }
  double den[4] = {z, 6 * z4, 72 * pow(z, 7), 6480 * pow(z, 10)};
  for (int i = 0; i < 4; i++) K[i] = K[i] * q * SQRT2PI / den[i];
  q = exp(-PI2 / 2 / z2);
  double k2extra = 0, k3extra = 0, sqrt3z = sqrt(3.0) * z;
  for (int k = maxk; k > 0; k--) {
    double ks2 = (double)k * k, qp = pow(q, ks2), kspi = M_PI * k;
    k2extra += ks2 * qp;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
  }
  K[2] += k2extra * PI2 * SQRT2PI / (-36 * z3);
  K[3] += k3extra * PI2 * SQRT2PI / (216 * z6);
  double sum = 0;
  for (int i = 0; i < 4; i++) sum += K[i] / pow((double)n, i / 2.0);
  return sum;
}

/* _kolmogn(n, x, cdf=False) of scipy, for 0 < x < 1. */
static double kolmogn_sf(int n, double x) {
  if (x >= 1.0) return 0.0;
  if (x <= 0.0) return 1.0;
  double t = n * x;
  if (t <= 1.0) {
    if (t <= 0.5) return 1.0;
    double prob;
    if (n <= 140) {
      prob = 1;
      for (int i = 1; i <= n; i++) prob *= i * (1.0 / n) * (2 * t - 1);
    } else {
      prob = exp(log_nfact_div_npown(n) + n * log(2 * t - 1));
    }
    return clip01(1.0 - prob);
  }
  if (t >= n - 1) return clip01(2 * pow(1.0 - x, n));
  if (x >= 0.5) return clip01(2 * smirnov_sf(n, x));
  double nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) return clip01(1.0 - kolmogn_dmtw(n, x));
    if (nxsquared <= 4) return clip01(1.0 - kolmogn_pomeranz(n, x));
    return clip01(2 * smirnov_sf(n, x));
  }
  if (nxsquared >= 370.0) return 0.0;
  if (nxsquared >= 2.2) return clip01(2 * smirnov_sf(n, x));
  double cdf;
  if (nxsquared >= 18.0)
    cdf = 1.0;
  else if (n <= 100000 && n * pow(x, 1.5) <= 1.4)
    cdf = kolmogn_dmtw(n, x);
  else
    cdf = kolmogn_pelzgood(n, x);
  return clip01(1.0 - cdf);
}

static double kstwo_sf(double n, double x) {
  if (isnan(n) || isnan(x) || n < 1 || n != floor(n) || n > INT32_MAX) return NAN;
  if (x <= 0.5 / n) return 1.0;
  if (x >= 1.0) return 0.0;
  return kolmogn_sf((int)n, x);
}

/* --- assay__debug_stat ---------------------------------------------------------------------------
 * Request {"fn": name, ...}; arrays of numbers may hold null / "nan",
 * "inf", "-inf". Functions and arguments (arrays are passed raw: the
 * wrapper sorts where the C function wants sorted input):
 *   sort {v} -> {v};  argsort {v} -> {order};  rank_average {v} -> {ranks}
 *   quantile {v, q: number|array} -> {value|values}
 *   quantile_edges {v, nbins} -> {edges};  bin_of {edges, x: array} -> {bins}
 *   psi {ref, eval, eps?} -> {value};  js_distance {p, q} -> {value}
 *   ks_2samp {a, b} -> {statistic, pvalue};  wasserstein{,_normed} {a, b} -> {value}
 *   chisquare {observed, expected} -> {statistic, pvalue};  chi2_sf {x, dof} -> {value}
 *   ztest_2prop {x1, n1, x2, n2} -> {z, pvalue}
 *   pearson / spearman {x, y} -> {value};  entropy {counts} -> {value}
 *   mutual_info {x, y: integer codes, kx?, ky?} -> {value}
 *   mutual_info_table / cramers_v {table: [[...]]} -> {value}
 *   binary {y: 0/1, score, threshold? (0.5), order?: bool} -> {tp, fp, tn, fn, accuracy,
 *     precision, recall, f1, fpr, fnr, positive_rate, roc_auc, log_loss, brier}
 *   roc_auc_groups {y, score, group: codes (< 0: none), ngroups?} -> {auc: [per group]}
 *   multiclass {y, pred: codes, k?} -> {accuracy, precision_macro, ..., f1_weighted}
 *   mc_roc_auc_ovr / mc_log_loss {y, proba: [[...]]} -> {value}
 *   regression {y, p, split?} -> {mae, mse, rmse, mape, msle, r2, mean_pred, var_pred}
 *     (split: the first `split` rows and the rest accumulated apart, then merged)
 * Results: NAN as null, infinities as "inf" / "-inf". */

static json_t *jnum(double v) {
  if (isnan(v)) return json_null();
  if (isinf(v)) return json_string(v < 0 ? "-inf" : "inf");
  return json_real(v);
}

static int jnum_in(const json_t *j, double *out) {
  if (json_is_number(j)) {
    *out = json_number_value(j);
    return 0;
  }
  if (json_is_null(j)) {
    *out = NAN;
    return 0;
  }
  if (json_is_string(j)) {
    const char *s = json_string_value(j);
    if (!strcmp(s, "nan")) *out = NAN;
    else if (!strcmp(s, "inf")) *out = INFINITY;
    else if (!strcmp(s, "-inf")) *out = -INFINITY;
    else return -1;
    return 0;
  }
  return -1;
}

/* A malloc'ed array of the numbers of req[key] (at least one element of
 * memory). Missing or malformed: error naming the key. */
static int jarr(const json_t *req, const char *key, double **out, size_t *n) {
  *out = NULL;
  const json_t *a = json_object_get(req, key);
  if (!json_is_array(a))
    return assay__err(ASSAY_ERR_CONFIG, "assay__debug_stat: \"%s\" must be an array of numbers",
                      key);
  size_t len = json_array_size(a);
  double *v = malloc((len ? len : 1) * sizeof *v);
  if (!v) return assay__nomem();
  for (size_t i = 0; i < len; i++)
    if (jnum_in(json_array_get(a, i), &v[i])) {
      free(v);
      return assay__err(ASSAY_ERR_CONFIG,
                        "assay__debug_stat: \"%s\"[%zu] is not a number, null, \"nan\", \"inf\" "
                        "or \"-inf\"",
                        key, i);
    }
  *out = v;
  *n = len;
  return 0;
}

static int jint_arr(const json_t *req, const char *key, int32_t **out, size_t *n) {
  double *d;
  int rc = jarr(req, key, &d, n);
  if (rc) return rc;
  int32_t *v = malloc((*n ? *n : 1) * sizeof *v);
  if (!v) {
    free(d);
    return assay__nomem();
  }
  for (size_t i = 0; i < *n; i++) v[i] = isfinite(d[i]) ? (int32_t)d[i] : -1;
  free(d);
  *out = v;
  return 0;
}

/* A rows x cols matrix from an array of equally long arrays. */
static int jmatrix(const json_t *req, const char *key, double **out, size_t *rows, size_t *cols) {
  *out = NULL;
  const json_t *a = json_object_get(req, key);
  if (!json_is_array(a))
    return assay__err(ASSAY_ERR_CONFIG, "assay__debug_stat: \"%s\" must be an array of arrays",
                      key);
  size_t r = json_array_size(a), c = r ? json_array_size(json_array_get(a, 0)) : 0;
  double *m = malloc((r * c > 0 ? r * c : 1) * sizeof *m);
  if (!m) return assay__nomem();
  for (size_t i = 0; i < r; i++) {
    const json_t *row = json_array_get(a, i);
    if (!json_is_array(row) || json_array_size(row) != c) {
      free(m);
      return assay__err(ASSAY_ERR_CONFIG,
                        "assay__debug_stat: \"%s\"[%zu] must be an array of %zu numbers", key, i,
                        c);
    }
    for (size_t j = 0; j < c; j++)
      if (jnum_in(json_array_get(row, j), &m[i * c + j])) {
        free(m);
        return assay__err(ASSAY_ERR_CONFIG, "assay__debug_stat: \"%s\"[%zu][%zu] is not a number",
                          key, i, j);
      }
  }
  *out = m;
  *rows = r;
  *cols = c;
  return 0;
}

static double jopt(const json_t *req, const char *key, double dflt) {
  double v;
  const json_t *j = json_object_get(req, key);
  if (!j || jnum_in(j, &v)) return dflt;
  return v;
}

static json_t *jarr_out(const double *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) json_array_append_new(a, jnum(v[i]));
  return a;
}

static int sorted_copy(const double *v, size_t n, double **out) {
  double *c = malloc((n ? n : 1) * sizeof *c);
  if (!c) return assay__nomem();
  if (n) memcpy(c, v, n * sizeof *c);
  int rc = stats_sort_f64(c, n, NULL);
  if (rc) {
    free(c);
    return rc;
  }
  *out = c;
  return 0;
}

static int need_same(size_t a, size_t b, const char *what) {
  if (a != b)
    return assay__err(ASSAY_ERR_CONFIG,
                      "assay__debug_stat: %s must have the same length (%zu, %zu)", what, a, b);
  return 0;
}

static int dbg_run(const char *fn, const json_t *req, json_t *res) {
  double *a = NULL, *b = NULL, *c = NULL, *d = NULL;
  int32_t *ia = NULL, *ib = NULL;
  size_t na = 0, nb = 0, r = 0, k = 0;
  int rc = 0;
#define ARR(key, p, n) \
  if ((rc = jarr(req, key, &p, &n))) goto out
#define SET(key, v) json_object_set_new(res, key, jnum(v))
  if (!strcmp(fn, "sort")) {
    ARR("v", a, na);
    if ((rc = stats_sort_f64(a, na, NULL))) goto out;
    json_object_set_new(res, "v", jarr_out(a, na));
  } else if (!strcmp(fn, "argsort")) {
    ARR("v", a, na);
    size_t *o = malloc((na ? na : 1) * sizeof *o);
    if (!o) {
      rc = assay__nomem();
      goto out;
    }
    rc = stats_argsort_f64(a, na, o);
    json_t *arr = json_array();
    for (size_t i = 0; !rc && i < na; i++)
      json_array_append_new(arr, json_integer((json_int_t)o[i]));
    json_object_set_new(res, "order", arr);
    free(o);
  } else if (!strcmp(fn, "rank_average")) {
    ARR("v", a, na);
    b = malloc((na ? na : 1) * sizeof *b);
    if (!b) {
      rc = assay__nomem();
      goto out;
    }
    if ((rc = stats_rank_average(a, na, b))) goto out;
    json_object_set_new(res, "ranks", jarr_out(b, na));
  } else if (!strcmp(fn, "quantile")) {
    ARR("v", a, na);
    if ((rc = sorted_copy(a, na, &b))) goto out;
    const json_t *q = json_object_get(req, "q");
    if (json_is_array(q)) {
      ARR("q", c, nb);
      for (size_t i = 0; i < nb; i++) c[i] = stats_quantile_sorted(b, na, c[i]);
      json_object_set_new(res, "values", jarr_out(c, nb));
    } else {
      SET("value", stats_quantile_sorted(b, na, jopt(req, "q", NAN)));
    }
  } else if (!strcmp(fn, "quantile_edges")) {
    ARR("v", a, na);
    int nbins = (int)jopt(req, "nbins", 10);
    if (nbins < 2 || nbins > 10000) {
      rc = assay__err(ASSAY_ERR_CONFIG, "assay__debug_stat: nbins must be 2..10000");
      goto out;
    }
    if ((rc = sorted_copy(a, na, &b))) goto out;
    c = malloc((size_t)nbins * sizeof *c);
    if (!c) {
      rc = assay__nomem();
      goto out;
    }
    size_t m = stats_quantile_edges(b, na, nbins, c);
    json_object_set_new(res, "edges", jarr_out(c, m));
  } else if (!strcmp(fn, "bin_of")) {
    ARR("edges", a, na);
    ARR("x", b, nb);
    json_t *arr = json_array();
    for (size_t i = 0; i < nb; i++)
      json_array_append_new(arr, json_integer((json_int_t)stats_bin_of(a, na, b[i])));
    json_object_set_new(res, "bins", arr);
  } else if (!strcmp(fn, "psi") || !strcmp(fn, "js_distance")) {
    int psi = !strcmp(fn, "psi");
    ARR(psi ? "ref" : "p", a, na);
    ARR(psi ? "eval" : "q", b, nb);
    if ((rc = need_same(na, nb, "the two count vectors"))) goto out;
    SET("value", psi ? stats_psi(a, b, na, jopt(req, "eps", STATS_PSI_EPS))
                     : stats_js_distance(a, b, na));
  } else if (!strcmp(fn, "ks_2samp") || !strcmp(fn, "wasserstein") ||
             !strcmp(fn, "wasserstein_normed")) {
    ARR("a", a, na);
    ARR("b", b, nb);
    if ((rc = sorted_copy(a, na, &c)) || (rc = sorted_copy(b, nb, &d))) goto out;
    if (!strcmp(fn, "ks_2samp")) {
      double st, p;
      stats_ks_2samp(c, na, d, nb, &st, &p);
      SET("statistic", st);
      SET("pvalue", p);
    } else if (!strcmp(fn, "wasserstein")) {
      SET("value", stats_wasserstein(c, na, d, nb));
    } else {
      SET("value", stats_wasserstein_normed(c, na, d, nb));
    }
  } else if (!strcmp(fn, "chisquare")) {
    ARR("observed", a, na);
    ARR("expected", b, nb);
    if ((rc = need_same(na, nb, "observed and expected"))) goto out;
    double st, p;
    stats_chisquare(a, b, na, &st, &p);
    SET("statistic", st);
    SET("pvalue", p);
  } else if (!strcmp(fn, "chi2_sf")) {
    SET("value", stats_chi2_sf(jopt(req, "x", NAN), jopt(req, "dof", NAN)));
  } else if (!strcmp(fn, "kstwo_sf")) {
    SET("value", kstwo_sf(jopt(req, "n", NAN), jopt(req, "x", NAN)));
  } else if (!strcmp(fn, "smirnov")) {
    double n = jopt(req, "n", NAN);
    SET("value", n >= 1 && n < 2e9 ? smirnov_sf((int)n, jopt(req, "x", NAN)) : NAN);
  } else if (!strcmp(fn, "ztest_2prop")) {
    double z, p;
    stats_ztest_2prop(jopt(req, "x1", NAN), jopt(req, "n1", NAN), jopt(req, "x2", NAN),
                      jopt(req, "n2", NAN), &z, &p);
    SET("z", z);
    SET("pvalue", p);
  } else if (!strcmp(fn, "pearson") || !strcmp(fn, "spearman")) {
    ARR("x", a, na);
    ARR("y", b, nb);
    if ((rc = need_same(na, nb, "x and y"))) goto out;
    SET("value", fn[0] == 'p' ? stats_pearson(a, b, na) : stats_spearman(a, b, na));
  } else if (!strcmp(fn, "entropy")) {
    ARR("counts", a, na);
    SET("value", stats_entropy(a, na));
  } else if (!strcmp(fn, "mutual_info")) {
    if ((rc = jint_arr(req, "x", &ia, &na)) || (rc = jint_arr(req, "y", &ib, &nb))) goto out;
    if ((rc = need_same(na, nb, "x and y"))) goto out;
    int32_t kx = 0, ky = 0;
    for (size_t i = 0; i < na; i++) {
      if (ia[i] + 1 > kx) kx = ia[i] + 1;
      if (ib[i] + 1 > ky) ky = ib[i] + 1;
    }
    kx = (int32_t)jopt(req, "kx", kx);
    ky = (int32_t)jopt(req, "ky", ky);
    SET("value", stats_mutual_info(ia, kx, ib, ky, na));
  } else if (!strcmp(fn, "mutual_info_table") || !strcmp(fn, "cramers_v")) {
    if ((rc = jmatrix(req, "table", &a, &r, &k))) goto out;
    SET("value", fn[0] == 'm' ? stats_mutual_info_table(a, (int32_t)r, (int32_t)k)
                              : stats_cramers_v(a, (int32_t)r, (int32_t)k));
  } else if (!strcmp(fn, "binary")) {
    ARR("y", a, na);
    ARR("score", b, nb);
    if ((rc = need_same(na, nb, "y and score"))) goto out;
    double thr = jopt(req, "threshold", 0.5);
    uint8_t *y = malloc(na ? na : 1);
    size_t *o = malloc((na ? na : 1) * sizeof *o);
    if (!y || !o) {
      free(y);
      free(o);
      rc = assay__nomem();
      goto out;
    }
    stats_confusion cf = {0, 0, 0, 0};
    for (size_t i = 0; i < na; i++) {
      y[i] = a[i] != 0;
      int pp = b[i] >= thr;
      if (y[i] && pp) cf.tp += 1;
      else if (y[i]) cf.fn += 1;
      else if (pp) cf.fp += 1;
      else cf.tn += 1;
    }
    SET("tp", cf.tp);
    SET("fp", cf.fp);
    SET("tn", cf.tn);
    SET("fn", cf.fn);
    SET("accuracy", stats_accuracy(&cf));
    SET("precision", stats_precision(&cf));
    SET("recall", stats_recall(&cf));
    SET("f1", stats_f1(&cf));
    SET("fpr", stats_fpr(&cf));
    SET("fnr", stats_fnr(&cf));
    SET("positive_rate", stats_positive_rate(&cf));
    int use_order = json_is_true(json_object_get(req, "order"));
    if (use_order && stats_argsort_f64(b, na, o)) use_order = 0;
    SET("roc_auc", stats_roc_auc(y, b, na, use_order ? o : NULL));
    SET("log_loss", stats_log_loss_binary(y, b, na));
    SET("brier", stats_brier(y, b, na));
    free(y);
    free(o);
  } else if (!strcmp(fn, "roc_auc_groups")) {
    ARR("y", a, na);
    ARR("score", b, nb);
    if ((rc = need_same(na, nb, "y and score"))) goto out;
    if ((rc = jint_arr(req, "group", &ia, &r))) goto out;
    if ((rc = need_same(na, r, "y and group"))) goto out;
    int32_t G = 0;
    for (size_t i = 0; i < na; i++)
      if (ia[i] + 1 > G) G = ia[i] + 1;
    G = (int32_t)jopt(req, "ngroups", G);
    if (G < 0 || G > 100000) {
      rc = assay__err(ASSAY_ERR_CONFIG, "assay__debug_stat: ngroups must be 0..100000");
      goto out;
    }
    uint8_t *y = malloc(na ? na : 1);
    size_t *o = malloc((na ? na : 1) * sizeof *o);
    c = malloc((G ? (size_t)G : 1) * sizeof *c);
    if (!y || !o || !c) {
      free(y);
      free(o);
      rc = assay__nomem();
      goto out;
    }
    for (size_t i = 0; i < na; i++) y[i] = a[i] != 0;
    rc = stats_argsort_f64(b, na, o);
    if (!rc) rc = stats_roc_auc_groups(y, b, na, o, ia, G, c);
    if (!rc) json_object_set_new(res, "auc", jarr_out(c, (size_t)G));
    free(y);
    free(o);
  } else if (!strcmp(fn, "multiclass")) {
    if ((rc = jint_arr(req, "y", &ia, &na)) || (rc = jint_arr(req, "pred", &ib, &nb))) goto out;
    if ((rc = need_same(na, nb, "y and pred"))) goto out;
    int32_t kk = 0;
    for (size_t i = 0; i < na; i++) {
      if (ia[i] + 1 > kk) kk = ia[i] + 1;
      if (ib[i] + 1 > kk) kk = ib[i] + 1;
    }
    kk = (int32_t)jopt(req, "k", kk);
    if (kk < 1 || kk > 4096) {
      rc = assay__err(ASSAY_ERR_CONFIG, "assay__debug_stat: k must be 1..4096");
      goto out;
    }
    a = calloc((size_t)kk * (size_t)kk, sizeof *a);
    if (!a) {
      rc = assay__nomem();
      goto out;
    }
    for (size_t i = 0; i < na; i++)
      if (ia[i] >= 0 && ia[i] < kk && ib[i] >= 0 && ib[i] < kk)
        a[(size_t)ia[i] * (size_t)kk + (size_t)ib[i]] += 1;
    static const char *avg_names[3] = {"macro", "micro", "weighted"};
    char key[32];
    SET("accuracy", stats_mc_accuracy(a, kk));
    for (int v = 0; v < 3; v++) {
      snprintf(key, sizeof key, "precision_%s", avg_names[v]);
      SET(key, stats_mc_precision(a, kk, (stats_average)v));
      snprintf(key, sizeof key, "recall_%s", avg_names[v]);
      SET(key, stats_mc_recall(a, kk, (stats_average)v));
      snprintf(key, sizeof key, "f1_%s", avg_names[v]);
      SET(key, stats_mc_f1(a, kk, (stats_average)v));
    }
  } else if (!strcmp(fn, "mc_roc_auc_ovr") || !strcmp(fn, "mc_log_loss")) {
    if ((rc = jint_arr(req, "y", &ia, &na))) goto out;
    if ((rc = jmatrix(req, "proba", &a, &r, &k))) goto out;
    if ((rc = need_same(na, r, "y and proba"))) goto out;
    SET("value", fn[3] == 'r' ? stats_mc_roc_auc_ovr(ia, a, na, (int32_t)k)
                              : stats_mc_log_loss(ia, a, na, (int32_t)k));
  } else if (!strcmp(fn, "regression")) {
    ARR("y", a, na);
    ARR("p", b, nb);
    if ((rc = need_same(na, nb, "y and p"))) goto out;
    double sp = jopt(req, "split", (double)na);
    size_t split = sp >= 0 && sp <= (double)na ? (size_t)sp : na;
    stats_reg r1, r2;
    stats_reg_init(&r1);
    stats_reg_init(&r2);
    for (size_t i = 0; i < na; i++) stats_reg_add(i < split ? &r1 : &r2, a[i], b[i]);
    stats_reg_merge(&r1, &r2);
    SET("mae", stats_reg_mae(&r1));
    SET("mse", stats_reg_mse(&r1));
    SET("rmse", stats_reg_rmse(&r1));
    SET("mape", stats_reg_mape(&r1));
    SET("msle", stats_reg_msle(&r1));
    SET("r2", stats_reg_r2(&r1));
    SET("mean_pred", stats_reg_mean_pred(&r1));
    SET("var_pred", stats_reg_var_pred(&r1));
  } else {
    rc = assay__err(ASSAY_ERR_CONFIG,
                    "assay__debug_stat: unknown fn \"%s\"; expected one of sort, argsort, "
                    "rank_average, quantile, quantile_edges, bin_of, psi, js_distance, ks_2samp, "
                    "wasserstein, wasserstein_normed, chisquare, chi2_sf, kstwo_sf, smirnov, "
                    "ztest_2prop, pearson, spearman, entropy, mutual_info, mutual_info_table, "
                    "cramers_v, binary, roc_auc_groups, multiclass, mc_roc_auc_ovr, mc_log_loss, "
                    "regression",
                    fn);
  }
#undef ARR
#undef SET
out:
  free(a);
  free(b);
  free(c);
  free(d);
  free(ia);
  free(ib);
  return rc;
}

int assay__debug_stat(const char *request_json, char **out_json) {
  if (!out_json) return assay__err(ASSAY_ERR_CONFIG, "assay__debug_stat: out_json is NULL");
  *out_json = NULL;
  if (!request_json) return assay__err(ASSAY_ERR_CONFIG, "assay__debug_stat: request is NULL");
  json_error_t jerr;
  json_t *req = json_loads(request_json, 0, &jerr);
  if (!json_is_object(req)) {
    json_decref(req);
    return assay__err(ASSAY_ERR_CONFIG,
                      "assay__debug_stat: the request must be a JSON object {\"fn\": ...} (%s)",
                      jerr.text);
  }
  const char *fn = json_string_value(json_object_get(req, "fn"));
  if (!fn) {
    json_decref(req);
    return assay__err(ASSAY_ERR_CONFIG, "assay__debug_stat: \"fn\" (a string) is missing");
  }
  json_t *res = json_object();
  int rc = res ? dbg_run(fn, req, res) : assay__nomem();
  if (!rc) {
    *out_json = json_dumps(res, JSON_COMPACT);
    if (!*out_json) rc = assay__nomem();
  }
  json_decref(res);
  json_decref(req);
  return rc;
}
