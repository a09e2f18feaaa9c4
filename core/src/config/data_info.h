/* config/data_info.h — the registry's configs, validated as rime-sdk's:
 * data_info (datasets), model_info (models), pred_info (predictions).
 *
 * Every message names the bad key by its full path and says what was
 * expected and what was got, e.g.
 *   "data_info.connection_info.data_loading: required key 'load_func_name'
 *    is missing; expected keys: path, load_func_name, loader_kwargs_json,
 *    loader_kwargs, data_endpoint_integration_id; got: path"
 *   "data_info.connection_info: unknown connection type 'data_lake';
 *    expected exactly one of: data_file, data_loading"
 *   "data_info.data_params: unknown key 'label'; expected: label_col,
 *    timestamp_col, ..."
 * All are ASSAY_ERR_CONFIG. Not installed. */
#ifndef ASSAY_CONFIG_DATA_INFO_H
#define ASSAY_CONFIG_DATA_INFO_H

#include <jansson.h>

/* data_info = {"connection_info": {<exactly one type>}, "data_params"?: {...}}
 *   data_file:    {path, data_type?}  path a file location
 *                 ("assay://files/..."); data_type csv | parquet | json |
 *                 jsonl (also DATA_TYPE_CSV, ...), default from the path's
 *                 extension (.csv .parquet .pq .json .jsonl .ndjson)
 *   data_loading: {path, load_func_name, loader_kwargs_json?, loader_kwargs?,
 *                 data_endpoint_integration_id?}; path a location of a .py
 *                 file; load_func_name a Python identifier;
 *                 loader_kwargs_json a string holding a JSON object,
 *                 loader_kwargs an object (not both)
 *   data_params:  label_col, timestamp_col (strings), pred_col (a string,
 *                 or for multiclass an array of the class probability
 *                 columns in class order, distinct), class_names
 *                 (strings), ranking_info {query_col, ...}, nrows,
 *                 nrows_per_time_bin (positive integers), sample (boolean),
 *                 categorical_features, protected_features,
 *                 features_not_in_model, text_features, image_features
 *                 (arrays of strings), intersections [{features: [...]}],
 *                 loading_kwargs (object)
 * Optional keys given as null count as not given. loader_kwargs must not
 * hold "integration_dict" (the platform passes it). A message never quotes
 * loader_kwargs_json or loader_kwargs (only the JSON error's position).
 * `where` prefixes messages ("data_info", "pred_info"; NULL: "data_info").
 * On success *normalized (may be NULL) is a copy holding only the checked
 * keys: loader_kwargs_json decoded into loader_kwargs (always present, {}
 * when neither is given), data_type filled in as csv | parquet | json |
 * jsonl, nulls left out. Validating a normalized copy gives the same copy. */
int data_info_validate(const json_t *data_info, const char *where, json_t **normalized);

/* model_info: null, or exactly one of {"model_path": {"path"}} (a file or
 * folder location), {"hugging_face": {"model_uri", "kwargs"?}},
 * {"model_loading": {"path" (a .py location), "load_func_name"?,
 * "params"?}}. Messages start with "model_info". *normalized: null for
 * null (or a NULL model_info), else the checked copy (hugging_face.kwargs
 * {} when not given). */
int model_info_validate(const json_t *model_info, json_t **normalized);

/* pred_info = {"connection_info": {...as data_info}, "pred_params"?:
 * {"pred_col"?}} (pred_col as in data_params: a column name, or for
 * multiclass an array of the class probability columns in class order);
 * messages start with "pred_info". */
int pred_info_validate(const json_t *pred_info, json_t **normalized);

/* The connection type of a validated config: "data_file" or
 * "data_loading"; its object in *conn (may be NULL). NULL when there is
 * none. */
const char *data_info_connection(const json_t *normalized, const json_t **conn);

#endif
