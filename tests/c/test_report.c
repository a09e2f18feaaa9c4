/* test_report.c — the HTML report of a test run document (report_html,
 * report_write, assay__debug_report): escaping of every text from the
 * document, one chart per drift / subset case (the most severe first, at
 * most 30 / 20), self-containment (no script, no URL), number formatting,
 * and documents with missing or odd parts. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "report/report.h"
#include "test_support.h"

/* A document parsed from printf-formatted JSON. */
ASSAY_PRINTF(1, 2)
static json_t *doc_f(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *text = test_format_v(fmt, ap);
  va_end(ap);
  json_error_t err;
  json_t *j = json_loads(text, 0, &err);
  if (!j) {
    fprintf(stderr, "bad test JSON (%s): %s\n", err.text, text);
    abort();
  }
  free(text);
  return j;
}

static size_t count(const char *hay, const char *needle) {
  size_t n = 0, len = strlen(needle);
  for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle)) n++;
  return n;
}

__attribute__((noinline)) static char *html_of(const json_t *doc) {
  char *html = NULL;
  assert_int_equal(report_html(doc, &html), ASSAY_OK);
  assert_non_null(html);
  return html;
}

#define CSP_META                                                                   \
  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "       \
  "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">"

/* No script, no URL, no external resource of any kind; the head's
 * Content-Security-Policy (before the style sheet) allows nothing else. */
static void assert_self_contained(const char *html) {
  const char *csp = strstr(html, CSP_META), *style = strstr(html, "<style>");
  if (!csp) fail_msg("no Content-Security-Policy meta tag");
  assert_int_equal(count(html, "Content-Security-Policy"), 1);
  assert_non_null(style);
  assert_true(csp < style);
  assert_true(csp < strstr(html, "</head>"));
  assert_null(strcasestr(html, "data:"));
  assert_null(strcasestr(html, "<script"));
  assert_null(strcasestr(html, "http://"));
  assert_null(strcasestr(html, "https://"));
  assert_null(strcasestr(html, "url("));
  assert_null(strcasestr(html, "@import"));
  assert_null(strcasestr(html, "<img"));
  assert_null(strcasestr(html, "<link"));
  assert_null(strcasestr(html, "<iframe"));
}

/* Elements that must be closed: as many openings as closings. */
static void assert_balanced(const char *html) {
  static const char *tags[] = {"svg", "details", "table", "section", "figure", "tr", "td",
                               "th", "text", "title", "p", "summary", "html", "body", "style"};
  for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
    char open1[32], open2[32], close[32];
    snprintf(open1, sizeof open1, "<%s>", tags[i]);
    snprintf(open2, sizeof open2, "<%s ", tags[i]);
    snprintf(close, sizeof close, "</%s>", tags[i]);
    size_t o = count(html, open1) + count(html, open2), c = count(html, close);
    if (o != c) fail_msg("<%s>: %zu opened, %zu closed", tags[i], o, c);
  }
}

#define HOSTILE "a<b&\\\"c'</td><script>alert(1)</script>"
#define HOSTILE_ESC "a&lt;b&amp;&quot;c&#39;&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;"

static json_t *full_document(void) {
  return doc_f(
    "{\"test_run_id\": \"run-1\", \"name\": \"nightly <run> & co\","
    " \"project_id\": \"p1\", \"model_id\": \"m1\", \"model_task\":"
    " \"MODEL_TASK_BINARY_CLASSIFICATION\", \"created_at\": \"2026-01-02T03:04:05Z\","
    " \"duration_in_millis\": 1234, \"random_seed\": 42,"
    " \"categories\": [\"TEST_CATEGORY_TYPE_DRIFT\", \"TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE\"],"
    " \"skipped_categories\": [{\"category\": \"TEST_CATEGORY_TYPE_TRANSFORMATIONS\","
    "   \"reason\": \"not <implemented>\"}],"
    " \"data\": {\"ref_rows\": 1000, \"eval_rows\": 900, \"label_col\": \"label\","
    "   \"pred_source\": \"pred_col\", \"features\": [{\"name\": \"" HOSTILE "\","
    "   \"type\": \"numeric\", \"in_model\": true, \"protected\": false}]},"
    " \"summary_counts\": {\"total\": 9, \"pass\": 3, \"warning\": 2, \"fail\": 3, \"skip\": 1},"
    " \"severity_counts\": {\"num_pass_severity\": 1, \"num_warning_severity\": 0,"
    "   \"num_alert_severity\": 2},"
    " \"category_results\": [{\"category\": \"TEST_CATEGORY_TYPE_DRIFT\","
    "   \"severity\": \"SEVERITY_ALERT\", \"summary_counts\": {\"total\": 5, \"pass\": 1,"
    "   \"warning\": 1, \"fail\": 2, \"skip\": 1}, \"test_types\": [\"numeric_feature_drift\"],"
    "   \"failing_test_types\": [\"numeric_feature_drift\"], \"duration_in_millis\": 7}],"
    " \"test_batches\": ["
    "  {\"test_type\": \"numeric_feature_drift\", \"test_name\": \"Numeric Feature Drift\","
    "   \"category\": \"TEST_CATEGORY_TYPE_DRIFT\", \"description\": \"PSI <of> bins\","
    "   \"severity\": \"SEVERITY_ALERT\", \"failing_features\": [\"" HOSTILE "\"],"
    "   \"summary_counts\": {\"total\": 4, \"pass\": 1, \"warning\": 1, \"fail\": 1, \"skip\": 1},"
    "   \"metrics\": {\"num_drifted\": 2, \"share_drifted\": 0.6666666666},"
    "   \"test_cases\": ["
    "    {\"features\": [\"quiet_one\"], \"status\": \"TEST_CASE_STATUS_PASS\","
    "     \"severity\": \"SEVERITY_PASS\", \"importance_score\": 0.01,"
    "     \"metrics\": {\"psi\": 0.0123456789, \"ref_rows\": 1000, \"eval_rows\": 900},"
    "     \"details\": {\"kind\": \"numeric\", \"bins\": [\"(-inf, 1]\", \"(1, inf)\"],"
    "      \"reference\": [0.5, 0.5], \"evaluation\": [0.49, 0.51]}},"
    "    {\"features\": [\"" HOSTILE "\"], \"status\": \"TEST_CASE_STATUS_FAIL\","
    "     \"severity\": \"SEVERITY_ALERT\", \"importance_score\": 0.9,"
    "     \"metrics\": {\"psi\": 1234567.0, \"ref_rows\": 1000, \"eval_rows\": null},"
    "     \"details\": {\"kind\": \"numeric\", \"bins\": [\"(-inf, 1.5]\", \"<bin&2>\","
    "      \"(2.25, inf)\"], \"reference\": [0.3, 0.3, 0.4], \"evaluation\": [0.1, 0.2, 0.7]}},"
    "    {\"features\": [\"warn_feature\"], \"status\": \"TEST_CASE_STATUS_WARNING\","
    "     \"severity\": \"SEVERITY_WARNING\", \"importance_score\": 0.3,"
    "     \"metrics\": {\"psi\": 0.25, \"statistic_used\": \"psi\"},"
    "     \"details\": {\"kind\": \"numeric\", \"bins\": [\"a\", \"b\"],"
    "      \"reference\": [0.5, 0.5], \"evaluation\": [0.2, 0.8]}},"
    "    {\"features\": [\"skipped_one\"], \"status\": \"TEST_CASE_STATUS_SKIP\","
    "     \"severity\": \"SEVERITY_PASS\", \"metrics\": {},"
    "     \"skip_reason\": \"constant <column>\"}]},"
    "  {\"test_type\": \"categorical_feature_drift\", \"category\": \"TEST_CATEGORY_TYPE_DRIFT\","
    "   \"severity\": \"SEVERITY_ALERT\", \"test_cases\": ["
    "    {\"features\": [\"colour\"], \"status\": \"TEST_CASE_STATUS_FAIL\","
    "     \"severity\": \"SEVERITY_ALERT\", \"metrics\": {\"psi\": 2.5},"
    "     \"details\": {\"kind\": \"categorical\", \"bins\": [\"<img src=x onerror=alert(1)>\","
    "      \"blue\", \"other\"], \"reference\": [0.2, 0.7, 0.1], \"evaluation\": [0.6, 0.3, 0.1]}}]},"
    "  {\"test_type\": \"prediction_drift\", \"test_name\": \"Prediction Drift\","
    "   \"category\": \"TEST_CATEGORY_TYPE_DRIFT\", \"test_cases\": [{\"features\": [],"
    "    \"severity\": \"SEVERITY_PASS\", \"metrics\": {\"psi\": 0.001},"
    "    \"details\": {\"bins\": [\"lo\", \"hi\"], \"reference\": [0.5, 0.5],"
    "     \"evaluation\": [0.5, 0.5]}}]},"
    "  {\"test_type\": \"subset_accuracy\", \"test_name\": \"Subset Accuracy\","
    "   \"category\": \"TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE\", \"severity\": \"SEVERITY_WARNING\","
    "   \"test_cases\": ["
    "    {\"features\": [\"x\"], \"status\": \"TEST_CASE_STATUS_WARNING\","
    "     \"severity\": \"SEVERITY_WARNING\", \"metrics\": {\"overall\": 0.8,"
    "     \"worst_subset_value\": 0.7, \"gap\": 0.1, \"num_subsets\": 3},"
    "     \"details\": {\"overall\": 0.8, \"subsets\": [{\"subset\": \"(-inf, 1.5]\", \"size\": 40,"
    "      \"value\": 0.9}, {\"subset\": \"(1.5, inf)\", \"size\": 50, \"value\": 0.7},"
    "      {\"subset\": \"null\", \"size\": 3, \"value\": null}]}}]},"
    "  {\"test_type\": \"subset_accuracy_degradation\","
    "   \"category\": \"TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE_DEGRADATION\","
    "   \"severity\": \"SEVERITY_PASS\", \"test_cases\": ["
    "    {\"features\": [\"x\"], \"status\": \"TEST_CASE_STATUS_PASS\","
    "     \"severity\": \"SEVERITY_PASS\", \"metrics\": {\"worst_degradation\": 0.01,"
    "     \"worst_subset\": 1, \"num_subsets\": 2},"
    "     \"details\": {\"subsets\": [{\"subset\": \"a\", \"ref_size\": 30, \"eval_size\": 31,"
    "      \"reference\": 0.8, \"evaluation\": 0.79}, {\"subset\": \"b\", \"ref_size\": 30,"
    "      \"eval_size\": 20, \"reference\": -0.5, \"evaluation\": 0.2}]}}]},"
    "  {\"test_type\": \"accuracy\", \"category\": \"TEST_CATEGORY_TYPE_MODEL_PERFORMANCE\","
    "   \"severity\": \"SEVERITY_PASS\", \"test_cases\": []}]}");
}

static void escapes_and_charts(void **state) {
  (void)state;
  json_t *doc = full_document();
  char *html = html_of(doc);
  assert_self_contained(html);
  assert_balanced(html);
  assert_true(strncmp(html, "<!DOCTYPE html>", 15) == 0);
  assert_non_null(strstr(html, "</html>\n"));

  /* every text from the document is escaped */
  assert_null(strstr(html, "a<b&"));
  assert_null(strstr(html, "<run>"));
  assert_null(strstr(html, "<bin&2>"));
  assert_null(strstr(html, "<of>"));
  assert_null(strstr(html, "<column>"));
  assert_null(strstr(html, "<implemented>"));
  assert_true(count(html, HOSTILE_ESC) >= 4); /* chart caption, case row, failing, features */
  assert_non_null(strstr(html, "nightly &lt;run&gt; &amp; co"));
  assert_non_null(strstr(html, "&lt;bin&amp;2&gt;"));
  assert_non_null(strstr(html, "&lt;img src=x onerror=alert(1)&gt;"));
  assert_non_null(strstr(html, "constant &lt;column&gt;"));
  assert_non_null(strstr(html, "not &lt;implemented&gt;"));

  /* one chart per drift case with a distribution, the most severe first */
  assert_int_equal(count(html, "<svg class=\"chart drift\""), 5);
  /* a case without features is captioned by its test, once */
  assert_non_null(strstr(html, "<strong>Prediction Drift</strong><br>"));
  assert_int_equal(count(html, "<svg class=\"chart subset\""), 2);
  const char *alert = strstr(html, "<strong>" HOSTILE_ESC "</strong>");
  const char *colour = strstr(html, "<strong>colour</strong>");
  const char *warn = strstr(html, "<strong>warn_feature</strong>");
  const char *quiet = strstr(html, "<strong>quiet_one</strong>");
  assert_non_null(alert);
  assert_non_null(colour);
  assert_non_null(warn);
  assert_non_null(quiet);
  assert_true(alert < colour); /* two alerts: by importance, then document order */
  assert_true(colour < warn);
  assert_true(warn < quiet);
  /* three bins x two series in the alert's chart: six bars with tooltips */
  const char *svg = strstr(alert, "<svg"), *end = strstr(svg, "</svg>");
  size_t bars = 0;
  for (const char *p = strstr(svg, "<rect class=\"s"); p && p < end;
       p = strstr(p + 1, "<rect class=\"s"))
    bars += strstr(p, "<title>") == strchr(p, '>') + 1;
  assert_int_equal(bars, 6);
  /* the subset chart's overall line */
  assert_non_null(strstr(html, "<line class=\"overall\""));
  assert_non_null(strstr(html, "overall: 0.8</title>"));

  /* numbers: %.4g, integers in full, null as a dash */
  assert_non_null(strstr(html, ">0.01235<"));
  assert_non_null(strstr(html, ">1234567<"));
  assert_non_null(strstr(html, "share_drifted = 0.6667"));
  assert_non_null(strstr(html, ">\xE2\x80\x94<")); /* eval_rows null */
  assert_non_null(strstr(html, ">psi<"));          /* a string metric */

  /* summary, categories, batches (collapsible) and metadata */
  assert_non_null(strstr(html, "<span class=\"badge alert\">ALERT</span>"));
  assert_non_null(strstr(html, ">DRIFT<"));
  assert_int_equal(count(html, "<details class=\"batch\">"), 6);
  assert_non_null(strstr(html, "No test cases."));
  assert_non_null(strstr(html, "2026-01-02T03:04:05Z"));
  assert_non_null(strstr(html, "MODEL_TASK_BINARY_CLASSIFICATION"));
  free(html);
  json_decref(doc);
}

/* More drift cases than charts: the 30 shown are the most severe. */
static void at_most_thirty_drift_charts(void **state) {
  (void)state;
  json_t *cases = json_array();
  for (int i = 0; i < 45; i++) {
    int alert = i >= 40; /* the alerts come last in the document */
    json_t *tc = doc_f("{\"features\": [\"f%02d\"], \"severity\": \"%s\", \"metrics\":"
                       " {\"psi\": %g}, \"details\": {\"bins\": [\"lo\", \"hi\"],"
                       " \"reference\": [0.5, 0.5], \"evaluation\": [0.4, 0.6]}}",
                       i, alert ? "SEVERITY_ALERT" : "SEVERITY_PASS", i / 100.0);
    json_array_append_new(cases, tc);
  }
  json_t *doc = doc_f("{\"test_batches\": [{\"test_type\": \"numeric_feature_drift\"}]}");
  json_object_set_new(json_array_get(json_object_get(doc, "test_batches"), 0), "test_cases", cases);
  char *html = html_of(doc);
  assert_int_equal(count(html, "<svg class=\"chart drift\""), 30);
  for (int i = 40; i < 45; i++) {
    char caption[64];
    snprintf(caption, sizeof caption, "<strong>f%02d</strong>", i);
    assert_non_null(strstr(html, caption));
  }
  assert_non_null(strstr(html, "5 of 45 cases with a warning or an alert"));
  assert_non_null(strstr(html, "the 30 most severe are shown"));
  /* all 45 cases are still in the batch's table */
  assert_int_equal(count(html, "<tr><td>f"), 45);
  assert_self_contained(html);
  assert_balanced(html);
  free(html);
  json_decref(doc);
}

/* Documents with parts missing or of the wrong type give a report. */
static void tolerant_of_missing_keys(void **state) {
  (void)state;
  static const char *docs[] = {
    "{}",
    "{\"test_batches\": null, \"summary_counts\": 3, \"data\": []}",
    "{\"test_batches\": [{}], \"category_results\": [{}, 1, null]}",
    "{\"test_batches\": [1, \"x\", null, {\"test_cases\": null}, {\"test_cases\": [1, {}]}]}",
    "{\"test_batches\": [{\"test_cases\": [{\"details\": {\"reference\": \"x\"}},"
    " {\"details\": {\"reference\": [], \"evaluation\": []}},"
    " {\"details\": {\"reference\": [0.1, \"x\", null], \"evaluation\": [0.2]}},"
    " {\"details\": {\"bins\": [1.5, null, true], \"reference\": [1e300, -1, 0],"
    "  \"evaluation\": [0, 0, 0]}},"
    " {\"details\": {\"reference\": [1.7e308, -1.7e308], \"evaluation\": [1e-320, 0]}},"
    " {\"details\": {\"subsets\": [1, null, {}]}, \"metrics\": null},"
    " {\"details\": {\"subsets\": [{\"subset\": \"s\", \"value\": -3}], \"overall\": \"x\"}},"
    " {\"details\": {\"subsets\": []}, \"features\": \"not a list\", \"severity\": 7},"
    " {\"severity\": \"SEVERITY_<b>\", \"status\": \"<i>\", \"metrics\": {\"m\": [1, {\"a\": "
    "  \"<x>\"}], \"n\": {\"k\": \"<y>\"}, \"t\": true}}]}],"
    " \"skipped_categories\": [\"<z>\", {}], \"data\": {\"features\": [\"<f>\", 1, {}]}}",
  };
  for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
    json_t *doc = doc_f("%s", docs[i]);
    char *html = html_of(doc);
    assert_self_contained(html);
    assert_balanced(html);
    assert_non_null(strstr(html, "</html>"));
    assert_null(strstr(html, "<b>"));
    assert_null(strstr(html, "<i>"));
    assert_null(strstr(html, "<x>"));
    assert_null(strstr(html, "<y>"));
    assert_null(strstr(html, "<z>"));
    assert_null(strstr(html, "<f>"));
    if (i == 4) {
      /* charts for the cases with usable distributions and subsets */
      assert_int_equal(count(html, "<svg class=\"chart drift\""), 3);
      assert_null(strstr(html, "nan"));
      assert_null(strstr(html, "inf\""));
      assert_int_equal(count(html, "<svg class=\"chart subset\""), 2);
      assert_non_null(strstr(html, "SEVERITY_&lt;b&gt;"));
    }
    free(html);
    json_decref(doc);
  }
  /* not a document */
  char *html = (char *)"untouched";
  json_t *arr = json_array();
  assert_int_equal(report_html(arr, &html), ASSAY_ERR_CONFIG);
  assert_null(html);
  assert_int_equal(report_html(NULL, &html), ASSAY_ERR_CONFIG);
  assert_non_null(strstr(assay_error_last()->message, "not a JSON object"));
  json_decref(arr);
}

/* Unicode bidi controls (U+202A..U+202E, U+2066..U+2069) and C1 controls
 * in any text become U+FFFD — in titles, headings, tables and the cut
 * axis labels alike — while other characters (the LRM mark U+200E, é)
 * stay. */
static void bidi_controls(void **state) {
  (void)state;
  /* U+202E RLO, U+2066 LRI, U+2069 PDI, U+202A LRE, U+0085 NEL, U+200E LRM */
  const char *name = "run \xe2\x80\xae" "cod.exe\xe2\x81\xa6x\xe2\x81\xa9y\xe2\x80\xaa"
                     "z\xc2\x85w\xe2\x80\x8e\xc3\xa9";
  json_t *doc = doc_f("{\"test_batches\": [{\"test_type\": \"numeric_feature_drift\","
                      " \"test_cases\": [{\"features\": [],"
                      " \"details\": {\"reference\": [0.5, 0.5], \"evaluation\": [0.1, 0.9]}}]}]}");
  json_object_set_new(doc, "name", json_string(name));
  json_t *tc = json_array_get(
    json_object_get(json_array_get(json_object_get(doc, "test_batches"), 0), "test_cases"), 0);
  json_array_append_new(json_object_get(tc, "features"), json_string(name));
  json_object_set_new(json_object_get(tc, "details"), "bins",
                      json_pack("[s, s]", "\xe2\x80\xad" "left", "right\xe2\x81\xa7"));
  char *html = html_of(doc);
  const char *want = "run &#xFFFD;cod.exe&#xFFFD;x&#xFFFD;y&#xFFFD;z&#xFFFD;w\xe2\x80\x8e\xc3\xa9";
  assert_true(count(html, want) >= 3); /* title, heading, the case's features */
  assert_non_null(strstr(html, "&#xFFFD;left"));
  assert_non_null(strstr(html, "right&#xFFFD;"));
  static const char *const banned[] = {"\xe2\x80\xaa", "\xe2\x80\xab", "\xe2\x80\xac",
                                       "\xe2\x80\xad", "\xe2\x80\xae", "\xe2\x81\xa6",
                                       "\xe2\x81\xa7", "\xe2\x81\xa8", "\xe2\x81\xa9",
                                       "\xc2\x85"};
  for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
    if (strstr(html, banned[i])) fail_msg("control %zu is in the report", i);
  assert_self_contained(html);
  assert_balanced(html);
  free(html);
  json_decref(doc);
}

/* Invalid UTF-8 and control characters become U+FFFD; long axis labels are
 * cut with "…" while their tooltip keeps the whole text; many bins. */
static void odd_text_and_many_bins(void **state) {
  (void)state;
  json_t *doc = doc_f("{\"test_batches\": [{\"test_cases\": [{\"features\": [],"
                      " \"details\": {\"reference\": [], \"evaluation\": []}}]}]}");
  json_t *tc = json_array_get(json_object_get(json_array_get(json_object_get(doc,
                                                                             "test_batches"),
                                                             0),
                                              "test_cases"),
                              0);
  json_array_append_new(json_object_get(tc, "features"),
                        json_stringn_nocheck("bad\xff\xfe\x01name\xc3\xa9", 12));
  json_t *d = json_object_get(tc, "details"), *bins = json_array();
  for (int i = 0; i < 150; i++) {
    json_array_append_new(json_object_get(d, "reference"), json_real(1.0 / 150));
    json_array_append_new(json_object_get(d, "evaluation"), json_real(i < 75 ? 0.0 : 2.0 / 150));
    char label[80];
    snprintf(label, sizeof label, "a very long bin label number %03d", i);
    json_array_append_new(bins, json_string(label));
  }
  json_object_set_new(d, "bins", bins);
  char *html = html_of(doc);
  assert_non_null(strstr(html, "bad&#xFFFD;&#xFFFD;&#xFFFD;name\xc3\xa9"));
  assert_non_null(strstr(html, ">a very long bin label nu\xE2\x80\xA6</text>"));
  assert_non_null(strstr(html, "<title>a very long bin label number 000 \xE2\x80\x94"));
  assert_non_null(strstr(html, "the first 120 of 150 bins"));
  assert_int_equal(count(html, "<svg class=\"chart drift\""), 1);
  assert_self_contained(html);
  assert_balanced(html);
  free(html);
  json_decref(doc);
}

static void write_is_atomic_and_0644(void **state) {
  (void)state;
  char *home = make_home();
  assert_non_null(home);
  json_t *doc = full_document();
  char *path = NULL, *expected = html_of(doc);
  assert_true(asprintf(&path, "%s/report.html", home) > 0);
  mode_t old = umask(077);
  assert_int_equal(report_write(doc, path), ASSAY_OK);
  umask(old);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0644);
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  char *text = calloc(1, (size_t)st.st_size + 1);
  assert_int_equal(fread(text, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
  fclose(fp);
  assert_string_equal(text, expected);
  free(text);
  /* overwriting replaces it; nothing else is left in the directory */
  assert_int_equal(report_write(doc, path), ASSAY_OK);
  char *cmd = NULL;
  assert_true(asprintf(&cmd, "test $(ls -A '%s' | wc -l) -eq 1", home) > 0);
  assert_int_equal(system(cmd), 0);
  free(cmd);

  /* a directory that does not exist */
  char *bad = NULL;
  assert_true(asprintf(&bad, "%s/no/such/dir/r.html", home) > 0);
  assert_int_equal(report_write(doc, bad), ASSAY_ERR_CONFIG);
  assert_non_null(strstr(assay_error_last()->message, bad));
  assert_int_equal(report_write(doc, ""), ASSAY_ERR_CONFIG);
  free(bad);

  /* assay__debug_report: a document file to a report */
  char *docpath = NULL, *out2 = NULL;
  assert_true(asprintf(&docpath, "%s/doc.json", home) > 0);
  assert_true(asprintf(&out2, "%s/r2.html", home) > 0);
  assert_int_equal(json_dump_file(doc, docpath, 0), 0);
  assert_int_equal(assay__debug_report(docpath, out2), ASSAY_OK);
  assert_int_equal(stat(out2, &st), 0);
  assert_true(st.st_size > 1000);
  fp = fopen(docpath, "w");
  fputs("[1, 2", fp);
  fclose(fp);
  assert_int_equal(assay__debug_report(docpath, out2), ASSAY_ERR_CONFIG);
  assert_non_null(strstr(assay_error_last()->message, "not a readable JSON file"));
  fp = fopen(docpath, "w");
  fputs("[1, 2]", fp);
  fclose(fp);
  assert_int_equal(assay__debug_report(docpath, out2), ASSAY_ERR_CONFIG);
  assert_non_null(strstr(assay_error_last()->message, "not a JSON object"));
  free(docpath);
  free(out2);

  free(expected);
  free(path);
  json_decref(doc);
  rm_home(home);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(escapes_and_charts),
    cmocka_unit_test(at_most_thirty_drift_charts),
    cmocka_unit_test(tolerant_of_missing_keys),
    cmocka_unit_test(odd_text_and_many_bins),
    cmocka_unit_test(bidi_controls),
    cmocka_unit_test(write_is_atomic_and_0644),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
