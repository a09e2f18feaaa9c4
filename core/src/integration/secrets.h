/* integration/secrets.h — secret values at rest: the platform's master key
 * (a key file outside the database), sealing and opening values with
 * libsodium's XChaCha20-Poly1305 (a fresh nonce per value, the value's
 * identity bound as associated data), and key rotation. Not installed.
 *
 * A keyring is shared by the platform's threads (it locks itself). Plain
 * text handed out by secret_open() lives in memory that secret_free()
 * wipes.
 *
 * Key files beside the key file <path>:
 *   <path>.new  the key of a rotation: written before the rotation commits,
 *               moved into <path> after it (by the rotation, or by the next
 *               keyring_sync under the write lock if that step failed);
 *   <path>.old  the key a rotation replaced (mode 0600), kept until a later
 *               keyring_sync under the write lock finds the store still
 *               naming the key in <path>; should the database lose the
 *               rotation's commit in a crash, the recorded key is found
 *               there and put back.
 * Each is created exclusively (O_EXCL|O_NOFOLLOW) and read without
 * following a symbolic link. Files are only ever created, replaced or
 * removed under the store's write lock, after reading the recorded key id
 * under it: a process with an older view of the store never puts an older
 * key over a newer one.
 *
 * In memory a keyring holds two keys by id: the current one (the key the
 * store recorded at the last keyring_sync under the write lock; sealing
 * uses it) and one other (the previous key, or one met while opening a
 * value). Opening a value sealed under either does not change the current
 * key. */
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
 * ASSAY_ERR_CONFIG naming the path and what was expected: a symbolic link,
 * not a regular file, owned by another user than the effective uid (the
 * message names both), readable or writable by group or others, of the
 * wrong length or not base64. A leftover "<key_path>.new" or
 * "<key_path>.old" is resolved by the first keyring_sync() under the write
 * lock (the platform's open does one). */
int keyring_open(secret_keyring **out, const char *home, const char *key_path);
void keyring_free(secret_keyring *k);
/* The path of the key file in use. */
const char *keyring_path(const secret_keyring *k);
/* The current key's id (SECRET_KEY_ID_LEN hex chars of BLAKE2b(key)). */
void keyring_key_id(secret_keyring *k, char out[SECRET_KEY_ID_LEN + 1]);

/* Inside the caller's transaction: make the keyring agree with the store.
 * The store's platform_meta "secret_key_id" names the key the secrets are
 * sealed under; a key not in memory is looked for in <path>, <path>.new
 * and <path>.old (by id); in none → ASSAY_ERR_CONFIG saying the key file
 * does not match the home's secrets.
 *
 * in_write_tx = 0 (a read transaction): only loads the recorded key into
 * memory (the current key stays current); never writes the store nor
 * touches a file. An absent id is left for a writer to record.
 * in_write_tx = 1 (the caller holds the write lock, e.g. a write
 * transaction): absent id → record the current key's; otherwise the
 * recorded key becomes current and the files are brought in line: when
 * <path> holds it, <path>.old is removed (the last rotation is confirmed);
 * when not (a rotation whose last step did not happen, a database that
 * rolled back), <path>'s key is kept as <path>.old, the recorded key is put
 * in <path> and a <path>.new holding it removed. A file that cannot be
 * written is ASSAY_ERR_CONFIG. */
int keyring_sync(secret_keyring *k, store *s, int in_write_tx);

/* Seal `len` bytes of `value` for (integration_id, variable, user_id; ""
 * for a workspace value) into row->sealed / row->sealed_len (malloc'd) and
 * fill row's identity fields and key_id. Sealing uses the current key (the
 * one the store recorded at the last keyring_sync under the write lock):
 * seal inside the write transaction that stores the row, after
 * keyring_sync(k, s, 1) in it; a row sealed before a concurrent rotation
 * committed is refused by secret_put (CONFLICT). */
int secret_seal(secret_keyring *k, const char *integration_id, const char *variable,
                const char *user_id, const char *value, size_t len, secret_row *row);
/* Open a sealed row: *out is NUL-terminated plain text of *len bytes in
 * guarded memory; release it with secret_free(). A row sealed under a key
 * not in memory loads that key from the key files (only reading them; the
 * current key stays current). A row sealed under a key found nowhere
 * (ASSAY_ERR_CONFIG), altered or moved to another identity
 * (ASSAY_ERR_STORE) is an error that names the integration and variable
 * but never any value. */
int secret_open(secret_keyring *k, const secret_row *row, char **out, size_t *len);
void secret_free(char *plain);

/* Re-seal every secret in the store under a new random key: in one write
 * transaction on `s` (which must have none open) keyring_sync, write
 * "<path>.new" (0600, exclusively, replacing a leftover), re-seal all rows
 * and record the new key id; then, under the write lock again with the
 * recorded id re-read (keyring_sync), keep the old key as "<path>.old",
 * put the new key in the key file and remove "<path>.new"; then compact
 * the store (best effort) so the retired key's ciphertexts leave its
 * files. A failure before the commit keeps the old key and removes
 * "<path>.new". If only the last step fails, the rotation stands (the new
 * key is current and in "<path>.new", which the next keyring_sync under
 * the write lock puts in place): ASSAY_ERR_STORE saying so. Out: how many
 * values were re-sealed and the new key id. */
int keyring_rotate(secret_keyring *k, store *s, size_t *resealed,
                   char new_key_id[SECRET_KEY_ID_LEN + 1]);

#endif
