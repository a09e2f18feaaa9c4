/* report/report.c — the self-contained HTML report of a test run document:
 * run metadata, summary tables, inline SVG charts (reference vs evaluation
 * shares per bin of the drift cases, per-subset performance against the
 * overall value), and every test batch with its cases in <details>.
 *
 * The output has no script and no reference to anything outside the file
 * (no URL, no font, no image): the CSS is inline and the charts are SVG
 * elements drawn here; a Content-Security-Policy meta tag allows nothing
 * else. Every text taken from the document is HTML-escaped (and invalid
 * UTF-8, control characters and bidi controls replaced), and every key is
 * optional: a document from an older run or with missing parts gives a
 * shorter report, never an error. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "report/report.h"

enum {
  MAX_DRIFT_CHARTS = 30,  /* feature distribution charts                         */
  MAX_SUBSET_CHARTS = 20, /* subset performance charts                           */
  MAX_BARS = 120,         /* groups drawn per chart (the rest: a note)            */
  MAX_METRIC_COLUMNS = 24 /* metric columns of a batch's case table              */
};

/* The report's Content-Security-Policy (a <meta> in its head). */
#define REPORT_CSP                                                                        \
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

/* --- text buffer ---------------------------------------------------------------- */

typedef struct sb {
  char *p;
  size_t len, cap;
  int oom;
} sb;

static void sb_put(sb *b, const char *s, size_t n) {
  if (b->oom || n == 0) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 16384;
    while (cap < b->len + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_puts(sb *b, const char *s) { sb_put(b, s, strlen(s)); }

ASSAY_PRINTF(2, 3)
static void sb_printf(sb *b, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n < sizeof small) {
    sb_put(b, small, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (!big) {
    b->oom = 1;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  sb_put(b, big, (size_t)n);
  free(big);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t n;
  unsigned min;
  if ((c & 0xE0) == 0xC0) n = 2, min = 0x80;
  else if ((c & 0xF0) == 0xE0) n = 3, min = 0x800;
  else if ((c & 0xF8) == 0xF0) n = 4, min = 0x10000;
  else return 0;
  unsigned cp = c & (0x7Fu >> n);
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

/* The valid UTF-8 sequence of n bytes at s is a C1 control (U+0080..
 * U+009F) or a Unicode bidi control that reorders what follows it
 * (U+202A..U+202E embeddings and overrides, U+2066..U+2069 isolates): text
 * from a document holding one could show other than what it is. */
static int is_hidden_control(const unsigned char *s, size_t n) {
  if (n == 2) return s[0] == 0xC2 && s[1] <= 0x9F;
  if (n != 3 || s[0] != 0xE2) return 0;
  return (s[1] == 0x80 && s[2] >= 0xAA && s[2] <= 0xAE) ||
         (s[1] == 0x81 && s[2] >= 0xA6 && s[2] <= 0xA9);
}

/* HTML-escape s (text and attribute values alike), at most max_chars
 * characters (0: all) with "…" when cut. Control characters (C0 but tab
 * and line breaks, DEL, C1), the bidi controls (is_hidden_control) and
 * invalid UTF-8 become U+FFFD. */
static void sb_esc_n(sb *b, const char *s, size_t max_chars) {
  if (!s) return;
  const unsigned char *u = (const unsigned char *)s;
  size_t chars = 0, run = 0; /* run: bytes from `start` to copy as they are */
  const unsigned char *start = u;
  while (*u) {
    if (max_chars && chars == max_chars) {
      sb_put(b, (const char *)start, run);
      sb_puts(b, "\xE2\x80\xA6");
      return;
    }
    const char *rep = NULL;
    size_t n = 1;
    switch (*u) {
      case '&': rep = "&amp;"; break;
      case '<': rep = "&lt;"; break;
      case '>': rep = "&gt;"; break;
      case '"': rep = "&quot;"; break;
      case '\'': rep = "&#39;"; break;
      default:
        if ((*u < 0x20 && *u != '\t' && *u != '\n' && *u != '\r') || *u == 0x7F) {
          rep = "&#xFFFD;";
        } else if (*u >= 0x80 && (n = utf8_len(u)) == 0) {
          rep = "&#xFFFD;";
          n = 1;
        } else if (is_hidden_control(u, n)) {
          rep = "&#xFFFD;";
        }
    }
    if (rep) {
      sb_put(b, (const char *)start, run);
      sb_puts(b, rep);
      u += n;
      start = u;
      run = 0;
    } else {
      u += n;
      run += n;
    }
    chars++;
  }
  sb_put(b, (const char *)start, run);
}

static void sb_esc(sb *b, const char *s) { sb_esc_n(b, s, 0); }

/* --- numbers and values ------------------------------------------------------------ */

#define DASH "\xE2\x80\x94" /* "—": a missing or undefined number */

/* A number as text: integral values in full (below 1e15), else %.4g; NaN
 * "—", infinities "∞" / "−∞". */
static const char *fmt_num(double d, char buf[48]) {
  if (isnan(d)) return DASH;
  if (isinf(d)) return d > 0 ? "\xE2\x88\x9E" : "\xE2\x88\x92\xE2\x88\x9E";
  if (d == 0) return "0";
  if (d == floor(d) && fabs(d) < 1e15)
    snprintf(buf, 48, "%.0f", d);
  else
    snprintf(buf, 48, "%.4g", d);
  return buf;
}

/* A JSON number (integer or real) as a double; NaN for anything else. */
static double num_of(const json_t *v) { return json_is_number(v) ? json_number_value(v) : NAN; }

static const char *str_of(const json_t *v) { return json_is_string(v) ? json_string_value(v) : NULL; }

static const char *get_str(const json_t *o, const char *key) {
  return str_of(json_object_get(o, key));
}

/* Any JSON value as escaped text: strings as they are, numbers by fmt_num,
 * null "—", arrays of scalars comma-separated, objects as compact JSON. */
static void put_value(sb *b, const json_t *v) {
  char buf[48];
  if (!v) {
    sb_puts(b, DASH);
    return;
  }
  switch (json_typeof(v)) {
    case JSON_STRING: sb_esc(b, json_string_value(v)); return;
    case JSON_INTEGER:
      sb_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
      return;
    case JSON_REAL: sb_puts(b, fmt_num(json_real_value(v), buf)); return;
    case JSON_TRUE: sb_puts(b, "true"); return;
    case JSON_FALSE: sb_puts(b, "false"); return;
    case JSON_ARRAY: {
      size_t i;
      const json_t *e;
      int scalars = 1;
      json_array_foreach(v, i, e) if (json_is_object(e) || json_is_array(e)) scalars = 0;
      if (scalars) {
        if (json_array_size(v) == 0) sb_puts(b, DASH);
        json_array_foreach(v, i, e) {
          if (i) sb_puts(b, ", ");
          put_value(b, e);
        }
        return;
      }
    }
      /* fall through */
    case JSON_OBJECT: {
      char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
      if (!text) {
        b->oom = 1;
        return;
      }
      sb_esc_n(b, text, 300);
      free(text);
      return;
    }
    default: sb_puts(b, DASH); return; /* null or absent */
  }
}

/* A label for a chart: a string, or a number's text. */
static const char *label_of(const json_t *v, char buf[48]) {
  if (json_is_string(v)) return json_string_value(v);
  if (json_is_number(v)) return fmt_num(json_number_value(v), buf);
  return json_is_boolean(v) ? (json_is_true(v) ? "true" : "false") : "null";
}

/* --- severities and statuses ------------------------------------------------------------ */

/* 2 ALERT, 1 WARNING, 0 PASS, -1 other/absent. */
static int sev_rank(const char *s) {
  if (!s) return -1;
  if (strcmp(s, "SEVERITY_ALERT") == 0) return 2;
  if (strcmp(s, "SEVERITY_WARNING") == 0) return 1;
  if (strcmp(s, "SEVERITY_PASS") == 0) return 0;
  return -1;
}

/* A badge: the CSS class is chosen here (never from the document), the text
 * is the name without its prefix, escaped. */
static void put_badge(sb *b, const char *name) {
  static const struct {
    const char *name, *cls, *text;
  } known[] = {
    {"SEVERITY_ALERT", "alert", "ALERT"},     {"SEVERITY_WARNING", "warn", "WARNING"},
    {"SEVERITY_PASS", "pass", "PASS"},        {"TEST_CASE_STATUS_FAIL", "alert", "FAIL"},
    {"TEST_CASE_STATUS_WARNING", "warn", "WARNING"}, {"TEST_CASE_STATUS_PASS", "pass", "PASS"},
    {"TEST_CASE_STATUS_SKIP", "skip", "SKIP"},
  };
  if (!name) {
    sb_puts(b, DASH);
    return;
  }
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(name, known[i].name) == 0) {
      sb_printf(b, "<span class=\"badge %s\">%s</span>", known[i].cls, known[i].text);
      return;
    }
  sb_puts(b, "<span class=\"badge\">");
  sb_esc(b, name);
  sb_puts(b, "</span>");
}

/* A category name without its TEST_CATEGORY_TYPE_ prefix, escaped. */
static void put_category(sb *b, const char *cat) {
  static const char prefix[] = "TEST_CATEGORY_TYPE_";
  if (!cat) {
    sb_puts(b, "Other");
    return;
  }
  if (strncmp(cat, prefix, sizeof prefix - 1) == 0 && cat[sizeof prefix - 1])
    cat += sizeof prefix - 1;
  sb_esc(b, cat);
}

/* The features of a case ("a, b"), or `fallback` when it has none. */
static void put_features(sb *b, const json_t *tc, const char *fallback) {
  const json_t *f = json_object_get(tc, "features");
  size_t i, n = 0;
  const json_t *e;
  char buf[48];
  json_array_foreach(f, i, e) {
    if (n++) sb_puts(b, ", ");
    sb_esc(b, label_of(e, buf));
  }
  if (!n) sb_esc(b, fallback ? fallback : DASH);
}

/* --- charts --------------------------------------------------------------------- */

/* A "nice" step (1, 2, 2.5 or 5 times a power of ten) of at least x > 0. */
static double nice_step(double x) {
  double e = pow(10, floor(log10(x)));
  double f = x / e;
  double n = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return n * e;
}

/* The y axis [*lo, *hi] with ticks every *step covering [lo, hi] and 0. */
static void axis_range(double lo, double hi, double *alo, double *ahi, double *step) {
  if (!isfinite(lo) || !isfinite(hi)) lo = 0, hi = 1;
  if (lo > 0) lo = 0;
  if (hi < 0) hi = 0;
  if (hi - lo <= 0) hi = lo + 1;
  if (!isfinite(hi - lo) || !isfinite(nice_step((hi - lo) / 4))) lo = 0, hi = 1;
  *step = nice_step((hi - lo) / 4);
  *alo = floor(lo / *step + 1e-9) * *step;
  *ahi = ceil(hi / *step - 1e-9) * *step;
  if (*ahi <= *alo) *ahi = *alo + *step;
}

typedef struct chart {
  const char *cls;          /* "drift" | "subset"                              */
  const char *aria;         /* accessible name (escaped here)                  */
  size_t n;                 /* groups                                          */
  const char **labels;      /* n labels                                        */
  const char **notes;       /* n extra tooltip lines, or NULL                  */
  int nseries;              /* 1 or 2                                          */
  const char *names[2];     /* series names                                    */
  double *vals[2];          /* n values each (NaN: no bar)                     */
  int percent;              /* values are shares: ticks and tips in %          */
  double line;              /* a horizontal reference line (NaN: none)         */
  const char *line_name;
} chart;

static const char *fmt_val(const chart *c, double v, char buf[48]) {
  if (!c->percent || !isfinite(v)) return fmt_num(v, buf);
  snprintf(buf, 48, "%.4g%%", v * 100);
  return buf;
}

/* A grouped bar chart as an inline <svg>. */
static void svg_chart(sb *b, const chart *c) {
  const double top = 26, plot_h = 170, right = 16;
  size_t n = c->n;
  /* the longest label (in characters, capped) decides whether labels are
   * slanted and the margins they need */
  size_t maxlab = 0;
  for (size_t i = 0; i < n; i++) {
    size_t chars = 0;
    for (const unsigned char *u = (const unsigned char *)c->labels[i]; *u; u++)
      chars += (*u & 0xC0) != 0x80;
    if (chars > maxlab) maxlab = chars;
  }
  if (maxlab > 24) maxlab = 24;
  double gw = n ? 560.0 / (double)n : 560;
  if (gw > 72) gw = 72;
  if (gw < 12) gw = 12;
  if (gw * (double)(n ? n : 1) < 240) gw = 240 / (double)(n ? n : 1);
  int rotate = 6.0 * (double)maxlab > gw - 4;
  double bottom = rotate ? 22 + 4.2 * (double)maxlab : 34;
  double left = rotate ? 4.6 * (double)maxlab - gw / 2 + 8 : 0;
  if (left < 56) left = 56;
  double plot_w = gw * (double)(n ? n : 1);
  double W = left + plot_w + right, H = top + plot_h + bottom;

  double lo = INFINITY, hi = -INFINITY;
  for (int s = 0; s < c->nseries; s++)
    for (size_t i = 0; i < n; i++)
      if (isfinite(c->vals[s][i])) {
        if (c->vals[s][i] < lo) lo = c->vals[s][i];
        if (c->vals[s][i] > hi) hi = c->vals[s][i];
      }
  if (isfinite(c->line)) {
    if (c->line < lo) lo = c->line;
    if (c->line > hi) hi = c->line;
  }
  if (!isfinite(lo)) lo = 0, hi = c->percent ? 1 : 1;
  double alo, ahi, step;
  axis_range(lo, hi, &alo, &ahi, &step);
  /* y of a value, clamped to the plot */
#define YPOS(v) (top + plot_h * (ahi - fmin(ahi, fmax(alo, (v)))) / (ahi - alo))

  char buf[48], buf2[48];
  sb_printf(b, "<svg class=\"chart %s\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
               "role=\"img\" aria-label=\"", c->cls, W, H, W, H);
  sb_esc(b, c->aria);
  sb_puts(b, "\">");
  /* grid and y ticks */
  for (int k = 0; k <= 64; k++) {
    double t = alo + k * step;
    if (t > ahi + step * 1e-6) break;
    if (fabs(t) < step * 1e-9) t = 0;
    double y = YPOS(t);
    sb_printf(b, "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", left, y,
              left + plot_w, y);
    sb_printf(b, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
              left - 4, y + 3.5, fmt_val(c, t, buf));
  }
  double y0 = YPOS(0);
  sb_printf(b, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", left, y0,
            left + plot_w, y0);
  /* bars */
  double bw = gw * (c->nseries == 2 ? 0.4 : 0.7);
  size_t every = n > 30 ? (n + 29) / 30 : 1; /* labels shown */
  for (size_t i = 0; i < n; i++) {
    double x0 = left + gw * (double)i;
    double xs = x0 + (gw - bw * c->nseries) / 2;
    for (int s = 0; s < c->nseries; s++) {
      double v = c->vals[s][i];
      if (!isfinite(v)) { /* no value: a mark at the axis */
        sb_printf(b, "<text class=\"na\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                     "\xE2\x80\x94<title>", xs + bw * s + bw / 2, y0 - 3);
        sb_esc_n(b, c->labels[i], 200);
        sb_puts(b, " \xE2\x80\x94 ");
        sb_esc(b, c->names[s]);
        sb_puts(b, ": no value");
        if (c->notes && c->notes[i]) {
          sb_puts(b, " (");
          sb_esc(b, c->notes[i]);
          sb_puts(b, ")");
        }
        sb_puts(b, "</title></text>");
        continue;
      }
      double y = YPOS(v);
      double ytop = v >= 0 ? y : y0, h = fabs(y - y0);
      if (h < 0.5 && v != 0) h = 0.5;
      sb_printf(b, "<rect class=\"s%d\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">", s,
                xs + bw * s, ytop, bw, h);
      sb_puts(b, "<title>");
      sb_esc_n(b, c->labels[i], 200);
      sb_puts(b, " \xE2\x80\x94 ");
      sb_esc(b, c->names[s]);
      sb_printf(b, ": %s", fmt_val(c, v, buf));
      if (c->notes && c->notes[i]) {
        sb_puts(b, " (");
        sb_esc(b, c->notes[i]);
        sb_puts(b, ")");
      }
      sb_puts(b, "</title></rect>");
    }
    if (i % every) continue;
    double xl = x0 + gw / 2, yl = top + plot_h + 12;
    if (rotate)
      sb_printf(b, "<text class=\"xl\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
                   "transform=\"rotate(-40 %.1f %.1f)\">", xl, yl, xl, yl);
    else
      sb_printf(b, "<text class=\"xl\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", xl, yl);
    sb_esc_n(b, c->labels[i], 24);
    sb_puts(b, "</text>");
  }
  /* reference line */
  if (isfinite(c->line)) {
    double y = YPOS(c->line);
    sb_printf(b, "<line class=\"overall\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\">", left,
              y, left + plot_w, y);
    sb_puts(b, "<title>");
    sb_esc(b, c->line_name ? c->line_name : "overall");
    sb_printf(b, ": %s</title></line>", fmt_val(c, c->line, buf));
  }
  /* legend */
  double lx = left;
  for (int s = 0; s < c->nseries; s++) {
    sb_printf(b, "<rect class=\"s%d\" x=\"%.1f\" y=\"8\" width=\"10\" height=\"10\"/>", s, lx);
    sb_printf(b, "<text class=\"legend\" x=\"%.1f\" y=\"17\">", lx + 14);
    sb_esc(b, c->names[s]);
    sb_puts(b, "</text>");
    lx += 24 + 7 * (double)strlen(c->names[s]);
  }
  if (isfinite(c->line)) {
    sb_printf(b, "<line class=\"overall\" x1=\"%.1f\" y1=\"13\" x2=\"%.1f\" y2=\"13\"/>", lx,
              lx + 16);
    sb_printf(b, "<text class=\"legend\" x=\"%.1f\" y=\"17\">", lx + 20);
    sb_esc(b, c->line_name ? c->line_name : "overall");
    sb_printf(b, " = %s</text>", fmt_val(c, c->line, buf2));
  }
  sb_puts(b, "</svg>");
#undef YPOS
}

/* One test case picked for a chart. */
typedef struct pick {
  const json_t *batch, *tc;
  int rank;     /* severity */
  double score; /* within a severity: larger first */
  size_t order; /* document order, the last tie-break */
} pick;

static int pick_cmp(const void *a, const void *b) {
  const pick *x = a, *y = b;
  if (x->rank != y->rank) return y->rank - x->rank;
  int xs = isfinite(x->score), ys = isfinite(y->score);
  if (xs != ys) return ys - xs;
  if (xs && x->score != y->score) return x->score < y->score ? 1 : -1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* The metrics of a case as "name = value · ..." (at most 8). */
static void put_metric_line(sb *b, const json_t *tc) {
  const json_t *m = json_object_get(tc, "metrics");
  const char *k;
  const json_t *v;
  int n = 0;
  json_object_foreach((json_t *)m, k, v) {
    if (n == 8) {
      sb_puts(b, " \xC2\xB7 \xE2\x80\xA6");
      break;
    }
    if (n++) sb_puts(b, " \xC2\xB7 ");
    sb_esc(b, k);
    sb_puts(b, " = ");
    put_value(b, v);
  }
}

/* The caption: severity, the case's features (the test's name for a case
 * without features, e.g. prediction drift), the test, its metrics. */
static void put_figcaption(sb *b, const pick *p) {
  const char *test = get_str(p->batch, "test_name") ? get_str(p->batch, "test_name")
                                                    : get_str(p->batch, "test_type");
  sb_puts(b, "<figcaption>");
  put_badge(b, get_str(p->tc, "severity"));
  sb_puts(b, " <strong>");
  put_features(b, p->tc, test ? test : "test case");
  sb_puts(b, "</strong>");
  if (test && json_array_size(json_object_get(p->tc, "features"))) {
    sb_puts(b, " <span class=\"muted\">");
    sb_esc(b, test);
    sb_puts(b, "</span>");
  }
  sb_puts(b, "<br><span class=\"metrics\">");
  put_metric_line(b, p->tc);
  sb_puts(b, "</span></figcaption>");
}

/* Collect the cases whose details satisfy `want`, sorted, in *out. */
static size_t collect(const json_t *batches, int (*want)(const json_t *details),
                      double (*score)(const json_t *tc), pick **out) {
  size_t cap = 0, n = 0, order = 0, i, j;
  pick *v = NULL;
  const json_t *batch, *tc;
  *out = NULL;
  json_array_foreach(batches, i, batch) {
    json_array_foreach(json_object_get(batch, "test_cases"), j, tc) {
      order++;
      const json_t *d = json_object_get(tc, "details");
      if (!json_is_object(d) || !want(d)) continue;
      if (n == cap) {
        size_t nc = cap ? cap * 2 : 64;
        pick *g = realloc(v, nc * sizeof *g);
        if (!g) {
          free(v);
          return (size_t)-1;
        }
        v = g;
        cap = nc;
      }
      v[n++] = (pick){batch, tc, sev_rank(get_str(tc, "severity")), score(tc), order};
    }
  }
  if (n) qsort(v, n, sizeof *v, pick_cmp);
  *out = v;
  return n;
}

static int want_drift(const json_t *d) {
  const json_t *ref = json_object_get(d, "reference"), *ev = json_object_get(d, "evaluation");
  return json_is_array(ref) && json_is_array(ev) && json_array_size(ref) + json_array_size(ev);
}

static int want_subset(const json_t *d) {
  return json_array_size(json_object_get(d, "subsets")) > 0;
}

static double score_importance(const json_t *tc) {
  return num_of(json_object_get(tc, "importance_score"));
}

static double score_subset(const json_t *tc) {
  const json_t *m = json_object_get(tc, "metrics");
  double s = num_of(json_object_get(m, "gap"));
  if (isnan(s)) s = num_of(json_object_get(m, "worst_degradation"));
  if (isnan(s)) s = score_importance(tc);
  return s;
}

/* Label, value arrays and notes of one chart (freed by chart_free). */
static int chart_alloc(chart *c, size_t n) {
  c->n = n;
  c->labels = calloc(n ? n : 1, sizeof *c->labels);
  c->notes = calloc(n ? n : 1, sizeof *c->notes);
  c->vals[0] = calloc(n ? n : 1, sizeof(double));
  c->vals[1] = calloc(n ? n : 1, sizeof(double));
  return c->labels && c->notes && c->vals[0] && c->vals[1] ? 0 : -1;
}

static void chart_free(chart *c, char **owned, size_t nowned) {
  for (size_t i = 0; i < nowned; i++) free(owned[i]);
  free(c->labels);
  free(c->notes);
  free(c->vals[0]);
  free(c->vals[1]);
}

static char *dup_label(const json_t *v) {
  char buf[48];
  return strdup(label_of(v, buf));
}

/* The reference vs evaluation distribution of one drift case. */
static int drift_figure(sb *b, const pick *p) {
  const json_t *d = json_object_get(p->tc, "details");
  const json_t *bins = json_object_get(d, "bins"), *ref = json_object_get(d, "reference"),
               *ev = json_object_get(d, "evaluation");
  size_t n = json_array_size(ref) > json_array_size(ev) ? json_array_size(ref)
                                                         : json_array_size(ev);
  size_t shown = n > MAX_BARS ? MAX_BARS : n;
  if (!shown) return 0;
  chart c = {0};
  c.cls = "drift";
  c.aria = "reference vs evaluation distribution";
  c.nseries = 2;
  c.names[0] = "reference";
  c.names[1] = "evaluation";
  c.percent = 1;
  c.line = NAN;
  char **owned = calloc(shown, sizeof *owned);
  int rc = owned && chart_alloc(&c, shown) == 0 ? 0 : -1;
  for (size_t i = 0; rc == 0 && i < shown; i++) {
    const json_t *l = json_array_get(bins, i);
    if (l) {
      owned[i] = dup_label(l);
    } else if (asprintf(&owned[i], "bin %zu", i + 1) < 0) {
      owned[i] = NULL;
    }
    if (!owned[i]) rc = -1;
    c.labels[i] = owned[i] ? owned[i] : "";
    c.vals[0][i] = num_of(json_array_get(ref, i));
    c.vals[1][i] = num_of(json_array_get(ev, i));
  }
  if (rc == 0) {
    sb_puts(b, "<figure class=\"chart\">");
    put_figcaption(b, p);
    svg_chart(b, &c);
    const char *kind = get_str(d, "kind");
    sb_puts(b, "<p class=\"note\">shares of rows per bin");
    if (kind && strcmp(kind, "numeric") == 0)
      sb_puts(b, " (reference quantile bins)");
    else if (kind && strcmp(kind, "categorical") == 0)
      sb_puts(b, " (categories)");
    if (shown < n) sb_printf(b, "; the first %zu of %zu bins", shown, n);
    sb_puts(b, "</p></figure>\n");
  }
  chart_free(&c, owned, owned ? shown : 0);
  free(owned);
  return rc;
}

/* Per-subset performance of one subset case: one bar per subset and the
 * overall value as a line (SUBSET_PERFORMANCE), or reference vs evaluation
 * bars per subset (SUBSET_PERFORMANCE_DEGRADATION). */
static int subset_figure(sb *b, const pick *p) {
  const json_t *d = json_object_get(p->tc, "details");
  const json_t *subsets = json_object_get(d, "subsets");
  size_t n = json_array_size(subsets), shown = n > MAX_BARS ? MAX_BARS : n, i;
  const json_t *s;
  int paired = 0;
  json_array_foreach(subsets, i, s) if (json_object_get(s, "evaluation") ||
                                        json_object_get(s, "reference")) paired = 1;
  chart c = {0};
  c.cls = "subset";
  c.aria = paired ? "reference vs evaluation performance per subset"
                  : "performance per subset against the overall value";
  c.nseries = paired ? 2 : 1;
  c.names[0] = paired ? "reference" : "subset";
  c.names[1] = "evaluation";
  c.line = NAN;
  if (!paired) {
    c.line = num_of(json_object_get(d, "overall"));
    if (isnan(c.line)) c.line = num_of(json_object_get(json_object_get(p->tc, "metrics"), "overall"));
    c.line_name = "overall";
  }
  char **owned = calloc(2 * shown, sizeof *owned);
  int rc = owned && chart_alloc(&c, shown) == 0 ? 0 : -1;
  for (i = 0; rc == 0 && i < shown; i++) {
    s = json_array_get(subsets, i);
    const json_t *l = json_object_get(s, "subset");
    owned[2 * i] = l ? dup_label(l) : NULL;
    if (!l && asprintf(&owned[2 * i], "subset %zu", i + 1) < 0) owned[2 * i] = NULL;
    char b1[48], b2[48];
    int r;
    if (paired)
      r = asprintf(&owned[2 * i + 1], "rows: %s reference, %s evaluation",
                   fmt_num(num_of(json_object_get(s, "ref_size")), b1),
                   fmt_num(num_of(json_object_get(s, "eval_size")), b2));
    else
      r = asprintf(&owned[2 * i + 1], "rows: %s", fmt_num(num_of(json_object_get(s, "size")), b1));
    if (r < 0) owned[2 * i + 1] = NULL;
    if (!owned[2 * i] || !owned[2 * i + 1]) rc = -1;
    c.labels[i] = owned[2 * i] ? owned[2 * i] : "";
    c.notes[i] = owned[2 * i + 1];
    c.vals[0][i] = num_of(json_object_get(s, paired ? "reference" : "value"));
    c.vals[1][i] = num_of(json_object_get(s, "evaluation"));
  }
  if (rc == 0) {
    sb_puts(b, "<figure class=\"chart\">");
    put_figcaption(b, p);
    svg_chart(b, &c);
    sb_puts(b, "<p class=\"note\">");
    sb_puts(b, paired ? "the metric on each subset of the reference and of the evaluation data"
                      : "the metric on each subset of the evaluation data; dashed: overall");
    if (shown < n) sb_printf(b, "; the first %zu of %zu subsets", shown, n);
    sb_puts(b, "</p></figure>\n");
  }
  chart_free(&c, owned, owned ? 2 * shown : 0);
  free(owned);
  return rc;
}

/* Whether any case of the batches has details satisfying `want`. */
static int has_cases(const json_t *batches, int (*want)(const json_t *details)) {
  size_t i, j;
  const json_t *batch, *tc;
  json_array_foreach(batches, i, batch) {
    json_array_foreach(json_object_get(batch, "test_cases"), j, tc) {
      const json_t *d = json_object_get(tc, "details");
      if (json_is_object(d) && want(d)) return 1;
    }
  }
  return 0;
}

/* A section of charts: the first `max` picks. */
static int chart_section(sb *b, const json_t *batches, const char *id, const char *title,
                         const char *intro, int (*want)(const json_t *),
                         double (*score)(const json_t *), int (*figure)(sb *, const pick *),
                         size_t max) {
  pick *picks = NULL;
  size_t n = collect(batches, want, score, &picks);
  if (n == (size_t)-1) return -1;
  if (n == 0) return 0;
  size_t flagged = 0;
  for (size_t i = 0; i < n; i++) flagged += picks[i].rank > 0;
  size_t shown = n < max ? n : max;
  sb_printf(b, "<section id=\"%s\"><h2>%s</h2><p>%s ", id, title, intro);
  sb_printf(b, "%zu of %zu cases with a warning or an alert; ", flagged, n);
  if (shown < n)
    sb_printf(b, "the %zu most severe are shown.</p>\n", shown);
  else
    sb_puts(b, "all are shown, the most severe first.</p>\n");
  sb_puts(b, "<div class=\"charts\">\n");
  int rc = 0;
  for (size_t i = 0; i < shown && rc == 0; i++) rc = figure(b, &picks[i]);
  sb_puts(b, "</div></section>\n");
  free(picks);
  return rc;
}

/* --- tables --------------------------------------------------------------------- */

static void put_counts_row(sb *b, const json_t *counts) {
  static const char *keys[] = {"total", "pass", "warning", "fail", "skip"};
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    sb_puts(b, "<td class=\"num\">");
    put_value(b, json_object_get(counts, keys[i]));
    sb_puts(b, "</td>");
  }
}

static void meta_row(sb *b, const char *label, const json_t *v) {
  if (!v) return;
  sb_puts(b, "<tr><th>");
  sb_esc(b, label);
  sb_puts(b, "</th><td>");
  put_value(b, v);
  sb_puts(b, "</td></tr>");
}

static void put_meta(sb *b, const json_t *run) {
  static const struct {
    const char *key, *label;
  } keys[] = {
    {"test_run_id", "Test run"},       {"name", "Name"},
    {"model_task", "Model task"},      {"project_id", "Project"},
    {"workspace_id", "Workspace"},     {"model_id", "Model"},
    {"ref_dataset_id", "Reference dataset"}, {"eval_dataset_id", "Evaluation dataset"},
    {"job_id", "Job"},                 {"created_at", "Created"},
    {"started_at", "Started"},         {"finished_at", "Finished"},
    {"duration_in_millis", "Duration (ms)"}, {"random_seed", "Random seed"},
  };
  const json_t *data = json_object_get(run, "data");
  sb_puts(b, "<section id=\"run\"><h2>Run</h2><table class=\"meta\">");
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
    meta_row(b, keys[i].label, json_object_get(run, keys[i].key));
  meta_row(b, "Reference rows", json_object_get(data, "ref_rows"));
  meta_row(b, "Evaluation rows", json_object_get(data, "eval_rows"));
  meta_row(b, "Label column", json_object_get(data, "label_col"));
  meta_row(b, "Predictions", json_object_get(data, "pred_source"));
  meta_row(b, "Classes", json_object_get(data, "class_names"));
  const json_t *features = json_object_get(data, "features");
  if (json_is_array(features)) {
    json_t *n = json_integer((json_int_t)json_array_size(features));
    meta_row(b, "Features", n);
    json_decref(n);
  }
  meta_row(b, "Categories", json_object_get(run, "categories"));
  sb_puts(b, "</table></section>\n");
}

static void put_summary(sb *b, const json_t *run) {
  const json_t *sc = json_object_get(run, "summary_counts"),
               *sev = json_object_get(run, "severity_counts"),
               *cats = json_object_get(run, "category_results"),
               *skipped = json_object_get(run, "skipped_categories");
  if (!json_is_object(sc) && !json_is_object(sev) && !json_array_size(cats) &&
      !json_array_size(skipped))
    return;
  sb_puts(b, "<section id=\"summary\"><h2>Summary</h2>\n");
  if (json_is_object(sc) || json_is_object(sev)) {
    sb_puts(b, "<div class=\"cards\">");
    static const struct {
      const char *obj, *key, *label, *cls;
    } cards[] = {
      {"summary_counts", "total", "test cases", ""},
      {"summary_counts", "pass", "passed", "pass"},
      {"summary_counts", "warning", "warnings", "warn"},
      {"summary_counts", "fail", "failed", "alert"},
      {"summary_counts", "skip", "skipped", "skip"},
      {"severity_counts", "num_alert_severity", "tests with alerts", "alert"},
      {"severity_counts", "num_warning_severity", "tests with warnings", "warn"},
      {"severity_counts", "num_pass_severity", "tests passing", "pass"},
    };
    for (size_t i = 0; i < sizeof cards / sizeof cards[0]; i++) {
      const json_t *v = json_object_get(json_object_get(run, cards[i].obj), cards[i].key);
      if (!v) continue;
      sb_printf(b, "<div class=\"card %s\"><div class=\"big\">", cards[i].cls);
      put_value(b, v);
      sb_printf(b, "</div>%s</div>", cards[i].label);
    }
    sb_puts(b, "</div>\n");
  }
  if (json_array_size(cats)) {
    sb_puts(b, "<h3>Categories</h3><table><thead><tr><th>Category</th><th>Severity</th>"
               "<th>Total</th><th>Pass</th><th>Warning</th><th>Fail</th><th>Skip</th>"
               "<th>Failing tests</th><th>Duration (ms)</th></tr></thead><tbody>");
    size_t i;
    const json_t *c;
    json_array_foreach(cats, i, c) {
      sb_puts(b, "<tr><td>");
      put_category(b, get_str(c, "category"));
      sb_puts(b, "</td><td>");
      put_badge(b, get_str(c, "severity"));
      sb_puts(b, "</td>");
      put_counts_row(b, json_object_get(c, "summary_counts"));
      sb_puts(b, "<td>");
      put_value(b, json_object_get(c, "failing_test_types"));
      sb_puts(b, "</td><td class=\"num\">");
      put_value(b, json_object_get(c, "duration_in_millis"));
      sb_puts(b, "</td></tr>");
    }
    sb_puts(b, "</tbody></table>\n");
  }
  if (json_array_size(skipped)) {
    sb_puts(b, "<h3>Categories not run</h3><ul>");
    size_t i;
    const json_t *s;
    json_array_foreach(skipped, i, s) {
      sb_puts(b, "<li>");
      if (json_is_object(s)) {
        put_category(b, get_str(s, "category"));
        if (json_object_get(s, "reason")) {
          sb_puts(b, ": ");
          put_value(b, json_object_get(s, "reason"));
        }
      } else {
        put_value(b, s);
      }
      sb_puts(b, "</li>");
    }
    sb_puts(b, "</ul>\n");
  }
  sb_puts(b, "</section>\n");
}

/* One batch: <details> with its summary line, description, batch metrics and
 * a table of its cases (one column per metric name seen in the cases). */
static int put_batch(sb *b, const json_t *batch) {
  const char *type = get_str(batch, "test_type"), *name = get_str(batch, "test_name");
  const json_t *cases = json_object_get(batch, "test_cases");
  const json_t *counts = json_object_get(batch, "summary_counts");
  sb_puts(b, "<details class=\"batch\"><summary>");
  put_badge(b, get_str(batch, "severity"));
  sb_puts(b, " <strong>");
  sb_esc(b, name ? name : type ? type : "test");
  sb_puts(b, "</strong>");
  if (type && name) {
    sb_puts(b, " <code>");
    sb_esc(b, type);
    sb_puts(b, "</code>");
  }
  if (json_is_object(counts)) {
    char b1[48], b2[48], b3[48], b4[48];
    sb_printf(b, " <span class=\"muted\">%s cases: %s fail, %s warning, %s skip</span>",
              fmt_num(num_of(json_object_get(counts, "total")), b1),
              fmt_num(num_of(json_object_get(counts, "fail")), b2),
              fmt_num(num_of(json_object_get(counts, "warning")), b3),
              fmt_num(num_of(json_object_get(counts, "skip")), b4));
  }
  sb_puts(b, "</summary>\n");
  if (get_str(batch, "description")) {
    sb_puts(b, "<p>");
    sb_esc(b, get_str(batch, "description"));
    sb_puts(b, "</p>");
  }
  if (json_array_size(json_object_get(batch, "failing_features"))) {
    sb_puts(b, "<p><strong>Failing features:</strong> ");
    put_value(b, json_object_get(batch, "failing_features"));
    sb_puts(b, "</p>");
  }
  const json_t *bm = json_object_get(batch, "metrics");
  if (json_object_size(bm) || json_object_get(batch, "duration_in_millis")) {
    sb_puts(b, "<p class=\"metrics\">");
    const char *k;
    const json_t *v;
    int n = 0;
    json_object_foreach((json_t *)bm, k, v) {
      if (n++) sb_puts(b, " \xC2\xB7 ");
      sb_esc(b, k);
      sb_puts(b, " = ");
      put_value(b, v);
    }
    if (json_object_get(batch, "duration_in_millis")) {
      if (n) sb_puts(b, " \xC2\xB7 ");
      sb_puts(b, "duration = ");
      put_value(b, json_object_get(batch, "duration_in_millis"));
      sb_puts(b, " ms");
    }
    sb_puts(b, "</p>");
  }
  if (!json_array_size(cases)) {
    sb_puts(b, "<p class=\"muted\">No test cases.</p></details>\n");
    return 0;
  }
  /* metric columns: every name seen, in order of first appearance */
  json_t *cols = json_array(), *seen = json_object();
  if (!cols || !seen) {
    json_decref(cols);
    json_decref(seen);
    return -1;
  }
  size_t i, extra = 0;
  int any_skip = 0, any_importance = 0;
  const json_t *tc;
  json_array_foreach(cases, i, tc) {
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)json_object_get(tc, "metrics"), k, v) {
      if (json_object_get(seen, k)) continue;
      if (json_array_size(cols) >= MAX_METRIC_COLUMNS) {
        extra = 1;
        continue;
      }
      if (json_object_set_new(seen, k, json_true()) || json_array_append_new(cols, json_string(k))) {
        json_decref(cols);
        json_decref(seen);
        return -1;
      }
    }
    if (json_object_get(tc, "skip_reason")) any_skip = 1;
    if (json_object_get(tc, "importance_score")) any_importance = 1;
  }
  sb_puts(b, "<div class=\"scroll\"><table class=\"cases\"><thead><tr><th>Features</th>"
             "<th>Status</th><th>Severity</th>");
  if (any_importance) sb_puts(b, "<th>Importance</th>");
  const json_t *col;
  json_array_foreach(cols, i, col) {
    sb_puts(b, "<th>");
    sb_esc(b, json_string_value(col));
    sb_puts(b, "</th>");
  }
  if (any_skip) sb_puts(b, "<th>Skip reason</th>");
  sb_puts(b, "</tr></thead><tbody>\n");
  json_array_foreach(cases, i, tc) {
    const json_t *m = json_object_get(tc, "metrics");
    sb_puts(b, "<tr><td>");
    put_features(b, tc, NULL);
    sb_puts(b, "</td><td>");
    put_badge(b, get_str(tc, "status"));
    sb_puts(b, "</td><td>");
    put_badge(b, get_str(tc, "severity"));
    sb_puts(b, "</td>");
    if (any_importance) {
      sb_puts(b, "<td class=\"num\">");
      put_value(b, json_object_get(tc, "importance_score"));
      sb_puts(b, "</td>");
    }
    size_t j;
    json_array_foreach(cols, j, col) {
      sb_puts(b, "<td class=\"num\">");
      put_value(b, json_object_get(m, json_string_value(col)));
      sb_puts(b, "</td>");
    }
    if (any_skip) {
      sb_puts(b, "<td>");
      if (json_object_get(tc, "skip_reason")) put_value(b, json_object_get(tc, "skip_reason"));
      sb_puts(b, "</td>");
    }
    sb_puts(b, "</tr>\n");
  }
  sb_puts(b, "</tbody></table></div>");
  if (extra)
    sb_printf(b, "<p class=\"note\">More metrics than the %d columns shown.</p>",
              MAX_METRIC_COLUMNS);
  sb_puts(b, "</details>\n");
  json_decref(cols);
  json_decref(seen);
  return 0;
}

/* Every batch, grouped by category in order of first appearance. */
static int put_batches(sb *b, const json_t *batches) {
  if (!json_array_size(batches)) return 0;
  sb_puts(b, "<section id=\"batches\"><h2>Test batches</h2>\n");
  size_t i, j;
  const json_t *batch, *other;
  int rc = 0;
  json_array_foreach(batches, i, batch) {
    const char *cat = get_str(batch, "category");
    int first = 1; /* the first batch of its category: it opens the group */
    for (j = 0; j < i && first; j++) {
      const char *oc = get_str(json_array_get(batches, j), "category");
      if ((!cat && !oc) || (cat && oc && strcmp(cat, oc) == 0)) first = 0;
    }
    if (!first) continue;
    sb_puts(b, "<h3>");
    put_category(b, cat);
    sb_puts(b, "</h3>\n");
    json_array_foreach(batches, j, other) {
      if (j < i) continue;
      const char *oc = get_str(other, "category");
      if (!((!cat && !oc) || (cat && oc && strcmp(cat, oc) == 0))) continue;
      if ((rc = put_batch(b, other)) != 0) return rc;
    }
  }
  sb_puts(b, "</section>\n");
  return rc;
}

static void put_features_table(sb *b, const json_t *features) {
  if (!json_array_size(features)) return;
  sb_printf(b, "<section id=\"features\"><details><summary><h2 class=\"inline\">Features "
               "(%zu)</h2></summary><table><thead><tr><th>Name</th><th>Type</th>"
               "<th>In model</th><th>Protected</th></tr></thead><tbody>",
            json_array_size(features));
  size_t i;
  const json_t *f;
  json_array_foreach(features, i, f) {
    sb_puts(b, "<tr><td>");
    put_value(b, json_is_object(f) ? json_object_get(f, "name") : f);
    sb_puts(b, "</td><td>");
    put_value(b, json_object_get(f, "type"));
    sb_puts(b, "</td><td>");
    put_value(b, json_object_get(f, "in_model"));
    sb_puts(b, "</td><td>");
    put_value(b, json_object_get(f, "protected"));
    sb_puts(b, "</td></tr>");
  }
  sb_puts(b, "</tbody></table></details></section>\n");
}

/* --- the document ------------------------------------------------------------------ */

static const char CSS[] =
  ":root{--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#fff;--alt:#f6f8fa}"
  "body{font:14px/1.45 -apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:var(--fg);"
  "background:var(--bg);margin:0 auto;max-width:1200px;padding:16px 24px}"
  "h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;margin:28px 0 8px;"
  "border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}"
  "h2.inline{display:inline;border:0}nav a{margin-right:14px}"
  "table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid var(--line);"
  "padding:3px 8px;text-align:left;vertical-align:top}thead th{background:var(--alt)}"
  "td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
  "table.meta th{background:var(--alt);font-weight:600}"
  ".scroll{overflow-x:auto}.muted{color:var(--muted)}.note{color:var(--muted);font-size:12px;"
  "margin:2px 0}.metrics{font-size:12px;color:var(--muted)}"
  ".badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;font-weight:600;"
  "background:#eaeef2;color:#424a53}.badge.alert{background:#ffebe9;color:#cf222e}"
  ".badge.warn{background:#fff8c5;color:#9a6700}.badge.pass{background:#dafbe1;color:#1a7f37}"
  ".badge.skip{background:#eaeef2;color:#656d76}"
  ".cards{display:flex;flex-wrap:wrap;gap:10px}.card{border:1px solid var(--line);"
  "border-radius:6px;padding:8px 14px;min-width:90px;color:var(--muted)}"
  ".card .big{font-size:22px;font-weight:600;color:var(--fg)}.card.alert .big{color:#cf222e}"
  ".card.warn .big{color:#9a6700}.card.pass .big{color:#1a7f37}"
  ".charts{display:flex;flex-wrap:wrap;gap:16px}"
  "figure.chart{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px;"
  "max-width:100%;overflow-x:auto}figcaption{margin-bottom:4px}"
  "svg.chart{display:block;font-size:11px}svg .grid{stroke:#eaeef2}svg .axis{stroke:#8c959f}"
  "svg .tick,svg .xl,svg .na{fill:#656d76;font-size:10px}svg .legend{fill:#1f2328;font-size:11px}"
  "svg .s0{fill:#4c78a8}svg .s1{fill:#f58518}"
  "svg .overall{stroke:#cf222e;stroke-width:1.5;stroke-dasharray:5 3}"
  "details.batch{border:1px solid var(--line);border-radius:6px;padding:4px 10px;"
  "margin:6px 0}details.batch>summary{cursor:pointer}"
  "table.cases{font-size:12px}code{font-size:12px;background:var(--alt);padding:0 4px;"
  "border-radius:4px}footer{margin:32px 0 8px;color:var(--muted);font-size:12px}"
  "@media print{details.batch{break-inside:avoid}}";

int report_html(const json_t *run, char **out) {
  if (!out) return assay__err(ASSAY_ERR_CONFIG, "report_html: no output pointer");
  *out = NULL;
  if (!json_is_object(run))
    return assay__err(ASSAY_ERR_CONFIG,
                      "report: the test run document is not a JSON object; expected the "
                      "document of GET /v1/test-runs/{id}/document");
  sb b = {0};
  const char *name = get_str(run, "name"), *id = get_str(run, "test_run_id");
  const json_t *batches = json_object_get(run, "test_batches");
  if (!json_is_array(batches)) batches = NULL;

  /* The report needs nothing but its inline <style>: the policy forbids
   * every fetch, script, form and base URL, so that text that escaped
   * escaping still could not load or run anything. */
  sb_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta http-equiv=\"Content-Security-Policy\" content=\"" REPORT_CSP "\">"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
              "<meta name=\"generator\" content=\"assay ");
  sb_esc(&b, assay_version());
  sb_puts(&b, "\"><title>Stress test report");
  if (name || id) {
    sb_puts(&b, ": ");
    sb_esc(&b, name ? name : id);
  }
  sb_printf(&b, "</title><style>%s</style></head>\n<body>\n<header><h1>Stress test report", CSS);
  if (name || id) {
    sb_puts(&b, ": ");
    sb_esc(&b, name ? name : id);
  }
  sb_puts(&b, "</h1>");
  const json_t *sev = json_object_get(run, "severity_counts");
  if (json_is_object(sev)) {
    const char *worst = num_of(json_object_get(sev, "num_alert_severity")) > 0 ? "SEVERITY_ALERT"
                      : num_of(json_object_get(sev, "num_warning_severity")) > 0
                        ? "SEVERITY_WARNING"
                        : "SEVERITY_PASS";
    sb_puts(&b, "<p>Overall: ");
    put_badge(&b, worst);
    sb_puts(&b, "</p>");
  }
  /* links to the sections this report has */
  sb_puts(&b, "<nav><a href=\"#run\">Run</a>");
  if (json_is_object(json_object_get(run, "summary_counts")) || json_is_object(sev) ||
      json_array_size(json_object_get(run, "category_results")) ||
      json_array_size(json_object_get(run, "skipped_categories")))
    sb_puts(&b, "<a href=\"#summary\">Summary</a>");
  if (batches && has_cases(batches, want_drift))
    sb_puts(&b, "<a href=\"#drift\">Distributions</a>");
  if (batches && has_cases(batches, want_subset))
    sb_puts(&b, "<a href=\"#subsets\">Subsets</a>");
  if (json_array_size(batches)) sb_puts(&b, "<a href=\"#batches\">Test batches</a>");
  if (json_array_size(json_object_get(json_object_get(run, "data"), "features")))
    sb_puts(&b, "<a href=\"#features\">Features</a>");
  sb_puts(&b, "</nav></header>\n<main>\n");
  put_meta(&b, run);
  put_summary(&b, run);
  int rc = 0;
  if (batches) {
    rc = chart_section(&b, batches, "drift", "Feature distributions: reference vs evaluation",
                       "Shares of rows per bin (numeric: reference quantile bins; categorical: "
                       "categories) for the drift test cases;",
                       want_drift, score_importance, drift_figure, MAX_DRIFT_CHARTS);
    if (rc == 0)
      rc = chart_section(&b, batches, "subsets", "Subset performance",
                         "The model's metric on each subset of a feature (numeric: reference "
                         "quantile bins; categorical: values) for the subset test cases;",
                         want_subset, score_subset, subset_figure, MAX_SUBSET_CHARTS);
    if (rc == 0) rc = put_batches(&b, batches);
  }
  put_features_table(&b, json_object_get(json_object_get(run, "data"), "features"));
  sb_puts(&b, "</main>\n<footer>Generated by assay ");
  sb_esc(&b, assay_version());
  sb_puts(&b, " from the test run document; self-contained, no script.</footer>\n"
              "</body></html>\n");
  if (rc != 0 || b.oom || !b.p) {
    free(b.p);
    return assay__nomem();
  }
  *out = b.p;
  return ASSAY_OK;
}

int assay__write_file_atomic(const char *path, const char *text, size_t len) {
  char *tmp = NULL;
  if (asprintf(&tmp, "%s.XXXXXX", path) < 0) return -1;
  int fd = mkostemp(tmp, O_CLOEXEC); /* beside path, so the rename stays in one file system */
  if (fd < 0) {
    int err = errno;
    free(tmp);
    return err ? err : EIO;
  }
  size_t done = 0;
  int ok = fchmod(fd, 0644) == 0;
  while (ok && done < len) {
    ssize_t n = write(fd, text + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = 0;
    else done += (size_t)n;
  }
  int err = ok ? 0 : errno;
  if (ok && fsync(fd) != 0) ok = 0, err = errno;
  if (close(fd) != 0 && ok) ok = 0, err = errno;
  if (ok && rename(tmp, path) != 0) ok = 0, err = errno;
  if (!ok) unlink(tmp);
  free(tmp);
  return ok ? 0 : err ? err : EIO;
}

int report_write(const json_t *run, const char *path) {
  if (!path || !*path) return assay__err(ASSAY_ERR_CONFIG, "report: no output path given");
  char *html = NULL;
  int rc = report_html(run, &html);
  if (rc) return rc;
  int err = assay__write_file_atomic(path, html, strlen(html));
  free(html);
  if (err < 0) return assay__nomem();
  if (err) return assay__err(ASSAY_ERR_CONFIG, "report: cannot write %s: %s", path, strerror(err));
  return ASSAY_OK;
}

int assay__debug_report(const char *document_path, const char *out_path) {
  if (!document_path || !*document_path)
    return assay__err(ASSAY_ERR_CONFIG, "report: no document file given");
  json_error_t err;
  json_t *doc = strcmp(document_path, "-") == 0 ? json_loadf(stdin, 0, &err)
                                                : json_load_file(document_path, 0, &err);
  if (!doc)
    return assay__err(ASSAY_ERR_CONFIG,
                      "report: %s is not a readable JSON file (%s, line %d); expected a test "
                      "run document",
                      strcmp(document_path, "-") == 0 ? "(stdin)" : document_path, err.text,
                      err.line);
  int rc = report_write(doc, out_path);
  json_decref(doc);
  return rc;
}
