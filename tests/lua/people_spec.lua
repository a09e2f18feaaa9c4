-- tests/lua/people_spec.lua — workspaces, users, membership and API tokens
-- from Lua, against the embedded platform (a client authenticating with a
-- user's token on the home) and a real assayd: records with canonical role
-- names, who may manage people, token scoping, listing without secrets,
-- revocation, expiry and token lifetimes, and removal ending a member's
-- tokens. Each test builds its own People world (support.people), so the
-- tests hold in any order (busted --shuffle). The full permission matrix
-- is in integrations_spec.lua.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")
local assay = require "assay"
local core = require "assay.core"

local ADMIN, MEMBER, VIEWER = "WORKSPACE_ROLE_ADMIN", "WORKSPACE_ROLE_MEMBER",
  "WORKSPACE_ROLE_VIEWER"
local DAY = 86400

-- The ids of a list of records under `key`, as a set.
local function set_of(list, key)
  local s = {}
  for _, r in ipairs(list) do
    s[r[key]] = r
  end
  return s
end

for _, mode in ipairs(support.modes) do
  describe("people and tokens (" .. mode .. ")", function()
    local env, w

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
    end)

    after_each(function()
      if w then
        w.close()
        w = nil
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

    it("refuses a number where a name string is expected", function()
      local before = #w.admin:list_workspaces()
      local e = support.expect_error("ConfigError", w.admin.create_workspace, w.admin, 42)
      assert.truthy(e.message:find("name must be a string", 1, true), e.message)
      assert.are.equal(before, #w.admin:list_workspaces())
      e = support.expect_error("ConfigError", w.admin.create_user, w.admin, 1234)
      assert.truthy(e.message:find("username must be a string", 1, true), e.message)
      assert.is_nil(set_of(w.admin:list_users(), "username")["1234"])
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

    it("shows each caller its workspaces and members; outsiders find nothing", function()
      for _, caller in ipairs({ "ws_admin", "member", "viewer" }) do
        local c = w.client(caller)
        assert.are.equal(w.ws, c:get_workspace(w.ws).workspace_id)
        local members = set_of(c:list_workspace_members(w.ws), "user_id")
        for _, name in ipairs({ "ws_admin", "member", "viewer", "victim" }) do
          assert.is_not_nil(members[w.user_id(name)], caller .. " does not see " .. name)
        end
        assert.is_nil(members[w.user_id("outsider")])
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
      -- The user's other token still works.
      assert.are.equal(w.ws, w.client("member"):get_workspace(w.ws).workspace_id)
    end)

    it("lists tokens without their secrets, each caller what it may see", function()
      local function ids(caller, ws, uid)
        local c = w.client(caller)
        local s = {}
        for _, t in ipairs(c:list_api_tokens(ws, uid)) do
          local text = core.assay_value_dump(t, 0)
          for _, token in pairs(w.tokens) do
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
      local in_ws = {}
      for _, k in ipairs({ "ws_admin", "member", "viewer", "victim", "expired", "revoked" }) do
        in_ws[w.token_ids[k]] = k == "expired" and "expired" or k == "revoked" and "revoked"
          or "active"
      end
      assert.are.same(in_ws, ids("org_admin", w.ws))
      assert.are.same(in_ws, ids("ws_admin"))
      assert.are.same({ [w.token_ids.member] = "active", [w.token_ids.expired] = "expired",
                        [w.token_ids.revoked] = "revoked" }, ids("member"))
      assert.are.same({ [w.token_ids.viewer] = "active" }, ids("viewer"))
      assert.are.same({ [w.token_ids.outsider] = "active" }, ids("outsider"))
      assert.are.same({ [w.token_ids.viewer] = "active" },
                      ids("org_admin", nil, w.user_id("viewer")))
    end)

    it("revokes tokens; a non-admin cannot mint or revoke for another user", function()
      local victim = w.user_id("victim")
      local member = w.client("member")
      local e = support.expect_error("PermissionDeniedError", member.create_api_token, member,
                                     w.ws, support.unique("for-victim"), victim, 1)
      assert.are.equal(403, e.http_status)
      local wadmin = w.client("ws_admin")
      support.expect_error("PermissionDeniedError", wadmin.create_api_token, wadmin, w.ws,
                           support.unique("for-victim"), victim, 1)
      -- Nothing was minted: the victim still has only their own token.
      local victims = w.admin:list_api_tokens(nil, victim)
      assert.are.equal(1, #victims)
      assert.are.equal(w.token_ids.victim, victims[1].id)

      local token, id = w.mint("victim")
      local c = w.client_for_token(token)
      assert.are.equal(w.ws, c:get_workspace(w.ws).workspace_id)
      support.expect_error("NotFoundError", member.revoke_api_token, member, id)
      assert.are.equal(w.ws, c:get_workspace(w.ws).workspace_id)
      assert.is_nil(wadmin:revoke_api_token(id))
      support.expect_error("AuthError", c.get_workspace, c, w.ws)
      assert.is_nil(w.admin:revoke_api_token(id)) -- idempotent
      support.expect_error("NotFoundError", w.admin.revoke_api_token, w.admin,
                           "00000000-0000-4000-8000-000000000000")
      -- A workspace admin cannot reach a token of another workspace.
      support.expect_error("NotFoundError", wadmin.revoke_api_token, wadmin,
                           w.token_ids.outsider)
      assert.are.equal(w.ws2, w.client("outsider"):get_workspace(w.ws2).workspace_id)

      -- Own tokens: minted for oneself, revoked by oneself.
      local own, own_record = member:create_api_token(nil, support.unique("own"), nil, 1)
      assert.are.equal(w.user_id("member"), own_record.user_id)
      assert.are.equal(w.ws, own_record.workspace_id)
      local oc = w.client_for_token(own)
      assert.are.equal(w.user_id("member"), oc:platform_info().user_id)
      oc:revoke_api_token(own_record.id)
      support.expect_error("AuthError", oc.platform_info, oc)
    end)

    it("gives tokens 270 days by default and 1..3650 days on request", function()
      local uid = w.user_id("member")
      local function lifetime(record)
        return support.epoch(record.expires_at) - support.epoch(record.created_at)
      end
      local _, record = w.admin:create_api_token(w.ws, support.unique("default"), uid)
      assert.are.equal(270 * DAY, lifetime(record))
      _, record = w.admin:create_api_token(w.ws, support.unique("long"), uid, 3650)
      assert.are.equal(3650 * DAY, lifetime(record))
      _, record = w.admin:create_api_token(w.ws, support.unique("short"), uid, 1)
      assert.are.equal(DAY, lifetime(record))
      local before = #w.admin:list_api_tokens(nil, uid)
      for _, days in ipairs({ 0, 3651, -2 }) do
        local e = support.expect_error("ConfigError", w.admin.create_api_token, w.admin, w.ws,
                                       support.unique("bad"), uid, days)
        assert.truthy(e.message:find("expires_in_days", 1, true), e.message)
      end
      support.expect_error("ConfigError", w.admin.create_api_token, w.admin, w.ws,
                           support.unique("float"), uid, 1.5)
      assert.are.equal(before, #w.admin:list_api_tokens(nil, uid))

      -- A member's token without expires_in_days ends with the caller's own;
      -- asking for more than the caller's is refused.
      local short, short_record = w.admin:create_api_token(w.ws, support.unique("five"), uid, 5)
      assert.are.equal(5 * DAY, lifetime(short_record))
      local c = w.client_for_token(short)
      local _, own = c:create_api_token(nil, support.unique("inherit"))
      assert.are.equal(short_record.expires_at, own.expires_at)
      assert.are.equal(uid, own.user_id)
      support.expect_error("PermissionDeniedError", c.create_api_token, c, nil,
                           support.unique("longer"), nil, 3650)
      support.expect_error("NotFoundError", c.create_api_token, c, w.ws2,
                           support.unique("away"))
      -- The org admin mints only for a member of the workspace (or an org admin).
      support.expect_error("ConfigError", w.admin.create_api_token, w.admin, w.ws,
                           support.unique("stranger"), w.user_id("outsider"))
    end)

    it("ends a removed member's tokens", function()
      local user = w.new_user("leaver", "member")
      local token = w.mint(user.user_id)
      local c = w.client_for_token(token)
      assert.are.equal(w.ws, c:get_workspace(w.ws).workspace_id)
      w.client("ws_admin"):remove_workspace_member(w.ws, user.user_id)
      support.expect_error("AuthError", c.get_workspace, c, w.ws)
      support.expect_error("AuthError", c.list_integrations, c, w.ws)
      local tokens = w.admin:list_api_tokens(nil, user.user_id)
      assert.are.equal(1, #tokens)
      assert.are.equal("revoked", tokens[1].status)
    end)

    it("keeps organisation admins out of a workspace admin's reach", function()
      local wa = w.client("ws_admin")
      local e = support.expect_error("PermissionDeniedError", wa.remove_workspace_member, wa,
                                     w.ws, w.admin_id)
      assert.truthy(e.message:find("organisation admin", 1, true), e.message)
      support.expect_error("PermissionDeniedError", wa.update_workspace_member, wa, w.ws,
                           w.admin_id, "viewer")
      local _, token_id = w.mint(w.admin_id)
      for _, t in ipairs(wa:list_api_tokens(w.ws)) do
        assert.are_not.equal(token_id, t.id)
      end
      support.expect_error("NotFoundError", wa.revoke_api_token, wa, token_id)
      local status
      for _, t in ipairs(w.admin:list_api_tokens(w.ws, w.admin_id)) do
        if t.id == token_id then
          status = t.status
        end
      end
      assert.are.equal("active", status)
    end)

    it("keeps the last admin of a workspace", function()
      local ws = w.admin:create_workspace(support.unique("solo")).workspace_id
      support.expect_error("ConflictError", w.admin.update_workspace_member, w.admin, ws,
                           w.admin_id, "member")
      support.expect_error("ConflictError", w.admin.remove_workspace_member, w.admin, ws,
                           w.admin_id)
      assert.are.equal(ADMIN, set_of(w.admin:list_workspace_members(ws), "user_id")
        [w.admin_id].role)
    end)
  end)
end
