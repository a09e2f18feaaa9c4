/* runner/runner.h — user Python code in a child process.
 *
 * runner_run() starts the runner script (runner/assay_runner.py, compiled
 * into libassay and written to <home>/runtime/ on first use) with the
 * configured interpreter, with the loader's folder as working directory.
 * The request — the JSON below, secrets included — is written to the
 * child's stdin and nowhere else: not argv, not the environment, not a
 * file. Every descriptor but stdin, stdout, stderr and the result pipe
 * (fd 3) is closed in the child.
 *
 * The sandbox (user code is any workspace member's Python; the platform's
 * files must stay out of its reach):
 * - Filesystem (Landlock, every access right the running kernel's ABI
 *   knows): the platform home and the `protect` paths (the master key file
 *   and the files beside it named "<key>.*") are neither readable nor
 *   writable, but for what the run needs in them: the loader's or model's
 *   folder (read-only, "load" and "predict"), the data file ("read") or
 *   the model's input file ("predict", read-only), the runner script, and
 *   output_dir (read-write). Everything else is readable and executable
 *   (granted entry by entry as the complement of the protected paths, so
 *   an entry created after the run started is not); writable are only
 *   output_dir and /tmp and /var/tmp (entry by entry when one of
 *   them holds the home: then its other entries are writable, new entries
 *   directly in it are not, and TMPDIR points at output_dir; the same when
 *   one of them holds the interpreter's installation — its venv folder,
 *   the prefix of realpath(python) — or libassay's folder, which stay
 *   read-only). Of /dev only null, zero, full, random, urandom, tty,
 *   ptmx, pts and shm are reachable (never a disk); the machine's /dev/shm
 *   is read-only, and a run with its own mount namespace gets a private
 *   tmpfs there (at most its memory limit, 256 MiB). A seccomp filter
 *   refuses new namespaces (unshare, setns, clone with namespace flags)
 *   and memfd_create, so no memory escapes the limit's count. Landlock
 *   also keeps the child from tracing or reading
 *   the memory of processes outside its sandbox and (ABI >= 6) from
 *   signalling them or reaching their abstract UNIX sockets. Network stays
 *   open. Without Landlock (kernel < 5.13 or the LSM disabled) a custom
 *   loader ("load") is refused with ASSAY_ERR_DATA "custom loaders need
 *   Landlock ..." (a model, "predict": "model files need Landlock ...")
 *   unless allow_unsandboxed; "read" runs unsandboxed.
 * - Processes: the child starts in new user (uid and gid mapped 1:1), PID
 *   and mount namespaces (its own /proc when the kernel allows the mount),
 *   so the loader is PID 1 of its namespace and killing it kills every
 *   process it started, setsid() or not; the memory limit counts the
 *   resident set of every process of the namespace. Without user
 *   namespaces the child runs in its own process group instead (a
 *   "runner: ..." line in the log says so), which a process can leave.
 *   No new privileges (PR_SET_NO_NEW_PRIVS), no capabilities, and the
 *   child dies with the platform (PR_SET_PDEATHSIG).
 * - Environment: only PATH, HOME, LANG, LANGUAGE, LC_*, TZ, TMPDIR, TERM,
 *   PYTHONPATH, PYTHONIOENCODING, VIRTUAL_ENV, CONDA_PREFIX, SSL_CERT_FILE,
 *   SSL_CERT_DIR, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and the proxy
 *   variables (http_proxy, https_proxy, no_proxy, all_proxy, either case)
 *   of the platform's environment; never an ASSAY_* variable.
 *
 * The child writes each DataFrame it gets (or reads) as a columnar file
 * (docs/columnar.md) into request.output_dir and reports on fd 3 one JSON
 * line: {"ok": true, "parts": ["part-0000.acol", ...]} or {"ok": false,
 * "kind": "...", "message": "...", "traceback": "..."}. The parent reads
 * the parts into its own memory (frame_read_limited: never mapped, as a
 * process the loader left behind may still change them) and concatenates
 * them into one frame. A part is refused (ASSAY_ERR_DATA "columnar file
 * <part> is not valid: ...") before its buffers are read when it is
 * larger than twice the memory limit (no limit: the machine's memory),
 * when all parts so far hold more than the machine's memory, when it is
 * sparse, or when its size is not what its header's buffers need (see
 * frame_read): what the child reports cannot make the platform read more
 * than it could have written.
 *
 * The child's stdout and stderr go to the log (runner_log_fn) line by line
 * with every secret value of the request's integration_dict (all its
 * string values but those named in "public_names") replaced by
 * "[REDACTED]" (in every form redactor_new lists) — also when a value is
 * split across reads — and so are the message and traceback of a failure
 * before they reach the error or the log; the child caps a failure's
 * message (head) and traceback (tail) only after redacting them itself
 * (the same forms), so a cut never leaves part of a secret.
 * Limits: the wall-clock time (the child, and with it its namespace or
 * process group, is killed with SIGKILL at the deadline) and the memory
 * (the resident set size of the namespace's processes, polled every 50 ms:
 * over the limit they are killed; RLIMIT_AS of max(4 x limit, limit +
 * 4 GiB) is a per-process backstop that leaves room for the address space
 * numpy / pyarrow reserve). When the loader's process ends, whatever it
 * left running is killed too.
 *
 * The working directory is the loader's or model's folder ("load",
 * "predict") or output_dir ("read"). DataFrame dtypes become column types as assay_runner.py
 * documents (ints and nullable Int -> int64, floats -> float64 with NaN as
 * null, bool / boolean -> bool, str / object strings / category -> string,
 * datetime64 (time zones converted to UTC) -> timestamp, object columns of
 * only bools / ints / numbers / datetimes -> those, anything else -> its
 * text); a named index becomes columns, an unnamed one is dropped. The
 * script needs Python >= 3.9 with numpy and pandas (pyarrow for Parquet),
 * not assay. Not installed. */
#ifndef ASSAY_RUNNER_H
#define ASSAY_RUNNER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/frame.h"

typedef struct runner_config {
  const char *python;       /* interpreter; NULL: the platform's default   */
  const char *home;         /* platform home (for <home>/runtime/)         */
  double timeout_s;         /* wall-clock limit; <= 0: none                */
  int64_t memory_bytes;     /* memory limit; <= 0: none                    */
  /* Cancellation, or NULL: a flag another thread may set (with
   * __atomic_store_n) to one of the RUNNER_CANCEL_* reasons below. The
   * runner reads it (__atomic_load_n) before it starts the child and at
   * every wake-up of its poll loop (at most POLL_MS = 50 ms apart); once
   * it is non-zero the child (and all it started) is killed at once and
   * runner_run fails with ASSAY_ERR_UNAVAILABLE and
   * "<loader|data reader|model> cancelled: <reason>" (runner_cancel_reason). The
   * platform's own config (platform_runner) has none; a caller copies it
   * and points this at its job's flag. */
  const int *cancel;
  /* More paths kept from user code besides the home (NULL-terminated, or
   * NULL): each file or folder, and the entries beside it named
   * "<its name>.*" (a key file's .new, .old and temporary copies). The
   * platform puts its master key file here. */
  const char *const *protect;
  /* Run custom loaders without a sandbox when the kernel has no Landlock
   * (the platform sets it from ASSAY_ALLOW_UNSANDBOXED_LOADERS). */
  int allow_unsandboxed;
  /* Tests only: RUNNER_TEST_* flags (the platform reads them from
   * ASSAY_TEST_RUNNER_SANDBOX: "no-landlock", "no-namespaces"). */
  int sandbox_test;
} runner_config;

/* runner_config.sandbox_test: behave as if the kernel had no Landlock /
 * no user namespaces. */
enum { RUNNER_TEST_NO_LANDLOCK = 1, RUNNER_TEST_NO_NAMESPACES = 2 };

/* Why a run is cancelled (the values of *runner_config.cancel). */
enum {
  RUNNER_CANCEL_NONE = 0,
  RUNNER_CANCEL_STOPPING = 1, /* "the platform is stopping"             */
  RUNNER_CANCEL_JOB = 2       /* "the job was cancelled"                */
};
/* The text of a RUNNER_CANCEL_* reason (any other non-zero value:
 * "cancelled by the platform"). */
const char *runner_cancel_reason(int reason);

/* Where the child's output lines go (already redacted). NULL: dropped. */
typedef void (*runner_log_fn)(void *ctx, const char *stream /* "stdout"|"stderr" */,
                              const char *line, size_t len);

/* The request (JSON object):
 *   {"mode": "load",        call a user function
 *    "path": "<absolute path of the loader .py file>",
 *    "function": "<name>",
 *    "kwargs": {...},                  the loader kwargs
 *    "start_time": int|null, "end_time": int|null,
 *                                      seconds since the epoch (UTC); passed
 *                                      when the function accepts them and
 *                                      kwargs do not already hold them
 *    "integration_dict": {...}|absent  passed when the function accepts it
 *    "public_names": [...]|absent      names in integration_dict whose values
 *                                      are not secret (not redacted)
 *    "nrows": int|absent,              keep at most this many rows
 *    "output_dir": "<dir>"}
 *   {"mode": "read", "path": "<file>", "format": "parquet"|"json"|"jsonl",
 *    "loading_kwargs": {...}, "nrows": int|absent, "output_dir": "<dir>"}
 *   {"mode": "predict",     run a model file (engine/predict.h)
 *    "path": "<absolute path of the model .py file>",
 *    "function": "<name>"|absent,      model_loading's load_func_name: called
 *                                      with the params (plus integration_dict
 *                                      when it accepts it); it returns an
 *                                      object with predict_df or
 *                                      predict_dict, or a function (used as
 *                                      predict_df). Absent: the module's own
 *                                      predict_df, else its predict_dict.
 *    "params": {...}|absent,
 *    "integration_dict", "public_names": as for "load",
 *    "data": "<a columnar file>",      the model's input columns, read-only
 *                                      in the sandbox like "read"'s file
 *    "task": "binary"|"multiclass"|"regression",
 *    "nclasses": k|0,                  multiclass: 0 takes k from the output
 *    "batch_size": N,                  rows per predict_df call
 *    "output_dir": "<dir>"}
 *   The child maps the data file (privately: the model may change its
 *   frame, never the file) into a DataFrame typed as pandas types the same
 *   data read from a CSV file (float64 with NaN; int64, or float64 with
 *   NaN when it has nulls; bool, or object with NaN when it has nulls;
 *   text in pandas' default dtype — object in pandas 2, str in pandas 3 —
 *   with NaN; datetime64[ns] UTC without a zone, NaT), calls predict_df on
 *   batch_size rows at a time (slices of the frame: the index continues
 *   across batches) or predict_dict on each row as a dict of Python values
 *   (None for nulls), checks each batch's output (the shapes of
 *   engine/predict.h; numbers; for classification probabilities in
 *   [0, 1], NaN allowed and kept as null) and writes one part: float64
 *   "prediction" (binary: the positive-class probability; regression: the
 *   value) or "proba_0" .. "proba_{k-1}".
 * On success *out is the loaded frame. Failures are ASSAY_ERR_DATA with a
 * message that says what happened, e.g.
 *   "loader file '<name>' not found"
 *   "loader '<name>' has a syntax error at line N: ..."
 *   "loader '<name>' has no function 'f'"
 *   "loader function 'f' raised ValueError: ...\n<traceback>"
 *   "loader function 'f' returned int; expected a pandas DataFrame or an
 *    iterable of DataFrames"
 *   "loader was killed after the time limit of N s"
 *   "loader exceeded the memory limit of N MiB"
 *   (mode "predict": the same with "model" for "loader", and
 *   "model file 'm.py' has no predict_df or predict_dict function"
 *   "model loading function 'load' raised ValueError: ..."
 *   "model loading function 'load' returned int; expected an object with
 *    predict_df or predict_dict, or a function (used as predict_df)"
 *   "model function 'predict_df' raised ValueError: ...\n<traceback>"
 *   "model function 'predict_dict' raised KeyError: 'x' (row 17)"
 *   "model function 'predict_df' returned shape (n, 3) for n rows;
 *    expected (n,), (n, 1) or (n, 2) (the positive-class probability) for
 *    binary classification"
 *   "model function 'predict_df' returned 1.5 for row 7; expected
 *    probabilities in [0, 1] for binary classification")
 *   "the runner interpreter '<python>' cannot import pandas: ..."
 *   "custom loaders need Landlock (Linux 5.13+) to keep them away from the
 *    platform's files; ..."
 * (an empty frame is not an error here; the caller decides). Every error
 * runner_run returns has its message redacted with the request's secrets
 * (as the log is), whatever built it: names the child chose (a part's, a
 * column's) may hold a secret too. The failure's
 * traceback (redacted) is also written to the log. A cancelled run (see
 * runner_config.cancel) is ASSAY_ERR_UNAVAILABLE, "loader cancelled: the
 * platform is stopping" and the like: no verdict on the loader. */
int runner_run(const runner_config *cfg, const json_t *request, runner_log_fn log, void *log_ctx,
               frame **out);

/* --- redaction ------------------------------------------------------------ */
typedef struct redactor redactor;
/* A redactor for the string values of `secrets` (an object; non-string
 * values and empty strings are ignored). NULL secrets: redacts nothing.
 * A secret is found in each form a loader may print it in:
 *   - as it is; JSON-escaped (with and without \u escapes of non-ASCII,
 *     their hex in either case: jansson and json.dumps); as Python shows it
 *     inside repr() quotes, and its UTF-8 inside repr(s.encode())'s b'...'
 *     (\xNN for bytes >= 0x80); as Python's ascii() / unicode_escape show
 *     it (\xNN, \uNNNN, \UNNNNNNNN; also JSON-escaped); each JSON form also
 *     with every '/' written as \/;
 *   - percent-encoded as urllib.parse.quote / quote_plus write it
 *     (upper-case hex; '/' kept or %2F, a space as %20 or '+');
 *   - in base64 (standard and URL-safe alphabets) of any text holding it
 *     ("user:" + secret, say): for each of the three offsets of the secret
 *     modulo 3 the characters whose bits all come from the secret (the
 *     edge characters, which mix in neighbouring bytes, stay visible),
 *     also with one \n or \r\n between any two characters (base64 wrapped
 *     in lines, as base64.encodebytes and MIME write it);
 *   - its UTF-8 in hex, lower- and upper-case.
 * Every match of every form is redacted, also matches that overlap: an
 * overlapping run of them (two secrets sharing bytes, a secret repeated
 * into itself) becomes one "[REDACTED]", leaving no tail visible; matches
 * that only touch give one marker each. A very short secret (a few bytes)
 * is redacted all the same, wherever its bytes or its forms appear. */
int redactor_new(redactor **out, const json_t *secrets);
void redactor_free(redactor *r);               /* wipes its copies; NULL ok */
/* A new string: `text` with every secret replaced by "[REDACTED]". NULL
 * when out of memory. */
char *redact_text(const redactor *r, const char *text, size_t len);

/* Streaming redaction of one byte stream (a child's stdout, say): the bytes
 * of a secret may arrive over several reads, so trailing bytes that begin a
 * secret (at most the longest form's length - 1, line breaks of wrapped
 * base64 included) are held back until more
 * bytes (or the end) show whether the secret follows; other bytes pass at
 * once. The output is the same as redact_text of the whole stream. */
typedef struct redact_stream redact_stream;
/* r must outlive the stream. */
int redact_stream_new(redact_stream **out, const redactor *r);
/* Feed len bytes; final: no more will come (everything held back is
 * settled). *out / *out_len: the redacted bytes settled by this call,
 * owned by the stream, valid until the next call. */
int redact_stream_feed(redact_stream *s, const char *data, size_t len, int final,
                       const char **out, size_t *out_len);
void redact_stream_free(redact_stream *s);     /* wipes held bytes; NULL ok */

/* For the internal `assay debug run-loader` command (bench/bench_load.py):
 * run `function` of the loader file at `path` with kwargs_json (a JSON
 * object as text, or NULL) through the runner — interpreter `python`, else
 * $ASSAY_PYTHON, else the one assay was built with; no limits; a temporary
 * home for the runner script — profile the frame, and set *out_json to a
 * malloc'ed JSON text {rows, columns, load_seconds, profile_seconds,
 * runner_peak_rss_kb, assay_peak_rss_kb, profile}. Exported from libassay for the CLI. */
__attribute__((visibility("default"))) int assay__debug_run_loader(const char *path,
                                                                   const char *function,
                                                                   const char *kwargs_json,
                                                                   const char *python,
                                                                   char **out_json);

#endif
