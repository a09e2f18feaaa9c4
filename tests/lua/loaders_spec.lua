-- tests/lua/loaders_spec.lua — the failure modes of custom loaders from Lua,
-- against the embedded platform and a real assayd: each makes an INVALID
-- dataset whose message says what went wrong (syntax error with its line,
-- missing function, wrong return type, no rows, missing label / timestamp /
-- prediction column listing the columns, the loader's exception with its
-- traceback), a loader that was never uploaded is a NotFoundError naming
-- the key, the time and memory limits and an interpreter without pandas
-- (configured on the client or on assayd's command line), which loaders get
-- an integration_dict, the loader's folder as its working directory, and a
-- loader that switches off the runner's own redaction still leaving no
-- secret behind. Every test makes its own platform.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")
local assay = require "assay"

local SECRET = "lua-ld-s3cr3t-Vb4-8830"
local PUBLIC = "lua-ld-public-2207"

local function loading(path, fn, opts)
  opts = opts or {}
  return {
    connection_info = { data_loading = { path = path, load_func_name = fn,
                                         loader_kwargs = opts.kwargs,
                                         data_endpoint_integration_id = opts.integration_id } },
    data_params = opts.data_params or { label_col = "label", timestamp_col = "ts" },
  }
end

local function find(haystack, needle)
  return type(haystack) == "string" and haystack:find(needle, 1, true) ~= nil
end

local function assert_contains(haystack, needle)
  assert(find(haystack, needle),
         string.format("expected %q in %q", needle, tostring(haystack)))
end

-- The base interpreter of this checkout's venv (a venv made from a venv's
-- python would not be bare), else python3.
local function base_python()
  local venv = here .. "../../.venv/bin/python"
  local exe = support.exists(venv) and venv or "python3"
  local p = assert(io.popen(support.quote(exe)
                            .. " -c 'import sys; print(getattr(sys, \"_base_executable\", "
                            .. "sys.executable))'"))
  local out = p:read("a"):match("^%s*(.-)%s*$")
  p:close()
  return out
end

-- The failure cases: loader source, function, the fragment of the message.
local FAILURES = {
  { "syntax error with its line", "import os\n\n\ndef load():\n    return [\n", "load",
    "loader 'bad.py' has a syntax error at line 5" },
  { "missing function", "def other():\n    pass\n", "load",
    "loader 'bad.py' has no function 'load'" },
  { "wrong return type", "def load():\n    return 42\n", "load",
    "loader function 'load' returned int; expected a pandas DataFrame" },
  { "no rows", "import pandas as pd\n\ndef load():\n"
      .. "    return pd.DataFrame({'ts': [], 'label': []})\n", "load",
    "the loaded data has no rows" },
  { "missing label column", "import pandas as pd\n\ndef load():\n"
      .. "    return pd.DataFrame({'ts': [1], 'y': [0], 'z': [2]})\n", "load",
    "data_params.label_col 'label' is not a column of the data; the data has 3 columns: "
      .. "ts, y, z" },
  { "missing timestamp column", "import pandas as pd\n\ndef load():\n"
      .. "    return pd.DataFrame({'label': [1], 'x': [0]})\n", "load",
    "data_params.timestamp_col 'ts' is not a column of the data; the data has 2 columns: "
      .. "label, x" },
  { "timestamp column of text", "import pandas as pd\n\ndef load():\n"
      .. "    return pd.DataFrame({'ts': ['monday'], 'label': [0]})\n", "load",
    "data_params.timestamp_col 'ts' is a string column; expected a timestamp column" },
  { "raising, with its traceback",
    "def fetch_day(day):\n    raise ConnectionError('source down for ' + day)\n\n"
      .. "def load():\n    fetch_day('2026-02-03')\n", "load",
    "loader function 'load' raised ConnectionError: source down for 2026-02-03" },
}

for _, mode in ipairs(support.modes) do
  describe("custom loaders (" .. mode .. ")", function()
    local env, client, project, dir
    local extra = {} -- cleanups of limited platforms

    before_each(function()
      env = support.platform(mode)
      client = env.client()
      project = client:create_project(support.unique("loaders"), "loaders",
                                      "MODEL_TASK_BINARY_CLASSIFICATION")
      dir = support.tmpdir()
    end)

    after_each(function()
      for i = #extra, 1, -1 do
        extra[i]()
        extra[i] = nil
      end
      env.stop()
      support.rmtree(dir)
    end)

    -- A client of a new platform of this mode with loader limits: embedded
    -- with client `options`, remote on an assayd started with `args`.
    local function limited(options, args)
      local home = support.tmpdir()
      local c, server
      if mode == "embedded" then
        local o = { home = home }
        for k, v in pairs(options) do o[k] = v end
        c = assay.Client(o)
      else
        server = support.start_assayd(home, args)
        c = assay.Client { domain = server.url, api_key = server.token, channel_timeout = 60 }
      end
      extra[#extra + 1] = function()
        c:close()
        local status = server and server:stop() or "0"
        support.rmtree(home)
        assert.are.equal("0", status)
      end
      return c, c:create_project(support.unique("limited"), "limited", "MODEL_TASK_REGRESSION")
    end

    local function integration(c)
      c = c or client
      local ws = c:platform_info().workspace_id
      return (c:create_integration(ws, support.unique("source"), "INTEGRATION_TYPE_CUSTOM", {
        { name = "ENDPOINT", sensitivity = "VARIABLE_SENSITIVITY_PUBLIC", value = PUBLIC },
        { name = "TOKEN", sensitivity = "VARIABLE_SENSITIVITY_WORKSPACE_SECRET",
          value = SECRET },
      }))
    end

    local function upload(name, source, c)
      support.write_file(dir .. "/" .. name, source)
      return (c or client):upload_file(dir .. "/" .. name)
    end

    it("gives an INVALID dataset with a clear message for each failure", function()
      for i, case in ipairs(FAILURES) do
        local location = upload("bad.py", case[2])
        local id = project:register_dataset("bad-" .. i, loading(location, case[3]))
        local d = project:get_dataset(id)
        assert.are.equal("VALIDITY_STATUS_INVALID", d.validity_status, case[1])
        assert(find(d.validity_message, case[4]),
               string.format("%s: expected %q in %q", case[1], case[4],
                             tostring(d.validity_message)))
        assert.is_nil(d.row_count, case[1])
      end
      -- the raising loader's traceback is kept: its frames are named
      local d = project:get_dataset(nil, "bad-" .. #FAILURES)
      assert_contains(d.validity_message, "Traceback")
      assert_contains(d.validity_message, "fetch_day")
    end)

    it("reports a loader file that was never uploaded as NotFoundError naming the key",
       function()
      local e = support.expect_error("NotFoundError", project.register_dataset, project, "ghost",
                                     loading("assay://files/nowhere/ghost.py", "load"))
      assert_contains(e.message, "data_info.connection_info.data_loading.path")
      assert_contains(e.message, "assay://files/nowhere/ghost.py")
      assert.is_false(project:has_dataset(nil, "ghost"))
    end)

    it("lists the columns when a loader-based pred_info lacks pred_col", function()
      local location = upload("pl.py", "import pandas as pd\n\n"
        .. "def data():\n    return pd.DataFrame({'ts': [1, 2], 'label': [0, 1]})\n\n"
        .. "def preds():\n    return pd.DataFrame({'pred': [0.1, 0.8], 'row': [1, 2]})\n")
      local dataset_id = project:register_dataset("data", loading(location, "data"))
      local model_id = project:register_model("m")
      local pred_info = { connection_info = { data_loading = { path = location,
                                                               load_func_name = "preds" } },
                          pred_params = { pred_col = "score" } }
      local _, p = project:register_predictions(dataset_id, model_id, pred_info)
      assert.are.equal("VALIDITY_STATUS_INVALID", p.validity_status)
      assert.are.equal("pred_params.pred_col 'score' is not a column of the data; the data "
                       .. "has 2 columns: pred, row", p.validity_message)
    end)

    it("makes a dataset whose data_params.pred_col is missing INVALID", function()
      -- docs/registry.md: a label_col, timestamp_col or pred_col that is not
      -- among the columns (which are listed) makes the dataset invalid.
      local location = upload("d.py", "import pandas as pd\n\n"
        .. "def load():\n    return pd.DataFrame({'ts': [1, 2], 'label': [0, 1]})\n")
      local id = project:register_dataset("no-pred", loading(location, "load",
        { data_params = { label_col = "label", timestamp_col = "ts", pred_col = "score" } }))
      local d = project:get_dataset(id)
      assert.are.equal("VALIDITY_STATUS_INVALID", d.validity_status)
      assert_contains(d.validity_message, "data_params.pred_col 'score' is not a column of the "
                      .. "data; the data has 2 columns: ts, label")
    end)

    it("kills a loader at the time limit", function()
      local c, p = limited({ loader_timeout = 2 }, "--loader-timeout 2")
      local location = upload("slow.py", "import time\n\ndef load():\n    time.sleep(60)\n", c)
      local started = support.now()
      local d = p:get_dataset((p:register_dataset("slow", loading(location, "load"))))
      assert.are.equal("VALIDITY_STATUS_INVALID", d.validity_status)
      assert_contains(d.validity_message, "loader was killed after the time limit of 2 s")
      assert.is_true(support.now() - started < 30)
    end)

    it("kills a loader over the memory limit", function()
      local c, p = limited({ loader_memory_bytes = 300 * 1024 * 1024 }, "--loader-memory-mb 300")
      local location = upload("big.py", "import time\n\ndef load():\n"
        .. "    blocks = [bytearray(64 << 20) for _ in range(10)]\n"
        .. "    time.sleep(30)\n    return blocks\n", c)
      local started = support.now()
      local d = p:get_dataset((p:register_dataset("big", loading(location, "load"))))
      assert.are.equal("VALIDITY_STATUS_INVALID", d.validity_status)
      assert_contains(d.validity_message, "loader exceeded the memory limit of 300 MiB")
      assert.is_true(support.now() - started < 25)
    end)

    it("says so when the runner interpreter cannot import pandas", function()
      local bare = dir .. "/bare"
      assert(os.execute(support.quote(base_python()) .. " -m venv --without-pip "
                        .. support.quote(bare)))
      local python = bare .. "/bin/python"
      assert.is_false(os.execute(support.quote(python) .. " -c 'import pandas' 2>/dev/null")
                      == true, "the bare venv imports pandas")
      local c, p = limited({ runner_python = python }, "--runner-python " .. support.quote(python))
      local location = upload("l.py", "def load():\n    pass\n", c)
      local d = p:get_dataset((p:register_dataset("bare", loading(location, "load"))))
      assert.are.equal("VALIDITY_STATUS_INVALID", d.validity_status)
      assert_contains(d.validity_message, "the runner interpreter '" .. python
                      .. "' cannot import pandas")
    end)

    it("passes integration_dict only to loaders that accept it", function()
      local iid = integration()
      local location = upload("accept.py", "import pandas as pd\n\n"
        .. "def frame():\n    return pd.DataFrame({'ts': [1, 2], 'label': [0, 1]})\n\n"
        .. "def plain(start_time=None, end_time=None):\n    return frame()\n\n"
        .. "def keywords(**kwargs):\n"
        .. "    assert sorted(kwargs) == ['end_time', 'integration_dict', 'start_time'], "
        .. "sorted(kwargs)\n"
        .. "    assert kwargs['integration_dict']['ENDPOINT'] == '" .. PUBLIC .. "'\n"
        .. "    return frame()\n\n"
        .. "def named(integration_dict):\n"
        .. "    assert integration_dict['ENDPOINT'] == '" .. PUBLIC .. "'\n"
        .. "    return frame()\n")
      for _, fn in ipairs({ "plain", "keywords", "named" }) do
        local d = project:get_dataset((project:register_dataset(fn,
          loading(location, fn, { integration_id = iid }))))
        assert.are.equal("VALIDITY_STATUS_VALID", d.validity_status,
                         fn .. ": " .. tostring(d.validity_message))
      end
      -- no integration at all: a loader that requires the dict fails to be called
      local d = project:get_dataset((project:register_dataset("none", loading(location, "named"))))
      assert.are.equal("VALIDITY_STATUS_INVALID", d.validity_status)
      assert_contains(d.validity_message, "integration_dict")
    end)

    it("feeds integration_dict from the dataset's integration_id", function()
      local iid = integration()
      local location = upload("ds.py", "import pandas as pd\n\n"
        .. "def load(integration_dict):\n"
        .. "    print('endpoint', integration_dict['ENDPOINT'], 'token', "
        .. "integration_dict['TOKEN'], flush=True)\n"
        .. "    return pd.DataFrame({'ts': [1, 2, 3], 'label': [0, 1, 0]})\n")
      local id = project:register_dataset("by-dataset", loading(location, "load"),
                                          { integration_id = iid })
      local d = project:get_dataset(id)
      assert.are.equal("VALIDITY_STATUS_VALID", d.validity_status, d.validity_message)
      assert.are.equal(3, d.row_count)
      local log = client:get_job(d.validation_job_id):get_log()
      assert_contains(log, "endpoint " .. PUBLIC .. " token [REDACTED]")
      assert.is_false(find(log, SECRET))
    end)

    it("runs the loader in its folder, next to its uploaded neighbours", function()
      local pkg = dir .. "/pkg"
      os.execute("mkdir -p " .. support.quote(pkg))
      support.write_file(pkg .. "/helpers.py", "ROWS = 5\n")
      support.write_file(pkg .. "/rows.txt", "hello\n")
      support.write_file(pkg .. "/loader.py", "import os\nimport pandas as pd\nimport helpers\n\n"
        .. "def load():\n"
        .. "    assert open('rows.txt').read() == 'hello\\n', os.getcwd()\n"
        .. "    assert os.path.basename(os.getcwd()) == 'pkg', os.getcwd()\n"
        .. "    return pd.DataFrame({'ts': range(helpers.ROWS), 'label': [0] * helpers.ROWS})\n")
      local location = client:upload_directory(pkg)
      local d = project:get_dataset((project:register_dataset("folder",
        loading(location .. "/loader.py", "load"))))
      assert.are.equal("VALIDITY_STATUS_VALID", d.validity_status, d.validity_message)
      assert.are.equal(5, d.row_count)
    end)

    it("redacts a loader that switches off the runner's own redaction", function()
      local iid = integration()
      local location = upload("sneaky.py", "import sys\nimport __main__\n\n"
        .. "def load(integration_dict):\n"
        .. "    __main__._redact = lambda text: text\n"
        .. "    __main__._SECRETS[:] = []\n"
        .. "    token = integration_dict['TOKEN']\n"
        .. "    print('stdout', token, flush=True)\n"
        .. "    print('stderr', token, file=sys.stderr, flush=True)\n"
        .. "    raise RuntimeError('cannot reach the source with ' + token)\n")
      local d = project:get_dataset((project:register_dataset("sneaky",
        loading(location, "load", { integration_id = iid }))))
      assert.are.equal("VALIDITY_STATUS_INVALID", d.validity_status)
      assert_contains(d.validity_message,
                      "RuntimeError: cannot reach the source with [REDACTED]")
      assert.is_false(find(d.validity_message, SECRET))
      local log = client:get_job(d.validation_job_id):get_log()
      assert_contains(log, "stdout [REDACTED]")
      assert_contains(log, "stderr [REDACTED]")
      assert.is_false(find(log, SECRET))
      client:close()
      local p = assert(io.popen("grep -rlF -- " .. support.quote(SECRET) .. " "
                                .. support.quote(env.home) .. " 2>/dev/null"))
      local hits = p:read("a")
      p:close()
      assert.are.equal("", hits)
    end)
  end)
end
