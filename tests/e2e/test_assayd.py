"""End-to-end tests of the real ``assayd`` binary and the ``assay`` CLI.

Each test starts ``$ASSAY_BUILD_DIR/core/tools/assayd`` (default ``build/``
of this checkout) on a free loopback port with a temporary home, reads the
port from its first stdout line, and talks to it with plain HTTP (urllib)
and with the ``assay`` CLI: the documented error bodies, tokens, clean
shutdown on SIGTERM/SIGINT, and several processes sharing one home.
"""

import http.client
import json
import os
import re
import signal
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from assayd_process import ASSAY, ASSAYD, Assayd

TASK = "MODEL_TASK_BINARY_CLASSIFICATION"


@pytest.fixture
def daemon_factory(tmp_path):
    started = []

    def start(home=None, *args, command=None):
        d = Assayd(home or tmp_path / "home", *args, command=command)
        started.append(d)
        return d

    yield start
    for d in started:
        if d.proc.poll() is None:
            d.stop(signal.SIGKILL)


@pytest.fixture
def daemon(daemon_factory):
    return daemon_factory()


def request(d, method, path, body=None, token=True, headers=None):
    """One HTTP request; returns (status, headers, decoded JSON or None)."""
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    if token is True:
        token = d.token
    if token:
        hdrs["Authorization"] = "Bearer " + token
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    req = urllib.request.Request(d.url + path, data=body, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, rheaders, raw = resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        status, rheaders, raw = e.code, e.headers, e.read()
    return status, rheaders, json.loads(raw) if raw else None


def assert_error(status, headers, body, want_status, name, code):
    assert status == want_status
    assert headers["Content-Type"] == "application/json"
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == {"code", "name", "message", "status"}
    assert err["status"] == want_status
    assert err["name"] == name
    assert err["code"] == code
    assert isinstance(err["message"], str) and err["message"]


def cli(*args, url=None, token=None, home=None, env=None):
    cmd = [str(ASSAY)]
    if url:
        cmd += ["--url", url]
    if token:
        cmd += ["--token", token]
    if home:
        cmd += ["--home", str(home)]
    full_env = {k: v for k, v in os.environ.items() if k not in ("ASSAY_URL", "ASSAY_API_KEY")}
    full_env.update(env or {})
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=60, env=full_env)


def port_closed(port):
    with socket.socket() as s:
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
    return False


# --- the daemon and its home -------------------------------------------------


def test_admin_token_is_private(daemon):
    mode = stat.S_IMODE(os.stat(daemon.home / "admin.token").st_mode)
    assert mode == 0o600
    assert daemon.token


def test_version_and_bad_options(tmp_path):
    out = subprocess.run([str(ASSAYD), "--version"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.startswith("assayd ")
    for bad in (["--bogus"], ["--listen"], ["--threads", "zero"], ["--max-body", "-1"],
                ["--max-body", "1073741825"], ["--max-body", "18446744073709551615"],
                ["--tls-cert", "x.pem"]):
        out = subprocess.run([str(ASSAYD), "--home", str(tmp_path / "h"), *bad],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 2, bad
        assert out.stderr.startswith("assayd: ") and bad[0] in out.stderr, (bad, out.stderr)
    # An address that cannot be served is a runtime error (1), not usage.
    out = subprocess.run([str(ASSAYD), "--home", str(tmp_path / "h"), "--listen", "127.0.0.1:x"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1
    assert "ConfigError" in out.stderr


# --- raw HTTP: the documented answers ----------------------------------------


def test_health_needs_no_token(daemon):
    status, headers, body = request(daemon, "GET", "/v1/health", token=None)
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert body["status"] == "ok" and body["version"]


def test_missing_and_wrong_token_are_401(daemon):
    assert_error(*request(daemon, "GET", "/v1/projects", token=None), 401, "AuthError", -4)
    status, headers, body = request(daemon, "GET", "/v1/projects", token="not-a-real-token-123")
    assert_error(status, headers, body, 401, "AuthError", -4)
    assert "not-a-real-token-123" not in body["error"]["message"]
    assert_error(*request(daemon, "GET", "/v1/projects", token=None,
                          headers={"Authorization": "Basic Zm9vOmJhcg=="}),
                 401, "AuthError", -4)


def test_error_bodies(daemon):
    assert_error(*request(daemon, "GET", "/v1/no-such-route"), 404, "NotFoundError", -3)
    assert_error(*request(daemon, "GET", "/v1/projects/00000000-0000-0000-0000-000000000000"),
                 404, "NotFoundError", -3)
    status, headers, body = request(daemon, "PUT", "/v1/projects", {})
    assert_error(status, headers, body, 405, "MethodNotAllowedError", -9)
    allow = {m.strip() for m in headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allow
    assert_error(*request(daemon, "POST", "/v1/projects", b'{"name": "x", '),
                 400, "ConfigError", -2)
    assert_error(*request(daemon, "POST", "/v1/projects",
                          {"name": "x", "description": "", "model_task": "MODEL_TASK_NOPE"}),
                 400, "ConfigError", -2)


def test_body_limit(daemon_factory, tmp_path):
    d = daemon_factory(tmp_path / "small", "--max-body", "1024")
    big = {"name": "big", "description": "a" * 4096, "model_task": TASK}
    assert_error(*request(d, "POST", "/v1/projects", big), 413, "PayloadTooLargeError", -10)
    # Far larger than the limit: still a clean 413 for a client that sends
    # its whole body before reading.
    huge = b'{"name": "' + b"a" * (3 << 20) + b'"}'
    assert_error(*request(d, "POST", "/v1/projects", huge), 413, "PayloadTooLargeError", -10)
    # Chunked, without a Content-Length.
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
    conn.request("POST", "/v1/projects", body=iter([b"{", b" " * 3000, b"}"]),
                 headers={"Authorization": "Bearer " + d.token,
                          "Content-Type": "application/json"},
                 encode_chunked=True)
    resp = conn.getresponse()
    body = json.loads(resp.read())
    assert resp.status == 413 and body["error"]["name"] == "PayloadTooLargeError"
    conn.close()
    # Under the limit works.
    status, _, body = request(d, "POST", "/v1/projects",
                              {"name": "ok", "description": "", "model_task": TASK})
    assert status == 201 and body["name"] == "ok"


def test_project_round_trip_raw(daemon):
    status, _, rec = request(daemon, "POST", "/v1/projects",
                             {"name": "raw", "description": "d", "model_task": TASK})
    assert status == 201
    pid = rec["project_id"]
    status, _, got = request(daemon, "GET", "/v1/projects/" + pid)
    assert status == 200 and got["name"] == "raw"
    status, headers, body = request(daemon, "DELETE", "/v1/projects/" + pid)
    assert status == 204 and body is None
    assert_error(*request(daemon, "GET", "/v1/projects/" + pid), 404, "NotFoundError", -3)


# --- the CLI -----------------------------------------------------------------


def test_cli_projects_and_tokens(daemon):
    remote = dict(url=daemon.url, token=daemon.token)
    out = cli("project", "create", "cli project", "--description", "from the CLI",
              "--model-task", TASK, **remote)
    assert out.returncode == 0, out.stderr
    pid = out.stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", pid)

    out = cli("project", "list", **remote)
    assert out.returncode == 0, out.stderr
    assert "%s\tcli project\t%s" % (pid, TASK) in out.stdout.splitlines()

    out = cli("--json", "project", "get", pid, **remote)
    assert out.returncode == 0 and json.loads(out.stdout)["description"] == "from the CLI"

    out = cli("token", "create", "--name", "e2e", "--expires-in-days", "2", **remote)
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert token and "\n" not in token
    status, _, body = request(daemon, "GET", "/v1/projects", token=token)
    assert status == 200 and any(p["project_id"] == pid for p in body["projects"])
    # The environment works as well as the options.
    out = cli("project", "list", env={"ASSAY_URL": daemon.url, "ASSAY_API_KEY": token})
    assert out.returncode == 0 and pid in out.stdout

    out = cli("project", "delete", pid, **remote)
    assert out.returncode == 0, out.stderr
    out = cli("project", "list", **remote)
    assert pid not in out.stdout
    # --force travels as a query string.
    out = cli("project", "create", "forced", "--model-task", TASK, **remote)
    assert out.returncode == 0, out.stderr
    out = cli("project", "delete", out.stdout.strip(), "--force", **remote)
    assert out.returncode == 0, out.stderr


def test_cli_errors(daemon):
    remote = dict(url=daemon.url, token=daemon.token)
    for bad in (["bogus"], ["project"], ["project", "frobnicate"], ["project", "create"],
                ["project", "create", "x"], ["project", "get"], ["--nope", "project", "list"],
                ["token", "create", "--expires-in-days", "soon"]):
        out = cli(*bad, **remote)
        assert out.returncode == 2, (bad, out.stderr)
        assert "usage:" in out.stderr
    out = cli("project", "get", "00000000-0000-0000-0000-000000000000", **remote)
    assert out.returncode == 1
    assert out.stderr.startswith("assay: NotFoundError: ")
    out = cli("project", "list", url=daemon.url, token="wrong-token-456")
    assert out.returncode == 1
    assert out.stderr.startswith("assay: AuthError: ")
    assert "wrong-token-456" not in out.stderr
    out = cli("project", "create", "x", "--model-task", "MODEL_TASK_NOPE", **remote)
    assert out.returncode == 1 and out.stderr.startswith("assay: ConfigError: ")
    # port 1: nobody listens there
    out = cli("project", "list", url="http://127.0.0.1:1", token="t")
    assert out.returncode == 1 and out.stderr.startswith("assay: TransportError: ")


def test_cli_version(tmp_path):
    out = cli("version")
    assert out.returncode == 0 and out.stdout.startswith("assay ")


# --- shutdown ----------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_shutdown(daemon, sig):
    assert request(daemon, "GET", "/v1/health", token=None)[0] == 200
    t0 = time.monotonic()
    assert daemon.stop(sig) == 0
    assert time.monotonic() - t0 < 5
    assert port_closed(daemon.port)


def test_assay_serve_is_assayd(daemon_factory, tmp_path):
    out = subprocess.run([str(ASSAY), "serve", "--help"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0 and "--listen" in out.stdout
    out = subprocess.run([str(ASSAY), "serve", "--bogus"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 2
    d = daemon_factory(tmp_path / "served", command=[str(ASSAY), "serve"])
    assert request(d, "GET", "/v1/health", token=None)[0] == 200
    assert request(d, "GET", "/v1/projects")[0] == 200
    assert d.stop() == 0


def test_non_loopback_warns(daemon_factory, tmp_path):
    d = daemon_factory(tmp_path / "wide", "--listen", "0.0.0.0:0")
    assert d.stop() == 0
    assert "not a loopback address" in d.stderr


# --- several processes, one home ---------------------------------------------


def test_processes_share_a_home(daemon_factory, tmp_path):
    home = tmp_path / "shared"
    a = daemon_factory(home)
    b = daemon_factory(home)
    assert a.port != b.port and a.token == b.token
    status, _, _ = request(a, "POST", "/v1/projects",
                           {"name": "from a", "description": "", "model_task": TASK})
    assert status == 201
    out = cli("project", "create", "from b", "--model-task", TASK, url=b.url, token=b.token)
    assert out.returncode == 0, out.stderr
    out = cli("project", "create", "embedded", "--model-task", TASK, home=home)
    assert out.returncode == 0, out.stderr

    names = {"from a", "from b", "embedded"}
    for d in (a, b):
        status, _, body = request(d, "GET", "/v1/projects")
        assert status == 200
        assert names <= {p["name"] for p in body["projects"]}
    out = cli("project", "list", home=home)
    assert names <= {line.split("\t")[1] for line in out.stdout.splitlines()}
    assert a.stop() == 0 and b.stop() == 0


def test_cli_token_file(daemon, tmp_path):
    """--token-file keeps the token out of the process list."""
    out = cli("--url", daemon.url, "--token-file", str(daemon.home / "admin.token"),
              "project", "create", "from-file", "--model-task", TASK)
    assert out.returncode == 0, out.stderr
    out = cli("--url", daemon.url, "--token-file", str(tmp_path / "missing"), "project", "list")
    assert out.returncode == 2 and "cannot read the token file" in out.stderr
    (tmp_path / "wrong").write_text("asy_wrong\n")
    out = cli("--url", daemon.url, "--token-file", str(tmp_path / "wrong"), "project", "list")
    assert out.returncode == 1 and out.stderr.startswith("assay: AuthError: ")
    assert "asy_wrong" not in out.stderr
