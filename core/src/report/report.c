/* TEMPORARY STUB — HTML report; its owner replaces this file. */
#include <math.h>
#include <stddef.h>
#include "internal.h"
#include "report/report.h"
#pragma GCC diagnostic ignored "-Wunused-parameter"
int report_html(const json_t *run, char **out) { return assay__err(ASSAY_ERR_INTERNAL, "report_html: not implemented yet"); }
int report_write(const json_t *run, const char *path) { return assay__err(ASSAY_ERR_INTERNAL, "report_write: not implemented yet"); }
