"""assay_runner.py - the child side of assay's runner (core/src/runner/runner.h).

libassay embeds this file, writes it to <home>/runtime/ and runs it as
``<python> assay_runner-<hash>.py 3``. The request (JSON, secrets included)
arrives on stdin; the result is one JSON line on the file descriptor named
by the only argument:

    {"ok": true, "parts": ["part-0000.acol", ...]}
    {"ok": false, "kind": "...", "message": "...", "traceback": "..."}

Modes:
  "load"  import the user's loader file by path, call its function with the
          kwargs (plus start_time / end_time / integration_dict when the
          function accepts them and the kwargs do not already hold them),
          and take the DataFrame, or the iterable of DataFrames, it returns.
  "read"  read a Parquet (pyarrow), JSON or JSONL file with pandas.
  "predict"  run a model file's predict_df / predict_dict (or what its
          model_loading function returns) on the columnar file "data" in
          batches and write its predictions as one part (see run_predict
          and runner.h).
Each DataFrame becomes one columnar file (docs/columnar.md) in the request's
output_dir, its columns typed by dtype:
  int*/uint* and nullable Int*/UInt*   int64 (uint64 past int64's range: float64)
  float*, nullable Float*              float64, NaN and NA as null
  bool, nullable boolean               bool
  str / string / object strings        string (dictionary-encoded)
  category                             string (its categories as text)
  datetime64 (any unit; with a zone:   timestamp, ns since the epoch UTC
    converted to UTC)                    (past the ns range: text)
  object holding only bools / ints /   bool / int64 / float64 / timestamp
    numbers / datetimes (and nulls)
  anything else (timedelta, mixed...)  string, each value as str()
A named index becomes columns, an unnamed one is dropped. Needs Python >= 3.9
with numpy and pandas (pyarrow for Parquet); not assay.
"""

import json
import os
import sys
import traceback

# Result kinds (the parent relies on "pandas"; the others are informative).
K_REQUEST = "request"  # the request itself is malformed
K_PANDAS = "pandas"  # numpy / pandas cannot be imported
K_FILE_MISSING = "file_missing"  # loader or data file missing
K_SYNTAX = "syntax"  # the loader file does not compile
K_IMPORT = "import"  # the loader raised while being imported
K_FUNCTION_MISSING = "function_missing"
K_RAISED = "raised"  # the loader function raised
K_WRONG_TYPE = "wrong_type"  # it returned something else than DataFrames
K_FRAME = "frame"  # a returned frame cannot be written (duplicate names...)
K_READ = "read"  # a data file could not be read
K_INTERNAL = "internal"

MESSAGE_MAX = 8192  # characters of a message kept (the head)
TRACEBACK_MAX = 65536  # characters of a traceback kept (the tail)

MAGIC = b"ASSAYCOL"
FORMAT_VERSION = 1
ALIGN = 64

np = None  # numpy and pandas, imported once the request is read
pd = None


class Failure(Exception):
    """A failure reported to the parent as {"ok": false, ...}."""

    def __init__(self, kind, message, tb=None, **extra):
        Exception.__init__(self, message)
        self.kind = kind
        self.message = message
        self.tb = tb
        self.extra = extra


# --- small helpers -------------------------------------------------------------


def _cap_head(text, limit):
    if len(text) <= limit:
        return text
    return text[:limit] + "... (%d more characters)" % (len(text) - limit)


def _cap_tail(text, limit):
    if len(text) <= limit:
        return text
    return "... (%d characters before)\n" % (len(text) - limit) + text[-limit:]


def _exc_text(exc):
    """'ValueError: message' (or just the type name when there is no message)."""
    name = type(exc).__name__
    try:
        msg = str(exc)
    except Exception:  # a broken __str__ must not hide the failure
        msg = "<unprintable %s>" % name
    return "%s: %s" % (name, msg) if msg else name


def _format_tb(exc, skip_frames_of=()):
    """The traceback of exc without the leading frames of this file or of
    importlib (they say nothing to the loader's author)."""
    tb = exc.__traceback__
    while tb is not None:
        fname = tb.tb_frame.f_code.co_filename
        if fname == __file__ or fname.startswith("<frozen importlib") or fname in skip_frames_of:
            tb = tb.tb_next
        else:
            break
    try:
        lines = traceback.format_exception(type(exc), exc, tb)
    except Exception:
        lines = [_exc_text(exc) + "\n"]
    return "".join(lines)


def _type_name(value):
    if value is None:
        return "None"
    t = type(value)
    mod = getattr(t, "__module__", "builtins")
    if mod == "builtins":
        return t.__name__
    # pandas.core.series.Series -> pandas.Series; numpy stays numpy.ndarray
    top = mod.split(".")[0]
    return "%s.%s" % (top, t.__name__)


# --- the columnar file ----------------------------------------------------------


def _align(n):
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _validity(mask):
    """Bitmap (LSB first, bit set = valid) of a boolean null mask, or None."""
    if not mask.any():
        return None
    return np.packbits(~mask, bitorder="little").tobytes()


def _strings_column_arrow(values, mask):
    """The fast path of _strings_column: pyarrow dictionary-encodes the
    column and hands over its offsets and bytes as they are (no Python
    object per value). None when pyarrow is missing or the values are not
    all text; the caller then takes the slow path."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        return None
    try:
        if isinstance(values, np.ndarray):
            arr = pa.array(values, type=pa.large_string(), mask=mask, from_pandas=True)
        else:
            arr = pa.array(values, from_pandas=True)
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
            if arr.type != pa.large_string():
                arr = arr.cast(pa.large_string())
    except (pa.ArrowException, TypeError, ValueError):
        return None
    encoded = pc.dictionary_encode(arr)
    indices, dictionary = encoded.indices, encoded.dictionary
    null = np.asarray(indices.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    codes = np.asarray(indices.fill_null(0).to_numpy(zero_copy_only=False)).astype("<i4")
    n = len(dictionary)
    bufs = dictionary.buffers()
    offsets = np.frombuffer(bufs[1], dtype="<i8")[dictionary.offset:dictionary.offset + n + 1]
    start = int(offsets[0]) if n >= 0 and len(offsets) else 0
    end = int(offsets[-1]) if len(offsets) else 0
    data = bufs[2].to_pybytes()[start:end] if bufs[2] is not None else b""
    return {
        "type": "string",
        "values": codes,
        "mask": null,
        "dict_offsets": (offsets - start).astype("<i8"),
        "dict_data": data,
        "dict_count": n,
    }


def _strings_column(values, mask):
    """values: object array of str (anything where mask is True), or a
    Series of a pandas string dtype (factorized as it is)."""
    fast = _strings_column_arrow(values, mask)
    if fast is not None:
        return fast
    if isinstance(values, np.ndarray):
        values = values.copy()
        values[mask] = None
    codes, uniques = pd.factorize(values)
    codes = np.asarray(codes)
    mask = codes < 0
    codes = np.where(mask, 0, codes).astype("<i4")
    encoded = [str(u).encode("utf-8", "replace") for u in uniques]
    offsets = np.zeros(len(encoded) + 1, dtype="<i8")
    if encoded:
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return {
        "type": "string",
        "values": codes,
        "mask": mask,
        "dict_offsets": offsets,
        "dict_data": b"".join(encoded),
        "dict_count": len(encoded),
    }


def _as_text(v):
    if isinstance(v, str):
        return v
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    return str(v)


def _to_text_array(series, mask):
    """Object array holding each non-null value as str."""
    vals = series.to_numpy(dtype=object, na_value=None) if hasattr(series, "to_numpy") else series
    vals = np.asarray(vals, dtype=object)
    out = np.empty(len(vals), dtype=object)
    for i, v in enumerate(vals):
        out[i] = None if mask[i] else _as_text(v)
    return out


def _column_int(series, mask):
    dt = series.dtype
    if isinstance(dt, np.dtype):
        if dt.kind == "u" and dt.itemsize == 8 and len(series) and series.max() > np.iinfo(np.int64).max:
            return _column_float(series, mask)
        vals = series.to_numpy().astype("<i8")
    else:
        try:
            vals = series.to_numpy(dtype="int64", na_value=0)
        except (OverflowError, ValueError, TypeError):
            return _column_float(series, mask)
        vals = vals.astype("<i8", copy=False)
    if mask.any():
        vals = vals.copy()
        vals[mask] = 0
    return {"type": "int64", "values": vals, "mask": mask}


def _column_float(series, mask):
    vals = series.to_numpy(dtype="float64", na_value=np.nan).astype("<f8", copy=True)
    mask = mask | np.isnan(vals)
    vals[mask] = 0.0
    return {"type": "float64", "values": vals, "mask": mask}


def _column_bool(series, mask):
    vals = series.to_numpy(dtype=bool, na_value=False).astype("u1")
    if mask.any():
        vals[mask] = 0
    return {"type": "bool", "values": vals, "mask": mask}


def _column_timestamp(series, mask):
    s = pd.to_datetime(series, utc=True).dt.tz_localize(None)
    s = s.astype("datetime64[ns]")  # raises when out of the ns range
    arr = s.to_numpy(dtype="datetime64[ns]")
    mask = mask | np.isnat(arr)
    vals = arr.view("<i8").copy()
    vals[mask] = 0
    return {"type": "timestamp", "values": vals, "mask": mask}


def _column_category(series, mask):
    s = series.cat.remove_unused_categories()
    codes = np.asarray(s.cat.codes.to_numpy(), dtype=np.int64)
    cats = np.empty(len(s.cat.categories), dtype=object)
    for i, c in enumerate(s.cat.categories):
        cats[i] = _as_text(c)
    # categories that print alike (1 and "1") share one dictionary entry
    ucodes, uniques = pd.factorize(cats)
    ucodes = np.asarray(ucodes, dtype=np.int64)
    mask = codes < 0
    remapped = np.where(mask, 0, ucodes[np.where(mask, 0, codes)] if len(ucodes) else 0)
    encoded = [str(u).encode("utf-8", "replace") for u in uniques]
    offsets = np.zeros(len(encoded) + 1, dtype="<i8")
    if encoded:
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return {
        "type": "string",
        "values": np.asarray(remapped, dtype="<i4"),
        "mask": mask,
        "dict_offsets": offsets,
        "dict_data": b"".join(encoded),
        "dict_count": len(encoded),
    }


def _object_ints(series, mask):
    vals = np.zeros(len(series), dtype="<i8")
    src = series.to_numpy(dtype=object)
    for i in np.flatnonzero(~mask):
        vals[i] = src[i]  # OverflowError beyond int64: the column becomes text
    return {"type": "int64", "values": vals, "mask": mask}


_OBJECT_TYPES = {
    "boolean": lambda s, m: _column_bool(s, m),
    "integer": _object_ints,
    "floating": lambda s, m: _column_float(s, m),
    "mixed-integer-float": lambda s, m: _column_float(s, m),
    "decimal": lambda s, m: _column_float(s, m),
    "datetime": lambda s, m: _column_timestamp(s, m),
    "datetime64": lambda s, m: _column_timestamp(s, m),
}


def _convert(series):
    """One column as {type, values, mask, dict_*} (see docs/columnar.md)."""
    api = pd.api.types
    dt = series.dtype
    mask = np.asarray(series.isna().to_numpy(), dtype=bool)
    if isinstance(dt, pd.CategoricalDtype):
        return _column_category(series, mask)
    if api.is_bool_dtype(dt):
        return _column_bool(series, mask)
    if api.is_integer_dtype(dt) and not api.is_timedelta64_dtype(dt):
        return _column_int(series, mask)
    if api.is_float_dtype(dt):
        return _column_float(series, mask)
    if api.is_datetime64_any_dtype(dt):
        try:
            return _column_timestamp(series, mask)
        except (OverflowError, ValueError, TypeError, pd.errors.OutOfBoundsDatetime):
            return _strings_column(_to_text_array(series, mask), mask)
    if isinstance(dt, np.dtype) and dt == object:
        # a column of Python objects: strings stay strings; all bools, all
        # ints, all numbers or all datetimes (with nulls: pandas keeps such
        # columns as objects) get their type; anything else prints as text
        inferred = api.infer_dtype(series, skipna=True)
        if inferred in ("string", "empty"):
            return _strings_column(series.to_numpy(dtype=object), mask)
        typed = _OBJECT_TYPES.get(inferred)
        if typed is not None:
            try:
                return typed(series, mask)
            except (OverflowError, ValueError, TypeError, pd.errors.OutOfBoundsDatetime):
                pass
        return _strings_column(_to_text_array(series, mask), mask)
    if api.is_string_dtype(dt):
        try:
            return _strings_column(series, mask)
        except (TypeError, ValueError):
            return _strings_column(series.to_numpy(dtype=object, na_value=None), mask)
    return _strings_column(_to_text_array(series, mask), mask)


def _frame_names(df):
    names = []
    for c in df.columns:
        if isinstance(c, tuple):
            c = ".".join(_as_text(x) for x in c)
        names.append(_as_text(c))
    return names


def _prepare(df):
    """The frame to write: a named index becomes columns, a default one is dropped."""
    idx = df.index
    names = [n for n in getattr(idx, "names", [idx.name]) if n is not None]
    if names:
        df = df.reset_index()
    return df


def write_acol(df, path):
    """Write df as a columnar file at path (mode 0600)."""
    names = _frame_names(df)
    seen = set()
    for n in names:
        if n in seen:
            raise Failure(K_FRAME, "the frame has two columns named '%s'; column names must be unique" % n)
        seen.add(n)
    rows = int(len(df))
    columns = []
    for i, name in enumerate(names):
        series = df.iloc[:, i]
        try:
            col = _convert(series)
        except Failure:
            raise
        except Exception as exc:
            raise Failure(
                K_FRAME,
                "column '%s' (dtype %s) could not be converted: %s" % (name, series.dtype, _exc_text(exc)),
                _format_tb(exc),
            )
        col["name"] = name
        columns.append(col)

    # buffers in order; offsets are relative to the first buffer until the
    # header's length is known
    buffers = []

    def add(data):
        if isinstance(data, np.ndarray):
            data = np.ascontiguousarray(data).data.cast("B")
        start = _align(sum_len[0])
        buffers.append((start, data))
        sum_len[0] = start + len(data)
        return start, len(data)

    sum_len = [0]
    layout = []
    for col in columns:
        mask = col["mask"]
        nulls = int(mask.sum()) if len(mask) else 0
        entry = {"name": col["name"], "type": col["type"], "null_count": nulls}
        bitmap = _validity(mask) if nulls else None
        entry["values"] = add(col["values"])
        if bitmap is not None:
            entry["validity"] = add(bitmap)
        if col["type"] == "string":
            entry["dict_count"] = col["dict_count"]
            entry["dict_offsets"] = add(col["dict_offsets"])
            entry["dict_data"] = add(col["dict_data"])
        layout.append(entry)

    def header_for(base):
        cols = []
        for e in layout:
            h = {"name": e["name"], "type": e["type"], "null_count": e["null_count"]}
            for key in ("validity", "values", "dict_offsets", "dict_data"):
                if key in e:
                    off, length = e[key]
                    h[key] = {"offset": base + off, "length": length}
            if "dict_count" in e:
                h["dict_count"] = e["dict_count"]
            cols.append(h)
        return json.dumps({"rows": rows, "columns": cols}, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8"
        )

    base = _align(16)
    while True:  # the offsets' digits change the header's length: settle it
        header = header_for(base)
        need = _align(16 + len(header))
        if need == base:
            break
        base = need

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(MAGIC)
        f.write(FORMAT_VERSION.to_bytes(4, "little"))
        f.write(len(header).to_bytes(4, "little"))
        f.write(header)
        pos = 16 + len(header)
        for start, data in buffers:
            target = base + start
            if target > pos:
                f.write(b"\0" * (target - pos))
            f.write(data)
            pos = target + len(data)
        pad = _align(pos) - pos  # end on a boundary too
        if pad:
            f.write(b"\0" * pad)


class PartWriter:
    def __init__(self, output_dir, nrows):
        self.output_dir = output_dir
        self.nrows = nrows  # None: no limit
        self.rows = 0
        self.parts = []
        self.columns = None

    def full(self):
        return self.nrows is not None and self.rows >= self.nrows

    def add(self, df):
        if self.nrows is not None:
            left = self.nrows - self.rows
            if len(df) > left:
                df = df.iloc[:left]
        df = _prepare(df)
        names = _frame_names(df)
        if self.columns is None:
            self.columns = names
        elif names != self.columns:
            raise Failure(
                K_FRAME,
                "chunk %d has the columns %s but the first chunk has %s; every chunk needs the same columns"
                % (len(self.parts), _short_list(names), _short_list(self.columns)),
            )
        name = "part-%04d.acol" % len(self.parts)
        write_acol(df, os.path.join(self.output_dir, name))
        self.parts.append(name)
        self.rows += len(df)


def _short_list(names, limit=20):
    shown = ", ".join("'%s'" % n for n in names[:limit])
    if len(names) > limit:
        shown += ", ... (%d in all)" % len(names)
    return "[" + shown + "]"


# --- load mode --------------------------------------------------------------------


def _import_loader(path, what="loader"):
    """Import the user's file at path as a module; `what` ("loader" or
    "model") names it in messages."""
    import importlib.util

    base = os.path.basename(path)
    if not os.path.isfile(path):
        raise Failure(K_FILE_MISSING, "%s file '%s' not found" % (what, base))
    modname = os.path.splitext(base)[0] or what
    folder = os.path.dirname(os.path.abspath(path))
    if sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
        sys.path[0] = folder  # the loader's folder, not the runtime's
    else:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise Failure(K_IMPORT, "%s '%s' cannot be imported as a Python module" % (what, base))
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(modname, None)
        detail = exc.msg or "invalid syntax"
        text = "".join(traceback.format_exception_only(type(exc), exc))
        raise Failure(
            K_SYNTAX,
            "%s '%s' has a syntax error at line %s: %s" % (what, base, exc.lineno, detail),
            text,
            line=exc.lineno,
        )
    except BaseException as exc:  # noqa: B902 - SystemExit too: it is the loader's failure
        sys.modules.pop(modname, None)
        raise Failure(
            K_IMPORT,
            "%s '%s' failed while being imported: %s" % (what, base, _exc_text(exc)),
            _format_tb(exc),
            exc_type=type(exc).__name__,
        )
    return module, base


def _accepts(params, name):
    import inspect

    if params is None:
        return False
    for p in params.values():
        if p.kind == inspect.Parameter.VAR_KEYWORD:
            return True
        if p.name == name and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            return True
    return False


def _call_args(func, req):
    import inspect

    kwargs = req.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise Failure(K_REQUEST, "the loader kwargs must be a JSON object")
    kwargs = dict(kwargs)
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        params = None  # no signature (a builtin): pass the kwargs only
    for key in ("start_time", "end_time"):
        if key in req and key not in kwargs and _accepts(params, key):
            kwargs[key] = req[key]
    if "integration_dict" in req and "integration_dict" not in kwargs and _accepts(params, "integration_dict"):
        kwargs["integration_dict"] = req["integration_dict"]
    return kwargs


def _wrong_type(fname, what):
    return Failure(
        K_WRONG_TYPE,
        "loader function '%s' returned %s; expected a pandas DataFrame or an iterable of DataFrames" % (fname, what),
        got=what,
    )


def _raised(fname, exc):
    return Failure(
        K_RAISED,
        "loader function '%s' raised %s" % (fname, _exc_text(exc)),
        _format_tb(exc),
        exc_type=type(exc).__name__,
    )


def run_load(req, writer):
    path = req.get("path")
    fname = req.get("function")
    if not isinstance(path, str) or not path or not isinstance(fname, str) or not fname:
        raise Failure(K_REQUEST, "a load request needs 'path' and 'function' strings")
    module, base = _import_loader(path)
    func = getattr(module, fname, None)
    if func is None:
        raise Failure(K_FUNCTION_MISSING, "loader '%s' has no function '%s'" % (base, fname))
    if not callable(func):
        raise Failure(
            K_FUNCTION_MISSING,
            "loader '%s' has no function '%s' (it is a %s)" % (base, fname, _type_name(func)),
        )
    kwargs = _call_args(func, req)
    try:
        result = func(**kwargs)
    except BaseException as exc:  # noqa: B902 - SystemExit / KeyboardInterrupt are failures too
        raise _raised(fname, exc)
    del kwargs

    if isinstance(result, pd.DataFrame):
        writer.add(result)
        return
    if result is None or isinstance(
        result, (str, bytes, bytearray, dict, pd.Series, pd.Index, np.ndarray, int, float, bool)
    ) or not hasattr(result, "__iter__"):
        raise _wrong_type(fname, _type_name(result))
    try:
        it = iter(result)
    except Exception:
        raise _wrong_type(fname, _type_name(result))
    index = 0
    try:
        while not writer.full():
            try:
                item = next(it)
            except StopIteration:
                break
            except BaseException as exc:  # noqa: B902
                raise _raised(fname, exc)
            if not isinstance(item, pd.DataFrame):
                raise _wrong_type(
                    fname, "an iterable whose item %d is %s" % (index, _type_name(item))
                )
            writer.add(item)
            index += 1
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                pass
    if not writer.parts:  # an iterable without frames: no rows, no columns
        writer.add(pd.DataFrame())


# --- read mode --------------------------------------------------------------------

CHUNK_ROWS = 1 << 20


def run_read(req, writer):
    path = req.get("path")
    fmt = req.get("format")
    kw = req.get("loading_kwargs") or {}
    if not isinstance(path, str) or not path:
        raise Failure(K_REQUEST, "a read request needs a 'path' string")
    if not isinstance(kw, dict):
        raise Failure(K_REQUEST, "loading_kwargs must be a JSON object")
    base = os.path.basename(path)
    if not os.path.isfile(path):
        raise Failure(K_FILE_MISSING, "data file '%s' not found" % base)
    try:
        if fmt == "parquet":
            _read_parquet(path, kw, writer)
        elif fmt == "json":
            df = pd.read_json(path, **kw)
            if not isinstance(df, pd.DataFrame):
                df = pd.DataFrame(df)
            writer.add(df)
        elif fmt == "jsonl":
            kw = dict(kw)
            kw.pop("lines", None)
            kw.setdefault("chunksize", CHUNK_ROWS)
            if writer.nrows is not None:
                kw["nrows"] = writer.nrows
            reader = pd.read_json(path, lines=True, **kw)
            try:
                for chunk in reader:
                    writer.add(chunk)
                    if writer.full():
                        break
            finally:
                closer = getattr(reader, "close", None)
                if closer is not None:
                    closer()
        else:
            raise Failure(K_REQUEST, "unknown format %r; expected 'parquet', 'json' or 'jsonl'" % (fmt,))
    except Failure:
        raise
    except Exception as exc:
        raise Failure(
            K_READ,
            "could not read %s file '%s': %s" % (fmt, base, _exc_text(exc)),
            _format_tb(exc),
            exc_type=type(exc).__name__,
        )
    if not writer.parts:
        writer.add(pd.DataFrame())


def _read_parquet(path, kw, writer):
    if set(kw) <= {"columns"}:
        # stream record batches: memory stays at one batch
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        try:
            any_batch = False
            for batch in pf.iter_batches(batch_size=CHUNK_ROWS, columns=kw.get("columns")):
                writer.add(batch.to_pandas())
                any_batch = True
                if writer.full():
                    break
            if not any_batch:
                writer.add(pf.schema_arrow.empty_table().to_pandas())
        finally:
            closer = getattr(pf, "close", None)
            if closer is not None:
                closer()
    else:
        writer.add(pd.read_parquet(path, engine="pyarrow", **kw))


# --- predict mode -----------------------------------------------------------------
#
# The parent writes the model's input columns as one columnar file (the
# request's "data"); read_acol maps it (a private copy-on-write map: the
# frame's arrays are writable and nothing goes back to the file) and builds
# the DataFrame the model gets, with the dtypes pandas gives the same data
# read from a CSV file:
#   float64                 float64, nulls NaN (no copy when there are none)
#   int64                   int64; with nulls float64 with NaN
#   bool                    bool; with nulls object (True / False / NaN)
#   string                  pandas' default text dtype (object in pandas 2,
#                           str in pandas 3), nulls NaN
#   timestamp               datetime64[ns] (UTC, no zone), nulls NaT
# predict_dict gets each row as a dict of Python values (None for nulls).

K_MODEL_MISSING = "model_missing"  # no predict_df / predict_dict / load function
K_MODEL_OUTPUT = "model_output"  # the model's output has the wrong type, shape or range

TASKS = ("binary", "multiclass", "regression")


def _acol_validity(mm, col, rows):
    """Boolean array, True where the row is valid; None when no nulls."""
    v = col.get("validity")
    if not col.get("null_count") or v is None:
        return None
    bits = np.frombuffer(mm, dtype=np.uint8, count=(rows + 7) // 8, offset=v["offset"])
    return np.unpackbits(bits, count=rows, bitorder="little").view(bool)


def _acol_offsets(mm, col):
    n = int(col["dict_count"])
    offsets = np.frombuffer(mm, dtype="<i8", count=n + 1, offset=col["dict_offsets"]["offset"])
    d = col["dict_data"]
    return n, offsets, mm[d["offset"] : d["offset"] + d["length"]]


def _arrow_text(mm, col, rows, codes):
    """A string column as pandas' default text array built by pyarrow (the
    dictionary's take in C; the codes and the validity bitmap, which has
    Arrow's layout, are used as they are), when pandas' default text dtype
    is Arrow-backed (pandas 3 with pyarrow); else None."""
    dt = _text_dtype()
    if getattr(dt, "storage", None) != "pyarrow":
        return None
    try:
        import pyarrow as pa
    except ImportError:
        return None
    n, offsets, data = _acol_offsets(mm, col)
    words = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    nulls = int(col.get("null_count") or 0)
    bitmap = None
    if nulls:
        v = col["validity"]
        bitmap = pa.py_buffer(mm[v["offset"] : v["offset"] + (rows + 7) // 8])
    idx = pa.Array.from_buffers(pa.int32(), rows, [bitmap, pa.py_buffer(codes)], null_count=nulls)
    return pd.array(words.take(idx), dtype=dt)


_TEXT_DTYPE = []


def _text_dtype():
    """The dtype pandas gives text by default (object, or str in pandas 3)."""
    if not _TEXT_DTYPE:
        _TEXT_DTYPE.append(pd.Series(["a"]).dtype)
    return _TEXT_DTYPE[0]


def _acol_dictionary(mm, col):
    """The dictionary of a string column as an object array of str."""
    n, offsets, data = _acol_offsets(mm, col)
    out = np.empty(n, dtype=object)
    off = offsets.tolist()
    for i in range(n):
        out[i] = data[off[i] : off[i + 1]].decode("utf-8", "replace")
    return out


def _acol_column(mm, col, rows):
    t = col["type"]
    off = col["values"]["offset"]
    valid = _acol_validity(mm, col, rows)
    if t == "float64":
        vals = np.frombuffer(mm, dtype="<f8", count=rows, offset=off)
        if valid is not None:
            vals[~valid] = np.nan  # a private map: only the pages touched are copied
        return vals
    if t == "int64":
        vals = np.frombuffer(mm, dtype="<i8", count=rows, offset=off)
        if valid is None:
            return vals
        out = vals.astype(np.float64)
        out[~valid] = np.nan
        return out
    if t == "timestamp":
        vals = np.frombuffer(mm, dtype="<i8", count=rows, offset=off)
        if valid is not None:
            vals[~valid] = np.iinfo(np.int64).min  # NaT
        return vals.view("datetime64[ns]")
    if t == "bool":
        vals = np.frombuffer(mm, dtype=np.uint8, count=rows, offset=off).view(bool)
        if valid is None:
            return vals
        out = vals.astype(object)
        out[~valid] = np.nan
        return out
    if t == "string":
        codes = np.frombuffer(mm, dtype="<i4", count=rows, offset=off)
        fast = _arrow_text(mm, col, rows, codes)
        if fast is not None:
            return fast
        words = _acol_dictionary(mm, col)
        out = words.take(codes) if len(words) else np.empty(rows, dtype=object)
        if valid is not None:
            out[~valid] = np.nan
        return pd.Series(out).array  # pandas' default dtype for text
    raise Failure(K_REQUEST, "the model's input column '%s' has an unknown type %r" % (col.get("name"), t))


def read_acol(path):
    """The columnar file at path (docs/columnar.md; written by the parent) as
    a DataFrame, typed as the comment above says."""
    import mmap

    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < 16:
            raise Failure(K_REQUEST, "the model's input file is not a columnar file")
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    if mm[:8] != MAGIC or int.from_bytes(mm[8:12], "little") != FORMAT_VERSION:
        raise Failure(K_REQUEST, "the model's input file is not a columnar file (version %d)" % FORMAT_VERSION)
    hlen = int.from_bytes(mm[12:16], "little")
    header = json.loads(mm[16 : 16 + hlen].decode("utf-8"))
    rows = int(header["rows"])
    data = {}
    for col in header["columns"]:
        data[col["name"]] = _acol_column(mm, col, rows)
    df = pd.DataFrame(data, copy=False) if data else pd.DataFrame(index=pd.RangeIndex(rows))
    if len(df) != rows:  # a frame without columns
        df = pd.DataFrame(index=pd.RangeIndex(rows))
    return df


def _expected_shapes(task, n, k):
    if task == "binary":
        return "(%d,), (%d, 1) or (%d, 2) (the positive-class probability) for binary classification" % (n, n, n)
    if task == "regression":
        return "(%d,) or (%d, 1) (one value per row) for regression" % (n, n)
    if k:
        return "(%d, %d) (one probability per class) for multiclass classification with %d classes" % (n, k, k)
    return "(%d, k) (one probability per class, k >= 2) for multiclass classification" % n


def _shape_text(shape):
    if len(shape) == 1:
        return "(%d,)" % shape[0]
    return "(%s)" % ", ".join(str(x) for x in shape)


def _model_output(fname, result, task, n, k, first_row):
    """The model's output for n rows as float64: (n,) or, for multiclass,
    (n, k). k: the number of classes (0: not known yet, any k >= 2)."""
    if result is None:
        raise Failure(K_MODEL_OUTPUT, "model function '%s' returned None; expected %s" % (fname, _expected_shapes(task, n, k)))
    try:
        arr = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raw = None
        try:
            raw = np.asarray(result)
        except Exception:
            pass
        what = "shape %s, dtype %s" % (_shape_text(raw.shape), raw.dtype) if isinstance(raw, np.ndarray) else _type_name(result)
        raise Failure(
            K_MODEL_OUTPUT,
            "model function '%s' returned values that are not numbers (%s: %s); expected %s"
            % (fname, what, _exc_text(exc), _expected_shapes(task, n, k)),
        )
    shape = arr.shape
    out = None
    if task == "binary":
        if shape == (n,):
            out = arr
        elif len(shape) == 2 and shape[0] == n and shape[1] in (1, 2):
            out = arr[:, shape[1] - 1]
    elif task == "regression":
        if shape == (n,):
            out = arr
        elif shape == (n, 1):
            out = arr[:, 0]
    else:
        if len(shape) == 2 and shape[0] == n and (shape[1] == k if k else shape[1] >= 2):
            out = arr
    if out is None:
        raise Failure(
            K_MODEL_OUTPUT,
            "model function '%s' returned shape %s for %d rows; expected %s"
            % (fname, _shape_text(shape), n, _expected_shapes(task, n, k)),
            shape=list(shape),
        )
    if task != "regression" and out.size:
        finite = out[~np.isnan(out)]
        if finite.size and (finite.min() < 0.0 or finite.max() > 1.0):
            bad = np.flatnonzero(((out < 0.0) | (out > 1.0)).reshape(len(out), -1).any(axis=1))[0]
            value = out[bad] if out.ndim == 1 else out[bad][(out[bad] < 0) | (out[bad] > 1)][0]
            raise Failure(
                K_MODEL_OUTPUT,
                "model function '%s' returned %r for row %d; expected probabilities in [0, 1] for %s classification"
                % (fname, float(value), first_row + int(bad), "binary" if task == "binary" else "multiclass"),
            )
    return out


def _model_raised(fname, exc, row=None):
    where = " (row %d)" % row if row is not None else ""
    return Failure(
        K_RAISED,
        "model function '%s' raised %s%s" % (fname, _exc_text(exc), where),
        _format_tb(exc),
        exc_type=type(exc).__name__,
    )


def _callable_attr(obj, name):
    f = getattr(obj, name, None)
    return f if callable(f) else None


def _model_functions(req):
    """(function, name, kind) of the model: kind "df" (predict_df) or "dict"
    (predict_dict)."""
    path = req.get("path")
    if not isinstance(path, str) or not path:
        raise Failure(K_REQUEST, "a predict request needs a 'path' string")
    module, base = _import_loader(path, "model")
    load_name = req.get("function")
    if load_name is None:
        f = _callable_attr(module, "predict_df")
        if f is not None:
            return f, "predict_df", "df"
        f = _callable_attr(module, "predict_dict")
        if f is not None:
            return f, "predict_dict", "dict"
        raise Failure(K_MODEL_MISSING, "model file '%s' has no predict_df or predict_dict function" % base)
    if not isinstance(load_name, str) or not load_name:
        raise Failure(K_REQUEST, "the model's load function name must be a string")
    load = getattr(module, load_name, None)
    if load is None or not callable(load):
        raise Failure(K_MODEL_MISSING, "model file '%s' has no function '%s'" % (base, load_name))
    params = req.get("params") or {}
    if not isinstance(params, dict):
        raise Failure(K_REQUEST, "the model's params must be a JSON object")
    kwargs = dict(params)
    import inspect

    try:
        sig = inspect.signature(load).parameters
    except (TypeError, ValueError):
        sig = None
    if "integration_dict" in req and "integration_dict" not in kwargs and _accepts(sig, "integration_dict"):
        kwargs["integration_dict"] = req["integration_dict"]
    try:
        model = load(**kwargs)
    except BaseException as exc:  # noqa: B902
        raise Failure(
            K_RAISED,
            "model loading function '%s' raised %s" % (load_name, _exc_text(exc)),
            _format_tb(exc),
            exc_type=type(exc).__name__,
        )
    del kwargs
    f = _callable_attr(model, "predict_df")
    if f is not None:
        return f, "predict_df", "df"
    f = _callable_attr(model, "predict_dict")
    if f is not None:
        return f, "predict_dict", "dict"
    if callable(model):
        return model, getattr(model, "__name__", None) or "predict_df", "df"
    raise Failure(
        K_MODEL_MISSING,
        "model loading function '%s' returned %s; expected an object with predict_df or predict_dict, "
        "or a function (used as predict_df)" % (load_name, _type_name(model)),
    )


def _py_values(series):
    """A column as a list of Python values, None for nulls."""
    dt = series.dtype
    if pd.api.types.is_datetime64_any_dtype(dt):
        return [None if v is pd.NaT else v for v in series.astype(object).tolist()]
    mask = series.isna().to_numpy()
    if isinstance(dt, np.dtype) and dt.kind in "fiub":
        vals = series.to_numpy().tolist()  # Python floats, ints, bools
    else:
        vals = series.to_numpy(dtype=object).tolist()
    if mask.any():
        for i in np.flatnonzero(mask).tolist():
            vals[i] = None
    return vals


def _predict_dict_batch(fn, fname, df, first_row):
    names = [str(c) for c in df.columns]
    cols = [_py_values(df.iloc[:, j]) for j in range(len(names))]
    out = []
    i = first_row
    try:
        for row in zip(*cols) if cols else ((),) * len(df):
            out.append(fn(dict(zip(names, row))))
            i += 1
    except BaseException as exc:  # noqa: B902
        raise _model_raised(fname, exc, i)
    try:
        return np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        lens = set()
        for v in out:
            try:
                lens.add(len(v))
            except TypeError:
                lens.add(None)
        if len(lens) > 1:
            raise Failure(
                K_MODEL_OUTPUT,
                "model function '%s' returned values of different lengths for different rows; expected "
                "one number per row (or, for multiclass, one probability per class)" % fname,
            )
        return out  # _model_output names the type


def run_predict(req, writer):
    task = req.get("task")
    if task not in TASKS:
        raise Failure(K_REQUEST, "unknown task %r; expected one of %s" % (task, ", ".join(TASKS)))
    k = req.get("nclasses") or 0
    batch = req.get("batch_size") or 100000
    if not isinstance(k, int) or k < 0 or not isinstance(batch, int) or batch <= 0:
        raise Failure(K_REQUEST, "nclasses must be an integer >= 0 and batch_size one > 0")
    data = req.get("data")
    if not isinstance(data, str) or not os.path.isfile(data):
        raise Failure(K_REQUEST, "the predict request's data file is missing")
    import time

    t0 = time.monotonic()
    fn, fname, kind = _model_functions(req)
    t1 = time.monotonic()
    df = read_acol(data)
    t2 = time.monotonic()
    n = len(df)
    preds = None
    calls = 0
    for start in range(0, n, batch):
        calls += 1
        part = df if start == 0 and batch >= n else df.iloc[start : start + batch]
        m = len(part)
        if kind == "df":
            try:
                result = fn(part)
            except BaseException as exc:  # noqa: B902
                raise _model_raised(fname, exc)
        else:
            result = _predict_dict_batch(fn, fname, part, start)
        out = _model_output(fname, result, task, m, k, start)
        del result
        if preds is None:
            if out.ndim == 2:
                k = out.shape[1]
            preds = np.empty((n,) + out.shape[1:], dtype=np.float64)
        preds[start : start + m] = out
    if preds is None:  # no rows
        preds = np.empty((0, k) if task == "multiclass" else (0,), dtype=np.float64)
    t3 = time.monotonic()
    if preds.ndim == 1:
        cols = {"prediction": preds}
    else:
        cols = {"proba_%d" % j: preds[:, j] for j in range(preds.shape[1])}
    writer.add(pd.DataFrame(cols))
    sys.stderr.write(
        "runner: model ready in %.3f s; input read (%d rows x %d columns) in %.3f s; %s called "
        "%d time(s) in %.3f s; predictions written in %.3f s\n"
        % (t1 - t0, n, df.shape[1], t2 - t1, fname, calls if kind == "df" else n, t3 - t2, time.monotonic() - t3)
    )


# --- main -------------------------------------------------------------------------


def _send(fd, obj):
    data = (json.dumps(obj, ensure_ascii=True) + "\n").encode("ascii")
    while data:
        n = os.write(fd, data)
        data = data[n:]


_SECRETS = []  # forms of the integration_dict's secret values, longest first
_WRAPPED = []  # their base64 forms as patterns allowing line breaks (MIME)


def _b64_cores(b, encode):
    """The base64 of any buffer holding b contains one of these three texts
    (one per offset of b modulo 3): the characters whose bits all come
    from b; a character at an edge also holds bits of its neighbours."""
    out = []
    for a in range(3):
        text = encode(bytes(a) + b + bytes(5)).decode("ascii")
        out.append(text[(8 * a + 5) // 6 : (8 * (a + len(b))) // 6])
    return out


def _forms(v):
    """The forms of a secret the parent redacts too (runner/redact.c): as it
    is, JSON-escaped (both cases of \\u hex), inside repr(), inside
    repr(v.encode()), inside ascii() and as unicode_escape writes it (also
    JSON-escaped), JSON with every '/' as "\\/", percent-encoded (quote /
    quote_plus, '/' kept or not), base64 at each alignment (both alphabets;
    see _b64_forms for line breaks), hex (both cases)."""
    import urllib.parse

    b = v.encode("utf-8", "surrogatepass")
    forms = {v, repr(v)[1:-1], repr(b)[2:-1], b.hex(), b.hex().upper()}
    for a in (ascii(v)[1:-1], v.encode("unicode_escape").decode("ascii")):
        forms.add(a)
        forms.add(json.dumps(a)[1:-1])
        forms.add(json.dumps(a)[1:-1].replace("/", "\\/"))
    for ascii_only in (True, False):
        j = json.dumps(v, ensure_ascii=ascii_only)[1:-1]
        for f in (j, _upper_u_escapes(j)):
            forms.add(f)
            forms.add(f.replace("/", "\\/"))
    for safe in ("/", ""):
        forms.add(urllib.parse.quote(b, safe=safe))
        forms.add(urllib.parse.quote_plus(b, safe=safe))
    forms.update(_b64_forms(v))
    return forms


def _b64_forms(v):
    import base64

    b = v.encode("utf-8", "surrogatepass")
    return set(_b64_cores(b, base64.b64encode) + _b64_cores(b, base64.urlsafe_b64encode))


def _upper_u_escapes(j):
    out, i = [], 0
    while i < len(j):
        if j[i] == "\\" and j[i + 1 : i + 2] == "u":
            out.append("\\u" + j[i + 2 : i + 6].upper())
            i += 6
        elif j[i] == "\\":
            out.append(j[i : i + 2])
            i += 2
        else:
            out.append(j[i])
            i += 1
    return "".join(out)


def _note_secrets(req):
    """The secret values in every form a loader may print them in."""
    d = req.get("integration_dict")
    public = req.get("public_names") or []
    import re

    forms, b64 = set(), set()
    if isinstance(d, dict):
        for k, v in d.items():
            if isinstance(v, str) and v and k not in public:
                forms.update(_forms(v))
                b64.update(_b64_forms(v))
    forms.discard("")
    b64.discard("")
    _SECRETS[:] = sorted(forms, key=len, reverse=True)
    # base64 wrapped at 76 characters a line (base64.encodebytes, MIME): one
    # "\n" or "\r\n" allowed between any two characters, as in the parent
    _WRAPPED[:] = [
        re.compile("(?=(" + "(?:\r?\n)?".join(re.escape(c) for c in f) + "))")
        for f in sorted(b64, key=len, reverse=True)
    ]


def _redact(text):
    # the parent redacts too; this runs first so that cutting a long text
    # here never leaves part of a secret behind. Matches that overlap are
    # one region (no tail of a secret left), as in the parent.
    spans = []
    for s in _SECRETS:
        at = text.find(s)
        while at >= 0:
            spans.append((at, at + len(s)))
            at = text.find(s, at + 1)
    for w in _WRAPPED:
        spans.extend(m.span(1) for m in w.finditer(text))
    if not spans:
        return text
    spans.sort()
    out, pos, start, end = [], 0, None, -1
    for a, z in spans:
        if start is not None and a < end:
            end = max(end, z)
            continue
        if start is not None:
            out.append(text[pos:start] + "[REDACTED]")
            pos = end
        start, end = a, z
    out.append(text[pos:start] + "[REDACTED]")
    out.append(text[end:])
    return "".join(out)


def _failure_obj(f):
    obj = {"ok": False, "kind": f.kind, "message": _cap_head(_redact(f.message), MESSAGE_MAX)}
    if f.tb:
        obj["traceback"] = _cap_tail(_redact(f.tb), TRACEBACK_MAX)
    for k, v in f.extra.items():
        obj[k] = v
    return obj


def main(argv):
    if len(argv) != 2 or not argv[1].isdigit():
        sys.stderr.write("usage: assay_runner.py RESULT_FD (the request comes on stdin)\n")
        return 2
    # the result channel moves off fd 3 so that the loader cannot write on it
    # by accident and its children do not inherit it
    result_fd = os.dup(int(argv[1]))
    os.close(int(argv[1]))
    os.set_inheritable(result_fd, False)
    sys.dont_write_bytecode = True  # no __pycache__ next to uploaded loaders
    try:
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)
    except Exception:
        pass
    try:
        _send(result_fd, run(sys.stdin.buffer.read()))
    except Failure as f:
        _send(result_fd, _failure_obj(f))
    except BaseException as exc:  # noqa: B902 - report whatever happened
        _send(result_fd, _failure_obj(Failure(K_INTERNAL, "the runner failed: " + _exc_text(exc), _format_tb(exc))))
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
    os.close(result_fd)
    # the parent waits for this process to end: skip the interpreter's
    # teardown (freeing every object of a large frame takes a noticeable
    # part of a second); the output streams were flushed above
    os._exit(0)


def run(raw):
    global np, pd
    try:
        req = json.loads(raw.decode("utf-8"))
    except Exception as exc:
        raise Failure(K_REQUEST, "the request is not JSON: " + _exc_text(exc))
    del raw
    # stdin is at its end; a loader asking for input gets nothing
    try:
        sys.stdin = open(os.devnull)
    except OSError:
        pass
    if not isinstance(req, dict):
        raise Failure(K_REQUEST, "the request must be a JSON object")
    _note_secrets(req)
    out_dir = req.get("output_dir")
    if not isinstance(out_dir, str) or not os.path.isdir(out_dir):
        raise Failure(K_REQUEST, "the request's output_dir is missing or not a folder")
    nrows = req.get("nrows")
    if nrows is not None and (not isinstance(nrows, int) or isinstance(nrows, bool) or nrows < 0):
        raise Failure(K_REQUEST, "nrows must be a non-negative integer")
    mode = req.get("mode")
    if mode in ("load", "predict") and not os.path.isfile(req.get("path") or ""):
        raise Failure(
            K_FILE_MISSING,
            "%s file '%s' not found" % ("loader" if mode == "load" else "model", os.path.basename(req.get("path") or "")),
        )
    try:
        import numpy
        import pandas
    except BaseException as exc:  # noqa: B902 - a broken install may raise anything
        raise Failure(K_PANDAS, _exc_text(exc), _format_tb(exc))
    np, pd = numpy, pandas
    writer = PartWriter(out_dir, nrows)
    if mode == "load":
        run_load(req, writer)
    elif mode == "read":
        run_read(req, writer)
    elif mode == "predict":
        run_predict(req, writer)
    else:
        raise Failure(K_REQUEST, "unknown mode %r; expected 'load', 'read' or 'predict'" % (mode,))
    return {"ok": True, "parts": writer.parts, "rows": writer.rows}


if __name__ == "__main__":
    sys.exit(main(sys.argv))
