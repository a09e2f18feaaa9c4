/* platform/registry.c — the registry routes: datasets, models and
 * prediction sets of a project (register, list, get, delete).
 *
 * Registering validates the config in C (config/data_info.h), checks that
 * every integration it names is one of the workspace's and that the
 * caller's credentials for it resolve (members-level values set), and that
 * every file location it references was uploaded; then, in one write
 * transaction, inserts the record (validity VALIDITY_STATUS_PENDING) and
 * submits its validation job (platform/jobs.h), whose worker later records
 * VALID or INVALID. skip_validation registers without a job ("validation
 * skipped"). Everything lives in the caller's workspace: an entry of a
 * project elsewhere is "not found". Viewers read; members register and
 * delete their own entries; admins delete any. Deleting a dataset or model
 * deletes its prediction sets; the cached data of what was deleted is
 * dropped after the commit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/data_info.h"
#include "engine/load.h"
#include "integration/integration.h"
#include "platform/access.h"
#include "platform/files.h"
#include "platform/handlers.h"
#include "platform/jobs.h"

#define REGISTRY_NAME_MAX 256
#define TAG_MAX 256
#define EXTERNAL_ID_MAX 1024

#define VALIDITY_PENDING "VALIDITY_STATUS_PENDING"

typedef struct kind_info {
  const char *kind;     /* the store's kind */
  const char *id_key;   /* the record's id field */
  const char *noun;     /* in messages */
  const char *list_key; /* the list answer's array */
  const char *job_type; /* its validation job; NULL: none */
} kind_info;

static const kind_info K_DATASET = {"dataset", "dataset_id", "dataset", "datasets",
                                    JOB_TYPE_DATASET_VALIDATION};
static const kind_info K_MODEL = {"model", "model_id", "model", "models", NULL};
static const kind_info K_PREDICTIONS = {"predictions", "prediction_id", "prediction set",
                                        "predictions", JOB_TYPE_PREDICTIONS_VALIDATION};

static const char *text_of(const json_t *obj, const char *field) {
  return json_string_value(json_object_get(obj, field));
}

static int not_found(const kind_info *k, const char *id) {
  return assay__err(ASSAY_ERR_NOT_FOUND, "%s '%s' not found", k->noun, id);
}

/* Replace the calling thread's last error by "<field>: <its message>",
 * keeping its code. */
static int prefix_error(int rc, const char *field) {
  const assay_error *e = assay_error_last();
  char *msg = e && e->message ? strdup(e->message) : NULL;
  rc = assay__err(rc, "%s: %s", field, msg ? msg : "failed");
  free(msg);
  return rc;
}

/* --- access ------------------------------------------------------------------------ */

/* The project must be one of the caller's workspace, and the caller hold at
 * least `min` there; `held` (may be NULL) receives the role. */
static int project_access(route_ctx *c, const char *project_id, workspace_role min,
                          workspace_role *held) {
  store *s = c->store;
  json_t *p = NULL;
  int rc = s->ops->project_get(s, c->who->workspace_id, project_id, &p);
  json_decref(p);
  if (!rc) rc = access_workspace(s, c->who, c->who->workspace_id, min, held);
  return rc;
}

/* Load entry `id` of kind k if the caller may see it (its project is in the
 * caller's workspace) and holds at least `min`; else NOT_FOUND (or
 * PERMISSION_DENIED for too low a role). */
static int load_visible(route_ctx *c, const kind_info *k, const char *id, workspace_role min,
                        workspace_role *held, json_t **rec) {
  store *s = c->store;
  *rec = NULL;
  int rc = s->ops->registry_get(s, k->kind, id, rec);
  if (rc == ASSAY_ERR_NOT_FOUND) return not_found(k, id);
  if (!rc) {
    json_t *p = NULL;
    rc = s->ops->project_get(s, c->who->workspace_id, text_of(*rec, "project_id"), &p);
    json_decref(p);
    if (rc == ASSAY_ERR_NOT_FOUND) rc = not_found(k, id);
  }
  if (!rc) rc = access_workspace(s, c->who, c->who->workspace_id, min, held);
  if (rc) {
    json_decref(*rec);
    *rec = NULL;
  }
  return rc;
}

/* --- request bodies ---------------------------------------------------------------- */

static int body_bool(json_t *b, const char *field, int *out) {
  json_t *v = json_object_get(b, field);
  if (!v || json_is_null(v)) return ASSAY_OK;
  if (!json_is_boolean(v))
    return assay__err(ASSAY_ERR_CONFIG, "%s must be a boolean (true or false); got %s", field,
                      json_type_name(v));
  *out = json_is_true(v);
  return ASSAY_OK;
}

/* A field not given, or given as null. */
static int absent(const json_t *b, const char *field) {
  json_t *v = json_object_get(b, field);
  return !v || json_is_null(v);
}

/* An optional id: a non-empty string. */
static int body_id(json_t *b, const char *field, int required, const char **out) {
  int rc = body_string(b, field, required, out);
  if (!rc && *out && !**out)
    rc = assay__err(ASSAY_ERR_CONFIG, "%s must be a non-empty string (an id); got ''", field);
  return rc;
}

/* tags: an array of one-line strings; [] when not given. */
static int body_tags(json_t *b, json_t **out) {
  json_t *v = json_object_get(b, "tags");
  *out = NULL;
  if (!v || json_is_null(v)) {
    *out = json_array();
    return *out ? ASSAY_OK : assay__nomem();
  }
  if (!json_is_array(v))
    return assay__err(ASSAY_ERR_CONFIG, "tags must be an array of strings; got %s",
                      json_type_name(v));
  size_t i;
  json_t *t;
  json_array_foreach(v, i, t) {
    char field[48];
    snprintf(field, sizeof field, "tags[%zu]", i);
    if (!json_is_string(t))
      return assay__err(ASSAY_ERR_CONFIG, "%s must be a string; got %s", field,
                        json_type_name(t));
    int rc = check_text(field, json_string_value(t), TAG_MAX, 1);
    if (rc) return rc;
  }
  *out = json_incref(v);
  return ASSAY_OK;
}

/* An optional object; `dflt` (a new reference, may be NULL for JSON null)
 * when not given. */
static int body_object_or(json_t *b, const char *field, json_t *dflt, json_t **out) {
  json_t *v = NULL;
  int rc = body_object(b, field, &v);
  if (rc) {
    json_decref(dflt);
    return rc;
  }
  if (v) {
    json_decref(dflt);
    *out = json_incref(v);
  } else {
    *out = dflt ? dflt : json_null();
  }
  return ASSAY_OK;
}

/* --- registration -------------------------------------------------------------------- */

#define MAX_REFS 3

/* What a registration checks against the store, and its record. */
typedef struct registration {
  const kind_info *k;
  const char *project_id;
  json_t *rec; /* the record; its created_at_secs is dropped before answering */
  /* integration ids to check: field name (for messages) and id */
  const char *integ_field[MAX_REFS], *integ_id[MAX_REFS];
  int n_integ;
  /* file locations that must have been uploaded */
  const char *file_field[MAX_REFS], *file_location[MAX_REFS];
  int file_dir_ok[MAX_REFS];
  int n_files;
  int submit; /* submit the validation job */
} registration;

static void add_integration(registration *r, const char *field, const char *id) {
  if (id && r->n_integ < MAX_REFS) {
    r->integ_field[r->n_integ] = field;
    r->integ_id[r->n_integ++] = id;
  }
}

static void add_file(registration *r, const char *field, const char *location, int dir_ok) {
  if (location && r->n_files < MAX_REFS) {
    r->file_field[r->n_files] = field;
    r->file_dir_ok[r->n_files] = dir_ok;
    r->file_location[r->n_files++] = location;
  }
}

/* The file location of a validated data_info / pred_info; its field name
 * into `field` ("<where>.connection_info.<type>.path"). */
static const char *config_location(const json_t *norm, const char *where, char *field,
                                   size_t size, const char **integ, char *integ_field,
                                   size_t integ_size) {
  const json_t *conn = NULL;
  const char *type = data_info_connection(norm, &conn);
  if (!type) return NULL;
  snprintf(field, size, "%s.connection_info.%s.path", where, type);
  *integ = text_of(conn, "data_endpoint_integration_id");
  snprintf(integ_field, integ_size, "%s.connection_info.%s.data_endpoint_integration_id", where,
           type);
  return text_of(conn, "path");
}

/* The integration must be one of the workspace's, and the caller's values
 * for it complete (integration_resolve; the dict is dropped at once). Runs
 * with no transaction open (integration_resolve opens its own). */
static int check_integration(route_ctx *c, const char *field, const char *id) {
  store *s = c->store;
  json_t *rec = NULL;
  int rc = s->ops->integration_get(s, id, &rec);
  if (rc == ASSAY_ERR_NOT_FOUND ||
      (!rc && strcmp(text_of(rec, "workspace_id"), c->who->workspace_id) != 0))
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "%s: integration '%s' not found in this workspace",
                    field, id);
  json_decref(rec);
  if (rc) return rc;
  json_t *dict = NULL;
  rc = integration_resolve(c->platform, s, id, c->who->user_id, &dict);
  integration_dict_free(dict);
  return rc ? prefix_error(rc, field) : ASSAY_OK;
}

/* The location must name an uploaded file (or, dir_ok, directory) of the
 * workspace. */
static int check_file(route_ctx *c, const char *field, const char *location, int dir_ok) {
  char *abs = NULL;
  int rc = files_resolve(c->platform, c->store, c->who->workspace_id, location, &abs);
  if (rc) rc = prefix_error(rc, field); /* e.g. "<field>: no uploaded file at <location>" */
  struct stat st;
  if (!rc && !dir_ok && stat(abs, &st) == 0 && S_ISDIR(st.st_mode))
    rc = assay__err(ASSAY_ERR_CONFIG, "%s: %s is a directory; expected a file", field, location);
  free(abs);
  return rc;
}

/* Predictions: the dataset and the model must be entries of the project. */
static int check_member_entry(route_ctx *c, const kind_info *k, const char *field,
                              const char *id, const char *project_id) {
  store *s = c->store;
  json_t *rec = NULL, *p = NULL;
  int rc = s->ops->registry_get(s, k->kind, id, &rec);
  const char *where = rc ? NULL : text_of(rec, "project_id");
  if (!rc && strcmp(where, project_id) != 0) {
    /* another project: of this workspace (say so) or not (not found) */
    rc = s->ops->project_get(s, c->who->workspace_id, where, &p);
    json_decref(p);
    if (!rc)
      rc = assay__err(ASSAY_ERR_CONFIG,
                      "%s: %s '%s' belongs to another project (%s); a prediction set is "
                      "registered in the project of its dataset and model",
                      field, k->noun, id, where);
  }
  json_decref(rec);
  if (rc == ASSAY_ERR_NOT_FOUND)
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "%s: %s '%s' not found in project '%s'", field,
                    k->noun, id, project_id);
  return rc;
}

static int register_in_tx(route_ctx *c, registration *r, char job_id[37]) {
  store *s = c->store;
  int rc = project_access(c, r->project_id, ROLE_MEMBER, NULL);
  if (!rc && r->k == &K_PREDICTIONS) {
    rc = check_member_entry(c, &K_DATASET, "dataset_id", text_of(r->rec, "dataset_id"),
                            r->project_id);
    if (!rc)
      rc = check_member_entry(c, &K_MODEL, "model_id", text_of(r->rec, "model_id"),
                              r->project_id);
  }
  for (int i = 0; !rc && i < r->n_files; i++)
    rc = check_file(c, r->file_field[i], r->file_location[i], r->file_dir_ok[i]);
  if (!rc && r->submit) {
    json_t *request = json_pack("{s:s, s:s}", "kind", r->k->kind, "id",
                                text_of(r->rec, r->k->id_key));
    rc = request ? jobs_submit(s, r->k->job_type, c->who->workspace_id, r->project_id,
                               c->who->user_id, request, job_id)
                 : assay__nomem();
    json_decref(request);
    if (!rc && json_object_set_new(r->rec, "validation_job_id", json_string(job_id)) != 0)
      rc = assay__nomem();
  }
  if (!rc) rc = s->ops->registry_insert(s, r->k->kind, r->rec);
  return rc;
}

/* Check, insert (and submit), answer 201 with the record. Takes r->rec. */
static int register_entry(route_ctx *c, registration *r) {
  store *s = c->store;
  /* Who may register here, before looking at integrations (no leaks). */
  int rc = project_access(c, r->project_id, ROLE_MEMBER, NULL);
  for (int i = 0; !rc && i < r->n_integ; i++)
    rc = check_integration(c, r->integ_field[i], r->integ_id[i]);
  char job_id[37] = "";
  if (!rc) {
    rc = s->ops->begin(s, 1);
    if (!rc) rc = register_in_tx(c, r, job_id);
    if (!rc) rc = s->ops->commit(s);
    if (rc) s->ops->rollback(s);
  }
  if (rc) {
    json_decref(r->rec);
    return rc;
  }
  if (r->submit) jobs_notify(c->platform);
  json_object_del(r->rec, "created_at_secs");
  c->resp->status = 201;
  c->resp->body = r->rec;
  return ASSAY_OK;
}

/* The fields every registration shares: tags, metadata; the new id and
 * creation time. */
typedef struct common_fields {
  json_t *tags, *metadata;
  char id[37], created[32];
  int64_t now;
} common_fields;

static int common_begin(json_t *b, common_fields *f) {
  memset(f, 0, sizeof *f);
  int rc = body_tags(b, &f->tags);
  if (!rc) rc = body_object_or(b, "metadata", json_object(), &f->metadata);
  if (rc) {
    json_decref(f->tags);
    f->tags = NULL;
    return rc;
  }
  f->now = assay__now();
  assay__uuid(f->id);
  assay__rfc3339(f->created, f->now);
  return ASSAY_OK;
}

static void common_end(common_fields *f) {
  json_decref(f->tags);
  json_decref(f->metadata);
}

static int check_name(json_t *b, const char **name) {
  int rc = body_string(b, "name", 1, name);
  return rc ? rc : check_text("name", *name, REGISTRY_NAME_MAX, 1);
}

static const char *const dataset_fields[] = {
  "name", "data_info", "integration_id", "tags", "metadata", "ct_info", "skip_validation",
  "agent_id", NULL};

/* POST /v1/projects/{project_id}/datasets */
int h_datasets_create(route_ctx *c) {
  json_t *b = c->body, *info = NULL, *ct = NULL;
  const char *name = NULL, *integ = NULL, *agent = NULL;
  int skip = 0;
  common_fields f;
  int rc = body_check_fields(b, dataset_fields, "a dataset");
  if (!rc) rc = check_name(b, &name);
  if (!rc && absent(b, "data_info"))
    rc = assay__err(ASSAY_ERR_CONFIG,
                    "data_info is required (an object {\"connection_info\": {...}, "
                    "\"data_params\": {...}})");
  if (!rc) rc = data_info_validate(json_object_get(b, "data_info"), "data_info", &info);
  if (!rc) rc = body_id(b, "integration_id", 0, &integ);
  if (!rc) rc = body_id(b, "agent_id", 0, &agent);
  if (!rc) rc = body_bool(b, "skip_validation", &skip);
  if (!rc) rc = body_object_or(b, "ct_info", NULL, &ct);
  if (!rc) rc = common_begin(b, &f);
  if (rc) {
    json_decref(info);
    json_decref(ct);
    return rc;
  }
  json_t *rec = json_pack(
    "{s:s, s:s, s:s, s:O, s:s?, s:O, s:O, s:O, s:s, s:s, s:s, s:s?, s:n, s:n, s:n, s:b, s:I}",
    "dataset_id", f.id, "project_id", c->params[0], "name", name, "data_info", info,
    "integration_id", integ, "tags", f.tags, "metadata", f.metadata, "ct_info", ct,
    "created_by", c->who->user_id, "created_at", f.created, "validity_status",
    VALIDITY_PENDING, "validity_message", skip ? "validation skipped" : NULL, "row_count",
    "schema_profile", "validation_job_id", "skip_validation", skip, "created_at_secs",
    (json_int_t)f.now);
  common_end(&f);
  json_decref(ct);
  if (!rec) {
    json_decref(info);
    return assay__nomem();
  }
  registration r = {.k = &K_DATASET, .project_id = c->params[0], .rec = rec, .submit = !skip};
  char file_field[128], integ_field[128];
  const char *endpoint = NULL;
  const char *loc = config_location(info, "data_info", file_field, sizeof file_field, &endpoint,
                                    integ_field, sizeof integ_field);
  add_integration(&r, "integration_id", integ);
  add_integration(&r, integ_field, endpoint);
  add_file(&r, file_field, loc, 0);
  rc = register_entry(c, &r);
  json_decref(info); /* after: loc and endpoint point into it */
  return rc;
}

static const char *const model_fields[] = {
  "name", "model_info", "tags", "metadata", "external_id", "integration_id",
  "model_endpoint_integration_id", "agent_id", NULL};

/* POST /v1/projects/{project_id}/models */
int h_models_create(route_ctx *c) {
  json_t *b = c->body, *info = NULL;
  const char *name = NULL, *integ = NULL, *endpoint = NULL, *external = NULL, *agent = NULL;
  common_fields f;
  int rc = body_check_fields(b, model_fields, "a model");
  if (!rc) rc = check_name(b, &name);
  if (!rc) rc = model_info_validate(json_object_get(b, "model_info"), &info);
  if (!rc) rc = body_id(b, "integration_id", 0, &integ);
  if (!rc) rc = body_id(b, "model_endpoint_integration_id", 0, &endpoint);
  if (!rc) rc = body_id(b, "agent_id", 0, &agent);
  if (!rc) rc = body_string(b, "external_id", 0, &external);
  if (!rc && external) rc = check_text("external_id", external, EXTERNAL_ID_MAX, 1);
  if (!rc) rc = common_begin(b, &f);
  if (rc) {
    json_decref(info);
    return rc;
  }
  json_t *rec = json_pack(
    "{s:s, s:s, s:s, s:O, s:O, s:O, s:s?, s:s?, s:s?, s:s, s:s, s:I}", "model_id", f.id,
    "project_id", c->params[0], "name", name, "model_info", info, "tags", f.tags, "metadata",
    f.metadata, "external_id", external, "integration_id", integ,
    "model_endpoint_integration_id", endpoint, "created_by", c->who->user_id, "created_at",
    f.created, "created_at_secs", (json_int_t)f.now);
  common_end(&f);
  if (!rec) {
    json_decref(info);
    return assay__nomem();
  }
  registration r = {.k = &K_MODEL, .project_id = c->params[0], .rec = rec, .submit = 0};
  add_integration(&r, "integration_id", integ);
  add_integration(&r, "model_endpoint_integration_id", endpoint);
  json_t *mp = json_object_get(info, "model_path"), *ml = json_object_get(info, "model_loading");
  if (mp) add_file(&r, "model_info.model_path.path", text_of(mp, "path"), 1);
  if (ml) add_file(&r, "model_info.model_loading.path", text_of(ml, "path"), 0);
  rc = register_entry(c, &r);
  json_decref(info);
  return rc;
}

static const char *const prediction_fields[] = {
  "dataset_id", "model_id", "pred_info", "integration_id", "tags", "metadata",
  "skip_validation", "agent_id", NULL};

/* POST /v1/projects/{project_id}/predictions */
int h_predictions_create(route_ctx *c) {
  json_t *b = c->body, *info = NULL;
  const char *dataset = NULL, *model = NULL, *integ = NULL, *agent = NULL;
  int skip = 0;
  common_fields f;
  int rc = body_check_fields(b, prediction_fields, "a prediction set");
  if (!rc) rc = body_id(b, "dataset_id", 1, &dataset);
  if (!rc) rc = body_id(b, "model_id", 1, &model);
  if (!rc && absent(b, "pred_info"))
    rc = assay__err(ASSAY_ERR_CONFIG,
                    "pred_info is required (an object {\"connection_info\": {...}, "
                    "\"pred_params\": {...}})");
  if (!rc) rc = pred_info_validate(json_object_get(b, "pred_info"), &info);
  if (!rc) rc = body_id(b, "integration_id", 0, &integ);
  if (!rc) rc = body_id(b, "agent_id", 0, &agent);
  if (!rc) rc = body_bool(b, "skip_validation", &skip);
  if (!rc) rc = common_begin(b, &f);
  if (rc) {
    json_decref(info);
    return rc;
  }
  json_t *rec = json_pack(
    "{s:s, s:s, s:s, s:s, s:O, s:s?, s:O, s:O, s:s, s:s, s:s, s:s?, s:n, s:n, s:n, s:b, s:I}",
    "prediction_id", f.id, "project_id", c->params[0], "dataset_id", dataset, "model_id", model,
    "pred_info", info, "integration_id", integ, "tags", f.tags, "metadata", f.metadata,
    "created_by", c->who->user_id, "created_at", f.created, "validity_status",
    VALIDITY_PENDING, "validity_message", skip ? "validation skipped" : NULL, "row_count",
    "schema_profile", "validation_job_id", "skip_validation", skip, "created_at_secs",
    (json_int_t)f.now);
  common_end(&f);
  if (!rec) {
    json_decref(info);
    return assay__nomem();
  }
  registration r = {.k = &K_PREDICTIONS, .project_id = c->params[0], .rec = rec,
                    .submit = !skip};
  char file_field[128], integ_field[128];
  const char *endpoint = NULL;
  const char *loc = config_location(info, "pred_info", file_field, sizeof file_field, &endpoint,
                                    integ_field, sizeof integ_field);
  add_integration(&r, "integration_id", integ);
  add_integration(&r, integ_field, endpoint);
  add_file(&r, file_field, loc, 0);
  rc = register_entry(c, &r);
  json_decref(info);
  return rc;
}

/* --- list and get -------------------------------------------------------------------- */

/* GET /v1/projects/{project_id}/<kind>?<filters> */
static int list_entries(route_ctx *c, const kind_info *k, const char *const *filters) {
  store *s = c->store;
  json_t *filter = json_object(), *list = NULL;
  if (!filter) return assay__nomem();
  int rc = ASSAY_OK;
  for (const char *const *name = filters; !rc && *name; name++) {
    char *v = NULL;
    rc = query_string(c->req->query, *name, &v);
    if (!rc && v && json_object_set_new(filter, *name, json_string(v)) != 0)
      rc = assay__err(ASSAY_ERR_CONFIG, "query parameter %s must be UTF-8 text", *name);
    free(v);
  }
  if (!rc) rc = s->ops->begin(s, 0);
  if (!rc) {
    rc = project_access(c, c->params[0], ROLE_VIEWER, NULL);
    if (!rc) rc = s->ops->registry_list(s, k->kind, c->params[0], filter, &list);
    if (!rc) rc = s->ops->commit(s);
    if (rc) s->ops->rollback(s);
  }
  json_decref(filter);
  if (rc) {
    json_decref(list);
    return rc;
  }
  c->resp->body = json_pack("{s:o}", k->list_key, list);
  return c->resp->body ? ASSAY_OK : assay__nomem();
}

static const char *const name_filter[] = {"name", NULL};
static const char *const prediction_filters[] = {"model_id", "dataset_id", NULL};

int h_datasets_list(route_ctx *c) { return list_entries(c, &K_DATASET, name_filter); }
int h_models_list(route_ctx *c) { return list_entries(c, &K_MODEL, name_filter); }
int h_predictions_list(route_ctx *c) {
  return list_entries(c, &K_PREDICTIONS, prediction_filters);
}

/* GET /v1/<kind>/{id} */
static int get_entry(route_ctx *c, const kind_info *k) {
  store *s = c->store;
  json_t *rec = NULL;
  int rc = s->ops->begin(s, 0);
  if (!rc) {
    rc = load_visible(c, k, c->params[0], ROLE_VIEWER, NULL, &rec);
    if (!rc) rc = s->ops->commit(s);
    if (rc) s->ops->rollback(s);
  }
  if (rc) {
    json_decref(rec);
    return rc;
  }
  c->resp->body = rec;
  return ASSAY_OK;
}

int h_dataset_get(route_ctx *c) { return get_entry(c, &K_DATASET); }
int h_model_get(route_ctx *c) { return get_entry(c, &K_MODEL); }
int h_prediction_get(route_ctx *c) { return get_entry(c, &K_PREDICTIONS); }

/* --- delete ---------------------------------------------------------------------------- */

/* Append the ids of the prediction sets of a dataset or model to `ids`. */
static int add_prediction_ids(store *s, const char *project_id, const char *key,
                              const char *id, json_t *ids) {
  json_t *filter = json_pack("{s:s}", key, id), *list = NULL;
  if (!filter) return assay__nomem();
  int rc = s->ops->registry_list(s, K_PREDICTIONS.kind, project_id, filter, &list);
  json_decref(filter);
  size_t i;
  json_t *p;
  json_array_foreach(list, i, p) {
    if (!rc && json_array_append(ids, json_object_get(p, K_PREDICTIONS.id_key)) != 0)
      rc = assay__nomem();
  }
  json_decref(list);
  return rc;
}

/* Drop the cached data of every id in `ids` (after a commit: the entries
 * are gone; a cache that stays behind is only disk space). */
static void drop_caches(assay_platform *p, json_t *ids) {
  size_t i;
  json_t *id;
  json_array_foreach(ids, i, id) {
    if (json_is_string(id)) (void)dataset_cache_drop(p, json_string_value(id));
  }
}

/* DELETE /v1/<kind>/{id}: members their own entries, admins any. */
static int delete_entry(route_ctx *c, const kind_info *k) {
  store *s = c->store;
  const char *id = c->params[0];
  json_t *rec = NULL, *drops = json_array();
  if (!drops) return assay__nomem();
  workspace_role held = ROLE_NONE;
  int rc = s->ops->begin(s, 1);
  if (!rc) rc = load_visible(c, k, id, ROLE_MEMBER, &held, &rec);
  const char *owner = rec ? text_of(rec, "created_by") : NULL;
  if (!rc && held < ROLE_ADMIN && (!owner || strcmp(owner, c->who->user_id) != 0)) {
    const char *name = text_of(rec, "name");
    rc = assay__err(ASSAY_ERR_PERMISSION_DENIED,
                    "%s '%s' was registered by another user; deleting it needs the "
                    "WORKSPACE_ROLE_ADMIN role",
                    k->noun, name ? name : id);
  }
  const char *project_id = rec ? text_of(rec, "project_id") : NULL;
  if (!rc && k == &K_DATASET) rc = add_prediction_ids(s, project_id, "dataset_id", id, drops);
  if (!rc && k == &K_MODEL) rc = add_prediction_ids(s, project_id, "model_id", id, drops);
  if (!rc && k != &K_MODEL && json_array_append_new(drops, json_string(id)) != 0)
    rc = assay__nomem();
  if (!rc) rc = s->ops->registry_delete(s, k->kind, id);
  if (!rc) rc = s->ops->commit(s);
  if (rc) s->ops->rollback(s);
  json_decref(rec);
  if (!rc) {
    drop_caches(c->platform, drops);
    c->resp->status = 204;
  }
  json_decref(drops);
  return rc;
}

int h_dataset_delete(route_ctx *c) { return delete_entry(c, &K_DATASET); }
int h_model_delete(route_ctx *c) { return delete_entry(c, &K_MODEL); }
int h_prediction_delete(route_ctx *c) { return delete_entry(c, &K_PREDICTIONS); }

/* --- projects ---------------------------------------------------------------------------- */

/* The ids of every dataset and prediction set of a project (whose cached
 * data a forced project deletion drops). */
int registry_cached_ids(store *s, const char *project_id, json_t **ids) {
  json_t *out = json_array();
  if (!out) return assay__nomem();
  int rc = ASSAY_OK;
  const kind_info *cached[] = {&K_DATASET, &K_PREDICTIONS};
  for (size_t n = 0; !rc && n < 2; n++) {
    json_t *list = NULL;
    rc = s->ops->registry_list(s, cached[n]->kind, project_id, NULL, &list);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
      if (!rc && json_array_append(out, json_object_get(e, cached[n]->id_key)) != 0)
        rc = assay__nomem();
    }
    json_decref(list);
  }
  if (rc) {
    json_decref(out);
    return rc;
  }
  *ids = out;
  return ASSAY_OK;
}

void registry_drop_caches(assay_platform *p, json_t *ids) { drop_caches(p, ids); }
