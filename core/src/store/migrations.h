/* store/migrations.h — the numbered schema migrations of the SQLite store.
 * Migration N brings the schema from version N-1 to N (PRAGMA user_version).
 * Append new ones; never edit one that has shipped. */
#ifndef ASSAY_MIGRATIONS_H
#define ASSAY_MIGRATIONS_H

static const char *const sqlite_migrations[] = {
  /* 1: platform metadata, users, workspaces, membership, tokens, projects */
  "CREATE TABLE platform_meta ("
  "  key TEXT PRIMARY KEY,"
  "  value TEXT NOT NULL);"
  "CREATE TABLE users ("
  "  id TEXT PRIMARY KEY,"
  "  username TEXT NOT NULL UNIQUE,"
  "  display_name TEXT,"
  "  is_org_admin INTEGER NOT NULL DEFAULT 0,"
  "  created_at INTEGER NOT NULL);"
  "CREATE TABLE workspaces ("
  "  id TEXT PRIMARY KEY,"
  "  name TEXT NOT NULL UNIQUE,"
  "  created_at INTEGER NOT NULL);"
  "CREATE TABLE workspace_members ("
  "  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,"
  "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
  "  role TEXT NOT NULL,"
  "  PRIMARY KEY (workspace_id, user_id));"
  "CREATE TABLE api_tokens ("
  "  id TEXT PRIMARY KEY,"
  "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
  "  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,"
  "  name TEXT NOT NULL,"
  "  token_hash BLOB NOT NULL UNIQUE,"
  "  created_at INTEGER NOT NULL,"
  "  expires_at INTEGER NOT NULL DEFAULT 0,"
  "  revoked_at INTEGER NOT NULL DEFAULT 0);"
  "CREATE TABLE projects ("
  "  id TEXT PRIMARY KEY,"
  "  workspace_id TEXT NOT NULL REFERENCES workspaces(id),"
  "  name TEXT NOT NULL,"
  "  description TEXT NOT NULL,"
  "  model_task TEXT NOT NULL,"
  "  owner_id TEXT REFERENCES users(id),"
  "  extra TEXT NOT NULL DEFAULT '{}',"
  "  created_at INTEGER NOT NULL,"
  "  UNIQUE (workspace_id, name));"
  "CREATE INDEX projects_by_workspace ON projects(workspace_id, created_at);",

  /* 2: integrations, their variables, sealed secret values */
  "CREATE TABLE integrations ("
  "  id TEXT PRIMARY KEY,"
  "  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,"
  "  name TEXT NOT NULL,"
  "  integration_type TEXT NOT NULL,"
  "  created_by TEXT REFERENCES users(id),"
  "  created_at INTEGER NOT NULL,"
  "  updated_at INTEGER NOT NULL,"
  "  UNIQUE (workspace_id, name));"
  "CREATE TABLE integration_variables ("
  "  integration_id TEXT NOT NULL REFERENCES integrations(id) ON DELETE CASCADE,"
  "  position INTEGER NOT NULL,"
  "  name TEXT NOT NULL,"
  "  sensitivity TEXT NOT NULL,"
  "  value TEXT," /* VARIABLE_SENSITIVITY_PUBLIC only */
  "  PRIMARY KEY (integration_id, name));"
  "CREATE TABLE integration_secrets ("
  "  integration_id TEXT NOT NULL,"
  "  name TEXT NOT NULL,"
  "  user_id TEXT NOT NULL DEFAULT '',"  /* '' = the workspace value */
  "  key_id TEXT NOT NULL,"
  "  sealed BLOB NOT NULL,"              /* nonce || ciphertext */
  "  updated_at INTEGER NOT NULL,"
  "  PRIMARY KEY (integration_id, name, user_id),"
  "  FOREIGN KEY (integration_id, name) REFERENCES integration_variables(integration_id, name)"
  "    ON DELETE CASCADE);"
  "CREATE INDEX integration_secrets_by_user ON integration_secrets(user_id);"
  "CREATE INDEX api_tokens_by_workspace ON api_tokens(workspace_id, user_id);",

  /* 3: uploaded files, the registry (datasets, models, predictions), jobs */
  "CREATE TABLE files ("
  "  workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,"
  "  path TEXT NOT NULL,"
  "  size INTEGER NOT NULL,"
  "  blake2b TEXT NOT NULL,"
  "  uploaded_by TEXT,"
  "  uploaded_at INTEGER NOT NULL,"
  "  PRIMARY KEY (workspace_id, path));"
  "CREATE TABLE registry ("
  "  id TEXT PRIMARY KEY,"
  "  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
  "  kind TEXT NOT NULL," /* 'dataset', 'model', 'predictions' */
  "  name TEXT," /* NULL for predictions */
  "  dataset_id TEXT REFERENCES registry(id) ON DELETE CASCADE,"
  "  model_id TEXT REFERENCES registry(id) ON DELETE CASCADE,"
  "  created_at INTEGER NOT NULL,"
  "  record TEXT NOT NULL," /* the full record, JSON */
  "  UNIQUE (project_id, kind, name));"
  "CREATE UNIQUE INDEX registry_predictions ON registry(dataset_id, model_id)"
  "  WHERE kind = 'predictions';"
  "CREATE INDEX registry_by_project ON registry(project_id, kind, created_at);"
  "CREATE TABLE jobs ("
  "  id TEXT PRIMARY KEY,"
  "  job_type TEXT NOT NULL,"
  "  workspace_id TEXT NOT NULL,"
  "  project_id TEXT,"
  "  submitted_by TEXT,"
  "  status TEXT NOT NULL,"
  "  request TEXT NOT NULL DEFAULT '{}',"
  "  result TEXT,"
  "  error_msg TEXT,"
  "  created_at INTEGER NOT NULL,"
  "  started_at INTEGER,"
  "  finished_at INTEGER,"
  "  heartbeat_at INTEGER,"
  "  owner TEXT,"
  "  progress_done INTEGER NOT NULL DEFAULT 0,"
  "  progress_total INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX jobs_by_status ON jobs(status, created_at);"
  "CREATE INDEX jobs_by_project ON jobs(project_id, created_at);",

  /* 4: stress test runs; a job's cancellation request (seen by the worker
   * of whichever process runs it) */
  "CREATE TABLE test_runs ("
  "  id TEXT PRIMARY KEY,"
  "  workspace_id TEXT NOT NULL,"
  "  project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
  "  job_id TEXT,"
  "  name TEXT NOT NULL,"
  "  created_at INTEGER NOT NULL,"
  "  summary TEXT NOT NULL," /* the document without test_batches, JSON */
  "  document TEXT NOT NULL);" /* the whole run document, JSON */
  "CREATE INDEX test_runs_by_project ON test_runs(project_id, created_at);"
  "CREATE INDEX test_runs_by_job ON test_runs(job_id);"
  "ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;",
};

#define SQLITE_SCHEMA_VERSION ((int)(sizeof sqlite_migrations / sizeof sqlite_migrations[0]))

/* Tables whose rows belong to a project (column project_id): a project
 * holding any is not deleted without force. Later migrations add theirs. */
static const char *const sqlite_project_children[] = {"registry", "test_runs", NULL};

#endif
