/* integration/secrets.h — secret values at rest: the platform's master key
 * (a key file outside the database), sealing and opening values with
 * libsodium's XChaCha20-Poly1305 (a fresh nonce per value, the value's
 * identity bound as associated data), and key rotation. Not installed.
 *
 * A keyring is shared by the platform's threads (it locks itself). Plain
 * text handed out by secret_open() lives in memory that secret_free()
 * wipes. */
#ifndef ASSAY_SECRETS_H
#define ASSAY_SECRETS_H

#include <stddef.h>

#include "store/store.h"

#define SECRET_KEY_BYTES 32
#define SECRET_KEY_ID_LEN 16     /* hex characters */
#define SECRET_VALUE_MAX 65536   /* bytes of one secret value */

typedef struct secret_keyring secret_keyring;

/* Open the master key at `key_path`, or <home>/secret.key when NULL.
 * A missing file is created (mode 0600, 32 random bytes as base64 text).
 * A file readable or writable by group or others, of the wrong length or
 * not base64 is ASSAY_ERR_CONFIG naming the path and what was expected.
 * A leftover "<key_path>.new" from an interrupted rotation is resolved by
 * keyring_sync(). */
int keyring_open(secret_keyring **out, const char *home, const char *key_path);
void keyring_free(secret_keyring *k);
/* The path of the key file in use. */
const char *keyring_path(const secret_keyring *k);
/* The current key's id (SECRET_KEY_ID_LEN hex chars of BLAKE2b(key)). */
void keyring_key_id(secret_keyring *k, char out[SECRET_KEY_ID_LEN + 1]);

/* Inside the caller's transaction: make the keyring agree with the store.
 * The store's platform_meta "secret_key_id" names the key the secrets are
 * sealed under: absent → record ours; different → reload the key file
 * (another process rotated it), finishing an interrupted rotation from
 * "<path>.new" if that is the key; still different → ASSAY_ERR_CONFIG
 * saying the key file does not match the home's secrets. */
int keyring_sync(secret_keyring *k, store *s);

/* Seal `len` bytes of `value` for (integration_id, variable, user_id; ""
 * for a workspace value) into row->sealed / row->sealed_len (malloc'd) and
 * fill row's identity fields and key_id. Seal inside the write transaction
 * that stores the row, after keyring_sync() in it: a row sealed before a
 * concurrent rotation committed is refused by secret_put (CONFLICT). */
int secret_seal(secret_keyring *k, const char *integration_id, const char *variable,
                const char *user_id, const char *value, size_t len, secret_row *row);
/* Open a sealed row: *out is NUL-terminated plain text of *len bytes in
 * guarded memory; release it with secret_free(). A row sealed under
 * another key, or altered, or moved to another identity is an error that
 * names the integration and variable but never any value. */
int secret_open(secret_keyring *k, const secret_row *row, char **out, size_t *len);
void secret_free(char *plain);

/* Re-seal every secret in the store under a new random key: writes
 * "<path>.new" (0600), re-seals all rows and records the new key id in one
 * write transaction on `s` (which must have none open), then, under the
 * write lock again, replaces the key file with the new key and removes
 * "<path>.new". A failure before the commit keeps the old key and removes
 * "<path>.new". Out: how many values were re-sealed and the new key id. */
int keyring_rotate(secret_keyring *k, store *s, size_t *resealed,
                   char new_key_id[SECRET_KEY_ID_LEN + 1]);

#endif
