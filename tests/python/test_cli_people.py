"""The `assay` CLI's issue-3 commands end to end — workspace, user, member,
token, integration and admin — against the embedded platform (``--home``)
and a real assayd (``--url``, ``--token-file``): what each prints, that a
secret never appears on stdout or stderr, that secrets come from a file or
stdin only, and that bad input exits non-zero with a clear message.
"""

import json
import os
import re
import subprocess
import uuid

import pytest

MISSING_ID = "00000000-0000-4000-8000-000000000000"
PUBLIC_VALUE = "AKIA-PUBLIC-ACCESS-KEY-ID"
WORKSPACE_SECRET = "ws-secret-9f2c1d7e-never-print-me"
MEMBER_SECRET = "member-secret-4b8a66e0-never-print-me"
NEW_WORKSPACE_SECRET = "ws-secret-replaced-31c5aa90-never-print-me"
SECRETS = (WORKSPACE_SECRET, MEMBER_SECRET, NEW_WORKSPACE_SECRET)

SCHEMA = [
    {"name": "ACCESS_KEY", "sensitivity": "VARIABLE_SENSITIVITY_PUBLIC", "value": PUBLIC_VALUE},
    {"name": "SHARED_SECRET", "sensitivity": "workspace", "value": WORKSPACE_SECRET},
    {"name": "SECRET_ACCESS_KEY", "sensitivity": "VARIABLE_SENSITIVITY_USER_SECRET"},
]


class Cli:
    """Runs the `assay` CLI against one platform, as its admin or with a token file."""

    def __init__(self, exe, kind, home, url=None, token_file=None):
        self.exe, self.kind, self.home, self.url = exe, kind, home, url
        self.admin_token_file = token_file
        self.outputs = []  # every stdout and stderr, to check for secrets

    def target(self, token_file=None):
        if self.kind == "embedded":
            # embedded: the home's admin, or the user of a token file
            args = ["--home", str(self.home)]
            return args + (["--token-file", str(token_file)] if token_file else [])
        return ["--url", self.url, "--token-file", str(token_file or self.admin_token_file)]

    def run(self, *args, token_file=None, stdin=None, expect=0):
        env = {k: v for k, v in os.environ.items()
               if k not in ("ASSAY_URL", "ASSAY_API_KEY", "ASSAY_HOME")}
        proc = subprocess.run([str(self.exe), *self.target(token_file), *args], input=stdin,
                              capture_output=True, text=True, env=env, timeout=60)
        self.outputs += [proc.stdout, proc.stderr]
        assert proc.returncode == expect, (args, proc.returncode, proc.stdout, proc.stderr)
        return proc

    def out(self, *args, **kwargs):
        return self.run(*args, **kwargs).stdout

    def json(self, *args, **kwargs):
        return json.loads(self.out("--json", *args, **kwargs))

    def fails(self, code, *args, **kwargs):
        """Run expecting exit status `code`; returns stderr."""
        proc = self.run(*args, expect=code, **kwargs)
        assert proc.stdout == ""
        return proc.stderr

    def assert_no_secret_printed(self):
        for text in self.outputs:
            for secret in SECRETS:
                assert secret not in text


@pytest.fixture(params=["embedded", "assayd"])
def cli(request, tmp_path, assay_cli):
    if request.param == "embedded":
        yield Cli(assay_cli, "embedded", tmp_path / "home")
    else:
        server = request.getfixturevalue("assayd")
        yield Cli(assay_cli, "assayd", server.home, url=server.url,
                  token_file=server.home / "admin.token")


def is_uuid(text):
    return str(uuid.UUID(text)) == text


def lines(text):
    return [line.split("\t") for line in text.splitlines()]


def record(text):
    return dict(line.split("\t", 1) for line in text.splitlines())


def test_help_says_secrets_never_come_from_argv(assay_cli):
    out = subprocess.run([str(assay_cli), "--help"], capture_output=True, text=True,
                         check=True).stdout
    assert "never taken from the command line" in out
    for command in ("workspace create NAME", "member add WS USER ROLE", "token revoke ID",
                    "integration set-credentials ID --from-file FILE",
                    "integration update ID [--name N] [--changes FILE]", "admin rotate-key"):
        assert command in out


def test_workspaces_users_members(cli):
    ws = cli.out("workspace", "create", "analytics").strip()
    assert is_uuid(ws)
    assert [ws, "analytics", "WORKSPACE_ROLE_ADMIN"] in lines(cli.out("workspace", "list"))
    got = record(cli.out("workspace", "get", ws))
    assert got["workspace_id"] == ws and got["name"] == "analytics"
    assert {w["workspace_id"] for w in cli.json("workspace", "list")} >= {ws}

    bob = cli.out("user", "create", "bob", "--display-name", "Bob Builder").strip()
    assert is_uuid(bob)
    assert [bob, "bob", "Bob Builder", "false"] in lines(cli.out("user", "list"))
    carol = cli.json("user", "create", "carol")
    assert carol["username"] == "carol" and carol["display_name"] is None

    added = record(cli.out("member", "add", ws, bob, "member"))
    assert added["role"] == "WORKSPACE_ROLE_MEMBER" and added["user_id"] == bob
    assert [bob, "bob", "WORKSPACE_ROLE_MEMBER"] in lines(cli.out("member", "list", ws))
    updated = cli.json("member", "update", ws, bob, "viewer")
    assert updated["role"] == "WORKSPACE_ROLE_VIEWER"
    assert cli.out("member", "remove", ws, bob) == ""
    assert bob not in cli.out("member", "list", ws)


def test_tokens(cli, tmp_path):
    ws = cli.out("workspace", "create", "tokens-ws").strip()
    bob = cli.out("user", "create", "bob").strip()
    cli.out("member", "add", ws, bob, "WORKSPACE_ROLE_MEMBER")
    token = cli.out("token", "create", "--workspace", ws, "--user", bob, "--name",
                    "bob-laptop", "--expires-in-days", "30").strip()
    assert token
    token_file = tmp_path / "bob.token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)

    listed = cli.out("token", "list", "--user", bob)
    assert token not in listed  # never the secret
    rows = lines(listed)
    assert len(rows) == 1
    token_id, name, user_id, workspace_id, status, expires_at = rows[0]
    assert (name, user_id, workspace_id, status) == ("bob-laptop", bob, ws, "active")
    assert expires_at
    assert [r["id"] for r in cli.json("token", "list", "--workspace", ws, "--user", bob)] \
        == [token_id]

    # The token works, as bob (on the embedded platform too): he sees his workspace only.
    assert [r[0] for r in lines(cli.out("workspace", "list", token_file=token_file))] == [ws]
    assert [r["id"] for r in cli.json("token", "list", token_file=token_file)] == [token_id]
    err = cli.fails(1, "user", "list", token_file=token_file)
    assert "PermissionDeniedError" in err

    assert cli.out("token", "revoke", token_id) == ""
    assert cli.out("token", "revoke", token_id) == ""  # idempotent
    assert cli.json("token", "list", "--user", bob)[0]["status"] == "revoked"
    assert "AuthError" in cli.fails(1, "workspace", "list", token_file=token_file)


def test_integrations_and_credentials(cli, tmp_path):
    ws = cli.out("workspace", "create", "integrations-ws").strip()
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    integration = cli.out("integration", "create", ws, "warehouse", "INTEGRATION_TYPE_CUSTOM",
                          "--schema", str(schema)).strip()
    assert is_uuid(integration)

    rows = lines(cli.out("integration", "list", ws))
    assert rows == [[integration, "warehouse", "INTEGRATION_TYPE_CUSTOM",
                     "missing: SECRET_ACCESS_KEY"]]
    got = record(cli.out("integration", "get", integration))
    assert got["integration_id"] == integration
    assert got["credential_status"] == "missing: SECRET_ACCESS_KEY"
    assert PUBLIC_VALUE in got["variables"]  # not-sensitive values are shown
    shown = cli.json("integration", "get", integration)
    by_name = {v["name"]: v for v in shown["variables"]}
    assert by_name["ACCESS_KEY"]["value"] == PUBLIC_VALUE
    assert "value" not in by_name["SHARED_SECRET"] and by_name["SHARED_SECRET"]["is_set"]
    assert "value" not in by_name["SECRET_ACCESS_KEY"]
    assert not by_name["SECRET_ACCESS_KEY"]["is_set"]

    # The caller's own value, from stdin: never on the command line.
    status = record(cli.out("integration", "set-credentials", integration, "--from-file", "-",
                            stdin=json.dumps({"SECRET_ACCESS_KEY": MEMBER_SECRET})))
    assert status == {"integration_id": integration, "credential_status": "configured"}
    assert cli.json("integration", "get", integration)["credential_status"] == \
        {"configured": True, "missing": []}
    # ... or from a file; null clears it
    creds = tmp_path / "creds.json"
    creds.write_text('{"SECRET_ACCESS_KEY": null}')
    cleared = cli.json("integration", "set-credentials", integration, "--from-file", str(creds))
    assert cleared["credential_status"] == {"configured": False,
                                            "missing": ["SECRET_ACCESS_KEY"]}

    # A second integration, its schema from stdin.
    other = cli.out("integration", "create", ws, "hub", "INTEGRATION_TYPE_HUGGINGFACE",
                    "--schema", "-",
                    stdin=json.dumps([{"name": "HUGGINGFACE_API_TOKEN",
                                       "sensitivity": "members"}])).strip()
    assert [r[1] for r in lines(cli.out("integration", "list", ws))] == ["warehouse", "hub"]
    assert cli.out("integration", "delete", other) == ""
    assert "NotFoundError" in cli.fails(1, "integration", "get", other)
    cli.assert_no_secret_printed()


def test_member_sets_own_credentials_with_a_token(cli, tmp_path):
    ws = cli.out("workspace", "create", "member-ws").strip()
    dana = cli.out("user", "create", "dana").strip()
    cli.out("member", "add", ws, dana, "member")
    token_file = tmp_path / "dana.token"
    token_file.write_text(cli.out("token", "create", "--workspace", ws, "--user", dana))
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    integration = cli.out("integration", "create", ws, "warehouse", "INTEGRATION_TYPE_CUSTOM",
                          "--schema", str(schema)).strip()

    cli.out("integration", "set-credentials", integration, "--from-file", "-",
            stdin=json.dumps({"SECRET_ACCESS_KEY": MEMBER_SECRET}), token_file=token_file)
    # each caller has their own status
    assert record(cli.out("integration", "get", integration, token_file=token_file))[
        "credential_status"] == "configured"
    assert record(cli.out("integration", "get", integration))["credential_status"] == \
        "missing: SECRET_ACCESS_KEY"
    # a member may not change the integration
    schema.write_text("[]")
    err = cli.fails(1, "integration", "create", ws, "mine", "INTEGRATION_TYPE_CUSTOM",
                    "--schema", str(schema), token_file=token_file)
    assert "PermissionDeniedError" in err

    # rotation keeps every value usable
    rotated = record(cli.out("admin", "rotate-key"))
    assert len(rotated["key_id"]) == 16 and int(rotated["secrets_resealed"]) >= 2
    assert record(cli.out("integration", "get", integration, token_file=token_file))[
        "credential_status"] == "configured"
    assert "PermissionDeniedError" in cli.fails(1, "admin", "rotate-key",
                                                token_file=token_file)
    cli.assert_no_secret_printed()


def test_integration_update(cli, tmp_path):
    ws = cli.out("workspace", "create", "update-ws").strip()
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    integration = cli.out("integration", "create", ws, "warehouse", "INTEGRATION_TYPE_CUSTOM",
                          "--schema", str(schema)).strip()
    cli.out("integration", "set-credentials", integration, "--from-file", "-",
            stdin=json.dumps({"SECRET_ACCESS_KEY": MEMBER_SECRET}))
    before = cli.json("integration", "get", integration)

    # rename: prints the record as `integration get` does
    out = cli.out("integration", "update", integration, "--name", "warehouse-eu")
    got = record(out)
    assert got["name"] == "warehouse-eu" and got["integration_id"] == integration
    assert out == cli.out("integration", "get", integration)
    assert cli.json("integration", "get", integration)["variables"] == before["variables"]

    # replace the workspace secret (from stdin), add and remove variables
    changes = {"variables": [
        {"name": "SHARED_SECRET", "sensitivity": "workspace", "value": NEW_WORKSPACE_SECRET},
        {"name": "REGION", "sensitivity": "not_sensitive", "value": "eu-west-1"}],
        "remove_variables": ["ACCESS_KEY"]}
    updated = cli.json("integration", "update", integration, "--changes", "-",
                       stdin=json.dumps(changes))
    assert updated == cli.json("integration", "get", integration)
    assert updated["name"] == "warehouse-eu"
    by_name = {v["name"]: v for v in updated["variables"]}
    assert [v["name"] for v in updated["variables"]] == [
        "SHARED_SECRET", "SECRET_ACCESS_KEY", "REGION"]
    assert by_name["SHARED_SECRET"]["is_set"] is True and "value" not in by_name["SHARED_SECRET"]
    assert by_name["REGION"]["value"] == "eu-west-1"
    # the caller's own members-level value was kept
    assert updated["credential_status"] == {"configured": True, "missing": []}

    # --name and --changes (a file) together
    changes_file = tmp_path / "changes.json"
    changes_file.write_text(json.dumps({"remove_variables": ["REGION"]}))
    got = record(cli.out("integration", "update", integration, "--name", "warehouse",
                         "--changes", str(changes_file)))
    assert got["name"] == "warehouse" and "REGION" not in got["variables"]
    assert "SHARED_SECRET" in got["variables"]

    # a member may not change it
    dana = cli.out("user", "create", "dana").strip()
    cli.out("member", "add", ws, dana, "member")
    token_file = tmp_path / "dana.token"
    token_file.write_text(cli.out("token", "create", "--workspace", ws, "--user", dana))
    err = cli.fails(1, "integration", "update", integration, "--name", "mine",
                    token_file=token_file)
    assert err.startswith("assay: PermissionDeniedError: ")
    assert cli.json("integration", "get", integration)["name"] == "warehouse"
    cli.assert_no_secret_printed()


def test_integration_update_bad_input(cli, tmp_path):
    ws = cli.out("workspace", "create", "update-bad-ws").strip()
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    integration = cli.out("integration", "create", ws, "warehouse", "INTEGRATION_TYPE_CUSTOM",
                          "--schema", str(schema)).strip()
    before = cli.json("integration", "get", integration)

    # usage errors: 2
    assert "integration update needs --name N, --changes FILE or both" in cli.fails(
        2, "integration", "update", integration)
    assert "integration update needs ID" in cli.fails(2, "integration", "update", "--name", "x")
    assert "unknown option '--value' for this command" in cli.fails(
        2, "integration", "update", integration, "--value", NEW_WORKSPACE_SECRET)
    assert "--changes: cannot read" in cli.fails(2, "integration", "update", integration,
                                                 "--changes", str(tmp_path / "missing.json"))

    # a changes file that is not valid JSON: where (line and column), never what
    bad = tmp_path / "bad.json"
    bad.write_text('{"variables": [{"name": "SHARED_SECRET", "sensitivity": "workspace",\n'
                   '  "value": %s}]}' % NEW_WORKSPACE_SECRET)
    err = cli.fails(1, "integration", "update", integration, "--changes", str(bad))
    assert re.fullmatch(r"assay: ConfigError: --changes %s is not valid JSON \([^()]*line 2, "
                        r"column \d+\); expected an object \{\"variables\"\?: \[\.\.\.\], "
                        r"\"remove_variables\"\?: \[\.\.\.\]\}\n" % re.escape(str(bad)), err), err
    err = cli.fails(1, "integration", "update", integration, "--changes", "-",
                    stdin='{"variables": [%s' % json.dumps(NEW_WORKSPACE_SECRET))
    assert "--changes (stdin) is not valid JSON" in err and "line 1, column" in err
    # not an object, or other keys (a name goes with --name)
    err = cli.fails(1, "integration", "update", integration, "--changes", "-",
                    stdin=json.dumps([NEW_WORKSPACE_SECRET]))
    assert err.startswith("assay: ConfigError: --changes (stdin) is not a JSON object")
    err = cli.fails(1, "integration", "update", integration, "--changes", "-",
                    stdin=json.dumps({"name": "x", NEW_WORKSPACE_SECRET: 1}))
    assert 'holds a key other than "variables" and "remove_variables" (rename with --name)' \
        in err

    # the platform's errors: 1, typed, with its message
    err = cli.fails(1, "integration", "update", integration, "--changes", "-",
                    stdin=json.dumps({"variables": [
                        {"name": "SHARED_SECRET", "sensitivity": "workspace", "value": ""}]}))
    assert err == ("assay: ConfigError: the value of variables[0] (variable 'SHARED_SECRET') is "
                   "empty; a secret value must not be empty (null clears a members-level "
                   "value)\n")
    err = cli.fails(1, "integration", "update", integration, "--changes", "-",
                    stdin=json.dumps({"remove_variables": ["NOPE"]}))
    assert err.startswith("assay: ConfigError: remove_variables[0]: integration 'warehouse' has "
                          "no variable 'NOPE'; its variables are: ACCESS_KEY, SHARED_SECRET, "
                          "SECRET_ACCESS_KEY")
    err = cli.fails(1, "integration", "update", integration, "--changes", "-",
                    stdin=json.dumps({"variables": [
                        {"name": "X", "sensitivity": "not_sensitive", "value": "a"},
                        {"name": "X", "sensitivity": "workspace",
                         "value": NEW_WORKSPACE_SECRET}]}))
    assert "variables[1]: variable 'X' appears more than once (also at variables[0])" in err
    assert "NotFoundError" in cli.fails(1, "integration", "update", MISSING_ID, "--name", "x")
    assert cli.json("integration", "get", integration) == before  # nothing changed
    cli.assert_no_secret_printed()


def test_bad_input_exits_non_zero_with_the_reason(cli, tmp_path):
    ws = cli.out("workspace", "create", "bad-input-ws").strip()
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    integration = cli.out("integration", "create", ws, "warehouse", "INTEGRATION_TYPE_CUSTOM",
                          "--schema", str(schema)).strip()

    # usage errors: 2
    assert "needs a subcommand: list, create, get" in cli.fails(2, "workspace")
    assert "expected one of: list, add, update, remove" in cli.fails(2, "member", "promote")
    assert "member add needs WS USER ROLE" in cli.fails(2, "member", "add", ws)
    assert "needs --schema" in cli.fails(2, "integration", "create", ws, "x",
                                         "INTEGRATION_TYPE_CUSTOM")
    assert "needs --from-file" in cli.fails(2, "integration", "set-credentials", integration)
    assert "unknown option '--value'" in cli.fails(2, "integration", "set-credentials",
                                                   integration, "--value", MEMBER_SECRET)
    assert "cannot read" in cli.fails(2, "integration", "set-credentials", integration,
                                      "--from-file", str(tmp_path / "missing.json"))
    assert "positive number" in cli.fails(2, "token", "create", "--expires-in-days", "0")
    assert "unknown command 'people'" in cli.fails(2, "people", "list")

    # the platform's errors: 1, typed, with its message
    err = cli.fails(1, "integration", "create", ws, "y", "INTEGRATION_TYPE_NOPE", "--schema",
                    str(schema))
    assert err.startswith("assay: ConfigError: ") and "INTEGRATION_TYPE_NOPE" in err
    assert "ConflictError" in cli.fails(1, "integration", "create", ws, "warehouse",
                                        "INTEGRATION_TYPE_CUSTOM", "--schema", str(schema))
    assert "NotFoundError" in cli.fails(1, "workspace", "get", MISSING_ID)
    bob = cli.out("user", "create", "bob").strip()
    assert "ConfigError" in cli.fails(1, "member", "add", ws, bob, "superuser")
    assert "ConflictError" in cli.fails(1, "user", "create", "bob")

    # a secrets file that is not valid JSON: where, never what
    bad = '{"SECRET_ACCESS_KEY": %s}' % MEMBER_SECRET
    err = cli.fails(1, "integration", "set-credentials", integration, "--from-file", "-",
                    stdin=bad)
    assert "not valid JSON" in err and "line 1" in err
    err = cli.fails(1, "integration", "set-credentials", integration, "--from-file", "-",
                    stdin=json.dumps([MEMBER_SECRET]))
    assert "credentials must be an object" in err
    err = cli.fails(1, "integration", "set-credentials", integration, "--from-file", "-",
                    stdin=json.dumps({"ACCESS_KEY": MEMBER_SECRET}))
    assert "VARIABLE_SENSITIVITY_USER_SECRET" in err
    err = cli.fails(1, "integration", "create", ws, "z", "INTEGRATION_TYPE_CUSTOM", "--schema",
                    "-", stdin='[{"name": "X", "sensitivity": "workspace", "value": %s' % (
                        json.dumps(WORKSPACE_SECRET)))
    assert "not valid JSON" in err
    cli.assert_no_secret_printed()


def test_secret_key_file_option(tmp_path, assay_cli):
    import assay

    home, key = tmp_path / "home", tmp_path / "keys" / "master.key"
    key.parent.mkdir(mode=0o700)
    subprocess.run([str(assay_cli), "--home", str(home), "--secret-key-file", str(key),
                    "workspace", "list"], check=True, capture_output=True)
    assert key.stat().st_mode & 0o777 == 0o600
    assert not (home / "secret.key").exists()

    other_home, other_key = tmp_path / "home2", tmp_path / "keys" / "py.key"
    with assay.Client(home=other_home, secret_key_file=other_key) as client:
        assert client.platform_info()["embedded"] is True
    assert other_key.exists() and not (other_home / "secret.key").exists()
    with pytest.raises(assay.ConfigError, match="secret_key_file must be a string"):
        assay.Client(home=other_home, secret_key_file=5)
