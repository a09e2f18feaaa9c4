/* engine/tests_performance.c — MODEL_PERFORMANCE: each metric of the model
 * on the reference and on the evaluation, and how much it degraded
 * (drop, rise, relative rise or absolute change, as the catalogue says);
 * and stress_overall(), the overall metrics of a side that the subset and
 * abnormal-input tests compare against. */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "engine/stress_internal.h"
#include "internal.h"

/* --- overall metrics ------------------------------------------------------------------ */

/* ROC AUC of a side's rows with a label (binary classes) through the score
 * order: the Mann-Whitney count with ties counting one half, which is
 * sklearn's trapezoid over distinct thresholds. */
static double auc_by_order(const stress_side *sd) {
  double pos = 0, neg = 0, sum = 0, negbelow = 0, tp = 0, tn = 0, last = NAN;
  for (size_t i = 0; i < sd->nscored; i++) {
    int8_t y = sd->label_sorted[i];
    if (y < 0) continue;
    double s = sd->score_sorted[i];
    if (s != last) {
      sum += tp * negbelow + 0.5 * tp * tn;
      negbelow += tn;
      tp = tn = 0;
      last = s;
    }
    if (y) tp++, pos++;
    else tn++, neg++;
  }
  sum += tp * negbelow + 0.5 * tp * tn;
  return pos > 0 && neg > 0 ? sum / (pos * neg) : NAN;
}

/* Mean and population variance (two passes) of the non-NaN values of v. */
static void mean_var(const double *v, int64_t n, double *mean, double *var) {
  double s = 0, comp = 0;
  int64_t m = 0, pinf = 0, ninf = 0;
  for (int64_t i = 0; i < n; i++) {
    double x = v[i];
    if (isnan(x)) continue;
    if (isinf(x)) { /* kept out of the compensated sum, which they would turn into NaN */
      x > 0 ? pinf++ : ninf++;
      m++;
      continue;
    }
    double t = s + x; /* Neumaier */
    comp += fabs(s) >= fabs(x) ? (s - t) + x : (x - t) + s;
    s = t;
    m++;
  }
  if (!m) {
    *mean = *var = NAN;
    return;
  }
  if (pinf || ninf) { /* infinite predictions: an infinite mean (NaN for both signs) and spread */
    *mean = pinf && ninf ? NAN : pinf ? INFINITY : -INFINITY;
    *var = INFINITY;
    return;
  }
  double mu = (s + comp) / (double)m, q = 0;
  for (int64_t i = 0; i < n; i++)
    if (!isnan(v[i])) q += (v[i] - mu) * (v[i] - mu);
  *mean = mu;
  *var = q / (double)m;
}

static int compute_perf(stress_ctx *c, int s, stress_perf *p) {
  const stress_side *sd = &c->side[s];
  int64_t n = sd->n;
  p->ok = (sd->label_class || sd->label_value) && (sd->score || sd->proba);
  if (!p->ok) return ASSAY_OK;
  p->npred = sd->npred;
  if (c->task == TASK_BINARY) {
    uint8_t *y = malloc((size_t)(n ? n : 1));
    double *q = malloc((size_t)(n ? n : 1) * sizeof *q);
    if (!y || !q) {
      free(y), free(q);
      return assay__nomem();
    }
    int64_t m = 0;
    stats_confusion cf = {0, 0, 0, 0};
    for (int64_t i = 0; i < n; i++) {
      int32_t l = sd->label_class[i];
      if (l < 0 || isnan(sd->score[i])) continue;
      y[m] = (uint8_t)l;
      q[m++] = sd->score[i];
      int pc = sd->pred_class[i];
      if (l) pc ? cf.tp++ : cf.fn++;
      else pc ? cf.fp++ : cf.tn++;
    }
    p->n = m;
    p->conf = cf;
    p->accuracy = stats_accuracy(&cf);
    p->precision = stats_precision(&cf);
    p->recall = stats_recall(&cf);
    p->f1 = stats_f1(&cf);
    p->fpr = stats_fpr(&cf);
    p->fnr = stats_fnr(&cf);
    p->positive_rate = stats_positive_rate(&cf);
    p->auc = auc_by_order(sd);
    p->log_loss = m ? stats_log_loss_binary(y, q, (size_t)m) : NAN;
    p->brier = m ? stats_brier(y, q, (size_t)m) : NAN;
    free(y), free(q);
    mean_var(sd->score, n, &p->mean_pred, &p->var_pred);
  } else if (c->task == TASK_MULTICLASS) {
    int32_t k = c->nclasses;
    p->cm = calloc((size_t)k * (size_t)k, sizeof *p->cm);
    int32_t *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    double *q = malloc(((size_t)(n ? n : 1)) * (size_t)k * sizeof *q);
    if (!p->cm || !y || !q) {
      free(y), free(q);
      return assay__nomem();
    }
    int64_t m = 0;
    double conf = 0;
    int64_t nconf = 0;
    for (int64_t i = 0; i < n; i++) {
      int32_t pc = sd->pred_class[i];
      if (pc < 0) continue;
      conf += sd->proba[(size_t)i * (size_t)k + (size_t)pc];
      nconf++;
      int32_t l = sd->label_class[i];
      if (l < 0) continue;
      p->cm[(size_t)l * (size_t)k + (size_t)pc]++;
      y[m] = l;
      memcpy(q + (size_t)m * (size_t)k, sd->proba + (size_t)i * (size_t)k, (size_t)k * sizeof *q);
      m++;
    }
    p->n = m;
    p->mc_accuracy = m ? stats_mc_accuracy(p->cm, k) : NAN;
    p->macro_precision = m ? stats_mc_precision(p->cm, k, STATS_AVG_MACRO) : NAN;
    p->macro_recall = m ? stats_mc_recall(p->cm, k, STATS_AVG_MACRO) : NAN;
    p->macro_f1 = m ? stats_mc_f1(p->cm, k, STATS_AVG_MACRO) : NAN;
    p->mc_auc = m ? stats_mc_roc_auc_ovr(y, q, (size_t)m, k) : NAN;
    p->mc_log_loss = m ? stats_mc_log_loss(y, q, (size_t)m, k) : NAN;
    p->average_confidence = nconf ? conf / (double)nconf : NAN;
    free(y), free(q);
  } else {
    double *y = malloc((size_t)(n ? n : 1) * sizeof *y);
    double *q = malloc((size_t)(n ? n : 1) * sizeof *q);
    if (!y || !q) {
      free(y), free(q);
      return assay__nomem();
    }
    stats_reg_init(&p->reg);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
      double l = sd->label_value[i], v = sd->score[i];
      if (isnan(l) || isnan(v)) continue;
      stats_reg_add(&p->reg, l, v);
      y[m] = l;
      q[m++] = v;
    }
    p->n = m;
    p->mae = m ? stats_reg_mae(&p->reg) : NAN;
    p->mse = m ? stats_reg_mse(&p->reg) : NAN;
    p->rmse = m ? stats_reg_rmse(&p->reg) : NAN;
    p->mape = m ? stats_reg_mape(&p->reg) : NAN;
    p->msle = m ? stats_reg_msle(&p->reg) : NAN;
    p->r2 = m ? stats_reg_r2(&p->reg) : NAN;
    p->spearman = m >= 2 ? stats_spearman(y, q, (size_t)m) : NAN;
    free(y), free(q);
    mean_var(sd->score, n, &p->mean_pred, &p->var_pred);
  }
  return ASSAY_OK;
}

const stress_perf *stress_overall(stress_ctx *c, int side) {
  if (side < 0 || side > 1) return NULL;
  pthread_mutex_lock(&c->perf_lock[side]);
  if (!c->perf[side]) {
    stress_perf *p = calloc(1, sizeof *p);
    if (p && compute_perf(c, side, p) != ASSAY_OK) {
      free(p->cm);
      free(p);
      p = NULL;
    }
    c->perf[side] = p;
  }
  stress_perf *p = c->perf[side];
  pthread_mutex_unlock(&c->perf_lock[side]);
  return p && p->ok ? p : NULL;
}

void tests_performance_release(stress_ctx *c) {
  for (int s = 0; s < 2; s++) {
    if (c->perf[s]) free(c->perf[s]->cm);
    free(c->perf[s]);
    c->perf[s] = NULL;
  }
}

double stress_headline_rows(const stress_ctx *c, const int64_t *rows, int64_t n) {
  const stress_side *sd = &c->side[1];
  double sum = 0;
  int64_t m = 0;
  if (c->task == TASK_REGRESSION) {
    if (!sd->label_value || !sd->score) return NAN;
    for (int64_t j = 0; j < n; j++) {
      int64_t i = rows[j];
      double l = sd->label_value[i], v = sd->score[i];
      if (isnan(l) || isnan(v)) continue;
      sum += fabs(l - v);
      m++;
    }
  } else {
    if (!sd->label_class || !sd->pred_class) return NAN;
    for (int64_t j = 0; j < n; j++) {
      int64_t i = rows[j];
      int32_t l = sd->label_class[i], pc = sd->pred_class[i];
      if (l < 0 || pc < 0) continue;
      sum += l == pc;
      m++;
    }
  }
  return m ? sum / (double)m : NAN;
}

/* --- the tests ------------------------------------------------------------------------- */

typedef enum {
  DROP,     /* reference - evaluation */
  RISE,     /* evaluation - reference */
  ABS,      /* |evaluation - reference| */
  REL_RISE, /* (evaluation - reference) / |reference| */
  ABS_STD,  /* |evaluation - reference| / reference population std of predictions */
  ABS_REL   /* |evaluation - reference| / |reference| */
} change_kind;

typedef struct perf_test {
  const char *type;
  size_t offset;        /* the metric's field in stress_perf */
  size_t mc_offset;     /* multiclass field where it differs (log_loss), or 0 */
  change_kind kind;
} perf_test;

#define F(x) offsetof(stress_perf, x)
static const perf_test perf_tests[] = {
  {"accuracy", F(accuracy), 0, DROP},
  {"auc", F(auc), 0, DROP},
  {"f1", F(f1), 0, DROP},
  {"precision", F(precision), 0, DROP},
  {"recall", F(recall), 0, DROP},
  {"false_positive_rate", F(fpr), 0, RISE},
  {"false_negative_rate", F(fnr), 0, RISE},
  {"positive_prediction_rate", F(positive_rate), 0, ABS},
  {"log_loss", F(log_loss), F(mc_log_loss), RISE},
  {"brier_score", F(brier), 0, RISE},
  {"multiclass_accuracy", F(mc_accuracy), 0, DROP},
  {"macro_f1", F(macro_f1), 0, DROP},
  {"macro_precision", F(macro_precision), 0, DROP},
  {"macro_recall", F(macro_recall), 0, DROP},
  {"multiclass_auc", F(mc_auc), 0, DROP},
  {"average_confidence", F(average_confidence), 0, ABS},
  {"mae", F(mae), 0, REL_RISE},
  {"mse", F(mse), 0, REL_RISE},
  {"rmse", F(rmse), 0, REL_RISE},
  {"mape", F(mape), 0, REL_RISE},
  {"msle", F(msle), 0, REL_RISE},
  {"r2", F(r2), 0, DROP},
  {"rank_correlation", F(spearman), 0, DROP},
  {"average_prediction", F(mean_pred), 0, ABS_STD},
  {"prediction_variance", F(var_pred), 0, ABS_REL},
  {NULL, 0, 0, DROP}};
#undef F

static const perf_test *perf_find(const char *type) {
  for (const perf_test *t = perf_tests; t->type; t++)
    if (strcmp(t->type, type) == 0) return t;
  return NULL;
}

static double field(const stress_perf *p, size_t off) {
  return *(const double *)((const char *)p + off);
}

static int run_perf(stress_ctx *c, const test_def *def, const json_t *test, json_t *batch) {
  const perf_test *t = perf_find(def->type);
  json_t *cases = json_object_get(batch, "test_cases");
  if (!t) return assay__err(ASSAY_ERR_INTERNAL, "no model performance test %s", def->type);
  const stress_perf *ref = stress_overall(c, 0), *ev = stress_overall(c, 1);
  if (!ref || !ev) {
    const stress_side *r = &c->side[0], *e = &c->side[1];
    const char *why = !(r->label_class || r->label_value)
                        ? "needs labels on both datasets: the reference has none"
                      : !(e->label_class || e->label_value)
                        ? "needs labels on both datasets: the evaluation has no label column"
                      : !(r->score || r->proba)
                        ? "needs predictions on both datasets: the reference has none"
                        : "needs predictions on both datasets: the evaluation has none";
    json_t *tc = stress_case_skip(NULL, why);
    return tc && !json_array_append_new(cases, tc) ? ASSAY_OK : assay__nomem();
  }
  size_t off = c->task == TASK_MULTICLASS && t->mc_offset ? t->mc_offset : t->offset;
  double a = field(ref, off), b = field(ev, off), v = NAN;
  switch (t->kind) {
    case DROP: v = a - b; break;
    case RISE: v = b - a; break;
    case ABS: v = fabs(b - a); break;
    case REL_RISE: v = a != 0 ? (b - a) / fabs(a) : NAN; break;
    case ABS_REL: v = a != 0 ? fabs(b - a) / fabs(a) : NAN; break;
    case ABS_STD: {
      double sd = sqrt(ref->var_pred);
      v = sd > 0 ? fabs(b - a) / sd : fabs(b - a);
      break;
    }
  }
  if (!isfinite(a) || !isfinite(b)) v = NAN;
  json_t *tc = stress_case(test, NULL, v);
  if (!tc) return assay__nomem();
  if (isnan(v)) {
    char reason[256];
    const char *where = !isfinite(a) ? "reference" : !isfinite(b) ? "evaluation" : "reference";
    double bad = !isfinite(a) ? a : b;
    if (isinf(bad)) /* an infinite label or prediction: the metric is infinite, not absent */
      snprintf(reason, sizeof reason,
               "%s is infinite on the %s (a label or a prediction there is infinite)",
               def->type, where);
    else
      snprintf(reason, sizeof reason, "%s is undefined on the %s (%s)", def->type, where,
               !isfinite(a) || !isfinite(b)
                 ? "no rows with a label and a prediction, one class only, or constant values"
                 : "the reference value is 0, so a relative change is undefined");
    json_object_set_new(tc, "skip_reason", json_string(reason));
  }
  stress_metric(tc, "reference", a);
  stress_metric(tc, "evaluation", b);
  stress_metric(tc, "degradation", v);
  stress_metric(tc, "ref_rows", (double)ref->n);
  stress_metric(tc, "eval_rows", (double)ev->n);
  return json_array_append_new(cases, tc) ? assay__nomem() : ASSAY_OK;
}

stress_test_fn tests_performance_find(const char *type) {
  return type && perf_find(type) ? run_perf : NULL;
}
