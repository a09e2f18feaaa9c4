"""``assay.Client`` itself: the embedded default, options, lifetime, repr."""

import gc
import os

import pytest

import assay

TASK = "MODEL_TASK_REGRESSION"


def test_embedded_default_uses_assay_home(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "default-home"))
    with assay.Client() as client:
        project = client.create_project("Fraud", "card fraud model", TASK)
        info = client.platform_info()
        assert info["embedded"] is True
        assert info["home"] == str(tmp_path / "default-home")
    assert (tmp_path / "default-home" / "assay.db").exists()
    with assay.Client(home=tmp_path / "default-home") as again:  # a Path works too
        assert again.list_projects() == [project]


def test_embedded_default_without_assay_home_is_dot_assay(tmp_path, monkeypatch):
    monkeypatch.delenv("ASSAY_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with assay.Client() as client:
        client.create_project("Home", "", TASK)
        assert client.platform_info()["home"] == str(tmp_path / ".assay")
    home = tmp_path / ".assay"
    assert oct(home.stat().st_mode & 0o777) == "0o700"
    assert oct((home / "admin.token").stat().st_mode & 0o777) == "0o600"
    assert oct((home / "assay.db").stat().st_mode & 0o777) == "0o600"


def test_version():
    assert assay.__version__ == "0.4.0"


def test_repr_and_lifetime(tmp_path):
    client = assay.Client(home=tmp_path)
    assert repr(client) == "Client(embedded, home=%r)" % str(tmp_path)
    with client as same:
        assert same is client
    assert repr(client).endswith(", closed)")
    # A closed client passes no handle; the core refuses the call.
    with pytest.raises(assay.ConfigError) as info:
        client.list_projects()
    assert "client" in info.value.message
    client.close()  # closing twice is fine


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def test_unused_clients_are_freed(tmp_path):
    assay.Client(home=tmp_path).list_projects()
    gc.collect()
    before = open_fds()
    for _ in range(20):
        assay.Client(home=tmp_path).list_projects()  # dropped at once
    gc.collect()
    assert open_fds() <= before  # each freed client closed its database


def test_close_frees_the_handle_now(tmp_path):
    client = assay.Client(home=tmp_path)
    client.list_projects()
    before = open_fds()
    client.close()
    assert open_fds() < before


@pytest.mark.parametrize("kwargs, words", [
    (dict(channel_timeout=0), ["channel_timeout"]),
    (dict(channel_timeout="soon"), ["channel_timeout"]),
    (dict(cert_file="/nonexistent/cert.pem", key_file="/nonexistent/key.pem"), ["cert_file"]),
    (dict(cert_file=None, key_file="/etc/hostname"), ["cert_file", "key_file"]),
])
def test_bad_options_are_config_errors(tmp_path, kwargs, words):
    with pytest.raises(assay.ConfigError) as info:
        assay.Client("127.0.0.1:9", disable_tls=True, **kwargs)
    for word in words:
        assert word in info.value.message


def test_bad_option_types_are_clear(tmp_path):
    with pytest.raises(assay.ConfigError) as info:
        assay.Client("127.0.0.1:9", channel_timeout=object())
    assert "channel_timeout" in str(info.value)
    with pytest.raises(assay.ConfigError) as info:
        assay.Client(5)
    assert "domain" in info.value.message


def test_home_that_cannot_be_created(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(assay.Error) as info:
        assay.Client(home=blocker / "home")
    assert str(blocker) in info.value.message
