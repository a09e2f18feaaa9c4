-- examples/quickstart.lua — first steps with assay from Lua.
--
-- Opens the embedded platform (in $ASSAY_HOME, default ~/.assay), creates
-- the project "Fraud" — or reuses it when it already exists (ConflictError)
-- — and lists the projects. Pass a server URL and a token to use an assayd:
--   lua5.4 examples/quickstart.lua http://127.0.0.1:8080 "$(cat ~/.assay/admin.token)"
local assay = require "assay"

local client
if arg[1] then
  client = assay.Client(arg[1], arg[2] or "")
else
  client = assay.Client()
end

local ok, project = pcall(client.create_project, client, "Fraud", "card fraud model",
                          "MODEL_TASK_BINARY_CLASSIFICATION")
if ok then
  print("created project", project.project_id)
elseif assay.is_error(project, "ConflictError") then
  -- The name is taken in this workspace: an earlier run made it.
  for _, p in ipairs(client:list_projects()) do
    if p.name == "Fraud" then project = p end
  end
  print("reusing project", project.project_id)
else
  error(project, 0)
end

for _, p in ipairs(client:list_projects()) do print(p.project_id, p.name) end
