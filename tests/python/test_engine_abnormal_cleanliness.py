"""The ABNORMAL_INPUTS and DATA_CLEANLINESS tests of the stress test engine
against numpy / pandas / scipy / scikit-learn.

Generated frames (nulls, infinities, injected outliers, unseen, rare,
blank and differently capitalised categories, a column whose evaluation
holds text where the reference has numbers, duplicated rows, a leaking
feature, correlated features) go through the C engine (engine_debug.py);
every case is recomputed here from the same numbers:

- shares of affected evaluation rows with numpy / pandas (quartiles by
  ``numpy.quantile``), accuracy on the affected rows;
- duplicate share: ``pandas.DataFrame.duplicated().mean()``;
- leakage: ``sklearn.metrics.mutual_info_score`` over the discretised
  feature (reference decile bins, nulls a bin) and the label, divided by
  ``scipy.stats.entropy`` of the label counts;
- correlation: ``scipy.stats.pearsonr`` over the rows where both values are
  finite; ``scipy.stats.contingency.association(method="cramer")`` of the
  crosstab; on wide frames, which pairs are reported (the flagged ones, at
  most the 1000 highest, filled up to 100 with the highest others) and the
  batch metrics;
- label imbalance: the minority class share.

Exact quantities agree to 1e-9.
"""

import math

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")
stats = pytest.importorskip("scipy.stats")
contingency = pytest.importorskip("scipy.stats.contingency")
metrics = pytest.importorskip("sklearn.metrics")

from engine_debug import batch, case, cases, metric, stress  # noqa: E402

TOL = 1e-9
PARAMS = {"label_col": "y", "pred_col": "p"}


def make_frames(n_ref=20000, n_eval=15000, seed=5):
    rng = np.random.default_rng(seed)

    def side(n, is_eval):
        x = rng.normal(0, 1, n)
        x[rng.random(n) < (0.08 if is_eval else 0.03)] = np.nan
        if is_eval:
            x[rng.random(n) < 0.02] = 25.0                                   # outliers
            x[rng.random(n) < 0.003] = -np.inf
        ints = rng.poisson(4, n)
        if is_eval:
            ints[rng.random(n) < 0.01] = 40                                  # out of range
        base = np.array(["Paris", "London", "Rome", "Oslo", "Lima"])
        city = base[rng.choice(5, n, p=[0.4, 0.3, 0.2, 0.0995, 0.0005])].astype(object)
        if is_eval:
            u = rng.random(n)
            city[u < 0.01] = "PARIS"
            city[(u >= 0.01) & (u < 0.015)] = " london "
            city[(u >= 0.015) & (u < 0.03)] = "Berlin"
            city[(u >= 0.03) & (u < 0.10)] = "  "
        else:
            city[rng.random(n) < 0.005] = " "
        city[rng.random(n) < 0.02] = None
        amount = np.round(rng.gamma(2, 10, n), 2).astype(object)
        if is_eval:
            amount[rng.random(n) < 0.02] = "unknown"
            amount[rng.random(n) < 0.01] = "12x"
        y = (rng.random(n) < 0.3).astype(int)
        leak = np.where(y == 1, "yes", "no").astype(object)
        flip = rng.random(n) < 0.05
        leak[flip] = np.where(y[flip] == 1, "no", "yes")
        p = np.clip(0.3 + 0.4 * (y - 0.3) + rng.normal(0, 0.25, n), 0, 1)
        z = 2.0 * np.nan_to_num(x, nan=0.0, neginf=0.0) + rng.normal(0, 0.2, n)
        z[rng.random(n) < 0.04] = np.nan
        w = rng.normal(0, 1, n)
        w[rng.random(n) < 0.01] = np.inf
        grade = np.array(["A", "B", "C"])[np.minimum((rng.random(n) * 3).astype(int) +
                                                      (city == "Rome"), 2)].astype(object)
        grade[rng.random(n) < 0.01] = None
        return pd.DataFrame({"x": x, "ints": ints, "city": city, "amount": amount, "leak": leak,
                             "z": z, "w": w, "grade": grade, "const": np.full(n, 1.5),
                             "y": y, "p": p})

    ref, ev = side(n_ref, False), side(n_eval, True)
    # duplicated rows: repeat some reference rows
    dup = ref.sample(300, random_state=1)
    ref = pd.concat([ref, dup, dup.iloc[:50]], ignore_index=True)
    return ref, ev


@pytest.fixture(scope="module")
def frames():
    return make_frames()


@pytest.fixture(scope="module")
def doc(frames, tmp_path_factory):
    ref, ev = frames
    return stress(tmp_path_factory.mktemp("run"), ref, ev, params=PARAMS,
                  categories=["abnormal", "cleanliness"],
                  tests={"rare_categories": {"rare_threshold": 0.01}})


def num(s):
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)


def accuracy(ev, mask):
    y, pred = ev["y"].to_numpy(), (ev["p"].to_numpy() >= 0.5).astype(int)
    return float(np.mean(y[mask] == pred[mask])) if mask.any() else math.nan


def check_affected(tc, ev, mask, value=None):
    n = len(ev)
    assert metric(tc, "rows_affected") == int(mask.sum())
    assert metric(tc, "share_affected") == pytest.approx(mask.sum() / n if value is None else value,
                                                         abs=1e-15)
    overall = accuracy(ev, np.ones(n, bool))
    if mask.any():
        assert metric(tc, "performance_affected") == pytest.approx(accuracy(ev, mask), abs=1e-12)
        assert metric(tc, "performance_overall") == pytest.approx(overall, abs=1e-12)
        assert metric(tc, "performance_change") == pytest.approx(accuracy(ev, mask) - overall,
                                                                 abs=1e-12)
    else:
        assert math.isnan(metric(tc, "performance_affected"))


def test_numeric_outliers_and_range(doc, frames):
    ref, ev = frames
    for col in ["x", "ints", "z", "w", "const"]:
        r = num(ref[col])
        r = r[np.isfinite(r)]
        e = num(ev[col])
        q1, q3 = np.quantile(r, [0.25, 0.75])
        iqr = q3 - q1
        lo, hi = (q1 - 3 * iqr, q3 + 3 * iqr) if iqr > 0 else (r.min(), r.max())
        with np.errstate(invalid="ignore"):
            mask = (e < lo) | (e > hi)
        tc = case(doc, "numeric_outliers", col)
        assert metric(tc, "lower_bound") == pytest.approx(lo, abs=TOL)
        assert metric(tc, "upper_bound") == pytest.approx(hi, abs=TOL)
        check_affected(tc, ev, mask)
        with np.errstate(invalid="ignore"):
            mask = (e < r.min()) | (e > r.max())
        check_affected(case(doc, "out_of_range", col), ev, mask)
    assert case(doc, "numeric_outliers", "x")["severity"] != "SEVERITY_PASS"


def test_categories(doc, frames):
    ref, ev = frames
    for col in ["city", "leak", "grade"]:
        r, e = ref[col], ev[col]
        seen = set(r.dropna())
        mask = (e.notna() & ~e.isin(seen)).to_numpy()
        check_affected(case(doc, "unseen_categories", col), ev, mask)
        share = r.value_counts() / len(r)
        rare = set(share[(share > 0) & (share < 0.01)].index)
        mask = e.isin(rare).to_numpy()
        check_affected(case(doc, "rare_categories", col), ev, mask)
    assert metric(case(doc, "rare_categories", "city"), "rows_affected") > 0


def is_blank(s):
    return s.map(lambda v: isinstance(v, str) and v.strip(" \t\n\r\v\f") == "").to_numpy(bool)


def test_nulls_blanks_and_capitalization(doc, frames):
    ref, ev = frames
    for col in ref.columns.drop(["y", "p"]):
        rs, es = ref[col].isna().mean(), ev[col].isna().mean()
        check_affected(case(doc, "null_check", col), ev, ev[col].isna().to_numpy(),
                       value=max(0.0, es - rs))
    for col in ["city", "leak", "grade"]:
        rb, eb = is_blank(ref[col]), is_blank(ev[col])
        tc = case(doc, "empty_strings", col)
        check_affected(tc, ev, eb, value=max(0.0, eb.mean() - rb.mean()))
        seen = set(ref[col].dropna())
        folded = {v.strip(" \t\n\r\v\f").lower() for v in seen}

        def variant(v):
            if not isinstance(v, str) or v in seen:
                return False
            f = v.strip(" \t\n\r\v\f").lower()
            return f != "" and f in folded

        check_affected(case(doc, "capitalization", col), ev, ev[col].map(variant).to_numpy(bool))
    assert case(doc, "empty_strings", "city")["severity"] == "SEVERITY_ALERT"
    assert case(doc, "capitalization", "city")["severity"] == "SEVERITY_WARNING"  # 1.5%
    assert metric(case(doc, "capitalization", "city"), "share_affected") == pytest.approx(
        ev["city"].isin(["PARIS", " london "]).mean(), abs=1e-15)


def test_type_mismatch(doc, frames):
    ref, ev = frames
    e = ev["amount"]
    mask = e.map(lambda v: isinstance(v, str) and v in ("unknown", "12x")).to_numpy(bool)
    tc = case(doc, "type_mismatch", "amount")
    check_affected(tc, ev, mask)
    assert tc["details"] == {"ref_type": "float64", "eval_type": "string"}
    for col in ["x", "ints", "city"]:
        assert metric(case(doc, "type_mismatch", col), "share_affected") == 0


def test_duplicates(doc, frames):
    ref, ev = frames
    r, e = cases(doc, "duplicate_rows")
    assert r["metrics"]["dataset"] == "reference" and e["metrics"]["dataset"] == "evaluation"
    assert metric(r, "duplicate_share") == pytest.approx(ref.duplicated().mean(), abs=1e-15)
    assert metric(r, "duplicate_rows") == ref.duplicated().sum() > 0
    assert metric(e, "duplicate_share") == pytest.approx(ev.duplicated().mean(), abs=1e-15)
    share = ref.duplicated().mean()
    assert 0.01 <= share < 0.05 and r["severity"] == "SEVERITY_WARNING"


def test_duplicates_with_strings_nulls_and_ties(tmp_path):
    rng = np.random.default_rng(9)
    n = 5000
    df = pd.DataFrame({"a": rng.integers(0, 3, n), "b": rng.choice(["u", "v", None], n),
                       "c": rng.choice([0.5, np.nan, -1.25], n), "d": rng.random(n) < 0.5})
    doc = stress(tmp_path, df, df.iloc[:10], categories=["cleanliness"])
    r, e = cases(doc, "duplicate_rows")
    assert metric(r, "duplicate_share") == pytest.approx(df.duplicated().mean(), abs=1e-15)
    assert metric(e, "duplicate_share") == pytest.approx(df.iloc[:10].duplicated().mean(),
                                                         abs=1e-15)


CATEGORICAL = ["city", "leak", "grade"]


def feature_codes(ref, col, label_ok, categorical=CATEGORICAL):
    s = ref[col]
    if col in categorical:
        codes = pd.factorize(s, use_na_sentinel=True)[0]
        codes = np.where(codes < 0, codes.max() + 1, codes)
    else:
        x = num(s)
        edges = np.unique(np.quantile(x[np.isfinite(x)], np.arange(1, 10) / 10))
        codes = np.where(np.isnan(x), len(edges) + 1, np.searchsorted(edges, x, side="left"))
    return codes[label_ok]


def test_feature_leakage(doc, frames):
    ref, _ = frames
    y = ref["y"].to_numpy()
    ok = np.ones(len(ref), bool)
    h = stats.entropy(np.bincount(y))
    for col in ["x", "ints", "city", "leak", "z", "w", "grade", "const", "amount"]:
        want = metrics.mutual_info_score(feature_codes(ref, col, ok), y[ok]) / h
        tc = case(doc, "feature_leakage", col)
        assert metric(tc, "normalized_mutual_info") == pytest.approx(want, abs=TOL), col
    assert case(doc, "feature_leakage", "leak")["severity"] != "SEVERITY_PASS"
    assert case(doc, "feature_leakage", "x")["severity"] == "SEVERITY_PASS"


def test_feature_leakage_regression(tmp_path):
    rng = np.random.default_rng(4)
    n = 6000
    x = rng.normal(0, 1, n)
    y = x * 2 + rng.normal(0, 1, n)
    y[rng.random(n) < 0.03] = np.nan
    c = rng.choice(["a", "b", "c"], n)
    ref = pd.DataFrame({"x": x, "c": c, "y": y, "p": x * 2})
    doc = stress(tmp_path, ref, ref.iloc[:100], task="MODEL_TASK_REGRESSION", params=PARAMS,
                 categories=["cleanliness"])
    ok = ~np.isnan(y)
    yedges = np.unique(np.quantile(y[ok], np.arange(1, 10) / 10))
    ycodes = np.searchsorted(yedges, y[ok], side="left")
    h = stats.entropy(np.bincount(ycodes))
    for col in ["x", "c"]:
        want = metrics.mutual_info_score(feature_codes(ref, col, ok, ["c"]), ycodes) / h
        got = metric(case(doc, "feature_leakage", col), "normalized_mutual_info")
        assert got == pytest.approx(want, abs=TOL), col


def test_correlation(doc, frames):
    ref, _ = frames
    numeric = ["x", "ints", "amount", "z", "w", "const"]
    for i, a in enumerate(numeric):
        for b in numeric[i + 1:]:
            xa, xb = num(ref[a]), num(ref[b])
            m = np.isfinite(xa) & np.isfinite(xb)
            tc = case(doc, "high_feature_correlation", a, b)
            if "const" in (a, b):
                assert tc["status"] == "TEST_CASE_STATUS_SKIP"
                continue
            want = stats.pearsonr(xa[m], xb[m]).statistic
            assert metric(tc, "pearson") == pytest.approx(want, abs=TOL), (a, b)
            assert metric(tc, "correlation") == pytest.approx(abs(want), abs=TOL)
            assert metric(tc, "rows") == m.sum()
    assert case(doc, "high_feature_correlation", "x", "z")["severity"] == "SEVERITY_ALERT"
    categorical = ["city", "leak", "grade"]
    for i, a in enumerate(categorical):
        for b in categorical[i + 1:]:
            both = ref[a].notna() & ref[b].notna()
            table = pd.crosstab(ref[a][both], ref[b][both]).to_numpy()
            want = contingency.association(table, method="cramer")
            tc = case(doc, "high_feature_correlation", a, b)
            assert metric(tc, "cramers_v") == pytest.approx(want, abs=TOL), (a, b)
    # no mixed pairs; pairs in feature order
    pairs = [tuple(tc["features"]) for tc in cases(doc, "high_feature_correlation")]
    assert ("x", "city") not in pairs and ("city", "x") not in pairs
    assert pairs[0] == ("x", "ints")
    # 15 + 3 pairs: every one is a case
    values = [tc["metrics"].get("correlation", math.nan)
              for tc in cases(doc, "high_feature_correlation")]
    m = batch(doc, "high_feature_correlation")["metrics"]
    assert len(pairs) == 18
    assert m["pairs_checked"] == m["pairs_reported"] == 18
    assert m["pairs_flagged"] == sum(v >= 0.9 for v in values if not math.isnan(v)) >= 1
    assert m["max_abs_correlation"] == max(v for v in values if not math.isnan(v))


def correlation_cases(doc):
    return {tuple(tc["features"]): tc for tc in cases(doc, "high_feature_correlation")}


def expected_pairs(values, order):
    """The documented rule: every pair >= 0.9 (the warning threshold), at
    most the 1000 highest; fewer than 100: the highest others up to 100."""
    rank = sorted(values, key=lambda p: (-values[p], order[p]))
    flagged = [p for p in rank if values[p] >= 0.9]
    want = flagged[:1000]
    if len(want) < 100:
        want += [p for p in rank if values[p] < 0.9][: 100 - len(want)]
    return sorted(want, key=order.get), len(flagged)


def test_correlation_wide_numeric(tmp_path):
    # 60 numeric features: 1770 pairs, over 1000 of them flagged
    rng = np.random.default_rng(21)
    n, k = 300, 60
    base = rng.normal(0, 1, n)
    ref = pd.DataFrame({"f%d" % i: base + rng.normal(0, 0.02 + 0.4 * i / k, n) for i in range(k)})
    doc = stress(tmp_path, ref, ref.iloc[:10], categories=["cleanliness"])
    values, order = {}, {}
    for i in range(k):
        for j in range(i + 1, k):
            p = ("f%d" % i, "f%d" % j)
            values[p] = abs(stats.pearsonr(ref[p[0]], ref[p[1]]).statistic)
            order[p] = len(order)
    want, nflagged = expected_pairs(values, order)
    assert nflagged > 1000 and len(want) == 1000
    got = correlation_cases(doc)
    assert list(got) == want
    for p, tc in got.items():
        assert metric(tc, "correlation") == pytest.approx(values[p], abs=TOL), p
        assert tc["severity"] != "SEVERITY_PASS"
    m = batch(doc, "high_feature_correlation")["metrics"]
    assert m == {"pairs_checked": 1770, "pairs_flagged": nflagged, "pairs_reported": 1000,
                 "max_abs_correlation": pytest.approx(max(values.values()), abs=TOL)}


def test_correlation_wide_categorical(tmp_path):
    # 20 categorical features: 190 pairs, a few flagged; those and the
    # highest passing ones, 100 cases, by Cramér's V
    rng = np.random.default_rng(22)
    n, k = 2000, 20
    base = rng.integers(0, 5, n)
    cols = {}
    for i in range(k):
        v = base.copy()
        flip = rng.random(n) < 0.02 + 0.9 * i / k
        v[flip] = rng.integers(0, 5, flip.sum())
        cols["g%d" % i] = np.array(["c%d" % x for x in v], dtype=object)
    ref = pd.DataFrame(cols)
    doc = stress(tmp_path, ref, ref.iloc[:10], categories=["cleanliness"])
    values, order = {}, {}
    for i in range(k):
        for j in range(i + 1, k):
            p = ("g%d" % i, "g%d" % j)
            table = pd.crosstab(ref[p[0]], ref[p[1]]).to_numpy()
            values[p] = contingency.association(table, method="cramer")
            order[p] = len(order)
    want, nflagged = expected_pairs(values, order)
    assert 1 <= nflagged < 100 and len(want) == 100
    got = correlation_cases(doc)
    assert list(got) == want
    for p, tc in got.items():
        assert metric(tc, "cramers_v") == pytest.approx(values[p], abs=TOL), p
    m = batch(doc, "high_feature_correlation")["metrics"]
    assert (m["pairs_checked"], m["pairs_flagged"], m["pairs_reported"]) == (190, nflagged, 100)
    assert m["max_abs_correlation"] == pytest.approx(max(values.values()), abs=TOL)


def test_correlation_many_columns_with_nulls(tmp_path):
    # more numeric columns than one SIMD group, nulls in some, > one stripe of rows
    rng = np.random.default_rng(12)
    n, k = 70000, 11
    base = rng.normal(0, 1, n)
    cols = {}
    for i in range(k):
        v = base * (i / k) + rng.normal(0, 1, n) + 1000.0 * i
        if i % 3 == 0:
            v[rng.random(n) < 0.1] = np.nan
        cols["c%d" % i] = v
    ref = pd.DataFrame(cols)
    doc = stress(tmp_path, ref, ref.iloc[:10], categories=["cleanliness"])
    for i in range(k):
        for j in range(i + 1, k):
            a, b = ref["c%d" % i].to_numpy(), ref["c%d" % j].to_numpy()
            m = np.isfinite(a) & np.isfinite(b)
            want = stats.pearsonr(a[m], b[m]).statistic
            got = metric(case(doc, "high_feature_correlation", "c%d" % i, "c%d" % j), "pearson")
            assert got == pytest.approx(want, abs=TOL), (i, j)


def test_features_not_in_model_left_out(tmp_path):
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50),
                        "c": rng.normal(size=50)})
    doc = stress(tmp_path, ref, ref, params={"features_not_in_model": ["b"]},
                 categories=["cleanliness"])
    assert [tc["features"] for tc in cases(doc, "high_feature_correlation")] == [["a", "c"]]


def test_label_imbalance(doc, frames):
    ref, _ = frames
    share = np.bincount(ref["y"]).min() / len(ref)
    tc = cases(doc, "label_imbalance")[0]
    assert tc["features"] == ["y"]
    assert metric(tc, "minority_class_share" if "minority_class_share" in tc["metrics"]
                  else "minority_share") == pytest.approx(share, abs=1e-15)


def test_feature_leakage_high_cardinality(tmp_path):
    # 120,000 distinct ids x 10 label bins: the engine's sparse contingency path
    rng = np.random.default_rng(8)
    n = 120000
    ids = np.array(["id%d" % i for i in rng.permutation(n)], dtype=object)
    ids[rng.random(n) < 0.01] = None
    y = rng.normal(0, 1, n)
    g = np.where(y > 0.5, "hi", rng.choice(["lo", "mid"], n)).astype(object)
    ref = pd.DataFrame({"id": ids, "g": g, "y": y, "p": y})
    doc = stress(tmp_path, ref, ref.iloc[:100], task="MODEL_TASK_REGRESSION", params=PARAMS,
                 categories=["cleanliness"])
    yedges = np.unique(np.quantile(y, np.arange(1, 10) / 10))
    ycodes = np.searchsorted(yedges, y, side="left")
    h = stats.entropy(np.bincount(ycodes))
    ok = np.ones(n, bool)
    for col in ["id", "g"]:
        want = metrics.mutual_info_score(feature_codes(ref, col, ok, ["id", "g"]), ycodes) / h
        got = metric(case(doc, "feature_leakage", col), "normalized_mutual_info")
        assert got == pytest.approx(want, abs=TOL), col
    assert case(doc, "feature_leakage", "id")["severity"] == "SEVERITY_ALERT"
