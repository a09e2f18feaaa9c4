/* runner/runner.c — the child Python process (TEMPORARY STUB). */

#include "runner/runner.h"
#include "internal.h"

int runner_run(const runner_config *cfg, const json_t *request, runner_log_fn log, void *log_ctx, frame **out) {
  (void)cfg;
  (void)request;
  (void)log;
  (void)log_ctx;
  (void)out;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

int redactor_new(redactor **out, const json_t *secrets) {
  (void)out;
  (void)secrets;
  return assay__err(ASSAY_ERR_INTERNAL, "not implemented yet");
}

void redactor_free(redactor *r) {
  (void)r;
  return;
}

char *redact_text(const redactor *r, const char *text, size_t len) {
  (void)r;
  (void)text;
  (void)len;
  return NULL;
}
