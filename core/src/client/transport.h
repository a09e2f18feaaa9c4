/* client/transport.h — how a client's requests reach the router.
 *
 * A transport sends one request (method, path with query, JSON text body) and
 * returns the HTTP status and parsed JSON body of the answer; it also
 * uploads a file as a streamed raw body (PUT /v1/files). It reports
 * only failures to deliver (ASSAY_ERR_TRANSPORT, ASSAY_ERR_TIMEOUT, ...);
 * error statuses from the router are decoded by the client (client.c). */
#ifndef ASSAY_TRANSPORT_H
#define ASSAY_TRANSPORT_H

#include <jansson.h>
#include <stdint.h>

#include "assay/client.h"

typedef struct transport transport;

typedef struct transport_ops {
  /* `body` is the request body as JSON text of `body_len` bytes, or NULL
   * for none (the client serialises typed calls itself, so raw and typed
   * requests take one path). On ASSAY_OK, *status is set and *resp holds a
   * new reference (NULL when the answer had no body or it was not JSON). */
  int (*request)(transport *t, const char *method, const char *path, const char *body,
                 size_t body_len, int *status, json_t **resp);
  /* PUT `path` (with its query) with the `size` bytes of the open file
   * `fd` as a raw body (application/octet-stream), read piece by piece
   * with pread from offset 0 (the descriptor's own offset is not used, so a
   * retry starts over): no whole file is ever in memory. Answers like
   * request. Over HTTP, channel_timeout bounds a stall (no progress for
   * that long fails with ASSAY_ERR_TIMEOUT), not the whole transfer, and
   * only 429/502/503/504 are retried. A file that cannot be read, or ends
   * before `size` bytes, is ASSAY_ERR_CONFIG and the upload is dropped. */
  int (*upload)(transport *t, const char *path, int fd, int64_t size, int *status,
                json_t **resp);
  void (*free)(transport *t);
} transport_ops;

struct transport {
  const transport_ops *ops;
};

/* In-process: opens the platform of opts->home (or the default home). */
int transport_local_new(transport **out, const assay_client_options *opts);
/* The platform of a local transport (for platform_info). */
struct assay_platform *transport_local_platform(transport *t);

/* HTTP(S) through libcurl to opts->domain, with timeouts, retries with
 * backoff on 429/5xx, and the TLS options wired through. */
int transport_http_new(transport **out, const assay_client_options *opts);

#endif
