/* platform/router.h — the one implementation of the REST API.
 *
 * Both transports end here: the local transport calls router_handle() in
 * process with the embedded admin as principal; the HTTP server calls it
 * with the bearer token of the request. The router authenticates, routes by
 * method and path (all under /v1), validates, talks to the store and answers
 * a status and a JSON body. Errors are answered as
 *   {"error": {"code": -3, "name": "NotFoundError", "message": "...",
 *              "status": 404}}
 * so that a client rebuilds the same typed error on either transport. */
#ifndef ASSAY_ROUTER_H
#define ASSAY_ROUTER_H

#include <jansson.h>
#include <stdint.h>

#include "assay/server.h"

#define ASSAY_API_VERSION "v1"

/* Who is calling: the owner of a token, or the embedded admin. */
typedef struct principal {
  char user_id[37];
  char workspace_id[37];
  char token_id[37];   /* "" for the embedded admin */
  int64_t token_expires_at; /* the calling token's expiry; 0: never/none */
  int is_org_admin;
} principal;

typedef struct router_request {
  const char *method;          /* "GET", "POST", "DELETE", ...               */
  const char *path;            /* "/v1/projects/ID" (no query)               */
  const char *query;           /* raw query string without '?', or NULL      */
  const char *token;           /* bearer token, NULL if none was sent        */
  const principal *principal;  /* pre-authenticated caller (local), or NULL  */
  const char *body;            /* raw body bytes (JSON text), or NULL        */
  size_t body_len;
  size_t max_body;             /* body limit; 0: the platform's default      */
} router_request;

typedef struct router_response {
  int status;                  /* HTTP status                                */
  json_t *body;                /* owned by the response; NULL for no body    */
  char allow[64];              /* for 405: the allowed methods               */
} router_response;

/* Handle one request. Always fills `resp` (errors become error bodies). */
void router_handle(assay_platform *platform, const router_request *req,
                   router_response *resp);
/* Before a body is read: does the route exist, accept the method, and (if
 * it needs one) does the token authenticate? Returns 0 to go on; otherwise
 * fills `resp` with the error answer (the server sends it without
 * buffering the body, so anonymous callers cannot make it hold memory). */
int router_precheck(assay_platform *platform, const router_request *req,
                    router_response *resp);

/* Release what router_handle() put in `resp`. */
void router_response_clear(router_response *resp);

/* The route table: every method and path pattern the router serves, with
 * path parameters in braces ("/v1/projects/{project_id}"). The OpenAPI
 * document (docs/api/openapi.json) must list exactly these; a C test checks. */
typedef struct router_route {
  const char *method;
  const char *pattern;
  int needs_auth;
  int streams_body; /* the body is raw bytes, streamed (PUT /v1/files) */
} router_route;
const router_route *router_routes(size_t *count);

/* --- streamed bodies ----------------------------------------------------------
 * A route with streams_body takes raw bytes of any size: no body limit, no
 * JSON parsing. router_handle() still serves it with a body already in
 * memory; a server (or the local transport uploading from a file) instead
 * streams it: after router_precheck() succeeded, router_stream_begin(),
 * then router_stream_write() for each piece as it arrives, then
 * router_stream_finish() for the answer, or router_stream_abort() when the
 * body will not be completed (a cut connection): that leaves nothing
 * behind. */

/* Does the route of req (method + path) stream its body? */
int router_streams(const router_request *req);

typedef struct router_stream router_stream;
/* Authenticate, check the request (query, role) and open the stream.
 * `size` is the body's announced length (Content-Length), or -1 when
 * unknown: a body that then ends at another length is refused. Returns 0
 * with *out set; otherwise fills `resp` with the error answer (*out NULL). */
int router_stream_begin(assay_platform *platform, const router_request *req, long long size,
                        router_stream **out, router_response *resp);
/* One piece of the body. After a failure (returned, and kept) the later
 * pieces are ignored and finish answers that error. */
int router_stream_write(router_stream *st, const void *data, size_t n);
/* The body is complete: fills `resp` with the answer; frees st. */
void router_stream_finish(router_stream *st, router_response *resp);
/* Give up (nothing is kept); frees st. NULL accepted. */
void router_stream_abort(router_stream *st);

/* Build the JSON error body for the calling thread's last error. */
json_t *router_error_body(void);

/* The principal the embedded platform acts as (the bootstrap admin). */
const principal *platform_admin_principal(assay_platform *platform);

#endif
