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
 * config, the content hashes of the files it reads (data file or loader
 * file), and the time window. A later load with the same key maps the
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
  load_window window;
  int use_cache;               /* 1: read and write the cache             */
  runner_log_fn log;           /* the job's log, or NULL                  */
  void *log_ctx;
} load_request;

/* *cached (may be NULL) is set to 1 when the frame came from the cache. */
int dataset_load(assay_platform *p, const load_request *req, frame **out, int *cached);
/* Remove a dataset's cache folder (missing is fine). */
int dataset_cache_drop(assay_platform *p, const char *dataset_id);

#endif
