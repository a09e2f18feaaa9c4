"""The engine's statistics (core/src/engine/stats.c) against the references
they are defined by: scipy.stats, scipy.spatial.distance.jensenshannon,
scipy.special, scikit-learn's metrics, numpy.quantile and the statsmodels
formula of the two-proportion Z test.

libassay is loaded with ctypes from ``$ASSAY_BUILD_DIR/core/libassay.so`` and
driven through ``assay__debug_stat`` (JSON in, JSON out; the result text is
freed with ``assay_string_free``). Data are generated with ties, constant
columns, a single row, empty input, one class only, infinities where they
are allowed, and large n (both sides of ks_2samp's switch from the exact to
the asymptotic p-value at 10,000 rows). Values must agree to 1e-9 (relative,
or absolute near 0); every case where assay deliberately differs from the
reference (the reference raises, or returns NaN from a rounding artefact)
is spelled out in a test of its own.
"""

import ctypes
import json
import math
import time
import warnings

import numpy as np
import pytest
import scipy.special
import scipy.stats as ss
from scipy.spatial.distance import jensenshannon
from sklearn import metrics as skm

from assayd_process import BUILD_DIR

LIB_PATH = BUILD_DIR / "core" / "libassay.so"
RTOL = 1e-9
ATOL = 1e-12
ASSAY_ERR_CONFIG = -2


@pytest.fixture(scope="module")
def lib():
    if not LIB_PATH.exists():
        pytest.fail("libassay is not built at %s (set ASSAY_BUILD_DIR)" % LIB_PATH)
    lib = ctypes.CDLL(str(LIB_PATH))
    lib.assay__debug_stat.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.assay__debug_stat.restype = ctypes.c_int
    lib.assay_string_free.argtypes = [ctypes.c_void_p]
    lib.assay_string_free.restype = None
    return lib


def _enc(x):
    """JSON-able form: NaN as null, infinities as "inf" / "-inf"."""
    if isinstance(x, np.ndarray):
        return [_enc(v) for v in x.tolist()]
    if isinstance(x, (list, tuple)):
        return [_enc(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float):
        if math.isnan(x):
            return None
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
    return x


def _dec(x):
    if x is None:
        return math.nan
    if x == "inf":
        return math.inf
    if x == "-inf":
        return -math.inf
    if isinstance(x, list):
        return [_dec(v) for v in x]
    return x


def call_rc(lib, fn, **kwargs):
    req = json.dumps({"fn": fn, **{k: _enc(v) for k, v in kwargs.items()}}).encode()
    out = ctypes.c_void_p()
    rc = lib.assay__debug_stat(req, ctypes.byref(out))
    if rc:
        assert not out.value
        return rc, None
    try:
        text = ctypes.string_at(out.value).decode()
    finally:
        lib.assay_string_free(out)
    return 0, {k: _dec(v) for k, v in json.loads(text).items()}


@pytest.fixture(scope="module")
def stat(lib):
    def call(fn, **kwargs):
        rc, res = call_rc(lib, fn, **kwargs)
        assert rc == 0, "assay__debug_stat(%s) failed with %d" % (fn, rc)
        return res
    return call


def close(a, b, rtol=RTOL, atol=ATOL):
    """a == b to rtol (or atol near 0); NaN only equals NaN, inf only inf."""
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(b)


def assert_close(a, b, what="", rtol=RTOL, atol=ATOL):
    assert close(a, b, rtol, atol), "%s: assay %r, reference %r" % (what, a, b)


def assert_all_close(a, b, what="", rtol=RTOL, atol=ATOL):
    a, b = list(a), list(b)
    assert len(a) == len(b), "%s: lengths %d vs %d" % (what, len(a), len(b))
    for i, (x, y) in enumerate(zip(a, b)):
        assert close(x, y, rtol, atol), "%s[%d]: assay %r, reference %r" % (what, i, x, y)


def quiet(f, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*args, **kwargs)


RNG = np.random.default_rng(20251126)


def samples():
    """(name, array) pairs covering the awkward cases."""
    r = np.random.default_rng(7)
    return [
        ("normal", r.normal(size=500)),
        ("ties", r.integers(0, 8, size=400).astype(float)),
        ("heavy_ties", np.repeat([1.5, -2.0, 3.25], [100, 3, 50]).astype(float)),
        ("constant", np.full(50, 4.5)),
        ("single", np.array([2.5])),
        ("two", np.array([3.0, -1.0])),
        ("signed_zeros", np.array([0.0, -0.0, 1.0, -0.0, 0.0, -1.0])),
        ("lognormal", r.lognormal(3, 2, size=300)),
        ("tiny_range", 1e9 + r.normal(size=200) * 1e-6),
    ]


# --- sorting, quantiles, ranks ---------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2, 17, 64, 65, 1000, 100_003])
def test_sort_matches_numpy(stat, n):
    v = RNG.normal(size=n) * 10.0 ** RNG.integers(-300, 300, size=n)
    if n > 10:
        v[::7] = np.round(v[::7])          # ties
        v[3] = math.inf
        v[5] = -math.inf
        v[8] = -0.0
        v[9] = 0.0
        v[10] = -v[11]
    got = np.array(stat("sort", v=v)["v"], dtype=float)
    assert np.array_equal(got, np.sort(v))
    zeros = got[got == 0]
    if zeros.size:  # -0.0 before +0.0
        signs = np.signbit(zeros)
        assert not np.any(~signs[:-1] & signs[1:])


def test_argsort_is_stable_and_matches_numpy(stat):
    for n in [0, 1, 5, 64, 65, 5000]:
        v = RNG.integers(-20, 20, size=n).astype(float)   # many ties; no -0.0
        got = stat("argsort", v=v)["order"]
        assert got == np.argsort(v, kind="stable").tolist()


@pytest.mark.parametrize("name,x", samples())
def test_quantiles_match_numpy(stat, name, x):
    qs = [0.0, 0.1, 0.25, 1 / 3, 0.5, 0.75, 0.9, 0.999, 1.0] + RNG.random(10).tolist()
    got = stat("quantile", v=x, q=qs)["values"]
    assert_all_close(got, np.quantile(x, qs), name)
    assert_close(stat("quantile", v=x, q=0.3)["value"], np.quantile(x, 0.3), name)


@pytest.mark.parametrize("name,x", samples())
@pytest.mark.parametrize("nbins", [2, 4, 10, 37])
def test_quantile_edges_and_bins_match_numpy(stat, name, x, nbins):
    ref = np.unique(np.quantile(x, np.arange(1, nbins) / nbins))
    edges = stat("quantile_edges", v=x, nbins=nbins)["edges"]
    assert_all_close(edges, ref, name)
    probe = np.concatenate([x, ref, [-math.inf, math.inf], RNG.normal(size=20)])
    bins = stat("bin_of", edges=edges, x=probe)["bins"]
    assert bins == np.searchsorted(np.array(edges, dtype=float), probe, side="left").tolist()


def test_quantile_edge_cases(stat):
    assert math.isnan(stat("quantile", v=[], q=0.5)["value"])
    assert stat("quantile_edges", v=[], nbins=10)["edges"] == []
    assert stat("quantile_edges", v=[3.0] * 10, nbins=10)["edges"] == [3.0]
    assert stat("bin_of", edges=[], x=[1.0, -2.0])["bins"] == [0, 0]
    # numpy returns NaN when an interpolation end point is infinite (inf - inf);
    # assay returns the limit, so that quantile bin edges are never NaN.
    v = [-math.inf, 1.0, 2.0, math.inf]
    got = stat("quantile", v=v, q=[0.0, 0.2, 0.5, 0.9, 1.0])["values"]
    assert got == [-math.inf, -math.inf, 1.5, math.inf, math.inf]
    assert quiet(np.quantile, v, 0.5) == 1.5


@pytest.mark.parametrize("name,x", samples())
def test_rank_average_matches_scipy(stat, name, x):
    assert_all_close(stat("rank_average", v=x)["ranks"], ss.rankdata(x, method="average"), name)


def test_rank_average_empty(stat):
    assert stat("rank_average", v=[])["ranks"] == []


# --- drift statistics ------------------------------------------------------------------------


def count_pairs():
    r = np.random.default_rng(3)
    return [
        ("random", r.integers(0, 1000, 10).astype(float), r.integers(0, 1000, 10).astype(float)),
        ("zeros", np.array([10, 0, 5, 0.0]), np.array([0, 3, 5, 2.0])),
        ("same", np.array([1, 2, 3.0]), np.array([2, 4, 6.0])),
        ("one_bin", np.array([5.0]), np.array([7.0])),
        ("disjoint", np.array([4, 0.0]), np.array([0, 9.0])),
        ("big", r.integers(0, 10**6, 200).astype(float), r.integers(0, 10**6, 200).astype(float)),
    ]


def psi_reference(r, e, eps=1e-4):
    rs = np.maximum(r / r.sum(), eps)
    es = np.maximum(e / e.sum(), eps)
    return float(np.sum((rs - es) * np.log(rs / es)))


@pytest.mark.parametrize("name,p,q", count_pairs())
def test_psi(stat, name, p, q):
    assert_close(stat("psi", ref=p, eval=q)["value"], psi_reference(p, q), name)
    assert_close(stat("psi", ref=p, eval=q, eps=1e-6)["value"], psi_reference(p, q, 1e-6), name)


@pytest.mark.parametrize("name,p,q", count_pairs())
def test_js_distance_matches_scipy(stat, name, p, q):
    ref = jensenshannon(p, q, base=2)
    assert_close(stat("js_distance", p=p, q=q)["value"], ref, name)


def test_drift_counts_without_rows(stat):
    for fn, kw in [("psi", {"ref": [0, 0.0], "eval": [1, 2.0]}),
                   ("psi", {"ref": [1, 2.0], "eval": [0, 0.0]}),
                   ("psi", {"ref": [], "eval": []}),
                   ("js_distance", {"p": [0, 0.0], "q": [1, 2.0]}),
                   ("js_distance", {"p": [], "q": []})]:
        assert math.isnan(stat(fn, **kw)["value"]), (fn, kw)


def test_js_distance_never_nan_from_rounding(stat):
    # scipy can take the square root of a divergence rounded below 0 (NaN);
    # assay clamps it at 0.
    p = np.array([1e-17, 1.0, 1.0])
    got = stat("js_distance", p=p, q=p * 3)["value"]
    assert got >= 0 and got < 1e-7


def ks_cases():
    r = np.random.default_rng(11)
    cases = []
    # exact p-values (max(n1, n2) <= 10000), n1 == n2 and n1 != n2
    for n1, n2, shift in [(1, 1, 0), (1, 2, 0), (2, 1, 1), (3, 7, 0.5), (5, 5, 0), (5, 5, 3),
                          (40, 60, 0.3), (100, 100, 0.2), (250, 100, 0), (997, 1000, 0.1),
                          (3000, 4500, 0.05), (10000, 10000, 0.03), (9999, 10000, 0.02),
                          (10000, 7, 0.5)]:
        cases.append(("exact_%d_%d" % (n1, n2), r.normal(size=n1), r.normal(shift, size=n2)))
    # asymptotic: kstwo with en = round(n1 n2 / (n1 + n2)) in each of scipy's regimes
    for n1, n2, shift in [(10001, 10001, 0.0), (10001, 10000, 0.05), (1, 20000, 0),
                          (3, 10001, 2.0), (50, 20000, 0.1), (50, 20000, 0.5), (50, 20000, 1.5),
                          (140, 30000, 0.2), (300, 20000, 0.05), (300, 20000, 0.2),
                          (300, 20000, 0.6), (2000, 200000, 0.01), (2000, 200000, 0.05),
                          (2000, 200000, 0.2), (200000, 150000, 0.0), (200000, 150000, 0.01),
                          (200000, 200000, 0.03)]:
        cases.append(("asymp_%d_%d_%g" % (n1, n2, shift), r.normal(size=n1),
                      r.normal(shift, size=n2)))
    cases += [
        ("ties", r.integers(0, 5, 300).astype(float), r.integers(0, 6, 200).astype(float)),
        ("ties_asymp", r.integers(0, 50, 30000).astype(float),
         r.integers(1, 50, 20000).astype(float)),
        ("identical", np.arange(30.0), np.arange(30.0)),
        ("constant", np.full(20, 2.0), np.full(30, 2.0)),
        ("disjoint", np.arange(10.0), np.arange(10.0) + 100),
        ("infinities", np.array([-math.inf, 0, 1, 2, math.inf]), np.array([0.5, 1.5, math.inf])),
    ]
    return cases


@pytest.mark.parametrize("name,a,b", ks_cases(), ids=[c[0] for c in ks_cases()])
def test_ks_2samp_matches_scipy(stat, name, a, b):
    got = stat("ks_2samp", a=a, b=b)
    ref = quiet(ss.ks_2samp, a, b)
    assert_close(got["statistic"], ref.statistic, name + " D")
    assert_close(got["pvalue"], ref.pvalue, name + " p", atol=1e-14)
    got = stat("ks_2samp", a=b, b=a)  # symmetric
    assert_close(got["pvalue"], ref.pvalue, name + " p (swapped)", atol=1e-14)


def test_ks_2samp_empty(stat):
    for a, b in [([], [1.0]), ([1.0], []), ([], [])]:
        got = stat("ks_2samp", a=a, b=b)
        assert math.isnan(got["statistic"]) and math.isnan(got["pvalue"])


KSTWO_N = [1, 2, 3, 10, 50, 139, 140, 141, 500, 5000, 99999, 100000, 100001, 500000, 2_000_000]


@pytest.mark.parametrize("n", KSTWO_N)
def test_kstwo_sf_matches_scipy(stat, n):
    # every branch of scipy's _kolmogn: Ruben-Gambino, Durbin's matrix,
    # Pomeranz, Pelz-Good, 2 x smirnov, the cut-offs
    xs = {0.0, 0.25 / n, 0.5 / n, 0.75 / n, 1.0 / n, 1.5 / n, 0.999, 1.0, 0.5, 0.6, 0.3}
    ts = [0.2, 0.5, 0.75, 0.754693, 0.8, 1.0, 2.0, 2.2, 3.0, 4.0, 4.5, 10.0, 18.0, 100.0,
          369.0, 371.0]
    if n > 50000:   # scipy takes about a second for each of these
        ts = [0.2, 0.75, 1.0, 2.0, 3.0, 369.0, 371.0]
    for t in ts:
        xs.add(math.sqrt(t / n))     # n x^2 = t
    for t in [1.0, 1.3, 1.4, 1.5]:
        xs.add((t / n) ** (2 / 3))   # n x^1.5 = t
    for x in sorted(v for v in xs if 0 <= v <= 1):
        got = stat("kstwo_sf", n=n, x=x)["value"]
        ref = ss.kstwo.sf(x, n)
        assert_close(got, ref, "kstwo.sf(%r, %d)" % (x, n), atol=1e-14)


@pytest.mark.parametrize("n", [1, 2, 5, 9, 10, 11, 100, 1012, 1013, 5000, 999_999, 1_000_001])
def test_smirnov_matches_scipy(stat, n):
    xs = [0.0, 0.5 / n, 1.0 / n, 1.5 / n, 0.01, 0.05, 0.1, 0.3, 0.5, 0.75, 1 - 1.0 / n,
          1 - 0.5 / n, 1.0, 0.5 / math.sqrt(n), 0.49 / math.sqrt(n), 2.0 / math.sqrt(n)]
    if 50000 < n <= 1_000_000:   # scipy takes about a second for each of the sums
        xs = [0.0, 0.5 / n, 1.5 / n, 0.3, 0.75, 1 - 1.0 / n, 1.0, 2.0 / math.sqrt(n)]
    for x in xs:
        if not 0 <= x <= 1:
            continue
        got = stat("smirnov", n=n, x=x)["value"]
        ref = scipy.special.smirnov(n, x)
        assert_close(got, ref, "smirnov(%d, %r)" % (n, x), atol=1e-14)


def wasserstein_pairs():
    r = np.random.default_rng(5)
    return [
        ("normal", r.normal(size=400), r.normal(0.3, 2, size=250)),
        ("ties", r.integers(0, 5, 100).astype(float), r.integers(0, 7, 80).astype(float)),
        ("single", np.array([1.0]), np.array([4.0])),
        ("single_vs_many", np.array([1.0]), r.normal(size=50)),
        ("constant", np.full(10, 3.0), np.full(7, 3.0)),
        ("constant_ref", np.full(10, 3.0), r.normal(size=20)),
        ("large", r.normal(size=200_000), r.normal(0.01, size=150_000)),
        ("inf_in_b", np.array([1.0, 2.0]), np.array([1.0, math.inf])),
        ("inf_both", np.array([1.0, math.inf]), np.array([0.0, math.inf])),
    ]


@pytest.mark.parametrize("name,a,b", wasserstein_pairs())
def test_wasserstein_matches_scipy(stat, name, a, b):
    ref = quiet(ss.wasserstein_distance, a, b)
    assert_close(stat("wasserstein", a=a, b=b)["value"], ref, name)
    sd = quiet(np.std, a)
    ref_normed = ref / max(sd, 0.001)   # Evidently's normed Wasserstein
    assert_close(stat("wasserstein_normed", a=a, b=b)["value"], ref_normed, name)


def test_wasserstein_empty(stat):
    for a, b in [([], [1.0]), ([1.0], [])]:
        assert math.isnan(stat("wasserstein", a=a, b=b)["value"])
        assert math.isnan(stat("wasserstein_normed", a=a, b=b)["value"])


def test_chisquare_matches_scipy(stat):
    r = np.random.default_rng(9)
    for k in [2, 3, 10, 200, 5000]:
        obs = r.integers(0, 100, k).astype(float)
        obs[0] += 1
        shares = np.maximum(r.random(k), 1e-4)
        exp = shares / shares.sum() * obs.sum()
        got = stat("chisquare", observed=obs, expected=exp)
        ref = ss.chisquare(obs, exp)
        assert_close(got["statistic"], ref.statistic, "k=%d stat" % k)
        assert_close(got["pvalue"], ref.pvalue, "k=%d p" % k, atol=1e-300)
    got = stat("chisquare", observed=[5.0], expected=[5.0])
    assert math.isnan(got["statistic"]) and math.isnan(got["pvalue"])


def test_chi2_sf_matches_scipy(stat):
    for dof in [1, 2, 3, 5, 9, 10, 11, 19.5, 30, 99, 100, 1000, 9999, 100000, 1e6]:
        for x in {0.0, 1e-10, 0.01, 0.5, 1, dof / 2, dof - 1, dof, dof + 1, dof + math.sqrt(dof),
                  dof + 5 * math.sqrt(dof), dof + 20 * math.sqrt(dof), 2 * dof, 5 * dof + 50,
                  10 * dof + 500, 1e7}:
            got = stat("chi2_sf", x=x, dof=dof)["value"]
            ref = ss.chi2.sf(x, dof)
            # relative accuracy also far into the tail (p-values of 1e-300)
            assert_close(got, ref, "chi2.sf(%r, %r)" % (x, dof), rtol=1e-9, atol=1e-307)
    assert stat("chi2_sf", x=-1.0, dof=3)["value"] == 1.0
    assert stat("chi2_sf", x=math.inf, dof=3)["value"] == 0.0
    assert math.isnan(stat("chi2_sf", x=1.0, dof=0)["value"])
    assert math.isnan(stat("chi2_sf", x=math.nan, dof=2)["value"])


def ztest_reference(x1, n1, x2, n2):
    """statsmodels.stats.proportion.proportions_ztest([x1, x2], [n1, n2])."""
    p_pooled = (x1 + x2) / (n1 + n2)
    std = math.sqrt(p_pooled * (1 - p_pooled) * (1 / n1 + 1 / n2))
    z = (x1 / n1 - x2 / n2) / std
    return z, 2 * ss.norm.sf(abs(z))


def test_ztest_2prop(stat):
    for x1, n1, x2, n2 in [(10, 100, 20, 100), (0, 50, 5, 60), (500, 1000, 490, 1000),
                           (3, 10, 3, 10), (1, 10**6, 100, 10**6), (40, 40, 0, 40)]:
        got = stat("ztest_2prop", x1=x1, n1=n1, x2=x2, n2=n2)
        z, p = ztest_reference(x1, n1, x2, n2)
        assert_close(got["z"], z)
        assert_close(got["pvalue"], p, atol=1e-300)
    for args in [(0, 10, 0, 10), (10, 10, 10, 10), (1, 0, 1, 10)]:
        got = stat("ztest_2prop", x1=args[0], n1=args[1], x2=args[2], n2=args[3])
        assert math.isnan(got["z"]) and math.isnan(got["pvalue"]), args


# --- dependence ------------------------------------------------------------------------------


def xy_pairs():
    r = np.random.default_rng(13)
    x = r.normal(size=1000)
    return [
        ("linear", x, 2 * x + r.normal(size=1000)),
        ("negative", x, -x ** 3),
        ("ties", r.integers(0, 4, 500).astype(float), r.integers(0, 3, 500).astype(float)),
        ("two", np.array([1.0, 2.0]), np.array([5.0, 3.0])),
        ("offset", 1e8 + x[:100], 1e-8 * x[:100] + r.normal(size=100) * 1e-9),
        ("large", r.normal(size=200_000), r.normal(size=200_000)),
    ]


@pytest.mark.parametrize("name,x,y", xy_pairs())
def test_pearson_spearman_match_scipy(stat, name, x, y):
    assert_close(stat("pearson", x=x, y=y)["value"], ss.pearsonr(x, y).statistic, name)
    assert_close(stat("spearman", x=x, y=y)["value"], ss.spearmanr(x, y).statistic, name)


def test_correlation_undefined(stat):
    for x, y in [([1.0, 1, 1], [1.0, 2, 3]), ([1.0, 2, 3], [4.0, 4, 4]), ([1.0], [2.0]), ([], [])]:
        assert math.isnan(stat("pearson", x=x, y=y)["value"]), (x, y)
        assert math.isnan(stat("spearman", x=x, y=y)["value"]), (x, y)
    # scipy agrees where it does not raise
    assert math.isnan(quiet(ss.pearsonr, [1.0, 1, 1], [1.0, 2, 3]).statistic)
    assert math.isnan(quiet(ss.spearmanr, [1.0, 1, 1], [1.0, 2, 3]).statistic)


def code_pairs():
    r = np.random.default_rng(17)
    x = r.integers(0, 6, 3000)
    return [
        ("independent", x, r.integers(0, 4, 3000)),
        ("dependent", x, (x + r.integers(0, 2, 3000)) % 5),
        ("identical", x, x),
        ("one_class_x", np.zeros(50, dtype=int), r.integers(0, 3, 50)),
        ("one_class_y", r.integers(0, 3, 50), np.full(50, 2)),
        ("single", np.array([1]), np.array([0])),
        ("gaps", r.choice([0, 3, 9], 400), r.choice([1, 7], 400)),   # unused codes
        ("many", r.integers(0, 3000, 5000), r.integers(0, 2000, 5000)),  # sparse path
    ]


@pytest.mark.parametrize("name,x,y", code_pairs())
def test_mutual_info_matches_sklearn(stat, name, x, y):
    ref = skm.mutual_info_score(x, y)
    assert_close(stat("mutual_info", x=x, y=y)["value"], ref, name)
    kx, ky = int(x.max()) + 1, int(y.max()) + 1
    if kx * ky > 100_000:
        return
    table = np.zeros((kx, ky))
    np.add.at(table, (x, y), 1)
    assert_close(stat("mutual_info_table", table=table)["value"], ref, name)


def test_mutual_info_empty_or_invalid(stat):
    assert math.isnan(stat("mutual_info", x=[], y=[])["value"])
    assert math.isnan(stat("mutual_info", x=[0, 5], y=[0, 1], kx=2)["value"])   # code >= kx
    assert math.isnan(stat("mutual_info_table", table=[[0.0, 0.0]])["value"])


@pytest.mark.parametrize("counts", [[1, 2, 3], [5, 0, 5], [7], [0.5, 0.25, 0.25],
                                    list(range(1, 1000))])
def test_entropy_matches_scipy(stat, counts):
    assert_close(stat("entropy", counts=counts)["value"], ss.entropy(counts))


def test_entropy_undefined(stat):
    for counts in [[], [0.0, 0.0], [1.0, -1.0]]:
        assert math.isnan(stat("entropy", counts=counts)["value"]), counts


@pytest.mark.parametrize("shape", [(2, 2), (2, 5), (4, 3), (10, 10), (30, 2)])
def test_cramers_v_matches_scipy(stat, shape):
    r = np.random.default_rng(shape[0] * 100 + shape[1])
    table = r.integers(1, 50, shape)
    ref = ss.contingency.association(table, method="cramer")
    assert_close(stat("cramers_v", table=table.astype(float))["value"], ref, str(shape))


def test_cramers_v_empty_rows_are_dropped(stat):
    # scipy refuses tables with an empty row or column; assay computes the
    # statistic of the table without them.
    table = np.array([[10, 0, 3], [0, 0, 0], [4, 0, 9]])
    ref = ss.contingency.association(table[[0, 2]][:, [0, 2]], method="cramer")
    assert_close(stat("cramers_v", table=table.astype(float))["value"], ref)
    for t in [[[1.0, 2.0]], [[1.0], [2.0]], [[0.0, 0.0], [0.0, 0.0]], [[3.0, 0.0], [0.0, 0.0]]]:
        assert math.isnan(stat("cramers_v", table=t)["value"]), t


# --- classification metrics ------------------------------------------------------------------


def binary_cases():
    r = np.random.default_rng(19)
    n = 2000
    y = r.integers(0, 2, n)
    p = np.clip(0.3 * y + r.random(n) * 0.7, 0, 1)
    return [
        ("random", y, p),
        ("ties", y, np.round(p, 1)),
        ("all_same_score", y, np.full(n, 0.5)),
        ("extremes", y, np.where(r.random(n) < 0.5, y, 1 - y).astype(float)),  # 0 and 1
        ("all_negative_pred", y, p * 0.4),
        ("perfect", y, y * 0.8 + 0.1),
        ("one_class", np.ones(50, dtype=int), r.random(50)),
        ("one_zero_class", np.zeros(50, dtype=int), r.random(50)),
        ("single", np.array([1]), np.array([0.7])),
        ("large", r.integers(0, 2, 300_000), np.round(r.random(300_000), 3)),
    ]


@pytest.mark.parametrize("name,y,p", binary_cases())
def test_binary_metrics_match_sklearn(stat, name, y, p):
    pred = (p >= 0.5).astype(int)
    for order in (False, True):
        got = stat("binary", y=y, score=p, order=order)
        cm = skm.confusion_matrix(y, pred, labels=[0, 1])
        tn, fp, fn, tp = cm.ravel()
        assert (got["tp"], got["fp"], got["tn"], got["fn"]) == (tp, fp, tn, fn)
        assert_close(got["accuracy"], skm.accuracy_score(y, pred), name)
        assert_close(got["precision"], skm.precision_score(y, pred, zero_division=0), name)
        assert_close(got["recall"], skm.recall_score(y, pred, zero_division=0), name)
        assert_close(got["f1"], skm.f1_score(y, pred, zero_division=0), name)
        assert_close(got["fpr"], fp / (fp + tn) if fp + tn else math.nan, name)
        assert_close(got["fnr"], fn / (fn + tp) if fn + tp else math.nan, name)
        assert_close(got["positive_rate"], pred.mean(), name)
        ref_auc = quiet(skm.roc_auc_score, y, p)   # NaN (with a warning) for one class
        assert_close(got["roc_auc"], ref_auc, name + " auc")
        assert_close(got["log_loss"], skm.log_loss(y, p, labels=[0, 1]), name + " log_loss")
        assert_close(got["brier"], skm.brier_score_loss(y, p, labels=[0, 1]), name + " brier")


def test_roc_auc_of_groups_matches_sklearn(stat):
    # one pass over a shared order gives each subset's AUC
    r = np.random.default_rng(37)
    n = 20000
    y = r.integers(0, 2, n)
    s = np.round(r.random(n) + 0.2 * y, 2)
    group = r.integers(-1, 8, n)           # -1: in no group
    group[group == 5] = 6                  # group 5 empty
    group[(group == 7) & (y == 1)] = 6     # group 7 one class
    got = stat("roc_auc_groups", y=y, score=s, group=group, ngroups=9)["auc"]
    for g in range(9):
        rows = group == g
        ref = quiet(skm.roc_auc_score, y[rows], s[rows]) if rows.any() else math.nan
        assert_close(got[g], ref, "group %d" % g)
    assert stat("roc_auc_groups", y=[], score=[], group=[], ngroups=0)["auc"] == []


def test_binary_metrics_empty_and_invalid(stat):
    got = stat("binary", y=[], score=[])
    for key in ["accuracy", "fpr", "fnr", "positive_rate", "roc_auc", "log_loss", "brier"]:
        assert math.isnan(got[key]), key
    for key in ["precision", "recall", "f1"]:    # zero_division=0
        assert got[key] == 0.0, key
    # probabilities outside [0, 1]: sklearn raises, assay has no value
    got = stat("binary", y=[0, 1], score=[0.2, 1.5])
    assert math.isnan(got["log_loss"]) and math.isnan(got["brier"])
    assert got["roc_auc"] == 1.0


def multiclass_cases():
    r = np.random.default_rng(23)
    n, k = 3000, 5
    y = r.integers(0, k, n)
    logits = r.normal(size=(n, k)) + np.eye(k)[y] * 1.5
    P = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    Pt = np.round(P, 2)
    Pt /= Pt.sum(axis=1, keepdims=True)
    P0 = P.copy()
    P0[:10] = np.eye(k)[y[:10]]           # exact 0 and 1 probabilities
    return [
        ("random", y, P, k),
        ("ties", y, Pt, k),
        ("zeros_and_ones", y, P0, k),
        ("two_classes", (y % 2), np.column_stack([P[:, 0], 1 - P[:, 0]]), 2),
        ("large", r.integers(0, 3, 50_000), np.full((50_000, 3), 1 / 3), 3),
    ]


@pytest.mark.parametrize("name,y,P,k", multiclass_cases())
def test_multiclass_metrics_match_sklearn(stat, name, y, P, k):
    pred = P.argmax(axis=1)
    got = stat("multiclass", y=y, pred=pred, k=k)
    assert_close(got["accuracy"], skm.accuracy_score(y, pred), name)
    for avg in ["macro", "micro", "weighted"]:
        kw = dict(average=avg, zero_division=0)
        assert_close(got["precision_" + avg], skm.precision_score(y, pred, **kw), name + avg)
        assert_close(got["recall_" + avg], skm.recall_score(y, pred, **kw), name + avg)
        assert_close(got["f1_" + avg], skm.f1_score(y, pred, **kw), name + avg)
    ref_auc = skm.roc_auc_score(y, P, multi_class="ovr", average="macro", labels=list(range(k))) \
        if k > 2 else skm.roc_auc_score(y, P[:, 1])
    got_auc = stat("mc_roc_auc_ovr", y=y, proba=P)["value"]
    if k > 2:
        assert_close(got_auc, ref_auc, name + " auc")
    else:  # OvR macro of two classes = the binary AUC
        assert_close(got_auc, ref_auc, name + " auc")
    assert_close(stat("mc_log_loss", y=y, proba=P)["value"],
                 skm.log_loss(y, P, labels=list(range(k))), name + " log_loss")


def test_multiclass_labels_absent(stat):
    # sklearn's default labels: classes present in y_true or y_pred; a
    # class in neither (an unused code) does not count in the macro average
    y = np.array([0, 0, 1, 1, 3, 3, 3])
    pred = np.array([0, 1, 1, 1, 0, 3, 4])
    got = stat("multiclass", y=y, pred=pred, k=6)
    for avg in ["macro", "micro", "weighted"]:
        kw = dict(average=avg, zero_division=0)
        assert_close(got["precision_" + avg], skm.precision_score(y, pred, **kw), avg)
        assert_close(got["recall_" + avg], skm.recall_score(y, pred, **kw), avg)
        assert_close(got["f1_" + avg], skm.f1_score(y, pred, **kw), avg)
    # a class absent from y_true: no OvR AUC (sklearn: NaN with a warning)
    P = np.full((7, 6), 1 / 6)
    assert math.isnan(stat("mc_roc_auc_ovr", y=y, proba=P)["value"])
    # log loss with labels=range(k) is defined
    assert_close(stat("mc_log_loss", y=y, proba=P)["value"],
                 skm.log_loss(y, P, labels=list(range(6))))


def test_multiclass_empty(stat):
    got = stat("multiclass", y=[], pred=[], k=3)
    for key, v in got.items():
        assert math.isnan(v), key
    assert math.isnan(stat("mc_roc_auc_ovr", y=[], proba=[])["value"])
    assert math.isnan(stat("mc_log_loss", y=[], proba=[])["value"])
    assert math.isnan(stat("mc_log_loss", y=[0, 7], proba=[[0.5, 0.5], [0.5, 0.5]])["value"])


# --- regression metrics ----------------------------------------------------------------------


def regression_cases():
    r = np.random.default_rng(29)
    y = r.normal(10, 3, 5000)
    return [
        ("random", y, y + r.normal(size=5000)),
        ("constant_y", np.full(100, 2.5), r.normal(2.5, 1, 100)),
        ("constant_exact", np.full(100, 2.5), np.full(100, 2.5)),
        ("perfect", y, y.copy()),
        ("zeros_in_y", np.array([0.0, 1, 2, 0, 3]), np.array([0.5, 1, 2, 0.1, 2.5])),
        ("above_minus_one", np.array([-0.5, 0.2, 3.0]), np.array([0.1, -0.9, 2.0])),
        ("negative", np.array([-3.0, 1, 2]), np.array([1.0, 1, 2])),
        ("two", np.array([1.0, 2.0]), np.array([1.5, 1.0])),
        ("large_offset", 1e6 + y, 1e6 + y + r.normal(size=5000) * 1e-3),
        ("large", r.lognormal(size=200_000), r.lognormal(size=200_000)),
    ]


@pytest.mark.parametrize("name,y,p", regression_cases())
def test_regression_metrics_match_sklearn(stat, name, y, p):
    n = len(y)
    splits = {0, 1, n // 3, n - 1, n} if n < 10_000 else {n // 3}
    for split in sorted(splits):
        got = stat("regression", y=y, p=p, split=split)
        what = "%s split %d" % (name, split)
        assert_close(got["mae"], skm.mean_absolute_error(y, p), what + " mae")
        assert_close(got["mse"], skm.mean_squared_error(y, p), what + " mse")
        assert_close(got["rmse"], skm.root_mean_squared_error(y, p), what + " rmse")
        assert_close(got["mape"], skm.mean_absolute_percentage_error(y, p), what + " mape")
        if np.all(y > -1) and np.all(p > -1):
            assert_close(got["msle"], skm.mean_squared_log_error(y, p), what + " msle")
        else:  # sklearn raises
            assert math.isnan(got["msle"])
            with pytest.raises(ValueError):
                skm.mean_squared_log_error(y, p)
        assert_close(got["r2"], skm.r2_score(y, p), what + " r2", rtol=1e-8)
        assert_close(got["mean_pred"], np.mean(p), what + " mean_pred")
        assert_close(got["var_pred"], np.var(p), what + " var_pred", rtol=1e-8, atol=1e-15)


def test_regression_one_row_and_empty(stat):
    got = stat("regression", y=[3.0], p=[1.0])
    assert got["mae"] == 2.0 and got["mse"] == 4.0 and got["rmse"] == 2.0
    assert math.isnan(got["r2"])                 # sklearn: NaN for fewer than two samples
    assert math.isnan(quiet(skm.r2_score, [3.0], [1.0]))
    assert got["var_pred"] == 0.0
    got = stat("regression", y=[], p=[])
    for key, v in got.items():
        assert math.isnan(v), key


# --- speed and errors ------------------------------------------------------------------------


def test_large_inputs_are_fast(stat):
    r = np.random.default_rng(31)
    n = 1_000_000
    a = r.normal(size=n)
    b = r.normal(0.001, size=n)
    t0 = time.perf_counter()
    got = stat("ks_2samp", a=a, b=b)
    elapsed = time.perf_counter() - t0
    ref = ss.ks_2samp(a, b)
    assert_close(got["statistic"], ref.statistic)
    assert_close(got["pvalue"], ref.pvalue, atol=1e-14)
    assert elapsed < 10, elapsed   # mostly JSON; the statistic itself is milliseconds
    y = (r.random(n) < 0.3).astype(int)
    s = np.round(r.random(n) + 0.1 * y, 4)
    got = stat("binary", y=y, score=s, order=True)
    assert_close(got["roc_auc"], skm.roc_auc_score(y, s))


def test_errors(lib):
    for req in [b"not json", b"[]", b"{}", b'{"fn": 3}', b'{"fn": "nope"}',
                b'{"fn": "sort"}', b'{"fn": "sort", "v": [1, "x"]}',
                b'{"fn": "pearson", "x": [1, 2], "y": [1]}',
                b'{"fn": "cramers_v", "table": [[1, 2], [3]]}']:
        out = ctypes.c_void_p()
        rc = lib.assay__debug_stat(req, ctypes.byref(out))
        assert rc == ASSAY_ERR_CONFIG, req
        assert not out.value
