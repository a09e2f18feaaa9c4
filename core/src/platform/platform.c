/* platform/platform.c — opening a home directory: its folders, its store
 * (migrated at open), its secret keyring (checked against the store at
 * open), first-start bootstrap (admin user, default workspace, admin token
 * in <home>/admin.token), the pool of store connections, compaction (and
 * the "compaction pending" mark) after secret values were deleted or
 * replaced, and key rotation. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "integration/secrets.h"
#include "platform/files.h"
#include "platform/jobs.h"
#include "platform/platform.h"

#define POOL_IDLE_MAX 8

struct assay_platform {
  char *home;
  char *db_path;
  size_t max_body;
  principal admin;
  secret_keyring *keyring;
  pthread_mutex_t lock;
  store *idle[POOL_IDLE_MAX];
  int n_idle;
  /* Compaction (under lock): `compact_need` counts the commits that left
   * old ciphertexts in the store's files; `compact_done` is the count a
   * completed compaction covered. Pending while need > done. */
  unsigned long compact_need, compact_done;
  runner_config runner;  /* interpreter and limits for user code */
  char *runner_python;
  char *runner_protect[2]; /* the key file kept from user code; NULL-ended */
  int workers;
  void *jobs;            /* the job workers' state (jobs.c) */
  files_limits file_limits; /* uploads: largest, quota, free space kept */
};

const runner_config *platform_runner(const assay_platform *p) { return &p->runner; }
void **platform_jobs_slot(assay_platform *p) { return &p->jobs; }
int platform_workers(const assay_platform *p) { return p->workers; }
const files_limits *platform_files_limits(const assay_platform *p) { return &p->file_limits; }

const char *assay_platform_home(const assay_platform *p) { return p ? p->home : NULL; }
size_t platform_max_body(const assay_platform *p) { return p->max_body; }
const principal *platform_admin_principal(assay_platform *p) { return &p->admin; }

/* The calling thread's last error, kept across a best-effort step. */
typedef struct saved_error {
  int code, http_status;
  char *message;
} saved_error;

static void error_save(saved_error *e) {
  const assay_error *last = assay_error_last();
  e->code = last ? last->code : 0;
  e->http_status = last ? last->http_status : 0;
  e->message = last && last->message ? strdup(last->message) : NULL;
}

static void error_restore(saved_error *e) {
  if (e->code) assay__err_status(e->code, e->http_status, "%s", e->message ? e->message : "");
  else assay_error_clear();
  free(e->message);
}

/* --- the home directory --------------------------------------------------- */

static int mkdir_p(const char *path, mode_t mode) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return assay__err(ASSAY_ERR_CONFIG, "home path is too long: %s", path);
  for (char *c = buf + 1; *c; c++) {
    if (*c != '/') continue;
    *c = '\0';
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
      return assay__err(ASSAY_ERR_STORE, "cannot create %s: %s", buf, strerror(errno));
    *c = '/';
  }
  if (mkdir(buf, mode) != 0 && errno != EEXIST)
    return assay__err(ASSAY_ERR_STORE, "cannot create %s: %s", buf, strerror(errno));
  struct stat st;
  if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
    return assay__err(ASSAY_ERR_CONFIG, "%s exists and is not a directory", buf);
  return ASSAY_OK;
}

static int resolve_home(const char *home, char **out) {
  char buf[PATH_MAX];
  if (home && !*home) return assay__err(ASSAY_ERR_CONFIG, "home must not be an empty string");
  if (!home) home = getenv("ASSAY_HOME");
  if (home && !*home) home = NULL;
  if (!home) {
    const char *h = getenv("HOME");
    if (!h || !*h)
      return assay__err(ASSAY_ERR_CONFIG, "no home directory: set ASSAY_HOME or HOME");
    if (snprintf(buf, sizeof buf, "%s/.assay", h) >= (int)sizeof buf)
      return assay__err(ASSAY_ERR_CONFIG, "HOME is too long");
    home = buf;
  }
  int rc = mkdir_p(home, 0700);
  if (rc) return rc;
  char real[PATH_MAX];
  if (!realpath(home, real))
    return assay__err(ASSAY_ERR_STORE, "cannot resolve %s: %s", home, strerror(errno));
  *out = strdup(real);
  return *out ? ASSAY_OK : assay__nomem();
}

/* Write `text` to `path` with mode 0600, atomically (temp file + rename). */
static int write_private_file(const char *path, const char *text) {
  char tmp[PATH_MAX + 32];
  snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return assay__err(ASSAY_ERR_STORE, "cannot write %s: %s", tmp, strerror(errno));
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  int ok = n == (ssize_t)len && fsync(fd) == 0;
  close(fd);
  if (!ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return assay__err(ASSAY_ERR_STORE, "cannot write %s: %s", path, strerror(errno));
  }
  return ASSAY_OK;
}

/* --- bootstrap --------------------------------------------------------------- */

typedef struct bootstrap_ctx {
  assay_platform *p;
  int created; /* this call bootstrapped the home */
} bootstrap_ctx;

static int load_admin(store *s, principal *admin) {
  char *user = NULL, *ws = NULL;
  int rc = s->ops->meta_get(s, "bootstrap_admin_user", &user);
  if (!rc) rc = s->ops->meta_get(s, "default_workspace", &ws);
  if (!rc) {
    memset(admin, 0, sizeof *admin);
    snprintf(admin->user_id, sizeof admin->user_id, "%s", user);
    snprintf(admin->workspace_id, sizeof admin->workspace_id, "%s", ws);
    admin->is_org_admin = 1;
  }
  free(user);
  free(ws);
  return rc;
}

static int bootstrap(store *s, void *vctx) {
  bootstrap_ctx *ctx = vctx;
  /* The key file must be the one this home's secrets are sealed with (on
   * the first start, record it). This first sync under the write lock also
   * gives the home its id (platform_meta "home_id", a random UUID) if it
   * has none yet, and binds the key file to it (a "home <id>" line), so
   * that another home given the same key file refuses it. */
  int rc = keyring_sync(ctx->p->keyring, s, 1);
  if (rc) return rc;
  rc = load_admin(s, &ctx->p->admin);
  if (rc != ASSAY_ERR_NOT_FOUND) return rc; /* already bootstrapped (or failed) */
  assay_error_clear();

  char user[37], ws[37], token_id[37], token[ASSAY_TOKEN_LEN];
  int64_t now = assay__now();
  assay__uuid(user);
  assay__uuid(ws);
  rc = s->ops->user_insert(s, user, "admin", "Administrator", 1, now);
  if (!rc) rc = s->ops->workspace_insert(s, ws, "default", now);
  if (!rc) rc = s->ops->member_insert(s, ws, user, "WORKSPACE_ROLE_ADMIN");
  /* The bootstrap token does not expire: it is the key to the home. */
  if (!rc) rc = token_mint(s, user, ws, "bootstrap admin", 0, token, token_id);
  if (!rc) rc = s->ops->meta_set(s, "bootstrap_admin_user", user);
  if (!rc) rc = s->ops->meta_set(s, "default_workspace", ws);
  if (!rc) rc = load_admin(s, &ctx->p->admin);
  if (!rc) {
    char path[PATH_MAX + 16], text[ASSAY_TOKEN_LEN + 1];
    snprintf(path, sizeof path, "%s/admin.token", ctx->p->home);
    snprintf(text, sizeof text, "%s\n", token);
    rc = write_private_file(path, text);
  }
  sodium_memzero(token, sizeof token);
  ctx->created = rc == ASSAY_OK;
  return rc;
}

/* --- open / free ------------------------------------------------------------ */

/* keyring_open() creates a missing key file. That is right on a first
 * start, but a home whose secrets are already sealed needs its own key:
 * say that the file is missing instead of making a useless new one. */
static int key_file_present(assay_platform *p, store *s, const char *key_file) {
  char path[PATH_MAX + 16];
  if (key_file) snprintf(path, sizeof path, "%s", key_file);
  else snprintf(path, sizeof path, "%s/secret.key", p->home);
  struct stat st;
  if (lstat(path, &st) == 0 || errno != ENOENT) return ASSAY_OK;
  char *recorded = NULL;
  int rc = s->ops->meta_get(s, "secret_key_id", &recorded);
  if (rc == ASSAY_ERR_NOT_FOUND) {
    assay_error_clear();
    return ASSAY_OK; /* no secrets sealed yet: the key file is created */
  }
  if (rc) return rc;
  rc = assay__err(ASSAY_ERR_CONFIG,
                  "the secret key file %s does not exist, but this home's secrets are sealed "
                  "with key %s; restore that key file, or give its path (--secret-key-file, "
                  "$ASSAY_SECRET_KEY_FILE)",
                  path, recorded);
  free(recorded);
  return rc;
}

int assay_platform_open(assay_platform **out, const char *home) {
  assay_platform_options opts = ASSAY_PLATFORM_OPTIONS_INIT;
  opts.home = home;
  return assay_platform_open_with(out, &opts);
}

/* The runner's interpreter and limits: options, else the environment, else
 * the defaults; its sandbox: the home and the key file `key_file` (NULL:
 * <home>/secret.key, in the home) kept from user code, custom loaders
 * without Landlock only with ASSAY_ALLOW_UNSANDBOXED_LOADERS=1, and the
 * test switches of ASSAY_TEST_RUNNER_SANDBOX ("no-landlock",
 * "no-namespaces", comma-separated). */
static int runner_setup(assay_platform *p, const assay_platform_options *o, const char *key_file) {
  const char *py = o->runner_python;
  if (!py || !*py) py = getenv("ASSAY_PYTHON");
  if (!py || !*py) py = access(ASSAY_DEFAULT_PYTHON, X_OK) == 0 ? ASSAY_DEFAULT_PYTHON : "python3";
  if (!(p->runner_python = strdup(py))) return assay__nomem();
  double timeout = o->loader_timeout;
  if (timeout == 0) {
    const char *e = getenv("ASSAY_LOADER_TIMEOUT");
    char *end = NULL;
    timeout = e && *e ? strtod(e, &end) : 3600.0;
    if (e && *e && (*end || !(timeout > 0)))
      return assay__err(ASSAY_ERR_CONFIG,
                        "ASSAY_LOADER_TIMEOUT must be a positive number of seconds; got '%s'", e);
  }
  long long mem = o->loader_memory_bytes;
  if (mem == 0) {
    const char *e = getenv("ASSAY_LOADER_MEMORY_MB");
    if (e && *e) {
      char *end = NULL;
      long long mb = strtoll(e, &end, 10);
      if (*end || mb <= 0)
        return assay__err(ASSAY_ERR_CONFIG,
                          "ASSAY_LOADER_MEMORY_MB must be a positive number of MiB; got '%s'", e);
      mem = mb << 20;
    } else {
      long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
      mem = pages > 0 && size > 0 ? (long long)pages * size / 2 : (4LL << 30);
    }
  }
  p->runner.python = p->runner_python;
  p->runner.home = p->home;
  p->runner.timeout_s = timeout;
  p->runner.memory_bytes = mem;
  if (key_file && !(p->runner_protect[0] = strdup(key_file))) return assay__nomem();
  p->runner.protect = (const char *const *)p->runner_protect;
  const char *allow = getenv("ASSAY_ALLOW_UNSANDBOXED_LOADERS");
  if (allow && *allow) {
    if (strcmp(allow, "1") == 0 || strcmp(allow, "true") == 0 || strcmp(allow, "yes") == 0)
      p->runner.allow_unsandboxed = 1;
    else if (strcmp(allow, "0") != 0 && strcmp(allow, "false") != 0 && strcmp(allow, "no") != 0)
      return assay__err(ASSAY_ERR_CONFIG,
                        "ASSAY_ALLOW_UNSANDBOXED_LOADERS must be 1 or 0; got '%s'", allow);
  }
  const char *test = getenv("ASSAY_TEST_RUNNER_SANDBOX");
  if (test && strstr(test, "no-landlock")) p->runner.sandbox_test |= RUNNER_TEST_NO_LANDLOCK;
  if (test && strstr(test, "no-namespaces")) p->runner.sandbox_test |= RUNNER_TEST_NO_NAMESPACES;
  p->workers = o->workers < 0 ? 2 : o->workers;
  return ASSAY_OK;
}

int assay_platform_open_with(assay_platform **out, const assay_platform_options *opts) {
  assay_platform_options defaults = ASSAY_PLATFORM_OPTIONS_INIT;
  if (!opts) opts = &defaults;
  if (opts->version == 1) { /* a caller built against version 1 */
    memcpy(&defaults, opts, offsetof(assay_platform_options, workers));
    defaults.version = ASSAY_PLATFORM_OPTIONS_VERSION;
    opts = &defaults;
  }
  if (opts->version != ASSAY_PLATFORM_OPTIONS_VERSION)
    return assay__err(ASSAY_ERR_CONFIG, "assay_platform_options.version is %u; expected 1 or %d",
                      opts->version, ASSAY_PLATFORM_OPTIONS_VERSION);
  if (opts->workers > 64)
    return assay__err(ASSAY_ERR_CONFIG, "workers must be at most 64; got %d", opts->workers);
  const char *key_file = opts->secret_key_file;
  if (!key_file) key_file = getenv("ASSAY_SECRET_KEY_FILE");
  if (key_file && !*key_file) key_file = NULL;
  int rc = assay_init();
  if (rc) return rc;
  assay_platform *p = calloc(1, sizeof *p);
  if (!p) {
    assay_shutdown();
    return assay__nomem();
  }
  pthread_mutex_init(&p->lock, NULL);
  p->max_body = ASSAY_DEFAULT_MAX_BODY;
  rc = resolve_home(opts->home, &p->home);
  if (!rc) rc = runner_setup(p, opts, key_file);
  if (!rc) rc = files_limits_from_env(&p->file_limits);
  if (!rc) {
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/files", p->home);
    rc = mkdir_p(path, 0700);
  }
  if (!rc && asprintf(&p->db_path, "%s/assay.db", p->home) < 0) {
    p->db_path = NULL;
    rc = assay__nomem();
  }
  if (!rc) {
    /* Create the database private (SQLite gives its -wal and -shm files the
     * same mode) before SQLite would create it with the umask's. Only when
     * it does not exist yet: closing a descriptor of an open database drops
     * every POSIX lock this process holds on it (SQLite's, for another
     * client on the same home), and another process closing its connection
     * would then checkpoint and delete the WAL this one still writes to. */
    int fd = open(p->db_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
    else if (errno != EEXIST)
      rc = assay__err(ASSAY_ERR_STORE, "cannot open %s: %s", p->db_path, strerror(errno));
  }
  store *s = NULL;
  if (!rc) rc = platform_store_acquire(p, &s);
  if (!rc) rc = key_file_present(p, s, key_file);
  if (!rc) rc = keyring_open(&p->keyring, p->home, key_file);
  if (!rc) {
    bootstrap_ctx ctx = {p, 0};
    rc = store_tx(s, 1, bootstrap, &ctx);
  }
  platform_store_release(p, s);
  if (!rc) rc = jobs_start(p, p->workers);
  if (rc) {
    assay_platform_free(p);
    return rc;
  }
  *out = p;
  return ASSAY_OK;
}

void assay_platform_free(assay_platform *p) {
  if (!p) return;
  jobs_stop(p);
  pthread_mutex_lock(&p->lock);
  int pending = p->compact_need > p->compact_done;
  pthread_mutex_unlock(&p->lock);
  if (pending) {
    /* the last chance for this platform: retry the pending compaction */
    store *s = NULL;
    saved_error e;
    error_save(&e);
    if (platform_store_acquire(p, &s) == ASSAY_OK) {
      int done = 0;
      (void)s->ops->compact(s, &done);
      s->ops->close(s);
    }
    error_restore(&e);
  }
  for (int i = 0; i < p->n_idle; i++) p->idle[i]->ops->close(p->idle[i]);
  pthread_mutex_destroy(&p->lock);
  keyring_free(p->keyring);
  free(p->db_path);
  free(p->runner_python);
  free(p->runner_protect[0]);
  free(p->home);
  free(p);
  assay_shutdown();
}

/* --- the pool ----------------------------------------------------------------- */

int platform_store_acquire(assay_platform *p, store **out) {
  pthread_mutex_lock(&p->lock);
  store *s = p->n_idle > 0 ? p->idle[--p->n_idle] : NULL;
  pthread_mutex_unlock(&p->lock);
  if (s) {
    *out = s;
    return ASSAY_OK;
  }
  return store_sqlite_open(out, p->db_path);
}

void platform_store_release(assay_platform *p, store *s) {
  if (!s) return;
  s->ops->rollback(s); /* never hand on an open transaction */
  (void)platform_compact(p, s);
  pthread_mutex_lock(&p->lock);
  if (p->n_idle < POOL_IDLE_MAX) {
    p->idle[p->n_idle++] = s;
    s = NULL;
  }
  pthread_mutex_unlock(&p->lock);
  if (s) s->ops->close(s);
}

struct secret_keyring *platform_keyring(assay_platform *p) { return p->keyring; }

/* --- compaction ----------------------------------------------------------------- */

int platform_compact(assay_platform *p, store *s) {
  unsigned wrote = s->ops->take_writes(s);
  pthread_mutex_lock(&p->lock);
  if (wrote & STORE_DROPPED_SECRETS) p->compact_need++;
  int pending = p->compact_need > p->compact_done;
  unsigned long start = p->compact_need; /* what a compaction from here covers */
  pthread_mutex_unlock(&p->lock);
  /* Nothing to do; or pending, but this connection wrote nothing: readers
   * are not held up by retries (a write retries it). */
  if (!pending || !(wrote & (STORE_WROTE | STORE_DROPPED_SECRETS))) return !pending;
  saved_error e;
  error_save(&e);
  int done = 0;
  (void)s->ops->compact(s, &done); /* a failure: still pending */
  error_restore(&e);
  pthread_mutex_lock(&p->lock);
  if (done && start > p->compact_done) p->compact_done = start;
  pending = p->compact_need > p->compact_done;
  pthread_mutex_unlock(&p->lock);
  return !pending;
}

/* --- key rotation ------------------------------------------------------------- */

int platform_rotate_key(assay_platform *p, store *s, json_t **answer) {
  size_t resealed = 0;
  char key_id[SECRET_KEY_ID_LEN + 1];
  int rc = keyring_rotate(p->keyring, s, &resealed, key_id);
  /* The retired key's ciphertexts out of the WAL and the free pages (also
   * when only the last file step failed: the values were re-sealed). */
  int compacted = platform_compact(p, s);
  if (rc) return rc;
  json_t *j = json_pack("{s:s, s:I, s:b}", "key_id", key_id, "secrets_resealed",
                        (json_int_t)resealed, "compacted", compacted);
  if (!j) return assay__nomem();
  *answer = j;
  return ASSAY_OK;
}

int assay_platform_rotate_key(assay_value **out, assay_platform *p) {
  if (!p) return assay__err(ASSAY_ERR_CONFIG, "assay_platform_rotate_key: no platform");
  store *s = NULL;
  int rc = platform_store_acquire(p, &s);
  if (rc) return rc;
  json_t *j = NULL;
  rc = platform_rotate_key(p, s, &j);
  platform_store_release(p, s);
  if (rc) return rc;
  if (out) *out = AV(j);
  else json_decref(j);
  return ASSAY_OK;
}
