/* engine/debug.c — support for the internal `assay debug read-csv` and
 * `assay debug run-loader` commands: read a CSV natively (or run a loader
 * through the runner), profile it, and describe the result as JSON (used by
 * tests comparing the reader with pandas and by bench/bench_load.py). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine/frame_impl.h"
#include "internal.h"
#include "runner/runner.h"

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Row i of c as JSON. */
static json_t *cell(const column *c, int64_t i) {
  if (!col_valid(c, i)) return json_null();
  char buf[64];
  switch (c->type) {
    case COL_INT64: return json_integer((json_int_t)((const int64_t *)c->values)[i]);
    case COL_FLOAT64: {
      double v = ((const double *)c->values)[i];
      if (isinf(v)) return json_string(v < 0 ? "-inf" : "inf");
      return json_real(v);
    }
    case COL_BOOL: return json_boolean(((const uint8_t *)c->values)[i]);
    case COL_TIMESTAMP:
      fx_format_timestamp(((const int64_t *)c->values)[i], buf);
      return json_string(buf);
    case COL_STRING: {
      int32_t code = ((const int32_t *)c->values)[i];
      int64_t a = c->dict_offsets[code], b = c->dict_offsets[code + 1];
      return json_stringn(c->dict_data + a, (size_t)(b - a));
    }
  }
  return json_null();
}

int assay__debug_read_csv(const char *path, int64_t nrows, int64_t head_rows, char **out_json) {
  *out_json = NULL;
  csv_options o = CSV_OPTIONS_INIT;
  o.nrows = nrows;
  frame *f = NULL;
  double t0 = now_seconds();
  int rc = csv_read(&f, path, &o);
  if (rc) return rc;
  double t1 = now_seconds();
  json_t *profile = NULL;
  rc = frame_profile(f, &profile);
  double t2 = now_seconds();
  if (rc) {
    frame_free(f);
    return rc;
  }
  json_t *res = json_pack("{s:I,s:i,s:f,s:f,s:o}", "rows", (json_int_t)f->rows, "columns",
                          f->ncols, "read_seconds", t1 - t0, "profile_seconds", t2 - t1,
                          "profile", profile);
  if (res && head_rows > 0) {
    json_t *head = json_array();
    for (int64_t i = 0; head && i < f->rows && i < head_rows; i++) {
      json_t *rec = json_object();
      for (int k = 0; rec && k < f->ncols; k++)
        json_object_set_new(rec, f->cols[k].name, cell(&f->cols[k], i));
      json_array_append_new(head, rec);
    }
    json_object_set_new(res, "head", head);
  }
  frame_free(f);
  char *text = res ? json_dumps(res, JSON_COMPACT) : NULL;
  json_decref(res);
  if (!text) return assay__nomem();
  *out_json = text;
  return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

/* rm -r of a temporary folder made here (links are removed, not followed). */
static void remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

int assay__debug_run_loader(const char *path, const char *function, const char *kwargs_json,
                            const char *python, char **out_json) {
  *out_json = NULL;
  if (!path || !function) return assay__err(ASSAY_ERR_CONFIG, "FILE and FUNCTION are needed");
  char *abs = realpath(path, NULL);
  if (!abs) return assay__err(ASSAY_ERR_CONFIG, "loader file '%s' not found", path);
  json_t *kwargs = kwargs_json ? json_loads(kwargs_json, 0, NULL) : json_object();
  if (!json_is_object(kwargs)) {
    free(abs);
    json_decref(kwargs);
    return assay__err(ASSAY_ERR_CONFIG, "--kwargs must be a JSON object");
  }
  char home[] = "/tmp/assay-run-loader-XXXXXX";
  if (!mkdtemp(home)) {
    free(abs);
    json_decref(kwargs);
    return assay__err(ASSAY_ERR_INTERNAL, "cannot make a temporary folder");
  }
  char out_dir[64];
  snprintf(out_dir, sizeof out_dir, "%s/out", home);
  json_t *req = json_pack("{s:s,s:s,s:s,s:o,s:n,s:n,s:s}", "mode", "load", "path", abs,
                          "function", function, "kwargs", kwargs, "start_time", "end_time",
                          "output_dir", out_dir);
  free(abs);
  if (!req || mkdir(out_dir, 0700) != 0) {
    json_decref(req);
    remove_tree(home);
    return req ? assay__err(ASSAY_ERR_INTERNAL, "cannot make %s", out_dir) : assay__nomem();
  }
  if (!python || !*python) python = getenv("ASSAY_PYTHON");
  if (!python || !*python) python = ASSAY_DEFAULT_PYTHON;
  runner_config cfg = {0};
  cfg.python = python;
  cfg.home = home;
  cfg.allow_unsandboxed = 1; /* the caller runs their own code on their own machine */
  frame *f = NULL;
  double t0 = now_seconds();
  int rc = runner_run(&cfg, req, NULL, NULL, &f);
  double t1 = now_seconds();
  json_decref(req);
  json_t *profile = NULL;
  if (!rc) rc = frame_profile(f, &profile);
  double t2 = now_seconds();
  struct rusage ru, self;
  getrusage(RUSAGE_CHILDREN, &ru);
  getrusage(RUSAGE_SELF, &self);
  json_t *res = rc ? NULL
                   : json_pack("{s:I,s:i,s:f,s:f,s:I,s:I,s:o}", "rows", (json_int_t)f->rows,
                               "columns", f->ncols, "load_seconds", t1 - t0, "profile_seconds",
                               t2 - t1, "runner_peak_rss_kb", (json_int_t)ru.ru_maxrss,
                               "assay_peak_rss_kb", (json_int_t)self.ru_maxrss, "profile",
                               profile);
  frame_free(f);
  remove_tree(home);
  if (rc) return rc;
  char *text = res ? json_dumps(res, JSON_COMPACT) : NULL;
  json_decref(res);
  if (!text) return assay__nomem();
  *out_json = text;
  return ASSAY_OK;
}
