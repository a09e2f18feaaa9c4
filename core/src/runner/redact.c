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
  int wrapped;            /* also matches with one "\n" or "\r\n" between
                             any two of its characters (base64 forms, as
                             MIME / base64.encodebytes wrap them) */
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

static int add_pattern_as(redactor *r, size_t *cap, const char *text, size_t len, int wrapped) {
  if (!len) return 0;
  for (size_t i = 0; i < r->npats; i++)
    if (r->pats[i].len == len && memcmp(r->pats[i].text, text, len) == 0) {
      r->pats[i].wrapped |= wrapped;
      return 0;
    }
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
  r->pats[r->npats].wrapped = wrapped;
  r->npats++;
  if (len > r->maxlen) r->maxlen = len;
  return 0;
}

static int add_pattern(redactor *r, size_t *cap, const char *text, size_t len) {
  return add_pattern_as(r, cap, text, len, 0);
}

/* `text` (len bytes) with every '/' written as "\/", as some JSON encoders
 * (PHP's, say) write it; nothing to add when it has no '/'. */
static int add_slash_escaped(redactor *r, size_t *cap, const char *text, size_t len) {
  size_t slashes = 0;
  for (size_t i = 0; i < len; i++) slashes += text[i] == '/';
  if (!slashes) return 0;
  char *buf = malloc(len + slashes);
  if (!buf) return -1;
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if (text[i] == '/') buf[n++] = '\\';
    buf[n++] = text[i];
  }
  int rc = add_pattern(r, cap, buf, n);
  sodium_memzero(buf, n);
  free(buf);
  return rc;
}

/* The value as jansson and Python's json.dumps write it, without the
 * quotes: jansson writes \u escapes with upper-case hex, json.dumps with
 * lower-case, so both; each also with every '/' as "\/". */
static int add_json_form(redactor *r, size_t *cap, const char *value, size_t len, size_t flags) {
  json_t *s = json_stringn(value, len);
  if (!s) return 0; /* not UTF-8: it has no JSON form */
  char *text = json_dumps(s, flags | JSON_ENCODE_ANY);
  json_decref(s);
  if (!text) return -1;
  size_t tl = strlen(text);
  int rc = tl >= 2 ? add_pattern(r, cap, text + 1, tl - 2) : 0;
  if (!rc && tl >= 2) rc = add_slash_escaped(r, cap, text + 1, tl - 2);
  for (size_t i = 0; i + 1 < tl; i++) {
    if (text[i] != '\\') continue;
    if (text[i + 1] == 'u')
      for (size_t k = i + 2; k < i + 6 && k < tl; k++)
        if (text[k] >= 'A' && text[k] <= 'F') text[k] = (char)(text[k] - 'A' + 'a');
    i++; /* the escaped character */
  }
  if (!rc && tl >= 2) rc = add_pattern(r, cap, text + 1, tl - 2);
  if (!rc && tl >= 2) rc = add_slash_escaped(r, cap, text + 1, tl - 2);
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

/* The value as Python's ascii() shows it between its quotes, which is also
 * what s.encode("unicode_escape") gives when the value does not hold both
 * kinds of quotes: the repr() form with every non-ASCII character as \xNN
 * (up to 0xff), \uNNNN or \UNNNNNNNN (lower-case hex). `squote_escape`:
 * ' escaped as repr() and ascii() do when both quotes are in the value
 * (unicode_escape never escapes it). Also that text JSON-escaped (its
 * backslashes doubled: ascii(s) inside json.dumps). Nothing when the value
 * is not valid UTF-8. */
static int add_ascii_form(redactor *r, size_t *cap, const char *value, size_t len,
                          int squote_escape) {
  static const char hex[] = "0123456789abcdef";
  int squote = memchr(value, '\'', len) != NULL, dquote = memchr(value, '"', len) != NULL;
  char *buf = malloc(len * 10 + 1); /* \UNNNNNNNN for 4 bytes at most */
  if (!buf) return -1;
  size_t n = 0, i = 0;
  while (i < len) {
    unsigned char c = (unsigned char)value[i];
    uint32_t cp;
    size_t k;
    if (c < 0x80) cp = c, k = 1;
    else if (c >= 0xc2 && c < 0xe0) cp = c & 0x1f, k = 2;
    else if (c >= 0xe0 && c < 0xf0) cp = c & 0x0f, k = 3;
    else if (c >= 0xf0 && c < 0xf5) cp = c & 0x07, k = 4;
    else break;
    if (i + k > len) break;
    size_t j = 1;
    for (; j < k && ((unsigned char)value[i + j] & 0xc0) == 0x80; j++)
      cp = cp << 6 | ((unsigned char)value[i + j] & 0x3f);
    if (j < k) break;
    i += k;
    if (cp == '\\') buf[n++] = '\\', buf[n++] = '\\';
    else if (cp == '\n') buf[n++] = '\\', buf[n++] = 'n';
    else if (cp == '\r') buf[n++] = '\\', buf[n++] = 'r';
    else if (cp == '\t') buf[n++] = '\\', buf[n++] = 't';
    else if (cp == '\'' && squote && dquote && squote_escape) buf[n++] = '\\', buf[n++] = '\'';
    else if (cp >= 0x20 && cp < 0x7f) buf[n++] = (char)cp;
    else {
      int digits = cp <= 0xff ? 2 : cp <= 0xffff ? 4 : 8;
      buf[n++] = '\\';
      buf[n++] = digits == 2 ? 'x' : digits == 4 ? 'u' : 'U';
      for (int d = digits - 1; d >= 0; d--) buf[n++] = hex[cp >> (4 * d) & 15];
    }
  }
  int rc = 0;
  if (i == len) { /* stopped early: not UTF-8, no such form */
    rc = add_pattern(r, cap, buf, n);
    if (!rc) rc = add_json_form(r, cap, buf, n, 0);
  }
  sodium_memzero(buf, len * 10 + 1);
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
 * `alphabet`: the standard one or the URL-safe one. The texts also match
 * with a line break ("\n" or "\r\n") between any two of their characters,
 * as base64.encodebytes and MIME wrap base64 at 76 characters a line. */
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
    rc = add_pattern_as(r, cap, text, n, 1);
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
  if (!rc) rc = add_ascii_form(r, cap, v, len, 1);
  if (!rc) rc = add_ascii_form(r, cap, v, len, 0);
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

enum { NO_MATCH, MATCH, PARTIAL };

/* Does pt match at p (left bytes there)? MATCH: *span = the bytes it
 * covers; PARTIAL: the bytes run out while they still agree with it. A
 * wrapped pattern may have one "\n" or "\r\n" in the text before any of its
 * characters but the first (its characters are never '\r' or '\n', so
 * the match is unique). */
static int match_at(const pattern *pt, const char *p, size_t left, size_t *span) {
  if (!pt->wrapped) {
    if (pt->len > left) return memcmp(p, pt->text, left) == 0 ? PARTIAL : NO_MATCH;
    if (memcmp(p, pt->text, pt->len) != 0) return NO_MATCH;
    *span = pt->len;
    return MATCH;
  }
  size_t t = 0;
  for (size_t j = 0; j < pt->len; j++) {
    if (j && t < left && p[t] != pt->text[j]) {
      if (p[t] == '\n') t++;
      else if (p[t] == '\r' && (t + 1 == left || p[t + 1] == '\n')) t += t + 1 == left ? 1 : 2;
    }
    if (t >= left) return PARTIAL;
    if (p[t] != pt->text[j]) return NO_MATCH;
    t++;
  }
  *span = t;
  return MATCH;
}

/* Redact p[0..n) into out. The text matched anywhere by any pattern is
 * replaced, and matches that overlap are one region with one marker: at
 * each position the pattern that matches there and reaches farthest
 * extends the current region (or starts a new one, with its marker, once
 * the last one has ended). *cover: on entry, how many bytes at p's start
 * lie in a region whose marker is already out; on return, the same for
 * the bytes held back. Unless `final`, stop at the first position where
 * the bytes left are the start of a pattern that more bytes could
 * complete and that would reach past the current region (a shorter
 * pattern matching there waits too: the longer one wins). Returns where it
 * stopped: the bytes from there on are held back. */
static size_t scan(const redactor *r, const char *p, size_t n, int final, size_t *cover,
                   char **out, size_t *out_len, size_t *out_cap, int *oom) {
  size_t i = 0, end = *cover, lit = end; /* region [.., end); literal text [lit, i) */
  while (i < n) {
    unsigned char c = (unsigned char)p[i];
    if (r && r->bucket[c]) {
      size_t reach = end > i ? end : i, left = n - i; /* reach: farthest match end */
      int wait = 0;
      for (size_t k = r->bucket[c] - 1; k < r->bucket_end[c]; k++) {
        const pattern *pt = &r->pats[k];
        /* inside what is covered already (a wrapped one may reach farther) */
        if (!pt->wrapped && i + pt->len <= reach) continue;
        size_t span = 0;
        int m = match_at(pt, p + i, left, &span);
        if (m == PARTIAL && !final) {
          wait = 1;
          break;
        }
        if (m == MATCH && i + span > reach) reach = i + span;
      }
      if (wait) break;
      if (reach > i && reach > end) {
        if (i >= end) { /* a new region */
          if (append(out, out_len, out_cap, p + lit, i - lit) != 0 ||
              append(out, out_len, out_cap, REDACTED, REDACTED_LEN) != 0)
            *oom = 1;
        }
        end = reach;
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
