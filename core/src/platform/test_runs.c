/* platform/test_runs.c — the stress test routes: starting a run (the config
 * validated at once, then a JOB_TYPE_STRESS_TEST job; platform/stress_job.c
 * runs it) and reading stored runs: summaries, the whole document, and the
 * flat rows the bindings turn into DataFrames (the run's result row, test
 * case rows, category rows), test batches, and the HTML report.
 *
 * Everything lives in the caller's workspace: a run (or project) of another
 * workspace is "not found". Viewers read; members start runs. Lists answer
 * an object holding the array ({"test_runs": [...]}, {"test_cases": [...]}
 * ...), as every list of the API does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/test_config.h"
#include "platform/access.h"
#include "platform/handlers.h"
#include "platform/jobs.h"
#include "report/report.h"

#define INVALID "VALIDITY_STATUS_INVALID"

static const char *text_of(const json_t *obj, const char *field) {
  return json_string_value(json_object_get(obj, field));
}

/* --- starting a run ------------------------------------------------------------------ */

/* An entry of `kind` that must be in the project (else NOT_FOUND naming
 * the config key). */
static int project_entry(store *s, const char *kind, const char *noun, const char *field,
                         const char *id, const char *project_id, json_t **out) {
  int rc = id ? s->ops->registry_get(s, kind, id, out) : ASSAY_ERR_NOT_FOUND;
  if (!rc && strcmp(text_of(*out, "project_id"), project_id) != 0) {
    json_decref(*out);
    *out = NULL;
    rc = ASSAY_ERR_NOT_FOUND;
  }
  if (rc == ASSAY_ERR_NOT_FOUND)
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "%s: %s '%s' not found in project '%s'", field, noun,
                    id ? id : "", project_id);
  return rc;
}

/* A dataset of the run: in the project, not INVALID; its registered
 * predictions of the model, if any, not INVALID either. */
static int check_dataset(store *s, const char *field, const char *id, const char *model_id,
                         const char *project_id) {
  json_t *ds = NULL;
  int rc = project_entry(s, "dataset", "dataset", field, id, project_id, &ds);
  if (rc) return rc;
  const char *status = text_of(ds, "validity_status");
  if (status && strcmp(status, INVALID) == 0) {
    const char *why = text_of(ds, "validity_message");
    rc = assay__err(ASSAY_ERR_CONFIG,
                    "%s: dataset '%s' (%s) is %s: %s; fix its data or config and register it "
                    "again",
                    field, text_of(ds, "name") ? text_of(ds, "name") : "", id, status,
                    why ? why : "");
  }
  json_decref(ds);
  if (rc) return rc;
  json_t *filter = json_pack("{s:s, s:s}", "dataset_id", id, "model_id", model_id), *list = NULL;
  if (!filter) return assay__nomem();
  rc = s->ops->registry_list(s, "predictions", project_id, filter, &list);
  json_decref(filter);
  json_t *pred = json_array_get(list, 0);
  status = text_of(pred, "validity_status");
  if (!rc && status && strcmp(status, INVALID) == 0) {
    const char *why = text_of(pred, "validity_message");
    rc = assay__err(ASSAY_ERR_CONFIG,
                    "%s: the predictions of model '%s' on dataset '%s' (prediction set '%s') "
                    "are %s: %s; delete them and register valid ones",
                    field, model_id, id, text_of(pred, "prediction_id"), status, why ? why : "");
  }
  json_decref(list);
  return rc;
}

/* The project of the start route (params[0]) in the caller's workspace,
 * when the caller may start runs in it (WORKSPACE_ROLE_MEMBER); inside
 * the caller's transaction. *task and *cats (new references): the
 * project's model_task (a string, or null) and stress_test_categories (an
 * array, or null when never set) — what the config is normalised for. */
static int start_project(route_ctx *c, json_t **task, json_t **cats) {
  store *s = c->store;
  json_t *project = NULL;
  int rc = s->ops->project_get(s, c->who->workspace_id, c->params[0], &project);
  if (!rc) rc = access_workspace(s, c->who, c->who->workspace_id, ROLE_MEMBER, NULL);
  if (!rc) {
    json_t *t = json_object_get(project, "model_task");
    json_t *k = json_object_get(project, "stress_test_categories");
    *task = json_incref(json_is_string(t) ? t : json_null());
    *cats = json_incref(json_is_array(k) ? k : json_null());
  }
  json_decref(project);
  return rc;
}

static int normalize_for(const route_ctx *c, const json_t *task, const json_t *cats,
                         json_t **norm) {
  return test_config_normalize(c->body, json_string_value(task),
                               json_is_array(cats) ? cats : NULL, norm);
}

/* The write transaction's part: the project (again: it may have gone, or
 * the caller's role changed, since the config was checked), the model and
 * datasets of the normalised config, and the job. A project whose model
 * task or categories changed meanwhile gets the config normalised again
 * (a bounded, millisecond step: test_config.h). */
static int start_in_tx(route_ctx *c, const json_t *task, const json_t *cats, json_t **norm,
                       char job_id[37]) {
  store *s = c->store;
  const char *project_id = c->params[0];
  json_t *now_task = NULL, *now_cats = NULL, *model = NULL, *request = NULL;
  int rc = start_project(c, &now_task, &now_cats);
  if (!rc && (!json_equal(now_task, (json_t *)task) || !json_equal(now_cats, (json_t *)cats))) {
    json_decref(*norm);
    *norm = NULL;
    rc = normalize_for(c, now_task, now_cats, norm);
  }
  json_decref(now_task);
  json_decref(now_cats);
  const char *model_id = !rc && *norm ? text_of(*norm, "model_id") : NULL;
  if (!rc) rc = project_entry(s, "model", "model", "model_id", model_id, project_id, &model);
  if (!rc)
    rc = check_dataset(s, "data_info.ref_dataset_id", text_of(*norm, "ref_dataset_id"), model_id,
                       project_id);
  if (!rc)
    rc = check_dataset(s, "data_info.eval_dataset_id", text_of(*norm, "eval_dataset_id"),
                       model_id, project_id);
  if (!rc) {
    request = json_pack("{s:O}", "config", *norm);
    rc = request ? jobs_submit(s, JOB_TYPE_STRESS_TEST, c->who->workspace_id, project_id,
                               c->who->user_id, request, job_id)
                 : assay__nomem();
  }
  json_decref(request);
  json_decref(model);
  return rc;
}

/* POST /v1/projects/{project_id}/stress-tests (WORKSPACE_ROLE_MEMBER) ->
 * 202 with the job record. The config is validated and normalised between
 * a read transaction (the project and the caller's role) and the write
 * transaction (existence checks and the job): however large the request,
 * the write lock is held only for those few statements. */
int h_stress_test_start(route_ctx *c) {
  store *s = c->store;
  json_t *norm = NULL, *task = NULL, *cats = NULL;
  char job_id[37] = "";
  int rc = s->ops->begin(s, 0);
  if (!rc) {
    rc = start_project(c, &task, &cats);
    if (!rc) rc = s->ops->commit(s);
    if (rc) s->ops->rollback(s);
  }
  if (!rc) rc = normalize_for(c, task, cats, &norm);
  if (!rc) rc = s->ops->begin(s, 1);
  if (!rc) {
    rc = start_in_tx(c, task, cats, &norm, job_id);
    if (!rc) rc = s->ops->commit(s);
    if (rc) s->ops->rollback(s);
  }
  json_decref(task);
  json_decref(cats);
  json_decref(norm);
  if (rc) return rc;
  jobs_notify(c->platform);
  rc = jobs_get(s, job_id, &c->resp->body);
  if (!rc) c->resp->status = 202;
  return rc;
}

/* --- reading runs --------------------------------------------------------------------- */

/* The caller may see project_id (it is in the caller's workspace). */
static int project_visible(route_ctx *c, const char *project_id) {
  json_t *p = NULL;
  int rc = project_id ? c->store->ops->project_get(c->store, c->who->workspace_id, project_id, &p)
                      : ASSAY_ERR_NOT_FOUND;
  json_decref(p);
  if (!rc) rc = access_workspace(c->store, c->who, c->who->workspace_id, ROLE_VIEWER, NULL);
  return rc;
}

/* GET /v1/projects/{project_id}/test-runs -> {test_runs: [summaries]} */
int h_test_runs_list(route_ctx *c) {
  store *s = c->store;
  json_t *list = NULL;
  int rc = s->ops->begin(s, 0);
  if (!rc) {
    rc = project_visible(c, c->params[0]);
    if (!rc) rc = s->ops->test_run_list(s, c->params[0], &list);
    if (!rc) rc = s->ops->commit(s);
    if (rc) s->ops->rollback(s);
  }
  if (rc) return rc;
  c->resp->body = json_pack("{s:o}", "test_runs", list);
  return c->resp->body ? ASSAY_OK : assay__nomem();
}

/* The summary or document of run params[0] when the caller may see it. */
static int load_run(route_ctx *c, const char *part, json_t **out) {
  store *s = c->store;
  const char *id = c->params[0];
  json_t *run = NULL;
  int rc = s->ops->begin(s, 0);
  if (!rc) {
    rc = s->ops->test_run_get(s, id, part, &run);
    if (!rc) {
      const char *ws = text_of(run, "workspace_id");
      rc = ws && strcmp(ws, c->who->workspace_id) == 0 ? project_visible(c, text_of(run, "project_id"))
                                                       : ASSAY_ERR_NOT_FOUND;
    }
    if (!rc) rc = s->ops->commit(s);
    if (rc) s->ops->rollback(s);
  }
  if (rc == ASSAY_ERR_NOT_FOUND || rc == ASSAY_ERR_PERMISSION_DENIED)
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "test run '%s' not found", id);
  if (rc) {
    json_decref(run);
    return rc;
  }
  *out = run;
  return ASSAY_OK;
}

/* GET /v1/test-runs/{test_run_id} -> the summary */
int h_test_run_get(route_ctx *c) { return load_run(c, "summary", &c->resp->body); }

/* GET /v1/test-runs/{test_run_id}/document -> the whole document */
int h_test_run_document(route_ctx *c) { return load_run(c, "document", &c->resp->body); }

/* --- flat rows -------------------------------------------------------------------------- */

/* row["<prefix>.<key>"] = value for each key of obj (an object). */
static int flatten_into(json_t *row, const char *prefix, const json_t *obj) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    char *name = NULL;
    if (asprintf(&name, "%s.%s", prefix, key) < 0) return assay__nomem();
    int bad = json_object_set(row, name, v);
    free(name);
    if (bad) return assay__nomem();
  }
  return ASSAY_OK;
}

/* row[key] = src[key], or null when src has none. */
static int copy_field(json_t *row, const json_t *src, const char *key) {
  json_t *v = json_object_get(src, key);
  return json_object_set(row, key, v ? v : json_null()) ? assay__nomem() : ASSAY_OK;
}

/* GET /v1/test-runs/{test_run_id}/result -> one flat row */
int h_test_run_result(route_ctx *c) {
  json_t *run = NULL;
  int rc = load_run(c, "summary", &run);
  if (rc) return rc;
  static const char *const fields[] = {
    "test_run_id", "name", "project_id", "model_id", "ref_dataset_id", "eval_dataset_id",
    "model_task", "created_at", "started_at", "finished_at", "duration_in_millis", NULL};
  json_t *row = json_object();
  if (!row) rc = assay__nomem();
  for (int i = 0; !rc && fields[i]; i++) rc = copy_field(row, run, fields[i]);
  if (!rc) rc = flatten_into(row, "summary_counts", json_object_get(run, "summary_counts"));
  if (!rc) rc = flatten_into(row, "severity_counts", json_object_get(run, "severity_counts"));
  json_decref(run);
  if (rc) {
    json_decref(row);
    return rc;
  }
  c->resp->body = row;
  return ASSAY_OK;
}

/* The run's test types, "a, b, c" (caller frees; NULL: no memory). */
static char *test_types_of(const json_t *doc) {
  char *out = NULL;
  size_t len = 0, i;
  json_t *b;
  FILE *m = open_memstream(&out, &len);
  if (!m) return NULL;
  int first = 1;
  json_array_foreach(json_object_get(doc, "test_batches"), i, b) {
    const char *t = text_of(b, "test_type");
    if (!t) continue;
    fprintf(m, "%s%s", first ? "" : ", ", t);
    first = 0;
  }
  if (fclose(m) != 0) {
    free(out);
    return NULL;
  }
  return out;
}

/* The batch of test_type in the document (borrowed), or NOT_FOUND listing
 * the run's test types. */
static int find_batch(const json_t *doc, const char *run_id, const char *test_type,
                      json_t **out) {
  size_t i;
  json_t *b;
  json_array_foreach(json_object_get(doc, "test_batches"), i, b) {
    const char *t = text_of(b, "test_type");
    if (t && strcmp(t, test_type) == 0) {
      *out = b;
      return ASSAY_OK;
    }
  }
  char *types = test_types_of(doc);
  int rc = assay__err(ASSAY_ERR_NOT_FOUND, "test type '%s' is not in test run '%s'; %s%s",
                      test_type, run_id,
                      types && *types ? "its test types: " : "it has no test batches",
                      types && *types ? types : "");
  free(types);
  return rc;
}

/* Each row gets every key of `names` that it lacks, as null (metrics a
 * case or category does not have). */
static int fill_missing(json_t *rows, const json_t *names) {
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)names, key, v) {
      (void)v;
      if (!json_object_get(row, key) && json_object_set_new(row, key, json_null()))
        return assay__nomem();
    }
  }
  return ASSAY_OK;
}

/* Metrics of `metrics` as keys of row (never over a fixed key); each name
 * is noted in `names`. */
static int add_metrics(json_t *row, const json_t *metrics, json_t *names,
                       const char *const *fixed) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)metrics, key, v) {
    int taken = 0;
    for (int k = 0; fixed[k] && !taken; k++) taken = strcmp(fixed[k], key) == 0;
    if (taken) continue;
    if (json_object_set(row, key, v) || json_object_set(names, key, json_true()))
      return assay__nomem();
  }
  return ASSAY_OK;
}

static const char *const case_fields[] = {"test_run_id", "test_batch_type", "features",
                                          "status",      "severity",        "category",
                                          "importance_score", "skip_reason", NULL};

/* The flat rows of one batch's cases, appended to rows. */
static int case_rows(json_t *rows, const char *run_id, const json_t *batch, int show_metrics,
                     json_t *names) {
  size_t i;
  json_t *tc;
  json_array_foreach(json_object_get(batch, "test_cases"), i, tc) {
    json_t *row = json_pack("{s:s, s:O}", "test_run_id", run_id, "test_batch_type",
                            json_object_get(batch, "test_type") ? json_object_get(batch, "test_type")
                                                               : json_null());
    int rc = row ? ASSAY_OK : assay__nomem();
    if (!rc) rc = copy_field(row, tc, "features");
    if (!rc) rc = copy_field(row, tc, "status");
    if (!rc) rc = copy_field(row, tc, "severity");
    if (!rc) rc = copy_field(row, batch, "category");
    if (!rc) rc = copy_field(row, tc, "importance_score");
    if (!rc) rc = copy_field(row, tc, "skip_reason");
    if (!rc && show_metrics)
      rc = add_metrics(row, json_object_get(tc, "metrics"), names, case_fields);
    if (!rc && json_array_append_new(rows, row)) {
      row = NULL;
      rc = assay__nomem();
    }
    if (rc) {
      json_decref(row);
      return rc;
    }
  }
  return ASSAY_OK;
}

/* GET /v1/test-runs/{test_run_id}/test-cases?show_metrics=&test_type= ->
 * {test_cases: [flat rows]} */
int h_test_run_test_cases(route_ctx *c) {
  int show = 0;
  char *type = NULL;
  int rc = query_bool(c->req->query, "show_metrics", &show);
  if (!rc) rc = query_string(c->req->query, "test_type", &type);
  json_t *doc = NULL, *rows = NULL, *names = NULL;
  if (!rc) rc = load_run(c, "document", &doc);
  if (!rc && (!(rows = json_array()) || !(names = json_object()))) rc = assay__nomem();
  const char *run_id = c->params[0];
  if (!rc && type && *type) {
    json_t *batch = NULL;
    rc = find_batch(doc, run_id, type, &batch);
    if (!rc) rc = case_rows(rows, run_id, batch, show, names);
  } else if (!rc) {
    size_t i;
    json_t *batch;
    json_array_foreach(json_object_get(doc, "test_batches"), i, batch) {
      if (!rc) rc = case_rows(rows, run_id, batch, show, names);
    }
  }
  if (!rc && show) rc = fill_missing(rows, names);
  free(type);
  json_decref(doc);
  json_decref(names);
  if (!rc && !(c->resp->body = json_pack("{s:o}", "test_cases", rows))) rc = assay__nomem();
  else if (rc) json_decref(rows);
  return rc;
}

static const char *const category_fields[] = {"test_run_id", "category", "severity",
                                              "test_types", "failing_test_types",
                                              "duration_in_millis", NULL};

/* GET /v1/test-runs/{test_run_id}/categories?show_metrics= -> {categories:
 * [flat rows]} */
int h_test_run_categories(route_ctx *c) {
  int show = 0;
  int rc = query_bool(c->req->query, "show_metrics", &show);
  json_t *run = NULL, *rows = NULL, *names = NULL;
  if (!rc) rc = load_run(c, "summary", &run);
  if (!rc && (!(rows = json_array()) || !(names = json_object()))) rc = assay__nomem();
  size_t i;
  json_t *cat;
  json_array_foreach(json_object_get(run, "category_results"), i, cat) {
    if (rc) break;
    json_t *row = json_pack("{s:s}", "test_run_id", c->params[0]);
    if (!row) rc = assay__nomem();
    for (int k = 1; !rc && category_fields[k]; k++) rc = copy_field(row, cat, category_fields[k]);
    if (!rc) rc = flatten_into(row, "summary_counts", json_object_get(cat, "summary_counts"));
    if (!rc && show) rc = add_metrics(row, json_object_get(cat, "metrics"), names, category_fields);
    if (!rc && json_array_append_new(rows, row)) {
      row = NULL;
      rc = assay__nomem();
    }
    if (rc) json_decref(row);
  }
  if (!rc && show) rc = fill_missing(rows, names);
  json_decref(run);
  json_decref(names);
  if (!rc && !(c->resp->body = json_pack("{s:o}", "categories", rows))) rc = assay__nomem();
  else if (rc) json_decref(rows);
  return rc;
}

/* A batch as answered: {test_run_id, <the batch's fields>}, without its
 * cases unless with_cases. */
static json_t *batch_answer(const char *run_id, const json_t *batch, int with_cases) {
  json_t *out = json_pack("{s:s}", "test_run_id", run_id);
  if (!out || json_object_update(out, (json_t *)batch)) {
    json_decref(out);
    return NULL;
  }
  if (!with_cases) json_object_del(out, "test_cases");
  return out;
}

/* GET /v1/test-runs/{test_run_id}/test-batches -> {test_batches: [...]} */
int h_test_run_batches(route_ctx *c) {
  json_t *doc = NULL, *list = NULL;
  int rc = load_run(c, "document", &doc);
  if (!rc && !(list = json_array())) rc = assay__nomem();
  size_t i;
  json_t *batch;
  json_array_foreach(json_object_get(doc, "test_batches"), i, batch) {
    if (!rc && json_array_append_new(list, batch_answer(c->params[0], batch, 0)))
      rc = assay__nomem();
  }
  json_decref(doc);
  if (!rc && !(c->resp->body = json_pack("{s:o}", "test_batches", list))) rc = assay__nomem();
  else if (rc) json_decref(list);
  return rc;
}

/* GET /v1/test-runs/{test_run_id}/test-batches/{test_type} -> the batch
 * with its cases */
int h_test_run_batch(route_ctx *c) {
  json_t *doc = NULL, *batch = NULL;
  int rc = load_run(c, "document", &doc);
  if (!rc) rc = find_batch(doc, c->params[0], c->params[1], &batch);
  if (!rc && !(c->resp->body = batch_answer(c->params[0], batch, 1))) rc = assay__nomem();
  json_decref(doc);
  return rc;
}

/* GET /v1/test-runs/{test_run_id}/report -> {test_run_id, html} */
int h_test_run_report(route_ctx *c) {
  json_t *doc = NULL;
  char *html = NULL;
  int rc = load_run(c, "document", &doc);
  if (!rc) rc = report_html(doc, &html);
  json_decref(doc);
  if (rc) return rc;
  c->resp->body = json_pack("{s:s, s:s}", "test_run_id", c->params[0], "html", html);
  free(html);
  if (!c->resp->body)
    return assay__err(ASSAY_ERR_INTERNAL, "the report of test run '%s' is not valid UTF-8",
                      c->params[0]);
  return ASSAY_OK;
}
