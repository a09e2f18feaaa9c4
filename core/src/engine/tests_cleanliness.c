/* engine/tests_cleanliness.c — the DATA_CLEANLINESS category: label
 * imbalance, duplicate rows, feature-to-label leakage (normalised mutual
 * information) and highly correlated feature pairs (Pearson / Cramér's V).
 *
 * Duplicate rows: a 64-bit hash per row built column at a time (one pass
 * per column over a hash array), the (hash, row) pairs partitioned by
 * their top bits and sorted within each bucket, then candidates of equal
 * hash compared exactly, column by column (so a hash collision never makes
 * a false duplicate). Rows first get the hash of a few columns only (the
 * floating-point ones first: they tell most rows apart); only the rows
 * that share it with another row — all the duplicates among them — get
 * the hash of every column, and only rows sharing that are compared. The
 * two datasets run on two threads.
 *
 * Pearson for every numeric pair: the columns are shifted by their means
 * and read in blocks of rows (a few hundred rows of every column, cache-
 * resident); each block adds its dot products — four pairs at a time with
 * SIMD vectors — to the accumulators of its stripe of rows, and stripes
 * run in parallel, summed in a fixed order (results do not depend on the
 * thread count). Nulls and non-finite values are masked: pairs with a
 * masked column also accumulate the masked sums, so each pair's statistic
 * is over the rows where both are present. Cramér's V and mutual
 * information use dense contingency tables when small (Cramér's V: also
 * no more cells than four per row, so a pair costs O(rows)) and sorted
 * sparse cell keys otherwise. Every pair is computed, but only a bounded
 * set becomes cases (the flagged ones, at most 1000, filled up to 100 with
 * the highest others; docs/tests.md), picked with bounded heaps in one
 * pass, so a wide dataset does not make a document quadratic in its
 * features; more than 2000 features of a kind are not paired at all. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/frame_impl.h"
#include "engine/tests_util.h"

/* Contingency tables up to this many cells are dense. */
#define DENSE_CELLS (1 << 20)

/* The judged value under the catalogue's metric name (def->metric), or
 * under `fallback` when the catalogue names none. */
static void metric_value(json_t *tc, const test_def *def, const char *fallback, double value) {
  if (tc) stress_metric(tc, def && def->metric ? def->metric : fallback, value);
}

static int append_one(json_t *batch, json_t *tc) {
  if (!tc) return assay__nomem();
  return tu_append_cases(batch, &tc, 1);
}

/* --- label imbalance ------------------------------------------------------------------------ */

static int label_imbalance(stress_ctx *c, const test_def *def, const json_t *test,
                           json_t *batch) {
  const stress_side *r = &c->side[0];
  if (c->task == TASK_REGRESSION)
    return append_one(batch, stress_case_skip(NULL, "regression labels have no classes"));
  if (!c->label_col || !r->label_class)
    return append_one(batch, stress_case_skip(NULL, "the data has no labels"));
  int32_t k = c->nclasses > 0 ? c->nclasses : 1;
  int64_t *cnt = calloc((size_t)k, sizeof *cnt);
  if (!cnt) return assay__nomem();
  int64_t total = 0;
  for (int64_t i = 0; i < r->n; i++) {
    int32_t v = r->label_class[i];
    if (v >= 0 && v < k) cnt[v]++, total++;
  }
  json_t *tc;
  if (total == 0) {
    tc = stress_case_skip(c->label_col, "the reference has no labels");
  } else {
    int32_t minc = 0;
    for (int32_t a = 1; a < k; a++)
      if (cnt[a] < cnt[minc]) minc = a;
    double value = (double)cnt[minc] / (double)total;
    tc = stress_case(test, c->label_col, value);
    if (tc) {
      stress_metric(tc, "minority_class", (double)minc);
      stress_metric(tc, "num_classes", (double)k);
      stress_metric(tc, "labeled_rows", (double)total);
      metric_value(tc, def, "minority_share", value);
      json_t *names = json_array(), *shares = json_array();
      for (int32_t a = 0; a < k; a++) {
        const char *nm = json_string_value(json_array_get(c->class_names, (size_t)a));
        char buf[24];
        if (!nm) {
          snprintf(buf, sizeof buf, "%d", (int)a);
          nm = buf;
        }
        json_array_append_new(names, json_string(nm));
        json_array_append_new(shares, json_real((double)cnt[a] / (double)total));
      }
      json_object_set_new(tc, "details",
                          json_pack("{s:o, s:o}", "classes", names, "shares", shares));
    }
  }
  free(cnt);
  return append_one(batch, tc);
}

/* --- duplicate rows ------------------------------------------------------------------------- */

typedef struct hk {
  uint64_t h;
  int64_t i;
} hk;

#define NULL_HASH 0x5bd1e9955bd1e995ull

/* Whether rows a and b of the columns are equal (nulls equal nulls; -0.0
 * equals 0.0; strings by text). */
static int rows_equal(const column *const *cols, int ncols, int64_t a, int64_t b) {
  for (int k = 0; k < ncols; k++) {
    const column *col = cols[k];
    int va = col_valid(col, a), vb = col_valid(col, b);
    if (va != vb) return 0;
    if (!va) continue;
    switch (col->type) {
      case COL_FLOAT64:
        if (((const double *)col->values)[a] != ((const double *)col->values)[b]) return 0;
        break;
      case COL_INT64:
      case COL_TIMESTAMP:
        if (((const int64_t *)col->values)[a] != ((const int64_t *)col->values)[b]) return 0;
        break;
      case COL_BOOL:
        if (((const uint8_t *)col->values)[a] != ((const uint8_t *)col->values)[b]) return 0;
        break;
      case COL_STRING: {
        int32_t ca = ((const int32_t *)col->values)[a], cb = ((const int32_t *)col->values)[b];
        if (ca == cb) break;
        if (col->dict_unique) return 0;
        int64_t la = col->dict_offsets[ca + 1] - col->dict_offsets[ca];
        int64_t lb = col->dict_offsets[cb + 1] - col->dict_offsets[cb];
        if (la != lb ||
            memcmp(col->dict_data + col->dict_offsets[ca], col->dict_data + col->dict_offsets[cb],
                   (size_t)la) != 0)
          return 0;
        break;
      }
      default: return 0;
    }
  }
  return 1;
}

/* Fold column col into the row hashes h[n] of rows idx[0..n) (idx NULL:
 * rows 0..n-1). */
static int hash_column(const column *col, int k, uint64_t *h, int64_t n, const int64_t *idx) {
  uint64_t mul = fx_hash_u64((uint64_t)k + 1) | 1;
#define ROW(i) (idx ? idx[i] : (i))
  switch (col->type) {
    case COL_FLOAT64: {
      const double *v = col->values;
      for (int64_t i = 0; i < n; i++) {
        uint64_t bits;
        memcpy(&bits, &v[ROW(i)], 8);
        bits &= -(uint64_t)((bits << 1) != 0); /* -0.0 as 0.0 */
        h[i] = fx_mix(h[i] ^ bits, mul);
      }
      break;
    }
    case COL_INT64:
    case COL_TIMESTAMP: {
      const int64_t *v = col->values;
      for (int64_t i = 0; i < n; i++) h[i] = fx_mix(h[i] ^ (uint64_t)v[ROW(i)], mul);
      break;
    }
    case COL_BOOL: {
      const uint8_t *v = col->values;
      for (int64_t i = 0; i < n; i++) h[i] = fx_mix(h[i] ^ v[ROW(i)], mul);
      break;
    }
    case COL_STRING: {
      uint64_t *dh = malloc((size_t)(col->dict_count > 0 ? col->dict_count : 1) * sizeof *dh);
      if (!dh) return assay__nomem();
      for (int64_t d = 0; d < col->dict_count; d++)
        dh[d] = fx_hash(col->dict_data + col->dict_offsets[d],
                        (size_t)(col->dict_offsets[d + 1] - col->dict_offsets[d]));
      if (col->dict_count == 0) dh[0] = 0; /* every row null */
      const int32_t *v = col->values;
      for (int64_t i = 0; i < n; i++) h[i] = fx_mix(h[i] ^ dh[v[ROW(i)]], mul);
      free(dh);
      break;
    }
    default: break;
  }
  /* A null row's value is 0 (frame.h), so the step above mixed in 0 for
   * it; a second mix marks it as null (a valid 0 does not get it). */
  if (col->validity && col->null_count > 0) {
    for (int64_t i = 0; i < n; i++)
      if (!col_valid(col, ROW(i))) h[i] = fx_mix(h[i] ^ NULL_HASH, mul ^ 2);
  }
#undef ROW
  return 0;
}

/* Sort (hash, row) pairs by hash (equal hashes keep their order): stable
 * partitions by the next (up to) 12 bits of the hash, most significant
 * first — each level's buckets are sorted in turn, in cache — down to
 * insertion sorts of a few pairs. `shift`: the bits not yet used. tmp: n
 * entries. */
static int sort_hk_bits(hk *a, hk *tmp, int64_t n, int shift) {
  if (n <= 24 || shift == 0) {
    for (int64_t x = 1; x < n; x++) { /* stable insertion sort */
      hk v = a[x];
      int64_t y = x;
      while (y > 0 && a[y - 1].h > v.h) {
        a[y] = a[y - 1];
        y--;
      }
      a[y] = v;
    }
    return 0;
  }
  int bits = 1; /* about eight pairs a bucket, at most 4096 buckets */
  while (bits < 12 && ((int64_t)1 << bits) < n / 8) bits++;
  if (bits > shift) bits = shift;
  int low = shift - bits;
  size_t nb = (size_t)1 << bits, mask = nb - 1;
  int64_t *start = calloc(nb + 1, sizeof *start);
  if (!start) return assay__nomem();
  for (int64_t i = 0; i < n; i++) start[((a[i].h >> low) & mask) + 1]++;
  for (size_t b = 0; b < nb; b++) start[b + 1] += start[b];
  for (int64_t i = 0; i < n; i++) tmp[start[(a[i].h >> low) & mask]++] = a[i];
  memcpy(a, tmp, (size_t)n * sizeof *a); /* start[b] is now bucket b's end */
  int rc = 0;
  for (size_t b = 0, lo = 0; b < nb && !rc; lo = (size_t)start[b++])
    rc = sort_hk_bits(a + lo, tmp, start[b] - (int64_t)lo, low);
  free(start);
  return rc;
}

static int sort_hk(hk *a, hk *tmp, int64_t n) { return sort_hk_bits(a, tmp, n, 64); }

typedef struct dup_job {
  stress_ctx *c;
  const test_def *def;
  const json_t *test;
  json_t *cases[2];
} dup_job;

static int column_excluded(stress_ctx *c, const json_t *test, const char *name) {
  if (stress_excluded(test, name)) return 1;
  const json_t *g = json_object_get(c->in->config, "global_exclude_columns");
  size_t i;
  const json_t *v;
  json_array_foreach(g, i, v) {
    if (json_is_string(v) && strcmp(json_string_value(v), name) == 0) return 1;
  }
  return 0;
}

/* Columns hashed first (the rest only for rows sharing their hash). */
#define DUP_PREFIX 4

/* (hash, row) pairs of rows idx[0..n) (NULL: all n rows) over the columns
 * order[0..k) (their index in cols: the hash's column salt), sorted. */
static int hashed_pairs(stress_ctx *c, const column *const *cols, const int *order, int k,
                        int64_t n, const int64_t *idx, hk **out) {
  *out = NULL;
  uint64_t *h = malloc((size_t)(n ? n : 1) * sizeof *h);
  hk *pairs = malloc((size_t)(n ? n : 1) * sizeof *pairs);
  hk *tmp = NULL;
  int rc = h && pairs ? 0 : assay__nomem();
  for (int64_t i = 0; !rc && i < n; i++) h[i] = 0x243f6a8885a308d3ull;
  for (int q = 0; !rc && q < k; q++) {
    if (stress_cancelled(c)) rc = tu_cancelled();
    else rc = hash_column(cols[order[q]], order[q], h, n, idx);
  }
  if (!rc) {
    for (int64_t i = 0; i < n; i++) {
      pairs[i].h = fx_hash_u64(h[i]);
      pairs[i].i = idx ? idx[i] : i;
    }
    free(h);
    h = NULL;
    tmp = malloc((size_t)(n ? n : 1) * sizeof *tmp);
    rc = tmp ? sort_hk(pairs, tmp, n) : assay__nomem();
  }
  free(tmp);
  free(h);
  if (rc) {
    free(pairs);
    return rc;
  }
  *out = pairs;
  return 0;
}

/* Count the rows of f equal to an earlier row over cols. */
static int count_duplicates(stress_ctx *c, const column *const *cols, int ncols, int64_t n,
                            int64_t *out) {
  *out = 0;
  /* the columns in hashing order: floating-point, then integers and
   * times, then the others */
  int *order = malloc((size_t)(ncols > 0 ? ncols : 1) * sizeof *order);
  if (!order) return assay__nomem();
  int k = 0;
  for (int pass = 0; pass < 3; pass++)
    for (int q = 0; q < ncols; q++) {
      col_type t = cols[q]->type;
      int rank = t == COL_FLOAT64 ? 0 : (t == COL_INT64 || t == COL_TIMESTAMP) ? 1 : 2;
      if (rank == pass) order[k++] = q;
    }
  int nfirst = ncols < DUP_PREFIX ? ncols : DUP_PREFIX;
  hk *pairs = NULL;
  int64_t *cand = NULL, np = n;
  int rc = hashed_pairs(c, cols, order, nfirst, n, NULL, &pairs);
  if (!rc && nfirst < ncols) {
    /* the rows sharing their first hash: every duplicate is among them */
    cand = malloc((size_t)(n ? n : 1) * sizeof *cand);
    if (!cand) rc = assay__nomem();
    int64_t m = 0;
    for (int64_t s = 0; !rc && s < n;) {
      int64_t e = s + 1;
      while (e < n && pairs[e].h == pairs[s].h) e++;
      if (e - s > 1)
        for (int64_t x = s; x < e; x++) cand[m++] = pairs[x].i;
      s = e;
    }
    free(pairs);
    pairs = NULL;
    np = m;
    if (!rc && m) rc = hashed_pairs(c, cols, order, ncols, m, cand, &pairs);
  }
  free(cand);
  free(order);
  int64_t *reps = NULL;
  size_t reps_cap = 0;
  int64_t dups = 0;
  for (int64_t s = 0; !rc && pairs && s < np;) {
    int64_t e = s + 1;
    while (e < np && pairs[e].h == pairs[s].h) e++;
    if (e - s > 1) {
      size_t nreps = 0;
      for (int64_t x = s; x < e; x++) {
        int64_t row = pairs[x].i;
        int dup = 0;
        for (size_t r = 0; r < nreps && !dup; r++) dup = rows_equal(cols, ncols, reps[r], row);
        if (dup) {
          dups++;
          continue;
        }
        if (nreps == reps_cap) {
          size_t cap = reps_cap ? reps_cap * 2 : 8;
          int64_t *nr = realloc(reps, cap * sizeof *nr);
          if (!nr) {
            rc = assay__nomem();
            break;
          }
          reps = nr;
          reps_cap = cap;
        }
        reps[nreps++] = row;
      }
    }
    s = e;
  }
  free(reps);
  free(pairs);
  *out = dups;
  return rc;
}

static int dup_side(void *arg, int s) {
  dup_job *j = arg;
  stress_ctx *c = j->c;
  const char *dataset = s == 0 ? "reference" : "evaluation";
  const frame *f = c->side[s].f;
  int64_t n = c->side[s].n;
  json_t *tc = NULL;
  const column **cols = malloc((size_t)(f && f->ncols > 0 ? f->ncols : 1) * sizeof *cols);
  if (!cols) return assay__nomem();
  int ncols = 0;
  for (int k = 0; f && k < f->ncols; k++)
    if (!column_excluded(c, j->test, f->cols[k].name)) cols[ncols++] = &f->cols[k];
  int rc = 0;
  if (n == 0) {
    tc = stress_case_skip(NULL,
                          s == 0 ? "the reference has no rows" : "the evaluation has no rows");
  } else if (ncols == 0) {
    tc = stress_case_skip(NULL, "no columns to compare");
  } else {
    int64_t dups = 0;
    rc = count_duplicates(c, cols, ncols, n, &dups);
    if (!rc) {
      double value = (double)dups / (double)n;
      tc = stress_case(j->test, NULL, value);
      if (tc) {
        metric_value(tc, j->def, "duplicate_share", value);
        stress_metric(tc, "duplicate_rows", (double)dups);
        stress_metric(tc, "rows", (double)n);
        stress_metric(tc, "columns", (double)ncols);
      }
    }
  }
  free(cols);
  if (rc) return rc;
  if (!tc) return assay__nomem();
  json_object_set_new(json_object_get(tc, "metrics"), "dataset", json_string(dataset));
  j->cases[s] = tc;
  return 0;
}

static int duplicate_rows(stress_ctx *c, const test_def *def, const json_t *test,
                          json_t *batch) {
  dup_job j = {c, def, test, {NULL, NULL}};
  int rc = stress_parallel(c, 2, dup_side, &j);
  if (!rc) rc = tu_append_cases(batch, j.cases, 2);
  json_decref(j.cases[0]);
  json_decref(j.cases[1]);
  return rc;
}

/* --- contingency statistics ----------------------------------------------------------------- */

/* Mutual information (nats) from sorted cell keys (x * ky + y, as doubles)
 * and the marginal counts, as sklearn's mutual_info_score. */
static double mi_sparse(const double *keys, size_t n, int64_t ky, const double *cx,
                        const double *cy) {
  double total = (double)n, mi = 0, logn = log(total);
  for (size_t s = 0; s < n;) {
    size_t e = s + 1;
    while (e < n && keys[e] == keys[s]) e++;
    int64_t key = (int64_t)keys[s];
    double nij = (double)(e - s);
    mi += nij / total * (log(nij) + logn - log(cx[key / ky]) - log(cy[key % ky]));
    s = e;
  }
  return mi < 0 ? 0 : mi;
}

/* Cramér's V from sorted cell keys and marginals: chi2 = N (sum nij^2 /
 * (ni nj) - 1), V = sqrt(chi2 / (N (min(r, c) - 1))) over the non-empty
 * rows r and columns c. */
static double cramers_sparse(const double *keys, size_t n, int64_t kb, const double *ca,
                             int64_t ka, const double *cb) {
  int64_t r = 0, cc = 0;
  for (int64_t i = 0; i < ka; i++) r += ca[i] > 0;
  for (int64_t i = 0; i < kb; i++) cc += cb[i] > 0;
  int64_t mn = r < cc ? r : cc;
  if (n == 0 || mn < 2) return NAN;
  double sum = 0;
  for (size_t s = 0; s < n;) {
    size_t e = s + 1;
    while (e < n && keys[e] == keys[s]) e++;
    int64_t key = (int64_t)keys[s];
    double nij = (double)(e - s);
    sum += nij * nij / (ca[key / kb] * cb[key % kb]);
    s = e;
  }
  double chi2 = (double)n * (sum - 1);
  if (chi2 < 0) chi2 = 0;
  double v = sqrt(chi2 / ((double)n * (double)(mn - 1)));
  return v > 1 ? 1 : v;
}

/* Cramér's V of a dense ka x kb count table: empty rows and columns
 * dropped, then stats_cramers_v. */
static double cramers_dense(const double *t, int32_t ka, int32_t kb) {
  double *ra = calloc((size_t)ka + (size_t)kb, sizeof *ra);
  if (!ra) return NAN;
  double *rb = ra + ka;
  for (int32_t a = 0; a < ka; a++)
    for (int32_t b = 0; b < kb; b++) {
      ra[a] += t[(size_t)a * kb + b];
      rb[b] += t[(size_t)a * kb + b];
    }
  int32_t r = 0, cc = 0;
  for (int32_t a = 0; a < ka; a++) r += ra[a] > 0;
  for (int32_t b = 0; b < kb; b++) cc += rb[b] > 0;
  double v = NAN;
  if (r >= 2 && cc >= 2) {
    double *ct = malloc((size_t)r * (size_t)cc * sizeof *ct);
    if (ct) {
      size_t o = 0;
      for (int32_t a = 0; a < ka; a++) {
        if (!(ra[a] > 0)) continue;
        for (int32_t b = 0; b < kb; b++)
          if (rb[b] > 0) ct[o++] = t[(size_t)a * kb + b];
      }
      v = stats_cramers_v(ct, r, cc);
      free(ct);
    }
  }
  free(ra);
  return v;
}

/* --- feature leakage ------------------------------------------------------------------------- */

typedef struct leak_job {
  stress_ctx *c;
  const test_def *def;
  const json_t *test;
  int nbins;
  const int32_t *y;      /* label codes of the reference rows, -1 null */
  int32_t ky;
  double hy;             /* label entropy */
  double *cy;            /* label counts */
  int64_t labeled;
  int *feat;
  json_t **cases;
} leak_job;

/* Feature codes of rows [s, s + len) into out (kx - 1: null). Numeric:
 * the bin (the number of edges below the value, as stats_bin_of; tu_bins).
 * buf: TU_CHUNK doubles. */
static void feature_codes(const stress_feature *f, const column *col, const double *edges,
                          size_t m, const uint8_t *pre, int64_t s, int len, int32_t *out,
                          double *buf) {
  if (f->categorical) {
    for (int k = 0; k < len; k++) {
      int32_t v = f->ref_codes[s + k];
      out[k] = v >= 0 && v < f->ncat_ref ? v : f->ncat_ref;
    }
    return;
  }
  if (pre) { /* the shared per-row bins: infinities in the outer bins, null m + 1 */
    for (int k = 0; k < len; k++) {
      uint8_t v = pre[s + k];
      out[k] = v <= m ? v : v == STRESS_BIN_NEGINF ? 0
                          : v == STRESS_BIN_POSINF ? (int32_t)m
                                                   : (int32_t)m + 1;
    }
    return;
  }
  const double *x = tu_num_view(col, s, len, buf);
  tu_bins(x, len, edges, m, out);
  for (int k = 0; k < len; k++)
    if (isnan(x[k])) out[k] = (int32_t)m + 1;
}

static int leak_one(void *arg, int i) {
  leak_job *j = arg;
  stress_ctx *c = j->c;
  stress_feature *f = &c->features[j->feat[i]];
  if (stress_cancelled(c)) return tu_cancelled();
  int64_t n = c->side[0].n;
  size_t m = 0;
  double *tmp = NULL;
  const double *edges = NULL;
  const uint8_t *pre = NULL;
  int32_t kx;
  if (f->categorical) {
    kx = f->ncat_ref + 1;
  } else {
    edges = stress_edges(c, f, j->nbins, &m, &tmp);
    if (!edges) m = 0;
    if (j->nbins == STRESS_DEFAULT_BINS) {
      const double *se;
      size_t sm;
      pre = stress_bins(c, f, 0, &se, &sm);
      if (pre && (sm != m || (m && memcmp(se, edges, m * sizeof *se) != 0))) pre = NULL;
    }
    kx = (int32_t)m + 2;
  }
  int64_t cells = (int64_t)kx * j->ky;
  double *cx = calloc((size_t)kx, sizeof *cx);
  int32_t codes[TU_CHUNK];
  double buf[TU_CHUNK];
  double mi = NAN;
  int rc = 0;
  if (!cx) rc = assay__nomem();
  if (!rc && cells <= DENSE_CELLS) {
    double *t = calloc((size_t)cells, sizeof *t);
    if (!t) rc = assay__nomem();
    for (int64_t s = 0; !rc && s < n; s += TU_CHUNK) {
      int len = (int)(n - s < TU_CHUNK ? n - s : TU_CHUNK);
      feature_codes(f, f->ref_col, edges, m, pre, s, len, codes, buf);
      for (int k = 0; k < len; k++) {
        int32_t y = j->y[s + k];
        if (y >= 0) t[(size_t)codes[k] * (size_t)j->ky + (size_t)y] += 1;
      }
    }
    if (!rc) mi = stats_mutual_info_table(t, kx, j->ky);
    free(t);
  } else if (!rc) {
    double *keys = malloc((size_t)(j->labeled ? j->labeled : 1) * sizeof *keys);
    if (!keys) rc = assay__nomem();
    size_t nk = 0;
    for (int64_t s = 0; !rc && s < n; s += TU_CHUNK) {
      int len = (int)(n - s < TU_CHUNK ? n - s : TU_CHUNK);
      feature_codes(f, f->ref_col, edges, m, pre, s, len, codes, buf);
      for (int k = 0; k < len; k++) {
        int32_t y = j->y[s + k];
        if (y >= 0) {
          keys[nk++] = (double)codes[k] * (double)j->ky + (double)y;
          cx[codes[k]] += 1;
        }
      }
    }
    if (!rc && nk) rc = stats_sort_f64(keys, nk, NULL);
    if (!rc) mi = mi_sparse(keys, nk, j->ky, cx, j->cy);
    free(keys);
  }
  free(cx);
  free(tmp);
  if (rc) return rc;
  json_t *tc;
  if (j->labeled == 0) tc = stress_case_skip(f->name, "the reference has no labels");
  else if (!(j->hy > 0)) tc = stress_case_skip(f->name, "the label has a single value");
  else if (isnan(mi)) tc = stress_case_skip(f->name, "mutual information is undefined");
  else {
    double value = mi / j->hy;
    if (value > 1) value = 1;
    tc = stress_case(j->test, f->name, value);
    if (tc) {
      metric_value(tc, j->def, "normalized_mutual_info", value);
      stress_metric(tc, "mutual_info", mi);
      stress_metric(tc, "label_entropy", j->hy);
    }
  }
  if (!tc) return assay__nomem();
  j->cases[i] = tc;
  return 0;
}

static int feature_leakage(stress_ctx *c, const test_def *def, const json_t *test,
                           json_t *batch) {
  const stress_side *r = &c->side[0];
  int64_t n = r->n;
  if (!c->label_col || (!r->label_class && !r->label_value))
    return append_one(batch, stress_case_skip(NULL, "the data has no labels"));
  int nbins = (int)tu_opt_num(test, "num_bins", STRESS_DEFAULT_BINS);
  if (nbins < 2) nbins = 2;
  if (nbins > 100) nbins = 100;
  int32_t *y = malloc((size_t)(n ? n : 1) * sizeof *y);
  int *feat = malloc(((size_t)c->nfeatures + 1) * sizeof *feat);
  json_t **cases = calloc((size_t)c->nfeatures + 1, sizeof *cases);
  double *cy = NULL;
  int32_t ky = 0;
  int rc = 0;
  if (!y || !feat || !cases) rc = assay__nomem();
  if (!rc && r->label_class) {
    ky = c->nclasses > 0 ? c->nclasses : 1;
    for (int64_t i = 0; i < n; i++) y[i] = r->label_class[i] < ky ? r->label_class[i] : -1;
  } else if (!rc) {
    /* regression: reference deciles (num_bins) of the labels */
    double *s = malloc((size_t)(n ? n : 1) * sizeof *s);
    double edges[100];
    size_t ns = 0, m = 0;
    if (!s) rc = assay__nomem();
    for (int64_t i = 0; !rc && i < n; i++)
      if (!isnan(r->label_value[i])) s[ns++] = r->label_value[i];
    if (!rc && ns) rc = stats_sort_f64(s, ns, NULL);
    if (!rc && ns) m = stats_quantile_edges(s, ns, nbins, edges);
    free(s);
    ky = (int32_t)m + 1;
    for (int64_t i = 0; !rc && i < n; i++) {
      double v = r->label_value[i];
      y[i] = isnan(v) ? -1 : (int32_t)stats_bin_of(edges, m, v);
    }
  }
  if (!rc && !(cy = calloc((size_t)(ky > 0 ? ky : 1), sizeof *cy))) rc = assay__nomem();
  int64_t labeled = 0;
  for (int64_t i = 0; !rc && i < n; i++)
    if (y[i] >= 0) cy[y[i]] += 1, labeled++;
  int nf = 0;
  if (!rc) {
    for (int i = 0; i < c->nfeatures; i++)
      if (!stress_excluded(test, c->features[i].name)) feat[nf++] = i;
    leak_job j = {c,     def, test, nbins, y,    ky,
                  ky > 0 ? stats_entropy(cy, (size_t)ky) : 0,
                  cy,    labeled, feat, cases};
    rc = nf ? stress_parallel(c, nf, leak_one, &j) : 0;
  }
  if (!rc) rc = tu_append_cases(batch, cases, nf);
  for (int i = 0; cases && i < nf; i++) json_decref(cases[i]);
  free(cases);
  free(feat);
  free(cy);
  free(y);
  return rc;
}

/* --- feature correlation --------------------------------------------------------------------- */

#define CB 256          /* rows per block (a multiple of 4) */
#define STRIPE_ROWS 65536

/* The four lanes of a sum, added in a fixed order. */
static inline double lanes(const double l[4]) { return (l[0] + l[1]) + (l[2] + l[3]); }

/* Dot product of two blocks of len rows (len a multiple of 4): lane i sums
 * the rows k = i (mod 4). */
STRESS_SIMD static double dot(const double *a, const double *b, int len) {
  stress_v4d s = {0, 0, 0, 0};
  for (int k = 0; k < len; k += 4) {
    stress_v4d x, y;
    STRESS_LOAD4(x, a + k);
    STRESS_LOAD4(y, b + k);
    s += x * y;
  }
  double l[4];
  memcpy(l, &s, sizeof l);
  return lanes(l);
}

/* G[a * p + b] += the dot product of columns a and b of V (p columns of CB
 * rows, len of them used, a multiple of 4) for every pair a < b: tiles of
 * two columns by four, eight sums held in registers (lanes as dot()). */
STRESS_SIMD static void cross_block(const double *V, int p, int len, double *G) {
  int a = 0;
  for (; a + 2 <= p; a += 2) {
    const double *x0 = V + (size_t)a * CB, *x1 = x0 + CB;
    int b = a + 1;
    for (; b + 4 <= p; b += 4) {
      const double *y0 = V + (size_t)b * CB, *y1 = y0 + CB, *y2 = y1 + CB, *y3 = y2 + CB;
      stress_v4d s00 = {0, 0, 0, 0}, s01 = s00, s02 = s00, s03 = s00;
      stress_v4d s10 = s00, s11 = s00, s12 = s00, s13 = s00;
      for (int k = 0; k < len; k += 4) {
        stress_v4d u0, u1, w0, w1, w2, w3;
        STRESS_LOAD4(u0, x0 + k);
        STRESS_LOAD4(u1, x1 + k);
        STRESS_LOAD4(w0, y0 + k);
        STRESS_LOAD4(w1, y1 + k);
        STRESS_LOAD4(w2, y2 + k);
        STRESS_LOAD4(w3, y3 + k);
        s00 += u0 * w0, s01 += u0 * w1, s02 += u0 * w2, s03 += u0 * w3;
        s10 += u1 * w0, s11 += u1 * w1, s12 += u1 * w2, s13 += u1 * w3;
      }
      double l[4];
      double *g0 = G + (size_t)a * (size_t)p + (size_t)b, *g1 = g0 + p;
#define PUT(g, s) (memcpy(l, &(s), sizeof l), (g) += lanes(l))
      PUT(g0[0], s00), PUT(g0[1], s01), PUT(g0[2], s02), PUT(g0[3], s03);
      PUT(g1[0], s10), PUT(g1[1], s11), PUT(g1[2], s12), PUT(g1[3], s13);
#undef PUT
    }
    for (; b < p; b++) {
      const double *y = V + (size_t)b * CB;
      G[(size_t)a * (size_t)p + (size_t)b] += dot(x0, y, len);
      if (b > a + 1) G[(size_t)(a + 1) * (size_t)p + (size_t)b] += dot(x1, y, len);
    }
  }
  for (; a < p; a++)
    for (int b = a + 1; b < p; b++)
      G[(size_t)a * (size_t)p + (size_t)b] += dot(V + (size_t)a * CB, V + (size_t)b * CB, len);
}

typedef struct num_col {
  stress_feature *f;
  const column *col;
  double shift;            /* mean of the finite values */
  double mn, mx;
  int64_t present;         /* finite values */
  int masked;              /* has nulls or non-finite values */
} num_col;

enum { A_N = 0, A_SA, A_SB, A_SAA, A_SBB, A_SAB, A_COUNT };

typedef struct corr_job {
  stress_ctx *c;
  num_col *cols;
  int ncols;
  int64_t n, stripe_rows;
  int64_t npairs;
  double *acc;             /* [stripe][pair][A_COUNT] */
  /* categorical pairs */
  stress_feature **cf;     /* per categorical pair: the two features */
  double *cv;              /* Cramér's V per categorical pair */
  double *crows;           /* rows per categorical pair */
} corr_job;

static int colstat_one(void *arg, int i) {
  corr_job *j = arg;
  num_col *nc = &j->cols[i];
  double buf[TU_CHUNK], sum = 0, mn = INFINITY, mx = -INFINITY;
  int64_t present = 0;
  const stress_numstats *st = stress_ref_stats(j->c, nc->f);
  if (st) { /* the reference summary has them (the same sum, in row order) */
    present = (int64_t)st->n;
    nc->present = present;
    nc->shift = present ? st->sum / (double)present : 0;
    if (!isfinite(nc->shift)) nc->shift = 0;
    nc->mn = present ? st->min : INFINITY;
    nc->mx = present ? st->max : -INFINITY;
    nc->masked = present < j->n;
    return 0;
  }
  for (int64_t s = 0; s < j->n; s += TU_CHUNK) {
    int len = (int)(j->n - s < TU_CHUNK ? j->n - s : TU_CHUNK);
    const double *xs = tu_num_view(nc->col, s, len, buf);
    for (int k = 0; k < len; k++) {
      double x = xs[k];
      if (!isfinite(x)) continue;
      sum += x;
      present++;
      if (x < mn) mn = x;
      if (x > mx) mx = x;
    }
  }
  nc->present = present;
  nc->shift = present ? sum / (double)present : 0;
  if (!isfinite(nc->shift)) nc->shift = 0;
  nc->mn = mn;
  nc->mx = mx;
  nc->masked = present < j->n;
  return 0;
}

static int stripe_one(void *arg, int st) {
  corr_job *j = arg;
  int p = j->ncols;
  int64_t lo = (int64_t)st * j->stripe_rows, hi = lo + j->stripe_rows;
  if (hi > j->n) hi = j->n;
  double *acc = j->acc + (size_t)st * (size_t)j->npairs * A_COUNT;
  /* V: shifted values (0 where masked); when some column is masked, Q =
   * V^2 of every column and M the masks of the masked ones (at slot) */
  int nmasked = 0;
  int *slot = malloc((size_t)p * sizeof *slot);
  if (!slot) return assay__nomem();
  for (int a = 0; a < p; a++) slot[a] = j->cols[a].masked ? nmasked++ : -1;
  size_t vq = nmasked ? 2 * (size_t)p : (size_t)p;
  double *V = malloc((vq + (size_t)nmasked) * CB * sizeof *V);
  double *sv = malloc((size_t)p * 3 * sizeof *sv); /* per column: sum V, sum V^2, present */
  double *G = malloc((size_t)p * (size_t)p * sizeof *G); /* a block's cross products */
  if (!V || !sv || !G) {
    free(slot), free(V), free(sv), free(G);
    return assay__nomem();
  }
  double *Q = V + (size_t)p * CB, *M = V + vq * CB;
  double buf[CB];
  for (int64_t s = lo; s < hi; s += CB) {
    if (stress_cancelled(j->c)) { /* every block: with many columns one is long */
      free(slot), free(V), free(sv), free(G);
      return tu_cancelled();
    }
    int len = (int)(hi - s < CB ? hi - s : CB);
    int plen = (len + 3) & ~3;
    for (int a = 0; a < p; a++) {
      double *v = V + (size_t)a * CB;
      const double *xs = tu_num_view(j->cols[a].col, s, len, buf);
      double shift = j->cols[a].shift, ssum = 0, qsum = 0, cnt = 0;
      if (slot[a] < 0) {
        for (int k = 0; k < len; k++) {
          double x = xs[k] - shift;
          v[k] = x;
          ssum += x;
          qsum += x * x;
        }
        cnt = len;
      } else {
        double *mk = M + (size_t)slot[a] * CB;
        for (int k = 0; k < len; k++) {
          double x = xs[k];
          int ok = isfinite(x);
          x = ok ? x - shift : 0;
          v[k] = x;
          mk[k] = ok;
          ssum += x;
          qsum += x * x;
          cnt += ok;
        }
        for (int k = len; k < plen; k++) mk[k] = 0;
      }
      for (int k = len; k < plen; k++) v[k] = 0;
      if (nmasked) {
        double *q = Q + (size_t)a * CB;
        for (int k = 0; k < plen; k++) q[k] = v[k] * v[k];
      }
      sv[3 * a] = ssum;
      sv[3 * a + 1] = qsum;
      sv[3 * a + 2] = cnt;
    }
    /* cross products: this block's, one per pair, added to its sum */
    memset(G, 0, (size_t)p * (size_t)p * sizeof *G);
    cross_block(V, p, plen, G);
    size_t pair = 0;
    for (int a = 0; a < p; a++)
      for (int b = a + 1; b < p; b++, pair++)
        acc[pair * A_COUNT + A_SAB] += G[(size_t)a * (size_t)p + (size_t)b];
    /* the sums over the rows where both are present */
    pair = 0;
    for (int a = 0; a < p; a++) {
      for (int b = a + 1; b < p; b++, pair++) {
        double *ac = acc + pair * A_COUNT;
        const double *Ma = slot[a] >= 0 ? M + (size_t)slot[a] * CB : NULL;
        const double *Mb = slot[b] >= 0 ? M + (size_t)slot[b] * CB : NULL;
        if (!Ma && !Mb) {
          ac[A_N] += len;
          ac[A_SA] += sv[3 * a];
          ac[A_SB] += sv[3 * b];
          ac[A_SAA] += sv[3 * a + 1];
          ac[A_SBB] += sv[3 * b + 1];
          continue;
        }
        const double *va = V + (size_t)a * CB, *vb = V + (size_t)b * CB;
        const double *qa = Q + (size_t)a * CB, *qb = Q + (size_t)b * CB;
        ac[A_N] += Ma && Mb ? dot(Ma, Mb, plen) : Ma ? sv[3 * a + 2] : sv[3 * b + 2];
        ac[A_SA] += Mb ? dot(va, Mb, plen) : sv[3 * a];
        ac[A_SB] += Ma ? dot(vb, Ma, plen) : sv[3 * b];
        ac[A_SAA] += Mb ? dot(qa, Mb, plen) : sv[3 * a + 1];
        ac[A_SBB] += Ma ? dot(qb, Ma, plen) : sv[3 * b + 1];
      }
    }
  }
  free(slot), free(V), free(sv), free(G);
  return 0;
}

static int cat_pair_one(void *arg, int i) {
  corr_job *j = arg;
  stress_feature *fa = j->cf[2 * i], *fb = j->cf[2 * i + 1];
  if (stress_cancelled(j->c)) return tu_cancelled();
  int64_t n = j->n, ka = fa->ncat_ref, kb = fb->ncat_ref;
  const int32_t *ca = fa->ref_codes, *cb = fb->ref_codes;
  double rows = 0, v = NAN;
  if (ka < 2 || kb < 2) {
    for (int64_t r = 0; r < n; r++) rows += ca[r] >= 0 && cb[r] >= 0;
  } else if (ka * kb <= DENSE_CELLS && ka * kb <= 4 * n) {
    /* integer counts in two tables (even and odd rows: a run of one cell
     * does not chain every row's increment on the last), then added */
    size_t cells = (size_t)(ka * kb);
    int64_t *ct = calloc(2 * cells + 1, sizeof *ct);
    double *t = malloc(cells * sizeof *t);
    if (!ct || !t) {
      free(ct), free(t);
      return assay__nomem();
    }
    int64_t *c1 = ct + cells, skip = 2 * (int64_t)cells; /* invalid rows count there */
    int64_t r = 0, bad = 0;
    for (; r + 2 <= n; r += 2) {
      int32_t x0 = ca[r], y0 = cb[r], x1 = ca[r + 1], y1 = cb[r + 1];
      int ok0 = x0 >= 0 && y0 >= 0 && x0 < ka && y0 < kb;
      int ok1 = x1 >= 0 && y1 >= 0 && x1 < ka && y1 < kb;
      ct[ok0 ? (int64_t)x0 * kb + y0 : skip]++;
      c1[ok1 ? (int64_t)x1 * kb + y1 : skip - (int64_t)cells]++;
    }
    for (; r < n; r++) {
      int32_t x = ca[r], y = cb[r];
      if (x >= 0 && y >= 0 && x < ka && y < kb) ct[(int64_t)x * kb + y]++;
      else bad++;
    }
    bad += ct[skip];
    for (size_t q = 0; q < cells; q++) t[q] = (double)(ct[q] + c1[q]);
    rows = (double)(n - bad);
    v = cramers_dense(t, (int32_t)ka, (int32_t)kb);
    free(ct), free(t);
  } else {
    double *keys = malloc((size_t)(n ? n : 1) * sizeof *keys);
    double *ma = calloc((size_t)(ka + kb), sizeof *ma);
    if (!keys || !ma) {
      free(keys), free(ma);
      return assay__nomem();
    }
    size_t nk = 0;
    for (int64_t r = 0; r < n; r++) {
      int32_t x = ca[r], y = cb[r];
      if (x >= 0 && y >= 0 && x < ka && y < kb) {
        keys[nk++] = (double)x * (double)kb + (double)y;
        ma[x] += 1;
        ma[ka + y] += 1;
      }
    }
    rows = (double)nk;
    int rc = nk ? stats_sort_f64(keys, nk, NULL) : 0;
    if (!rc) v = cramers_sparse(keys, nk, kb, ma, ka, ma + ka);
    free(keys), free(ma);
    if (rc) return rc;
  }
  j->cv[i] = v;
  j->crows[i] = rows;
  return 0;
}

/* Pairs of one kind are computed for at most this many in-model features of
 * that kind (the work and the memory grow with their square). */
#define CORR_MAX_FEATURES 2000
/* Cases: the flagged pairs (warning or alert), the highest CORR_MAX_FLAGGED
 * of them; when that leaves fewer than CORR_MIN_CASES, the highest passing
 * pairs, then the undefined ones (in feature order), up to CORR_MIN_CASES. */
#define CORR_MAX_FLAGGED 1000
#define CORR_MIN_CASES 100

/* One pair's result. */
typedef struct corr_pick {
  double value, rows, signed_r; /* value NAN when undefined */
  const char *why;              /* undefined: why (NULL: stress_case's reason) */
  int64_t ord;                  /* the pair's place in feature order */
  int a, b;                     /* feature indices, a before b */
} corr_pick;

/* Whether x ranks below y: a lower value, or the same value later in
 * feature order. */
static int pick_worse(const corr_pick *x, const corr_pick *y) {
  return x->value < y->value || (x->value == y->value && x->ord > y->ord);
}

/* The best cap picks offered so far: a heap whose root h[0] ranks lowest. */
typedef struct pick_heap {
  corr_pick *h;
  int n, cap;
} pick_heap;

static void heap_offer(pick_heap *hp, const corr_pick *p) {
  int i;
  if (hp->n < hp->cap) { /* sift up */
    i = hp->n++;
    while (i > 0 && pick_worse(p, &hp->h[(i - 1) / 2])) {
      hp->h[i] = hp->h[(i - 1) / 2];
      i = (i - 1) / 2;
    }
    hp->h[i] = *p;
    return;
  }
  if (hp->cap == 0 || !pick_worse(&hp->h[0], p)) return;
  for (i = 0;;) { /* p replaces the root: sift down */
    int ch = 2 * i + 1;
    if (ch >= hp->n) break;
    if (ch + 1 < hp->n && pick_worse(&hp->h[ch + 1], &hp->h[ch])) ch++;
    if (!pick_worse(&hp->h[ch], p)) break;
    hp->h[i] = hp->h[ch];
    i = ch;
  }
  hp->h[i] = *p;
}

static int pick_by_rank(const void *x, const void *y) { /* highest first */
  const corr_pick *a = x, *b = y;
  return pick_worse(b, a) ? -1 : pick_worse(a, b) ? 1 : 0;
}
static int pick_by_ord(const void *x, const void *y) {
  const corr_pick *a = x, *b = y;
  return (a->ord > b->ord) - (a->ord < b->ord);
}

/* The result of pair (x, y), x < y, of the numeric columns: Pearson over
 * the rows where both are present, from the stripes' sums. */
static void numeric_pair(const corr_job *j, int nstripes, int x, int y, corr_pick *p) {
  int64_t nnum = j->ncols;
  /* pair index of (x, y) in the row-major upper triangle */
  int64_t pi = (int64_t)x * nnum - (int64_t)x * (x + 1) / 2 + (y - x - 1);
  double s[A_COUNT] = {0};
  for (int st = 0; st < nstripes; st++)
    for (int k = 0; k < A_COUNT; k++)
      s[k] += j->acc[((size_t)st * (size_t)j->npairs + (size_t)pi) * A_COUNT + (size_t)k];
  const num_col *cx = &j->cols[x], *cy = &j->cols[y];
  double nn = s[A_N];
  double cov = s[A_SAB] - s[A_SA] * s[A_SB] / nn;
  double va = s[A_SAA] - s[A_SA] * s[A_SA] / nn;
  double vb = s[A_SBB] - s[A_SB] * s[A_SB] / nn;
  p->rows = nn;
  p->value = p->signed_r = NAN;
  p->why = NULL;
  if (nn < 2) p->why = "fewer than 2 rows where both values are present";
  else if (cx->mn == cx->mx || cy->mn == cy->mx || !(va > 1e-14 * s[A_SAA]) ||
           !(vb > 1e-14 * s[A_SBB]))
    p->why = "a feature is constant where both values are present";
  else {
    double r = cov / sqrt(va * vb);
    if (r > 1) r = 1;
    if (r < -1) r = -1;
    p->signed_r = r;
    p->value = fabs(r);
  }
}

static int high_feature_correlation(stress_ctx *c, const test_def *def, const json_t *test,
                                    json_t *batch) {
  int nf = c->nfeatures;
  int *use = calloc((size_t)nf + 1, sizeof *use);       /* index among numeric / categorical */
  num_col *cols = calloc((size_t)nf + 1, sizeof *cols);
  int *numidx = calloc((size_t)nf + 1, sizeof *numidx);
  int *catidx = calloc((size_t)nf + 1, sizeof *catidx);
  corr_pick *picks = malloc((CORR_MAX_FLAGGED + 2 * CORR_MIN_CASES) * sizeof *picks);
  corr_job j;
  memset(&j, 0, sizeof j);
  int rc = 0, nnum = 0, ncat = 0;
  if (!use || !cols || !numidx || !catidx || !picks) rc = assay__nomem();
  for (int i = 0; !rc && i < nf; i++) {
    stress_feature *f = &c->features[i];
    use[i] = -1;
    if (!f->in_model || stress_excluded(test, f->name)) continue;
    if (f->categorical) {
      if (!f->ref_codes) continue;
      use[i] = ncat;
      catidx[ncat++] = i;
    } else {
      use[i] = nnum;
      cols[nnum].f = f;
      cols[nnum].col = f->ref_col;
      numidx[nnum++] = i;
    }
  }
  /* a kind with too many features: its pairs are not computed (one
   * skipped case says so) */
  for (int kind = 0; !rc && kind < 2; kind++) {
    int count = kind ? ncat : nnum;
    if (count <= CORR_MAX_FEATURES) continue;
    char why[320];
    snprintf(why, sizeof why,
             "not checked: the model uses %d %s features, more than the limit of %d for this "
             "test (%lld pairs); leave some out with exclude_columns or features_not_in_model",
             count, kind ? "categorical" : "numeric", CORR_MAX_FEATURES,
             (long long)count * (count - 1) / 2);
    rc = append_one(batch, stress_case_skip(NULL, why));
    for (int q = 0; q < count; q++) use[kind ? catidx[q] : numidx[q]] = -1;
    if (kind) ncat = 0;
    else nnum = 0;
  }
  j.c = c;
  j.cols = cols;
  j.ncols = nnum;
  j.n = c->side[0].n;
  j.npairs = (int64_t)nnum * (nnum - 1) / 2;
  int nstripes = 0;
  if (!rc && j.npairs > 0 && j.n > 0) {
    rc = stress_parallel(c, nnum, colstat_one, &j);
    if (!rc) {
      int64_t want = (j.n + STRIPE_ROWS - 1) / STRIPE_ROWS;
      int64_t cap = (int64_t)((64u << 20) / ((size_t)j.npairs * A_COUNT * sizeof(double)));
      if (cap < 1) cap = 1;
      if (want > cap) want = cap;
      int64_t rows = (j.n + want - 1) / want;
      rows = (rows + CB - 1) / CB * CB;
      j.stripe_rows = rows;
      nstripes = (int)((j.n + rows - 1) / rows);
      j.acc = calloc((size_t)nstripes * (size_t)j.npairs * A_COUNT, sizeof *j.acc);
      if (!j.acc) rc = assay__nomem();
      if (!rc) rc = stress_parallel(c, nstripes, stripe_one, &j);
    }
  }
  int64_t ncpairs = (int64_t)ncat * (ncat - 1) / 2;
  if (!rc && ncpairs > 0) {
    j.cf = malloc((size_t)ncpairs * 2 * sizeof *j.cf);
    j.cv = malloc((size_t)ncpairs * 2 * sizeof *j.cv);
    if (!j.cf || !j.cv) rc = assay__nomem();
    else {
      j.crows = j.cv + ncpairs;
      size_t q = 0;
      for (int a = 0; a < ncat; a++)
        for (int b = a + 1; b < ncat; b++, q++) {
          j.cf[2 * q] = &c->features[catidx[a]];
          j.cf[2 * q + 1] = &c->features[catidx[b]];
        }
      rc = stress_parallel(c, (int)ncpairs, cat_pair_one, &j);
    }
  }
  /* every pair (i, k), i < k, of the same kind in feature order: counted,
   * and offered to the flagged or passing picks or kept as undefined */
  pick_heap flagged = {picks, 0, CORR_MAX_FLAGGED};
  pick_heap passing = {picks + CORR_MAX_FLAGGED, 0, CORR_MIN_CASES};
  corr_pick *undef = picks + CORR_MAX_FLAGGED + CORR_MIN_CASES;
  int nundef = 0;
  int64_t checked = 0, nflagged = 0;
  double maxv = NAN;
  for (int a = 0; !rc && a < nf; a++) {
    if (use[a] < 0) continue;
    int cat = c->features[a].categorical;
    int x = use[a], count = cat ? ncat : nnum;
    const int *idx = cat ? catidx : numidx;
    for (int y = x + 1; y < count; y++) {
      corr_pick p;
      if (!cat) numeric_pair(&j, nstripes, x, y, &p);
      else {
        int64_t qi = (int64_t)x * ncat - (int64_t)x * (x + 1) / 2 + (y - x - 1);
        p.value = j.cv[qi];
        p.rows = j.crows[qi];
        p.signed_r = NAN;
        p.why = isnan(p.value) ? "a feature has fewer than 2 categories where both are present"
                               : NULL;
      }
      p.ord = checked++;
      p.a = a;
      p.b = idx[y];
      if (isnan(p.value)) {
        if (nundef < CORR_MIN_CASES) undef[nundef++] = p;
        continue;
      }
      if (!(p.value <= maxv)) maxv = p.value;
      if (test_severity(test, p.value) != SEVERITY_PASS) {
        nflagged++;
        heap_offer(&flagged, &p);
      } else {
        heap_offer(&passing, &p);
      }
    }
  }
  /* the reported pairs: the flagged ones, then the passing ones highest
   * first, then the undefined ones, up to CORR_MIN_CASES */
  int nrep = flagged.n;
  if (!rc && nrep < CORR_MIN_CASES) {
    qsort(passing.h, (size_t)passing.n, sizeof *passing.h, pick_by_rank);
    for (int i = 0; i < passing.n && nrep < CORR_MIN_CASES; i++) picks[nrep++] = passing.h[i];
    for (int i = 0; i < nundef && nrep < CORR_MIN_CASES; i++) picks[nrep++] = undef[i];
  }
  if (!rc) qsort(picks, (size_t)nrep, sizeof *picks, pick_by_ord);
  for (int i = 0; !rc && i < nrep; i++) {
    const corr_pick *p = &picks[i];
    stress_feature *fa = &c->features[p->a], *fb = &c->features[p->b];
    json_t *tc =
        p->why ? stress_case_skip(fa->name, p->why) : stress_case(test, fa->name, p->value);
    if (!tc) {
      rc = assay__nomem();
      break;
    }
    tu_set_pair(tc, fa->name, fb->name);
    if (!isnan(p->value)) {
      metric_value(tc, def, "correlation", p->value);
      if (fa->categorical) stress_metric(tc, "cramers_v", p->value);
      else stress_metric(tc, "pearson", p->signed_r);
    }
    stress_metric(tc, "rows", p->rows);
    rc = append_one(batch, tc);
  }
  if (!rc) {
    json_t *m = tu_batch_metrics(batch);
    json_object_set_new(m, "pairs_checked", json_integer((json_int_t)checked));
    json_object_set_new(m, "pairs_flagged", json_integer((json_int_t)nflagged));
    json_object_set_new(m, "pairs_reported", json_integer((json_int_t)nrep));
    json_object_set_new(m, "max_abs_correlation", isnan(maxv) ? json_null() : json_real(maxv));
  }
  free(j.acc);
  free(j.cf);
  free(j.cv);
  free(use);
  free(cols);
  free(numidx);
  free(catidx);
  free(picks);
  return rc;
}

stress_test_fn tests_cleanliness_find(const char *type) {
  static const struct {
    const char *type;
    stress_test_fn fn;
  } table[] = {
      {"label_imbalance", label_imbalance},
      {"duplicate_rows", duplicate_rows},
      {"feature_leakage", feature_leakage},
      {"high_feature_correlation", high_feature_correlation},
  };
  if (!type) return NULL;
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].type, type) == 0) return table[i].fn;
  return NULL;
}
