/* integration/schema.c — the integration type table, the sensitivities with
 * their friendly aliases, and validation of integration_schema entries
 * (contracts in integration/schema.h). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/integration.h"
#include "integration/schema.h"
#include "integration/secrets.h"
#include "platform/handlers.h"

/* --- the type table ------------------------------------------------------ */

typedef struct type_def {
  const char *name;
  const char *const *required; /* NULL (with optional NULL): any names */
  const char *const *optional;
  const char *const *secret;   /* names that may not be VARIABLE_SENSITIVITY_PUBLIC */
} type_def;

static const char *const none[] = {NULL};
static const char *const databricks_req[] = {"DATABRICKS_HOST", "DATABRICKS_TOKEN", NULL};
static const char *const databricks_sec[] = {"DATABRICKS_TOKEN", NULL};
static const char *const aws_key_req[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", NULL};
static const char *const aws_key_opt[] = {"AWS_SESSION_TOKEN", "AWS_REGION", NULL};
static const char *const aws_key_sec[] = {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", NULL};
static const char *const aws_role_req[] = {"AWS_ROLE_ARN", NULL};
static const char *const aws_role_opt[] = {"AWS_REGION", NULL};
static const char *const hf_req[] = {"HUGGINGFACE_API_TOKEN", NULL};
static const char *const gcs_req[] = {"GCS_SERVICE_ACCOUNT_JSON", NULL};
static const char *const azure_cs_req[] = {"AZURE_TENANT_ID", "AZURE_CLIENT_ID",
                                           "AZURE_CLIENT_SECRET", NULL};
static const char *const azure_cs_sec[] = {"AZURE_CLIENT_SECRET", NULL};
static const char *const azure_wi_req[] = {"AZURE_TENANT_ID", "AZURE_CLIENT_ID", NULL};

static const type_def types[] = {
  {"INTEGRATION_TYPE_CUSTOM", NULL, NULL, none},
  {"INTEGRATION_TYPE_DATABRICKS", databricks_req, none, databricks_sec},
  {"INTEGRATION_TYPE_AWS_ACCESS_KEY", aws_key_req, aws_key_opt, aws_key_sec},
  {"INTEGRATION_TYPE_AWS_ROLE_ARN", aws_role_req, aws_role_opt, none},
  {"INTEGRATION_TYPE_HUGGINGFACE", hf_req, none, hf_req},
  {"INTEGRATION_TYPE_GCS", gcs_req, none, gcs_req},
  {"INTEGRATION_TYPE_AZURE_CLIENT_SECRET", azure_cs_req, none, azure_cs_sec},
  {"INTEGRATION_TYPE_AZURE_WORKLOAD_IDENTITY", azure_wi_req, none, none},
};
#define N_TYPES (sizeof types / sizeof types[0])

static const type_def *type_find(const char *name) {
  for (size_t i = 0; i < N_TYPES; i++)
    if (strcmp(types[i].name, name) == 0) return &types[i];
  return NULL;
}

static int in_list(const char *const *list, const char *name) {
  for (; list && *list; list++)
    if (strcmp(*list, name) == 0) return 1;
  return 0;
}

/* Append `item` to the comma-separated list in buf. */
static void list_add(char *buf, size_t size, const char *item) {
  size_t used = strlen(buf);
  if (used < size) snprintf(buf + used, size - used, "%s%s", used ? ", " : "", item);
}

int integration_type_check(const char *type) {
  if (type_find(type)) return ASSAY_OK;
  char valid[512] = "";
  for (size_t i = 0; i < N_TYPES; i++) list_add(valid, sizeof valid, types[i].name);
  return assay__err(ASSAY_ERR_CONFIG,
                    "integration_type '%s' is not a known integration type; expected one of: %s",
                    type, valid);
}

/* --- sensitivities --------------------------------------------------------- */

static const struct {
  const char *name, *alias;
} sensitivities[] = {
  {SENSITIVITY_PUBLIC, "not_sensitive"},
  {SENSITIVITY_WORKSPACE, "workspace"},
  {SENSITIVITY_USER, "members"},
};

#define SENSITIVITIES_TEXT                                                                  \
  SENSITIVITY_PUBLIC " (or \"not_sensitive\"), " SENSITIVITY_WORKSPACE " (or \"workspace\"), " \
  SENSITIVITY_USER " (or \"members\")"

const char *sensitivity_canonical(const char *text) {
  for (size_t i = 0; i < sizeof sensitivities / sizeof sensitivities[0]; i++)
    if (strcmp(text, sensitivities[i].name) == 0 || strcmp(text, sensitivities[i].alias) == 0)
      return sensitivities[i].name;
  return NULL;
}

/* --- values ------------------------------------------------------------------ */

int schema_value_check(const char *what, const json_t *value) {
  if (!json_is_string(value))
    return assay__err(ASSAY_ERR_CONFIG, "%s must be a string; got %s", what,
                      json_type_name(value));
  size_t len = json_string_length(value);
  if (len > SECRET_VALUE_MAX)
    return assay__err(ASSAY_ERR_CONFIG, "%s is %zu bytes; a value may be at most %d bytes",
                      what, len, SECRET_VALUE_MAX);
  if (memchr(json_string_value(value), '\0', len))
    return assay__err(ASSAY_ERR_CONFIG, "%s must not contain NUL characters", what);
  return ASSAY_OK;
}

int schema_secret_value_check(const char *what, const json_t *value) {
  int rc = schema_value_check(what, value);
  if (!rc && json_string_length(value) == 0)
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s is empty; a secret value must not be empty (null clears a "
                      "members-level value)",
                      what);
  return rc;
}

void schema_wipe_string(json_t *s) {
  if (!json_is_string(s)) return;
  size_t len = json_string_length(s);
  if (len) sodium_memzero((char *)json_string_value(s), len);
}

/* --- entries ------------------------------------------------------------------- */

static int parse_entry(json_t *e, const char *field, size_t i, var_entry *out) {
  if (!json_is_object(e))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s[%zu] must be an object {\"name\", \"sensitivity\", \"value\"?}; got %s",
                      field, i, json_type_name(e));
  const char *key;
  json_t *v;
  json_object_foreach(e, key, v) {
    if (strcmp(key, "name") != 0 && strcmp(key, "sensitivity") != 0 && strcmp(key, "value") != 0)
      return assay__err(ASSAY_ERR_CONFIG,
                        "%s[%zu] has an unknown key '%s'; an entry takes only name, sensitivity "
                        "and value",
                        field, i, key);
  }
  json_t *name = json_object_get(e, "name");
  if (!name || json_is_null(name))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s[%zu] has no name; each entry needs a name and a sensitivity", field, i);
  if (!json_is_string(name))
    return assay__err(ASSAY_ERR_CONFIG, "%s[%zu].name must be a string; got %s", field, i,
                      json_type_name(name));
  char what[64 + INTEGRATION_VARIABLE_NAME_MAX];
  snprintf(what, sizeof what, "%s[%zu].name", field, i);
  if (memchr(json_string_value(name), '\0', json_string_length(name)))
    return assay__err(ASSAY_ERR_CONFIG, "%s must not contain control characters", what);
  int rc = check_text(what, json_string_value(name), INTEGRATION_VARIABLE_NAME_MAX, 1);
  if (rc) return rc;
  out->name = json_string_value(name);

  json_t *sens = json_object_get(e, "sensitivity");
  if (!sens || json_is_null(sens))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s[%zu] (variable '%s') has no sensitivity; expected one of " SENSITIVITIES_TEXT,
                      field, i, out->name);
  if (!json_is_string(sens))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s[%zu].sensitivity (variable '%s') must be a string; got %s", field, i,
                      out->name, json_type_name(sens));
  out->sensitivity = sensitivity_canonical(json_string_value(sens));
  if (!out->sensitivity)
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s[%zu] (variable '%s') has an unknown sensitivity '%s'; expected one of "
                      SENSITIVITIES_TEXT,
                      field, i, out->name, json_string_value(sens));

  json_t *value = json_object_get(e, "value");
  if (json_is_null(value)) value = NULL;
  if (strcmp(out->sensitivity, SENSITIVITY_USER) == 0) {
    if (value)
      return assay__err(ASSAY_ERR_CONFIG,
                        "%s[%zu] (variable '%s') is members-level (" SENSITIVITY_USER
                        ") and takes no value here; each member sets their own with "
                        "set_integration_credentials",
                        field, i, out->name);
  } else {
    if (!value)
      return assay__err(ASSAY_ERR_CONFIG,
                        "%s[%zu] (variable '%s', %s) needs a value: a string of at most %d bytes",
                        field, i, out->name, out->sensitivity, SECRET_VALUE_MAX);
    snprintf(what, sizeof what, "the value of %s[%zu] (variable '%s')", field, i, out->name);
    rc = strcmp(out->sensitivity, SENSITIVITY_WORKSPACE) == 0
           ? schema_secret_value_check(what, value)
           : schema_value_check(what, value);
    if (rc) return rc;
  }
  out->value = value;
  return ASSAY_OK;
}

int schema_entries_parse(json_t *arr, const char *field, var_entry **out, size_t *n) {
  *out = NULL;
  *n = 0;
  if (!json_is_array(arr))
    return assay__err(ASSAY_ERR_CONFIG,
                      "%s must be an array of variable entries {\"name\", \"sensitivity\", "
                      "\"value\"?}; got %s",
                      field, arr ? json_type_name(arr) : "nothing");
  size_t count = json_array_size(arr);
  if (count > INTEGRATION_VARIABLES_MAX)
    return assay__err(ASSAY_ERR_CONFIG, "%s has %zu variables; an integration holds at most %d",
                      field, count, INTEGRATION_VARIABLES_MAX);
  var_entry *vars = calloc(count ? count : 1, sizeof *vars);
  if (!vars) return assay__nomem();
  for (size_t i = 0; i < count; i++) {
    int rc = parse_entry(json_array_get(arr, i), field, i, &vars[i]);
    for (size_t k = 0; !rc && k < i; k++)
      if (strcmp(vars[k].name, vars[i].name) == 0)
        rc = assay__err(ASSAY_ERR_CONFIG,
                        "%s[%zu]: variable '%s' appears more than once (also at %s[%zu]); "
                        "variable names must be unique within an integration",
                        field, i, vars[i].name, field, k);
    if (rc) {
      free(vars);
      return rc;
    }
  }
  *out = vars;
  *n = count;
  return ASSAY_OK;
}

/* --- against the type ------------------------------------------------------------ */

int schema_type_validate(const char *type, const var_entry *vars, size_t n) {
  const type_def *t = type_find(type);
  if (!t) return integration_type_check(type);
  if (n > INTEGRATION_VARIABLES_MAX)
    return assay__err(ASSAY_ERR_CONFIG,
                      "the integration would have %zu variables; an integration holds at most %d",
                      n, INTEGRATION_VARIABLES_MAX);
  char names[1024] = "";
  if (t->required) {
    for (const char *const *r = t->required; *r; r++) list_add(names, sizeof names, *r);
    for (const char *const *o = t->optional; *o; o++) list_add(names, sizeof names, *o);
    for (size_t i = 0; i < n; i++)
      if (!in_list(t->required, vars[i].name) && !in_list(t->optional, vars[i].name))
        return assay__err(ASSAY_ERR_CONFIG,
                          "%s takes only the variables %s; '%s' is not one of them "
                          "(INTEGRATION_TYPE_CUSTOM takes any names)",
                          type, names, vars[i].name);
  }
  for (size_t i = 0; i < n; i++)
    if (in_list(t->secret, vars[i].name) && strcmp(vars[i].sensitivity, SENSITIVITY_PUBLIC) == 0)
      return assay__err(ASSAY_ERR_CONFIG,
                        "variable '%s' of %s holds a secret but was declared " SENSITIVITY_PUBLIC
                        ": a not-sensitive value where a secret was expected; declare it "
                        SENSITIVITY_WORKSPACE " (\"workspace\") or " SENSITIVITY_USER
                        " (\"members\")",
                        vars[i].name, type);
  if (t->required) {
    char missing[1024] = "", needed[1024] = "";
    for (const char *const *r = t->required; *r; r++) {
      list_add(needed, sizeof needed, *r);
      int found = 0;
      for (size_t i = 0; i < n && !found; i++) found = strcmp(vars[i].name, *r) == 0;
      if (!found) list_add(missing, sizeof missing, *r);
    }
    if (*missing)
      return assay__err(ASSAY_ERR_CONFIG, "%s needs the variables %s; missing: %s", type,
                        needed, missing);
  }
  return ASSAY_OK;
}
