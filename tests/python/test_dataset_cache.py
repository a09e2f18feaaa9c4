"""The per-dataset cache of loaded data, end to end on the embedded platform
(whose home the test can look into): registering a dataset through a custom
loader calls the loader once and leaves one columnar file under
<home>/cache/<dataset_id>/; deleting the dataset, or force-deleting its
project, removes that folder."""

import textwrap

import pytest

import assay

COUNTING_LOADER = """
    import pandas as pd

    def load(calls_file, rows, start_time=None, end_time=None):
        with open(calls_file, "a") as f:
            f.write("call\\n")
        return pd.DataFrame({"ts": list(range(rows)), "label": [i % 2 for i in range(rows)]})
"""


@pytest.fixture
def client(tmp_path):
    with assay.Client(home=tmp_path / "home") as c:
        yield c


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


def register_counting(client, project, tmp_path, name, rows=6):
    loader = tmp_path / "counting_loader.py"
    loader.write_text(textwrap.dedent(COUNTING_LOADER))
    # The loader's sandbox lets it write in existing folders beside the
    # home (tmp_path holds the home), not create entries next to it.
    calls = tmp_path / "calls" / ("%s.txt" % name)
    calls.parent.mkdir(exist_ok=True)
    info = {"connection_info": {"data_loading": {
        "path": client.upload_file(loader), "load_func_name": "load",
        "loader_kwargs": {"calls_file": str(calls), "rows": rows}}},
        "data_params": {"label_col": "label", "timestamp_col": "ts"}}
    dataset_id = project.register_dataset(name, info)
    d = project.get_dataset(dataset_id)
    assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
    assert d["row_count"] == rows
    return dataset_id, calls


def cache_files(home, dataset_id):
    folder = home / "cache" / dataset_id
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else None


def test_registration_loads_once_and_caches_one_file(client, home, tmp_path, unique):
    project = client.create_project(unique("cache"), "cache", "MODEL_TASK_REGRESSION")
    dataset_id, calls = register_counting(client, project, tmp_path, "counted")
    assert calls.read_text() == "call\n"  # exactly one call of the loader
    files = cache_files(home, dataset_id)
    assert files is not None, "no cache folder for %s" % dataset_id
    assert len(files) == 1 and files[0].endswith(".acol"), files
    assert (home / "cache" / dataset_id / files[0]).stat().st_size > 0

    project.delete_dataset(dataset_id)
    assert not (home / "cache" / dataset_id).exists()
    assert calls.read_text() == "call\n"  # deleting does not load


def test_force_deleting_the_project_removes_its_caches(client, home, tmp_path, unique):
    project = client.create_project(unique("cache"), "cache", "MODEL_TASK_REGRESSION")
    first, _ = register_counting(client, project, tmp_path, "first")
    second, _ = register_counting(client, project, tmp_path, "second", rows=3)
    # prediction sets are cached per prediction id as well
    preds = tmp_path / "preds.csv"
    preds.write_text("pred\n0.1\n0.2\n0.3\n")
    model_id = project.register_model("m")
    project.register_predictions_from_file(second, model_id, client.upload_file(preds),
                                           pred_params={"pred_col": "pred"})
    p = project.get_predictions(model_id, second)
    assert p["validity_status"] == "VALIDITY_STATUS_VALID", p["validity_message"]
    cached = [first, second, p["prediction_id"]]
    for entry in cached:
        assert cache_files(home, entry), "no cache for %s" % entry

    other = client.create_project(unique("other"), "kept", "MODEL_TASK_REGRESSION")
    kept, _ = register_counting(client, other, tmp_path, "kept")

    client.delete_project(project.project_id, force=True)
    for entry in cached:
        assert not (home / "cache" / entry).exists(), entry
    # another project's cache stays
    assert cache_files(home, kept)
