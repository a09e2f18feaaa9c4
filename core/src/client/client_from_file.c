/* client/client_from_file.c — registering from an uploaded file: the
 * *_from_file / *_from_path calls turn {remote_path, data_params |
 * pred_params, ...} into the register request with its config, so every
 * language builds these configs the same way (here). */
#include <string.h>

#include "client/client_internal.h"

/* A copy of `request` (an object) with remote_path and `params_key`
 * replaced by `config_key`: the config built by `build`. */
static int convert(json_t **out, const assay_value *request, const char *params_key,
                   const char *config_key, json_t *(*build)(const char *path, json_t *params)) {
  json_t *req = NULL;
  int rc = client__object_arg(&req, "request", request, 1);
  if (rc) return rc;
  json_t *path = json_object_get(req, "remote_path");
  if (!json_is_string(path) || !*json_string_value(path)) {
    json_decref(req);
    return assay__err(ASSAY_ERR_CONFIG,
                      "remote_path must be a file location (assay://files/...) returned by "
                      "upload_file; got %s",
                      !path || json_is_null(path) ? "nothing" : json_is_string(path) ? "\"\"" : "another type");
  }
  if (json_object_get(req, config_key)) {
    json_decref(req);
    return assay__err(ASSAY_ERR_CONFIG, "give remote_path or %s, not both", config_key);
  }
  json_t *params = params_key ? json_object_get(req, params_key) : NULL;
  if (params && !json_is_null(params) && !json_is_object(params)) {
    json_decref(req);
    return assay__err(ASSAY_ERR_CONFIG, "%s must be an object or null", params_key);
  }
  json_t *config = build(json_string_value(path), params && json_is_object(params) ? params : NULL);
  if (!config || json_object_set_new(req, config_key, config)) {
    json_decref(req);
    return assay__nomem();
  }
  json_object_del(req, "remote_path");
  if (params_key) json_object_del(req, params_key);
  *out = req;
  return ASSAY_OK;
}

static json_t *file_connection(const char *path, json_t *params, const char *params_key) {
  json_t *c = json_pack("{s:{s:{s:s}}}", "connection_info", "data_file", "path", path);
  if (c && params) json_object_set(c, params_key, params);
  return c;
}

static json_t *data_config(const char *path, json_t *params) {
  return file_connection(path, params, "data_params");
}

static json_t *pred_config(const char *path, json_t *params) {
  return file_connection(path, params, "pred_params");
}

static json_t *model_config(const char *path, json_t *params) {
  (void)params;
  return json_pack("{s:{s:s}}", "model_path", "path", path);
}

int assay_client_register_dataset_from_file(assay_value **out, assay_client *c,
                                            const char *project_id, const assay_value *request,
                                            int wait) {
  json_t *req = NULL;
  int rc = convert(&req, request, "data_params", "data_info", data_config);
  if (rc) return rc;
  rc = assay_client_register_dataset(out, c, project_id, AV(req), wait);
  json_decref(req);
  return rc;
}

int assay_client_register_model_from_path(assay_value **out, assay_client *c,
                                          const char *project_id, const assay_value *request) {
  json_t *req = NULL;
  int rc = convert(&req, request, NULL, "model_info", model_config);
  if (rc) return rc;
  rc = assay_client_register_model(out, c, project_id, AV(req));
  json_decref(req);
  return rc;
}

int assay_client_register_predictions_from_file(assay_value **out, assay_client *c,
                                                const char *project_id,
                                                const assay_value *request, int wait) {
  json_t *req = NULL;
  int rc = convert(&req, request, "pred_params", "pred_info", pred_config);
  if (rc) return rc;
  rc = assay_client_register_predictions(out, c, project_id, AV(req), wait);
  json_decref(req);
  return rc;
}
