"""The exception classes generated from the core's error table."""

import builtins
import pickle

import pytest

import assay
from assay import _core

IDIOMS = {
    "ConfigError": ValueError,
    "NotFoundError": ValueError,
    "ConflictError": ValueError,
    "PermissionDeniedError": PermissionError,
    "TransportError": ConnectionError,
    "TimeoutError": builtins.TimeoutError,
}

EXPECTED = {  # name: (code, parent, http_status), as documented in errors.h
    "Error": (-1, None, None),
    "ConfigError": (-2, "Error", 400),
    "NotFoundError": (-3, "Error", 404),
    "AuthError": (-4, "Error", 401),
    "PermissionDeniedError": (-5, "Error", 403),
    "ConflictError": (-6, "Error", 409),
    "TransportError": (-7, "Error", 0),
    "TimeoutError": (-8, "TransportError", 504),
    "MethodNotAllowedError": (-9, "ConfigError", 405),
    "PayloadTooLargeError": (-10, "ConfigError", 413),
    "StoreError": (-11, "Error", 500),
    "InternalError": (-12, "Error", 500),
    "OutOfMemoryError": (-13, "Error", 500),
    "UnavailableError": (-14, "TransportError", 503),
    "DataError": (-15, "Error", 422),
}


def table():
    return _core.assay_error_table_value()


def test_every_row_is_a_class_with_its_parent_as_base():
    rows = table()
    assert [row["name"] for row in rows][0] == "Error"
    for row in rows:
        cls = getattr(assay, row["name"])
        assert cls is assay.errors.error_classes[row["name"]]
        assert issubclass(cls, assay.Error) and issubclass(cls, Exception)
        assert cls.__name__ == row["name"]
        assert cls.code == row["code"]
        assert cls.http_status == row["http_status"]
        assert cls.description == row["description"] and row["description"]
        assert cls.__module__ == "assay.errors"
        if row["parent"] is None:
            assert cls is assay.Error
        else:
            parent = getattr(assay, row["parent"])
            assert cls.__bases__[0] is parent
        assert row["name"] in assay.__all__


def test_the_documented_rows_are_there():
    rows = {row["name"]: row for row in table()}
    for name, (code, parent, status) in EXPECTED.items():
        assert rows[name]["code"] == code
        assert rows[name]["parent"] == parent
        if status is not None:
            assert rows[name]["http_status"] == status


def test_python_idioms():
    for name, builtin in IDIOMS.items():
        assert issubclass(getattr(assay, name), builtin), name
    assert issubclass(assay.MethodNotAllowedError, ValueError)
    assert issubclass(assay.PayloadTooLargeError, ValueError)
    assert issubclass(assay.UnavailableError, ConnectionError)
    assert not issubclass(assay.AuthError, ValueError)
    assert not issubclass(assay.Error, ValueError)
    assert assay.TimeoutError is not builtins.TimeoutError


def test_instances_carry_their_fields():
    err = assay.NotFoundError("no project 'x'")
    assert err.message == "no project 'x'" and str(err) == "no project 'x'"
    assert err.code == -3 and err.name == "NotFoundError" and err.http_status == 404
    assert "NotFoundError" in repr(err)
    timeout = assay.TimeoutError("too slow")
    assert str(timeout) == "too slow" and timeout.code == -8
    with pytest.raises(builtins.TimeoutError):
        raise timeout


def test_raised_errors_pickle(tmp_path):
    with assay.Client(home=tmp_path) as client:
        with pytest.raises(assay.NotFoundError) as info:
            client.get_project("missing")
    again = pickle.loads(pickle.dumps(info.value))
    assert type(again) is assay.NotFoundError
    assert (again.code, again.name, again.message, again.http_status) == (
        info.value.code, info.value.name, info.value.message, info.value.http_status)


def test_register_wants_a_dict_of_classes():
    with pytest.raises(TypeError):
        _core._register_error_classes([1, 2])
    with pytest.raises(TypeError):
        _core._register_error_classes({-3: "not a class"})
