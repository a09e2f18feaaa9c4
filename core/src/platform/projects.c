/* platform/projects.c — projects: create (validated as rime-sdk's
 * create_project), get, list, delete (refusing a non-empty project unless
 * force), and the project's stress-test categories (every record answers
 * "stress_test_categories": the defaults until set). Projects live in the
 * caller's workspace. */
#include <stdio.h>
#include <string.h>

#include "config/test_config.h"
#include "platform/access.h"
#include "platform/handlers.h"

int project_public(json_t *p) {
  json_t *cats = json_object_get(p, "stress_test_categories");
  if (json_is_array(cats)) return ASSAY_OK;
  json_t *dflt = test_default_categories();
  if (!dflt) dflt = json_array(); /* only when out of memory (or no catalogue yet) */
  if (!dflt || json_object_set_new(p, "stress_test_categories", dflt) != 0)
    return assay__nomem();
  return ASSAY_OK;
}

#define PROJECT_NAME_MAX 256
#define PROJECT_DESCRIPTION_MAX 10000

static const char *const project_fields[] = {
  "name", "description", "model_task", "use_case", "ethical_consideration",
  "profiling_config", "general_access_role", "run_time_info", NULL};

/* POST /v1/projects (WORKSPACE_ROLE_MEMBER or above) */
int h_projects_create(route_ctx *c) {
  json_t *b = c->body;
  const char *name = NULL, *description = NULL, *model_task = NULL, *use_case = NULL,
             *ethical = NULL, *role = "ACTOR_ROLE_NONE";
  json_t *profiling = NULL, *run_time = NULL;
  int rc = body_check_fields(b, project_fields, "a project");
  if (!rc) rc = body_string(b, "name", 1, &name);
  if (!rc) rc = body_string(b, "description", 1, &description);
  if (!rc) rc = body_string(b, "model_task", 1, &model_task);
  if (!rc) rc = body_string(b, "use_case", 0, &use_case);
  if (!rc) rc = body_string(b, "ethical_consideration", 0, &ethical);
  if (!rc) rc = body_string(b, "general_access_role", 0, &role);
  if (!rc) rc = body_object(b, "profiling_config", &profiling);
  if (!rc) rc = body_object(b, "run_time_info", &run_time);
  if (!rc) rc = check_text("name", name, PROJECT_NAME_MAX, 1);
  if (!rc) rc = check_text("description", description, PROJECT_DESCRIPTION_MAX, 0);
  if (!rc && use_case) rc = check_text("use_case", use_case, PROJECT_DESCRIPTION_MAX, 0);
  if (!rc && ethical)
    rc = check_text("ethical_consideration", ethical, PROJECT_DESCRIPTION_MAX, 0);
  if (!rc) rc = enum_check("model_task", model_task, enum_model_tasks);
  if (!rc) rc = enum_check("general_access_role", role, enum_actor_roles);
  if (rc) return rc;

  char id[37], created[32];
  int64_t now = assay__now();
  assay__uuid(id);
  assay__rfc3339(created, now);
  json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:O?, s:s, s:O?, s:s, s:s, s:I}",
                        "project_id", id, "workspace_id", c->who->workspace_id, "name", name,
                        "description", description, "model_task", model_task, "use_case",
                        use_case, "ethical_consideration", ethical, "profiling_config",
                        profiling, "general_access_role", role, "run_time_info", run_time,
                        "owner_id", c->who->user_id, "created_at", created,
                        "created_at_secs", (json_int_t)now);
  if (!p) return assay__nomem();
  store *s = c->store;
  rc = s->ops->begin(s, 1);
  if (!rc) rc = access_workspace(s, c->who, c->who->workspace_id, ROLE_MEMBER, NULL);
  if (!rc) rc = s->ops->project_insert(s, p);
  if (!rc) rc = s->ops->commit(s);
  if (rc) {
    s->ops->rollback(s);
    json_decref(p);
    return rc;
  }
  json_object_del(p, "created_at_secs");
  rc = project_public(p);
  if (rc) {
    json_decref(p);
    return rc;
  }
  c->resp->status = 201;
  c->resp->body = p;
  return ASSAY_OK;
}

/* GET /v1/projects */
int h_projects_list(route_ctx *c) {
  json_t *list = NULL;
  int rc = c->store->ops->project_list(c->store, c->who->workspace_id, &list);
  if (rc) return rc;
  size_t i;
  json_t *p;
  json_array_foreach(list, i, p) {
    if (!rc) rc = project_public(p);
  }
  if (rc) {
    json_decref(list);
    return rc;
  }
  c->resp->body = json_pack("{s:o}", "projects", list);
  return c->resp->body ? ASSAY_OK : assay__nomem();
}

/* GET /v1/projects/{project_id} */
int h_project_get(route_ctx *c) {
  int rc = c->store->ops->project_get(c->store, c->who->workspace_id, c->params[0],
                                      &c->resp->body);
  return rc ? rc : project_public(c->resp->body);
}

static const char *const categories_fields[] = {"categories", NULL};

/* PUT /v1/projects/{project_id}/stress-test-categories {"categories": [...]}
 * (WORKSPACE_ROLE_MEMBER or above) -> the project record */
int h_stress_test_categories_update(route_ctx *c) {
  json_t *b = c->body, *cats = NULL;
  int rc = body_check_fields(b, categories_fields, "a stress-test categories update");
  if (!rc && !json_object_get(b, "categories"))
    rc = assay__err(ASSAY_ERR_CONFIG, "categories is required (an array of "
                                      "TEST_CATEGORY_TYPE_* names)");
  if (rc) return rc;
  store *s = c->store;
  json_t *p = NULL;
  rc = s->ops->begin(s, 1);
  if (!rc) rc = s->ops->project_get(s, c->who->workspace_id, c->params[0], &p);
  if (!rc) rc = access_workspace(s, c->who, c->who->workspace_id, ROLE_MEMBER, NULL);
  if (!rc) rc = test_categories_normalize(json_object_get(b, "categories"), &cats);
  if (!rc) rc = s->ops->project_set_categories(s, c->who->workspace_id, c->params[0], cats);
  if (!rc) rc = s->ops->commit(s);
  if (rc) s->ops->rollback(s);
  if (!rc && json_object_set(p, "stress_test_categories", cats) != 0) rc = assay__nomem();
  json_decref(cats);
  if (rc) {
    json_decref(p);
    return rc;
  }
  c->resp->body = p;
  return ASSAY_OK;
}

/* DELETE /v1/projects/{project_id}?force=true (the owner, or an admin) */
int h_project_delete(route_ctx *c) {
  int force = 0;
  int rc = query_bool(c->req->query, "force", &force);
  if (rc) return rc;
  store *s = c->store;
  json_t *p = NULL;
  int64_t children = 0;
  workspace_role held = ROLE_NONE;
  rc = s->ops->begin(s, 1);
  if (!rc) rc = s->ops->project_get(s, c->who->workspace_id, c->params[0], &p);
  /* Members delete their own projects; admins any. */
  if (!rc) rc = access_workspace(s, c->who, c->who->workspace_id, ROLE_MEMBER, &held);
  const char *owner = p ? json_string_value(json_object_get(p, "owner_id")) : NULL;
  if (!rc && held < ROLE_ADMIN && (!owner || strcmp(owner, c->who->user_id) != 0))
    rc = assay__err(ASSAY_ERR_PERMISSION_DENIED,
                    "project '%s' belongs to another user; deleting it needs the "
                    "WORKSPACE_ROLE_ADMIN role",
                    json_string_value(json_object_get(p, "name")));
  if (!rc) rc = s->ops->project_child_count(s, c->params[0], &children);
  if (!rc && children > 0 && !force)
    rc = assay__err(ASSAY_ERR_CONFLICT,
                    "project '%s' still holds %lld datasets, models, prediction sets or "
                    "test runs; delete them first or pass force=true (which deletes them)",
                    json_string_value(json_object_get(p, "name")), (long long)children);
  /* force: its registry entries go with it (cascade); their cached data
   * is dropped after the commit. */
  json_t *cached = NULL;
  if (!rc && children > 0) rc = registry_cached_ids(s, c->params[0], &cached);
  if (!rc) rc = s->ops->project_delete(s, c->who->workspace_id, c->params[0]);
  if (!rc) rc = s->ops->commit(s);
  if (rc) s->ops->rollback(s);
  else if (cached) registry_drop_caches(c->platform, cached);
  json_decref(cached);
  json_decref(p);
  return rc;
}
