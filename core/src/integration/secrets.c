/* integration/secrets.c — the master key files, sealing and opening secret
 * values (XChaCha20-Poly1305 with the value's identity as associated data),
 * following a key another process rotated, and key rotation.
 *
 * Three files: "<path>" holds the key the store's platform_meta
 * "secret_key_id" names; "<path>.new" the key of a rotation in progress
 * (written before its commit, moved into place after it); "<path>.old" the
 * key a rotation replaced, kept until a later sync under the write lock
 * confirms the store still names the current key (a database that lost its
 * last commit in a crash needs it back). Each file holds the key as base64
 * text on its first line and a line "home <id>" binding it to one home
 * (platform_meta "home_id"): a key file of another home is refused, so two
 * homes never share one (a rotation in one would retire the other's key). A
 * file without that line (older versions) is accepted and bound at the next
 * sync under the write lock.
 *
 * Key files are only created, replaced or removed while the store's write
 * lock is held and after reading the recorded key id under that lock
 * (keyring_sync with in_write_tx, keyring_rotate): a process holding an
 * older view of the store must never put an older key over a newer one.
 * And no key file is removed, nor a key taken back from .new or .old, while
 * some stored value is sealed under another key than the recorded one (a
 * database altered or restored in part): that key could be the one lost. In
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
#include <dirent.h>
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
#define META_HOME_ID "home_id"
#define HOME_ID_LEN 36      /* a UUID */
#define HOME_LINE "home "   /* the key file's second line: "home <id>" */
#define B64_LEN sodium_base64_ENCODED_LEN(SECRET_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL)
#define KEY_FILE_MAX 4096 /* a key file is under 90 bytes; anything this long is not one */
#define SLOTS 2           /* the current key and one other */
#define TMP_HEX 16        /* hex digits of a temporary file's random suffix */

typedef struct key_slot {
  unsigned char *key;              /* SECRET_KEY_BYTES, sodium_malloc'd, no access when idle */
  char id[SECRET_KEY_ID_LEN + 1];  /* "" while the slot is empty */
} key_slot;

struct secret_keyring {
  pthread_mutex_t lock;
  char *path;
  char *new_path;  /* "<path>.new" */
  char *old_path;  /* "<path>.old" */
  char home_id[HOME_ID_LEN + 1]; /* the home's id, once a sync read it; "" before */
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

/* A home id as this code writes them: 36 characters of hex digits and '-'. */
static int home_id_valid(const char *id, size_t len) {
  if (len != HOME_ID_LEN) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
          c == '-'))
      return 0;
  }
  return 1;
}

/* --- key files ---------------------------------------------------------------- */

/* A directory fsync that the file system does not support: no failure. */
static int dir_sync_unsupported(int e) {
#if defined(EOPNOTSUPP) && EOPNOTSUPP != ENOTSUP
  if (e == EOPNOTSUPP) return 1;
#endif
  return e == EINVAL || e == ENOTSUP;
}

/* fsync the directory holding `path`, so a created, renamed or removed key
 * file stays that way after a crash. 0, or the errno of the failure (a file
 * system that cannot sync a directory at all, EINVAL or ENOTSUP, is no
 * failure). */
static int sync_dir_of(const char *path) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == path) snprintf(dir, sizeof dir, "/");
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int e = fsync(fd) == 0 ? 0 : errno;
  close(fd);
  return e && !dir_sync_unsupported(e) ? e : 0;
}

/* Remove `path` if it is there and make that durable. 0 or an errno value. */
static int remove_file(const char *path) {
  if (unlink(path) != 0) return errno == ENOENT ? 0 : errno;
  return sync_dir_of(path);
}

/* An I/O failure on a key file: the disk, its permissions — never the
 * caller's request. */
static int file_failed(const char *what, const char *path, int e) {
  return assay__err(ASSAY_ERR_STORE, "cannot %s %s: %s", what, path, strerror(e));
}

static int foreign_home(const char *path, const char *home) {
  return assay__err(ASSAY_ERR_CONFIG,
                    "the secret key file %s belongs to another assay home (%s); give each "
                    "home its own key file",
                    path, home);
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* Parse a key file's text: the key as base64 on the first line, then at
 * most a line "home <id>" (into home, "" when absent). */
static int parse_key_text(const char *path, const char *text, size_t len, unsigned char *key,
                          char home[HOME_ID_LEN + 1]) {
  size_t i = 0;
  while (i < len && is_blank(text[i])) i++;
  size_t start = i;
  while (i < len && text[i] != '\n') i++;
  size_t end = i;
  while (end > start && is_blank(text[end - 1])) end--;
  if (home) home[0] = '\0';
  if (end == start)
    return assay__err(ASSAY_ERR_CONFIG,
                      "secret key file %s is empty; expected %d random bytes as base64 text "
                      "(%d characters)",
                      path, SECRET_KEY_BYTES, (int)B64_LEN - 1);
  int seen_home = 0;
  while (i < len) {
    while (i < len && is_blank(text[i])) i++;
    size_t ls = i;
    while (i < len && text[i] != '\n') i++;
    size_t le = i;
    while (le > ls && is_blank(text[le - 1])) le--;
    if (le == ls) continue;
    size_t pl = sizeof HOME_LINE - 1;
    if (seen_home || le - ls <= pl || memcmp(text + ls, HOME_LINE, pl) != 0 ||
        !home_id_valid(text + ls + pl, le - ls - pl))
      return assay__err(ASSAY_ERR_CONFIG,
                        "secret key file %s holds an unexpected line; expected the key as "
                        "base64 text on its first line and at most a line 'home <id>' naming "
                        "the assay home it belongs to",
                        path);
    seen_home = 1;
    if (home) {
      memcpy(home, text + ls + pl, HOME_ID_LEN);
      home[HOME_ID_LEN] = '\0';
    }
  }
  unsigned char bin[KEY_FILE_MAX];
  size_t bin_len = 0;
  int rc = ASSAY_OK;
  if (sodium_base642bin(bin, sizeof bin, text + start, end - start, NULL, &bin_len, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0) {
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
  return rc;
}

/* Read and check the key file at `path` into key (SECRET_KEY_BYTES) and,
 * when home is not NULL, the home it is bound to ("" when none).
 * ASSAY_ERR_NOT_FOUND when it does not exist. The file itself is opened,
 * never a symbolic link in its place, and a FIFO or device there cannot
 * block the open (O_NONBLOCK); it must be a regular file owned by the
 * effective user and private to it. */
static int read_key_file(const char *path, unsigned char *key, char home[HOME_ID_LEN + 1]) {
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
  if (!rc) rc = parse_key_text(path, text, len, key, home);
  sodium_memzero(text, sizeof text);
  return rc;
}

/* Write `key` as base64 text and a newline, then "home <id>" and a newline
 * when home is not empty, to fd, and fsync it. 0 or an errno value. */
static int write_key_text(int fd, const unsigned char *key, const char *home) {
  char text[B64_LEN + sizeof HOME_LINE + HOME_ID_LEN + 2];
  sodium_bin2base64(text, B64_LEN, key, SECRET_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
  size_t len = strlen(text);
  text[len++] = '\n';
  if (home && *home) len += (size_t)snprintf(text + len, sizeof text - len, HOME_LINE "%s\n", home);
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

/* Create the file `path` holding `key` (and home's line), mode 0600,
 * synced, exclusively: O_EXCL|O_NOFOLLOW, so never over an existing file
 * nor through a link. 0 or an errno value (EEXIST when something is
 * there); on failure nothing is left behind. The directory is not synced. */
static int create_excl(const char *path, const unsigned char *key, const char *home) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) return errno;
  int e = fchmod(fd, 0600) == 0 ? write_key_text(fd, key, home) : errno;
  if (close(fd) != 0 && !e) e = errno;
  if (e) unlink(path);
  return e;
}

/* A fresh private temporary file "<path>.tmp-<random hex>" holding `key`;
 * *tmp receives its name (the caller frees it, and unlinks the file unless
 * it renames or links it). 0 or an errno value. A crash can leave one
 * behind: the next sync under the write lock removes it. */
static int create_temp(const char *path, const unsigned char *key, const char *home,
                       char **tmp) {
  unsigned char r[TMP_HEX / 2];
  char hex[TMP_HEX + 1];
  randombytes_buf(r, sizeof r);
  sodium_bin2hex(hex, sizeof hex, r, sizeof r);
  if (asprintf(tmp, "%s.tmp-%s", path, hex) < 0) {
    *tmp = NULL;
    return ENOMEM;
  }
  int e = create_excl(*tmp, key, home);
  if (e) {
    free(*tmp);
    *tmp = NULL;
  }
  return e;
}

/* Write `key` to `path` atomically, replacing what is there, and make it
 * durable. 0 or an errno value. */
static int replace_file(const char *path, const unsigned char *key, const char *home) {
  char *tmp = NULL;
  int e = create_temp(path, key, home, &tmp);
  if (e) return e;
  if (rename(tmp, path) != 0) {
    e = errno;
    unlink(tmp);
    free(tmp);
    return e;
  }
  free(tmp);
  return sync_dir_of(path);
}

/* Create `path` holding `key` if it does not exist (first start, without
 * the write lock): the file appears complete or not at all.
 * ASSAY_ERR_CONFLICT when another process created it first (or removed our
 * temporary file: look again). Other failures are ASSAY_ERR_CONFIG (a key
 * file path that does not work). */
static int create_key_file(const char *path, const unsigned char *key) {
  char *tmp = NULL;
  int e = create_temp(path, key, NULL, &tmp);
  if (e) {
    if (e == ENOMEM) return assay__nomem();
    return assay__err(ASSAY_ERR_CONFIG, "cannot create the secret key file %s: %s", path,
                      strerror(e));
  }
  if (link(tmp, path) == 0) {
    unlink(tmp);
    free(tmp);
    e = sync_dir_of(path);
    if (e)
      return assay__err(ASSAY_ERR_CONFIG, "cannot make the new secret key file %s durable: %s",
                        path, strerror(e));
    return ASSAY_OK;
  }
  e = errno;
  unlink(tmp);
  free(tmp);
  /* ENOENT: a sync under the write lock took the temporary file for a
   * leftover, so another process is using the home: look again */
  if (e == EEXIST || e == ENOENT)
    return assay__err(ASSAY_ERR_CONFLICT, "%s was created meanwhile", path);
  if (e != EPERM && e != ENOTSUP && e != EOPNOTSUPP && e != ENOSYS && e != EMLINK)
    return assay__err(ASSAY_ERR_CONFIG, "cannot create the secret key file %s: %s", path,
                      strerror(e));
  /* No hard links on this file system: create in place, exclusively. */
  e = create_excl(path, key, NULL);
  if (e == EEXIST) return assay__err(ASSAY_ERR_CONFLICT, "%s was created meanwhile", path);
  if (!e) e = sync_dir_of(path);
  if (e)
    return assay__err(ASSAY_ERR_CONFIG, "cannot create the secret key file %s: %s", path,
                      strerror(e));
  return ASSAY_OK;
}

/* Under the write lock: remove leftovers of crashed writes beside the key
 * file, "<path>.tmp-<hex>" and "<path>.old.tmp-<hex>" (copies of keys).
 * Best effort. */
static void sweep_temp_files(const char *path) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == path) snprintf(dir, sizeof dir, "/");
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  DIR *d = opendir(dir);
  if (!d) return;
  size_t bl = strlen(base);
  int removed = 0;
  struct dirent *ent;
  while ((ent = readdir(d)) != NULL) {
    const char *name = ent->d_name;
    if (strncmp(name, base, bl) != 0) continue;
    const char *rest = name + bl;
    if (strncmp(rest, ".tmp-", 5) == 0) rest += 5;
    else if (strncmp(rest, ".old.tmp-", 9) == 0) rest += 9;
    else continue;
    if (strlen(rest) != TMP_HEX || strspn(rest, "0123456789abcdef") != TMP_HEX) continue;
    if (unlinkat(dirfd(d), name, 0) == 0) removed = 1;
  }
  closedir(d);
  if (removed) (void)sync_dir_of(path);
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
  /* room for the longest name beside it: "<path>.old.tmp-" and 16 hex digits */
  if (!rc && strlen(k->path) + 32 >= PATH_MAX)
    rc = assay__err(ASSAY_ERR_CONFIG, "the secret key file path is too long: %s", k->path);
  for (int i = 0; !rc && i < SLOTS; i++)
    if (!(k->slot[i].key = key_alloc())) rc = ASSAY_ERR_NOMEM;
  unsigned char *key = rc ? NULL : key_alloc();
  if (!rc && !key) rc = ASSAY_ERR_NOMEM;
  for (int attempt = 0; !rc; attempt++) {
    rc = read_key_file(k->path, key, NULL);
    if (rc != ASSAY_ERR_NOT_FOUND || attempt == 4) break;
    /* First start: a new random key. If another process creates the
     * file at the same moment, use theirs. */
    assay_error_clear();
    randombytes_buf(key, SECRET_KEY_BYTES);
    rc = create_key_file(k->path, key);
    if (rc != ASSAY_ERR_CONFLICT) break;
    assay_error_clear();
    rc = ASSAY_OK;
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

/* The key ids a search of the key files met: [0] "<path>", [1] "<path>.new",
 * [2] "<path>.old"; "" for a file that is missing or unusable. */
typedef struct seen_keys {
  char id[3][SECRET_KEY_ID_LEN + 1];
} seen_keys;

/* With k->lock held: find the key `wanted` on disk — in "<path>.new" (a
 * rotation that committed but has not replaced the key file yet), in the
 * key file, or in "<path>.old" (the key a rotation replaced: an older view
 * of the store, or a database that lost the rotation's commit) — and load
 * it into the spare slot; *slot receives it. In this order, and twice over
 * if need be, so that a rotation finishing meanwhile (the new key appears
 * in the key file before .new goes; the old key is in .old before the key
 * file is replaced) cannot hide a key. The current key stays current. Only
 * reads files. ASSAY_ERR_NOT_FOUND (no error recorded) when no file holds
 * it; `seen` (may be NULL) tells what the last search found. A key file
 * that cannot be read is its own error; an unusable .new or .old is just
 * not the key looked for; the key found in a file bound to another home is
 * refused (ASSAY_ERR_CONFIG). */
static int load_locked(secret_keyring *k, const char *wanted, int *slot, seen_keys *seen) {
  unsigned char *key = key_alloc();
  if (!key) return ASSAY_ERR_NOMEM;
  const char *const files[] = {k->new_path, k->path, k->old_path};
  const int which[] = {1, 0, 2};
  seen_keys local;
  if (!seen) seen = &local;
  int rc = ASSAY_ERR_NOT_FOUND;
  for (int pass = 0; pass < 2 && rc == ASSAY_ERR_NOT_FOUND; pass++) {
    memset(seen, 0, sizeof *seen);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
      char home[HOME_ID_LEN + 1];
      int frc = read_key_file(files[i], key, home);
      if (frc) {
        if (files[i] == k->path && frc != ASSAY_ERR_NOT_FOUND) {
          rc = frc;
          break;
        }
        assay_error_clear();
        continue;
      }
      char *id = seen->id[which[i]];
      key_id_of(key, id);
      if (strcmp(id, wanted) == 0) {
        if (k->home_id[0] && home[0] && strcmp(home, k->home_id) != 0) {
          rc = foreign_home(files[i], home);
          break;
        }
        int spare = 1 - k->cur;
        slot_set(k, spare, key);
        *slot = spare;
        rc = ASSAY_OK;
        break;
      }
    }
  }
  sodium_free(key);
  return rc;
}

/* " (.new: key X; .old: key Y)"-style note of what the files beside the key
 * file held, into buf. */
static void seen_note(const secret_keyring *k, const seen_keys *seen, char *buf, size_t size) {
  buf[0] = '\0';
  size_t n = 0;
  if (seen->id[1][0])
    n += (size_t)snprintf(buf + n, size - n, "; %s holds key %s", k->new_path, seen->id[1]);
  if (seen->id[2][0] && n < size)
    snprintf(buf + n, size - n, "; %s holds key %s", k->old_path, seen->id[2]);
}

static int mismatch(secret_keyring *k, const char *recorded, const seen_keys *seen) {
  char note[2 * PATH_MAX + 96];
  seen_note(k, seen, note, sizeof note);
  return assay__err(ASSAY_ERR_CONFIG,
                    "the secret key file %s (key %s%s) does not match the key this home's "
                    "secrets are sealed with (%s); use the key file that belongs to this home",
                    k->path, seen->id[0][0] ? seen->id[0] : "missing", note, recorded);
}

/* Refuse to move or remove key files while some stored value is sealed
 * under another key than the recorded one: the database does not belong
 * with these files (altered, or restored in part), and the key such values
 * need might be the one a file operation would lose. */
static int rows_under(store *s, const char *recorded) {
  char other[SECRET_KEY_ID_LEN + 1];
  int rc = s->ops->secret_other_key(s, recorded, other);
  if (rc || !other[0]) return rc;
  return assay__err(ASSAY_ERR_CONFIG,
                    "this home's database records its secrets as sealed with key %s, but some "
                    "stored values are sealed with key %s: the database does not match its "
                    "key files (altered, or restored without them?); no key file was changed. "
                    "Restore the database together with the key files it was written with",
                    recorded, other);
}

/* What the key files hold, read under the write lock before any change. */
typedef struct file_view {
  char id[SECRET_KEY_ID_LEN + 1];  /* "" when missing or unusable */
  char home[HOME_ID_LEN + 1];      /* the home it is bound to; "" when none */
  int present;                     /* something (a file, a link) is at the path */
} file_view;

typedef struct files_view {
  file_view key, nw, old;
} files_view;

/* Read one file for files_view: an unusable file is not an error. */
static void view_file(const char *path, unsigned char *buf, file_view *v) {
  memset(v, 0, sizeof *v);
  struct stat st;
  v->present = lstat(path, &st) == 0 && (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode));
  if (read_key_file(path, buf, v->home) == ASSAY_OK) key_id_of(buf, v->id);
  else v->home[0] = '\0';
  assay_error_clear();
}

/* Under the write lock: what the three files hold. The key file's own
 * problems (mode, owner, a link, its text) are errors; so is any of them
 * bound to another home than k's. */
static int view_files(secret_keyring *k, const char *home, files_view *v) {
  unsigned char *buf = key_alloc();
  if (!buf) return ASSAY_ERR_NOMEM;
  memset(&v->key, 0, sizeof v->key);
  int rc = read_key_file(k->path, buf, v->key.home);
  if (rc == ASSAY_OK) {
    key_id_of(buf, v->key.id);
    v->key.present = 1;
  } else if (rc == ASSAY_ERR_NOT_FOUND) {
    assay_error_clear();
    rc = ASSAY_OK;
  }
  if (!rc) {
    view_file(k->new_path, buf, &v->nw);
    view_file(k->old_path, buf, &v->old);
  }
  sodium_free(buf);
  const struct {
    const char *path;
    const file_view *f;
  } all[] = {{k->path, &v->key}, {k->new_path, &v->nw}, {k->old_path, &v->old}};
  for (size_t i = 0; !rc && i < 3; i++)
    if (home[0] && all[i].f->home[0] && strcmp(all[i].f->home, home) != 0)
      rc = foreign_home(all[i].path, all[i].f->home);
  return rc;
}

/* Whether making the files agree with the store (settle_files_locked) would
 * take a key from .new or .old, or remove one of them. */
static int settle_moves_keys(const files_view *v, const char *recorded) {
  if (strcmp(v->key.id, recorded) != 0) return 1; /* the recorded key goes into the key file */
  return v->old.present || (v->nw.id[0] && strcmp(v->nw.id, v->key.id) == 0);
}

/* With the store's write lock and k->lock held, the current key being the
 * one the store records, and `v` what the files held: make the files agree.
 * When the key file holds the current key, it is bound to the home if it is
 * not yet, the last rotation is confirmed and "<path>.old" goes, and so does
 * a "<path>.new" holding the same key. Otherwise (a rotation that committed
 * but did not replace the key file, a database that lost a rotation's
 * commit, a key file changed meanwhile) the key file's key is saved as
 * "<path>.old" first, then the current key is put in place and a
 * "<path>.new" holding it removed. Then temporary files that crashes left
 * are removed. Failures are ASSAY_ERR_STORE. */
static int settle_files_locked(secret_keyring *k, const files_view *v) {
  const key_slot *cur = &k->slot[k->cur];
  const char *home = k->home_id;
  int rc = ASSAY_OK, e = 0;
  if (v->key.id[0] && strcmp(v->key.id, cur->id) == 0) {
    if (!v->key.home[0] && home[0]) {
      /* bind it: the key file gets its "home" line */
      sodium_mprotect_readonly(cur->key);
      e = replace_file(k->path, cur->key, home);
      sodium_mprotect_noaccess(cur->key);
      /* a key file where nothing can be written stays unbound: nothing
       * here can rotate it away either */
      if (e && e != EROFS && e != EACCES && e != EPERM)
        rc = file_failed("add the home line to the secret key file", k->path, e);
    }
    if (!rc && v->old.present && (e = remove_file(k->old_path)) != 0)
      rc = file_failed("remove the secret key file", k->old_path, e);
    if (!rc && v->nw.id[0] && strcmp(v->nw.id, cur->id) == 0 &&
        (e = remove_file(k->new_path)) != 0)
      rc = file_failed("remove the secret key file", k->new_path, e);
  } else {
    if (v->key.id[0]) {
      unsigned char *file_key = key_alloc();
      if (!file_key) return ASSAY_ERR_NOMEM;
      rc = read_key_file(k->path, file_key, NULL);
      if (!rc && (e = replace_file(k->old_path, file_key, home)) != 0)
        rc = file_failed("keep the previous key in the secret key file", k->old_path, e);
      sodium_free(file_key);
    }
    if (!rc) {
      sodium_mprotect_readonly(cur->key);
      e = replace_file(k->path, cur->key, home);
      sodium_mprotect_noaccess(cur->key);
      if (e) rc = file_failed("replace the secret key file", k->path, e);
    }
    if (!rc && v->nw.id[0] && strcmp(v->nw.id, cur->id) == 0 &&
        (e = remove_file(k->new_path)) != 0)
      rc = file_failed("remove the secret key file", k->new_path, e);
  }
  if (!rc) sweep_temp_files(k->path);
  return rc;
}

/* The home's id into k->home_id: read it, or under the write lock record a
 * new one when the home has none yet. */
static int home_id_sync(secret_keyring *k, store *s, int in_write_tx) {
  char *id = NULL;
  int rc = s->ops->meta_get(s, META_HOME_ID, &id);
  if (rc == ASSAY_ERR_NOT_FOUND) {
    assay_error_clear();
    if (!in_write_tx) return ASSAY_OK; /* a writer gives the home its id */
    char fresh[37];
    assay__uuid(fresh);
    rc = s->ops->meta_set(s, META_HOME_ID, fresh);
    if (rc) return rc;
    id = strdup(fresh);
    if (!id) return assay__nomem();
  } else if (rc) {
    return rc;
  }
  if (!home_id_valid(id, strlen(id))) {
    rc = assay__err(ASSAY_ERR_STORE,
                    "this home's id in its database (platform_meta home_id) is damaged; "
                    "expected a UUID");
  } else {
    pthread_mutex_lock(&k->lock);
    memcpy(k->home_id, id, HOME_ID_LEN + 1);
    pthread_mutex_unlock(&k->lock);
  }
  free(id);
  return rc;
}

int keyring_sync(secret_keyring *k, store *s, int in_write_tx) {
  int rc = home_id_sync(k, s, in_write_tx);
  if (rc) return rc;
  char *recorded = NULL;
  rc = s->ops->meta_get(s, META_KEY_ID, &recorded);
  if (rc == ASSAY_ERR_NOT_FOUND) {
    assay_error_clear();
    if (!in_write_tx) return ASSAY_OK; /* nothing sealed yet; a writer records the key */
    /* First start: record the current key (and bind its file below),
     * unless values are stored already, sealed under another key. */
    char ours[SECRET_KEY_ID_LEN + 1];
    keyring_key_id(k, ours);
    rc = rows_under(s, ours);
    if (!rc) rc = s->ops->meta_set(s, META_KEY_ID, ours);
    if (!rc && !(recorded = strdup(ours))) rc = assay__nomem();
  }
  if (rc) return rc;
  seen_keys seen;
  memset(&seen, 0, sizeof seen);
  int missing = 0; /* no file holds the recorded key */
  if (!in_write_tx) {
    /* only load the recorded key into memory */
    pthread_mutex_lock(&k->lock);
    int i = slot_find(k, recorded);
    if (i < 0) rc = load_locked(k, recorded, &i, &seen);
    missing = rc == ASSAY_ERR_NOT_FOUND;
    pthread_mutex_unlock(&k->lock);
  } else {
    /* Under the write lock the recorded id is the latest: it becomes
     * current, and the files are brought in line — after checking that
     * the database is one with them when that moves or removes a key. */
    files_view v;
    pthread_mutex_lock(&k->lock);
    int i = slot_find(k, recorded);
    if (i < 0) rc = load_locked(k, recorded, &i, &seen); /* not found: a mismatch first */
    missing = rc == ASSAY_ERR_NOT_FOUND;
    if (!rc) rc = view_files(k, k->home_id, &v);
    if (!rc && settle_moves_keys(&v, recorded)) rc = rows_under(s, recorded);
    if (!rc) {
      k->cur = i;
      rc = settle_files_locked(k, &v);
    }
    pthread_mutex_unlock(&k->lock);
  }
  if (missing) rc = mismatch(k, recorded, &seen);
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
    /* Another process may have rotated the key: look at the key files (the
     * current key stays current). */
    seen_keys seen;
    int rc = load_locked(k, row->key_id, &i, &seen);
    if (rc) {
      char note[2 * PATH_MAX + 96];
      seen_note(k, &seen, note, sizeof note);
      pthread_mutex_unlock(&k->lock);
      if (rc != ASSAY_ERR_NOT_FOUND) return rc;
      return assay__err(ASSAY_ERR_CONFIG,
                        "the stored value of variable '%s' of integration %s%s is sealed "
                        "under key %s, but the secret key file %s holds key %s%s; use the key "
                        "file that belongs to this home",
                        row->name, row->integration_id, member_note(row->user_id), row->key_id,
                        k->path, seen.id[0][0] ? seen.id[0] : "(none: missing or unusable)",
                        note);
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
  char nid[SECRET_KEY_ID_LEN + 1], recorded[SECRET_KEY_ID_LEN + 1];
  char home[HOME_ID_LEN + 1];
  key_id_of(nkey, nid);
  size_t count = 0;
  int wrote_new = 0, committing = 0, e = 0;

  /* Waits for the write lock: one rotation at a time. The sync makes the
   * current key the recorded one and puts it in the key file. */
  int rc = s->ops->begin(s, 1);
  if (!rc) rc = keyring_sync(k, s, 1);
  if (!rc) {
    pthread_mutex_lock(&k->lock);
    memcpy(recorded, k->slot[k->cur].id, sizeof recorded);
    memcpy(home, k->home_id, sizeof home);
    pthread_mutex_unlock(&k->lock);
    /* every value opens with the recorded key: then a "<path>.new" now is
     * left from a rotation that never committed, and can go */
    rc = rows_under(s, recorded);
  }
  if (!rc && (e = remove_file(k->new_path)) != 0)
    rc = file_failed("remove the leftover secret key file", k->new_path, e);
  if (!rc) {
    e = create_excl(k->new_path, nkey, home);
    wrote_new = e == 0;
    if (!e) e = sync_dir_of(k->new_path);
    if (e) rc = file_failed("write the new secret key file", k->new_path, e);
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
    if (wrote_new && !committing) (void)remove_file(k->new_path);
    s->ops->rollback(s);
    sodium_free(nkey);
    return rc;
  }
  /* Committed: the store's secrets are sealed under the new key now. It
   * goes into the spare slot (values sealed under it open); it becomes
   * current at the sync below, under the write lock, like any key. */
  pthread_mutex_lock(&k->lock);
  slot_set(k, 1 - k->cur, nkey);
  pthread_mutex_unlock(&k->lock);
  sodium_free(nkey);

  /* Under the write lock again, the store re-read: the new key becomes
   * current, the key file's key is kept as "<path>.old", the new key goes
   * into the key file and "<path>.new" is removed. */
  rc = s->ops->begin(s, 1);
  if (!rc) rc = keyring_sync(k, s, 1);
  if (!rc) rc = s->ops->commit(s);
  if (rc) {
    s->ops->rollback(s);
    const assay_error *err = assay_error_last();
    char why[1024];
    snprintf(why, sizeof why, "%s", err && err->message ? err->message : "unknown error");
    return assay__err(ASSAY_ERR_STORE,
                      "the key rotation committed: the secrets are re-sealed under key %s, "
                      "but the key files could not all be updated yet (%s); the new key is "
                      "kept in %s until the secret key file %s holds it, and the rotation will "
                      "be finished at the next start or write on this home",
                      nid, why, k->new_path, k->path);
  }
  if (resealed) *resealed = count;
  if (new_key_id) memcpy(new_key_id, nid, SECRET_KEY_ID_LEN + 1);
  return ASSAY_OK;
}
