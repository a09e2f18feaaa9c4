"""HTTPS end to end: ``assayd --tls-cert/--tls-key`` with a certificate made
here by the ``openssl`` CLI, and the TLS options of ``Client(...)`` —
``ssl_ca_cert``, ``assert_hostname`` (a name, or ``False``), ``cert_file`` /
``key_file`` — from Python and from Lua (a real ``lua5.4`` child).

assayd never asks for a client certificate, so ``cert_file`` / ``key_file``
are checked against a test double instead: a TLS server in a thread of the
test that requires one."""

import os
import socket
import ssl
import subprocess
import sys
import threading
import time

import pytest
from assayd_process import BUILD_DIR, Assayd

sys.path.insert(0, str(BUILD_DIR / "python"))
import assay  # noqa: E402

NAME = "assay.test"  # the only name the server certificate carries


def make_cert(folder, name):
    key, cert = folder / (name + ".key"), folder / (name + ".pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:" + name,
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    cert, key = make_cert(folder, NAME)
    d = Assayd(folder / "home", "--tls-cert", str(cert), "--tls-key", str(key))
    d.url = "https://127.0.0.1:%d" % d.port
    d.cert, d.key = cert, key
    d.client_cert, d.client_key = make_cert(folder, "client")
    yield d
    assert d.stop() == 0


def test_python_trusts_the_given_ca_and_checks_the_name(tls):
    # trusted CA, name asserted: works
    ok = assay.Client(tls.url, api_key=tls.token, ssl_ca_cert=str(tls.cert),
                      assert_hostname=NAME)
    ok.create_project("over-tls", "", "MODEL_TASK_REGRESSION")
    assert [p.name for p in ok.list_projects()] == ["over-tls"]
    # trusted CA, hostname check skipped as rime-sdk's assert_hostname=False
    lax = assay.Client(tls.url, api_key=tls.token, ssl_ca_cert=str(tls.cert),
                       assert_hostname=False)
    assert len(lax.list_projects()) == 1


class ClientCertServer:
    """A test double for a server that requires a client certificate: TLS on
    127.0.0.1 (a free port) with the server certificate of ``tls``, trusting
    only ``tls.client_cert``. Each connection it accepts adds to ``seen``
    either ``{"cn": ..., "head": ...}`` (the client certificate's subject CN
    and the request head, up to the blank line), answered with
    ``{"projects": []}``, or ``{"error": ...}`` when the handshake or the
    exchange failed. Every socket has a timeout and the accept loop stops at
    ``stop()`` or after a deadline, so it cannot hang the test."""

    ANSWER_BODY = b'{"projects": []}'

    def __init__(self, tls, deadline_s=60.0):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(tls.cert), str(tls.key))
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=str(tls.client_cert))
        self._ctx = ctx
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self.seen = []
        self._seen_changed = threading.Condition()
        self._deadline = time.monotonic() + deadline_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        with self._listener:
            while not self._stopping.is_set() and time.monotonic() < self._deadline:
                try:
                    raw, _ = self._listener.accept()
                except socket.timeout:
                    continue
                raw.settimeout(10)
                outcome = self._answer(raw)
                with self._seen_changed:
                    self.seen.append(outcome)
                    self._seen_changed.notify_all()

    def _answer(self, raw):
        try:
            with self._ctx.wrap_socket(raw, server_side=True) as conn:  # the handshake
                subject = dict(rdn[0] for rdn in conn.getpeercert()["subject"])
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                body = self.ANSWER_BODY
                conn.sendall(b"HTTP/1.1 200 OK\r\n"
                             b"Content-Type: application/json\r\n"
                             b"Content-Length: %d\r\n"
                             b"Connection: close\r\n\r\n" % len(body) + body)
                return {"cn": subject.get("commonName"), "head": head.decode("latin-1")}
        except (ssl.SSLError, OSError) as e:
            return {"error": e}
        finally:
            raw.close()  # already detached after a handshake; harmless then

    def wait_seen(self, count, timeout=10):
        """``seen`` once it has ``count`` entries: the client may have its
        answer (or its error) before the double has recorded the exchange."""
        with self._seen_changed:
            self._seen_changed.wait_for(lambda: len(self.seen) >= count, timeout)
            return list(self.seen)

    def stop(self):
        self._stopping.set()
        self._thread.join(timeout=10)
        assert not self._thread.is_alive(), "the TLS test double did not stop"


def test_client_certificate_is_presented(tls):
    double = ClientCertServer(tls)
    try:
        url = "https://127.0.0.1:%d" % double.port
        with_cert = assay.Client(url, api_key="k", ssl_ca_cert=str(tls.cert),
                                 assert_hostname=NAME, cert_file=str(tls.client_cert),
                                 key_file=str(tls.client_key))
        assert with_cert.list_projects() == []
        seen = double.wait_seen(1)
        assert len(seen) == 1, seen
        seen = seen[0]
        assert "error" not in seen, seen
        assert seen["cn"] == "client"
        lines = seen["head"].split("\r\n")
        assert lines[0].startswith("GET /v1/projects "), lines[0]
        assert "Authorization: Bearer k" in lines[1:], lines

        # without a client certificate the double refuses the handshake
        without = assay.Client(url, api_key="k", ssl_ca_cert=str(tls.cert),
                               assert_hostname=NAME)
        with pytest.raises(assay.TransportError):
            without.list_projects()
        seen = double.wait_seen(2)
        assert len(seen) == 2, seen
        assert isinstance(seen[1].get("error"), ssl.SSLError), seen[1]
        assert "certificate" in str(seen[1]["error"]), seen[1]
    finally:
        double.stop()


def test_python_refuses_untrusted_or_misnamed_servers(tls):
    with pytest.raises(assay.TransportError):  # the CA is not trusted
        assay.Client(tls.url, api_key=tls.token).list_projects()
    with pytest.raises(assay.TransportError):  # the name is not 127.0.0.1
        assay.Client(tls.url, api_key=tls.token, ssl_ca_cert=str(tls.cert)).list_projects()
    with pytest.raises(assay.TransportError):  # plain HTTP to a TLS port
        assay.Client("http://127.0.0.1:%d" % tls.port, api_key=tls.token,
                     channel_timeout=5).list_projects()


def test_python_bad_tls_options_are_config_errors(tls):
    with pytest.raises(assay.ConfigError, match="together"):
        assay.Client(tls.url, api_key=tls.token, key_file=str(tls.client_key))
    with pytest.raises(assay.ConfigError, match="cannot read"):
        assay.Client(tls.url, api_key=tls.token, ssl_ca_cert="/no/such/ca.pem")
    with pytest.raises(assay.ConfigError, match="assert_hostname"):
        assay.Client(tls.url, api_key=tls.token, assert_hostname=True)


LUA_SCRIPT = r"""
local assay = require "assay"
local url, token, ca, name = os.getenv("T_URL"), os.getenv("T_TOKEN"), os.getenv("T_CA"), os.getenv("T_NAME")
local good = assay.Client{domain = url, api_key = token, ssl_ca_cert = ca, assert_hostname = name}
local lax = assay.Client{domain = url, api_key = token, ssl_ca_cert = ca, assert_hostname = false}
local _, untrusted = pcall(function() return assay.Client(url, token):list_projects() end)
local _, misnamed = pcall(function()
  return assay.Client{domain = url, api_key = token, ssl_ca_cert = ca}:list_projects()
end)
io.write(string.format("%d %d %s %s\n", #good:list_projects(), #lax:list_projects(),
  untrusted.name, misnamed.name))
"""


def test_lua_tls_options(tls, tmp_path):
    assay.Client(tls.url, api_key=tls.token, ssl_ca_cert=str(tls.cert),
                 assert_hostname=NAME).create_project("for-lua", "", "MODEL_TASK_RANKING")
    script = tmp_path / "tls.lua"
    script.write_text(LUA_SCRIPT)
    lua_dir = BUILD_DIR / "lua"
    env = dict(os.environ, T_URL=tls.url, T_TOKEN=tls.token, T_CA=str(tls.cert), T_NAME=NAME,
               LUA_PATH="%s/?.lua;%s/?/init.lua;;" % (lua_dir, lua_dir),
               LUA_CPATH="%s/?.so;;" % lua_dir)
    out = subprocess.run(["lua5.4", str(script)], capture_output=True, text=True, timeout=60,
                         env=env)
    assert out.returncode == 0, out.stderr
    count, count_lax, untrusted, misnamed = out.stdout.split()
    assert int(count) == int(count_lax) >= 1
    assert (untrusted, misnamed) == ("TransportError", "TransportError")
