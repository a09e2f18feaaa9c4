/* integration/secrets.h — secret values at rest: the platform's master key
 * (a key file outside the database), sealing and opening values with
 * libsodium's XChaCha20-Poly1305 (a fresh nonce per value, the value's
 * identity bound as associated data), and key rotation. Not installed.
 *
 * A keyring is shared by the platform's threads (it locks itself). Plain
 * text handed out by secret_open() lives in memory that secret_free()
 * wipes.
 *
 * A key file holds the key as base64 text on its first line and a line
 * "home <id>" naming the home it belongs to (platform_meta "home_id"): a
 * key file, <path>.new or <path>.old bound to another home is refused
 * (ASSAY_ERR_CONFIG: "the secret key file <path> belongs to another assay
 * home (<id>); give each home its own key file"), so that two homes never
 * share a key file (a rotation in one would retire the other's key). A file
 * without that line is accepted and bound at the next keyring_sync under
 * the write lock (left unbound only where nothing can be written).
 *
 * Key files beside the key file <path>:
 *   <path>.new  the key of a rotation: written before the rotation commits,
 *               moved into <path> after it (by the rotation, or by the next
 *               keyring_sync under the write lock if that step failed);
 *   <path>.old  the key a rotation replaced (mode 0600), kept until the
 *               next keyring_sync under the write lock, in any process,
 *               finds the store still naming the key in <path>; should the
 *               database lose the rotation's commit in a crash, the
 *               recorded key is found there and put back.
 * Each is created exclusively (O_EXCL|O_NOFOLLOW) and read without
 * following a symbolic link. Files are only ever created, replaced or
 * removed under the store's write lock, after reading the recorded key id
 * under it: a process with an older view of the store never puts an older
 * key over a newer one. Nor while some stored value is sealed under another
 * key than the recorded one (a database altered or restored in part): then
 * the sync refuses (ASSAY_ERR_CONFIG naming both key ids) and changes no
 * file. Creating, renaming or removing one is made durable (the directory
 * is synced; a file system that cannot sync directories, EINVAL/ENOTSUP, is
 * no failure).
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
 * wrong length or not base64, a line after the key other than "home <id>"
 * (the home it names is checked by keyring_sync). A leftover
 * "<key_path>.new" or "<key_path>.old" is resolved by the first
 * keyring_sync() under the write lock (the platform's open does one). */
int keyring_open(secret_keyring **out, const char *home, const char *key_path);
void keyring_free(secret_keyring *k);
/* The path of the key file in use. */
const char *keyring_path(const secret_keyring *k);
/* The current key's id (SECRET_KEY_ID_LEN hex chars of BLAKE2b(key)). */
void keyring_key_id(secret_keyring *k, char out[SECRET_KEY_ID_LEN + 1]);

/* Inside the caller's transaction: make the keyring agree with the store.
 * The store's platform_meta "secret_key_id" names the key the secrets are
 * sealed under; a key not in memory is looked for in <path>.new, <path>
 * and <path>.old (by id, in this order, twice over if need be, so that a
 * rotation finishing in another process meanwhile cannot hide it); in none
 * → ASSAY_ERR_CONFIG saying the key file does not match the home's secrets
 * and naming the keys the files held.
 *
 * in_write_tx = 0 (a read transaction): only loads the recorded key into
 * memory (the current key stays current); never writes the store nor
 * touches a file. An absent id is left for a writer to record.
 * in_write_tx = 1 (the caller holds the write lock, e.g. a write
 * transaction): a home without an id gets one (platform_meta "home_id", a
 * random UUID: the platform's open does the first such sync in its
 * bootstrap transaction); absent key id → record the current key's (unless
 * values are stored under another key); otherwise the recorded key becomes
 * current and the files are brought in line: when <path> holds it, <path>
 * is bound to the home if it is not yet, <path>.old is removed (the last
 * rotation is confirmed) and so is a <path>.new holding the same key; when
 * not (a rotation whose last step did not happen, a database that rolled
 * back), <path>'s key is kept as <path>.old, the recorded key is put in
 * <path> and a <path>.new holding it removed. Before taking a key from
 * .new or .old, or removing either, every stored value must be sealed
 * under the recorded key (else ASSAY_ERR_CONFIG, no file changed). Then
 * leftovers of crashed writes ("<path>.tmp-*", "<path>.old.tmp-*") are
 * removed. A file that cannot be written, renamed, removed or made durable
 * is ASSAY_ERR_STORE (the disk's or its permissions' fault, not the
 * caller's request). */
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
 * transaction on `s` (which must have none open) keyring_sync, check that
 * every value is sealed under the recorded key, write "<path>.new" (0600,
 * exclusively, bound to the home, replacing a leftover; made durable),
 * re-seal all rows and record the new key id; then load the new key into
 * memory (not yet current) and, under the write lock again with the
 * recorded id re-read, keyring_sync: the new key becomes current, the old
 * key is kept as "<path>.old", the new key put in the key file and
 * "<path>.new" removed. A failure before the commit keeps the old key and
 * removes "<path>.new" (I/O failures are ASSAY_ERR_STORE). If only the
 * last step fails, the rotation stands (the new key is in "<path>.new",
 * which the next keyring_sync under the write lock puts in place):
 * ASSAY_ERR_STORE saying so. Compacting the store afterwards is the
 * caller's (platform_rotate_key). Out: how many values were re-sealed and
 * the new key id. */
int keyring_rotate(secret_keyring *k, store *s, size_t *resealed,
                   char new_key_id[SECRET_KEY_ID_LEN + 1]);

#endif
