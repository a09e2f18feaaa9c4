-- tests/lua/module_spec.lua — the Lua module itself, no platform needed
-- beyond a temp home: version, the error table read from the core,
-- assay.is_error, client options, closing, and what the module leaves in
-- the global table.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")
local assay = require "assay"

describe("the assay module", function()
  it("reports the core's version", function()
    assert.is_string(assay.version)
    assert.truthy(assay.version:match("^%d+%.%d+%.%d+"))
  end)

  it("adds no globals", function()
    assert.is_nil(rawget(_G, "swig_type"))
    assert.is_nil(rawget(_G, "swig_equals"))
    assert.is_nil(rawget(_G, "assay_core"))
  end)

  it("reads the error table from the core, with integer codes", function()
    local expected = {
      Error = { -1, nil, 500 },
      ConfigError = { -2, "Error", 400 },
      NotFoundError = { -3, "Error", 404 },
      AuthError = { -4, "Error", 401 },
      PermissionDeniedError = { -5, "Error", 403 },
      ConflictError = { -6, "Error", 409 },
      TransportError = { -7, "Error", 0 },
      TimeoutError = { -8, "TransportError", 504 },
      MethodNotAllowedError = { -9, "ConfigError", 405 },
      PayloadTooLargeError = { -10, "ConfigError", 413 },
      UnavailableError = { -14, "TransportError", 503 },
      DataError = { -15, "Error", 422 },
    }
    for name, row in pairs(expected) do
      local got = assay.errors[name]
      assert.is_table(got, name)
      assert.are.equal(name, got.name)
      assert.are.equal(row[1], got.code)
      assert.are.equal("integer", math.type(got.code))
      assert.are.equal(row[2], got.parent)
      assert.are.equal(row[3], got.http_status)
      assert.are.equal("integer", math.type(got.http_status))
      assert.is_string(got.description)
    end
  end)

  it("tells error classes apart, following parents", function()
    local ok, e = pcall(assay.Client, { no_such_option = 1 })
    assert.is_false(ok)
    assert.is_true(assay.is_error(e))
    assert.is_true(assay.is_error(e, "ConfigError"))
    assert.is_true(assay.is_error(e, "Error"))
    assert.is_false(assay.is_error(e, "NotFoundError"))
    assert.are.equal("ConfigError: " .. e.message, tostring(e))
    assert.is_false(assay.is_error("ConfigError: text"))
    assert.is_false(assay.is_error({ name = "ConfigError" }))
    assert.is_false(assay.is_error(nil))
  end)

  it("refuses bad client options with ConfigError", function()
    support.expect_error("ConfigError", assay.Client, { no_such_option = 1 })
    support.expect_error("ConfigError", assay.Client, { channel_timeout = "slow" })
    support.expect_error("ConfigError", assay.Client, { domain = 5 })
    support.expect_error("ConfigError", assay.Client, nil, nil, "not a table")
    support.expect_error("ConfigError", assay.Client, { "positional", "in a table" })
  end)

  it("opens an embedded client from no options but a home", function()
    local home = support.tmpdir()
    finally(function() support.rmtree(home) end)
    local c <close> = assay.Client { home = home }
    assert.are.equal("assay.Client(embedded)", tostring(c))
    local info = c:platform_info()
    assert.is_true(info.embedded)
    assert.are.equal("v1", info.api_version)
  end)

  it("takes the options table after a nil domain", function()
    local home = support.tmpdir()
    finally(function() support.rmtree(home) end)
    local c <close> = assay.Client(nil, nil, { home = home })
    assert.is_true(c:platform_info().embedded)
  end)

  it("closes a client at the end of a <close> block", function()
    local home = support.tmpdir()
    finally(function() support.rmtree(home) end)
    local escaped
    do
      local c <close> = assay.Client { home = home }
      escaped = c
      assert.is_table(c:list_projects())
    end
    local e = support.expect_error("ConfigError", escaped.list_projects, escaped)
    assert.truthy(e.message:find("closed", 1, true))
  end)

  it("frees clients nobody holds", function()
    local N = 20
    local home = support.tmpdir()
    local held = {}
    finally(function()
      for _, c in pairs(held) do
        c:close()
      end
      held = nil
      collectgarbage("collect")
      support.rmtree(home)
    end)
    -- Anything opened once per process (not per client) is opened here.
    do
      local c <close> = assay.Client { home = home }
      c:list_projects()
    end
    collectgarbage("collect")
    collectgarbage("collect")
    local baseline = support.count_fds()

    local weak = setmetatable({}, { __mode = "v" })
    -- Opened in a function of its own, so no dead register of this one
    -- keeps the last client reachable.
    local function open_clients()
      for i = 1, N do
        local c = assay.Client { home = home }
        c:list_projects() -- the store is open: SQLite holds descriptors
        held[i] = c
        weak[i] = c
      end
    end
    open_clients()
    local grown = support.count_fds()
    -- Each embedded client holds at least its database file open.
    assert.is_true(grown >= baseline + N,
      string.format("%d clients: %d descriptors, baseline %d", N, grown, baseline))

    held = {} -- drop them without close()
    collectgarbage("collect")
    collectgarbage("collect")
    assert.is_nil(next(weak), "a client survived two full collections")
    local after = support.count_fds()
    assert.is_true(after <= baseline + 2,
      string.format("after collection: %d descriptors, baseline %d (%d with the clients)",
                    after, baseline, grown))

    -- The home is intact and usable.
    local c <close> = assay.Client { home = home }
    assert.are.same({}, c:list_projects())
  end)

  describe("with no options", function()
    local BINARY = "MODEL_TASK_BINARY_CLASSIFICATION"
    local dirs = {}
    local function tmpdir()
      local d = support.tmpdir()
      dirs[#dirs + 1] = d
      return d
    end
    after_each(function()
      for _, d in ipairs(dirs) do
        support.rmtree(d)
      end
      dirs = {}
    end)

    -- A child lua5.4 that opens assay.Client() and creates project `name`.
    local function child_creates(name, env)
      local ok, code, out, err = support.run_lua(string.format([[
        local assay = require "assay"
        local c = assay.Client()
        assert(c:platform_info().embedded, "not embedded")
        local p = c:create_project(%q, "", %q)
        io.write(p.project_id)
        c:close()
      ]], name, BINARY), env)
      assert.is_true(ok, string.format("child exited %s: %s", tostring(code), err))
      assert.truthy(out:match("^%S+$"), "child printed no project id: " .. out)
      return out
    end

    local function project_ids(home)
      local c <close> = assay.Client { home = home }
      local ids = {}
      for _, p in ipairs(c:list_projects()) do
        ids[p.project_id] = p.name
      end
      return ids
    end

    it("uses $ASSAY_HOME", function()
      local home, user_home = tmpdir(), tmpdir()
      local name = support.unique("env-home")
      local id = child_creates(name, { ASSAY_HOME = home, HOME = user_home })
      assert.is_true(support.exists(home .. "/assay.db"))
      assert.are.equal(name, project_ids(home)[id])
      -- $ASSAY_HOME wins over $HOME: nothing was made in HOME.
      assert.is_false(support.exists(user_home .. "/.assay"))
    end)

    it("uses $HOME/.assay without $ASSAY_HOME, creating it", function()
      local user_home = tmpdir()
      assert.is_false(support.exists(user_home .. "/.assay"))
      local name = support.unique("home-dot-assay")
      local id = child_creates(name, { ASSAY_HOME = false, HOME = user_home })
      assert.is_true(support.is_dir(user_home .. "/.assay"))
      assert.is_true(support.exists(user_home .. "/.assay/assay.db"))
      assert.are.equal(name, project_ids(user_home .. "/.assay")[id])
    end)
  end)

  it("marks arrays", function()
    local t = assay.array()
    assert.are.same({}, t)
    assert.are.equal(t, assay.array(t))
    assert.is_not_nil(getmetatable(t))
    assert.are.equal("userdata", type(assay.null))
  end)
end)
