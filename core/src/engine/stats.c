/* TEMPORARY STUB — statistics; its owner replaces this file. */
#include <math.h>
#include <stddef.h>
#include "internal.h"
#include "engine/stats.h"
#pragma GCC diagnostic ignored "-Wunused-parameter"
int stats_sort_f64(double *v, size_t n, double *scratch) { return assay__err(ASSAY_ERR_INTERNAL, "stats_sort_f64: not implemented yet"); }
double stats_quantile_sorted(const double *sorted, size_t n, double q) { return NAN; }
size_t stats_quantile_edges(const double *sorted, size_t n, int nbins, double *edges) { return 0; }
size_t stats_bin_of(const double *edges, size_t m, double x) { return 0; }
int stats_rank_average(const double *v, size_t n, double *ranks) { return assay__err(ASSAY_ERR_INTERNAL, "stats_rank_average: not implemented yet"); }
double stats_psi(const double *ref_counts, const double *eval_counts, size_t k, double eps) { return NAN; }
double stats_js_distance(const double *p_counts, const double *q_counts, size_t k) { return NAN; }
void stats_ks_2samp(const double *a_sorted, size_t na, const double *b_sorted, size_t nb,
                    double *d, double *pvalue) {}
double stats_wasserstein(const double *a_sorted, size_t na, const double *b_sorted, size_t nb) { return NAN; }
double stats_wasserstein_normed(const double *a_sorted, size_t na, const double *b_sorted,
                                size_t nb) { return NAN; }
void stats_chisquare(const double *observed, const double *expected, size_t k, double *stat,
                     double *pvalue) {}
double stats_chi2_sf(double x, double dof) { return NAN; }
void stats_ztest_2prop(double x1, double n1, double x2, double n2, double *z, double *pvalue) {}
double stats_pearson(const double *x, const double *y, size_t n) { return NAN; }
double stats_spearman(const double *x, const double *y, size_t n) { return NAN; }
double stats_mutual_info(const int32_t *x, int32_t kx, const int32_t *y, int32_t ky, size_t n) { return NAN; }
double stats_mutual_info_table(const double *table, int32_t kx, int32_t ky) { return NAN; }
double stats_entropy(const double *counts, size_t k) { return NAN; }
double stats_cramers_v(const double *table, int32_t kx, int32_t ky) { return NAN; }
double stats_accuracy(const stats_confusion *c) { return NAN; }
double stats_precision(const stats_confusion *c) { return NAN; }
double stats_recall(const stats_confusion *c) { return NAN; }
double stats_f1(const stats_confusion *c) { return NAN; }
double stats_fpr(const stats_confusion *c) { return NAN; }
double stats_fnr(const stats_confusion *c) { return NAN; }
double stats_positive_rate(const stats_confusion *c) { return NAN; }
double stats_roc_auc(const uint8_t *y, const double *score, size_t n, const size_t *order) { return NAN; }
double stats_log_loss_binary(const uint8_t *y, const double *p, size_t n) { return NAN; }
double stats_brier(const uint8_t *y, const double *p, size_t n) { return NAN; }
double stats_mc_accuracy(const double *cm, int32_t k) { return NAN; }
double stats_mc_precision(const double *cm, int32_t k, stats_average avg) { return NAN; }
double stats_mc_recall(const double *cm, int32_t k, stats_average avg) { return NAN; }
double stats_mc_f1(const double *cm, int32_t k, stats_average avg) { return NAN; }
double stats_mc_roc_auc_ovr(const int32_t *y, const double *proba, size_t n, int32_t k) { return NAN; }
double stats_mc_log_loss(const int32_t *y, const double *proba, size_t n, int32_t k) { return NAN; }
void stats_reg_init(stats_reg *r) {}
void stats_reg_add(stats_reg *r, double y, double p) {}
void stats_reg_merge(stats_reg *into, const stats_reg *other) {}
double stats_reg_mae(const stats_reg *r) { return NAN; }
double stats_reg_mse(const stats_reg *r) { return NAN; }
double stats_reg_rmse(const stats_reg *r) { return NAN; }
double stats_reg_mape(const stats_reg *r) { return NAN; }
double stats_reg_msle(const stats_reg *r) { return NAN; }
double stats_reg_r2(const stats_reg *r) { return NAN; }
double stats_reg_mean_pred(const stats_reg *r) { return NAN; }
double stats_reg_var_pred(const stats_reg *r) { return NAN; }
int assay__debug_stat(const char *request_json, char **out_json) { return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet"); }
