/* store/sqlite_secrets.c — the SQLite backend's sealed secret values
 * (table integration_secrets): put, get, delete, the names a user has set,
 * and every row for key rotation. The store only ever sees sealed bytes;
 * contracts in store/store.h. */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

static const char *member_note(const char *user_id) {
  return user_id && *user_id ? " (a member's value)" : "";
}

int sq_secret_put(store *s, const secret_row *row, int64_t now) {
  if (!row->sealed || row->sealed_len == 0)
    return assay__err(ASSAY_ERR_INTERNAL, "store secret: the row holds no sealed value");
  /* A row sealed under a key other than the one the home's secrets use
   * (a rotation ran since it was sealed) would never open again. */
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st, "SELECT value FROM platform_meta WHERE key = 'secret_key_id'");
  if (rc) return rc;
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    const char *current = (const char *)sqlite3_column_text(st, 0);
    if (current && strcmp(current, row->key_id) != 0)
      rc = assay__err(ASSAY_ERR_CONFLICT,
                      "the value of variable '%s' of integration %s%s was sealed under key %s, "
                      "but this home's secrets are sealed under key %s (the key was rotated "
                      "meanwhile); seal it again",
                      row->name, row->integration_id, member_note(row->user_id), row->key_id,
                      current);
  } else if (step != SQLITE_DONE) {
    rc = sqlite_fail(s, step, "read the secret key id");
  }
  sqlite3_finalize(st);
  if (rc) return rc;

  rc = sqlite_prepare(s, &st,
                      "INSERT INTO integration_secrets(integration_id, name, user_id, key_id, "
                      "sealed, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                      "ON CONFLICT(integration_id, name, user_id) DO UPDATE SET "
                      "key_id = excluded.key_id, sealed = excluded.sealed, "
                      "updated_at = excluded.updated_at");
  if (rc) return rc;
  sqlite_bind_text(st, 1, row->integration_id);
  sqlite_bind_text(st, 2, row->name);
  sqlite_bind_text(st, 3, row->user_id);
  sqlite_bind_text(st, 4, row->key_id);
  sqlite3_bind_blob(st, 5, row->sealed, (int)row->sealed_len, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 6, now);
  step = sqlite3_step(st);
  if (step == SQLITE_DONE) rc = ASSAY_OK;
  else if (sqlite3_extended_errcode(sqlite_db(s)) == SQLITE_CONSTRAINT_FOREIGNKEY)
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "integration %s has no variable '%s' to store a value for",
                    row->integration_id, row->name);
  else rc = sqlite_fail(s, step, "store secret value");
  sqlite3_finalize(st);
  return rc;
}

/* Fill `out` from a row of (integration_id, name, user_id, key_id, sealed). */
static int row_from(sqlite3_stmt *st, secret_row *out) {
  memset(out, 0, sizeof *out);
  sqlite_copy_text(out->integration_id, sizeof out->integration_id, sqlite3_column_text(st, 0));
  sqlite_copy_text(out->name, sizeof out->name, sqlite3_column_text(st, 1));
  sqlite_copy_text(out->user_id, sizeof out->user_id, sqlite3_column_text(st, 2));
  sqlite_copy_text(out->key_id, sizeof out->key_id, sqlite3_column_text(st, 3));
  const void *blob = sqlite3_column_blob(st, 4);
  int n = sqlite3_column_bytes(st, 4);
  if (n <= 0) return ASSAY_OK; /* an empty blob: secret_open reports it damaged */
  out->sealed = malloc((size_t)n);
  if (!out->sealed) return assay__nomem();
  memcpy(out->sealed, blob, (size_t)n);
  out->sealed_len = (size_t)n;
  return ASSAY_OK;
}

int sq_secret_get(store *s, const char *integration_id, const char *name, const char *user_id,
                  secret_row *out) {
  if (!user_id) user_id = "";
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "SELECT integration_id, name, user_id, key_id, sealed "
                          "FROM integration_secrets "
                          "WHERE integration_id = ? AND name = ? AND user_id = ?");
  if (rc) return rc;
  sqlite_bind_text(st, 1, integration_id);
  sqlite_bind_text(st, 2, name);
  sqlite_bind_text(st, 3, user_id);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) rc = row_from(st, out);
  else if (step == SQLITE_DONE)
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "no value is stored for variable '%s' of integration %s%s",
                    name, integration_id, member_note(user_id));
  else rc = sqlite_fail(s, step, "read secret value");
  sqlite3_finalize(st);
  return rc;
}

int sq_secret_delete(store *s, const char *integration_id, const char *name,
                     const char *user_id) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "DELETE FROM integration_secrets WHERE integration_id = ?1 "
                          "AND (?2 IS NULL OR name = ?2) AND (?3 IS NULL OR user_id = ?3)");
  if (rc) return rc;
  sqlite_bind_text(st, 1, integration_id);
  sqlite_bind_text(st, 2, name);
  sqlite_bind_text(st, 3, user_id);
  return sqlite_step_done(s, st, "delete secret values");
}

int sq_secret_delete_member(store *s, const char *workspace_id, const char *user_id) {
  if (!user_id || !*user_id)
    return assay__err(ASSAY_ERR_INTERNAL,
                      "deleting a member's secret values needs a user id (\"\" would be the "
                      "workspace values)");
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "DELETE FROM integration_secrets WHERE user_id = ?2 AND integration_id "
                          "IN (SELECT id FROM integrations WHERE workspace_id = ?1)");
  if (rc) return rc;
  sqlite_bind_text(st, 1, workspace_id);
  sqlite_bind_text(st, 2, user_id);
  return sqlite_step_done(s, st, "delete a member's secret values");
}

static json_t *name_from_row(sqlite3_stmt *st) {
  return json_string((const char *)sqlite3_column_text(st, 0));
}

int sq_secret_names(store *s, const char *integration_id, const char *user_id, json_t **out) {
  if (!user_id) user_id = "";
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "SELECT name FROM integration_secrets "
                          "WHERE integration_id = ? AND user_id = ? ORDER BY name");
  if (rc) return rc;
  sqlite_bind_text(st, 1, integration_id);
  sqlite_bind_text(st, 2, user_id);
  return sqlite_collect(s, st, name_from_row, "list secret values", out);
}

int sq_secret_all(store *s, secret_row **rows, size_t *n) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "SELECT integration_id, name, user_id, key_id, sealed "
                          "FROM integration_secrets ORDER BY integration_id, name, user_id");
  if (rc) return rc;
  secret_row *list = NULL;
  size_t count = 0, cap = 0;
  int step;
  while ((step = sqlite3_step(st)) == SQLITE_ROW) {
    if (count == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      secret_row *grown = realloc(list, ncap * sizeof *grown);
      if (!grown) {
        rc = assay__nomem();
        break;
      }
      list = grown;
      cap = ncap;
    }
    rc = row_from(st, &list[count]);
    if (rc) break;
    count++;
  }
  if (!rc && step != SQLITE_DONE) rc = sqlite_fail(s, step, "read secret values");
  sqlite3_finalize(st);
  if (rc) {
    secret_rows_free(list, count);
    return rc;
  }
  *rows = list;
  *n = count;
  return ASSAY_OK;
}

void secret_rows_free(secret_row *rows, size_t n) {
  if (!rows) return;
  for (size_t i = 0; i < n; i++) free(rows[i].sealed);
  free(rows);
}
