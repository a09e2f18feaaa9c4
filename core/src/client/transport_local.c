/* client/transport_local.c — the in-process transport: the embedded
 * platform's router called directly. Without an api_key it acts as the
 * home's bootstrap admin; with one, every request authenticates with that
 * token exactly as assayd would, so embedded code can act as any user. */
#include <sodium.h>
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

static int local_request(transport *t, const char *method, const char *path, const char *body,
                         size_t body_len, int *status, json_t **resp) {
  local_transport *lt = (local_transport *)t;
  char *copy = strdup(path), *query = NULL;
  if (!copy) return assay__nomem();
  char *q = strchr(copy, '?');
  if (q) {
    *q = '\0';
    query = q + 1;
  }
  router_request req = {
    .method = method,
    .path = copy,
    .query = query,
    .token = lt->token,
    .principal = lt->token ? NULL : platform_admin_principal(lt->platform),
    .body = body,
    .body_len = body_len,
  };
  router_response r;
  router_handle(lt->platform, &req, &r);
  free(copy);
  *status = r.status;
  *resp = r.body; /* hand the reference over */
  r.body = NULL;
  router_response_clear(&r);
  return ASSAY_OK;
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

static const transport_ops local_ops = {local_request, local_free};

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
