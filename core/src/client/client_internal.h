/* client/client_internal.h — what the client's source files share: the
 * client object and the request helpers of client.c (one request path for
 * every typed operation). client.c holds options, projects, people,
 * integrations; client_files.c uploads; client_registry.c datasets, models,
 * predictions and jobs. Not installed. */
#ifndef ASSAY_CLIENT_INTERNAL_H
#define ASSAY_CLIENT_INTERNAL_H

#include <jansson.h>
#include <pthread.h>

#include "client/transport.h"
#include "internal.h"

struct assay_client {
  transport *t;
  int embedded;
  pthread_mutex_t lock; /* one request at a time per client */
};

/* One request with a JSON text body (or NULL); error answers become the
 * calling thread's last error, typed as the router raised them. */
int client__call_raw(assay_client *c, const char *method, const char *path, const char *body,
                     size_t body_len, json_t **out);
/* Turn an error answer (status >= 400, body {"error": {...}} or none) into
 * the calling thread's last error, typed by the error's name. */
int client__decode_error(int status, json_t *resp);
/* A typed request: `body` (stolen; may be NULL) is serialised to text and
 * wiped after sending. */
int client__call(assay_client *c, const char *method, const char *path, json_t *body,
                 json_t **out);
/* Percent-encode one path segment or query value (caller frees). */
char *client__escape_segment(const char *s);
/* ConfigError "<what> must be a non-empty string" unless id is one. */
int client__require_id(const char *what, const char *id);
/* "/v1/<collection>/<escaped id><suffix>" (caller frees). */
int client__id_path(char **out, const char *collection, const char *id, const char *suffix);
/* "/v1/projects/<escaped project_id>/<what><query>" (caller frees; query
 * may be NULL or ""); a ConfigError unless project_id is a non-empty
 * string. */
int client__project_path(char **out, const char *project_id, const char *what,
                         const char *query);
/* body[key] = value when value is given; invalid UTF-8 is a ConfigError. */
int client__set_text(json_t *body, const char *key, const char *value);
/* Hand `j` (stolen) to *out as an assay_value, or drop it when out is NULL. */
int client__wrap_out(assay_value **out, json_t *j);
/* The inner array `key` of a list answer ({"users": [...]}); resp stolen. */
int client__unwrap_list(assay_value **out, json_t *resp, const char *key);
/* `method` "/v1/<collection>/<id><suffix>" without a body; list_key: unwrap
 * that array of the answer. */
int client__call_id(assay_value **out, assay_client *c, const char *method, const char *what,
                    const char *collection, const char *id, const char *suffix,
                    const char *list_key);
/* Send `body` (stolen) to `path`; hand back the record (null for none). */
int client__call_body(assay_value **out, assay_client *c, const char *method, const char *path,
                      json_t *body);
/* Append "name=<escaped value>" to a query being built in *q ("" or
 * "?a=b"); value NULL: nothing. */
int client__add_query(char **q, const char *name, const char *value);
/* A deep copy of an optional value argument that must be an object. */
int client__object_arg(json_t **out, const char *what, const assay_value *v, int required);

#endif
