/* store/sqlite_jobs.c — the SQLite backend's job queue (table `jobs`,
 * migration 3). A row is a job: its type, where it belongs, who submitted
 * it, its request, and its state (status, owner, times, result, error).
 *
 * Records going in carry the creation time as the integer
 * "created_at_secs"; records coming out carry created_at / started_at /
 * finished_at as RFC 3339 text (null when not reached yet) and the same
 * times as integers "*_secs", plus "owner" and "heartbeat_at_secs" for the
 * workers, "progress" {done, total} and "cancel_requested" (migration 4);
 * platform/jobs.c makes the public record of it. Claiming, heart-beating,
 * finishing, failing stale jobs, requeueing interrupted ones, cancellation
 * requests and progress run in the caller's write transaction; listing a
 * project's jobs in any. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_internal.h"

#define ST_PENDING "JOB_STATUS_PENDING"
#define ST_RUNNING "JOB_STATUS_RUNNING"

static const char *rec_text(const json_t *rec, const char *field) {
  return json_string_value(json_object_get(rec, field));
}

static int not_found(const char *job_id) {
  return assay__err(ASSAY_ERR_NOT_FOUND, "job '%s' not found", job_id);
}

int sq_job_insert(store *s, const json_t *job) {
  const char *id = rec_text(job, "job_id"), *type = rec_text(job, "job_type"),
             *ws = rec_text(job, "workspace_id");
  if (!id || !type || !ws)
    return assay__err(ASSAY_ERR_INTERNAL, "job_insert: job_id, job_type and workspace_id are "
                                          "required");
  const json_t *request = json_object_get(job, "request");
  char *text = request ? json_dumps(request, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("{}");
  if (!text) return assay__nomem();
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "INSERT INTO jobs(id, job_type, workspace_id, project_id, submitted_by, "
                          "status, request, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (rc) {
    free(text);
    return rc;
  }
  const char *status = rec_text(job, "status");
  sqlite_bind_text(st, 1, id);
  sqlite_bind_text(st, 2, type);
  sqlite_bind_text(st, 3, ws);
  sqlite_bind_text(st, 4, rec_text(job, "project_id"));
  sqlite_bind_text(st, 5, rec_text(job, "submitted_by"));
  sqlite_bind_text(st, 6, status ? status : ST_PENDING);
  sqlite_bind_text(st, 7, text);
  sqlite3_bind_int64(st, 8, (sqlite3_int64)json_integer_value(json_object_get(job,
                                                                              "created_at_secs")));
  rc = sqlite_step_done(s, st, "submit job");
  free(text);
  return rc;
}

#define JOB_COLUMNS                                                                  \
  "id, job_type, workspace_id, project_id, submitted_by, status, request, result, " \
  "error_msg, created_at, started_at, finished_at, heartbeat_at, owner, "            \
  "progress_done, progress_total, cancel_requested"

/* Text of column i, or NULL. */
static const char *col_text(sqlite3_stmt *st, int i) {
  return (const char *)sqlite3_column_text(st, i);
}

/* A time column as RFC 3339 text and as seconds (both null when unset). */
static int set_time(json_t *rec, const char *name, sqlite3_stmt *st, int i) {
  char key[64];
  snprintf(key, sizeof key, "%s_secs", name);
  if (sqlite3_column_type(st, i) == SQLITE_NULL)
    return json_object_set_new(rec, name, json_null()) ||
           json_object_set_new(rec, key, json_null());
  int64_t secs = sqlite3_column_int64(st, i);
  char text[32];
  assay__rfc3339(text, secs);
  return json_object_set_new(rec, name, json_string(text)) ||
         json_object_set_new(rec, key, json_integer((json_int_t)secs));
}

/* A JSON text column decoded (null when unset or not JSON). */
static json_t *col_json(sqlite3_stmt *st, int i) {
  const char *text = col_text(st, i);
  if (!text) return json_null();
  json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
  return j ? j : json_null();
}

static json_t *job_from_row(sqlite3_stmt *st) {
  json_t *rec = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:o, s:o, s:s?, s:s?}",
                          "job_id", col_text(st, 0), "job_type", col_text(st, 1),
                          "workspace_id", col_text(st, 2), "project_id", col_text(st, 3),
                          "submitted_by", col_text(st, 4), "status", col_text(st, 5),
                          "request", col_json(st, 6), "result", col_json(st, 7),
                          "error_msg", col_text(st, 8), "owner", col_text(st, 13));
  if (!rec) return NULL;
  static const char *const nullable[] = {"project_id", "submitted_by", "error_msg", "owner", NULL};
  for (int i = 0; nullable[i]; i++)
    if (!json_object_get(rec, nullable[i])) json_object_set_new(rec, nullable[i], json_null());
  if (set_time(rec, "created_at", st, 9) || set_time(rec, "started_at", st, 10) ||
      set_time(rec, "finished_at", st, 11) || set_time(rec, "heartbeat_at", st, 12)) {
    json_decref(rec);
    return NULL;
  }
  json_object_del(rec, "heartbeat_at"); /* the workers need only the seconds */
  if (json_object_set_new(rec, "progress",
                          json_pack("{s:I, s:I}", "done", (json_int_t)sqlite3_column_int64(st, 14),
                                    "total", (json_int_t)sqlite3_column_int64(st, 15))) ||
      json_object_set_new(rec, "cancel_requested",
                          json_boolean(sqlite3_column_int64(st, 16) != 0))) {
    json_decref(rec);
    return NULL;
  }
  return rec;
}

int sq_job_get(store *s, const char *job_id, json_t **out) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?");
  if (rc) return rc;
  sqlite_bind_text(st, 1, job_id);
  int step = sqlite3_step(st);
  if (step == SQLITE_ROW) {
    json_t *rec = job_from_row(st);
    if (rec) *out = rec;
    else rc = assay__nomem();
  } else if (step == SQLITE_DONE) {
    rc = not_found(job_id);
  } else {
    rc = sqlite_fail(s, step, "read job");
  }
  sqlite3_finalize(st);
  return rc;
}

int sq_job_claim(store *s, const char *owner, int64_t now, json_t **out) {
  *out = NULL;
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "SELECT id FROM jobs WHERE status = '" ST_PENDING "' "
                          "ORDER BY created_at, rowid LIMIT 1");
  if (rc) return rc;
  int step = sqlite3_step(st);
  char id[64] = "";
  if (step == SQLITE_ROW) sqlite_copy_text(id, sizeof id, sqlite3_column_text(st, 0));
  else if (step != SQLITE_DONE) rc = sqlite_fail(s, step, "find a pending job");
  sqlite3_finalize(st);
  if (rc || !id[0]) return rc;
  rc = sqlite_prepare(s, &st,
                      "UPDATE jobs SET status = '" ST_RUNNING "', owner = ?, started_at = ?, "
                      "heartbeat_at = ? WHERE id = ? AND status = '" ST_PENDING "'");
  if (rc) return rc;
  sqlite_bind_text(st, 1, owner);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
  sqlite_bind_text(st, 4, id);
  rc = sqlite_step_done(s, st, "claim job");
  if (rc) return rc;
  /* Another connection took it first (only outside a write transaction). */
  if (sqlite3_changes(sqlite_db(s)) != 1) return ASSAY_OK;
  return sq_job_get(s, id, out);
}

int sq_job_heartbeat(store *s, const char *owner, int64_t now) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "UPDATE jobs SET heartbeat_at = ? WHERE owner = ? AND status = '" ST_RUNNING
                          "'");
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
  sqlite_bind_text(st, 2, owner);
  return sqlite_step_done(s, st, "refresh job heartbeat");
}

int sq_job_finish(store *s, const char *job_id, const char *status, const char *error_msg,
                  const json_t *result, int64_t now) {
  char *text = NULL;
  if (result && !json_is_null(result)) {
    text = json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) return assay__nomem();
  }
  sqlite3_stmt *st;
  /* Only a job that has not ended yet: a job failed as stale stays so. */
  int rc = sqlite_prepare(s, &st,
                          "UPDATE jobs SET status = ?, error_msg = ?, result = ?, finished_at = ? "
                          "WHERE id = ? AND status IN ('" ST_PENDING "', '" ST_RUNNING "')");
  if (rc) {
    free(text);
    return rc;
  }
  sqlite_bind_text(st, 1, status);
  sqlite_bind_text(st, 2, error_msg);
  sqlite_bind_text(st, 3, text);
  sqlite3_bind_int64(st, 4, (sqlite3_int64)now);
  sqlite_bind_text(st, 5, job_id);
  rc = sqlite_step_done(s, st, "finish job");
  free(text);
  if (rc || sqlite3_changes(sqlite_db(s)) == 1) return rc;
  json_t *rec = NULL;
  rc = sq_job_get(s, job_id, &rec);
  if (rc) return rc;
  rc = assay__err(ASSAY_ERR_CONFLICT, "job '%s' has already ended (%s)", job_id,
                  rec_text(rec, "status"));
  json_decref(rec);
  return rc;
}

int sq_job_fail_stale(store *s, int64_t before, const char *error_msg, int64_t now,
                      json_t **failed) {
  if (failed) *failed = NULL;
  json_t *ids = json_array(), *out = json_array();
  if (!ids || !out) {
    json_decref(ids);
    json_decref(out);
    return assay__nomem();
  }
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "SELECT id FROM jobs WHERE status = '" ST_RUNNING "' AND "
                          "(heartbeat_at IS NULL OR heartbeat_at < ?) ORDER BY created_at, rowid");
  if (!rc) {
    sqlite3_bind_int64(st, 1, (sqlite3_int64)before);
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW)
      if (json_array_append_new(ids, json_string(col_text(st, 0))) != 0) rc = assay__nomem();
    if (!rc && step != SQLITE_DONE) rc = sqlite_fail(s, step, "find stale jobs");
    sqlite3_finalize(st);
  }
  size_t i;
  json_t *id;
  json_array_foreach(ids, i, id) {
    if (rc) break;
    rc = sqlite_prepare(s, &st,
                        "UPDATE jobs SET status = 'JOB_STATUS_FAILED', error_msg = ?, "
                        "finished_at = ? WHERE id = ? AND status = '" ST_RUNNING "'");
    if (rc) break;
    sqlite_bind_text(st, 1, error_msg);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
    sqlite_bind_text(st, 3, json_string_value(id));
    rc = sqlite_step_done(s, st, "fail stale job");
    if (rc || sqlite3_changes(sqlite_db(s)) != 1) continue;
    json_t *rec = NULL;
    rc = sq_job_get(s, json_string_value(id), &rec);
    if (!rc && json_array_append_new(out, rec) != 0) rc = assay__nomem();
  }
  json_decref(ids);
  if (rc || !failed) json_decref(out);
  else *failed = out;
  return rc;
}

int sq_job_requeue(store *s, const char *job_id, const char *owner) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "UPDATE jobs SET status = '" ST_PENDING "', owner = NULL, "
                          "started_at = NULL, heartbeat_at = NULL, finished_at = NULL, "
                          "error_msg = NULL, result = NULL, progress_done = 0, "
                          "progress_total = 0 "
                          "WHERE id = ? AND owner = ? AND status = '" ST_RUNNING "'");
  if (rc) return rc;
  sqlite_bind_text(st, 1, job_id);
  sqlite_bind_text(st, 2, owner);
  rc = sqlite_step_done(s, st, "requeue job");
  if (rc || sqlite3_changes(sqlite_db(s)) == 1) return rc;
  json_t *rec = NULL;
  rc = sq_job_get(s, job_id, &rec);
  if (rc) return rc;
  rc = assay__err(ASSAY_ERR_CONFLICT, "job '%s' is no longer running here (%s); not requeued",
                  job_id, rec_text(rec, "status"));
  json_decref(rec);
  return rc;
}

/* --- listing, cancellation requests, progress ------------------------------------ */

static const char *const job_statuses[] = {
  "JOB_STATUS_PENDING", "JOB_STATUS_RUNNING", "JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED",
  "JOB_STATUS_CANCELLED", NULL};

int sq_job_list(store *s, const char *project_id, const json_t *filter, json_t **out) {
  *out = NULL;
  const json_t *statuses = json_object_get(filter, "status");
  const char *type = json_string_value(json_object_get(filter, "job_type"));
  /* Which statuses to keep: a bit per known status (unknown ones match
   * nothing; the route checks them before). */
  unsigned keep = 0;
  if (json_is_array(statuses)) {
    size_t i;
    json_t *st;
    json_array_foreach(statuses, i, st) {
      const char *name = json_string_value(st);
      for (int k = 0; name && job_statuses[k]; k++)
        if (strcmp(job_statuses[k], name) == 0) keep |= 1u << k;
    }
    if (!keep) {
      *out = json_array();
      return *out ? ASSAY_OK : assay__nomem();
    }
  }
  char sql[512];
  int n = snprintf(sql, sizeof sql,
                   "SELECT " JOB_COLUMNS " FROM jobs WHERE project_id = ?%s%s "
                   "ORDER BY created_at DESC, rowid DESC",
                   type ? " AND job_type = ?" : "",
                   keep ? " AND status IN (?, ?, ?, ?, ?)" : "");
  if (n < 0 || (size_t)n >= sizeof sql) return assay__err(ASSAY_ERR_INTERNAL, "job list query");
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st, sql);
  if (rc) return rc;
  int at = 1;
  sqlite_bind_text(st, at++, project_id);
  if (type) sqlite_bind_text(st, at++, type);
  if (keep) {
    /* unused slots repeat a kept status (IN ignores duplicates) */
    const char *first = NULL;
    for (int k = 0; job_statuses[k] && !first; k++)
      if (keep & (1u << k)) first = job_statuses[k];
    for (int k = 0; job_statuses[k]; k++)
      sqlite_bind_text(st, at++, keep & (1u << k) ? job_statuses[k] : first);
  }
  return sqlite_collect(s, st, job_from_row, "list jobs", out);
}

int sq_job_request_cancel(store *s, const char *job_id) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND status = '" ST_RUNNING
                          "'");
  if (rc) return rc;
  sqlite_bind_text(st, 1, job_id);
  rc = sqlite_step_done(s, st, "request job cancellation");
  if (rc || sqlite3_changes(sqlite_db(s)) == 1) return rc;
  json_t *rec = NULL;
  rc = sq_job_get(s, job_id, &rec);
  if (rc) return rc;
  rc = assay__err(ASSAY_ERR_CONFLICT, "job '%s' is not running (%s)", job_id,
                  rec_text(rec, "status"));
  json_decref(rec);
  return rc;
}

static json_t *id_from_row(sqlite3_stmt *st) { return json_string(col_text(st, 0)); }

int sq_job_cancel_requests(store *s, const char *owner, json_t **out) {
  *out = NULL;
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "SELECT id FROM jobs WHERE owner = ? AND status = '" ST_RUNNING "' "
                          "AND cancel_requested != 0");
  if (rc) return rc;
  sqlite_bind_text(st, 1, owner);
  return sqlite_collect(s, st, id_from_row, "find cancelled jobs", out);
}

int sq_job_progress(store *s, const char *job_id, int64_t done, int64_t total) {
  sqlite3_stmt *st;
  int rc = sqlite_prepare(s, &st,
                          "UPDATE jobs SET progress_done = ?, progress_total = ? "
                          "WHERE id = ? AND status = '" ST_RUNNING "'");
  if (rc) return rc;
  sqlite3_bind_int64(st, 1, (sqlite3_int64)done);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)total);
  sqlite_bind_text(st, 3, job_id);
  return sqlite_step_done(s, st, "record job progress");
}
