"""``Client``: the entry point of assay's Python API.

A thin layer over the extension module ``assay._core``: it turns keyword
arguments into the option and record dicts the C core takes and wraps the
records it returns. Every check of an argument's value happens in the core,
which raises the typed errors of ``assay.errors``.
"""


import os
import sys
import tempfile

from . import _core
from .errors import ConfigError
from .job import Job
from .project import Project
from .test_run import TestRun

__all__ = ["Client"]


def _path(value):
    """A path-like object as str; anything else as is, for the core to judge."""
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def _without_none(**fields):
    return {key: value for key, value in fields.items() if value is not None}


class Client:
    """A connection to an assay platform.

    With no ``domain``, the client runs the embedded platform of ``home``
    (default ``$ASSAY_HOME``, else ``~/.assay``) in this process, acting as
    the home's administrator, or, given an ``api_key``, as that token's user;
    ``secret_key_file`` names its master key for secrets at rest (default
    ``$ASSAY_SECRET_KEY_FILE``, else ``<home>/secret.key``). With a ``domain`` (``"http://host:port"`` or
    ``"host:port"``) it talks to an ``assayd`` server, authenticated by
    ``api_key``. For the embedded platform, ``runner_python`` is the
    interpreter custom loaders run with (default ``$ASSAY_PYTHON``, else
    this one), ``loader_timeout`` (seconds) and ``loader_memory_bytes``
    limit one loader run, and ``workers`` is the number of job threads.
    The remaining arguments are those of rime-sdk's ``Client``:
    ``channel_timeout`` in seconds for one request, ``disable_tls`` to use
    plain HTTP for a domain without a scheme, and the TLS files and names.

    A client may be shared by threads; the GIL is released while it waits.
    Use it as a context manager, or call ``close()``, to release it early.
    """

    def __init__(self, domain=None, api_key="", channel_timeout=180.0, disable_tls=False,
                 ssl_ca_cert=None, cert_file=None, key_file=None, assert_hostname=None,
                 *, home=None, secret_key_file=None, runner_python=None, workers=None,
                 loader_timeout=None, loader_memory_bytes=None):
        self._domain = domain
        self._home = home
        self._disable_tls = bool(disable_tls)
        if runner_python is None and not domain and not os.environ.get("ASSAY_PYTHON"):
            # Custom loaders run, by default, with the interpreter assay runs in.
            runner_python = sys.executable or None
        options = _without_none(
            domain=domain, api_key=api_key, channel_timeout=channel_timeout,
            disable_tls=disable_tls, ssl_ca_cert=ssl_ca_cert, cert_file=cert_file,
            key_file=key_file, assert_hostname=assert_hostname,
            home=_path(home),
            secret_key_file=_path(secret_key_file), runner_python=_path(runner_python),
            workers=workers, loader_timeout=loader_timeout,
            loader_memory_bytes=loader_memory_bytes)
        self._handle = _core.assay_client_new_with(options)

    # --- projects --------------------------------------------------------

    def create_project(self, name, description, model_task, use_case=None,
                       ethical_consideration=None, profiling_config=None,
                       general_access_role="ACTOR_ROLE_NONE", run_time_info=None):
        """Create a project in the caller's workspace and return it."""
        extra = _without_none(
            use_case=use_case, ethical_consideration=ethical_consideration,
            profiling_config=profiling_config, general_access_role=general_access_role,
            run_time_info=run_time_info)
        info = _core.assay_client_create_project(self._handle, name, description, model_task,
                                                 extra)
        return Project(self, info)

    def get_project(self, project_id):
        """The project with this id; ``NotFoundError`` if there is none."""
        return Project(self, _core.assay_client_get_project(self._handle, project_id))

    def list_projects(self):
        """The projects of the caller's workspace, oldest first."""
        return [Project(self, info) for info in _core.assay_client_list_projects(self._handle)]

    def delete_project(self, project_id, force=False):
        """Delete a project; one that still holds datasets, models or test
        runs needs ``force=True`` (else ``ConflictError``)."""
        _core.assay_client_delete_project(self._handle, project_id, force)

    # --- workspaces, users, members -----------------------------------------

    def create_workspace(self, name):
        """Create a workspace (organisation admins only) and return its record
        ``{workspace_id, name, created_at, role}``; the caller becomes its
        admin."""
        return _core.assay_client_create_workspace(self._handle, name)

    def list_workspaces(self):
        """The workspaces the caller can see, each with the caller's ``role``."""
        return _core.assay_client_list_workspaces(self._handle)

    def get_workspace(self, workspace_id):
        """A workspace's record; ``NotFoundError`` outside the caller's reach."""
        return _core.assay_client_get_workspace(self._handle, workspace_id)

    def create_user(self, username, display_name=None):
        """Create a user (organisation admins only) and return its record
        ``{user_id, username, display_name, is_org_admin, created_at}``."""
        return _core.assay_client_create_user(self._handle, username, display_name)

    def list_users(self):
        """Every user (organisation admins only)."""
        return _core.assay_client_list_users(self._handle)

    def add_workspace_member(self, workspace_id, user_id, role):
        """Make a user a member of a workspace (workspace admins) with
        ``role``: ``WORKSPACE_ROLE_ADMIN``, ``WORKSPACE_ROLE_MEMBER`` or
        ``WORKSPACE_ROLE_VIEWER`` (or ``"admin"``, ``"member"``, ``"viewer"``).
        Returns the member record."""
        return _core.assay_client_add_workspace_member(self._handle, workspace_id, user_id,
                                                       role)

    def update_workspace_member(self, workspace_id, user_id, role):
        """Change a member's role (workspace admins); returns the member record."""
        return _core.assay_client_update_workspace_member(self._handle, workspace_id, user_id,
                                                          role)

    def remove_workspace_member(self, workspace_id, user_id):
        """Remove a member (workspace admins): their members-level credentials
        in the workspace are deleted and their tokens for it revoked."""
        _core.assay_client_remove_workspace_member(self._handle, workspace_id, user_id)

    def list_workspace_members(self, workspace_id):
        """The members of a workspace, by username."""
        return _core.assay_client_list_workspace_members(self._handle, workspace_id)

    # --- API tokens --------------------------------------------------------

    def create_api_token(self, workspace_id=None, name=None, user_id=None, expires_in_days=None):
        """Create an API token and return its secret (shown only now).

        ``expires_in_days`` defaults to 270; a token created with a token
        that expires sooner ends when that one does (asking explicitly for
        a longer life is a ``PermissionDeniedError``).
        """
        record = _core.assay_client_create_api_token(
            self._handle, workspace_id, name, user_id,
            _core.ASSAY_TOKEN_EXPIRY_DEFAULT if expires_in_days is None else expires_in_days)
        return record["token"]

    def list_api_tokens(self, workspace_id=None, user_id=None):
        """The API tokens the caller may see (never their secrets), optionally
        only those of a workspace and/or a user: dicts with ``id``, ``name``,
        ``user_id``, ``workspace_id``, ``created_at``, ``expires_at``,
        ``revoked_at`` and ``status`` (``"active"``, ``"expired"``,
        ``"revoked"``)."""
        return _core.assay_client_list_api_tokens(self._handle, workspace_id, user_id)

    def revoke_api_token(self, token_id):
        """Revoke an API token by its id (revoking twice is fine)."""
        _core.assay_client_revoke_api_token(self._handle, token_id)

    # --- integrations ---------------------------------------------------------

    def create_integration(self, workspace_id, name, integration_type, integration_schema):
        """Create an integration (workspace admins) and return its id.

        ``integration_type`` is one of the ``INTEGRATION_TYPE_*`` names;
        ``integration_schema`` a list of ``{"name", "sensitivity", "value"?}``
        with sensitivity ``VARIABLE_SENSITIVITY_PUBLIC`` (``"not_sensitive"``),
        ``VARIABLE_SENSITIVITY_WORKSPACE_SECRET`` (``"workspace"``) or
        ``VARIABLE_SENSITIVITY_USER_SECRET`` (``"members"``, no value: each
        member sets theirs with ``set_integration_credentials``).
        """
        record = _core.assay_client_create_integration(self._handle, workspace_id, name,
                                                       integration_type, integration_schema)
        return record["integration_id"]

    def list_integrations(self, workspace_id):
        """The integrations of a workspace as the caller sees them, oldest first."""
        return _core.assay_client_list_integrations(self._handle, workspace_id)

    def get_integration(self, integration_id):
        """An integration's record: ``integration_id``, ``name``,
        ``integration_type``, ``variables`` (name, sensitivity, the value of
        not-sensitive ones only, ``is_set``) and the caller's
        ``credential_status`` (``configured``, ``missing``). Never a secret."""
        return _core.assay_client_get_integration(self._handle, integration_id)

    def update_integration(self, integration_id, name=None, variables=None,
                           remove_variables=None):
        """Rename an integration, add or replace ``variables`` (schema
        entries, matched by name) and remove ``remove_variables`` (names);
        workspace admins. Returns the updated record."""
        changes = _without_none(name=name, variables=variables,
                                remove_variables=remove_variables)
        return _core.assay_client_update_integration(self._handle, integration_id, changes)

    def delete_integration(self, integration_id):
        """Delete an integration and its stored secrets (workspace admins)."""
        _core.assay_client_delete_integration(self._handle, integration_id)

    def set_integration_credentials(self, integration_id, credentials):
        """Set the caller's own values of members-level variables:
        ``credentials`` maps variable names to values (``None`` clears one).
        Members and admins; viewers may not. Returns ``{integration_id,
        credential_status}``."""
        return _core.assay_client_set_integration_credentials(self._handle, integration_id,
                                                              credentials)

    # --- files -------------------------------------------------------------------

    def upload_file(self, file_path, upload_path=None):
        """Upload a file (streamed; any size) to the caller's workspace and
        return its location, ``assay://files/<upload_path>/<file name>``,
        which configs reference. Without ``upload_path`` the folder is named
        after the content's hash, so the same content gets the same
        location; an empty ``upload_path`` is a ``ConfigError``."""
        return _core.assay_client_upload_file(self._handle, _path(file_path),
                                              _path(upload_path))["location"]

    def upload_directory(self, dir_path, upload_hidden=False, upload_path=None):
        """Upload a directory tree and return its location. Hidden files
        (``.name``) are skipped unless ``upload_hidden``; a symbolic link
        pointing out of the directory is a ``ConfigError`` (nothing is
        uploaded then)."""
        return _core.assay_client_upload_directory(self._handle, _path(dir_path),
                                                   bool(upload_hidden),
                                                   _path(upload_path))["location"]

    def upload_data_frame(self, df, name=None, upload_path=None):
        """Write a pandas DataFrame to a file and upload it; returns its
        location. ``name``'s extension chooses the format: ``.parquet``
        (the default, ``data_frame.parquet``; keeps dtypes), ``.csv``,
        ``.json`` or ``.jsonl``."""
        name = "data_frame.parquet" if name is None else name
        if not isinstance(name, str) or not name or "/" in name:
            raise ConfigError("name must be a file name (no '/'), e.g. 'ref.parquet'; got %r"
                              % (name,))
        base, ext = os.path.splitext(name)
        if ext == "":
            name, ext = name + ".parquet", ".parquet"
        writers = {
            ".parquet": lambda path: df.to_parquet(path, index=False),
            ".pq": lambda path: df.to_parquet(path, index=False),
            ".csv": lambda path: df.to_csv(path, index=False),
            ".json": lambda path: df.to_json(path, orient="records"),
            ".jsonl": lambda path: df.to_json(path, orient="records", lines=True),
        }
        if ext not in writers:
            raise ConfigError("name must end in .parquet, .pq, .csv, .json or .jsonl; got %r"
                              % name)
        if not hasattr(df, "to_parquet"):
            raise ConfigError("df must be a pandas DataFrame, not %s" % type(df).__name__)
        with tempfile.TemporaryDirectory(prefix="assay-upload-") as tmp:
            path = os.path.join(tmp, name)
            writers[ext](path)
            return self.upload_file(path, upload_path)

    def list_uploaded_file_urls(self):
        """The locations of the files uploaded to the caller's workspace."""
        return [f["location"] for f in _core.assay_client_list_uploaded_files(self._handle)]

    def list_uploaded_files(self):
        """The uploaded files' records: ``location``, ``path``, ``size``,
        ``blake2b``, ``uploaded_by``, ``uploaded_at``."""
        return _core.assay_client_list_uploaded_files(self._handle)

    def delete_uploaded_file_url(self, url):
        """Delete an uploaded file (or every file under a directory location)."""
        _core.assay_client_delete_uploaded_file(self._handle, url)

    # --- stress tests and jobs ------------------------------------------------------

    def start_stress_test(self, test_run_config, project_id, agent_id=None, **exp_fields):
        """Start a stress test of ``test_run_config`` (``run_name``,
        ``model_id``, ``data_info`` with ``ref_dataset_id`` and
        ``eval_dataset_id``, optional ``categories``, ``test_suite_config``,
        ``run_time_info``; see docs/tests.md) in a project and return its
        ``Job``. The config is checked at once: a bad one is a
        ``ConfigError`` naming the key (unknown tests and categories list
        the valid ones), a model or dataset not in the project a
        ``NotFoundError``; both are ``ValueError`` subclasses.

        assay runs every stress test on the platform's own workers: there
        are no agents, so ``agent_id`` must be None, and there are no
        experimental fields (any is a ``ConfigError`` naming it)."""
        if agent_id is not None:
            raise ConfigError("agent_id: agents are not supported by assay (stress tests run "
                              "on the platform's own workers); pass agent_id=None, got %r"
                              % (agent_id,))
        if exp_fields:
            raise ConfigError("start_stress_test() takes no experimental fields in assay; got "
                              "%s" % ", ".join(sorted(exp_fields)))
        record = _core.assay_client_start_stress_test(self._handle, project_id, test_run_config)
        return Job(self, record)

    def get_test_run(self, test_run_id):
        """The finished test run with this id (a ``TestRun``);
        ``NotFoundError`` (a ``ValueError``) if there is none."""
        return TestRun(self, _core.assay_client_get_test_run(self._handle, test_run_id))

    def get_job(self, job_id):
        """The job with this id; ``NotFoundError`` if there is none."""
        return Job(self, _core.assay_client_get_job(self._handle, job_id))

    # --- administration and platform -------------------------------------------

    def rotate_secret_key(self):
        """Re-encrypt every stored secret under a new master key
        (organisation admins). Returns ``{key_id, secrets_resealed,
        compacted}``; ``compacted`` is False when a reader kept the old
        ciphertexts in the WAL for now (they leave at the next write)."""
        return _core.assay_client_rotate_secret_key(self._handle)

    def platform_info(self):
        """The platform's identity: version, api_version, user and workspace."""
        return _core.assay_client_platform_info(self._handle)

    def request(self, method, path, body=None):
        """Send one raw REST request and return the decoded answer.

        ``path`` is under ``/v1`` (e.g. ``"/v1/projects"``). ``body`` may be a
        dict or list (sent as JSON), text or bytes (sent as is), or None. The
        router's errors are raised typed, as for the other methods.
        """
        if body is not None and not isinstance(body, (str, bytes)):
            body = _core.assay_value_dump(body, 0)
        return _core.assay_client_request(self._handle, method, path, body)

    def _base_url(self):
        """The platform's URL as the C client builds it (scheme added when
        missing, trailing slashes removed), or None for the embedded one."""
        if not self._domain:
            return None
        base = self._domain
        if "://" not in base:
            base = ("http://" if self._disable_tls else "https://") + base
        return base.rstrip("/")

    # --- lifetime ----------------------------------------------------------

    def close(self):
        """Release the client. Calls after this fail with the core's error."""
        self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __repr__(self):
        if self._domain is None:
            where = "embedded" if self._home is None else "embedded, home=%r" % str(self._home)
        else:
            where = "domain=%r" % self._domain
        state = "" if self._handle is not None else ", closed"
        return "Client(%s%s)" % (where, state)
