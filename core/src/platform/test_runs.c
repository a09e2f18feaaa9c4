/* TEMPORARY STUB — platform/test_runs.c; its owner (PLATFORM) replaces this file. */
typedef int assay_stub_test_runs;
