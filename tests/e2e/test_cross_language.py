"""Python and Lua clients on one real ``assayd``: each sees the projects the
other created, and each gets its typed authentication error for a wrong
token. The Lua side runs as a real ``lua5.4`` child process."""

import os
import subprocess
import sys

import pytest
from assayd_process import BUILD_DIR, Assayd

sys.path.insert(0, str(BUILD_DIR / "python"))
import assay  # noqa: E402

LUA_SCRIPT = r"""
local assay = require "assay"
local url, token = os.getenv("T_URL"), os.getenv("T_TOKEN")
local client = assay.Client(url, token)
local names = {}
for _, p in ipairs(client:list_projects()) do names[#names + 1] = p.name end
local made = client:create_project("from-lua", "made in Lua", "MODEL_TASK_REGRESSION")
local ok, err = pcall(function() return assay.Client(url, "asy_wrong"):list_projects() end)
local dup_ok, dup = pcall(function()
  return client:create_project("from-python", "again", "MODEL_TASK_REGRESSION")
end)
io.write(string.format("%s\n%s\n%s %s %s\n%s\n", table.concat(names, ","), made.project_id,
  tostring(ok), err.name, math.tointeger(err.http_status), dup.name))
"""


@pytest.fixture
def daemon(tmp_path):
    d = Assayd(tmp_path / "home")
    yield d
    assert d.stop() == 0


def run_lua(tmp_path, daemon):
    script = tmp_path / "cross.lua"
    script.write_text(LUA_SCRIPT)
    lua_dir = BUILD_DIR / "lua"
    env = dict(os.environ, T_URL=daemon.url, T_TOKEN=daemon.token,
               LUA_PATH="%s/?.lua;%s/?/init.lua;;" % (lua_dir, lua_dir),
               LUA_CPATH="%s/?.so;;" % lua_dir)
    out = subprocess.run(["lua5.4", str(script)], capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_python_and_lua_share_one_assayd(tmp_path, daemon):
    py = assay.Client(daemon.url, api_key=daemon.token)
    mine = py.create_project("from-python", "made in Python", "MODEL_TASK_BINARY_CLASSIFICATION")

    seen_by_lua, lua_id, auth_line, dup_name = run_lua(tmp_path, daemon)
    assert seen_by_lua.split(",") == ["from-python"]
    assert auth_line == "false AuthError 401"
    assert dup_name == "ConflictError"

    projects = {p.name: p for p in py.list_projects()}
    assert set(projects) == {"from-python", "from-lua"}
    assert projects["from-lua"].project_id == lua_id
    assert projects["from-lua"].info["model_task"] == "MODEL_TASK_REGRESSION"
    assert py.get_project(lua_id).description == "made in Lua"
    assert projects["from-python"].project_id == mine.project_id

    with pytest.raises(assay.AuthError) as e:
        assay.Client(daemon.url, api_key="asy_wrong").list_projects()
    assert e.value.http_status == 401
