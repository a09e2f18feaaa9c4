/* assay/version.h — the library's version, in one place.
 *
 * CMake reads ASSAY_VERSION_MAJOR/MINOR/PATCH from this file, so this is the
 * only place a release bumps. assay_version() reports the version of the
 * library actually loaded at run time. */
#ifndef ASSAY_VERSION_H
#define ASSAY_VERSION_H

#include "common.h"

#define ASSAY_VERSION_MAJOR 0
#define ASSAY_VERSION_MINOR 4
#define ASSAY_VERSION_PATCH 0
#define ASSAY_VERSION "0.4.0"

/* Packed as MAJOR*10000 + MINOR*100 + PATCH, for compile-time comparisons. */
#define ASSAY_VERSION_NUMBER \
  (ASSAY_VERSION_MAJOR * 10000 + ASSAY_VERSION_MINOR * 100 + ASSAY_VERSION_PATCH)

ASSAY_BEGIN_DECLS

/* The version string of the loaded library, e.g. "0.1.0". Never NULL. */
ASSAY_API const char *assay_version(void);

/* The loaded library's version as three numbers; any pointer may be NULL. */
ASSAY_API void assay_version_numbers(int *major, int *minor, int *patch);

ASSAY_END_DECLS

#endif
