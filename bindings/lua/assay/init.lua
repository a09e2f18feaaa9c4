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

-- A class of assay objects: the table of its methods, which is also its
-- objects' metatable (named "assay.<name>"), published as assay.<name>.
local function class(name)
  local c = {}
  c.__index = c
  c.__name = "assay." .. name
  assay[name] = c
  return c
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
local Project = class("Project")

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

-- The request of a register call: the fields given positionally plus `opts`
-- (a table of the optional ones; not modified). tags = {} is the empty array.
local function register_request(fields, opts)
  local req = {}
  if opts ~= nil and type(opts) ~= "table" then
    return opts -- not a table: the core says what is wrong with it
  end
  for k, v in pairs(opts or {}) do
    req[k] = v
  end
  for k, v in pairs(fields) do
    req[k] = v
  end
  if type(req.tags) == "table" and getmetatable(req.tags) == nil and next(req.tags) == nil then
    req.tags = assay.array()
  end
  return req
end

-- opts without the keys the Lua layer itself uses (upload_path, ...).
local function without(opts, ...)
  if type(opts) ~= "table" then
    return opts
  end
  local copy, drop = {}, {}
  for _, k in ipairs({ ... }) do
    drop[k] = true
  end
  for k, v in pairs(opts) do
    if not drop[k] then
      copy[k] = v
    end
  end
  return copy
end

local function phandle(p)
  return type(p) == "table" and type(p._client) == "table" and rawget(p._client, "_handle") or nil
end

local function pid(p)
  return type(p) == "table" and p.project_id or nil
end

local function one_of(kind, by_id, by_name)
  if (by_id == nil) == (by_name == nil) then
    error(core.config_error("give exactly one of " .. kind .. "_id and " .. kind .. "_name"), 3)
  end
end

--- Register a dataset: `data_config` is a rime-sdk data_info table; `opts`
--- may hold integration_id, tags, metadata, ct_info, skip_validation,
--- agent_id. Waits for the validation; returns the dataset id and record
--- (validity_status, validity_message, row_count, schema_profile).
function Project:register_dataset(name, data_config, opts)
  local r = core.assay_client_register_dataset(phandle(self), pid(self),
    register_request({ name = name, data_info = data_config }, opts), true)
  return r.dataset_id, r
end

--- Register an uploaded data file; `opts` may hold data_params and the
--- options of register_dataset.
function Project:register_dataset_from_file(name, remote_path, opts)
  local r = core.assay_client_register_dataset_from_file(phandle(self), pid(self),
    register_request({ name = name, remote_path = remote_path }, opts), true)
  return r.dataset_id, r
end

--- Upload a local data file (opts.upload_path) and register it.
function Project:upload_and_register_dataset_from_file(name, file_path, opts)
  local location = self._client:upload_file(file_path, type(opts) == "table" and opts.upload_path or nil)
  return self:register_dataset_from_file(name, location, without(opts, "upload_path"))
end

function Project:list_datasets()
  return core.assay_client_list_datasets(phandle(self), pid(self))
end

--- A dataset's record by id, or (dataset_id nil) by name.
function Project:get_dataset(dataset_id, dataset_name)
  one_of("dataset", dataset_id, dataset_name)
  if dataset_id ~= nil then
    return core.assay_client_get_dataset(phandle(self), dataset_id)
  end
  return core.assay_client_get_dataset_by_name(phandle(self), pid(self), dataset_name)
end

local function has(fn, ...)
  local ok, e = pcall(fn, ...)
  if ok then
    return true
  end
  if assay.is_error(e, "NotFoundError") then
    return false
  end
  error(e, 0)
end

function Project:has_dataset(dataset_id, dataset_name)
  return has(Project.get_dataset, self, dataset_id, dataset_name)
end

--- Delete a dataset, its predictions and its cached data.
function Project:delete_dataset(dataset_id)
  core.assay_client_delete_dataset(phandle(self), dataset_id)
end

--- Register a model: `model_config` nil (no model) or a model_info table;
--- `opts` may hold tags, metadata, external_id, integration_id,
--- model_endpoint_integration_id, agent_id. Returns the id and record.
function Project:register_model(name, model_config, opts)
  local r = core.assay_client_register_model(phandle(self), pid(self),
    register_request({ name = name, model_info = model_config }, opts))
  return r.model_id, r
end

function Project:register_model_from_path(name, remote_path, opts)
  local r = core.assay_client_register_model_from_path(phandle(self), pid(self),
    register_request({ name = name, remote_path = remote_path }, opts))
  return r.model_id, r
end

--- Upload a model file (or with opts.upload_model_dir its folder;
--- opts.upload_hidden, opts.upload_path) and register it.
function Project:upload_and_register_model_from_path(name, file_path, opts)
  local o = type(opts) == "table" and opts or {}
  local location
  if o.upload_model_dir then
    location = self._client:upload_directory(file_path, o.upload_hidden, o.upload_path)
  else
    location = self._client:upload_file(file_path, o.upload_path)
  end
  return self:register_model_from_path(name, location,
    without(opts, "upload_model_dir", "upload_hidden", "upload_path"))
end

function Project:list_models()
  return core.assay_client_list_models(phandle(self), pid(self))
end

function Project:get_model(model_id, model_name)
  one_of("model", model_id, model_name)
  if model_id ~= nil then
    return core.assay_client_get_model(phandle(self), model_id)
  end
  return core.assay_client_get_model_by_name(phandle(self), pid(self), model_name)
end

function Project:has_model(model_id, model_name)
  return has(Project.get_model, self, model_id, model_name)
end

function Project:delete_model(model_id)
  core.assay_client_delete_model(phandle(self), model_id)
end

--- Register a model's predictions on a dataset: `pred_config` is
--- {connection_info = ..., pred_params = {pred_col = ...}}; `opts` may hold
--- integration_id, tags, metadata, skip_validation, agent_id.
function Project:register_predictions(dataset_id, model_id, pred_config, opts)
  local r = core.assay_client_register_predictions(phandle(self), pid(self),
    register_request({ dataset_id = dataset_id, model_id = model_id, pred_info = pred_config },
                     opts), true)
  return r.prediction_id, r
end

function Project:register_predictions_from_file(dataset_id, model_id, remote_path, opts)
  local r = core.assay_client_register_predictions_from_file(phandle(self), pid(self),
    register_request({ dataset_id = dataset_id, model_id = model_id, remote_path = remote_path },
                     opts), true)
  return r.prediction_id, r
end

function Project:list_predictions(model_id, dataset_id)
  return core.assay_client_list_predictions(phandle(self), pid(self), model_id, dataset_id)
end

function Project:get_predictions(model_id, dataset_id)
  return core.assay_client_get_predictions(phandle(self), pid(self), model_id, dataset_id)
end

function Project:has_predictions(model_id, dataset_id)
  return has(Project.get_predictions, self, model_id, dataset_id)
end

function Project:delete_predictions(model_id, dataset_id)
  local r = self:get_predictions(model_id, dataset_id)
  core.assay_client_delete_predictions(phandle(self), r.prediction_id)
end

-- Jobs ----------------------------------------------------------------------

--- A job: job_id, job_type, and info (the last fetched record).
local Job = class("Job")

local function new_job(client, record)
  return setmetatable({ job_id = record.job_id, job_type = record.job_type, info = record,
                        _client = client }, Job)
end

function Job.__tostring(j)
  return string.format("Job(job_id=%q, job_type=%q, status=%q)", tostring(j.job_id),
                       tostring(j.job_type), tostring(j.info and j.info.status))
end

local FINAL = { JOB_STATUS_SUCCEEDED = true, JOB_STATUS_FAILED = true,
                JOB_STATUS_CANCELLED = true }
local STRESS = "JOB_TYPE_STRESS_TEST"

-- A printer of a stress job's progress: prints "n / m tests completed"
-- when it changed since the last line it printed.
local function progress_printer()
  local last
  return function(record)
    local p = type(record) == "table" and record.progress
    if type(p) ~= "table" or math.type(p.total) ~= "integer" or p.total <= 0 then
      return -- not a stress test, or not counted yet
    end
    local done = math.type(p.done) == "integer" and p.done or 0
    local line = string.format("%d / %d tests completed", done, p.total)
    if line ~= last then
      last = line
      print(line)
    end
  end
end

--- The job's state {id, type, status, start_time_secs, running_time_secs};
--- opts: verbose (default true: print it, a stress test's progress
--- "n / m tests completed" — also while waiting — and the log on failure),
--- wait_until_finish (default false), poll_rate_sec (default 5).
function Job:get_status(opts)
  opts = opts or {}
  local h = phandle(self)
  local verbose = opts.verbose ~= false
  local show = verbose and progress_printer() or nil
  local poll = opts.poll_rate_sec or 5.0
  if opts.wait_until_finish and not verbose then
    self.info = core.assay_client_wait_job(h, self.job_id, poll, 0.0)
  elseif opts.wait_until_finish then
    self.info = core.assay_client_get_job(h, self.job_id)
    while not FINAL[self.info.status] do
      show(self.info)
      local ok, r = pcall(core.assay_client_wait_job, h, self.job_id, poll, poll)
      if ok then
        self.info = r
      elseif assay.is_error(r, "TimeoutError") then
        self.info = core.assay_client_get_job(h, self.job_id)
      else
        error(r, 0)
      end
    end
  else
    self.info = core.assay_client_get_job(h, self.job_id)
  end
  local r = self.info
  local status = { id = r.job_id, type = r.job_type, status = r.status,
                   start_time_secs = r.start_time_secs, running_time_secs = r.running_time_secs }
  if verbose then
    print(string.format("Job %s (%s): %s, running time %.1f s", r.job_id, r.job_type, r.status,
                        r.running_time_secs or 0))
    show(r)
    if r.status == "JOB_STATUS_FAILED" then
      print(self:get_log())
    end
  end
  return status
end

--- Cancel the job: a pending one is JOB_STATUS_CANCELLED at once, a running
--- one stops within about a second and ends cancelled; a finished one is a
--- ConfigError. Returns the job's record.
function Job:cancel()
  self.info = core.assay_client_cancel_job(phandle(self), self.job_id)
  return self.info
end

--- The id of the test run a succeeded stress test job produced; a job that
--- has not succeeded (or is not a stress test) is a ConfigError saying its
--- status.
function Job:get_test_run_id()
  self.info = core.assay_client_get_job(phandle(self), self.job_id)
  local r = self.info
  if r.job_type ~= STRESS then
    error(core.config_error(string.format(
      "job %s is a %s job, not a stress test (%s): it has no test run",
      tostring(self.job_id), tostring(r.job_type), STRESS)), 2)
  end
  if r.status ~= "JOB_STATUS_SUCCEEDED" then
    local reason = r.error_msg and (": " .. r.error_msg) or ""
    error(core.config_error(string.format(
      "job %s has no test run: it is %s, not JOB_STATUS_SUCCEEDED%s", tostring(self.job_id),
      tostring(r.status), reason)), 2)
  end
  return r.result.test_run_id
end

--- The assay.TestRun a succeeded stress test job produced.
function Job:get_test_run()
  return self._client:get_test_run(self:get_test_run_id())
end

--- The failure's message (nil unless the job failed), fresh.
function Job:error_msg()
  self.info = core.assay_client_get_job(phandle(self), self.job_id)
  return self.info.error_msg
end

--- The job's log: the output of user code it ran, secrets redacted.
function Job:get_log()
  return core.assay_client_get_job_log(phandle(self), self.job_id).log
end

-- Client --------------------------------------------------------------------

local Client = class("Client")

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
  return setmetatable({ _handle = h, domain = options.domain,
                        disable_tls = options.disable_tls == true }, Client)
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

-- Files ---------------------------------------------------------------------------

--- Upload a file (streamed; any size); returns its location
--- ("assay://files/<upload_path>/<name>", what configs reference) and record.
function Client:upload_file(file_path, upload_path)
  local r = core.assay_client_upload_file(handle(self), file_path, upload_path)
  return r.location, r
end

--- Upload a directory tree; hidden files only with upload_hidden. Returns the
--- directory's location and {location, files}.
function Client:upload_directory(dir_path, upload_hidden, upload_path)
  local r = core.assay_client_upload_directory(handle(self), dir_path, upload_hidden, upload_path)
  return r.location, r
end

--- Upload a table of columns as a CSV file: `columns` is an array of
--- {name = ..., values = {...}} (column order kept) or a table
--- {name = {values...}} (columns ordered by name); assay.null is a null.
--- `name` defaults to "data.csv". Returns the location and record.
function Client:upload_data_frame(columns, name, upload_path)
  if type(columns) == "table" and getmetatable(columns) == nil and #columns == 0
     and next(columns) ~= nil then
    local names = {}
    for k in pairs(columns) do
      names[#names + 1] = k
    end
    if pcall(table.sort, names) then
      local ordered = assay.array()
      for i, k in ipairs(names) do
        ordered[i] = { name = k, values = columns[k] }
      end
      columns = ordered
    end
  end
  local r = core.assay_client_upload_columns(handle(self), columns, name, upload_path)
  return r.location, r
end

--- The locations of the files uploaded to the caller's workspace.
function Client:list_uploaded_file_urls()
  local urls = {}
  for i, f in ipairs(core.assay_client_list_uploaded_files(handle(self))) do
    urls[i] = f.location
  end
  return urls
end

--- The uploaded files' records {location, path, size, blake2b, uploaded_by, uploaded_at}.
function Client:list_uploaded_files()
  return core.assay_client_list_uploaded_files(handle(self))
end

--- Delete an uploaded file (or every file under a directory location).
function Client:delete_uploaded_file_url(url)
  core.assay_client_delete_uploaded_file(handle(self), url)
end

--- The job with this id (an assay.Job).
function Client:get_job(job_id)
  return new_job(self, core.assay_client_get_job(handle(self), job_id))
end

-- Stress tests and their results ------------------------------------------------
-- Result "DataFrames" are arrays of records (one table per row); integers
-- stay Lua integers and a null cell is an absent field.

--- The results of one test type in a run: test_run_id, test_type, info
--- (the batch record without its cases).
local TestBatch = class("TestBatch")

local function new_test_batch(client, test_run_id, record)
  local info = {}
  for k, v in pairs(record) do
    if k ~= "test_cases" then
      info[k] = v
    end
  end
  return setmetatable({ test_run_id = test_run_id, test_type = record.test_type, info = info,
                        _client = client }, TestBatch)
end

function TestBatch.__tostring(b)
  return string.format("TestBatch(test_run_id=%q, test_type=%q)", tostring(b.test_run_id),
                       tostring(b.test_type))
end

--- The batch as one flat table: test_run_id, test_type, test_name, category,
--- description, duration_in_millis, severity, failing_features,
--- ["summary_counts.total"] (pass, warning, fail, skip); with
--- show_batch_metrics each batch metric under its own name.
function TestBatch:summary(show_batch_metrics)
  local flat = { test_run_id = self.test_run_id }
  for k, v in pairs(self.info) do
    if k ~= "metrics" and k ~= "test_run_id" then
      if type(v) == "table" and getmetatable(v) ~= core.array_mt then
        for sub, item in pairs(v) do
          flat[k .. "." .. sub] = item
        end
      else
        flat[k] = v
      end
    end
  end
  if show_batch_metrics then
    for name, value in pairs(self.info.metrics or {}) do
      flat[name] = value
    end
  end
  return flat
end

--- The batch's test cases as an array of records (see TestRun:get_test_cases_df).
function TestBatch:get_test_cases_df(show_test_case_metrics)
  return core.assay_client_get_test_cases(phandle(self), self.test_run_id, self.test_type,
                                          show_test_case_metrics and true or false)
end

--- A finished stress test run: test_run_id, name, info (the run's summary
--- record: ids, model_task, times, summary_counts, severity_counts,
--- category_results ...).
local TestRun = class("TestRun")

local function new_test_run(client, record)
  return setmetatable({ test_run_id = record.test_run_id, name = record.name, info = record,
                        _client = client }, TestRun)
end

function TestRun.__tostring(r)
  return string.format("TestRun(test_run_id=%q, name=%q)", tostring(r.test_run_id),
                       tostring(r.name))
end

local function rid(r)
  return type(r) == "table" and r.test_run_id or nil
end

--- One record for the run, in an array (a one-row frame): ids, model_task,
--- times, duration_in_millis, ["summary_counts.*"], ["severity_counts.*"].
function TestRun:get_result_df()
  return assay.array({ core.assay_client_get_test_run_result(phandle(self), rid(self)) })
end

--- One record per test case of every batch: test_run_id, test_batch_type,
--- features, status, severity, category, importance_score (skip_reason);
--- with show_test_case_metrics each metric under its own name too.
function TestRun:get_test_cases_df(show_test_case_metrics)
  return core.assay_client_get_test_cases(phandle(self), rid(self), nil,
                                          show_test_case_metrics and true or false)
end

--- One record per category run: severity, test_types, failing_test_types,
--- duration_in_millis, ["summary_counts.*"].
function TestRun:get_category_results_df(show_category_results_metrics)
  return core.assay_client_get_category_results(phandle(self), rid(self),
                                                show_category_results_metrics and true or false)
end

--- The run's test batches (an array of assay.TestBatch), in catalogue order.
function TestRun:get_test_batches()
  local batches = assay.array()
  for i, b in ipairs(core.assay_client_list_test_batches(phandle(self), rid(self))) do
    batches[i] = new_test_batch(self._client, rid(self), b)
  end
  return batches
end

--- The batch of one test type; a NotFoundError listing the run's test
--- types for one it did not run.
function TestRun:get_test_batch(test_type)
  return new_test_batch(self._client, rid(self),
                        core.assay_client_get_test_batch(phandle(self), rid(self), test_type))
end

--- The whole run document (every batch and case, metrics and details).
function TestRun:get_document()
  return core.assay_client_get_test_run_document(phandle(self), rid(self))
end

--- Where the run lives: "<platform URL>/v1/test-runs/<id>" for a client of
--- an assayd, "assay://test-runs/<id>" on the embedded platform.
function TestRun:get_link()
  local c = type(self) == "table" and self._client or {}
  local domain = c.domain
  if domain == nil or domain == "" then
    return "assay://test-runs/" .. tostring(rid(self))
  end
  if not domain:find("://", 1, true) then
    domain = (c.disable_tls and "http://" or "https://") .. domain
  end
  return (domain:gsub("/+$", "")) .. "/v1/test-runs/" .. tostring(rid(self))
end

--- The run's self-contained HTML report, as a string.
function TestRun:get_report_html()
  return core.assay_client_get_test_run_report(phandle(self), rid(self)).html
end

--- Write the HTML report to `path`; returns the path. A file that cannot
--- be written is a ConfigError naming it.
function TestRun:write_report(path)
  local html = self:get_report_html()
  local f, err = io.open(path, "wb")
  if not f then
    error(core.config_error("write_report: cannot open " .. tostring(path) .. ": "
                            .. tostring(err)), 2)
  end
  local ok, werr = f:write(html)
  f:close()
  if not ok then
    error(core.config_error("write_report: cannot write " .. tostring(path) .. ": "
                            .. tostring(werr)), 2)
  end
  return path
end

--- Start a stress test of `test_run_config` (run_name, model_id,
--- data_info = {ref_dataset_id, eval_dataset_id}, categories,
--- test_suite_config, run_time_info) in a project; returns its assay.Job.
--- A bad config is a ConfigError naming the key, a model or dataset not in
--- the project a NotFoundError. There are no agents in assay: `agent_id`
--- must be nil.
function Client:start_stress_test(test_run_config, project_id, agent_id)
  if agent_id ~= nil then
    error(core.config_error("agent_id: agents are not supported by assay (stress tests run on "
                            .. "the platform's own workers); pass nil, got "
                            .. tostring(agent_id)), 2)
  end
  return new_job(self, core.assay_client_start_stress_test(handle(self), project_id,
                                                           test_run_config))
end

--- The finished test run with this id (an assay.TestRun); NotFoundError if none.
function Client:get_test_run(test_run_id)
  return new_test_run(self, core.assay_client_get_test_run(handle(self), test_run_id))
end

--- The project's stress test jobs (an array of assay.Job), newest first;
--- `status_filters` (an array of JOB_STATUS_* names) keeps those in one of
--- these states.
function Project:list_stress_testing_jobs(status_filters)
  local filter = { job_type = STRESS }
  if status_filters ~= nil then
    filter.status = as_array(status_filters)
  end
  local jobs = assay.array()
  for i, r in ipairs(core.assay_client_list_jobs(phandle(self), pid(self), filter)) do
    jobs[i] = new_job(self._client, r)
  end
  return jobs
end

--- The project's test runs (an array of assay.TestRun), newest first.
function Project:list_test_runs()
  local runs = assay.array()
  for i, r in ipairs(core.assay_client_list_test_runs(phandle(self), pid(self))) do
    runs[i] = new_test_run(self._client, r)
  end
  return runs
end

--- Set the categories (TEST_CATEGORY_TYPE_* names) the project's stress
--- tests run when their config names none; `info` then holds the updated
--- record. Returns it.
function Project:update_stress_test_categories(categories)
  self.info = core.assay_client_update_stress_test_categories(phandle(self), pid(self),
                                                               as_array(categories))
  return self.info
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
