-- tests/lua/projects_spec.lua — the project and error scenarios of the Lua
-- module, run against both the embedded platform (a temp home) and a real
-- assayd on a free loopback port: the same calls must give the same records
-- and the same typed errors on both.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local support = dofile(here .. "support.lua")
local assay = require "assay"

local BINARY = "MODEL_TASK_BINARY_CLASSIFICATION"

for _, mode in ipairs(support.modes) do
  describe("projects (" .. mode .. ")", function()
    local env, client

    setup(function()
      env = support.platform(mode)
      client = env.client()
    end)

    teardown(function()
      if env then
        env.stop()
      end
    end)

    it("creates, gets, lists and deletes a project", function()
      local name = support.unique("Fraud")
      local p = client:create_project(name, "card fraud model", BINARY)
      assert.are.equal(assay.Project, getmetatable(p))
      assert.is_string(p.project_id)
      assert.are.equal(name, p.name)
      assert.are.equal("card fraud model", p.description)
      assert.are.equal(BINARY, p.info.model_task)
      assert.are.equal(p.project_id, p.info.project_id)
      assert.is_string(p.info.created_at)
      assert.is_nil(p.info.use_case) -- JSON null in an object: absent
      assert.truthy(tostring(p):find(p.project_id, 1, true))
      assert.truthy(tostring(p):find(name, 1, true))

      local got = client:get_project(p.project_id)
      assert.are.equal(name, got.name)
      assert.are.same(p.info, got.info)

      local found = false
      for _, q in ipairs(client:list_projects()) do
        assert.are.equal(assay.Project, getmetatable(q))
        if q.project_id == p.project_id then
          found = true
        end
      end
      assert.is_true(found)

      assert.is_nil(client:delete_project(p.project_id))
      support.expect_error("NotFoundError", client.get_project, client, p.project_id)
      for _, q in ipairs(client:list_projects()) do
        assert.are_not.equal(p.project_id, q.project_id)
      end
    end)

    it("lists projects oldest first", function()
      local a = client:create_project(support.unique("first"), "", BINARY)
      local b = client:create_project(support.unique("second"), "", BINARY)
      local ia, ib
      for i, q in ipairs(client:list_projects()) do
        if q.project_id == a.project_id then ia = i end
        if q.project_id == b.project_id then ib = i end
      end
      assert.is_true(ia < ib)
    end)

    it("keeps the optional fields, with integers as Lua integers", function()
      local p = client:create_project(support.unique("opts"), "with options",
        "MODEL_TASK_REGRESSION", {
          use_case = "pricing",
          ethical_consideration = "none known",
          profiling_config = {
            n = 5, ratio = 0.5, big = 9007199254740993, tags = { "a", "b" },
            empty_list = assay.array(), empty_map = {}, flag = false,
          },
          run_time_info = { random_seed = 42 },
        })
      local info = client:get_project(p.project_id).info
      assert.are.equal("pricing", info.use_case)
      assert.are.equal("none known", info.ethical_consideration)
      local pc = info.profiling_config
      assert.are.equal("integer", math.type(pc.n))
      assert.are.equal(5, pc.n)
      assert.are.equal("float", math.type(pc.ratio))
      assert.are.equal(0.5, pc.ratio)
      assert.are.equal(9007199254740993, pc.big) -- 2^53 + 1: not a double
      assert.are.same({ "a", "b" }, setmetatable(pc.tags, nil))
      assert.are.same({}, pc.empty_list)
      assert.are.equal(getmetatable(assay.array()), getmetatable(pc.empty_list))
      assert.is_nil(getmetatable(pc.empty_map))
      assert.is_false(pc.flag)
      assert.are.equal("integer", math.type(info.run_time_info.random_seed))
    end)

    it("describes the platform", function()
      local info = client:platform_info()
      assert.are.equal(assay.version, info.version)
      assert.are.equal("v1", info.api_version)
      assert.are.equal(mode == "embedded", info.embedded)
      assert.is_string(info.workspace_id)
    end)

    it("creates API tokens", function()
      local token, record = client:create_api_token(nil, support.unique("tok"), nil, 7)
      assert.is_string(token)
      assert.is_true(#token > 10)
      assert.are.equal(token, record.token)
      assert.is_string(record.id)
      assert.is_string(record.expires_at)
    end)

    describe("errors", function()
      it("refuses a duplicate name with ConflictError", function()
        local name = support.unique("dup")
        client:create_project(name, "", BINARY)
        local e = support.expect_error("ConflictError", client.create_project, client, name, "",
                                       BINARY)
        assert.are.equal(-6, e.code)
        assert.are.equal("integer", math.type(e.code))
        assert.are.equal(409, e.http_status)
        assert.are.equal("integer", math.type(e.http_status))
        assert.truthy(e.message:find(name, 1, true))
        assert.is_true(assay.is_error(e, "ConflictError"))
        assert.is_true(assay.is_error(e, "Error"))
        assert.is_false(assay.is_error(e, "ConfigError"))
      end)

      it("refuses an unknown model_task with ConfigError listing the valid ones", function()
        local e = support.expect_error("ConfigError", client.create_project, client,
                                       support.unique("task"), "", "MODEL_TASK_NOPE")
        assert.are.equal(-2, e.code)
        assert.are.equal(400, e.http_status)
        assert.truthy(e.message:find("MODEL_TASK_NOPE", 1, true))
        assert.truthy(e.message:find("MODEL_TASK_REGRESSION", 1, true))
        assert.truthy(e.message:find("MODEL_TASK_FILL_MASK", 1, true))
      end)

      it("answers an unknown id with NotFoundError", function()
        local id = "00000000-0000-4000-8000-000000000000"
        local e = support.expect_error("NotFoundError", client.get_project, client, id)
        assert.are.equal(-3, e.code)
        assert.are.equal(404, e.http_status)
        support.expect_error("NotFoundError", client.delete_project, client, id)
        support.expect_error("NotFoundError", client.delete_project, client, id, true)
      end)

      it("gives error objects a tostring of 'Name: message'", function()
        local ok, e = pcall(client.get_project, client, "no-such-project")
        assert.is_false(ok)
        assert.are.equal("NotFoundError: " .. e.message, tostring(e))
        assert.are.equal(getmetatable(e), getmetatable(
          select(2, pcall(client.create_project, client, nil, nil, nil))))
      end)
    end)

    describe("raw requests", function()
      it("sends requests and decodes answers", function()
        local health = client:request("GET", "/v1/health")
        assert.are.equal("ok", health.status)
        local name = support.unique("raw")
        local rec = client:request("POST", "/v1/projects",
                                   { name = name, description = "raw", model_task = BINARY })
        assert.are.equal(name, rec.name)
        local again = client:request("GET", "/v1/projects/" .. rec.project_id)
        assert.are.equal(rec.project_id, again.project_id)
        local listed = client:request("GET", "/v1/projects")
        assert.is_table(listed.projects)
        assert.is_nil(client:request("DELETE", "/v1/projects/" .. rec.project_id))
      end)

      it("answers a malformed JSON body with ConfigError", function()
        local e = support.expect_error("ConfigError", client.request, client, "POST",
                                       "/v1/projects", "{\"name\": ")
        assert.are.equal(400, e.http_status)
      end)

      it("answers an unknown route with NotFoundError", function()
        local e = support.expect_error("NotFoundError", client.request, client, "GET",
                                       "/v1/no-such-route")
        assert.are.equal(404, e.http_status)
      end)

      it("answers a wrong method with MethodNotAllowedError, a ConfigError", function()
        local e = support.expect_error("MethodNotAllowedError", client.request, client, "PUT",
                                       "/v1/projects")
        assert.are.equal(405, e.http_status)
        assert.are.equal(-9, e.code)
        assert.is_true(assay.is_error(e, "ConfigError"))
        assert.is_true(assay.is_error(e, "Error"))
      end)

      it("answers a 17 MiB body with PayloadTooLargeError", function()
        local body = '{"name": "' .. string.rep("x", 17 * 1024 * 1024) .. '"}'
        local e = support.expect_error("PayloadTooLargeError", client.request, client, "POST",
                                       "/v1/projects", body)
        assert.are.equal(413, e.http_status)
        assert.is_true(assay.is_error(e, "ConfigError"))
      end)
    end)

    describe("wrong argument types", function()
      local function config_error(...)
        return support.expect_error("ConfigError", ...)
      end

      it("are ConfigErrors, not crashes", function()
        config_error(client.create_project, client, {}, "d", BINARY)
        config_error(client.create_project, client, support.unique("t"), "d", BINARY, "opts")
        config_error(client.create_project, client, support.unique("t"), "d", BINARY, 42)
        config_error(client.create_project, client, nil, "d", BINARY)
        config_error(client.get_project, client, {})
        config_error(client.get_project, client, nil)
        config_error(client.delete_project, client, "x", "yes")
        config_error(client.create_api_token, client, nil, "n", nil, 2.5)
        config_error(client.create_api_token, client, nil, "n", nil, "soon")
        config_error(client.create_api_token, client, nil, "n", nil, 2 ^ 40)
        config_error(client.request, client, "POST", "/v1/projects", 3)
        config_error(client.request, client, "POST", "/v1/projects", print)
        config_error(client.request, client, {}, "/v1/projects")
        config_error(client.list_projects) -- a method called with `.`
        config_error(client.list_projects, "not a client")
      end)

      it("refuses tables without a JSON form, naming where", function()
        local function opts(pc)
          return client.create_project, client, support.unique("t"), "d", BINARY,
                 { profiling_config = pc }
        end
        local e = config_error(opts({ x = 0 / 0 }))
        assert.truthy(e.message:find("profiling_config.x", 1, true))
        config_error(opts({ x = math.huge }))
        config_error(opts({ x = -math.huge }))
        e = config_error(opts({ list = { 1, 2, [4] = 4 } }))
        assert.truthy(e.message:find("profiling_config.list", 1, true))
        config_error(opts({ 1, 2, x = 3 }))
        config_error(opts({ [true] = 1 }))
        config_error(opts({ [1.5] = 1 }))
        config_error(opts({ f = print }))
        config_error(opts({ co = coroutine.create(print) }))
        config_error(opts({ u = io.stdout }))
        config_error(opts({ s = "\xff\xfe" })) -- not UTF-8
        config_error(opts({ ["a\0b"] = 1 }))
        config_error(opts(setmetatable({ x = 1 }, getmetatable(assay.array()))))
        local cyclic = {}
        cyclic.self = cyclic
        e = config_error(opts(cyclic))
        assert.truthy(e.message:find("nested", 1, true))
        -- and the client still works afterwards
        assert.is_table(client:list_projects())
      end)

      it("refuses calls on a closed client", function()
        local c = env.client()
        c:close()
        local e = config_error(c.list_projects, c)
        assert.truthy(e.message:find("closed", 1, true))
        c:close() -- closing twice is harmless
      end)
    end)
  end)
end
