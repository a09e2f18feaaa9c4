/* store/sqlite_internal.h — what the SQLite backend's files share: the
 * connection type and the statement helpers (sqlite_store.c defines them;
 * sqlite_integrations.c uses them). Not installed. */
#ifndef ASSAY_SQLITE_INTERNAL_H
#define ASSAY_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stddef.h>

#include "internal.h"
#include "store/store.h"

typedef struct sqlite_store {
  store base;
  sqlite3 *db;
  int busy; /* the last failure was contention: worth retrying */
  unsigned tx_writes;   /* STORE_* flags of the open transaction           */
  unsigned done_writes; /* ... of committed ones, until take_writes()     */
} sqlite_store;

sqlite3 *sqlite_db(store *s);
/* Turn an SQLite failure into an assay error (constraint → conflict). */
int sqlite_fail(store *s, int rc, const char *what);
int sqlite_prepare(store *s, sqlite3_stmt **st, const char *sql);
/* Bind text, or NULL as SQL NULL. */
void sqlite_bind_text(sqlite3_stmt *st, int i, const char *v);
/* Step a statement that returns no rows, and finalize it. */
int sqlite_step_done(store *s, sqlite3_stmt *st, const char *what);
/* Step `st` (finalized here) and collect each row, made by `row`, into a
 * JSON array in *out; `what` names the operation in errors. */
int sqlite_collect(store *s, sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *), const char *what,
                   json_t **out);
/* Copy a column's text into a fixed buffer ("" for NULL). */
void sqlite_copy_text(char *dst, size_t size, const unsigned char *src);

/* sqlite_integrations.c: the integration and secret entries of the
 * backend's store_ops (contracts in store/store.h). */
int sq_integration_insert(store *s, json_t *rec);
int sq_integration_get(store *s, const char *integration_id, json_t **out);
int sq_integration_list(store *s, const char *workspace_id, json_t **out);
int sq_integration_update(store *s, json_t *rec);
int sq_integration_delete(store *s, const char *integration_id);
int sq_secret_put(store *s, const secret_row *row, int64_t now);
int sq_secret_get(store *s, const char *integration_id, const char *name, const char *user_id,
                  secret_row *out);
int sq_secret_delete(store *s, const char *integration_id, const char *name,
                     const char *user_id);
int sq_secret_delete_member(store *s, const char *workspace_id, const char *user_id);
int sq_secret_names(store *s, const char *integration_id, const char *user_id, json_t **out);
int sq_secret_all(store *s, secret_row **rows, size_t *n);

/* sqlite_files.c */
int sq_file_put(store *s, const char *workspace_id, const char *path, int64_t size,
                const char *blake2b, const char *uploaded_by, int64_t now);
int sq_file_get(store *s, const char *workspace_id, const char *path, json_t **out);
int sq_file_list(store *s, const char *workspace_id, const char *prefix, json_t **out);
int sq_file_delete(store *s, const char *workspace_id, const char *path, int prefix,
                   int64_t *deleted);

/* sqlite_registry.c */
int sq_registry_insert(store *s, const char *kind, json_t *rec);
int sq_registry_update(store *s, const char *kind, json_t *rec);
int sq_registry_get(store *s, const char *kind, const char *id, json_t **out);
int sq_registry_list(store *s, const char *kind, const char *project_id, const json_t *filter,
                     json_t **out);
int sq_registry_delete(store *s, const char *kind, const char *id);

/* sqlite_jobs.c */
int sq_job_insert(store *s, const json_t *job);
int sq_job_get(store *s, const char *job_id, json_t **out);
int sq_job_claim(store *s, const char *owner, int64_t now, json_t **out);
int sq_job_heartbeat(store *s, const char *owner, int64_t now);
int sq_job_finish(store *s, const char *job_id, const char *status, const char *error_msg,
                  const json_t *result, int64_t now);
int sq_job_fail_stale(store *s, int64_t before, const char *error_msg, int64_t now,
                      json_t **failed);
int sq_job_requeue(store *s, const char *job_id, const char *owner);
int sq_job_list(store *s, const char *project_id, const json_t *filter, json_t **out);
int sq_job_request_cancel(store *s, const char *job_id);
int sq_job_cancel_requests(store *s, const char *owner, json_t **out);
int sq_job_progress(store *s, const char *job_id, int64_t done, int64_t total);

/* sqlite_test_runs.c: test runs, and a project's stress-test categories */
int sq_test_run_insert(store *s, const json_t *rec);
int sq_test_run_get(store *s, const char *test_run_id, const char *part, json_t **out);
int sq_test_run_list(store *s, const char *project_id, json_t **out);
int sq_test_run_of_job(store *s, const char *job_id, char test_run_id[37]);
int sq_project_set_categories(store *s, const char *workspace_id, const char *project_id,
                              const json_t *categories);

#endif
