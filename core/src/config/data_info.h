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
 *   data_params:  label_col, timestamp_col, pred_col (strings), class_names
 *                 (strings), ranking_info {query_col, ...}, nrows,
 *                 nrows_per_time_bin (positive integers), sample (boolean),
 *                 categorical_features, protected_features,
 *                 features_not_in_model, text_features, image_features
 *                 (arrays of strings), intersections [{features: [...]}],
 *                 loading_kwargs (object)
 * `where` prefixes messages ("data_info", "pred_info"). On success
 * *normalized (may be NULL) is a copy with loader_kwargs_json decoded into
 * loader_kwargs and data_type filled in. */
int data_info_validate(const json_t *data_info, const char *where, json_t **normalized);

/* model_info: null, or exactly one of {"model_path": {"path"}},
 * {"hugging_face": {"model_uri", "kwargs"?}}, {"model_loading": {"path",
 * "load_func_name"?, "params"?}}. */
int model_info_validate(const json_t *model_info, json_t **normalized);

/* pred_info = {"connection_info": {...as data_info}, "pred_params"?:
 * {"pred_col"?}}. */
int pred_info_validate(const json_t *pred_info, json_t **normalized);

/* The connection type of a validated config: "data_file" or
 * "data_loading"; its object in *conn. */
const char *data_info_connection(const json_t *normalized, const json_t **conn);

#endif
