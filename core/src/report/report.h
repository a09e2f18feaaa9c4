/* report/report.h — the self-contained HTML report of a test run
 * (`assay report RUN_ID -o report.html`).
 *
 * One HTML file with inline CSS and inline SVG charts, no script or
 * resource from the network, readable offline in any browser: the run's
 * summary (counts per status and severity, per category), every test
 * batch with its cases (status, severity, features, metrics), reference vs
 * evaluation distributions of the drifted features (bars per bin from the
 * drift cases' details), and subset performance charts (per-subset metric
 * against the overall one, from the subset cases' details). All text from
 * the run (feature names, category values) is HTML-escaped. Not installed. */
#ifndef ASSAY_REPORT_H
#define ASSAY_REPORT_H

#include <jansson.h>
#include <stddef.h>

/* The report of a test run document (GET /v1/test-runs/{id}/document) as a
 * malloc'ed NUL-terminated HTML text in *out. */
int report_html(const json_t *run, char **out);

/* Write the report of `run` to path (mode 0644, atomically: a temporary file
 * renamed into place). */
int report_write(const json_t *run, const char *path);

/* Internal CLI support (`assay report`), report_write's file writer: `len`
 * bytes of text written to path with mode 0644, atomically (a temporary
 * file beside it, synced and renamed into place; on failure neither is
 * left). 0; -1 when out of memory; else the errno of the step that failed.
 * Sets no error. */
__attribute__((visibility("default"))) int assay__write_file_atomic(const char *path,
                                                                    const char *text,
                                                                    size_t len);

/* Internal CLI and test support (`assay debug report`): the report of the
 * run document in the JSON file document_path ("-": stdin; extra keys such
 * as assay__debug_stress's "timing" are ignored) written to out_path as
 * report_write does. ASSAY_ERR_CONFIG for a file that cannot be read or is
 * not a JSON object. */
__attribute__((visibility("default"))) int assay__debug_report(const char *document_path,
                                                               const char *out_path);

#endif
