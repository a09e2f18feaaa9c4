/* assay/common.h — macros shared by every public header: symbol export,
 * C++ guards. Nothing here allocates or has behaviour. */
#ifndef ASSAY_COMMON_H
#define ASSAY_COMMON_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  define ASSAY_API __declspec(dllexport)
#elif defined(__GNUC__)
#  define ASSAY_API __attribute__((visibility("default")))
#else
#  define ASSAY_API
#endif

#ifdef __cplusplus
#  define ASSAY_BEGIN_DECLS extern "C" {
#  define ASSAY_END_DECLS }
#else
#  define ASSAY_BEGIN_DECLS
#  define ASSAY_END_DECLS
#endif

#endif
