"""``Job``: a job of the platform (a dataset or predictions validation, or a
stress test), with rime-sdk's names."""

import html
import sys

from . import _core
from ._record import _Record
from .errors import ConfigError, error_classes

__all__ = ["Job"]

_FINAL = ("JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED")
_STRESS = "JOB_TYPE_STRESS_TEST"
_Timeout = error_classes["TimeoutError"]


def _progress(record):
    """(done, total) test batches of a record that tells them, else None."""
    p = record.get("progress")
    if not isinstance(p, dict) or not isinstance(p.get("total"), int) or p["total"] <= 0:
        return None  # not a stress test, or not counted yet
    done = p.get("done")
    return (done if isinstance(done, int) else 0), p["total"]


def _in_notebook():
    """True inside a Jupyter kernel (IPython already loaded, with a kernel);
    never imports IPython itself."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # an IPython too old or too odd: no bar
        return False
    return getattr(shell, "kernel", None) is not None


class _Bar:
    """A line of text for IPython.display: plain in text front ends, <pre>
    in HTML ones."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text

    def _repr_html_(self):
        return "<pre>%s</pre>" % html.escape(self.text)


def _bar_text(done, total, width=30):
    filled = width if total <= 0 else min(width, width * done // total)
    return "[%s%s] %d / %d tests completed" % ("#" * filled, "." * (width - filled), done,
                                               total)


class _ProgressView:
    """Shows a stress job's progress when it changes: in a notebook, one bar
    updated in place (IPython.display); elsewhere a printed line
    "n / m tests completed"."""

    def __init__(self):
        self._last = None
        self._handle = None
        self._display = None
        if _in_notebook():
            try:
                from IPython.display import display
                self._display = display
            except Exception:
                self._display = None

    def show(self, record):
        p = _progress(record)
        if p is None or p == self._last:
            return
        self._last = p
        if self._display is not None:
            bar = _Bar(_bar_text(*p))
            try:
                if self._handle is None:
                    self._handle = self._display(bar, display_id=True)
                else:
                    self._handle.update(bar)
                if self._handle is not None:
                    return
            except Exception:
                self._display = None  # fall back to printing
        print("%d / %d tests completed" % p, file=sys.stdout, flush=True)


class Job(_Record):
    """A job, as rime-sdk's: ``job_id``, ``job_type``, ``get_status()``,
    ``error_msg``, ``cancel()``, and for a stress test (``job_type``
    ``JOB_TYPE_STRESS_TEST``) ``get_test_run_id()`` and ``get_test_run()``.
    Statuses are ``JOB_STATUS_PENDING``, ``_RUNNING``, ``_SUCCEEDED``,
    ``_FAILED`` and ``_CANCELLED``. ``info`` is the job's last fetched record
    (``progress``: ``{done, total}`` test batches for a stress test)."""

    __slots__ = ()
    _ID = "job_id"

    @property
    def job_id(self):
        return self._info["job_id"]

    @property
    def job_type(self):
        return self._info["job_type"]

    @property
    def error_msg(self):
        """The failure's message (``None`` unless the job failed), fresh."""
        self._refresh()
        return self._info.get("error_msg")

    def _refresh(self):
        self._info = _core.assay_client_get_job(self._client._handle, self.job_id)

    def _wait(self, poll_rate_sec, view):
        """Wait for the job to end; with a view, show its progress at least
        every poll_rate_sec seconds meanwhile."""
        handle = self._client._handle
        if view is None:
            self._info = _core.assay_client_wait_job(handle, self.job_id, poll_rate_sec, 0.0)
            return
        self._refresh()
        while self._info["status"] not in _FINAL:
            view.show(self._info)
            try:
                self._info = _core.assay_client_wait_job(handle, self.job_id, poll_rate_sec,
                                                           poll_rate_sec)
            except _Timeout:
                self._refresh()

    def get_status(self, verbose=True, wait_until_finish=False, poll_rate_sec=5.0):
        """The job's state as a dict (``id``, ``type``, ``status``,
        ``start_time_secs``, ``running_time_secs``); with
        ``wait_until_finish`` it first waits for the job to end, polling at
        most every ``poll_rate_sec`` seconds. ``verbose`` prints the status,
        a stress test's progress ("n / m tests completed"; in a Jupyter
        notebook a bar updated in place, also while waiting) and the job's
        log when it failed."""
        poll_rate_sec = float(poll_rate_sec)
        view = _ProgressView() if verbose else None
        if wait_until_finish:
            self._wait(poll_rate_sec, view)
        else:
            self._refresh()
        r = self._info
        status = {"id": r["job_id"], "type": r["job_type"], "status": r["status"],
                  "start_time_secs": r.get("start_time_secs"),
                  "running_time_secs": r.get("running_time_secs")}
        if verbose:
            print("Job %s (%s): %s, running time %.1f s" % (
                status["id"], status["type"], status["status"],
                status["running_time_secs"] or 0.0), file=sys.stdout)
            view.show(r)
            if r["status"] == "JOB_STATUS_FAILED":
                print(self.get_log(), file=sys.stdout)
        return status

    def get_log(self):
        """The job's log: the output of user code it ran, secrets redacted."""
        return _core.assay_client_get_job_log(self._client._handle, self.job_id)["log"]

    def cancel(self):
        """Cancel the job: a pending one is ``JOB_STATUS_CANCELLED`` at once,
        a running one stops within about a second and ends cancelled. A job
        that already finished is a ``ConfigError`` (a ``ValueError``)."""
        self._info = _core.assay_client_cancel_job(self._client._handle, self.job_id)

    def get_test_run_id(self):
        """The id of the test run a stress test job produced. A job that has
        not succeeded (or is not a stress test) is a ``ConfigError`` (a
        ``ValueError``) saying its status."""
        self._refresh()
        r = self._info
        if r["job_type"] != _STRESS:
            raise ConfigError("job %s is a %s job, not a stress test (%s): it has no test run"
                              % (self.job_id, r["job_type"], _STRESS))
        if r["status"] != "JOB_STATUS_SUCCEEDED":
            reason = ""
            if r.get("error_msg"):
                reason = ": %s" % r["error_msg"]
            raise ConfigError("job %s has no test run: it is %s, not JOB_STATUS_SUCCEEDED%s"
                              % (self.job_id, r["status"], reason))
        return (r.get("result") or {})["test_run_id"]

    def get_test_run(self):
        """The ``TestRun`` a succeeded stress test job produced (see
        ``get_test_run_id`` for the errors)."""
        return self._client.get_test_run(self.get_test_run_id())

    def __repr__(self):
        return "Job(job_id=%r, job_type=%r, status=%r)" % (
            self.job_id, self.job_type, self._info.get("status"))
