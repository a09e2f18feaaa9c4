"""pytest fixtures for the Python module: real platforms, no mocks.

Every test that takes ``client`` (or ``platform``) runs twice: against the
embedded platform (``Client(home=tmp_path)``) and against a real ``assayd``
started on a free loopback port with its own home. ``ASSAY_BUILD_DIR``
(default: ``build/`` of this checkout) names the build whose ``assayd``, ``assay`` CLI
and ``python/assay`` package are used; an ``assay`` package found through
PYTHONPATH wins over the build's (one installed in site-packages does not).
"""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))
from assayd_process import ASSAY as ASSAY_CLI  # noqa: E402
from assayd_process import BUILD_DIR, Assayd  # noqa: E402

PYTHON_DIR = BUILD_DIR / "python"

_pythonpath = os.environ.get("PYTHONPATH", "").split(os.pathsep)
if not any(Path(p, "assay", "__init__.py").exists() for p in _pythonpath if p):
    sys.path.insert(0, str(PYTHON_DIR))

try:
    import assay  # noqa: E402
except ImportError as exc:
    raise ImportError("cannot import assay (%s): build it with `ninja -C %s` or set "
                      "ASSAY_BUILD_DIR / PYTHONPATH" % (exc, BUILD_DIR)) from exc

def child_env():
    """Environment for a child Python process that must import the same assay."""
    env = dict(os.environ)
    package_root = str(Path(assay.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return env


class Server(Assayd):
    """A real assayd (tests/support/assayd_process.py) with a client factory."""

    kind = "assayd"

    def client(self, api_key=None, **kwargs):
        return assay.Client(self.url, api_key=self.token if api_key is None else api_key,
                            **kwargs)


class Embedded:
    """The embedded platform of a temporary home."""

    kind = "embedded"

    def __init__(self, home):
        self.home = Path(home)

    def client(self, **kwargs):
        return assay.Client(home=self.home, **kwargs)


@pytest.fixture
def assayd(tmp_path):
    """A running assayd (its own home); stopped with SIGTERM, exit code 0."""
    server = Server(tmp_path / "server-home")
    yield server
    assert server.stop() == 0


@pytest.fixture
def start_assayd():
    """start_assayd(home) -> a running Assayd on that home; all are stopped
    (SIGTERM, exit code 0) after the test."""
    started = []

    def start(home):
        server = Server(home)
        started.append(server)
        return server

    yield start
    codes = [server.stop() for server in started if server.running()]
    assert codes == [0] * len(codes)


@pytest.fixture(params=["embedded", "assayd"])
def platform(request, tmp_path):
    """One platform of each kind: .kind, .home and .client(**kwargs)."""
    if request.param == "embedded":
        yield Embedded(tmp_path / "home")
    else:
        yield request.getfixturevalue("assayd")


@pytest.fixture
def client(platform):
    """A Client of `platform`, closed after the test."""
    with platform.client() as c:
        yield c


@pytest.fixture
def python_env():
    """Environment for a child Python process that imports the same assay."""
    return child_env()


@pytest.fixture
def assay_cli():
    """Path of the `assay` CLI of the build (a test needing it fails without it)."""
    if not ASSAY_CLI.exists():
        pytest.fail("the assay CLI is not built at %s" % ASSAY_CLI)
    return ASSAY_CLI


@pytest.fixture
def unique():
    """A name no other test uses: unique("fraud") -> "fraud-<n>"."""
    counter = iter(range(1, 1 << 30))
    return lambda prefix="p": "%s-%d-%d" % (prefix, os.getpid(), next(counter))
