/* integration/integrations.c — the integration routes: create, list, get,
 * update (rename; add, replace or remove variables) and delete an
 * integration, and set the caller's own members-level credentials.
 *
 * Who may do what: any role in the workspace reads; workspace admins (and
 * organisation admins) create, change and delete; members and admins set
 * their own credentials. An integration of a workspace the caller cannot
 * see is "not found", exactly like an unknown id.
 *
 * Secret values (workspace secrets and member credentials) are sealed with
 * the platform's keyring in the same write transaction that stores the
 * integration; no answer carries one. The request body's copies are wiped
 * once the handler is done with them. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/integration.h"
#include "integration/schema.h"
#include "integration/secrets.h"
#include "platform/access.h"
#include "platform/handlers.h"

/* --- shared pieces ---------------------------------------------------------- */

static int not_found(const char *integration_id) {
  return assay__err(ASSAY_ERR_NOT_FOUND, "integration '%s' not found", integration_id);
}

static const char *text_of(json_t *obj, const char *field) {
  return json_string_value(json_object_get(obj, field));
}

/* Load integration `id` and check that the caller holds at least `min` in
 * its workspace. Not visible to the caller answers the same as unknown. */
static int load_visible(route_ctx *c, const char *id, workspace_role min, json_t **rec) {
  store *s = c->store;
  *rec = NULL;
  int rc = s->ops->integration_get(s, id, rec);
  if (rc == ASSAY_ERR_NOT_FOUND) return not_found(id);
  if (rc) return rc;
  rc = access_workspace(s, c->who, text_of(*rec, "workspace_id"), min, NULL);
  if (rc == ASSAY_ERR_NOT_FOUND) rc = not_found(id);
  if (rc) {
    json_decref(*rec);
    *rec = NULL;
  }
  return rc;
}

static int array_has(json_t *arr, const char *name) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    const char *t = json_string_value(v);
    if (t && strcmp(t, name) == 0) return 1;
  }
  return 0;
}

/* A store delete that found nothing to delete is not a failure here. */
static int drop_secrets(store *s, const char *id, const char *name, const char *user_id) {
  int rc = s->ops->secret_delete(s, id, name, user_id);
  if (rc == ASSAY_ERR_NOT_FOUND) {
    assay_error_clear();
    rc = ASSAY_OK;
  }
  return rc;
}

/* After a commit: when it deleted or replaced secret values, get their old
 * ciphertexts out of the store's files (platform_compact: only then, never
 * failing the committed request; a compaction readers held up is retried
 * at the next write). */
static void compact_store(route_ctx *c) { (void)platform_compact(c->platform, c->store); }

/* Seal `value` for (id, name, user_id) and store it, replacing any earlier
 * value for the same identity. The keyring must be synced already. */
static int put_secret(route_ctx *c, const char *id, const char *name, const char *user_id,
                      json_t *value, int64_t now) {
  store *s = c->store;
  secret_row row;
  memset(&row, 0, sizeof row);
  int rc = secret_seal(platform_keyring(c->platform), id, name, user_id,
                       json_string_value(value), json_string_length(value), &row);
  if (!rc) rc = drop_secrets(s, id, name, user_id);
  if (!rc) rc = s->ops->secret_put(s, &row, now);
  free(row.sealed);
  return rc;
}

/* Complete a stored record for the caller: each variable's is_set (public:
 * always; workspace secret: the workspace value is stored; members-level:
 * the caller's own value is stored) and the caller's credential_status. */
static int decorate(store *s, json_t *rec, const char *user_id) {
  const char *id = text_of(rec, "integration_id");
  json_t *vars = json_object_get(rec, "variables");
  json_t *ws_names = NULL, *own_names = NULL, *missing = json_array();
  int rc = missing ? ASSAY_OK : assay__nomem();
  size_t i;
  json_t *v;
  json_array_foreach(vars, i, v) {
    if (rc) break;
    const char *sens = text_of(v, "sensitivity");
    int is_set = 1;
    if (strcmp(sens, SENSITIVITY_WORKSPACE) == 0) {
      if (!ws_names) rc = s->ops->secret_names(s, id, "", &ws_names);
      is_set = !rc && array_has(ws_names, text_of(v, "name"));
    } else if (strcmp(sens, SENSITIVITY_USER) == 0) {
      if (!own_names) rc = s->ops->secret_names(s, id, user_id, &own_names);
      is_set = !rc && array_has(own_names, text_of(v, "name"));
      if (!rc && !is_set && json_array_append_new(missing, json_string(text_of(v, "name"))) != 0)
        rc = assay__nomem();
    }
    if (!rc && json_object_set_new(v, "is_set", json_boolean(is_set)) != 0) rc = assay__nomem();
  }
  json_decref(ws_names);
  json_decref(own_names);
  if (!rc) {
    json_t *status = json_pack("{s:b, s:O}", "configured", json_array_size(missing) == 0,
                               "missing", missing);
    if (!status || json_object_set_new(rec, "credential_status", status) != 0)
      rc = assay__nomem();
  }
  json_decref(missing);
  return rc;
}

/* Overwrite every "value" string of the schema entries in `arr` (the
 * request body's copies, no longer needed once stored). */
static void wipe_entry_values(json_t *arr) {
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) schema_wipe_string(json_object_get(e, "value"));
}

/* The stored form of one entry: {name, sensitivity, value (public only)}. */
static json_t *stored_variable(const var_entry *e) {
  if (strcmp(e->sensitivity, SENSITIVITY_PUBLIC) == 0)
    return json_pack("{s:s, s:s, s:s%}", "name", e->name, "sensitivity", e->sensitivity,
                     "value", json_string_value(e->value), json_string_length(e->value));
  return json_pack("{s:s, s:s}", "name", e->name, "sensitivity", e->sensitivity);
}

static int any_workspace_secret(const var_entry *vars, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(vars[i].sensitivity, SENSITIVITY_WORKSPACE) == 0) return 1;
  return 0;
}

/* Seal and store the workspace value of every workspace secret in vars. */
static int put_workspace_secrets(route_ctx *c, const char *id, const var_entry *vars, size_t n,
                                 int64_t now) {
  if (!any_workspace_secret(vars, n)) return ASSAY_OK;
  int rc = keyring_sync(platform_keyring(c->platform), c->store, 1);
  for (size_t i = 0; !rc && i < n; i++)
    if (strcmp(vars[i].sensitivity, SENSITIVITY_WORKSPACE) == 0)
      rc = put_secret(c, id, vars[i].name, "", vars[i].value, now);
  return rc;
}

/* Read the stored record again and answer it, decorated for the caller. */
static int answer_record(route_ctx *c, const char *id, int status) {
  json_t *rec = NULL;
  int rc = c->store->ops->integration_get(c->store, id, &rec);
  if (!rc) rc = decorate(c->store, rec, c->who->user_id);
  if (rc) {
    json_decref(rec);
    return rc;
  }
  c->resp->status = status;
  c->resp->body = rec;
  return ASSAY_OK;
}

/* --- create ------------------------------------------------------------------ */

static int create_in_tx(route_ctx *c, const char *id, int64_t now) {
  static const char *const fields[] = {"name", "integration_type", "integration_schema", NULL};
  json_t *b = c->body;
  const char *ws = c->params[0], *name = NULL, *type = NULL;
  int rc = access_workspace(c->store, c->who, ws, ROLE_ADMIN, NULL);
  if (!rc) rc = body_check_fields(b, fields, "an integration");
  if (!rc) rc = body_string(b, "name", 1, &name);
  if (!rc) rc = check_text("name", name, INTEGRATION_NAME_MAX, 1);
  if (!rc) rc = body_string(b, "integration_type", 1, &type);
  if (!rc) rc = integration_type_check(type);
  json_t *schema = json_object_get(b, "integration_schema");
  if (!rc && (!schema || json_is_null(schema)))
    rc = assay__err(ASSAY_ERR_CONFIG,
                    "integration_schema is required: an array of variable entries "
                    "{\"name\", \"sensitivity\", \"value\"?}");
  var_entry *vars = NULL;
  size_t n = 0;
  if (!rc) rc = schema_entries_parse(schema, "integration_schema", &vars, &n);
  if (!rc) rc = schema_type_validate(type, vars, n);
  if (rc) {
    free(vars);
    return rc;
  }

  json_t *stored = json_array();
  json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "integration_id", id,
                          "workspace_id", ws, "name", name, "integration_type", type,
                          "created_by", c->who->user_id, "created_at_secs", (json_int_t)now,
                          "updated_at_secs", (json_int_t)now);
  rc = stored && rec ? ASSAY_OK : assay__nomem();
  for (size_t i = 0; !rc && i < n; i++)
    if (json_array_append_new(stored, stored_variable(&vars[i])) != 0) rc = assay__nomem();
  if (!rc && json_object_set(rec, "variables", stored) != 0) rc = assay__nomem();
  if (!rc) rc = c->store->ops->integration_insert(c->store, rec);
  if (!rc) rc = put_workspace_secrets(c, id, vars, n, now);
  json_decref(stored);
  json_decref(rec);
  free(vars);
  return rc;
}

/* POST /v1/workspaces/{workspace_id}/integrations */
int h_integrations_create(route_ctx *c) {
  store *s = c->store;
  char id[37];
  int64_t now = assay__now();
  assay__uuid(id);
  int rc = s->ops->begin(s, 1);
  if (!rc) rc = create_in_tx(c, id, now);
  if (!rc) rc = answer_record(c, id, 201);
  if (!rc) rc = s->ops->commit(s);
  if (rc) {
    s->ops->rollback(s);
    json_decref(c->resp->body);
    c->resp->body = NULL;
  }
  json_t *schema = json_object_get(c->body, "integration_schema");
  if (json_is_array(schema)) wipe_entry_values(schema);
  return rc;
}

/* --- read ------------------------------------------------------------------ */

/* GET /v1/workspaces/{workspace_id}/integrations */
int h_integrations_list(route_ctx *c) {
  store *s = c->store;
  json_t *list = NULL;
  int rc = s->ops->begin(s, 0);
  if (!rc) rc = access_workspace(s, c->who, c->params[0], ROLE_VIEWER, NULL);
  if (!rc) rc = s->ops->integration_list(s, c->params[0], &list);
  size_t i;
  json_t *rec;
  json_array_foreach(list, i, rec) {
    if (rc) break;
    rc = decorate(s, rec, c->who->user_id);
  }
  if (!rc) rc = s->ops->commit(s);
  if (rc) {
    s->ops->rollback(s);
    json_decref(list);
    return rc;
  }
  c->resp->body = json_pack("{s:o}", "integrations", list);
  return c->resp->body ? ASSAY_OK : assay__nomem();
}

/* GET /v1/integrations/{integration_id} */
int h_integration_get(route_ctx *c) {
  store *s = c->store;
  json_t *rec = NULL;
  int rc = s->ops->begin(s, 0);
  if (!rc) rc = load_visible(c, c->params[0], ROLE_VIEWER, &rec);
  if (!rc) rc = decorate(s, rec, c->who->user_id);
  if (!rc) rc = s->ops->commit(s);
  if (rc) {
    s->ops->rollback(s);
    json_decref(rec);
    return rc;
  }
  c->resp->body = rec;
  return ASSAY_OK;
}

/* --- update ------------------------------------------------------------------ */

/* The names of `vars` (stored variables) as "A, B, C", for messages. */
static void variable_names(json_t *vars, const char *only_sensitivity, char *buf, size_t size) {
  size_t i, used;
  json_t *v;
  buf[0] = '\0';
  json_array_foreach(vars, i, v) {
    if (only_sensitivity && strcmp(text_of(v, "sensitivity"), only_sensitivity) != 0) continue;
    used = strlen(buf);
    if (used + 1 < size) snprintf(buf + used, size - used, "%s%s", used ? ", " : "",
                                  text_of(v, "name"));
  }
}

static json_t *find_variable(json_t *vars, const char *name) {
  size_t i;
  json_t *v;
  json_array_foreach(vars, i, v) if (strcmp(text_of(v, "name"), name) == 0) return v;
  return NULL;
}

static const var_entry *find_entry(const var_entry *vars, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(vars[i].name, name) == 0) return &vars[i];
  return NULL;
}

/* remove_variables: an array of names, each a variable of the integration
 * and not also given in `variables`. */
static int check_removals(json_t *remove, json_t *cur, const var_entry *vars, size_t n) {
  if (!json_is_array(remove))
    return assay__err(ASSAY_ERR_CONFIG,
                      "remove_variables must be an array of variable names; got %s",
                      json_type_name(remove));
  size_t i;
  json_t *r;
  json_array_foreach(remove, i, r) {
    if (!json_is_string(r))
      return assay__err(ASSAY_ERR_CONFIG, "remove_variables[%zu] must be a string; got %s", i,
                        json_type_name(r));
    const char *name = json_string_value(r);
    if (!find_variable(json_object_get(cur, "variables"), name)) {
      char names[4096];
      variable_names(json_object_get(cur, "variables"), NULL, names, sizeof names);
      return assay__err(ASSAY_ERR_CONFIG,
                        "remove_variables[%zu]: integration '%s' has no variable '%s'; its "
                        "variables are: %s",
                        i, text_of(cur, "name"), name, *names ? names : "(none)");
    }
    if (find_entry(vars, n, name))
      return assay__err(ASSAY_ERR_CONFIG,
                        "variable '%s' is both in variables and in remove_variables; give it "
                        "in only one of them",
                        name);
  }
  return ASSAY_OK;
}

static int update_in_tx(route_ctx *c, const char *id, int64_t now, var_entry **pvars,
                        size_t *pn, int *dropped) {
  static const char *const fields[] = {"name", "variables", "remove_variables", NULL};
  store *s = c->store;
  json_t *b = c->body, *cur = NULL;
  const char *name = NULL;
  int rc = load_visible(c, id, ROLE_ADMIN, &cur);
  if (!rc) rc = body_check_fields(b, fields, "an integration update");
  if (!rc) rc = body_string(b, "name", 0, &name);
  if (!rc && name) rc = check_text("name", name, INTEGRATION_NAME_MAX, 1);
  json_t *patch = json_object_get(b, "variables"), *remove = json_object_get(b, "remove_variables");
  if (json_is_null(patch)) patch = NULL;
  if (json_is_null(remove)) remove = NULL;
  if (!rc && !name && !patch && !remove)
    rc = assay__err(ASSAY_ERR_CONFIG,
                    "nothing to update: give name, variables or remove_variables");
  var_entry *vars = NULL;
  size_t n = 0;
  if (!rc && patch) rc = schema_entries_parse(patch, "variables", &vars, &n);
  *pvars = vars;
  *pn = n;
  if (!rc && remove) rc = check_removals(remove, cur, vars, n);
  if (rc) {
    json_decref(cur);
    return rc;
  }

  /* The result: the current variables in their order (replaced in place,
   * removed ones dropped), then the new ones in the order given. */
  json_t *cur_vars = json_object_get(cur, "variables");
  size_t cap = json_array_size(cur_vars) + n, m = 0, i;
  var_entry *merged = calloc(cap ? cap : 1, sizeof *merged);
  json_t *stored = json_array(), *v;
  rc = merged && stored ? ASSAY_OK : assay__nomem();
  json_array_foreach(cur_vars, i, v) {
    if (rc) break;
    const char *vname = text_of(v, "name");
    if (remove && array_has(remove, vname)) continue;
    const var_entry *e = find_entry(vars, n, vname);
    if (e) {
      merged[m++] = *e;
    } else {
      merged[m].name = vname;
      merged[m].sensitivity = text_of(v, "sensitivity");
      merged[m++].value = json_object_get(v, "value");
    }
  }
  for (size_t k = 0; !rc && k < n; k++)
    if (!find_variable(cur_vars, vars[k].name)) merged[m++] = vars[k];
  if (!rc) rc = schema_type_validate(text_of(cur, "integration_type"), merged, m);
  for (size_t k = 0; !rc && k < m; k++)
    if (json_array_append_new(stored, stored_variable(&merged[k])) != 0) rc = assay__nomem();

  /* Stored secrets that no longer fit: those of removed variables and of
   * variables whose sensitivity changed. */
  json_array_foreach(cur_vars, i, v) {
    if (rc) break;
    const char *vname = text_of(v, "name"), *sens = text_of(v, "sensitivity");
    const var_entry *e = find_entry(vars, n, vname);
    int removed = remove && array_has(remove, vname);
    if (strcmp(sens, SENSITIVITY_PUBLIC) != 0 &&
        (removed || (e && strcmp(e->sensitivity, sens) != 0))) {
      rc = drop_secrets(s, id, vname, NULL);
      *dropped = 1;
    }
  }

  json_t *rec = NULL;
  if (!rc) {
    rec = json_pack("{s:s, s:s, s:O, s:I}", "integration_id", id, "name",
                    name ? name : text_of(cur, "name"), "variables", stored,
                    "updated_at_secs", (json_int_t)now);
    if (!rec) rc = assay__nomem();
  }
  if (!rc) rc = s->ops->integration_update(s, rec);
  if (!rc && any_workspace_secret(vars, n)) *dropped = 1; /* replaced values */
  if (!rc) rc = put_workspace_secrets(c, id, vars, n, now);
  json_decref(rec);
  json_decref(stored);
  free(merged);
  json_decref(cur);
  return rc;
}

/* PATCH /v1/integrations/{integration_id} */
int h_integration_update(route_ctx *c) {
  store *s = c->store;
  var_entry *vars = NULL;
  size_t n = 0;
  int dropped = 0;
  int rc = s->ops->begin(s, 1);
  if (!rc) rc = update_in_tx(c, c->params[0], assay__now(), &vars, &n, &dropped);
  if (!rc) rc = answer_record(c, c->params[0], 200);
  if (!rc) rc = s->ops->commit(s);
  if (rc) {
    s->ops->rollback(s);
    json_decref(c->resp->body);
    c->resp->body = NULL;
  } else if (dropped) {
    compact_store(c);
  }
  free(vars);
  json_t *patch = json_object_get(c->body, "variables");
  if (json_is_array(patch)) wipe_entry_values(patch);
  return rc;
}

/* --- delete ------------------------------------------------------------------ */

/* DELETE /v1/integrations/{integration_id} */
int h_integration_delete(route_ctx *c) {
  store *s = c->store;
  json_t *cur = NULL;
  int rc = s->ops->begin(s, 1);
  if (!rc) rc = load_visible(c, c->params[0], ROLE_ADMIN, &cur);
  if (!rc) rc = drop_secrets(s, c->params[0], NULL, NULL);
  if (!rc) rc = s->ops->integration_delete(s, c->params[0]);
  if (!rc) rc = s->ops->commit(s);
  if (rc) s->ops->rollback(s);
  else compact_store(c); /* its secret values went */
  json_decref(cur);
  if (!rc) c->resp->status = 204;
  return rc;
}

/* --- members-level credentials ------------------------------------------------ */

static int check_credentials(json_t *creds, json_t *cur) {
  json_t *vars = json_object_get(cur, "variables");
  const char *key;
  json_t *value;
  json_object_foreach(creds, key, value) {
    json_t *v = find_variable(vars, key);
    if (!v) {
      char names[4096];
      variable_names(vars, SENSITIVITY_USER, names, sizeof names);
      if (!*names)
        return assay__err(ASSAY_ERR_CONFIG,
                          "integration '%s' has no variable '%s', and no members-level "
                          "(" SENSITIVITY_USER ") variables at all to set",
                          text_of(cur, "name"), key);
      return assay__err(ASSAY_ERR_CONFIG,
                        "integration '%s' has no variable '%s'; its members-level "
                        "(" SENSITIVITY_USER ") variables are: %s",
                        text_of(cur, "name"), key, names);
    }
    const char *sens = text_of(v, "sensitivity");
    if (strcmp(sens, SENSITIVITY_USER) != 0)
      return assay__err(ASSAY_ERR_CONFIG,
                        "variable %s is %s; only members-level (" SENSITIVITY_USER
                        ") variables take per-member values",
                        key, sens);
    if (json_is_null(value)) continue;
    char what[64 + INTEGRATION_VARIABLE_NAME_MAX];
    snprintf(what, sizeof what, "the value for variable '%s' (a string, or null to clear it)",
             key);
    int rc = schema_secret_value_check(what, value);
    if (rc) return rc;
  }
  return ASSAY_OK;
}

static int credentials_in_tx(route_ctx *c, const char *id) {
  static const char *const fields[] = {"credentials", NULL};
  store *s = c->store;
  json_t *cur = NULL, *creds = NULL;
  /* Viewers may not use integrations, so they set no values; but they may
   * clear their own (kept from when they were a member). */
  int rc = load_visible(c, id, ROLE_VIEWER, &cur);
  if (!rc) rc = body_check_fields(c->body, fields, "a credentials update");
  if (!rc) rc = body_object(c->body, "credentials", &creds);
  if (!rc && !creds)
    rc = assay__err(ASSAY_ERR_CONFIG,
                    "credentials is required: an object of variable name → value (a string, "
                    "or null to clear it)");
  if (!rc) {
    const char *k;
    json_t *v;
    int sets = 0;
    json_object_foreach(creds, k, v) sets |= !json_is_null(v);
    if (sets || json_object_size(creds) == 0)
      rc = access_workspace(s, c->who, text_of(cur, "workspace_id"), ROLE_MEMBER, NULL);
    if (rc == ASSAY_ERR_PERMISSION_DENIED && sets)
      rc = assay__err(ASSAY_ERR_PERMISSION_DENIED,
                      "setting credentials needs the WORKSPACE_ROLE_MEMBER role in workspace "
                      "'%s' (or above); you have WORKSPACE_ROLE_VIEWER, which may only clear "
                      "its own values (null)",
                      text_of(cur, "workspace_id"));
  }
  if (!rc) rc = check_credentials(creds, cur);
  int synced = 0;
  int64_t now = assay__now();
  const char *key;
  json_t *value;
  json_object_foreach(creds, key, value) {
    if (rc) break;
    if (json_is_null(value)) {
      rc = drop_secrets(s, id, key, c->who->user_id);
      continue;
    }
    if (!synced) {
      rc = keyring_sync(platform_keyring(c->platform), s, 1);
      synced = 1;
    }
    if (!rc) rc = put_secret(c, id, key, c->who->user_id, value, now);
  }
  if (!rc) rc = decorate(s, cur, c->who->user_id);
  if (!rc) {
    c->resp->body = json_pack("{s:s, s:O}", "integration_id", id, "credential_status",
                              json_object_get(cur, "credential_status"));
    if (!c->resp->body) rc = assay__nomem();
  }
  json_decref(cur);
  return rc;
}

/* PUT /v1/integrations/{integration_id}/credentials {"credentials": {name: value|null}} */
int h_integration_credentials(route_ctx *c) {
  store *s = c->store;
  int rc = s->ops->begin(s, 1);
  if (!rc) rc = credentials_in_tx(c, c->params[0]);
  if (!rc) rc = s->ops->commit(s);
  if (rc) {
    s->ops->rollback(s);
    json_decref(c->resp->body);
    c->resp->body = NULL;
  } else {
    compact_store(c); /* values cleared or replaced, if any */
  }
  json_t *creds = json_object_get(c->body, "credentials");
  const char *key;
  json_t *value;
  json_object_foreach(creds, key, value) schema_wipe_string(value);
  return rc;
}
