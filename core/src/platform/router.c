/* platform/router.c — the REST API's one implementation: route table,
 * matching (404 unknown route, 405 wrong method), body limits and parsing,
 * authentication, dispatch to handlers, errors as JSON bodies, and the
 * streamed bodies of routes that take raw bytes (PUT /v1/files). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "platform/files.h"
#include "platform/handlers.h"

typedef struct route {
  router_route pub;
  route_handler fn;
} route;

static const route routes[] = {
  {{"GET", "/v1/health", 0, 0}, h_health},
  {{"GET", "/v1/platform", 1, 0}, h_platform},
  {{"GET", "/v1/projects", 1, 0}, h_projects_list},
  {{"POST", "/v1/projects", 1, 0}, h_projects_create},
  {{"GET", "/v1/projects/{project_id}", 1, 0}, h_project_get},
  {{"DELETE", "/v1/projects/{project_id}", 1, 0}, h_project_delete},
  {{"GET", "/v1/api-tokens", 1, 0}, h_api_tokens_list},
  {{"POST", "/v1/api-tokens", 1, 0}, h_api_tokens_create},
  {{"DELETE", "/v1/api-tokens/{token_id}", 1, 0}, h_api_token_revoke},
  {{"GET", "/v1/users", 1, 0}, h_users_list},
  {{"POST", "/v1/users", 1, 0}, h_users_create},
  {{"GET", "/v1/workspaces", 1, 0}, h_workspaces_list},
  {{"POST", "/v1/workspaces", 1, 0}, h_workspaces_create},
  {{"GET", "/v1/workspaces/{workspace_id}", 1, 0}, h_workspace_get},
  {{"GET", "/v1/workspaces/{workspace_id}/members", 1, 0}, h_members_list},
  {{"POST", "/v1/workspaces/{workspace_id}/members", 1, 0}, h_members_add},
  {{"PUT", "/v1/workspaces/{workspace_id}/members/{user_id}", 1, 0}, h_member_update},
  {{"DELETE", "/v1/workspaces/{workspace_id}/members/{user_id}", 1, 0}, h_member_remove},
  {{"GET", "/v1/workspaces/{workspace_id}/integrations", 1, 0}, h_integrations_list},
  {{"POST", "/v1/workspaces/{workspace_id}/integrations", 1, 0}, h_integrations_create},
  {{"GET", "/v1/integrations/{integration_id}", 1, 0}, h_integration_get},
  {{"PATCH", "/v1/integrations/{integration_id}", 1, 0}, h_integration_update},
  {{"DELETE", "/v1/integrations/{integration_id}", 1, 0}, h_integration_delete},
  {{"PUT", "/v1/integrations/{integration_id}/credentials", 1, 0}, h_integration_credentials},
  {{"POST", "/v1/admin/rotate-key", 1, 0}, h_admin_rotate_key},
  {{"PUT", "/v1/files", 1, 1}, h_files_upload},
  {{"GET", "/v1/files", 1, 0}, h_files_list},
  {{"DELETE", "/v1/files", 1, 0}, h_files_delete},
  {{"POST", "/v1/projects/{project_id}/datasets", 1, 0}, h_datasets_create},
  {{"GET", "/v1/projects/{project_id}/datasets", 1, 0}, h_datasets_list},
  {{"GET", "/v1/datasets/{dataset_id}", 1, 0}, h_dataset_get},
  {{"DELETE", "/v1/datasets/{dataset_id}", 1, 0}, h_dataset_delete},
  {{"POST", "/v1/projects/{project_id}/models", 1, 0}, h_models_create},
  {{"GET", "/v1/projects/{project_id}/models", 1, 0}, h_models_list},
  {{"GET", "/v1/models/{model_id}", 1, 0}, h_model_get},
  {{"DELETE", "/v1/models/{model_id}", 1, 0}, h_model_delete},
  {{"POST", "/v1/projects/{project_id}/predictions", 1, 0}, h_predictions_create},
  {{"GET", "/v1/projects/{project_id}/predictions", 1, 0}, h_predictions_list},
  {{"GET", "/v1/predictions/{prediction_id}", 1, 0}, h_prediction_get},
  {{"DELETE", "/v1/predictions/{prediction_id}", 1, 0}, h_prediction_delete},
  {{"GET", "/v1/jobs/{job_id}", 1, 0}, h_job_get},
  {{"GET", "/v1/jobs/{job_id}/log", 1, 0}, h_job_log},
  {{"POST", "/v1/jobs/{job_id}/cancel", 1, 0}, h_job_cancel},
  {{"GET", "/v1/projects/{project_id}/jobs", 1, 0}, h_jobs_list},
  {{"POST", "/v1/projects/{project_id}/stress-tests", 1, 0}, h_stress_test_start},
  {{"PUT", "/v1/projects/{project_id}/stress-test-categories", 1, 0},
   h_stress_test_categories_update},
  {{"GET", "/v1/projects/{project_id}/test-runs", 1, 0}, h_test_runs_list},
  {{"GET", "/v1/test-runs/{test_run_id}", 1, 0}, h_test_run_get},
  {{"GET", "/v1/test-runs/{test_run_id}/document", 1, 0}, h_test_run_document},
  {{"GET", "/v1/test-runs/{test_run_id}/result", 1, 0}, h_test_run_result},
  {{"GET", "/v1/test-runs/{test_run_id}/test-cases", 1, 0}, h_test_run_test_cases},
  {{"GET", "/v1/test-runs/{test_run_id}/categories", 1, 0}, h_test_run_categories},
  {{"GET", "/v1/test-runs/{test_run_id}/test-batches", 1, 0}, h_test_run_batches},
  {{"GET", "/v1/test-runs/{test_run_id}/test-batches/{test_type}", 1, 0}, h_test_run_batch},
  {{"GET", "/v1/test-runs/{test_run_id}/report", 1, 0}, h_test_run_report},
};
#define N_ROUTES (sizeof routes / sizeof routes[0])

const router_route *router_routes(size_t *count) {
  static router_route pub[N_ROUTES];
  for (size_t i = 0; i < N_ROUTES; i++) pub[i] = routes[i].pub;
  *count = N_ROUTES;
  return pub;
}

/* --- helpers for handlers ------------------------------------------------ */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}


const char *json_type_name(const json_t *j) {
  switch (json_typeof(j)) {
  case JSON_OBJECT: return "object";
  case JSON_ARRAY: return "array";
  case JSON_STRING: return "string";
  case JSON_INTEGER: return "integer";
  case JSON_REAL: return "number";
  case JSON_TRUE:
  case JSON_FALSE: return "boolean";
  default: return "null";
  }
}

int body_check_fields(json_t *body, const char *const *allowed, const char *what) {
  const char *key;
  json_t *v;
  json_object_foreach(body, key, v) {
    int known = 0;
    for (const char *const *a = allowed; *a && !known; a++) known = strcmp(*a, key) == 0;
    if (known) continue;
    char list[512] = "";
    size_t used = 0;
    for (const char *const *a = allowed; *a && used < sizeof list; a++)
      used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                               a == allowed ? "" : ", ", *a);
    return assay__err(ASSAY_ERR_CONFIG, "unknown field '%s' in %s; expected only: %s", key,
                      what, list);
  }
  return ASSAY_OK;
}

int body_string(json_t *body, const char *field, int required, const char **out) {
  json_t *v = json_object_get(body, field);
  if (!v || json_is_null(v)) {
    if (required) return assay__err(ASSAY_ERR_CONFIG, "%s is required (a string)", field);
    return ASSAY_OK;
  }
  if (!json_is_string(v))
    return assay__err(ASSAY_ERR_CONFIG, "%s must be a string; got %s", field,
                      json_type_name(v));
  *out = json_string_value(v);
  return ASSAY_OK;
}

int body_int(json_t *body, const char *field, json_int_t *out) {
  json_t *v = json_object_get(body, field);
  if (!v || json_is_null(v)) return ASSAY_OK;
  if (!json_is_integer(v))
    return assay__err(ASSAY_ERR_CONFIG, "%s must be an integer; got %s", field,
                      json_type_name(v));
  *out = json_integer_value(v);
  return ASSAY_OK;
}

int body_object(json_t *body, const char *field, json_t **out) {
  json_t *v = json_object_get(body, field);
  if (!v || json_is_null(v)) return ASSAY_OK;
  if (!json_is_object(v))
    return assay__err(ASSAY_ERR_CONFIG, "%s must be an object; got %s", field,
                      json_type_name(v));
  *out = v;
  return ASSAY_OK;
}

/* Text fields: at most `max` bytes. A single-line field (a name) must have
 * something besides white space and no control characters at all; a
 * multi-line one (a description) may hold line breaks and tabs. */
int check_text(const char *field, const char *v, size_t max, int single_line) {
  size_t n = strlen(v), i = 0;
  if (n > max)
    return assay__err(ASSAY_ERR_CONFIG, "%s must be at most %zu bytes; got %zu", field, max, n);
  if (single_line) {
    while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
    if (i == n) return assay__err(ASSAY_ERR_CONFIG, "%s must not be empty or blank", field);
  }
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    int allowed = !single_line && (c == '\n' || c == '\t' || c == '\r');
    if ((c < 0x20 || c == 0x7f) && !allowed)
      return assay__err(ASSAY_ERR_CONFIG, "%s must not contain control characters%s", field,
                        single_line ? " (it is one line of text)" : "");
  }
  return ASSAY_OK;
}

int query_string(const char *query, const char *name, char **out) {
  size_t n = strlen(name);
  *out = NULL;
  for (const char *q = query; q && *q;) {
    const char *end = strchr(q, '&');
    size_t len = end ? (size_t)(end - q) : strlen(q);
    if (len > n && strncmp(q, name, n) == 0 && q[n] == '=') {
      const char *v = q + n + 1;
      size_t vl = len - n - 1, o = 0;
      char *text = malloc(vl + 1);
      if (!text) return assay__nomem();
      for (size_t i = 0; i < vl; i++) {
        int hi, lo;
        if (v[i] == '%' && i + 2 < vl &&
            (hi = hexval(v[i + 1])) >= 0 && (lo = hexval(v[i + 2])) >= 0) {
          text[o++] = (char)(hi * 16 + lo);
          i += 2;
        } else if (v[i] == '+') {
          text[o++] = ' ';
        } else {
          text[o++] = v[i];
        }
      }
      text[o] = '\0';
      if (strlen(text) != o) {
        free(text);
        return assay__err(ASSAY_ERR_CONFIG, "query parameter %s must not contain NUL", name);
      }
      free(*out);
      *out = text;
    }
    q = end ? end + 1 : NULL;
  }
  return ASSAY_OK;
}

int query_bool(const char *query, const char *name, int *out) {
  size_t n = strlen(name);
  for (const char *q = query; q && *q;) {
    const char *end = strchr(q, '&');
    size_t len = end ? (size_t)(end - q) : strlen(q);
    if (len > n && strncmp(q, name, n) == 0 && q[n] == '=') {
      const char *v = q + n + 1;
      size_t vl = len - n - 1;
      if ((vl == 4 && strncasecmp(v, "true", 4) == 0) || (vl == 1 && *v == '1')) *out = 1;
      else if ((vl == 5 && strncasecmp(v, "false", 5) == 0) || (vl == 1 && *v == '0')) *out = 0;
      else
        return assay__err(ASSAY_ERR_CONFIG, "query parameter %s must be true or false; got '%.*s'",
                          name, (int)vl, v);
    }
    q = end ? end + 1 : NULL;
  }
  return ASSAY_OK;
}

/* --- matching ----------------------------------------------------------- */

/* Percent-decode a path segment; NULL if malformed or it decodes to '/',
 * NUL or an empty string. */
static char *decode_segment(const char *s, size_t len) {
  char *out = malloc(len + 1);
  if (!out) return NULL;
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] == '%') {
      if (i + 2 >= len) {
        free(out);
        return NULL;
      }
      int a = hexval(s[i + 1]), b = hexval(s[i + 2]);
      char c = (char)(a * 16 + b);
      if (a < 0 || b < 0 || c == '\0' || c == '/') {
        free(out);
        return NULL;
      }
      out[o++] = c;
      i += 2;
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
  if (o == 0) {
    free(out);
    return NULL;
  }
  return out;
}

/* Does `path` match `pattern`? On a match, fills params (caller frees). */
static int match(const char *pattern, const char *path, char **params) {
  int np = 0;
  const char *p = pattern, *q = path;
  while (*p && *q) {
    if (*p != '/' || *q != '/') return 0;
    p++;
    q++;
    const char *pe = strchr(p, '/'), *qe = strchr(q, '/');
    size_t pl = pe ? (size_t)(pe - p) : strlen(p), ql = qe ? (size_t)(qe - q) : strlen(q);
    if (*p == '{') {
      if (ql == 0 || np >= ROUTE_MAX_PARAMS) goto nomatch;
      params[np] = decode_segment(q, ql);
      if (!params[np]) goto nomatch;
      np++;
    } else if (pl != ql || strncmp(p, q, pl) != 0) {
      goto nomatch;
    }
    p += pl;
    q += ql;
  }
  if (*p == '\0' && *q == '\0') return 1;
nomatch:
  for (int i = 0; i < np; i++) {
    free(params[i]);
    params[i] = NULL;
  }
  return 0;
}

/* --- errors as bodies ------------------------------------------------------ */

json_t *router_error_body(void) {
  const assay_error *e = assay_error_last();
  int code = e ? e->code : ASSAY_ERR_INTERNAL;
  const char *name = e ? e->name : "InternalError";
  const char *message = e ? e->message : "unknown error";
  int status = e && e->http_status ? e->http_status : 500;
  return json_pack("{s:{s:i, s:s, s:s, s:i}}", "error", "code", code, "name", name,
                   "message", message, "status", status);
}

static void answer_error(router_response *resp) {
  const assay_error *e = assay_error_last();
  json_decref(resp->body);
  resp->status = e && e->http_status ? e->http_status : 500;
  resp->body = router_error_body();
}

void router_response_clear(router_response *resp) {
  json_decref(resp->body);
  memset(resp, 0, sizeof *resp);
}

static int method_has_body(const char *m) {
  return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

static int parse_body(const router_request *req, json_t **out) {
  if (!req->body || req->body_len == 0) {
    *out = json_object(); /* no body: an empty object, so required fields report */
    return *out ? ASSAY_OK : assay__nomem();
  }
  json_error_t e;
  json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &e);
  if (!j) {
    /* jansson quotes the text it choked on ("... near 'abc'"): that may be
     * part of a secret value, so only the reason and position are kept. */
    char *near = strstr(e.text, " near '");
    if (near) *near = '\0';
    if (strstr(e.text, "JSON_ALLOW_NUL"))
      return assay__err(ASSAY_ERR_CONFIG,
                        "request body holds a NUL character (\\u0000) in a string (line %d, "
                        "column %d); names and values must not contain NUL",
                        e.line, e.column);
    return assay__err(ASSAY_ERR_CONFIG,
                      "request body is not valid JSON (line %d, column %d: %s); expected a "
                      "JSON object",
                      e.line, e.column, e.text);
  }
  if (!json_is_object(j)) {
    int rc = assay__err(ASSAY_ERR_CONFIG, "request body must be a JSON object; got %s",
                        json_type_name(j));
    json_decref(j);
    return rc;
  }
  *out = j;
  return ASSAY_OK;
}

/* Find the route for method + path; fills params (caller frees) and, for a
 * known path with another method, resp->allow. */
static int find_route(const router_request *req, router_response *resp, const route **out,
                      char **out_params) {
  const char *method = req->method ? req->method : "";
  const char *path = req->path ? req->path : "";
  char allow[64] = "";
  *out = NULL;
  for (size_t i = 0; i < N_ROUTES && !*out; i++) {
    char *params[ROUTE_MAX_PARAMS] = {0};
    if (!match(routes[i].pub.pattern, path, params)) continue;
    if (strcmp(routes[i].pub.method, method) == 0) {
      *out = &routes[i];
      memcpy(out_params, params, sizeof params);
    } else {
      for (int k = 0; k < ROUTE_MAX_PARAMS; k++) free(params[k]);
      size_t used = strlen(allow);
      snprintf(allow + used, sizeof allow - used, "%s%s", used ? ", " : "",
               routes[i].pub.method);
    }
  }
  if (*out) return ASSAY_OK;
  if (*allow) {
    snprintf(resp->allow, sizeof resp->allow, "%s", allow);
    return assay__err(ASSAY_ERR_METHOD_NOT_ALLOWED, "%s is not allowed on %s; allowed: %s",
                      method, path, allow);
  }
  return assay__err(ASSAY_ERR_NOT_FOUND, "no route for %s %s (the API lives under /%s)",
                    method, path, ASSAY_API_VERSION);
}

int router_precheck(assay_platform *p, const router_request *req, router_response *resp) {
  memset(resp, 0, sizeof *resp);
  assay_error_clear();
  const route *found;
  char *params[ROUTE_MAX_PARAMS] = {0};
  int rc = find_route(req, resp, &found, params);
  for (int k = 0; k < ROUTE_MAX_PARAMS; k++) free(params[k]);
  if (!rc && found->pub.needs_auth && !req->principal) {
    store *s = NULL;
    principal who;
    rc = platform_store_acquire(p, &s);
    if (!rc) rc = auth_principal(s, req->token, &who);
    platform_store_release(p, s);
  }
  if (rc) answer_error(resp);
  return rc;
}

static int dispatch(assay_platform *p, const router_request *req, router_response *resp) {
  route_ctx c;
  memset(&c, 0, sizeof c);
  c.platform = p;
  c.req = req;
  c.resp = resp;
  const route *found;
  int rc = find_route(req, resp, &found, c.params);
  if (rc) return rc;

  /* Who is calling comes first: an anonymous caller learns nothing else. */
  principal who;
  c.who = req->principal; /* the embedded admin on the local transport */
  rc = platform_store_acquire(p, &c.store);
  if (rc) goto done;
  if (found->pub.needs_auth && !c.who) {
    rc = auth_principal(c.store, req->token, &who);
    if (rc) goto done;
    c.who = &who;
  }
  size_t limit = req->max_body ? req->max_body : platform_max_body(p);
  if (found->pub.streams_body) {
    /* Raw bytes, already in memory here: no limit, no JSON. */
  } else if (req->body_len > limit) {
    rc = assay__err(ASSAY_ERR_PAYLOAD_TOO_LARGE,
                    "request body is %zu bytes; the limit is %zu bytes", req->body_len, limit);
    goto done;
  }
  if (method_has_body(req->method) && !found->pub.streams_body) {
    rc = parse_body(req, &c.body);
    if (rc) goto done;
  }
  rc = found->fn(&c);
done:
  platform_store_release(p, c.store);
  json_decref(c.body);
  for (int k = 0; k < ROUTE_MAX_PARAMS; k++) free(c.params[k]);
  return rc;
}

void router_handle(assay_platform *p, const router_request *req, router_response *resp) {
  memset(resp, 0, sizeof *resp);
  assay_error_clear();
  int rc = dispatch(p, req, resp);
  if (rc != ASSAY_OK) answer_error(resp);
  else if (!resp->status) resp->status = resp->body ? 200 : 204;
}

/* --- streamed bodies ---------------------------------------------------------- */

struct router_stream {
  assay_platform *platform;
  file_upload *upload; /* PUT /v1/files is the one streaming route */
  int failed;          /* the error a write raised (kept for the answer) */
  int failed_status;
  char *failed_message;
};

int router_streams(const router_request *req) {
  router_response ignored;
  memset(&ignored, 0, sizeof ignored);
  const route *found = NULL;
  char *params[ROUTE_MAX_PARAMS] = {0};
  int rc = find_route(req, &ignored, &found, params);
  for (int k = 0; k < ROUTE_MAX_PARAMS; k++) free(params[k]);
  assay_error_clear();
  return rc == ASSAY_OK && found->pub.streams_body;
}

int router_stream_begin(assay_platform *p, const router_request *req, long long size,
                        router_stream **out, router_response *resp) {
  memset(resp, 0, sizeof *resp);
  assay_error_clear();
  *out = NULL;
  const route *found = NULL;
  char *params[ROUTE_MAX_PARAMS] = {0};
  principal who;
  const principal *caller = req->principal;
  store *s = NULL;
  router_stream *st = NULL;
  int rc = find_route(req, resp, &found, params);
  for (int k = 0; k < ROUTE_MAX_PARAMS; k++) free(params[k]);
  if (!rc && !found->pub.streams_body)
    rc = assay__err(ASSAY_ERR_INTERNAL, "%s %s does not stream its body", req->method,
                    req->path);
  if (!rc) rc = platform_store_acquire(p, &s);
  if (!rc && !caller) {
    rc = auth_principal(s, req->token, &who);
    caller = &who;
  }
  if (!rc && !(st = calloc(1, sizeof *st))) rc = assay__nomem();
  if (!rc) {
    st->platform = p;
    rc = files_upload_begin(&st->upload, p, s, caller, req->query);
  }
  platform_store_release(p, s);
  if (!rc) rc = files_upload_expect(st->upload, size);
  if (rc) {
    if (st) files_upload_abort(st->upload);
    free(st);
    answer_error(resp);
    return rc;
  }
  *out = st;
  return ASSAY_OK;
}

int router_stream_write(router_stream *st, const void *data, size_t n) {
  if (st->failed) return st->failed;
  int rc = files_upload_write(st->upload, data, n);
  if (rc) {
    const assay_error *e = assay_error_last();
    st->failed = rc;
    st->failed_status = e ? e->http_status : 500;
    st->failed_message = strdup(e && e->message ? e->message : "the upload failed");
  }
  return rc;
}

void router_stream_finish(router_stream *st, router_response *resp) {
  memset(resp, 0, sizeof *resp);
  assay_error_clear();
  json_t *answer = NULL;
  int rc;
  if (st->failed) {
    files_upload_abort(st->upload);
    rc = assay__err_status(st->failed, st->failed_status, "%s",
                           st->failed_message ? st->failed_message : "the upload failed");
  } else {
    rc = files_upload_finish(st->upload, &answer);
  }
  if (rc) {
    answer_error(resp);
  } else {
    resp->status = 201;
    resp->body = answer;
  }
  free(st->failed_message);
  free(st);
}

void router_stream_abort(router_stream *st) {
  if (!st) return;
  files_upload_abort(st->upload);
  free(st->failed_message);
  free(st);
}
