/* init.c — global initialisation of the library's dependencies (libcurl,
 * libsodium, SQLite) and the runtime version call. */
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>

#include "internal.h"

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int init_count;

int assay_init(void) {
  int rc = ASSAY_OK;
  pthread_mutex_lock(&init_lock);
  if (init_count == 0) {
    if (sodium_init() < 0) {
      rc = assay__err(ASSAY_ERR_INTERNAL, "libsodium could not be initialised");
    } else if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      rc = assay__err(ASSAY_ERR_INTERNAL, "libcurl could not be initialised");
    } else if (sqlite3_initialize() != SQLITE_OK) {
      curl_global_cleanup();
      rc = assay__err(ASSAY_ERR_INTERNAL, "SQLite could not be initialised");
    }
  }
  if (rc == ASSAY_OK) init_count++;
  pthread_mutex_unlock(&init_lock);
  return rc;
}

void assay_shutdown(void) {
  pthread_mutex_lock(&init_lock);
  if (init_count > 0 && --init_count == 0) {
    curl_global_cleanup();
  }
  pthread_mutex_unlock(&init_lock);
}

const char *assay_version(void) { return ASSAY_VERSION; }

void assay_version_numbers(int *major, int *minor, int *patch) {
  if (major) *major = ASSAY_VERSION_MAJOR;
  if (minor) *minor = ASSAY_VERSION_MINOR;
  if (patch) *patch = ASSAY_VERSION_PATCH;
}
