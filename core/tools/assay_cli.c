/* assay_cli.c — the `assay` command line: projects, workspaces, users,
 * members, API tokens, integrations, key rotation, uploaded files, jobs,
 * test runs and their HTML report (`assay report RUN_ID -o FILE`) through
 * the client API (embedded platform, or an assayd server with --url),
 * and `assay serve`,
 * which runs the same code as assayd. The commands are one table; each row
 * names its arguments, options, the client call and how to print the answer.
 *
 * Secrets (schemas with workspace values, the variables of an integration
 * update, members-level credentials) are read from a file or stdin, never
 * from the command line, where other users could see them in the process
 * list.
 *
 * Exit status: 0 on success, 1 when the platform answered an error (printed
 * as "assay: NotFoundError: message" on stderr), 2 for usage errors. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assay.h"
#include "serve.h"

typedef struct cli {
  const char *url, *token, *token_file, *home, *secret_key_file;
  int json;
  /* positional arguments and options of the command */
  const char *pos[4];
  int npos;
  const char *description, *model_task, *name, *expires, *workspace_id, *user_id;
  const char *display_name, *schema_file, *from_file, *changes_file;
  const char *upload_path;
  int force, hidden;
  const char *nrows, *head; /* debug read-csv */
  const char *kwargs, *runner_python; /* debug run-loader */
  const char *output;                 /* report, debug report: -o / --output */
  const char *job_type;               /* job list */
  const char *statuses[16];           /* job list: --status, repeatable */
  int nstatus;
  int quiet;
  /* prepared by a command's `prepare` step, before the client opens */
  int days;
  assay_value *input; /* the JSON read from --schema / --from-file / --changes */
} cli;

/* Options that take a value, and where they go. */
static const struct {
  const char *name;
  size_t slot;
} VALUE_OPTIONS[] = {
  {"--description", offsetof(cli, description)},
  {"--model-task", offsetof(cli, model_task)},
  {"--name", offsetof(cli, name)},
  {"--expires-in-days", offsetof(cli, expires)},
  {"--workspace", offsetof(cli, workspace_id)},
  {"--workspace-id", offsetof(cli, workspace_id)},
  {"--user", offsetof(cli, user_id)},
  {"--user-id", offsetof(cli, user_id)},
  {"--display-name", offsetof(cli, display_name)},
  {"--schema", offsetof(cli, schema_file)},
  {"--from-file", offsetof(cli, from_file)},
  {"--changes", offsetof(cli, changes_file)},
  {"--upload-path", offsetof(cli, upload_path)},
  {"--nrows", offsetof(cli, nrows)},
  {"--head", offsetof(cli, head)},
  {"--kwargs", offsetof(cli, kwargs)},
  {"--runner-python", offsetof(cli, runner_python)},
  {"--output", offsetof(cli, output)},
  {"--job-type", offsetof(cli, job_type)},
};

/* --- the commands ------------------------------------------------------------ */

typedef int (*prepare_fn)(cli *c);
typedef int (*run_fn)(const cli *c, assay_client *client, assay_value **out);

typedef enum { PRINT_NOTHING, PRINT_FIELD, PRINT_RECORD, PRINT_LIST } print_kind;

typedef struct command {
  const char *group, *sub;
  const char *synopsis; /* arguments and options, for the usage text */
  const char *help;
  int npos;             /* positional arguments, exactly */
  const char *options;  /* " --opt ... " the command accepts */
  const char *required; /* " --opt ... " it needs */
  prepare_fn prepare;   /* NULL, or checks/reads input before the client opens */
  run_fn run;
  print_kind print;
  const char *fields;   /* PRINT_FIELD: the field; PRINT_LIST: the columns */
} command;

#define P(i) (c->pos[i])

static int run_project_list(const cli *c, assay_client *k, assay_value **o) {
  (void)c;
  return assay_client_list_projects(o, k);
}
static int run_project_create(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_create_project(o, k, P(0), c->description ? c->description : "",
                                     c->model_task, NULL);
}
static int run_project_get(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_get_project(o, k, P(0));
}
static int run_project_delete(const cli *c, assay_client *k, assay_value **o) {
  (void)o;
  return assay_client_delete_project(k, P(0), c->force);
}
static int run_workspace_list(const cli *c, assay_client *k, assay_value **o) {
  (void)c;
  return assay_client_list_workspaces(o, k);
}
static int run_workspace_create(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_create_workspace(o, k, P(0));
}
static int run_workspace_get(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_get_workspace(o, k, P(0));
}
static int run_user_list(const cli *c, assay_client *k, assay_value **o) {
  (void)c;
  return assay_client_list_users(o, k);
}
static int run_user_create(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_create_user(o, k, P(0), c->display_name);
}
static int run_member_list(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_list_workspace_members(o, k, P(0));
}
static int run_member_add(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_add_workspace_member(o, k, P(0), P(1), P(2));
}
static int run_member_update(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_update_workspace_member(o, k, P(0), P(1), P(2));
}
static int run_member_remove(const cli *c, assay_client *k, assay_value **o) {
  (void)o;
  return assay_client_remove_workspace_member(k, P(0), P(1));
}
static int run_token_create(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_create_api_token(o, k, c->workspace_id, c->name ? c->name : "cli",
                                       c->user_id, c->days);
}
static int run_token_list(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_list_api_tokens(o, k, c->workspace_id, c->user_id);
}
static int run_token_revoke(const cli *c, assay_client *k, assay_value **o) {
  (void)o;
  return assay_client_revoke_api_token(k, P(0));
}
static int run_integration_list(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_list_integrations(o, k, P(0));
}
static int run_integration_get(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_get_integration(o, k, P(0));
}
static int run_integration_create(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_create_integration(o, k, P(0), P(1), P(2), c->input);
}
static int run_integration_update(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_update_integration(o, k, P(0), c->input);
}
static int run_integration_delete(const cli *c, assay_client *k, assay_value **o) {
  (void)o;
  return assay_client_delete_integration(k, P(0));
}
static int run_integration_credentials(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_set_integration_credentials(o, k, P(0), c->input);
}
static int run_admin_rotate(const cli *c, assay_client *k, assay_value **o) {
  (void)c;
  return assay_client_rotate_secret_key(o, k);
}
static int run_file_upload(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_upload_file(o, k, P(0), c->upload_path);
}
static int run_file_upload_dir(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_upload_directory(o, k, P(0), c->hidden, c->upload_path);
}
static int run_file_list(const cli *c, assay_client *k, assay_value **o) {
  (void)c;
  return assay_client_list_uploaded_files(o, k);
}
static int run_file_delete(const cli *c, assay_client *k, assay_value **o) {
  (void)o;
  return assay_client_delete_uploaded_file(k, P(0));
}

static int run_job_list(const cli *c, assay_client *k, assay_value **o);
static int run_job_get(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_get_job(o, k, P(0));
}
static int run_job_cancel(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_cancel_job(o, k, P(0));
}
static int run_test_run_list(const cli *c, assay_client *k, assay_value **o) {
  return assay_client_list_test_runs(o, k, P(0));
}
static int run_report(const cli *c, assay_client *k, assay_value **o);

static int prepare_token_create(cli *c);
static int prepare_schema(cli *c);
static int prepare_credentials(cli *c);
static int prepare_update(cli *c);
static int prepare_debug_read_csv(cli *c);
static int prepare_debug_run_loader(cli *c);
static int prepare_debug_stress(cli *c);
static int prepare_debug_report(cli *c);

static const command COMMANDS[] = {
  {"project", "list", "", "one line per project: ID, NAME, MODEL_TASK", 0, " ", NULL, NULL,
   run_project_list, PRINT_LIST, "project_id name model_task"},
  {"project", "create", "NAME --model-task T [--description D]",
   "prints the new project's ID", 1, " --description --model-task ", " --model-task ", NULL,
   run_project_create, PRINT_FIELD, "project_id"},
  {"project", "get", "ID", "", 1, " ", NULL, NULL, run_project_get, PRINT_RECORD, NULL},
  {"project", "delete", "ID [--force]", "--force: also when it holds data", 1, " --force ",
   NULL, NULL, run_project_delete, PRINT_NOTHING, NULL},
  {"workspace", "list", "", "ID, NAME, your ROLE", 0, " ", NULL, NULL, run_workspace_list,
   PRINT_LIST, "workspace_id name role"},
  {"workspace", "create", "NAME", "prints the new workspace's ID (org admins)", 1, " ", NULL,
   NULL, run_workspace_create, PRINT_FIELD, "workspace_id"},
  {"workspace", "get", "ID", "", 1, " ", NULL, NULL, run_workspace_get, PRINT_RECORD, NULL},
  {"user", "list", "", "ID, USERNAME, DISPLAY_NAME, IS_ORG_ADMIN (org admins)", 0, " ",
   NULL, NULL, run_user_list, PRINT_LIST, "user_id username display_name is_org_admin"},
  {"user", "create", "USERNAME [--display-name N]", "prints the new user's ID (org admins)",
   1, " --display-name ", NULL, NULL, run_user_create, PRINT_FIELD, "user_id"},
  {"member", "list", "WS", "USER_ID, USERNAME, ROLE", 1, " ", NULL, NULL, run_member_list,
   PRINT_LIST, "user_id username role"},
  {"member", "add", "WS USER ROLE", "ROLE: admin, member, viewer or WORKSPACE_ROLE_*", 3, " ",
   NULL, NULL, run_member_add, PRINT_RECORD, NULL},
  {"member", "update", "WS USER ROLE", "", 3, " ", NULL, NULL, run_member_update,
   PRINT_RECORD, NULL},
  {"member", "remove", "WS USER", "also revokes their tokens for WS", 2, " ", NULL, NULL,
   run_member_remove, PRINT_NOTHING, NULL},
  {"token", "create", "[--name N] [--expires-in-days N] [--workspace W] [--user U]",
   "prints the new token (shown only once)", 0,
   " --name --expires-in-days --workspace --workspace-id --user --user-id ", NULL,
   prepare_token_create, run_token_create, PRINT_FIELD, "token"},
  {"token", "list", "[--workspace W] [--user U]",
   "ID, NAME, USER_ID, WORKSPACE_ID, STATUS, EXPIRES_AT (never a secret)", 0,
   " --workspace --workspace-id --user --user-id ", NULL, NULL, run_token_list, PRINT_LIST,
   "id name user_id workspace_id status expires_at"},
  {"token", "revoke", "ID", "", 1, " ", NULL, NULL, run_token_revoke, PRINT_NOTHING, NULL},
  {"integration", "list", "WS", "ID, NAME, TYPE, your credential status", 1, " ", NULL, NULL,
   run_integration_list, PRINT_LIST, "integration_id name integration_type credential_status"},
  {"integration", "get", "ID", "never shows a secret value", 1, " ", NULL, NULL,
   run_integration_get, PRINT_RECORD, NULL},
  {"integration", "create", "WS NAME TYPE --schema FILE",
   "FILE: JSON array of {name, sensitivity, value?}; prints the new ID", 3, " --schema ",
   " --schema ", prepare_schema, run_integration_create, PRINT_FIELD, "integration_id"},
  {"integration", "update", "ID [--name N] [--changes FILE]",
   "FILE: JSON {variables?: [entry], remove_variables?: [NAME]}", 1, " --name --changes ", NULL,
   prepare_update, run_integration_update, PRINT_RECORD, NULL},
  {"integration", "delete", "ID", "", 1, " ", NULL, NULL, run_integration_delete,
   PRINT_NOTHING, NULL},
  {"integration", "set-credentials", "ID --from-file FILE",
   "your members-level values: FILE is JSON {NAME: value or null}", 1, " --from-file ",
   " --from-file ", prepare_credentials, run_integration_credentials, PRINT_RECORD, NULL},
  {"admin", "rotate-key", "", "re-encrypt every secret under a new master key", 0, " ", NULL,
   NULL, run_admin_rotate, PRINT_RECORD, NULL},
  {"file", "upload", "PATH [--upload-path P]",
   "prints its location (assay://files/...)", 1, " --upload-path ", NULL,
   NULL, run_file_upload, PRINT_FIELD, "location"},
  {"file", "upload-dir", "DIR [--hidden] [--upload-path P]",
   "regular files (--hidden: dot files too); prints the location", 1,
   " --hidden --upload-path ", NULL, NULL, run_file_upload_dir, PRINT_FIELD, "location"},
  {"file", "list", "", "LOCATION, SIZE, BLAKE2B, UPLOADED_AT", 0, " ", NULL, NULL,
   run_file_list, PRINT_LIST, "location size blake2b uploaded_at"},
  {"file", "delete", "LOCATION", "a file, or every file under a folder location", 1, " ",
   NULL, NULL, run_file_delete, PRINT_NOTHING, NULL},
  {"job", "list", "PROJECT [--status S]... [--job-type T]",
   "ID, TYPE, STATUS, PROGRESS, CREATED_AT, newest first (S: JOB_STATUS_*)", 1,
   " --status --job-type ", NULL, NULL, run_job_list, PRINT_LIST,
   "job_id job_type status progress created_at"},
  {"job", "get", "ID", "", 1, " ", NULL, NULL, run_job_get, PRINT_RECORD, NULL},
  {"job", "cancel", "ID",
   "a pending job at once, a running one within about a second", 1, " ", NULL, NULL,
   run_job_cancel, PRINT_RECORD, NULL},
  {"test-run", "list", "PROJECT", "ID, NAME, CREATED_AT, newest first", 1, " ", NULL, NULL,
   run_test_run_list, PRINT_LIST, "test_run_id name created_at"},
  {"report", "", "RUN_ID -o FILE",
   "the run's self-contained HTML report into FILE ('-': stdout)", 1, " --output ",
   " --output ", NULL, run_report, PRINT_NOTHING, NULL},
  {"debug", "read-csv", "FILE [--nrows N] [--head N | --quiet]",
   "internal: read FILE natively; JSON {rows, profile, head: N rows (5)}", 1,
   " --nrows --head --quiet ", NULL, prepare_debug_read_csv, NULL, PRINT_NOTHING, NULL},
  {"debug", "run-loader", "FILE FUNCTION [--kwargs JSON] [--runner-python PATH]",
   "internal: run a loader through the runner; JSON {rows, load_seconds, profile, ...}", 2,
   " --kwargs --runner-python ", NULL, prepare_debug_run_loader, NULL, PRINT_NOTHING, NULL},
  {"debug", "stress", "REQUEST",
   "internal: run the engine on two local CSV files; JSON document + timing", 1, " ", NULL,
   prepare_debug_stress, NULL, PRINT_NOTHING, NULL},
  {"debug", "report", "DOCUMENT -o FILE",
   "internal: the HTML report of a run document in a JSON file", 1, " --output ",
   " --output ", prepare_debug_report, NULL, PRINT_NOTHING, NULL},
};
#define N_COMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void print_usage(FILE *f) {
  fputs("usage: assay [--url URL] [--token-file F | --token T] [--home DIR] [--json] "
        "COMMAND ...\n\nCommands:\n",
        f);
  for (size_t i = 0; i < N_COMMANDS; i++) {
    const command *k = &COMMANDS[i];
    char line[160];
    snprintf(line, sizeof line, "%s%s%s%s%s", k->group, *k->sub ? " " : "", k->sub,
             *k->synopsis ? " " : "", k->synopsis);
    if (!*k->help)
      fprintf(f, "  %s\n", line);
    else if (strlen(line) <= 35)
      fprintf(f, "  %-35s  %s\n", line, k->help);
    else
      fprintf(f, "  %s\n  %-35s  %s\n", line, "", k->help);
  }
  fputs("  serve [assayd options]               run the server (see assay serve --help)\n"
        "  version\n"
        "\n"
        "Secrets are never taken from the command line: integration schemas, changes\n"
        "and credentials are read from FILE, or from stdin when FILE is '-'.\n"
        "\n"
        "Global options:\n"
        "  --url URL      an assayd server (default: $ASSAY_URL; none: the embedded platform)\n"
        "  --token-file F API token for the server, read from file F (e.g. <home>/admin.token)\n"
        "  --token TOKEN  the token itself (visible to other users in the process list;\n"
        "                 prefer --token-file or $ASSAY_API_KEY)\n"
        "  --home DIR     home of the embedded platform (default: $ASSAY_HOME or ~/.assay)\n"
        "  --secret-key-file F  master key of the embedded platform (default:\n"
        "                 $ASSAY_SECRET_KEY_FILE or <home>/secret.key)\n"
        "  --json         print records as JSON\n",
        f);
}

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("assay: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\n", stderr);
  print_usage(stderr);
  return 2;
}

/* Length of the valid UTF-8 sequence at s (at most `left` bytes), 0 when
 * invalid. */
static size_t utf8_seq(const unsigned char *s, size_t left) {
  unsigned c = s[0];
  size_t n;
  unsigned cp, min;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) n = 2, min = 0x80;
  else if ((c & 0xf0) == 0xe0) n = 3, min = 0x800;
  else if ((c & 0xf8) == 0xf0) n = 4, min = 0x10000;
  else return 0;
  if (n > left) return 0;
  cp = c & (0x7fu >> n);
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

/* Text from the platform (names, messages, any stored text) written for a
 * terminal: a character that a terminal would act on or that reorders the
 * line is written as a visible escape instead — C0 controls ("\n", "\t",
 * "\r", else "\x1b"), DEL ("\x7f"), C1 controls U+0080..U+009F
 * ("\u009b"), the Unicode bidi controls U+202A..U+202E and U+2066..U+2069
 * ("\u202e"), and bytes that are not UTF-8 ("\xff") — so that a run
 * name or an error message cannot move the cursor, retitle the window or
 * hide text. Everything else is written as it is. */
static void put_text(FILE *f, const char *text, size_t len) {
  const unsigned char *u = (const unsigned char *)text;
  size_t i = 0, start = 0;
  while (i < len) {
    size_t n = utf8_seq(u + i, len - i);
    unsigned cp = 0;
    if (n == 2) cp = ((u[i] & 0x1fu) << 6) | (u[i + 1] & 0x3fu);
    if (n == 3) cp = ((u[i] & 0x0fu) << 12) | ((u[i + 1] & 0x3fu) << 6) | (u[i + 2] & 0x3fu);
    char esc[8] = "";
    if (n == 0) snprintf(esc, sizeof esc, "\\x%02x", u[i]);
    else if (n == 1 && u[i] == '\n') snprintf(esc, sizeof esc, "\\n");
    else if (n == 1 && u[i] == '\t') snprintf(esc, sizeof esc, "\\t");
    else if (n == 1 && u[i] == '\r') snprintf(esc, sizeof esc, "\\r");
    else if (n == 1 && (u[i] < 0x20 || u[i] == 0x7f)) snprintf(esc, sizeof esc, "\\x%02x", u[i]);
    else if ((n == 2 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
             (cp >= 0x2066 && cp <= 0x2069))
      snprintf(esc, sizeof esc, "\\u%04x", cp);
    if (!*esc) {
      i += n;
      continue;
    }
    fwrite(text + start, 1, i - start, f);
    fputs(esc, f);
    i += n ? n : 1;
    start = i;
  }
  fwrite(text + start, 1, len - start, f);
}

static void put_str(FILE *f, const char *text) {
  if (text) put_text(f, text, strlen(text));
}

static int api_error(void) {
  const assay_error *e = assay_error_last();
  fputs("assay: ", stderr);
  put_str(stderr, e ? e->name : "Error");
  fputs(": ", stderr);
  put_str(stderr, e ? e->message : "unknown error");
  fputs("\n", stderr);
  return 1;
}

/* Global options, accepted before and after the command words. Returns 1
 * when argv[*i] was one, 0 if not, -1 for a missing value. */
static int global_opt(cli *c, int argc, char **argv, int *i) {
  if (strcmp(argv[*i], "--json") == 0) {
    c->json = 1;
    return 1;
  }
  int r;
  if ((r = tool_opt_value(argc, argv, i, "--url", &c->url)) ||
      (r = tool_opt_value(argc, argv, i, "--token", &c->token)) ||
      (r = tool_opt_value(argc, argv, i, "--token-file", &c->token_file)) ||
      (r = tool_opt_value(argc, argv, i, "--home", &c->home)) ||
      (r = tool_opt_value(argc, argv, i, "--secret-key-file", &c->secret_key_file)))
    return r;
  return 0;
}

/* Parse the command's own arguments (from argv[i]); `allowed` lists the
 * options this command takes. */
static int parse_args(cli *c, int argc, char **argv, int i, const char *allowed, int max_pos) {
  for (; i < argc; i++) {
    const char *a = argv[i];
    int r = global_opt(c, argc, argv, &i);
    if (r < 0) return usage_error("option %s needs a value", a);
    if (r > 0) continue;
    if (strcmp(a, "-o") == 0) {
      if (!strstr(allowed, " --output ")) return usage_error("unknown option '-o' for this command");
      if (i + 1 >= argc) return usage_error("%s", "option -o needs a value");
      c->output = argv[++i];
      continue;
    }
    if (strncmp(a, "--", 2) == 0) {
      size_t n = strcspn(a, "=");
      char name[64];
      if (n >= sizeof name) return usage_error("unknown option '%s'", a);
      memcpy(name, a, n);
      name[n] = '\0';
      char key[80];
      snprintf(key, sizeof key, " %s ", name);
      if (!strstr(allowed, key)) return usage_error("unknown option '%s' for this command", name);
      if (strcmp(name, "--force") == 0 || strcmp(name, "--hidden") == 0 ||
          strcmp(name, "--quiet") == 0) {
        if (a[n]) return usage_error("option '%s' takes no value", name);
        *(name[2] == 'f' ? &c->force : name[2] == 'h' ? &c->hidden : &c->quiet) = 1;
        continue;
      }
      if (strcmp(name, "--status") == 0) { /* repeatable; each may list several, comma-separated */
        const char *v = NULL;
        if (tool_opt_value(argc, argv, &i, name, &v) < 0 || !*v)
          return usage_error("option %s needs a value", name);
        if (c->nstatus == (int)(sizeof c->statuses / sizeof c->statuses[0]))
          return usage_error("%s", "too many --status options");
        c->statuses[c->nstatus++] = v;
        continue;
      }
      for (size_t k = 0; k < sizeof VALUE_OPTIONS / sizeof VALUE_OPTIONS[0]; k++) {
        if (strcmp(VALUE_OPTIONS[k].name, name) != 0) continue;
        const char **slot = (const char **)((char *)c + VALUE_OPTIONS[k].slot);
        if (tool_opt_value(argc, argv, &i, name, slot) < 0)
          return usage_error("option %s needs a value", name);
      }
      continue;
    }
    if (c->npos >= max_pos) return usage_error("unexpected argument '%s'", a);
    c->pos[c->npos++] = a;
  }
  return 0;
}

/* The token of --token-file: its first line, without the line break. */
static int read_token_file(const char *path, char *buf, size_t size) {
  FILE *fp = fopen(path, "r");
  if (!fp) {
    fprintf(stderr, "assay: cannot read the token file %s\n", path);
    return -1;
  }
  int ok = fgets(buf, (int)size, fp) != NULL;
  fclose(fp);
  buf[ok ? strcspn(buf, "\r\n") : 0] = '\0';
  if (!*buf) {
    fprintf(stderr, "assay: the token file %s is empty\n", path);
    return -1;
  }
  return 0;
}

/* Overwrite a buffer that held secret text before it is freed. */
static void wipe(void *p, size_t n) {
  volatile unsigned char *v = p;
  while (n--) *v++ = 0;
}

/* Read JSON from `path` ("-": stdin) into c->input. The file may hold
 * secrets: none of its text goes into a message. 0, or the exit status. */
static int read_json_input(cli *c, const char *option, const char *path, const char *expected) {
  FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!fp) {
    fprintf(stderr, "assay: %s: cannot read %s: %s\n", option, path, strerror(errno));
    return 2;
  }
  const size_t limit = 16u << 20;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  int status = 0;
  while (buf) {
    if (len == cap) {
      char *grown = cap < limit ? malloc(cap * 2) : NULL;
      if (grown) memcpy(grown, buf, len);
      wipe(buf, len);
      free(buf);
      buf = grown;
      cap *= 2;
      if (!buf) break;
    }
    size_t n = fread(buf + len, 1, cap - len, fp);
    len += n;
    if (n == 0) break;
  }
  int failed = ferror(fp);
  if (fp != stdin) fclose(fp);
  if (!buf || failed) {
    fprintf(stderr, "assay: %s: cannot read %s%s\n", option, path,
            buf ? "" : " (more than 16 MiB?)");
    status = 2;
  } else if (assay_value_parse(&c->input, buf, len) < 0) {
    /* The parser's message quotes the text near the error: keep only where. */
    const char *m = assay_error_last() ? assay_error_last()->message : "";
    int where = (int)strcspn(m, ":");
    fprintf(stderr, "assay: ConfigError: %s %s is not valid JSON (%.*s); expected %s\n",
            option, strcmp(path, "-") == 0 ? "(stdin)" : path, where, m, expected);
    status = 1;
  }
  if (buf) {
    wipe(buf, len);
    free(buf);
  }
  return status;
}

static int prepare_token_create(cli *c) {
  unsigned long long days = 0;
  if (c->expires && (tool_parse_uint(c->expires, 100000, &days) != 0 || days == 0))
    return usage_error("--expires-in-days needs a positive number of days, not '%s'",
                       c->expires);
  c->days = c->expires ? (int)days : ASSAY_TOKEN_EXPIRY_DEFAULT;
  return 0;
}

static int prepare_schema(cli *c) {
  return read_json_input(c, "--schema", c->schema_file,
                         "an array of {\"name\", \"sensitivity\", \"value\"?}");
}

static int prepare_credentials(cli *c) {
  return read_json_input(c, "--from-file", c->from_file,
                         "an object {\"NAME\": \"value\" or null}");
}

#define CHANGES_EXPECTED "an object {\"variables\"?: [...], \"remove_variables\"?: [...]}"

/* integration update: the changes object from --changes (variables may hold
 * workspace secrets, so they come from a file), plus "name" from --name. */
static int prepare_update(cli *c) {
  if (!c->name && !c->changes_file)
    return usage_error("integration update needs --name N, --changes FILE or both");
  int rc = c->changes_file
             ? read_json_input(c, "--changes", c->changes_file, CHANGES_EXPECTED)
             : assay_value_new_object(&c->input) < 0 ? api_error() : 0;
  if (rc) return rc;
  const char *bad = NULL;
  if (assay_value_type_of(c->input) != ASSAY_VALUE_OBJECT) {
    bad = "is not a JSON object";
  } else {
    void *it = NULL;
    const assay_value *v;
    const char *key;
    /* the keys are not echoed: a misplaced secret could be one */
    while (!bad && (key = assay_value_object_next(c->input, &it, &v)) != NULL)
      if (strcmp(key, "variables") != 0 && strcmp(key, "remove_variables") != 0)
        bad = "holds a key other than \"variables\" and \"remove_variables\" (rename with "
              "--name)";
  }
  assay_value *name = NULL;
  if (!bad && c->name &&
      (assay_value_new_string(&name, c->name, strlen(c->name)) < 0 ||
       assay_value_object_set(c->input, "name", name) < 0))
    rc = api_error();
  if (bad) {
    fprintf(stderr, "assay: ConfigError: --changes %s %s; expected " CHANGES_EXPECTED "\n",
            strcmp(c->changes_file, "-") == 0 ? "(stdin)" : c->changes_file, bad);
    rc = 1;
  }
  if (rc) {
    assay_value_free(c->input);
    c->input = NULL;
  }
  return rc;
}

/* 0, or the exit status after reporting why no client could be opened. */
static int open_client(assay_client **out, const cli *c) {
  static char file_token[512];
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.domain = c->url ? c->url : getenv("ASSAY_URL");
  o.api_key = c->token ? c->token : getenv("ASSAY_API_KEY");
  if (c->token_file) {
    if (read_token_file(c->token_file, file_token, sizeof file_token) != 0) return 2;
    o.api_key = file_token;
  }
  o.home = c->home;
  o.secret_key_file = c->secret_key_file;
  /* A one-shot command runs no job workers: it must never claim a pending
   * job of the home (a dataset validation, say) and then hold it — or be
   * killed with it — at exit. `assay serve` (serve_main) keeps its own. */
  o.workers = 0;
  return assay_client_new(out, &o) < 0 ? api_error() : 0;
}

/* --- output ------------------------------------------------------------------ */

static int print_json(const assay_value *v) {
  char *text = NULL;
  if (assay_value_dump(&text, v, 0) < 0) return api_error();
  puts(text);
  assay_string_free(text);
  return 0;
}

static const char *str_field(const assay_value *rec, const char *key) {
  const char *s = assay_value_get_string(assay_value_object_get(rec, key), NULL);
  return s ? s : "";
}

/* One field as text: strings as they are, a credential status as
 * "configured" or "missing: A, B", the rest as JSON; control characters
 * (and the rest put_text escapes) shown as escapes. */
static int print_cell(const char *key, const assay_value *v) {
  if (assay_value_type_of(v) == ASSAY_VALUE_STRING) {
    size_t len = 0;
    const char *text = assay_value_get_string(v, &len);
    if (text) put_text(stdout, text, len);
    return 0;
  }
  if (strcmp(key, "credential_status") == 0 && assay_value_type_of(v) == ASSAY_VALUE_OBJECT) {
    if (assay_value_get_bool(assay_value_object_get(v, "configured"))) {
      fputs("configured", stdout);
    } else {
      const assay_value *missing = assay_value_object_get(v, "missing");
      fputs("missing:", stdout);
      for (size_t i = 0; i < assay_value_array_size(missing); i++) {
        fputs(i ? ", " : " ", stdout);
        put_str(stdout, assay_value_get_string(assay_value_array_get(missing, i), NULL));
      }
    }
    return 0;
  }
  if (strcmp(key, "progress") == 0 && assay_value_type_of(v) == ASSAY_VALUE_OBJECT) {
    /* a job's progress: "done/total" test batches */
    printf("%lld/%lld", (long long)assay_value_get_int(assay_value_object_get(v, "done")),
           (long long)assay_value_get_int(assay_value_object_get(v, "total")));
    return 0;
  }
  char *text = NULL;
  if (assay_value_dump(&text, v, 1) < 0) return api_error();
  put_str(stdout, text);
  assay_string_free(text);
  return 0;
}

/* "key<TAB>value" per field. */
static int print_record(const assay_value *rec) {
  void *it = NULL;
  const assay_value *v = NULL;
  const char *key;
  while ((key = assay_value_object_next(rec, &it, &v)) != NULL) {
    put_str(stdout, key);
    putchar('\t');
    if (print_cell(key, v)) return 1;
    putchar('\n');
  }
  return 0;
}

/* One line per record: the `columns` (space-separated field names), TABs between. */
static int print_list(const assay_value *list, const char *columns) {
  for (size_t i = 0; i < assay_value_array_size(list); i++) {
    const assay_value *rec = assay_value_array_get(list, i);
    const char *col = columns;
    while (*col) {
      char key[64];
      size_t n = strcspn(col, " ");
      snprintf(key, sizeof key, "%.*s", (int)n, col);
      if (col != columns) putchar('\t');
      if (print_cell(key, assay_value_object_get(rec, key))) return 1;
      col += n + (col[n] == ' ');
    }
    putchar('\n');
  }
  return 0;
}

/* --- running one command --------------------------------------------------------- */

static int run_command(cli *c, const char *group, int argc, char **argv, int i) {
  char subs[256] = "";
  int known = 0;
  for (size_t k = 0; k < N_COMMANDS; k++)
    if (strcmp(COMMANDS[k].group, group) == 0) {
      known = 1;
      snprintf(subs + strlen(subs), sizeof subs - strlen(subs), "%s%s", *subs ? ", " : "",
               COMMANDS[k].sub);
    }
  if (!known) return usage_error("unknown command '%s'", group);
  const command *cmd = NULL;
  const char *sub = "";
  for (size_t k = 0; k < N_COMMANDS && !cmd; k++) /* a command without subcommands */
    if (strcmp(COMMANDS[k].group, group) == 0 && !*COMMANDS[k].sub) cmd = &COMMANDS[k];
  if (!cmd) {
    if (i >= argc) return usage_error("%s needs a subcommand: %s", group, subs);
    sub = argv[i++];
    for (size_t k = 0; k < N_COMMANDS && !cmd; k++)
      if (strcmp(COMMANDS[k].group, group) == 0 && strcmp(COMMANDS[k].sub, sub) == 0)
        cmd = &COMMANDS[k];
    if (!cmd)
      return usage_error("unknown %s subcommand '%s'; expected one of: %s", group, sub, subs);
  }

  int rc = parse_args(c, argc, argv, i, cmd->options, cmd->npos);
  if (rc) return rc;
  if (c->npos != cmd->npos)
    return usage_error("%s%s%s needs %s", group, *sub ? " " : "", sub, cmd->synopsis);
  for (size_t k = 0; cmd->required && k < sizeof VALUE_OPTIONS / sizeof VALUE_OPTIONS[0]; k++) {
    char key[80];
    snprintf(key, sizeof key, " %s ", VALUE_OPTIONS[k].name);
    if (strstr(cmd->required, key) && !*(const char **)((char *)c + VALUE_OPTIONS[k].slot))
      return usage_error("%s%s%s needs %s", group, *sub ? " " : "", sub,
                         strcmp(VALUE_OPTIONS[k].name, "--output") == 0 ? "-o FILE"
                                                                          : VALUE_OPTIONS[k].name);
  }
  if (cmd->prepare && (rc = cmd->prepare(c)) != 0) return rc;
  if (!cmd->run) return 0; /* a local command: its prepare step did the work */

  assay_client *client = NULL;
  int opened = open_client(&client, c);
  if (opened) {
    assay_value_free(c->input);
    return opened;
  }
  assay_value *out = NULL;
  rc = cmd->run(c, client, &out);
  if (rc < 0) {
    rc = api_error();
  } else if (rc > 0) {
    /* the command reported its own failure (e.g. a file it could not write) */
  } else if (c->json && out) {
    rc = print_json(out);
  } else if (cmd->print == PRINT_FIELD) {
    put_str(stdout, str_field(out, cmd->fields));
    rc = putchar('\n') == EOF;
  } else if (cmd->print == PRINT_RECORD) {
    rc = print_record(out);
  } else if (cmd->print == PRINT_LIST) {
    rc = print_list(out, cmd->fields);
  } else {
    rc = 0;
  }
  assay_value_free(out);
  assay_value_free(c->input);
  c->input = NULL;
  assay_client_free(client);
  return rc;
}

int main(int argc, char **argv) {
  cli c = {0};
  int i = 1;
  for (; i < argc && strncmp(argv[i], "-", 1) == 0; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      print_usage(stdout);
      return 0;
    }
    if (strcmp(a, "--version") == 0) {
      printf("assay %s\n", assay_version());
      return 0;
    }
    int r = global_opt(&c, argc, argv, &i);
    if (r < 0) return usage_error("option %s needs a value", a);
    if (r == 0) return usage_error("unknown option '%s'", a);
  }
  if (i >= argc) return usage_error("%s", "a command is needed");
  const char *cmd = argv[i++];

  if (strcmp(cmd, "serve") == 0) {
    if (c.url || c.token || c.token_file || c.json)
      return usage_error("%s", "serve takes assayd's options (--home, --listen, ...), "
                               "not --url/--token/--json");
    /* argv[i-1] becomes the program name serve_main uses in messages. */
    char **sargv = argv + i - 1;
    int sargc = argc - i + 1;
    sargv[0] = "assay serve";
    if (c.home || c.secret_key_file) {
      /* `assay --home DIR serve` means the same as `assay serve --home DIR`;
       * so for --secret-key-file. */
      char **copy = calloc((size_t)sargc + 5, sizeof *copy);
      if (!copy) return 1;
      int n = 0;
      copy[n++] = sargv[0];
      if (c.home) {
        copy[n++] = "--home";
        copy[n++] = (char *)c.home;
      }
      if (c.secret_key_file) {
        copy[n++] = "--secret-key-file";
        copy[n++] = (char *)c.secret_key_file;
      }
      for (int k = 1; k < sargc; k++) copy[n++] = sargv[k];
      int rc = serve_main(n, copy);
      free(copy);
      return rc;
    }
    return serve_main(sargc, sargv);
  }
  if (strcmp(cmd, "version") == 0) {
    int rc = parse_args(&c, argc, argv, i, " ", 0);
    if (rc != 0) return rc;
    printf("assay %s\n", assay_version());
    return 0;
  }
  if (strcmp(cmd, "help") == 0) {
    print_usage(stdout);
    return 0;
  }

  if (assay_init() < 0) return api_error();
  int rc = run_command(&c, cmd, argc, argv, i);
  assay_shutdown();
  return rc;
}

/* `assay debug read-csv`: the native CSV reader on a local file, without a
 * platform (libassay exports this internal entry for the CLI only). */
int assay__debug_read_csv(const char *path, int64_t nrows, int64_t head, char **out_json);

static int prepare_debug_read_csv(cli *c) {
  unsigned long long nrows = 0, head = 5;
  if (c->nrows && (tool_parse_uint(c->nrows, (1ull << 62), &nrows) != 0 || nrows == 0))
    return usage_error("--nrows needs a positive number of rows, not '%s'", c->nrows);
  if (c->head && tool_parse_uint(c->head, (1ull << 62), &head) != 0)
    return usage_error("--head needs a number of rows, not '%s'", c->head);
  if (c->quiet) head = 0;
  char *text = NULL;
  if (assay__debug_read_csv(P(0), (int64_t)nrows, (int64_t)head, &text) < 0) return api_error();
  int rc = puts(text) < 0 ? 1 : 0;
  free(text);
  return rc;
}

/* `assay debug run-loader`: a loader file run by the runner on this machine,
 * without a platform (used by bench/bench_load.py). */
int assay__debug_run_loader(const char *path, const char *function, const char *kwargs_json,
                            const char *python, char **out_json);

static int prepare_debug_run_loader(cli *c) {
  char *text = NULL;
  if (assay__debug_run_loader(P(0), P(1), c->kwargs, c->runner_python, &text) < 0)
    return api_error();
  int rc = puts(text) < 0 ? 1 : 0;
  free(text);
  return rc;
}

/* --- jobs, reports and the engine ----------------------------------------------- */

/* job list: the filter {status: [...], job_type} of --status (repeatable,
 * each may be comma-separated) and --job-type. */
static int run_job_list(const cli *c, assay_client *k, assay_value **o) {
  if (!c->nstatus && !c->job_type) return assay_client_list_jobs(o, k, P(0), NULL);
  assay_value *filter = NULL, *statuses = NULL, *v = NULL;
  int rc = assay_value_new_object(&filter);
  if (rc == 0 && c->nstatus) {
    rc = assay_value_new_array(&statuses);
    for (int i = 0; rc == 0 && i < c->nstatus; i++) {
      for (const char *s = c->statuses[i]; rc == 0 && *s;) {
        size_t n = strcspn(s, ",");
        if (n) {
          rc = assay_value_new_string(&v, s, n);
          if (rc == 0) rc = assay_value_array_append(statuses, v);
          v = NULL;
        }
        s += n + (s[n] == ',');
      }
    }
    if (rc == 0) {
      rc = assay_value_object_set(filter, "status", statuses);
      statuses = NULL;
    }
  }
  if (rc == 0 && c->job_type) {
    rc = assay_value_new_string(&v, c->job_type, strlen(c->job_type));
    if (rc == 0) rc = assay_value_object_set(filter, "job_type", v);
  }
  if (rc == 0) rc = assay_client_list_jobs(o, k, P(0), filter);
  assay_value_free(statuses);
  assay_value_free(filter);
  return rc;
}

/* Write `len` bytes to `path` with mode 0644, atomically: a temporary file
 * beside it, renamed into place (report.h: assay__write_file_atomic, as
 * report_write). 0, or 1 after printing why not. */
int assay__write_file_atomic(const char *path, const char *text, size_t len);

static int write_file_atomic(const char *path, const char *text, size_t len) {
  int err = assay__write_file_atomic(path, text, len);
  if (err < 0) fputs("assay: out of memory\n", stderr);
  else if (err) fprintf(stderr, "assay: cannot write %s: %s\n", path, strerror(err));
  return err ? 1 : 0;
}

/* `assay report RUN_ID -o FILE`: the platform renders the report (GET
 * /v1/test-runs/{id}/report); it is written to FILE, or stdout for '-'.
 * Prints nothing else (--json neither: the record is the file). */
static int run_report(const cli *c, assay_client *k, assay_value **o) {
  assay_value *rec = NULL;
  int rc = assay_client_get_test_run_report(&rec, k, P(0));
  if (rc < 0) return rc;
  size_t len = 0;
  const char *html = assay_value_get_string(assay_value_object_get(rec, "html"), &len);
  if (!html) {
    fprintf(stderr, "assay: the platform's answer for test run %s has no \"html\" report\n",
            P(0));
    rc = 1;
  } else if (strcmp(c->output, "-") == 0) {
    rc = fwrite(html, 1, len, stdout) != len || fflush(stdout) != 0;
    if (rc) fprintf(stderr, "assay: cannot write the report to stdout: %s\n", strerror(errno));
  } else {
    rc = write_file_atomic(c->output, html, len);
  }
  assay_value_free(rec);
  *o = NULL;
  return rc;
}

/* `assay debug stress REQUEST`: the engine on two local CSV files, without a
 * platform (stress.h: assay__debug_stress); REQUEST is a JSON file ('-':
 * stdin). */
int assay__debug_stress(const char *request_json, char **out_json);

static int prepare_debug_stress(cli *c) {
  int rc = read_json_input(c, "REQUEST", P(0),
                           "an object {model_task, ref_path, eval_path, config?, ...}");
  if (rc) return rc;
  char *request = NULL, *text = NULL;
  if (assay_value_dump(&request, c->input, 0) < 0) {
    rc = api_error();
  } else if (assay__debug_stress(request, &text) < 0) {
    rc = api_error();
  } else {
    rc = puts(text) < 0 ? 1 : 0;
    free(text);
  }
  assay_string_free(request);
  assay_value_free(c->input);
  c->input = NULL;
  return rc;
}

/* `assay debug report DOCUMENT -o FILE`: the report of a run document in a
 * local JSON file (from `assay debug stress` or .../document), without a
 * platform. */
int assay__debug_report(const char *document_path, const char *out_path);

static int prepare_debug_report(cli *c) {
  if (strcmp(c->output, "-") == 0)
    return usage_error("%s", "debug report needs -o FILE (a file, not stdout)");
  return assay__debug_report(P(0), c->output) < 0 ? api_error() : 0;
}
