"""Workspaces, users and membership through the Python API, against the
embedded platform and a real assayd: the records, the role names (aliases
in, canonical names out), what each caller lists, and every bad input with
its typed error. (Who may call what: test_permissions.py.)
"""

import datetime
import json
import uuid

import pytest

import assay


def world_name(prefix):
    """A name no other test on the same platform uses."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


ROLES = ["WORKSPACE_ROLE_ADMIN", "WORKSPACE_ROLE_MEMBER", "WORKSPACE_ROLE_VIEWER"]
MISSING_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def fresh_people(platform, make_people):
    """A People world (conftest.py) on a platform of its own (function
    scope): for tests that look at everything the platform holds."""
    return make_people(platform)


def test_create_list_get_workspace(client, unique):
    me = client.platform_info()["user_id"]
    name = unique("analytics")
    ws = client.create_workspace(name)
    assert set(ws) >= {"workspace_id", "name", "created_at", "role"}
    assert ws["name"] == name
    assert isinstance(ws["workspace_id"], str) and len(ws["workspace_id"]) == 36
    assert isinstance(ws["created_at"], str) and ws["created_at"]
    assert ws["role"] == "WORKSPACE_ROLE_ADMIN"  # its creator is its admin
    assert client.get_workspace(ws["workspace_id"]) == ws

    listed = client.list_workspaces()
    assert isinstance(listed, list)
    by_id = {w["workspace_id"]: w for w in listed}
    assert by_id[ws["workspace_id"]] == ws
    default = client.platform_info()["workspace_id"]
    assert default in by_id  # the bootstrap workspace

    members = client.list_workspace_members(ws["workspace_id"])
    assert [(m["user_id"], m["role"]) for m in members] == [(me, "WORKSPACE_ROLE_ADMIN")]


def test_workspace_bad_inputs(client, unique):
    name = unique("dup")
    client.create_workspace(name)
    with pytest.raises(assay.ConflictError) as exc:
        client.create_workspace(name)
    assert str(exc.value) == "a workspace named '%s' already exists" % name
    for bad, message in [("", "name must not be empty or blank"),
                         ("two\nlines", "name must not contain control characters"),
                         ("x" * 257, "name must be at most 256 bytes; got 257")]:
        with pytest.raises(assay.ConfigError) as exc:
            client.create_workspace(bad)
        assert str(exc.value).startswith(message), str(exc.value)
    with pytest.raises(assay.NotFoundError) as exc:
        client.get_workspace(MISSING_ID)
    assert str(exc.value) == "workspace '%s' not found" % MISSING_ID
    with pytest.raises(assay.NotFoundError) as exc:
        client.list_workspace_members(MISSING_ID)
    assert str(exc.value) == "workspace '%s' not found" % MISSING_ID


def test_org_admin_sees_every_workspace_with_its_role(fresh_people):
    w = fresh_people
    # The admin created both; after leaving ws2 it still sees it, with no role.
    w.admin.update_workspace_member(w.ws2, w.user_id("outsider"), "admin")
    w.admin.remove_workspace_member(w.ws2, w.admin_user_id)
    roles = {x["workspace_id"]: x["role"] for x in w.admin.list_workspaces()}
    assert roles[w.ws] == "WORKSPACE_ROLE_ADMIN"
    assert roles[w.ws2] is None
    assert w.admin.get_workspace(w.ws2)["workspace_id"] == w.ws2


def test_others_see_only_their_tokens_workspace(fresh_people):
    w = fresh_people
    for caller, role in [("ws_admin", "WORKSPACE_ROLE_ADMIN"),
                         ("member", "WORKSPACE_ROLE_MEMBER"),
                         ("viewer", "WORKSPACE_ROLE_VIEWER")]:
        listed = w.client(caller).list_workspaces()
        assert [(x["workspace_id"], x["role"]) for x in listed] == [(w.ws, role)], caller
        assert w.client(caller).get_workspace(w.ws)["role"] == role
    assert [x["workspace_id"] for x in w.client("outsider").list_workspaces()] == [w.ws2]


def test_create_and_list_users(client, unique):
    name = unique("alice")
    alice = client.create_user(name, "Alice Example")
    assert set(alice) >= {"user_id", "username", "display_name", "is_org_admin", "created_at"}
    assert alice["username"] == name
    assert alice["display_name"] == "Alice Example"
    assert alice["is_org_admin"] is False
    bob = client.create_user(unique("bob.b@corp-1"))
    assert bob["display_name"] is None
    users = {u["user_id"]: u for u in client.list_users()}
    assert users[alice["user_id"]] == alice
    assert users[bob["user_id"]] == bob
    me = users[client.platform_info()["user_id"]]
    assert me["is_org_admin"] is True


@pytest.mark.parametrize("username", ["", "has space", "semi;colon", "x" * 65, "tab\tname",
                                      "ünïcode"])
def test_bad_usernames_are_config_errors(client, username):
    with pytest.raises(assay.ConfigError) as exc:
        client.create_user(username)
    assert exc.value.http_status == 400
    assert "username" in str(exc.value)


def test_duplicate_username_is_a_conflict(client, unique):
    name = unique("carol")
    client.create_user(name)
    with pytest.raises(assay.ConflictError) as exc:
        client.create_user(name, "Another Carol")
    assert str(exc.value) == "a user named '%s' already exists" % name
    assert client.create_user("x" * 64)["username"] == "x" * 64


def test_membership_aliases_in_canonical_out(client, unique):
    ws = client.create_workspace(unique("team"))["workspace_id"]
    users = [client.create_user(unique(n)) for n in ("a-admin", "b-member", "c-viewer")]
    for user, alias, canonical in zip(users, ["admin", "member", "viewer"], ROLES):
        record = client.add_workspace_member(ws, user["user_id"], alias)
        assert record == {"workspace_id": ws, "user_id": user["user_id"],
                          "username": user["username"], "display_name": None,
                          "role": canonical}
    listed = client.list_workspace_members(ws)
    got = {m["user_id"]: m["role"] for m in listed}
    assert [got[u["user_id"]] for u in users] == ROLES
    names = [m["username"] for m in listed]
    assert names == sorted(names)  # by username

    updated = client.update_workspace_member(ws, users[2]["user_id"], "WORKSPACE_ROLE_MEMBER")
    assert updated["role"] == "WORKSPACE_ROLE_MEMBER"
    updated = client.update_workspace_member(ws, users[1]["user_id"], "viewer")
    assert updated["role"] == "WORKSPACE_ROLE_VIEWER"
    assert client.remove_workspace_member(ws, users[0]["user_id"]) is None
    assert users[0]["user_id"] not in {m["user_id"] for m in client.list_workspace_members(ws)}


def test_membership_bad_inputs(client, unique):
    ws = client.create_workspace(unique("team"))["workspace_id"]
    user = client.create_user(unique("dave"))
    for role in ["", "owner", "WORKSPACE_ROLE_OWNER", "Admin"]:
        with pytest.raises(assay.ConfigError) as exc:
            client.add_workspace_member(ws, user["user_id"], role)
        assert str(exc.value).endswith(
            "must be one of WORKSPACE_ROLE_ADMIN, WORKSPACE_ROLE_MEMBER, WORKSPACE_ROLE_VIEWER "
            "(or admin, member, viewer); got '%s'" % role), str(exc.value)
    with pytest.raises(assay.NotFoundError):
        client.add_workspace_member(ws, MISSING_ID, "member")
    with pytest.raises(assay.NotFoundError):
        client.add_workspace_member(MISSING_ID, user["user_id"], "member")
    client.add_workspace_member(ws, user["user_id"], "member")
    with pytest.raises(assay.ConflictError) as exc:
        client.add_workspace_member(ws, user["user_id"], "viewer")
    assert str(exc.value).startswith("user '%s' is already a member of workspace '%s'" % (
        user["user_id"], ws))
    with pytest.raises(assay.ConfigError) as exc:
        client.update_workspace_member(ws, user["user_id"], "superuser")
    assert str(exc.value).endswith("got 'superuser'")
    stranger = client.create_user(unique("erin"))
    with pytest.raises(assay.NotFoundError):
        client.update_workspace_member(ws, stranger["user_id"], "member")
    with pytest.raises(assay.NotFoundError):
        client.remove_workspace_member(ws, stranger["user_id"])


def test_last_admin_is_kept(client, unique):
    me = client.platform_info()["user_id"]
    ws = client.create_workspace(unique("solo"))["workspace_id"]
    # The org admin is the only admin of the workspace it created.
    last_admin = ("user '%s': they are the last WORKSPACE_ROLE_ADMIN of workspace '%s'; make "
                  "another member an admin first" % (me, ws))
    with pytest.raises(assay.ConflictError) as exc:
        client.update_workspace_member(ws, me, "member")
    assert str(exc.value).endswith(last_admin), str(exc.value)
    with pytest.raises(assay.ConflictError) as exc:
        client.remove_workspace_member(ws, me)
    assert str(exc.value).endswith(last_admin), str(exc.value)
    other = client.create_user(unique("heir"))
    client.add_workspace_member(ws, other["user_id"], "admin")
    client.remove_workspace_member(ws, me)  # now there is another admin
    assert [m["user_id"] for m in client.list_workspace_members(ws)] == [other["user_id"]]


def test_a_client_with_a_token_acts_as_its_user(fresh_people):
    w = fresh_people
    for caller in ("ws_admin", "member", "viewer", "outsider"):
        info = w.client(caller).platform_info()
        name = "outsider" if caller == "outsider" else caller
        assert info["user_id"] == w.user_id(name), (w.platform.kind, caller, info)
        assert info["workspace_id"] == (w.ws2 if caller == "outsider" else w.ws)


def test_projects_live_in_the_callers_workspace(fresh_people):
    w = fresh_people
    made = w.client("member").create_project(world_name("p"), "", "MODEL_TASK_REGRESSION")
    assert made.info["workspace_id"] == w.ws
    assert made.project_id in {p.project_id for p in w.client("viewer").list_projects()}
    assert made.project_id not in {p.project_id for p in w.client("outsider").list_projects()}
    with pytest.raises(assay.NotFoundError):
        w.client("outsider").get_project(made.project_id)
    with pytest.raises(assay.PermissionDeniedError):
        w.client("viewer").create_project(world_name("p"), "", "MODEL_TASK_REGRESSION")
    with pytest.raises(assay.PermissionDeniedError):
        w.client("viewer").delete_project(made.project_id)
    # A member deletes their own project, not another member's.
    theirs = w.client("victim").create_project(world_name("p"), "", "MODEL_TASK_REGRESSION")
    with pytest.raises(assay.PermissionDeniedError):
        w.client("member").delete_project(theirs.project_id)
    w.client("member").delete_project(made.project_id)
    w.client("ws_admin").delete_project(theirs.project_id)
    assert w.client("viewer").list_projects() == []


# --- token lifetimes ---------------------------------------------------------------


def when(text):
    """An RFC 3339 UTC time of a record ("2026-11-26T05:00:00Z")."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def token_row(client, workspace_id, user_id, name):
    rows = [r for r in client.list_api_tokens(workspace_id, user_id) if r["name"] == name]
    assert len(rows) == 1, rows
    return rows[0]


def test_token_lifetimes(client, unique):
    """270 days by default, exactly; 1 to 3650 when asked; anything else refused."""
    info = client.platform_info()
    ws, me = info["workspace_id"], info["user_id"]

    def lifetime(**kwargs):
        name = unique("life")
        token = client.create_api_token(ws, name=name, **kwargs)
        row = token_row(client, ws, me, name)
        assert row["status"] == "active" and row["revoked_at"] is None
        assert token not in json.dumps(row)
        return when(row["expires_at"]) - when(row["created_at"])

    assert lifetime() == datetime.timedelta(days=270)
    assert lifetime(expires_in_days=None) == datetime.timedelta(days=270)
    assert lifetime(expires_in_days=1) == datetime.timedelta(days=1)
    assert lifetime(expires_in_days=3650) == datetime.timedelta(days=3650)
    # the REST answer itself says the same
    record = client.request("POST", "/v1/api-tokens", {"name": unique("raw")})
    assert when(record["expires_at"]) - when(record["created_at"]) == \
        datetime.timedelta(days=270)

    before = len(client.list_api_tokens(ws, me))
    for days in (0, 3651, 100000):
        with pytest.raises(assay.ConfigError) as exc:
            client.create_api_token(ws, name=unique("bad"), expires_in_days=days)
        assert str(exc.value) == "expires_in_days must be between 1 and 3650; got %d" % days
        assert exc.value.http_status == 400
    assert len(client.list_api_tokens(ws, me)) == before  # none was made


def test_a_token_made_with_a_short_token_ends_with_it(fresh_people):
    """Without expires_in_days a non-admin's new token ends when the token
    that made it does; asking for longer is refused."""
    w = fresh_people
    token, token_id = w.mint("member", days=30)
    member = w.client_for_token(token)
    parent = next(r for r in w.admin.list_api_tokens(w.ws, w.user_id("member"))
                  if r["id"] == token_id)
    assert when(parent["expires_at"]) - when(parent["created_at"]) == datetime.timedelta(days=30)
    child_name = world_name("child")
    member.create_api_token(name=child_name)
    child = token_row(w.admin, w.ws, w.user_id("member"), child_name)
    assert child["expires_at"] == parent["expires_at"]
    assert member.create_api_token(name=world_name("ok"), expires_in_days=29)
    with pytest.raises(assay.PermissionDeniedError) as exc:
        member.create_api_token(name=world_name("long"), expires_in_days=31)
    assert str(exc.value).startswith(
        "a new token may not outlive the token that creates it (which expires at %s)"
        % parent["expires_at"])


def test_workspace_admins_cannot_reach_organisation_admins(fresh_people):
    w = fresh_people
    ws_admin = w.client("ws_admin")
    # the organisation admin created ws, so it is a member there
    with pytest.raises(assay.PermissionDeniedError) as exc:
        ws_admin.remove_workspace_member(w.ws, w.admin_user_id)
    assert "organisation admin" in str(exc.value)
    with pytest.raises(assay.PermissionDeniedError):
        ws_admin.update_workspace_member(w.ws, w.admin_user_id, "viewer")
    _, admin_token_id = w.mint(w.admin_user_id)
    assert admin_token_id not in {t["id"] for t in ws_admin.list_api_tokens(workspace_id=w.ws)}
    with pytest.raises(assay.NotFoundError):
        ws_admin.revoke_api_token(admin_token_id)
    statuses = {t["id"]: t["status"] for t in w.admin.list_api_tokens(workspace_id=w.ws)}
    assert statuses[admin_token_id] == "active"
