/* config/config_util.c — message pieces and small checks shared by the
 * config validators. Contract in config/config_util.h. */
#include <stdio.h>
#include <string.h>

#include "config/config_util.h"
#include "internal.h"

#define KEY_LIST_MAX 4096 /* the expected keys of an object, for a message */

const char *config__type_name(const json_t *j) {
  if (!j) return "nothing";
  switch (json_typeof(j)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

void config__show_text(char *buf, size_t size, const char *v) {
  size_t n = strlen(v);
  if (n <= CONFIG_SHOW_MAX) {
    snprintf(buf, size, "'%s'", v);
    return;
  }
  size_t cut = CONFIG_SHOW_MAX;
  while (cut > 0 && ((unsigned char)v[cut] & 0xc0) == 0x80) cut--;
  snprintf(buf, size, "'%.*s...' (%zu bytes)", (int)cut, v, n);
}

void config__join_names(char *buf, size_t size, const char *const *names) {
  size_t used = 0;
  buf[0] = '\0';
  for (const char *const *n = names; *n; n++) {
    int w = snprintf(buf + used, size - used, "%s%s", n == names ? "" : ", ", *n);
    if (w < 0 || (size_t)w >= size - used) {
      if (size > 4) snprintf(buf + size - 4, 4, "...");
      return;
    }
    used += (size_t)w;
  }
}

int config__is_in(const char *key, const char *const *names) {
  for (const char *const *n = names; n && *n; n++)
    if (strcmp(*n, key) == 0) return 1;
  return 0;
}

json_t *config__given(const json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  return v && !json_is_null(v) ? v : NULL;
}

const char *config__sub(char *buf, const char *path, const char *key) {
  int n = snprintf(buf, CONFIG_PATH_MAX, "%s.%s", path, key);
  if (n < 0 || n >= CONFIG_PATH_MAX) snprintf(buf + CONFIG_PATH_MAX - 4, 4, "...");
  return buf;
}

const char *config__item(char *buf, const char *path, size_t i) {
  int n = snprintf(buf, CONFIG_PATH_MAX, "%s[%zu]", path, i);
  if (n < 0 || n >= CONFIG_PATH_MAX) snprintf(buf + CONFIG_PATH_MAX - 4, 4, "...");
  return buf;
}

int config__known_keys(const json_t *obj, const char *path, const char *const *expected) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    if (config__is_in(key, expected)) continue;
    char shown[CONFIG_SHOW_MAX + 32], names[KEY_LIST_MAX];
    config__show_text(shown, sizeof shown, key);
    config__join_names(names, sizeof names, expected);
    return assay__err(ASSAY_ERR_CONFIG, "%s: unknown key %s; expected: %s", path, shown, names);
  }
  return ASSAY_OK;
}

int config__want_object(const json_t *v, const char *path) {
  if (json_is_object(v)) return ASSAY_OK;
  return assay__err(ASSAY_ERR_CONFIG, "%s: expected an object; got %s", path,
                    config__type_name(v));
}

int config__want_bool(const json_t *v, const char *path) {
  if (json_is_boolean(v)) return ASSAY_OK;
  return assay__err(ASSAY_ERR_CONFIG, "%s: expected a boolean (true or false); got %s", path,
                    config__type_name(v));
}
