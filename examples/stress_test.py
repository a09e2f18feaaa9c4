"""examples/stress_test.py — the whole flow of a stress test, in Python.

On the embedded platform (in $ASSAY_HOME, default ~/.assay), as its admin:
  1. starts the news data server (examples/custom_loader/data_server.py) on
     loopback with a random token;
  2. creates the custom integration "news-source" holding its address (not
     sensitive) and its token (a workspace secret);
  3. uploads the custom loader and the model file;
  4. registers the model, a reference dataset (January) and an evaluation
     dataset (March) that load through the loader;
  5. starts a stress test, follows its progress, and prints the results:
     the run's summary, the categories, and the failing test cases.

    ASSAY_HOME=/tmp/demo-home python examples/stress_test.py
"""
import os
import secrets
import subprocess
import sys
import uuid
from datetime import datetime, timezone

import assay

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "custom_loader")


def epoch(day):
    return int(datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp())


# 1. The data source (a stand-in for an S3 bucket that needs credentials).
token = secrets.token_urlsafe(24)
server = subprocess.Popen([sys.executable, os.path.join(HERE, "data_server.py"), "--exit-on-eof"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
server.stdin.write(token + "\n")
server.stdin.flush()
port = int(server.stdout.readline().split()[1])

try:
    client = assay.Client()
    workspace_id = client.platform_info()["workspace_id"]

    # 2. The custom integration.
    for old in client.list_integrations(workspace_id):
        if old["name"] == "news-source":
            client.delete_integration(old["integration_id"])
    integration_id = client.create_integration(workspace_id, "news-source",
                                               "INTEGRATION_TYPE_CUSTOM", [
        {"name": "NEWS_API_URL", "sensitivity": "VARIABLE_SENSITIVITY_PUBLIC",
         "value": "http://127.0.0.1:%d" % port},
        {"name": "NEWS_API_TOKEN", "sensitivity": "VARIABLE_SENSITIVITY_WORKSPACE_SECRET",
         "value": token},
    ])

    # 3. The loader and the model.
    loader_path = client.upload_file(os.path.join(HERE, "custom_news_loader.py"))
    model_file = client.upload_file(os.path.join(HERE, "news_model.py"))

    def data_info(start, end):
        return {
            "connection_info": {"data_loading": {
                "path": loader_path,
                "load_func_name": "get_news_data",
                "loader_kwargs": {"start_time": epoch(start), "end_time": epoch(end)},
                "data_endpoint_integration_id": integration_id,
            }},
            "data_params": {"timestamp_col": "timestamp", "label_col": "label"},
        }

    # 4. Register the model and the data.
    project = next((p for p in client.list_projects() if p.name == "News stress test"), None)
    if project is None:
        project = client.create_project("News stress test", "clickbait detector under drift",
                                        "MODEL_TASK_BINARY_CLASSIFICATION")
    run = uuid.uuid4().hex[:8]
    model_id = project.register_model("clickbait-model-" + run,
                                      {"model_path": {"path": model_file}})
    ref_id = project.register_dataset("news-january-" + run, data_info("2026-01-01", "2026-01-31"))
    eval_id = project.register_dataset("news-march-" + run, data_info("2026-03-01", "2026-03-31"))

    # 5. The stress test.
    config = {
        "run_name": "January vs March " + run,
        "model_id": model_id,
        "data_info": {"ref_dataset_id": ref_id, "eval_dataset_id": eval_id},
        "test_suite_config": {
            "global_test_sensitivity": "TEST_SENSITIVITY_DEFAULT",
            "individual_tests_config": {
                "numeric_feature_drift": {"statistic": "psi"},
            },
        },
        "run_time_info": {"random_seed": 42},
    }
    job = client.start_stress_test(test_run_config=config, project_id=project.project_id)
    job.get_status(verbose=True, wait_until_finish=True, poll_rate_sec=0.5)
    test_run = job.get_test_run()

    import pandas as pd
    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 12)
    result = test_run.get_result_df()
    print("\nRun %s: %s" % (test_run.test_run_id, result.loc[0, "name"]))
    print(result.filter(like="summary_counts.").to_string(index=False))
    print("\nCategories:")
    print(test_run.get_category_results_df()[["category", "severity"]].to_string(index=False))
    cases = test_run.get_test_cases_df(show_test_case_metrics=True)
    failing = cases[cases["status"] != "TEST_CASE_STATUS_PASS"]
    print("\nTest cases that did not pass (%d of %d):" % (len(failing), len(cases)))
    print(failing[["test_batch_type", "features", "status", "importance_score"]]
          .to_string(index=False))
    drift = test_run.get_test_batch("numeric_feature_drift")
    print("\nNumeric feature drift:", drift.summary()["severity"])
    print(drift.get_test_cases_df(show_test_case_metrics=True)[["features", "psi", "severity"]]
          .to_string(index=False))
finally:
    server.stdin.close()
    server.wait(timeout=10)
