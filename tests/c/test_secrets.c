/* test_secrets.c — secrets at rest: sealing binds a value to its identity
 * and to a fresh nonce, the key file's creation and checks (links, FIFOs,
 * foreign owners), a home refusing a key file that is not its own, key
 * rotation through a real store (other platform objects following it, an
 * interrupted rotation finished at the next open, only ever under the write
 * lock, a database that lost the rotation's commit recovering from
 * "<key>.old", a failed last step reported as a store error), opening
 * values under the current and the previous key without switching, the
 * rotate-key route's permissions, and neither plain text nor retired
 * ciphertexts anywhere under the home. And the second review's findings: a
 * key file bound to its home (another home sharing it is refused), no key
 * file moved or removed while stored values are sealed under another key
 * than the recorded one, compaction only after deletions and never holding
 * writers up behind a reader (pending, retried at the next write and at
 * close), the ids a failed key search saw, directory fsync failures,
 * leftovers of crashes removed, the rotated key made current only under the
 * write lock, and failures of the key files' settle step as StoreError. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "integration/integration.h"
#include "integration/secrets.h"
#include "internal.h"
#include "platform/platform.h"
#include "platform/router.h"
#include "store/sqlite_internal.h"
#include "test_support.h"

/* --- helpers -------------------------------------------------------------------- */

/* This program's fsync (libassay is linked in statically, so its calls come
 * here): when armed, the g_dir_fsync_fail_at-th fsync of a directory from
 * arming on fails with g_dir_fsync_errno. */
static int g_dir_fsync_fail_at, g_dir_fsync_errno, g_dir_fsyncs;

static void arm_dir_fsync_failure(int nth, int err) {
  g_dir_fsyncs = 0;
  g_dir_fsync_errno = err;
  g_dir_fsync_fail_at = nth;
}

int fsync(int fd) {
  struct stat st;
  if (g_dir_fsync_fail_at && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) &&
      ++g_dir_fsyncs == g_dir_fsync_fail_at) {
    errno = g_dir_fsync_errno;
    return -1;
  }
  return (int)syscall(SYS_fsync, fd);
}

static char *path_in(const char *dir, const char *name) {
  char *p = NULL;
  assert_true(asprintf(&p, "%s/%s", dir, name) >= 0);
  return p;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n + 4096 > cap) {
      cap = cap ? cap * 2 : 8192;
      buf = realloc(buf, cap + 1);
      assert_non_null(buf);
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  fclose(f);
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

static void write_file(const char *path, const char *text, mode_t mode) {
  unlink(path);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  assert_true(fd >= 0);
  size_t len = strlen(text);
  assert_int_equal(write(fd, text, len), (ssize_t)len);
  assert_int_equal(fchmod(fd, mode), 0);
  close(fd);
}

static void assert_msg_contains(const char *needle) {
  const assay_error *e = assay_error_last();
  assert_non_null(e);
  if (!strstr(e->message, needle)) fail_msg("'%s' not in error: %s", needle, e->message);
}

static void assert_msg_lacks(const char *needle) {
  const assay_error *e = assay_error_last();
  assert_non_null(e);
  if (strstr(e->message, needle)) fail_msg("'%s' leaked into error: %s", needle, e->message);
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* --- keyring fixture (no store) ---------------------------------------------- */

typedef struct fixture {
  char *home;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->home = make_home();
  *state = f;
  unsetenv("ASSAY_SECRET_KEY_FILE");
  return assay_init();
}

static int teardown(void **state) {
  fixture *f = *state;
  rm_home(f->home);
  free(f);
  assay_shutdown();
  return 0;
}

static const char *const IID = "11111111-2222-3333-4444-555555555555";
static const char *const UID = "99999999-8888-7777-6666-555555555555";

static void round_trip(void **state) {
  fixture *f = *state;
  secret_keyring *k = NULL;
  assert_int_equal(keyring_open(&k, f->home, NULL), ASSAY_OK);
  const char *value = "s3cr3t-value-\x01\xff-with-bytes";
  size_t vlen = strlen(value);
  secret_row row;
  assert_int_equal(secret_seal(k, IID, "API_TOKEN", "", value, vlen, &row), ASSAY_OK);
  assert_string_equal(row.integration_id, IID);
  assert_string_equal(row.name, "API_TOKEN");
  assert_string_equal(row.user_id, "");
  char id[SECRET_KEY_ID_LEN + 1];
  keyring_key_id(k, id);
  assert_string_equal(row.key_id, id);
  assert_int_equal(row.sealed_len, 24 + vlen + 16);
  assert_null(memmem(row.sealed, row.sealed_len, value, vlen));
  char *plain = NULL;
  size_t len = 0;
  assert_int_equal(secret_open(k, &row, &plain, &len), ASSAY_OK);
  assert_int_equal(len, vlen);
  assert_memory_equal(plain, value, vlen);
  assert_int_equal(plain[len], '\0');
  secret_free(plain);

  /* an empty value and a member value round-trip too */
  secret_row empty;
  assert_int_equal(secret_seal(k, IID, "EMPTY", UID, "", 0, &empty), ASSAY_OK);
  assert_string_equal(empty.user_id, UID);
  assert_int_equal(secret_open(k, &empty, &plain, &len), ASSAY_OK);
  assert_int_equal(len, 0);
  assert_string_equal(plain, "");
  secret_free(plain);
  free(empty.sealed);

  /* too long a value is refused, naming the variable only */
  char *big = malloc(SECRET_VALUE_MAX + 1);
  memset(big, 'Q', SECRET_VALUE_MAX + 1);
  secret_row r2;
  assert_int_equal(secret_seal(k, IID, "BIG", "", big, SECRET_VALUE_MAX + 1, &r2),
                   ASSAY_ERR_CONFIG);
  assert_msg_contains("BIG");
  assert_msg_lacks("QQQQ");
  free(big);
  free(row.sealed);
  keyring_free(k);
}

static void fresh_nonce_per_value(void **state) {
  fixture *f = *state;
  secret_keyring *k = NULL;
  assert_int_equal(keyring_open(&k, f->home, NULL), ASSAY_OK);
  secret_row a, b;
  assert_int_equal(secret_seal(k, IID, "V", "", "same value", 10, &a), ASSAY_OK);
  assert_int_equal(secret_seal(k, IID, "V", "", "same value", 10, &b), ASSAY_OK);
  assert_int_equal(a.sealed_len, b.sealed_len);
  assert_true(memcmp(a.sealed, b.sealed, 24) != 0); /* nonces differ */
  assert_true(memcmp(a.sealed + 24, b.sealed + 24, a.sealed_len - 24) != 0);
  char *pa = NULL, *pb = NULL;
  assert_int_equal(secret_open(k, &a, &pa, NULL), ASSAY_OK);
  assert_int_equal(secret_open(k, &b, &pb, NULL), ASSAY_OK);
  assert_string_equal(pa, "same value");
  assert_string_equal(pb, "same value");
  secret_free(pa);
  secret_free(pb);
  free(a.sealed);
  free(b.sealed);
  keyring_free(k);
}

static void identity_is_bound(void **state) {
  fixture *f = *state;
  secret_keyring *k = NULL;
  assert_int_equal(keyring_open(&k, f->home, NULL), ASSAY_OK);
  const char *value = "moved-value-XYZZY";
  secret_row row;
  assert_int_equal(secret_seal(k, IID, "VAR", UID, value, strlen(value), &row), ASSAY_OK);
  char *plain = NULL;

  secret_row moved = row;
  snprintf(moved.integration_id, sizeof moved.integration_id, "%s",
           "11111111-2222-3333-4444-000000000000");
  assert_int_equal(secret_open(k, &moved, &plain, NULL), ASSAY_ERR_STORE);
  assert_null(plain);
  assert_msg_contains("VAR");
  assert_msg_lacks("XYZZY");

  moved = row;
  snprintf(moved.name, sizeof moved.name, "%s", "OTHER");
  assert_int_equal(secret_open(k, &moved, &plain, NULL), ASSAY_ERR_STORE);
  assert_msg_contains("OTHER");

  moved = row;
  snprintf(moved.user_id, sizeof moved.user_id, "%s", "");
  assert_int_equal(secret_open(k, &moved, &plain, NULL), ASSAY_ERR_STORE);
  moved = row;
  snprintf(moved.user_id, sizeof moved.user_id, "%s", "99999999-8888-7777-6666-000000000000");
  assert_int_equal(secret_open(k, &moved, &plain, NULL), ASSAY_ERR_STORE);
  /* ambiguity of the separators: "VA" + "R..." must not equal "VAR" + "..." */
  moved = row;
  snprintf(moved.name, sizeof moved.name, "%s", "VA");
  assert_int_equal(secret_open(k, &moved, &plain, NULL), ASSAY_ERR_STORE);

  /* the original still opens */
  assert_int_equal(secret_open(k, &row, &plain, NULL), ASSAY_OK);
  assert_string_equal(plain, value);
  secret_free(plain);
  free(row.sealed);
  keyring_free(k);
}

static void altered_bytes_fail(void **state) {
  fixture *f = *state;
  secret_keyring *k = NULL;
  assert_int_equal(keyring_open(&k, f->home, NULL), ASSAY_OK);
  const char *value = "flip-me-PLUGH";
  secret_row row;
  assert_int_equal(secret_seal(k, IID, "VAR", "", value, strlen(value), &row), ASSAY_OK);
  for (size_t i = 0; i < row.sealed_len; i++) {
    row.sealed[i] ^= 0x01;
    char *plain = NULL;
    assert_int_equal(secret_open(k, &row, &plain, NULL), ASSAY_ERR_STORE);
    assert_null(plain);
    assert_msg_lacks("PLUGH");
    row.sealed[i] ^= 0x01;
  }
  /* truncated */
  size_t n = row.sealed_len;
  row.sealed_len = 39;
  char *plain = NULL;
  assert_int_equal(secret_open(k, &row, &plain, NULL), ASSAY_ERR_STORE);
  assert_msg_contains("damaged");
  row.sealed_len = n - 1;
  assert_int_equal(secret_open(k, &row, &plain, NULL), ASSAY_ERR_STORE);
  row.sealed_len = n;
  assert_int_equal(secret_open(k, &row, &plain, NULL), ASSAY_OK);
  secret_free(plain);
  free(row.sealed);
  keyring_free(k);
}

static void key_file_created_private(void **state) {
  fixture *f = *state;
  secret_keyring *k = NULL;
  mode_t old = umask(0); /* even a permissive umask must not widen it */
  assert_int_equal(keyring_open(&k, f->home, NULL), ASSAY_OK);
  umask(old);
  char *path = path_in(f->home, "secret.key");
  assert_string_equal(keyring_path(k), path);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  size_t len = 0;
  char *text = slurp(path, &len);
  assert_int_equal(len, 45);
  assert_int_equal(text[44], '\n');
  unsigned char bin[64];
  size_t bin_len = 0;
  assert_int_equal(sodium_base642bin(bin, sizeof bin, text, 44, NULL, &bin_len, NULL,
                                     sodium_base64_VARIANT_ORIGINAL),
                   0);
  assert_int_equal(bin_len, 32);
  /* the id is the first 8 bytes of BLAKE2b(key), in hex */
  unsigned char h[crypto_generichash_BYTES];
  crypto_generichash(h, sizeof h, bin, 32, NULL, 0);
  char want[17];
  sodium_bin2hex(want, sizeof want, h, 8);
  char id[SECRET_KEY_ID_LEN + 1];
  keyring_key_id(k, id);
  assert_string_equal(id, want);
  /* no temporary file left beside it */
  char *cmd = NULL;
  assert_true(asprintf(&cmd, "test $(ls -A '%s' | wc -l) -eq 1", f->home) >= 0);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  free(text);
  free(path);
  keyring_free(k);
}

static void key_file_checks(void **state) {
  fixture *f = *state;
  secret_keyring *k = NULL;
  char *path = path_in(f->home, "my.key");
  assert_int_equal(keyring_open(&k, f->home, path), ASSAY_OK);
  assert_string_equal(keyring_path(k), path);
  keyring_free(k);
  char *good = slurp(path, NULL);

  /* group or others may read it: refused, naming path and mode */
  assert_int_equal(chmod(path, 0644), 0);
  k = NULL;
  assert_int_equal(keyring_open(&k, f->home, path), ASSAY_ERR_CONFIG);
  assert_null(k);
  assert_msg_contains(path);
  assert_msg_contains("0644");
  assert_msg_contains("chmod 600");
  assert_int_equal(chmod(path, 0640), 0);
  assert_int_equal(keyring_open(&k, f->home, path), ASSAY_ERR_CONFIG);
  assert_msg_contains("0640");
  assert_int_equal(chmod(path, 0602), 0);
  assert_int_equal(keyring_open(&k, f->home, path), ASSAY_ERR_CONFIG);
  assert_int_equal(chmod(path, 0400), 0); /* owner read-only is fine */
  assert_int_equal(keyring_open(&k, f->home, path), ASSAY_OK);
  keyring_free(k);
  k = NULL;

  /* wrong length */
  unsigned char sixteen[16] = {1, 2, 3};
  char b64[64];
  sodium_bin2base64(b64, sizeof b64, sixteen, sizeof sixteen, sodium_base64_VARIANT_ORIGINAL);
  write_file(path, b64, 0600);
  assert_int_equal(keyring_open(&k, f->home, path), ASSAY_ERR_CONFIG);
  assert_msg_contains(path);
  assert_msg_contains("32 bytes");
  /* not base64 */
  write_file(path, "this is not base64 at all!\n", 0600);
  assert_int_equal(keyring_open(&k, f->home, path), ASSAY_ERR_CONFIG);
  assert_msg_contains("base64");
  assert_msg_lacks("this is not");
  /* empty */
  write_file(path, "", 0600);
  assert_int_equal(keyring_open(&k, f->home, path), ASSAY_ERR_CONFIG);
  assert_msg_contains("empty");
  /* a directory */
  char *dir = path_in(f->home, "adir");
  assert_int_equal(mkdir(dir, 0700), 0);
  assert_int_equal(keyring_open(&k, f->home, dir), ASSAY_ERR_CONFIG);
  /* a missing parent directory */
  char *nowhere = path_in(f->home, "no/such/dir/key");
  assert_int_equal(keyring_open(&k, f->home, nowhere), ASSAY_ERR_CONFIG);
  assert_msg_contains(nowhere);
  assert_null(k);

  /* the good text (with surrounding whitespace tolerated) works again */
  write_file(path, good, 0600);
  assert_int_equal(keyring_open(&k, f->home, path), ASSAY_OK);
  keyring_free(k);
  free(good);
  free(dir);
  free(nowhere);
  free(path);
}

static void key_id_stable(void **state) {
  fixture *f = *state;
  secret_keyring *k = NULL;
  char a[SECRET_KEY_ID_LEN + 1], b[SECRET_KEY_ID_LEN + 1];
  assert_int_equal(keyring_open(&k, f->home, NULL), ASSAY_OK);
  keyring_key_id(k, a);
  secret_row row;
  assert_int_equal(secret_seal(k, IID, "V", "", "persisted", 9, &row), ASSAY_OK);
  keyring_free(k);
  assert_int_equal(keyring_open(&k, f->home, NULL), ASSAY_OK);
  keyring_key_id(k, b);
  assert_string_equal(a, b);
  assert_int_equal(strlen(a), SECRET_KEY_ID_LEN);
  assert_int_equal(strspn(a, "0123456789abcdef"), SECRET_KEY_ID_LEN);
  char *plain = NULL;
  assert_int_equal(secret_open(k, &row, &plain, NULL), ASSAY_OK);
  assert_string_equal(plain, "persisted");
  secret_free(plain);
  keyring_free(k);

  /* another home's key: another id, and the row does not open under it */
  char *other = make_home();
  assert_int_equal(keyring_open(&k, other, NULL), ASSAY_OK);
  keyring_key_id(k, b);
  assert_string_not_equal(a, b);
  assert_int_equal(secret_open(k, &row, &plain, NULL), ASSAY_ERR_CONFIG);
  assert_msg_contains(a);
  assert_msg_contains("V");
  assert_msg_lacks("persisted");
  /* even when the row claims the right key id, the wrong key does not open it */
  snprintf(row.key_id, sizeof row.key_id, "%s", b);
  assert_int_equal(secret_open(k, &row, &plain, NULL), ASSAY_ERR_STORE);
  keyring_free(k);
  rm_home(other);
  free(row.sealed);
}

typedef struct thread_arg {
  secret_keyring *k;
  int n;
  int failures;
} thread_arg;

static void *hammer(void *varg) {
  thread_arg *a = varg;
  for (int i = 0; i < a->n; i++) {
    char value[64], var[32];
    snprintf(value, sizeof value, "value-%d-%p", i, (void *)a);
    snprintf(var, sizeof var, "V%d", i);
    secret_row row;
    char *plain = NULL;
    if (secret_seal(a->k, IID, var, "", value, strlen(value), &row) != ASSAY_OK) {
      a->failures++;
      continue;
    }
    if (secret_open(a->k, &row, &plain, NULL) != ASSAY_OK || strcmp(plain, value) != 0)
      a->failures++;
    secret_free(plain);
    free(row.sealed);
  }
  return NULL;
}

static void keyring_shared_by_threads(void **state) {
  fixture *f = *state;
  secret_keyring *k = NULL;
  assert_int_equal(keyring_open(&k, f->home, NULL), ASSAY_OK);
  pthread_t t[4];
  thread_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (thread_arg){k, 200, 0};
    assert_int_equal(pthread_create(&t[i], NULL, hammer, &args[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(args[i].failures, 0);
  }
  keyring_free(k);
}

/* --- through a platform and its SQLite store ------------------------------------ */

static void exec_sql(store *s, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(sqlite_db(s), sql, NULL, NULL, &err) != SQLITE_OK)
    fail_msg("SQL failed: %s: %s", err ? err : "?", sql);
}

/* An integration in the platform's default workspace with variables `vars`
 * (NULL-terminated), each a workspace secret, plus one public variable PUB
 * whose value is `public_value`. */
static void add_integration(assay_platform *p, const char *iid, const char *const *vars,
                            const char *public_value) {
  const principal *admin = platform_admin_principal(p);
  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  char *sql = sqlite3_mprintf(
      "INSERT INTO integrations(id, workspace_id, name, integration_type, created_by, "
      "created_at, updated_at) VALUES (%Q, %Q, %Q, 'INTEGRATION_TYPE_CUSTOM', %Q, 1, 1);"
      "INSERT INTO integration_variables(integration_id, position, name, sensitivity, value) "
      "VALUES (%Q, 0, 'PUB', 'VARIABLE_SENSITIVITY_PUBLIC', %Q);",
      iid, admin->workspace_id, iid, admin->user_id, iid, public_value);
  exec_sql(s, sql);
  sqlite3_free(sql);
  for (int i = 0; vars[i]; i++) {
    sql = sqlite3_mprintf("INSERT INTO integration_variables(integration_id, position, name, "
                          "sensitivity) VALUES (%Q, %d, %Q, "
                          "'VARIABLE_SENSITIVITY_WORKSPACE_SECRET')",
                          iid, i + 1, vars[i]);
    exec_sql(s, sql);
    sqlite3_free(sql);
  }
  platform_store_release(p, s);
}

/* Seal and store a value the way the integration code does: inside the
 * write transaction, after keyring_sync. */
static int put_value(assay_platform *p, const char *iid, const char *var, const char *user,
                     const char *value) {
  store *s = NULL;
  int rc = platform_store_acquire(p, &s);
  if (rc) return rc;
  secret_row row = {0};
  rc = s->ops->begin(s, 1);
  if (!rc) rc = keyring_sync(platform_keyring(p), s, 1);
  if (!rc)
    rc = secret_seal(platform_keyring(p), iid, var, user, value, strlen(value), &row);
  if (!rc) rc = s->ops->secret_put(s, &row, assay__now());
  if (!rc) rc = s->ops->commit(s);
  if (rc) s->ops->rollback(s);
  free(row.sealed);
  platform_store_release(p, s);
  return rc;
}

/* Read and open a stored value; *out for secret_free. */
static int get_value(assay_platform *p, const char *iid, const char *var, const char *user,
                     char **out) {
  store *s = NULL;
  int rc = platform_store_acquire(p, &s);
  if (rc) return rc;
  secret_row row = {0};
  rc = s->ops->secret_get(s, iid, var, user, &row);
  if (!rc) rc = secret_open(platform_keyring(p), &row, out, NULL);
  free(row.sealed);
  platform_store_release(p, s);
  return rc;
}

static void assert_value(assay_platform *p, const char *iid, const char *var, const char *user,
                         const char *want) {
  char *plain = NULL;
  int rc = get_value(p, iid, var, user, &plain);
  if (rc) {
    const assay_error *e = assay_error_last();
    fail_msg("opening %s/%s failed: %s", iid, var, e ? e->message : "?");
  }
  assert_string_equal(plain, want);
  secret_free(plain);
}

static char *meta(assay_platform *p, const char *key) {
  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  char *v = NULL;
  if (s->ops->meta_get(s, key, &v) != ASSAY_OK) v = NULL;
  platform_store_release(p, s);
  return v;
}

static assay_platform *open_platform(const char *home, const char *key_file) {
  assay_platform_options o = ASSAY_PLATFORM_OPTIONS_INIT;
  o.home = home;
  o.secret_key_file = key_file;
  assay_platform *p = NULL;
  int rc = assay_platform_open_with(&p, &o);
  if (rc) {
    const assay_error *e = assay_error_last();
    fail_msg("platform open failed: %s", e ? e->message : "?");
  }
  return p;
}

static const char *const I1 = "aaaaaaaa-0000-0000-0000-000000000001";
static const char *const I2 = "aaaaaaaa-0000-0000-0000-000000000002";
static const char *const VARS[] = {"TOKEN", "PASSWORD", "KEY", NULL};

/* Two integrations, workspace values and member values. Returns how many. */
static int seed_values(assay_platform *p) {
  add_integration(p, I1, VARS, "public-one");
  add_integration(p, I2, VARS, "public-two");
  int n = 0;
  const char *const ids[] = {I1, I2};
  for (int i = 0; i < 2; i++) {
    for (int v = 0; VARS[v]; v++) {
      char value[128];
      snprintf(value, sizeof value, "ws-%d-%s-value", i, VARS[v]);
      assert_int_equal(put_value(p, ids[i], VARS[v], "", value), ASSAY_OK);
      snprintf(value, sizeof value, "member-%d-%s-value", i, VARS[v]);
      assert_int_equal(put_value(p, ids[i], VARS[v], UID, value), ASSAY_OK);
      n += 2;
    }
  }
  return n;
}

static void assert_seeded_values(assay_platform *p) {
  const char *const ids[] = {I1, I2};
  for (int i = 0; i < 2; i++) {
    for (int v = 0; VARS[v]; v++) {
      char value[128];
      snprintf(value, sizeof value, "ws-%d-%s-value", i, VARS[v]);
      assert_value(p, ids[i], VARS[v], "", value);
      snprintf(value, sizeof value, "member-%d-%s-value", i, VARS[v]);
      assert_value(p, ids[i], VARS[v], UID, value);
    }
  }
}

static void secret_store_ops(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  add_integration(p, I1, VARS, "pub");
  add_integration(p, I2, VARS, "pub");
  assert_int_equal(put_value(p, I1, "TOKEN", "", "t0"), ASSAY_OK);
  assert_int_equal(put_value(p, I1, "KEY", UID, "k1"), ASSAY_OK);
  assert_int_equal(put_value(p, I1, "TOKEN", UID, "t1"), ASSAY_OK);
  assert_int_equal(put_value(p, I2, "TOKEN", UID, "t2"), ASSAY_OK);
  /* put replaces */
  assert_int_equal(put_value(p, I1, "TOKEN", "", "t0-again"), ASSAY_OK);
  assert_value(p, I1, "TOKEN", "", "t0-again");
  /* no such variable */
  assert_int_equal(put_value(p, I1, "NOPE", "", "x"), ASSAY_ERR_NOT_FOUND);
  assert_msg_contains("NOPE");
  assert_msg_lacks("\"x\"");

  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  json_t *names = NULL;
  assert_int_equal(s->ops->secret_names(s, I1, UID, &names), ASSAY_OK);
  assert_int_equal(json_array_size(names), 2);
  assert_string_equal(json_string_value(json_array_get(names, 0)), "KEY");
  assert_string_equal(json_string_value(json_array_get(names, 1)), "TOKEN");
  json_decref(names);
  assert_int_equal(s->ops->secret_names(s, I1, "", &names), ASSAY_OK);
  assert_int_equal(json_array_size(names), 1);
  json_decref(names);

  secret_row row;
  assert_int_equal(s->ops->secret_get(s, I1, "PASSWORD", "", &row), ASSAY_ERR_NOT_FOUND);
  assert_msg_contains("PASSWORD");

  /* a row sealed under another key id is refused by put */
  secret_keyring *other = NULL;
  char *okey = path_in(f->home, "other.key");
  assert_int_equal(keyring_open(&other, f->home, okey), ASSAY_OK);
  assert_int_equal(secret_seal(other, I1, "PASSWORD", "", "v", 1, &row), ASSAY_OK);
  assert_int_equal(s->ops->begin(s, 1), ASSAY_OK);
  assert_int_equal(s->ops->secret_put(s, &row, 1), ASSAY_ERR_CONFLICT);
  s->ops->rollback(s);
  free(row.sealed);
  keyring_free(other);
  free(okey);

  /* delete one user's values in the workspace: only theirs go */
  const principal *admin = platform_admin_principal(p);
  assert_int_equal(s->ops->begin(s, 1), ASSAY_OK);
  assert_int_equal(s->ops->secret_delete_member(s, admin->workspace_id, UID), ASSAY_OK);
  assert_int_equal(s->ops->commit(s), ASSAY_OK);
  assert_int_equal(s->ops->secret_names(s, I1, UID, &names), ASSAY_OK);
  assert_int_equal(json_array_size(names), 0);
  json_decref(names);
  assert_int_equal(s->ops->secret_names(s, I2, UID, &names), ASSAY_OK);
  assert_int_equal(json_array_size(names), 0);
  json_decref(names);
  assert_int_equal(s->ops->secret_get(s, I1, "TOKEN", "", &row), ASSAY_OK);
  free(row.sealed);
  /* ... not in another workspace */
  platform_store_release(p, s);
  assert_int_equal(put_value(p, I2, "TOKEN", UID, "t2"), ASSAY_OK);
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  assert_int_equal(s->ops->secret_delete_member(s, "no-such-workspace", UID), ASSAY_OK);
  assert_int_equal(s->ops->secret_get(s, I2, "TOKEN", UID, &row), ASSAY_OK);
  free(row.sealed);

  /* delete by name, by user, all */
  assert_int_equal(s->ops->secret_delete(s, I2, "TOKEN", UID), ASSAY_OK);
  assert_int_equal(s->ops->secret_get(s, I2, "TOKEN", UID, &row), ASSAY_ERR_NOT_FOUND);
  assert_int_equal(s->ops->secret_delete(s, I1, NULL, NULL), ASSAY_OK);
  secret_row *rows = NULL;
  size_t n = 99;
  assert_int_equal(s->ops->secret_all(s, &rows, &n), ASSAY_OK);
  assert_int_equal(n, 0);
  secret_rows_free(rows, n);
  /* removing the variable removes its values (foreign key) */
  platform_store_release(p, s);
  assert_int_equal(put_value(p, I2, "KEY", "", "kk"), ASSAY_OK);
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  exec_sql(s, "DELETE FROM integration_variables WHERE name = 'KEY'");
  assert_int_equal(s->ops->secret_all(s, &rows, &n), ASSAY_OK);
  assert_int_equal(n, 0);
  secret_rows_free(rows, n);
  platform_store_release(p, s);
  assay_platform_free(p);
}

static void home_refuses_another_key(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  char *recorded = meta(p, "secret_key_id");
  assert_non_null(recorded);
  char id[SECRET_KEY_ID_LEN + 1];
  keyring_key_id(platform_keyring(p), id);
  assert_string_equal(recorded, id);
  assay_platform_free(p);

  char *other_dir = make_home();
  char *other = path_in(other_dir, "other.key");
  secret_keyring *ko = NULL;
  assert_int_equal(keyring_open(&ko, other_dir, other), ASSAY_OK); /* a valid, foreign key */
  keyring_free(ko);
  assay_platform_options o = ASSAY_PLATFORM_OPTIONS_INIT;
  o.home = f->home;
  o.secret_key_file = other;
  p = NULL;
  assert_int_equal(assay_platform_open_with(&p, &o), ASSAY_ERR_CONFIG);
  assert_null(p);
  assert_msg_contains("does not match the key this home's secrets are sealed with");
  assert_msg_contains(other);
  assert_msg_contains(recorded);

  /* the same through $ASSAY_SECRET_KEY_FILE */
  setenv("ASSAY_SECRET_KEY_FILE", other, 1);
  assert_int_equal(assay_platform_open(&p, f->home), ASSAY_ERR_CONFIG);
  assert_msg_contains(other);
  /* the option wins over the environment */
  char *own = path_in(f->home, "secret.key");
  o.secret_key_file = own;
  assert_int_equal(assay_platform_open_with(&p, &o), ASSAY_OK);
  assay_platform_free(p);
  unsetenv("ASSAY_SECRET_KEY_FILE");
  /* and the home's own key still works by default */
  assert_int_equal(assay_platform_open(&p, f->home), ASSAY_OK);
  assay_platform_free(p);
  /* a missing key file is not replaced by a new one once secrets are sealed */
  char *saved = slurp(own, NULL);
  assert_int_equal(unlink(own), 0);
  assert_int_equal(assay_platform_open(&p, f->home), ASSAY_ERR_CONFIG);
  assert_msg_contains("does not exist");
  assert_msg_contains(own);
  assert_msg_contains(recorded);
  assert_false(file_exists(own));
  write_file(own, saved, 0600);
  free(saved);
  assert_int_equal(assay_platform_open(&p, f->home), ASSAY_OK);
  assay_platform_free(p);
  /* a wrong options version is refused */
  o.version = 99;
  assert_int_equal(assay_platform_open_with(&p, &o), ASSAY_ERR_CONFIG);
  free(own);
  free(recorded);
  free(other);
  rm_home(other_dir);
}

static void rotation_reseals_everything(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  assay_platform *p2 = open_platform(f->home, NULL); /* "another process" */
  int n = seed_values(p);
  char *key_path = path_in(f->home, "secret.key");
  char *new_path = path_in(f->home, "secret.key.new");
  char *old_text = slurp(key_path, NULL);
  char *old_id = meta(p, "secret_key_id");
  assert_non_null(old_id);

  /* p2 seals a value under the old key now and stores it after the rotation */
  secret_row stale;
  assert_int_equal(secret_seal(platform_keyring(p2), I1, "TOKEN", "", "stale", 5, &stale),
                   ASSAY_OK);

  assay_value *out = NULL;
  assert_int_equal(assay_platform_rotate_key(&out, p), ASSAY_OK);
  json_t *j = JV(out);
  const char *new_id = json_string_value(json_object_get(j, "key_id"));
  assert_non_null(new_id);
  assert_string_not_equal(new_id, old_id);
  assert_int_equal(json_integer_value(json_object_get(j, "secrets_resealed")), n);

  /* the store and the files say the new key */
  char *recorded = meta(p, "secret_key_id");
  assert_string_equal(recorded, new_id);
  char id[SECRET_KEY_ID_LEN + 1];
  keyring_key_id(platform_keyring(p), id);
  assert_string_equal(id, new_id);
  char *new_text = slurp(key_path, NULL);
  assert_string_not_equal(new_text, old_text);
  assert_false(file_exists(new_path));
  struct stat st;
  assert_int_equal(stat(key_path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);

  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  secret_row *rows = NULL;
  size_t count = 0;
  assert_int_equal(s->ops->secret_all(s, &rows, &count), ASSAY_OK);
  assert_int_equal(count, (size_t)n);
  for (size_t i = 0; i < count; i++) assert_string_equal(rows[i].key_id, new_id);

  /* the old key file's content opens none of them any more */
  char *old_dir = make_home();
  char *old_key = path_in(old_dir, "old.key");
  write_file(old_key, old_text, 0600);
  secret_keyring *ko = NULL;
  assert_int_equal(keyring_open(&ko, old_dir, old_key), ASSAY_OK);
  for (size_t i = 0; i < count; i++) {
    char *plain = NULL;
    assert_int_equal(secret_open(ko, &rows[i], &plain, NULL), ASSAY_ERR_CONFIG);
    snprintf(rows[i].key_id, sizeof rows[i].key_id, "%s", old_id); /* pretend */
    assert_int_equal(secret_open(ko, &rows[i], &plain, NULL), ASSAY_ERR_STORE);
  }
  keyring_free(ko);
  secret_rows_free(rows, count);
  platform_store_release(p, s);

  /* the replaced key is kept as <key>.old until a later write confirms */
  char *old_path = path_in(f->home, "secret.key.old");
  char *kept = slurp(old_path, NULL);
  assert_non_null(kept);
  assert_string_equal(kept, old_text);
  free(kept);
  assert_int_equal(stat(old_path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);

  /* every value still opens, in this platform and in the other one (which
   * loads the new key from the key file when it meets its id, without
   * making it current: only a sync under the write lock does that) */
  assert_seeded_values(p);
  assert_seeded_values(p2);
  keyring_key_id(platform_keyring(p2), id);
  assert_string_equal(id, old_id);

  /* the value p2 sealed under the old key is refused, not stored unreadable */
  assert_int_equal(platform_store_acquire(p2, &s), ASSAY_OK);
  assert_int_equal(s->ops->begin(s, 1), ASSAY_OK);
  assert_int_equal(s->ops->secret_put(s, &stale, 1), ASSAY_ERR_CONFLICT);
  assert_msg_lacks("stale");
  s->ops->rollback(s);
  platform_store_release(p2, s);
  free(stale.sealed);
  assert_value(p, I1, "TOKEN", "", "ws-0-TOKEN-value");

  /* new values sealed after the rotation, from either platform, open in both */
  assert_int_equal(put_value(p2, I1, "TOKEN", "", "after-rotation"), ASSAY_OK);
  assert_value(p, I1, "TOKEN", "", "after-rotation");
  keyring_key_id(platform_keyring(p2), id);
  assert_string_equal(id, new_id);
  /* that write under the lock confirmed the rotation: <key>.old is gone */
  assert_false(file_exists(old_path));
  free(old_path);

  /* a second rotation from p2 */
  json_decref(j);
  out = NULL;
  assert_int_equal(assay_platform_rotate_key(&out, p2), ASSAY_OK);
  j = JV(out);
  assert_int_equal(json_integer_value(json_object_get(j, "secrets_resealed")), n);
  assert_value(p, I1, "TOKEN", "", "after-rotation");
  assert_value(p, I2, "KEY", UID, "member-1-KEY-value");
  json_decref(j);

  assay_platform_free(p2);
  assay_platform_free(p);
  /* reopening works with the rotated key file */
  p = open_platform(f->home, NULL);
  assert_value(p, I2, "PASSWORD", "", "ws-1-PASSWORD-value");
  assay_platform_free(p);

  free(recorded);
  free(new_text);
  free(old_text);
  free(old_id);
  free(old_key);
  rm_home(old_dir);
  free(key_path);
  free(new_path);
}

static void interrupted_rotation_recovers(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  seed_values(p);
  char *key_path = path_in(f->home, "secret.key");
  char *new_path = path_in(f->home, "secret.key.new");
  char *old_text = slurp(key_path, NULL);

  /* Crash before commit: an orphan .new with some other key; the store
   * still names the old key. Opening ignores it; a rotation replaces it. */
  unsigned char junk[32];
  randombytes_buf(junk, sizeof junk);
  char b64[64];
  sodium_bin2base64(b64, sizeof b64, junk, sizeof junk, sodium_base64_VARIANT_ORIGINAL);
  write_file(new_path, b64, 0600);
  assay_platform_free(p);
  p = open_platform(f->home, NULL);
  assert_seeded_values(p);
  char *text = slurp(key_path, NULL);
  assert_string_equal(text, old_text);
  free(text);

  /* Crash after commit, before the key file was replaced: the store names
   * the new key, which is only in .new. */
  assay_value *out = NULL;
  assert_int_equal(assay_platform_rotate_key(&out, p), ASSAY_OK);
  char *new_id = strdup(json_string_value(json_object_get(JV(out), "key_id")));
  assay_value_free(out);
  assay_platform_free(p);
  char *new_text = slurp(key_path, NULL);
  write_file(new_path, new_text, 0600);
  write_file(key_path, old_text, 0600);

  p = open_platform(f->home, NULL); /* finishes the rotation */
  char id[SECRET_KEY_ID_LEN + 1];
  keyring_key_id(platform_keyring(p), id);
  assert_string_equal(id, new_id);
  text = slurp(key_path, NULL);
  assert_string_equal(text, new_text);
  free(text);
  assert_false(file_exists(new_path));
  struct stat st;
  assert_int_equal(stat(key_path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  assert_seeded_values(p);
  assay_platform_free(p);

  /* and with neither file holding the recorded key, the open is refused */
  write_file(key_path, old_text, 0600);
  assay_platform *q = NULL;
  assert_int_equal(assay_platform_open(&q, f->home), ASSAY_ERR_CONFIG);
  assert_msg_contains("does not match");
  assert_msg_contains(new_id);
  write_file(key_path, new_text, 0600);
  p = open_platform(f->home, NULL);
  assert_seeded_values(p);
  assay_platform_free(p);

  free(new_id);
  free(new_text);
  free(old_text);
  free(key_path);
  free(new_path);
}

static void another_process_follows_rotation_via_sync(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  assay_platform *p2 = open_platform(f->home, NULL);
  seed_values(p);
  assert_int_equal(assay_platform_rotate_key(NULL, p), ASSAY_OK);
  /* p2 writes first (keyring_sync reloads), then reads */
  assert_int_equal(put_value(p2, I2, "KEY", "", "written-by-p2"), ASSAY_OK);
  assert_value(p, I2, "KEY", "", "written-by-p2");
  assert_value(p2, I1, "KEY", UID, "member-0-KEY-value");
  assay_platform_free(p2);
  assay_platform_free(p);
}

/* --- key files only under the write lock; .old; compaction ------------------------ */

/* Copy the file src over dst (created 0600 when missing). */
static void copy_file(const char *src, const char *dst) {
  size_t len = 0;
  char *data = slurp(src, &len);
  assert_non_null(data);
  int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
  free(data);
}

static void assert_file_text(const char *path, const char *want) {
  char *text = slurp(path, NULL);
  if (!text) fail_msg("%s is missing", path);
  if (strcmp(text, want) != 0) fail_msg("%s holds %s; expected %s", path, text, want);
  free(text);
}

static void read_sync_touches_no_file(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  assay_platform *p2 = open_platform(f->home, NULL); /* "another process" */
  seed_values(p);
  char *key_path = path_in(f->home, "secret.key");
  char *new_path = path_in(f->home, "secret.key.new");
  char *old_path = path_in(f->home, "secret.key.old");
  char *old_text = slurp(key_path, NULL);
  char old_id[SECRET_KEY_ID_LEN + 1], id[SECRET_KEY_ID_LEN + 1];
  keyring_key_id(platform_keyring(p2), old_id);

  /* A rotation committed but did not replace the key file: the new key is
   * only in .new, and p2 has never seen it. */
  assay_value *out = NULL;
  assert_int_equal(assay_platform_rotate_key(&out, p), ASSAY_OK);
  char *new_id = strdup(json_string_value(json_object_get(JV(out), "key_id")));
  assay_value_free(out);
  char *new_text = slurp(key_path, NULL);
  write_file(new_path, new_text, 0600);
  write_file(key_path, old_text, 0600);
  unlink(old_path);
  assert_false(file_exists(old_path));

  /* p2 resolves a job's integration_dict, in a read transaction: it loads
   * the new key from .new into memory and changes no file (a process with
   * an older view of the store must never put a key in place). */
  store *s = NULL;
  assert_int_equal(platform_store_acquire(p2, &s), ASSAY_OK);
  json_t *dict = NULL;
  if (integration_resolve(p2, s, I1, platform_admin_principal(p2)->user_id, &dict) != ASSAY_OK)
    fail_msg("resolve failed: %s", assay_error_last()->message);
  assert_string_equal(json_string_value(json_object_get(dict, "TOKEN")), "ws-0-TOKEN-value");
  integration_dict_free(dict);
  assert_file_text(key_path, old_text);
  assert_file_text(new_path, new_text);
  assert_false(file_exists(old_path));
  keyring_key_id(platform_keyring(p2), id);
  assert_string_equal(id, old_id); /* loaded, not made current */

  /* keyring_sync itself in a read transaction: the same */
  assert_int_equal(s->ops->begin(s, 0), ASSAY_OK);
  assert_int_equal(keyring_sync(platform_keyring(p2), s, 0), ASSAY_OK);
  s->ops->rollback(s);
  assert_file_text(key_path, old_text);
  assert_file_text(new_path, new_text);
  assert_false(file_exists(old_path));
  platform_store_release(p2, s);

  /* A write transaction finishes the rotation on disk: the new key in the
   * key file, the replaced one kept as .old, .new gone. */
  assert_int_equal(put_value(p2, I2, "KEY", "", "written-by-p2"), ASSAY_OK);
  keyring_key_id(platform_keyring(p2), id);
  assert_string_equal(id, new_id);
  assert_file_text(key_path, new_text);
  assert_file_text(old_path, old_text);
  assert_false(file_exists(new_path));
  assert_value(p, I2, "KEY", "", "written-by-p2");
  assert_value(p, I1, "TOKEN", "", "ws-0-TOKEN-value");
  assay_platform_free(p2);
  assay_platform_free(p);

  /* With no key recorded yet, a read transaction records none; a write one does. */
  char *db = path_in(f->home, "bare.db"), *bare_key = path_in(f->home, "bare.key");
  store *b = NULL;
  secret_keyring *k = NULL;
  assert_int_equal(store_sqlite_open(&b, db), ASSAY_OK);
  assert_int_equal(keyring_open(&k, f->home, bare_key), ASSAY_OK);
  char *v = NULL;
  assert_int_equal(b->ops->begin(b, 0), ASSAY_OK);
  assert_int_equal(keyring_sync(k, b, 0), ASSAY_OK);
  assert_int_equal(b->ops->commit(b), ASSAY_OK);
  assert_int_equal(b->ops->meta_get(b, "secret_key_id", &v), ASSAY_ERR_NOT_FOUND);
  assert_int_equal(b->ops->begin(b, 1), ASSAY_OK);
  assert_int_equal(keyring_sync(k, b, 1), ASSAY_OK);
  assert_int_equal(b->ops->commit(b), ASSAY_OK);
  assert_int_equal(b->ops->meta_get(b, "secret_key_id", &v), ASSAY_OK);
  keyring_key_id(k, id);
  assert_string_equal(v, id);
  free(v);
  keyring_free(k);
  b->ops->close(b);
  free(db);
  free(bare_key);

  free(new_id);
  free(new_text);
  free(old_text);
  free(key_path);
  free(new_path);
  free(old_path);
}

static void rolled_back_database_recovers_from_old(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  seed_values(p);
  assay_platform_free(p);
  char *db = path_in(f->home, "assay.db"), *wal = path_in(f->home, "assay.db-wal");
  char *shm = path_in(f->home, "assay.db-shm"), *backup = path_in(f->home, "backup.db");
  char *key_path = path_in(f->home, "secret.key");
  char *old_path = path_in(f->home, "secret.key.old");
  assert_false(file_exists(wal)); /* the last connection's close checkpointed it */
  copy_file(db, backup);
  char *old_text = slurp(key_path, NULL);

  p = open_platform(f->home, NULL);
  char old_id[SECRET_KEY_ID_LEN + 1], id[SECRET_KEY_ID_LEN + 1];
  keyring_key_id(platform_keyring(p), old_id);
  assert_int_equal(assay_platform_rotate_key(NULL, p), ASSAY_OK);
  char *new_text = slurp(key_path, NULL);
  char new_id[SECRET_KEY_ID_LEN + 1];
  keyring_key_id(platform_keyring(p), new_id);
  assay_platform_free(p);
  assert_file_text(old_path, old_text);

  /* A power loss takes the rotation's commit: the database is back to
   * before it, while the key file holds the new key. */
  copy_file(backup, db);
  unlink(wal);
  unlink(shm);

  /* A reader finds the recorded key in .old and only loads it. */
  store *s = NULL;
  secret_keyring *k = NULL;
  assert_int_equal(store_sqlite_open(&s, db), ASSAY_OK);
  assert_int_equal(keyring_open(&k, f->home, NULL), ASSAY_OK);
  assert_int_equal(s->ops->begin(s, 0), ASSAY_OK);
  assert_int_equal(keyring_sync(k, s, 0), ASSAY_OK);
  secret_row row = {0};
  assert_int_equal(s->ops->secret_get(s, I1, "TOKEN", "", &row), ASSAY_OK);
  s->ops->rollback(s);
  assert_string_equal(row.key_id, old_id);
  char *plain = NULL;
  assert_int_equal(secret_open(k, &row, &plain, NULL), ASSAY_OK);
  assert_string_equal(plain, "ws-0-TOKEN-value");
  secret_free(plain);
  free(row.sealed);
  keyring_key_id(k, id);
  assert_string_equal(id, new_id);
  assert_file_text(key_path, new_text);
  assert_file_text(old_path, old_text);
  keyring_free(k);
  s->ops->close(s);

  /* The next open (a sync under the write lock) puts the recorded key back
   * and keeps the displaced one as .old ... */
  p = open_platform(f->home, NULL);
  keyring_key_id(platform_keyring(p), id);
  assert_string_equal(id, old_id);
  assert_seeded_values(p);
  assert_file_text(key_path, old_text);
  assert_file_text(old_path, new_text);
  assay_platform_free(p);
  /* ... until the one after confirms the store names the key file's key. */
  p = open_platform(f->home, NULL);
  assert_false(file_exists(old_path));
  assert_seeded_values(p);
  assay_platform_free(p);

  free(old_text);
  free(new_text);
  free(db);
  free(wal);
  free(shm);
  free(backup);
  free(key_path);
  free(old_path);
}

static void failed_last_step_is_store_error(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  seed_values(p);
  char *key_path = path_in(f->home, "secret.key");
  char *new_path = path_in(f->home, "secret.key.new");
  char *old_path = path_in(f->home, "secret.key.old");
  char *old_text = slurp(key_path, NULL);
  char old_id[SECRET_KEY_ID_LEN + 1], id[SECRET_KEY_ID_LEN + 1];
  keyring_key_id(platform_keyring(p), old_id);
  /* a non-empty directory where the old key is to be kept: the step after
   * the commit (.old, then the key file) cannot happen */
  assert_int_equal(mkdir(old_path, 0700), 0);
  char *blocker = path_in(old_path, "x");
  write_file(blocker, "x", 0600);

  assay_value *out = NULL;
  assert_int_equal(assay_platform_rotate_key(&out, p), ASSAY_ERR_STORE);
  assert_null(out);
  assert_int_equal(assay_error_last()->code, ASSAY_ERR_STORE);
  assert_msg_contains("committed");
  assert_msg_contains("finished at the next start");
  assert_msg_contains(key_path);
  assert_msg_contains(new_path);

  /* the rotation stands: the store names the new key, which is current and in .new */
  char *recorded = meta(p, "secret_key_id");
  assert_non_null(recorded);
  assert_string_not_equal(recorded, old_id);
  keyring_key_id(platform_keyring(p), id);
  assert_string_equal(id, recorded);
  assert_file_text(key_path, old_text);
  char *new_text = slurp(new_path, NULL);
  assert_non_null(new_text);
  assert_seeded_values(p);
  assay_platform_free(p);

  /* once the obstacle is gone, the next start finishes it */
  assert_int_equal(unlink(blocker), 0);
  assert_int_equal(rmdir(old_path), 0);
  p = open_platform(f->home, NULL);
  keyring_key_id(platform_keyring(p), id);
  assert_string_equal(id, recorded);
  assert_file_text(key_path, new_text);
  assert_file_text(old_path, old_text);
  assert_false(file_exists(new_path));
  assert_seeded_values(p);
  assay_platform_free(p);

  free(recorded);
  free(blocker);
  free(new_text);
  free(old_text);
  free(key_path);
  free(new_path);
  free(old_path);
}

/* Copies of every sealed value in p's store. */
static secret_row *all_rows(assay_platform *p, size_t *n) {
  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  secret_row *rows = NULL;
  assert_int_equal(s->ops->secret_all(s, &rows, n), ASSAY_OK);
  platform_store_release(p, s);
  return rows;
}

static const secret_row *g_rows;
static size_t g_n_rows;
static int g_row_found[64];
static int g_report; /* say where each one is found */

static int scan_rows_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  if (flag != FTW_F) return 0;
  size_t len = 0;
  char *data = slurp(path, &len);
  if (!data) return 0;
  for (size_t i = 0; i < g_n_rows; i++) {
    const secret_row *r = &g_rows[i];
    /* the whole sealed value, or its nonce alone (a fragment of it) */
    if (memmem(data, len, r->sealed, r->sealed_len) || memmem(data, len, r->sealed, 24)) {
      g_row_found[i]++;
      if (g_report)
        fprintf(stderr, "  sealed value of %s/%s%s found in %s\n", r->integration_id,
                r->name, *r->user_id ? " (member)" : "", path);
    }
  }
  free(data);
  return 0;
}

/* How many of rows[0..n) have their sealed bytes in some file under home
 * (report: print where). */
static size_t rows_under(const char *home, const secret_row *rows, size_t n, int report) {
  assert_true(n <= 64);
  g_report = report;
  g_rows = rows;
  g_n_rows = n;
  memset(g_row_found, 0, sizeof g_row_found);
  assert_int_equal(nftw(home, scan_rows_file, 16, FTW_PHYS), 0);
  size_t found = 0;
  for (size_t i = 0; i < n; i++) found += g_row_found[i] > 0;
  return found;
}

static int pragma_int(store *s, const char *sql) {
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(sqlite_db(s), sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

static void retired_ciphertexts_leave_the_files(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  int n = seed_values(p);
  size_t n_old = 0;
  secret_row *old_rows = all_rows(p, &n_old);
  assert_int_equal(n_old, (size_t)n);
  assert_int_equal(rows_under(f->home, old_rows, n_old, 0), n_old); /* the scan finds them */

  assert_int_equal(assay_platform_rotate_key(NULL, p), ASSAY_OK);
  /* while open (WAL present) and after closing: no trace of the old sealed
   * values, while the new ones are there */
  assert_int_equal(rows_under(f->home, old_rows, n_old, 1), 0);
  size_t n_new = 0;
  secret_row *new_rows = all_rows(p, &n_new);
  assert_int_equal(rows_under(f->home, new_rows, n_new, 0), n_new);
  assert_seeded_values(p);
  assay_platform_free(p);
  assert_int_equal(rows_under(f->home, old_rows, n_old, 1), 0);
  assert_int_equal(rows_under(f->home, new_rows, n_new, 0), n_new);
  secret_rows_free(old_rows, n_old);
  secret_rows_free(new_rows, n_new);

  /* every connection commits durably and zeroes what it deletes */
  p = open_platform(f->home, NULL);
  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  assert_int_equal(pragma_int(s, "PRAGMA synchronous"), 2); /* FULL */
  assert_int_equal(pragma_int(s, "PRAGMA secure_delete"), 1);
  platform_store_release(p, s);
  assay_platform_free(p);
}

static void planted_links_are_not_followed(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  seed_values(p);
  char *key_path = path_in(f->home, "secret.key");
  char *new_path = path_in(f->home, "secret.key.new");
  char *old_path = path_in(f->home, "secret.key.old");
  char *victim = path_in(f->home, "victim.txt");
  char *old_text = slurp(key_path, NULL);
  write_file(victim, "precious\n", 0600);
  assert_int_equal(symlink(victim, new_path), 0);
  assert_int_equal(symlink(victim, old_path), 0);
  assert_int_equal(assay_platform_rotate_key(NULL, p), ASSAY_OK);
  assert_file_text(victim, "precious\n");
  struct stat st;
  assert_false(file_exists(new_path));
  assert_int_equal(lstat(old_path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_file_text(old_path, old_text);
  assert_int_equal(lstat(key_path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  assert_seeded_values(p);
  assay_platform_free(p);
  free(old_text);
  free(victim);
  free(key_path);
  free(new_path);
  free(old_path);
}

/* --- key file hardening; the current and the previous key -------------------------- */

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "opening a FIFO as the key file blocked\n";
  (void)!write(2, msg, sizeof msg - 1);
  _exit(1);
}

static void key_file_hardening(void **state) {
  fixture *f = *state;
  secret_keyring *k = NULL;
  char *real = path_in(f->home, "real.key");
  assert_int_equal(keyring_open(&k, f->home, real), ASSAY_OK);
  keyring_free(k);
  k = NULL;

  /* a symbolic link is not followed */
  char *link = path_in(f->home, "link.key");
  assert_int_equal(symlink(real, link), 0);
  assert_int_equal(keyring_open(&k, f->home, link), ASSAY_ERR_CONFIG);
  assert_null(k);
  assert_msg_contains(link);
  assert_msg_contains("symbolic link");

  /* a FIFO neither blocks the open nor passes */
  char *fifo = path_in(f->home, "fifo.key");
  assert_int_equal(mkfifo(fifo, 0600), 0);
  signal(SIGALRM, on_alarm);
  alarm(10);
  assert_int_equal(keyring_open(&k, f->home, fifo), ASSAY_ERR_CONFIG);
  alarm(0);
  signal(SIGALRM, SIG_DFL);
  assert_null(k);
  assert_msg_contains(fifo);
  assert_msg_contains("not a regular file");

  /* a file owned by another user */
  if (geteuid() == 0) {
    assert_int_equal(chown(real, 4242, 4242), 0);
    assert_int_equal(keyring_open(&k, f->home, real), ASSAY_ERR_CONFIG);
    assert_null(k);
    assert_msg_contains(real);
    assert_msg_contains("owned by uid 4242");
    assert_msg_contains("expected it to be owned by uid 0");
    assert_int_equal(chown(real, 0, 0), 0);
  } else {
    /* a root-owned regular file: refused for its owner before anything else */
    struct stat st;
    if (stat("/etc/hostname", &st) == 0 && st.st_uid == 0) {
      assert_int_equal(keyring_open(&k, f->home, "/etc/hostname"), ASSAY_ERR_CONFIG);
      assert_msg_contains("owned by uid 0");
    }
  }
  assert_int_equal(keyring_open(&k, f->home, real), ASSAY_OK);
  keyring_free(k);
  free(real);
  free(link);
  free(fifo);
}

static void opens_keep_the_current_key(void **state) {
  fixture *f = *state;
  char *path = path_in(f->home, "a.key"), *new_path = path_in(f->home, "a.key.new");
  secret_keyring *ka = NULL, *kb = NULL;
  assert_int_equal(keyring_open(&ka, f->home, path), ASSAY_OK);
  char *other = make_home();
  assert_int_equal(keyring_open(&kb, other, NULL), ASSAY_OK);
  char id_a[SECRET_KEY_ID_LEN + 1], id_b[SECRET_KEY_ID_LEN + 1], id[SECRET_KEY_ID_LEN + 1];
  keyring_key_id(ka, id_a);
  keyring_key_id(kb, id_b);
  secret_row row_a, row_b, row;
  assert_int_equal(secret_seal(ka, IID, "V", "", "under-a", 7, &row_a), ASSAY_OK);
  assert_int_equal(secret_seal(kb, IID, "V", "", "under-b", 7, &row_b), ASSAY_OK);

  /* key B appears as a.key.new (another process rotating) */
  char *b_text = slurp(keyring_path(kb), NULL);
  write_file(new_path, b_text, 0600);
  char *plain = NULL;
  assert_int_equal(secret_open(ka, &row_b, &plain, NULL), ASSAY_OK);
  assert_string_equal(plain, "under-b");
  secret_free(plain);
  keyring_key_id(ka, id);
  assert_string_equal(id, id_a); /* loaded, not made current */
  /* B is now only in memory: rows under either key keep opening */
  assert_int_equal(unlink(new_path), 0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(secret_open(ka, &row_a, &plain, NULL), ASSAY_OK);
    assert_string_equal(plain, "under-a");
    secret_free(plain);
    assert_int_equal(secret_open(ka, &row_b, &plain, NULL), ASSAY_OK);
    assert_string_equal(plain, "under-b");
    secret_free(plain);
  }
  keyring_key_id(ka, id);
  assert_string_equal(id, id_a);
  /* sealing uses the current key */
  assert_int_equal(secret_seal(ka, IID, "W", "", "new", 3, &row), ASSAY_OK);
  assert_string_equal(row.key_id, id_a);
  free(row.sealed);
  free(row_a.sealed);
  free(row_b.sealed);
  free(b_text);
  keyring_free(ka);
  keyring_free(kb);
  rm_home(other);
  free(path);
  free(new_path);
}

/* --- the route ------------------------------------------------------------------- */

static void rotate_route(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  int n = seed_values(p);
  const principal *admin = platform_admin_principal(p);
  principal member = *admin;
  member.is_org_admin = 0;
  router_request req = {0};
  router_response r;
  req.method = "POST";
  req.path = "/v1/admin/rotate-key";
  req.principal = &member;
  req.body = "{}";
  req.body_len = 2;
  router_handle(p, &req, &r);
  assert_int_equal(r.status, 403);
  json_t *msg = json_object_get(json_object_get(r.body, "error"), "message");
  assert_non_null(strstr(json_string_value(msg), "organisation admin"));
  router_response_clear(&r);

  req.principal = admin;
  req.body = "{\"force\": true}";
  req.body_len = strlen(req.body);
  router_handle(p, &req, &r);
  assert_int_equal(r.status, 400);
  msg = json_object_get(json_object_get(r.body, "error"), "message");
  assert_non_null(strstr(json_string_value(msg), "force"));
  router_response_clear(&r);

  char before[SECRET_KEY_ID_LEN + 1];
  keyring_key_id(platform_keyring(p), before);
  req.body = NULL;
  req.body_len = 0;
  router_handle(p, &req, &r);
  assert_int_equal(r.status, 200);
  const char *id = json_string_value(json_object_get(r.body, "key_id"));
  assert_non_null(id);
  assert_string_not_equal(id, before);
  assert_int_equal(json_integer_value(json_object_get(r.body, "secrets_resealed")), n);
  assert_true(json_is_true(json_object_get(r.body, "compacted"))); /* no reader held it up */
  assert_int_equal(json_object_size(r.body), 3);
  router_response_clear(&r);
  assert_seeded_values(p);
  assay_platform_free(p);
}

/* --- nothing in plain text under the home ------------------------------------ */

static const char *g_needles[8];
static size_t g_n_needles;
static int g_found[8];
static int g_files;

static int scan_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)ftw;
  if (flag != FTW_F) return 0;
  size_t len = 0;
  char *data = slurp(path, &len);
  if (!data) return 0;
  g_files++;
  for (size_t i = 0; i < g_n_needles; i++)
    if (memmem(data, len, g_needles[i], strlen(g_needles[i]))) g_found[i]++;
  free(data);
  return 0;
}

static void scan_home(const char *home) {
  memset(g_found, 0, sizeof g_found);
  g_files = 0;
  assert_int_equal(nftw(home, scan_file, 16, FTW_PHYS), 0);
}

static void no_plaintext_under_home(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  unsigned char rnd[12];
  char hex[25], ws_value[64], member_value[64], public_value[64];
  randombytes_buf(rnd, sizeof rnd);
  sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
  snprintf(ws_value, sizeof ws_value, "WSSECRET-%s", hex);
  snprintf(member_value, sizeof member_value, "MEMBERSECRET-%s", hex);
  snprintf(public_value, sizeof public_value, "PUBLICVALUE-%s", hex);
  add_integration(p, I1, VARS, public_value);
  assert_int_equal(put_value(p, I1, "TOKEN", "", ws_value), ASSAY_OK);
  assert_int_equal(put_value(p, I1, "PASSWORD", UID, member_value), ASSAY_OK);
  /* a replaced value is not left behind either */
  char replaced[80];
  snprintf(replaced, sizeof replaced, "REPLACED-%s", hex);
  assert_int_equal(put_value(p, I1, "KEY", "", replaced), ASSAY_OK);
  assert_int_equal(put_value(p, I1, "KEY", "", "later value"), ASSAY_OK);
  assert_int_equal(assay_platform_rotate_key(NULL, p), ASSAY_OK);
  assert_value(p, I1, "TOKEN", "", ws_value);

  g_needles[0] = ws_value;
  g_needles[1] = member_value;
  g_needles[2] = public_value;
  g_needles[3] = replaced;
  g_n_needles = 4;
  /* while open (WAL files present) and after closing */
  scan_home(f->home);
  assert_true(g_files >= 3);
  assert_int_equal(g_found[0], 0);
  assert_int_equal(g_found[1], 0);
  assert_int_equal(g_found[3], 0);
  assert_true(g_found[2] > 0); /* the scan does find what is there */
  assay_platform_free(p);
  scan_home(f->home);
  assert_int_equal(g_found[0], 0);
  assert_int_equal(g_found[1], 0);
  assert_int_equal(g_found[3], 0);
  assert_true(g_found[2] > 0);
}

/* --- second review: a key file belongs to one home ----------------------------- */

static assay_platform *try_open(const char *home, const char *key_file, int *rc) {
  assay_platform_options o = ASSAY_PLATFORM_OPTIONS_INIT;
  o.home = home;
  o.secret_key_file = key_file;
  assay_platform *p = NULL;
  *rc = assay_platform_open_with(&p, &o);
  return p;
}

static void assert_refused_as_foreign(const char *home, const char *key_file,
                                      const char *path_named, const char *owner) {
  int rc = 0;
  assay_platform *p = try_open(home, key_file, &rc);
  if (rc != ASSAY_ERR_CONFIG) fail_msg("opening %s was not refused (%d)", home, rc);
  assert_null(p);
  char want[1024];
  snprintf(want, sizeof want,
           "the secret key file %s belongs to another assay home (%s); give each home its own "
           "key file",
           path_named, owner);
  assert_string_equal(assay_error_last()->message, want);
}

static void shared_key_file_is_refused(void **state) {
  fixture *f = *state;
  char *home_a = path_in(f->home, "a"), *home_b = path_in(f->home, "b");
  char *shared = path_in(f->home, "shared.key");
  assert_int_equal(mkdir(home_a, 0700), 0);
  assert_int_equal(mkdir(home_b, 0700), 0);

  assay_platform *a = open_platform(home_a, shared);
  int n = seed_values(a);
  int rc = 0;
  assay_platform *b = try_open(home_b, shared, &rc);
  if (rc != ASSAY_ERR_CONFIG) fail_msg("a second home opened with the first one's key file");
  assert_null(b);
  char *id_a = meta(a, "home_id");
  assert_non_null(id_a);
  assert_int_equal(strlen(id_a), 36);
  /* the key file names its home on its second line */
  char *text = slurp(shared, NULL);
  char line[64];
  snprintf(line, sizeof line, "\nhome %s\n", id_a);
  assert_non_null(strstr(text, line));
  assert_int_equal(strchr(text, '\n') - text, 44); /* line 1: the key, as before */
  free(text);

  /* another home given the same key file is refused at open, by option or
   * environment, before it changes anything */
  assert_refused_as_foreign(home_b, shared, shared, id_a);
  setenv("ASSAY_SECRET_KEY_FILE", shared, 1);
  assert_int_equal(assay_platform_open(&b, home_b), ASSAY_ERR_CONFIG);
  assert_null(b);
  assert_msg_contains("belongs to another assay home");
  unsetenv("ASSAY_SECRET_KEY_FILE");

  /* the first home rotates (the files it writes are bound to it too), the
   * other is still refused, and every value of the first home stays */
  for (int i = 0; i < 2; i++) {
    assay_value *out = NULL;
    assert_int_equal(assay_platform_rotate_key(&out, a), ASSAY_OK);
    assert_int_equal(json_integer_value(json_object_get(JV(out), "secrets_resealed")), n);
    assay_value_free(out);
    char *old = NULL;
    assert_true(asprintf(&old, "%s.old", shared) >= 0);
    text = slurp(old, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, line));
    free(text);
    free(old);
    assert_refused_as_foreign(home_b, shared, shared, id_a);
    assert_seeded_values(a);
  }
  assay_platform_free(a);
  a = open_platform(home_a, shared);
  assert_seeded_values(a);
  assay_platform_free(a);
  free(id_a);
  free(home_a);
  free(home_b);
  free(shared);
}

static void key_files_are_bound_to_their_home(void **state) {
  fixture *f = *state;
  /* a key file written before homes had ids (the key alone) is accepted
   * and bound at the open */
  char *key_path = path_in(f->home, "secret.key");
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  char b64[64];
  sodium_bin2base64(b64, sizeof b64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
  char legacy[80];
  snprintf(legacy, sizeof legacy, "%s\n", b64);
  write_file(key_path, legacy, 0600);
  assay_platform *p = open_platform(f->home, NULL);
  seed_values(p);
  char *id = meta(p, "home_id");
  assert_non_null(id);
  char want[160];
  snprintf(want, sizeof want, "%s\nhome %s\n", b64, id);
  assert_file_text(key_path, want);
  struct stat st;
  assert_int_equal(stat(key_path, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0600);
  assay_platform_free(p);
  p = open_platform(f->home, NULL); /* bound: still this home's */
  assert_seeded_values(p);
  assay_platform_free(p);

  /* a .old or .new bound to another home is refused, and left alone */
  const char *const other_home = "0f0f0f0f-1111-2222-3333-444444444444";
  char foreign[160];
  snprintf(foreign, sizeof foreign, "%s\nhome %s\n", b64, other_home);
  const char *const names[] = {"secret.key.old", "secret.key.new"};
  for (int i = 0; i < 2; i++) {
    char *side = path_in(f->home, names[i]);
    write_file(side, foreign, 0600);
    assert_refused_as_foreign(f->home, NULL, side, other_home);
    assert_file_text(side, foreign);
    assert_file_text(key_path, want);
    assert_int_equal(unlink(side), 0);
    free(side);
  }
  /* so is the key file itself */
  write_file(key_path, foreign, 0600);
  assert_refused_as_foreign(f->home, NULL, key_path, other_home);
  /* a malformed home line is refused without echoing the file */
  char odd[160];
  snprintf(odd, sizeof odd, "%s\nhome of someone else\n", b64);
  write_file(key_path, odd, 0600);
  int rc = 0;
  assert_null(try_open(f->home, NULL, &rc));
  assert_int_equal(rc, ASSAY_ERR_CONFIG);
  assert_msg_contains(key_path);
  assert_msg_contains("'home <id>'");
  assert_msg_lacks(b64);
  write_file(key_path, want, 0600);
  p = open_platform(f->home, NULL);
  assert_seeded_values(p);
  assay_platform_free(p);
  free(id);
  free(key_path);
}

/* --- second review: no key moved while values are under another key ------------- */

static void set_meta(assay_platform *p, const char *key, const char *value) {
  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  char *sql = sqlite3_mprintf("UPDATE platform_meta SET value = %Q WHERE key = %Q", value, key);
  exec_sql(s, sql);
  sqlite3_free(sql);
  platform_store_release(p, s);
}

static void rows_under_another_key_block_key_moves(void **state) {
  fixture *f = *state;
  char *key_path = path_in(f->home, "secret.key");
  char *new_path = path_in(f->home, "secret.key.new");
  char *old_path = path_in(f->home, "secret.key.old");
  assay_platform *p = open_platform(f->home, NULL);
  seed_values(p);
  char old_id[SECRET_KEY_ID_LEN + 1], new_id[SECRET_KEY_ID_LEN + 1];
  keyring_key_id(platform_keyring(p), old_id);
  assert_int_equal(assay_platform_rotate_key(NULL, p), ASSAY_OK);
  keyring_key_id(platform_keyring(p), new_id);
  char *new_text = slurp(key_path, NULL), *old_text = slurp(old_path, NULL);
  assert_non_null(old_text);

  /* the database's record is put back to the previous key (altered, or a
   * restore of part of it): every value is sealed under the new one */
  set_meta(p, "secret_key_id", old_id);
  assay_platform_free(p);
  int rc = 0;
  assert_null(try_open(f->home, NULL, &rc));
  assert_int_equal(rc, ASSAY_ERR_CONFIG);
  assert_msg_contains(old_id);
  assert_msg_contains(new_id);
  assert_msg_contains("no key file was changed");
  /* nothing moved: the key the values need is still in the key file */
  assert_file_text(key_path, new_text);
  assert_file_text(old_path, old_text);
  assert_false(file_exists(new_path));
  /* a second try changes nothing either */
  assert_null(try_open(f->home, NULL, &rc));
  assert_file_text(key_path, new_text);
  assert_file_text(old_path, old_text);

  /* with the record repaired, everything opens */
  store *s = NULL;
  char *db = path_in(f->home, "assay.db");
  assert_int_equal(store_sqlite_open(&s, db), ASSAY_OK);
  char *sql = sqlite3_mprintf("UPDATE platform_meta SET value = %Q WHERE key = 'secret_key_id'",
                              new_id);
  exec_sql(s, sql);
  sqlite3_free(sql);
  s->ops->close(s);
  p = open_platform(f->home, NULL);
  assert_seeded_values(p);
  assert_false(file_exists(old_path)); /* confirmed now */

  /* The same with the newer key only in .new (the key file holding the
   * recorded, older key): a rotation must not remove that .new. */
  write_file(new_path, new_text, 0600);
  write_file(key_path, old_text, 0600);
  set_meta(p, "secret_key_id", old_id);
  assay_platform_free(p);
  p = open_platform(f->home, NULL); /* nothing to move: opens */
  assert_int_equal(assay_platform_rotate_key(NULL, p), ASSAY_ERR_CONFIG);
  assert_msg_contains(old_id);
  assert_msg_contains(new_id);
  assert_file_text(new_path, new_text);
  assert_file_text(key_path, old_text);
  set_meta(p, "secret_key_id", new_id);
  assay_platform_free(p);
  p = open_platform(f->home, NULL); /* finishes that rotation */
  assert_seeded_values(p);
  assert_file_text(key_path, new_text);
  assert_false(file_exists(new_path));
  assay_platform_free(p);

  free(db);
  free(new_text);
  free(old_text);
  free(key_path);
  free(new_path);
  free(old_path);
}

/* --- second review: compaction ------------------------------------------------------ */

static json_t *route(assay_platform *p, const char *method, const char *path, const char *body,
                     int *status) {
  router_request req = {0};
  router_response r;
  req.method = method;
  req.path = path;
  req.principal = platform_admin_principal(p);
  req.body = body;
  req.body_len = body ? strlen(body) : 0;
  router_handle(p, &req, &r);
  *status = r.status;
  json_t *b = r.body;
  r.body = NULL;
  router_response_clear(&r);
  return b;
}

/* An integration made through the route: workspace secret W, members-level
 * U and V. Its id into iid. */
static void route_integration(assay_platform *p, const char *name, const char *w_value,
                              char iid[64]) {
  char path[256], body[512];
  snprintf(path, sizeof path, "/v1/workspaces/%s/integrations",
           platform_admin_principal(p)->workspace_id);
  snprintf(body, sizeof body,
           "{\"name\":\"%s\",\"integration_type\":\"INTEGRATION_TYPE_CUSTOM\","
           "\"integration_schema\":[{\"name\":\"W\",\"sensitivity\":\"workspace\","
           "\"value\":\"%s\"},{\"name\":\"U\",\"sensitivity\":\"members\"},"
           "{\"name\":\"V\",\"sensitivity\":\"members\"}]}",
           name, w_value);
  int status = 0;
  json_t *b = route(p, "POST", path, body, &status);
  assert_int_equal(status, 201);
  snprintf(iid, 64, "%s", json_string_value(json_object_get(b, "integration_id")));
  json_decref(b);
}

static void put_credentials(assay_platform *p, const char *iid, const char *body) {
  char path[256];
  snprintf(path, sizeof path, "/v1/integrations/%s/credentials", iid);
  int status = 0;
  json_t *b = route(p, "PUT", path, body, &status);
  if (status != 200) fail_msg("PUT credentials %s: %d", body, status);
  json_decref(b);
}

static long long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void compaction_only_after_deletions(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  char *wal = path_in(f->home, "assay.db-wal");
  char iid[64];
  route_integration(p, "compaction", "w-first", iid);
  /* a value set for the first time replaces nothing: the WAL stays */
  put_credentials(p, iid, "{\"credentials\":{\"U\":\"u-first\"}}");
  assert_true(file_size(wal) > 0);
  /* clearing a value that is not set deletes nothing: still no compaction */
  put_credentials(p, iid, "{\"credentials\":{\"V\":null}}");
  assert_true(file_size(wal) > 0);
  /* replacing a value leaves an old ciphertext: the WAL is checkpointed
   * and truncated */
  put_credentials(p, iid, "{\"credentials\":{\"U\":\"u-second\"}}");
  assert_int_equal(file_size(wal), 0);
  put_credentials(p, iid, "{\"credentials\":{\"V\":\"v-first\"}}");
  assert_true(file_size(wal) > 0);
  /* clearing one that is set deletes it: compacted */
  put_credentials(p, iid, "{\"credentials\":{\"U\":null}}");
  assert_int_equal(file_size(wal), 0);
  /* a write that touches no secret compacts nothing */
  char other[64];
  route_integration(p, "compaction-2", "w-other", other);
  assert_true(file_size(wal) > 0);
  /* deleting an integration with a stored value does */
  char path[256];
  snprintf(path, sizeof path, "/v1/integrations/%s", other);
  int status = 0;
  json_decref(route(p, "DELETE", path, NULL, &status));
  assert_int_equal(status, 204);
  assert_int_equal(file_size(wal), 0);
  /* a WAL emptied by a checkpoint is truncated when a writer restarts it */
  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  assert_int_equal(pragma_int(s, "PRAGMA journal_size_limit"), 0);
  platform_store_release(p, s);
  assay_platform_free(p);
  free(wal);
}

/* A reader in another connection holding a snapshot of the WAL. */
static sqlite3 *hold_reader(const char *home) {
  char *db = path_in(home, "assay.db");
  sqlite3 *r = NULL;
  assert_int_equal(sqlite3_open(db, &r), SQLITE_OK);
  free(db);
  assert_int_equal(sqlite3_exec(r, "BEGIN; SELECT count(*) FROM integration_secrets;", NULL, NULL,
                                NULL),
                   SQLITE_OK);
  return r;
}

static void readers_do_not_hold_up_compaction(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  int n = seed_values(p);
  size_t n_old = 0;
  secret_row *old_rows = all_rows(p, &n_old);
  assert_int_equal(n_old, (size_t)n);

  /* a rotation while a reader holds the WAL answers at once, saying the
   * compaction is pending */
  sqlite3 *reader = hold_reader(f->home);
  double t0 = now_ms();
  int status = 0;
  json_t *b = route(p, "POST", "/v1/admin/rotate-key", NULL, &status);
  double took = now_ms() - t0;
  assert_int_equal(status, 200);
  if (took > 300) fail_msg("the rotation took %.0f ms behind a reader", took);
  assert_true(json_is_false(json_object_get(b, "compacted")));
  json_decref(b);
  assert_true(rows_under(f->home, old_rows, n_old, 0) > 0); /* still there: pending */
  assert_seeded_values(p);

  /* and writes meanwhile are not held up either */
  t0 = now_ms();
  for (int i = 0; i < 5; i++) {
    char value[32];
    snprintf(value, sizeof value, "again-%d", i);
    assert_int_equal(put_value(p, I1, "TOKEN", "", value), ASSAY_OK);
  }
  took = now_ms() - t0;
  if (took > 500) fail_msg("5 writes took %.0f ms behind a reader", took);

  /* the reader is done: the next write request compacts */
  assert_int_equal(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  char iid[64];
  route_integration(p, "after-the-reader", "w", iid); /* no secret replaced: the pending one */
  assert_int_equal(rows_under(f->home, old_rows, n_old, 1), 0);

  /* a rotation with no reader compacts at once */
  b = route(p, "POST", "/v1/admin/rotate-key", NULL, &status);
  assert_int_equal(status, 200);
  assert_true(json_is_true(json_object_get(b, "compacted")));
  json_decref(b);

  /* pending at close: the platform's close retries it (the idle reader's
   * connection keeps SQLite's own close from checkpointing) */
  secret_rows_free(old_rows, n_old);
  old_rows = all_rows(p, &n_old);
  assert_int_equal(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM integration_secrets;", NULL,
                                NULL, NULL),
                   SQLITE_OK);
  assert_int_equal(assay_platform_rotate_key(NULL, p), ASSAY_OK);
  assert_true(rows_under(f->home, old_rows, n_old, 0) > 0);
  assert_int_equal(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  assay_platform_free(p);
  assert_int_equal(rows_under(f->home, old_rows, n_old, 1), 0);
  sqlite3_close(reader);
  secret_rows_free(old_rows, n_old);
}

/* --- second review: what a failed key search reports ---------------------------------- */

static char *key_text_of(const char *dir, const char *name, char id[SECRET_KEY_ID_LEN + 1]) {
  char *path = path_in(dir, name);
  secret_keyring *k = NULL;
  assert_int_equal(keyring_open(&k, dir, path), ASSAY_OK);
  keyring_key_id(k, id);
  keyring_free(k);
  char *text = slurp(path, NULL);
  free(path);
  return text;
}

static void failed_search_names_the_keys_seen(void **state) {
  fixture *f = *state;
  char *spare = make_home();
  char id_x[SECRET_KEY_ID_LEN + 1], id_y[SECRET_KEY_ID_LEN + 1], id_z[SECRET_KEY_ID_LEN + 1];
  char *x = key_text_of(spare, "x.key", id_x), *y = key_text_of(spare, "y.key", id_y);
  char *z = key_text_of(spare, "z.key", id_z);

  /* opening a value: the key file, .new and .old each named with its key */
  char *path = path_in(f->home, "a.key"), *np = path_in(f->home, "a.key.new");
  char *op = path_in(f->home, "a.key.old");
  write_file(path, x, 0600);
  write_file(np, y, 0600);
  write_file(op, z, 0600);
  secret_keyring *k = NULL;
  assert_int_equal(keyring_open(&k, f->home, path), ASSAY_OK);
  secret_row row;
  assert_int_equal(secret_seal(k, IID, "V", "", "v", 1, &row), ASSAY_OK);
  snprintf(row.key_id, sizeof row.key_id, "0123456789abcdef");
  char *plain = NULL;
  assert_int_equal(secret_open(k, &row, &plain, NULL), ASSAY_ERR_CONFIG);
  assert_msg_contains("0123456789abcdef");
  assert_msg_contains(id_x);
  assert_msg_contains(id_y);
  assert_msg_contains(id_z);
  assert_msg_contains(np);
  assert_msg_contains(op);
  free(row.sealed);
  keyring_free(k);

  /* a home whose files hold none of its key: the open says what they hold */
  assay_platform *p = open_platform(f->home, NULL);
  seed_values(p);
  char recorded[SECRET_KEY_ID_LEN + 1];
  keyring_key_id(platform_keyring(p), recorded);
  assay_platform_free(p);
  char *key_path = path_in(f->home, "secret.key"), *new_path = path_in(f->home, "secret.key.new");
  write_file(key_path, x, 0600);
  write_file(new_path, y, 0600);
  int rc = 0;
  assert_null(try_open(f->home, NULL, &rc));
  assert_int_equal(rc, ASSAY_ERR_CONFIG);
  assert_msg_contains("does not match the key this home's secrets are sealed with");
  assert_msg_contains(recorded);
  assert_msg_contains(id_x);
  assert_msg_contains(id_y);
  assert_msg_contains(new_path);

  free(key_path);
  free(new_path);
  free(path);
  free(np);
  free(op);
  free(x);
  free(y);
  free(z);
  rm_home(spare);
}

/* --- second review: directory fsync failures ------------------------------------------ */

static void directory_sync_failures_count(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  seed_values(p);
  char *key_path = path_in(f->home, "secret.key");
  char *new_path = path_in(f->home, "secret.key.new");
  char *old_path = path_in(f->home, "secret.key.old");
  char *key_text = slurp(key_path, NULL);
  char before[SECRET_KEY_ID_LEN + 1], id[SECRET_KEY_ID_LEN + 1];
  keyring_key_id(platform_keyring(p), before);

  /* the new key's file cannot be made durable: the rotation does not
   * commit, and leaves no .new */
  arm_dir_fsync_failure(1, EIO);
  assert_int_equal(assay_platform_rotate_key(NULL, p), ASSAY_ERR_STORE);
  arm_dir_fsync_failure(0, 0);
  assert_msg_contains(new_path);
  assert_msg_contains(strerror(EIO));
  char *recorded = meta(p, "secret_key_id");
  assert_string_equal(recorded, before);
  free(recorded);
  keyring_key_id(platform_keyring(p), id);
  assert_string_equal(id, before);
  assert_file_text(key_path, key_text);
  assert_false(file_exists(new_path));
  assert_seeded_values(p);

  /* a file system that cannot sync directories at all is no failure */
  arm_dir_fsync_failure(1, EINVAL);
  assert_int_equal(assay_platform_rotate_key(NULL, p), ASSAY_OK);
  arm_dir_fsync_failure(0, 0);
  keyring_key_id(platform_keyring(p), before);

  /* after the commit (keeping the previous key as .old cannot be made
   * durable): a StoreError saying the rotation committed */
  assert_int_equal(put_value(p, I1, "TOKEN", "", "confirm"), ASSAY_OK); /* .old goes */
  assert_false(file_exists(old_path));
  arm_dir_fsync_failure(2, EIO);
  assert_int_equal(assay_platform_rotate_key(NULL, p), ASSAY_ERR_STORE);
  arm_dir_fsync_failure(0, 0);
  assert_msg_contains("committed");
  assert_msg_contains(strerror(EIO));
  recorded = meta(p, "secret_key_id");
  assert_string_not_equal(recorded, before);
  assay_platform_free(p);
  p = open_platform(f->home, NULL); /* finishes it */
  keyring_key_id(platform_keyring(p), id);
  assert_string_equal(id, recorded);
  assert_false(file_exists(new_path));
  assert_value(p, I1, "TOKEN", "", "confirm");
  assay_platform_free(p);
  free(recorded);
  free(key_text);
  free(key_path);
  free(new_path);
  free(old_path);
}

/* --- second review: leftovers of crashes ------------------------------------------------ */

static void crash_leftovers_are_removed(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  seed_values(p);
  char *key_path = path_in(f->home, "secret.key");
  char *key_text = slurp(key_path, NULL);
  const char *const gone[] = {"secret.key.tmp-0123456789abcdef",
                              "secret.key.old.tmp-fedcba9876543210", "secret.key.new"};
  const char *const kept[] = {"secret.key.tmp-notours", "secret.key.backup",
                              "other.key.tmp-0123456789abcdef"};
  for (int i = 0; i < 3; i++) {
    char *g = path_in(f->home, gone[i]), *k = path_in(f->home, kept[i]);
    write_file(g, key_text, 0600); /* copies of the key file's key */
    write_file(k, "not ours\n", 0600);
    free(g);
    free(k);
  }
  /* the next sync under the write lock (here: a write) removes them */
  assert_int_equal(put_value(p, I2, "KEY", "", "after-leftovers"), ASSAY_OK);
  for (int i = 0; i < 3; i++) {
    char *g = path_in(f->home, gone[i]), *k = path_in(f->home, kept[i]);
    if (file_exists(g)) fail_msg("%s is still there", gone[i]);
    assert_true(file_exists(k));
    free(g);
    free(k);
  }
  assert_file_text(key_path, key_text);
  assert_value(p, I2, "KEY", "", "after-leftovers");
  assay_platform_free(p);
  free(key_text);
  free(key_path);
}

/* --- second review: the rotated key becomes current under the write lock ------------- */

static const store_ops *g_real_ops;
static store_ops g_spy_ops;
static secret_keyring *g_spy_keyring;
static int g_begins;
static char g_current_at_begin[4][SECRET_KEY_ID_LEN + 1];

static int spy_begin(store *s, int write) {
  if (g_begins < 4) keyring_key_id(g_spy_keyring, g_current_at_begin[g_begins]);
  g_begins++;
  return g_real_ops->begin(s, write);
}

static void rotated_key_current_only_under_lock(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  int n = seed_values(p);
  secret_keyring *k = platform_keyring(p);
  char before[SECRET_KEY_ID_LEN + 1], nid[SECRET_KEY_ID_LEN + 1], id[SECRET_KEY_ID_LEN + 1];
  keyring_key_id(k, before);
  store *s = NULL;
  assert_int_equal(platform_store_acquire(p, &s), ASSAY_OK);
  g_real_ops = s->ops;
  g_spy_ops = *s->ops;
  g_spy_ops.begin = spy_begin;
  g_spy_keyring = k;
  g_begins = 0;
  s->ops = &g_spy_ops;
  size_t resealed = 0;
  int rc = keyring_rotate(k, s, &resealed, nid);
  s->ops = g_real_ops;
  platform_store_release(p, s);
  assert_int_equal(rc, ASSAY_OK);
  assert_int_equal(resealed, (size_t)n);
  assert_int_equal(g_begins, 2);
  /* between the commit and the write lock taken again, sealing still used
   * the key the store named when the lock was last held */
  assert_string_equal(g_current_at_begin[0], before);
  assert_string_equal(g_current_at_begin[1], before);
  keyring_key_id(k, id);
  assert_string_equal(id, nid); /* current after the sync under the lock */
  assert_seeded_values(p);
  assay_platform_free(p);
}

/* --- second review: the settle step's failures are StoreError ------------------------ */

static void settle_failures_are_store_errors(void **state) {
  fixture *f = *state;
  assay_platform *p = open_platform(f->home, NULL);
  seed_values(p);
  char iid[64];
  route_integration(p, "settle", "w-settle", iid);
  char *key_path = path_in(f->home, "secret.key");
  char *new_path = path_in(f->home, "secret.key.new");
  char *old_path = path_in(f->home, "secret.key.old");
  char *old_text = slurp(key_path, NULL);
  assert_int_equal(assay_platform_rotate_key(NULL, p), ASSAY_OK);
  char *new_text = slurp(key_path, NULL);
  /* as if the rotation's last step had not happened, and .old cannot be
   * written (a non-empty directory in its place) */
  write_file(new_path, new_text, 0600);
  write_file(key_path, old_text, 0600);
  unlink(old_path);
  assert_int_equal(mkdir(old_path, 0700), 0);
  char *blocker = path_in(old_path, "x");
  write_file(blocker, "x", 0600);
  /* a member's write request: the failure is the store's, not the request's */
  assert_int_equal(put_value(p, I1, "TOKEN", "", "blocked"), ASSAY_ERR_STORE);
  assert_msg_contains(old_path);
  assert_msg_lacks("blocked");
  /* through the route too: 500 */
  char path[256], body[256];
  snprintf(path, sizeof path, "/v1/integrations/%s/credentials", iid);
  snprintf(body, sizeof body, "{\"credentials\":{\"U\":\"blocked-too\"}}");
  int status = 0;
  json_t *b = route(p, "PUT", path, body, &status);
  assert_int_equal(status, 500);
  json_decref(b);
  assert_int_equal(unlink(blocker), 0);
  assert_int_equal(rmdir(old_path), 0);
  assert_int_equal(put_value(p, I1, "TOKEN", "", "unblocked"), ASSAY_OK);
  assert_file_text(key_path, new_text);
  assert_file_text(old_path, old_text);
  assert_value(p, I1, "TOKEN", "", "unblocked");
  assay_platform_free(p);
  free(blocker);
  free(old_text);
  free(new_text);
  free(key_path);
  free(new_path);
  free(old_path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(fresh_nonce_per_value, setup, teardown),
      cmocka_unit_test_setup_teardown(identity_is_bound, setup, teardown),
      cmocka_unit_test_setup_teardown(altered_bytes_fail, setup, teardown),
      cmocka_unit_test_setup_teardown(key_file_created_private, setup, teardown),
      cmocka_unit_test_setup_teardown(key_file_checks, setup, teardown),
      cmocka_unit_test_setup_teardown(key_id_stable, setup, teardown),
      cmocka_unit_test_setup_teardown(keyring_shared_by_threads, setup, teardown),
      cmocka_unit_test_setup_teardown(secret_store_ops, setup, teardown),
      cmocka_unit_test_setup_teardown(home_refuses_another_key, setup, teardown),
      cmocka_unit_test_setup_teardown(rotation_reseals_everything, setup, teardown),
      cmocka_unit_test_setup_teardown(interrupted_rotation_recovers, setup, teardown),
      cmocka_unit_test_setup_teardown(another_process_follows_rotation_via_sync, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(read_sync_touches_no_file, setup, teardown),
      cmocka_unit_test_setup_teardown(rolled_back_database_recovers_from_old, setup, teardown),
      cmocka_unit_test_setup_teardown(failed_last_step_is_store_error, setup, teardown),
      cmocka_unit_test_setup_teardown(retired_ciphertexts_leave_the_files, setup, teardown),
      cmocka_unit_test_setup_teardown(planted_links_are_not_followed, setup, teardown),
      cmocka_unit_test_setup_teardown(key_file_hardening, setup, teardown),
      cmocka_unit_test_setup_teardown(opens_keep_the_current_key, setup, teardown),
      cmocka_unit_test_setup_teardown(rotate_route, setup, teardown),
      cmocka_unit_test_setup_teardown(no_plaintext_under_home, setup, teardown),
      cmocka_unit_test_setup_teardown(shared_key_file_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(key_files_are_bound_to_their_home, setup, teardown),
      cmocka_unit_test_setup_teardown(rows_under_another_key_block_key_moves, setup, teardown),
      cmocka_unit_test_setup_teardown(compaction_only_after_deletions, setup, teardown),
      cmocka_unit_test_setup_teardown(readers_do_not_hold_up_compaction, setup, teardown),
      cmocka_unit_test_setup_teardown(failed_search_names_the_keys_seen, setup, teardown),
      cmocka_unit_test_setup_teardown(directory_sync_failures_count, setup, teardown),
      cmocka_unit_test_setup_teardown(crash_leftovers_are_removed, setup, teardown),
      cmocka_unit_test_setup_teardown(rotated_key_current_only_under_lock, setup, teardown),
      cmocka_unit_test_setup_teardown(settle_failures_are_store_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
