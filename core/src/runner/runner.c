/* runner/runner.c — user Python code in a child process: the runner script
 * written to <home>/runtime/, the child started in its sandbox (Landlock
 * rules built before fork, new user / PID / mount namespaces, an allowlisted
 * environment) with the request on stdin only, its output redacted into the
 * log, its time and memory limited, its run cancellable by the caller, and
 * the columnar parts it writes mapped into one frame (see runner/runner.h). */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "runner/runner.h"

#ifndef ASSAY_DEFAULT_PYTHON
#  define ASSAY_DEFAULT_PYTHON "python3"
#endif

extern char **environ;

/* The runner script's bytes, generated from runner/assay_runner.py at build
 * time (core/CMakeLists.txt). */
extern const unsigned char assay_runner_script[];
extern const size_t assay_runner_script_len;

#define READ_CHUNK 65536
#define LINE_MAX_BYTES 16384        /* longer output lines are split        */
#define RESULT_MAX (8u << 20)       /* bytes of the result line kept        */
#define TAIL_MAX 2048               /* stderr kept for "no result" messages */
#define MESSAGE_MAX 4096            /* head of a failure message kept       */
#define TRACEBACK_MAX 8192          /* tail of a traceback kept in messages */
#define TRACEBACK_LOG_MAX 131072    /* tail of a traceback written to the log */
#define POLL_MS 50                  /* wake-up period (exit, RSS, deadline) */
#define DRAIN_S 2.0                 /* output drained after the child exits */

/* --- the runner script on disk ----------------------------------------------- */

static int mkdir_0700(const char *path) {
  if (mkdir(path, 0700) != 0 && errno != EEXIST)
    return assay__err(ASSAY_ERR_INTERNAL, "cannot create the folder '%s': %s", path,
                      strerror(errno));
  return ASSAY_OK;
}

static int write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* <home>/runtime/assay_runner-<first 16 hex of BLAKE2b>.py, written once
 * (0600, through a temporary file renamed into place). */
static int script_path(const char *home, char **out) {
  *out = NULL;
  if (!home || !*home)
    return assay__err(ASSAY_ERR_INTERNAL, "runner: no platform home for the runner script");
  unsigned char h[8];
  crypto_generichash(h, sizeof h, assay_runner_script, assay_runner_script_len, NULL, 0);
  char hex[2 * sizeof h + 1];
  sodium_bin2hex(hex, sizeof hex, h, sizeof h);
  char *dir = NULL, *path = NULL, *tmp = NULL;
  int rc = ASSAY_OK;
  if (asprintf(&dir, "%s/runtime", home) < 0) dir = NULL;
  if (!dir || asprintf(&path, "%s/assay_runner-%s.py", dir, hex) < 0) {
    free(dir);
    return assay__nomem();
  }
  struct stat st;
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
      (size_t)st.st_size == assay_runner_script_len) {
    free(dir);
    *out = path;
    return ASSAY_OK;
  }
  rc = mkdir_0700(dir);
  if (!rc && asprintf(&tmp, "%s/.assay_runner-XXXXXX", dir) < 0) rc = assay__nomem();
  if (!rc) {
    int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
    if (fd < 0) {
      rc = assay__err(ASSAY_ERR_INTERNAL, "cannot write the runner script in '%s': %s", dir,
                      strerror(errno));
    } else {
      int ok = write_all(fd, assay_runner_script, assay_runner_script_len) == 0 && fsync(fd) == 0;
      int err = errno;
      close(fd);
      /* Linked, not renamed, into place: a script another thread (or
       * process) put there first is never replaced — a child sandboxed
       * with a Landlock rule on that file's inode could not read a
       * replacement. Only a damaged one (wrong size) is renamed over. */
      if (ok && link(tmp, path) != 0) {
        ok = errno == EEXIST && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
             (size_t)st.st_size == assay_runner_script_len;
        if (!ok) ok = rename(tmp, path) == 0;
        err = errno;
      }
      unlink(tmp); /* the linked name stays */
      if (!ok)
        rc = assay__err(ASSAY_ERR_INTERNAL, "cannot write the runner script '%s': %s", path,
                        strerror(err));
    }
  }
  free(tmp);
  free(dir);
  if (rc) {
    free(path);
    return rc;
  }
  *out = path;
  return ASSAY_OK;
}

/* --- the interpreter -------------------------------------------------------- */

/* An absolute (or relative-with-slash) path to an executable: `python` as
 * given when it has a '/', else searched on PATH. */
static int resolve_python(const char *python, char **out) {
  *out = NULL;
  if (strchr(python, '/')) {
    if (access(python, X_OK) != 0)
      return assay__err(ASSAY_ERR_DATA, "the runner interpreter '%s' cannot be run: %s", python,
                        strerror(errno));
    if (!(*out = strdup(python))) return assay__nomem();
    return ASSAY_OK;
  }
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
  const char *p = path;
  while (*p) {
    const char *colon = strchr(p, ':');
    size_t dl = colon ? (size_t)(colon - p) : strlen(p);
    char *cand = NULL;
    if (asprintf(&cand, "%.*s/%s", (int)dl, dl ? p : ".", python) < 0) return assay__nomem();
    struct stat st;
    if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
      *out = cand;
      return ASSAY_OK;
    }
    free(cand);
    p += dl;
    if (*p == ':') p++;
  }
  return assay__err(ASSAY_ERR_DATA, "the runner interpreter '%s' was not found on PATH", python);
}

/* --- the sandbox: Landlock rules, built in the parent before fork ---------------------- */

#ifndef SYS_landlock_create_ruleset
#  define SYS_landlock_create_ruleset 444
#endif
#ifndef SYS_landlock_add_rule
#  define SYS_landlock_add_rule 445
#endif
#ifndef SYS_landlock_restrict_self
#  define SYS_landlock_restrict_self 446
#endif
/* rights and scopes newer than some <linux/landlock.h> */
#define LL_FS_REFER (1ULL << 13)     /* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14)  /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)               /* ABI 6 */

/* The kernel's structures, as of ABI 6 (an older kernel accepts the larger
 * size as long as the fields it does not know are zero). */
typedef struct ll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
} ll_ruleset_attr;
typedef struct __attribute__((packed)) ll_path_beneath {
  uint64_t allowed_access;
  int32_t parent_fd;
} ll_path_beneath;

#define R_FILE_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_EXECUTE)
#define R_DIR_READ (R_FILE_READ | LANDLOCK_ACCESS_FS_READ_DIR)
#define R_FILE_WRITE (LANDLOCK_ACCESS_FS_WRITE_FILE | LL_FS_TRUNCATE)
#define R_DIR_WRITE                                                                          \
  (R_FILE_WRITE | LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |           \
   LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK | \
   LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM | LL_FS_REFER)
#define R_DEV                                                                         \
  (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LL_FS_TRUNCATE |    \
   LL_FS_IOCTL_DEV)
/* the rights a rule on a file (not a folder) may carry */
#define R_ON_FILE                                                                         \
  (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                          \
   LANDLOCK_ACCESS_FS_READ_FILE | LL_FS_TRUNCATE | LL_FS_IOCTL_DEV)

/* The Landlock ABI of the running kernel; 0: none. */
static int landlock_abi(const runner_config *cfg) {
  if (cfg->sandbox_test & RUNNER_TEST_NO_LANDLOCK) return 0;
  long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return v > 0 ? (int)v : 0;
}

static uint64_t landlock_fs_rights(int abi) {
  uint64_t r = (1ULL << 13) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
  if (abi >= 2) r |= LL_FS_REFER;
  if (abi >= 3) r |= LL_FS_TRUNCATE;
  if (abi >= 5) r |= LL_FS_IOCTL_DEV;
  return r;
}

/* A protected entry: `name` in the folder `dir` (a real path), and with
 * `siblings` also the entries of `dir` named "<name>.*". */
typedef struct guard {
  char *dir;
  char *name;
  int siblings;
} guard;

typedef struct sandbox_build {
  int fd;             /* the ruleset */
  uint64_t handled;   /* the filesystem rights it handles */
  guard *g;
  size_t ng, cap;
  char *writable[3];  /* real paths of /tmp, /var/tmp (if present) */
  size_t nw;
  char *ro[4];        /* real paths kept read-only inside the writable roots */
  size_t nro;
} sandbox_build;

/* Is `p` the path `root` or below it? */
static int path_under(const char *p, const char *root) {
  if (strcmp(root, "/") == 0) return p[0] == '/';
  size_t n = strlen(root);
  return strncmp(p, root, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

static char *path_join(const char *dir, const char *name) {
  char *p = NULL;
  if (asprintf(&p, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name) < 0) return NULL;
  return p;
}

/* Is the entry `name` of the folder `dir` protected? */
static int guarded_entry(const sandbox_build *b, const char *dir, const char *name) {
  for (size_t i = 0; i < b->ng; i++) {
    const guard *g = &b->g[i];
    if (strcmp(g->dir, dir) != 0) continue;
    size_t n = strlen(g->name);
    if (strcmp(name, g->name) == 0 || (g->siblings && strncmp(name, g->name, n) == 0 &&
                                       name[n] == '.'))
      return 1;
  }
  return 0;
}

/* Does the folder `p` hold a protected entry (at any depth)? */
static int holds_guarded(const sandbox_build *b, const char *p) {
  for (size_t i = 0; i < b->ng; i++)
    if (path_under(b->g[i].dir, p)) return 1;
  return 0;
}

/* Is `p` a protected entry or below one? */
static int inside_guarded(const sandbox_build *b, const char *p) {
  for (size_t i = 0; i < b->ng; i++) {
    const char *dir = b->g[i].dir;
    if (!path_under(p, dir) || strcmp(p, dir) == 0) continue;
    const char *rest = p + (strcmp(dir, "/") == 0 ? 1 : strlen(dir) + 1);
    size_t n = strcspn(rest, "/");
    char name[NAME_MAX + 1];
    if (n > NAME_MAX) continue;
    memcpy(name, rest, n);
    name[n] = '\0';
    if (guarded_entry(b, dir, name)) return 1;
  }
  return 0;
}

static int is_writable_root_below(const sandbox_build *b, const char *p) {
  for (size_t i = 0; i < b->nw; i++)
    if (path_under(p, b->writable[i])) return 1;
  return 0;
}

/* Is `p` a read-only path or below one? */
static int inside_readonly(const sandbox_build *b, const char *p) {
  for (size_t i = 0; i < b->nro; i++)
    if (path_under(p, b->ro[i])) return 1;
  return 0;
}

/* Does the folder `p` hold a read-only path (strictly below it)? */
static int holds_readonly(const sandbox_build *b, const char *p) {
  for (size_t i = 0; i < b->nro; i++)
    if (path_under(b->ro[i], p) && strcmp(b->ro[i], p) != 0) return 1;
  return 0;
}

/* The folder of `path` (a copy; "." for a bare name, "/" for "/x"). */
static char *parent_of(const char *path) {
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/') n--;
  while (n > 0 && path[n - 1] != '/') n--;
  if (n == 0) return strdup(".");
  while (n > 1 && path[n - 1] == '/') n--;
  return strndup(path, n);
}

/* Keep the folder `dir` (resolved; skipped if it does not exist) read-only
 * when it lies in a writable root. A writable root that is the folder
 * itself stops being writable; a folder that holds a writable root (an
 * installation at "/" or "/var") changes nothing: outside the writable
 * roots everything is read-only already. */
static int add_readonly(sandbox_build *b, const char *dir) {
  char *real = dir ? realpath(dir, NULL) : NULL;
  if (!real) return dir ? ASSAY_OK : assay__nomem();
  for (size_t i = 0; i < b->nw; i++) {
    if (strcmp(real, b->writable[i]) != 0) continue;
    free(b->writable[i]);
    b->writable[i] = b->writable[--b->nw];
    i--;
  }
  int keep = is_writable_root_below(b, real) && !inside_readonly(b, real) &&
             b->nro < sizeof b->ro / sizeof b->ro[0];
  if (keep) b->ro[b->nro++] = real;
  else free(real);
  return ASSAY_OK;
}

/* The installation of the interpreter `exe` (as resolved, maybe through
 * links) and of libassay, read-only even under /tmp: the venv folder
 * (exe's grandparent as given, when it has a pyvenv.cfg), the prefix of
 * the real interpreter (grandparent of realpath(exe)), and the folder of
 * the running libassay (or of the program it is linked into). */
static int add_installation(sandbox_build *b, const char *exe) {
  int rc = ASSAY_OK;
  char *bin = parent_of(exe), *venv = bin ? parent_of(bin) : NULL;
  char *cfgp = venv ? path_join(venv, "pyvenv.cfg") : NULL;
  if (!cfgp) rc = assay__nomem();
  if (!rc && access(cfgp, F_OK) == 0) rc = add_readonly(b, venv);
  free(cfgp);
  free(venv);
  free(bin);
  char *real = rc ? NULL : realpath(exe, NULL);
  if (real) {
    bin = parent_of(real);
    venv = bin ? parent_of(bin) : NULL;
    rc = add_readonly(b, venv);
    free(venv);
    free(bin);
    free(real);
  }
  Dl_info info;
  if (!rc && dladdr((const void *)assay_runner_script, &info) && info.dli_fname &&
      strchr(info.dli_fname, '/')) {
    char *lib = parent_of(info.dli_fname);
    rc = add_readonly(b, lib);
    free(lib);
  }
  /* a writable root dropped above: what was in it is read-only anyway */
  for (size_t i = 0; i < b->nro; i++) {
    if (is_writable_root_below(b, b->ro[i])) continue;
    free(b->ro[i]);
    b->ro[i--] = b->ro[--b->nro];
  }
  return rc;
}

/* Add a guard for the real path `real` (split into folder and name). */
static int add_guard(sandbox_build *b, const char *real, int siblings) {
  const char *slash = strrchr(real, '/');
  if (!slash || !slash[1])
    return assay__err(ASSAY_ERR_CONFIG, "the sandbox cannot protect '%s'", real);
  if (b->ng == b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 4;
    guard *ng = realloc(b->g, ncap * sizeof *ng);
    if (!ng) return assay__nomem();
    b->g = ng;
    b->cap = ncap;
  }
  guard *g = &b->g[b->ng];
  g->dir = slash == real ? strdup("/") : strndup(real, (size_t)(slash - real));
  g->name = strdup(slash + 1);
  g->siblings = siblings;
  if (!g->dir || !g->name) {
    free(g->dir);
    free(g->name);
    return assay__nomem();
  }
  b->ng++;
  return ASSAY_OK;
}

/* A protected path as configured: its real path (when it exists) and the
 * name in its folder's real path (for files that appear later). */
static int add_protected(sandbox_build *b, const char *path, int siblings) {
  char *real = realpath(path, NULL);
  int rc = ASSAY_OK;
  if (real) rc = add_guard(b, real, siblings);
  free(real);
  if (rc || !siblings) return rc;
  char *copy = strdup(path);
  if (!copy) return assay__nomem();
  char *slash = strrchr(copy, '/');
  const char *name = slash ? slash + 1 : copy;
  const char *dir = slash ? (slash == copy ? "/" : copy) : ".";
  if (slash && slash != copy) *slash = '\0';
  char *rdir = *name ? realpath(dir, NULL) : NULL;
  char *full = rdir ? path_join(rdir, name) : NULL;
  if (rdir && !full) rc = assay__nomem();
  if (full) rc = add_guard(b, full, siblings);
  free(full);
  free(rdir);
  free(copy);
  return rc;
}

/* Grant `rights` (cut to what the ruleset handles, and to file rights on a
 * file) on the entry `name` of the folder open as `dirfd` (AT_FDCWD: a
 * path). Links are not followed. 0, or an errno. */
static int grant(sandbox_build *b, int dirfd, const char *name, uint64_t rights) {
  int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st;
  int err = 0;
  if (fstat(fd, &st) != 0) {
    err = errno;
  } else if (S_ISLNK(st.st_mode)) {
    err = ELOOP;
  } else {
    if (!S_ISDIR(st.st_mode)) rights &= R_ON_FILE;
    ll_path_beneath pb = {.allowed_access = rights & b->handled, .parent_fd = fd};
    if (pb.allowed_access &&
        syscall(SYS_landlock_add_rule, b->fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0)
      err = errno;
  }
  close(fd);
  return err;
}

/* grant() on a path: its folder resolved, its last component not followed
 * (".", ".." and "/" resolved whole). 0, or an errno. */
static int grant_path(sandbox_build *b, const char *path, uint64_t rights) {
  const char *slash = strrchr(path, '/');
  const char *name = slash ? slash + 1 : path;
  if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
    char *real = realpath(path, NULL);
    if (!real) return errno;
    int dfd = open(real, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int err = dfd < 0 ? errno : grant(b, dfd, ".", rights);
    if (dfd >= 0) close(dfd);
    free(real);
    return err;
  }
  char *dir = slash ? (slash == path ? strdup("/") : strndup(path, (size_t)(slash - path)))
                    : strdup(".");
  if (!dir) return ENOMEM;
  int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int err = dfd < 0 ? errno : grant(b, dfd, name, rights);
  if (dfd >= 0) close(dfd);
  free(dir);
  return err;
}

/* The entries of /dev a loader may use (never a disk). */
static int dev_allowed(const char *name) {
  static const char *const ok[] = {"null", "zero", "full", "random", "urandom",
                                   "tty",  "ptmx", "pts",  "shm"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (strcmp(name, ok[i]) == 0) return 1;
  return 0;
}

/* Read and execute on every entry of `dir` but the protected ones; into
 * folders that hold a protected entry or a read-only path (and /dev) it
 * goes down. Entries under /tmp and /var/tmp are writable too (/dev/shm
 * only readable),
 * but for the read-only paths (the interpreter's installation). An entry
 * that cannot be opened is left out (denied). */
static int grant_complement(sandbox_build *b, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return ASSAY_OK;
  int in_dev = strcmp(dir, "/dev") == 0;
  int rc = ASSAY_OK;
  struct dirent *e;
  while (!rc && (e = readdir(d))) {
    const char *name = e->d_name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    if (guarded_entry(b, dir, name)) continue;
    if (in_dev && !dev_allowed(name)) continue;
    struct stat st;
    if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0 || S_ISLNK(st.st_mode))
      continue; /* a link's target is covered (or not) where it lies */
    char *path = path_join(dir, name);
    if (!path) {
      rc = assay__nomem();
      break;
    }
    if (S_ISDIR(st.st_mode) && (holds_guarded(b, path) ||
                                (holds_readonly(b, path) && !inside_readonly(b, path)) ||
                                strcmp(path, "/dev") == 0)) {
      rc = grant_complement(b, path);
    } else {
      uint64_t rights = R_DIR_READ;
      if (is_writable_root_below(b, path) && !inside_readonly(b, path)) rights |= R_DIR_WRITE;
      else if (in_dev && strcmp(name, "shm") == 0) rights = R_DIR_READ;
      else if (in_dev) rights = R_DEV | LANDLOCK_ACCESS_FS_READ_DIR;
      (void)grant(b, dirfd(d), name, rights);
    }
    free(path);
  }
  closedir(d);
  return rc;
}

/* The sandbox of one run, prepared before fork. */
typedef struct sandbox {
  int abi;            /* Landlock ABI; 0: no sandbox */
  int fd;             /* the ruleset; -1: none */
  uint64_t proc_rights; /* for the child's own /proc */
  uint64_t shm_rights;  /* for the child's own /dev/shm */
  int tmp_writable;   /* the TMPDIR (or /tmp) the platform has is writable */
} sandbox;

static void sandbox_free_build(sandbox_build *b) {
  for (size_t i = 0; i < b->ng; i++) {
    free(b->g[i].dir);
    free(b->g[i].name);
  }
  free(b->g);
  for (size_t i = 0; i < b->nw; i++) free(b->writable[i]);
  for (size_t i = 0; i < b->nro; i++) free(b->ro[i]);
}

/* Build the ruleset: `read_dir` (the loader's folder) or `read_file` (the
 * data file), `script` readable, `out_dir` writable, the installation of
 * the interpreter `exe` read-only, the rest as runner.h says. */
static int sandbox_prepare(sandbox *sb, const runner_config *cfg, int abi, const char *exe,
                           const char *read_dir, const char *read_file, const char *script,
                           const char *out_dir) {
  sb->abi = abi;
  sb->fd = -1;
  sandbox_build b;
  memset(&b, 0, sizeof b);
  b.fd = -1;
  b.handled = landlock_fs_rights(abi);
  sb->proc_rights = R_DIR_READ & b.handled;
  sb->shm_rights = (R_DIR_READ | R_DIR_WRITE) & b.handled;
  ll_ruleset_attr attr = {.handled_access_fs = b.handled, .handled_access_net = 0,
                          .scoped = abi >= 6 ? LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL
                                             : 0};
  int rc = ASSAY_OK;
  char *home = cfg->home ? realpath(cfg->home, NULL) : NULL;
  if (!home)
    rc = assay__err(ASSAY_ERR_INTERNAL, "runner: cannot resolve the platform home for the "
                                        "sandbox: %s", cfg->home ? strerror(errno) : "none");
  if (!rc) rc = add_guard(&b, home, 0); /* "/" as home: refused here */
  for (size_t i = 0; !rc && cfg->protect && cfg->protect[i]; i++)
    if (*cfg->protect[i]) rc = add_protected(&b, cfg->protect[i], 1);
  /* not /dev/shm: the machine's is read-only, the run gets its own (see
   * child_exec) */
  static const char *const tmp_roots[] = {"/tmp", "/var/tmp"};
  for (size_t i = 0; !rc && i < 2; i++) {
    char *r = realpath(tmp_roots[i], NULL);
    if (r && !inside_guarded(&b, r)) b.writable[b.nw++] = r;
    else free(r);
  }
  if (!rc) rc = add_installation(&b, exe);
  if (!rc) {
    long fd = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    if (fd < 0)
      rc = assay__err(ASSAY_ERR_INTERNAL, "runner: cannot create the Landlock sandbox: %s",
                      strerror(errno));
    else b.fd = (int)fd;
  }
  if (!rc) rc = grant_complement(&b, "/");
  /* a writable root that is not handled entry by entry above */
  for (size_t i = 0; !rc && i < b.nw; i++)
    if (!holds_guarded(&b, b.writable[i]) && !holds_readonly(&b, b.writable[i]))
      (void)grant(&b, AT_FDCWD, b.writable[i], R_DIR_READ | R_DIR_WRITE);
  /* what the run needs inside the protected paths */
  struct {
    const char *path;
    uint64_t rights;
  } need[] = {{out_dir, R_DIR_READ | R_DIR_WRITE},
              {script, LANDLOCK_ACCESS_FS_READ_FILE},
              {read_dir, R_DIR_READ},
              {read_file, LANDLOCK_ACCESS_FS_READ_FILE}};
  for (size_t i = 0; !rc && i < sizeof need / sizeof need[0]; i++) {
    if (!need[i].path) continue;
    int err = grant_path(&b, need[i].path, need[i].rights);
    if (err)
      rc = assay__err(ASSAY_ERR_INTERNAL, "runner: cannot open '%s' to the sandbox: %s",
                      need[i].path, strerror(err));
  }
  if (!rc) {
    /* the temporary folder the child is told about: its own if the
     * platform's is not writable in the sandbox */
    const char *t = getenv("TMPDIR");
    char *rt = realpath(t && *t ? t : "/tmp", NULL);
    sb->tmp_writable = rt && is_writable_root_below(&b, rt) && !inside_guarded(&b, rt) &&
                       !holds_guarded(&b, rt) && !inside_readonly(&b, rt) &&
                       !holds_readonly(&b, rt);
    free(rt);
  }
  free(home);
  if (rc) {
    if (b.fd >= 0) close(b.fd);
  } else {
    sb->fd = b.fd;
  }
  sandbox_free_build(&b);
  return rc;
}

/* --- the environment ----------------------------------------------------------------- */

/* Is the "NAME=value" entry one the child may get? */
static int env_allowed(const char *entry) {
  static const char *const names[] = {
      "PATH",          "HOME",          "LANG",          "LANGUAGE",           "TZ",
      "TMPDIR",        "TERM",          "PYTHONPATH",    "PYTHONIOENCODING",   "VIRTUAL_ENV",
      "CONDA_PREFIX",  "SSL_CERT_FILE", "SSL_CERT_DIR",  "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
      "http_proxy",    "HTTP_PROXY",    "https_proxy",   "HTTPS_PROXY",        "no_proxy",
      "NO_PROXY",      "all_proxy",     "ALL_PROXY"};
  if (strncmp(entry, "ASSAY_", 6) == 0) return 0;
  if (strncmp(entry, "LC_", 3) == 0 && strchr(entry, '=')) return 1;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    size_t n = strlen(names[i]);
    if (strncmp(entry, names[i], n) == 0 && entry[n] == '=') return 1;
  }
  return 0;
}

/* --- the child's system call filter (seccomp) ------------------------------------- */

/* The memory limit sums the resident memory of the run's PID namespace:
 * a loader must not leave it (a nested user / PID namespace is not
 * counted), nor hold memory no process maps (memfd). So unshare, setns,
 * memfd_create and clone with a namespace flag fail with EPERM; clone3
 * fails with ENOSYS (its flags are behind a pointer the filter cannot
 * read; glibc then falls back to clone). Threads and fork are untouched.
 * On an architecture not listed here the filter is left out. */
#if defined(__x86_64__)
#  define SC_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__) && !defined(__AARCH64EB__)
#  define SC_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef SC_ARCH
#  ifndef SYS_clone3
#    define SYS_clone3 435
#  endif
#  ifndef SYS_memfd_create
#    if defined(__x86_64__)
#      define SYS_memfd_create 319
#    else
#      define SYS_memfd_create 279
#    endif
#  endif
#  ifndef CLONE_NEWCGROUP
#    define CLONE_NEWCGROUP 0x02000000
#  endif
#  define SC_NS_FLAGS                                                              \
    (CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC |    \
     CLONE_NEWUTS | CLONE_NEWCGROUP)
#  define SC_RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#  define SC_ERRNO(e) SC_RET(SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
#  define SC_DENY(nr, e) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), SC_ERRNO(e)
static struct sock_filter seccomp_insns[] = {
    /* another ABI (a 32-bit call from a 64-bit process): refused */
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SC_ARCH, 1, 0),
    SC_ERRNO(ENOSYS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
#  if defined(__x86_64__)
    /* x32 calls share the arch value: refused */
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1),
    SC_ERRNO(ENOSYS),
#  endif
    SC_DENY(SYS_unshare, EPERM),
    SC_DENY(SYS_setns, EPERM),
    SC_DENY(SYS_memfd_create, EPERM),
    SC_DENY(SYS_clone3, ENOSYS),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3),
    /* the low 32 bits of the flags (little-endian), where the namespace
     * flags are */
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SC_NS_FLAGS, 0, 1),
    SC_ERRNO(EPERM),
    SC_RET(SECCOMP_RET_ALLOW),
};
#endif

/* The run's own /dev/shm (in its mount namespace) holds at most this much
 * (or the memory limit when lower). */
#define SHM_MAX ((int64_t)256 << 20)

/* --- the child ------------------------------------------------------------------ */

enum {
  STAGE_CHDIR = 1,
  STAGE_EXEC = 2,
  STAGE_FDS = 3,
  STAGE_SANDBOX = 4
};

typedef struct child_plan {
  const char *exe;
  char *const *argv;
  char *const *envp;
  const char *cwd;
  int fds[4];          /* become 0 stdin, 1 stdout, 2 stderr, 3 result */
  int err_fd;          /* reports a failure before exec (becomes 4)    */
  int ruleset_fd;      /* Landlock ruleset (becomes 5), -1: none       */
  uint64_t proc_rights; /* for the namespace's own /proc               */
  uint64_t shm_rights; /* for the namespace's own /dev/shm            */
  char shm_opts[64];   /* its tmpfs options ("mode=1777,size=N")      */
  struct sock_fprog seccomp; /* the system call filter; len 0: none   */
  int ns;              /* started in new user, PID and mount namespaces */
  char uid_map[64];    /* "<uid> <uid> 1\n"                            */
  char gid_map[64];
  int limit_as;
  struct rlimit as;
  int max_fd;          /* fallback bound for closing descriptors       */
  pid_t parent;        /* the platform process                         */
} child_plan;

static void child_fail(int stage, int err) {
  int msg[2] = {stage, err};
  ssize_t n = write(4, msg, sizeof msg);
  (void)n;
  _exit(127);
}

/* Write `text` to /proc/self/<name> (async-signal-safe). */
static int write_proc_self(const char *name, const char *text) {
  char path[64] = "/proc/self/";
  size_t n = strlen(path), m = strlen(name);
  if (n + m >= sizeof path) return -1;
  memcpy(path + n, name, m + 1);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t len = strlen(text);
  ssize_t w = write(fd, text, len);
  close(fd);
  return w == (ssize_t)len ? 0 : -1;
}

/* No capability left, and none to gain by exec (also as root). */
static void drop_capabilities(void) {
  for (int cap = 0; cap < 64; cap++)
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL) break;
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  syscall(SYS_capset, &hdr, data);
}

/* Runs in the forked (or cloned) child of a possibly multi-threaded
 * parent: only async-signal-safe calls, everything prepared before. */
static void child_exec(const child_plan *c) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  static const int sigs[] = {SIGPIPE, SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGCHLD, SIGXFSZ,
                             SIGUSR1, SIGUSR2, SIGALRM, SIGTSTP, SIGTTIN, SIGTTOU};
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &dfl, NULL);
  setsid(); /* own session and process group: killed as one */
  /* A platform that dies without stopping (SIGKILL, a crash) takes the
   * loader with it (the signal comes when the forking thread ends, and
   * worker threads live as long as the platform). In a new PID namespace
   * the parent is not visible (getppid() is 0): the check below on the
   * error pipe covers that case. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (!c->ns && getppid() != c->parent) _exit(127);

  /* move every descriptor we keep above 5 first, so dup2 never clobbers one */
  int moved[6];
  for (int i = 0; i < 4; i++) moved[i] = fcntl(c->fds[i], F_DUPFD_CLOEXEC, 6);
  moved[4] = fcntl(c->err_fd, F_DUPFD_CLOEXEC, 6);
  moved[5] = c->ruleset_fd >= 0 ? fcntl(c->ruleset_fd, F_DUPFD_CLOEXEC, 6) : -1;
  if (moved[4] < 0) _exit(127);
  if (dup2(moved[4], 4) < 0) _exit(127);
  fcntl(4, F_SETFD, FD_CLOEXEC);
  for (int i = 0; i < 4; i++)
    if (moved[i] < 0 || dup2(moved[i], i) < 0) child_fail(STAGE_FDS, errno);
  int ruleset = -1;
  if (c->ruleset_fd >= 0) {
    if (moved[5] < 0 || dup2(moved[5], 5) < 0) child_fail(STAGE_FDS, errno);
    ruleset = 5;
  }
  /* close everything else: close_range when the kernel has it */
  unsigned first = ruleset >= 0 ? 6u : 5u;
  long cr = -1;
#ifdef SYS_close_range
  cr = syscall(SYS_close_range, first, ~0u, 0u);
#endif
  if (cr != 0)
    for (int fd = (int)first; fd < c->max_fd; fd++) close(fd);
  /* the platform still waits on the error pipe: its read end closed means
   * the platform died before PR_SET_PDEATHSIG was in place */
  struct pollfd pf = {4, POLLOUT, 0};
  if (poll(&pf, 1, 0) == 1 && (pf.revents & (POLLERR | POLLHUP))) _exit(127);

  if (c->ns) {
    /* ids mapped 1:1 (best effort: unmapped, the kernel still checks the
     * real ids) */
    (void)write_proc_self("setgroups", "deny");
    (void)write_proc_self("uid_map", c->uid_map);
    (void)write_proc_self("gid_map", c->gid_map);
    /* the namespace's own /proc (its processes only; PID 1 is the
     * loader), readable in the sandbox; kept as it is if the kernel
     * refuses the mount */
    int priv = mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0;
    if (priv && mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0 &&
        ruleset >= 0) {
      int pfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
      ll_path_beneath pb = {.allowed_access = c->proc_rights, .parent_fd = pfd};
      if (pfd < 0 || syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0))
        child_fail(STAGE_SANDBOX, errno);
      close(pfd);
    }
    /* its own bounded /dev/shm, gone with the run; where the kernel
     * refuses it, the machine's stays read-only (the ruleset says so) */
    if (priv &&
        mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, c->shm_opts) == 0 &&
        ruleset >= 0) {
      int sfd = open("/dev/shm", O_PATH | O_DIRECTORY | O_CLOEXEC);
      ll_path_beneath pb = {.allowed_access = c->shm_rights, .parent_fd = sfd};
      if (sfd < 0 || syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0))
        child_fail(STAGE_SANDBOX, errno);
      close(sfd);
    }
  }

  if (c->limit_as) setrlimit(RLIMIT_AS, &c->as);
  if (chdir(c->cwd) != 0) child_fail(STAGE_CHDIR, errno);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(STAGE_SANDBOX, errno);
  if (ruleset >= 0) {
    if (syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) child_fail(STAGE_SANDBOX, errno);
    close(ruleset);
  }
  drop_capabilities();
  /* last: the filter needs no_new_privs (set above) */
  if (c->seccomp.len > 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &c->seccomp) != 0 &&
      c->ruleset_fd >= 0)
    child_fail(STAGE_SANDBOX, errno);
  execve(c->exe, c->argv, c->envp);
  child_fail(STAGE_EXEC, errno);
}

/* Start the child: in new user, PID and mount namespaces when `*ns` (and
 * the kernel lets us; else *ns becomes 0 and *ns_err says why), else as a
 * plain fork. Returns the pid (in the parent), or -1 with errno. */
static pid_t spawn_child(child_plan *c, int *ns, int *ns_err) {
  *ns_err = 0;
  if (*ns) {
#ifdef SYS_clone3
    struct {
      uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    } args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC; /* own SysV IPC too */
    args.exit_signal = SIGCHLD;
    c->ns = 1;
    /* like fork (no CLONE_VM, no new stack); the child calls only what
     * child_exec calls */
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) child_exec(c); /* does not return */
    if (pid > 0) return (pid_t)pid;
    *ns_err = errno;
#else
    *ns_err = ENOSYS;
#endif
    if (*ns_err == EAGAIN || *ns_err == ENOMEM) {
      errno = *ns_err;
      return -1;
    }
    *ns = 0;
  }
  c->ns = 0;
  pid_t pid = fork();
  if (pid == 0) child_exec(c); /* does not return */
  return pid;
}

/* --- output: redaction, lines, the log --------------------------------------------- */

typedef struct out_stream {
  const char *name;       /* "stdout" / "stderr" */
  int fd;                 /* -1 once at EOF */
  redact_stream *rs;
  char *line;             /* redacted bytes of the current line */
  size_t line_len;
  char tail[TAIL_MAX];    /* the last redacted bytes (for messages) */
  size_t tail_len;
} out_stream;

typedef struct run_ctx {
  runner_log_fn log;
  void *log_ctx;
} run_ctx;

static void emit_line(const run_ctx *x, out_stream *o) {
  size_t n = o->line_len;
  if (n && o->line[n - 1] == '\r') n--;
  if (x->log) x->log(x->log_ctx, o->name, o->line, n);
  o->line_len = 0;
}

static void keep_tail(out_stream *o, const char *data, size_t n) {
  if (n >= TAIL_MAX) {
    memcpy(o->tail, data + n - TAIL_MAX, TAIL_MAX);
    o->tail_len = TAIL_MAX;
    return;
  }
  if (o->tail_len + n > TAIL_MAX) {
    size_t drop = o->tail_len + n - TAIL_MAX;
    memmove(o->tail, o->tail + drop, o->tail_len - drop);
    o->tail_len -= drop;
  }
  memcpy(o->tail + o->tail_len, data, n);
  o->tail_len += n;
}

/* Redacted bytes -> whole lines to the log (a line longer than
 * LINE_MAX_BYTES goes out in pieces). */
static void take_redacted(const run_ctx *x, out_stream *o, const char *data, size_t n) {
  keep_tail(o, data, n);
  while (n) {
    const char *nl = memchr(data, '\n', n);
    size_t seg = nl ? (size_t)(nl - data) : n;
    while (seg) {
      size_t room = LINE_MAX_BYTES - o->line_len;
      size_t take = seg < room ? seg : room;
      memcpy(o->line + o->line_len, data, take);
      o->line_len += take;
      data += take;
      n -= take;
      seg -= take;
      if (o->line_len == LINE_MAX_BYTES) emit_line(x, o);
    }
    if (nl) {
      emit_line(x, o);
      data++;
      n--;
    }
  }
}

static int feed_output(const run_ctx *x, out_stream *o, const char *data, size_t n, int final) {
  const char *red;
  size_t rn;
  int rc = redact_stream_feed(o->rs, data, n, final, &red, &rn);
  if (rc) return rc;
  take_redacted(x, o, red, rn);
  if (final && o->line_len) emit_line(x, o);
  return ASSAY_OK;
}

/* Log a (redacted) text line by line. */
static void log_text(const run_ctx *x, const char *stream, const char *text) {
  if (!x->log || !text) return;
  while (*text) {
    const char *nl = strchr(text, '\n');
    size_t n = nl ? (size_t)(nl - text) : strlen(text);
    x->log(x->log_ctx, stream, text, n);
    text += n;
    if (*text) text++;
  }
}

/* --- memory: resident set of the namespace or process group ---------------------------- */

/* Bytes resident in the process /proc/<name> (from its statm). */
static int64_t proc_rss(const char *name, long page) {
  char path[300], buf[256];
  snprintf(path, sizeof path, "/proc/%s/statm", name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  long long size = 0, resident = 0;
  if (sscanf(buf, "%lld %lld", &size, &resident) != 2) return 0;
  return (int64_t)resident * page;
}

/* Bytes resident in all processes of the PID namespace whose nsfs inode is
 * (dev, ino): every process the loader started, wherever it went. */
static int64_t ns_rss(dev_t dev, ino_t ino) {
  DIR *d = opendir("/proc");
  if (!d) return 0;
  long page = sysconf(_SC_PAGESIZE);
  int64_t total = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char path[300];
    snprintf(path, sizeof path, "/proc/%s/ns/pid", e->d_name);
    struct stat st;
    if (stat(path, &st) != 0 || st.st_ino != ino || st.st_dev != dev) continue;
    total += proc_rss(e->d_name, page);
  }
  closedir(d);
  return total;
}

/* Bytes resident in all processes of group `pgid` (from /proc/<pid>/stat). */
static int64_t group_rss(pid_t pgid) {
  DIR *d = opendir("/proc");
  if (!d) return 0;
  long page = sysconf(_SC_PAGESIZE);
  int64_t total = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    char path[300], buf[1024];
    snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p) continue;
    /* fields after the name: state ppid pgrp ... rss is field 24 (1-based) */
    long long field[22];
    char state;
    int got = sscanf(p + 1,
                     " %c %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld "
                     "%lld %lld %lld %lld %lld %lld %lld",
                     &state, &field[0], &field[1], &field[2], &field[3], &field[4], &field[5],
                     &field[6], &field[7], &field[8], &field[9], &field[10], &field[11],
                     &field[12], &field[13], &field[14], &field[15], &field[16], &field[17],
                     &field[18], &field[19], &field[20]);
    if (got < 22) continue;
    /* field[0]=ppid(4) [1]=pgrp(5) ... [19]=vsize(23) [20]=rss(24) */
    if ((pid_t)field[1] == pgid) total += (int64_t)field[20] * page;
  }
  closedir(d);
  return total;
}

/* --- time -------------------------------------------------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- the run -------------------------------------------------------------------------- */

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static int set_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Remove what the child left in output_dir: its part files (and their
 * temporary files). */
static void remove_parts(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "part-", 5) != 0) continue;
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, e->d_name) >= 0) {
      unlink(p);
      free(p);
    }
  }
  closedir(d);
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

/* Wipe a jansson string's bytes in place (it may hold a secret). */
static void wipe_json_string(json_t *s) {
  if (json_is_string(s) && json_string_length(s))
    sodium_memzero((char *)json_string_value(s), json_string_length(s));
}

/* Redacted copy of at most `max` bytes of text (the head, or the tail when
 * `tail`), on a UTF-8 boundary. */
static char *redact_capped(const redactor *r, const char *text, size_t max, int tail) {
  if (!text) return strdup("");
  char *red = redact_text(r, text, strlen(text));
  if (!red) return NULL;
  size_t n = strlen(red);
  if (n <= max) return red;
  char *out = NULL;
  if (tail) {
    size_t start = n - max;
    while (start < n && ((unsigned char)red[start] & 0xc0) == 0x80) start++;
    if (asprintf(&out, "... (%zu bytes before)\n%s", start, red + start) < 0) out = NULL;
  } else {
    size_t end = max;
    while (end > 0 && ((unsigned char)red[end] & 0xc0) == 0x80) end--;
    if (asprintf(&out, "%.*s... (%zu more bytes)", (int)end, red, n - end) < 0) out = NULL;
  }
  free(red);
  return out;
}

/* The error for a failure the child reported. */
static int child_failure(const char *python, const char *what, const redactor *red,
                         const run_ctx *x, json_t *res, int64_t mem_limit) {
  const char *kind = json_string_value(json_object_get(res, "kind"));
  const char *exc_type = json_string_value(json_object_get(res, "exc_type"));
  char *msg = redact_capped(red, json_string_value(json_object_get(res, "message")),
                            MESSAGE_MAX, 0);
  char *tb = NULL, *tb_log = NULL;
  const char *raw_tb = json_string_value(json_object_get(res, "traceback"));
  if (raw_tb && *raw_tb) {
    tb = redact_capped(red, raw_tb, TRACEBACK_MAX, 1);
    tb_log = redact_capped(red, raw_tb, TRACEBACK_LOG_MAX, 1);
  }
  int rc;
  if (!msg || (raw_tb && *raw_tb && (!tb || !tb_log))) {
    rc = assay__nomem();
  } else {
    log_text(x, "stderr", tb_log ? tb_log : msg);
    const char *sep = tb ? "\n" : "";
    const char *tbt = tb ? tb : "";
    size_t tbl = strlen(tbt);
    if (tbl && tbt[tbl - 1] == '\n') tbl--;
    if (kind && strcmp(kind, "pandas") == 0) {
      rc = assay__err(ASSAY_ERR_DATA, "the runner interpreter '%s' cannot import pandas: %s",
                      python, msg);
    } else if (mem_limit > 0 && exc_type && strcmp(exc_type, "MemoryError") == 0) {
      rc = assay__err(ASSAY_ERR_DATA, "%s exceeded the memory limit of %lld MiB (%s)%s%.*s",
                      what, (long long)(mem_limit >> 20), msg, sep, (int)tbl, tbt);
    } else {
      rc = assay__err(ASSAY_ERR_DATA, "%s%s%.*s", msg, sep, (int)tbl, tbt);
    }
  }
  free(msg);
  free(tb);
  free(tb_log);
  return rc;
}

/* Read the parts the child listed and join them into one frame. A part
 * may be at most twice the memory limit (the child held what it wrote;
 * none: the machine's memory), and all of them together at most the
 * machine's memory: each is refused before its buffers are read
 * (frame_read_limited). */
static int map_parts(const char *dir, json_t *parts, int64_t mem_limit, frame **out) {
  size_t n = json_array_size(parts);
  if (!json_is_array(parts) || n == 0 || n > INT_MAX)
    return assay__err(ASSAY_ERR_DATA, "the runner reported no columnar parts");
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  uint64_t total_max = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : UINT64_MAX;
  uint64_t part_max = mem_limit > 0 && (uint64_t)mem_limit <= UINT64_MAX / 2
                          ? 2 * (uint64_t)mem_limit
                          : UINT64_MAX;
  uint64_t used = 0;
  frame **frames = calloc(n, sizeof *frames);
  if (!frames) return assay__nomem();
  int rc = ASSAY_OK;
  for (size_t i = 0; i < n && !rc; i++) {
    const char *name = json_string_value(json_array_get(parts, i));
    if (!name || strncmp(name, "part-", 5) != 0 || strchr(name, '/')) {
      rc = assay__err(ASSAY_ERR_DATA, "the runner reported a bad part name");
      break;
    }
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, name) < 0) {
      rc = assay__nomem();
      break;
    }
    uint64_t left = total_max - used, size = 0;
    if (left == 0) {
      free(path);
      rc = assay__err(ASSAY_ERR_DATA, "the runner's parts hold more than this machine's memory "
                                      "(%llu bytes) after %zu of %zu parts",
                      (unsigned long long)total_max, i, n);
      break;
    }
    /* a copy, not a map: user code may change it */
    rc = frame_read_limited(&frames[i], path, part_max < left ? part_max : left, &size);
    used += size;
    free(path);
  }
  if (!rc) {
    if (n == 1) {
      *out = frames[0];
      frames[0] = NULL;
    } else {
      rc = frame_concat(out, frames, (int)n);
    }
  }
  for (size_t i = 0; i < n; i++) frame_free(frames[i]);
  free(frames);
  return rc;
}

typedef struct run_state {
  const runner_config *cfg;
  const char *python;
  const char *what;          /* "loader" / "data reader" */
  const redactor *red;
  run_ctx x;
  pid_t pid;
  int in_fd;                 /* our end of the child's stdin (socket) */
  int res_fd;                /* our end of the result pipe            */
  out_stream so, se;
  char *req;                 /* the request text (wiped when sent)    */
  size_t req_len, req_sent;
  char *result;              /* the result line                        */
  size_t result_len, result_cap;
  int timed_out, over_memory, exited, status_known;
  int cancelled;             /* the RUNNER_CANCEL_* reason, 0: none    */
  int status;
  int ns;                    /* the child is PID 1 of its own namespace */
  int ns_known;              /* ns_dev / ns_ino name that namespace     */
  dev_t ns_dev;
  ino_t ns_ino;
} run_state;

/* Kill the child and everything it started: its PID namespace goes with
 * it (as PID 1); else its process group. The child is not reaped before
 * the run ends, so neither id can have been reused. */
static void kill_run(const run_state *st) {
  kill(-st->pid, SIGKILL);
  kill(st->pid, SIGKILL);
}

/* Bytes resident in the child and everything it started. */
static int64_t run_rss(const run_state *st) {
  return st->ns_known ? ns_rss(st->ns_dev, st->ns_ino) : group_rss(st->pid);
}

static void wipe_request(run_state *st) {
  if (st->req) {
    sodium_memzero(st->req, st->req_len);
    free(st->req);
    st->req = NULL;
  }
}

static int read_output(run_state *st, out_stream *o, char *buf) {
  for (;;) {
    ssize_t n = read(o->fd, buf, READ_CHUNK);
    if (n > 0) {
      int rc = feed_output(&st->x, o, buf, (size_t)n, 0);
      if (rc) return rc;
      if (n < READ_CHUNK) return ASSAY_OK;
      continue; /* more may be waiting; keep the pipe moving */
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return ASSAY_OK;
    close_fd(&o->fd); /* EOF or error */
    return feed_output(&st->x, o, NULL, 0, 1);
  }
}

static void read_result(run_state *st, char *buf) {
  for (;;) {
    ssize_t n = read(st->res_fd, buf, READ_CHUNK);
    if (n > 0) {
      size_t take = (size_t)n;
      if (st->result_len + take > RESULT_MAX) take = RESULT_MAX - st->result_len;
      if (take) {
        if (st->result_len + take > st->result_cap) {
          size_t ncap = st->result_cap ? st->result_cap : READ_CHUNK;
          while (ncap < st->result_len + take) ncap *= 2;
          char *nb = malloc(ncap);
          if (!nb) return; /* keep what we have */
          if (st->result) {
            memcpy(nb, st->result, st->result_len);
            sodium_memzero(st->result, st->result_cap);
            free(st->result);
          }
          st->result = nb;
          st->result_cap = ncap;
        }
        memcpy(st->result + st->result_len, buf, take);
        st->result_len += take;
      }
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    close_fd(&st->res_fd);
    return;
  }
}

static void write_request(run_state *st) {
  while (st->req_sent < st->req_len) {
    ssize_t n = send(st->in_fd, st->req + st->req_sent, st->req_len - st->req_sent,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      st->req_sent += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    break; /* the child is gone or closed its stdin */
  }
  wipe_request(st);
  close_fd(&st->in_fd);
}

/* Has the child exited? (left a zombie, not reaped, so its process group id
 * cannot be reused before we kill the group). */
static int child_exited(run_state *st) {
  siginfo_t info;
  memset(&info, 0, sizeof info);
  if (waitid(P_PID, (id_t)st->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
    return errno == ECHILD; /* reaped elsewhere (SIGCHLD ignored) */
  return info.si_pid == st->pid;
}

const char *runner_cancel_reason(int reason) {
  switch (reason) {
  case RUNNER_CANCEL_STOPPING: return "the platform is stopping";
  case RUNNER_CANCEL_JOB: return "the job was cancelled";
  default: return "cancelled by the platform";
  }
}

/* The cancellation reason the caller set, or 0. */
static int cancel_requested(const runner_config *cfg) {
  return cfg->cancel ? __atomic_load_n(cfg->cancel, __ATOMIC_ACQUIRE) : 0;
}

/* Poll the child's pipes until it has exited (or been killed). */
static int supervise(run_state *st) {
  char *buf = malloc(READ_CHUNK);
  if (!buf) return assay__nomem();
  int rc = ASSAY_OK;
  double start = now_s();
  double deadline = st->cfg->timeout_s > 0 ? start + st->cfg->timeout_s : 0;
  double next_mem = start;
  double drain_until = 0;
  int64_t mem = st->cfg->memory_bytes;
  for (;;) {
    double t = now_s();
    if (!st->exited && child_exited(st)) {
      st->exited = 1;
      kill_run(st); /* whatever the loader left running */
      drain_until = t + (st->cancelled ? DRAIN_S / 10 : DRAIN_S);
    }
    if (!st->exited && !st->cancelled && (st->cancelled = cancel_requested(st->cfg))) {
      kill_run(st); /* at once: the caller will not wait */
    }
    if (!st->exited && deadline > 0 && t >= deadline && !st->timed_out) {
      st->timed_out = 1;
      kill_run(st);
    }
    if (!st->exited && mem > 0 && t >= next_mem && !st->over_memory && !st->timed_out) {
      next_mem = t + POLL_MS / 1000.0;
      if (run_rss(st) > mem) {
        st->over_memory = 1;
        kill_run(st);
      }
    }
    int open_fds = st->so.fd >= 0 || st->se.fd >= 0 || st->res_fd >= 0;
    if (st->exited && (!open_fds || t >= drain_until)) break;

    struct pollfd pf[4];
    int np = 0, i_in = -1, i_so = -1, i_se = -1, i_res = -1;
    if (st->in_fd >= 0) pf[i_in = np++] = (struct pollfd){st->in_fd, POLLOUT, 0};
    if (st->so.fd >= 0) pf[i_so = np++] = (struct pollfd){st->so.fd, POLLIN, 0};
    if (st->se.fd >= 0) pf[i_se = np++] = (struct pollfd){st->se.fd, POLLIN, 0};
    if (st->res_fd >= 0) pf[i_res = np++] = (struct pollfd){st->res_fd, POLLIN, 0};
    int wait_ms = POLL_MS;
    if (!st->exited && deadline > 0 && !st->timed_out) {
      double left = (deadline - t) * 1000.0;
      if (left < wait_ms) wait_ms = left < 0 ? 0 : (int)left + 1;
    }
    int n = poll(pf, (nfds_t)np, wait_ms);
    if (n < 0) {
      if (errno == EINTR) continue;
      rc = assay__err(ASSAY_ERR_INTERNAL, "runner: poll failed: %s", strerror(errno));
      kill_run(st);
      break;
    }
    if (n == 0) continue;
    if (i_in >= 0 && pf[i_in].revents) write_request(st);
    if (i_so >= 0 && pf[i_so].revents && (rc = read_output(st, &st->so, buf))) break;
    if (i_se >= 0 && pf[i_se].revents && (rc = read_output(st, &st->se, buf))) break;
    if (i_res >= 0 && pf[i_res].revents) read_result(st, buf);
  }
  if (rc) kill_run(st);
  /* settle what is held back in the streams of pipes still open */
  if (st->so.fd >= 0 && !rc) rc = feed_output(&st->x, &st->so, NULL, 0, 1);
  if (st->se.fd >= 0 && !rc) rc = feed_output(&st->x, &st->se, NULL, 0, 1);
  int status = 0;
  pid_t w;
  do w = waitpid(st->pid, &status, 0);
  while (w < 0 && errno == EINTR);
  if (w == st->pid) {
    st->status = status;
    st->status_known = 1;
  }
  sodium_memzero(buf, READ_CHUNK);
  free(buf);
  return rc;
}

/* " (SIGSEGV)" and the like for the signals that end processes, else "". */
static const char *signal_name(int sig) {
  switch (sig) {
  case SIGKILL: return " (SIGKILL)";
  case SIGSEGV: return " (SIGSEGV)";
  case SIGABRT: return " (SIGABRT)";
  case SIGBUS: return " (SIGBUS)";
  case SIGTERM: return " (SIGTERM)";
  case SIGINT: return " (SIGINT)";
  case SIGFPE: return " (SIGFPE)";
  case SIGILL: return " (SIGILL)";
  case SIGPIPE: return " (SIGPIPE)";
  case SIGXCPU: return " (SIGXCPU)";
  default: return "";
  }
}

/* The message for a child that ended without a result line. */
static int no_result_error(run_state *st) {
  char tail[TAIL_MAX + 1];
  size_t n = st->se.tail_len;
  size_t s = 0;
  while (s < n && ((unsigned char)st->se.tail[s] & 0xc0) == 0x80) s++; /* UTF-8 start */
  memcpy(tail, st->se.tail + s, n - s);
  tail[n - s] = '\0';
  while (n - s && (tail[n - s - 1] == '\n' || tail[n - s - 1] == '\r')) tail[--n - s] = '\0';
  const char *sep = tail[0] ? "; its last output:\n" : "";
  char how[128];
  if (!st->status_known)
    snprintf(how, sizeof how, "ended");
  else if (WIFSIGNALED(st->status))
    snprintf(how, sizeof how, "was killed by signal %d%s", WTERMSIG(st->status),
             signal_name(WTERMSIG(st->status)));
  else
    snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(st->status));
  const char *hint = "";
  if (st->cfg->memory_bytes > 0 && st->status_known && WIFSIGNALED(st->status) &&
      (WTERMSIG(st->status) == SIGKILL || WTERMSIG(st->status) == SIGABRT ||
       WTERMSIG(st->status) == SIGSEGV || WTERMSIG(st->status) == SIGBUS))
    hint = " (it may have run out of memory)";
  return assay__err(ASSAY_ERR_DATA, "the %s's process %s without a result%s%s%s", st->what, how,
                    hint, sep, tail);
}

/* The redactor for the request: the integration_dict's values but those
 * named in public_names. */
static int make_redactor(redactor **out, const json_t *request) {
  const json_t *dict = json_object_get(request, "integration_dict");
  const json_t *names = json_object_get(request, "public_names");
  if (!json_is_array(names) || !json_array_size(names)) return redactor_new(out, dict);
  json_t *secrets = json_object();
  if (!secrets) return assay__nomem();
  const char *key;
  json_t *value;
  int rc = ASSAY_OK;
  json_object_foreach((json_t *)dict, key, value) {
    int public = 0;
    size_t i;
    json_t *name;
    json_array_foreach(names, i, name) {
      if (json_is_string(name) && strcmp(json_string_value(name), key) == 0) public = 1;
    }
    if (!public && json_object_set(secrets, key, value) != 0) rc = assay__nomem();
  }
  if (!rc) rc = redactor_new(out, secrets);
  json_decref(secrets); /* only references: the values stay the caller's */
  return rc;
}

/* runner_run without the final redaction of its error; red: the request's
 * redactor. */
static int run(const runner_config *cfg, const json_t *request, const redactor *red,
               runner_log_fn log, void *log_ctx, frame **out) {
  const char *mode = json_string_value(json_object_get(request, "mode"));
  const char *path = json_string_value(json_object_get(request, "path"));
  const char *out_dir = json_string_value(json_object_get(request, "output_dir"));
  int load = mode && strcmp(mode, "load") == 0;
  int predict = mode && strcmp(mode, "predict") == 0;
  int user_code = load || predict; /* a workspace member's Python runs */
  const char *data = predict ? json_string_value(json_object_get(request, "data")) : NULL;
  if (!mode || (!user_code && strcmp(mode, "read") != 0) || !path || !*path || !out_dir ||
      !*out_dir || (predict && (!data || !*data)))
    return assay__err(ASSAY_ERR_INTERNAL,
                      "runner_run: the request needs mode ('load', 'read' or 'predict'), path, "
                      "output_dir (and for 'predict' data)");
  const char *python = cfg->python && *cfg->python ? cfg->python : ASSAY_DEFAULT_PYTHON;
  const char *what = load ? "loader" : predict ? "model" : "data reader";

  int why = cancel_requested(cfg);
  if (why)
    return assay__err(ASSAY_ERR_UNAVAILABLE, "%s cancelled: %s", what, runner_cancel_reason(why));
  /* user code only in a sandbox, unless the platform says otherwise */
  int abi = landlock_abi(cfg);
  if (!abi && user_code && !cfg->allow_unsandboxed)
    return assay__err(ASSAY_ERR_DATA,
                      "%s need Landlock (Linux 5.13+) to keep them away from the "
                      "platform's files; this kernel has none (set "
                      "ASSAY_ALLOW_UNSANDBOXED_LOADERS=1 in the platform's environment to run "
                      "them anyway)",
                      load ? "custom loaders" : "model files");
  /* failures found here need no child */
  struct stat st_file;
  if (stat(path, &st_file) != 0 || !S_ISREG(st_file.st_mode))
    return assay__err(ASSAY_ERR_DATA, "%s file '%s' not found",
                      load ? "loader" : predict ? "model" : "data", base_name(path));
  if (predict && (stat(data, &st_file) != 0 || !S_ISREG(st_file.st_mode)))
    return assay__err(ASSAY_ERR_INTERNAL, "runner: the model's input file '%s' is missing",
                      data);
  char *cwd = NULL;
  if (user_code) {
    const char *slash = strrchr(path, '/');
    if (!slash) cwd = strdup(".");
    else if (slash == path) cwd = strdup("/");
    else cwd = strndup(path, (size_t)(slash - path));
  } else {
    cwd = strdup(out_dir);
  }
  if (!cwd) return assay__nomem();

  run_state st;
  memset(&st, 0, sizeof st);
  st.cfg = cfg;
  st.python = python;
  st.what = what;
  st.x.log = log;
  st.x.log_ctx = log_ctx;
  st.in_fd = st.res_fd = st.so.fd = st.se.fd = -1;
  st.pid = -1;
  st.so.name = "stdout";
  st.se.name = "stderr";

  char *script = NULL, *exe = NULL;
  char **envp = NULL;
  char *tmpdir = NULL; /* "TMPDIR=<out_dir>" when the child gets its own */
  sandbox sb = {0, -1, 0, 0, 0};
  int child_fds[5] = {-1, -1, -1, -1, -1}; /* stdin, stdout, stderr, result, exec error */
  int err_r = -1;
  int rc = ASSAY_OK;
  st.red = red;
  rc = redact_stream_new(&st.so.rs, red);
  if (!rc) rc = redact_stream_new(&st.se.rs, red);
  if (!rc && (!(st.so.line = malloc(LINE_MAX_BYTES)) || !(st.se.line = malloc(LINE_MAX_BYTES))))
    rc = assay__nomem();
  if (!rc) rc = script_path(cfg->home, &script);
  if (!rc) rc = resolve_python(python, &exe);
  if (!rc) {
    st.req = json_dumps(request, JSON_COMPACT);
    if (!st.req) rc = assay__nomem();
    else st.req_len = strlen(st.req);
  }
  if (!rc && abi)
    rc = sandbox_prepare(&sb, cfg, abi, exe, user_code ? cwd : NULL,
                         load ? NULL : predict ? data : path, script, out_dir);
  if (!rc && !abi)
    log_text(&st.x, "stderr",
             load      ? "runner: this kernel has no Landlock: the loader runs WITHOUT a sandbox "
                         "(ASSAY_ALLOW_UNSANDBOXED_LOADERS is set)"
             : predict ? "runner: this kernel has no Landlock: the model runs WITHOUT a sandbox "
                         "(ASSAY_ALLOW_UNSANDBOXED_LOADERS is set)"
                       : "runner: this kernel has no Landlock: the data reader runs without a "
                         "sandbox");
  /* the child's environment: the allowlisted variables of ours, and a
   * temporary folder it can write to */
  if (!rc && abi && !sb.tmp_writable && asprintf(&tmpdir, "TMPDIR=%s", out_dir) < 0) {
    tmpdir = NULL;
    rc = assay__nomem();
  }
  if (!rc) {
    size_t n = 0;
    for (char **e = environ; e && *e; e++) n++;
    envp = calloc(n + 2, sizeof *envp);
    if (!envp) rc = assay__nomem();
    size_t k = 0;
    for (size_t i = 0; envp && i < n; i++)
      if (env_allowed(environ[i]) && !(tmpdir && strncmp(environ[i], "TMPDIR=", 7) == 0))
        envp[k++] = environ[i];
    if (envp && tmpdir) envp[k++] = tmpdir;
  }
  /* descriptors, all close-on-exec in this (multi-threaded) process */
  if (!rc) {
    int sv[2], p_out[2], p_err[2], p_res[2], p_exec[2];
    int ok = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0;
    if (ok) st.in_fd = sv[0], child_fds[0] = sv[1];
    ok = ok && pipe2(p_out, O_CLOEXEC) == 0;
    if (ok) st.so.fd = p_out[0], child_fds[1] = p_out[1];
    ok = ok && pipe2(p_err, O_CLOEXEC) == 0;
    if (ok) st.se.fd = p_err[0], child_fds[2] = p_err[1];
    ok = ok && pipe2(p_res, O_CLOEXEC) == 0;
    if (ok) st.res_fd = p_res[0], child_fds[3] = p_res[1];
    ok = ok && pipe2(p_exec, O_CLOEXEC) == 0;
    if (ok) err_r = p_exec[0], child_fds[4] = p_exec[1];
    if (!ok) rc = assay__err(ASSAY_ERR_INTERNAL, "runner: cannot create pipes: %s", strerror(errno));
  }
  if (!rc) {
    char *argv[] = {exe, script, "3", NULL};
    child_plan plan;
    memset(&plan, 0, sizeof plan);
    plan.exe = exe;
    plan.argv = argv;
    plan.envp = envp;
    plan.cwd = cwd;
    for (int i = 0; i < 4; i++) plan.fds[i] = child_fds[i];
    plan.err_fd = child_fds[4];
    plan.ruleset_fd = sb.fd;
    plan.proc_rights = sb.proc_rights;
    plan.shm_rights = sb.shm_rights;
    {
      int64_t shm = cfg->memory_bytes > 0 && cfg->memory_bytes < SHM_MAX ? cfg->memory_bytes
                                                                         : SHM_MAX;
      snprintf(plan.shm_opts, sizeof plan.shm_opts, "mode=1777,size=%lld", (long long)shm);
    }
#ifdef SC_ARCH
    plan.seccomp.len = (unsigned short)(sizeof seccomp_insns / sizeof seccomp_insns[0]);
    plan.seccomp.filter = seccomp_insns;
#endif
    plan.parent = getpid();
    snprintf(plan.uid_map, sizeof plan.uid_map, "%lu %lu 1\n", (unsigned long)geteuid(),
             (unsigned long)geteuid());
    snprintf(plan.gid_map, sizeof plan.gid_map, "%lu %lu 1\n", (unsigned long)getegid(),
             (unsigned long)getegid());
    struct rlimit nofile;
    plan.max_fd = getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY &&
                          nofile.rlim_cur < (1u << 20)
                      ? (int)nofile.rlim_cur
                      : (1 << 20);
    int64_t mem = cfg->memory_bytes;
    if (mem > 0) {
      /* a generous backstop: imports of numpy / pyarrow reserve much more
       * address space than they use; the RSS poll is the real limit */
      const int64_t four_gib = (int64_t)4 << 30;
      int64_t as = mem > INT64_MAX / 4 ? INT64_MAX : mem * 4;
      if (mem <= INT64_MAX - four_gib && mem + four_gib > as) as = mem + four_gib;
      plan.limit_as = 1;
      plan.as.rlim_cur = plan.as.rlim_max = (rlim_t)as;
    }
    int ns = !(cfg->sandbox_test & RUNNER_TEST_NO_NAMESPACES), ns_err = 0;
    st.pid = spawn_child(&plan, &ns, &ns_err);
    if (st.pid < 0)
      rc = assay__err(ASSAY_ERR_INTERNAL, "runner: cannot start a process: %s", strerror(errno));
    st.ns = ns;
    if (!rc && ns) {
      char nsp[64];
      struct stat nst;
      snprintf(nsp, sizeof nsp, "/proc/%ld/ns/pid", (long)st.pid);
      if (stat(nsp, &nst) == 0) {
        st.ns_known = 1;
        st.ns_dev = nst.st_dev;
        st.ns_ino = nst.st_ino;
      }
    }
    if (!rc && !ns) {
      char note[256];
      snprintf(note, sizeof note,
               "runner: no user and PID namespaces here (%s): the %s runs in its own process "
               "group, and a process that leaves it (setsid) is neither killed with it nor "
               "counted in its memory",
               ns_err ? strerror(ns_err) : "disabled for a test", st.what);
      log_text(&st.x, "stderr", note);
    }
  }
  for (int i = 0; i < 5; i++) close_fd(&child_fds[i]);
  close_fd(&sb.fd);
  if (!rc) {
    int msg[2] = {0, 0};
    ssize_t n;
    do n = read(err_r, msg, sizeof msg);
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof msg) { /* the child failed before exec */
      int status;
      while (waitpid(st.pid, &status, 0) < 0 && errno == EINTR) {
      }
      st.pid = -1;
      if (msg[0] == STAGE_EXEC)
        rc = assay__err(ASSAY_ERR_DATA, "the runner interpreter '%s' cannot be run: %s", python,
                        strerror(msg[1]));
      else if (msg[0] == STAGE_CHDIR)
        rc = assay__err(ASSAY_ERR_DATA, "the %s cannot work in the folder '%s': %s", st.what, cwd,
                        strerror(msg[1]));
      else if (msg[0] == STAGE_SANDBOX)
        rc = assay__err(ASSAY_ERR_INTERNAL, "runner: cannot put the %s in its sandbox: %s",
                        st.what, strerror(msg[1]));
      else
        rc = assay__err(ASSAY_ERR_INTERNAL, "runner: cannot set up the child's descriptors: %s",
                        strerror(msg[1]));
    }
  }
  close_fd(&err_r);
  if (!rc) {
    set_nonblock(st.in_fd);
    set_nonblock(st.so.fd);
    set_nonblock(st.se.fd);
    set_nonblock(st.res_fd);
    write_request(&st);
    rc = supervise(&st);
  }
  wipe_request(&st);

  if (!rc) {
    json_t *res = NULL;
    if (st.result_len) {
      char *nl = memchr(st.result, '\n', st.result_len);
      res = json_loadb(st.result, nl ? (size_t)(nl - st.result) : st.result_len, 0, NULL);
    }
    json_t *okv = json_object_get(res, "ok");
    if (st.cancelled) { /* whatever it reported: the caller gave up on it */
      rc = assay__err(ASSAY_ERR_UNAVAILABLE, "%s cancelled: %s", st.what,
                      runner_cancel_reason(st.cancelled));
    } else if (json_is_true(okv)) {
      rc = map_parts(out_dir, json_object_get(res, "parts"), cfg->memory_bytes, out);
    } else if (st.timed_out) {
      rc = assay__err(ASSAY_ERR_DATA, "%s was killed after the time limit of %g s", st.what,
                      cfg->timeout_s);
    } else if (st.over_memory) {
      rc = assay__err(ASSAY_ERR_DATA, "%s exceeded the memory limit of %lld MiB", st.what,
                      (long long)(cfg->memory_bytes >> 20));
    } else if (json_is_false(okv)) {
      rc = child_failure(python, st.what, red, &st.x, res, cfg->memory_bytes);
    } else {
      rc = no_result_error(&st);
    }
    if (res) {
      wipe_json_string(json_object_get(res, "message"));
      wipe_json_string(json_object_get(res, "traceback"));
      json_decref(res);
    }
  }
  remove_parts(out_dir);

  close_fd(&st.in_fd);
  close_fd(&st.so.fd);
  close_fd(&st.se.fd);
  close_fd(&st.res_fd);
  if (st.result) sodium_memzero(st.result, st.result_cap);
  free(st.result);
  redact_stream_free(st.so.rs);
  redact_stream_free(st.se.rs);
  free(st.so.line);
  free(st.se.line);
  free(envp);
  free(tmpdir);
  close_fd(&sb.fd);
  free(exe);
  free(script);
  free(cwd);
  return rc;
}

/* Replace the last error's message by its redacted text: whatever built it
 * (the child's failure, a part's or a column's name the child chose), no
 * secret of the request leaves runner_run in it. */
static void redact_last_error(const redactor *red) {
  const assay_error *e = assay_error_last();
  if (!red || !e || !e->message || e->code == ASSAY_ERR_NOMEM) return;
  char *clean = redact_text(red, e->message, strlen(e->message));
  if (!clean) {
    assay__nomem(); /* better no message than one that may hold a secret */
    return;
  }
  if (strcmp(clean, e->message) != 0) assay__err_status(e->code, e->http_status, "%s", clean);
  free(clean);
}

int runner_run(const runner_config *cfg, const json_t *request, runner_log_fn log, void *log_ctx,
               frame **out) {
  *out = NULL;
  if (!cfg || !json_is_object(request))
    return assay__err(ASSAY_ERR_INTERNAL, "runner_run: a config and a request object are needed");
  redactor *red = NULL;
  int rc = make_redactor(&red, request);
  if (rc) return rc;
  rc = run(cfg, request, red, log, log_ctx, out);
  if (rc) redact_last_error(red);
  redactor_free(red);
  return rc;
}
