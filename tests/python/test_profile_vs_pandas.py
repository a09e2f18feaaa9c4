"""The schema profile of a registered dataset against pandas.

One generated frame holds every column type assay knows — int, float,
bool, string (with "a,b", "é", quotes, a line break and pandas' default NA
strings) and timestamp — each with nulls. It is registered as a CSV file
(read natively in C), a Parquet file and a JSONL file (read by pandas in the
runner), and as the DataFrame a custom loader returns. For every column the
profile must agree with what pandas reads back from the same file (the
frame itself for the loader): ``null_share == s.isna().mean()``,
``distinct_count == s.nunique()``, and ``type == expected_type(s)``.

``expected_type`` maps the dtype pandas reads back to assay's type:

==========================================  ============
pandas dtype read back                      assay type
==========================================  ============
bool, boolean                               ``bool``
int8..int64, uint*, Int8..Int64             ``int64``
float32/64, Float32/64                      ``float64``
datetime64[any unit, any zone]              ``timestamp``
object / str / string: every non-null       ``timestamp``
value is ISO 8601 text (a CSV column that
``read_csv`` leaves as text)
object / str / string otherwise             ``string``
object of only bools / ints / floats        ``bool`` / ``int64`` / ``float64``
==========================================  ============

The CSV reference is ``pd.read_csv(path, dtype_backend="numpy_nullable")``:
assay types a CSV column as the narrowest type holding every non-null
value, and pandas' nullable dtypes do the same (an int column with nulls is
``Int64``, not ``float64``; a bool column with nulls ``boolean``). Parquet
and JSONL are read with ``pd.read_parquet`` / ``pd.read_json(lines=True)``
as the runner reads them, so a JSONL int column with nulls is ``float64``
in both. The tests run on the embedded platform and on a real assayd.
"""

import textwrap

import pytest

pd = pytest.importorskip("pandas")
np = pytest.importorskip("numpy")

ROWS = 240

# pandas' default NA strings (read_csv's na_values): in a CSV they are nulls,
# in Parquet, JSONL and a DataFrame they are text like any other.
PANDAS_NA_STRINGS = ["NA", "N/A", "n/a", "null", "NULL", "NaN", "nan", "-nan", "None",
                     "#N/A", "<NA>", "#NA", "-NaN", "1.#QNAN"]
TEXTS = ["a,b", "é", "Zürich", 'say "hi"', "two\nlines", "plain", " padded ", "x" * 40]


def make_frame(seed=20260101):
    rng = np.random.default_rng(seed)

    def with_nulls(values, share):
        mask = rng.random(ROWS) < share
        return [None if m else v for v, m in zip(values, mask)]

    ints = with_nulls([int(v) for v in rng.integers(-60, 60, ROWS)], 0.1)
    # k/8 + 1/16: exact in binary, never integral (pandas would call an
    # all-integral float column an int one when it reads a CSV back).
    floats = with_nulls([int(k) * 0.125 + 0.0625 for k in rng.integers(-400, 400, ROWS)], 0.15)
    bools = with_nulls([bool(v) for v in rng.integers(0, 2, ROWS)], 0.2)
    pool = TEXTS + PANDAS_NA_STRINGS
    texts = with_nulls([pool[int(i)] for i in rng.integers(0, len(pool), ROWS)], 0.1)
    base = np.datetime64("2026-01-01T00:00:00")
    stamps = with_nulls([base + np.timedelta64(int(s), "s")
                         for s in rng.integers(0, 90 * 86400, ROWS)], 0.1)
    df = pd.DataFrame({
        "count": pd.array(ints, dtype="Int64"),
        "amount": pd.array([np.nan if v is None else v for v in floats], dtype="float64"),
        "flag": pd.array(bools, dtype="boolean"),
        "city": pd.Series(texts, dtype=object),
        "created_at": pd.to_datetime(pd.Series(stamps, dtype=object)),
    })
    # every column has nulls, and the NA strings really are in the text column
    assert all(df[c].isna().any() for c in df.columns)
    assert set(PANDAS_NA_STRINGS[:5]) <= set(df["city"].dropna())
    assert {"a,b", "é"} <= set(df["city"].dropna())
    return df


def _is_iso8601_text(values):
    if len(values) == 0:
        return False
    try:
        pd.to_datetime(pd.Series(values, dtype=object), format="ISO8601")
    except (ValueError, TypeError):
        return False
    return True


def expected_type(s):
    """assay's type for a column pandas read back (see the module's table)."""
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return "int64"
    if pd.api.types.is_float_dtype(dtype):
        return "float64"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "timestamp"
    values = s.dropna()
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind == "boolean":
        return "bool"
    if kind == "integer":
        return "int64"
    if kind in ("floating", "mixed-integer-float"):
        return "float64"
    if kind in ("datetime", "datetime64"):
        return "timestamp"
    if kind == "string" and _is_iso8601_text(list(values)):
        return "timestamp"
    return "string"


def test_expected_type_mapping_itself():
    """The mapping the comparison relies on (so a wrong mapping fails here,
    not as a false product bug)."""
    assert expected_type(pd.Series([1, None], dtype="Int64")) == "int64"
    assert expected_type(pd.Series([1.5, None])) == "float64"
    assert expected_type(pd.Series([True, None], dtype="boolean")) == "bool"
    assert expected_type(pd.Series([True, None], dtype=object)) == "bool"
    assert expected_type(pd.Series(["a", None], dtype=object)) == "string"
    assert expected_type(pd.Series(["2026-01-01 10:00:00", None], dtype=object)) == "timestamp"
    assert expected_type(pd.Series(["2026-01-01", "a,b"], dtype=object)) == "string"
    assert expected_type(pd.to_datetime(pd.Series(["2026-01-01", None]))) == "timestamp"


def write_csv(df, path):
    df.to_csv(path, index=False)
    text = path.read_text(encoding="utf-8")
    # the NA strings are written as bare fields, which pandas reads as nulls
    assert "\nNA," in text or ",NA," in text or ",NA\n" in text
    return pd.read_csv(path, dtype_backend="numpy_nullable")


def write_parquet(df, path):
    df.to_parquet(path, index=False)
    return pd.read_parquet(path)


def write_jsonl(df, path):
    df.to_json(path, orient="records", lines=True, date_format="iso")
    return pd.read_json(path, lines=True)


LOADER = """
    import pandas as pd

    def load(frame_path, start_time=None, end_time=None):
        return pd.read_pickle(frame_path)
"""


@pytest.fixture
def project(client, unique):
    return client.create_project(unique("profile"), "profile vs pandas",
                                 "MODEL_TASK_REGRESSION")


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl", "loader"])
def test_profile_matches_pandas(client, project, tmp_path, fmt):
    df = make_frame()
    if fmt == "loader":
        frame_path = tmp_path / "frame.pkl"
        df.to_pickle(frame_path)
        loader = tmp_path / "frame_loader.py"
        loader.write_text(textwrap.dedent(LOADER))
        dataset_id = project.register_dataset("frame", {"connection_info": {"data_loading": {
            "path": client.upload_file(loader), "load_func_name": "load",
            "loader_kwargs": {"frame_path": str(frame_path)}}}})
        reference = df
    else:
        path = tmp_path / ("frame." + fmt)
        reference = {"csv": write_csv, "parquet": write_parquet, "jsonl": write_jsonl}[fmt](
            df, path)
        dataset_id = project.upload_and_register_dataset_from_file("frame", path)

    d = project.get_dataset(dataset_id)
    assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
    assert d["row_count"] == len(reference) == ROWS
    assert [c["column"] for c in d["schema_profile"]] == list(reference.columns)
    mismatches = []
    for col in d["schema_profile"]:
        s = reference[col["column"]]
        want = {"type": expected_type(s), "null_share": float(s.isna().mean()),
                "distinct_count": int(s.nunique())}
        got = {"type": col["type"], "null_share": col["null_share"],
               "distinct_count": col["distinct_count"]}
        if got["type"] != want["type"] or got["distinct_count"] != want["distinct_count"] \
                or got["null_share"] != pytest.approx(want["null_share"], abs=1e-12):
            mismatches.append("%s (pandas dtype %s): assay %r, pandas %r"
                              % (col["column"], s.dtype, got, want))
    assert not mismatches, "\n".join(mismatches)
    # The types each format really gives (a format that lost one would make
    # the comparison above weaker without failing it). JSON has no int or
    # bool column with nulls for pandas: read_json makes both float64.
    assert [c["type"] for c in d["schema_profile"]] == {
        "jsonl": ["float64", "float64", "float64", "string", "timestamp"],
    }.get(fmt, ["int64", "float64", "bool", "string", "timestamp"])
