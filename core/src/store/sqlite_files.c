/* store/sqlite_files.c — the SQLite backend's records of uploaded files
 * (table `files`, one row per workspace and path). The bytes live on disk
 * (platform/files.c); a row says what was uploaded there: size, BLAKE2b-256
 * of the content, who uploaded it and when. Paths under a folder are
 * matched by their text prefix "folder/" (no LIKE, so '%' and '_' in names
 * are plain characters). */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

#define FILE_COLUMNS "path, size, blake2b, uploaded_by, uploaded_at"

/* {path, size, blake2b, uploaded_by, uploaded_at} of the current row. */
static json_t *file_from_row(sqlite3_stmt *st) {
  char when[32];
  assay__rfc3339(when, sqlite3_column_int64(st, 4));
  return json_pack("{s:s, s:I, s:s, s:s?, s:s}", "path",
                   (const char *)sqlite3_column_text(st, 0), "size",
                   (json_int_t)sqlite3_column_int64(st, 1), "blake2b",
                   (const char *)sqlite3_column_text(st, 2), "uploaded_by",
                   (const char *)sqlite3_column_text(st, 3), "uploaded_at", when);
}

int sq_file_put(store *s, const char *workspace_id, const char *path, int64_t size,
                const char *blake2b, const char *uploaded_by, int64_t now) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "INSERT INTO files(workspace_id, path, size, blake2b, uploaded_by, "
                          "uploaded_at) VALUES (?, ?, ?, ?, ?, ?) "
                          "ON CONFLICT(workspace_id, path) DO UPDATE SET size = excluded.size, "
                          "blake2b = excluded.blake2b, uploaded_by = excluded.uploaded_by, "
                          "uploaded_at = excluded.uploaded_at");
  if (rc) return rc;
  sqlite_bind_text(st, 1, workspace_id);
  sqlite_bind_text(st, 2, path);
  sqlite3_bind_int64(st, 3, size);
  sqlite_bind_text(st, 4, blake2b);
  sqlite_bind_text(st, 5, uploaded_by);
  sqlite3_bind_int64(st, 6, now);
  return sqlite_step_done(s, st, "record uploaded file");
}

int sq_file_get(store *s, const char *workspace_id, const char *path, json_t **out) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "SELECT " FILE_COLUMNS " FROM files WHERE workspace_id = ? AND path = ?");
  if (rc) return rc;
  sqlite_bind_text(st, 1, workspace_id);
  sqlite_bind_text(st, 2, path);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    *out = file_from_row(st);
    rc = *out ? ASSAY_OK : assay__nomem();
  } else if (step == SQLITE_DONE) {
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "no uploaded file at path '%s'", path);
  } else {
    rc = sqlite_fail(s, step, "read uploaded file");
  }
  sqlite3_finalize(st);
  return rc;
}

/* "prefix/" for a folder prefix (a trailing '/' is not doubled); NULL when
 * prefix is NULL or empty (everything). */
static int folder_prefix(const char *prefix, char **out) {
  *out = NULL;
  if (!prefix || !*prefix) return ASSAY_OK;
  size_t n = strlen(prefix);
  int slash = prefix[n - 1] == '/';
  char *p = malloc(n + 2);
  if (!p) return assay__nomem();
  memcpy(p, prefix, n);
  if (!slash) p[n++] = '/';
  p[n] = '\0';
  *out = p;
  return ASSAY_OK;
}

int sq_file_list(store *s, const char *workspace_id, const char *prefix, json_t **out) {
  char *folder = NULL;
  int rc = folder_prefix(prefix, &folder);
  if (rc) return rc;
  sqlite3_stmt *st;
  rc = sqlite_prepare(s, &st,
                      folder ? "SELECT " FILE_COLUMNS " FROM files WHERE workspace_id = ? AND "
                               "substr(path, 1, length(?2)) = ?2 ORDER BY path"
                             : "SELECT " FILE_COLUMNS " FROM files WHERE workspace_id = ? "
                               "ORDER BY path");
  if (!rc) {
    sqlite_bind_text(st, 1, workspace_id);
    if (folder) sqlite_bind_text(st, 2, folder);
    rc = sqlite_collect(s, st, file_from_row, "list uploaded files", out);
  }
  free(folder);
  return rc;
}

int sq_file_delete(store *s, const char *workspace_id, const char *path, int prefix,
                   int64_t *deleted) {
  char *folder = NULL;
  int rc = prefix ? folder_prefix(path, &folder) : ASSAY_OK;
  if (rc) return rc;
  if (prefix && !folder) return assay__err(ASSAY_ERR_CONFIG, "a folder path must not be empty");
  sqlite3_stmt *st;
  rc = sqlite_prepare(s, &st,
                      prefix ? "DELETE FROM files WHERE workspace_id = ? AND "
                               "substr(path, 1, length(?2)) = ?2"
                             : "DELETE FROM files WHERE workspace_id = ? AND path = ?2");
  if (!rc) {
    sqlite_bind_text(st, 1, workspace_id);
    sqlite_bind_text(st, 2, prefix ? folder : path);
    rc = sqlite_step_done(s, st, "delete uploaded files");
    if (!rc && deleted) *deleted = (int64_t)sqlite3_changes(sqlite_db(s));
  }
  free(folder);
  return rc;
}
