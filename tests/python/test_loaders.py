"""Custom loaders end to end from Python: a loader that needs an
integration's secrets registers as valid, one that fails gives an invalid
dataset whose message carries its error, and a secret it prints leaves no
trace anywhere under the platform's home — on the embedded platform and on
a real assayd (every test runs on both, see conftest.py)."""

import hashlib
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import assay
from assayd_process import Assayd  # tests/support, on sys.path through conftest.py

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


def test_loader_that_raises_gives_invalid_dataset_with_its_error(platform, client, project,
                                                                 tmp_path):
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
    # ... naming the loader by its location, not by the server's paths
    assert location in message, message
    assert str(Path(platform.home).resolve()) not in message
    assert d["row_count"] is None


@pytest.mark.parametrize("source, expected", [
    ("def load(:\n    pass\n", "loader 'bad.py' has a syntax error at line 1"),
    ("import os\n\n\ndef load():\n    return [\n", "has a syntax error at line 5"),
    ("def other():\n    pass\n", "loader 'bad.py' has no function 'load'"),
    ("def load():\n    return 42\n", "loader function 'load' returned int"),
    ("import pandas as pd\n\ndef load():\n    return pd.DataFrame({'ts': [], 'label': []})\n",
     "the loaded data has no rows"),
    ("import pandas as pd\n\ndef load():\n    return pd.DataFrame({'ts': [1], 'y': [0]})\n",
     "data_params.label_col 'label' is not a column of the data; the data has 2 columns: ts, y"),
    ("import pandas as pd\n\ndef load():\n    return pd.DataFrame({'label': [1], 'x': [0]})\n",
     "data_params.timestamp_col 'ts' is not a column of the data; the data has 2 columns: "
     "label, x"),
    ("import pandas as pd\n\ndef load():\n"
     "    return pd.DataFrame({'ts': ['monday'], 'label': [0]})\n",
     "data_params.timestamp_col 'ts' is a string column; expected a timestamp column"),
    ("import pandas as pd\n\ndef load():\n"
     "    return pd.DataFrame({'ts': [0.5], 'label': [0]})\n",
     "data_params.timestamp_col 'ts' is a float64 column; expected a timestamp column"),
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


def limited_client(platform, tmp_path, name, options, server_args):
    """A client of a new platform of `platform`'s kind with loader options:
    embedded with `options`, or a new assayd started with `server_args`.
    Returns (client, server or None)."""
    if platform.kind == "assayd":
        server = platform.__class__(tmp_path / (name + "-home"), *server_args)
        return server.client(), server
    return platform.client(**options), None


def test_memory_limit_kills_the_loader(platform, tmp_path, unique):
    client, server = limited_client(platform, tmp_path, "big",
                                    {"loader_memory_bytes": 300 << 20},
                                    ["--loader-memory-mb", "300"])
    try:
        project = client.create_project(unique("big"), "big", "MODEL_TASK_REGRESSION")
        location = client.upload_file(write(tmp_path, "big.py", """
            import time

            def load():
                blocks = [bytearray(64 << 20) for _ in range(10)]  # 640 MiB, touched
                time.sleep(30)  # killed while it holds them, whatever the poll timing
                return blocks
        """))
        started = time.monotonic()
        d = project.get_dataset(project.register_dataset("big", loading(location, "load")))
        assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
        assert "loader exceeded the memory limit of 300 MiB" in d["validity_message"]
        assert time.monotonic() - started < 25  # killed, not waited for
    finally:
        client.close()
        if server:
            assert server.stop() == 0


def bare_interpreter(tmp_path):
    """A venv without pip (so without pandas) made from the base interpreter."""
    bare = tmp_path / "bare"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(bare)], check=True)
    python = bare / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import pandas"], capture_output=True)
    assert probe.returncode != 0, "the bare venv can import pandas: the test proves nothing"
    return python


def test_runner_interpreter_without_pandas(platform, tmp_path, unique):
    python = bare_interpreter(tmp_path)
    client, server = limited_client(platform, tmp_path, "bare", {"runner_python": python},
                                    ["--runner-python", str(python)])
    try:
        project = client.create_project(unique("bare"), "bare", "MODEL_TASK_REGRESSION")
        location = client.upload_file(write(tmp_path, "l.py", "def load():\n    pass\n"))
        d = project.get_dataset(project.register_dataset("bare", loading(location, "load")))
        assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
        assert "the runner interpreter '%s' cannot import pandas" % python \
            in d["validity_message"]
    finally:
        client.close()
        if server:
            assert server.stop() == 0


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


# --- more failure modes, integrations, workers ---------------------------------------

def test_loader_file_never_uploaded_is_not_found_naming_the_key(project):
    with pytest.raises(assay.NotFoundError) as err:
        project.register_dataset("ghost", loading("assay://files/nowhere/loader.py", "load"))
    message = str(err.value)
    assert "data_info.connection_info.data_loading.path" in message
    assert "assay://files/nowhere/loader.py" in message
    assert not project.has_dataset(dataset_name="ghost")


PRED_LOADER = """
    import pandas as pd

    def data(start_time=None, end_time=None):
        return pd.DataFrame({"ts": [1, 2, 3], "label": [0, 1, 0]})

    def preds(start_time=None, end_time=None):
        return pd.DataFrame({"pred": [0.1, 0.9, 0.2], "row": [1, 2, 3]})
"""


def test_pred_col_missing_through_a_loader_based_pred_info(client, project, tmp_path):
    location = client.upload_file(write(tmp_path, "pl.py", PRED_LOADER))
    dataset_id = project.register_dataset("data", loading(location, "data"))
    assert project.get_dataset(dataset_id)["validity_status"] == "VALIDITY_STATUS_VALID"
    model_id = project.register_model("m")
    pred_info = {"connection_info": {"data_loading": {"path": location,
                                                      "load_func_name": "preds"}},
                 "pred_params": {"pred_col": "score"}}
    project.register_predictions(dataset_id, model_id, pred_info)
    p = project.get_predictions(model_id, dataset_id)
    assert p["validity_status"] == "VALIDITY_STATUS_INVALID"
    assert p["validity_message"] == ("pred_params.pred_col 'score' is not a column of the "
                                     "data; the data has 2 columns: pred, row")
    project.delete_predictions(model_id, dataset_id)
    pred_info["pred_params"]["pred_col"] = "pred"
    project.register_predictions(dataset_id, model_id, pred_info)
    p = project.get_predictions(model_id, dataset_id)
    assert p["validity_status"] == "VALIDITY_STATUS_VALID", p["validity_message"]
    assert p["row_count"] == 3


def test_dataset_pred_col_missing_gives_an_invalid_dataset(client, project, tmp_path):
    """docs/registry.md: a label_col, timestamp_col or pred_col (data_params)
    that is not among the columns makes the dataset invalid."""
    location = client.upload_file(write(tmp_path, "pl.py", PRED_LOADER))
    info = loading(location, "data")
    info["data_params"]["pred_col"] = "score"
    d = project.get_dataset(project.register_dataset("no-pred", info))
    assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
    assert "data_params.pred_col 'score' is not a column of the data" in \
        (d["validity_message"] or "")
    assert "ts, label" in d["validity_message"]


def test_integration_id_at_dataset_level_feeds_integration_dict(client, project, integration,
                                                                tmp_path):
    location = client.upload_file(write(tmp_path, "news_loader.py", SECRET_LOADER))
    # no data_endpoint_integration_id: the dataset's integration_id is used
    dataset_id = project.register_dataset("by-dataset", loading(location, "load", rows=4),
                                          integration_id=integration)
    d = project.get_dataset(dataset_id)
    assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
    assert d["row_count"] == 4
    log = client.get_job(d["validation_job_id"]).get_log()
    assert "endpoint " + PUBLIC in log and "token [REDACTED]" in log
    # without any integration the same loader gets no integration_dict
    d = project.get_dataset(project.register_dataset("none", loading(location, "load")))
    assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
    assert "integration_dict" in d["validity_message"]  # TypeError: missing argument


def test_integration_dict_only_when_the_loader_accepts_it(client, project, integration,
                                                          tmp_path):
    location = client.upload_file(write(tmp_path, "accept.py", """
        import pandas as pd

        def frame():
            return pd.DataFrame({"ts": [1, 2], "label": [0, 1]})

        def plain(start_time=None, end_time=None):
            return frame()

        def keywords(**kwargs):
            assert sorted(kwargs) == ["end_time", "integration_dict", "start_time"], kwargs
            assert kwargs["integration_dict"]["ENDPOINT"] == "%s", kwargs["integration_dict"]
            assert kwargs["start_time"] is None and kwargs["end_time"] is None
            return frame()

        def keywords_without_integration(**kwargs):
            assert "integration_dict" not in kwargs, sorted(kwargs)
            return frame()
    """ % PUBLIC))
    for function in ("plain", "keywords"):
        d = project.get_dataset(project.register_dataset(
            function, loading(location, function, integration)))
        assert d["validity_status"] == "VALIDITY_STATUS_VALID", (function, d["validity_message"])
    d = project.get_dataset(project.register_dataset(
        "no-integration", loading(location, "keywords_without_integration")))
    assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]


def test_loader_that_defeats_the_runner_redaction_is_still_redacted(
        platform, client, project, integration, tmp_path):
    # The loader switches off the child's own redaction (assay_runner.py runs
    # as __main__: _redact and its _SECRETS list) and then prints and raises
    # with the secrets: the platform's redaction must catch them.
    location = client.upload_file(write(tmp_path, "sneaky.py", """
        import sys
        import __main__

        def load(integration_dict):
            __main__._redact = lambda text: text
            __main__._SECRETS[:] = []
            token, mine = integration_dict["TOKEN"], integration_dict["PERSONAL"]
            print("stdout", token, mine, flush=True)
            print("stderr", token, mine, file=sys.stderr, flush=True)
            raise RuntimeError("cannot reach the source with " + token + " / " + mine)
    """))
    d = project.get_dataset(project.register_dataset("sneaky", loading(location, "load",
                                                                       integration)))
    assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
    message = d["validity_message"]
    assert "RuntimeError: cannot reach the source with [REDACTED] / [REDACTED]" in message
    log = client.get_job(d["validation_job_id"]).get_log()
    assert "stdout [REDACTED] [REDACTED]" in log
    assert "stderr [REDACTED] [REDACTED]" in log
    for text in (message, log):
        assert SECRET not in text and MEMBER_SECRET not in text
    client.close()
    for path in Path(platform.home).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in (SECRET, MEMBER_SECRET):
                assert secret.encode() not in data, "%s holds a secret" % path
    if platform.kind == "assayd":
        stderr = platform.read_stderr()
        assert SECRET not in stderr and MEMBER_SECRET not in stderr


def register_without_waiting(client, project, name, data_info):
    """The C-level register with wait=False: answers the PENDING record."""
    return assay._core.assay_client_register_dataset(
        client._handle, project.project_id, {"name": name, "data_info": data_info}, False)


def test_assayd_without_workers_leaves_the_registration_pending(start_assayd, tmp_path,
                                                                unique):
    home = tmp_path / "shared-home"
    lazy = Assayd(home, "--workers", "0")
    try:
        with assay.Client(lazy.url, api_key=lazy.token) as client:
            project = client.create_project(unique("lazy"), "lazy", "MODEL_TASK_REGRESSION")
            path = tmp_path / "d.csv"
            path.write_text("ts,label\n1,0\n2,1\n3,0\n")
            record = register_without_waiting(client, project, "waiting", {
                "connection_info": {"data_file": {"path": client.upload_file(path)}},
                "data_params": {"label_col": "label", "timestamp_col": "ts"}})
            assert record["validity_status"] == "VALIDITY_STATUS_PENDING"
            job_id = record["validation_job_id"]
            assert job_id
            time.sleep(2)
            assert project.get_dataset(record["dataset_id"])["validity_status"] == \
                "VALIDITY_STATUS_PENDING"
            assert client.get_job(job_id).get_status(verbose=False)["status"] == \
                "JOB_STATUS_PENDING"

            # A second assayd on the same home (its own port) with workers runs it.
            busy = start_assayd(home)
            with busy.client() as other:
                status = other.get_job(job_id).get_status(verbose=False, wait_until_finish=True,
                                                          poll_rate_sec=0.1)
                assert status["status"] == "JOB_STATUS_SUCCEEDED"
            d = project.get_dataset(record["dataset_id"])
            assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
            assert d["row_count"] == 3
    finally:
        assert lazy.stop() == 0
