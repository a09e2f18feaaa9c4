/* TEMPORARY STUB — engine tests (abnormal); its owner replaces this file. */
#include <stddef.h>
#include "engine/stress_internal.h"
stress_test_fn tests_abnormal_find(const char *type) { (void)type; return NULL; }
