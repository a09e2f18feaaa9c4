-- tests/lua/registry_spec.lua — files, the registry and custom loaders from
-- Lua, against the embedded platform and a real assayd: uploads (files,
-- directories, tables of columns), datasets through the native CSV reader
-- and through a custom loader that needs an integration's secrets, a loader
-- that raises, secrets leaving no trace in the home, bad configs as
-- ConfigError objects naming the key, models and predictions, jobs.
-- Every test makes its own platform, so they hold in any order.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")
local assay = require "assay"

local SECRET = "lua-s3cr3t-Qw7-token-3391"
local PUBLIC = "lua-public-endpoint-8812"

-- SHA-256 of SECRET: the loader checks the credentials without holding them
-- (the uploaded file is kept as is, and must not carry the secret).
local SECRET_SHA256 = "73c5b30da9d0938cae316b49614544da975d9553ca1ab39db94805b39f3b3a45"

local LOADER = [[
import hashlib
import pandas as pd

def load(start_time, end_time, integration_dict, rows=4):
    if hashlib.sha256(integration_dict["TOKEN"].encode()).hexdigest() != "]] .. SECRET_SHA256 .. [[":
        raise PermissionError("bad credentials")
    print("endpoint", integration_dict["ENDPOINT"], "token", integration_dict["TOKEN"], flush=True)
    return pd.DataFrame({"ts": list(range(rows)), "label": [i % 2 for i in range(rows)],
                         "city": ["a", "b", None, "a"][:rows]})
]]

local function loading(path, fn, integration_id, kwargs)
  return {
    connection_info = { data_loading = { path = path, load_func_name = fn,
                                         loader_kwargs = kwargs,
                                         data_endpoint_integration_id = integration_id } },
    data_params = { label_col = "label", timestamp_col = "ts" },
  }
end

for _, mode in ipairs(support.modes) do
  describe("registry (" .. mode .. ")", function()
    local env, client, project, dir

    before_each(function()
      env = support.platform(mode)
      client = env.client()
      project = client:create_project(support.unique("registry"), "registry",
                                      "MODEL_TASK_BINARY_CLASSIFICATION")
      dir = support.tmpdir()
    end)

    after_each(function()
      env.stop()
      support.rmtree(dir)
    end)

    local function integration()
      local ws = client:platform_info().workspace_id
      return (client:create_integration(ws, "news-source", "INTEGRATION_TYPE_CUSTOM", {
        { name = "ENDPOINT", sensitivity = "VARIABLE_SENSITIVITY_PUBLIC", value = PUBLIC },
        { name = "TOKEN", sensitivity = "VARIABLE_SENSITIVITY_WORKSPACE_SECRET", value = SECRET },
      }))
    end

    it("registers a loader that needs the integration's secret as valid", function()
      support.write_file(dir .. "/loader.py", LOADER)
      local location = client:upload_file(dir .. "/loader.py")
      assert.matches("^assay://files/%x+/loader%.py$", location)
      local id, record = project:register_dataset("news", loading(location, "load", integration(),
                                                                  { rows = 4 }))
      assert.are.equal(id, record.dataset_id)
      local d = project:get_dataset(id)
      assert.are.equal("VALIDITY_STATUS_VALID", d.validity_status, d.validity_message)
      assert.are.equal(4, d.row_count)
      assert.are.equal(math.type(d.row_count), "integer")
      local cols = {}
      for _, c in ipairs(d.schema_profile) do cols[c.column] = c end
      assert.are.equal("string", cols.city.type)
      assert.are.equal(0.25, cols.city.null_share)
      assert.are.equal(2, cols.city.distinct_count)
      local log = client:get_job(d.validation_job_id):get_log()
      assert.truthy(log:find(PUBLIC, 1, true))
      assert.falsy(log:find(SECRET, 1, true))
      assert.truthy(log:find("[REDACTED]", 1, true))
    end)

    it("leaves no trace of a printed secret under the home", function()
      support.write_file(dir .. "/loader.py", LOADER)
      local id = project:register_dataset("leaky", loading(client:upload_file(dir .. "/loader.py"),
                                                           "load", integration()))
      assert.are.equal("VALIDITY_STATUS_VALID", project:get_dataset(id).validity_status)
      client:close()
      local p = assert(io.popen("grep -rlF -- " .. support.quote(SECRET) .. " "
                                .. support.quote(env.home) .. " 2>/dev/null"))
      local hits = p:read("a")
      p:close()
      assert.are.equal("", hits)
      p = assert(io.popen("grep -rlF -- " .. support.quote(PUBLIC) .. " "
                          .. support.quote(env.home) .. " 2>/dev/null"))
      assert.are_not.equal("", p:read("a")) -- the scan sees what is not secret
      p:close()
    end)

    it("gives an invalid dataset with the error of a loader that raises", function()
      support.write_file(dir .. "/broken.py",
        "def helper():\n    raise ValueError('no data for 2026-01-04')\n\n"
        .. "def load(start_time=None, end_time=None):\n    helper()\n")
      local id = project:register_dataset("broken",
                                          loading(client:upload_file(dir .. "/broken.py"), "load"))
      local d = project:get_dataset(id)
      assert.are.equal("VALIDITY_STATUS_INVALID", d.validity_status)
      assert.truthy(d.validity_message:find("ValueError: no data for 2026-01-04", 1, true))
      assert.truthy(d.validity_message:find("helper", 1, true))
    end)

    it("raises ConfigError objects that name the bad key", function()
      local cases = {
        { {}, "connection_info" },
        { { connection_info = { data_lake = {} } }, "data_lake" },
        { { connection_info = { data_loading = { path = "assay://files/x.py" } } },
          "load_func_name" },
        { { connection_info = { data_file = { path = "assay://files/x.csv" } },
            data_params = { label = "y" } }, "label" },
      }
      for _, case in ipairs(cases) do
        local e = support.expect_error("ConfigError", project.register_dataset, project, "bad",
                                       case[1])
        assert.truthy(e.message:find(case[2], 1, true), e.message)
      end
      support.expect_error("ConfigError", project.get_dataset, project)
      assert.are.equal(0, #project:list_datasets())
    end)

    it("uploads tables of columns and reads them as typed CSV", function()
      local location = client:upload_data_frame({
        { name = "x", values = { 1.5, assay.null, 3 } },
        { name = "y", values = { "a", "b", "a" } },
        { name = "label", values = { 0, 1, 0 } },
      }, "frame")
      assert.matches("/frame%.csv$", location)
      local id = project:register_dataset_from_file("frame", location,
                                                    { data_params = { label_col = "label" } })
      local d = project:get_dataset(id)
      assert.are.equal("VALIDITY_STATUS_VALID", d.validity_status, d.validity_message)
      assert.are.equal(3, d.row_count)
      local types = {}
      for i, c in ipairs(d.schema_profile) do types[i] = c.column .. ":" .. c.type end
      assert.are.same({ "x:float64", "y:string", "label:int64" }, types)
      -- A map of columns is ordered by name.
      local map_location = client:upload_data_frame({ b = { 1 }, a = { "z" } }, "map.csv")
      local id2 = project:register_dataset_from_file("map", map_location)
      local cols = {}
      for i, c in ipairs(project:get_dataset(id2).schema_profile) do cols[i] = c.column end
      assert.are.same({ "a", "b" }, cols)
    end)

    it("uploads, lists and deletes files and directories", function()
      support.write_file(dir .. "/a.csv", "a\n1\n")
      os.execute("mkdir -p " .. support.quote(dir .. "/tree/sub"))
      support.write_file(dir .. "/tree/m.py", "x = 1\n")
      support.write_file(dir .. "/tree/sub/w.bin", "w")
      support.write_file(dir .. "/tree/.hidden", "h")
      local file = client:upload_file(dir .. "/a.csv", "data")
      assert.are.equal("assay://files/data/a.csv", file)
      local tree = client:upload_directory(dir .. "/tree", false, "models")
      assert.are.equal("assay://files/models/tree", tree)
      local urls = client:list_uploaded_file_urls()
      table.sort(urls)
      assert.are.same({ "assay://files/data/a.csv", "assay://files/models/tree/m.py",
                        "assay://files/models/tree/sub/w.bin" }, urls)
      support.expect_error("ConfigError", client.upload_file, client, dir .. "/a.csv", "")
      support.expect_error("ConfigError", client.upload_file, client, dir .. "/a.csv", "../x")
      os.execute("ln -s / " .. support.quote(dir .. "/tree/escape"))
      support.expect_error("ConfigError", client.upload_directory, client, dir .. "/tree",
                           false, "models2")
      client:delete_uploaded_file_url(tree)
      assert.are.same({ "assay://files/data/a.csv" }, client:list_uploaded_file_urls())
    end)

    it("registers models and predictions", function()
      support.write_file(dir .. "/data.csv", "x,label\n1,0\n2,1\n")
      support.write_file(dir .. "/preds.csv", "pred\n0.2\n0.9\n")
      local dataset_id = project:upload_and_register_dataset_from_file("data", dir .. "/data.csv",
        { data_params = { label_col = "label" } })
      local model_id = project:register_model("m")
      assert.is_true(project:has_model(model_id))
      assert.is_false(project:has_model(nil, "nope"))
      support.expect_error("ConflictError", project.register_model, project, "m")
      local pid, p = project:register_predictions_from_file(dataset_id, model_id,
        client:upload_file(dir .. "/preds.csv"), { pred_params = { pred_col = "pred" } })
      assert.are.equal(pid, p.prediction_id)
      assert.are.equal("VALIDITY_STATUS_VALID", p.validity_status, p.validity_message)
      assert.is_true(project:has_predictions(model_id, dataset_id))
      project:delete_predictions(model_id, dataset_id)
      assert.is_false(project:has_predictions(model_id, dataset_id))
      support.expect_error("ConflictError", client.delete_project, client, project.project_id)
      client:delete_project(project.project_id, true)
    end)

    -- The names of the files in a folder (nil when it does not exist).
    local function list_dir(path)
      if not support.is_dir(path) then
        return nil
      end
      local names = {}
      local p = assert(io.popen("ls -A " .. support.quote(path)))
      for line in p:lines() do names[#names + 1] = line end
      p:close()
      return names
    end

    it("loads once on registration, caches one file per dataset and drops it on delete",
       function()
      support.write_file(dir .. "/counting.py", "import pandas as pd\n\n"
        .. "def load(calls_file, rows, start_time=None, end_time=None):\n"
        .. "    with open(calls_file, 'a') as f:\n"
        .. "        f.write('call\\n')\n"
        .. "    return pd.DataFrame({'ts': list(range(rows)), 'label': [0] * rows})\n")
      local location = client:upload_file(dir .. "/counting.py")
      local function register(p, name)
        local calls = dir .. "/calls-" .. name .. ".txt"
        local id, d = p:register_dataset(name, loading(location, "load", nil,
                                                       { calls_file = calls, rows = 4 }))
        assert.are.equal("VALIDITY_STATUS_VALID", d.validity_status, d.validity_message)
        assert.are.equal(4, d.row_count)
        assert.are.equal("call\n", support.read_file(calls)) -- exactly one call
        local files = list_dir(env.home .. "/cache/" .. id)
        assert(files, "no cache folder for " .. id)
        assert.are.equal(1, #files)
        assert.matches("%.acol$", files[1])
        return id
      end
      local first = register(project, "first")
      project:delete_dataset(first)
      assert.is_nil(list_dir(env.home .. "/cache/" .. first))

      local second = register(project, "second")
      local third = register(project, "third")
      local other = client:create_project(support.unique("other"), "kept",
                                          "MODEL_TASK_REGRESSION")
      local kept = register(other, "kept")
      client:delete_project(project.project_id, true)
      assert.is_nil(list_dir(env.home .. "/cache/" .. second))
      assert.is_nil(list_dir(env.home .. "/cache/" .. third))
      assert.are.equal(1, #list_dir(env.home .. "/cache/" .. kept))
    end)

    it("leaves a dataset registered with skip_validation pending", function()
      support.write_file(dir .. "/d.csv", "a,label\n1,0\n")
      local id, r = project:upload_and_register_dataset_from_file("skipped", dir .. "/d.csv",
                                                                  { skip_validation = true })
      assert.are.equal(id, r.dataset_id)
      local d = project:get_dataset(id)
      assert.are.equal("VALIDITY_STATUS_PENDING", d.validity_status)
      assert.are.equal("validation skipped", d.validity_message)
      assert.is_nil(d.row_count)
      assert.is_nil(d.schema_profile)
      assert.is_nil(d.validation_job_id)
    end)

    it("shows the validation job", function()
      support.write_file(dir .. "/d.csv", "a,label\n1,0\n")
      local id = project:upload_and_register_dataset_from_file("d", dir .. "/d.csv")
      local job = client:get_job(project:get_dataset(id).validation_job_id)
      local status = job:get_status{ verbose = false, wait_until_finish = true,
                                     poll_rate_sec = 0.1 }
      assert.are.equal("JOB_STATUS_SUCCEEDED", status.status)
      assert.are.equal("JOB_TYPE_DATASET_VALIDATION", status.type)
      assert.is_nil(job:error_msg())
      support.expect_error("NotFoundError", client.get_job, client,
                           "00000000-0000-4000-8000-000000000000")
    end)
  end)
end
