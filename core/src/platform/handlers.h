/* platform/handlers.h — what a route handler gets (route_ctx), the request
 * body readers that produce the API's validation messages, and the list of
 * handlers the router dispatches to. Not installed. */
#ifndef ASSAY_HANDLERS_H
#define ASSAY_HANDLERS_H

#include <jansson.h>

#include "platform/platform.h"

#define ROUTE_MAX_PARAMS 4

typedef struct route_ctx {
  assay_platform *platform;
  store *store;                 /* a pooled connection, no transaction open */
  const principal *who;         /* NULL only on routes without auth         */
  const router_request *req;
  json_t *body;                 /* parsed JSON object for POST/PUT/PATCH    */
  char *params[ROUTE_MAX_PARAMS]; /* decoded path parameters, in order      */
  router_response *resp;        /* status and body to fill                  */
} route_ctx;

typedef int (*route_handler)(route_ctx *c);

/* Body readers: a missing optional field (or JSON null) leaves *out as it
 * was; a wrong type is ASSAY_ERR_CONFIG naming the field, the expected and
 * the actual type. */
int body_check_fields(json_t *body, const char *const *allowed, const char *what);
int body_string(json_t *body, const char *field, int required, const char **out);
int body_int(json_t *body, const char *field, json_int_t *out);
int body_object(json_t *body, const char *field, json_t **out);
/* A boolean query parameter (true/false/1/0); absent leaves *out. */
int query_bool(const char *query, const char *name, int *out);
/* The JSON type name of `j`, for messages. */
const char *json_type_name(const json_t *j);

/* Handlers (one per route). */
int h_health(route_ctx *c);
int h_platform(route_ctx *c);
int h_projects_create(route_ctx *c);
int h_projects_list(route_ctx *c);
int h_project_get(route_ctx *c);
int h_project_delete(route_ctx *c);
int h_api_tokens_create(route_ctx *c);

#endif
