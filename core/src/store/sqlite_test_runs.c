/* TEMPORARY STUB — store/sqlite_test_runs.c; its owner (PLATFORM) replaces this file. */
typedef int assay_stub_sqlite_test_runs;
