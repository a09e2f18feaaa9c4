/* integration/schema.h — the integration types (the variable names each
 * needs or allows, and which of them are secrets), the sensitivities and
 * their aliases, and the validation of integration_schema entries. Shared
 * by the REST handlers (integrations.c) and resolution (resolve.c). Every
 * failure is ASSAY_ERR_CONFIG saying what was wrong and what was expected;
 * no message ever holds a variable's value. Not installed. */
#ifndef ASSAY_INTEGRATION_SCHEMA_H
#define ASSAY_INTEGRATION_SCHEMA_H

#include <jansson.h>
#include <stddef.h>

/* One validated schema entry. name and value point into the JSON it was
 * parsed from (value: the JSON string, or NULL when none was given). */
typedef struct var_entry {
  const char *name;
  const char *sensitivity; /* canonical: one of the SENSITIVITY_* names */
  json_t *value;
} var_entry;

/* The canonical sensitivity for `text` (a canonical name or one of the
 * aliases "not_sensitive", "workspace", "members"); NULL if unknown. */
const char *sensitivity_canonical(const char *text);

/* Is `type` one of the INTEGRATION_TYPE_* names? Else ASSAY_ERR_CONFIG
 * listing the valid ones. */
int integration_type_check(const char *type);

/* Parse `arr` (the JSON value of the field named `field`) into *out (n
 * entries, malloc'd; free() it): an array of at most
 * INTEGRATION_VARIABLES_MAX objects {name, sensitivity, value?} with
 * unique, valid names, a known sensitivity, and a value exactly when the
 * sensitivity takes one (public and workspace secrets: a string of at most
 * SECRET_VALUE_MAX bytes; members-level: none). Messages name the entry
 * as field[i] and its variable. */
int schema_entries_parse(json_t *arr, const char *field, var_entry **out, size_t *n);

/* The whole set of variables against the integration type: the required
 * names are all there, no name outside the type's (except for
 * INTEGRATION_TYPE_CUSTOM), no secret of the type declared
 * VARIABLE_SENSITIVITY_PUBLIC, at most INTEGRATION_VARIABLES_MAX. */
int schema_type_validate(const char *type, const var_entry *vars, size_t n);

/* A secret or public value: a string without NUL characters of at most
 * SECRET_VALUE_MAX bytes. `what` names it in messages (never the value). */
int schema_value_check(const char *what, const json_t *value);
/* schema_value_check() for a secret (workspace or members-level) value,
 * which must also not be empty: an empty secret is never what was meant,
 * and a job must not receive one (clear a member value with null). */
int schema_secret_value_check(const char *what, const json_t *value);

/* Overwrite the bytes of a JSON string in place (a plaintext copy we are
 * done with). NULL and non-strings are ignored. */
void schema_wipe_string(json_t *s);

#endif
