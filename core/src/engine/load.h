/* engine/load.h — a registered dataset's (or prediction set's) rows, as a
 * frame, with the cache.
 *
 * dataset_load() dispatches on the validated connection_info: a data_file
 * CSV is read natively (csv_read), Parquet / JSON / JSONL through the
 * runner's "read" mode, a data_loading loader through the runner's "load"
 * mode with the integration_dict resolved for the submitting user (when
 * data_endpoint_integration_id, else the dataset's integration_id, is
 * set). nrows from data_params limits the rows.
 *
 * The cache: a loaded frame is written to
 * <home>/cache/<dataset_id>/<key>.acol, key = BLAKE2b of the normalized
 * config, the content hashes of the files it reads (the data file, or
 * the loader file and every file in the loader's folder — its working
 * directory and sys.path entry, so a changed neighbour module misses), the
 * time window, and — when the loader's integration has a
 * members-level (VARIABLE_SENSITIVITY_USER_SECRET) variable — the user id
 * (a loader run with one member's own credentials may return rows another
 * member may not read at the source, so each member's load is cached
 * apart; with only public and workspace values the entry is shared by
 * every user). A later load with the same key maps the
 * cached file instead of calling the loader again; a changed loader file,
 * config or window misses. Deleting a dataset deletes its cache. Not
 * installed. */
#ifndef ASSAY_ENGINE_LOAD_H
#define ASSAY_ENGINE_LOAD_H

#include <jansson.h>
#include <stdint.h>

#include "engine/frame.h"
#include "platform/platform.h"
#include "runner/runner.h"

typedef struct load_window {
  int has_window;              /* 0: no window (start/end None)          */
  int64_t start_time;          /* seconds since the epoch, UTC            */
  int64_t end_time;
} load_window;

typedef struct load_request {
  const char *dataset_id;      /* cache folder (dataset or prediction id) */
  const char *workspace_id;    /* where file locations resolve            */
  const char *user_id;         /* whose member secrets a loader gets      */
  const json_t *info;          /* normalized data_info or pred_info       */
  const char *integration_id;  /* the record's integration_id, or NULL    */
  /* The loader's integration_dict when the caller resolved it already
   * (to redact its own messages with the same secrets), else NULL:
   * dataset_load resolves it (and wipes it after the run). */
  const json_t *integration_dict;
  load_window window;
  int use_cache;               /* 1: read and write the cache             */
  runner_log_fn log;           /* the job's log, or NULL                  */
  void *log_ctx;
  /* The runner's cancellation flag (runner_config.cancel), or NULL: a
   * custom loader or a Parquet / JSON read stops at once when it is set
   * (ASSAY_ERR_UNAVAILABLE "loader cancelled: ..."; nothing is cached).
   * A native CSV read is not interrupted. */
  const int *cancel;
} load_request;

/* *cached (may be NULL) is set to 1 when the frame came from the cache.
 * A data_file is the same data in every window: its cache key leaves the
 * window out. Errors: the runner's (ASSAY_ERR_DATA), csv_read's, a file
 * location that no longer resolves (ASSAY_ERR_NOT_FOUND), the
 * integration's (ASSAY_ERR_CONFIG when the user lacks a member value). A
 * cache entry that does not map is removed and the data loaded again; a
 * cache write that fails leaves the load's result as it is. The loader
 * runs with a fresh scratch folder <home>/scratch/<random>/ as its
 * output_dir, removed afterwards. dataset_id must be a plain name (a
 * UUID). */
int dataset_load(assay_platform *p, const load_request *req, frame **out, int *cached);
/* The cache file a request maps to (<home>/cache/<dataset_id>/<key>.acol;
 * the caller frees *path). Resolves the files the request reads. */
int dataset_cache_path(assay_platform *p, const load_request *req, char **path);
/* The names of the not-sensitive (VARIABLE_SENSITIVITY_PUBLIC) variables
 * of an integration, as a JSON array: their values are not secrets, so
 * redaction leaves them alone. dataset_load passes them to the runner as
 * the request's "public_names" next to the integration_dict. */
int load_public_names(assay_platform *p, const char *integration_id, json_t **names);
/* A new, empty folder <home>/scratch/<random>/ (mode 0700) for one runner
 * run (a loader's output_dir, a model's input and output); the caller
 * removes it (load_rm_tree) and frees *dir. */
int load_scratch_new(assay_platform *p, char **dir);
/* Remove a folder and everything in it (links are removed, not followed;
 * missing is fine): 0, or -1 with errno set. Sets no error of its own, so
 * a caller cleaning up after a failure keeps that failure's. */
int load_rm_tree(const char *path);
/* Remove a dataset's cache folder (missing is fine). */
int dataset_cache_drop(assay_platform *p, const char *dataset_id);

#endif
