"""tests/e2e/test_openapi_conformance.py — a real assayd answers as
docs/api/openapi.json says.

Validates the OpenAPI document itself (openapi-spec-validator), starts an
assayd on a free loopback port in a temporary home, exercises every operation
— its success and each error status it documents — with plain urllib, and
validates each answer (status, content type, headers, body) against the
spec's schema for that status with jsonschema. A static check makes sure every
status the spec documents has a case here, so the two cannot drift apart.
"""
import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import jsonschema
import pytest
from assayd_process import Assayd
from openapi_spec_validator import validate as validate_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "docs" / "api" / "openapi.json"
MAX_BODY = 64 * 1024  # the server's body limit in this test (--max-body)
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Documented statuses that no request can produce yet, with the reason.
UNREACHABLE = {
    ("DELETE", "/v1/projects/{project_id}", 409):
        "a project cannot hold datasets, models or test runs yet, so it is never non-empty",
    ("POST", "/v1/api-tokens", 403):
        "every user is the bootstrap organisation admin until users can be created",
}

with open(SPEC_PATH, encoding="utf-8") as _f:
    SPEC = json.load(_f)


def resolve(node):
    """Follow a local $ref ("#/components/...") to the object it names,
    keeping the referring object's own description."""
    while isinstance(node, dict) and "$ref" in node:
        target = SPEC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def documented_statuses():
    """{(METHOD, path, status)} for every response the spec documents."""
    out = set()
    for path, item in SPEC["paths"].items():
        for method in METHODS:
            for status in item.get(method, {}).get("responses", {}):
                out.add((method.upper(), path, int(status)))
    return out


def check_body(response_spec, resp, what):
    """The answer matches one response object of the spec."""
    response_spec = resolve(response_spec)
    for header in response_spec.get("headers", {}):
        assert resp.headers.get(header), f"{what}: header {header} missing"
    content = response_spec.get("content")
    if not content:
        assert resp.raw == b"", f"{what}: expected no body, got {resp.raw[:200]!r}"
        return
    ctype = resp.headers.get("Content-Type", "")
    assert ctype.split(";")[0].strip() == "application/json", f"{what}: Content-Type {ctype!r}"
    schema = content["application/json"]["schema"]
    # Validate inside a document that carries the spec's components, so the
    # schema's "#/components/schemas/..." references resolve.
    wrapper = {"$schema": "https://json-schema.org/draft/2020-12/schema",
               "allOf": [schema], "components": SPEC["components"]}
    validator = jsonschema.Draft202012Validator(
        wrapper, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(resp.json), key=lambda e: list(e.path))
    assert not errors, f"{what}: body {resp.json!r} does not match the spec: " + "; ".join(
        f"{list(e.path)}: {e.message}" for e in errors)


def check_request_body(method, path, body):
    """A body a success case sends is one the spec allows (keeps the cases honest)."""
    schema = SPEC["paths"][path][method.lower()]["requestBody"]["content"]["application/json"]["schema"]
    wrapper = {"allOf": [schema], "components": SPEC["components"]}
    jsonschema.Draft202012Validator(wrapper).validate(body)


class Response:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw
        self.json = json.loads(raw) if raw else None

    def __repr__(self):
        return f"<{self.status} {self.raw[:300]!r}>"


class Api:
    """Plain-urllib calls to one assayd."""
    _DEFAULT = object()

    def __init__(self, base, token):
        self.base, self.token = base, token

    def call(self, method, path, body=_DEFAULT, raw=None, token=_DEFAULT):
        data = raw
        headers = {}
        if body is not Api._DEFAULT:
            data = json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        token = self.token if token is Api._DEFAULT else token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return Response(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            with e:
                return Response(e.code, e.headers, e.read())

    def new_project(self, **extra):
        body = {"name": f"conformance-{uuid.uuid4().hex[:12]}", "description": "made by a test",
                "model_task": "MODEL_TASK_REGRESSION", **extra}
        resp = self.call("POST", "/v1/projects", body)
        assert resp.status == 201, resp
        return resp.json


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    server = Assayd(tmp_path_factory.mktemp("home"), "--max-body", str(MAX_BODY))
    try:
        yield Api(server.url, server.token)
    finally:
        rc = server.stop(timeout=15)
        assert rc == 0, f"assayd exited {rc} after SIGTERM; stderr: {server.stderr}"


# --- the cases: (method, path, status) -> a function making the request ---
CASES = []


def case(method, path, status):
    def deco(fn):
        CASES.append(pytest.param(method, path, status, fn,
                                  id=f"{method} {path} {status} {fn.__name__}"))
        return fn
    return deco


@case("GET", "/v1/health", 200)
def health_without_token(api):
    return api.call("GET", "/v1/health", token=None)


@case("GET", "/v1/platform", 200)
def platform_info(api):
    resp = api.call("GET", "/v1/platform")
    assert resp.json["embedded"] is False
    return resp


@case("GET", "/v1/platform", 401)
def platform_without_token(api):
    return api.call("GET", "/v1/platform", token=None)


@case("GET", "/v1/platform", 401)
def platform_with_wrong_token(api):
    return api.call("GET", "/v1/platform", token="not-a-token")


@case("POST", "/v1/projects", 201)
def create_project(api):
    body = {"name": f"fraud-{uuid.uuid4().hex[:12]}", "description": "card fraud model",
            "model_task": "MODEL_TASK_BINARY_CLASSIFICATION"}
    check_request_body("POST", "/v1/projects", body)
    resp = api.call("POST", "/v1/projects", body)
    assert resp.json["name"] == body["name"]
    assert resp.json["use_case"] is None
    return resp


@case("POST", "/v1/projects", 201)
def create_project_with_every_field(api):
    body = {"name": f"full-{uuid.uuid4().hex[:12]}", "description": "all fields",
            "model_task": "MODEL_TASK_RANKING", "use_case": "search ranking",
            "ethical_consideration": "none known", "profiling_config": {"a": 1},
            "general_access_role": "ACTOR_ROLE_VIEWER", "run_time_info": {"b": [1, 2]}}
    check_request_body("POST", "/v1/projects", body)
    resp = api.call("POST", "/v1/projects", body)
    for key in ("use_case", "ethical_consideration", "profiling_config", "general_access_role",
                "run_time_info"):
        assert resp.json[key] == body[key], key
    return resp


@case("POST", "/v1/projects", 400)
def create_project_unknown_model_task(api):
    resp = api.call("POST", "/v1/projects", {"name": "x", "description": "", "model_task": "MODEL_TASK_NOPE"})
    assert "MODEL_TASK_BINARY_CLASSIFICATION" in resp.json["error"]["message"]
    return resp


@case("POST", "/v1/projects", 400)
def create_project_malformed_json(api):
    return api.call("POST", "/v1/projects", raw=b'{"name": "x", "description": ')


@case("POST", "/v1/projects", 400)
def create_project_missing_name(api):
    return api.call("POST", "/v1/projects", {"description": "d", "model_task": "MODEL_TASK_REGRESSION"})


@case("POST", "/v1/projects", 400)
def create_project_body_not_an_object(api):
    return api.call("POST", "/v1/projects", [1, 2, 3])


@case("POST", "/v1/projects", 400)
def create_project_unknown_field(api):
    return api.call("POST", "/v1/projects", {"name": "x", "description": "", "model_task": "MODEL_TASK_REGRESSION",
                                             "colour": "blue"})


@case("POST", "/v1/projects", 400)
def create_project_blank_name(api):
    return api.call("POST", "/v1/projects", {"name": " ", "description": "", "model_task": "MODEL_TASK_REGRESSION"})


@case("POST", "/v1/projects", 400)
def create_project_unknown_role(api):
    return api.call("POST", "/v1/projects", {"name": "x", "description": "", "model_task": "MODEL_TASK_REGRESSION",
                                             "general_access_role": "ACTOR_ROLE_KING"})


@case("POST", "/v1/projects", 401)
def create_project_without_token(api):
    return api.call("POST", "/v1/projects", {"name": "x", "description": "", "model_task": "MODEL_TASK_REGRESSION"},
                    token=None)


@case("POST", "/v1/projects", 409)
def create_project_duplicate_name(api):
    first = api.new_project()
    return api.call("POST", "/v1/projects", {"name": first["name"], "description": "again",
                                             "model_task": "MODEL_TASK_REGRESSION"})


@case("POST", "/v1/projects", 413)
def create_project_oversized_body(api):
    return api.call("POST", "/v1/projects", {"name": "big", "description": "x" * (MAX_BODY + 1024),
                                             "model_task": "MODEL_TASK_REGRESSION"})


@case("GET", "/v1/projects", 200)
def list_projects(api):
    made = [api.new_project(), api.new_project()]
    resp = api.call("GET", "/v1/projects")
    ids = [p["project_id"] for p in resp.json["projects"]]
    assert ids.index(made[0]["project_id"]) < ids.index(made[1]["project_id"]), "oldest first"
    return resp


@case("GET", "/v1/projects", 401)
def list_projects_without_token(api):
    return api.call("GET", "/v1/projects", token=None)


@case("GET", "/v1/projects/{project_id}", 200)
def get_project(api):
    made = api.new_project()
    resp = api.call("GET", f"/v1/projects/{made['project_id']}")
    assert resp.json == made
    return resp


@case("GET", "/v1/projects/{project_id}", 401)
def get_project_without_token(api):
    return api.call("GET", f"/v1/projects/{api.new_project()['project_id']}", token=None)


@case("GET", "/v1/projects/{project_id}", 404)
def get_project_unknown(api):
    return api.call("GET", f"/v1/projects/{uuid.uuid4()}")


@case("DELETE", "/v1/projects/{project_id}", 204)
def delete_project(api):
    made = api.new_project()
    resp = api.call("DELETE", f"/v1/projects/{made['project_id']}")
    assert api.call("GET", f"/v1/projects/{made['project_id']}").status == 404
    return resp


@case("DELETE", "/v1/projects/{project_id}", 204)
def delete_project_forced(api):
    made = api.new_project()
    return api.call("DELETE", f"/v1/projects/{made['project_id']}?force=true")


@case("DELETE", "/v1/projects/{project_id}", 400)
def delete_project_bad_force(api):
    made = api.new_project()
    resp = api.call("DELETE", f"/v1/projects/{made['project_id']}?force=maybe")
    assert api.call("GET", f"/v1/projects/{made['project_id']}").status == 200
    return resp


@case("DELETE", "/v1/projects/{project_id}", 401)
def delete_project_without_token(api):
    return api.call("DELETE", f"/v1/projects/{api.new_project()['project_id']}", token=None)


@case("DELETE", "/v1/projects/{project_id}", 404)
def delete_project_unknown(api):
    return api.call("DELETE", f"/v1/projects/{uuid.uuid4()}")


@case("POST", "/v1/api-tokens", 201)
def create_api_token(api):
    body = {"name": f"ci-{uuid.uuid4().hex[:8]}", "expires_in_days": 30}
    check_request_body("POST", "/v1/api-tokens", body)
    resp = api.call("POST", "/v1/api-tokens", body)
    # The new token authenticates as the same user.
    me = api.call("GET", "/v1/platform", token=resp.json["token"])
    assert me.status == 200, me
    assert me.json["user_id"] == resp.json["user_id"]
    return resp


@case("POST", "/v1/api-tokens", 400)
def create_api_token_missing_name(api):
    return api.call("POST", "/v1/api-tokens", {"expires_in_days": 3})


@case("POST", "/v1/api-tokens", 400)
def create_api_token_malformed_json(api):
    return api.call("POST", "/v1/api-tokens", raw=b"{name: 1}")


@case("POST", "/v1/api-tokens", 400)
def create_api_token_expiry_out_of_range(api):
    return api.call("POST", "/v1/api-tokens", {"name": "x", "expires_in_days": 0})


@case("POST", "/v1/api-tokens", 404)
def create_api_token_unknown_user(api):
    return api.call("POST", "/v1/api-tokens", {"name": "x", "user_id": str(uuid.uuid4())})


@case("POST", "/v1/api-tokens", 401)
def create_api_token_without_token(api):
    return api.call("POST", "/v1/api-tokens", {"name": "x"}, token=None)


@case("POST", "/v1/api-tokens", 413)
def create_api_token_oversized_body(api):
    return api.call("POST", "/v1/api-tokens", {"name": "x" * (MAX_BODY + 1024)})


# --- the tests ----------------------------------------------------------------

def test_spec_is_valid_openapi_3_1():
    assert SPEC["openapi"].startswith("3.1")
    validate_spec(SPEC)


def test_every_documented_status_has_a_case():
    covered = {tuple(p.values[:3]) for p in CASES}
    missing = documented_statuses() - covered - set(UNREACHABLE)
    assert not missing, f"documented but never exercised: {sorted(missing)}"
    undocumented = covered - documented_statuses()
    assert not undocumented, f"exercised but not documented: {sorted(undocumented)}"


@pytest.mark.parametrize("method,path,status,make", CASES)
def test_operation(api, method, path, status, make):
    resp = make(api)
    assert resp.status == status, f"{method} {path}: expected {status}, got {resp!r}"
    responses = SPEC["paths"][path][method.lower()]["responses"]
    check_body(responses[str(status)], resp, f"{method} {path} {status}")
    if resp.status >= 400:
        assert resp.json["error"]["status"] == resp.status


@pytest.mark.parametrize("key", sorted(UNREACHABLE), ids=lambda k: f"{k[0]} {k[1]} {k[2]}")
def test_unreachable_status(key):
    pytest.skip(UNREACHABLE[key])


@pytest.mark.parametrize("path", ["/v1/nope", "/v2/projects", "/v1/projects/a/b", "/v1"])
def test_unknown_route_is_404(api, path):
    resp = api.call("GET", path)
    assert resp.status == 404, resp
    check_body(SPEC["components"]["responses"]["NotFound"], resp, f"GET {path}")


@pytest.mark.parametrize("path", sorted(SPEC["paths"]))
def test_wrong_method_is_405_with_allow(api, path):
    served = {m.upper() for m in METHODS if m in SPEC["paths"][path]}
    concrete = path.replace("{project_id}", api.new_project()["project_id"])
    wrong = next(m for m in ("PUT", "PATCH", "DELETE", "POST") if m not in served)
    resp = api.call(wrong, concrete, raw=b"{}" if wrong in ("PUT", "PATCH", "POST") else None)
    assert resp.status == 405, f"{wrong} {path}: {resp!r}"
    check_body(SPEC["components"]["responses"]["MethodNotAllowed"], resp, f"{wrong} {path}")
    allowed = {m.strip() for m in resp.headers["Allow"].split(",")}
    assert allowed - {"HEAD", "OPTIONS"} == served, f"Allow: {resp.headers['Allow']}"
