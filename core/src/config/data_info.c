/* config/data_info.c — validation of the registry's configs (data_info,
 * model_info, pred_info) as rime-sdk checks them, with messages that name
 * the bad key by its full path and say what was expected and what was got.
 * Each validator builds the normalized copy level by level from the values
 * it checked, so what is stored holds only known, well-typed keys
 * (optional keys given as null are left out). Contract in
 * config/data_info.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/data_info.h"
#include "config/config_util.h"
#include "engine/frame.h"
#include "internal.h"

#define LOCATION_PREFIX "assay://files/"
#define LIST_MAX 1024     /* key lists in messages */

/* --- message pieces ------------------------------------------------------------ */

/* The keys of obj joined by ", ", or "(none)". */
static void join_keys(char *buf, size_t size, const json_t *obj) {
  size_t used = 0;
  const char *key;
  json_t *v;
  buf[0] = '\0';
  json_object_foreach((json_t *)obj, key, v) {
    char shown[CONFIG_SHOW_MAX + 32];
    config__show_text(shown, sizeof shown, key);
    /* the keys themselves, without quotes when short and plain */
    const char *text = strlen(key) <= CONFIG_SHOW_MAX ? key : shown;
    int w = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", text);
    if (w < 0 || (size_t)w >= size - used) {
      if (size > 4) snprintf(buf + size - 4, 4, "...");
      return;
    }
    used += (size_t)w;
  }
  if (!used) snprintf(buf, size, "(none)");
}

/* obj must be an object holding only `expected` keys and every `required`
 * one (present; a null value is checked, as the wrong type, by the
 * caller). */
static int check_keys(const json_t *obj, const char *path, const char *const *expected,
                      const char *const *required) {
  int rc = config__known_keys(obj, path, expected);
  if (rc) return rc;
  char names[LIST_MAX], got[LIST_MAX];
  for (const char *const *r = required; r && *r; r++) {
    if (json_object_get(obj, *r)) continue;
    config__join_names(names, sizeof names, expected);
    join_keys(got, sizeof got, obj);
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: required key '%s' is missing; expected keys: %s; got: %s", path, *r,
                      names, got);
  }
  return ASSAY_OK;
}

/* --- values ---------------------------------------------------------------------- */

/* Set key in out to a new reference of v. */
static int put(json_t *out, const char *key, json_t *v) {
  return json_object_set(out, key, v) == 0 ? ASSAY_OK : assay__nomem();
}

static int put_new(json_t *out, const char *key, json_t *v) {
  if (!v) return assay__nomem();
  return json_object_set_new(out, key, v) == 0 ? ASSAY_OK : assay__nomem();
}

/* A non-empty string (a column name, an id). */
static int want_name(const json_t *v, const char *path) {
  if (!json_is_string(v))
    return assay__err(ASSAY_ERR_CONFIG, "%s: expected a non-empty string; got %s", path,
                      config__type_name(v));
  if (!json_string_length(v))
    return assay__err(ASSAY_ERR_CONFIG, "%s: expected a non-empty string; got ''", path);
  return ASSAY_OK;
}

/* A file location "assay://files/<path>"; `suffix` (may be NULL) is the
 * extension it must end with and `what` says what kind of file that is. */
static int want_location(const json_t *v, const char *path, const char *suffix,
                         const char *what) {
  if (!json_is_string(v))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected a file location of the form " LOCATION_PREFIX
                      "<path> (as upload_file returns); got %s",
                      path, config__type_name(v));
  const char *text = json_string_value(v);
  char shown[CONFIG_SHOW_MAX + 32];
  config__show_text(shown, sizeof shown, text);
  size_t plen = strlen(LOCATION_PREFIX), n = strlen(text);
  if (strncmp(text, LOCATION_PREFIX, plen) != 0 || n == plen)
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected a file location of the form " LOCATION_PREFIX
                      "<path> (as upload_file returns); got %s",
                      path, shown);
  if (suffix && (n < plen + strlen(suffix) + 1 || strcmp(text + n - strlen(suffix), suffix) != 0))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected the location of %s (" LOCATION_PREFIX "<path>%s); got %s",
                      path, what, suffix, shown);
  return ASSAY_OK;
}

static const char *const python_keywords[] = {
  "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
  "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
  "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return",
  "try", "while", "with", "yield", NULL};

/* A Python identifier (ASCII): a function name. */
static int want_identifier(const json_t *v, const char *path) {
  int rc = want_name(v, path);
  if (rc) return rc;
  const char *t = json_string_value(v);
  int ok = !(t[0] >= '0' && t[0] <= '9') && strlen(t) <= 255;
  for (const char *c = t; ok && *c; c++)
    ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
         *c == '_';
  if (ok && config__is_in(t, python_keywords)) ok = 0;
  if (ok) return ASSAY_OK;
  char shown[CONFIG_SHOW_MAX + 32];
  config__show_text(shown, sizeof shown, t);
  return assay__err(ASSAY_ERR_CONFIG,
                    "%s: expected the name of a Python function (letters, digits and '_', not "
                    "starting with a digit, not a keyword); got %s",
                    path, shown);
}

static int want_positive_int(const json_t *v, const char *path) {
  if (json_is_integer(v) && json_integer_value(v) > 0) return ASSAY_OK;
  if (json_is_integer(v))
    return assay__err(ASSAY_ERR_CONFIG, "%s: expected a positive integer; got %lld", path,
                      (long long)json_integer_value(v));
  return assay__err(ASSAY_ERR_CONFIG, "%s: expected a positive integer; got %s", path,
                    config__type_name(v));
}

/* An array of non-empty strings (column names). */
static int want_names(const json_t *v, const char *path) {
  if (!json_is_array(v))
    return assay__err(ASSAY_ERR_CONFIG, "%s: expected an array of column names (strings); got %s",
                      path, config__type_name(v));
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    if (json_is_string(e) && json_string_length(e)) continue;
    return assay__err(ASSAY_ERR_CONFIG, "%s[%zu]: expected a non-empty string; got %s", path, i,
                      json_is_string(e) ? "''" : config__type_name(e));
  }
  return ASSAY_OK;
}

/* A column name, or (the class probability columns of a multiclass model,
 * in class order) a non-empty array of distinct column names: pred_col. */
static int want_name_or_names(const json_t *v, const char *path) {
  if (json_is_string(v)) return want_name(v, path);
  if (!json_is_array(v))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected a non-empty string (the prediction column) or, for "
                      "multiclass, an array of the class probability columns in class order; "
                      "got %s",
                      path, config__type_name(v));
  if (json_array_size(v) == 0)
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected a non-empty string (the prediction column) or, for "
                      "multiclass, an array of the class probability columns in class order; "
                      "got an array with no names",
                      path);
  int rc = want_names(v, path);
  size_t i, k;
  json_t *e, *f;
  json_array_foreach(v, i, e) {
    if (rc) break;
    for (k = 0; k < i && !rc; k++) {
      f = json_array_get(v, k);
      if (strcmp(json_string_value(e), json_string_value(f)) == 0)
        rc = assay__err(ASSAY_ERR_CONFIG, "%s[%zu]: column '%s' is listed twice (also at [%zu])",
                        path, i, json_string_value(e), k);
    }
  }
  return rc;
}

/* --- data_params --------------------------------------------------------------- */

typedef enum param_type {
  P_NAME,          /* a column name */
  P_PRED_COL,      /* a column name, or an array of them (multiclass) */
  P_NAMES,         /* column names */
  P_POSITIVE_INT,
  P_BOOL,
  P_OBJECT,
  P_RANKING,       /* ranking_info */
  P_INTERSECTIONS  /* [{features: [...]}] */
} param_type;

typedef struct param_spec {
  const char *name;
  param_type type;
} param_spec;

static const param_spec data_params_spec[] = {
  {"label_col", P_NAME},
  {"timestamp_col", P_NAME},
  {"class_names", P_NAMES},
  {"pred_col", P_PRED_COL},
  {"ranking_info", P_RANKING},
  {"nrows", P_POSITIVE_INT},
  {"nrows_per_time_bin", P_POSITIVE_INT},
  {"sample", P_BOOL},
  {"categorical_features", P_NAMES},
  {"protected_features", P_NAMES},
  {"features_not_in_model", P_NAMES},
  {"text_features", P_NAMES},
  {"image_features", P_NAMES},
  {"intersections", P_INTERSECTIONS},
  {"loading_kwargs", P_OBJECT},
  {NULL, P_NAME}};

static const param_spec pred_params_spec[] = {{"pred_col", P_PRED_COL}, {NULL, P_NAME}};

static const char *const ranking_keys[] = {"query_col", "nqueries", "nrows_per_query",
                                           "drop_query_id", NULL};
static const char *const ranking_required[] = {"query_col", NULL};
static const char *const intersection_keys[] = {"features", NULL};

/* ranking_info: {query_col, nqueries?, nrows_per_query?, drop_query_id?} */
static int check_ranking(const json_t *v, const char *path, json_t **out) {
  char p[CONFIG_PATH_MAX];
  int rc = config__want_object(v, path);
  if (!rc) rc = check_keys(v, path, ranking_keys, ranking_required);
  if (!rc) rc = want_name(json_object_get(v, "query_col"), config__sub(p, path, "query_col"));
  json_t *o = rc ? NULL : json_object();
  if (!rc && !o) rc = assay__nomem();
  if (!rc) rc = put(o, "query_col", json_object_get(v, "query_col"));
  for (const char *const *k = ranking_keys + 1; !rc && *k; k++) {
    json_t *x = config__given(v, *k);
    if (!x) continue;
    config__sub(p, path, *k);
    rc = strcmp(*k, "drop_query_id") == 0 ? config__want_bool(x, p) : want_positive_int(x, p);
    if (!rc) rc = put(o, *k, x);
  }
  if (rc) {
    json_decref(o);
    return rc;
  }
  *out = o;
  return ASSAY_OK;
}

/* intersections: [{features: [column, ...]}, ...] */
static int check_intersections(const json_t *v, const char *path, json_t **out) {
  if (!json_is_array(v))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected an array of objects {\"features\": [column names]}; got %s",
                      path, config__type_name(v));
  json_t *arr = json_array();
  if (!arr) return assay__nomem();
  size_t i;
  json_t *e;
  int rc = ASSAY_OK;
  json_array_foreach(v, i, e) {
    char at[CONFIG_PATH_MAX], p[CONFIG_PATH_MAX];
    config__item(at, path, i);
    rc = config__want_object(e, at);
    if (!rc) rc = check_keys(e, at, intersection_keys, intersection_keys);
    json_t *features = json_object_get(e, "features");
    if (!rc) rc = want_names(features, config__sub(p, at, "features"));
    if (!rc && json_array_size(features) == 0)
      rc = assay__err(ASSAY_ERR_CONFIG, "%s: expected at least one column name; got []", p);
    if (!rc && json_array_append_new(arr, json_pack("{s:O}", "features", features)) != 0)
      rc = assay__nomem();
    if (rc) break;
  }
  if (rc) {
    json_decref(arr);
    return rc;
  }
  *out = arr;
  return ASSAY_OK;
}

/* data_params / pred_params: each key of `spec`, typed. */
static int check_params(const json_t *v, const char *path, const param_spec *spec,
                        json_t **out) {
  const char *names[32];
  size_t n = 0;
  for (const param_spec *s = spec; s->name && n < 31; s++) names[n++] = s->name;
  names[n] = NULL;
  int rc = config__want_object(v, path);
  if (!rc) rc = check_keys(v, path, names, NULL);
  if (rc) return rc;
  json_t *o = json_object();
  if (!o) return assay__nomem();
  for (const param_spec *s = spec; !rc && s->name; s++) {
    json_t *x = config__given(v, s->name), *norm = NULL;
    if (!x) continue;
    char p[CONFIG_PATH_MAX];
    config__sub(p, path, s->name);
    switch (s->type) {
    case P_NAME: rc = want_name(x, p); break;
    case P_PRED_COL: rc = want_name_or_names(x, p); break;
    case P_NAMES: rc = want_names(x, p); break;
    case P_POSITIVE_INT: rc = want_positive_int(x, p); break;
    case P_BOOL: rc = config__want_bool(x, p); break;
    case P_OBJECT: rc = config__want_object(x, p); break;
    case P_RANKING: rc = check_ranking(x, p, &norm); break;
    case P_INTERSECTIONS: rc = check_intersections(x, p, &norm); break;
    }
    if (!rc) rc = norm ? put_new(o, s->name, norm) : put(o, s->name, x);
  }
  if (rc) {
    json_decref(o);
    return rc;
  }
  *out = o;
  return ASSAY_OK;
}

/* --- connection_info ------------------------------------------------------------- */

static const char *const connection_types[] = {"data_file", "data_loading", NULL};
static const char *const data_file_keys[] = {"path", "data_type", NULL};
static const char *const data_file_required[] = {"path", NULL};
static const char *const data_loading_keys[] = {
  "path", "load_func_name", "loader_kwargs_json", "loader_kwargs",
  "data_endpoint_integration_id", NULL};
static const char *const data_loading_required[] = {"path", "load_func_name", NULL};

/* data_type spellings: the canonical name first. */
static const struct {
  const char *type, *alias, *ext[3];
} data_types[] = {
  {"csv", "DATA_TYPE_CSV", {".csv", NULL, NULL}},
  {"parquet", "DATA_TYPE_PARQUET", {".parquet", ".pq", NULL}},
  {"json", "DATA_TYPE_JSON", {".json", NULL, NULL}},
  {"jsonl", "DATA_TYPE_JSONL", {".jsonl", ".ndjson", NULL}},
};
#define N_DATA_TYPES (sizeof data_types / sizeof data_types[0])

static int ends_with_ci(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n > m && strcasecmp(s + n - m, suffix) == 0;
}

/* data_file: {path, data_type?}; data_type normalized to csv | parquet |
 * json | jsonl, from the path's extension when not given. */
static int check_data_file(const json_t *v, const char *path, json_t **out) {
  char p[CONFIG_PATH_MAX];
  int rc = config__want_object(v, path);
  if (!rc) rc = check_keys(v, path, data_file_keys, data_file_required);
  json_t *loc = json_object_get(v, "path");
  if (!rc) rc = want_location(loc, config__sub(p, path, "path"), NULL, NULL);
  if (rc) return rc;
  const char *type = NULL;
  json_t *dt = config__given(v, "data_type");
  config__sub(p, path, "data_type");
  if (dt) {
    const char *t = json_string_value(dt);
    for (size_t i = 0; t && i < N_DATA_TYPES && !type; i++)
      if (strcasecmp(t, data_types[i].type) == 0 || strcmp(t, data_types[i].alias) == 0)
        type = data_types[i].type;
    if (!type) {
      char shown[CONFIG_SHOW_MAX + 32];
      if (t) config__show_text(shown, sizeof shown, t);
      return assay__err(ASSAY_ERR_CONFIG,
                        "%s: expected one of csv, parquet, json, jsonl (or DATA_TYPE_CSV, "
                        "DATA_TYPE_PARQUET, DATA_TYPE_JSON, DATA_TYPE_JSONL); got %s",
                        p, t ? shown : config__type_name(dt));
    }
  } else {
    const char *name = json_string_value(loc);
    for (size_t i = 0; i < N_DATA_TYPES && !type; i++)
      for (size_t e = 0; e < 3 && data_types[i].ext[e] && !type; e++)
        if (ends_with_ci(name, data_types[i].ext[e])) type = data_types[i].type;
    if (!type) {
      char shown[CONFIG_SHOW_MAX + 32];
      config__show_text(shown, sizeof shown, name);
      return assay__err(ASSAY_ERR_CONFIG,
                        "%s: cannot tell the file's type from its name %s (expected an "
                        "extension .csv, .parquet, .pq, .json, .jsonl or .ndjson); give "
                        "data_type: one of csv, parquet, json, jsonl",
                        p, shown);
    }
  }
  *out = json_pack("{s:O, s:s}", "path", loc, "data_type", type);
  return *out ? ASSAY_OK : assay__nomem();
}

/* What a JSON parse error was, without quoting the text. */
static const char *json_problem(const json_error_t *e) {
  switch (json_error_code(e)) {
  case json_error_premature_end_of_input: return "the text ends too early";
  case json_error_end_of_input_expected: return "there is more after the value";
  case json_error_invalid_utf8: return "the text is not valid UTF-8";
  case json_error_null_character: return "the text holds a NUL character";
  case json_error_duplicate_key: return "a key appears twice";
  case json_error_numeric_overflow: return "a number is out of range";
  case json_error_invalid_syntax:
  case json_error_invalid_format:
  default: return "invalid syntax";
  }
}

/* data_loading: {path, load_func_name, loader_kwargs_json? | loader_kwargs?,
 * data_endpoint_integration_id?}; loader_kwargs_json decoded into
 * loader_kwargs (always present in the copy: {} when neither is given). */
static int check_data_loading(const json_t *v, const char *path, json_t **out) {
  char p[CONFIG_PATH_MAX];
  int rc = config__want_object(v, path);
  if (!rc) rc = check_keys(v, path, data_loading_keys, data_loading_required);
  if (!rc)
    rc = want_location(json_object_get(v, "path"), config__sub(p, path, "path"), ".py",
                       "a Python file");
  if (!rc)
    rc = want_identifier(json_object_get(v, "load_func_name"),
                         config__sub(p, path, "load_func_name"));
  json_t *integ = config__given(v, "data_endpoint_integration_id");
  if (!rc && integ) rc = want_name(integ, config__sub(p, path, "data_endpoint_integration_id"));
  if (rc) return rc;

  json_t *kw_json = config__given(v, "loader_kwargs_json"), *kw = config__given(v, "loader_kwargs");
  json_t *kwargs = NULL;
  if (kw_json && kw)
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: give loader_kwargs_json (a JSON text) or loader_kwargs (an object), "
                      "not both",
                      path);
  if (kw_json) {
    config__sub(p, path, "loader_kwargs_json");
    if (!json_is_string(kw_json))
      return assay__err(ASSAY_ERR_CONFIG,
                        "%s: expected a string holding a JSON object; got %s", p,
                        config__type_name(kw_json));
    json_error_t e;
    kwargs = json_loadb(json_string_value(kw_json), json_string_length(kw_json),
                        JSON_REJECT_DUPLICATES, &e);
    if (!kwargs)
      return assay__err(ASSAY_ERR_CONFIG,
                        "%s: expected a string holding a JSON object; it is not valid JSON: %s "
                        "(line %d, column %d, character %d)",
                        p, json_problem(&e), e.line, e.column, e.position);
    if (!json_is_object(kwargs)) {
      int err = assay__err(ASSAY_ERR_CONFIG,
                           "%s: expected a string holding a JSON object; it holds %s", p,
                           config__type_name(kwargs));
      json_decref(kwargs);
      return err;
    }
  } else if (kw) {
    config__sub(p, path, "loader_kwargs");
    if (!json_is_object(kw))
      return assay__err(ASSAY_ERR_CONFIG, "%s: expected an object of keyword arguments; got %s",
                        p, config__type_name(kw));
    kwargs = json_deep_copy(kw);
    if (!kwargs) return assay__nomem();
  } else {
    config__sub(p, path, "loader_kwargs");
    kwargs = json_object();
    if (!kwargs) return assay__nomem();
  }
  if (json_object_get(kwargs, "integration_dict")) {
    json_decref(kwargs);
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: must not hold 'integration_dict': the platform passes it, from the "
                      "integration named by data_endpoint_integration_id",
                      p);
  }
  json_t *o = json_pack("{s:O, s:O, s:o}", "path", json_object_get(v, "path"), "load_func_name",
                        json_object_get(v, "load_func_name"), "loader_kwargs", kwargs);
  if (!o) return assay__nomem();
  if (integ && json_object_set(o, "data_endpoint_integration_id", integ) != 0) {
    json_decref(o);
    return assay__nomem();
  }
  *out = o;
  return ASSAY_OK;
}

/* connection_info: exactly one known type. */
static int check_connection(const json_t *v, const char *path, json_t **out) {
  char names[LIST_MAX], got[LIST_MAX];
  int rc = config__want_object(v, path);
  if (rc) return rc;
  config__join_names(names, sizeof names, connection_types);
  size_t n = json_object_size(v);
  if (n != 1) {
    join_keys(got, sizeof got, v);
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected exactly one connection type of: %s; got %zu: %s", path,
                      names, n, got);
  }
  const char *type = json_object_iter_key(json_object_iter((json_t *)v));
  json_t *conf = json_object_get(v, type);
  if (!config__is_in(type, connection_types)) {
    char shown[CONFIG_SHOW_MAX + 32];
    config__show_text(shown, sizeof shown, type);
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: unknown connection type %s; expected exactly one of: %s", path, shown,
                      names);
  }
  char p[CONFIG_PATH_MAX];
  json_t *norm = NULL;
  config__sub(p, path, type);
  rc = strcmp(type, "data_file") == 0 ? check_data_file(conf, p, &norm)
                                      : check_data_loading(conf, p, &norm);
  if (rc) return rc;
  *out = json_pack("{s:o}", type, norm);
  return *out ? ASSAY_OK : assay__nomem();
}

/* {connection_info, <params_key>?} */
static int check_config(const json_t *info, const char *where, const char *params_key,
                        const param_spec *params_spec, json_t **normalized) {
  const char *keys[] = {"connection_info", params_key, NULL};
  static const char *const required[] = {"connection_info", NULL};
  char p[CONFIG_PATH_MAX];
  json_t *conn = NULL, *params = NULL;
  if (normalized) *normalized = NULL;
  if (!where || !*where) where = "data_info";
  if (!info || !json_is_object(info))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected an object {\"connection_info\": {...}, \"%s\": {...}}; got %s",
                      where, params_key, config__type_name(info));
  int rc = check_keys(info, where, keys, required);
  if (!rc) rc = check_connection(json_object_get(info, "connection_info"),
                                 config__sub(p, where, "connection_info"), &conn);
  json_t *pv = config__given(info, params_key);
  if (!rc && pv) rc = check_params(pv, config__sub(p, where, params_key), params_spec, &params);
  if (rc) {
    json_decref(conn);
    return rc;
  }
  json_t *o = json_pack("{s:o, s:o*}", "connection_info", conn, params_key, params);
  if (!o) return assay__nomem();
  if (normalized) *normalized = o;
  else json_decref(o);
  return ASSAY_OK;
}

/* The native CSV reader's loading_kwargs are known now: check them at
 * registration rather than at the first load. */
static int check_csv_kwargs(json_t *norm, const char *where, const char *params_key) {
  const json_t *conn = NULL;
  const char *type = data_info_connection(norm, &conn);
  const char *data_type = json_string_value(json_object_get(conn, "data_type"));
  json_t *kw = json_object_get(json_object_get(norm, params_key), "loading_kwargs");
  if (!type || strcmp(type, "data_file") != 0 || !data_type || strcmp(data_type, "csv") != 0 ||
      !kw)
    return ASSAY_OK;
  csv_options o;
  if (csv_options_from_json(&o, kw) == ASSAY_OK) return ASSAY_OK;
  const assay_error *e = assay_error_last();
  return assay__err(ASSAY_ERR_CONFIG, "%s.%s.%s", where, params_key,
                    e && e->message ? e->message : "loading_kwargs: not valid for CSV");
}

static int validate(const json_t *info, const char *where, const char *params_key,
                    const param_spec *spec, json_t **normalized) {
  json_t *norm = NULL;
  int rc = check_config(info, where, params_key, spec, &norm);
  if (!rc) rc = check_csv_kwargs(norm, where, params_key);
  if (rc || !normalized) json_decref(norm);
  else *normalized = norm;
  return rc;
}

int data_info_validate(const json_t *data_info, const char *where, json_t **normalized) {
  if (normalized) *normalized = NULL;
  return validate(data_info, where, "data_params", data_params_spec, normalized);
}

int pred_info_validate(const json_t *pred_info, json_t **normalized) {
  if (normalized) *normalized = NULL;
  return validate(pred_info, "pred_info", "pred_params", pred_params_spec, normalized);
}

/* --- model_info -------------------------------------------------------------------- */

static const char *const model_types[] = {"model_path", "hugging_face", "model_loading", NULL};
static const char *const model_path_keys[] = {"path", NULL};
static const char *const hugging_face_keys[] = {"model_uri", "kwargs", NULL};
static const char *const hugging_face_required[] = {"model_uri", NULL};
static const char *const model_loading_keys[] = {"path", "load_func_name", "params", NULL};
static const char *const model_loading_required[] = {"path", NULL};

static int check_model(const char *type, const json_t *v, const char *path, json_t **out) {
  char p[CONFIG_PATH_MAX];
  int rc = config__want_object(v, path);
  if (rc) return rc;
  json_t *o = NULL;
  if (strcmp(type, "model_path") == 0) {
    rc = check_keys(v, path, model_path_keys, model_path_keys);
    if (!rc)
      rc = want_location(json_object_get(v, "path"), config__sub(p, path, "path"), NULL, NULL);
    if (!rc) o = json_pack("{s:O}", "path", json_object_get(v, "path"));
  } else if (strcmp(type, "hugging_face") == 0) {
    rc = check_keys(v, path, hugging_face_keys, hugging_face_required);
    if (!rc) rc = want_name(json_object_get(v, "model_uri"), config__sub(p, path, "model_uri"));
    json_t *kw = config__given(v, "kwargs");
    if (!rc && kw) rc = config__want_object(kw, config__sub(p, path, "kwargs"));
    if (!rc)
      o = json_pack("{s:O, s:o}", "model_uri", json_object_get(v, "model_uri"), "kwargs",
                    kw ? json_incref(kw) : json_object());
  } else {
    rc = check_keys(v, path, model_loading_keys, model_loading_required);
    if (!rc)
      rc = want_location(json_object_get(v, "path"), config__sub(p, path, "path"), ".py",
                         "a Python file");
    json_t *fn = config__given(v, "load_func_name"), *params = config__given(v, "params");
    if (!rc && fn) rc = want_identifier(fn, config__sub(p, path, "load_func_name"));
    if (!rc && params) rc = config__want_object(params, config__sub(p, path, "params"));
    if (!rc) o = json_pack("{s:O}", "path", json_object_get(v, "path"));
    if (o && fn && json_object_set(o, "load_func_name", fn) != 0) rc = assay__nomem();
    if (o && !rc && params && json_object_set(o, "params", params) != 0) rc = assay__nomem();
  }
  if (!rc && !o) rc = assay__nomem();
  if (rc) {
    json_decref(o);
    return rc;
  }
  *out = o;
  return ASSAY_OK;
}

int model_info_validate(const json_t *model_info, json_t **normalized) {
  const char *path = "model_info";
  char names[LIST_MAX], got[LIST_MAX];
  if (normalized) *normalized = NULL;
  if (!model_info || json_is_null(model_info)) {
    if (normalized) *normalized = json_null();
    return ASSAY_OK;
  }
  config__join_names(names, sizeof names, model_types);
  if (!json_is_object(model_info))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected null (no model) or an object with exactly one of: %s; got %s",
                      path, names, config__type_name(model_info));
  size_t n = json_object_size(model_info);
  if (n != 1) {
    join_keys(got, sizeof got, model_info);
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s: expected null (no model) or exactly one of: %s; got %zu: %s", path,
                      names, n, got);
  }
  const char *type = json_object_iter_key(json_object_iter((json_t *)model_info));
  if (!config__is_in(type, model_types)) {
    char shown[CONFIG_SHOW_MAX + 32];
    config__show_text(shown, sizeof shown, type);
    return assay__err(ASSAY_ERR_CONFIG, "%s: unknown model type %s; expected exactly one of: %s",
                      path, shown, names);
  }
  char p[CONFIG_PATH_MAX];
  json_t *norm = NULL;
  int rc = check_model(type, json_object_get(model_info, type), config__sub(p, path, type), &norm);
  if (rc) return rc;
  json_t *o = json_pack("{s:o}", type, norm);
  if (!o) return assay__nomem();
  if (normalized) *normalized = o;
  else json_decref(o);
  return ASSAY_OK;
}

const char *data_info_connection(const json_t *normalized, const json_t **conn) {
  const json_t *ci = json_object_get(normalized, "connection_info");
  if (conn) *conn = NULL;
  for (const char *const *t = connection_types; ci && *t; t++) {
    const json_t *c = json_object_get(ci, *t);
    if (c) {
      if (conn) *conn = c;
      return *t;
    }
  }
  return NULL;
}
