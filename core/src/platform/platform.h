/* platform/platform.h — the platform object's internals: its home, its pool
 * of store connections, its limits, and the helpers the route handlers
 * share (tokens, enumerations). Not installed. */
#ifndef ASSAY_PLATFORM_H
#define ASSAY_PLATFORM_H

#include <jansson.h>

#include "internal.h"
#include "platform/router.h"
#include "runner/runner.h"
#include "store/store.h"

#define ASSAY_DEFAULT_MAX_BODY ((size_t)16 * 1024 * 1024)
#define ASSAY_TOKEN_DEFAULT_DAYS 270
#define ASSAY_TOKEN_MAX_DAYS 3650
/* "asy_" + 43 characters of base64url (32 random bytes) + NUL */
#define ASSAY_TOKEN_LEN 48

/* Take a store connection from the platform's pool (opening one if none is
 * idle) and give it back when done. */
int platform_store_acquire(assay_platform *p, store **out);
void platform_store_release(assay_platform *p, store *s);

/* The platform's master-key keyring (integration/secrets.h). */
struct secret_keyring *platform_keyring(assay_platform *p);

/* With no transaction open on s (after a request's commit): when s
 * committed a deletion or replacement of a sealed value since the last
 * look, or committed any write while an earlier compaction is pending,
 * compact the store (store_ops.compact). A compaction that readers kept
 * from completing leaves the platform's "compaction pending" mark, retried
 * this way at the next write and when the platform closes. Returns 1 when
 * no compaction is pending afterwards, else 0. Never fails and never
 * changes the calling thread's last error. platform_store_release() calls
 * it. */
int platform_compact(assay_platform *p, store *s);

/* Rotate the master key on s (keyring_rotate), compact the store, and
 * answer {key_id, secrets_resealed, compacted}. */
int platform_rotate_key(assay_platform *p, store *s, json_t **answer);

/* The interpreter and limits for user code (runner/runner.h). */
const runner_config *platform_runner(const assay_platform *p);
/* Where jobs.c keeps its workers' state. */
void **platform_jobs_slot(assay_platform *p);
/* How many job worker threads this platform runs. */
int platform_workers(const assay_platform *p);
/* The file store's limits (platform/files.h: files_limits), read from
 * the environment at open. */
const struct files_limits *platform_files_limits(const assay_platform *p);

/* The largest request body the router accepts. */
size_t platform_max_body(const assay_platform *p);

/* tokens.c: mint a token for user/workspace inside the caller's write
 * transaction; `token` receives the secret text, `id` the token's id. */
int token_mint(store *s, const char *user_id, const char *workspace_id, const char *name,
               int64_t expires_at, char token[ASSAY_TOKEN_LEN], char id[37]);
/* The hash under which a token is stored and looked up. */
void token_hash(const char *token, unsigned char out[32]);

/* auth.c: who is calling with `token` (NULL: none sent). */
int auth_principal(store *s, const char *token, principal *out);

/* enums.c: check `value` of `field` against a NULL-terminated list; the
 * error lists the valid values. */
int enum_check(const char *field, const char *value, const char *const *valid);
extern const char *const enum_model_tasks[];
extern const char *const enum_actor_roles[];

#endif
