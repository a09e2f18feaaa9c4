/* runner/redact.c — replacing secret values, and the encoded forms a
 * loader may print them in, with "[REDACTED]" in text and in byte streams
 * that arrive in pieces (see runner/runner.h). */
#include <sodium.h>
#include <stdint.h>
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
  pattern *pats;          /* by first byte, then longest first; no duplicates */
  size_t npats;
  size_t maxlen;          /* longest pattern, 0 when none */
  /* the patterns starting with byte c: pats[bucket[c] - 1 .. bucket_end[c]),
   * none when bucket[c] is 0 */
  uint32_t bucket[256], bucket_end[256];
};

struct redact_stream {
  const redactor *r;
  char *held;             /* raw bytes not settled yet (+ the new ones) */
  size_t held_len, held_cap;
  size_t cover;           /* the first `cover` held bytes lie in a region
                             whose marker is already out */
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
  return 0;
}

/* The value as jansson and Python's json.dumps write it, without the
 * quotes: jansson writes \u escapes with upper-case hex, json.dumps with
 * lower-case, so both. */
static int add_json_form(redactor *r, size_t *cap, const char *value, size_t len, size_t flags) {
  json_t *s = json_stringn(value, len);
  if (!s) return 0; /* not UTF-8: it has no JSON form */
  char *text = json_dumps(s, flags | JSON_ENCODE_ANY);
  json_decref(s);
  if (!text) return -1;
  size_t tl = strlen(text);
  int rc = tl >= 2 ? add_pattern(r, cap, text + 1, tl - 2) : 0;
  for (size_t i = 0; i + 1 < tl; i++) {
    if (text[i] != '\\') continue;
    if (text[i + 1] == 'u')
      for (size_t k = i + 2; k < i + 6 && k < tl; k++)
        if (text[k] >= 'A' && text[k] <= 'F') text[k] = (char)(text[k] - 'A' + 'a');
    i++; /* the escaped character */
  }
  if (!rc && tl >= 2) rc = add_pattern(r, cap, text + 1, tl - 2);
  sodium_memzero(text, tl);
  free(text);
  return rc;
}

/* The value as Python's repr() shows it between its quotes: backslash,
 * \n \r \t, other control characters as \xNN, and ' escaped when the value
 * holds both kinds of quotes. `bytes`: as repr(value.encode()) shows it
 * between b' and ' — the same, and every byte >= 0x80 as \xNN too. */
static int add_repr_form(redactor *r, size_t *cap, const char *value, size_t len, int bytes) {
  static const char hex[] = "0123456789abcdef";
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
    else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80))
      buf[n++] = '\\', buf[n++] = 'x', buf[n++] = hex[c >> 4], buf[n++] = hex[c & 15];
    else if (c == '\'' && squote && dquote) buf[n++] = '\\', buf[n++] = '\'';
    else buf[n++] = (char)c;
  }
  int rc = add_pattern(r, cap, buf, n);
  sodium_memzero(buf, len * 4 + 1);
  free(buf);
  return rc;
}

/* The value percent-encoded as urllib.parse.quote / quote_plus write it:
 * letters, digits and _.-~ as they are, every other byte of the UTF-8 as
 * %XX (upper-case hex); '/' as it is (`slash_safe`, quote's default) or
 * %2F, a space as %20 or '+' (`plus`, quote_plus). */
static int add_percent_form(redactor *r, size_t *cap, const char *value, size_t len,
                            int slash_safe, int plus) {
  static const char hex[] = "0123456789ABCDEF";
  char *buf = malloc(len * 3 + 1);
  if (!buf) return -1;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)value[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        c == '_' || c == '.' || c == '-' || c == '~' || (c == '/' && slash_safe))
      buf[n++] = (char)c;
    else if (c == ' ' && plus)
      buf[n++] = '+';
    else
      buf[n++] = '%', buf[n++] = hex[c >> 4], buf[n++] = hex[c & 15];
  }
  int rc = add_pattern(r, cap, buf, n);
  sodium_memzero(buf, len * 3 + 1);
  free(buf);
  return rc;
}

/* The value's bytes in hex, lower- or upper-case. */
static int add_hex_form(redactor *r, size_t *cap, const char *value, size_t len, int upper) {
  const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char *buf = malloc(len * 2 + 1);
  if (!buf) return -1;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)value[i];
    buf[2 * i] = hex[c >> 4];
    buf[2 * i + 1] = hex[c & 15];
  }
  int rc = add_pattern(r, cap, buf, len * 2);
  sodium_memzero(buf, len * 2 + 1);
  free(buf);
  return rc;
}

/* Base64 of any buffer holding the value contains one of three texts, one
 * for each offset of the value modulo 3 in that buffer: the characters
 * whose 6 bits all come from the value (a character at an edge also holds
 * bits of the neighbours, which can be anything, so it is left out).
 * `alphabet`: the standard one or the URL-safe one. */
static int add_base64_forms(redactor *r, size_t *cap, const char *value, size_t len,
                            const char *alphabet) {
  size_t size = len + 5, nbits_max = size * 8;
  unsigned char *buf = malloc(size);
  char *text = malloc(nbits_max / 6 + 1);
  int rc = buf && text ? 0 : -1;
  for (size_t a = 0; !rc && a < 3; a++) {
    memset(buf, 0, size);
    memcpy(buf + a, value, len);
    /* characters j with 6j >= 8a and 6j + 6 <= 8(a + len) */
    size_t first = (8 * a + 5) / 6, end = (8 * (a + len)) / 6, n = 0;
    for (size_t j = first; j < end; j++) {
      size_t bit = 6 * j, byte = bit / 8, shift = bit % 8;
      unsigned v = ((unsigned)buf[byte] << 8 | buf[byte + 1]) >> (10 - shift) & 63;
      text[n++] = alphabet[v];
    }
    rc = add_pattern(r, cap, text, n);
  }
  if (buf) sodium_memzero(buf, size);
  if (text) sodium_memzero(text, nbits_max / 6 + 1);
  free(buf);
  free(text);
  return rc;
}

static const char B64_STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64_URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Every form of one secret value. */
static int add_forms(redactor *r, size_t *cap, const char *v, size_t len) {
  int rc = add_pattern(r, cap, v, len);
  if (!rc) rc = add_json_form(r, cap, v, len, 0);
  if (!rc) rc = add_json_form(r, cap, v, len, JSON_ENSURE_ASCII);
  if (!rc) rc = add_repr_form(r, cap, v, len, 0);
  if (!rc) rc = add_repr_form(r, cap, v, len, 1);
  for (int k = 0; !rc && k < 4; k++) rc = add_percent_form(r, cap, v, len, k & 1, k >> 1);
  if (!rc) rc = add_base64_forms(r, cap, v, len, B64_STD);
  if (!rc) rc = add_base64_forms(r, cap, v, len, B64_URL);
  if (!rc) rc = add_hex_form(r, cap, v, len, 0);
  if (!rc) rc = add_hex_form(r, cap, v, len, 1);
  return rc;
}

/* By first byte, then longest first. */
static int by_first_then_length(const void *a, const void *b) {
  const pattern *x = a, *y = b;
  unsigned char fx = (unsigned char)x->text[0], fy = (unsigned char)y->text[0];
  if (fx != fy) return fx < fy ? -1 : 1;
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
      if (add_forms(r, &cap, v, len) != 0) {
        redactor_free(r);
        return assay__nomem();
      }
    }
  }
  if (r->npats) qsort(r->pats, r->npats, sizeof *r->pats, by_first_then_length);
  for (size_t i = r->npats; i-- > 0;) {
    unsigned char c = (unsigned char)r->pats[i].text[0];
    r->bucket[c] = (uint32_t)i + 1;
    if (!r->bucket_end[c]) r->bucket_end[c] = (uint32_t)i + 1;
  }
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

/* Redact p[0..n) into out. The text matched anywhere by any pattern is
 * replaced, and matches that overlap are one region with one marker: at
 * each position the longest pattern that matches there extends the
 * current region (or starts a new one, with its marker, once the last one
 * has ended). *cover: on entry, how many bytes at p's start lie in a
 * region whose marker is already out; on return, the same for the bytes
 * held back. Unless `final`, stop at the first position where the bytes
 * left are the start of a pattern that more bytes could complete and that
 * would reach past the current region (a shorter pattern matching there
 * waits too: the longer one wins). Returns where it stopped: the bytes
 * from there on are held back. */
static size_t scan(const redactor *r, const char *p, size_t n, int final, size_t *cover,
                   char **out, size_t *out_len, size_t *out_cap, int *oom) {
  size_t i = 0, end = *cover, lit = end; /* region [.., end); literal text [lit, i) */
  while (i < n) {
    unsigned char c = (unsigned char)p[i];
    if (r && r->bucket[c]) {
      size_t best = 0, left = n - i;
      int wait = 0;
      for (size_t k = r->bucket[c] - 1; k < r->bucket_end[c]; k++) {
        const pattern *pt = &r->pats[k];
        if (i + pt->len <= end) break; /* this one and the shorter ones stay inside */
        if (pt->len > left) {
          if (!final && memcmp(p + i, pt->text, left) == 0) {
            wait = 1;
            break;
          }
        } else if (memcmp(p + i, pt->text, pt->len) == 0) {
          best = pt->len;
          break; /* longest first: no longer one can still match here */
        }
      }
      if (wait) break;
      if (best) {
        if (i >= end) { /* a new region */
          if (append(out, out_len, out_cap, p + lit, i - lit) != 0 ||
              append(out, out_len, out_cap, REDACTED, REDACTED_LEN) != 0)
            *oom = 1;
        }
        end = i + best;
        lit = end;
      }
    }
    i++;
  }
  if (i > lit && append(out, out_len, out_cap, p + lit, i - lit) != 0) *oom = 1;
  *cover = end > i ? end - i : 0;
  return i;
}

char *redact_text(const redactor *r, const char *text, size_t len) {
  char *out = NULL;
  size_t out_len = 0, out_cap = 0, cover = 0;
  int oom = 0;
  if (grow(&out, &out_cap, 0, len + 1, 0) != 0) return NULL;
  scan(r && r->npats ? r : NULL, text, len, 1, &cover, &out, &out_len, &out_cap, &oom);
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
  size_t stop =
      scan(s->r, s->held, n, final, &s->cover, &s->out, &s->out_len, &s->out_cap, &oom);
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
