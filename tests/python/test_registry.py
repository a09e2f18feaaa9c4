"""Files and the registry from Python (rime-sdk's names): uploads, datasets
from files (native CSV, Parquet through the runner), models, predictions,
bad configs as typed errors naming the key — on the embedded platform and
on a real assayd."""

import hashlib

import pytest

import assay

pd = pytest.importorskip("pandas")


@pytest.fixture
def project(client, unique):
    return client.create_project(unique("registry"), "registry",
                                 "MODEL_TASK_BINARY_CLASSIFICATION")


def blake2b(path):
    return hashlib.blake2b(path.read_bytes(), digest_size=32).hexdigest()


# --- files --------------------------------------------------------------------

def test_upload_file_location_list_and_delete(client, tmp_path):
    path = tmp_path / "ref.csv"
    path.write_text("a,b\n1,x\n")
    location = client.upload_file(path)
    assert location == "assay://files/%s/ref.csv" % blake2b(path)[:16]
    # The same content lands at the same place; an explicit folder is used as given.
    assert client.upload_file(path) == location
    assert client.upload_file(path, upload_path="team/data") == "assay://files/team/data/ref.csv"
    records = {f["location"]: f for f in client.list_uploaded_files()}
    assert set(client.list_uploaded_file_urls()) == set(records) == {
        location, "assay://files/team/data/ref.csv"}
    assert records[location]["size"] == path.stat().st_size
    assert records[location]["blake2b"] == blake2b(path)
    client.delete_uploaded_file_url(location)
    assert client.list_uploaded_file_urls() == ["assay://files/team/data/ref.csv"]
    with pytest.raises(assay.NotFoundError):
        client.delete_uploaded_file_url(location)


@pytest.mark.parametrize("upload_path", ["", "/abs", "../up", "a/../b", "a/./b", "a//b"])
def test_bad_upload_paths_are_config_errors(client, tmp_path, upload_path):
    path = tmp_path / "f.txt"
    path.write_text("x")
    with pytest.raises(assay.ConfigError, match="upload_path"):
        client.upload_file(path, upload_path=upload_path)
    assert client.list_uploaded_file_urls() == []


def test_upload_missing_file_is_a_config_error(client, tmp_path):
    with pytest.raises(assay.ConfigError, match="nope.csv"):
        client.upload_file(tmp_path / "nope.csv")


def test_upload_directory_hidden_files_and_links(client, tmp_path):
    root = tmp_path / "model"
    (root / "sub").mkdir(parents=True)
    (root / "model.py").write_text("def predict_df(df):\n    return df\n")
    (root / "sub" / "weights.bin").write_bytes(b"\0\1\2")
    (root / ".secret").write_text("hidden")
    (root / "inside").symlink_to(root / "model.py")
    location = client.upload_directory(root, upload_path="models/v1")
    assert location == "assay://files/models/v1/model"
    urls = set(client.list_uploaded_file_urls())
    assert urls == {location + "/model.py", location + "/sub/weights.bin",
                    location + "/inside"}
    # The link inside the tree was uploaded as the file it points to.
    records = {f["location"]: f for f in client.list_uploaded_files()}
    target = root / "model.py"
    assert records[location + "/inside"]["size"] == target.stat().st_size
    assert records[location + "/inside"]["blake2b"] == blake2b(target)
    assert records[location + "/sub/weights.bin"]["blake2b"] == blake2b(
        root / "sub" / "weights.bin")
    client.upload_directory(root, upload_hidden=True, upload_path="models/v2")
    assert "assay://files/models/v2/model/.secret" in client.list_uploaded_file_urls()

    (root / "outside").symlink_to(tmp_path)
    before = set(client.list_uploaded_file_urls())
    with pytest.raises(assay.ConfigError, match="outside"):
        client.upload_directory(root, upload_path="models/v3")
    assert set(client.list_uploaded_file_urls()) == before  # nothing uploaded

    client.delete_uploaded_file_url(location)
    assert not any(u.startswith(location) for u in client.list_uploaded_file_urls())


def test_upload_data_frame(client, project):
    df = pd.DataFrame({"x": [1.5, None, 3.0], "y": ["a", "b", "a"], "label": [0, 1, 0]})
    location = client.upload_data_frame(df, name="frame")
    assert location.endswith("/frame.parquet")
    d = project.get_dataset(project.register_dataset_from_file(
        "frame", location, data_params={"label_col": "label"}))
    assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
    assert d["row_count"] == 3
    assert [(c["column"], c["type"]) for c in d["schema_profile"]] == [
        ("x", "float64"), ("y", "string"), ("label", "int64")]
    with pytest.raises(assay.ConfigError, match="name"):
        client.upload_data_frame(df, name="frame.xlsx")


@pytest.mark.parametrize("name, types", [
    ("frame.csv", [("x", "float64"), ("y", "string"), ("label", "int64")]),
    ("frame.json", [("x", "float64"), ("y", "string"), ("label", "int64")]),
    ("frame.jsonl", [("x", "float64"), ("y", "string"), ("label", "int64")]),
])
def test_upload_data_frame_other_formats_register_and_validate(client, project, name, types):
    df = pd.DataFrame({"x": [1.5, None, 3.25], "y": ["a", "b,c", None], "label": [0, 1, 0]})
    location = client.upload_data_frame(df, name=name)
    assert location.endswith("/" + name)
    d = project.get_dataset(project.register_dataset_from_file(
        name, location, data_params={"label_col": "label"}))
    assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
    assert d["row_count"] == 3
    assert [(c["column"], c["type"]) for c in d["schema_profile"]] == types
    profile = {c["column"]: c for c in d["schema_profile"]}
    assert profile["x"]["null_share"] == pytest.approx(1 / 3)
    assert profile["y"]["null_share"] == pytest.approx(1 / 3)
    assert profile["y"]["distinct_count"] == 2


# --- datasets -------------------------------------------------------------------

def test_csv_dataset_profile_matches_pandas(client, project, tmp_path):
    path = tmp_path / "ref.csv"
    df = pd.DataFrame({
        "age": [31, 45, None, 22, 45, 60],
        "income": [1.5, 2.25, 3.0, None, 2.25, 10.0],
        "city": ["Paris", "Lyon", "Paris", None, "Nice", "Lyon"],
        "member": [True, False, True, True, False, True],
        "label": [0, 1, 0, 1, 1, 0],
    })
    df["age"] = df["age"].astype("Int64")  # written as 31, not 31.0
    df.to_csv(path, index=False)
    dataset_id = project.upload_and_register_dataset_from_file(
        "ref", path, data_params={"label_col": "label"})
    d = project.get_dataset(dataset_id)
    assert d["validity_status"] == "VALIDITY_STATUS_VALID", d["validity_message"]
    assert d["row_count"] == len(df)
    read = pd.read_csv(path)
    for col in d["schema_profile"]:
        series = read[col["column"]]
        assert col["null_share"] == pytest.approx(series.isna().mean())
        assert col["distinct_count"] == series.nunique()
    assert {c["column"]: c["type"] for c in d["schema_profile"]} == {
        "age": "int64", "income": "float64", "city": "string", "member": "bool",
        "label": "int64"}
    assert d["data_info"]["connection_info"]["data_file"]["path"].endswith("/ref.csv")
    assert project.has_dataset(dataset_id=dataset_id)
    assert project.get_dataset(dataset_name="ref")["dataset_id"] == dataset_id
    assert [x["dataset_id"] for x in project.list_datasets()] == [dataset_id]


def test_dataset_names_are_unique_per_project(client, project, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,label\n1,0\n")
    location = client.upload_file(path)
    project.register_dataset_from_file("same", location, skip_validation=True)
    with pytest.raises(assay.ConflictError, match="same"):
        project.register_dataset_from_file("same", location, skip_validation=True)
    other = client.create_project(project.name + "-other", "x", "MODEL_TASK_REGRESSION")
    other.register_dataset_from_file("same", location, skip_validation=True)


def test_skip_validation_leaves_the_dataset_pending(client, project, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,label\n1,0\n")
    d = project.get_dataset(project.register_dataset_from_file(
        "skipped", client.upload_file(path), skip_validation=True))
    assert d["validity_status"] == "VALIDITY_STATUS_PENDING"
    assert d["validity_message"] == "validation skipped"
    assert d["row_count"] is None
    assert d["schema_profile"] is None
    assert d["validation_job_id"] is None


def test_invalid_csv_gives_an_invalid_dataset(client, project, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,label\n1,0\n2,1,3\n")
    d = project.get_dataset(project.register_dataset_from_file(
        "bad", client.upload_file(path), data_params={"label_col": "label"}))
    assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
    assert "line 3" in d["validity_message"]


def test_missing_label_column_names_the_columns(client, project, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n")
    d = project.get_dataset(project.register_dataset_from_file(
        "nolabel", client.upload_file(path), data_params={"label_col": "target"}))
    assert d["validity_status"] == "VALIDITY_STATUS_INVALID"
    assert "target" in d["validity_message"] and "a, b" in d["validity_message"]


@pytest.mark.parametrize("config, key", [
    ({}, "connection_info"),
    ({"connection_info": {}}, "connection_info"),
    ({"connection_info": {"data_lake": {}}}, "data_lake"),
    ({"connection_info": {"data_file": {"path": "assay://files/x.csv"},
                          "data_loading": {}}}, "exactly one"),
    ({"connection_info": {"data_loading": {"path": "assay://files/x.py"}}}, "load_func_name"),
    ({"connection_info": {"data_file": {"path": "assay://files/x.csv", "colour": 1}}},
     "colour"),
    ({"connection_info": {"data_file": {"path": "/etc/passwd"}}}, "assay://files/"),
    ({"connection_info": {"data_file": {"path": "assay://files/x.csv"}},
      "data_params": {"label": "y"}}, "label"),
    ({"connection_info": {"data_file": {"path": "assay://files/x.csv"}},
      "data_params": {"nrows": "ten"}}, "nrows"),
    ({"connection_info": {"data_loading": {"path": "assay://files/x.py",
                                           "load_func_name": "f",
                                           "loader_kwargs_json": "[1, 2]"}}},
     "loader_kwargs_json"),
    ({"connection_info": {"data_loading": {"path": "assay://files/x.py",
                                           "load_func_name": "f",
                                           "loader_kwargs_json": "{}",
                                           "loader_kwargs": {}}}}, "loader_kwargs"),
    ({"connection_info": {"data_file": {"path": "assay://files/x.csv"}}, "extra": 1}, "extra"),
    ({"connection_info": {"data_file": {"path": "assay://files/x.csv"}},
      "data_params": {"loading_kwargs": {"sep": ";;"}}}, "data_params.loading_kwargs.sep"),
    ({"connection_info": {"data_file": {"path": "assay://files/x.csv"}},
      "data_params": {"loading_kwargs": {"engine": "c"}}}, "engine"),
])
def test_bad_data_info_is_a_config_error_naming_the_key(project, config, key):
    with pytest.raises(assay.ConfigError) as err:
        project.register_dataset("bad", config)
    assert key in str(err.value)
    assert not project.list_datasets()


def test_dataset_from_a_file_that_was_never_uploaded(project):
    with pytest.raises(assay.NotFoundError, match="assay://files/nowhere/x.csv"):
        project.register_dataset_from_file("ghost", "assay://files/nowhere/x.csv")


def test_delete_dataset_and_project_needs_force(client, project, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,label\n1,0\n")
    dataset_id = project.register_dataset_from_file("d", client.upload_file(path))
    with pytest.raises(assay.ConflictError):
        client.delete_project(project.project_id)
    project.delete_dataset(dataset_id)
    assert not project.has_dataset(dataset_id=dataset_id)
    project.register_dataset_from_file("d2", client.upload_file(path))
    client.delete_project(project.project_id, force=True)
    with pytest.raises(assay.NotFoundError):
        client.get_project(project.project_id)


def test_get_dataset_needs_exactly_one_key(project):
    with pytest.raises(assay.ConfigError):
        project.get_dataset()
    with pytest.raises(assay.ConfigError):
        project.get_dataset("a", "b")
    with pytest.raises(assay.NotFoundError):
        project.get_dataset(dataset_name="nothing")


# --- models and predictions ------------------------------------------------------

def test_models(client, project, tmp_path):
    none_id = project.register_model("no-model")
    assert project.get_model(none_id)["model_info"] is None
    model_file = tmp_path / "model.py"
    model_file.write_text("def predict_df(df):\n    return df['x']\n")
    path_id = project.upload_and_register_model_from_path("file-model", model_file)
    info = project.get_model(model_name="file-model")
    assert info["model_id"] == path_id
    assert info["model_info"]["model_path"]["path"].endswith("/model.py")
    folder = tmp_path / "model_dir"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.py").write_text("def predict_df(df):\n    return df['x']\n")
    (folder / "sub" / "weights.bin").write_bytes(b"\0\1\2\3")
    folder_id = project.upload_and_register_model_from_path("dir-model", folder,
                                                            upload_model_dir=True,
                                                            upload_path="models/dir")
    assert project.has_model(folder_id) and not project.has_model(model_name="nope")
    dir_location = "assay://files/models/dir/model_dir"
    assert project.get_model(folder_id)["model_info"] == {"model_path": {"path": dir_location}}
    records = {f["location"]: f for f in client.list_uploaded_files()}
    assert {u for u in records if u.startswith(dir_location + "/")} == {
        dir_location + "/model.py", dir_location + "/sub/weights.bin"}
    assert records[dir_location + "/sub/weights.bin"]["blake2b"] == blake2b(
        folder / "sub" / "weights.bin")
    with pytest.raises(assay.ConflictError):
        project.register_model("no-model")
    with pytest.raises(assay.ConfigError, match="model_path"):
        project.register_model("bad", {"model_path": {}})
    with pytest.raises(assay.ConfigError, match="exactly one"):
        project.register_model("bad", {"model_path": {"path": "assay://files/a"},
                                       "hugging_face": {"model_uri": "x"}})
    assert [m["name"] for m in project.list_models()] == ["no-model", "file-model", "dir-model"]
    project.delete_model(none_id)
    assert not project.has_model(none_id)


def test_predictions(client, project, tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("x,label\n1,0\n2,1\n3,0\n")
    preds = tmp_path / "preds.csv"
    preds.write_text("pred\n0.1\n0.8\n0.3\n")
    dataset_id = project.upload_and_register_dataset_from_file(
        "data", data, data_params={"label_col": "label"})
    model_id = project.register_model("m")
    project.register_predictions_from_file(dataset_id, model_id, client.upload_file(preds),
                                           pred_params={"pred_col": "pred"})
    p = project.get_predictions(model_id, dataset_id)
    assert p["validity_status"] == "VALIDITY_STATUS_VALID", p["validity_message"]
    assert p["row_count"] == 3
    assert project.has_predictions(model_id, dataset_id)
    assert len(project.list_predictions(model_id=model_id)) == 1
    assert project.list_predictions(dataset_id="no-such") == []
    with pytest.raises(assay.ConflictError):
        project.register_predictions_from_file(dataset_id, model_id, client.upload_file(preds),
                                               pred_params={"pred_col": "pred"})
    project.delete_predictions(model_id, dataset_id)
    assert not project.has_predictions(model_id, dataset_id)

    # A prediction column that is not there, and a row count that differs.
    project.register_predictions_from_file(dataset_id, model_id, client.upload_file(preds),
                                           pred_params={"pred_col": "score"})
    p = project.get_predictions(model_id, dataset_id)
    assert p["validity_status"] == "VALIDITY_STATUS_INVALID"
    assert p["validity_message"] == ("pred_params.pred_col 'score' is not a column of the "
                                     "data; the data has 1 column: pred")
    project.delete_predictions(model_id, dataset_id)
    short = tmp_path / "short.csv"
    short.write_text("pred\n0.5\n")
    project.register_predictions_from_file(dataset_id, model_id, client.upload_file(short),
                                           pred_params={"pred_col": "pred"})
    p = project.get_predictions(model_id, dataset_id)
    assert p["validity_status"] == "VALIDITY_STATUS_INVALID"
    assert p["validity_message"] == (
        "the predictions have 1 rows but dataset 'data' (%s) has 3; expected one prediction "
        "per row of the dataset" % dataset_id)

    # Deleting the dataset deletes its predictions.
    project.delete_dataset(dataset_id)
    assert project.list_predictions() == []


def test_viewer_reads_but_does_not_register(client, platform, project, tmp_path, unique):
    admin = client
    user = admin.create_user(unique("viewer"))
    workspace_id = admin.platform_info()["workspace_id"]
    admin.add_workspace_member(workspace_id, user["user_id"], "WORKSPACE_ROLE_VIEWER")
    token = admin.create_api_token(workspace_id, name="viewer", user_id=user["user_id"],
                                   expires_in_days=1)
    path = tmp_path / "d.csv"
    path.write_text("a,label\n1,0\n")
    location = client.upload_file(path)
    dataset_id = project.register_dataset_from_file("d", location, skip_validation=True)
    with platform.client(api_key=token) as viewer:
        seen = viewer.get_project(project.project_id)
        assert seen.get_dataset(dataset_id)["name"] == "d"
        assert viewer.list_uploaded_file_urls() == [location]
        with pytest.raises(assay.PermissionDeniedError):
            seen.register_dataset_from_file("mine", location, skip_validation=True)
        with pytest.raises(assay.PermissionDeniedError):
            viewer.upload_file(path)
        with pytest.raises(assay.PermissionDeniedError):
            seen.delete_dataset(dataset_id)


def test_validation_job_is_visible(client, project, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,label\n1,0\n")
    d = project.get_dataset(project.upload_and_register_dataset_from_file(
        "d", path, data_params={"label_col": "label"}))
    job = client.get_job(d["validation_job_id"])
    status = job.get_status(verbose=False)
    assert status["status"] == "JOB_STATUS_SUCCEEDED"
    assert status["type"] == "JOB_TYPE_DATASET_VALIDATION"
    assert job.error_msg is None
    with pytest.raises(assay.NotFoundError):
        client.get_job("00000000-0000-4000-8000-000000000000")
