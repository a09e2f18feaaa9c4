"""The native CSV reader against pandas.read_csv (its C engine) on generated
files: types, values and null positions row by row, the profile (null share,
distinct count) against pandas' isna/nunique, tricky files (quotes with line
breaks, CRLF, BOM, spaces around numbers, leading zeros, every default null
string, empty header names, rows with too few fields), nrows, the
multi-threaded path, and errors (too many fields, bad UTF-8) with their line.

The reader runs through the internal CLI command `assay debug read-csv FILE
[--head N] [--nrows N]`, which prints {rows, profile, head} as JSON.

Where the reader deliberately differs from pandas: ISO 8601 text becomes a
timestamp (pandas keeps text unless parse_dates: compared after
pd.to_datetime(utc=True)); an int column with nulls stays int64 (pandas:
float64); an integer past int64 becomes float64 (pandas: uint64 or object).
"""

import json
import math
import os
import random
import subprocess

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def native(cli, path, head=None, nrows=None, env=None, check=True):
    argv = [str(cli), "debug", "read-csv", str(path)]
    if head is not None:
        argv += ["--head", str(head)]
    if nrows is not None:
        argv += ["--nrows", str(nrows)]
    p = subprocess.run(argv, capture_output=True, text=True, env=env)
    if not check:
        return p
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def pandas_read(path, **kw):
    return pd.read_csv(path, float_precision="round_trip", **kw)


def ns_of(text):
    return pd.Timestamp(text).value


def compare(result, df, rows=None):
    """Every column's type, nulls and values in result['head'] against df."""
    types = {p["column"]: p["type"] for p in result["profile"]}
    assert list(types) == [str(c) for c in df.columns]
    head = result["head"]
    n = len(df) if rows is None else rows
    assert len(head) == min(n, len(df))
    for name in df.columns:
        s = df[name]
        t = types[str(name)]
        ours = [rec[str(name)] for rec in head]
        theirs = list(s.iloc[:len(head)])
        nulls = [bool(pd.isna(v)) for v in theirs]
        assert [v is None for v in ours] == nulls, f"{name}: null positions differ"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            if a is None:
                continue
            where = f"{name}[{i}]"
            if t == "int64":
                assert isinstance(a, int) and not isinstance(a, bool), where
                assert int(b) == a and float(b) == float(a), where
            elif t == "float64":
                a = float(a) if isinstance(a, str) else a  # "inf"
                assert a == float(b) or (math.isnan(a) and math.isnan(b)), \
                    f"{where}: {a!r} != {b!r}"
                assert math.copysign(1, a) == math.copysign(1, float(b)), where
            elif t == "bool":
                assert a is bool(b), where
            elif t == "string":
                assert a == b, f"{where}: {a!r} != {b!r}"
            elif t == "timestamp":
                assert ns_of(a) == pd.to_datetime(b, utc=True, format="ISO8601").value, where
            else:
                raise AssertionError(t)
        # pandas' type for the same column
        kind = s.dtype.kind
        if t == "int64":
            assert kind in "iu" or (kind == "f" and s.isna().any()), f"{name}: {s.dtype}"
        elif t == "float64":
            assert kind == "f", f"{name}: {s.dtype}"
        elif t == "bool":
            assert kind == "b" or (kind == "O" and s.isna().any()), f"{name}: {s.dtype}"
        elif t in ("string", "timestamp"):
            assert kind in "OTU" or str(s.dtype) == "str", f"{name}: {s.dtype}"


def check_profile(result, df, timestamps=()):
    for p in result["profile"]:
        s = df[p["column"]]
        if p["column"] in timestamps:
            s = pd.to_datetime(s, utc=True, format="ISO8601")
        assert p["null_share"] == pytest.approx(s.isna().mean() if len(s) else 0.0), p
        assert p["distinct_count"] == s.nunique(dropna=True), p


# --- generated files ---------------------------------------------------------------------

def generated(tmp_path, rows, seed):
    rng = np.random.default_rng(seed)
    words = np.array(["alpha", "beta", "gamma, with comma", 'quote "q"', "line\nbreak", "été",
                      "  padded  ", "naïve ☃", "x"], dtype=object)
    secs = rng.integers(0, 10 * 365 * 86400, rows) + 1_500_000_000
    frac = rng.integers(0, 1000, rows)
    ts = [pd.Timestamp(int(s), unit="s").strftime("%Y-%m-%dT%H:%M:%S") + f".{f:03d}Z"
          for s, f in zip(secs, frac)]
    df = pd.DataFrame({
        "id": np.arange(rows),
        "small": rng.integers(-50, 50, rows),
        "big": rng.integers(-2**63, 2**63 - 1, rows, dtype=np.int64),
        "price": np.round(rng.random(rows) * 1000, 2),
        "ratio": rng.random(rows) * 10.0 ** rng.integers(-300, 300, rows),
        "flag": rng.random(rows) < 0.5,
        "word": words[rng.integers(0, len(words), rows)],
        "when": ts,
        "day": [t[:10] for t in ts],
    })
    df["ratio"] = df["ratio"].astype(float)
    # nulls sprinkled in some columns (as objects so pandas writes them empty)
    for name, share in (("small", 0.1), ("price", 0.05), ("flag", 0.2), ("word", 0.1),
                        ("when", 0.05)):
        col = df[name].astype(object)
        col[rng.random(rows) < share] = None
        df[name] = col
    path = tmp_path / f"gen_{seed}.csv"
    df.to_csv(path, index=False)
    return path


def test_generated_matches_pandas(assay_cli, tmp_path):
    path = generated(tmp_path, 3000, 1)
    ours = native(assay_cli, path, head=3000)
    theirs = pandas_read(path)
    assert ours["rows"] == len(theirs) == 3000
    types = {p["column"]: p["type"] for p in ours["profile"]}
    assert types == {"id": "int64", "small": "int64", "big": "int64", "price": "float64",
                     "ratio": "float64", "flag": "bool", "word": "string",
                     "when": "timestamp", "day": "timestamp"}
    compare(ours, theirs)
    check_profile(ours, theirs, timestamps=("when", "day"))


def test_threads_give_the_same_frame(assay_cli, tmp_path):
    path = generated(tmp_path, 20000, 2)
    one = native(assay_cli, path, head=20000, env=dict(os.environ, ASSAY_CSV_THREADS="1"))
    four = native(assay_cli, path, head=20000, env=dict(os.environ, ASSAY_CSV_THREADS="4"))
    for r in (one, four):
        r.pop("read_seconds")
        r.pop("profile_seconds")
    assert one == four
    compare(four, pandas_read(path))


def test_nrows(assay_cli, tmp_path):
    path = generated(tmp_path, 500, 3)
    ours = native(assay_cli, path, head=1000, nrows=123)
    theirs = pandas_read(path, nrows=123)
    assert ours["rows"] == 123
    compare(ours, theirs)
    check_profile(ours, theirs, timestamps=("when", "day"))


# --- tricky files -----------------------------------------------------------------------------

TRICKY = {
    "quotes": 'a,b,c\n"x,1","he said ""hi""",1\n"multi\nline\r\nfield",plain,2\n"5",x"y,3\n',
    "crlf_bom": '\ufeffa,b\r\n1,x\r\n2,y\r\n',
    "spaces_zeros": "a,b,c\n 5 ,007,-0\n6\t,+08,0\n",
    "floats": "a,b,c,d\n1.5,inf,1e-310,.5\n-2.,-Infinity,1E+5,5.\n",
    "bools": "a,b\nTrue,TRUE\nfalse,FALSE\n",
    "nulls": "a,b,c\n" + "".join(f"{v},{v},x\n" for v in [
        "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
        "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]) + "1,2,y\n",
    "unnamed": ",b,\n1,2,3\n4,5,6\n",
    "too_few": "a,b,c\n1\n2,3\n4,5,6\n",
    "blank_lines": "a,b\n\n1,2\n   \n3,4\n\n",
    "int_with_nulls": "a,b\n1,\n,2\n3,\n",
    "all_null": "a,b\n,1\n,2\n",
    "mixed_int_float": "a\n1\n2.5\n-3\n",
    "text_and_numbers": "a\n1\nx\n2\n",
    "unicode": "név,city\nÉmile,München\n☃,😀\n",
    "quoted_empty": 'a,b\n"",1\n"x",2\n',
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_tricky_files(assay_cli, tmp_path, name):
    path = tmp_path / f"{name}.csv"
    path.write_bytes(TRICKY[name].encode("utf-8"))
    ours = native(assay_cli, path, head=100)
    theirs = pandas_read(path)
    assert ours["rows"] == len(theirs)
    compare(ours, theirs)
    check_profile(ours, theirs)


def test_overflow_and_timestamps_differ_on_purpose(assay_cli, tmp_path):
    path = tmp_path / "diff.csv"
    path.write_text("big,when,zone\n18446744073709551616,2021-03-04,2021-03-04T10:00:00+02:00\n"
                    "1,2021-03-05 12:30,2021-03-04T10:00:00.5Z\n")
    ours = native(assay_cli, path)
    types = {p["column"]: p["type"] for p in ours["profile"]}
    assert types == {"big": "float64", "when": "timestamp", "zone": "timestamp"}
    head = ours["head"]
    assert head[0]["big"] == 18446744073709551616.0
    theirs = pandas_read(path)
    for name in ("when", "zone"):
        parsed = pd.to_datetime(theirs[name], utc=True, format="ISO8601")
        assert [ns_of(r[name]) for r in head] == [t.value for t in parsed]


def test_large_random_floats_exact(assay_cli, tmp_path):
    rnd = random.Random(5)
    values = []
    for _ in range(2000):
        kind = rnd.randrange(4)
        if kind == 0:
            values.append(repr(rnd.random() * 10 ** rnd.randint(-30, 30)))
        elif kind == 1:
            values.append("%.*e" % (rnd.randint(0, 20), rnd.uniform(-1, 1) * 10 ** rnd.randint(-300, 300)))
        elif kind == 2:
            values.append("%d.%d" % (rnd.randrange(10**12), rnd.randrange(10**12)))
        else:
            values.append(repr(rnd.getrandbits(64) / 3))
    path = tmp_path / "floats.csv"
    path.write_text("x\n" + "\n".join(values) + "\n")
    ours = native(assay_cli, path, head=len(values))
    got = [float(r["x"]) for r in ours["head"]]
    assert got == [float(v) for v in values]  # Python's float() is correctly rounded


# --- errors ---------------------------------------------------------------------------------

def test_errors_name_the_line(assay_cli, tmp_path):
    path = tmp_path / "many.csv"
    path.write_text('a,b\n1,2\n"x\ny",3\n4,5,6\n')
    # pandas counts records ("line 4"); the native reader names the physical
    # line, counting the line break inside the quoted field
    with pytest.raises(pd.errors.ParserError, match="Expected 2 fields"):
        pandas_read(path)
    p = native(assay_cli, path, check=False)
    assert p.returncode == 1
    assert "DataError" in p.stderr and "line 5: 3 fields, but the header has 2" in p.stderr

    path = tmp_path / "utf8.csv"
    path.write_bytes(b"a,b\n1,x\n2,\xff\n")
    with pytest.raises(UnicodeDecodeError):
        pandas_read(path)
    p = native(assay_cli, path, check=False)
    assert p.returncode == 1
    assert "line 3" in p.stderr and "UTF-8" in p.stderr

    path = tmp_path / "dup.csv"
    path.write_text("a,b,a\n1,2,3\n")
    p = native(assay_cli, path, check=False)
    assert p.returncode == 1 and '"a" appears twice' in p.stderr

    p = native(assay_cli, tmp_path / "missing.csv", check=False)
    assert p.returncode == 1 and "NotFoundError" in p.stderr
