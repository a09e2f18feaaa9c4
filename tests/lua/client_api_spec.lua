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
    -- a method called with `.` has no client
    support.expect_error("ConfigError", c.list_workspaces)
    support.expect_error("ConfigError", assay.Client, { home = home, secret_key_file = 5 })
    c:close()
    support.expect_error("ConfigError", c.list_users, c)
    support.rmtree(home)
  end)
end)

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

      local id, created = admin:create_integration(ws.workspace_id, "store", "INTEGRATION_TYPE_CUSTOM", {
        { name = "ACCESS_KEY", sensitivity = "not_sensitive", value = "AKIA-LUA" },
        { name = "SECRET_ACCESS_KEY", sensitivity = "members" },
      })
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
