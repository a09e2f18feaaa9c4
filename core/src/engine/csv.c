/* engine/csv.c — the native CSV reader (TEMPORARY STUB). */

#include "engine/frame.h"
#include "internal.h"

int csv_read(frame **out, const char *path, const csv_options *opts) {
  (void)out;
  (void)path;
  (void)opts;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int csv_options_from_json(csv_options *out, const json_t *loading_kwargs) {
  (void)out;
  (void)loading_kwargs;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int csv_write(const frame *f, const char *path) {
  (void)f;
  (void)path;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}
