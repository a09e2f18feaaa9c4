/* store/sqlite_store.c — the SQLite backend of store_ops.
 *
 * One connection per `store`. WAL journal with synchronous=FULL, foreign
 * keys on, secure_delete on, a 30 s busy timeout, and write transactions
 * started with BEGIN IMMEDIATE, so that several threads and processes
 * sharing one home wait for each other instead of failing with "database is
 * locked". store_tx() retries a whole transaction if SQLite still reports
 * contention. compact() checkpoints and truncates the WAL (journal_size_limit
 * 0 truncates it too whenever a writer restarts it); temporary triggers
 * call back into C to note, per connection and transaction, that a sealed
 * secret value was deleted or replaced (take_writes). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "store/migrations.h"
#include "store/store.h"
#include "store/sqlite_internal.h"

#define BUSY_TIMEOUT_MS 30000

static int is_busy(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

sqlite3 *sqlite_db(store *s) { return ((sqlite_store *)s)->db; }
#define DB(s) sqlite_db(s)

int sqlite_fail(store *s, int rc, const char *what) {
  sqlite_store *ss = (sqlite_store *)s;
  ss->busy = is_busy(rc);
  if ((rc & 0xff) == SQLITE_CONSTRAINT)
    return assay__err(ASSAY_ERR_CONFLICT, "%s: %s", what, sqlite3_errmsg(ss->db));
  return assay__err(ASSAY_ERR_STORE, "%s: %s", what, sqlite3_errmsg(ss->db));
}
#define fail sqlite_fail

static int exec(store *s, const char *sql, const char *what) {
  int rc = sqlite3_exec(DB(s), sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? ASSAY_OK : fail(s, rc, what);
}

int sqlite_prepare(store *s, sqlite3_stmt **st, const char *sql) {
  int rc = sqlite3_prepare_v2(DB(s), sql, -1, st, NULL);
  return rc == SQLITE_OK ? ASSAY_OK : fail(s, rc, "prepare");
}
#define prepare sqlite_prepare

void sqlite_bind_text(sqlite3_stmt *st, int i, const char *v) {
  if (v) sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
  else sqlite3_bind_null(st, i);
}
#define bind_text sqlite_bind_text

int sqlite_step_done(store *s, sqlite3_stmt *st, const char *what) {
  int rc = sqlite3_step(st);
  int out = rc == SQLITE_DONE ? ASSAY_OK : fail(s, rc, what);
  sqlite3_finalize(st);
  return out;
}
#define step_done sqlite_step_done

/* Run `st` (finalized here) and collect each row through `row` into an array. */
int sqlite_collect(store *s, sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *), const char *what,
                   json_t **out) {
  json_t *arr = json_array();
  int rc;
  if (!arr) {
    sqlite3_finalize(st);
    return assay__nomem();
  }
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    json_t *j = row(st);
    if (!j || json_array_append_new(arr, j) != 0) {
      rc = SQLITE_NOMEM;
      break;
    }
  }
  if (rc != SQLITE_DONE) {
    json_decref(arr);
    rc = rc == SQLITE_NOMEM ? assay__nomem() : fail(s, rc, what);
  } else {
    *out = arr;
    rc = ASSAY_OK;
  }
  sqlite3_finalize(st);
  return rc;
}
#define collect sqlite_collect

/* --- transactions ------------------------------------------------------ */

static int sq_begin(store *s, int write) {
  sqlite_store *ss = (sqlite_store *)s;
  ss->busy = 0;
  ss->tx_writes = 0;
  return exec(s, write ? "BEGIN IMMEDIATE" : "BEGIN", "begin transaction");
}
/* What a transaction wrote counts once it commits: see take_writes. */
static int sq_commit(store *s) {
  sqlite_store *ss = (sqlite_store *)s;
  if (sqlite3_txn_state(ss->db, "main") == SQLITE_TXN_WRITE) ss->tx_writes |= STORE_WROTE;
  int rc = exec(s, "COMMIT", "commit");
  if (!rc) ss->done_writes |= ss->tx_writes;
  ss->tx_writes = 0;
  return rc;
}
static void sq_rollback(store *s) {
  ((sqlite_store *)s)->tx_writes = 0;
  if (!sqlite3_get_autocommit(DB(s))) sqlite3_exec(DB(s), "ROLLBACK", NULL, NULL, NULL);
}

/* assay_note_dropped(): called by the temporary triggers on
 * integration_secrets when a sealed value is deleted or replaced. */
static void note_dropped(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  (void)argv;
  sqlite_store *ss = sqlite3_user_data(ctx);
  if (sqlite3_get_autocommit(ss->db)) ss->done_writes |= STORE_DROPPED_SECRETS;
  else ss->tx_writes |= STORE_DROPPED_SECRETS;
  sqlite3_result_null(ctx);
}

int store_tx(store *s, int write, int (*fn)(store *s, void *ctx), void *ctx) {
  int rc = ASSAY_OK;
  for (int attempt = 0; attempt < 20; attempt++) {
    rc = s->ops->begin(s, write);
    if (rc == ASSAY_OK) {
      rc = fn(s, ctx);
      if (rc == ASSAY_OK) rc = s->ops->commit(s);
      if (rc != ASSAY_OK) s->ops->rollback(s);
    }
    if (rc == ASSAY_OK || !((sqlite_store *)s)->busy) return rc;
    usleep((useconds_t)(10000 * (attempt + 1))); /* contention: back off, retry */
  }
  return rc;
}

/* Checkpoint the whole WAL into the database and truncate it. Waits for
 * other connections only briefly (COMPACT_BUSY_MS, while holding off
 * writers): one still reading the WAL, or writing, leaves it for later. */
#define COMPACT_BUSY_MS 20
static int sq_compact(store *s, int *done) {
  sqlite3 *db = DB(s);
  *done = 0;
  if (!sqlite3_get_autocommit(db))
    return assay__err(ASSAY_ERR_INTERNAL, "compact: a transaction is still open");
  sqlite3_busy_timeout(db, COMPACT_BUSY_MS);
  int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
  sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
  if (rc == SQLITE_OK) {
    *done = 1;
    return ASSAY_OK;
  }
  if (is_busy(rc)) return ASSAY_OK;
  return fail(s, rc, "compact the database (checkpoint the WAL)");
}

static unsigned sq_take_writes(store *s) {
  sqlite_store *ss = (sqlite_store *)s;
  unsigned flags = ss->done_writes;
  ss->done_writes = 0;
  return flags;
}

/* (Here rather than in sqlite_secrets.c: a whole-table check for the
 * keyring, like compaction a matter of the store as a whole.) */
static int sq_secret_other_key(store *s, const char *key_id, char other[17]) {
  other[0] = '\0';
  sqlite3_stmt *st;
  int rc = prepare(s, &st, "SELECT key_id FROM integration_secrets WHERE key_id <> ? LIMIT 1");
  if (rc) return rc;
  bind_text(st, 1, key_id);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    sqlite_copy_text(other, 17, sqlite3_column_text(st, 0));
    if (!other[0]) snprintf(other, 17, "(none)");
    rc = ASSAY_OK;
  } else if (step == SQLITE_DONE) {
    rc = ASSAY_OK;
  } else {
    rc = fail(s, step, "read the key ids of the secret values");
  }
  sqlite3_finalize(st);
  return rc;
}

static int sq_schema_version(store *s, int *out) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st, "PRAGMA user_version");
  if (rc) return rc;
  rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    rc = fail(s, rc, "read schema version");
    sqlite3_finalize(st);
    return rc;
  }
  *out = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return ASSAY_OK;
}

/* --- metadata ------------------------------------------------------------ */

static int sq_meta_get(store *s, const char *key, char **out) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st, "SELECT value FROM platform_meta WHERE key = ?");
  if (rc) return rc;
  bind_text(st, 1, key);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *out = strdup((const char *)sqlite3_column_text(st, 0));
    rc = *out ? ASSAY_OK : assay__nomem();
  } else if (rc == SQLITE_DONE) {
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "no platform setting '%s'", key);
  } else {
    rc = fail(s, rc, "read platform setting");
  }
  sqlite3_finalize(st);
  return rc;
}

static int sq_meta_set(store *s, const char *key, const char *value) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "INSERT INTO platform_meta(key, value) VALUES (?, ?) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  if (rc) return rc;
  bind_text(st, 1, key);
  bind_text(st, 2, value);
  return step_done(s, st, "write platform setting");
}

/* --- users, workspaces ----------------------------------------------------- */

static int sq_user_insert(store *s, const char *id, const char *username,
                          const char *display_name, int is_org_admin, int64_t now) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "INSERT INTO users(id, username, display_name, is_org_admin, created_at) "
                   "VALUES (?, ?, ?, ?, ?)");
  if (rc) return rc;
  bind_text(st, 1, id);
  bind_text(st, 2, username);
  bind_text(st, 3, display_name);
  sqlite3_bind_int(st, 4, is_org_admin != 0);
  sqlite3_bind_int64(st, 5, now);
  return step_done(s, st, "create user");
}

static int sq_workspace_insert(store *s, const char *id, const char *name, int64_t now) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st, "INSERT INTO workspaces(id, name, created_at) VALUES (?, ?, ?)");
  if (rc) return rc;
  bind_text(st, 1, id);
  bind_text(st, 2, name);
  sqlite3_bind_int64(st, 3, now);
  return step_done(s, st, "create workspace");
}

static int sq_member_insert(store *s, const char *workspace_id, const char *user_id,
                            const char *role) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "INSERT INTO workspace_members(workspace_id, user_id, role) VALUES (?, ?, ?)");
  if (rc) return rc;
  bind_text(st, 1, workspace_id);
  bind_text(st, 2, user_id);
  bind_text(st, 3, role);
  return step_done(s, st, "add workspace member");
}

static int sq_user_exists(store *s, const char *user_id, int *is_org_admin) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st, "SELECT is_org_admin FROM users WHERE id = ?");
  if (rc) return rc;
  bind_text(st, 1, user_id);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    if (is_org_admin) *is_org_admin = sqlite3_column_int(st, 0);
    rc = ASSAY_OK;
  } else if (rc == SQLITE_DONE) {
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "user '%s' not found", user_id);
  } else {
    rc = fail(s, rc, "read user");
  }
  sqlite3_finalize(st);
  return rc;
}

static int sq_workspace_exists(store *s, const char *workspace_id) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st, "SELECT 1 FROM workspaces WHERE id = ?");
  if (rc) return rc;
  bind_text(st, 1, workspace_id);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) rc = ASSAY_OK;
  else if (rc == SQLITE_DONE)
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "workspace '%s' not found", workspace_id);
  else rc = fail(s, rc, "read workspace");
  sqlite3_finalize(st);
  return rc;
}

/* --- tokens ------------------------------------------------------------ */

static int sq_token_insert(store *s, const char *id, const char *user_id,
                           const char *workspace_id, const char *name,
                           const unsigned char hash[32], int64_t created_at,
                           int64_t expires_at) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "INSERT INTO api_tokens(id, user_id, workspace_id, name, token_hash, "
                   "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (rc) return rc;
  bind_text(st, 1, id);
  bind_text(st, 2, user_id);
  bind_text(st, 3, workspace_id);
  bind_text(st, 4, name);
  sqlite3_bind_blob(st, 5, hash, 32, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 6, created_at);
  sqlite3_bind_int64(st, 7, expires_at);
  return step_done(s, st, "create API token");
}

void sqlite_copy_text(char *dst, size_t size, const unsigned char *src) {
  snprintf(dst, size, "%s", src ? (const char *)src : "");
}
#define copy_id(dst, src) sqlite_copy_text(dst, 37, src)

static int sq_token_lookup(store *s, const unsigned char hash[32], token_row *out) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "SELECT t.id, t.user_id, t.workspace_id, t.expires_at, t.revoked_at, "
                   "u.is_org_admin, m.role FROM api_tokens t JOIN users u ON u.id = t.user_id "
                   "LEFT JOIN workspace_members m ON m.workspace_id = t.workspace_id "
                   "AND m.user_id = t.user_id WHERE t.token_hash = ?");
  if (rc) return rc;
  sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    copy_id(out->id, sqlite3_column_text(st, 0));
    copy_id(out->user_id, sqlite3_column_text(st, 1));
    copy_id(out->workspace_id, sqlite3_column_text(st, 2));
    out->expires_at = sqlite3_column_int64(st, 3);
    out->revoked_at = sqlite3_column_int64(st, 4);
    out->user_is_org_admin = sqlite3_column_int(st, 5);
    sqlite_copy_text(out->role, sizeof out->role, sqlite3_column_text(st, 6));
    rc = ASSAY_OK;
  } else if (rc == SQLITE_DONE) {
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "no such API token");
  } else {
    rc = fail(s, rc, "read API token");
  }
  sqlite3_finalize(st);
  return rc;
}


/* --- people: users, workspaces, membership --------------------------------- */

/* Run `st` (finalized here) for exactly one row; NOT_FOUND with `missing`. */
static int one(store *s, sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *), const char *what,
               const char *missing, const char *id, json_t **out) {
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *out = row(st);
    rc = *out ? ASSAY_OK : assay__nomem();
  } else if (rc == SQLITE_DONE) {
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "%s '%s' not found", missing, id);
  } else {
    rc = fail(s, rc, what);
  }
  sqlite3_finalize(st);
  return rc;
}

static const char *col(sqlite3_stmt *st, int i) { return (const char *)sqlite3_column_text(st, i); }

static json_t *user_from_row(sqlite3_stmt *st) {
  char when[32];
  assay__rfc3339(when, sqlite3_column_int64(st, 4));
  return json_pack("{s:s, s:s, s:s?, s:b, s:s}", "user_id", col(st, 0), "username", col(st, 1),
                   "display_name", col(st, 2), "is_org_admin", sqlite3_column_int(st, 3),
                   "created_at", when);
}

static int sq_user_get(store *s, const char *user_id, json_t **out) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "SELECT id, username, display_name, is_org_admin, created_at FROM users "
                   "WHERE id = ?");
  if (rc) return rc;
  bind_text(st, 1, user_id);
  return one(s, st, user_from_row, "read user", "user", user_id, out);
}

static int sq_user_list(store *s, json_t **out) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "SELECT id, username, display_name, is_org_admin, created_at FROM users "
                   "ORDER BY username");
  return rc ? rc : collect(s, st, user_from_row, "list users", out);
}

static json_t *workspace_from_row(sqlite3_stmt *st) {
  char when[32];
  assay__rfc3339(when, sqlite3_column_int64(st, 2));
  json_t *w = json_pack("{s:s, s:s, s:s}", "workspace_id", col(st, 0), "name", col(st, 1),
                        "created_at", when);
  if (w && sqlite3_column_count(st) > 3)
    json_object_set_new(w, "role", col(st, 3) ? json_string(col(st, 3)) : json_null());
  return w;
}

static int sq_workspace_get(store *s, const char *workspace_id, json_t **out) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st, "SELECT id, name, created_at FROM workspaces WHERE id = ?");
  if (rc) return rc;
  bind_text(st, 1, workspace_id);
  return one(s, st, workspace_from_row, "read workspace", "workspace", workspace_id, out);
}

static int sq_workspace_list(store *s, const char *user_id, int all, json_t **out) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   all ? "SELECT w.id, w.name, w.created_at, m.role FROM workspaces w "
                         "LEFT JOIN workspace_members m ON m.workspace_id = w.id AND "
                         "m.user_id = ? ORDER BY w.created_at, w.rowid"
                       : "SELECT w.id, w.name, w.created_at, m.role FROM workspaces w "
                         "JOIN workspace_members m ON m.workspace_id = w.id AND m.user_id = ? "
                         "ORDER BY w.created_at, w.rowid");
  if (rc) return rc;
  bind_text(st, 1, user_id);
  return collect(s, st, workspace_from_row, "list workspaces", out);
}

static int sq_member_role(store *s, const char *workspace_id, const char *user_id,
                          char role[32]) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "SELECT role FROM workspace_members WHERE workspace_id = ? AND user_id = ?");
  if (rc) return rc;
  bind_text(st, 1, workspace_id);
  bind_text(st, 2, user_id);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    sqlite_copy_text(role, 32, sqlite3_column_text(st, 0));
    rc = ASSAY_OK;
  } else if (rc == SQLITE_DONE) {
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "user '%s' is not a member of workspace '%s'", user_id,
                    workspace_id);
  } else {
    rc = fail(s, rc, "read membership");
  }
  sqlite3_finalize(st);
  return rc;
}

static json_t *member_from_row(sqlite3_stmt *st) {
  return json_pack("{s:s, s:s, s:s, s:s?, s:s}", "workspace_id", col(st, 0), "user_id",
                   col(st, 1), "username", col(st, 2), "display_name", col(st, 3), "role",
                   col(st, 4));
}

static int sq_member_list(store *s, const char *workspace_id, json_t **out) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "SELECT m.workspace_id, m.user_id, u.username, u.display_name, m.role "
                   "FROM workspace_members m JOIN users u ON u.id = m.user_id "
                   "WHERE m.workspace_id = ? ORDER BY u.username");
  if (rc) return rc;
  bind_text(st, 1, workspace_id);
  return collect(s, st, member_from_row, "list members", out);
}

/* Run a one-row UPDATE/DELETE (finalized here); NOT_FOUND when it touched none. */
static int change_one(store *s, sqlite3_stmt *st, const char *what, const char *workspace_id,
                      const char *user_id) {
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return fail(s, rc, what);
  if (sqlite3_changes(DB(s)) == 0)
    return assay__err(ASSAY_ERR_NOT_FOUND, "user '%s' is not a member of workspace '%s'", user_id,
                      workspace_id);
  return ASSAY_OK;
}

static int sq_member_update(store *s, const char *workspace_id, const char *user_id,
                            const char *role) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "UPDATE workspace_members SET role = ? WHERE workspace_id = ? AND user_id = ?");
  if (rc) return rc;
  bind_text(st, 1, role);
  bind_text(st, 2, workspace_id);
  bind_text(st, 3, user_id);
  return change_one(s, st, "update member", workspace_id, user_id);
}

static int sq_member_delete(store *s, const char *workspace_id, const char *user_id) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st, "DELETE FROM workspace_members WHERE workspace_id = ? AND user_id = ?");
  if (rc) return rc;
  bind_text(st, 1, workspace_id);
  bind_text(st, 2, user_id);
  return change_one(s, st, "remove member", workspace_id, user_id);
}

static int sq_member_count_role(store *s, const char *workspace_id, const char *role,
                                int64_t *out) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "SELECT count(*) FROM workspace_members WHERE workspace_id = ? AND role = ?");
  if (rc) return rc;
  bind_text(st, 1, workspace_id);
  bind_text(st, 2, role);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *out = sqlite3_column_int64(st, 0);
    rc = ASSAY_OK;
  } else {
    rc = fail(s, rc, "count members");
  }
  sqlite3_finalize(st);
  return rc;
}

/* --- tokens: listing and revocation ------------------------------------------- */

static int sq_token_get(store *s, const char *token_id, token_row *out) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "SELECT t.id, t.user_id, t.workspace_id, t.expires_at, t.revoked_at, "
                   "u.is_org_admin, m.role FROM api_tokens t JOIN users u ON u.id = t.user_id "
                   "LEFT JOIN workspace_members m ON m.workspace_id = t.workspace_id "
                   "AND m.user_id = t.user_id WHERE t.id = ?");
  if (rc) return rc;
  bind_text(st, 1, token_id);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    memset(out, 0, sizeof *out);
    copy_id(out->id, sqlite3_column_text(st, 0));
    copy_id(out->user_id, sqlite3_column_text(st, 1));
    copy_id(out->workspace_id, sqlite3_column_text(st, 2));
    out->expires_at = sqlite3_column_int64(st, 3);
    out->revoked_at = sqlite3_column_int64(st, 4);
    out->user_is_org_admin = sqlite3_column_int(st, 5);
    sqlite_copy_text(out->role, sizeof out->role, sqlite3_column_text(st, 6));
    rc = ASSAY_OK;
  } else if (rc == SQLITE_DONE) {
    rc = assay__err(ASSAY_ERR_NOT_FOUND, "API token '%s' not found", token_id);
  } else {
    rc = fail(s, rc, "read API token");
  }
  sqlite3_finalize(st);
  return rc;
}



static json_t *token_from_row(sqlite3_stmt *st) {
  char created[32], expires[32], revoked[32];
  int64_t exp = sqlite3_column_int64(st, 5), rev = sqlite3_column_int64(st, 6),
          now = sqlite3_column_int64(st, 7);
  assay__rfc3339(created, sqlite3_column_int64(st, 4));
  assay__rfc3339(expires, exp);
  assay__rfc3339(revoked, rev);
  const char *status = rev ? "revoked" : (exp && exp <= now) ? "expired" : "active";
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s}", "id", col(st, 0), "name",
                   col(st, 1), "user_id", col(st, 2), "workspace_id", col(st, 3), "created_at",
                   created, "expires_at", exp ? expires : NULL, "revoked_at",
                   rev ? revoked : NULL, "status", status);
}

static int sq_token_list(store *s, const char *workspace_id, const char *user_id, int64_t now,
                         json_t **out) {
  sqlite3_stmt *st;

  int rc = prepare(s, &st,
                   "SELECT id, name, user_id, workspace_id, created_at, expires_at, revoked_at, ? "
                   "FROM api_tokens WHERE (?2 IS NULL OR workspace_id = ?2) AND "
                   "(?3 IS NULL OR user_id = ?3) ORDER BY created_at, rowid");
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, now);
  bind_text(st, 2, workspace_id);
  bind_text(st, 3, user_id);
  return collect(s, st, token_from_row, "list API tokens", out);
}

static int sq_token_revoke(store *s, const char *token_id, int64_t now) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0");
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, now);
  bind_text(st, 2, token_id);
  return step_done(s, st, "revoke API token");
}

static int sq_token_revoke_member(store *s, const char *workspace_id, const char *user_id,
                                  int64_t now) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "UPDATE api_tokens SET revoked_at = ? WHERE workspace_id = ? AND user_id = ? "
                   "AND revoked_at = 0");
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, now);
  bind_text(st, 2, workspace_id);
  bind_text(st, 3, user_id);
  return step_done(s, st, "revoke member's API tokens");
}

/* --- projects ---------------------------------------------------------- */

/* The optional fields of a project record, kept together as JSON. */
static const char *const project_extra_fields[] = {
  "use_case", "ethical_consideration", "profiling_config", "general_access_role",
  "run_time_info", "stress_test_categories", NULL};

static int sq_project_insert(store *s, json_t *p) {
  json_t *extra = json_object();
  if (!extra) return assay__nomem();
  for (const char *const *f = project_extra_fields; *f; f++) {
    json_t *v = json_object_get(p, *f);
    if (v) json_object_set(extra, *f, v);
  }
  char *extra_text = json_dumps(extra, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(extra);
  if (!extra_text) return assay__nomem();

  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "INSERT INTO projects(id, workspace_id, name, description, model_task, "
                   "owner_id, extra, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (rc) {
    free(extra_text);
    return rc;
  }
  bind_text(st, 1, json_string_value(json_object_get(p, "project_id")));
  bind_text(st, 2, json_string_value(json_object_get(p, "workspace_id")));
  bind_text(st, 3, json_string_value(json_object_get(p, "name")));
  bind_text(st, 4, json_string_value(json_object_get(p, "description")));
  bind_text(st, 5, json_string_value(json_object_get(p, "model_task")));
  bind_text(st, 6, json_string_value(json_object_get(p, "owner_id")));
  bind_text(st, 7, extra_text);
  sqlite3_bind_int64(st, 8, json_integer_value(json_object_get(p, "created_at_secs")));
  free(extra_text);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE) return ASSAY_OK;
  if (rc == SQLITE_CONSTRAINT_UNIQUE)
    return assay__err(ASSAY_ERR_CONFLICT,
                      "a project named '%s' already exists in this workspace; "
                      "project names must be unique within a workspace",
                      json_string_value(json_object_get(p, "name")));
  return fail(s, rc, "create project");
}

#define PROJECT_COLUMNS \
  "id, workspace_id, name, description, model_task, owner_id, extra, created_at"

static json_t *project_from_row(sqlite3_stmt *st) {
  char when[32];
  assay__rfc3339(when, sqlite3_column_int64(st, 7));
  json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s}",
                        "project_id", (const char *)sqlite3_column_text(st, 0),
                        "workspace_id", (const char *)sqlite3_column_text(st, 1),
                        "name", (const char *)sqlite3_column_text(st, 2),
                        "description", (const char *)sqlite3_column_text(st, 3),
                        "model_task", (const char *)sqlite3_column_text(st, 4),
                        "owner_id", (const char *)sqlite3_column_text(st, 5),
                        "created_at", when);
  if (!p) return NULL;
  json_t *extra = json_loads((const char *)sqlite3_column_text(st, 6), 0, NULL);
  for (const char *const *f = project_extra_fields; *f; f++) {
    json_t *v = extra ? json_object_get(extra, *f) : NULL;
    json_object_set(p, *f, v ? v : json_null());
  }
  json_decref(extra);
  return p;
}

static int sq_project_get(store *s, const char *workspace_id, const char *project_id,
                          json_t **out) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "SELECT " PROJECT_COLUMNS " FROM projects WHERE workspace_id = ? AND id = ?");
  if (rc) return rc;
  bind_text(st, 1, workspace_id);
  bind_text(st, 2, project_id);
  return one(s, st, project_from_row, "read project", "project", project_id, out);
}

static int sq_project_list(store *s, const char *workspace_id, json_t **out) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st,
                   "SELECT " PROJECT_COLUMNS " FROM projects WHERE workspace_id = ? "
                   "ORDER BY created_at, rowid");
  if (rc) return rc;
  bind_text(st, 1, workspace_id);
  return collect(s, st, project_from_row, "list projects", out);
}

static int sq_project_child_count(store *s, const char *project_id, int64_t *out) {
  *out = 0;
  for (const char *const *t = sqlite_project_children; *t; t++) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE project_id = ?", *t);
    sqlite3_stmt *st;
    int rc = prepare(s, &st, sql);
    if (rc) return rc;
    bind_text(st, 1, project_id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out += sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) return fail(s, rc, "count project contents");
  }
  return ASSAY_OK;
}

static int sq_project_delete(store *s, const char *workspace_id, const char *project_id) {
  sqlite3_stmt *st;
  int rc = prepare(s, &st, "DELETE FROM projects WHERE workspace_id = ? AND id = ?");
  if (rc) return rc;
  bind_text(st, 1, workspace_id);
  bind_text(st, 2, project_id);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return fail(s, rc, "delete project");
  if (sqlite3_changes(DB(s)) == 0)
    return assay__err(ASSAY_ERR_NOT_FOUND, "project '%s' not found", project_id);
  return ASSAY_OK;
}

/* --- open, migrate, close ------------------------------------------------ */

static void sq_close(store *s) {
  if (!s) return;
  sqlite3_close_v2(DB(s));
  free(s);
}

static const store_ops sqlite_ops = {
  .backend = "sqlite",
  .close = sq_close,
  .begin = sq_begin,
  .commit = sq_commit,
  .rollback = sq_rollback,
  .compact = sq_compact,
  .take_writes = sq_take_writes,
  .schema_version = sq_schema_version,
  .meta_get = sq_meta_get,
  .meta_set = sq_meta_set,
  .user_insert = sq_user_insert,
  .workspace_insert = sq_workspace_insert,
  .member_insert = sq_member_insert,
  .user_exists = sq_user_exists,
  .workspace_exists = sq_workspace_exists,
  .token_insert = sq_token_insert,
  .token_lookup = sq_token_lookup,
  .token_get = sq_token_get,
  .token_list = sq_token_list,
  .token_revoke = sq_token_revoke,
  .token_revoke_member = sq_token_revoke_member,
  .user_get = sq_user_get,
  .user_list = sq_user_list,
  .workspace_get = sq_workspace_get,
  .workspace_list = sq_workspace_list,
  .member_role = sq_member_role,
  .member_list = sq_member_list,
  .member_update = sq_member_update,
  .member_delete = sq_member_delete,
  .member_count_role = sq_member_count_role,
  .project_insert = sq_project_insert,
  .project_get = sq_project_get,
  .project_list = sq_project_list,
  .project_child_count = sq_project_child_count,
  .project_delete = sq_project_delete,
  .integration_insert = sq_integration_insert,
  .integration_get = sq_integration_get,
  .integration_list = sq_integration_list,
  .integration_update = sq_integration_update,
  .integration_delete = sq_integration_delete,
  .secret_put = sq_secret_put,
  .secret_get = sq_secret_get,
  .secret_delete = sq_secret_delete,
  .secret_delete_member = sq_secret_delete_member,
  .secret_names = sq_secret_names,
  .secret_all = sq_secret_all,
  .secret_other_key = sq_secret_other_key,
  .file_put = sq_file_put,
  .file_get = sq_file_get,
  .file_list = sq_file_list,
  .file_delete = sq_file_delete,
  .registry_insert = sq_registry_insert,
  .registry_update = sq_registry_update,
  .registry_get = sq_registry_get,
  .registry_list = sq_registry_list,
  .registry_delete = sq_registry_delete,
  .job_insert = sq_job_insert,
  .job_get = sq_job_get,
  .job_claim = sq_job_claim,
  .job_heartbeat = sq_job_heartbeat,
  .job_finish = sq_job_finish,
  .job_fail_stale = sq_job_fail_stale,
  .job_requeue = sq_job_requeue,
  .job_list = sq_job_list,
  .job_request_cancel = sq_job_request_cancel,
  .job_cancel_requests = sq_job_cancel_requests,
  .job_progress = sq_job_progress,
  .test_run_insert = sq_test_run_insert,
  .test_run_get = sq_test_run_get,
  .test_run_list = sq_test_run_list,
  .test_run_of_job = sq_test_run_of_job,
  .project_set_categories = sq_project_set_categories,
};

static int migrate(store *s, void *ctx) {
  (void)ctx;
  int version = 0;
  int rc = sq_schema_version(s, &version);
  if (rc) return rc;
  if (version > SQLITE_SCHEMA_VERSION)
    return assay__err(ASSAY_ERR_STORE,
                      "the database has schema version %d but this assay knows only up to "
                      "%d; upgrade assay to open it",
                      version, SQLITE_SCHEMA_VERSION);
  for (int v = version; v < SQLITE_SCHEMA_VERSION; v++) {
    rc = exec(s, sqlite_migrations[v], "apply schema migration");
    if (rc) return rc;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
    rc = exec(s, sql, "record schema version");
    if (rc) return rc;
  }
  return ASSAY_OK;
}

int store_sqlite_open(store **out, const char *path) {
  sqlite_store *ss = calloc(1, sizeof *ss);
  if (!ss) return assay__nomem();
  ss->base.ops = &sqlite_ops;
  int rc = sqlite3_open_v2(path, &ss->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           NULL);
  if (rc != SQLITE_OK) {
    int err = assay__err(ASSAY_ERR_STORE, "cannot open the database %s: %s", path,
                         ss->db ? sqlite3_errmsg(ss->db) : sqlite3_errstr(rc));
    sqlite3_close_v2(ss->db);
    free(ss);
    return err;
  }
  sqlite3_busy_timeout(ss->db, BUSY_TIMEOUT_MS);
  sqlite3_extended_result_codes(ss->db, 1);
  store *s = &ss->base;
  /* journal_mode=WAL is persistent. Setting it may meet a concurrent
   * opener, and SQLite answers SQLITE_BUSY to this pragma without calling
   * the busy handler: retry by hand for up to the busy timeout. */
  for (int waited = 0;; waited += 10) {
    int src = sqlite3_exec(ss->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
    if (src == SQLITE_OK) {
      rc = ASSAY_OK;
      break;
    }
    if (!is_busy(src) || waited >= BUSY_TIMEOUT_MS) {
      rc = fail(s, src, "enable WAL");
      break;
    }
    sqlite3_sleep(10);
  }
  if (!rc) rc = exec(s, "PRAGMA foreign_keys = ON", "enable foreign keys");
  /* FULL, not NORMAL: in WAL mode NORMAL lets a power loss undo the last
   * commits. A key rotation commits and then replaces the key file; losing
   * that commit would leave the secrets sealed under a key that is no
   * longer in the key file. This platform commits rarely: durability first. */
  if (!rc) rc = exec(s, "PRAGMA synchronous = FULL", "set synchronous");
  /* Deleted and replaced content (old secret ciphertexts) is overwritten
   * with zeros instead of lingering in free space (see compact). */
  if (!rc) rc = exec(s, "PRAGMA secure_delete = ON", "enable secure delete");
  /* A WAL that a checkpoint emptied is truncated to nothing when the next
   * writer restarts it, not kept at its largest size with old pages (old
   * ciphertexts) in it. */
  if (!rc) rc = exec(s, "PRAGMA journal_size_limit = 0", "limit the WAL's size");
  /* Sorting and temporary tables in memory, never in a file. */
  if (!rc) rc = exec(s, "PRAGMA temp_store = MEMORY", "keep temporary data in memory");
  if (!rc) rc = store_tx(s, 1, migrate, NULL);
  /* Note deleted or replaced sealed values (also by cascades) for
   * take_writes: temporary triggers, so they exist for this connection only
   * and may call a function only this connection has. */
  if (!rc && sqlite3_create_function(ss->db, "assay_note_dropped", 0, SQLITE_UTF8, ss,
                                     note_dropped, NULL, NULL) != SQLITE_OK)
    rc = fail(s, sqlite3_errcode(ss->db), "register assay_note_dropped");
  if (!rc)
    rc = exec(s,
              "CREATE TEMP TRIGGER assay_secret_deleted AFTER DELETE ON main.integration_secrets "
              "BEGIN SELECT assay_note_dropped(); END;"
              "CREATE TEMP TRIGGER assay_secret_replaced AFTER UPDATE OF sealed "
              "ON main.integration_secrets BEGIN SELECT assay_note_dropped(); END;",
              "record the connection's writes");
  if (rc) {
    sq_close(s);
    return rc;
  }
  *out = s;
  return ASSAY_OK;
}
