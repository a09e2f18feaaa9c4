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

/* An API token row (the secret itself is never stored, only its hash). */
typedef struct token_row {
  char id[37];
  char user_id[37];
  char workspace_id[37];
  int64_t expires_at;   /* seconds since the epoch; 0 = never */
  int64_t revoked_at;   /* 0 = not revoked */
  int user_is_org_admin;
} token_row;

typedef struct store_ops {
  const char *backend;  /* "sqlite" */
  void (*close)(store *s);

  /* Transactions. begin(write=1) takes the write lock up front, waiting
   * (not failing) while another connection or process holds it. */
  int (*begin)(store *s, int write);
  int (*commit)(store *s);
  void (*rollback)(store *s);

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

  /* API tokens, by hash. */
  int (*token_insert)(store *s, const char *id, const char *user_id,
                      const char *workspace_id, const char *name,
                      const unsigned char hash[32], int64_t created_at,
                      int64_t expires_at);
  int (*token_lookup)(store *s, const unsigned char hash[32], token_row *out);

  /* Projects. insert: `project` holds every field of the record. */
  int (*project_insert)(store *s, json_t *project);
  int (*project_get)(store *s, const char *workspace_id, const char *project_id,
                     json_t **out);
  int (*project_list)(store *s, const char *workspace_id, json_t **out);
  /* How many datasets, models, test runs ... the project still holds. */
  int (*project_child_count)(store *s, const char *project_id, int64_t *out);
  int (*project_delete)(store *s, const char *workspace_id, const char *project_id);
} store_ops;

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
