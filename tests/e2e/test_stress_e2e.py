"""End-to-end acceptance of stress tests (issue 5) on a real ``assayd`` on
loopback, driven by the Python client over HTTP and by a ``lua5.4`` child,
on data generated afresh for every run (numpy, a random seed printed with
every test's output; ``ASSAY_E2E_SEED=<seed>`` replays one):

- binary reference / evaluation sets of 50k rows, 20 numeric and 5
  categorical features, 3 numeric features shifted (mean, scale, both) and
  1 categorical (mix reversed): drift is flagged on exactly those, with PSI
  (default) and with ks, wasserstein and jensen_shannon — values checked
  against scipy;
- the MODEL_PERFORMANCE metrics match scikit-learn / scipy to 1e-9 for a
  binary, a multiclass and a regression run;
- the same config started from Lua gives the same test cases, exactly;
- the model file run by the runner (predict_df) gives what pred_col gives;
- cancel over HTTP; a platform stopped (SIGTERM) while a test runs puts it
  back in the queue and the next one runs it; a platform killed (SIGKILL)
  leaves it to be failed, with the reason, once its heartbeat is stale.
"""

import json
import math
import os
import random
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from assayd_process import BUILD_DIR, Assayd

sys.path.insert(0, str(BUILD_DIR / "python"))
import assay  # noqa: E402

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
skm = pytest.importorskip("sklearn.metrics")
stats = pytest.importorskip("scipy.stats")
distance = pytest.importorskip("scipy.spatial.distance")

SEED = int(os.environ.get("ASSAY_E2E_SEED") or random.SystemRandom().randrange(2**32))

BINARY = "MODEL_TASK_BINARY_CLASSIFICATION"
MULTICLASS = "MODEL_TASK_MULTICLASS_CLASSIFICATION"
REGRESSION = "MODEL_TASK_REGRESSION"
PERF = "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE"
DRIFT = "TEST_CATEGORY_TYPE_DRIFT"
FINAL = {"JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED"}
TOL = 1e-9

N_ROWS = 50_000
N_NUM, N_CAT = 20, 5
KINDS = ("normal", "uniform", "gamma", "lognormal", "poisson", "normal_nulls")
LEVELS = (3, 4, 6, 8, 12)  # levels of cat_0 .. cat_4 (cat_4: integer codes)


@pytest.fixture(autouse=True)
def _print_seed():
    print("data seed: ASSAY_E2E_SEED=%d replays this run's data" % SEED)


def close(a, b, tol=TOL):
    return a is not None and b is not None and math.isclose(a, b, rel_tol=tol, abs_tol=tol)


# --- data --------------------------------------------------------------------------------------

def numeric_specs(rng):
    """(name, kind, params) of the 20 numeric features: normals, uniforms,
    gammas, lognormals, Poisson integers (ties) and a normal with 3% nulls."""
    specs = []
    for i in range(N_NUM):
        kind = KINDS[i % len(KINDS)]
        if kind.startswith("normal"):
            p = (rng.uniform(-5, 5), rng.uniform(0.5, 3.0))
        elif kind == "uniform":
            lo = rng.uniform(-10, 0)
            p = (lo, lo + rng.uniform(1, 20))
        elif kind == "gamma":
            p = (rng.uniform(1.5, 4.0), rng.uniform(0.5, 2.0))
        elif kind == "lognormal":
            p = (rng.uniform(-1, 1), rng.uniform(0.3, 0.6))
        else:
            p = (rng.uniform(2, 8),)
        specs.append(("num_%02d" % i, kind, p))
    return specs


def sample_numeric(rng, kind, p, n):
    if kind == "poisson":
        return rng.poisson(p[0], n).astype(np.int64)
    if kind.startswith("normal"):
        x = rng.normal(p[0], p[1], n)
    elif kind == "uniform":
        x = rng.uniform(p[0], p[1], n)
    elif kind == "gamma":
        x = rng.gamma(p[0], p[1], n)
    else:
        x = rng.lognormal(p[0], p[1], n)
    x = np.round(x, 6)  # what the CSV file holds, exactly
    if kind == "normal_nulls":
        x[rng.random(n) < 0.03] = np.nan
    return x


def shift_numeric(x, how, ref):
    """The evaluation's shift: "mean" +1 sd, "scale" x2.5 around the mean,
    "mean_scale" x0.4 and +0.6 sd."""
    m, s = np.nanmean(ref), np.nanstd(ref)
    if how == "mean":
        y = x + (max(1, round(s)) if x.dtype.kind == "i" else s)
    elif how == "scale":
        y = m + (x - m) * 2.5
    else:
        y = m + (x - m) * 0.4 + 0.6 * s
    if x.dtype.kind == "i":
        return np.round(y).astype(np.int64)
    return np.round(y, 6)


def cat_specs(rng):
    """(name, levels, probabilities): string levels, Zipf-like shares; the
    last feature has integer codes (categorical by data_params)."""
    specs = []
    for i, k in enumerate(LEVELS):
        if i == N_CAT - 1:
            levels = np.array([10 * j + 1 for j in range(k)], dtype=np.int64)
        else:
            levels = np.array(["c%d_%s" % (i, chr(ord("a") + j) * (1 + j % 3))
                               for j in range(k)], dtype=object)
        w = 1.0 / np.arange(1, k + 1) ** rng.uniform(0.8, 1.5)
        specs.append(("cat_%d" % i, levels, w / w.sum()))
    return specs


# The model: the predictions of pred_col and of the uploaded model file are
# both this code's, so they are the same numbers bit for bit.
MODEL_SOURCE = '''\
"""A binary classifier for the assay e2e tests: a fixed logistic model."""
import time

import numpy as np

WEIGHTS = %(weights)r
OFFSETS = %(offsets)r
INTERCEPT = %(intercept)r
SLEEP = %(sleep)r


def scores(df):
    z = np.full(len(df), INTERCEPT)
    for name, (mean, std, w) in WEIGHTS.items():
        t = (df[name].to_numpy(dtype=np.float64) - mean) / std * w
        z = z + np.where(np.isnan(t), 0.0, t)
    for name, table in OFFSETS.items():
        z = z + df[name].map(table).fillna(0.0).to_numpy(dtype=np.float64)
    p = 1.0 / (1.0 + np.exp(-z))
    return np.clip(np.round(p, 6), 1e-6, 1 - 1e-6)


def predict_df(df):
    if SLEEP:
        time.sleep(SLEEP)
    return scores(df)
'''


def model_source(model, sleep=0.0):
    return MODEL_SOURCE % dict(model, sleep=float(sleep))


def model_scores(model, df):
    ns = {}
    exec(compile(model_source(model), "<model>", "exec"), ns)  # noqa: S102
    return ns["scores"](df)


class BinaryData:
    """Reference / evaluation frames of a binary task, which features were
    shifted, and the model whose scores are the `prob` column."""

    def __init__(self, seed, n=N_ROWS):
        rng = np.random.default_rng(seed)
        nspecs, cspecs = numeric_specs(rng), cat_specs(rng)
        self.numeric = [s[0] for s in nspecs]
        self.categorical = [s[0] for s in cspecs]
        picked = [self.numeric[i] for i in rng.choice(N_NUM, 3, replace=False)]
        self.how = dict(zip(picked, ("mean", "scale", "mean_scale")))
        self.shifted_numeric = set(picked)
        self.shifted_categorical = {self.categorical[rng.integers(N_CAT)]}
        ref, ev = {}, {}
        for name, kind, p in nspecs:
            ref[name] = sample_numeric(rng, kind, p, n)
            x = sample_numeric(rng, kind, p, n)
            ev[name] = shift_numeric(x, self.how[name], ref[name]) if name in self.how else x
        for name, levels, probs in cspecs:
            ref[name] = rng.choice(levels, n, p=probs)
            mix = probs[::-1] if name in self.shifted_categorical else probs
            ev[name] = rng.choice(levels, n, p=mix)
        self.ref, self.eval = pd.DataFrame(ref), pd.DataFrame(ev)
        used = [self.numeric[i] for i in rng.choice(N_NUM, 6, replace=False)]
        levels_of = {name: levels for name, levels, _ in cspecs}
        self.model = {
            "weights": {c: (float(np.nanmean(ref[c])), float(np.nanstd(ref[c])),
                            float(rng.uniform(-1.2, 1.2))) for c in used},
            "offsets": {c: {lv.item() if hasattr(lv, "item") else lv: float(rng.normal(0, 0.7))
                            for lv in levels_of[c]}
                        for c in self.categorical[:2] + self.categorical[-1:]},
            "intercept": float(rng.normal(0, 0.3)),
        }
        extra = self.numeric[int(rng.integers(N_NUM))]
        for df in (self.ref, self.eval):
            p = model_scores(self.model, df)
            x = df[extra].to_numpy(dtype=np.float64)
            z = (np.log(p / (1 - p)) + 0.6 * np.nan_to_num((x - np.nanmean(ref[extra]))
                                                          / np.nanstd(ref[extra]))
                 + rng.normal(0, 0.7, len(df)))
            df["label"] = (rng.random(len(df)) < 1 / (1 + np.exp(-z))).astype(np.int64)
            df["prob"] = p


def upload_csv(client, project, tmp_path, name, df, data_params):
    path = tmp_path / (name + ".csv")
    df.to_csv(path, index=False)
    dataset_id = project.upload_and_register_dataset_from_file(name, path,
                                                               data_params=data_params)
    record = project.get_dataset(dataset_id)
    assert record["validity_status"] == "VALIDITY_STATUS_VALID", record["validity_message"]
    return dataset_id


def config_of(run_name, model_id, ref_id, eval_id, **extra):
    config = {"run_name": run_name, "model_id": model_id,
              "data_info": {"ref_dataset_id": ref_id, "eval_dataset_id": eval_id}}
    config.update(extra)
    return config


def wait_job(client, job_id, statuses=FINAL, timeout=60.0):
    """Poll the job until its status is one of `statuses`; its record."""
    deadline = time.monotonic() + timeout
    while True:
        record = client.get_job(job_id).info
        if record["status"] in statuses:
            return record
        if record["status"] in FINAL or time.monotonic() > deadline:
            raise AssertionError("job %s is %s, waited for %s: %s"
                                 % (job_id, record["status"], sorted(statuses), record))
        time.sleep(0.05)


def run_and_wait(client, config, project_id, timeout=60.0):
    job = client.start_stress_test(config, project_id)
    record = wait_job(client, job.job_id, timeout=timeout)
    assert record["status"] == "JOB_STATUS_SUCCEEDED", (record, job.get_log())
    return job.get_test_run()


def case_rows(client, test_run_id):
    """The run's test cases with their metrics, as the REST API answers them."""
    body = client.request("GET", "/v1/test-runs/%s/test-cases?show_metrics=true" % test_run_id)
    assert set(body) == {"test_cases"}, set(body)
    return body["test_cases"]


def by_feature(rows, test_type):
    out = {}
    for r in rows:
        if r["test_batch_type"] == test_type:
            assert len(r["features"]) == 1, r
            assert r["features"][0] not in out, r
            out[r["features"][0]] = r
    return out


def one_case(rows, test_type):
    found = [r for r in rows if r["test_batch_type"] == test_type]
    assert len(found) == 1, (test_type, [r["test_batch_type"] for r in rows])
    return found[0]


# --- expected drift statistics -----------------------------------------------------------------

def finite(x):
    x = np.asarray(x, dtype=np.float64)
    return x[np.isfinite(x)]


def numeric_counts(ref, ev, num_bins=10):
    edges = np.unique(np.quantile(ref, np.arange(1, num_bins) / num_bins))
    k = len(edges) + 1
    return (np.bincount(np.searchsorted(edges, ref, side="left"), minlength=k).astype(float),
            np.bincount(np.searchsorted(edges, ev, side="left"), minlength=k).astype(float))


def categorical_counts(ref, ev):
    ref, ev = pd.Series(ref).dropna(), pd.Series(ev).dropna()
    seen = set(ref)
    cats = list(pd.unique(ref)) + [c for c in pd.unique(ev) if c not in seen]
    rc, ec = ref.value_counts(), ev.value_counts()
    return (np.array([rc.get(c, 0) for c in cats], dtype=float),
            np.array([ec.get(c, 0) for c in cats], dtype=float))


def psi(rc, ec, eps=1e-4):
    r, e = np.maximum(rc / rc.sum(), eps), np.maximum(ec / ec.sum(), eps)
    return float(np.sum((r - e) * np.log(r / e)))


def expected_drift(data, feature, statistic):
    """(metric name, value) the engine should report for a feature."""
    if feature in data.numeric:
        r, e = finite(data.ref[feature]), finite(data.eval[feature])
        if statistic == "ks":
            return "ks_statistic", float(stats.ks_2samp(r, e).statistic)
        if statistic == "wasserstein":
            return ("wasserstein_normed",
                    float(stats.wasserstein_distance(r, e) / max(np.std(r), 0.001)))
        rc, ec = numeric_counts(r, e)
    else:
        rc, ec = categorical_counts(data.ref[feature], data.eval[feature])
    if statistic == "jensen_shannon":
        return "jensen_shannon", float(distance.jensenshannon(rc, ec, base=2))
    assert statistic == "psi"
    return "psi", psi(rc, ec)


# --- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = Assayd(tmp_path_factory.mktemp("stress-e2e") / "home")
    yield d
    assert d.stop() == 0, d.stderr


@pytest.fixture(scope="module")
def client(server):
    with assay.Client(server.url, api_key=server.token) as c:
        yield c


class BinarySetup:
    """The binary data uploaded twice to one project: with the `prob`
    column as pred_col, and without it (for the model file)."""

    def __init__(self, client, tmp_path):
        self.data = BinaryData(SEED)
        self.project = client.create_project("e2e-binary", "stress e2e", BINARY)
        params = {"label_col": "label", "pred_col": "prob", "categorical_features": ["cat_4"]}
        self.ref_id = upload_csv(client, self.project, tmp_path, "ref", self.data.ref, params)
        self.eval_id = upload_csv(client, self.project, tmp_path, "eval", self.data.eval, params)
        self.model_id = self.project.register_model("scores in prob")

    def config(self, run_name, **extra):
        return config_of(run_name, self.model_id, self.ref_id, self.eval_id, **extra)


@pytest.fixture(scope="module")
def binary(client, tmp_path_factory):
    return BinarySetup(client, tmp_path_factory.mktemp("binary"))


@pytest.fixture(scope="module")
def binary_run(client, binary):
    """The full default run (every category) of the binary data: (run, case rows)."""
    run = run_and_wait(client, binary.config("binary, all categories"),
                       binary.project.project_id)
    return run, case_rows(client, run.test_run_id)


# --- drift on the shifted features only -----------------------------------------------------

def check_drift(data, rows, numeric_stat, categorical_stat):
    num = by_feature(rows, "numeric_feature_drift")
    cat = by_feature(rows, "categorical_feature_drift")
    assert set(num) == set(data.numeric)
    assert set(cat) == set(data.categorical)
    flagged = {f for f, r in {**num, **cat}.items() if r["status"] != "TEST_CASE_STATUS_PASS"}
    assert flagged == data.shifted_numeric | data.shifted_categorical, (
        "shifted: %s; flagged: %s" % (data.how, {f: (r["status"], r.get("psi"))
                                                  for f, r in {**num, **cat}.items()
                                                  if f in flagged}))
    for f, r in {**num, **cat}.items():
        assert r["status"] != "TEST_CASE_STATUS_SKIP", r
        expect = data.shifted_numeric | data.shifted_categorical
        assert (r["severity"] == "SEVERITY_PASS") == (f not in expect), r
        stat = numeric_stat if f in num else categorical_stat
        name, value = expected_drift(data, f, stat)
        assert close(r[name], value), (f, stat, r[name], value)
        assert r["ref_rows"] == len(finite(data.ref[f]) if f in num else data.ref[f].dropna())
        assert r["eval_rows"] == len(finite(data.eval[f]) if f in num else data.eval[f].dropna())


def test_default_psi_flags_exactly_the_shifted_features(client, binary, binary_run):
    run, rows = binary_run
    check_drift(binary.data, rows, "psi", "psi")
    batch = run.get_test_batch("numeric_feature_drift").summary(show_batch_metrics=True)
    assert batch["num_drifted"] == 3
    assert close(batch["share_drifted"], 3 / N_NUM)
    assert sorted(batch["failing_features"]) == sorted(binary.data.shifted_numeric)
    cat_batch = run.get_test_batch("categorical_feature_drift").summary(show_batch_metrics=True)
    assert cat_batch["num_drifted"] == 1
    assert list(cat_batch["failing_features"]) == sorted(binary.data.shifted_categorical)
    job = client.get_job(run.info["job_id"]).info
    n_batches = len(list(run.get_test_batches()))
    assert job["progress"] == {"done": n_batches, "total": n_batches}
    assert job["result"] == {"test_run_id": run.test_run_id}


@pytest.mark.parametrize("numeric_stat, categorical_stat", [
    ("ks", "jensen_shannon"), ("wasserstein", "psi"), ("jensen_shannon", "jensen_shannon")])
def test_other_statistics_flag_exactly_the_shifted_features(client, binary, numeric_stat,
                                                            categorical_stat):
    suite = {"individual_tests_config": {
        "numeric_feature_drift": {"statistic": numeric_stat},
        "categorical_feature_drift": {"statistic": categorical_stat}}}
    run = run_and_wait(client, binary.config("drift by %s" % numeric_stat, categories=[DRIFT],
                                             test_suite_config=suite),
                       binary.project.project_id)
    rows = case_rows(client, run.test_run_id)
    assert {r["category"] for r in rows} == {DRIFT}
    check_drift(binary.data, rows, numeric_stat, categorical_stat)


# --- metrics match scikit-learn -------------------------------------------------------------

DROP, RISE, ABS, REL = "drop", "rise", "abs", "rel"
THRESHOLDS = {  # test type: (how the value is computed, warning, alert)
    "accuracy": (DROP, 0.05, 0.1), "auc": (DROP, 0.05, 0.1), "f1": (DROP, 0.05, 0.1),
    "precision": (DROP, 0.05, 0.1), "recall": (DROP, 0.05, 0.1),
    "false_positive_rate": (RISE, 0.05, 0.1), "false_negative_rate": (RISE, 0.05, 0.1),
    "positive_prediction_rate": (ABS, 0.05, 0.1), "log_loss": (RISE, 0.1, 0.2),
    "brier_score": (RISE, 0.05, 0.1), "multiclass_accuracy": (DROP, 0.05, 0.1),
    "macro_f1": (DROP, 0.05, 0.1), "macro_precision": (DROP, 0.05, 0.1),
    "macro_recall": (DROP, 0.05, 0.1), "multiclass_auc": (DROP, 0.05, 0.1),
    "average_confidence": (ABS, 0.05, 0.1), "mae": (REL, 0.1, 0.25), "mse": (REL, 0.2, 0.5),
    "rmse": (REL, 0.1, 0.25), "mape": (REL, 0.1, 0.25), "msle": (REL, 0.2, 0.5),
    "r2": (DROP, 0.05, 0.1), "rank_correlation": (DROP, 0.05, 0.1),
}


def binary_metrics(y, p):
    pred = (p >= 0.5).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    return {
        "accuracy": skm.accuracy_score(y, pred), "auc": skm.roc_auc_score(y, p),
        "f1": skm.f1_score(y, pred, zero_division=0),
        "precision": skm.precision_score(y, pred, zero_division=0),
        "recall": skm.recall_score(y, pred, zero_division=0),
        "false_positive_rate": fp / (fp + tn), "false_negative_rate": fn / (fn + tp),
        "positive_prediction_rate": pred.mean(), "log_loss": skm.log_loss(y, p),
        "brier_score": skm.brier_score_loss(y, p),
    }


def multiclass_metrics(y, P):
    pred = P.argmax(axis=1)
    return {
        "multiclass_accuracy": skm.accuracy_score(y, pred),
        "macro_f1": skm.f1_score(y, pred, average="macro", zero_division=0),
        "macro_precision": skm.precision_score(y, pred, average="macro", zero_division=0),
        "macro_recall": skm.recall_score(y, pred, average="macro", zero_division=0),
        "multiclass_auc": skm.roc_auc_score(y, P, multi_class="ovr", average="macro"),
        "log_loss": skm.log_loss(y, P, labels=list(range(P.shape[1]))),
        "average_confidence": P.max(axis=1).mean(),
    }


def regression_metrics(y, p):
    return {
        "mae": skm.mean_absolute_error(y, p), "mse": skm.mean_squared_error(y, p),
        "rmse": skm.root_mean_squared_error(y, p),
        "mape": skm.mean_absolute_percentage_error(y, p),
        "msle": skm.mean_squared_log_error(y, p), "r2": skm.r2_score(y, p),
        "rank_correlation": stats.spearmanr(y, p).statistic,
    }


def check_performance(rows, ref, ev, n_ref, n_eval):
    """Each MODEL_PERFORMANCE case: reference / evaluation as computed here,
    its value from them, its severity from the default thresholds."""
    for test_type, r_value in ref.items():
        case = one_case(rows, test_type)
        e_value = ev[test_type]
        assert case["status"] != "TEST_CASE_STATUS_SKIP", case
        assert close(case["reference"], r_value), (test_type, case["reference"], r_value)
        assert close(case["evaluation"], e_value), (test_type, case["evaluation"], e_value)
        assert case["ref_rows"] == n_ref and case["eval_rows"] == n_eval, case
        how, warning, alert = THRESHOLDS[test_type]
        value = {DROP: r_value - e_value, RISE: e_value - r_value, ABS: abs(e_value - r_value),
                 REL: (e_value - r_value) / abs(r_value)}[how]
        assert close(case["degradation"], value), (test_type, case["degradation"], value)
        severity = ("SEVERITY_ALERT" if value >= alert else
                    "SEVERITY_WARNING" if value >= warning else "SEVERITY_PASS")
        if not (close(value, warning, 1e-12) or close(value, alert, 1e-12)):
            assert case["severity"] == severity, (test_type, value, case)


def test_binary_metrics_match_sklearn(binary, binary_run):
    _, rows = binary_run
    d = binary.data
    ref = binary_metrics(d.ref["label"].to_numpy(), d.ref["prob"].to_numpy())
    ev = binary_metrics(d.eval["label"].to_numpy(), d.eval["prob"].to_numpy())
    check_performance(rows, ref, ev, N_ROWS, N_ROWS)
    avg = one_case(rows, "average_prediction")
    rp, ep = d.ref["prob"].to_numpy(), d.eval["prob"].to_numpy()
    assert close(avg["reference"], rp.mean()) and close(avg["evaluation"], ep.mean())
    assert close(avg["degradation"], abs(ep.mean() - rp.mean()) / rp.std())


@pytest.mark.filterwarnings("ignore:The y_prob values do not sum to one")
def test_multiclass_metrics_match_sklearn(client, tmp_path):
    rng = np.random.default_rng(SEED + 1)
    k, n = 4, 20_000
    W = rng.normal(0, 1, (6, k))
    project = client.create_project("e2e-multiclass", "stress e2e", MULTICLASS)
    ids = []
    for name, shift, noise in (("ref", 0.0, 0.5), ("eval", 0.7, 1.2)):
        X = rng.normal(0, 1, (n, 6))
        X[:, 0] += shift
        logits = X @ W
        P = np.exp(logits + rng.normal(0, noise, (n, k)))
        P = np.round(P / P.sum(axis=1, keepdims=True), 6)
        T = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        y = (rng.random(n)[:, None] > np.cumsum(T, axis=1)).sum(axis=1).clip(0, k - 1)
        df = pd.DataFrame(np.round(X, 6), columns=["x%d" % j for j in range(6)])
        df["region"] = rng.choice(["north", "south", "east"], n)
        df["label"] = y
        for j in range(k):
            df["p%d" % j] = P[:, j]
        ids.append((df, upload_csv(client, project, tmp_path, name, df,
                                   {"label_col": "label",
                                    "pred_col": ["p%d" % j for j in range(k)]})))
    model_id = project.register_model("probabilities")
    run = run_and_wait(client, config_of("multiclass", model_id, ids[0][1], ids[1][1]),
                       project.project_id)
    rows = case_rows(client, run.test_run_id)
    probs = ["p%d" % j for j in range(k)]
    (rdf, _), (edf, _) = ids
    check_performance(rows, multiclass_metrics(rdf["label"].to_numpy(), rdf[probs].to_numpy()),
                      multiclass_metrics(edf["label"].to_numpy(), edf[probs].to_numpy()), n, n)


def test_regression_metrics_match_sklearn_and_scipy(client, tmp_path):
    rng = np.random.default_rng(SEED + 2)
    n = 20_000
    w = rng.normal(0, 1.5, 5)
    project = client.create_project("e2e-regression", "stress e2e", REGRESSION)
    frames = []
    for name, shift, noise in (("ref", 0.0, 0.8), ("eval", 0.5, 1.6)):
        X = rng.normal(0, 1, (n, 5))
        X[:, 1] += shift
        y = np.round(30 + X @ w + rng.normal(0, 0.5, n), 6)
        df = pd.DataFrame(np.round(X, 6), columns=["a", "b", "c", "d", "e"])
        df["segment"] = rng.choice(["s1", "s2", "s3", "s4"], n)
        df["y"] = y
        df["pred"] = np.round(30 + X @ w + rng.normal(0, noise, n), 6)
        frames.append((df, upload_csv(client, project, tmp_path, name, df,
                                      {"label_col": "y", "pred_col": "pred"})))
    model_id = project.register_model("values")
    (rdf, ref_id), (edf, eval_id) = frames
    run = run_and_wait(client, config_of("regression", model_id, ref_id, eval_id),
                       project.project_id)
    rows = case_rows(client, run.test_run_id)
    check_performance(rows, regression_metrics(rdf["y"].to_numpy(), rdf["pred"].to_numpy()),
                      regression_metrics(edf["y"].to_numpy(), edf["pred"].to_numpy()), n, n)
    rp, ep = rdf["pred"].to_numpy(), edf["pred"].to_numpy()
    avg = one_case(rows, "average_prediction")
    assert close(avg["degradation"], abs(ep.mean() - rp.mean()) / rp.std())
    var = one_case(rows, "prediction_variance")
    assert close(var["reference"], rp.var()) and close(var["evaluation"], ep.var())
    assert close(var["degradation"], abs(ep.var() - rp.var()) / rp.var())


# --- the same run from Lua ------------------------------------------------------------------

LUA_SCRIPT = r"""
local assay = require "assay"
local ARRAY_MT = getmetatable(assay.array())

-- JSON of results: integers as integers, floats with 17 digits (exact).
local function enc(v)
  local t = type(v)
  if v == nil or v == assay.null then return "null" end
  if t == "boolean" then return tostring(v) end
  if t == "number" then
    if math.type(v) == "integer" then return string.format("%d", v) end
    if v ~= v or v == math.huge or v == -math.huge then error("not finite: " .. tostring(v)) end
    return string.format("%.17g", v)
  end
  if t == "string" then
    return '"' .. (v:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte()) end)) .. '"'
  end
  assert(t == "table", "cannot encode a " .. t)
  local parts = {}
  if getmetatable(v) == ARRAY_MT or #v > 0 then
    for i = 1, #v do parts[i] = enc(v[i]) end
    return "[" .. table.concat(parts, ",") .. "]"
  end
  local keys = {}
  for key in pairs(v) do keys[#keys + 1] = key end
  table.sort(keys)
  for i, key in ipairs(keys) do parts[i] = enc(key) .. ":" .. enc(v[key]) end
  return "{" .. table.concat(parts, ",") .. "}"
end

local client = assay.Client(os.getenv("T_URL"), os.getenv("T_TOKEN"))
local job = client:start_stress_test({
  run_name = os.getenv("T_RUN_NAME"), model_id = os.getenv("T_MODEL"),
  data_info = { ref_dataset_id = os.getenv("T_REF"), eval_dataset_id = os.getenv("T_EVAL") },
}, os.getenv("T_PROJECT"))
local status = job:get_status{ verbose = false, wait_until_finish = true, poll_rate_sec = 0.2 }
if status.status ~= "JOB_STATUS_SUCCEEDED" then
  error("the Lua job ended " .. status.status .. ": " .. tostring(job:error_msg()))
end
local run = job:get_test_run()
local python_run = client:get_test_run(os.getenv("T_PY_RUN"))
io.write(enc({ test_run_id = run.test_run_id, cases = run:get_test_cases_df(true),
               python_cases = python_run:get_test_cases_df(true) }), "\n")
"""


def run_lua(tmp_path, env_vars):
    script = tmp_path / "stress.lua"
    script.write_text(LUA_SCRIPT)
    lua_dir = BUILD_DIR / "lua"
    env = dict(os.environ, LUA_PATH="%s/?.lua;%s/?/init.lua;;" % (lua_dir, lua_dir),
               LUA_CPATH="%s/?.so;;" % lua_dir, **env_vars)
    out = subprocess.run(["lua5.4", str(script)], capture_output=True, text=True, timeout=60,
                         env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def comparable(rows, keep_run_id=False):
    """Rows without nulls (Lua has no null cells) and, unless asked, without
    their test_run_id."""
    return [{k: v for k, v in r.items()
             if v is not None and (keep_run_id or k != "test_run_id")} for r in rows]


def test_same_run_from_lua_gives_the_same_test_cases(client, server, binary, binary_run,
                                                     tmp_path):
    run, rows = binary_run
    out = run_lua(tmp_path, {
        "T_URL": server.url, "T_TOKEN": server.token, "T_RUN_NAME": "binary, all categories",
        "T_MODEL": binary.model_id, "T_REF": binary.ref_id, "T_EVAL": binary.eval_id,
        "T_PROJECT": binary.project.project_id, "T_PY_RUN": run.test_run_id})
    assert out["test_run_id"] != run.test_run_id
    assert len(out["cases"]) == len(rows) > 100
    # the Lua run's cases, as Lua sees them, are the Python run's
    want = comparable(rows)
    for got, expect in zip(comparable(out["cases"]), want):
        assert got == expect
    assert all(r["test_run_id"] == out["test_run_id"] for r in out["cases"])
    # and Lua reads the Python run exactly as the Python client does
    assert out["python_cases"] == comparable(rows, keep_run_id=True)
    # the Lua run, read from Python, is the same too
    lua_rows = case_rows(client, out["test_run_id"])
    assert comparable(lua_rows) == want
    # the DataFrame of the Python client holds the same cases
    df = run.get_test_cases_df(show_test_case_metrics=True)
    assert len(df) == len(rows)
    assert df["test_batch_type"].tolist() == [r["test_batch_type"] for r in rows]
    assert df["status"].tolist() == [r["status"] for r in rows]
    assert [list(f) for f in df["features"]] == [r["features"] for r in rows]


# --- a model file run by the runner ---------------------------------------------------------

def test_model_file_gives_the_pred_col_results(client, binary, binary_run, tmp_path):
    _, rows = binary_run
    project, data = binary.project, binary.data
    params = {"label_col": "label", "categorical_features": ["cat_4"]}
    ref_id = upload_csv(client, project, tmp_path, "ref-no-prob",
                        data.ref.drop(columns=["prob"]), params)
    eval_id = upload_csv(client, project, tmp_path, "eval-no-prob",
                         data.eval.drop(columns=["prob"]), params)
    model_py = tmp_path / "logistic_model.py"
    model_py.write_text(model_source(data.model))
    model_id = project.upload_and_register_model_from_path("logistic", model_py)
    run = run_and_wait(client, config_of("model file", model_id, ref_id, eval_id),
                       project.project_id, timeout=90)
    model_rows = case_rows(client, run.test_run_id)

    def strip(rows):
        out = []
        for r in rows:
            r = {k: v for k, v in r.items() if k != "test_run_id"}
            if r["test_batch_type"] == "duplicate_rows":
                r.pop("columns")  # the pred_col files have one column more: prob
            out.append(r)
        return out

    assert len(model_rows) == len(rows)
    for got, expect in zip(strip(model_rows), strip(rows)):
        assert got == expect
    perf = one_case(model_rows, "auc")
    assert perf["status"] != "TEST_CASE_STATUS_SKIP"


# --- cancel over HTTP -----------------------------------------------------------------------

def sleepy_project(client, tmp_path, name, sleep, n=2000):
    """A binary project of small data whose model file sleeps `sleep`
    seconds per call (a job that stays RUNNING): (project, config)."""
    data = BinaryData(SEED + 3, n=n)
    project = client.create_project(name, "stress e2e", BINARY)
    params = {"label_col": "label", "categorical_features": ["cat_4"]}
    ref_id = upload_csv(client, project, tmp_path, "ref", data.ref.drop(columns=["prob"]), params)
    eval_id = upload_csv(client, project, tmp_path, "eval", data.eval.drop(columns=["prob"]),
                         params)
    model_py = tmp_path / "sleepy_model.py"
    model_py.write_text(model_source(data.model, sleep=sleep))
    model_id = project.upload_and_register_model_from_path("sleepy", model_py)
    return project, config_of("sleepy", model_id, ref_id, eval_id, categories=[PERF, DRIFT])


def http(server, method, path, body=None):
    req = urllib.request.Request(server.url + path, method=method,
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + server.token,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_cancel_over_http(client, server, binary_run, tmp_path):
    """The server has 2 workers: two sleepy jobs run, a third waits. The
    waiting one is cancelled at once, the running one within about a
    second; neither stores a test run; a finished job cannot be cancelled."""
    project, config = sleepy_project(client, tmp_path, "e2e-cancel", sleep=3.0)
    jobs = [client.start_stress_test(config, project.project_id) for _ in range(3)]
    for job in jobs[:2]:
        wait_job(client, job.job_id, {"JOB_STATUS_RUNNING"}, timeout=30)
    running, other, pending = jobs
    assert client.get_job(pending.job_id).info["status"] == "JOB_STATUS_PENDING"
    status, record = http(server, "POST", "/v1/jobs/%s/cancel" % pending.job_id)
    assert status == 200, record
    assert record["status"] == "JOB_STATUS_CANCELLED", record
    assert record["started_at"] is None, record

    time.sleep(0.3)
    t0 = time.monotonic()
    status, record = http(server, "POST", "/v1/jobs/%s/cancel" % running.job_id)
    assert status == 200, record
    assert record["status"] in ("JOB_STATUS_RUNNING", "JOB_STATUS_CANCELLED"), record
    assert record["cancel_requested"] is True
    final = wait_job(client, running.job_id, timeout=15)
    assert final["status"] == "JOB_STATUS_CANCELLED", final
    assert time.monotonic() - t0 < 5.0, "a running job stops within about a second"
    assert final["error_msg"] == "the job was cancelled"
    other.cancel()  # the Python client's Job.cancel(), same route
    assert wait_job(client, other.job_id, timeout=15)["status"] == "JOB_STATUS_CANCELLED"

    ids = {j.job_id for j in jobs}
    assert [r for r in project.list_test_runs() if r.info.get("job_id") in ids] == []
    listed = project.list_stress_testing_jobs(status_filters=["JOB_STATUS_CANCELLED"])
    assert {j.job_id for j in listed} == ids
    assert list(project.list_stress_testing_jobs(status_filters=["JOB_STATUS_SUCCEEDED"])) == []
    with pytest.raises(assay.ConfigError):
        running.get_test_run_id()
    # cancelling a finished job is a ConfigError saying so
    with pytest.raises(assay.ConfigError, match="already finished.*JOB_STATUS_CANCELLED"):
        running.cancel()
    run, _ = binary_run
    done_id = client.get_test_run(run.test_run_id).info["job_id"]
    status, body = http(server, "POST", "/v1/jobs/%s/cancel" % done_id)
    assert status == 400, body
    assert body["error"]["name"] == "ConfigError"
    assert "already finished" in body["error"]["message"]
    assert "JOB_STATUS_SUCCEEDED" in body["error"]["message"]
    assert client.get_job(done_id).info["status"] == "JOB_STATUS_SUCCEEDED"


# --- restart: SIGTERM requeues, SIGKILL leaves a stale job to be failed ---------------------

def test_platform_restart_requeues_running_jobs_and_fails_dead_ones(tmp_path):
    """Two homes: on one the platform is killed (SIGKILL) mid-run, and the
    next platform fails the job once its heartbeat is 30 s old; while that
    timeout runs, on the other a platform stopped (SIGTERM) mid-run puts
    its job back in the queue and the next one runs it to the end."""
    started = []

    def start(home, *args):
        d = Assayd(home, *args)
        started.append(d)
        return d, assay.Client(d.url, api_key=d.token)

    def data_dir(name):
        path = tmp_path / name
        path.mkdir()
        return path

    try:
        # killed mid-run
        killed_home = tmp_path / "killed-home"
        k1, kc1 = start(killed_home)
        kproject, kconfig = sleepy_project(kc1, data_dir("killed-data"), "e2e-kill", sleep=1.5)
        killed = kc1.start_stress_test(kconfig, kproject.project_id)
        wait_job(kc1, killed.job_id, {"JOB_STATUS_RUNNING"}, timeout=30)
        time.sleep(0.3)
        killed_at = time.monotonic()
        k1.stop(signal.SIGKILL)
        kc1.close()
        k2, kc2 = start(killed_home)
        assert kc2.get_job(killed.job_id).info["status"] == "JOB_STATUS_RUNNING"

        # stopped mid-run (SIGTERM): back in the queue
        stopped_home = tmp_path / "stopped-home"
        d1, c1 = start(stopped_home)
        project, config = sleepy_project(c1, data_dir("stopped-data"), "e2e-stop", sleep=1.5)
        job = c1.start_stress_test(config, project.project_id)
        wait_job(c1, job.job_id, {"JOB_STATUS_RUNNING"}, timeout=30)
        time.sleep(0.3)
        assert d1.stop(signal.SIGTERM) == 0, d1.stderr
        c1.close()
        d2, c2 = start(stopped_home, "--workers", "0")  # sees the queue, runs nothing
        record = c2.get_job(job.job_id).info
        assert record["status"] == "JOB_STATUS_PENDING", record
        assert record["started_at"] is None, record
        assert "back to the queue" in c2.get_job(job.job_id).get_log()
        c2.close()
        assert d2.stop() == 0, d2.stderr
        d3, c3 = start(stopped_home)  # runs it again, to the end
        final = wait_job(c3, job.job_id, timeout=60)
        assert final["status"] == "JOB_STATUS_SUCCEEDED", (final, c3.get_job(job.job_id).get_log())
        rows = case_rows(c3, final["result"]["test_run_id"])
        assert one_case(rows, "auc")["status"] != "TEST_CASE_STATUS_SKIP"
        assert len([r for r in c3.get_project(project.project_id).list_test_runs()
                    if r.info.get("job_id") == job.job_id]) == 1
        c3.close()
        assert d3.stop() == 0, d3.stderr

        # the killed platform's job: failed with the reason once stale, never left running
        final = wait_job(kc2, killed.job_id, timeout=45)
        waited = time.monotonic() - killed_at
        assert final["status"] == "JOB_STATUS_FAILED", final
        assert final["error_msg"] == "the platform process running this job stopped", final
        assert 25 < waited < 45, waited
        assert "no heartbeat for more than 30 s" in kc2.get_job(killed.job_id).get_log()
        assert [r for r in kc2.get_project(kproject.project_id).list_test_runs()
                if r.info.get("job_id") == killed.job_id] == []
        kc2.close()
        assert k2.stop() == 0, k2.stderr
    finally:
        for d in started:
            if d.running():
                d.stop(signal.SIGKILL)
