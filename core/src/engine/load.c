/* engine/load.c — dataset loading and cache (TEMPORARY STUB). */

#include "engine/load.h"

int dataset_load(assay_platform *p, const load_request *req, frame **out, int *cached) {
  (void)p;
  (void)req;
  (void)out;
  (void)cached;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int dataset_cache_drop(assay_platform *p, const char *dataset_id) {
  (void)p;
  (void)dataset_id;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}
