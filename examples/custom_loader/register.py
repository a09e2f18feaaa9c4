"""examples/custom_loader/register.py — the seed's custom loader flow in Python.

On the embedded platform (in $ASSAY_HOME, default ~/.assay), as its admin:
  1. starts the example's news data server on loopback with a random token;
  2. creates the custom integration "news-source" holding its address (not
     sensitive) and its token (a workspace secret);
  3. uploads custom_news_loader.py;
  4. registers a reference dataset (January) and an evaluation dataset
     (March) that load through the loader with the integration's
     credentials, and prints what validation found.

    ASSAY_HOME=/tmp/demo-home python examples/custom_loader/register.py
"""
import os
import secrets
import subprocess
import sys
import uuid
from datetime import datetime, timezone

import assay

HERE = os.path.dirname(os.path.abspath(__file__))
TIMESTAMP_COL = "timestamp"


def epoch(day):
    return int(datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp())


REF_START, REF_END = epoch("2026-01-01"), epoch("2026-01-31")
EVAL_START, EVAL_END = epoch("2026-03-01"), epoch("2026-03-31")

# 1. The data source (a stand-in for the seed's S3 bucket).
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

    # 3. The loader.
    uploaded_data_loader_path = client.upload_file(os.path.join(HERE, "custom_news_loader.py"))
    print("loader uploaded to", uploaded_data_loader_path)

    def get_data_info_config(start: int, end: int):
        loader_kwargs = f'{{"start_time": {start}, "end_time": {end}}}'
        return {
            "connection_info": {
                "data_loading": {
                    "path": uploaded_data_loader_path,
                    "load_func_name": "get_news_data",
                    "loader_kwargs_json": loader_kwargs,
                    "data_endpoint_integration_id": integration_id,
                }
            },
            "data_params": {
                "timestamp_col": TIMESTAMP_COL,
                "label_col": "label",
            },
        }

    # 4. Register reference and evaluation data.
    project = next((p for p in client.list_projects() if p.name == "News classification"), None)
    if project is None:
        project = client.create_project("News classification", "clickbait detector",
                                        "MODEL_TASK_BINARY_CLASSIFICATION")
    ref_data_id = project.register_dataset(str(uuid.uuid4()),
                                           get_data_info_config(REF_START, REF_END))
    eval_data_id = project.register_dataset(str(uuid.uuid4()),
                                            get_data_info_config(EVAL_START, EVAL_END))

    for label, dataset_id in (("reference", ref_data_id), ("evaluation", eval_data_id)):
        d = project.get_dataset(dataset_id)
        print("%s dataset %s: %s, %s rows" % (label, dataset_id, d["validity_status"],
                                             d["row_count"]))
        if d["validity_status"] != "VALIDITY_STATUS_VALID":
            print("  ", d["validity_message"])
            sys.exit(1)
        for col in d["schema_profile"]:
            print("   %-16s %-10s nulls %5.1f%%  distinct %d" % (
                col["column"], col["type"], 100 * col["null_share"], col["distinct_count"]))
finally:
    server.stdin.close()
    server.wait(timeout=10)
