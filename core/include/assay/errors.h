/* assay/errors.h — return codes, the error table and the per-thread last error.
 *
 * Every fallible function returns an int: ASSAY_OK (0) on success, one of the
 * negative codes below on failure. The return code says whether a call
 * failed; the last-error slot of the calling thread says why. The slot is
 * only meaningful right after a call returned a negative code.
 *
 * The error table lists every code with its name, the name of its parent
 * error (NULL for the root, "Error"), the HTTP status the REST API answers
 * with, and a description. The Python and Lua bindings read this table at
 * load time to build their exception classes / error names, so a new code
 * added here appears in every language without hand copying. */
#ifndef ASSAY_ERRORS_H
#define ASSAY_ERRORS_H

#include "common.h"
#include "value.h"

ASSAY_BEGIN_DECLS

typedef enum assay_error_code {
  ASSAY_OK = 0,
  ASSAY_ERR_GENERIC = -1,            /* Error: root of every error            */
  ASSAY_ERR_CONFIG = -2,             /* ConfigError: bad argument or config    */
  ASSAY_ERR_NOT_FOUND = -3,          /* NotFoundError: no such resource/route  */
  ASSAY_ERR_AUTH = -4,               /* AuthError: missing/invalid/expired token */
  ASSAY_ERR_PERMISSION_DENIED = -5,  /* PermissionDeniedError                  */
  ASSAY_ERR_CONFLICT = -6,           /* ConflictError: name taken, not empty   */
  ASSAY_ERR_TRANSPORT = -7,          /* TransportError: could not talk to server */
  ASSAY_ERR_TIMEOUT = -8,            /* TimeoutError: channel_timeout elapsed  */
  ASSAY_ERR_METHOD_NOT_ALLOWED = -9, /* MethodNotAllowedError: route exists, verb doesn't */
  ASSAY_ERR_PAYLOAD_TOO_LARGE = -10, /* PayloadTooLargeError: body over the limit */
  ASSAY_ERR_STORE = -11,             /* StoreError: the database failed        */
  ASSAY_ERR_INTERNAL = -12,          /* InternalError: a bug or broken invariant */
  ASSAY_ERR_NOMEM = -13,             /* OutOfMemoryError                       */
  ASSAY_ERR_UNAVAILABLE = -14,       /* UnavailableError: server busy/stopping */
  ASSAY_ERR_DATA = -15               /* DataError: data cannot be loaded or is invalid */
} assay_error_code;

/* One row of the error table. Strings are static; never free them. */
typedef struct assay_error_info {
  int code;                /* the assay_error_code                          */
  const char *name;        /* class name in bindings, e.g. "NotFoundError"  */
  const char *parent;      /* parent's name, NULL for "Error"               */
  int http_status;         /* status the REST API answers with; 0 if none   */
  const char *description; /* one sentence: when this error happens         */
} assay_error_info;

/* The whole table, root first (parents always precede children).
 * *count receives the number of rows. Never NULL. */
ASSAY_API const assay_error_info *assay_error_table(size_t *count);

/* The whole table as an array of objects {"code", "name", "parent",
 * "http_status", "description"} — what the bindings read. */
ASSAY_API int assay_error_table_value(assay_value **out);

/* The row for a code, or NULL if the code is unknown. */
ASSAY_API const assay_error_info *assay_error_info_for(int code);

/* The row whose name matches, or NULL. */
ASSAY_API const assay_error_info *assay_error_info_by_name(const char *name);

/* Detail of the calling thread's last failure. */
typedef struct assay_error {
  int code;            /* negative assay_error_code                        */
  const char *name;    /* the table name for code                          */
  const char *message; /* what was wrong and what was expected; never NULL */
  int http_status;     /* HTTP status of the failed request, 0 if none     */
} assay_error;

/* The calling thread's last error, or NULL when none is recorded. The
 * pointer stays valid until the next assay call on this thread. */
ASSAY_API const assay_error *assay_error_last(void);

/* Forget the calling thread's last error. */
ASSAY_API void assay_error_clear(void);

ASSAY_END_DECLS

#endif
