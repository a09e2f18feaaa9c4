"""Custom loaders end to end from Python: a loader that needs an
integration's secrets registers as valid, one that fails gives an invalid
dataset whose message carries its error, and a secret it prints leaves no
trace anywhere under the platform's home — on the embedded platform and on
a real assayd (every test runs on both, see conftest.py)."""

import hashlib
import textwrap
from pathlib import Path

import pytest

import assay

SECRET = "s3cr3t-Zq8-loader-token-917"
MEMBER_SECRET = "m3mb3r-Kx2-personal-504"
PUBLIC = "public-endpoint-value-433"


def write(tmp_path, name, source):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


@pytest.fixture
def project(client, unique):
    return client.create_project(unique("loaders"), "custom loaders",
                                 "MODEL_TASK_BINARY_CLASSIFICATION")


@pytest.fixture
def integration(client):
    workspace_id = client.platform_info()["workspace_id"]
    integration_id = client.create_integration(workspace_id, "news-source",
                                               "INTEGRATION_TYPE_CUSTOM", [
        {"name": "ENDPOINT", "sensitivity": "VARIABLE_SENSITIVITY_PUBLIC", "value": PUBLIC},
        {"name": "TOKEN", "sensitivity": "VARIABLE_SENSITIVITY_WORKSPACE_SECRET",
         "value": SECRET},
        {"name": "PERSONAL", "sensitivity": "VARIABLE_SENSITIVITY_USER_SECRET"},
    ])
    client.set_integration_credentials(integration_id, {"PERSONAL": MEMBER_SECRET})
    return integration_id


def loading(path, function, integration_id=None, **kwargs):
    conn = {"path": path, "load_func_name": function}
    if kwargs:
        conn["loader_kwargs"] = kwargs
    if integration_id:
        conn["data_endpoint_integration_id"] = integration_id
    return {"connection_info": {"data_loading": conn},
            "data_params": {"label_col": "label", "timestamp_col": "ts"}}


# The loader only works with the right credentials, as a real source would;
# it knows their hashes, not the values (the uploaded file is kept as is).
SECRET_LOADER = """
    import hashlib
    import pandas as pd

    def digest(value):
        return hashlib.sha256(value.encode()).hexdigest()

    def load(start_time, end_time, integration_dict, rows=3):
        if (digest(integration_dict["TOKEN"]) != "%s"
                or digest(integration_dict["PERSONAL"]) != "%s"):
            raise PermissionError("bad credentials")
        print("endpoint", integration_dict["ENDPOINT"], "token", integration_dict["TOKEN"])
        print("personal", integration_dict["PERSONAL"], flush=True)
        return pd.DataFrame({
            "ts": pd.date_range("2026-01-01", periods=rows, freq="D"),
            "x": [float(i) for i in range(rows)],
            "city": ["a", "b", None][:rows] + ["c"] * max(0, rows - 3),
            "label": [i %% 2 for i in range(rows)],
        })
""" % (hashlib.sha256(SECRET.encode()).hexdigest(),
       hashlib.sha256(MEMBER_SECRET.encode()).hexdigest())


def test_loader_with_integration_secrets_registers_valid(client, project, integration,
                                                         tmp_path):
    location = client.upload_file(write(tmp_path, "news_loader.py", SECRET_LOADER))
    dataset_id = project.register_dataset("news", loading(location, "load", integration,
                                                          rows=5))
    d = project.get_dataset(dataset_id)
    assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
    assert d["row_count"] == 5
    profile = {c["column"]: c for c in d["schema_profile"]}
    assert [c["column"] for c in d["schema_profile"]] == ["ts", "x", "city", "label"]
    assert profile["ts"]["type"] == "timestamp"
    assert profile["x"]["type"] == "float64"
    assert profile["city"]["type"] == "string"
    assert profile["city"]["null_share"] == pytest.approx(1 / 5)
    assert profile["city"]["distinct_count"] == 3
    assert profile["label"]["type"] == "int64"
    assert profile["label"]["distinct_count"] == 2

    # The job's log has the loader's output with the secrets redacted.
    log = client.get_job(d["validation_job_id"]).get_log()
    assert PUBLIC in log
    assert "[REDACTED]" in log
    assert SECRET not in log and MEMBER_SECRET not in log


def test_loader_secret_leaves_no_trace_in_home(platform, client, project, integration,
                                               tmp_path):
    location = client.upload_file(write(tmp_path, "news_loader.py", SECRET_LOADER))
    dataset_id = project.register_dataset("leaky", loading(location, "load", integration))
    assert project.get_dataset(dataset_id)["validity_status"] == "VALIDITY_STATUS_VALID"
    # Make SQLite move its WAL into the database file too, then look at every byte.
    client.close()
    seen_public = False
    for path in Path(platform.home).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in (SECRET, MEMBER_SECRET):
                assert secret.encode() not in data, "%s holds a secret" % path
            seen_public = seen_public or PUBLIC.encode() in data
    # The control value (not secret) is stored and logged: the scan can see.
    assert seen_public
    if platform.kind == "assayd":
        assert SECRET not in platform.read_stderr()


def test_loader_that_raises_gives_invalid_dataset_with_its_error(client, project, tmp_path):
    location = client.upload_file(write(tmp_path, "broken.py", """
        def helper():
            raise ValueError("the source answered 503 for day 2026-01-04")

        def load(start_time=None, end_time=None):
            helper()
    """))
    dataset_id = project.register_dataset("broken", loading(location, "load"))
    d = project.get_dataset(dataset_id)
    assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
    message = d["validity_message"]
    assert "ValueError" in message
    assert "the source answered 503 for day 2026-01-04" in message
    assert "helper" in message  # the traceback is kept
    assert d["row_count"] is None


@pytest.mark.parametrize("source, expected", [
    ("def load(:\n    pass\n", "syntax error"),
    ("def other():\n    pass\n", "no function 'load'"),
    ("def load():\n    return 42\n", "returned int"),
    ("import pandas as pd\n\ndef load():\n    return pd.DataFrame({'ts': [], 'label': []})\n",
     "no rows"),
    ("import pandas as pd\n\ndef load():\n    return pd.DataFrame({'ts': [1], 'y': [0]})\n",
     "label_col 'label'"),
])
def test_loader_failures_are_clear(client, project, tmp_path, source, expected):
    location = client.upload_file(write(tmp_path, "bad.py", source))
    dataset_id = project.register_dataset("bad", loading(location, "load"))
    d = project.get_dataset(dataset_id)
    assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
    assert expected in d["validity_message"]


def test_loader_chunks_and_kwargs(client, project, tmp_path):
    location = client.upload_file(write(tmp_path, "chunks.py", """
        import pandas as pd

        def load(start_time, end_time, n, step):
            assert start_time == 100 and end_time == 200
            for start in range(0, n, step):
                yield pd.DataFrame({"ts": list(range(start, min(n, start + step))),
                                    "label": [1] * (min(n, start + step) - start)})
    """))
    info = loading(location, "load", n=10, step=4, start_time=100, end_time=200)
    dataset_id = project.register_dataset("chunks", info)
    d = project.get_dataset(dataset_id)
    assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
    assert d["row_count"] == 10


def test_loader_kwargs_json_as_in_the_seed(client, project, tmp_path):
    location = client.upload_file(write(tmp_path, "seed.py", """
        import pandas as pd

        def get_news_data(start_time: int, end_time: int) -> pd.DataFrame:
            return pd.DataFrame({"ts": [start_time, end_time], "label": [0, 1]})
    """))
    info = {"connection_info": {"data_loading": {
        "path": location, "load_func_name": "get_news_data",
        "loader_kwargs_json": '{"start_time": 0, "end_time": 1758608114}'}},
        "data_params": {"timestamp_col": "ts", "label_col": "label"}}
    d = project.get_dataset(project.register_dataset("seed", info))
    assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
    assert d["row_count"] == 2


def test_missing_member_secret_is_a_config_error_at_registration(client, project, tmp_path):
    workspace_id = client.platform_info()["workspace_id"]
    integration_id = client.create_integration(workspace_id, "personal-only",
                                               "INTEGRATION_TYPE_CUSTOM", [
        {"name": "MINE", "sensitivity": "VARIABLE_SENSITIVITY_USER_SECRET"}])
    location = client.upload_file(write(tmp_path, "l.py", "def load():\n    pass\n"))
    with pytest.raises(assay.ConfigError, match="MINE"):
        project.register_dataset("needs-mine", loading(location, "load", integration_id))
    assert not project.has_dataset(dataset_name="needs-mine")


def test_time_limit_kills_the_loader(platform, tmp_path, unique):
    if platform.kind == "assayd":
        server = platform.__class__(tmp_path / "slow-home", "--loader-timeout", "2")
        client = server.client()
    else:
        server, client = None, platform.client(loader_timeout=2)
    try:
        project = client.create_project(unique("slow"), "slow", "MODEL_TASK_REGRESSION")
        location = client.upload_file(write(tmp_path, "slow.py", """
            import time

            def load():
                time.sleep(60)
        """))
        d = project.get_dataset(project.register_dataset("slow", loading(location, "load")))
        assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
        assert "time limit of 2 s" in d["validity_message"]
    finally:
        client.close()
        if server:
            assert server.stop() == 0


def test_memory_limit_kills_the_loader(tmp_path, unique):
    with assay.Client(home=tmp_path / "home", loader_memory_bytes=300 << 20) as client:
        project = client.create_project(unique("big"), "big", "MODEL_TASK_REGRESSION")
        location = client.upload_file(write(tmp_path, "big.py", """
            def load():
                blocks = [bytearray(64 << 20) for _ in range(32)]  # 2 GiB
                return blocks
        """))
        d = project.get_dataset(project.register_dataset("big", loading(location, "load")))
        assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
        assert "memory limit of 300 MiB" in d["validity_message"]


def test_runner_interpreter_without_pandas(tmp_path, unique):
    import subprocess
    import sys
    bare = tmp_path / "bare"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(bare)], check=True)
    with assay.Client(home=tmp_path / "home", runner_python=bare / "bin" / "python") as client:
        project = client.create_project(unique("bare"), "bare", "MODEL_TASK_REGRESSION")
        location = client.upload_file(write(tmp_path, "l.py", "def load():\n    pass\n"))
        d = project.get_dataset(project.register_dataset("bare", loading(location, "load")))
        assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
        assert "cannot import pandas" in d["validity_message"]


def test_loader_runs_in_its_folder_and_sees_uploaded_neighbours(client, project, tmp_path):
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "helpers.py").write_text("ROWS = 7\n")
    (folder / "data.txt").write_text("hello\n")
    (folder / "loader.py").write_text(textwrap.dedent("""
        import os
        import pandas as pd
        import helpers

        def load():
            assert open("data.txt").read() == "hello\\n", os.getcwd()
            return pd.DataFrame({"ts": range(helpers.ROWS), "label": [0] * helpers.ROWS})
    """))
    directory = client.upload_directory(folder)
    d = project.get_dataset(project.register_dataset(
        "folder", loading(directory + "/loader.py", "load")))
    assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
    assert d["row_count"] == 7
