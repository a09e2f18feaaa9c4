"""The `assay` CLI's one-shot commands open the embedded platform without job
workers: a validation job pending on the home stays pending through them
(never claimed by a CLI call, so never held up or killed at its exit), and
the next embedded Client with workers runs it. Stored text (a model's error
message, a run name) is printed with terminal control characters shown as
escapes."""

import json
import os
import sqlite3
import subprocess

import pytest

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


# --- stored text printed for a terminal ---------------------------------------------------

# Text a hostile model, dataset or older run could leave in the store: an OSC
# window title, a screen clear, an 8-bit CSI (C1), a bidi override, a line
# break and a tab.
HOSTILE = "boom \x1b]0;pwned\x07\x1b[2J\u009b31m\u202eevil\nnext\tcol"
# What a terminal must get instead: every control as a visible escape.
SHOWN = "boom \\x1b]0;pwned\\x07\\x1b[2J\\u009b31m\\u202eevil\\nnext\\tcol"
CONTROLS = [chr(c) for c in list(range(0x00, 0x09)) + list(range(0x0b, 0x20)) + [0x7f]
            + list(range(0x80, 0xa0)) + list(range(0x202a, 0x202f))
            + list(range(0x2066, 0x206a))]


def run_cli_any(exe, home, *args):
    env = {k: v for k, v in os.environ.items()
           if k not in ("ASSAY_URL", "ASSAY_API_KEY", "ASSAY_HOME")}
    return subprocess.run([str(exe), "--home", str(home), *args], capture_output=True,
                          text=True, env=env, timeout=60)


def assert_no_controls(text):
    """Nothing a terminal acts on: no control character but the line
    breaks between records and the TABs between columns."""
    bad = sorted({"U+%04X" % ord(c) for c in text if c in CONTROLS})
    assert not bad, (bad, text)


def test_cli_escapes_control_characters_in_stored_text(tmp_path, assay_cli):
    """A model whose error message holds terminal escapes, and a test run
    whose name holds them (stored before run names were checked), are
    printed by `assay job get`, `assay job list`, `assay test-run list` and
    error messages with each control shown as an escape; run names with
    control characters are refused from now on."""
    home = tmp_path / "home"
    data = tmp_path / "d.csv"
    data.write_text("label,x\n" + "".join("%d,%d\n" % (i % 2, i) for i in range(60)))
    model = tmp_path / "model.py"
    model.write_text("def predict_df(df):\n    raise ValueError(%r)\n" % HOSTILE)
    with assay.Client(home=home) as client:
        project = client.create_project("cli-escapes", "d", "MODEL_TASK_BINARY_CLASSIFICATION")
        pid = project.project_id
        params = {"label_col": "label"}
        ref = project.upload_and_register_dataset_from_file("ref", data, data_params=params)
        ev = project.upload_and_register_dataset_from_file("eval", data, data_params=params)
        location = client.upload_file(model)
        model_id = client.request("POST", "/v1/projects/%s/models" % pid, {
            "name": "hostile", "model_info": {"model_path": {"path": location}}})["model_id"]

        plain_id = project.register_model("plain")  # no model file: nothing predicts

        def config(name, categories, model=model_id):
            return {"run_name": name, "model_id": model,
                    "data_info": {"ref_dataset_id": ref, "eval_dataset_id": ev},
                    "categories": categories}

        # a run name must be one line without control characters
        for name in ("\x1b[2Jcleared", "two\nlines", "csi \u009b31m", "tab\there"):
            with pytest.raises(assay.ConfigError) as e:
                client.start_stress_test(config(name, ["TEST_CATEGORY_TYPE_DRIFT"]), pid)
            assert "run_name: expected one line of text without control characters" \
                in str(e.value)
        # the model's error, stored as the failed job's error message
        failed = client.start_stress_test(
            config("model run", ["TEST_CATEGORY_TYPE_MODEL_PERFORMANCE"]), pid)
        status = failed.get_status(verbose=False, wait_until_finish=True, poll_rate_sec=0.1)
        assert status["status"] == "JOB_STATUS_FAILED"
        assert HOSTILE in failed.error_msg  # stored as it was: the printers escape it
        # a run, then renamed in the store as an older version could have named it
        done = client.start_stress_test(
            config("clean", ["TEST_CATEGORY_TYPE_DRIFT"], plain_id), pid)
        status = done.get_status(verbose=False, wait_until_finish=True, poll_rate_sec=0.1)
        assert status["status"] == "JOB_STATUS_SUCCEEDED", done.error_msg
        run_id = done.get_test_run_id()
    db = sqlite3.connect(str(home / "assay.db"))
    with db:
        changed = db.execute("UPDATE test_runs SET name = ?, summary = json_set(summary, "
                             "'$.name', ?) WHERE id = ?", (HOSTILE, HOSTILE, run_id)).rowcount
    db.close()
    assert changed == 1
    # job get: key<TAB>value lines, the error message on one line, escaped
    proc = run_cli_any(assay_cli, home, "job", "get", failed.job_id)
    assert proc.returncode == 0, proc.stderr
    assert_no_controls(proc.stdout)
    fields = dict(line.split("\t", 1) for line in proc.stdout.splitlines())
    assert fields["status"] == "JOB_STATUS_FAILED"
    assert SHOWN in fields["error_msg"]
    assert fields["error_msg"].startswith("predicting the reference dataset with model")

    # test-run list: one line per run, three columns, the name escaped
    proc = run_cli_any(assay_cli, home, "test-run", "list", pid)
    assert proc.returncode == 0, proc.stderr
    assert_no_controls(proc.stdout)
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert [r[:2] for r in rows] == [[run_id, SHOWN]]
    assert len(rows[0]) == 3

    # job list stays one line per job
    proc = run_cli_any(assay_cli, home, "job", "list", pid)
    assert_no_controls(proc.stdout)
    assert len(proc.stdout.splitlines()) == 4  # 2 validations, 2 stress tests

    # --json is for programs: the JSON text escapes C0 controls itself
    record = json.loads(run_cli_any(assay_cli, home, "--json", "job", "get",
                                    failed.job_id).stdout)
    assert HOSTILE in record["error_msg"]

    # error messages that echo what was asked for are escaped too
    proc = run_cli_any(assay_cli, home, "job", "get", "\x1b]0;x\x07\u202e")
    assert proc.returncode == 1
    assert_no_controls(proc.stderr.rstrip("\n"))
    assert proc.stderr.startswith("assay: ")
    assert proc.stderr.count("\n") == 1
