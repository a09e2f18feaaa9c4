"""Remote only: tokens, transport failures, and several clients of one assayd."""

import json
import subprocess
import sys

import pytest

import assay

TASK = "MODEL_TASK_BINARY_CLASSIFICATION"


def test_wrong_token_is_auth_error(assayd):
    with assayd.client(api_key="not-a-real-token") as client:
        for call in (client.list_projects, client.platform_info,
                     lambda: client.create_project("x", "", TASK)):
            with pytest.raises(assay.AuthError) as info:
                call()
            err = info.value
            assert err.http_status == 401 and err.code == -4 and err.name == "AuthError"
            assert "not-a-real-token" not in err.message
            assert not isinstance(err, ValueError)


def test_missing_token_is_auth_error(assayd):
    with assay.Client(assayd.url) as client:
        with pytest.raises(assay.AuthError) as info:
            client.list_projects()
        assert info.value.http_status == 401
        # health needs no token
        assert client.request("GET", "/v1/health")["status"] == "ok"


def test_created_token_works_and_admin_token_too(assayd):
    with assayd.client() as admin:
        token = admin.create_api_token(name="second", expires_in_days=1)
        project = admin.create_project("shared", "", TASK)
    with assayd.client(api_key=token) as other:
        assert other.list_projects() == [project]


def test_expired_and_revoked_tokens_are_auth_errors(assayd):
    """Expiry and revocation are set in the real store (there is no API to
    backdate a token); the server must refuse the token and say why."""
    import sqlite3
    with assayd.client() as admin:
        token = admin.create_api_token(name="short", expires_in_days=1)
    with assayd.client(api_key=token) as c:
        assert c.list_projects() == []
    db = sqlite3.connect(assayd.home / "assay.db")
    with db:
        db.execute("UPDATE api_tokens SET expires_at = 1000 WHERE name = 'short'")
    with assayd.client(api_key=token) as c:
        with pytest.raises(assay.AuthError, match="expired") as info:
            c.list_projects()
        assert info.value.http_status == 401
    with db:
        db.execute("UPDATE api_tokens SET expires_at = 0, revoked_at = 5 WHERE name = 'short'")
    db.close()
    with assayd.client(api_key=token) as c:
        with pytest.raises(assay.AuthError, match="revoked"):
            c.list_projects()


def test_unreachable_server_is_transport_error():
    port = 1  # nobody listens there
    with assay.Client("127.0.0.1:%d" % port, api_key="k", disable_tls=True,
                      channel_timeout=5) as client:
        with pytest.raises(assay.TransportError) as info:
            client.list_projects()
        assert isinstance(info.value, ConnectionError)
        assert info.value.http_status == 0


def test_api_key_never_shows():
    secret = "sk-very-secret-0123456789"
    client = assay.Client("127.0.0.1:1", api_key=secret, disable_tls=True, channel_timeout=5)
    assert secret not in repr(client)
    assert "127.0.0.1:1" in repr(client)
    with pytest.raises(assay.TransportError) as info:
        client.list_projects()
    err = info.value
    for text in (err.message, str(err), repr(err), repr(err.args)):
        assert secret not in text
    client.close()


def test_two_clients_see_each_others_projects(assayd):
    with assayd.client() as first, assayd.client() as second:
        a = first.create_project("from-first", "", TASK)
        b = second.create_project("from-second", "", TASK)
        assert first.list_projects() == [a, b] == second.list_projects()
        second.delete_project(a.project_id)
        assert first.list_projects() == [b]


def test_python_and_cli_see_each_others_projects(assayd, assay_cli):
    cli = [str(assay_cli), "--url", assayd.url, "--token", assayd.token]
    with assayd.client() as client:
        mine = client.create_project("from-python", "", TASK)
        out = subprocess.run(cli + ["--json", "project", "list"], check=True,
                             capture_output=True, text=True).stdout
        assert mine.project_id in out
        theirs_id = subprocess.run(
            cli + ["project", "create", "from-cli", "--model-task", "MODEL_TASK_RANKING"],
            check=True, capture_output=True, text=True).stdout.strip()
        theirs = client.get_project(theirs_id)
        assert theirs.name == "from-cli"
        assert [p.name for p in client.list_projects()] == ["from-python", "from-cli"]
        wrong = subprocess.run([str(assay_cli), "--url", assayd.url, "--token", "nope",
                                "project", "list"], capture_output=True, text=True)
        assert wrong.returncode == 1 and "AuthError" in wrong.stderr


def test_client_in_another_process_shares_the_server(assayd, python_env):
    script = (
        "import assay, json, sys\n"
        "c = assay.Client(sys.argv[1], api_key=sys.argv[2])\n"
        "c.create_project('from-child', '', 'MODEL_TASK_RANKING')\n"
        "print(json.dumps([p.name for p in c.list_projects()]))\n")
    with assayd.client() as client:
        client.create_project("from-parent", "", TASK)
        out = subprocess.run([sys.executable, "-c", script, assayd.url, assayd.token],
                             check=True, capture_output=True, text=True, env=python_env).stdout
        assert json.loads(out) == ["from-parent", "from-child"]
        assert [p.name for p in client.list_projects()] == ["from-parent", "from-child"]


def test_embedded_client_and_assayd_share_a_home(assayd):
    with assay.Client(home=assayd.home) as local, assayd.client() as remote:
        a = local.create_project("local", "", TASK)
        b = remote.create_project("remote", "", TASK)
        assert local.list_projects() == [a, b] == remote.list_projects()
