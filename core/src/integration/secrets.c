/* integration/secrets.c — the master key files, sealing and opening secret
 * values (XChaCha20-Poly1305 with the value's identity as associated data),
 * following a key another process rotated, and key rotation.
 *
 * Three files: "<path>" holds the key the store's platform_meta
 * "secret_key_id" names; "<path>.new" the key of a rotation in progress
 * (written before its commit, moved into place after it); "<path>.old" the
 * key a rotation replaced, kept until a later write transaction confirms
 * the store still names the current key (a database that lost its last
 * commit in a crash needs it back).
 *
 * Key files are only created, replaced or removed while the store's write
 * lock is held and after reading the recorded key id under that lock
 * (keyring_sync with in_write_tx, keyring_rotate): a process holding an
 * older view of the store must never put an older key over a newer one. In
 * a read transaction, and when opening a value, keys are only loaded.
 *
 * In memory the keyring holds two keys by id: the current one (the key the
 * store named at the last sync under the write lock; sealing uses it) and
 * one other (the previous key, or one met while opening a value), so that
 * opening values sealed under either never switches the current key. Key
 * bytes live in sodium_malloc'd memory (no access while idle); stack copies
 * are wiped. Contracts in integration/secrets.h. */
#include "integration/secrets.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "internal.h"

#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define AD_PREFIX "assay-secret-v1"
#define META_KEY_ID "secret_key_id"
#define B64_LEN sodium_base64_ENCODED_LEN(SECRET_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL)
#define KEY_FILE_MAX 4096 /* a key file is 45 bytes; anything this long is not one */
#define SLOTS 2           /* the current key and one other */

typedef struct key_slot {
  unsigned char *key;              /* SECRET_KEY_BYTES, sodium_malloc'd, no access when idle */
  char id[SECRET_KEY_ID_LEN + 1];  /* "" while the slot is empty */
} key_slot;

struct secret_keyring {
  pthread_mutex_t lock;
  char *path;
  char *new_path;  /* "<path>.new" */
  char *old_path;  /* "<path>.old" */
  key_slot slot[SLOTS];
  int cur;         /* the slot of the current key; the other is the spare */
};

static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == SECRET_KEY_BYTES,
              "the master key is an XChaCha20-Poly1305 key");
static_assert(SLOTS == 2, "the spare slot is 1 - cur");

/* --- key bytes ---------------------------------------------------------------- */

static void key_id_of(const unsigned char *key, char out[SECRET_KEY_ID_LEN + 1]) {
  unsigned char h[crypto_generichash_BYTES];
  crypto_generichash(h, sizeof h, key, SECRET_KEY_BYTES, NULL, 0);
  sodium_bin2hex(out, SECRET_KEY_ID_LEN + 1, h, SECRET_KEY_ID_LEN / 2);
}

/* Guarded memory for a key (read-write until the caller protects it). */
static unsigned char *key_alloc(void) {
  unsigned char *k = sodium_malloc(SECRET_KEY_BYTES);
  if (!k) assay__nomem();
  return k;
}

/* --- key files ---------------------------------------------------------------- */

/* fsync the directory holding `path`, so a created, renamed or removed key
 * file stays that way after a crash. Best effort: some file systems refuse
 * it. */
static void sync_dir_of(const char *path) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == path) snprintf(dir, sizeof dir, "/");
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)fsync(fd);
  close(fd);
}

/* Remove `path` if it is there (best effort) and make that durable. */
static void remove_file(const char *path) {
  if (unlink(path) == 0) sync_dir_of(path);
}

/* Read and check the key file at `path` into key (SECRET_KEY_BYTES).
 * ASSAY_ERR_NOT_FOUND when it does not exist. The file itself is opened,
 * never a symbolic link in its place, and a FIFO or device there cannot
 * block the open (O_NONBLOCK); it must be a regular file owned by the
 * effective user and private to it. */
static int read_key_file(const char *path, unsigned char *key) {
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT)
      return assay__err(ASSAY_ERR_NOT_FOUND, "secret key file %s does not exist", path);
    if (e == ELOOP || e == EMLINK) /* EMLINK: O_NOFOLLOW on a link, on the BSDs */
      return assay__err(ASSAY_ERR_CONFIG,
                        "secret key file %s is a symbolic link; expected the key file itself "
                        "(a regular file private to its owner), give its real path",
                        path);
    return assay__err(ASSAY_ERR_CONFIG, "cannot open the secret key file %s: %s", path,
                      strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return assay__err(ASSAY_ERR_CONFIG, "cannot read the secret key file %s: %s", path,
                      strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return assay__err(ASSAY_ERR_CONFIG,
                      "secret key file %s is not a regular file; expected a file holding "
                      "%d random bytes as base64 text",
                      path, SECRET_KEY_BYTES);
  }
  uid_t me = geteuid();
  if (st.st_uid != me) {
    close(fd);
    return assay__err(ASSAY_ERR_CONFIG,
                      "secret key file %s is owned by uid %ld; expected it to be owned by uid "
                      "%ld, the user this process runs as: run `chown %ld %s`",
                      path, (long)st.st_uid, (long)me, (long)me, path);
  }
  if (st.st_mode & 077) {
    close(fd);
    return assay__err(ASSAY_ERR_CONFIG,
                      "secret key file %s has mode %04o, which lets group or others access "
                      "it; it must be private to its owner: run `chmod 600 %s`",
                      path, (unsigned)(st.st_mode & 07777), path);
  }
  char text[KEY_FILE_MAX + 1];
  size_t len = 0;
  int rc = ASSAY_OK;
  for (;;) {
    ssize_t n = read(fd, text + len, sizeof text - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      rc = assay__err(ASSAY_ERR_CONFIG, "cannot read the secret key file %s: %s", path,
                      strerror(errno));
      break;
    }
    if (n == 0) break;
    len += (size_t)n;
    if (len == sizeof text - 1) break;
  }
  close(fd);
  if (!rc) {
    size_t start = 0;
    while (start < len && (text[start] == ' ' || text[start] == '\t' || text[start] == '\r' ||
                           text[start] == '\n'))
      start++;
    while (len > start && (text[len - 1] == ' ' || text[len - 1] == '\t' ||
                           text[len - 1] == '\r' || text[len - 1] == '\n'))
      len--;
    unsigned char bin[KEY_FILE_MAX];
    size_t bin_len = 0;
    if (len == start) {
      rc = assay__err(ASSAY_ERR_CONFIG,
                      "secret key file %s is empty; expected %d random bytes as base64 text "
                      "(%d characters)",
                      path, SECRET_KEY_BYTES, (int)B64_LEN - 1);
    } else if (sodium_base642bin(bin, sizeof bin, text + start, len - start, NULL, &bin_len,
                                 NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
      rc = assay__err(ASSAY_ERR_CONFIG,
                      "secret key file %s is not base64 text; expected %d random bytes as "
                      "base64 (%d characters)",
                      path, SECRET_KEY_BYTES, (int)B64_LEN - 1);
    } else if (bin_len != SECRET_KEY_BYTES) {
      rc = assay__err(ASSAY_ERR_CONFIG,
                      "secret key file %s holds %zu bytes; expected a key of exactly %d "
                      "bytes (as base64 text)",
                      path, bin_len, SECRET_KEY_BYTES);
    } else {
      memcpy(key, bin, SECRET_KEY_BYTES);
    }
    sodium_memzero(bin, sizeof bin);
  }
  sodium_memzero(text, sizeof text);
  return rc;
}

/* Write `key` as base64 text and a newline to fd, and fsync it. 0 or an
 * errno value. */
static int write_key_text(int fd, const unsigned char *key) {
  char text[B64_LEN + 1];
  sodium_bin2base64(text, B64_LEN, key, SECRET_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
  size_t len = strlen(text);
  text[len++] = '\n';
  int e = 0;
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, text + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      e = n < 0 ? errno : EIO;
      break;
    }
    off += (size_t)n;
  }
  if (!e && fsync(fd) != 0) e = errno;
  sodium_memzero(text, sizeof text);
  return e;
}

/* Create the file `path` holding `key` (mode 0600, synced), exclusively:
 * O_EXCL|O_NOFOLLOW, so never over an existing file nor through a link.
 * ASSAY_ERR_CONFLICT when it exists; on failure nothing is left behind. */
static int write_new_key_file(const char *path, const unsigned char *key) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    int e = errno;
    if (e == EEXIST) return assay__err(ASSAY_ERR_CONFLICT, "%s exists already", path);
    return assay__err(ASSAY_ERR_CONFIG, "cannot create the secret key file %s: %s", path,
                      strerror(e));
  }
  int e = fchmod(fd, 0600) == 0 ? write_key_text(fd, key) : errno;
  if (close(fd) != 0 && !e) e = errno;
  if (e) {
    unlink(path);
    return assay__err(ASSAY_ERR_CONFIG, "cannot write the secret key file %s: %s", path,
                      strerror(e));
  }
  return ASSAY_OK;
}

/* A fresh private temporary file beside `path` holding `key`; *tmp
 * receives its name (the caller frees it, and unlinks the file unless it
 * renames or links it). */
static int write_temp_key(const char *path, const unsigned char *key, char **tmp) {
  unsigned char r[8];
  char hex[sizeof r * 2 + 1];
  randombytes_buf(r, sizeof r);
  sodium_bin2hex(hex, sizeof hex, r, sizeof r);
  if (asprintf(tmp, "%s.tmp-%s", path, hex) < 0) {
    *tmp = NULL;
    return assay__nomem();
  }
  int rc = write_new_key_file(*tmp, key);
  if (rc) {
    free(*tmp);
    *tmp = NULL;
  }
  return rc;
}

/* Write `key` to `path` atomically, replacing what is there. */
static int replace_key_file(const char *path, const unsigned char *key) {
  char *tmp = NULL;
  int rc = write_temp_key(path, key, &tmp);
  if (rc) return rc;
  if (rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    free(tmp);
    return assay__err(ASSAY_ERR_CONFIG, "cannot replace the secret key file %s: %s", path,
                      strerror(e));
  }
  free(tmp);
  sync_dir_of(path);
  return ASSAY_OK;
}

/* Create `path` holding `key` if it does not exist: the file appears
 * complete or not at all. ASSAY_ERR_CONFLICT when another process created
 * it first. */
static int create_key_file(const char *path, const unsigned char *key) {
  char *tmp = NULL;
  int rc = write_temp_key(path, key, &tmp);
  if (rc) return rc;
  if (link(tmp, path) == 0) {
    unlink(tmp);
    free(tmp);
    sync_dir_of(path);
    return ASSAY_OK;
  }
  int e = errno;
  unlink(tmp);
  free(tmp);
  if (e == EEXIST) return assay__err(ASSAY_ERR_CONFLICT, "%s was created meanwhile", path);
  if (e != EPERM && e != ENOTSUP && e != EOPNOTSUPP && e != ENOSYS && e != EMLINK)
    return assay__err(ASSAY_ERR_CONFIG, "cannot create the secret key file %s: %s", path,
                      strerror(e));
  /* No hard links on this file system: create in place, exclusively. */
  rc = write_new_key_file(path, key);
  if (rc == ASSAY_ERR_CONFLICT)
    return assay__err(ASSAY_ERR_CONFLICT, "%s was created meanwhile", path);
  if (!rc) sync_dir_of(path);
  return rc;
}

/* The id of the key in `path`; ASSAY_ERR_NOT_FOUND when there is none. */
static int key_file_id(const char *path, char id[SECRET_KEY_ID_LEN + 1]) {
  unsigned char *key = key_alloc();
  if (!key) return ASSAY_ERR_NOMEM;
  int rc = read_key_file(path, key);
  if (!rc) key_id_of(key, id);
  sodium_free(key);
  return rc;
}

/* --- the keyring ---------------------------------------------------------------- */

/* With k->lock held (or not yet shared): put `key` into slot i. */
static void slot_set(secret_keyring *k, int i, const unsigned char *key) {
  sodium_mprotect_readwrite(k->slot[i].key);
  memcpy(k->slot[i].key, key, SECRET_KEY_BYTES);
  sodium_mprotect_noaccess(k->slot[i].key);
  key_id_of(key, k->slot[i].id);
}

/* With k->lock held: the slot holding the key `id`, or -1. */
static int slot_find(const secret_keyring *k, const char *id) {
  for (int i = 0; i < SLOTS; i++)
    if (k->slot[i].id[0] && strcmp(k->slot[i].id, id) == 0) return i;
  return -1;
}

int keyring_open(secret_keyring **out, const char *home, const char *key_path) {
  if (key_path && !*key_path)
    return assay__err(ASSAY_ERR_CONFIG, "the secret key file path must not be empty");
  if (!key_path && (!home || !*home))
    return assay__err(ASSAY_ERR_CONFIG, "no secret key file: give a path or a home directory");
  secret_keyring *k = calloc(1, sizeof *k);
  if (!k) return assay__nomem();
  pthread_mutex_init(&k->lock, NULL);
  int rc = ASSAY_OK;
  if (key_path) k->path = strdup(key_path);
  else if (asprintf(&k->path, "%s/secret.key", home) < 0) k->path = NULL;
  if (!k->path || asprintf(&k->new_path, "%s.new", k->path) < 0) {
    k->new_path = NULL;
    rc = assay__nomem();
  }
  if (!rc && asprintf(&k->old_path, "%s.old", k->path) < 0) {
    k->old_path = NULL;
    rc = assay__nomem();
  }
  /* room for the longest name beside it: "<path>.tmp-" and 16 hex digits */
  if (!rc && strlen(k->path) + 32 >= PATH_MAX)
    rc = assay__err(ASSAY_ERR_CONFIG, "the secret key file path is too long: %s", k->path);
  for (int i = 0; !rc && i < SLOTS; i++)
    if (!(k->slot[i].key = key_alloc())) rc = ASSAY_ERR_NOMEM;
  unsigned char *key = rc ? NULL : key_alloc();
  if (!rc && !key) rc = ASSAY_ERR_NOMEM;
  if (!rc) {
    rc = read_key_file(k->path, key);
    if (rc == ASSAY_ERR_NOT_FOUND) {
      /* First start: a new random key. If another process creates the
       * file at the same moment, use theirs. */
      assay_error_clear();
      randombytes_buf(key, SECRET_KEY_BYTES);
      rc = create_key_file(k->path, key);
      if (rc == ASSAY_ERR_CONFLICT) {
        assay_error_clear();
        rc = read_key_file(k->path, key);
      }
    }
  }
  if (!rc) {
    k->cur = 0;
    slot_set(k, 0, key);
    sodium_mprotect_noaccess(k->slot[1].key);
  }
  if (key) sodium_free(key);
  if (rc) {
    keyring_free(k);
    return rc;
  }
  *out = k;
  return ASSAY_OK;
}

void keyring_free(secret_keyring *k) {
  if (!k) return;
  for (int i = 0; i < SLOTS; i++)
    if (k->slot[i].key) sodium_free(k->slot[i].key); /* wipes it */
  pthread_mutex_destroy(&k->lock);
  free(k->path);
  free(k->new_path);
  free(k->old_path);
  free(k);
}

const char *keyring_path(const secret_keyring *k) { return k ? k->path : NULL; }

void keyring_key_id(secret_keyring *k, char out[SECRET_KEY_ID_LEN + 1]) {
  pthread_mutex_lock(&k->lock);
  memcpy(out, k->slot[k->cur].id, SECRET_KEY_ID_LEN + 1);
  pthread_mutex_unlock(&k->lock);
}

/* With k->lock held: find the key `wanted` on disk — in the key file, in
 * "<path>.new" (a rotation that committed but has not replaced the key file
 * yet) or in "<path>.old" (the key a rotation replaced: an older view of
 * the store, or a database that lost the rotation's commit) — and load it
 * into the spare slot; *slot receives it. The current key stays current.
 * Only reads files. ASSAY_ERR_NOT_FOUND (no error recorded) when no file
 * holds it. A key file that cannot be read is its own error; an unusable
 * .new or .old is just not the key looked for. */
static int load_locked(secret_keyring *k, const char *wanted, int *slot) {
  unsigned char *key = key_alloc();
  if (!key) return ASSAY_ERR_NOMEM;
  const char *const files[] = {k->path, k->new_path, k->old_path};
  int rc = ASSAY_ERR_NOT_FOUND;
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    int frc = read_key_file(files[i], key);
    if (frc) {
      if (i == 0 && frc != ASSAY_ERR_NOT_FOUND) {
        rc = frc;
        break;
      }
      assay_error_clear();
      continue;
    }
    char id[SECRET_KEY_ID_LEN + 1];
    key_id_of(key, id);
    if (strcmp(id, wanted) == 0) {
      int spare = 1 - k->cur;
      slot_set(k, spare, key);
      *slot = spare;
      rc = ASSAY_OK;
      break;
    }
  }
  sodium_free(key);
  return rc;
}

static int mismatch(secret_keyring *k, const char *recorded) {
  char file_id[SECRET_KEY_ID_LEN + 1];
  int rc = key_file_id(k->path, file_id);
  if (rc && rc != ASSAY_ERR_NOT_FOUND) return rc;
  return assay__err(ASSAY_ERR_CONFIG,
                    "the secret key file %s (key %s) does not match the key this home's "
                    "secrets are sealed with (%s); use the key file that belongs to this home",
                    k->path, rc ? "missing" : file_id, recorded);
}

/* With the store's write lock and k->lock held, the current key being the
 * one the store records: make the files agree. When the key file holds the
 * current key, the last rotation is confirmed and "<path>.old" goes.
 * Otherwise (a rotation that committed but did not replace the key file, a
 * database that lost a rotation's commit, a key file changed meanwhile)
 * the key file's key is saved as "<path>.old" first, then the current key
 * is put in place and a "<path>.new" holding it removed. */
static int settle_files_locked(secret_keyring *k) {
  const key_slot *cur = &k->slot[k->cur];
  unsigned char *file_key = key_alloc();
  if (!file_key) return ASSAY_ERR_NOMEM;
  int rc = read_key_file(k->path, file_key);
  if (rc && rc != ASSAY_ERR_NOT_FOUND) {
    sodium_free(file_key);
    return rc;
  }
  int have_file = rc == ASSAY_OK;
  assay_error_clear();
  char file_id[SECRET_KEY_ID_LEN + 1] = "";
  if (have_file) key_id_of(file_key, file_id);
  if (have_file && strcmp(file_id, cur->id) == 0) {
    sodium_free(file_key);
    remove_file(k->old_path);
    return ASSAY_OK;
  }
  rc = have_file ? replace_key_file(k->old_path, file_key) : ASSAY_OK;
  sodium_free(file_key);
  if (!rc) {
    sodium_mprotect_readonly(cur->key);
    rc = replace_key_file(k->path, cur->key);
    sodium_mprotect_noaccess(cur->key);
  }
  if (!rc) {
    char id[SECRET_KEY_ID_LEN + 1];
    if (key_file_id(k->new_path, id) == ASSAY_OK && strcmp(id, cur->id) == 0)
      remove_file(k->new_path);
    assay_error_clear();
  }
  return rc;
}

int keyring_sync(secret_keyring *k, store *s, int in_write_tx) {
  char *recorded = NULL;
  int rc = s->ops->meta_get(s, META_KEY_ID, &recorded);
  if (rc == ASSAY_ERR_NOT_FOUND) {
    assay_error_clear();
    if (!in_write_tx) return ASSAY_OK; /* nothing sealed yet; a writer records the key */
    char ours[SECRET_KEY_ID_LEN + 1];
    keyring_key_id(k, ours);
    return s->ops->meta_set(s, META_KEY_ID, ours);
  }
  if (rc) return rc;
  pthread_mutex_lock(&k->lock);
  int i = slot_find(k, recorded);
  if (i < 0) rc = load_locked(k, recorded, &i);
  if (!rc && in_write_tx) {
    /* Under the write lock the recorded id is the latest: it is current. */
    k->cur = i;
    rc = settle_files_locked(k);
  }
  pthread_mutex_unlock(&k->lock);
  if (rc == ASSAY_ERR_NOT_FOUND) rc = mismatch(k, recorded);
  free(recorded);
  return rc;
}

/* --- sealing ----------------------------------------------------------------------- */

/* The associated data binding a value to its identity. */
static int build_ad(const char *integration_id, const char *variable, const char *user_id,
                    unsigned char **ad, size_t *ad_len) {
  size_t a = strlen(integration_id), b = strlen(variable), c = strlen(user_id);
  size_t n = sizeof AD_PREFIX + a + 1 + b + 1 + c; /* sizeof counts the prefix's NUL */
  unsigned char *p = malloc(n);
  if (!p) return assay__nomem();
  size_t off = 0;
  memcpy(p + off, AD_PREFIX, sizeof AD_PREFIX);
  off += sizeof AD_PREFIX;
  memcpy(p + off, integration_id, a + 1);
  off += a + 1;
  memcpy(p + off, variable, b + 1);
  off += b + 1;
  memcpy(p + off, user_id, c);
  *ad = p;
  *ad_len = n;
  return ASSAY_OK;
}

static const char *member_note(const char *user_id) {
  return user_id && *user_id ? " (a member's value)" : "";
}

static int seal_with(const unsigned char *key, const char *key_id, const char *integration_id,
                     const char *variable, const char *user_id, const char *value, size_t len,
                     secret_row *row) {
  unsigned char *ad = NULL;
  size_t ad_len = 0;
  int rc = build_ad(integration_id, variable, user_id, &ad, &ad_len);
  if (rc) return rc;
  size_t sealed_len = NONCE_BYTES + len + TAG_BYTES;
  unsigned char *sealed = malloc(sealed_len);
  if (!sealed) {
    free(ad);
    return assay__nomem();
  }
  randombytes_buf(sealed, NONCE_BYTES);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(sealed + NONCE_BYTES, &clen,
                                             (const unsigned char *)value, len, ad, ad_len,
                                             NULL, sealed, key);
  free(ad);
  memset(row, 0, sizeof *row);
  snprintf(row->integration_id, sizeof row->integration_id, "%s", integration_id);
  snprintf(row->name, sizeof row->name, "%s", variable);
  snprintf(row->user_id, sizeof row->user_id, "%s", user_id);
  snprintf(row->key_id, sizeof row->key_id, "%s", key_id);
  row->sealed = sealed;
  row->sealed_len = NONCE_BYTES + (size_t)clen;
  return ASSAY_OK;
}

static int check_identity(const char *integration_id, const char *variable,
                          const char *user_id) {
  secret_row r;
  if (!integration_id || !*integration_id || strlen(integration_id) >= sizeof r.integration_id)
    return assay__err(ASSAY_ERR_CONFIG,
                      "a secret needs an integration id of 1 to %zu characters",
                      sizeof r.integration_id - 1);
  if (!variable || !*variable || strlen(variable) >= sizeof r.name)
    return assay__err(ASSAY_ERR_CONFIG, "a secret needs a variable name of 1 to %zu bytes",
                      sizeof r.name - 1);
  if (strlen(user_id) >= sizeof r.user_id)
    return assay__err(ASSAY_ERR_CONFIG, "a member secret needs a user id of at most %zu "
                      "characters", sizeof r.user_id - 1);
  return ASSAY_OK;
}

int secret_seal(secret_keyring *k, const char *integration_id, const char *variable,
                const char *user_id, const char *value, size_t len, secret_row *row) {
  if (!user_id) user_id = "";
  int rc = check_identity(integration_id, variable, user_id);
  if (rc) return rc;
  if (len > SECRET_VALUE_MAX)
    return assay__err(ASSAY_ERR_CONFIG,
                      "the value of variable '%s' is %zu bytes; a secret value holds at most "
                      "%d bytes",
                      variable, len, SECRET_VALUE_MAX);
  if (!value && len) return assay__err(ASSAY_ERR_CONFIG, "secret_seal: no value");
  pthread_mutex_lock(&k->lock);
  const key_slot *cur = &k->slot[k->cur];
  sodium_mprotect_readonly(cur->key);
  rc = seal_with(cur->key, cur->id, integration_id, variable, user_id, value ? value : "", len,
                 row);
  sodium_mprotect_noaccess(cur->key);
  pthread_mutex_unlock(&k->lock);
  return rc;
}

/* Plain text handed out: [size_t capacity][bytes...][NUL] in guarded memory. */
static char *plain_alloc(size_t len) {
  size_t cap = sizeof(size_t) + len + 1;
  unsigned char *p = sodium_malloc(cap);
  if (!p) return NULL;
  memcpy(p, &cap, sizeof cap);
  return (char *)(p + sizeof(size_t));
}

void secret_free(char *plain) {
  if (!plain) return;
  unsigned char *p = (unsigned char *)plain - sizeof(size_t);
  size_t cap;
  memcpy(&cap, p, sizeof cap);
  sodium_memzero(p, cap);
  sodium_free(p);
}

static int open_with(const unsigned char *key, const secret_row *row, char **out, size_t *len) {
  size_t mlen = row->sealed_len - NONCE_BYTES - TAG_BYTES;
  unsigned char *ad = NULL;
  size_t ad_len = 0;
  int rc = build_ad(row->integration_id, row->name, row->user_id, &ad, &ad_len);
  if (rc) return rc;
  char *plain = plain_alloc(mlen);
  if (!plain) {
    free(ad);
    return assay__nomem();
  }
  unsigned long long plen = 0;
  int bad = crypto_aead_xchacha20poly1305_ietf_decrypt(
      (unsigned char *)plain, &plen, NULL, row->sealed + NONCE_BYTES,
      row->sealed_len - NONCE_BYTES, ad, ad_len, row->sealed, key);
  free(ad);
  if (bad) {
    secret_free(plain);
    return assay__err(ASSAY_ERR_STORE,
                      "the stored value of variable '%s' of integration %s%s does not open: "
                      "it was altered or does not belong to this variable",
                      row->name, row->integration_id, member_note(row->user_id));
  }
  plain[plen] = '\0';
  *out = plain;
  if (len) *len = (size_t)plen;
  return ASSAY_OK;
}

int secret_open(secret_keyring *k, const secret_row *row, char **out, size_t *len) {
  if (!row->sealed || row->sealed_len < NONCE_BYTES + TAG_BYTES)
    return assay__err(ASSAY_ERR_STORE,
                      "the stored value of variable '%s' of integration %s%s is damaged (%zu "
                      "bytes, shorter than any sealed value)",
                      row->name, row->integration_id, member_note(row->user_id),
                      row->sealed_len);
  pthread_mutex_lock(&k->lock);
  int i = slot_find(k, row->key_id);
  if (i < 0) {
    /* Another process may have rotated the key: look at the key files once
     * (the current key stays current). */
    int rc = load_locked(k, row->key_id, &i);
    if (rc) {
      char ours[SECRET_KEY_ID_LEN + 1];
      memcpy(ours, k->slot[k->cur].id, sizeof ours);
      pthread_mutex_unlock(&k->lock);
      if (rc != ASSAY_ERR_NOT_FOUND) return rc;
      return assay__err(ASSAY_ERR_CONFIG,
                        "the stored value of variable '%s' of integration %s%s is sealed "
                        "under key %s, but the secret key file %s holds key %s; use the key "
                        "file that belongs to this home",
                        row->name, row->integration_id, member_note(row->user_id), row->key_id,
                        k->path, ours);
    }
  }
  sodium_mprotect_readonly(k->slot[i].key);
  int rc = open_with(k->slot[i].key, row, out, len);
  sodium_mprotect_noaccess(k->slot[i].key);
  pthread_mutex_unlock(&k->lock);
  return rc;
}

/* --- rotation ---------------------------------------------------------------------- */

/* Inside the write transaction: re-seal every row under `nkey`. */
static int reseal_all(secret_keyring *k, store *s, const unsigned char *nkey,
                      const char *nid, size_t *count) {
  secret_row *rows = NULL;
  size_t n = 0;
  int rc = s->ops->secret_all(s, &rows, &n);
  if (rc) return rc;
  /* The new id first: the store refuses rows sealed under another key. */
  rc = s->ops->meta_set(s, META_KEY_ID, nid);
  int64_t now = assay__now();
  for (size_t i = 0; !rc && i < n; i++) {
    char *plain = NULL;
    size_t len = 0;
    rc = secret_open(k, &rows[i], &plain, &len);
    if (rc) break;
    secret_row nrow;
    rc = seal_with(nkey, nid, rows[i].integration_id, rows[i].name, rows[i].user_id, plain, len,
                   &nrow);
    secret_free(plain);
    if (rc) break;
    rc = s->ops->secret_put(s, &nrow, now);
    free(nrow.sealed);
  }
  secret_rows_free(rows, n);
  if (!rc) *count = n;
  return rc;
}

int keyring_rotate(secret_keyring *k, store *s, size_t *resealed,
                   char new_key_id[SECRET_KEY_ID_LEN + 1]) {
  unsigned char *nkey = key_alloc();
  if (!nkey) return ASSAY_ERR_NOMEM;
  randombytes_buf(nkey, SECRET_KEY_BYTES);
  char nid[SECRET_KEY_ID_LEN + 1];
  key_id_of(nkey, nid);
  size_t count = 0;
  int wrote_new = 0, committing = 0;

  /* Waits for the write lock: one rotation at a time. The sync makes the
   * current key the recorded one and puts it in the key file. */
  int rc = s->ops->begin(s, 1);
  if (!rc) rc = keyring_sync(k, s, 1);
  if (!rc && unlink(k->new_path) != 0 && errno != ENOENT)
    /* a "<path>.new" now is left from a rotation that never committed */
    rc = assay__err(ASSAY_ERR_CONFIG, "cannot remove the leftover secret key file %s: %s",
                    k->new_path, strerror(errno));
  if (!rc) {
    rc = write_new_key_file(k->new_path, nkey);
    wrote_new = rc == ASSAY_OK;
    if (wrote_new) sync_dir_of(k->new_path);
  }
  if (!rc) rc = reseal_all(k, s, nkey, nid, &count);
  if (!rc) {
    committing = 1;
    rc = s->ops->commit(s);
  }
  if (rc) {
    /* Not committed: the old key stays. (A failed COMMIT keeps "<path>.new":
     * should the commit have reached the disk after all, the next sync
     * finds the key there; otherwise the next rotation removes it.) */
    if (wrote_new && !committing) remove_file(k->new_path);
    s->ops->rollback(s);
    sodium_free(nkey);
    return rc;
  }
  /* Committed: the store's secrets are sealed under the new key now. It
   * becomes current; the previous key stays in the other slot. */
  pthread_mutex_lock(&k->lock);
  int spare = 1 - k->cur;
  slot_set(k, spare, nkey);
  k->cur = spare;
  pthread_mutex_unlock(&k->lock);
  sodium_free(nkey);

  /* Under the write lock again, the store re-read: the key file's key is
   * kept as "<path>.old", the new key goes into the key file and
   * "<path>.new" is removed. */
  rc = s->ops->begin(s, 1);
  if (!rc) rc = keyring_sync(k, s, 1);
  if (!rc) rc = s->ops->commit(s);
  if (rc) s->ops->rollback(s);
  char why[512] = "";
  if (rc) {
    const assay_error *e = assay_error_last();
    snprintf(why, sizeof why, "%s", e && e->message ? e->message : "unknown error");
  }
  /* Best effort: the retired key's ciphertexts out of the WAL and the free
   * pages. */
  if (s->ops->compact(s) != ASSAY_OK) assay_error_clear();
  if (rc)
    return assay__err(ASSAY_ERR_STORE,
                      "the key rotation committed: the secrets are re-sealed under key %s, "
                      "but the secret key file %s could not be replaced yet (%s); the new key "
                      "is kept in %s and the rotation will be finished at the next start",
                      nid, k->path, why, k->new_path);
  if (resealed) *resealed = count;
  if (new_key_id) memcpy(new_key_id, nid, SECRET_KEY_ID_LEN + 1);
  return ASSAY_OK;
}
