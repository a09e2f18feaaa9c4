/* engine/stress_internal.h — what the engine's test modules share: the
 * prepared run (column roles, labels, predictions, unified category codes,
 * reference summaries and quantile bins), the thread pool, and the
 * signature of a test module.
 *
 * stress.c prepares a stress_ctx once per run (stress_prepare) and runs
 * the test modules:
 *   tests_performance.c   MODEL_PERFORMANCE
 *   tests_subset.c        SUBSET_PERFORMANCE, SUBSET_PERFORMANCE_DEGRADATION
 *   tests_drift.c         DRIFT
 *   tests_abnormal.c      ABNORMAL_INPUTS
 *   tests_cleanliness.c   DATA_CLEANLINESS
 * Each module exports one stress_test_fn per test type it implements
 * (listed in stress.c's dispatch table). Not installed. */
#ifndef ASSAY_ENGINE_STRESS_INTERNAL_H
#define ASSAY_ENGINE_STRESS_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "config/test_config.h"
#include "engine/frame.h"
#include "engine/stats.h"
#include "engine/stress.h"

/* Subset bins and drift bins of numeric features: deciles of the
 * reference unless a test's num_bins option says otherwise. */
#define STRESS_DEFAULT_BINS 10

/* One side of the run (reference or evaluation). */
typedef struct stress_side {
  const frame *f;
  int64_t n;                     /* rows */
  /* Labels: classification: class index 0..k-1 or -1 for a null label;
   * regression: the value, NAN for null. NULL when there is no label
   * column. */
  int32_t *label_class;          /* binary / multiclass */
  double *label_value;           /* regression */
  int64_t labeled;               /* rows with a label */
  /* Predictions (NULL when none): binary: positive-class probability;
   * regression: the prediction; NAN for a missing prediction. Multiclass:
   * proba n by k row-major, and pred_class the argmax (first on ties). */
  double *score;
  double *proba;
  int32_t *pred_class;           /* classification: predicted class (binary:
                                    score >= 0.5), -1 when missing */
  /* Row order by score ascending (binary / regression with predictions),
   * for ROC AUC of any subset (stats_roc_auc(order)). NULL when none. */
  size_t *score_order;
  size_t nscored;                /* entries of score_order: the rows whose
                                    score is not missing (binary / regression) */
  double *score_sorted;          /* score[score_order[i]]: the scores sorted */
  int32_t *score_rank;           /* per row: its position in score_order, -1
                                    when the row has no score */
  int8_t *label_sorted;          /* binary with labels: label_class[score_order[i]] */
  int64_t npred;                 /* rows with a prediction */
} stress_side;

/* One feature (a column of the reference that is not the label, the
 * prediction column(s) or the timestamp, minus global_exclude_columns). */
typedef struct stress_feature {
  const char *name;
  int categorical;               /* 1: categorical (strings, bools, or listed
                                    in categorical_features), 0: numeric */
  int in_model, is_protected;
  const column *ref_col;
  const column *eval_col;        /* NULL when the evaluation lacks it */
  /* Numeric features: the reference's finite values summarized
   * (stress_ref_stats) — count, min, max, quartiles — and the quantile
   * edges for STRESS_DEFAULT_BINS bins (edges[nedges]); nulls and
   * infinities are left out. Computed by selection, not by sorting: no
   * sorted copy of a column is kept. */
  /* Categorical features: one code space for both sides — codes
   * 0..ncat_ref-1 are the reference's distinct values (most frequent
   * first, ties by first appearance), ncat_ref..ncat-1 values seen only in
   * the evaluation; -1 null. cat_names[code] is the value's text (numbers
   * and bools as the CSV writer writes them). */
  int32_t *ref_codes, *eval_codes;
  int32_t ncat_ref, ncat;
  char **cat_names;
  /* Lazily computed (stress_ref_stats / stress_edges), under `lock`. */
  pthread_mutex_t lock;
  struct stress_numstats *stats; /* NULL until computed */
  double *edges;                 /* interior quantile edges of the reference */
  size_t nedges;
  int edges_bins;                /* for how many bins edges were made */
  uint8_t *bins[2];              /* stress_bins of each side, or NULL */
  int bins_done[2];
  /* tests_subset.c's per-feature subset statistics (its own, under
   * cache_lock; freed by stress_release through tests_subset_release). */
  pthread_mutex_t cache_lock;
  void *subset_cache;
} stress_feature;

typedef struct stress_ctx {
  const stress_input *in;
  int task;                      /* TASK_* bit */
  int32_t nclasses;              /* classification: k (binary: 2) */
  json_t *class_names;           /* array of k strings, or NULL */
  const char *label_col;         /* NULL: no labels */
  const char *pred_source;       /* "predictions" | "pred_col" | "model" | "none" */
  stress_side side[2];           /* [0] reference, [1] evaluation */
  stress_feature *features;
  int nfeatures;
  int threads;
  struct stress_pool *pool;      /* the worker threads (threads - 1 of them) */
  pthread_mutex_t lock;          /* free for modules' lazily computed values */
  struct stress_perf *perf[2];   /* stress_overall(), per side              */
  pthread_mutex_t perf_lock[2];  /* ... computed under these                */
  const char *pred_col[2];       /* the pred_col used per side, or NULL     */
  json_t *pred_cols[2];          /* multiclass: the k pred_col names, or NULL */
} stress_ctx;

/* Hot loops built twice — for AVX2 and for any x86-64 — the one to run
 * chosen when the library loads (GCC function multiversioning). They use
 * vectors of four doubles either way (two SSE2 registers without AVX), so
 * the arithmetic and its order, and with them the results, are the same
 * on every machine. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define STRESS_SIMD __attribute__((target_clones("avx2", "default")))
#else
#define STRESS_SIMD
#endif
typedef double stress_v4d __attribute__((vector_size(32)));
typedef long long stress_v4l __attribute__((vector_size(32)));
#define STRESS_LOAD4(v, p) memcpy(&(v), (p), sizeof(v))

/* A large working buffer (n bytes, not zeroed) that is read and written at
 * random — a permutation's scatter, a matrix in another order: on Linux
 * its own mapping asking for huge pages (a few TLB entries cover it; with
 * 4 KiB pages a random write to hundreds of MB misses the TLB almost every
 * time), else malloc. Free it with stress_big_free (NULL accepted). NULL
 * when out of memory. 64-byte aligned. */
void *stress_big_alloc(size_t n);
void stress_big_free(void *p);

/* Prepare / free a run (stress.c). */
int stress_prepare(stress_ctx *c, const stress_input *in);
void stress_release(stress_ctx *c);

/* Whether the run was cancelled (reads in->cancel; thread-safe). */
int stress_cancelled(const stress_ctx *c);

/* Row i of a numeric column as a double (NAN when null). */
double stress_num(const column *col, int64_t i);

/* The reference's finite values of numeric feature f summarized, as the
 * sorted values would give them (-0.0 before +0.0): n, min = s[0], max =
 * s[n - 1], q1 / q3 = stats_quantile_sorted(s, n, 0.25 / 0.75), and their
 * sum; NAN for all but n and sum when n == 0. Computed once with the STRESS_DEFAULT_BINS edges
 * (shared, under f->lock); NULL for a categorical feature or when out of
 * memory. */
typedef struct stress_numstats {
  size_t n;
  double min, max, q1, q3;
  double sum;                    /* of the finite values, added in row order */
} stress_numstats;
const stress_numstats *stress_ref_stats(stress_ctx *c, stress_feature *f);
/* The reference quantile edges of f for nbins bins, exactly
 * stats_quantile_edges over its sorted finite values (computed by
 * selection; once, shared, for the bin count asked first —
 * STRESS_DEFAULT_BINS when stress_ref_stats came first; later calls with
 * another nbins compute into *tmp, which the caller frees). NULL with
 * *nedges 0 when the reference has no finite value. */
const double *stress_edges(stress_ctx *c, stress_feature *f, int nbins, size_t *nedges,
                           double **tmp);
/* Each row's bin of numeric feature f on side s (0 ref, 1 eval) among the
 * shared STRESS_DEFAULT_BINS edges (stress_edges; *edges / *nedges get
 * them): 0..nedges for a finite value (stats_bin_of), or one of the codes
 * below; computed once per side (one pass over the column) and shared by
 * drift, subsets and leakage, so no module bins a column again. NULL when
 * the side lacks the column, the shared edges are for another bin count,
 * or out of memory (callers then bin the column themselves). */
#define STRESS_BIN_NULL 253   /* null (NaN) */
#define STRESS_BIN_NEGINF 254 /* -inf */
#define STRESS_BIN_POSINF 255 /* +inf */
const uint8_t *stress_bins(stress_ctx *c, stress_feature *f, int side, const double **edges,
                           size_t *nedges);

/* The finite values of feature f on side s (0 ref, 1 eval) sorted
 * ascending, in a new array the caller frees (*out NULL with *n 0 when the
 * side lacks the column or has no such value). For the statistics that
 * need every value in order (KS, Wasserstein): nothing keeps it. 0 or
 * ASSAY_ERR_NOMEM. */
int stress_sorted_values(const stress_ctx *c, const stress_feature *f, int side, double **out,
                         size_t *n);
/* numpy.quantile (linear) of the finite values of v[n] (NaN / inf left
 * out) at qs[0..nq), as stats_quantile_sorted over them sorted, without
 * sorting: out[nq]; *nfinite gets their count (0: every out is NAN). 0 or
 * ASSAY_ERR_NOMEM. */
int stress_quantiles(const double *v, int64_t n, const double *qs, int nq, double *out,
                     size_t *nfinite);

/* Run fn(arg, i) for i in [0, n) on the run's threads; returns the first
 * non-zero result (the others still finish), with the failing call's error
 * message carried to the calling thread. Calls may nest (a test batch run
 * in parallel may run its features in parallel): the caller works on its
 * own items while idle workers help, so nesting never oversubscribes nor
 * deadlocks. fn must not hold a lock across a nested stress_parallel. */
int stress_parallel(stress_ctx *c, int n, int (*fn)(void *arg, int i), void *arg);

/* Row indices sorted by key ascending (stable, -0.0 equal to +0.0; no NaN
 * in key): idx gets n entries. A bucket sort over the keys' range (radix
 * sort on the IEEE-754 bits where keys bunch up). 0 or ASSAY_ERR_NOMEM. */
int stress_argsort(const double *key, size_t n, size_t *idx);

/* Overall model metrics of one side over its rows with both a label and a
 * prediction (n), and of its predictions over every row with one (npred);
 * computed once per side (tests_performance.c), NULL when the side lacks
 * labels or predictions. Undefined values are NAN. */
typedef struct stress_perf {
  int ok;                        /* the side has labels and predictions */
  int64_t n, npred;
  /* binary */
  stats_confusion conf;
  double accuracy, precision, recall, f1, fpr, fnr, positive_rate, auc, log_loss, brier;
  /* multiclass (cm: k by k, row = label, column = predicted class) */
  double *cm;
  double mc_accuracy, macro_precision, macro_recall, macro_f1, mc_auc, mc_log_loss,
      average_confidence;
  /* regression */
  stats_reg reg;
  double mae, mse, rmse, mape, msle, r2, spearman;
  /* predictions (binary: the score; regression: the value): mean and
   * population variance over the rows with a prediction */
  double mean_pred, var_pred;
} stress_perf;
const stress_perf *stress_overall(stress_ctx *c, int side);
/* The task's headline metric (accuracy for classification, mae for
 * regression) over the given rows of the evaluation that have a label and a
 * prediction; NAN when none has. */
double stress_headline_rows(const stress_ctx *c, const int64_t *rows, int64_t n);

/* --- building results ------------------------------------------------------- */

/* A new test case object {features: [feature?], status, severity,
 * importance_score, metrics: {}}: severity from test_severity(test, value),
 * importance from test_importance. metrics is filled by the caller. A NAN
 * value makes a skipped case (status TEST_CASE_STATUS_SKIP, severity pass,
 * skip_reason "the value is undefined ..."; the caller may replace the
 * reason). NULL when out of memory. */
json_t *stress_case(const json_t *test, const char *feature, double value);
/* A skipped case: status TEST_CASE_STATUS_SKIP, severity SEVERITY_PASS,
 * importance 0, skip_reason. */
json_t *stress_case_skip(const char *feature, const char *reason);
/* Set metrics[name] = value (NAN -> null, +-inf -> null). */
void stress_metric(json_t *tc, const char *name, double value);

/* A test module: fill batch's "test_cases" array (already present) and may
 * set batch "metrics"; test is the normalized entry (thresholds,
 * exclude_columns, options). Return 0, or an error (ASSAY_ERR_UNAVAILABLE
 * when cancelled). Case order: feature order. */
typedef int (*stress_test_fn)(stress_ctx *c, const test_def *def, const json_t *test,
                              json_t *batch);

/* Whether feature f is excluded for this test (its exclude_columns). */
int stress_excluded(const json_t *test, const char *feature);

/* tests_subset.c: free the features' subset caches (stress_release). */
void tests_subset_release(stress_ctx *c);
/* tests_subset.c: compute the subset statistics every subset test of the
 * config needs for every feature, in parallel (stress_run calls it before
 * running the subset batches; without it they are computed on first use). */
int tests_subset_warm(stress_ctx *c);
/* tests_performance.c: free stress_overall's values (stress_release). */
void tests_performance_release(stress_ctx *c);

/* Each module's lookup: the function of a test type it implements, or
 * NULL. stress.c asks them in turn; a catalogue test no module implements
 * fails the run (a C test checks that none is missing). */
stress_test_fn tests_performance_find(const char *type);
stress_test_fn tests_subset_find(const char *type);
stress_test_fn tests_drift_find(const char *type);
stress_test_fn tests_abnormal_find(const char *type);
stress_test_fn tests_cleanliness_find(const char *type);

#endif
