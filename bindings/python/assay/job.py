"""``Job``: a job of the platform (a validation now; stress tests later)."""

import sys

from . import _core

__all__ = ["Job"]

_FINAL = ("JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED")


class Job:
    """A job, as rime-sdk's: ``job_id``, ``job_type``, ``get_status()``,
    ``error_msg``. Statuses are ``JOB_STATUS_PENDING``, ``_RUNNING``,
    ``_SUCCEEDED``, ``_FAILED`` and ``_CANCELLED``."""

    __slots__ = ("_client", "_record")

    def __init__(self, client, record):
        self._client = client
        self._record = record

    @property
    def job_id(self):
        return self._record["job_id"]

    @property
    def job_type(self):
        return self._record["job_type"]

    @property
    def error_msg(self):
        """The failure's message (``None`` unless the job failed), fresh."""
        self._refresh()
        return self._record.get("error_msg")

    def _refresh(self):
        self._record = _core.assay_client_get_job(self._client._handle, self.job_id)

    def get_status(self, verbose=True, wait_until_finish=False, poll_rate_sec=5.0):
        """The job's state as a dict (``id``, ``type``, ``status``,
        ``start_time_secs``, ``running_time_secs``); with
        ``wait_until_finish`` it first waits for the job to end, polling at
        most every ``poll_rate_sec`` seconds. ``verbose`` prints the status
        (and the job's log when it failed)."""
        if wait_until_finish:
            self._record = _core.assay_client_wait_job(self._client._handle, self.job_id,
                                                       float(poll_rate_sec), 0.0)
        else:
            self._refresh()
        r = self._record
        status = {"id": r["job_id"], "type": r["job_type"], "status": r["status"],
                  "start_time_secs": r.get("start_time_secs"),
                  "running_time_secs": r.get("running_time_secs")}
        if verbose:
            print("Job %s (%s): %s, running time %.1f s" % (
                status["id"], status["type"], status["status"],
                status["running_time_secs"] or 0.0), file=sys.stdout)
            if r["status"] == "JOB_STATUS_FAILED":
                print(self.get_log(), file=sys.stdout)
        return status

    def get_log(self):
        """The job's log: the output of user code it ran, secrets redacted."""
        return _core.assay_client_get_job_log(self._client._handle, self.job_id)["log"]

    @property
    def info(self):
        """The job's last fetched record as a dict."""
        return self._record

    def __repr__(self):
        return "Job(job_id=%r, job_type=%r, status=%r)" % (
            self.job_id, self.job_type, self._record.get("status"))

    def __eq__(self, other):
        if not isinstance(other, Job):
            return NotImplemented
        return self.job_id == other.job_id

    def __hash__(self):
        return hash(self.job_id)
