/* httpd.c — assayd's HTTP server: libmicrohttpd in front of the platform's
 * request router.
 *
 * Each request's body is accumulated (up to max_body_bytes; beyond that the
 * answer is 413 and the rest is discarded, not buffered), then handed with
 * its method, raw path, raw query and bearer token to router_handle(); the
 * router's status and JSON body are sent back as they are. The path and
 * query are taken from the request line exactly as the client sent them, so
 * the router sees the same text over HTTP as in process.
 *
 * A route that streams its body (PUT /v1/files, see router.h) is not
 * buffered and max_body does not apply: each piece goes to the router's
 * stream as it arrives, and a connection that ends before the body does
 * aborts the stream (nothing is kept). After the stream failed (disk full,
 * an upload limit), at most HTTPD_DISCARD_MAX more bytes are read and
 * dropped before the error is answered; a longer body is hung up on. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <sodium.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "platform/router.h"

#define HTTPD_DEFAULT_LISTEN "127.0.0.1:8080"
#define HTTPD_DEFAULT_MAX_BODY ((size_t)16 << 20)
#define HTTPD_MAX_BODY_LIMIT ((size_t)1 << 30) /* 1 GiB: bodies are held in memory */
#define HTTPD_DEFAULT_THREADS 4u
#define HTTPD_DEFAULT_TIMEOUT_S 60.0
/* A body over the limit is read and dropped (so that clients which send the
 * whole body before reading the answer still get the 413) unless it is
 * more than this much over the limit: then the connection is answered at
 * once, or closed. */
#define HTTPD_DISCARD_MAX ((unsigned long long)64 << 20)
/* A refused request (unknown route, bad token) with a declared body larger
 * than this is answered at once; a smaller body is read and dropped first,
 * so that clients that send before they read still see the answer. */
#define HTTPD_EARLY_ANSWER ((unsigned long long)64 << 10)
/* At most this many connections at once (MHD's own default is ~1000). */
#define HTTPD_CONNECTION_LIMIT 256u
/* How long assay_server_stop() waits for requests in flight. */
#define HTTPD_STOP_GRACE_MS 4000L

struct assay_server {
  struct MHD_Daemon *daemon;
  assay_platform *platform;
  size_t max_body;
  int port;
  MHD_socket quiesced; /* listen socket handed back by MHD_quiesce_daemon */
  char *tls_cert;      /* PEM text, kept for the daemon's lifetime */
  char *tls_key;
  pthread_mutex_t lock; /* guards in_flight */
  pthread_cond_t idle;
  unsigned long in_flight;
  int log_ready; /* MHD's log lines are shown once the server runs (startup
                    failures are reported as our error instead) */
};

/* Per-request state, created when the request line arrives (URI log
 * callback) and freed when MHD reports the request complete. */
typedef struct request_state {
  assay_server *server;
  char *path;  /* raw path, as sent */
  char *query; /* raw query without '?', or NULL */
  char *body;
  size_t len, cap;
  int too_large;
  unsigned long long dropped; /* bytes of an oversized body dropped so far */
  int started; /* the headers-only first call has happened */
  router_response rejected; /* status != 0: refused before the body (route or
                               token); the body is dropped, this is answered */
  router_stream *stream; /* a streamed body being received */
  int stream_failed;     /* a piece failed: drop the rest, answer the error */
} request_state;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  assay_server *s = cls;
  request_state *st = calloc(1, sizeof *st);
  if (!st) return NULL;
  st->server = s;
  const char *q = strchr(uri, '?');
  size_t plen = q ? (size_t)(q - uri) : strlen(uri);
  st->path = strndup(uri, plen);
  if (q && q[1]) st->query = strdup(q + 1);
  pthread_mutex_lock(&s->lock);
  s->in_flight++;
  pthread_mutex_unlock(&s->lock);
  return st;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  assay_server *s = cls;
  request_state *st = *con_cls;
  *con_cls = NULL;
  if (!st) return;
  router_stream_abort(st->stream); /* cut before the body ended */
  free(st->path);
  free(st->query);
  if (st->body) sodium_memzero(st->body, st->cap); /* bodies carry secret values */
  free(st->body);
  router_response_clear(&st->rejected);
  free(st);
  pthread_mutex_lock(&s->lock);
  if (s->in_flight > 0) s->in_flight--;
  if (s->in_flight == 0) pthread_cond_broadcast(&s->idle);
  pthread_mutex_unlock(&s->lock);
}

static void on_log(void *cls, const char *fmt, va_list ap) {
  assay_server *s = cls;
  if (!__atomic_load_n(&s->log_ready, __ATOMIC_ACQUIRE)) return;
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
  fprintf(stderr, "assay httpd: %s\n", line);
}

/* Send a status and JSON body (NULL: no body). Takes nothing over. */
static enum MHD_Result send_json(struct MHD_Connection *conn, int status, json_t *body,
                                 const char *allow) {
  char *text = NULL;
  size_t len = 0;
  if (body && status != 204) {
    text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text) return MHD_NO;
    len = strlen(text);
  }
  struct MHD_Response *r =
      text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_COPY)
           : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  free(text);
  if (!r) return MHD_NO;
  if (len > 0) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (allow && *allow) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
  enum MHD_Result ret = MHD_queue_response(conn, (unsigned int)status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result send_too_large(struct MHD_Connection *conn, size_t limit) {
  assay__err(ASSAY_ERR_PAYLOAD_TOO_LARGE,
             "the request body is larger than this server's limit of %zu bytes", limit);
  json_t *body = router_error_body();
  enum MHD_Result ret = send_json(conn, 413, body, NULL);
  json_decref(body);
  assay_error_clear();
  return ret;
}

/* The token of an "Authorization: Bearer <token>" header, or NULL. */
static const char *bearer_token(struct MHD_Connection *conn) {
  const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if (!h) return NULL;
  while (*h == ' ' || *h == '\t') h++;
  if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t')) return NULL;
  h += 6;
  while (*h == ' ' || *h == '\t') h++;
  return h;
}

/* Append to the body; the caller has checked len + n <= limit, and the
 * buffer never grows past limit + 1. */
static int append_body(request_state *st, const char *data, size_t n, size_t limit) {
  if (st->len + n + 1 > st->cap) {
    size_t cap = st->cap ? st->cap : 4096;
    while (cap < st->len + n + 1) cap *= 2;
    if (cap > limit + 1) cap = limit + 1;
    /* Not realloc: the old buffer may hold secret values and is wiped. */
    char *p = malloc(cap);
    if (!p) return -1;
    if (st->body) {
      memcpy(p, st->body, st->len);
      sodium_memzero(st->body, st->cap);
      free(st->body);
    }
    st->body = p;
    st->cap = cap;
  }
  memcpy(st->body + st->len, data, n);
  st->len += n;
  st->body[st->len] = '\0';
  return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
  assay_server *s = cls;
  request_state *st = *con_cls;
  if (!st) return MHD_NO; /* on_uri could not allocate */

  if (!st->started) {
    /* First call, headers only. A declared body far over the limit is
     * refused at once (MHD then closes the connection after the answer). */
    st->started = 1;
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long declared = 0;
    int known = 0;
    if (cl) {
      char *end = NULL;
      errno = 0;
      declared = strtoull(cl, &end, 10);
      if (errno != 0 || end == cl) declared = 0;
      else known = 1;
    }
    /* Route and token are checked before any body is kept: a caller
     * without a valid token cannot make the server hold its body. */
    router_request pre = {0};
    pre.method = method;
    pre.path = st->path ? st->path : url;
    pre.query = st->query;
    pre.token = bearer_token(conn);
    int rejected = router_precheck(s->platform, &pre, &st->rejected) != 0;
    if (!rejected && router_streams(&pre))
      rejected = router_stream_begin(s->platform, &pre,
                                     known && declared <= (unsigned long long)LLONG_MAX
                                         ? (long long)declared
                                         : -1,
                                     &st->stream, &st->rejected) != 0;
    if (rejected) {
      assay_error_clear();
      if (declared > HTTPD_EARLY_ANSWER) { /* answer now; MHD closes after */
        enum MHD_Result ret =
            send_json(conn, st->rejected.status, st->rejected.body, st->rejected.allow);
        return ret;
      }
      return MHD_YES; /* drop the (small) body, answer at its end */
    }
    if (st->stream) return MHD_YES; /* streamed: no body limit */
    if (declared > s->max_body) {
      if (declared - s->max_body > HTTPD_DISCARD_MAX) return send_too_large(conn, s->max_body);
      st->too_large = 1; /* drop the body as it comes, answer 413 at its end */
    }
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    /* A piece of the body: keep it while under the limit, else drop it. */
    if (st->rejected.status) {
      st->dropped += *upload_data_size;
      *upload_data_size = 0;
      return st->dropped > HTTPD_EARLY_ANSWER ? MHD_NO : MHD_YES;
    }
    if (st->stream) {
      /* A piece of a streamed body goes on at once. After a failure (disk
       * full, a limit passed, ...) the rest is read and dropped and the
       * error answered at the end — libmicrohttpd cannot answer in the
       * middle of a body, and a closed connection would tell the uploader
       * nothing — but only up to HTTPD_DISCARD_MAX more bytes, as for an
       * oversized buffered body: past that the connection is closed, so an
       * endless body cannot keep a connection busy for ever. */
      if (st->stream_failed) {
        st->dropped += *upload_data_size;
        *upload_data_size = 0;
        return st->dropped > HTTPD_DISCARD_MAX ? MHD_NO : MHD_YES;
      }
      if (router_stream_write(st->stream, upload_data, *upload_data_size) != 0)
        st->stream_failed = 1;
      assay_error_clear();
      *upload_data_size = 0;
      return MHD_YES;
    }
    if (!st->too_large && st->len + *upload_data_size > s->max_body) {
      st->too_large = 1;
      if (st->body) sodium_memzero(st->body, st->cap);
      free(st->body);
      st->body = NULL;
      st->len = st->cap = 0;
    }
    if (st->too_large) {
      st->dropped += *upload_data_size;
      if (st->dropped > HTTPD_DISCARD_MAX) return MHD_NO; /* endless body: hang up */
    } else if (append_body(st, upload_data, *upload_data_size, s->max_body) != 0) {
      return MHD_NO;
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  /* Called once more after the body ends (or with no body): answer. */
  if (st->rejected.status)
    return send_json(conn, st->rejected.status, st->rejected.body, st->rejected.allow);
  if (st->too_large) return send_too_large(conn, s->max_body);
  if (st->stream) {
    router_response resp = {0};
    router_stream_finish(st->stream, &resp);
    st->stream = NULL;
    enum MHD_Result ret = send_json(conn, resp.status, resp.body, resp.allow);
    router_response_clear(&resp);
    assay_error_clear();
    return ret;
  }

  router_request req = {0};
  req.method = method;
  req.path = st->path ? st->path : url;
  req.query = st->query;
  req.token = bearer_token(conn);
  req.body = st->body;
  req.body_len = st->len;
  req.max_body = s->max_body;
  router_response resp = {0};
  router_handle(s->platform, &req, &resp);
  enum MHD_Result ret = send_json(conn, resp.status, resp.body, resp.allow);
  router_response_clear(&resp);
  assay_error_clear();
  return ret;
}

/* Parse "HOST:PORT" / "[V6]:PORT" into a socket address. */
static int parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *addrlen) {
  char host[256];
  const char *port;
  if (listen[0] == '[') {
    const char *close = strchr(listen, ']');
    if (!close || close[1] != ':')
      return assay__err(ASSAY_ERR_CONFIG, "listen address '%s' is not [IPV6]:PORT", listen);
    size_t n = (size_t)(close - listen - 1);
    if (n == 0 || n >= sizeof host)
      return assay__err(ASSAY_ERR_CONFIG, "listen address '%s' has a bad host", listen);
    memcpy(host, listen + 1, n);
    host[n] = '\0';
    port = close + 2;
  } else {
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || strchr(listen, ':') != colon)
      return assay__err(ASSAY_ERR_CONFIG,
                        "listen address '%s' is not HOST:PORT (e.g. 127.0.0.1:8080, [::1]:8080)",
                        listen);
    size_t n = (size_t)(colon - listen);
    if (n >= sizeof host)
      return assay__err(ASSAY_ERR_CONFIG, "listen address '%s' has a bad host", listen);
    memcpy(host, listen, n);
    host[n] = '\0';
    port = colon + 1;
  }
  char *end = NULL;
  errno = 0;
  long p = strtol(port, &end, 10);
  if (!*port || *end || errno || p < 0 || p > 65535)
    return assay__err(ASSAY_ERR_CONFIG, "listen address '%s': port must be 0..65535", listen);

  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int gai = getaddrinfo(host, port, &hints, &res);
  if (gai != 0 || !res)
    return assay__err(ASSAY_ERR_CONFIG, "listen address '%s': cannot resolve '%s': %s", listen,
                      host, gai_strerror(gai));
  memcpy(addr, res->ai_addr, res->ai_addrlen);
  *addrlen = res->ai_addrlen;
  freeaddrinfo(res);
  return ASSAY_OK;
}

static int read_file(char **out, const char *what, const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return assay__err(ASSAY_ERR_CONFIG, "%s '%s' cannot be read: %s", what, path,
                      strerror(errno));
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len + 4096 + 1 > cap) {
      cap = cap ? cap * 2 : 8192;
      char *p = realloc(buf, cap);
      if (!p) {
        free(buf);
        fclose(f);
        return assay__nomem();
      }
      buf = p;
    }
    size_t n = fread(buf + len, 1, 4096, f);
    len += n;
    if (n < 4096) break;
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    return assay__err(ASSAY_ERR_CONFIG, "%s '%s' cannot be read", what, path);
  }
  buf[len] = '\0';
  *out = buf;
  return ASSAY_OK;
}

static void server_free(assay_server *s) {
  if (!s) return;
  if (s->tls_key) {
    sodium_memzero(s->tls_key, strlen(s->tls_key));
    free(s->tls_key);
  }
  free(s->tls_cert);
  pthread_cond_destroy(&s->idle);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

int assay_server_start(assay_server **out, assay_platform *platform,
                       const assay_server_options *opts) {
  if (!out) return assay__err(ASSAY_ERR_CONFIG, "assay_server_start: out is NULL");
  *out = NULL;
  if (!platform) return assay__err(ASSAY_ERR_CONFIG, "assay_server_start: platform is NULL");
  assay_server_options defaults = ASSAY_SERVER_OPTIONS_INIT;
  if (!opts) opts = &defaults;
  if (opts->version != ASSAY_SERVER_OPTIONS_VERSION)
    return assay__err(ASSAY_ERR_CONFIG, "assay_server_options.version is %u, expected %u",
                      opts->version, ASSAY_SERVER_OPTIONS_VERSION);
  const char *listen = opts->listen && *opts->listen ? opts->listen : HTTPD_DEFAULT_LISTEN;
  int want_tls = (opts->tls_cert && *opts->tls_cert) || (opts->tls_key && *opts->tls_key);
  if (want_tls && !(opts->tls_cert && *opts->tls_cert && opts->tls_key && *opts->tls_key))
    return assay__err(ASSAY_ERR_CONFIG, "TLS needs both tls_cert and tls_key");
  if (want_tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
    return assay__err(ASSAY_ERR_CONFIG, "this libmicrohttpd was built without TLS support");
  if (opts->request_timeout < 0)
    return assay__err(ASSAY_ERR_CONFIG, "request_timeout must not be negative");

  struct sockaddr_storage addr;
  socklen_t addrlen = 0;
  int rc = parse_listen(listen, &addr, &addrlen);
  if (rc < 0) return rc;

  assay_server *s = calloc(1, sizeof *s);
  if (!s) return assay__nomem();
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->idle, NULL);
  s->platform = platform;
  s->quiesced = MHD_INVALID_SOCKET;
  if (opts->max_body_bytes > HTTPD_MAX_BODY_LIMIT) {
    server_free(s);
    return assay__err(ASSAY_ERR_CONFIG, "max_body_bytes must be at most %zu (1 GiB); got %zu",
                      (size_t)HTTPD_MAX_BODY_LIMIT, opts->max_body_bytes);
  }
  s->max_body = opts->max_body_bytes ? opts->max_body_bytes : HTTPD_DEFAULT_MAX_BODY;
  if (want_tls) {
    if ((rc = read_file(&s->tls_cert, "tls_cert", opts->tls_cert)) < 0 ||
        (rc = read_file(&s->tls_key, "tls_key", opts->tls_key)) < 0) {
      server_free(s);
      return rc;
    }
  }

  unsigned int threads = opts->threads ? opts->threads : HTTPD_DEFAULT_THREADS;
  double timeout = opts->request_timeout > 0 ? opts->request_timeout : HTTPD_DEFAULT_TIMEOUT_S;
  unsigned int timeout_s = timeout >= (double)UINT_MAX ? UINT_MAX : (unsigned int)(timeout + 0.999);
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
  /* poll(), not epoll: libmicrohttpd 0.9.75's epoll mode often misses a
   * client hanging up in the middle of a request body, which would keep a
   * cut upload's temporary file until the idle timeout; poll sees it at
   * once. With at most HTTPD_CONNECTION_LIMIT connections poll costs
   * nothing noticeable. */
  if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES) flags |= MHD_USE_POLL;
  if (addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  if (want_tls) flags |= MHD_USE_TLS;

  struct MHD_OptionItem tls_opts[] = {
      {MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert},
      {MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key},
      {MHD_OPTION_END, 0, NULL},
  };
  s->daemon = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, s,
      MHD_OPTION_EXTERNAL_LOGGER, on_log, (void *)s,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
      MHD_OPTION_THREAD_POOL_SIZE, threads,
      MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
      MHD_OPTION_CONNECTION_LIMIT, HTTPD_CONNECTION_LIMIT,
      MHD_OPTION_URI_LOG_CALLBACK, on_uri, (void *)s,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, (void *)s,
      MHD_OPTION_ARRAY, want_tls ? tls_opts : tls_opts + 2,
      MHD_OPTION_END);
  if (!s->daemon) {
    int e = errno;
    server_free(s);
    return assay__err(ASSAY_ERR_CONFIG, "cannot serve on %s%s%s", listen,
                      e ? ": " : " (bad TLS certificate or key?)", e ? strerror(e) : "");
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? (int)info->port : 0;
  __atomic_store_n(&s->log_ready, 1, __ATOMIC_RELEASE);
  *out = s;
  return ASSAY_OK;
}

int assay_server_port(const assay_server *server) { return server ? server->port : 0; }

void assay_server_stop(assay_server *server) {
  if (!server) return;
  /* Stop accepting, let requests in flight finish (bounded), then stop. */
  server->quiesced = MHD_quiesce_daemon(server->daemon);
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += HTTPD_STOP_GRACE_MS / 1000;
  pthread_mutex_lock(&server->lock);
  while (server->in_flight > 0) {
    if (pthread_cond_timedwait(&server->idle, &server->lock, &deadline) == ETIMEDOUT) break;
  }
  pthread_mutex_unlock(&server->lock);
  MHD_stop_daemon(server->daemon);
  if (server->quiesced != MHD_INVALID_SOCKET) close(server->quiesced);
  server_free(server);
}
