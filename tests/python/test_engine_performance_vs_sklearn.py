"""MODEL_PERFORMANCE, SUBSET_PERFORMANCE and SUBSET_PERFORMANCE_DEGRADATION of
the stress test engine against scikit-learn / scipy / numpy.

Generated reference and evaluation frames for the three tasks (binary and
multiclass classification, regression) — scores rounded so that many tie,
nulls and infinities in features, nulls in labels and predictions, an
all-null feature, a constant feature, a
bool feature, integer features with ties, a category where the labels are
one class only, evaluation-only categories — go through the C engine
(``assay__debug_stress`` on CSV files, see engine_debug.py), and every
metric is recomputed here from the same numbers:

- performance metrics with ``sklearn.metrics`` (accuracy, ROC AUC, F1,
  precision, recall, FPR / FNR from the confusion matrix, log loss, Brier,
  macro averages, one-vs-rest AUC, MAE, MSE, RMSE, MAPE, MSLE, R²) and
  ``scipy.stats.spearmanr``, on the rows with a label and a prediction;
  predictions' mean and population variance with numpy on every row with a
  prediction;
- subsets: numeric features binned at ``numpy.quantile(ref, i / 10)``
  (non-null finite reference values, duplicates removed) with
  ``numpy.searchsorted(edges, x, side="left")``, plus "null"; categorical
  features by value (reference values most frequent first, then
  evaluation-only ones), plus "null"; subsets of fewer than 20 rows with a
  label and a prediction are not judged.

Everything agrees to 1e-9.
"""

import math

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
metrics = pytest.importorskip("sklearn.metrics")
stats = pytest.importorskip("scipy.stats")

from engine_debug import EngineError, batch, case, stress  # noqa: E402

TOL = 1e-9
MP = "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE"
SP = "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE"
SD = "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE_DEGRADATION"
BINARY = "MODEL_TASK_BINARY_CLASSIFICATION"
MULTI = "MODEL_TASK_MULTICLASS_CLASSIFICATION"
REGR = "MODEL_TASK_REGRESSION"
MIN_SAMPLE = 20


def close(a, b, tol=TOL):
    """a (from the engine; None for null) equals b (NaN: undefined)."""
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return a is None
    return a is not None and abs(a - b) <= tol * max(1.0, abs(b))


def assert_close(a, b, what):
    assert close(a, b), "%s: engine %r, reference %r" % (what, a, b)


# --- data ------------------------------------------------------------------------------------

def features(rng, n, shift):
    x1 = rng.normal(shift, 1, n)
    x1[rng.random(n) < 0.05] = np.nan
    x1[rng.random(n) < 0.01] = np.inf                            # infinities: the outer bins
    x1[rng.random(n) < 0.01] = -np.inf
    df = pd.DataFrame({
        "x1": x1,
        "x2": rng.integers(0, 6, n).astype(np.int64),            # few values: ties at the edges
        "c1": rng.choice(["red", "green", "blue", "cyan"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "flag": rng.random(n) < 0.3,
        "const": np.full(n, 5.0),
        "empty": np.full(n, np.nan),
    })
    c1 = df["c1"].to_numpy(object)
    c1[rng.random(n) < 0.03] = None
    if shift:
        c1[rng.random(n) < 0.04] = "magenta"                     # evaluation-only category
    df["c1"] = c1
    return df


def binary_frames(rng, n_ref=3000, n_eval=2500):
    out = []
    for n, shift in ((n_ref, 0.0), (n_eval, 0.4)):
        df = features(rng, n, shift)
        z = np.nan_to_num(df["x1"].to_numpy(), posinf=3, neginf=-3) + 0.3 * df["x2"] - 0.8 + rng.normal(0, 1, n)
        y = (z > 0).astype(float)
        y[df["c1"].to_numpy(object) == "cyan"] = 1.0             # one class only in a subset
        y[rng.random(n) < 0.02] = np.nan                         # rows without a label
        p = np.round(1 / (1 + np.exp(-(z + rng.normal(0, 1.5 if shift else 0.8, n)))), 2)
        p[rng.random(n) < 0.02] = np.nan                         # rows without a prediction
        df["label"] = y
        df["pred"] = p
        out.append(df)
    return out


def multiclass_frames(rng, k=3, n_ref=3000, n_eval=2500):
    out = []
    for n, shift in ((n_ref, 0.0), (n_eval, 0.5)):
        df = features(rng, n, shift)
        z = np.nan_to_num(df["x1"].to_numpy(), posinf=3, neginf=-3)
        logits = np.stack([z, 0.5 * df["x2"].to_numpy() - 1, -z + rng.normal(0, 1, n)], axis=1)
        y = np.argmax(logits + rng.gumbel(size=(n, k)), axis=1).astype(float)
        y[df["c1"].to_numpy(object) == "cyan"] = 2.0
        y[rng.random(n) < 0.02] = np.nan
        noisy = logits + rng.normal(0, 1.0 + shift, (n, k))
        proba = np.exp(noisy) / np.exp(noisy).sum(axis=1, keepdims=True)
        proba = np.round(proba, 3)
        proba[:, k - 1] = 1 - proba[:, : k - 1].sum(axis=1)      # rows sum to 1 exactly enough
        proba[proba[:, k - 1] < 0, k - 1] = 0
        proba[rng.random(n) < 0.02, :] = np.nan
        df["label"] = y
        for j in range(k):
            df["p%d" % j] = proba[:, j]
        out.append(df)
    return out


def regression_frames(rng, n_ref=3000, n_eval=2500):
    out = []
    for n, shift in ((n_ref, 0.0), (n_eval, 0.3)):
        df = features(rng, n, shift)
        z = np.nan_to_num(df["x1"].to_numpy(), posinf=3, neginf=-3) + 0.5 * df["x2"].to_numpy()
        y = np.round(np.exp(0.3 * z) + rng.random(n), 3)         # positive: MSLE and MAPE defined
        y[df["c1"].to_numpy(object) == "cyan"] = 2.0              # constant label in a subset
        y[rng.random(n) < 0.02] = np.nan
        p = np.round(np.abs(np.exp(0.3 * z) + rng.normal(0.5, 0.3 + shift, n)), 2)
        p[rng.random(n) < 0.02] = np.nan
        df["label"] = y
        df["pred"] = p
        out.append(df)
    return out


def run(tmp_path, ref, ev, task, params, categories=(MP, SP, SD), tests=None):
    return stress(tmp_path, ref, ev, task=task, params=params, categories=categories, tests=tests)


# --- reference values -----------------------------------------------------------------------

def labeled(df, task, k=3):
    """(y, prediction input) of the rows with a label and a prediction."""
    if task == MULTI:
        cols = ["p%d" % j for j in range(k)]
        keep = df["label"].notna() & df[cols].notna().all(axis=1)
        return df.loc[keep, "label"].to_numpy(int), df.loc[keep, cols].to_numpy(float), keep
    keep = df["label"].notna() & df["pred"].notna()
    y = df.loc[keep, "label"].to_numpy(float)
    if task == BINARY:
        y = y.astype(int)
    return y, df.loc[keep, "pred"].to_numpy(float), keep


def binary_metric(name, y, p):
    if len(y) == 0:
        return math.nan
    pred = (p >= 0.5).astype(int)
    tn, fp, fn, tp = metrics.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    both = len(set(y.tolist())) == 2
    if name == "accuracy":
        return metrics.accuracy_score(y, pred)
    if name == "auc":
        return metrics.roc_auc_score(y, p) if both else math.nan
    if name == "f1":
        return metrics.f1_score(y, pred, zero_division=0)
    if name == "precision":
        return metrics.precision_score(y, pred, zero_division=0)
    if name == "recall":
        return metrics.recall_score(y, pred, zero_division=0)
    if name == "false_positive_rate":
        return fp / (fp + tn) if fp + tn else math.nan
    if name == "false_negative_rate":
        return fn / (fn + tp) if fn + tp else math.nan
    if name == "positive_prediction_rate":
        return pred.mean()
    if name == "log_loss":
        return metrics.log_loss(y, p, labels=[0, 1])
    if name == "brier_score":
        return metrics.brier_score_loss(y, p)
    raise KeyError(name)


def multi_metric(name, y, proba, k=3):
    if len(y) == 0:
        return math.nan
    pred = np.argmax(proba, axis=1)
    if name == "multiclass_accuracy":
        return metrics.accuracy_score(y, pred)
    if name == "macro_f1":
        return metrics.f1_score(y, pred, average="macro", zero_division=0)
    if name == "macro_precision":
        return metrics.precision_score(y, pred, average="macro", zero_division=0)
    if name == "macro_recall":
        return metrics.recall_score(y, pred, average="macro", zero_division=0)
    if name == "multiclass_auc":
        if len(set(y.tolist())) < k:
            return math.nan
        return metrics.roc_auc_score(y, proba, multi_class="ovr", average="macro",
                                     labels=list(range(k)))
    if name == "log_loss":
        return metrics.log_loss(y, proba, labels=list(range(k)))
    raise KeyError(name)


def regression_metric(name, y, p):
    if len(y) == 0:
        return math.nan
    if name == "mae":
        return metrics.mean_absolute_error(y, p)
    if name == "mse":
        return metrics.mean_squared_error(y, p)
    if name == "rmse":
        return math.sqrt(metrics.mean_squared_error(y, p))
    if name == "mape":
        return metrics.mean_absolute_percentage_error(y, p)
    if name == "msle":
        return metrics.mean_squared_log_error(y, p)
    if name == "r2":
        return metrics.r2_score(y, p) if len(y) >= 2 else math.nan
    if name == "rank_correlation":
        return stats.spearmanr(y, p).statistic
    raise KeyError(name)


BINARY_PERF = {"accuracy": "drop", "auc": "drop", "f1": "drop", "precision": "drop",
               "recall": "drop", "false_positive_rate": "rise", "false_negative_rate": "rise",
               "positive_prediction_rate": "abs", "log_loss": "rise", "brier_score": "rise"}
MULTI_PERF = {"multiclass_accuracy": "drop", "macro_f1": "drop", "macro_precision": "drop",
              "macro_recall": "drop", "multiclass_auc": "drop", "log_loss": "rise"}
REGR_PERF = {"mae": "rel", "mse": "rel", "rmse": "rel", "mape": "rel", "msle": "rel",
             "r2": "drop", "rank_correlation": "drop"}


def change(kind, ref, ev):
    if kind == "drop":
        return ref - ev
    if kind == "rise":
        return ev - ref
    if kind == "abs":
        return abs(ev - ref)
    return (ev - ref) / abs(ref) if ref != 0 else math.nan


def check_perf_case(doc, test_type, ref, ev, kind):
    tc = case(doc, test_type)
    value = change(kind, ref, ev)
    m = tc["metrics"]
    assert_close(m["reference"], ref, test_type + " reference")
    assert_close(m["evaluation"], ev, test_type + " evaluation")
    assert_close(m["degradation"], value, test_type + " degradation")
    if math.isnan(value):
        assert tc["status"] == "TEST_CASE_STATUS_SKIP"
    else:
        assert tc["status"] != "TEST_CASE_STATUS_SKIP"
    return tc


# --- subsets in Python ------------------------------------------------------------------------

def subset_codes(ref, ev, feat, numeric, nbins=10):
    """(labels, ref codes, eval codes) of feat's subsets; the last label is "null"."""
    if numeric:
        r = ref[feat].to_numpy(float)
        r = r[np.isfinite(r)]
        edges = np.unique(np.quantile(r, np.arange(1, nbins) / nbins)) if len(r) else np.array([])
        labels = []
        for b in range(len(edges) + 1):
            lo = "-inf" if b == 0 else "%.6g" % edges[b - 1]
            hi = "inf" if b == len(edges) else "%.6g" % edges[b]
            labels.append("(%s, %s%s" % (lo, hi, ")" if b == len(edges) else "]"))
        labels.append("null")

        def codes(df):
            x = df[feat].to_numpy(float)
            b = np.searchsorted(edges, x, side="left")
            b[np.isnan(x)] = len(edges) + 1
            return b

        return labels, codes(ref), codes(ev)

    def text(v):
        if isinstance(v, (bool, np.bool_)):
            return "True" if v else "False"
        return str(v)

    def ranked(values):
        counts, first = {}, {}
        for i, v in enumerate(values):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            t = text(v)
            counts[t] = counts.get(t, 0) + 1
            first.setdefault(t, i)
        return sorted(counts, key=lambda t: (-counts[t], first[t]))

    labels = ranked(list(ref[feat]))
    labels += [t for t in ranked(list(ev[feat])) if t not in labels]
    index = {t: i for i, t in enumerate(labels)}
    labels.append("null")

    def codes(df):
        return np.array([len(labels) - 1 if v is None or (isinstance(v, float) and math.isnan(v))
                         else index[text(v)] for v in df[feat]])

    return labels, codes(ref), codes(ev)


def subset_metric(task, name, y, p):
    if task == BINARY:
        return binary_metric(name, y, p)
    if task == MULTI:
        return multi_metric(name, y, p)
    return regression_metric(name, y, p)


SUBSET_TESTS = {
    BINARY: {"subset_accuracy": ("accuracy", "higher"), "subset_auc": ("auc", "higher"),
             "subset_f1": ("f1", "higher"), "subset_precision": ("precision", "higher"),
             "subset_recall": ("recall", "higher"),
             "subset_false_positive_rate": ("false_positive_rate", "lower"),
             "subset_false_negative_rate": ("false_negative_rate", "lower")},
    MULTI: {"subset_multiclass_accuracy": ("multiclass_accuracy", "higher"),
            "subset_macro_f1": ("macro_f1", "higher")},
    REGR: {"subset_mae": ("mae", "rel"), "subset_rmse": ("rmse", "rel"),
           "subset_r2": ("r2", "higher")},
}
DEGRADATION_TESTS = {
    BINARY: {"subset_accuracy_degradation": ("accuracy", "higher"),
             "subset_auc_degradation": ("auc", "higher"),
             "subset_f1_degradation": ("f1", "higher")},
    MULTI: {"subset_multiclass_accuracy_degradation": ("multiclass_accuracy", "higher"),
            "subset_macro_f1_degradation": ("macro_f1", "higher")},
    REGR: {"subset_mae_degradation": ("mae", "rel"), "subset_rmse_degradation": ("rmse", "rel")},
}
FEATURES = {"x1": True, "x2": True, "c1": False, "flag": False, "const": True, "empty": True}


def per_subset(task, df, codes, nsub, name):
    """[(size, value)] per subset of df's rows with a label and a prediction."""
    y, p, keep = labeled(df, task)
    c = codes[keep.to_numpy()]
    out = []
    for b in range(nsub):
        sel = c == b
        size = int(sel.sum())
        value = subset_metric(task, name, y[sel], p[sel]) if size >= MIN_SAMPLE else math.nan
        out.append((size, value))
    return out


def check_subset_performance(doc, task, ref, ev):
    y, p, _ = labeled(ev, task)
    for test_type, (name, kind) in SUBSET_TESTS[task].items():
        overall = subset_metric(task, name, y, p)
        for feat, numeric in FEATURES.items():
            labels, _, ec = subset_codes(ref, ev, feat, numeric)
            subs = per_subset(task, ev, ec, len(labels), name)
            gaps = []
            for (size, v) in subs:
                if math.isnan(v):
                    continue
                gaps.append(overall - v if kind == "higher" else v - overall if kind == "lower"
                            else (v - overall) / abs(overall))
            tc = case(doc, test_type, feat)
            m = tc["metrics"]
            what = "%s %s" % (test_type, feat)
            assert_close(m["overall"], overall, what + " overall")
            assert m["num_subsets"] == len(gaps), what
            gap = max(gaps) if gaps else math.nan
            assert_close(m["gap"], gap, what + " gap")
            if gaps:
                worst = [v for (s, v) in subs if not math.isnan(v)][int(np.argmax(gaps))]
                assert_close(m["worst_subset_value"], worst, what + " worst value")
                assert tc["status"] != "TEST_CASE_STATUS_SKIP"
            else:
                assert tc["status"] == "TEST_CASE_STATUS_SKIP", what
            listed = [(lab, size, v) for lab, (size, v) in zip(labels, subs) if size > 0]
            got = tc["details"]["subsets"]
            assert [s["subset"] for s in got] == [x[0] for x in listed], what
            assert [s["size"] for s in got] == [x[1] for x in listed], what
            for s, (lab, size, v) in zip(got, listed):
                assert_close(s["value"], v, "%s subset %s" % (what, lab))
            assert_close(tc["details"]["overall"], overall, what)


def check_subset_degradation(doc, task, ref, ev):
    for test_type, (name, kind) in DEGRADATION_TESTS[task].items():
        for feat, numeric in FEATURES.items():
            labels, rc, ec = subset_codes(ref, ev, feat, numeric)
            rs = per_subset(task, ref, rc, len(labels), name)
            es = per_subset(task, ev, ec, len(labels), name)
            degs = []
            listed = []
            for b, lab in enumerate(labels):
                (rn, rv), (en, evv) = rs[b], es[b]
                if rn == 0 and en == 0:
                    continue
                listed.append((lab, rn, en, rv, evv))
                if math.isnan(rv) or math.isnan(evv):
                    continue
                d = rv - evv if kind == "higher" else ((evv - rv) / abs(rv) if rv else math.nan)
                if not math.isnan(d):
                    degs.append((d, len(listed) - 1))
            tc = case(doc, test_type, feat)
            m = tc["metrics"]
            what = "%s %s" % (test_type, feat)
            assert m["num_subsets"] == len(degs), what
            if degs:
                worst = max(degs, key=lambda t: t[0])
                assert_close(m["worst_degradation"], worst[0], what)
                assert m["worst_subset"] == worst[1], what
            else:
                assert m["worst_degradation"] is None and tc["status"] == "TEST_CASE_STATUS_SKIP"
            got = tc["details"]["subsets"]
            assert [s["subset"] for s in got] == [x[0] for x in listed], what
            for s, (lab, rn, en, rv, evv) in zip(got, listed):
                assert (s["ref_size"], s["eval_size"]) == (rn, en), "%s %s" % (what, lab)
                assert_close(s["reference"], rv, "%s %s reference" % (what, lab))
                assert_close(s["evaluation"], evv, "%s %s evaluation" % (what, lab))


# --- the tests --------------------------------------------------------------------------------

BIN_PARAMS = {"label_col": "label", "pred_col": "pred"}


def test_binary_matches_sklearn(tmp_path):
    ref, ev = binary_frames(np.random.default_rng(1))
    doc = run(tmp_path, ref, ev, BINARY, BIN_PARAMS)
    (yr, pr, _), (ye, pe, _) = labeled(ref, BINARY), labeled(ev, BINARY)
    for name, kind in BINARY_PERF.items():
        check_perf_case(doc, name, binary_metric(name, yr, pr), binary_metric(name, ye, pe), kind)
    # average_prediction: over every row with a prediction
    r, e = ref["pred"].dropna().to_numpy(), ev["pred"].dropna().to_numpy()
    tc = case(doc, "average_prediction")
    assert_close(tc["metrics"]["reference"], r.mean(), "mean ref")
    assert_close(tc["metrics"]["degradation"], abs(e.mean() - r.mean()) / r.std(), "avg pred")
    check_subset_performance(doc, BINARY, ref, ev)
    check_subset_degradation(doc, BINARY, ref, ev)
    # the one-class subset has no AUC
    sub = {s["subset"]: s for s in case(doc, "subset_auc", "c1")["details"]["subsets"]}
    assert sub["cyan"]["value"] is None and sub["red"]["value"] is not None
    # the all-null feature has one subset, "null"; the constant one two at most
    assert [s["subset"] for s in case(doc, "subset_accuracy", "empty")["details"]["subsets"]] == ["null"]
    assert [s["subset"] for s in case(doc, "subset_accuracy", "const")["details"]["subsets"]] == ["(-inf, 5]"]


def test_multiclass_matches_sklearn(tmp_path):
    ref, ev = multiclass_frames(np.random.default_rng(2))
    params = {"label_col": "label", "pred_col": ["p0", "p1", "p2"]}
    doc = run(tmp_path, ref, ev, MULTI, params)
    (yr, pr, _), (ye, pe, _) = labeled(ref, MULTI), labeled(ev, MULTI)
    for name, kind in MULTI_PERF.items():
        check_perf_case(doc, name, multi_metric(name, yr, pr), multi_metric(name, ye, pe), kind)
    cols = ["p0", "p1", "p2"]
    conf = [df[cols].dropna().to_numpy().max(axis=1).mean() for df in (ref, ev)]
    check_perf_case(doc, "average_confidence", conf[0], conf[1], "abs")
    check_subset_performance(doc, MULTI, ref, ev)
    check_subset_degradation(doc, MULTI, ref, ev)
    assert doc["data"]["pred_source"] == "pred_col"


def test_regression_matches_sklearn(tmp_path):
    ref, ev = regression_frames(np.random.default_rng(3))
    doc = run(tmp_path, ref, ev, REGR, BIN_PARAMS)
    (yr, pr, _), (ye, pe, _) = labeled(ref, REGR), labeled(ev, REGR)
    for name, kind in REGR_PERF.items():
        check_perf_case(doc, name, regression_metric(name, yr, pr),
                        regression_metric(name, ye, pe), kind)
    r, e = ref["pred"].dropna().to_numpy(), ev["pred"].dropna().to_numpy()
    tc = case(doc, "average_prediction")
    assert_close(tc["metrics"]["degradation"], abs(e.mean() - r.mean()) / r.std(), "avg pred")
    tc = case(doc, "prediction_variance")
    assert_close(tc["metrics"]["reference"], r.var(), "variance ref")
    assert_close(tc["metrics"]["degradation"], abs(e.var() - r.var()) / r.var(), "variance")
    check_subset_performance(doc, REGR, ref, ev)
    check_subset_degradation(doc, REGR, ref, ev)
    # the constant-label subset: R² as sklearn's force_finite (0 unless exact)
    sub = {s["subset"]: s for s in case(doc, "subset_r2", "c1")["details"]["subsets"]}
    assert sub["cyan"]["value"] == 0.0


def test_string_labels_with_class_names_and_options(tmp_path):
    ref, ev = binary_frames(np.random.default_rng(4), 1500, 1500)
    for df in (ref, ev):
        df["label"] = df["label"].map({0.0: "no", 1.0: "yes"})
    params = dict(BIN_PARAMS, class_names=["no", "yes"])
    tests = {"subset_accuracy": {"num_bins": 4, "min_sample_size": 50},
             "subset_auc": {"exclude_columns": ["x1"]}}
    doc = run(tmp_path, ref, ev, BINARY, params, categories=(MP, SP), tests=tests)
    assert doc["data"]["class_names"] == ["no", "yes"]
    num = {"no": 0, "yes": 1}
    y = ev["label"].map(num)
    keep = y.notna() & ev["pred"].notna()
    acc = metrics.accuracy_score(y[keep].astype(int), (ev["pred"][keep] >= 0.5).astype(int))
    assert_close(case(doc, "accuracy")["metrics"]["evaluation"], acc, "accuracy")
    # num_bins 4 and min_sample_size 50 for subset_accuracy only
    x = ref["x1"].to_numpy(float)
    edges = np.unique(np.quantile(x[np.isfinite(x)], [0.25, 0.5, 0.75]))
    tc = case(doc, "subset_accuracy", "x1")
    assert len(tc["details"]["subsets"]) == len(edges) + 2
    xe = ev["x1"].to_numpy(float)
    b = np.searchsorted(edges, xe, side="left")
    b[np.isnan(xe)] = len(edges) + 1
    kb = b[keep.to_numpy()]
    sizes = [int((kb == i).sum()) for i in range(len(edges) + 2)]
    assert [s["size"] for s in tc["details"]["subsets"]] == [s for s in sizes if s]
    assert tc["metrics"]["num_subsets"] == sum(1 for s in sizes if s >= 50)
    # exclude_columns
    assert [c["features"] for c in batch(doc, "subset_auc")["test_cases"]] == [
        ["x2"], ["c1"], ["flag"], ["const"], ["empty"]]


def test_single_row_and_no_labels(tmp_path):
    ref, ev = binary_frames(np.random.default_rng(5), 1, 1)
    ref.loc[0, "label"], ref.loc[0, "pred"] = 1.0, 0.8
    ev.loc[0, "label"], ev.loc[0, "pred"] = 0.0, 0.9
    doc = run(tmp_path, ref, ev, BINARY, BIN_PARAMS)
    assert case(doc, "accuracy")["metrics"]["degradation"] == 1.0
    assert case(doc, "auc")["status"] == "TEST_CASE_STATUS_SKIP"
    assert case(doc, "false_positive_rate")["status"] == "TEST_CASE_STATUS_SKIP"
    assert case(doc, "precision")["metrics"]["evaluation"] == 0.0  # zero_division=0
    for tc in batch(doc, "subset_accuracy")["test_cases"]:
        assert tc["status"] == "TEST_CASE_STATUS_SKIP"          # no subset of 20 rows
    # without a label column every test of these categories is one skipped case
    doc = run(tmp_path, ref, ev, BINARY, {"pred_col": "pred"})
    for b in doc["test_batches"]:
        assert [tc["status"] for tc in b["test_cases"]] == ["TEST_CASE_STATUS_SKIP"], b["test_type"]
        assert "label" in b["test_cases"][0]["skip_reason"]


def test_bad_labels_and_predictions(tmp_path):
    ref, ev = binary_frames(np.random.default_rng(6), 200, 200)
    bad = ev.copy()
    bad.loc[3, "label"] = 2.0
    with pytest.raises(EngineError, match=r"label column \"label\" of the evaluation, row 3: 2"):
        run(tmp_path, ref, bad, BINARY, BIN_PARAMS)
    bad = ev.copy()
    bad.loc[7, "pred"] = 1.5
    with pytest.raises(EngineError, match=r"row 7: 1.5 is not a probability"):
        run(tmp_path, ref, bad, BINARY, BIN_PARAMS)
    with pytest.raises(EngineError, match=r"\"nope\" .* not a column of the reference"):
        run(tmp_path, ref, ev, BINARY, {"label_col": "nope", "pred_col": "pred"})
    strings = ref.copy()
    strings["label"] = strings["label"].map({0.0: "a", 1.0: "b"})
    with pytest.raises(EngineError, match="class_names"):
        run(tmp_path, strings, ev, BINARY, BIN_PARAMS)
    mref, mev = multiclass_frames(np.random.default_rng(7), 3, 100, 100)
    mparams = {"label_col": "label", "pred_col": ["p0", "p1", "p2"]}
    mev.loc[5, ["p0", "p1", "p2"]] = [0.5, 0.4, 0.5]
    with pytest.raises(EngineError, match="row 5 sum to 1.4"):
        run(tmp_path, mref, mev, MULTI, mparams)
    mev.loc[5, ["p0", "p1", "p2"]] = [1.25, -0.25, 0.0]
    with pytest.raises(EngineError, match=r"\"p0\" of the evaluation, row 5: 1.25 is not a prob"):
        run(tmp_path, mref, mev, MULTI, mparams)
    with pytest.raises(EngineError, match="array of the k probability columns"):
        run(tmp_path, mref, mev, MULTI, {"label_col": "label", "pred_col": "p0"})


def exact_subset(ref, ev, task, rng, size_ev=MIN_SAMPLE, size_ref=MIN_SAMPLE - 1):
    """c1 = "edge" on exactly size_* rows with a label and a prediction of each side."""
    for df, size in ((ref, size_ref), (ev, size_ev)):
        _, _, keep = labeled(df, task)
        c1 = df["c1"].to_numpy(object)
        c1[c1 == "edge"] = "red"
        c1[rng.choice(np.flatnonzero(keep.to_numpy()), size, replace=False)] = "edge"
        df["c1"] = c1


@pytest.mark.parametrize("task", [MULTI, REGR])
def test_subsets_of_exactly_min_sample_size_and_odd_rows(tmp_path, task):
    # a subset of exactly min_sample_size rows is judged (>=), one of min - 1 is not; odd row
    # counts put rows in the scalar tail of the binning, with an edge value on the last row
    rng = np.random.default_rng(21)
    make = multiclass_frames if task == MULTI else regression_frames
    ref, ev = make(rng, n_ref=1203, n_eval=1001)
    exact_subset(ref, ev, task, rng)
    r = ref["x2"].to_numpy(float)
    edges = np.unique(np.quantile(r[np.isfinite(r)], np.arange(1, 10) / 10))
    for df in (ref, ev):
        df.loc[len(df) - 1, "x2"] = edges[0]
        df.loc[len(df) - 2, "x2"] = edges[-1]
    params = ({"label_col": "label", "pred_col": ["p0", "p1", "p2"]} if task == MULTI
              else BIN_PARAMS)
    doc = run(tmp_path, ref, ev, task, params)
    check_subset_performance(doc, task, ref, ev)
    check_subset_degradation(doc, task, ref, ev)
    test_type = next(iter(SUBSET_TESTS[task]))
    sub = {s["subset"]: s for s in case(doc, test_type, "c1")["details"]["subsets"]}
    assert sub["edge"]["size"] == MIN_SAMPLE and sub["edge"]["value"] is not None
    deg = next(iter(DEGRADATION_TESTS[task]))
    sub = {s["subset"]: s for s in case(doc, deg, "c1")["details"]["subsets"]}
    assert (sub["edge"]["ref_size"], sub["edge"]["eval_size"]) == (MIN_SAMPLE - 1, MIN_SAMPLE)
    assert sub["edge"]["reference"] is None and sub["edge"]["evaluation"] is not None


def test_constant_and_perfect_reference_predictions(tmp_path):
    # reference predictions constant and equal to the labels: MAE/RMSE/MAPE/... of the
    # reference are 0, so their relative rise is skipped; average_prediction falls back to
    # |evaluation mean - reference mean| when the reference predictions have std 0
    n = 301
    ref = pd.DataFrame({"x": np.arange(n, dtype=float), "label": np.full(n, 2.0),
                        "pred": np.full(n, 2.0)})
    ev = pd.DataFrame({"x": np.arange(n, dtype=float), "label": np.full(n, 2.0),
                       "pred": 2.0 + np.linspace(0, 1, n)})
    doc = run(tmp_path, ref, ev, REGR, BIN_PARAMS, categories=(MP,))
    for name in ("mae", "mse", "rmse", "mape", "msle"):
        tc = case(doc, name)
        assert tc["metrics"]["reference"] == 0.0, name
        assert tc["status"] == "TEST_CASE_STATUS_SKIP", name
        assert tc["metrics"]["degradation"] is None, name
        assert "reference value is 0" in tc["skip_reason"], name
    tc = case(doc, "average_prediction")
    want = abs(ev["pred"].mean() - 2.0)
    assert tc["status"] != "TEST_CASE_STATUS_SKIP"
    assert_close(tc["metrics"]["degradation"], want, "average_prediction with std 0")
    assert tc["metrics"]["degradation"] > 0.4


def test_single_row_multiclass_and_regression(tmp_path):
    ref = pd.DataFrame({"x": [1.0], "label": [0.0], "p0": [0.7], "p1": [0.2], "p2": [0.1]})
    ev = pd.DataFrame({"x": [2.0], "label": [2.0], "p0": [0.6], "p1": [0.3], "p2": [0.1]})
    params = {"label_col": "label", "pred_col": ["p0", "p1", "p2"]}
    doc = run(tmp_path, ref, ev, MULTI, params)
    tc = case(doc, "multiclass_accuracy")
    assert (tc["metrics"]["reference"], tc["metrics"]["evaluation"]) == (1.0, 0.0)
    assert tc["metrics"]["degradation"] == 1.0
    assert case(doc, "multiclass_auc")["status"] == "TEST_CASE_STATUS_SKIP"
    assert_close(case(doc, "log_loss")["metrics"]["evaluation"], -math.log(0.1), "log loss")
    assert_close(case(doc, "average_confidence")["metrics"]["degradation"], 0.1, "confidence")
    for tc in batch(doc, "subset_multiclass_accuracy")["test_cases"]:
        assert tc["status"] == "TEST_CASE_STATUS_SKIP"
    ref = pd.DataFrame({"x": [1.0], "label": [2.0], "pred": [2.5]})
    ev = pd.DataFrame({"x": [2.0], "label": [4.0], "pred": [3.0]})
    doc = run(tmp_path, ref, ev, REGR, BIN_PARAMS)
    tc = case(doc, "mae")
    assert (tc["metrics"]["reference"], tc["metrics"]["evaluation"]) == (0.5, 1.0)
    assert tc["metrics"]["degradation"] == 1.0
    assert case(doc, "r2")["status"] == "TEST_CASE_STATUS_SKIP"
    assert case(doc, "rank_correlation")["status"] == "TEST_CASE_STATUS_SKIP"
    assert_close(case(doc, "average_prediction")["metrics"]["degradation"], 0.5, "avg pred")


def test_infinite_regression_prediction_says_so(tmp_path):
    ref, ev = regression_frames(np.random.default_rng(22), 300, 300)
    ev.loc[4, "pred"] = np.inf
    doc = run(tmp_path, ref, ev, REGR, BIN_PARAMS, categories=(MP,))
    for name in ("mae", "mse", "rmse", "average_prediction", "prediction_variance"):
        tc = case(doc, name)
        assert tc["status"] == "TEST_CASE_STATUS_SKIP", name
        assert "infinite on the evaluation" in tc["skip_reason"], (name, tc["skip_reason"])
        assert "no rows with a label" not in tc["skip_reason"]


@pytest.mark.parametrize("task", [BINARY, MULTI, REGR])
def test_subset_bins_other_than_the_shared_ones(tmp_path, task):
    # num_bins 4 (not the shared 10-bin codes): the rows are binned here, the last ones of
    # an odd count one by one — with values equal to an edge, which go to the lower bin
    rng = np.random.default_rng(23)
    make = {BINARY: binary_frames, MULTI: multiclass_frames, REGR: regression_frames}[task]
    ref, ev = make(rng, n_ref=1203, n_eval=1001)
    for feat in ("x1", "x2"):
        r = ref[feat].to_numpy(float)
        edges = np.unique(np.quantile(r[np.isfinite(r)], [0.25, 0.5, 0.75]))
        for df in (ref, ev):
            on = np.array([edges[-1], edges[0], edges[len(edges) // 2]])
            assert (on.astype(df[feat].dtype) == on).all()      # x2's edges are integers
            df.loc[len(df) - 3:, feat] = on.astype(df[feat].dtype)
            df.loc[len(df) - 3:, "label"] = df.loc[0, "label"] if task != REGR else 1.0
    params = ({"label_col": "label", "pred_col": ["p0", "p1", "p2"]} if task == MULTI
              else BIN_PARAMS)
    test_type, (name, _) = next(iter(SUBSET_TESTS[task].items()))
    deg = next(iter(DEGRADATION_TESTS[task]))
    tests = {test_type: {"num_bins": 4}, deg: {"num_bins": 4}}
    doc = run(tmp_path, ref, ev, task, params, categories=(SP, SD), tests=tests)
    for feat in ("x1", "x2"):
        labels, rc, ec = subset_codes(ref, ev, feat, True, nbins=4)
        subs = per_subset(task, ev, ec, len(labels), name)
        got = case(doc, test_type, feat)["details"]["subsets"]
        listed = [(lab, size, v) for lab, (size, v) in zip(labels, subs) if size > 0]
        assert [(s["subset"], s["size"]) for s in got] == [x[:2] for x in listed], feat
        for s, (lab, size, v) in zip(got, listed):
            assert_close(s["value"], v, "%s %s" % (feat, lab))
        rs = per_subset(task, ref, rc, len(labels), name)
        got = case(doc, deg, feat)["details"]["subsets"]
        listed = [(lab, rs[b][0], subs[b][0]) for b, lab in enumerate(labels)
                  if rs[b][0] or subs[b][0]]
        assert [(s["subset"], s["ref_size"], s["eval_size"]) for s in got] == listed, feat
