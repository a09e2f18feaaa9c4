"""examples/quickstart.py — first steps with assay from Python.

Opens the embedded platform (in $ASSAY_HOME, default ~/.assay), creates the
project "Fraud" — or reuses it when it already exists (ConflictError) — and
lists the projects. Pass a server URL and a token to use an assayd instead:
    python examples/quickstart.py http://127.0.0.1:8080 "$(cat ~/.assay/admin.token)"
"""
import sys

import assay

if len(sys.argv) > 1:
    client = assay.Client(sys.argv[1], api_key=sys.argv[2] if len(sys.argv) > 2 else "")
else:
    client = assay.Client()

try:
    project = client.create_project("Fraud", "card fraud model", "MODEL_TASK_BINARY_CLASSIFICATION")
    print("created project", project.project_id)
except assay.ConflictError:
    # The name is taken in this workspace: an earlier run made it.
    project = next(p for p in client.list_projects() if p.name == "Fraud")
    print("reusing project", project.project_id)

print(project.project_id, [p.name for p in client.list_projects()])
