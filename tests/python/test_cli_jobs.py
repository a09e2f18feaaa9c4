"""The `assay` CLI's one-shot commands open the embedded platform without job
workers: a validation job pending on the home stays pending through them
(never claimed by a CLI call, so never held up or killed at its exit), and
the next embedded Client with workers runs it."""

import os
import subprocess

import assay

DATA = "label,x\n0,1.5\n1,2.5\n1,3.5\n"


def run_cli(exe, home, *args):
    env = {k: v for k, v in os.environ.items()
           if k not in ("ASSAY_URL", "ASSAY_API_KEY", "ASSAY_HOME")}
    proc = subprocess.run([str(exe), "--home", str(home), *args], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc.stdout


def test_cli_leaves_a_pending_job_to_the_platform(tmp_path, assay_cli):
    home = tmp_path / "home"
    data = tmp_path / "d.csv"
    data.write_text(DATA)
    # a dataset registered without waiting, on a platform without workers:
    # its validation job is PENDING on the home
    with assay.Client(home=home, workers=0) as client:
        project = client.create_project("cli-jobs", "d", "MODEL_TASK_BINARY_CLASSIFICATION")
        location = client.upload_file(data)
        record = client.request("POST", "/v1/projects/%s/datasets" % project.project_id, {
            "name": "pending",
            "data_info": {"connection_info": {"data_file": {"path": location}},
                          "data_params": {"label_col": "label"}}})
        job_id = record["validation_job_id"]
        dataset_id = record["dataset_id"]
        assert record["validity_status"] == "VALIDITY_STATUS_PENDING"
        assert client.get_job(job_id).get_status(verbose=False)["status"] == \
            "JOB_STATUS_PENDING"

    # one-shot CLI calls on the same home leave it alone
    for _ in range(3):
        assert "cli-jobs" in run_cli(assay_cli, home, "project", "list")
        assert location in run_cli(assay_cli, home, "file", "list")

    with assay.Client(home=home, workers=0) as client:
        status = client.get_job(job_id).get_status(verbose=False)
        assert status["status"] == "JOB_STATUS_PENDING"
        assert status["start_time_secs"] is None
        assert client.get_project(project.project_id).get_dataset(dataset_id)[
            "validity_status"] == "VALIDITY_STATUS_PENDING"
    assert not (home / "jobs" / ("%s.log" % job_id)).exists()  # nobody started it

    # an embedded client with workers (the default) runs it
    with assay.Client(home=home) as client:
        job = client.get_job(job_id)
        status = job.get_status(verbose=False, wait_until_finish=True, poll_rate_sec=0.1)
        assert status["status"] == "JOB_STATUS_SUCCEEDED", job.get_log()
        dataset = client.get_project(project.project_id).get_dataset(dataset_id)
        assert dataset["validity_status"] == "VALIDITY_STATUS_VALID"
        assert dataset["row_count"] == 3
