/* engine/predict.h — predictions from a registered model file, run by the
 * runner (runner/runner.h, mode "predict") on a frame, in batches.
 *
 * A model (model_info, RIME_API.md) is a Python file that defines
 * predict_df(df) -> array-like or predict_dict(row: dict) -> value:
 *   {"model_path": {"path": LOCATION}}: LOCATION is an uploaded .py file,
 *       or an uploaded folder holding model.py;
 *   {"model_loading": {"path": LOCATION of a .py, "load_func_name": name,
 *       "params": {...}}}: load_func_name(**params) returns an object with
 *       predict_df or predict_dict (or a function, used as predict_df);
 *   {"hugging_face": ...}: not supported by the tabular engine
 *       (ASSAY_ERR_CONFIG saying so).
 * The model receives the dataset's columns minus label_col, pred_col,
 * timestamp_col and features_not_in_model, as a pandas DataFrame with the
 * dtypes the runner documents (strings as object, nulls as NaN/None),
 * batch_size rows at a time (predict_dict: one dict per row). Output per
 * task: binary: the positive-class probability, shape (n,) or (n, 1) or
 * (n, 2) (column 1 taken); multiclass: (n, k) with k = the number of
 * classes; regression: (n,) floats. Anything else is ASSAY_ERR_DATA saying
 * what shape came and what was expected. The runner's sandbox, limits,
 * redaction and log apply as for loaders. Not installed. */
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
 * multiclass k columns "proba_0" .. "proba_{k-1}". The frame is written
 * to the job's scratch folder as a columnar file that the child maps
 * (read-only) — nothing is sent through a pipe but the request. */
int model_predict(assay_platform *p, const predict_request *req, const frame *data, frame **out);

#endif
