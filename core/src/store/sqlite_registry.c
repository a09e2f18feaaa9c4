/* store/sqlite_registry.c — the SQLite backend's registry entries
 * (datasets, models, prediction sets) in the `registry` table of migration
 * 3: one row per entry with the columns that constraints and filters need
 * (project, kind, name, dataset and model of a prediction set, creation
 * time) and the whole record as JSON text. Prediction sets hang off their
 * dataset and model (ON DELETE CASCADE), entries off their project.
 * Contract in store/store.h. */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

typedef struct kind_info {
  const char *kind;   /* the `kind` column */
  const char *id_key; /* the record's id field */
  const char *noun;   /* in messages */
} kind_info;

static const kind_info kinds[] = {
  {"dataset", "dataset_id", "dataset"},
  {"model", "model_id", "model"},
  {"predictions", "prediction_id", "prediction set"},
};

static const kind_info *kind_of(const char *kind) {
  for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(kinds[i].kind, kind) == 0) return &kinds[i];
  return NULL;
}

static int bad_kind(const char *kind) {
  return assay__err(ASSAY_ERR_INTERNAL,
                    "registry: unknown kind '%s' (expected dataset, model or predictions)",
                    kind ? kind : "(null)");
}

static const char *text_of(const json_t *rec, const char *field) {
  return json_string_value(json_object_get(rec, field));
}

/* The record as stored: without the insert-only "created_at_secs". */
static char *record_text(json_t *rec) {
  json_t *copy = json_copy(rec);
  if (!copy) return NULL;
  json_object_del(copy, "created_at_secs");
  char *text = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(copy);
  return text;
}

static int not_found(const kind_info *k, const char *id) {
  return assay__err(ASSAY_ERR_NOT_FOUND, "%s '%s' not found", k->noun, id ? id : "");
}

int sq_registry_insert(store *s, const char *kind, json_t *rec) {
  const kind_info *k = kind_of(kind);
  if (!k) return bad_kind(kind);
  const char *id = text_of(rec, k->id_key), *project_id = text_of(rec, "project_id");
  if (!id || !project_id)
    return assay__err(ASSAY_ERR_INTERNAL, "registry: a %s record needs %s and project_id",
                      k->noun, k->id_key);
  char *text = record_text(rec);
  if (!text) return assay__nomem();
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "INSERT INTO registry(id, project_id, kind, name, dataset_id, model_id, "
                          "created_at, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (rc) {
    free(text);
    return rc;
  }
  int predictions = strcmp(k->kind, "predictions") == 0;
  sqlite_bind_text(st, 1, id);
  sqlite_bind_text(st, 2, project_id);
  sqlite_bind_text(st, 3, k->kind);
  sqlite_bind_text(st, 4, predictions ? NULL : text_of(rec, "name"));
  sqlite_bind_text(st, 5, predictions ? text_of(rec, "dataset_id") : NULL);
  sqlite_bind_text(st, 6, predictions ? text_of(rec, "model_id") : NULL);
  json_int_t created = json_integer_value(json_object_get(rec, "created_at_secs"));
  sqlite3_bind_int64(st, 7, (sqlite3_int64)created);
  sqlite_bind_text(st, 8, text);
  free(text);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE) return ASSAY_OK;
  if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
    if (predictions)
      return assay__err(ASSAY_ERR_CONFLICT,
                        "predictions of model '%s' on dataset '%s' are already registered in "
                        "this project; one prediction set per dataset and model (delete the "
                        "old one first)",
                        text_of(rec, "model_id"), text_of(rec, "dataset_id"));
    return assay__err(ASSAY_ERR_CONFLICT,
                      "a %s named '%s' already exists in this project; %s names must be unique "
                      "within a project",
                      k->noun, text_of(rec, "name"), k->noun);
  }
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY && predictions)
    return assay__err(ASSAY_ERR_NOT_FOUND,
                      "the project, dataset or model of this prediction set no longer exists");
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
    return assay__err(ASSAY_ERR_NOT_FOUND, "project '%s' not found", project_id);
  return sqlite_fail(s, rc, "register in the registry");
}

int sq_registry_update(store *s, const char *kind, json_t *rec) {
  const kind_info *k = kind_of(kind);
  if (!k) return bad_kind(kind);
  const char *id = text_of(rec, k->id_key);
  if (!id)
    return assay__err(ASSAY_ERR_INTERNAL, "registry: a %s record needs %s", k->noun, k->id_key);
  char *text = record_text(rec);
  if (!text) return assay__nomem();
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st, "UPDATE registry SET record = ? WHERE id = ? AND kind = ?");
  if (rc) {
    free(text);
    return rc;
  }
  sqlite_bind_text(st, 1, text);
  sqlite_bind_text(st, 2, id);
  sqlite_bind_text(st, 3, k->kind);
  free(text);
  rc = sqlite_step_done(s, st, "update a registry entry");
  if (!rc && sqlite3_changes(sqlite_db(s)) == 0) rc = not_found(k, id);
  return rc;
}

static json_t *record_from_row(sqlite3_stmt *st) {
  const char *text = (const char *)sqlite3_column_text(st, 0);
  return text ? json_loads(text, 0, NULL) : NULL;
}

int sq_registry_get(store *s, const char *kind, const char *id, json_t **out) {
  const kind_info *k = kind_of(kind);
  if (!k) return bad_kind(kind);
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st, "SELECT record FROM registry WHERE id = ? AND kind = ?");
  if (rc) return rc;
  sqlite_bind_text(st, 1, id);
  sqlite_bind_text(st, 2, k->kind);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *out = record_from_row(st);
    rc = *out ? ASSAY_OK
              : assay__err(ASSAY_ERR_STORE, "the stored record of %s '%s' is not valid JSON",
                           k->noun, id);
  } else if (rc == SQLITE_DONE) {
    rc = not_found(k, id);
  } else {
    rc = sqlite_fail(s, rc, "read a registry entry");
  }
  sqlite3_finalize(st);
  return rc;
}

int sq_registry_list(store *s, const char *kind, const char *project_id, const json_t *filter,
                     json_t **out) {
  const kind_info *k = kind_of(kind);
  if (!k) return bad_kind(kind);
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "SELECT record FROM registry WHERE project_id = ?1 AND kind = ?2 "
                          "AND (?3 IS NULL OR name = ?3) AND (?4 IS NULL OR dataset_id = ?4) "
                          "AND (?5 IS NULL OR model_id = ?5) ORDER BY created_at, rowid");
  if (rc) return rc;
  sqlite_bind_text(st, 1, project_id);
  sqlite_bind_text(st, 2, k->kind);
  sqlite_bind_text(st, 3, text_of(filter, "name"));
  sqlite_bind_text(st, 4, text_of(filter, "dataset_id"));
  sqlite_bind_text(st, 5, text_of(filter, "model_id"));
  return sqlite_collect(s, st, record_from_row, "list registry entries", out);
}

int sq_registry_delete(store *s, const char *kind, const char *id) {
  const kind_info *k = kind_of(kind);
  if (!k) return bad_kind(kind);
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st, "DELETE FROM registry WHERE id = ? AND kind = ?");
  if (rc) return rc;
  sqlite_bind_text(st, 1, id);
  sqlite_bind_text(st, 2, k->kind);
  rc = sqlite_step_done(s, st, "delete a registry entry");
  if (!rc && sqlite3_changes(sqlite_db(s)) == 0) rc = not_found(k, id);
  return rc;
}
