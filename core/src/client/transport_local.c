/* client/transport_local.c — the in-process transport: the embedded
 * platform's router called directly. Without an api_key it acts as the
 * home's bootstrap admin; with one, every request authenticates with that
 * token exactly as assayd would, so embedded code can act as any user.
 * Uploads feed the router's stream from the file a chunk at a time. */
#include <errno.h>
#include <sodium.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "client/transport.h"
#include "internal.h"
#include "platform/router.h"

typedef struct local_transport {
  transport base;
  assay_platform *platform;
  char *token; /* the api_key, or NULL: act as the bootstrap admin */
} local_transport;

/* A request to `path` (with its query) as this transport's caller; *copy
 * holds the path text the request points into (caller frees). */
static int make_request(local_transport *lt, const char *method, const char *path,
                        router_request *req, char **copy) {
  char *query = NULL;
  if (!(*copy = strdup(path))) return assay__nomem();
  char *q = strchr(*copy, '?');
  if (q) {
    *q = '\0';
    query = q + 1;
  }
  router_request r = {
    .method = method,
    .path = *copy,
    .query = query,
    .token = lt->token,
    .principal = lt->token ? NULL : platform_admin_principal(lt->platform),
  };
  *req = r;
  return ASSAY_OK;
}

static int local_request(transport *t, const char *method, const char *path, const char *body,
                         size_t body_len, int *status, json_t **resp) {
  local_transport *lt = (local_transport *)t;
  char *copy = NULL;
  router_request req;
  if (make_request(lt, method, path, &req, &copy)) return ASSAY_ERR_NOMEM;
  req.body = body;
  req.body_len = body_len;
  router_response r;
  router_handle(lt->platform, &req, &r);
  free(copy);
  *status = r.status;
  *resp = r.body; /* hand the reference over */
  r.body = NULL;
  router_response_clear(&r);
  return ASSAY_OK;
}

/* The piece of a file handed to the platform's stream at a time. */
#define LOCAL_UPLOAD_CHUNK ((size_t)1 << 20)

static int local_upload(transport *t, const char *path, int fd, int64_t size, int *status,
                        json_t **resp) {
  local_transport *lt = (local_transport *)t;
  *status = 0;
  *resp = NULL;
  char *copy = NULL;
  router_request req;
  if (make_request(lt, "PUT", path, &req, &copy)) return ASSAY_ERR_NOMEM;
  router_response r;
  router_stream *st = NULL;
  int rc = ASSAY_OK;
  char *buf = NULL;
  if (router_stream_begin(lt->platform, &req, (long long)size, &st, &r) != 0) goto answer;
  if (!(buf = malloc(LOCAL_UPLOAD_CHUNK))) {
    router_stream_abort(st);
    rc = assay__nomem();
    goto done;
  }
  for (int64_t off = 0; off < size;) {
    size_t want = size - off < (int64_t)LOCAL_UPLOAD_CHUNK ? (size_t)(size - off)
                                                           : LOCAL_UPLOAD_CHUNK;
    ssize_t n = pread(fd, buf, want, (off_t)off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      router_stream_abort(st);
      rc = n < 0 ? assay__err(ASSAY_ERR_CONFIG, "cannot read the file being uploaded: %s",
                              strerror(errno))
                 : assay__err(ASSAY_ERR_CONFIG,
                              "the file being uploaded got shorter while it was read (%lld of "
                              "%lld bytes); nothing was stored",
                              (long long)off, (long long)size);
      goto done;
    }
    off += n;
    if (router_stream_write(st, buf, (size_t)n) != 0) break; /* finish answers it */
  }
  router_stream_finish(st, &r);
answer:
  *status = r.status;
  *resp = r.body; /* hand the reference over */
  r.body = NULL;
  router_response_clear(&r);
done:
  free(buf);
  free(copy);
  return rc;
}

static void local_free(transport *t) {
  local_transport *lt = (local_transport *)t;
  if (!lt) return;
  assay_platform_free(lt->platform);
  if (lt->token) {
    sodium_memzero(lt->token, strlen(lt->token));
    free(lt->token);
  }
  free(lt);
}

static const transport_ops local_ops = {local_request, local_upload, local_free};

int transport_local_new(transport **out, const assay_client_options *opts) {
  local_transport *lt = calloc(1, sizeof *lt);
  if (!lt) return assay__nomem();
  lt->base.ops = &local_ops;
  if (opts && opts->api_key && *opts->api_key && !(lt->token = strdup(opts->api_key))) {
    free(lt);
    return assay__nomem();
  }
  assay_platform_options po = ASSAY_PLATFORM_OPTIONS_INIT;
  po.home = opts ? opts->home : NULL;
  po.secret_key_file = opts && opts->secret_key_file && *opts->secret_key_file
                           ? opts->secret_key_file
                           : NULL;
  if (opts) {
    po.workers = opts->workers;
    po.runner_python = opts->runner_python && *opts->runner_python ? opts->runner_python : NULL;
    po.loader_timeout = opts->loader_timeout;
    po.loader_memory_bytes = opts->loader_memory_bytes;
  }
  int rc = assay_platform_open_with(&lt->platform, &po);
  if (rc) {
    local_free(&lt->base);
    return rc;
  }
  *out = &lt->base;
  return ASSAY_OK;
}

assay_platform *transport_local_platform(transport *t) {
  return t && t->ops == &local_ops ? ((local_transport *)t)->platform : NULL;
}
