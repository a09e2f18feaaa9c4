/* engine/load.c — a registered entry's rows as a frame (contract in
 * load.h): the plan of a load (what files it reads, resolved in the
 * workspace, and its cache key), the cache under <home>/cache/, and the
 * three ways to load: a CSV natively, Parquet / JSON / JSONL through the
 * runner's "read" mode, a custom loader through its "load" mode (with the
 * submitting user's integration_dict, wiped after the run). */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "config/data_info.h"
#include "engine/load.h"
#include "integration/integration.h"
#include "platform/files.h"

/* What a load reads and where its cache entry is. */
typedef struct load_plan {
  const char *kind;         /* "data_file" or "data_loading" */
  const json_t *conn;       /* its connection object */
  const char *data_type;    /* data_file: csv | parquet | json | jsonl */
  char *file;               /* absolute path of the data or loader file */
  char file_hash[65];       /* its content hash as recorded at upload */
  char folder_hash[65];     /* data_loading: the hash of every file in the loader's
                               folder (its cwd and sys.path entry), or "" */
  const char *integration_id; /* data_loading: the integration to resolve, or NULL */
  int per_user;             /* it holds a members-level variable: the key has the user */
  int64_t nrows;            /* data_params.nrows; 0: all */
  const json_t *loading_kwargs; /* data_params.loading_kwargs, or NULL */
  char *cache_path;         /* <home>/cache/<dataset_id>/<key>.acol */
} load_plan;

static void plan_clear(load_plan *pl) {
  free(pl->file);
  free(pl->cache_path);
  memset(pl, 0, sizeof *pl);
}

static const char *text_of(const json_t *obj, const char *field) {
  return json_string_value(json_object_get(obj, field));
}

/* A cache folder name: letters, digits, '-' and '_' only. */
static int check_id(const char *id) {
  size_t n = id ? strlen(id) : 0;
  if (n == 0 || n > 64)
    return assay__err(ASSAY_ERR_CONFIG, "dataset_load: a dataset id (1..64 characters) is "
                                        "required");
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '-' || c == '_'))
      return assay__err(ASSAY_ERR_CONFIG,
                        "dataset id '%s' may hold only letters, digits, '-' and '_'", id);
  }
  return ASSAY_OK;
}

static void hash_text(crypto_generichash_state *h, const char *label, const char *text) {
  crypto_generichash_update(h, (const unsigned char *)label, strlen(label) + 1);
  if (text) crypto_generichash_update(h, (const unsigned char *)text, strlen(text));
  crypto_generichash_update(h, (const unsigned char *)"\n", 1);
}

static int ends_with(const char *s, const char *end) {
  size_t n = strlen(s), m = strlen(end);
  return n >= m && strcasecmp(s + n - m, end) == 0;
}

/* A data file's type: as given (csv, DATA_TYPE_CSV, ...), else from the
 * path's extension as data_info_validate() fills it in, else csv. */
static const char *data_type_of(const char *given, const char *path) {
  static const char *const types[] = {"parquet", "jsonl", "json", "csv"};
  for (int i = 0; given && i < 4; i++) {
    if (strcasecmp(given, types[i]) == 0 ||
        (strncmp(given, "DATA_TYPE_", 10) == 0 && strcasecmp(given + 10, types[i]) == 0))
      return types[i];
  }
  if (path && (ends_with(path, ".parquet") || ends_with(path, ".pq"))) return "parquet";
  if (path && (ends_with(path, ".jsonl") || ends_with(path, ".ndjson"))) return "jsonl";
  if (path && ends_with(path, ".json")) return "json";
  return "csv";
}

/* *yes = 1 when integration_id has a members-level (SENSITIVITY_USER)
 * variable: each member's integration_dict differs. */
static int holds_member_values(store *s, const char *integration_id, int *yes) {
  *yes = 0;
  json_t *rec = NULL, *v;
  size_t i;
  int rc = s->ops->integration_get(s, integration_id, &rec);
  if (rc) return rc;
  json_array_foreach(json_object_get(rec, "variables"), i, v) {
    const char *sens = text_of(v, "sensitivity");
    if (sens && strcmp(sens, SENSITIVITY_USER) == 0) *yes = 1;
  }
  json_decref(rec);
  return ASSAY_OK;
}

/* The content hash of the folder holding the file at `location` (every
 * file under it, files_content_hash); "" for a location without a folder. */
static int folder_hash(store *s, const char *workspace_id, const char *location, char out[65]) {
  out[0] = '\0';
  const char *slash = strrchr(location, '/');
  size_t pre = strlen(FILES_LOCATION_PREFIX);
  if (!slash || (size_t)(slash - location) <= pre) return ASSAY_OK;
  char *folder = strndup(location, (size_t)(slash - location));
  if (!folder) return assay__nomem();
  int rc = files_content_hash(s, workspace_id, folder, out);
  free(folder);
  return rc;
}

/* Resolve the files of the request and compute its cache key. */
static int plan_make(assay_platform *p, const load_request *req, load_plan *pl) {
  memset(pl, 0, sizeof *pl);
  int rc = check_id(req->dataset_id);
  if (rc) return rc;
  if (!req->workspace_id || !*req->workspace_id || !json_is_object(req->info))
    return assay__err(ASSAY_ERR_CONFIG, "dataset_load: a workspace and a normalized config "
                                        "are required");
  pl->kind = data_info_connection(req->info, &pl->conn);
  if (!pl->kind)
    return assay__err(ASSAY_ERR_CONFIG,
                      "the config has no connection_info with data_file or data_loading");
  const json_t *params = json_object_get(req->info, "data_params");
  json_t *nrows = json_object_get(params, "nrows");
  if (json_is_integer(nrows) && json_integer_value(nrows) > 0)
    pl->nrows = (int64_t)json_integer_value(nrows);
  pl->loading_kwargs = json_object_get(params, "loading_kwargs");
  if (pl->loading_kwargs && !json_is_object(pl->loading_kwargs)) pl->loading_kwargs = NULL;
  int is_file = strcmp(pl->kind, "data_file") == 0;
  if (is_file) {
    pl->data_type = data_type_of(text_of(pl->conn, "data_type"), text_of(pl->conn, "path"));
  } else {
    pl->integration_id = text_of(pl->conn, "data_endpoint_integration_id");
    if (!pl->integration_id || !*pl->integration_id) pl->integration_id = req->integration_id;
    if (pl->integration_id && !*pl->integration_id) pl->integration_id = NULL;
  }
  const char *location = text_of(pl->conn, "path");
  if (!location)
    return assay__err(ASSAY_ERR_CONFIG, "the config's %s has no path", pl->kind);

  store *s = NULL;
  rc = platform_store_acquire(p, &s);
  if (!rc) rc = files_resolve(p, s, req->workspace_id, location, &pl->file);
  if (!rc) rc = files_content_hash(s, req->workspace_id, location, pl->file_hash);
  if (!rc && !is_file) rc = folder_hash(s, req->workspace_id, location, pl->folder_hash);
  if (!rc && pl->integration_id) rc = holds_member_values(s, pl->integration_id, &pl->per_user);
  platform_store_release(p, s);
  if (rc) return rc;

  /* key = BLAKE2b(normalized config, the record's integration, the file's
   * content hash, for a loader the hash of its whole folder (a changed
   * module or data file beside it changes what it returns), the window —
   * a data file's rows do not depend on it —
   * and, when the loader gets a member's own values, that member: what
   * one member's credentials may read at the source is not another's) */
  char *info = json_dumps(req->info, JSON_SORT_KEYS | JSON_COMPACT);
  if (!info) return assay__nomem();
  char window[64] = "none";
  if (!is_file && req->window.has_window)
    snprintf(window, sizeof window, "%lld,%lld", (long long)req->window.start_time,
             (long long)req->window.end_time);
  crypto_generichash_state h;
  unsigned char key[32];
  crypto_generichash_init(&h, NULL, 0, sizeof key);
  hash_text(&h, "assay-load-cache-1", NULL);
  hash_text(&h, "info", info);
  hash_text(&h, "integration", req->integration_id);
  hash_text(&h, "file", pl->file_hash);
  if (!is_file) hash_text(&h, "folder", pl->folder_hash);
  hash_text(&h, "window", window);
  if (pl->per_user) hash_text(&h, "user", req->user_id ? req->user_id : "");
  crypto_generichash_final(&h, key, sizeof key);
  free(info);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, key, sizeof key);
  if (asprintf(&pl->cache_path, "%s/cache/%s/%s.acol", assay_platform_home(p), req->dataset_id,
               hex) < 0) {
    pl->cache_path = NULL;
    return assay__nomem();
  }
  return ASSAY_OK;
}

int dataset_cache_path(assay_platform *p, const load_request *req, char **path) {
  load_plan pl;
  int rc = plan_make(p, req, &pl);
  if (!rc) {
    *path = pl.cache_path;
    pl.cache_path = NULL;
  }
  plan_clear(&pl);
  return rc;
}

/* --- folders ----------------------------------------------------------------------- */

static int make_dir(const char *path) {
  if (mkdir(path, 0700) != 0 && errno != EEXIST)
    return assay__err(ASSAY_ERR_STORE, "cannot create %s: %s", path, strerror(errno));
  return ASSAY_OK;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  if (remove(path) != 0 && errno != ENOENT) return -1;
  return 0;
}

int load_rm_tree(const char *path) {
  struct stat st;
  if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
  return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 ? -1 : 0;
}

int load_scratch_new(assay_platform *p, char **out) {
  char *root = NULL, *dir = NULL, id[37];
  *out = NULL;
  if (asprintf(&root, "%s/scratch", assay_platform_home(p)) < 0) return assay__nomem();
  int rc = make_dir(root);
  assay__uuid(id);
  if (!rc && asprintf(&dir, "%s/%s", root, id) < 0) {
    dir = NULL;
    rc = assay__nomem();
  }
  free(root);
  if (!rc && mkdir(dir, 0700) != 0)
    rc = assay__err(ASSAY_ERR_STORE, "cannot create %s: %s", dir, strerror(errno));
  if (rc) {
    free(dir);
    return rc;
  }
  *out = dir;
  return ASSAY_OK;
}

/* --- loading ----------------------------------------------------------------------- */

static int load_csv(const load_plan *pl, frame **out) {
  csv_options o = CSV_OPTIONS_INIT;
  int rc = pl->loading_kwargs ? csv_options_from_json(&o, pl->loading_kwargs) : ASSAY_OK;
  if (rc) return rc;
  if (pl->nrows > 0 && (o.nrows <= 0 || pl->nrows < o.nrows)) o.nrows = pl->nrows;
  return csv_read(out, pl->file, &o);
}

/* Run the runner with request `r` (stolen) in a fresh scratch folder. */
static int run_in_scratch(assay_platform *p, const load_request *req, json_t *r, frame **out) {
  char *dir = NULL;
  int rc = load_scratch_new(p, &dir);
  if (!rc && json_object_set_new(r, "output_dir", json_string(dir)) != 0) rc = assay__nomem();
  runner_config cfg = *platform_runner(p);
  cfg.cancel = req->cancel;
  if (!rc) rc = runner_run(&cfg, r, req->log, req->log_ctx, out);
  json_decref(r); /* before the dict is wiped: the request holds a reference */
  if (dir) (void)load_rm_tree(dir); /* best effort (it is scratch); sets no error */
  free(dir);
  if (!rc) assay_error_clear();
  return rc;
}

static int load_read(assay_platform *p, const load_request *req, const load_plan *pl,
                     frame **out) {
  json_t *kw = pl->loading_kwargs ? json_deep_copy(pl->loading_kwargs) : json_object();
  json_t *r = json_pack("{s:s, s:s, s:s, s:o}", "mode", "read", "path", pl->file, "format",
                        pl->data_type, "loading_kwargs", kw);
  if (!r) return assay__nomem();
  if (pl->nrows > 0 && json_object_set_new(r, "nrows", json_integer(pl->nrows)) != 0) {
    json_decref(r);
    return assay__nomem();
  }
  return run_in_scratch(p, req, r, out);
}

int load_public_names(assay_platform *p, const char *integration_id, json_t **names) {
  *names = NULL;
  store *s = NULL;
  json_t *rec = NULL;
  int rc = platform_store_acquire(p, &s);
  if (!rc) rc = s->ops->integration_get(s, integration_id, &rec);
  platform_store_release(p, s);
  if (rc) return rc;
  json_t *out = json_array(), *v;
  size_t i;
  rc = out ? ASSAY_OK : assay__nomem();
  json_array_foreach(json_object_get(rec, "variables"), i, v) {
    const char *sens = text_of(v, "sensitivity");
    if (!rc && sens && strcmp(sens, "VARIABLE_SENSITIVITY_PUBLIC") == 0 &&
        json_array_append(out, json_object_get(v, "name")) != 0)
      rc = assay__nomem();
  }
  json_decref(rec);
  if (rc) {
    json_decref(out);
    return rc;
  }
  *names = out;
  return ASSAY_OK;
}

static int load_custom(assay_platform *p, const load_request *req, const load_plan *pl,
                       frame **out) {
  const json_t *kwargs = json_object_get(pl->conn, "loader_kwargs");
  json_t *decoded = NULL;
  const char *kw_json = text_of(pl->conn, "loader_kwargs_json");
  if (!kwargs && kw_json) { /* a config that was not normalized */
    decoded = json_loads(kw_json, 0, NULL);
    if (!json_is_object(decoded)) {
      json_decref(decoded);
      return assay__err(ASSAY_ERR_CONFIG, "loader_kwargs_json must hold a JSON object");
    }
    kwargs = decoded;
  }
  json_t *r = json_pack("{s:s, s:s, s:s?}", "mode", "load", "path", pl->file, "function",
                        text_of(pl->conn, "load_func_name"));
  int rc = r ? ASSAY_OK : assay__nomem();
  if (!rc && json_object_set_new(r, "kwargs", kwargs ? json_deep_copy(kwargs) : json_object()))
    rc = assay__nomem();
  if (!rc) {
    const load_window *w = &req->window;
    json_t *st = w->has_window ? json_integer(w->start_time) : json_null();
    json_t *en = w->has_window ? json_integer(w->end_time) : json_null();
    if (json_object_set_new(r, "start_time", st) || json_object_set_new(r, "end_time", en))
      rc = assay__nomem();
  }
  if (!rc && pl->nrows > 0 && json_object_set_new(r, "nrows", json_integer(pl->nrows)))
    rc = assay__nomem();
  json_decref(decoded);
  json_t *dict = NULL; /* resolved here: wiped after the run */
  if (!rc && pl->integration_id) {
    if (req->integration_dict) {
      if (json_object_set(r, "integration_dict", (json_t *)req->integration_dict) != 0)
        rc = assay__nomem();
    } else {
      store *s = NULL;
      rc = platform_store_acquire(p, &s);
      if (!rc) rc = integration_resolve(p, s, pl->integration_id, req->user_id, &dict);
      platform_store_release(p, s);
      if (!rc && json_object_set(r, "integration_dict", dict) != 0) rc = assay__nomem();
    }
    json_t *names = NULL;
    if (!rc) rc = load_public_names(p, pl->integration_id, &names);
    if (!rc && json_object_set_new(r, "public_names", names) != 0) rc = assay__nomem();
  }
  if (rc) {
    json_decref(r);
    integration_dict_free(dict);
    return rc;
  }
  rc = run_in_scratch(p, req, r, out); /* drops r and with it its reference */
  integration_dict_free(dict);
  return rc;
}

/* Write the cache entry; a failure leaves no entry and no error. */
static void cache_write(assay_platform *p, const char *dataset_id, const load_plan *pl,
                        const frame *f) {
  char *dir = NULL;
  if (asprintf(&dir, "%s/cache", assay_platform_home(p)) < 0) return;
  int rc = make_dir(dir);
  free(dir);
  if (!rc && asprintf(&dir, "%s/cache/%s", assay_platform_home(p), dataset_id) >= 0) {
    rc = make_dir(dir);
    free(dir);
    if (!rc) (void)frame_write(f, pl->cache_path);
  }
  assay_error_clear();
}

int dataset_load(assay_platform *p, const load_request *req, frame **out, int *cached) {
  if (cached) *cached = 0;
  *out = NULL;
  if (!p || !req) return assay__err(ASSAY_ERR_CONFIG, "dataset_load: no platform or request");
  load_plan pl;
  int rc = plan_make(p, req, &pl);
  if (rc) {
    plan_clear(&pl);
    return rc;
  }
  if (req->use_cache && access(pl.cache_path, F_OK) == 0) {
    frame *f = NULL;
    if (frame_map(&f, pl.cache_path) == ASSAY_OK) {
      plan_clear(&pl);
      *out = f;
      if (cached) *cached = 1;
      return ASSAY_OK;
    }
    (void)unlink(pl.cache_path); /* damaged: load again */
    assay_error_clear();
  }
  frame *f = NULL;
  if (strcmp(pl.kind, "data_loading") == 0) rc = load_custom(p, req, &pl, &f);
  else if (strcmp(pl.data_type, "csv") == 0) rc = load_csv(&pl, &f);
  else rc = load_read(p, req, &pl, &f);
  if (!rc && req->use_cache) cache_write(p, req->dataset_id, &pl, f);
  plan_clear(&pl);
  if (rc) {
    frame_free(f);
    return rc;
  }
  *out = f;
  return ASSAY_OK;
}

int dataset_cache_drop(assay_platform *p, const char *dataset_id) {
  int rc = check_id(dataset_id);
  if (rc) return rc;
  char *dir = NULL;
  if (asprintf(&dir, "%s/cache/%s", assay_platform_home(p), dataset_id) < 0)
    return assay__nomem();
  if (load_rm_tree(dir) != 0)
    rc = assay__err(ASSAY_ERR_STORE, "cannot remove %s: %s", dir, strerror(errno));
  free(dir);
  return rc;
}
