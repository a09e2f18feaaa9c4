/* runner/redact.c — replacing secret values with "[REDACTED]" in text and
 * in byte streams that arrive in pieces (see runner/runner.h). */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "runner/runner.h"

#define REDACTED "[REDACTED]"
#define REDACTED_LEN (sizeof REDACTED - 1)

typedef struct pattern {
  char *text;
  size_t len;
} pattern;

struct redactor {
  pattern *pats;          /* longest first, no duplicates */
  size_t npats;
  size_t maxlen;          /* longest pattern, 0 when none */
  unsigned char first[256]; /* 1 when some pattern starts with the byte */
};

struct redact_stream {
  const redactor *r;
  char *held;             /* raw bytes not settled yet (+ the new ones) */
  size_t held_len, held_cap;
  char *out;              /* redacted bytes of the last call */
  size_t out_len, out_cap;
};

/* --- growable buffers ------------------------------------------------------ */

/* Make room for `more` bytes after *len in *buf (capacity *cap). Old
 * contents are wiped when moved: they may hold secret bytes. */
static int grow(char **buf, size_t *cap, size_t len, size_t more, int wipe) {
  if (len + more <= *cap) return 0;
  size_t ncap = *cap ? *cap : 256;
  while (ncap < len + more) ncap *= 2;
  char *n = malloc(ncap);
  if (!n) return -1;
  if (*buf) {
    memcpy(n, *buf, len);
    if (wipe) sodium_memzero(*buf, *cap);
    free(*buf);
  }
  *buf = n;
  *cap = ncap;
  return 0;
}

static int append(char **buf, size_t *len, size_t *cap, const char *data, size_t n) {
  if (!n) return 0;
  if (grow(buf, cap, *len, n, 0) != 0) return -1;
  memcpy(*buf + *len, data, n);
  *len += n;
  return 0;
}

/* --- the patterns ------------------------------------------------------------ */

static int add_pattern(redactor *r, size_t *cap, const char *text, size_t len) {
  if (!len) return 0;
  for (size_t i = 0; i < r->npats; i++)
    if (r->pats[i].len == len && memcmp(r->pats[i].text, text, len) == 0) return 0;
  if (r->npats == *cap) {
    size_t ncap = *cap ? *cap * 2 : 8;
    pattern *n = realloc(r->pats, ncap * sizeof *n);
    if (!n) return -1;
    r->pats = n;
    *cap = ncap;
  }
  char *copy = malloc(len);
  if (!copy) return -1;
  memcpy(copy, text, len);
  r->pats[r->npats].text = copy;
  r->pats[r->npats].len = len;
  r->npats++;
  if (len > r->maxlen) r->maxlen = len;
  r->first[(unsigned char)text[0]] = 1;
  return 0;
}

/* The value as json.dumps / jansson write it, without the quotes. */
static int add_json_form(redactor *r, size_t *cap, const char *value, size_t len, size_t flags) {
  json_t *s = json_stringn(value, len);
  if (!s) return 0; /* not UTF-8: it has no JSON form */
  char *text = json_dumps(s, flags | JSON_ENCODE_ANY);
  json_decref(s);
  if (!text) return -1;
  size_t tl = strlen(text);
  int rc = tl >= 2 ? add_pattern(r, cap, text + 1, tl - 2) : 0;
  sodium_memzero(text, tl);
  free(text);
  return rc;
}

/* The value as Python's repr() shows it between its quotes: backslash,
 * \n \r \t, other control characters as \xNN, and ' escaped when the value
 * holds both kinds of quotes. */
static int add_repr_form(redactor *r, size_t *cap, const char *value, size_t len) {
  int squote = memchr(value, '\'', len) != NULL, dquote = memchr(value, '"', len) != NULL;
  char *buf = malloc(len * 4 + 1);
  if (!buf) return -1;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)value[i];
    if (c == '\\') buf[n++] = '\\', buf[n++] = '\\';
    else if (c == '\n') buf[n++] = '\\', buf[n++] = 'n';
    else if (c == '\r') buf[n++] = '\\', buf[n++] = 'r';
    else if (c == '\t') buf[n++] = '\\', buf[n++] = 't';
    else if (c < 0x20 || c == 0x7f) {
      static const char hex[] = "0123456789abcdef";
      buf[n++] = '\\', buf[n++] = 'x', buf[n++] = hex[c >> 4], buf[n++] = hex[c & 15];
    } else if (c == '\'' && squote && dquote) buf[n++] = '\\', buf[n++] = '\'';
    else buf[n++] = (char)c;
  }
  int rc = add_pattern(r, cap, buf, n);
  sodium_memzero(buf, len * 4 + 1);
  free(buf);
  return rc;
}

static int by_length_desc(const void *a, const void *b) {
  const pattern *x = a, *y = b;
  return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

int redactor_new(redactor **out, const json_t *secrets) {
  *out = NULL;
  redactor *r = calloc(1, sizeof *r);
  if (!r) return assay__nomem();
  size_t cap = 0;
  const char *key;
  json_t *val;
  if (json_is_object(secrets)) {
    json_object_foreach((json_t *)secrets, key, val) {
      if (!json_is_string(val)) continue;
      const char *v = json_string_value(val);
      size_t len = json_string_length(val);
      if (!len) continue;
      if (add_pattern(r, &cap, v, len) != 0 || add_json_form(r, &cap, v, len, 0) != 0 ||
          add_json_form(r, &cap, v, len, JSON_ENSURE_ASCII) != 0 ||
          add_repr_form(r, &cap, v, len) != 0) {
        redactor_free(r);
        return assay__nomem();
      }
    }
  }
  if (r->npats) qsort(r->pats, r->npats, sizeof *r->pats, by_length_desc);
  *out = r;
  return ASSAY_OK;
}

void redactor_free(redactor *r) {
  if (!r) return;
  for (size_t i = 0; i < r->npats; i++) {
    sodium_memzero(r->pats[i].text, r->pats[i].len);
    free(r->pats[i].text);
  }
  free(r->pats);
  sodium_memzero(r, sizeof *r);
  free(r);
}

/* --- scanning ------------------------------------------------------------------ */

/* Redact p[0..n) into out, leftmost-longest. Unless `final`, stop at the
 * first position where the bytes left are the start of a secret that more
 * bytes could complete (a shorter secret matching there must wait too: the
 * longer one wins). Returns where it stopped: the bytes from there on are
 * held back. */
static size_t scan(const redactor *r, const char *p, size_t n, int final, char **out,
                   size_t *out_len, size_t *out_cap, int *oom) {
  size_t i = 0, lit = 0;
  while (i < n) {
    if (r && r->first[(unsigned char)p[i]]) {
      const pattern *hit = NULL;
      int wait = 0;
      size_t left = n - i;
      for (size_t k = 0; k < r->npats; k++) {
        const pattern *pt = &r->pats[k];
        if (pt->len > left) {
          if (!final && memcmp(p + i, pt->text, left) == 0) {
            wait = 1;
            break;
          }
        } else if (memcmp(p + i, pt->text, pt->len) == 0) {
          hit = pt;
          break; /* longest first: no longer one can still match here */
        }
      }
      if (wait) break;
      if (hit) {
        if (append(out, out_len, out_cap, p + lit, i - lit) != 0 ||
            append(out, out_len, out_cap, REDACTED, REDACTED_LEN) != 0)
          *oom = 1;
        i += hit->len;
        lit = i;
        continue;
      }
    }
    i++;
  }
  if (i > lit && append(out, out_len, out_cap, p + lit, i - lit) != 0) *oom = 1;
  return i;
}

char *redact_text(const redactor *r, const char *text, size_t len) {
  char *out = NULL;
  size_t out_len = 0, out_cap = 0;
  int oom = 0;
  if (grow(&out, &out_cap, 0, len + 1, 0) != 0) return NULL;
  scan(r && r->npats ? r : NULL, text, len, 1, &out, &out_len, &out_cap, &oom);
  if (oom || grow(&out, &out_cap, out_len, 1, 0) != 0) {
    free(out);
    return NULL;
  }
  out[out_len] = '\0';
  return out;
}

/* --- streams ------------------------------------------------------------------- */

int redact_stream_new(redact_stream **out, const redactor *r) {
  *out = calloc(1, sizeof **out);
  if (!*out) return assay__nomem();
  (*out)->r = r && r->npats ? r : NULL;
  return ASSAY_OK;
}

int redact_stream_feed(redact_stream *s, const char *data, size_t len, int final,
                       const char **out, size_t *out_len) {
  s->out_len = 0;
  *out = "";
  *out_len = 0;
  if (!s->r && !s->held_len) { /* nothing to look for: pass the bytes on */
    *out = len ? data : "";
    *out_len = len;
    return ASSAY_OK;
  }
  if (len) {
    if (grow(&s->held, &s->held_cap, s->held_len, len, 1) != 0) return assay__nomem();
    memcpy(s->held + s->held_len, data, len);
    s->held_len += len;
  }
  size_t n = s->held_len;
  int oom = 0;
  size_t stop = scan(s->r, s->held, n, final, &s->out, &s->out_len, &s->out_cap, &oom);
  if (oom) return assay__nomem();
  if (stop) {
    memmove(s->held, s->held + stop, n - stop);
    sodium_memzero(s->held + (n - stop), stop);
  }
  s->held_len = n - stop;
  *out = s->out_len ? s->out : "";
  *out_len = s->out_len;
  return ASSAY_OK;
}

void redact_stream_free(redact_stream *s) {
  if (!s) return;
  if (s->held) sodium_memzero(s->held, s->held_cap);
  free(s->held);
  free(s->out);
  free(s);
}
