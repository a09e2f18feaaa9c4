"""Projects through the Python API, against the embedded platform and assayd.

Create / get / list / delete, the optional fields, and every documented bad
input with its typed error.
"""

import pytest

import assay

TASK = "MODEL_TASK_BINARY_CLASSIFICATION"
ALL_TASKS = [
    "MODEL_TASK_REGRESSION", "MODEL_TASK_BINARY_CLASSIFICATION",
    "MODEL_TASK_MULTICLASS_CLASSIFICATION", "MODEL_TASK_RANKING",
    "MODEL_TASK_NAMED_ENTITY_RECOGNITION", "MODEL_TASK_NATURAL_LANGUAGE_INFERENCE",
    "MODEL_TASK_OBJECT_DETECTION", "MODEL_TASK_FILL_MASK",
]


def test_create_get_list_delete(client, unique):
    name = unique("fraud")
    project = client.create_project(name, "card fraud model", TASK)
    assert isinstance(project, assay.Project)
    assert project.name == name
    assert project.description == "card fraud model"
    assert isinstance(project.project_id, str) and project.project_id
    info = project.info
    assert info["project_id"] == project.project_id
    assert info["model_task"] == TASK
    assert info["general_access_role"] == "ACTOR_ROLE_NONE"
    for key in ("workspace_id", "owner_id", "created_at"):
        assert isinstance(info[key], str) and info[key], key
    for key in ("use_case", "ethical_consideration", "profiling_config", "run_time_info"):
        assert info[key] is None, key

    fetched = client.get_project(project.project_id)
    assert fetched == project
    assert fetched.info == info
    assert hash(fetched) == hash(project)
    assert repr(fetched) == "Project(project_id=%r, name=%r)" % (project.project_id, name)

    second = client.create_project(unique("churn"), "", "MODEL_TASK_REGRESSION")
    listed = client.list_projects()
    assert isinstance(listed, list)
    assert [p.project_id for p in listed] == [project.project_id, second.project_id]
    assert [p.name for p in client.list_projects()] == [name, second.name]

    assert client.delete_project(project.project_id) is None
    assert client.list_projects() == [second]
    client.delete_project(second.project_id, force=True)
    assert client.list_projects() == []


def test_optional_fields_round_trip(client, unique):
    profiling = {
        "feature_types": {"age": "numeric", "city": "categorical"},
        "thresholds": [0.5, 1, -2, True, None, "x", [], {}],
        "big": 2**62, "negative": -(2**63), "unicode": "Zürich ✓ \U0001F600",
        "nested": {"a": {"b": {"c": [1, [2, [3]]]}}},
    }
    run_time = {"custom_loader": {"path": "/tmp/loader.py"}, "workers": 4, "ratio": 0.25}
    project = client.create_project(
        unique("full"), "all the fields", "MODEL_TASK_MULTICLASS_CLASSIFICATION",
        use_case="fraud detection", ethical_consideration="no personal data",
        profiling_config=profiling, general_access_role="ACTOR_ROLE_VIEWER",
        run_time_info=run_time)
    for info in (project.info, client.get_project(project.project_id).info):
        assert info["use_case"] == "fraud detection"
        assert info["ethical_consideration"] == "no personal data"
        assert info["profiling_config"] == profiling
        assert info["general_access_role"] == "ACTOR_ROLE_VIEWER"
        assert info["run_time_info"] == run_time
        assert isinstance(info["profiling_config"]["thresholds"][1], int)
        assert isinstance(info["profiling_config"]["thresholds"][0], float)
        assert info["profiling_config"]["thresholds"][3] is True


def test_tuples_become_lists(client, unique):
    project = client.create_project(unique("t"), "", TASK, profiling_config={"cols": ("a", "b")})
    assert project.info["profiling_config"] == {"cols": ["a", "b"]}


def test_duplicate_name_is_conflict(client, unique):
    name = unique("dup")
    client.create_project(name, "first", TASK)
    with pytest.raises(assay.ConflictError) as info:
        client.create_project(name, "second", TASK)
    err = info.value
    assert isinstance(err, ValueError)
    assert isinstance(err, assay.Error)
    assert err.code == -6 and err.name == "ConflictError"
    assert name in err.message
    assert str(err) == err.message
    assert len(client.list_projects()) == 1


def test_unknown_model_task_lists_the_valid_ones(client, unique):
    with pytest.raises(assay.ConfigError) as info:
        client.create_project(unique("bad"), "", "MODEL_TASK_ASTROLOGY")
    err = info.value
    assert isinstance(err, ValueError)
    assert err.code == -2 and err.name == "ConfigError"
    assert "MODEL_TASK_ASTROLOGY" in err.message
    for task in ALL_TASKS:
        assert task in err.message
    assert client.list_projects() == []


def test_unknown_id_is_not_found(client):
    for project_id in ("00000000-0000-4000-8000-000000000000", "no such project", "../platform"):
        with pytest.raises(assay.NotFoundError) as info:
            client.get_project(project_id)
        assert isinstance(info.value, ValueError)
        assert info.value.code == -3
        with pytest.raises(assay.NotFoundError):
            client.delete_project(project_id)


def test_empty_id_is_config_error(client):
    with pytest.raises(assay.ConfigError):
        client.get_project("")


def test_delete_twice_is_not_found(client, unique):
    project = client.create_project(unique("gone"), "", TASK)
    client.delete_project(project.project_id)
    with pytest.raises(assay.NotFoundError):
        client.delete_project(project.project_id)
    with pytest.raises(assay.NotFoundError):
        client.get_project(project.project_id)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(name=5), assay.ConfigError, ["name", "str", "int"]),
    (dict(description=b"bytes"), assay.ConfigError, ["description", "str", "bytes"]),
    (dict(model_task=["MODEL_TASK_RANKING"]), assay.ConfigError, ["model_task", "list"]),
    (dict(name="a\0b"), assay.ConfigError, ["name", "NUL"]),
    (dict(name="\ud800"), assay.ConfigError, ["name", "UTF-8"]),
    (dict(profiling_config={"when": object()}), assay.ConfigError,
     ["profiling_config", "'when'", "object"]),
    (dict(profiling_config={1: "x"}), assay.ConfigError, ["profiling_config", "keys", "str"]),
    (dict(profiling_config={"x": [0, float("nan")]}), assay.ConfigError,
     ["profiling_config", "['x'][1]", "nan"]),
    (dict(profiling_config={"x": float("inf")}), assay.ConfigError, ["inf"]),
    (dict(run_time_info={"n": 2**64}), assay.ConfigError, ["run_time_info", "64-bit"]),
    (dict(run_time_info={"s": {1, 2}}), assay.ConfigError, ["run_time_info", "set"]),
])
def test_bad_types_are_clear_errors(client, unique, kwargs, exc, words):
    args = dict(name=unique("typed"), description="", model_task=TASK)
    args.update(kwargs)
    with pytest.raises(exc) as info:
        client.create_project(**args)
    for word in words:
        assert word in str(info.value)
    assert client.list_projects() == []


def test_wrong_json_shapes_are_config_errors(client, unique):
    # A str where an object is expected converts fine; the core refuses it.
    for kwargs in (dict(profiling_config="x"), dict(run_time_info=[1, 2]),
                   dict(general_access_role=5)):
        with pytest.raises(assay.ConfigError) as info:
            client.create_project(unique("shape"), "", TASK, **kwargs)
        assert list(kwargs)[0] in info.value.message
    assert client.list_projects() == []


def test_missing_name_is_config_error(client):
    with pytest.raises(assay.ConfigError) as info:
        client.create_project(None, "", TASK)
    assert "name" in info.value.message


def test_cyclic_config_is_refused(client, unique):
    loop = []
    loop.append(loop)
    with pytest.raises(RecursionError):
        client.create_project(unique("cycle"), "", TASK, profiling_config={"x": loop})
    assert client.list_projects() == []


def test_force_must_be_bool_or_int(client, unique):
    project = client.create_project(unique("f"), "", TASK)
    with pytest.raises(assay.ConfigError) as info:
        client.delete_project(project.project_id, force="yes")
    assert "force" in str(info.value)
    client.delete_project(project.project_id, force=True)
