"""The stress test engine's shortcuts give what the plain computation gives.

The engine avoids work where it can prove the result unchanged: duplicate
rows are looked for among the rows that share the hash of a few columns
only; every feature's binary subset statistics come from one walk of the
score order (else one walk per feature); reference quantiles come from
selection, not sorting. Each is checked here against pandas / numpy on
data made to defeat the shortcut: rows equal in the first columns that
differ later, the same subset test run through both paths, and columns
with signed zeros, heavy ties and a far outlier.
"""

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

from engine_debug import case, cases, metric, stress  # noqa: E402

PARAMS = {"label_col": "y", "pred_col": "p"}


def test_duplicates_sharing_their_first_columns(tmp_path):
    """Many rows alike in the first four (floating-point) columns, told
    apart only by later ones; and real duplicates among them."""
    rng = np.random.default_rng(11)
    n = 6000
    df = pd.DataFrame({
        "f1": rng.choice([0.0, -0.0, 1.5], n), "f2": rng.choice([2.0, 3.0], n),
        "f3": np.full(n, 7.25), "f4": rng.choice([np.nan, 1.0], n),
        "i": rng.integers(0, 40, n), "s": rng.choice(["a", "b", None], n),
        "t": rng.choice([0.5, 1.5, np.nan], n), "y": rng.integers(0, 2, n),
    })
    df["p"] = np.round(rng.random(n), 1)
    # rows of their own in the first columns, a few of them twice
    own = df.iloc[:300].copy()
    own["f1"] = rng.random(300)
    df = pd.concat([df, own, own.iloc[:20]], ignore_index=True)
    doc = stress(tmp_path, df, df.iloc[:500], params=PARAMS, categories=["cleanliness"])
    r, e = cases(doc, "duplicate_rows")
    assert metric(r, "duplicate_rows") == df.duplicated().sum() > 0
    assert metric(r, "duplicate_share") == pytest.approx(df.duplicated().mean(), abs=1e-15)
    assert metric(e, "duplicate_rows") == df.iloc[:500].duplicated().sum()
    # no duplicate at all although the first columns collide everywhere
    uniq = df.drop_duplicates().reset_index(drop=True)
    doc = stress(tmp_path, uniq, uniq.iloc[:10], params=PARAMS, categories=["cleanliness"])
    assert metric(cases(doc, "duplicate_rows")[0], "duplicate_rows") == 0


def binary_frames(rng, n):
    out = []
    for shift in (0.0, 0.3):
        x = rng.normal(shift, 1, n)
        x[rng.random(n) < 0.03] = np.nan
        k = rng.integers(0, 5, n).astype(float)                  # ties at the edges
        c = rng.choice(["r", "g", "b"], n)
        y = (x + rng.normal(0, 1, n) > 0).astype(float)
        y[rng.random(n) < 0.02] = np.nan
        p = np.round(1 / (1 + np.exp(-np.nan_to_num(x))), 2)      # tied scores
        p[rng.random(n) < 0.02] = np.nan
        out.append(pd.DataFrame({"x": x, "k": k, "c": c, "y": y, "p": p}))
    return out


SUBSET = ["subset_accuracy", "subset_auc", "subset_f1", "subset_precision", "subset_recall",
          "subset_false_positive_rate", "subset_false_negative_rate"]


def test_subset_walks_agree(tmp_path):
    """The same subset tests with the shared options (one walk for every
    feature) and with options of their own (one walk per feature)."""
    ref, ev = binary_frames(np.random.default_rng(12), 4000)
    cats = ["TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE",
            "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE_DEGRADATION"]
    shared = stress(tmp_path, ref, ev, params=PARAMS, categories=cats)
    # the first subset test's options are the shared ones: give it others,
    # so every other test computes its own subsets
    own = stress(tmp_path, ref, ev, params=PARAMS, categories=cats,
                 tests={"subset_accuracy": {"min_sample_size": 21}})
    for t in SUBSET[1:] + ["subset_auc_degradation", "subset_f1_degradation"]:
        for col in ("x", "k", "c"):
            a, b = case(shared, t, col), case(own, t, col)
            assert a["metrics"] == b["metrics"], (t, col)
            assert a["details"] == b["details"], (t, col)


def test_quantiles_by_selection(tmp_path):
    """Outlier bounds (reference quartiles) and out-of-range bounds (min and
    max) of awkward columns, against numpy.quantile."""
    rng = np.random.default_rng(13)
    n = 30000
    far = rng.normal(0, 1, n)
    far[17] = 1e300                                               # one far outlier
    ref = pd.DataFrame({
        "zeros": rng.choice([-0.0, 0.0, 1.0], n),                 # signed zeros
        "ties": rng.poisson(3, n).astype(float),                  # heavy ties
        "far": far,
        "tiny": rng.integers(0, 1000, n) * 5e-324,                # subnormals
        "y": rng.integers(0, 2, n), "p": rng.random(n),
    })
    ev = ref.sample(frac=1.0, random_state=1).reset_index(drop=True)
    doc = stress(tmp_path, ref, ev, params=PARAMS, categories=["abnormal"])
    for col in ("zeros", "ties", "far", "tiny"):
        x = ref[col].to_numpy()
        q1, q3 = np.quantile(x, 0.25), np.quantile(x, 0.75)
        tc = case(doc, "numeric_outliers", col)
        assert metric(tc, "q1") == q1 and metric(tc, "q3") == q3, col
        tc = case(doc, "out_of_range", col)
        assert metric(tc, "lower_bound") == x.min() and metric(tc, "upper_bound") == x.max()
