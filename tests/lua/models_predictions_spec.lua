-- tests/lua/models_predictions_spec.lua — models, prediction sets and the
-- file operations they rely on, from Lua, against the embedded platform and
-- a real assayd: the three ways to register a model (and a folder model's
-- location and files), get by id and by name, list order, delete, bad
-- model_info / pred_info as ConfigError naming the key; predictions through
-- a custom loader, get / list with filters, INVALID for a missing pred_col
-- and for a row count that differs from the dataset's, delete; uploads of
-- hidden files, a link out of the directory, a table of columns with
-- assay.null, and the uploaded files' records (size, BLAKE2b-256).
-- Every test makes its own platform.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")
local assay = require "assay"

-- BLAKE2b-256 of a file, hex, computed by python3's hashlib (independent of assay).
local function blake2b(path)
  local p = assert(io.popen("python3 -c 'import hashlib, sys; print(hashlib.blake2b(open("
                            .. "sys.argv[1], \"rb\").read(), digest_size=32).hexdigest())' "
                            .. support.quote(path)))
  local out = p:read("a"):match("^(%x+)")
  p:close()
  assert(out and #out == 64, "could not hash " .. path)
  return out
end

local function size_of(path)
  local f = assert(io.open(path, "rb"))
  local n = f:seek("end")
  f:close()
  return n
end

local function by_location(records)
  local t = {}
  for _, r in ipairs(records) do t[r.location] = r end
  return t
end

local function assert_contains(haystack, needle)
  assert(type(haystack) == "string" and haystack:find(needle, 1, true),
         string.format("expected %q in %q", needle, tostring(haystack)))
end

for _, mode in ipairs(support.modes) do
  describe("models and predictions (" .. mode .. ")", function()
    local env, client, project, dir

    before_each(function()
      env = support.platform(mode)
      client = env.client()
      project = client:create_project(support.unique("models"), "models",
                                      "MODEL_TASK_BINARY_CLASSIFICATION")
      dir = support.tmpdir()
    end)

    after_each(function()
      env.stop()
      support.rmtree(dir)
    end)

    it("registers models three ways, gets, lists and deletes them", function()
      support.write_file(dir .. "/model.py", "def predict_df(df):\n    return df['x']\n")
      local file_location = client:upload_file(dir .. "/model.py")

      local id1, r1 = project:register_model("by-config",
                                             { model_path = { path = file_location } })
      assert.are.equal(id1, r1.model_id)
      assert.are.same({ model_path = { path = file_location } }, r1.model_info)

      local id2 = project:register_model_from_path("by-path", file_location)
      assert.are.same({ model_path = { path = file_location } },
                      project:get_model(id2).model_info)

      local id3, r3 = project:upload_and_register_model_from_path("uploaded-file",
                                                                 dir .. "/model.py")
      assert.are.equal(file_location, r3.model_info.model_path.path) -- same content, same place

      -- a folder model: its location is the directory's, and its files are uploaded
      local tree = dir .. "/tree"
      os.execute("mkdir -p " .. support.quote(tree .. "/sub"))
      support.write_file(tree .. "/model.py", "def predict_df(df):\n    return df['x'] * 2\n")
      support.write_file(tree .. "/sub/weights.bin", "\0\1\2\3\4")
      support.write_file(tree .. "/.config", "hidden")
      local id4, r4 = project:upload_and_register_model_from_path("folder", tree,
        { upload_model_dir = true, upload_path = "models/v1" })
      assert.are.equal("assay://files/models/v1/tree", r4.model_info.model_path.path)
      local files = by_location(client:list_uploaded_files())
      assert.truthy(files["assay://files/models/v1/tree/model.py"])
      assert.truthy(files["assay://files/models/v1/tree/sub/weights.bin"])
      assert.is_nil(files["assay://files/models/v1/tree/.config"])
      assert.are.equal(blake2b(tree .. "/sub/weights.bin"),
                       files["assay://files/models/v1/tree/sub/weights.bin"].blake2b)
      local _, r5 = project:upload_and_register_model_from_path("folder-hidden", tree,
        { upload_model_dir = true, upload_hidden = true, upload_path = "models/v2" })
      assert.are.equal("assay://files/models/v2/tree", r5.model_info.model_path.path)
      assert.truthy(by_location(client:list_uploaded_files())
                    ["assay://files/models/v2/tree/.config"])

      -- get by id and by name
      assert.are.equal("folder", project:get_model(id4).name)
      assert.are.equal(id3, project:get_model(nil, "uploaded-file").model_id)
      support.expect_error("NotFoundError", project.get_model, project, nil, "nope")
      support.expect_error("ConfigError", project.get_model, project)

      -- listed oldest first
      local names = {}
      for i, m in ipairs(project:list_models()) do names[i] = m.name end
      assert.are.same({ "by-config", "by-path", "uploaded-file", "folder", "folder-hidden" },
                      names)

      project:delete_model(id2)
      assert.is_false(project:has_model(id2))
      assert.is_false(project:has_model(nil, "by-path"))
      assert.is_true(project:has_model(id1))
      assert.are.equal(4, #project:list_models())
    end)

    it("raises ConfigError naming the key of a bad model_info", function()
      local cases = {
        { { model_path = {} }, "model_info.model_path: required key 'path' is missing" },
        { { model_path = { path = 3 } }, "model_info.model_path.path" },
        { { model_path = { path = "assay://files/x", colour = 1 } },
          "model_info.model_path: unknown key 'colour'" },
        { { model_path = { path = "assay://files/a" }, hugging_face = { model_uri = "x" } },
          "exactly one" },
      }
      for _, case in ipairs(cases) do
        local e = support.expect_error("ConfigError", project.register_model, project, "bad",
                                       case[1])
        assert_contains(e.message, case[2])
      end
      local e = support.expect_error("NotFoundError", project.register_model, project, "bad",
                                     { model_path = { path = "assay://files/never/m.py" } })
      assert_contains(e.message, "model_info.model_path.path")
      assert.are.equal(0, #project:list_models())
    end)

    it("registers predictions through a loader, filters, validates and deletes them", function()
      support.write_file(dir .. "/data.csv", "x,label\n1,0\n2,1\n3,0\n")
      support.write_file(dir .. "/preds.py", "import pandas as pd\n\n"
        .. "def preds(n=3):\n    return pd.DataFrame({'pred': [0.25] * n, 'rank': range(n)})\n")
      local loader = client:upload_file(dir .. "/preds.py")
      local dataset_id = project:upload_and_register_dataset_from_file("data",
        dir .. "/data.csv", { data_params = { label_col = "label" } })
      local other_id = project:upload_and_register_dataset_from_file("other",
        dir .. "/data.csv", { data_params = { label_col = "label" } })
      local m1 = project:register_model("m1")
      local m2 = project:register_model("m2")
      local function pred_info(col, n)
        return { connection_info = { data_loading = { path = loader, load_func_name = "preds",
                                                      loader_kwargs = { n = n or 3 } } },
                 pred_params = { pred_col = col } }
      end

      local pid, p = project:register_predictions(dataset_id, m1, pred_info("pred"))
      assert.are.equal(pid, p.prediction_id)
      assert.are.equal("VALIDITY_STATUS_VALID", p.validity_status, p.validity_message)
      assert.are.equal(3, p.row_count)
      project:register_predictions(other_id, m1, pred_info("pred"))
      project:register_predictions(dataset_id, m2, pred_info("pred"))

      local got = project:get_predictions(m1, dataset_id)
      assert.are.equal(pid, got.prediction_id)
      assert.are.equal(dataset_id, got.dataset_id)
      assert.are.equal(m1, got.model_id)
      assert.are.equal(3, #project:list_predictions())
      assert.are.equal(2, #project:list_predictions(m1))
      assert.are.equal(2, #project:list_predictions(nil, dataset_id))
      local one = project:list_predictions(m2, dataset_id)
      assert.are.equal(1, #one)
      assert.are.equal(m2, one[1].model_id)
      assert.are.equal(0, #project:list_predictions(nil, "no-such-dataset"))
      support.expect_error("ConflictError", project.register_predictions, project, dataset_id,
                           m1, pred_info("pred"))

      -- a prediction column that is not there: the columns are listed
      project:delete_predictions(m2, dataset_id)
      assert.is_false(project:has_predictions(m2, dataset_id))
      local _, bad = project:register_predictions(dataset_id, m2, pred_info("score"))
      assert.are.equal("VALIDITY_STATUS_INVALID", bad.validity_status)
      assert.are.equal("pred_params.pred_col 'score' is not a column of the data; the data "
                       .. "has 2 columns: pred, rank", bad.validity_message)

      -- a row count that differs from the dataset's
      project:delete_predictions(m2, dataset_id)
      local _, short = project:register_predictions(dataset_id, m2, pred_info("pred", 2))
      assert.are.equal("VALIDITY_STATUS_INVALID", short.validity_status)
      assert.are.equal("the predictions have 2 rows but dataset 'data' (" .. dataset_id
                       .. ") has 3; expected one prediction per row of the dataset",
                       short.validity_message)

      project:delete_predictions(m1, other_id)
      assert.is_false(project:has_predictions(m1, other_id))
      assert.is_true(project:has_predictions(m1, dataset_id))
      support.expect_error("NotFoundError", project.get_predictions, project, m1, other_id)
    end)

    it("raises ConfigError naming the key of a bad pred_info", function()
      support.write_file(dir .. "/data.csv", "x,label\n1,0\n")
      local location = client:upload_file(dir .. "/data.csv")
      local dataset_id = project:register_dataset_from_file("data", location)
      local model_id = project:register_model("m")
      local cases = {
        { {}, "pred_info: required key 'connection_info' is missing" },
        { { connection_info = { data_file = { path = location } },
            pred_params = { pred_column = "x" } },
          "pred_info.pred_params: unknown key 'pred_column'" },
        { { connection_info = { data_file = { path = location } },
            pred_params = { pred_col = 5 } }, "pred_info.pred_params.pred_col" },
        { { connection_info = { data_loading = { path = location } },
            pred_params = { pred_col = "x" } },
          "pred_info.connection_info.data_loading: required key 'load_func_name'" },
        { { connection_info = { data_file = { path = location } },
            pred_params = { pred_col = "x" }, extra = 1 }, "pred_info: unknown key 'extra'" },
      }
      for _, case in ipairs(cases) do
        local e = support.expect_error("ConfigError", project.register_predictions, project,
                                       dataset_id, model_id, case[1])
        assert_contains(e.message, case[2])
      end
      assert.are.equal(0, #project:list_predictions())
    end)

    it("uploads hidden files on request and refuses a link out of the directory", function()
      local tree = dir .. "/tree"
      os.execute("mkdir -p " .. support.quote(tree))
      support.write_file(tree .. "/a.txt", "a")
      support.write_file(tree .. "/.env", "hidden")
      local plain = client:upload_directory(tree, false, "plain")
      local hidden = client:upload_directory(tree, true, "hidden")
      local urls = {}
      for _, u in ipairs(client:list_uploaded_file_urls()) do urls[u] = true end
      assert.is_true(urls[plain .. "/a.txt"])
      assert.is_nil(urls[plain .. "/.env"])
      assert.is_true(urls[hidden .. "/a.txt"])
      assert.is_true(urls[hidden .. "/.env"])

      os.execute("ln -s " .. support.quote(dir) .. " " .. support.quote(tree .. "/escape"))
      local before = #client:list_uploaded_file_urls()
      local e = support.expect_error("ConfigError", client.upload_directory, client, tree, true,
                                     "escaped")
      assert.matches("outside", e.message)
      assert.are.equal(before, #client:list_uploaded_file_urls()) -- nothing uploaded
    end)

    it("profiles the nulls of an uploaded table of columns", function()
      local location = client:upload_data_frame({
        { name = "x", values = { 1.5, assay.null, 3, assay.null } },
        { name = "city", values = { "Paris", assay.null, "Lyon", "Paris" } },
        { name = "label", values = { 0, 1, 0, 1 } },
      }, "nulls.csv")
      local id = project:register_dataset_from_file("nulls", location,
                                                    { data_params = { label_col = "label" } })
      local d = project:get_dataset(id)
      assert.are.equal("VALIDITY_STATUS_VALID", d.validity_status, d.validity_message)
      assert.are.equal(4, d.row_count)
      local cols = {}
      for _, c in ipairs(d.schema_profile) do cols[c.column] = c end
      assert.are.equal("float64", cols.x.type)
      assert.are.equal(0.5, cols.x.null_share)
      assert.are.equal(2, cols.x.distinct_count)
      assert.are.equal("string", cols.city.type)
      assert.are.equal(0.25, cols.city.null_share)
      assert.are.equal(2, cols.city.distinct_count)
      assert.are.equal(0, cols.label.null_share)
    end)

    it("records each uploaded file's size and BLAKE2b-256", function()
      support.write_file(dir .. "/a.csv", "a,b\n1,2\n")
      support.write_file(dir .. "/b.bin", string.rep("\0\255", 5000))
      local a = client:upload_file(dir .. "/a.csv")
      local b, record = client:upload_file(dir .. "/b.bin", "bins")
      assert.are.equal("assay://files/bins/b.bin", b)
      assert.are.equal(a, "assay://files/" .. blake2b(dir .. "/a.csv"):sub(1, 16) .. "/a.csv")
      assert.are.equal(10000, record.size)
      local files = by_location(client:list_uploaded_files())
      for location, path in pairs({ [a] = dir .. "/a.csv", [b] = dir .. "/b.bin" }) do
        assert.are.equal(size_of(path), files[location].size)
        assert.are.equal(blake2b(path), files[location].blake2b)
        assert.truthy(files[location].uploaded_by)
        assert.truthy(files[location].uploaded_at)
      end
    end)
  end)
end
