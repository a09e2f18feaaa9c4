/* store/store.h — the platform's persistence, behind an interface.
 *
 * The platform talks to its database only through store_ops, so another
 * backend (PostgreSQL for scale-out) is an addition beside sqlite_store.c,
 * not a rewrite. One `store` is one connection: use it from one thread at a
 * time (the platform keeps a pool). Records cross as jansson objects with
 * the REST API's field names. Every function returns ASSAY_OK or a negative
 * assay_error_code with the last error set; a uniqueness violation is
 * ASSAY_ERR_CONFLICT, a missing row ASSAY_ERR_NOT_FOUND. */
#ifndef ASSAY_STORE_H
#define ASSAY_STORE_H

#include <jansson.h>
#include <stdint.h>

typedef struct store store;

/* take_writes() flags. */
#define STORE_WROTE 1u
#define STORE_DROPPED_SECRETS 2u

/* An API token row (the secret itself is never stored, only its hash). */
typedef struct token_row {
  char id[37];
  char user_id[37];
  char workspace_id[37];
  int64_t expires_at;   /* seconds since the epoch; 0 = never */
  int64_t revoked_at;   /* 0 = not revoked */
  int user_is_org_admin;
  char role[32];        /* the user's role in the token's workspace; "" if none */
} token_row;

/* One stored secret value, sealed (see integration/secrets.h). */
typedef struct secret_row {
  char integration_id[37];
  char name[257];
  char user_id[37];       /* "" for a workspace secret */
  char key_id[17];        /* the master key it was sealed under */
  unsigned char *sealed;  /* nonce || ciphertext; owned by the row */
  size_t sealed_len;
} secret_row;

typedef struct store_ops {
  const char *backend;  /* "sqlite" */
  void (*close)(store *s);

  /* Transactions. begin(write=1) takes the write lock up front, waiting
   * (not failing) while another connection or process holds it. */
  int (*begin)(store *s, int write);
  int (*commit)(store *s);
  void (*rollback)(store *s);

  /* Make data deleted or replaced by committed transactions (old secret
   * ciphertexts) leave the store's files: SQLite moves the whole WAL into
   * the database (where secure_delete zeroed what was deleted) and
   * truncates it. Call with no transaction open. Waits at most a few
   * milliseconds for other connections (holding off writers meanwhile):
   * when one still reads the WAL or writes, *done = 0 and the result is
   * ASSAY_OK (compact again later). *done = 1: compacted. Deletions and
   * replacements (also by cascades) are recorded for take_writes. */
  int (*compact)(store *s, int *done);
  /* What this connection's committed write transactions did since the
   * last call (the record is cleared): STORE_WROTE when any write
   * transaction committed, STORE_DROPPED_SECRETS when one deleted or
   * replaced a sealed secret value (its old bytes may still be in the
   * store's files until a compaction). Rolled back transactions count for
   * nothing. Records no error. */
  unsigned (*take_writes)(store *s);

  /* The schema version the store is at (migrations run at open). */
  int (*schema_version)(store *s, int *out);

  /* Platform metadata (key/value). get: NOT_FOUND when absent. */
  int (*meta_get)(store *s, const char *key, char **out);
  int (*meta_set)(store *s, const char *key, const char *value);

  /* Users, workspaces, membership. */
  int (*user_insert)(store *s, const char *id, const char *username,
                     const char *display_name, int is_org_admin, int64_t now);
  int (*workspace_insert)(store *s, const char *id, const char *name, int64_t now);
  int (*member_insert)(store *s, const char *workspace_id, const char *user_id,
                       const char *role);
  int (*user_exists)(store *s, const char *user_id, int *is_org_admin);
  int (*workspace_exists)(store *s, const char *workspace_id);
  /* {user_id, username, display_name, is_org_admin, created_at} */
  int (*user_get)(store *s, const char *user_id, json_t **out);
  int (*user_list)(store *s, json_t **out);
  /* {workspace_id, name, created_at} */
  int (*workspace_get)(store *s, const char *workspace_id, json_t **out);
  /* Workspaces with "role": the membership role of `user_id` (null if
   * none). all != 0: every workspace; else only those user_id belongs to. */
  int (*workspace_list)(store *s, const char *user_id, int all, json_t **out);
  /* The member's role; NOT_FOUND when user_id is not a member. */
  int (*member_role)(store *s, const char *workspace_id, const char *user_id, char role[32]);
  /* [{workspace_id, user_id, username, display_name, role}] by username */
  int (*member_list)(store *s, const char *workspace_id, json_t **out);
  int (*member_update)(store *s, const char *workspace_id, const char *user_id, const char *role);
  int (*member_delete)(store *s, const char *workspace_id, const char *user_id);
  int (*member_count_role)(store *s, const char *workspace_id, const char *role, int64_t *out);

  /* API tokens, by hash. */
  int (*token_insert)(store *s, const char *id, const char *user_id,
                      const char *workspace_id, const char *name,
                      const unsigned char hash[32], int64_t created_at,
                      int64_t expires_at);
  int (*token_lookup)(store *s, const unsigned char hash[32], token_row *out);
  int (*token_get)(store *s, const char *token_id, token_row *out);
  /* [{id, name, user_id, workspace_id, created_at, expires_at, revoked_at,
   * status}]; NULL filters match all. */
  int (*token_list)(store *s, const char *workspace_id, const char *user_id, int64_t now,
                    json_t **out);
  int (*token_revoke)(store *s, const char *token_id, int64_t now);
  /* Revoke every token of user_id for workspace_id. */
  int (*token_revoke_member)(store *s, const char *workspace_id, const char *user_id,
                             int64_t now);

  /* Projects. insert: `project` holds every field of the record. */
  int (*project_insert)(store *s, json_t *project);
  int (*project_get)(store *s, const char *workspace_id, const char *project_id,
                     json_t **out);
  int (*project_list)(store *s, const char *workspace_id, json_t **out);
  /* How many datasets, models, test runs ... the project still holds. */
  int (*project_child_count)(store *s, const char *project_id, int64_t *out);
  int (*project_delete)(store *s, const char *workspace_id, const char *project_id);

  /* Integrations (sqlite_integrations.c). A record is {integration_id,
   * workspace_id, name, integration_type, created_by, created_at,
   * updated_at, variables: [{name, sensitivity, value?}]} where value is
   * present only for VARIABLE_SENSITIVITY_PUBLIC; secrets live apart. */
  int (*integration_insert)(store *s, json_t *rec);
  int (*integration_get)(store *s, const char *integration_id, json_t **out);
  int (*integration_list)(store *s, const char *workspace_id, json_t **out);
  /* Replace name, variables and updated_at of an existing integration. */
  int (*integration_update)(store *s, json_t *rec);
  int (*integration_delete)(store *s, const char *integration_id);

  /* Sealed secret values; user_id "" is the workspace value. put inserts
   * or replaces; ASSAY_ERR_CONFLICT when row->key_id is not platform_meta
   * "secret_key_id" (when set: the key was rotated since the row was
   * sealed), ASSAY_ERR_NOT_FOUND when the integration has no such
   * variable. */
  int (*secret_put)(store *s, const secret_row *row, int64_t now);
  /* NOT_FOUND when there is none; the caller frees out->sealed. */
  int (*secret_get)(store *s, const char *integration_id, const char *name,
                    const char *user_id, secret_row *out);
  /* NULL name: every variable; NULL user_id: every user and the workspace. */
  int (*secret_delete)(store *s, const char *integration_id, const char *name,
                       const char *user_id);
  /* Delete user_id's member values in every integration of workspace_id. */
  int (*secret_delete_member)(store *s, const char *workspace_id, const char *user_id);
  /* Names of the variables of integration_id that user_id has a value for
   * (a JSON array of strings). */
  int (*secret_names)(store *s, const char *integration_id, const char *user_id, json_t **out);
  /* Every sealed value (for key rotation); the caller frees with
   * secret_rows_free. */
  int (*secret_all)(store *s, secret_row **rows, size_t *n);
  /* Whether any sealed value is sealed under a key other than `key_id`:
   * other receives the key id of one such value, or "" when every value
   * is sealed under key_id (or there is none). */
  int (*secret_other_key)(store *s, const char *key_id, char other[17]);

  /* Uploaded files (sqlite_files.c). A record is {path, size, blake2b,
   * uploaded_by, uploaded_at} (uploaded_at RFC 3339). put inserts or
   * replaces. */
  int (*file_put)(store *s, const char *workspace_id, const char *path, int64_t size,
                  const char *blake2b, const char *uploaded_by, int64_t now);
  int (*file_get)(store *s, const char *workspace_id, const char *path, json_t **out);
  /* Files of a workspace by path; prefix (may be NULL) "dir/" keeps those
   * under it. */
  int (*file_list)(store *s, const char *workspace_id, const char *prefix, json_t **out);
  /* Delete one file (prefix == 0) or every file under "path/" (prefix !=
   * 0); *deleted counts the rows. */
  int (*file_delete)(store *s, const char *workspace_id, const char *path, int prefix,
                     int64_t *deleted);

  /* The registry (sqlite_registry.c): kind "dataset", "model" or
   * "predictions"; `rec` is the full record with "<kind>_id" ("dataset_id",
   * "model_id", "prediction_id"), "project_id", "name" (datasets, models),
   * "dataset_id" and "model_id" (predictions), "created_at_secs". A name
   * taken in the project, or a second prediction set for one dataset and
   * model, is ASSAY_ERR_CONFLICT. */
  int (*registry_insert)(store *s, const char *kind, json_t *rec);
  /* Replace the record of an existing entry (validity, profile). */
  int (*registry_update)(store *s, const char *kind, json_t *rec);
  int (*registry_get)(store *s, const char *kind, const char *id, json_t **out);
  /* Entries of a project, oldest first; `filter` (may be NULL) is
   * {"name"?, "dataset_id"?, "model_id"?}. */
  int (*registry_list)(store *s, const char *kind, const char *project_id,
                       const json_t *filter, json_t **out);
  /* Delete an entry (predictions of a deleted dataset or model go too). */
  int (*registry_delete)(store *s, const char *kind, const char *id);

  /* Jobs (sqlite_jobs.c); see platform/jobs.h for the record. */
  int (*job_insert)(store *s, const json_t *job);
  int (*job_get)(store *s, const char *job_id, json_t **out);
  /* Claim the oldest JOB_STATUS_PENDING job for `owner`: RUNNING,
   * started_at = heartbeat_at = now. *out NULL when there is none. */
  int (*job_claim)(store *s, const char *owner, int64_t now, json_t **out);
  /* heartbeat_at = now for every RUNNING job of owner. */
  int (*job_heartbeat)(store *s, const char *owner, int64_t now);
  /* Final state: status, error_msg (may be NULL), result (may be NULL). */
  int (*job_finish)(store *s, const char *job_id, const char *status, const char *error_msg,
                    const json_t *result, int64_t now);
  /* RUNNING jobs whose heartbeat is older than `before`: FAILED with
   * `error_msg`. *failed (may be NULL) receives their records as job_get
   * gives them (an array, empty when there were none), so the caller can
   * settle what each left unfinished in the same transaction. */
  int (*job_fail_stale)(store *s, int64_t before, const char *error_msg, int64_t now,
                        json_t **failed);
  /* A RUNNING job of `owner` back to JOB_STATUS_PENDING, as if never
   * claimed (owner, started_at, heartbeat_at cleared): its run was
   * interrupted and the next worker runs it again. ASSAY_ERR_CONFLICT when
   * it is no longer RUNNING for owner (it ended, or was failed as stale),
   * NOT_FOUND when there is no such job. */
  int (*job_requeue)(store *s, const char *job_id, const char *owner);
  /* A project's jobs, newest first (created_at, then insertion). filter
   * (may be NULL): {"status": [JOB_STATUS_...] (any of them), "job_type":
   * "..."}; records as job_get gives them. */
  int (*job_list)(store *s, const char *project_id, const json_t *filter, json_t **out);
  /* Mark a RUNNING job's cancellation requested (the worker of the
   * process running it sees it, see job_cancel_requests). CONFLICT when
   * the job is not RUNNING, NOT_FOUND when there is no such job. */
  int (*job_request_cancel)(store *s, const char *job_id);
  /* The ids (a JSON array) of the RUNNING jobs of `owner` whose
   * cancellation was requested. */
  int (*job_cancel_requests)(store *s, const char *owner, json_t **out);
  /* Record a running job's progress (done of total). A job that is no
   * longer RUNNING is left as it is (not an error). */
  int (*job_progress)(store *s, const char *job_id, int64_t done, int64_t total);

  /* Test runs (sqlite_test_runs.c). insert: `rec` is {test_run_id,
   * workspace_id, project_id, job_id (or null), name, created_at_secs,
   * summary: {...}, document: {...}}; the summary and the document are
   * stored as JSON text. */
  int (*test_run_insert)(store *s, const json_t *rec);
  /* The stored summary (part "summary") or document (part "document") of
   * a run, decoded; NOT_FOUND "test run '<id>' not found". */
  int (*test_run_get)(store *s, const char *test_run_id, const char *part, json_t **out);
  /* The summaries of a project's runs, newest first. */
  int (*test_run_list)(store *s, const char *project_id, json_t **out);
  /* The run a job stored, if any: *test_run_id ("" when none). */
  int (*test_run_of_job)(store *s, const char *job_id, char test_run_id[37]);

  /* A project's stress-test categories (an array, stored with the
   * project's optional fields; the record's "stress_test_categories"). */
  int (*project_set_categories)(store *s, const char *workspace_id, const char *project_id,
                                const json_t *categories);
} store_ops;

void secret_rows_free(secret_row *rows, size_t n);

struct store {
  const store_ops *ops;
};

/* Open (creating if needed) the SQLite store at `path` and bring its schema
 * to the latest version. */
int store_sqlite_open(store **out, const char *path);

/* Run `fn` inside a transaction, retrying the whole transaction when the
 * backend reports a transient conflict; commits on ASSAY_OK, rolls back
 * otherwise. */
int store_tx(store *s, int write, int (*fn)(store *s, void *ctx), void *ctx);

#endif
