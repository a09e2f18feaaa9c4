/* swig/lua/assay_lua.h — what the Lua typemaps of assay.core call.
 *
 * Conversions between Lua values and assay_value trees, the error objects
 * the module raises, and the module's one-time set-up. The code lives in
 * assay_lua.c, compiled with the project's full warning set (the generated
 * wrapper is not), and knows nothing of SWIG.
 *
 * Every function that can fail leaves an error object on the Lua stack and
 * returns a negative assay_error_code; the typemap then jumps to SWIG's
 * `fail:` label (so `freearg` cleanup runs) which raises that object. */
#ifndef ASSAY_LUA_H
#define ASSAY_LUA_H

#include <lua.h>

#include "assay.h"

/* Registry names of the shared metatables. */
#define ASSAY_LUA_ERROR_MT "assay.Error" /* every error object           */
#define ASSAY_LUA_ARRAY_MT "assay.array" /* marks a table as a JSON array */

/* Initialise libassay for this Lua state (released when the state closes),
 * create the shared metatables and add `null`, `array_mt` and
 * `error_metatable` to the module table at the top of the stack. Raises a
 * Lua error if the library cannot start. */
void assay_lua_open(lua_State *L);

/* Push an error object {code, name, message, http_status} (name from the
 * core's error table). */
void assay_lua_push_error(lua_State *L, int code, const char *message, int http_status);
/* Push the error object of the calling thread's last error for return code
 * `rc` (a generic one if the core recorded none). */
void assay_lua_push_last_error(lua_State *L, int rc);
/* Push a ConfigError object with a formatted message; returns ASSAY_ERR_CONFIG. */
int assay_lua_push_config_error(lua_State *L, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The name a Lua caller knows a wrapped function by:
 * "assay_client_create_project" -> "create_project". */
const char *assay_lua_func_name(const char *symname);
/* Push the ConfigError "func: param must be <expected>, got <what is at idx>". */
void assay_lua_push_type_error(lua_State *L, const char *func, const char *param, int idx,
                               const char *expected);
/* The same for SWIG's own checks, which know the argument's position and C type. */
void assay_lua_push_arg_error(lua_State *L, const char *func, int argnum, const char *ctype);

/* Convert the Lua value at `idx` into a new assay_value (*out; NULL for nil).
 * Tables with keys 1..n only (n > 0), or carrying the assay.array metatable,
 * become arrays; other tables need string keys and become objects (an empty
 * table is an object). Integers stay integers; other numbers are reals.
 * `assay.null` is JSON null. On failure *out is NULL, an error object is
 * pushed and a negative code returned. */
int assay_lua_to_value(lua_State *L, int idx, assay_value **out);

/* Push `v` as a Lua value: nil for NULL or a top-level JSON null, integers
 * as Lua integers, arrays as tables with the assay.array metatable (null
 * elements become `assay.null`), objects as tables (null members are left
 * out). Runs protected: on failure (out of memory) an error object is pushed
 * instead and a negative code returned. */
int assay_lua_push_value(lua_State *L, const assay_value *v);

/* Argument readers for the typemaps: `func` is the wrapped function's
 * name and `param` the parameter's, for the message of the ConfigError they
 * push when the Lua value does not fit (then they return ASSAY_ERR_CONFIG). */

/* An integer that fits a C int (integral floats and numeric strings are
 * accepted, as Lua does). */
int assay_lua_to_int(lua_State *L, int idx, const char *func, const char *param, int *out);
/* A flag: nil/false -> 0, true -> 1, an integer -> non-zero. */
int assay_lua_to_flag(lua_State *L, int idx, const char *func, const char *param, int *out);
/* A number (integer or float), or nil -> 0. */
int assay_lua_to_number(lua_State *L, int idx, const char *func, const char *param,
                        double *out);
/* A string, or nil -> NULL; a number (or anything else) is a type error. */
int assay_lua_to_string(lua_State *L, int idx, const char *func, const char *param,
                        const char **out);
/* An optional byte string of any content (nil -> NULL, length 0). */
int assay_lua_to_bytes(lua_State *L, int idx, const char *func, const char *param,
                       const char **out, size_t *len);

#endif
