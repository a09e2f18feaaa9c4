/* integration/integration.h — integrations as the core knows them: the
 * types and the variable names each needs, the sensitivities (with their
 * friendly aliases), validation of schema entries, and the resolution of a
 * job's integration_dict. Not installed. */
#ifndef ASSAY_INTEGRATION_H
#define ASSAY_INTEGRATION_H

#include <jansson.h>

#include "platform/platform.h"

#define INTEGRATION_NAME_MAX 256
#define INTEGRATION_VARIABLE_NAME_MAX 256
#define INTEGRATION_VARIABLES_MAX 256

#define SENSITIVITY_PUBLIC "VARIABLE_SENSITIVITY_PUBLIC"
#define SENSITIVITY_WORKSPACE "VARIABLE_SENSITIVITY_WORKSPACE_SECRET"
#define SENSITIVITY_USER "VARIABLE_SENSITIVITY_USER_SECRET"

/* Build the job's integration_dict for `user_id`: an object of variable
 * name → value holding the not-sensitive values, the workspace secrets and
 * that user's member secrets of `integration_id`. The user must be a member
 * (not a viewer) or admin of the integration's workspace, or an organisation
 * admin (viewer: ASSAY_ERR_PERMISSION_DENIED; outsider or unknown id:
 * ASSAY_ERR_NOT_FOUND). A member secret the user has not set is
 * ASSAY_ERR_CONFIG naming the integration (name and id) and the variable.
 * Release the dict with integration_dict_free(), which wipes the values.
 * Runs its own read transaction on `s`. The loader runner is its only
 * consumer. */
int integration_resolve(assay_platform *p, store *s, const char *integration_id,
                        const char *user_id, json_t **dict);
void integration_dict_free(json_t *dict);

#endif
