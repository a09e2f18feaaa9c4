/* TEMPORARY STUB — platform/stress_job.c; its owner (PLATFORM) replaces this file. */
typedef int assay_stub_stress_job;
