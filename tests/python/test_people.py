"""Workspaces, users and membership through the Python API, against the
embedded platform and a real assayd: the records, the role names (aliases
in, canonical names out), what each caller lists, and every bad input with
its typed error. (Who may call what: test_permissions.py.)
"""

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
    assert name in str(exc.value)
    for bad in ["", "two\nlines", "x" * 257]:
        with pytest.raises(assay.ConfigError):
            client.create_workspace(bad)
    with pytest.raises(assay.NotFoundError):
        client.get_workspace(MISSING_ID)
    with pytest.raises(assay.NotFoundError):
        client.list_workspace_members(MISSING_ID)


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
    assert name in str(exc.value)
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
        assert "WORKSPACE_ROLE_VIEWER" in str(exc.value), str(exc.value)
    with pytest.raises(assay.NotFoundError):
        client.add_workspace_member(ws, MISSING_ID, "member")
    with pytest.raises(assay.NotFoundError):
        client.add_workspace_member(MISSING_ID, user["user_id"], "member")
    client.add_workspace_member(ws, user["user_id"], "member")
    with pytest.raises(assay.ConflictError):
        client.add_workspace_member(ws, user["user_id"], "viewer")
    with pytest.raises(assay.ConfigError):
        client.update_workspace_member(ws, user["user_id"], "superuser")
    stranger = client.create_user(unique("erin"))
    with pytest.raises(assay.NotFoundError):
        client.update_workspace_member(ws, stranger["user_id"], "member")
    with pytest.raises(assay.NotFoundError):
        client.remove_workspace_member(ws, stranger["user_id"])


def test_last_admin_is_kept(client, unique):
    me = client.platform_info()["user_id"]
    ws = client.create_workspace(unique("solo"))["workspace_id"]
    # The org admin is the only admin of the workspace it created.
    with pytest.raises(assay.ConflictError) as exc:
        client.update_workspace_member(ws, me, "member")
    assert "admin" in str(exc.value).lower()
    with pytest.raises(assay.ConflictError):
        client.remove_workspace_member(ws, me)
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
