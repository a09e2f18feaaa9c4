"""Secrets at rest, end to end, against a real ``assayd``.

Workspace and members-level secret values (random 32-character strings)
are stored through the Python client over HTTP; then the server is stopped
and every byte under its home (the database and its -wal/-shm files, the key
file, everything, recursively) and everything it wrote to stdout and stderr
is searched for the raw secret bytes. A not-sensitive value stored the same
way is the control: the scan must find that one, or it proves nothing.

Then: key rotation changes the key file and keeps every value usable (over
HTTP, after a restart, and from an embedded client on the same home); a
platform given another key file refuses to start and says why; a key file
others may read is refused.
"""

import base64
import os
import secrets
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from assayd_process import ASSAYD, BUILD_DIR, Assayd

sys.path.insert(0, str(BUILD_DIR / "python"))
import assay  # noqa: E402

CUSTOM = "INTEGRATION_TYPE_CUSTOM"


def secret(prefix="S"):
    return prefix + secrets.token_hex(16)[: 32 - len(prefix)]


def files_under(root):
    """Every regular file under `root`, hidden ones included."""
    found = []
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            if path.is_file() and not path.is_symlink():
                found.append(path)
    return found


def scan(root, needles, skip=()):
    """{needle: [files containing its raw bytes]} for the needles (str or
    bytes) found in files under `root`, except the paths in `skip`."""
    hits = {}
    for path in files_under(root):
        if path in skip:
            continue
        data = path.read_bytes()
        for needle in needles:
            raw = needle.encode() if isinstance(needle, str) else needle
            if raw in data:
                hits.setdefault(needle, []).append(str(path.relative_to(root)))
    return hits


def stop_and_collect(d):
    """Stop assayd with SIGTERM; (exit code, its stdout, its stderr)."""
    d.proc.send_signal(signal.SIGTERM)
    d.proc.wait(timeout=20)
    out = d.proc.stdout.read()
    code = d.stop()
    return code, out, d.stderr


class Org:
    """Through an assayd's admin: a workspace, two members with tokens, an
    integration with a not-sensitive value, a workspace secret and
    members-level secrets each member sets."""

    def __init__(self, d):
        self.d = d
        self.admin = assay.Client(d.url, api_key=d.token)
        self.ws = self.admin.create_workspace("secrets-ws")["workspace_id"]
        self.tokens = {}
        for name in ("alice", "bob"):
            user = self.admin.create_user(name)
            self.admin.add_workspace_member(self.ws, user["user_id"], "member")
            self.tokens[name] = self.admin.create_api_token(
                workspace_id=self.ws, name=name + "-token", user_id=user["user_id"])
        self.members = {name: assay.Client(d.url, api_key=token)
                        for name, token in self.tokens.items()}
        self.public = "public-" + secrets.token_hex(12)
        self.ws_secret = secret("W")
        self.member_secrets = {"alice": secret("A"), "bob": secret("B")}
        self.admin_secret = secret("M")
        self.integration = self.admin.create_integration(self.ws, "warehouse", CUSTOM, [
            {"name": "HOST", "sensitivity": "not_sensitive", "value": self.public},
            {"name": "SERVICE_PASSWORD", "sensitivity": "workspace", "value": self.ws_secret},
            {"name": "PERSONAL_TOKEN", "sensitivity": "members"},
        ])
        for name, client in self.members.items():
            answer = client.set_integration_credentials(
                self.integration, {"PERSONAL_TOKEN": self.member_secrets[name]})
            assert answer["credential_status"] == {"configured": True, "missing": []}
        self.admin.set_integration_credentials(self.integration,
                                               {"PERSONAL_TOKEN": self.admin_secret})
        # A second integration of a typed kind, its secret set by an update.
        self.hf_secret = secret("H")
        self.hf = self.admin.create_integration(self.ws, "hub", "INTEGRATION_TYPE_HUGGINGFACE", [
            {"name": "HUGGINGFACE_API_TOKEN", "sensitivity": "workspace", "value": secret("X")}])
        self.admin.update_integration(self.hf, variables=[
            {"name": "HUGGINGFACE_API_TOKEN", "sensitivity": "workspace",
             "value": self.hf_secret}])

    def all_secrets(self):
        return [self.ws_secret, self.admin_secret, self.hf_secret,
                *self.member_secrets.values()]

    def provoke_errors(self):
        """Requests that fail while carrying secret values."""
        big = self.ws_secret * 2100
        failures = [
            lambda: self.admin.create_integration(self.ws, "too-big", CUSTOM, [
                {"name": "X", "sensitivity": "workspace", "value": big}]),
            lambda: self.admin.create_integration(self.ws, "bad", CUSTOM, [
                {"name": "X", "sensitivity": "bogus", "value": self.admin_secret}]),
            lambda: self.members["alice"].set_integration_credentials(
                self.integration, {"HOST": self.member_secrets["alice"]}),
            lambda: self.members["bob"].set_integration_credentials(
                self.integration, {"PERSONAL_TOKEN": self.member_secrets["bob"] * 2100}),
            lambda: self.members["bob"].update_integration(self.integration, variables=[
                {"name": "SERVICE_PASSWORD", "sensitivity": "workspace",
                 "value": self.hf_secret}]),
        ]
        for fail in failures:
            with pytest.raises(assay.Error) as exc:
                fail()
            for value in self.all_secrets():
                assert value not in str(exc.value) and value not in repr(exc.value)

    def check_usable(self):
        admin = self.admin
        for name, client in self.members.items():
            record = client.get_integration(self.integration)
            assert record["credential_status"] == {"configured": True, "missing": []}, name
        record = admin.get_integration(self.integration)
        by_name = {v["name"]: v for v in record["variables"]}
        assert by_name["SERVICE_PASSWORD"]["is_set"] is True
        assert by_name["HOST"]["value"] == self.public
        assert record["credential_status"]["configured"] is True
        hub = {v["name"]: v for v in admin.get_integration(self.hf)["variables"]}
        assert hub["HUGGINGFACE_API_TOKEN"]["is_set"] is True

    def reconnect(self, d=None, **embedded):
        """New clients with the same tokens: of a restarted assayd `d` (another
        port), or, without one, embedded clients on the home (Client(home=...,
        api_key=token, **embedded)): the core's view of the same store."""
        self.close()
        if d is not None:
            self.admin = assay.Client(d.url, api_key=d.token)
            self.members = {name: assay.Client(d.url, api_key=token)
                            for name, token in self.tokens.items()}
        else:
            self.admin = assay.Client(**embedded)
            self.members = {name: assay.Client(api_key=token, **embedded)
                            for name, token in self.tokens.items()}

    def close(self):
        self.admin.close()
        for c in self.members.values():
            c.close()


def assert_nowhere(home, org, out, err):
    secret_values = org.all_secrets()
    assert scan(home, [org.public]).get(org.public), \
        "the control failed: the not-sensitive value is in no file under the home"
    hits = scan(home, secret_values)
    assert not hits, "secret bytes found on disk: %s" % hits
    for value in secret_values:
        assert value not in out, "a secret is in assayd's stdout"
        assert value not in err, "a secret is in assayd's stderr"


def test_secret_bytes_are_nowhere_under_the_home(tmp_path):
    home = tmp_path / "home"
    d = Assayd(home)
    try:
        org = Org(d)
        org.provoke_errors()
        org.check_usable()
        # While it runs too: the write-ahead log holds the latest pages.
        running = {str(p.relative_to(home)) for p in files_under(home)}
        assert "assay.db-wal" in running, running
        assert not scan(home, org.all_secrets()), "secret bytes on disk while running"
        org.close()
    finally:
        code, out, err = stop_and_collect(d)
    assert code == 0, err
    names = {str(p.relative_to(home)) for p in files_under(home)}
    assert "assay.db" in names and "secret.key" in names, names
    mode = stat.S_IMODE((home / "secret.key").stat().st_mode)
    assert mode == 0o600, oct(mode)
    assert_nowhere(home, org, out, err)

    # The master key is only in its file: not in the database, nor a log.
    key_text = (home / "secret.key").read_text().splitlines()[0]
    key = base64.b64decode(key_text, validate=True)
    assert len(key) == 32
    assert not scan(home, [key, key_text], skip={home / "secret.key"})
    assert key_text not in out + err

    # The scan itself sees a secret in any file, however deep (or it proves nothing).
    decoy = home / "deep" / "er" / ".hidden"
    decoy.parent.mkdir(parents=True)
    decoy.write_bytes(b"\x00junk" + org.ws_secret.encode() + b"\xff")
    assert scan(home, org.all_secrets()) == {org.ws_secret: ["deep/er/.hidden"]}


def test_rotation_restart_and_wrong_key(tmp_path):
    home = tmp_path / "home"
    key_file = home / "secret.key"
    d = Assayd(home)
    try:
        org = Org(d)
        before = key_file.read_bytes()
        rotated = org.admin.rotate_secret_key()
        assert rotated["secrets_resealed"] == 5  # 2 workspace values + 3 member values
        after = key_file.read_bytes()
        assert after != before
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert not (home / "secret.key.new").exists()
        org.check_usable()
        # Still writable under the new key.
        again = org.members["alice"].set_integration_credentials(
            org.integration, {"PERSONAL_TOKEN": org.member_secrets["alice"]})
        assert again["credential_status"]["configured"] is True
        org.close()
    finally:
        code, out, err = stop_and_collect(d)
    assert code == 0, err
    assert_nowhere(home, org, out, err)
    for text in (before, after):  # the key never reaches a log either
        assert text.strip().decode() not in out + err

    # The same home, restarted: everything still usable, and rotation again.
    d = Assayd(home)
    try:
        org.reconnect(d)
        org.check_usable()
        second = org.admin.rotate_secret_key()
        assert second["key_id"] != rotated["key_id"]
        org.check_usable()
        org.close()
    finally:
        code, out, err = stop_and_collect(d)
    assert code == 0, err
    assert_nowhere(home, org, out, err)

    # Embedded clients on the same home read the same (rotated) key.
    org.reconnect(home=home)
    org.check_usable()
    org.close()

    # Another home's key: the platform refuses to start, and says why.
    other_home = tmp_path / "other"
    with assay.Client(home=other_home) as other:
        other.platform_info()
    other_key = other_home / "secret.key"
    assert other_key.exists()
    proc = subprocess.Popen(
        [str(ASSAYD), "--home", str(home), "--listen", "127.0.0.1:0",
         "--secret-key-file", str(other_key)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail("assayd started with another home's key file: %s" % out)
    assert proc.returncode != 0
    assert "listening" not in out
    assert str(other_key) in err, err
    assert "match" in err.lower(), err
    assert other_key.read_text().strip() not in err
    # ... and the home is untouched by that attempt: the right key still works.
    org.reconnect(home=home)
    org.check_usable()
    org.close()


def test_key_file_given_by_path(tmp_path):
    """A key file outside the home (--secret-key-file): the home holds no key,
    and neither does the database reveal the secrets."""
    home = tmp_path / "home"
    key_dir = tmp_path / "keys"
    key_dir.mkdir(mode=0o700)
    key_file = key_dir / "assay.key"
    d = Assayd(home, "--secret-key-file", str(key_file))
    try:
        org = Org(d)
        org.check_usable()
        org.close()
    finally:
        code, out, err = stop_and_collect(d)
    assert code == 0, err
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert not (home / "secret.key").exists()
    assert_nowhere(home, org, out, err)
    org.reconnect(home=home, secret_key_file=key_file)
    org.check_usable()
    org.close()
    # Started again without the key: it refuses, naming the key file it
    # looked for, rather than starting with a new key nothing opens with.
    proc = subprocess.run([str(ASSAYD), "--home", str(home), "--listen", "127.0.0.1:0"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=20)
    assert proc.returncode != 0 and "listening" not in proc.stdout, proc.stdout
    assert "ConfigError" in proc.stderr, proc.stderr
    assert str(home / "secret.key") in proc.stderr, proc.stderr


def test_key_file_readable_by_others_is_refused(tmp_path):
    home = tmp_path / "home"
    key_file = tmp_path / "open.key"
    with assay.Client(home=tmp_path / "maker") as maker:
        maker.platform_info()
    key_file.write_bytes((tmp_path / "maker" / "secret.key").read_bytes())
    key_file.chmod(0o644)
    started = time.monotonic()
    proc = subprocess.run([str(ASSAYD), "--home", str(home), "--listen", "127.0.0.1:0",
                           "--secret-key-file", str(key_file)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    assert time.monotonic() - started < 20
    assert proc.returncode != 0 and "listening" not in proc.stdout, proc.stdout
    assert str(key_file) in proc.stderr, proc.stderr
    assert "644" in proc.stderr or "0600" in proc.stderr, proc.stderr
    with pytest.raises(assay.ConfigError) as exc:
        with assay.Client(home=home, secret_key_file=key_file) as c:
            c.platform_info()
    assert str(key_file) in str(exc.value)


def test_sealed_values_are_bound_to_their_identity(tmp_path):
    """Values sealed for one member, moved to another member's row (or
    altered) in the database, do not open: key rotation, which opens every
    value, refuses with an error naming the integration and the variable
    (never a value) and changes nothing; put back, all is well again."""
    home = tmp_path / "home"
    d = Assayd(home)
    try:
        org = Org(d)
        users = {u["username"]: u["user_id"] for u in org.admin.list_users()}
        db = sqlite3.connect(str(home / "assay.db"), timeout=30)
        try:
            def sealed(user):
                return db.execute(
                    "SELECT sealed FROM integration_secrets WHERE integration_id = ? AND "
                    "name = 'PERSONAL_TOKEN' AND user_id = ?",
                    (org.integration, users[user])).fetchone()[0]

            def put(user, blob):
                with db:
                    db.execute(
                        "UPDATE integration_secrets SET sealed = ? WHERE integration_id = ? "
                        "AND name = 'PERSONAL_TOKEN' AND user_id = ?",
                        (blob, org.integration, users[user]))

            alice, bob = sealed("alice"), sealed("bob")
            key_before = (home / "secret.key").read_bytes()
            flipped = bytearray(alice)
            flipped[-1] ^= 1
            for what, tampered in [("swapped", {"alice": bob, "bob": alice}),
                                   ("altered", {"alice": bytes(flipped)})]:
                for user, blob in tampered.items():
                    put(user, blob)
                with pytest.raises(assay.Error) as exc:
                    org.admin.rotate_secret_key()
                text = str(exc.value)
                assert "PERSONAL_TOKEN" in text and org.integration in text, (what, text)
                for value in org.all_secrets():
                    assert value not in text, what
                assert (home / "secret.key").read_bytes() == key_before, what
                assert not (home / "secret.key.new").exists(), what
                put("alice", alice)
                put("bob", bob)
        finally:
            db.close()
        rotated = org.admin.rotate_secret_key()
        assert rotated["secrets_resealed"] == 5
        assert (home / "secret.key").read_bytes() != key_before
        org.check_usable()
        org.close()
    finally:
        code, out, err = stop_and_collect(d)
    assert code == 0, err
    assert_nowhere(home, org, out, err)
