-- tests/lua/client_api_spec.lua — the issue-3 methods of assay.Client
-- (workspaces, users, members, tokens, integrations, key rotation): each
-- exists, reaches the C core (one round trip on the embedded platform and on
-- a real assayd), and bad arguments raise ConfigError objects. (Who may call
-- what is tested by the permission specs.)
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")
local assay = require "assay"

local METHODS = {
  "create_workspace", "list_workspaces", "get_workspace", "create_user", "list_users",
  "add_workspace_member", "update_workspace_member", "remove_workspace_member",
  "list_workspace_members", "create_api_token", "list_api_tokens", "revoke_api_token",
  "create_integration", "list_integrations", "get_integration", "update_integration",
  "delete_integration", "set_integration_credentials", "rotate_secret_key",
}

local SECRET = "member-secret-5d1e-never-shown"

local function by(list, key)
  local t = {}
  for _, r in ipairs(list) do
    t[r[key]] = r
  end
  return t
end

describe("client API methods", function()
  it("exist as Client methods", function()
    for _, name in ipairs(METHODS) do
      assert.is_function(assay.Client[name], name)
    end
  end)

  it("raise ConfigError objects for bad arguments", function()
    local home = support.tmpdir()
    local c = assay.Client { home = home }
    local e = support.expect_error("ConfigError", c.get_workspace, c, nil)
    assert.truthy(e.message:find("workspace_id", 1, true))
    e = support.expect_error("ConfigError", c.update_workspace_member, c, "w", nil, "member")
    assert.truthy(e.message:find("user_id", 1, true))
    e = support.expect_error("ConfigError", c.remove_workspace_member, c, "", "u")
    assert.truthy(e.message:find("workspace_id", 1, true))
    e = support.expect_error("ConfigError", c.revoke_api_token, c, nil)
    assert.truthy(e.message:find("token_id", 1, true))
    e = support.expect_error("ConfigError", c.get_integration, c, {})
    assert.truthy(e.message:find("must be a string", 1, true))
    e = support.expect_error("ConfigError", c.update_integration, c, "i", "rename me")
    assert.truthy(e.message:find("changes must be an object; got a string", 1, true))
    e = support.expect_error("ConfigError", c.update_integration, c, "i", assay.array())
    assert.truthy(e.message:find("changes must be an object; got an array", 1, true))
    e = support.expect_error("ConfigError", c.set_integration_credentials, c, "i", { SECRET })
    assert.truthy(e.message:find("credentials must be an object", 1, true))
    assert.falsy(e.message:find(SECRET, 1, true))
    e = support.expect_error("ConfigError", c.set_integration_credentials, c, "i", nil)
    assert.truthy(e.message:find("credentials", 1, true))
    -- a number is not a string (no silent number -> text conversion)
    e = support.expect_error("ConfigError", c.get_workspace, c, 5)
    assert.truthy(e.message:find("workspace_id must be a string", 1, true), e.message)
    e = support.expect_error("ConfigError", c.create_workspace, c, 7)
    assert.truthy(e.message:find("name must be a string", 1, true), e.message)
    e = support.expect_error("ConfigError", c.create_user, c, 1e3)
    assert.truthy(e.message:find("username must be a string", 1, true), e.message)
    e = support.expect_error("ConfigError", c.create_integration, c, "w", 5,
                             "INTEGRATION_TYPE_CUSTOM", {})
    assert.truthy(e.message:find("name must be a string", 1, true), e.message)
    local tokens = #c:list_api_tokens()
    e = support.expect_error("ConfigError", c.create_api_token, c, nil, 42)
    assert.truthy(e.message:find("name must be a string", 1, true), e.message)
    assert.are.equal(tokens, #c:list_api_tokens())
    local names = {}
    for _, ws in ipairs(c:list_workspaces()) do
      names[ws.name] = true
    end
    assert.is_nil(names["7"])
    -- a method called with `.` has no client
    support.expect_error("ConfigError", c.list_workspaces)
    support.expect_error("ConfigError", assay.Client, { home = home, secret_key_file = 5 })
    c:close()
    support.expect_error("ConfigError", c.list_users, c)
    support.rmtree(home)
  end)
end)

describe("embedded clients sharing a home", function()
  it("keep their writes visible to other processes", function()
    -- Opening a second client must not drop the first one's SQLite locks:
    -- then another process (here the sqlite3 shell, or assayd / the CLI on
    -- the same home) would take itself for the last user of the database,
    -- checkpoint and delete the WAL the first client still writes to.
    local home = support.tmpdir()
    local clients = {}
    finally(function()
      for _, c in ipairs(clients) do
        c:close()
      end
      support.rmtree(home)
    end)
    local function open()
      clients[#clients + 1] = assay.Client { home = home }
      return clients[#clients]
    end
    local function count(name)
      return support.sql(home, "SELECT count(*) FROM workspaces WHERE name = ?", name)[1][1]
    end
    local first = open()
    first:create_workspace("before")
    assert.are.equal("1", count("before"))
    local second = open()
    assert.are.equal(first:platform_info().user_id, second:platform_info().user_id)
    assert.are.equal("1", count("before")) -- another process opens and closes the database
    first:create_workspace("after-second")
    assert.are.equal("1", count("after-second"))
    second:close()
    first:create_workspace("after-close")
    assert.are.equal("1", count("after-close"))
    local third = open()
    assert.are.equal(3, #third:list_workspaces() - 1) -- and the admin's own
    first:close()
    third:close()
    assert.are.equal("1", count("after-close"))
  end)
end)

for _, mode in ipairs(support.modes) do
  describe("a secret key file of one's own (" .. mode .. ")", function()
    local home, keydir, client, server

    before_each(function()
      home, keydir = support.tmpdir(), support.tmpdir()
    end)

    after_each(function()
      if client then
        client:close()
        client = nil
      end
      local status = "0"
      if server then
        status = server:stop()
        server = nil
      end
      support.rmtree(home)
      support.rmtree(keydir)
      assert.are.equal("0", status, "assayd did not exit 0 on SIGTERM")
    end)

    -- A client of the platform in `home` whose master key is `key`.
    local function open(key)
      if mode == "embedded" then
        client = assay.Client { home = home, secret_key_file = key }
      else
        server = support.start_assayd(home, "--secret-key-file " .. support.quote(key))
        client = assay.Client { domain = server.url, api_key = server.token,
                                channel_timeout = 30 }
      end
      return client
    end

    it("is created where asked, mode 0600, and <home>/secret.key never appears", function()
      local key = keydir .. "/master.key"
      local c = open(key)
      local ws = c:create_workspace(support.unique("keyed")).workspace_id
      local id = c:create_integration(ws, "keyed", "INTEGRATION_TYPE_CUSTOM", {
        { name = "PASSWORD", sensitivity = "workspace", value = SECRET },
        { name = "MINE", sensitivity = "members" } })
      c:set_integration_credentials(id, { MINE = SECRET .. "-mine" })
      assert.is_true(support.exists(key), "no key file at " .. key)
      assert.are.equal("600", support.file_mode(key))
      assert.truthy((support.read_file(key) or ""):match("^[%w+/=]+\nhome [%x%-]+\n$"),
                    "not base64 text and the home's id")
      assert.is_false(support.exists(home .. "/secret.key"), "a key file in the home")
      local text = support.read_file(key)
      local rotated = c:rotate_secret_key()
      assert.are.equal(2, rotated.secrets_resealed)
      assert.are_not.equal(text, support.read_file(key))
      assert.are.equal("600", support.file_mode(key))
      assert.is_false(support.exists(key .. ".new"))
      assert.is_false(support.exists(home .. "/secret.key"), "a key file in the home")
      local record = c:get_integration(id)
      assert.is_true(record.variables[1].is_set)
      assert.is_true(record.credential_status.configured)
      if mode == "embedded" then
        -- Without the option the home's secrets cannot be opened: refused,
        -- and no new key file is made in the home.
        local e = support.expect_error("ConfigError", assay.Client, { home = home })
        assert.truthy(e.message:find("secret", 1, true), e.message)
        assert.is_false(support.exists(home .. "/secret.key"))
        local again = assay.Client { home = home, secret_key_file = key }
        assert.is_true(again:get_integration(id).credential_status.configured)
        again:close()
      end
    end)
  end)
end

for _, mode in ipairs(support.modes) do
  describe("client API round trip (" .. mode .. ")", function()
    local env, admin

    setup(function()
      env = support.platform(mode)
      admin = env.client()
    end)

    teardown(function()
      if env then
        env.stop()
      end
    end)

    it("reaches the core for every method", function()
      local ws = admin:create_workspace("lua-ws")
      assert.are.equal("WORKSPACE_ROLE_ADMIN", ws.role)
      assert.are.equal("lua-ws", admin:get_workspace(ws.workspace_id).name)
      assert.is_table(by(admin:list_workspaces(), "workspace_id")[ws.workspace_id])

      local eve = admin:create_user("eve", "Eve E.")
      assert.are.equal("Eve E.", eve.display_name)
      assert.is_table(by(admin:list_users(), "user_id")[eve.user_id])
      local m = admin:add_workspace_member(ws.workspace_id, eve.user_id, "viewer")
      assert.are.equal("WORKSPACE_ROLE_VIEWER", m.role)
      m = admin:update_workspace_member(ws.workspace_id, eve.user_id, "member")
      assert.are.equal("WORKSPACE_ROLE_MEMBER", m.role)
      local members = by(admin:list_workspace_members(ws.workspace_id), "user_id")
      assert.are.equal("WORKSPACE_ROLE_MEMBER", members[eve.user_id].role)

      local token, record = admin:create_api_token(ws.workspace_id, "eve-lua", eve.user_id)
      assert.is_string(token)
      local tokens = admin:list_api_tokens(ws.workspace_id, eve.user_id)
      assert.are.equal(1, #tokens)
      assert.are.equal(record.id, tokens[1].id)
      assert.are.equal("active", tokens[1].status)
      assert.is_nil(tokens[1].token)

      local id, created = admin:create_integration(ws.workspace_id, "store",
                                                   "INTEGRATION_TYPE_CUSTOM", {
        { name = "ACCESS_KEY", sensitivity = "not_sensitive", value = "AKIA-LUA" },
        { name = "SECRET_ACCESS_KEY", sensitivity = "members" },
      })
      assert.is_string(id)
      assert.are.equal(id, created.integration_id)
      assert.are.equal(id, admin:list_integrations(ws.workspace_id)[1].integration_id)
      local got = admin:get_integration(id)
      assert.are.equal("AKIA-LUA", by(got.variables, "name").ACCESS_KEY.value)
      assert.is_false(got.credential_status.configured)
      got = admin:update_integration(id, { name = "store2", remove_variables = { "ACCESS_KEY" } })
      assert.are.equal("store2", got.name)
      assert.are.equal(1, #got.variables)

      -- eve, with her token: her own credentials (on the embedded platform too)
      local opts = mode == "embedded" and { home = env.home, api_key = token }
        or { domain = env.server.url, api_key = token }
      local as_eve = env.client(opts)
      assert.are.equal(eve.user_id, as_eve:platform_info().user_id)
      local status = as_eve:set_integration_credentials(id, { SECRET_ACCESS_KEY = SECRET })
      assert.are.same({ configured = true, missing = assay.array() },
                      status.credential_status)
      status = as_eve:set_integration_credentials(id, { SECRET_ACCESS_KEY = assay.null })
      assert.is_false(status.credential_status.configured)
      support.expect_error("PermissionDeniedError", as_eve.rotate_secret_key, as_eve)

      local rotated = admin:rotate_secret_key()
      assert.are.equal(16, #rotated.key_id)
      assert.are.equal("integer", math.type(rotated.secrets_resealed))

      assert.is_nil(admin:delete_integration(id))
      support.expect_error("NotFoundError", admin.get_integration, admin, id)
      assert.is_nil(admin:revoke_api_token(record.id))
      support.expect_error("AuthError", as_eve.list_workspaces, as_eve)
      assert.is_nil(admin:remove_workspace_member(ws.workspace_id, eve.user_id))
      assert.is_nil(by(admin:list_workspace_members(ws.workspace_id), "user_id")[eve.user_id])
    end)
  end)
end
