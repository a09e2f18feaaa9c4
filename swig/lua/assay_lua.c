/* swig/lua/assay_lua.c — the C half of the Lua typemaps of assay.core:
 * Lua values <-> assay_value trees, error objects, module set-up.
 * See assay_lua.h for the contract of each function. */
#include "assay_lua.h"

#include <lauxlib.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ASSAY_LUA_LIBRARY_KEY "assay.library" /* registry: the init/shutdown guard */
#define ASSAY_LUA_MAX_DEPTH 200               /* nesting accepted from Lua tables */

/* --- error objects -------------------------------------------------------- */

static const char *error_name(int code) {
  const assay_error_info *info = assay_error_info_for(code);
  return info ? info->name : "Error";
}

void assay_lua_push_error(lua_State *L, int code, const char *message, int http_status) {
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, code);
  lua_setfield(L, -2, "code");
  lua_pushstring(L, error_name(code));
  lua_setfield(L, -2, "name");
  lua_pushstring(L, message ? message : "");
  lua_setfield(L, -2, "message");
  lua_pushinteger(L, http_status);
  lua_setfield(L, -2, "http_status");
  luaL_setmetatable(L, ASSAY_LUA_ERROR_MT);
}

void assay_lua_push_last_error(lua_State *L, int rc) {
  const assay_error *e = assay_error_last();
  if (e && e->code == rc) {
    assay_lua_push_error(L, e->code, e->message, e->http_status);
  } else {
    const assay_error_info *info = assay_error_info_for(rc);
    assay_lua_push_error(L, rc, info ? info->description : "the operation failed",
                         info ? info->http_status : 0);
  }
}

static int push_config_error_v(lua_State *L, const char *fmt, va_list ap) {
  char msg[512];
  const assay_error_info *info = assay_error_info_for(ASSAY_ERR_CONFIG);
  vsnprintf(msg, sizeof msg, fmt, ap);
  assay_lua_push_error(L, ASSAY_ERR_CONFIG, msg, info ? info->http_status : 0);
  return ASSAY_ERR_CONFIG;
}

int assay_lua_push_config_error(lua_State *L, const char *fmt, ...) {
  va_list ap;
  int rc;
  va_start(ap, fmt);
  rc = push_config_error_v(L, fmt, ap);
  va_end(ap);
  return rc;
}

/* SWIG spells C types; say what a Lua caller passes instead. */
static const char *lua_kind(const char *ctype) {
  if (!ctype) return "a value";
  if (strcmp(ctype, "char const *") == 0 || strcmp(ctype, "char *") == 0) return "a string";
  if (strstr(ctype, "assay_client")) return "an open assay client";
  return ctype;
}

const char *assay_lua_func_name(const char *symname) {
  static const char *const prefixes[] = {"assay_client_", "assay_"};
  for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
    size_t n = strlen(prefixes[i]);
    if (strncmp(symname, prefixes[i], n) == 0 && symname[n]) return symname + n;
  }
  return symname;
}

void assay_lua_push_type_error(lua_State *L, const char *func, const char *param, int idx,
                               const char *expected) {
  char got[64];
  if (lua_type(L, idx) == LUA_TNUMBER && !lua_isinteger(L, idx))
    snprintf(got, sizeof got, "%g", (double)lua_tonumber(L, idx));
  else if (lua_type(L, idx) == LUA_TNUMBER)
    snprintf(got, sizeof got, "%lld", (long long)lua_tointeger(L, idx));
  else
    snprintf(got, sizeof got, "%s", luaL_typename(L, idx));
  assay_lua_push_config_error(L, "%s: %s must be %s, got %s", assay_lua_func_name(func), param,
                              expected, got);
}

void assay_lua_push_arg_error(lua_State *L, const char *func, int argnum, const char *expected) {
  char param[32];
  snprintf(param, sizeof param, "argument %d", argnum);
  assay_lua_push_type_error(L, func, param, argnum, lua_kind(expected));
}

static int error_tostring(lua_State *L) {
  const char *name, *message;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_getfield(L, 1, "name");
  lua_getfield(L, 1, "message");
  name = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "Error";
  message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
  lua_pushfstring(L, "%s: %s", name, message);
  return 1;
}

/* --- module set-up ---------------------------------------------------------- */

static int library_gc(lua_State *L) {
  (void)L;
  assay_shutdown();
  return 0;
}

void assay_lua_open(lua_State *L) {
  int module = lua_gettop(L);
  int rc;

  luaL_newmetatable(L, ASSAY_LUA_ERROR_MT);
  lua_pushcfunction(L, error_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_setfield(L, module, "error_metatable");

  luaL_newmetatable(L, ASSAY_LUA_ARRAY_MT);
  lua_setfield(L, module, "array_mt");

  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, module, "null");

  rc = assay_init();
  if (rc < 0) {
    assay_lua_push_last_error(L, rc);
    lua_error(L);
  }
  /* A guard whose finaliser balances assay_init() when the state closes; it
   * is created before any client, so clients are finalised first. */
  lua_newuserdatauv(L, 0, 0);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, library_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, ASSAY_LUA_LIBRARY_KEY);
  lua_settop(L, module);
}

/* --- scalar arguments ------------------------------------------------------- */

int assay_lua_to_int(lua_State *L, int idx, const char *func, const char *param, int *out) {
  int isnum = 0;
  lua_Integer v = lua_tointegerx(L, idx, &isnum);
  if (!isnum || v < INT_MIN || v > INT_MAX) {
    assay_lua_push_type_error(L, func, param, idx,
                              isnum ? "an integer that fits a C int" : "an integer");
    return ASSAY_ERR_CONFIG;
  }
  *out = (int)v;
  return ASSAY_OK;
}

int assay_lua_to_flag(lua_State *L, int idx, const char *func, const char *param, int *out) {
  switch (lua_type(L, idx)) {
  case LUA_TNONE:
  case LUA_TNIL:
    *out = 0;
    return ASSAY_OK;
  case LUA_TBOOLEAN:
    *out = lua_toboolean(L, idx);
    return ASSAY_OK;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) {
      *out = lua_tointeger(L, idx) != 0;
      return ASSAY_OK;
    }
    break;
  default:
    break;
  }
  assay_lua_push_type_error(L, func, param, idx, "a boolean");
  return ASSAY_ERR_CONFIG;
}

int assay_lua_to_number(lua_State *L, int idx, const char *func, const char *param,
                        double *out) {
  int t = lua_type(L, idx);
  if (t == LUA_TNONE || t == LUA_TNIL) {
    *out = 0.0;
    return ASSAY_OK;
  }
  if (t == LUA_TNUMBER) {
    *out = lua_tonumber(L, idx);
    return ASSAY_OK;
  }
  assay_lua_push_type_error(L, func, param, idx, "a number");
  return ASSAY_ERR_CONFIG;
}

int assay_lua_to_string(lua_State *L, int idx, const char *func, const char *param,
                        const char **out) {
  int t = lua_type(L, idx);
  if (t == LUA_TNONE || t == LUA_TNIL) {
    *out = NULL;
    return ASSAY_OK;
  }
  /* Only a string: a number is refused rather than turned into its text
   * (create_integration(ws, 5, ...) must not make an integration "5"). */
  if (t != LUA_TSTRING) {
    assay_lua_push_type_error(L, func, param, idx, "a string");
    return ASSAY_ERR_CONFIG;
  }
  *out = lua_tostring(L, idx);
  return ASSAY_OK;
}

int assay_lua_to_bytes(lua_State *L, int idx, const char *func, const char *param,
                       const char **out, size_t *len) {
  if (lua_isnoneornil(L, idx)) {
    *out = NULL;
    *len = 0;
    return ASSAY_OK;
  }
  if (lua_type(L, idx) != LUA_TSTRING) {
    assay_lua_push_type_error(L, func, param, idx, "a string or nil");
    return ASSAY_ERR_CONFIG;
  }
  *out = lua_tolstring(L, idx, len);
  return ASSAY_OK;
}

/* --- Lua -> assay_value ----------------------------------------------------- */

/* Conversion state. Errors are recorded here (not pushed) while a table
 * walk holds keys on the stack; the caller pushes one error object after
 * restoring the stack. None of the Lua calls made during the walk can raise
 * except on memory exhaustion. */
typedef struct conv {
  lua_State *L;
  int code;
  char path[256]; /* where we are: "profiling_config.list[2]"   */
  char msg[720];  /* room for the path and a 400-byte reason      */
} conv;

static int conv_fail(conv *c, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int conv_fail(conv *c, int code, const char *fmt, ...) {
  char what[400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (strlen(c->path) > 80) /* deep: keep the start and the end */
    snprintf(c->msg, sizeof c->msg, "cannot convert the Lua value at %.40s...%s: %s", c->path,
             c->path + strlen(c->path) - 30, what);
  else if (c->path[0])
    snprintf(c->msg, sizeof c->msg, "cannot convert the Lua value at %s: %s", c->path, what);
  else
    snprintf(c->msg, sizeof c->msg, "cannot convert the Lua value: %s", what);
  c->code = code;
  return code;
}

/* A value the core refused (NaN, bad UTF-8): keep its message. */
static int conv_core_fail(conv *c, int rc) {
  const assay_error *e = assay_error_last();
  return conv_fail(c, rc, "%s", e && e->code == rc ? e->message : "refused by the core");
}

static void path_push_key(conv *c, size_t len, const char *key) {
  if (len < sizeof c->path)
    snprintf(c->path + len, sizeof c->path - len, "%s%s", len ? "." : "", key);
}

static void path_push_index(conv *c, size_t len, lua_Integer i) {
  if (len < sizeof c->path)
    snprintf(c->path + len, sizeof c->path - len, "[%lld]", (long long)i);
}

static int conv_value(conv *c, int idx, int depth, assay_value **out);

/* What a table holds: returns 1 for an array of *n elements, 0 for an
 * object, or a negative code. */
static int classify_table(conv *c, int t, int marked, lua_Integer *n) {
  lua_State *L = c->L;
  lua_Integer count = 0, max = 0;
  int strings = 0, integers = 0;
  lua_pushnil(L);
  while (lua_next(L, t)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      strings = 1;
    } else if (lua_type(L, -1) == LUA_TNUMBER && lua_isinteger(L, -1) &&
               lua_tointeger(L, -1) >= 1) {
      integers = 1;
      if (lua_tointeger(L, -1) > max) max = lua_tointeger(L, -1);
    } else {
      int rc;
      if (lua_type(L, -1) == LUA_TNUMBER)
        rc = conv_fail(c, ASSAY_ERR_CONFIG,
                       "a table with the number key %g (object keys must be strings, "
                       "array keys 1..n)",
                       (double)lua_tonumber(L, -1));
      else
        rc = conv_fail(c, ASSAY_ERR_CONFIG, "a table with a %s key (object keys must be strings)",
                       luaL_typename(L, -1));
      lua_pop(L, 1);
      return rc;
    }
    count++;
  }
  *n = count;
  if (marked) {
    if (strings || max != count)
      return conv_fail(c, ASSAY_ERR_CONFIG,
                       "a table marked as an array must have the keys 1..n only");
    return 1;
  }
  if (count == 0 || !integers) return 0;
  if (!strings && max == count) return 1;
  if (strings)
    return conv_fail(c, ASSAY_ERR_CONFIG,
                     "a table mixing integer and string keys (use string keys for an "
                     "object, or the keys 1..n for an array)");
  return conv_fail(c, ASSAY_ERR_CONFIG,
                   "a table with gaps in its integer keys (an array needs the keys 1..n)");
}

static int conv_array(conv *c, int t, lua_Integer n, int depth, assay_value **out) {
  lua_State *L = c->L;
  size_t plen = strlen(c->path);
  assay_value *arr = NULL;
  int rc = assay_value_new_array(&arr);
  if (rc < 0) return conv_core_fail(c, rc);
  for (lua_Integer i = 1; i <= n; i++) {
    assay_value *item = NULL;
    lua_rawgeti(L, t, i);
    path_push_index(c, plen, i);
    rc = conv_value(c, lua_gettop(L), depth + 1, &item);
    c->path[plen] = '\0';
    lua_pop(L, 1);
    if (rc >= 0) {
      rc = assay_value_array_append(arr, item);
      if (rc < 0) rc = conv_core_fail(c, rc);
    }
    if (rc < 0) {
      assay_value_free(arr);
      return rc;
    }
  }
  *out = arr;
  return ASSAY_OK;
}

static int conv_object(conv *c, int t, int depth, assay_value **out) {
  lua_State *L = c->L;
  size_t plen = strlen(c->path);
  assay_value *obj = NULL;
  int rc = assay_value_new_object(&obj);
  if (rc < 0) return conv_core_fail(c, rc);
  lua_pushnil(L);
  while (lua_next(L, t)) {
    size_t klen = 0;
    const char *key = lua_tolstring(L, -2, &klen); /* a string: classify_table checked */
    assay_value *item = NULL;
    path_push_key(c, plen, key);
    if (strlen(key) != klen)
      rc = conv_fail(c, ASSAY_ERR_CONFIG, "an object key containing a NUL byte");
    else
      rc = conv_value(c, lua_gettop(L), depth + 1, &item);
    c->path[plen] = '\0';
    if (rc >= 0) {
      rc = assay_value_object_set(obj, key, item);
      if (rc < 0) rc = conv_core_fail(c, rc);
    }
    lua_pop(L, 1);
    if (rc < 0) {
      lua_pop(L, 1);
      assay_value_free(obj);
      return rc;
    }
  }
  *out = obj;
  return ASSAY_OK;
}

static int conv_table(conv *c, int t, int depth, assay_value **out) {
  lua_State *L = c->L;
  lua_Integer n = 0;
  int marked = 0, kind;
  if (depth > ASSAY_LUA_MAX_DEPTH)
    return conv_fail(c, ASSAY_ERR_CONFIG,
                     "tables nested more than %d deep (does a table contain itself?)",
                     ASSAY_LUA_MAX_DEPTH);
  if (!lua_checkstack(L, 6))
    return conv_fail(c, ASSAY_ERR_CONFIG, "tables nested too deep for the Lua stack");
  if (lua_getmetatable(L, t)) {
    luaL_getmetatable(L, ASSAY_LUA_ARRAY_MT);
    marked = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
  }
  kind = classify_table(c, t, marked, &n);
  if (kind < 0) return kind;
  return kind ? conv_array(c, t, n, depth, out) : conv_object(c, t, depth, out);
}

static int conv_value(conv *c, int idx, int depth, assay_value **out) {
  lua_State *L = c->L;
  int rc;
  *out = NULL;
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    rc = assay_value_new_null(out);
    break;
  case LUA_TBOOLEAN:
    rc = assay_value_new_bool(out, lua_toboolean(L, idx));
    break;
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx))
      rc = assay_value_new_int(out, (int64_t)lua_tointeger(L, idx));
    else
      rc = assay_value_new_real(out, (double)lua_tonumber(L, idx));
    break;
  case LUA_TSTRING: {
    size_t len = 0;
    const char *s = lua_tolstring(L, idx, &len);
    rc = assay_value_new_string(out, s, len);
    break;
  }
  case LUA_TTABLE:
    return conv_table(c, idx, depth, out);
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == NULL) { /* assay.null */
      rc = assay_value_new_null(out);
      break;
    }
    /* fall through */
  default:
    return conv_fail(c, ASSAY_ERR_CONFIG, "a %s has no JSON form", luaL_typename(L, idx));
  }
  return rc < 0 ? conv_core_fail(c, rc) : rc;
}

int assay_lua_to_value(lua_State *L, int idx, assay_value **out) {
  conv c;
  int top = lua_gettop(L), rc;
  *out = NULL;
  if (lua_isnoneornil(L, idx)) return ASSAY_OK;
  memset(&c, 0, sizeof c);
  c.L = L;
  rc = conv_value(&c, lua_absindex(L, idx), 0, out);
  lua_settop(L, top);
  if (rc < 0) {
    const assay_error_info *info = assay_error_info_for(c.code);
    *out = NULL;
    assay_lua_push_error(L, c.code, c.msg, info ? info->http_status : 0);
  }
  return rc;
}

/* --- assay_value -> Lua ------------------------------------------------------ */

static void push_tree(lua_State *L, const assay_value *v, int in_array) {
  luaL_checkstack(L, 4, "assay value nested too deep");
  switch (assay_value_type_of(v)) {
  case ASSAY_VALUE_NULL:
    if (in_array)
      lua_pushlightuserdata(L, NULL);
    else
      lua_pushnil(L);
    break;
  case ASSAY_VALUE_BOOL:
    lua_pushboolean(L, assay_value_get_bool(v));
    break;
  case ASSAY_VALUE_INT:
    lua_pushinteger(L, (lua_Integer)assay_value_get_int(v));
    break;
  case ASSAY_VALUE_REAL:
    lua_pushnumber(L, (lua_Number)assay_value_get_real(v));
    break;
  case ASSAY_VALUE_STRING: {
    size_t len = 0;
    const char *s = assay_value_get_string(v, &len);
    lua_pushlstring(L, s ? s : "", s ? len : 0);
    break;
  }
  case ASSAY_VALUE_ARRAY: {
    size_t n = assay_value_array_size(v);
    lua_createtable(L, n > INT_MAX ? INT_MAX : (int)n, 0);
    for (size_t i = 0; i < n; i++) {
      push_tree(L, assay_value_array_get(v, i), 1);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    luaL_setmetatable(L, ASSAY_LUA_ARRAY_MT);
    break;
  }
  case ASSAY_VALUE_OBJECT: {
    size_t n = assay_value_object_size(v);
    void *iter = NULL;
    const assay_value *item = NULL;
    const char *key;
    lua_createtable(L, 0, n > INT_MAX ? INT_MAX : (int)n);
    while ((key = assay_value_object_next(v, &iter, &item)) != NULL) {
      if (assay_value_type_of(item) == ASSAY_VALUE_NULL) continue; /* nil: absent */
      lua_pushstring(L, key);
      push_tree(L, item, 0);
      lua_rawset(L, -3);
    }
    break;
  }
  default:
    lua_pushnil(L);
    break;
  }
}

static int push_value_protected(lua_State *L) {
  const assay_value *v = (const assay_value *)lua_touserdata(L, 1);
  push_tree(L, v, 0);
  return 1;
}

int assay_lua_push_value(lua_State *L, const assay_value *v) {
  int status;
  if (!v) {
    lua_pushnil(L);
    return ASSAY_OK;
  }
  lua_pushcfunction(L, push_value_protected);
  lua_pushlightuserdata(L, (void *)v);
  status = lua_pcall(L, 1, 1, 0);
  if (status != LUA_OK) {
    char msg[256];
    int code = status == LUA_ERRMEM ? ASSAY_ERR_NOMEM : ASSAY_ERR_INTERNAL;
    snprintf(msg, sizeof msg, "could not convert a result to Lua: %s",
             lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "unknown error");
    lua_pop(L, 1);
    assay_lua_push_error(L, code, msg, 0);
    return code;
  }
  return ASSAY_OK;
}
