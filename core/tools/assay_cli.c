/* assay_cli.c — the `assay` command line: projects and API tokens through
 * the client API (embedded platform, or an assayd server with --url), and
 * `assay serve`, which runs the same code as assayd.
 *
 * Exit status: 0 on success, 1 when the platform answered an error (printed
 * as "assay: NotFoundError: message" on stderr), 2 for usage errors. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assay.h"
#include "serve.h"

static const char *const USAGE =
    "usage: assay [--url URL] [--token-file F | --token T] [--home DIR] [--json] COMMAND ...\n"
    "\n"
    "Commands:\n"
    "  project list                         one line per project: ID, NAME, MODEL_TASK\n"
    "  project create NAME --model-task T [--description D]   prints the new project's ID\n"
    "  project get ID\n"
    "  project delete ID [--force]\n"
    "  token create [--name N] [--expires-in-days N] [--workspace-id W] [--user-id U]\n"
    "                                       prints the new token\n"
    "  serve [assayd options]               run the server (see assay serve --help)\n"
    "  version\n"
    "\n"
    "Global options:\n"
    "  --url URL      an assayd server (default: $ASSAY_URL; none: the embedded platform)\n"
    "  --token-file F API token for the server, read from file F (e.g. <home>/admin.token)\n"
    "  --token TOKEN  the token itself (visible to other users in the process list;\n"
    "                 prefer --token-file or $ASSAY_API_KEY)\n"
    "  --home DIR     home of the embedded platform (default: $ASSAY_HOME or ~/.assay)\n"
    "  --json         print records as JSON\n";

typedef struct cli {
  const char *url, *token, *token_file, *home;
  int json;
  /* positional arguments and options of the command */
  const char *pos[4];
  int npos;
  const char *description, *model_task, *name, *expires, *workspace_id, *user_id;
  int force;
} cli;

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
  fputs(USAGE, stderr);
  return 2;
}

static int api_error(void) {
  const assay_error *e = assay_error_last();
  fprintf(stderr, "assay: %s: %s\n", e ? e->name : "Error", e ? e->message : "unknown error");
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
      (r = tool_opt_value(argc, argv, i, "--home", &c->home)))
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
    if (strncmp(a, "--", 2) == 0) {
      size_t n = strcspn(a, "=");
      char name[64];
      if (n >= sizeof name) return usage_error("unknown option '%s'", a);
      memcpy(name, a, n);
      name[n] = '\0';
      char key[80];
      snprintf(key, sizeof key, " %s ", name);
      if (!strstr(allowed, key)) return usage_error("unknown option '%s' for this command", a);
      if (strcmp(name, "--force") == 0) {
        if (a[n]) return usage_error("option '%s' takes no value", a);
        c->force = 1;
        continue;
      }
      const char **slot = strcmp(name, "--description") == 0    ? &c->description
                          : strcmp(name, "--model-task") == 0     ? &c->model_task
                          : strcmp(name, "--name") == 0           ? &c->name
                          : strcmp(name, "--expires-in-days") == 0 ? &c->expires
                          : strcmp(name, "--workspace-id") == 0   ? &c->workspace_id
                                                                  : &c->user_id;
      if (tool_opt_value(argc, argv, &i, name, slot) < 0)
        return usage_error("option %s needs a value", name);
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
  return assay_client_new(out, &o) < 0 ? api_error() : 0;
}

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

static int print_project_line(const assay_value *p) {
  printf("%s\t%s\t%s\n", str_field(p, "project_id"), str_field(p, "name"),
         str_field(p, "model_task"));
  return 0;
}

/* "key<TAB>value" per field; strings as they are, the rest as JSON. */
static int print_record(const assay_value *rec) {
  void *it = NULL;
  const assay_value *v = NULL;
  const char *key;
  while ((key = assay_value_object_next(rec, &it, &v)) != NULL) {
    if (assay_value_type_of(v) == ASSAY_VALUE_STRING) {
      printf("%s\t%s\n", key, assay_value_get_string(v, NULL));
    } else {
      char *text = NULL;
      if (assay_value_dump(&text, v, 1) < 0) return api_error();
      printf("%s\t%s\n", key, text);
      assay_string_free(text);
    }
  }
  return 0;
}

static int cmd_project(cli *c, int argc, char **argv, int i) {
  if (i >= argc) return usage_error("%s", "project needs a subcommand: list, create, get, delete");
  const char *sub = argv[i++];
  int rc;
  if (strcmp(sub, "list") == 0) {
    if ((rc = parse_args(c, argc, argv, i, " ", 0)) != 0) return rc;
  } else if (strcmp(sub, "create") == 0) {
    if ((rc = parse_args(c, argc, argv, i, " --description --model-task ", 1)) != 0) return rc;
    if (c->npos != 1) return usage_error("%s", "project create needs a NAME");
    if (!c->model_task) return usage_error("%s", "project create needs --model-task");
  } else if (strcmp(sub, "get") == 0 || strcmp(sub, "delete") == 0) {
    const char *allowed = strcmp(sub, "delete") == 0 ? " --force " : " ";
    if ((rc = parse_args(c, argc, argv, i, allowed, 1)) != 0) return rc;
    if (c->npos != 1) return usage_error("project %s needs a project ID", sub);
  } else {
    return usage_error("unknown project subcommand '%s'", sub);
  }

  assay_client *client = NULL;
  int opened = open_client(&client, c);
  if (opened) return opened;
  assay_value *out = NULL;
  if (strcmp(sub, "list") == 0) {
    rc = assay_client_list_projects(&out, client);
    if (rc == 0) {
      if (c->json) {
        rc = print_json(out);
      } else {
        for (size_t k = 0; k < assay_value_array_size(out); k++)
          print_project_line(assay_value_array_get(out, k));
      }
    }
  } else if (strcmp(sub, "create") == 0) {
    rc = assay_client_create_project(&out, client, c->pos[0],
                                     c->description ? c->description : "", c->model_task, NULL);
    if (rc == 0) {
      if (c->json)
        rc = print_json(out);
      else
        puts(str_field(out, "project_id"));
    }
  } else if (strcmp(sub, "get") == 0) {
    rc = assay_client_get_project(&out, client, c->pos[0]);
    if (rc == 0) rc = c->json ? print_json(out) : print_record(out);
  } else {
    rc = assay_client_delete_project(client, c->pos[0], c->force);
  }
  if (rc < 0) rc = api_error();
  assay_value_free(out);
  assay_client_free(client);
  return rc;
}

static int cmd_token(cli *c, int argc, char **argv, int i) {
  if (i >= argc || strcmp(argv[i], "create") != 0)
    return usage_error("%s", "token needs a subcommand: create");
  int rc = parse_args(c, argc, argv, i + 1,
                      " --name --expires-in-days --workspace-id --user-id ", 0);
  if (rc != 0) return rc;
  unsigned long long days = 0;
  if (c->expires && (tool_parse_uint(c->expires, 100000, &days) != 0 || days == 0))
    return usage_error("--expires-in-days needs a positive number of days, not '%s'", c->expires);

  assay_client *client = NULL;
  int opened = open_client(&client, c);
  if (opened) return opened;
  assay_value *out = NULL;
  rc = assay_client_create_api_token(&out, client, c->workspace_id, c->name ? c->name : "cli",
                                     c->user_id, (int)days);
  if (rc == 0)
    rc = c->json ? print_json(out) : (puts(str_field(out, "token")), 0);
  else
    rc = api_error();
  assay_value_free(out);
  assay_client_free(client);
  return rc;
}

int main(int argc, char **argv) {
  cli c = {0};
  int i = 1;
  for (; i < argc && strncmp(argv[i], "-", 1) == 0; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(USAGE, stdout);
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
    if (c.home) {
      /* `assay --home DIR serve` means the same as `assay serve --home DIR`. */
      char **copy = calloc((size_t)sargc + 3, sizeof *copy);
      if (!copy) return 1;
      copy[0] = sargv[0];
      copy[1] = "--home";
      copy[2] = (char *)c.home;
      for (int k = 1; k < sargc; k++) copy[k + 2] = sargv[k];
      int rc = serve_main(sargc + 2, copy);
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
    fputs(USAGE, stdout);
    return 0;
  }

  if (assay_init() < 0) return api_error();
  int rc;
  if (strcmp(cmd, "project") == 0)
    rc = cmd_project(&c, argc, argv, i);
  else if (strcmp(cmd, "token") == 0)
    rc = cmd_token(&c, argc, argv, i);
  else
    rc = usage_error("unknown command '%s'", cmd);
  assay_shutdown();
  return rc;
}
