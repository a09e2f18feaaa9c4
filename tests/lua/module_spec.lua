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
    local c = assay.Client { home = home }
    assert.are.equal("assay.Client(embedded)", tostring(c))
    local info = c:platform_info()
    assert.is_true(info.embedded)
    assert.are.equal("v1", info.api_version)
    c:close()
    support.rmtree(home)
  end)

  it("takes the options table after a nil domain", function()
    local home = support.tmpdir()
    local c = assay.Client(nil, nil, { home = home })
    assert.is_true(c:platform_info().embedded)
    c:close()
    support.rmtree(home)
  end)

  it("closes a client at the end of a <close> block", function()
    local home = support.tmpdir()
    local escaped
    do
      local c <close> = assay.Client { home = home }
      escaped = c
      assert.is_table(c:list_projects())
    end
    local e = support.expect_error("ConfigError", escaped.list_projects, escaped)
    assert.truthy(e.message:find("closed", 1, true))
    support.rmtree(home)
  end)

  it("frees clients nobody holds", function()
    local home = support.tmpdir()
    for _ = 1, 20 do
      local c = assay.Client { home = home }
      c:list_projects()
    end
    collectgarbage()
    collectgarbage()
    local c = assay.Client { home = home }
    assert.are.same({}, c:list_projects())
    c:close()
    support.rmtree(home)
  end)

  it("marks arrays", function()
    local t = assay.array()
    assert.are.same({}, t)
    assert.are.equal(t, assay.array(t))
    assert.is_not_nil(getmetatable(t))
    assert.are.equal("userdata", type(assay.null))
  end)
end)
