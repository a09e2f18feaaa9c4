/* serve.h — the `serve` entry point shared by assayd and `assay serve`,
 * and the small option-parsing helper both tools use. */
#ifndef ASSAY_TOOLS_SERVE_H
#define ASSAY_TOOLS_SERVE_H

#include <stdio.h>

/* Run the server: parse assayd's options from argv[1..argc-1] (argv[0] is
 * the name used in messages, e.g. "assayd" or "assay serve"), open the
 * platform, serve until SIGTERM or SIGINT, stop cleanly. Returns the exit
 * status: 0 after a clean stop, 1 when the platform or the server could not
 * start, 2 for bad options. Call it from main() before any thread starts:
 * it blocks SIGTERM/SIGINT in the calling thread (and so in every thread
 * started afterwards) and waits for them with sigwait(). */
int serve_main(int argc, char **argv);

/* Print assayd's option summary to `f` (for --help and usage errors). */
void serve_usage(FILE *f, const char *prog);

/* Match argv[*i] against a long option `name` taking a value, given as
 * "--name VALUE" or "--name=VALUE". On a match, *value is set, *i is
 * advanced past the value and 1 is returned; 0 when argv[*i] is another
 * option; -1 when the value is missing (a usage error). */
int tool_opt_value(int argc, char **argv, int *i, const char *name, const char **value);

/* Parse a whole non-negative decimal number into *out (<= max). Returns 0,
 * or -1 when `s` is not such a number. */
int tool_parse_uint(const char *s, unsigned long long max, unsigned long long *out);

#endif
