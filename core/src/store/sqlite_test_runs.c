/* store/sqlite_test_runs.c — the SQLite backend's stress test runs (table
 * `test_runs`, migration 4) and a project's stress-test categories (kept
 * with the project's optional fields in projects.extra). A run row holds
 * its ids, name and creation time as columns, and its summary (the
 * document without test_batches, small: what lists answer) and its whole
 * document as JSON text. Contracts in store/store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

static const char *rec_text(const json_t *rec, const char *field) {
  return json_string_value(json_object_get(rec, field));
}

int sq_test_run_insert(store *s, const json_t *rec) {
  const char *id = rec_text(rec, "test_run_id"), *ws = rec_text(rec, "workspace_id"),
             *project = rec_text(rec, "project_id"), *name = rec_text(rec, "name");
  const json_t *summary = json_object_get(rec, "summary"),
               *document = json_object_get(rec, "document");
  if (!id || !ws || !project || !name || !json_is_object(summary) || !json_is_object(document))
    return assay__err(ASSAY_ERR_INTERNAL, "test_run_insert: test_run_id, workspace_id, "
                                          "project_id, name, summary and document are required");
  char *summary_text = json_dumps(summary, JSON_COMPACT);
  char *document_text = summary_text ? json_dumps(document, JSON_COMPACT) : NULL;
  if (!document_text) {
    free(summary_text);
    return assay__nomem();
  }
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "INSERT INTO test_runs(id, workspace_id, project_id, job_id, name, "
                          "created_at, summary, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!rc) {
    sqlite_bind_text(st, 1, id);
    sqlite_bind_text(st, 2, ws);
    sqlite_bind_text(st, 3, project);
    sqlite_bind_text(st, 4, rec_text(rec, "job_id"));
    sqlite_bind_text(st, 5, name);
    sqlite3_bind_int64(st, 6,
                       (sqlite3_int64)json_integer_value(json_object_get(rec, "created_at_secs")));
    sqlite3_bind_text(st, 7, summary_text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, document_text, -1, SQLITE_STATIC);
    rc = sqlite_step_done(s, st, "store test run");
  }
  free(summary_text);
  free(document_text);
  return rc;
}

/* A JSON text column decoded; NULL when it does not decode. */
static json_t *decoded(sqlite3_stmt *st, int i) {
  const char *text = (const char *)sqlite3_column_text(st, i);
  int n = sqlite3_column_bytes(st, i);
  return text ? json_loadb(text, (size_t)n, 0, NULL) : NULL;
}

int sq_test_run_get(store *s, const char *test_run_id, const char *part, json_t **out) {
  int document = part && strcmp(part, "document") == 0;
  if (!document && !(part && strcmp(part, "summary") == 0))
    return assay__err(ASSAY_ERR_INTERNAL, "test_run_get: part must be summary or document");
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          document ? "SELECT document FROM test_runs WHERE id = ?"
                                   : "SELECT summary FROM test_runs WHERE id = ?");
  if (rc) return rc;
  sqlite_bind_text(st, 1, test_run_id);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    json_t *j = decoded(st, 0);
    if (j) *out = j;
    else rc = assay__err(ASSAY_ERR_STORE, "test run '%s': its stored %s does not decode",
                         test_run_id, document ? "document" : "summary");
  } else if (step == SQLITE_DONE) {
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "test run '%s' not found", test_run_id);
  } else {
    rc = sqlite_fail(s, step, "read test run");
  }
  sqlite3_finalize(st);
  return rc;
}

static json_t *summary_from_row(sqlite3_stmt *st) {
  json_t *j = decoded(st, 0);
  return j ? j : json_object(); /* never expected; an empty record keeps the list whole */
}

int sq_test_run_list(store *s, const char *project_id, json_t **out) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "SELECT summary FROM test_runs WHERE project_id = ? "
                          "ORDER BY created_at DESC, rowid DESC");
  if (rc) return rc;
  sqlite_bind_text(st, 1, project_id);
  return sqlite_collect(s, st, summary_from_row, "list test runs", out);
}

int sq_test_run_of_job(store *s, const char *job_id, char test_run_id[37]) {
  test_run_id[0] = '\0';
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st, "SELECT id FROM test_runs WHERE job_id = ? LIMIT 1");
  if (rc) return rc;
  sqlite_bind_text(st, 1, job_id);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) sqlite_copy_text(test_run_id, 37, sqlite3_column_text(st, 0));
  else if (step != SQLITE_DONE) rc = sqlite_fail(s, step, "find a job's test run");
  sqlite3_finalize(st);
  return rc;
}

int sq_project_set_categories(store *s, const char *workspace_id, const char *project_id,
                              const json_t *categories) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st, "SELECT extra FROM projects WHERE workspace_id = ? AND id = ?");
  if (rc) return rc;
  sqlite_bind_text(st, 1, workspace_id);
  sqlite_bind_text(st, 2, project_id);
  int step = sqlite3_step(st);
  json_t *extra = NULL;
  if (step == SQLITE_ROW) {
    extra = decoded(st, 0);
    if (!json_is_object(extra)) {
      json_decref(extra);
      extra = json_object();
    }
    if (!extra) rc = assay__nomem();
  } else if (step == SQLITE_DONE) {
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "project '%s' not found", project_id);
  } else {
    rc = sqlite_fail(s, step, "read project");
  }
  sqlite3_finalize(st);
  if (rc) return rc;
  char *text = NULL;
  if (json_object_set(extra, "stress_test_categories", (json_t *)categories) == 0)
    text = json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(extra);
  if (!text) return assay__nomem();
  rc = sqlite_prepare(s, &st, "UPDATE projects SET extra = ? WHERE workspace_id = ? AND id = ?");
  if (!rc) {
    sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    sqlite_bind_text(st, 2, workspace_id);
    sqlite_bind_text(st, 3, project_id);
    rc = sqlite_step_done(s, st, "update project");
  }
  free(text);
  return rc;
}
