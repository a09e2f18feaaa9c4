/* assay.h — the umbrella header of libassay.
 *
 * libassay is the C core of assay, a platform for stress testing and
 * continuous testing of machine-learning models. Include this one header;
 * each module's header documents its functions. Call assay_init() once
 * before anything else and assay_shutdown() when done. */
#ifndef ASSAY_H
#define ASSAY_H

#include "assay/common.h"
#include "assay/version.h"
#include "assay/errors.h"
#include "assay/value.h"
#include "assay/client.h"
#include "assay/server.h"

ASSAY_BEGIN_DECLS

/* Initialise the library's global state (libcurl, libsodium, SQLite).
 * Reference-counted: each successful assay_init() needs one
 * assay_shutdown(). Thread-safe. */
ASSAY_API int assay_init(void);
ASSAY_API void assay_shutdown(void);

ASSAY_END_DECLS

#endif
