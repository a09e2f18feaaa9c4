/* transport_http.c — the HTTP(S) transport: one libcurl easy handle per
 * client, guarded by a mutex, that sends a request to assayd and reads back
 * the status and JSON body.
 *
 * channel_timeout bounds each whole request, retries included; 429 and 503
 * are retried with exponential backoff (honouring Retry-After), and so are
 * 500/502/504 for methods safe to repeat; nothing else is retried. The
 * TLS options of the client (CA bundle, client certificate, asserted host
 * name) are wired into curl. Uploads (PUT /v1/files) stream a file as the
 * raw body through curl's read callback, rewound through its seek callback
 * for a retry; for them channel_timeout is a stall limit (curl's low-speed
 * limit), not a bound on the whole transfer. The API key only ever travels in the
 * Authorization header: it is never part of a URL, an error message or a
 * log line. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "client/transport.h"
#include "internal.h"

#define HTTP_DEFAULT_TIMEOUT_S 180.0
#define HTTP_MAX_CONNECT_TIMEOUT_MS 10000L
#define HTTP_FIRST_BACKOFF_MS 250L
#define HTTP_MAX_BACKOFF_MS 8000L
#define HTTP_MAX_RETRY_AFTER_MS 10000L
/* An answer larger than this is refused rather than buffered. */
#define HTTP_MAX_RESPONSE_BYTES ((size_t)1 << 30)

typedef struct http_transport {
  transport base;
  pthread_mutex_t lock;
  CURL *curl;
  char *base_url;     /* what requests are sent to (asserted host name)    */
  char *shown_base;   /* what error messages show (the domain as given)    */
  struct curl_slist *headers;
  struct curl_slist *upload_headers; /* the same with a raw body's type */
  struct curl_slist *connect_to;
  long timeout_ms;
  double timeout_s;
  char timeout_text[32]; /* "2.0", "0.25": as error messages show it */
  int max_retries;
  char errbuf[CURL_ERROR_SIZE];
} http_transport;

/* The answer being read. */
typedef struct http_buffer {
  char *data;
  size_t len, cap;
  int too_large;
  int nomem;
} http_buffer;

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  http_buffer *b = userdata;
  size_t n = size * nmemb;
  if (n == 0) return 0;
  if (b->len + n + 1 > HTTP_MAX_RESPONSE_BYTES) {
    b->too_large = 1;
    return 0; /* makes curl fail with CURLE_WRITE_ERROR */
  }
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
      b->nomem = 1;
      return 0;
    }
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, ptr, n);
  b->len += n;
  b->data[b->len] = '\0';
  return n;
}

/* 429 and 503 mean the request was not processed: any method may retry.
 * 500/502/504 may come after the server acted, so only methods that are
 * safe to repeat retry on them (a repeated POST could create twice). */
static int is_retryable(long status, const char *method) {
  if (status == 429 || status == 503) return 1;
  if (status != 500 && status != 502 && status != 504) return 0;
  return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
         strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0 ||
         strcmp(method, "OPTIONS") == 0;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Milliseconds to wait before retry number `attempt` (0-based). */
static long backoff_ms(CURL *curl, int attempt) {
  long ms = HTTP_FIRST_BACKOFF_MS;
  for (int i = 0; i < attempt && ms < HTTP_MAX_BACKOFF_MS; i++) ms *= 2;
  if (ms > HTTP_MAX_BACKOFF_MS) ms = HTTP_MAX_BACKOFF_MS;
#if LIBCURL_VERSION_NUM >= 0x074200
  curl_off_t retry_after = 0;
  if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
      retry_after > 0) {
    ms = retry_after >= HTTP_MAX_RETRY_AFTER_MS / 1000 ? HTTP_MAX_RETRY_AFTER_MS
                                                       : (long)retry_after * 1000L;
  }
#endif
  return ms;
}

/* Set the method and body of the next request on the easy handle. */
static void set_method(CURL *curl, const char *method, const char *body, size_t body_len) {
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, NULL);
  curl_easy_setopt(curl, CURLOPT_NOBODY, 0L);
  if (strcmp(method, "GET") == 0 && !body) {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    return;
  }
  if (strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    return;
  }
  /* POST mechanics send the body from memory; the verb is overridden for
   * anything but POST. */
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body ? body : "");
  if (strcmp(method, "POST") != 0) curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
}

/* The file an upload reads from (pread: the descriptor's offset is left). */
typedef struct upload_src {
  int fd;
  int64_t size, off;
  int err;    /* errno of a failed read */
  int shrunk; /* the file ended before size bytes */
} upload_src;

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata) {
  upload_src *u = userdata;
  size_t want = size * nitems;
  int64_t left = u->size - u->off;
  if (left <= 0) return 0;
  if ((int64_t)want > left) want = (size_t)left;
  for (;;) {
    ssize_t n = pread(u->fd, buf, want, (off_t)u->off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) u->err = errno;
    if (n == 0) u->shrunk = 1;
    if (n <= 0) return CURL_READFUNC_ABORT;
    u->off += n;
    return (size_t)n;
  }
}

/* curl rewinds the body this way when it must send it again. */
static int on_seek(void *userdata, curl_off_t offset, int origin) {
  upload_src *u = userdata;
  if (origin != SEEK_SET || offset < 0 || offset > u->size) return CURL_SEEKFUNC_FAIL;
  u->off = offset;
  return CURL_SEEKFUNC_OK;
}

/* What an upload may retry on: answers that say the request was not
 * processed (a repeated upload of several GB after a 500 would only fail
 * again). */
static int upload_retryable(long status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

/* Turn a finished exchange into *status / *resp: a JSON body is parsed;
 * an empty one, or one that is not JSON (a proxy's HTML page, ...), gives
 * NULL and the client decodes the status alone. */
static void decode_answer(long status, http_buffer *buf, int *out_status, json_t **resp) {
  *out_status = (int)status;
  *resp = buf->len ? json_loadb(buf->data, buf->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL)
                   : NULL;
}

/* One exchange: a request with a JSON body (up == NULL), or an upload. */
static int http_exchange(http_transport *h, const char *method, const char *path,
                         const char *body, size_t body_len, upload_src *up, int *status,
                         json_t **resp) {
  *resp = NULL;
  *status = 0;
  if (!method || !*method || !path || path[0] != '/')
    return assay__err(ASSAY_ERR_CONFIG, "a request needs a method and a path starting with '/'");

  size_t url_len = strlen(h->base_url) + strlen(path) + 1;
  char *url = malloc(url_len);
  if (!url) return assay__nomem();
  snprintf(url, url_len, "%s%s", h->base_url, path);

  int rc = ASSAY_OK;
  pthread_mutex_lock(&h->lock);
  CURL *curl = h->curl;
  curl_easy_setopt(curl, CURLOPT_URL, url);
  if (up) {
    /* PUT through curl's upload mechanics: the body comes from on_read. A
     * stall of channel_timeout seconds fails; a long transfer does not. */
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(curl, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(curl, CURLOPT_READDATA, up);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, up);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up->size);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h->upload_headers);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, (long)(h->timeout_s + 0.999));
  } else {
    set_method(curl, method, body, body_len);
  }
  /* channel_timeout bounds the whole request, retries and waits included
   * (an upload: each stall). */
  long deadline = now_ms() + h->timeout_ms;
  for (int attempt = 0;; attempt++) {
    http_buffer buf = {0};
    h->errbuf[0] = '\0';
    long left = deadline - now_ms();
    if (up) {
      up->off = 0; /* each attempt sends the whole file */
      curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 0L);
    } else {
      curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, left > 1 ? left : 1L);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &buf);
    CURLcode cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
      if (up && (up->err || up->shrunk))
        rc = up->err ? assay__err(ASSAY_ERR_CONFIG, "cannot read the file being uploaded: %s",
                                  strerror(up->err))
                     : assay__err(ASSAY_ERR_CONFIG,
                                  "the file being uploaded got shorter while it was read (%lld "
                                  "of %lld bytes); nothing was stored",
                                  (long long)up->off, (long long)up->size);
      else if (up && cc == CURLE_OPERATION_TIMEDOUT)
        rc = assay__err(ASSAY_ERR_TIMEOUT,
                        "upload to %s%s stalled: no progress for %s s (channel_timeout)",
                        h->shown_base, path, h->timeout_text);
      else if (buf.too_large)
        rc = assay__err(ASSAY_ERR_TRANSPORT, "the answer of %s%s is larger than %zu bytes",
                        h->shown_base, path, HTTP_MAX_RESPONSE_BYTES);
      else if (cc == CURLE_OPERATION_TIMEDOUT)
        rc = assay__err(ASSAY_ERR_TIMEOUT, "request to %s%s timed out after %s s (channel_timeout)",
                        h->shown_base, path, h->timeout_text);
      else if (cc == CURLE_OUT_OF_MEMORY || buf.nomem)
        rc = assay__nomem();
      else {
        size_t n = strlen(h->errbuf);
        while (n > 0 && (h->errbuf[n - 1] == ' ' || h->errbuf[n - 1] == '\n'))
          h->errbuf[--n] = '\0';
        rc = assay__err(ASSAY_ERR_TRANSPORT, "request to %s%s failed: %s", h->shown_base, path,
                        n ? h->errbuf : curl_easy_strerror(cc));
      }
      free(buf.data);
      break;
    }
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    if ((up ? upload_retryable(code) : is_retryable(code, method)) &&
        attempt < h->max_retries) {
      long wait = backoff_ms(curl, attempt);
      if (up || now_ms() + wait < deadline) { /* else the last answer stands */
        free(buf.data);
        sleep_ms(wait);
        continue;
      }
    }
    decode_answer(code, &buf, status, resp);
    free(buf.data);
    break;
  }
  /* Do not keep pointers to our buffers in the handle between requests. */
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, NULL);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
  if (up) { /* back to plain requests */
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 0L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, NULL);
    curl_easy_setopt(curl, CURLOPT_READDATA, NULL);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, NULL);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, NULL);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)-1);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 0L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 0L);
  }
  pthread_mutex_unlock(&h->lock);
  free(url);
  return rc;
}

static int http_request(transport *t, const char *method, const char *path, const char *body,
                        size_t body_len, int *status, json_t **resp) {
  return http_exchange((http_transport *)t, method, path, body, body_len, NULL, status, resp);
}

static int http_upload(transport *t, const char *path, int fd, int64_t size, int *status,
                       json_t **resp) {
  upload_src up = {fd, size, 0, 0, 0};
  return http_exchange((http_transport *)t, "PUT", path, NULL, 0, &up, status, resp);
}

static void http_free(transport *t) {
  http_transport *h = (http_transport *)t;
  if (!h) return;
  if (h->curl) curl_easy_cleanup(h->curl);
  curl_slist_free_all(h->headers);
  curl_slist_free_all(h->upload_headers);
  curl_slist_free_all(h->connect_to);
  free(h->base_url);
  free(h->shown_base);
  pthread_mutex_destroy(&h->lock);
  free(h);
}

static const transport_ops http_ops = {http_request, http_upload, http_free};

static void strip_trailing_slashes(char *s) {
  size_t n = strlen(s);
  while (n > 0 && s[n - 1] == '/') s[--n] = '\0';
}

/* Build the base URL from the domain: scheme added when missing, trailing
 * slashes removed. */
static int make_base(char **out, const char *domain, int disable_tls) {
  const char *scheme = "";
  const char *sep = strstr(domain, "://");
  /* Credentials in the URL ("user:secret@host") would travel into every
   * error message: refuse them, without echoing the domain. */
  const char *host = sep ? sep + 3 : domain;
  size_t authority = strcspn(host, "/?#");
  if (memchr(host, '@', authority))
    return assay__err(ASSAY_ERR_CONFIG,
                      "domain must not carry credentials (user:password@); pass the API "
                      "token as api_key");
  if (sep) {
    size_t n = (size_t)(sep - domain);
    if (!((n == 4 && strncasecmp(domain, "http", 4) == 0) ||
          (n == 5 && strncasecmp(domain, "https", 5) == 0)))
      return assay__err(ASSAY_ERR_CONFIG,
                        "domain '%s': only http:// and https:// are supported", domain);
    if (sep[3] == '\0' || sep[3] == '/')
      return assay__err(ASSAY_ERR_CONFIG, "domain '%s' has no host", domain);
  } else {
    scheme = disable_tls ? "http://" : "https://";
    if (domain[0] == '/' || domain[0] == ':')
      return assay__err(ASSAY_ERR_CONFIG, "domain '%s' has no host", domain);
  }
  size_t len = strlen(scheme) + strlen(domain) + 1;
  char *s = malloc(len);
  if (!s) return assay__nomem();
  snprintf(s, len, "%s%s", scheme, domain);
  strip_trailing_slashes(s);
  *out = s;
  return ASSAY_OK;
}

/* For assert_hostname: the URL with its host replaced by `name`, and a
 * CURLOPT_CONNECT_TO entry that sends connections for that name to the
 * real host and port. */
static int assert_host(http_transport *h, const char *name) {
  int rc = ASSAY_OK;
  char *host = NULL, *port = NULL, *url = NULL;
  CURLU *u = curl_url();
  if (!u) return assay__nomem();
  if (curl_url_set(u, CURLUPART_URL, h->base_url, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
    rc = assay__err(ASSAY_ERR_CONFIG, "domain '%s' is not a valid URL", h->shown_base);
    goto done;
  }
  if (curl_url_set(u, CURLUPART_HOST, name, 0) != CURLUE_OK ||
      curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
    rc = assay__err(ASSAY_ERR_CONFIG, "assert_hostname '%s' is not a valid host name", name);
    goto done;
  }
  char entry[1024];
  int n = snprintf(entry, sizeof entry, "%s:%s:%s:%s", name, port, host, port);
  if (n < 0 || (size_t)n >= sizeof entry) {
    rc = assay__err(ASSAY_ERR_CONFIG, "assert_hostname '%s' is too long", name);
    goto done;
  }
  struct curl_slist *l = curl_slist_append(NULL, entry);
  char *base = strdup(url);
  if (!l || !base) {
    curl_slist_free_all(l);
    free(base);
    rc = assay__nomem();
    goto done;
  }
  strip_trailing_slashes(base);
  free(h->base_url);
  h->base_url = base;
  h->connect_to = l;
done:
  curl_free(host);
  curl_free(port);
  curl_free(url);
  curl_url_cleanup(u);
  return rc;
}

/* The headers of every request: content type, the answer's type, the
 * bearer token (only ever copied into this list). A JSON request goes
 * without the 100-continue round trip; an upload keeps curl's Expect
 * header, so that a refused upload (bad name, role) is answered before its
 * body is sent. */
static int make_headers(struct curl_slist **out, const char *key, const char *content_type) {
  char ctype[80];
  snprintf(ctype, sizeof ctype, "Content-Type: %s", content_type);
  struct curl_slist *l = curl_slist_append(NULL, ctype);
  if (l) l = curl_slist_append(l, "Accept: application/json");
  if (l && strcmp(content_type, "application/json") == 0)
    l = curl_slist_append(l, "Expect:"); /* no 100-continue round trip */
  if (l && *key) {
    size_t n = strlen(key) + sizeof "Authorization: Bearer ";
    char *hdr = malloc(n);
    if (!hdr) {
      curl_slist_free_all(l);
      return assay__nomem();
    }
    snprintf(hdr, n, "Authorization: Bearer %s", key);
    struct curl_slist *l2 = curl_slist_append(l, hdr);
    memset(hdr, 0, n);
    free(hdr);
    if (!l2) curl_slist_free_all(l);
    l = l2;
  }
  if (!l) return assay__nomem();
  *out = l;
  return ASSAY_OK;
}

static int configure(http_transport *h, const assay_client_options *opts) {
  CURL *c = h->curl;
  int rc;
  /* The files were checked with the other options in client.c. */
  if (opts->assert_hostname && *opts->assert_hostname &&
      (rc = assert_host(h, opts->assert_hostname)) < 0)
    return rc;

  /* Headers. The key is only ever copied into this list. */
  const char *key = opts->api_key ? opts->api_key : "";
  if (strpbrk(key, "\r\n"))
    return assay__err(ASSAY_ERR_CONFIG, "api_key must not contain line breaks");
  int rc_h = make_headers(&h->headers, key, "application/json");
  if (!rc_h) rc_h = make_headers(&h->upload_headers, key, "application/octet-stream");
  if (rc_h) return rc_h;

  double t = opts->channel_timeout > 0 ? opts->channel_timeout : HTTP_DEFAULT_TIMEOUT_S;
  h->timeout_s = t;
  snprintf(h->timeout_text, sizeof h->timeout_text,
           t * 10 == (double)(long long)(t * 10) ? "%.1f" : "%g", t);
  h->timeout_ms = (long)(t * 1000.0 + 0.5);
  if (h->timeout_ms < 1) h->timeout_ms = 1;
  long connect_ms = h->timeout_ms < HTTP_MAX_CONNECT_TIMEOUT_MS ? h->timeout_ms
                                                                : HTTP_MAX_CONNECT_TIMEOUT_MS;
  h->max_retries = opts->max_retries < 0 ? 0 : opts->max_retries;

  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "assay/" ASSAY_VERSION);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, opts->skip_hostname_check ? 0L : 2L);
  if (opts->ssl_ca_cert && *opts->ssl_ca_cert)
    curl_easy_setopt(c, CURLOPT_CAINFO, opts->ssl_ca_cert);
  if (opts->cert_file && *opts->cert_file) curl_easy_setopt(c, CURLOPT_SSLCERT, opts->cert_file);
  if (opts->key_file && *opts->key_file) curl_easy_setopt(c, CURLOPT_SSLKEY, opts->key_file);
  if (h->connect_to) curl_easy_setopt(c, CURLOPT_CONNECT_TO, h->connect_to);
  return ASSAY_OK;
}

int transport_http_new(transport **out, const assay_client_options *opts) {
  *out = NULL;
  if (!opts || !opts->domain || !*opts->domain)
    return assay__err(ASSAY_ERR_CONFIG, "an HTTP client needs a domain (\"http://host:port\")");
  http_transport *h = calloc(1, sizeof *h);
  if (!h) return assay__nomem();
  h->base.ops = &http_ops;
  pthread_mutex_init(&h->lock, NULL);
  int rc = make_base(&h->base_url, opts->domain, opts->disable_tls);
  if (rc == ASSAY_OK) {
    h->shown_base = strdup(h->base_url);
    h->curl = curl_easy_init();
    if (!h->shown_base || !h->curl) rc = assay__nomem();
  }
  if (rc == ASSAY_OK) rc = configure(h, opts);
  if (rc < 0) {
    http_free(&h->base);
    return rc;
  }
  *out = &h->base;
  return ASSAY_OK;
}
