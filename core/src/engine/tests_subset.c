/* TEMPORARY STUB — engine tests (subset); its owner replaces this file. */
#include <stddef.h>
#include "engine/stress_internal.h"
stress_test_fn tests_subset_find(const char *type) { (void)type; return NULL; }
