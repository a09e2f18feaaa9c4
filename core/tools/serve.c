/* serve.c — what assayd and `assay serve` run: open the platform of a home
 * directory, serve its router over HTTP, stop cleanly on SIGTERM/SIGINT.
 * Also the option-parsing helpers the two tools share. */
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "assay.h"

int tool_opt_value(int argc, char **argv, int *i, const char *name, const char **value) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) != 0) return 0;
  if (a[n] == '=') {
    *value = a + n + 1;
    return 1;
  }
  if (a[n] != '\0') return 0;
  if (*i + 1 >= argc) return -1;
  *value = argv[++*i];
  return 1;
}

int tool_parse_uint(const char *s, unsigned long long max, unsigned long long *out) {
  if (!s || *s < '0' || *s > '9') return -1;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > max) return -1;
  *out = v;
  return 0;
}

void serve_usage(FILE *f, const char *prog) {
  fprintf(f,
          "usage: %s [--home DIR] [--listen HOST:PORT] [--max-body BYTES] [--threads N]\n"
          "       %*s [--tls-cert FILE --tls-key FILE] [--secret-key-file FILE]\n"
          "       %*s [--workers N] [--runner-python PATH] [--loader-timeout SECONDS]\n"
          "       %*s [--loader-memory-mb MIB] [--max-upload-mb MIB] [--workspace-quota-mb MIB]\n"
          "       %*s [--version] [--help]\n"
          "\n"
          "Serve the assay platform of a home directory over HTTP (the REST API, v1).\n"
          "  --home DIR          home directory (default: $ASSAY_HOME or ~/.assay)\n"
          "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080; port 0 picks\n"
          "                      a free port; IPv6 as [::1]:PORT)\n"
          "  --max-body BYTES    largest request body accepted (default 16777216, at most 1 GiB)\n"
          "  --threads N         worker threads (default 4)\n"
          "  --tls-cert FILE     serve HTTPS with this PEM certificate ...\n"
          "  --tls-key FILE      ... and this PEM private key\n"
          "  --secret-key-file FILE\n"
          "                      master key that seals the stored secrets (default:\n"
          "                      $ASSAY_SECRET_KEY_FILE, else DIR/secret.key); created (mode\n"
          "                      0600) on a home's first start; refused if group or others\n"
          "                      may read it or if it is not the home's key\n"
          "  --workers N         job worker threads: validations, later tests (default 2;\n"
          "                      0: none, another process on the home runs the jobs)\n"
          "  --runner-python PATH\n"
          "                      interpreter for custom loaders (default: $ASSAY_PYTHON,\n"
          "                      else the Python assay was built with, else python3)\n"
          "  --loader-timeout SECONDS\n"
          "                      wall-clock limit of one loader run (default 3600)\n"
          "  --loader-memory-mb MIB\n"
          "                      memory limit of one loader run (default: half the RAM)\n"
          "  --max-upload-mb MIB largest file an upload may store (default 65536, 64 GiB;\n"
          "                      $ASSAY_MAX_UPLOAD_BYTES)\n"
          "  --workspace-quota-mb MIB\n"
          "                      most a workspace's files may take together (default 0:\n"
          "                      unlimited; $ASSAY_WORKSPACE_QUOTA_BYTES). Uploads also keep\n"
          "                      $ASSAY_MIN_FREE_BYTES free on the home's filesystem (default:\n"
          "                      1 GiB, or 5%% of it if less)\n"
          "  --version           print the version and exit\n"
          "Prints one line 'assayd listening on http://HOST:PORT (home DIR)' when ready;\n"
          "stops cleanly on SIGTERM or SIGINT.\n",
          prog, (int)strlen(prog), "", (int)strlen(prog), "", (int)strlen(prog), "",
          (int)strlen(prog), "");
}

/* The host part of "HOST:PORT" / "[V6]:PORT" (brackets kept), in buf. */
static void listen_host(const char *listen, char *buf, size_t size) {
  const char *end = listen[0] == '[' ? strchr(listen, ']') : strrchr(listen, ':');
  size_t n = end ? (size_t)(end - listen) + (listen[0] == '[') : strlen(listen);
  if (n >= size) n = size - 1;
  memcpy(buf, listen, n);
  buf[n] = '\0';
}

static int is_loopback(const char *host) {
  char h[256];
  size_t n = strlen(host);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
    host++;
    n -= 2;
  }
  if (n >= sizeof h) return 0;
  memcpy(h, host, n);
  h[n] = '\0';
  if (strcmp(h, "localhost") == 0) return 1;
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, h, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
  if (inet_pton(AF_INET6, h, &a6) == 1) return IN6_IS_ADDR_LOOPBACK(&a6);
  return 0;
}

static int fail(const char *prog) {
  const assay_error *e = assay_error_last();
  fprintf(stderr, "%s: %s: %s\n", prog, e ? e->name : "Error", e ? e->message : "unknown error");
  return 1;
}

int serve_main(int argc, char **argv) {
  const char *prog = argv[0];
  const char *home = NULL, *listen = "127.0.0.1:8080", *tls_cert = NULL, *tls_key = NULL;
  const char *max_body = NULL, *threads = NULL, *secret_key_file = NULL;
  const char *workers = NULL, *runner_python = NULL, *loader_timeout = NULL,
             *loader_memory = NULL, *max_upload = NULL, *quota = NULL;
  assay_server_options so = ASSAY_SERVER_OPTIONS_INIT;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int r = 0;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      serve_usage(stdout, prog);
      return 0;
    }
    if (strcmp(a, "--version") == 0) {
      printf("assayd %s\n", assay_version());
      return 0;
    }
    if ((r = tool_opt_value(argc, argv, &i, "--home", &home)) ||
        (r = tool_opt_value(argc, argv, &i, "--listen", &listen)) ||
        (r = tool_opt_value(argc, argv, &i, "--max-body", &max_body)) ||
        (r = tool_opt_value(argc, argv, &i, "--threads", &threads)) ||
        (r = tool_opt_value(argc, argv, &i, "--tls-cert", &tls_cert)) ||
        (r = tool_opt_value(argc, argv, &i, "--tls-key", &tls_key)) ||
        (r = tool_opt_value(argc, argv, &i, "--secret-key-file", &secret_key_file)) ||
        (r = tool_opt_value(argc, argv, &i, "--workers", &workers)) ||
        (r = tool_opt_value(argc, argv, &i, "--runner-python", &runner_python)) ||
        (r = tool_opt_value(argc, argv, &i, "--loader-timeout", &loader_timeout)) ||
        (r = tool_opt_value(argc, argv, &i, "--loader-memory-mb", &loader_memory)) ||
        (r = tool_opt_value(argc, argv, &i, "--max-upload-mb", &max_upload)) ||
        (r = tool_opt_value(argc, argv, &i, "--workspace-quota-mb", &quota))) {
      if (r < 0) {
        fprintf(stderr, "%s: option %s needs a value\n", prog, a);
        serve_usage(stderr, prog);
        return 2;
      }
      continue;
    }
    fprintf(stderr, "%s: unknown argument '%s'\n", prog, a);
    serve_usage(stderr, prog);
    return 2;
  }
  unsigned long long v = 0;
  if (max_body) {
    if (tool_parse_uint(max_body, (unsigned long long)1 << 30, &v) != 0 || v == 0) {
      fprintf(stderr, "%s: --max-body needs a number of bytes from 1 to 1073741824 (1 GiB), "
              "not '%s'\n", prog, max_body);
      return 2;
    }
    so.max_body_bytes = (size_t)v;
  }
  if (threads) {
    if (tool_parse_uint(threads, 1024, &v) != 0 || v == 0) {
      fprintf(stderr, "%s: --threads needs a number from 1 to 1024, not '%s'\n", prog, threads);
      return 2;
    }
    so.threads = (unsigned int)v;
  }
  assay_platform_options po = ASSAY_PLATFORM_OPTIONS_INIT;
  if (workers) {
    if (tool_parse_uint(workers, 64, &v) != 0) {
      fprintf(stderr, "%s: --workers needs a number from 0 to 64, not '%s'\n", prog, workers);
      return 2;
    }
    po.workers = (int)v;
  }
  if (runner_python && !*runner_python) {
    fprintf(stderr, "%s: --runner-python needs an interpreter path\n", prog);
    return 2;
  }
  po.runner_python = runner_python;
  if (loader_timeout) {
    char *end = NULL;
    double t = strtod(loader_timeout, &end);
    if (!*loader_timeout || *end || !(t > 0) || t > 604800) {
      fprintf(stderr, "%s: --loader-timeout needs a number of seconds in (0, 604800], not '%s'\n",
              prog, loader_timeout);
      return 2;
    }
    po.loader_timeout = t;
  }
  if (loader_memory) {
    if (tool_parse_uint(loader_memory, (unsigned long long)1 << 30, &v) != 0 || v == 0) {
      fprintf(stderr, "%s: --loader-memory-mb needs a positive number of MiB, not '%s'\n", prog,
              loader_memory);
      return 2;
    }
    po.loader_memory_bytes = (long long)v << 20;
  }
  /* The upload limits are the platform's, read from the environment when
   * it opens (platform/files.h): the flags set it. */
  if (max_upload) {
    char bytes[32];
    if (tool_parse_uint(max_upload, (unsigned long long)1 << 30, &v) != 0 || v == 0) {
      fprintf(stderr, "%s: --max-upload-mb needs a positive number of MiB, not '%s'\n", prog,
              max_upload);
      return 2;
    }
    snprintf(bytes, sizeof bytes, "%llu", v << 20);
    setenv("ASSAY_MAX_UPLOAD_BYTES", bytes, 1);
  }
  if (quota) {
    char bytes[32];
    if (tool_parse_uint(quota, (unsigned long long)1 << 30, &v) != 0) {
      fprintf(stderr, "%s: --workspace-quota-mb needs a number of MiB (0: unlimited), not '%s'\n",
              prog, quota);
      return 2;
    }
    snprintf(bytes, sizeof bytes, "%llu", v << 20);
    setenv("ASSAY_WORKSPACE_QUOTA_BYTES", bytes, 1);
  }
  if (secret_key_file && !*secret_key_file) {
    fprintf(stderr, "%s: --secret-key-file needs a file path\n", prog);
    return 2;
  }
  if (!tls_cert != !tls_key) {
    fprintf(stderr, "%s: --tls-cert and --tls-key go together\n", prog);
    return 2;
  }
  so.listen = listen;
  so.tls_cert = tls_cert;
  so.tls_key = tls_key;

  /* Block the stop signals before any thread exists, so every thread
   * inherits the mask and only sigwait() below receives them. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (assay_init() < 0) return fail(prog);
  assay_platform *platform = NULL;
  po.home = home;
  po.secret_key_file = secret_key_file;
  if (assay_platform_open_with(&platform, &po) < 0) {
    int rc = fail(prog);
    assay_shutdown();
    return rc;
  }
  assay_server *server = NULL;
  if (assay_server_start(&server, platform, &so) < 0) {
    int rc = fail(prog);
    assay_platform_free(platform);
    assay_shutdown();
    return rc;
  }
  char host[256];
  listen_host(listen, host, sizeof host);
  if (!is_loopback(host))
    fprintf(stderr,
            "%s: warning: listening on %s, which is not a loopback address: anyone who can "
            "reach it can call the API (with a token)\n",
            prog, host);
  printf("assayd listening on %s://%s:%d (home %s)\n", tls_cert ? "https" : "http", host,
         assay_server_port(server), assay_platform_home(platform));
  fflush(stdout);

  int sig = 0;
  while (sigwait(&stop, &sig) != 0) {
  }
  fprintf(stderr, "%s: %s received, stopping\n", prog, sig == SIGINT ? "SIGINT" : "SIGTERM");
  assay_server_stop(server);
  assay_platform_free(platform);
  assay_shutdown();
  return 0;
}
