/* TEMPORARY STUB — model predictions; its owner replaces this file. */
#include <math.h>
#include <stddef.h>
#include "internal.h"
#include "engine/predict.h"
#pragma GCC diagnostic ignored "-Wunused-parameter"
int model_predict(assay_platform *p, const predict_request *req, const frame *data, frame **out) { return assay__err(ASSAY_ERR_INTERNAL, "model_predict: not implemented yet"); }
