/* engine/text.c — the engine's small shared pieces: aligned buffers, the
 * string dictionary builder, UTF-8 validation, and the text forms of values
 * (numbers exactly as strtoll/strtod give them, bools, ISO 8601 timestamps)
 * that the CSV reader/writer and the JSON table builder share. */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine/frame_impl.h"

/* --- buffers ------------------------------------------------------------------- */

void *fx_alloc(size_t n) {
  if (n > SIZE_MAX - (2u << 20)) return NULL;
  void *p = NULL;
  /* round up so a whole number of 64-byte lines is owned (vector loads may
   * read to the end of the last line) */
  size_t size = n ? (n + 63) & ~(size_t)63 : 64;
  if (size >= (8u << 20)) {
    /* large column buffers: huge pages where the system allows them on
     * request (far fewer page faults while they are filled) */
    size = (size + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
    if (posix_memalign(&p, 2u << 20, size) != 0) return NULL;
#if defined(MADV_HUGEPAGE)
    madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
  }
  if (posix_memalign(&p, 64, size) != 0) return NULL;
  return p;
}

void *fx_calloc(size_t n) {
  void *p = fx_alloc(n);
  if (p) memset(p, 0, n ? (n + 63) & ~(size_t)63 : 64);
  return p;
}

size_t fx_width(col_type t) {
  switch (t) {
    case COL_INT64:
    case COL_FLOAT64:
    case COL_TIMESTAMP: return 8;
    case COL_BOOL: return 1;
    case COL_STRING: return 4;
  }
  return 0;
}

void fx_column_clear(column *c) {
  if (!c) return;
  free(c->name);
  for (int i = 0; i < 4; i++) free(c->owned[i]);
  memset(c, 0, sizeof *c);
}

/* --- the string dictionary ------------------------------------------------------ */

int strdict_init(strdict *d) {
  memset(d, 0, sizeof *d);
  d->cap = 4096;
  d->ocap = 256;
  d->mask = 1023;
  d->data = malloc(d->cap);
  d->offsets = malloc(d->ocap * sizeof *d->offsets);
  d->hashes = malloc(d->ocap * sizeof *d->hashes);
  d->slots = calloc(d->mask + 1, sizeof *d->slots);
  if (!d->data || !d->offsets || !d->hashes || !d->slots) {
    strdict_free(d);
    return -1;
  }
  d->offsets[0] = 0;
  return 0;
}

void strdict_free(strdict *d) {
  free(d->data);
  free(d->offsets);
  free(d->hashes);
  free(d->slots);
  memset(d, 0, sizeof *d);
}

/* Re-place the entries in a table of nmask + 1 slots. */
static int strdict_rehash(strdict *d, size_t nmask) {
  uint64_t *ns = calloc(nmask + 1, sizeof *ns);
  if (!ns) return -1;
  /* the table only grows while it is at most half full, so the slots
   * hold every entry: re-place them from their stored hashes */
  for (size_t i = 0; i <= d->mask; i++) {
    uint64_t e = d->slots[i];
    if (!e) continue;
    size_t code = (size_t)(uint32_t)e - 1;
    uint64_t h = d->hashes[code];
    size_t j = (size_t)h & nmask;
    while (ns[j]) j = (j + 1) & nmask;
    ns[j] = e;
  }
  free(d->slots);
  d->slots = ns;
  d->mask = nmask;
  return 0;
}

static int strdict_grow_slots(strdict *d) { return strdict_rehash(d, d->mask * 2 + 1); }

int strdict_reserve(strdict *d, size_t entries, size_t bytes) {
  if (entries > INT32_MAX) entries = INT32_MAX;
  size_t slots = d->mask + 1;
  while (slots < entries * 2) slots *= 2;
  if (slots > d->mask + 1 && strdict_rehash(d, slots - 1) != 0) return -1;
  if (entries + 2 > d->ocap) {
    int64_t *no = realloc(d->offsets, (entries + 2) * sizeof *no);
    if (!no) return -1;
    d->offsets = no;
    uint64_t *nh = realloc(d->hashes, (entries + 2) * sizeof *nh);
    if (!nh) return -1;
    d->hashes = nh;
    d->ocap = entries + 2;
  }
  if (bytes > d->cap) {
    char *nd = realloc(d->data, bytes);
    if (!nd) return -1;
    d->data = nd;
    d->cap = bytes;
  }
  return 0;
}

int32_t strdict_add(strdict *d, const char *s, size_t n, uint64_t h) {
  uint64_t tag = h & 0xffffffff00000000ull;
  size_t i = (size_t)h & d->mask;
  for (;;) {
    uint64_t e = d->slots[i];
    if (!e) break;
    if ((e & 0xffffffff00000000ull) == tag) {
      uint32_t code = (uint32_t)e - 1;
      int64_t a = d->offsets[code], b = d->offsets[code + 1];
      if ((size_t)(b - a) == n && fx_eq(d->data + a, s, n)) return (int32_t)code;
    }
    i = (i + 1) & d->mask;
  }
  if (d->count >= INT32_MAX) return -1;
  if (d->len + n > d->cap) {
    size_t ncap = d->cap * 2;
    while (ncap < d->len + n) ncap *= 2;
    char *nd = realloc(d->data, ncap);
    if (!nd) return -1;
    d->data = nd;
    d->cap = ncap;
  }
  if (d->count + 2 > d->ocap) {
    size_t ncap = d->ocap * 2;
    int64_t *no = realloc(d->offsets, ncap * sizeof *no);
    if (!no) return -1;
    d->offsets = no;
    uint64_t *nh = realloc(d->hashes, ncap * sizeof *nh);
    if (!nh) return -1;
    d->hashes = nh;
    d->ocap = ncap;
  }
  if (n) memcpy(d->data + d->len, s, n);
  d->len += n;
  int32_t code = (int32_t)d->count++;
  d->offsets[d->count] = (int64_t)d->len;
  d->hashes[code] = h;
  d->slots[i] = tag | (uint64_t)(code + 1);
  if (d->count * 2 > d->mask && strdict_grow_slots(d) != 0) {
    /* keep the entry (the table still finds it); the next add retries */
  }
  return code;
}

int strdict_give(strdict *d, column *c) {
  /* the buffers themselves, trimmed (realloc may move them) */
  int64_t *off = realloc(d->offsets, (d->count + 1) * sizeof *off);
  if (off) d->offsets = off;
  char *data = d->len ? realloc(d->data, d->len) : d->data;
  if (data) d->data = data;
  off = d->offsets;
  data = d->data;
  d->offsets = NULL;
  d->data = NULL;
  c->dict_count = (int64_t)d->count;
  c->dict_unique = 1;
  c->dict_offsets = off;
  c->dict_data = data;
  free(c->owned[2]);
  free(c->owned[3]);
  c->owned[2] = off;
  c->owned[3] = data;
  strdict_free(d);
  return 0;
}

/* --- UTF-8 -------------------------------------------------------------------------- */

int fx_utf8_valid(const unsigned char *s, size_t n, size_t *bad) {
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (!(w & 0x8080808080808080ull)) {
        i += 8;
        continue;
      }
    }
    unsigned char c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      if (bad) *bad = i;
      return 0;
    }
    if (i + len > n) {
      if (bad) *bad = i;
      return 0;
    }
    if (s[i + 1] < lo || s[i + 1] > hi) {
      if (bad) *bad = i;
      return 0;
    }
    for (size_t k = 2; k < len; k++)
      if ((s[i + k] & 0xc0) != 0x80) {
        if (bad) *bad = i;
        return 0;
      }
    i += len;
  }
  return 1;
}

/* --- numbers and bools ---------------------------------------------------------------- */

static locale_t c_locale(void) {
  static locale_t loc;
  static int done;
  /* newlocale is thread-safe; a race makes at most one extra object */
  if (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
    locale_t l = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    locale_t expected = (locale_t)0;
    if (!__atomic_compare_exchange_n(&loc, &expected, l, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE) &&
        l)
      freelocale(l);
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
  }
  return __atomic_load_n(&loc, __ATOMIC_ACQUIRE);
}

double fx_strtod_slow(const char *s, size_t n) {
  char stack[128];
  char *buf = n < sizeof stack ? stack : malloc(n + 1);
  if (!buf) return NAN; /* out of memory: the caller sees NaN and reports */
  memcpy(buf, s, n);
  buf[n] = '\0';
  locale_t loc = c_locale();
  double v = loc ? strtod_l(buf, NULL, loc) : strtod(buf, NULL);
  if (buf != stack) free(buf);
  return v;
}

size_t fx_format_float(double v, char *buf) {
  if (isinf(v)) {
    strcpy(buf, v < 0 ? "-inf" : "inf");
    return strlen(buf);
  }
  /* the shortest of 15, 16, 17 significant digits that reads back the
   * same, in the C locale whatever the process's is */
  locale_t loc = c_locale(), old = loc ? uselocale(loc) : (locale_t)0;
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(buf, 32, "%.*g", prec, v);
    if (prec == 17 || strtod(buf, NULL) == v) break;
  }
  if (loc) uselocale(old);
  return (size_t)n;
}

/* --- dates and timestamps ------------------------------------------------------------ */

/* Howard Hinnant's civil_from_days (days_from_civil is inline in
 * frame_impl.h). */
void fx_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = (int64_t)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

size_t fx_format_timestamp(int64_t ns, char *buf) {
  int64_t secs = ns / 1000000000, frac = ns % 1000000000;
  if (frac < 0) {
    frac += 1000000000;
    secs--;
  }
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  int64_t y;
  unsigned m, d;
  fx_civil_from_days(days, &y, &m, &d);
  int n = snprintf(buf, 40, "%04lld-%02u-%02uT%02u:%02u:%02u", (long long)y, m, d,
                   (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
  if (frac) {
    char f[16];
    snprintf(f, sizeof f, "%09lld", (long long)frac);
    size_t k = 9;
    while (k > 0 && f[k - 1] == '0') k--;
    f[k] = '\0';
    n += snprintf(buf + n, 40 - (size_t)n, ".%s", f);
  }
  buf[n++] = 'Z';
  buf[n] = '\0';
  return (size_t)n;
}
