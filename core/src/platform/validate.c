/* platform/validate.c — the validation jobs of datasets and prediction sets
 * (contract in platform/jobs.h): load the entry's data through the cache,
 * check it, profile it and record the verdict on the entry. A problem of
 * the data or of its config is a verdict (the entry INVALID, the job
 * SUCCEEDED); only an internal failure fails the job. A load cancelled
 * because the platform stops leaves the entry PENDING (the job runs again
 * later); a job failed as stale, or cancelled before it ran, makes it
 * INVALID (validate_abandoned).
 * Every message that reaches the entry, the job or its log is redacted
 * with the secrets of the integration the loader got. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/data_info.h"
#include "engine/load.h"
#include "integration/integration.h"
#include "platform/files.h"
#include "platform/jobs.h"

#define VALID "VALIDITY_STATUS_VALID"
#define INVALID "VALIDITY_STATUS_INVALID"
#define PENDING "VALIDITY_STATUS_PENDING"
/* Column names listed in a "missing column" message, at most. */
#define COLUMNS_LISTED 20

typedef struct vkind {
  const char *kind;     /* the registry's kind and the request's "kind" */
  const char *noun;     /* in messages */
  const char *info_key; /* the record's config */
} vkind;

static const vkind K_DATASET = {"dataset", "dataset", "data_info"};
static const vkind K_PREDICTIONS = {"predictions", "prediction set", "pred_info"};

static const char *text_of(const json_t *obj, const char *field) {
  return json_string_value(json_object_get(obj, field));
}

/* Errors of loading that are a verdict on the data or its config. */
static int is_verdict(int code) {
  return code == ASSAY_ERR_DATA || code == ASSAY_ERR_CONFIG || code == ASSAY_ERR_NOT_FOUND ||
         code == ASSAY_ERR_PERMISSION_DENIED;
}

/* The last error's message, redacted (caller frees). */
static char *last_message(const redactor *red) {
  const assay_error *e = assay_error_last();
  const char *m = e && e->message && *e->message ? e->message : "unknown error";
  return redact_text(red, m, strlen(m));
}

/* --- recording the verdict ------------------------------------------------------------ */

struct verdict;
static int record_verdict_tx(job_ctx *j, struct verdict *v);

typedef struct verdict {
  const vkind *k;
  const char *id;
  const char *status;   /* VALID / INVALID */
  const char *message;  /* INVALID: why (redacted) */
  int64_t rows;         /* VALID: the row count */
  json_t *profile;      /* VALID: the schema profile (borrowed) */
  int gone;             /* out: the entry was deleted meanwhile */
} verdict;

static int verdict_tx(store *s, void *vctx) {
  verdict *v = vctx;
  json_t *rec = NULL;
  v->gone = 0;
  int rc = s->ops->registry_get(s, v->k->kind, v->id, &rec);
  if (rc == ASSAY_ERR_NOT_FOUND) {
    assay_error_clear();
    v->gone = 1;
    return ASSAY_OK;
  }
  if (rc) return rc;
  int valid = strcmp(v->status, VALID) == 0;
  if (json_object_set_new(rec, "validity_status", json_string(v->status)) ||
      json_object_set_new(rec, "validity_message",
                          valid || !v->message ? json_null() : json_string(v->message)) ||
      json_object_set_new(rec, "row_count", valid ? json_integer(v->rows) : json_null()) ||
      json_object_set_new(rec, "schema_profile",
                          valid && v->profile ? json_incref(v->profile) : json_null()))
    rc = assay__nomem();
  if (!rc) rc = s->ops->registry_update(s, v->k->kind, rec);
  json_decref(rec);
  return rc;
}

static int record_verdict(job_ctx *j, verdict *v) {
  char *shown = v->message ? jobs_readable_message(j, v->message) : NULL;
  if (v->message && !shown) return assay__nomem();
  const char *original = v->message;
  if (shown) v->message = shown;
  int rc = record_verdict_tx(j, v);
  v->message = original;
  free(shown);
  return rc;
}

static int record_verdict_tx(job_ctx *j, verdict *v) {
  store *s = NULL;
  int rc = platform_store_acquire(j->platform, &s);
  if (!rc) rc = store_tx(s, 1, verdict_tx, v);
  platform_store_release(j->platform, s);
  if (rc) return rc;
  if (v->gone) {
    /* deleted while it was validated: what this job cached goes too */
    (void)dataset_cache_drop(j->platform, v->id);
    assay_error_clear();
    j->log(j, "the %s was deleted during its validation", v->k->noun);
  } else if (strcmp(v->status, VALID) == 0) {
    j->log(j, "%s: %lld rows", v->status, (long long)v->rows);
  } else {
    j->log(j, "%s: %s", v->status, v->message ? v->message : "");
  }
  return ASSAY_OK;
}

/* --- the checks ------------------------------------------------------------------------ */

/* "<field> '<col>' is not a column of the data; the data has N columns: a,
 * b, ..." (at most COLUMNS_LISTED names) as a new string. */
static char *missing_column(const frame *f, const char *field, const char *col) {
  size_t cap = 256, len = 0;
  char *list = malloc(cap);
  if (!list) return NULL;
  list[0] = '\0';
  int shown = f->ncols < COLUMNS_LISTED ? f->ncols : COLUMNS_LISTED;
  for (int i = 0; i < shown; i++) {
    const char *name = f->cols[i].name;
    size_t need = len + strlen(name) + 4;
    if (need > cap) {
      while (cap < need) cap *= 2;
      char *grown = realloc(list, cap);
      if (!grown) {
        free(list);
        return NULL;
      }
      list = grown;
    }
    len += (size_t)sprintf(list + len, "%s%s", i ? ", " : "", name);
  }
  char *msg = NULL;
  int n;
  if (f->ncols == 0)
    n = asprintf(&msg, "%s '%s' is not a column of the data; the data has no columns", field,
                 col);
  else
    n = asprintf(&msg, "%s '%s' is not a column of the data; the data has %d column%s: %s%s",
                 field, col, f->ncols, f->ncols == 1 ? "" : "s", list,
                 f->ncols > shown ? ", ..." : "");
  free(list);
  return n < 0 ? NULL : msg;
}

/* Check the loaded frame: *problem (caller frees) says what is wrong, or
 * stays NULL. */
static int check_frame(job_ctx *j, const vkind *k, const json_t *record, const json_t *info,
                       const frame *f, char **problem) {
  *problem = NULL;
  char *msg = NULL;
  if (f->rows == 0) {
    if (!(msg = strdup("the loaded data has no rows"))) return assay__nomem();
    goto out;
  }
  if (k == &K_DATASET) {
    const json_t *params = json_object_get(info, "data_params");
    static const char *const cols[] = {"label_col", "timestamp_col", "pred_col", NULL};
    for (int i = 0; cols[i] && !msg; i++) {
      const char *col = text_of(params, cols[i]);
      char field[64];
      snprintf(field, sizeof field, "data_params.%s", cols[i]);
      /* pred_col may list a multiclass model's probability columns */
      const json_t *list = json_object_get(params, cols[i]);
      if (json_is_array(list)) {
        size_t n;
        json_t *name;
        json_array_foreach(list, n, name) {
          if (!msg && !frame_col(f, json_string_value(name)) &&
              !(msg = missing_column(f, field, json_string_value(name))))
            return assay__nomem();
        }
        continue;
      }
      if (!col) continue;
      const column *c = frame_col(f, col);
      if (!c) {
        if (!(msg = missing_column(f, field, col))) return assay__nomem();
      } else if (i == 1 && c->type != COL_TIMESTAMP && c->type != COL_INT64) {
        if (asprintf(&msg,
                     "%s '%s' is a %s column; expected a timestamp column (ISO 8601 text in a "
                     "CSV, datetime64 in a DataFrame) or int64 (seconds since the epoch)",
                     field, col, col_type_name(c->type)) < 0)
          return assay__nomem();
      }
    }
    goto out;
  }
  /* predictions: the prediction column, and the dataset's row count */
  const json_t *pred_cols = json_object_get(json_object_get(info, "pred_params"), "pred_col");
  const char *pred_col = json_string_value(pred_cols);
  if (json_is_array(pred_cols)) {
    /* a multiclass model's probability columns: each must be there */
    size_t n;
    json_t *name;
    json_array_foreach(pred_cols, n, name) {
      if (!pred_col && !frame_col(f, json_string_value(name))) pred_col = json_string_value(name);
    }
    if (!pred_col) pred_col = json_string_value(json_array_get(pred_cols, 0));
  }
  if (!pred_col) {
    msg = strdup("pred_info.pred_params.pred_col is not set; validating predictions needs the "
                 "name of the prediction column");
    if (!msg) return assay__nomem();
    goto out;
  }
  if (!frame_col(f, pred_col)) {
    if (!(msg = missing_column(f, "pred_params.pred_col", pred_col))) return assay__nomem();
    goto out;
  }
  const char *dataset_id = text_of(record, "dataset_id");
  json_t *ds = NULL;
  store *s = NULL;
  int rc = platform_store_acquire(j->platform, &s);
  if (!rc && dataset_id) rc = s->ops->registry_get(s, "dataset", dataset_id, &ds);
  platform_store_release(j->platform, s);
  if (rc == ASSAY_ERR_NOT_FOUND) {
    assay_error_clear();
    rc = ASSAY_OK;
  }
  if (rc) return rc;
  json_t *ds_rows = json_object_get(ds, "row_count");
  const char *ds_status = text_of(ds, "validity_status");
  if (ds_status && strcmp(ds_status, VALID) == 0 && json_is_integer(ds_rows) &&
      json_integer_value(ds_rows) != f->rows) {
    if (asprintf(&msg,
                 "the predictions have %lld rows but dataset '%s' (%s) has %lld; expected one "
                 "prediction per row of the dataset",
                 (long long)f->rows, text_of(ds, "name") ? text_of(ds, "name") : "",
                 dataset_id, (long long)json_integer_value(ds_rows)) < 0)
      msg = NULL;
    if (!msg) {
      json_decref(ds);
      return assay__nomem();
    }
  } else if (!ds_status || strcmp(ds_status, VALID) != 0) {
    j->log(j, "dataset %s is not VALID (yet): row counts not compared", dataset_id);
  }
  json_decref(ds);
out:
  *problem = msg;
  return ASSAY_OK;
}

/* --- the job ----------------------------------------------------------------------------- */

typedef struct vstate {
  json_t *record;     /* the entry as read at the start */
  json_t *info;       /* its config, normalized */
  json_t *dict;       /* the loader's integration_dict, or NULL */
  redactor *red;
  frame *f;
  json_t *profile;
  char *problem;      /* a verdict of INVALID: why (redacted) */
} vstate;

static void vstate_clear(vstate *v) {
  json_decref(v->record);
  json_decref(v->info);
  integration_dict_free(v->dict);
  redactor_free(v->red);
  frame_free(v->f);
  json_decref(v->profile);
  free(v->problem);
  memset(v, 0, sizeof *v);
}

/* A failure on the way: a verdict (v->problem set, ASSAY_OK) or internal
 * (returned as it is). */
static int settle(vstate *v, int rc) {
  if (!rc || !is_verdict(rc)) return rc;
  v->problem = last_message(v->red);
  assay_error_clear();
  return v->problem ? ASSAY_OK : assay__nomem();
}

/* One line in the job's log naming the secret variables whose values are
 * shorter than 4 bytes (their names, never their values): such a value is
 * redacted wherever its bytes or its encoded forms appear. */
static void note_short_secrets(job_ctx *j, const json_t *secrets) {
  char names[512] = "";
  size_t used = 0, count = 0;
  const char *key;
  json_t *value;
  json_object_foreach((json_t *)secrets, key, value) {
    size_t len = json_is_string(value) ? json_string_length(value) : 0;
    if (!len || len >= 4) continue;
    int n = snprintf(names + used, sizeof names - used, "%s%s", count ? ", " : "", key);
    if (n > 0 && (size_t)n < sizeof names - used) used += (size_t)n;
    else names[used] = '\0'; /* no room: the names so far */
    count++;
  }
  if (count)
    j->log(j, "note: the value of secret variable%s %s is shorter than 4 bytes; it is "
              "redacted wherever it or an encoded form of it appears in the loader's output, "
              "which can make this log hard to read",
           count > 1 ? "s" : "", names);
}

/* The redactor for the loader's secrets: the integration_dict's values but
 * those of not-sensitive variables (a public endpoint stays readable). */
static int make_redactor(job_ctx *j, vstate *v, const json_t *conn) {
  if (!v->dict) return redactor_new(&v->red, NULL);
  const char *integ = text_of(conn, "data_endpoint_integration_id");
  if (!integ || !*integ) integ = text_of(v->record, "integration_id");
  json_t *names = NULL, *secrets = json_object(), *value, *name;
  const char *key;
  size_t i;
  int rc = secrets ? load_public_names(j->platform, integ, &names) : assay__nomem();
  json_object_foreach(v->dict, key, value) {
    int public = 0;
    json_array_foreach(names, i, name) public |= strcmp(json_string_value(name), key) == 0;
    if (!rc && !public && json_object_set(secrets, key, value) != 0) rc = assay__nomem();
  }
  if (!rc) rc = redactor_new(&v->red, secrets);
  if (!rc) note_short_secrets(j, secrets);
  json_decref(secrets); /* before the dict is wiped: it holds references */
  json_decref(names);
  return rc;
}

/* Read the entry, normalize its config, resolve the loader's integration. */
static int prepare(job_ctx *j, const vkind *k, const char *id, vstate *v, int *gone) {
  store *s = NULL;
  int rc = platform_store_acquire(j->platform, &s);
  if (!rc) rc = s->ops->registry_get(s, k->kind, id, &v->record);
  platform_store_release(j->platform, s);
  if (rc == ASSAY_ERR_NOT_FOUND) {
    assay_error_clear();
    *gone = 1;
    return ASSAY_OK;
  }
  if (rc) return rc;
  const json_t *given = json_object_get(v->record, k->info_key);
  rc = k == &K_DATASET ? data_info_validate(given, "data_info", &v->info)
                       : pred_info_validate(given, &v->info);
  if (rc) return settle(v, rc);
  const json_t *conn = NULL;
  const char *type = data_info_connection(v->info, &conn);
  if (type && strcmp(type, "data_loading") == 0) {
    const char *integ = text_of(conn, "data_endpoint_integration_id");
    if (!integ || !*integ) integ = text_of(v->record, "integration_id");
    if (integ && *integ) {
      if (!j->submitted_by || !*j->submitted_by)
        return assay__err(ASSAY_ERR_INTERNAL, "the job has no submitting user to resolve "
                                              "integration '%s' for",
                          integ);
      rc = platform_store_acquire(j->platform, &s);
      if (!rc) rc = integration_resolve(j->platform, s, integ, j->submitted_by, &v->dict);
      platform_store_release(j->platform, s);
      if (rc) return settle(v, rc);
    }
  }
  return settle(v, make_redactor(j, v, conn));
}

static int validate(job_ctx *j, const vkind *k, json_t **result) {
  const char *kind = text_of(j->request, "kind"), *id = text_of(j->request, "id");
  if (!kind || strcmp(kind, k->kind) != 0 || !id)
    return assay__err(ASSAY_ERR_INTERNAL,
                      "the job's request must be {\"kind\": \"%s\", \"id\": \"<id>\"}", k->kind);
  j->log(j, "validating %s %s", k->noun, id);
  vstate v;
  memset(&v, 0, sizeof v);
  int gone = 0, cached = 0;
  int rc = prepare(j, k, id, &v, &gone);
  if (!rc && gone) {
    j->log(j, "the %s no longer exists: nothing to validate", k->noun);
    *result = json_pack("{s:s, s:s, s:n, s:n, s:b}", "kind", k->kind, "id", id,
                        "validity_status", "row_count", "cached", 0);
    vstate_clear(&v);
    return *result ? ASSAY_OK : assay__nomem();
  }
  if (!rc && !v.problem) {
    load_request req = {
      .dataset_id = id,
      .workspace_id = j->workspace_id,
      .user_id = j->submitted_by,
      .info = v.info,
      .integration_id = text_of(v.record, "integration_id"),
      .integration_dict = v.dict,
      .window = {0, 0, 0},
      .use_cache = 1,
      .log = jobs_runner_log,
      .log_ctx = j,
      .cancel = j->cancel,
    };
    rc = settle(&v, dataset_load(j->platform, &req, &v.f, &cached));
    if (!rc && v.f)
      j->log(j, "loaded %lld rows and %d columns%s", (long long)v.f->rows, v.f->ncols,
             cached ? " (from the cache)" : "");
  }
  if (!rc && !v.problem) {
    char *problem = NULL;
    rc = check_frame(j, k, v.record, v.info, v.f, &problem);
    if (!rc && problem) {
      v.problem = redact_text(v.red, problem, strlen(problem));
      free(problem);
      if (!v.problem) rc = assay__nomem();
    }
  }
  if (!rc && !v.problem) rc = frame_profile(v.f, &v.profile);

  verdict vd = {k, id, v.problem ? INVALID : VALID, v.problem, v.f ? v.f->rows : 0, v.profile,
                0};
  if (!rc) {
    rc = record_verdict(j, &vd);
  }
  int cancel_reason = j->cancel ? __atomic_load_n(j->cancel, __ATOMIC_ACQUIRE) : 0;
  if (rc == ASSAY_ERR_UNAVAILABLE && cancel_reason) {
    /* cancelled: no verdict on the data. The platform stopping leaves the
     * entry PENDING for the job's next run; another cancellation says so
     * on the entry. The job ends with the runner's "... cancelled: ...". */
    int code = rc;
    char *m = last_message(v.red), *why_text = NULL;
    if (cancel_reason == RUNNER_CANCEL_STOPPING) {
      j->log(j, "the %s stays %s: its validation runs again later", k->noun, PENDING);
    } else {
      if (asprintf(&why_text, "validation was cancelled: %s",
                   runner_cancel_reason(cancel_reason)) < 0)
        why_text = NULL;
      verdict cancelled = {k, id, INVALID, why_text ? why_text : "validation was cancelled", 0,
                           NULL, 0};
      (void)record_verdict(j, &cancelled);
    }
    assay__err(code, "%s", m ? m : "the validation was cancelled");
    free(m);
    free(why_text);
    vstate_clear(&v);
    return code;
  }
  if (rc) {
    /* internal failure: the entry is INVALID "validation failed: ..." and
     * the job fails with the (redacted) message */
    int code = rc;
    char *m = last_message(v.red), *why = NULL;
    if (!m || asprintf(&why, "validation failed: %s", m) < 0) why = NULL;
    verdict bad = {k, id, INVALID, why ? why : "validation failed", 0, NULL, 0};
    (void)record_verdict(j, &bad);
    assay__err(code, "%s", m ? m : "validation failed");
    free(m);
    free(why);
    vstate_clear(&v);
    return code;
  }
  *result = json_pack("{s:s, s:s, s:s?, s:o, s:b}", "kind", k->kind, "id", id,
                      "validity_status", vd.gone ? NULL : vd.status, "row_count",
                      v.problem || vd.gone ? json_null() : json_integer(vd.rows), "cached",
                      cached);
  if (*result && vd.gone) json_object_set_new(*result, "validity_status", json_null());
  vstate_clear(&v);
  return *result ? ASSAY_OK : assay__nomem();
}

int validate_dataset_job(job_ctx *j, json_t **result) { return validate(j, &K_DATASET, result); }

int validate_predictions_job(job_ctx *j, json_t **result) {
  return validate(j, &K_PREDICTIONS, result);
}

/* --- a job that never finished (stale) or never ran (cancelled) ------------------------ */

int validate_abandoned(store *s, const json_t *job, int why) {
  const json_t *request = json_object_get(job, "request");
  const char *kind = text_of(request, "kind"), *id = text_of(request, "id");
  const char *job_id = text_of(job, "job_id");
  const vkind *k = NULL;
  if (kind && strcmp(kind, K_DATASET.kind) == 0) k = &K_DATASET;
  else if (kind && strcmp(kind, K_PREDICTIONS.kind) == 0) k = &K_PREDICTIONS;
  if (!k || !id) return ASSAY_OK; /* not a validation request: nothing to settle */
  json_t *rec = NULL;
  int rc = s->ops->registry_get(s, k->kind, id, &rec);
  if (rc == ASSAY_ERR_NOT_FOUND) { /* deleted meanwhile */
    assay_error_clear();
    return ASSAY_OK;
  }
  if (rc) return rc;
  const char *status = text_of(rec, "validity_status");
  const char *by = text_of(rec, "validation_job_id");
  /* only the entry this job was validating, and only while undecided */
  if (!status || strcmp(status, PENDING) != 0 || (by && job_id && strcmp(by, job_id) != 0)) {
    json_decref(rec);
    return ASSAY_OK;
  }
  char *msg = NULL;
  int n = why == JOB_ABANDONED_CANCELLED
              ? asprintf(&msg, "validation was cancelled: %s",
                         runner_cancel_reason(RUNNER_CANCEL_JOB))
              : asprintf(&msg,
                         "validation did not finish: the platform process running it stopped "
                         "(job %s); delete the %s and register it again",
                         job_id ? job_id : "?", k->noun);
  if (n < 0) msg = NULL;
  if (!msg || json_object_set_new(rec, "validity_status", json_string(INVALID)) ||
      json_object_set_new(rec, "validity_message", json_string(msg)) ||
      json_object_set_new(rec, "row_count", json_null()) ||
      json_object_set_new(rec, "schema_profile", json_null()))
    rc = assay__nomem();
  if (!rc) rc = s->ops->registry_update(s, k->kind, rec);
  free(msg);
  json_decref(rec);
  return rc;
}
