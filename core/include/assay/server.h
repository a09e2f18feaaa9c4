/* assay/server.h — the platform as a library object, and its HTTP server.
 *
 * assay_platform is the platform of one home directory: its SQLite store,
 * its files, its request router. assay_client_new() without a domain opens
 * one privately; assayd (and `assay serve`) open one and serve its router
 * over HTTP with assay_server_start(). Several processes may open the same
 * home at once. */
#ifndef ASSAY_SERVER_H
#define ASSAY_SERVER_H

#include "common.h"
#include "value.h"

ASSAY_BEGIN_DECLS

typedef struct assay_platform assay_platform;
typedef struct assay_server assay_server;

/* Open (creating and bootstrapping if new) the platform in `home`; NULL
 * means $ASSAY_HOME or ~/.assay. On the first start of a home this creates
 * the admin user, the default workspace and an API token, which is written
 * to <home>/admin.token with mode 0600. */
ASSAY_API int assay_platform_open(assay_platform **out, const char *home);

#define ASSAY_PLATFORM_OPTIONS_VERSION 2

typedef struct assay_platform_options {
  unsigned int version;          /* ASSAY_PLATFORM_OPTIONS_VERSION                */
  const char *home;              /* NULL: $ASSAY_HOME or ~/.assay                  */
  const char *secret_key_file;   /* master key for secrets at rest; NULL:
                                    $ASSAY_SECRET_KEY_FILE, else <home>/secret.key.
                                    Created (0600) if missing on a home that has
                                    no key recorded yet; refused if missing later,
                                    if it is not the home's key, or if group- or
                                    world-accessible                             */
  /* version 2 */
  int workers;                   /* job worker threads; <0: default (2); 0: none
                                    (jobs wait for another process's workers)   */
  const char *runner_python;     /* interpreter for custom loaders and models;
                                    NULL: $ASSAY_PYTHON, else the Python assay
                                    was built with, else python3 on PATH        */
  double loader_timeout;         /* seconds one loader run may take; 0: default
                                    ($ASSAY_LOADER_TIMEOUT, else 3600); <0: none */
  long long loader_memory_bytes; /* memory one loader run may use; 0: default
                                    ($ASSAY_LOADER_MEMORY_MB, else half the
                                    machine's memory); <0: none                 */
} assay_platform_options;

/* Version 1 callers (without the version 2 fields) are still accepted. */
#define ASSAY_PLATFORM_OPTIONS_INIT \
  { ASSAY_PLATFORM_OPTIONS_VERSION, NULL, NULL, -1, NULL, 0.0, 0 }

/* assay_platform_open() with options (NULL: defaults). */
ASSAY_API int assay_platform_open_with(assay_platform **out, const assay_platform_options *opts);
ASSAY_API void assay_platform_free(assay_platform *platform);

/* Re-encrypt every stored secret under a new random master key and replace
 * the key file (the old key is kept nowhere). Safe while other processes
 * use the same home: they reload the key when they see it changed. `out`
 * (may be NULL) receives {"key_id", "secrets_resealed", "compacted"}. */
ASSAY_API int assay_platform_rotate_key(assay_value **out, assay_platform *platform);
/* The absolute home directory of an open platform. */
ASSAY_API const char *assay_platform_home(const assay_platform *platform);

#define ASSAY_SERVER_OPTIONS_VERSION 1

typedef struct assay_server_options {
  unsigned int version;     /* ASSAY_SERVER_OPTIONS_VERSION                    */
  const char *listen;       /* "HOST:PORT"; default "127.0.0.1:8080"; port 0
                               picks a free port (see assay_server_port)      */
  size_t max_body_bytes;    /* larger request bodies get 413; default 16 MiB,
                               at most 1 GiB (bodies are held in memory)      */
  unsigned int threads;     /* worker threads; default 4                      */
  double request_timeout;   /* seconds a connection may idle; default 60      */
  const char *tls_cert;     /* PEM certificate: serve HTTPS (with tls_key)    */
  const char *tls_key;      /* PEM private key                                */
} assay_server_options;

#define ASSAY_SERVER_OPTIONS_INIT \
  { ASSAY_SERVER_OPTIONS_VERSION, NULL, 0, 0, 0.0, NULL, NULL }

/* Serve `platform`'s router over HTTP in background threads. The platform
 * must outlive the server. */
ASSAY_API int assay_server_start(assay_server **out, assay_platform *platform,
                                 const assay_server_options *opts);
/* The TCP port the server listens on. */
ASSAY_API int assay_server_port(const assay_server *server);
/* Stop accepting, finish requests in flight, free; NULL is accepted. */
ASSAY_API void assay_server_stop(assay_server *server);

ASSAY_END_DECLS

#endif
