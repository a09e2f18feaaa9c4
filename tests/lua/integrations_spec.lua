-- tests/lua/integrations_spec.lua — integrations from Lua, against the
-- embedded platform and a real assayd: the core of the permission matrix
-- (typed error objects per caller), every bad input as a ConfigError object,
-- each member's credential status before and after setting their values,
-- and no secret value in anything a member or viewer is answered.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")
local assay = require "assay"
local core = require "assay.core"

local CUSTOM = "INTEGRATION_TYPE_CUSTOM"
local PUBLIC = "VARIABLE_SENSITIVITY_PUBLIC"
local WORKSPACE = "VARIABLE_SENSITIVITY_WORKSPACE_SECRET"
local USER = "VARIABLE_SENSITIVITY_USER_SECRET"

-- A distinctive secret value: 32 characters, random per call.
local function secret()
  local t = { "S" }
  for i = 2, 32 do
    t[i] = string.char(string.byte("a") + math.random(0, 25))
  end
  return table.concat(t)
end

-- create_integration answers the new integration's id.
local function id_of(created)
  if type(created) == "table" then
    return created.integration_id
  end
  return created
end

local function by_name(record)
  local m = {}
  for _, v in ipairs(record.variables) do
    m[v.name] = v
  end
  return m
end

local function dump(value)
  return core.assay_value_dump(value, 0)
end

local function assert_no_secret(answer, values, where)
  local text = dump(answer)
  for _, v in ipairs(values) do
    assert.is_nil(text:find(v, 1, true), where .. ": a secret value is in the answer")
  end
end

--- As the platform's admin: workspace ws with ws_admin / member / viewer /
--- victim (a second member), workspace ws2 with outsider, a client each,
--- and a revoked token of member.
local function build_world(env)
  local w = { admin = env.client(), users = {}, clients = {} }
  w.ws = w.admin:create_workspace(support.unique("lua-int-ws")).workspace_id
  w.ws2 = w.admin:create_workspace(support.unique("lua-int-ws2")).workspace_id
  local tokens = {}
  for _, spec in ipairs({ { "ws_admin", w.ws, "admin" }, { "member", w.ws, "member" },
                          { "viewer", w.ws, "viewer" }, { "victim", w.ws, "member" },
                          { "outsider", w.ws2, "member" } }) do
    local name, ws, role = spec[1], spec[2], spec[3]
    local user = w.admin:create_user(support.unique(name))
    w.admin:add_workspace_member(ws, user.user_id, role)
    w.users[name] = user
    tokens[name] = w.admin:create_api_token(ws, support.unique("token"), user.user_id)
  end
  local revoked, record = w.admin:create_api_token(w.ws, support.unique("revoked"),
                                                   w.users.member.user_id)
  w.admin:revoke_api_token(record.id)
  tokens.revoked = revoked
  function w.client(caller)
    if caller == "org_admin" then
      return w.admin
    end
    if not w.clients[caller] then
      w.clients[caller] = env.client({ api_key = tokens[caller] })
    end
    return w.clients[caller]
  end
  return w
end

for _, mode in ipairs(support.modes) do
  describe("integrations (" .. mode .. ")", function()
    local env, w, ws_secret, integration

    local function schema()
      return {
        { name = "HOST", sensitivity = "not_sensitive", value = "https://warehouse.example" },
        { name = "SERVICE_PASSWORD", sensitivity = "workspace", value = ws_secret },
        { name = "PERSONAL_TOKEN", sensitivity = "members" },
      }
    end

    setup(function()
      env = support.platform(mode)
      w = build_world(env)
      ws_secret = secret()
      integration = id_of(w.admin:create_integration(w.ws, support.unique("warehouse"),
                                                     CUSTOM, schema()))
    end)

    teardown(function()
      if env then
        env.stop()
      end
    end)

    it("answers records with canonical sensitivities and only public values", function()
      local record = w.admin:get_integration(integration)
      assert.are.equal(integration, record.integration_id)
      assert.are.equal(w.ws, record.workspace_id)
      assert.are.equal(CUSTOM, record.integration_type)
      local v = by_name(record)
      assert.are.equal(PUBLIC, v.HOST.sensitivity)
      assert.are.equal("https://warehouse.example", v.HOST.value)
      assert.are.equal(WORKSPACE, v.SERVICE_PASSWORD.sensitivity)
      assert.is_nil(v.SERVICE_PASSWORD.value)
      assert.is_true(v.SERVICE_PASSWORD.is_set)
      assert.are.equal(USER, v.PERSONAL_TOKEN.sensitivity)
      assert.is_false(v.PERSONAL_TOKEN.is_set)
      local found = false
      for _, r in ipairs(w.admin:list_integrations(w.ws)) do
        found = found or r.integration_id == integration
      end
      assert.is_true(found)
    end)

    it("follows the permission matrix", function()
      -- create: admins only; the rest typed errors, nothing created
      for caller, expected in pairs({ org_admin = true, ws_admin = true,
                                      member = "PermissionDeniedError",
                                      viewer = "PermissionDeniedError",
                                      outsider = "NotFoundError", revoked = "AuthError" }) do
        local c = w.client(caller)
        local name = support.unique("by-" .. caller)
        if expected == true then
          local id = id_of(c:create_integration(w.ws, name, CUSTOM, schema()))
          assert.are.equal(name, w.admin:get_integration(id).name)
          assert.is_nil(c:delete_integration(id))
          support.expect_error("NotFoundError", w.admin.get_integration, w.admin, id)
        else
          local e = support.expect_error(expected, c.create_integration, c, w.ws, name, CUSTOM,
                                         schema())
          assert.is_true(assay.is_error(e, expected))
          for _, r in ipairs(w.admin:list_integrations(w.ws)) do
            assert.are_not.equal(name, r.name, caller .. " created an integration")
          end
        end
      end
      -- read: every role of the workspace; outsiders do not find it
      for _, caller in ipairs({ "org_admin", "ws_admin", "member", "viewer" }) do
        local c = w.client(caller)
        assert.are.equal(integration, c:get_integration(integration).integration_id)
        assert.is_true(#c:list_integrations(w.ws) >= 1)
      end
      local o = w.client("outsider")
      local e = support.expect_error("NotFoundError", o.get_integration, o, integration)
      assert.are.equal(404, e.http_status)
      support.expect_error("NotFoundError", o.list_integrations, o, w.ws)
      support.expect_error("NotFoundError", o.delete_integration, o, integration)
      -- update and delete: members and viewers may not; workspace admins may
      local before = w.admin:get_integration(integration).name
      for _, caller in ipairs({ "member", "viewer" }) do
        local c = w.client(caller)
        support.expect_error("PermissionDeniedError", c.update_integration, c, integration,
                             { name = support.unique("by-" .. caller) })
        support.expect_error("PermissionDeniedError", c.delete_integration, c, integration)
      end
      support.expect_error("NotFoundError", o.update_integration, o, integration,
                           { name = support.unique("by-outsider") })
      assert.are.equal(before, w.admin:get_integration(integration).name)
      local renamed = support.unique("renamed")
      assert.are.equal(renamed, w.client("ws_admin"):update_integration(integration,
                                                                       { name = renamed }).name)
      -- credentials: members and admins, not viewers
      local viewer = w.client("viewer")
      e = support.expect_error("PermissionDeniedError", viewer.set_integration_credentials,
                               viewer, integration, { PERSONAL_TOKEN = secret() })
      assert.are.equal(403, e.http_status)
      assert.truthy(e.message:find("WORKSPACE_ROLE_VIEWER", 1, true), e.message)
      support.expect_error("NotFoundError", o.set_integration_credentials, o, integration,
                           { PERSONAL_TOKEN = secret() })
      local r = w.client("revoked")
      support.expect_error("AuthError", r.get_integration, r, integration)
      assert.are.equal(integration, w.admin:get_integration(integration).integration_id)
    end)

    it("keeps each member's credential status", function()
      local id = id_of(w.admin:create_integration(w.ws, support.unique("creds"), CUSTOM, {
        { name = "TOKEN_A", sensitivity = "members" },
        { name = "TOKEN_B", sensitivity = USER },
      }))
      local function status(caller)
        return w.client(caller):get_integration(id).credential_status
      end
      local none = { configured = false, missing = { "TOKEN_A", "TOKEN_B" } }
      for _, caller in ipairs({ "org_admin", "ws_admin", "member", "viewer", "victim" }) do
        assert.are.same(none, status(caller))
      end
      local member = w.client("member")
      local answer = member:set_integration_credentials(id, { TOKEN_A = secret() })
      assert.are.equal(id, answer.integration_id)
      assert.are.same({ configured = false, missing = { "TOKEN_B" } }, answer.credential_status)
      assert.are.same({ configured = false, missing = { "TOKEN_B" } }, status("member"))
      assert.are.same(none, status("victim"))
      assert.are.same(none, status("ws_admin"))
      answer = member:set_integration_credentials(id, { TOKEN_B = secret() })
      assert.is_true(answer.credential_status.configured)
      assert.are.equal(0, #answer.credential_status.missing)
      assert.is_true(status("member").configured)
      assert.are.same(none, status("victim"))
      w.client("victim"):set_integration_credentials(id, { TOKEN_A = secret(),
                                                           TOKEN_B = secret() })
      assert.is_true(status("victim").configured)
      -- Clearing one (JSON null).
      answer = member:set_integration_credentials(id, { TOKEN_A = assay.null })
      assert.are.same({ configured = false, missing = { "TOKEN_A" } }, answer.credential_status)
      assert.is_true(status("victim").configured)
    end)

    it("never shows a secret to members or viewers", function()
      local values = { ws_secret }
      for _, caller in ipairs({ "org_admin", "ws_admin", "member" }) do
        local v = secret()
        values[#values + 1] = v
        local answer = w.client(caller):set_integration_credentials(integration,
                                                                    { PERSONAL_TOKEN = v })
        assert_no_secret(answer, values, "set by " .. caller)
      end
      for _, caller in ipairs({ "org_admin", "ws_admin", "member", "viewer", "victim" }) do
        local c = w.client(caller)
        local record = c:get_integration(integration)
        assert_no_secret(record, values, "get by " .. caller)
        assert_no_secret(c:list_integrations(w.ws), values, "list by " .. caller)
        assert.are.equal("https://warehouse.example", by_name(record).HOST.value)
        assert.is_nil(by_name(record).PERSONAL_TOKEN.value)
      end
    end)

    it("refuses every bad input with a ConfigError object", function()
      local big = string.rep("x", 65537)
      local cases = {
        { "unknown type", "INTEGRATION_TYPE_FTP", assay.array(), "INTEGRATION_TYPE_FTP" },
        { "entry without name", CUSTOM, { { sensitivity = PUBLIC, value = "v" } }, "name" },
        { "entry without sensitivity", CUSTOM, { { name = "VAR_X", value = "v" } },
          "sensitivity" },
        { "unknown sensitivity", CUSTOM,
          { { name = "VAR_X", sensitivity = "top_secret", value = "v" } }, "top_secret" },
        { "duplicate names", CUSTOM, { { name = "VAR_X", sensitivity = PUBLIC, value = "v" },
                                       { name = "VAR_X", sensitivity = "members" } }, "VAR_X" },
        { "empty name", CUSTOM, { { name = "", sensitivity = PUBLIC, value = "v" } }, "name" },
        { "oversized value", CUSTOM, { { name = "VAR_X", sensitivity = "workspace",
                                         value = big } }, "65536" },
        { "value for a members-level variable", CUSTOM,
          { { name = "VAR_X", sensitivity = "members", value = "v" } }, "VAR_X" },
        { "not-sensitive where a secret is expected", "INTEGRATION_TYPE_AWS_ACCESS_KEY",
          { { name = "AWS_ACCESS_KEY_ID", sensitivity = PUBLIC, value = "AKIA" },
            { name = "AWS_SECRET_ACCESS_KEY", sensitivity = "not_sensitive", value = "v" } },
          "AWS_SECRET_ACCESS_KEY" },
        { "schema not a list", CUSTOM, { name = "VAR_X", sensitivity = PUBLIC, value = "v" },
          nil },
      }
      for _, case in ipairs(cases) do
        local what, itype, sch, word = case[1], case[2], case[3], case[4]
        local ok, e = pcall(w.admin.create_integration, w.admin, w.ws,
                            support.unique("bad"), itype, sch)
        assert.is_false(ok, what .. ": accepted")
        assert.is_true(assay.is_error(e, "ConfigError"), what .. ": " .. tostring(e))
        assert.are.equal(400, e.http_status, what)
        if word then
          assert.truthy(e.message:find(word, 1, true), what .. ": " .. e.message)
        end
        assert.is_nil(e.message:find(big, 1, true))
      end
      -- A value sent for a public variable, and an oversized member secret.
      local member = w.client("member")
      local value = secret()
      local e = support.expect_error("ConfigError", member.set_integration_credentials, member,
                                     integration, { HOST = value })
      assert.truthy(e.message:find("VARIABLE_SENSITIVITY_PUBLIC", 1, true), e.message)
      assert.is_nil(e.message:find(value, 1, true))
      assert.is_nil(tostring(e):find(value, 1, true))
      local huge = string.rep(value, 2100)
      e = support.expect_error("ConfigError", member.set_integration_credentials, member,
                               integration, { PERSONAL_TOKEN = huge })
      assert.is_nil(tostring(e):find(value, 1, true))
    end)
  end)
end
