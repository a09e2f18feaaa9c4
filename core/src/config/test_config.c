/* config/test_config.c — the catalogue of stress tests (one table that
 * validation, the engine, results and docs/tests.md all follow), the drift
 * statistics, and the validation and normalisation of a test_run_config
 * (defaults filled in, thresholds shifted by the global sensitivity),
 * with messages that name the bad key by its full path and say what was
 * expected and what was got. Severity and importance of a value under a
 * test's thresholds. Contract in config/test_config.h. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/test_config.h"
#include "config/config_util.h"
#include "internal.h"

#define LIST_MAX 4096     /* name lists in messages (every test type fits) */
#define RUN_NAME_MAX 200  /* characters */
/* Bounds of a request (docs in test_config.h): a config is checked before
 * the start route's write transaction, but it is stored with the job and
 * read by the engine, so its size stays bounded. */
#define COLUMNS_MAX 10000     /* names in one exclude_columns list */
#define COLUMN_NAME_MAX 1024  /* bytes of one column name */

/* --- the catalogue ------------------------------------------------------------ */

#define B TASK_BINARY
#define M TASK_MULTICLASS
#define R TASK_REGRESSION
#define ALL (TASK_BINARY | TASK_MULTICLASS | TASK_REGRESSION)

static const char *const opt_subset[] = {"num_bins", "min_sample_size", NULL};
static const char *const opt_drift[] = {"statistic", "num_bins", NULL};
static const char *const opt_rare[] = {"rare_threshold", NULL};

/* MODEL_PERFORMANCE: needs labels and predictions; value "degradation". */
#define PERF(type, name, tasks, w, a, desc)                                                     \
  {type, name, CAT_MODEL_PERFORMANCE, tasks, 1, 1, "degradation", desc, w, a, THRESH_UPPER, NULL}
#define SUBSET(type, name, tasks, w, a, desc)                                                   \
  {type, name, CAT_SUBSET_PERFORMANCE, tasks, 1, 1, "gap", desc, w, a, THRESH_UPPER, opt_subset}
#define SUBDEG(type, name, tasks, w, a, desc)                                                   \
  {type, name,         CAT_SUBSET_DEGRADATION, tasks, 1, 1, "worst_degradation", desc, w, a,       \
   THRESH_UPPER, opt_subset}
#define DRIFT(type, name, tasks, labels, preds, desc)                                           \
  {type, name, CAT_DRIFT, tasks, labels, preds, "psi", desc, 0.2, 0.4, THRESH_UPPER, opt_drift}
#define ABNORMAL(type, name, opts, desc)                                                        \
  {type, name, CAT_ABNORMAL_INPUTS, ALL, 0, 0, "share_affected", desc, 0.01, 0.05, THRESH_UPPER, \
   opts}

const test_def test_catalog[] = {
  /* MODEL_PERFORMANCE */
  PERF("accuracy", "Accuracy", B, 0.05, 0.10,
       "Drop in accuracy (predicted class: score >= 0.5) from the reference to the evaluation "
       "data."),
  PERF("auc", "AUC", B, 0.05, 0.10,
       "Drop in ROC AUC of the scores from the reference to the evaluation data."),
  PERF("f1", "F1", B, 0.05, 0.10, "Drop in F1 score from the reference to the evaluation data."),
  PERF("precision", "Precision", B, 0.05, 0.10,
       "Drop in precision from the reference to the evaluation data."),
  PERF("recall", "Recall", B, 0.05, 0.10,
       "Drop in recall from the reference to the evaluation data."),
  PERF("false_positive_rate", "False Positive Rate", B, 0.05, 0.10,
       "Rise in the false positive rate from the reference to the evaluation data."),
  PERF("false_negative_rate", "False Negative Rate", B, 0.05, 0.10,
       "Rise in the false negative rate from the reference to the evaluation data."),
  PERF("positive_prediction_rate", "Positive Prediction Rate", B, 0.05, 0.10,
       "Absolute change in the share of rows predicted positive between the reference and the "
       "evaluation data."),
  PERF("log_loss", "Log Loss", B | M, 0.10, 0.20,
       "Rise in log loss from the reference to the evaluation data."),
  PERF("brier_score", "Brier Score", B, 0.05, 0.10,
       "Rise in the Brier score from the reference to the evaluation data."),
  PERF("multiclass_accuracy", "Multiclass Accuracy", M, 0.05, 0.10,
       "Drop in accuracy (predicted class: the most probable) from the reference to the "
       "evaluation data."),
  PERF("macro_f1", "Macro F1", M, 0.05, 0.10,
       "Drop in macro-averaged F1 score from the reference to the evaluation data."),
  PERF("macro_precision", "Macro Precision", M, 0.05, 0.10,
       "Drop in macro-averaged precision from the reference to the evaluation data."),
  PERF("macro_recall", "Macro Recall", M, 0.05, 0.10,
       "Drop in macro-averaged recall from the reference to the evaluation data."),
  PERF("multiclass_auc", "Multiclass AUC", M, 0.05, 0.10,
       "Drop in one-vs-rest macro-averaged ROC AUC from the reference to the evaluation data."),
  PERF("average_confidence", "Average Confidence", M, 0.05, 0.10,
       "Absolute change in the mean probability of the predicted class between the reference "
       "and the evaluation data."),
  PERF("mae", "Mean Absolute Error", R, 0.10, 0.25,
       "Relative rise in mean absolute error from the reference to the evaluation data."),
  PERF("mse", "Mean Squared Error", R, 0.20, 0.50,
       "Relative rise in mean squared error from the reference to the evaluation data."),
  PERF("rmse", "Root Mean Squared Error", R, 0.10, 0.25,
       "Relative rise in root mean squared error from the reference to the evaluation data."),
  PERF("mape", "Mean Absolute Percentage Error", R, 0.10, 0.25,
       "Relative rise in mean absolute percentage error from the reference to the evaluation "
       "data."),
  PERF("msle", "Mean Squared Log Error", R, 0.20, 0.50,
       "Relative rise in mean squared logarithmic error from the reference to the evaluation "
       "data."),
  PERF("r2", "R2", R, 0.05, 0.10,
       "Drop in the coefficient of determination (R2) from the reference to the evaluation "
       "data."),
  PERF("rank_correlation", "Rank Correlation", R, 0.05, 0.10,
       "Drop in the Spearman rank correlation of predictions and labels from the reference to "
       "the evaluation data."),
  PERF("average_prediction", "Average Prediction", R | B, 0.10, 0.25,
       "Absolute change in the mean prediction, in units of the reference predictions' "
       "standard deviation."),
  PERF("prediction_variance", "Prediction Variance", R, 0.20, 0.50,
       "Absolute relative change in the variance of the predictions between the reference and "
       "the evaluation data."),

  /* SUBSET_PERFORMANCE */
  SUBSET("subset_accuracy", "Subset Accuracy", B, 0.05, 0.10,
         "Largest shortfall of a feature subset's accuracy below the overall accuracy on the "
         "evaluation data."),
  SUBSET("subset_auc", "Subset AUC", B, 0.05, 0.10,
         "Largest shortfall of a feature subset's ROC AUC below the overall ROC AUC on the "
         "evaluation data."),
  SUBSET("subset_f1", "Subset F1", B, 0.05, 0.10,
         "Largest shortfall of a feature subset's F1 score below the overall F1 score on the "
         "evaluation data."),
  SUBSET("subset_precision", "Subset Precision", B, 0.05, 0.10,
         "Largest shortfall of a feature subset's precision below the overall precision on the "
         "evaluation data."),
  SUBSET("subset_recall", "Subset Recall", B, 0.05, 0.10,
         "Largest shortfall of a feature subset's recall below the overall recall on the "
         "evaluation data."),
  SUBSET("subset_false_positive_rate", "Subset False Positive Rate", B, 0.05, 0.10,
         "Largest excess of a feature subset's false positive rate over the overall rate on "
         "the evaluation data."),
  SUBSET("subset_false_negative_rate", "Subset False Negative Rate", B, 0.05, 0.10,
         "Largest excess of a feature subset's false negative rate over the overall rate on "
         "the evaluation data."),
  SUBSET("subset_multiclass_accuracy", "Subset Multiclass Accuracy", M, 0.05, 0.10,
         "Largest shortfall of a feature subset's accuracy below the overall accuracy on the "
         "evaluation data."),
  SUBSET("subset_macro_f1", "Subset Macro F1", M, 0.05, 0.10,
         "Largest shortfall of a feature subset's macro F1 score below the overall macro F1 "
         "score on the evaluation data."),
  SUBSET("subset_mae", "Subset Mean Absolute Error", R, 0.25, 0.50,
         "Largest relative excess of a feature subset's mean absolute error over the overall "
         "error on the evaluation data."),
  SUBSET("subset_rmse", "Subset Root Mean Squared Error", R, 0.25, 0.50,
         "Largest relative excess of a feature subset's root mean squared error over the "
         "overall error on the evaluation data."),
  SUBSET("subset_r2", "Subset R2", R, 0.10, 0.20,
         "Largest shortfall of a feature subset's R2 below the overall R2 on the evaluation "
         "data."),

  /* SUBSET_PERFORMANCE_DEGRADATION */
  SUBDEG("subset_accuracy_degradation", "Subset Accuracy Degradation", B, 0.05, 0.10,
         "Largest drop in accuracy of a feature subset from the reference to the evaluation "
         "data."),
  SUBDEG("subset_auc_degradation", "Subset AUC Degradation", B, 0.05, 0.10,
         "Largest drop in ROC AUC of a feature subset from the reference to the evaluation "
         "data."),
  SUBDEG("subset_f1_degradation", "Subset F1 Degradation", B, 0.05, 0.10,
         "Largest drop in F1 score of a feature subset from the reference to the evaluation "
         "data."),
  SUBDEG("subset_multiclass_accuracy_degradation", "Subset Multiclass Accuracy Degradation", M,
         0.05, 0.10,
         "Largest drop in accuracy of a feature subset from the reference to the evaluation "
         "data."),
  SUBDEG("subset_macro_f1_degradation", "Subset Macro F1 Degradation", M, 0.05, 0.10,
         "Largest drop in macro F1 score of a feature subset from the reference to the "
         "evaluation data."),
  SUBDEG("subset_mae_degradation", "Subset Mean Absolute Error Degradation", R, 0.25, 0.50,
         "Largest relative rise in mean absolute error of a feature subset from the reference "
         "to the evaluation data."),
  SUBDEG("subset_rmse_degradation", "Subset Root Mean Squared Error Degradation", R, 0.25, 0.50,
         "Largest relative rise in root mean squared error of a feature subset from the "
         "reference to the evaluation data."),

  /* DRIFT */
  DRIFT("numeric_feature_drift", "Numeric Feature Drift", ALL, 0, 0,
        "Change in the distribution of a numeric feature between the reference and the "
        "evaluation data (PSI by default)."),
  DRIFT("categorical_feature_drift", "Categorical Feature Drift", ALL, 0, 0,
        "Change in the category shares of a categorical feature between the reference and the "
        "evaluation data (PSI by default)."),
  DRIFT("label_drift", "Label Drift", ALL, 1, 0,
        "Change in the distribution of the labels between the reference and the evaluation "
        "data (PSI by default)."),
  DRIFT("prediction_drift", "Prediction Drift", B | R, 0, 1,
        "Change in the distribution of the model's scores or predictions between the reference "
        "and the evaluation data (PSI by default)."),
  DRIFT("predicted_label_drift", "Predicted Label Drift", B | M, 0, 1,
        "Change in the shares of the predicted classes between the reference and the "
        "evaluation data (PSI by default)."),
  {"nulls_per_feature_drift", "Nulls per Feature Drift", CAT_DRIFT, ALL, 0, 0,
   "null_share_change",
   "Absolute change in a feature's share of null values between the reference and the "
   "evaluation data.",
   0.05, 0.10, THRESH_UPPER, NULL},

  /* ABNORMAL_INPUTS */
  ABNORMAL("numeric_outliers", "Numeric Outliers", NULL,
           "Share of evaluation rows whose value lies outside the reference's [Q1 - 3 IQR, Q3 + "
           "3 IQR]."),
  ABNORMAL("out_of_range", "Out of Range", NULL,
           "Share of evaluation rows whose value lies below the reference minimum or above the "
           "reference maximum."),
  ABNORMAL("unseen_categories", "Unseen Categories", NULL,
           "Share of evaluation rows whose category never occurs in the reference data."),
  ABNORMAL("rare_categories", "Rare Categories", opt_rare,
           "Share of evaluation rows whose category is rare in the reference data (share below "
           "rare_threshold)."),
  ABNORMAL("null_check", "Null Check", NULL,
           "Rise in a feature's share of null values from the reference to the evaluation "
           "data."),
  ABNORMAL("empty_strings", "Empty Strings", NULL,
           "Rise in a string feature's share of empty or whitespace-only values from the "
           "reference to the evaluation data."),
  ABNORMAL("type_mismatch", "Type Mismatch", NULL,
           "Share of evaluation rows whose value is not of the type of the reference column."),
  ABNORMAL("capitalization", "Capitalization", NULL,
           "Share of evaluation rows whose value is unseen in the reference but equals a "
           "reference category up to ASCII case and surrounding whitespace."),

  /* DATA_CLEANLINESS */
  {"label_imbalance", "Label Imbalance", CAT_DATA_CLEANLINESS, B | M, 1, 0, "minority_share",
   "Share of the least frequent class among the reference labels.", 0.05, 0.01, THRESH_LOWER,
   NULL},
  {"duplicate_rows", "Duplicate Rows", CAT_DATA_CLEANLINESS, ALL, 0, 0, "duplicate_share",
   "Share of rows that repeat an earlier row over all columns, in the reference and in the "
   "evaluation data.",
   0.01, 0.05, THRESH_UPPER, NULL},
  {"feature_leakage", "Feature Leakage", CAT_DATA_CLEANLINESS, ALL, 1, 0,
   "normalized_mutual_info",
   "Mutual information of a feature and the label in the reference data, as a share of the "
   "label's entropy.",
   0.5, 0.8, THRESH_UPPER, NULL},
  {"high_feature_correlation", "High Feature Correlation", CAT_DATA_CLEANLINESS, ALL, 0, 0,
   "correlation",
   "Absolute Pearson correlation (numeric pairs) or Cramér's V (categorical pairs) of two "
   "model features in the reference data.",
   0.9, 0.95, THRESH_UPPER, NULL},
  {NULL, NULL, NULL, 0, 0, 0, NULL, NULL, 0, 0, THRESH_UPPER, NULL}};

const drift_stat_def drift_stats[] = {
  {"psi", 1, 1, 0.2, 0.4, THRESH_UPPER, "psi"},
  {"ks", 1, 0, 0.1, 0.2, THRESH_UPPER, "ks_statistic"},
  {"jensen_shannon", 1, 1, 0.1, 0.2, THRESH_UPPER, "jensen_shannon"},
  {"wasserstein", 1, 0, 0.1, 0.2, THRESH_UPPER, "wasserstein_normed"},
  {"chi_square", 0, 1, 0.05, 0.001, THRESH_LOWER, "chi_square_pvalue"},
  {NULL, 0, 0, 0, 0, THRESH_UPPER, NULL}};

const test_def *test_def_find(const char *type) {
  if (!type) return NULL;
  for (const test_def *d = test_catalog; d->type; d++)
    if (strcmp(d->type, type) == 0) return d;
  return NULL;
}

const drift_stat_def *drift_stat_find(const char *name) {
  if (!name) return NULL;
  for (const drift_stat_def *s = drift_stats; s->name; s++)
    if (strcmp(s->name, name) == 0) return s;
  return NULL;
}

/* --- categories, tasks, severities ----------------------------------------- */

/* Every known category; the first N_RUN are the ones this version runs
 * (catalogue order). */
static const char *const known_categories[] = {
  CAT_MODEL_PERFORMANCE,
  CAT_SUBSET_PERFORMANCE,
  CAT_SUBSET_DEGRADATION,
  CAT_DRIFT,
  CAT_ABNORMAL_INPUTS,
  CAT_DATA_CLEANLINESS,
  "TEST_CATEGORY_TYPE_TRANSFORMATIONS",
  "TEST_CATEGORY_TYPE_ADVERSARIAL",
  "TEST_CATEGORY_TYPE_BIAS_AND_FAIRNESS",
  "TEST_CATEGORY_TYPE_DATA_POISONING_DETECTION",
  "TEST_CATEGORY_TYPE_EVASION_ATTACK_DETECTION",
  "TEST_CATEGORY_TYPE_CUSTOM",
  NULL};
#define N_RUN 6
#define SKIP_REASON "this version of assay does not run the tests of this category"

static int category_index(const char *name) {
  for (int i = 0; known_categories[i]; i++)
    if (strcmp(known_categories[i], name) == 0) return i;
  return -1;
}

const char *severity_name(severity s) {
  switch (s) {
  case SEVERITY_WARNING: return SEV_WARNING;
  case SEVERITY_ALERT: return SEV_ALERT;
  default: return SEV_PASS;
  }
}

const char *severity_status(severity s) {
  switch (s) {
  case SEVERITY_WARNING: return TC_WARNING;
  case SEVERITY_ALERT: return TC_FAIL;
  default: return TC_PASS;
  }
}

static const struct {
  const char *name;
  int bit;
} task_names[] = {{"MODEL_TASK_BINARY_CLASSIFICATION", TASK_BINARY},
                  {"MODEL_TASK_MULTICLASS_CLASSIFICATION", TASK_MULTICLASS},
                  {"MODEL_TASK_REGRESSION", TASK_REGRESSION}};
#define N_TASKS (sizeof task_names / sizeof task_names[0])

int test_task_bit(const char *model_task) {
  for (size_t i = 0; model_task && i < N_TASKS; i++)
    if (strcmp(task_names[i].name, model_task) == 0) return task_names[i].bit;
  return 0;
}

/* The task names of a TASK_* bit set, joined by ", ". */
static void join_tasks(char *buf, size_t size, int tasks) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < N_TASKS; i++) {
    if (!(tasks & task_names[i].bit)) continue;
    int w = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", task_names[i].name);
    if (w < 0 || (size_t)w >= size - used) return;
    used += (size_t)w;
  }
}

static const struct {
  const char *name;
  double factor;
} sensitivities[] = {{"TEST_SENSITIVITY_LESS_SENSITIVE", 1.5},
                     {"TEST_SENSITIVITY_DEFAULT", 1.0},
                     {"TEST_SENSITIVITY_MORE_SENSITIVE", 2.0 / 3.0}};
#define N_SENS (sizeof sensitivities / sizeof sensitivities[0])

double test_sensitivity_factor(const char *sensitivity) {
  if (!sensitivity) return 1.0;
  for (size_t i = 0; i < N_SENS; i++)
    if (strcmp(sensitivities[i].name, sensitivity) == 0) return sensitivities[i].factor;
  return NAN;
}

/* A threshold of direction dir shifted by factor, rounded to 12
 * significant digits (so that 0.05 x 1.5 is 0.075, not 0.07500000000000001,
 * and a value of exactly 0.075 reaches it). */
static double shifted(double t, thresh_dir dir, double factor) {
  if (factor == 1.0) return t;
  double x = dir == THRESH_LOWER ? t / factor : t * factor;
  char buf[40];
  snprintf(buf, sizeof buf, "%.12g", x);
  return strtod(buf, NULL);
}

static thresh_dir entry_dir(const json_t *test) {
  const char *d = json_string_value(json_object_get(test, "direction"));
  return d && strcmp(d, "lower") == 0 ? THRESH_LOWER : THRESH_UPPER;
}

severity test_severity(const json_t *test, double value) {
  if (isnan(value) || !test) return SEVERITY_PASS;
  double w = json_number_value(json_object_get(test, "warning"));
  double a = json_number_value(json_object_get(test, "alert"));
  if (entry_dir(test) == THRESH_LOWER) {
    if (value <= a) return SEVERITY_ALERT;
    if (value <= w) return SEVERITY_WARNING;
    return SEVERITY_PASS;
  }
  if (value >= a) return SEVERITY_ALERT;
  if (value >= w) return SEVERITY_WARNING;
  return SEVERITY_PASS;
}

static double clip01(double x) {
  if (isnan(x)) return 0.0;
  return x < 0 ? 0.0 : x > 1 ? 1.0 : x;
}

double test_importance(const json_t *test, double value) {
  if (isnan(value) || !test) return 0.0;
  double a = json_number_value(json_object_get(test, "alert"));
  if (entry_dir(test) == THRESH_LOWER) {
    if (a >= 1) return value <= a ? 1.0 : 0.0;
    return clip01((1 - value) / (1 - a));
  }
  if (a <= 0) return value >= a ? 1.0 : 0.0;
  return clip01(value / a);
}

/* --- message pieces ------------------------------------------------------------ */

/* What a value is, for "got ...": strings and numbers shown, other types
 * named. */
static void show_value(char *buf, size_t size, const json_t *v) {
  if (json_is_string(v)) {
    char shown[CONFIG_SHOW_MAX + 32];
    config__show_text(shown, sizeof shown, json_string_value(v));
    snprintf(buf, size, "%s", shown);
  } else if (json_is_integer(v)) {
    snprintf(buf, size, "%lld", (long long)json_integer_value(v));
  } else if (json_is_real(v)) {
    snprintf(buf, size, "%.17g", json_real_value(v));
  } else {
    snprintf(buf, size, "%s", config__type_name(v));
  }
}

/* Edit distance of a and b (ASCII case folded), capped: strings longer
 * than 63 bytes are "far" from everything. */
static int distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  if (n > 63 || m > 63) return 1000;
  int row[64];
  for (size_t j = 0; j <= m; j++) row[j] = (int)j;
  for (size_t i = 1; i <= n; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= m; j++) {
      int up = row[j];
      int same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
      int best = diag + !same;
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[m];
}

/* "; did you mean 'x'?" for the name of `names` (count n, stride-free
 * array of pointers) closest to `got`, or "" when none is close: within a
 * third of its length (at least 2 edits), or equal to a name's text after
 * its "TEST_CATEGORY_TYPE_" prefix ignoring case. */
static const char *suggest(char *buf, size_t size, const char *got, const char *const *names) {
  const char *best = NULL;
  int bd = 1000;
  for (const char *const *nm = names; *nm; nm++) {
    const char *tail = strncmp(*nm, "TEST_CATEGORY_TYPE_", 19) == 0 ? *nm + 19 : NULL;
    int d = distance(got, *nm);
    if (tail && distance(got, tail) == 0) d = 0;
    if (d < bd) {
      bd = d;
      best = *nm;
    }
  }
  size_t len = strlen(got);
  int limit = (int)(len / 3) > 2 ? (int)(len / 3) : 2;
  if (!best || bd > limit) return "";
  snprintf(buf, size, "; did you mean '%s'?", best);
  return buf;
}

/* obj (an object) holds only `expected` keys and every `required` one. */
static int check_keys(const json_t *obj, const char *path, const char *const *expected,
                      const char *const *required) {
  int rc = config__known_keys(obj, path, expected);
  if (rc) return rc;
  char names[LIST_MAX];
  for (const char *const *r = required; r && *r; r++) {
    json_t *x = json_object_get(obj, *r);
    if (x && !json_is_null(x)) continue;
    config__join_names(names, sizeof names, expected);
    return assay__err(ASSAY_ERR_CONFIG, "%s: required key '%s' is missing%s; expected keys: %s",
                      path, *r, x ? " (it is null)" : "", names);
  }
  return ASSAY_OK;
}

static int want_id(const json_t *v, const char *path) {
  if (json_is_string(v) && json_string_length(v)) return ASSAY_OK;
  return assay__err(ASSAY_ERR_CONFIG, "%s: expected a non-empty string (an id); got %s", path,
                    json_is_string(v) ? "''" : config__type_name(v));
}

/* A column name of a list, for sorting: its text (may hold NUL bytes:
 * compared by length) and its position in the list. */
typedef struct col_ref {
  const char *s;
  size_t len, idx;
} col_ref;

static int col_ref_cmp(const void *a, const void *b) {
  const col_ref *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->s, y->s, n);
  if (c) return c;
  if (x->len != y->len) return x->len < y->len ? -1 : 1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* An array of at most COLUMNS_MAX non-empty strings of at most
 * COLUMN_NAME_MAX bytes (column names); duplicates dropped in the copy,
 * which keeps the first of each in the given order. O(n log n): the names
 * are sorted (with their positions) to find the duplicates, as a request
 * may list thousands. */
static int want_columns(const json_t *v, const char *path, json_t **out) {
  if (!json_is_array(v))
    return assay__err(ASSAY_ERR_CONFIG, "%s: expected an array of column names (strings); got %s",
                      path, config__type_name(v));
  size_t n = json_array_size(v), i;
  if (n > COLUMNS_MAX)
    return assay__err(ASSAY_ERR_CONFIG, "%s: expected at most %d column names; got %zu",
                      path, COLUMNS_MAX, n);
  json_t *e;
  json_array_foreach(v, i, e) {
    char p[CONFIG_PATH_MAX];
    if (!json_is_string(e) || !json_string_length(e))
      return assay__err(ASSAY_ERR_CONFIG, "%s: expected a column name (a non-empty string); got %s",
                        config__item(p, path, i), json_is_string(e) ? "''" : config__type_name(e));
    if (json_string_length(e) > COLUMN_NAME_MAX)
      return assay__err(ASSAY_ERR_CONFIG,
                        "%s: expected a column name of at most %d bytes; got %zu bytes",
                        config__item(p, path, i), COLUMN_NAME_MAX, json_string_length(e));
  }
  json_t *arr = json_array();
  col_ref *refs = n ? malloc(n * sizeof *refs) : NULL;
  unsigned char *keep = n ? calloc(n, 1) : NULL;
  if (!arr || (n && (!refs || !keep))) {
    json_decref(arr);
    free(refs);
    free(keep);
    return assay__nomem();
  }
  json_array_foreach(v, i, e) {
    refs[i].s = json_string_value(e);
    refs[i].len = json_string_length(e);
    refs[i].idx = i;
  }
  if (n) qsort(refs, n, sizeof *refs, col_ref_cmp);
  for (i = 0; i < n; i++) /* the first (lowest position) of each run of equal names */
    if (i == 0 || refs[i].len != refs[i - 1].len ||
        memcmp(refs[i].s, refs[i - 1].s, refs[i].len) != 0)
      keep[refs[i].idx] = 1;
  int rc = ASSAY_OK;
  json_array_foreach(v, i, e) {
    if (keep[i] && json_array_append(arr, e) != 0) {
      rc = assay__nomem();
      break;
    }
  }
  free(refs);
  free(keep);
  if (rc) {
    json_decref(arr);
    return rc;
  }
  *out = arr;
  return ASSAY_OK;
}

/* A number (integer or real) as a double. */
static int want_number(const json_t *v, const char *path, double *out) {
  if (json_is_number(v)) {
    *out = json_number_value(v);
    if (isfinite(*out)) return ASSAY_OK;
  }
  char got[CONFIG_SHOW_MAX + 64];
  show_value(got, sizeof got, v);
  return assay__err(ASSAY_ERR_CONFIG, "%s: expected a number; got %s", path, got);
}

/* An integer in [lo, hi] (a real with an integral value counts: Lua and
 * some JSON writers send 10.0). */
static int want_int_range(const json_t *v, const char *path, long long lo, long long hi,
                          const char *expect, long long *out) {
  double d = json_is_number(v) ? json_number_value(v) : NAN;
  if (json_is_integer(v) || (isfinite(d) && d == floor(d) && fabs(d) < 9e15)) {
    long long x = json_is_integer(v) ? (long long)json_integer_value(v) : (long long)d;
    if (x >= lo && x <= hi) {
      *out = x;
      return ASSAY_OK;
    }
  }
  char got[CONFIG_SHOW_MAX + 64];
  show_value(got, sizeof got, v);
  return assay__err(ASSAY_ERR_CONFIG, "%s: expected %s; got %s", path, expect, got);
}

/* --- categories ---------------------------------------------------------------- */

/* A non-empty array of known category names without duplicates; `where`
 * names it in messages. */
static int check_categories(const json_t *v, const char *where) {
  char names[LIST_MAX];
  config__join_names(names, sizeof names, known_categories);
  if (!json_is_array(v))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected an array of test categories (any of: %s); got %s", where,
                      names, config__type_name(v));
  if (json_array_size(v) == 0)
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected at least one test category (any of: %s); got []", where,
                      names);
  size_t i;
  json_t *e;
  int seen[32] = {0};
  json_array_foreach(v, i, e) {
    char p[CONFIG_PATH_MAX], got[CONFIG_SHOW_MAX + 64];
    config__item(p, where, i);
    int k = json_is_string(e) ? category_index(json_string_value(e)) : -1;
    if (k < 0) {
      show_value(got, sizeof got, e);
      char hint[160] = "";
      if (json_is_string(e)) suggest(hint, sizeof hint, json_string_value(e), known_categories);
      return assay__err(ASSAY_ERR_CONFIG, "%s: unknown test category %s%s; expected one of: %s",
                        p, got, hint, names);
    }
    if (seen[k])
      return assay__err(ASSAY_ERR_CONFIG, "%s: category '%s' is listed twice", p,
                        known_categories[k]);
    seen[k] = 1;
  }
  return ASSAY_OK;
}

int test_categories_normalize(const json_t *categories, json_t **out) {
  if (out) *out = NULL;
  int rc = check_categories(categories, "categories");
  if (rc) return rc;
  json_t *arr = json_array();
  if (!arr) return assay__nomem();
  size_t i;
  json_t *e;
  json_array_foreach(categories, i, e) {
    if (json_array_append_new(arr, json_string(json_string_value(e))) != 0) {
      json_decref(arr);
      return assay__nomem();
    }
  }
  if (out) *out = arr;
  else json_decref(arr);
  return ASSAY_OK;
}

json_t *test_default_categories(void) {
  json_t *arr = json_array();
  for (int i = 0; arr && i < N_RUN; i++)
    if (json_array_append_new(arr, json_string(known_categories[i])) != 0) {
      json_decref(arr);
      return NULL;
    }
  return arr;
}

/* --- test_run_config ------------------------------------------------------------- */

static const char *const top_keys[] = {"run_name", "model_id", "data_info", "categories",
                                       "profiling_config", "test_suite_config", "run_time_info",
                                       NULL};
static const char *const top_required[] = {"run_name", "model_id", "data_info", NULL};
static const char *const data_info_keys[] = {"ref_dataset_id", "eval_dataset_id", NULL};
static const char *const suite_keys[] = {"global_test_sensitivity", "global_exclude_columns",
                                         "custom_tests", "individual_tests_config", NULL};
static const char *const run_time_keys[] = {"random_seed", "explicit_errors",
                                            "resource_request", NULL};
static const char *const common_test_keys[] = {"run", "severity_thresholds", "exclude_columns",
                                               NULL};
static const char *const threshold_keys[] = {"warning", "alert", NULL};

/* Statistics a drift test accepts. */
static const char *const stats_numeric[] = {"psi", "ks", "jensen_shannon", "wasserstein", NULL};
static const char *const stats_categorical[] = {"psi", "jensen_shannon", "chi_square", NULL};
static const char *const stats_all[] = {"psi", "ks", "jensen_shannon", "wasserstein",
                                        "chi_square", NULL};

static const char *const *allowed_stats(const test_def *d) {
  if (strcmp(d->type, "numeric_feature_drift") == 0) return stats_numeric;
  if (strcmp(d->type, "categorical_feature_drift") == 0) return stats_categorical;
  return stats_all;
}

/* Whether the column a label / prediction drift test compares is
 * categorical for this task (-1: the test is per feature). */
static int drift_column_categorical(const test_def *d, int task) {
  if (strcmp(d->type, "label_drift") == 0) return task != TASK_REGRESSION;
  if (strcmp(d->type, "prediction_drift") == 0) return 0;
  if (strcmp(d->type, "predicted_label_drift") == 0) return 1;
  return -1;
}

/* The keys a test's individual config accepts. */
static void test_keys(const test_def *d, const char **keys, size_t cap) {
  size_t n = 0;
  for (const char *const *k = common_test_keys; *k && n + 1 < cap; k++) keys[n++] = *k;
  for (const char *const *k = d->options; k && *k && n + 1 < cap; k++) keys[n++] = *k;
  keys[n] = NULL;
}

static int has_option(const test_def *d, const char *name) {
  return config__is_in(name, d->options);
}

/* Individual config of one test, checked (any task) into a partial entry
 * {run?, warning?, alert?, exclude_columns?, options...} of given values. */
static int check_individual(const test_def *d, const json_t *v, const char *path, json_t **out) {
  const char *keys[16];
  char p[CONFIG_PATH_MAX], names[LIST_MAX];
  test_keys(d, keys, 16);
  int rc = config__want_object(v, path);
  if (!rc) rc = check_keys(v, path, keys, NULL);
  if (rc) return rc;
  json_t *o = json_object();
  if (!o) return assay__nomem();
  json_t *x;
  if (!rc && (x = config__given(v, "run"))) {
    rc = config__want_bool(x, config__sub(p, path, "run"));
    if (!rc && json_object_set(o, "run", x) != 0) rc = assay__nomem();
  }
  if (!rc && (x = config__given(v, "severity_thresholds"))) {
    char tp[CONFIG_PATH_MAX];
    config__sub(tp, path, "severity_thresholds");
    rc = config__want_object(x, tp);
    if (!rc) rc = check_keys(x, tp, threshold_keys, NULL);
    for (const char *const *k = threshold_keys; !rc && *k; k++) {
      json_t *t = config__given(x, *k);
      double val = 0;
      if (!t) continue;
      rc = want_number(t, config__sub(p, tp, *k), &val);
      if (!rc && json_object_set_new(o, *k, json_real(val)) != 0) rc = assay__nomem();
    }
    if (!rc && !config__given(x, "warning") && !config__given(x, "alert"))
      rc = assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected an object with warning and/or alert (numbers); got {}", tp);
  }
  if (!rc && (x = config__given(v, "exclude_columns"))) {
    json_t *cols = NULL;
    rc = want_columns(x, config__sub(p, path, "exclude_columns"), &cols);
    if (!rc && json_object_set_new(o, "exclude_columns", cols) != 0) rc = assay__nomem();
  }
  if (!rc && (x = config__given(v, "statistic"))) {
    const char *const *allowed = allowed_stats(d);
    config__sub(p, path, "statistic");
    if (!json_is_string(x) || !config__is_in(json_string_value(x), allowed)) {
      char got[CONFIG_SHOW_MAX + 64];
      show_value(got, sizeof got, x);
      config__join_names(names, sizeof names, allowed);
      if (json_is_string(x) && drift_stat_find(json_string_value(x)))
        rc = assay__err(ASSAY_ERR_CONFIG,
                        "%s: statistic %s does not apply to %s (%s applies to %s columns only); "
                        "expected one of: %s",
                        p, got, d->type, json_string_value(x),
                        drift_stat_find(json_string_value(x))->numeric ? "numeric"
                                                                        : "categorical",
                        names);
      else
      {
        char hint[160] = "";
        if (json_is_string(x)) suggest(hint, sizeof hint, json_string_value(x), allowed);
        rc = assay__err(ASSAY_ERR_CONFIG, "%s: unknown statistic %s%s; expected one of: %s", p,
                        got, hint, names);
      }
    }
    if (!rc && json_object_set(o, "statistic", x) != 0) rc = assay__nomem();
  }
  long long n;
  if (!rc && (x = config__given(v, "num_bins"))) {
    rc = want_int_range(x, config__sub(p, path, "num_bins"), 2, 100, "an integer from 2 to 100",
                        &n);
    if (!rc && json_object_set_new(o, "num_bins", json_integer(n)) != 0) rc = assay__nomem();
  }
  if (!rc && (x = config__given(v, "min_sample_size"))) {
    rc = want_int_range(x, config__sub(p, path, "min_sample_size"), 1, (long long)1 << 53,
                        "an integer >= 1", &n);
    if (!rc && json_object_set_new(o, "min_sample_size", json_integer(n)) != 0)
      rc = assay__nomem();
  }
  if (!rc && (x = config__given(v, "rare_threshold"))) {
    double r = NAN;
    config__sub(p, path, "rare_threshold");
    if (!json_is_number(x) || !((r = json_number_value(x)) > 0 && r < 1)) {
      char got[CONFIG_SHOW_MAX + 64];
      show_value(got, sizeof got, x);
      rc = assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected a number between 0 and 1 (both excluded); got %s", p, got);
    }
    if (!rc && json_object_set_new(o, "rare_threshold", json_real(r)) != 0) rc = assay__nomem();
  }
  if (rc) {
    json_decref(o);
    return rc;
  }
  *out = o;
  return ASSAY_OK;
}

/* The normalized entry of catalogue test d for the task, from its checked
 * individual config (may be NULL). */
static int make_entry(const test_def *d, int task, const json_t *ind, double factor,
                      const char *ind_path, json_t **out) {
  thresh_dir dir = d->dir;
  double w = d->warning, a = d->alert;
  const char *statistic = NULL, *requested = NULL;
  if (has_option(d, "statistic")) {
    statistic = ind && config__given(ind, "statistic")
                  ? json_string_value(config__given(ind, "statistic"))
                  : "psi";
    const drift_stat_def *s = drift_stat_find(statistic);
    int cat = drift_column_categorical(d, task);
    if (cat >= 0 && !(cat ? s->categorical : s->numeric)) {
      requested = s->name;
      s = drift_stat_find("psi");
    }
    statistic = s->name;
    w = s->warning;
    a = s->alert;
    dir = s->dir;
  }
  w = shifted(w, dir, factor);
  a = shifted(a, dir, factor);
  json_t *gw = ind ? config__given(ind, "warning") : NULL;
  json_t *ga = ind ? config__given(ind, "alert") : NULL;
  if (gw) w = json_real_value(gw);
  if (ga) a = json_real_value(ga);
  if ((gw || ga) && (dir == THRESH_UPPER ? !(w <= a) : !(w >= a)))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s.severity_thresholds: expected warning %s alert, as values of %s%s%s%s "
                      "are worse when %s; got warning %g%s and alert %g%s",
                      ind_path, dir == THRESH_UPPER ? "<=" : ">=", d->type,
                      statistic ? " (statistic " : "", statistic ? statistic : "",
                      statistic ? ")" : "", dir == THRESH_UPPER ? "higher" : "lower", w,
                      gw ? "" : " (the default)", a, ga ? "" : " (the default)");
  json_t *e = json_pack("{s:s, s:s, s:b, s:f, s:f, s:s}", "test_type", d->type, "category",
                        d->category, "run",
                        ind && config__given(ind, "run") ? json_is_true(config__given(ind, "run"))
                                                         : 1,
                        "warning", w, "alert", a, "direction",
                        dir == THRESH_LOWER ? "lower" : "upper");
  if (!e) return assay__nomem();
  json_t *ex = ind ? config__given(ind, "exclude_columns") : NULL;
  int rc = json_object_set_new(e, "exclude_columns", ex ? json_incref(ex) : json_array());
  if (!rc && statistic) rc = json_object_set_new(e, "statistic", json_string(statistic));
  if (!rc && requested)
    rc = json_object_set_new(e, "statistic_requested", json_string(requested));
  if (!rc && has_option(d, "num_bins"))
    rc = json_object_set_new(e, "num_bins",
                             ind && config__given(ind, "num_bins")
                               ? json_incref(config__given(ind, "num_bins"))
                               : json_integer(10));
  if (!rc && has_option(d, "min_sample_size"))
    rc = json_object_set_new(e, "min_sample_size",
                             ind && config__given(ind, "min_sample_size")
                               ? json_incref(config__given(ind, "min_sample_size"))
                               : json_integer(20));
  if (!rc && has_option(d, "rare_threshold"))
    rc = json_object_set_new(e, "rare_threshold",
                             ind && config__given(ind, "rare_threshold")
                               ? json_incref(config__given(ind, "rare_threshold"))
                               : json_real(0.001));
  if (rc) {
    json_decref(e);
    return assay__nomem();
  }
  *out = e;
  return ASSAY_OK;
}

/* test_suite_config's individual_tests_config: every key a catalogue
 * test (else an error listing them), of this task (else an error naming
 * the test's tasks); *out maps test_type -> partial entry. */
static int check_individual_tests(const json_t *v, const char *path, const char *model_task,
                                  int task, json_t **out) {
  int rc = config__want_object(v, path);
  if (rc) return rc;
  size_t n_tests = 0;
  for (const test_def *t = test_catalog; t->type; t++) n_tests++;
  if (json_object_size(v) > n_tests)
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected at most %zu entries (one per test type); got %zu", path,
                      n_tests, json_object_size(v));
  json_t *o = json_object();
  if (!o) return assay__nomem();
  const char *key;
  json_t *x;
  json_object_foreach((json_t *)v, key, x) {
    char p[CONFIG_PATH_MAX], shown[CONFIG_SHOW_MAX + 32], list[LIST_MAX];
    const test_def *d = test_def_find(key);
    if (!d) {
      const char *types[128];
      size_t nt = 0;
      for (const test_def *t = test_catalog; t->type && nt < 127; t++) types[nt++] = t->type;
      types[nt] = NULL;
      config__join_names(list, sizeof list, types);
      char hint[160] = "";
      suggest(hint, sizeof hint, key, types);
      config__show_text(shown, sizeof shown, key);
      rc = assay__err(ASSAY_ERR_CONFIG, "%s: unknown test %s%s; expected test types: %s", path,
                      shown, hint, list);
      break;
    }
    config__sub(p, path, key);
    if (!(d->tasks & task)) {
      join_tasks(list, sizeof list, d->tasks);
      rc = assay__err(ASSAY_ERR_CONFIG, "%s: test %s is for %s only; the model's task is %s", p,
                      key, list, model_task);
      break;
    }
    if (json_is_null(x)) continue;
    json_t *partial = NULL;
    rc = check_individual(d, x, p, &partial);
    if (!rc && json_object_set_new(o, key, partial) != 0) rc = assay__nomem();
    if (rc) break;
  }
  if (rc) {
    json_decref(o);
    return rc;
  }
  *out = o;
  return ASSAY_OK;
}

/* run_name: 1..RUN_NAME_MAX characters (UTF-8 code points), one line of
 * text: not blank, and no control character (C0 — tabs and line breaks
 * included —, DEL, C1 U+0080..U+009F, NUL), as the platform's other names
 * (platform/handlers.h: check_text) — it is shown in tables and terminals. */
static int check_run_name(const json_t *v, const char *path) {
  if (!json_is_string(v))
    return assay__err(ASSAY_ERR_CONFIG, "%s: expected a string of 1 to %d characters; got %s",
                      path, RUN_NAME_MAX, config__type_name(v));
  const unsigned char *t = (const unsigned char *)json_string_value(v);
  size_t len = json_string_length(v), chars = 0;
  int blank = 1;
  for (size_t i = 0; i < len; i++) {
    unsigned c = t[i];
    if ((c & 0xc0) != 0x80) chars++;
    unsigned cp = c;
    if (c == 0xc2 && i + 1 < len) cp = t[i + 1]; /* U+0080..U+00BF: C2 80..C2 BF */
    if (c < 0x20 || c == 0x7f || (c == 0xc2 && cp >= 0x80 && cp <= 0x9f))
      return assay__err(ASSAY_ERR_CONFIG,
                        "%s: expected one line of text without control characters; got the "
                        "control character U+%04X at byte %zu",
                        path, cp, i);
    if (c != ' ') blank = 0;
  }
  if (chars == 0 || chars > RUN_NAME_MAX)
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected a string of 1 to %d characters; got %zu characters", path,
                      RUN_NAME_MAX, chars);
  if (blank)
    return assay__err(ASSAY_ERR_CONFIG, "%s: expected a name, not only spaces; got %zu spaces",
                      path, chars);
  return ASSAY_OK;
}

int test_config_normalize(const json_t *config, const char *model_task,
                          const json_t *project_categories, json_t **out) {
  const char *root = "test_run_config";
  char p[CONFIG_PATH_MAX], names[LIST_MAX];
  if (out) *out = NULL;
  int task = test_task_bit(model_task);
  if (!task) {
    const char *tn[N_TASKS + 1];
    for (size_t i = 0; i < N_TASKS; i++) tn[i] = task_names[i].name;
    tn[N_TASKS] = NULL;
    config__join_names(names, sizeof names, tn);
    char shown[CONFIG_SHOW_MAX + 32];
    config__show_text(shown, sizeof shown, model_task ? model_task : "");
    return assay__err(ASSAY_ERR_CONFIG,
                      "stress tests are for models of task %s; the model's task is %s", names,
                      model_task ? shown : "unknown");
  }
  if (!json_is_object(config))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected an object {\"run_name\", \"model_id\", \"data_info\": "
                      "{\"ref_dataset_id\", \"eval_dataset_id\"}, ...}; got %s",
                      root, config__type_name(config));
  int rc = check_keys(config, root, top_keys, top_required);
  if (!rc)
    rc = check_run_name(json_object_get(config, "run_name"), config__sub(p, root, "run_name"));
  if (!rc) rc = want_id(json_object_get(config, "model_id"), config__sub(p, root, "model_id"));
  json_t *data_info = json_object_get(config, "data_info");
  if (!rc) rc = config__want_object(data_info, config__sub(p, root, "data_info"));
  if (!rc) rc = check_keys(data_info, p, data_info_keys, data_info_keys);
  if (!rc) {
    char q[CONFIG_PATH_MAX];
    rc = want_id(json_object_get(data_info, "ref_dataset_id"), config__sub(q, p, "ref_dataset_id"));
    if (!rc)
      rc = want_id(json_object_get(data_info, "eval_dataset_id"),
                   config__sub(q, p, "eval_dataset_id"));
  }
  if (rc) return rc;

  /* categories */
  json_t *cats = config__given(config, "categories");
  json_t *defaults = NULL;
  if (cats) {
    rc = check_categories(cats, config__sub(p, root, "categories"));
  } else if (project_categories && !json_is_null(project_categories)) {
    cats = (json_t *)project_categories;
    rc = check_categories(cats, "the project's stress_test_categories");
  } else {
    cats = defaults = test_default_categories();
    if (!cats) rc = assay__nomem();
  }
  if (rc) {
    json_decref(defaults);
    return rc;
  }
  int run_cat[32] = {0};
  size_t i;
  json_t *e;
  json_array_foreach(cats, i, e) run_cat[category_index(json_string_value(e))] = 1;
  json_decref(defaults);

  /* profiling_config */
  json_t *profiling = config__given(config, "profiling_config");
  if (profiling) rc = config__want_object(profiling, config__sub(p, root, "profiling_config"));

  /* test_suite_config */
  const char *sensitivity = "TEST_SENSITIVITY_DEFAULT";
  json_t *global_ex = NULL, *individual = NULL;
  json_t *suite = config__given(config, "test_suite_config");
  char sp[CONFIG_PATH_MAX];
  config__sub(sp, root, "test_suite_config");
  if (!rc && suite) {
    rc = config__want_object(suite, sp);
    if (!rc) rc = check_keys(suite, sp, suite_keys, NULL);
    json_t *x;
    if (!rc && (x = config__given(suite, "global_test_sensitivity"))) {
      const char *sn[N_SENS + 1];
      for (size_t k = 0; k < N_SENS; k++) sn[k] = sensitivities[k].name;
      sn[N_SENS] = NULL;
      if (json_is_string(x) && config__is_in(json_string_value(x), sn)) {
        sensitivity = json_string_value(x);
      } else {
        char got[CONFIG_SHOW_MAX + 64];
        show_value(got, sizeof got, x);
        config__join_names(names, sizeof names, sn);
        rc = assay__err(ASSAY_ERR_CONFIG, "%s: unknown sensitivity %s; expected one of: %s",
                        config__sub(p, sp, "global_test_sensitivity"), got, names);
      }
    }
    if (!rc && (x = config__given(suite, "global_exclude_columns")))
      rc = want_columns(x, config__sub(p, sp, "global_exclude_columns"), &global_ex);
    if (!rc && (x = config__given(suite, "custom_tests"))) {
      config__sub(p, sp, "custom_tests");
      if (!json_is_array(x))
        rc = assay__err(ASSAY_ERR_CONFIG,
                        "%s: expected an empty array (custom tests are not supported by this "
                        "version of assay); got %s",
                        p, config__type_name(x));
      else if (json_array_size(x))
        rc = assay__err(ASSAY_ERR_CONFIG,
                        "%s: custom tests are not supported by this version of assay; expected "
                        "an empty array; got %zu test(s)",
                        p, json_array_size(x));
    }
    if (!rc && (x = config__given(suite, "individual_tests_config")))
      rc = check_individual_tests(x, config__sub(p, sp, "individual_tests_config"), model_task,
                                  task, &individual);
  }

  /* run_time_info */
  long long seed = 0;
  int explicit_errors = 0;
  json_t *rt = config__given(config, "run_time_info");
  if (!rc && rt) {
    char rp[CONFIG_PATH_MAX];
    config__sub(rp, root, "run_time_info");
    rc = config__want_object(rt, rp);
    if (!rc) rc = check_keys(rt, rp, run_time_keys, NULL);
    json_t *x;
    if (!rc && (x = config__given(rt, "random_seed")))
      rc = want_int_range(x, config__sub(p, rp, "random_seed"), -((long long)1 << 53),
                          (long long)1 << 53, "an integer", &seed);
    if (!rc && (x = config__given(rt, "explicit_errors"))) {
      rc = config__want_bool(x, config__sub(p, rp, "explicit_errors"));
      explicit_errors = json_is_true(x);
    }
    if (!rc && (x = config__given(rt, "resource_request")))
      rc = config__want_object(x, config__sub(p, rp, "resource_request"));
  }

  /* tests */
  json_t *tests = rc ? NULL : json_array();
  if (!rc && !tests) rc = assay__nomem();
  double factor = test_sensitivity_factor(sensitivity);
  for (const test_def *d = test_catalog; !rc && d->type; d++) {
    if (!(d->tasks & task) || !run_cat[category_index(d->category)]) continue;
    json_t *entry = NULL;
    char ip[CONFIG_PATH_MAX];
    config__sub(ip, sp, "individual_tests_config");
    config__sub(p, ip, d->type);
    rc = make_entry(d, task, individual ? json_object_get(individual, d->type) : NULL, factor, p,
                    &entry);
    if (!rc && json_array_append_new(tests, entry) != 0) rc = assay__nomem();
  }
  /* thresholds of tests whose category is not run are checked too */
  for (const test_def *d = test_catalog; !rc && individual && d->type; d++) {
    json_t *ind = json_object_get(individual, d->type);
    if (!ind || run_cat[category_index(d->category)]) continue;
    json_t *entry = NULL;
    char ip[CONFIG_PATH_MAX];
    config__sub(ip, sp, "individual_tests_config");
    rc = make_entry(d, task, ind, factor, config__sub(p, ip, d->type), &entry);
    json_decref(entry);
  }

  json_t *o = NULL;
  if (!rc) {
    json_t *run_list = json_array(), *skipped = json_array();
    for (int k = 0; run_list && skipped && known_categories[k]; k++) {
      if (!run_cat[k]) continue;
      if (k < N_RUN)
        json_array_append_new(run_list, json_string(known_categories[k]));
      else
        json_array_append_new(skipped, json_pack("{s:s, s:s}", "category", known_categories[k],
                                                 "reason", SKIP_REASON));
    }
    o = json_pack("{s:O, s:O, s:O, s:O, s:s, s:o*, s:o*, s:I, s:b, s:s, s:o*, s:o*}", "run_name",
                  json_object_get(config, "run_name"), "model_id",
                  json_object_get(config, "model_id"), "ref_dataset_id",
                  json_object_get(data_info, "ref_dataset_id"), "eval_dataset_id",
                  json_object_get(data_info, "eval_dataset_id"), "model_task", model_task,
                  "categories", run_list, "skipped_categories", skipped, "random_seed",
                  (json_int_t)seed, "explicit_errors", explicit_errors, "sensitivity",
                  sensitivity, "global_exclude_columns",
                  global_ex ? json_incref(global_ex) : json_array(), "tests", json_incref(tests));
    if (o && profiling && json_object_set(o, "profiling_config", profiling) != 0) {
      json_decref(o);
      o = NULL;
    }
    if (!o) rc = assay__nomem();
  }
  json_decref(global_ex);
  json_decref(individual);
  json_decref(tests);
  if (rc) return rc;
  if (out) *out = o;
  else json_decref(o);
  return ASSAY_OK;
}
