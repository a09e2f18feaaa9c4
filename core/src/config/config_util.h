/* config/config_util.h — the message pieces and small checks that the
 * config validators (config/data_info.c, config/test_config.c) share: a
 * JSON value's type named for "got ...", a string quoted and cut, name
 * lists, key paths ("a.b", "a[3]"), and the unknown-key, object and
 * boolean checks. Every error is ASSAY_ERR_CONFIG, naming the key by its
 * full path. Not installed. */
#ifndef ASSAY_CONFIG_UTIL_H
#define ASSAY_CONFIG_UTIL_H

#include <jansson.h>
#include <stddef.h>

#define CONFIG_PATH_MAX 512 /* key paths in messages: buffers of config__sub / config__item */
#define CONFIG_SHOW_MAX 120 /* a string shown in a message is cut here (bytes) */

/* "an object", "an array", "a string", "an integer", "a number",
 * "a boolean", "null"; "nothing" for NULL (a missing value). */
const char *config__type_name(const json_t *j);

/* A string for a message: quoted, cut at CONFIG_SHOW_MAX bytes (never
 * inside a UTF-8 sequence) as "'<text>...' (<n> bytes)". buf wants
 * CONFIG_SHOW_MAX + 32 bytes. */
void config__show_text(char *buf, size_t size, const char *v);

/* The NULL-terminated `names` joined by ", " (cut with "..." when too
 * long). */
void config__join_names(char *buf, size_t size, const char *const *names);

/* key is one of the NULL-terminated `names` (NULL names: none). */
int config__is_in(const char *key, const char *const *names);

/* The value of key in obj, or NULL when absent or null (optional keys). */
json_t *config__given(const json_t *obj, const char *key);

/* path + "." + key into buf (CONFIG_PATH_MAX bytes, cut with "..."). */
const char *config__sub(char *buf, const char *path, const char *key);
/* path + "[i]" into buf (CONFIG_PATH_MAX bytes, cut with "..."). */
const char *config__item(char *buf, const char *path, size_t i);

/* obj (an object) holds only `expected` keys, else "<path>: unknown key
 * '<key>'; expected: <names>". */
int config__known_keys(const json_t *obj, const char *path, const char *const *expected);

/* "<path>: expected an object; got <type>" unless v is one. */
int config__want_object(const json_t *v, const char *path);
/* "<path>: expected a boolean (true or false); got <type>" unless v is
 * one. */
int config__want_bool(const json_t *v, const char *path);

#endif
