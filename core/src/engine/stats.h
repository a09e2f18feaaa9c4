/* engine/stats.h — the statistics and metrics of the test engine: sorting,
 * quantiles, drift statistics (PSI, Kolmogorov-Smirnov, Jensen-Shannon,
 * Wasserstein, chi-square, two-proportion Z), dependence (Pearson,
 * Spearman, mutual information, Cramér's V) and model metrics
 * (classification from confusion counts, ROC AUC, log loss, Brier;
 * regression from accumulators).
 *
 * Every function is defined as scipy.stats / scikit-learn define it (the
 * reference named at each one) and tests/python/test_stats_vs_scipy.py
 * checks it against that reference through assay__debug_stat below. Inputs
 * are plain arrays without nulls (callers drop nulls first; the engine
 * keeps validity bitmaps, these functions never see a NaN unless said so).
 * A value that is undefined (no rows, one class only, zero variance ...)
 * is returned as NAN; callers turn NAN into a skipped test case or a JSON
 * null, never into a number. Pure functions, thread-safe. Not installed. */
#ifndef ASSAY_ENGINE_STATS_H
#define ASSAY_ENGINE_STATS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* --- sorting and quantiles ------------------------------------------------ */

/* Sort n doubles ascending in place (LSD radix sort on the IEEE-754 bit
 * patterns, O(n): 1M doubles in ~12 ms; n <= 64: insertion sort). -inf and
 * +inf allowed; -0.0 sorts before +0.0 (both compare equal afterwards in
 * every statistic here); NaN should not be there (a NaN sorts to one end,
 * by its sign bit). scratch: n doubles of working memory, or NULL (then it
 * allocates; ASSAY_ERR_NOMEM when it cannot). */
int stats_sort_f64(double *v, size_t n, double *scratch);
/* The same for unsigned 64-bit keys (scratch: n keys or NULL). */
int stats_sort_u64(uint64_t *k, size_t n, uint64_t *scratch);
/* order[0..n) = the row indices of v sorted by value ascending, stable
 * (equal values keep their row order; -0.0 before +0.0), as
 * numpy.argsort(v, kind="stable"). Allocates its working memory
 * (ASSAY_ERR_NOMEM when it cannot). */
int stats_argsort_f64(const double *v, size_t n, size_t *order);

/* numpy.quantile(sorted, q) with the default "linear" method (Hyndman-Fan
 * type 7): h = (n - 1) q, value = s[floor h] + (h - floor h)(s[floor h + 1]
 * - s[floor h]), with numpy's rounding (_lerp). n == 0: NAN. q in [0, 1]
 * (clamped). One difference: where an end point is infinite numpy returns
 * NaN (inf - inf); this returns the end point (-inf, or +inf when
 * interpolating towards it), so quantile bin edges are never NaN. */
double stats_quantile_sorted(const double *sorted, size_t n, double q);

/* The interior edges of nbins equal-frequency bins of a sorted sample: the
 * quantiles at 1/nbins, 2/nbins, ... (nbins - 1)/nbins (stats_quantile_
 * sorted), duplicates removed, written ascending to edges (room for nbins
 * - 1); returns how many. A value x falls in bin stats_bin_of(edges, m, x)
 * = the number of edges strictly below x, i.e. bins (-inf, e1], (e1, e2],
 * ..., (em, +inf) — numpy.searchsorted(edges, x, side="left"). */
size_t stats_quantile_edges(const double *sorted, size_t n, int nbins, double *edges);
size_t stats_bin_of(const double *edges, size_t m, double x);

/* Average ranks (1-based; ties get the mean of their positions) of v, as
 * scipy.stats.rankdata(method="average"), into ranks[n]. */
int stats_rank_average(const double *v, size_t n, double *ranks);

/* --- drift statistics ------------------------------------------------------ */

/* Population Stability Index of two distributions over the same k bins,
 * given as counts (shares are count / total): sum (r - e) ln(r / e), with
 * each share floored at eps first (assay uses STATS_PSI_EPS = 1e-4, as the
 * peers do). A side with no rows: NAN. */
#define STATS_PSI_EPS 1e-4
double stats_psi(const double *ref_counts, const double *eval_counts, size_t k, double eps);

/* Jensen-Shannon distance with base-2 logarithms between the shares of two
 * count vectors: scipy.spatial.distance.jensenshannon(p, q, base=2) (the
 * square root of the divergence; 0 .. 1). A side with no rows: NAN. A
 * divergence rounded below 0 counts as 0 (scipy: NaN from the sqrt). */
double stats_js_distance(const double *p_counts, const double *q_counts, size_t k);

/* Two-sample Kolmogorov-Smirnov test, two-sided, as scipy.stats.ks_2samp(a,
 * b) with method="auto": D = sup |F_a - F_b|, p-value exact when max(na,
 * nb) <= 10000 (scipy's _compute_prob_outside_square for na == nb, else
 * Hodges' inside method with Viehmann's recursion; D is then reported as
 * round(D lcm) / lcm, as scipy does) and otherwise kstwo.sf(D, round(na nb
 * / (na + nb))) (a port of scipy's _kolmogn: Ruben-Gambino, Durbin's
 * matrix, Pomeranz, Pelz-Good, 2 x smirnov). Inputs sorted ascending.
 * na or nb 0: *d = *p = NAN. The exact p-value costs up to ~0.4 s at
 * 10000 x 9999 rows with a large D (as scipy's); the asymptotic one up to
 * ~30 ms at a million rows (when 2.2 <= en D^2 < 370). */
void stats_ks_2samp(const double *a_sorted, size_t na, const double *b_sorted, size_t nb,
                    double *d, double *pvalue);

/* Wasserstein-1 distance between two samples (sorted ascending), as
 * scipy.stats.wasserstein_distance(a, b) (infinite values as scipy: inf or
 * NaN). A side with no rows: NAN. */
double stats_wasserstein(const double *a_sorted, size_t na, const double *b_sorted, size_t nb);
/* Evidently's normed Wasserstein: stats_wasserstein / max(population
 * standard deviation of a (numpy.std), 0.001). */
double stats_wasserstein_normed(const double *a_sorted, size_t na, const double *b_sorted,
                                size_t nb);

/* Pearson's chi-square goodness of fit of observed counts against expected
 * counts, as scipy.stats.chisquare(observed, expected): statistic, p-value
 * (chi-square survival with k - 1 degrees of freedom). Expected counts must
 * be > 0 and sum to the observed total (callers floor shares at
 * STATS_PSI_EPS and renormalise). k < 2: NAN. */
void stats_chisquare(const double *observed, const double *expected, size_t k, double *stat,
                     double *pvalue);
/* Survival function of the chi-square distribution, scipy.stats.chi2.sf
 * (regularized upper incomplete gamma Q(dof/2, x/2) by series / continued
 * fraction, prefactor computed without cancellation: ~1e-14 relative, also
 * far into the tail). x <= 0: 1; dof <= 0 or NaN: NAN. */
double stats_chi2_sf(double x, double dof);
/* Two-proportion Z test (pooled), two-sided: z and p-value, as
 * statsmodels' proportions_ztest([x1, x2], [n1, n2]). n1 or n2 0, or a
 * pooled share of 0 or 1 with no difference (0 / 0): NAN. */
void stats_ztest_2prop(double x1, double n1, double x2, double n2, double *z, double *pvalue);

/* --- dependence ------------------------------------------------------------ */

/* Pearson correlation of x and y, as scipy.stats.pearsonr(x, y).statistic;
 * NAN when either is constant or n < 2. */
double stats_pearson(const double *x, const double *y, size_t n);
/* Spearman rank correlation, as scipy.stats.spearmanr(x, y).statistic. */
double stats_spearman(const double *x, const double *y, size_t n);
/* Mutual information (nats) of two discrete variables given as codes
 * 0..kx-1 and 0..ky-1, as sklearn.metrics.mutual_info_score(x, y) (terms
 * below DBL_EPSILON zeroed and the sum clipped at 0, as sklearn; 0 when
 * either variable has one value). n == 0 or a code out of range: NAN.
 * Dense counts for small kx * ky, else sorted cell keys (no kx * ky
 * memory). */
double stats_mutual_info(const int32_t *x, int32_t kx, const int32_t *y, int32_t ky, size_t n);
/* The same from a kx by ky contingency table (row-major counts; empty rows
 * and columns are classes that do not occur). No counts: NAN. */
double stats_mutual_info_table(const double *table, int32_t kx, int32_t ky);
/* Entropy (nats) of counts, as scipy.stats.entropy(counts). No counts, or
 * a negative one: NAN. */
double stats_entropy(const double *counts, size_t k);
/* Cramér's V of a kx by ky contingency table (no bias correction), as
 * scipy.stats.contingency.association(table, method="cramer"), computed on
 * the table without its empty rows and columns (scipy refuses those).
 * Fewer than 2 non-empty rows or columns: NAN. */
double stats_cramers_v(const double *table, int32_t kx, int32_t ky);

/* --- classification metrics ------------------------------------------------ */

/* Binary confusion counts at a threshold (predicted positive when score >=
 * threshold; assay's default 0.5). */
typedef struct stats_confusion {
  double tp, fp, tn, fn;
} stats_confusion;

/* As sklearn.metrics with zero_division=0 where it applies (precision,
 * recall, F1), NAN where sklearn has no value (FPR with no negatives,
 * FNR with no positives, accuracy of no rows). */
double stats_accuracy(const stats_confusion *c);
double stats_precision(const stats_confusion *c);
double stats_recall(const stats_confusion *c);
double stats_f1(const stats_confusion *c);
double stats_fpr(const stats_confusion *c);
double stats_fnr(const stats_confusion *c);
double stats_positive_rate(const stats_confusion *c); /* predicted positive share */

/* ROC AUC of scores against labels (0/1; any non-zero is positive), as
 * sklearn.metrics.roc_auc_score(y, s): ties between scores count one half
 * (the trapezoid over distinct thresholds). One class only, no rows or a
 * NaN score: NAN. order: an index array of the rows sorted by score
 * ascending (stats_argsort_f64; the engine sorts once and reuses it; then
 * O(n)), or NULL (then it sorts). */
double stats_roc_auc(const uint8_t *y, const double *score, size_t n, const size_t *order);

/* The ROC AUC of each of ngroups subsets of the rows in one O(n + ngroups)
 * pass over a shared order (the rows sorted by score ascending, as for
 * stats_roc_auc): auc[g] = stats_roc_auc over the rows i with group[i] ==
 * g (NAN for a group with one class or no rows); rows with group[i] < 0 or
 * >= ngroups belong to none. ASSAY_ERR_NOMEM when its counters cannot be
 * allocated. */
int stats_roc_auc_groups(const uint8_t *y, const double *score, size_t n, const size_t *order,
                         const int32_t *group, int32_t ngroups, double *auc);

/* sklearn.metrics.log_loss(y, p, labels=[0, 1]) for binary labels and
 * positive-class probabilities: the probability of the true class (p or
 * 1 - p) clipped to [eps, 1 - eps] with eps = DBL_EPSILON, as sklearn 1.9.
 * No rows, or a p outside [0, 1] (sklearn raises): NAN. */
double stats_log_loss_binary(const uint8_t *y, const double *p, size_t n);
/* sklearn.metrics.brier_score_loss(y, p): mean (y - p)^2. No rows, or a p
 * outside [0, 1] (sklearn raises): NAN. */
double stats_brier(const uint8_t *y, const double *p, size_t n);

/* Multiclass: a k by k confusion matrix (row = true class, column =
 * predicted class, counts). Averages as sklearn's precision_score /
 * recall_score / f1_score with average="macro" | "micro" | "weighted" and
 * zero_division=0 (macro over the classes present in y_true or y_pred, as
 * sklearn's default labels). */
typedef enum { STATS_AVG_MACRO = 0, STATS_AVG_MICRO = 1, STATS_AVG_WEIGHTED = 2 } stats_average;
double stats_mc_accuracy(const double *cm, int32_t k);
double stats_mc_precision(const double *cm, int32_t k, stats_average avg);
double stats_mc_recall(const double *cm, int32_t k, stats_average avg);
double stats_mc_f1(const double *cm, int32_t k, stats_average avg);
/* roc_auc_score(y, P, multi_class="ovr", average="macro",
 * labels=range(k)) with P n by k row-major probabilities; a class absent
 * from y: NAN (as sklearn 1.9). */
double stats_mc_roc_auc_ovr(const int32_t *y, const double *proba, size_t n, int32_t k);
/* log_loss(y, P, labels=range(k)): mean -log of the true class's
 * probability clipped to [DBL_EPSILON, 1 - DBL_EPSILON]; rows are not
 * renormalised (sklearn >= 1.5 only warns when they do not sum to 1). No
 * rows, a label outside 0..k-1 or a probability outside [0, 1]: NAN. */
double stats_mc_log_loss(const int32_t *y, const double *proba, size_t n, int32_t k);

/* --- regression metrics ------------------------------------------------------ */

/* An accumulator of (y, p) pairs, mergeable (subsets are accumulated per
 * bin, then combined): exact sums with Neumaier compensation and Welford /
 * Chan updates for the variance of y, so R² matches sklearn to ~1e-12. */
typedef struct stats_reg {
  double n;
  double sum_abs, sum_abs_c;        /* |y - p| and its compensation */
  double sum_sq, sum_sq_c;          /* (y - p)^2 */
  double sum_ape, sum_ape_c;        /* |y - p| / max(|y|, DBL_EPSILON) */
  double sum_sle, sum_sle_c;        /* (log1p y - log1p p)^2 */
  int sle_invalid;                  /* some y or p <= -1 (MSLE undefined) */
  double mean_y, m2_y;              /* Welford */
  double sum_p, sum_p_c, mean_p, m2_p;
} stats_reg;
void stats_reg_init(stats_reg *r);
void stats_reg_add(stats_reg *r, double y, double p);
void stats_reg_merge(stats_reg *into, const stats_reg *other);
/* sklearn: mean_absolute_error, mean_squared_error, root_mean_squared_error,
 * mean_absolute_percentage_error, mean_squared_log_error (NAN when a value
 * is <= -1; sklearn raises), r2_score (fewer than 2 rows: NAN, as sklearn;
 * constant y: 1.0 when every prediction is exact, else 0.0, as sklearn's
 * force_finite — where a constant y's mean does not round exactly, sklearn
 * sees a tiny non-zero variance and returns a huge negative score, this
 * returns 0.0). No rows: NAN. */
double stats_reg_mae(const stats_reg *r);
double stats_reg_mse(const stats_reg *r);
double stats_reg_rmse(const stats_reg *r);
double stats_reg_mape(const stats_reg *r);
double stats_reg_msle(const stats_reg *r);
double stats_reg_r2(const stats_reg *r);
double stats_reg_mean_pred(const stats_reg *r);
double stats_reg_var_pred(const stats_reg *r);   /* population variance */

/* --- for the tests ----------------------------------------------------------- */

/* Evaluate one function of this header on JSON input, for
 * tests/python/test_stats_vs_scipy.py (through ctypes on libassay) and
 * the C tests. request: {"fn": "<name>", ...arguments}; numbers in arrays
 * may be null (NaN), "inf", "-inf" or "nan". *out_json: a malloc'ed JSON
 * object of the results (NAN as null, infinities as "inf"/"-inf"), freed
 * with assay_string_free (or free). The functions and their arguments are
 * listed in stats.c (arrays are passed unsorted; the wrapper sorts where a
 * function wants sorted input); an unknown fn, a missing or malformed
 * argument is ASSAY_ERR_CONFIG naming it (*out_json stays NULL). */
__attribute__((visibility("default"))) int assay__debug_stat(const char *request_json,
                                                             char **out_json);

#endif
