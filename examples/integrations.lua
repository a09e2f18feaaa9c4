-- examples/integrations.lua — a custom integration with the three sensitivities.
--
-- On the embedded platform (in $ASSAY_HOME, default ~/.assay), as its admin:
-- creates the user "ana" and the workspace "News team" (or reuses them), makes
-- ana a member, and creates the custom integration "news-bucket" with
--   BUCKET_NAME        not sensitive: everyone in the workspace sees the value
--   ACCESS_KEY         workspace secret: set once by an admin, never shown
--   SECRET_ACCESS_KEY  members secret: each member sets their own
-- Then ana, with her own API token, sets her SECRET_ACCESS_KEY and prints the
-- integration as she sees it (no secret values) and her credential status.
--
--   ASSAY_HOME=/tmp/demo-home lua5.4 examples/integrations.lua
local assay = require "assay"

-- create(); or, when the name is taken (an earlier run), the listed one.
local function find_or_create(create, list, key, value)
  local ok, record = pcall(create)
  if ok then return record end
  if not assay.is_error(record, "ConflictError") then error(record, 0) end
  for _, r in ipairs(list()) do
    if r[key] == value then return r end
  end
end

local function status_text(s)
  if s.configured then return "configured" end
  return "missing " .. table.concat(s.missing, ", ")
end

local admin = assay.Client()
local ana = find_or_create(function() return admin:create_user("ana", "Ana Analyst") end,
                           function() return admin:list_users() end, "username", "ana")
local ws = find_or_create(function() return admin:create_workspace("News team") end,
                          function() return admin:list_workspaces() end, "name",
                          "News team").workspace_id
local ok, e = pcall(admin.add_workspace_member, admin, ws, ana.user_id, "WORKSPACE_ROLE_MEMBER")
if not ok and not assay.is_error(e, "ConflictError") then error(e, 0) end -- else: a member already

for _, old in ipairs(admin:list_integrations(ws)) do
  if old.name == "news-bucket" then admin:delete_integration(old.integration_id) end
end
local integration_id = admin:create_integration(ws, "news-bucket", "INTEGRATION_TYPE_CUSTOM", {
  { name = "BUCKET_NAME", sensitivity = "VARIABLE_SENSITIVITY_PUBLIC", value = "rime-datasets" },
  { name = "ACCESS_KEY", sensitivity = "VARIABLE_SENSITIVITY_WORKSPACE_SECRET",
    value = "AKIA-EXAMPLE-WORKSPACE-KEY" },
  { name = "SECRET_ACCESS_KEY", sensitivity = "VARIABLE_SENSITIVITY_USER_SECRET" },
})
print("integration", integration_id)

-- Ana acts with her own token: on the embedded platform too, a client given
-- an api_key is that token's user, with her role in the workspace.
local token = admin:create_api_token(ws, "ana-example", ana.user_id, 1)
do
  local as_ana <close> = assay.Client { api_key = token }
  print("before: " .. status_text(as_ana:get_integration(integration_id).credential_status))
  as_ana:set_integration_credentials(integration_id, { SECRET_ACCESS_KEY = "ana-example-secret" })
  local seen = as_ana:get_integration(integration_id)
  for _, v in ipairs(seen.variables) do
    print(string.format("  %-18s %-40s %s", v.name, v.sensitivity,
                        v.value or ("(secret, set: " .. tostring(v.is_set) .. ")")))
  end
  print("after: " .. status_text(seen.credential_status))
end
admin:close()
