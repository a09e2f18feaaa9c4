/* test_test_config.c — the stress test catalogue and the test_run_config
 * validation (config/test_config.h): the catalogue against the issue's
 * tables (typed here independently), every validation error with the
 * pieces its message must hold (key path, what was wrong, what was
 * expected or the valid list), defaults per model task, the sensitivity
 * shift, individual overrides and options, categories (run, skipped,
 * project defaults), severities and importance around the thresholds in
 * both directions, and that docs/tests.md documents every test and drift
 * statistic with its default thresholds. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "config/test_config.h"
#include "internal.h"

#define BIN "MODEL_TASK_BINARY_CLASSIFICATION"
#define MUL "MODEL_TASK_MULTICLASS_CLASSIFICATION"
#define REG "MODEL_TASK_REGRESSION"

/* JSON from text where ' stands for " (configs read better that way). */
static json_t *parse(const char *text) {
  char *t = strdup(text);
  assert_non_null(t);
  for (char *c = t; *c; c++)
    if (*c == '\'') *c = '"';
  json_error_t e;
  json_t *j = json_loads(t, JSON_DECODE_ANY, &e);
  if (!j) fail_msg("bad test JSON (%s): %s", e.text, t);
  free(t);
  return j;
}

/* A minimal valid config with `extra` (",'key':value..." or "") added. */
static json_t *config_with(const char *extra) {
  char buf[8192];
  snprintf(buf, sizeof buf,
           "{'run_name':'run 1','model_id':'m1','data_info':{'ref_dataset_id':'d1',"
           "'eval_dataset_id':'d2'}%s}",
           extra);
  return parse(buf);
}

/* test_config_normalize of config_with(extra) for task; must succeed. */
static json_t *normalized(const char *task, const char *extra) {
  json_t *c = config_with(extra), *out = NULL;
  int rc = test_config_normalize(c, task, NULL, &out);
  if (rc) fail_msg("normalize failed: %s (extra: %s)", assay_error_last()->message, extra);
  json_decref(c);
  return out;
}

/* The entry of test_type in a normalized config's tests, or NULL. */
static json_t *entry(const json_t *norm, const char *type) {
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(norm, "tests"), i, t) {
    if (strcmp(json_string_value(json_object_get(t, "test_type")), type) == 0) return t;
  }
  return NULL;
}

static double num(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_number(v)) fail_msg("%s is not a number", key);
  return json_number_value(v);
}

static const char *str(const json_t *obj, const char *key) {
  return json_string_value(json_object_get(obj, key));
}

static void assert_has(const char *msg, const char *frag) {
  if (!strstr(msg, frag)) fail_msg("message lacks \"%s\":\n  %s", frag, msg);
}

/* --- the catalogue, as the issue's contract tables give it ------------------------- */

#define B TASK_BINARY
#define M TASK_MULTICLASS
#define R TASK_REGRESSION
#define A (B | M | R)
enum { MP, SP, SD, DR, AB, DC };
static const char *const cat_names[] = {CAT_MODEL_PERFORMANCE,  CAT_SUBSET_PERFORMANCE,
                                        CAT_SUBSET_DEGRADATION, CAT_DRIFT,
                                        CAT_ABNORMAL_INPUTS,    CAT_DATA_CLEANLINESS};

typedef struct expect_def {
  const char *type;
  int cat, tasks, labels, preds;
  double warning, alert;
  thresh_dir dir;
  const char *options; /* space separated, "" for none */
} expect_def;

static const expect_def expected[] = {
  {"accuracy", MP, B, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"auc", MP, B, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"f1", MP, B, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"precision", MP, B, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"recall", MP, B, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"false_positive_rate", MP, B, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"false_negative_rate", MP, B, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"positive_prediction_rate", MP, B, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"log_loss", MP, B | M, 1, 1, 0.10, 0.20, THRESH_UPPER, ""},
  {"brier_score", MP, B, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"multiclass_accuracy", MP, M, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"macro_f1", MP, M, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"macro_precision", MP, M, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"macro_recall", MP, M, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"multiclass_auc", MP, M, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"average_confidence", MP, M, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"mae", MP, R, 1, 1, 0.10, 0.25, THRESH_UPPER, ""},
  {"mse", MP, R, 1, 1, 0.20, 0.50, THRESH_UPPER, ""},
  {"rmse", MP, R, 1, 1, 0.10, 0.25, THRESH_UPPER, ""},
  {"mape", MP, R, 1, 1, 0.10, 0.25, THRESH_UPPER, ""},
  {"msle", MP, R, 1, 1, 0.20, 0.50, THRESH_UPPER, ""},
  {"r2", MP, R, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"rank_correlation", MP, R, 1, 1, 0.05, 0.10, THRESH_UPPER, ""},
  {"average_prediction", MP, R | B, 1, 1, 0.10, 0.25, THRESH_UPPER, ""},
  {"prediction_variance", MP, R, 1, 1, 0.20, 0.50, THRESH_UPPER, ""},
  {"subset_accuracy", SP, B, 1, 1, 0.05, 0.10, THRESH_UPPER, "num_bins min_sample_size"},
  {"subset_auc", SP, B, 1, 1, 0.05, 0.10, THRESH_UPPER, "num_bins min_sample_size"},
  {"subset_f1", SP, B, 1, 1, 0.05, 0.10, THRESH_UPPER, "num_bins min_sample_size"},
  {"subset_precision", SP, B, 1, 1, 0.05, 0.10, THRESH_UPPER, "num_bins min_sample_size"},
  {"subset_recall", SP, B, 1, 1, 0.05, 0.10, THRESH_UPPER, "num_bins min_sample_size"},
  {"subset_false_positive_rate", SP, B, 1, 1, 0.05, 0.10, THRESH_UPPER,
   "num_bins min_sample_size"},
  {"subset_false_negative_rate", SP, B, 1, 1, 0.05, 0.10, THRESH_UPPER,
   "num_bins min_sample_size"},
  {"subset_multiclass_accuracy", SP, M, 1, 1, 0.05, 0.10, THRESH_UPPER,
   "num_bins min_sample_size"},
  {"subset_macro_f1", SP, M, 1, 1, 0.05, 0.10, THRESH_UPPER, "num_bins min_sample_size"},
  {"subset_mae", SP, R, 1, 1, 0.25, 0.50, THRESH_UPPER, "num_bins min_sample_size"},
  {"subset_rmse", SP, R, 1, 1, 0.25, 0.50, THRESH_UPPER, "num_bins min_sample_size"},
  {"subset_r2", SP, R, 1, 1, 0.10, 0.20, THRESH_UPPER, "num_bins min_sample_size"},
  {"subset_accuracy_degradation", SD, B, 1, 1, 0.05, 0.10, THRESH_UPPER,
   "num_bins min_sample_size"},
  {"subset_auc_degradation", SD, B, 1, 1, 0.05, 0.10, THRESH_UPPER, "num_bins min_sample_size"},
  {"subset_f1_degradation", SD, B, 1, 1, 0.05, 0.10, THRESH_UPPER, "num_bins min_sample_size"},
  {"subset_multiclass_accuracy_degradation", SD, M, 1, 1, 0.05, 0.10, THRESH_UPPER,
   "num_bins min_sample_size"},
  {"subset_macro_f1_degradation", SD, M, 1, 1, 0.05, 0.10, THRESH_UPPER,
   "num_bins min_sample_size"},
  {"subset_mae_degradation", SD, R, 1, 1, 0.25, 0.50, THRESH_UPPER, "num_bins min_sample_size"},
  {"subset_rmse_degradation", SD, R, 1, 1, 0.25, 0.50, THRESH_UPPER,
   "num_bins min_sample_size"},
  {"numeric_feature_drift", DR, A, 0, 0, 0.2, 0.4, THRESH_UPPER, "statistic num_bins"},
  {"categorical_feature_drift", DR, A, 0, 0, 0.2, 0.4, THRESH_UPPER, "statistic num_bins"},
  {"label_drift", DR, A, 1, 0, 0.2, 0.4, THRESH_UPPER, "statistic num_bins"},
  {"prediction_drift", DR, B | R, 0, 1, 0.2, 0.4, THRESH_UPPER, "statistic num_bins"},
  {"predicted_label_drift", DR, B | M, 0, 1, 0.2, 0.4, THRESH_UPPER, "statistic num_bins"},
  {"nulls_per_feature_drift", DR, A, 0, 0, 0.05, 0.10, THRESH_UPPER, ""},
  {"numeric_outliers", AB, A, 0, 0, 0.01, 0.05, THRESH_UPPER, ""},
  {"out_of_range", AB, A, 0, 0, 0.01, 0.05, THRESH_UPPER, ""},
  {"unseen_categories", AB, A, 0, 0, 0.01, 0.05, THRESH_UPPER, ""},
  {"rare_categories", AB, A, 0, 0, 0.01, 0.05, THRESH_UPPER, "rare_threshold"},
  {"null_check", AB, A, 0, 0, 0.01, 0.05, THRESH_UPPER, ""},
  {"empty_strings", AB, A, 0, 0, 0.01, 0.05, THRESH_UPPER, ""},
  {"type_mismatch", AB, A, 0, 0, 0.01, 0.05, THRESH_UPPER, ""},
  {"capitalization", AB, A, 0, 0, 0.01, 0.05, THRESH_UPPER, ""},
  {"label_imbalance", DC, B | M, 1, 0, 0.05, 0.01, THRESH_LOWER, ""},
  {"duplicate_rows", DC, A, 0, 0, 0.01, 0.05, THRESH_UPPER, ""},
  {"feature_leakage", DC, A, 1, 0, 0.5, 0.8, THRESH_UPPER, ""},
  {"high_feature_correlation", DC, A, 0, 0, 0.9, 0.95, THRESH_UPPER, ""},
};
#define N_EXPECTED (sizeof expected / sizeof expected[0])

/* The options of a catalogue entry as "a b c". */
static void options_text(const test_def *d, char *buf, size_t size) {
  buf[0] = '\0';
  for (const char *const *o = d->options; o && *o; o++) {
    strncat(buf, o == d->options ? "" : " ", size - strlen(buf) - 1);
    strncat(buf, *o, size - strlen(buf) - 1);
  }
}

static void catalogue_matches_contract(void **state) {
  (void)state;
  size_t n = 0;
  for (const test_def *d = test_catalog; d->type; d++, n++) {
    assert_true(n < N_EXPECTED);
    const expect_def *x = &expected[n];
    /* same order as the contract's tables (results are in catalogue order) */
    assert_string_equal(d->type, x->type);
    assert_string_equal(d->category, cat_names[x->cat]);
    if (d->tasks != x->tasks) fail_msg("%s: tasks %d, expected %d", d->type, d->tasks, x->tasks);
    assert_int_equal(d->needs_labels, x->labels);
    assert_int_equal(d->needs_predictions, x->preds);
    assert_true(d->warning == x->warning);
    assert_true(d->alert == x->alert);
    assert_int_equal(d->dir, x->dir);
    char opts[256];
    options_text(d, opts, sizeof opts);
    assert_string_equal(opts, x->options);
    /* a name, a metric and a one-sentence description */
    assert_true(d->name && d->name[0] >= 'A' && d->name[0] <= 'Z');
    assert_true(d->metric && *d->metric);
    size_t len = strlen(d->description);
    assert_true(len > 20 && len < 200);
    assert_int_equal(d->description[len - 1], '.');
    assert_null(strstr(d->description, ". "));
    assert_ptr_equal(test_def_find(d->type), d);
  }
  assert_int_equal(n, N_EXPECTED);
  /* names are unique */
  for (const test_def *d = test_catalog; d->type; d++)
    for (const test_def *e = d + 1; e->type; e++) assert_string_not_equal(d->name, e->name);
  assert_null(test_def_find("nope"));
  assert_null(test_def_find(NULL));
  assert_null(test_def_find(""));
}

static void drift_statistics(void **state) {
  (void)state;
  static const struct {
    const char *name;
    int numeric, categorical;
    double w, a;
    thresh_dir dir;
    const char *metric;
  } want[] = {{"psi", 1, 1, 0.2, 0.4, THRESH_UPPER, "psi"},
              {"ks", 1, 0, 0.1, 0.2, THRESH_UPPER, "ks_statistic"},
              {"jensen_shannon", 1, 1, 0.1, 0.2, THRESH_UPPER, "jensen_shannon"},
              {"wasserstein", 1, 0, 0.1, 0.2, THRESH_UPPER, "wasserstein_normed"},
              {"chi_square", 0, 1, 0.05, 0.001, THRESH_LOWER, "chi_square_pvalue"}};
  size_t n = 0;
  for (const drift_stat_def *s = drift_stats; s->name; s++, n++) {
    assert_true(n < 5);
    assert_string_equal(s->name, want[n].name);
    assert_int_equal(s->numeric, want[n].numeric);
    assert_int_equal(s->categorical, want[n].categorical);
    assert_true(s->warning == want[n].w);
    assert_true(s->alert == want[n].a);
    assert_int_equal(s->dir, want[n].dir);
    assert_string_equal(s->metric, want[n].metric);
    assert_ptr_equal(drift_stat_find(s->name), s);
  }
  assert_int_equal(n, 5);
  assert_null(drift_stat_find("kl"));
  assert_null(drift_stat_find(NULL));
}

static void names_and_factors(void **state) {
  (void)state;
  assert_string_equal(severity_name(SEVERITY_PASS), "SEVERITY_PASS");
  assert_string_equal(severity_name(SEVERITY_WARNING), "SEVERITY_WARNING");
  assert_string_equal(severity_name(SEVERITY_ALERT), "SEVERITY_ALERT");
  assert_string_equal(severity_status(SEVERITY_PASS), "TEST_CASE_STATUS_PASS");
  assert_string_equal(severity_status(SEVERITY_WARNING), "TEST_CASE_STATUS_WARNING");
  assert_string_equal(severity_status(SEVERITY_ALERT), "TEST_CASE_STATUS_FAIL");
  assert_int_equal(test_task_bit(BIN), TASK_BINARY);
  assert_int_equal(test_task_bit(MUL), TASK_MULTICLASS);
  assert_int_equal(test_task_bit(REG), TASK_REGRESSION);
  assert_int_equal(test_task_bit("MODEL_TASK_RANKING"), 0);
  assert_int_equal(test_task_bit(NULL), 0);
  assert_true(test_sensitivity_factor("TEST_SENSITIVITY_LESS_SENSITIVE") == 1.5);
  assert_true(test_sensitivity_factor("TEST_SENSITIVITY_DEFAULT") == 1.0);
  assert_true(test_sensitivity_factor("TEST_SENSITIVITY_MORE_SENSITIVE") == 2.0 / 3.0);
  assert_true(test_sensitivity_factor(NULL) == 1.0);
  assert_true(isnan(test_sensitivity_factor("LOUD")));
}

/* --- validation errors -------------------------------------------------------------- */

typedef struct ecase {
  const char *task;
  const char *config;    /* full config text, or NULL: base config + extra */
  const char *extra;
  const char *frags[5];  /* pieces the message must hold */
} ecase;

#define IND(x) ",'test_suite_config':{'individual_tests_config':{" x "}}"
#define ITC "test_run_config.test_suite_config.individual_tests_config."

static const ecase ecases[] = {
  /* the shape */
  {BIN, "[]", NULL, {"test_run_config: expected an object", "got an array"}},
  {BIN, "{'model_id':'m','data_info':{'ref_dataset_id':'a','eval_dataset_id':'b'}}", NULL,
   {"test_run_config: required key 'run_name' is missing",
    "expected keys: run_name, model_id, data_info, categories, profiling_config, "
    "test_suite_config, run_time_info"}},
  {BIN, "{'run_name':null,'model_id':'m','data_info':{'ref_dataset_id':'a','eval_dataset_id':'b'}}",
   NULL, {"required key 'run_name' is missing (it is null)"}},
  {BIN, "{'run_name':'r','data_info':{'ref_dataset_id':'a','eval_dataset_id':'b'}}", NULL,
   {"test_run_config: required key 'model_id' is missing"}},
  {BIN, "{'run_name':'r','model_id':'m'}", NULL,
   {"test_run_config: required key 'data_info' is missing"}},
  {BIN, NULL, ",'name':'x'",
   {"test_run_config: unknown key 'name'", "expected: run_name, model_id, data_info, categories, "
    "profiling_config, test_suite_config, run_time_info"}},
  {BIN, "{'run_name':'','model_id':'m','data_info':{'ref_dataset_id':'a','eval_dataset_id':'b'}}",
   NULL,
   {"test_run_config.run_name: expected a string of 1 to 200 characters", "got 0 characters"}},
  {BIN, "{'run_name':7,'model_id':'m','data_info':{'ref_dataset_id':'a','eval_dataset_id':'b'}}",
   NULL, {"test_run_config.run_name: expected a string of 1 to 200 characters", "got an integer"}},
  {BIN, "{'run_name':'r','model_id':'','data_info':{'ref_dataset_id':'a','eval_dataset_id':'b'}}",
   NULL, {"test_run_config.model_id: expected a non-empty string (an id)", "got ''"}},
  {BIN, "{'run_name':'r','model_id':3,'data_info':{'ref_dataset_id':'a','eval_dataset_id':'b'}}",
   NULL, {"test_run_config.model_id: expected a non-empty string", "got an integer"}},
  {BIN, "{'run_name':'r','model_id':'m','data_info':'d'}", NULL,
   {"test_run_config.data_info: expected an object", "got a string"}},
  {BIN, "{'run_name':'r','model_id':'m','data_info':{'ref_dataset_id':'a'}}", NULL,
   {"test_run_config.data_info: required key 'eval_dataset_id' is missing",
    "expected keys: ref_dataset_id, eval_dataset_id"}},
  {BIN, "{'run_name':'r','model_id':'m','data_info':{'eval_dataset_id':'a'}}", NULL,
   {"test_run_config.data_info: required key 'ref_dataset_id' is missing"}},
  {BIN,
   "{'run_name':'r','model_id':'m','data_info':{'ref_dataset_id':'a','eval_dataset_id':'b',"
   "'ref_data':1}}",
   NULL, {"test_run_config.data_info: unknown key 'ref_data'",
          "expected: ref_dataset_id, eval_dataset_id"}},
  {BIN, "{'run_name':'r','model_id':'m','data_info':{'ref_dataset_id':1,'eval_dataset_id':'b'}}",
   NULL,
   {"test_run_config.data_info.ref_dataset_id: expected a non-empty string", "got an integer"}},
  {BIN, "{'run_name':'r','model_id':'m','data_info':{'ref_dataset_id':'a','eval_dataset_id':''}}",
   NULL, {"test_run_config.data_info.eval_dataset_id: expected a non-empty string", "got ''"}},
  /* categories */
  {BIN, NULL, ",'categories':'TEST_CATEGORY_TYPE_DRIFT'",
   {"test_run_config.categories: expected an array of test categories",
    "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE", "TEST_CATEGORY_TYPE_CUSTOM", "got a string"}},
  {BIN, NULL, ",'categories':[]",
   {"test_run_config.categories: expected at least one test category", "got []"}},
  {BIN, NULL, ",'categories':['TEST_CATEGORY_TYPE_DRIFT','DRIFT']",
   {"test_run_config.categories[1]: unknown test category 'DRIFT'; did you mean "
    "'TEST_CATEGORY_TYPE_DRIFT'?",
    "expected one of: TEST_CATEGORY_TYPE_MODEL_PERFORMANCE, TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE, "
    "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE_DEGRADATION, TEST_CATEGORY_TYPE_DRIFT, "
    "TEST_CATEGORY_TYPE_ABNORMAL_INPUTS, TEST_CATEGORY_TYPE_DATA_CLEANLINESS, "
    "TEST_CATEGORY_TYPE_TRANSFORMATIONS, TEST_CATEGORY_TYPE_ADVERSARIAL, "
    "TEST_CATEGORY_TYPE_BIAS_AND_FAIRNESS, TEST_CATEGORY_TYPE_DATA_POISONING_DETECTION, "
    "TEST_CATEGORY_TYPE_EVASION_ATTACK_DETECTION, TEST_CATEGORY_TYPE_CUSTOM"}},
  {BIN, NULL, ",'categories':['drift']",
   {"test_run_config.categories[0]: unknown test category 'drift'; did you mean "
    "'TEST_CATEGORY_TYPE_DRIFT'?"}},
  {BIN, NULL, ",'categories':['TEST_CATEGORY_TYPE_MODEL_PERFORMANC']",
   {"unknown test category 'TEST_CATEGORY_TYPE_MODEL_PERFORMANC'; did you mean "
    "'TEST_CATEGORY_TYPE_MODEL_PERFORMANCE'?"}},
  {BIN, NULL, IND("'wasserstein_drift':{}"),
   {"unknown test 'wasserstein_drift'; expected test types:"}},
  {BIN, NULL, IND("'numeric_feature_drift':{'statistic':'jensen-shannon'}"),
   {"unknown statistic 'jensen-shannon'; did you mean 'jensen_shannon'?"}},
  {BIN, NULL, ",'categories':[4]",
   {"test_run_config.categories[0]: unknown test category 4", "expected one of:"}},
  {BIN, NULL, ",'categories':['TEST_CATEGORY_TYPE_DRIFT','TEST_CATEGORY_TYPE_DRIFT']",
   {"test_run_config.categories[1]: category 'TEST_CATEGORY_TYPE_DRIFT' is listed twice"}},
  /* profiling_config */
  {BIN, NULL, ",'profiling_config':[]",
   {"test_run_config.profiling_config: expected an object", "got an array"}},
  /* test_suite_config */
  {BIN, NULL, ",'test_suite_config':true",
   {"test_run_config.test_suite_config: expected an object", "got a boolean"}},
  {BIN, NULL, ",'test_suite_config':{'sensitivity':1}",
   {"test_run_config.test_suite_config: unknown key 'sensitivity'",
    "expected: global_test_sensitivity, global_exclude_columns, custom_tests, "
    "individual_tests_config"}},
  {BIN, NULL, ",'test_suite_config':{'global_test_sensitivity':'HIGH'}",
   {"test_run_config.test_suite_config.global_test_sensitivity: unknown sensitivity 'HIGH'",
    "expected one of: TEST_SENSITIVITY_LESS_SENSITIVE, TEST_SENSITIVITY_DEFAULT, "
    "TEST_SENSITIVITY_MORE_SENSITIVE"}},
  {BIN, NULL, ",'test_suite_config':{'global_test_sensitivity':2}",
   {"global_test_sensitivity: unknown sensitivity 2", "TEST_SENSITIVITY_DEFAULT"}},
  {BIN, NULL, ",'test_suite_config':{'global_exclude_columns':'a'}",
   {"test_run_config.test_suite_config.global_exclude_columns: expected an array of column names",
    "got a string"}},
  {BIN, NULL, ",'test_suite_config':{'global_exclude_columns':['a','']}",
   {"test_run_config.test_suite_config.global_exclude_columns[1]: expected a column name",
    "got ''"}},
  {BIN, NULL, ",'test_suite_config':{'global_exclude_columns':['a',{}]}",
   {"global_exclude_columns[1]: expected a column name (a non-empty string); got an object"}},
  {BIN, NULL, ",'test_suite_config':{'custom_tests':{}}",
   {"test_run_config.test_suite_config.custom_tests: expected an empty array",
    "custom tests are not supported", "got an object"}},
  {BIN, NULL, ",'test_suite_config':{'custom_tests':[{'name':'t'}]}",
   {"test_run_config.test_suite_config.custom_tests: custom tests are not supported",
    "expected an empty array", "got 1 test(s)"}},
  {BIN, NULL, ",'test_suite_config':{'individual_tests_config':[]}",
   {"test_run_config.test_suite_config.individual_tests_config: expected an object",
    "got an array"}},
  /* individual tests */
  {BIN, NULL, IND("'acuracy':{}"),
   {"test_run_config.test_suite_config.individual_tests_config: unknown test 'acuracy'; "
    "did you mean 'accuracy'?",
    "expected test types: accuracy, auc, f1,", "numeric_feature_drift",
    "capitalization, label_imbalance, duplicate_rows, feature_leakage, high_feature_correlation"}},
  {BIN, NULL, IND("'mae':{}"),
   {ITC "mae: test mae is for MODEL_TASK_REGRESSION only",
    "the model's task is MODEL_TASK_BINARY_CLASSIFICATION"}},
  {REG, NULL, IND("'log_loss':{'run':false}"),
   {ITC "log_loss: test log_loss is for MODEL_TASK_BINARY_CLASSIFICATION, "
    "MODEL_TASK_MULTICLASS_CLASSIFICATION only",
    "the model's task is MODEL_TASK_REGRESSION"}},
  {MUL, NULL, IND("'prediction_drift':{}"),
   {"test prediction_drift is for MODEL_TASK_BINARY_CLASSIFICATION, MODEL_TASK_REGRESSION only"}},
  {BIN, NULL, IND("'accuracy':true"), {ITC "accuracy: expected an object", "got a boolean"}},
  {BIN, NULL, IND("'accuracy':{'threshold':0.1}"),
   {ITC "accuracy: unknown key 'threshold'",
    "expected: run, severity_thresholds, exclude_columns"}},
  {BIN, NULL, IND("'accuracy':{'num_bins':5}"),
   {ITC "accuracy: unknown key 'num_bins'", "expected: run, severity_thresholds, exclude_columns"}},
  {BIN, NULL, IND("'subset_auc':{'statistic':'ks'}"),
   {ITC "subset_auc: unknown key 'statistic'",
    "expected: run, severity_thresholds, exclude_columns, num_bins, min_sample_size"}},
  {BIN, NULL, IND("'nulls_per_feature_drift':{'statistic':'ks'}"),
   {ITC "nulls_per_feature_drift: unknown key 'statistic'",
    "expected: run, severity_thresholds, exclude_columns"}},
  {BIN, NULL, IND("'numeric_feature_drift':{'rare_threshold':0.1}"),
   {"unknown key 'rare_threshold'",
    "expected: run, severity_thresholds, exclude_columns, statistic, num_bins"}},
  {BIN, NULL, IND("'rare_categories':{'num_bins':3}"),
   {"unknown key 'num_bins'",
    "expected: run, severity_thresholds, exclude_columns, rare_threshold"}},
  {BIN, NULL, IND("'accuracy':{'run':'yes'}"),
   {ITC "accuracy.run: expected a boolean (true or false)", "got a string"}},
  {BIN, NULL, IND("'accuracy':{'severity_thresholds':[0.1,0.2]}"),
   {ITC "accuracy.severity_thresholds: expected an object", "got an array"}},
  {BIN, NULL, IND("'accuracy':{'severity_thresholds':{'warn':0.1}}"),
   {ITC "accuracy.severity_thresholds: unknown key 'warn'", "expected: warning, alert"}},
  {BIN, NULL, IND("'accuracy':{'severity_thresholds':{}}"),
   {ITC "accuracy.severity_thresholds: expected an object with warning and/or alert", "got {}"}},
  {BIN, NULL, IND("'accuracy':{'severity_thresholds':{'warning':'0.1'}}"),
   {ITC "accuracy.severity_thresholds.warning: expected a number", "got '0.1'"}},
  {BIN, NULL, IND("'accuracy':{'severity_thresholds':{'alert':true}}"),
   {ITC "accuracy.severity_thresholds.alert: expected a number", "got a boolean"}},
  {BIN, NULL, IND("'accuracy':{'severity_thresholds':{'warning':0.3,'alert':0.2}}"),
   {ITC "accuracy.severity_thresholds: expected warning <= alert",
    "values of accuracy are worse when higher", "got warning 0.3 and alert 0.2"}},
  {BIN, NULL, IND("'accuracy':{'severity_thresholds':{'warning':0.3}}"),
   {"expected warning <= alert", "got warning 0.3 and alert 0.1 (the default)"}},
  {BIN, NULL,
   ",'test_suite_config':{'global_test_sensitivity':'TEST_SENSITIVITY_LESS_SENSITIVE',"
   "'individual_tests_config':{'accuracy':{'severity_thresholds':{'alert':0.06}}}}",
   {"expected warning <= alert", "got warning 0.075 (the default) and alert 0.06"}},
  {BIN, NULL, IND("'label_imbalance':{'severity_thresholds':{'warning':0.01,'alert':0.05}}"),
   {ITC "label_imbalance.severity_thresholds: expected warning >= alert",
    "values of label_imbalance are worse when lower", "got warning 0.01 and alert 0.05"}},
  {BIN, NULL,
   IND("'categorical_feature_drift':{'statistic':'chi_square','severity_thresholds':"
       "{'warning':0.2,'alert':0.4}}"),
   {ITC "categorical_feature_drift.severity_thresholds: expected warning >= alert",
    "categorical_feature_drift (statistic chi_square) are worse when lower"}},
  {BIN, NULL,
   IND("'categorical_feature_drift':{'severity_thresholds':{'warning':0.01,'alert':0.001}}"),
   {"expected warning <= alert", "(statistic psi) are worse when higher"}},
  {BIN, NULL, IND("'accuracy':{'exclude_columns':'a'}"),
   {ITC "accuracy.exclude_columns: expected an array of column names", "got a string"}},
  {BIN, NULL, IND("'accuracy':{'exclude_columns':[1]}"),
   {ITC "accuracy.exclude_columns[0]: expected a column name", "got an integer"}},
  /* options */
  {BIN, NULL, IND("'numeric_feature_drift':{'statistic':'kl'}"),
   {ITC "numeric_feature_drift.statistic: unknown statistic 'kl'",
    "expected one of: psi, ks, jensen_shannon, wasserstein"}},
  {BIN, NULL, IND("'numeric_feature_drift':{'statistic':1}"),
   {"numeric_feature_drift.statistic: unknown statistic 1", "expected one of: psi, ks"}},
  {BIN, NULL, IND("'numeric_feature_drift':{'statistic':'chi_square'}"),
   {ITC "numeric_feature_drift.statistic: statistic 'chi_square' does not apply to "
    "numeric_feature_drift",
    "chi_square applies to categorical columns only",
    "expected one of: psi, ks, jensen_shannon, wasserstein"}},
  {BIN, NULL, IND("'categorical_feature_drift':{'statistic':'ks'}"),
   {ITC "categorical_feature_drift.statistic: statistic 'ks' does not apply to "
    "categorical_feature_drift",
    "ks applies to numeric columns only", "expected one of: psi, jensen_shannon, chi_square"}},
  {BIN, NULL, IND("'categorical_feature_drift':{'statistic':'wasserstein'}"),
   {"statistic 'wasserstein' does not apply", "wasserstein applies to numeric columns only"}},
  {BIN, NULL, IND("'label_drift':{'statistic':'energy'}"),
   {ITC "label_drift.statistic: unknown statistic 'energy'",
    "expected one of: psi, ks, jensen_shannon, wasserstein, chi_square"}},
  {BIN, NULL, IND("'numeric_feature_drift':{'num_bins':1}"),
   {ITC "numeric_feature_drift.num_bins: expected an integer from 2 to 100", "got 1"}},
  {BIN, NULL, IND("'subset_accuracy':{'num_bins':101}"),
   {ITC "subset_accuracy.num_bins: expected an integer from 2 to 100", "got 101"}},
  {BIN, NULL, IND("'subset_accuracy':{'num_bins':2.5}"),
   {"subset_accuracy.num_bins: expected an integer from 2 to 100", "got 2.5"}},
  {BIN, NULL, IND("'subset_accuracy':{'num_bins':'10'}"),
   {"subset_accuracy.num_bins: expected an integer from 2 to 100", "got '10'"}},
  {BIN, NULL, IND("'subset_accuracy_degradation':{'min_sample_size':0}"),
   {ITC "subset_accuracy_degradation.min_sample_size: expected an integer >= 1", "got 0"}},
  {BIN, NULL, IND("'subset_accuracy':{'min_sample_size':-3}"),
   {"subset_accuracy.min_sample_size: expected an integer >= 1", "got -3"}},
  {BIN, NULL, IND("'rare_categories':{'rare_threshold':0}"),
   {ITC "rare_categories.rare_threshold: expected a number between 0 and 1 (both excluded)",
    "got 0"}},
  {BIN, NULL, IND("'rare_categories':{'rare_threshold':1}"),
   {"rare_threshold: expected a number between 0 and 1 (both excluded)", "got 1"}},
  {BIN, NULL, IND("'rare_categories':{'rare_threshold':'0.1'}"),
   {"rare_threshold: expected a number between 0 and 1", "got '0.1'"}},
  /* individual config of a test whose category is not run is still checked */
  {BIN, NULL,
   ",'categories':['TEST_CATEGORY_TYPE_DRIFT']" IND(
     "'accuracy':{'severity_thresholds':{'warning':0.5,'alert':0.1}}"),
   {ITC "accuracy.severity_thresholds: expected warning <= alert"}},
  /* run_time_info */
  {BIN, NULL, ",'run_time_info':7", {"test_run_config.run_time_info: expected an object",
                                     "got an integer"}},
  {BIN, NULL, ",'run_time_info':{'seed':1}",
   {"test_run_config.run_time_info: unknown key 'seed'",
    "expected: random_seed, explicit_errors, resource_request"}},
  {BIN, NULL, ",'run_time_info':{'random_seed':1.5}",
   {"test_run_config.run_time_info.random_seed: expected an integer", "got 1.5"}},
  {BIN, NULL, ",'run_time_info':{'random_seed':'42'}",
   {"test_run_config.run_time_info.random_seed: expected an integer", "got '42'"}},
  {BIN, NULL, ",'run_time_info':{'explicit_errors':'yes'}",
   {"test_run_config.run_time_info.explicit_errors: expected a boolean", "got a string"}},
  {BIN, NULL, ",'run_time_info':{'resource_request':[]}",
   {"test_run_config.run_time_info.resource_request: expected an object", "got an array"}},
  /* model tasks without stress tests */
  {"MODEL_TASK_RANKING", NULL, "",
   {"stress tests are for models of task MODEL_TASK_BINARY_CLASSIFICATION, "
    "MODEL_TASK_MULTICLASS_CLASSIFICATION, MODEL_TASK_REGRESSION",
    "the model's task is 'MODEL_TASK_RANKING'"}},
  {NULL, NULL, "", {"stress tests are for models of task", "the model's task is unknown"}},
};

static void errors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof ecases / sizeof ecases[0]; i++) {
    const ecase *c = &ecases[i];
    json_t *config = c->config ? parse(c->config) : config_with(c->extra);
    json_t *out = (json_t *)0x1;
    int rc = test_config_normalize(config, c->task, NULL, &out);
    if (rc != ASSAY_ERR_CONFIG)
      fail_msg("case %zu (%s): expected ASSAY_ERR_CONFIG, got %d", i,
               c->config ? c->config : c->extra, rc);
    assert_null(out);
    const char *msg = assay_error_last()->message;
    if (getenv("ASSAY_TEST_SHOW_MESSAGES")) printf("%s\n", msg);
    for (size_t k = 0; k < 5 && c->frags[k]; k++) assert_has(msg, c->frags[k]);
    json_decref(config);
  }
  /* nothing at all */
  json_t *out = NULL;
  assert_int_equal(test_config_normalize(NULL, BIN, NULL, &out), ASSAY_ERR_CONFIG);
  assert_has(assay_error_last()->message, "test_run_config: expected an object");
  assert_has(assay_error_last()->message, "got nothing");
}

/* run_name: up to 200 characters (not bytes); 201 is too long. */
static void run_name_length(void **state) {
  (void)state;
  char name[1024] = "";
  for (int i = 0; i < 200; i++) strcat(name, "\xc3\xa9"); /* é: 2 bytes, 1 character */
  json_t *c = config_with(""), *out = NULL;
  json_object_set_new(c, "run_name", json_string(name));
  assert_int_equal(test_config_normalize(c, BIN, NULL, &out), ASSAY_OK);
  assert_string_equal(str(out, "run_name"), name);
  json_decref(out);
  strcat(name, "x");
  json_object_set_new(c, "run_name", json_string(name));
  assert_int_equal(test_config_normalize(c, BIN, NULL, &out), ASSAY_ERR_CONFIG);
  assert_has(assay_error_last()->message, "got 201 characters");
  json_decref(c);
}

/* run_name is one line of text: control characters (C0 with tabs and line
 * breaks, DEL, C1, NUL) and names of only spaces are refused; other
 * characters (U+00A0, é, bidi marks left to the printers) are kept. */
static void run_name_text(void **state) {
  (void)state;
  static const struct {
    const char *name;
    size_t len;
    const char *frag;
  } bad[] = {
    {"\x1b]0;owned\x07", 11, "control character U+001B at byte 0"},
    {"red \x1b[31m", 10, "control character U+001B at byte 4"},
    {"two\nlines", 9, "control character U+000A at byte 3"},
    {"tab\there", 8, "control character U+0009 at byte 3"},
    {"cr\r", 3, "control character U+000D at byte 2"},
    {"del\x7f", 4, "control character U+007F at byte 3"},
    {"csi \xc2\x9b" "31m", 9, "control character U+009B at byte 4"},
    {"c1 \xc2\x80", 5, "control character U+0080 at byte 3"},
    {"nul\0x", 5, "control character U+0000 at byte 3"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *c = config_with(""), *out = (json_t *)0x1;
    json_object_set_new(c, "run_name", json_stringn(bad[i].name, bad[i].len));
    if (test_config_normalize(c, BIN, NULL, &out) != ASSAY_ERR_CONFIG)
      fail_msg("run name %zu was accepted", i);
    assert_null(out);
    const char *msg = assay_error_last()->message;
    assert_has(msg, "test_run_config.run_name: expected one line of text without control "
                    "characters");
    assert_has(msg, bad[i].frag);
    assert_null(strchr(msg, '\x1b'));
    json_decref(c);
  }
  json_t *c = config_with(""), *out = NULL;
  json_object_set_new(c, "run_name", json_string("   "));
  assert_int_equal(test_config_normalize(c, BIN, NULL, &out), ASSAY_ERR_CONFIG);
  assert_has(assay_error_last()->message, "test_run_config.run_name: expected a name, not only "
                                          "spaces; got 3 spaces");
  static const char *const good[] = {"nightly \xc2\xa0run", "caf\xc3\xa9 \xe2\x80\x8f #2",
                                     " padded ", "a"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    json_object_set_new(c, "run_name", json_string(good[i]));
    if (test_config_normalize(c, BIN, NULL, &out) != ASSAY_OK)
      fail_msg("run name '%s' refused: %s", good[i], assay_error_last()->message);
    assert_string_equal(str(out, "run_name"), good[i]);
    json_decref(out);
  }
  json_decref(c);
}

static double secs_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* n names "c<k>" with k = (i * 7919) % distinct: every one of `distinct`
 * names, repeated, in a scrambled order. */
static json_t *names_list(size_t n, size_t distinct) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "c%zu", (i * 7919) % distinct);
    json_array_append_new(a, json_string(name));
  }
  return a;
}

/* The first occurrences of v's strings, in order (quadratic: a reference
 * for small lists). */
static json_t *first_occurrences(const json_t *v) {
  json_t *out = json_array();
  size_t i, j;
  json_t *e, *f;
  json_array_foreach(v, i, e) {
    int seen = 0;
    json_array_foreach(out, j, f) seen |= json_equal(e, f);
    if (!seen) json_array_append(out, e);
  }
  return out;
}

static json_t *with_global_exclude(json_t *names) {
  json_t *c = config_with("");
  json_object_set_new(c, "test_suite_config",
                      json_pack("{s:o}", "global_exclude_columns", names));
  return c;
}

/* Lists of column names: at most 10,000 names of at most 1024 bytes; a
 * list over the bound is refused at once (no quadratic work first), a list
 * at the bound — in every test's exclude_columns as well — normalises in
 * well under a second, duplicates dropped keeping the first of each in
 * order. */
static void column_lists(void **state) {
  (void)state;
  json_t *out = (json_t *)0x1;
  /* over the bound: 10,001 and the 120,000 of the security review */
  size_t over[] = {10001, 120000};
  for (size_t k = 0; k < 2; k++) {
    json_t *c = with_global_exclude(names_list(over[k], over[k]));
    double t0 = secs_now();
    assert_int_equal(test_config_normalize(c, BIN, NULL, &out), ASSAY_ERR_CONFIG);
    double dt = secs_now() - t0;
    assert_null(out);
    char want[160];
    snprintf(want, sizeof want,
             "test_run_config.test_suite_config.global_exclude_columns: expected at most 10000 "
             "column names; got %zu",
             over[k]);
    assert_has(assay_error_last()->message, want);
    if (dt > 0.5) fail_msg("refusing %zu names took %.3f s", over[k], dt);
    json_decref(c);
  }
  /* per test too */
  json_t *c = config_with(IND("'null_check':{}"));
  json_t *ind = json_object_get(json_object_get(json_object_get(c, "test_suite_config"),
                                                "individual_tests_config"),
                                "null_check");
  json_object_set_new(ind, "exclude_columns", names_list(10001, 10001));
  assert_int_equal(test_config_normalize(c, BIN, NULL, &out), ASSAY_ERR_CONFIG);
  assert_has(assay_error_last()->message,
             ITC "null_check.exclude_columns: expected at most 10000 column names; got 10001");
  json_decref(c);

  /* a name of 1024 bytes is fine, 1025 is not */
  char *name = malloc(1026);
  memset(name, 'x', 1025);
  name[1025] = '\0';
  c = with_global_exclude(json_pack("[s, s]", "ok", name));
  assert_int_equal(test_config_normalize(c, BIN, NULL, &out), ASSAY_ERR_CONFIG);
  assert_has(assay_error_last()->message,
             "test_run_config.test_suite_config.global_exclude_columns[1]: expected a column "
             "name of at most 1024 bytes; got 1025 bytes");
  json_decref(c);
  name[1024] = '\0';
  c = with_global_exclude(json_pack("[s, s]", "ok", name));
  assert_int_equal(test_config_normalize(c, BIN, NULL, &out), ASSAY_OK);
  assert_int_equal(json_array_size(json_object_get(out, "global_exclude_columns")), 2);
  json_decref(out);
  json_decref(c);
  free(name);

  /* duplicates: the first of each, in order, as a naive dedup gives; names
   * holding NUL bytes and prefixes of each other stay apart */
  json_t *small = json_array();
  const char *const raw[] = {"b", "a", "b", "ab", "a", "", "c"};
  for (size_t i = 0; i < 7; i++)
    if (*raw[i]) json_array_append_new(small, json_string(raw[i]));
  json_array_append_new(small, json_stringn("a\0x", 3));
  json_array_append_new(small, json_stringn("a\0y", 3));
  json_array_append_new(small, json_stringn("a\0x", 3));
  json_array_append_new(small, json_string("a"));
  json_t *scrambled = names_list(3000, 700);
  for (size_t i = 0; i < json_array_size(scrambled); i++)
    json_array_append(small, json_array_get(scrambled, i));
  json_decref(scrambled);
  json_t *want = first_occurrences(small);
  assert_int_equal(json_array_size(want), 4 + 2 + 700);
  c = with_global_exclude(small);
  assert_int_equal(test_config_normalize(c, BIN, NULL, &out), ASSAY_OK);
  assert_true(json_equal(json_object_get(out, "global_exclude_columns"), want));
  json_decref(want);
  json_decref(out);
  json_decref(c);

  /* at the bound, everywhere: the global list and every binary test's
   * list, 10,000 names each (half of them repeats) */
  c = with_global_exclude(names_list(10000, 5000));
  json_t *itc = json_object();
  for (const test_def *d = test_catalog; d->type; d++)
    if (d->tasks & TASK_BINARY)
      json_object_set_new(itc, d->type,
                          json_pack("{s:o}", "exclude_columns", names_list(10000, 5000)));
  json_object_set_new(json_object_get(c, "test_suite_config"), "individual_tests_config", itc);
  double t0 = secs_now();
  assert_int_equal(test_config_normalize(c, BIN, NULL, &out), ASSAY_OK);
  double dt = secs_now() - t0;
  if (dt > 2.0) fail_msg("normalising %zu lists of 10,000 names took %.3f s",
                         json_object_size(itc) + 1, dt);
  json_t *g = json_object_get(out, "global_exclude_columns");
  assert_int_equal(json_array_size(g), 5000);
  assert_string_equal(json_string_value(json_array_get(g, 0)), "c0");
  assert_string_equal(json_string_value(json_array_get(g, 1)), "c2919"); /* 7919 % 5000 */
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(out, "tests"), i, t)
    assert_int_equal(json_array_size(json_object_get(t, "exclude_columns")), 5000);
  json_decref(out);
  json_decref(c);
}

/* individual_tests_config holds at most one entry per catalogue test. */
static void individual_tests_bound(void **state) {
  (void)state;
  size_t n = 0;
  for (const test_def *d = test_catalog; d->type; d++) n++;
  json_t *c = config_with(""), *itc = json_object(), *out = (json_t *)0x1;
  for (size_t i = 0; i <= n; i++) {
    char key[32];
    snprintf(key, sizeof key, "t%zu", i);
    json_object_set_new(itc, key, json_object());
  }
  json_object_set_new(c, "test_suite_config", json_pack("{s:o}", "individual_tests_config", itc));
  assert_int_equal(test_config_normalize(c, BIN, NULL, &out), ASSAY_ERR_CONFIG);
  assert_null(out);
  char want[160];
  snprintf(want, sizeof want,
           "test_run_config.test_suite_config.individual_tests_config: expected at most %zu "
           "entries (one per test type); got %zu",
           n, n + 1);
  assert_has(assay_error_last()->message, want);
  json_decref(c);
}

/* Project categories that are not valid are named as such. */
static void bad_project_categories(void **state) {
  (void)state;
  json_t *c = config_with(""), *cats = parse("['TEST_CATEGORY_TYPE_X']"), *out = NULL;
  assert_int_equal(test_config_normalize(c, BIN, cats, &out), ASSAY_ERR_CONFIG);
  assert_has(assay_error_last()->message,
             "the project's stress_test_categories[0]: unknown test category");
  json_decref(cats);
  json_decref(c);
}

/* --- normalized output ------------------------------------------------------------------ */

/* Every catalogue test of the task, in catalogue order, with the catalogue's
 * thresholds and the option defaults. */
static void check_defaults(const char *task) {
  json_t *out = normalized(task, "");
  int bit = test_task_bit(task);
  assert_string_equal(str(out, "run_name"), "run 1");
  assert_string_equal(str(out, "model_id"), "m1");
  assert_string_equal(str(out, "ref_dataset_id"), "d1");
  assert_string_equal(str(out, "eval_dataset_id"), "d2");
  assert_string_equal(str(out, "model_task"), task);
  assert_string_equal(str(out, "sensitivity"), "TEST_SENSITIVITY_DEFAULT");
  assert_true(json_is_integer(json_object_get(out, "random_seed")));
  assert_int_equal(json_integer_value(json_object_get(out, "random_seed")), 0);
  assert_true(json_is_false(json_object_get(out, "explicit_errors")));
  assert_int_equal(json_array_size(json_object_get(out, "global_exclude_columns")), 0);
  assert_int_equal(json_array_size(json_object_get(out, "skipped_categories")), 0);
  assert_null(json_object_get(out, "profiling_config"));
  json_t *cats = json_object_get(out, "categories");
  assert_int_equal(json_array_size(cats), 6);
  for (size_t i = 0; i < 6; i++)
    assert_string_equal(json_string_value(json_array_get(cats, i)), cat_names[i]);
  json_t *tests = json_object_get(out, "tests");
  size_t k = 0;
  for (size_t i = 0; i < N_EXPECTED; i++) {
    const expect_def *x = &expected[i];
    if (!(x->tasks & bit)) continue;
    json_t *t = json_array_get(tests, k++);
    assert_non_null(t);
    assert_string_equal(str(t, "test_type"), x->type);
    assert_string_equal(str(t, "category"), cat_names[x->cat]);
    assert_true(json_is_true(json_object_get(t, "run")));
    assert_true(num(t, "warning") == x->warning);
    assert_true(num(t, "alert") == x->alert);
    assert_string_equal(str(t, "direction"), x->dir == THRESH_LOWER ? "lower" : "upper");
    assert_true(json_is_array(json_object_get(t, "exclude_columns")));
    assert_int_equal(json_array_size(json_object_get(t, "exclude_columns")), 0);
    /* the options of the test, with their defaults, and no others */
    size_t keys = 7; /* test_type category run warning alert direction exclude_columns */
    if (strstr(x->options, "statistic")) {
      assert_string_equal(str(t, "statistic"), "psi");
      keys++;
    }
    if (strstr(x->options, "num_bins")) {
      assert_true(json_is_integer(json_object_get(t, "num_bins")));
      assert_int_equal(json_integer_value(json_object_get(t, "num_bins")), 10);
      keys++;
    }
    if (strstr(x->options, "min_sample_size")) {
      assert_int_equal(json_integer_value(json_object_get(t, "min_sample_size")), 20);
      keys++;
    }
    if (strstr(x->options, "rare_threshold")) {
      assert_true(num(t, "rare_threshold") == 0.001);
      keys++;
    }
    assert_int_equal(json_object_size(t), keys);
  }
  assert_int_equal(json_array_size(tests), k);
  json_decref(out);
}

static void defaults_per_task(void **state) {
  (void)state;
  check_defaults(BIN);
  check_defaults(MUL);
  check_defaults(REG);
  /* the task lists, spelled out */
  json_t *out = normalized(MUL, "");
  char list[2048] = "";
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(out, "tests"), i, t) {
    strcat(list, str(t, "test_type"));
    strcat(list, " ");
  }
  assert_string_equal(list,
                      "log_loss multiclass_accuracy macro_f1 macro_precision macro_recall "
                      "multiclass_auc average_confidence subset_multiclass_accuracy "
                      "subset_macro_f1 subset_multiclass_accuracy_degradation "
                      "subset_macro_f1_degradation numeric_feature_drift "
                      "categorical_feature_drift label_drift predicted_label_drift "
                      "nulls_per_feature_drift numeric_outliers out_of_range unseen_categories "
                      "rare_categories null_check empty_strings type_mismatch capitalization "
                      "label_imbalance duplicate_rows feature_leakage high_feature_correlation ");
  json_decref(out);
  /* nulls for optional keys are defaults */
  out = normalized(REG, ",'categories':null,'profiling_config':null,'test_suite_config':null,"
                        "'run_time_info':{'random_seed':null}");
  assert_int_equal(json_array_size(json_object_get(out, "categories")), 6);
  assert_null(entry(out, "label_imbalance"));
  assert_non_null(entry(out, "rank_correlation"));
  json_decref(out);
  /* out may be NULL: validation only */
  json_t *c = config_with("");
  assert_int_equal(test_config_normalize(c, BIN, NULL, NULL), ASSAY_OK);
  json_decref(c);
}

static void run_time_and_profiling(void **state) {
  (void)state;
  json_t *out = normalized(BIN, ",'profiling_config':{'num_quantiles':5},'run_time_info':"
                                "{'random_seed':42,'explicit_errors':true,"
                                "'resource_request':{'cpu':2}}");
  assert_int_equal(json_integer_value(json_object_get(out, "random_seed")), 42);
  assert_true(json_is_true(json_object_get(out, "explicit_errors")));
  json_t *want = parse("{'num_quantiles':5}");
  assert_true(json_equal(json_object_get(out, "profiling_config"), want));
  json_decref(want);
  assert_null(json_object_get(out, "resource_request"));
  json_decref(out);
  /* a seed as a real with an integral value (Lua numbers) */
  out = normalized(BIN, ",'run_time_info':{'random_seed':7.0}");
  assert_true(json_is_integer(json_object_get(out, "random_seed")));
  assert_int_equal(json_integer_value(json_object_get(out, "random_seed")), 7);
  json_decref(out);
  out = normalized(BIN, ",'run_time_info':{'random_seed':-3}");
  assert_int_equal(json_integer_value(json_object_get(out, "random_seed")), -3);
  json_decref(out);
}

static void sensitivity_shift(void **state) {
  (void)state;
  json_t *less = normalized(
    BIN, ",'test_suite_config':{'global_test_sensitivity':'TEST_SENSITIVITY_LESS_SENSITIVE'}");
  json_t *more = normalized(
    BIN, ",'test_suite_config':{'global_test_sensitivity':'TEST_SENSITIVITY_MORE_SENSITIVE'}");
  assert_string_equal(str(less, "sensitivity"), "TEST_SENSITIVITY_LESS_SENSITIVE");
  assert_string_equal(str(more, "sensitivity"), "TEST_SENSITIVITY_MORE_SENSITIVE");
  /* upper: multiplied (rounded to 12 significant digits: exactly 0.075) */
  assert_true(num(entry(less, "accuracy"), "warning") == 0.075);
  assert_true(num(entry(less, "accuracy"), "alert") == 0.15);
  assert_true(num(entry(less, "numeric_feature_drift"), "warning") == 0.3);
  assert_true(num(entry(less, "numeric_feature_drift"), "alert") == 0.6);
  assert_true(fabs(num(entry(more, "accuracy"), "warning") - 0.05 * 2 / 3) < 1e-12);
  assert_true(fabs(num(entry(more, "high_feature_correlation"), "alert") - 0.95 * 2 / 3) < 1e-12);
  /* lower: divided */
  assert_true(fabs(num(entry(less, "label_imbalance"), "warning") - 0.05 / 1.5) < 1e-12);
  assert_true(fabs(num(entry(less, "label_imbalance"), "alert") - 0.01 / 1.5) < 1e-12);
  assert_true(num(entry(more, "label_imbalance"), "warning") == 0.075);
  assert_true(num(entry(more, "label_imbalance"), "alert") == 0.015);
  /* every test of both: the shift in its direction, order kept */
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(less, "tests"), i, t) {
    const test_def *d = test_def_find(str(t, "test_type"));
    double f = d->dir == THRESH_LOWER ? 1 / 1.5 : 1.5;
    assert_true(fabs(num(t, "warning") - d->warning * f) < 1e-12);
    assert_true(fabs(num(t, "alert") - d->alert * f) < 1e-12);
  }
  json_decref(less);
  json_decref(more);
  /* a drift test's statistic thresholds shift in the statistic's direction */
  json_t *out = normalized(BIN, ",'test_suite_config':{'global_test_sensitivity':"
                                "'TEST_SENSITIVITY_MORE_SENSITIVE','individual_tests_config':{"
                                "'categorical_feature_drift':{'statistic':'chi_square'},"
                                "'numeric_feature_drift':{'statistic':'ks'}}}");
  t = entry(out, "categorical_feature_drift");
  assert_string_equal(str(t, "direction"), "lower");
  assert_true(num(t, "warning") == 0.075);
  assert_true(num(t, "alert") == 0.0015);
  t = entry(out, "numeric_feature_drift");
  assert_true(fabs(num(t, "warning") - 0.1 * 2 / 3) < 1e-12);
  json_decref(out);
}

static void overrides(void **state) {
  (void)state;
  json_t *out = normalized(
    BIN, ",'test_suite_config':{'global_test_sensitivity':'TEST_SENSITIVITY_LESS_SENSITIVE',"
         "'global_exclude_columns':['id','ts','id'],"
         "'custom_tests':[],"
         "'individual_tests_config':{"
         "'accuracy':{'run':false,'severity_thresholds':{'warning':0.02,'alert':0.03}},"
         "'auc':{'severity_thresholds':{'alert':0.5}},"
         "'f1':{'severity_thresholds':{'warning':0.01}},"
         "'recall':{'severity_thresholds':{'warning':0.1,'alert':0.1}},"
         "'precision':{'severity_thresholds':{'warning':-1,'alert':2}},"
         "'label_imbalance':{'severity_thresholds':{'warning':0.2,'alert':0.1}},"
         "'numeric_outliers':{'exclude_columns':['a','b','a'],'run':true},"
         "'subset_accuracy':{'num_bins':4,'min_sample_size':100},"
         "'subset_auc_degradation':{'num_bins':100.0,'min_sample_size':1},"
         "'rare_categories':{'rare_threshold':0.05},"
         "'duplicate_rows':null}}");
  json_t *want = parse("['id','ts']");
  assert_true(json_equal(json_object_get(out, "global_exclude_columns"), want));
  json_decref(want);
  json_t *t = entry(out, "accuracy");
  assert_true(json_is_false(json_object_get(t, "run")));
  /* given thresholds are not shifted */
  assert_true(num(t, "warning") == 0.02);
  assert_true(num(t, "alert") == 0.03);
  t = entry(out, "auc"); /* only alert given: warning is the shifted default */
  assert_true(num(t, "warning") == 0.075);
  assert_true(num(t, "alert") == 0.5);
  t = entry(out, "f1");
  assert_true(num(t, "warning") == 0.01);
  assert_true(num(t, "alert") == 0.15);
  t = entry(out, "recall"); /* equal thresholds are allowed */
  assert_true(num(t, "warning") == 0.1 && num(t, "alert") == 0.1);
  t = entry(out, "precision");
  assert_true(num(t, "warning") == -1 && num(t, "alert") == 2);
  t = entry(out, "label_imbalance");
  assert_true(num(t, "warning") == 0.2 && num(t, "alert") == 0.1);
  assert_string_equal(str(t, "direction"), "lower");
  t = entry(out, "numeric_outliers");
  want = parse("['a','b']");
  assert_true(json_equal(json_object_get(t, "exclude_columns"), want));
  json_decref(want);
  assert_true(json_is_true(json_object_get(t, "run")));
  /* the others keep theirs */
  assert_int_equal(json_array_size(json_object_get(entry(out, "null_check"), "exclude_columns")),
                   0);
  t = entry(out, "subset_accuracy");
  assert_int_equal(json_integer_value(json_object_get(t, "num_bins")), 4);
  assert_int_equal(json_integer_value(json_object_get(t, "min_sample_size")), 100);
  t = entry(out, "subset_auc_degradation");
  assert_true(json_is_integer(json_object_get(t, "num_bins")));
  assert_int_equal(json_integer_value(json_object_get(t, "num_bins")), 100);
  assert_int_equal(json_integer_value(json_object_get(t, "min_sample_size")), 1);
  assert_int_equal(json_integer_value(json_object_get(entry(out, "subset_f1"), "num_bins")), 10);
  assert_true(num(entry(out, "rare_categories"), "rare_threshold") == 0.05);
  assert_true(json_is_true(json_object_get(entry(out, "duplicate_rows"), "run")));
  json_decref(out);
}

static void drift_statistic_option(void **state) {
  (void)state;
  json_t *out = normalized(
    BIN, IND("'numeric_feature_drift':{'statistic':'wasserstein','num_bins':20},"
             "'categorical_feature_drift':{'statistic':'jensen_shannon'},"
             "'label_drift':{'statistic':'ks'},"
             "'prediction_drift':{'statistic':'ks'},"
             "'predicted_label_drift':{'statistic':'chi_square'}"));
  json_t *t = entry(out, "numeric_feature_drift");
  assert_string_equal(str(t, "statistic"), "wasserstein");
  assert_true(num(t, "warning") == 0.1 && num(t, "alert") == 0.2);
  assert_int_equal(json_integer_value(json_object_get(t, "num_bins")), 20);
  t = entry(out, "categorical_feature_drift");
  assert_string_equal(str(t, "statistic"), "jensen_shannon");
  assert_true(num(t, "warning") == 0.1 && num(t, "alert") == 0.2);
  /* binary labels are classes: ks does not apply, psi is used */
  t = entry(out, "label_drift");
  assert_string_equal(str(t, "statistic"), "psi");
  assert_string_equal(str(t, "statistic_requested"), "ks");
  assert_true(num(t, "warning") == 0.2 && num(t, "alert") == 0.4);
  /* binary scores are numbers: ks applies */
  t = entry(out, "prediction_drift");
  assert_string_equal(str(t, "statistic"), "ks");
  assert_null(json_object_get(t, "statistic_requested"));
  assert_true(num(t, "warning") == 0.1 && num(t, "alert") == 0.2);
  t = entry(out, "predicted_label_drift");
  assert_string_equal(str(t, "statistic"), "chi_square");
  assert_string_equal(str(t, "direction"), "lower");
  assert_true(num(t, "warning") == 0.05 && num(t, "alert") == 0.001);
  json_decref(out);

  /* regression labels and predictions are numbers */
  out = normalized(REG, IND("'label_drift':{'statistic':'ks'},"
                            "'prediction_drift':{'statistic':'chi_square'}"));
  assert_string_equal(str(entry(out, "label_drift"), "statistic"), "ks");
  t = entry(out, "prediction_drift");
  assert_string_equal(str(t, "statistic"), "psi");
  assert_string_equal(str(t, "statistic_requested"), "chi_square");
  assert_string_equal(str(t, "direction"), "upper");
  json_decref(out);
  /* multiclass labels: chi_square applies */
  out = normalized(MUL, IND("'label_drift':{'statistic':'chi_square'}"));
  assert_string_equal(str(entry(out, "label_drift"), "statistic"), "chi_square");
  json_decref(out);
  /* severity_thresholds apply to the statistic used */
  out = normalized(BIN, IND("'categorical_feature_drift':{'statistic':'chi_square',"
                            "'severity_thresholds':{'warning':0.1,'alert':0.01}}"));
  t = entry(out, "categorical_feature_drift");
  assert_true(num(t, "warning") == 0.1 && num(t, "alert") == 0.01);
  assert_string_equal(str(t, "direction"), "lower");
  json_decref(out);
}

static void categories(void **state) {
  (void)state;
  /* listed in any order; run in catalogue order; only their tests */
  json_t *out = normalized(
    BIN, ",'categories':['TEST_CATEGORY_TYPE_ADVERSARIAL','TEST_CATEGORY_TYPE_DATA_CLEANLINESS',"
         "'TEST_CATEGORY_TYPE_MODEL_PERFORMANCE','TEST_CATEGORY_TYPE_TRANSFORMATIONS']" IND(
           "'numeric_feature_drift':{'statistic':'ks'},'subset_auc':{'num_bins':3}"));
  json_t *want = parse("['TEST_CATEGORY_TYPE_MODEL_PERFORMANCE',"
                       "'TEST_CATEGORY_TYPE_DATA_CLEANLINESS']");
  assert_true(json_equal(json_object_get(out, "categories"), want));
  json_decref(want);
  json_t *sk = json_object_get(out, "skipped_categories");
  assert_int_equal(json_array_size(sk), 2);
  assert_string_equal(str(json_array_get(sk, 0), "category"), "TEST_CATEGORY_TYPE_TRANSFORMATIONS");
  assert_string_equal(str(json_array_get(sk, 1), "category"), "TEST_CATEGORY_TYPE_ADVERSARIAL");
  assert_has(str(json_array_get(sk, 0), "reason"), "does not run");
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(out, "tests"), i, t) {
    const char *cat = str(t, "category");
    assert_true(strcmp(cat, CAT_MODEL_PERFORMANCE) == 0 || strcmp(cat, CAT_DATA_CLEANLINESS) == 0);
  }
  assert_string_equal(str(json_array_get(json_object_get(out, "tests"), 0), "test_type"),
                      "accuracy");
  assert_non_null(entry(out, "label_imbalance"));
  assert_null(entry(out, "numeric_feature_drift")); /* its config: accepted, no effect */
  json_decref(out);

  /* only known categories this version does not run */
  out = normalized(REG, ",'categories':['TEST_CATEGORY_TYPE_CUSTOM',"
                        "'TEST_CATEGORY_TYPE_BIAS_AND_FAIRNESS']");
  assert_int_equal(json_array_size(json_object_get(out, "categories")), 0);
  assert_int_equal(json_array_size(json_object_get(out, "tests")), 0);
  sk = json_object_get(out, "skipped_categories");
  assert_int_equal(json_array_size(sk), 2);
  assert_string_equal(str(json_array_get(sk, 0), "category"),
                      "TEST_CATEGORY_TYPE_BIAS_AND_FAIRNESS");
  assert_string_equal(str(json_array_get(sk, 1), "category"), "TEST_CATEGORY_TYPE_CUSTOM");
  json_decref(out);

  /* the project's categories when the config has none; the config's win */
  json_t *proj = parse("['TEST_CATEGORY_TYPE_DRIFT','TEST_CATEGORY_TYPE_ADVERSARIAL']");
  json_t *c = config_with("");
  assert_int_equal(test_config_normalize(c, MUL, proj, &out), ASSAY_OK);
  want = parse("['TEST_CATEGORY_TYPE_DRIFT']");
  assert_true(json_equal(json_object_get(out, "categories"), want));
  json_decref(want);
  assert_int_equal(json_array_size(json_object_get(out, "skipped_categories")), 1);
  assert_int_equal(json_array_size(json_object_get(out, "tests")), 5);
  json_decref(out);
  json_decref(c);
  c = config_with(",'categories':['TEST_CATEGORY_TYPE_ABNORMAL_INPUTS']");
  assert_int_equal(test_config_normalize(c, MUL, proj, &out), ASSAY_OK);
  assert_int_equal(json_array_size(json_object_get(out, "tests")), 8);
  assert_int_equal(json_array_size(json_object_get(out, "skipped_categories")), 0);
  json_decref(out);
  json_decref(c);
  json_t *jnull = json_null();
  c = config_with("");
  assert_int_equal(test_config_normalize(c, MUL, jnull, &out), ASSAY_OK);
  assert_int_equal(json_array_size(json_object_get(out, "categories")), 6);
  json_decref(out);
  json_decref(c);
  json_decref(jnull);
  json_decref(proj);
}

static void project_categories(void **state) {
  (void)state;
  json_t *d = test_default_categories();
  assert_int_equal(json_array_size(d), 6);
  for (size_t i = 0; i < 6; i++)
    assert_string_equal(json_string_value(json_array_get(d, i)), cat_names[i]);
  json_t *out = NULL;
  assert_int_equal(test_categories_normalize(d, &out), ASSAY_OK);
  assert_true(json_equal(out, d));
  assert_true(out != d);
  json_decref(out);
  json_decref(d);

  json_t *c = parse("['TEST_CATEGORY_TYPE_CUSTOM','TEST_CATEGORY_TYPE_DRIFT']");
  assert_int_equal(test_categories_normalize(c, &out), ASSAY_OK);
  assert_true(json_equal(out, c)); /* kept as given */
  json_decref(out);
  assert_int_equal(test_categories_normalize(c, NULL), ASSAY_OK);
  json_decref(c);

  static const struct {
    const char *v;
    const char *frags[3];
  } bad[] = {
    {"{}", {"categories: expected an array of test categories", "got an object"}},
    {"[]", {"categories: expected at least one test category", "got []"}},
    {"['TEST_CATEGORY_TYPE_DRIFT','drift']",
     {"categories[1]: unknown test category 'drift'",
      "expected one of: TEST_CATEGORY_TYPE_MODEL_PERFORMANCE",
      "TEST_CATEGORY_TYPE_EVASION_ATTACK_DETECTION, TEST_CATEGORY_TYPE_CUSTOM"}},
    {"[null]", {"categories[0]: unknown test category null"}},
    {"['TEST_CATEGORY_TYPE_CUSTOM','TEST_CATEGORY_TYPE_CUSTOM']",
     {"categories[1]: category 'TEST_CATEGORY_TYPE_CUSTOM' is listed twice"}},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *v = parse(bad[i].v);
    out = (json_t *)0x1;
    assert_int_equal(test_categories_normalize(v, &out), ASSAY_ERR_CONFIG);
    assert_null(out);
    for (size_t k = 0; k < 3 && bad[i].frags[k]; k++)
      assert_has(assay_error_last()->message, bad[i].frags[k]);
    json_decref(v);
  }
  assert_int_equal(test_categories_normalize(NULL, &out), ASSAY_ERR_CONFIG);
  assert_has(assay_error_last()->message, "got nothing");
}

/* --- severity and importance ----------------------------------------------------------------- */

static json_t *thresholds(double w, double a, const char *dir) {
  return json_pack("{s:f, s:f, s:s}", "warning", w, "alert", a, "direction", dir);
}

static void severity_upper(void **state) {
  (void)state;
  json_t *t = thresholds(0.05, 0.10, "upper");
  assert_int_equal(test_severity(t, 0.0), SEVERITY_PASS);
  assert_int_equal(test_severity(t, -1.0), SEVERITY_PASS);
  assert_int_equal(test_severity(t, nextafter(0.05, 0)), SEVERITY_PASS);
  assert_int_equal(test_severity(t, 0.05), SEVERITY_WARNING);
  assert_int_equal(test_severity(t, nextafter(0.10, 0)), SEVERITY_WARNING);
  assert_int_equal(test_severity(t, 0.10), SEVERITY_ALERT);
  assert_int_equal(test_severity(t, 5.0), SEVERITY_ALERT);
  assert_int_equal(test_severity(t, INFINITY), SEVERITY_ALERT);
  assert_int_equal(test_severity(t, -INFINITY), SEVERITY_PASS);
  assert_int_equal(test_severity(t, NAN), SEVERITY_PASS);
  assert_true(test_importance(t, 0.0) == 0.0);
  assert_true(test_importance(t, -0.5) == 0.0);
  assert_true(fabs(test_importance(t, 0.05) - 0.5) < 1e-15);
  assert_true(fabs(test_importance(t, 0.025) - 0.25) < 1e-15);
  assert_true(test_importance(t, 0.10) == 1.0);
  assert_true(test_importance(t, 3.0) == 1.0);
  assert_true(test_importance(t, INFINITY) == 1.0);
  assert_true(test_importance(t, NAN) == 0.0);
  json_decref(t);
  /* alert 0: every value at or above it is an alert of importance 1 */
  t = thresholds(0.0, 0.0, "upper");
  assert_int_equal(test_severity(t, 0.0), SEVERITY_ALERT);
  assert_true(test_importance(t, 0.0) == 1.0);
  assert_true(test_importance(t, -0.1) == 0.0);
  json_decref(t);
  /* an entry without a direction is upper */
  t = json_pack("{s:f, s:f}", "warning", 1.0, "alert", 2.0);
  assert_int_equal(test_severity(t, 1.5), SEVERITY_WARNING);
  json_decref(t);
  assert_int_equal(test_severity(NULL, 1.0), SEVERITY_PASS);
  assert_true(test_importance(NULL, 1.0) == 0.0);
}

static void severity_lower(void **state) {
  (void)state;
  json_t *t = thresholds(0.05, 0.001, "lower");
  assert_int_equal(test_severity(t, 1.0), SEVERITY_PASS);
  assert_int_equal(test_severity(t, nextafter(0.05, 1)), SEVERITY_PASS);
  assert_int_equal(test_severity(t, 0.05), SEVERITY_WARNING);
  assert_int_equal(test_severity(t, nextafter(0.001, 1)), SEVERITY_WARNING);
  assert_int_equal(test_severity(t, 0.001), SEVERITY_ALERT);
  assert_int_equal(test_severity(t, 0.0), SEVERITY_ALERT);
  assert_int_equal(test_severity(t, -INFINITY), SEVERITY_ALERT);
  assert_int_equal(test_severity(t, NAN), SEVERITY_PASS);
  assert_true(test_importance(t, 1.0) == 0.0);
  assert_true(test_importance(t, 2.0) == 0.0);
  assert_true(fabs(test_importance(t, 0.5) - 0.5 / 0.999) < 1e-15);
  assert_true(test_importance(t, 0.001) == 1.0);
  assert_true(test_importance(t, 0.0) == 1.0);
  assert_true(test_importance(t, NAN) == 0.0);
  json_decref(t);
  /* label imbalance's defaults */
  t = thresholds(0.05, 0.01, "lower");
  assert_int_equal(test_severity(t, 0.3), SEVERITY_PASS);
  assert_int_equal(test_severity(t, 0.03), SEVERITY_WARNING);
  assert_int_equal(test_severity(t, 0.01), SEVERITY_ALERT);
  json_decref(t);
  /* alert >= 1 */
  t = thresholds(1.0, 1.0, "lower");
  assert_int_equal(test_severity(t, 1.0), SEVERITY_ALERT);
  assert_true(test_importance(t, 1.0) == 1.0);
  assert_true(test_importance(t, 1.5) == 0.0);
  json_decref(t);
}

/* Severity of normalized entries, shifted thresholds included: a value
 * equal to a shifted threshold reaches it. */
static void severity_of_normalized(void **state) {
  (void)state;
  json_t *out = normalized(
    BIN, ",'test_suite_config':{'global_test_sensitivity':'TEST_SENSITIVITY_LESS_SENSITIVE'}");
  json_t *t = entry(out, "accuracy");
  assert_int_equal(test_severity(t, 0.075), SEVERITY_WARNING);
  assert_int_equal(test_severity(t, 0.0749), SEVERITY_PASS);
  assert_int_equal(test_severity(t, 0.15), SEVERITY_ALERT);
  t = entry(out, "label_imbalance");
  assert_int_equal(test_severity(t, 0.04), SEVERITY_PASS);
  assert_int_equal(test_severity(t, 0.03), SEVERITY_WARNING);
  assert_int_equal(test_severity(t, 0.006), SEVERITY_ALERT);
  json_decref(out);
}

/* --- docs/tests.md ------------------------------------------------------------------------- */

static char *read_doc(void) {
  FILE *fp = fopen(ASSAY_SOURCE_DIR "/docs/tests.md", "rb");
  if (!fp) fail_msg("cannot open %s", ASSAY_SOURCE_DIR "/docs/tests.md");
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *text = malloc((size_t)n + 1);
  assert_non_null(text);
  assert_int_equal(fread(text, 1, (size_t)n, fp), (size_t)n);
  text[n] = '\0';
  fclose(fp);
  return text;
}

/* The section under the heading line that starts with `heading` (up to
 * the next heading of the same or a higher level), copied with line breaks
 * as spaces; NULL when absent. */
static char *section(const char *doc, const char *heading) {
  size_t hl = strlen(heading);
  const char *at = doc;
  while ((at = strstr(at, heading)) != NULL) {
    if ((at == doc || at[-1] == '\n') && (at[hl] == '\n' || at[hl] == ' ')) break;
    at += hl;
  }
  if (!at) return NULL;
  size_t level = strspn(heading, "#");
  const char *end = at + hl;
  while ((end = strchr(end, '\n')) != NULL) {
    end++;
    size_t l = strspn(end, "#");
    if (l >= 1 && l <= level && end[l] == ' ') break;
  }
  size_t len = end ? (size_t)(end - at) : strlen(at);
  char *text = strndup(at, len);
  assert_non_null(text);
  /* line breaks and runs of spaces as one space: prose wraps anywhere */
  char *w = text;
  for (const char *r = text; *r; r++) {
    char ch = *r == '\n' ? ' ' : *r;
    if (ch == ' ' && w > text && w[-1] == ' ') continue;
    *w++ = ch;
  }
  *w = '\0';
  return text;
}

static void docs_list_every_test(void **state) {
  (void)state;
  char *doc = read_doc();
  for (const test_def *d = test_catalog; d->type; d++) {
    char heading[160], want[160];
    snprintf(heading, sizeof heading, "### `%s`", d->type);
    char *s = section(doc, heading);
    if (!s) fail_msg("docs/tests.md has no section \"%s\"", heading);
    if (!strstr(s, d->name))
      fail_msg("%s: the name \"%s\" is not in its section", d->type, d->name);
    snprintf(want, sizeof want, "warning `%g`, alert `%g`", d->warning, d->alert);
    if (!strstr(s, want)) fail_msg("%s: its section lacks \"%s\"", d->type, want);
    const char *dir = d->dir == THRESH_LOWER ? "lower is worse" : "higher is worse";
    if (!strstr(s, dir)) fail_msg("%s: its section lacks \"%s\"", d->type, dir);
    for (const char *const *o = d->options; o && *o; o++) {
      snprintf(want, sizeof want, "`%s`", *o);
      if (!strstr(s, want)) fail_msg("%s: its section does not document option %s", d->type, *o);
    }
    if (d->needs_labels && !strstr(s, "labels"))
      fail_msg("%s: its section does not say it needs labels", d->type);
    if (d->needs_predictions && !strstr(s, "predictions"))
      fail_msg("%s: its section does not say it needs predictions", d->type);
    free(s);
  }
  for (const drift_stat_def *st = drift_stats; st->name; st++) {
    char heading[160], want[160];
    snprintf(heading, sizeof heading, "### Statistic `%s`", st->name);
    char *s = section(doc, heading);
    if (!s) fail_msg("docs/tests.md has no section \"%s\"", heading);
    snprintf(want, sizeof want, "warning `%g`, alert `%g`", st->warning, st->alert);
    if (!strstr(s, want)) fail_msg("statistic %s: its section lacks \"%s\"", st->name, want);
    const char *dir = st->dir == THRESH_LOWER ? "lower is worse" : "higher is worse";
    if (!strstr(s, dir)) fail_msg("statistic %s: its section lacks \"%s\"", st->name, dir);
    snprintf(want, sizeof want, "`%s`", st->metric);
    if (!strstr(s, want)) fail_msg("statistic %s: its section lacks its metric %s", st->name, want);
    free(s);
  }
  /* every category, sensitivity and severity is named */
  static const char *const names[] = {
    CAT_MODEL_PERFORMANCE, CAT_SUBSET_PERFORMANCE, CAT_SUBSET_DEGRADATION, CAT_DRIFT,
    CAT_ABNORMAL_INPUTS, CAT_DATA_CLEANLINESS, "TEST_CATEGORY_TYPE_TRANSFORMATIONS",
    "TEST_CATEGORY_TYPE_ADVERSARIAL", "TEST_CATEGORY_TYPE_BIAS_AND_FAIRNESS",
    "TEST_CATEGORY_TYPE_DATA_POISONING_DETECTION", "TEST_CATEGORY_TYPE_EVASION_ATTACK_DETECTION",
    "TEST_CATEGORY_TYPE_CUSTOM", "TEST_SENSITIVITY_LESS_SENSITIVE", "TEST_SENSITIVITY_DEFAULT",
    "TEST_SENSITIVITY_MORE_SENSITIVE", SEV_PASS, SEV_WARNING, SEV_ALERT, TC_PASS, TC_WARNING,
    TC_FAIL, TC_SKIP, "importance_score", "global_exclude_columns", "individual_tests_config",
    "severity_thresholds", "random_seed", NULL};
  for (const char *const *n = names; *n; n++)
    if (!strstr(doc, *n)) fail_msg("docs/tests.md does not mention %s", *n);
  free(doc);
}

/* The example config of docs/tests.md (the first ```json block after
 * "## Configuration") is valid. */
static void docs_example_is_valid(void **state) {
  (void)state;
  char *doc = read_doc();
  const char *cfg = strstr(doc, "## Configuration");
  assert_non_null(cfg);
  const char *start = strstr(cfg, "```json\n");
  assert_non_null(start);
  start += 8;
  const char *end = strstr(start, "\n```");
  assert_non_null(end);
  json_error_t e;
  json_t *c = json_loadb(start, (size_t)(end - start), 0, &e);
  if (!c) fail_msg("the example is not JSON: %s (line %d)", e.text, e.line);
  json_t *out = NULL;
  if (test_config_normalize(c, BIN, NULL, &out))
    fail_msg("the example is not valid: %s", assay_error_last()->message);
  json_decref(out);
  json_decref(c);
  free(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(catalogue_matches_contract),
    cmocka_unit_test(drift_statistics),
    cmocka_unit_test(names_and_factors),
    cmocka_unit_test(errors),
    cmocka_unit_test(run_name_length),
    cmocka_unit_test(run_name_text),
    cmocka_unit_test(column_lists),
    cmocka_unit_test(individual_tests_bound),
    cmocka_unit_test(bad_project_categories),
    cmocka_unit_test(defaults_per_task),
    cmocka_unit_test(run_time_and_profiling),
    cmocka_unit_test(sensitivity_shift),
    cmocka_unit_test(overrides),
    cmocka_unit_test(drift_statistic_option),
    cmocka_unit_test(categories),
    cmocka_unit_test(project_categories),
    cmocka_unit_test(severity_upper),
    cmocka_unit_test(severity_lower),
    cmocka_unit_test(severity_of_normalized),
    cmocka_unit_test(docs_list_every_test),
    cmocka_unit_test(docs_example_is_valid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
