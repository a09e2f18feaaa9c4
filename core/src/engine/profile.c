/* engine/profile.c — the schema profile: per column its type, null share
 * and exact distinct count.
 *
 * Distinct counts: bools look at two flags; integers within a narrow range
 * set bits in a bitmap; other numbers are gathered as 64-bit keys and
 * counted in a small hash set while that stays small (cache-resident),
 * else partitioned by hash (one streaming pass) and counted partition by
 * partition, each partition's set small enough for the cache. Strings count
 * the distinct texts among the dictionary codes in use (a mapped file's
 * dictionary may hold unused or repeated entries): the same partitioning
 * over (hash, code) pairs, texts compared when hashes are equal. Columns
 * are profiled on several threads when the frame is large. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/frame_impl.h"
#include "internal.h"

#define SMALL_SET_MAX 32768      /* distinct keys kept in the first, simple set */
#define PART_BITS 8              /* 256 partitions */
#define PROFILE_MAX_THREADS 8

/* --- scratch buffers ----------------------------------------------------------------------- */

/* Each worker reuses its buffers from column to column: fresh memory costs
 * page faults (and zeroing) every time. */
typedef struct scratch {
  void *buf[4];
  size_t size[4];
} scratch;

static void *sc_get(scratch *sc, int i, size_t bytes) {
  if (!sc->buf[i] || sc->size[i] < bytes) {
    free(sc->buf[i]);
    sc->buf[i] = malloc(bytes ? bytes : 1);
    sc->size[i] = sc->buf[i] ? bytes : 0;
  }
  return sc->buf[i];
}

static void sc_free(scratch *sc) {
  for (int i = 0; i < 4; i++) free(sc->buf[i]);
}

/* --- counting distinct 64-bit keys -------------------------------------------------------- */

static inline size_t pow2_at_least(size_t n) {
  size_t c = 16;
  while (c < n) c *= 2;
  return c;
}

/* The 64-bit keys of a numeric column's valid rows, read in place: the
 * value's bits (for floats with -0.0 taken as 0.0, one value). */
typedef struct keysrc {
  const column *c;
  const uint64_t *v;
  int64_t rows;
  int is_float;
} keysrc;

static inline int key_at(const keysrc *k, int64_t i, uint64_t *out) {
  if (!col_valid(k->c, i)) return 0;
  uint64_t x = k->v[i];
  if (k->is_float && x == 0x8000000000000000ull) x = 0;
  *out = x;
  return 1;
}

/* Distinct keys with a set of at most `limit` distinct keys; -2 when there
 * are more, -1 out of memory. */
static int64_t small_set_count(scratch *sc, const keysrc *src, size_t limit) {
  size_t cap = pow2_at_least(limit * 2), mask = cap - 1;
  uint64_t *slots = sc_get(sc, 2, cap * sizeof *slots);
  if (!slots) return -1;
  memset(slots, 0, cap * sizeof *slots);
  size_t count = 0;
  int has_zero = 0;
  for (int64_t i = 0; i < src->rows; i++) {
    uint64_t k;
    if (!key_at(src, i, &k)) continue;
    if (!k) {
      has_zero = 1;
      continue;
    }
    size_t j = (size_t)fx_hash_u64(k) & mask;
    while (slots[j] && slots[j] != k) j = (j + 1) & mask;
    if (!slots[j]) {
      if (++count > limit) return -2;
      slots[j] = k;
    }
  }
  return (int64_t)count + has_zero;
}

/* Partitioned count: scatter the keys by the top bits of their hash, then
 * count each partition in its own small set (cache-sized). Uses a key's
 * memory per row. */
static int64_t partitioned_count(scratch *sc, const keysrc *src) {
  enum { P = 1 << PART_BITS };
  size_t start[P + 1];
  memset(start, 0, sizeof start);
  uint64_t *tmp = sc_get(sc, 1, (size_t)src->rows * sizeof *tmp);
  if (!tmp) return -1;
  for (int64_t i = 0; i < src->rows; i++) {
    uint64_t k;
    if (key_at(src, i, &k)) start[(fx_hash_u64(k) >> (64 - PART_BITS)) + 1]++;
  }
  for (int p = 0; p < P; p++) start[p + 1] += start[p];
  size_t fill[P];
  memcpy(fill, start, sizeof fill);
  for (int64_t i = 0; i < src->rows; i++) {
    uint64_t k;
    if (key_at(src, i, &k)) tmp[fill[fx_hash_u64(k) >> (64 - PART_BITS)]++] = k;
  }
  size_t biggest = 0;
  for (int p = 0; p < P; p++)
    if (start[p + 1] - start[p] > biggest) biggest = start[p + 1] - start[p];
  size_t cap = pow2_at_least(biggest * 2);
  uint64_t *slots = sc_get(sc, 2, cap * sizeof *slots);
  int64_t total = slots ? 0 : -1;
  int has_zero = 0;
  for (int p = 0; p < P && slots; p++) {
    size_t a = start[p], b = start[p + 1];
    size_t pc = pow2_at_least((b - a) * 2), mask = pc - 1;
    memset(slots, 0, pc * sizeof *slots);
    for (size_t i = a; i < b; i++) {
      uint64_t k = tmp[i];
      if (!k) {
        has_zero = 1;
        continue;
      }
      /* the low bits index: the high ones chose the partition */
      size_t j = (size_t)fx_hash_u64(k) & mask;
      while (slots[j] && slots[j] != k) j = (j + 1) & mask;
      if (!slots[j]) {
        slots[j] = k;
        total++;
      }
    }
  }
  return total < 0 ? -1 : total + has_zero;
}

/* --- per type --------------------------------------------------------------------------------- */

static int64_t distinct_numbers(scratch *sc, const column *c, int64_t rows) {
  const int is_float = c->type == COL_FLOAT64;
  if (!is_float) {
    /* integers in a narrow range: one bit per possible value */
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    const int64_t *v = c->values;
    for (int64_t i = 0; i < rows; i++)
      if (col_valid(c, i)) {
        if (v[i] < lo) lo = v[i];
        if (v[i] > hi) hi = v[i];
      }
    if (lo > hi) return 0;
    uint64_t range = (uint64_t)hi - (uint64_t)lo;
    uint64_t limit = (uint64_t)rows * 16 > (1u << 23) ? (uint64_t)rows * 16 : (1u << 23);
    if (range < limit) {
      size_t words = (size_t)(range / 64 + 1);
      uint64_t *bits = sc_get(sc, 3, words * 8);
      if (!bits) return -1;
      memset(bits, 0, words * 8);
      for (int64_t i = 0; i < rows; i++)
        if (col_valid(c, i)) {
          uint64_t k = (uint64_t)v[i] - (uint64_t)lo;
          bits[k >> 6] |= 1ull << (k & 63);
        }
      int64_t n = 0;
      for (size_t w = 0; w < words; w++) n += __builtin_popcountll(bits[w]);
      return n;
    }
  }
  keysrc src = {c, c->values, rows, is_float};
  int64_t valid = rows - (c->validity ? c->null_count : 0);
  size_t limit = valid < SMALL_SET_MAX ? (size_t)(valid > 0 ? valid : 1) : SMALL_SET_MAX;
  int64_t d = small_set_count(sc, &src, limit);
  return d != -2 ? d : partitioned_count(sc, &src);
}

/* A (hash, code) pair of a dictionary entry in use. */
typedef struct hcode {
  uint64_t h;
  int64_t code;
} hcode;

static inline int same_text(const column *c, int64_t a, int64_t b) {
  int64_t la = c->dict_offsets[a + 1] - c->dict_offsets[a];
  int64_t lb = c->dict_offsets[b + 1] - c->dict_offsets[b];
  return la == lb &&
         memcmp(c->dict_data + c->dict_offsets[a], c->dict_data + c->dict_offsets[b],
                (size_t)la) == 0;
}

/* Distinct texts among the pairs (one partition): a set keyed by hash;
 * equal hashes compare the texts. */
static int64_t count_texts(const column *c, const hcode *e, size_t n, hcode *slots, size_t cap) {
  size_t mask = cap - 1;
  memset(slots, 0xff, cap * sizeof *slots); /* code -1: empty */
  int64_t d = 0;
  for (size_t i = 0; i < n; i++) {
    size_t j = (size_t)(e[i].h ^ (e[i].h >> 29)) & mask;
    int dup = 0;
    while (slots[j].code >= 0) {
      if (slots[j].h == e[i].h && same_text(c, slots[j].code, e[i].code)) {
        dup = 1;
        break;
      }
      j = (j + 1) & mask;
    }
    if (!dup) {
      slots[j] = e[i];
      d++;
    }
  }
  return d;
}

static int64_t distinct_strings(scratch *sc, const column *c, int64_t rows) {
  if (c->dict_count == 0) return 0;
  size_t words = (size_t)(c->dict_count / 64 + 1);
  uint64_t *used = sc_get(sc, 3, words * 8);
  if (!used) return -1;
  memset(used, 0, words * 8);
  const int32_t *codes = c->values;
  if (!c->validity) {
    for (int64_t i = 0; i < rows; i++) used[(uint32_t)codes[i] >> 6] |= 1ull << (codes[i] & 63);
  } else {
    for (int64_t i = 0; i < rows; i++)
      if (col_valid(c, i)) used[(uint32_t)codes[i] >> 6] |= 1ull << (codes[i] & 63);
  }
  size_t n = 0;
  for (size_t w = 0; w < words; w++) n += (size_t)__builtin_popcountll(used[w]);
  if (c->dict_unique) return (int64_t)n; /* distinct entries: the codes in use */
  hcode *e = sc_get(sc, 0, n * sizeof *e);
  hcode *tmp = sc_get(sc, 1, n * sizeof *tmp);
  enum { P = 1 << PART_BITS };
  size_t start[P + 1];
  memset(start, 0, sizeof start);
  int64_t d = -1;
  if (e && tmp) {
    size_t k = 0;
    for (int64_t code = 0; code < c->dict_count; code++) {
      if (!((used[code >> 6] >> (code & 63)) & 1)) continue;
      const char *s = c->dict_data + c->dict_offsets[code];
      size_t len = (size_t)(c->dict_offsets[code + 1] - c->dict_offsets[code]);
      e[k].h = fx_hash(s, len);
      e[k].code = code;
      start[(e[k].h >> (64 - PART_BITS)) + 1]++;
      k++;
    }
    for (int p = 0; p < P; p++) start[p + 1] += start[p];
    size_t fill[P];
    memcpy(fill, start, sizeof fill);
    size_t biggest = 0;
    for (size_t i = 0; i < n; i++) tmp[fill[e[i].h >> (64 - PART_BITS)]++] = e[i];
    for (int p = 0; p < P; p++)
      if (start[p + 1] - start[p] > biggest) biggest = start[p + 1] - start[p];
    size_t cap = pow2_at_least(biggest * 2);
    hcode *slots = sc_get(sc, 2, cap * sizeof *slots);
    if (slots) {
      d = 0;
      for (int p = 0; p < P; p++) {
        size_t a = start[p], b = start[p + 1];
        d += count_texts(c, tmp + a, b - a, slots, pow2_at_least((b - a) * 2));
      }
    }
  }
  return d;
}

static int64_t distinct_count(scratch *sc, const column *c, int64_t rows) {
  switch (c->type) {
    case COL_BOOL: {
      int seen[2] = {0, 0};
      const uint8_t *v = c->values;
      for (int64_t i = 0; i < rows && !(seen[0] && seen[1]); i++)
        if (col_valid(c, i)) seen[v[i] & 1] = 1;
      return seen[0] + seen[1];
    }
    case COL_INT64:
    case COL_TIMESTAMP:
    case COL_FLOAT64: return distinct_numbers(sc, c, rows);
    case COL_STRING: return distinct_strings(sc, c, rows);
  }
  return 0;
}

/* --- the profile ------------------------------------------------------------------------------ */

typedef struct pjob {
  const frame *f;
  int64_t *distinct;  /* per column; -1: out of memory */
  int next;           /* the next column to take (atomic) */
} pjob;

static void *profile_worker(void *arg) {
  pjob *j = arg;
  scratch sc = {{0}, {0}};
  for (;;) {
    int k = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
    if (k >= j->f->ncols) break;
    j->distinct[k] = distinct_count(&sc, &j->f->cols[k], j->f->rows);
  }
  sc_free(&sc);
  return NULL;
}

int frame_profile(const frame *f, json_t **out) {
  *out = NULL;
  if (!f) return assay__err(ASSAY_ERR_INTERNAL, "frame_profile: no frame");
  pjob j = {f, calloc((size_t)(f->ncols ? f->ncols : 1), sizeof(int64_t)), 0};
  if (!j.distinct) return assay__nomem();
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  int threads = (int)(cpus < 1 ? 1 : cpus > PROFILE_MAX_THREADS ? PROFILE_MAX_THREADS : cpus);
  if (threads > f->ncols) threads = f->ncols;
  if (f->rows * (int64_t)f->ncols < 1000000) threads = 1;
  pthread_t tid[PROFILE_MAX_THREADS];
  int started[PROFILE_MAX_THREADS] = {0};
  for (int t = 1; t < threads; t++)
    started[t] = pthread_create(&tid[t], NULL, profile_worker, &j) == 0;
  profile_worker(&j);
  for (int t = 1; t < threads; t++)
    if (started[t]) pthread_join(tid[t], NULL);
  json_t *list = json_array();
  int rc = list ? 0 : assay__nomem();
  for (int k = 0; rc == 0 && k < f->ncols; k++) {
    const column *c = &f->cols[k];
    int64_t nulls = c->validity ? c->null_count : 0;
    if (j.distinct[k] < 0) {
      rc = assay__err(ASSAY_ERR_NOMEM, "profiling column \"%s\": out of memory", c->name);
      break;
    }
    json_t *e = json_pack("{s:s,s:s,s:f,s:I}", "column", c->name, "type", col_type_name(c->type),
                          "null_share", f->rows ? (double)nulls / (double)f->rows : 0.0,
                          "distinct_count", (json_int_t)j.distinct[k]);
    if (!e || json_array_append_new(list, e) != 0) rc = assay__nomem();
  }
  free(j.distinct);
  if (rc) {
    json_decref(list);
    return rc;
  }
  *out = list;
  return 0;
}
