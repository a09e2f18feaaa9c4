/* platform/registry.c — registry routes (TEMPORARY STUB). */

#include "platform/handlers.h"

int h_datasets_create(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_datasets_list(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_dataset_get(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_dataset_delete(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_models_create(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_models_list(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_model_get(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_model_delete(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_predictions_create(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_predictions_list(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_prediction_get(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int h_prediction_delete(route_ctx *c) {
  (void)c;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}
