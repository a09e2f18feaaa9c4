/* engine/tests_subset.c — SUBSET_PERFORMANCE (is the model much worse on
 * some subset of a feature's values than on the whole evaluation?) and
 * SUBSET_PERFORMANCE_DEGRADATION (did a subset get worse from the
 * reference to the evaluation?).
 *
 * Subsets of a feature: numeric — the reference's quantile bins
 * (stats_quantile_edges; bins (-inf, e1], (e1, e2], ..., (em, inf)) and
 * "null"; categorical — each unified category code and "null". A subset's
 * size is its rows with both a label and a prediction; subsets smaller than
 * min_sample_size are not judged.
 *
 * The statistics of every subset of a feature are computed once per side
 * and shared by all the subset tests (one pass over the rows for the
 * confusion counts or regression sums, one pass over the shared score
 * order for ROC AUC of every subset at once), then each test only reads
 * them. For binary models the warm-up does it for every feature at once:
 * one matrix of the features' bins in score order and one walk over it
 * per group of features (joint_one). Numeric features read their bins
 * from the shared per-row bins (stress_bins) when the test uses the
 * default bins. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "engine/stress_internal.h"
#include "internal.h"

#define DEFAULT_MIN_SAMPLE 20
/* Subsets listed in a case's details at most (plus the worst one). */
#define MAX_DETAIL_SUBSETS 100

/* --- the tests --------------------------------------------------------------------------- */

typedef enum {
  M_ACCURACY, M_AUC, M_F1, M_PRECISION, M_RECALL, M_FPR, M_FNR, M_MC_ACCURACY, M_MACRO_F1,
  M_MAE, M_RMSE, M_R2
} metric_id;

typedef enum {
  HIGHER_BETTER, /* gap: overall - subset; degradation: ref - eval */
  LOWER_BETTER,  /* error rates: gap subset - overall */
  RELATIVE       /* errors: gap (subset - overall) / |overall|; degradation (eval - ref) / |ref| */
} gap_kind;

typedef struct subset_test {
  const char *type;
  metric_id metric;
  gap_kind kind;
  int degradation;
} subset_test;

static const subset_test subset_tests[] = {
  {"subset_accuracy", M_ACCURACY, HIGHER_BETTER, 0},
  {"subset_auc", M_AUC, HIGHER_BETTER, 0},
  {"subset_f1", M_F1, HIGHER_BETTER, 0},
  {"subset_precision", M_PRECISION, HIGHER_BETTER, 0},
  {"subset_recall", M_RECALL, HIGHER_BETTER, 0},
  {"subset_false_positive_rate", M_FPR, LOWER_BETTER, 0},
  {"subset_false_negative_rate", M_FNR, LOWER_BETTER, 0},
  {"subset_multiclass_accuracy", M_MC_ACCURACY, HIGHER_BETTER, 0},
  {"subset_macro_f1", M_MACRO_F1, HIGHER_BETTER, 0},
  {"subset_mae", M_MAE, RELATIVE, 0},
  {"subset_rmse", M_RMSE, RELATIVE, 0},
  {"subset_r2", M_R2, HIGHER_BETTER, 0},
  {"subset_accuracy_degradation", M_ACCURACY, HIGHER_BETTER, 1},
  {"subset_auc_degradation", M_AUC, HIGHER_BETTER, 1},
  {"subset_f1_degradation", M_F1, HIGHER_BETTER, 1},
  {"subset_multiclass_accuracy_degradation", M_MC_ACCURACY, HIGHER_BETTER, 1},
  {"subset_macro_f1_degradation", M_MACRO_F1, HIGHER_BETTER, 1},
  {"subset_mae_degradation", M_MAE, RELATIVE, 1},
  {"subset_rmse_degradation", M_RMSE, RELATIVE, 1},
  {NULL, M_ACCURACY, HIGHER_BETTER, 0}};

static const subset_test *subset_find(const char *type) {
  for (const subset_test *t = subset_tests; t->type; t++)
    if (strcmp(t->type, type) == 0) return t;
  return NULL;
}

static int opt_int(const json_t *test, const char *key, int def) {
  const json_t *v = json_object_get(test, key);
  if (json_is_integer(v)) return (int)json_integer_value(v);
  if (json_is_real(v)) return (int)json_real_value(v);
  return def;
}

static int test_bins(const json_t *test) {
  int b = opt_int(test, "num_bins", STRESS_DEFAULT_BINS);
  return b < 2 ? 2 : b > 100 ? 100 : b;
}

static int test_min(const json_t *test) {
  int m = opt_int(test, "min_sample_size", DEFAULT_MIN_SAMPLE);
  return m < 1 ? 1 : m;
}

/* --- per-feature subset statistics ----------------------------------------------------- */

typedef struct reg_sums {
  double n, sum_abs, sum_sq, sum_y, m2_y;
} reg_sums;

typedef struct side_stats {
  int ok;           /* computed */
  int64_t *size;    /* per bin: rows with a label and a prediction */
  int32_t *slot;    /* per bin: its slot when size >= min, else -1 */
  int64_t nslot;
  double *cm;       /* classification: nslot x k x k (row: label, column: predicted) */
  double *auc;      /* binary: nslot */
  reg_sums *reg;    /* regression: nslot */
} side_stats;

typedef struct subset_cache {
  int nbins, minsize;
  int64_t nb;       /* subsets: value bins, then null */
  double *edges;    /* numeric: the interior edges (owned copy) */
  size_t nedges;
  const uint8_t *pre[2]; /* numeric: the shared per-row bins (stress_bins) of each side, or NULL */
  uint8_t lut[256];      /* ... as subsets: infinities to the outer bins, null to the last */
  side_stats side[2];
} subset_cache;

static void side_free(side_stats *s) {
  free(s->size), free(s->slot), free(s->cm), free(s->auc), free(s->reg);
  memset(s, 0, sizeof *s);
}

static void cache_free(subset_cache *k) {
  if (!k) return;
  side_free(&k->side[0]);
  side_free(&k->side[1]);
  free(k->edges);
  free(k);
}

/* out[i] = the number of the m (<= 16) edges below x[i] (stats_bin_of):
 * two values at a time with SSE2 compares where available. */
static void count_below(const double *x, int64_t len, const double *e, size_t m, int32_t *out) {
  int64_t i = 0;
#if defined(__SSE2__)
  __m128d ev[16];
  for (size_t j = 0; j < m; j++) ev[j] = _mm_set1_pd(e[j]);
  for (; i + 4 <= len; i += 4) {
    __m128d a = _mm_loadu_pd(x + i), b = _mm_loadu_pd(x + i + 2);
    __m128i ca = _mm_setzero_si128(), cb = _mm_setzero_si128();
    for (size_t j = 0; j < m; j++) { /* a true compare is all ones: -1 */
      ca = _mm_sub_epi64(ca, _mm_castpd_si128(_mm_cmplt_pd(ev[j], a)));
      cb = _mm_sub_epi64(cb, _mm_castpd_si128(_mm_cmplt_pd(ev[j], b)));
    }
    int64_t t[4];
    _mm_storeu_si128((__m128i *)(void *)t, ca);
    _mm_storeu_si128((__m128i *)(void *)(t + 2), cb);
    out[i] = (int32_t)t[0], out[i + 1] = (int32_t)t[1];
    out[i + 2] = (int32_t)t[2], out[i + 3] = (int32_t)t[3];
  }
#endif
  for (; i < len; i++) {
    int32_t b = 0;
    for (size_t j = 0; j < m; j++) b += e[j] < x[i];
    out[i] = b;
  }
}

/* Bins of rows [i0, i0 + len) of side s (len <= BLOCK) into out: numeric —
 * the number of edges below the value (stats_bin_of), null the last bin;
 * categorical — the code, null the last bin. */
#define BLOCK 1024

static void bins_block(const stress_feature *f, const subset_cache *k, int s, int64_t i0,
                       int64_t len, int32_t *out) {
  int32_t null_bin = (int32_t)(k->nb - 1);
  if (f->categorical) {
    const int32_t *codes = (s ? f->eval_codes : f->ref_codes) + i0;
    for (int64_t i = 0; i < len; i++) out[i] = codes[i] < 0 ? null_bin : codes[i];
    return;
  }
  if (k->pre[s]) {
    const uint8_t *p = k->pre[s] + i0;
    for (int64_t i = 0; i < len; i++) out[i] = k->lut[p[i]];
    return;
  }
  const column *col = s ? f->eval_col : f->ref_col;
  const double *e = k->edges;
  size_t m = k->nedges;
  double buf[BLOCK];
  const double *x = buf;
  if (col->type == COL_FLOAT64) {
    x = (const double *)col->values + i0;
  } else if (col->type == COL_INT64 || col->type == COL_TIMESTAMP) {
    const int64_t *v = (const int64_t *)col->values + i0;
    for (int64_t i = 0; i < len; i++) buf[i] = (double)v[i];
  } else {
    for (int64_t i = 0; i < len; i++) buf[i] = stress_num(col, i0 + i);
  }
  if (m > 16) {
    for (int64_t i = 0; i < len; i++) out[i] = (int32_t)stats_bin_of(e, m, x[i]);
  } else {
    count_below(x, len, e, m, out);
  }
  if (col->validity || col->type == COL_STRING) {
    for (int64_t i = 0; i < len; i++)
      if (!col_valid(col, i0 + i) || isnan(x[i])) out[i] = null_bin;
  }
}

/* Binary: sizes, confusion counts and ROC AUC of every subset, in score
 * order (labels and scores are read in that order; each row's bin is
 * scattered there first, so nothing is read at random). */
static int binary_side(const stress_ctx *c, const stress_feature *f, subset_cache *k, int s) {
  const stress_side *sd = &c->side[s];
  side_stats *st = &k->side[s];
  size_t m = sd->nscored;
  int64_t nb = k->nb;
  int small = nb <= 256;
  uint8_t *b8 = small ? malloc(m ? m : 1) : NULL;
  int32_t *b32 = small ? NULL : malloc((m ? m : 1) * sizeof *b32);
  if (small ? !b8 : !b32) return assay__nomem();
  /* each row's bin scattered to its place in score order; the sizes */
  const int32_t *rank = sd->score_rank, *label = sd->label_class;
  int64_t *size = st->size;
  int32_t blk[BLOCK];
  for (int64_t i0 = 0; i0 < sd->n; i0 += BLOCK) {
    int64_t len = sd->n - i0 < BLOCK ? sd->n - i0 : BLOCK;
    const int32_t *rk = rank + i0, *lb = label + i0;
    bins_block(f, k, s, i0, len, blk);
    if (small) {
      for (int64_t i = 0; i < len; i++)
        if (rk[i] >= 0) size[blk[i]] += lb[i] >= 0, b8[rk[i]] = (uint8_t)blk[i];
    } else {
      for (int64_t i = 0; i < len; i++)
        if (rk[i] >= 0) size[blk[i]] += lb[i] >= 0, b32[rk[i]] = blk[i];
    }
  }
  st->nslot = 0;
  for (int64_t b = 0; b < nb; b++)
    st->slot[b] = size[b] >= k->minsize ? (int32_t)st->nslot++ : -1;
  size_t ns = (size_t)(st->nslot ? st->nslot : 1);
  /* per slot, in integers: confusion counts (label * 2 + predicted), the
   * negatives so far, twice the Mann-Whitney sum, negatives in the current
   * tie */
  int64_t *cnt = calloc(ns * 4, sizeof *cnt), *negc = calloc(ns, sizeof *negc);
  int64_t *sum2 = calloc(ns, sizeof *sum2), *gneg = calloc(ns, sizeof *gneg);
  st->auc = malloc(ns * sizeof *st->auc);
  st->cm = malloc(ns * 4 * sizeof *st->cm);
  if (!cnt || !negc || !sum2 || !gneg || !st->auc || !st->cm) {
    free(b8), free(b32), free(cnt), free(negc), free(sum2), free(gneg);
    return assay__nomem();
  }
  const int8_t *ys = sd->label_sorted;
  const double *ss = sd->score_sorted;
  const int32_t *slot = st->slot;
#define SLOT_AT(i) slot[small ? b8[i] : b32[i]]
  size_t i = 0;
  while (i < m) {
    size_t j = i + 1;
    while (j < m && ss[j] == ss[i]) j++;
    size_t pc = ss[i] >= 0.5;
    if (j == i + 1) { /* a score of its own: the common case */
      int8_t y = ys[i];
      int32_t sl = y >= 0 ? SLOT_AT(i) : -1;
      if (sl >= 0) {
        cnt[(size_t)sl * 4 + (size_t)y * 2 + pc]++;
        if (y) sum2[sl] += 2 * negc[sl];
        else negc[sl]++;
      }
    } else { /* tied scores: a tied negative counts one half */
      for (size_t r = i; r < j; r++) {
        int8_t y = ys[r];
        int32_t sl = y >= 0 ? SLOT_AT(r) : -1;
        if (sl < 0) continue;
        cnt[(size_t)sl * 4 + (size_t)y * 2 + pc]++;
        if (!y) gneg[sl]++;
      }
      for (size_t r = i; r < j; r++) {
        int32_t sl = ys[r] > 0 ? SLOT_AT(r) : -1;
        if (sl >= 0) sum2[sl] += 2 * negc[sl] + gneg[sl];
      }
      for (size_t r = i; r < j; r++) {
        int32_t sl = ys[r] == 0 ? SLOT_AT(r) : -1;
        if (sl >= 0) negc[sl]++, gneg[sl] = 0;
      }
    }
    i = j;
  }
#undef SLOT_AT
  for (int64_t q = 0; q < st->nslot; q++) {
    const int64_t *x = cnt + (size_t)q * 4;
    for (int z = 0; z < 4; z++) st->cm[(size_t)q * 4 + (size_t)z] = (double)x[z];
    double neg = (double)(x[0] + x[1]), pos = (double)(x[2] + x[3]);
    st->auc[q] = pos > 0 && neg > 0 ? (double)sum2[q] / (2 * pos * neg) : NAN;
  }
  free(b8), free(b32), free(cnt), free(negc), free(sum2), free(gneg);
  return ASSAY_OK;
}

/* The statistics of every subset of f on side s. */
static int side_compute(stress_ctx *c, const stress_feature *f, subset_cache *k, int s) {
  const stress_side *sd = &c->side[s];
  side_stats *st = &k->side[s];
  int64_t n = sd->n, nb = k->nb;
  int32_t kk = c->nclasses;
  st->size = calloc((size_t)nb, sizeof *st->size);
  st->slot = malloc((size_t)nb * sizeof *st->slot);
  if (!st->size || !st->slot) return assay__nomem();
  if (c->task == TASK_BINARY) {
    int rc = binary_side(c, f, k, s);
    if (!rc) st->ok = 1;
    return rc;
  }
  int32_t *bins = malloc((size_t)(n ? n : 1) * sizeof *bins);
  if (!bins) return assay__nomem();
  for (int64_t i0 = 0; i0 < n; i0 += BLOCK)
    bins_block(f, k, s, i0, n - i0 < BLOCK ? n - i0 : BLOCK, bins + i0);
  int reg = c->task == TASK_REGRESSION;
  /* sizes: rows with a label and a prediction */
  if (reg) {
    for (int64_t i = 0; i < n; i++)
      if (!isnan(sd->label_value[i]) && !isnan(sd->score[i])) st->size[bins[i]]++;
  } else {
    for (int64_t i = 0; i < n; i++)
      if (sd->label_class[i] >= 0 && sd->pred_class[i] >= 0) st->size[bins[i]]++;
  }
  st->nslot = 0;
  for (int64_t b = 0; b < nb; b++)
    st->slot[b] = st->size[b] >= k->minsize ? (int32_t)st->nslot++ : -1;
  size_t ns = (size_t)(st->nslot ? st->nslot : 1);
  int rc = ASSAY_OK;
  if (reg) {
    st->reg = calloc(ns, sizeof *st->reg);
    if (!st->reg) rc = assay__nomem();
    for (int64_t i = 0; !rc && i < n; i++) {
      double y = sd->label_value[i], p = sd->score[i];
      if (isnan(y) || isnan(p)) continue;
      int32_t sl = st->slot[bins[i]];
      if (sl < 0) continue;
      reg_sums *r = &st->reg[sl];
      double e = y - p;
      r->n++;
      r->sum_abs += fabs(e);
      r->sum_sq += e * e;
      r->sum_y += y;
    }
    for (int64_t i = 0; !rc && i < n; i++) {
      double y = sd->label_value[i], p = sd->score[i];
      if (isnan(y) || isnan(p)) continue;
      int32_t sl = st->slot[bins[i]];
      if (sl < 0) continue;
      reg_sums *r = &st->reg[sl];
      double d = y - r->sum_y / r->n;
      r->m2_y += d * d;
    }
  } else {
    st->cm = calloc(ns * (size_t)kk * (size_t)kk, sizeof *st->cm);
    if (!st->cm) rc = assay__nomem();
    for (int64_t i = 0; !rc && i < n; i++) {
      int32_t y = sd->label_class[i], p = sd->pred_class[i];
      if (y < 0 || p < 0) continue;
      int32_t sl = st->slot[bins[i]];
      if (sl >= 0) st->cm[((size_t)sl * (size_t)kk + (size_t)y) * (size_t)kk + (size_t)p]++;
    }
  }
  free(bins);
  if (!rc) st->ok = 1;
  return rc;
}

/* Whether side s has labels and predictions. */
static int side_ready(const stress_ctx *c, int s) {
  const stress_side *sd = &c->side[s];
  return (sd->label_class || sd->label_value) && (sd->score || sd->proba);
}

/* What the run's subset tests need of the cache of (nbins, minsize). */
typedef struct needs {
  int side[2];
} needs;

static needs needs_of(const stress_ctx *c, int nbins, int minsize) {
  needs nd = {{0, 0}};
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(c->in->config, "tests"), i, t) {
    if (!json_is_true(json_object_get(t, "run"))) continue;
    const subset_test *st = subset_find(json_string_value(json_object_get(t, "test_type")));
    if (!st || test_bins(t) != nbins || test_min(t) != minsize) continue;
    nd.side[1] = 1;
    if (st->degradation) nd.side[0] = 1;
  }
  for (int s = 0; s < 2; s++)
    if (!side_ready(c, s)) nd.side[s] = 0; /* such tests are skipped */
  return nd;
}

/* A new cache of f for (nbins, minsize) with the sides nd asks for. */
static int cache_make(stress_ctx *c, stress_feature *f, int nbins, int minsize, needs nd,
                      subset_cache **out) {
  *out = NULL;
  subset_cache *k = calloc(1, sizeof *k);
  if (!k) return assay__nomem();
  k->nbins = nbins;
  k->minsize = minsize;
  int rc = ASSAY_OK;
  if (f->categorical) {
    k->nb = (int64_t)f->ncat + 1;
  } else {
    double *tmp = NULL;
    size_t m = 0;
    const double *e = stress_edges(c, f, nbins, &m, &tmp);
    k->edges = malloc((m ? m : 1) * sizeof *k->edges);
    if (!k->edges) rc = assay__nomem();
    else if (m) memcpy(k->edges, e, m * sizeof *e);
    k->nedges = m;
    free(tmp);
    k->nb = (int64_t)m + 2;
    /* the shared per-row bins, when they are of these edges */
    for (int s = 0; s < 2 && !rc && nbins == STRESS_DEFAULT_BINS; s++) {
      const double *se;
      size_t sm;
      const uint8_t *pre = stress_bins(c, f, s, &se, &sm);
      if (pre && sm == m && (m == 0 || memcmp(se, k->edges, m * sizeof *se) == 0))
        k->pre[s] = pre;
    }
    for (int v = 0; v < 256; v++)
      k->lut[v] = (uint8_t)(v <= (int)m ? v : v == STRESS_BIN_NEGINF ? 0
                                            : v == STRESS_BIN_POSINF ? (int)m
                                                                     : (int)m + 1);
  }
  for (int s = 0; s < 2 && !rc; s++)
    if (nd.side[s]) rc = side_compute(c, f, k, s);
  if (rc) {
    cache_free(k);
    return rc;
  }
  *out = k;
  return ASSAY_OK;
}

/* Whether cache k serves a test needing nd. */
static int cache_serves(const subset_cache *k, int nbins, int minsize, needs nd) {
  if (!k || k->nbins != nbins || k->minsize != minsize) return 0;
  for (int s = 0; s < 2; s++) {
    if (nd.side[s] && !k->side[s].ok) return 0;
  }
  return 1;
}

/* The cache for a test: the feature's shared one (made here when absent),
 * or a temporary one (*tmp, which the caller frees) for other options. */
static int cache_get(stress_ctx *c, stress_feature *f, int nbins, int minsize, needs nd,
                     const subset_cache **out, subset_cache **tmp) {
  *out = NULL;
  *tmp = NULL;
  pthread_mutex_lock(&f->cache_lock);
  subset_cache *k = f->subset_cache;
  int rc = ASSAY_OK;
  if (!k) {
    needs all = needs_of(c, nbins, minsize);
    for (int s = 0; s < 2; s++) all.side[s] |= nd.side[s];
    rc = cache_make(c, f, nbins, minsize, all, &k);
    if (!rc) f->subset_cache = k;
  }
  pthread_mutex_unlock(&f->cache_lock);
  if (rc) return rc;
  if (cache_serves(k, nbins, minsize, nd)) {
    *out = k;
    return ASSAY_OK;
  }
  rc = cache_make(c, f, nbins, minsize, nd, tmp);
  *out = *tmp;
  return rc;
}

void tests_subset_release(stress_ctx *c) {
  for (int i = 0; i < c->nfeatures; i++) {
    cache_free(c->features[i].subset_cache);
    c->features[i].subset_cache = NULL;
  }
}

/* --- warming: every feature's shared cache, in parallel ------------------------------------ */

typedef struct warm {
  stress_ctx *c;
  int nbins, minsize;
  needs nd;
} warm;

static int warm_one(void *arg, int i) {
  warm *w = arg;
  if (stress_cancelled(w->c)) return assay__err(ASSAY_ERR_UNAVAILABLE, "stress test cancelled");
  const subset_cache *k;
  subset_cache *tmp;
  stress_feature *f = &w->c->features[i];
  if (f->categorical ? !f->eval_codes : !f->eval_col) return ASSAY_OK;
  int rc = cache_get(w->c, f, w->nbins, w->minsize, w->nd, &k, &tmp);
  cache_free(tmp);
  return rc;
}

/* --- binary: every feature's subsets in one walk of the score order ----------------------- */

/* The binary subset statistics of many features at once (the warm-up):
 * rather than one walk of the score order per feature (binary_side), each
 * group of up to JOINT_GROUP features gets one matrix of their bins (one
 * byte each) in score order — each row's bins scattered to its place once
 * — and one walk over it that updates every feature's per-bin counters.
 * The counts and sums are the same integers binary_side computes. */
#define JOINT_GROUP 32

typedef struct jacc {
  int64_t cnt[4];        /* confusion counts (label * 2 + predicted) */
  int64_t neg, sum2;     /* negatives so far, 2 x the Mann-Whitney count */
  int64_t gneg, pad;     /* negatives in the current tie; 64 bytes in all */
} jacc;

typedef struct joint_task {
  stress_ctx *c;
  stress_feature **fs;     /* the group's features */
  subset_cache **ks;       /* and their caches */
  int nf, side;
} joint_task;

/* Fill side s of every cache of the group from its per-bin counters. */
static int joint_finish(joint_task *t, jacc *acc, const int64_t *off) {
  for (int f = 0; f < t->nf; f++) {
    subset_cache *k = t->ks[f];
    side_stats *st = &k->side[t->side];
    int64_t nb = k->nb;
    const jacc *a = acc + off[f];
    st->size = calloc((size_t)nb, sizeof *st->size);
    st->slot = malloc((size_t)nb * sizeof *st->slot);
    if (!st->size || !st->slot) return assay__nomem();
    st->nslot = 0;
    for (int64_t b = 0; b < nb; b++) {
      st->size[b] = a[b].cnt[0] + a[b].cnt[1] + a[b].cnt[2] + a[b].cnt[3];
      st->slot[b] = st->size[b] >= k->minsize ? (int32_t)st->nslot++ : -1;
    }
    size_t ns = (size_t)(st->nslot ? st->nslot : 1);
    st->auc = malloc(ns * sizeof *st->auc);
    st->cm = malloc(ns * 4 * sizeof *st->cm);
    if (!st->auc || !st->cm) return assay__nomem();
    for (int64_t b = 0; b < nb; b++) {
      int32_t q = st->slot[b];
      if (q < 0) continue;
      const int64_t *x = a[b].cnt;
      for (int z = 0; z < 4; z++) st->cm[(size_t)q * 4 + (size_t)z] = (double)x[z];
      double neg = (double)(x[0] + x[1]), pos = (double)(x[2] + x[3]);
      st->auc[q] = pos > 0 && neg > 0 ? (double)a[b].sum2 / (2 * pos * neg) : NAN;
    }
    st->ok = 1;
  }
  return ASSAY_OK;
}

static int joint_one(void *arg, int ti) {
  joint_task *t = (joint_task *)arg + ti;
  stress_ctx *c = t->c;
  if (stress_cancelled(c)) return assay__err(ASSAY_ERR_UNAVAILABLE, "stress test cancelled");
  const stress_side *sd = &c->side[t->side];
  int nf = t->nf, s = t->side;
  size_t m = sd->nscored;
  int64_t *off = malloc(((size_t)nf + 1) * sizeof *off);
  if (!off) return assay__nomem();
  off[0] = 0;
  for (int f = 0; f < nf; f++) off[f + 1] = off[f] + t->ks[f]->nb;
  /* rows of the matrix: nf bytes padded to 8, 16 or 32 (copied whole) */
  size_t w = nf <= 8 ? 8 : nf <= 16 ? 16 : 32;
  jacc *acc = calloc((size_t)off[nf], sizeof *acc);
  size_t mat_bytes = (m ? m : 1) * w;
  uint8_t *mat = stress_big_alloc(mat_bytes);        /* [score position][feature] */
  uint8_t *blk = calloc((size_t)BLOCK, w);           /* [row in block][feature] */
  if (!acc || !mat || !blk) {
    free(off), free(acc), free(blk);
    stress_big_free(mat);
    return assay__nomem();
  }
  /* each row's bins, to its place in score order */
  const int32_t *rank = sd->score_rank;
  int32_t bins[BLOCK];
  for (int64_t i0 = 0; i0 < sd->n; i0 += BLOCK) {
    int64_t len = sd->n - i0 < BLOCK ? sd->n - i0 : BLOCK;
    for (int f = 0; f < nf; f++) {
      const subset_cache *k = t->ks[f];
      uint8_t *col = blk + f;
      if (k->pre[s]) { /* the shared bins, mapped */
        const uint8_t *p = k->pre[s] + i0;
        for (int64_t r = 0; r < len; r++) col[(size_t)r * w] = k->lut[p[r]];
        continue;
      }
      bins_block(t->fs[f], k, s, i0, len, bins);
      for (int64_t r = 0; r < len; r++) col[(size_t)r * w] = (uint8_t)bins[r];
    }
#define SCATTER(W)                                                                       \
  for (int64_t r = 0; r < len; r++) {                                                    \
    int32_t at = rank[i0 + r];                                                           \
    if (at >= 0) memcpy(mat + (size_t)at * (W), blk + (size_t)r * (W), (W));             \
  }
    if (w == 8) SCATTER(8) else if (w == 16) SCATTER(16) else SCATTER(32)
#undef SCATTER
  }
  free(blk);
  /* the walk: per row, every feature's bin counters */
  const int8_t *ys = sd->label_sorted;
  const double *ss = sd->score_sorted;
  jacc **base = malloc((size_t)nf * sizeof *base);
  if (!base) {
    free(off), free(acc);
    stress_big_free(mat);
    return assay__nomem();
  }
  for (int f = 0; f < nf; f++) base[f] = acc + off[f];
  size_t i = 0;
  while (i < m) {
    size_t j = i + 1;
    while (j < m && ss[j] == ss[i]) j++;
    int pc = ss[i] >= 0.5;
    if (j == i + 1) { /* a score of its own: the common case */
      int8_t y = ys[i];
      const uint8_t *row = mat + i * w;
      if (y > 0) {
        for (int f = 0; f < nf; f++) {
          jacc *a = base[f] + row[f];
          a->cnt[2 + pc]++;
          a->sum2 += 2 * a->neg;
        }
      } else if (y == 0) {
        for (int f = 0; f < nf; f++) {
          jacc *a = base[f] + row[f];
          a->cnt[pc]++;
          a->neg++;
        }
      }
    } else { /* tied scores: a tied negative counts one half */
      for (size_t r = i; r < j; r++) {
        int8_t y = ys[r];
        if (y < 0) continue;
        const uint8_t *row = mat + r * w;
        for (int f = 0; f < nf; f++) {
          jacc *a = base[f] + row[f];
          a->cnt[y * 2 + pc]++;
          a->gneg += !y;
        }
      }
      for (size_t r = i; r < j; r++) {
        if (ys[r] <= 0) continue;
        const uint8_t *row = mat + r * w;
        for (int f = 0; f < nf; f++) {
          jacc *a = base[f] + row[f];
          a->sum2 += 2 * a->neg + a->gneg;
        }
      }
      for (size_t r = i; r < j; r++) {
        if (ys[r] != 0) continue;
        const uint8_t *row = mat + r * w;
        for (int f = 0; f < nf; f++) {
          jacc *a = base[f] + row[f];
          a->neg++;
          a->gneg = 0;
        }
      }
    }
    i = j;
  }
  free(base);
  stress_big_free(mat);
  int rc = joint_finish(t, acc, off);
  free(off), free(acc);
  return rc;
}

/* The caches (without their sides) of the features the warm-up covers. */
static int warm_make(void *arg, int i) {
  warm *w = arg;
  if (stress_cancelled(w->c)) return assay__err(ASSAY_ERR_UNAVAILABLE, "stress test cancelled");
  stress_feature *f = &w->c->features[i];
  if (f->categorical ? !f->eval_codes : !f->eval_col) return ASSAY_OK;
  needs none = {{0, 0}};
  subset_cache *k = NULL;
  int rc = cache_make(w->c, f, w->nbins, w->minsize, none, &k);
  if (rc) return rc;
  /* bins that do not fit a byte: this feature's own walk */
  for (int s = 0; s < 2 && !rc && k->nb > 256; s++)
    if (w->nd.side[s]) rc = side_compute(w->c, f, k, s);
  if (rc) {
    cache_free(k);
    return rc;
  }
  pthread_mutex_lock(&f->cache_lock);
  if (f->subset_cache) cache_free(k);
  else f->subset_cache = k;
  pthread_mutex_unlock(&f->cache_lock);
  return ASSAY_OK;
}

static int warm_binary(stress_ctx *c, warm *w) {
  int rc = stress_parallel(c, c->nfeatures, warm_make, w);
  if (rc) return rc;
  stress_feature **fs = malloc(((size_t)c->nfeatures + 1) * sizeof *fs);
  subset_cache **ks = malloc(((size_t)c->nfeatures + 1) * sizeof *ks);
  joint_task *tasks = calloc(2 * ((size_t)c->nfeatures / JOINT_GROUP + 1), sizeof *tasks);
  if (!fs || !ks || !tasks) {
    free(fs), free(ks), free(tasks);
    return assay__nomem();
  }
  int n = 0, nt = 0;
  for (int i = 0; i < c->nfeatures; i++) {
    subset_cache *k = c->features[i].subset_cache;
    if (!k || k->nb > 256) continue;
    fs[n] = &c->features[i];
    ks[n++] = k;
  }
  /* groups of equal size (the tasks take as long as each other) */
  int ngroups = (n + JOINT_GROUP - 1) / JOINT_GROUP, size = ngroups ? (n + ngroups - 1) / ngroups : 0;
  for (int s = 0; s < 2; s++) {
    if (!w->nd.side[s] || !c->side[s].label_sorted) continue;
    for (int g = 0; g < n; g += size)
      tasks[nt++] = (joint_task){c, fs + g, ks + g, n - g < size ? n - g : size, s};
  }
  rc = stress_parallel(c, nt, joint_one, tasks);
  free(fs), free(ks), free(tasks);
  return rc;
}

int tests_subset_warm(stress_ctx *c) {
  /* the options of the first subset test run; tests with others compute
   * their own */
  size_t i;
  json_t *t;
  json_array_foreach(json_object_get(c->in->config, "tests"), i, t) {
    if (!json_is_true(json_object_get(t, "run"))) continue;
    if (!subset_find(json_string_value(json_object_get(t, "test_type")))) continue;
    warm w = {c, test_bins(t), test_min(t), {{0, 0}}};
    w.nd = needs_of(c, w.nbins, w.minsize);
    if (!side_ready(c, 1)) return ASSAY_OK;
    if (!side_ready(c, 0)) w.nd.side[0] = 0;
    if (c->task == TASK_BINARY) return warm_binary(c, &w);
    return stress_parallel(c, c->nfeatures, warm_one, &w);
  }
  return ASSAY_OK;
}

/* --- metrics of a subset -------------------------------------------------------------- */

static double slot_metric(const stress_ctx *c, const side_stats *st, int32_t sl, metric_id m) {
  if (sl < 0) return NAN;
  int32_t k = c->nclasses;
  if (m == M_MAE || m == M_RMSE || m == M_R2) {
    const reg_sums *r = &st->reg[sl];
    if (r->n <= 0) return NAN;
    if (m == M_MAE) return r->sum_abs / r->n;
    if (m == M_RMSE) return sqrt(r->sum_sq / r->n);
    if (r->m2_y == 0) return r->sum_sq == 0 ? 1.0 : 0.0;
    return 1 - r->sum_sq / r->m2_y;
  }
  if (m == M_AUC) return st->auc ? st->auc[sl] : NAN;
  const double *cm = st->cm + (size_t)sl * (size_t)k * (size_t)k;
  if (m == M_MC_ACCURACY) return stats_mc_accuracy(cm, k);
  if (m == M_MACRO_F1) return stats_mc_f1(cm, k, STATS_AVG_MACRO);
  stats_confusion cf = {cm[3], cm[1], cm[0], cm[2]}; /* tp, fp, tn, fn */
  switch (m) {
    case M_ACCURACY: return stats_accuracy(&cf);
    case M_F1: return stats_f1(&cf);
    case M_PRECISION: return stats_precision(&cf);
    case M_RECALL: return stats_recall(&cf);
    case M_FPR: return stats_fpr(&cf);
    case M_FNR: return stats_fnr(&cf);
    default: return NAN;
  }
}

static double overall_metric(const stress_perf *p, metric_id m) {
  switch (m) {
    case M_ACCURACY: return p->accuracy;
    case M_AUC: return p->auc;
    case M_F1: return p->f1;
    case M_PRECISION: return p->precision;
    case M_RECALL: return p->recall;
    case M_FPR: return p->fpr;
    case M_FNR: return p->fnr;
    case M_MC_ACCURACY: return p->mc_accuracy;
    case M_MACRO_F1: return p->macro_f1;
    case M_MAE: return p->mae;
    case M_RMSE: return p->rmse;
    case M_R2: return p->r2;
  }
  return NAN;
}

/* The label of subset b (categorical: the value's text; numeric: the bin,
 * written into buf). */
#define LABEL_SIZE 96
static const char *subset_label(const stress_feature *f, const subset_cache *k, int64_t b,
                                char *buf) {
  if (b == k->nb - 1) return "null";
  if (f->categorical) return f->cat_names[b];
  size_t m = k->nedges;
  char lo[40], hi[40];
  if (b == 0) snprintf(lo, sizeof lo, "-inf");
  else snprintf(lo, sizeof lo, "%.6g", k->edges[b - 1]);
  if ((size_t)b == m) snprintf(hi, sizeof hi, "inf");
  else snprintf(hi, sizeof hi, "%.6g", k->edges[b]);
  snprintf(buf, LABEL_SIZE, "(%s, %s%c", lo, hi, (size_t)b == m ? ')' : ']');
  return buf;
}

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* --- running a test ------------------------------------------------------------------- */

typedef struct feat_job {
  stress_ctx *c;
  const subset_test *t;
  const json_t *test;
  json_t **cases;   /* per feature (NULL: excluded) */
  double overall;   /* SUBSET_PERFORMANCE: the evaluation's overall metric */
} feat_job;

/* SUBSET_PERFORMANCE case of one feature. */
static int perf_case(feat_job *j, stress_feature *f, const subset_cache *k, json_t **out) {
  const stress_ctx *c = j->c;
  const subset_test *t = j->t;
  const side_stats *st = &k->side[1];
  double overall = j->overall, worst_gap = NAN, worst_value = NAN;
  int64_t worst = -1, judged = 0;
  for (int64_t b = 0; b < k->nb; b++) {
    double v = slot_metric(c, st, st->slot[b], t->metric);
    if (isnan(v)) continue;
    double gap = t->kind == HIGHER_BETTER ? overall - v
                 : t->kind == LOWER_BETTER ? v - overall
                 : overall != 0 ? (v - overall) / fabs(overall) : NAN;
    judged++;
    if (!isnan(gap) && (isnan(worst_gap) || gap > worst_gap)) worst_gap = gap, worst_value = v, worst = b;
  }
  json_t *tc = stress_case(j->test, f->name, worst_gap);
  if (!tc) return assay__nomem();
  if (isnan(worst_gap)) {
    char reason[256];
    snprintf(reason, sizeof reason,
             "no subset of \"%s\" with at least %d evaluation rows (with a label and a "
             "prediction) where %s is defined%s",
             f->name, k->minsize, t->type + strlen("subset_"),
             t->kind == RELATIVE && overall == 0 ? ", or the overall value is 0" : "");
    json_object_set_new(tc, "skip_reason", json_string(reason));
  }
  stress_metric(tc, "overall", overall);
  stress_metric(tc, "worst_subset_value", worst_value);
  stress_metric(tc, "gap", worst_gap);
  stress_metric(tc, "num_subsets", (double)judged);
  json_t *subsets = json_array();
  int listed = 0;
  char label[LABEL_SIZE];
  for (int64_t b = 0; subsets && b < k->nb; b++) {
    if (st->size[b] == 0) continue;
    if (listed >= MAX_DETAIL_SUBSETS && b != worst) continue;
    const char *name = subset_label(f, k, b, label);
    double v = slot_metric(c, st, st->slot[b], t->metric);
    json_array_append_new(subsets, json_pack("{s:s,s:I,s:o}", "subset", name, "size",
                                             (json_int_t)st->size[b], "value", num_or_null(v)));
    listed++;
  }
  json_t *details = json_pack("{s:o,s:o}", "subsets", subsets ? subsets : json_array(),
                              "overall", num_or_null(overall));
  if (details && worst >= 0) {
    json_object_set_new(details, "worst_subset", json_string(subset_label(f, k, worst, label)));
  }
  json_object_set_new(tc, "details", details);
  *out = tc;
  return ASSAY_OK;
}

/* SUBSET_PERFORMANCE_DEGRADATION case of one feature. */
static int degr_case(feat_job *j, stress_feature *f, const subset_cache *k, json_t **out) {
  const stress_ctx *c = j->c;
  const subset_test *t = j->t;
  const side_stats *rs = &k->side[0], *es = &k->side[1];
  double worst_deg = NAN;
  int64_t worst = -1, judged = 0;
  for (int64_t b = 0; b < k->nb; b++) {
    if (rs->slot[b] < 0 || es->slot[b] < 0) continue;
    double r = slot_metric(c, rs, rs->slot[b], t->metric);
    double e = slot_metric(c, es, es->slot[b], t->metric);
    if (isnan(r) || isnan(e)) continue;
    double d = t->kind == RELATIVE ? (r != 0 ? (e - r) / fabs(r) : NAN) : r - e;
    judged++;
    if (!isnan(d) && (isnan(worst_deg) || d > worst_deg)) worst_deg = d, worst = b;
  }
  json_t *tc = stress_case(j->test, f->name, worst_deg);
  if (!tc) return assay__nomem();
  if (isnan(worst_deg)) {
    char reason[256];
    snprintf(reason, sizeof reason,
             "no subset of \"%s\" with at least %d rows (with a label and a prediction) on both "
             "datasets where %s is defined",
             f->name, k->minsize, t->type + strlen("subset_"));
    json_object_set_new(tc, "skip_reason", json_string(reason));
  }
  json_t *subsets = json_array();
  int listed = 0;
  int64_t worst_index = -1;
  char label[LABEL_SIZE];
  for (int64_t b = 0; subsets && b < k->nb; b++) {
    if (rs->size[b] == 0 && es->size[b] == 0) continue;
    if (listed >= MAX_DETAIL_SUBSETS && b != worst) continue;
    const char *name = subset_label(f, k, b, label);
    double r = slot_metric(c, rs, rs->slot[b], t->metric);
    double e = slot_metric(c, es, es->slot[b], t->metric);
    if (b == worst) worst_index = listed;
    json_array_append_new(subsets,
                          json_pack("{s:s,s:I,s:I,s:o,s:o}", "subset", name, "ref_size",
                                    (json_int_t)rs->size[b], "eval_size", (json_int_t)es->size[b],
                                    "reference", num_or_null(r), "evaluation", num_or_null(e)));
    listed++;
  }
  stress_metric(tc, "worst_degradation", worst_deg);
  stress_metric(tc, "worst_subset", worst_index >= 0 ? (double)worst_index : NAN);
  stress_metric(tc, "num_subsets", (double)judged);
  json_object_set_new(tc, "details", json_pack("{s:o}", "subsets", subsets ? subsets : json_array()));
  *out = tc;
  return ASSAY_OK;
}

static int feature_case(void *arg, int i) {
  feat_job *j = arg;
  stress_ctx *c = j->c;
  stress_feature *f = &c->features[i];
  if (stress_excluded(j->test, f->name)) return ASSAY_OK;
  if (stress_cancelled(c)) return assay__err(ASSAY_ERR_UNAVAILABLE, "stress test cancelled");
  if (f->categorical ? !f->eval_codes : !f->eval_col) {
    j->cases[i] = stress_case_skip(f->name, "the evaluation dataset has no such column");
    return j->cases[i] ? ASSAY_OK : assay__nomem();
  }
  needs nd = {{j->t->degradation, 1}};
  const subset_cache *k;
  subset_cache *tmp;
  int rc = cache_get(c, f, test_bins(j->test), test_min(j->test), nd, &k, &tmp);
  if (!rc) rc = j->t->degradation ? degr_case(j, f, k, &j->cases[i]) : perf_case(j, f, k, &j->cases[i]);
  cache_free(tmp);
  return rc;
}

static int run_subset(stress_ctx *c, const test_def *def, const json_t *test, json_t *batch) {
  const subset_test *t = subset_find(def->type);
  json_t *cases = json_object_get(batch, "test_cases");
  if (!t) return assay__err(ASSAY_ERR_INTERNAL, "no subset test %s", def->type);
  int need_ref = t->degradation;
  const char *why = NULL;
  const stress_side *e = &c->side[1], *r = &c->side[0];
  if (!(e->label_class || e->label_value)) why = "needs labels: the evaluation dataset has none";
  else if (!(e->score || e->proba)) why = "needs predictions: the evaluation dataset has none";
  else if (need_ref && !(r->label_class || r->label_value))
    why = "needs labels on both datasets: the reference has none";
  else if (need_ref && !(r->score || r->proba))
    why = "needs predictions on both datasets: the reference has none";
  if (why) {
    json_t *tc = stress_case_skip(NULL, why);
    return tc && !json_array_append_new(cases, tc) ? ASSAY_OK : assay__nomem();
  }
  feat_job j = {c, t, test, calloc((size_t)(c->nfeatures ? c->nfeatures : 1), sizeof(json_t *)),
                NAN};
  if (!j.cases) return assay__nomem();
  if (!t->degradation) {
    const stress_perf *p = stress_overall(c, 1);
    j.overall = p ? overall_metric(p, t->metric) : NAN;
  }
  int rc = stress_parallel(c, c->nfeatures, feature_case, &j);
  for (int i = 0; i < c->nfeatures; i++) {
    if (!rc && j.cases[i] && json_array_append_new(cases, j.cases[i])) rc = assay__nomem();
    else if (rc) json_decref(j.cases[i]);
  }
  free(j.cases);
  return rc;
}

stress_test_fn tests_subset_find(const char *type) {
  return type && subset_find(type) ? run_subset : NULL;
}
