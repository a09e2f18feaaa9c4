/* config/data_info.c — registry configs (TEMPORARY STUB). */

#include "config/data_info.h"
#include "internal.h"

int data_info_validate(const json_t *data_info, const char *where, json_t **normalized) {
  (void)data_info;
  (void)where;
  (void)normalized;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int model_info_validate(const json_t *model_info, json_t **normalized) {
  (void)model_info;
  (void)normalized;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int pred_info_validate(const json_t *pred_info, json_t **normalized) {
  (void)pred_info;
  (void)normalized;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

const char *data_info_connection(const json_t *normalized, const json_t **conn) {
  (void)normalized;
  (void)conn;
  return NULL;
}
