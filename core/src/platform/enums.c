/* platform/enums.c — the enumerations the REST API accepts (names as in
 * rime-sdk), and the check that reports the valid values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"

const char *const enum_model_tasks[] = {
  "MODEL_TASK_REGRESSION",
  "MODEL_TASK_BINARY_CLASSIFICATION",
  "MODEL_TASK_MULTICLASS_CLASSIFICATION",
  "MODEL_TASK_RANKING",
  "MODEL_TASK_NAMED_ENTITY_RECOGNITION",
  "MODEL_TASK_NATURAL_LANGUAGE_INFERENCE",
  "MODEL_TASK_OBJECT_DETECTION",
  "MODEL_TASK_FILL_MASK",
  NULL};

const char *const enum_actor_roles[] = {
  "ACTOR_ROLE_NONE", "ACTOR_ROLE_VIEWER", "ACTOR_ROLE_USER", "ACTOR_ROLE_ADMIN", NULL};

int enum_check(const char *field, const char *value, const char *const *valid) {
  for (const char *const *v = valid; *v; v++)
    if (strcmp(*v, value) == 0) return ASSAY_OK;
  char list[1024] = "";
  size_t used = 0;
  for (const char *const *v = valid; *v && used < sizeof list; v++)
    used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", v == valid ? "" : ", ", *v);
  return assay__err(ASSAY_ERR_CONFIG, "%s must be one of %s; got '%s'", field, list, value);
}
