/* internal.h — helpers every part of libassay uses: setting the last error,
 * the assay_value <-> jansson bridge, ids and time. Not installed. */
#ifndef ASSAY_INTERNAL_H
#define ASSAY_INTERNAL_H

#include <jansson.h>
#include <stdarg.h>

#include "assay.h"

/* assay_value is jansson's json_t under another name. */
#define AV(j) ((assay_value *)(j))
#define JV(v) ((json_t *)(v))

#if defined(__GNUC__)
#  define ASSAY_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#  define ASSAY_PRINTF(a, b)
#endif

/* Record the calling thread's last error and return `code`. The HTTP status
 * is the table's for `code`. */
int assay__err(int code, const char *fmt, ...) ASSAY_PRINTF(2, 3);
/* Same, with an explicit HTTP status (e.g. the one a server answered). */
int assay__err_status(int code, int http_status, const char *fmt, ...) ASSAY_PRINTF(3, 4);
int assay__verr(int code, int http_status, const char *fmt, va_list ap);
/* Out of memory: records ASSAY_ERR_NOMEM and returns it. */
int assay__nomem(void);

/* A new random (version 4) UUID in canonical text form; buf needs 37 bytes. */
void assay__uuid(char buf[37]);
/* Seconds since the epoch, UTC. */
int64_t assay__now(void);
/* RFC 3339 UTC text of `secs` ("2026-11-26T05:00:00Z"); buf needs 21 bytes. */
void assay__rfc3339(char buf[32], int64_t secs);

/* strdup that returns NULL for NULL. */
char *assay__strdup(const char *s);

#endif
