"""``Project``: a project of the platform, as returned by ``Client``."""

__all__ = ["Project"]


class Project:
    """A project: a named container for datasets, models and test runs.

    ``info`` is the full record the platform answered (``project_id``,
    ``workspace_id``, ``name``, ``description``, ``model_task``, ``use_case``,
    ``ethical_consideration``, ``profiling_config``, ``general_access_role``,
    ``run_time_info``, ``owner_id``, ``created_at``). Two ``Project`` objects
    are equal when they have the same ``project_id``.
    """

    __slots__ = ("_client", "_info")

    def __init__(self, client, info):
        self._client = client
        self._info = info

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

    @property
    def info(self):
        """The project's record as a dict."""
        return self._info

    def __repr__(self):
        return "Project(project_id=%r, name=%r)" % (self.project_id, self.name)

    def __eq__(self, other):
        if not isinstance(other, Project):
            return NotImplemented
        return self.project_id == other.project_id

    def __hash__(self):
        return hash(self.project_id)
