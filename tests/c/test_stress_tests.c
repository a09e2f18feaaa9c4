/* test_stress_tests.c — the data-level stress tests (DRIFT, ABNORMAL_INPUTS,
 * DATA_CLEANLINESS) through stress_run on small frames built with
 * frame_from_json, with a config from test_config_normalize. Expected
 * values are worked by hand (or, where noted, taken from scipy on the same
 * numbers); edge cases: all-null and constant columns, a single row, an
 * evaluation that lacks a column, empty strings, capitalisation variants,
 * type mismatches, duplicates, thresholds and excluded columns; which
 * feature pairs high_feature_correlation reports on wide data (the cap,
 * the fill, the feature limit) and its batch metrics. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "assay/errors.h"
#include "config/test_config.h"
#include "engine/frame.h"
#include "engine/stress.h"
#include "engine/stress_internal.h"
#include "test_support.h"

#define BIN "MODEL_TASK_BINARY_CLASSIFICATION"
#define REG "MODEL_TASK_REGRESSION"
#define DRIFT "[\"TEST_CATEGORY_TYPE_DRIFT\"]"
#define ABNORMAL "[\"TEST_CATEGORY_TYPE_ABNORMAL_INPUTS\"]"
#define CLEAN "[\"TEST_CATEGORY_TYPE_DATA_CLEANLINESS\"]"
#define ALL3                                                                      \
  "[\"TEST_CATEGORY_TYPE_DRIFT\", \"TEST_CATEGORY_TYPE_ABNORMAL_INPUTS\", "       \
  "\"TEST_CATEGORY_TYPE_DATA_CLEANLINESS\"]"

/* Run the engine: task, reference and evaluation tables, data_params (for
 * both sides; NULL: none), categories, individual_tests_config (NULL:
 * none). Returns the document; *err the error code when expect_error. */
static json_t *run_ex(const char *task, const char *ref, const char *eval, const char *params,
                      const char *categories, const char *individual, int *err) {
  frame *r = test_frame_of(ref), *e = test_frame_of(eval);
  char *suite = NULL;
  if (asprintf(&suite, "{\"individual_tests_config\": %s}", individual ? individual : "{}") < 0)
    abort();
  json_t *norm = test_config_of(task, categories, suite);
  free(suite);
  json_t *p = params ? test_json_of(params) : NULL;
  stress_input in;
  memset(&in, 0, sizeof in);
  in.model_task = task;
  in.ref = r;
  in.eval = e;
  in.ref_params = p;
  in.eval_params = p;
  in.config = norm;
  in.threads = 2;
  json_t *doc = NULL;
  int rc = stress_run(&in, &doc);
  if (err) {
    *err = rc;
  } else {
    if (rc) fprintf(stderr, "stress_run: %s\n", assay_error_last()->message);
    assert_int_equal(rc, 0);
  }
  json_decref(p);
  json_decref(norm);
  frame_free(r);
  frame_free(e);
  return doc;
}

static json_t *run(const char *task, const char *ref, const char *eval, const char *params,
                   const char *categories, const char *individual) {
  return run_ex(task, ref, eval, params, categories, individual, NULL);
}

static json_t *cases(json_t *doc, const char *type) {
  return json_object_get(test_batch_of(doc, type), "test_cases");
}

static json_t *pair_case(json_t *doc, const char *a, const char *b) {
  size_t i;
  json_t *tc;
  json_array_foreach(cases(doc, "high_feature_correlation"), i, tc) {
    json_t *fs = json_object_get(tc, "features");
    if (strcmp(json_string_value(json_array_get(fs, 0)), a) == 0 &&
        strcmp(json_string_value(json_array_get(fs, 1)), b) == 0)
      return tc;
  }
  return NULL;
}

static double metric(json_t *tc, const char *name) {
  json_t *v = json_object_get(json_object_get(tc, "metrics"), name);
  if (!v) fail_msg("no metric %s in %s", name, json_dumps(tc, 0));
  return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The value a case is judged on: its catalogue metric. */
static double value(json_t *tc, const char *type) {
  const test_def *d = test_def_find(type);
  assert_non_null(d);
  return metric(tc, d->metric);
}

static const char *status(json_t *tc) { return json_string_value(json_object_get(tc, "status")); }
static const char *severity_of(json_t *tc) {
  return json_string_value(json_object_get(tc, "severity"));
}
static int has_case(json_t *doc, const char *type, const char *feature) {
  size_t i;
  json_t *tc;
  json_array_foreach(cases(doc, type), i, tc) {
    const char *f0 = json_string_value(json_array_get(json_object_get(tc, "features"), 0));
    if (f0 && strcmp(f0, feature) == 0) return 1;
  }
  return 0;
}

static void near(double a, double b, int line) {
  if (!(fabs(a - b) <= 1e-12 * (1 + fabs(b)))) fail_msg("line %d: %.17g != %.17g", line, a, b);
}
#define NEAR(a, b) near((a), (b), __LINE__)

/* --- DRIFT --------------------------------------------------------------------------------- */

#define X10 "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"
#define E10 "[1, 1, 1, 1, 1, 1, 1, 1, 9, 10]"

static void test_numeric_drift_psi(void **state) {
  (void)state;
  json_t *doc = run(BIN, "{\"x\": " X10 ", \"z\": " X10 "}", "{\"x\": " E10 ", \"z\": " X10 "}",
                    NULL, DRIFT, "{\"numeric_feature_drift\": {\"num_bins\": 2}}");
  json_t *tc = test_case_of(doc, "numeric_feature_drift", "x");
  /* edges {5.5}: reference 5 | 5, evaluation 8 | 2 */
  NEAR(metric(tc, "psi"), 0.3 * log(1.6) + 0.3 * log(2.5));
  assert_string_equal(severity_of(tc), SEV_ALERT);
  assert_int_equal((int)metric(tc, "ref_rows"), 10);
  json_t *d = json_object_get(tc, "details");
  assert_string_equal(json_string_value(json_object_get(d, "kind")), "numeric");
  assert_string_equal(json_string_value(json_array_get(json_object_get(d, "bins"), 0)),
                      "(-inf, 5.5]");
  assert_string_equal(json_string_value(json_array_get(json_object_get(d, "bins"), 1)),
                      "(5.5, inf)");
  NEAR(json_number_value(json_array_get(json_object_get(d, "evaluation"), 0)), 0.8);
  /* the unshifted column */
  tc = test_case_of(doc, "numeric_feature_drift", "z");
  NEAR(metric(tc, "psi"), 0);
  assert_string_equal(status(tc), TC_PASS);
  json_t *bm = json_object_get(test_batch_of(doc, "numeric_feature_drift"), "metrics");
  assert_int_equal(json_integer_value(json_object_get(bm, "num_drifted")), 1);
  NEAR(json_number_value(json_object_get(bm, "share_drifted")), 0.5);
  json_decref(doc);
}

static void test_numeric_drift_other_statistics(void **state) {
  (void)state;
  const char *ref = "{\"x\": " X10 "}", *ev = "{\"x\": " E10 "}";
  /* scipy.stats.ks_2samp(range(1, 11), [1]*8 + [9, 10]) */
  json_t *doc =
      run(BIN, ref, ev, NULL, DRIFT, "{\"numeric_feature_drift\": {\"statistic\": \"ks\"}}");
  json_t *tc = test_case_of(doc, "numeric_feature_drift", "x");
  NEAR(metric(tc, "ks_statistic"), 0.7);
  assert_true(fabs(metric(tc, "ks_pvalue") - 0.012340600575894691) < 1e-9);
  json_decref(doc);
  /* jensenshannon([5, 5], [8, 2], base=2) with 2 bins */
  doc = run(BIN, ref, ev, NULL, DRIFT,
            "{\"numeric_feature_drift\": {\"statistic\": \"jensen_shannon\", \"num_bins\": 2}}");
  tc = test_case_of(doc, "numeric_feature_drift", "x");
  assert_true(fabs(metric(tc, "jensen_shannon") - 0.27037752852596664) < 1e-12);
  json_decref(doc);
  /* wasserstein_distance(ref, eval) / np.std(ref) */
  doc = run(BIN, ref, ev, NULL, DRIFT,
            "{\"numeric_feature_drift\": {\"statistic\": \"wasserstein\"}}");
  tc = test_case_of(doc, "numeric_feature_drift", "x");
  assert_true(fabs(metric(tc, "wasserstein_normed") - 0.9748348733519081) < 1e-12);
  assert_string_equal(severity_of(tc), SEV_ALERT);
  json_decref(doc);
}

static void test_categorical_drift(void **state) {
  (void)state;
  const char *ref = "{\"c\": [\"a\",\"a\",\"a\",\"a\",\"a\",\"b\",\"b\",\"b\",\"c\",\"c\"]}";
  const char *ev = "{\"c\": [\"a\",\"a\",\"a\",\"b\",\"b\",\"b\",\"b\",\"c\",\"c\",\"c\"]}";
  json_t *doc = run(BIN, ref, ev, NULL, DRIFT, NULL);
  json_t *tc = test_case_of(doc, "categorical_feature_drift", "c");
  double psi = (0.5 - 0.3) * log(0.5 / 0.3) + (0.3 - 0.4) * log(0.3 / 0.4) +
               (0.2 - 0.3) * log(0.2 / 0.3);
  NEAR(metric(tc, "psi"), psi);
  json_t *d = json_object_get(tc, "details");
  assert_string_equal(json_string_value(json_object_get(d, "kind")), "categorical");
  assert_string_equal(json_string_value(json_array_get(json_object_get(d, "bins"), 0)), "a");
  json_decref(doc);
  /* scipy.stats.chisquare([3, 4, 3], [5, 3, 2]) */
  doc = run(BIN, ref, ev, NULL, DRIFT,
            "{\"categorical_feature_drift\": {\"statistic\": \"chi_square\"}}");
  tc = test_case_of(doc, "categorical_feature_drift", "c");
  NEAR(metric(tc, "chi_square"), 1.6333333333333333);
  assert_true(fabs(metric(tc, "chi_square_pvalue") - 0.4419022095845254) < 1e-9);
  assert_string_equal(status(tc), TC_PASS); /* p 0.44 > 0.05 (lower is worse) */
  json_decref(doc);
  /* an evaluation-only category: floored share 1e-4 on the reference side */
  doc = run(BIN, "{\"c\": [\"a\", \"b\"]}", "{\"c\": [\"a\", \"d\"]}", NULL, DRIFT, NULL);
  tc = test_case_of(doc, "categorical_feature_drift", "c");
  NEAR(metric(tc, "psi"), (0.5 - 1e-4) * log(0.5 / 1e-4) + (1e-4 - 0.5) * log(1e-4 / 0.5));
  json_decref(doc);
}

static void test_label_and_prediction_drift(void **state) {
  (void)state;
  const char *params = "{\"label_col\": \"y\", \"pred_col\": \"p\"}";
  json_t *doc = run(BIN, "{\"x\": [1, 2, 3, 4], \"y\": [0, 0, 1, 1], \"p\": [0.1, 0.2, 0.8, 0.9]}",
                    "{\"x\": [1, 2, 3, 4], \"y\": [0, 1, 1, 1], \"p\": [0.1, 0.6, 0.8, 0.9]}",
                    params, DRIFT, "{\"label_drift\": {\"statistic\": \"ks\"}}");
  json_t *tc = test_case_of(doc, "label_drift", "y");
  /* ks does not apply to classes: psi over class shares .5/.5 vs .25/.75 */
  NEAR(metric(tc, "psi"), 0.25 * log(2) + 0.25 * log(1.5));
  assert_string_equal(json_string_value(json_object_get(json_object_get(tc, "metrics"),
                                                        "statistic_used")),
                      "psi");
  tc = test_case_of(doc, "predicted_label_drift", NULL);
  NEAR(metric(tc, "psi"), 0.25 * log(2) + 0.25 * log(1.5));
  /* scores 0.1 0.2 0.8 0.9 vs 0.1 0.6 0.8 0.9: 0.6 falls in a bin the
   * reference leaves empty */
  tc = test_case_of(doc, "prediction_drift", NULL);
  assert_string_not_equal(status(tc), TC_SKIP);
  assert_true(metric(tc, "psi") > 0.4);
  json_decref(doc);
  /* without labels the label test is skipped */
  doc = run(BIN, "{\"x\": [1, 2]}", "{\"x\": [1, 2]}", NULL, DRIFT, NULL);
  assert_string_equal(status(json_array_get(cases(doc, "label_drift"), 0)), TC_SKIP);
  json_decref(doc);
}

static void test_nulls_drift(void **state) {
  (void)state;
  json_t *doc = run(BIN, "{\"x\": [1, null, 3, 4]}", "{\"x\": [null, null, 3, 4]}", NULL, DRIFT,
                    NULL);
  json_t *tc = test_case_of(doc, "nulls_per_feature_drift", "x");
  NEAR(metric(tc, "null_share_change"), 0.25);
  NEAR(metric(tc, "ref_null_share"), 0.25);
  NEAR(metric(tc, "eval_null_share"), 0.5);
  /* pooled z: p = 3/8, se = sqrt(p (1 - p) (1/4 + 1/4)) */
  NEAR(metric(tc, "z"), -0.25 / sqrt(0.375 * 0.625 * 0.5));
  assert_string_equal(severity_of(tc), SEV_ALERT);
  json_decref(doc);
}

/* --- edge cases ---------------------------------------------------------------------------- */

static void test_all_null_and_constant(void **state) {
  (void)state;
  json_t *doc = run(BIN, "{\"n\": [null, null, null], \"k\": [5, 5, 5], \"x\": [1, 2, 3]}",
                    "{\"n\": [null, null, null], \"k\": [5, 5, 6], \"x\": [3, 2, 1]}", NULL, ALL3,
                    NULL);
  json_t *tc = test_case_of(doc, "numeric_feature_drift", "n");
  assert_string_equal(status(tc), TC_SKIP);
  assert_non_null(json_object_get(tc, "skip_reason"));
  /* constant reference: the edges collapse to {5}: reference 3 | 0,
   * evaluation 2 | 1 */
  tc = test_case_of(doc, "numeric_feature_drift", "k");
  NEAR(metric(tc, "psi"), (1 - 2.0 / 3) * log(1.5) + (1e-4 - 1.0 / 3) * log(3e-4));
  /* outliers of a constant column: IQR 0, so outside [5, 5] */
  tc = test_case_of(doc, "numeric_outliers", "k");
  NEAR(metric(tc, "share_affected"), 1.0 / 3);
  tc = test_case_of(doc, "numeric_outliers", "n");
  assert_string_equal(status(tc), TC_SKIP);
  tc = test_case_of(doc, "null_check", "n");
  NEAR(metric(tc, "share_affected"), 0);
  /* correlation with a constant or all-null column: skipped */
  assert_string_equal(status(pair_case(doc, "k", "x")), TC_SKIP);
  assert_string_equal(status(pair_case(doc, "n", "x")), TC_SKIP);
  json_decref(doc);
}

static void test_single_row(void **state) {
  (void)state;
  json_t *doc = run(BIN, "{\"x\": [1.5], \"y\": [2], \"c\": [\"a\"]}",
                    "{\"x\": [7.0], \"y\": [2], \"c\": [\"b\"]}", NULL, ALL3, NULL);
  json_t *tc = test_case_of(doc, "out_of_range", "x");
  NEAR(metric(tc, "share_affected"), 1);
  tc = test_case_of(doc, "unseen_categories", "c");
  NEAR(metric(tc, "share_affected"), 1);
  tc = test_case_of(doc, "duplicate_rows", NULL);
  NEAR(metric(tc, "duplicate_share"), 0);
  assert_string_equal(status(pair_case(doc, "x", "y")), TC_SKIP);
  json_decref(doc);
}

static void test_eval_missing_column(void **state) {
  (void)state;
  json_t *doc = run(BIN, "{\"x\": [1, 2, 3], \"c\": [\"a\", \"b\", \"a\"]}",
                    "{\"c\": [\"a\", \"a\", \"a\"]}", NULL, ALL3, NULL);
  const char *types[] = {"numeric_feature_drift", "nulls_per_feature_drift", "numeric_outliers",
                         "out_of_range", "null_check", "type_mismatch"};
  for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
    json_t *tc = test_case_of(doc, types[i], "x");
    assert_string_equal(status(tc), TC_SKIP);
    const char *why = json_string_value(json_object_get(tc, "skip_reason"));
    assert_non_null(strstr(why, "no such column"));
  }
  assert_string_not_equal(status(test_case_of(doc, "categorical_feature_drift", "c")), TC_SKIP);
  json_decref(doc);
}

/* --- ABNORMAL_INPUTS ----------------------------------------------------------------------- */

static void test_outliers_and_range(void **state) {
  (void)state;
  json_t *doc = run(BIN, "{\"x\": [1, 2, 3, 4, 5, 6, 7, 8]}", "{\"x\": [0, 5, 100, 4]}", NULL,
                    ABNORMAL, NULL);
  /* Q1 2.75, Q3 6.25, IQR 3.5: bounds [-7.75, 16.75] */
  json_t *tc = test_case_of(doc, "numeric_outliers", "x");
  NEAR(metric(tc, "lower_bound"), -7.75);
  NEAR(metric(tc, "upper_bound"), 16.75);
  NEAR(metric(tc, "share_affected"), 0.25);
  assert_int_equal((int)metric(tc, "rows_affected"), 1);
  assert_string_equal(severity_of(tc), SEV_ALERT);
  tc = test_case_of(doc, "out_of_range", "x");
  NEAR(metric(tc, "share_affected"), 0.5);
  json_decref(doc);
}

static void test_categories(void **state) {
  (void)state;
  json_t *doc = run(BIN,
                    "{\"c\": [\"a\",\"a\",\"a\",\"a\",\"a\",\"b\",\"b\",\"b\",\"b\",\"c\"]}",
                    "{\"c\": [\"c\", \"c\", \"a\", \"d\"]}", NULL, ABNORMAL,
                    "{\"rare_categories\": {\"rare_threshold\": 0.3}}");
  /* c has reference share 0.1 < 0.3: rare; d is unseen */
  NEAR(metric(test_case_of(doc, "rare_categories", "c"), "share_affected"), 0.5);
  NEAR(metric(test_case_of(doc, "unseen_categories", "c"), "share_affected"), 0.25);
  json_decref(doc);
}

static void test_empty_strings_and_capitalization(void **state) {
  (void)state;
  json_t *doc = run(BIN, "{\"s\": [\"Paris\", \"London\", \"Paris\", \" \"]}",
                    "{\"s\": [\"PARIS\", \" paris \", \"\", \"\\t\", \"London\", \"Berlin\", "
                    "\"london\", \"Rome\"]}",
                    NULL, ABNORMAL, NULL);
  /* blank: reference 1/4, evaluation 2/8: no rise */
  json_t *tc = test_case_of(doc, "empty_strings", "s");
  NEAR(metric(tc, "share_affected"), 0);
  NEAR(metric(tc, "eval_share"), 0.25);
  assert_int_equal((int)metric(tc, "rows_affected"), 2);
  /* PARIS, " paris ", london are variants of reference categories */
  tc = test_case_of(doc, "capitalization", "s");
  NEAR(metric(tc, "share_affected"), 3.0 / 8);
  /* unseen: PARIS, " paris ", "", "\t", Berlin, london, Rome */
  NEAR(metric(test_case_of(doc, "unseen_categories", "s"), "share_affected"), 7.0 / 8);
  json_decref(doc);
  doc = run(BIN, "{\"s\": [\"a\", \"b\"]}", "{\"s\": [\"\", \"  \", \"a\", \"b\"]}", NULL,
            ABNORMAL, NULL);
  tc = test_case_of(doc, "empty_strings", "s");
  NEAR(metric(tc, "share_affected"), 0.5);
  assert_string_equal(severity_of(tc), SEV_ALERT);
  json_decref(doc);
}

static void test_type_mismatch(void **state) {
  (void)state;
  json_t *doc = run(BIN,
                    "{\"i\": [1, 2, 3, 4], \"f\": [1.5, 2, 3, 4], \"b\": [true, false, true, "
                    "true], \"s\": [\"x\", \"y\", \"z\", \"w\"], \"g\": [1, 2, 3, 4]}",
                    "{\"i\": [\"1\", \"2\", \"abc\", \"4.5\"], \"f\": [\"1\", \" 2.5\", \"x\", "
                    "null], \"b\": [0, 1, 2, null], \"s\": [1, 2, 3, 4], \"g\": [1.0, 2.5, 3, "
                    "null]}",
                    NULL, ABNORMAL, NULL);
  /* int reference, text evaluation: "abc" and "4.5" are not integers */
  json_t *tc = test_case_of(doc, "type_mismatch", "i");
  NEAR(metric(tc, "share_affected"), 0.5);
  assert_string_equal(json_string_value(json_object_get(json_object_get(tc, "details"),
                                                        "eval_type")),
                      "string");
  /* float reference: only "x" (the null is no value) */
  NEAR(metric(test_case_of(doc, "type_mismatch", "f"), "share_affected"), 0.25);
  /* bool reference, numbers: 2 is neither 0 nor 1 */
  NEAR(metric(test_case_of(doc, "type_mismatch", "b"), "share_affected"), 0.25);
  /* string reference: any value is text */
  NEAR(metric(test_case_of(doc, "type_mismatch", "s"), "share_affected"), 0);
  /* int reference, float evaluation: 2.5 */
  NEAR(metric(test_case_of(doc, "type_mismatch", "g"), "share_affected"), 0.25);
  json_decref(doc);
}

static void test_null_check_thresholds_and_performance(void **state) {
  (void)state;
  const char *params = "{\"label_col\": \"y\", \"pred_col\": \"p\"}";
  const char *ref = "{\"x\": [1, 2, 3, 4], \"y\": [0, 1, 0, 1], \"p\": [0.1, 0.9, 0.2, 0.8]}";
  const char *ev = "{\"x\": [null, 2, null, 4], \"y\": [0, 1, 1, 1], \"p\": [0.9, 0.9, 0.2, 0.8]}";
  json_t *doc = run(BIN, ref, ev, params, ABNORMAL, NULL);
  json_t *tc = test_case_of(doc, "null_check", "x");
  NEAR(metric(tc, "share_affected"), 0.5);
  assert_string_equal(severity_of(tc), SEV_ALERT);
  /* rows 0 and 2 are null: both mispredicted; overall accuracy 2/4 */
  NEAR(metric(tc, "performance_affected"), 0);
  NEAR(metric(tc, "performance_overall"), 0.5);
  NEAR(metric(tc, "performance_change"), -0.5);
  /* no affected rows: performance null */
  tc = test_case_of(doc, "out_of_range", "x");
  assert_true(isnan(metric(tc, "performance_affected")));
  json_decref(doc);
  /* own thresholds: 0.5 is a warning under {0.4, 0.6} */
  doc = run(BIN, ref, ev, params, ABNORMAL,
            "{\"null_check\": {\"severity_thresholds\": {\"warning\": 0.4, \"alert\": 0.6}}}");
  assert_string_equal(severity_of(test_case_of(doc, "null_check", "x")), SEV_WARNING);
  json_decref(doc);
  /* regression: MAE on affected rows */
  doc = run(REG, "{\"x\": [1, 2, 3, 4], \"y\": [1, 2, 3, 4], \"p\": [1, 2, 3, 4]}",
            "{\"x\": [1, 2, 3, 40], \"y\": [1, 2, 3, 4], \"p\": [1, 2, 4, 8]}", params, ABNORMAL,
            NULL);
  tc = test_case_of(doc, "out_of_range", "x");
  NEAR(metric(tc, "performance_affected"), 4);
  NEAR(metric(tc, "performance_overall"), 5.0 / 4);
  json_decref(doc);
}

static void test_excluded_columns(void **state) {
  (void)state;
  json_t *doc = run(BIN, "{\"x\": [1, 2], \"z\": [1, 2]}", "{\"x\": [1, 2], \"z\": [1, 2]}", NULL,
                    ALL3,
                    "{\"numeric_feature_drift\": {\"exclude_columns\": [\"x\"]}, "
                    "\"null_check\": {\"exclude_columns\": [\"z\"]}}");
  assert_false(has_case(doc, "numeric_feature_drift", "x"));
  assert_true(has_case(doc, "numeric_feature_drift", "z"));
  assert_true(has_case(doc, "null_check", "x"));
  assert_false(has_case(doc, "null_check", "z"));
  json_decref(doc);
}

/* --- DATA_CLEANLINESS ---------------------------------------------------------------------- */

static void test_duplicates(void **state) {
  (void)state;
  json_t *doc = run(BIN,
                    "{\"a\": [1, 1, 2, 1, null, null, 0.0, -0.0], \"b\": [\"x\", \"x\", \"y\", "
                    "\"x\", null, null, \"z\", \"z\"]}",
                    "{\"a\": [1, 2], \"b\": [\"x\", \"x\"]}", NULL, CLEAN, NULL);
  json_t *cs = cases(doc, "duplicate_rows");
  assert_int_equal(json_array_size(cs), 2);
  json_t *r = json_array_get(cs, 0), *e = json_array_get(cs, 1);
  assert_string_equal(json_string_value(json_object_get(json_object_get(r, "metrics"), "dataset")),
                      "reference");
  /* rows 1 and 3 repeat row 0, row 5 row 4, row 7 row 6 (-0.0 == 0.0) */
  NEAR(metric(r, "duplicate_share"), 4.0 / 8);
  assert_string_equal(severity_of(r), SEV_ALERT);
  NEAR(metric(e, "duplicate_share"), 0);
  assert_int_equal(json_array_size(json_object_get(r, "features")), 0);
  json_decref(doc);
}

static void test_label_imbalance_and_leakage(void **state) {
  (void)state;
  const char *params = "{\"label_col\": \"y\"}";
  json_t *doc = run(BIN,
                    "{\"leak\": [\"n\", \"n\", \"n\", \"p\"], \"x\": [1, 2, 3, 4], \"y\": [0, 0, "
                    "0, 1]}",
                    "{\"leak\": [\"n\", \"p\"], \"x\": [1, 2], \"y\": [0, 1]}", params,
                    CLEAN, NULL);
  json_t *tc = test_case_of(doc, "label_imbalance", "y");
  NEAR(value(tc, "label_imbalance"), 0.25);
  assert_string_equal(severity_of(tc), SEV_PASS);
  /* leak determines the label: MI = H */
  tc = test_case_of(doc, "feature_leakage", "leak");
  NEAR(metric(tc, "normalized_mutual_info"), 1);
  assert_string_equal(severity_of(tc), SEV_ALERT);
  /* x: 4 distinct values in 4 deciles bins: also determines the label */
  tc = test_case_of(doc, "feature_leakage", "x");
  NEAR(metric(tc, "normalized_mutual_info"), 1);
  json_decref(doc);
  /* one class only: leakage undefined */
  doc = run(BIN, "{\"x\": [1, 2, 3], \"y\": [1, 1, 1]}", "{\"x\": [1], \"y\": [1]}", params,
            CLEAN, NULL);
  assert_string_equal(status(test_case_of(doc, "feature_leakage", "x")), TC_SKIP);
  NEAR(value(test_case_of(doc, "label_imbalance", "y"), "label_imbalance"), 0);
  json_decref(doc);
}

static void test_correlation(void **state) {
  (void)state;
  /* scipy.stats.pearsonr on the rows where both are present; Cramér's V
   * of crosstab(c, d) by scipy.stats.contingency.association */
  json_t *doc = run(BIN,
                    "{\"a\": [1, 2, 3, 4, 5, null, 7], \"b\": [2, 1, 4, 3, null, 6, 8], "
                    "\"e\": [3, 2, 1, 0, -1, -2, -3], \"c\": [\"a\", \"a\", \"b\", \"b\", \"c\", "
                    "\"c\", \"a\"], \"d\": [\"x\", \"x\", \"y\", \"y\", \"x\", \"y\", \"x\"], "
                    "\"out\": [1, 2, 3, 4, 5, 6, 7]}",
                    "{\"a\": [1], \"b\": [1], \"e\": [1], \"c\": [\"a\"], \"d\": [\"x\"], "
                    "\"out\": [1]}",
                    "{\"features_not_in_model\": [\"out\"]}", CLEAN, NULL);
  json_t *tc = pair_case(doc, "a", "b");
  assert_non_null(tc);
  assert_true(fabs(value(tc, "high_feature_correlation") - 0.916379765091535) < 1e-12);
  assert_string_equal(severity_of(tc), SEV_WARNING);
  assert_int_equal((int)metric(tc, "rows"), 5);
  tc = pair_case(doc, "a", "e");
  NEAR(metric(tc, "correlation"), 1);
  NEAR(metric(tc, "pearson"), -1);
  tc = pair_case(doc, "c", "d");
  assert_true(fabs(metric(tc, "cramers_v") - 0.8416254115301732) < 1e-12);
  /* no mixed pairs, no pairs with a feature not in the model */
  assert_null(pair_case(doc, "a", "c"));
  assert_null(pair_case(doc, "a", "out"));
  json_decref(doc);
}


/* --- larger frames: several stripes of rows, masked pairs, sparse tables ------------------- */

static double lcg(uint64_t *st) {
  *st = *st * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(*st >> 11) / 9007199254740992.0;
}

static void test_large_paths(void **state) {
  (void)state;
  enum { N = 70000 };
  double *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b), *c = malloc(N * sizeof *c);
  int *u = malloc(N * sizeof *u), *v = malloc(N * sizeof *v);
  assert_true(a && b && c && u && v);
  uint64_t st = 42;
  int copies = 0;
  for (int i = 0; i < N; i++) {
    if (i % 10 == 9) { /* a copy of the previous row */
      a[i] = a[i - 1], b[i] = b[i - 1], c[i] = c[i - 1], u[i] = u[i - 1], v[i] = v[i - 1];
      copies++;
      continue;
    }
    a[i] = lcg(&st) * 10 + 1000;
    b[i] = a[i] * 0.5 + lcg(&st);
    c[i] = lcg(&st) < 0.1 ? NAN : a[i] - 3 * lcg(&st);
    u[i] = (int)(lcg(&st) * 1500);
    v[i] = lcg(&st) < 0.5 ? u[i] % 1300 : (int)(lcg(&st) * 1300);
  }
  json_t *cols[5] = {json_array(), json_array(), json_array(), json_array(), json_array()};
  for (int i = 0; i < N; i++) {
    char s[16];
    json_array_append_new(cols[0], json_real(a[i]));
    json_array_append_new(cols[1], json_real(b[i]));
    json_array_append_new(cols[2], isnan(c[i]) ? json_null() : json_real(c[i]));
    snprintf(s, sizeof s, "u%d", u[i]);
    json_array_append_new(cols[3], json_string(s));
    snprintf(s, sizeof s, "v%d", v[i]);
    json_array_append_new(cols[4], json_string(s));
  }
  json_t *t = json_pack("{s:o, s:o, s:o, s:o, s:o}", "a", cols[0], "b", cols[1], "c", cols[2],
                        "u", cols[3], "v", cols[4]);
  char *ref = json_dumps(t, JSON_COMPACT);
  json_decref(t);
  json_t *doc = run(BIN, ref, "{\"a\": [1.0], \"b\": [1.0], \"c\": [1.0], \"u\": [\"u1\"], "
                              "\"v\": [\"v1\"]}",
                    NULL, CLEAN, NULL);
  free(ref);
  /* duplicates: exactly the copies */
  NEAR(metric(json_array_get(cases(doc, "duplicate_rows"), 0), "duplicate_share"),
       (double)copies / N);
  /* Pearson, two-pass over the rows where both are present */
  const double *x[3] = {a, b, c};
  const char *names[3] = {"a", "b", "c"};
  for (int p = 0; p < 3; p++)
    for (int q = p + 1; q < 3; q++) {
      double n = 0, mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
      for (int i = 0; i < N; i++)
        if (!isnan(x[p][i]) && !isnan(x[q][i])) n++, mx += x[p][i], my += x[q][i];
      mx /= n, my /= n;
      for (int i = 0; i < N; i++)
        if (!isnan(x[p][i]) && !isnan(x[q][i])) {
          double dx = x[p][i] - mx, dy = x[q][i] - my;
          sxy += dx * dy, sxx += dx * dx, syy += dy * dy;
        }
      json_t *tc = pair_case(doc, names[p], names[q]);
      assert_non_null(tc);
      assert_true(fabs(metric(tc, "pearson") - sxy / sqrt(sxx * syy)) < 1e-10);
      assert_int_equal((int)metric(tc, "rows"), (int)n);
    }
  /* Cramér's V of a 1500 x 1300 table (sparse in the engine), dense here */
  double *tab = calloc((size_t)1500 * 1300, sizeof *tab), ra[1500] = {0}, rb[1300] = {0};
  assert_non_null(tab);
  for (int i = 0; i < N; i++) tab[(size_t)u[i] * 1300 + (size_t)v[i]] += 1, ra[u[i]]++, rb[v[i]]++;
  double chi2 = 0;
  int r = 0, k = 0;
  for (int i = 0; i < 1500; i++) r += ra[i] > 0;
  for (int j = 0; j < 1300; j++) k += rb[j] > 0;
  for (int i = 0; i < 1500; i++)
    for (int j = 0; j < 1300; j++)
      if (ra[i] > 0 && rb[j] > 0) {
        double e = ra[i] * rb[j] / N, o = tab[(size_t)i * 1300 + (size_t)j];
        chi2 += (o - e) * (o - e) / e;
      }
  double want = sqrt(chi2 / (N * (double)((r < k ? r : k) - 1)));
  assert_true(fabs(metric(pair_case(doc, "u", "v"), "cramers_v") - want) < 1e-10);
  free(tab);
  json_decref(doc);
  free(a), free(b), free(c), free(u), free(v);
}

/* --- high_feature_correlation: which pairs become cases ---------------------------------- */

/* Columns in feature order: numeric (num[i], cat[i] NULL) or categorical
 * (codes 0..5, cat[i]); all n rows present. */
typedef struct wide {
  int nf, n;
  double **num;
  int **cat;
} wide;

typedef struct want_pair {
  double v;        /* |r| or V; NAN: undefined */
  int a, b, ord;
} want_pair;

static double pearson_of(const double *x, const double *y, int n) {
  double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
  for (int i = 0; i < n; i++) mx += x[i], my += y[i];
  mx /= n, my /= n;
  for (int i = 0; i < n; i++) {
    double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy, sxx += dx * dx, syy += dy * dy;
  }
  return sxx == 0 || syy == 0 ? NAN : sxy / sqrt(sxx * syy);
}

/* scipy.stats.contingency.association(crosstab, method="cramer") */
static double cramer_of(const int *x, const int *y, int n) {
  double t[6][6] = {{0}}, ra[6] = {0}, rb[6] = {0};
  for (int i = 0; i < n; i++) t[x[i]][y[i]]++, ra[x[i]]++, rb[y[i]]++;
  int r = 0, k = 0;
  for (int i = 0; i < 6; i++) r += ra[i] > 0, k += rb[i] > 0;
  if (r < 2 || k < 2) return NAN;
  double chi2 = 0;
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 6; j++)
      if (ra[i] > 0 && rb[j] > 0) {
        double e = ra[i] * rb[j] / n;
        chi2 += (t[i][j] - e) * (t[i][j] - e) / e;
      }
  return sqrt(chi2 / (n * (double)((r < k ? r : k) - 1)));
}

static int by_value_desc(const void *x, const void *y) {
  const want_pair *a = x, *b = y;
  if (a->v != b->v) return a->v > b->v ? -1 : 1;
  return a->ord - b->ord;
}

/* Run the cleanliness tests on w (as reference and evaluation) and check
 * high_feature_correlation against docs/tests.md's rule, worked here from
 * scratch: every flagged pair (value >= 0.9), at most the 1000 highest;
 * when fewer than 100, the highest passing pairs, then the undefined ones
 * in feature order, up to 100; cases in feature order; batch metrics.
 * Returns how many pairs were flagged. */
static int64_t check_reported(const wide *w) {
  json_t *t = json_object();
  char name[16];
  for (int f = 0; f < w->nf; f++) {
    json_t *col = json_array();
    for (int i = 0; i < w->n; i++) {
      if (w->cat[f]) {
        snprintf(name, sizeof name, "k%d", w->cat[f][i]);
        json_array_append_new(col, json_string(name));
      } else {
        json_array_append_new(col, json_real(w->num[f][i]));
      }
    }
    snprintf(name, sizeof name, "f%d", f);
    json_object_set_new(t, name, col);
  }
  char *table = json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(t);
  json_t *doc = run(BIN, table, table, NULL, CLEAN, NULL);
  free(table);
  /* every same-kind pair in feature order */
  int np = 0;
  want_pair *all = calloc((size_t)w->nf * (size_t)w->nf / 2 + 1, sizeof *all);
  assert_non_null(all);
  for (int a = 0; a < w->nf; a++)
    for (int b = a + 1; b < w->nf; b++) {
      if (!w->cat[a] != !w->cat[b]) continue;
      double v = w->cat[a] ? cramer_of(w->cat[a], w->cat[b], w->n)
                           : fabs(pearson_of(w->num[a], w->num[b], w->n));
      all[np] = (want_pair){v, a, b, np};
      np++;
    }
  /* the expected cases */
  want_pair *flag = calloc((size_t)np + 1, sizeof *flag);
  want_pair *pass = calloc((size_t)np + 1, sizeof *pass);
  want_pair *undef = calloc((size_t)np + 1, sizeof *undef);
  want_pair *want = calloc((size_t)np + 1, sizeof *want);
  assert_true(flag && pass && undef && want);
  int nflag = 0, npass = 0, nundef = 0, nwant = 0;
  double maxv = -1;
  for (int i = 0; i < np; i++) {
    if (isnan(all[i].v)) {
      undef[nundef++] = all[i];
      continue;
    }
    /* no value so near the threshold that rounding could move it */
    if (fabs(all[i].v - 0.9) < 1e-9) fail_msg("pair %d is at the threshold", i);
    if (all[i].v > maxv) maxv = all[i].v;
    if (all[i].v >= 0.9) flag[nflag++] = all[i];
    else pass[npass++] = all[i];
  }
  qsort(flag, (size_t)nflag, sizeof *flag, by_value_desc);
  qsort(pass, (size_t)npass, sizeof *pass, by_value_desc);
  for (int i = 0; i < nflag && nwant < 1000; i++) want[nwant++] = flag[i];
  /* equal values rank by feature order; near-equal ones could swap */
  if (nflag > 1000 && flag[999].v != flag[1000].v && !(flag[999].v - flag[1000].v > 1e-9))
    fail_msg("a near tie at the cap");
  int from_pass = 0;
  for (int i = 0; i < npass && nwant < 100; i++) want[nwant++] = pass[i], from_pass++;
  if (from_pass > 0 && from_pass < npass && pass[from_pass - 1].v != pass[from_pass].v &&
      !(pass[from_pass - 1].v - pass[from_pass].v > 1e-9))
    fail_msg("a near tie at the fill");
  for (int i = 0; i < nundef && nwant < 100; i++) want[nwant++] = undef[i];
  /* the document: exactly those, in feature order */
  json_t *batch = test_batch_of(doc, "high_feature_correlation");
  json_t *got = json_object_get(batch, "test_cases");
  assert_int_equal(json_array_size(got), (size_t)nwant);
  char *mark = calloc((size_t)np + 1, 1);
  assert_non_null(mark);
  int last = -1;
  size_t i;
  json_t *tc;
  json_array_foreach(got, i, tc) {
    json_t *fs = json_object_get(tc, "features");
    int a = -1, b = -1;
    assert_int_equal(sscanf(json_string_value(json_array_get(fs, 0)), "f%d", &a), 1);
    assert_int_equal(sscanf(json_string_value(json_array_get(fs, 1)), "f%d", &b), 1);
    int k = 0;
    while (k < np && !(all[k].a == a && all[k].b == b)) k++;
    assert_true(k < np);
    assert_true(k > last); /* feature order */
    last = k;
    mark[k] = 1;
    if (isnan(all[k].v)) {
      assert_string_equal(status(tc), TC_SKIP);
    } else {
      assert_true(fabs(metric(tc, "correlation") - all[k].v) < 1e-10);
      assert_string_equal(severity_of(tc), all[k].v >= 0.95  ? SEV_ALERT
                                           : all[k].v >= 0.9 ? SEV_WARNING
                                                             : SEV_PASS);
    }
  }
  for (int k = 0; k < nwant; k++)
    if (!mark[want[k].ord]) fail_msg("pair f%d, f%d is not reported", want[k].a, want[k].b);
  json_t *m = json_object_get(batch, "metrics");
  assert_int_equal(json_integer_value(json_object_get(m, "pairs_checked")), np);
  assert_int_equal(json_integer_value(json_object_get(m, "pairs_flagged")), nflag);
  assert_int_equal(json_integer_value(json_object_get(m, "pairs_reported")), nwant);
  if (maxv < 0) assert_true(json_is_null(json_object_get(m, "max_abs_correlation")));
  else
    assert_true(fabs(json_number_value(json_object_get(m, "max_abs_correlation")) - maxv) < 1e-10);
  /* the batch counts what it reports; failing_features: the flagged ones' */
  assert_int_equal(json_integer_value(json_object_get(json_object_get(batch, "summary_counts"),
                                                      "total")),
                   nwant);
  json_decref(doc);
  free(mark), free(all), free(flag), free(pass), free(undef), free(want);
  return nflag;
}

/* nnum numeric features (row r of feature f: base[r] + noise * scale(f);
 * constant: feature `constant`, -1 none) then ncat categorical ones (the
 * base's sextile, a share `flip(f)` of rows replaced at random). */
static wide *make_wide(int nnum, int ncat, int n, double s0, double s1, int constant,
                       uint64_t seed) {
  wide *w = calloc(1, sizeof *w);
  w->nf = nnum + ncat;
  w->n = n;
  w->num = calloc((size_t)w->nf, sizeof *w->num);
  w->cat = calloc((size_t)w->nf, sizeof *w->cat);
  double *base = malloc((size_t)n * sizeof *base);
  assert_true(w->num && w->cat && base);
  uint64_t st = seed;
  for (int r = 0; r < n; r++) base[r] = lcg(&st);
  for (int f = 0; f < nnum; f++) {
    w->num[f] = malloc((size_t)n * sizeof **w->num);
    double scale = s0 + (s1 - s0) * f / (nnum > 1 ? nnum - 1 : 1);
    for (int r = 0; r < n; r++)
      w->num[f][r] = f == constant ? 2.5 : base[r] + (lcg(&st) - 0.5) * scale;
  }
  for (int f = nnum; f < w->nf; f++) {
    w->cat[f] = malloc((size_t)n * sizeof **w->cat);
    double flip = 0.02 + 0.6 * (f - nnum) / (ncat > 1 ? ncat - 1 : 1);
    for (int r = 0; r < n; r++) {
      int code = (int)(base[r] * 6);
      if (lcg(&st) < flip) code = (int)(lcg(&st) * 6);
      w->cat[f][r] = code > 5 ? 5 : code;
    }
  }
  free(base);
  return w;
}

static void free_wide(wide *w) {
  for (int f = 0; f < w->nf; f++) free(w->num[f]), free(w->cat[f]);
  free(w->num), free(w->cat), free(w);
}

static void test_correlation_reported_pairs(void **state) {
  (void)state;
  /* 1225 pairs, over 1000 flagged: the 1000 highest */
  wide *w = make_wide(50, 0, 60, 0.01, 0.35, -1, 7);
  int64_t flagged = check_reported(w);
  if (flagged <= 1000) fail_msg("only %lld pairs flagged", (long long)flagged);
  free_wide(w);
  /* 1225 pairs of equal columns (|r| = 1 exactly): the first 1000 in
   * feature order */
  w = make_wide(50, 0, 20, 0, 0, -1, 3);
  assert_int_equal(check_reported(w), 1225);
  free_wide(w);
  /* 190 pairs (19 undefined: a constant), a few flagged: those and the
   * highest passing ones, 100 in all */
  w = make_wide(20, 0, 60, 0.2, 2.0, 4, 11);
  flagged = check_reported(w);
  if (flagged < 1 || flagged > 50) fail_msg("%lld pairs flagged", (long long)flagged);
  free_wide(w);
  /* 105 pairs, 14 undefined: every defined pair, then the undefined ones in
   * feature order up to 100 */
  w = make_wide(15, 0, 60, 0.2, 2.0, 7, 13);
  check_reported(w);
  free_wide(w);
  /* numeric and categorical pairs in one ranking: 45 + 91 pairs */
  w = make_wide(10, 14, 300, 0.05, 1.5, -1, 17);
  flagged = check_reported(w);
  if (flagged < 1) fail_msg("no pair flagged");
  free_wide(w);
  /* a kind with more than 2000 features is not paired (one skipped case
   * says why); the other kind is */
  json_t *t = json_object();
  char name[16];
  for (int f = 0; f < 2001; f++) {
    snprintf(name, sizeof name, "n%d", f);
    json_object_set_new(t, name, json_pack("[f, f, f]", 1.0 * f, 2.0, f % 3 + 0.5));
  }
  json_object_set_new(t, "c1", json_pack("[s, s, s]", "a", "b", "a"));
  json_object_set_new(t, "c2", json_pack("[s, s, s]", "x", "y", "x"));
  char *table = json_dumps(t, JSON_COMPACT);
  json_decref(t);
  json_t *doc = run(BIN, table, table, NULL, CLEAN, NULL);
  free(table);
  json_t *batch = test_batch_of(doc, "high_feature_correlation");
  json_t *cs = json_object_get(batch, "test_cases");
  assert_int_equal(json_array_size(cs), 2);
  json_t *tc = json_array_get(cs, 0);
  assert_string_equal(status(tc), TC_SKIP);
  assert_int_equal(json_array_size(json_object_get(tc, "features")), 0);
  const char *why = json_string_value(json_object_get(tc, "skip_reason"));
  assert_non_null(strstr(why, "the model uses 2001 numeric features, more than the limit of 2000"));
  tc = json_array_get(cs, 1);
  assert_string_equal(json_string_value(json_array_get(json_object_get(tc, "features"), 0)), "c1");
  assert_string_equal(json_string_value(json_array_get(json_object_get(tc, "features"), 1)), "c2");
  NEAR(metric(tc, "cramers_v"), 1);
  json_t *m = json_object_get(batch, "metrics");
  assert_int_equal(json_integer_value(json_object_get(m, "pairs_checked")), 1);
  assert_int_equal(json_integer_value(json_object_get(m, "pairs_reported")), 1);
  json_decref(doc);
}

/* --- lookups ------------------------------------------------------------------------------- */

static void test_find(void **state) {
  (void)state;
  /* every catalogue test of the three categories has its function */
  int n = 0;
  for (const test_def *d = test_catalog; d->type; d++) {
    stress_test_fn fn = NULL;
    if (strcmp(d->category, CAT_DRIFT) == 0) fn = tests_drift_find(d->type);
    else if (strcmp(d->category, CAT_ABNORMAL_INPUTS) == 0) fn = tests_abnormal_find(d->type);
    else if (strcmp(d->category, CAT_DATA_CLEANLINESS) == 0) fn = tests_cleanliness_find(d->type);
    else continue;
    if (!fn) fail_msg("no function for %s", d->type);
    n++;
  }
  assert_int_equal(n, 18);
  assert_null(tests_drift_find("accuracy"));
  assert_null(tests_abnormal_find(NULL));
  assert_null(tests_cleanliness_find("numeric_feature_drift"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_numeric_drift_psi),
      cmocka_unit_test(test_numeric_drift_other_statistics),
      cmocka_unit_test(test_categorical_drift),
      cmocka_unit_test(test_label_and_prediction_drift),
      cmocka_unit_test(test_nulls_drift),
      cmocka_unit_test(test_all_null_and_constant),
      cmocka_unit_test(test_single_row),
      cmocka_unit_test(test_eval_missing_column),
      cmocka_unit_test(test_outliers_and_range),
      cmocka_unit_test(test_categories),
      cmocka_unit_test(test_empty_strings_and_capitalization),
      cmocka_unit_test(test_type_mismatch),
      cmocka_unit_test(test_null_check_thresholds_and_performance),
      cmocka_unit_test(test_excluded_columns),
      cmocka_unit_test(test_duplicates),
      cmocka_unit_test(test_label_imbalance_and_leakage),
      cmocka_unit_test(test_correlation),
      cmocka_unit_test(test_large_paths),
      cmocka_unit_test(test_correlation_reported_pairs),
      cmocka_unit_test(test_find),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
