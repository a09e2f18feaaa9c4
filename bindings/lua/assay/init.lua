-- bindings/lua/assay/init.lua — the public Lua API of assay, a thin layer
-- over the private C module `assay.core` (SWIG). It only converts and adds
-- Lua idioms (methods called with `:`, error objects, `<close>`); every rule
-- (validation, defaults, messages) lives in the C core.
--
--   local assay = require "assay"
--   local client = assay.Client()            -- embedded platform in $ASSAY_HOME
--   local p = client:create_project("Fraud", "card fraud", "MODEL_TASK_BINARY_CLASSIFICATION")
--   for _, q in ipairs(client:list_projects()) do print(q.project_id, q.name) end
--
-- Values cross as tables: a table with keys 1..n is a JSON array, one with
-- string keys (or an empty one) a JSON object; `assay.array(t)` marks a
-- table as an array even when empty. (Parameters that are arrays by
-- definition — create_integration's schema, update_integration's variables
-- and remove_variables — take an empty plain table as the empty array.)
-- In results, JSON integers are Lua integers, arrays carry the
-- `assay.array` marker, a JSON null inside an object is an absent field
-- (nil) and inside an array the `assay.null` sentinel.
--
-- Errors are raised as error objects: tables {code, name, message,
-- http_status} sharing one metatable whose __tostring gives
-- "NameError: message". Catch them with pcall and test them with
-- assay.is_error(e, "ConfigError") (true for that error or a descendant,
-- following the core's error table).
local core = require "assay.core"

local assay = {}

--- The version of the loaded C library, e.g. "0.1.0".
assay.version = core.assay_version()

--- JSON null inside arrays (in results and in arguments).
assay.null = core.null

--- Mark `t` (default: a new table) as a JSON array; returns it.
function assay.array(t)
  return setmetatable(t or {}, core.array_mt)
end

-- Errors --------------------------------------------------------------------

--- The core's error table by name: assay.errors.NotFoundError is
--- {code = -3, name = "NotFoundError", parent = "Error", http_status = 404,
---  description = "..."}.
assay.errors = {}
for _, row in ipairs(core.assay_error_table_value()) do
  assay.errors[row.name] = row
end

--- True when `e` is an assay error object and, if `name` is given, is that
--- error or one of its descendants (e.g. a TimeoutError is a TransportError).
function assay.is_error(e, name)
  if type(e) ~= "table" or getmetatable(e) ~= core.error_metatable then
    return false
  end
  local n = e.name
  if name == nil then
    return true
  end
  while n ~= nil do
    if n == name then
      return true
    end
    local row = assay.errors[n]
    n = row and row.parent
  end
  return false
end

-- Projects ------------------------------------------------------------------

--- A project: project_id, name, description, and info (the whole record).
local Project = {}
Project.__index = Project
Project.__name = "assay.Project"
assay.Project = Project

local function new_project(client, record)
  return setmetatable({
    project_id = record.project_id,
    name = record.name,
    description = record.description,
    info = record,
    _client = client,
  }, Project)
end

function Project.__tostring(p)
  return string.format("Project(project_id=%q, name=%q)", tostring(p.project_id),
                       tostring(p.name))
end

-- Client --------------------------------------------------------------------

local Client = {}
Client.__index = Client
Client.__name = "assay.Client"
assay.Client = Client

-- The core handle of a client; anything else (a method called with `.`)
-- becomes nil, which the core refuses with a ConfigError.
local function handle(self)
  if type(self) == "table" then
    return rawget(self, "_handle")
  end
  return nil
end

--- assay.Client(domain, api_key, opts) or assay.Client{domain = ..., api_key = ...,
--- channel_timeout = ..., disable_tls = ..., ssl_ca_cert = ..., cert_file = ...,
--- key_file = ..., assert_hostname = ..., home = ..., max_retries = ...,
--- secret_key_file = ...}.
--- No domain: the embedded platform in `home` / $ASSAY_HOME / ~/.assay, acting
--- as its admin, or with an api_key as that token's user; secret_key_file
--- names its master key (default $ASSAY_SECRET_KEY_FILE, else <home>/secret.key).
local function new_client(domain, api_key, opts)
  local options
  if type(domain) == "table" and api_key == nil and opts == nil then
    options = domain
  elseif opts == nil or type(opts) == "table" then
    options = {}
    for k, v in pairs(opts or {}) do
      options[k] = v
    end
    if domain ~= nil then
      options.domain = domain
    end
    if api_key ~= nil then
      options.api_key = api_key
    end
  else
    options = opts -- not a table: the core says what is wrong with it
  end
  local h = core.assay_client_new_with(options)
  return setmetatable({ _handle = h, domain = options.domain }, Client)
end

setmetatable(Client, {
  __call = function(_, ...)
    return new_client(...)
  end,
})

function Client.__tostring(c)
  if c.domain then
    return string.format("assay.Client(%q)", tostring(c.domain))
  end
  return "assay.Client(embedded)"
end

--- The platform's identity: {version, api_version, user_id, workspace_id, embedded, ...}.
function Client:platform_info()
  return core.assay_client_platform_info(handle(self))
end

--- Create a project; `opts` may hold use_case, ethical_consideration,
--- profiling_config, general_access_role, run_time_info.
function Client:create_project(name, description, model_task, opts)
  local record = core.assay_client_create_project(handle(self), name, description, model_task,
                                                   opts)
  return new_project(self, record)
end

function Client:get_project(project_id)
  return new_project(self, core.assay_client_get_project(handle(self), project_id))
end

--- The projects of the workspace, oldest first, as an array of Project.
function Client:list_projects()
  local projects = {}
  for i, record in ipairs(core.assay_client_list_projects(handle(self))) do
    projects[i] = new_project(self, record)
  end
  return projects
end

--- Delete a project; `force` deletes one that still holds datasets, models or runs.
function Client:delete_project(project_id, force)
  core.assay_client_delete_project(handle(self), project_id, force)
end

--- Create an API token; returns the secret token and the whole record
--- {token, id, name, user_id, workspace_id, created_at, expires_at}.
--- nil workspace_id / user_id mean the caller's; nil expires_in_days the default.
function Client:create_api_token(workspace_id, name, user_id, expires_in_days)
  local record = core.assay_client_create_api_token(handle(self), workspace_id, name, user_id,
                                                     expires_in_days or
                                                       core.ASSAY_TOKEN_EXPIRY_DEFAULT)
  return record.token, record
end

--- The API tokens the caller may see (never their secrets), optionally only
--- those of `workspace_id` and/or `user_id` (nil: any): an array of {id, name,
--- user_id, workspace_id, created_at, expires_at, revoked_at, status}.
function Client:list_api_tokens(workspace_id, user_id)
  return core.assay_client_list_api_tokens(handle(self), workspace_id, user_id)
end

--- Revoke an API token by id (idempotent).
function Client:revoke_api_token(token_id)
  core.assay_client_revoke_api_token(handle(self), token_id)
end

-- Workspaces, users, members ----------------------------------------------------
-- Roles: "WORKSPACE_ROLE_ADMIN", "WORKSPACE_ROLE_MEMBER", "WORKSPACE_ROLE_VIEWER"
-- (or "admin", "member", "viewer").

--- Create a workspace (organisation admins); returns {workspace_id, name, created_at, role}.
function Client:create_workspace(name)
  return core.assay_client_create_workspace(handle(self), name)
end

--- The workspaces the caller can see, each with the caller's role.
function Client:list_workspaces()
  return core.assay_client_list_workspaces(handle(self))
end

function Client:get_workspace(workspace_id)
  return core.assay_client_get_workspace(handle(self), workspace_id)
end

--- Create a user (organisation admins); display_name may be nil. Returns
--- {user_id, username, display_name, is_org_admin, created_at}.
function Client:create_user(username, display_name)
  return core.assay_client_create_user(handle(self), username, display_name)
end

--- Every user (organisation admins).
function Client:list_users()
  return core.assay_client_list_users(handle(self))
end

--- Add a member with a role (workspace admins); returns the member record.
function Client:add_workspace_member(workspace_id, user_id, role)
  return core.assay_client_add_workspace_member(handle(self), workspace_id, user_id, role)
end

--- Change a member's role (workspace admins); returns the member record.
function Client:update_workspace_member(workspace_id, user_id, role)
  return core.assay_client_update_workspace_member(handle(self), workspace_id, user_id, role)
end

--- Remove a member (workspace admins): deletes their members-level
--- credentials in the workspace and revokes their tokens for it.
function Client:remove_workspace_member(workspace_id, user_id)
  core.assay_client_remove_workspace_member(handle(self), workspace_id, user_id)
end

--- The members of a workspace, by username.
function Client:list_workspace_members(workspace_id)
  return core.assay_client_list_workspace_members(handle(self), workspace_id)
end

-- Integrations ----------------------------------------------------------------

-- An empty plain table (no metatable) would cross as a JSON object; for a
-- parameter that is an array by definition it means the empty array. Any
-- other value is passed on as it is (the core says what is wrong with it).
-- The caller's table is never changed: a new marked table is answered.
local function as_array(value)
  if type(value) == "table" and getmetatable(value) == nil and next(value) == nil then
    return assay.array()
  end
  return value
end

--- Create an integration (workspace admins). `schema` is an array of
--- {name = ..., sensitivity = ..., value = ...}; sensitivity is
--- "VARIABLE_SENSITIVITY_PUBLIC" ("not_sensitive"), "..._WORKSPACE_SECRET"
--- ("workspace") or "..._USER_SECRET" ("members", no value). An empty
--- table `{}` is taken as the empty array (no variables), not as an
--- object. Returns the integration id and the whole record (never a
--- secret value).
function Client:create_integration(workspace_id, name, integration_type, schema)
  local record = core.assay_client_create_integration(handle(self), workspace_id, name,
                                                       integration_type, as_array(schema))
  return record.integration_id, record
end

--- The integrations of a workspace as the caller sees them, oldest first.
function Client:list_integrations(workspace_id)
  return core.assay_client_list_integrations(handle(self), workspace_id)
end

--- An integration's record: variables (name, sensitivity, value of
--- not-sensitive ones only, is_set) and the caller's credential_status.
function Client:get_integration(integration_id)
  return core.assay_client_get_integration(handle(self), integration_id)
end

--- Change an integration (workspace admins): `changes` is {name = ...,
--- variables = {entry, ...}, remove_variables = {name, ...}}, each optional.
--- An empty `variables = {}` / `remove_variables = {}` is taken as the empty
--- array (nothing to add / remove), not as an object; `changes` itself is
--- not modified. Returns the updated record.
function Client:update_integration(integration_id, changes)
  if type(changes) == "table" and getmetatable(changes) == nil then
    local variables, remove = as_array(changes.variables), as_array(changes.remove_variables)
    if variables ~= changes.variables or remove ~= changes.remove_variables then
      local copy = {}
      for k, v in pairs(changes) do
        copy[k] = v
      end
      copy.variables, copy.remove_variables = variables, remove
      changes = copy
    end
  end
  return core.assay_client_update_integration(handle(self), integration_id, changes)
end

function Client:delete_integration(integration_id)
  core.assay_client_delete_integration(handle(self), integration_id)
end

--- Set the caller's own members-level values: `credentials` maps variable
--- names to values (assay.null clears one). Returns {integration_id,
--- credential_status = {configured, missing}}.
function Client:set_integration_credentials(integration_id, credentials)
  return core.assay_client_set_integration_credentials(handle(self), integration_id,
                                                        credentials)
end

-- Administration ------------------------------------------------------------------

--- Re-encrypt every stored secret under a new master key (organisation
--- admins); returns {key_id, secrets_resealed, compacted}.
function Client:rotate_secret_key()
  return core.assay_client_rotate_secret_key(handle(self))
end

--- Send a raw REST request: method, path ("/v1/..."), body (a table, sent
--- as JSON; a string, sent as is; or nil). Returns the decoded answer (nil
--- when it has no body).
function Client:request(method, path, body)
  if type(body) == "table" then
    body = core.assay_value_dump(body, 0)
  end
  return core.assay_client_request(handle(self), method, path, body)
end

--- Close the client now (it is also closed when collected, or at the end
--- of a `local c <close> = assay.Client()` block). Later calls raise a
--- ConfigError.
function Client:close()
  local h = handle(self)
  if h ~= nil then
    core.client_close(h)
  end
end

Client.__close = Client.close

return assay
