"""Stress tests whose predictions come from the model file, run by the
runner's "predict" mode, from Python on the embedded platform and on a real
assayd: a binary predict_df model (an uploaded .py), a multiclass model
folder (model.py importing a module beside it), a regression model_loading
function with params, a predict_dict model; the metrics of the run are
recomputed here with scikit-learn from the same model applied with pandas;
a model that fails, or returns the wrong shape, fails the job with the
model's error; a hugging_face model gives no predictions (the tests that
need them are skipped)."""

import textwrap

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
metrics = pytest.importorskip("sklearn.metrics")

BINARY = "MODEL_TASK_BINARY_CLASSIFICATION"
MULTICLASS = "MODEL_TASK_MULTICLASS_CLASSIFICATION"
REGRESSION = "MODEL_TASK_REGRESSION"
PERF = "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE"


@pytest.fixture(scope="module")
def shared_client(module_platform):
    with module_platform.client() as c:
        yield c


def write(folder, name, source):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(source))
    return path


def register_csv(client, project, folder, name, df, params):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name + ".csv")
    df.to_csv(path, index=False)
    dataset_id = project.upload_and_register_dataset_from_file(name, path, data_params=params)
    d = project.get_dataset(dataset_id)
    assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
    return dataset_id


def run(client, project, model_id, ref_id, eval_id, categories=(PERF,)):
    job = client.start_stress_test({"run_name": "model run", "model_id": model_id,
                                    "data_info": {"ref_dataset_id": ref_id,
                                                  "eval_dataset_id": eval_id},
                                    "categories": list(categories)},
                                   project.project_id)
    job.get_status(verbose=False, wait_until_finish=True, poll_rate_sec=0.2)
    return job


def succeeded(job):
    status = job.get_status(verbose=False)["status"]
    assert status == "JOB_STATUS_SUCCEEDED", (status, job.error_msg)
    return job.get_test_run()


def metric_row(test_run, test_type):
    df = test_run.get_test_cases_df(show_test_case_metrics=True)
    rows = df[df["test_batch_type"] == test_type]
    assert len(rows) == 1, (test_type, df["test_batch_type"].tolist())
    return rows.iloc[0]


def pred_source(client, test_run):
    doc = client.request("GET", "/v1/test-runs/%s/document" % test_run.test_run_id)
    return doc["data"]["pred_source"]


# --- binary: predict_df in an uploaded .py -------------------------------------------

BINARY_MODEL = """
    import numpy as np

    def predict_df(df):
        assert "label" not in df.columns and "ts" not in df.columns, list(df.columns)
        assert "note" not in df.columns, "features_not_in_model reached the model"
        z = 1.5 * df["a"].fillna(0.0).to_numpy() - 0.5 + (df["city"] == "paris").to_numpy()
        return 1.0 / (1.0 + np.exp(-z))
"""


def binary_model(df):
    z = 1.5 * df["a"].fillna(0.0).to_numpy() - 0.5 + (df["city"] == "paris").to_numpy()
    return 1.0 / (1.0 + np.exp(-z))


def binary_frame(rng, n, shift):
    a = rng.normal(shift, 1.0, n).round(6)
    a[rng.random(n) < 0.05] = np.nan
    city = rng.choice(["paris", "lyon", "nice"], n)
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-1.2 * np.nan_to_num(a)))).astype(int)
    ts = pd.date_range("2026-01-01", periods=n, freq="min").strftime("%Y-%m-%dT%H:%M:%SZ")
    return pd.DataFrame({"ts": ts, "a": a, "city": city, "note": rng.integers(0, 5, n),
                         "label": label})


@pytest.fixture(scope="module")
def binary_setup(shared_client, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("binary-model")
    rng = np.random.default_rng(3)
    project = shared_client.create_project("model-binary", "model predictions", BINARY)
    ref, ev = binary_frame(rng, 500, 0.0), binary_frame(rng, 400, 0.7)
    params = {"label_col": "label", "timestamp_col": "ts", "features_not_in_model": ["note"]}
    ref_id = register_csv(shared_client, project, tmp, "ref", ref, params)
    eval_id = register_csv(shared_client, project, tmp, "eval", ev, params)
    return shared_client, project, tmp, ref, ev, ref_id, eval_id


def test_binary_predict_df_model(binary_setup):
    client, project, tmp, ref, ev, ref_id, eval_id = binary_setup
    location = client.upload_file(write(tmp / "m", "binary_model.py", BINARY_MODEL))
    model_id = project.register_model("binary-file", {"model_path": {"path": location}})
    test_run = succeeded(run(client, project, model_id, ref_id, eval_id))
    assert pred_source(client, test_run) == "model"
    pairs = {
        "accuracy": lambda d, p: metrics.accuracy_score(d["label"], p >= 0.5),
        "auc": lambda d, p: metrics.roc_auc_score(d["label"], p),
        "log_loss": lambda d, p: metrics.log_loss(d["label"], p),
        "brier_score": lambda d, p: metrics.brier_score_loss(d["label"], p),
    }
    p_ref, p_ev = binary_model(ref), binary_model(ev)
    for test_type, fn in pairs.items():
        row = metric_row(test_run, test_type)
        assert row["category"] == PERF
        assert row["reference"] == pytest.approx(fn(ref, p_ref), abs=1e-9), test_type
        assert row["evaluation"] == pytest.approx(fn(ev, p_ev), abs=1e-9), test_type


def test_binary_predict_dict_model(binary_setup):
    client, project, tmp, ref, ev, ref_id, eval_id = binary_setup
    location = client.upload_file(write(tmp / "d", "dict_model.py", """
        import math

        def predict_dict(row):
            assert set(row) == {"a", "city"}, row
            a = 0.0 if row["a"] is None else row["a"]
            return 1.0 / (1.0 + math.exp(-(1.5 * a - 0.5 + (row["city"] == "paris"))))
    """))
    model_id = project.register_model("binary-dict", {"model_path": {"path": location}})
    test_run = succeeded(run(client, project, model_id, ref_id, eval_id))
    row = metric_row(test_run, "auc")
    assert row["reference"] == pytest.approx(metrics.roc_auc_score(ref["label"], binary_model(ref)),
                                             abs=1e-9)
    assert row["evaluation"] == pytest.approx(metrics.roc_auc_score(ev["label"], binary_model(ev)),
                                              abs=1e-9)


@pytest.mark.parametrize("name, source, expected", [
    ("raises", "def predict_df(df):\n    raise ValueError('no weights for %d rows' % len(df))\n",
     "model function 'predict_df' raised ValueError: no weights for 500 rows"),
    ("shape", "import numpy as np\ndef predict_df(df):\n    return np.zeros((len(df), 3))\n",
     "model function 'predict_df' returned shape (500, 3) for 500 rows; expected (500,), "
     "(500, 1) or (500, 2) (the positive-class probability) for binary classification"),
    ("missing", "def helper(df):\n    return 0\n",
     "model file 'bad_model.py' has no predict_df or predict_dict function"),
])
def test_failing_model_fails_the_job_with_its_error(binary_setup, name, source, expected):
    client, project, tmp, ref, ev, ref_id, eval_id = binary_setup
    location = client.upload_file(write(tmp / name, "bad_model.py", source),
                                  upload_path="bad-" + name)
    model_id = project.register_model("bad-" + name, {"model_path": {"path": location}})
    job = run(client, project, model_id, ref_id, eval_id)
    status = job.get_status(verbose=False)
    assert status["status"] == "JOB_STATUS_FAILED"
    assert expected in job.error_msg, job.error_msg
    assert "predicting the reference dataset with model" in job.error_msg


def test_hugging_face_model_gives_no_predictions(binary_setup):
    client, project, tmp, ref, ev, ref_id, eval_id = binary_setup
    model_id = project.register_model("hf", {"hugging_face": {"model_uri": "org/some-model"}})
    test_run = succeeded(run(client, project, model_id, ref_id, eval_id))
    assert pred_source(client, test_run) == "none"
    row = metric_row(test_run, "accuracy")
    assert row["status"] == "TEST_CASE_STATUS_SKIP"


# --- multiclass: a model folder --------------------------------------------------------

def test_multiclass_model_folder(shared_client, tmp_path):
    client = shared_client
    rng = np.random.default_rng(8)
    project = client.create_project("model-multi", "model predictions", MULTICLASS)

    def frame(n, shift):
        x = rng.normal(shift, 1.0, n).round(6)
        y = rng.normal(0.0, 1.0, n).round(6)
        label = np.clip(np.round(x + rng.normal(0, 0.8, n)).astype(int) + 1, 0, 2)
        return pd.DataFrame({"x": x, "y": y, "label": label})

    ref, ev = frame(300, 0.0), frame(300, 0.4)
    params = {"label_col": "label", "class_names": ["low", "mid", "high"]}
    ref_id = register_csv(client, project, tmp_path, "ref", ref, params)
    eval_id = register_csv(client, project, tmp_path, "eval", ev, params)
    folder = tmp_path / "multi_model"
    write(folder, "weights.py", "CENTERS = [-1.0, 0.0, 1.0]\n")
    write(folder, "model.py", """
        import numpy as np
        from weights import CENTERS

        def predict_df(df):
            d = -(df["x"].to_numpy()[:, None] - np.array(CENTERS)[None, :]) ** 2
            e = np.exp(d - d.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
    """)
    location = client.upload_directory(folder)
    model_id = project.register_model("multi-folder", {"model_path": {"path": location}})
    test_run = succeeded(run(client, project, model_id, ref_id, eval_id))
    assert pred_source(client, test_run) == "model"

    def probs(df):
        d = -(df["x"].to_numpy()[:, None] - np.array([-1.0, 0.0, 1.0])[None, :]) ** 2
        e = np.exp(d - d.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    acc = metric_row(test_run, "multiclass_accuracy")
    assert acc["reference"] == pytest.approx(
        metrics.accuracy_score(ref["label"], probs(ref).argmax(axis=1)), abs=1e-9)
    assert acc["evaluation"] == pytest.approx(
        metrics.accuracy_score(ev["label"], probs(ev).argmax(axis=1)), abs=1e-9)
    f1 = metric_row(test_run, "macro_f1")
    assert f1["evaluation"] == pytest.approx(
        metrics.f1_score(ev["label"], probs(ev).argmax(axis=1), average="macro"), abs=1e-9)


# --- regression: model_loading with params -------------------------------------------

def test_regression_model_loading_with_params(shared_client, tmp_path):
    client = shared_client
    rng = np.random.default_rng(21)
    project = client.create_project("model-reg", "model predictions", REGRESSION)

    def frame(n, noise):
        a = rng.normal(0.0, 1.0, n).round(6)
        b = rng.uniform(0.0, 10.0, n).round(6)
        return pd.DataFrame({"a": a, "b": b,
                             "y": (3.0 * a + 0.5 * b + rng.normal(0.0, noise, n)).round(6)})

    ref, ev = frame(300, 0.3), frame(300, 1.0)
    params = {"label_col": "y"}
    ref_id = register_csv(client, project, tmp_path, "ref", ref, params)
    eval_id = register_csv(client, project, tmp_path, "eval", ev, params)
    location = client.upload_file(write(tmp_path / "reg", "linear.py", """
        class Linear:
            def __init__(self, wa, wb):
                self.wa, self.wb = wa, wb

            def predict_df(self, df):
                return (self.wa * df["a"] + self.wb * df["b"]).to_numpy()

        def load(wa, wb=0.0):
            return Linear(wa, wb)
    """))
    model_id = project.register_model("linear", {"model_loading": {
        "path": location, "load_func_name": "load", "params": {"wa": 2.9, "wb": 0.55}}})
    test_run = succeeded(run(client, project, model_id, ref_id, eval_id))
    for df, side in ((ref, "reference"), (ev, "evaluation")):
        pred = 2.9 * df["a"] + 0.55 * df["b"]
        assert metric_row(test_run, "mae")[side] == pytest.approx(
            metrics.mean_absolute_error(df["y"], pred), abs=1e-9)
        assert metric_row(test_run, "rmse")[side] == pytest.approx(
            np.sqrt(metrics.mean_squared_error(df["y"], pred)), abs=1e-9)
        assert metric_row(test_run, "r2")[side] == pytest.approx(
            metrics.r2_score(df["y"], pred), abs=1e-9)
