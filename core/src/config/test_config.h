/* config/test_config.h — the catalogue of stress tests and the stress test
 * configuration (test_run_config): validation, defaults, thresholds and
 * severities.
 *
 * The catalogue is one table (test_config.c): every test type with its
 * category, the model tasks it applies to, what it needs (labels,
 * predictions), its default thresholds and their direction, and its
 * options. Validation, defaults, error messages, docs/tests.md (a C test
 * checks that every catalogue entry is documented there) and the engine
 * all read it. Not installed. */
#ifndef ASSAY_CONFIG_TEST_CONFIG_H
#define ASSAY_CONFIG_TEST_CONFIG_H

#include <jansson.h>

/* Categories (RIME_API.md's TEST_CATEGORY_TYPE_*). The engine of this
 * version implements these six: */
#define CAT_MODEL_PERFORMANCE "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE"
#define CAT_SUBSET_PERFORMANCE "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE"
#define CAT_SUBSET_DEGRADATION "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE_DEGRADATION"
#define CAT_DRIFT "TEST_CATEGORY_TYPE_DRIFT"
#define CAT_ABNORMAL_INPUTS "TEST_CATEGORY_TYPE_ABNORMAL_INPUTS"
#define CAT_DATA_CLEANLINESS "TEST_CATEGORY_TYPE_DATA_CLEANLINESS"
/* Known categories this version does not run (TRANSFORMATIONS, ADVERSARIAL,
 * BIAS_AND_FAIRNESS, DATA_POISONING_DETECTION, EVASION_ATTACK_DETECTION,
 * CUSTOM) are accepted — a ported script keeps working — and reported in
 * the run's "skipped_categories" with the reason; any other text is
 * ASSAY_ERR_CONFIG listing every known category. */

/* Severities and test case statuses. */
#define SEV_PASS "SEVERITY_PASS"
#define SEV_WARNING "SEVERITY_WARNING"
#define SEV_ALERT "SEVERITY_ALERT"
#define TC_PASS "TEST_CASE_STATUS_PASS"
#define TC_WARNING "TEST_CASE_STATUS_WARNING"
#define TC_FAIL "TEST_CASE_STATUS_FAIL"
#define TC_SKIP "TEST_CASE_STATUS_SKIP"
typedef enum { SEVERITY_PASS = 0, SEVERITY_WARNING = 1, SEVERITY_ALERT = 2 } severity;
const char *severity_name(severity s);         /* "SEVERITY_PASS" ... */
const char *severity_status(severity s);       /* "TEST_CASE_STATUS_PASS" / _WARNING / _FAIL */

/* Model tasks a test applies to (bit set). */
enum {
  TASK_BINARY = 1,      /* MODEL_TASK_BINARY_CLASSIFICATION */
  TASK_MULTICLASS = 2,  /* MODEL_TASK_MULTICLASS_CLASSIFICATION */
  TASK_REGRESSION = 4   /* MODEL_TASK_REGRESSION */
};
/* The TASK_* bit of a model task name, 0 for others (ranking and the
 * non-tabular tasks have no stress tests in this version). */
int test_task_bit(const char *model_task);

/* How a test's value compares with its thresholds. */
typedef enum {
  THRESH_UPPER = 0,   /* higher is worse: warning when value >= warning, alert when >= alert */
  THRESH_LOWER = 1    /* lower is worse (p-values): warning when value <= warning, ... */
} thresh_dir;

/* A catalogue entry. */
typedef struct test_def {
  const char *type;          /* "numeric_feature_drift": the test_type      */
  const char *name;          /* "Numeric Feature Drift": the test_name      */
  const char *category;      /* CAT_*                                       */
  int tasks;                 /* TASK_* bits                                 */
  int needs_labels;          /* skipped (TEST_CASE_STATUS_SKIP) without    */
  int needs_predictions;     /*   labels / predictions                      */
  /* The case metric holding the value judged with the thresholds:
   * "degradation" (MODEL_PERFORMANCE), "gap" (SUBSET_PERFORMANCE),
   * "worst_degradation" (SUBSET_PERFORMANCE_DEGRADATION), "psi" for the
   * drift tests with a statistic (the statistic's drift_stat_def.metric
   * when another is chosen), "null_share_change", "share_affected"
   * (ABNORMAL_INPUTS), "minority_share", "duplicate_share",
   * "normalized_mutual_info", "correlation". */
  const char *metric;
  const char *description;   /* one sentence, shown in results and docs     */
  double warning, alert;     /* default thresholds                          */
  thresh_dir dir;
  /* Options a test accepts in individual_tests_config besides the common
   * ones (a NULL-terminated list, or NULL): e.g. "statistic", "num_bins",
   * "min_sample_size". */
  const char *const *options;
} test_def;

/* The catalogue, terminated by an entry with type NULL. */
extern const test_def test_catalog[];
/* The entry of a test type, or NULL. */
const test_def *test_def_find(const char *type);

/* Drift statistics a drift test may use ("statistic" option): "psi"
 * (default), "ks" (numeric only), "jensen_shannon", "wasserstein" (numeric
 * only), "chi_square" (categorical only); each with its default
 * thresholds (docs/tests.md). */
typedef struct drift_stat_def {
  const char *name;
  int numeric, categorical;   /* where it applies */
  double warning, alert;
  thresh_dir dir;
  const char *metric;         /* the case metric holding the judged value:
                                 "psi", "ks_statistic", "jensen_shannon",
                                 "wasserstein_normed", "chi_square_pvalue" */
} drift_stat_def;
extern const drift_stat_def drift_stats[];  /* terminated by name NULL */
const drift_stat_def *drift_stat_find(const char *name);

/* Global sensitivity: thresholds of THRESH_UPPER tests are multiplied by
 * the factor (LESS_SENSITIVE 1.5, DEFAULT 1, MORE_SENSITIVE 2/3) and those
 * of THRESH_LOWER tests divided by it, then rounded to 12 significant
 * digits (0.05 x 1.5 is exactly 0.075); thresholds a test's own
 * severity_thresholds set are not shifted. NULL: 1; an unknown name:
 * NAN. */
double test_sensitivity_factor(const char *sensitivity);

/* Validate and normalise a test_run_config (RIME_API.md) for a project of
 * model_task whose stress-test categories are project_categories (an array,
 * or NULL for the defaults). Every problem is ASSAY_ERR_CONFIG naming the
 * key path, what it got and what it expects (unknown keys list the valid
 * ones; unknown tests and categories list the valid ones). Accepted keys:
 *   run_name (string, required, 1..200 chars, one line: no control
 *   character — C0 with tabs and line breaks, DEL, C1 — and not only
 *   spaces), model_id (string, required), data_info {ref_dataset_id
 *   (required), eval_dataset_id (required)}, categories [..] (absent: the
 *   project's, else every category this version runs), profiling_config
 *   (object, ignored but kept), test_suite_config {global_test_sensitivity
 *   (TEST_SENSITIVITY_LESS_SENSITIVE | _DEFAULT | _MORE_SENSITIVE),
 *   global_exclude_columns [column names], custom_tests [] (must be empty
 *   in this version), individual_tests_config {<test_type>: {run (bool),
 *   severity_thresholds {warning, alert} (numbers, ordered as the test's
 *   direction needs), exclude_columns [column names], and the test's
 *   options}} (at most one entry per catalogue test)},
 *   run_time_info {random_seed (integer), explicit_errors (bool),
 *   resource_request (object, ignored)}.
 * A list of column names holds at most 10,000 non-empty strings of at most
 * 1024 bytes each (else ASSAY_ERR_CONFIG naming the list or the item);
 * duplicates are dropped in O(n log n), so a config of the largest size
 * allowed normalises in milliseconds — the platform's start route runs this
 * before its write transaction in any case.
 * *out (new reference):
 *   {run_name, model_id, ref_dataset_id, eval_dataset_id, model_task,
 *    categories: [categories to run, in catalogue order],
 *    skipped_categories: [{category, reason}],
 *    random_seed (integer; default 0), explicit_errors (bool),
 *    sensitivity, global_exclude_columns: [... (duplicates dropped)],
 *    profiling_config (only when given),
 *    tests: [{test_type, category, run (bool), warning, alert, direction
 *             ("upper" | "lower"), exclude_columns: [...], <options with
 *             defaults filled in: statistic "psi", num_bins 10 (integer),
 *             min_sample_size 20, rare_threshold 0.001>}]
 *             — every catalogue test of the task in a category to run
 *             (run false included), in catalogue order, thresholds after
 *             the sensitivity shift; a drift test's warning/alert/direction
 *             are those of its statistic unless severity_thresholds gives
 *             them (given thresholds are never shifted; when one is given
 *             the other is the shifted default; the pair must be ordered
 *             for the direction). label_drift / prediction_drift /
 *             predicted_label_drift accept every statistic; when the one
 *             chosen does not apply to the column compared for this task
 *             (label_drift: classes for B/M, values for R;
 *             prediction_drift: numeric; predicted_label_drift: classes),
 *             the entry holds "statistic": "psi" (with psi's thresholds)
 *             and "statistic_requested": the one asked for — the engine
 *             uses "statistic" as it is.}
 * categories: absent or null → project_categories (checked; named "the
 * project's stress_test_categories" in messages) → the defaults; an empty
 * array, a repeated or an unknown category is ASSAY_ERR_CONFIG. Unknown
 * categories, tests and statistics get a "did you mean" when one is
 * close.
 * Individual config for a test whose category is not run is accepted and
 * has no effect; for a test of another model task it is ASSAY_ERR_CONFIG
 * saying which tasks it is for. */
int test_config_normalize(const json_t *config, const char *model_task,
                          const json_t *project_categories, json_t **out);

/* Validate a project's stress-test categories (update_stress_test_
 * categories): a non-empty array of known category names without
 * duplicates. *out: the array as stored (new reference). */
int test_categories_normalize(const json_t *categories, json_t **out);
/* The default categories as a new array (every category this version
 * runs). */
json_t *test_default_categories(void);

/* The severity of value under a normalized test entry's thresholds
 * (warning, alert, direction); NAN is SEVERITY_PASS (callers mark such a
 * case skipped). */
severity test_severity(const json_t *test, double value);
/* importance_score of a case: how far value is toward the alert threshold,
 * clipped to [0, 1] (value / alert for "upper" with alert > 0; for
 * "lower", (1 - value) / (1 - alert) clipped); NAN: 0. */
double test_importance(const json_t *test, double value);

#endif
