/* client/transport.h — how a client's requests reach the router.
 *
 * A transport sends one request (method, path with query, JSON text body) and
 * returns the HTTP status and parsed JSON body of the answer. It reports
 * only failures to deliver (ASSAY_ERR_TRANSPORT, ASSAY_ERR_TIMEOUT, ...);
 * error statuses from the router are decoded by the client (client.c). */
#ifndef ASSAY_TRANSPORT_H
#define ASSAY_TRANSPORT_H

#include <jansson.h>

#include "assay/client.h"

typedef struct transport transport;

typedef struct transport_ops {
  /* `body` is the request body as JSON text of `body_len` bytes, or NULL
   * for none (the client serialises typed calls itself, so raw and typed
   * requests take one path). On ASSAY_OK, *status is set and *resp holds a
   * new reference (NULL when the answer had no body or it was not JSON). */
  int (*request)(transport *t, const char *method, const char *path, const char *body,
                 size_t body_len, int *status, json_t **resp);
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
