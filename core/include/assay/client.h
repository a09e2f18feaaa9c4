/* assay/client.h — the client: one API over two transports.
 *
 * A client with no domain opens the embedded platform in a home directory
 * ($ASSAY_HOME, default ~/.assay) and calls the platform's request router in
 * process, acting as the home's bootstrap administrator. A client with a
 * domain ("http://host:port" or "host:port") talks to an assayd server over
 * HTTP(S) through libcurl, authenticated by an API token. Both paths go
 * through the same router, so they answer the same records and errors.
 *
 * Every operation returns ASSAY_OK or a negative assay_error_code, with the
 * detail in assay_error_last(). Records come back as assay_value objects
 * (see docs/api/openapi.json for their fields). A client may be shared by
 * threads; calls on one client are serialised. */
#ifndef ASSAY_CLIENT_H
#define ASSAY_CLIENT_H

#include "common.h"
#include "value.h"

ASSAY_BEGIN_DECLS

typedef struct assay_client assay_client;

#define ASSAY_CLIENT_OPTIONS_VERSION 1

/* Options for assay_client_new(). Start from ASSAY_CLIENT_OPTIONS_INIT so
 * fields added later get their defaults. Strings are copied. */
typedef struct assay_client_options {
  unsigned int version;        /* ASSAY_CLIENT_OPTIONS_VERSION               */
  const char *domain;          /* NULL or "": embedded platform              */
  const char *api_key;         /* token for a server; embedded: act as that
                                  token's user instead of the home's admin   */
  double channel_timeout;      /* seconds for one HTTP request (default 180) */
  int disable_tls;             /* domain without scheme: use http, not https */
  const char *ssl_ca_cert;     /* CA bundle to verify the server with        */
  const char *cert_file;       /* client certificate (PEM)                   */
  const char *key_file;        /* client key (PEM)                           */
  const char *assert_hostname; /* name the server certificate must carry when
                                  it differs from the domain's host          */
  const char *home;            /* embedded: home directory; NULL: $ASSAY_HOME
                                  or ~/.assay                                */
  int max_retries;             /* retries on 429/5xx (default 3; <0: none)   */
  int skip_hostname_check;     /* non-zero: accept a server certificate for
                                  any name (rime-sdk's assert_hostname=False);
                                  the chain is still verified               */
  const char *secret_key_file; /* embedded: the master key file (see
                                  assay_platform_options)                   */
} assay_client_options;

#define ASSAY_CLIENT_OPTIONS_INIT \
  { ASSAY_CLIENT_OPTIONS_VERSION, NULL, NULL, 180.0, 0, NULL, NULL, NULL, NULL, NULL, 3, 0, NULL }

/* Open a client. opts may be NULL (embedded platform, defaults). */
ASSAY_API int assay_client_new(assay_client **out, const assay_client_options *opts);
/* Open a client from an options object with the field names of
 * assay_client_options ({"domain", "api_key", "channel_timeout", ...}); what
 * the bindings call. Unknown fields and wrong types are ASSAY_ERR_CONFIG.
 * `options` may be NULL. */
ASSAY_API int assay_client_new_with(assay_client **out, const assay_value *options);

/* Close a client; NULL is accepted. */
ASSAY_API void assay_client_free(assay_client *client);

/* Non-zero when the client runs the platform in process. */
ASSAY_API int assay_client_is_embedded(const assay_client *client);

/* The platform's identity: {"version", "api_version", "home"?, ...}. */
ASSAY_API int assay_client_platform_info(assay_value **out, assay_client *client);

/* Send one raw REST request (method, path under /v1 with optional query,
 * JSON body text or NULL) and return the decoded answer (NULL-valued when
 * the answer has no body). The escape hatch for routes without a typed
 * function, and how tests send malformed bodies: the router's errors come
 * back typed exactly as for the typed calls. */
ASSAY_API int assay_client_request(assay_value **out, assay_client *client, const char *method,
                                   const char *path, const char *body, size_t body_len);

/* --- projects ---------------------------------------------------------- */

/* Create a project in the caller's workspace. `model_task` is one of the
 * MODEL_TASK_* names; `extra` (may be NULL) holds the optional fields
 * use_case, ethical_consideration, profiling_config, general_access_role,
 * run_time_info. Out: the project record. A name already used in the
 * workspace is ASSAY_ERR_CONFLICT. */
ASSAY_API int assay_client_create_project(assay_value **out, assay_client *client,
                                          const char *name, const char *description,
                                          const char *model_task, const assay_value *extra);

/* The project record, or ASSAY_ERR_NOT_FOUND. */
ASSAY_API int assay_client_get_project(assay_value **out, assay_client *client,
                                       const char *project_id);

/* An array of project records of the caller's workspace, oldest first. */
ASSAY_API int assay_client_list_projects(assay_value **out, assay_client *client);

/* Delete a project. A project that still holds datasets, models or test
 * runs is refused with ASSAY_ERR_CONFLICT unless `force` is non-zero. */
ASSAY_API int assay_client_delete_project(assay_client *client, const char *project_id,
                                          int force);

/* --- API tokens -------------------------------------------------------- */

/* Marker for "no expires_in_days given" (INT_MIN): the default lifetime (270 days,
 * or up to the calling token's own expiry for a non-admin). */
#define ASSAY_TOKEN_EXPIRY_DEFAULT (-2147483647 - 1)

/* Create an API token. NULL workspace_id / user_id mean the caller's;
 * expires_in_days ASSAY_TOKEN_EXPIRY_DEFAULT means the default; any other
 * value is sent and must be 1..3650. Out: {"token", "id", "name",
 * "user_id", "workspace_id", "created_at", "expires_at"}; "token" is the
 * secret, shown only here. */
ASSAY_API int assay_client_create_api_token(assay_value **out, assay_client *client,
                                            const char *workspace_id, const char *name,
                                            const char *user_id, int expires_in_days);

/* List API tokens (never their secrets): an array of {id, name, user_id,
 * workspace_id, created_at, expires_at (null: never), revoked_at (null),
 * status ("active", "expired", "revoked")}. NULL filters match all the
 * caller may see: an organisation admin every token, a workspace admin
 * those of the workspace, anyone else their own. */
ASSAY_API int assay_client_list_api_tokens(assay_value **out, assay_client *client,
                                           const char *workspace_id, const char *user_id);

/* Revoke an API token by id (idempotent). */
ASSAY_API int assay_client_revoke_api_token(assay_client *client, const char *token_id);

/* --- workspaces, users, members ------------------------------------------ */

/* Roles are WORKSPACE_ROLE_ADMIN (manages members and integrations),
 * WORKSPACE_ROLE_MEMBER (uses integrations, runs tests) and
 * WORKSPACE_ROLE_VIEWER (reads only); "admin", "member" and "viewer" are
 * accepted too. A caller's token is scoped to its workspace: other
 * workspaces are ASSAY_ERR_NOT_FOUND unless the caller is an organisation
 * admin. Too low a role is ASSAY_ERR_PERMISSION_DENIED. */

/* Create a workspace (organisation admins only); the caller becomes its
 * admin. Out: {workspace_id, name, created_at, role}. */
ASSAY_API int assay_client_create_workspace(assay_value **out, assay_client *client,
                                            const char *name);
/* The workspaces the caller can see, each with the caller's "role". */
ASSAY_API int assay_client_list_workspaces(assay_value **out, assay_client *client);
ASSAY_API int assay_client_get_workspace(assay_value **out, assay_client *client,
                                         const char *workspace_id);

/* Create a user (organisation admins only); display_name may be NULL.
 * Out: {user_id, username, display_name, is_org_admin, created_at}. */
ASSAY_API int assay_client_create_user(assay_value **out, assay_client *client,
                                       const char *username, const char *display_name);
/* Every user (organisation admins only). */
ASSAY_API int assay_client_list_users(assay_value **out, assay_client *client);

/* Membership (workspace admins). Out: {workspace_id, user_id, username,
 * display_name, role}. */
ASSAY_API int assay_client_add_workspace_member(assay_value **out, assay_client *client,
                                                const char *workspace_id, const char *user_id,
                                                const char *role);
ASSAY_API int assay_client_update_workspace_member(assay_value **out, assay_client *client,
                                                   const char *workspace_id,
                                                   const char *user_id, const char *role);
/* Removing a member also deletes their members-level credentials in the
 * workspace and revokes their tokens for it. The last admin of a workspace
 * can be neither removed nor demoted (ASSAY_ERR_CONFLICT). */
ASSAY_API int assay_client_remove_workspace_member(assay_client *client,
                                                   const char *workspace_id,
                                                   const char *user_id);
/* An array of member records, by username. */
ASSAY_API int assay_client_list_workspace_members(assay_value **out, assay_client *client,
                                                  const char *workspace_id);

/* --- integrations --------------------------------------------------------- */

/* Create an integration (workspace admins). `integration_type` is one of
 * INTEGRATION_TYPE_*; `schema` an array of {"name", "sensitivity",
 * "value"?} where sensitivity is VARIABLE_SENSITIVITY_PUBLIC ("not_sensitive"),
 * _WORKSPACE_SECRET ("workspace") or _USER_SECRET ("members"). Out: the
 * integration record as the caller sees it: {integration_id, workspace_id,
 * name, integration_type, created_by, created_at, updated_at, variables:
 * [{name, sensitivity, value (not-sensitive ones only), is_set}],
 * credential_status: {configured, missing}}. No secret value is ever
 * returned. */
ASSAY_API int assay_client_create_integration(assay_value **out, assay_client *client,
                                              const char *workspace_id, const char *name,
                                              const char *integration_type,
                                              const assay_value *schema);
/* The integrations of a workspace (any role), oldest first. */
ASSAY_API int assay_client_list_integrations(assay_value **out, assay_client *client,
                                             const char *workspace_id);
ASSAY_API int assay_client_get_integration(assay_value **out, assay_client *client,
                                           const char *integration_id);
/* Change an integration (workspace admins): `changes` is {"name"?,
 * "variables"?: [entry, ...] (added, or replacing the one of that name),
 * "remove_variables"?: [name, ...]}. Out: the updated record. */
ASSAY_API int assay_client_update_integration(assay_value **out, assay_client *client,
                                              const char *integration_id,
                                              const assay_value *changes);
ASSAY_API int assay_client_delete_integration(assay_client *client,
                                              const char *integration_id);
/* Set the caller's own values of members-level variables: `credentials`
 * is {name: value or null (clears)}. Members and admins; viewers may not.
 * Out: {integration_id, credential_status: {configured, missing}}. */
ASSAY_API int assay_client_set_integration_credentials(assay_value **out, assay_client *client,
                                                       const char *integration_id,
                                                       const assay_value *credentials);

/* --- administration -------------------------------------------------------- */

/* Rotate the platform's master key (organisation admins): every stored
 * secret is re-encrypted under a new key. Out: {key_id, secrets_resealed,
 * compacted}; compacted is false when a reader kept the retired ciphertexts
 * in the WAL for now (they leave at the next write). */
ASSAY_API int assay_client_rotate_secret_key(assay_value **out, assay_client *client);

ASSAY_END_DECLS

#endif
