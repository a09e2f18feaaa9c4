/* TEMPORARY STUB — client calls for stress tests; its owner (PLATFORM) replaces this file. */
#include "internal.h"
#include "assay/client.h"
#pragma GCC diagnostic ignored "-Wunused-parameter"
int assay_client_start_stress_test(assay_value **out, assay_client *client,
                                             const char *project_id,
                                             const assay_value *test_run_config) { return assay__err(ASSAY_ERR_INTERNAL, "assay_client_start_stress_test: not implemented yet"); }
int assay_client_list_jobs(assay_value **out, assay_client *client,
                                     const char *project_id, const assay_value *filter) { return assay__err(ASSAY_ERR_INTERNAL, "assay_client_list_jobs: not implemented yet"); }
int assay_client_cancel_job(assay_value **out, assay_client *client,
                                      const char *job_id) { return assay__err(ASSAY_ERR_INTERNAL, "assay_client_cancel_job: not implemented yet"); }
int assay_client_update_stress_test_categories(assay_value **out,
                                                         assay_client *client,
                                                         const char *project_id,
                                                         const assay_value *categories) { return assay__err(ASSAY_ERR_INTERNAL, "assay_client_update_stress_test_categories: not implemented yet"); }
int assay_client_list_test_runs(assay_value **out, assay_client *client,
                                          const char *project_id) { return assay__err(ASSAY_ERR_INTERNAL, "assay_client_list_test_runs: not implemented yet"); }
int assay_client_get_test_run(assay_value **out, assay_client *client,
                                        const char *test_run_id) { return assay__err(ASSAY_ERR_INTERNAL, "assay_client_get_test_run: not implemented yet"); }
int assay_client_get_test_run_document(assay_value **out, assay_client *client,
                                                 const char *test_run_id) { return assay__err(ASSAY_ERR_INTERNAL, "assay_client_get_test_run_document: not implemented yet"); }
int assay_client_get_test_run_result(assay_value **out, assay_client *client,
                                               const char *test_run_id) { return assay__err(ASSAY_ERR_INTERNAL, "assay_client_get_test_run_result: not implemented yet"); }
int assay_client_get_test_cases(assay_value **out, assay_client *client,
                                          const char *test_run_id, const char *test_type,
                                          int show_metrics) { return assay__err(ASSAY_ERR_INTERNAL, "assay_client_get_test_cases: not implemented yet"); }
int assay_client_get_category_results(assay_value **out, assay_client *client,
                                                const char *test_run_id, int show_metrics) { return assay__err(ASSAY_ERR_INTERNAL, "assay_client_get_category_results: not implemented yet"); }
int assay_client_list_test_batches(assay_value **out, assay_client *client,
                                             const char *test_run_id) { return assay__err(ASSAY_ERR_INTERNAL, "assay_client_list_test_batches: not implemented yet"); }
int assay_client_get_test_batch(assay_value **out, assay_client *client,
                                          const char *test_run_id, const char *test_type) { return assay__err(ASSAY_ERR_INTERNAL, "assay_client_get_test_batch: not implemented yet"); }
int assay_client_get_test_run_report(assay_value **out, assay_client *client,
                                               const char *test_run_id) { return assay__err(ASSAY_ERR_INTERNAL, "assay_client_get_test_run_report: not implemented yet"); }
