-- tests/lua/files_spec.lua — who may write where in the file store, from
-- Lua, against the embedded platform and a real assayd: a member cannot add
-- a file beside another member's loader nor replace or delete it (a
-- PermissionDeniedError object), the same bytes uploaded again land at the
-- same location whoever uploads them, and a workspace admin may do it all.
-- Each test builds its own People world (support.people).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")
local assay = require "assay"

local LOADER = "import pandas as pd\ndef load():\n    return pd.DataFrame({'a': [1]})\n"
local PLANT = "raise SystemExit('planted')\n"

for _, mode in ipairs(support.modes) do
  describe("file ownership (" .. mode .. ")", function()
    local env, w, dir

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
      dir = support.tmpdir()
    end)

    after_each(function()
      if w then
        w.close()
        w = nil
      end
      support.rmtree(dir)
    end)

    local function file(name, text)
      local path = dir .. "/" .. name
      os.execute("mkdir -p " .. support.quote(path:match("^(.*)/")))
      support.write_file(path, text)
      return path
    end

    it("refuses a module planted beside another member's loader", function()
      local alice, bob = w.client("member"), w.client("victim")
      local loc, rec = alice:upload_file(file("a/loader.py", LOADER))
      local folder = loc:match("^assay://files/([0-9a-f]+)/loader%.py$")
      assert.are.equal(16, #folder)
      assert.are.equal(w.user_id("member"), rec.uploaded_by)

      local e = support.expect_error("PermissionDeniedError", bob.upload_file, bob,
                                     file("b/sqlite3.py", PLANT), folder)
      assert.is_true(assay.is_error(e, "PermissionDeniedError"))
      assert.are.equal(-5, e.code)
      assert.are.equal(403, e.http_status)
      assert.is_truthy(e.message:find("holds files another user uploaded", 1, true))
      assert.is_truthy(e.message:find(loc, 1, true))

      alice:upload_file(file("a/x.py", "X = 1\n"), "alib")
      e = support.expect_error("PermissionDeniedError", bob.upload_file, bob,
                               file("b/x.py", PLANT), "alib")
      assert.is_truthy(e.message:find("was uploaded by another user", 1, true))
      support.expect_error("PermissionDeniedError", bob.upload_file, bob,
                           file("b/y.py", PLANT), "alib/sub")
      support.expect_error("PermissionDeniedError", bob.delete_uploaded_file_url, bob, loc)
      local listed = {}
      for _, url in ipairs(alice:list_uploaded_file_urls()) do
        listed[url] = true
      end
      assert.are.same({ [loc] = true, ["assay://files/alib/x.py"] = true }, listed)
    end)

    it("answers the same location for the same bytes; admins write anywhere", function()
      local alice, bob, admin = w.client("member"), w.client("victim"), w.client("ws_admin")
      local loc = alice:upload_file(file("a/loader.py", LOADER))
      local again, rec = bob:upload_file(file("b/loader.py", LOADER))
      assert.are.equal(loc, again)
      assert.are.equal(w.user_id("member"), rec.uploaded_by)
      support.expect_error("PermissionDeniedError", bob.upload_file, bob,
                           file("b/other.py", LOADER))

      alice:upload_file(file("a/x.py", "X = 1\n"), "alib")
      local _, replaced = admin:upload_file(file("w/x.py", "X = 2\n"), "alib")
      assert.are.equal(w.user_id("ws_admin"), replaced.uploaded_by)
      support.expect_error("PermissionDeniedError", alice.upload_file, alice,
                           file("a/y.py", "Y = 1\n"), "alib")
      admin:delete_uploaded_file_url("assay://files/alib")
      alice:delete_uploaded_file_url(loc)
      assert.are.same({}, alice:list_uploaded_file_urls())
    end)
  end)
end
