/* engine/stress.h — the stress test engine: one run over a reference and
 * an evaluation frame (and their predictions), producing the test run
 * document.
 *
 * stress_run() works column at a time in C, in parallel across columns and
 * tests (threads), never sampling: every statistic is exact on all rows.
 * The platform's stress test job (platform/stress_job.c) loads the frames,
 * finds the predictions and stores the document; the engine knows nothing
 * of the store. Not installed. */
#ifndef ASSAY_ENGINE_STRESS_H
#define ASSAY_ENGINE_STRESS_H

#include <jansson.h>
#include <stdint.h>

#include "engine/frame.h"

typedef struct stress_input {
  const char *model_task;        /* MODEL_TASK_BINARY_CLASSIFICATION | _MULTICLASS_ | _REGRESSION */
  const frame *ref, *eval;       /* the datasets' rows                                           */
  /* Predictions aligned row by row with ref / eval, or NULL (then the
   * dataset's data_params.pred_col is used when set, else the tests that
   * need predictions are skipped). Binary: one numeric column, the
   * positive-class probability; regression: one numeric column;
   * multiclass: k numeric columns, the class probabilities in class order
   * (column i = class i). A frame whose row count differs from its
   * dataset's is ASSAY_ERR_DATA. */
  const frame *ref_pred, *eval_pred;
  /* The datasets' normalized data_params (label_col, pred_col,
   * timestamp_col, class_names, categorical_features,
   * features_not_in_model, protected_features, text_features,
   * image_features), or NULL. Roles are taken from ref_params; eval_params
   * may only repeat them (a different label_col, timestamp_col or
   * class_names is ASSAY_ERR_CONFIG) — except pred_col, which each dataset
   * may name for itself (the evaluation falls back to the reference's). A
   * label_col or pred_col the reference lacks is ASSAY_ERR_DATA; an
   * evaluation without the reference's label (or inherited pred) column
   * simply has no labels (predictions), and the tests that need them say
   * so in a skipped case. Labels: binary 0/1 (ints, integral floats,
   * bools) or texts named in class_names (negative first); multiclass
   * class indices 0..k-1 or texts (class_names, else the sorted distinct
   * texts); regression numbers. Binary predictions must lie in [0, 1];
   * multiclass rows sum to 1 (within 1e-3), all present or all missing. */
  const json_t *ref_params, *eval_params;
  const json_t *config;          /* test_config_normalize()'s output */
  int threads;                   /* worker threads; <= 0: online CPUs (at most 8) */
  /* The job's cancellation flag (checked between tests and inside long
   * loops at least every ~100 ms of work), or NULL: once non-zero
   * stress_run stops and returns ASSAY_ERR_UNAVAILABLE "stress test
   * cancelled: <runner_cancel_reason>". */
  const int *cancel;
  /* Progress: called (from any engine thread, serialized by the engine)
   * with the number of test batches done and their total, first with
   * done = 0. May be NULL. */
  void (*progress)(void *ctx, int done, int total);
  /* The job log: one line (no newline), may be NULL. */
  void (*log)(void *ctx, const char *line);
  void *ctx;
} stress_input;

/* Run every test of config->tests whose run is true. *out (new reference)
 * is the run document without the platform's ids (the job adds
 * test_run_id, name, project_id, job_id, model_id, dataset ids, times):
 *   {model_task, random_seed,
 *    categories: [...], skipped_categories: [{category, reason}],
 *    data: {ref_rows, eval_rows, label_col|null, pred_source:
 *           "predictions" | "pred_col" | "model" | "none" (the job sets
 *           "predictions"/"model" for frames it passed),
 *           class_names: [...] | absent,
 *           features: [{name, type: "numeric" | "categorical", in_model,
 *                       protected}]},
 *    summary_counts: {total, pass, warning, fail, skip},
 *    severity_counts: {num_pass_severity, num_warning_severity,
 *                      num_alert_severity},
 *    category_results: [{category, severity, summary_counts,
 *                        test_types: [...], failing_test_types: [...],
 *                        duration_in_millis}],
 *    test_batches: [{test_type, test_name, category, description,
 *                    duration_in_millis, severity, failing_features: [...],
 *                    summary_counts, metrics: {name: number|null},
 *                    test_cases: [{features: [...], status, severity,
 *                                  importance_score, metrics: {name:
 *                                  number|null}, details: {...} | absent,
 *                                  skip_reason: text | absent}]}]}
 * Severity of a batch = the worst of its cases; of a category = the worst
 * of its batches. summary_counts count test cases by status, and
 * severity_counts test cases by severity (skipped ones are
 * SEVERITY_PASS); a batch's failing_features are the features of its
 * cases of warning or alert severity, a category's failing_test_types its
 * batches of warning or alert severity. A test that needs labels (or
 * predictions) that the run has none of is one skipped case without
 * features. Test cases are in feature order (the reference's column
 * order); batches in catalogue order. Errors: ASSAY_ERR_DATA / _CONFIG for
 * data that cannot be tested (no common columns, a label column missing,
 * labels that are not classes of the task ...), saying what was wrong. */
int stress_run(const stress_input *in, json_t **out);

/* Internal CLI and test support: run the engine on two local CSV files
 * (csv_read) without a platform. request_json: {model_task, ref_path,
 * eval_path, ref_params?, eval_params?, config?: a test_run_config
 * (run_name, model_id and data_info may be omitted), threads?,
 * ref_pred_path?, eval_pred_path? (CSV files of predictions, as
 * ref_pred / eval_pred), verbose? (true: the engine's log lines on
 * stderr)}. *out_json: the malloc'ed document, plus "timing":
 * {read_seconds, run_seconds, run_cpu_seconds, peak_rss_kb}. Exported for
 * `assay debug stress` and bench/. */
__attribute__((visibility("default"))) int assay__debug_stress(const char *request_json,
                                                               char **out_json);

#endif
