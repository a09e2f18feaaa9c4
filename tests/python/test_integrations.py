"""Integrations through the Python API, against the embedded platform and a
real assayd: the records (as rime-sdk), members seeing not-sensitive values
but never a secret, members-level credentials and each caller's credential
status, updates, key rotation, and every bad input as a typed error whose
text never holds a secret.
"""

import json
import secrets
import sqlite3
import uuid

import pytest

import assay


def world_name(prefix):
    """A name no other test on the same platform uses."""
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


CUSTOM = "INTEGRATION_TYPE_CUSTOM"
PUBLIC = "VARIABLE_SENSITIVITY_PUBLIC"
WORKSPACE = "VARIABLE_SENSITIVITY_WORKSPACE_SECRET"
USER = "VARIABLE_SENSITIVITY_USER_SECRET"
MISSING_ID = "00000000-0000-4000-8000-000000000000"


def secret():
    """A distinctive secret value: 32 random characters."""
    return "S3" + secrets.token_hex(15)


def dump(answer):
    """The whole answer as text, for "the secret appears nowhere" checks."""
    return json.dumps(answer, sort_keys=True, default=repr)


def assert_no_secret(answer, values, where):
    text = dump(answer)
    for value in values:
        assert value not in text, "%s: a secret value is in the answer: %s" % (where, text)


def variables(record):
    return {v["name"]: v for v in record["variables"]}


@pytest.fixture
def fresh_people(platform, make_people):
    """A People world (conftest.py) on a platform of its own."""
    return make_people(platform)


@pytest.fixture
def db_integration(people):
    """An integration of people.ws with a public host, a workspace secret
    and two members-level secrets: (id, {name: secret value})."""
    values = {"HOST_SECRET_WS": secret()}
    schema = [
        {"name": "DATABRICKS_HOST", "sensitivity": "not_sensitive",
         "value": "https://dbc.example.net"},
        {"name": "HOST_SECRET_WS", "sensitivity": "workspace", "value": values["HOST_SECRET_WS"]},
        {"name": "PERSONAL_TOKEN", "sensitivity": "members"},
        {"name": "PERSONAL_PIN", "sensitivity": USER},
    ]
    integration_id = people.admin.create_integration(people.ws, world_name("dbx"), CUSTOM,
                                                     schema)
    return integration_id, values


# --- records ---------------------------------------------------------------------------


def test_create_get_list_update_delete(people):
    w = people
    admin = w.client("ws_admin")
    ws_value = secret()
    name = world_name("Databricks prod")
    integration_id = admin.create_integration(w.ws, name, "INTEGRATION_TYPE_DATABRICKS", [
        {"name": "DATABRICKS_HOST", "sensitivity": PUBLIC, "value": "https://x.example"},
        {"name": "DATABRICKS_TOKEN", "sensitivity": WORKSPACE, "value": ws_value},
    ])
    assert isinstance(integration_id, str) and len(integration_id) == 36
    record = admin.get_integration(integration_id)
    assert {k: record[k] for k in ("integration_id", "workspace_id", "name",
                                   "integration_type", "created_by")} == {
        "integration_id": integration_id, "workspace_id": w.ws, "name": name,
        "integration_type": "INTEGRATION_TYPE_DATABRICKS", "created_by": w.user_id("ws_admin")}
    assert record["created_at"] and record["updated_at"]
    assert [(v["name"], v["sensitivity"]) for v in record["variables"]] == [
        ("DATABRICKS_HOST", PUBLIC), ("DATABRICKS_TOKEN", WORKSPACE)]
    got = variables(record)
    assert got["DATABRICKS_HOST"]["value"] == "https://x.example"
    assert got["DATABRICKS_TOKEN"].get("value") is None
    assert got["DATABRICKS_TOKEN"]["is_set"] is True
    assert record["credential_status"] == {"configured": True, "missing": []}
    assert_no_secret(record, [ws_value], "get")

    listed = admin.list_integrations(w.ws)
    assert [r["integration_id"] for r in listed] == [integration_id]
    assert listed[0] == record

    renamed = admin.update_integration(integration_id, name=name + " (renamed)")
    assert renamed["name"] == name + " (renamed)"
    assert renamed["variables"] == record["variables"]
    assert admin.get_integration(integration_id) == renamed

    assert admin.delete_integration(integration_id) is None
    with pytest.raises(assay.NotFoundError):
        admin.get_integration(integration_id)
    assert admin.list_integrations(w.ws) == []
    with pytest.raises(assay.NotFoundError):
        admin.delete_integration(integration_id)


def test_list_is_oldest_first_and_per_workspace(people):
    w = people
    first = w.admin.create_integration(w.ws, world_name("a"), CUSTOM, [])
    second = w.admin.create_integration(w.ws, world_name("b"), CUSTOM, [])
    other = w.admin.create_integration(w.ws2, world_name("c"), CUSTOM, [])
    assert [r["integration_id"] for r in w.client("viewer").list_integrations(w.ws)] == \
        [first, second]
    assert [r["integration_id"] for r in w.client("outsider").list_integrations(w.ws2)] == \
        [other]


def test_duplicate_name_is_a_conflict(people):
    w = people
    name = world_name("dup")
    w.admin.create_integration(w.ws, name, CUSTOM, [])
    with pytest.raises(assay.ConflictError) as exc:
        w.admin.create_integration(w.ws, name, CUSTOM, [])
    assert name in str(exc.value)
    w.admin.create_integration(w.ws2, name, CUSTOM, [])  # unique per workspace only
    other = w.admin.create_integration(w.ws, world_name("dup2"), CUSTOM, [])
    with pytest.raises(assay.ConflictError):
        w.admin.update_integration(other, name=name)


def test_aliases_are_answered_canonical(people):
    w = people
    record = w.admin.get_integration(w.admin.create_integration(w.ws, world_name("alias"), CUSTOM, [
        {"name": "A", "sensitivity": "not_sensitive", "value": "a"},
        {"name": "B", "sensitivity": "workspace", "value": "b"},
        {"name": "C", "sensitivity": "members"},
        {"name": "D", "sensitivity": PUBLIC, "value": ""},
    ]))
    assert [(v["name"], v["sensitivity"]) for v in record["variables"]] == [
        ("A", PUBLIC), ("B", WORKSPACE), ("C", USER), ("D", PUBLIC)]
    assert variables(record)["D"]["value"] == ""


# --- what members see ----------------------------------------------------------------


def test_members_see_public_values_but_never_a_secret(people, db_integration):
    w = people
    integration_id, values = db_integration
    member_values = {caller: secret() for caller in ("org_admin", "ws_admin", "member")}
    all_secrets = list(values.values()) + list(member_values.values())
    for caller, value in member_values.items():
        answer = w.client(caller).set_integration_credentials(
            integration_id, {"PERSONAL_TOKEN": value, "PERSONAL_PIN": value[::-1]})
        all_secrets.append(value[::-1])
        assert_no_secret(answer, all_secrets, "set_integration_credentials by " + caller)
    for caller in ("org_admin", "ws_admin", "member", "viewer", "victim"):
        c = w.client(caller)
        for what, answer in [("get", c.get_integration(integration_id)),
                             ("list", c.list_integrations(w.ws))]:
            assert_no_secret(answer, all_secrets, "%s by %s" % (what, caller))
        record = c.get_integration(integration_id)
        got = variables(record)
        assert got["DATABRICKS_HOST"]["value"] == "https://dbc.example.net", caller
        assert got["HOST_SECRET_WS"]["is_set"] is True, caller
        for name in ("HOST_SECRET_WS", "PERSONAL_TOKEN", "PERSONAL_PIN"):
            assert got[name].get("value") is None, (caller, name)
    # And an admin's update answer.
    answer = w.admin.update_integration(integration_id, name=world_name("renamed"))
    assert_no_secret(answer, all_secrets, "update_integration")


def test_outsiders_get_not_found(people, db_integration):
    w = people
    integration_id, _ = db_integration
    outsider = w.client("outsider")
    with pytest.raises(assay.NotFoundError) as exc:
        outsider.get_integration(integration_id)
    assert exc.value.http_status == 404
    with pytest.raises(assay.NotFoundError):
        outsider.list_integrations(w.ws)
    with pytest.raises(assay.NotFoundError):
        outsider.set_integration_credentials(integration_id, {"PERSONAL_TOKEN": "x"})
    with pytest.raises(assay.NotFoundError):
        outsider.update_integration(integration_id, name="mine now")
    with pytest.raises(assay.NotFoundError):
        outsider.delete_integration(integration_id)
    assert w.admin.get_integration(integration_id)["integration_id"] == integration_id


# --- members-level credentials --------------------------------------------------------


def test_credential_status_per_member(people, db_integration):
    w = people
    integration_id, _ = db_integration
    both = ["PERSONAL_TOKEN", "PERSONAL_PIN"]

    def status(caller):
        record = w.client(caller).get_integration(integration_id)
        listed = {r["integration_id"]: r for r in w.client(caller).list_integrations(w.ws)}
        assert listed[integration_id]["credential_status"] == record["credential_status"]
        return record["credential_status"], {n: variables(record)[n]["is_set"] for n in both}

    def unset():
        return {"configured": False, "missing": both}, {n: False for n in both}

    for caller in ("org_admin", "ws_admin", "member", "viewer", "victim"):
        assert status(caller) == unset(), caller

    member = w.client("member")
    answer = member.set_integration_credentials(integration_id, {"PERSONAL_TOKEN": secret()})
    assert answer == {"integration_id": integration_id,
                      "credential_status": {"configured": False, "missing": ["PERSONAL_PIN"]}}
    assert status("member") == ({"configured": False, "missing": ["PERSONAL_PIN"]},
                                {"PERSONAL_TOKEN": True, "PERSONAL_PIN": False})
    for caller in ("ws_admin", "victim", "viewer", "org_admin"):
        assert status(caller) == unset(), caller  # only the member's own

    answer = member.set_integration_credentials(integration_id, {"PERSONAL_PIN": secret()})
    assert answer["credential_status"] == {"configured": True, "missing": []}
    assert status("member") == ({"configured": True, "missing": []},
                                {"PERSONAL_TOKEN": True, "PERSONAL_PIN": True})

    # Another member, independently, both at once.
    w.client("victim").set_integration_credentials(
        integration_id, {"PERSONAL_TOKEN": secret(), "PERSONAL_PIN": secret()})
    assert status("victim")[0] == {"configured": True, "missing": []}
    assert status("ws_admin") == unset()

    # Clearing with None.
    answer = member.set_integration_credentials(integration_id, {"PERSONAL_TOKEN": None})
    assert answer["credential_status"] == {"configured": False, "missing": ["PERSONAL_TOKEN"]}
    assert status("member") == ({"configured": False, "missing": ["PERSONAL_TOKEN"]},
                                {"PERSONAL_TOKEN": False, "PERSONAL_PIN": True})
    assert status("victim")[0] == {"configured": True, "missing": []}
    # Clearing what is not set is fine; an empty request changes nothing.
    member.set_integration_credentials(integration_id, {"PERSONAL_TOKEN": None})
    answer = member.set_integration_credentials(integration_id, {})
    assert answer["credential_status"] == {"configured": False, "missing": ["PERSONAL_TOKEN"]}


def test_viewer_cannot_set_credentials(people, db_integration):
    w = people
    integration_id, _ = db_integration
    with pytest.raises(assay.PermissionDeniedError) as exc:
        w.client("viewer").set_integration_credentials(integration_id,
                                                       {"PERSONAL_TOKEN": secret()})
    assert exc.value.http_status == 403
    record = w.client("viewer").get_integration(integration_id)
    assert record["credential_status"]["configured"] is False


def test_a_demoted_member_may_clear_but_not_set(people, db_integration):
    w = people
    integration_id, _ = db_integration
    w.client("member").set_integration_credentials(
        integration_id, {"PERSONAL_TOKEN": secret(), "PERSONAL_PIN": secret()})
    w.admin.update_workspace_member(w.ws, w.user_id("member"), "viewer")
    demoted = w.client("member")
    assert demoted.get_integration(integration_id)["credential_status"]["configured"] is True
    with pytest.raises(assay.PermissionDeniedError) as exc:
        demoted.set_integration_credentials(integration_id, {"PERSONAL_TOKEN": secret()})
    assert "may only clear its own values" in str(exc.value)
    status = demoted.set_integration_credentials(integration_id, {"PERSONAL_TOKEN": None})
    assert status["credential_status"] == {"configured": False, "missing": ["PERSONAL_TOKEN"]}
    assert demoted.get_integration(integration_id)["credential_status"]["missing"] == \
        ["PERSONAL_TOKEN"]


def test_an_integration_without_member_variables_is_configured(people):
    w = people
    integration_id = w.admin.create_integration(w.ws, world_name("plain"), CUSTOM, [
        {"name": "URL", "sensitivity": "not_sensitive", "value": "https://x"}])
    for caller in ("member", "viewer"):
        assert w.client(caller).get_integration(integration_id)["credential_status"] == \
            {"configured": True, "missing": []}


def test_credentials_only_for_members_level_variables(people, db_integration):
    w = people
    integration_id, _ = db_integration
    member = w.client("member")
    value = secret()
    with pytest.raises(assay.ConfigError) as exc:
        member.set_integration_credentials(integration_id, {"DATABRICKS_HOST": value})
    text = str(exc.value)
    assert "DATABRICKS_HOST" in text and "VARIABLE_SENSITIVITY_PUBLIC" in text, text
    assert "VARIABLE_SENSITIVITY_USER_SECRET" in text, text
    assert value not in text and value not in repr(exc.value)
    with pytest.raises(assay.ConfigError) as exc:
        member.set_integration_credentials(integration_id, {"HOST_SECRET_WS": value})
    assert "variable HOST_SECRET_WS is VARIABLE_SENSITIVITY_WORKSPACE_SECRET; only members-level " \
        "(VARIABLE_SENSITIVITY_USER_SECRET) variables take per-member values" in str(exc.value)
    assert value not in str(exc.value)
    name = member.get_integration(integration_id)["name"]
    with pytest.raises(assay.ConfigError) as exc:
        member.set_integration_credentials(integration_id, {"NO_SUCH_VARIABLE": value})
    assert str(exc.value) == (
        "integration '%s' has no variable 'NO_SUCH_VARIABLE'; its members-level "
        "(VARIABLE_SENSITIVITY_USER_SECRET) variables are: PERSONAL_TOKEN, PERSONAL_PIN" % name)
    what = "the value for variable 'PERSONAL_TOKEN' (a string, or null to clear it)"
    with pytest.raises(assay.ConfigError) as exc:
        member.set_integration_credentials(integration_id, {"PERSONAL_TOKEN": 42})
    assert str(exc.value) == what + " must be a string; got integer"
    with pytest.raises(assay.ConfigError) as exc:
        member.set_integration_credentials(integration_id, {"PERSONAL_TOKEN": "x" * 65537})
    assert str(exc.value) == what + " is 65537 bytes; a value may be at most 65536 bytes"
    # Nothing was stored by the refused calls (one request is all or nothing).
    with pytest.raises(assay.ConfigError):
        member.set_integration_credentials(integration_id,
                                           {"PERSONAL_TOKEN": value, "DATABRICKS_HOST": value})
    assert member.get_integration(integration_id)["credential_status"]["missing"] == \
        ["PERSONAL_TOKEN", "PERSONAL_PIN"]
    with pytest.raises(assay.NotFoundError):
        member.set_integration_credentials(MISSING_ID, {"PERSONAL_TOKEN": value})


# --- updates -------------------------------------------------------------------------


def test_update_adds_replaces_and_removes_variables(people, db_integration):
    w = people
    integration_id, _ = db_integration
    admin = w.client("ws_admin")
    member = w.client("member")
    member.set_integration_credentials(integration_id,
                                       {"PERSONAL_TOKEN": secret(), "PERSONAL_PIN": secret()})
    new_ws_value = secret()
    record = admin.update_integration(integration_id, variables=[
        {"name": "REGION", "sensitivity": "not_sensitive", "value": "eu-west-1"},
        {"name": "HOST_SECRET_WS", "sensitivity": "workspace", "value": new_ws_value},
        {"name": "DATABRICKS_HOST", "sensitivity": "not_sensitive", "value": "https://new"},
    ])
    assert_no_secret(record, [new_ws_value], "update")
    got = variables(record)
    assert got["REGION"]["value"] == "eu-west-1"
    assert got["DATABRICKS_HOST"]["value"] == "https://new"
    assert got["HOST_SECRET_WS"]["is_set"] is True
    assert [v["name"] for v in record["variables"]] == [
        "DATABRICKS_HOST", "HOST_SECRET_WS", "PERSONAL_TOKEN", "PERSONAL_PIN", "REGION"]
    # The member's values survived an update that did not touch them.
    assert member.get_integration(integration_id)["credential_status"]["configured"] is True

    # Changing a members-level variable's sensitivity drops its stored values.
    record = admin.update_integration(integration_id, variables=[
        {"name": "PERSONAL_PIN", "sensitivity": "workspace", "value": secret()}])
    assert variables(record)["PERSONAL_PIN"]["sensitivity"] == WORKSPACE
    assert member.get_integration(integration_id)["credential_status"] == \
        {"configured": True, "missing": []}
    admin.update_integration(integration_id, variables=[
        {"name": "PERSONAL_PIN", "sensitivity": "members"}])
    assert member.get_integration(integration_id)["credential_status"] == \
        {"configured": False, "missing": ["PERSONAL_PIN"]}

    record = admin.update_integration(integration_id, remove_variables=["REGION", "PERSONAL_PIN"])
    assert "REGION" not in variables(record) and "PERSONAL_PIN" not in variables(record)
    assert member.get_integration(integration_id)["credential_status"] == \
        {"configured": True, "missing": []}

    with pytest.raises(assay.ConfigError) as exc:
        admin.update_integration(integration_id, remove_variables=["NOPE"])
    # it lists the names there are
    assert str(exc.value) == (
        "remove_variables[0]: integration '%s' has no variable 'NOPE'; its variables are: "
        "DATABRICKS_HOST, HOST_SECRET_WS, PERSONAL_TOKEN" % record["name"])


def test_update_is_revalidated_against_the_type(people):
    w = people
    integration_id = w.admin.create_integration(
        w.ws, world_name("hf"), "INTEGRATION_TYPE_HUGGINGFACE",
        [{"name": "HUGGINGFACE_API_TOKEN", "sensitivity": "members"}])
    with pytest.raises(assay.ConfigError) as exc:
        w.admin.update_integration(integration_id, remove_variables=["HUGGINGFACE_API_TOKEN"])
    assert str(exc.value) == ("INTEGRATION_TYPE_HUGGINGFACE needs the variables "
                              "HUGGINGFACE_API_TOKEN; missing: HUGGINGFACE_API_TOKEN")
    with pytest.raises(assay.ConfigError) as exc:
        w.admin.update_integration(integration_id, variables=[
            {"name": "HUGGINGFACE_API_TOKEN", "sensitivity": "not_sensitive", "value": "v"}])
    assert str(exc.value).startswith(
        "variable 'HUGGINGFACE_API_TOKEN' of INTEGRATION_TYPE_HUGGINGFACE holds a secret but was "
        "declared VARIABLE_SENSITIVITY_PUBLIC: a not-sensitive value where a secret was expected")
    with pytest.raises(assay.ConfigError) as exc:
        w.admin.update_integration(integration_id, variables=[
            {"name": "EXTRA", "sensitivity": "not_sensitive", "value": "v"}])
    assert str(exc.value) == (
        "INTEGRATION_TYPE_HUGGINGFACE takes only the variables HUGGINGFACE_API_TOKEN; 'EXTRA' is "
        "not one of them (INTEGRATION_TYPE_CUSTOM takes any names)")
    record = w.admin.get_integration(integration_id)
    assert [(v["name"], v["sensitivity"]) for v in record["variables"]] == [
        ("HUGGINGFACE_API_TOKEN", USER)]
    with pytest.raises(assay.ConfigError) as exc:
        w.admin.update_integration(integration_id, name="")
    assert str(exc.value) == "name must not be empty or blank"
    with pytest.raises(assay.ConfigError) as exc:
        w.admin.update_integration(integration_id)
    assert str(exc.value) == "nothing to update: give name, variables or remove_variables"
    with pytest.raises(assay.NotFoundError) as exc:
        w.admin.update_integration(MISSING_ID, name="x")
    assert str(exc.value) == "integration '%s' not found" % MISSING_ID


def test_duplicate_names_inside_an_update_are_refused(people, db_integration):
    w = people
    integration_id, _ = db_integration
    before = w.admin.get_integration(integration_id)
    value = secret()
    with pytest.raises(assay.ConfigError) as exc:
        w.admin.update_integration(integration_id, variables=[
            {"name": "REGION", "sensitivity": "not_sensitive", "value": "eu-west-1"},
            {"name": "HOST_SECRET_WS", "sensitivity": "workspace", "value": value},
            {"name": "REGION", "sensitivity": "workspace", "value": value}])
    assert str(exc.value) == (
        "variables[2]: variable 'REGION' appears more than once (also at variables[0]); "
        "variable names must be unique within an integration")
    assert w.admin.get_integration(integration_id) == before  # all or nothing
    with pytest.raises(assay.ConfigError) as exc:
        w.admin.update_integration(integration_id, variables=[
            {"name": "DATABRICKS_HOST", "sensitivity": "not_sensitive", "value": "h"}],
            remove_variables=["DATABRICKS_HOST"])
    assert str(exc.value).startswith(
        "variable 'DATABRICKS_HOST' is both in variables and in remove_variables")
    assert w.admin.get_integration(integration_id) == before


def test_empty_secret_values_are_refused(people, db_integration):
    """An empty secret is never what was meant: refused for a workspace value
    (at create and in an update) and as a member's own value (None clears)."""
    w = people
    integration_id, _ = db_integration
    empty = "is empty; a secret value must not be empty (null clears a members-level value)"
    with pytest.raises(assay.ConfigError) as exc:
        w.admin.create_integration(w.ws, world_name("empty"), CUSTOM, [
            {"name": "PUBLIC_OK", "sensitivity": "not_sensitive", "value": ""},
            {"name": "WS_EMPTY", "sensitivity": "workspace", "value": ""}])
    assert str(exc.value) == "the value of integration_schema[1] (variable 'WS_EMPTY') " + empty
    before = w.admin.get_integration(integration_id)
    with pytest.raises(assay.ConfigError) as exc:
        w.admin.update_integration(integration_id, variables=[
            {"name": "HOST_SECRET_WS", "sensitivity": "workspace", "value": ""}])
    assert str(exc.value) == "the value of variables[0] (variable 'HOST_SECRET_WS') " + empty
    with pytest.raises(assay.ConfigError) as exc:
        w.admin.update_integration(integration_id, variables=[
            {"name": "NEW_WS", "sensitivity": "workspace", "value": ""}])
    assert str(exc.value) == "the value of variables[0] (variable 'NEW_WS') " + empty
    after = w.admin.get_integration(integration_id)
    assert after == before and variables(after)["HOST_SECRET_WS"]["is_set"] is True
    member = w.client("member")
    with pytest.raises(assay.ConfigError) as exc:
        member.set_integration_credentials(integration_id, {"PERSONAL_TOKEN": ""})
    assert str(exc.value) == ("the value for variable 'PERSONAL_TOKEN' (a string, or null to "
                              "clear it) " + empty)
    assert member.get_integration(integration_id)["credential_status"] == \
        {"configured": False, "missing": ["PERSONAL_TOKEN", "PERSONAL_PIN"]}
    # a not-sensitive value may be empty
    record = w.admin.update_integration(integration_id, variables=[
        {"name": "DATABRICKS_HOST", "sensitivity": "not_sensitive", "value": ""}])
    assert variables(record)["DATABRICKS_HOST"]["value"] == ""


NUL_MESSAGE = "request body holds a NUL character (\\u0000) in a string (line 1, column "
NUL_TAIL = "); names and values must not contain NUL"


def assert_plain_nul_error(error, value):
    """A NUL is reported as such: where, never the value, nor the JSON
    library's own words (its flag names, "near '...'")."""
    text = str(error)
    assert text.startswith(NUL_MESSAGE) and text.endswith(NUL_TAIL), text
    for leak in ("JSON_ALLOW_NUL", "jansson", "near", value, value.split("\0")[-1]):
        assert leak not in text, text
    assert error.http_status == 400


def test_a_nul_character_in_a_value_is_a_plain_config_error(people, db_integration):
    w = people
    integration_id, _ = db_integration
    value = "before\0" + secret()
    calls = [
        lambda: w.admin.create_integration(w.ws, world_name("nul"), CUSTOM, [
            {"name": "WS", "sensitivity": "workspace", "value": value}]),
        lambda: w.admin.create_integration(w.ws, world_name("nul"), CUSTOM, [
            {"name": "PUB", "sensitivity": "not_sensitive", "value": value}]),
        lambda: w.admin.update_integration(integration_id, variables=[
            {"name": "HOST_SECRET_WS", "sensitivity": "workspace", "value": value}]),
        lambda: w.client("member").set_integration_credentials(
            integration_id, {"PERSONAL_TOKEN": value}),
    ]
    for call in calls:
        with pytest.raises(assay.ConfigError) as exc:
            call()
        assert_plain_nul_error(exc.value, value)
    assert w.client("member").get_integration(integration_id)["credential_status"][
        "configured"] is False


# --- bad inputs ----------------------------------------------------------------------

VALUE = "v"
SENSITIVITIES = ('VARIABLE_SENSITIVITY_PUBLIC (or "not_sensitive"), '
                 'VARIABLE_SENSITIVITY_WORKSPACE_SECRET (or "workspace"), '
                 'VARIABLE_SENSITIVITY_USER_SECRET (or "members")')
ENTRY = '{"name", "sensitivity", "value"?}'
BAD_SCHEMAS = [
    # (id, integration_type, schema, fragments the message must contain; the
    # first is where it starts: core/src/integration/schema.c)
    ("unknown type", "INTEGRATION_TYPE_FTP", [],
     ["integration_type 'INTEGRATION_TYPE_FTP' is not a known integration type; expected one "
      "of: INTEGRATION_TYPE_CUSTOM, INTEGRATION_TYPE_DATABRICKS, ",
      "INTEGRATION_TYPE_AZURE_WORKLOAD_IDENTITY"]),
    ("entry without name", CUSTOM, [{"name": "A", "sensitivity": PUBLIC, "value": VALUE},
                                    {"sensitivity": PUBLIC, "value": VALUE}],
     ["integration_schema[1] has no name; each entry needs a name and a sensitivity"]),
    ("entry without sensitivity", CUSTOM, [{"name": "VAR_X", "value": VALUE}],
     ["integration_schema[0] (variable 'VAR_X') has no sensitivity; expected one of "
      + SENSITIVITIES]),
    ("unknown sensitivity", CUSTOM,
     [{"name": "VAR_X", "sensitivity": "top_secret", "value": VALUE}],
     ["integration_schema[0] (variable 'VAR_X') has an unknown sensitivity 'top_secret'; "
      "expected one of " + SENSITIVITIES]),
    ("duplicate names", CUSTOM, [{"name": "VAR_X", "sensitivity": PUBLIC, "value": VALUE},
                                 {"name": "VAR_X", "sensitivity": "members"}],
     ["integration_schema[1]: variable 'VAR_X' appears more than once (also at "
      "integration_schema[0]); variable names must be unique within an integration"]),
    ("empty name", CUSTOM, [{"name": "", "sensitivity": PUBLIC, "value": VALUE}],
     ["integration_schema[0].name must not be empty or blank"]),
    ("blank name", CUSTOM, [{"name": " \t", "sensitivity": PUBLIC, "value": VALUE}],
     ["integration_schema[0].name must not be empty or blank"]),
    ("name with a newline", CUSTOM, [{"name": "VAR\nX", "sensitivity": PUBLIC, "value": VALUE}],
     ["integration_schema[0].name must not contain control characters"]),
    ("name too long", CUSTOM, [{"name": "N" * 257, "sensitivity": PUBLIC, "value": VALUE}],
     ["integration_schema[0].name must be at most 256 bytes; got 257"]),
    ("name not a string", CUSTOM, [{"name": 7, "sensitivity": PUBLIC, "value": VALUE}],
     ["integration_schema[0].name must be a string; got integer"]),
    ("oversized public value", CUSTOM, [{"name": "VAR_X", "sensitivity": PUBLIC,
                                         "value": "x" * 65537}],
     ["the value of integration_schema[0] (variable 'VAR_X') is 65537 bytes; a value may be at "
      "most 65536 bytes"]),
    ("oversized workspace secret", CUSTOM, [{"name": "VAR_X", "sensitivity": "workspace",
                                             "value": "y" * 65537}],
     ["the value of integration_schema[0] (variable 'VAR_X') is 65537 bytes; a value may be at "
      "most 65536 bytes"]),
    ("empty workspace secret", CUSTOM, [{"name": "VAR_X", "sensitivity": "workspace",
                                         "value": ""}],
     ["the value of integration_schema[0] (variable 'VAR_X') is empty; a secret value must not "
      "be empty"]),
    ("public without value", CUSTOM, [{"name": "VAR_X", "sensitivity": PUBLIC}],
     ["integration_schema[0] (variable 'VAR_X', VARIABLE_SENSITIVITY_PUBLIC) needs a value: a "
      "string of at most 65536 bytes"]),
    ("workspace secret without value", CUSTOM, [{"name": "VAR_X", "sensitivity": WORKSPACE}],
     ["integration_schema[0] (variable 'VAR_X', VARIABLE_SENSITIVITY_WORKSPACE_SECRET) needs a "
      "value: a string of at most 65536 bytes"]),
    ("value not a string", CUSTOM, [{"name": "VAR_X", "sensitivity": PUBLIC, "value": 3}],
     ["the value of integration_schema[0] (variable 'VAR_X') must be a string; got integer"]),
    ("value for a members-level variable", CUSTOM,
     [{"name": "VAR_X", "sensitivity": "members", "value": VALUE}],
     ["integration_schema[0] (variable 'VAR_X') is members-level "
      "(VARIABLE_SENSITIVITY_USER_SECRET) and takes no value here; each member sets their own "
      "with set_integration_credentials"]),
    ("unknown entry key", CUSTOM,
     [{"name": "VAR_X", "sensitivity": PUBLIC, "value": VALUE, "secret": True}],
     ["integration_schema[0] has an unknown key 'secret'; an entry takes only name, "
      "sensitivity and value"]),
    ("entry not an object", CUSTOM, ["VAR_X"],
     ["integration_schema[0] must be an object %s; got string" % ENTRY]),
    ("schema not a list", CUSTOM, {"name": "VAR_X", "sensitivity": PUBLIC, "value": VALUE},
     ["integration_schema must be an array of variable entries %s; got object" % ENTRY]),
    ("too many variables", CUSTOM, [{"name": "V%d" % i, "sensitivity": PUBLIC, "value": VALUE}
                                    for i in range(257)],
     ["integration_schema has 257 variables; an integration holds at most 256"]),
    ("not-sensitive where a secret is expected", "INTEGRATION_TYPE_AWS_ACCESS_KEY",
     [{"name": "AWS_ACCESS_KEY_ID", "sensitivity": PUBLIC, "value": "AKIA"},
      {"name": "AWS_SECRET_ACCESS_KEY", "sensitivity": "not_sensitive", "value": VALUE}],
     ["variable 'AWS_SECRET_ACCESS_KEY' of INTEGRATION_TYPE_AWS_ACCESS_KEY holds a secret but "
      "was declared VARIABLE_SENSITIVITY_PUBLIC: a not-sensitive value where a secret was "
      "expected"]),
    ("optional secret as not-sensitive", "INTEGRATION_TYPE_AWS_ACCESS_KEY",
     [{"name": "AWS_ACCESS_KEY_ID", "sensitivity": PUBLIC, "value": "AKIA"},
      {"name": "AWS_SECRET_ACCESS_KEY", "sensitivity": "members"},
      {"name": "AWS_SESSION_TOKEN", "sensitivity": PUBLIC, "value": VALUE}],
     ["variable 'AWS_SESSION_TOKEN' of INTEGRATION_TYPE_AWS_ACCESS_KEY holds a secret but was "
      "declared VARIABLE_SENSITIVITY_PUBLIC"]),
    ("required variable missing", "INTEGRATION_TYPE_AWS_ACCESS_KEY",
     [{"name": "AWS_ACCESS_KEY_ID", "sensitivity": PUBLIC, "value": "AKIA"}],
     ["INTEGRATION_TYPE_AWS_ACCESS_KEY needs the variables AWS_ACCESS_KEY_ID, "
      "AWS_SECRET_ACCESS_KEY; missing: AWS_SECRET_ACCESS_KEY"]),
    ("variable the type does not know", "INTEGRATION_TYPE_AWS_ROLE_ARN",
     [{"name": "AWS_ROLE_ARN", "sensitivity": PUBLIC, "value": "arn:aws:iam::1:role/x"},
      {"name": "PASSWORD", "sensitivity": "workspace", "value": VALUE}],
     ["INTEGRATION_TYPE_AWS_ROLE_ARN takes only the variables AWS_ROLE_ARN, AWS_REGION; "
      "'PASSWORD' is not one of them (INTEGRATION_TYPE_CUSTOM takes any names)"]),
    ("gcs key as public", "INTEGRATION_TYPE_GCS",
     [{"name": "GCS_SERVICE_ACCOUNT_JSON", "sensitivity": PUBLIC, "value": "{}"}],
     ["variable 'GCS_SERVICE_ACCOUNT_JSON' of INTEGRATION_TYPE_GCS holds a secret but was "
      "declared VARIABLE_SENSITIVITY_PUBLIC"]),
]


@pytest.mark.parametrize("integration_type,schema,words",
                         [pytest.param(t, s, words, id=i) for i, t, s, words in BAD_SCHEMAS])
def test_bad_schemas_are_config_errors(shared_people, integration_type, schema, words):
    w = shared_people
    name = world_name("bad")
    with pytest.raises(assay.ConfigError) as exc:
        w.admin.create_integration(w.ws, name, integration_type, schema)
    assert exc.value.http_status == 400
    text = str(exc.value)
    assert text.startswith(words[0]), "the message %r does not start with %r" % (text, words[0])
    for word in words[1:]:
        assert word in text, "the message %r does not mention %r" % (text, word)
    assert name not in {r["name"] for r in w.admin.list_integrations(w.ws)}


@pytest.mark.parametrize("name,message", [
    ("", "name must not be empty or blank"),
    ("  ", "name must not be empty or blank"),
    ("two\nlines", "name must not contain control characters (it is one line of text)"),
    ("x" * 257, "name must be at most 256 bytes; got 257"),
])
def test_bad_integration_names(shared_people, name, message):
    w = shared_people
    with pytest.raises(assay.ConfigError) as exc:
        w.admin.create_integration(w.ws, name, CUSTOM, [])
    assert str(exc.value) == message
    assert exc.value.http_status == 400


def test_limits_are_inclusive(shared_people):
    w = shared_people
    schema = [{"name": "N" * 256, "sensitivity": PUBLIC, "value": "x" * 65536},
              {"name": "S", "sensitivity": WORKSPACE, "value": "s" * 65536}]
    schema += [{"name": "V%d" % i, "sensitivity": PUBLIC, "value": ""} for i in range(254)]
    integration_id = w.admin.create_integration(w.ws, "n" * 256, CUSTOM, schema)
    record = w.admin.get_integration(integration_id)
    assert len(record["variables"]) == 256
    assert variables(record)["N" * 256]["value"] == "x" * 65536
    w.admin.delete_integration(integration_id)


@pytest.mark.parametrize("integration_type,schema", [
    ("INTEGRATION_TYPE_DATABRICKS", [
        {"name": "DATABRICKS_HOST", "sensitivity": "not_sensitive", "value": "h"},
        {"name": "DATABRICKS_TOKEN", "sensitivity": "members"}]),
    ("INTEGRATION_TYPE_AWS_ACCESS_KEY", [
        {"name": "AWS_ACCESS_KEY_ID", "sensitivity": "members"},
        {"name": "AWS_SECRET_ACCESS_KEY", "sensitivity": "workspace", "value": "s"},
        {"name": "AWS_SESSION_TOKEN", "sensitivity": "members"},
        {"name": "AWS_REGION", "sensitivity": "not_sensitive", "value": "eu-west-1"}]),
    ("INTEGRATION_TYPE_AWS_ROLE_ARN", [
        {"name": "AWS_ROLE_ARN", "sensitivity": "not_sensitive", "value": "arn"}]),
    ("INTEGRATION_TYPE_HUGGINGFACE", [
        {"name": "HUGGINGFACE_API_TOKEN", "sensitivity": "workspace", "value": "hf"}]),
    ("INTEGRATION_TYPE_GCS", [
        {"name": "GCS_SERVICE_ACCOUNT_JSON", "sensitivity": "members"}]),
    ("INTEGRATION_TYPE_AZURE_CLIENT_SECRET", [
        {"name": "AZURE_TENANT_ID", "sensitivity": "not_sensitive", "value": "t"},
        {"name": "AZURE_CLIENT_ID", "sensitivity": "not_sensitive", "value": "c"},
        {"name": "AZURE_CLIENT_SECRET", "sensitivity": "members"}]),
    ("INTEGRATION_TYPE_AZURE_WORKLOAD_IDENTITY", [
        {"name": "AZURE_TENANT_ID", "sensitivity": "workspace", "value": "t"},
        {"name": "AZURE_CLIENT_ID", "sensitivity": "not_sensitive", "value": "c"}]),
])
def test_every_type_accepts_its_variables(shared_people, integration_type, schema):
    w = shared_people
    integration_id = w.admin.create_integration(w.ws, world_name("typed"), integration_type,
                                                schema)
    record = w.admin.get_integration(integration_id)
    assert record["integration_type"] == integration_type
    assert [v["name"] for v in record["variables"]] == [e["name"] for e in schema]


def test_secrets_never_appear_in_exception_text(people, db_integration):
    w = people
    integration_id, _ = db_integration
    big = secret() * 2049  # > 65536 bytes, made of the secret
    marker = big[:32]
    value = secret()
    calls = [
        ("oversized workspace secret", lambda: w.admin.create_integration(
            w.ws, world_name("x"), CUSTOM,
            [{"name": "A", "sensitivity": "workspace", "value": big}])),
        ("oversized member secret", lambda: w.client("member").set_integration_credentials(
            integration_id, {"PERSONAL_TOKEN": big})),
        ("secret with an unknown sensitivity", lambda: w.admin.create_integration(
            w.ws, world_name("x"), CUSTOM,
            [{"name": "A", "sensitivity": "classified", "value": value}])),
        ("secret for a members-level variable", lambda: w.admin.create_integration(
            w.ws, world_name("x"), CUSTOM,
            [{"name": "A", "sensitivity": "members", "value": value}])),
        ("secret as a not-sensitive AWS key", lambda: w.admin.create_integration(
            w.ws, world_name("x"), "INTEGRATION_TYPE_AWS_ACCESS_KEY",
            [{"name": "AWS_ACCESS_KEY_ID", "sensitivity": PUBLIC, "value": "AKIA"},
             {"name": "AWS_SECRET_ACCESS_KEY", "sensitivity": PUBLIC, "value": value}])),
        ("secret in a duplicate entry", lambda: w.admin.create_integration(
            w.ws, world_name("x"), CUSTOM,
            [{"name": "A", "sensitivity": "workspace", "value": value},
             {"name": "A", "sensitivity": "workspace", "value": value}])),
        ("secret sent to a public variable", lambda: w.client("member")
         .set_integration_credentials(integration_id, {"DATABRICKS_HOST": value})),
        ("secret by a viewer", lambda: w.client("viewer").set_integration_credentials(
            integration_id, {"PERSONAL_TOKEN": value})),
        ("secret by an outsider", lambda: w.client("outsider").set_integration_credentials(
            integration_id, {"PERSONAL_TOKEN": value})),
        ("secret in a refused update", lambda: w.client("member").update_integration(
            integration_id, variables=[{"name": "HOST_SECRET_WS", "sensitivity": "workspace",
                                        "value": value}])),
    ]
    for what, call in calls:
        with pytest.raises(assay.Error) as exc:
            call()
        for text in (str(exc.value), repr(exc.value), exc.value.message, str(exc.value.args)):
            assert marker not in text and value not in text, "%s: %s" % (what, text[:300])


# --- key rotation --------------------------------------------------------------------


def test_rotate_key_keeps_every_value_usable(fresh_people):
    w = fresh_people
    integration_id = w.admin.create_integration(w.ws, world_name("rot"), CUSTOM, [
        {"name": "WS", "sensitivity": "workspace", "value": secret()},
        {"name": "MINE", "sensitivity": "members"}])
    w.client("member").set_integration_credentials(integration_id, {"MINE": secret()})
    w.client("ws_admin").set_integration_credentials(integration_id, {"MINE": secret()})
    for caller in ("ws_admin", "member", "viewer"):
        with pytest.raises(assay.PermissionDeniedError) as exc:
            w.client(caller).rotate_secret_key()
        assert str(exc.value) == "rotating the secret key needs an organisation admin"
    key_file = w.platform.home / "secret.key"
    key_before = key_file.read_bytes()
    first = w.admin.rotate_secret_key()
    assert set(first) == {"key_id", "secrets_resealed", "compacted"}
    assert isinstance(first["compacted"], bool)
    assert first["secrets_resealed"] == 3
    assert len(first["key_id"]) == 16 and int(first["key_id"], 16) >= 0
    assert key_file.read_bytes() != key_before  # the key really changed
    assert key_file.stat().st_mode & 0o777 == 0o600
    second = w.admin.rotate_secret_key()
    assert second["secrets_resealed"] == 3 and second["key_id"] != first["key_id"]
    for caller, configured in [("member", True), ("ws_admin", True), ("viewer", False)]:
        record = w.client(caller).get_integration(integration_id)
        assert record["credential_status"]["configured"] is configured, caller
        assert variables(record)["WS"]["is_set"] is True
    # A client opened after the rotation (embedded: a new platform reading
    # the new key file, which must match the key id the store recorded)
    # sees the member's value set before the rotation, and the workspace's.
    with w.platform.client(api_key=w.tokens["member"]) as fresh:
        record = fresh.get_integration(integration_id)
        assert record["credential_status"] == {"configured": True, "missing": []}
        assert variables(record)["WS"]["is_set"] is True
        assert variables(record)["MINE"]["is_set"] is True
    # Values stay writable and clearable under the new key.
    answer = w.client("member").set_integration_credentials(integration_id, {"MINE": None})
    assert answer["credential_status"] == {"configured": False, "missing": ["MINE"]}
    w.client("member").set_integration_credentials(integration_id, {"MINE": secret()})
    assert w.admin.rotate_secret_key()["secrets_resealed"] == 3


def stored_rows(home, integration_id):
    """{(variable, user_id)} of the sealed values stored for an integration
    ("" user_id: the workspace value), read from the home's database."""
    db = sqlite3.connect(str(home / "assay.db"), timeout=30)
    try:
        return set(db.execute("SELECT name, user_id FROM integration_secrets "
                              "WHERE integration_id = ?", (integration_id,)).fetchall())
    finally:
        db.close()


def test_stored_values_follow_changes_and_deletes(people, db_integration):
    """What the store keeps: one sealed row per workspace secret and per
    member value; dropped when the member leaves, when the variable stops
    being members-level, and with the integration."""
    w = people
    integration_id, _ = db_integration
    home = w.platform.home
    member, victim = w.user_id("member"), w.user_id("victim")
    assert stored_rows(home, integration_id) == {("HOST_SECRET_WS", "")}
    w.client("member").set_integration_credentials(
        integration_id, {"PERSONAL_TOKEN": secret(), "PERSONAL_PIN": secret()})
    w.client("victim").set_integration_credentials(integration_id, {"PERSONAL_TOKEN": secret()})
    assert stored_rows(home, integration_id) == {
        ("HOST_SECRET_WS", ""), ("PERSONAL_TOKEN", member), ("PERSONAL_PIN", member),
        ("PERSONAL_TOKEN", victim)}
    w.client("member").set_integration_credentials(integration_id, {"PERSONAL_PIN": None})
    assert ("PERSONAL_PIN", member) not in stored_rows(home, integration_id)

    w.admin.remove_workspace_member(w.ws, victim)
    assert stored_rows(home, integration_id) == {("HOST_SECRET_WS", ""),
                                                 ("PERSONAL_TOKEN", member)}
    w.admin.update_integration(integration_id, variables=[
        {"name": "PERSONAL_TOKEN", "sensitivity": "not_sensitive", "value": "now public"}])
    assert stored_rows(home, integration_id) == {("HOST_SECRET_WS", "")}
    w.admin.update_integration(integration_id, remove_variables=["HOST_SECRET_WS"])
    assert stored_rows(home, integration_id) == set()

    other = w.admin.create_integration(w.ws, world_name("gone"), CUSTOM, [
        {"name": "WS", "sensitivity": "workspace", "value": secret()},
        {"name": "MINE", "sensitivity": "members"}])
    w.client("member").set_integration_credentials(other, {"MINE": secret()})
    assert len(stored_rows(home, other)) == 2
    w.client("ws_admin").delete_integration(other)
    assert stored_rows(home, other) == set()
