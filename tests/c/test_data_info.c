/* test_data_info.c — the registry's config validation (config/data_info.h):
 * table-driven, every rule of data_info, pred_info and model_info with the
 * exact pieces its message must hold (full key path, what was expected,
 * what was got), the normalized copies (data_type filled in,
 * loader_kwargs_json decoded, nulls dropped), and that a message never
 * quotes loader_kwargs_json's content. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/data_info.h"
#include "internal.h"

enum { DATA, PRED, MODEL };

typedef struct vcase {
  int which;           /* DATA, PRED, MODEL */
  const char *config;  /* JSON text ('...' quotes become "...") */
  const char *frags[4]; /* pieces the error message must hold; all NULL: valid */
} vcase;

#define DL "{\"connection_info\":{\"data_loading\":"
#define DF "{\"connection_info\":{\"data_file\":"
#define LOC "\"assay://files/d/x.csv\""
#define PY "\"assay://files/l/loader.py\""

static const vcase cases[] = {
  /* --- valid ones ----------------------------------------------------------------- */
  {DATA, DF "{\"path\":" LOC "}}}", {NULL}},
  {DATA, DF "{\"path\":" LOC ",\"data_type\":\"DATA_TYPE_CSV\"}},\"data_params\":{}}", {NULL}},
  {DATA, DF "{\"path\":\"assay://files/a.PARQUET\"}}}", {NULL}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":\"load\"}}}", {NULL}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":\"_f2\",\"loader_kwargs_json\":\"{\\\"a\\\":1}\","
            "\"data_endpoint_integration_id\":\"abc\"}},\"data_params\":{\"label_col\":\"y\","
            "\"timestamp_col\":\"t\",\"class_names\":[\"a\",\"b\"],\"pred_col\":\"p\","
            "\"ranking_info\":{\"query_col\":\"q\",\"nqueries\":3,\"drop_query_id\":true},"
            "\"nrows\":10,\"nrows_per_time_bin\":5,\"sample\":false,"
            "\"categorical_features\":[\"c\"],\"protected_features\":[],"
            "\"features_not_in_model\":[\"z\"],\"text_features\":[\"s\"],\"image_features\":[],"
            "\"intersections\":[{\"features\":[\"a\",\"b\"]}],\"loading_kwargs\":{\"sep\":\";\"}}}",
   {NULL}},
  {DATA, DF "{\"path\":" LOC ",\"data_type\":null}},\"data_params\":{\"label_col\":null}}", {NULL}},
  {PRED, DF "{\"path\":" LOC "}},\"pred_params\":{\"pred_col\":\"p\"}}", {NULL}},
  {PRED, DF "{\"path\":" LOC "}}}", {NULL}},
  {MODEL, "null", {NULL}},
  {MODEL, "{\"model_path\":{\"path\":\"assay://files/m/model\"}}", {NULL}},
  {MODEL, "{\"hugging_face\":{\"model_uri\":\"org/name\",\"kwargs\":{\"a\":1}}}", {NULL}},
  {MODEL, "{\"model_loading\":{\"path\":" PY ",\"load_func_name\":\"get\",\"params\":{}}}", {NULL}},

  /* --- data_info: the shape ----------------------------------------------------------- */
  {DATA, "[]", {"data_info: expected an object", "got an array"}},
  {DATA, "\"x\"", {"data_info: expected an object", "got a string"}},
  {DATA, "{}", {"data_info: required key 'connection_info' is missing",
                "expected keys: connection_info, data_params", "got: (none)"}},
  {DATA, "{\"data_params\":{}}", {"required key 'connection_info' is missing", "got: data_params"}},
  {DATA, "{\"connection\":{}}", {"data_info: unknown key 'connection'",
                                 "expected: connection_info, data_params"}},
  {DATA, "{\"connection_info\":[]}", {"data_info.connection_info: expected an object",
                                      "got an array"}},
  {DATA, "{\"connection_info\":{}}", {"data_info.connection_info: expected exactly one",
                                      "data_file, data_loading", "got 0: (none)"}},
  {DATA, "{\"connection_info\":{\"data_file\":{},\"data_loading\":{}}}",
   {"expected exactly one connection type of: data_file, data_loading",
    "got 2: data_file, data_loading"}},
  {DATA, "{\"connection_info\":{\"data_lake\":{}}}",
   {"data_info.connection_info: unknown connection type 'data_lake'",
    "expected exactly one of: data_file, data_loading"}},
  {DATA, "{\"connection_info\":{\"data_file\":\"x\"}}",
   {"data_info.connection_info.data_file: expected an object", "got a string"}},

  /* --- data_file ------------------------------------------------------------------------ */
  {DATA, DF "{}}}", {"data_info.connection_info.data_file: required key 'path' is missing",
                     "expected keys: path, data_type", "got: (none)"}},
  {DATA, DF "{\"data_type\":\"csv\"}}}", {"required key 'path' is missing", "got: data_type"}},
  {DATA, DF "{\"path\":" LOC ",\"format\":\"csv\"}}}",
   {"data_info.connection_info.data_file: unknown key 'format'", "expected: path, data_type"}},
  {DATA, DF "{\"path\":\"s3://bucket/x.csv\"}}}",
   {"data_info.connection_info.data_file.path: expected a file location of the form "
    "assay://files/<path>",
    "got 's3://bucket/x.csv'"}},
  {DATA, DF "{\"path\":\"assay://files/\"}}}", {"data_file.path: expected a file location",
                                               "got 'assay://files/'"}},
  {DATA, DF "{\"path\":7}}}", {"data_file.path: expected a file location", "got an integer"}},
  {DATA, DF "{\"path\":null}}}", {"data_file.path: expected a file location", "got null"}},
  {DATA, DF "{\"path\":" LOC ",\"data_type\":\"xlsx\"}}}",
   {"data_info.connection_info.data_file.data_type: expected one of csv, parquet, json, jsonl",
    "DATA_TYPE_CSV", "got 'xlsx'"}},
  {DATA, DF "{\"path\":" LOC ",\"data_type\":3}}}", {"data_file.data_type: expected one of",
                                                     "got an integer"}},
  {DATA, DF "{\"path\":\"assay://files/d/x.dat\"}}}",
   {"data_info.connection_info.data_file.data_type: cannot tell the file's type from its name "
    "'assay://files/d/x.dat'",
    ".csv, .parquet, .pq, .json, .jsonl or .ndjson", "give data_type"}},

  /* --- data_loading ------------------------------------------------------------------------ */
  {DATA, DL "{\"path\":" PY "}}}",
   {"data_info.connection_info.data_loading: required key 'load_func_name' is missing",
    "expected keys: path, load_func_name, loader_kwargs_json, loader_kwargs, "
    "data_endpoint_integration_id",
    "got: path"}},
  {DATA, DL "{\"load_func_name\":\"f\"}}}", {"data_loading: required key 'path' is missing",
                                            "got: load_func_name"}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":\"f\",\"kwargs\":{}}}}",
   {"data_info.connection_info.data_loading: unknown key 'kwargs'",
    "expected: path, load_func_name, loader_kwargs_json, loader_kwargs, "
    "data_endpoint_integration_id"}},
  {DATA, DL "{\"path\":\"assay://files/l/loader.txt\",\"load_func_name\":\"f\"}}}",
   {"data_info.connection_info.data_loading.path: expected the location of a Python file",
    "assay://files/<path>.py", "got 'assay://files/l/loader.txt'"}},
  {DATA, DL "{\"path\":\"/abs/loader.py\",\"load_func_name\":\"f\"}}}",
   {"data_loading.path: expected a file location of the form assay://files/<path>",
    "got '/abs/loader.py'"}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":\"1load\"}}}",
   {"data_info.connection_info.data_loading.load_func_name: expected the name of a Python "
    "function",
    "got '1load'"}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":\"lo-ad\"}}}", {"load_func_name", "got 'lo-ad'"}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":\"class\"}}}", {"not a keyword", "got 'class'"}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":\"\"}}}",
   {"data_loading.load_func_name: expected a non-empty string", "got ''"}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":[\"f\"]}}}",
   {"data_loading.load_func_name: expected a non-empty string", "got an array"}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":\"f\",\"loader_kwargs_json\":\"{}\","
            "\"loader_kwargs\":{}}}}",
   {"data_info.connection_info.data_loading: give loader_kwargs_json", "not both"}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":\"f\",\"loader_kwargs_json\":{}}}}",
   {"data_loading.loader_kwargs_json: expected a string holding a JSON object",
    "got an object"}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":\"f\",\"loader_kwargs_json\":\"[1,2]\"}}}",
   {"data_loading.loader_kwargs_json: expected a string holding a JSON object",
    "it holds an array"}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":\"f\",\"loader_kwargs_json\":\"{\\\"a\\\":1,\"}}}",
   {"data_info.connection_info.data_loading.loader_kwargs_json: expected a string holding a "
    "JSON object; it is not valid JSON",
    "the text ends too early", "line 1, column"}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":\"f\","
            "\"loader_kwargs_json\":\"{\\\"a\\\":1,\\\"a\\\":2}\"}}}",
   {"loader_kwargs_json", "not valid JSON", "a key appears twice"}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":\"f\",\"loader_kwargs\":[1]}}}",
   {"data_info.connection_info.data_loading.loader_kwargs: expected an object of keyword "
    "arguments",
    "got an array"}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":\"f\","
            "\"loader_kwargs\":{\"integration_dict\":{}}}}}",
   {"data_loading.loader_kwargs: must not hold 'integration_dict'"}},
  {DATA, DL "{\"path\":" PY ",\"load_func_name\":\"f\",\"data_endpoint_integration_id\":5}}}",
   {"data_loading.data_endpoint_integration_id: expected a non-empty string", "got an integer"}},

  /* --- data_params ----------------------------------------------------------------------- */
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":[]}", {"data_info.data_params: expected an object",
                                                        "got an array"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"label\":\"y\"}}",
   {"data_info.data_params: unknown key 'label'",
    "expected: label_col, timestamp_col, class_names, pred_col, ranking_info, nrows, "
    "nrows_per_time_bin, sample, categorical_features, protected_features, "
    "features_not_in_model, text_features, image_features, intersections, loading_kwargs"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"label_col\":1}}",
   {"data_info.data_params.label_col: expected a non-empty string", "got an integer"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"timestamp_col\":\"\"}}",
   {"data_info.data_params.timestamp_col: expected a non-empty string", "got ''"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"pred_col\":true}}",
   {"data_params.pred_col: expected a non-empty string", "got a boolean"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"class_names\":\"a\"}}",
   {"data_info.data_params.class_names: expected an array of column names", "got a string"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"class_names\":[\"a\",2]}}",
   {"data_info.data_params.class_names[1]: expected a non-empty string", "got an integer"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"nrows\":0}}",
   {"data_info.data_params.nrows: expected a positive integer", "got 0"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"nrows\":-3}}", {"nrows", "got -3"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"nrows\":1.5}}",
   {"data_params.nrows: expected a positive integer", "got a number"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"nrows_per_time_bin\":\"5\"}}",
   {"data_params.nrows_per_time_bin: expected a positive integer", "got a string"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"sample\":1}}",
   {"data_info.data_params.sample: expected a boolean", "got an integer"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"categorical_features\":{}}}",
   {"data_params.categorical_features: expected an array of column names", "got an object"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"protected_features\":[null]}}",
   {"data_params.protected_features[0]: expected a non-empty string", "got null"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"features_not_in_model\":[\"\"]}}",
   {"data_params.features_not_in_model[0]: expected a non-empty string", "got ''"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"text_features\":3}}",
   {"data_params.text_features: expected an array", "got an integer"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"image_features\":[1]}}",
   {"data_params.image_features[0]: expected a non-empty string"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"loading_kwargs\":\"sep=;\"}}",
   {"data_info.data_params.loading_kwargs: expected an object", "got a string"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"ranking_info\":{}}}",
   {"data_info.data_params.ranking_info: required key 'query_col' is missing",
    "expected keys: query_col, nqueries, nrows_per_query, drop_query_id", "got: (none)"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"ranking_info\":{\"query_col\":\"q\",\"x\":1}}}",
   {"data_params.ranking_info: unknown key 'x'", "expected: query_col, nqueries"}},
  {DATA, DF "{\"path\":" LOC "}},"
            "\"data_params\":{\"ranking_info\":{\"query_col\":\"q\",\"nqueries\":0}}}",
   {"data_params.ranking_info.nqueries: expected a positive integer", "got 0"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":"
            "{\"ranking_info\":{\"query_col\":\"q\",\"drop_query_id\":\"y\"}}}",
   {"data_params.ranking_info.drop_query_id: expected a boolean", "got a string"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"ranking_info\":\"q\"}}",
   {"data_params.ranking_info: expected an object", "got a string"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"intersections\":{}}}",
   {"data_info.data_params.intersections: expected an array of objects", "got an object"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"intersections\":[{\"features\":[\"a\"]},3]}}",
   {"data_info.data_params.intersections[1]: expected an object", "got an integer"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"intersections\":[{}]}}",
   {"data_params.intersections[0]: required key 'features' is missing", "got: (none)"}},
  {DATA, DF "{\"path\":" LOC "}},"
            "\"data_params\":{\"intersections\":[{\"features\":[\"a\"],\"w\":1}]}}",
   {"data_params.intersections[0]: unknown key 'w'", "expected: features"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"intersections\":[{\"features\":[]}]}}",
   {"data_params.intersections[0].features: expected at least one column name", "got []"}},
  {DATA, DF "{\"path\":" LOC "}},\"data_params\":{\"intersections\":[{\"features\":[7]}]}}",
   {"data_params.intersections[0].features[0]: expected a non-empty string"}},

  /* --- pred_info --------------------------------------------------------------------------- */
  {PRED, "3", {"pred_info: expected an object", "pred_params", "got an integer"}},
  {PRED, "{\"pred_params\":{}}", {"pred_info: required key 'connection_info' is missing",
                                  "expected keys: connection_info, pred_params",
                                  "got: pred_params"}},
  {PRED, "{\"connection_info\":{\"data_file\":{\"path\":" LOC "}},\"data_params\":{}}",
   {"pred_info: unknown key 'data_params'", "expected: connection_info, pred_params"}},
  {PRED, "{\"connection_info\":{\"db\":{}}}", {"pred_info.connection_info: unknown connection "
                                               "type 'db'"}},
  {PRED, "{\"connection_info\":{\"data_file\":{\"path\":\"x.csv\"}}}",
   {"pred_info.connection_info.data_file.path: expected a file location", "got 'x.csv'"}},
  {PRED, DF "{\"path\":" LOC "}},\"pred_params\":{\"label_col\":\"y\"}}",
   {"pred_info.pred_params: unknown key 'label_col'", "expected: pred_col"}},
  {PRED, DF "{\"path\":" LOC "}},\"pred_params\":{\"pred_col\":[]}}",
   {"pred_info.pred_params.pred_col: expected a non-empty string", "got an array"}},

  /* --- model_info ---------------------------------------------------------------------------- */
  {MODEL, "\"model.py\"", {"model_info: expected null (no model) or an object",
                          "model_path, hugging_face, model_loading", "got a string"}},
  {MODEL, "{}", {"model_info: expected null (no model) or exactly one of: model_path, "
                 "hugging_face, model_loading",
                 "got 0: (none)"}},
  {MODEL, "{\"model_path\":{\"path\":\"assay://files/m\"},\"hugging_face\":{\"model_uri\":\"x\"}}",
   {"exactly one of", "got 2: model_path, hugging_face"}},
  {MODEL, "{\"sagemaker\":{}}", {"model_info: unknown model type 'sagemaker'",
                                 "expected exactly one of: model_path, hugging_face, "
                                 "model_loading"}},
  {MODEL, "{\"model_path\":{}}", {"model_info.model_path: required key 'path' is missing",
                                  "expected keys: path", "got: (none)"}},
  {MODEL, "{\"model_path\":{\"path\":\"assay://files/m\",\"x\":1}}",
   {"model_info.model_path: unknown key 'x'", "expected: path"}},
  {MODEL, "{\"model_path\":{\"path\":\"/tmp/m\"}}",
   {"model_info.model_path.path: expected a file location of the form assay://files/<path>",
    "got '/tmp/m'"}},
  {MODEL, "{\"model_path\":[]}", {"model_info.model_path: expected an object", "got an array"}},
  {MODEL, "{\"hugging_face\":{}}", {"model_info.hugging_face: required key 'model_uri' is "
                                    "missing",
                                    "expected keys: model_uri, kwargs"}},
  {MODEL, "{\"hugging_face\":{\"model_uri\":\"\"}}",
   {"model_info.hugging_face.model_uri: expected a non-empty string", "got ''"}},
  {MODEL, "{\"hugging_face\":{\"model_uri\":\"a\",\"kwargs\":[]}}",
   {"model_info.hugging_face.kwargs: expected an object", "got an array"}},
  {MODEL, "{\"model_loading\":{\"params\":{}}}",
   {"model_info.model_loading: required key 'path' is missing",
    "expected keys: path, load_func_name, params", "got: params"}},
  {MODEL, "{\"model_loading\":{\"path\":\"assay://files/m.pkl\"}}",
   {"model_info.model_loading.path: expected the location of a Python file", "got "
                                                                              "'assay://files/"
                                                                              "m.pkl'"}},
  {MODEL, "{\"model_loading\":{\"path\":" PY ",\"load_func_name\":\"a b\"}}",
   {"model_info.model_loading.load_func_name: expected the name of a Python function"}},
  {MODEL, "{\"model_loading\":{\"path\":" PY ",\"params\":3}}",
   {"model_info.model_loading.params: expected an object", "got an integer"}},
};
#define N_CASES (sizeof cases / sizeof cases[0])

static json_t *parse(const char *text) {
  json_error_t e;
  json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
  if (!j) fail_msg("bad test JSON (%s): %s", e.text, text);
  return j;
}

static int run(int which, const json_t *config, json_t **norm) {
  switch (which) {
  case DATA: return data_info_validate(config, "data_info", norm);
  case PRED: return pred_info_validate(config, norm);
  default: return model_info_validate(config, norm);
  }
}

static void table(void **state) {
  (void)state;
  for (size_t i = 0; i < N_CASES; i++) {
    const vcase *t = &cases[i];
    json_t *config = parse(t->config), *norm = NULL;
    int rc = run(t->which, config, &norm);
    if (!t->frags[0]) {
      if (rc != ASSAY_OK)
        fail_msg("case %zu (%s) should be valid; got: %s", i, t->config,
                 assay_error_last()->message);
      assert_non_null(norm);
      /* validating the normalized copy again gives the same copy */
      json_t *again = NULL;
      if (run(t->which, norm, &again) != ASSAY_OK)
        fail_msg("case %zu: the normalized copy is not valid: %s", i,
                 assay_error_last()->message);
      assert_true(json_equal(norm, again));
      json_decref(again);
      /* and validating without asking for a copy works too */
      assert_int_equal(run(t->which, config, NULL), ASSAY_OK);
    } else {
      if (rc != ASSAY_ERR_CONFIG)
        fail_msg("case %zu (%s): expected ASSAY_ERR_CONFIG, got %d", i, t->config, rc);
      assert_null(norm);
      const char *msg = assay_error_last()->message;
      for (int f = 0; f < 4 && t->frags[f]; f++)
        if (!strstr(msg, t->frags[f]))
          fail_msg("case %zu (%s): message\n  %s\nlacks\n  %s", i, t->config, msg, t->frags[f]);
      assert_int_equal(assay_error_last()->http_status, 400);
    }
    json_decref(norm);
    json_decref(config);
  }
}

static void normalized_copies(void **state) {
  (void)state;
  json_t *norm = NULL, *config;
  const json_t *conn = NULL;

  /* data_type from the extension, lower case; DATA_TYPE_* to lower case */
  static const struct {
    const char *path, *given, *type;
  } types[] = {
    {"assay://files/a.csv", NULL, "csv"},        {"assay://files/a.CSV", NULL, "csv"},
    {"assay://files/a.parquet", NULL, "parquet"}, {"assay://files/a.pq", NULL, "parquet"},
    {"assay://files/a.json", NULL, "json"},      {"assay://files/a.jsonl", NULL, "jsonl"},
    {"assay://files/a.ndjson", NULL, "jsonl"},
    {"assay://files/a.txt", "DATA_TYPE_PARQUET", "parquet"},
    {"assay://files/a.csv", "JSONL", "jsonl"},   {"assay://files/a", "json", "json"},
  };
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    config = json_pack("{s:{s:{s:s, s:s?}}}", "connection_info", "data_file", "path",
                       types[i].path, "data_type", types[i].given);
    assert_int_equal(data_info_validate(config, "data_info", &norm), ASSAY_OK);
    assert_string_equal(data_info_connection(norm, &conn), "data_file");
    assert_string_equal(json_string_value(json_object_get(conn, "data_type")), types[i].type);
    assert_string_equal(json_string_value(json_object_get(conn, "path")), types[i].path);
    json_decref(norm);
    json_decref(config);
  }

  /* loader_kwargs_json decoded into loader_kwargs; nulls dropped */
  config = parse(DL "{\"path\":" PY ",\"load_func_name\":\"f\",\"loader_kwargs_json\":"
                    "\"{\\\"day\\\":\\\"2024-01-01\\\",\\\"n\\\":[1,2]}\","
                    "\"data_endpoint_integration_id\":null}},"
                    "\"data_params\":{\"label_col\":\"y\",\"nrows\":null}}");
  assert_int_equal(data_info_validate(config, "data_info", &norm), ASSAY_OK);
  assert_string_equal(data_info_connection(norm, &conn), "data_loading");
  assert_null(json_object_get(conn, "loader_kwargs_json"));
  assert_null(json_object_get(conn, "data_endpoint_integration_id"));
  json_t *expect = parse("{\"day\":\"2024-01-01\",\"n\":[1,2]}");
  assert_true(json_equal(json_object_get(conn, "loader_kwargs"), expect));
  json_decref(expect);
  expect = parse("{\"label_col\":\"y\"}");
  assert_true(json_equal(json_object_get(norm, "data_params"), expect));
  json_decref(expect);
  json_decref(norm);
  json_decref(config);

  /* loader_kwargs given as an object stays; none given: {} */
  config = parse(DL "{\"path\":" PY ",\"load_func_name\":\"f\",\"loader_kwargs\":{\"a\":1},"
                    "\"data_endpoint_integration_id\":\"i-1\"}}}");
  assert_int_equal(data_info_validate(config, "data_info", &norm), ASSAY_OK);
  data_info_connection(norm, &conn);
  json_t *kwargs = json_object_get(conn, "loader_kwargs");
  assert_int_equal(json_integer_value(json_object_get(kwargs, "a")), 1);
  assert_string_equal(json_string_value(json_object_get(conn, "data_endpoint_integration_id")),
                      "i-1");
  assert_null(json_object_get(norm, "data_params"));
  json_decref(norm);
  json_decref(config);
  config = parse(DL "{\"path\":" PY ",\"load_func_name\":\"f\"}}}");
  assert_int_equal(data_info_validate(config, "data_info", &norm), ASSAY_OK);
  data_info_connection(norm, &conn);
  assert_true(json_is_object(json_object_get(conn, "loader_kwargs")));
  assert_int_equal(json_object_size(json_object_get(conn, "loader_kwargs")), 0);
  json_decref(norm);
  json_decref(config);

  /* model_info null stays null; kwargs default {} */
  assert_int_equal(model_info_validate(NULL, &norm), ASSAY_OK);
  assert_true(json_is_null(norm));
  json_decref(norm);
  config = parse("{\"hugging_face\":{\"model_uri\":\"org/m\"}}");
  assert_int_equal(model_info_validate(config, &norm), ASSAY_OK);
  expect = parse("{\"hugging_face\":{\"model_uri\":\"org/m\",\"kwargs\":{}}}");
  assert_true(json_equal(norm, expect));
  json_decref(expect);
  json_decref(norm);
  json_decref(config);

  /* data_info_connection of something else */
  assert_null(data_info_connection(NULL, &conn));
  assert_null(conn);
  config = parse("{\"connection_info\":{\"x\":{}}}");
  assert_null(data_info_connection(config, NULL));
  json_decref(config);
}

/* `where` prefixes every message; the default is data_info. */
static void where_prefixes(void **state) {
  (void)state;
  json_t *config = parse(DF "{\"path\":\"nope\"}}}");
  assert_int_equal(data_info_validate(config, "scheduled_ct_eval_data_info", NULL),
                   ASSAY_ERR_CONFIG);
  assert_non_null(strstr(assay_error_last()->message,
                         "scheduled_ct_eval_data_info.connection_info.data_file.path:"));
  assert_int_equal(data_info_validate(config, NULL, NULL), ASSAY_ERR_CONFIG);
  assert_non_null(strstr(assay_error_last()->message, "data_info.connection_info.data_file.path:"));
  assert_int_equal(data_info_validate(NULL, "data_info", NULL), ASSAY_ERR_CONFIG);
  assert_non_null(strstr(assay_error_last()->message, "got nothing"));
  json_decref(config);
}

/* loader_kwargs_json often carries things a user would rather not see
 * echoed (and sometimes, wrongly, a secret): its text never appears in a
 * message, whatever the parse error. */
static void kwargs_json_content_not_echoed(void **state) {
  (void)state;
  static const char *const bad[] = {
    "{\"token\": \"SECRET-abc123\"",              /* ends early */
    "{\"token\": SECRET-abc123}",                 /* syntax */
    "{\"token\": \"SECRET-abc123\"} trailing",    /* more after */
    "SECRET-abc123",                              /* not JSON at all */
    "{\"token\": \"SECRET-abc123\", \"token\": 1}", /* duplicate */
    "[\"SECRET-abc123\"]",                        /* not an object */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *config = json_pack("{s:{s:{s:s, s:s, s:s}}}", "connection_info", "data_loading",
                               "path", "assay://files/l.py", "load_func_name", "f",
                               "loader_kwargs_json", bad[i]);
    assert_int_equal(data_info_validate(config, "data_info", NULL), ASSAY_ERR_CONFIG);
    const char *msg = assay_error_last()->message;
    if (strstr(msg, "SECRET") || strstr(msg, "abc123") || strstr(msg, "token"))
      fail_msg("message echoes loader_kwargs_json: %s", msg);
    assert_non_null(strstr(msg, "loader_kwargs_json"));
    json_decref(config);
  }
  /* nor do the other messages of data_loading quote loader_kwargs */
  json_t *config = json_pack("{s:{s:{s:s, s:s, s:{s:s}}}}", "connection_info", "data_loading",
                             "path", "assay://files/l.txt", "load_func_name", "f",
                             "loader_kwargs", "token", "SECRET-abc123");
  assert_int_equal(data_info_validate(config, "data_info", NULL), ASSAY_ERR_CONFIG);
  assert_null(strstr(assay_error_last()->message, "SECRET"));
  json_decref(config);
}

/* Long keys and values are cut in messages. */
static void long_values_are_cut(void **state) {
  (void)state;
  char big[4096];
  memset(big, 'k', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  json_t *config = json_pack("{s:{s:{s:s}}, s:{s:i}}", "connection_info", "data_file", "path",
                             "assay://files/a.csv", "data_params", big, 1);
  assert_int_equal(data_info_validate(config, "data_info", NULL), ASSAY_ERR_CONFIG);
  const char *msg = assay_error_last()->message;
  assert_non_null(strstr(msg, "unknown key"));
  assert_non_null(strstr(msg, "(4095 bytes)"));
  assert_true(strlen(msg) < 1200);
  json_decref(config);
  config = json_pack("{s:{s:{s:s}}}", "connection_info", "data_file", "path", big);
  assert_int_equal(data_info_validate(config, "data_info", NULL), ASSAY_ERR_CONFIG);
  assert_true(strlen(assay_error_last()->message) < 600);
  json_decref(config);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(table),
    cmocka_unit_test(normalized_copies),
    cmocka_unit_test(where_prefixes),
    cmocka_unit_test(kwargs_json_content_not_echoed),
    cmocka_unit_test(long_values_are_cut),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
