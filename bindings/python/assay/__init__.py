"""assay: stress testing and continuous testing of machine-learning models.

The Python API of the assay platform, over its C core (the private
extension module ``assay._core``)::

    import assay
    client = assay.Client()                  # embedded platform in $ASSAY_HOME
    project = client.create_project("Fraud", "card fraud model",
                                    "MODEL_TASK_BINARY_CLASSIFICATION")
    remote = assay.Client("http://127.0.0.1:8080", api_key=token)   # an assayd

Errors are subclasses of ``assay.Error`` generated from the core's error
table (``assay.NotFoundError``, ``assay.ConfigError``, ...).
"""

from . import _core
from .errors import *  # noqa: F401,F403  (one class per row of the error table)
from .errors import __all__ as _error_names
from .client import Client
from .job import Job
from .project import Project
from .test_run import TestBatch, TestRun

__version__ = _core.assay_version()
"""Version of the loaded C library."""

__all__ = ["Client", "Job", "Project", "TestBatch", "TestRun",
           "__version__"] + list(_error_names)
