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
    if env.server then
      env.server:stop()
    end
    M.rmtree(env.home)
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

return M
