-- tests/lua/people_spec.lua — workspaces, users, membership and API tokens
-- from Lua, against the embedded platform (a client authenticating with a
-- user's token on the home) and a real assayd: records with canonical role
-- names, who may manage people, token scoping, listing without secrets,
-- revocation, expiry, and removal ending a member's tokens.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")
local assay = require "assay"
local core = require "assay.core"

local ADMIN, MEMBER, VIEWER = "WORKSPACE_ROLE_ADMIN", "WORKSPACE_ROLE_MEMBER",
  "WORKSPACE_ROLE_VIEWER"

-- Move a token's expiry into the past (the API cannot mint one that short).
local function expire_token(home, token_id)
  local script = table.concat({
    "import sqlite3, sys, time",
    "db = sqlite3.connect(sys.argv[1], timeout=30)",
    "cur = db.execute('UPDATE api_tokens SET expires_at = ? WHERE id = ?',"
      .. " (int(time.time()) - 3600, sys.argv[2]))",
    "db.commit()",
    "sys.exit(0 if cur.rowcount == 1 else 1)",
  }, "\n")
  local ok = os.execute("python3 -c " .. support.quote(script) .. " "
    .. support.quote(home .. "/assay.db") .. " " .. support.quote(token_id))
  assert(ok, "could not expire token " .. token_id)
end

-- The ids of a list of records under `key`, as a set.
local function set_of(list, key)
  local s = {}
  for _, r in ipairs(list) do
    s[r[key]] = r
  end
  return s
end

--- A small organisation built by the platform's admin: workspace ws with
--- ws_admin / member / viewer / victim, workspace ws2 with outsider, a token
--- (and a client) for each, and an expired and a revoked token of member.
local function build_world(env)
  local w = { env = env, admin = env.client(), users = {}, tokens = {}, token_ids = {},
              clients = {} }
  w.admin_id = w.admin:platform_info().user_id
  w.ws = w.admin:create_workspace(support.unique("lua-ws")).workspace_id
  w.ws2 = w.admin:create_workspace(support.unique("lua-ws2")).workspace_id
  local function mint(user_id, ws, days)
    local token, record = w.admin:create_api_token(ws, support.unique("token"), user_id, days)
    return token, record.id
  end
  for _, spec in ipairs({ { "ws_admin", w.ws, ADMIN }, { "member", w.ws, MEMBER },
                          { "viewer", w.ws, VIEWER }, { "victim", w.ws, MEMBER },
                          { "outsider", w.ws2, MEMBER } }) do
    local name, ws, role = spec[1], spec[2], spec[3]
    local user = w.admin:create_user(support.unique(name), "User " .. name)
    w.admin:add_workspace_member(ws, user.user_id, role)
    w.users[name] = user
    w.tokens[name], w.token_ids[name] = mint(user.user_id, ws)
  end
  w.tokens.expired, w.token_ids.expired = mint(w.users.member.user_id, w.ws, 1)
  expire_token(env.home, w.token_ids.expired)
  w.tokens.revoked, w.token_ids.revoked = mint(w.users.member.user_id, w.ws)
  w.admin:revoke_api_token(w.token_ids.revoked)
  w.mint = mint
  function w.client(caller)
    if caller == "org_admin" then
      return w.admin
    end
    if not w.clients[caller] then
      w.clients[caller] = env.client({ api_key = w.tokens[caller] })
    end
    return w.clients[caller]
  end
  return w
end

for _, mode in ipairs(support.modes) do
  describe("people and tokens (" .. mode .. ")", function()
    local env, w

    setup(function()
      env = support.platform(mode)
      w = build_world(env)
    end)

    teardown(function()
      if env then
        env.stop()
      end
    end)

    it("creates workspaces and users; the creator is the workspace's admin", function()
      local name = support.unique("team")
      local ws = w.admin:create_workspace(name)
      assert.are.equal(name, ws.name)
      assert.are.equal(ADMIN, ws.role)
      assert.is_string(ws.created_at)
      assert.are.same(ws, w.admin:get_workspace(ws.workspace_id))
      assert.is_not_nil(set_of(w.admin:list_workspaces(), "workspace_id")[ws.workspace_id])
      support.expect_error("ConflictError", w.admin.create_workspace, w.admin, name)
      support.expect_error("ConfigError", w.admin.create_workspace, w.admin, "")

      local user = w.admin:create_user(support.unique("zed"))
      assert.is_false(user.is_org_admin)
      assert.is_nil(user.display_name)
      assert.is_not_nil(set_of(w.admin:list_users(), "user_id")[user.user_id])
      support.expect_error("ConflictError", w.admin.create_user, w.admin, user.username)
      local e = support.expect_error("ConfigError", w.admin.create_user, w.admin, "has space")
      assert.are.equal(400, e.http_status)
    end)

    it("takes role aliases and answers canonical names", function()
      local ws = w.admin:create_workspace(support.unique("roles")).workspace_id
      for alias, canonical in pairs({ admin = ADMIN, member = MEMBER, viewer = VIEWER }) do
        local user = w.admin:create_user(support.unique(alias))
        local m = w.admin:add_workspace_member(ws, user.user_id, alias)
        assert.are.equal(canonical, m.role)
        assert.are.equal(user.username, m.username)
        assert.are.equal(canonical, set_of(w.admin:list_workspace_members(ws), "user_id")
          [user.user_id].role)
        if alias == "viewer" then
          assert.are.equal(MEMBER, w.admin:update_workspace_member(ws, user.user_id,
                                                                   "member").role)
          assert.is_nil(w.admin:remove_workspace_member(ws, user.user_id))
          assert.is_nil(set_of(w.admin:list_workspace_members(ws), "user_id")[user.user_id])
        end
      end
      local user = w.admin:create_user(support.unique("bad-role"))
      local e = support.expect_error("ConfigError", w.admin.add_workspace_member, w.admin, ws,
                                     user.user_id, "owner")
      assert.truthy(e.message:find(VIEWER, 1, true), e.message)
    end)

    it("lets only the right callers manage people", function()
      local function fresh_user()
        return w.admin:create_user(support.unique("target")).user_id
      end
      -- org admin and workspace admin add members; member and viewer may not;
      -- an outsider does not even find the workspace.
      for caller, expected in pairs({ org_admin = true, ws_admin = true,
                                      member = "PermissionDeniedError",
                                      viewer = "PermissionDeniedError",
                                      outsider = "NotFoundError", expired = "AuthError",
                                      revoked = "AuthError" }) do
        local c = w.client(caller)
        local uid = fresh_user()
        if expected == true then
          assert.are.equal(MEMBER, c:add_workspace_member(w.ws, uid, MEMBER).role)
        else
          support.expect_error(expected, c.add_workspace_member, c, w.ws, uid, MEMBER)
          assert.is_nil(set_of(w.admin:list_workspace_members(w.ws), "user_id")[uid],
                        caller .. " added a member")
        end
      end
      for _, caller in ipairs({ "ws_admin", "member", "viewer", "outsider" }) do
        local c = w.client(caller)
        support.expect_error("PermissionDeniedError", c.create_workspace, c,
                             support.unique("nope"))
        support.expect_error("PermissionDeniedError", c.create_user, c, support.unique("nope"))
        support.expect_error("PermissionDeniedError", c.list_users, c)
      end
      for _, caller in ipairs({ "ws_admin", "member", "viewer" }) do
        local c = w.client(caller)
        assert.are.equal(w.ws, c:get_workspace(w.ws).workspace_id)
        assert.is_true(#c:list_workspace_members(w.ws) >= 4)
        local listed = c:list_workspaces()
        assert.are.equal(1, #listed)
        assert.are.equal(w.ws, listed[1].workspace_id)
      end
      local o = w.client("outsider")
      support.expect_error("NotFoundError", o.get_workspace, o, w.ws)
      support.expect_error("NotFoundError", o.list_workspace_members, o, w.ws)
      for _, caller in ipairs({ "expired", "revoked" }) do
        local c = w.client(caller)
        local e = support.expect_error("AuthError", c.get_workspace, c, w.ws)
        assert.are.equal(401, e.http_status)
        assert.truthy(e.message:find(caller, 1, true), e.message)
      end
    end)

    it("lists tokens without their secrets, each caller what it may see", function()
      local function ids(caller, ws, uid)
        local c = w.client(caller)
        local s = {}
        for _, t in ipairs(c:list_api_tokens(ws, uid)) do
          for _, token in pairs(w.tokens) do
            local text = core.assay_value_dump(t, 0)
            assert.is_nil(text:find(token, 1, true), "a token secret in a listing")
          end
          assert.is_nil(t.token)
          s[t.id] = t.status
        end
        return s
      end
      local all = ids("org_admin")
      assert.are.equal("active", all[w.token_ids.member])
      assert.are.equal("expired", all[w.token_ids.expired])
      assert.are.equal("revoked", all[w.token_ids.revoked])
      assert.are.equal("active", all[w.token_ids.outsider])
      local wadmin = ids("ws_admin")
      assert.is_not_nil(wadmin[w.token_ids.viewer])
      assert.is_nil(wadmin[w.token_ids.outsider])
      local mine = ids("member")
      assert.are.same({ [w.token_ids.member] = "active", [w.token_ids.expired] = "expired",
                        [w.token_ids.revoked] = "revoked" }, mine)
      assert.are.same({ [w.token_ids.viewer] = "active" }, ids("org_admin", nil,
                                                               w.users.viewer.user_id))
    end)

    it("revokes tokens; a non-admin cannot mint or revoke for another user", function()
      local victim = w.users.victim.user_id
      local member = w.client("member")
      local e = support.expect_error("PermissionDeniedError", member.create_api_token, member,
                                     w.ws, support.unique("for-victim"), victim, 1)
      assert.are.equal(403, e.http_status)
      local wadmin = w.client("ws_admin")
      support.expect_error("PermissionDeniedError", wadmin.create_api_token, wadmin, w.ws,
                           support.unique("for-victim"), victim, 1)

      local token, id = w.mint(victim, w.ws)
      local c = env.client({ api_key = token })
      assert.are.equal(w.ws, c:get_workspace(w.ws).workspace_id)
      support.expect_error("NotFoundError", member.revoke_api_token, member, id)
      assert.are.equal(w.ws, c:get_workspace(w.ws).workspace_id)
      assert.is_nil(wadmin:revoke_api_token(id))
      support.expect_error("AuthError", c.get_workspace, c, w.ws)
      assert.is_nil(w.admin:revoke_api_token(id)) -- idempotent

      -- Own tokens: minted for oneself, revoked by oneself.
      local own = member:create_api_token(nil, support.unique("own"), nil, 1)
      local oc = env.client({ api_key = own })
      assert.are.equal(w.users.member.user_id, oc:platform_info().user_id)
      local own_id
      for _, t in ipairs(member:list_api_tokens()) do
        if t.status == "active" and t.id ~= w.token_ids.member then
          own_id = t.id
        end
      end
      assert.is_string(own_id)
      oc:revoke_api_token(own_id)
      support.expect_error("AuthError", oc.platform_info, oc)
    end)

    it("ends a removed member's tokens", function()
      local user = w.admin:create_user(support.unique("leaver"))
      w.admin:add_workspace_member(w.ws, user.user_id, "member")
      local token = w.mint(user.user_id, w.ws)
      local c = env.client({ api_key = token })
      assert.are.equal(w.ws, c:get_workspace(w.ws).workspace_id)
      w.client("ws_admin"):remove_workspace_member(w.ws, user.user_id)
      support.expect_error("AuthError", c.get_workspace, c, w.ws)
      support.expect_error("AuthError", c.list_integrations, c, w.ws)
    end)

    it("keeps the last admin of a workspace", function()
      local ws = w.admin:create_workspace(support.unique("solo")).workspace_id
      support.expect_error("ConflictError", w.admin.update_workspace_member, w.admin, ws,
                           w.admin_id, "member")
      support.expect_error("ConflictError", w.admin.remove_workspace_member, w.admin, ws,
                           w.admin_id)
    end)
  end)
end
