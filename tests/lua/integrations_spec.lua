-- tests/lua/integrations_spec.lua — integrations, and the whole permission
-- matrix, from Lua, against the embedded platform and a real assayd:
--  - the matrix of tests/python/test_permissions.py: callers (org admin,
--    workspace admin, member, viewer, member of another workspace, expired
--    token, revoked token) × every integration, people, token, key and
--    project operation, each cell its own test expecting success or the
--    named error object, and refused mutating calls changing nothing;
--  - records, credential status per member, no secret value in any answer;
--  - update_integration (add, replace, remove, re-validation), every type
--    with its variables, empty arrays written `{}`;
--  - every bad input as a ConfigError object;
--  - key rotation with values stored.
-- Every test makes its own world, integration or platform (or, in the
-- matrix, its own targets), so they hold in any order (busted --shuffle).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")
local assay = require "assay"
local core = require "assay.core"

local CUSTOM = "INTEGRATION_TYPE_CUSTOM"
local PUBLIC = "VARIABLE_SENSITIVITY_PUBLIC"
local WORKSPACE = "VARIABLE_SENSITIVITY_WORKSPACE_SECRET"
local USER = "VARIABLE_SENSITIVITY_USER_SECRET"
local MISSING_ID = "00000000-0000-4000-8000-000000000000"
local UUID = "^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$"

-- A distinctive secret value: 32 characters, random per call.
local function secret()
  local t = { "S" }
  for i = 2, 32 do
    t[i] = string.char(string.byte("a") + math.random(0, 25))
  end
  return table.concat(t)
end

--- create_integration as documented: it answers the new id (a string) and
--- the whole record. Returns both.
local function create(c, ws, name, itype, schema)
  local id, record = c:create_integration(ws, name, itype, schema)
  assert.is_string(id, "create_integration did not answer the id first")
  assert.truthy(id:match(UUID), "not an integration id: " .. id)
  assert.is_table(record, "create_integration did not answer the record second")
  assert.are.equal(id, record.integration_id)
  assert.are.equal(name, record.name)
  assert.are.equal(ws, record.workspace_id)
  assert.are.equal(itype, record.integration_type)
  return id, record
end

local function by_name(record)
  local m = {}
  for _, v in ipairs(record.variables) do
    m[v.name] = v
  end
  return m
end

local function names_of(list, key)
  local t = {}
  for i, r in ipairs(list) do
    t[i] = r[key or "name"]
  end
  return t
end

local function contains(list, key, value)
  for _, r in ipairs(list) do
    if r[key] == value then
      return true
    end
  end
  return false
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

--- The sealed values stored for an integration, read from the store:
--- {["VARIABLE|user_id"] = sealed blob as hex} ("" user_id: the workspace value).
local function stored(home, integration_id)
  local t = {}
  for _, r in ipairs(support.sql(home, "SELECT name, user_id, hex(sealed) FROM "
                                   .. "integration_secrets WHERE integration_id = ?",
                                 integration_id)) do
    t[r[1] .. "|" .. r[2]] = r[3]
  end
  return t
end

local function keys(t)
  local k = {}
  for name in pairs(t) do
    k[#k + 1] = name
  end
  table.sort(k)
  return k
end

-- The permission matrix ----------------------------------------------------------

local CALLERS = { "org_admin", "ws_admin", "member", "viewer", "outsider", "expired", "revoked" }
local OK, PD, NF, AUTH = "success", "PermissionDeniedError", "NotFoundError", "AuthError"

local function row(...)
  local cells = { ... }
  assert(#cells == #CALLERS)
  local t = {}
  for i, caller in ipairs(CALLERS) do
    t[caller] = cells[i]
  end
  return t
end

local WS_ADMIN_ONLY = row(OK, OK, PD, PD, NF, AUTH, AUTH)
local ANY_ROLE = row(OK, OK, OK, OK, NF, AUTH, AUTH)
local MEMBER_UP = row(OK, OK, OK, PD, NF, AUTH, AUTH)
local ORG_ADMIN_ONLY = row(OK, PD, PD, PD, PD, AUTH, AUTH)
local ANYONE = row(OK, OK, OK, OK, OK, AUTH, AUTH)

local function matrix_schema()
  return {
    { name = "HOST", sensitivity = PUBLIC, value = "db.example" },
    { name = "WS_SECRET", sensitivity = WORKSPACE, value = "ws-secret-value-for-the-matrix" },
    { name = "MEMBER_TOKEN", sensitivity = USER },
  }
end

local function new_integration(w)
  return (create(w.admin, w.ws, support.unique("int"), CUSTOM, matrix_schema()))
end

-- The user behind a caller, and the workspace its token acts in.
local function caller_user(w, caller)
  if caller == "org_admin" then
    return w.admin_id
  elseif caller == "expired" or caller == "revoked" then
    return w.user_id("member")
  end
  return w.user_id(caller)
end

local function member_roles(w)
  local t = {}
  for _, m in ipairs(w.admin:list_workspace_members(w.ws)) do
    t[m.user_id] = m.role
  end
  return t
end

local function token_status(w, token_id)
  for _, t in ipairs(w.admin:list_api_tokens()) do
    if t.id == token_id then
      return t.status
    end
  end
end

local function named(prefix)
  return function()
    return { name = support.unique(prefix) }
  end
end

local function fresh_integration(w)
  return { id = new_integration(w), new_name = support.unique("renamed") }
end

local function fresh_user(role)
  return function(w)
    return { user_id = w.new_user("target", role).user_id }
  end
end

-- Each operation: prepare(w) -> args (as the admin), call(client, w, args)
-- -> result, check(w, args, ok, caller, result) asserting the state
-- afterwards (and, on success, the result), expected outcome per caller.
local OPERATIONS = {
  -- integrations
  { name = "create_integration", expected = WS_ADMIN_ONLY, prepare = named("int"),
    call = function(c, w, a)
      return c:create_integration(w.ws, a.name, CUSTOM, matrix_schema())
    end,
    check = function(w, a, ok, _, result)
      assert.are.equal(ok, contains(w.admin:list_integrations(w.ws), "name", a.name))
      if ok then
        assert.is_string(result)
      end
    end },
  { name = "list_integrations", expected = ANY_ROLE,
    call = function(c, w)
      return c:list_integrations(w.ws)
    end,
    check = function(w, _, ok, _, result)
      if ok then
        assert.is_true(contains(result, "integration_id", w.integration))
      end
    end },
  { name = "get_integration", expected = ANY_ROLE,
    call = function(c, w)
      return c:get_integration(w.integration)
    end,
    check = function(w, _, ok, _, result)
      if ok then
        assert.are.equal(w.integration, result.integration_id)
      end
    end },
  { name = "update_integration(name)", expected = WS_ADMIN_ONLY, prepare = fresh_integration,
    call = function(c, _, a)
      return c:update_integration(a.id, { name = a.new_name })
    end,
    check = function(w, a, ok)
      assert.are.equal(ok, w.admin:get_integration(a.id).name == a.new_name)
    end },
  { name = "update_integration(workspace secret)", expected = WS_ADMIN_ONLY,
    prepare = fresh_integration,
    call = function(c, _, a)
      return c:update_integration(a.id, { variables = {
        { name = "WS_SECRET", sensitivity = PUBLIC, value = "now public" } } })
    end,
    check = function(w, a, ok)
      local v = by_name(w.admin:get_integration(a.id)).WS_SECRET
      assert.are.equal(ok and PUBLIC or WORKSPACE, v.sensitivity)
      assert.are.same(ok and {} or { "WS_SECRET|" }, keys(stored(w.env.home, a.id)))
    end },
  { name = "delete_integration", expected = WS_ADMIN_ONLY, prepare = fresh_integration,
    call = function(c, _, a)
      return c:delete_integration(a.id)
    end,
    check = function(w, a, ok)
      if ok then
        support.expect_error(NF, w.admin.get_integration, w.admin, a.id)
      else
        assert.are.equal(a.id, w.admin:get_integration(a.id).integration_id)
      end
    end },
  { name = "set_integration_credentials", expected = MEMBER_UP, prepare = fresh_integration,
    call = function(c, _, a)
      return c:set_integration_credentials(a.id, { MEMBER_TOKEN = "member-value" })
    end,
    check = function(w, a, ok, caller, result)
      local expected = { "WS_SECRET|" }
      if ok then
        expected[2] = "MEMBER_TOKEN|" .. caller_user(w, caller)
        table.sort(expected)
        assert.is_true(result.credential_status.configured)
      end
      assert.are.same(expected, keys(stored(w.env.home, a.id)))
    end },
  -- workspaces, users, members
  { name = "get_workspace", expected = ANY_ROLE,
    call = function(c, w)
      return c:get_workspace(w.ws)
    end,
    check = function(w, _, ok, _, result)
      if ok then
        assert.are.equal(w.ws, result.workspace_id)
      end
    end },
  { name = "list_workspace_members", expected = ANY_ROLE,
    call = function(c, w)
      return c:list_workspace_members(w.ws)
    end,
    check = function(w, _, ok, _, result)
      if ok then
        assert.is_true(contains(result, "user_id", w.user_id("member")))
      end
    end },
  { name = "add_workspace_member", expected = WS_ADMIN_ONLY, prepare = fresh_user(nil),
    call = function(c, w, a)
      return c:add_workspace_member(w.ws, a.user_id, "WORKSPACE_ROLE_MEMBER")
    end,
    check = function(w, a, ok)
      assert.are.equal(ok and "WORKSPACE_ROLE_MEMBER" or nil, member_roles(w)[a.user_id])
    end },
  { name = "update_workspace_member", expected = WS_ADMIN_ONLY,
    prepare = fresh_user("WORKSPACE_ROLE_VIEWER"),
    call = function(c, w, a)
      return c:update_workspace_member(w.ws, a.user_id, "WORKSPACE_ROLE_MEMBER")
    end,
    check = function(w, a, ok)
      assert.are.equal(ok and "WORKSPACE_ROLE_MEMBER" or "WORKSPACE_ROLE_VIEWER",
                       member_roles(w)[a.user_id])
    end },
  { name = "remove_workspace_member", expected = WS_ADMIN_ONLY,
    prepare = fresh_user("WORKSPACE_ROLE_VIEWER"),
    call = function(c, w, a)
      return c:remove_workspace_member(w.ws, a.user_id)
    end,
    check = function(w, a, ok)
      assert.are.equal(not ok, member_roles(w)[a.user_id] ~= nil)
    end },
  { name = "list_workspaces", expected = ANYONE,
    call = function(c)
      return c:list_workspaces()
    end,
    check = function(w, _, ok, caller, result)
      if ok then
        local ws = caller == "outsider" and w.ws2 or w.ws
        assert.is_true(contains(result, "workspace_id", ws))
      end
    end },
  { name = "create_workspace", expected = ORG_ADMIN_ONLY, prepare = named("newws"),
    call = function(c, _, a)
      return c:create_workspace(a.name)
    end,
    check = function(w, a, ok)
      assert.are.equal(ok, contains(w.admin:list_workspaces(), "name", a.name))
    end },
  { name = "create_user", expected = ORG_ADMIN_ONLY, prepare = named("newuser"),
    call = function(c, _, a)
      return c:create_user(a.name)
    end,
    check = function(w, a, ok)
      assert.are.equal(ok, contains(w.admin:list_users(), "username", a.name))
    end },
  { name = "list_users", expected = ORG_ADMIN_ONLY,
    call = function(c)
      return c:list_users()
    end,
    check = function(w, _, ok, _, result)
      if ok then
        assert.is_true(contains(result, "user_id", w.user_id("victim")))
      end
    end },
  -- tokens
  { name = "list_api_tokens", expected = ANYONE,
    call = function(c)
      return c:list_api_tokens()
    end,
    check = function(w, _, ok, caller, result)
      if ok then
        local id = w.token_ids[caller == "org_admin" and "member" or caller]
        assert.is_true(contains(result, "id", id))
      end
    end },
  { name = "create_api_token(own)", expected = ANYONE, prepare = named("own"),
    call = function(c, _, a)
      local _, record = c:create_api_token(nil, a.name, nil, 1)
      return record
    end,
    check = function(w, a, ok, caller, result)
      assert.are.equal(ok, contains(w.admin:list_api_tokens(), "name", a.name))
      if ok then
        assert.are.equal(caller_user(w, caller), result.user_id)
      end
    end },
  -- (Refused as "for another user" before the workspace is looked at: the
  -- outsider learns nothing about ws either way.)
  { name = "create_api_token(for another user)", expected = row(OK, PD, PD, PD, PD, AUTH, AUTH),
    prepare = named("forother"),
    call = function(c, w, a)
      local _, record = c:create_api_token(w.ws, a.name, w.user_id("victim"), 1)
      return record
    end,
    check = function(w, a, ok)
      assert.are.equal(ok, contains(w.admin:list_api_tokens(nil, w.user_id("victim")), "name",
                                    a.name))
    end },
  { name = "revoke_api_token(another user's)", expected = row(OK, OK, NF, NF, NF, AUTH, AUTH),
    prepare = function(w)
      local token, id = w.mint("victim")
      return { token = token, id = id }
    end,
    call = function(c, _, a)
      return c:revoke_api_token(a.id)
    end,
    check = function(w, a, ok)
      assert.are.equal(ok and "revoked" or "active", token_status(w, a.id))
    end },
  -- administration
  { name = "rotate_secret_key", expected = ORG_ADMIN_ONLY,
    prepare = function(w)
      return { key = support.read_file(w.env.home .. "/secret.key") }
    end,
    call = function(c)
      return c:rotate_secret_key()
    end,
    check = function(w, a, ok, _, result)
      assert.is_string(a.key)
      assert.are.equal(ok, support.read_file(w.env.home .. "/secret.key") ~= a.key)
      if ok then
        assert.truthy(result.key_id:match("^%x+$") and #result.key_id == 16, result.key_id)
      end
    end },
  -- projects (they live in the caller's workspace and follow its roles)
  { name = "create_project", expected = row(OK, OK, OK, PD, OK, AUTH, AUTH),
    prepare = named("proj"),
    call = function(c, _, a)
      return c:create_project(a.name, "", "MODEL_TASK_REGRESSION")
    end,
    check = function(w, a, ok, caller)
      -- listed in the caller's workspace: the admin's own, ws2, or ws
      local lister = caller == "org_admin" and w.admin
        or w.client(caller == "outsider" and "outsider" or "ws_admin")
      assert.are.equal(ok, contains(lister:list_projects(), "name", a.name))
    end },
}

for _, mode in ipairs(support.modes) do
  describe("permission matrix (" .. mode .. ")", function()
    local env, w

    setup(function()
      env = support.platform(mode)
      w = support.people(env) -- shared: each cell changes only what it prepared
      w.integration = new_integration(w)
    end)

    teardown(function()
      if env then
        env.stop()
      end
    end)

    for _, op in ipairs(OPERATIONS) do
      for _, caller in ipairs(CALLERS) do
        local expected = op.expected[caller]
        it(op.name .. " by " .. caller .. ": " .. expected, function()
          local cell = string.format("cell %s by %s (%s)", op.name, caller, mode)
          local args = op.prepare and op.prepare(w) or {}
          local ok, result = pcall(op.call, w.client(caller), w, args)
          local got
          if ok then
            got = OK
          elseif assay.is_error(result) then
            got = result.name .. ": " .. result.message
          else
            got = "a plain Lua error: " .. tostring(result)
          end
          if expected == OK then
            assert(ok, cell .. ": expected success, got " .. got)
          else
            assert(not ok and assay.is_error(result, expected) and result.name == expected,
                   cell .. ": expected " .. expected .. ", got " .. got)
          end
          if op.check then
            local passed, why = pcall(op.check, w, args, ok, caller, ok and result or nil)
            assert(passed, cell .. ": the state afterwards is wrong: " .. tostring(why))
          end
        end)
      end
    end
  end)
end

-- Integrations ---------------------------------------------------------------------

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
    end)

    teardown(function()
      if env then
        env.stop()
      end
    end)

    before_each(function()
      w = support.people(env)
      ws_secret = secret()
      integration = create(w.admin, w.ws, support.unique("warehouse"), CUSTOM, schema())
    end)

    after_each(function()
      if w then
        w.close()
        w = nil
      end
    end)

    it("answers records with canonical sensitivities and only public values", function()
      local record = w.admin:get_integration(integration)
      assert.are.equal(integration, record.integration_id)
      assert.are.equal(w.ws, record.workspace_id)
      assert.are.equal(CUSTOM, record.integration_type)
      assert.are.equal(w.admin_id, record.created_by)
      assert.are.same({ "HOST", "SERVICE_PASSWORD", "PERSONAL_TOKEN" }, names_of(record.variables))
      local v = by_name(record)
      assert.are.equal(PUBLIC, v.HOST.sensitivity)
      assert.are.equal("https://warehouse.example", v.HOST.value)
      assert.are.equal(WORKSPACE, v.SERVICE_PASSWORD.sensitivity)
      assert.is_nil(v.SERVICE_PASSWORD.value)
      assert.is_true(v.SERVICE_PASSWORD.is_set)
      assert.are.equal(USER, v.PERSONAL_TOKEN.sensitivity)
      assert.is_false(v.PERSONAL_TOKEN.is_set)
      assert.are.same({ integration }, names_of(w.admin:list_integrations(w.ws),
                                                "integration_id"))
      assert.are.same({ "SERVICE_PASSWORD|" }, keys(stored(env.home, integration)))
    end)

    it("scopes tokens to their workspace", function()
      -- member, an admin of ws2 with a token of ws2, finds nothing of ws.
      w.admin:add_workspace_member(w.ws2, w.user_id("member"), "admin")
      local c = w.client_for_token((w.mint("member", w.ws2)))
      support.expect_error("NotFoundError", c.get_integration, c, integration)
      support.expect_error("NotFoundError", c.list_integrations, c, w.ws)
      support.expect_error("NotFoundError", c.get_workspace, c, w.ws)
      support.expect_error("NotFoundError", c.list_workspace_members, c, w.ws)
      support.expect_error("NotFoundError", c.set_integration_credentials, c, integration,
                           { PERSONAL_TOKEN = secret() })
      support.expect_error("NotFoundError", c.delete_integration, c, integration)
      assert.are.equal(integration, w.admin:get_integration(integration).integration_id)
      local other = create(c, w.ws2, support.unique("int"), CUSTOM, schema())
      assert.are.equal(w.ws2, c:get_integration(other).workspace_id)
      assert.are.same({ w.ws2 }, names_of(c:list_workspaces(), "workspace_id"))
    end)

    it("answers outsiders as for an unknown id, and names the roles to others", function()
      local name = w.admin:get_integration(integration).name
      local o = w.client("outsider")
      local foreign = support.expect_error("NotFoundError", o.get_integration, o, integration)
      local missing = support.expect_error("NotFoundError", o.get_integration, o, MISSING_ID)
      assert.are.equal(404, foreign.http_status)
      assert.are.equal(404, missing.http_status)
      assert.is_nil(foreign.message:find(name, 1, true))
      local function without(text, id)
        return (text:gsub((id:gsub("%-", "%%-")), "ID"))
      end
      assert.are.equal(without(missing.message, MISSING_ID), without(foreign.message, integration))
      local member = w.client("member")
      local e = support.expect_error("PermissionDeniedError", member.create_integration, member,
                                     w.ws, support.unique("int"), CUSTOM, schema())
      assert.are.equal(403, e.http_status)
      assert.truthy(e.message:find("WORKSPACE_ROLE_ADMIN", 1, true), e.message)
      assert.truthy(e.message:find("WORKSPACE_ROLE_MEMBER", 1, true), e.message)
      local viewer = w.client("viewer")
      e = support.expect_error("PermissionDeniedError", viewer.set_integration_credentials,
                               viewer, integration, { PERSONAL_TOKEN = secret() })
      assert.truthy(e.message:find("WORKSPACE_ROLE_MEMBER", 1, true), e.message)
      assert.truthy(e.message:find("WORKSPACE_ROLE_VIEWER", 1, true), e.message)
      for _, caller in ipairs({ "expired", "revoked" }) do
        local c = w.client(caller)
        e = support.expect_error("AuthError", c.list_integrations, c, w.ws)
        assert.are.equal(401, e.http_status)
        assert.truthy(e.message:find(caller, 1, true), e.message)
      end
    end)

    it("keeps each member's credential status", function()
      local id = create(w.admin, w.ws, support.unique("creds"), CUSTOM, {
        { name = "TOKEN_A", sensitivity = "members" },
        { name = "TOKEN_B", sensitivity = USER },
      })
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
      -- An integration without members-level variables is configured for all.
      local plain = create(w.admin, w.ws, support.unique("plain"), CUSTOM, {
        { name = "HOST", sensitivity = PUBLIC, value = "h" } })
      assert.are.same({ configured = true, missing = {} },
                      w.client("viewer"):get_integration(plain).credential_status)
    end)

    it("lets a member demoted to viewer clear, not set, their values", function()
      local member = w.client("member")
      member:set_integration_credentials(integration, { PERSONAL_TOKEN = secret() })
      w.admin:update_workspace_member(w.ws, w.user_id("member"), "viewer")
      assert.is_true(member:get_integration(integration).credential_status.configured)
      local e = support.expect_error("PermissionDeniedError", member.set_integration_credentials,
                                     member, integration, { PERSONAL_TOKEN = secret() })
      assert.truthy(e.message:find("may only clear its own values", 1, true), e.message)
      local answer = member:set_integration_credentials(integration,
                                                        { PERSONAL_TOKEN = assay.null })
      assert.are.same({ configured = false, missing = { "PERSONAL_TOKEN" } },
                      answer.credential_status)
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
        assert.is_nil(by_name(record).SERVICE_PASSWORD.value)
      end
    end)

    it("adds, replaces and removes variables; stored values follow", function()
      local admin, member = w.client("ws_admin"), w.client("member")
      local mine = secret()
      member:set_integration_credentials(integration, { PERSONAL_TOKEN = mine })
      local before = stored(env.home, integration)
      local uid = w.user_id("member")
      assert.are.same({ "PERSONAL_TOKEN|" .. uid, "SERVICE_PASSWORD|" }, keys(before))

      -- Add one, replace the public value and the workspace secret.
      local new_ws_value = secret()
      local record = admin:update_integration(integration, { variables = {
        { name = "REGION", sensitivity = "not_sensitive", value = "eu-west-1" },
        { name = "SERVICE_PASSWORD", sensitivity = "workspace", value = new_ws_value },
        { name = "HOST", sensitivity = PUBLIC, value = "https://new.example" },
      } })
      assert_no_secret(record, { new_ws_value, ws_secret, mine }, "update")
      assert.are.same({ "HOST", "SERVICE_PASSWORD", "PERSONAL_TOKEN", "REGION" },
                      names_of(record.variables))
      local v = by_name(record)
      assert.are.equal("eu-west-1", v.REGION.value)
      assert.are.equal("https://new.example", v.HOST.value)
      assert.are.equal(WORKSPACE, v.SERVICE_PASSWORD.sensitivity)
      assert.is_true(v.SERVICE_PASSWORD.is_set)
      local after = stored(env.home, integration)
      assert.are.same(keys(before), keys(after))
      assert.are_not.equal(before["SERVICE_PASSWORD|"], after["SERVICE_PASSWORD|"],
                           "the replaced workspace secret was not sealed anew")
      assert.are.equal(before["PERSONAL_TOKEN|" .. uid], after["PERSONAL_TOKEN|" .. uid],
                       "a member's value changed with an update that did not touch it")
      assert.are.same({ configured = true, missing = {} },
                      member:get_integration(integration).credential_status)
      -- Every stored value, the replaced secret too, still opens: a rotation
      -- re-seals each one and fails on any that does not open.
      local rotated = w.admin:rotate_secret_key()
      assert.is_true(rotated.secrets_resealed >= 2)
      assert.is_true(by_name(w.admin:get_integration(integration)).SERVICE_PASSWORD.is_set)

      -- A members-level variable turned into a workspace secret loses the
      -- members' values; turned back, each member must set theirs again.
      record = admin:update_integration(integration, { variables = {
        { name = "PERSONAL_TOKEN", sensitivity = "workspace", value = secret() } } })
      assert.are.equal(WORKSPACE, by_name(record).PERSONAL_TOKEN.sensitivity)
      assert.are.same({ "PERSONAL_TOKEN|", "SERVICE_PASSWORD|" },
                      keys(stored(env.home, integration)))
      admin:update_integration(integration, { variables = {
        { name = "PERSONAL_TOKEN", sensitivity = "members" } } })
      assert.are.same({ configured = false, missing = { "PERSONAL_TOKEN" } },
                      member:get_integration(integration).credential_status)
      assert.are.same({ "SERVICE_PASSWORD|" }, keys(stored(env.home, integration)))

      -- Removing: the variables and their stored values are gone.
      record = admin:update_integration(integration,
                                        { remove_variables = { "REGION", "SERVICE_PASSWORD" } })
      assert.are.same({ "HOST", "PERSONAL_TOKEN" }, names_of(record.variables))
      assert.is_nil(by_name(w.admin:get_integration(integration)).SERVICE_PASSWORD)
      assert.are.same({}, keys(stored(env.home, integration)))
      local e = support.expect_error("ConfigError", admin.update_integration, admin, integration,
                                     { remove_variables = { "NOPE" } })
      assert.truthy(e.message:find("NOPE", 1, true), e.message)
      assert.truthy(e.message:find("HOST", 1, true), e.message) -- lists the names there are
      support.expect_error("ConfigError", admin.update_integration, admin, integration,
                           { remove_variables = { "SERVICE_PASSWORD" } }) -- already gone
      -- Renaming; a name another integration has is a conflict.
      local renamed = support.unique("renamed")
      assert.are.equal(renamed, admin:update_integration(integration, { name = renamed }).name)
      local other = create(w.admin, w.ws, support.unique("other"), CUSTOM, schema())
      support.expect_error("ConflictError", admin.update_integration, admin, other,
                           { name = renamed })
      support.expect_error("NotFoundError", admin.update_integration, admin, MISSING_ID,
                           { name = "x" })
      assert.are.same({ "HOST", "PERSONAL_TOKEN" },
                      names_of(w.admin:get_integration(integration).variables))
    end)

    it("checks an updated integration against its type again", function()
      local id = create(w.admin, w.ws, support.unique("hf"), "INTEGRATION_TYPE_HUGGINGFACE",
                        { { name = "HUGGINGFACE_API_TOKEN", sensitivity = "members" } })
      local cases = {
        { "removing a required variable", { remove_variables = { "HUGGINGFACE_API_TOKEN" } },
          "HUGGINGFACE_API_TOKEN" },
        { "a secret of the type made public", { variables = {
          { name = "HUGGINGFACE_API_TOKEN", sensitivity = "not_sensitive", value = "v" } } },
          PUBLIC },
        { "a name the type does not take", { variables = {
          { name = "EXTRA", sensitivity = "not_sensitive", value = "v" } } }, "EXTRA" },
      }
      for _, case in ipairs(cases) do
        local e = support.expect_error("ConfigError", w.admin.update_integration, w.admin, id,
                                       case[2])
        assert.truthy(e.message:find(case[3], 1, true), case[1] .. ": " .. e.message)
      end
      local record = w.admin:get_integration(id)
      assert.are.equal(1, #record.variables)
      assert.are.equal("HUGGINGFACE_API_TOKEN", record.variables[1].name)
      assert.are.equal(USER, record.variables[1].sensitivity)
      -- What the type allows is accepted.
      record = w.admin:update_integration(id, { variables = {
        { name = "HUGGINGFACE_API_TOKEN", sensitivity = "workspace", value = secret() } } })
      assert.are.equal(WORKSPACE, record.variables[1].sensitivity)
    end)

    it("accepts every type with its variables", function()
      local types = {
        INTEGRATION_TYPE_CUSTOM = { { name = "ANYTHING", sensitivity = "members" } },
        INTEGRATION_TYPE_DATABRICKS = {
          { name = "DATABRICKS_HOST", sensitivity = "not_sensitive", value = "h" },
          { name = "DATABRICKS_TOKEN", sensitivity = "members" } },
        INTEGRATION_TYPE_AWS_ACCESS_KEY = {
          { name = "AWS_ACCESS_KEY_ID", sensitivity = "members" },
          { name = "AWS_SECRET_ACCESS_KEY", sensitivity = "workspace", value = "s" },
          { name = "AWS_SESSION_TOKEN", sensitivity = "members" },
          { name = "AWS_REGION", sensitivity = "not_sensitive", value = "eu-west-1" } },
        INTEGRATION_TYPE_AWS_ROLE_ARN = {
          { name = "AWS_ROLE_ARN", sensitivity = "not_sensitive", value = "arn" },
          { name = "AWS_REGION", sensitivity = "not_sensitive", value = "us-east-1" } },
        INTEGRATION_TYPE_HUGGINGFACE = {
          { name = "HUGGINGFACE_API_TOKEN", sensitivity = "workspace", value = "hf" } },
        INTEGRATION_TYPE_GCS = { { name = "GCS_SERVICE_ACCOUNT_JSON", sensitivity = "members" } },
        INTEGRATION_TYPE_AZURE_CLIENT_SECRET = {
          { name = "AZURE_TENANT_ID", sensitivity = "not_sensitive", value = "t" },
          { name = "AZURE_CLIENT_ID", sensitivity = "not_sensitive", value = "c" },
          { name = "AZURE_CLIENT_SECRET", sensitivity = "members" } },
        INTEGRATION_TYPE_AZURE_WORKLOAD_IDENTITY = {
          { name = "AZURE_TENANT_ID", sensitivity = "workspace", value = "t" },
          { name = "AZURE_CLIENT_ID", sensitivity = "not_sensitive", value = "c" } },
      }
      local count = 0
      for itype, sch in pairs(types) do
        local id = create(w.admin, w.ws, support.unique("typed"), itype, sch)
        local record = w.admin:get_integration(id)
        assert.are.equal(itype, record.integration_type)
        assert.are.same(names_of(sch), names_of(record.variables), itype)
        count = count + 1
      end
      assert.are.equal(8, count)
      assert.are.equal(9, #w.admin:list_integrations(w.ws))
    end)

    it("takes an empty table as an empty array where an array is meant", function()
      local sch = {}
      local id, record = create(w.admin, w.ws, support.unique("empty"), CUSTOM, sch)
      assert.are.equal(0, #record.variables)
      assert.are.same({ configured = true, missing = {} }, record.credential_status)
      assert.is_nil(getmetatable(sch), "the caller's schema table was changed")
      -- For a type with required variables the core says which are missing.
      local e = support.expect_error("ConfigError", w.admin.create_integration, w.admin, w.ws,
                                     support.unique("empty"), "INTEGRATION_TYPE_HUGGINGFACE", {})
      assert.truthy(e.message:find("missing: HUGGINGFACE_API_TOKEN", 1, true), e.message)
      -- Nothing to add or remove: the record is unchanged (and so is `changes`).
      local changes = { variables = {}, remove_variables = {} }
      local updated = w.admin:update_integration(integration, changes)
      assert.are.same({ "HOST", "SERVICE_PASSWORD", "PERSONAL_TOKEN" },
                      names_of(updated.variables))
      assert.is_nil(getmetatable(changes.variables))
      assert.is_nil(getmetatable(changes.remove_variables))
      assert.are.same({ "remove_variables", "variables" }, keys(changes))
      local name = support.unique("renamed")
      updated = w.admin:update_integration(integration, { name = name, variables = {} })
      assert.are.equal(name, updated.name)
      updated = w.admin:update_integration(id, { variables = {
        { name = "ADDED", sensitivity = PUBLIC, value = "v" } }, remove_variables = {} })
      assert.are.same({ "ADDED" }, names_of(updated.variables))
      -- A table that is not empty keeps its own shape: an object is refused.
      e = support.expect_error("ConfigError", w.admin.update_integration, w.admin, integration,
                               { variables = { name = "X", sensitivity = PUBLIC, value = "v" } })
      assert.truthy(e.message:find("array", 1, true), e.message)
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
        { "empty workspace secret", CUSTOM, { { name = "VAR_X", sensitivity = "workspace",
                                                value = "" } }, "empty" },
        { "value for a members-level variable", CUSTOM,
          { { name = "VAR_X", sensitivity = "members", value = "v" } }, "VAR_X" },
        { "not-sensitive where a secret is expected", "INTEGRATION_TYPE_AWS_ACCESS_KEY",
          { { name = "AWS_ACCESS_KEY_ID", sensitivity = PUBLIC, value = "AKIA" },
            { name = "AWS_SECRET_ACCESS_KEY", sensitivity = "not_sensitive", value = "v" } },
          "AWS_SECRET_ACCESS_KEY" },
        { "schema not a list", CUSTOM, { name = "VAR_X", sensitivity = PUBLIC, value = "v" },
          "array" },
      }
      for _, case in ipairs(cases) do
        local what, itype, sch, word = case[1], case[2], case[3], case[4]
        local name = support.unique("bad")
        local ok, e = pcall(w.admin.create_integration, w.admin, w.ws, name, itype, sch)
        assert.is_false(ok, what .. ": accepted")
        assert.is_true(assay.is_error(e, "ConfigError"), what .. ": " .. tostring(e))
        assert.are.equal("ConfigError", e.name, what)
        assert.are.equal(400, e.http_status, what)
        assert.truthy(e.message:find(word, 1, true), what .. ": " .. e.message)
        assert.is_nil(e.message:find(big, 1, true))
        assert.is_false(contains(w.admin:list_integrations(w.ws), "name", name), what)
      end
      -- Integration names: empty, multi-line, and not a string at all (a
      -- number is not turned into its text).
      local bad_names = { empty = "", ["two lines"] = "a\nb", long = string.rep("n", 257) }
      for what, name in pairs(bad_names) do
        local e = support.expect_error("ConfigError", w.admin.create_integration, w.admin, w.ws,
                                       name, CUSTOM, schema())
        assert.truthy(e.message:find("name", 1, true), what .. ": " .. e.message)
      end
      local e = support.expect_error("ConfigError", w.admin.create_integration, w.admin, w.ws, 5,
                                     CUSTOM, schema())
      assert.truthy(e.message:find("name must be a string", 1, true), e.message)
      e = support.expect_error("ConfigError", w.admin.get_integration, w.admin, 12)
      assert.truthy(e.message:find("must be a string", 1, true), e.message)
      assert.are.same({ integration }, names_of(w.admin:list_integrations(w.ws),
                                                "integration_id"))

      -- Bad updates change nothing.
      local before = w.admin:get_integration(integration)
      local sealed = stored(env.home, integration)
      local bad_updates = {
        { "empty name", { name = "" }, "name" },
        { "duplicate names in variables", { variables = {
          { name = "DUP", sensitivity = PUBLIC, value = "a" },
          { name = "DUP", sensitivity = PUBLIC, value = "b" } } }, "DUP" },
        { "empty workspace secret", { variables = {
          { name = "SERVICE_PASSWORD", sensitivity = "workspace", value = "" } } }, "empty" },
        { "remove_variables not a list", { remove_variables = "HOST" }, "remove_variables" },
      }
      for _, case in ipairs(bad_updates) do
        e = support.expect_error("ConfigError", w.admin.update_integration, w.admin,
                                 integration, case[2])
        assert.truthy(e.message:find(case[3], 1, true), case[1] .. ": " .. e.message)
      end
      assert.are.same(before, w.admin:get_integration(integration))
      assert.are.same(sealed, stored(env.home, integration))

      -- Credentials: a value for a public variable, an empty or oversized
      -- member secret.
      local member = w.client("member")
      local value = secret()
      e = support.expect_error("ConfigError", member.set_integration_credentials, member,
                               integration, { HOST = value })
      assert.truthy(e.message:find("VARIABLE_SENSITIVITY_PUBLIC", 1, true), e.message)
      assert.is_nil(e.message:find(value, 1, true))
      assert.is_nil(tostring(e):find(value, 1, true))
      e = support.expect_error("ConfigError", member.set_integration_credentials, member,
                               integration, { PERSONAL_TOKEN = "" })
      assert.truthy(e.message:find("empty", 1, true), e.message)
      local huge = string.rep(value, 2100)
      e = support.expect_error("ConfigError", member.set_integration_credentials, member,
                               integration, { PERSONAL_TOKEN = huge })
      assert.is_nil(tostring(e):find(value, 1, true))
      assert.are.same({ configured = false, missing = { "PERSONAL_TOKEN" } },
                      member:get_integration(integration).credential_status)
      assert.are.same(sealed, stored(env.home, integration))
    end)
  end)

  describe("key rotation (" .. mode .. ")", function()
    local env, w

    setup(function()
      env = support.platform(mode) -- its own: every stored value here is this test's
      w = support.people(env)
    end)

    teardown(function()
      if env then
        env.stop()
      end
    end)

    it("re-seals every stored value under a new key; each stays usable", function()
      local id = create(w.admin, w.ws, support.unique("rot"), CUSTOM, {
        { name = "WS", sensitivity = "workspace", value = secret() },
        { name = "MINE", sensitivity = "members" } })
      w.client("member"):set_integration_credentials(id, { MINE = secret() })
      w.client("ws_admin"):set_integration_credentials(id, { MINE = secret() })
      local rows = support.sql(env.home, "SELECT count(*) FROM integration_secrets")
      assert.are.equal("3", rows[1][1])
      local key_before = support.read_file(env.home .. "/secret.key")
      for _, caller in ipairs({ "ws_admin", "member", "viewer" }) do
        local c = w.client(caller)
        support.expect_error("PermissionDeniedError", c.rotate_secret_key, c)
      end
      assert.are.equal(key_before, support.read_file(env.home .. "/secret.key"))

      local first = w.admin:rotate_secret_key()
      assert.are.same({ "compacted", "key_id", "secrets_resealed" }, keys(first))
      assert.are.equal("boolean", type(first.compacted))
      assert.truthy(first.key_id:match("^%x+$") and #first.key_id == 16, first.key_id)
      assert.are.equal(3, first.secrets_resealed)
      assert.are_not.equal(key_before, support.read_file(env.home .. "/secret.key"))
      assert.are.equal("600", support.file_mode(env.home .. "/secret.key"))
      local second = w.admin:rotate_secret_key()
      assert.are.equal(3, second.secrets_resealed)
      assert.truthy(second.key_id:match("^%x+$") and #second.key_id == 16, second.key_id)
      assert.are_not.equal(first.key_id, second.key_id)
      for _, r in ipairs(support.sql(env.home,
                                     "SELECT DISTINCT key_id FROM integration_secrets")) do
        assert.are.equal(second.key_id, r[1])
      end

      for caller, configured in pairs({ member = true, ws_admin = true, viewer = false }) do
        local record = w.client(caller):get_integration(id)
        assert.are.equal(configured, record.credential_status.configured, caller)
        assert.is_true(by_name(record).WS.is_set)
      end
      -- Values stay clearable and writable under the new key.
      local member = w.client("member")
      assert.are.same({ configured = false, missing = { "MINE" } },
                      member:set_integration_credentials(id, { MINE = assay.null })
                        .credential_status)
      member:set_integration_credentials(id, { MINE = secret() })
      assert.are.equal(3, w.admin:rotate_secret_key().secrets_resealed)
      -- A new client on the same home reads everything with the new key.
      local fresh = env.client({ api_key = w.tokens.member })
      assert.is_true(fresh:get_integration(id).credential_status.configured)
    end)
  end)
end
