"""The exceptions of assay, generated from the C core's error table.

Every row of ``assay_error_table()`` (code, name, parent, HTTP status,
description) becomes a class here at import time, subclassing its parent's
class, so a code added to the core appears in Python without hand copying.
``Error`` is the root. Some classes also derive from the builtin exception a
Python programmer would catch for that case (``ConfigError`` is a
``ValueError``, ``TransportError`` a ``ConnectionError``, ...), as rime-sdk
raises ``ValueError`` for bad arguments, unknown ids and duplicates.

The classes are handed to the extension module, which raises the class of a
failed call's return code with ``code``, ``name``, ``message`` and
``http_status`` filled from the core's last error.
"""

import builtins

from . import _core

__all__ = ["Error"]  # + one name per table row, below


class Error(Exception):
    """Root of every assay error.

    Attributes: ``code`` (the negative assay_error_code), ``name`` (the
    table name, e.g. ``"NotFoundError"``), ``message`` (what was wrong and
    what was expected) and ``http_status`` (the status of the failed HTTP
    request; 0 when there was none). Class attributes of the same names hold
    the table's values, plus ``description``.
    """

    code = -1
    name = "Error"
    http_status = 0
    description = ""

    def __init__(self, message="", *args):
        super().__init__(message, *args)
        self.message = message

    def __str__(self):
        return str(self.message)

    def __repr__(self):
        return "%s(code=%d, http_status=%d, message=%r)" % (
            type(self).__name__, self.code, self.http_status, self.message)

    def __reduce__(self):
        # Pickle the instance attributes too (the default keeps only args),
        # so errors survive crossing process boundaries intact.
        return (type(self), (self.message,), dict(self.__dict__))


# Builtin exception a class also derives from, for the Python idiom.
_IDIOMS = {
    "ConfigError": ValueError,
    "NotFoundError": ValueError,
    "ConflictError": ValueError,
    "DataError": ValueError,
    "PermissionDeniedError": PermissionError,
    "TransportError": ConnectionError,
    "TimeoutError": builtins.TimeoutError,
}


def _build(table):
    """Create one class per table row; return {name: class}."""
    classes = {}
    for row in table:
        name, parent = row["name"], row["parent"]
        attrs = {
            "code": row["code"],
            "name": name,
            "http_status": row["http_status"],
            "description": row["description"] or "",
            "__doc__": row["description"] or name,
            "__module__": __name__,
        }
        if parent is None:
            cls = Error
            for key, value in attrs.items():
                setattr(cls, key, value)
        else:
            if parent not in classes:
                raise ImportError("assay: the error table lists %s before its parent %s"
                                  % (name, parent))
            bases = (classes[parent],)
            idiom = _IDIOMS.get(name)
            if idiom is not None and not issubclass(bases[0], idiom):
                bases += (idiom,)
            cls = type(name, bases, attrs)
        classes[name] = cls
    return classes


error_classes = _build(_core.assay_error_table_value())
"""{name: class} for every row of the core's error table."""

globals().update(error_classes)
__all__ += sorted(name for name in error_classes if name != "Error")

_core._register_error_classes({cls.code: cls for cls in error_classes.values()})
