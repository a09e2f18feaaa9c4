/* runner/runner.c — user Python code in a child process: the runner script
 * written to <home>/runtime/, the child started with the request on stdin
 * only, its output redacted into the log, its time and memory limited, its
 * run cancellable by the caller, and the columnar parts it writes mapped
 * into one frame (see runner/runner.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
      if (!ok || rename(tmp, path) != 0) {
        if (ok) err = errno;
        unlink(tmp);
        rc = assay__err(ASSAY_ERR_INTERNAL, "cannot write the runner script '%s': %s", path,
                        strerror(err));
      }
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

/* --- the child ------------------------------------------------------------------ */

enum { STAGE_CHDIR = 1, STAGE_EXEC = 2, STAGE_FDS = 3 };

typedef struct child_plan {
  const char *exe;
  char *const *argv;
  char *const *envp;
  const char *cwd;
  int fds[4];          /* become 0 stdin, 1 stdout, 2 stderr, 3 result */
  int err_fd;          /* reports a failure before exec (becomes 4)    */
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

/* Runs in the forked child of a possibly multi-threaded parent: only
 * async-signal-safe calls, everything prepared before fork. */
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
   * worker threads live as long as the platform). */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != c->parent) _exit(127);

  /* move every descriptor we keep above 4 first, so dup2 never clobbers one */
  int moved[5];
  for (int i = 0; i < 4; i++) moved[i] = fcntl(c->fds[i], F_DUPFD_CLOEXEC, 5);
  moved[4] = fcntl(c->err_fd, F_DUPFD_CLOEXEC, 5);
  if (moved[4] < 0) _exit(127);
  if (dup2(moved[4], 4) < 0) _exit(127);
  fcntl(4, F_SETFD, FD_CLOEXEC);
  for (int i = 0; i < 4; i++)
    if (moved[i] < 0 || dup2(moved[i], i) < 0) child_fail(STAGE_FDS, errno);
  /* close everything else: close_range when the kernel has it */
  long cr = -1;
#ifdef SYS_close_range
  cr = syscall(SYS_close_range, 5u, ~0u, 0u);
#endif
  if (cr != 0)
    for (int fd = 5; fd < c->max_fd; fd++) close(fd);

  if (c->limit_as) setrlimit(RLIMIT_AS, &c->as);
  if (chdir(c->cwd) != 0) child_fail(STAGE_CHDIR, errno);
  execve(c->exe, c->argv, c->envp);
  child_fail(STAGE_EXEC, errno);
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

/* --- memory: resident set of the process group --------------------------------------- */

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
static int child_failure(const char *python, const redactor *red, const run_ctx *x, json_t *res,
                         int64_t mem_limit) {
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
      rc = assay__err(ASSAY_ERR_DATA, "loader exceeded the memory limit of %lld MiB (%s)%s%.*s",
                      (long long)(mem_limit >> 20), msg, sep, (int)tbl, tbt);
    } else {
      rc = assay__err(ASSAY_ERR_DATA, "%s%s%.*s", msg, sep, (int)tbl, tbt);
    }
  }
  free(msg);
  free(tb);
  free(tb_log);
  return rc;
}

/* Map the parts the child listed and join them into one frame. */
static int map_parts(const char *dir, json_t *parts, frame **out) {
  size_t n = json_array_size(parts);
  if (!json_is_array(parts) || n == 0 || n > INT_MAX)
    return assay__err(ASSAY_ERR_DATA, "the runner reported no columnar parts");
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
    rc = frame_map(&frames[i], path);
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
} run_state;

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
      kill(-st->pid, SIGKILL); /* whatever the loader left running */
      drain_until = t + (st->cancelled ? DRAIN_S / 10 : DRAIN_S);
    }
    if (!st->exited && !st->cancelled && (st->cancelled = cancel_requested(st->cfg))) {
      kill(-st->pid, SIGKILL); /* at once: the caller will not wait */
    }
    if (!st->exited && deadline > 0 && t >= deadline && !st->timed_out) {
      st->timed_out = 1;
      kill(-st->pid, SIGKILL);
    }
    if (!st->exited && mem > 0 && t >= next_mem && !st->over_memory && !st->timed_out) {
      next_mem = t + POLL_MS / 1000.0;
      if (group_rss(st->pid) > mem) {
        st->over_memory = 1;
        kill(-st->pid, SIGKILL);
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
      kill(-st->pid, SIGKILL);
      break;
    }
    if (n == 0) continue;
    if (i_in >= 0 && pf[i_in].revents) write_request(st);
    if (i_so >= 0 && pf[i_so].revents && (rc = read_output(st, &st->so, buf))) break;
    if (i_se >= 0 && pf[i_se].revents && (rc = read_output(st, &st->se, buf))) break;
    if (i_res >= 0 && pf[i_res].revents) read_result(st, buf);
  }
  if (rc) kill(-st->pid, SIGKILL);
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

int runner_run(const runner_config *cfg, const json_t *request, runner_log_fn log, void *log_ctx,
               frame **out) {
  *out = NULL;
  if (!cfg || !json_is_object(request))
    return assay__err(ASSAY_ERR_INTERNAL, "runner_run: a config and a request object are needed");
  const char *mode = json_string_value(json_object_get(request, "mode"));
  const char *path = json_string_value(json_object_get(request, "path"));
  const char *out_dir = json_string_value(json_object_get(request, "output_dir"));
  int load = mode && strcmp(mode, "load") == 0;
  if (!mode || (!load && strcmp(mode, "read") != 0) || !path || !*path || !out_dir || !*out_dir)
    return assay__err(ASSAY_ERR_INTERNAL,
                      "runner_run: the request needs mode ('load' or 'read'), path and output_dir");
  const char *python = cfg->python && *cfg->python ? cfg->python : ASSAY_DEFAULT_PYTHON;

  int why = cancel_requested(cfg);
  if (why)
    return assay__err(ASSAY_ERR_UNAVAILABLE, "%s cancelled: %s", load ? "loader" : "data reader",
                      runner_cancel_reason(why));
  /* failures found here need no child */
  struct stat st_file;
  if (stat(path, &st_file) != 0 || !S_ISREG(st_file.st_mode))
    return assay__err(ASSAY_ERR_DATA, load ? "loader file '%s' not found" : "data file '%s' not found",
                      base_name(path));
  char *cwd = NULL;
  if (load) {
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
  st.what = load ? "loader" : "data reader";
  st.x.log = log;
  st.x.log_ctx = log_ctx;
  st.in_fd = st.res_fd = st.so.fd = st.se.fd = -1;
  st.pid = -1;
  st.so.name = "stdout";
  st.se.name = "stderr";

  redactor *red = NULL;
  char *script = NULL, *exe = NULL;
  char **envp = NULL;
  int child_fds[5] = {-1, -1, -1, -1, -1}; /* stdin, stdout, stderr, result, exec error */
  int err_r = -1;
  int rc = make_redactor(&red, request);
  st.red = red;
  if (!rc) rc = redact_stream_new(&st.so.rs, red);
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
  /* the child's environment: ours without ASSAY_* */
  if (!rc) {
    size_t n = 0;
    for (char **e = environ; e && *e; e++) n++;
    envp = calloc(n + 1, sizeof *envp);
    if (!envp) rc = assay__nomem();
    size_t k = 0;
    for (size_t i = 0; envp && i < n; i++)
      if (strncmp(environ[i], "ASSAY_", 6) != 0) envp[k++] = environ[i];
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
    plan.parent = getpid();
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
    st.pid = fork();
    if (st.pid == 0) child_exec(&plan); /* does not return */
    if (st.pid < 0)
      rc = assay__err(ASSAY_ERR_INTERNAL, "runner: cannot start a process: %s", strerror(errno));
  }
  for (int i = 0; i < 5; i++) close_fd(&child_fds[i]);
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
      rc = map_parts(out_dir, json_object_get(res, "parts"), out);
    } else if (st.timed_out) {
      rc = assay__err(ASSAY_ERR_DATA, "%s was killed after the time limit of %g s", st.what,
                      cfg->timeout_s);
    } else if (st.over_memory) {
      rc = assay__err(ASSAY_ERR_DATA, "%s exceeded the memory limit of %lld MiB", st.what,
                      (long long)(cfg->memory_bytes >> 20));
    } else if (json_is_false(okv)) {
      rc = child_failure(python, red, &st.x, res, cfg->memory_bytes);
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
  redactor_free(red);
  free(envp);
  free(exe);
  free(script);
  free(cwd);
  return rc;
}
