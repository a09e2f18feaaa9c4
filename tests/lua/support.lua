-- tests/lua/support.lua — shared by the busted specs of tests/lua: temporary
-- homes, a real assayd on a free loopback port, the two platforms every
-- scenario runs against, and error capture. Loaded with dofile() from the
-- specs (busted does not put tests/lua on package.path).
local M = {}

-- The build to test: $ASSAY_BUILD_DIR, else build/ of this checkout.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
M.build_dir = os.getenv("ASSAY_BUILD_DIR")
if M.build_dir == nil or M.build_dir == "" then
  M.build_dir = here .. "../../build"
end

-- Without `. scripts/activate`, find the module in that build.
if not package.searchpath("assay.core", package.cpath) then
  package.path = M.build_dir .. "/lua/?.lua;" .. M.build_dir .. "/lua/?/init.lua;" .. package.path
  package.cpath = M.build_dir .. "/lua/?.so;" .. package.cpath
end
local assay = require "assay"

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.quote = quote

function M.sleep(seconds)
  os.execute("sleep " .. seconds)
end

function M.read_file(path)
  local f = io.open(path, "rb")
  if not f then
    return nil
  end
  local text = f:read("a")
  f:close()
  return text
end

--- A new empty directory (mode 0700) under the system's temp directory.
function M.tmpdir()
  local name = os.tmpname()
  os.remove(name)
  assert(os.execute("mkdir -m 700 " .. quote(name)), "cannot create " .. name)
  return name
end

function M.rmtree(path)
  if path and path:match("^/tmp/") then
    os.execute("rm -rf " .. quote(path))
  end
end

function M.write_file(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

function M.exists(path)
  return os.execute("test -e " .. quote(path)) == true
end

function M.is_dir(path)
  return os.execute("test -d " .. quote(path)) == true
end

--- Wall-clock seconds (from /proc/uptime, 10 ms resolution): for durations.
function M.now()
  local f = assert(io.open("/proc/uptime"))
  local t = f:read("n")
  f:close()
  return t
end

--- The pid of this Lua process.
function M.pid()
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("n")
  f:close()
  return math.tointeger(pid)
end

--- How many file descriptors this Lua process has open right now.
function M.count_fds()
  local p = assert(io.popen("ls /proc/" .. M.pid() .. "/fd"))
  local n = 0
  for _ in p:lines() do
    n = n + 1
  end
  p:close()
  return n
end

-- Child Lua processes ---------------------------------------------------------

M.lua_exe = "lua5.4"

--- Run `script` (Lua source) in a child `lua5.4` that finds the same assay
--- module as this process. `env` maps variable names to values, or to false
--- to unset them. Returns ok, exit code, stdout, stderr.
function M.run_lua(script, env)
  local dir = M.tmpdir()
  local file, err = dir .. "/child.lua", dir .. "/child.err"
  M.write_file(file, script)
  local words = { "env" }
  local vars = {
    LUA_PATH = package.path, LUA_PATH_5_4 = package.path,
    LUA_CPATH = package.cpath, LUA_CPATH_5_4 = package.cpath,
  }
  for k, v in pairs(env or {}) do
    vars[k] = v
  end
  local names = {}
  for k in pairs(vars) do
    names[#names + 1] = k
  end
  table.sort(names)
  for _, k in ipairs(names) do
    if vars[k] == false then
      words[#words + 1] = "-u " .. k
    end
  end
  for _, k in ipairs(names) do
    if vars[k] then
      words[#words + 1] = k .. "=" .. quote(vars[k])
    end
  end
  words[#words + 1] = quote(M.lua_exe) .. " " .. quote(file) .. " 2>" .. quote(err) .. " </dev/null"
  local p = assert(io.popen(table.concat(words, " "), "r"))
  local out = p:read("a")
  local ok, _, code = p:close()
  local errtext = M.read_file(err) or ""
  M.rmtree(dir)
  return ok == true, code, out, errtext
end

-- A silent TCP server ---------------------------------------------------------

local SILENT_SERVER = [[
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen(16)
s.settimeout(0.5)
print(s.getsockname()[1], flush=True)
held = []
deadline = time.monotonic() + 300  # never outlives a crashed test run by long
while time.monotonic() < deadline:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    held.append(c)  # keep it open, never read nor answer
    print("accepted", flush=True)
]]

--- Start a child that listens on a free loopback port, accepts connections
--- and never answers them. Returns {port, url, pid, dir, accepted(), stop()}.
function M.start_silent_server()
  local dir = M.tmpdir()
  M.write_file(dir .. "/silent.py", SILENT_SERVER)
  local srv = { dir = dir }
  local cmd = string.format(
    "(python3 %s >%s 2>%s & echo $! >%s; wait $!; echo $? >%s) >/dev/null 2>&1 </dev/null &",
    quote(dir .. "/silent.py"), quote(dir .. "/out"), quote(dir .. "/err"),
    quote(dir .. "/pid"), quote(dir .. "/exit"))
  local p = assert(io.popen(cmd, "r"))
  p:read("a")
  p:close()
  function srv.accepted()
    local _, n = (M.read_file(dir .. "/out") or ""):gsub("accepted\n", "")
    return n
  end
  function srv.stop()
    srv.pid = srv.pid or (M.read_file(dir .. "/pid") or ""):match("%d+")
    if srv.pid and not M.exists(dir .. "/exit") then
      os.execute("kill -TERM " .. srv.pid .. " 2>/dev/null")
      for _ = 1, 200 do
        if M.exists(dir .. "/exit") then
          break
        end
        M.sleep(0.05)
      end
      if not M.exists(dir .. "/exit") then
        os.execute("kill -KILL " .. srv.pid .. " 2>/dev/null")
      end
    end
    M.rmtree(dir)
  end
  for _ = 1, 300 do -- up to ~15 s
    local port = (M.read_file(dir .. "/out") or ""):match("^(%d+)\n")
    if port then
      srv.port = math.tointeger(tonumber(port))
      srv.url = "http://127.0.0.1:" .. port
      srv.pid = (M.read_file(dir .. "/pid") or ""):match("%d+")
      return srv
    end
    if M.exists(dir .. "/exit") then
      local err = M.read_file(dir .. "/err") or ""
      srv.stop()
      error("the silent server exited at start: " .. err)
    end
    M.sleep(0.05)
  end
  srv.stop()
  error("the silent server did not print its port within 15 s")
end

-- assayd ----------------------------------------------------------------------

local Server = {}
Server.__index = Server

local function server_exited(s)
  return M.read_file(s.home .. "/assayd.exit") ~= nil
end

--- Start `assayd --home HOME --listen 127.0.0.1:0` in the background and
--- wait for its "assayd listening on http://127.0.0.1:PORT" line. A wrapper
--- shell waits for it and records its exit status, so it never lingers as
--- a zombie. Returns {home, port, url, token, pid}.
function M.start_assayd(home, extra_args)
  home = home or M.tmpdir()
  local exe = M.build_dir .. "/core/tools/assayd"
  local s = setmetatable({ home = home }, Server)
  os.remove(home .. "/assayd.exit")
  local cmd = string.format(
    "(%s --home %s --listen 127.0.0.1:0 %s >%s 2>%s & echo $! >%s; wait $!; echo $? >%s) "
      .. ">/dev/null 2>&1 </dev/null &",
    quote(exe), quote(home), extra_args or "", quote(home .. "/assayd.out"),
    quote(home .. "/assayd.err"), quote(home .. "/assayd.pid"), quote(home .. "/assayd.exit"))
  local p = assert(io.popen(cmd, "r"))
  p:read("a")
  p:close()
  for _ = 1, 300 do -- up to ~15 s
    local out = M.read_file(home .. "/assayd.out") or ""
    local port = out:match("assayd listening on http://127%.0%.0%.1:(%d+)")
    if port then
      s.port = math.tointeger(tonumber(port))
      s.url = "http://127.0.0.1:" .. port
      s.pid = (M.read_file(home .. "/assayd.pid") or ""):match("%d+")
      s.token = (M.read_file(home .. "/admin.token") or ""):match("^%s*(.-)%s*$")
      return s
    end
    if server_exited(s) then
      error("assayd exited at start: " .. (M.read_file(home .. "/assayd.err") or ""))
    end
    M.sleep(0.05)
  end
  s.pid = (M.read_file(home .. "/assayd.pid") or ""):match("%d+")
  s:stop()
  error("assayd did not say it was listening within 15 s: "
        .. (M.read_file(home .. "/assayd.err") or ""))
end

--- Stop with SIGTERM (SIGKILL after 10 s); returns its exit status text.
function Server:stop()
  if self.pid and not server_exited(self) then
    os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
    for _ = 1, 200 do
      if server_exited(self) then
        break
      end
      M.sleep(0.05)
    end
    if not server_exited(self) then
      os.execute("kill -KILL " .. self.pid .. " 2>/dev/null")
    end
  end
  return (M.read_file(self.home .. "/assayd.exit") or ""):match("%d+")
end

-- The two platforms -----------------------------------------------------------

M.modes = { "embedded", "remote" }

--- A platform to run scenarios against: `env.client(opts)` opens a client on
--- it (embedded: in a temp home; remote: on a fresh assayd with the admin
--- token); `env.stop()` closes everything and removes the home.
function M.platform(mode)
  local env = { mode = mode, clients = {} }
  if mode == "embedded" then
    env.home = M.tmpdir()
    function env.client(opts)
      local o = { home = env.home }
      for k, v in pairs(opts or {}) do
        o[k] = v
      end
      local c = assay.Client(o)
      env.clients[#env.clients + 1] = c
      return c
    end
  else
    env.server = M.start_assayd()
    env.home = env.server.home
    function env.client(opts)
      local o = { domain = env.server.url, api_key = env.server.token, channel_timeout = 30 }
      for k, v in pairs(opts or {}) do
        o[k] = v
      end
      local c = assay.Client(o)
      env.clients[#env.clients + 1] = c
      return c
    end
  end
  function env.stop()
    for _, c in ipairs(env.clients) do
      c:close()
    end
    local status, err = "0", ""
    if env.server then
      status = env.server:stop()
      err = M.read_file(env.home .. "/assayd.err") or ""
    end
    M.rmtree(env.home)
    if status ~= "0" then
      error("assayd did not exit 0 on SIGTERM but with " .. tostring(status) .. ": " .. err)
    end
  end
  return env
end

-- Errors ----------------------------------------------------------------------

--- Call fn(...) expecting it to raise an assay error object named `name`;
--- returns the error object. Fails the test with the actual outcome otherwise.
function M.expect_error(name, fn, ...)
  local ok, e = pcall(fn, ...)
  if ok then
    error("expected " .. name .. ", but the call succeeded", 2)
  end
  if not assay.is_error(e) then
    error("expected " .. name .. ", got a plain Lua error: " .. tostring(e), 2)
  end
  if e.name ~= name then
    error("expected " .. name .. ", got " .. tostring(e), 2)
  end
  return e
end

--- A project name no other test uses.
local counter = 0
function M.unique(prefix)
  counter = counter + 1
  return string.format("%s-%d-%d", prefix or "p", os.time(), counter)
end

-- Issue 3: the store, time stamps and a People world ---------------------------

local SQL_RUNNER = [[
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], timeout=30)
try:
    with db:
        cur = db.execute(sys.argv[2])
        rows = cur.fetchall() if cur.description is not None else [("changed", cur.rowcount)]
finally:
    db.close()
for row in rows:
    print("\t".join(str(v) for v in row))
]]

local has_sqlite_cli = os.execute("command -v sqlite3 >/dev/null 2>&1") == true

--- Run one SQL statement on <home>/assay.db: with the sqlite3 command-line
--- shell when there is one (fast), else python3's sqlite3. Each ? takes the
--- next of `...` as a quoted text literal. Returns the rows as arrays of
--- strings (select blobs as hex(...)); a statement without rows answers
--- {{"changed", "<rows changed>"}}.
function M.sql(home, statement, ...)
  local params, i = { ... }, 0
  statement = statement:gsub("%?", function()
    i = i + 1
    assert(params[i] ~= nil, "too few parameters for " .. statement)
    return "'" .. tostring(params[i]):gsub("'", "''") .. "'"
  end)
  local is_query = statement:match("^%s*[Ss][Ee][Ll][Ee][Cc][Tt]") ~= nil
  local cmd
  if has_sqlite_cli then
    local text = is_query and statement or (statement .. "; SELECT 'changed', changes();")
    cmd = "sqlite3 -batch -bail -cmd '.timeout 30000' -separator '\t' "
      .. quote(home .. "/assay.db") .. " " .. quote(text)
  else
    cmd = "python3 -c " .. quote(SQL_RUNNER) .. " " .. quote(home .. "/assay.db") .. " "
      .. quote(statement)
  end
  local p = assert(io.popen(cmd .. " 2>&1 </dev/null"))
  local out = p:read("a")
  local ok = p:close()
  if not ok then
    error("SQL failed: " .. statement .. ": " .. out, 2)
  end
  local rows = {}
  for line in out:gmatch("[^\n]+") do
    local row = {}
    for field in (line .. "\t"):gmatch("([^\t]*)\t") do
      row[#row + 1] = field
    end
    rows[#rows + 1] = row
  end
  return rows
end

--- Move a token's expiry an hour into the past (the API cannot mint a token
--- that short-lived: 1 day is the minimum).
function M.expire_token(home, token_id)
  local rows = M.sql(home, "UPDATE api_tokens SET expires_at = CAST(strftime('%s','now') AS "
                       .. "INTEGER) - 3600 WHERE id = ?", token_id)
  assert(rows[1] and rows[1][1] == "changed" and rows[1][2] == "1",
         "could not expire token " .. token_id)
end

--- Seconds since 1970 of an RFC 3339 UTC time stamp ("2026-11-26T05:00:00Z"),
--- computed without the local time zone (os.time would use it).
function M.epoch(stamp)
  local y, mo, d, h, mi, s = tostring(stamp):match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)Z$")
  assert(y, "not an RFC 3339 UTC time stamp: " .. tostring(stamp))
  y, mo, d = math.tointeger(tonumber(y)), math.tointeger(tonumber(mo)),
    math.tointeger(tonumber(d))
  -- days from civil (Howard Hinnant's algorithm)
  if mo <= 2 then
    y = y - 1
  end
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * (mo + (mo > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s)
end

--- The permission bits of a file as octal text ("600"), or nil.
function M.file_mode(path)
  local p = assert(io.popen("stat -c %a " .. quote(path) .. " 2>/dev/null"))
  local out = p:read("a")
  p:close()
  return out:match("^(%d+)")
end

--- A small organisation on `env` (support.platform), built by its admin,
--- like tests/python/conftest.py's People:
---  - workspace ws (the admin made it, so is its admin too) with users
---    ws_admin (admin), member, viewer, victim (members; victim is a target);
---  - workspace ws2 with outsider (member);
---  - a token for each in its workspace, plus "expired" (a token of member
---    whose expiry was moved into the past) and "revoked" (a token of
---    member, revoked by the admin).
--- w.users[name] is the user record, w.tokens[caller] / w.token_ids[caller]
--- the token and its id, w.client(caller) a client acting as caller
--- ("org_admin" is the platform's admin client), w.user_id(name),
--- w.new_user(prefix, role?, ws?), w.mint(name_or_user_id, ws?, days?) ->
--- token, id; w.client_for_token(token); w.close() closes its clients.
--- Every name is new, so worlds on one platform do not see each other's
--- users, workspaces or tokens (only the org admin sees all).
function M.people(env)
  local w = { env = env, users = {}, tokens = {}, token_ids = {}, _clients = {} }
  local opened = {}
  local function open(opts)
    local c = env.client(opts)
    opened[#opened + 1] = c
    return c
  end
  w.admin = open()
  w.admin_id = w.admin:platform_info().user_id
  w.ws = w.admin:create_workspace(M.unique("ws")).workspace_id
  w.ws2 = w.admin:create_workspace(M.unique("ws2")).workspace_id
  function w.user_id(name)
    return w.users[name].user_id
  end
  function w.new_user(prefix, role, ws)
    local user = w.admin:create_user(M.unique(prefix), "User " .. prefix)
    if role ~= nil then
      w.admin:add_workspace_member(ws or w.ws, user.user_id, role)
    end
    return user
  end
  function w.mint(who, ws, days)
    local uid = w.users[who] and w.users[who].user_id or who
    local token, record = w.admin:create_api_token(ws or w.ws, M.unique("token"), uid, days)
    return token, record.id
  end
  for _, spec in ipairs({ { "ws_admin", "WORKSPACE_ROLE_ADMIN" },
                          { "member", "WORKSPACE_ROLE_MEMBER" },
                          { "viewer", "WORKSPACE_ROLE_VIEWER" },
                          { "victim", "WORKSPACE_ROLE_MEMBER" } }) do
    w.users[spec[1]] = w.new_user(spec[1], spec[2])
    w.tokens[spec[1]], w.token_ids[spec[1]] = w.mint(spec[1])
  end
  w.users.outsider = w.new_user("outsider", "WORKSPACE_ROLE_MEMBER", w.ws2)
  w.tokens.outsider, w.token_ids.outsider = w.mint("outsider", w.ws2)
  w.tokens.expired, w.token_ids.expired = w.mint("member", nil, 1)
  M.expire_token(env.home, w.token_ids.expired)
  w.tokens.revoked, w.token_ids.revoked = w.mint("member")
  w.admin:revoke_api_token(w.token_ids.revoked)
  function w.client(caller)
    if caller == "org_admin" then
      return w.admin
    end
    if not w._clients[caller] then
      assert(w.tokens[caller], "no such caller: " .. tostring(caller))
      w._clients[caller] = open({ api_key = w.tokens[caller] })
    end
    return w._clients[caller]
  end
  function w.client_for_token(token)
    return open({ api_key = token })
  end
  function w.close()
    for _, c in ipairs(opened) do
      c:close()
    end
  end
  return w
end

return M
