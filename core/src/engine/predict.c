/* engine/predict.c — predictions from a registered model file (contract in
 * predict.h): the model's file resolved in the workspace, the frame's model
 * columns written as one columnar file into a fresh scratch folder
 * (<home>/scratch/<random>/input.acol), the runner's "predict" mode run on
 * it (the model's own process, sandboxed like a loader), its one part
 * checked against the task and returned, the folder removed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/load.h"
#include "engine/predict.h"
#include "integration/integration.h"
#include "internal.h"
#include "platform/files.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A line of ours in the job's log. */
ASSAY_PRINTF(2, 3) static void log_line(const predict_request *req, const char *fmt, ...) {
  if (!req->log) return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  req->log(req->log_ctx, "stderr", line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

static const char *text_of(const json_t *obj, const char *field) {
  return json_string_value(json_object_get(obj, field));
}

/* "binary" | "multiclass" | "regression" for a MODEL_TASK_*, or NULL. */
static const char *task_word(const char *model_task) {
  if (!model_task) return NULL;
  if (strcmp(model_task, "MODEL_TASK_BINARY_CLASSIFICATION") == 0) return "binary";
  if (strcmp(model_task, "MODEL_TASK_MULTICLASS_CLASSIFICATION") == 0) return "multiclass";
  if (strcmp(model_task, "MODEL_TASK_REGRESSION") == 0) return "regression";
  return NULL;
}

/* --- the scratch folder -------------------------------------------------------------- */

/* A fresh scratch folder (load_scratch_new) with an empty "out" folder in
 * it for the runner's part. */
static int scratch_new(assay_platform *p, char **out) {
  char *dir = NULL, *sub = NULL;
  *out = NULL;
  int rc = load_scratch_new(p, &dir);
  if (!rc && asprintf(&sub, "%s/out", dir) < 0) {
    sub = NULL;
    rc = assay__nomem();
  }
  if (!rc && mkdir(sub, 0700) != 0)
    rc = assay__err(ASSAY_ERR_STORE, "cannot create %s: %s", sub, strerror(errno));
  free(sub);
  if (rc) {
    if (dir) (void)load_rm_tree(dir);
    free(dir);
    return rc;
  }
  *out = dir;
  return ASSAY_OK;
}

/* --- what the model is ---------------------------------------------------------------- */

typedef struct model_plan {
  char *file;                /* absolute path of the model's .py */
  const char *load_func;     /* model_loading: its function, or NULL */
  const json_t *params;      /* model_loading: its params, or NULL */
  int loading;               /* model_loading (integration_dict may be passed) */
} model_plan;

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int ends_with_py(const char *s) {
  size_t n = strlen(s);
  return n >= 3 && strcasecmp(s + n - 3, ".py") == 0;
}

static int plan_model(assay_platform *p, const predict_request *req, model_plan *pl) {
  memset(pl, 0, sizeof *pl);
  const json_t *info = req->model_info;
  if (!json_is_object(info) || json_object_size(info) == 0)
    return assay__err(ASSAY_ERR_CONFIG,
                      "the model has no model_info (a model file is needed for predictions: "
                      "model_path or model_loading)");
  const json_t *mp = json_object_get(info, "model_path");
  const json_t *ml = json_object_get(info, "model_loading");
  if (json_object_get(info, "hugging_face"))
    return assay__err(ASSAY_ERR_CONFIG,
                      "hugging_face models are not supported by the tabular engine; register "
                      "a model file (model_path or model_loading) whose predict_df or "
                      "predict_dict returns the predictions, or register predictions");
  if (!mp && !ml)
    return assay__err(ASSAY_ERR_CONFIG,
                      "model_info must hold model_path or model_loading to run the model");
  const char *location = text_of(mp ? mp : ml, "path");
  if (!location)
    return assay__err(ASSAY_ERR_CONFIG, "model_info.%s has no path",
                      mp ? "model_path" : "model_loading");
  if (!req->workspace_id || !*req->workspace_id)
    return assay__err(ASSAY_ERR_CONFIG, "model_predict: a workspace is required");
  store *s = NULL;
  char *path = NULL;
  int rc = platform_store_acquire(p, &s);
  if (!rc) rc = files_resolve(p, s, req->workspace_id, location, &path);
  platform_store_release(p, s);
  if (rc) return rc;
  if (mp && is_dir(path)) {
    char *file = NULL;
    if (asprintf(&file, "%s/model.py", path) < 0) file = NULL;
    free(path);
    if (!file) return assay__nomem();
    struct stat st;
    if (stat(file, &st) != 0 || !S_ISREG(st.st_mode)) {
      free(file);
      return assay__err(ASSAY_ERR_CONFIG,
                        "the model folder '%s' has no model.py (a folder model needs a "
                        "model.py that defines predict_df or predict_dict)",
                        location);
    }
    path = file;
  } else if (!ends_with_py(path)) {
    free(path);
    return assay__err(ASSAY_ERR_CONFIG,
                      "the model file '%s' is not a Python file; expected a .py file (or a "
                      "folder holding model.py) that defines predict_df or predict_dict",
                      location);
  }
  pl->file = path;
  if (ml) {
    pl->loading = 1;
    pl->load_func = text_of(ml, "load_func_name");
    pl->params = json_object_get(ml, "params");
    if (pl->params && !json_is_object(pl->params)) pl->params = NULL;
  }
  return ASSAY_OK;
}

/* --- the model's input columns -------------------------------------------------------- */

static int named_in(const json_t *names, const char *name) {
  if (json_is_string(names)) return strcmp(json_string_value(names), name) == 0;
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v) {
    if (json_is_string(v) && strcmp(json_string_value(v), name) == 0) return 1;
  }
  return 0;
}

/* Is the column one the model gets? Not the label, prediction(s),
 * timestamp or features_not_in_model. */
static int model_input(const json_t *params, const char *name) {
  if (!params) return 1;
  static const char *const roles[] = {"label_col", "pred_col", "timestamp_col",
                                      "features_not_in_model"};
  for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
    if (named_in(json_object_get(params, roles[i]), name)) return 0;
  return 1;
}

/* A view of data's model columns (the column structs copied without their
 * ownership: free only view->cols). */
static int input_view(const frame *data, const json_t *params, frame *view) {
  memset(view, 0, sizeof *view);
  view->rows = data->rows;
  view->cols = calloc(data->ncols ? (size_t)data->ncols : 1, sizeof *view->cols);
  if (!view->cols) return assay__nomem();
  for (int i = 0; i < data->ncols; i++) {
    if (!model_input(params, data->cols[i].name)) continue;
    column c = data->cols[i];
    memset(c.owned, 0, sizeof c.owned);
    view->cols[view->ncols++] = c;
  }
  return ASSAY_OK;
}

/* --- the output --------------------------------------------------------------------- */

/* The runner's part must be what the task promises: rows as the data,
 * float64 "prediction", or "proba_0".."proba_{k-1}". */
static int check_output(const predict_request *req, const char *task, const frame *data,
                        const frame *res) {
  if (res->rows != data->rows)
    return assay__err(ASSAY_ERR_DATA, "the model gave %lld predictions for %lld rows",
                      (long long)res->rows, (long long)data->rows);
  int multi = strcmp(task, "multiclass") == 0;
  if (!multi && (res->ncols != 1 || strcmp(res->cols[0].name, "prediction") != 0))
    return assay__err(ASSAY_ERR_DATA, "the model runner returned %d columns; expected one, "
                                      "'prediction'",
                      res->ncols);
  if (multi) {
    if (res->ncols < 2 || (req->nclasses > 0 && res->ncols != req->nclasses))
      return assay__err(ASSAY_ERR_DATA,
                        "the model returned %d class probabilities per row; expected %d",
                        res->ncols, req->nclasses > 0 ? req->nclasses : 2);
    for (int j = 0; j < res->ncols; j++) {
      char want[32];
      snprintf(want, sizeof want, "proba_%d", j);
      /* the name came from the model's process (it may hold a secret the
       * model was given): say which column, never what it is called */
      if (strcmp(res->cols[j].name, want) != 0)
        return assay__err(ASSAY_ERR_DATA,
                          "the model runner's column %d is not named '%s'; expected the "
                          "columns 'proba_0'..'proba_%d' in order",
                          j, want, res->ncols - 1);
    }
  }
  for (int j = 0; j < res->ncols; j++) {
    /* a part with no rows, or all null, may come typed otherwise; the name
     * (checked above) is quoted as expected, not as the runner wrote it */
    char want[32];
    if (multi) snprintf(want, sizeof want, "proba_%d", j);
    else snprintf(want, sizeof want, "prediction");
    if (res->cols[j].type != COL_FLOAT64 && res->rows > 0 &&
        res->cols[j].null_count < res->rows)
      return assay__err(ASSAY_ERR_DATA, "the model runner's column %d ('%s') is %s; expected "
                                        "float64",
                        j, want, col_type_name(res->cols[j].type));
  }
  return ASSAY_OK;
}

/* The answer for data without rows: the columns, empty. */
static int empty_output(const char *task, int32_t k, frame **out) {
  json_t *t = json_object();
  int rc = t ? ASSAY_OK : assay__nomem();
  if (!rc && strcmp(task, "multiclass") != 0) {
    if (json_object_set_new(t, "prediction", json_array()) != 0) rc = assay__nomem();
  } else {
    for (int32_t j = 0; !rc && j < k; j++) {
      char name[32];
      snprintf(name, sizeof name, "proba_%d", (int)j);
      if (json_object_set_new(t, name, json_array()) != 0) rc = assay__nomem();
    }
  }
  if (!rc) rc = frame_from_json(out, t);
  json_decref(t);
  return rc;
}

/* --- the run -------------------------------------------------------------------------- */

/* The request for the runner (without output_dir and data). *dict: the
 * integration_dict it holds (wipe with integration_dict_free after). */
static int make_request(assay_platform *p, const predict_request *req, const model_plan *pl,
                        const char *task, int64_t batch, json_t **out, json_t **dict) {
  *out = NULL;
  *dict = NULL;
  json_t *r = json_pack("{s:s, s:s, s:s, s:i, s:I}", "mode", "predict", "path", pl->file, "task",
                        task, "nclasses", (int)(req->nclasses > 0 ? req->nclasses : 0),
                        "batch_size", (json_int_t)batch);
  if (!r) return assay__nomem();
  int rc = ASSAY_OK;
  if (pl->load_func && json_object_set_new(r, "function", json_string(pl->load_func)) != 0)
    rc = assay__nomem();
  if (!rc && pl->params && json_object_set_new(r, "params", json_deep_copy(pl->params)) != 0)
    rc = assay__nomem();
  /* the model's integration goes only to a model_loading function (which
   * takes it when it has an integration_dict parameter) */
  if (!rc && pl->loading && pl->load_func && req->integration_id && *req->integration_id) {
    store *s = NULL;
    rc = platform_store_acquire(p, &s);
    if (!rc) rc = integration_resolve(p, s, req->integration_id, req->user_id, dict);
    platform_store_release(p, s);
    if (!rc && json_object_set(r, "integration_dict", *dict) != 0) rc = assay__nomem();
    json_t *names = NULL;
    if (!rc) rc = load_public_names(p, req->integration_id, &names);
    if (!rc && json_object_set_new(r, "public_names", names) != 0) rc = assay__nomem();
  }
  if (rc) {
    json_decref(r);
    integration_dict_free(*dict);
    *dict = NULL;
    return rc;
  }
  *out = r;
  return ASSAY_OK;
}

int model_predict(assay_platform *p, const predict_request *req, const frame *data, frame **out) {
  if (out) *out = NULL;
  if (!p || !req || !data || !out)
    return assay__err(ASSAY_ERR_INTERNAL, "model_predict: missing arguments");
  const char *task = task_word(req->model_task);
  if (!task)
    return assay__err(ASSAY_ERR_CONFIG,
                      "model predictions need a model task of MODEL_TASK_BINARY_CLASSIFICATION, "
                      "MODEL_TASK_MULTICLASS_CLASSIFICATION or MODEL_TASK_REGRESSION; got %s",
                      req->model_task ? req->model_task : "none");
  if (req->nclasses < 0 || req->nclasses == 1)
    return assay__err(ASSAY_ERR_CONFIG, "model_predict: nclasses must be 0 (from the output) or "
                                        ">= 2; got %d",
                      (int)req->nclasses);
  model_plan pl;
  int rc = plan_model(p, req, &pl);
  if (rc) return rc;
  if (data->rows == 0) {
    free(pl.file);
    return empty_output(task, strcmp(task, "multiclass") == 0 ? req->nclasses : 0, out);
  }
  int64_t batch = req->batch_size > 0 ? req->batch_size : PREDICT_DEFAULT_BATCH;
  int why = req->cancel ? __atomic_load_n(req->cancel, __ATOMIC_SEQ_CST) : 0;
  if (why) { /* before writing the input */
    free(pl.file);
    return assay__err(ASSAY_ERR_UNAVAILABLE, "model cancelled: %s", runner_cancel_reason(why));
  }

  frame view;
  json_t *r = NULL, *dict = NULL;
  char *dir = NULL, *input = NULL, *outdir = NULL;
  rc = input_view(data, req->data_params, &view);
  if (!rc) rc = make_request(p, req, &pl, task, batch, &r, &dict);
  if (!rc) rc = scratch_new(p, &dir);
  if (!rc && (asprintf(&input, "%s/input.acol", dir) < 0 || asprintf(&outdir, "%s/out", dir) < 0))
    rc = assay__nomem();
  double t0 = now_s();
  if (!rc) rc = frame_write_scratch(&view, input);
  if (!rc) log_line(req, "runner: model input (%lld rows x %d columns) written in %.3f s",
                    (long long)view.rows, view.ncols, now_s() - t0);
  if (!rc && (json_object_set_new(r, "data", json_string(input)) != 0 ||
              json_object_set_new(r, "output_dir", json_string(outdir)) != 0))
    rc = assay__nomem();
  frame *res = NULL;
  if (!rc) {
    runner_config cfg = *platform_runner(p);
    cfg.cancel = req->cancel;
    rc = runner_run(&cfg, r, req->log, req->log_ctx, &res);
  }
  json_decref(r); /* before the dict is wiped: the request holds a reference */
  integration_dict_free(dict);
  if (!rc) rc = check_output(req, task, data, res);
  if (dir) (void)load_rm_tree(dir); /* best effort, sets no error: a failure's stays */
  free(view.cols);
  free(dir);
  free(input);
  free(outdir);
  free(pl.file);
  if (rc) {
    frame_free(res);
    return rc;
  }
  *out = res;
  return ASSAY_OK;
}
