"""``Client.request``, the raw REST escape hatch: router errors come back typed
the same way on the embedded platform and through assayd."""

import json

import pytest

import assay

TASK = "MODEL_TASK_RANKING"


def test_health_and_platform(client):
    health = client.request("GET", "/v1/health")
    assert health["status"] == "ok"
    assert health["version"] == assay.__version__
    info = client.platform_info()
    assert info["api_version"] == "v1"
    assert info["version"] == assay.__version__
    assert isinstance(info["embedded"], bool)
    for key in ("user_id", "workspace_id"):
        assert isinstance(info[key], str) and info[key]


def test_platform_info_says_which_kind(platform, client):
    assert client.platform_info()["embedded"] is (platform.kind == "embedded")


@pytest.mark.parametrize("as_type", [dict, str, bytes])
def test_body_as_dict_text_or_bytes(client, unique, as_type):
    body = {"name": unique("raw"), "description": "d", "model_task": TASK}
    if as_type is str:
        body = json.dumps(body)
    elif as_type is bytes:
        body = json.dumps(body).encode()
    record = client.request("POST", "/v1/projects", body)
    assert record["model_task"] == TASK
    listed = client.request("GET", "/v1/projects")
    assert [p["project_id"] for p in listed["projects"]] == [record["project_id"]]
    assert client.request("DELETE", "/v1/projects/" + record["project_id"]) is None


def test_malformed_json_is_config_error(client):
    for body in ('{"name": ', "not json", b"\xff\xfe", "[1, 2]"):
        with pytest.raises(assay.ConfigError) as info:
            client.request("POST", "/v1/projects", body)
        assert info.value.code == -2
    assert client.list_projects() == []


def test_unknown_route_is_not_found(client):
    with pytest.raises(assay.NotFoundError) as info:
        client.request("GET", "/v1/no-such-route")
    assert info.value.name == "NotFoundError"


def test_wrong_method_is_method_not_allowed(client):
    with pytest.raises(assay.MethodNotAllowedError) as info:
        client.request("PUT", "/v1/projects")
    err = info.value
    assert isinstance(err, assay.ConfigError) and isinstance(err, ValueError)
    assert err.code == -9


def test_oversized_body_is_payload_too_large(client):
    body = b'{"name": "' + b"x" * (17 * 1024 * 1024) + b'"}'
    with pytest.raises(assay.PayloadTooLargeError) as info:
        client.request("POST", "/v1/projects", body)
    assert isinstance(info.value, assay.ConfigError)
    assert info.value.code == -10
    assert client.list_projects() == []


def test_bad_request_arguments(client):
    with pytest.raises(assay.ConfigError):
        client.request("GET", "v1/health")  # the core wants a leading '/'
    with pytest.raises(assay.ConfigError) as info:
        client.request("GET", 42)
    assert "path" in str(info.value)
    with pytest.raises(assay.ConfigError):
        client.request("POST", "/v1/projects", body={"x": object()})


def test_create_api_token_returns_a_working_secret(platform, client, start_assayd):
    token = client.create_api_token(name="probe-name-7f3", expires_in_days=2)
    assert isinstance(token, str) and token.startswith("asy_")
    # the token opens any assayd serving the same home
    server = start_assayd(platform.home)
    with server.client(api_key=token) as remote:
        assert remote.platform_info()["user_id"] == client.platform_info()["user_id"]
    # it is stored hashed: no file of the home holds the secret (WAL included),
    # while the same search finds what is stored, the token's name
    files = [p for p in platform.home.rglob("*") if p.is_file() and p.name != "admin.token"]
    assert any(p.name == "assay.db-wal" for p in files)
    assert not any(token.encode() in p.read_bytes() for p in files)
    assert any(b"probe-name-7f3" in p.read_bytes() for p in files)


def test_create_api_token_bad_inputs(client):
    with pytest.raises(assay.ConfigError, match="name is required"):
        client.create_api_token()
    with pytest.raises(assay.ConfigError, match="expires_in_days"):
        client.create_api_token(name="x", expires_in_days=-1)
    with pytest.raises(assay.ConfigError, match="expires_in_days"):
        client.create_api_token(name="x", expires_in_days=4000)
    with pytest.raises(assay.NotFoundError):
        client.create_api_token(name="x", user_id="no-such-user")
