"""The runner's sandbox through the public API, on the embedded platform and
on a real assayd (every test runs on both, see conftest.py): a custom loader
(any workspace member's Python) can neither read nor write the platform's
files (secret.key, admin.token, assay.db, another workspace's files, the
cache), nor the interpreter's site-packages, nor signal or read the server;
what a loader needs (its folder, a temporary folder, pandas / numpy /
pyarrow, the network) works; a process it double-forks away with setsid()
dies with the run; a forked child's memory counts toward the limit; it
gets no ASSAY_* variable and nothing outside the environment allowlist; and
without Landlock (forced through ASSAY_TEST_RUNNER_SANDBOX) custom loaders
are refused unless ASSAY_ALLOW_UNSANDBOXED_LOADERS=1."""

import glob
import json
import os
import re
import socket
import textwrap
import time

import pytest

ALLOWED_ENV = {"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM", "PYTHONPATH",
               "PYTHONIOENCODING", "VIRTUAL_ENV", "CONDA_PREFIX", "SSL_CERT_FILE",
               "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "http_proxy",
               "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY",
               "all_proxy", "ALL_PROXY"}


@pytest.fixture(autouse=True)
def platform_environment(monkeypatch):
    """Variables the platform has (set before the platform starts) that must
    not reach a loader, and one that must."""
    monkeypatch.setenv("ASSAY_SANDBOX_PROBE", "assay-variable-value")
    monkeypatch.setenv("H7_NOT_ALLOWLISTED", "not-allowlisted-value")
    monkeypatch.setenv("LC_H7_PROBE", "allowlisted-value")


def write(tmp_path, name, source):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def loading(location, function, **kwargs):
    conn = {"path": location, "load_func_name": function}
    if kwargs:
        conn["loader_kwargs"] = kwargs
    return {"connection_info": {"data_loading": conn}, "data_params": {"label_col": "label"}}


def server_pid(platform):
    return platform.proc.pid if platform.kind == "assayd" else os.getpid()


# Tries what a hostile loader would and what an honest one needs; the
# results come back in its error: "ok" or "denied:<errno name>" each.
PROBE = """
    import errno, json, os, signal, socket, sysconfig, tempfile
    import numpy, pandas, pyarrow

    def _try(fn):
        try:
            fn()
            return "ok"
        except OSError as e:
            return "denied:" + errno.errorcode.get(e.errno, str(e.errno))

    def _read(path):
        with open(path, "rb") as fh:
            fh.read(1)

    def _write(path):
        with open(path, "w") as fh:
            fh.write("x")

    def _tmp():
        fd, path = tempfile.mkstemp()
        os.write(fd, b"x")
        os.close(fd)
        os.unlink(path)

    def _connect(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"hi from the loader")

    def probe(home, other_file, cache_file, server, port):
        j = os.path.join
        r = {
            "read_key": _try(lambda: _read(j(home, "secret.key"))),
            "read_db": _try(lambda: _read(j(home, "assay.db"))),
            "read_other_workspace": _try(lambda: _read(other_file)),
            "read_cache": _try(lambda: _read(cache_file)),
            "list_home": _try(lambda: os.listdir(home)),
            "list_files": _try(lambda: os.listdir(j(home, "files"))),
            "write_home": _try(lambda: _write(j(home, "planted.txt"))),
            "write_db": _try(lambda: _write(j(home, "assay.db"))),
            "write_site_packages": _try(lambda: _write(
                j(sysconfig.get_paths()["purelib"], "planted_by_loader.py"))),
            "write_own_folder": _try(lambda: _write("planted.txt")),
            "read_own_folder": _try(lambda: _read("neighbour.txt")),
            "tmp_file": _try(_tmp),
            "connect": _try(lambda: _connect(port)),
            "signal_server": _try(lambda: os.kill(server, signal.SIGCONT)),
            "server_mem": _try(lambda: _read("/proc/%d/mem" % server)),
            "server_environ": _try(lambda: _read("/proc/%d/environ" % server)),
            "env": sorted(os.environ),
            "lc_probe": os.environ.get("LC_H7_PROBE"),
        }
        if os.path.exists(j(home, "admin.token")):
            r["read_token"] = _try(lambda: _read(j(home, "admin.token")))
        raise RuntimeError("PROBE" + json.dumps(r) + "END")
"""


def probe_results(dataset):
    match = re.search(r"PROBE(\{.*?\})END", dataset["validity_message"], re.S)
    assert match, dataset["validity_message"]
    return json.loads(match.group(1))


def other_workspace_file_and_cache(platform, client, tmp_path):
    """A file of another workspace, uploaded by a member of it, and a cache
    file of a dataset of it: their paths under the home."""
    admin_id = client.platform_info()["user_id"]
    other = client.create_workspace("other-%d" % os.getpid())["workspace_id"]
    token = client.request("POST", "/v1/api-tokens",
                           {"name": "other", "workspace_id": other, "user_id": admin_id})["token"]
    with platform.client(api_key=token) as c2:
        csv = write(tmp_path, "private.csv", "a,label\n1,0\n2,1\n")
        location = c2.upload_file(csv, upload_path="confidential")
        project = c2.create_project("other", "x", "MODEL_TASK_BINARY_CLASSIFICATION")
        d = project.get_dataset(project.register_dataset("private", {
            "connection_info": {"data_file": {"path": location}},
            "data_params": {"label_col": "label"}}))
        assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
    home = str(platform.home.resolve())
    files = glob.glob(home + "/files/*/confidential/private.csv")
    caches = [p for p in glob.glob(home + "/cache/**", recursive=True) if os.path.isfile(p)]
    assert len(files) == 1 and caches, (files, caches)
    return files[0], caches[0]


def test_loader_cannot_reach_the_platform_files_or_the_server(platform, client, tmp_path):
    other_file, cache_file = other_workspace_file_and_cache(platform, client, tmp_path)
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "neighbour.txt").write_text("hello\n")
    write(folder, "probe.py", PROBE)
    location = client.upload_directory(folder)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    home = str(platform.home.resolve())
    project = client.create_project("probe", "x", "MODEL_TASK_BINARY_CLASSIFICATION")
    d = project.get_dataset(project.register_dataset("probe", loading(
        location + "/probe.py", "probe", home=home, other_file=other_file,
        cache_file=cache_file, server=server_pid(platform), port=listener.getsockname()[1])))
    r = probe_results(d)
    print("\n[%s] %s" % (platform.kind, r))
    for what in ("read_key", "read_db", "read_other_workspace", "read_cache", "list_home",
                 "list_files", "write_home", "write_db", "write_site_packages",
                 "write_own_folder"):
        assert r[what] == "denied:EACCES", (what, r[what])
    if platform.kind == "assayd":
        assert r["read_token"] == "denied:EACCES"
    for what in ("signal_server", "server_mem", "server_environ"):
        assert r[what].startswith("denied:"), (what, r[what])
    for what in ("read_own_folder", "tmp_file", "connect"):
        assert r[what] == "ok", (what, r[what])
    conn, _ = listener.accept()
    assert conn.recv(64) == b"hi from the loader"
    conn.close()
    listener.close()
    # the environment: allowlisted names only
    assert not [n for n in r["env"] if n not in ALLOWED_ENV and not n.startswith("LC_")], r["env"]
    assert r["lc_probe"] == "allowlisted-value"
    # nothing planted, nothing changed
    assert not (platform.home / "planted.txt").exists()
    assert (platform.home / "assay.db").read_bytes()[:16] == b"SQLite format 3\x00"
    assert (platform.home / "secret.key").read_text().strip()
    # the server is alive and answers
    assert client.platform_info()["user_id"]
    if platform.kind == "assayd":
        assert platform.running()


ESCAPE = """
    import os, time
    import pandas as pd

    def _escape(then):
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.closerange(0, 64)
                then()
            os._exit(0)

    def _seen(marker):
        for p in os.listdir("/proc"):
            try:
                if marker in open("/proc/%s/cmdline" % p).read():
                    return True
            except (OSError, ValueError):
                pass
        return False

    def sleeper(marker):
        _escape(lambda: os.execv("/bin/sleep", ["sleep", marker]))
        for _ in range(100):
            if _seen(marker):
                break
            time.sleep(0.05)
        if not _seen(marker):
            raise RuntimeError("the escaped process never ran")
        return pd.DataFrame({"a": [1, 2], "label": [0, 1]})

    def hog():
        def grab():
            block = bytearray(400 << 20)
            for i in range(0, len(block), 4096):
                block[i] = 1
            time.sleep(60)
        _escape(grab)
        time.sleep(30)
"""


def alive_with_arg(marker):
    """Live (not zombie) processes of the machine with `marker` as an argument."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as fh:
                args = fh.read().split(b"\0")
            with open("/proc/%s/stat" % pid) as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in args and state != "Z":
            found.append(int(pid))
    return found


def wait_none_alive(marker, seconds=3):
    deadline = time.monotonic() + seconds
    while alive_with_arg(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive_with_arg(marker)


def limited_client(platform, tmp_path, memory_mb):
    if platform.kind == "assayd":
        server = platform.__class__(tmp_path / "limited-home", "--loader-memory-mb",
                                    str(memory_mb))
        return server.client(), server
    return platform.client(loader_memory_bytes=memory_mb << 20), None


def test_escaped_processes_die_with_the_run_and_count_toward_memory(platform, tmp_path):
    marker = "61.%d%d" % (os.getpid(), int(time.time() * 1000) % 100000)
    client, server = limited_client(platform, tmp_path, 256)
    try:
        location = client.upload_file(write(tmp_path, "escape.py", ESCAPE))
        project = client.create_project("escape", "x", "MODEL_TASK_BINARY_CLASSIFICATION")
        d = project.get_dataset(project.register_dataset(
            "sleeper", loading(location, "sleeper", marker=marker)))
        assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
        assert d["row_count"] == 2
        assert wait_none_alive(marker) == []
        started = time.monotonic()
        d = project.get_dataset(project.register_dataset("hog", loading(location, "hog")))
        assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
        assert "loader exceeded the memory limit of 256 MiB" in d["validity_message"]
        assert time.monotonic() - started < 20
    finally:
        client.close()
        if server:
            assert server.stop() == 0
    assert wait_none_alive(marker) == []


def client_with_env(platform, tmp_path, monkeypatch, name, env):
    """A client of a new platform of `platform`'s kind opened (or started)
    with `env` in its environment. Returns (client, server or None)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if platform.kind == "assayd":
        server = platform.__class__(tmp_path / (name + "-home"))
        return server.client(), server
    return platform.__class__(tmp_path / (name + "-home")).client(), None


NO_SANDBOX_NEEDED = """
    import pandas as pd

    def load(home):
        with open(home + "/secret.key") as fh:  # nothing holds it back
            fh.read()
        return pd.DataFrame({"a": [1, 2], "label": [0, 1]})
"""


def test_custom_loaders_are_refused_without_landlock_unless_allowed(platform, tmp_path,
                                                                    monkeypatch):
    env = {"ASSAY_TEST_RUNNER_SANDBOX": "no-landlock"}  # as on a kernel without Landlock
    client, server = client_with_env(platform, tmp_path, monkeypatch, "refuse", env)
    try:
        location = client.upload_file(write(tmp_path, "plain.py", NO_SANDBOX_NEEDED))
        project = client.create_project("refuse", "x", "MODEL_TASK_BINARY_CLASSIFICATION")
        home = str((tmp_path / "refuse-home").resolve())
        d = project.get_dataset(project.register_dataset("l", loading(location, "load",
                                                                      home=home)))
        assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
        assert d["validity_message"] == (
            "custom loaders need Landlock (Linux 5.13+) to keep them away from the platform's "
            "files; this kernel has none (set ASSAY_ALLOW_UNSANDBOXED_LOADERS=1 in the "
            "platform's environment to run them anyway)")
    finally:
        client.close()
        if server:
            assert server.stop() == 0

    env["ASSAY_ALLOW_UNSANDBOXED_LOADERS"] = "1"
    client, server = client_with_env(platform, tmp_path, monkeypatch, "allow", env)
    try:
        location = client.upload_file(write(tmp_path, "plain.py", NO_SANDBOX_NEEDED))
        project = client.create_project("allow", "x", "MODEL_TASK_BINARY_CLASSIFICATION")
        home = str((tmp_path / "allow-home").resolve())
        d = project.get_dataset(project.register_dataset("l", loading(location, "load",
                                                                      home=home)))
        assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
    finally:
        client.close()
        if server:
            assert server.stop() == 0


# A loader that writes its own "parts" and reports them on the result
# descriptor, as hostile code may (the runner's locals are found up the
# stack).
PART_REPORTER = """
    import json, os, sys

    def _find(name):
        f = sys._getframe(1)
        while f is not None and name not in f.f_locals:
            f = f.f_back
        return f.f_locals[name]

    def _report(names):
        os.write(_find("result_fd"), (json.dumps({"ok": True, "parts": names}) + "\\n").encode())
        os._exit(0)

    def sparse(gib):
        out = _find("req")["output_dir"]
        with open(os.path.join(out, "part-9999.acol"), "wb") as fh:
            fh.truncate(gib << 30)  # no disk, no memory: only a size
        _report(["part-9999.acol"])

    def secret_name(integration_dict):
        _report(["part-" + integration_dict["TOKEN"]])
"""


def peak_rss_mib(platform, server):
    """The platform process's peak resident set (MiB)."""
    pid = server.proc.pid if server else server_pid(platform)
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) >> 10
    raise AssertionError("no VmHWM")


def test_a_huge_sparse_part_is_refused_before_it_is_read(platform, tmp_path):
    client, server = limited_client(platform, tmp_path, 256)
    try:
        location = client.upload_file(write(tmp_path, "parts.py", PART_REPORTER))
        project = client.create_project("parts", "x", "MODEL_TASK_BINARY_CLASSIFICATION")
        before = peak_rss_mib(platform, server)
        started = time.monotonic()
        d = project.get_dataset(project.register_dataset("sparse", loading(location, "sparse",
                                                                           gib=3)))
        assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
        assert d["validity_message"] == (
            "columnar file part-9999.acol is not valid: 3221225472 bytes, more than the "
            "536870912 bytes allowed here")
        assert time.monotonic() - started < 20
        # the part was never read into the platform's memory (it was: +3 GiB)
        assert peak_rss_mib(platform, server) - before < 256
    finally:
        client.close()
        if server:
            assert server.stop() == 0


def test_a_secret_in_a_part_name_is_redacted(platform, client, tmp_path):
    secret = "Sx9-q7Zr!Kp4_vT2mW8yL"
    ws = client.platform_info()["workspace_id"]
    iid = client.create_integration(ws, "tok-%d" % os.getpid(), "INTEGRATION_TYPE_CUSTOM",
                                    [{"name": "TOKEN", "sensitivity": "workspace",
                                      "value": secret}])
    location = client.upload_file(write(tmp_path, "parts.py", PART_REPORTER))
    project = client.create_project("leak", "x", "MODEL_TASK_BINARY_CLASSIFICATION")
    d = project.get_dataset(project.register_dataset(
        "leak", loading(location, "secret_name"), integration_id=iid))
    assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
    assert d["validity_message"] == (
        "cannot open the columnar file part-[REDACTED]: No such file or directory")
    job = d["validation_job_id"]
    record = json.dumps(client.request("GET", "/v1/jobs/%s" % job))
    log = json.dumps(client.request("GET", "/v1/jobs/%s/log" % job))
    assert "part-[REDACTED]" in log
    for text in (json.dumps(d), record, log):
        assert secret not in text and "Sx9-q7Zr" not in text
