"""examples/integrations.py — a custom integration with the three sensitivities.

On the embedded platform (in $ASSAY_HOME, default ~/.assay), as its admin:
creates the user "ana" and the workspace "News team" (or reuses them), makes
ana a member, and creates the custom integration "news-bucket" with
  BUCKET_NAME        not sensitive: everyone in the workspace sees the value
  ACCESS_KEY         workspace secret: set once by an admin, never shown
  SECRET_ACCESS_KEY  members secret: each member sets their own
Then ana, with her own API token, sets her SECRET_ACCESS_KEY and prints the
integration as she sees it (no secret values) and her credential status.

    ASSAY_HOME=/tmp/demo-home python examples/integrations.py
"""
import assay


def find_or_create(create, listed, key, value):
    """create(); or, when the name is taken (an earlier run), the listed one."""
    try:
        return create()
    except assay.ConflictError:
        return next(r for r in listed() if r[key] == value)


def status_text(status):
    if status["configured"]:
        return "configured"
    return "missing " + ", ".join(status["missing"])


admin = assay.Client()
ana = find_or_create(lambda: admin.create_user("ana", display_name="Ana Analyst"),
                     admin.list_users, "username", "ana")
ws = find_or_create(lambda: admin.create_workspace("News team"),
                    admin.list_workspaces, "name", "News team")["workspace_id"]
try:
    admin.add_workspace_member(ws, ana["user_id"], "WORKSPACE_ROLE_MEMBER")
except assay.ConflictError:
    pass  # already a member

for old in admin.list_integrations(ws):
    if old["name"] == "news-bucket":
        admin.delete_integration(old["integration_id"])  # start afresh
integration_id = admin.create_integration(ws, "news-bucket", "INTEGRATION_TYPE_CUSTOM", [
    {"name": "BUCKET_NAME", "sensitivity": "VARIABLE_SENSITIVITY_PUBLIC",
     "value": "rime-datasets"},
    {"name": "ACCESS_KEY", "sensitivity": "VARIABLE_SENSITIVITY_WORKSPACE_SECRET",
     "value": "AKIA-EXAMPLE-WORKSPACE-KEY"},
    {"name": "SECRET_ACCESS_KEY", "sensitivity": "VARIABLE_SENSITIVITY_USER_SECRET"},
])
print("integration", integration_id)

# Ana acts with her own token: on the embedded platform too, a client given
# an api_key is that token's user, with her role in the workspace.
token = admin.create_api_token(ws, name="ana-example", user_id=ana["user_id"],
                               expires_in_days=1)
with assay.Client(api_key=token) as as_ana:
    print("before:", status_text(as_ana.get_integration(integration_id)["credential_status"]))
    as_ana.set_integration_credentials(integration_id,
                                       {"SECRET_ACCESS_KEY": "ana-example-secret"})
    seen = as_ana.get_integration(integration_id)
    for variable in seen["variables"]:
        print("  %-18s %-40s %s" % (variable["name"], variable["sensitivity"],
                                    variable.get("value", "(secret, set: %s)"
                                                 % variable["is_set"])))
    print("after:", status_text(seen["credential_status"]))
