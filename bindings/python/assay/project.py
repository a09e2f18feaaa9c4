"""``Project``: a project of the platform, as returned by ``Client``, with
its registry of datasets, models and predictions, its stress test jobs and
test runs (rime-sdk's names)."""

from . import _core
from .errors import ConfigError, NotFoundError
from ._record import _Record
from .job import Job
from .test_run import TestRun

__all__ = ["Project"]


def _request(**fields):
    return {key: value for key, value in fields.items() if value is not None}


def _one_of(kind, by_id, by_name):
    if (by_id is None) == (by_name is None):
        raise ConfigError("give exactly one of %s_id and %s_name" % (kind, kind))


class Project(_Record):
    """A project: a named container for datasets, models and test runs.

    ``info`` is the full record the platform answered (``project_id``,
    ``workspace_id``, ``name``, ``description``, ``model_task``, ``use_case``,
    ``ethical_consideration``, ``profiling_config``, ``general_access_role``,
    ``run_time_info``, ``owner_id``, ``created_at``). Two ``Project`` objects
    are equal when they have the same ``project_id``.
    """

    __slots__ = ()
    _ID = "project_id"

    @property
    def project_id(self):
        """The project's id (a UUID string)."""
        return self._info["project_id"]

    @property
    def name(self):
        return self._info["name"]

    @property
    def description(self):
        return self._info["description"]

    # --- datasets ------------------------------------------------------------

    def register_dataset(self, name, data_config, integration_id=None, tags=None,
                         metadata=None, ct_info=None, skip_validation=False, agent_id=None):
        """Register a dataset and return its id. ``data_config`` is a
        rime-sdk ``data_info``: ``{"connection_info": {"data_file": {...}} or
        {"data_loading": {...}}, "data_params": {...}}``. Unless
        ``skip_validation``, the data is loaded once and checked; this waits
        for that, and ``get_dataset(id)`` then tells ``validity_status``,
        ``validity_message``, ``row_count`` and ``schema_profile``. Bad
        configs raise ``ConfigError`` naming the key."""
        record = _core.assay_client_register_dataset(
            self._handle, self.project_id,
            _request(name=name, data_info=data_config, integration_id=integration_id,
                     tags=tags, metadata=metadata, ct_info=ct_info,
                     skip_validation=bool(skip_validation), agent_id=agent_id), True)
        return record["dataset_id"]

    def register_dataset_from_file(self, name, remote_path, data_params=None, tags=None,
                                   metadata=None, ct_info=None, skip_validation=False,
                                   agent_id=None):
        """Register an uploaded data file (CSV, Parquet, JSON, JSONL) as a
        dataset; returns its id."""
        record = _core.assay_client_register_dataset_from_file(
            self._handle, self.project_id,
            _request(name=name, remote_path=remote_path, data_params=data_params, tags=tags,
                     metadata=metadata, ct_info=ct_info,
                     skip_validation=bool(skip_validation), agent_id=agent_id), True)
        return record["dataset_id"]

    def upload_and_register_dataset_from_file(self, name, file_path, upload_path=None,
                                              data_params=None, tags=None, metadata=None,
                                              ct_info=None, skip_validation=False,
                                              agent_id=None):
        """Upload a local data file and register it; returns the dataset id."""
        location = self._client.upload_file(file_path, upload_path)
        return self.register_dataset_from_file(name, location, data_params, tags, metadata,
                                               ct_info, skip_validation, agent_id)

    def list_datasets(self):
        """The project's dataset records, oldest first."""
        return _core.assay_client_list_datasets(self._handle, self.project_id)

    def get_dataset(self, dataset_id=None, dataset_name=None):
        """A dataset's record by id or by name: its config, ``validity_status``
        (``VALIDITY_STATUS_VALID``, ``_INVALID``, ``_PENDING``),
        ``validity_message``, ``row_count``, ``schema_profile``."""
        _one_of("dataset", dataset_id, dataset_name)
        if dataset_id is not None:
            return _core.assay_client_get_dataset(self._handle, dataset_id)
        return _core.assay_client_get_dataset_by_name(self._handle, self.project_id,
                                                      dataset_name)

    def has_dataset(self, dataset_id=None, dataset_name=None):
        try:
            self.get_dataset(dataset_id, dataset_name)
            return True
        except NotFoundError:
            return False

    def delete_dataset(self, dataset_id):
        """Delete a dataset, its predictions and its cached data."""
        _core.assay_client_delete_dataset(self._handle, dataset_id)

    # --- models --------------------------------------------------------------------

    def register_model(self, name, model_config=None, tags=None, metadata=None,
                       external_id=None, integration_id=None,
                       model_endpoint_integration_id=None, agent_id=None):
        """Register a model and return its id. ``model_config`` is None (no
        model: predictions come from registered predictions or ``pred_col``)
        or exactly one of ``{"model_path": {"path"}}``, ``{"hugging_face":
        {...}}``, ``{"model_loading": {...}}``."""
        record = _core.assay_client_register_model(
            self._handle, self.project_id,
            _request(name=name, model_info=model_config, tags=tags, metadata=metadata,
                     external_id=external_id, integration_id=integration_id,
                     model_endpoint_integration_id=model_endpoint_integration_id,
                     agent_id=agent_id))
        return record["model_id"]

    def register_model_from_path(self, name, remote_path, tags=None, metadata=None,
                                 external_id=None, agent_id=None,
                                 model_endpoint_integration_id=None):
        """Register an uploaded model file or folder; returns its id."""
        record = _core.assay_client_register_model_from_path(
            self._handle, self.project_id,
            _request(name=name, remote_path=remote_path, tags=tags, metadata=metadata,
                     external_id=external_id, agent_id=agent_id,
                     model_endpoint_integration_id=model_endpoint_integration_id))
        return record["model_id"]

    def upload_and_register_model_from_path(self, name, file_path, upload_model_dir=False,
                                            upload_hidden=False, upload_path=None, tags=None,
                                            metadata=None, external_id=None, agent_id=None,
                                            model_endpoint_integration_id=None):
        """Upload a model file (or, with ``upload_model_dir``, its folder)
        and register it; returns the model id."""
        if upload_model_dir:
            location = self._client.upload_directory(file_path, upload_hidden, upload_path)
        else:
            location = self._client.upload_file(file_path, upload_path)
        return self.register_model_from_path(name, location, tags, metadata, external_id,
                                             agent_id, model_endpoint_integration_id)

    def list_models(self):
        """The project's model records, oldest first."""
        return _core.assay_client_list_models(self._handle, self.project_id)

    def get_model(self, model_id=None, model_name=None):
        """A model's record by id or by name."""
        _one_of("model", model_id, model_name)
        if model_id is not None:
            return _core.assay_client_get_model(self._handle, model_id)
        return _core.assay_client_get_model_by_name(self._handle, self.project_id, model_name)

    def has_model(self, model_id=None, model_name=None):
        try:
            self.get_model(model_id, model_name)
            return True
        except NotFoundError:
            return False

    def delete_model(self, model_id):
        """Delete a model and its predictions."""
        _core.assay_client_delete_model(self._handle, model_id)

    # --- predictions -----------------------------------------------------------------

    def register_predictions(self, dataset_id, model_id, pred_config, integration_id=None,
                             tags=None, metadata=None, skip_validation=False, agent_id=None):
        """Register a model's predictions on a dataset. ``pred_config`` is
        ``{"connection_info": {...}, "pred_params": {"pred_col": ...}}``."""
        _core.assay_client_register_predictions(
            self._handle, self.project_id,
            _request(dataset_id=dataset_id, model_id=model_id, pred_info=pred_config,
                     integration_id=integration_id, tags=tags, metadata=metadata,
                     skip_validation=bool(skip_validation), agent_id=agent_id), True)

    def register_predictions_from_file(self, dataset_id, model_id, remote_path,
                                       pred_params=None, tags=None, metadata=None,
                                       skip_validation=False, agent_id=None):
        """Register predictions from an uploaded file."""
        _core.assay_client_register_predictions_from_file(
            self._handle, self.project_id,
            _request(dataset_id=dataset_id, model_id=model_id, remote_path=remote_path,
                     pred_params=pred_params, tags=tags, metadata=metadata,
                     skip_validation=bool(skip_validation), agent_id=agent_id), True)

    def list_predictions(self, model_id=None, dataset_id=None):
        """The project's prediction records, optionally of one model and/or dataset."""
        return _core.assay_client_list_predictions(self._handle, self.project_id, model_id,
                                                   dataset_id)

    def get_predictions(self, model_id, dataset_id):
        """The prediction record of a model on a dataset."""
        return _core.assay_client_get_predictions(self._handle, self.project_id, model_id,
                                                  dataset_id)

    def has_predictions(self, model_id, dataset_id):
        try:
            self.get_predictions(model_id, dataset_id)
            return True
        except NotFoundError:
            return False

    def delete_predictions(self, model_id, dataset_id):
        """Delete the predictions of a model on a dataset."""
        record = self.get_predictions(model_id, dataset_id)
        _core.assay_client_delete_predictions(self._handle, record["prediction_id"])

    # --- stress tests ------------------------------------------------------------------

    def list_stress_testing_jobs(self, status_filters=None):
        """An iterator over the project's stress test jobs (``Job``), newest
        first; ``status_filters`` (a list of ``JOB_STATUS_*`` names) keeps
        the jobs in one of those states (an unknown status is a
        ``ConfigError`` listing the valid ones)."""
        query = {"job_type": "JOB_TYPE_STRESS_TEST"}
        if status_filters is not None:
            query["status"] = status_filters
        records = _core.assay_client_list_jobs(self._handle, self.project_id, query)
        return iter([Job(self._client, r) for r in records])

    def list_test_runs(self):
        """An iterator over the project's test runs (``TestRun``), newest first."""
        records = _core.assay_client_list_test_runs(self._handle, self.project_id)
        return iter([TestRun(self._client, r) for r in records])

    def update_stress_test_categories(self, categories):
        """Set the categories (``TEST_CATEGORY_TYPE_*`` names) the project's
        stress tests run when their config names none. ``info`` then holds
        the updated record (``stress_test_categories``)."""
        self._info = _core.assay_client_update_stress_test_categories(
            self._handle, self.project_id, categories)

    def __repr__(self):
        return "Project(project_id=%r, name=%r)" % (self.project_id, self.name)
