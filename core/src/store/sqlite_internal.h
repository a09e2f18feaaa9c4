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

#endif
