-- tests/lua/remote_spec.lua — what only a client of a real assayd meets:
-- tokens checked on every request (AuthError, 401), servers that cannot be
-- reached (TransportError), and several clients sharing one platform.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")
local assay = require "assay"

local BINARY = "MODEL_TASK_BINARY_CLASSIFICATION"

describe("a client of assayd", function()
  local server
  local clients = {}
  local function open(...)
    local c = assay.Client(...)
    clients[#clients + 1] = c
    return c
  end

  setup(function()
    server = support.start_assayd()
  end)

  teardown(function()
    for _, c in ipairs(clients) do
      c:close()
    end
    if server then
      local status = server:stop()
      local err = support.read_file(server.home .. "/assayd.err") or ""
      support.rmtree(server.home)
      assert.are.equal("0", status, "exit status of assayd on SIGTERM; its stderr: " .. err)
    end
  end)

  it("is refused with AuthError (401) for a wrong token", function()
    local c = open(server.url, "not-a-valid-token")
    local e = support.expect_error("AuthError", c.list_projects, c)
    assert.are.equal(401, e.http_status)
    assert.are.equal(-4, e.code)
    assert.are.equal("integer", math.type(e.code))
    assert.truthy(tostring(e):match("^AuthError: "))
    support.expect_error("AuthError", c.create_project, c, support.unique("x"), "", BINARY)
  end)

  it("is refused with AuthError (401) without a token", function()
    for _, c in ipairs({ open(server.url), open(server.url, ""), open { domain = server.url } }) do
      local e = support.expect_error("AuthError", c.platform_info, c)
      assert.are.equal(401, e.http_status)
    end
  end)

  it("reaches the health route without a token", function()
    local c = open(server.url)
    assert.are.equal("ok", c:request("GET", "/v1/health").status)
  end)

  it("raises TransportError when the server cannot be reached", function()
    -- Port 1 on loopback: nothing listens there, the connection is refused.
    -- (Never a port that was bound and released: another test could take it.)
    local c = open("http://127.0.0.1:1", "token", { channel_timeout = 5, max_retries = 0 })
    local e = support.expect_error("TransportError", c.list_projects, c)
    assert.are.equal(-7, e.code)
    assert.is_true(assay.is_error(e, "TransportError"))
    assert.is_false(assay.is_error(e, "TimeoutError"))
    assert.truthy(e.message:find("127.0.0.1:1", 1, true))
    local t = open { domain = "http://127.0.0.1:1", api_key = "token" }
    support.expect_error("TransportError", t.platform_info, t)
  end)

  it("raises TimeoutError when the server never answers", function()
    local silent = support.start_silent_server()
    finally(silent.stop)
    local c = open { domain = silent.url, api_key = "k", channel_timeout = 1 }
    local t0 = support.now()
    local ok, e = pcall(c.list_projects, c)
    local elapsed = support.now() - t0
    assert.is_false(ok)
    assert.is_true(assay.is_error(e), "not an assay error: " .. tostring(e))
    assert.are.equal("TimeoutError", e.name)
    assert.are.equal(-8, e.code)
    assert.are.equal(504, e.http_status)
    assert.is_true(assay.is_error(e, "TimeoutError"))
    assert.is_true(assay.is_error(e, "TransportError"))
    assert.is_true(assay.is_error(e, "Error"))
    assert.truthy(e.message:find("timed out", 1, true))
    -- It waited for the timeout on a connection the server took ...
    assert.is_true(silent.accepted() >= 1, "the silent server saw no connection")
    assert.is_true(elapsed >= 0.9, "gave up after " .. elapsed .. " s, before channel_timeout")
    -- ... and not much longer.
    assert.is_true(elapsed < 15, "took " .. elapsed .. " s with channel_timeout = 1")
  end)

  it("accepts the positional and the table form of the options", function()
    local a = open(server.url, server.token, { channel_timeout = 10 })
    local b = open { domain = server.url, api_key = server.token, channel_timeout = 10.5 }
    assert.are.same(a:platform_info(), b:platform_info())
    assert.is_false(a:platform_info().embedded)
  end)

  it("shares projects between clients of one assayd", function()
    local admin = open(server.url, server.token)
    local token = admin:create_api_token(nil, support.unique("second"))
    local other = open(server.url, token)
    local p1 = admin:create_project(support.unique("from-admin"), "", BINARY)
    local p2 = other:create_project(support.unique("from-other"), "", BINARY)

    local function ids(c)
      local set = {}
      for _, p in ipairs(c:list_projects()) do
        set[p.project_id] = true
      end
      return set
    end
    assert.is_true(ids(other)[p1.project_id])
    assert.is_true(ids(admin)[p2.project_id])
    assert.are.equal(p1.name, other:get_project(p1.project_id).name)

    -- An embedded client on the same home (another way in, same store).
    local embedded = open { home = server.home }
    local seen = ids(embedded)
    assert.is_true(seen[p1.project_id])
    assert.is_true(seen[p2.project_id])
    local p3 = embedded:create_project(support.unique("from-embedded"), "", BINARY)
    assert.is_true(ids(admin)[p3.project_id])

    support.expect_error("ConflictError", other.create_project, other, p1.name, "", BINARY)
    other:delete_project(p1.project_id)
    support.expect_error("NotFoundError", admin.get_project, admin, p1.project_id)
  end)
end)
