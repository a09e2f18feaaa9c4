-- bindings/lua/assay-scm-1.rockspec — how LuaRocks would build the Lua
-- module of assay (informational: the project's own build is CMake at the
-- repository root, which builds libassay, assay.core and copies init.lua).
rockspec_format = "3.0"
package = "assay"
version = "scm-1"
source = {
  url = "git+https://example.invalid/assay.git",
}
description = {
  summary = "Stress testing and continuous testing of ML models (Lua 5.4 binding)",
  detailed = [[
    assay is an open, self-hostable platform for stress testing and continuous
    testing of machine-learning models. This rock is its Lua 5.4 module: the
    SWIG-generated C module assay.core over libassay, and the pure-Lua layer
    `assay` (clients, projects, error objects).
  ]],
  license = "Apache-2.0",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
external_dependencies = {
  -- Build-time: swig >= 4.0, cmake >= 3.25, and libassay's own dependencies
  -- (libcurl, libmicrohttpd, jansson, libsodium, sqlite3).
  CURL = { header = "curl/curl.h" },
  JANSSON = { header = "jansson.h" },
  SQLITE = { header = "sqlite3.h" },
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    ASSAY_BUILD_PYTHON = "OFF",
    ASSAY_BUILD_TESTS = "OFF",
    -- assay/core.so goes to LUA_LIBDIR, assay/init.lua to LUA_DIR.
    ASSAY_LUA_CMOD_DIR = "$(LIBDIR)",
    ASSAY_LUA_LMOD_DIR = "$(LUADIR)",
  },
}
