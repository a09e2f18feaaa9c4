"""Who may write where in the file store, from Python (docs/registry.md
"Files"): a member adds or replaces files only in a top-level folder that
holds nothing but their own files, deletes only their own, and the same
bytes uploaded again land at the same location whoever uploads them;
workspace admins may do all of it. On the embedded platform and on a real
assayd; and assayd's upload limits (--max-upload-mb, --workspace-quota-mb)."""

import hashlib
import textwrap

import pytest

import assay
from assayd_process import Assayd

pd = pytest.importorskip("pandas")

LOADER = textwrap.dedent('''
    import pandas as pd
    def load():
        import sqlite3          # a standard module, looked up beside the loader first
        return pd.DataFrame({"a": [1, 2], "label": [0, 1], "db": [sqlite3.__name__] * 2})
''')
PLANT = "raise SystemExit('planted module ran')\n"


def content_folder(text):
    return hashlib.blake2b(text.encode(), digest_size=32).hexdigest()[:16]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_nobody_plants_a_module_beside_anothers_loader(people, tmp_path):
    alice, bob = people.client("member"), people.client("victim")  # two plain members
    loc = alice.upload_file(write(tmp_path, "a/loader.py", LOADER))
    folder = content_folder(LOADER)
    assert loc == "assay://files/%s/loader.py" % folder

    plant = write(tmp_path, "b/sqlite3.py", PLANT)
    with pytest.raises(assay.PermissionDeniedError, match="holds files another user uploaded"):
        bob.upload_file(plant, upload_path=folder)
    with pytest.raises(assay.ConfigError, match="content folder"):  # no packages there
        bob.upload_file(write(tmp_path, "b/__init__.py", PLANT),
                        upload_path=folder + "/sqlite3")
    # Nor beside a loader in a folder of Alice's own naming, nor in place of it.
    named = alice.upload_file(write(tmp_path, "a/named/loader.py", LOADER), upload_path="alice")
    with pytest.raises(assay.PermissionDeniedError, match="the folder 'alice'"):
        bob.upload_file(plant, upload_path="alice")
    with pytest.raises(assay.PermissionDeniedError, match="the folder 'alice'"):
        bob.upload_file(plant, upload_path="alice/sqlite3")
    with pytest.raises(assay.PermissionDeniedError, match="was uploaded by another user"):
        bob.upload_file(write(tmp_path, "b/loader.py", PLANT), upload_path="alice")
    assert sorted(alice.list_uploaded_file_urls()) == sorted([loc, named])

    # Alice's loader runs as she wrote it, with the standard sqlite3.
    project = alice.create_project("owned", "d", "MODEL_TASK_BINARY_CLASSIFICATION")
    for location in (loc, named):
        dataset_id = project.register_dataset(
            "d-" + location.rsplit("/", 2)[1],
            {"connection_info": {"data_loading": {"path": location, "load_func_name": "load"}},
             "data_params": {"label_col": "label"}})
        dataset = project.get_dataset(dataset_id)
        assert dataset["validity_status"] == "VALIDITY_STATUS_VALID", dataset["validity_message"]
        assert dataset["row_count"] == 2


def test_same_bytes_same_location_and_who_deletes(people, tmp_path):
    alice, bob = people.client("member"), people.client("victim")
    admin, viewer = people.client("ws_admin"), people.client("viewer")
    text = "a,b\n1,%s\n" % people.ws
    loc = alice.upload_file(write(tmp_path, "a/ref.csv", text))
    # Bob uploads the same bytes: the same location, still Alice's file.
    assert bob.upload_file(write(tmp_path, "b/ref.csv", text)) == loc
    (record,) = [f for f in bob.list_uploaded_files() if f["location"] == loc]
    assert record["uploaded_by"] == people.user_id("member")
    # ... but not under another name in her folder.
    with pytest.raises(assay.PermissionDeniedError):
        bob.upload_file(write(tmp_path, "b/copy.csv", text))

    with pytest.raises(assay.PermissionDeniedError, match="was uploaded by another user"):
        bob.delete_uploaded_file_url(loc)
    with pytest.raises(assay.PermissionDeniedError):
        viewer.delete_uploaded_file_url(loc)
    with pytest.raises(assay.PermissionDeniedError):
        viewer.upload_file(write(tmp_path, "v/x.csv", "x\n"), upload_path="viewer")
    assert viewer.list_uploaded_file_urls() == [loc]
    admin.delete_uploaded_file_url(loc)
    assert alice.list_uploaded_file_urls() == []


def test_workspace_admin_writes_anywhere(people, tmp_path):
    alice, admin = people.client("member"), people.client("ws_admin")
    alice.upload_file(write(tmp_path, "a/x.py", "X = 1\n"), upload_path="lib")
    admin.upload_file(write(tmp_path, "w/x.py", "X = 2\n"), upload_path="lib")  # replaces hers
    admin.upload_file(write(tmp_path, "w/y.py", "Y = 1\n"), upload_path="lib")
    records = {f["location"]: f for f in alice.list_uploaded_files()}
    assert records["assay://files/lib/x.py"]["uploaded_by"] == people.user_id("ws_admin")
    # The folder holds the admin's files now: Alice adds nothing to it.
    with pytest.raises(assay.PermissionDeniedError, match="only they and workspace admins"):
        alice.upload_file(write(tmp_path, "a/z.py", "Z = 1\n"), upload_path="lib")
    with pytest.raises(assay.PermissionDeniedError):
        alice.delete_uploaded_file_url("assay://files/lib")
    admin.delete_uploaded_file_url("assay://files/lib")
    assert alice.list_uploaded_file_urls() == []


def test_assayd_upload_limits(tmp_path):
    """assayd --max-upload-mb / --workspace-quota-mb: over a limit an upload
    is a PayloadTooLargeError naming it, and nothing is stored."""
    server = Assayd(tmp_path / "home", "--max-upload-mb", "1", "--workspace-quota-mb", "2")
    try:
        with assay.Client(server.url, api_key=server.token) as c:
            one_mib = tmp_path / "one.bin"
            one_mib.write_bytes(b"1" * (1 << 20))
            big = tmp_path / "big.bin"
            big.write_bytes(b"2" * ((1 << 20) + 1))
            with pytest.raises(assay.PayloadTooLargeError,
                               match=r"limit of 1048576 bytes \(1 MiB\) per file"):
                c.upload_file(big)
            c.upload_file(one_mib, upload_path="q1")
            c.upload_file(one_mib, upload_path="q2")
            with pytest.raises(assay.PayloadTooLargeError,
                               match=r"quota of 2097152 bytes \(2 MiB\)"):
                c.upload_file(one_mib, upload_path="q3")
            assert sorted(c.list_uploaded_file_urls()) == [
                "assay://files/q1/one.bin", "assay://files/q2/one.bin"]
    finally:
        assert server.stop() == 0
    with pytest.raises(AssertionError, match="--max-upload-mb needs a positive number"):
        Assayd(tmp_path / "home2", "--max-upload-mb", "lots")
