/* integration/resolve.c — a job's integration_dict: every variable of an
 * integration with its value for the submitting user (not-sensitive values,
 * the workspace secrets opened with the platform's keyring, and that user's
 * own members-level values). The user, not a token, is checked here: an
 * organisation admin, or a member or admin of the integration's workspace.
 * Contract in integration/integration.h. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/integration.h"
#include "integration/schema.h"
#include "integration/secrets.h"
#include "platform/access.h"

typedef struct resolve_ctx {
  assay_platform *p;
  const char *integration_id;
  const char *user_id;
  json_t *dict;
} resolve_ctx;

static int not_found(const char *integration_id) {
  return assay__err(ASSAY_ERR_NOT_FOUND, "integration '%s' not found", integration_id);
}

static const char *text_of(json_t *obj, const char *field) {
  return json_string_value(json_object_get(obj, field));
}

/* May the user use integrations of workspace_id in a job? */
static int check_user(store *s, const char *workspace_id, const resolve_ctx *x) {
  int is_org_admin = 0;
  int rc = s->ops->user_exists(s, x->user_id, &is_org_admin);
  if (rc == ASSAY_ERR_NOT_FOUND) return not_found(x->integration_id);
  if (rc || is_org_admin) return rc;
  char role_text[32] = "";
  rc = s->ops->member_role(s, workspace_id, x->user_id, role_text);
  if (rc == ASSAY_ERR_NOT_FOUND) return not_found(x->integration_id);
  if (rc) return rc;
  workspace_role role = ROLE_NONE;
  if (role_parse("role", role_text, &role) != ASSAY_OK)
    return assay__err(ASSAY_ERR_STORE, "stored membership has an unknown role");
  if (role < ROLE_MEMBER)
    return assay__err(ASSAY_ERR_PERMISSION_DENIED,
                      "user '%s' is %s in the workspace of integration '%s'; using an "
                      "integration in a job needs WORKSPACE_ROLE_MEMBER or "
                      "WORKSPACE_ROLE_ADMIN",
                      x->user_id, role_name(role), x->integration_id);
  return ASSAY_OK;
}

/* Open the stored secret of (name, user_id) into the dict. */
static int add_secret(store *s, secret_keyring *k, json_t *rec, const char *name,
                      const char *user_id, json_t *dict) {
  const char *id = text_of(rec, "integration_id");
  secret_row row;
  memset(&row, 0, sizeof row);
  int rc = s->ops->secret_get(s, id, name, user_id, &row);
  if (rc == ASSAY_ERR_NOT_FOUND) {
    if (*user_id)
      return assay__err(ASSAY_ERR_CONFIG,
                        "integration '%s' (%s): members-level variable '%s' has no value for "
                        "this user; set it with set_integration_credentials",
                        text_of(rec, "name"), id, name);
    return assay__err(ASSAY_ERR_CONFIG,
                      "integration '%s' (%s): workspace-level variable '%s' has no value; a "
                      "workspace admin sets it with update_integration",
                      text_of(rec, "name"), id, name);
  }
  if (rc) return rc;
  char *plain = NULL;
  size_t len = 0;
  rc = secret_open(k, &row, &plain, &len);
  free(row.sealed);
  if (rc) return rc;
  json_t *v = json_stringn_nocheck(plain, len);
  secret_free(plain);
  if (!v || json_object_set_new(dict, name, v) != 0) return assay__nomem();
  return ASSAY_OK;
}

static int resolve_tx(store *s, void *vctx) {
  resolve_ctx *x = vctx;
  json_t *rec = NULL;
  int rc = s->ops->integration_get(s, x->integration_id, &rec);
  if (rc == ASSAY_ERR_NOT_FOUND) rc = not_found(x->integration_id);
  if (!rc) rc = check_user(s, text_of(rec, "workspace_id"), x);
  if (rc) {
    json_decref(rec);
    return rc;
  }
  secret_keyring *k = platform_keyring(x->p);
  json_t *dict = json_object(), *vars = json_object_get(rec, "variables"), *v;
  int synced = 0;
  size_t i;
  rc = dict ? ASSAY_OK : assay__nomem();
  json_array_foreach(vars, i, v) {
    if (rc) break;
    const char *name = text_of(v, "name"), *sens = text_of(v, "sensitivity");
    if (strcmp(sens, SENSITIVITY_PUBLIC) == 0) {
      json_t *value = json_object_get(v, "value");
      value = value ? json_incref(value) : json_string("");
      rc = json_object_set_new(dict, name, value) == 0 ? ASSAY_OK : assay__nomem();
      continue;
    }
    if (!synced) {
      rc = keyring_sync(k, s, 0); /* a read transaction: only loads the key */
      synced = 1;
      if (rc) break;
    }
    rc = add_secret(s, k, rec, name, strcmp(sens, SENSITIVITY_USER) == 0 ? x->user_id : "",
                    dict);
  }
  json_decref(rec);
  if (rc) {
    integration_dict_free(dict);
    return rc;
  }
  integration_dict_free(x->dict); /* a retried transaction's earlier attempt */
  x->dict = dict;
  return ASSAY_OK;
}

int integration_resolve(assay_platform *p, store *s, const char *integration_id,
                        const char *user_id, json_t **dict) {
  *dict = NULL;
  if (!integration_id || !*integration_id || !user_id || !*user_id)
    return assay__err(ASSAY_ERR_CONFIG,
                      "integration_resolve needs an integration id and a user id");
  resolve_ctx x = {p, integration_id, user_id, NULL};
  int rc = store_tx(s, 0, resolve_tx, &x);
  if (rc) {
    integration_dict_free(x.dict);
    return rc;
  }
  *dict = x.dict;
  return ASSAY_OK;
}

void integration_dict_free(json_t *dict) {
  if (!dict) return;
  const char *key;
  json_t *v;
  /* Wipe only when this is the last reference: the text is about to go. */
  if (dict->refcount == 1) json_object_foreach(dict, key, v) {
      if (v->refcount == 1) schema_wipe_string(v);
    }
  json_decref(dict);
}
