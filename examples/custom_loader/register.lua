-- examples/custom_loader/register.lua — the seed's custom loader flow in Lua.
--
-- The same steps as register.py, on the embedded platform ($ASSAY_HOME,
-- default ~/.assay): start the news data server on loopback with a random
-- token, create the "news-source" custom integration, upload the loader,
-- register reference (January) and evaluation (March) datasets through it,
-- and print what validation found.
--
--   ASSAY_HOME=/tmp/demo-home lua5.4 examples/custom_loader/register.lua
local assay = require "assay"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local python = os.getenv("ASSAY_PYTHON") or "python3"

local function epoch(y, m, d)
  -- os.time reads a local time; shift by the zone's offset to get UTC.
  local t = os.time{ year = y, month = m, day = d, hour = 0 }
  local utc = os.time(os.date("!*t", t))
  return t + (t - utc)
end
local REF_START, REF_END = epoch(2026, 1, 1), epoch(2026, 1, 31)
local EVAL_START, EVAL_END = epoch(2026, 3, 1), epoch(2026, 3, 31)

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

  -- 3. The loader.
  local loader_path = client:upload_file(here .. "/custom_news_loader.py")
  print("loader uploaded to " .. loader_path)

  local function data_info(start, stop)
    return {
      connection_info = {
        data_loading = {
          path = loader_path,
          load_func_name = "get_news_data",
          loader_kwargs = { start_time = start, end_time = stop },
          data_endpoint_integration_id = integration_id,
        },
      },
      data_params = { timestamp_col = "timestamp", label_col = "label" },
    }
  end

  -- 4. Register reference and evaluation data.
  local project
  for _, p in ipairs(client:list_projects()) do
    if p.name == "News classification" then project = p end
  end
  project = project or client:create_project("News classification", "clickbait detector",
                                             "MODEL_TASK_BINARY_CLASSIFICATION")
  local suffix = tostring(os.time()) .. "-" .. token:sub(1, 6)
  local datasets = {
    { "reference", project:register_dataset("lua-ref-" .. suffix, data_info(REF_START, REF_END)) },
    { "evaluation", project:register_dataset("lua-eval-" .. suffix,
                                             data_info(EVAL_START, EVAL_END)) },
  }
  for _, entry in ipairs(datasets) do
    local d = project:get_dataset(entry[2])
    print(string.format("%s dataset %s: %s, %s rows", entry[1], entry[2], d.validity_status,
                        tostring(d.row_count)))
    if d.validity_status ~= "VALIDITY_STATUS_VALID" then
      error("  " .. tostring(d.validity_message), 0)
    end
    for _, col in ipairs(d.schema_profile) do
      print(string.format("   %-16s %-10s nulls %5.1f%%  distinct %d", col.column, col.type,
                          100 * col.null_share, col.distinct_count))
    end
  end
end)
os.execute("kill " .. pid)
server:close()
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
