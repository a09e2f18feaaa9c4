"""``TestRun`` and ``TestBatch``: the results of a stress test (rime-sdk's names).

A thin layer over the extension module: the platform answers flat rows
(``get_test_cases_df``, ``get_category_results_df``, ``get_result_df``) and
these classes turn them into pandas objects. pandas is imported only when a
method that answers a DataFrame or Series runs, so ``import assay`` works
without it; those methods then raise an ``ImportError`` naming pandas, and
``get_document()`` still gives the whole run as plain dicts and lists.
"""

from . import _core
from ._record import _Record

__all__ = ["TestRun", "TestBatch"]

# Columns of an empty test-case frame (a run whose batches hold no cases).
_CASE_COLUMNS = ["test_run_id", "test_batch_type", "features", "status", "severity",
                 "category", "importance_score"]
_CATEGORY_COLUMNS = ["test_run_id", "category", "severity", "test_types",
                     "failing_test_types", "duration_in_millis"]


def _pandas(what):
    """The pandas module, or an ImportError saying what needed it."""
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(
            "assay: %s returns pandas objects, but pandas cannot be imported (%s); install "
            "pandas (pip install pandas), or use TestRun.get_document() for the results as "
            "plain dicts and lists" % (what, exc)) from exc
    return pandas


def _frame(what, rows, columns):
    pd = _pandas(what)
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(rows)


def _flat_summary(record, test_run_id, show_batch_metrics):
    """A batch record (without its cases) as one flat dict: nested objects
    become "key.sub" entries (summary_counts.total, ...), and with
    show_batch_metrics each batch metric is an entry under its own name."""
    flat = {"test_run_id": test_run_id}
    for key, value in record.items():
        if key in ("test_cases", "metrics", "test_run_id"):
            continue
        if isinstance(value, dict):
            for sub, item in value.items():
                flat["%s.%s" % (key, sub)] = item
        else:
            flat[key] = value
    if show_batch_metrics:
        for name, value in (record.get("metrics") or {}).items():
            flat[name] = value
    return flat


class TestRun(_Record):
    """A finished stress test run: ``test_run_id``, ``info`` (the run's
    summary record: name, project, model and dataset ids, model_task, times,
    summary_counts, severity_counts, category_results ...) and the result
    frames."""

    __test__ = False  # not a pytest test class, whatever its name
    __slots__ = ()
    _ID = "test_run_id"

    @property
    def test_run_id(self):
        return self._info["test_run_id"]

    @property
    def name(self):
        """The run's name (the config's run_name)."""
        return self._info.get("name")

    def get_result_df(self):
        """One row for the run: ids, model_task, times, ``duration_in_millis``,
        ``summary_counts.*`` and ``severity_counts.*``."""
        row = _core.assay_client_get_test_run_result(self._handle, self.test_run_id)
        return _frame("TestRun.get_result_df()", [row], [])

    def get_test_cases_df(self, show_test_case_metrics=False):
        """One row per test case of every batch: ``test_run_id``,
        ``test_batch_type``, ``features``, ``status``, ``severity``,
        ``category``, ``importance_score`` (and ``skip_reason``); with
        ``show_test_case_metrics`` one column per metric too."""
        rows = _core.assay_client_get_test_cases(self._handle, self.test_run_id, None,
                                                 bool(show_test_case_metrics))
        return _frame("TestRun.get_test_cases_df()", rows, _CASE_COLUMNS)

    def get_category_results_df(self, show_category_results_metrics=False):
        """One row per category run: severity, test types (and the failing
        ones), duration and ``summary_counts.*``."""
        rows = _core.assay_client_get_category_results(self._handle, self.test_run_id,
                                                       bool(show_category_results_metrics))
        return _frame("TestRun.get_category_results_df()", rows, _CATEGORY_COLUMNS)

    def get_test_batches(self):
        """An iterator over the run's test batches (``TestBatch``), in
        catalogue order."""
        batches = _core.assay_client_list_test_batches(self._handle, self.test_run_id)
        return iter([TestBatch(self._client, self.test_run_id, b) for b in batches])

    def get_test_batch(self, test_type):
        """The batch of one test type (e.g. ``"numeric_feature_drift"``);
        ``NotFoundError`` (a ``ValueError``) listing the run's test types for
        one it did not run."""
        record = _core.assay_client_get_test_batch(self._handle, self.test_run_id, test_type)
        return TestBatch(self._client, self.test_run_id, record)

    def get_document(self):
        """The whole run document as plain dicts and lists (every batch and
        case with its metrics and details)."""
        return _core.assay_client_get_test_run_document(self._handle, self.test_run_id)

    def get_link(self):
        """Where the run lives: ``<platform URL>/v1/test-runs/<id>`` for a
        client of an assayd, ``assay://test-runs/<id>`` on the embedded
        platform (assay has no web UI; ``write_report`` gives a page to
        open)."""
        base = self._client._base_url()
        if base is None:
            return "assay://test-runs/%s" % self.test_run_id
        return "%s/v1/test-runs/%s" % (base, self.test_run_id)

    def get_report_html(self):
        """The run's self-contained HTML report (charts included), as text."""
        return _core.assay_client_get_test_run_report(self._handle, self.test_run_id)["html"]

    def write_report(self, path):
        """Write the HTML report to ``path`` (UTF-8) and return the path."""
        html = self.get_report_html()
        with open(path, "w", encoding="utf-8") as f:
            f.write(html)
        return path

    def __repr__(self):
        return "TestRun(test_run_id=%r, name=%r)" % (self.test_run_id, self.name)


class TestBatch:
    """The results of one test type in a run: ``test_run_id``,
    ``test_type``, ``summary()`` and ``get_test_cases_df()``."""

    __test__ = False
    __slots__ = ("_client", "_test_run_id", "_record")

    def __init__(self, client, test_run_id, record):
        self._client = client
        self._test_run_id = test_run_id
        self._record = {k: v for k, v in record.items() if k != "test_cases"}

    @property
    def test_run_id(self):
        return self._test_run_id

    @property
    def test_type(self):
        return self._record["test_type"]

    @property
    def info(self):
        """The batch's record (without its test cases) as a dict."""
        return self._record

    def summary(self, show_batch_metrics=False):
        """The batch as a pandas Series: test_run_id, test_type, test_name,
        category, description, duration_in_millis, severity,
        failing_features, ``summary_counts.*`` (total, pass, warning, fail,
        skip); with ``show_batch_metrics`` the batch's metrics under their
        names."""
        pd = _pandas("TestBatch.summary()")
        return pd.Series(_flat_summary(self._record, self._test_run_id, show_batch_metrics),
                         dtype=object)

    def get_test_cases_df(self, show_test_case_metrics=False):
        """The batch's test cases, as ``TestRun.get_test_cases_df`` gives them."""
        rows = _core.assay_client_get_test_cases(self._client._handle, self._test_run_id,
                                                 self.test_type, bool(show_test_case_metrics))
        return _frame("TestBatch.get_test_cases_df()", rows, _CASE_COLUMNS)

    def __repr__(self):
        return "TestBatch(test_run_id=%r, test_type=%r)" % (self._test_run_id, self.test_type)
