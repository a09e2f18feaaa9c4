/* test_runner.c — the runner with real child processes (the project venv's
 * Python): every failure of a loader as its error (file missing, syntax
 * error, function missing, raising with its traceback, wrong return type,
 * time limit, memory limit, an interpreter without pandas or none at all,
 * a process ending without a result); cancellation (the process group
 * killed at once, a distinct error, no child started when the flag is set
 * before); success with every dtype, chunks,
 * nrows and the read mode; which arguments a loader gets; the request and
 * its secrets only on stdin (not argv, not the environment, no inherited
 * descriptors); redaction of secrets in the log and in errors, also when
 * split across writes, and in names the child chose (parts, columns);
 * parts larger than the limit allows, sparse or of the wrong size refused
 * before they are read; a flood of output; the sandbox (the home, a key
 * outside it, another workspace's files and the cache neither read nor
 * written, the server neither signalled nor read, what a loader needs
 * working; the same without namespaces; custom loaders refused without
 * Landlock unless allowed; processes that escape the group killed and
 * counted; nested namespaces, memfd and a big /dev/shm refused or
 * bounded); and the redactor on its own. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/frame.h"
#include "internal.h"
#include "runner/runner.h"
#include "test_support.h"

#define PYTHON ASSAY_SOURCE_DIR "/.venv/bin/python"
#define SECRET "s3cr3t-T0ken-\"quoted\"-\\back-99"

typedef struct fixture {
  char *home;
  char *work;         /* a folder beside the home (/tmp/assay-work-*): writable */
  char dir[4096];     /* loaders live here (in work, so they may write files) */
  char out_dir[4096]; /* the runner writes its parts here */
  runner_config cfg;
  char *log;          /* "stream: line\n" of everything logged */
  size_t log_len, log_cap;
  size_t log_bytes;   /* bytes of lines logged */
  size_t log_lines;
  int saw_progress_90; /* the flood test's last stderr line arrived */
} fixture;

static void capture(void *ctx, const char *stream, const char *line, size_t len) {
  fixture *f = ctx;
  f->log_bytes += len;
  f->log_lines++;
  if (strcmp(stream, "stderr") == 0 && len == 11 && memcmp(line, "progress 90", 11) == 0)
    f->saw_progress_90 = 1;
  if (f->log_len > (8u << 20)) return; /* keep the first 8 MiB */
  size_t need = f->log_len + strlen(stream) + len + 4;
  if (need > f->log_cap) {
    f->log_cap = need * 2;
    f->log = realloc(f->log, f->log_cap);
  }
  f->log_len += (size_t)sprintf(f->log + f->log_len, "%s: ", stream);
  memcpy(f->log + f->log_len, line, len);
  f->log_len += len;
  f->log[f->log_len++] = '\n';
  f->log[f->log_len] = '\0';
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->home = make_home();
  if (!f->home) return -1;
  f->work = strdup("/tmp/assay-work-XXXXXX");
  if (!mkdtemp(f->work)) return -1;
  snprintf(f->dir, sizeof f->dir, "%s/loaders", f->work);
  snprintf(f->out_dir, sizeof f->out_dir, "%s/out", f->home);
  if (mkdir(f->dir, 0700) != 0 || mkdir(f->out_dir, 0700) != 0) return -1;
  f->cfg.python = PYTHON;
  f->cfg.home = f->home;
  f->cfg.timeout_s = 60;
  f->cfg.memory_bytes = 0;
  f->log = calloc(1, 1);
  f->log_cap = 1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  rm_home(f->home);
  rm_home(f->work);
  free(f->log);
  free(f);
  return 0;
}

static void write_text(const char *dir, const char *name, const char *text) {
  char path[8192];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

/* The whole file, NUL-terminated (NULL if missing); *len its size. */
static char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  size_t cap = 4096, n = 0, got;
  char *buf = malloc(cap + 1);
  while ((got = fread(buf + n, 1, cap - n, fp)) > 0) {
    n += got;
    if (n == cap) buf = realloc(buf, (cap *= 2) + 1);
  }
  fclose(fp);
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

static char *slurp_in(const char *dir, const char *name, size_t *len) {
  char path[8192];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return slurp(path, len);
}

/* Run `func` of loader file `file` (in f->dir) with the request's other
 * fields from `extra` (a JSON object text, may be NULL). */
static int run_loader(fixture *f, const char *file, const char *func, const char *extra,
                      frame **out) {
  char path[8192];
  snprintf(path, sizeof path, "%s/%s", f->dir, file);
  json_t *req = json_pack("{s:s, s:s, s:s, s:{}, s:s}", "mode", "load", "path", path, "function",
                          func, "kwargs", "output_dir", f->out_dir);
  if (extra) {
    json_error_t jerr;
    json_t *x = json_loads(extra, 0, &jerr);
    assert_non_null(x);
    json_object_update(req, x);
    json_decref(x);
  }
  *out = NULL;
  int rc = runner_run(&f->cfg, req, capture, f, out);
  json_decref(req);
  return rc;
}

static const char *last_message(void) {
  const assay_error *e = assay_error_last();
  return e ? e->message : "";
}

#define assert_contains(hay, needle)                                                     \
  do {                                                                                   \
    const char *h_ = (hay);                                                              \
    if (!strstr(h_, (needle))) fail_msg("expected to find \"%s\" in:\n%s", (needle), h_); \
  } while (0)
#define assert_not_contains(hay, needle)                                                     \
  do {                                                                                       \
    const char *h_ = (hay);                                                                  \
    if (strstr(h_, (needle))) fail_msg("did not expect \"%s\" in:\n%.4000s", (needle), h_); \
  } while (0)

/* The output folder holds no part files once a run is over. */
static void assert_out_dir_empty(fixture *f) {
  DIR *d = opendir(f->out_dir);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      fail_msg("left in the output folder: %s", e->d_name);
  }
  closedir(d);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Does any file under `dir` contain `needle`? */
static int tree_contains(const char *dir, const char *needle) {
  char *cmd = NULL;
  assert_true(asprintf(&cmd, "grep -rqF -e '%s' '%s'", needle, dir) > 0);
  int rc = system(cmd);
  free(cmd);
  return rc == 0;
}

/* A "sleep <marker>" argument no other process has: "61.<pid><n>". */
static void sleep_marker(char *buf, size_t size) {
  static int n;
  snprintf(buf, size, "61.%d%d", (int)getpid(), ++n);
}

/* How many live (not zombie) processes of the machine have `marker` as an
 * argument (/proc/<pid>/cmdline); waits up to 2 s for the count to reach 0
 * when `settle`. */
static int count_with_arg(const char *marker, int settle) {
  for (int round = 0;; round++) {
    int alive = 0;
    DIR *d = opendir("/proc");
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
      char p[300];
      snprintf(p, sizeof p, "/proc/%s/cmdline", e->d_name);
      size_t n = 0;
      char *cmd = slurp(p, &n);
      int hit = 0;
      for (size_t i = 0; cmd && i < n; i += strlen(cmd + i) + 1)
        hit |= strcmp(cmd + i, marker) == 0;
      free(cmd);
      if (!hit) continue;
      snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
      char *st = slurp(p, NULL);
      const char *close_paren = st ? strrchr(st, ')') : NULL;
      if (close_paren && close_paren[2] != 'Z') alive++;
      free(st);
    }
    closedir(d);
    if (!alive || !settle || round >= 40) return alive;
    usleep(50000);
  }
}

/* --- failures ------------------------------------------------------------------ */

static void loader_file_missing(void **state) {
  fixture *f = *state;
  frame *fr;
  assert_int_equal(run_loader(f, "nope.py", "f", NULL, &fr), ASSAY_ERR_DATA);
  assert_null(fr);
  assert_string_equal(last_message(), "loader file 'nope.py' not found");
}

static void syntax_error_names_the_line(void **state) {
  fixture *f = *state;
  write_text(f->dir, "broken.py", "import os\n\ndef f(:\n    return 1\n");
  frame *fr;
  assert_int_equal(run_loader(f, "broken.py", "f", NULL, &fr), ASSAY_ERR_DATA);
  assert_contains(last_message(), "loader 'broken.py' has a syntax error at line 3: ");
  assert_contains(f->log, "def f(:");
  assert_out_dir_empty(f);
  /* no byte-code cache next to the uploaded loader */
  char p[8192];
  snprintf(p, sizeof p, "%s/__pycache__", f->dir);
  assert_int_not_equal(access(p, F_OK), 0);
}

static void function_missing(void **state) {
  fixture *f = *state;
  write_text(f->dir, "ld.py", "import pandas as pd\nVALUE = 3\ndef f():\n    return pd.DataFrame()\n");
  frame *fr;
  assert_int_equal(run_loader(f, "ld.py", "g", NULL, &fr), ASSAY_ERR_DATA);
  assert_string_equal(last_message(), "loader 'ld.py' has no function 'g'");
  assert_int_equal(run_loader(f, "ld.py", "VALUE", NULL, &fr), ASSAY_ERR_DATA);
  assert_contains(last_message(), "loader 'ld.py' has no function 'VALUE'");
}

static void import_failure(void **state) {
  fixture *f = *state;
  write_text(f->dir, "imp.py", "import no_such_module_here\ndef f():\n    pass\n");
  frame *fr;
  assert_int_equal(run_loader(f, "imp.py", "f", NULL, &fr), ASSAY_ERR_DATA);
  assert_contains(last_message(), "loader 'imp.py' failed while being imported: "
                                  "ModuleNotFoundError: No module named 'no_such_module_here'");
  assert_contains(last_message(), "imp.py\", line 1");
}

static void raising_keeps_the_traceback(void **state) {
  fixture *f = *state;
  write_text(f->dir, "raiser.py",
             "def helper(x):\n"
             "    raise ValueError('bad thing %d' % x)\n"
             "\n"
             "def f():\n"
             "    print('about to fail')\n"
             "    return helper(42)\n");
  frame *fr;
  assert_int_equal(run_loader(f, "raiser.py", "f", NULL, &fr), ASSAY_ERR_DATA);
  const char *m = last_message();
  assert_int_equal(strncmp(m, "loader function 'f' raised ValueError: bad thing 42\n", 52), 0);
  assert_contains(m, "Traceback (most recent call last):");
  assert_contains(m, "raiser.py\", line 6, in f");
  assert_contains(m, "raiser.py\", line 2, in helper");
  assert_not_contains(m, "assay_runner"); /* the runner's own frames are cut */
  /* the traceback and the loader's output are in the log */
  assert_contains(f->log, "stdout: about to fail\n");
  assert_contains(f->log, "stderr: ValueError: bad thing 42\n");
  assert_contains(f->log, "in helper");
  assert_out_dir_empty(f);
}

static void system_exit_and_no_result(void **state) {
  fixture *f = *state;
  write_text(f->dir, "ex.py",
             "import os, sys\n"
             "def bye():\n    sys.exit(2)\n"
             "def hard():\n    sys.stderr.write('going away\\n'); sys.stderr.flush(); os._exit(3)\n");
  frame *fr;
  assert_int_equal(run_loader(f, "ex.py", "bye", NULL, &fr), ASSAY_ERR_DATA);
  assert_contains(last_message(), "loader function 'bye' raised SystemExit: 2");
  assert_int_equal(run_loader(f, "ex.py", "hard", NULL, &fr), ASSAY_ERR_DATA);
  assert_contains(last_message(), "the loader's process exited with status 3 without a result");
  assert_contains(last_message(), "going away");
}

static void wrong_return_type(void **state) {
  fixture *f = *state;
  write_text(f->dir, "wrong.py",
             "import pandas as pd\n"
             "def number():\n    return 5\n"
             "def nothing():\n    pass\n"
             "def series():\n    return pd.Series([1, 2])\n"
             "def mixed():\n    yield pd.DataFrame({'a': [1]})\n    yield 'text'\n");
  frame *fr;
  assert_int_equal(run_loader(f, "wrong.py", "number", NULL, &fr), ASSAY_ERR_DATA);
  assert_string_equal(last_message(), "loader function 'number' returned int; expected a pandas "
                                      "DataFrame or an iterable of DataFrames");
  assert_int_equal(run_loader(f, "wrong.py", "nothing", NULL, &fr), ASSAY_ERR_DATA);
  assert_contains(last_message(), "loader function 'nothing' returned None; expected");
  assert_int_equal(run_loader(f, "wrong.py", "series", NULL, &fr), ASSAY_ERR_DATA);
  assert_contains(last_message(), "returned pandas.Series; expected");
  assert_int_equal(run_loader(f, "wrong.py", "mixed", NULL, &fr), ASSAY_ERR_DATA);
  assert_contains(last_message(), "returned an iterable whose item 1 is str; expected");
  assert_null(fr);
  assert_out_dir_empty(f);
}

static void killed_at_the_time_limit(void **state) {
  fixture *f = *state;
  /* the loader also starts a grandchild that holds the output pipes open */
  char marker[64], src[1024];
  sleep_marker(marker, sizeof marker);
  snprintf(src, sizeof src,
           "import subprocess, time\n"
           "def f():\n"
           "    p = subprocess.Popen(['sleep', '%s'])\n"
           "    print('sleeping', flush=True)\n"
           "    time.sleep(60)\n",
           marker);
  write_text(f->dir, "slow.py", src);
  f->cfg.timeout_s = 1.5;
  frame *fr;
  double t0 = now_s();
  assert_int_equal(run_loader(f, "slow.py", "f", NULL, &fr), ASSAY_ERR_DATA);
  double took = now_s() - t0;
  assert_string_equal(last_message(), "loader was killed after the time limit of 1.5 s");
  assert_true(took >= 1.4);
  if (took > 6) fail_msg("the time limit took %.1f s to act", took);
  assert_contains(f->log, "stdout: sleeping");
  /* everything went: the grandchild is gone (or a zombie) */
  assert_int_equal(count_with_arg(marker, 1), 0);
}

typedef struct canceller {
  int *flag;
  int reason;
  int after_ms;
} canceller;

static void *cancel_later(void *arg) {
  canceller *c = arg;
  usleep((useconds_t)c->after_ms * 1000);
  __atomic_store_n(c->flag, c->reason, __ATOMIC_RELEASE);
  return NULL;
}

/* Another thread sets the cancellation flag while the loader sleeps (and
 * a grandchild holds the pipes): the group is killed at once and the
 * error says the run was cancelled, not that the loader failed. */
static void cancelled_at_once(void **state) {
  fixture *f = *state;
  char marker[64], src[1024];
  sleep_marker(marker, sizeof marker);
  snprintf(src, sizeof src,
           "import subprocess, time\n"
           "def f():\n"
           "    p = subprocess.Popen(['sleep', '%s'])\n"
           "    print('sleeping', flush=True)\n"
           "    time.sleep(60)\n",
           marker);
  write_text(f->dir, "sleepy.py", src);
  int flag = 0;
  f->cfg.cancel = &flag;
  f->cfg.memory_bytes = 1LL << 40; /* a SIGKILL must not read as "out of memory" */
  canceller c = {&flag, RUNNER_CANCEL_STOPPING, 1500};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, cancel_later, &c), 0);
  frame *fr;
  double t0 = now_s();
  assert_int_equal(run_loader(f, "sleepy.py", "f", NULL, &fr), ASSAY_ERR_UNAVAILABLE);
  double took = now_s() - t0;
  pthread_join(t, NULL);
  assert_null(fr);
  assert_string_equal(last_message(), "loader cancelled: the platform is stopping");
  assert_true(took >= 1.4);
  if (took > 3.5) fail_msg("the cancellation took %.1f s to act", took);
  assert_contains(f->log, "stdout: sleeping");
  assert_out_dir_empty(f);
  assert_int_equal(count_with_arg(marker, 1), 0);

  /* set before the run: no process at all, at once; the read mode too */
  write_text(f->dir, "mark.py",
             "import pandas as pd\n"
             "def f():\n"
             "    open('ran.txt', 'w').close()\n"
             "    return pd.DataFrame({'a': [1]})\n");
  __atomic_store_n(&flag, RUNNER_CANCEL_JOB, __ATOMIC_RELEASE);
  t0 = now_s();
  assert_int_equal(run_loader(f, "mark.py", "f", NULL, &fr), ASSAY_ERR_UNAVAILABLE);
  assert_true(now_s() - t0 < 0.5);
  assert_string_equal(last_message(), "loader cancelled: the job was cancelled");
  char ran[8192];
  snprintf(ran, sizeof ran, "%s/ran.txt", f->dir);
  assert_int_not_equal(access(ran, F_OK), 0);
  /* cleared: the same config runs normally */
  __atomic_store_n(&flag, 0, __ATOMIC_RELEASE);
  assert_int_equal(run_loader(f, "mark.py", "f", NULL, &fr), ASSAY_OK);
  assert_int_equal(fr->rows, 1);
  frame_free(fr);
  assert_int_equal(access(ran, F_OK), 0);
  assert_string_equal(runner_cancel_reason(7), "cancelled by the platform");
}

static void killed_over_the_memory_limit(void **state) {
  fixture *f = *state;
  write_text(f->dir, "hog.py",
             "import time\n"
             "def f():\n"
             "    block = b'x' * (1 << 30)\n"
             "    time.sleep(30)\n"
             "    return block\n");
  f->cfg.memory_bytes = (int64_t)300 << 20;
  frame *fr;
  double t0 = now_s();
  assert_int_equal(run_loader(f, "hog.py", "f", NULL, &fr), ASSAY_ERR_DATA);
  assert_string_equal(last_message(), "loader exceeded the memory limit of 300 MiB");
  if (now_s() - t0 > 15) fail_msg("the memory limit took %.1f s to act", now_s() - t0);
  /* a loader within the limit runs (imports of pandas fit under RLIMIT_AS) */
  write_text(f->dir, "small.py",
             "import pandas as pd\n"
             "def f():\n    return pd.DataFrame({'a': [1, 2, 3]})\n");
  assert_int_equal(run_loader(f, "small.py", "f", NULL, &fr), ASSAY_OK);
  assert_int_equal(fr->rows, 3);
  frame_free(fr);
}

static void interpreter_without_pandas(void **state) {
  fixture *f = *state;
  /* a bare venv of the project venv's base interpreter: no pandas in it */
  char *cmd = NULL;
  assert_true(asprintf(&cmd,
                       "'%s' -c 'import subprocess, sys; subprocess.check_call([sys._base_executable, "
                       "\"-m\", \"venv\", \"--without-pip\", \"%s/bare\"])'",
                       PYTHON, f->work) > 0);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  char py[8192];
  snprintf(py, sizeof py, "%s/bare/bin/python", f->work);
  write_text(f->dir, "ok.py", "import pandas as pd\ndef f():\n    return pd.DataFrame()\n");
  f->cfg.python = py;
  frame *fr;
  assert_int_equal(run_loader(f, "ok.py", "f", NULL, &fr), ASSAY_ERR_DATA);
  char want[8400];
  snprintf(want, sizeof want,
           "the runner interpreter '%s' cannot import pandas: ModuleNotFoundError: No module "
           "named '",
           py);
  assert_contains(last_message(), want);

  f->cfg.python = "/nonexistent/bin/python3";
  assert_int_equal(run_loader(f, "ok.py", "f", NULL, &fr), ASSAY_ERR_DATA);
  assert_string_equal(last_message(), "the runner interpreter '/nonexistent/bin/python3' cannot "
                                      "be run: No such file or directory");
  f->cfg.python = "no-such-python-interpreter";
  assert_int_equal(run_loader(f, "ok.py", "f", NULL, &fr), ASSAY_ERR_DATA);
  assert_string_equal(last_message(), "the runner interpreter 'no-such-python-interpreter' was "
                                      "not found on PATH");
  /* a file that is not an interpreter */
  write_text(f->work, "notpython", "just text\n");
  char np[8192];
  snprintf(np, sizeof np, "%s/notpython", f->work);
  chmod(np, 0700);
  f->cfg.python = np;
  assert_int_equal(run_loader(f, "ok.py", "f", NULL, &fr), ASSAY_ERR_DATA);
  assert_contains(last_message(), "cannot be run: Exec format error");
}

/* --- success -------------------------------------------------------------------- */

static const char *string_at(const column *c, int64_t i) {
  static char buf[256];
  if (!col_valid(c, i)) return NULL;
  int32_t code = ((const int32_t *)c->values)[i];
  int64_t a = c->dict_offsets[code], b = c->dict_offsets[code + 1];
  snprintf(buf, sizeof buf, "%.*s", (int)(b - a), c->dict_data + a);
  return buf;
}

static const column *col_of(const frame *fr, const char *name, col_type t) {
  const column *c = frame_col(fr, name);
  if (!c) fail_msg("no column '%s'", name);
  if (c->type != t) fail_msg("column '%s' has type %d, expected %d", name, c->type, t);
  return c;
}

static void every_dtype(void **state) {
  fixture *f = *state;
  write_text(f->dir, "types.py",
             "import numpy as np, pandas as pd\n"
             "def f():\n"
             "    return pd.DataFrame({\n"
             "        'i': np.array([1, -2, 3], dtype='int32'),\n"
             "        'I': pd.array([10, None, 30], dtype='Int64'),\n"
             "        'f': [1.5, np.nan, -np.inf],\n"
             "        'F': pd.array([None, 2.5, 3.0], dtype='Float64'),\n"
             "        'b': [True, False, True],\n"
             "        'B': pd.array([None, True, False], dtype='boolean'),\n"
             "        's': ['a', None, 'h\\u00e9llo'],\n"
             "        'S': pd.array(['x', 'x', None], dtype='string'),\n"
             "        'c': pd.Categorical(['u', None, 'u']),\n"
             "        't': pd.to_datetime(['1970-01-01T00:00:01', None, '2024-01-02T03:04:05.000000007'],\n"
             "                            format='ISO8601'),\n"
             "        'tz': pd.to_datetime(['2024-01-01T02:00:00+02:00'] * 3, utc=True)\n"
             "                .tz_convert('Europe/Berlin'),\n"
             "        'mixed': [1, 'two', None],\n"
             "        'td': pd.to_timedelta([1, 2, 3], unit='s'),\n"
             "        'ob': pd.Series([True, None, False], dtype=object),\n"
             "        'oi': pd.Series([7, None, 2 ** 40], dtype=object),\n"
             "    })\n");
  frame *fr;
  assert_int_equal(run_loader(f, "types.py", "f", NULL, &fr), ASSAY_OK);
  assert_int_equal(fr->rows, 3);
  assert_int_equal(fr->ncols, 15);
  const column *c = col_of(fr, "i", COL_INT64);
  assert_int_equal(((const int64_t *)c->values)[1], -2);
  assert_null(c->validity);
  c = col_of(fr, "I", COL_INT64);
  assert_int_equal(c->null_count, 1);
  assert_false(col_valid(c, 1));
  assert_int_equal(((const int64_t *)c->values)[2], 30);
  c = col_of(fr, "f", COL_FLOAT64);
  assert_int_equal(c->null_count, 1);
  assert_false(col_valid(c, 1));
  assert_true(((const double *)c->values)[2] < -1e308);
  c = col_of(fr, "F", COL_FLOAT64);
  assert_false(col_valid(c, 0));
  assert_true(((const double *)c->values)[1] == 2.5);
  c = col_of(fr, "b", COL_BOOL);
  assert_int_equal(((const uint8_t *)c->values)[0], 1);
  assert_int_equal(((const uint8_t *)c->values)[1], 0);
  c = col_of(fr, "B", COL_BOOL);
  assert_false(col_valid(c, 0));
  assert_int_equal(((const uint8_t *)c->values)[1], 1);
  c = col_of(fr, "s", COL_STRING);
  assert_string_equal(string_at(c, 0), "a");
  assert_null(string_at(c, 1));
  assert_string_equal(string_at(c, 2), "h\xc3\xa9llo");
  c = col_of(fr, "S", COL_STRING);
  assert_string_equal(string_at(c, 1), "x");
  assert_null(string_at(c, 2));
  c = col_of(fr, "c", COL_STRING);
  assert_string_equal(string_at(c, 2), "u");
  assert_null(string_at(c, 1));
  c = col_of(fr, "t", COL_TIMESTAMP);
  assert_int_equal(((const int64_t *)c->values)[0], 1000000000LL);
  assert_false(col_valid(c, 1));
  assert_int_equal(((const int64_t *)c->values)[2], 1704164645000000007LL);
  c = col_of(fr, "tz", COL_TIMESTAMP);
  assert_int_equal(((const int64_t *)c->values)[0], 1704067200000000000LL); /* 00:00 UTC */
  c = col_of(fr, "mixed", COL_STRING);
  assert_string_equal(string_at(c, 0), "1");
  assert_string_equal(string_at(c, 1), "two");
  c = col_of(fr, "td", COL_STRING);
  assert_string_equal(string_at(c, 0), "0 days 00:00:01");
  /* object columns of bools / ints with None (as pandas keeps them) */
  c = col_of(fr, "ob", COL_BOOL);
  assert_false(col_valid(c, 1));
  assert_int_equal(((const uint8_t *)c->values)[0], 1);
  c = col_of(fr, "oi", COL_INT64);
  assert_false(col_valid(c, 1));
  assert_int_equal(((const int64_t *)c->values)[2], 1099511627776LL);
  frame_free(fr);
  assert_out_dir_empty(f);

  /* the runner script is written once, private */
  char rt[8192];
  snprintf(rt, sizeof rt, "%s/runtime", f->home);
  DIR *d = opendir(rt);
  assert_non_null(d);
  struct dirent *e;
  int scripts = 0;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "assay_runner-", 13) != 0) continue;
    scripts++;
    char p[8192 + 512];
    snprintf(p, sizeof p, "%s/%s", rt, e->d_name);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    size_t a, b;
    char *got = slurp(p, &a), *src = slurp(ASSAY_SOURCE_DIR "/core/src/runner/assay_runner.py", &b);
    assert_int_equal(a, b);
    assert_memory_equal(got, src, a);
    free(got);
    free(src);
  }
  closedir(d);
  assert_int_equal(scripts, 1);
}

static void empty_frame_and_chunks(void **state) {
  fixture *f = *state;
  write_text(f->dir, "chunks.py",
             "import pandas as pd\n"
             "def empty():\n    return pd.DataFrame({'a': pd.Series([], dtype='int64')})\n"
             "def chunks(n=3):\n"
             "    for i in range(n):\n"
             "        yield pd.DataFrame({'a': [i, i], 's': ['p%d' % i, None]})\n"
             "def as_list():\n    return [pd.DataFrame({'a': [1.5]}), pd.DataFrame({'a': [2]})]\n"
             "def no_chunks():\n    return iter([])\n"
             "def renamed():\n"
             "    yield pd.DataFrame({'a': [1]})\n    yield pd.DataFrame({'b': [1]})\n");
  frame *fr;
  assert_int_equal(run_loader(f, "chunks.py", "empty", NULL, &fr), ASSAY_OK);
  assert_int_equal(fr->rows, 0);
  assert_int_equal(fr->ncols, 1);
  col_of(fr, "a", COL_INT64);
  frame_free(fr);

  assert_int_equal(run_loader(f, "chunks.py", "chunks", "{\"kwargs\": {\"n\": 4}}", &fr), ASSAY_OK);
  assert_int_equal(fr->rows, 8);
  const column *c = col_of(fr, "a", COL_INT64);
  assert_int_equal(((const int64_t *)c->values)[7], 3);
  c = col_of(fr, "s", COL_STRING);
  assert_string_equal(string_at(c, 6), "p3");
  assert_null(string_at(c, 7));
  frame_free(fr);

  /* nrows stops early */
  assert_int_equal(run_loader(f, "chunks.py", "chunks", "{\"kwargs\": {\"n\": 4}, \"nrows\": 3}", &fr),
                   ASSAY_OK);
  assert_int_equal(fr->rows, 3);
  frame_free(fr);

  /* a list of frames whose types widen */
  assert_int_equal(run_loader(f, "chunks.py", "as_list", NULL, &fr), ASSAY_OK);
  assert_int_equal(fr->rows, 2);
  c = col_of(fr, "a", COL_FLOAT64);
  assert_true(((const double *)c->values)[1] == 2.0);
  frame_free(fr);

  assert_int_equal(run_loader(f, "chunks.py", "no_chunks", NULL, &fr), ASSAY_OK);
  assert_int_equal(fr->rows, 0);
  frame_free(fr);

  assert_int_equal(run_loader(f, "chunks.py", "renamed", NULL, &fr), ASSAY_ERR_DATA);
  assert_contains(last_message(), "chunk 1 has the columns ['b'] but the first chunk has ['a']");
  assert_out_dir_empty(f);
}

/* --- arguments -------------------------------------------------------------------- */

/* A loader file whose functions record what they got in got_<name>.json
 * (in their working directory, which must be the loader's folder). */
static const char *ARGS_LOADER =
  "import json, pandas as pd\n"
  "def _keep(name, got):\n"
  "    with open('got_%s.json' % name, 'w') as fh:\n"
  "        json.dump(got, fh, sort_keys=True)\n"
  "    return pd.DataFrame({'x': [1]})\n"
  "def full(a, start_time, end_time, integration_dict):\n"
  "    return _keep('full', dict(a=a, start_time=start_time, end_time=end_time,\n"
  "                              integration_dict=integration_dict))\n"
  "def plain(a):\n    return _keep('plain', dict(a=a))\n"
  "def star(**kw):\n    return _keep('star', kw)\n"
  "def start_only(start_time, *, a=0):\n    return _keep('start_only', dict(start_time=start_time, a=a))\n";

static void check_args(fixture *f, const char *func, const char *extra, const char *want) {
  frame *fr;
  if (run_loader(f, "args.py", func, extra, &fr) != ASSAY_OK)
    fail_msg("%s: %s", func, last_message());
  frame_free(fr);
  char name[256];
  snprintf(name, sizeof name, "got_%s.json", func);
  char *got = slurp_in(f->dir, name, NULL);
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

static void arguments_by_signature(void **state) {
  fixture *f = *state;
  write_text(f->dir, "args.py", ARGS_LOADER);
  const char *req = "{\"kwargs\": {\"a\": 1}, \"start_time\": 10, \"end_time\": 20, "
                    "\"integration_dict\": {\"K\": \"v\"}}";
  check_args(f, "full", req,
             "{\"a\": 1, \"end_time\": 20, \"integration_dict\": {\"K\": \"v\"}, \"start_time\": 10}");
  check_args(f, "plain", req, "{\"a\": 1}");
  check_args(f, "star", req,
             "{\"a\": 1, \"end_time\": 20, \"integration_dict\": {\"K\": \"v\"}, \"start_time\": 10}");
  check_args(f, "start_only", req, "{\"a\": 1, \"start_time\": 10}");
  /* kwargs win over the window; no integration: not passed */
  check_args(f, "star", "{\"kwargs\": {\"start_time\": 5}, \"start_time\": 10, \"end_time\": null}",
             "{\"end_time\": null, \"start_time\": 5}");
  /* a required parameter nobody gives: the loader's TypeError */
  frame *fr;
  assert_int_equal(run_loader(f, "args.py", "full", "{\"kwargs\": {\"a\": 1}}", &fr),
                   ASSAY_ERR_DATA);
  assert_contains(last_message(), "loader function 'full' raised TypeError: ");
}

/* --- secrets ------------------------------------------------------------------------ */

static void secrets_only_on_stdin(void **state) {
  fixture *f = *state;
  setenv("ASSAY_TEST_RUNNER_VAR", "assay-env-value", 1);
  setenv("H3_DROPPED_VAR", "dropped-value", 1);
  setenv("LC_H7_KEPT", "kept-value", 1);
  setenv("no_proxy", "proxy-kept", 1);
  char held[8192];
  snprintf(held, sizeof held, "%s/held-open.txt", f->home);
  int held_fd = open(held, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  assert_true(held_fd >= 0);
  /* without close-on-exec, and high (0..4 are replaced in the child anyway) */
  int low_fd = open(held, O_RDONLY);
  assert_true(low_fd >= 0);
  int leaky_fd = fcntl(low_fd, F_DUPFD, 200);
  close(low_fd);
  assert_true(leaky_fd >= 200);
  write_text(f->dir, "spy.py",
             "import os, shutil, pandas as pd\n"
             "def f(integration_dict):\n"
             "    shutil.copy('/proc/self/cmdline', 'cmdline.bin')\n"
             "    shutil.copy('/proc/self/environ', 'environ.bin')\n"
             "    fds = []\n"
             "    for fd in sorted(os.listdir('/proc/self/fd'), key=int):\n"
             "        try:\n"
             "            fds.append('%s -> %s' % (fd, os.readlink('/proc/self/fd/' + fd)))\n"
             "        except OSError:\n"
             "            pass\n"
             "    with open('fds.txt', 'w') as fh:\n"
             "        fh.write('\\n'.join(fds))\n"
             "    return pd.DataFrame({'n': [len(integration_dict)]})\n");
  frame *fr;
  int rc = run_loader(f, "spy.py", "f", "{\"integration_dict\": {\"TOKEN\": \"" "sekrit-0123456789" "\"}}", &fr);
  close(held_fd);
  close(leaky_fd);
  unsetenv("ASSAY_TEST_RUNNER_VAR");
  unsetenv("H3_DROPPED_VAR");
  unsetenv("LC_H7_KEPT");
  unsetenv("no_proxy");
  if (rc) fail_msg("%s", last_message());
  frame_free(fr);
  size_t n;
  char *cmdline = slurp_in(f->dir, "cmdline.bin", &n);
  assert_non_null(cmdline);
  assert_null(memmem(cmdline, n, "sekrit", 6));
  /* argv: the interpreter, the script, "3" */
  size_t args = 0;
  for (size_t i = 0; i < n; i++) args += cmdline[i] == '\0';
  assert_int_equal(args, 3);
  assert_memory_equal(cmdline + n - 2, "3", 2);
  free(cmdline);
  char *env = slurp_in(f->dir, "environ.bin", &n);
  assert_non_null(env);
  assert_null(memmem(env, n, "sekrit", 6));
  /* only allowlisted variables: no ASSAY_* one, none of other names */
  static const char *const allowed[] = {
      "PATH=", "HOME=", "LANG=", "LANGUAGE=", "LC_", "TZ=", "TMPDIR=", "TERM=", "PYTHONPATH=",
      "PYTHONIOENCODING=", "VIRTUAL_ENV=", "CONDA_PREFIX=", "SSL_CERT_FILE=", "SSL_CERT_DIR=",
      "REQUESTS_CA_BUNDLE=", "CURL_CA_BUNDLE=", "http_proxy=", "HTTP_PROXY=", "https_proxy=",
      "HTTPS_PROXY=", "no_proxy=", "NO_PROXY=", "all_proxy=", "ALL_PROXY="};
  for (size_t i = 0; i < n; i += strlen(env + i) + 1) {
    int ok = 0;
    for (size_t k = 0; k < sizeof allowed / sizeof allowed[0]; k++)
      ok |= strncmp(env + i, allowed[k], strlen(allowed[k])) == 0;
    if (!ok) fail_msg("the child got %s", env + i);
  }
  assert_null(memmem(env, n, "assay-env-value", 15));
  assert_null(memmem(env, n, "H3_DROPPED_VAR", 14));
  assert_non_null(memmem(env, n, "LC_H7_KEPT=kept-value", 21));
  assert_non_null(memmem(env, n, "no_proxy=proxy-kept", 19));
  free(env);
  char *fds = slurp_in(f->dir, "fds.txt", NULL);
  assert_non_null(fds);
  assert_not_contains(fds, "held-open.txt");
  free(fds);
  /* no trace of the secret anywhere under the home */
  assert_false(tree_contains(f->home, "sekrit"));
}

static void printed_secrets_are_redacted(void **state) {
  fixture *f = *state;
  write_text(f->dir, "leak.py",
             "import json, sys, time, pandas as pd\n"
             "def f(integration_dict):\n"
             "    s = integration_dict['TOKEN']\n"
             "    print('token is', s)\n"
             "    print(integration_dict)\n"
             "    print(json.dumps(integration_dict))\n"
             "    sys.stderr.write('err ' + s + '\\n')\n"
             "    sys.stdout.write('split ' + s[:7]); sys.stdout.flush(); time.sleep(0.2)\n"
             "    sys.stdout.write(s[7:] + ' end\\n'); sys.stdout.flush()\n"
             "    for i in range(1, len(s)):\n"
             "        sys.stdout.write(s[:i]); sys.stdout.flush(); time.sleep(0.005)\n"
             "        sys.stdout.write(s[i:] + '|%d\\n' % i); sys.stdout.flush()\n"
             "    print('multi\\n' + integration_dict['PEM'] + '\\ndone')\n"
             "    print('host', integration_dict['HOST'])\n"
             "    return pd.DataFrame({'a': [1]})\n"
             "def long(integration_dict):\n"
             "    # the runner keeps the last 65536 characters of a traceback: the cut\n"
             "    # falls 9 characters before the end of the secret\n"
             "    raise RuntimeError('a' * 100 + integration_dict['LONGTOK'] + 'y' * (65536 - 1 - 9))\n"
             "def boom(integration_dict):\n"
             "    raise RuntimeError('cannot log in with ' + integration_dict['TOKEN'])\n");
  const char *secrets = "{\"integration_dict\": {\"TOKEN\": \"" "s3cr3t-T0ken-\\\"quoted\\\"-\\\\back-99"
                        "\", \"PEM\": \"-----BEGIN-----\\nAAAAsecretline\\n-----END-----\", "
                        "\"EMPTY\": \"\", \"N\": 5, \"HOST\": \"db.example\", "
                        "\"LONGTOK\": \"sekritZq8PartialTailQ\"}, \"public_names\": [\"HOST\"]}";
  frame *fr;
  int rc = run_loader(f, "leak.py", "f", secrets, &fr);
  if (rc) fail_msg("%s", last_message());
  frame_free(fr);
  assert_not_contains(f->log, "s3cr3t");
  assert_not_contains(f->log, "AAAAsecretline");
  assert_contains(f->log, "stdout: token is [REDACTED]\n");
  assert_contains(f->log, "stderr: err [REDACTED]\n");
  assert_contains(f->log, "stdout: split [REDACTED] end\n");
  assert_contains(f->log, "stdout: {'TOKEN': '[REDACTED]', 'PEM': '[REDACTED]'");
  assert_contains(f->log, "stdout: {\"TOKEN\": \"[REDACTED]\", \"PEM\": \"[REDACTED]\"");
  assert_contains(f->log, "stdout: multi\nstdout: [REDACTED]\nstdout: done\n");
  assert_contains(f->log, "stdout: host db.example\n"); /* a public value stays */
  for (int i = 1; i < (int)strlen(SECRET); i++) {
    char want[64];
    snprintf(want, sizeof want, "stdout: [REDACTED]|%d\n", i);
    assert_contains(f->log, want);
  }
  /* and in a failure's message and logged traceback */
  f->log_len = 0;
  f->log[0] = '\0';
  assert_int_equal(run_loader(f, "leak.py", "boom", secrets, &fr), ASSAY_ERR_DATA);
  assert_contains(last_message(), "loader function 'boom' raised RuntimeError: cannot log in with [REDACTED]");
  assert_not_contains(last_message(), "s3cr3t");
  assert_contains(f->log, "RuntimeError: cannot log in with [REDACTED]");
  assert_not_contains(f->log, "s3cr3t");
  assert_false(tree_contains(f->home, "s3cr3t"));
  /* a traceback cut to its tail does not keep the end of a secret */
  f->log_len = 0;
  f->log[0] = '\0';
  assert_int_equal(run_loader(f, "leak.py", "long", secrets, &fr), ASSAY_ERR_DATA);
  assert_contains(f->log, "yyyyyyyy");
  assert_not_contains(f->log, "TailQ");
  assert_not_contains(last_message(), "TailQ");
}

/* A loader that writes its own "parts" and reports them on the result
 * descriptor, as hostile code may: the runner's own locals are found up
 * the stack. */
static const char *PARTS_LOADER =
  "import json, os, sys, pandas as pd\n"
  "def _find(name):\n"
  "    f = sys._getframe(1)\n"
  "    while f is not None and name not in f.f_locals:\n"
  "        f = f.f_back\n"
  "    return f.f_locals[name]\n"
  "def _report(names):\n"
  "    os.write(_find('result_fd'), (json.dumps({'ok': True, 'parts': names}) + '\\n').encode())\n"
  "    os._exit(0)\n"
  "def _sparse(size):\n"
  "    out = _find('req')['output_dir']\n"
  "    with open(os.path.join(out, 'part-9999.acol'), 'wb') as fh:\n"
  "        fh.truncate(size)\n"
  "    _report(['part-9999.acol'])\n"
  "def sparse_1g():\n    _sparse(1 << 30)\n"
  "def sparse_256m():\n    _sparse(256 << 20)\n"
  "def padded():\n"
  "    out = _find('req')['output_dir']\n"
  "    w = _find('writer')\n"
  "    w.add(pd.DataFrame({'a': [1, 2, 3]}))\n"
  "    name = w.parts[-1]\n"
  "    with open(os.path.join(out, name), 'ab') as fh:\n"
  "        fh.write(b'\\x01' * (4 << 20))\n"
  "    _report([name])\n"
  "def secret_missing(integration_dict):\n"
  "    _report(['part-' + integration_dict['TOKEN']])\n"
  "def secret_junk(integration_dict):\n"
  "    name = 'part-' + integration_dict['TOKEN'] + '.acol'\n"
  "    with open(os.path.join(_find('req')['output_dir'], name), 'wb') as fh:\n"
  "        fh.write(b'NOTACOL!' + bytes(100))\n"
  "    _report([name])\n"
  "def secret_column(integration_dict):\n"
  "    s = integration_dict['TOKEN']\n"
  "    return [pd.DataFrame({s: [1]}), pd.DataFrame({s: ['text']})]\n";

static long peak_rss_mib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss >> 10;
}

/* What the child reports cannot make the platform read more than the
 * child could have written: a part larger than twice the memory limit, a
 * sparse one, or one of another size than its header says, is refused
 * before its buffers are read (the test process's peak memory stays put). */
static void oversized_parts_are_refused_unread(void **state) {
  fixture *f = *state;
  write_text(f->dir, "parts.py", PARTS_LOADER);
  frame *fr;
  long before = peak_rss_mib();
  f->cfg.memory_bytes = (int64_t)300 << 20;
  double t0 = now_s();
  assert_int_equal(run_loader(f, "parts.py", "sparse_1g", NULL, &fr), ASSAY_ERR_DATA);
  assert_null(fr);
  assert_contains(last_message(), "columnar file part-9999.acol is not valid: 1073741824 bytes, "
                                  "more than the 629145600 bytes allowed here");
  /* no limit: the machine's memory is the cap, and a sparse file is
   * refused all the same */
  f->cfg.memory_bytes = 0;
  assert_int_equal(run_loader(f, "parts.py", "sparse_1g", NULL, &fr), ASSAY_ERR_DATA);
  assert_contains(last_message(), "part-9999.acol is not valid: ");
  assert_contains(last_message(), "sparse file");
  assert_int_equal(run_loader(f, "parts.py", "sparse_256m", NULL, &fr), ASSAY_ERR_DATA);
  assert_contains(last_message(), "it is a sparse file: 268435456 bytes long");
  long after = peak_rss_mib();
  if (after - before > 128)
    fail_msg("the test process's peak RSS grew from %ld to %ld MiB", before, after);
  if (now_s() - t0 > 30) fail_msg("refusing took %.1f s", now_s() - t0);
  /* a real part with 4 MiB written after its last buffer */
  assert_int_equal(run_loader(f, "parts.py", "padded", NULL, &fr), ASSAY_ERR_DATA);
  assert_contains(last_message(), "more than the");
  assert_contains(last_message(), "its header's buffers need");
  assert_out_dir_empty(f);
}

/* Names the child chooses (a part's, a column's) reach the error only
 * redacted: runner_run redacts every error it returns. */
static void secrets_in_chosen_names_are_redacted(void **state) {
  fixture *f = *state;
  write_text(f->dir, "parts.py", PARTS_LOADER);
  const char *secrets = "{\"integration_dict\": {\"TOKEN\": \"Sx9q7ZrKp4vT2mW8yL\"}}";
  const char *funcs[] = {"secret_missing", "secret_junk", "secret_column"};
  const char *want[] = {"cannot open the columnar file part-[REDACTED]",
                        "columnar file part-[REDACTED].acol is not valid",
                        "[REDACTED]"};
  for (int k = 0; k < 3; k++) {
    f->log_len = 0;
    f->log[0] = '\0';
    frame *fr;
    int rc = run_loader(f, "parts.py", funcs[k], secrets, &fr);
    if (rc == ASSAY_OK) fail_msg("%s: loaded", funcs[k]);
    assert_contains(last_message(), want[k]);
    assert_not_contains(last_message(), "Sx9q7ZrKp4vT2mW8yL");
    assert_not_contains(last_message(), "Sx9q7Zr");
    assert_not_contains(f->log, "Sx9q7ZrKp4vT2mW8yL");
  }
  assert_false(tree_contains(f->home, "Sx9q7ZrKp4vT2mW8yL"));
  assert_out_dir_empty(f);
}

static void output_flood_does_not_block(void **state) {
  fixture *f = *state;
  /* 100 MB on stdout and some stderr at the same time, no newline for the
   * last 3 MB */
  write_text(f->dir, "flood.py",
             "import sys, pandas as pd\n"
             "def f(integration_dict):\n"
             "    line = 'y' * 999 + '\\n'\n"
             "    block = line * 1000\n"
             "    for i in range(97):\n"
             "        sys.stdout.write(block)\n"
             "        if i % 10 == 0:\n"
             "            sys.stderr.write('progress %d\\n' % i)\n"
             "    sys.stdout.write('z' * (3 * 1000 * 1000))\n"
             "    return pd.DataFrame({'a': [1]})\n");
  frame *fr;
  double t0 = now_s();
  int rc = run_loader(f, "flood.py", "f", "{\"integration_dict\": {\"K\": \"yyyz-not-there\"}}", &fr);
  if (rc) fail_msg("%s", last_message());
  frame_free(fr);
  if (now_s() - t0 > 30) fail_msg("100 MB of output took %.1f s", now_s() - t0);
  assert_int_equal(f->log_bytes, 97 * 1000 * 999 + 3 * 1000 * 1000 + 10 * strlen("progress 00") - 1);
  assert_true(f->saw_progress_90);
}

/* --- read mode ------------------------------------------------------------------------ */

static int run_read(fixture *f, const char *file, const char *format, const char *kwargs,
                    frame **out) {
  char path[8192];
  snprintf(path, sizeof path, "%s/%s", f->home, file);
  json_error_t jerr;
  json_t *kw = json_loads(kwargs ? kwargs : "{}", 0, &jerr);
  json_t *req = json_pack("{s:s, s:s, s:s, s:o, s:s}", "mode", "read", "path", path, "format",
                          format, "loading_kwargs", kw, "output_dir", f->out_dir);
  int rc = runner_run(&f->cfg, req, capture, f, out);
  json_decref(req);
  return rc;
}

static void read_mode_formats(void **state) {
  fixture *f = *state;
  char *cmd = NULL;
  assert_true(asprintf(&cmd,
                       "cd '%s' && '%s' -c \"import pandas as pd; df = pd.DataFrame({'a': range(5), "
                       "'s': ['x%%d' %% i for i in range(5)]}); df.to_parquet('d.parquet'); "
                       "df.to_json('d.jsonl', orient='records', lines=True); df.to_json('d.json')\"",
                       f->home, PYTHON) > 0);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  write_text(f->home, "bad.json", "{\"a\": [1, 2");
  frame *fr;
  assert_int_equal(run_read(f, "d.parquet", "parquet", NULL, &fr), ASSAY_OK);
  assert_int_equal(fr->rows, 5);
  assert_string_equal(string_at(col_of(fr, "s", COL_STRING), 4), "x4");
  frame_free(fr);
  assert_int_equal(run_read(f, "d.parquet", "parquet", "{\"columns\": [\"s\"]}", &fr), ASSAY_OK);
  assert_int_equal(fr->ncols, 1);
  frame_free(fr);
  assert_int_equal(run_read(f, "d.jsonl", "jsonl", NULL, &fr), ASSAY_OK);
  assert_int_equal(fr->rows, 5);
  assert_int_equal(((const int64_t *)col_of(fr, "a", COL_INT64)->values)[3], 3);
  frame_free(fr);
  assert_int_equal(run_read(f, "d.json", "json", NULL, &fr), ASSAY_OK);
  assert_int_equal(fr->rows, 5);
  frame_free(fr);
  assert_int_equal(run_read(f, "bad.json", "json", NULL, &fr), ASSAY_ERR_DATA);
  assert_contains(last_message(), "could not read json file 'bad.json': ValueError");
  assert_int_equal(run_read(f, "none.parquet", "parquet", NULL, &fr), ASSAY_ERR_DATA);
  assert_string_equal(last_message(), "data file 'none.parquet' not found");
  assert_out_dir_empty(f);
}

/* --- the sandbox ------------------------------------------------------------------------ */

/* A loader that tries what a hostile one would and what an honest one
 * needs, and returns one row per attempt: "ok" or "denied:<errno name>". */
static const char *PROBE_LOADER =
  "import errno, os, signal, socket, sys, sysconfig, tempfile\n"
  "import numpy, pandas as pd, pyarrow\n"
  "def _try(fn):\n"
  "    try:\n"
  "        fn()\n"
  "        return 'ok'\n"
  "    except OSError as e:\n"
  "        return 'denied:' + errno.errorcode.get(e.errno, str(e.errno))\n"
  "def _read(p):\n"
  "    with open(p, 'rb') as fh:\n"
  "        fh.read(1)\n"
  "def _write(p):\n"
  "    with open(p, 'w') as fh:\n"
  "        fh.write('x')\n"
  "def _tmp():\n"
  "    fd, p = tempfile.mkstemp()\n"
  "    os.write(fd, b'x')\n"
  "    os.close(fd)\n"
  "    os.unlink(p)\n"
  "def _connect(port):\n"
  "    s = socket.create_connection(('127.0.0.1', port), timeout=5)\n"
  "    s.sendall(b'hi from the loader')\n"
  "    s.close()\n"
  "def _status(key):\n"
  "    for line in open('/proc/self/status'):\n"
  "        if line.startswith(key + ':'):\n"
  "            return line.split()[1]\n"
  "def probe(home, key, server, port, work):\n"
  "    j = os.path.join\n"
  "    r = {}\n"
  "    r['read_key'] = _try(lambda: _read(j(home, 'secret.key')))\n"
  "    r['read_token'] = _try(lambda: _read(j(home, 'admin.token')))\n"
  "    r['read_db'] = _try(lambda: _read(j(home, 'assay.db')))\n"
  "    r['read_other_ws'] = _try(lambda: _read(j(home, 'files', 'ws2', 'private.csv')))\n"
  "    r['read_cache'] = _try(lambda: _read(j(home, 'cache', 'ds', 'frame.acol')))\n"
  "    r['list_home'] = _try(lambda: os.listdir(home))\n"
  "    r['read_outer_key'] = _try(lambda: _read(key))\n"
  "    r['read_outer_key_new'] = _try(lambda: _read(key + '.new'))\n"
  "    r['write_home'] = _try(lambda: _write(j(home, 'planted.txt')))\n"
  "    r['write_db'] = _try(lambda: _write(j(home, 'assay.db')))\n"
  "    r['write_own_folder'] = _try(lambda: _write('planted.txt'))\n"
  "    r['write_site_packages'] = _try(lambda: _write(j(sysconfig.get_paths()['purelib'],\n"
  "                                                      'planted_h7.py')))\n"
  "    r['write_prefix'] = _try(lambda: _write(j(sys.prefix, 'planted_h11.txt')))\n"
  "    r['write_dev_null'] = _try(lambda: _write('/dev/null'))\n"
  "    r['read_block_device'] = _try(lambda: [_read(j('/dev', d)) for d in os.listdir('/dev')\n"
  "                                          if d.startswith(('sd', 'vd', 'nvme', 'xvd'))])\n"
  "    r['read_own_folder'] = _try(lambda: _read('neighbour.txt'))\n"
  "    r['list_own_folder'] = _try(lambda: os.listdir('.'))\n"
  "    r['tmp_file'] = _try(_tmp)\n"
  "    r['write_work'] = _try(lambda: _write(j(work, 'from-loader.txt')))\n"
  "    r['connect'] = _try(lambda: _connect(port))\n"
  "    r['signal_server'] = _try(lambda: os.kill(server, signal.SIGCONT))\n"
  "    r['server_mem'] = _try(lambda: _read('/proc/%d/mem' % server))\n"
  "    r['server_environ'] = _try(lambda: _read('/proc/%d/environ' % server))\n"
  "    r['caps'] = _status('CapEff')\n"
  "    r['no_new_privs'] = _status('NoNewPrivs')\n"
  "    return pd.DataFrame({'what': list(r), 'result': [str(v) for v in r.values()]})\n";

typedef struct probe_env {
  char folder[4200]; /* the loader's folder, in the home */
  char key[4300];    /* a key file outside the home (in work) */
  int listen_fd;
  int port;
  const char *protect[2];
} probe_env;

static void mkdirs(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *c = buf + 1; *c; c++) {
    if (*c != '/') continue;
    *c = '\0';
    mkdir(buf, 0700);
    *c = '/';
  }
  mkdir(buf, 0700);
}

/* The platform's files in the home (and a key beside it), the probe loader
 * in <home>/files/ws1/pkg, a listening socket on 127.0.0.1. */
static void probe_setup(fixture *f, probe_env *pe) {
  write_text(f->home, "secret.key", "home-master-key\n");
  write_text(f->home, "admin.token", "admin-token\n");
  write_text(f->home, "assay.db", "SQLite format 3\n");
  char p[4096 + 64];
  snprintf(p, sizeof p, "%s/files/ws2", f->home);
  mkdirs(p);
  write_text(p, "private.csv", "a\n1\n");
  snprintf(p, sizeof p, "%s/cache/ds", f->home);
  mkdirs(p);
  write_text(p, "frame.acol", "cached");
  snprintf(pe->folder, sizeof pe->folder, "%s/files/ws1/pkg", f->home);
  mkdirs(pe->folder);
  write_text(pe->folder, "probe.py", PROBE_LOADER);
  write_text(pe->folder, "neighbour.txt", "hello\n");
  snprintf(p, sizeof p, "%s/keys", f->work);
  mkdirs(p);
  write_text(p, "master.key", "outer-master-key\n");
  write_text(p, "master.key.new", "outer-master-key-next\n");
  snprintf(pe->key, sizeof pe->key, "%s/master.key", p);
  pe->protect[0] = pe->key;
  pe->protect[1] = NULL;
  f->cfg.protect = pe->protect;
  pe->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(pe->listen_fd >= 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(pe->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(pe->listen_fd, 4), 0);
  socklen_t al = sizeof a;
  assert_int_equal(getsockname(pe->listen_fd, (struct sockaddr *)&a, &al), 0);
  pe->port = ntohs(a.sin_port);
}

/* Run the probe; *out its frame (rc returned). */
static int run_probe(fixture *f, probe_env *pe, frame **out) {
  char path[8192], extra[16384];
  snprintf(path, sizeof path, "%s/probe.py", pe->folder);
  snprintf(extra, sizeof extra,
           "{\"kwargs\": {\"home\": \"%s\", \"key\": \"%s\", \"server\": %d, \"port\": %d, "
           "\"work\": \"%s\"}}",
           f->home, pe->key, (int)getpid(), pe->port, f->dir);
  json_error_t jerr;
  json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "mode", "load", "path", path, "function",
                          "probe", "output_dir", f->out_dir);
  json_t *x = json_loads(extra, 0, &jerr);
  assert_non_null(x);
  json_object_update(req, x);
  json_decref(x);
  *out = NULL;
  int rc = runner_run(&f->cfg, req, capture, f, out);
  json_decref(req);
  return rc;
}

/* The probe's result for `what`. */
static const char *probe_result(const frame *fr, const char *what) {
  static char got[256];
  const column *w = col_of(fr, "what", COL_STRING), *r = col_of(fr, "result", COL_STRING);
  for (int64_t i = 0; i < fr->rows; i++) {
    if (strcmp(string_at(w, i), what) != 0) continue;
    snprintf(got, sizeof got, "%s", string_at(r, i));
    return got;
  }
  fail_msg("the probe did not try '%s'", what);
  return NULL;
}

#define assert_probe(fr, what, want)                                                 \
  do {                                                                               \
    const char *g_ = probe_result((fr), (what));                                     \
    if (strcmp(g_, (want)) != 0) fail_msg("%s: got %s, expected %s", (what), g_, (want)); \
  } while (0)
#define assert_probe_denied(fr, what)                                                   \
  do {                                                                                  \
    const char *g_ = probe_result((fr), (what));                                        \
    if (strncmp(g_, "denied:", 7) != 0) fail_msg("%s: got %s, expected a denial", (what), g_); \
  } while (0)

static void probe_teardown(probe_env *pe) { close(pe->listen_fd); }

/* What the loader got from the platform's side: the bytes on the socket. */
static void assert_connected(probe_env *pe) {
  int c = accept(pe->listen_fd, NULL, NULL);
  assert_true(c >= 0);
  char buf[64] = "";
  ssize_t n = read(c, buf, sizeof buf - 1);
  close(c);
  assert_true(n > 0);
  assert_string_equal(buf, "hi from the loader");
}

static void sandbox_keeps_the_platform_files_away(void **state) {
  fixture *f = *state;
  probe_env pe;
  probe_setup(f, &pe);
  frame *fr;
  int rc = run_probe(f, &pe, &fr);
  if (rc) fail_msg("%s\nlog:\n%s", last_message(), f->log);
  /* the platform's files, another workspace's, the cache, the key outside
   * the home and the file beside it: neither read nor listed nor written */
  assert_probe(fr, "read_key", "denied:EACCES");
  assert_probe(fr, "read_token", "denied:EACCES");
  assert_probe(fr, "read_db", "denied:EACCES");
  assert_probe(fr, "read_other_ws", "denied:EACCES");
  assert_probe(fr, "read_cache", "denied:EACCES");
  assert_probe(fr, "list_home", "denied:EACCES");
  assert_probe(fr, "read_outer_key", "denied:EACCES");
  assert_probe(fr, "read_outer_key_new", "denied:EACCES");
  assert_probe(fr, "write_home", "denied:EACCES");
  assert_probe(fr, "write_db", "denied:EACCES");
  assert_probe(fr, "write_own_folder", "denied:EACCES");
  assert_probe(fr, "write_site_packages", "denied:EACCES");
  assert_probe(fr, "write_prefix", "denied:EACCES");
  assert_probe_denied(fr, "read_block_device"); /* "ok" only where there is no disk */
  /* the server: not signalled, not read */
  assert_probe_denied(fr, "signal_server");
  assert_probe_denied(fr, "server_mem");
  assert_probe_denied(fr, "server_environ");
  assert_probe(fr, "caps", "0000000000000000");
  assert_probe(fr, "no_new_privs", "1");
  /* what it needs works */
  assert_probe(fr, "read_own_folder", "ok");
  assert_probe(fr, "list_own_folder", "ok");
  assert_probe(fr, "tmp_file", "ok");
  assert_probe(fr, "write_work", "ok");
  assert_probe(fr, "write_dev_null", "ok");
  assert_probe(fr, "connect", "ok");
  frame_free(fr);
  assert_connected(&pe);
  char p[8192];
  snprintf(p, sizeof p, "%s/planted.txt", f->home);
  assert_int_not_equal(access(p, F_OK), 0);
  snprintf(p, sizeof p, "%s/planted.txt", pe.folder);
  assert_int_not_equal(access(p, F_OK), 0);
  char *db = slurp_in(f->home, "assay.db", NULL);
  assert_string_equal(db, "SQLite format 3\n");
  free(db);
  char *w = slurp_in(f->dir, "from-loader.txt", NULL);
  assert_string_equal(w, "x");
  free(w);
  assert_out_dir_empty(f);
  assert_not_contains(f->log, "runner: no user and PID namespaces");
  probe_teardown(&pe);
}

/* An interpreter (a venv) under /tmp, beside the loader's writable work
 * folder: its site-packages and its folder stay read-only while the rest
 * of /tmp is writable (the loader gets its own TMPDIR). */
static void sandbox_keeps_an_interpreter_under_tmp_read_only(void **state) {
  fixture *f = *state;
  /* a venv of the project venv's base interpreter that sees the project
   * venv's packages (pandas ...) through a .pth file */
  write_text(f->work, "mkvenv.py",
             "import os, subprocess, sys, sysconfig\n"
             "d = sys.argv[1]\n"
             "subprocess.check_call([sys._base_executable, '-m', 'venv', '--without-pip', d])\n"
             "site = subprocess.check_output([d + '/bin/python', '-c', 'import sysconfig; "
             "print(sysconfig.get_paths()[\"purelib\"])'], text=True).strip()\n"
             "p = sysconfig.get_paths()\n"
             "with open(os.path.join(site, 'project.pth'), 'w') as fh:\n"
             "    fh.write(p['purelib'] + '\\n' + p['platlib'] + '\\n')\n"
             "print(site)\n");
  char *cmd = NULL;
  assert_true(asprintf(&cmd, "'%s' '%s/mkvenv.py' '%s/venv' > '%s/site.txt'", PYTHON, f->work,
                       f->work, f->work) > 0);
  assert_int_equal(system(cmd), 0);
  free(cmd);
  char *site = slurp_in(f->work, "site.txt", NULL);
  assert_non_null(site);
  site[strcspn(site, "\n")] = '\0';
  char py[8192];
  snprintf(py, sizeof py, "%s/venv/bin/python", f->work);
  f->cfg.python = py;
  probe_env pe;
  probe_setup(f, &pe);
  frame *fr;
  int rc = run_probe(f, &pe, &fr);
  if (rc) fail_msg("%s\nlog:\n%s", last_message(), f->log);
  assert_probe(fr, "write_site_packages", "denied:EACCES");
  assert_probe(fr, "write_prefix", "denied:EACCES");
  assert_probe(fr, "read_key", "denied:EACCES");
  assert_probe(fr, "write_home", "denied:EACCES");
  assert_probe(fr, "read_own_folder", "ok");
  assert_probe(fr, "tmp_file", "ok");
  assert_probe(fr, "write_work", "ok"); /* beside the venv, in the same /tmp folder */
  frame_free(fr);
  assert_connected(&pe);
  char p[16384];
  snprintf(p, sizeof p, "%s/planted_h7.py", site);
  assert_int_not_equal(access(p, F_OK), 0);
  snprintf(p, sizeof p, "%s/venv/planted_h11.txt", f->work);
  assert_int_not_equal(access(p, F_OK), 0);
  char *w = slurp_in(f->dir, "from-loader.txt", NULL);
  assert_string_equal(w, "x");
  free(w);
  free(site);
  probe_teardown(&pe);
}

/* Without user namespaces (forced): the same walls, and Landlock alone
 * keeps the loader from signalling or tracing the server it can see. */
static void sandbox_without_namespaces(void **state) {
  fixture *f = *state;
  f->cfg.sandbox_test = RUNNER_TEST_NO_NAMESPACES;
  probe_env pe;
  probe_setup(f, &pe);
  frame *fr;
  int rc = run_probe(f, &pe, &fr);
  if (rc) fail_msg("%s", last_message());
  assert_probe(fr, "read_key", "denied:EACCES");
  assert_probe(fr, "read_outer_key", "denied:EACCES");
  assert_probe(fr, "write_home", "denied:EACCES");
  assert_probe(fr, "signal_server", "denied:EPERM");
  assert_probe(fr, "server_mem", "denied:EACCES");
  assert_probe(fr, "server_environ", "denied:EACCES");
  assert_probe(fr, "caps", "0000000000000000");
  assert_probe(fr, "read_own_folder", "ok");
  assert_probe(fr, "connect", "ok");
  frame_free(fr);
  assert_connected(&pe);
  assert_contains(f->log, "runner: no user and PID namespaces here (disabled for a test)");
  probe_teardown(&pe);
}

/* Without Landlock (forced): custom loaders are refused, unless allowed;
 * the data reader runs. */
static void refused_without_landlock(void **state) {
  fixture *f = *state;
  f->cfg.sandbox_test = RUNNER_TEST_NO_LANDLOCK;
  probe_env pe;
  probe_setup(f, &pe);
  frame *fr;
  assert_int_equal(run_probe(f, &pe, &fr), ASSAY_ERR_DATA);
  assert_null(fr);
  assert_string_equal(last_message(),
                      "custom loaders need Landlock (Linux 5.13+) to keep them away from the "
                      "platform's files; this kernel has none (set "
                      "ASSAY_ALLOW_UNSANDBOXED_LOADERS=1 in the platform's environment to run "
                      "them anyway)");
  assert_int_equal(f->log_lines, 0); /* no process started */
  /* the data reader is not user code */
  write_text(f->home, "d.jsonl", "{\"a\": 1}\n{\"a\": 2}\n");
  assert_int_equal(run_read(f, "d.jsonl", "jsonl", NULL, &fr), ASSAY_OK);
  assert_int_equal(fr->rows, 2);
  frame_free(fr);
  /* allowed: it runs, and nothing holds it back (which is why it needs
   * the platform's consent) */
  f->cfg.allow_unsandboxed = 1;
  int rc = run_probe(f, &pe, &fr);
  if (rc) fail_msg("%s", last_message());
  assert_probe(fr, "read_key", "ok");
  frame_free(fr);
  assert_connected(&pe);
  assert_contains(f->log, "runner: this kernel has no Landlock: the loader runs WITHOUT a sandbox");
  probe_teardown(&pe);
}

/* A process that leaves the loader's process group (double fork and
 * setsid, descriptors closed) dies with the run; its memory counts. */
static void escaped_processes_die_and_count(void **state) {
  fixture *f = *state;
  char marker[64], src[4096];
  sleep_marker(marker, sizeof marker);
  snprintf(src, sizeof src,
           "import os, time, pandas as pd\n"
           "def _escape(then):\n"
           "    if os.fork() == 0:\n"
           "        os.setsid()\n"
           "        if os.fork() == 0:\n"
           "            os.closerange(0, 64)\n"
           "            then()\n"
           "        os._exit(0)\n"
           "def _seen():\n"
           "    for p in os.listdir('/proc'):\n"
           "        try:\n"
           "            if '%s' in open('/proc/%%s/cmdline' %% p).read():\n"
           "                return True\n"
           "        except (OSError, ValueError):\n"
           "            pass\n"
           "    return False\n"
           "def sleeper():\n"
           "    _escape(lambda: os.execv('/bin/sleep', ['sleep', '%s']))\n"
           "    for _ in range(100):\n"
           "        if _seen():\n"
           "            break\n"
           "        time.sleep(0.05)\n"
           "    return pd.DataFrame({'seen': [_seen()]})\n"
           "def hog():\n"
           "    def grab():\n"
           "        block = bytearray(400 << 20)\n"
           "        for i in range(0, len(block), 4096):\n"
           "            block[i] = 1\n"
           "        time.sleep(60)\n"
           "    _escape(grab)\n"
           "    time.sleep(30)\n",
           marker, marker);
  write_text(f->dir, "escape.py", src);
  frame *fr;
  assert_int_equal(run_loader(f, "escape.py", "sleeper", NULL, &fr), ASSAY_OK);
  const column *seen = col_of(fr, "seen", COL_BOOL);
  assert_int_equal(((const uint8_t *)seen->values)[0], 1); /* it ran */
  frame_free(fr);
  assert_int_equal(count_with_arg(marker, 1), 0); /* and is gone */

  f->cfg.memory_bytes = (int64_t)256 << 20;
  double t0 = now_s();
  assert_int_equal(run_loader(f, "escape.py", "hog", NULL, &fr), ASSAY_ERR_DATA);
  assert_string_equal(last_message(), "loader exceeded the memory limit of 256 MiB");
  if (now_s() - t0 > 15) fail_msg("the memory limit took %.1f s to act", now_s() - t0);
}

/* What would hold memory the limit does not count is refused or bounded:
 * a nested user namespace (unshare, or clone with a namespace flag),
 * memfd_create, and /dev/shm (the run's own tmpfs of at most 256 MiB, gone
 * with the run; read-only without namespaces). Threads, numpy and a
 * subprocess still work. */
static const char *HOARD_LOADER =
    "import ctypes, errno, os, subprocess, threading, numpy as np, pandas as pd\n"
    "from concurrent.futures import ThreadPoolExecutor\n"
    "def _try(fn):\n"
    "    try:\n"
    "        return fn()\n"
    "    except OSError as e:\n"
    "        return 'denied:' + errno.errorcode.get(e.errno, str(e.errno))\n"
    "def _libc_call(name, *args):\n"
    "    libc = ctypes.CDLL(None, use_errno=True)\n"
    "    if getattr(libc, name)(*args) != 0:\n"
    "        e = ctypes.get_errno()\n"
    "        raise OSError(e, os.strerror(e))\n"
    "    return 'ok'\n"
    "def _unshare():\n"
    "    if hasattr(os, 'unshare'):\n"
    "        os.unshare(os.CLONE_NEWUSER)\n"
    "        return 'ok'\n"
    "    return _libc_call('unshare', 0x10000000)\n"
    "def _nested():\n"
    "    # fork, then a new user + PID namespace in the child\n"
    "    r, w = os.pipe()\n"
    "    pid = os.fork()\n"
    "    if pid == 0:\n"
    "        os.write(w, _try(lambda: _libc_call('unshare', 0x10000000 | 0x20000000)).encode())\n"
    "        os._exit(0)\n"
    "    os.close(w)\n"
    "    got = os.read(r, 100).decode()\n"
    "    os.waitpid(pid, 0)\n"
    "    return got\n"
    "def _memfd():\n"
    "    os.close(os.memfd_create('x'))\n"
    "    return 'ok'\n"
    "def _shm():\n"
    "    path = '/dev/shm/' + NAME\n"
    "    written = 0\n"
    "    try:\n"
    "        with open(path, 'wb') as f:\n"
    "            chunk = b'x' * (1 << 20)\n"
    "            for _ in range(300):\n"
    "                f.write(chunk)\n"
    "                f.flush()\n"
    "                written += 1\n"
    "        return 'ok'\n"
    "    except OSError as e:\n"
    "        return 'denied:%s:%d' % (errno.errorcode.get(e.errno), written)\n"
    "def _threads():\n"
    "    out = []\n"
    "    t = threading.Thread(target=lambda: out.append(int(np.arange(1000).sum())))\n"
    "    t.start(); t.join()\n"
    "    with ThreadPoolExecutor(4) as ex:\n"
    "        out += list(ex.map(lambda n: int(np.ones(n).sum()), [10, 20]))\n"
    "    return ','.join(map(str, out))\n"
    "def _subprocess():\n"
    "    return subprocess.run(['/bin/echo', 'hi'], capture_output=True, text=True).stdout.strip()\n"
    "def load():\n"
    "    rows = [('unshare', _try(_unshare)), ('nested', _try(_nested)),\n"
    "            ('memfd', _try(_memfd)), ('shm', _try(_shm)),\n"
    "            ('threads', _threads()), ('subprocess', _try(_subprocess))]\n"
    "    return pd.DataFrame({'what': [r[0] for r in rows], 'result': [r[1] for r in rows]})\n";

static void no_memory_outside_the_limit(void **state) {
  fixture *f = *state;
  char name[64], src[8192], path[128];
  snprintf(name, sizeof name, "assay-test-shm-%ld-%ld", (long)getpid(), (long)time(NULL));
  snprintf(src, sizeof src, "NAME = '%s'\n%s", name, HOARD_LOADER);
  snprintf(path, sizeof path, "/dev/shm/%s", name);
  write_text(f->dir, "hoard.py", src);
  for (int pass = 0; pass < 2; pass++) {
    f->cfg.sandbox_test = pass ? RUNNER_TEST_NO_NAMESPACES : 0;
    frame *fr;
    int rc = run_loader(f, "hoard.py", "load", NULL, &fr);
    if (rc) fail_msg("pass %d: %s\n%s", pass, last_message(), f->log);
    assert_probe(fr, "unshare", "denied:EPERM");
    assert_probe(fr, "nested", "denied:EPERM");
    assert_probe(fr, "memfd", "denied:EPERM");
    /* its own /dev/shm is full at 256 MiB; without namespaces the
     * machine's is read-only */
    assert_probe(fr, "shm", pass ? "denied:EACCES:0" : "denied:ENOSPC:256");
    assert_probe(fr, "threads", "499500,10,20");
    assert_probe(fr, "subprocess", "hi");
    frame_free(fr);
    struct stat st;
    if (stat(path, &st) == 0) {
      unlink(path);
      fail_msg("pass %d: %s outlived the run", pass, path);
    }
  }
}

/* --- the redactor ---------------------------------------------------------------------- */

static void redactor_text_and_streams(void **state) {
  (void)state;
  json_t *secrets = json_pack("{s:s, s:s, s:s, s:i, s:s}", "A", "abcabd", "B", "abc", "C",
                              "x\"y\\z\n", "N", 7, "E", "");
  redactor *r;
  assert_int_equal(redactor_new(&r, secrets), ASSAY_OK);
  char *t = redact_text(r, "abcabcabd abc ab x\"y\\z\n.", 24);
  assert_string_equal(t, "[REDACTED][REDACTED] [REDACTED] ab [REDACTED].");
  free(t);
  /* the JSON and repr forms */
  const char *json_form = "{\"C\": \"x\\\"y\\\\z\\n\"} 'x\"y\\\\z\\n'";
  t = redact_text(r, json_form, strlen(json_form));
  assert_string_equal(t, "{\"C\": \"[REDACTED]\"} '[REDACTED]'");
  free(t);
  /* a stream split at every position, and byte by byte, gives the same */
  const char *text = "<<abcabd>>abcab<<x\"y\\z\n>>abc";
  size_t len = strlen(text);
  char *whole = redact_text(r, text, len);
  for (size_t cut = 0; cut <= len; cut++) {
    redact_stream *s;
    assert_int_equal(redact_stream_new(&s, r), ASSAY_OK);
    char got[256] = "";
    size_t gl = 0;
    const char *o;
    size_t on;
    assert_int_equal(redact_stream_feed(s, text, cut, 0, &o, &on), ASSAY_OK);
    memcpy(got + gl, o, on), gl += on;
    assert_int_equal(redact_stream_feed(s, text + cut, len - cut, 0, &o, &on), ASSAY_OK);
    memcpy(got + gl, o, on), gl += on;
    assert_int_equal(redact_stream_feed(s, NULL, 0, 1, &o, &on), ASSAY_OK);
    memcpy(got + gl, o, on), gl += on;
    got[gl] = '\0';
    assert_string_equal(got, whole);
    redact_stream_free(s);
  }
  redact_stream *s;
  assert_int_equal(redact_stream_new(&s, r), ASSAY_OK);
  char got[256] = "";
  size_t gl = 0;
  for (size_t i = 0; i < len; i++) {
    const char *o;
    size_t on;
    assert_int_equal(redact_stream_feed(s, text + i, 1, 0, &o, &on), ASSAY_OK);
    memcpy(got + gl, o, on), gl += on;
  }
  const char *o;
  size_t on;
  assert_int_equal(redact_stream_feed(s, NULL, 0, 1, &o, &on), ASSAY_OK);
  memcpy(got + gl, o, on), gl += on;
  got[gl] = '\0';
  assert_string_equal(got, whole);
  redact_stream_free(s);
  /* only bytes that start a secret wait */
  assert_int_equal(redact_stream_new(&s, r), ASSAY_OK);
  assert_int_equal(redact_stream_feed(s, "hello\n", 6, 0, &o, &on), ASSAY_OK);
  assert_int_equal(on, 6);
  assert_int_equal(redact_stream_feed(s, "xx ab", 5, 0, &o, &on), ASSAY_OK);
  assert_int_equal(on, 3);
  assert_memory_equal(o, "xx ", 3);
  assert_int_equal(redact_stream_feed(s, "c!", 2, 0, &o, &on), ASSAY_OK);
  assert_int_equal(on, 11);
  assert_memory_equal(o, "[REDACTED]!", 11);
  assert_int_equal(redact_stream_feed(s, "abcab", 5, 0, &o, &on), ASSAY_OK);
  assert_int_equal(on, 0); /* "abc" matches, but "abcabd" may follow */
  assert_int_equal(redact_stream_feed(s, "d", 1, 0, &o, &on), ASSAY_OK);
  assert_int_equal(on, 10);
  assert_int_equal(redact_stream_feed(s, "ab", 2, 1, &o, &on), ASSAY_OK);
  assert_int_equal(on, 2);
  redact_stream_free(s);
  free(whole);
  redactor_free(r);
  json_decref(secrets);

  /* no secrets: text passes as it is */
  assert_int_equal(redactor_new(&r, NULL), ASSAY_OK);
  t = redact_text(r, "plain", 5);
  assert_string_equal(t, "plain");
  free(t);
  redactor_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(redactor_text_and_streams),
    cmocka_unit_test_setup_teardown(loader_file_missing, setup, teardown),
    cmocka_unit_test_setup_teardown(syntax_error_names_the_line, setup, teardown),
    cmocka_unit_test_setup_teardown(function_missing, setup, teardown),
    cmocka_unit_test_setup_teardown(import_failure, setup, teardown),
    cmocka_unit_test_setup_teardown(raising_keeps_the_traceback, setup, teardown),
    cmocka_unit_test_setup_teardown(system_exit_and_no_result, setup, teardown),
    cmocka_unit_test_setup_teardown(wrong_return_type, setup, teardown),
    cmocka_unit_test_setup_teardown(killed_at_the_time_limit, setup, teardown),
    cmocka_unit_test_setup_teardown(cancelled_at_once, setup, teardown),
    cmocka_unit_test_setup_teardown(killed_over_the_memory_limit, setup, teardown),
    cmocka_unit_test_setup_teardown(interpreter_without_pandas, setup, teardown),
    cmocka_unit_test_setup_teardown(every_dtype, setup, teardown),
    cmocka_unit_test_setup_teardown(empty_frame_and_chunks, setup, teardown),
    cmocka_unit_test_setup_teardown(arguments_by_signature, setup, teardown),
    cmocka_unit_test_setup_teardown(secrets_only_on_stdin, setup, teardown),
    cmocka_unit_test_setup_teardown(printed_secrets_are_redacted, setup, teardown),
    cmocka_unit_test_setup_teardown(oversized_parts_are_refused_unread, setup, teardown),
    cmocka_unit_test_setup_teardown(secrets_in_chosen_names_are_redacted, setup, teardown),
    cmocka_unit_test_setup_teardown(output_flood_does_not_block, setup, teardown),
    cmocka_unit_test_setup_teardown(read_mode_formats, setup, teardown),
    cmocka_unit_test_setup_teardown(sandbox_keeps_the_platform_files_away, setup, teardown),
    cmocka_unit_test_setup_teardown(sandbox_keeps_an_interpreter_under_tmp_read_only, setup,
                                    teardown),
    cmocka_unit_test_setup_teardown(sandbox_without_namespaces, setup, teardown),
    cmocka_unit_test_setup_teardown(refused_without_landlock, setup, teardown),
    cmocka_unit_test_setup_teardown(escaped_processes_die_and_count, setup, teardown),
    cmocka_unit_test_setup_teardown(no_memory_outside_the_limit, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
