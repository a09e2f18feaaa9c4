/* engine/stress.c — the stress test engine's core: preparing a run (column
 * roles, labels, predictions, unified category codes, the score order by
 * a bucket sort), the worker pool, large buffers, the shared lazily
 * computed values (reference summaries and quantile edges by selection —
 * no column is sorted — and each numeric feature's per-row bins), building
 * test cases, dispatching the catalogue's tests to the test modules,
 * assembling the run document (stress.h), and assay__debug_stress for the
 * CLI, tests and bench/. */
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "engine/frame_impl.h"
#include "engine/stress_internal.h"
#include "engine/tests_util.h"
#include "internal.h"
#include "runner/runner.h"

#define STRESS_MAX_THREADS 8

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of the process (all threads), in ms. */
static double cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* --- the worker pool ------------------------------------------------------------ */

typedef struct pjob {
  int (*fn)(void *, int);
  void *arg;
  int n, next, done;
  int rc, status;    /* the first failure and its HTTP status */
  char *msg;         /* its message */
  struct pjob *link; /* the pool's list of jobs with items left to claim */
} pjob;

typedef struct stress_pool {
  pthread_mutex_t mu;
  pthread_cond_t work, finished;
  pjob *jobs;
  int stop;
  int nthreads;
  pthread_t tid[STRESS_MAX_THREADS];
} stress_pool;

static void unlink_job(stress_pool *p, pjob *j) {
  for (pjob **q = &p->jobs; *q; q = &(*q)->link)
    if (*q == j) {
      *q = j->link;
      return;
    }
}

/* Claim the next item of j (under the lock); -1 when none is left. */
static int claim(stress_pool *p, pjob *j) {
  if (j->next >= j->n) return -1;
  int i = j->next++;
  if (j->next >= j->n) unlink_job(p, j);
  return i;
}

/* Run item i of j (without the lock held), then record it (with the lock
 * held on return). */
static void run_item(stress_pool *p, pjob *j, int i) {
  int rc = j->fn(j->arg, i);
  char *msg = NULL;
  int status = -1;
  if (rc) {
    const assay_error *e = assay_error_last();
    msg = strdup(e && e->message ? e->message : "a stress test failed");
    status = e ? e->http_status : -1;
  }
  pthread_mutex_lock(&p->mu);
  if (rc && !j->rc) {
    j->rc = rc;
    j->status = status;
    j->msg = msg;
    msg = NULL;
  }
  free(msg);
  if (++j->done == j->n) pthread_cond_broadcast(&p->finished);
}

static void *pool_worker(void *arg) {
  stress_pool *p = arg;
  pthread_mutex_lock(&p->mu);
  while (!p->stop) {
    pjob *j = p->jobs;
    if (!j) {
      pthread_cond_wait(&p->work, &p->mu);
      continue;
    }
    int i = claim(p, j);
    pthread_mutex_unlock(&p->mu);
    run_item(p, j, i);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static void pool_free(stress_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);
  for (int t = 0; t < p->nthreads; t++) pthread_join(p->tid[t], NULL);
  pthread_cond_destroy(&p->work);
  pthread_cond_destroy(&p->finished);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

/* A pool of `workers` threads (the caller of stress_parallel is one more). */
static stress_pool *pool_new(int workers) {
  stress_pool *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->finished, NULL);
  for (int t = 0; t < workers && t < STRESS_MAX_THREADS; t++) {
    if (pthread_create(&p->tid[p->nthreads], NULL, pool_worker, p) != 0) break;
    p->nthreads++;
  }
  return p;
}

int stress_parallel(stress_ctx *c, int n, int (*fn)(void *arg, int i), void *arg) {
  if (n <= 0) return ASSAY_OK;
  stress_pool *p = c ? c->pool : NULL;
  if (!p || p->nthreads == 0 || n == 1) {
    int first = ASSAY_OK, status = -1;
    char *msg = NULL;
    for (int i = 0; i < n; i++) {
      int rc = fn(arg, i);
      if (rc && !first) {
        const assay_error *e = assay_error_last();
        first = rc;
        status = e ? e->http_status : -1;
        msg = strdup(e && e->message ? e->message : "a stress test failed");
      }
    }
    if (first) {
      assay__err_status(first, status, "%s", msg ? msg : "a stress test failed");
      free(msg);
    }
    return first;
  }
  pjob j = {fn, arg, n, 0, 0, 0, -1, NULL, NULL};
  pthread_mutex_lock(&p->mu);
  j.link = p->jobs;
  p->jobs = &j;
  pthread_cond_broadcast(&p->work);
  for (;;) {
    int i = claim(p, &j);
    if (i < 0) break;
    pthread_mutex_unlock(&p->mu);
    run_item(p, &j, i);
  }
  while (j.done < j.n) pthread_cond_wait(&p->finished, &p->mu);
  pthread_mutex_unlock(&p->mu);
  if (j.rc) {
    assay__err_status(j.rc, j.status, "%s", j.msg ? j.msg : "a stress test failed");
    free(j.msg);
  }
  return j.rc;
}

/* --- large buffers ------------------------------------------------------------------- */

/* Buffers from this size on get their own mapping (stress_big_alloc); a
 * 64-byte header before the buffer holds the mapping's length (0: from
 * malloc). */
#define BIG_BYTES ((size_t)8 << 20)
#define BIG_HEAD 64

void *stress_big_alloc(size_t n) {
  if (n > SIZE_MAX - BIG_HEAD) return NULL;
  size_t len = n + BIG_HEAD;
  unsigned char *p = NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (n >= BIG_BYTES) {
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    (void)madvise(m, len, MADV_HUGEPAGE); /* a hint: fine when refused */
    p = m;
  }
#endif
  if (!p) {
    void *m = NULL;
    if (posix_memalign(&m, BIG_HEAD, len) != 0) return NULL;
    p = m;
    len = 0;
  }
  memcpy(p, &len, sizeof len);
  return p + BIG_HEAD;
}

void stress_big_free(void *ptr) {
  if (!ptr) return;
  unsigned char *p = (unsigned char *)ptr - BIG_HEAD;
  size_t len;
  memcpy(&len, p, sizeof len);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (len) {
    munmap(p, len);
    return;
  }
#endif
  free(p);
}

/* --- small helpers ------------------------------------------------------------------- */

int stress_cancelled(const stress_ctx *c) {
  return c && c->in && c->in->cancel && __atomic_load_n(c->in->cancel, __ATOMIC_RELAXED) != 0;
}

static int cancel_error(const stress_ctx *c) {
  int reason = c && c->in && c->in->cancel ? __atomic_load_n(c->in->cancel, __ATOMIC_RELAXED) : 0;
  return assay__err(ASSAY_ERR_UNAVAILABLE, "stress test cancelled: %s",
                    runner_cancel_reason(reason));
}

double stress_num(const column *col, int64_t i) {
  if (!col || !col_valid(col, i)) return NAN;
  switch (col->type) {
    case COL_INT64:
    case COL_TIMESTAMP: return (double)((const int64_t *)col->values)[i];
    case COL_FLOAT64: return ((const double *)col->values)[i];
    case COL_BOOL: return (double)((const uint8_t *)col->values)[i];
    case COL_STRING: {
      int32_t k = ((const int32_t *)col->values)[i];
      int64_t a = col->dict_offsets[k], b = col->dict_offsets[k + 1];
      double v;
      if (fx_parse_float(col->dict_data + a, (size_t)(b - a), &v)) return v;
      return NAN;
    }
  }
  return NAN;
}

/* Whether name is in the JSON array of strings arr. */
static int in_names(const json_t *arr, const char *name) {
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    const char *s = json_string_value(v);
    if (s && strcmp(s, name) == 0) return 1;
  }
  return 0;
}

int stress_excluded(const json_t *test, const char *feature) {
  return feature && in_names(json_object_get(test, "exclude_columns"), feature);
}

/* --- sorting ---------------------------------------------------------------------------- */

/* An order-preserving map of doubles to unsigned integers (-0.0 as +0.0). */
static inline uint64_t sort_key(double v) {
  if (v == 0) v = 0.0;
  uint64_t u;
  memcpy(&u, &v, 8);
  return (u >> 63) ? ~u : (u | 0x8000000000000000ull);
}

#define RADIX_BITS 11
#define RADIX_PASSES 6
#define RADIX_SIZE (1u << RADIX_BITS)

/* LSD radix argsort (stable): stress_argsort's fallback for keys a bucket
 * sort cannot spread. */
static int radix_argsort(const double *key, size_t n, size_t *idx) {
  if (n == 0) return ASSAY_OK;
  if (n < 64) {
    for (size_t i = 0; i < n; i++) idx[i] = i;
    for (size_t i = 1; i < n; i++) { /* stable insertion sort */
      size_t v = idx[i], j = i;
      while (j > 0 && key[idx[j - 1]] > key[v]) {
        idx[j] = idx[j - 1];
        j--;
      }
      idx[j] = v;
    }
    return ASSAY_OK;
  }
  uint64_t *k0 = malloc(n * sizeof *k0), *k1 = malloc(n * sizeof *k1);
  size_t *i1 = malloc(n * sizeof *i1);
  uint32_t *hist = calloc((size_t)RADIX_PASSES * RADIX_SIZE, sizeof *hist);
  if (!k0 || !k1 || !i1 || !hist) {
    free(k0), free(k1), free(i1), free(hist);
    return assay__nomem();
  }
  for (size_t i = 0; i < n; i++) {
    uint64_t k = sort_key(key[i]);
    k0[i] = k;
    idx[i] = i;
    for (int p = 0; p < RADIX_PASSES; p++)
      hist[(size_t)p * RADIX_SIZE + ((k >> (p * RADIX_BITS)) & (RADIX_SIZE - 1))]++;
  }
  uint64_t *ks = k0, *kd = k1;
  size_t *is = idx, *id = i1;
  for (int p = 0; p < RADIX_PASSES; p++) {
    uint32_t *h = hist + (size_t)p * RADIX_SIZE;
    int shift = p * RADIX_BITS;
    if (h[(ks[0] >> shift) & (RADIX_SIZE - 1)] == n) continue; /* one digit: nothing moves */
    size_t sum = 0;
    for (size_t d = 0; d < RADIX_SIZE; d++) {
      size_t c = h[d];
      h[d] = (uint32_t)sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++) {
      size_t d = (ks[i] >> shift) & (RADIX_SIZE - 1);
      size_t at = h[d]++;
      kd[at] = ks[i];
      id[at] = is[i];
    }
    uint64_t *tk = ks;
    ks = kd, kd = tk;
    size_t *ti = is;
    is = id, id = ti;
  }
  if (is != idx) memcpy(idx, is, n * sizeof *idx);
  free(k0), free(k1), free(i1), free(hist);
  return ASSAY_OK;
}

/* A bucket sort of (key, row) pairs, stable: the pairs spread over up to
 * 4096 buckets of equal width between the smallest and largest finite key
 * (a monotone map: bucket order is key order; -inf in the first bucket,
 * +inf in the last) in their order, then each bucket the same way, in
 * cache, down to insertion sorts of a few pairs; the radix sort where keys
 * do not spread (all equal but infinities, or past three levels). kt / it:
 * room for n pairs. */
#define ARG_SMALL 32
#define ARG_BUCKETS 4096

/* The bucket of v: ((v * hm) - lo) * scale clamped to [0, cap]. */
static inline size_t bucket_of(double v, double hm, double lo, double scale, double cap) {
  double t = (v * hm - lo) * scale;
  return !(t < cap) ? (size_t)cap : t > 0 ? (size_t)t : 0;
}

static int bucket_argsort(double *k, size_t *ix, size_t n, double *kt, size_t *it,
                          int depth) {
  if (n <= ARG_SMALL) {
    for (size_t x = 1; x < n; x++) { /* stable insertion sort */
      double v = k[x];
      size_t r = ix[x], y = x;
      while (y > 0 && k[y - 1] > v) {
        k[y] = k[y - 1];
        ix[y] = ix[y - 1];
        y--;
      }
      k[y] = v;
      ix[y] = r;
    }
    return ASSAY_OK;
  }
  double mn = INFINITY, mx = -INFINITY;
  for (size_t i = 0; i < n; i++) {
    double v = k[i];
    if (!isfinite(v)) continue;
    mn = v < mn ? v : mn;
    mx = v > mx ? v : mx;
  }
  size_t nb = 16;
  while (nb < n / 4 && nb < ARG_BUCKETS) nb *= 2;
  double w = mx - mn, hm = isfinite(w) ? 1.0 : 0.5;
  if (!isfinite(w)) w = mx * 0.5 - mn * 0.5;
  double lo = mn * hm, scale = (double)nb / w, cap = (double)(nb - 1);
  if (depth >= 3 || !(w > 0) || !isfinite(scale)) { /* the radix sort, rows carried */
    size_t *ord = malloc(n * sizeof *ord);
    int rc = ord ? radix_argsort(k, n, ord) : assay__nomem();
    for (size_t x = 0; !rc && x < n; x++) kt[x] = k[ord[x]], it[x] = ix[ord[x]];
    if (!rc) {
      memcpy(k, kt, n * sizeof *k);
      memcpy(ix, it, n * sizeof *ix);
    }
    free(ord);
    return rc;
  }
  size_t *start = calloc(nb + 1, sizeof *start);
  if (!start) return assay__nomem();
  for (size_t i = 0; i < n; i++) start[bucket_of(k[i], hm, lo, scale, cap) + 1]++;
  for (size_t b = 0; b < nb; b++) start[b + 1] += start[b];
  for (size_t i = 0; i < n; i++) { /* start[b] becomes the end of bucket b */
    size_t at = start[bucket_of(k[i], hm, lo, scale, cap)]++;
    kt[at] = k[i];
    it[at] = ix[i];
  }
  memcpy(k, kt, n * sizeof *k);
  memcpy(ix, it, n * sizeof *ix);
  int rc = ASSAY_OK;
  for (size_t b = 0, a = 0; b < nb && !rc; a = start[b++])
    rc = bucket_argsort(k + a, ix + a, start[b] - a, kt, it, depth + 1);
  free(start);
  return rc;
}

/* stress_argsort, and the keys in that order into sorted[n] (NULL: not
 * wanted). */
static int argsort_keys(const double *key, size_t n, size_t *idx, double *sorted) {
  if (n < 4096) {
    int rc = radix_argsort(key, n, idx);
    for (size_t i = 0; !rc && sorted && i < n; i++) sorted[i] = key[idx[i]];
    return rc;
  }
  double *k = sorted ? sorted : malloc(n * sizeof *k), *kt = malloc(n * sizeof *kt);
  size_t *it = malloc(n * sizeof *it);
  int rc = k && kt && it ? ASSAY_OK : assay__nomem();
  if (!rc) {
    memcpy(k, key, n * sizeof *k);
    for (size_t i = 0; i < n; i++) idx[i] = i;
    rc = bucket_argsort(k, idx, n, kt, it, 0);
  }
  if (k != sorted) free(k);
  free(kt), free(it);
  return rc;
}

int stress_argsort(const double *key, size_t n, size_t *idx) {
  return argsort_keys(key, n, idx, NULL);
}

/* --- shared lazily computed values: quantiles by selection ------------------------------- */

/* Exact order statistics of the finite values of a column (or an array)
 * without sorting them. One pass makes a histogram over SEL_BINS
 * equal-width bins of a range taken from a sample (values outside it count
 * in the end bins), and finds the exact count, minimum and maximum; the
 * bin of a value is monotone in the value, so the k-th smallest value lies
 * in the bin where the cumulative count passes k. A second pass gathers
 * only the values of the bins holding a wanted rank; each such bin is then
 * resolved the same way (its values all equal, or a histogram of its own
 * range, or — small, or too deep — sorted). A normal column of 1M rows
 * gathers a few thousand values in all. Signed zeros: -0.0 ranks before
 * +0.0, as the radix sort (stats_sort_f64) orders them. */

#define SEL_BINS 4096
#define SEL_SMALL 4096 /* at most this many candidates: sorted */
#define SEL_DEPTH 3    /* histogram levels before sorting */
#define SEL_SAMPLE 1024 /* values sampled for the first level's range */

/* Finite values of a column (col) or an array (arr), rows [0, n). */
typedef struct numsrc {
  const column *col;
  const double *arr;
  int64_t n;
} numsrc;

static inline const double *src_chunk(const numsrc *s, int64_t start, int len, double *buf) {
  return s->arr ? s->arr + start : tu_num_view(s->col, start, len, buf);
}

/* What a pass finds about the finite values: count, min, max (min prefers
 * -0.0, max +0.0, as sorted values would have them). */
typedef struct scanned {
  size_t n;
  double mn, mx, sum;
} scanned;

/* Count, minimum and maximum of the finite values (zeros: sign fixed by
 * the counts of -0.0 and +0.0). */
static void scan_finish(scanned *r, int64_t count, double lo, double hi, int64_t negz,
                        int64_t posz, double sum) {
  r->sum = sum;
  if (lo == 0) lo = negz ? -0.0 : 0.0;
  if (hi == 0) hi = posz ? 0.0 : -0.0;
  r->n = (size_t)count;
  r->mn = count ? lo : NAN;
  r->mx = count ? hi : NAN;
}

static void src_scan(const numsrc *s, scanned *r) {
  double buf[TU_CHUNK], lo = INFINITY, hi = -INFINITY, sum = 0;
  int64_t count = 0, negz = 0, posz = 0;
  for (int64_t st = 0; st < s->n; st += TU_CHUNK) {
    int len = (int)(s->n - st < TU_CHUNK ? s->n - st : TU_CHUNK);
    const double *x = src_chunk(s, st, len, buf);
    for (int k = 0; k < len; k++) {
      double v = x[k];
      if (!isfinite(v)) continue;
      count++;
      sum += v;
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
      if (v == 0) signbit(v) ? negz++ : posz++;
    }
  }
  scan_finish(r, count, lo, hi, negz, posz, sum);
}

/* A monotone map of values onto bins 0..SEL_BINS-1: ((x * hm) - lo) *
 * scale, clamped (a range wider than the largest double is taken at half
 * scale, hm = 0.5; x * 1.0 is x). 0: no usable scale for [mn, mx]. */
typedef struct binmap {
  double hm, lo, scale;
} binmap;

static int binmap_make(binmap *b, double mn, double mx) {
  double w = mx - mn;
  b->hm = isfinite(w) ? 1.0 : 0.5;
  b->lo = mn * b->hm;
  if (!isfinite(w)) w = mx * 0.5 - mn * 0.5;
  b->scale = (double)SEL_BINS / w;
  return w > 0 && isfinite(b->scale) && b->scale > 0;
}

static inline int bin_at(const binmap *b, double x) {
  double t = (x * b->hm - b->lo) * b->scale;
  if (!(t < SEL_BINS - 1)) return SEL_BINS - 1;
  return t > 0 ? (int)t : 0;
}

/* One pass: the histogram count[SEL_BINS] of the finite values over bm,
 * and their count, min and max (r; NULL: not wanted). */
static void hist_pass(const numsrc *s, const binmap *bm, size_t *count, scanned *r) {
  double buf[TU_CHUNK], lo = INFINITY, hi = -INFINITY, sum = 0;
  int64_t nf = 0, negz = 0, posz = 0;
  for (int64_t st = 0; st < s->n; st += TU_CHUNK) {
    int len = (int)(s->n - st < TU_CHUNK ? s->n - st : TU_CHUNK);
    const double *x = src_chunk(s, st, len, buf);
    for (int k = 0; k < len; k++) {
      double v = x[k];
      if (!isfinite(v)) continue;
      count[bin_at(bm, v)]++;
      sum += v;
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
      nf++;
      if (v == 0) signbit(v) ? negz++ : posz++;
    }
  }
  if (r) scan_finish(r, nf, lo, hi, negz, posz, sum);
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static int select_ranks(const numsrc *s, size_t nfin, double mn, double mx, const size_t *ranks,
                        int nr, double *out, int depth);

/* The bins of a histogram holding a wanted rank: their values gathered,
 * each resolved on its own. A bin keeps its first value and how many are
 * bit for bit the same apart from the others, so a bin of one repeated
 * value (integers, ties) is resolved without copying it. */
static int select_in_bins(const numsrc *s, const binmap *bm, const size_t *count,
                          const size_t *ranks, int nr, double *out, int depth) {
  typedef struct tbin {
    size_t first, n, at, same; /* rank of its first value, its values, where its others
                                  go, how many equal rep */
    uint64_t rep;              /* the bits of its first value */
  } tbin;
  int32_t *target = malloc(SEL_BINS * sizeof *target);
  tbin *tb = malloc((size_t)nr * sizeof *tb);
  int *rank_bin = malloc((size_t)nr * sizeof *rank_bin);
  size_t *local = malloc((size_t)nr * sizeof *local);
  size_t *start = malloc((size_t)nr * sizeof *start);
  if (!target || !tb || !rank_bin || !local || !start) {
    free(target), free(tb), free(rank_bin), free(local), free(start);
    return assay__nomem();
  }
  for (int b = 0; b < SEL_BINS; b++) target[b] = -1;
  int ntb = 0;
  size_t below = 0, total = 0;
  for (int b = 0, k = 0; b < SEL_BINS && k < nr; b++) {
    size_t end = below + count[b];
    while (k < nr && ranks[k] < end) {
      if (target[b] < 0) {
        target[b] = ntb;
        start[ntb] = total;
        tb[ntb++] = (tbin){below, count[b], total, 0, 0};
        total += count[b];
      }
      rank_bin[k++] = target[b];
    }
    below = end;
  }
  double *g = malloc((total ? total : 1) * sizeof *g), buf[TU_CHUNK];
  int rc = g ? ASSAY_OK : assay__nomem();
  for (int64_t st = 0; !rc && st < s->n; st += TU_CHUNK) {
    int len = (int)(s->n - st < TU_CHUNK ? s->n - st : TU_CHUNK);
    const double *x = src_chunk(s, st, len, buf);
    for (int k = 0; k < len; k++) {
      double u = x[k];
      if (!isfinite(u)) continue;
      int t = target[bin_at(bm, u)];
      if (t < 0) continue;
      tbin *q = &tb[t];
      uint64_t bits;
      memcpy(&bits, &u, sizeof bits);
      if (q->same == 0) q->rep = bits, q->same = 1;
      else if (bits == q->rep) q->same++;
      else g[q->at++] = u;
    }
  }
  for (int k = 0; !rc && k < nr;) {
    int t = rank_bin[k], e = k;
    while (e < nr && rank_bin[e] == t) {
      local[e] = ranks[e] - tb[t].first;
      e++;
    }
    tbin *q = &tb[t];
    double rep;
    memcpy(&rep, &q->rep, sizeof rep);
    if (q->same == q->n) { /* one value */
      for (int z = k; z < e; z++) out[z] = rep;
    } else { /* the bin's values: its first value's copies, then the others */
      double *v = g + start[t];
      size_t others = q->at - start[t];
      memmove(v + q->same, v, others * sizeof *v);
      for (size_t z = 0; z < q->same; z++) v[z] = rep;
      numsrc sub = {NULL, v, (int64_t)q->n};
      scanned sc;
      src_scan(&sub, &sc);
      rc = select_ranks(&sub, sc.n, sc.mn, sc.mx, local + k, e - k, out + k, depth + 1);
    }
    k = e;
  }
  free(g), free(target), free(tb), free(rank_bin), free(local), free(start);
  return rc;
}

/* out[k] = the value of rank ranks[k] (0-based, ascending) among the nfin
 * finite values of s, which lie in [mn, mx]; ranks ascending and < nfin. */
static int select_ranks(const numsrc *s, size_t nfin, double mn, double mx, const size_t *ranks,
                        int nr, double *out, int depth) {
  if (nr == 0) return ASSAY_OK;
  if (same_bits(mn, mx)) { /* one value */
    for (int k = 0; k < nr; k++) out[k] = mn;
    return ASSAY_OK;
  }
  binmap bm;
  double buf[TU_CHUNK];
  if (nfin <= SEL_SMALL || depth >= SEL_DEPTH || !binmap_make(&bm, mn, mx)) {
    /* sort them */
    double *v = malloc((nfin ? nfin : 1) * sizeof *v);
    if (!v) return assay__nomem();
    size_t m = 0;
    for (int64_t st = 0; st < s->n; st += TU_CHUNK) {
      int len = (int)(s->n - st < TU_CHUNK ? s->n - st : TU_CHUNK);
      const double *x = src_chunk(s, st, len, buf);
      for (int k = 0; k < len; k++)
        if (isfinite(x[k])) v[m++] = x[k];
    }
    int rc = stats_sort_f64(v, m, NULL);
    for (int k = 0; !rc && k < nr; k++) out[k] = v[ranks[k] < m ? ranks[k] : m - 1];
    free(v);
    return rc;
  }
  size_t *count = calloc(SEL_BINS, sizeof *count);
  if (!count) return assay__nomem();
  hist_pass(s, &bm, count, NULL);
  int rc = select_in_bins(s, &bm, count, ranks, nr, out, depth);
  free(count);
  return rc;
}

/* stats_quantile_sorted's interpolation between a = s[lo] and b = s[hi]. */
static double lerp_q(double a, double b, double g) {
  if (g == 0 || a == b) return a;
  double diff = b - a;
  if (!isfinite(diff)) return isinf(a) ? a : b;
  return g >= 0.5 ? b - diff * (1 - g) : a + diff * g;
}

/* The range of a sample of the finite values (every k-th): 0 when it has
 * fewer than two values apart. */
static int sample_range(const numsrc *s, binmap *bm) {
  int64_t step = s->n / SEL_SAMPLE > 1 ? s->n / SEL_SAMPLE : 1;
  double lo = INFINITY, hi = -INFINITY, buf[1];
  for (int64_t i = 0; i < s->n; i += step) {
    double v = *src_chunk(s, i, 1, buf);
    if (!isfinite(v)) continue;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  return lo < hi && binmap_make(bm, lo, hi);
}

/* Quantiles qs[0..nq) (numpy linear) of the finite values of s, and their
 * count, min and max into st. */
static int src_quantiles(const numsrc *s, const double *qs, int nq, double *out,
                         stress_numstats *st) {
  /* the first level's histogram, with the count, min and max */
  binmap bm;
  scanned sc;
  size_t *count = NULL;
  if (s->n > SEL_SMALL && sample_range(s, &bm)) {
    if (!(count = calloc(SEL_BINS, sizeof *count))) return assay__nomem();
    hist_pass(s, &bm, count, &sc);
  } else {
    src_scan(s, &sc);
  }
  size_t n = sc.n;
  double mn = sc.mn, mx = sc.mx;
  st->n = n;
  st->min = mn;
  st->max = mx;
  st->sum = sc.sum;
  st->q1 = st->q3 = NAN;
  if (n == 0) {
    for (int k = 0; k < nq; k++) out[k] = NAN;
    free(count);
    return ASSAY_OK;
  }
  /* each quantile's two ranks (stats_quantile_sorted: h = (n - 1) q) */
  size_t *lo = malloc((size_t)(nq ? nq : 1) * 2 * sizeof *lo);
  size_t *ranks = malloc((size_t)(nq ? nq : 1) * 2 * sizeof *ranks);
  double *val = malloc((size_t)(nq ? nq : 1) * 2 * sizeof *val);
  double *g = malloc((size_t)(nq ? nq : 1) * sizeof *g);
  if (!lo || !ranks || !val || !g) {
    free(lo), free(ranks), free(val), free(g), free(count);
    return assay__nomem();
  }
  int nr = 0;
  for (int k = 0; k < nq; k++) {
    double q = qs[k];
    if (isnan(q)) q = 0;
    q = q < 0 ? 0 : q > 1 ? 1 : q;
    double h = (double)(n - 1) * q;
    size_t a, b;
    if (h >= (double)(n - 1)) {
      a = b = n - 1;
    } else {
      a = (size_t)floor(h);
      b = a + 1;
    }
    g[k] = h - (double)a;
    lo[2 * k] = a;
    lo[2 * k + 1] = b;
    ranks[nr++] = a;
    ranks[nr++] = b;
  }
  /* sorted, distinct */
  for (int i = 1; i < nr; i++) {
    size_t v = ranks[i];
    int j = i;
    while (j > 0 && ranks[j - 1] > v) {
      ranks[j] = ranks[j - 1];
      j--;
    }
    ranks[j] = v;
  }
  int m = 0;
  for (int i = 0; i < nr; i++)
    if (m == 0 || ranks[m - 1] != ranks[i]) ranks[m++] = ranks[i];
  /* the ends are known */
  int a0 = ranks[0] == 0, a1 = m > a0 && ranks[m - 1] == n - 1;
  int rc = ASSAY_OK, want = m - a0 - a1;
  if (want > 0 && same_bits(mn, mx)) {
    for (int k = a0; k < a0 + want; k++) val[k] = mn;
  } else if (want > 0 && count) {
    rc = select_in_bins(s, &bm, count, ranks + a0, want, val + a0, 0);
  } else if (want > 0) {
    rc = select_ranks(s, n, mn, mx, ranks + a0, want, val + a0, 0);
  }
  if (a0) val[0] = mn;
  if (a1) val[m - 1] = mx;
  for (int k = 0; !rc && k < nq; k++) {
    double v[2];
    for (int z = 0; z < 2; z++) { /* binary search of the rank */
      int l = 0, h = m;
      while (l < h) {
        int mid = (l + h) / 2;
        if (ranks[mid] < lo[2 * k + z]) l = mid + 1;
        else h = mid;
      }
      v[z] = val[l];
    }
    out[k] = isnan(qs[k]) ? NAN : lerp_q(v[0], v[1], g[k]);
  }
  free(lo), free(ranks), free(val), free(g), free(count);
  return rc;
}

/* The edges of nbins bins from the quantiles at 1/nbins .. (nbins-1)/nbins
 * (as stats_quantile_edges: NaN and repeated edges dropped). */
static size_t edges_of(const double *qv, int nbins, double *edges) {
  size_t m = 0;
  for (int i = 1; i < nbins; i++) {
    double e = qv[i - 1];
    if (isnan(e)) continue;
    if (m > 0 && e <= edges[m - 1]) continue;
    edges[m++] = e;
  }
  return m;
}

static numsrc ref_source(const stress_ctx *c, const stress_feature *f) {
  numsrc s = {f->ref_col, NULL, c->side[0].n};
  return s;
}

int stress_quantiles(const double *v, int64_t n, const double *qs, int nq, double *out,
                     size_t *nfinite) {
  numsrc s = {NULL, v, n};
  stress_numstats st;
  int rc = src_quantiles(&s, qs, nq, out, &st);
  *nfinite = rc ? 0 : st.n;
  return rc;
}

const stress_numstats *stress_ref_stats(stress_ctx *c, stress_feature *f) {
  if (!c || !f || f->categorical) return NULL;
  pthread_mutex_lock(&f->lock);
  if (!f->stats) {
    /* the default bins' quantiles, then q1 and q3 */
    enum { NB = STRESS_DEFAULT_BINS };
    double qs[NB + 1], qv[NB + 1];
    for (int i = 1; i < NB; i++) qs[i - 1] = (double)i / (double)NB;
    qs[NB - 1] = 0.25;
    qs[NB] = 0.75;
    stress_numstats *st = calloc(1, sizeof *st);
    double *edges = malloc(NB * sizeof *edges);
    numsrc s = ref_source(c, f);
    if (st && edges && src_quantiles(&s, qs, NB + 1, qv, st) == ASSAY_OK) {
      st->q1 = qv[NB - 1];
      st->q3 = qv[NB];
      if (!f->edges_bins) {
        f->nedges = st->n ? edges_of(qv, NB, edges) : 0;
        f->edges = edges;
        f->edges_bins = NB;
        edges = NULL;
      }
      f->stats = st;
      st = NULL;
    }
    free(st);
    free(edges);
  }
  const stress_numstats *r = f->stats;
  pthread_mutex_unlock(&f->lock);
  return r;
}

const double *stress_edges(stress_ctx *c, stress_feature *f, int nbins, size_t *nedges,
                           double **tmp) {
  *nedges = 0;
  *tmp = NULL;
  if (!f || f->categorical || nbins < 2) return NULL;
  if (nbins == STRESS_DEFAULT_BINS) stress_ref_stats(c, f);
  pthread_mutex_lock(&f->lock);
  if (f->edges_bins == nbins) {
    const double *e = f->edges;
    *nedges = f->nedges;
    pthread_mutex_unlock(&f->lock);
    return *nedges ? e : NULL;
  }
  pthread_mutex_unlock(&f->lock);
  double *qs = malloc((size_t)nbins * sizeof *qs), *qv = malloc((size_t)nbins * sizeof *qv);
  double *e = malloc((size_t)nbins * sizeof *e);
  stress_numstats st;
  numsrc s = ref_source(c, f);
  for (int i = 1; qs && i < nbins; i++) qs[i - 1] = (double)i / (double)nbins;
  if (!qs || !qv || !e || src_quantiles(&s, qs, nbins - 1, qv, &st) != ASSAY_OK) {
    free(qs), free(qv), free(e);
    return NULL;
  }
  size_t m = st.n ? edges_of(qv, nbins, e) : 0;
  free(qs), free(qv);
  pthread_mutex_lock(&f->lock);
  if (!f->edges_bins) { /* the first bin count asked is kept */
    f->edges = e;
    f->nedges = m;
    f->edges_bins = nbins;
    e = NULL;
  }
  pthread_mutex_unlock(&f->lock);
  if (!m) {
    free(e);
    return NULL;
  }
  *nedges = m;
  *tmp = e;
  return e ? e : f->edges;
}

/* The code of one value (stress_bins): its bin b when finite, else null or
 * an infinity's code. */
static inline uint8_t code_of(double v, int32_t b) {
  return (uint8_t)(isfinite(v) ? b
                   : isnan(v)  ? STRESS_BIN_NULL
                   : v < 0     ? STRESS_BIN_NEGINF
                               : STRESS_BIN_POSINF);
}

/* stress_bins' codes of len values for m edges, four values at a time
 * (m a constant where inlined: the edges stay in registers). */
static inline __attribute__((always_inline)) void codes_m(const double *x, int len,
                                                          const double *e, const size_t m,
                                                          uint8_t *o) {
  stress_v4d ev[16];
  for (size_t j = 0; j < m; j++) ev[j] = (stress_v4d){e[j], e[j], e[j], e[j]};
  const double dmax = 1.7976931348623157e308;
  const stress_v4d big = {dmax, dmax, dmax, dmax};
  int k = 0;
  for (; k + 4 <= len; k += 4) {
    stress_v4d a;
    STRESS_LOAD4(a, x + k);
    stress_v4l c = {0, 0, 0, 0};
    for (size_t j = 0; j < m; j++) c -= (stress_v4l)(a > ev[j]);
    stress_v4l fin = (stress_v4l)(a <= big) & (stress_v4l)(a >= -big);
    if (fin[0] & fin[1] & fin[2] & fin[3]) {
      o[k] = (uint8_t)c[0];
      o[k + 1] = (uint8_t)c[1];
      o[k + 2] = (uint8_t)c[2];
      o[k + 3] = (uint8_t)c[3];
    } else {
      for (int q = 0; q < 4; q++) o[k + q] = code_of(x[k + q], (int32_t)c[q]);
    }
  }
  for (; k < len; k++) {
    int32_t b = 0;
    for (size_t j = 0; j < m; j++) b += x[k] > e[j];
    o[k] = code_of(x[k], b);
  }
}

/* stress_bins' codes of len values (any m). */
STRESS_SIMD static void codes_of(const double *x, int len, const double *e, size_t m,
                                 uint8_t *o) {
  switch (m) {
#define CODES_CASE(M) \
  case M: codes_m(x, len, e, M, o); return;
    CODES_CASE(0) CODES_CASE(1) CODES_CASE(2) CODES_CASE(3) CODES_CASE(4) CODES_CASE(5)
    CODES_CASE(6) CODES_CASE(7) CODES_CASE(8) CODES_CASE(9)
#undef CODES_CASE
    default: break;
  }
  int32_t b[TU_CHUNK];
  tu_bins(x, len, e, m, b);
  for (int k = 0; k < len; k++) o[k] = code_of(x[k], b[k]);
}

const uint8_t *stress_bins(stress_ctx *c, stress_feature *f, int side, const double **edges,
                           size_t *nedges) {
  *edges = NULL;
  *nedges = 0;
  if (!c || !f || f->categorical || side < 0 || side > 1) return NULL;
  const column *col = side ? f->eval_col : f->ref_col;
  if (!col || !stress_ref_stats(c, f)) return NULL;
  pthread_mutex_lock(&f->lock);
  if (f->edges_bins != STRESS_DEFAULT_BINS) {
    pthread_mutex_unlock(&f->lock);
    return NULL;
  }
  const double *e = f->edges;
  size_t m = f->nedges;
  if (!f->bins_done[side]) {
    int64_t n = c->side[side].n;
    uint8_t *out = malloc((size_t)(n ? n : 1));
    if (out) {
      double buf[TU_CHUNK];
      for (int64_t st = 0; st < n; st += TU_CHUNK) {
        int len = (int)(n - st < TU_CHUNK ? n - st : TU_CHUNK);
        codes_of(tu_num_view(col, st, len, buf), len, e, m, out + st);
      }
    }
    f->bins[side] = out;
    f->bins_done[side] = 1;
  }
  const uint8_t *r = f->bins[side];
  pthread_mutex_unlock(&f->lock);
  if (r) {
    *edges = e;
    *nedges = m;
  }
  return r;
}

int stress_sorted_values(const stress_ctx *c, const stress_feature *f, int side, double **out,
                         size_t *n) {
  *out = NULL;
  *n = 0;
  const column *col = side ? f->eval_col : f->ref_col;
  int64_t rows = col ? c->side[side ? 1 : 0].n : 0;
  if (!rows || f->categorical) return ASSAY_OK;
  double *v = malloc((size_t)rows * sizeof *v), buf[TU_CHUNK];
  if (!v) return assay__nomem();
  size_t m = 0;
  for (int64_t st = 0; st < rows; st += TU_CHUNK) {
    int len = (int)(rows - st < TU_CHUNK ? rows - st : TU_CHUNK);
    const double *x = tu_num_view(col, st, len, buf);
    for (int k = 0; k < len; k++)
      if (isfinite(x[k])) v[m++] = x[k];
  }
  int rc = m ? stats_sort_f64(v, m, NULL) : ASSAY_OK;
  if (rc || m == 0) {
    free(v);
    return rc;
  }
  *out = v;
  *n = m;
  return ASSAY_OK;
}

/* --- test cases ------------------------------------------------------------------------- */

static const char *const sev_names[] = {SEV_PASS, SEV_WARNING, SEV_ALERT};
static const char *const sev_status[] = {TC_PASS, TC_WARNING, TC_FAIL};

json_t *stress_case(const json_t *test, const char *feature, double value) {
  json_t *tc = json_object(), *features = json_array(), *metrics = json_object();
  if (!tc || !features || !metrics || (feature && json_array_append_new(features,
                                                                        json_string(feature))))
    goto fail;
  json_object_set_new(tc, "features", features);
  features = NULL;
  if (isnan(value)) {
    json_object_set_new(tc, "status", json_string(TC_SKIP));
    json_object_set_new(tc, "severity", json_string(SEV_PASS));
    json_object_set_new(tc, "importance_score", json_real(0));
    json_object_set_new(tc, "metrics", metrics);
    json_object_set_new(tc, "skip_reason",
                        json_string("the value is undefined on this data (no rows, one class "
                                    "only or zero variance)"));
    return tc;
  }
  severity s = test_severity(test, value);
  if ((int)s < 0 || (int)s > 2) s = SEVERITY_PASS;
  double imp = test_importance(test, value);
  if (!isfinite(imp)) imp = 0;
  json_object_set_new(tc, "status", json_string(sev_status[s]));
  json_object_set_new(tc, "severity", json_string(sev_names[s]));
  json_object_set_new(tc, "importance_score", json_real(imp));
  json_object_set_new(tc, "metrics", metrics);
  return tc;
fail:
  json_decref(tc);
  json_decref(features);
  json_decref(metrics);
  return NULL;
}

json_t *stress_case_skip(const char *feature, const char *reason) {
  json_t *tc = json_object(), *features = json_array();
  if (!tc || !features) {
    json_decref(tc);
    json_decref(features);
    return NULL;
  }
  if (feature) json_array_append_new(features, json_string(feature));
  json_object_set_new(tc, "features", features);
  json_object_set_new(tc, "status", json_string(TC_SKIP));
  json_object_set_new(tc, "severity", json_string(SEV_PASS));
  json_object_set_new(tc, "importance_score", json_real(0));
  json_object_set_new(tc, "metrics", json_object());
  json_object_set_new(tc, "skip_reason", json_string(reason ? reason : "skipped"));
  return tc;
}

void stress_metric(json_t *tc, const char *name, double value) {
  json_t *m = json_object_get(tc, "metrics");
  if (!m) {
    m = json_object();
    if (!m || json_object_set_new(tc, "metrics", m)) return;
  }
  json_object_set_new(m, name, isfinite(value) ? json_real(value) : json_null());
}

/* --- preparing a run: category codes ----------------------------------------------------- */

/* Distinct values of one side's column: per-row local codes (-1 null),
 * and per local code its count and first row. */
typedef struct locals {
  int32_t *code;      /* rows entries (owned) */
  int64_t count;      /* local codes */
  int64_t *freq, *first;
  uint64_t *bits;     /* numeric columns: the value's bits per local code */
} locals;

static void locals_free(locals *l) {
  free(l->code);
  free(l->freq);
  free(l->first);
  free(l->bits);
  memset(l, 0, sizeof *l);
}

/* Local codes of a numeric column through a hash table of value bits. */
static int locals_numeric(locals *l, const column *col, int64_t rows) {
  size_t cap = 1024, mask = cap - 1;
  int32_t *slot = malloc(cap * sizeof *slot);
  size_t bcap = 256;
  l->bits = malloc(bcap * sizeof *l->bits);
  if (!slot || !l->bits) {
    free(slot);
    return assay__nomem();
  }
  memset(slot, 0xff, cap * sizeof *slot);
  for (int64_t i = 0; i < rows; i++) {
    if (!col_valid(col, i)) {
      l->code[i] = -1;
      continue;
    }
    uint64_t b;
    if (col->type == COL_FLOAT64) {
      double v = ((const double *)col->values)[i];
      if (v == 0) v = 0.0;
      memcpy(&b, &v, 8);
    } else {
      b = (uint64_t)((const int64_t *)col->values)[i];
    }
    size_t h = (size_t)fx_hash_u64(b) & mask;
    while (slot[h] >= 0 && l->bits[slot[h]] != b) h = (h + 1) & mask;
    if (slot[h] < 0) {
      if ((size_t)l->count == bcap) {
        uint64_t *nb = realloc(l->bits, 2 * bcap * sizeof *nb);
        if (!nb) {
          free(slot);
          return assay__nomem();
        }
        l->bits = nb;
        bcap *= 2;
      }
      if (l->count >= INT32_MAX - 1) {
        free(slot);
        return assay__err(ASSAY_ERR_DATA, "column \"%s\" has too many distinct values",
                          col->name);
      }
      l->bits[l->count] = b;
      slot[h] = (int32_t)l->count++;
      if ((size_t)l->count * 2 > cap) { /* grow and rehash */
        size_t ncap = cap * 2, nmask = ncap - 1;
        int32_t *ns = malloc(ncap * sizeof *ns);
        if (!ns) {
          free(slot);
          return assay__nomem();
        }
        memset(ns, 0xff, ncap * sizeof *ns);
        for (int64_t k = 0; k < l->count; k++) {
          size_t g = (size_t)fx_hash_u64(l->bits[k]) & nmask;
          while (ns[g] >= 0) g = (g + 1) & nmask;
          ns[g] = (int32_t)k;
        }
        free(slot);
        slot = ns;
        cap = ncap;
        mask = nmask;
        h = (size_t)fx_hash_u64(b) & mask;
        while (ns[h] != (int32_t)(l->count - 1)) h = (h + 1) & mask;
      }
    }
    l->code[i] = slot[h];
  }
  free(slot);
  return ASSAY_OK;
}

static int locals_make(locals *l, const column *col, int64_t rows) {
  memset(l, 0, sizeof *l);
  l->code = malloc((size_t)(rows ? rows : 1) * sizeof *l->code);
  if (!l->code) return assay__nomem();
  int rc = ASSAY_OK;
  switch (col->type) {
    case COL_STRING: {
      const int32_t *v = col->values;
      l->count = col->dict_count;
      for (int64_t i = 0; i < rows; i++) l->code[i] = col_valid(col, i) ? v[i] : -1;
      break;
    }
    case COL_BOOL: {
      const uint8_t *v = col->values;
      l->count = 2;
      for (int64_t i = 0; i < rows; i++) l->code[i] = col_valid(col, i) ? (v[i] & 1) : -1;
      break;
    }
    default: rc = locals_numeric(l, col, rows); break;
  }
  if (rc) {
    locals_free(l);
    return rc;
  }
  l->freq = calloc((size_t)(l->count ? l->count : 1), sizeof *l->freq);
  l->first = malloc((size_t)(l->count ? l->count : 1) * sizeof *l->first);
  if (!l->freq || !l->first) {
    locals_free(l);
    return assay__nomem();
  }
  for (int64_t k = 0; k < l->count; k++) l->first[k] = INT64_MAX;
  for (int64_t i = rows - 1; i >= 0; i--) {
    int32_t k = l->code[i];
    if (k < 0) continue;
    l->freq[k]++;
    l->first[k] = i;
  }
  return ASSAY_OK;
}

/* The text of local code k (as the CSV writer writes the value). */
static const char *local_text(const column *col, const locals *l, int64_t k, char *buf,
                              size_t *len) {
  switch (col->type) {
    case COL_STRING: {
      int64_t a = col->dict_offsets[k], b = col->dict_offsets[k + 1];
      *len = (size_t)(b - a);
      return col->dict_data + a;
    }
    case COL_BOOL: *len = k ? 4 : 5; return k ? "True" : "False";
    case COL_INT64: *len = (size_t)snprintf(buf, 48, "%lld", (long long)(int64_t)l->bits[k]); return buf;
    case COL_TIMESTAMP: *len = fx_format_timestamp((int64_t)l->bits[k], buf); return buf;
    case COL_FLOAT64: {
      double v;
      memcpy(&v, &l->bits[k], 8);
      size_t n = fx_format_float(v, buf);
      if (isfinite(v) && !memchr(buf, '.', n) && !memchr(buf, 'e', n)) {
        memcpy(buf + n, ".0", 3);
        n += 2;
      }
      *len = n;
      return buf;
    }
  }
  *len = 0;
  return "";
}

typedef struct rank_item {
  int64_t freq, first;
  int32_t id;
} rank_item;

static int rank_cmp(const void *a, const void *b) {
  const rank_item *x = a, *y = b;
  if (x->freq != y->freq) return x->freq > y->freq ? -1 : 1;
  return x->first < y->first ? -1 : x->first > y->first;
}

/* Map one side's local codes into the shared dictionary d: ids of d are
 * assigned in order of first appearance. map[k] = d's id of local k (-1
 * unused). Also adds the side's counts per id into *freq / *first (grown to
 * d->count). */
static int unify_side(strdict *d, const column *col, const locals *l, int32_t **map,
                      int64_t **freq, int64_t **first, size_t *cap) {
  *map = malloc((size_t)(l->count ? l->count : 1) * sizeof **map);
  rank_item *order = malloc((size_t)(l->count ? l->count : 1) * sizeof *order);
  if (!*map || !order) {
    free(order);
    return assay__nomem();
  }
  int64_t used = 0;
  for (int64_t k = 0; k < l->count; k++) {
    (*map)[k] = -1;
    if (l->freq[k]) order[used++] = (rank_item){0, l->first[k], (int32_t)k};
  }
  /* first appearance order */
  for (int64_t a = 0; a < used; a++) order[a].freq = 0;
  qsort(order, (size_t)used, sizeof *order, rank_cmp);
  char buf[64];
  for (int64_t a = 0; a < used; a++) {
    int32_t k = order[a].id;
    size_t n;
    const char *s = local_text(col, l, k, buf, &n);
    int32_t id = strdict_add(d, s, n, fx_hash(s, n));
    if (id < 0) {
      free(order);
      return assay__nomem();
    }
    if ((size_t)id >= *cap) {
      size_t ncap = *cap ? *cap * 2 : 64;
      while ((size_t)id >= ncap) ncap *= 2;
      int64_t *nf = realloc(*freq, ncap * sizeof *nf);
      if (nf) *freq = nf;
      int64_t *nfi = nf ? realloc(*first, ncap * sizeof *nfi) : NULL;
      if (nfi) *first = nfi;
      if (!nf || !nfi) {
        free(order);
        return assay__nomem();
      }
      for (size_t z = *cap; z < ncap; z++) (*freq)[z] = 0, (*first)[z] = INT64_MAX;
      *cap = ncap;
    }
    (*map)[k] = id;
    (*freq)[id] += l->freq[k];
    if (l->first[k] < (*first)[id]) (*first)[id] = l->first[k];
  }
  free(order);
  return ASSAY_OK;
}

/* The unified category codes of categorical feature f (both sides). */
static int code_feature(const stress_ctx *c, stress_feature *f) {
  locals lr, le;
  memset(&le, 0, sizeof le);
  int64_t ref_rows = c->side[0].n, eval_rows = c->side[1].n;
  int rc = locals_make(&lr, f->ref_col, ref_rows);
  if (rc) return rc;
  if (f->eval_col && (rc = locals_make(&le, f->eval_col, eval_rows))) {
    locals_free(&lr);
    return rc;
  }
  strdict d;
  if (strdict_init(&d)) {
    locals_free(&lr);
    locals_free(&le);
    return assay__nomem();
  }
  int32_t *rmap = NULL, *emap = NULL, *final = NULL;
  int64_t *freq = NULL, *first = NULL, *efreq = NULL, *efirst = NULL;
  size_t cap = 0, ecap = 0;
  rank_item *items = NULL;
  rc = unify_side(&d, f->ref_col, &lr, &rmap, &freq, &first, &cap);
  int64_t nref = (int64_t)d.count;
  if (!rc && f->eval_col) rc = unify_side(&d, f->eval_col, &le, &emap, &efreq, &efirst, &ecap);
  int64_t ntot = (int64_t)d.count;
  if (!rc) {
    final = malloc((size_t)(ntot ? ntot : 1) * sizeof *final);
    items = malloc((size_t)(ntot ? ntot : 1) * sizeof *items);
    f->cat_names = calloc((size_t)(ntot ? ntot : 1), sizeof *f->cat_names);
    if (!final || !items || !f->cat_names) rc = assay__nomem();
  }
  if (!rc) {
    /* reference categories: most frequent first, ties by first appearance */
    for (int64_t id = 0; id < nref; id++) items[id] = (rank_item){freq[id], first[id], (int32_t)id};
    qsort(items, (size_t)nref, sizeof *items, rank_cmp);
    for (int64_t r = 0; r < nref; r++) final[items[r].id] = (int32_t)r;
    /* evaluation-only ones after them, by their evaluation counts */
    int64_t m = 0;
    for (int64_t id = nref; id < ntot; id++)
      items[m++] = (rank_item){efreq[id], efirst[id], (int32_t)id};
    qsort(items, (size_t)m, sizeof *items, rank_cmp);
    for (int64_t r = 0; r < m; r++) final[items[r].id] = (int32_t)(nref + r);
    for (int64_t id = 0; id < ntot && !rc; id++) {
      size_t a = (size_t)d.offsets[id], b = (size_t)d.offsets[id + 1];
      char *s = malloc(b - a + 1);
      if (!s) {
        rc = assay__nomem();
        break;
      }
      memcpy(s, d.data + a, b - a);
      s[b - a] = '\0';
      f->cat_names[final[id]] = s;
    }
  }
  if (!rc) {
    /* codes in place of the local codes */
    for (int64_t i = 0; i < ref_rows; i++) {
      int32_t k = lr.code[i];
      lr.code[i] = k < 0 ? -1 : final[rmap[k]];
    }
    f->ref_codes = lr.code;
    lr.code = NULL;
    if (f->eval_col) {
      for (int64_t i = 0; i < eval_rows; i++) {
        int32_t k = le.code[i];
        le.code[i] = k < 0 ? -1 : final[emap[k]];
      }
      f->eval_codes = le.code;
      le.code = NULL;
    }
    f->ncat_ref = (int32_t)nref;
    f->ncat = (int32_t)ntot;
  }
  strdict_free(&d);
  locals_free(&lr);
  locals_free(&le);
  free(rmap), free(emap), free(final), free(freq), free(first), free(efreq), free(efirst);
  free(items);
  return rc;
}

/* --- preparing a run: labels ------------------------------------------------------------- */

static const char *side_name(int s) { return s ? "evaluation" : "reference"; }

/* The class of a label text (class_names match), or -1. */
static int32_t class_of_text(const json_t *names, const char *s, size_t n) {
  size_t i;
  json_t *v;
  json_array_foreach(names, i, v) {
    const char *t = json_string_value(v);
    if (t && strlen(t) == n && memcmp(t, s, n) == 0) return (int32_t)i;
  }
  return -1;
}

static int str_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Multiclass string labels without class_names: the sorted distinct texts of
 * both sides' labels (as scikit-learn's LabelEncoder orders them). */
static int derive_class_names(stress_ctx *c, const column *cols[2]) {
  strdict d;
  if (strdict_init(&d)) return assay__nomem();
  int rc = ASSAY_OK;
  for (int s = 0; s < 2 && !rc; s++) {
    const column *col = cols[s];
    if (!col || col->type != COL_STRING) continue;
    uint8_t *used = calloc((size_t)(col->dict_count ? col->dict_count : 1), 1);
    if (!used) {
      rc = assay__nomem();
      break;
    }
    const int32_t *v = col->values;
    for (int64_t i = 0; i < c->side[s].n; i++)
      if (col_valid(col, i)) used[v[i]] = 1;
    for (int64_t k = 0; k < col->dict_count && !rc; k++) {
      if (!used[k]) continue;
      const char *t = col->dict_data + col->dict_offsets[k];
      size_t n = (size_t)(col->dict_offsets[k + 1] - col->dict_offsets[k]);
      if (strdict_add(&d, t, n, fx_hash(t, n)) < 0) rc = assay__nomem();
    }
    free(used);
  }
  char **names = rc ? NULL : calloc(d.count ? d.count : 1, sizeof *names);
  if (!rc && !names) rc = assay__nomem();
  for (size_t k = 0; !rc && k < d.count; k++) {
    size_t a = (size_t)d.offsets[k], b = (size_t)d.offsets[k + 1];
    names[k] = malloc(b - a + 1);
    if (!names[k]) {
      rc = assay__nomem();
      break;
    }
    memcpy(names[k], d.data + a, b - a);
    names[k][b - a] = '\0';
  }
  if (!rc) {
    qsort(names, d.count, sizeof *names, str_cmp);
    c->class_names = json_array();
    for (size_t k = 0; k < d.count; k++) json_array_append_new(c->class_names, json_string(names[k]));
  }
  if (names)
    for (size_t k = 0; k < d.count; k++) free(names[k]);
  free(names);
  strdict_free(&d);
  return rc;
}

/* Class labels of one side: label_class[i] in 0..k-1 or -1. With k == 0
 * (multiclass, k unknown yet) integer labels are taken as they are and
 * *maxlabel records the largest. */
static int classify_labels(stress_ctx *c, int s, const column *col, int32_t k, int64_t *maxlabel) {
  stress_side *sd = &c->side[s];
  const char *task = c->task == TASK_BINARY ? "binary" : "multiclass";
  sd->label_class = stress_big_alloc((size_t)sd->n * sizeof *sd->label_class); /* read at random */
  if (!sd->label_class) return assay__nomem();
  const json_t *names = c->class_names;
  char buf[64];
  switch (col->type) {
    case COL_STRING: {
      if (!names)
        return assay__err(ASSAY_ERR_DATA,
                          "label column \"%s\" of the %s holds text; a binary task needs labels "
                          "0/1 (or true/false), or data_params.class_names naming the two "
                          "classes (negative first)",
                          col->name, side_name(s));
      int32_t *map = malloc((size_t)(col->dict_count ? col->dict_count : 1) * sizeof *map);
      if (!map) return assay__nomem();
      for (int64_t d = 0; d < col->dict_count; d++)
        map[d] = class_of_text(names, col->dict_data + col->dict_offsets[d],
                               (size_t)(col->dict_offsets[d + 1] - col->dict_offsets[d]));
      const int32_t *v = col->values;
      for (int64_t i = 0; i < sd->n; i++) {
        if (!col_valid(col, i)) {
          sd->label_class[i] = -1;
          continue;
        }
        int32_t cl = map[v[i]];
        if (cl < 0) {
          int64_t a = col->dict_offsets[v[i]], b = col->dict_offsets[v[i] + 1];
          char *names_text = json_dumps(names, JSON_COMPACT);
          int rc = assay__err(ASSAY_ERR_DATA,
                              "label column \"%s\" of the %s, row %lld: \"%.*s\" is not one of "
                              "the classes %s (data_params.class_names)",
                              col->name, side_name(s), (long long)i, (int)(b - a > 100 ? 100 : b - a),
                              col->dict_data + a, names_text ? names_text : "");
          free(names_text);
          free(map);
          return rc;
        }
        sd->label_class[i] = cl;
      }
      free(map);
      break;
    }
    case COL_BOOL:
    case COL_INT64:
    case COL_FLOAT64: {
      for (int64_t i = 0; i < sd->n; i++) {
        if (!col_valid(col, i)) {
          sd->label_class[i] = -1;
          continue;
        }
        double x = stress_num(col, i);
        int64_t v = (int64_t)x;
        if (!isfinite(x) || (double)v != x || fabs(x) > 9e15) {
          fx_format_float(x, buf);
          return assay__err(ASSAY_ERR_DATA,
                            "label column \"%s\" of the %s, row %lld: %s is not a class; a %s "
                            "task needs integer class labels 0..k-1 (or text labels named in "
                            "data_params.class_names)",
                            col->name, side_name(s), (long long)i, buf, task);
        }
        int32_t cl = -1;
        if (names && col->type != COL_BOOL) {
          int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
          cl = class_of_text(names, buf, (size_t)n);
        }
        if (cl < 0) {
          if (v < 0 || (k > 0 && v >= k)) {
            char *names_text = names ? json_dumps(names, JSON_COMPACT) : NULL;
            int rc = assay__err(ASSAY_ERR_DATA,
                                "label column \"%s\" of the %s, row %lld: %lld is not a class "
                                "of this %s task (expected 0..%d%s%s)",
                                col->name, side_name(s), (long long)i, (long long)v, task,
                                (int)(k > 0 ? k - 1 : 0), names_text ? ", or one of " : "",
                                names_text ? names_text : "");
            free(names_text);
            return rc;
          }
          cl = (int32_t)v;
          if (v > *maxlabel) *maxlabel = v;
        }
        sd->label_class[i] = cl;
      }
      break;
    }
    case COL_TIMESTAMP:
      return assay__err(ASSAY_ERR_DATA,
                        "label column \"%s\" of the %s holds timestamps; a %s task needs class "
                        "labels",
                        col->name, side_name(s), task);
  }
  int64_t labeled = 0;
  for (int64_t i = 0; i < sd->n; i++) labeled += sd->label_class[i] >= 0;
  sd->labeled = labeled;
  return ASSAY_OK;
}

static int regression_labels(stress_ctx *c, int s, const column *col) {
  stress_side *sd = &c->side[s];
  if (col->type == COL_STRING || col->type == COL_TIMESTAMP)
    return assay__err(ASSAY_ERR_DATA,
                      "label column \"%s\" of the %s holds %s values; a regression task needs "
                      "numbers",
                      col->name, side_name(s), col->type == COL_STRING ? "text" : "timestamp");
  sd->label_value = malloc((size_t)(sd->n ? sd->n : 1) * sizeof *sd->label_value);
  if (!sd->label_value) return assay__nomem();
  int64_t labeled = 0;
  for (int64_t i = 0; i < sd->n; i++) {
    double v = stress_num(col, i);
    sd->label_value[i] = v;
    labeled += !isnan(v);
  }
  sd->labeled = labeled;
  return ASSAY_OK;
}

/* --- preparing a run: predictions ------------------------------------------------------- */

/* The prediction columns of side s: from the frame given, or the pred_col
 * columns of the side's frame. *ncols 0: none. */
static int pred_columns(stress_ctx *c, int s, const column **cols, int *ncols) {
  *ncols = 0;
  const frame *pf = s ? c->in->eval_pred : c->in->ref_pred;
  stress_side *sd = &c->side[s];
  if (pf) {
    if (pf->rows != sd->n)
      return assay__err(ASSAY_ERR_DATA,
                        "the %s's predictions have %lld rows; the %s has %lld (one prediction "
                        "per row expected)",
                        side_name(s), (long long)pf->rows, side_name(s), (long long)sd->n);
    int want = c->task == TASK_MULTICLASS ? (c->nclasses > 0 ? c->nclasses : pf->ncols) : 1;
    if (pf->ncols != want || want < 1)
      return assay__err(ASSAY_ERR_DATA,
                        "the %s's predictions have %d columns; expected %d (%s)", side_name(s),
                        pf->ncols, want,
                        c->task == TASK_MULTICLASS
                          ? "one probability column per class, in class order"
                          : c->task == TASK_BINARY ? "the positive class's probability"
                                                   : "the predicted value");
    for (int j = 0; j < pf->ncols && j < 256; j++) cols[j] = &pf->cols[j];
    *ncols = pf->ncols;
    return ASSAY_OK;
  }
  if (c->pred_cols[s]) {
    size_t i;
    json_t *v;
    const json_t *own = json_object_get(c->in->eval_params, "pred_col");
    if (s == 1 && (!own || json_is_null(own)) &&
        !frame_col(sd->f, json_string_value(json_array_get(c->pred_cols[s], 0))))
      return ASSAY_OK; /* inherited from the reference's roles: no predictions here */
    json_array_foreach(c->pred_cols[s], i, v) {
      const column *col = frame_col(sd->f, json_string_value(v));
      if (!col)
        return assay__err(ASSAY_ERR_DATA,
                          "prediction column \"%s\" (data_params.pred_col) is not a column of "
                          "the %s",
                          json_string_value(v), side_name(s));
      cols[i] = col;
    }
    *ncols = (int)json_array_size(c->pred_cols[s]);
    return ASSAY_OK;
  }
  if (c->pred_col[s]) {
    const column *col = frame_col(sd->f, c->pred_col[s]);
    if (!col) return ASSAY_OK; /* inherited from the reference's roles: no predictions here */
    cols[0] = col;
    *ncols = 1;
  }
  return ASSAY_OK;
}

static int check_pred_type(const column *col, int s) {
  if (col->type == COL_STRING || col->type == COL_TIMESTAMP)
    return assay__err(ASSAY_ERR_DATA,
                      "prediction column \"%s\" of the %s holds %s values; expected numbers",
                      col->name, side_name(s), col->type == COL_STRING ? "text" : "timestamp");
  return ASSAY_OK;
}

static int load_predictions(stress_ctx *c, int s, const column **cols, int ncols) {
  stress_side *sd = &c->side[s];
  int64_t n = sd->n;
  for (int j = 0; j < ncols; j++) {
    int rc = check_pred_type(cols[j], s);
    if (rc) return rc;
  }
  size_t rows = (size_t)(n ? n : 1);
  if (c->task == TASK_MULTICLASS) {
    int32_t k = c->nclasses;
    sd->proba = malloc(fx_mul(rows, (size_t)k * sizeof(double)));
    sd->pred_class = malloc(rows * sizeof *sd->pred_class);
    if (!sd->proba || !sd->pred_class) return assay__nomem();
    int64_t npred = 0;
    for (int64_t i = 0; i < n; i++) {
      double *row = sd->proba + (size_t)i * (size_t)k, sum = 0, best = -1;
      int nulls = 0;
      int32_t arg = -1;
      for (int32_t j = 0; j < k; j++) {
        double v = stress_num(cols[j], i);
        row[j] = v;
        if (isnan(v)) {
          nulls++;
          continue;
        }
        if (!(v >= 0 && v <= 1))
          return assay__err(ASSAY_ERR_DATA,
                            "prediction column \"%s\" of the %s, row %lld: %g is not a "
                            "probability (expected 0..1)",
                            cols[j]->name, side_name(s), (long long)i, v);
        sum += v;
        if (v > best) best = v, arg = j;
      }
      if (nulls == k) {
        sd->pred_class[i] = -1;
        continue;
      }
      if (nulls)
        return assay__err(ASSAY_ERR_DATA,
                          "the %s's predicted probabilities of row %lld have %d missing values "
                          "of %d; expected all %d or none",
                          side_name(s), (long long)i, nulls, (int)k, (int)k);
      if (fabs(sum - 1) > 1e-3)
        return assay__err(ASSAY_ERR_DATA,
                          "the %s's predicted probabilities of row %lld sum to %.6g; expected "
                          "the %d class probabilities to sum to 1",
                          side_name(s), (long long)i, sum, (int)k);
      sd->pred_class[i] = arg;
      npred++;
    }
    sd->npred = npred;
    return ASSAY_OK;
  }
  sd->score = stress_big_alloc(rows * sizeof *sd->score); /* read at random */
  if (!sd->score) return assay__nomem();
  const column *col = cols[0];
  int64_t npred = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = stress_num(col, i);
    if (c->task == TASK_BINARY && !isnan(v) && !(v >= 0 && v <= 1))
      return assay__err(ASSAY_ERR_DATA,
                        "prediction column \"%s\" of the %s, row %lld: %g is not a "
                        "probability; a binary task's prediction is the positive class's "
                        "probability in 0..1",
                        col->name, side_name(s), (long long)i, v);
    sd->score[i] = v;
    npred += !isnan(v);
  }
  sd->npred = npred;
  if (c->task == TASK_BINARY) {
    sd->pred_class = malloc(rows * sizeof *sd->pred_class);
    if (!sd->pred_class) return assay__nomem();
    for (int64_t i = 0; i < n; i++)
      sd->pred_class[i] = isnan(sd->score[i]) ? -1 : sd->score[i] >= 0.5;
  }
  /* the score order (rows with a score), and the scores in it */
  sd->score_order = malloc((size_t)(npred ? npred : 1) * sizeof *sd->score_order);
  sd->score_sorted = malloc((size_t)(npred ? npred : 1) * sizeof *sd->score_sorted);
  if (!sd->score_order || !sd->score_sorted) return assay__nomem();
  sd->nscored = (size_t)npred;
  if (npred == n) return argsort_keys(sd->score, (size_t)n, sd->score_order, sd->score_sorted);
  double *key = calloc((size_t)(npred ? npred : 1), sizeof *key);
  size_t *rowof = malloc((size_t)(npred ? npred : 1) * sizeof *rowof);
  if (!key || !rowof) {
    free(key), free(rowof);
    return assay__nomem();
  }
  size_t m = 0;
  for (int64_t i = 0; i < n; i++)
    if (!isnan(sd->score[i])) key[m] = sd->score[i], rowof[m++] = (size_t)i;
  int rc = argsort_keys(key, m, sd->score_order, sd->score_sorted);
  for (size_t j = 0; !rc && j < m; j++) sd->score_order[j] = rowof[sd->score_order[j]];
  free(key), free(rowof);
  return rc;
}

/* The scores (and binary labels) in score order, and each row's rank. */
static int score_views(stress_ctx *c, int s) {
  stress_side *sd = &c->side[s];
  if (!sd->score_order) return ASSAY_OK;
  size_t m = sd->nscored; /* score_sorted: made with the order */
  sd->score_rank = stress_big_alloc((size_t)sd->n * sizeof *sd->score_rank); /* written at random */
  if (!sd->score_rank) return assay__nomem();
  if ((int64_t)m != sd->n)
    for (int64_t i = 0; i < sd->n; i++) sd->score_rank[i] = -1;
  const int32_t *lc = c->task == TASK_BINARY ? sd->label_class : NULL;
  if (lc && !(sd->label_sorted = malloc(m ? m : 1))) return assay__nomem();
  for (size_t j = 0; j < m; j++) { /* one pass: each row's rank and its label */
    size_t r = sd->score_order[j];
    sd->score_rank[r] = (int32_t)j;
    if (lc) sd->label_sorted[j] = (int8_t)lc[r];
  }
  return ASSAY_OK;
}

/* --- preparing a run ------------------------------------------------------------------- */

/* A data_params list (array of names) or NULL. */
static const json_t *param_list(const json_t *params, const char *key) {
  const json_t *v = json_object_get(params, key);
  return json_is_array(v) ? v : NULL;
}

static const char *param_name(const json_t *params, const char *key) {
  return json_string_value(json_object_get(params, key));
}

/* Every name of data_params[key] must be a column of the reference. */
static int check_listed(const json_t *params, const char *key, const frame *ref) {
  const json_t *arr = json_object_get(params, key);
  if (!arr || json_is_null(arr)) return ASSAY_OK;
  if (!json_is_array(arr))
    return assay__err(ASSAY_ERR_CONFIG, "data_params.%s: expected an array of column names",
                      key);
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    const char *name = json_string_value(v);
    if (!name)
      return assay__err(ASSAY_ERR_CONFIG, "data_params.%s[%zu]: expected a column name", key, i);
    if (!frame_col(ref, name))
      return assay__err(ASSAY_ERR_CONFIG,
                        "data_params.%s: \"%s\" is not a column of the reference dataset", key,
                        name);
  }
  return ASSAY_OK;
}

/* eval_params may only repeat a role of ref_params. */
static int check_same_role(const stress_input *in, const char *key) {
  const json_t *e = json_object_get(in->eval_params, key);
  if (!e || json_is_null(e)) return ASSAY_OK;
  const json_t *r = json_object_get(in->ref_params, key);
  if (r && json_equal((json_t *)r, (json_t *)e)) return ASSAY_OK;
  char *rt = r ? json_dumps(r, JSON_ENCODE_ANY) : NULL, *et = json_dumps(e, JSON_ENCODE_ANY);
  int rc = assay__err(ASSAY_ERR_CONFIG,
                      "the evaluation dataset's data_params.%s (%s) differs from the "
                      "reference's (%s); the two datasets of a stress test share their roles",
                      key, et ? et : "?", rt ? rt : "none");
  free(rt), free(et);
  return rc;
}

typedef struct prep_job {
  stress_ctx *c;
  int *catidx;                   /* categorical features */
  const column *lcol[2];         /* label columns */
  int labels_done;               /* read already */
  const column *pcols[2][256];   /* prediction columns */
  int npc[2];
  int rc[2], status[2];          /* each side's error, reported side by side */
  char *msg[2];
} prep_job;

/* Items 0 and 1: a side's labels, predictions and score views; then the
 * categorical features. */
static int prep_one(void *arg, int i) {
  prep_job *j = arg;
  stress_ctx *c = j->c;
  if (stress_cancelled(c)) return cancel_error(c);
  if (i >= 2) return code_feature(c, &c->features[j->catidx[i - 2]]);
  int s = i, rc = ASSAY_OK;
  if (!j->labels_done && j->lcol[s]) {
    int64_t maxlabel = -1;
    rc = c->task == TASK_REGRESSION ? regression_labels(c, s, j->lcol[s])
                                    : classify_labels(c, s, j->lcol[s], c->nclasses, &maxlabel);
  }
  if (!rc && j->npc[s]) rc = load_predictions(c, s, j->pcols[s], j->npc[s]);
  if (!rc && j->npc[s]) rc = score_views(c, s);
  if (rc) {
    const assay_error *e = assay_error_last();
    j->rc[s] = rc;
    j->status[s] = e ? e->http_status : -1;
    j->msg[s] = strdup(e && e->message ? e->message : "preparing the stress test failed");
  }
  return ASSAY_OK;
}

static int prepare(stress_ctx *c, const stress_input *in) {
  c->in = in;
  pthread_mutex_init(&c->lock, NULL);
  pthread_mutex_init(&c->perf_lock[0], NULL);
  pthread_mutex_init(&c->perf_lock[1], NULL);
  if (!in || !in->ref || !in->eval)
    return assay__err(ASSAY_ERR_INTERNAL, "stress_prepare: no reference or evaluation frame");
  c->task = test_task_bit(in->model_task);
  if (c->task != TASK_BINARY && c->task != TASK_MULTICLASS && c->task != TASK_REGRESSION)
    return assay__err(ASSAY_ERR_CONFIG,
                      "model task \"%s\" has no stress tests in this version (expected "
                      "MODEL_TASK_BINARY_CLASSIFICATION, MODEL_TASK_MULTICLASS_CLASSIFICATION or "
                      "MODEL_TASK_REGRESSION)",
                      in->model_task ? in->model_task : "(none)");
  int threads = in->threads;
  if (threads <= 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    threads = cpus < 1 ? 1 : cpus > STRESS_MAX_THREADS ? STRESS_MAX_THREADS : (int)cpus;
  }
  if (threads > STRESS_MAX_THREADS) threads = STRESS_MAX_THREADS;
  c->threads = threads;
  if (threads > 1 && !(c->pool = pool_new(threads - 1))) return assay__nomem();
  c->side[0].f = in->ref;
  c->side[0].n = in->ref->rows;
  c->side[1].f = in->eval;
  c->side[1].n = in->eval->rows;

  const json_t *rp = in->ref_params, *ep = in->eval_params;
  if (rp && !json_is_object(rp))
    return assay__err(ASSAY_ERR_CONFIG, "the reference's data_params: expected an object");
  if (ep && !json_is_object(ep))
    return assay__err(ASSAY_ERR_CONFIG, "the evaluation's data_params: expected an object");
  int rc;
  if ((rc = check_same_role(in, "label_col")) || (rc = check_same_role(in, "timestamp_col")) ||
      (rc = check_same_role(in, "class_names")))
    return rc;
  static const char *const lists[] = {"categorical_features", "features_not_in_model",
                                      "protected_features", "text_features", "image_features"};
  for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
    if ((rc = check_listed(rp, lists[i], in->ref))) return rc;

  /* label */
  c->label_col = param_name(rp, "label_col");
  const column *lcol[2] = {NULL, NULL};
  if (c->label_col) {
    lcol[0] = frame_col(in->ref, c->label_col);
    if (!lcol[0])
      return assay__err(ASSAY_ERR_DATA,
                        "label column \"%s\" (data_params.label_col) is not a column of the "
                        "reference dataset",
                        c->label_col);
    lcol[1] = frame_col(in->eval, c->label_col);
  }
  const char *ts = param_name(rp, "timestamp_col");
  if (ts && !frame_col(in->ref, ts))
    return assay__err(ASSAY_ERR_DATA,
                      "timestamp column \"%s\" (data_params.timestamp_col) is not a column of the "
                      "reference dataset",
                      ts);

  /* classes */
  const json_t *cn = json_object_get(rp, "class_names");
  if (cn && !json_is_null(cn)) {
    if (c->task == TASK_REGRESSION)
      return assay__err(ASSAY_ERR_CONFIG,
                        "data_params.class_names is for classification; the model task is "
                        "regression");
    if (!json_is_array(cn) || json_array_size(cn) < 2)
      return assay__err(ASSAY_ERR_CONFIG,
                        "data_params.class_names: expected an array of at least 2 class names");
    size_t i;
    json_t *v;
    json_array_foreach(cn, i, v) if (!json_is_string(v)) return assay__err(
      ASSAY_ERR_CONFIG, "data_params.class_names[%zu]: expected a string", i);
    if (c->task == TASK_BINARY && json_array_size(cn) != 2)
      return assay__err(ASSAY_ERR_CONFIG,
                        "data_params.class_names: a binary task has 2 classes (negative "
                        "first); got %zu names",
                        json_array_size(cn));
    c->class_names = json_deep_copy(cn);
    if (!c->class_names) return assay__nomem();
  }
  if (c->task == TASK_BINARY) c->nclasses = 2;
  if (c->class_names) c->nclasses = (int32_t)json_array_size(c->class_names);

  /* prediction roles */
  for (int s = 0; s < 2; s++) {
    const json_t *pc = json_object_get(s ? ep : rp, "pred_col");
    if (s && (!pc || json_is_null(pc))) pc = json_object_get(rp, "pred_col");
    if (!pc || json_is_null(pc)) continue;
    if (json_is_string(pc)) {
      if (c->task == TASK_MULTICLASS)
        return assay__err(ASSAY_ERR_CONFIG,
                          "data_params.pred_col of a multiclass task: expected an array of the "
                          "k probability columns in class order; got one column \"%s\"",
                          json_string_value(pc));
      c->pred_col[s] = json_string_value(pc);
    } else if (json_is_array(pc) && json_array_size(pc) > 0) {
      size_t i;
      json_t *v;
      json_array_foreach(pc, i, v) if (!json_is_string(v)) return assay__err(
        ASSAY_ERR_CONFIG, "data_params.pred_col[%zu]: expected a column name", i);
      if (c->task != TASK_MULTICLASS) {
        if (json_array_size(pc) != 1)
          return assay__err(ASSAY_ERR_CONFIG,
                            "data_params.pred_col: a %s task has one prediction column; got %zu",
                            c->task == TASK_BINARY ? "binary" : "regression",
                            json_array_size(pc));
        c->pred_col[s] = json_string_value(json_array_get(pc, 0));
      } else {
        if (c->nclasses > 0 && (int32_t)json_array_size(pc) != c->nclasses)
          return assay__err(ASSAY_ERR_CONFIG,
                            "data_params.pred_col: %zu probability columns for %d classes "
                            "(data_params.class_names)",
                            json_array_size(pc), (int)c->nclasses);
        c->pred_cols[s] = json_incref((json_t *)pc);
        if (c->nclasses == 0) c->nclasses = (int32_t)json_array_size(pc);
      }
    } else {
      return assay__err(ASSAY_ERR_CONFIG,
                        "data_params.pred_col: expected a column name (or, multiclass, an array "
                        "of the k probability columns)");
    }
    /* a pred_col the evaluation's own params name must exist there */
    if (s == 1 && json_object_get(ep, "pred_col") && !in->eval_pred) {
      const char *one = c->pred_col[1];
      if (one && !frame_col(in->eval, one))
        return assay__err(ASSAY_ERR_DATA,
                          "prediction column \"%s\" (data_params.pred_col) is not a column of "
                          "the evaluation dataset",
                          one);
    }
    if (s == 0 && !in->ref_pred && c->pred_col[0] && !frame_col(in->ref, c->pred_col[0]))
      return assay__err(ASSAY_ERR_DATA,
                        "prediction column \"%s\" (data_params.pred_col) is not a column of the "
                        "reference dataset",
                        c->pred_col[0]);
  }
  if (c->task == TASK_MULTICLASS && c->nclasses == 0) {
    const frame *pf = in->ref_pred ? in->ref_pred : in->eval_pred;
    if (pf) c->nclasses = pf->ncols;
  }

  /* labels: class names and the class count first (the labels themselves
   * are read below, one side a thread) */
  prep_job pj;
  memset(&pj, 0, sizeof pj);
  pj.c = c;
  pj.lcol[0] = lcol[0];
  pj.lcol[1] = lcol[1];
  if (c->label_col && c->task != TASK_REGRESSION) {
    if (c->task == TASK_MULTICLASS && !c->class_names &&
        ((lcol[0] && lcol[0]->type == COL_STRING) || (lcol[1] && lcol[1]->type == COL_STRING))) {
      if ((rc = derive_class_names(c, lcol))) return rc;
      if (c->nclasses > 0 && (int32_t)json_array_size(c->class_names) != c->nclasses)
        return assay__err(ASSAY_ERR_DATA,
                          "the labels hold %zu classes but the predictions have %d "
                          "probability columns",
                          json_array_size(c->class_names), (int)c->nclasses);
      c->nclasses = (int32_t)json_array_size(c->class_names);
    }
    if (c->nclasses == 0) { /* multiclass integer labels, k from the largest */
      int64_t maxlabel = -1;
      for (int s = 0; s < 2 && !rc; s++)
        if (lcol[s]) rc = classify_labels(c, s, lcol[s], 0, &maxlabel);
      if (rc) return rc;
      c->nclasses = (int32_t)(maxlabel + 1 < 2 ? 2 : maxlabel + 1);
      pj.labels_done = 1;
    }
  }
  if (c->task == TASK_MULTICLASS && c->nclasses == 0) c->nclasses = 2;

  /* prediction columns */
  c->pred_source = "none";
  if (c->task == TASK_MULTICLASS && c->nclasses > 256)
    return assay__err(ASSAY_ERR_DATA, "%d classes: at most 256 are supported", (int)c->nclasses);
  for (int s = 0; s < 2; s++) {
    if ((rc = pred_columns(c, s, pj.pcols[s], &pj.npc[s]))) return rc;
    if (!pj.npc[s]) continue;
    if (c->task == TASK_MULTICLASS && pj.npc[s] != c->nclasses)
      return assay__err(ASSAY_ERR_DATA,
                        "the %s's predictions have %d probability columns; the task has %d "
                        "classes",
                        side_name(s), pj.npc[s], (int)c->nclasses);
    if ((s ? in->eval_pred : in->ref_pred)) c->pred_source = "predictions";
    else if (strcmp(c->pred_source, "none") == 0) c->pred_source = "pred_col";
  }

  /* features: the reference's columns minus the roles and exclusions */
  const json_t *gex = json_object_get(in->config, "global_exclude_columns");
  const json_t *catl = param_list(rp, "categorical_features");
  const json_t *notin = param_list(rp, "features_not_in_model");
  const json_t *prot = param_list(rp, "protected_features");
  const json_t *textf = param_list(rp, "text_features");
  const json_t *imagef = param_list(rp, "image_features");
  c->features = calloc((size_t)(in->ref->ncols ? in->ref->ncols : 1), sizeof *c->features);
  int *catidx = malloc((size_t)(in->ref->ncols ? in->ref->ncols : 1) * sizeof *catidx);
  if (!c->features || !catidx) {
    free(catidx);
    return assay__nomem();
  }
  int ncat = 0;
  for (int k = 0; k < in->ref->ncols; k++) {
    const column *col = &in->ref->cols[k];
    const char *name = col->name;
    if ((c->label_col && strcmp(name, c->label_col) == 0) || (ts && strcmp(name, ts) == 0) ||
        (c->pred_col[0] && strcmp(name, c->pred_col[0]) == 0) ||
        (c->pred_col[1] && strcmp(name, c->pred_col[1]) == 0) ||
        (c->pred_cols[0] && in_names(c->pred_cols[0], name)) ||
        (c->pred_cols[1] && in_names(c->pred_cols[1], name)) || in_names(textf, name) ||
        in_names(imagef, name) || in_names(gex, name))
      continue;
    stress_feature *f = &c->features[c->nfeatures++];
    pthread_mutex_init(&f->lock, NULL);
    pthread_mutex_init(&f->cache_lock, NULL);
    f->name = name;
    f->categorical = col->type == COL_STRING || col->type == COL_BOOL || in_names(catl, name);
    f->in_model = !in_names(notin, name);
    f->is_protected = in_names(prot, name);
    f->ref_col = col;
    f->eval_col = frame_col(in->eval, name);
    if (f->categorical) catidx[ncat++] = c->nfeatures - 1;
  }
  /* in parallel: each side's labels and predictions, each categorical
   * feature's codes */
  pj.catidx = catidx;
  rc = stress_parallel(c, 2 + ncat, prep_one, &pj);
  free(catidx);
  for (int s = 0; s < 2; s++) {
    if (pj.rc[s] && !rc) rc = assay__err_status(pj.rc[s], pj.status[s], "%s", pj.msg[s]);
    free(pj.msg[s]);
  }
  return rc;
}

int stress_prepare(stress_ctx *c, const stress_input *in) {
  memset(c, 0, sizeof *c);
  int rc = prepare(c, in);
  if (rc) stress_release(c);
  return rc;
}

void stress_release(stress_ctx *c) {
  if (!c || !c->in) return;
  tests_subset_release(c);
  tests_performance_release(c);
  pool_free(c->pool);
  c->pool = NULL;
  for (int s = 0; s < 2; s++) {
    stress_side *sd = &c->side[s];
    stress_big_free(sd->label_class);
    free(sd->label_value);
    stress_big_free(sd->score);
    free(sd->proba);
    free(sd->pred_class);
    free(sd->score_order);
    free(sd->score_sorted);
    stress_big_free(sd->score_rank);
    free(sd->label_sorted);
    json_decref(c->pred_cols[s]);
  }
  for (int k = 0; k < c->nfeatures; k++) {
    stress_feature *f = &c->features[k];
    free(f->ref_codes);
    free(f->eval_codes);
    if (f->cat_names)
      for (int32_t j = 0; j < f->ncat; j++) free(f->cat_names[j]);
    free(f->cat_names);
    free(f->stats);
    free(f->edges);
    free(f->bins[0]);
    free(f->bins[1]);
    pthread_mutex_destroy(&f->lock);
    pthread_mutex_destroy(&f->cache_lock);
  }
  free(c->features);
  json_decref(c->class_names);
  pthread_mutex_destroy(&c->lock);
  pthread_mutex_destroy(&c->perf_lock[0]);
  pthread_mutex_destroy(&c->perf_lock[1]);
  memset(c, 0, sizeof *c);
}

/* --- running: dispatch and the document ------------------------------------------------ */

/* The module implementing a test type, or NULL. */
static stress_test_fn find_fn(const char *type) {
  stress_test_fn (*const finders[])(const char *) = {tests_performance_find, tests_subset_find,
                                                     tests_drift_find, tests_abnormal_find,
                                                     tests_cleanliness_find};
  for (size_t i = 0; i < sizeof finders / sizeof *finders; i++) {
    stress_test_fn fn = finders[i](type);
    if (fn) return fn;
  }
  return NULL;
}

typedef struct batch_run {
  const test_def *def;
  const json_t *test;
  stress_test_fn fn;
  json_t *batch;
  double ms;
  int worst;
} batch_run;

typedef struct run_state {
  stress_ctx *c;
  batch_run *b;
  int nb, done;
  pthread_mutex_t mu; /* progress and log calls */
} run_state;

static void run_log(run_state *r, const char *fmt, ...) ASSAY_PRINTF(2, 3);
static void run_log(run_state *r, const char *fmt, ...) {
  const stress_input *in = r->c->in;
  if (!in->log) return;
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&r->mu);
  in->log(in->ctx, line);
  pthread_mutex_unlock(&r->mu);
}

/* Why a test cannot run on this data, or NULL. */
static const char *skip_reason(const stress_ctx *c, const test_def *def) {
  if (!(def->tasks & c->task)) return "not a test of this model task";
  if (def->needs_labels && !c->label_col)
    return "needs labels: the reference dataset has no label column (data_params.label_col)";
  if (def->needs_predictions && strcmp(c->pred_source, "none") == 0)
    return "needs predictions: none were given (no model, no registered predictions and no "
           "data_params.pred_col)";
  return NULL;
}

static int severity_level(const char *s) {
  if (!s) return 0;
  if (strcmp(s, SEV_ALERT) == 0) return 2;
  if (strcmp(s, SEV_WARNING) == 0) return 1;
  return 0;
}

/* summary_counts of test cases: {total, pass, warning, fail, skip}. */
typedef struct counts {
  json_int_t total, pass, warning, fail, skip;
} counts;

static void count_status(counts *k, const char *status) {
  k->total++;
  if (!status) return;
  if (strcmp(status, TC_PASS) == 0) k->pass++;
  else if (strcmp(status, TC_WARNING) == 0) k->warning++;
  else if (strcmp(status, TC_FAIL) == 0) k->fail++;
  else if (strcmp(status, TC_SKIP) == 0) k->skip++;
}

static json_t *counts_json(const counts *k) {
  return json_pack("{s:I,s:I,s:I,s:I,s:I}", "total", k->total, "pass", k->pass, "warning",
                   k->warning, "fail", k->fail, "skip", k->skip);
}

/* Severity, failing_features, summary_counts, duration and metrics of a
 * finished batch. */
static int finish_batch(batch_run *b) {
  json_t *batch = b->batch, *cases = json_object_get(batch, "test_cases");
  json_t *failing = json_array();
  if (!failing) return assay__nomem();
  counts k = {0, 0, 0, 0, 0};
  int worst = 0;
  size_t i;
  json_t *tc;
  json_array_foreach(cases, i, tc) {
    count_status(&k, json_string_value(json_object_get(tc, "status")));
    int lvl = severity_level(json_string_value(json_object_get(tc, "severity")));
    if (lvl > worst) worst = lvl;
    if (lvl > 0) {
      size_t j;
      json_t *f;
      json_array_foreach(json_object_get(tc, "features"), j, f) {
        const char *name = json_string_value(f);
        if (name && !in_names(failing, name)) json_array_append_new(failing, json_string(name));
      }
    }
  }
  b->worst = worst;
  json_object_set_new(batch, "duration_in_millis", json_integer((json_int_t)llround(b->ms)));
  json_object_set_new(batch, "severity", json_string(sev_names[worst]));
  json_object_set_new(batch, "failing_features", failing);
  json_object_set_new(batch, "summary_counts", counts_json(&k));
  if (!json_is_object(json_object_get(batch, "metrics")))
    json_object_set_new(batch, "metrics", json_object());
  return ASSAY_OK;
}

static int run_batch(void *arg, int i) {
  run_state *r = arg;
  batch_run *b = &r->b[i];
  stress_ctx *c = r->c;
  if (stress_cancelled(c)) return cancel_error(c);
  double t0 = now_ms();
  const test_def *def = b->def;
  b->batch = json_pack("{s:s,s:s,s:s,s:s,s:[]}", "test_type", def->type, "test_name",
                       def->name ? def->name : def->type, "category",
                       def->category ? def->category : "", "description",
                       def->description ? def->description : "", "test_cases");
  if (!b->batch) return assay__nomem();
  const char *skip = skip_reason(c, def);
  int rc = ASSAY_OK;
  if (skip) {
    json_t *tc = stress_case_skip(NULL, skip);
    if (!tc || json_array_append_new(json_object_get(b->batch, "test_cases"), tc))
      rc = assay__nomem();
  } else {
    rc = b->fn(c, def, b->test, b->batch);
  }
  if (rc) return rc;
  b->ms = now_ms() - t0;
  if ((rc = finish_batch(b))) return rc;
  const stress_input *in = c->in;
  pthread_mutex_lock(&r->mu);
  int done = ++r->done;
  if (in->progress) in->progress(in->ctx, done, r->nb);
  pthread_mutex_unlock(&r->mu);
  run_log(r, "test %s: %zu test cases, %s, %.0f ms", def->type,
          json_array_size(json_object_get(b->batch, "test_cases")), sev_names[b->worst], b->ms);
  return ASSAY_OK;
}

/* Shared values most tests use, computed in parallel before the batches:
 * the reference summaries and decile edges of the numeric features, their
 * per-row bins on both sides (when drift, subset or cleanliness tests
 * run), and the overall model metrics of both sides. */
typedef struct warm_job {
  stress_ctx *c;
  int *idx, n;
  int bins;    /* also stress_bins of both sides (items n .. 3n - 1) */
  int overall; /* also stress_overall of both sides (the last two items) */
} warm_job;

static int warm_one(void *arg, int i) {
  warm_job *w = arg;
  if (stress_cancelled(w->c)) return cancel_error(w->c);
  int nf = w->n * (w->bins ? 3 : 1);
  if (i >= nf) {
    stress_overall(w->c, i - nf);
    return ASSAY_OK;
  }
  /* all reference summaries first (bins wait for them), then the bins */
  stress_feature *f = &w->c->features[w->idx[i % w->n]];
  if (i < w->n) return stress_ref_stats(w->c, f) ? ASSAY_OK : assay__nomem();
  const double *e;
  size_t m;
  stress_bins(w->c, f, i < 2 * w->n ? 0 : 1, &e, &m); /* NULL: its users bin it themselves */
  return ASSAY_OK;
}

static int warm_shared(stress_ctx *c, int numeric, int bins, int overall) {
  warm_job w = {c, malloc((size_t)(c->nfeatures ? c->nfeatures : 1) * sizeof(int)), 0, bins,
                overall};
  if (!w.idx) return assay__nomem();
  for (int k = 0; numeric && k < c->nfeatures; k++)
    if (!c->features[k].categorical) w.idx[w.n++] = k;
  int rc = stress_parallel(c, w.n * (bins ? 3 : 1) + (overall ? 2 : 0), warm_one, &w);
  free(w.idx);
  return rc;
}

static json_t *data_json(const stress_ctx *c) {
  json_t *features = json_array();
  for (int k = 0; features && k < c->nfeatures; k++) {
    const stress_feature *f = &c->features[k];
    json_array_append_new(features, json_pack("{s:s,s:s,s:b,s:b}", "name", f->name, "type",
                                              f->categorical ? "categorical" : "numeric",
                                              "in_model", f->in_model, "protected",
                                              f->is_protected));
  }
  json_t *d = json_pack("{s:I,s:I,s:s?,s:s,s:o}", "ref_rows", (json_int_t)c->side[0].n,
                        "eval_rows", (json_int_t)c->side[1].n, "label_col", c->label_col,
                        "pred_source", c->pred_source, "features", features);
  if (d && !c->label_col) json_object_set_new(d, "label_col", json_null());
  if (d && c->class_names) json_object_set(d, "class_names", c->class_names);
  return d;
}

/* The document from the finished batches. */
static json_t *assemble(const stress_ctx *c, batch_run *b, int nb) {
  const json_t *cfg = c->in->config;
  json_t *cats = json_object_get(cfg, "categories");
  json_t *skipped = json_object_get(cfg, "skipped_categories");
  json_t *seed = json_object_get(cfg, "random_seed");
  json_t *doc = json_object();
  if (!doc) return NULL;
  json_object_set_new(doc, "model_task", json_string(c->in->model_task));
  json_object_set_new(doc, "random_seed", json_is_integer(seed) ? json_copy(seed) : json_integer(0));
  json_object_set_new(doc, "categories", json_is_array(cats) ? json_deep_copy(cats) : json_array());
  json_object_set_new(doc, "skipped_categories",
                      json_is_array(skipped) ? json_deep_copy(skipped) : json_array());
  json_object_set_new(doc, "data", data_json(c));
  counts total = {0, 0, 0, 0, 0};
  json_int_t sev[3] = {0, 0, 0};
  json_t *batches = json_array();
  for (int i = 0; i < nb; i++) {
    size_t j;
    json_t *tc;
    json_array_foreach(json_object_get(b[i].batch, "test_cases"), j, tc) {
      count_status(&total, json_string_value(json_object_get(tc, "status")));
      sev[severity_level(json_string_value(json_object_get(tc, "severity")))]++;
    }
    json_array_append(batches, b[i].batch);
  }
  json_object_set_new(doc, "summary_counts", counts_json(&total));
  json_object_set_new(doc, "severity_counts",
                      json_pack("{s:I,s:I,s:I}", "num_pass_severity", sev[0],
                                "num_warning_severity", sev[1], "num_alert_severity", sev[2]));
  json_t *results = json_array();
  size_t ci;
  json_t *cv;
  json_array_foreach(cats, ci, cv) {
    const char *cat = json_string_value(cv);
    if (!cat) continue;
    counts k = {0, 0, 0, 0, 0};
    int worst = 0;
    double ms = 0;
    json_int_t nbatch = 0, nfailing = 0;
    json_t *types = json_array(), *failing = json_array();
    for (int i = 0; i < nb; i++) {
      if (!b[i].def->category || strcmp(b[i].def->category, cat) != 0) continue;
      json_array_append_new(types, json_string(b[i].def->type));
      nbatch++;
      if (b[i].worst > 0) json_array_append_new(failing, json_string(b[i].def->type)), nfailing++;
      if (b[i].worst > worst) worst = b[i].worst;
      ms += b[i].ms;
      size_t j;
      json_t *tc;
      json_array_foreach(json_object_get(b[i].batch, "test_cases"), j, tc)
        count_status(&k, json_string_value(json_object_get(tc, "status")));
    }
    /* metrics (show_category_results_metrics): batches and cases, and how many of
     * them fail (a warning or an alert) */
    json_int_t ncases = k.total, nbad = k.warning + k.fail;
    json_t *metrics = json_pack("{s:I,s:I,s:I,s:I,s:f}", "num_test_batches", nbatch,
                                "num_failing_test_batches", nfailing, "num_test_cases", ncases,
                                "num_failing_test_cases", nbad, "share_failing_test_cases",
                                ncases ? (double)nbad / (double)ncases : 0.0);
    json_array_append_new(results,
                          json_pack("{s:s,s:s,s:o,s:o,s:o,s:I,s:o}", "category", cat, "severity",
                                    sev_names[worst], "summary_counts", counts_json(&k),
                                    "test_types", types, "failing_test_types", failing,
                                    "duration_in_millis", (json_int_t)llround(ms), "metrics",
                                    metrics));
  }
  json_object_set_new(doc, "category_results", results);
  json_object_set_new(doc, "test_batches", batches);
  return doc;
}

static int any_in_category(const batch_run *b, int nb, const char *cat) {
  for (int i = 0; i < nb; i++)
    if (b[i].def->category && strcmp(b[i].def->category, cat) == 0) return 1;
  return 0;
}

int stress_run(const stress_input *in, json_t **out) {
  *out = NULL;
  if (!in || !in->config || !json_is_array(json_object_get(in->config, "tests")))
    return assay__err(ASSAY_ERR_INTERNAL, "stress_run: no normalized config");
  double t0 = now_ms(), u0 = cpu_ms();
  /* the batches to run, and their modules */
  const json_t *tests = json_object_get(in->config, "tests");
  batch_run *b = calloc(json_array_size(tests) + 1, sizeof *b);
  if (!b) return assay__nomem();
  int nb = 0;
  size_t i;
  json_t *t;
  json_array_foreach(tests, i, t) {
    if (!json_is_true(json_object_get(t, "run"))) continue;
    const char *type = json_string_value(json_object_get(t, "test_type"));
    const test_def *def = type ? test_def_find(type) : NULL;
    if (!def) {
      free(b);
      return assay__err(ASSAY_ERR_CONFIG, "stress test \"%s\" is not in the catalogue",
                        type ? type : "(no test_type)");
    }
    stress_test_fn fn = find_fn(type);
    if (!fn) {
      free(b);
      return assay__err(ASSAY_ERR_INTERNAL,
                        "stress test \"%s\" (%s) has no implementation in this engine", type,
                        def->category ? def->category : "?");
    }
    b[nb++] = (batch_run){def, t, fn, NULL, 0, 0};
  }
  stress_ctx c;
  int rc = stress_prepare(&c, in);
  if (rc) {
    free(b);
    return rc;
  }
  run_state r = {&c, b, nb, 0, PTHREAD_MUTEX_INITIALIZER};
  run_log(&r,
          "stress test: %d test batches over %d features; reference %lld rows, evaluation %lld "
          "rows; labels %s, predictions %s; %d threads",
          nb, c.nfeatures, (long long)c.side[0].n, (long long)c.side[1].n,
          c.label_col ? "yes" : "no", c.pred_source, c.threads);
  if (in->progress) in->progress(in->ctx, 0, nb);
  double t1 = now_ms(), u1 = cpu_ms();
  int other = 0, perf = 0, binned = 0;
  for (int k = 0; k < nb; k++) {
    const char *cat = b[k].def->category;
    if (strcmp(cat, CAT_MODEL_PERFORMANCE) != 0) other = 1;
    if (strcmp(cat, CAT_DRIFT) != 0 && strcmp(cat, CAT_DATA_CLEANLINESS) != 0) perf = 1;
    if (strcmp(cat, CAT_DRIFT) == 0 || strcmp(cat, CAT_DATA_CLEANLINESS) == 0 ||
        strcmp(cat, CAT_SUBSET_PERFORMANCE) == 0 || strcmp(cat, CAT_SUBSET_DEGRADATION) == 0)
      binned = 1;
  }
  rc = warm_shared(&c, other, binned, perf && c.label_col && strcmp(c.pred_source, "none") != 0);
  double t15 = now_ms(), u15 = cpu_ms();
  if (!rc && (any_in_category(b, nb, CAT_SUBSET_PERFORMANCE) ||
              any_in_category(b, nb, CAT_SUBSET_DEGRADATION)))
    rc = tests_subset_warm(&c);
  double t2 = now_ms(), u2 = cpu_ms();
  if (!rc) {
    run_log(&r,
            "prepared in %.0f ms (cpu %.0f ms); reference quantiles in %.0f ms (cpu %.0f "
            "ms); subset statistics in %.0f ms (cpu %.0f ms)",
            t1 - t0, u1 - u0, t15 - t1, u15 - u1, t2 - t15, u2 - u15);
    rc = stress_parallel(&c, nb, run_batch, &r);
  }
  if (stress_cancelled(&c)) rc = cancel_error(&c);
  if (!rc) {
    *out = assemble(&c, b, nb);
    if (!*out) rc = assay__nomem();
    else run_log(&r, "stress test done in %.0f ms (cpu %.0f ms)", now_ms() - t0, cpu_ms() - u0);
  }
  for (int k = 0; k < nb; k++) json_decref(b[k].batch);
  free(b);
  stress_release(&c);
  pthread_mutex_destroy(&r.mu);
  return rc;
}

/* --- assay__debug_stress ----------------------------------------------------------------- */

/* "verbose": the engine's log lines on stderr. */
static void stderr_log(void *ctx, const char *line) {
  (void)ctx;
  fprintf(stderr, "[%.3f] %s\n", now_ms() / 1e3, line);
}

static int read_csv_at(const json_t *req, const char *key, frame **out) {
  *out = NULL;
  const json_t *v = json_object_get(req, key);
  if (!v || json_is_null(v)) return ASSAY_OK;
  if (!json_is_string(v)) return assay__err(ASSAY_ERR_CONFIG, "%s: expected a file path", key);
  csv_options o = CSV_OPTIONS_INIT;
  return csv_read(out, json_string_value(v), &o);
}

int assay__debug_stress(const char *request_json, char **out_json) {
  *out_json = NULL;
  json_error_t jerr;
  json_t *req = request_json ? json_loads(request_json, 0, &jerr) : NULL;
  if (!json_is_object(req)) {
    json_decref(req);
    return assay__err(ASSAY_ERR_CONFIG,
                      "debug stress: expected a JSON object {model_task, ref_path, eval_path, "
                      "ref_params?, eval_params?, config?, threads?, ref_pred_path?, "
                      "eval_pred_path?}");
  }
  const char *task = json_string_value(json_object_get(req, "model_task"));
  frame *ref = NULL, *eval = NULL, *rpred = NULL, *epred = NULL;
  json_t *config = NULL, *norm = NULL, *doc = NULL;
  double t0 = now_ms();
  int rc = ASSAY_OK;
  if (!task || !json_is_string(json_object_get(req, "ref_path")) ||
      !json_is_string(json_object_get(req, "eval_path")))
    rc = assay__err(ASSAY_ERR_CONFIG, "debug stress: model_task, ref_path and eval_path are needed");
  if (!rc) rc = read_csv_at(req, "ref_path", &ref);
  if (!rc) rc = read_csv_at(req, "eval_path", &eval);
  if (!rc) rc = read_csv_at(req, "ref_pred_path", &rpred);
  if (!rc) rc = read_csv_at(req, "eval_pred_path", &epred);
  double t1 = now_ms();
  struct rusage ru0;
  getrusage(RUSAGE_SELF, &ru0);
  if (!rc) {
    const json_t *given = json_object_get(req, "config");
    config = json_is_object(given) ? json_deep_copy(given) : json_object();
    if (!config) rc = assay__nomem();
  }
  if (!rc) {
    if (!json_object_get(config, "run_name"))
      json_object_set_new(config, "run_name", json_string("debug"));
    if (!json_object_get(config, "model_id"))
      json_object_set_new(config, "model_id", json_string("debug"));
    if (!json_object_get(config, "data_info"))
      json_object_set_new(config, "data_info", json_pack("{s:s,s:s}", "ref_dataset_id", "ref",
                                                         "eval_dataset_id", "eval"));
    rc = test_config_normalize(config, task, NULL, &norm);
  }
  if (!rc) {
    json_t *th = json_object_get(req, "threads");
    stress_input in = {0};
    in.model_task = task;
    in.ref = ref;
    in.eval = eval;
    in.ref_pred = rpred;
    in.eval_pred = epred;
    in.ref_params = json_object_get(req, "ref_params");
    in.eval_params = json_object_get(req, "eval_params");
    in.config = norm;
    in.threads = json_is_integer(th) ? (int)json_integer_value(th) : 0;
    if (json_is_true(json_object_get(req, "verbose"))) in.log = stderr_log;
    rc = stress_run(&in, &doc);
  }
  double t2 = now_ms();
  if (!rc) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)(ru.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
                 (double)(ru.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
                 (double)(ru.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
    json_object_set_new(doc, "timing",
                        json_pack("{s:f,s:f,s:f,s:I}", "read_seconds", (t1 - t0) / 1e3,
                                  "run_seconds", (t2 - t1) / 1e3, "run_cpu_seconds", cpu,
                                  "peak_rss_kb", (json_int_t)ru.ru_maxrss));
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text) rc = assay__nomem();
    *out_json = text;
  }
  json_decref(doc);
  json_decref(norm);
  json_decref(config);
  json_decref(req);
  frame_free(ref);
  frame_free(eval);
  frame_free(rpred);
  frame_free(epred);
  return rc;
}
