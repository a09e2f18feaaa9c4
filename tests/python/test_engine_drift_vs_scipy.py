"""The DRIFT tests of the stress test engine against numpy / scipy.

Generated reference and evaluation frames (ties, nulls, infinities, a
constant column, evaluation-only categories) go through the C engine
(``assay__debug_stress`` on CSV files, see engine_debug.py) and every
case's statistic is recomputed here from the same numbers:

- PSI: bins at ``numpy.quantile(ref, i / num_bins)`` (duplicates removed),
  ``numpy.searchsorted(edges, x, side="left")``, shares floored at 1e-4;
- KS: ``scipy.stats.ks_2samp`` (statistic and p-value, exact and
  asymptotic);
- Jensen-Shannon: ``scipy.spatial.distance.jensenshannon(base=2)`` over the
  same bins;
- Wasserstein: ``scipy.stats.wasserstein_distance / max(np.std(ref), 0.001)``;
- chi-square: ``scipy.stats.chisquare`` of the evaluation counts against the
  floored, renormalised reference shares;
- nulls: the pooled two-proportion z-test.

Numeric statistics use the non-null finite values. All agree to 1e-9. And
on a dataset with 3 of 20 features shifted, exactly those 3 are flagged by
every statistic.
"""

import json
import math

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
stats = pytest.importorskip("scipy.stats")
distance = pytest.importorskip("scipy.spatial.distance")

from engine_debug import batch, case, metric, stress  # noqa: E402

TOL = 1e-9


def finite(x):
    x = np.asarray(x, dtype=float)
    return x[np.isfinite(x)]


def edges_of(ref, nbins):
    return np.unique(np.quantile(ref, np.arange(1, nbins) / nbins))


def bin_counts(values, edges):
    return np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)


def psi(rc, ec, eps=1e-4):
    r = np.maximum(rc / rc.sum(), eps)
    e = np.maximum(ec / ec.sum(), eps)
    return float(np.sum((r - e) * np.log(r / e)))


def make_frames(n_ref=3000, n_eval=2500, seed=7):
    rng = np.random.default_rng(seed)

    def side(n, shift):
        normal = rng.normal(shift, 1.0, n)
        normal[rng.random(n) < 0.05] = np.nan
        ties = np.round(rng.normal(shift, 2.0, n))          # integers as floats: ties
        heavy = rng.standard_t(2, n) * 10 + shift
        heavy[rng.random(n) < 0.01] = np.inf                # infinities are left out
        heavy[rng.random(n) < 0.01] = -np.inf
        counts = rng.poisson(3 + shift, n)                   # an int64 column
        cats = np.array(["a", "b", "c", "d", "e"])
        p = [0.4, 0.3, 0.15, 0.1, 0.05] if shift == 0 else [0.3, 0.3, 0.2, 0.15, 0.05]
        city = cats[rng.choice(5, n, p=p)].astype(object)
        city[rng.random(n) < 0.03] = None
        if shift:
            city[rng.random(n) < 0.02] = "new_city"             # evaluation-only
        return pd.DataFrame({"normal": normal, "ties": ties, "heavy": heavy, "counts": counts,
                             "constant": np.full(n, 4.25), "city": city})

    return side(n_ref, 0.0), side(n_eval, 0.3)


NUMERIC = ["normal", "ties", "heavy", "counts", "constant"]


@pytest.fixture(scope="module")
def frames():
    return make_frames()


def run_drift(tmp_path, ref, ev, **tests):
    return stress(tmp_path, ref, ev, categories=["drift"], tests=tests or None)


@pytest.mark.parametrize("nbins", [10, 4, 37])
def test_psi_and_js_match_numpy(tmp_path, frames, nbins):
    ref, ev = frames
    doc = run_drift(tmp_path, ref, ev, numeric_feature_drift={"num_bins": nbins})
    for col in NUMERIC:
        r, e = finite(ref[col]), finite(ev[col])
        edges = edges_of(r, nbins)
        rc, ec = bin_counts(r, edges), bin_counts(e, edges)
        tc = case(doc, "numeric_feature_drift", col)
        assert metric(tc, "psi") == pytest.approx(psi(rc, ec), abs=TOL), col
        assert metric(tc, "ref_rows") == len(r) and metric(tc, "eval_rows") == len(e)
        d = tc["details"]
        assert d["kind"] == "numeric" and len(d["bins"]) == len(edges) + 1
        np.testing.assert_allclose(d["reference"], rc / rc.sum(), atol=1e-12)
        np.testing.assert_allclose(d["evaluation"], ec / ec.sum(), atol=1e-12)
    doc = run_drift(tmp_path, ref, ev, numeric_feature_drift={"num_bins": nbins,
                                                              "statistic": "jensen_shannon"})
    for col in NUMERIC:
        r, e = finite(ref[col]), finite(ev[col])
        edges = edges_of(r, nbins)
        want = distance.jensenshannon(bin_counts(r, edges), bin_counts(e, edges), base=2)
        got = metric(case(doc, "numeric_feature_drift", col), "jensen_shannon")
        assert got == pytest.approx(want, abs=TOL), col


def test_ks_matches_scipy(tmp_path, frames):
    ref, ev = frames
    doc = run_drift(tmp_path, ref, ev, numeric_feature_drift={"statistic": "ks"})
    for col in NUMERIC:
        want = stats.ks_2samp(finite(ref[col]), finite(ev[col]))
        tc = case(doc, "numeric_feature_drift", col)
        assert metric(tc, "ks_statistic") == pytest.approx(want.statistic, abs=TOL), col
        assert metric(tc, "ks_pvalue") == pytest.approx(want.pvalue, abs=TOL), col


def test_ks_asymptotic_matches_scipy(tmp_path):
    # more than 10,000 values on a side: scipy's "auto" uses the asymptotic p-value
    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"x": rng.normal(0, 1, 12000)})
    ev = pd.DataFrame({"x": rng.normal(0.02, 1, 11000)})
    doc = run_drift(tmp_path, ref, ev, numeric_feature_drift={"statistic": "ks"})
    want = stats.ks_2samp(ref["x"], ev["x"])
    tc = case(doc, "numeric_feature_drift", "x")
    assert metric(tc, "ks_statistic") == pytest.approx(want.statistic, abs=TOL)
    assert metric(tc, "ks_pvalue") == pytest.approx(want.pvalue, abs=TOL)


def test_wasserstein_matches_scipy(tmp_path, frames):
    ref, ev = frames
    doc = run_drift(tmp_path, ref, ev, numeric_feature_drift={"statistic": "wasserstein"})
    for col in NUMERIC:
        r, e = finite(ref[col]), finite(ev[col])
        want = stats.wasserstein_distance(r, e) / max(np.std(r), 0.001)
        got = metric(case(doc, "numeric_feature_drift", col), "wasserstein_normed")
        assert got == pytest.approx(want, rel=1e-9, abs=TOL), col


def category_counts(ref, ev):
    r, e = ref.dropna(), ev.dropna()
    order = list(r.value_counts(sort=True).index)  # reference categories (any order works)
    order += [c for c in pd.unique(e) if c not in set(order)]
    rc = np.array([(r == c).sum() for c in order], dtype=float)
    ec = np.array([(e == c).sum() for c in order], dtype=float)
    return order, rc, ec


def test_categorical_statistics_match_scipy(tmp_path, frames):
    ref, ev = frames
    _, rc, ec = category_counts(ref["city"], ev["city"])
    doc = run_drift(tmp_path, ref, ev)
    tc = case(doc, "categorical_feature_drift", "city")
    assert metric(tc, "psi") == pytest.approx(psi(rc, ec), abs=TOL)
    d = tc["details"]
    assert d["kind"] == "categorical" and "new_city" in d["bins"]
    assert d["bins"][0] == "a" and d["reference"][0] == pytest.approx(rc[0] / rc.sum(), abs=1e-12)
    doc = run_drift(tmp_path, ref, ev, categorical_feature_drift={"statistic": "jensen_shannon"})
    assert metric(case(doc, "categorical_feature_drift", "city"), "jensen_shannon") == \
        pytest.approx(distance.jensenshannon(rc, ec, base=2), abs=TOL)
    doc = run_drift(tmp_path, ref, ev, categorical_feature_drift={"statistic": "chi_square"})
    shares = np.maximum(rc / rc.sum(), 1e-4)
    expected = shares / shares.sum() * ec.sum()
    want = stats.chisquare(ec, expected)
    tc = case(doc, "categorical_feature_drift", "city")
    assert metric(tc, "chi_square") == pytest.approx(want.statistic, rel=1e-9)
    assert metric(tc, "chi_square_pvalue") == pytest.approx(want.pvalue, abs=TOL)
    # judged on the p-value, lower is worse: a shifted mix is an alert
    assert tc["severity"] == "SEVERITY_ALERT"


def test_nulls_drift_matches_ztest(tmp_path, frames):
    ref, ev = frames
    doc = run_drift(tmp_path, ref, ev)
    for col in ref.columns:
        x1, n1 = int(ref[col].isna().sum()), len(ref)
        x2, n2 = int(ev[col].isna().sum()), len(ev)
        tc = case(doc, "nulls_per_feature_drift", col)
        assert metric(tc, "ref_null_share") == pytest.approx(x1 / n1, abs=1e-15)
        assert metric(tc, "eval_null_share") == pytest.approx(x2 / n2, abs=1e-15)
        assert metric(tc, "null_share_change") == pytest.approx(abs(x2 / n2 - x1 / n1), abs=1e-15)
        p = (x1 + x2) / (n1 + n2)
        if p == 0:
            assert math.isnan(metric(tc, "z"))
            continue
        z = (x1 / n1 - x2 / n2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
        assert metric(tc, "z") == pytest.approx(z, abs=TOL)
        assert metric(tc, "pvalue") == pytest.approx(2 * stats.norm.sf(abs(z)), abs=TOL)


def test_label_and_prediction_drift(tmp_path):
    rng = np.random.default_rng(11)
    n = 4000

    def side(shift):
        x = rng.normal(shift, 1, n)
        y = x + rng.normal(0, 0.5, n)
        y[rng.random(n) < 0.02] = np.nan
        return pd.DataFrame({"x": x, "y": y, "p": x * 0.9})

    ref, ev = side(0), side(0.8)
    params = {"label_col": "y", "pred_col": "p"}
    doc = stress(tmp_path, ref, ev, task="MODEL_TASK_REGRESSION", params=params,
                 categories=["drift"], tests={"label_drift": {"statistic": "ks"},
                                              "prediction_drift": {"statistic": "chi_square"}})
    tc = case(doc, "label_drift", "y")
    want = stats.ks_2samp(finite(ref["y"]), finite(ev["y"]))
    assert metric(tc, "ks_statistic") == pytest.approx(want.statistic, abs=TOL)
    assert tc["metrics"]["statistic_used"] == "ks"
    # chi_square does not apply to a numeric prediction: psi, with psi's thresholds
    tc = case(doc, "prediction_drift")
    r, e = ref["p"].to_numpy(), ev["p"].to_numpy()
    edges = edges_of(r, 10)
    assert metric(tc, "psi") == pytest.approx(psi(bin_counts(r, edges), bin_counts(e, edges)),
                                              abs=TOL)
    assert tc["metrics"]["statistic_used"] == "psi"
    assert tc["severity"] != "SEVERITY_PASS"

    # binary: class shares of labels and of predicted classes (score >= 0.5)
    rb = pd.DataFrame({"x": ref["x"], "y": (ref["x"] > 0).astype(int),
                       "p": 1 / (1 + np.exp(-ref["x"]))})
    eb = pd.DataFrame({"x": ev["x"], "y": (ev["x"] > 0.2).astype(int),
                       "p": 1 / (1 + np.exp(-ev["x"]))})
    doc = stress(tmp_path, rb, eb, params=params, categories=["drift"],
                 tests={"label_drift": {"statistic": "jensen_shannon"}})
    rc = np.bincount(rb["y"], minlength=2)
    ec = np.bincount(eb["y"], minlength=2)
    assert metric(case(doc, "label_drift", "y"), "jensen_shannon") == \
        pytest.approx(distance.jensenshannon(rc, ec, base=2), abs=TOL)
    rc = np.bincount(rb["p"] >= 0.5, minlength=2)
    ec = np.bincount(eb["p"] >= 0.5, minlength=2)
    assert metric(case(doc, "predicted_label_drift"), "psi") == pytest.approx(psi(rc, ec), abs=TOL)


@pytest.mark.parametrize("statistic", ["psi", "ks", "jensen_shannon", "wasserstein"])
def test_drift_flagged_on_shifted_features_only(tmp_path, statistic):
    rng = np.random.default_rng(2026)
    n, k = 5000, 20
    shifted = {"f3", "f11", "f17"}
    ref = pd.DataFrame({"f%d" % i: rng.normal(0, 1, n) for i in range(k)})
    ev = pd.DataFrame({"f%d" % i: rng.normal(1.0 if "f%d" % i in shifted else 0.0, 1, n)
                       for i in range(k)})
    doc = run_drift(tmp_path, ref, ev, numeric_feature_drift={"statistic": statistic})
    flagged = {tc["features"][0] for tc in batch(doc, "numeric_feature_drift")["test_cases"]
               if tc["severity"] != "SEVERITY_PASS"}
    assert flagged == shifted
    metrics = batch(doc, "numeric_feature_drift")["metrics"]
    assert metrics["num_drifted"] == 3 and metrics["share_drifted"] == pytest.approx(3 / 20)


def test_edge_cases(tmp_path):
    # all-null, constant and single-row sides; an evaluation without a column
    ref = pd.DataFrame({"allnull": [np.nan] * 3, "k": [2.0, 2.0, 2.0], "x": [1.0, 2.0, 3.0],
                        "gone": [1, 2, 3]})
    ev = pd.DataFrame({"allnull": [np.nan], "k": [2.0], "x": [5.0]})
    doc = stress(tmp_path, ref, ev, categories=["drift"],
                 tests={"numeric_feature_drift": {"statistic": "ks"}})
    assert case(doc, "numeric_feature_drift", "allnull")["status"] == "TEST_CASE_STATUS_SKIP"
    assert case(doc, "numeric_feature_drift", "gone")["status"] == "TEST_CASE_STATUS_SKIP"
    tc = case(doc, "numeric_feature_drift", "k")
    assert metric(tc, "ks_statistic") == pytest.approx(stats.ks_2samp([2.0] * 3, [2.0]).statistic)
    tc = case(doc, "numeric_feature_drift", "x")
    want = stats.ks_2samp([1.0, 2.0, 3.0], [5.0])
    assert metric(tc, "ks_statistic") == pytest.approx(want.statistic, abs=TOL)
    assert metric(tc, "ks_pvalue") == pytest.approx(want.pvalue, abs=TOL)


def test_categorical_details_top_20_and_other(tmp_path):
    # 25 categories with distinct reference counts: the chart shows the 20 largest of the
    # reference and "other", whose shares are the sums of ranks 21-25 on each side
    rng = np.random.default_rng(31)
    names = ["k%02d" % i for i in range(25)]
    rcount = [100 - 3 * i for i in range(25)]
    ecount = [int(x) for x in rng.integers(10, 90, 25)]
    ref = pd.DataFrame({"c": sum(([nm] * c for nm, c in zip(names, rcount)), [])})
    ev = pd.DataFrame({"c": sum(([nm] * c for nm, c in zip(names, ecount)), [])})
    ref = ref.sample(frac=1, random_state=1).reset_index(drop=True)
    ev = ev.sample(frac=1, random_state=2).reset_index(drop=True)
    doc = run_drift(tmp_path, ref, ev)
    tc = case(doc, "categorical_feature_drift", "c")
    rc, ec = np.array(rcount, float), np.array(ecount, float)
    assert metric(tc, "psi") == pytest.approx(psi(rc, ec), abs=TOL)
    d = tc["details"]
    assert len(d["bins"]) == 21 and d["bins"][:20] == names[:20] and d["bins"][20] == "other"
    assert d["reference"][:20] == pytest.approx(list(rc[:20] / rc.sum()), abs=1e-12)
    assert d["evaluation"][:20] == pytest.approx(list(ec[:20] / ec.sum()), abs=1e-12)
    assert d["reference"][20] == pytest.approx(rc[20:].sum() / rc.sum(), abs=1e-12)
    assert d["evaluation"][20] == pytest.approx(ec[20:].sum() / ec.sum(), abs=1e-12)


def test_multiclass_label_and_predicted_label_drift(tmp_path):
    rng = np.random.default_rng(32)

    def side(n, p):
        y = rng.choice(3, n, p=p).astype(float)
        proba = rng.dirichlet([1, 1, 1], n)
        return pd.DataFrame({"x": rng.normal(0, 1, n), "y": y, "p0": proba[:, 0],
                             "p1": proba[:, 1], "p2": proba[:, 2]})

    ref, ev = side(3001, [0.5, 0.3, 0.2]), side(2503, [0.3, 0.3, 0.4])
    params = {"label_col": "y", "pred_col": ["p0", "p1", "p2"]}
    doc = stress(tmp_path, ref, ev, task="MODEL_TASK_MULTICLASS_CLASSIFICATION", params=params,
                 categories=["drift"], tests={"label_drift": {"statistic": "chi_square"},
                                              "predicted_label_drift": {"statistic": "psi"}})
    rc = np.bincount(ref["y"].astype(int), minlength=3).astype(float)
    ec = np.bincount(ev["y"].astype(int), minlength=3).astype(float)
    shares = np.maximum(rc / rc.sum(), 1e-4)
    want = stats.chisquare(ec, shares / shares.sum() * ec.sum())
    tc = case(doc, "label_drift", "y")
    assert tc["metrics"]["statistic_used"] == "chi_square"
    assert metric(tc, "chi_square") == pytest.approx(want.statistic, rel=1e-9)
    assert metric(tc, "chi_square_pvalue") == pytest.approx(want.pvalue, abs=TOL)
    assert tc["details"]["bins"] == ["0", "1", "2"]
    assert tc["severity"] == "SEVERITY_ALERT"
    cols = ["p0", "p1", "p2"]
    rp = np.bincount(np.argmax(ref[cols].to_numpy(), axis=1), minlength=3)
    ep = np.bincount(np.argmax(ev[cols].to_numpy(), axis=1), minlength=3)
    tc = case(doc, "predicted_label_drift")
    assert tc["metrics"]["statistic_used"] == "psi"
    assert metric(tc, "psi") == pytest.approx(psi(rp, ep), abs=TOL)
    doc = stress(tmp_path, ref, ev, task="MODEL_TASK_MULTICLASS_CLASSIFICATION", params=params,
                 categories=["drift"], tests={"label_drift": {"statistic": "jensen_shannon"},
                                              "predicted_label_drift": {"statistic": "chi_square"}})
    assert metric(case(doc, "label_drift", "y"), "jensen_shannon") == \
        pytest.approx(distance.jensenshannon(rc, ec, base=2), abs=TOL)
    tc = case(doc, "predicted_label_drift")
    shares = np.maximum(rp / rp.sum(), 1e-4)
    want = stats.chisquare(ep, shares / shares.sum() * ep.sum())
    assert tc["metrics"]["statistic_used"] == "chi_square"
    assert metric(tc, "chi_square") == pytest.approx(want.statistic, rel=1e-9)


def test_binary_prediction_drift_psi_value(tmp_path):
    rng = np.random.default_rng(33)
    r = np.round(rng.beta(2, 5, 3001), 3)
    e = np.round(rng.beta(2.6, 5, 2503), 3)
    ref = pd.DataFrame({"x": rng.normal(0, 1, len(r)), "y": (r > 0.3).astype(int), "p": r})
    ev = pd.DataFrame({"x": rng.normal(0, 1, len(e)), "y": (e > 0.3).astype(int), "p": e})
    doc = stress(tmp_path, ref, ev, params={"label_col": "y", "pred_col": "p"},
                 categories=["drift"])
    tc = case(doc, "prediction_drift")
    edges = edges_of(r, 10)
    want = psi(bin_counts(r, edges), bin_counts(e, edges))
    assert tc["metrics"]["statistic_used"] == "psi"
    assert metric(tc, "psi") == pytest.approx(want, abs=TOL)
    assert want > 0.01


def test_threads_do_not_change_the_document(tmp_path, frames):
    ref, ev = frames
    ref, ev = ref.copy(), ev.copy()
    for df in (ref, ev):
        x = np.nan_to_num(df["normal"].to_numpy(float))
        df["y"] = (x > 0.2).astype(int)
        df["p"] = np.round(1 / (1 + np.exp(-x)), 2)
    docs = [stress(tmp_path, ref, ev, params={"label_col": "y", "pred_col": "p"},
                   categories=["drift", "abnormal", "cleanliness"], threads=t) for t in (1, 8)]

    def timeless(x):  # durations are the one thing that may differ
        if isinstance(x, dict):
            return {k: timeless(v) for k, v in x.items() if "duration" not in k and "seconds" not in k}
        return [timeless(v) for v in x] if isinstance(x, list) else x

    a, b = (json.dumps(timeless(d), sort_keys=True) for d in docs)
    assert a == b
    assert len(docs[0]["test_batches"]) > 5
