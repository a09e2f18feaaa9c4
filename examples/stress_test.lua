-- examples/stress_test.lua — the whole flow of a stress test, in Lua.
--
-- The same steps as stress_test.py, on the embedded platform ($ASSAY_HOME,
-- default ~/.assay): start the news data server on loopback with a random
-- token, create the "news-source" custom integration, upload the loader and
-- the model file, register the model and the January (reference) and March
-- (evaluation) datasets, start a stress test, follow it, print the results.
--
--   ASSAY_HOME=/tmp/demo-home lua5.4 examples/stress_test.lua
local assay = require "assay"

local here = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/custom_loader"
local python = os.getenv("ASSAY_PYTHON") or "python3"

local function epoch(y, m, d)
  local t = os.time{ year = y, month = m, day = d, hour = 0 }
  local utc = os.time(os.date("!*t", t))
  return t + (t - utc)
end

-- 1. The data source: its token goes through a private file on its stdin.
local random = assert(io.open("/dev/urandom", "rb"))
local token = random:read(24):gsub(".", function(c) return string.format("%02x", c:byte()) end)
random:close()
local token_file = os.tmpname()
local f = assert(io.open(token_file, "w"))
f:write(token, "\n")
f:close()
local server = assert(io.popen(string.format("exec %s %s/data_server.py < %s", python, here,
                                             token_file), "r"))
local port, pid = server:read("l"):match("PORT (%d+) PID (%d+)")
os.remove(token_file)

local ok, err = pcall(function()
  local client <close> = assay.Client()
  local workspace_id = client:platform_info().workspace_id

  -- 2. The custom integration.
  for _, old in ipairs(client:list_integrations(workspace_id)) do
    if old.name == "news-source" then client:delete_integration(old.integration_id) end
  end
  local integration_id = client:create_integration(workspace_id, "news-source",
    "INTEGRATION_TYPE_CUSTOM", {
      { name = "NEWS_API_URL", sensitivity = "VARIABLE_SENSITIVITY_PUBLIC",
        value = "http://127.0.0.1:" .. port },
      { name = "NEWS_API_TOKEN", sensitivity = "VARIABLE_SENSITIVITY_WORKSPACE_SECRET",
        value = token },
    })

  -- 3. The loader and the model.
  local loader_path = client:upload_file(here .. "/custom_news_loader.py")
  local model_file = client:upload_file(here .. "/news_model.py")
  local function data_info(start, stop)
    return {
      connection_info = { data_loading = {
        path = loader_path,
        load_func_name = "get_news_data",
        loader_kwargs = { start_time = start, end_time = stop },
        data_endpoint_integration_id = integration_id,
      } },
      data_params = { timestamp_col = "timestamp", label_col = "label" },
    }
  end

  -- 4. Register the model and the data.
  local project
  for _, p in ipairs(client:list_projects()) do
    if p.name == "News stress test" then project = p end
  end
  project = project or client:create_project("News stress test", "clickbait detector under drift",
                                             "MODEL_TASK_BINARY_CLASSIFICATION")
  local run = tostring(os.time()) .. "-" .. token:sub(1, 6)
  local model_id = project:register_model("lua-clickbait-model-" .. run,
                                          { model_path = { path = model_file } })
  local ref_id = project:register_dataset("lua-news-january-" .. run,
                                          data_info(epoch(2026, 1, 1), epoch(2026, 1, 31)))
  local eval_id = project:register_dataset("lua-news-march-" .. run,
                                           data_info(epoch(2026, 3, 1), epoch(2026, 3, 31)))

  -- 5. The stress test.
  local job = client:start_stress_test({
    run_name = "January vs March (Lua) " .. run,
    model_id = model_id,
    data_info = { ref_dataset_id = ref_id, eval_dataset_id = eval_id },
    test_suite_config = {
      global_test_sensitivity = "TEST_SENSITIVITY_DEFAULT",
      individual_tests_config = { numeric_feature_drift = { statistic = "psi" } },
    },
    run_time_info = { random_seed = 42 },
  }, project.project_id)
  job:get_status{ verbose = true, wait_until_finish = true, poll_rate_sec = 0.5 }
  local test_run = job:get_test_run()

  local result = test_run:get_result_df()[1]
  print(string.format("\nRun %s: %s", test_run.test_run_id, result.name))
  print(string.format("  %d test cases: %d pass, %d warning, %d fail, %d skipped",
                      result["summary_counts.total"], result["summary_counts.pass"],
                      result["summary_counts.warning"], result["summary_counts.fail"],
                      result["summary_counts.skip"]))
  print("\nCategories:")
  for _, c in ipairs(test_run:get_category_results_df()) do
    print(string.format("  %-52s %s", c.category, c.severity))
  end
  local cases = test_run:get_test_cases_df(true)
  local failing = {}
  for _, tc in ipairs(cases) do
    if tc.status ~= "TEST_CASE_STATUS_PASS" then failing[#failing + 1] = tc end
  end
  print(string.format("\nTest cases that did not pass (%d of %d):", #failing, #cases))
  for _, tc in ipairs(failing) do
    print(string.format("  %-34s %-24s %-26s %.3f", tc.test_batch_type,
                        table.concat(tc.features, ", "), tc.status, tc.importance_score))
  end
  local drift = test_run:get_test_batch("numeric_feature_drift")
  print("\nNumeric feature drift: " .. drift:summary().severity)
  for _, tc in ipairs(drift:get_test_cases_df(true)) do
    print(string.format("  %-20s psi %.4f  %s", tc.features[1], tc.psi or 0 / 0, tc.severity))
  end
end)
os.execute("kill " .. pid)
server:close()
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
