"""tests/e2e/test_cli_files.py — `assay file upload|upload-dir|list|delete`,
on the embedded platform of a home and against a real assayd (--url,
--token-file): what each prints, and the exit status and message of each
mistake."""
import hashlib
import os
import subprocess

import pytest
from assayd_process import ASSAY, Assayd


@pytest.fixture(params=["embedded", "assayd"])
def run(request, tmp_path):
    """run(*args) -> CompletedProcess of the CLI against one platform."""
    home = tmp_path / "home"
    server = Assayd(home) if request.param == "assayd" else None
    where = (["--url", server.url, "--token-file", str(home / "admin.token")] if server
             else ["--home", str(home)])

    def cli(*args):
        return subprocess.run([str(ASSAY), *where, *args], capture_output=True, text=True,
                              timeout=60)
    yield cli
    if server:
        assert server.stop() == 0


def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def test_upload_list_delete(run, tmp_path):
    data = b"when,amount\n2024-01-01,3\n"
    local = write(tmp_path / "src" / "data.csv", data)
    digest = hashlib.blake2b(data, digest_size=32).hexdigest()
    first = run("file", "upload", local)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"assay://files/{digest[:16]}/data.csv"
    assert run("file", "upload", local).stdout == first.stdout  # same content, same place
    named = run("file", "upload", local, "--upload-path", "team/2024")
    assert named.stdout.strip() == "assay://files/team/2024/data.csv"

    listed = run("file", "list")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split("\t") for line in listed.stdout.splitlines()]
    assert [r[0] for r in rows] == [first.stdout.strip(), "assay://files/team/2024/data.csv"]
    assert all(r[1] == str(len(data)) and r[2] == digest for r in rows)

    gone = run("file", "delete", "assay://files/team")  # a folder
    assert gone.returncode == 0, gone.stderr
    assert gone.stdout == ""
    assert len(run("file", "list").stdout.splitlines()) == 1
    again = run("file", "delete", "assay://files/team")
    assert again.returncode == 1
    assert "NotFoundError" in again.stderr


def test_upload_dir(run, tmp_path):
    top = tmp_path / "d"
    write(top / "a.csv", b"a\n1\n")
    write(top / "sub" / "b.csv", b"b\n2\n")
    write(top / ".hidden", b"h\n")
    plain = run("file", "upload-dir", str(top), "--upload-path", "plain")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.strip() == "assay://files/plain/d"
    hidden = run("--json", "file", "upload-dir", str(top), "--hidden", "--upload-path", "all")
    assert hidden.returncode == 0, hidden.stderr
    assert '"assay://files/all/d/.hidden"' in hidden.stdout
    paths = [line.split("\t")[0] for line in run("file", "list").stdout.splitlines()]
    assert paths == ["assay://files/all/d/.hidden", "assay://files/all/d/a.csv",
                     "assay://files/all/d/sub/b.csv", "assay://files/plain/d/a.csv",
                     "assay://files/plain/d/sub/b.csv"]

    os.symlink(write(tmp_path / "outside.txt", b"x"), top / "zz")
    refused = run("file", "upload-dir", str(top), "--upload-path", "third")
    assert refused.returncode == 1
    assert "ConfigError" in refused.stderr and "points outside" in refused.stderr
    assert len(run("file", "list").stdout.splitlines()) == 5  # nothing more


def test_mistakes(run, tmp_path):
    local = write(tmp_path / "x.csv", b"x\n")
    missing = run("file", "upload", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr
    a_dir = run("file", "upload", str(tmp_path))
    assert a_dir.returncode == 1 and "is a directory" in a_dir.stderr
    for bad in ("", "../up", "/abs", "a/./b"):
        r = run("file", "upload", local, "--upload-path", bad)
        assert r.returncode == 1 and "ConfigError" in r.stderr, (bad, r.stderr)
    usage = run("file", "upload")
    assert usage.returncode == 2
    flag = run("file", "upload-dir", str(tmp_path), "--hidden=yes")
    assert flag.returncode == 2 and "takes no value" in flag.stderr
    assert run("file", "list").stdout == ""
