/* test_support.h — helpers shared by the C tests: temporary homes. */
#ifndef ASSAY_TEST_SUPPORT_H
#define ASSAY_TEST_SUPPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A fresh directory under $TMPDIR; removed (recursively) by rm_home. */
static inline char *make_home(void) {
  const char *tmp = getenv("TMPDIR");
  char *path = NULL;
  if (asprintf(&path, "%s/assay-test-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0) return NULL;
  return mkdtemp(path);
}

static inline void rm_home(char *path) {
  if (!path) return;
  char *cmd = NULL;
  if (asprintf(&cmd, "rm -rf '%s'", path) >= 0) {
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", path);
  }
  free(cmd);
  free(path);
}

#endif
