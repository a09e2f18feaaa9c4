/* store/sqlite_integrations.c — the SQLite backend's integration entries:
 * an integration row plus its variables (in their order, with the value of
 * not-sensitive ones). Sealed secret values live in integration_secrets
 * (sqlite_secrets.c), whose rows hang off the variable rows: deleting a
 * variable row deletes its secrets, so an update changes variable rows in
 * place and deletes only the variables that went away.
 *
 * Records going in carry the times as integers "created_at_secs" and
 * "updated_at_secs" (seconds since the epoch); records coming out carry
 * "created_at" and "updated_at" as RFC 3339 text. */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

#define SENSITIVITY_PUBLIC_TEXT "VARIABLE_SENSITIVITY_PUBLIC"

static const char *rec_text(json_t *rec, const char *field) {
  return json_string_value(json_object_get(rec, field));
}

static int64_t rec_secs(json_t *rec, const char *field) {
  return (int64_t)json_integer_value(json_object_get(rec, field));
}

static int name_taken(json_t *rec) {
  return assay__err(ASSAY_ERR_CONFLICT,
                    "an integration named '%s' already exists in this workspace; "
                    "integration names must be unique within a workspace",
                    rec_text(rec, "name"));
}

static int not_found(const char *integration_id) {
  return assay__err(ASSAY_ERR_NOT_FOUND, "integration '%s' not found", integration_id);
}

/* Insert or update (by name) every variable of rec, at its position. An
 * existing row is updated in place, so its secrets stay. */
static int put_variables(store *s, const char *integration_id, json_t *vars) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "INSERT INTO integration_variables(integration_id, position, name, "
                          "sensitivity, value) VALUES (?, ?, ?, ?, ?) "
                          "ON CONFLICT(integration_id, name) DO UPDATE SET "
                          "position = excluded.position, sensitivity = excluded.sensitivity, "
                          "value = excluded.value");
  if (rc) return rc;
  size_t i;
  json_t *v;
  json_array_foreach(vars, i, v) {
    const char *sens = rec_text(v, "sensitivity");
    const char *value = NULL;
    if (sens && strcmp(sens, SENSITIVITY_PUBLIC_TEXT) == 0) value = rec_text(v, "value");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite_bind_text(st, 1, integration_id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
    sqlite_bind_text(st, 3, rec_text(v, "name"));
    sqlite_bind_text(st, 4, sens);
    sqlite_bind_text(st, 5, value);
    int step = sqlite3_step(st);
    if (step != SQLITE_DONE) {
      rc = sqlite_fail(s, step, "write integration variable");
      break;
    }
  }
  sqlite3_finalize(st);
  return rc;
}

int sq_integration_insert(store *s, json_t *rec) {
  const char *id = rec_text(rec, "integration_id");
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "INSERT INTO integrations(id, workspace_id, name, integration_type, "
                          "created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (rc) return rc;
  sqlite_bind_text(st, 1, id);
  sqlite_bind_text(st, 2, rec_text(rec, "workspace_id"));
  sqlite_bind_text(st, 3, rec_text(rec, "name"));
  sqlite_bind_text(st, 4, rec_text(rec, "integration_type"));
  sqlite_bind_text(st, 5, rec_text(rec, "created_by"));
  sqlite3_bind_int64(st, 6, rec_secs(rec, "created_at_secs"));
  sqlite3_bind_int64(st, 7, rec_secs(rec, "updated_at_secs"));
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc == SQLITE_CONSTRAINT_UNIQUE) return name_taken(rec);
  if (rc != SQLITE_DONE) return sqlite_fail(s, rc, "create integration");
  return put_variables(s, id, json_object_get(rec, "variables"));
}

/* One variable of the current row (name, sensitivity, value); the value
 * only for a not-sensitive one. */
static json_t *variable_from_row(sqlite3_stmt *st) {
  const char *sens = (const char *)sqlite3_column_text(st, 1);
  json_t *v = json_pack("{s:s, s:s}", "name", (const char *)sqlite3_column_text(st, 0),
                        "sensitivity", sens);
  if (v && strcmp(sens, SENSITIVITY_PUBLIC_TEXT) == 0) {
    const char *value = (const char *)sqlite3_column_text(st, 2);
    if (json_object_set_new(v, "value", json_string(value ? value : "")) != 0) {
      json_decref(v);
      v = NULL;
    }
  }
  return v;
}

/* The variables of one integration, in order. */
static int load_variables(store *s, const char *integration_id, json_t **out) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "SELECT name, sensitivity, value FROM integration_variables "
                          "WHERE integration_id = ? ORDER BY position, rowid");
  if (rc) return rc;
  sqlite_bind_text(st, 1, integration_id);
  return sqlite_collect(s, st, variable_from_row, "read integration variables", out);
}

#define INTEGRATION_COLUMNS \
  "id, workspace_id, name, integration_type, created_by, created_at, updated_at"

/* The record of the current row of `st` (selected with INTEGRATION_COLUMNS),
 * with its variables. */
static int integration_from_row(store *s, sqlite3_stmt *st, json_t **out) {
  char created[32], updated[32];
  assay__rfc3339(created, sqlite3_column_int64(st, 5));
  assay__rfc3339(updated, sqlite3_column_int64(st, 6));
  json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:s}",
                          "integration_id", (const char *)sqlite3_column_text(st, 0),
                          "workspace_id", (const char *)sqlite3_column_text(st, 1),
                          "name", (const char *)sqlite3_column_text(st, 2),
                          "integration_type", (const char *)sqlite3_column_text(st, 3),
                          "created_by", (const char *)sqlite3_column_text(st, 4),
                          "created_at", created, "updated_at", updated);
  if (!rec) return assay__nomem();
  json_t *vars = NULL;
  int rc = load_variables(s, (const char *)sqlite3_column_text(st, 0), &vars);
  if (!rc && json_object_set_new(rec, "variables", vars) != 0) rc = assay__nomem();
  if (rc) {
    json_decref(rec);
    return rc;
  }
  *out = rec;
  return ASSAY_OK;
}

int sq_integration_get(store *s, const char *integration_id, json_t **out) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st, "SELECT " INTEGRATION_COLUMNS " FROM integrations WHERE id = ?");
  if (rc) return rc;
  sqlite_bind_text(st, 1, integration_id);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) rc = integration_from_row(s, st, out);
  else if (step == SQLITE_DONE) rc = not_found(integration_id);
  else rc = sqlite_fail(s, step, "read integration");
  sqlite3_finalize(st);
  return rc;
}

int sq_integration_list(store *s, const char *workspace_id, json_t **out) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "SELECT " INTEGRATION_COLUMNS " FROM integrations "
                          "WHERE workspace_id = ? ORDER BY created_at, rowid");
  if (rc) return rc;
  sqlite_bind_text(st, 1, workspace_id);
  json_t *arr = json_array();
  if (!arr) {
    sqlite3_finalize(st);
    return assay__nomem();
  }
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *rec = NULL;
    rc = integration_from_row(s, st, &rec);
    if (!rc && json_array_append_new(arr, rec) != 0) rc = assay__nomem();
    if (rc) break;
  }
  if (!rc && step != SQLITE_DONE) rc = sqlite_fail(s, step, "list integrations");
  sqlite3_finalize(st);
  if (rc) {
    json_decref(arr);
    return rc;
  }
  *out = arr;
  return ASSAY_OK;
}

/* Delete the variables of integration_id whose names are not in `vars`. */
static int drop_removed_variables(store *s, const char *integration_id, json_t *vars) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "SELECT name FROM integration_variables WHERE integration_id = ?");
  if (rc) return rc;
  sqlite_bind_text(st, 1, integration_id);
  json_t *gone = json_array();
  if (!gone) {
    sqlite3_finalize(st);
    return assay__nomem();
  }
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 0);
    int kept = 0;
    size_t i;
    json_t *v;
    json_array_foreach(vars, i, v) {
      const char *n = rec_text(v, "name");
      if (n && strcmp(n, name) == 0) {
        kept = 1;
        break;
      }
    }
    if (!kept && json_array_append_new(gone, json_string(name)) != 0) {
      step = SQLITE_NOMEM;
      break;
    }
  }
  sqlite3_finalize(st);
  if (step != SQLITE_DONE) {
    json_decref(gone);
    return step == SQLITE_NOMEM ? assay__nomem() : sqlite_fail(s, step, "read integration variables");
  }
  size_t i;
  json_t *name;
  json_array_foreach(gone, i, name) {
    rc = sqlite_prepare(s, &st,
                        "DELETE FROM integration_variables WHERE integration_id = ? AND name = ?");
    if (rc) break;
    sqlite_bind_text(st, 1, integration_id);
    sqlite_bind_text(st, 2, json_string_value(name));
    rc = sqlite_step_done(s, st, "delete integration variable");
    if (rc) break;
  }
  json_decref(gone);
  return rc;
}

int sq_integration_update(store *s, json_t *rec) {
  const char *id = rec_text(rec, "integration_id");
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st, "UPDATE integrations SET name = ?, updated_at = ? WHERE id = ?");
  if (rc) return rc;
  sqlite_bind_text(st, 1, rec_text(rec, "name"));
  sqlite3_bind_int64(st, 2, rec_secs(rec, "updated_at_secs"));
  sqlite_bind_text(st, 3, id);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc == SQLITE_CONSTRAINT_UNIQUE) return name_taken(rec);
  if (rc != SQLITE_DONE) return sqlite_fail(s, rc, "update integration");
  if (sqlite3_changes(sqlite_db(s)) == 0) return not_found(id);
  json_t *vars = json_object_get(rec, "variables");
  rc = drop_removed_variables(s, id, vars);
  if (!rc) rc = put_variables(s, id, vars);
  return rc;
}

int sq_integration_delete(store *s, const char *integration_id) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st, "DELETE FROM integrations WHERE id = ?");
  if (rc) return rc;
  sqlite_bind_text(st, 1, integration_id);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return sqlite_fail(s, rc, "delete integration");
  if (sqlite3_changes(sqlite_db(s)) == 0) return not_found(integration_id);
  return ASSAY_OK;
}
