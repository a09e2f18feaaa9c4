-- tests/lua/stress_spec.lua — stress tests from Lua, against the embedded
-- platform and a real assayd: start_stress_test -> Job -> TestRun /
-- TestBatch, results as arrays of records (integers stay integers),
-- values recomputed here (accuracy, label imbalance) and checked against
-- the run document read back, bad configs as error objects naming the
-- problem, job lists with filters, cancel of a pending, a running and a
-- finished job, a project's stress test categories, the HTML report, and a
-- regression run whose MAE is recomputed here.
-- One run per platform is shared by the read-only tests of that platform.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")
local assay = require "assay"

local PERF = "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE"
local DRIFT = "TEST_CATEGORY_TYPE_DRIFT"
local CLEAN = "TEST_CATEGORY_TYPE_DATA_CLEANLINESS"
local CATEGORIES = { PERF, DRIFT, CLEAN }

-- Deterministic pseudo-random numbers in [0, 1) (a 48-bit LCG).
local function rng(seed)
  local state = seed
  return function()
    state = (state * 25214903917 + 11) % (1 << 48)
    return (state >> 16) / (1 << 32)
  end
end

local function round6(x)
  return tonumber(string.format("%.6f", x))
end

-- Columns of a binary frame: `stable` keeps its distribution, `shifted`
-- moves by `shift` in the evaluation data; prob is the positive-class score.
local function binary_columns(n, shift, seed)
  local r = rng(seed)
  local cols = { stable = {}, shifted = {}, city = {}, label = {}, prob = {} }
  local cities = { "paris", "lyon", "nice" }
  for i = 1, n do
    local stable = r() * 4 - 2
    cols.stable[i] = round6(stable)
    cols.shifted[i] = round6(r() + shift)
    cols.city[i] = cities[1 + math.floor(r() * 3)]
    cols.prob[i] = round6(1 / (1 + math.exp(-(2 * stable + (r() - 0.5) * 2))))
    cols.label[i] = (r() < 1 / (1 + math.exp(-2 * stable))) and 1 or 0
  end
  return cols
end

local function as_frame(cols)
  local frame = {}
  for i, name in ipairs({ "stable", "shifted", "city", "label", "prob" }) do
    frame[i] = { name = name, values = cols[name] }
  end
  return frame
end

local function accuracy(cols)
  local right = 0
  for i, p in ipairs(cols.prob) do
    if ((p >= 0.5) and 1 or 0) == cols.label[i] then
      right = right + 1
    end
  end
  return right / #cols.prob
end

-- Capture what `fn` prints.
local function capture(fn)
  local lines, saved = {}, _G.print
  _G.print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do
      parts[i] = tostring((select(i, ...)))
    end
    lines[#lines + 1] = table.concat(parts, "\t")
  end
  local ok, err = pcall(fn)
  _G.print = saved
  if not ok then
    error(err, 0)
  end
  return table.concat(lines, "\n")
end

local function find_case(rows, test_type, feature)
  local found
  for _, row in ipairs(rows) do
    if row.test_batch_type == test_type and (feature == nil or row.features[1] == feature) then
      assert.is_nil(found, "two cases for " .. test_type)
      found = row
    end
  end
  assert.is_not_nil(found, "no case for " .. test_type)
  return found
end

-- A binary project with uploaded ref/eval data (pred_col "prob").
local function binary_setup(client, name)
  local s = { ref = binary_columns(300, 0, 7), eval = binary_columns(300, 0.6, 8) }
  s.project = client:create_project(support.unique(name), "stress from lua",
                                    "MODEL_TASK_BINARY_CLASSIFICATION")
  local params = { data_params = { label_col = "label", pred_col = "prob" } }
  for _, which in ipairs({ "ref", "eval" }) do
    local location = client:upload_data_frame(as_frame(s[which]), which .. ".csv")
    local id = s.project:register_dataset_from_file(which, location, params)
    local d = s.project:get_dataset(id)
    assert.are.equal("VALIDITY_STATUS_VALID", d.validity_status, d.validity_message)
    s[which .. "_id"] = id
  end
  s.model_id = s.project:register_model("scores")
  function s.config(run_name, extra)
    local c = { run_name = run_name, model_id = s.model_id,
                data_info = { ref_dataset_id = s.ref_id, eval_dataset_id = s.eval_id } }
    for k, v in pairs(extra or {}) do
      c[k] = v
    end
    return c
  end
  return s
end

local function wait(job)
  return job:get_status{ verbose = false, wait_until_finish = true, poll_rate_sec = 0.2 }
end

for _, mode in ipairs(support.modes) do
  describe("stress tests (" .. mode .. ")", function()
    local env, client, s, job, run

    setup(function()
      env = support.platform(mode)
      client = env.client()
      s = binary_setup(client, "stress")
      job = client:start_stress_test(s.config("lua run", {
        categories = CATEGORIES,
        test_suite_config = { individual_tests_config = { numeric_feature_drift = {
          statistic = "ks" } } },
      }), s.project.project_id)
      local status = wait(job)
      assert.are.equal("JOB_STATUS_SUCCEEDED", status.status, job:error_msg())
      run = job:get_test_run()
    end)

    teardown(function()
      env.stop()
    end)

    it("gives the job's test run and progress", function()
      assert.are.equal("JOB_TYPE_STRESS_TEST", job.job_type)
      assert.are.equal(run.test_run_id, job:get_test_run_id())
      assert.are.equal("lua run", run.name)
      assert.are.equal(string.format("TestRun(test_run_id=%q, name=%q)", run.test_run_id,
                                     "lua run"), tostring(run))
      local n = #run:get_test_batches()
      assert.is_true(n > 0)
      local out = capture(function()
        job:get_status{ wait_until_finish = true, poll_rate_sec = 0.1 }
      end)
      assert.truthy(out:find("JOB_STATUS_SUCCEEDED", 1, true), out)
      assert.truthy(out:find(string.format("%d / %d tests completed", n, n), 1, true), out)
      assert.are.equal("", capture(function() job:get_status{ verbose = false } end))
      local info = client:get_job(job.job_id).info
      assert.are.same({ done = n, total = n }, info.progress)
      assert.are.equal("integer", math.type(info.progress.done))
      assert.are.equal(run.test_run_id, client:get_test_run(run.test_run_id).test_run_id)
    end)

    it("gives arrays of records whose counts add up", function()
      local result = run:get_result_df()
      assert.are.equal(1, #result)
      local row = result[1]
      assert.are.equal(run.test_run_id, row.test_run_id)
      assert.are.equal(s.model_id, row.model_id)
      assert.are.equal(s.ref_id, row.ref_dataset_id)
      assert.are.equal(s.eval_id, row.eval_dataset_id)
      assert.are.equal("MODEL_TASK_BINARY_CLASSIFICATION", row.model_task)
      local cases = run:get_test_cases_df()
      assert.are.equal(#cases, row["summary_counts.total"])
      assert.are.equal("integer", math.type(row["summary_counts.total"]))
      assert.are.equal("integer", math.type(row.duration_in_millis))
      local counts = {}
      for _, c in ipairs(cases) do
        counts[c.status] = (counts[c.status] or 0) + 1
        assert.are.equal(run.test_run_id, c.test_run_id)
        assert.are.equal("table", type(c.features))
        assert.is_nil(c.reference) -- no metrics without show_test_case_metrics
      end
      assert.are.equal(counts.TEST_CASE_STATUS_PASS or 0, row["summary_counts.pass"])
      assert.are.equal(counts.TEST_CASE_STATUS_FAIL or 0, row["summary_counts.fail"])
      assert.are.equal(counts.TEST_CASE_STATUS_SKIP or 0, row["summary_counts.skip"])
      local categories = {}
      for _, c in ipairs(run:get_category_results_df()) do
        categories[#categories + 1] = c.category
        local n = 0
        for _, case in ipairs(cases) do
          if case.category == c.category then
            n = n + 1
          end
        end
        assert.are.equal(n, c["summary_counts.total"])
      end
      table.sort(categories)
      local expected = { PERF, DRIFT, CLEAN }
      table.sort(expected)
      assert.are.same(expected, categories)
    end)

    it("computes what Lua computes, and what the document says", function()
      local cases = run:get_test_cases_df(true)
      local acc = find_case(cases, "accuracy")
      assert.is_true(math.abs(acc.reference - accuracy(s.ref)) < 1e-12)
      assert.is_true(math.abs(acc.evaluation - accuracy(s.eval)) < 1e-12)
      assert.is_true(math.abs(acc.degradation - (acc.reference - acc.evaluation)) < 1e-12)
      local shifted = find_case(cases, "numeric_feature_drift", "shifted")
      assert.are.equal("SEVERITY_ALERT", shifted.severity)
      assert.is_true(shifted.ks_statistic > 0.5)
      -- Every case row holds the document's metrics, in the document's order.
      local doc = run:get_document()
      local i = 0
      for _, batch in ipairs(doc.test_batches) do
        local summary = run:get_test_batch(batch.test_type):summary(true)
        assert.are.equal(batch.severity, summary.severity)
        assert.are.equal(#batch.test_cases, summary["summary_counts.total"])
        for name, value in pairs(batch.metrics or {}) do
          assert.are.equal(value, summary[name])
        end
        for _, case in ipairs(batch.test_cases) do
          i = i + 1
          local row = cases[i]
          assert.are.equal(batch.test_type, row.test_batch_type)
          assert.are.equal(case.status, row.status)
          assert.are.equal(case.importance_score, row.importance_score)
          assert.are.same(case.features, row.features)
          for name, value in pairs(case.metrics) do
            assert.are.equal(value, row[name], name)
          end
        end
      end
      assert.are.equal(#cases, i)
    end)

    it("gives test batches with summaries and their cases", function()
      local batches = run:get_test_batches()
      assert.is_true(#batches > 0)
      local b = run:get_test_batch("accuracy")
      assert.are.equal("accuracy", b.test_type)
      assert.are.equal(run.test_run_id, b.test_run_id)
      assert.are.equal(string.format("TestBatch(test_run_id=%q, test_type=%q)", run.test_run_id,
                                     "accuracy"), tostring(b))
      local summary = b:summary()
      for _, key in ipairs({ "test_run_id", "test_type", "test_name", "category", "description",
                             "duration_in_millis", "severity", "failing_features",
                             "summary_counts.total", "summary_counts.pass",
                             "summary_counts.warning", "summary_counts.fail",
                             "summary_counts.skip" }) do
        assert.is_not_nil(summary[key], key)
      end
      assert.are.equal(1, summary["summary_counts.total"])
      assert.are.equal("integer", math.type(summary["summary_counts.total"]))
      assert.is_nil(summary.test_cases)
      local rows = b:get_test_cases_df(true)
      assert.are.equal(1, #rows)
      assert.are.equal(find_case(run:get_test_cases_df(true), "accuracy").reference,
                       rows[1].reference)
      local drift = run:get_test_batch("numeric_feature_drift")
      local names = {}
      for _, f in ipairs(drift:summary().failing_features) do
        names[f] = true
      end
      assert.is_true(names.shifted)
      local e = support.expect_error("NotFoundError", run.get_test_batch, run, "no_such_test")
      assert.truthy(e.message:find("no_such_test", 1, true), e.message)
      assert.truthy(e.message:find("accuracy", 1, true), e.message)
    end)

    it("writes the report and gives a link", function()
      local dir = support.tmpdir()
      local path = dir .. "/report.html"
      assert.are.equal(path, run:write_report(path))
      local html = support.read_file(path)
      assert.are.equal(run:get_report_html(), html)
      assert.truthy(html:lower():find("<html", 1, true))
      support.rmtree(dir)
      if mode == "embedded" then
        assert.are.equal("assay://test-runs/" .. run.test_run_id, run:get_link())
      else
        assert.are.equal(env.server.url .. "/v1/test-runs/" .. run.test_run_id, run:get_link())
      end
      support.expect_error("ConfigError", run.write_report, run, "/nonexistent-dir/r.html")
    end)

    it("lists jobs with filters and runs", function()
      local function ids(jobs)
        local t = {}
        for _, j in ipairs(jobs) do
          t[#t + 1] = j.job_id
          assert.are.equal("JOB_TYPE_STRESS_TEST", j.job_type)
        end
        return t
      end
      assert.are.same({ job.job_id }, ids(s.project:list_stress_testing_jobs()))
      assert.are.same({ job.job_id }, ids(s.project:list_stress_testing_jobs({
        "JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED" })))
      assert.are.same({}, ids(s.project:list_stress_testing_jobs({ "JOB_STATUS_RUNNING" })))
      local e = support.expect_error("ConfigError", s.project.list_stress_testing_jobs, s.project,
                                     { "JOB_STATUS_NOPE" })
      assert.truthy(e.message:find("JOB_STATUS_NOPE", 1, true), e.message)
      local runs = s.project:list_test_runs()
      assert.are.equal(1, #runs)
      assert.are.equal(run.test_run_id, runs[1].test_run_id)
      assert.are.equal("lua run", runs[1].name)
    end)

    it("raises error objects that name the problem", function()
      local function without_run_name()
        local c = s.config("x")
        c.run_name = nil
        return c
      end
      local cases = {
        { without_run_name(), "ConfigError", { "run_name" } },
        { s.config("x", { categories = { "TEST_CATEGORY_TYPE_NOPE" } }), "ConfigError",
          { "TEST_CATEGORY_TYPE_NOPE", DRIFT } },
        { s.config("x", { test_suite_config = { individual_tests_config = {
          no_such_test = { run = true } } } }), "ConfigError",
          { "no_such_test", "numeric_feature_drift" } },
        { s.config("x", { test_suite_config = { global_test_sensitivity = "VERY" } }),
          "ConfigError", { "global_test_sensitivity", "VERY" } },
        { s.config("x", { model_id = "no-such-model" }), "NotFoundError", { "no-such-model" } },
        { s.config("x", { data_info = { ref_dataset_id = s.ref_id,
                                        eval_dataset_id = "no-such-data" } }),
          "NotFoundError", { "no-such-data" } },
      }
      for _, case in ipairs(cases) do
        local e = support.expect_error(case[2], client.start_stress_test, client, case[1],
                                       s.project.project_id)
        for _, word in ipairs(case[3]) do
          assert.truthy(e.message:find(word, 1, true), word .. " not in: " .. e.message)
        end
      end
      local e = support.expect_error("ConfigError", client.start_stress_test, client,
                                     s.config("x"), s.project.project_id, "agent-1")
      assert.truthy(e.message:find("agent", 1, true))
      e = support.expect_error("NotFoundError", client.get_test_run, client, "no-such-run")
      assert.truthy(e.message:find("no-such-run", 1, true))
      e = support.expect_error("ConfigError", job.cancel, job)
      assert.truthy(e.message:find("already finished", 1, true), e.message)
      assert.truthy(e.message:find("JOB_STATUS_SUCCEEDED", 1, true), e.message)
      assert.are.equal(1, #s.project:list_stress_testing_jobs())
      local validation = client:get_job(s.project:get_dataset(s.ref_id).validation_job_id)
      e = support.expect_error("ConfigError", validation.get_test_run, validation)
      assert.truthy(e.message:find("not a stress test", 1, true), e.message)
    end)

    it("keeps a project's stress test categories", function()
      local p = client:create_project(support.unique("cats"), "c",
                                      "MODEL_TASK_BINARY_CLASSIFICATION")
      assert.is_true(#p.info.stress_test_categories > 0)
      p:update_stress_test_categories({ DRIFT })
      assert.are.same({ DRIFT }, p.info.stress_test_categories)
      assert.are.same({ DRIFT }, client:get_project(p.project_id).info.stress_test_categories)
      local e = support.expect_error("ConfigError", p.update_stress_test_categories, p,
                                     { "TEST_CATEGORY_TYPE_NOPE" })
      assert.truthy(e.message:find("TEST_CATEGORY_TYPE_NOPE", 1, true))
      support.expect_error("ConfigError", p.update_stress_test_categories, p, {})
      -- A config without categories runs the project's.
      s.project:update_stress_test_categories({ CLEAN })
      local j = client:start_stress_test(s.config("project categories"), s.project.project_id)
      assert.are.equal("JOB_STATUS_SUCCEEDED", wait(j).status, j:error_msg())
      for _, c in ipairs(j:get_test_run():get_test_cases_df()) do
        assert.are.equal(CLEAN, c.category)
      end
    end)
  end)

  describe("running and regression stress tests (" .. mode .. ")", function()
    it("cancels a running job: CANCELLED within seconds, no test run", function()
      local env = support.platform(mode)
      local client = env.client()
      local ok, err = pcall(function()
        local project = client:create_project(support.unique("running"), "cancel from lua",
                                              "MODEL_TASK_BINARY_CLASSIFICATION")
        local dir = support.tmpdir()
        -- the stress job's loading sleeps: the job is RUNNING when cancelled
        support.write_file(dir .. "/slow.py", "import time\nimport pandas as pd\n\n"
          .. "def load():\n    time.sleep(60)\n"
          .. "    return pd.DataFrame({'x': [1.0, 2.0], 'label': [0, 1], 'prob': [0.2, 0.8]})\n")
        local location = client:upload_file(dir .. "/slow.py")
        local ids = {}
        for _, which in ipairs({ "ref", "eval" }) do
          ids[which] = project:register_dataset(which, {
            connection_info = { data_loading = { path = location, load_func_name = "load" } },
            data_params = { label_col = "label", pred_col = "prob" } },
            { skip_validation = true })
        end
        local job = client:start_stress_test({ run_name = "running", categories = { DRIFT },
          model_id = project:register_model("scores"),
          data_info = { ref_dataset_id = ids.ref, eval_dataset_id = ids.eval } },
          project.project_id)
        local status
        for _ = 1, 300 do
          status = job:get_status{ verbose = false }.status
          if status ~= "JOB_STATUS_PENDING" then break end
          support.sleep(0.1)
        end
        assert.are.equal("JOB_STATUS_RUNNING", status)
        local t0 = support.now()
        job:cancel()
        local final = wait(job)
        assert.are.equal("JOB_STATUS_CANCELLED", final.status)
        assert.truthy(tostring(job:error_msg()):find("cancelled", 1, true), job:error_msg())
        assert.is_true(support.now() - t0 < 15)
        local e = support.expect_error("ConfigError", job.get_test_run, job)
        assert.truthy(e.message:find("JOB_STATUS_CANCELLED", 1, true), e.message)
        e = support.expect_error("ConfigError", job.cancel, job)
        assert.truthy(e.message:find("already finished", 1, true), e.message)
        assert.are.equal(0, #project:list_test_runs())
        support.rmtree(dir)
      end)
      client:close()
      env.stop()
      if not ok then
        error(err, 0)
      end
    end)

    it("runs a regression whose MAE is the one Lua computes", function()
      local env = support.platform(mode)
      local client = env.client()
      local ok, err = pcall(function()
        local project = client:create_project(support.unique("regression"), "mae from lua",
                                              "MODEL_TASK_REGRESSION")
        local r = rng(99)
        local sides, ids = {}, {}
        for k, which in ipairs({ "ref", "eval" }) do
          local x, label, pred = {}, {}, {}
          for i = 1, 200 do
            x[i] = round6(r() * 10)
            label[i] = round6(2 * x[i] + r())
            pred[i] = round6(2 * x[i] + 0.5 + (r() - 0.5) * k)
          end
          sides[which] = { label = label, pred = pred }
          local location = client:upload_data_frame({ { name = "x", values = x },
            { name = "label", values = label }, { name = "pred", values = pred } },
            which .. ".csv")
          ids[which] = project:register_dataset_from_file(which, location,
            { data_params = { label_col = "label", pred_col = "pred" } })
        end
        local job = client:start_stress_test({ run_name = "regression", categories = { PERF },
          model_id = project:register_model("values"),
          data_info = { ref_dataset_id = ids.ref, eval_dataset_id = ids.eval } },
          project.project_id)
        assert.are.equal("JOB_STATUS_SUCCEEDED", wait(job).status, job:error_msg())
        local function mae(side)
          local s = 0
          for i, y in ipairs(side.label) do
            s = s + math.abs(y - side.pred[i])
          end
          return s / #side.label
        end
        local rows = job:get_test_run():get_test_cases_df(true)
        local row = find_case(rows, "mae")
        local want_ref, want_eval = mae(sides.ref), mae(sides.eval)
        assert.is_true(math.abs(row.reference - want_ref) < 1e-9, tostring(row.reference))
        assert.is_true(math.abs(row.evaluation - want_eval) < 1e-9, tostring(row.evaluation))
        assert.is_true(math.abs(row.degradation - (want_eval - want_ref) / want_ref) < 1e-9)
        assert.is_true(want_eval > want_ref)
      end)
      client:close()
      env.stop()
      if not ok then
        error(err, 0)
      end
    end)
  end)

  describe("pending stress tests (" .. mode .. ")", function()
    if mode == "embedded" then
      it("are followed by get_status until another process has run them", function()
        local env = support.platform(mode)
        local client = env.client()
        local s = binary_setup(client, "waited")
        client:close()
        local idle = env.client({ workers = 0 })
        local job = idle:start_stress_test(s.config("waited", { categories = { DRIFT } }),
                                           s.project.project_id)
        -- A child process opens the home with workers half a second later.
        local dir = support.tmpdir()
        support.write_file(dir .. "/worker.lua", string.format([[
          local assay = require "assay"
          os.execute("sleep 0.5")
          local c = assay.Client{ home = %q }
          local st = c:get_job(%q):get_status{ verbose = false, wait_until_finish = true,
                                               poll_rate_sec = 0.1 }
          io.open(%q, "w"):write(st.status)
        ]], env.home, job.job_id, dir .. "/status"))
        os.execute(string.format("LUA_PATH=%s LUA_CPATH=%s timeout 60 %s %s >/dev/null 2>&1 &",
          support.quote(package.path), support.quote(package.cpath), support.lua_exe,
          support.quote(dir .. "/worker.lua")))
        local status
        local out = capture(function()
          status = job:get_status{ wait_until_finish = true, poll_rate_sec = 0.2 }
        end)
        for _ = 1, 200 do -- the child writes its view, then exits
          if support.exists(dir .. "/status") and support.read_file(dir .. "/status") ~= "" then
            break
          end
          support.sleep(0.05)
        end
        assert.are.equal("JOB_STATUS_SUCCEEDED", status.status)
        assert.are.equal("JOB_STATUS_SUCCEEDED", support.read_file(dir .. "/status"))
        local n = #job:get_test_run():get_test_batches()
        local line = string.format("%d / %d tests completed", n, n)
        local _, count = out:gsub(line, "")
        assert.are.equal(1, count, out)
        assert.falsy(out:find("0 / 0", 1, true), out)
        support.rmtree(dir)
        env.stop()
      end)
    end

    it("are cancelled at once and have no test run", function()
      local env = support.platform(mode)
      local client = env.client()
      local s = binary_setup(client, "pending")
      local project_id = s.project.project_id
      client:close()
      local idle, server
      if mode == "embedded" then
        idle = env.client({ workers = 0 })
      else
        assert.are.equal("0", env.server:stop())
        -- start_assayd reads the port and pid from these files: not the old ones.
        os.remove(env.home .. "/assayd.out")
        os.remove(env.home .. "/assayd.pid")
        server = support.start_assayd(env.home, "--workers 0")
        idle = assay.Client(server.url, server.token)
      end
      local ok, err = pcall(function()
        local project = idle:get_project(project_id)
        local job = idle:start_stress_test(s.config("pending", { categories = { DRIFT } }),
                                           project_id)
        assert.are.equal("JOB_STATUS_PENDING", job:get_status{ verbose = false }.status)
        assert.are.equal(1, #project:list_stress_testing_jobs({ "JOB_STATUS_PENDING" }))
        local e = support.expect_error("ConfigError", job.get_test_run, job)
        assert.truthy(e.message:find("JOB_STATUS_PENDING", 1, true), e.message)
        assert.are.equal("JOB_STATUS_CANCELLED", job:cancel().status)
        assert.are.equal("JOB_STATUS_CANCELLED", job:get_status{ verbose = false }.status)
        e = support.expect_error("ConfigError", job.cancel, job)
        assert.truthy(e.message:find("already finished", 1, true), e.message)
        assert.are.equal(1, #project:list_stress_testing_jobs({ "JOB_STATUS_CANCELLED" }))
        assert.are.equal(0, #project:list_test_runs())
      end)
      idle:close()
      if server then
        assert.are.equal("0", server:stop())
      end
      env.stop()
      if not ok then
        error(err, 0)
      end
    end)
  end)
end
