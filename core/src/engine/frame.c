/* engine/frame.c — frames and the columnar file (TEMPORARY STUB). */

#include "engine/frame.h"
#include "internal.h"

const char *col_type_name(col_type t) {
  (void)t;
  return NULL;
}

void frame_free(frame *f) {
  (void)f;
  return;
}

const column *frame_col(const frame *f, const char *name) {
  (void)f;
  (void)name;
  return NULL;
}

int frame_write(const frame *f, const char *path) {
  (void)f;
  (void)path;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int frame_map(frame **out, const char *path) {
  (void)out;
  (void)path;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int frame_concat(frame **out, frame *const *parts, int nparts) {
  (void)out;
  (void)parts;
  (void)nparts;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int frame_from_json(frame **out, const json_t *table) {
  (void)out;
  (void)table;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int frame_profile(const frame *f, json_t **out) {
  (void)f;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}
