"""HTTPS end to end: ``assayd --tls-cert/--tls-key`` with a certificate made
here by the ``openssl`` CLI, and the TLS options of ``Client(...)`` —
``ssl_ca_cert``, ``assert_hostname`` (a name, or ``False``), ``cert_file`` /
``key_file`` — from Python and from Lua (a real ``lua5.4`` child)."""

import os
import subprocess
import sys

import pytest
from e2e_support import BUILD_DIR, Daemon

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
    d = Daemon(folder / "home", "--tls-cert", str(cert), "--tls-key", str(key))
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
    # a client certificate is presented without complaint
    with_cert = assay.Client(tls.url, api_key=tls.token, ssl_ca_cert=str(tls.cert),
                             assert_hostname=NAME, cert_file=str(tls.client_cert),
                             key_file=str(tls.client_key))
    assert len(with_cert.list_projects()) == 1


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
