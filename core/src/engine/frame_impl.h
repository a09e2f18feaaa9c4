/* engine/frame_impl.h — helpers shared by the engine's table code (frame.c,
 * acol.c, profile.c, csv.c, text.c): buffers, hashing, the string
 * dictionary builder, UTF-8 checks and the text forms of values (numbers,
 * bools, ISO 8601 timestamps). Not installed. */
#ifndef ASSAY_ENGINE_FRAME_IMPL_H
#define ASSAY_ENGINE_FRAME_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#include "engine/frame.h"

/* Owned buffers: 64-byte aligned, n may be 0 (still a distinct pointer);
 * free with free(). NULL when out of memory or n overflows. */
void *fx_alloc(size_t n);
void *fx_calloc(size_t n);
/* count * size, or SIZE_MAX on overflow (which fx_alloc refuses). */
static inline size_t fx_mul(size_t count, size_t size) {
  return size && count > SIZE_MAX / size ? SIZE_MAX : count * size;
}
/* Bytes of one value of a column of type t. */
size_t fx_width(col_type t);

/* A 64-bit hash of n bytes (not cryptographic; for hash tables). */
static inline uint64_t fx_mix(uint64_t a, uint64_t b) {
  __uint128_t r = (__uint128_t)a * b;
  return (uint64_t)r ^ (uint64_t)(r >> 64);
}
static inline uint64_t fx_hash(const void *data, size_t n) {
  const unsigned char *p = data;
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xa0761d6478bd642full);
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = fx_mix(h ^ w, 0xe7037ed1a0b428dbull);
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  if (n >= 4) {
    uint32_t a, b;
    memcpy(&a, p, 4);
    memcpy(&b, p + n - 4, 4);
    w = ((uint64_t)a << 32) | b;
  } else if (n) {
    w = ((uint64_t)p[0] << 16) | ((uint64_t)p[n >> 1] << 8) | p[n - 1];
  }
  return fx_mix(h ^ w, 0x8ebc6af09c88c6e3ull ^ n);
}
static inline uint64_t fx_hash_u64(uint64_t v) {
  return fx_mix(v ^ 0x9e3779b97f4a7c15ull, 0xe7037ed1a0b428dbull);
}

/* Whether n bytes at a and b are equal (inline: short strings are the
 * common case in dictionaries). */
static inline int fx_eq(const char *a, const char *b, size_t n) {
  while (n >= 8) {
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    if (x != y) return 0;
    a += 8;
    b += 8;
    n -= 8;
  }
  while (n--)
    if (*a++ != *b++) return 0;
  return 1;
}

/* A string dictionary being built: distinct strings get codes 0, 1, ... in
 * order of first appearance. */
typedef struct strdict {
  char *data;           /* entries, concatenated */
  size_t len, cap;
  int64_t *offsets;     /* count + 1 entries */
  uint64_t *hashes;     /* count entries: each entry's fx_hash */
  size_t count, ocap;
  uint64_t *slots;      /* 0: empty, else (hash high 32 bits << 32) | (code + 1) */
  size_t mask;
} strdict;

int strdict_init(strdict *d);
void strdict_free(strdict *d);
/* The code of s (added when new), or -1 when out of memory / more than
 * INT32_MAX entries (the caller reports). h = fx_hash(s, n). */
int32_t strdict_add(strdict *d, const char *s, size_t n, uint64_t h);
/* Room for `entries` entries of `bytes` bytes in all, so that adding them
 * moves nothing (a large dictionary grows once instead of many times). */
int strdict_reserve(strdict *d, size_t entries, size_t bytes);
/* A prefetch hint for a lookup of hash h that follows soon. */
static inline void strdict_prefetch(const strdict *d, uint64_t h) {
  __builtin_prefetch(&d->slots[(size_t)h & d->mask]);
}

/* Hand the dictionary's buffers to column c (dict_count, dict_offsets,
 * dict_data, owned[2], owned[3]); d is emptied. 0 or -1 (no memory). */
int strdict_give(strdict *d, column *c);

/* Whether n bytes are valid UTF-8 (no overlongs, surrogates or code points
 * above U+10FFFF). On failure *bad is the offset of the first bad byte. */
int fx_utf8_valid(const unsigned char *s, size_t n, size_t *bad);

/* strtod in the C locale on a token (not NUL-terminated); NaN when out of
 * memory. */
double fx_strtod_slow(const char *s, size_t n);
/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
void fx_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
/* Howard Hinnant's days_from_civil (proleptic Gregorian). */
static inline int64_t fx_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}


/* Text forms (inline: the CSV reader calls them for every field). The
 * parsers take a token of n bytes (not NUL-terminated) and return 1 when it
 * is entirely a value of that kind. */

/* true/false/True/False/TRUE/FALSE. */
static inline int fx_parse_bool(const char *s, size_t n, uint8_t *out) {
  if (n == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "True", 4) == 0 ||
                 memcmp(s, "TRUE", 4) == 0)) {
    *out = 1;
    return 1;
  }
  if (n == 5 && (memcmp(s, "false", 5) == 0 || memcmp(s, "False", 5) == 0 ||
                 memcmp(s, "FALSE", 5) == 0)) {
    *out = 0;
    return 1;
  }
  return 0;
}

static inline void fx_trim(const char **s, size_t *n) {
  const char *p = *s, *e = p + *n;
  while (p < e && (*p == ' ' || *p == '\t')) p++;
  while (e > p && (e[-1] == ' ' || e[-1] == '\t')) e--;
  *s = p;
  *n = (size_t)(e - p);
}

/* Eight ASCII digits at once (SWAR; the first character in the lowest
 * byte): whether the 8 bytes are all digits, and their value. */
static inline int fx_all8_digits(uint64_t v) {
  return ((v & 0xF0F0F0F0F0F0F0F0ull) |
          (((v + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) >> 4)) ==
         0x3333333333333333ull;
}
static inline uint64_t fx_value8(uint64_t v) {
  v -= 0x3030303030303030ull;
  v = (v * 10) + (v >> 8);
  v = (((v & 0x000000FF000000FFull) * (100 + (1000000ull << 32))) +
       (((v >> 16) & 0x000000FF000000FFull) * (1 + (10000ull << 32)))) >>
      32;
  return v & 0xffffffffull;
}

/* Digits from p (before e) into *m (wrapping past 2^64; callers use m only
 * when it cannot have): returns the end of the digits. */
static inline const char *fx_digits(const char *p, const char *e, uint64_t *m) {
  uint64_t v = *m;
  while (e - p >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    if (!fx_all8_digits(w)) break;
    v = v * 100000000ull + fx_value8(w);
    p += 8;
  }
  while (p < e && (unsigned)(*p - '0') <= 9) v = v * 10 + (unsigned)(*p++ - '0');
  *m = v;
  return p;
}

/* [+-]digits, optional spaces/tabs around (as pandas); the value is what
 * strtoll gives; out of range is *overflow = 1 and 0 returned. */
static inline int fx_parse_int(const char *s, size_t n, int64_t *out, int *overflow) {
  *overflow = 0;
  if (n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')) fx_trim(&s, &n);
  const char *p = s, *e = s + n;
  int neg = 0;
  if (p < e && (*p == '+' || *p == '-')) neg = *p++ == '-';
  if (p == e) return 0;
  uint64_t v = 0;
  /* up to 18 digits cannot overflow */
  const char *fast_end = e - p > 18 ? p + 18 : e;
  p = fx_digits(p, fast_end, &v);
  if (p < fast_end) return 0;
  int big = 0;
  while (p < e) {
    unsigned d = (unsigned char)*p - '0';
    if (d > 9) return 0;
    if (!big && (v > (UINT64_MAX - d) / 10)) big = 1;
    if (!big) v = v * 10 + d;
    p++;
  }
  uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  if (big || v > limit) {
    *overflow = 1;
    return 0;
  }
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 1;
}

static const double FX_POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static inline int fx_ieq(const char *s, const char *lower, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
    if (c != lower[i]) return 0;
  }
  return 1;
}

/* A decimal number ([+-] digits [. digits] [e[+-]digits], ".5" and "5."
 * too) or inf/infinity (any case, signed), optional spaces/tabs around;
 * the value is strtod's (correctly rounded; overflow to +-inf, underflow
 * to 0 or a subnormal). NaN text is not a number here (it is a null). */
static inline int fx_parse_float(const char *s, size_t n, double *out) {
  if (n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')) fx_trim(&s, &n);
  const char *p = s, *e = s + n;
  int neg = 0;
  if (p < e && (*p == '+' || *p == '-')) neg = *p++ == '-';
  if (p == e) return 0;
  if (*p == 'i' || *p == 'I') {
    size_t r = (size_t)(e - p);
    if ((r == 3 && fx_ieq(p, "inf", 3)) || (r == 8 && fx_ieq(p, "infinity", 8))) {
      *out = neg ? -INFINITY : INFINITY;
      return 1;
    }
    return 0;
  }
  /* digits into m; more than 19 significant ones would overflow it and go
   * to strtod */
  uint64_t m = 0;
  int64_t exp10 = 0;
  const char *d0 = p;
  p = fx_digits(p, e, &m);
  const char *d1 = p;
  const char *f0 = p, *f1 = p;
  if (p < e && *p == '.') {
    f0 = ++p;
    p = fx_digits(p, e, &m);
    f1 = p;
    exp10 = -(int64_t)(f1 - f0);
  }
  int64_t digits = (d1 - d0) + (f1 - f0);
  int dropped = 0;
  if (digits > 19) {
    /* count the significant digits (leading zeros do not count) */
    const char *q = d0;
    int64_t lead = 0;
    while (q < f1 && (*q == '0' || *q == '.')) lead += *q++ == '0';
    dropped = digits - lead > 19;
  }
  if (!digits) return 0;
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    int eneg = 0;
    if (p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
    if (p == e) return 0;
    int64_t x = 0;
    while (p < e && (unsigned)(*p - '0') <= 9) {
      if (x < 100000000) x = x * 10 + (*p - '0');
      p++;
    }
    if (p != e || (unsigned)(p[-1] - '0') > 9) return 0;
    exp10 += eneg ? -x : x;
  }
  if (p != e) return 0;
  if (!dropped) {
    if (m == 0) {
      *out = neg ? -0.0 : 0.0;
      return 1;
    }
    /* Clinger's fast path: one correctly rounded operation on exact
     * operands gives the correctly rounded result, as strtod does. */
    if (m <= (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
      double v = (double)m;
      v = exp10 < 0 ? v / FX_POW10[-exp10] : v * FX_POW10[exp10];
      *out = neg ? -v : v;
      return 1;
    }
  }
#if defined(__x86_64__) && defined(__LDBL_MANT_DIG__) && __LDBL_MANT_DIG__ == 64
  /* Up to 19 digits with a moderate exponent: one operation in x87's
   * 64-bit-mantissa precision (m and 10^k, k <= 27, are exact there), then
   * rounded to double. That second rounding is correct unless the extended
   * result lies within one of its units of a point halfway between two
   * doubles (low 11 bits 0x3ff..0x401); those few go to strtod. */
  if (!dropped && exp10 >= -27 && exp10 <= 27) {
    static const long double P[] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,
                                    1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L,
                                    1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L,
                                    1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
    long double r = exp10 < 0 ? (long double)m / P[-exp10] : (long double)m * P[exp10];
    uint64_t mant;
    memcpy(&mant, &r, 8);
    unsigned low = (unsigned)(mant & 0x7ff);
    if (low < 0x3ff || low > 0x401) {
      double v = (double)r;
      *out = neg ? -v : v;
      return 1;
    }
  }
#endif
  double v = fx_strtod_slow(s, n);
  if (isnan(v)) return 0;
  *out = v;
  return 1;
}

/* What a token is as a number, by its syntax alone (the CSV reader's
 * first pass): 1 an int64 (fx_parse_int would succeed), 2 a float
 * (fx_parse_float would succeed, and fx_parse_int would not), 0 neither. */
static inline int fx_number_kind(const char *s, size_t n) {
  if (n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')) fx_trim(&s, &n);
  const char *p = s, *e = s + n;
  int neg = 0;
  if (p < e && (*p == '+' || *p == '-')) neg = *p++ == '-';
  if (p == e) return 0;
  const char *d0 = p;
  while (p < e && (unsigned)(*p - '0') <= 9) p++;
  size_t idigits = (size_t)(p - d0);
  if (p == e) {
    /* all digits: an int64 unless it overflows */
    const char *q = d0;
    while (q < e - 1 && *q == '0') q++;
    size_t sig = (size_t)(e - q);
    if (sig < 19) return 1;
    if (sig > 19) return 2;
    int c = memcmp(q, neg ? "9223372036854775808" : "9223372036854775807", 19);
    return c <= 0 ? 1 : 2;
  }
  if (!idigits && (*p == 'i' || *p == 'I')) {
    size_t r = (size_t)(e - p);
    return (r == 3 && fx_ieq(p, "inf", 3)) || (r == 8 && fx_ieq(p, "infinity", 8)) ? 2 : 0;
  }
  size_t fdigits = 0;
  if (*p == '.') {
    p++;
    const char *f0 = p;
    while (p < e && (unsigned)(*p - '0') <= 9) p++;
    fdigits = (size_t)(p - f0);
  }
  if (!idigits && !fdigits) return 0;
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < e && (*p == '+' || *p == '-')) p++;
    const char *x0 = p;
    while (p < e && (unsigned)(*p - '0') <= 9) p++;
    if (p == x0) return 0;
  }
  return p == e ? 2 : 0;
}

static inline int fx_dig2(const char *p, unsigned *v) {
  unsigned a = (unsigned)(p[0] - '0'), b = (unsigned)(p[1] - '0');
  if (a > 9 || b > 9) return 0;
  *v = a * 10 + b;
  return 1;
}

/* ISO 8601 (see frame.h) to ns since the epoch, UTC; 0 when not one or out
 * of int64 nanoseconds' range (1677-09-21 .. 2262-04-11). */
static inline int fx_parse_timestamp(const char *s, size_t n, int64_t *out) {
  if (n < 10 || n > 64) return 0;
  unsigned y1, y2, mo, d;
  if (!fx_dig2(s, &y1) || !fx_dig2(s + 2, &y2) || s[4] != '-' || !fx_dig2(s + 5, &mo) || s[7] != '-' ||
      !fx_dig2(s + 8, &d))
    return 0;
  if (mo < 1 || mo > 12 || d < 1) return 0;
  int64_t year = y1 * 100 + y2;
  static const unsigned MDAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  unsigned dim = MDAYS[mo - 1];
  if (mo == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0)) dim = 29;
  if (d > dim) return 0;
  int64_t secs = fx_days_from_civil(year, mo, d) * 86400;
  int64_t frac = 0;
  size_t i = 10;
  if (i < n) {
    if (s[i] != 'T' && s[i] != ' ') return 0;
    unsigned hh, mm, ss = 0;
    if (n < i + 6 || !fx_dig2(s + i + 1, &hh) || s[i + 3] != ':' || !fx_dig2(s + i + 4, &mm))
      return 0;
    if (hh > 23 || mm > 59) return 0;
    i += 6;
    if (i < n && s[i] == ':') {
      if (n < i + 3 || !fx_dig2(s + i + 1, &ss) || ss > 59) return 0;
      i += 3;
      if (i < n && (s[i] == '.' || s[i] == ',')) {
        i++;
        size_t start = i;
        int64_t scale = 100000000;
        while (i < n && (unsigned)(s[i] - '0') <= 9) {
          frac += (s[i] - '0') * scale; /* digits past the 9th are dropped */
          scale /= 10;
          i++;
        }
        if (i == start) return 0;
      }
    }
    secs += (int64_t)hh * 3600 + mm * 60 + ss;
    if (i < n) {
      if (s[i] == 'Z') {
        i++;
      } else if (s[i] == '+' || s[i] == '-') {
        int sign = s[i] == '-' ? -1 : 1;
        unsigned oh, om = 0;
        if (n < i + 3 || !fx_dig2(s + i + 1, &oh)) return 0;
        i += 3;
        if (i < n && s[i] == ':') {
          if (n < i + 3 || !fx_dig2(s + i + 1, &om)) return 0;
          i += 3;
        } else if (i + 2 <= n && (unsigned)(s[i] - '0') <= 9) {
          if (!fx_dig2(s + i, &om)) return 0;
          i += 2;
        }
        if (oh > 23 || om > 59) return 0;
        /* local = UTC + offset, so UTC = local - offset */
        secs -= sign * ((int64_t)oh * 3600 + om * 60);
      } else {
        return 0;
      }
    }
    if (i != n) return 0;
  }
  /* secs * 1e9 + frac, without overflowing in between near int64's floor */
  int64_t ns;
  if (secs < 0 && frac > 0) {
    secs += 1;
    frac -= 1000000000;
  }
  if (__builtin_mul_overflow(secs, (int64_t)1000000000, &ns) ||
      __builtin_add_overflow(ns, frac, &ns))
    return 0;
  *out = ns;
  return 1;
}

/* "YYYY-MM-DDTHH:MM:SS[.fffffffff]Z" (fraction trimmed of trailing zeros);
 * buf needs 40 bytes. Returns the length. */
size_t fx_format_timestamp(int64_t ns, char *buf);
/* The shortest of %.15g/%.16g/%.17g that reads back as v (C locale), or
 * "inf"/"-inf"; buf needs 32 bytes. Returns the length. */
size_t fx_format_float(double v, char *buf);

/* Free the buffers a column owns and its name; the struct is zeroed. */
void fx_column_clear(column *c);

#endif
