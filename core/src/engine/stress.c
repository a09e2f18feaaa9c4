/* TEMPORARY STUB — engine; its owner replaces this file. */
#include <math.h>
#include <stddef.h>
#include "internal.h"
#include "engine/stress.h"
#include "engine/stress_internal.h"
#pragma GCC diagnostic ignored "-Wunused-parameter"
int stress_run(const stress_input *in, json_t **out) { return assay__err(ASSAY_ERR_INTERNAL, "stress_run: not implemented yet"); }
int stress_prepare(stress_ctx *c, const stress_input *in) { return assay__err(ASSAY_ERR_INTERNAL, "stress_prepare: not implemented yet"); }
void stress_release(stress_ctx *c) {}
int stress_cancelled(const stress_ctx *c) { return assay__err(ASSAY_ERR_INTERNAL, "stress_cancelled: not implemented yet"); }
double stress_num(const column *col, int64_t i) { return NAN; }
const double *stress_sorted(stress_ctx *c, stress_feature *f, int side, size_t *n) { return NULL; }
const double *stress_edges(stress_ctx *c, stress_feature *f, int nbins, size_t *nedges,
                           double **tmp) { return NULL; }
int stress_parallel(stress_ctx *c, int n, int (*fn)(void *arg, int i), void *arg) { return assay__err(ASSAY_ERR_INTERNAL, "stress_parallel: not implemented yet"); }
json_t *stress_case(const json_t *test, const char *feature, double value) { return NULL; }
json_t *stress_case_skip(const char *feature, const char *reason) { return NULL; }
void stress_metric(json_t *tc, const char *name, double value) {}
int stress_excluded(const json_t *test, const char *feature) { return assay__err(ASSAY_ERR_INTERNAL, "stress_excluded: not implemented yet"); }
int assay__debug_stress(const char *request_json, char **out_json) { return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet"); }
