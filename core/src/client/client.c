/* client/client.c — the client API: options, the choice of transport, the
 * typed operations (paths and bodies of the REST API), and the decoding of
 * error answers into the same typed errors on either transport. */
#include <pthread.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client_internal.h"
#include "internal.h"


/* --- options ------------------------------------------------------------ */

static const char *const option_fields[] = {
  "domain", "api_key", "channel_timeout", "disable_tls", "ssl_ca_cert", "cert_file",
  "key_file", "assert_hostname", "home", "max_retries", "secret_key_file", "workers",
  "runner_python", "loader_timeout", "loader_memory_bytes", NULL};

static int opt_string(const json_t *o, const char *k, const char **out) {
  json_t *v = json_object_get(o, k);
  if (!v || json_is_null(v)) return ASSAY_OK;
  if (!json_is_string(v))
    return assay__err(ASSAY_ERR_CONFIG, "client option %s must be a string or null", k);
  *out = json_string_value(v);
  return ASSAY_OK;
}

static int check_file(const char *option, const char *path) {
  if (path && *path && access(path, R_OK) != 0)
    return assay__err(ASSAY_ERR_CONFIG, "client option %s: cannot read file '%s'", option, path);
  return ASSAY_OK;
}

static int options_from_value(const json_t *o, assay_client_options *opts) {
  if (!o || json_is_null(o)) return ASSAY_OK;
  if (!json_is_object(o)) return assay__err(ASSAY_ERR_CONFIG, "client options must be an object");
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)o, key, v) {
    int known = 0;
    for (const char *const *f = option_fields; *f && !known; f++) known = !strcmp(*f, key);
    if (!known)
      return assay__err(ASSAY_ERR_CONFIG,
                        "unknown client option '%s'; expected domain, api_key, channel_timeout, "
                        "disable_tls, ssl_ca_cert, cert_file, key_file, assert_hostname, home, "
                        "max_retries, secret_key_file, workers, runner_python, loader_timeout, "
                        "loader_memory_bytes",
                        key);
  }
  int rc = opt_string(o, "domain", &opts->domain);
  if (!rc) rc = opt_string(o, "api_key", &opts->api_key);
  if (!rc) rc = opt_string(o, "ssl_ca_cert", &opts->ssl_ca_cert);
  if (!rc) rc = opt_string(o, "cert_file", &opts->cert_file);
  if (!rc) rc = opt_string(o, "key_file", &opts->key_file);
  /* assert_hostname: a name, or false to skip the host name check. */
  v = json_object_get(o, "assert_hostname");
  if (!rc && json_is_boolean(v)) {
    if (json_is_true(v))
      return assay__err(ASSAY_ERR_CONFIG,
                        "client option assert_hostname must be a host name, false or null; "
                        "got true");
    opts->skip_hostname_check = 1;
  } else if (!rc) {
    rc = opt_string(o, "assert_hostname", &opts->assert_hostname);
  }
  if (!rc) rc = opt_string(o, "home", &opts->home);
  if (!rc) rc = opt_string(o, "secret_key_file", &opts->secret_key_file);
  if (!rc) rc = opt_string(o, "runner_python", &opts->runner_python);
  if (rc) return rc;
  v = json_object_get(o, "workers");
  if (v && !json_is_null(v)) {
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 64)
      return assay__err(ASSAY_ERR_CONFIG, "client option workers must be an integer from 0 to 64");
    opts->workers = (int)json_integer_value(v);
  }
  v = json_object_get(o, "loader_timeout");
  if (v && !json_is_null(v)) {
    if (!json_is_number(v))
      return assay__err(ASSAY_ERR_CONFIG,
                        "client option loader_timeout must be a number of seconds (<0: none)");
    opts->loader_timeout = json_number_value(v);
  }
  v = json_object_get(o, "loader_memory_bytes");
  if (v && !json_is_null(v)) {
    if (!json_is_integer(v))
      return assay__err(ASSAY_ERR_CONFIG,
                        "client option loader_memory_bytes must be an integer (<0: none)");
    opts->loader_memory_bytes = (long long)json_integer_value(v);
  }
  v = json_object_get(o, "channel_timeout");
  if (v && !json_is_null(v)) {
    if (!json_is_number(v))
      return assay__err(ASSAY_ERR_CONFIG, "client option channel_timeout must be a number of seconds");
    opts->channel_timeout = json_number_value(v);
  }
  v = json_object_get(o, "disable_tls");
  if (v && !json_is_null(v)) {
    if (!json_is_boolean(v))
      return assay__err(ASSAY_ERR_CONFIG, "client option disable_tls must be a boolean");
    opts->disable_tls = json_is_true(v);
  }
  v = json_object_get(o, "max_retries");
  if (v && !json_is_null(v)) {
    if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > 10)
      return assay__err(ASSAY_ERR_CONFIG,
                        "client option max_retries must be an integer from 0 to 10");
    opts->max_retries = (int)json_integer_value(v);
  }
  return ASSAY_OK;
}

static int check_options(const assay_client_options *o) {
  if (o->version != ASSAY_CLIENT_OPTIONS_VERSION)
    return assay__err(ASSAY_ERR_CONFIG, "assay_client_options.version is %u; expected %d",
                      o->version, ASSAY_CLIENT_OPTIONS_VERSION);
  if (!(o->channel_timeout > 0) || o->channel_timeout > 86400)
    return assay__err(ASSAY_ERR_CONFIG,
                      "channel_timeout must be a number of seconds in (0, 86400]; got %g",
                      o->channel_timeout);
  if (o->max_retries > 10)
    return assay__err(ASSAY_ERR_CONFIG, "max_retries must be at most 10; got %d", o->max_retries);
  if ((o->cert_file && *o->cert_file) != (o->key_file && *o->key_file))
    return assay__err(ASSAY_ERR_CONFIG, "cert_file and key_file must be given together");
  int rc = check_file("ssl_ca_cert", o->ssl_ca_cert);
  if (!rc) rc = check_file("cert_file", o->cert_file);
  if (!rc) rc = check_file("key_file", o->key_file);
  return rc;
}

int assay_client_new(assay_client **out, const assay_client_options *opts) {
  assay_client_options defaults = ASSAY_CLIENT_OPTIONS_INIT;
  if (!opts) opts = &defaults;
  if (opts->version == 1) { /* a caller built against version 1: no job fields */
    memcpy(&defaults, opts, offsetof(assay_client_options, workers));
    defaults.version = ASSAY_CLIENT_OPTIONS_VERSION;
    opts = &defaults;
  }
  if (!out) return assay__err(ASSAY_ERR_CONFIG, "out must not be NULL");
  int rc = check_options(opts);
  if (rc) return rc;
  rc = assay_init();
  if (rc) return rc;
  assay_client *c = calloc(1, sizeof *c);
  if (!c) {
    assay_shutdown();
    return assay__nomem();
  }
  pthread_mutex_init(&c->lock, NULL);
  c->embedded = !opts->domain || !*opts->domain;
  rc = c->embedded ? transport_local_new(&c->t, opts) : transport_http_new(&c->t, opts);
  if (rc) {
    pthread_mutex_destroy(&c->lock);
    free(c);
    assay_shutdown();
    return rc;
  }
  *out = c;
  return ASSAY_OK;
}

int assay_client_new_with(assay_client **out, const assay_value *options) {
  assay_client_options opts = ASSAY_CLIENT_OPTIONS_INIT;
  int rc = options_from_value(JV(options), &opts);
  return rc ? rc : assay_client_new(out, &opts);
}

void assay_client_free(assay_client *c) {
  if (!c) return;
  c->t->ops->free(c->t);
  pthread_mutex_destroy(&c->lock);
  free(c);
  assay_shutdown();
}

int assay_client_is_embedded(const assay_client *c) { return c && c->embedded; }

/* --- one request ------------------------------------------------------------ */

/* The error code for an HTTP status when the answer carried no error body. */
static int code_for_status(int status) {
  switch (status) {
  case 400: return ASSAY_ERR_CONFIG;
  case 401: return ASSAY_ERR_AUTH;
  case 403: return ASSAY_ERR_PERMISSION_DENIED;
  case 404: return ASSAY_ERR_NOT_FOUND;
  case 405: return ASSAY_ERR_METHOD_NOT_ALLOWED;
  case 409: return ASSAY_ERR_CONFLICT;
  case 413: return ASSAY_ERR_PAYLOAD_TOO_LARGE;
  case 429:
  case 503: return ASSAY_ERR_UNAVAILABLE;
  case 504: return ASSAY_ERR_TIMEOUT;
  default: return status >= 500 ? ASSAY_ERR_INTERNAL : ASSAY_ERR_GENERIC;
  }
}

/* Turn an error answer into the calling thread's last error. */
int client__decode_error(int status, json_t *resp) {
  json_t *e = json_object_get(resp, "error");
  const char *name = json_string_value(json_object_get(e, "name"));
  const char *message = json_string_value(json_object_get(e, "message"));
  const assay_error_info *info = assay_error_info_by_name(name);
  int code = info ? info->code : code_for_status(status);
  if (!message) return assay__err_status(code, status, "the server answered HTTP %d", status);
  return assay__err_status(code, status, "%s", message);
}

int client__call_raw(assay_client *c, const char *method, const char *path, const char *body,
                    size_t body_len, json_t **out) {
  if (!c) return assay__err(ASSAY_ERR_CONFIG, "client must not be NULL");
  int status = 0;
  json_t *resp = NULL;
  pthread_mutex_lock(&c->lock);
  int rc = c->t->ops->request(c->t, method, path, body, body_len, &status, &resp);
  pthread_mutex_unlock(&c->lock);
  if (rc) return rc;
  if (status >= 400 || status < 200) {
    rc = client__decode_error(status, resp);
    json_decref(resp);
    return rc;
  }
  if (out) *out = resp;
  else json_decref(resp);
  return ASSAY_OK;
}

/* A typed request: `body` (stolen; may be NULL) is serialised to text. */
int client__call(assay_client *c, const char *method, const char *path, json_t *body,
                json_t **out) {
  char *text = NULL;
  if (body) {
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) return assay__nomem();
  }
  size_t len = text ? strlen(text) : 0;
  int rc = client__call_raw(c, method, path, text, len, out);
  if (text) sodium_memzero(text, len); /* it may carry secret values */
  free(text);
  return rc;
}

/* Percent-encode one path segment (ids go into URLs). */
char *client__escape_segment(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(s);
  char *out = malloc(3 * n + 1), *o = out;
  if (!out) return NULL;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
        *p == '-' || *p == '_' || *p == '.' || *p == '~') {
      *o++ = (char)*p;
    } else {
      *o++ = '%';
      *o++ = hex[*p >> 4];
      *o++ = hex[*p & 15];
    }
  }
  *o = '\0';
  return out;
}

int client__require_id(const char *what, const char *id) {
  if (!id || !*id) return assay__err(ASSAY_ERR_CONFIG, "%s must be a non-empty string", what);
  return ASSAY_OK;
}

/* Build "/v1/<collection>/<escaped id><suffix>". */
int client__id_path(char **out, const char *collection, const char *id, const char *suffix) {
  char *e = client__escape_segment(id);
  if (!e) return assay__nomem();
  int n = asprintf(out, "/v1/%s/%s%s", collection, e, suffix ? suffix : "");
  free(e);
  return n < 0 ? assay__nomem() : ASSAY_OK;
}

/* "/v1/projects/<escaped project_id>/<what><query>" (query may be NULL). */
int client__project_path(char **out, const char *project_id, const char *what,
                         const char *query) {
  int rc = client__require_id("project_id", project_id);
  if (rc) return rc;
  char suffix[64];
  snprintf(suffix, sizeof suffix, "/%s", what);
  char *base = NULL;
  rc = client__id_path(&base, "projects", project_id, suffix);
  if (rc) return rc;
  if (!query || !*query) {
    *out = base;
    return ASSAY_OK;
  }
  int n = asprintf(out, "%s%s", base, query);
  free(base);
  return n < 0 ? assay__nomem() : ASSAY_OK;
}

/* body[key] = value when value is given; invalid UTF-8 is a ConfigError. */
int client__set_text(json_t *body, const char *key, const char *value) {
  if (!value) return ASSAY_OK;
  json_t *j = json_string(value);
  if (!j) return assay__err(ASSAY_ERR_CONFIG, "%s must be valid UTF-8 text", key);
  return json_object_set_new(body, key, j) ? assay__nomem() : ASSAY_OK;
}

int client__wrap_out(assay_value **out, json_t *j) {
  if (out) *out = AV(j);
  else json_decref(j);
  return ASSAY_OK;
}

/* --- operations --------------------------------------------------------------- */

/* An HTTP method is a token: letters only here (GET, POST, ...), so nothing
 * can be smuggled into the request line. */
static int check_method(const char *m) {
  if (!m || !*m) return assay__err(ASSAY_ERR_CONFIG, "method must be given (GET, POST, ...)");
  size_t n = strlen(m);
  if (n > 16) return assay__err(ASSAY_ERR_CONFIG, "method is too long (%zu bytes)", n);
  for (size_t i = 0; i < n; i++)
    if (!((m[i] >= 'A' && m[i] <= 'Z') || (m[i] >= 'a' && m[i] <= 'z')))
      return assay__err(ASSAY_ERR_CONFIG,
                        "method must be letters only (GET, POST, DELETE, ...)");
  return ASSAY_OK;
}

/* A path is "/v1/..." with no spaces or control characters (escape them). */
static int check_path(const char *p) {
  if (!p || p[0] != '/')
    return assay__err(ASSAY_ERR_CONFIG, "path must start with '/'");
  for (const unsigned char *c = (const unsigned char *)p; *c; c++)
    if (*c <= ' ' || *c == 0x7f)
      return assay__err(ASSAY_ERR_CONFIG,
                        "path must not contain spaces or control characters; percent-encode "
                        "them");
  return ASSAY_OK;
}

int assay_client_request(assay_value **out, assay_client *c, const char *method,
                         const char *path, const char *body, size_t body_len) {
  int rc = check_method(method);
  if (!rc) rc = check_path(path);
  if (rc) return rc;
  json_t *resp = NULL;
  rc = client__call_raw(c, method, path, body, body ? body_len : 0, &resp);
  if (rc) return rc;
  return client__wrap_out(out, resp ? resp : json_null());
}

int assay_client_platform_info(assay_value **out, assay_client *c) {
  json_t *resp = NULL;
  int rc = client__call(c, "GET", "/v1/platform", NULL, &resp);
  if (rc) return rc;
  if (c->embedded) {
    /* The router says "embedded" only for the pre-authenticated admin; an
     * embedded client with an api_key runs in process all the same. */
    assay_platform *p = transport_local_platform(c->t);
    json_object_set_new(resp, "home", json_string(assay_platform_home(p)));
    json_object_set_new(resp, "embedded", json_true());
  }
  return client__wrap_out(out, resp);
}

int assay_client_create_project(assay_value **out, assay_client *c, const char *name,
                                const char *description, const char *model_task,
                                const assay_value *extra) {
  json_t *body;
  if (extra && !json_is_null(JV(extra))) {
    if (!json_is_object(JV(extra)))
      return assay__err(ASSAY_ERR_CONFIG, "project options must be an object");
    body = json_deep_copy(JV(extra));
  } else {
    body = json_object();
  }
  if (!body) return assay__nomem();
  /* NULL arguments are left out, so the router reports them as missing. */
  int rc = client__set_text(body, "name", name);
  if (!rc) rc = client__set_text(body, "description", description);
  if (!rc) rc = client__set_text(body, "model_task", model_task);
  if (rc) {
    json_decref(body);
    return rc;
  }
  json_t *resp = NULL;
  rc = client__call(c, "POST", "/v1/projects", body, &resp);
  return rc ? rc : client__wrap_out(out, resp);
}

int assay_client_get_project(assay_value **out, assay_client *c, const char *project_id) {
  char *path;
  int rc = client__require_id("project_id", project_id);
  if (!rc) rc = client__id_path(&path, "projects", project_id, NULL);
  if (rc) return rc;
  json_t *resp = NULL;
  rc = client__call(c, "GET", path, NULL, &resp);
  free(path);
  return rc ? rc : client__wrap_out(out, resp);
}

int assay_client_list_projects(assay_value **out, assay_client *c) {
  json_t *resp = NULL;
  int rc = client__call(c, "GET", "/v1/projects", NULL, &resp);
  if (rc) return rc;
  json_t *list = json_incref(json_object_get(resp, "projects"));
  json_decref(resp);
  if (!json_is_array(list)) {
    json_decref(list);
    return assay__err(ASSAY_ERR_INTERNAL, "the server's project list had no 'projects' array");
  }
  return client__wrap_out(out, list);
}

int assay_client_delete_project(assay_client *c, const char *project_id, int force) {
  char *path;
  int rc = client__require_id("project_id", project_id);
  if (!rc) rc = client__id_path(&path, "projects", project_id, force ? "?force=true" : NULL);
  if (rc) return rc;
  rc = client__call(c, "DELETE", path, NULL, NULL);
  free(path);
  return rc;
}

int assay_client_create_api_token(assay_value **out, assay_client *c, const char *workspace_id,
                                  const char *name, const char *user_id, int expires_in_days) {
  json_t *body = json_object();
  if (!body) return assay__nomem();
  int rc = client__set_text(body, "name", name);
  if (!rc) rc = client__set_text(body, "workspace_id", workspace_id);
  if (!rc) rc = client__set_text(body, "user_id", user_id);
  if (!rc && expires_in_days != ASSAY_TOKEN_EXPIRY_DEFAULT)
    json_object_set_new(body, "expires_in_days", json_integer(expires_in_days));
  if (rc) {
    json_decref(body);
    return rc;
  }
  json_t *resp = NULL;
  rc = client__call(c, "POST", "/v1/api-tokens", body, &resp);
  return rc ? rc : client__wrap_out(out, resp);
}

/* --- shared shapes -------------------------------------------------------------- */

/* The inner array `key` of a list answer, e.g. {"users": [...]}. */
int client__unwrap_list(assay_value **out, json_t *resp, const char *key) {
  json_t *list = json_incref(json_object_get(resp, key));
  json_decref(resp);
  if (!json_is_array(list)) {
    json_decref(list);
    return assay__err(ASSAY_ERR_INTERNAL, "the server's answer had no '%s' array", key);
  }
  return client__wrap_out(out, list);
}

/* GET (or DELETE, ...) "/v1/<collection>/<id><suffix>" without a body. */
int client__call_id(assay_value **out, assay_client *c, const char *method, const char *what,
                   const char *collection, const char *id, const char *suffix,
                   const char *list_key) {
  char *path;
  int rc = client__require_id(what, id);
  if (!rc) rc = client__id_path(&path, collection, id, suffix);
  if (rc) return rc;
  json_t *resp = NULL;
  rc = client__call(c, method, path, NULL, out ? &resp : NULL);
  free(path);
  if (rc || !out) return rc;
  return list_key ? client__unwrap_list(out, resp, list_key) : client__wrap_out(out, resp);
}

/* Send `body` (stolen) to `path` and hand back the record. */
int client__call_body(assay_value **out, assay_client *c, const char *method, const char *path,
                     json_t *body) {
  json_t *resp = NULL;
  int rc = client__call(c, method, path, body, &resp);
  return rc ? rc : client__wrap_out(out, resp ? resp : json_null());
}

/* "/v1/workspaces/<ws>/members/<user>" (both escaped). */
static int member_path(char **out, const char *workspace_id, const char *user_id) {
  int rc = client__require_id("workspace_id", workspace_id);
  if (!rc) rc = client__require_id("user_id", user_id);
  if (rc) return rc;
  char *w = client__escape_segment(workspace_id), *u = client__escape_segment(user_id);
  int n = (w && u) ? asprintf(out, "/v1/workspaces/%s/members/%s", w, u) : -1;
  free(w);
  free(u);
  return n < 0 ? assay__nomem() : ASSAY_OK;
}

/* --- API tokens (list, revoke) ------------------------------------------------ */

/* Append "name=<escaped value>" to a query being built in *q. */
int client__add_query(char **q, const char *name, const char *value) {
  if (!value) return ASSAY_OK;
  char *e = client__escape_segment(value), *next = NULL;
  if (!e) return assay__nomem();
  int n = asprintf(&next, "%s%c%s=%s", *q, **q ? '&' : '?', name, e);
  free(e);
  if (n < 0) return assay__nomem();
  free(*q);
  *q = next;
  return ASSAY_OK;
}

int assay_client_list_api_tokens(assay_value **out, assay_client *c, const char *workspace_id,
                                 const char *user_id) {
  char *q = strdup(""), *path = NULL;
  if (!q) return assay__nomem();
  int rc = client__add_query(&q, "workspace_id", workspace_id);
  if (!rc) rc = client__add_query(&q, "user_id", user_id);
  if (!rc && asprintf(&path, "/v1/api-tokens%s", q) < 0) rc = assay__nomem();
  free(q);
  if (rc) return rc;
  json_t *resp = NULL;
  rc = client__call(c, "GET", path, NULL, &resp);
  free(path);
  return rc ? rc : client__unwrap_list(out, resp, "api_tokens");
}

int assay_client_revoke_api_token(assay_client *c, const char *token_id) {
  return client__call_id(NULL, c, "DELETE", "token_id", "api-tokens", token_id, NULL, NULL);
}

/* --- workspaces, users, members ---------------------------------------------- */

int assay_client_create_workspace(assay_value **out, assay_client *c, const char *name) {
  json_t *body = json_object();
  if (!body) return assay__nomem();
  int rc = client__set_text(body, "name", name);
  if (rc) {
    json_decref(body);
    return rc;
  }
  return client__call_body(out, c, "POST", "/v1/workspaces", body);
}

int assay_client_list_workspaces(assay_value **out, assay_client *c) {
  json_t *resp = NULL;
  int rc = client__call(c, "GET", "/v1/workspaces", NULL, &resp);
  return rc ? rc : client__unwrap_list(out, resp, "workspaces");
}

int assay_client_get_workspace(assay_value **out, assay_client *c, const char *workspace_id) {
  return client__call_id(out, c, "GET", "workspace_id", "workspaces", workspace_id, NULL, NULL);
}

int assay_client_create_user(assay_value **out, assay_client *c, const char *username,
                             const char *display_name) {
  json_t *body = json_object();
  if (!body) return assay__nomem();
  int rc = client__set_text(body, "username", username);
  if (!rc) rc = client__set_text(body, "display_name", display_name);
  if (rc) {
    json_decref(body);
    return rc;
  }
  return client__call_body(out, c, "POST", "/v1/users", body);
}

int assay_client_list_users(assay_value **out, assay_client *c) {
  json_t *resp = NULL;
  int rc = client__call(c, "GET", "/v1/users", NULL, &resp);
  return rc ? rc : client__unwrap_list(out, resp, "users");
}

int assay_client_add_workspace_member(assay_value **out, assay_client *c,
                                      const char *workspace_id, const char *user_id,
                                      const char *role) {
  char *path;
  int rc = client__require_id("workspace_id", workspace_id);
  if (!rc) rc = client__id_path(&path, "workspaces", workspace_id, "/members");
  if (rc) return rc;
  json_t *body = json_object();
  rc = body ? client__set_text(body, "user_id", user_id) : assay__nomem();
  if (!rc) rc = client__set_text(body, "role", role);
  if (!rc) {
    rc = client__call_body(out, c, "POST", path, body);
    body = NULL;
  }
  json_decref(body);
  free(path);
  return rc;
}

int assay_client_update_workspace_member(assay_value **out, assay_client *c,
                                         const char *workspace_id, const char *user_id,
                                         const char *role) {
  char *path;
  int rc = member_path(&path, workspace_id, user_id);
  if (rc) return rc;
  json_t *body = json_object();
  rc = body ? client__set_text(body, "role", role) : assay__nomem();
  if (!rc) {
    rc = client__call_body(out, c, "PUT", path, body);
    body = NULL;
  }
  json_decref(body);
  free(path);
  return rc;
}

int assay_client_remove_workspace_member(assay_client *c, const char *workspace_id,
                                         const char *user_id) {
  char *path;
  int rc = member_path(&path, workspace_id, user_id);
  if (rc) return rc;
  rc = client__call(c, "DELETE", path, NULL, NULL);
  free(path);
  return rc;
}

int assay_client_list_workspace_members(assay_value **out, assay_client *c,
                                        const char *workspace_id) {
  return client__call_id(out, c, "GET", "workspace_id", "workspaces", workspace_id, "/members",
                 "members");
}

/* --- integrations ----------------------------------------------------------------- */

/* A copy of an optional value argument that must be an object (or absent). */
int client__object_arg(json_t **out, const char *what, const assay_value *v, int required) {
  json_t *j = JV(v);
  *out = NULL;
  if (!j || json_is_null(j)) {
    if (required) return assay__err(ASSAY_ERR_CONFIG, "%s must be given (an object)", what);
    return ASSAY_OK;
  }
  if (!json_is_object(j))
    return assay__err(ASSAY_ERR_CONFIG, "%s must be an object; got %s", what,
                      json_is_array(j)     ? "an array"
                      : json_is_string(j)  ? "a string"
                      : json_is_number(j)  ? "a number"
                      : json_is_boolean(j) ? "a boolean"
                                           : "another value");
  *out = json_deep_copy(j);
  return *out ? ASSAY_OK : assay__nomem();
}

int assay_client_create_integration(assay_value **out, assay_client *c,
                                    const char *workspace_id, const char *name,
                                    const char *integration_type, const assay_value *schema) {
  char *path;
  int rc = client__require_id("workspace_id", workspace_id);
  if (!rc) rc = client__id_path(&path, "workspaces", workspace_id, "/integrations");
  if (rc) return rc;
  json_t *body = json_object();
  rc = body ? client__set_text(body, "name", name) : assay__nomem();
  if (!rc) rc = client__set_text(body, "integration_type", integration_type);
  /* The schema goes as given (NULL: left out); the router checks its shape. */
  if (!rc && schema && json_object_set(body, "integration_schema", JV(schema)))
    rc = assay__nomem();
  if (!rc) {
    rc = client__call_body(out, c, "POST", path, body);
    body = NULL;
  }
  json_decref(body);
  free(path);
  return rc;
}

int assay_client_list_integrations(assay_value **out, assay_client *c,
                                   const char *workspace_id) {
  return client__call_id(out, c, "GET", "workspace_id", "workspaces", workspace_id, "/integrations",
                 "integrations");
}

int assay_client_get_integration(assay_value **out, assay_client *c,
                                 const char *integration_id) {
  return client__call_id(out, c, "GET", "integration_id", "integrations", integration_id, NULL, NULL);
}

int assay_client_update_integration(assay_value **out, assay_client *c,
                                    const char *integration_id, const assay_value *changes) {
  char *path;
  json_t *body = NULL;
  int rc = client__require_id("integration_id", integration_id);
  if (!rc) rc = client__object_arg(&body, "changes", changes, 1);
  if (!rc) rc = client__id_path(&path, "integrations", integration_id, NULL);
  if (rc) {
    json_decref(body);
    return rc;
  }
  rc = client__call_body(out, c, "PATCH", path, body);
  free(path);
  return rc;
}

int assay_client_delete_integration(assay_client *c, const char *integration_id) {
  return client__call_id(NULL, c, "DELETE", "integration_id", "integrations", integration_id, NULL,
                 NULL);
}

int assay_client_set_integration_credentials(assay_value **out, assay_client *c,
                                             const char *integration_id,
                                             const assay_value *credentials) {
  char *path;
  json_t *creds = NULL;
  int rc = client__require_id("integration_id", integration_id);
  if (!rc) rc = client__object_arg(&creds, "credentials", credentials, 1);
  if (!rc) rc = client__id_path(&path, "integrations", integration_id, "/credentials");
  if (rc) {
    json_decref(creds);
    return rc;
  }
  json_t *body = json_object();
  /* json_object_set_new steals creds even when it fails. */
  if (!body || json_object_set_new(body, "credentials", creds)) {
    if (!body) json_decref(creds);
    json_decref(body);
    free(path);
    return assay__nomem();
  }
  rc = client__call_body(out, c, "PUT", path, body);
  free(path);
  return rc;
}

/* --- administration ---------------------------------------------------------------- */

int assay_client_rotate_secret_key(assay_value **out, assay_client *c) {
  json_t *resp = NULL;
  int rc = client__call(c, "POST", "/v1/admin/rotate-key", NULL, &resp);
  return rc ? rc : client__wrap_out(out, resp ? resp : json_null());
}
