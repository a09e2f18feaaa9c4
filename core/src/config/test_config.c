/* TEMPORARY STUB — test catalogue; its owner replaces this file. */
#include <math.h>
#include <stddef.h>
#include "internal.h"
#include "config/test_config.h"
#pragma GCC diagnostic ignored "-Wunused-parameter"
const char *severity_name(severity s) { return NULL; }
const char *severity_status(severity s) { return NULL; }
int test_task_bit(const char *model_task) { return assay__err(ASSAY_ERR_INTERNAL, "test_task_bit: not implemented yet"); }
const test_def *test_def_find(const char *type) { return NULL; }
const drift_stat_def *drift_stat_find(const char *name) { return NULL; }
double test_sensitivity_factor(const char *sensitivity) { return NAN; }
int test_config_normalize(const json_t *config, const char *model_task,
                          const json_t *project_categories, json_t **out) { return assay__err(ASSAY_ERR_INTERNAL, "test_config_normalize: not implemented yet"); }
int test_categories_normalize(const json_t *categories, json_t **out) { return assay__err(ASSAY_ERR_INTERNAL, "test_categories_normalize: not implemented yet"); }
json_t *test_default_categories(void) { return NULL; }
severity test_severity(const json_t *test, double value) { return 0; }
double test_importance(const json_t *test, double value) { return NAN; }
const test_def test_catalog[] = {{0}};
const drift_stat_def drift_stats[] = {{0}};
