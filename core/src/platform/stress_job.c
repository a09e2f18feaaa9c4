/* platform/stress_job.c — the stress test job (JOB_TYPE_STRESS_TEST,
 * contract in platform/jobs.h): read the run's model and datasets, load the
 * reference and evaluation rows through the cache, find each side's
 * predictions (a registered prediction set of (dataset, model); else the
 * dataset's pred_col, which the engine reads itself; else the model file,
 * run by the runner; else none) — the two sides on two threads at once —
 * run the engine with the job's progress,
 * log and cancellation flag, and store the run document with its ids,
 * names and times in test_runs. A job that the platform's stop interrupts
 * goes back to the queue (ASSAY_ERR_UNAVAILABLE after
 * RUNNER_CANCEL_STOPPING) and runs again from the start; one cancelled by
 * its user ends JOB_STATUS_CANCELLED (jobs.c). Messages that reach the job
 * show the home's paths as file locations or $ASSAY_HOME. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/data_info.h"
#include "engine/load.h"
#include "engine/predict.h"
#include "engine/stress.h"
#include "platform/files.h"
#include "platform/jobs.h"

void (*stress_job_test_hook)(job_ctx *j, const char *stage, int done, int total) = NULL;

#define INVALID "VALIDITY_STATUS_INVALID"

static const char *text_of(const json_t *obj, const char *field) {
  return json_string_value(json_object_get(obj, field));
}

static int64_t monotonic_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The flag's reason, 0 when not cancelled. */
static int cancelled(const job_ctx *j) {
  return j->cancel ? __atomic_load_n(j->cancel, __ATOMIC_ACQUIRE) : 0;
}

static int cancel_error(const job_ctx *j) {
  return assay__err(ASSAY_ERR_UNAVAILABLE, "stress test cancelled: %s",
                    runner_cancel_reason(cancelled(j)));
}

/* --- the run's inputs ------------------------------------------------------------------ */

/* One side of the run: its dataset, rows, and predictions. */
typedef struct side {
  const char *role;       /* "reference" / "evaluation" */
  const char *dataset_id;
  json_t *record;         /* the dataset's registry record */
  json_t *info;           /* its data_info, normalized */
  frame *rows;
  frame *pred_loaded;     /* a registered prediction set's rows */
  frame *pred;            /* the predictions handed to the engine (a view of
                             pred_loaded, or the model's output), or NULL */
  const char *pred_source; /* "predictions" | "pred_col" | "model" | "none" */
} side;

typedef struct sjob {
  job_ctx *j;
  const json_t *config;
  json_t *job;            /* the job's record */
  json_t *project, *model;
  side ref, eval;
} sjob;

static void side_clear(side *s) {
  json_decref(s->record);
  json_decref(s->info);
  if (s->pred != s->pred_loaded) frame_free(s->pred);
  frame_free(s->pred_loaded);
  frame_free(s->rows);
}

/* A registry entry of this job's project, or NOT_FOUND saying it is gone. */
static int entry_of_project(store *s, const char *kind, const char *noun, const char *id,
                            const char *project_id, json_t **out) {
  int rc = s->ops->registry_get(s, kind, id, out);
  if (!rc && strcmp(text_of(*out, "project_id"), project_id) != 0) {
    json_decref(*out);
    *out = NULL;
    rc = ASSAY_ERR_NOT_FOUND;
  }
  if (rc == ASSAY_ERR_NOT_FOUND)
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "%s '%s' no longer exists in project '%s'", noun, id,
                    project_id);
  return rc;
}

typedef struct read_ctx {
  sjob *x;
  char existing[37]; /* a run this job stored already */
} read_ctx;

static int read_tx(store *s, void *vctx) {
  read_ctx *r = vctx;
  sjob *x = r->x;
  json_decref(x->job);
  json_decref(x->project);
  json_decref(x->model);
  json_decref(x->ref.record);
  json_decref(x->eval.record);
  x->job = x->project = x->model = x->ref.record = x->eval.record = NULL;
  int rc = s->ops->test_run_of_job(s, x->j->job_id, r->existing);
  if (!rc) rc = s->ops->job_get(s, x->j->job_id, &x->job);
  if (!rc) rc = s->ops->project_get(s, x->j->workspace_id, x->j->project_id, &x->project);
  if (rc == ASSAY_ERR_NOT_FOUND && !x->project)
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "project '%s' no longer exists", x->j->project_id);
  if (!rc)
    rc = entry_of_project(s, "model", "model", text_of(x->config, "model_id"),
                          x->j->project_id, &x->model);
  if (!rc)
    rc = entry_of_project(s, "dataset", "dataset", x->ref.dataset_id, x->j->project_id,
                          &x->ref.record);
  if (!rc)
    rc = entry_of_project(s, "dataset", "dataset", x->eval.dataset_id, x->j->project_id,
                          &x->eval.record);
  return rc;
}

/* Load a dataset's (or prediction set's) rows through the cache. */
static int load_rows(sjob *x, const char *id, const json_t *record, const json_t *info,
                     frame **out, int *cached) {
  load_request req = {
    .dataset_id = id,
    .workspace_id = x->j->workspace_id,
    .user_id = x->j->submitted_by,
    .info = info,
    .integration_id = text_of(record, "integration_id"),
    .integration_dict = NULL,
    .window = {0, 0, 0},
    .use_cache = 1,
    .log = jobs_runner_log,
    .log_ctx = x->j,
    .cancel = x->j->cancel,
  };
  return dataset_load(x->j->platform, &req, out, cached);
}

static int load_side(sjob *x, side *sd) {
  const char *name = text_of(sd->record, "name");
  int64_t t0 = monotonic_ms();
  int rc = data_info_validate(json_object_get(sd->record, "data_info"), "data_info", &sd->info);
  int cached = 0;
  if (!rc) rc = load_rows(x, sd->dataset_id, sd->record, sd->info, &sd->rows, &cached);
  if (rc) {
    const assay_error *e = assay_error_last();
    char *m = strdup(e && e->message ? e->message : "failed");
    rc = assay__err(rc, "loading the %s dataset '%s' (%s): %s", sd->role, name ? name : "",
                    sd->dataset_id, m ? m : "failed");
    free(m);
    return rc;
  }
  x->j->log(x->j, "loaded the %s dataset '%s': %lld rows, %d columns%s in %.3f s", sd->role,
            name ? name : sd->dataset_id, (long long)sd->rows->rows, sd->rows->ncols,
            cached ? " (from the cache)" : "", (double)(monotonic_ms() - t0) / 1000.0);
  return ASSAY_OK;
}

/* A frame whose columns point into `from`'s (which must outlive it). */
static int column_view(const frame *from, const char *const *names, int n, frame **out) {
  frame *f = calloc(1, sizeof *f);
  if (!f) return assay__nomem();
  f->rows = from->rows;
  f->cols = calloc((size_t)(n > 0 ? n : 1), sizeof *f->cols);
  if (!f->cols) {
    free(f);
    return assay__nomem();
  }
  for (int i = 0; i < n; i++) {
    const column *c = frame_col(from, names[i]);
    f->cols[i] = *c;
    memset(f->cols[i].owned, 0, sizeof f->cols[i].owned);
    f->cols[i].name = strdup(c->name);
    f->ncols = i + 1;
    if (!f->cols[i].name) {
      frame_free(f);
      return assay__nomem();
    }
  }
  *out = f;
  return ASSAY_OK;
}

/* "a, b, c" (at most 20) of a frame's columns (caller frees; NULL: no
 * memory). */
static char *column_list(const frame *f) {
  char *out = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&out, &len);
  if (!m) return NULL;
  for (int i = 0; i < f->ncols && i < 20; i++) fprintf(m, "%s%s", i ? ", " : "", f->cols[i].name);
  if (f->ncols > 20) fputs(", ...", m);
  if (fclose(m) != 0) {
    free(out);
    return NULL;
  }
  return out;
}

/* The prediction columns of a registered prediction set (pred_params.
 * pred_col: one name, or for multiclass the class probability columns in
 * class order; not set: the set's only column). */
static int prediction_columns(side *sd, const json_t *pinfo, const char *pred_id,
                              const char *task) {
  const json_t *pc = json_object_get(json_object_get(pinfo, "pred_params"), "pred_col");
  const char *names[256];
  int n = 0;
  const frame *f = sd->pred_loaded;
  if (json_is_string(pc)) {
    names[n++] = json_string_value(pc);
  } else if (json_is_array(pc)) {
    size_t i;
    json_t *e;
    if (json_array_size(pc) > 256)
      return assay__err(ASSAY_ERR_CONFIG, "prediction set '%s': pred_params.pred_col lists %zu "
                                          "columns; at most 256 are supported",
                        pred_id, json_array_size(pc));
    json_array_foreach(pc, i, e) names[n++] = json_string_value(e);
    if (task && strcmp(task, "MODEL_TASK_MULTICLASS_CLASSIFICATION") != 0 && n != 1)
      return assay__err(ASSAY_ERR_CONFIG,
                        "prediction set '%s': pred_params.pred_col lists %d columns; a list of "
                        "class probability columns is for multiclass classification, this "
                        "project's task is %s (expected one column name)",
                        pred_id, n, task);
  } else if (f->ncols == 1) {
    names[n++] = f->cols[0].name;
  } else {
    return assay__err(ASSAY_ERR_CONFIG,
                      "prediction set '%s' has %d columns and pred_info.pred_params.pred_col "
                      "is not set; set it to the prediction column (for multiclass, the list "
                      "of class probability columns)",
                      pred_id, f->ncols);
  }
  for (int i = 0; i < n; i++) {
    if (names[i] && frame_col(f, names[i])) continue;
    char *cols = column_list(f);
    int rc = assay__err(ASSAY_ERR_DATA,
                        "prediction set '%s': pred_params.pred_col '%s' is not a column of its "
                        "data; it has %d columns: %s",
                        pred_id, names[i] ? names[i] : "?", f->ncols, cols ? cols : "?");
    free(cols);
    return rc;
  }
  return column_view(f, names, n, &sd->pred);
}

/* Find the predictions of one side (see the file comment). */
static int find_predictions(sjob *x, side *sd) {
  job_ctx *j = x->j;
  const char *task = text_of(x->project, "model_task");
  const char *model_id = text_of(x->model, "model_id");
  json_t *filter = json_pack("{s:s, s:s}", "dataset_id", sd->dataset_id, "model_id", model_id);
  json_t *list = NULL;
  if (!filter) return assay__nomem();
  store *s = NULL;
  int rc = platform_store_acquire(j->platform, &s);
  if (!rc) rc = s->ops->registry_list(s, "predictions", j->project_id, filter, &list);
  platform_store_release(j->platform, s);
  json_decref(filter);
  if (rc) return rc;
  json_t *pred = json_array_get(list, 0);
  if (pred) {
    const char *pred_id = text_of(pred, "prediction_id");
    const char *status = text_of(pred, "validity_status");
    if (status && strcmp(status, INVALID) == 0) {
      const char *why = text_of(pred, "validity_message");
      rc = assay__err(ASSAY_ERR_CONFIG,
                      "the predictions of model '%s' on the %s dataset '%s' (prediction set "
                      "'%s') are %s: %s; delete them and register valid ones",
                      model_id, sd->role, sd->dataset_id, pred_id, status, why ? why : "");
      json_decref(list);
      return rc;
    }
    json_t *pinfo = NULL;
    int cached = 0;
    rc = pred_info_validate(json_object_get(pred, "pred_info"), &pinfo);
    if (!rc) rc = load_rows(x, pred_id, pred, pinfo, &sd->pred_loaded, &cached);
    if (rc && !cancelled(j)) {
      const assay_error *e = assay_error_last();
      char *m = strdup(e && e->message ? e->message : "failed");
      rc = assay__err(rc, "loading the predictions of the %s dataset (prediction set '%s'): %s",
                      sd->role, pred_id, m ? m : "failed");
      free(m);
    }
    if (!rc) rc = prediction_columns(sd, pinfo, pred_id, task);
    json_decref(pinfo);
    if (!rc) {
      sd->pred_source = "predictions";
      j->log(j, "%s predictions: prediction set %s (%lld rows%s)", sd->role, pred_id,
             (long long)sd->pred_loaded->rows, cached ? ", from the cache" : "");
    }
    json_decref(list);
    return rc;
  }
  json_decref(list);
  const json_t *params = json_object_get(sd->info, "data_params");
  const json_t *own = json_object_get(params, "pred_col");
  if (own && !json_is_null(own)) {
    sd->pred_source = "pred_col";
    if (json_is_array(own))
      j->log(j, "%s predictions: the dataset's %zu probability columns (data_params.pred_col)",
             sd->role, json_array_size(own));
    else
      j->log(j, "%s predictions: the dataset's column '%s'", sd->role, json_string_value(own));
    return ASSAY_OK;
  }
  const json_t *minfo = json_object_get(x->model, "model_info");
  if (json_object_get(minfo, "model_path") || json_object_get(minfo, "model_loading")) {
    const json_t *names = json_object_get(params, "class_names");
    predict_request req = {
      .workspace_id = j->workspace_id,
      .user_id = j->submitted_by,
      .model_info = minfo,
      .integration_id = text_of(x->model, "integration_id"),
      .model_task = task,
      .nclasses = json_is_array(names) ? (int32_t)json_array_size(names) : 0,
      .data_params = params,
      .batch_size = 0,
      .log = jobs_runner_log,
      .log_ctx = j,
      .cancel = j->cancel,
    };
    int64_t t0 = monotonic_ms();
    rc = model_predict(j->platform, &req, sd->rows, &sd->pred);
    if (rc) {
      if (cancelled(j)) return rc;
      const assay_error *e = assay_error_last();
      char *m = strdup(e && e->message ? e->message : "failed");
      rc = assay__err(rc, "predicting the %s dataset with model '%s': %s", sd->role, model_id,
                      m ? m : "failed");
      free(m);
      return rc;
    }
    sd->pred_source = "model";
    j->log(j, "%s predictions: model %s on %lld rows in %.3f s", sd->role, model_id,
           (long long)sd->rows->rows, (double)(monotonic_ms() - t0) / 1000.0);
    return ASSAY_OK;
  }
  if (json_object_get(minfo, "hugging_face"))
    j->log(j, "%s predictions: none (a hugging_face model is not run by the tabular engine)",
           sd->role);
  else
    j->log(j, "%s predictions: none (no prediction set, pred_col or model file)", sd->role);
  sd->pred_source = "none";
  return ASSAY_OK;
}

/* One side's rows and predictions (a model run, if any, included). */
static int prepare_side(sjob *x, side *sd) {
  int rc = load_side(x, sd);
  if (!rc && cancelled(x->j)) rc = cancel_error(x->j);
  if (!rc) rc = find_predictions(x, sd);
  if (!rc && cancelled(x->j)) rc = cancel_error(x->j);
  return rc;
}

/* The reference's side on a thread of its own; its error carried back. */
typedef struct side_thread {
  sjob *x;
  int rc, status;
  char *msg;
} side_thread;

static void *reference_main(void *arg) {
  side_thread *t = arg;
  t->rc = prepare_side(t->x, &t->x->ref);
  if (t->rc) {
    const assay_error *e = assay_error_last();
    t->status = e ? e->http_status : -1;
    t->msg = strdup(e && e->message ? e->message : "preparing the reference failed");
  }
  return NULL;
}

/* Both sides at once: the reference on a second thread, the evaluation on
 * this one (mapping cached data, and above all running the model file on
 * each, take as long again when done one after the other). The
 * reference's error wins when both fail, as when they ran in order. */
static int prepare_sides(sjob *x) {
  side_thread t = {x, 0, -1, NULL};
  pthread_t tid;
  if (pthread_create(&tid, NULL, reference_main, &t) != 0) {
    int rc = prepare_side(x, &x->ref);
    return rc ? rc : prepare_side(x, &x->eval);
  }
  int rc = prepare_side(x, &x->eval);
  pthread_join(tid, NULL);
  if (t.rc) rc = assay__err_status(t.rc, t.status, "%s", t.msg ? t.msg : "failed");
  free(t.msg);
  return rc;
}

/* --- the engine's callbacks ----------------------------------------------------------- */

static void on_progress(void *ctx, int done, int total) {
  job_ctx *j = ctx;
  if (j->progress) j->progress(j, done, total);
  if (stress_job_test_hook) stress_job_test_hook(j, "progress", done, total);
}

static void on_log(void *ctx, const char *line) {
  job_ctx *j = ctx;
  j->log(j, "%s", line);
}

/* --- messages -------------------------------------------------------------------------- */

/* The last error again, with the home's paths shown as file locations or
 * $ASSAY_HOME (a loader's or model's traceback names its file). */
static int without_home_paths(job_ctx *j, int rc) {
  const assay_error *e = assay_error_last();
  if (!e || !e->message) return rc;
  char *b = jobs_readable_message(j, e->message);
  if (b && strcmp(b, e->message) != 0) rc = assay__err(rc, "%s", b);
  free(b);
  return rc;
}

/* --- storing the run -------------------------------------------------------------------- */

typedef struct store_ctx {
  const json_t *rec;
} store_ctx;

static int store_tx_fn(store *s, void *vctx) {
  store_ctx *x = vctx;
  return s->ops->test_run_insert(s, x->rec);
}

/* Add the platform's fields to the engine's document. */
static int complete_document(sjob *x, json_t *doc, const char *id, int64_t started,
                             int64_t finished, int64_t millis) {
  char created_text[32], started_text[32], finished_text[32];
  json_t *created = json_object_get(x->job, "created_at_secs");
  assay__rfc3339(created_text, json_is_integer(created) ? json_integer_value(created) : started);
  assay__rfc3339(started_text, started);
  assay__rfc3339(finished_text, finished);
  const char *run_name = text_of(x->config, "run_name");
  json_t *fields = json_pack(
    "{s:s, s:s, s:s, s:s, s:s, s:s?, s:s, s:s?, s:s, s:s?, s:s, s:s?, s:s, s:s, s:s, s:I}",
    "test_run_id", id, "name", run_name ? run_name : "", "project_id", x->j->project_id,
    "workspace_id", x->j->workspace_id, "job_id", x->j->job_id, "submitted_by",
    x->j->submitted_by, "model_id", text_of(x->model, "model_id"), "model_name",
    text_of(x->model, "name"), "ref_dataset_id", x->ref.dataset_id, "ref_dataset_name",
    text_of(x->ref.record, "name"), "eval_dataset_id", x->eval.dataset_id,
    "eval_dataset_name", text_of(x->eval.record, "name"), "created_at", created_text,
    "started_at", started_text, "finished_at", finished_text, "duration_in_millis",
    (json_int_t)millis);
  if (!fields) return assay__nomem();
  int rc = json_object_update(doc, fields) ? assay__nomem() : ASSAY_OK;
  json_decref(fields);
  if (!json_object_get(doc, "model_task") && !rc &&
      json_object_set_new(doc, "model_task", json_string(text_of(x->project, "model_task"))))
    rc = assay__nomem();
  /* where the predictions came from (the engine knows only whether it got
   * frames) */
  json_t *data = json_object_get(doc, "data");
  if (!rc && json_is_object(data)) {
    const char *ref_src = x->ref.pred_source, *eval_src = x->eval.pred_source;
    /* pred_source: the reference's; pred_sources: each side's */
    if (json_object_set_new(data, "pred_source", json_string(ref_src))) rc = assay__nomem();
    if (!rc && json_object_set_new(data, "pred_sources",
                                   json_pack("{s:s, s:s}", "reference", ref_src, "evaluation",
                                             eval_src)))
      rc = assay__nomem();
  }
  return rc;
}

static int store_run(sjob *x, json_t *doc) {
  json_t *summary = json_copy(doc);
  if (!summary) return assay__nomem();
  json_object_del(summary, "test_batches");
  json_t *created = json_object_get(x->job, "created_at_secs");
  json_t *rec = json_pack("{s:O, s:s, s:s, s:s, s:O, s:I, s:O, s:O}", "test_run_id",
                          json_object_get(doc, "test_run_id"), "workspace_id",
                          x->j->workspace_id, "project_id", x->j->project_id, "job_id",
                          x->j->job_id, "name", json_object_get(doc, "name"), "created_at_secs",
                          (json_int_t)(json_is_integer(created) ? json_integer_value(created)
                                                                 : assay__now()),
                          "summary", summary, "document", doc);
  json_decref(summary);
  if (!rec) return assay__nomem();
  store_ctx sc = {rec};
  store *s = NULL;
  int rc = platform_store_acquire(x->j->platform, &s);
  if (!rc) rc = store_tx(s, 1, store_tx_fn, &sc);
  platform_store_release(x->j->platform, s);
  json_decref(rec);
  return rc;
}

/* --- the job ------------------------------------------------------------------------------ */

static int run(sjob *x, json_t **result) {
  job_ctx *j = x->j;
  read_ctx rd = {x, ""};
  store *s = NULL;
  int rc = platform_store_acquire(j->platform, &s);
  if (!rc) rc = store_tx(s, 0, read_tx, &rd);
  platform_store_release(j->platform, s);
  if (rc) return rc;
  if (rd.existing[0]) {
    /* stored by an earlier run of this job whose end was not recorded */
    j->log(j, "test run %s of this job is stored already", rd.existing);
    *result = json_pack("{s:s}", "test_run_id", rd.existing);
    return *result ? ASSAY_OK : assay__nomem();
  }
  const char *run_name = text_of(x->config, "run_name");
  j->log(j, "stress test '%s': model %s, reference %s, evaluation %s", run_name ? run_name : "",
         text_of(x->model, "model_id"), x->ref.dataset_id, x->eval.dataset_id);
  int64_t started = assay__now(), t0 = monotonic_ms();
  rc = prepare_sides(x);
  if (!rc && stress_job_test_hook) stress_job_test_hook(j, "ready", 0, 0);
  if (!rc && cancelled(j)) rc = cancel_error(j);
  if (rc) return rc;

  stress_input in = {
    .model_task = text_of(x->project, "model_task"),
    .ref = x->ref.rows,
    .eval = x->eval.rows,
    .ref_pred = x->ref.pred,
    .eval_pred = x->eval.pred,
    .ref_params = json_object_get(x->ref.info, "data_params"),
    .eval_params = json_object_get(x->eval.info, "data_params"),
    .config = x->config,
    .threads = 0,
    .cancel = j->cancel,
    .progress = on_progress,
    .log = on_log,
    .ctx = j,
  };
  json_t *doc = NULL;
  int64_t e0 = monotonic_ms();
  rc = stress_run(&in, &doc);
  if (rc) {
    json_decref(doc);
    return rc;
  }
  int64_t t1 = monotonic_ms();
  j->log(j, "the engine ran in %.3f s", (double)(t1 - e0) / 1000.0);
  char id[37];
  assay__uuid(id);
  rc = complete_document(x, doc, id, started, assay__now(), t1 - t0);
  if (!rc) rc = store_run(x, doc);
  if (!rc) {
    json_t *counts = json_object_get(doc, "summary_counts");
    j->log(j, "test run %s stored in %.3f s: %lld test cases (%lld pass, %lld warning, %lld "
              "fail, %lld skip)",
           id, (double)(monotonic_ms() - t1) / 1000.0,
           (long long)json_integer_value(json_object_get(counts, "total")),
           (long long)json_integer_value(json_object_get(counts, "pass")),
           (long long)json_integer_value(json_object_get(counts, "warning")),
           (long long)json_integer_value(json_object_get(counts, "fail")),
           (long long)json_integer_value(json_object_get(counts, "skip")));
    *result = json_pack("{s:s}", "test_run_id", id);
    if (!*result) rc = assay__nomem();
  }
  json_decref(doc);
  return rc;
}

int stress_test_job(job_ctx *j, json_t **result) {
  const json_t *config = json_object_get(j->request, "config");
  if (!json_is_object(config) || !text_of(config, "model_id") ||
      !text_of(config, "ref_dataset_id") || !text_of(config, "eval_dataset_id") ||
      !j->project_id)
    return assay__err(ASSAY_ERR_INTERNAL,
                      "the job's request must be {\"config\": a normalized test_run_config} "
                      "with model_id, ref_dataset_id and eval_dataset_id, for a project");
  sjob x;
  memset(&x, 0, sizeof x);
  x.j = j;
  x.config = config;
  x.ref.role = "reference";
  x.ref.dataset_id = text_of(config, "ref_dataset_id");
  x.ref.pred_source = "none";
  x.eval.role = "evaluation";
  x.eval.dataset_id = text_of(config, "eval_dataset_id");
  x.eval.pred_source = "none";
  int rc = run(&x, result);
  if (rc && cancelled(j)) {
    /* no verdict: stopping requeues the job, a user's cancel ends it */
    const assay_error *e = assay_error_last();
    j->log(j, "stopped: %s", e && e->message ? e->message : "cancelled");
    rc = cancel_error(j);
  } else if (rc) {
    rc = without_home_paths(j, rc);
  }
  side_clear(&x.ref);
  side_clear(&x.eval);
  json_decref(x.job);
  json_decref(x.project);
  json_decref(x.model);
  return rc;
}
