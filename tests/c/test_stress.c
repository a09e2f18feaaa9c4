/* test_stress.c — the stress test engine's core (engine/stress.c) and the
 * MODEL_PERFORMANCE / SUBSET_PERFORMANCE / SUBSET_PERFORMANCE_DEGRADATION
 * modules: preparing a run (roles, labels, predictions, unified category
 * codes) and its errors, the worker pool, the document's shape, counts and
 * severities, progress, log, cancellation, excluded columns, a small run
 * whose numbers are worked by hand, assay__debug_stress, and that every
 * catalogue test of every task has exactly one implementation. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "assay/errors.h"
#include "config/test_config.h"
#include "engine/frame.h"
#include "engine/stress.h"
#include "engine/stress_internal.h"
#include "internal.h"
#include "runner/runner.h"
#include "test_support.h"

#define BIN "MODEL_TASK_BINARY_CLASSIFICATION"
#define MC "MODEL_TASK_MULTICLASS_CLASSIFICATION"
#define REG "MODEL_TASK_REGRESSION"
#define MP "\"TEST_CATEGORY_TYPE_MODEL_PERFORMANCE\""
#define SP "\"TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE\""
#define SD "\"TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE_DEGRADATION\""
#define MINE "[" MP ", " SP ", " SD "]"

/* A run's inputs, owned here. */
typedef struct fixture {
  frame *ref, *eval, *ref_pred, *eval_pred;
  json_t *ref_params, *eval_params, *config;
  stress_input in;
} fixture;

static void fx_init(fixture *x, const char *task, const char *ref, const char *eval,
                    const char *params, const char *categories, const char *suite) {
  memset(x, 0, sizeof *x);
  x->ref = test_frame_of(ref);
  x->eval = test_frame_of(eval);
  x->ref_params = params ? test_json_of(params) : NULL;
  x->eval_params = x->ref_params ? json_incref(x->ref_params) : NULL;
  x->config = test_config_of(task, categories, suite);
  x->in.model_task = task;
  x->in.ref = x->ref;
  x->in.eval = x->eval;
  x->in.ref_params = x->ref_params;
  x->in.eval_params = x->eval_params;
  x->in.config = x->config;
  x->in.threads = 2;
}

static void fx_free(fixture *x) {
  frame_free(x->ref);
  frame_free(x->eval);
  frame_free(x->ref_pred);
  frame_free(x->eval_pred);
  json_decref(x->ref_params);
  json_decref(x->eval_params);
  json_decref(x->config);
}

/* Run and expect success. */
static json_t *fx_run(fixture *x) {
  json_t *doc = NULL;
  int rc = stress_run(&x->in, &doc);
  if (rc) fprintf(stderr, "stress_run: %s\n", assay_error_last()->message);
  assert_int_equal(rc, 0);
  assert_non_null(doc);
  return doc;
}

/* Run and expect error `code` whose message contains `text`. */
static void fx_fails(fixture *x, int code, const char *text) {
  json_t *doc = NULL;
  int rc = stress_run(&x->in, &doc);
  assert_null(doc);
  const assay_error *e = assay_error_last();
  if (rc != code || !e || !strstr(e->message, text))
    fail_msg("expected error %d containing \"%s\"; got %d: %s", code, text, rc,
             e ? e->message : "(none)");
}

static double metric(json_t *tc, const char *name) {
  json_t *v = json_object_get(json_object_get(tc, "metrics"), name);
  if (!v) fail_msg("no metric %s", name);
  return json_is_null(v) ? NAN : json_number_value(v);
}

static const char *str(json_t *o, const char *key) {
  return json_string_value(json_object_get(o, key));
}

static json_int_t num(json_t *o, const char *key) {
  return json_integer_value(json_object_get(o, key));
}

/* --- the hand-checked data ------------------------------------------------------------------
 * 40 rows: g = "u" for rows 0..19, "v" for 20..39; x = the row; label = row % 2; pred 0.9 for
 * label 1 and 0.1 for label 0 (all right) — except, in the evaluation, rows 20..27, whose
 * predictions are flipped (0.2 / 0.8): evaluation accuracy 32/40 = 0.8, subset g = "v" 12/20 =
 * 0.6, subsets of x (10 bins of 4 rows) 20..23 and 24..27 accuracy 0. */
static char *table(int eval, int extra) {
  char g[2048] = "", x[2048] = "", y[2048] = "", p[2048] = "", e[2048] = "";
  for (int i = 0; i < 40; i++) {
    int flip = eval && i >= 20 && i < 28;
    int label = i % 2;
    double pred = label ? (flip ? 0.2 : 0.9) : (flip ? 0.8 : 0.1);
    const char *sep = i ? ", " : "";
    snprintf(g + strlen(g), sizeof g - strlen(g), "%s\"%s\"", sep, i < 20 ? "u" : "v");
    snprintf(x + strlen(x), sizeof x - strlen(x), "%s%d", sep, i);
    snprintf(y + strlen(y), sizeof y - strlen(y), "%s%d", sep, label);
    snprintf(p + strlen(p), sizeof p - strlen(p), "%s%g", sep, pred);
    snprintf(e + strlen(e), sizeof e - strlen(e), "%s%d", sep, i % 3);
  }
  char *t = NULL;
  if (asprintf(&t,
               "{\"g\": [%s], \"x\": [%s], \"label\": [%s], \"pred\": [%s]%s%s%s}", g, x, y, p,
               extra ? ", \"code\": [" : "", extra ? e : "", extra ? "]" : "") < 0)
    abort();
  return t;
}

#define PARAMS "{\"label_col\": \"label\", \"pred_col\": \"pred\"}"

static void test_hand_checked(void **state) {
  (void)state;
  char *r = table(0, 0), *e = table(1, 0);
  fixture x;
  fx_init(&x, BIN, r, e, PARAMS, MINE,
          "{\"individual_tests_config\": {\"subset_accuracy\": {\"min_sample_size\": 4}}}");
  json_t *doc = fx_run(&x);
  /* MODEL_PERFORMANCE: accuracy 1.0 -> 0.8, a drop of 0.2 >= alert 0.10 */
  json_t *tc = test_case_of(doc, "accuracy", NULL);
  assert_float_equal(metric(tc, "reference"), 1.0, 1e-12);
  assert_float_equal(metric(tc, "evaluation"), 0.8, 1e-12);
  assert_float_equal(metric(tc, "degradation"), 0.2, 1e-12);
  assert_string_equal(str(tc, "severity"), "SEVERITY_ALERT");
  assert_string_equal(str(tc, "status"), "TEST_CASE_STATUS_FAIL");
  assert_float_equal(json_number_value(json_object_get(tc, "importance_score")), 1.0, 1e-12);
  /* recall: 20 positives, 4 flipped -> 16/20; precision 16 / (16 + 4) */
  assert_float_equal(metric(test_case_of(doc, "recall", NULL), "evaluation"), 0.8, 1e-12);
  assert_float_equal(metric(test_case_of(doc, "precision", NULL), "evaluation"), 0.8, 1e-12);
  assert_float_equal(metric(test_case_of(doc, "false_positive_rate", NULL), "degradation"), 0.2,
                     1e-12);
  /* positive prediction rate 0.5 both sides */
  tc = test_case_of(doc, "positive_prediction_rate", NULL);
  assert_float_equal(metric(tc, "degradation"), 0.0, 1e-12);
  assert_string_equal(str(tc, "status"), "TEST_CASE_STATUS_PASS");
  /* SUBSET_PERFORMANCE on g: overall 0.8, "v" 0.6, gap 0.2 */
  tc = test_case_of(doc, "subset_accuracy", "g");
  assert_float_equal(metric(tc, "overall"), 0.8, 1e-12);
  assert_float_equal(metric(tc, "worst_subset_value"), 0.6, 1e-12);
  assert_float_equal(metric(tc, "gap"), 0.2, 1e-12);
  assert_float_equal(metric(tc, "num_subsets"), 2, 0);
  json_t *subs = json_object_get(json_object_get(tc, "details"), "subsets");
  assert_int_equal(json_array_size(subs), 2);
  assert_string_equal(str(json_array_get(subs, 0), "subset"), "u");
  assert_int_equal(num(json_array_get(subs, 1), "size"), 20);
  assert_string_equal(str(json_object_get(tc, "details"), "worst_subset"), "v");
  /* on x (deciles of 0..39: edges 3.9, 7.8, ..., 35.1; 4 rows a bin, min_sample_size 4):
   * bins 5 and 6 (rows 20..27) accuracy 0 -> gap 0.8, the first of them the worst */
  tc = test_case_of(doc, "subset_accuracy", "x");
  assert_float_equal(metric(tc, "gap"), 0.8, 1e-12);
  assert_float_equal(metric(tc, "num_subsets"), 10, 0);
  subs = json_object_get(json_object_get(tc, "details"), "subsets");
  assert_int_equal(json_array_size(subs), 10);
  assert_string_equal(str(json_array_get(subs, 0), "subset"), "(-inf, 3.9]");
  assert_string_equal(str(json_array_get(subs, 1), "subset"), "(3.9, 7.8]");
  assert_string_equal(str(json_array_get(subs, 9), "subset"), "(35.1, inf)");
  assert_string_equal(str(json_object_get(tc, "details"), "worst_subset"), "(19.5, 23.4]");
  /* subset_f1 keeps the default min_sample_size 20: on x no subset is judged */
  tc = test_case_of(doc, "subset_f1", "x");
  assert_string_equal(str(tc, "status"), "TEST_CASE_STATUS_SKIP");
  assert_non_null(strstr(str(tc, "skip_reason"), "at least 20"));
  assert_true(isnan(metric(tc, "gap")));
  /* SUBSET_PERFORMANCE_DEGRADATION on g: "u" 1 -> 1, "v" 1 -> 0.6 */
  tc = test_case_of(doc, "subset_accuracy_degradation", "g");
  assert_float_equal(metric(tc, "worst_degradation"), 0.4, 1e-12);
  assert_float_equal(metric(tc, "worst_subset"), 1, 0);
  assert_float_equal(metric(tc, "num_subsets"), 2, 0);
  subs = json_object_get(json_object_get(tc, "details"), "subsets");
  assert_float_equal(json_number_value(json_object_get(json_array_get(subs, 1), "evaluation")),
                     0.6, 1e-12);
  assert_int_equal(num(json_array_get(subs, 0), "ref_size"), 20);
  json_decref(doc);
  fx_free(&x);
  free(r);
  free(e);
}

/* Counts of a document agree with its cases; batch and category severities
 * are the worst of theirs. */
static void check_counts(json_t *doc) {
  json_int_t total = 0, pass = 0, warn = 0, fail = 0, skip = 0, sev[3] = {0, 0, 0};
  size_t i, j;
  json_t *b, *tc;
  json_array_foreach(json_object_get(doc, "test_batches"), i, b) {
    json_int_t bt = 0, bf = 0;
    int worst = 0;
    json_array_foreach(json_object_get(b, "test_cases"), j, tc) {
      const char *st = str(tc, "status"), *sv = str(tc, "severity");
      total++, bt++;
      pass += strcmp(st, TC_PASS) == 0;
      warn += strcmp(st, TC_WARNING) == 0;
      fail += strcmp(st, TC_FAIL) == 0, bf += strcmp(st, TC_FAIL) == 0;
      skip += strcmp(st, TC_SKIP) == 0;
      int lvl = strcmp(sv, SEV_ALERT) == 0 ? 2 : strcmp(sv, SEV_WARNING) == 0 ? 1 : 0;
      sev[lvl]++;
      if (lvl > worst) worst = lvl;
      if (strcmp(st, TC_SKIP) == 0) assert_non_null(str(tc, "skip_reason"));
    }
    json_t *sc = json_object_get(b, "summary_counts");
    assert_int_equal(num(sc, "total"), bt);
    assert_int_equal(num(sc, "fail"), bf);
    const char *names[] = {SEV_PASS, SEV_WARNING, SEV_ALERT};
    assert_string_equal(str(b, "severity"), names[worst]);
    assert_true(json_is_integer(json_object_get(b, "duration_in_millis")));
    assert_true(json_is_object(json_object_get(b, "metrics")));
    assert_non_null(str(b, "test_name"));
    assert_non_null(str(b, "category"));
    assert_non_null(str(b, "description"));
    assert_true(json_is_array(json_object_get(b, "failing_features")));
  }
  json_t *sc = json_object_get(doc, "summary_counts");
  assert_int_equal(num(sc, "total"), total);
  assert_int_equal(num(sc, "pass"), pass);
  assert_int_equal(num(sc, "warning"), warn);
  assert_int_equal(num(sc, "fail"), fail);
  assert_int_equal(num(sc, "skip"), skip);
  json_t *sv = json_object_get(doc, "severity_counts");
  assert_int_equal(num(sv, "num_pass_severity"), sev[0]);
  assert_int_equal(num(sv, "num_warning_severity"), sev[1]);
  assert_int_equal(num(sv, "num_alert_severity"), sev[2]);
  json_int_t cat_total = 0;
  json_t *cr;
  json_array_foreach(json_object_get(doc, "category_results"), i, cr) {
    cat_total += num(json_object_get(cr, "summary_counts"), "total");
    json_t *t;
    json_array_foreach(json_object_get(cr, "test_types"), j, t) {
      assert_string_equal(str(test_batch_of(doc, json_string_value(t)), "category"),
                          str(cr, "category"));
    }
    json_array_foreach(json_object_get(cr, "failing_test_types"), j, t) {
      assert_string_not_equal(str(test_batch_of(doc, json_string_value(t)), "severity"), SEV_PASS);
    }
  }
  assert_int_equal(cat_total, total);
}

static void test_document_shape(void **state) {
  (void)state;
  char *r = table(0, 1), *e = table(1, 1);
  fixture x;
  fx_init(&x, BIN, r, e,
          "{\"label_col\": \"label\", \"pred_col\": \"pred\", \"categorical_features\": "
          "[\"code\"], \"features_not_in_model\": [\"x\"], \"protected_features\": [\"g\"]}",
          "[" MP ", " SP ", " SD ", \"TEST_CATEGORY_TYPE_ADVERSARIAL\"]",
          "{\"individual_tests_config\": {\"accuracy\": {\"severity_thresholds\": {\"warning\": "
          "0.15, \"alert\": 0.3}}, \"subset_auc\": {\"exclude_columns\": [\"g\"]}, \"f1\": "
          "{\"run\": false}}}");
  json_t *doc = fx_run(&x);
  assert_string_equal(str(doc, "model_task"), BIN);
  assert_int_equal(num(doc, "random_seed"), 0);
  assert_int_equal(json_array_size(json_object_get(doc, "categories")), 3);
  json_t *skipped = json_object_get(doc, "skipped_categories");
  assert_int_equal(json_array_size(skipped), 1);
  assert_string_equal(str(json_array_get(skipped, 0), "category"),
                      "TEST_CATEGORY_TYPE_ADVERSARIAL");
  json_t *data = json_object_get(doc, "data");
  assert_int_equal(num(data, "ref_rows"), 40);
  assert_string_equal(str(data, "label_col"), "label");
  assert_string_equal(str(data, "pred_source"), "pred_col");
  json_t *fs = json_object_get(data, "features");
  assert_int_equal(json_array_size(fs), 3); /* g, x, code: not label, not pred */
  assert_string_equal(str(json_array_get(fs, 0), "name"), "g");
  assert_string_equal(str(json_array_get(fs, 0), "type"), "categorical");
  assert_true(json_is_true(json_object_get(json_array_get(fs, 0), "protected")));
  assert_string_equal(str(json_array_get(fs, 1), "type"), "numeric");
  assert_true(json_is_false(json_object_get(json_array_get(fs, 1), "in_model")));
  assert_string_equal(str(json_array_get(fs, 2), "name"), "code");
  assert_string_equal(str(json_array_get(fs, 2), "type"), "categorical");
  check_counts(doc);
  /* accuracy's own thresholds: a drop of 0.2 is a warning now */
  json_t *b = test_batch_of(doc, "accuracy");
  assert_string_equal(str(b, "severity"), SEV_WARNING);
  assert_string_equal(str(test_case_of(doc, "accuracy", NULL), "status"), TC_WARNING);
  /* f1 did not run; subset_auc has no case for g; cases in feature order */
  json_t *bb;
  size_t i;
  json_array_foreach(json_object_get(doc, "test_batches"), i, bb)
    assert_string_not_equal(str(bb, "test_type"), "f1");
  json_t *auc_cases = json_object_get(test_batch_of(doc, "subset_auc"), "test_cases");
  assert_int_equal(json_array_size(auc_cases), 2);
  assert_string_equal(json_string_value(json_array_get(
                        json_object_get(json_array_get(auc_cases, 0), "features"), 0)),
                      "x");
  assert_int_equal(
    json_array_size(json_object_get(test_batch_of(doc, "subset_accuracy"), "test_cases")), 3);
  /* the degradation batch failed on g: failing_features, failing_test_types */
  b = test_batch_of(doc, "subset_accuracy_degradation");
  assert_string_equal(str(b, "severity"), SEV_ALERT);
  assert_string_equal(json_string_value(json_array_get(json_object_get(b, "failing_features"), 0)),
                      "g");
  json_t *cr = json_array_get(json_object_get(doc, "category_results"), 2);
  assert_string_equal(str(cr, "category"), "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE_DEGRADATION");
  assert_string_equal(str(cr, "severity"), SEV_ALERT);
  /* catalogue order of batches */
  assert_string_equal(str(json_array_get(json_object_get(doc, "test_batches"), 0), "test_type"),
                      "accuracy");
  json_decref(doc);
  fx_free(&x);
  free(r);
  free(e);
}

/* --- progress, log and cancellation ----------------------------------------------------------- */

typedef struct watch {
  int calls, last_done, total, first_done, monotonic, lines;
  int cancel_after; /* set *flag once done reaches this (0: never) */
  int *flag;
} watch;

static void on_progress(void *ctx, int done, int total) {
  watch *w = ctx;
  if (w->calls++ == 0) w->first_done = done;
  if (done < w->last_done) w->monotonic = 0;
  w->last_done = done;
  w->total = total;
  if (w->cancel_after && done >= w->cancel_after)
    __atomic_store_n(w->flag, RUNNER_CANCEL_JOB, __ATOMIC_RELAXED);
}

static void on_log(void *ctx, const char *line) {
  watch *w = ctx;
  assert_non_null(line);
  assert_null(strchr(line, '\n'));
  w->lines++;
}

static void test_progress_and_log(void **state) {
  (void)state;
  char *r = table(0, 0), *e = table(1, 0);
  fixture x;
  fx_init(&x, BIN, r, e, PARAMS, MINE, NULL);
  watch w = {0, 0, 0, -1, 1, 0, 0, NULL};
  x.in.progress = on_progress;
  x.in.log = on_log;
  x.in.ctx = &w;
  json_t *doc = fx_run(&x);
  int nb = (int)json_array_size(json_object_get(doc, "test_batches"));
  assert_true(nb > 10);
  assert_int_equal(w.first_done, 0);
  assert_int_equal(w.calls, nb + 1);
  assert_int_equal(w.last_done, nb);
  assert_int_equal(w.total, nb);
  assert_true(w.monotonic);
  assert_true(w.lines >= nb + 2);
  json_decref(doc);
  fx_free(&x);
  free(r);
  free(e);
}

static void test_cancel(void **state) {
  (void)state;
  char *r = table(0, 0), *e = table(1, 0);
  fixture x;
  fx_init(&x, BIN, r, e, PARAMS, MINE, NULL);
  int flag = RUNNER_CANCEL_JOB;
  x.in.cancel = &flag;
  fx_fails(&x, ASSAY_ERR_UNAVAILABLE, "stress test cancelled: the job was cancelled");
  /* cancelled while running: after the second batch */
  flag = 0;
  watch w = {0, 0, 0, -1, 1, 0, 2, &flag};
  x.in.progress = on_progress;
  x.in.ctx = &w;
  x.in.threads = 1;
  fx_fails(&x, ASSAY_ERR_UNAVAILABLE, "stress test cancelled");
  assert_true(w.last_done < w.total);
  fx_free(&x);
  free(r);
  free(e);
}

/* --- roles, labels and predictions ------------------------------------------------------------ */

static void expect_error(const char *task, const char *ref, const char *eval, const char *rp,
                         const char *ep, int code, const char *text) {
  fixture x;
  fx_init(&x, task, ref, eval, rp, "[" MP "]", NULL);
  if (ep) {
    json_decref(x.eval_params);
    x.eval_params = test_json_of(ep);
    x.in.eval_params = x.eval_params;
  }
  fx_fails(&x, code, text);
  fx_free(&x);
}

#define T2 "{\"a\": [1, 2], \"label\": [0, 1], \"pred\": [0.2, 0.7]}"

static void test_role_errors(void **state) {
  (void)state;
  expect_error(BIN, T2, T2, "{\"label_col\": \"nope\"}", NULL, ASSAY_ERR_DATA,
               "label column \"nope\" (data_params.label_col) is not a column of the reference");
  expect_error(BIN, T2, T2, PARAMS, "{\"label_col\": \"a\"}", ASSAY_ERR_CONFIG,
               "data_params.label_col (\"a\") differs from the reference's (\"label\")");
  expect_error(BIN, T2, T2, "{\"label_col\": \"label\", \"categorical_features\": [\"zz\"]}",
               NULL, ASSAY_ERR_CONFIG,
               "data_params.categorical_features: \"zz\" is not a column of the reference");
  expect_error(BIN, T2, T2, "{\"label_col\": \"label\", \"class_names\": [\"a\", \"b\", \"c\"]}",
               NULL, ASSAY_ERR_CONFIG, "a binary task has 2 classes");
  expect_error(BIN, T2, T2, "{\"label_col\": \"label\", \"pred_col\": \"zz\"}", NULL,
               ASSAY_ERR_DATA, "prediction column \"zz\" (data_params.pred_col)");
  expect_error(BIN, T2, "{\"a\": [1, 2], \"label\": [0, 2], \"pred\": [0.2, 0.7]}", PARAMS, NULL,
               ASSAY_ERR_DATA,
               "label column \"label\" of the evaluation, row 1: 2 is not a class of this binary "
               "task (expected 0..1)");
  expect_error(BIN, T2, "{\"a\": [1, 2], \"label\": [0, 0.5], \"pred\": [0.2, 0.7]}", PARAMS,
               NULL, ASSAY_ERR_DATA, "row 1: 0.5 is not a class");
  expect_error(BIN, "{\"a\": [1, 2], \"label\": [\"x\", \"y\"], \"pred\": [0.2, 0.7]}", T2,
               PARAMS, NULL, ASSAY_ERR_DATA, "data_params.class_names naming the two classes");
  expect_error(BIN, "{\"a\": [1, 2], \"label\": [\"x\", \"y\"], \"pred\": [0.2, 0.7]}", T2,
               "{\"label_col\": \"label\", \"class_names\": [\"x\", \"z\"]}", NULL,
               ASSAY_ERR_DATA, "row 1: \"y\" is not one of the classes [\"x\",\"z\"]");
  expect_error(BIN, T2, "{\"a\": [1, 2], \"label\": [0, 1], \"pred\": [0.2, 1.7]}", PARAMS, NULL,
               ASSAY_ERR_DATA, "row 1: 1.7 is not a probability");
  expect_error(BIN, T2, "{\"a\": [1, 2], \"label\": [0, 1], \"pred\": [\"a\", \"b\"]}", PARAMS,
               NULL, ASSAY_ERR_DATA, "holds text values; expected numbers");
  expect_error(REG, T2, "{\"a\": [1, 2], \"label\": [\"a\", \"b\"], \"pred\": [1, 2]}", PARAMS,
               NULL, ASSAY_ERR_DATA, "a regression task needs numbers");
  expect_error(MC, T2, T2, PARAMS, NULL, ASSAY_ERR_CONFIG,
               "expected an array of the k probability columns in class order");
  expect_error(REG, T2, T2, "{\"label_col\": \"label\", \"class_names\": [\"a\", \"b\"]}", NULL,
               ASSAY_ERR_CONFIG, "class_names is for classification");
  /* an unknown task */
  fixture x;
  fx_init(&x, BIN, T2, T2, PARAMS, "[" MP "]", NULL);
  x.in.model_task = "MODEL_TASK_RANKING";
  fx_fails(&x, ASSAY_ERR_CONFIG, "has no stress tests in this version");
  fx_free(&x);
}

static void test_prediction_frames(void **state) {
  (void)state;
  fixture x;
  fx_init(&x, BIN, T2, T2, "{\"label_col\": \"label\", \"pred_col\": \"pred\"}", "[" MP "]",
          NULL);
  /* a prediction frame of the wrong length */
  x.ref_pred = test_frame_of("{\"prediction\": [0.1, 0.9, 0.5]}");
  x.in.ref_pred = x.ref_pred;
  fx_fails(&x, ASSAY_ERR_DATA, "the reference's predictions have 3 rows; the reference has 2");
  frame_free(x.ref_pred);
  /* two columns for a binary task */
  x.ref_pred = test_frame_of("{\"a\": [0.1, 0.9], \"b\": [0.9, 0.1]}");
  x.in.ref_pred = x.ref_pred;
  fx_fails(&x, ASSAY_ERR_DATA, "have 2 columns; expected 1");
  frame_free(x.ref_pred);
  /* frames win over pred_col; pred stays out of the features */
  x.ref_pred = test_frame_of("{\"prediction\": [0.9, 0.1]}");
  x.eval_pred = test_frame_of("{\"prediction\": [0.2, 0.8]}");
  x.in.ref_pred = x.ref_pred;
  x.in.eval_pred = x.eval_pred;
  json_t *doc = fx_run(&x);
  assert_string_equal(str(json_object_get(doc, "data"), "pred_source"), "predictions");
  assert_int_equal(json_array_size(json_object_get(json_object_get(doc, "data"), "features")), 1);
  /* reference accuracy 0 (both wrong), evaluation 1 */
  json_t *tc = test_case_of(doc, "accuracy", NULL);
  assert_float_equal(metric(tc, "reference"), 0.0, 0);
  assert_float_equal(metric(tc, "evaluation"), 1.0, 0);
  json_decref(doc);
  fx_free(&x);
  /* no predictions at all: tests needing them are one skipped case each */
  fx_init(&x, BIN, T2, T2, "{\"label_col\": \"label\"}", "[" MP "]", NULL);
  doc = fx_run(&x);
  tc = test_case_of(doc, "auc", NULL);
  assert_string_equal(str(tc, "status"), TC_SKIP);
  assert_non_null(strstr(str(tc, "skip_reason"), "needs predictions"));
  assert_string_equal(str(json_object_get(doc, "data"), "pred_source"), "none");
  json_decref(doc);
  fx_free(&x);
}

static void test_multiclass_labels(void **state) {
  (void)state;
  /* text labels without class_names: classes sorted (as LabelEncoder) */
  const char *t = "{\"a\": [1, 2, 3, 4], \"label\": [\"cat\", \"ant\", \"bee\", \"cat\"], "
                  "\"p0\": [0.1, 0.8, 0.1, 0.2], \"p1\": [0.1, 0.1, 0.7, 0.2], "
                  "\"p2\": [0.8, 0.1, 0.2, 0.6]}";
  fixture x;
  fx_init(&x, MC, t, t, "{\"label_col\": \"label\", \"pred_col\": [\"p0\", \"p1\", \"p2\"]}",
          "[" MP "]", NULL);
  json_t *doc = fx_run(&x);
  json_t *names = json_object_get(json_object_get(doc, "data"), "class_names");
  assert_int_equal(json_array_size(names), 3);
  assert_string_equal(json_string_value(json_array_get(names, 0)), "ant");
  assert_string_equal(json_string_value(json_array_get(names, 2)), "cat");
  /* every prediction right */
  assert_float_equal(metric(test_case_of(doc, "multiclass_accuracy", NULL), "evaluation"), 1.0, 0);
  /* mean max-probability (0.8 + 0.8 + 0.7 + 0.6) / 4 */
  assert_float_equal(metric(test_case_of(doc, "average_confidence", NULL), "reference"), 0.725,
                     1e-12);
  json_decref(doc);
  /* probabilities that do not sum to one; a partly missing row */
  stress_ctx c;
  frame_free(x.eval_pred);
  x.eval_pred = test_frame_of("{\"a\": [0.5, 0.5, 0.2, 0.2], \"b\": [0.5, 0.5, 0.2, 0.2], "
                              "\"c\": [0.0, 0.0, 0.2, 0.6]}");
  x.in.eval_pred = x.eval_pred;
  assert_int_equal(stress_prepare(&c, &x.in), ASSAY_ERR_DATA);
  assert_non_null(strstr(assay_error_last()->message, "row 2 sum to 0.6"));
  frame_free(x.eval_pred);
  x.eval_pred = test_frame_of("{\"a\": [0.5, null, 0.2, 0.2], \"b\": [0.5, 0.5, 0.2, 0.2], "
                              "\"c\": [0.0, 0.5, 0.6, 0.6]}");
  x.in.eval_pred = x.eval_pred;
  assert_int_equal(stress_prepare(&c, &x.in), ASSAY_ERR_DATA);
  assert_non_null(strstr(assay_error_last()->message, "row 1 have 1 missing values of 3"));
  frame_free(x.eval_pred);
  x.eval_pred = test_frame_of("{\"a\": [0.5, 0.5, 0.2, 0.2], \"b\": [0.5, 0.5, 0.2, 0.2]}");
  x.in.eval_pred = x.eval_pred;
  assert_int_equal(stress_prepare(&c, &x.in), ASSAY_ERR_DATA);
  assert_non_null(strstr(assay_error_last()->message, "have 2 columns; expected 3"));
  fx_free(&x);
  /* integer labels beyond the probability columns */
  expect_error(MC, "{\"a\": [1, 2], \"label\": [0, 3], \"p0\": [0.5, 0.5], \"p1\": [0.5, 0.5]}",
               "{\"a\": [1, 2], \"label\": [0, 1], \"p0\": [0.5, 0.5], \"p1\": [0.5, 0.5]}",
               "{\"label_col\": \"label\", \"pred_col\": [\"p0\", \"p1\"]}", NULL, ASSAY_ERR_DATA,
               "3 is not a class of this multiclass task (expected 0..1)");
}

/* --- prepare: features and category codes ----------------------------------------------------- */

static void test_prepare_codes(void **state) {
  (void)state;
  fixture x;
  fx_init(&x, BIN,
          "{\"s\": [\"b\", \"a\", \"b\", null, \"c\", \"a\", \"b\"], \"i\": [3, 1, 3, 2, 2, 2, 1], "
          "\"f\": [1.0, 2.5, 1.0, 1.0, null, 2.5, 2.5], \"t\": [true, false, true, true, true, "
          "false, null], \"n\": [1, 2, 3, 4, 5, 6, 7], \"label\": [0, 1, 0, 1, 0, 1, 0], "
          "\"skip\": [1, 2, 3, 4, 5, 6, 7], \"gone\": [1, 1, 1, 1, 1, 1, 1]}",
          "{\"s\": [\"d\", \"e\", \"d\", \"a\", null], \"i\": [9, 3, 9, 9, 1], \"f\": [2.5, 1.0, "
          "1.0, 7.0, 1.0], \"t\": [false, false, null, true, true], \"n\": [\"1.5\", \"x\", "
          "null, \"inf\", \" 2 \"], \"label\": [0, 0, 1, 1, 0]}",
          "{\"label_col\": \"label\", \"categorical_features\": [\"i\", \"f\"], "
          "\"text_features\": [\"skip\"]}",
          "[" MP "]", "{\"global_exclude_columns\": [\"gone\"]}");
  stress_ctx c;
  assert_int_equal(stress_prepare(&c, &x.in), 0);
  assert_int_equal(c.nfeatures, 5); /* s i f t n: not label, skip (text), gone (excluded) */
  stress_feature *s = &c.features[0], *i = &c.features[1], *f = &c.features[2];
  stress_feature *t = &c.features[3], *n = &c.features[4];
  assert_string_equal(n->name, "n");
  assert_true(s->categorical && i->categorical && f->categorical && t->categorical);
  assert_false(n->categorical);
  /* strings: b (3 rows), a (2), c (1); then the evaluation's d (2), e (1) */
  assert_int_equal(s->ncat_ref, 3);
  assert_int_equal(s->ncat, 5);
  const char *snames[] = {"b", "a", "c", "d", "e"};
  for (int k = 0; k < 5; k++) assert_string_equal(s->cat_names[k], snames[k]);
  const int32_t sref[] = {0, 1, 0, -1, 2, 1, 0}, seval[] = {3, 4, 3, 1, -1};
  assert_memory_equal(s->ref_codes, sref, sizeof sref);
  assert_memory_equal(s->eval_codes, seval, sizeof seval);
  /* integers: 2 (3 rows), then 3 and 1 (2 each: 3 appears first); 9 evaluation-only */
  const char *inames[] = {"2", "3", "1", "9"};
  assert_int_equal(i->ncat, 4);
  for (int k = 0; k < 4; k++) assert_string_equal(i->cat_names[k], inames[k]);
  const int32_t ieval[] = {3, 1, 3, 3, 2};
  assert_memory_equal(i->eval_codes, ieval, sizeof ieval);
  /* floats as the CSV writer writes them */
  assert_int_equal(f->ncat, 3);
  assert_string_equal(f->cat_names[0], "1.0");
  assert_string_equal(f->cat_names[1], "2.5");
  assert_string_equal(f->cat_names[2], "7.0");
  assert_int_equal(f->ref_codes[4], -1);
  /* bools: True (4), False (2) */
  assert_string_equal(t->cat_names[0], "True");
  assert_string_equal(t->cat_names[1], "False");
  const int32_t teval[] = {1, 1, -1, 0, 0};
  assert_memory_equal(t->eval_codes, teval, sizeof teval);
  /* a numeric feature whose evaluation column is text: parsed where it can be */
  assert_float_equal(stress_num(n->eval_col, 0), 1.5, 0);
  assert_true(isnan(stress_num(n->eval_col, 1)));
  assert_true(isnan(stress_num(n->eval_col, 2)));
  assert_true(isinf(stress_num(n->eval_col, 3)));
  assert_float_equal(stress_num(n->eval_col, 4), 2.0, 0);
  size_t m;
  double *v = NULL;
  assert_int_equal(stress_sorted_values(&c, n, 1, &v, &m), 0); /* "x" and "inf" left out */
  assert_int_equal(m, 2);
  assert_float_equal(v[0], 1.5, 0);
  assert_float_equal(v[1], 2.0, 0);
  free(v);
  assert_int_equal(stress_sorted_values(&c, n, 0, &v, &m), 0);
  assert_int_equal(m, 7);
  free(v);
  assert_int_equal(stress_sorted_values(&c, s, 0, &v, &m), 0); /* categorical */
  assert_null(v);
  double *tmp = NULL;
  const double *e = stress_edges(&c, n, 4, &m, &tmp);
  assert_null(tmp);
  assert_int_equal(m, 3);
  assert_float_equal(e[0], 2.5, 0);
  assert_float_equal(e[1], 4.0, 0);
  assert_float_equal(e[2], 5.5, 0);
  e = stress_edges(&c, n, 2, &m, &tmp);
  assert_non_null(tmp);
  assert_ptr_equal(e, tmp);
  assert_int_equal(m, 1);
  assert_float_equal(e[0], 4.0, 0);
  free(tmp);
  const stress_numstats *ns = stress_ref_stats(&c, n);
  assert_non_null(ns);
  assert_ptr_equal(stress_ref_stats(&c, n), ns); /* computed once */
  assert_null(stress_ref_stats(&c, s));          /* categorical */
  assert_int_equal(ns->n, 7);
  assert_float_equal(ns->min, 1, 0);
  assert_float_equal(ns->max, 7, 0);
  assert_float_equal(ns->q1, 2.5, 0);
  assert_float_equal(ns->q3, 5.5, 0);
  /* labels */
  assert_int_equal(c.side[0].labeled, 7);
  assert_int_equal(c.side[1].label_class[2], 1);
  assert_null(c.side[0].score);
  assert_string_equal(c.pred_source, "none");
  stress_release(&c);
  fx_free(&x);
}

/* The score order and its views: rows with a score, ascending, ties by row. */
static void test_score_order(void **state) {
  (void)state;
  fixture x;
  fx_init(&x, BIN, "{\"a\": [1, 2, 3, 4, 5, 6], \"label\": [1, 0, null, 1, 0, 1], "
                   "\"pred\": [0.5, 0.25, 0.5, null, 0.0, 0.75]}",
          T2, PARAMS, "[" MP "]", NULL);
  stress_ctx c;
  assert_int_equal(stress_prepare(&c, &x.in), 0);
  stress_side *sd = &c.side[0];
  assert_int_equal(sd->nscored, 5);
  assert_int_equal(sd->npred, 5);
  const size_t order[] = {4, 1, 0, 2, 5};
  for (int k = 0; k < 5; k++) assert_int_equal(sd->score_order[k], order[k]);
  const int32_t rank[] = {2, 1, 3, -1, 0, 4};
  assert_memory_equal(sd->score_rank, rank, sizeof rank);
  const int8_t lab[] = {0, 0, 1, -1, 1};
  assert_memory_equal(sd->label_sorted, lab, sizeof lab);
  assert_float_equal(sd->score_sorted[4], 0.75, 0);
  const int32_t pc[] = {1, 0, 1, -1, 0, 1};
  assert_memory_equal(sd->pred_class, pc, sizeof pc);
  /* overall metrics: rows 0 1 4 5 have both: accuracy 4/4; AUC 1 */
  const stress_perf *p = stress_overall(&c, 0);
  assert_non_null(p);
  assert_int_equal(p->n, 4);
  assert_float_equal(p->accuracy, 1.0, 0);
  assert_float_equal(p->auc, 1.0, 0);
  assert_float_equal(p->mean_pred, 2.0 / 5, 1e-15);
  const int64_t rows[] = {0, 1};
  assert_float_equal(stress_headline_rows(&c, rows, 2), 1.0, 0); /* of the evaluation */
  stress_release(&c);
  fx_free(&x);
}

static void test_argsort(void **state) {
  (void)state;
  enum { N = 5000 };
  double *k = malloc(N * sizeof *k);
  size_t *idx = malloc(N * sizeof *idx);
  srand(7);
  for (int i = 0; i < N; i++) {
    int r = rand() % 9;
    k[i] = r == 0 ? -0.0 : r == 1 ? 0.0 : r == 2 ? -INFINITY : r == 3 ? INFINITY
           : (double)(rand() % 50) / 7 - 3;
  }
  assert_int_equal(stress_argsort(k, N, idx), 0);
  for (int i = 1; i < N; i++) {
    assert_true(k[idx[i - 1]] <= k[idx[i]]);
    if (k[idx[i - 1]] == k[idx[i]]) assert_true(idx[i - 1] < idx[i]); /* stable, -0 == 0 */
  }
  /* larger: buckets of one value, one crowded bucket (a far outlier puts
   * every other key in it), keys past the largest double's half range */
  enum { M = 200003 };
  double *v = malloc(M * sizeof *v);
  size_t *o = malloc(M * sizeof *o);
  unsigned char *seen = malloc(M);
  for (int kind = 0; kind < 4; kind++) {
    for (int i = 0; i < M; i++) {
      double u = (double)rand() / RAND_MAX;
      v[i] = kind == 0 ? u : kind == 1 ? (i == 77 ? 1e300 : u) : kind == 2 ? (u - 0.5) * 1.7e308 * 1.5
             : (double)(rand() % 3);
    }
    assert_int_equal(stress_argsort(v, M, o), 0);
    memset(seen, 0, M);
    for (int i = 0; i < M; i++) {
      assert_true(o[i] < M && !seen[o[i]]);
      seen[o[i]] = 1;
      if (i && !(v[o[i - 1]] < v[o[i]])) {
        assert_true(v[o[i - 1]] == v[o[i]]);
        assert_true(o[i - 1] < o[i]);
      }
    }
  }
  free(v);
  free(o);
  free(seen);
  double small[] = {3, 1, 2, 1};
  size_t si[4];
  assert_int_equal(stress_argsort(small, 4, si), 0);
  assert_int_equal(si[0], 1);
  assert_int_equal(si[1], 3);
  assert_int_equal(si[3], 0);
  free(k);
  free(idx);
}

/* --- the pool ------------------------------------------------------------------------------- */

typedef struct pool_job {
  stress_ctx *c;
  int count, inner;
} pool_job;

static int inner_item(void *arg, int i) {
  pool_job *j = arg;
  __atomic_fetch_add(&j->inner, 1, __ATOMIC_RELAXED);
  if (i == 3) return assay__err(ASSAY_ERR_DATA, "item three failed");
  return 0;
}

static int outer_item(void *arg, int i) {
  pool_job *j = arg;
  __atomic_fetch_add(&j->count, 1, __ATOMIC_RELAXED);
  if (i == 5) return stress_parallel(j->c, 10, inner_item, j); /* nested; fails */
  usleep(1000);
  return 0;
}

static void test_parallel(void **state) {
  (void)state;
  fixture x;
  fx_init(&x, BIN, T2, T2, PARAMS, "[" MP "]", NULL);
  for (int threads = 1; threads <= 4; threads++) {
    x.in.threads = threads;
    stress_ctx c;
    assert_int_equal(stress_prepare(&c, &x.in), 0);
    assert_int_equal(c.threads, threads);
    pool_job j = {&c, 0, 0};
    assay_error_clear();
    int rc = stress_parallel(&c, 40, outer_item, &j);
    assert_int_equal(rc, ASSAY_ERR_DATA);
    assert_string_equal(assay_error_last()->message, "item three failed");
    assert_int_equal(j.count, 40); /* the others still ran */
    assert_int_equal(j.inner, 10);
    assert_int_equal(stress_parallel(&c, 0, outer_item, &j), 0);
    stress_release(&c);
  }
  fx_free(&x);
}

/* --- the catalogue ---------------------------------------------------------------------------- */

static void test_every_catalogue_test_implemented(void **state) {
  (void)state;
  stress_test_fn (*const finders[])(const char *) = {tests_performance_find, tests_subset_find,
                                                     tests_drift_find, tests_abnormal_find,
                                                     tests_cleanliness_find};
  int n = 0;
  for (const test_def *d = test_catalog; d->type; d++, n++) {
    int found = 0;
    for (size_t k = 0; k < sizeof finders / sizeof *finders; k++) found += finders[k](d->type) != NULL;
    if (found != 1) fail_msg("catalogue test %s: %d implementations", d->type, found);
  }
  assert_true(n >= 60);
  for (size_t k = 0; k < sizeof finders / sizeof *finders; k++) assert_null(finders[k]("nope"));
  /* a run of every test of every task and category succeeds */
  const char *tasks[] = {BIN, MC, REG};
  const char *data[] = {
    "{\"a\": [1, 2, 3, 4], \"s\": [\"x\", \"y\", \"x\", \"\"], \"label\": [0, 1, 1, 0], "
    "\"pred\": [0.2, 0.7, 0.4, 0.1]}",
    "{\"a\": [1, 2, 3, 4], \"s\": [\"x\", \"y\", \"x\", \"\"], \"label\": [0, 1, 2, 0], "
    "\"p0\": [0.8, 0.1, 0.3, 0.5], \"p1\": [0.1, 0.8, 0.3, 0.2], \"p2\": [0.1, 0.1, 0.4, 0.3]}",
    "{\"a\": [1, 2, 3, 4], \"s\": [\"x\", \"y\", \"x\", \"\"], \"label\": [1.5, 2, 3, 0], "
    "\"pred\": [1, 2, 2.5, 0.5]}"};
  const char *params[] = {PARAMS,
                          "{\"label_col\": \"label\", \"pred_col\": [\"p0\", \"p1\", \"p2\"]}",
                          PARAMS};
  for (int t = 0; t < 3; t++) {
    fixture x;
    fx_init(&x, tasks[t], data[t], data[t], params[t],
            "[" MP ", " SP ", " SD ", \"TEST_CATEGORY_TYPE_DRIFT\", "
            "\"TEST_CATEGORY_TYPE_ABNORMAL_INPUTS\", \"TEST_CATEGORY_TYPE_DATA_CLEANLINESS\"]",
            NULL);
    json_t *doc = fx_run(&x);
    size_t ran = json_array_size(json_object_get(doc, "test_batches")), want = 0;
    for (const test_def *d = test_catalog; d->type; d++) want += (d->tasks & test_task_bit(tasks[t])) != 0;
    assert_int_equal(ran, want);
    check_counts(doc);
    json_decref(doc);
    fx_free(&x);
  }
}

/* --- assay__debug_stress ---------------------------------------------------------------------- */

static void write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static void test_debug_stress(void **state) {
  (void)state;
  char *home = make_home();
  char ref[4096], eval[4096], *req = NULL, *out = NULL;
  snprintf(ref, sizeof ref, "%s/ref.csv", home);
  snprintf(eval, sizeof eval, "%s/eval.csv", home);
  const char *csv = "when,at,x,label,pred\n"
                    "2024-01-01,2024-02-01T00:00:00Z,1.5,0,0.25\n"
                    "2024-01-02,2024-02-02T00:00:00Z,2.5,1,0.75\n"
                    "2024-01-03,2024-02-03T00:00:00Z,,1,0.5\n";
  write_file(ref, csv);
  write_file(eval, csv);
  if (asprintf(&req,
               "{\"model_task\": \"%s\", \"ref_path\": \"%s\", \"eval_path\": \"%s\", "
               "\"ref_params\": {\"label_col\": \"label\", \"pred_col\": \"pred\", "
               "\"timestamp_col\": \"when\"}, \"config\": {\"categories\": [%s]}, \"threads\": 2}",
               BIN, ref, eval, MP) < 0)
    abort();
  int rc = assay__debug_stress(req, &out);
  if (rc) fail_msg("assay__debug_stress: %s", assay_error_last()->message);
  json_t *doc = test_json_of(out);
  json_t *timing = json_object_get(doc, "timing");
  assert_true(json_number_value(json_object_get(timing, "run_seconds")) >= 0);
  assert_true(json_integer_value(json_object_get(timing, "peak_rss_kb")) > 0);
  json_t *fs = json_object_get(json_object_get(doc, "data"), "features");
  assert_int_equal(json_array_size(fs), 2); /* at (a timestamp, numeric) and x */
  assert_string_equal(str(json_array_get(fs, 0), "name"), "at");
  assert_string_equal(str(json_array_get(fs, 0), "type"), "numeric");
  assert_float_equal(metric(test_case_of(doc, "accuracy", NULL), "reference"), 1.0, 0);
  json_decref(doc);
  free(out);
  free(req);
  out = NULL;
  assert_int_equal(assay__debug_stress("[]", &out), ASSAY_ERR_CONFIG);
  assert_int_equal(assay__debug_stress("{\"model_task\": \"x\"}", &out), ASSAY_ERR_CONFIG);
  if (asprintf(&req, "{\"model_task\": \"%s\", \"ref_path\": \"%s/none.csv\", \"eval_path\": "
               "\"%s\"}", BIN, home, eval) < 0)
    abort();
  assert_int_equal(assay__debug_stress(req, &out), ASSAY_ERR_NOT_FOUND);
  assert_null(out);
  free(req);
  rm_home(home);
}

/* A categorical feature of many values: details list at most 100 subsets,
 * plus the worst one wherever it is. */
static void test_many_subsets(void **state) {
  (void)state;
  enum { N = 150 };
  char *cats = NULL, *labels = NULL, *ref_pred = NULL, *eval_pred = NULL;
  size_t a = 0, b = 0, c = 0, d = 0;
  FILE *fc = open_memstream(&cats, &a), *fl = open_memstream(&labels, &b);
  FILE *fr = open_memstream(&ref_pred, &c), *fe = open_memstream(&eval_pred, &d);
  for (int i = 0; i < N; i++) {
    const char *sep = i ? ", " : "";
    fprintf(fc, "%s\"k%03d\"", sep, i);
    fprintf(fl, "%s%d", sep, i % 2);
    fprintf(fr, "%s%g", sep, i % 2 ? 0.9 : 0.1);
    fprintf(fe, "%s%g", sep, i == 140 ? (i % 2 ? 0.1 : 0.9) : (i % 2 ? 0.9 : 0.1));
  }
  fclose(fc), fclose(fl), fclose(fr), fclose(fe);
  char *rt = NULL, *et = NULL;
  if (asprintf(&rt, "{\"k\": [%s], \"label\": [%s], \"pred\": [%s]}", cats, labels, ref_pred) < 0 ||
      asprintf(&et, "{\"k\": [%s], \"label\": [%s], \"pred\": [%s]}", cats, labels, eval_pred) < 0)
    abort();
  fixture x;
  fx_init(&x, BIN, rt, et, PARAMS, "[" SP ", " SD "]",
          "{\"individual_tests_config\": {\"subset_accuracy\": {\"min_sample_size\": 1}, "
          "\"subset_accuracy_degradation\": {\"min_sample_size\": 1}}}");
  json_t *doc = fx_run(&x);
  json_t *tc = test_case_of(doc, "subset_accuracy", "k");
  json_t *subs = json_object_get(json_object_get(tc, "details"), "subsets");
  assert_int_equal(json_array_size(subs), 101);
  assert_string_equal(str(json_array_get(subs, 100), "subset"), "k140");
  assert_float_equal(metric(tc, "num_subsets"), N, 0);
  assert_float_equal(metric(tc, "worst_subset_value"), 0.0, 0);
  tc = test_case_of(doc, "subset_accuracy_degradation", "k");
  subs = json_object_get(json_object_get(tc, "details"), "subsets");
  assert_int_equal(json_array_size(subs), 101);
  assert_float_equal(metric(tc, "worst_subset"), 100, 0);
  assert_float_equal(metric(tc, "worst_degradation"), 1.0, 0);
  json_decref(doc);
  fx_free(&x);
  free(cats), free(labels), free(ref_pred), free(eval_pred), free(rt), free(et);
}

/* The evaluation names its own prediction column; the reference has none. */
static void test_eval_only_predictions(void **state) {
  (void)state;
  char *r = table(0, 0), *e = table(1, 0);
  fixture x;
  fx_init(&x, BIN, r, e, "{\"label_col\": \"label\"}", MINE, NULL);
  json_decref(x.eval_params);
  x.eval_params = test_json_of(PARAMS);
  x.in.eval_params = x.eval_params;
  json_t *doc = fx_run(&x);
  /* pred, the evaluation's prediction column, is no feature on either side */
  assert_int_equal(json_array_size(json_object_get(json_object_get(doc, "data"), "features")), 2);
  json_t *tc = test_case_of(doc, "subset_accuracy_degradation", NULL);
  assert_string_equal(str(tc, "status"), TC_SKIP);
  assert_string_equal(str(tc, "skip_reason"),
                      "needs predictions on both datasets: the reference has none");
  tc = test_case_of(doc, "accuracy", NULL);
  assert_string_equal(str(tc, "skip_reason"),
                      "needs predictions on both datasets: the reference has none");
  tc = test_case_of(doc, "subset_accuracy", "g");
  assert_float_equal(metric(tc, "gap"), 0.2, 1e-12);
  json_decref(doc);
  fx_free(&x);
  free(r);
  free(e);
}

/* --- quantiles by selection (stress_quantiles) against sorting ------------------------- */

static uint64_t qrng = 0x9e3779b97f4a7c15ull;
static uint64_t qnext(void) { /* xorshift64* */
  qrng ^= qrng >> 12;
  qrng ^= qrng << 25;
  qrng ^= qrng >> 27;
  return qrng * 0x2545f4914f6cdd1dull;
}
static double qunit(void) { return (double)(qnext() >> 11) / 9007199254740992.0; }
static double qnormal(void) { /* Box-Muller */
  double u = qunit(), v = qunit();
  return sqrt(-2 * log(u > 0 ? u : 1e-300)) * cos(6.283185307179586 * v);
}

/* Value i of data set kind k. */
static double qvalue(int k, size_t i, size_t n) {
  switch (k) {
    case 0: return qnormal();                                   /* continuous */
    case 1: return (double)(qnext() % 7);                       /* heavy ties */
    case 2: return i == n / 2 ? 1e300 : qnormal();              /* one far outlier */
    case 3: return (qnext() & 1) ? 1.7e308 : -1.7e308 * qunit(); /* range past DBL_MAX */
    case 4: { /* signed zeros among few values */
      uint64_t r = qnext() % 5;
      return r == 0 ? -0.0 : r == 1 ? 0.0 : r == 2 ? -1.0 : r == 3 ? 1.0 : 0.5;
    }
    case 5: return ldexp((double)(qnext() % 1000), -1074);      /* subnormals */
    case 6: return ldexp(1.0, (int)(qnext() % 2000) - 1000);    /* exponentially spread */
    case 7: { /* NaN, inf among normal values: left out */
      uint64_t r = qnext() % 10;
      return r == 0 ? NAN : r == 1 ? INFINITY : r == 2 ? -INFINITY : qnormal();
    }
    case 8: return i % 1000 == 7 ? 43.0 : 42.0;                 /* a sample may see one value */
    default: return 42.0;                                       /* one value */
  }
}

static void test_quantiles_by_selection(void **state) {
  (void)state;
  const size_t sizes[] = {0, 1, 2, 3, 17, 4095, 4096, 4097, 20000, 150001};
  double qs[103];
  int nq = 0;
  for (int i = 1; i < 100; i++) qs[nq++] = i / 100.0;
  qs[nq++] = 0;
  qs[nq++] = 1;
  qs[nq++] = 0.25;
  qs[nq++] = 0.1;
  for (int k = 0; k <= 9; k++) {
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
      size_t n = sizes[z];
      double *v = malloc((n + 1) * sizeof *v), *s = malloc((n + 1) * sizeof *s);
      assert_non_null(v);
      assert_non_null(s);
      size_t m = 0;
      for (size_t i = 0; i < n; i++) {
        v[i] = qvalue(k, i, n);
        if (isfinite(v[i])) s[m++] = v[i];
      }
      assert_int_equal(stats_sort_f64(s, m, NULL), 0);
      double out[103];
      size_t nf = 99;
      assert_int_equal(stress_quantiles(v, (int64_t)n, qs, nq, out, &nf), 0);
      assert_int_equal(nf, m);
      for (int q = 0; q < nq; q++) {
        double want = stats_quantile_sorted(s, m, qs[q]);
        if (m == 0) {
          assert_true(isnan(out[q]));
          continue;
        }
        if (memcmp(&want, &out[q], sizeof want) != 0)
          fail_msg("kind %d, n %zu, q %g: selection %.17g, sorted %.17g", k, n, qs[q], out[q],
                   want);
      }
      free(v);
      free(s);
    }
  }
}

/* The shared per-row bins (stress_bins) against stats_bin_of over the
 * shared edges, for 0 to 9 edges (k distinct values), with nulls and
 * infinities on both sides. */
static void test_shared_bins(void **state) {
  (void)state;
  enum { N = 203 };
  for (int k = 1; k <= 12; k++) {
    char *ref = NULL, *ev = NULL;
    size_t rl = 0, el = 0;
    FILE *rf = open_memstream(&ref, &rl), *ef = open_memstream(&ev, &el);
    fputs("{\"x\": [", rf);
    fputs("{\"x\": [", ef);
    for (int i = 0; i < N; i++) {
      if (i % 17 == 5) fprintf(rf, "%snull", i ? ", " : "");
      else fprintf(rf, "%s%d.5", i ? ", " : "", (i * 7) % k);
      if (i % 13 == 4) fprintf(ef, "%snull", i ? ", " : "");
      else fprintf(ef, "%s%.1f", i ? ", " : "", ((i * 5) % (2 * k + 3)) * 0.5 - 1);
    }
    fputs("]}", rf);
    fputs("]}", ef);
    fclose(rf);
    fclose(ef);
    fixture x;
    fx_init(&x, BIN, ref, ev, NULL, "[\"TEST_CATEGORY_TYPE_DRIFT\"]", NULL);
    free(ref);
    free(ev);
    /* infinities among the values */
    double *rv = (double *)(uintptr_t)x.ref->cols[0].values;
    double *evv = (double *)(uintptr_t)x.eval->cols[0].values;
    rv[3] = INFINITY, rv[8] = -INFINITY, evv[2] = -INFINITY, evv[9] = INFINITY;
    stress_ctx c;
    assert_int_equal(stress_prepare(&c, &x.in), 0);
    stress_feature *f = &c.features[0];
    /* the edges: stats_quantile_edges of the sorted finite reference values */
    double s[N], want[STRESS_DEFAULT_BINS];
    size_t n = 0;
    for (int i = 0; i < N; i++)
      if (col_valid(&x.ref->cols[0], i) && isfinite(rv[i])) s[n++] = rv[i];
    assert_int_equal(stats_sort_f64(s, n, NULL), 0);
    size_t wm = stats_quantile_edges(s, n, STRESS_DEFAULT_BINS, want);
    for (int side = 0; side < 2; side++) {
      const double *e;
      size_t m;
      const uint8_t *b = stress_bins(&c, f, side, &e, &m);
      assert_non_null(b);
      assert_int_equal(m, wm);
      assert_memory_equal(e, want, m * sizeof *e);
      const column *col = side ? &x.eval->cols[0] : &x.ref->cols[0];
      const double *v = side ? evv : rv;
      for (int i = 0; i < N; i++) {
        int code = !col_valid(col, i)    ? STRESS_BIN_NULL
                   : v[i] == -INFINITY ? STRESS_BIN_NEGINF
                   : v[i] == INFINITY  ? STRESS_BIN_POSINF
                                       : (int)stats_bin_of(want, wm, v[i]);
        if (b[i] != code) fail_msg("k %d, side %d, row %d: code %d, expected %d", k, side, i,
                                   b[i], code);
      }
      assert_ptr_equal(stress_bins(&c, f, side, &e, &m), b); /* computed once */
    }
    stress_release(&c);
    fx_free(&x);
  }
}

/* Large buffers: their own huge-page mapping from 8 MiB on, else malloc;
 * 64-byte aligned, writable to the end, freed by pointer alone. */
static void test_big_buffers(void **state) {
  (void)state;
  const size_t sizes[] = {0, 1, 4096, ((size_t)8 << 20) - 1, (size_t)8 << 20, (size_t)20 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    unsigned char *p = stress_big_alloc(sizes[i]);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 64, 0);
    if (sizes[i]) {
      memset(p, 0xab, sizes[i]);
      assert_int_equal(p[sizes[i] - 1], 0xab);
    }
    stress_big_free(p);
  }
  stress_big_free(NULL);
}

/* Abnormal-input boundaries worked by hand: a category whose reference share
 * equals rare_threshold is not rare; empty_strings judges the rise of the
 * blank share, clamped at 0 when the evaluation has fewer blanks. */
static void test_abnormal_boundaries(void **state) {
  (void)state;
  fixture x;
  fx_init(&x, BIN,
          "{\"c\": [\"a\", \"a\", \"a\", \"a\", \"a\", \"a\", \"a\", \"a\", \"a\", \"b\"]}",
          "{\"c\": [\"b\", \"a\"]}", NULL, "[\"TEST_CATEGORY_TYPE_ABNORMAL_INPUTS\"]",
          "{\"individual_tests_config\": {\"rare_categories\": {\"rare_threshold\": 0.1}}}");
  json_t *doc = fx_run(&x);
  json_t *tc = test_case_of(doc, "rare_categories", "c");
  assert_float_equal(metric(tc, "num_rare_categories"), 0, 0); /* 1/10 is not < 0.1 */
  assert_float_equal(metric(tc, "share_affected"), 0, 0);
  assert_float_equal(metric(tc, "rows_affected"), 0, 0);
  json_decref(doc);
  fx_free(&x);
  /* 0.11: "b" (share 0.1) is rare, and is half of the evaluation */
  fx_init(&x, BIN,
          "{\"c\": [\"a\", \"a\", \"a\", \"a\", \"a\", \"a\", \"a\", \"a\", \"a\", \"b\"]}",
          "{\"c\": [\"b\", \"a\"]}", NULL, "[\"TEST_CATEGORY_TYPE_ABNORMAL_INPUTS\"]",
          "{\"individual_tests_config\": {\"rare_categories\": {\"rare_threshold\": 0.11}}}");
  doc = fx_run(&x);
  tc = test_case_of(doc, "rare_categories", "c");
  assert_float_equal(metric(tc, "num_rare_categories"), 1, 0);
  assert_float_equal(metric(tc, "share_affected"), 0.5, 1e-12);
  json_decref(doc);
  fx_free(&x);
  /* blanks: reference 2/4, evaluation 1/4 -> 0 (not -0.25); then 3/4 -> 0.25 */
  for (int rise = 0; rise < 2; rise++) {
    fx_init(&x, BIN, "{\"s\": [\"\", \"x\", \" \", \"y\"]}",
            rise ? "{\"s\": [\"\", \"  \", \"\", \"z\"]}" : "{\"s\": [\"\", \"x\", \"y\", \"z\"]}",
            NULL, "[\"TEST_CATEGORY_TYPE_ABNORMAL_INPUTS\"]", NULL);
    doc = fx_run(&x);
    tc = test_case_of(doc, "empty_strings", "s");
    assert_float_equal(metric(tc, "ref_share"), 0.5, 1e-12);
    assert_float_equal(metric(tc, "eval_share"), rise ? 0.75 : 0.25, 1e-12);
    json_t *m = json_object_get(tc, "metrics");
    const char *key;
    json_t *v;
    int seen = 0;
    json_object_foreach(m, key, v) {
      if (strcmp(key, "ref_share") && strcmp(key, "eval_share") && strcmp(key, "rows_affected") &&
          strstr(key, "share")) {
        assert_float_equal(json_number_value(v), rise ? 0.25 : 0.0, 1e-12);
        seen = 1;
      }
    }
    assert_true(seen);
    assert_string_equal(str(tc, "status"), rise ? "TEST_CASE_STATUS_FAIL" : "TEST_CASE_STATUS_PASS");
    json_decref(doc);
    fx_free(&x);
  }
}

/* label_imbalance of a multiclass run, by hand: reference labels cat x5,
 * ant x3, bee x2 and one null; classes sorted ant, bee, cat. */
static void test_multiclass_label_imbalance(void **state) {
  (void)state;
  const char *t = "{\"a\": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], \"label\": [\"cat\", \"ant\", "
                  "\"bee\", \"cat\", \"cat\", null, \"ant\", \"bee\", \"cat\", \"ant\", \"cat\"], "
                  "\"p0\": [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], "
                  "\"p1\": [0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2], "
                  "\"p2\": [0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7]}";
  fixture x;
  fx_init(&x, MC, t, t, "{\"label_col\": \"label\", \"pred_col\": [\"p0\", \"p1\", \"p2\"]}",
          "[\"TEST_CATEGORY_TYPE_DATA_CLEANLINESS\"]", NULL);
  json_t *doc = fx_run(&x);
  json_t *tc = test_case_of(doc, "label_imbalance", "label");
  assert_float_equal(metric(tc, "minority_share"), 0.2, 1e-12);
  assert_float_equal(metric(tc, "minority_class"), 1, 0);
  assert_float_equal(metric(tc, "num_classes"), 3, 0);
  assert_float_equal(metric(tc, "labeled_rows"), 10, 0);
  assert_string_equal(str(tc, "status"), "TEST_CASE_STATUS_PASS");
  json_t *d = json_object_get(tc, "details");
  assert_string_equal(json_string_value(json_array_get(json_object_get(d, "classes"), 1)), "bee");
  const double shares[3] = {0.3, 0.2, 0.5};
  for (size_t i = 0; i < 3; i++)
    assert_float_equal(json_number_value(json_array_get(json_object_get(d, "shares"), i)),
                       shares[i], 1e-12);
  json_decref(doc);
  fx_free(&x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_hand_checked),
    cmocka_unit_test(test_document_shape),
    cmocka_unit_test(test_progress_and_log),
    cmocka_unit_test(test_cancel),
    cmocka_unit_test(test_role_errors),
    cmocka_unit_test(test_prediction_frames),
    cmocka_unit_test(test_multiclass_labels),
    cmocka_unit_test(test_prepare_codes),
    cmocka_unit_test(test_score_order),
    cmocka_unit_test(test_argsort),
    cmocka_unit_test(test_quantiles_by_selection),
    cmocka_unit_test(test_shared_bins),
    cmocka_unit_test(test_big_buffers),
    cmocka_unit_test(test_parallel),
    cmocka_unit_test(test_every_catalogue_test_implemented),
    cmocka_unit_test(test_debug_stress),
    cmocka_unit_test(test_many_subsets),
    cmocka_unit_test(test_eval_only_predictions),
    cmocka_unit_test(test_abnormal_boundaries),
    cmocka_unit_test(test_multiclass_label_imbalance),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
