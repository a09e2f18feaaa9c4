"""``Client``: the entry point of assay's Python API.

A thin layer over the extension module ``assay._core``: it turns keyword
arguments into the option and record dicts the C core takes and wraps the
records it returns. Every check of an argument's value happens in the core,
which raises the typed errors of ``assay.errors``.
"""


from . import _core
from .project import Project

__all__ = ["Client"]


def _without_none(**fields):
    return {key: value for key, value in fields.items() if value is not None}


class Client:
    """A connection to an assay platform.

    With no ``domain``, the client runs the embedded platform of ``home``
    (default ``$ASSAY_HOME``, else ``~/.assay``) in this process, acting as
    the home's administrator. With a ``domain`` (``"http://host:port"`` or
    ``"host:port"``) it talks to an ``assayd`` server, authenticated by
    ``api_key``. The remaining arguments are those of rime-sdk's ``Client``:
    ``channel_timeout`` in seconds for one request, ``disable_tls`` to use
    plain HTTP for a domain without a scheme, and the TLS files and names.

    A client may be shared by threads; the GIL is released while it waits.
    Use it as a context manager, or call ``close()``, to release it early.
    """

    def __init__(self, domain=None, api_key="", channel_timeout=180.0, disable_tls=False,
                 ssl_ca_cert=None, cert_file=None, key_file=None, assert_hostname=None,
                 *, home=None):
        self._domain = domain
        self._home = home
        options = _without_none(
            domain=domain, api_key=api_key, channel_timeout=channel_timeout,
            disable_tls=disable_tls, ssl_ca_cert=ssl_ca_cert, cert_file=cert_file,
            key_file=key_file, assert_hostname=assert_hostname,
            home=None if home is None else str(home))
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

    # --- tokens and platform ---------------------------------------------

    def create_api_token(self, workspace_id=None, name=None, user_id=None, expires_in_days=270):
        """Create an API token and return its secret (shown only now)."""
        record = _core.assay_client_create_api_token(self._handle, workspace_id, name, user_id,
                                                     expires_in_days)
        return record["token"]

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
