/* engine/csv.c — the native CSV reader and writer.
 *
 * csv_read makes two passes over the file, each reading it in 1 MiB blocks
 * (a partial record at a block's end is carried into the next), never the
 * whole file:
 *  1. the records: from the quotes and line breaks alone (a bitmap of the
 *     special bytes, 64 at a time) it counts the records and lines, so
 *     pass 2's buffers have their final length from the start;
 *  2. the values: records are tokenized in batches of CSV_BATCH rows and
 *     each batch handled column by column (tight loops; the string
 *     dictionary's hash slots prefetched). Each column's type is guessed
 *     from its values as they come: the first value decides, a value that
 *     does not fit widens the guess (int64 to float64: the values so far are
 *     converted, exactly as strtod would have read them) or turns the
 *     column to strings, and the fields already read as something else are
 *     read again for their text (a repair, rare in real files). The first
 *     rows (sampled before pass 1) settle string columns at once.
 * The result is the narrowest type that holds every value (frame.h).
 *
 * Large files are split into byte ranges, one thread each (up to the
 * online CPUs, at most CSV_MAX_THREADS, at least CSV_MIN_RANGE bytes
 * each). A range starts after a line break; whether that is a record
 * boundary (and not inside a quoted field) is only known once the range
 * before it has been counted: it must end exactly there. If it does not,
 * the file is counted again as one range. Each range guesses types on its
 * own; their guesses are joined at the end (int + float: float; anything
 * else that differs: string). String dictionaries are kept per range and
 * merged at the end.
 *
 * Strings are checked for UTF-8 as they enter a dictionary, which covers
 * every byte that ends up in the frame (numbers, bools, timestamps and
 * nulls are ASCII or an exact match of a configured null string). The file
 * may change between passes: anything that no longer fits what the first
 * pass saw is an error, never an overrun.
 *
 * csv_write writes a frame as RFC 4180 text that csv_read reads back to the
 * same types and values (floats round-trip, integral floats keep a ".0"). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__SSE2__)
#  include <emmintrin.h>
#endif

#include "engine/frame_impl.h"
#include "internal.h"

#define CSV_BLOCK (1u << 20)        /* bytes per read */
#define CSV_PAD 128                 /* room for the sentinel after the data in the buffer */
#define CSV_BATCH 256               /* records tokenized before they are handled */
#define CSV_MIN_RANGE (16u << 20)   /* bytes per thread, at least */
#define CSV_MAX_THREADS 8

/* --- the null strings ----------------------------------------------------------------- */

static const char *const DEFAULT_NA[] = {
    "",     "#N/A", "#N/A N/A", "#NA",  "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A",  "NA",       "NULL", "NaN",     "None",     "n/a",  "nan",  "null"};

typedef struct na_set {
  const char **s; /* borrowed (static list or the options' JSON strings) */
  size_t *n;
  size_t count;
  int empty;            /* "" is null */
  /* quick refusals: bit L of first[c] (last[c]) is set when a null string
   * of length L < 64 starts (ends) with byte c */
  uint64_t first[256], last[256];
  int has_long;         /* a null string of 64+ bytes */
} na_set;

static int na_add(na_set *na, const char *s, size_t n) {
  const char **ns = realloc(na->s, (na->count + 1) * sizeof *ns);
  if (!ns) return -1;
  na->s = ns;
  size_t *nn = realloc(na->n, (na->count + 1) * sizeof *nn);
  if (!nn) return -1;
  na->n = nn;
  na->s[na->count] = s;
  na->n[na->count++] = n;
  if (n == 0)
    na->empty = 1;
  else if (n < 64) {
    na->first[(unsigned char)s[0]] |= 1ull << n;
    na->last[(unsigned char)s[n - 1]] |= 1ull << n;
  }
  else
    na->has_long = 1;
  return 0;
}

static void na_free(na_set *na) {
  free(na->s);
  free(na->n);
}

static inline int is_na(const na_set *na, const char *s, size_t n) {
  if (n == 0) return na->empty;
  if (n < 64 ? !((na->first[(unsigned char)s[0]] & na->last[(unsigned char)s[n - 1]]) >> n & 1)
             : !na->has_long)
    return 0;
  for (size_t i = 0; i < na->count; i++)
    if (na->n[i] == n && memcmp(na->s[i], s, n) == 0) return 1;
  return 0;
}

static int na_build(na_set *na, const csv_options *o) {
  memset(na, 0, sizeof *na);
  if (o->keep_default_na)
    for (size_t i = 0; i < sizeof DEFAULT_NA / sizeof DEFAULT_NA[0]; i++)
      if (na_add(na, DEFAULT_NA[i], strlen(DEFAULT_NA[i])) != 0) return assay__nomem();
  const json_t *v = o->na_values;
  if (!v) return 0;
  if (json_is_string(v)) return na_add(na, json_string_value(v), json_string_length(v)) ? assay__nomem() : 0;
  if (!json_is_array(v))
    return assay__err(ASSAY_ERR_CONFIG, "na_values: expected a string or an array of strings");
  for (size_t i = 0; i < json_array_size(v); i++) {
    const json_t *e = json_array_get(v, i);
    if (!json_is_string(e))
      return assay__err(ASSAY_ERR_CONFIG, "na_values[%zu]: expected a string", i);
    if (na_add(na, json_string_value(e), json_string_length(e)) != 0) return assay__nomem();
  }
  return 0;
}

/* --- the tokenizer ---------------------------------------------------------------------- */

/* A field: p/n, its text (in the read buffer or the scratch buffer);
 * p == NULL for a field the record did not have. While a batch is being
 * tokenized, text in scratch has p == NULL and its offset in soff. */
typedef struct span {
  const char *p;
  uint32_t n;
  uint32_t soff;
} span;
#define SOFF_MISSING UINT32_MAX

typedef struct reader {
  int fd;
  char delim;
  int64_t off;          /* file offset of buf[len] */
  int64_t limit;        /* reads stop here (the range's end) */
  int final;            /* limit is the end of the file, not a range boundary */
  char *buf;
  size_t cap;           /* allocated bytes (data + CSV_PAD) */
  uint64_t *bits;       /* bit i set: buf[i] is the delimiter, '\n', '\r' or '"' */
  uint64_t *qbits;      /* counting: bit i set when buf[i] is '\n', '\r' or '"' */
  size_t bcap;          /* words allocated (each) */
  int counting;         /* pass 1: qbits wanted too */
  size_t len, pos;      /* data [0, len); the next record starts at pos */
  int eof;
  int64_t lines;        /* line breaks consumed */
  int64_t rec_lines;    /* ... when the last record started */
  size_t rec_start;     /* its offset in buf */
  int first_quoted;     /* its first field was quoted */
  char *scratch;        /* unescaped quoted fields of the current batch */
  size_t slen, scap;
  int scratch_used;
  /* the first error (ASSAY_ERR_*), at err_line lines after the reader's
   * start; the caller adds the line where the reader started */
  int err;
  int64_t err_line;
  char err_msg[400];
  int misaligned;       /* a range's end fell inside a record */
} reader;

static int rd_fail(reader *r, int code, int64_t line, const char *fmt, ...) ASSAY_PRINTF(4, 5);
static int rd_fail(reader *r, int code, int64_t line, const char *fmt, ...) {
  if (!r->err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err_msg, sizeof r->err_msg, fmt, ap);
    va_end(ap);
    r->err = code;
    r->err_line = line;
  }
  return -1;
}
#define RD_NOMEM(r) rd_fail(r, ASSAY_ERR_NOMEM, -1, "out of memory")

static void rd_free(reader *r) {
  free(r->buf);
  free(r->scratch);
  free(r->bits);
  free(r->qbits);
  r->buf = r->scratch = NULL;
  r->bits = r->qbits = NULL;
}

/* After a fill: the sentinel ('\n' from len to a 64-byte boundary and 64
 * more) and the bitmap of special bytes, 64 at a time, so finding a
 * field's end is a word lookup and a count of trailing zeros. */
static int rd_index(reader *r) {
  size_t words = (r->len + 63) / 64 + 1;
  memset(r->buf + r->len, '\n', words * 64 - r->len);
  if (r->bcap < words) {
    uint64_t *nb = realloc(r->bits, words * sizeof *nb);
    if (!nb) return RD_NOMEM(r);
    r->bits = nb;
    nb = realloc(r->qbits, words * sizeof *nb);
    if (!nb) return RD_NOMEM(r);
    r->qbits = nb;
    r->bcap = words;
  }
  const char *p = r->buf;
#if defined(__SSE2__)
  const __m128i vd = _mm_set1_epi8(r->delim), vn = _mm_set1_epi8('\n'),
                vr = _mm_set1_epi8('\r'), vq = _mm_set1_epi8('"');
  for (size_t w = 0; w < words; w++, p += 64) {
    uint64_t m = 0, q = 0;
    for (int k = 0; k < 4; k++) {
      __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
      __m128i c = _mm_or_si128(_mm_cmpeq_epi8(x, vq),
                               _mm_or_si128(_mm_cmpeq_epi8(x, vn), _mm_cmpeq_epi8(x, vr)));
      q |= (uint64_t)(unsigned)_mm_movemask_epi8(c) << (16 * k);
      c = _mm_or_si128(c, _mm_cmpeq_epi8(x, vd));
      m |= (uint64_t)(unsigned)_mm_movemask_epi8(c) << (16 * k);
    }
    r->bits[w] = m;
    r->qbits[w] = q;
  }
#else
  for (size_t w = 0; w < words; w++, p += 64) {
    uint64_t m = 0, q = 0;
    for (int k = 0; k < 64; k++) {
      char c = p[k];
      q |= (uint64_t)(c == '\n' || c == '\r' || c == '"') << k;
      m |= (uint64_t)(c == r->delim || c == '\n' || c == '\r' || c == '"') << k;
    }
    r->bits[w] = m;
    r->qbits[w] = q;
  }
#endif
  return 0;
}

/* The first special byte at or after p (the sentinel guarantees one). */
static inline const char *next_special(const reader *r, const char *p) {
  size_t i = (size_t)(p - r->buf), w = i >> 6;
  uint64_t m = r->bits[w] >> (i & 63);
  if (m) return p + __builtin_ctzll(m);
  for (;;) {
    m = r->bits[++w];
    if (m) return r->buf + w * 64 + __builtin_ctzll(m);
  }
}

/* The first '"', '\n' or '\r' at or after p. */
static inline const char *next_qn(const reader *r, const char *p) {
  size_t i = (size_t)(p - r->buf), w = i >> 6;
  uint64_t m = r->qbits[w] >> (i & 63);
  if (m) return p + __builtin_ctzll(m);
  for (;;) {
    m = r->qbits[++w];
    if (m) return r->buf + w * 64 + __builtin_ctzll(m);
  }
}

/* The first delimiter or line break at or after p (quotes there are
 * text). */
static inline const char *field_end(const reader *r, const char *p) {
  p = next_special(r, p);
  while (*p == '"') p = next_special(r, p + 1);
  return p;
}

/* Read the next block (keeping buf[pos..len)). */
static int rd_fill(reader *r) {
  size_t keep = r->len - r->pos;
  if (r->pos) {
    memmove(r->buf, r->buf + r->pos, keep);
    r->rec_start -= r->rec_start >= r->pos ? r->pos : r->rec_start;
    r->pos = 0;
    r->len = keep;
  }
  if (r->cap < keep + CSV_BLOCK + CSV_PAD) {
    size_t ncap = r->cap ? r->cap : CSV_BLOCK + CSV_PAD;
    while (ncap < keep + CSV_BLOCK + CSV_PAD) ncap *= 2;
    char *nb = realloc(r->buf, ncap);
    if (!nb) return RD_NOMEM(r);
    r->buf = nb;
    r->cap = ncap;
  }
  size_t got = 0;
  while (got < CSV_BLOCK && r->off < r->limit) {
    size_t want = CSV_BLOCK - got;
    if ((int64_t)want > r->limit - r->off) want = (size_t)(r->limit - r->off);
    ssize_t n = pread(r->fd, r->buf + r->len + got, want, (off_t)r->off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return rd_fail(r, ASSAY_ERR_DATA, -1, "read failed: %s", strerror(errno));
    }
    if (n == 0) break; /* the file shrank: the next pass notices */
    got += (size_t)n;
    r->off += n;
  }
  if (got < CSV_BLOCK) r->eof = 1;
  r->len += got;
  return rd_index(r);
}

static int rd_open(reader *r, int fd, char delim, int64_t start, int64_t limit, int final) {
  /* the buffers are kept from an earlier pass */
  char *buf = r->buf, *scratch = r->scratch;
  uint64_t *bits = r->bits, *qbits = r->qbits;
  size_t cap = r->cap, scap = r->scap, bcap = r->bcap;
  memset(r, 0, sizeof *r);
  r->buf = buf;
  r->cap = cap;
  r->scratch = scratch;
  r->scap = scap;
  r->bits = bits;
  r->qbits = qbits;
  r->bcap = bcap;
  r->fd = fd;
  r->delim = delim;
  r->off = start;
  r->limit = limit;
  r->final = final;
  return rd_fill(r);
}

/* File offset of the next record. */
static inline int64_t rd_tell(const reader *r) { return r->off - (int64_t)(r->len - r->pos); }

static int scratch_put(reader *r, const char *p, size_t n) {
  if (r->slen + n > r->scap) {
    size_t ncap = r->scap ? r->scap : 4096;
    while (ncap < r->slen + n) ncap *= 2;
    char *ns = realloc(r->scratch, ncap);
    if (!ns) return RD_NOMEM(r);
    r->scratch = ns;
    r->scap = ncap;
  }
  memcpy(r->scratch + r->slen, p, n);
  r->slen += n;
  return 0;
}

static inline int64_t count_nl(const char *p, const char *e) {
  int64_t n = 0;
  while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
    n++;
    p++;
  }
  return n;
}

enum { REC_EOF = 0, REC_OK = 1, REC_MORE = 2 };

/* Tokenize one record from buf[pos]. Fields k < cap go to out[k * stride];
 * *nf is the record's field count. REC_OK (pos moved past the record),
 * REC_MORE (the record runs past the data read so far: fill, then try
 * again), REC_EOF, or -1 (r->err or r->misaligned set). */
static int rd_try_record(reader *r, span *out, size_t stride, int cap, int *nf) {
  const char *s = r->buf + r->pos, *end = r->buf + r->len;
  const char d = r->delim;
  size_t slen0 = r->slen;
  int n = 0;
  r->rec_lines = r->lines;
  r->rec_start = r->pos;
  if (s >= end) return r->eof ? REC_EOF : REC_MORE;
  r->first_quoted = *s == '"';
  const char *p = s;
  int64_t inner_lines = 0; /* line breaks inside quoted fields */
  int terminated = 0;
  for (;;) {
    span *o = n < cap ? out + (size_t)n * stride : NULL;
    if (p < end && *p == '"') {
      /* a quoted field: "" is a quote; text after the closing quote up to
       * the delimiter is kept (as pandas does) */
      const char *q = p + 1, *seg = q;
      size_t soff = r->slen;
      int copied = 0;
      for (;;) {
        const char *quote = next_special(r, q);
        while (quote < end && *quote != '"') {
          inner_lines += *quote == '\n';
          quote = next_special(r, quote + 1);
        }
        if (quote >= end || (quote + 1 == end && !r->eof)) {
          r->slen = slen0;
          if (!r->eof) return REC_MORE;
          if (!r->final) {
            r->misaligned = 1;
            return -1;
          }
          return rd_fail(r, ASSAY_ERR_DATA, r->rec_lines,
                         "a quoted field is not closed before the end of the file");
        }
        if (quote + 1 < end && quote[1] == '"') {
          /* an escaped quote: keep the text up to and including one quote */
          if (scratch_put(r, seg, (size_t)(quote + 1 - seg)) != 0) return -1;
          copied = 1;
          q = seg = quote + 2;
          continue;
        }
        const char *after = quote + 1;
        if (after < end && *after != d && *after != '\n' && *after != '\r') {
          const char *stop = field_end(r, after);
          if (stop >= end && !r->eof) {
            r->slen = slen0;
            return REC_MORE;
          }
          if (stop > end) stop = end;
          if (scratch_put(r, seg, (size_t)(quote - seg)) != 0 ||
              scratch_put(r, after, (size_t)(stop - after)) != 0)
            return -1;
          copied = 1;
          p = stop;
        } else {
          if (copied && scratch_put(r, seg, (size_t)(quote - seg)) != 0) return -1;
          p = after;
        }
        if (o) {
          if (copied) {
            if (r->slen - soff > UINT32_MAX)
              return rd_fail(r, ASSAY_ERR_DATA, r->rec_lines, "a field longer than 4 GiB");
            *o = (span){NULL, (uint32_t)(r->slen - soff), (uint32_t)soff};
            r->scratch_used = 1;
          } else {
            if ((size_t)(quote - seg) > UINT32_MAX)
              return rd_fail(r, ASSAY_ERR_DATA, r->rec_lines, "a field longer than 4 GiB");
            *o = (span){seg, (uint32_t)(quote - seg), 0};
          }
        }
        break;
      }
    } else {
      const char *e = field_end(r, p);
      if (e >= end) {
        if (!r->eof) {
          r->slen = slen0;
          return REC_MORE;
        }
        e = end;
      }
      if (o) {
        if ((size_t)(e - p) > UINT32_MAX)
          return rd_fail(r, ASSAY_ERR_DATA, r->rec_lines, "a field longer than 4 GiB");
        *o = (span){p, (uint32_t)(e - p), 0};
      }
      p = e;
    }
    n++;
    /* after a field: the delimiter, a line break or the end */
    if (p >= end) break;
    if (*p == d) {
      p++;
      continue;
    }
    if (*p == '\r') {
      if (p + 1 >= end && !r->eof) {
        r->slen = slen0;
        return REC_MORE;
      }
      p += (p + 1 < end && p[1] == '\n') ? 2 : 1;
    } else {
      p++; /* '\n' */
    }
    terminated = 1;
    break;
  }
  if (!terminated && !r->final) {
    /* the range ended inside a record: not a record boundary */
    r->misaligned = 1;
    return -1;
  }
  if (p > end) p = end;
  r->pos = (size_t)(p - r->buf);
  r->lines += terminated + inner_lines;
  *nf = n;
  return REC_OK;
}

/* Whether the last record was a blank line (one unquoted field of only
 * spaces and tabs), which is skipped as pandas does. */
static inline int rd_blank(const reader *r, const span *first, int nf) {
  if (nf != 1 || r->first_quoted) return 0;
  for (uint32_t i = 0; i < first->n; i++)
    if (first->p[i] != ' ' && first->p[i] != '\t') return 0;
  return 1;
}

/* Point scratch fields at their text once a batch is complete. */
static void rd_fixup(reader *r, span *spans, size_t count) {
  if (!r->scratch_used) return;
  for (size_t i = 0; i < count; i++)
    if (!spans[i].p && spans[i].soff != SOFF_MISSING) spans[i].p = r->scratch + spans[i].soff;
  r->scratch_used = 0;
}

/* --- the job ------------------------------------------------------------------------------ */

/* A column's type as pass 2 guesses it, range by range: the first value
 * decides, a value that does not fit widens (int to float: the values so
 * far are converted, exactly) or falls back to string (the earlier rows'
 * text is read again later: a repair). */
enum { T_NONE = 0, T_BOOL, T_INT, T_FLOAT, T_TS, T_STR };

typedef struct colspec {
  int type;             /* T_* */
  int64_t text_before;  /* T_STR: rows [0, text_before) of the range need their text */
} colspec;

struct csvjob;

typedef struct range {
  struct csvjob *job;
  int64_t start, end;   /* file offsets; records start at `start` */
  int64_t start_line;   /* the line at `start` (1-based), once known */
  reader r;
  span *spans;          /* CSV_BATCH x ncols, column-major */
  int64_t rows;         /* pass 1: records in the range */
  int64_t lines;        /* pass 1: line breaks in the range */
  int64_t row0;         /* the frame row of its first record */
  colspec *spec;        /* pass 2, per column */
  int64_t *nulls;       /* pass 2: nulls per column */
  strdict *dicts;       /* per column, once it holds strings */
  int repair;           /* a column of this range needs its text again */
  int64_t lines_at[CSV_BATCH]; /* the batch's records: line breaks before each */
  const char *rec_at[CSV_BATCH]; /* and where each starts in the buffer */
  int rc;               /* -1: failed (see r.err / r.misaligned) */
} range;

typedef struct csvjob {
  int fd;
  const char *name;     /* base name, for messages */
  char delim;
  int64_t size;         /* the file's size when opened; nothing after is read */
  na_set na;
  int ncols;
  char **names;
  col_type *types;
  int64_t max_rows;     /* 0: all */
  int64_t rows;
  int threads;          /* ranges read at once */
  /* the output, per column: 8 bytes a row until the types are known (then
   * bools and string codes are packed) or 4 for columns that the first
   * rows show to be strings (or bools, or else strings), and the validity
   * bitmap, made by the first range that meets a null */
  void **values;
  uint8_t *narrow;      /* 4-byte values */
  uint8_t *is_str;      /* certainly a string column */
  uint8_t **validity;
} csvjob;

/* Row `row` of column c's values (4 or 8 bytes). */
static inline void put_value(const csvjob *j, int c, int64_t row, int64_t v) {
  if (j->narrow[c])
    ((int32_t *)j->values[c])[row] = (int32_t)v;
  else
    ((int64_t *)j->values[c])[row] = v;
}
static inline int64_t get_value(const csvjob *j, int c, int64_t row) {
  return j->narrow[c] ? ((const int32_t *)j->values[c])[row] : ((const int64_t *)j->values[c])[row];
}

static int job_error(const csvjob *j, const range *g) {
  const reader *r = &g->r;
  if (r->err == ASSAY_ERR_NOMEM) return assay__err(ASSAY_ERR_NOMEM, "CSV file %s: out of memory", j->name);
  if (r->err_line < 0) return assay__err(r->err, "CSV file %s: %s", j->name, r->err_msg);
  return assay__err(r->err, "CSV file %s, line %lld: %s", j->name,
                    (long long)(g->start_line + r->err_line), r->err_msg);
}

static int read_header(csvjob *j, int64_t *data_start, int64_t *lines) {
  reader r = {0};
  span *f = NULL;
  int cap = 256, nf = 0, rc = rd_open(&r, j->fd, j->delim, 0, j->size, 1);
  if (rc == 0 && r.len >= 3 && memcmp(r.buf, "\xEF\xBB\xBF", 3) == 0) r.pos = 3;
  for (;;) {
    if (rc) break;
    if (!f && !(f = malloc((size_t)cap * sizeof *f))) {
      rc = RD_NOMEM(&r);
      break;
    }
    size_t pos = r.pos;
    int64_t ln = r.lines;
    r.slen = 0;
    int t = rd_try_record(&r, f, 1, cap, &nf);
    if (t < 0) {
      rc = -1;
      break;
    }
    if (t == REC_MORE) {
      rc = rd_fill(&r);
      continue;
    }
    if (t == REC_EOF) {
      rd_free(&r);
      free(f);
      return assay__err(ASSAY_ERR_DATA, "CSV file %s is empty: expected a header row naming "
                                        "the columns", j->name);
    }
    if (nf > cap) { /* more columns than room: again with room */
      if (nf > 100000) {
        rc = rd_fail(&r, ASSAY_ERR_DATA, r.rec_lines, "%d columns; at most 100000 are read", nf);
        break;
      }
      free(f);
      f = NULL;
      cap = nf;
      r.pos = pos;
      r.lines = ln;
      continue;
    }
    rd_fixup(&r, f, (size_t)nf);
    if (rd_blank(&r, f, nf)) continue;
    break;
  }
  range g = {0};
  g.start_line = 1;
  if (rc == 0) {
    j->ncols = nf;
    j->names = calloc((size_t)nf, sizeof *j->names);
    if (!j->names) rc = RD_NOMEM(&r);
  }
  for (int i = 0; rc == 0 && i < nf; i++) {
    const span *s = &f[i];
    size_t bad;
    if (!fx_utf8_valid((const unsigned char *)s->p, s->n, &bad)) {
      rc = rd_fail(&r, ASSAY_ERR_DATA, r.rec_lines,
                   "column %d's name is not valid UTF-8 (byte %zu)", i + 1, bad + 1);
      break;
    }
    if (memchr(s->p, '\0', s->n)) {
      rc = rd_fail(&r, ASSAY_ERR_DATA, r.rec_lines, "column %d's name holds a NUL byte", i + 1);
      break;
    }
    char *name = malloc(s->n ? (size_t)s->n + 1 : 32);
    if (!name) {
      rc = RD_NOMEM(&r);
      break;
    }
    if (s->n) {
      memcpy(name, s->p, s->n);
      name[s->n] = '\0';
    } else {
      snprintf(name, 32, "Unnamed: %d", i);
    }
    j->names[i] = name;
    for (int k = 0; k < i; k++)
      if (strcmp(j->names[k], name) == 0) {
        rc = rd_fail(&r, ASSAY_ERR_DATA, r.rec_lines,
                     "the column name \"%s\" appears twice (columns %d and %d)", name, k + 1,
                     i + 1);
        break;
      }
  }
  if (rc) {
    g.r = r;
    rc = job_error(j, &g);
  } else {
    *data_start = rd_tell(&r);
    *lines = r.lines;
  }
  rd_free(&r);
  free(f);
  return rc;
}

/* --- pass 1: the records --------------------------------------------------------------------- */

enum { REC_IRREGULAR = 3 };

/* The end of the record at pos, found from its quotes and line breaks only
 * (its fields are not looked at): REC_OK (pos moved past it; *blank when
 * it is a blank line), REC_MORE, REC_EOF, REC_IRREGULAR (a quote that
 * neither opens nor closes a field, or no closing quote: let the tokenizer
 * read the record), or -1 (a range ended inside the record). */
static int rd_skip_record(reader *r, int *blank) {
  const char *s = r->buf + r->pos, *end = r->buf + r->len;
  const char d = r->delim;
  r->rec_lines = r->lines;
  r->rec_start = r->pos;
  if (s >= end) return r->eof ? REC_EOF : REC_MORE;
  const char *p = s, *term;
  int64_t inner = 0;
  for (;;) {
    const char *q = next_qn(r, p);
    if (q >= end) {
      if (!r->eof) return REC_MORE;
      if (!r->final) {
        r->misaligned = 1;
        return -1;
      }
      term = p = end; /* the last record, without a line break */
      break;
    }
    if (*q == '"') {
      if (q != s && q[-1] != d) return REC_IRREGULAR;
      const char *c = q + 1;
      for (;;) {
        c = next_qn(r, c);
        if (c >= end) return r->eof ? REC_IRREGULAR : REC_MORE;
        if (*c != '"') {
          inner += *c == '\n';
          c++;
          continue;
        }
        if (c + 1 >= end && !r->eof) return REC_MORE;
        if (c + 1 < end && c[1] == '"') {
          c += 2;
          continue;
        }
        break;
      }
      const char *a = c + 1;
      if (a < end && *a != d && *a != '\n' && *a != '\r') return REC_IRREGULAR;
      p = a;
      continue;
    }
    term = q;
    if (*q == '\r') {
      if (q + 1 >= end && !r->eof) return REC_MORE;
      p = q + ((q + 1 < end && q[1] == '\n') ? 2 : 1);
    } else {
      p = q + 1;
    }
    break;
  }
  /* blank: only spaces and tabs (that are not the delimiter) */
  int b = 1;
  for (const char *x = s; x < term && b; x++) b = (*x == ' ' || *x == '\t') && *x != d;
  *blank = b;
  r->pos = (size_t)(p - r->buf);
  r->lines += (term != end) + inner;
  return REC_OK;
}

/* Pass 1 over one range: its records (blank lines left out) and line
 * breaks. */
static void *count_range(void *arg) {
  range *g = arg;
  csvjob *j = g->job;
  reader *r = &g->r;
  g->rc = rd_open(r, j->fd, j->delim, g->start, g->end, g->end == j->size);
  int64_t rows = 0, max = j->max_rows ? j->max_rows : INT64_MAX;
  while (g->rc == 0 && rows < max) {
    int blank = 0, nf = 0;
    int t = rd_skip_record(r, &blank);
    if (t == REC_IRREGULAR) {
      span first;
      r->slen = 0;
      t = rd_try_record(r, &first, 1, 1, &nf);
      if (t == REC_OK) blank = rd_blank(r, &first, nf);
    }
    if (t < 0) {
      g->rc = -1;
      break;
    }
    if (t == REC_MORE) {
      if (rd_fill(r) != 0) g->rc = -1;
      continue;
    }
    if (t == REC_EOF) break;
    rows += !blank;
  }
  g->rows = rows;
  g->lines = r->lines;
  return NULL;
}

/* --- pass 2: the values ------------------------------------------------------------------------ */

static int next_batch(csvjob *j, range *g, int64_t want, int *nb, int *done) {
  reader *r = &g->r;
  const int ncols = j->ncols;
  int n = 0;
  r->slen = 0;
  r->scratch_used = 0;
  *done = 0;
  while (n < CSV_BATCH && n < want) {
    int nf;
    int t = rd_try_record(r, g->spans + n, CSV_BATCH, ncols, &nf);
    if (t < 0) return -1;
    if (t == REC_MORE) {
      if (n > 0) break; /* handle these first: filling moves the buffer */
      if (rd_fill(r) != 0) return -1;
      continue;
    }
    if (t == REC_EOF) {
      *done = 1;
      break;
    }
    if (nf <= ncols && nf >= 1 && rd_blank(r, g->spans + n, nf) && r->first_quoted == 0) {
      /* a blank line (its one field may sit in scratch only when quoted) */
      continue;
    }
    if (nf > ncols)
      return rd_fail(r, ASSAY_ERR_DATA, r->rec_lines, "%d fields, but the header has %d", nf,
                     ncols);
    for (int k = nf; k < ncols; k++)
      g->spans[(size_t)k * CSV_BATCH + (size_t)n] = (span){NULL, 0, SOFF_MISSING};
    g->lines_at[n] = r->rec_lines;
    g->rec_at[n] = r->buf + r->rec_start;
    n++;
  }
  rd_fixup(r, g->spans, (size_t)ncols * CSV_BATCH);
  *nb = n;
  if (n == want) *done = 1;
  return 0;
}

/* The validity bitmap of column c, made (all valid) by the first caller. */
static uint8_t *validity_of(csvjob *j, int c) {
  uint8_t *v = __atomic_load_n(&j->validity[c], __ATOMIC_ACQUIRE);
  if (v) return v;
  size_t nb = ((size_t)j->rows + 7) / 8;
  v = fx_alloc(nb);
  if (!v) return NULL;
  memset(v, 0xff, nb);
  if (j->rows & 7) v[nb - 1] = (uint8_t)((1u << (j->rows & 7)) - 1);
  uint8_t *expected = NULL;
  if (!__atomic_compare_exchange_n(&j->validity[c], &expected, v, 0, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    free(v);
    v = expected;
  }
  return v;
}

static inline void clear_bit(uint8_t *v, int64_t row, int atomic) {
  uint8_t mask = (uint8_t) ~(1u << (row & 7));
  if (atomic)
    __atomic_fetch_and(&v[row >> 3], mask, __ATOMIC_RELAXED);
  else
    v[row >> 3] &= mask;
}

#define CHANGED(g) rd_fail(&(g)->r, ASSAY_ERR_DATA, (g)->r.rec_lines, \
                           "the file changed while it was being read")

/* Column c's value at batch row i does not fit the range's guess: widen
 * the guess (from nothing, or int to float: the rows so far converted) or
 * fall back to strings (the rows so far need their text again). */
static int retype(range *g, int c, const char *s, size_t n, int64_t row) {
  csvjob *j = g->job;
  colspec *st = &g->spec[c];
  int kind = fx_number_kind(s, n);
  uint8_t b;
  int64_t ts;
  int to;
  if (j->narrow[c]) /* bools or else strings (the first rows had a bool) */
    to = st->type == T_NONE && !kind && fx_parse_bool(s, n, &b) ? T_BOOL : T_STR;
  else if (st->type == T_NONE)
    to = kind == 1 ? T_INT : kind == 2 ? T_FLOAT : fx_parse_bool(s, n, &b) ? T_BOOL
       : fx_parse_timestamp(s, n, &ts) ? T_TS : T_STR;
  else if (st->type == T_INT && kind == 2)
    to = T_FLOAT;
  else
    to = T_STR;
  if (to == T_FLOAT && st->type == T_INT) {
    uint64_t *v = (uint64_t *)j->values[c] + g->row0;
    for (int64_t i = 0; i < row - g->row0; i++) {
      double x = (double)(int64_t)v[i];
      memcpy(&v[i], &x, 8);
    }
  }
  if (to == T_STR) {
    if (st->type != T_NONE) {
      st->text_before = row - g->row0;
      g->repair = 1;
    }
    if (!g->dicts[c].slots && strdict_init(&g->dicts[c]) != 0) return RD_NOMEM(&g->r);
  }
  st->type = to;
  return 0;
}

/* Rows [from, nb) of a string column of a batch: dictionary codes. */
static int parse_strings(range *g, int c, int nb, int64_t row, int from) {
  csvjob *j = g->job;
  const na_set *na = &j->na;
  const int atomic = j->threads > 1;
  const span *col = g->spans + (size_t)c * CSV_BATCH;
  strdict *d = &g->dicts[c];
  int64_t nulls = 0;
  /* a column of mostly distinct strings: room for all of the range's at
   * once (judged once, after its first 4096 rows) */
  int64_t seen = row - g->row0;
  if (seen >= 4096 && seen < 4096 + CSV_BATCH && d->count * 2 > (size_t)seen &&
      g->rows > seen) {
    double share = (double)d->count / (double)seen;
    size_t entries = (size_t)((double)g->rows * share * 1.1) + 1024;
    size_t bytes = (size_t)((double)d->len / (double)d->count * (double)entries) + 4096;
    if (strdict_reserve(d, entries, bytes) != 0) return RD_NOMEM(&g->r);
  }
  /* hash and prefetch the slots first: large dictionaries miss the cache
   * on every lookup otherwise */
  uint64_t hashes[CSV_BATCH];
  for (int i = from; i < nb; i++)
    if (col[i].p) {
      hashes[i] = fx_hash(col[i].p, col[i].n);
      strdict_prefetch(d, hashes[i]);
    }
  for (int i = from; i < nb; i++) {
    const char *s = col[i].p;
    size_t n = col[i].n;
    if (!s || is_na(na, s, n)) {
      put_value(j, c, row + i, 0);
      nulls++;
      uint8_t *valid = validity_of(j, c);
      if (!valid) return RD_NOMEM(&g->r);
      clear_bit(valid, row + i, atomic);
      continue;
    }
    size_t before = d->count;
    int32_t code = strdict_add(d, s, n, hashes[i]);
    if (code < 0)
      return rd_fail(&g->r, ASSAY_ERR_NOMEM, -1,
                     "column \"%s\": out of memory (or more than 2^31 distinct strings)",
                     j->names[c]);
    if (d->count != before) {
      size_t at;
      if (!fx_utf8_valid((const unsigned char *)s, n, &at)) {
        /* the bad byte's line: its record's, plus the line breaks before it
         * in the record (in the field only, for text unescaped into
         * scratch) */
        const char *rec = g->rec_at[i];
        int in_buf = s >= rec && s < g->r.buf + g->r.len;
        int64_t line = g->lines_at[i] + count_nl(in_buf ? rec : s, s + at);
        return rd_fail(&g->r, ASSAY_ERR_DATA, line,
                       "column \"%s\" is not valid UTF-8 (data row %lld, byte %zu of the field)",
                       j->names[c], (long long)(row + i + 1), at + 1);
      }
    }
    put_value(j, c, row + i, code);
  }
  g->nulls[c] += nulls;
  return 0;
}

/* One column of a batch: values parsed as the range's guess says (which
 * the values may change). */
static int parse_column(range *g, int c, int nb, int64_t row) {
  csvjob *j = g->job;
  const na_set *na = &j->na;
  const int atomic = j->threads > 1;
  const span *col = g->spans + (size_t)c * CSV_BATCH;
  colspec *st = &g->spec[c];
  int64_t nulls = 0;
  int i = 0;
  if (j->narrow[c]) { /* bools (or else strings) */
    int32_t *v = (int32_t *)j->values[c] + row;
    while (i < nb && st->type != T_STR) {
      const char *s = col[i].p;
      size_t n = col[i].n;
      uint8_t b = 0;
      if (!s || is_na(na, s, n)) {
        v[i] = 0;
        nulls++;
        uint8_t *valid = validity_of(j, c);
        if (!valid) return RD_NOMEM(&g->r);
        clear_bit(valid, row + i, atomic);
        i++;
      } else if (st->type == T_BOOL && fx_parse_bool(s, n, &b)) {
        v[i++] = b;
      } else if (retype(g, c, s, n, row + i) != 0) {
        return -1;
      }
    }
    g->nulls[c] += nulls;
    return i < nb ? parse_strings(g, c, nb, row, i) : 0;
  }
  uint64_t *v = (uint64_t *)j->values[c] + row;
  while (i < nb && st->type != T_STR) {
    const char *s = col[i].p;
    size_t n = col[i].n;
    if (!s || is_na(na, s, n)) {
      v[i] = 0;
      nulls++;
      uint8_t *valid = validity_of(j, c);
      if (!valid) return RD_NOMEM(&g->r);
      clear_bit(valid, row + i, atomic);
      i++;
      continue;
    }
    int ok = 0;
    switch (st->type) {
      case T_INT: {
        int ovf;
        ok = fx_parse_int(s, n, (int64_t *)&v[i], &ovf);
        break;
      }
      case T_FLOAT: ok = fx_parse_float(s, n, (double *)&v[i]); break;
      case T_BOOL: {
        uint8_t b = 0;
        ok = fx_parse_bool(s, n, &b);
        v[i] = b;
        break;
      }
      case T_TS: ok = fx_parse_timestamp(s, n, (int64_t *)&v[i]); break;
      default: break; /* T_NONE: the first value decides */
    }
    if (ok)
      i++;
    else if (retype(g, c, s, n, row + i) != 0)
      return -1;
  }
  g->nulls[c] += nulls;
  return i < nb ? parse_strings(g, c, nb, row, i) : 0;
}

/* Pass 2 over one range: parse its rows into the frame's buffers. */
static void *parse_range(void *arg) {
  range *g = arg;
  csvjob *j = g->job;
  g->rc = rd_open(&g->r, j->fd, j->delim, g->start, g->end, g->end == j->size);
  for (int c = 0; c < j->ncols && g->rc == 0; c++)
    if (j->is_str[c]) { /* no guessing: the first rows decided */
      g->spec[c].type = T_STR;
      if (!g->dicts[c].slots && strdict_init(&g->dicts[c]) != 0) g->rc = RD_NOMEM(&g->r);
    }
  int64_t row = g->row0, end_row = g->row0 + g->rows;
  while (g->rc == 0 && row < end_row) {
    int nb, done;
    if (next_batch(j, g, end_row - row, &nb, &done) != 0) {
      g->rc = -1;
      break;
    }
    if (nb == 0) {
      g->rc = CHANGED(g);
      break;
    }
    for (int c = 0; c < j->ncols && g->rc == 0; c++)
      if (parse_column(g, c, nb, row) != 0) g->rc = -1;
    row += nb;
    if (done && row < end_row && g->rc == 0) g->rc = CHANGED(g);
  }
  return NULL;
}

/* The repair: rows of this range whose column fell back to strings after
 * they were parsed as something else get their text's codes. */
static void *repair_range(void *arg) {
  range *g = arg;
  csvjob *j = g->job;
  if (!g->repair || g->rc) return NULL;
  const na_set *na = &j->na;
  int64_t upto = 0; /* rows of the range that need looking at */
  for (int c = 0; c < j->ncols; c++)
    if (g->spec[c].text_before > upto) upto = g->spec[c].text_before;
  g->rc = rd_open(&g->r, j->fd, j->delim, g->start, g->end, g->end == j->size);
  int64_t rel = 0;
  while (g->rc == 0 && rel < upto) {
    int nb, done;
    if (next_batch(j, g, upto - rel, &nb, &done) != 0) {
      g->rc = -1;
      break;
    }
    if (nb == 0) {
      g->rc = CHANGED(g);
      break;
    }
    for (int c = 0; c < j->ncols && g->rc == 0; c++) {
      int64_t before = g->spec[c].text_before;
      if (rel >= before) continue;
      const span *col = g->spans + (size_t)c * CSV_BATCH;
      strdict *d = &g->dicts[c];
      for (int i = 0; i < nb && rel + i < before; i++) {
        const char *s = col[i].p;
        size_t n = col[i].n;
        if (!s || is_na(na, s, n)) continue;
        size_t had = d->count;
        int32_t code = strdict_add(d, s, n, fx_hash(s, n));
        if (code < 0) {
          g->rc = RD_NOMEM(&g->r);
          break;
        }
        size_t at;
        if (d->count != had && !fx_utf8_valid((const unsigned char *)s, n, &at)) {
          g->rc = rd_fail(&g->r, ASSAY_ERR_DATA, g->lines_at[i],
                          "column \"%s\" is not valid UTF-8 (data row %lld)", j->names[c],
                          (long long)(g->row0 + rel + i + 1));
          break;
        }
        put_value(j, c, g->row0 + rel + i, code);
      }
    }
    rel += nb;
  }
  return NULL;
}

/* Run fn over the ranges, ranges 1.. on threads, range 0 here. */
static void run_ranges(range *g, int n, void *(*fn)(void *)) {
  pthread_t tid[CSV_MAX_THREADS];
  int started[CSV_MAX_THREADS] = {0};
  for (int k = 1; k < n; k++) started[k] = pthread_create(&tid[k], NULL, fn, &g[k]) == 0;
  fn(&g[0]);
  for (int k = 1; k < n; k++) {
    if (started[k])
      pthread_join(tid[k], NULL);
    else
      fn(&g[k]);
  }
}

static void range_free(range *g, int ncols) {
  rd_free(&g->r);
  free(g->spans);
  free(g->spec);
  free(g->nulls);
  if (g->dicts)
    for (int c = 0; c < ncols; c++)
      if (g->dicts[c].slots) strdict_free(&g->dicts[c]);
  free(g->dicts);
  memset(g, 0, sizeof *g);
}

static int range_init(range *g, csvjob *j, int64_t start, int64_t end) {
  memset(g, 0, sizeof *g);
  g->job = j;
  g->start = start;
  g->end = end;
  size_t nc = (size_t)(j->ncols ? j->ncols : 1);
  g->spans = malloc((size_t)CSV_BATCH * nc * sizeof *g->spans);
  g->spec = calloc(nc, sizeof *g->spec);
  g->nulls = calloc(nc, sizeof *g->nulls);
  g->dicts = calloc(nc, sizeof *g->dicts);
  return g->spans && g->spec && g->nulls && g->dicts ? 0 : -1;
}

/* The first offset after a line break at or after `at` (or the file's
 * size): where a range may start. */
static int64_t next_line_start(csvjob *j, int64_t at) {
  char buf[4096];
  while (at < j->size) {
    size_t want = sizeof buf;
    if ((int64_t)want > j->size - at) want = (size_t)(j->size - at);
    ssize_t n = pread(j->fd, buf, want, (off_t)at);
    if (n <= 0) return j->size;
    const char *nl = memchr(buf, '\n', (size_t)n);
    if (nl) return at + (nl - buf) + 1;
    at += n;
  }
  return j->size;
}

static int threads_wanted(const csvjob *j, int64_t data_bytes) {
  if (j->max_rows) return 1;
  const char *env = getenv("ASSAY_CSV_THREADS"); /* tests: force a split */
  if (env && *env) {
    long t = strtol(env, NULL, 10);
    return t < 1 ? 1 : t > CSV_MAX_THREADS ? CSV_MAX_THREADS : (int)t;
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  int64_t by_size = data_bytes / CSV_MIN_RANGE;
  int64_t t = cpus < 1 ? 1 : cpus;
  if (t > by_size) t = by_size;
  if (t > CSV_MAX_THREADS) t = CSV_MAX_THREADS;
  return t < 1 ? 1 : (int)t;
}

/* Pass 1 with n ranges from data_start; 0 and the ranges set (rows, first
 * rows, first lines), 1 when a range did not start on a record boundary
 * (count again with one), or an error. */
static int pass1(csvjob *j, range *g, int n, int64_t data_start, int64_t header_lines) {
  int64_t bytes = j->size - data_start;
  int64_t prev = data_start;
  for (int k = 0; k < n; k++) {
    int64_t end = k == n - 1 ? j->size : next_line_start(j, data_start + bytes / n * (k + 1));
    if (end < prev) end = prev;
    if (range_init(&g[k], j, prev, end) != 0) return assay__nomem();
    prev = end;
  }
  run_ranges(g, n, count_range);
  int64_t line = 1 + header_lines, rows = 0;
  for (int k = 0; k < n; k++) {
    g[k].start_line = line;
    if (g[k].rc) {
      if (g[k].r.misaligned) return 1;
      return job_error(j, &g[k]);
    }
    line += g[k].lines;
    g[k].row0 = rows;
    rows += g[k].rows;
  }
  j->rows = rows;
  return 0;
}

static void job_free(csvjob *j) {
  for (int c = 0; c < j->ncols; c++) {
    if (j->names) free(j->names[c]);
    if (j->values) free(j->values[c]);
    if (j->validity) free(j->validity[c]);
  }
  free(j->names);
  free(j->types);
  free(j->values);
  free(j->narrow);
  free(j->is_str);
  free(j->validity);
  na_free(&j->na);
  if (j->fd >= 0) close(j->fd);
}

/* Merge range k's dictionary of column c into range 0's and renumber its
 * rows' codes. 0, or -1 when out of memory (or past 2^31 entries). */
static int merge_dict(csvjob *j, range *g, int k, int c) {
  strdict *base = &g[0].dicts[c], *d = &g[k].dicts[c];
  if (!d->slots || d->count == 0) return 0;
  if (d->count > 65536 && strdict_reserve(base, base->count + d->count, base->len + d->len) != 0)
    return -1;
  int32_t *map = malloc(d->count * sizeof *map);
  if (!map) return -1;
  for (size_t e = 0; e < d->count; e++) {
    if (e + 8 < d->count) strdict_prefetch(base, d->hashes[e + 8]);
    const char *s = d->data + d->offsets[e];
    map[e] = strdict_add(base, s, (size_t)(d->offsets[e + 1] - d->offsets[e]), d->hashes[e]);
    if (map[e] < 0) {
      free(map);
      return -1;
    }
  }
  const uint8_t *valid = j->validity[c];
  for (int64_t row = g[k].row0; row < g[k].row0 + g[k].rows; row++)
    if (!valid || ((valid[row >> 3] >> (row & 7)) & 1))
      put_value(j, c, row, map[get_value(j, c, row)]);
  free(map);
  return 0;
}

/* The columns' final work, a column per task: string dictionaries merged
 * into range 0's, then the values packed to their type's width. */
typedef struct finish_job {
  csvjob *j;
  range *g;
  int n;
  int next;     /* the next column (atomic) */
  int failed;   /* a column that failed + 1 */
} finish_job;

static void *finish_worker(void *arg) {
  finish_job *m = arg;
  csvjob *j = m->j;
  for (;;) {
    int c = __atomic_fetch_add(&m->next, 1, __ATOMIC_RELAXED);
    if (c >= j->ncols) break;
    col_type t = j->types[c];
    if (t == COL_STRING) {
      int bad = 0;
      for (int k = 1; k < m->n && !bad; k++) bad = merge_dict(j, m->g, k, c) != 0;
      if (bad) {
        __atomic_store_n(&m->failed, c + 1, __ATOMIC_RELAXED);
        continue;
      }
    }
    if ((t == COL_BOOL || t == COL_STRING) && !(t == COL_STRING && j->narrow[c])) {
      /* pack in place (each value moves down), then give back the rest */
      void *v = j->values[c];
      if (t == COL_BOOL) {
        uint8_t *o = v;
        for (int64_t i = 0; i < j->rows; i++) o[i] = (uint8_t)get_value(j, c, i);
      } else {
        int32_t *o = v;
        for (int64_t i = 0; i < j->rows; i++) o[i] = (int32_t)((const int64_t *)v)[i];
      }
      void *shrunk = realloc(v, fx_mul((size_t)j->rows, fx_width(t)) + 64);
      if (shrunk) j->values[c] = shrunk;
    }
  }
  return NULL;
}

static int finish_columns(csvjob *j, range *g, int n) {
  finish_job m = {j, g, n, 0, 0};
  int threads = n;
  pthread_t tid[CSV_MAX_THREADS];
  int started[CSV_MAX_THREADS] = {0};
  for (int t = 1; t < threads; t++) started[t] = pthread_create(&tid[t], NULL, finish_worker, &m) == 0;
  finish_worker(&m);
  for (int t = 1; t < threads; t++)
    if (started[t]) pthread_join(tid[t], NULL);
  if (m.failed)
    return assay__err(ASSAY_ERR_NOMEM, "CSV file %s, column \"%s\": out of memory (or more "
                                       "than 2^31 distinct strings)",
                      j->name, j->names[m.failed - 1]);
  return 0;
}

/* The column types from the ranges' guesses; ranges that guessed int for a
 * float column are converted, ranges that guessed other than string for a
 * string column marked for repair. */
static int settle_types(csvjob *j, range *g, int n) {
  for (int c = 0; c < j->ncols; c++) {
    int t = T_NONE;
    for (int k = 0; k < n; k++) {
      int u = g[k].spec[c].type;
      if (u == T_NONE || u == t) continue;
      if (t == T_NONE)
        t = u;
      else if ((t == T_INT && u == T_FLOAT) || (t == T_FLOAT && u == T_INT))
        t = T_FLOAT;
      else
        t = T_STR;
    }
    j->types[c] = t == T_NONE    ? COL_FLOAT64 /* no values: float64, as pandas */
                  : t == T_BOOL  ? COL_BOOL
                  : t == T_INT   ? COL_INT64
                  : t == T_FLOAT ? COL_FLOAT64
                  : t == T_TS    ? COL_TIMESTAMP
                                 : COL_STRING;
    for (int k = 0; k < n; k++) {
      colspec *st = &g[k].spec[c];
      if (st->type == t || st->type == T_NONE) {
        /* a range of only nulls holds zeros: right for every type */
      } else if (t == T_FLOAT && st->type == T_INT) {
        uint64_t *v = (uint64_t *)j->values[c] + g[k].row0;
        for (int64_t i = 0; i < g[k].rows; i++) {
          double x = (double)(int64_t)v[i];
          memcpy(&v[i], &x, 8);
        }
      } else { /* t == T_STR */
        st->text_before = g[k].rows;
        g[k].repair = 1;
      }
      if (t == T_STR && !g[k].dicts[c].slots && strdict_init(&g[k].dicts[c]) != 0)
        return assay__nomem();
      st->type = t;
    }
  }
  return 0;
}

/* The first records tell which columns are certainly strings (a value
 * that is no bool, number or timestamp, or values of two of those kinds)
 * and which hold bools (bools or else strings): their values take 4 bytes
 * a row while reading, not 8, and string columns skip guessing. Anything
 * odd in those rows (an error) is left for pass 2 to report. */
static int sample_types(csvjob *j, int64_t data_start) {
  enum { M_BOOL = 1, M_INT = 2, M_FLOAT = 4, M_TS = 8, M_ALL = 15 };
  range g;
  if (range_init(&g, j, data_start, j->size) != 0) {
    range_free(&g, j->ncols);
    return assay__nomem();
  }
  int nb = 0, done = 0;
  if (rd_open(&g.r, j->fd, j->delim, data_start, j->size, 1) == 0 &&
      next_batch(j, &g, j->max_rows && j->max_rows < CSV_BATCH ? j->max_rows : CSV_BATCH, &nb,
                 &done) == 0) {
    for (int c = 0; c < j->ncols; c++) {
      const span *col = g.spans + (size_t)c * CSV_BATCH;
      unsigned may = M_ALL;
      int seen = 0;
      for (int i = 0; i < nb && may; i++) {
        const char *s = col[i].p;
        size_t n = col[i].n;
        if (!s || is_na(&j->na, s, n)) continue;
        seen = 1;
        int64_t ts;
        uint8_t b;
        int kind = fx_number_kind(s, n);
        if (kind == 1)
          may &= M_INT | M_FLOAT;
        else if (kind == 2)
          may &= M_FLOAT;
        else if (fx_parse_bool(s, n, &b))
          may &= M_BOOL;
        else if (fx_parse_timestamp(s, n, &ts))
          may &= M_TS;
        else
          may = 0;
      }
      j->is_str[c] = seen && !may;
      j->narrow[c] = seen && (!may || may == M_BOOL);
    }
  }
  range_free(&g, j->ncols);
  return 0;
}

static int build(csvjob *j, frame **out);

int csv_read(frame **out, const char *path, const csv_options *opts) {
  *out = NULL;
  csv_options defaults = CSV_OPTIONS_INIT;
  const csv_options *o = opts ? opts : &defaults;
  if (o->delimiter == '"' || o->delimiter == '\n' || o->delimiter == '\r' || o->delimiter == '\0')
    return assay__err(ASSAY_ERR_CONFIG, "the CSV delimiter cannot be a quote, a line break or "
                                        "NUL");
  if (o->nrows < 0) return assay__err(ASSAY_ERR_CONFIG, "nrows must be >= 0 (0: all rows)");
  char *copy = strdup(path ? path : "");
  if (!copy) return assay__nomem();
  csvjob j;
  memset(&j, 0, sizeof j);
  j.fd = -1;
  j.name = basename(copy);
  j.delim = o->delimiter;
  j.max_rows = o->nrows;
  int rc = na_build(&j.na, o);
  if (rc == 0) {
    j.fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (j.fd < 0) {
      int err = errno;
      rc = assay__err(err == ENOENT ? ASSAY_ERR_NOT_FOUND : ASSAY_ERR_DATA,
                      "cannot open the CSV file %s: %s", j.name, strerror(err));
    } else if (fstat(j.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      rc = assay__err(ASSAY_ERR_DATA, "%s is not a regular file", j.name);
    } else {
      j.size = (int64_t)st.st_size;
#if defined(POSIX_FADV_SEQUENTIAL)
      posix_fadvise(j.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    }
  }
  int64_t data_start = 0, header_lines = 0;
  if (rc == 0) rc = read_header(&j, &data_start, &header_lines);
  range g[CSV_MAX_THREADS];
  memset(g, 0, sizeof g);
  int n = 0;
  if (rc == 0) {
    size_t nc = (size_t)(j.ncols ? j.ncols : 1);
    j.types = calloc(nc, sizeof *j.types);
    j.values = calloc(nc, sizeof *j.values);
    j.narrow = calloc(nc, 1);
    j.is_str = calloc(nc, 1);
    j.validity = calloc(nc, sizeof *j.validity);
    if (!j.types || !j.values || !j.narrow || !j.is_str || !j.validity) rc = assay__nomem();
  }
  if (rc == 0) rc = sample_types(&j, data_start);
  /* pass 1: the records, range by range */
  if (rc == 0) {
    n = threads_wanted(&j, j.size - data_start);
    rc = pass1(&j, g, n, data_start, header_lines);
    if (rc == 1) { /* a range began inside a quoted field: one range */
      for (int k = 0; k < n; k++) range_free(&g[k], j.ncols);
      n = 1;
      rc = pass1(&j, g, n, data_start, header_lines);
    }
  }
  j.threads = n;
  /* pass 2: the values, 8 bytes a row for now (4 for narrow columns) */
  for (int c = 0; rc == 0 && c < j.ncols; c++) {
    j.values[c] = fx_alloc(fx_mul((size_t)j.rows, j.narrow[c] ? 4 : 8));
    if (!j.values[c]) rc = assay__nomem();
  }
  if (rc == 0) {
    run_ranges(g, n, parse_range);
    for (int k = 0; k < n && rc == 0; k++)
      if (g[k].rc) rc = job_error(&j, &g[k]);
  }
  if (rc == 0) rc = settle_types(&j, g, n);
  if (rc == 0) {
    int any = 0;
    for (int k = 0; k < n; k++) any |= g[k].repair;
    if (any) {
      run_ranges(g, n, repair_range);
      for (int k = 0; k < n && rc == 0; k++)
        if (g[k].rc) rc = job_error(&j, &g[k]);
    }
  }
  if (rc == 0) rc = finish_columns(&j, g, n);
  frame *f = NULL;
  if (rc == 0) {
    rc = build(&j, &f);
    for (int c = 0; rc == 0 && c < j.ncols; c++) {
      column *k = &f->cols[c];
      k->null_count = 0;
      for (int r = 0; r < n; r++) k->null_count += g[r].nulls[c];
      if (j.types[c] == COL_STRING && strdict_give(&g[0].dicts[c], k) != 0) rc = assay__nomem();
    }
  }
  for (int k = 0; k < n; k++) range_free(&g[k], j.ncols);
  job_free(&j);
  free(copy);
  if (rc) {
    frame_free(f);
    return rc;
  }
  *out = f;
  return 0;
}

/* The frame, taking the job's buffers. */
static int build(csvjob *j, frame **out) {
  frame *f = calloc(1, sizeof *f);
  if (f) f->cols = calloc((size_t)(j->ncols ? j->ncols : 1), sizeof *f->cols);
  if (!f || !f->cols) {
    free(f);
    return assay__nomem();
  }
  f->rows = j->rows;
  f->ncols = j->ncols;
  for (int c = 0; c < j->ncols; c++) {
    column *k = &f->cols[c];
    k->name = j->names[c];
    j->names[c] = NULL;
    k->type = j->types[c];
    k->values = k->owned[1] = j->values[c];
    j->values[c] = NULL;
    k->validity = k->owned[0] = j->validity[c];
    j->validity[c] = NULL;
  }
  *out = f;
  return 0;
}

/* --- options ------------------------------------------------------------------------------ */

int csv_options_from_json(csv_options *out, const json_t *kw) {
  csv_options o = CSV_OPTIONS_INIT;
  *out = o;
  if (!kw || json_is_null(kw)) return 0;
  const char *known = "\"sep\", \"delimiter\", \"nrows\", \"na_values\", \"keep_default_na\"";
  if (!json_is_object(kw))
    return assay__err(ASSAY_ERR_CONFIG, "loading_kwargs: expected an object with keys %s", known);
  const char *key;
  json_t *v;
  int have_delim = 0;
  json_object_foreach((json_t *)kw, key, v) {
    if (strcmp(key, "sep") == 0 || strcmp(key, "delimiter") == 0) {
      if (json_is_null(v)) continue;
      if (!json_is_string(v) || json_string_length(v) != 1)
        return assay__err(ASSAY_ERR_CONFIG, "loading_kwargs.%s: expected a one-character "
                                            "string", key);
      char d = json_string_value(v)[0];
      if (d == '"' || d == '\n' || d == '\r' || d == '\0' || (unsigned char)d >= 0x80)
        return assay__err(ASSAY_ERR_CONFIG, "loading_kwargs.%s: the delimiter cannot be a "
                                            "quote, a line break, NUL or a non-ASCII byte", key);
      if (have_delim && d != o.delimiter)
        return assay__err(ASSAY_ERR_CONFIG, "loading_kwargs: \"sep\" and \"delimiter\" differ; "
                                            "give one");
      o.delimiter = d;
      have_delim = 1;
    } else if (strcmp(key, "nrows") == 0) {
      if (json_is_null(v)) continue;
      if (!json_is_integer(v) || json_integer_value(v) < 1)
        return assay__err(ASSAY_ERR_CONFIG, "loading_kwargs.nrows: expected a positive integer "
                                            "(or null for all rows)");
      o.nrows = (int64_t)json_integer_value(v);
    } else if (strcmp(key, "na_values") == 0) {
      if (json_is_null(v)) continue;
      int ok = json_is_string(v) || json_is_array(v);
      for (size_t i = 0; ok && json_is_array(v) && i < json_array_size(v); i++)
        ok = json_is_string(json_array_get(v, i));
      if (!ok)
        return assay__err(ASSAY_ERR_CONFIG, "loading_kwargs.na_values: expected a string or an "
                                            "array of strings");
      o.na_values = v;
    } else if (strcmp(key, "keep_default_na") == 0) {
      if (!json_is_boolean(v))
        return assay__err(ASSAY_ERR_CONFIG, "loading_kwargs.keep_default_na: expected true or "
                                            "false");
      o.keep_default_na = json_is_true(v);
    } else {
      return assay__err(ASSAY_ERR_CONFIG, "loading_kwargs: unknown key \"%s\"; the native CSV "
                                          "reader takes %s",
                        key, known);
    }
  }
  *out = o;
  return 0;
}

/* --- the writer ------------------------------------------------------------------------------ */

typedef struct wout {
  int fd;
  char *buf;
  size_t len, cap;
  int failed;
  int err;
} wout;

static void w_flush(wout *w) {
  const char *p = w->buf;
  size_t n = w->len;
  while (n && !w->failed) {
    ssize_t k = write(w->fd, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      w->failed = 1;
      w->err = errno;
      break;
    }
    p += k;
    n -= (size_t)k;
  }
  w->len = 0;
}

static inline void w_put(wout *w, const char *s, size_t n) {
  if (w->len + n > w->cap) w_flush(w);
  if (n > w->cap) {
    /* larger than the buffer: straight through */
    while (n && !w->failed) {
      ssize_t k = write(w->fd, s, n);
      if (k < 0) {
        if (errno == EINTR) continue;
        w->failed = 1;
        w->err = errno;
        break;
      }
      s += k;
      n -= (size_t)k;
    }
    return;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
}

/* A string field, quoted when it holds a delimiter, quote or line break,
 * or is empty / only blanks (which would read back as null or be skipped). */
static void w_string(wout *w, const char *s, size_t n) {
  int quote = n == 0;
  size_t blanks = 0;
  for (size_t i = 0; i < n && !quote; i++) {
    char c = s[i];
    if (c == ',' || c == '"' || c == '\n' || c == '\r') quote = 1;
    if (c == ' ' || c == '\t') blanks++;
  }
  if (!quote && blanks == n) quote = 1;
  if (!quote) {
    w_put(w, s, n);
    return;
  }
  w_put(w, "\"", 1);
  const char *seg = s;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '"') {
      w_put(w, seg, (size_t)(s + i + 1 - seg));
      w_put(w, "\"", 1);
      seg = s + i + 1;
    }
  w_put(w, seg, (size_t)(s + n - seg));
  w_put(w, "\"", 1);
}

int csv_write(const frame *f, const char *path) {
  if (!f || !path) return assay__err(ASSAY_ERR_INTERNAL, "csv_write: bad arguments");
  wout w = {0};
  w.cap = 1 << 20;
  w.buf = malloc(w.cap);
  if (!w.buf) return assay__nomem();
  w.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (w.fd < 0) {
    int err = errno;
    free(w.buf);
    return assay__err(ASSAY_ERR_STORE, "cannot create the CSV file %s: %s", path, strerror(err));
  }
  for (int k = 0; k < f->ncols; k++) {
    if (k) w_put(&w, ",", 1);
    w_string(&w, f->cols[k].name, strlen(f->cols[k].name));
  }
  w_put(&w, "\n", 1);
  char tmp[64];
  for (int64_t i = 0; i < f->rows && !w.failed; i++) {
    for (int k = 0; k < f->ncols; k++) {
      const column *c = &f->cols[k];
      if (k) w_put(&w, ",", 1);
      if (!col_valid(c, i)) {
        /* a row of one null column would be a blank line, which is skipped */
        if (f->ncols == 1) w_put(&w, "\"\"", 2);
        continue;
      }
      size_t n = 0;
      switch (c->type) {
        case COL_INT64:
          n = (size_t)snprintf(tmp, sizeof tmp, "%lld", (long long)((const int64_t *)c->values)[i]);
          w_put(&w, tmp, n);
          break;
        case COL_FLOAT64: {
          n = fx_format_float(((const double *)c->values)[i], tmp);
          /* keep integral values a float when read back */
          if (!strpbrk(tmp, ".eEn")) {
            memcpy(tmp + n, ".0", 3);
            n += 2;
          }
          w_put(&w, tmp, n);
          break;
        }
        case COL_BOOL:
          if (((const uint8_t *)c->values)[i])
            w_put(&w, "True", 4);
          else
            w_put(&w, "False", 5);
          break;
        case COL_TIMESTAMP:
          n = fx_format_timestamp(((const int64_t *)c->values)[i], tmp);
          w_put(&w, tmp, n);
          break;
        case COL_STRING: {
          int32_t code = ((const int32_t *)c->values)[i];
          int64_t a = c->dict_offsets[code], b = c->dict_offsets[code + 1];
          w_string(&w, c->dict_data + a, (size_t)(b - a));
          break;
        }
      }
    }
    w_put(&w, "\n", 1);
  }
  w_flush(&w);
  if (!w.failed && fsync(w.fd) != 0) {
    w.failed = 1;
    w.err = errno;
  }
  if (close(w.fd) != 0 && !w.failed) {
    w.failed = 1;
    w.err = errno;
  }
  free(w.buf);
  if (w.failed) {
    unlink(path);
    return assay__err(ASSAY_ERR_STORE, "cannot write the CSV file %s: %s", path,
                      strerror(w.err));
  }
  return 0;
}
