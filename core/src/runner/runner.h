/* runner/runner.h — user Python code in a child process.
 *
 * runner_run() starts the runner script (runner/assay_runner.py, compiled
 * into libassay and written to <home>/runtime/ on first use) with the
 * configured interpreter, in its own process group, with the loader's
 * folder as working directory. The request — the JSON below, secrets
 * included — is written to the child's stdin and nowhere else: not argv,
 * not the environment (the child's environment is the parent's minus
 * every ASSAY_* variable), not a file. Every descriptor but stdin, stdout,
 * stderr and the result pipe (fd 3) is closed in the child.
 *
 * The child writes each DataFrame it gets (or reads) as a columnar file
 * (docs/columnar.md) into request.output_dir and reports on fd 3 one JSON
 * line: {"ok": true, "parts": ["part-0000.acol", ...]} or {"ok": false,
 * "kind": "...", "message": "...", "traceback": "..."}. The parent maps
 * and concatenates the parts into one frame.
 *
 * The child's stdout and stderr go to the log (runner_log) line by line
 * with every secret value of the request's integration_dict replaced by
 * "[REDACTED]" — also when a value is split across reads — and so are the
 * message and traceback of a failure before they reach the error or the
 * log. Limits: the wall-clock time (the process group is killed with
 * SIGKILL at the deadline) and the memory (resident set size, polled, and
 * RLIMIT_AS as a backstop: over it the group is killed). Not installed. */
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
} runner_config;

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
 *    "nrows": int|absent,              keep at most this many rows
 *    "output_dir": "<dir>"}
 *   {"mode": "read", "path": "<file>", "format": "parquet"|"json"|"jsonl",
 *    "loading_kwargs": {...}, "nrows": int|absent, "output_dir": "<dir>"}
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
 *   "the runner interpreter '<python>' cannot import pandas: ..."
 * (an empty frame is not an error here; the caller decides). The failure's
 * traceback (redacted) is also written to the log. */
int runner_run(const runner_config *cfg, const json_t *request, runner_log_fn log, void *log_ctx,
               frame **out);

/* --- redaction ------------------------------------------------------------ */
typedef struct redactor redactor;
/* A redactor for the string values of `secrets` (an object; non-string
 * values and empty strings are ignored). NULL secrets: redacts nothing. */
int redactor_new(redactor **out, const json_t *secrets);
void redactor_free(redactor *r);               /* wipes its copies; NULL ok */
/* A new string: `text` with every secret replaced by "[REDACTED]". */
char *redact_text(const redactor *r, const char *text, size_t len);

#endif
