"""Stress tests from Python (rime-sdk's names): start_stress_test -> Job ->
TestRun / TestBatch and their pandas frames, on the embedded platform and
on a real assayd. Small CSV datasets are uploaded; metrics are recomputed
here with scikit-learn / scipy; bad configs are typed errors naming the
problem; jobs are listed, cancelled (pending and finished) and followed
("n / m tests completed", a bar in notebooks); the same run from Lua gives
the same test cases."""

import json
import os
import subprocess
import sys
import threading
import time
import types

import pytest

import assay

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
metrics = pytest.importorskip("sklearn.metrics")
stats = pytest.importorskip("scipy.stats")

from assayd_process import BUILD_DIR, Assayd  # noqa: E402  (conftest puts it on sys.path)

BINARY = "MODEL_TASK_BINARY_CLASSIFICATION"
REGRESSION = "MODEL_TASK_REGRESSION"
PERF = "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE"
DRIFT = "TEST_CATEGORY_TYPE_DRIFT"
CLEAN = "TEST_CATEGORY_TYPE_DATA_CLEANLINESS"
CASE_COLUMNS = ["test_run_id", "test_batch_type", "features", "status", "severity",
                "category", "importance_score"]
FINAL = {"JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED"}


# --- data ------------------------------------------------------------------------

def binary_frames(n=400, seed=5):
    """Reference and evaluation frames of a binary task with a probability
    column `prob`; `shifted` moves by one standard deviation in the
    evaluation data, `stable` does not."""
    rng = np.random.default_rng(seed)

    def frame(shift):
        stable = rng.normal(0.0, 1.0, n)
        shifted = rng.normal(shift, 1.0, n)
        prob = 1.0 / (1.0 + np.exp(-(2.0 * stable + rng.normal(0.0, 0.7, n))))
        label = (rng.random(n) < 1.0 / (1.0 + np.exp(-2.0 * stable))).astype(int)
        city = rng.choice(["paris", "lyon", "nice"], n, p=[0.5, 0.3, 0.2])
        return pd.DataFrame({"stable": stable.round(6), "shifted": shifted.round(6),
                             "city": city, "label": label, "prob": prob.round(6)})

    return frame(0.0), frame(1.0)


def regression_frames(n=300, seed=11):
    """Reference and evaluation frames of a regression task (label `y`) and
    a model's predictions for each, as separate frames (column `pred`); the
    model is worse on the evaluation data."""
    rng = np.random.default_rng(seed)

    def frame(noise):
        a = rng.normal(0.0, 1.0, n)
        b = rng.uniform(0.0, 10.0, n)
        y = 3.0 * a + 0.5 * b + rng.normal(0.0, 0.3, n)
        pred = 3.0 * a + 0.5 * b + rng.normal(0.0, noise, n)
        return (pd.DataFrame({"a": a.round(6), "b": b.round(6), "y": y.round(6)}),
                pd.DataFrame({"pred": pred.round(6)}))

    return frame(0.3), frame(1.2)


def upload_csv(client, project, tmp_path, name, df, data_params):
    path = tmp_path / (name + ".csv")
    df.to_csv(path, index=False)
    dataset_id = project.upload_and_register_dataset_from_file(name, path,
                                                               data_params=data_params)
    d = project.get_dataset(dataset_id)
    assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
    return dataset_id


class BinarySetup:
    """A binary project with ref/eval datasets (pred_col "prob") and a model
    without a file, on one client."""

    def __init__(self, client, tmp_path, name):
        self.client = client
        self.project = client.create_project(name, "stress api", BINARY)
        self.ref_df, self.eval_df = binary_frames()
        params = {"label_col": "label", "pred_col": "prob"}
        self.ref_id = upload_csv(client, self.project, tmp_path, "ref", self.ref_df, params)
        self.eval_id = upload_csv(client, self.project, tmp_path, "eval", self.eval_df, params)
        self.model_id = self.project.register_model("scores")

    def config(self, run_name="binary run", **extra):
        config = {"run_name": run_name, "model_id": self.model_id,
                  "data_info": {"ref_dataset_id": self.ref_id,
                                "eval_dataset_id": self.eval_id}}
        config.update(extra)
        return config


BINARY_CATEGORIES = [PERF, DRIFT, CLEAN]
BINARY_SUITE = {"individual_tests_config": {"numeric_feature_drift": {"statistic": "ks"}}}


@pytest.fixture(scope="module")
def shared_client(module_platform):
    with module_platform.client() as c:
        yield c


@pytest.fixture(scope="module")
def binary(shared_client, tmp_path_factory):
    """One finished binary run per platform: (setup, job, run)."""
    setup = BinarySetup(shared_client, tmp_path_factory.mktemp("binary"), "binary-stress")
    job = shared_client.start_stress_test(
        setup.config(categories=BINARY_CATEGORIES, test_suite_config=BINARY_SUITE),
        setup.project.project_id)
    status = job.get_status(verbose=False, wait_until_finish=True, poll_rate_sec=0.2)
    assert status["status"] == "JOB_STATUS_SUCCEEDED", job.error_msg
    return setup, job, job.get_test_run()


def case_row(df, test_type, feature=None):
    rows = df[df["test_batch_type"] == test_type]
    if feature is not None:
        rows = rows[rows["features"].apply(lambda f: list(f) == [feature])]
    assert len(rows) == 1, (test_type, feature, df["test_batch_type"].tolist())
    return rows.iloc[0]


# --- one binary run: job, frames, values -------------------------------------------------

def test_job_of_a_finished_run(binary, shared_client):
    setup, job, run = binary
    assert job.job_type == "JOB_TYPE_STRESS_TEST"
    assert job.get_test_run_id() == run.test_run_id
    assert shared_client.get_job(job.job_id) == job
    info = shared_client.get_job(job.job_id).info
    n_batches = len(list(run.get_test_batches()))
    assert n_batches > 0
    assert info["progress"] == {"done": n_batches, "total": n_batches}
    assert info["result"] == {"test_run_id": run.test_run_id}
    assert isinstance(run, assay.TestRun)
    assert repr(run) == "TestRun(test_run_id=%r, name='binary run')" % run.test_run_id
    assert shared_client.get_test_run(run.test_run_id) == run


def test_get_status_prints_the_progress(binary, capsys):
    _, job, run = binary
    n = len(list(run.get_test_batches()))
    status = job.get_status(verbose=True, wait_until_finish=True, poll_rate_sec=0.1)
    assert status["status"] == "JOB_STATUS_SUCCEEDED"
    assert set(status) == {"id", "type", "status", "start_time_secs", "running_time_secs"}
    out = capsys.readouterr().out
    assert "JOB_STATUS_SUCCEEDED" in out
    assert "%d / %d tests completed" % (n, n) in out
    job.get_status(verbose=False)
    assert capsys.readouterr().out == ""


def test_result_df_is_one_row_that_adds_up(binary):
    setup, job, run = binary
    df = run.get_result_df()
    assert len(df) == 1
    row = df.iloc[0]
    assert row["test_run_id"] == run.test_run_id
    assert row["name"] == "binary run"
    assert row["project_id"] == setup.project.project_id
    assert row["model_id"] == setup.model_id
    assert row["ref_dataset_id"] == setup.ref_id
    assert row["eval_dataset_id"] == setup.eval_id
    assert row["model_task"] == BINARY
    cases = run.get_test_cases_df()
    assert row["summary_counts.total"] == len(cases)
    by_status = cases["status"].value_counts().to_dict()
    for key, status in [("pass", "TEST_CASE_STATUS_PASS"), ("warning", "TEST_CASE_STATUS_WARNING"),
                        ("fail", "TEST_CASE_STATUS_FAIL"), ("skip", "TEST_CASE_STATUS_SKIP")]:
        assert row["summary_counts." + key] == by_status.get(status, 0), key
    assert row["severity_counts.num_alert_severity"] == (cases["severity"] == "SEVERITY_ALERT").sum()
    assert row["duration_in_millis"] >= 0


def test_test_cases_df_columns_and_metrics(binary):
    _, _, run = binary
    plain = run.get_test_cases_df()
    assert list(plain.columns[:len(CASE_COLUMNS)]) == CASE_COLUMNS
    assert "reference" not in plain.columns
    assert (plain["test_run_id"] == run.test_run_id).all()
    assert set(plain["category"]) <= set(BINARY_CATEGORIES)
    assert set(plain["severity"]) <= {"SEVERITY_PASS", "SEVERITY_WARNING", "SEVERITY_ALERT"}
    full = run.get_test_cases_df(show_test_case_metrics=True)
    assert len(full) == len(plain)
    assert {"reference", "evaluation", "degradation", "ks_statistic"} <= set(full.columns)
    # The prediction column is never a feature; the label only for label tests.
    for _, row in plain.iterrows():
        allowed = {"stable", "shifted", "city"}
        if row["test_batch_type"] in ("label_drift", "label_imbalance"):
            allowed = {"label"}
        assert set(row["features"]) <= allowed, row.to_dict()


def test_model_performance_matches_sklearn(binary):
    setup, _, run = binary
    df = run.get_test_cases_df(show_test_case_metrics=True)
    ref, ev = setup.ref_df, setup.eval_df
    pairs = {
        "accuracy": lambda d: metrics.accuracy_score(d["label"], d["prob"] >= 0.5),
        "auc": lambda d: metrics.roc_auc_score(d["label"], d["prob"]),
        "f1": lambda d: metrics.f1_score(d["label"], d["prob"] >= 0.5),
        "precision": lambda d: metrics.precision_score(d["label"], d["prob"] >= 0.5),
        "recall": lambda d: metrics.recall_score(d["label"], d["prob"] >= 0.5),
        "log_loss": lambda d: metrics.log_loss(d["label"], d["prob"]),
        "brier_score": lambda d: metrics.brier_score_loss(d["label"], d["prob"]),
    }
    for test_type, fn in pairs.items():
        row = case_row(df, test_type)
        assert row["category"] == PERF
        assert row["reference"] == pytest.approx(fn(ref), abs=1e-9), test_type
        assert row["evaluation"] == pytest.approx(fn(ev), abs=1e-9), test_type
    acc = case_row(df, "accuracy")
    assert acc["degradation"] == pytest.approx(acc["reference"] - acc["evaluation"], abs=1e-12)
    loss = case_row(df, "log_loss")
    assert loss["degradation"] == pytest.approx(loss["evaluation"] - loss["reference"],
                                                abs=1e-12)


def test_drift_matches_scipy(binary):
    setup, _, run = binary
    df = run.get_test_cases_df(show_test_case_metrics=True)
    for feature in ("stable", "shifted"):
        row = case_row(df, "numeric_feature_drift", feature)
        expected = stats.ks_2samp(setup.ref_df[feature], setup.eval_df[feature])
        assert row["ks_statistic"] == pytest.approx(expected.statistic, abs=1e-9), feature
    shifted = case_row(df, "numeric_feature_drift", "shifted")
    assert shifted["severity"] == "SEVERITY_ALERT" and shifted["status"] == "TEST_CASE_STATUS_FAIL"
    batch = run.get_test_batch("numeric_feature_drift")
    assert "shifted" in batch.summary()["failing_features"]


def test_data_cleanliness_values(binary):
    setup, _, run = binary
    df = run.get_test_cases_df(show_test_case_metrics=True)
    share = setup.ref_df["label"].mean()
    imbalance = case_row(df, "label_imbalance")
    assert imbalance["category"] == CLEAN
    assert imbalance["minority_share"] == pytest.approx(min(share, 1 - share), abs=1e-12)
    dups = df[df["test_batch_type"] == "duplicate_rows"]
    assert sorted(dups["dataset"]) == ["evaluation", "reference"]
    for _, row in dups.iterrows():
        frame = setup.ref_df if row["dataset"] == "reference" else setup.eval_df
        assert row["duplicate_share"] == pytest.approx(frame.duplicated().mean(), abs=1e-12)
    pair = case_row(df, "high_feature_correlation")
    assert list(pair["features"]) == ["stable", "shifted"]
    expected = abs(stats.pearsonr(setup.ref_df["stable"], setup.ref_df["shifted"]).statistic)
    assert pair["correlation"] == pytest.approx(expected, abs=1e-9)


def test_category_results_df(binary):
    _, _, run = binary
    plain = run.get_category_results_df()
    assert sorted(plain["category"]) == sorted(BINARY_CATEGORIES)
    assert {"test_run_id", "category", "severity", "test_types", "failing_test_types",
            "duration_in_millis", "summary_counts.total"} <= set(plain.columns)
    cases = run.get_test_cases_df()
    for _, row in plain.iterrows():
        mine = cases[cases["category"] == row["category"]]
        assert row["summary_counts.total"] == len(mine)
        assert set(row["test_types"]) == set(mine["test_batch_type"])
    drift = plain[plain["category"] == DRIFT].iloc[0]
    assert "numeric_feature_drift" in drift["failing_test_types"]
    assert drift["severity"] == "SEVERITY_ALERT"
    with_metrics = run.get_category_results_df(show_category_results_metrics=True)
    assert len(with_metrics) == len(plain)
    # the metrics are columns of their own, counted from the cases and batches
    metrics = ["num_test_batches", "num_failing_test_batches", "num_test_cases",
               "num_failing_test_cases", "share_failing_test_cases"]
    assert not set(metrics) & set(plain.columns)
    assert set(plain.columns) | set(metrics) == set(with_metrics.columns)
    for _, row in with_metrics.iterrows():
        mine = cases[cases["category"] == row["category"]]
        bad = mine["severity"].isin(["SEVERITY_WARNING", "SEVERITY_ALERT"])
        assert row["num_test_batches"] == len(row["test_types"]) == mine["test_batch_type"].nunique()
        assert row["num_failing_test_batches"] == len(row["failing_test_types"])
        assert row["num_test_cases"] == len(mine) == row["summary_counts.total"]
        assert row["num_failing_test_cases"] == int(bad.sum())
        assert row["share_failing_test_cases"] == pytest.approx(bad.sum() / len(mine))
    drift = with_metrics[with_metrics["category"] == DRIFT].iloc[0]
    assert drift["num_failing_test_batches"] >= 1 and drift["num_failing_test_cases"] >= 1


def test_test_batches(binary):
    _, _, run = binary
    batches = list(run.get_test_batches())
    assert all(isinstance(b, assay.TestBatch) for b in batches)
    cases = run.get_test_cases_df()
    assert [b.test_type for b in batches] == list(dict.fromkeys(cases["test_batch_type"]))
    acc = run.get_test_batch("accuracy")
    assert acc.test_run_id == run.test_run_id and acc.test_type == "accuracy"
    assert repr(acc) == "TestBatch(test_run_id=%r, test_type='accuracy')" % run.test_run_id
    s = acc.summary()
    assert isinstance(s, pd.Series)
    for key in ("test_run_id", "test_type", "test_name", "category", "duration_in_millis",
                "severity", "failing_features", "description", "summary_counts.total",
                "summary_counts.pass", "summary_counts.warning", "summary_counts.fail",
                "summary_counts.skip"):
        assert key in s.index, key
    assert s["summary_counts.total"] == 1 and s["category"] == PERF
    assert "test_cases" not in s.index and "metrics" not in s.index
    s_metrics = acc.summary(show_batch_metrics=True)
    assert set(s.index) <= set(s_metrics.index)
    # batch metrics: the drift batch counts its drifted features ("shifted" of the two)
    nfd = run.get_test_batch("numeric_feature_drift")
    assert "num_drifted" not in nfd.summary().index
    nfd_metrics = nfd.summary(show_batch_metrics=True)
    assert nfd_metrics["num_drifted"] == 1
    assert nfd_metrics["share_drifted"] == pytest.approx(0.5)
    one = acc.get_test_cases_df(show_test_case_metrics=True)
    every = run.get_test_cases_df(show_test_case_metrics=True)
    assert one.iloc[0]["reference"] == case_row(every, "accuracy")["reference"]
    assert len(one) == 1
    drift = run.get_test_batch("numeric_feature_drift").get_test_cases_df()
    assert sorted(f[0] for f in drift["features"]) == ["shifted", "stable"]
    # The batches listed and the ones fetched one by one agree.
    for b in batches:
        assert b.summary().equals(run.get_test_batch(b.test_type).summary())
    with pytest.raises(assay.NotFoundError) as e:
        run.get_test_batch("no_such_test")
    assert isinstance(e.value, ValueError)
    assert "no_such_test" in str(e.value) and "accuracy" in str(e.value)


def test_report_link_and_document(binary, shared_client, module_platform, tmp_path):
    _, _, run = binary
    html = run.get_report_html()
    assert "<html" in html.lower()
    path = tmp_path / "report.html"
    assert run.write_report(path) == path
    assert path.read_text(encoding="utf-8") == html
    if module_platform.kind == "embedded":
        assert run.get_link() == "assay://test-runs/%s" % run.test_run_id
    else:
        assert run.get_link() == "%s/v1/test-runs/%s" % (module_platform.url, run.test_run_id)
    doc = run.get_document()
    assert doc["test_run_id"] == run.test_run_id
    assert sum(len(b["test_cases"]) for b in doc["test_batches"]) == len(run.get_test_cases_df())
    assert "test_batches" not in run.info


def test_list_jobs_and_runs(binary, shared_client):
    setup, job, run = binary
    project = setup.project
    assert job in list(project.list_stress_testing_jobs())
    assert job in list(project.list_stress_testing_jobs(["JOB_STATUS_SUCCEEDED"]))
    assert job in list(project.list_stress_testing_jobs(
        status_filters=["JOB_STATUS_FAILED", "JOB_STATUS_SUCCEEDED"]))
    assert list(project.list_stress_testing_jobs(["JOB_STATUS_FAILED"])) == []
    # Validation jobs are jobs of the project too, but not stress tests.
    assert all(j.job_type == "JOB_TYPE_STRESS_TEST" for j in project.list_stress_testing_jobs())
    with pytest.raises(assay.ConfigError) as e:
        list(project.list_stress_testing_jobs(["JOB_STATUS_NOPE"]))
    assert "JOB_STATUS_NOPE" in str(e.value) and "JOB_STATUS_SUCCEEDED" in str(e.value)
    runs = list(project.list_test_runs())
    assert run in runs
    assert [r for r in runs if r == run][0].info["name"] == "binary run"


def test_cancel_of_a_finished_job(binary):
    _, job, _ = binary
    with pytest.raises(assay.ConfigError) as e:
        job.cancel()
    assert isinstance(e.value, ValueError)
    assert job.job_id in str(e.value) and "JOB_STATUS_SUCCEEDED" in str(e.value)
    assert job.get_status(verbose=False)["status"] == "JOB_STATUS_SUCCEEDED"


# --- bad inputs ----------------------------------------------------------------------------

@pytest.mark.parametrize("change, error, words", [
    (lambda c: c.pop("run_name"), assay.ConfigError, ["run_name"]),
    (lambda c: c.update(categories=["TEST_CATEGORY_TYPE_NOPE"]), assay.ConfigError,
     ["TEST_CATEGORY_TYPE_NOPE", DRIFT]),
    (lambda c: c.update(test_suite_config={"individual_tests_config": {"no_such_test": {}}}),
     assay.ConfigError, ["no_such_test", "numeric_feature_drift"]),
    (lambda c: c.update(test_suite_config={"global_test_sensitivity": "VERY"}),
     assay.ConfigError, ["global_test_sensitivity", "VERY", "TEST_SENSITIVITY_DEFAULT"]),
    (lambda c: c.update(model_id="no-such-model"), assay.NotFoundError, ["no-such-model"]),
    (lambda c: c["data_info"].update(eval_dataset_id="no-such-data"), assay.NotFoundError,
     ["no-such-data"]),
])
def test_bad_configs_are_typed_errors(binary, shared_client, change, error, words):
    setup, _, _ = binary
    config = setup.config("bad")
    change(config)
    before = len(list(setup.project.list_stress_testing_jobs()))
    with pytest.raises(error) as e:
        shared_client.start_stress_test(config, setup.project.project_id)
    assert isinstance(e.value, ValueError)
    for word in words:
        assert word in str(e.value), (word, str(e.value))
    assert len(list(setup.project.list_stress_testing_jobs())) == before


def test_agents_and_experimental_fields_are_refused(binary, shared_client):
    setup, _, _ = binary
    with pytest.raises(assay.ConfigError, match="agent"):
        shared_client.start_stress_test(setup.config(), setup.project.project_id,
                                        agent_id="agent-1")
    with pytest.raises(assay.ConfigError, match="fancy"):
        shared_client.start_stress_test(setup.config(), setup.project.project_id, fancy=True)
    with pytest.raises(assay.NotFoundError):
        shared_client.start_stress_test(setup.config(), "no-such-project")


def test_unknown_test_run_is_a_not_found_value_error(shared_client):
    with pytest.raises(assay.NotFoundError) as e:
        shared_client.get_test_run("no-such-run")
    assert isinstance(e.value, ValueError) and "no-such-run" in str(e.value)


def test_job_that_is_not_a_stress_test_has_no_test_run(binary, shared_client):
    setup, _, _ = binary
    validation = shared_client.get_job(setup.project.get_dataset(setup.ref_id)["validation_job_id"])
    with pytest.raises(assay.ConfigError, match="not a stress test"):
        validation.get_test_run()


# --- categories of a project ---------------------------------------------------------------

def test_update_stress_test_categories(binary, shared_client):
    setup, _, _ = binary
    project = shared_client.create_project("categories", "c", BINARY)
    assert project.info["stress_test_categories"]  # defaults until set
    project.update_stress_test_categories([DRIFT])
    assert project.info["stress_test_categories"] == [DRIFT]
    assert shared_client.get_project(project.project_id).info["stress_test_categories"] == [DRIFT]
    with pytest.raises(assay.ConfigError) as e:
        project.update_stress_test_categories(["TEST_CATEGORY_TYPE_NOPE"])
    assert "TEST_CATEGORY_TYPE_NOPE" in str(e.value) and PERF in str(e.value)
    with pytest.raises(assay.ConfigError):
        project.update_stress_test_categories([])
    assert shared_client.get_project(project.project_id).info["stress_test_categories"] == [DRIFT]

    # A run whose config names no categories runs the project's.
    setup.project.update_stress_test_categories([CLEAN])
    try:
        job = shared_client.start_stress_test(setup.config("project categories"),
                                              setup.project.project_id)
        job.get_status(verbose=False, wait_until_finish=True, poll_rate_sec=0.2)
        run = job.get_test_run()
        assert set(run.get_test_cases_df()["category"]) == {CLEAN}
        assert list(run.get_category_results_df()["category"]) == [CLEAN]
    finally:
        setup.project.update_stress_test_categories(BINARY_CATEGORIES)


# --- regression with registered predictions ------------------------------------------------

def test_regression_with_registered_predictions(shared_client, tmp_path):
    project = shared_client.create_project("regression-stress", "r", REGRESSION)
    (ref, ref_pred), (ev, ev_pred) = regression_frames()
    ref_id = upload_csv(shared_client, project, tmp_path, "ref", ref, {"label_col": "y"})
    eval_id = upload_csv(shared_client, project, tmp_path, "eval", ev, {"label_col": "y"})
    model_id = project.register_model("regressor")
    for dataset_id, preds, name in [(ref_id, ref_pred, "ref_pred"), (eval_id, ev_pred, "ev_pred")]:
        path = tmp_path / (name + ".csv")
        preds.to_csv(path, index=False)
        project.register_predictions_from_file(dataset_id, model_id,
                                               shared_client.upload_file(path),
                                               pred_params={"pred_col": "pred"})
        p = project.get_predictions(model_id, dataset_id)
        assert p["validity_status"] == "VALIDITY_STATUS_VALID", p["validity_message"]
    job = shared_client.start_stress_test(
        {"run_name": "regression", "model_id": model_id, "categories": [PERF],
         "data_info": {"ref_dataset_id": ref_id, "eval_dataset_id": eval_id}},
        project.project_id)
    assert job.get_status(verbose=False, wait_until_finish=True,
                          poll_rate_sec=0.2)["status"] == "JOB_STATUS_SUCCEEDED", job.error_msg
    run = job.get_test_run()
    assert run.get_result_df().iloc[0]["model_task"] == REGRESSION
    df = run.get_test_cases_df(show_test_case_metrics=True)
    pairs = {
        "mae": metrics.mean_absolute_error,
        "mse": metrics.mean_squared_error,
        "rmse": lambda y, p: np.sqrt(metrics.mean_squared_error(y, p)),
        "r2": metrics.r2_score,
        "rank_correlation": lambda y, p: stats.spearmanr(y, p).statistic,
    }
    for test_type, fn in pairs.items():
        row = case_row(df, test_type)
        assert row["reference"] == pytest.approx(fn(ref["y"], ref_pred["pred"]), abs=1e-9)
        assert row["evaluation"] == pytest.approx(fn(ev["y"], ev_pred["pred"]), abs=1e-9)
    mae = case_row(df, "mae")
    assert mae["degradation"] == pytest.approx(
        (mae["evaluation"] - mae["reference"]) / abs(mae["reference"]), abs=1e-12)
    assert mae["severity"] == "SEVERITY_ALERT"  # four times the noise
    assert case_row(df, "r2")["degradation"] == pytest.approx(
        case_row(df, "r2")["reference"] - case_row(df, "r2")["evaluation"], abs=1e-12)
    assert set(df["category"]) == {PERF}
    assert not any(t.startswith("accuracy") for t in df["test_batch_type"])


# --- pending jobs: cancel, no test run yet ------------------------------------------------

def test_cancel_of_a_pending_job(platform, tmp_path):
    """Data registered by a platform with workers; then a platform on the
    same home with no worker, so the stress test stays pending."""
    with platform.client() as c:
        setup = BinarySetup(c, tmp_path, "pending")
        project_id = setup.project.project_id
        config = setup.config("pending run", categories=[DRIFT])
    server = None
    if platform.kind == "embedded":
        idle = platform.client(workers=0)
    else:
        assert platform.stop() == 0
        server = Assayd(platform.home, "--workers", "0")
        idle = assay.Client(server.url, api_key=server.token)
    try:
        project = idle.get_project(project_id)
        job = idle.start_stress_test(config, project_id)
        assert job.get_status(verbose=False)["status"] == "JOB_STATUS_PENDING"
        assert job in list(project.list_stress_testing_jobs(["JOB_STATUS_PENDING"]))
        assert job not in list(project.list_stress_testing_jobs(["JOB_STATUS_RUNNING"]))
        with pytest.raises(assay.ConfigError) as e:
            job.get_test_run()
        assert isinstance(e.value, ValueError) and "JOB_STATUS_PENDING" in str(e.value)
        assert job.cancel() is None
        assert job.info["status"] == "JOB_STATUS_CANCELLED"
        assert job.get_status(verbose=False)["status"] == "JOB_STATUS_CANCELLED"
        with pytest.raises(assay.ConfigError, match="JOB_STATUS_CANCELLED"):
            job.get_test_run_id()
        with pytest.raises(assay.ConfigError, match="already finished"):
            job.cancel()
        assert job in list(project.list_stress_testing_jobs(["JOB_STATUS_CANCELLED"]))
        assert list(project.list_test_runs()) == []
    finally:
        idle.close()
        if server is not None:
            assert server.stop() == 0


def test_waiting_for_a_job_that_another_platform_runs(tmp_path, capsys):
    """get_status(wait_until_finish=True) follows a job that is pending when
    it starts waiting and that a platform opened later runs."""
    home = tmp_path / "home"
    with assay.Client(home=home) as c:
        setup = BinarySetup(c, tmp_path, "waiting")
        config = setup.config("waited", categories=[DRIFT])
        project_id = setup.project.project_id
    with assay.Client(home=home, workers=0) as idle:
        job = idle.start_stress_test(config, project_id)
        outcome = {}

        def run_it_later():
            time.sleep(0.5)
            with assay.Client(home=home) as worker:
                outcome["status"] = worker.get_job(job.job_id).get_status(
                    verbose=False, wait_until_finish=True, poll_rate_sec=0.1)["status"]

        thread = threading.Thread(target=run_it_later)
        thread.start()
        try:
            status = job.get_status(verbose=True, wait_until_finish=True, poll_rate_sec=0.2)
        finally:
            thread.join()
        assert status["status"] == outcome["status"] == "JOB_STATUS_SUCCEEDED"
        n = len(list(job.get_test_run().get_test_batches()))
        out = capsys.readouterr().out
        assert out.count("%d / %d tests completed" % (n, n)) == 1, out
        assert "0 / 0" not in out


# --- pandas is optional; a notebook gets a bar ---------------------------------------------

def test_results_without_pandas(binary, monkeypatch, python_env):
    _, _, run = binary
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now fails
    for call in (run.get_result_df, run.get_test_cases_df, run.get_category_results_df,
                 lambda: run.get_test_batch("accuracy").summary(),
                 lambda: run.get_test_batch("accuracy").get_test_cases_df()):
        with pytest.raises(ImportError, match="pandas"):
            call()
    assert run.get_document()["test_run_id"] == run.test_run_id
    assert [b.test_type for b in run.get_test_batches()]
    # The package imports in a process where pandas cannot be imported.
    code = ("import sys; sys.modules['pandas'] = None\n"
            "import assay, assay.test_run\n"
            "assert 'pandas' not in [m for m in sys.modules if sys.modules[m] is not None]\n")
    out = subprocess.run([sys.executable, "-c", code], env=python_env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_progress_bar_in_a_notebook(binary, monkeypatch, capsys):
    _, job, run = binary
    n = len(list(run.get_test_batches()))
    shown = []

    class Handle:
        def update(self, obj):
            shown.append(("update", repr(obj), obj._repr_html_()))

    def display(obj, display_id=False):
        assert display_id is True
        shown.append(("display", repr(obj), obj._repr_html_()))
        return Handle()

    kernel_shell = types.SimpleNamespace(kernel=object())
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: kernel_shell
    ipython_display = types.ModuleType("IPython.display")
    ipython_display.display = display
    ipython.display = ipython_display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", ipython_display)

    job.get_status(verbose=True, wait_until_finish=True, poll_rate_sec=0.1)
    assert len(shown) == 1, shown
    kind, text, html = shown[0]
    assert kind == "display"
    assert text == "[%s] %d / %d tests completed" % ("#" * 30, n, n)
    assert html == "<pre>%s</pre>" % text
    out = capsys.readouterr().out
    assert "JOB_STATUS_SUCCEEDED" in out and "tests completed" not in out

    # Outside a kernel (a plain IPython shell) the progress is printed.
    ipython.get_ipython = lambda: types.SimpleNamespace()
    job.get_status(verbose=True)
    assert "%d / %d tests completed" % (n, n) in capsys.readouterr().out


# --- the same run from Lua ---------------------------------------------------------------

LUA_RUN = r"""
local assay = require "assay"
local core = require "assay.core"
local client = assay.Client(os.getenv("T_URL"), os.getenv("T_TOKEN"))
local config = assert(load("return " .. os.getenv("T_CONFIG")))()
local job = client:start_stress_test(config, os.getenv("T_PROJECT"))
local status = job:get_status({ verbose = false, wait_until_finish = true, poll_rate_sec = 0.2 })
assert(status.status == "JOB_STATUS_SUCCEEDED", tostring(job:error_msg()))
local run = job:get_test_run()
io.write(core.assay_value_dump({ test_run_id = run.test_run_id,
                                 cases = run:get_test_cases_df(true) }, 1))
"""


def lua_table(value):
    """A Python value as Lua table-constructor text."""
    if isinstance(value, dict):
        return "{" + ", ".join("[%s] = %s" % (json.dumps(k), lua_table(v))
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "{" + ", ".join(lua_table(v) for v in value) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def test_lua_and_python_runs_give_the_same_test_cases(assayd, tmp_path):
    client = assayd.client()
    setup = BinarySetup(client, tmp_path, "cross-language")
    config = setup.config("from python", categories=BINARY_CATEGORIES,
                          test_suite_config=BINARY_SUITE)
    job = client.start_stress_test(config, setup.project.project_id)
    job.get_status(verbose=False, wait_until_finish=True, poll_rate_sec=0.2)
    py_run = job.get_test_run()

    script = tmp_path / "stress.lua"
    script.write_text(LUA_RUN)
    lua_dir = BUILD_DIR / "lua"
    env = dict(os.environ, T_URL=assayd.url, T_TOKEN=assayd.token,
               T_PROJECT=setup.project.project_id,
               T_CONFIG=lua_table(dict(config, run_name="from lua")),
               LUA_PATH="%s/?.lua;%s/?/init.lua;;" % (lua_dir, lua_dir),
               LUA_CPATH="%s/?.so;;" % lua_dir)
    out = subprocess.run(["lua5.4", str(script)], capture_output=True, text=True, timeout=60,
                         env=env)
    assert out.returncode == 0, out.stderr
    lua = json.loads(out.stdout)
    assert lua["test_run_id"] != py_run.test_run_id
    runs = {r.test_run_id: r for r in setup.project.list_test_runs()}
    assert runs[lua["test_run_id"]].info["name"] == "from lua"

    def comparable(rows):
        return [{k: v for k, v in row.items() if k != "test_run_id" and v is not None}
                for row in rows]

    py_rows = client.get_test_run(py_run.test_run_id).get_test_cases_df(True)
    py_rows = [{k: v for k, v in r.items() if not (isinstance(v, float) and np.isnan(v))}
               for r in py_rows.to_dict("records")]
    assert len(lua["cases"]) == len(py_rows) > 0
    assert comparable(lua["cases"]) == comparable(py_rows)
    client.close()
