"""The permission matrix over the Python API, against the embedded platform
(authenticating with the caller's token) and a real assayd (over HTTP).

Callers (columns): the organisation admin, a workspace admin, a member, a
viewer, a member of another workspace, an expired token and a revoked
token. Operations (rows): every integration operation and every people /
token operation. Each cell is one test (``<operation>-<caller>``) asserting
success or the typed error; cells that are refused also check that nothing
changed. Then the rules around the matrix: token scoping, messages, who sees
which tokens, and what removing a member or revoking a token does.
"""

import uuid

import pytest

import assay


def world_name(prefix):
    """A name no other test on the same platform uses."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


# The callers (columns of the matrix): clients of the People world (conftest.py).
CALLERS = ("org_admin", "ws_admin", "member", "viewer", "outsider", "expired", "revoked")

OK = "success"
PD = assay.PermissionDeniedError
NF = assay.NotFoundError
AUTH = assay.AuthError

CUSTOM = "INTEGRATION_TYPE_CUSTOM"
SCHEMA = [
    {"name": "HOST", "sensitivity": "VARIABLE_SENSITIVITY_PUBLIC", "value": "db.example"},
    {"name": "WS_SECRET", "sensitivity": "VARIABLE_SENSITIVITY_WORKSPACE_SECRET",
     "value": "ws-secret-value-for-the-matrix"},
    {"name": "MEMBER_TOKEN", "sensitivity": "VARIABLE_SENSITIVITY_USER_SECRET"},
]


def row(*cells):
    assert len(cells) == len(CALLERS)
    return dict(zip(CALLERS, cells))


WS_ADMIN_ONLY = row(OK, OK, PD, PD, NF, AUTH, AUTH)
ANY_ROLE = row(OK, OK, OK, OK, NF, AUTH, AUTH)
MEMBER_UP = row(OK, OK, OK, PD, NF, AUTH, AUTH)
ORG_ADMIN_ONLY = row(OK, PD, PD, PD, PD, AUTH, AUTH)
ANYONE = row(OK, OK, OK, OK, OK, AUTH, AUTH)


def new_integration(w):
    return w.admin.create_integration(w.ws, world_name("int"), CUSTOM, SCHEMA)


def shared_integration(w):
    """The one integration of the shared world's workspace the read-only rows use."""
    if not hasattr(w, "integration"):
        w.integration = new_integration(w)
    return w.integration


def member_ids(w):
    return {m["user_id"]: m["role"] for m in w.admin.list_workspace_members(w.ws)}


def integration_names(w):
    return {i["name"] for i in w.admin.list_integrations(w.ws)}


def token_status(w, token_id):
    return {t["id"]: t["status"] for t in w.admin.list_api_tokens()}[token_id]


# Each operation: prepare(world) -> args (as the admin, not the caller),
# call(client, world, args), check(world, args, succeeded) -> asserts the
# state afterwards (optional), and the expected outcome per caller.
class Op:
    def __init__(self, name, expected, call, prepare=None, check=None):
        self.name, self.expected, self.call = name, expected, call
        self.prepare = prepare or (lambda w: None)
        self.check = check


def _check_created_integration(w, name, ok):
    assert (name in integration_names(w)) == ok


def _check_update(w, args, ok):
    got = w.admin.get_integration(args["id"])
    assert (got["name"] == args["new_name"]) == ok, got


def _check_ws_secret(w, args, ok):
    # Replacing WS_SECRET with a PUBLIC variable is visible to the admin.
    got = {v["name"]: v for v in w.admin.get_integration(args["id"])["variables"]}
    assert (got["WS_SECRET"]["sensitivity"] == "VARIABLE_SENSITIVITY_PUBLIC") == ok, got


def _check_deleted(w, args, ok):
    if ok:
        with pytest.raises(NF):
            w.admin.get_integration(args["id"])
    else:
        assert w.admin.get_integration(args["id"])["integration_id"] == args["id"]


def _check_member_added(w, args, ok):
    assert (args["user_id"] in member_ids(w)) == ok


def _check_member_updated(w, args, ok):
    expected = "WORKSPACE_ROLE_MEMBER" if ok else "WORKSPACE_ROLE_VIEWER"
    assert member_ids(w)[args["user_id"]] == expected


def _check_member_removed(w, args, ok):
    assert (args["user_id"] not in member_ids(w)) == ok


def _check_workspace_created(w, args, ok):
    names = {x["name"] for x in w.admin.list_workspaces()}
    assert (args["name"] in names) == ok


def _check_user_created(w, args, ok):
    names = {u["username"] for u in w.admin.list_users()}
    assert (args["name"] in names) == ok


def _check_revoked(w, args, ok):
    assert token_status(w, args["id"]) == ("revoked" if ok else "active")


def _check_token_for_other(w, args, ok):
    names = {t["name"] for t in w.admin.list_api_tokens(user_id=w.user_id("victim"))}
    assert (args["name"] in names) == ok


def _named(prefix):
    return lambda w: {"name": world_name(prefix)}


def _fresh_integration(w):
    return {"id": new_integration(w), "new_name": world_name("renamed")}


def _fresh_user(role=None):
    return lambda w: {"user_id": w.new_user("target", role)["user_id"]}


def _victim_token(w):
    token, token_id = w.mint("victim")
    return {"token": token, "id": token_id}


OPERATIONS = [
    # --- integrations ---
    Op("create_integration", WS_ADMIN_ONLY,
       lambda c, w, a: c.create_integration(w.ws, a["name"], CUSTOM, SCHEMA),
       _named("int"), lambda w, a, ok: _check_created_integration(w, a["name"], ok)),
    Op("list_integrations", ANY_ROLE,
       lambda c, w, a: c.list_integrations(w.ws), lambda w: shared_integration(w)),
    Op("get_integration", ANY_ROLE,
       lambda c, w, a: c.get_integration(shared_integration(w))),
    Op("update_integration(name)", WS_ADMIN_ONLY,
       lambda c, w, a: c.update_integration(a["id"], name=a["new_name"]),
       _fresh_integration, _check_update),
    Op("update_integration(workspace secret)", WS_ADMIN_ONLY,
       lambda c, w, a: c.update_integration(a["id"], variables=[
           {"name": "WS_SECRET", "sensitivity": "VARIABLE_SENSITIVITY_PUBLIC",
            "value": "now public"}]),
       _fresh_integration, _check_ws_secret),
    Op("delete_integration", WS_ADMIN_ONLY,
       lambda c, w, a: c.delete_integration(a["id"]), _fresh_integration, _check_deleted),
    Op("set_integration_credentials", MEMBER_UP,
       lambda c, w, a: c.set_integration_credentials(shared_integration(w),
                                                     {"MEMBER_TOKEN": "member-value"})),
    # --- workspaces, users, members ---
    Op("get_workspace", ANY_ROLE, lambda c, w, a: c.get_workspace(w.ws)),
    Op("list_workspace_members", ANY_ROLE, lambda c, w, a: c.list_workspace_members(w.ws)),
    Op("add_workspace_member", WS_ADMIN_ONLY,
       lambda c, w, a: c.add_workspace_member(w.ws, a["user_id"], "WORKSPACE_ROLE_MEMBER"),
       _fresh_user(), _check_member_added),
    Op("update_workspace_member", WS_ADMIN_ONLY,
       lambda c, w, a: c.update_workspace_member(w.ws, a["user_id"], "WORKSPACE_ROLE_MEMBER"),
       _fresh_user("WORKSPACE_ROLE_VIEWER"), _check_member_updated),
    Op("remove_workspace_member", WS_ADMIN_ONLY,
       lambda c, w, a: c.remove_workspace_member(w.ws, a["user_id"]),
       _fresh_user("WORKSPACE_ROLE_VIEWER"), _check_member_removed),
    Op("list_workspaces", ANYONE, lambda c, w, a: c.list_workspaces()),
    Op("create_workspace", ORG_ADMIN_ONLY, lambda c, w, a: c.create_workspace(a["name"]),
       _named("newws"), _check_workspace_created),
    Op("create_user", ORG_ADMIN_ONLY, lambda c, w, a: c.create_user(a["name"]),
       _named("newuser"), _check_user_created),
    Op("list_users", ORG_ADMIN_ONLY, lambda c, w, a: c.list_users()),
    # --- tokens ---
    Op("list_api_tokens", ANYONE, lambda c, w, a: c.list_api_tokens()),
    Op("create_api_token(own)", ANYONE,
       lambda c, w, a: c.create_api_token(name=a["name"], expires_in_days=1), _named("own")),
    # (Refused as "for another user" before the workspace is looked at: the
    # outsider learns nothing about ws either way.)
    Op("create_api_token(for another user)", row(OK, PD, PD, PD, PD, AUTH, AUTH),
       lambda c, w, a: c.create_api_token(workspace_id=w.ws, name=a["name"],
                                          user_id=w.user_id("victim"), expires_in_days=1),
       _named("forother"), _check_token_for_other),
    Op("revoke_api_token(another user's)", row(OK, OK, NF, NF, NF, AUTH, AUTH),
       lambda c, w, a: c.revoke_api_token(a["id"]), _victim_token, _check_revoked),
    # --- administration ---
    Op("rotate_secret_key", ORG_ADMIN_ONLY, lambda c, w, a: c.rotate_secret_key()),
    # --- projects (they live in the caller's workspace and follow the roles) ---
    Op("create_project", row(OK, OK, OK, PD, OK, AUTH, AUTH),
       lambda c, w, a: c.create_project(a["name"], "", "MODEL_TASK_REGRESSION"),
       _named("proj")),
]

CELLS = [pytest.param(op, caller, id="%s-%s" % (op.name, caller))
         for op in OPERATIONS for caller in CALLERS]


def _describe(outcome):
    return outcome if outcome == OK else outcome.__name__


@pytest.mark.parametrize("op,caller", CELLS)
def test_matrix(shared_people, op, caller):
    w = shared_people
    args = op.prepare(w)
    expected = op.expected[caller]
    cell = "%s by %s (%s)" % (op.name, caller, w.platform.kind)
    client = w.client(caller)
    try:
        op.call(client, w, args)
    except assay.Error as exc:
        got, detail = type(exc), "%s: %s" % (type(exc).__name__, exc)
    else:
        got, detail = OK, "success"
    assert got == expected, "cell %s: expected %s, got %s" % (cell, _describe(expected), detail)
    if op.check is not None:
        try:
            op.check(w, args, expected == OK)
        except AssertionError as exc:
            raise AssertionError("cell %s: state afterwards is wrong: %s" % (cell, exc)) from exc


# --- around the matrix -----------------------------------------------------------------


def test_tokens_are_scoped_to_their_workspace(people):
    """A member of two workspaces, with a token of the second, finds nothing
    of the first: "not found", the same as for a stranger."""
    w = people
    integration = new_integration(w)
    w.admin.add_workspace_member(w.ws2, w.user_id("member"), "WORKSPACE_ROLE_ADMIN")
    token, _ = w.mint("member", w.ws2)
    c = w.client_for_token(token)
    for what, call in [
            ("get_integration", lambda: c.get_integration(integration)),
            ("list_integrations", lambda: c.list_integrations(w.ws)),
            ("get_workspace", lambda: c.get_workspace(w.ws)),
            ("list_workspace_members", lambda: c.list_workspace_members(w.ws)),
            ("set_integration_credentials",
             lambda: c.set_integration_credentials(integration, {"MEMBER_TOKEN": "x"})),
            ("delete_integration", lambda: c.delete_integration(integration))]:
        with pytest.raises(NF):
            call()
            pytest.fail("%s of another workspace succeeded" % what)
    # In its own workspace the same user is an admin.
    other = c.create_integration(w.ws2, world_name("int"), CUSTOM, SCHEMA)
    assert c.get_integration(other)["workspace_id"] == w.ws2
    assert [x["workspace_id"] for x in c.list_workspaces()] == [w.ws2]


def test_not_found_is_the_same_for_missing_and_foreign(people):
    """An outsider cannot tell an integration of another workspace from one
    that does not exist: same class, same status, no name in the message."""
    w = people
    integration = new_integration(w)
    name = w.admin.get_integration(integration)["name"]
    outsider = w.client("outsider")
    with pytest.raises(NF) as foreign:
        outsider.get_integration(integration)
    with pytest.raises(NF) as missing:
        outsider.get_integration("00000000-0000-4000-8000-000000000000")
    assert foreign.value.http_status == missing.value.http_status == 404
    assert name not in str(foreign.value)
    assert foreign.value.message.replace(integration, "ID") == \
        missing.value.message.replace("00000000-0000-4000-8000-000000000000", "ID")


def test_permission_denied_names_the_roles(people):
    w = people
    integration = new_integration(w)
    with pytest.raises(PD) as exc:
        w.client("member").create_integration(w.ws, world_name("int"), CUSTOM, SCHEMA)
    assert exc.value.http_status == 403
    assert "WORKSPACE_ROLE_ADMIN" in str(exc.value), str(exc.value)
    assert "WORKSPACE_ROLE_MEMBER" in str(exc.value), str(exc.value)
    with pytest.raises(PD) as exc:
        w.client("viewer").set_integration_credentials(integration, {"MEMBER_TOKEN": "v"})
    assert "WORKSPACE_ROLE_MEMBER" in str(exc.value), str(exc.value)
    assert "WORKSPACE_ROLE_VIEWER" in str(exc.value), str(exc.value)


def test_expired_and_revoked_tokens_say_why(people):
    w = people
    with pytest.raises(AUTH) as exc:
        w.client("expired").list_integrations(w.ws)
    assert exc.value.http_status == 401
    assert "expired" in str(exc.value)
    with pytest.raises(AUTH) as exc:
        w.client("revoked").list_integrations(w.ws)
    assert "revoked" in str(exc.value)
    statuses = {t["id"]: t["status"] for t in w.admin.list_api_tokens(user_id=w.user_id("member"))}
    assert statuses[w.token_ids["expired"]] == "expired"
    assert statuses[w.token_ids["revoked"]] == "revoked"
    assert statuses[w.token_ids["member"]] == "active"
    # The user's other token still works.
    assert w.client("member").get_workspace(w.ws)["workspace_id"] == w.ws


def test_promotion_and_demotion_take_effect_at_once(people):
    w = people
    c = w.client("viewer")
    with pytest.raises(PD):
        c.create_integration(w.ws, world_name("int"), CUSTOM, SCHEMA)
    record = w.admin.update_workspace_member(w.ws, w.user_id("viewer"), "admin")
    assert record["role"] == "WORKSPACE_ROLE_ADMIN"
    made = c.create_integration(w.ws, world_name("int"), CUSTOM, SCHEMA)
    w.admin.update_workspace_member(w.ws, w.user_id("viewer"), "viewer")
    with pytest.raises(PD):
        c.delete_integration(made)
    assert w.admin.get_integration(made)["integration_id"] == made


def test_workspace_admin_manages_members_but_not_the_last_admin(people):
    w = people
    wadmin = w.client("ws_admin")
    user = w.new_user("joiner")
    added = wadmin.add_workspace_member(w.ws, user["user_id"], "member")
    assert added == {**added, "workspace_id": w.ws, "user_id": user["user_id"],
                     "username": user["username"], "role": "WORKSPACE_ROLE_MEMBER"}
    with pytest.raises(assay.ConflictError):
        wadmin.add_workspace_member(w.ws, user["user_id"], "viewer")
    with pytest.raises(NF):
        wadmin.add_workspace_member(w.ws, "00000000-0000-4000-8000-000000000000", "viewer")
    with pytest.raises(assay.ConfigError):
        wadmin.add_workspace_member(w.ws, w.new_user("x")["user_id"], "WORKSPACE_ROLE_OWNER")
    members = wadmin.list_workspace_members(w.ws)
    assert {m["user_id"] for m in members} >= {user["user_id"], w.user_id("member")}
    assert all(m["workspace_id"] == w.ws for m in members)

    # A workspace with one admin keeps it.
    solo = w.admin.create_workspace(world_name("solo"))["workspace_id"]
    boss = w.new_user("boss", "WORKSPACE_ROLE_ADMIN", solo)
    w.admin.remove_workspace_member(solo, w.admin_user_id)
    boss_client = w.client_for_token(w.mint(boss["user_id"], solo)[0])
    with pytest.raises(assay.ConflictError):
        boss_client.update_workspace_member(solo, boss["user_id"], "member")
    with pytest.raises(assay.ConflictError):
        boss_client.remove_workspace_member(solo, boss["user_id"])
    assert [m["role"] for m in boss_client.list_workspace_members(solo)] == \
        ["WORKSPACE_ROLE_ADMIN"]


def test_removing_a_member_ends_their_tokens_and_credentials(people):
    w = people
    integration = new_integration(w)
    member = w.client("member")
    status = member.set_integration_credentials(integration, {"MEMBER_TOKEN": "mine"})
    assert status["credential_status"] == {"configured": True, "missing": []}
    w.client("ws_admin").remove_workspace_member(w.ws, w.user_id("member"))
    with pytest.raises(AUTH):
        member.get_workspace(w.ws)
    tokens = {t["id"]: t["status"] for t in w.admin.list_api_tokens(user_id=w.user_id("member"))}
    assert tokens[w.token_ids["member"]] == "revoked"
    # Back in the workspace with a new token: their old value is gone.
    w.admin.add_workspace_member(w.ws, w.user_id("member"), "member")
    with pytest.raises(AUTH):
        member.get_workspace(w.ws)
    again = w.client_for_token(w.mint("member")[0])
    status = again.get_integration(integration)["credential_status"]
    assert status == {"configured": False, "missing": ["MEMBER_TOKEN"]}


def test_who_sees_which_tokens(people):
    w = people
    in_ws = {w.token_ids[k] for k in ("ws_admin", "member", "viewer", "victim", "expired",
                                      "revoked")}

    def ids(caller, **filters):
        return {t["id"] for t in w.client(caller).list_api_tokens(**filters)}

    everything = ids("org_admin")
    assert in_ws | {w.token_ids["outsider"]} <= everything
    assert in_ws <= ids("ws_admin")
    assert w.token_ids["outsider"] not in ids("ws_admin")
    mine = {w.token_ids["member"], w.token_ids["expired"], w.token_ids["revoked"]}
    assert ids("member") == mine
    assert ids("viewer") == {w.token_ids["viewer"]}
    assert ids("outsider") == {w.token_ids["outsider"]}
    in_ws2 = w.admin.list_api_tokens(workspace_id=w.ws2)
    assert w.token_ids["outsider"] in {t["id"] for t in in_ws2}
    assert {t["workspace_id"] for t in in_ws2} == {w.ws2}
    assert {t["id"] for t in w.admin.list_api_tokens(workspace_id=w.ws)} == in_ws
    assert ids("org_admin", user_id=w.user_id("viewer")) == {w.token_ids["viewer"]}


def test_token_listing_never_shows_a_secret(people):
    w = people
    tokens = [w.tokens[k] for k in ("ws_admin", "member", "viewer", "outsider", "expired",
                                    "revoked")]
    for caller in ("org_admin", "ws_admin", "member"):
        listed = w.client(caller).list_api_tokens()
        assert listed, caller
        text = repr(listed)
        for token in tokens:
            assert token not in text and token[4:] not in text, caller
        for record in listed:
            assert set(record) == {"id", "name", "user_id", "workspace_id", "created_at",
                                   "expires_at", "revoked_at", "status"}, record
            assert record["status"] in ("active", "expired", "revoked")


def test_typed_create_api_token_returns_the_secret_once(people):
    w = people
    token = w.client("member").create_api_token(name=world_name("mine"), expires_in_days=1)
    assert isinstance(token, str) and token.startswith("asy_")
    c = w.client_for_token(token)
    assert c.platform_info()["user_id"] == w.user_id("member")
    listed = [t for t in w.client("member").list_api_tokens() if t["status"] == "active"]
    assert token not in repr(listed)


def test_revoke_is_idempotent_and_own_tokens_can_be_revoked(people):
    w = people
    token, token_id = w.mint("viewer")
    viewer = w.client_for_token(token)
    assert viewer.revoke_api_token(token_id) is None
    with pytest.raises(AUTH):
        viewer.list_api_tokens()
    w.admin.revoke_api_token(token_id)  # again: no error
    with pytest.raises(NF):
        w.admin.revoke_api_token("00000000-0000-4000-8000-000000000000")
    # A workspace admin cannot reach a token of another workspace.
    with pytest.raises(NF):
        w.client("ws_admin").revoke_api_token(w.token_ids["outsider"])
    assert w.client("outsider").get_workspace(w.ws2)["workspace_id"] == w.ws2


def test_non_admin_token_cannot_outlive_or_leave_its_workspace(people):
    w = people
    member = w.client("member")
    with pytest.raises(NF):
        member.create_api_token(workspace_id=w.ws2, name=world_name("away"))
    with pytest.raises(PD):
        member.create_api_token(name=world_name("long"), expires_in_days=3650)
    with pytest.raises(assay.ConfigError):
        member.create_api_token(name=world_name("zero"), expires_in_days=0)
    with pytest.raises(assay.ConfigError):
        member.create_api_token(name=world_name("negative"), expires_in_days=-2)
    # The org admin may mint for anyone who is a member, not for a stranger to it.
    with pytest.raises(assay.ConfigError):
        w.admin.create_api_token(workspace_id=w.ws, name=world_name("x"),
                                 user_id=w.user_id("outsider"))
