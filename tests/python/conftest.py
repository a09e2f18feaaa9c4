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


# --- issue 3: people, tokens and integrations --------------------------------

import hashlib  # noqa: E402
import itertools  # noqa: E402
import sqlite3  # noqa: E402
import time  # noqa: E402

_world_counter = itertools.count(1)


def world_name(prefix):
    """A name unique in this test run (across tests sharing one platform)."""
    return "%s-%d-%d" % (prefix, os.getpid(), next(_world_counter))


@pytest.fixture(scope="module", params=["embedded", "assayd"])
def module_platform(request, tmp_path_factory):
    """Like `platform`, but one per test module (and kind): for tests that
    keep to their own workspaces, users and integrations."""
    home = tmp_path_factory.mktemp("module-platform") / "home"
    if request.param == "embedded":
        yield Embedded(home)
    else:
        server = Server(home)
        yield server
        assert server.stop() == 0, server.stderr


def expire_token(home, token, seconds_ago=3600):
    """Make a minted token expired: the API cannot mint one (1 day is the
    minimum), so its row's expires_at is moved into the past with sqlite3."""
    token_hash = hashlib.blake2b(token.encode(), digest_size=32).digest()
    db = sqlite3.connect(str(Path(home) / "assay.db"), timeout=30)
    try:
        with db:
            cur = db.execute("UPDATE api_tokens SET expires_at = ? WHERE token_hash = ?",
                             (int(time.time()) - seconds_ago, token_hash))
        assert cur.rowcount == 1, "no api_tokens row for the token to expire"
    finally:
        db.close()


class People:
    """A small organisation on a platform, built by its admin (org admin):

    - workspace ``ws`` (the admin created it, so is its admin too) with
      users ``ws_admin`` (WORKSPACE_ROLE_ADMIN), ``member``
      (WORKSPACE_ROLE_MEMBER), ``viewer`` (WORKSPACE_ROLE_VIEWER) and
      ``victim`` (WORKSPACE_ROLE_MEMBER; a target for token operations);
    - workspace ``ws2`` with ``outsider`` (WORKSPACE_ROLE_MEMBER);
    - a token for each in its workspace; plus ``expired`` (a token of
      ``member`` whose expiry was moved into the past) and ``revoked`` (a
      token of ``member``, revoked by the admin).

    ``users[name]`` is the user record, ``tokens[caller]`` the token text,
    ``token_ids[caller]`` its id, ``client(caller)`` a Client acting as
    that caller: "org_admin" (the platform's admin client), "ws_admin",
    "member", "viewer", "victim", "outsider", "expired" or "revoked".

    Test modules get it through the fixtures below (``people``,
    ``shared_people``, ``make_people``), never by importing conftest (whose
    module name tests/e2e shares).
    """

    ROLES = {"ws_admin": "WORKSPACE_ROLE_ADMIN", "member": "WORKSPACE_ROLE_MEMBER",
             "viewer": "WORKSPACE_ROLE_VIEWER", "victim": "WORKSPACE_ROLE_MEMBER"}

    def __init__(self, platform):
        self.platform = platform
        self._clients = []
        self.admin = self._open()
        self.admin_user_id = self.admin.platform_info()["user_id"]
        self.ws = self.admin.create_workspace(world_name("ws"))["workspace_id"]
        self.ws2 = self.admin.create_workspace(world_name("ws2"))["workspace_id"]
        self.users, self.tokens, self.token_ids = {}, {}, {}
        for name, role in self.ROLES.items():
            self.users[name] = self.new_user(name, role)
            self.tokens[name], self.token_ids[name] = self.mint(name)
        self.users["outsider"] = self.new_user("outsider", "WORKSPACE_ROLE_MEMBER", self.ws2)
        self.tokens["outsider"], self.token_ids["outsider"] = self.mint("outsider", self.ws2)
        self.tokens["expired"], self.token_ids["expired"] = self.mint("member", days=1)
        expire_token(platform.home, self.tokens["expired"])
        self.tokens["revoked"], self.token_ids["revoked"] = self.mint("member")
        self.admin.revoke_api_token(self.token_ids["revoked"])
        self._by_caller = {"org_admin": self.admin}

    def _open(self, **kwargs):
        c = self.platform.client(**kwargs)
        self._clients.append(c)
        return c

    def user_id(self, name):
        return self.users[name]["user_id"]

    def new_user(self, prefix, role=None, workspace_id=None):
        """A new user (as the admin), added to `workspace_id` (default ws)
        with `role` unless role is None; returns the user record."""
        user = self.admin.create_user(world_name(prefix), "User " + prefix)
        if role is not None:
            self.admin.add_workspace_member(workspace_id or self.ws, user["user_id"], role)
        return user

    def mint(self, name_or_user_id, workspace_id=None, days=None):
        """A new token (as the admin) for the user `name_or_user_id` (a key
        of `users` or a user id) in `workspace_id` (default ws): (token, id)."""
        user_id = self.users[name_or_user_id]["user_id"] \
            if name_or_user_id in self.users else name_or_user_id
        body = {"name": world_name("token"), "workspace_id": workspace_id or self.ws,
                "user_id": user_id}
        if days is not None:
            body["expires_in_days"] = days
        record = self.admin.request("POST", "/v1/api-tokens", body)
        return record["token"], record["id"]

    def client(self, caller):
        """A Client acting as `caller` (one of CALLERS), opened once."""
        if caller not in self._by_caller:
            self._by_caller[caller] = self._open(api_key=self.tokens[caller])
        return self._by_caller[caller]

    def client_for_token(self, token):
        return self._open(api_key=token)

    def close(self):
        for c in self._clients:
            c.close()


@pytest.fixture
def people(module_platform):
    """A fresh People world (see People) on this module's platform."""
    world = People(module_platform)
    yield world
    world.close()


@pytest.fixture
def make_people():
    """make_people(platform) -> a new People world on that platform (e.g.
    the function-scoped `platform`, for tests that look at all it holds)."""
    worlds = []

    def make(platform):
        worlds.append(People(platform))
        return worlds[-1]

    yield make
    for world in worlds:
        world.close()


@pytest.fixture(scope="module")
def shared_people(module_platform):
    """One People world per module and platform kind, for tests that only
    read it or change things they created themselves (the matrix)."""
    world = People(module_platform)
    yield world
    world.close()
