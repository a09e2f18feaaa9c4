/* engine/tests_drift.c — the DRIFT category: numeric and categorical
 * feature drift, label drift, prediction drift, predicted-label drift and
 * nulls-per-feature drift, each as the issue-5 contract defines them.
 *
 * Numeric columns are compared through their counts in the reference's
 * quantile bins (stress_edges, found by selection): with the default bins
 * a byte histogram of the shared per-row bins (stress_bins), else one pass
 * over each side's column; KS and Wasserstein, which need every value in
 * order, sort the feature's two columns for that feature only (nothing
 * keeps them). Categorical columns are counted over the unified category
 * codes in one pass per side.
 * Features run in parallel (stress_parallel); each writes its own case
 * slot, appended afterwards in feature order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tests_util.h"

enum { ST_PSI = 0, ST_KS, ST_JS, ST_WASS, ST_CHI };

static const char *const STAT_NAMES[] = {"psi", "ks", "jensen_shannon", "wasserstein",
                                         "chi_square"};

static int stat_of(const char *name) {
  for (int i = 0; i < 5; i++)
    if (strcmp(name, STAT_NAMES[i]) == 0) return i;
  return -1;
}
static int stat_numeric(int st) {
  return st == ST_PSI || st == ST_KS || st == ST_JS || st == ST_WASS;
}
static int stat_categorical(int st) { return st == ST_PSI || st == ST_JS || st == ST_CHI; }

#define MAX_BINS 100
#define DETAIL_TOP 20

/* The test's statistic (ASSAY_ERR_CONFIG for an unknown one) and bins. */
static int drift_options(const json_t *test, int *stat, int *nbins) {
  const char *name = tu_opt_str(test, "statistic", "psi");
  *stat = stat_of(name);
  if (*stat < 0)
    return assay__err(ASSAY_ERR_CONFIG,
                      "drift test %s: unknown statistic \"%s\" (expected psi, ks, jensen_shannon, "
                      "wasserstein or chi_square)",
                      tu_opt_str(test, "test_type", "?"), name);
  double b = tu_opt_num(test, "num_bins", STRESS_DEFAULT_BINS);
  if (!(b >= 2)) b = 2;
  if (b > MAX_BINS) b = MAX_BINS;
  *nbins = (int)b;
  return 0;
}

/* --- cases ---------------------------------------------------------------------------------- */

static json_t *shares_array(const double *counts, size_t k, double total) {
  json_t *a = json_array();
  for (size_t j = 0; j < k; j++)
    json_array_append_new(a, json_real(total > 0 ? counts[j] / total : 0.0));
  return a;
}

static void set_value_metrics(json_t *tc, int st, double value, double pvalue) {
  switch (st) {
    case ST_PSI: stress_metric(tc, "psi", value); break;
    case ST_KS:
      stress_metric(tc, "ks_statistic", value);
      stress_metric(tc, "ks_pvalue", pvalue);
      break;
    case ST_JS: stress_metric(tc, "jensen_shannon", value); break;
    case ST_WASS: stress_metric(tc, "wasserstein_normed", value); break;
    default: break;
  }
}

/* The case of a numeric comparison: rc / ec the two sides' counts in the
 * reference's bins (edges[m]; nr, ne > 0 values in all), rs / es their
 * sorted values (KS and Wasserstein only; else NULL). NULL when out of
 * memory. */
static json_t *numeric_case(const json_t *test, const char *feature, int st, const double *rc,
                            const double *ec, size_t nr, size_t ne, const double *rs,
                            const double *es, const double *edges, size_t m) {
  double value = NAN, pvalue = NAN;
  switch (st) {
    case ST_PSI: value = stats_psi(rc, ec, m + 1, STATS_PSI_EPS); break;
    case ST_JS: value = stats_js_distance(rc, ec, m + 1); break;
    case ST_KS: stats_ks_2samp(rs, nr, es, ne, &value, &pvalue); break;
    case ST_WASS: value = stats_wasserstein_normed(rs, nr, es, ne); break;
    default: break;
  }
  json_t *tc;
  if (isnan(value)) {
    tc = stress_case_skip(feature, "the statistic is undefined for these values");
  } else {
    tc = stress_case(test, feature, value);
  }
  if (!tc) return NULL;
  set_value_metrics(tc, st, value, pvalue);
  stress_metric(tc, "ref_rows", (double)nr);
  stress_metric(tc, "eval_rows", (double)ne);
  json_t *bins = json_array();
  for (size_t j = 0; j <= m; j++) {
    char label[100];
    tu_bin_label(label, sizeof label, edges, m, j);
    json_array_append_new(bins, json_string(label));
  }
  json_object_set_new(tc, "details",
                      json_pack("{s:s, s:o, s:o, s:o}", "kind", "numeric", "bins", bins,
                                "reference", shares_array(rc, m + 1, (double)nr), "evaluation",
                                shares_array(ec, m + 1, (double)ne)));
  return tc;
}

/* numeric_case from the two sides' sorted values (rs[nr], es[ne]). */
static json_t *sorted_case(const json_t *test, const char *feature, int st, const double *rs,
                           size_t nr, const double *es, size_t ne, const double *edges,
                           size_t m) {
  double rc[MAX_BINS + 1], ec[MAX_BINS + 1];
  tu_count_sorted(rs, nr, edges, m, rc);
  tu_count_sorted(es, ne, edges, m, ec);
  return numeric_case(test, feature, st, rc, ec, nr, ne, rs, es, edges, m);
}

/* The case of a categorical comparison over k codes (counts of each side;
 * names[j] the code's text). NULL when out of memory. */
static json_t *categorical_case(const json_t *test, const char *feature, int st,
                                const double *rc, const double *ec, size_t k,
                                const char *const *names) {
  double nr = 0, ne = 0;
  for (size_t j = 0; j < k; j++) {
    nr += rc[j];
    ne += ec[j];
  }
  double value = NAN, pvalue = NAN, chi = NAN;
  if (st == ST_CHI) {
    double *obs = malloc((k ? k : 1) * 2 * sizeof *obs);
    if (!obs) return NULL;
    double *exp = obs + k, total = 0;
    for (size_t j = 0; j < k; j++) {
      double s = rc[j] / nr;
      exp[j] = s > STATS_PSI_EPS ? s : STATS_PSI_EPS;
      total += exp[j];
      obs[j] = ec[j];
    }
    for (size_t j = 0; j < k; j++) exp[j] = exp[j] / total * ne;
    stats_chisquare(obs, exp, k, &chi, &pvalue);
    free(obs);
    value = pvalue;
  } else if (st == ST_JS) {
    value = stats_js_distance(rc, ec, k);
  } else {
    value = stats_psi(rc, ec, k, STATS_PSI_EPS);
  }
  json_t *tc;
  if (isnan(value))
    tc = stress_case_skip(feature, st == ST_CHI && k < 2
                                       ? "chi-square needs at least 2 categories"
                                       : "the statistic is undefined for these values");
  else
    tc = stress_case(test, feature, value);
  if (!tc) return NULL;
  if (st == ST_CHI) {
    stress_metric(tc, "chi_square", chi);
    stress_metric(tc, "chi_square_pvalue", pvalue);
  } else {
    set_value_metrics(tc, st, value, NAN);
  }
  stress_metric(tc, "ref_rows", nr);
  stress_metric(tc, "eval_rows", ne);
  /* Chart: every category when there are at most DETAIL_TOP, else the
   * DETAIL_TOP largest of the reference and "other". */
  json_t *bins = json_array(), *rs = json_array(), *es = json_array();
  size_t shown = k;
  size_t *order = NULL;
  if (k > DETAIL_TOP) {
    order = malloc(k * sizeof *order);
    if (!order) {
      json_decref(bins), json_decref(rs), json_decref(es), json_decref(tc);
      return NULL;
    }
    for (size_t j = 0; j < k; j++) order[j] = j;
    /* partial selection sort of the DETAIL_TOP largest (stable by code) */
    for (size_t a = 0; a < DETAIL_TOP; a++) {
      size_t best = a;
      for (size_t b = a + 1; b < k; b++)
        if (rc[order[b]] > rc[order[best]]) best = b;
      size_t t = order[best];
      memmove(order + a + 1, order + a, (best - a) * sizeof *order);
      order[a] = t;
    }
    shown = DETAIL_TOP;
  }
  double rest_r = nr, rest_e = ne;
  for (size_t a = 0; a < shown; a++) {
    size_t j = order ? order[a] : a;
    json_array_append_new(bins, json_string(names[j] ? names[j] : ""));
    json_array_append_new(rs, json_real(nr > 0 ? rc[j] / nr : 0));
    json_array_append_new(es, json_real(ne > 0 ? ec[j] / ne : 0));
    rest_r -= rc[j];
    rest_e -= ec[j];
  }
  if (order) {
    json_array_append_new(bins, json_string("other"));
    json_array_append_new(rs, json_real(nr > 0 ? rest_r / nr : 0));
    json_array_append_new(es, json_real(ne > 0 ? rest_e / ne : 0));
  }
  free(order);
  json_object_set_new(tc, "details", json_pack("{s:s, s:o, s:o, s:o}", "kind", "categorical",
                                               "bins", bins, "reference", rs, "evaluation", es));
  return tc;
}

/* --- feature drift ---------------------------------------------------------------------------- */

typedef struct feat_job {
  stress_ctx *c;
  const json_t *test;
  int stat, nbins;
  int *feat;          /* feature indices */
  json_t **cases;
} feat_job;

static int numeric_one(void *arg, int i) {
  feat_job *j = arg;
  stress_ctx *c = j->c;
  stress_feature *f = &c->features[j->feat[i]];
  if (stress_cancelled(c)) return tu_cancelled();
  json_t *tc = NULL;
  if (!f->eval_col) {
    tc = stress_case_skip(f->name, "the evaluation data has no such column");
    if (!tc) return assay__nomem();
    j->cases[i] = tc;
    return 0;
  }
  size_t m = 0, nr = 0, ne = 0;
  double *tmp = NULL, *rs = NULL, *es = NULL;
  const double *edges = stress_edges(c, f, j->nbins, &m, &tmp);
  if (!edges) m = 0;
  double rc[MAX_BINS + 1], ec[MAX_BINS + 1];
  int err = 0;
  if (j->stat == ST_KS || j->stat == ST_WASS) {
    /* every value in order: sorted here, for this feature only */
    err = stress_sorted_values(c, f, 0, &rs, &nr);
    if (!err) err = stress_sorted_values(c, f, 1, &es, &ne);
    if (!err) {
      tu_count_sorted(rs, nr, edges, m, rc);
      tu_count_sorted(es, ne, edges, m, ec);
    }
  } else {
    /* the bins' counts: from the shared per-row bins when they are of
     * these edges, else one pass over each side's column */
    const double *se = NULL;
    size_t sm = 0;
    const uint8_t *rb = NULL, *eb = NULL;
    if (j->nbins == STRESS_DEFAULT_BINS) {
      rb = stress_bins(c, f, 0, &se, &sm);
      if (rb && (sm != m || (m && memcmp(se, edges, m * sizeof *se) != 0))) rb = NULL;
      eb = rb ? stress_bins(c, f, 1, &se, &sm) : NULL;
    }
    if (rb) tu_count_bins(rb, c->side[0].n, m, rc, &nr);
    else tu_count_column(f->ref_col, c->side[0].n, edges, m, rc, &nr);
    if (eb) tu_count_bins(eb, c->side[1].n, m, ec, &ne);
    else tu_count_column(f->eval_col, c->side[1].n, edges, m, ec, &ne);
  }
  if (!err) {
    if (nr == 0) tc = stress_case_skip(f->name, "the reference has no non-null values");
    else if (ne == 0) tc = stress_case_skip(f->name, "the evaluation has no non-null values");
    else tc = numeric_case(j->test, f->name, j->stat, rc, ec, nr, ne, rs, es, edges, m);
  }
  free(rs), free(es), free(tmp);
  if (err) return err;
  if (!tc) return assay__nomem();
  j->cases[i] = tc;
  return 0;
}

/* Counts of codes (-1: null, skipped) into counts[k] (zeroed here). */
static void count_codes(const int32_t *codes, int64_t n, int64_t *counts, int32_t k) {
  memset(counts, 0, (size_t)k * sizeof *counts);
  for (int64_t r = 0; r < n; r++) {
    int32_t v = codes[r];
    if (v >= 0 && v < k) counts[v]++;
  }
}

static int categorical_one(void *arg, int i) {
  feat_job *j = arg;
  stress_ctx *c = j->c;
  stress_feature *f = &c->features[j->feat[i]];
  if (stress_cancelled(c)) return tu_cancelled();
  json_t *tc = NULL;
  if (!f->eval_col || !f->eval_codes) {
    tc = stress_case_skip(f->name, "the evaluation data has no such column");
    if (!tc) return assay__nomem();
    j->cases[i] = tc;
    return 0;
  }
  int32_t k = f->ncat > 0 ? f->ncat : 1;
  int64_t *cnt = malloc((size_t)k * 2 * sizeof *cnt);
  double *rc = malloc((size_t)k * 2 * sizeof *rc);
  if (!cnt || !rc) {
    free(cnt), free(rc);
    return assay__nomem();
  }
  count_codes(f->ref_codes, c->side[0].n, cnt, k);
  count_codes(f->eval_codes, c->side[1].n, cnt + k, k);
  double nr = 0, ne = 0;
  for (int32_t a = 0; a < k; a++) {
    rc[a] = (double)cnt[a];
    rc[k + a] = (double)cnt[k + a];
    nr += rc[a];
    ne += rc[k + a];
  }
  free(cnt);
  if (f->ncat <= 0 || nr == 0)
    tc = stress_case_skip(f->name, "the reference has no non-null values");
  else if (ne == 0) tc = stress_case_skip(f->name, "the evaluation has no non-null values");
  else
    tc = categorical_case(j->test, f->name, j->stat, rc, rc + k, (size_t)f->ncat,
                          (const char *const *)f->cat_names);
  free(rc);
  if (!tc) return assay__nomem();
  j->cases[i] = tc;
  return 0;
}

static int feature_drift(stress_ctx *c, const json_t *test, json_t *batch, int categorical) {
  int stat, nbins;
  int rc = drift_options(test, &stat, &nbins);
  if (rc) return rc;
  if (categorical ? !stat_categorical(stat) : !stat_numeric(stat))
    return assay__err(ASSAY_ERR_CONFIG, "%s: the statistic %s does not apply to %s features",
                      categorical ? "categorical_feature_drift" : "numeric_feature_drift",
                      STAT_NAMES[stat], categorical ? "categorical" : "numeric");
  int n = 0;
  int *feat = malloc(((size_t)c->nfeatures + 1) * sizeof *feat);
  json_t **cases = calloc((size_t)c->nfeatures + 1, sizeof *cases);
  if (!feat || !cases) {
    free(feat), free(cases);
    return assay__nomem();
  }
  for (int i = 0; i < c->nfeatures; i++) {
    stress_feature *f = &c->features[i];
    if (!f->categorical != !categorical || stress_excluded(test, f->name)) continue;
    feat[n++] = i;
  }
  feat_job job = {c, test, stat, nbins, feat, cases};
  rc = n ? stress_parallel(c, n, categorical ? categorical_one : numeric_one, &job) : 0;
  int drifted = 0, tested = 0;
  for (int i = 0; i < n; i++) {
    if (!cases[i]) continue;
    if (!tu_case_skipped(cases[i])) tested++;
    if (tu_case_flagged(cases[i])) drifted++;
  }
  if (!rc) rc = tu_append_cases(batch, cases, n);
  for (int i = 0; i < n; i++) json_decref(cases[i]);
  free(cases);
  free(feat);
  if (rc) return rc;
  json_t *m = tu_batch_metrics(batch);
  json_object_set_new(m, "num_drifted", json_integer(drifted));
  json_object_set_new(m, "share_drifted",
                      tested ? json_real((double)drifted / tested) : json_null());
  return 0;
}

static int numeric_feature_drift(stress_ctx *c, const test_def *def, const json_t *test,
                                 json_t *batch) {
  (void)def;
  return feature_drift(c, test, batch, 0);
}

static int categorical_feature_drift(stress_ctx *c, const test_def *def, const json_t *test,
                                     json_t *batch) {
  (void)def;
  return feature_drift(c, test, batch, 1);
}

/* --- label, prediction and predicted-label drift ------------------------------------------- */

/* The test entry to judge statistic `used` with: the test itself when it
 * is the one asked for, else a copy carrying that statistic's default
 * thresholds (after the run's sensitivity shift). New reference. */
static json_t *test_for_stat(stress_ctx *c, const json_t *test, int asked, int used) {
  if (asked == used) return json_incref((json_t *)test);
  const drift_stat_def *d = drift_stat_find(STAT_NAMES[used]);
  json_t *t = json_deep_copy(test); /* shares nothing with the threads reading test */
  if (!t) return NULL;
  double w = d ? d->warning : 0.2, a = d ? d->alert : 0.4;
  thresh_dir dir = d ? d->dir : THRESH_UPPER;
  const char *sens = json_string_value(json_object_get(c->in->config, "sensitivity"));
  double factor = sens ? test_sensitivity_factor(sens) : 1.0;
  if (!(factor > 0) || !isfinite(factor)) factor = 1.0;
  if (dir == THRESH_UPPER) {
    w *= factor;
    a *= factor;
  } else {
    w /= factor;
    a /= factor;
  }
  json_object_set_new(t, "warning", json_real(w));
  json_object_set_new(t, "alert", json_real(a));
  json_object_set_new(t, "direction", json_string(dir == THRESH_UPPER ? "upper" : "lower"));
  json_object_set_new(t, "statistic", json_string(STAT_NAMES[used]));
  return t;
}

/* Sorted copy of the finite values of v[n] (malloc'ed; *out_n): nulls and
 * infinities are left out, as for features. */
static double *sorted_values(const double *v, int64_t n, size_t *out_n) {
  double *s = malloc(((size_t)n + 1) * sizeof *s);
  if (!s) return NULL;
  size_t k = 0;
  for (int64_t i = 0; i < n; i++)
    if (isfinite(v[i])) s[k++] = v[i];
  if (k && stats_sort_f64(s, k, NULL) != 0) {
    free(s);
    return NULL;
  }
  *out_n = k;
  return s;
}

/* The predictions of a side sorted (its score_order, when the engine made
 * one, gathers them without sorting again). */
static double *sorted_scores(const stress_side *s, size_t *out_n) {
  if (!s->score_order) return sorted_values(s->score, s->n, out_n);
  double *v = malloc((s->nscored + 1) * sizeof *v);
  if (!v) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < s->nscored; i++) {
    double x = s->score[s->score_order[i]];
    if (isfinite(x)) v[k++] = x;
  }
  *out_n = k;
  return v;
}

/* A numeric comparison of two value arrays (NaN: missing) under a test;
 * scores: they are the sides' predictions. */
static json_t *values_case(stress_ctx *c, const json_t *test, const char *feature,
                           const double *rv, const double *ev, int nbins, int asked,
                           int scores) {
  int used = stat_numeric(asked) ? asked : ST_PSI;
  size_t nr = 0, ne = 0;
  double *rs = scores ? sorted_scores(&c->side[0], &nr) : sorted_values(rv, c->side[0].n, &nr);
  double *es = !rs ? NULL
               : scores ? sorted_scores(&c->side[1], &ne)
                        : sorted_values(ev, c->side[1].n, &ne);
  json_t *t = es ? test_for_stat(c, test, asked, used) : NULL;
  json_t *tc = NULL;
  if (t) {
    if (nr == 0) tc = stress_case_skip(feature, "the reference has no non-null values");
    else if (ne == 0) tc = stress_case_skip(feature, "the evaluation has no non-null values");
    else {
      double edges[MAX_BINS];
      size_t m = stats_quantile_edges(rs, nr, nbins, edges);
      tc = sorted_case(t, feature, used, rs, nr, es, ne, edges, m);
    }
    if (tc) json_object_set_new(json_object_get(tc, "metrics"), "statistic_used",
                                json_string(STAT_NAMES[used]));
  }
  json_decref(t);
  free(rs);
  free(es);
  return tc;
}

/* A categorical comparison over the k classes of two class arrays (-1:
 * missing). */
static json_t *classes_case(stress_ctx *c, const json_t *test, const char *feature,
                            const int32_t *rcls, const int32_t *ecls, int asked) {
  int used = stat_categorical(asked) ? asked : ST_PSI;
  int32_t k = c->nclasses > 0 ? c->nclasses : 1;
  int64_t *cnt = malloc((size_t)k * 2 * sizeof *cnt);
  double *cd = malloc((size_t)k * 2 * sizeof *cd);
  const char **names = malloc((size_t)k * sizeof *names);
  char *numbers = malloc((size_t)k * 16);
  json_t *t = test_for_stat(c, test, asked, used);
  json_t *tc = NULL;
  if (cnt && cd && names && numbers && t) {
    count_codes(rcls, c->side[0].n, cnt, k);
    count_codes(ecls, c->side[1].n, cnt + k, k);
    double nr = 0, ne = 0;
    for (int32_t a = 0; a < 2 * k; a++) cd[a] = (double)cnt[a];
    for (int32_t a = 0; a < k; a++) {
      nr += cd[a];
      ne += cd[k + a];
      const char *nm = json_string_value(json_array_get(c->class_names, (size_t)a));
      if (!nm) {
        snprintf(numbers + 16 * a, 16, "%d", (int)a);
        nm = numbers + 16 * a;
      }
      names[a] = nm;
    }
    if (nr == 0) tc = stress_case_skip(feature, "the reference has no non-null values");
    else if (ne == 0) tc = stress_case_skip(feature, "the evaluation has no non-null values");
    else tc = categorical_case(t, feature, used, cd, cd + k, (size_t)k, names);
    if (tc) json_object_set_new(json_object_get(tc, "metrics"), "statistic_used",
                                json_string(STAT_NAMES[used]));
  }
  json_decref(t);
  free(cnt), free(cd), free(names), free(numbers);
  return tc;
}

static int append_one(json_t *batch, json_t *tc) {
  if (!tc) return assay__nomem();
  return tu_append_cases(batch, &tc, 1);
}

static int label_drift(stress_ctx *c, const test_def *def, const json_t *test, json_t *batch) {
  (void)def;
  int stat, nbins;
  int rc = drift_options(test, &stat, &nbins);
  if (rc) return rc;
  const char *feature = c->label_col;
  if (!c->label_col) return append_one(batch, stress_case_skip(NULL, "the data has no labels"));
  const stress_side *r = &c->side[0], *e = &c->side[1];
  if (c->task == TASK_REGRESSION) {
    if (!r->label_value || !e->label_value)
      return append_one(batch, stress_case_skip(feature, "the evaluation data has no labels"));
    return append_one(batch, values_case(c, test, feature, r->label_value, e->label_value, nbins,
                                         stat, 0));
  }
  if (!r->label_class || !e->label_class)
    return append_one(batch, stress_case_skip(feature, "the evaluation data has no labels"));
  return append_one(batch, classes_case(c, test, feature, r->label_class, e->label_class, stat));
}

static int prediction_drift(stress_ctx *c, const test_def *def, const json_t *test,
                            json_t *batch) {
  (void)def;
  int stat, nbins;
  int rc = drift_options(test, &stat, &nbins);
  if (rc) return rc;
  const stress_side *r = &c->side[0], *e = &c->side[1];
  if (c->task == TASK_MULTICLASS)
    return append_one(batch, stress_case_skip(NULL, "multiclass models have no single score "
                                                    "(predicted_label_drift covers them)"));
  if (!r->score || !e->score)
    return append_one(batch, stress_case_skip(NULL, "the run has no predictions"));
  return append_one(batch, values_case(c, test, NULL, r->score, e->score, nbins, stat, 1));
}

static int predicted_label_drift(stress_ctx *c, const test_def *def, const json_t *test,
                                 json_t *batch) {
  (void)def;
  int stat, nbins;
  int rc = drift_options(test, &stat, &nbins);
  if (rc) return rc;
  const stress_side *r = &c->side[0], *e = &c->side[1];
  if (c->task == TASK_REGRESSION)
    return append_one(batch, stress_case_skip(NULL, "regression models predict no classes"));
  if (!r->pred_class || !e->pred_class)
    return append_one(batch, stress_case_skip(NULL, "the run has no predictions"));
  return append_one(batch, classes_case(c, test, NULL, r->pred_class, e->pred_class, stat));
}

/* --- nulls per feature --------------------------------------------------------------------- */

static int nulls_per_feature_drift(stress_ctx *c, const test_def *def, const json_t *test,
                                   json_t *batch) {
  double nr = (double)c->side[0].n, ne = (double)c->side[1].n;
  for (int i = 0; i < c->nfeatures; i++) {
    stress_feature *f = &c->features[i];
    if (stress_excluded(test, f->name)) continue;
    json_t *tc;
    if (!f->eval_col) {
      tc = stress_case_skip(f->name, "the evaluation data has no such column");
    } else if (nr == 0 || ne == 0) {
      tc = stress_case_skip(f->name, nr == 0 ? "the reference has no rows"
                                             : "the evaluation has no rows");
    } else {
      double x1 = (double)f->ref_col->null_count, x2 = (double)f->eval_col->null_count;
      double rs = x1 / nr, es = x2 / ne, z = NAN, p = NAN;
      stats_ztest_2prop(x1, nr, x2, ne, &z, &p);
      double value = fabs(es - rs);
      tc = stress_case(test, f->name, value);
      if (tc) {
        stress_metric(tc, "ref_null_share", rs);
        stress_metric(tc, "eval_null_share", es);
        stress_metric(tc, "z", z);
        stress_metric(tc, "pvalue", p);
        stress_metric(tc, def && def->metric ? def->metric : "null_share_change", value);
      }
    }
    int rc = append_one(batch, tc);
    if (rc) return rc;
  }
  return 0;
}

stress_test_fn tests_drift_find(const char *type) {
  static const struct {
    const char *type;
    stress_test_fn fn;
  } table[] = {
      {"numeric_feature_drift", numeric_feature_drift},
      {"categorical_feature_drift", categorical_feature_drift},
      {"label_drift", label_drift},
      {"prediction_drift", prediction_drift},
      {"predicted_label_drift", predicted_label_drift},
      {"nulls_per_feature_drift", nulls_per_feature_drift},
  };
  if (!type) return NULL;
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].type, type) == 0) return table[i].fn;
  return NULL;
}
