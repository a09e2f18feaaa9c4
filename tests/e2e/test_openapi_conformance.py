"""tests/e2e/test_openapi_conformance.py — a real assayd answers as
docs/api/openapi.json says.

Validates the OpenAPI document itself (openapi-spec-validator), starts an
assayd on a free loopback port in a temporary home, exercises every operation
— its success and each error status it documents — with plain urllib, and
validates each answer (status, content type, headers, body) against the
spec's schema for that status with jsonschema. A static check makes sure every
status the spec documents has a case here, so the two cannot drift apart.

Besides the bootstrap admin (an organisation admin), the module's fixture
builds, through the API itself, a workspace with a WORKSPACE_ROLE_ADMIN, a
WORKSPACE_ROLE_MEMBER and a WORKSPACE_ROLE_VIEWER, each with a token scoped
to it, so the cases can exercise every role's answers (403 for too low a
role, 404 for anything outside the caller's workspace).
"""
import hashlib
import http.client
import json
import math
import random
import sqlite3
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import jsonschema
import pytest
from assayd_process import Assayd
from openapi_spec_validator import validate as validate_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "docs" / "api" / "openapi.json"
# The server's body limit in this test (--max-body): above the largest
# integration value (65536 bytes), so an oversized value is a 400, not a 413.
MAX_BODY = 256 * 1024
VALUE_MAX = 65536
# Secret values the cases store: no answer may ever contain them.
WS_SECRET = "ws-secret-" + uuid.uuid4().hex
MEMBER_SECRET = "member-secret-" + uuid.uuid4().hex
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Documented statuses that no request can produce yet, with the reason.
UNREACHABLE = {}

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
    """Plain-urllib calls to one assayd, plus the people the fixture made:
    ``tokens[who]`` and ``users[who]`` (user ids) for who in ``ROLES``, the
    workspace ``ws`` they belong to, and the admin's own workspace
    ``home_ws`` (outside the others' tokens, so 404 for them)."""
    _DEFAULT = object()
    ROLES = {"ws_admin": "WORKSPACE_ROLE_ADMIN", "member": "WORKSPACE_ROLE_MEMBER",
             "viewer": "WORKSPACE_ROLE_VIEWER"}

    def __init__(self, base, token, home):
        self.base, self.token, self.home = base, token, home
        self.tokens, self.users = {}, {}
        self._ids = None

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

    def ok(self, status, method, path, body=_DEFAULT, token=_DEFAULT):
        """A set-up call that must succeed with `status`; its JSON."""
        resp = self.call(method, path, body, token=token)
        assert resp.status == status, f"set-up {method} {path}: {resp!r}"
        return resp.json

    # --- things to work on, made by the admin unless a token is given ---

    def new_project(self, token=_DEFAULT, **extra):
        body = {"name": f"conformance-{uuid.uuid4().hex[:12]}", "description": "made by a test",
                "model_task": "MODEL_TASK_REGRESSION", **extra}
        return self.ok(201, "POST", "/v1/projects", body, token=token)

    def new_user(self, prefix="user"):
        return self.ok(201, "POST", "/v1/users",
                       {"username": f"{prefix}-{uuid.uuid4().hex[:10]}"})["user_id"]

    def new_workspace(self):
        return self.ok(201, "POST", "/v1/workspaces",
                       {"name": f"ws-{uuid.uuid4().hex[:10]}"})["workspace_id"]

    def add_member(self, user_id, role, ws=None):
        return self.ok(201, "POST", f"/v1/workspaces/{ws or self.ws}/members",
                       {"user_id": user_id, "role": role})

    def new_token(self, user_id=None, ws=None, token=_DEFAULT, **extra):
        """A token record (with its secret) for `user_id` in `ws` (default: the caller, in
        the caller's workspace)."""
        body = {"name": f"tok-{uuid.uuid4().hex[:8]}", **extra}
        if user_id:
            body["user_id"] = user_id
        if ws:
            body["workspace_id"] = ws
        return self.ok(201, "POST", "/v1/api-tokens", body, token=token)

    def new_person(self, role, ws=None):
        """A fresh user who is a `role` of `ws` (default the fixture's); (user_id, token)."""
        user = self.new_user(role.rsplit("_", 1)[-1].lower())
        self.add_member(user, role, ws)
        return user, self.new_token(user, ws or self.ws)["token"]

    def new_integration(self, ws=None, token=_DEFAULT, **body):
        """An INTEGRATION_TYPE_CUSTOM integration with a public variable, a workspace
        secret and a members-level secret (unless `body` says otherwise); its record."""
        body = {"name": f"integ-{uuid.uuid4().hex[:10]}",
                "integration_type": "INTEGRATION_TYPE_CUSTOM",
                "integration_schema": [
                    {"name": "HOST", "sensitivity": "not_sensitive", "value": "db.example"},
                    {"name": "SHARED_KEY", "sensitivity": "workspace", "value": WS_SECRET},
                    {"name": "PERSONAL_KEY", "sensitivity": "members"}], **body}
        return self.ok(201, "POST", f"/v1/workspaces/{ws or self.ws}/integrations", body,
                       token=token)

    def set_up_people(self):
        me = self.ok(200, "GET", "/v1/platform")
        self.admin_id, self.home_ws = me["user_id"], me["workspace_id"]
        self.ws = self.new_workspace()
        for who, role in self.ROLES.items():
            self.users[who] = self.new_user(who.replace("_", "-"))
            self.add_member(self.users[who], role)
            self.tokens[who] = self.new_token(self.users[who], self.ws)["token"]

    def real_ids(self):
        """A real id for every path parameter of the spec (made once)."""
        if self._ids is None:
            user, _ = self.new_person("WORKSPACE_ROLE_MEMBER")
            self._ids = {
                "project_id": self.new_project()["project_id"],
                "workspace_id": self.ws,
                "user_id": user,
                "token_id": self.new_token(user, self.ws)["id"],
                "integration_id": self.new_integration()["integration_id"],
                "job_id": new_job(self),
                "dataset_id": str(uuid.uuid4()),
                "model_id": str(uuid.uuid4()),
                "prediction_id": str(uuid.uuid4()),
                "test_run_id": str(uuid.uuid4()),
                "test_type": "numeric_feature_drift",
            }
        return self._ids

    def expire(self, token):
        """Move a token's expiry into the past (the API cannot mint an expired one)."""
        token_hash = hashlib.blake2b(token.encode(), digest_size=32).digest()
        db = sqlite3.connect(str(self.home / "assay.db"), timeout=30)
        try:
            with db:
                cur = db.execute("UPDATE api_tokens SET expires_at = ? WHERE token_hash = ?",
                                 (int(time.time()) - 3600, token_hash))
            assert cur.rowcount == 1, "no api_tokens row for the token"
        finally:
            db.close()


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    server = Assayd(home, "--max-body", str(MAX_BODY))
    try:
        a = Api(server.url, server.token, home)
        a.set_up_people()
        yield a
    finally:
        rc = server.stop(timeout=15)
        assert rc == 0, f"assayd exited {rc} after SIGTERM; stderr: {server.stderr}"


def no_secret_in(resp):
    """No secret value this module stores appears anywhere in an answer."""
    for secret in (WS_SECRET, MEMBER_SECRET):
        assert secret.encode() not in resp.raw, f"a secret value came back: {resp.raw[:300]!r}"


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


@case("GET", "/v1/platform", 401)
def platform_with_revoked_token(api):
    made = api.new_token()
    assert api.call("DELETE", f"/v1/api-tokens/{made['id']}").status == 204
    return api.call("GET", "/v1/platform", token=made["token"])


@case("GET", "/v1/platform", 401)
def platform_with_expired_token(api):
    made = api.new_token()
    api.expire(made["token"])
    return api.call("GET", "/v1/platform", token=made["token"])


# --- projects and roles ----------------------------------------------------------

@case("POST", "/v1/projects", 403)
def create_project_as_viewer(api):
    resp = api.call("POST", "/v1/projects", {"name": "by-viewer", "description": "",
                                             "model_task": "MODEL_TASK_REGRESSION"},
                    token=api.tokens["viewer"])
    assert "WORKSPACE_ROLE_MEMBER" in resp.json["error"]["message"]
    return resp


@case("POST", "/v1/projects", 201)
def create_project_as_member(api):
    body = {"name": f"mine-{uuid.uuid4().hex[:8]}", "description": "",
            "model_task": "MODEL_TASK_REGRESSION"}
    resp = api.call("POST", "/v1/projects", body, token=api.tokens["member"])
    assert resp.json["workspace_id"] == api.ws
    assert resp.json["owner_id"] == api.users["member"]
    return resp


@case("GET", "/v1/projects", 200)
def list_projects_as_viewer(api):
    made = api.new_project(token=api.tokens["ws_admin"])
    resp = api.call("GET", "/v1/projects", token=api.tokens["viewer"])
    ids = [p["project_id"] for p in resp.json["projects"]]
    assert made["project_id"] in ids
    assert all(p["workspace_id"] == api.ws for p in resp.json["projects"])
    return resp


@case("GET", "/v1/projects/{project_id}", 404)
def get_project_of_another_workspace(api):
    made = api.new_project()  # the admin's own workspace
    return api.call("GET", f"/v1/projects/{made['project_id']}", token=api.tokens["viewer"])


@case("DELETE", "/v1/projects/{project_id}", 204)
def delete_own_project_as_member(api):
    made = api.new_project(token=api.tokens["member"])
    return api.call("DELETE", f"/v1/projects/{made['project_id']}", token=api.tokens["member"])


@case("DELETE", "/v1/projects/{project_id}", 403)
def delete_others_project_as_member(api):
    made = api.new_project(token=api.tokens["ws_admin"])
    resp = api.call("DELETE", f"/v1/projects/{made['project_id']}", token=api.tokens["member"])
    assert api.call("GET", f"/v1/projects/{made['project_id']}",
                    token=api.tokens["ws_admin"]).status == 200
    return resp


@case("DELETE", "/v1/projects/{project_id}", 403)
def delete_project_as_viewer(api):
    made = api.new_project(token=api.tokens["member"])
    return api.call("DELETE", f"/v1/projects/{made['project_id']}", token=api.tokens["viewer"])


@case("DELETE", "/v1/projects/{project_id}", 204)
def delete_members_project_as_ws_admin(api):
    made = api.new_project(token=api.tokens["member"])
    return api.call("DELETE", f"/v1/projects/{made['project_id']}",
                    token=api.tokens["ws_admin"])


# --- users -------------------------------------------------------------------------

@case("GET", "/v1/users", 200)
def list_users(api):
    resp = api.call("GET", "/v1/users")
    by_id = {u["user_id"]: u for u in resp.json["users"]}
    assert by_id[api.admin_id]["is_org_admin"] is True
    assert by_id[api.users["member"]]["is_org_admin"] is False
    names = [u["username"] for u in resp.json["users"]]
    assert names == sorted(names), "by username"
    return resp


@case("GET", "/v1/users", 401)
def list_users_without_token(api):
    return api.call("GET", "/v1/users", token=None)


@case("GET", "/v1/users", 403)
def list_users_as_ws_admin(api):
    return api.call("GET", "/v1/users", token=api.tokens["ws_admin"])


@case("POST", "/v1/users", 201)
def create_user(api):
    body = {"username": f"ada.l_{uuid.uuid4().hex[:8]}@example-org", "display_name": "Ada L."}
    check_request_body("POST", "/v1/users", body)
    resp = api.call("POST", "/v1/users", body)
    assert resp.json["username"] == body["username"]
    assert resp.json["display_name"] == "Ada L."
    assert resp.json["is_org_admin"] is False
    return resp


@case("POST", "/v1/users", 201)
def create_user_without_display_name(api):
    body = {"username": f"bob-{uuid.uuid4().hex[:8]}"}
    check_request_body("POST", "/v1/users", body)
    resp = api.call("POST", "/v1/users", body)
    assert resp.json["display_name"] is None
    return resp


@case("POST", "/v1/users", 400)
def create_user_bad_username(api):
    return api.call("POST", "/v1/users", {"username": "has space"})


@case("POST", "/v1/users", 400)
def create_user_username_too_long(api):
    return api.call("POST", "/v1/users", {"username": "u" * 65})


@case("POST", "/v1/users", 400)
def create_user_missing_username(api):
    return api.call("POST", "/v1/users", {"display_name": "Nobody"})


@case("POST", "/v1/users", 400)
def create_user_unknown_field(api):
    return api.call("POST", "/v1/users", {"username": f"c-{uuid.uuid4().hex[:8]}",
                                          "is_org_admin": True})


@case("POST", "/v1/users", 401)
def create_user_without_token(api):
    return api.call("POST", "/v1/users", {"username": "x"}, token=None)


@case("POST", "/v1/users", 403)
def create_user_as_ws_admin(api):
    return api.call("POST", "/v1/users", {"username": f"d-{uuid.uuid4().hex[:8]}"},
                    token=api.tokens["ws_admin"])


@case("POST", "/v1/users", 409)
def create_user_duplicate(api):
    name = f"dup-{uuid.uuid4().hex[:8]}"
    api.ok(201, "POST", "/v1/users", {"username": name})
    return api.call("POST", "/v1/users", {"username": name})


@case("POST", "/v1/users", 413)
def create_user_oversized_body(api):
    return api.call("POST", "/v1/users", {"username": "x", "display_name": "y" * (MAX_BODY + 1024)})


# --- workspaces ----------------------------------------------------------------------

@case("GET", "/v1/workspaces", 200)
def list_workspaces_as_org_admin(api):
    resp = api.call("GET", "/v1/workspaces")
    by_id = {w["workspace_id"]: w for w in resp.json["workspaces"]}
    assert {api.home_ws, api.ws} <= set(by_id)
    assert by_id[api.ws]["role"] == "WORKSPACE_ROLE_ADMIN"
    return resp


@case("GET", "/v1/workspaces", 200)
def list_workspaces_as_member(api):
    resp = api.call("GET", "/v1/workspaces", token=api.tokens["member"])
    assert [(w["workspace_id"], w["role"]) for w in resp.json["workspaces"]] == \
        [(api.ws, "WORKSPACE_ROLE_MEMBER")]
    return resp


@case("GET", "/v1/workspaces", 401)
def list_workspaces_without_token(api):
    return api.call("GET", "/v1/workspaces", token=None)


@case("POST", "/v1/workspaces", 201)
def create_workspace(api):
    body = {"name": f"team-{uuid.uuid4().hex[:8]}"}
    check_request_body("POST", "/v1/workspaces", body)
    resp = api.call("POST", "/v1/workspaces", body)
    assert resp.json["name"] == body["name"]
    assert resp.json["role"] == "WORKSPACE_ROLE_ADMIN", "the creator administers it"
    return resp


@case("POST", "/v1/workspaces", 400)
def create_workspace_blank_name(api):
    return api.call("POST", "/v1/workspaces", {"name": "  "})


@case("POST", "/v1/workspaces", 400)
def create_workspace_unknown_field(api):
    return api.call("POST", "/v1/workspaces", {"name": f"w-{uuid.uuid4().hex[:8]}", "size": 3})


@case("POST", "/v1/workspaces", 401)
def create_workspace_without_token(api):
    return api.call("POST", "/v1/workspaces", {"name": "x"}, token=None)


@case("POST", "/v1/workspaces", 403)
def create_workspace_as_ws_admin(api):
    return api.call("POST", "/v1/workspaces", {"name": f"w-{uuid.uuid4().hex[:8]}"},
                    token=api.tokens["ws_admin"])


@case("POST", "/v1/workspaces", 409)
def create_workspace_duplicate(api):
    name = f"dup-{uuid.uuid4().hex[:8]}"
    api.ok(201, "POST", "/v1/workspaces", {"name": name})
    return api.call("POST", "/v1/workspaces", {"name": name})


@case("POST", "/v1/workspaces", 413)
def create_workspace_oversized_body(api):
    return api.call("POST", "/v1/workspaces", {"name": "x" * (MAX_BODY + 1024)})


@case("GET", "/v1/workspaces/{workspace_id}", 200)
def get_workspace_as_viewer(api):
    resp = api.call("GET", f"/v1/workspaces/{api.ws}", token=api.tokens["viewer"])
    assert resp.json["role"] == "WORKSPACE_ROLE_VIEWER"
    return resp


@case("GET", "/v1/workspaces/{workspace_id}", 200)
def get_workspace_as_org_admin_non_member(api):
    ws = api.new_workspace()
    api.new_person("WORKSPACE_ROLE_ADMIN", ws)  # so the org admin may leave it
    api.ok(204, "DELETE", f"/v1/workspaces/{ws}/members/{api.admin_id}")
    resp = api.call("GET", f"/v1/workspaces/{ws}")
    assert resp.json["role"] is None
    return resp


@case("GET", "/v1/workspaces/{workspace_id}", 401)
def get_workspace_without_token(api):
    return api.call("GET", f"/v1/workspaces/{api.ws}", token=None)


@case("GET", "/v1/workspaces/{workspace_id}", 404)
def get_workspace_outside_token(api):
    return api.call("GET", f"/v1/workspaces/{api.home_ws}", token=api.tokens["ws_admin"])


@case("GET", "/v1/workspaces/{workspace_id}", 404)
def get_workspace_unknown(api):
    return api.call("GET", f"/v1/workspaces/{uuid.uuid4()}")


# --- members ---------------------------------------------------------------------------

@case("GET", "/v1/workspaces/{workspace_id}/members", 200)
def list_members_as_viewer(api):
    resp = api.call("GET", f"/v1/workspaces/{api.ws}/members", token=api.tokens["viewer"])
    roles = {m["user_id"]: m["role"] for m in resp.json["members"]}
    for who, role in Api.ROLES.items():
        assert roles[api.users[who]] == role
    return resp


@case("GET", "/v1/workspaces/{workspace_id}/members", 401)
def list_members_without_token(api):
    return api.call("GET", f"/v1/workspaces/{api.ws}/members", token=None)


@case("GET", "/v1/workspaces/{workspace_id}/members", 404)
def list_members_outside_token(api):
    return api.call("GET", f"/v1/workspaces/{api.home_ws}/members", token=api.tokens["member"])


@case("POST", "/v1/workspaces/{workspace_id}/members", 201)
def add_member_with_alias(api):
    user = api.new_user()
    body = {"user_id": user, "role": "viewer"}
    check_request_body("POST", "/v1/workspaces/{workspace_id}/members", body)
    resp = api.call("POST", f"/v1/workspaces/{api.ws}/members", body,
                    token=api.tokens["ws_admin"])
    assert resp.json["role"] == "WORKSPACE_ROLE_VIEWER", "answers use the canonical name"
    assert resp.json["user_id"] == user and resp.json["workspace_id"] == api.ws
    return resp


@case("POST", "/v1/workspaces/{workspace_id}/members", 400)
def add_member_unknown_role(api):
    resp = api.call("POST", f"/v1/workspaces/{api.ws}/members",
                    {"user_id": api.new_user(), "role": "WORKSPACE_ROLE_OWNER"})
    assert "WORKSPACE_ROLE_VIEWER" in resp.json["error"]["message"]
    return resp


@case("POST", "/v1/workspaces/{workspace_id}/members", 400)
def add_member_missing_role(api):
    return api.call("POST", f"/v1/workspaces/{api.ws}/members", {"user_id": api.new_user()})


@case("POST", "/v1/workspaces/{workspace_id}/members", 401)
def add_member_without_token(api):
    return api.call("POST", f"/v1/workspaces/{api.ws}/members",
                    {"user_id": api.users["member"], "role": "member"}, token=None)


@case("POST", "/v1/workspaces/{workspace_id}/members", 403)
def add_member_as_member(api):
    return api.call("POST", f"/v1/workspaces/{api.ws}/members",
                    {"user_id": api.new_user(), "role": "viewer"}, token=api.tokens["member"])


@case("POST", "/v1/workspaces/{workspace_id}/members", 404)
def add_member_unknown_user(api):
    return api.call("POST", f"/v1/workspaces/{api.ws}/members",
                    {"user_id": str(uuid.uuid4()), "role": "member"})


@case("POST", "/v1/workspaces/{workspace_id}/members", 404)
def add_member_outside_token(api):
    return api.call("POST", f"/v1/workspaces/{api.home_ws}/members",
                    {"user_id": api.new_user(), "role": "member"}, token=api.tokens["ws_admin"])


@case("POST", "/v1/workspaces/{workspace_id}/members", 409)
def add_member_twice(api):
    return api.call("POST", f"/v1/workspaces/{api.ws}/members",
                    {"user_id": api.users["member"], "role": "viewer"})


@case("POST", "/v1/workspaces/{workspace_id}/members", 413)
def add_member_oversized_body(api):
    return api.call("POST", f"/v1/workspaces/{api.ws}/members",
                    {"user_id": "x" * (MAX_BODY + 1024), "role": "member"})


@case("PUT", "/v1/workspaces/{workspace_id}/members/{user_id}", 200)
def update_member_role(api):
    user, _ = api.new_person("WORKSPACE_ROLE_VIEWER")
    body = {"role": "member"}
    check_request_body("PUT", "/v1/workspaces/{workspace_id}/members/{user_id}", body)
    resp = api.call("PUT", f"/v1/workspaces/{api.ws}/members/{user}", body,
                    token=api.tokens["ws_admin"])
    assert resp.json["role"] == "WORKSPACE_ROLE_MEMBER"
    return resp


@case("PUT", "/v1/workspaces/{workspace_id}/members/{user_id}", 400)
def update_member_bad_role(api):
    user, _ = api.new_person("WORKSPACE_ROLE_VIEWER")
    return api.call("PUT", f"/v1/workspaces/{api.ws}/members/{user}", {"role": 3})


@case("PUT", "/v1/workspaces/{workspace_id}/members/{user_id}", 400)
def update_member_unknown_field(api):
    user, _ = api.new_person("WORKSPACE_ROLE_VIEWER")
    return api.call("PUT", f"/v1/workspaces/{api.ws}/members/{user}",
                    {"role": "member", "since": "now"})


@case("PUT", "/v1/workspaces/{workspace_id}/members/{user_id}", 401)
def update_member_without_token(api):
    return api.call("PUT", f"/v1/workspaces/{api.ws}/members/{api.users['viewer']}",
                    {"role": "admin"}, token=None)


@case("PUT", "/v1/workspaces/{workspace_id}/members/{user_id}", 403)
def update_own_role_as_member(api):
    resp = api.call("PUT", f"/v1/workspaces/{api.ws}/members/{api.users['member']}",
                    {"role": "admin"}, token=api.tokens["member"])
    assert "WORKSPACE_ROLE_ADMIN" in resp.json["error"]["message"]
    return resp


@case("PUT", "/v1/workspaces/{workspace_id}/members/{user_id}", 404)
def update_non_member(api):
    return api.call("PUT", f"/v1/workspaces/{api.ws}/members/{api.new_user()}",
                    {"role": "member"})


@case("PUT", "/v1/workspaces/{workspace_id}/members/{user_id}", 409)
def demote_last_admin(api):
    ws = api.new_workspace()  # the org admin is its only WORKSPACE_ROLE_ADMIN
    return api.call("PUT", f"/v1/workspaces/{ws}/members/{api.admin_id}", {"role": "member"})


@case("PUT", "/v1/workspaces/{workspace_id}/members/{user_id}", 413)
def update_member_oversized_body(api):
    return api.call("PUT", f"/v1/workspaces/{api.ws}/members/{api.users['viewer']}",
                    {"role": "x" * (MAX_BODY + 1024)})


@case("DELETE", "/v1/workspaces/{workspace_id}/members/{user_id}", 204)
def remove_member(api):
    user, token = api.new_person("WORKSPACE_ROLE_MEMBER")
    assert api.call("GET", "/v1/platform", token=token).status == 200
    resp = api.call("DELETE", f"/v1/workspaces/{api.ws}/members/{user}",
                    token=api.tokens["ws_admin"])
    assert api.call("GET", "/v1/platform", token=token).status == 401, \
        "removing a member revokes their tokens for the workspace"
    return resp


@case("DELETE", "/v1/workspaces/{workspace_id}/members/{user_id}", 401)
def remove_member_without_token(api):
    return api.call("DELETE", f"/v1/workspaces/{api.ws}/members/{api.users['viewer']}",
                    token=None)


@case("DELETE", "/v1/workspaces/{workspace_id}/members/{user_id}", 403)
def remove_member_as_viewer(api):
    return api.call("DELETE", f"/v1/workspaces/{api.ws}/members/{api.users['member']}",
                    token=api.tokens["viewer"])


@case("DELETE", "/v1/workspaces/{workspace_id}/members/{user_id}", 404)
def remove_non_member(api):
    return api.call("DELETE", f"/v1/workspaces/{api.ws}/members/{api.new_user()}")


@case("DELETE", "/v1/workspaces/{workspace_id}/members/{user_id}", 409)
def remove_last_admin(api):
    ws = api.new_workspace()
    return api.call("DELETE", f"/v1/workspaces/{ws}/members/{api.admin_id}")


# --- API tokens ------------------------------------------------------------------------

@case("POST", "/v1/api-tokens", 201)
def create_api_token_for_member(api):
    user, _ = api.new_person("WORKSPACE_ROLE_MEMBER")
    body = {"name": "ci", "user_id": user, "workspace_id": api.ws}
    check_request_body("POST", "/v1/api-tokens", body)
    resp = api.call("POST", "/v1/api-tokens", body)
    me = api.call("GET", "/v1/platform", token=resp.json["token"])
    assert (me.json["user_id"], me.json["workspace_id"]) == (user, api.ws)
    return resp


@case("POST", "/v1/api-tokens", 201)
def create_own_api_token_as_member(api):
    resp = api.call("POST", "/v1/api-tokens", {"name": "mine", "expires_in_days": 1},
                    token=api.tokens["member"])
    assert resp.json["user_id"] == api.users["member"]
    assert resp.json["workspace_id"] == api.ws
    return resp


@case("POST", "/v1/api-tokens", 400)
def create_api_token_for_non_member(api):
    resp = api.call("POST", "/v1/api-tokens",
                    {"name": "x", "user_id": api.new_user(), "workspace_id": api.ws})
    assert "not a member" in resp.json["error"]["message"]
    return resp


@case("POST", "/v1/api-tokens", 400)
def create_api_token_unknown_field(api):
    return api.call("POST", "/v1/api-tokens", {"name": "x", "scope": "all"})


@case("POST", "/v1/api-tokens", 403)
def create_api_token_for_another_user_as_member(api):
    return api.call("POST", "/v1/api-tokens",
                    {"name": "x", "user_id": api.users["viewer"], "expires_in_days": 1},
                    token=api.tokens["member"])


@case("POST", "/v1/api-tokens", 403)
def create_api_token_outliving_caller(api):
    return api.call("POST", "/v1/api-tokens", {"name": "x", "expires_in_days": 3650},
                    token=api.tokens["member"])


@case("POST", "/v1/api-tokens", 404)
def create_api_token_outside_workspace(api):
    return api.call("POST", "/v1/api-tokens",
                    {"name": "x", "workspace_id": api.home_ws, "expires_in_days": 1},
                    token=api.tokens["member"])


@case("GET", "/v1/api-tokens", 200)
def list_api_tokens_as_org_admin(api):
    made = api.new_token(api.users["viewer"], api.ws)
    resp = api.call("GET", "/v1/api-tokens")
    rows = {t["id"]: t for t in resp.json["api_tokens"]}
    assert rows[made["id"]]["status"] == "active"
    assert made["token"].encode() not in resp.raw, "never the secret"
    return resp


@case("GET", "/v1/api-tokens", 200)
def list_api_tokens_as_member(api):
    resp = api.call("GET", "/v1/api-tokens", token=api.tokens["member"])
    assert resp.json["api_tokens"], "at least the calling token"
    assert {t["user_id"] for t in resp.json["api_tokens"]} == {api.users["member"]}
    return resp


@case("GET", "/v1/api-tokens", 200)
def list_api_tokens_of_a_member_as_ws_admin(api):
    user, _ = api.new_person("WORKSPACE_ROLE_MEMBER")
    revoked = api.new_token(user, api.ws)
    api.ok(204, "DELETE", f"/v1/api-tokens/{revoked['id']}")
    resp = api.call("GET", f"/v1/api-tokens?user_id={user}&workspace_id={api.ws}",
                    token=api.tokens["ws_admin"])
    assert [t["status"] for t in resp.json["api_tokens"]] == ["active", "revoked"]
    assert resp.json["api_tokens"][1]["revoked_at"] is not None
    return resp


@case("GET", "/v1/api-tokens", 400)
def list_api_tokens_nul_in_query(api):
    return api.call("GET", "/v1/api-tokens?user_id=a%00b")


@case("GET", "/v1/api-tokens", 401)
def list_api_tokens_without_token(api):
    return api.call("GET", "/v1/api-tokens", token=None)


@case("GET", "/v1/api-tokens", 403)
def list_others_api_tokens_as_member(api):
    return api.call("GET", f"/v1/api-tokens?user_id={api.users['viewer']}",
                    token=api.tokens["member"])


@case("GET", "/v1/api-tokens", 404)
def list_api_tokens_outside_workspace(api):
    return api.call("GET", f"/v1/api-tokens?workspace_id={api.home_ws}",
                    token=api.tokens["ws_admin"])


@case("DELETE", "/v1/api-tokens/{token_id}", 204)
def revoke_own_api_token(api):
    made = api.new_token(token=api.tokens["member"], expires_in_days=1)
    resp = api.call("DELETE", f"/v1/api-tokens/{made['id']}", token=api.tokens["member"])
    assert api.call("GET", "/v1/platform", token=made["token"]).status == 401
    return resp


@case("DELETE", "/v1/api-tokens/{token_id}", 204)
def revoke_api_token_twice(api):
    made = api.new_token()
    api.ok(204, "DELETE", f"/v1/api-tokens/{made['id']}")
    return api.call("DELETE", f"/v1/api-tokens/{made['id']}")


@case("DELETE", "/v1/api-tokens/{token_id}", 204)
def revoke_members_api_token_as_ws_admin(api):
    user, _ = api.new_person("WORKSPACE_ROLE_MEMBER")
    made = api.new_token(user, api.ws)
    return api.call("DELETE", f"/v1/api-tokens/{made['id']}", token=api.tokens["ws_admin"])


@case("DELETE", "/v1/api-tokens/{token_id}", 401)
def revoke_api_token_without_token(api):
    return api.call("DELETE", f"/v1/api-tokens/{api.new_token()['id']}", token=None)


@case("DELETE", "/v1/api-tokens/{token_id}", 404)
def revoke_unknown_api_token(api):
    return api.call("DELETE", f"/v1/api-tokens/{uuid.uuid4()}")


@case("DELETE", "/v1/api-tokens/{token_id}", 404)
def revoke_others_api_token_as_member(api):
    made = api.new_token(api.users["viewer"], api.ws)
    resp = api.call("DELETE", f"/v1/api-tokens/{made['id']}", token=api.tokens["member"])
    assert api.call("GET", "/v1/platform", token=made["token"]).status == 200
    return resp


# --- integrations ------------------------------------------------------------------------

def variables(record):
    return {v["name"]: v for v in record["variables"]}


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 201)
def create_custom_integration(api):
    body = {"name": f"warehouse-{uuid.uuid4().hex[:8]}",
            "integration_type": "INTEGRATION_TYPE_CUSTOM",
            "integration_schema": [
                {"name": "HOST", "sensitivity": "not_sensitive", "value": "db.example"},
                {"name": "SHARED_KEY", "sensitivity": "VARIABLE_SENSITIVITY_WORKSPACE_SECRET",
                 "value": WS_SECRET},
                {"name": "PERSONAL_KEY", "sensitivity": "members"}]}
    check_request_body("POST", "/v1/workspaces/{workspace_id}/integrations", body)
    resp = api.call("POST", f"/v1/workspaces/{api.ws}/integrations", body,
                    token=api.tokens["ws_admin"])
    no_secret_in(resp)
    v = variables(resp.json)
    assert [x["name"] for x in resp.json["variables"]] == ["HOST", "SHARED_KEY", "PERSONAL_KEY"]
    assert v["HOST"] == {"name": "HOST", "sensitivity": "VARIABLE_SENSITIVITY_PUBLIC",
                         "value": "db.example", "is_set": True}
    assert v["SHARED_KEY"]["is_set"] is True
    assert v["PERSONAL_KEY"]["sensitivity"] == "VARIABLE_SENSITIVITY_USER_SECRET"
    assert resp.json["credential_status"] == {"configured": False, "missing": ["PERSONAL_KEY"]}
    assert resp.json["created_by"] == api.users["ws_admin"]
    return resp


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 201)
def create_databricks_integration(api):
    body = {"name": f"dbx-{uuid.uuid4().hex[:8]}",
            "integration_type": "INTEGRATION_TYPE_DATABRICKS",
            "integration_schema": [
                {"name": "DATABRICKS_HOST", "sensitivity": "VARIABLE_SENSITIVITY_PUBLIC",
                 "value": "https://dbx.example"},
                {"name": "DATABRICKS_TOKEN", "sensitivity": "VARIABLE_SENSITIVITY_USER_SECRET"}]}
    check_request_body("POST", "/v1/workspaces/{workspace_id}/integrations", body)
    return api.call("POST", f"/v1/workspaces/{api.ws}/integrations", body)


def bad_integration(api, **changes):
    body = {"name": f"bad-{uuid.uuid4().hex[:8]}", "integration_type": "INTEGRATION_TYPE_CUSTOM",
            "integration_schema": [{"name": "A", "sensitivity": "workspace", "value": WS_SECRET}],
            **changes}
    resp = api.call("POST", f"/v1/workspaces/{api.ws}/integrations", body)
    no_secret_in(resp)
    return resp


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 400)
def create_integration_unknown_type(api):
    resp = bad_integration(api, integration_type="INTEGRATION_TYPE_FTP")
    assert "INTEGRATION_TYPE_CUSTOM" in resp.json["error"]["message"]
    return resp


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 400)
def create_integration_entry_without_name(api):
    return bad_integration(api, integration_schema=[{"sensitivity": "workspace", "value": "v"}])


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 400)
def create_integration_entry_without_sensitivity(api):
    return bad_integration(api, integration_schema=[{"name": "A", "value": WS_SECRET}])


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 400)
def create_integration_unknown_sensitivity(api):
    resp = bad_integration(api, integration_schema=[{"name": "A", "sensitivity": "top_secret",
                                                     "value": WS_SECRET}])
    assert "not_sensitive" in resp.json["error"]["message"]
    return resp


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 400)
def create_integration_duplicate_variable(api):
    return bad_integration(api, integration_schema=[
        {"name": "A", "sensitivity": "workspace", "value": WS_SECRET},
        {"name": "A", "sensitivity": "not_sensitive", "value": "x"}])


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 400)
def create_integration_empty_name(api):
    return bad_integration(api, name="")


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 400)
def create_integration_oversized_value(api):
    return bad_integration(api, integration_schema=[
        {"name": "A", "sensitivity": "workspace", "value": "s" * (VALUE_MAX + 1)}])


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 400)
def create_integration_public_secret(api):
    resp = bad_integration(api, integration_type="INTEGRATION_TYPE_HUGGINGFACE",
                           integration_schema=[{"name": "HUGGINGFACE_API_TOKEN",
                                                "sensitivity": "not_sensitive",
                                                "value": WS_SECRET}])
    assert "HUGGINGFACE_API_TOKEN" in resp.json["error"]["message"]
    return resp


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 400)
def create_integration_missing_required_variable(api):
    return bad_integration(api, integration_type="INTEGRATION_TYPE_DATABRICKS",
                           integration_schema=[{"name": "DATABRICKS_HOST",
                                                "sensitivity": "not_sensitive", "value": "h"}])


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 400)
def create_integration_value_for_members_variable(api):
    return bad_integration(api, integration_schema=[{"name": "A", "sensitivity": "members",
                                                     "value": WS_SECRET}])


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 400)
def create_integration_unknown_entry_key(api):
    return bad_integration(api, integration_schema=[{"name": "A", "sensitivity": "workspace",
                                                     "value": WS_SECRET, "note": "n"}])


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 401)
def create_integration_without_token(api):
    return api.call("POST", f"/v1/workspaces/{api.ws}/integrations",
                    {"name": "x", "integration_type": "INTEGRATION_TYPE_CUSTOM",
                     "integration_schema": []}, token=None)


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 403)
def create_integration_as_member(api):
    resp = api.call("POST", f"/v1/workspaces/{api.ws}/integrations",
                    {"name": f"m-{uuid.uuid4().hex[:8]}",
                     "integration_type": "INTEGRATION_TYPE_CUSTOM", "integration_schema": []},
                    token=api.tokens["member"])
    assert "WORKSPACE_ROLE_ADMIN" in resp.json["error"]["message"]
    return resp


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 404)
def create_integration_outside_workspace(api):
    return api.call("POST", f"/v1/workspaces/{api.home_ws}/integrations",
                    {"name": f"o-{uuid.uuid4().hex[:8]}",
                     "integration_type": "INTEGRATION_TYPE_CUSTOM", "integration_schema": []},
                    token=api.tokens["ws_admin"])


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 409)
def create_integration_duplicate_name(api):
    first = api.new_integration()
    return bad_integration(api, name=first["name"])


@case("POST", "/v1/workspaces/{workspace_id}/integrations", 413)
def create_integration_oversized_body(api):
    return bad_integration(api, integration_schema=[
        {"name": "A", "sensitivity": "workspace", "value": "s" * (MAX_BODY + 1024)}])


@case("GET", "/v1/workspaces/{workspace_id}/integrations", 200)
def list_integrations_as_viewer(api):
    made = api.new_integration()
    resp = api.call("GET", f"/v1/workspaces/{api.ws}/integrations", token=api.tokens["viewer"])
    no_secret_in(resp)
    rows = {i["integration_id"]: i for i in resp.json["integrations"]}
    v = variables(rows[made["integration_id"]])
    assert v["HOST"]["value"] == "db.example", "members see not-sensitive values"
    assert "value" not in v["SHARED_KEY"] and "value" not in v["PERSONAL_KEY"]
    return resp


@case("GET", "/v1/workspaces/{workspace_id}/integrations", 401)
def list_integrations_without_token(api):
    return api.call("GET", f"/v1/workspaces/{api.ws}/integrations", token=None)


@case("GET", "/v1/workspaces/{workspace_id}/integrations", 404)
def list_integrations_outside_workspace(api):
    return api.call("GET", f"/v1/workspaces/{api.home_ws}/integrations",
                    token=api.tokens["viewer"])


@case("GET", "/v1/integrations/{integration_id}", 200)
def get_integration_as_member(api):
    made = api.new_integration()
    resp = api.call("GET", f"/v1/integrations/{made['integration_id']}",
                    token=api.tokens["member"])
    no_secret_in(resp)
    assert variables(resp.json)["PERSONAL_KEY"]["is_set"] is False
    assert resp.json["credential_status"] == {"configured": False, "missing": ["PERSONAL_KEY"]}
    return resp


@case("GET", "/v1/integrations/{integration_id}", 401)
def get_integration_without_token(api):
    return api.call("GET", f"/v1/integrations/{api.new_integration()['integration_id']}",
                    token=None)


@case("GET", "/v1/integrations/{integration_id}", 404)
def get_integration_unknown(api):
    return api.call("GET", f"/v1/integrations/{uuid.uuid4()}")


@case("GET", "/v1/integrations/{integration_id}", 404)
def get_integration_of_another_workspace(api):
    made = api.new_integration(ws=api.home_ws)
    resp = api.call("GET", f"/v1/integrations/{made['integration_id']}",
                    token=api.tokens["ws_admin"])
    assert made["name"] not in resp.json["error"]["message"]
    return resp


@case("PATCH", "/v1/integrations/{integration_id}", 200)
def update_integration(api):
    made = api.new_integration()
    body = {"name": f"renamed-{uuid.uuid4().hex[:8]}",
            "variables": [{"name": "PORT", "sensitivity": "not_sensitive", "value": "5432"},
                          {"name": "HOST", "sensitivity": "not_sensitive", "value": "db2"}],
            "remove_variables": ["PERSONAL_KEY"]}
    check_request_body("PATCH", "/v1/integrations/{integration_id}", body)
    resp = api.call("PATCH", f"/v1/integrations/{made['integration_id']}", body,
                    token=api.tokens["ws_admin"])
    no_secret_in(resp)
    assert resp.json["name"] == body["name"]
    assert [(v["name"], v.get("value")) for v in resp.json["variables"]] == \
        [("HOST", "db2"), ("SHARED_KEY", None), ("PORT", "5432")]
    assert resp.json["credential_status"] == {"configured": True, "missing": []}
    return resp


@case("PATCH", "/v1/integrations/{integration_id}", 400)
def update_integration_remove_unknown_variable(api):
    made = api.new_integration()
    resp = api.call("PATCH", f"/v1/integrations/{made['integration_id']}",
                    {"remove_variables": ["NOPE"]})
    assert "SHARED_KEY" in resp.json["error"]["message"], "lists the names it has"
    return resp


@case("PATCH", "/v1/integrations/{integration_id}", 400)
def update_integration_nothing(api):
    return api.call("PATCH", f"/v1/integrations/{api.new_integration()['integration_id']}", {})


@case("PATCH", "/v1/integrations/{integration_id}", 400)
def update_integration_unknown_field(api):
    return api.call("PATCH", f"/v1/integrations/{api.new_integration()['integration_id']}",
                    {"integration_type": "INTEGRATION_TYPE_GCS"})


@case("PATCH", "/v1/integrations/{integration_id}", 401)
def update_integration_without_token(api):
    return api.call("PATCH", f"/v1/integrations/{api.new_integration()['integration_id']}",
                    {"name": "x"}, token=None)


@case("PATCH", "/v1/integrations/{integration_id}", 403)
def update_integration_as_member(api):
    return api.call("PATCH", f"/v1/integrations/{api.new_integration()['integration_id']}",
                    {"name": f"m-{uuid.uuid4().hex[:8]}"}, token=api.tokens["member"])


@case("PATCH", "/v1/integrations/{integration_id}", 404)
def update_integration_unknown(api):
    return api.call("PATCH", f"/v1/integrations/{uuid.uuid4()}", {"name": "x"})


@case("PATCH", "/v1/integrations/{integration_id}", 409)
def update_integration_to_taken_name(api):
    first, second = api.new_integration(), api.new_integration()
    return api.call("PATCH", f"/v1/integrations/{second['integration_id']}",
                    {"name": first["name"]})


@case("PATCH", "/v1/integrations/{integration_id}", 413)
def update_integration_oversized_body(api):
    return api.call("PATCH", f"/v1/integrations/{api.new_integration()['integration_id']}",
                    {"name": "x" * (MAX_BODY + 1024)})


@case("DELETE", "/v1/integrations/{integration_id}", 204)
def delete_integration(api):
    made = api.new_integration()
    resp = api.call("DELETE", f"/v1/integrations/{made['integration_id']}",
                    token=api.tokens["ws_admin"])
    assert api.call("GET", f"/v1/integrations/{made['integration_id']}").status == 404
    return resp


@case("DELETE", "/v1/integrations/{integration_id}", 401)
def delete_integration_without_token(api):
    return api.call("DELETE", f"/v1/integrations/{api.new_integration()['integration_id']}",
                    token=None)


@case("DELETE", "/v1/integrations/{integration_id}", 403)
def delete_integration_as_member(api):
    made = api.new_integration()
    resp = api.call("DELETE", f"/v1/integrations/{made['integration_id']}",
                    token=api.tokens["member"])
    assert api.call("GET", f"/v1/integrations/{made['integration_id']}").status == 200
    return resp


@case("DELETE", "/v1/integrations/{integration_id}", 404)
def delete_integration_unknown(api):
    return api.call("DELETE", f"/v1/integrations/{uuid.uuid4()}")


@case("PUT", "/v1/integrations/{integration_id}/credentials", 200)
def set_credentials_as_member(api):
    made = api.new_integration()
    path = f"/v1/integrations/{made['integration_id']}/credentials"
    body = {"credentials": {"PERSONAL_KEY": MEMBER_SECRET}}
    check_request_body("PUT", "/v1/integrations/{integration_id}/credentials", body)
    resp = api.call("PUT", path, body, token=api.tokens["member"])
    no_secret_in(resp)
    assert resp.json == {"integration_id": made["integration_id"],
                         "credential_status": {"configured": True, "missing": []}}
    # Each member's own: the ws admin has still not set theirs.
    other = api.call("GET", f"/v1/integrations/{made['integration_id']}",
                     token=api.tokens["ws_admin"])
    assert other.json["credential_status"]["missing"] == ["PERSONAL_KEY"]
    mine = api.call("GET", f"/v1/integrations/{made['integration_id']}",
                    token=api.tokens["member"])
    no_secret_in(mine)
    assert variables(mine.json)["PERSONAL_KEY"]["is_set"] is True
    return resp


@case("PUT", "/v1/integrations/{integration_id}/credentials", 200)
def clear_credentials(api):
    made = api.new_integration()
    path = f"/v1/integrations/{made['integration_id']}/credentials"
    api.ok(200, "PUT", path, {"credentials": {"PERSONAL_KEY": MEMBER_SECRET}},
           token=api.tokens["member"])
    body = {"credentials": {"PERSONAL_KEY": None}}
    check_request_body("PUT", "/v1/integrations/{integration_id}/credentials", body)
    resp = api.call("PUT", path, body, token=api.tokens["member"])
    assert resp.json["credential_status"] == {"configured": False, "missing": ["PERSONAL_KEY"]}
    return resp


@case("PUT", "/v1/integrations/{integration_id}/credentials", 400)
def set_credentials_for_public_variable(api):
    made = api.new_integration()
    resp = api.call("PUT", f"/v1/integrations/{made['integration_id']}/credentials",
                    {"credentials": {"HOST": MEMBER_SECRET}}, token=api.tokens["member"])
    no_secret_in(resp)
    assert "VARIABLE_SENSITIVITY_USER_SECRET" in resp.json["error"]["message"]
    return resp


@case("PUT", "/v1/integrations/{integration_id}/credentials", 400)
def set_credentials_unknown_variable(api):
    made = api.new_integration()
    return api.call("PUT", f"/v1/integrations/{made['integration_id']}/credentials",
                    {"credentials": {"NOPE": MEMBER_SECRET}}, token=api.tokens["member"])


@case("PUT", "/v1/integrations/{integration_id}/credentials", 400)
def set_credentials_not_an_object(api):
    made = api.new_integration()
    return api.call("PUT", f"/v1/integrations/{made['integration_id']}/credentials",
                    {"credentials": ["PERSONAL_KEY"]}, token=api.tokens["member"])


@case("PUT", "/v1/integrations/{integration_id}/credentials", 401)
def set_credentials_without_token(api):
    made = api.new_integration()
    return api.call("PUT", f"/v1/integrations/{made['integration_id']}/credentials",
                    {"credentials": {"PERSONAL_KEY": MEMBER_SECRET}}, token=None)


@case("PUT", "/v1/integrations/{integration_id}/credentials", 403)
def set_credentials_as_viewer(api):
    made = api.new_integration()
    resp = api.call("PUT", f"/v1/integrations/{made['integration_id']}/credentials",
                    {"credentials": {"PERSONAL_KEY": MEMBER_SECRET}}, token=api.tokens["viewer"])
    no_secret_in(resp)
    return resp


@case("PUT", "/v1/integrations/{integration_id}/credentials", 404)
def set_credentials_outside_workspace(api):
    made = api.new_integration(ws=api.home_ws)
    return api.call("PUT", f"/v1/integrations/{made['integration_id']}/credentials",
                    {"credentials": {"PERSONAL_KEY": MEMBER_SECRET}}, token=api.tokens["member"])


@case("PUT", "/v1/integrations/{integration_id}/credentials", 413)
def set_credentials_oversized_body(api):
    made = api.new_integration()
    return api.call("PUT", f"/v1/integrations/{made['integration_id']}/credentials",
                    {"credentials": {"PERSONAL_KEY": "s" * (MAX_BODY + 1024)}},
                    token=api.tokens["member"])


# --- admin ---------------------------------------------------------------------------------

@case("POST", "/v1/admin/rotate-key", 200)
def rotate_key(api):
    made = api.new_integration()
    api.ok(200, "PUT", f"/v1/integrations/{made['integration_id']}/credentials",
           {"credentials": {"PERSONAL_KEY": MEMBER_SECRET}}, token=api.tokens["member"])
    first = api.call("POST", "/v1/admin/rotate-key")
    assert first.status == 200, first
    resp = api.call("POST", "/v1/admin/rotate-key")
    assert resp.json["key_id"] != first.json["key_id"], "a new key each time"
    assert resp.json["secrets_resealed"] >= 2, "at least this test's two secrets"
    # The values are still there (and still not shown).
    after = api.call("GET", f"/v1/integrations/{made['integration_id']}",
                     token=api.tokens["member"])
    no_secret_in(after)
    assert after.json["credential_status"]["configured"] is True
    assert variables(after.json)["SHARED_KEY"]["is_set"] is True
    return resp


@case("POST", "/v1/admin/rotate-key", 200)
def rotate_key_with_empty_object(api):
    check_request_body("POST", "/v1/admin/rotate-key", {})
    return api.call("POST", "/v1/admin/rotate-key", {})


@case("POST", "/v1/admin/rotate-key", 400)
def rotate_key_with_a_field(api):
    return api.call("POST", "/v1/admin/rotate-key", {"key": "mine"})


@case("POST", "/v1/admin/rotate-key", 400)
def rotate_key_malformed_body(api):
    return api.call("POST", "/v1/admin/rotate-key", raw=b"{")


@case("POST", "/v1/admin/rotate-key", 413)
def rotate_key_oversized_body(api):
    return api.call("POST", "/v1/admin/rotate-key", {"pad": "x" * (MAX_BODY + 1024)})


@case("POST", "/v1/admin/rotate-key", 401)
def rotate_key_without_token(api):
    return api.call("POST", "/v1/admin/rotate-key", token=None)


@case("POST", "/v1/admin/rotate-key", 403)
def rotate_key_as_ws_admin(api):
    return api.call("POST", "/v1/admin/rotate-key", token=api.tokens["ws_admin"])


# --- registry: datasets, models, prediction sets ---------------------------------

REGISTRY_CSV = b"a,b,y\n1,x,0\n2,y,1\n3,z,0\n"


def registry_upload(api, token=None, data=REGISTRY_CSV, suffix=".csv"):
    """Upload `data` as a new file of the caller's workspace; its location."""
    token = token or api.tokens["member"]
    # A folder of its own: the same bytes under another name cannot go into
    # another user's content folder (docs/registry.md "Files").
    folder = f"reg-{uuid.uuid4().hex[:10]}"
    up = api.call("PUT", f"/v1/files?name={folder}{suffix}&upload_path={folder}", raw=data,
                  token=token)
    assert up.status == 201, f"set-up upload: {up!r}"
    return up.json["location"]


def registry_project(api, token=None):
    """A new project of the fixture's workspace (made by the member unless `token`)."""
    return api.new_project(token=token or api.tokens["member"])["project_id"]


def file_info(location, **params):
    info = {"connection_info": {"data_file": {"path": location}}}
    if params:
        info["data_params"] = params
    return info


def new_dataset(api, project=None, token=None, **body):
    """A dataset registered without validation; its record."""
    token = token or api.tokens["member"]
    project = project or registry_project(api, token)
    body = {"name": f"ds-{uuid.uuid4().hex[:10]}", "skip_validation": True,
            "data_info": file_info(registry_upload(api, token), label_col="y"), **body}
    return api.ok(201, "POST", f"/v1/projects/{project}/datasets", body, token=token)


def new_model(api, project=None, token=None, **body):
    token = token or api.tokens["member"]
    project = project or registry_project(api, token)
    body = {"name": f"model-{uuid.uuid4().hex[:10]}", **body}
    return api.ok(201, "POST", f"/v1/projects/{project}/models", body, token=token)


def new_predictions(api, token=None):
    """A prediction set (with its dataset and model) registered without validation."""
    token = token or api.tokens["member"]
    project = registry_project(api, token)
    ds = new_dataset(api, project, token)
    model = new_model(api, project, token)
    body = {"dataset_id": ds["dataset_id"], "model_id": model["model_id"],
            "skip_validation": True,
            "pred_info": {"connection_info": {"data_file": {
                "path": registry_upload(api, token, b"p\n0.1\n0.9\n0.3\n")}},
                "pred_params": {"pred_col": "p"}}}
    return api.ok(201, "POST", f"/v1/projects/{project}/predictions", body, token=token)


def members_integration(api):
    """An integration of the fixture's workspace with a members-level variable nobody set."""
    return api.new_integration(token=api.tokens["ws_admin"])["integration_id"]


# datasets

@case("POST", "/v1/projects/{project_id}/datasets", 201)
def register_dataset(api):
    project = registry_project(api)
    body = {"name": "reference", "tags": ["nightly"], "metadata": {"source": "test"},
            "data_info": file_info(registry_upload(api), label_col="y")}
    check_request_body("POST", "/v1/projects/{project_id}/datasets", body)
    resp = api.call("POST", f"/v1/projects/{project}/datasets", body, token=api.tokens["member"])
    assert resp.json["validity_status"] == "VALIDITY_STATUS_PENDING", resp
    assert resp.json["validation_job_id"], resp
    assert resp.json["data_info"]["connection_info"]["data_file"]["data_type"] == "csv"
    assert resp.json["created_by"] == api.users["member"]
    return resp


@case("POST", "/v1/projects/{project_id}/datasets", 201)
def register_dataset_with_a_loader_skipping_validation(api):
    project = registry_project(api)
    loader = registry_upload(api, data=b"def load(**kw):\n    return None\n", suffix=".py")
    body = {"name": "loaded", "skip_validation": True, "ct_info": {"x": 1},
            "data_info": {"connection_info": {"data_loading": {
                "path": loader, "load_func_name": "load",
                "loader_kwargs_json": "{\"day\": \"2024-01-01\"}"}},
                "data_params": {"timestamp_col": "t", "nrows": 10}}}
    check_request_body("POST", "/v1/projects/{project_id}/datasets", body)
    resp = api.call("POST", f"/v1/projects/{project}/datasets", body, token=api.tokens["member"])
    assert resp.json["validity_message"] == "validation skipped", resp
    assert resp.json["validation_job_id"] is None
    loading = resp.json["data_info"]["connection_info"]["data_loading"]
    assert loading["loader_kwargs"] == {"day": "2024-01-01"}
    assert "loader_kwargs_json" not in loading
    return resp


@case("POST", "/v1/projects/{project_id}/datasets", 400)
def register_dataset_unknown_field(api):
    resp = api.call("POST", f"/v1/projects/{registry_project(api)}/datasets",
                    {"name": "x", "data_info": file_info("assay://files/x.csv"), "colour": 1},
                    token=api.tokens["member"])
    assert "expected only: name, data_info" in resp.json["error"]["message"], resp
    return resp


@case("POST", "/v1/projects/{project_id}/datasets", 400)
def register_dataset_bad_data_info(api):
    resp = api.call("POST", f"/v1/projects/{registry_project(api)}/datasets",
                    {"name": "x", "data_info": {"connection_info": {"data_file": {
                        "path": "assay://files/x.csv"}}, "data_params": {"label": "y"}}},
                    token=api.tokens["member"])
    assert "data_info.data_params: unknown key 'label'" in resp.json["error"]["message"], resp
    return resp


@case("POST", "/v1/projects/{project_id}/datasets", 400)
def register_dataset_members_value_missing(api):
    integration = members_integration(api)
    resp = api.call("POST", f"/v1/projects/{registry_project(api)}/datasets",
                    {"name": "x", "integration_id": integration, "skip_validation": True,
                     "data_info": file_info(registry_upload(api))},
                    token=api.tokens["member"])
    assert "PERSONAL_KEY" in resp.json["error"]["message"], resp
    return resp


@case("POST", "/v1/projects/{project_id}/datasets", 401)
def register_dataset_without_token(api):
    return api.call("POST", f"/v1/projects/{registry_project(api)}/datasets",
                    {"name": "x", "data_info": file_info("assay://files/x.csv")}, token=None)


@case("POST", "/v1/projects/{project_id}/datasets", 403)
def register_dataset_as_viewer(api):
    return api.call("POST", f"/v1/projects/{registry_project(api)}/datasets",
                    {"name": "x", "data_info": file_info(registry_upload(api))},
                    token=api.tokens["viewer"])


@case("POST", "/v1/projects/{project_id}/datasets", 404)
def register_dataset_unknown_project(api):
    return api.call("POST", f"/v1/projects/{uuid.uuid4()}/datasets",
                    {"name": "x", "data_info": file_info("assay://files/x.csv")},
                    token=api.tokens["member"])


@case("POST", "/v1/projects/{project_id}/datasets", 404)
def register_dataset_file_not_uploaded(api):
    resp = api.call("POST", f"/v1/projects/{registry_project(api)}/datasets",
                    {"name": "x", "data_info": file_info("assay://files/none/x.csv")},
                    token=api.tokens["member"])
    assert resp.json["error"]["message"].startswith("data_info.connection_info.data_file.path:")
    return resp


@case("POST", "/v1/projects/{project_id}/datasets", 404)
def register_dataset_unknown_integration(api):
    return api.call("POST", f"/v1/projects/{registry_project(api)}/datasets",
                    {"name": "x", "integration_id": str(uuid.uuid4()),
                     "data_info": file_info(registry_upload(api))}, token=api.tokens["member"])


@case("POST", "/v1/projects/{project_id}/datasets", 409)
def register_dataset_duplicate_name(api):
    first = new_dataset(api)
    return api.call("POST", f"/v1/projects/{first['project_id']}/datasets",
                    {"name": first["name"], "skip_validation": True,
                     "data_info": first["data_info"]}, token=api.tokens["member"])


@case("POST", "/v1/projects/{project_id}/datasets", 413)
def register_dataset_oversized_body(api):
    return api.call("POST", f"/v1/projects/{registry_project(api)}/datasets",
                    {"name": "x", "data_info": file_info("assay://files/x.csv"),
                     "metadata": {"pad": "x" * (MAX_BODY + 1024)}}, token=api.tokens["member"])


@case("GET", "/v1/projects/{project_id}/datasets", 200)
def list_datasets(api):
    project = registry_project(api)
    made = [new_dataset(api, project), new_dataset(api, project)]
    resp = api.call("GET", f"/v1/projects/{project}/datasets", token=api.tokens["viewer"])
    assert [d["dataset_id"] for d in resp.json["datasets"]] == [m["dataset_id"] for m in made]
    return resp


@case("GET", "/v1/projects/{project_id}/datasets", 200)
def list_datasets_by_name(api):
    made = new_dataset(api)
    resp = api.call("GET", f"/v1/projects/{made['project_id']}/datasets?name={made['name']}",
                    token=api.tokens["viewer"])
    assert resp.json["datasets"] == [made]
    return resp


@case("GET", "/v1/projects/{project_id}/datasets", 400)
def list_datasets_name_with_nul(api):
    return api.call("GET", f"/v1/projects/{registry_project(api)}/datasets?name=a%00b",
                    token=api.tokens["viewer"])


@case("GET", "/v1/projects/{project_id}/datasets", 401)
def list_datasets_without_token(api):
    return api.call("GET", f"/v1/projects/{registry_project(api)}/datasets", token=None)


@case("GET", "/v1/projects/{project_id}/datasets", 404)
def list_datasets_of_another_workspace(api):
    project = api.new_project()["project_id"]  # the admin's own workspace
    return api.call("GET", f"/v1/projects/{project}/datasets", token=api.tokens["member"])


@case("GET", "/v1/datasets/{dataset_id}", 200)
def get_dataset(api):
    made = new_dataset(api)
    resp = api.call("GET", f"/v1/datasets/{made['dataset_id']}", token=api.tokens["viewer"])
    assert resp.json == made
    return resp


@case("GET", "/v1/datasets/{dataset_id}", 401)
def get_dataset_without_token(api):
    return api.call("GET", f"/v1/datasets/{new_dataset(api)['dataset_id']}", token=None)


@case("GET", "/v1/datasets/{dataset_id}", 404)
def get_unknown_dataset(api):
    return api.call("GET", f"/v1/datasets/{uuid.uuid4()}", token=api.tokens["viewer"])


@case("GET", "/v1/datasets/{dataset_id}", 404)
def get_dataset_of_another_workspace(api):
    made = new_dataset(api, token=api.token)
    return api.call("GET", f"/v1/datasets/{made['dataset_id']}", token=api.tokens["viewer"])


@case("DELETE", "/v1/datasets/{dataset_id}", 204)
def delete_own_dataset(api):
    made = new_dataset(api)
    resp = api.call("DELETE", f"/v1/datasets/{made['dataset_id']}", token=api.tokens["member"])
    assert api.call("GET", f"/v1/datasets/{made['dataset_id']}").status == 404
    return resp


@case("DELETE", "/v1/datasets/{dataset_id}", 204)
def delete_members_dataset_as_ws_admin(api):
    made = new_dataset(api)
    return api.call("DELETE", f"/v1/datasets/{made['dataset_id']}",
                    token=api.tokens["ws_admin"])


@case("DELETE", "/v1/datasets/{dataset_id}", 401)
def delete_dataset_without_token(api):
    return api.call("DELETE", f"/v1/datasets/{new_dataset(api)['dataset_id']}", token=None)


@case("DELETE", "/v1/datasets/{dataset_id}", 403)
def delete_dataset_as_viewer(api):
    return api.call("DELETE", f"/v1/datasets/{new_dataset(api)['dataset_id']}",
                    token=api.tokens["viewer"])


@case("DELETE", "/v1/datasets/{dataset_id}", 403)
def delete_others_dataset_as_member(api):
    _, other = api.new_person("WORKSPACE_ROLE_MEMBER")
    made = new_dataset(api, token=other)
    return api.call("DELETE", f"/v1/datasets/{made['dataset_id']}", token=api.tokens["member"])


@case("DELETE", "/v1/datasets/{dataset_id}", 404)
def delete_unknown_dataset(api):
    return api.call("DELETE", f"/v1/datasets/{uuid.uuid4()}", token=api.tokens["member"])


# models

@case("POST", "/v1/projects/{project_id}/models", 201)
def register_model(api):
    project = registry_project(api)
    body = {"name": "scorer", "external_id": "ext-1", "model_info": {"model_path": {
        "path": registry_upload(api, data=b"def predict_df(df):\n    return df\n",
                                suffix=".py")}}}
    check_request_body("POST", "/v1/projects/{project_id}/models", body)
    resp = api.call("POST", f"/v1/projects/{project}/models", body, token=api.tokens["member"])
    assert resp.json["external_id"] == "ext-1", resp
    return resp


@case("POST", "/v1/projects/{project_id}/models", 201)
def register_model_without_model_info(api):
    body = {"name": "no-model", "model_info": None}
    check_request_body("POST", "/v1/projects/{project_id}/models", body)
    resp = api.call("POST", f"/v1/projects/{registry_project(api)}/models", body,
                    token=api.tokens["member"])
    assert resp.json["model_info"] is None, resp
    return resp


@case("POST", "/v1/projects/{project_id}/models", 400)
def register_model_unknown_model_type(api):
    resp = api.call("POST", f"/v1/projects/{registry_project(api)}/models",
                    {"name": "x", "model_info": {"sagemaker": {}}}, token=api.tokens["member"])
    assert "model_info: unknown model type 'sagemaker'" in resp.json["error"]["message"], resp
    return resp


@case("POST", "/v1/projects/{project_id}/models", 400)
def register_model_members_value_missing(api):
    return api.call("POST", f"/v1/projects/{registry_project(api)}/models",
                    {"name": "x", "model_endpoint_integration_id": members_integration(api)},
                    token=api.tokens["member"])


@case("POST", "/v1/projects/{project_id}/models", 401)
def register_model_without_token(api):
    return api.call("POST", f"/v1/projects/{registry_project(api)}/models", {"name": "x"},
                    token=None)


@case("POST", "/v1/projects/{project_id}/models", 403)
def register_model_as_viewer(api):
    return api.call("POST", f"/v1/projects/{registry_project(api)}/models", {"name": "x"},
                    token=api.tokens["viewer"])


@case("POST", "/v1/projects/{project_id}/models", 404)
def register_model_file_not_uploaded(api):
    return api.call("POST", f"/v1/projects/{registry_project(api)}/models",
                    {"name": "x", "model_info": {"model_path": {"path": "assay://files/none"}}},
                    token=api.tokens["member"])


@case("POST", "/v1/projects/{project_id}/models", 409)
def register_model_duplicate_name(api):
    first = new_model(api)
    return api.call("POST", f"/v1/projects/{first['project_id']}/models",
                    {"name": first["name"]}, token=api.tokens["member"])


@case("POST", "/v1/projects/{project_id}/models", 413)
def register_model_oversized_body(api):
    return api.call("POST", f"/v1/projects/{registry_project(api)}/models",
                    {"name": "x", "metadata": {"pad": "x" * (MAX_BODY + 1024)}},
                    token=api.tokens["member"])


@case("GET", "/v1/projects/{project_id}/models", 200)
def list_models(api):
    made = new_model(api)
    resp = api.call("GET", f"/v1/projects/{made['project_id']}/models?name={made['name']}",
                    token=api.tokens["viewer"])
    assert resp.json["models"] == [made]
    return resp


@case("GET", "/v1/projects/{project_id}/models", 400)
def list_models_name_not_utf8(api):
    return api.call("GET", f"/v1/projects/{registry_project(api)}/models?name=%FF",
                    token=api.tokens["viewer"])


@case("GET", "/v1/projects/{project_id}/models", 401)
def list_models_without_token(api):
    return api.call("GET", f"/v1/projects/{registry_project(api)}/models", token=None)


@case("GET", "/v1/projects/{project_id}/models", 404)
def list_models_unknown_project(api):
    return api.call("GET", f"/v1/projects/{uuid.uuid4()}/models", token=api.tokens["viewer"])


@case("GET", "/v1/models/{model_id}", 200)
def get_model(api):
    made = new_model(api)
    resp = api.call("GET", f"/v1/models/{made['model_id']}", token=api.tokens["viewer"])
    assert resp.json == made
    return resp


@case("GET", "/v1/models/{model_id}", 401)
def get_model_without_token(api):
    return api.call("GET", f"/v1/models/{new_model(api)['model_id']}", token=None)


@case("GET", "/v1/models/{model_id}", 404)
def get_model_of_another_workspace(api):
    made = new_model(api, token=api.token)
    return api.call("GET", f"/v1/models/{made['model_id']}", token=api.tokens["viewer"])


@case("DELETE", "/v1/models/{model_id}", 204)
def delete_own_model(api):
    made = new_model(api)
    resp = api.call("DELETE", f"/v1/models/{made['model_id']}", token=api.tokens["member"])
    assert api.call("GET", f"/v1/models/{made['model_id']}").status == 404
    return resp


@case("DELETE", "/v1/models/{model_id}", 401)
def delete_model_without_token(api):
    return api.call("DELETE", f"/v1/models/{new_model(api)['model_id']}", token=None)


@case("DELETE", "/v1/models/{model_id}", 403)
def delete_others_model_as_member(api):
    made = new_model(api, token=api.tokens["ws_admin"])
    return api.call("DELETE", f"/v1/models/{made['model_id']}", token=api.tokens["member"])


@case("DELETE", "/v1/models/{model_id}", 404)
def delete_unknown_model(api):
    return api.call("DELETE", f"/v1/models/{uuid.uuid4()}", token=api.tokens["member"])


# prediction sets

@case("POST", "/v1/projects/{project_id}/predictions", 201)
def register_predictions(api):
    project = registry_project(api)
    ds, model = new_dataset(api, project), new_model(api, project)
    body = {"dataset_id": ds["dataset_id"], "model_id": model["model_id"],
            "pred_info": {"connection_info": {"data_file": {
                "path": registry_upload(api, data=b"p\n0.1\n0.9\n0.3\n")}},
                "pred_params": {"pred_col": "p"}}}
    check_request_body("POST", "/v1/projects/{project_id}/predictions", body)
    resp = api.call("POST", f"/v1/projects/{project}/predictions", body,
                    token=api.tokens["member"])
    assert resp.json["validation_job_id"], resp
    return resp


@case("POST", "/v1/projects/{project_id}/predictions", 400)
def register_predictions_of_another_project(api):
    ds, model = new_dataset(api), new_model(api)
    resp = api.call("POST", f"/v1/projects/{model['project_id']}/predictions",
                    {"dataset_id": ds["dataset_id"], "model_id": model["model_id"],
                     "pred_info": file_info("assay://files/x.csv")}, token=api.tokens["member"])
    assert "belongs to another project" in resp.json["error"]["message"], resp
    return resp


@case("POST", "/v1/projects/{project_id}/predictions", 400)
def register_predictions_bad_pred_info(api):
    return api.call("POST", f"/v1/projects/{registry_project(api)}/predictions",
                    {"dataset_id": "d", "model_id": "m", "pred_info": {"connection_info": {}}},
                    token=api.tokens["member"])


@case("POST", "/v1/projects/{project_id}/predictions", 401)
def register_predictions_without_token(api):
    return api.call("POST", f"/v1/projects/{registry_project(api)}/predictions",
                    {"dataset_id": "d", "model_id": "m",
                     "pred_info": file_info("assay://files/x.csv")}, token=None)


@case("POST", "/v1/projects/{project_id}/predictions", 403)
def register_predictions_as_viewer(api):
    return api.call("POST", f"/v1/projects/{registry_project(api)}/predictions",
                    {"dataset_id": "d", "model_id": "m",
                     "pred_info": file_info("assay://files/x.csv")}, token=api.tokens["viewer"])


@case("POST", "/v1/projects/{project_id}/predictions", 404)
def register_predictions_unknown_dataset(api):
    model = new_model(api)
    return api.call("POST", f"/v1/projects/{model['project_id']}/predictions",
                    {"dataset_id": str(uuid.uuid4()), "model_id": model["model_id"],
                     "pred_info": file_info("assay://files/x.csv")}, token=api.tokens["member"])


@case("POST", "/v1/projects/{project_id}/predictions", 409)
def register_predictions_twice(api):
    made = new_predictions(api)
    return api.call("POST", f"/v1/projects/{made['project_id']}/predictions",
                    {"dataset_id": made["dataset_id"], "model_id": made["model_id"],
                     "skip_validation": True, "pred_info": made["pred_info"]},
                    token=api.tokens["member"])


@case("POST", "/v1/projects/{project_id}/predictions", 413)
def register_predictions_oversized_body(api):
    return api.call("POST", f"/v1/projects/{registry_project(api)}/predictions",
                    {"dataset_id": "d", "model_id": "m", "pred_info": {},
                     "metadata": {"pad": "x" * (MAX_BODY + 1024)}}, token=api.tokens["member"])


@case("GET", "/v1/projects/{project_id}/predictions", 200)
def list_predictions(api):
    made = new_predictions(api)
    resp = api.call("GET", f"/v1/projects/{made['project_id']}/predictions?model_id="
                    f"{made['model_id']}&dataset_id={made['dataset_id']}",
                    token=api.tokens["viewer"])
    assert resp.json["predictions"] == [made]
    return resp


@case("GET", "/v1/projects/{project_id}/predictions", 400)
def list_predictions_filter_with_nul(api):
    return api.call("GET", f"/v1/projects/{registry_project(api)}/predictions?model_id=%00",
                    token=api.tokens["viewer"])


@case("GET", "/v1/projects/{project_id}/predictions", 401)
def list_predictions_without_token(api):
    return api.call("GET", f"/v1/projects/{registry_project(api)}/predictions", token=None)


@case("GET", "/v1/projects/{project_id}/predictions", 404)
def list_predictions_unknown_project(api):
    return api.call("GET", f"/v1/projects/{uuid.uuid4()}/predictions", token=api.tokens["viewer"])


@case("GET", "/v1/predictions/{prediction_id}", 200)
def get_predictions(api):
    made = new_predictions(api)
    resp = api.call("GET", f"/v1/predictions/{made['prediction_id']}",
                    token=api.tokens["viewer"])
    assert resp.json == made
    return resp


@case("GET", "/v1/predictions/{prediction_id}", 401)
def get_predictions_without_token(api):
    return api.call("GET", f"/v1/predictions/{uuid.uuid4()}", token=None)


@case("GET", "/v1/predictions/{prediction_id}", 404)
def get_unknown_predictions(api):
    return api.call("GET", f"/v1/predictions/{uuid.uuid4()}", token=api.tokens["viewer"])


@case("DELETE", "/v1/predictions/{prediction_id}", 204)
def delete_own_predictions(api):
    made = new_predictions(api)
    resp = api.call("DELETE", f"/v1/predictions/{made['prediction_id']}",
                    token=api.tokens["member"])
    assert api.call("GET", f"/v1/datasets/{made['dataset_id']}",
                    token=api.tokens["viewer"]).status == 200
    return resp


@case("DELETE", "/v1/predictions/{prediction_id}", 401)
def delete_predictions_without_token(api):
    return api.call("DELETE", f"/v1/predictions/{uuid.uuid4()}", token=None)


@case("DELETE", "/v1/predictions/{prediction_id}", 403)
def delete_predictions_as_viewer(api):
    made = new_predictions(api)
    return api.call("DELETE", f"/v1/predictions/{made['prediction_id']}",
                    token=api.tokens["viewer"])


@case("DELETE", "/v1/predictions/{prediction_id}", 404)
def delete_unknown_predictions(api):
    return api.call("DELETE", f"/v1/predictions/{uuid.uuid4()}", token=api.tokens["member"])


@case("DELETE", "/v1/projects/{project_id}", 409)
def delete_project_holding_a_dataset(api):
    made = new_dataset(api)
    resp = api.call("DELETE", f"/v1/projects/{made['project_id']}", token=api.tokens["member"])
    assert api.call("GET", f"/v1/datasets/{made['dataset_id']}",
                    token=api.tokens["member"]).status == 200
    # force deletes it with its entries
    forced = api.call("DELETE", f"/v1/projects/{made['project_id']}?force=true",
                      token=api.tokens["member"])
    assert forced.status == 204, forced
    assert api.call("GET", f"/v1/datasets/{made['dataset_id']}",
                    token=api.tokens["member"]).status == 404
    return resp


# --- jobs ----------------------------------------------------------------------

def new_job(api, token=None):
    """The validation job of a small CSV dataset registered (by `token`, default the
    fixture's member) in a new project of the caller's workspace; its id."""
    token = token or api.tokens["member"]
    project = api.new_project(token=token)
    data = f"x,y\n1,{uuid.uuid4().hex}\n2,b\n".encode()
    up = api.call("PUT", f"/v1/files?name=job-{uuid.uuid4().hex[:8]}.csv", raw=data, token=token)
    assert up.status == 201, f"set-up upload: {up!r}"
    ds = api.ok(201, "POST", f"/v1/projects/{project['project_id']}/datasets",
                {"name": f"ds-{uuid.uuid4().hex[:8]}",
                 "data_info": {"connection_info": {"data_file": {"path": up.json["location"]}},
                               "data_params": {"label_col": "x"}}}, token=token)
    assert ds["validation_job_id"], ds
    return ds["validation_job_id"]


def finished_job(api, job_id, token):
    """GET the job until it has ended (workers run it in the background)."""
    for _ in range(600):
        resp = api.call("GET", f"/v1/jobs/{job_id}", token=token)
        if resp.status != 200 or resp.json["status"] not in ("JOB_STATUS_PENDING",
                                                             "JOB_STATUS_RUNNING"):
            return resp
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end: {resp!r}")


@case("GET", "/v1/jobs/{job_id}", 200)
def get_finished_validation_job(api):
    job_id = new_job(api)
    resp = finished_job(api, job_id, api.tokens["member"])
    assert resp.json["status"] == "JOB_STATUS_SUCCEEDED", resp
    assert resp.json["job_type"] == "JOB_TYPE_DATASET_VALIDATION"
    assert resp.json["submitted_by"] == api.users["member"]
    assert resp.json["result"]["validity_status"] == "VALIDITY_STATUS_VALID"
    assert resp.json["result"]["row_count"] == 2
    assert isinstance(resp.json["start_time_secs"], int)
    return resp


@case("GET", "/v1/jobs/{job_id}", 200)
def get_job_as_viewer(api):
    return api.call("GET", f"/v1/jobs/{new_job(api)}", token=api.tokens["viewer"])


@case("GET", "/v1/jobs/{job_id}", 401)
def get_job_without_token(api):
    return api.call("GET", f"/v1/jobs/{api.real_ids()['job_id']}", token=None)


@case("GET", "/v1/jobs/{job_id}", 404)
def get_unknown_job(api):
    return api.call("GET", f"/v1/jobs/{uuid.uuid4()}")


@case("GET", "/v1/jobs/{job_id}", 404)
def get_job_of_another_workspace(api):
    job_id = new_job(api, token=api.token)  # the admin's own workspace
    return api.call("GET", f"/v1/jobs/{job_id}", token=api.tokens["member"])


@case("GET", "/v1/jobs/{job_id}/log", 200)
def get_job_log(api):
    job_id = new_job(api)
    finished_job(api, job_id, api.tokens["member"])
    resp = api.call("GET", f"/v1/jobs/{job_id}/log", token=api.tokens["viewer"])
    assert resp.json["job_id"] == job_id
    assert "validating dataset" in resp.json["log"]
    return resp


@case("GET", "/v1/jobs/{job_id}/log", 401)
def get_job_log_without_token(api):
    return api.call("GET", f"/v1/jobs/{api.real_ids()['job_id']}/log", token=None)


@case("GET", "/v1/jobs/{job_id}/log", 404)
def get_job_log_of_another_workspace(api):
    job_id = new_job(api, token=api.token)
    return api.call("GET", f"/v1/jobs/{job_id}/log", token=api.tokens["viewer"])


@case("GET", "/v1/jobs/{job_id}/log", 404)
def get_log_of_unknown_job(api):
    return api.call("GET", f"/v1/jobs/{uuid.uuid4()}/log")


# --- stress tests ----------------------------------------------------------------

def stress_csv(rows, shift, seed):
    """A binary classification CSV: x1 (shifted by `shift`), x2, c, y, p."""
    rnd = random.Random(seed)
    lines = ["x1,x2,c,y,p"]
    for _ in range(rows):
        x1, x2 = rnd.random() * 10 + shift, rnd.random() * 5
        p = 1 / (1 + math.exp(-(x1 - 5 - shift) * 0.8))
        lines.append(f"{x1:.4f},{x2:.4f},{rnd.choice('abc')},{int(rnd.random() < p)},{p:.6f}")
    return ("\n".join(lines) + "\n").encode()


def stress_setup(api, token=None):
    """A binary classification project (made by `token`, default the member) with a model and
    two VALID datasets; {project_id, model_id, ref, eval}."""
    token = token or api.tokens["member"]
    project = api.new_project(token=token,
                              model_task="MODEL_TASK_BINARY_CLASSIFICATION")["project_id"]
    ids = {"project_id": project,
           "model_id": new_model(api, project, token)["model_id"]}
    for key, shift, seed in (("ref", 0.0, 1), ("eval", 3.0, 2)):
        ds = api.ok(201, "POST", f"/v1/projects/{project}/datasets",
                    {"name": f"{key}-{uuid.uuid4().hex[:8]}",
                     "data_info": file_info(registry_upload(api, token, stress_csv(300, shift, seed)),
                                            label_col="y", pred_col="p")}, token=token)
        job = finished_job(api, ds["validation_job_id"], token)
        assert job.json["result"]["validity_status"] == "VALIDITY_STATUS_VALID", job
        ids[key] = ds["dataset_id"]
    return ids


def stress_config(ids, name="conformance run", **extra):
    return {"run_name": name, "model_id": ids["model_id"],
            "data_info": {"ref_dataset_id": ids["ref"], "eval_dataset_id": ids["eval"]}, **extra}


def stress_run(api):
    """A finished test run in the fixture's workspace (made once): {project_id, test_run_id,
    job_id, ...}."""
    if getattr(api, "_stress_run", None) is None:
        ids = stress_setup(api)
        job = api.ok(202, "POST", f"/v1/projects/{ids['project_id']}/stress-tests",
                     stress_config(ids), token=api.tokens["member"])
        done = finished_job(api, job["job_id"], api.tokens["member"])
        assert done.json["status"] == "JOB_STATUS_SUCCEEDED", done
        ids["job_id"] = job["job_id"]
        ids["test_run_id"] = done.json["result"]["test_run_id"]
        api._stress_run = ids
    return api._stress_run


def slow_validation_job(api, token=None):
    """A dataset validation job that runs a loader sleeping for a minute (RUNNING until
    cancelled); its id."""
    token = token or api.tokens["member"]
    project = registry_project(api, token)
    loader = registry_upload(api, token, b"import time\ndef load():\n    time.sleep(60)\n",
                             suffix=".py")
    ds = api.ok(201, "POST", f"/v1/projects/{project}/datasets",
                {"name": f"slow-{uuid.uuid4().hex[:8]}", "data_info": {"connection_info": {
                    "data_loading": {"path": loader, "load_func_name": "load"}}}}, token=token)
    return ds["validation_job_id"]


# starting a run

@case("POST", "/v1/projects/{project_id}/stress-tests", 202)
def start_stress_test(api):
    ids = stress_setup(api)
    body = stress_config(ids, run_time_info={"random_seed": 7},
                         test_suite_config={"global_test_sensitivity": "TEST_SENSITIVITY_DEFAULT"})
    check_request_body("POST", "/v1/projects/{project_id}/stress-tests", body)
    resp = api.call("POST", f"/v1/projects/{ids['project_id']}/stress-tests", body,
                    token=api.tokens["member"])
    assert resp.json["job_type"] == "JOB_TYPE_STRESS_TEST", resp
    assert resp.json["cancel_requested"] is False
    done = finished_job(api, resp.json["job_id"], api.tokens["member"])
    assert done.json["status"] == "JOB_STATUS_SUCCEEDED", done
    assert done.json["progress"]["done"] == done.json["progress"]["total"] > 0
    return resp


@case("POST", "/v1/projects/{project_id}/stress-tests", 400)
def start_stress_test_unknown_category(api):
    ids = stress_setup(api)
    resp = api.call("POST", f"/v1/projects/{ids['project_id']}/stress-tests",
                    stress_config(ids, categories=["TEST_CATEGORY_TYPE_NOPE"]),
                    token=api.tokens["member"])
    assert "TEST_CATEGORY_TYPE_DRIFT" in resp.json["error"]["message"], resp
    return resp


@case("POST", "/v1/projects/{project_id}/stress-tests", 400)
def start_stress_test_invalid_dataset(api):
    ids = stress_setup(api)
    ds = api.ok(201, "POST", f"/v1/projects/{ids['project_id']}/datasets",
                {"name": "bad", "data_info": file_info(registry_upload(api), label_col="zz")},
                token=api.tokens["member"])
    finished_job(api, ds["validation_job_id"], api.tokens["member"])
    resp = api.call("POST", f"/v1/projects/{ids['project_id']}/stress-tests",
                    stress_config(dict(ids, ref=ds["dataset_id"])), token=api.tokens["member"])
    assert "VALIDITY_STATUS_INVALID" in resp.json["error"]["message"], resp
    return resp


@case("POST", "/v1/projects/{project_id}/stress-tests", 401)
def start_stress_test_without_token(api):
    return api.call("POST", f"/v1/projects/{registry_project(api)}/stress-tests", {}, token=None)


@case("POST", "/v1/projects/{project_id}/stress-tests", 403)
def start_stress_test_as_viewer(api):
    ids = stress_setup(api)
    return api.call("POST", f"/v1/projects/{ids['project_id']}/stress-tests", stress_config(ids),
                    token=api.tokens["viewer"])


@case("POST", "/v1/projects/{project_id}/stress-tests", 404)
def start_stress_test_unknown_model(api):
    ids = stress_setup(api)
    resp = api.call("POST", f"/v1/projects/{ids['project_id']}/stress-tests",
                    stress_config(dict(ids, model_id=str(uuid.uuid4()))),
                    token=api.tokens["member"])
    assert resp.json["error"]["message"].startswith("model_id: model"), resp
    return resp


@case("POST", "/v1/projects/{project_id}/stress-tests", 404)
def start_stress_test_unknown_project(api):
    return api.call("POST", f"/v1/projects/{uuid.uuid4()}/stress-tests", {"run_name": "x"},
                    token=api.tokens["member"])


@case("POST", "/v1/projects/{project_id}/stress-tests", 413)
def start_stress_test_oversized_body(api):
    return api.call("POST", f"/v1/projects/{registry_project(api)}/stress-tests",
                    {"run_name": "x" * (MAX_BODY + 1024)}, token=api.tokens["member"])


# categories

@case("PUT", "/v1/projects/{project_id}/stress-test-categories", 200)
def update_stress_test_categories(api):
    project = registry_project(api)
    before = api.ok(200, "GET", f"/v1/projects/{project}", token=api.tokens["member"])
    assert len(before["stress_test_categories"]) == 6
    body = {"categories": ["TEST_CATEGORY_TYPE_DRIFT", "TEST_CATEGORY_TYPE_ABNORMAL_INPUTS"]}
    check_request_body("PUT", "/v1/projects/{project_id}/stress-test-categories", body)
    resp = api.call("PUT", f"/v1/projects/{project}/stress-test-categories", body,
                    token=api.tokens["member"])
    assert resp.json["stress_test_categories"] == body["categories"], resp
    after = api.ok(200, "GET", f"/v1/projects/{project}", token=api.tokens["viewer"])
    assert after == resp.json
    return resp


@case("PUT", "/v1/projects/{project_id}/stress-test-categories", 400)
def update_stress_test_categories_unknown(api):
    resp = api.call("PUT", f"/v1/projects/{registry_project(api)}/stress-test-categories",
                    {"categories": ["TEST_CATEGORY_TYPE_DRIFTY"]}, token=api.tokens["member"])
    assert "TEST_CATEGORY_TYPE_DRIFT" in resp.json["error"]["message"], resp
    return resp


@case("PUT", "/v1/projects/{project_id}/stress-test-categories", 400)
def update_stress_test_categories_missing(api):
    return api.call("PUT", f"/v1/projects/{registry_project(api)}/stress-test-categories", {},
                    token=api.tokens["member"])


@case("PUT", "/v1/projects/{project_id}/stress-test-categories", 401)
def update_stress_test_categories_without_token(api):
    return api.call("PUT", f"/v1/projects/{registry_project(api)}/stress-test-categories",
                    {"categories": ["TEST_CATEGORY_TYPE_DRIFT"]}, token=None)


@case("PUT", "/v1/projects/{project_id}/stress-test-categories", 403)
def update_stress_test_categories_as_viewer(api):
    return api.call("PUT", f"/v1/projects/{registry_project(api)}/stress-test-categories",
                    {"categories": ["TEST_CATEGORY_TYPE_DRIFT"]}, token=api.tokens["viewer"])


@case("PUT", "/v1/projects/{project_id}/stress-test-categories", 404)
def update_stress_test_categories_of_another_workspace(api):
    project = api.new_project()["project_id"]  # the admin's own workspace
    return api.call("PUT", f"/v1/projects/{project}/stress-test-categories",
                    {"categories": ["TEST_CATEGORY_TYPE_DRIFT"]}, token=api.tokens["member"])


@case("PUT", "/v1/projects/{project_id}/stress-test-categories", 413)
def update_stress_test_categories_oversized_body(api):
    return api.call("PUT", f"/v1/projects/{registry_project(api)}/stress-test-categories",
                    {"categories": ["x" * (MAX_BODY + 1024)]}, token=api.tokens["member"])


# a project's jobs

@case("GET", "/v1/projects/{project_id}/jobs", 200)
def list_project_jobs(api):
    run = stress_run(api)
    resp = api.call("GET", f"/v1/projects/{run['project_id']}/jobs", token=api.tokens["viewer"])
    types = [j["job_type"] for j in resp.json["jobs"]]
    assert types.count("JOB_TYPE_DATASET_VALIDATION") == 2 and types[0] == "JOB_TYPE_STRESS_TEST"
    return resp


@case("GET", "/v1/projects/{project_id}/jobs", 200)
def list_project_jobs_filtered(api):
    run = stress_run(api)
    resp = api.call("GET", f"/v1/projects/{run['project_id']}/jobs?status=JOB_STATUS_SUCCEEDED,"
                           "JOB_STATUS_FAILED&job_type=JOB_TYPE_STRESS_TEST",
                    token=api.tokens["member"])
    assert [j["job_id"] for j in resp.json["jobs"]] == [run["job_id"]], resp
    return resp


@case("GET", "/v1/projects/{project_id}/jobs", 400)
def list_project_jobs_unknown_status(api):
    resp = api.call("GET", f"/v1/projects/{registry_project(api)}/jobs?status=JOB_STATUS_DONE",
                    token=api.tokens["member"])
    assert "JOB_STATUS_CANCELLED" in resp.json["error"]["message"], resp
    return resp


@case("GET", "/v1/projects/{project_id}/jobs", 401)
def list_project_jobs_without_token(api):
    return api.call("GET", f"/v1/projects/{registry_project(api)}/jobs", token=None)


@case("GET", "/v1/projects/{project_id}/jobs", 404)
def list_project_jobs_of_another_workspace(api):
    project = api.new_project()["project_id"]
    return api.call("GET", f"/v1/projects/{project}/jobs", token=api.tokens["viewer"])


# cancelling a job

@case("POST", "/v1/jobs/{job_id}/cancel", 200)
def cancel_running_job(api):
    job_id = slow_validation_job(api)
    for _ in range(600):
        if api.ok(200, "GET", f"/v1/jobs/{job_id}")["status"] == "JOB_STATUS_RUNNING":
            break
        time.sleep(0.05)
    resp = api.call("POST", f"/v1/jobs/{job_id}/cancel", token=api.tokens["member"])
    assert resp.json["cancel_requested"] is True or resp.json["status"] == "JOB_STATUS_CANCELLED"
    done = finished_job(api, job_id, api.tokens["member"])
    assert done.json["status"] == "JOB_STATUS_CANCELLED", done
    assert done.json["error_msg"] == "the job was cancelled"
    return resp


@case("POST", "/v1/jobs/{job_id}/cancel", 400)
def cancel_finished_job(api):
    run = stress_run(api)
    resp = api.call("POST", f"/v1/jobs/{run['job_id']}/cancel", token=api.tokens["member"])
    assert "already finished (JOB_STATUS_SUCCEEDED)" in resp.json["error"]["message"], resp
    return resp


@case("POST", "/v1/jobs/{job_id}/cancel", 401)
def cancel_job_without_token(api):
    return api.call("POST", f"/v1/jobs/{api.real_ids()['job_id']}/cancel", token=None)


@case("POST", "/v1/jobs/{job_id}/cancel", 403)
def cancel_job_as_viewer(api):
    return api.call("POST", f"/v1/jobs/{stress_run(api)['job_id']}/cancel",
                    token=api.tokens["viewer"])


@case("POST", "/v1/jobs/{job_id}/cancel", 404)
def cancel_job_of_another_workspace(api):
    job_id = new_job(api, token=api.token)  # the admin's own workspace
    return api.call("POST", f"/v1/jobs/{job_id}/cancel", token=api.tokens["member"])


# test runs

def run_path(api, suffix=""):
    return f"/v1/test-runs/{stress_run(api)['test_run_id']}{suffix}"


@case("GET", "/v1/projects/{project_id}/test-runs", 200)
def list_test_runs(api):
    run = stress_run(api)
    resp = api.call("GET", f"/v1/projects/{run['project_id']}/test-runs",
                    token=api.tokens["viewer"])
    assert [r["test_run_id"] for r in resp.json["test_runs"]] == [run["test_run_id"]], resp
    assert "test_batches" not in resp.json["test_runs"][0]
    return resp


@case("GET", "/v1/projects/{project_id}/test-runs", 401)
def list_test_runs_without_token(api):
    return api.call("GET", f"/v1/projects/{registry_project(api)}/test-runs", token=None)


@case("GET", "/v1/projects/{project_id}/test-runs", 404)
def list_test_runs_of_another_workspace(api):
    return api.call("GET", f"/v1/projects/{stress_run(api)['project_id']}/test-runs",
                    token=api.token)


@case("GET", "/v1/test-runs/{test_run_id}", 200)
def get_test_run(api):
    resp = api.call("GET", run_path(api), token=api.tokens["viewer"])
    assert resp.json["name"] == "conformance run" and resp.json["data"]["pred_source"] == "pred_col"
    return resp


@case("GET", "/v1/test-runs/{test_run_id}", 401)
def get_test_run_without_token(api):
    return api.call("GET", run_path(api), token=None)


@case("GET", "/v1/test-runs/{test_run_id}", 404)
def get_unknown_test_run(api):
    return api.call("GET", f"/v1/test-runs/{uuid.uuid4()}", token=api.tokens["viewer"])


@case("GET", "/v1/test-runs/{test_run_id}", 404)
def get_test_run_of_another_workspace(api):
    return api.call("GET", run_path(api), token=api.token)


@case("GET", "/v1/test-runs/{test_run_id}/document", 200)
def get_test_run_document(api):
    resp = api.call("GET", run_path(api, "/document"), token=api.tokens["viewer"])
    cases = sum(len(b["test_cases"]) for b in resp.json["test_batches"])
    assert cases == resp.json["summary_counts"]["total"] > 0
    return resp


@case("GET", "/v1/test-runs/{test_run_id}/document", 401)
def get_test_run_document_without_token(api):
    return api.call("GET", run_path(api, "/document"), token=None)


@case("GET", "/v1/test-runs/{test_run_id}/document", 404)
def get_test_run_document_of_another_workspace(api):
    return api.call("GET", run_path(api, "/document"), token=api.token)


@case("GET", "/v1/test-runs/{test_run_id}/result", 200)
def get_test_run_result(api):
    resp = api.call("GET", run_path(api, "/result"), token=api.tokens["viewer"])
    summary = api.ok(200, "GET", run_path(api), token=api.tokens["viewer"])
    assert resp.json["summary_counts.total"] == summary["summary_counts"]["total"]
    return resp


@case("GET", "/v1/test-runs/{test_run_id}/result", 401)
def get_test_run_result_without_token(api):
    return api.call("GET", run_path(api, "/result"), token=None)


@case("GET", "/v1/test-runs/{test_run_id}/result", 404)
def get_unknown_test_run_result(api):
    return api.call("GET", f"/v1/test-runs/{uuid.uuid4()}/result", token=api.tokens["viewer"])


@case("GET", "/v1/test-runs/{test_run_id}/test-cases", 200)
def get_test_cases(api):
    resp = api.call("GET", run_path(api, "/test-cases"), token=api.tokens["viewer"])
    assert all(len(row) == 8 for row in resp.json["test_cases"])
    return resp


@case("GET", "/v1/test-runs/{test_run_id}/test-cases", 200)
def get_test_cases_with_metrics(api):
    resp = api.call("GET", run_path(api, "/test-cases?show_metrics=true&"
                                         "test_type=numeric_feature_drift"),
                    token=api.tokens["viewer"])
    rows = resp.json["test_cases"]
    assert [r["features"] for r in rows] == [["x1"], ["x2"]], rows
    assert rows[0]["severity"] != "SEVERITY_PASS" and rows[1]["severity"] == "SEVERITY_PASS"
    assert all(isinstance(r["psi"], float) for r in rows)
    return resp


@case("GET", "/v1/test-runs/{test_run_id}/test-cases", 400)
def get_test_cases_bad_show_metrics(api):
    return api.call("GET", run_path(api, "/test-cases?show_metrics=maybe"),
                    token=api.tokens["viewer"])


@case("GET", "/v1/test-runs/{test_run_id}/test-cases", 401)
def get_test_cases_without_token(api):
    return api.call("GET", run_path(api, "/test-cases"), token=None)


@case("GET", "/v1/test-runs/{test_run_id}/test-cases", 404)
def get_test_cases_unknown_test_type(api):
    resp = api.call("GET", run_path(api, "/test-cases?test_type=nope"), token=api.tokens["viewer"])
    assert "numeric_feature_drift" in resp.json["error"]["message"], resp
    return resp


@case("GET", "/v1/test-runs/{test_run_id}/categories", 200)
def get_category_results(api):
    resp = api.call("GET", run_path(api, "/categories?show_metrics=false"),
                    token=api.tokens["viewer"])
    assert resp.json["categories"], resp
    return resp


@case("GET", "/v1/test-runs/{test_run_id}/categories", 400)
def get_category_results_bad_show_metrics(api):
    return api.call("GET", run_path(api, "/categories?show_metrics=2"), token=api.tokens["viewer"])


@case("GET", "/v1/test-runs/{test_run_id}/categories", 401)
def get_category_results_without_token(api):
    return api.call("GET", run_path(api, "/categories"), token=None)


@case("GET", "/v1/test-runs/{test_run_id}/categories", 404)
def get_category_results_of_another_workspace(api):
    return api.call("GET", run_path(api, "/categories"), token=api.token)


@case("GET", "/v1/test-runs/{test_run_id}/test-batches", 200)
def list_test_batches(api):
    resp = api.call("GET", run_path(api, "/test-batches"), token=api.tokens["viewer"])
    assert resp.json["test_batches"] and all("test_cases" not in b
                                             for b in resp.json["test_batches"])
    return resp


@case("GET", "/v1/test-runs/{test_run_id}/test-batches", 401)
def list_test_batches_without_token(api):
    return api.call("GET", run_path(api, "/test-batches"), token=None)


@case("GET", "/v1/test-runs/{test_run_id}/test-batches", 404)
def list_test_batches_of_unknown_run(api):
    return api.call("GET", f"/v1/test-runs/{uuid.uuid4()}/test-batches",
                    token=api.tokens["viewer"])


@case("GET", "/v1/test-runs/{test_run_id}/test-batches/{test_type}", 200)
def get_test_batch(api):
    resp = api.call("GET", run_path(api, "/test-batches/numeric_feature_drift"),
                    token=api.tokens["viewer"])
    assert len(resp.json["test_cases"]) == 2, resp
    return resp


@case("GET", "/v1/test-runs/{test_run_id}/test-batches/{test_type}", 401)
def get_test_batch_without_token(api):
    return api.call("GET", run_path(api, "/test-batches/numeric_feature_drift"), token=None)


@case("GET", "/v1/test-runs/{test_run_id}/test-batches/{test_type}", 404)
def get_test_batch_unknown_type(api):
    resp = api.call("GET", run_path(api, "/test-batches/nope"), token=api.tokens["viewer"])
    assert "its test types: " in resp.json["error"]["message"], resp
    return resp


@case("GET", "/v1/test-runs/{test_run_id}/report", 200)
def get_test_run_report(api):
    resp = api.call("GET", run_path(api, "/report"), token=api.tokens["viewer"])
    assert "<html" in resp.json["html"].lower(), resp
    return resp


@case("GET", "/v1/test-runs/{test_run_id}/report", 401)
def get_test_run_report_without_token(api):
    return api.call("GET", run_path(api, "/report"), token=None)


@case("GET", "/v1/test-runs/{test_run_id}/report", 404)
def get_test_run_report_of_another_workspace(api):
    return api.call("GET", run_path(api, "/report"), token=api.token)


# --- files ---------------------------------------------------------------------

def upload(api, query, data, token=Api._DEFAULT):
    """PUT /v1/files?<query> with `data` as the raw body (application/octet-stream)."""
    headers = {"Content-Type": "application/octet-stream"}
    token = api.token if token is Api._DEFAULT else token
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(f"{api.base}/v1/files?{query}", data=data, method="PUT",
                                 headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return Response(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        with e:
            return Response(e.code, e.headers, e.read())


def uploaded(api, folder, data=None, token=None):
    """A file uploaded by the member into a fresh folder under `folder`; its record."""
    data = data if data is not None else uuid.uuid4().bytes
    where = f"{folder}/{uuid.uuid4().hex[:8]}"
    resp = upload(api, f"name=f.bin&upload_path={where}", data,
                  token=token or api.tokens["member"])
    assert resp.status == 201, resp
    return resp.json


def file_query(**params):
    return urllib.parse.urlencode(params)


@case("PUT", "/v1/files", 201)
def upload_file_default_folder(api):
    data = b"when,amount\n2024-01-01,3\n" + uuid.uuid4().hex.encode()
    resp = upload(api, "name=data.csv", data, token=api.tokens["member"])
    digest = hashlib.blake2b(data, digest_size=32).hexdigest()
    assert resp.json["blake2b"] == digest
    assert resp.json["location"] == f"assay://files/{digest[:16]}/data.csv"
    assert resp.json["size"] == len(data)
    assert resp.json["uploaded_by"] == api.users["member"]
    again = upload(api, "name=data.csv", data, token=api.tokens["member"])
    assert again.json["location"] == resp.json["location"], "same content, same location"
    return resp


@case("PUT", "/v1/files", 201)
def upload_file_into_folder_beyond_max_body(api):
    data = bytes(range(256)) * ((MAX_BODY * 2) // 256)  # streamed: --max-body does not apply
    resp = upload(api, file_query(name="big.bin", upload_path="conformance/big/"), data,
                  token=api.tokens["member"])
    assert resp.json["location"] == "assay://files/conformance/big/big.bin"
    assert resp.json["blake2b"] == hashlib.blake2b(data, digest_size=32).hexdigest()
    return resp


@case("PUT", "/v1/files", 400)
def upload_file_without_name(api):
    return upload(api, "upload_path=x", b"data", token=api.tokens["member"])


@case("PUT", "/v1/files", 400)
def upload_file_with_empty_upload_path(api):
    resp = upload(api, "name=x.csv&upload_path=", b"data", token=api.tokens["member"])
    assert "upload_path must not be empty" in resp.json["error"]["message"]
    return resp


@case("PUT", "/v1/files", 400)
def upload_file_traversing_up(api):
    resp = upload(api, file_query(name="x.csv", upload_path="a/../../b"), b"data",
                  token=api.tokens["member"])
    assert "'..'" in resp.json["error"]["message"]
    return resp


@case("PUT", "/v1/files", 400)
def upload_file_with_absolute_path(api):
    return upload(api, file_query(name="x.csv", upload_path="/etc"), b"data",
                  token=api.tokens["member"])


@case("PUT", "/v1/files", 400)
def upload_file_name_with_slash(api):
    return upload(api, file_query(name="a/b.csv"), b"data", token=api.tokens["member"])


@case("PUT", "/v1/files", 401)
def upload_file_without_token(api):
    return upload(api, "name=x.csv", b"data", token=None)


@case("PUT", "/v1/files", 403)
def upload_file_as_viewer(api):
    return upload(api, "name=x.csv", b"data", token=api.tokens["viewer"])


@case("PUT", "/v1/files", 409)
def upload_file_under_a_file(api):
    rec = uploaded(api, "conformance/conflict")
    return upload(api, file_query(name="x.csv", upload_path=rec["path"]), b"data",
                  token=api.tokens["member"])


@case("PUT", "/v1/files", 413)
def upload_file_larger_than_the_disk(api):
    # Announce far more than any disk holds (and than the largest upload, 64
    # GiB by default); the server answers before the body.
    host, port = api.base.split("//", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest("PUT", "/v1/files?name=huge.bin")
        conn.putheader("Authorization", f"Bearer {api.tokens['member']}")
        conn.putheader("Content-Type", "application/octet-stream")
        conn.putheader("Content-Length", str(1 << 62))
        conn.endheaders()
        r = conn.getresponse()
        resp = Response(r.status, r.headers, r.read())
    finally:
        conn.close()
    message = resp.json["error"]["message"]
    assert "limit of 68719476736 bytes (64 GiB) per file" in message or "free space" in message
    return resp


@case("GET", "/v1/files", 200)
def list_files_as_viewer(api):
    rec = uploaded(api, "conformance/list")
    resp = api.call("GET", "/v1/files", token=api.tokens["viewer"])
    assert rec["location"] in [f["location"] for f in resp.json["files"]]
    paths = [f["path"] for f in resp.json["files"]]
    assert paths == sorted(paths)
    return resp


@case("GET", "/v1/files", 200)
def list_files_under_prefix(api):
    rec = uploaded(api, "conformance/prefix")
    folder = rec["path"].rsplit("/", 1)[0]
    resp = api.call("GET", "/v1/files?" + file_query(prefix=f"assay://files/{folder}"),
                    token=api.tokens["member"])
    assert [f["location"] for f in resp.json["files"]] == [rec["location"]]
    return resp


@case("GET", "/v1/files", 200)
def list_files_of_another_workspace_is_empty(api):
    uploaded(api, "conformance/mine")
    resp = api.call("GET", "/v1/files")  # the admin's own workspace
    assert all(not f["path"].startswith("conformance/mine/") for f in resp.json["files"])
    return resp


@case("GET", "/v1/files", 400)
def list_files_bad_prefix(api):
    return api.call("GET", "/v1/files?" + file_query(prefix="../x"), token=api.tokens["viewer"])


@case("GET", "/v1/files", 401)
def list_files_without_token(api):
    return api.call("GET", "/v1/files", token=None)


@case("DELETE", "/v1/files", 204)
def delete_file(api):
    rec = uploaded(api, "conformance/delete")
    resp = api.call("DELETE", "/v1/files?" + file_query(location=rec["location"]),
                    token=api.tokens["member"])
    listed = api.call("GET", "/v1/files", token=api.tokens["member"])
    assert rec["location"] not in [f["location"] for f in listed.json["files"]]
    return resp


@case("DELETE", "/v1/files", 204)
def delete_folder(api):
    rec = uploaded(api, "conformance/folder")
    folder = "assay://files/" + rec["path"].rsplit("/", 1)[0]
    resp = api.call("DELETE", "/v1/files?" + file_query(location=folder),
                    token=api.tokens["ws_admin"])
    assert api.call("DELETE", "/v1/files?" + file_query(location=rec["location"]),
                    token=api.tokens["member"]).status == 404
    return resp


@case("DELETE", "/v1/files", 400)
def delete_file_without_location(api):
    return api.call("DELETE", "/v1/files", token=api.tokens["member"])


@case("DELETE", "/v1/files", 400)
def delete_file_not_a_location(api):
    return api.call("DELETE", "/v1/files?" + file_query(location="/etc/passwd"),
                    token=api.tokens["member"])


@case("DELETE", "/v1/files", 401)
def delete_file_without_token(api):
    return api.call("DELETE", "/v1/files?location=assay%3A%2F%2Ffiles%2Fx", token=None)


@case("DELETE", "/v1/files", 403)
def delete_file_as_viewer(api):
    rec = uploaded(api, "conformance/viewer")
    return api.call("DELETE", "/v1/files?" + file_query(location=rec["location"]),
                    token=api.tokens["viewer"])


@case("DELETE", "/v1/files", 404)
def delete_missing_file(api):
    return api.call("DELETE", "/v1/files?" + file_query(location="assay://files/no/such.csv"),
                    token=api.tokens["member"])


@case("DELETE", "/v1/files", 404)
def delete_file_of_another_workspace(api):
    rec = uploaded(api, "conformance/theirs", token=api.token)  # the admin's workspace
    return api.call("DELETE", "/v1/files?" + file_query(location=rec["location"]),
                    token=api.tokens["member"])


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
    concrete = path
    for name, value in api.real_ids().items():
        concrete = concrete.replace("{" + name + "}", value)
    assert "{" not in concrete, f"no real id for a parameter of {path}"
    wrong = next(m for m in ("PUT", "PATCH", "DELETE", "POST") if m not in served)
    resp = api.call(wrong, concrete, raw=b"{}" if wrong in ("PUT", "PATCH", "POST") else None)
    assert resp.status == 405, f"{wrong} {path}: {resp!r}"
    check_body(SPEC["components"]["responses"]["MethodNotAllowed"], resp, f"{wrong} {path}")
    allowed = {m.strip() for m in resp.headers["Allow"].split(",")}
    assert allowed - {"HEAD", "OPTIONS"} == served, f"Allow: {resp.headers['Allow']}"
