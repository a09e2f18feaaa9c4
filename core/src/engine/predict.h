/* engine/predict.h — predictions from a registered model file, run by the
 * runner (runner/runner.h, mode "predict") on a frame, in batches.
 *
 * A model (model_info, RIME_API.md) is a Python file that defines
 * predict_df(df) -> array-like or predict_dict(row: dict) -> value:
 *   {"model_path": {"path": LOCATION}}: LOCATION is an uploaded .py file,
 *       or an uploaded folder holding model.py; its predict_df is used,
 *       else its predict_dict;
 *   {"model_loading": {"path": LOCATION of a .py, "load_func_name": name,
 *       "params": {...}}}: load_func_name(**params) returns an object with
 *       predict_df or predict_dict (or a function, used as predict_df); the
 *       model record's integration (integration_id) is resolved for the
 *       submitting user and passed as integration_dict when the function
 *       has such a parameter (its secrets redacted from the log and
 *       errors, as for loaders). Without load_func_name the file is used
 *       as for model_path;
 *   {"hugging_face": ...}: not supported by the tabular engine
 *       (ASSAY_ERR_CONFIG saying so); none / another task than binary,
 *       multiclass or regression: ASSAY_ERR_CONFIG too.
 * The model's file runs in its folder (cwd and sys.path[0]: modules and
 * files beside it are found), sandboxed, with the platform's loader time
 * and memory limits (runner_config) and the job's cancel flag.
 * The model receives the dataset's columns minus label_col, pred_col (a
 * name or a list), timestamp_col and features_not_in_model, in the data's
 * column order, as a pandas DataFrame typed as pandas types the same data
 * read from a CSV file (runner.h: float64 / int64 / bool / pandas' default
 * text dtype / datetime64[ns]; nulls as NaN / NaT, an int or bool column
 * with nulls as float64 / object), batch_size rows at a time (slices: the
 * index continues across batches); predict_dict gets one dict per row of
 * Python values, None for nulls. Output per task: binary: the
 * positive-class probability, shape (n,) or (n, 1) or (n, 2) (column 1
 * taken); multiclass: (n, k) with k = nclasses (0: the first batch's k,
 * >= 2, and every batch the same); regression: (n,) or (n, 1) floats.
 * Values must be numbers; for classification probabilities in [0, 1]. A
 * NaN is a missing prediction (a null row). Anything else is
 * ASSAY_ERR_DATA saying what came and what was expected (runner.h lists
 * the messages). Data without rows gives the empty columns without running
 * the model. The frame is written (frame_write_scratch) into a fresh
 * <home>/scratch/<random>/, removed afterwards whatever happens; the job
 * log gets the model's output and "runner: ..." lines with the time of
 * each stage. Not installed. */
#ifndef ASSAY_ENGINE_PREDICT_H
#define ASSAY_ENGINE_PREDICT_H

#include <jansson.h>
#include <stdint.h>

#include "engine/frame.h"
#include "platform/platform.h"
#include "runner/runner.h"

#define PREDICT_DEFAULT_BATCH 100000

typedef struct predict_request {
  const char *workspace_id;      /* where file locations resolve          */
  const char *user_id;           /* whose member secrets, if any           */
  const json_t *model_info;      /* the model record's normalized model_info */
  const char *integration_id;    /* the model record's integration_id or NULL */
  const char *model_task;        /* MODEL_TASK_*                           */
  int32_t nclasses;              /* multiclass: k (0: take it from the output) */
  const json_t *data_params;     /* the dataset's data_params (roles), or NULL */
  int64_t batch_size;            /* <= 0: PREDICT_DEFAULT_BATCH            */
  runner_log_fn log;             /* the job's log, or NULL                 */
  void *log_ctx;
  const int *cancel;             /* the job's flag, or NULL                */
} predict_request;

/* Predictions for every row of data, in row order: *out has one float64
 * column "prediction" (binary: probability; regression: value), or for
 * multiclass k columns "proba_0" .. "proba_{k-1}" (nulls where the model
 * gave NaN). The frame is written to the job's scratch folder as a
 * columnar file that the child maps (privately: the model may change its
 * DataFrame, never the file) — nothing is sent through a pipe but the
 * request. A cancelled run is ASSAY_ERR_UNAVAILABLE "model cancelled: ...";
 * the time limit "model was killed after the time limit of N s". */
int model_predict(assay_platform *p, const predict_request *req, const frame *data, frame **out);

#endif
