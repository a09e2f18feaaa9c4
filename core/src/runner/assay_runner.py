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


def _import_loader(path):
    import importlib.util

    base = os.path.basename(path)
    if not os.path.isfile(path):
        raise Failure(K_FILE_MISSING, "loader file '%s' not found" % base)
    modname = os.path.splitext(base)[0] or "loader"
    folder = os.path.dirname(os.path.abspath(path))
    if sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
        sys.path[0] = folder  # the loader's folder, not the runtime's
    else:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise Failure(K_IMPORT, "loader '%s' cannot be imported as a Python module" % base)
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
            "loader '%s' has a syntax error at line %s: %s" % (base, exc.lineno, detail),
            text,
            line=exc.lineno,
        )
    except BaseException as exc:  # noqa: B902 - SystemExit too: it is the loader's failure
        sys.modules.pop(modname, None)
        raise Failure(
            K_IMPORT,
            "loader '%s' failed while being imported: %s" % (base, _exc_text(exc)),
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
    return 0


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
    if mode == "load" and not os.path.isfile(req.get("path") or ""):
        raise Failure(K_FILE_MISSING, "loader file '%s' not found" % os.path.basename(req.get("path") or ""))
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
    else:
        raise Failure(K_REQUEST, "unknown mode %r; expected 'load' or 'read'" % (mode,))
    return {"ok": True, "parts": writer.parts, "rows": writer.rows}


if __name__ == "__main__":
    sys.exit(main(sys.argv))
