"""``_Record``: what the objects standing for one platform record share
(``Project``, ``Job``, ``TestRun``): the ``Client`` they came from, the
record as the platform last answered it, and equality by the record's id."""

__all__ = []


class _Record:
    """One platform record with the client that fetched it. A subclass
    names the record's id field in ``_ID``; two objects are equal when they
    are of the same class and have the same id."""

    __slots__ = ("_client", "_info")
    _ID = None

    def __init__(self, client, info):
        self._client = client
        self._info = info

    @property
    def info(self):
        """The record as a dict (as last fetched or changed)."""
        return self._info

    @property
    def _handle(self):
        return self._client._handle

    def __eq__(self, other):
        if not isinstance(other, type(self)):
            return NotImplemented
        return self._info[self._ID] == other._info[self._ID]

    def __hash__(self):
        return hash(self._info[self._ID])
