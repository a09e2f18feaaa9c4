/* swig/lua/assay_lua.i — the Lua 5.4 module `assay.core` (private; the
 * public module is bindings/lua/assay/init.lua).
 *
 * %module assay_core makes SWIG export luaopen_assay_core, which is what
 * `require "assay.core"` looks for in assay/core.so. Build with
 * -nomoduleglobal so the module does not also become a global.
 *
 * This file holds the Lua typemaps, then includes the shared swig/assay.i.
 * The conversions themselves are plain C in assay_lua.c (compiled with the
 * project's full warnings); the typemaps only call them. Failures push an
 * error object and `SWIG_fail`, so the `fail:` label runs every `freearg`
 * before raising it: nothing here calls lua_error directly. */
%module assay_core

%{
#include "assay.h"
#include "assay_lua.h"

/* SWIG's own argument checks raise plain strings; raise ConfigError
 * objects like every other failure of the module. */
#undef SWIG_fail_arg
#define SWIG_fail_arg(func_name, argnum, type) \
  { assay_lua_push_arg_error(L, func_name, argnum, type); goto fail; }
#undef SWIG_check_num_args
#define SWIG_check_num_args(func_name, a, b)                                                \
  if (lua_gettop(L) < (a) || lua_gettop(L) > (b)) {                                         \
    assay_lua_push_config_error(L, "%s expects %d to %d arguments, got %d",                 \
                                assay_lua_func_name(func_name), (a), (b), lua_gettop(L));   \
    goto fail;                                                                              \
  }
%}

/* --- return codes ----------------------------------------------------------
 * Every int-returning function of the interface returns a code: a negative
 * one raises the error object of assay_error_last(); otherwise nothing is
 * pushed for it and the argouts are the results. */
%typemap(out) int %{
  if ($1 < 0) {
    assay_lua_push_last_error(L, $1);
    SWIG_fail;
  }
%}

/* --- integers: Lua integers, never floats --------------------------------- */
%typemap(in) int %{
  if (assay_lua_to_int(L, $input, "$symname", "$1_name", &$1) < 0) SWIG_fail;
%}
%typemap(in) int force, int wait, int upload_hidden, int show_metrics %{
  if (assay_lua_to_flag(L, $input, "$symname", "$1_name", &$1) < 0) SWIG_fail;
%}

/* --- numbers: a Lua number (integer or float) ------------------------------ */
%typemap(in) double %{
  if (assay_lua_to_number(L, $input, "$symname", "$1_name", &$1) < 0) SWIG_fail;
%}

/* --- strings: a string or nil (NULL); the core says which it needs ------- */
%typemap(in) const char * %{
  if (assay_lua_to_string(L, $input, "$symname", "$1_name", (const char **)&$1) < 0) SWIG_fail;
%}

/* --- assay_value in: any Lua value (nil → NULL) --------------------------- */
%typemap(in) const assay_value * %{
  if (assay_lua_to_value(L, $input, (assay_value **)&$1) < 0) SWIG_fail;
%}
%typemap(freearg) const assay_value * %{
  assay_value_free((assay_value *)$1);
%}

/* --- assay_value out: the result, converted (NULL → nil) ------------------ */
%typemap(in, numinputs=0) assay_value **out (assay_value *tmp = NULL) %{
  $1 = &tmp;
%}
%typemap(argout) assay_value **out %{
  if (assay_lua_push_value(L, *$1) < 0) SWIG_fail;
  SWIG_arg++;
%}
%typemap(freearg) assay_value **out %{
  if ($1) assay_value_free(*$1);
%}

/* --- text out (JSON dumps): a Lua string ---------------------------------- */
%typemap(in, numinputs=0) char **out (char *tmp = NULL) %{
  $1 = &tmp;
%}
%typemap(argout) char **out %{
  if (*$1) lua_pushstring(L, *$1); else lua_pushnil(L);
  SWIG_arg++;
%}
%typemap(freearg) char **out %{
  if ($1) assay_string_free(*$1);
%}

/* --- request bodies: a Lua string (may hold any bytes) or nil ------------- */
%typemap(in, numinputs=1) (const char *body, size_t body_len) %{
  if (assay_lua_to_bytes(L, $input, "$symname", "$1_name", (const char **)&$1, &$2) < 0)
    SWIG_fail;
%}

/* --- clients ----------------------------------------------------------------
 * A new client becomes a userdata that owns it (its __gc frees it); a
 * client argument must be an open one (client_close() leaves a NULL). */
%typemap(in, numinputs=0) assay_client **out (assay_client *tmp = NULL) %{
  $1 = &tmp;
%}
%typemap(argout) assay_client **out %{
  SWIG_NewPointerObj(L, *$1, $*descriptor, 1);
  *$1 = NULL; /* owned by the userdata now */
  SWIG_arg++;
%}
%typemap(freearg) assay_client **out %{
  if ($1) assay_client_free(*$1);
%}
%typemap(in) assay_client *client %{
  if (lua_type(L, $input) != LUA_TUSERDATA ||
      !SWIG_IsOK(SWIG_ConvertPtr(L, $input, (void **)&$1, $descriptor, 0))) {
    assay_lua_push_type_error(L, "$symname", "$1_name", $input, "an assay client");
    SWIG_fail;
  }
  if (!$1) {
    assay_lua_push_config_error(L, "%s: the client is closed", assay_lua_func_name("$symname"));
    SWIG_fail;
  }
%}

/* client_close(handle): free the client now rather than at collection;
 * later calls with the handle raise "the client is closed". */
%native(client_close) int assay_lua_client_close(lua_State *L);
%{
static int assay_lua_client_close(lua_State *L) {
  void *ptr = NULL;
  swig_lua_userdata *usr;
  if (lua_type(L, 1) != LUA_TUSERDATA ||
      !SWIG_IsOK(SWIG_ConvertPtr(L, 1, &ptr, SWIGTYPE_p_assay_client, 0))) {
    assay_lua_push_type_error(L, "client_close", "client", 1, "an assay client");
    return lua_error(L);
  }
  usr = (swig_lua_userdata *)lua_touserdata(L, 1);
  if (usr->own && usr->ptr) assay_client_free((assay_client *)usr->ptr);
  usr->ptr = NULL;
  usr->own = 0;
  return 0;
}
%}

/* config_error(message): a ConfigError object, for the few checks the Lua
 * layer makes about its own arguments (e.g. "give exactly one of ..."). */
%native(config_error) int assay_lua_config_error(lua_State *L);
%{
static int assay_lua_config_error(lua_State *L) {
  assay_lua_push_config_error(L, "%s", luaL_checkstring(L, 1));
  return 1;
}
%}

%init %{
  assay_lua_open(L);
  /* SWIG adds the globals swig_type and swig_equals; a library should not. */
  {
    static const char *const swig_globals[] = {"swig_type", "swig_equals"};
    static const lua_CFunction swig_fns[] = {SWIG_Lua_type, SWIG_Lua_class_equal};
    for (int i = 0; i < 2; i++) {
      lua_getglobal(L, swig_globals[i]);
      if (lua_tocfunction(L, -1) == swig_fns[i]) {
        lua_pushnil(L);
        lua_setglobal(L, swig_globals[i]);
      }
      lua_pop(L, 1);
    }
  }
%}

%include "assay.i"
