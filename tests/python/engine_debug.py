"""The stress test engine without a platform, for the engine's statistics
tests: ``stress(ref_df, eval_df, ...)`` writes the two frames as CSV files
and runs ``assay__debug_stress`` of ``$ASSAY_BUILD_DIR/core/libassay.so``
through ctypes (the C engine reads the CSVs natively), returning the run
document. ``batch`` / ``case`` / ``cases`` pick results out of it.

Floats are written with ``repr`` (the shortest text that reads back as the
same double, which the C reader parses exactly), so the numpy arrays the
frames were built from are the exact values the engine sees.
"""

import ctypes
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from assayd_process import BUILD_DIR  # noqa: E402

CATEGORIES = {
    "drift": "TEST_CATEGORY_TYPE_DRIFT",
    "abnormal": "TEST_CATEGORY_TYPE_ABNORMAL_INPUTS",
    "cleanliness": "TEST_CATEGORY_TYPE_DATA_CLEANLINESS",
}


class _Error(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("name", ctypes.c_char_p), ("message", ctypes.c_char_p),
                ("http_status", ctypes.c_int)]


_lib = None


def lib():
    global _lib
    if _lib is None:
        path = BUILD_DIR / "core" / "libassay.so"
        if not path.exists():
            raise AssertionError("libassay is not built at %s (set ASSAY_BUILD_DIR)" % path)
        _lib = ctypes.CDLL(str(path))
        _lib.assay__debug_stress.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
        _lib.assay__debug_stress.restype = ctypes.c_int
        _lib.assay_error_last.restype = ctypes.POINTER(_Error)
    return _lib


class EngineError(Exception):
    pass


def write_csv(df, path):
    df.to_csv(path, index=False, float_format=None)


def stress(tmp_path, ref, ev, task="MODEL_TASK_BINARY_CLASSIFICATION", params=None,
           categories=("drift", "abnormal", "cleanliness"), tests=None, threads=2):
    """Run the engine on two DataFrames; returns the run document."""
    ref_path, eval_path = tmp_path / "ref.csv", tmp_path / "eval.csv"
    write_csv(ref, ref_path)
    write_csv(ev, eval_path)
    config = {"categories": [CATEGORIES.get(c, c) for c in categories]}
    if tests:
        config["test_suite_config"] = {"individual_tests_config": tests}
    req = {"model_task": task, "ref_path": str(ref_path), "eval_path": str(eval_path),
           "config": config, "threads": threads}
    if params:
        req["ref_params"] = params
        req["eval_params"] = params
    out = ctypes.c_void_p()
    rc = lib().assay__debug_stress(json.dumps(req).encode(), ctypes.byref(out))
    if rc != 0:
        err = lib().assay_error_last()
        raise EngineError(err.contents.message.decode() if err else "error %d" % rc)
    try:
        return json.loads(ctypes.string_at(out.value).decode())
    finally:
        ctypes.CDLL(None).free(ctypes.c_void_p(out.value))


def batch(doc, test_type):
    for b in doc["test_batches"]:
        if b["test_type"] == test_type:
            return b
    have = [b["test_type"] for b in doc["test_batches"]]
    raise KeyError("no batch %s (have %s)" % (test_type, have))


def cases(doc, test_type):
    return batch(doc, test_type)["test_cases"]


def case(doc, test_type, *features):
    for tc in cases(doc, test_type):
        if tuple(tc["features"]) == features:
            return tc
    raise KeyError("no case %s %s" % (test_type, features))


def metric(tc, name):
    v = tc["metrics"][name]
    return math.nan if v is None else v
