/* test_http.c — the HTTP side: the libcurl transport against the real
 * libmicrohttpd server (in process, on a free loopback port, over a real
 * platform in a temporary home), plus the cases a real server cannot be
 * made to produce on demand — a server that never answers, one that answers
 * 503 and then 200 — played by tiny test-double servers of this file.
 * Covers: the project round trip, auth errors, malformed / oversized
 * bodies, unknown routes and wrong methods, refused connections, timeouts,
 * retries, TLS (CA, assert_hostname) and that the API key never appears in
 * an error message. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "assay.h"
#include "test_support.h"

#define SECRET_KEY "sk-assay-TOPSECRET-0123456789"

static char *home;
static assay_platform *platform;
static assay_server *server;       /* the plain server */
static assay_server *small_server; /* max_body_bytes = 1024 */
static char admin_token[256];
static char url[64], small_url[64];

/* --- helpers ---------------------------------------------------------------- */

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_quiet(const char *cmd) { return system(cmd); }

static assay_client *client_for(const char *domain, const char *key, double timeout) {
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.domain = domain;
  o.api_key = key;
  if (timeout > 0) o.channel_timeout = timeout;
  assay_client *c = NULL;
  int rc = assay_client_new(&c, &o);
  if (rc != 0) fprintf(stderr, "client_new: %s\n", assay_error_last()->message);
  assert_int_equal(rc, 0);
  return c;
}

/* The last error must be `code` (and `status` when >= 0), and must not
 * contain the secret key. */
static void expect_error(int rc, int code, int status) {
  const assay_error *e = assay_error_last();
  if (rc != code)
    fprintf(stderr, "expected %d, got %d: %s\n", code, rc, e ? e->message : "(no error)");
  assert_int_equal(rc, code);
  assert_non_null(e);
  assert_int_equal(e->code, code);
  if (status >= 0) assert_int_equal(e->http_status, status);
  assert_non_null(e->message);
  assert_null(strstr(e->message, SECRET_KEY));
  assert_null(strstr(e->message, admin_token));
}

static void read_token(const char *dir, char *buf, size_t size) {
  assert_int_equal(read_admin_token(dir, buf, size), 0);
}

/* --- test doubles: a silent server and a scripted HTTP server ----------- */

typedef struct fake_server {
  int fd, port;
  int silent;            /* accept and never answer */
  const int *statuses;   /* status of answer i (the last one repeats) */
  int nstatuses;
  int retry_after;       /* if > 0: Retry-After on the first answer */
  int requests;          /* requests seen (under lock) */
  int stop;
  int held[16];          /* silent mode: connections kept open */
  int nheld;
  pthread_mutex_t lock;
  pthread_t thread;
} fake_server;

static int fake_stopping(fake_server *f) {
  pthread_mutex_lock(&f->lock);
  int s = f->stop;
  pthread_mutex_unlock(&f->lock);
  return s;
}

/* Read one request (headers, then Content-Length bytes of body). */
static int read_request(int fd) {
  char buf[65536];
  size_t len = 0;
  char *end = NULL;
  while (!end) {
    if (len == sizeof buf - 1) return -1;
    ssize_t n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
    if (n <= 0) return -1;
    len += (size_t)n;
    buf[len] = '\0';
    end = strstr(buf, "\r\n\r\n");
  }
  size_t body = 0;
  char *cl = strcasestr(buf, "\r\ncontent-length:");
  if (cl && cl < end) body = strtoul(cl + 17, NULL, 10);
  size_t have = len - (size_t)(end + 4 - buf);
  while (have < body) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return -1;
    have += (size_t)n;
  }
  return 0;
}

static void *fake_main(void *arg) {
  fake_server *f = arg;
  while (!fake_stopping(f)) {
    struct pollfd p = {f->fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int c = accept(f->fd, NULL, NULL);
    if (c < 0) continue;
    if (f->silent) {
      if (f->nheld < 16) f->held[f->nheld++] = c;
      else close(c);
      continue;
    }
    if (read_request(c) != 0) {
      close(c);
      continue;
    }
    pthread_mutex_lock(&f->lock);
    int i = f->requests++;
    pthread_mutex_unlock(&f->lock);
    int status = f->statuses[i < f->nstatuses ? i : f->nstatuses - 1];
    const char *body =
        status == 200 ? "{\"status\":\"ok\"}"
        : status == 503
            ? "{\"error\":{\"code\":-14,\"name\":\"UnavailableError\","
              "\"message\":\"busy\",\"status\":503}}"
            : "{\"error\":{\"code\":-2,\"name\":\"ConfigError\","
              "\"message\":\"bad\",\"status\":400}}";
    char extra[64] = "";
    if (i == 0 && f->retry_after > 0)
      snprintf(extra, sizeof extra, "Retry-After: %d\r\n", f->retry_after);
    char resp[512];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "%sConnection: close\r\n\r\n%s",
                     status, strlen(body), extra, body);
    if (send(c, resp, (size_t)n, MSG_NOSIGNAL) < 0) perror("fake server send");
    close(c);
  }
  for (int i = 0; i < f->nheld; i++) close(f->held[i]);
  return NULL;
}

static void fake_start(fake_server *f) {
  pthread_mutex_init(&f->lock, NULL);
  f->fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(f->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(f->fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(listen(f->fd, 16), 0);
  socklen_t len = sizeof a;
  getsockname(f->fd, (struct sockaddr *)&a, &len);
  f->port = ntohs(a.sin_port);
  assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static int fake_stop(fake_server *f) {
  pthread_mutex_lock(&f->lock);
  f->stop = 1;
  pthread_mutex_unlock(&f->lock);
  pthread_join(f->thread, NULL);
  close(f->fd);
  pthread_mutex_destroy(&f->lock);
  return f->requests;
}

/* Start `f` answering the statuses of `script` and open a client to it. */
static assay_client *fake_client(fake_server *f, const int *script, int n, double timeout) {
  f->statuses = script;
  f->nstatuses = n;
  fake_start(f);
  char u[64];
  snprintf(u, sizeof u, "http://127.0.0.1:%d", f->port);
  return client_for(u, SECRET_KEY, timeout);
}

/* --- fixtures ------------------------------------------------------------------ */

static int start_server(assay_server **out, char *u, size_t usize, size_t max_body) {
  assay_server_options o = ASSAY_SERVER_OPTIONS_INIT;
  o.listen = "127.0.0.1:0";
  o.max_body_bytes = max_body;
  o.threads = 2;
  if (assay_server_start(out, platform, &o) != 0) {
    fprintf(stderr, "server_start: %s\n", assay_error_last()->message);
    return -1;
  }
  snprintf(u, usize, "http://127.0.0.1:%d", assay_server_port(*out));
  return 0;
}

static int setup(void **state) {
  if (assay_init() != 0) return -1;
  home = make_home();
  if (!home) return -1;
  if (assay_platform_open(&platform, home) != 0) {
    fprintf(stderr, "platform_open: %s\n", assay_error_last()->message);
    return -1;
  }
  if (start_server(&server, url, sizeof url, 0) != 0) return -1;
  if (start_server(&small_server, small_url, sizeof small_url, 1024) != 0) return -1;
  read_token(home, admin_token, sizeof admin_token);
  return 0;
}

static int teardown(void **state) {
  assay_server_stop(small_server);
  assay_server_stop(server);
  assay_platform_free(platform);
  rm_home(home);
  assay_shutdown();
  return 0;
}

/* --- the real server ------------------------------------------------------------- */

static void test_server_port(void **state) {
  assert_true(assay_server_port(server) > 0);
  assert_int_not_equal(assay_server_port(server), assay_server_port(small_server));
}

static void test_project_round_trip(void **state) {
  assay_client *c = client_for(url, admin_token, 0);
  assert_false(assay_client_is_embedded(c));
  assay_value *p = NULL;
  assert_int_equal(assay_client_create_project(&p, c, "http round trip", "over HTTP",
                                               "MODEL_TASK_BINARY_CLASSIFICATION", NULL),
                   0);
  const char *id = assay_value_get_string(assay_value_object_get(p, "project_id"), NULL);
  assert_non_null(id);
  assert_string_equal(assay_value_get_string(assay_value_object_get(p, "name"), NULL),
                      "http round trip");

  assay_value *got = NULL;
  assert_int_equal(assay_client_get_project(&got, c, id), 0);
  assert_string_equal(assay_value_get_string(assay_value_object_get(got, "description"), NULL),
                      "over HTTP");
  assay_value_free(got);

  assay_value *list = NULL;
  assert_int_equal(assay_client_list_projects(&list, c), 0);
  int found = 0;
  for (size_t i = 0; i < assay_value_array_size(list); i++) {
    const char *pid = assay_value_get_string(
        assay_value_object_get(assay_value_array_get(list, i), "project_id"), NULL);
    if (pid && strcmp(pid, id) == 0) found = 1;
  }
  assert_true(found);
  assay_value_free(list);

  /* The same name again: 409 over HTTP too. */
  assay_value *dup = NULL;
  expect_error(assay_client_create_project(&dup, c, "http round trip", "",
                                           "MODEL_TASK_REGRESSION", NULL),
               ASSAY_ERR_CONFLICT, 409);

  assert_int_equal(assay_client_delete_project(c, id, 0), 0);
  got = NULL;
  expect_error(assay_client_get_project(&got, c, id), ASSAY_ERR_NOT_FOUND, 404);
  expect_error(assay_client_delete_project(c, id, 0), ASSAY_ERR_NOT_FOUND, 404);
  assay_value_free(p);
  assay_client_free(c);
}

static void test_health_and_platform(void **state) {
  assay_client *anon = client_for(url, NULL, 0);
  assay_value *v = NULL;
  assert_int_equal(assay_client_request(&v, anon, "GET", "/v1/health", NULL, 0), 0);
  assert_string_equal(assay_value_get_string(assay_value_object_get(v, "status"), NULL), "ok");
  assay_value_free(v);
  assay_client_free(anon);

  assay_client *c = client_for(url, admin_token, 0);
  v = NULL;
  assert_int_equal(assay_client_platform_info(&v, c), 0);
  assert_string_equal(assay_value_get_string(assay_value_object_get(v, "api_version"), NULL),
                      "v1");
  assert_false(assay_value_get_bool(assay_value_object_get(v, "embedded")));
  assay_value_free(v);
  assay_client_free(c);
}

static void test_auth_errors(void **state) {
  assay_value *v = NULL;
  assay_client *wrong = client_for(url, SECRET_KEY, 0);
  expect_error(assay_client_list_projects(&v, wrong), ASSAY_ERR_AUTH, 401);
  expect_error(assay_client_create_project(&v, wrong, "x", "", "MODEL_TASK_REGRESSION", NULL),
               ASSAY_ERR_AUTH, 401);
  assay_client_free(wrong);

  assay_client *none = client_for(url, NULL, 0);
  expect_error(assay_client_list_projects(&v, none), ASSAY_ERR_AUTH, 401);
  assay_client_free(none);
  assert_null(v);
}

static void test_token_created_over_http_works(void **state) {
  assay_client *c = client_for(url, admin_token, 0);
  assay_value *t = NULL;
  assert_int_equal(assay_client_create_api_token(&t, c, NULL, "http test", NULL, 1), 0);
  const char *token = assay_value_get_string(assay_value_object_get(t, "token"), NULL);
  assert_non_null(token);
  assay_client *c2 = client_for(url, token, 0);
  assay_value *list = NULL;
  assert_int_equal(assay_client_list_projects(&list, c2), 0);
  assay_value_free(list);
  assay_client_free(c2);
  assay_value_free(t);
  assay_client_free(c);
}

static void test_bad_requests(void **state) {
  assay_client *c = client_for(url, admin_token, 0);
  assay_value *v = NULL;
  const char *bad = "{\"name\": \"x\", ";
  expect_error(assay_client_request(&v, c, "POST", "/v1/projects", bad, strlen(bad)),
               ASSAY_ERR_CONFIG, 400);
  expect_error(assay_client_request(&v, c, "GET", "/v1/no-such-route", NULL, 0),
               ASSAY_ERR_NOT_FOUND, 404);
  expect_error(assay_client_request(&v, c, "PUT", "/v1/projects", "{}", 2),
               ASSAY_ERR_METHOD_NOT_ALLOWED, 405);
  expect_error(assay_client_request(&v, c, "DELETE", "/v1/health", NULL, 0),
               ASSAY_ERR_METHOD_NOT_ALLOWED, 405);
  /* Unknown model_task: 400 naming the valid ones. */
  expect_error(assay_client_create_project(&v, c, "bad task", "", "MODEL_TASK_NOPE", NULL),
               ASSAY_ERR_CONFIG, 400);
  assert_non_null(strstr(assay_error_last()->message, "MODEL_TASK_REGRESSION"));
  assert_null(v);
  assay_client_free(c);
}

static void test_body_limit(void **state) {
  assay_client *c = client_for(small_url, admin_token, 0);
  char desc[4001];
  memset(desc, 'a', sizeof desc - 1);
  desc[sizeof desc - 1] = '\0';
  assay_value *v = NULL;
  expect_error(
      assay_client_create_project(&v, c, "too big", desc, "MODEL_TASK_REGRESSION", NULL),
      ASSAY_ERR_PAYLOAD_TOO_LARGE, 413);
  /* Under the limit is fine, on the same client (the connection recovers). */
  desc[500] = '\0';
  assert_int_equal(
      assay_client_create_project(&v, c, "small enough", desc, "MODEL_TASK_REGRESSION", NULL),
      0);
  const char *id = assay_value_get_string(assay_value_object_get(v, "project_id"), NULL);
  assert_int_equal(assay_client_delete_project(c, id, 0), 0);
  assay_value_free(v);
  assay_client_free(c);
}

/* A server's --max-body above the 16 MiB default is honoured end to end. */
static void test_body_limit_above_default(void **state) {
  assay_server *big;
  char big_url[64];
  assert_int_equal(start_server(&big, big_url, sizeof big_url, (size_t)20 << 20), 0);
  assay_client *c = client_for(big_url, admin_token, 0);
  size_t n = (size_t)17 << 20;
  char *body = malloc(n + 1);
  memset(body, ' ', n);
  memcpy(body + n - 2, "{}", 2);
  body[n] = '\0';
  assay_value *v = NULL;
  /* parsed (not 413): the empty object lacks the project's fields */
  expect_error(assay_client_request(&v, c, "POST", "/v1/projects", body, n), ASSAY_ERR_CONFIG,
               400);
  assert_non_null(strstr(assay_error_last()->message, "name is required"));
  free(body);
  assay_client_free(c);
  assay_server_stop(big);
}

/* Without a valid token, a large body is refused as AuthError before the
 * server keeps it (and not as 413, which would tell an anonymous caller
 * about the route's limits). */
static void test_anonymous_body_refused_first(void **state) {
  assay_client *c = client_for(url, "asy_not-a-token", 0);
  size_t n = (size_t)40 << 20;
  char *body = malloc(n);
  memset(body, ' ', n);
  assay_value *v = NULL;
  expect_error(assay_client_request(&v, c, "POST", "/v1/projects", body, n), ASSAY_ERR_AUTH,
               401);
  expect_error(assay_client_request(&v, c, "POST", "/v1/nowhere", body, 100), ASSAY_ERR_NOT_FOUND,
               404);
  free(body);
  assay_client_free(c);
}

typedef struct worker_arg {
  int ok;
} worker_arg;

static void *worker(void *p) {
  worker_arg *a = p;
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.domain = url;
  o.api_key = admin_token;
  assay_client *c = NULL;
  if (assay_client_new(&c, &o) != 0) return NULL;
  for (int i = 0; i < 20; i++) {
    assay_value *list = NULL;
    if (assay_client_list_projects(&list, c) == 0) a->ok++;
    assay_value_free(list);
  }
  assay_client_free(c);
  return NULL;
}

static void test_concurrent_clients(void **state) {
  pthread_t th[4];
  worker_arg args[4] = {{0}};
  for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(args[i].ok, 20);
  }
}

/* --- delivery failures -------------------------------------------------------------- */

static void test_connection_refused(void **state) {
  char u[64];
  /* port 1: nobody listens there (a port bound and released could be
   * handed to a server started meanwhile) */
  snprintf(u, sizeof u, "http://127.0.0.1:%d", 1);
  assay_client *c = client_for(u, SECRET_KEY, 0);
  assay_value *v = NULL;
  double t0 = now_s();
  expect_error(assay_client_list_projects(&v, c), ASSAY_ERR_TRANSPORT, -1);
  assert_true(now_s() - t0 < 1.5); /* not retried: retries would back off 1.75 s */
  assert_non_null(strstr(assay_error_last()->message, "127.0.0.1"));
  assay_client_free(c);
}

static void test_timeout(void **state) {
  fake_server f = {0};
  f.silent = 1;
  fake_start(&f);
  char u[64];
  snprintf(u, sizeof u, "http://127.0.0.1:%d", f.port);
  assay_client *c = client_for(u, SECRET_KEY, 0.5);
  assay_value *v = NULL;
  double t0 = now_s();
  expect_error(assay_client_list_projects(&v, c), ASSAY_ERR_TIMEOUT, -1);
  double elapsed = now_s() - t0;
  assert_true(elapsed >= 0.4);
  assert_true(elapsed < 10.0); /* bounded, with room for a loaded machine */
  const char *msg = assay_error_last()->message;
  assert_non_null(strstr(msg, "timed out after 0.5 s"));
  assert_non_null(strstr(msg, "/v1/projects"));
  assay_client_free(c);
  fake_stop(&f);
}

static void test_retry_then_success(void **state) {
  static const int script[] = {503, 503, 200};
  fake_server f = {0};
  assay_client *c = fake_client(&f, script, 3, 5);
  assay_value *v = NULL;
  double t0 = now_s();
  assert_int_equal(assay_client_request(&v, c, "GET", "/v1/health", NULL, 0), 0);
  double elapsed = now_s() - t0;
  assert_string_equal(assay_value_get_string(assay_value_object_get(v, "status"), NULL), "ok");
  assay_value_free(v);
  assay_client_free(c);
  assert_int_equal(fake_stop(&f), 3);
  assert_true(elapsed >= 0.7); /* 250 ms + 500 ms of backoff */
  assert_true(elapsed < 10.0);
}

static void test_retry_gives_up(void **state) {
  static const int script[] = {503};
  fake_server f = {0};
  f.statuses = script;
  f.nstatuses = 1;
  fake_start(&f);
  char u[64];
  snprintf(u, sizeof u, "http://127.0.0.1:%d", f.port);
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.domain = u;
  o.api_key = SECRET_KEY;
  o.max_retries = 1;
  assay_client *c = NULL;
  assert_int_equal(assay_client_new(&c, &o), 0);
  assay_value *v = NULL;
  expect_error(assay_client_request(&v, c, "GET", "/v1/health", NULL, 0), ASSAY_ERR_UNAVAILABLE,
               503);
  assay_client_free(c);
  assert_int_equal(fake_stop(&f), 2);
}

static void test_retry_after(void **state) {
  static const int script[] = {503, 200};
  fake_server f = {0};
  f.retry_after = 1;
  assay_client *c = fake_client(&f, script, 2, 5);
  assay_value *v = NULL;
  double t0 = now_s();
  assert_int_equal(assay_client_request(&v, c, "GET", "/v1/health", NULL, 0), 0);
  double elapsed = now_s() - t0;
  assay_value_free(v);
  assay_client_free(c);
  assert_int_equal(fake_stop(&f), 2);
  assert_true(elapsed >= 0.95); /* Retry-After: 1, not the 250 ms backoff */
  assert_true(elapsed < 10.0);
}

static void test_no_retry_on_400(void **state) {
  static const int script[] = {400, 200};
  fake_server f = {0};
  assay_client *c = fake_client(&f, script, 2, 5);
  assay_value *v = NULL;
  expect_error(assay_client_request(&v, c, "POST", "/v1/projects", "{}", 2), ASSAY_ERR_CONFIG,
               400);
  assay_client_free(c);
  assert_int_equal(fake_stop(&f), 1);
}

/* Every retryable status is retried once here; other 5xx are not. */
static void test_retry_statuses(void **state) {
  static const int retryable[] = {429, 500, 502, 503, 504};
  for (size_t i = 0; i < sizeof retryable / sizeof retryable[0]; i++) {
    int script[] = {retryable[i], 200};
    fake_server f = {0};
    assay_client *c = fake_client(&f, script, 2, 5);
    assay_value *v = NULL;
    assert_int_equal(assay_client_request(&v, c, "GET", "/v1/health", NULL, 0), 0);
    assay_value_free(v);
    assay_client_free(c);
    assert_int_equal(fake_stop(&f), 2);
  }
  int script[] = {501, 200};
  fake_server f = {0};
  assay_client *c = fake_client(&f, script, 2, 5);
  assay_value *v = NULL;
  assert_true(assay_client_request(&v, c, "GET", "/v1/health", NULL, 0) < 0);
  assert_int_equal(assay_error_last()->http_status, 501);
  assay_client_free(c);
  assert_int_equal(fake_stop(&f), 1);

  /* a POST may have acted before a 500/502/504: it is not repeated */
  int post_script[] = {500, 200};
  fake_server g = {0};
  c = fake_client(&g, post_script, 2, 5);
  assert_true(assay_client_request(&v, c, "POST", "/v1/projects", "{}", 2) < 0);
  assert_int_equal(assay_error_last()->http_status, 500);
  assay_client_free(c);
  assert_int_equal(fake_stop(&g), 1);
}

/* channel_timeout bounds the whole call, retries and Retry-After included:
 * a wait that would end past the deadline is not taken, and the last
 * answer stands. */
static void deadline_case(double timeout, int want_requests, double max_elapsed) {
  static const int script[] = {503};
  fake_server f = {0};
  f.statuses = script;
  f.nstatuses = 1;
  f.retry_after = 1; /* the first answer asks for 1 s; then backoff 500 ms, ... */
  fake_start(&f);
  char u[64];
  snprintf(u, sizeof u, "http://127.0.0.1:%d", f.port);
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.domain = u;
  o.api_key = SECRET_KEY;
  o.channel_timeout = timeout;
  o.max_retries = 10;
  assay_client *c = NULL;
  assert_int_equal(assay_client_new(&c, &o), 0);
  assay_value *v = NULL;
  double t0 = now_s();
  expect_error(assay_client_request(&v, c, "GET", "/v1/health", NULL, 0),
               ASSAY_ERR_UNAVAILABLE, 503);
  double elapsed = now_s() - t0;
  assay_client_free(c);
  assert_int_equal(fake_stop(&f), want_requests);
  assert_true(elapsed < max_elapsed);
}

static void test_deadline_covers_retries(void **state) {
  deadline_case(0.8, 1, 0.8);  /* Retry-After 1 s does not fit in 0.8 s */
  deadline_case(1.3, 2, 1.3);  /* 1 s fits; the next 500 ms does not */
}

/* What may not reach the request line or an error message. */
static void test_request_line_and_credentials(void **state) {
  assay_client *c = client_for(url, admin_token, 0);
  assay_value *v = NULL;
  expect_error(assay_client_request(&v, c, "DELETE /v1/projects/x HTTP/1.1\r\nHost: a\r\n\r\nGET",
                                    "/v1/health", NULL, 0),
               ASSAY_ERR_CONFIG, -1);
  expect_error(assay_client_request(&v, c, "GET", "/v1/health HTTP/1.1", NULL, 0),
               ASSAY_ERR_CONFIG, -1);
  expect_error(assay_client_request(&v, c, "GET", "/v1/he\r\nalth", NULL, 0), ASSAY_ERR_CONFIG,
               -1);
  assay_client_free(c);
  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.domain = "http://user:hunter2@127.0.0.1:1";
  o.api_key = SECRET_KEY;
  expect_error(assay_client_new(&c, &o), ASSAY_ERR_CONFIG, -1);
  assert_null(strstr(assay_error_last()->message, "hunter2"));
}

static void test_bad_domains(void **state) {
  const char *bad[] = {"ftp://127.0.0.1:1", "http://", "://x", NULL};
  for (int i = 0; bad[i]; i++) {
    assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
    o.domain = bad[i];
    o.api_key = SECRET_KEY;
    assay_client *c = NULL;
    expect_error(assay_client_new(&c, &o), ASSAY_ERR_CONFIG, -1);
    assert_null(c);
  }
}

/* The domain forms: trailing slashes, no scheme with disable_tls. */
static void test_domain_forms(void **state) {
  char u[80];
  snprintf(u, sizeof u, "%s//", url);
  assay_client *c = client_for(u, admin_token, 0);
  assay_value *v = NULL;
  assert_int_equal(assay_client_list_projects(&v, c), 0);
  assay_value_free(v);
  assay_client_free(c);

  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  o.domain = url + strlen("http://"); /* "127.0.0.1:PORT" */
  o.api_key = admin_token;
  o.disable_tls = 1;
  assert_int_equal(assay_client_new(&c, &o), 0);
  v = NULL;
  assert_int_equal(assay_client_list_projects(&v, c), 0);
  assay_value_free(v);
  assay_client_free(c);

  /* Without disable_tls the same domain means https: a plain server fails. */
  o.disable_tls = 0;
  o.api_key = SECRET_KEY;
  assert_int_equal(assay_client_new(&c, &o), 0);
  expect_error(assay_client_list_projects(&v, c), ASSAY_ERR_TRANSPORT, -1);
  assay_client_free(c);
}

/* --- TLS ----------------------------------------------------------------------------------- */

/* Make a self-signed certificate for `san` in home/<name>.{crt,key}. */
static int make_cert(const char *name, const char *cn, const char *san) {
  char cmd[8192];
  snprintf(cmd, sizeof cmd,
           "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=%s' "
           "-addext 'subjectAltName=%s' -keyout '%s/%s.key' -out '%s/%s.crt' >/dev/null 2>&1",
           cn, san, home, name, home, name);
  return run_quiet(cmd);
}

static void test_tls(void **state) {
  /* scripts/setup installs openssl, and Debian's libmicrohttpd has TLS:
   * missing either is a broken set-up, not a reason to pass quietly. */
  if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
    fail_msg("libmicrohttpd was built without TLS support");
  if (run_quiet("openssl version >/dev/null 2>&1") != 0) fail_msg("the openssl CLI is missing");
  assert_int_equal(make_cert("local", "localhost", "DNS:localhost,IP:127.0.0.1"), 0);
  assert_int_equal(make_cert("other", "assay.test", "DNS:assay.test"), 0);
  char cert[4096], key[4096], ocert[4096], okey[4096];
  snprintf(cert, sizeof cert, "%s/local.crt", home);
  snprintf(key, sizeof key, "%s/local.key", home);
  snprintf(ocert, sizeof ocert, "%s/other.crt", home);
  snprintf(okey, sizeof okey, "%s/other.key", home);

  assay_server_options so = ASSAY_SERVER_OPTIONS_INIT;
  so.listen = "127.0.0.1:0";
  so.tls_cert = cert;
  so.tls_key = key;
  assay_server *tls = NULL, *tls_other = NULL;
  assert_int_equal(assay_server_start(&tls, platform, &so), 0);
  so.tls_cert = ocert;
  so.tls_key = okey;
  assert_int_equal(assay_server_start(&tls_other, platform, &so), 0);

  char u[80], u_noscheme[80], u_other[80];
  snprintf(u, sizeof u, "https://127.0.0.1:%d", assay_server_port(tls));
  snprintf(u_noscheme, sizeof u_noscheme, "localhost:%d", assay_server_port(tls));
  snprintf(u_other, sizeof u_other, "https://127.0.0.1:%d", assay_server_port(tls_other));

  assay_client_options o = ASSAY_CLIENT_OPTIONS_INIT;
  assay_client *c = NULL;
  assay_value *v = NULL;

  /* Trusted CA: works, by IP and by name without a scheme (https default). */
  o.domain = u;
  o.api_key = admin_token;
  o.ssl_ca_cert = cert;
  assert_int_equal(assay_client_new(&c, &o), 0);
  assert_int_equal(assay_client_list_projects(&v, c), 0);
  assay_value_free(v);
  v = NULL;
  assay_client_free(c);
  o.domain = u_noscheme;
  assert_int_equal(assay_client_new(&c, &o), 0);
  assert_int_equal(assay_client_list_projects(&v, c), 0);
  assay_value_free(v);
  v = NULL;
  assay_client_free(c);

  /* No CA: the self-signed certificate is refused. */
  o.domain = u;
  o.api_key = SECRET_KEY;
  o.ssl_ca_cert = NULL;
  assert_int_equal(assay_client_new(&c, &o), 0);
  expect_error(assay_client_list_projects(&v, c), ASSAY_ERR_TRANSPORT, -1);
  assay_client_free(c);

  /* A certificate for another name: refused, unless assert_hostname names it. */
  o.domain = u_other;
  o.ssl_ca_cert = ocert;
  assert_int_equal(assay_client_new(&c, &o), 0);
  expect_error(assay_client_list_projects(&v, c), ASSAY_ERR_TRANSPORT, -1);
  assay_client_free(c);
  o.assert_hostname = "assay.test";
  o.api_key = admin_token;
  assert_int_equal(assay_client_new(&c, &o), 0);
  assert_int_equal(assay_client_list_projects(&v, c), 0);
  assay_value_free(v);
  v = NULL;
  assay_client_free(c);
  o.assert_hostname = "wrong.test";
  o.api_key = SECRET_KEY;
  assert_int_equal(assay_client_new(&c, &o), 0);
  expect_error(assay_client_list_projects(&v, c), ASSAY_ERR_TRANSPORT, -1);
  assay_client_free(c);

  /* A missing CA file is a config error, not a transport one. */
  o.assert_hostname = NULL;
  o.ssl_ca_cert = "/nonexistent/ca.pem";
  expect_error(assay_client_new(&c, &o), ASSAY_ERR_CONFIG, -1);

  assay_server_stop(tls_other);
  assay_server_stop(tls);
}

static void test_server_options_errors(void **state) {
  const char *bad[] = {"127.0.0.1", "127.0.0.1:99999", "127.0.0.1:x", "[::1:80", "", NULL};
  for (int i = 0; bad[i]; i++) {
    if (!*bad[i]) continue; /* "" means the default address */
    assay_server_options so = ASSAY_SERVER_OPTIONS_INIT;
    so.listen = bad[i];
    assay_server *s = NULL;
    expect_error(assay_server_start(&s, platform, &so), ASSAY_ERR_CONFIG, -1);
    assert_null(s);
  }
  /* A port already taken. */
  char taken[64];
  snprintf(taken, sizeof taken, "127.0.0.1:%d", assay_server_port(server));
  assay_server_options so = ASSAY_SERVER_OPTIONS_INIT;
  so.listen = taken;
  assay_server *s = NULL;
  assert_true(assay_server_start(&s, platform, &so) < 0);
  assert_null(s);
  /* TLS needs both files. */
  so.listen = "127.0.0.1:0";
  so.tls_cert = "/nonexistent.crt";
  expect_error(assay_server_start(&s, platform, &so), ASSAY_ERR_CONFIG, -1);
  assay_server_stop(NULL);
}

static void test_ipv6_loopback(void **state) {
  assay_server_options so = ASSAY_SERVER_OPTIONS_INIT;
  so.listen = "[::1]:0";
  assay_server *s = NULL;
  if (assay_server_start(&s, platform, &so) != 0) skip(); /* no IPv6 here */
  char u[64];
  snprintf(u, sizeof u, "http://[::1]:%d", assay_server_port(s));
  assay_client *c = client_for(u, admin_token, 0);
  assay_value *v = NULL;
  assert_int_equal(assay_client_list_projects(&v, c), 0);
  assay_value_free(v);
  assay_client_free(c);
  assay_server_stop(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_server_port),
      cmocka_unit_test(test_project_round_trip),
      cmocka_unit_test(test_health_and_platform),
      cmocka_unit_test(test_auth_errors),
      cmocka_unit_test(test_token_created_over_http_works),
      cmocka_unit_test(test_bad_requests),
      cmocka_unit_test(test_body_limit),
      cmocka_unit_test(test_concurrent_clients),
      cmocka_unit_test(test_connection_refused),
      cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_retry_then_success),
      cmocka_unit_test(test_retry_gives_up),
      cmocka_unit_test(test_retry_after),
      cmocka_unit_test(test_no_retry_on_400),
      cmocka_unit_test(test_retry_statuses),
      cmocka_unit_test(test_deadline_covers_retries),
      cmocka_unit_test(test_request_line_and_credentials),
      cmocka_unit_test(test_body_limit_above_default),
      cmocka_unit_test(test_anonymous_body_refused_first),
      cmocka_unit_test(test_bad_domains),
      cmocka_unit_test(test_domain_forms),
      cmocka_unit_test(test_tls),
      cmocka_unit_test(test_server_options_errors),
      cmocka_unit_test(test_ipv6_loopback),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
