"""The HTML report of a test run (`assay report RUN_ID -o FILE`, `assay debug
report DOCUMENT -o FILE`): a well-formed, self-contained page (no script, no
URL, no event handler, no external resource; a Content-Security-Policy that
allows only its inline style; no bidi or C1 control) whose charts are the drift
cases' reference vs evaluation distributions (the drifted features first)
and the subset cases' per-subset values, with every text from the run
HTML-escaped — a hostile feature name comes back as the same text, never as
markup. End to end: two CSV datasets with one shifted feature, a stress
test through the Python client, then the CLI's report of that run. When a
headless Chromium or Firefox is on the machine, the report is also rendered
to a PNG."""

import json
import os
import random
import shutil
import stat
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import assay

MISSING_ID = "00000000-0000-4000-8000-000000000000"
HOSTILE = "a<b&\"c' </svg></td><script>alert(1)</script><img src=x onerror=alert(2)> \u00e9\u4e2d"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
FORBIDDEN_TAGS = {"script", "link", "img", "iframe", "object", "embed", "base", "form", "input",
                  "audio", "video", "source", "image", "use", "foreignobject", "a"}


class Page(HTMLParser):
    """The parsed report: balance errors, every tag and attribute, and the
    chart figures (caption's <strong> text, the svg's class, texts)."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.errors, self.tags, self.attrs, self.styles, self.metas = [], [], [], [], []
        self.stack, self.figures, self.links, self.ids = [], [], [], set()
        self._fig, self._strong, self._in_style = None, None, False
        self.feed(html)
        self.close()
        if self.stack:
            self.errors.append("never closed: %s" % self.stack)

    def handle_starttag(self, tag, attrs):
        self._start(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):  # <line .../> in SVG, <meta .../>
        self._start(tag, attrs)

    def _start(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]
        d = dict(attrs)
        if "id" in d:
            self.ids.add(d["id"])
        if tag == "meta":
            self.metas.append(d)
        if tag == "a":
            self.links.append(d.get("href"))
        if tag == "figure":
            self._fig = {"caption": "", "svg": None, "texts": [], "titles": []}
            self.figures.append(self._fig)
        elif tag == "strong" and self._fig is not None and self._fig["svg"] is None:
            self._strong = []
        elif tag == "svg" and self._fig is not None:
            self._fig["svg"] = d.get("class")
        elif tag in ("text", "title") and self._fig is not None:
            self._fig["texts" if tag == "text" else "titles"].append("")
            self._fig["_in"] = tag
        elif tag == "style":
            self._in_style = True

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes %s" % (tag, self.stack[-1:] or "nothing"))
        else:
            self.stack.pop()
        if tag == "strong" and self._strong is not None:
            self._fig["caption"] = "".join(self._strong)
            self._strong = None
        elif tag == "figure":
            self._fig = None
        elif tag in ("text", "title") and self._fig is not None:
            self._fig.pop("_in", None)
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._strong is not None:
            self._strong.append(data)
        if self._fig is not None and self._fig.get("_in"):
            key = "texts" if self._fig["_in"] == "text" else "titles"
            self._fig[key][-1] += data
        if self._in_style:
            self.styles.append(data)

    def charts(self, kind):
        return [f for f in self.figures if f["svg"] == "chart " + kind]


# The report's Content-Security-Policy: nothing but its inline style sheet.
CSP = {"default-src": ["'none'"], "style-src": ["'unsafe-inline'"], "base-uri": ["'none'"],
       "form-action": ["'none'"]}
# Unicode bidi controls (embeddings, overrides, isolates) and C1 controls:
# never in a report, as they could make text show other than it is.
HIDDEN_CONTROLS = [chr(c) for c in list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A))
                   + list(range(0x80, 0xA0))]


def check_csp(page, html):
    """One Content-Security-Policy meta tag, in the head before the style
    sheet, allowing the inline style and nothing else."""
    policies = [m for m in page.metas
                if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert len(policies) == 1, page.metas
    directives = {}
    for part in policies[0]["content"].split(";"):
        words = part.split()
        if words:
            assert words[0] not in directives, words
            directives[words[0]] = words[1:]
    assert directives == CSP, directives
    head = html[:html.index("</head>")]
    assert "Content-Security-Policy" in head
    assert head.index("Content-Security-Policy") < head.index("<style>")
    assert "data:" not in html.lower()


def check_page(html):
    """Parse and check a report: well-formed and self-contained."""
    page = Page(html)
    assert page.errors == [], page.errors[:5]
    assert html.startswith("<!DOCTYPE html>")
    check_csp(page, html)
    bad = [c for c in HIDDEN_CONTROLS if c in html]
    assert not bad, ["U+%04X" % ord(c) for c in bad]
    low = html.lower()
    for needle in ("<script", "http://", "https://", "url(", "@import"):
        assert needle not in low, needle
    assert not FORBIDDEN_TAGS & (set(page.tags) - {"a"}), FORBIDDEN_TAGS & set(page.tags)
    # links only to places in the page itself, each of which exists
    assert all(h and h.startswith("#") and h[1:] in page.ids for h in page.links), \
        (page.links, page.ids)
    for tag, name, value in page.attrs:
        assert not name.startswith("on"), (tag, name, value)
        assert not (value or "").lower().lstrip().startswith(("javascript:", "data:")), value
        assert name not in ("src", "srcset", "xlink:href", "action", "formaction"), (tag, name)
        if name == "href":
            assert value.startswith("#"), value
        if name == "style":
            assert "url" not in value.lower()
    assert page.stack == []
    return page


def cli_env():
    return {k: v for k, v in os.environ.items()
            if k not in ("ASSAY_URL", "ASSAY_API_KEY", "ASSAY_HOME")}


def run_cli(exe, *args, expect=0, home=None):
    cmd = [str(exe)] + (["--home", str(home)] if home else []) + list(args)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=cli_env(), timeout=120)
    assert proc.returncode == expect, (args, proc.returncode, proc.stdout, proc.stderr)
    return proc


def drift_case(feature, severity, psi, ref, ev, bins=None, kind="numeric", importance=0.0):
    status = {"SEVERITY_ALERT": "TEST_CASE_STATUS_FAIL",
              "SEVERITY_WARNING": "TEST_CASE_STATUS_WARNING"}.get(severity,
                                                                   "TEST_CASE_STATUS_PASS")
    return {"features": [feature], "status": status, "severity": severity,
            "importance_score": importance,
            "metrics": {"psi": psi, "ref_rows": 500, "eval_rows": 400},
            "details": {"kind": kind, "bins": bins or ["bin %d" % i for i in range(len(ref))],
                        "reference": ref, "evaluation": ev}}


def handcrafted_document():
    cases = [
        drift_case("steady", "SEVERITY_PASS", 0.001, [0.25] * 4, [0.24, 0.26, 0.25, 0.25]),
        drift_case(HOSTILE, "SEVERITY_ALERT", 1.7, [0.25] * 4, [0.05, 0.05, 0.3, 0.6],
                   bins=["(-inf, 1]", "(1, 2]", "<2 & 3>", "(3, inf)"], importance=0.9),
        drift_case("mild", "SEVERITY_WARNING", 0.25, [0.5, 0.5], [0.3, 0.7], importance=0.3),
        {"features": ["no_details"], "status": "TEST_CASE_STATUS_SKIP",
         "severity": "SEVERITY_PASS", "metrics": {"psi": None}, "skip_reason": "all null"},
    ]
    return {
        "test_run_id": "11111111-2222-4333-8444-555555555555",
        "name": "report <test> & \"quotes\"",
        "model_task": "MODEL_TASK_BINARY_CLASSIFICATION",
        "created_at": "2026-01-02T03:04:05Z",
        "data": {"ref_rows": 500, "eval_rows": 400, "label_col": "label",
                 "features": [{"name": HOSTILE, "type": "numeric", "in_model": True,
                               "protected": False}]},
        "summary_counts": {"total": 6, "pass": 2, "warning": 2, "fail": 1, "skip": 1},
        "severity_counts": {"num_pass_severity": 0, "num_warning_severity": 1,
                            "num_alert_severity": 1},
        "category_results": [{"category": "TEST_CATEGORY_TYPE_DRIFT",
                              "severity": "SEVERITY_ALERT",
                              "summary_counts": {"total": 4, "pass": 1, "warning": 1,
                                                 "fail": 1, "skip": 1},
                              "failing_test_types": ["numeric_feature_drift"]}],
        "test_batches": [
            {"test_type": "numeric_feature_drift", "test_name": "Numeric Feature Drift",
             "category": "TEST_CATEGORY_TYPE_DRIFT", "severity": "SEVERITY_ALERT",
             "description": "PSI over <reference> quantile bins",
             "metrics": {"num_drifted": 2, "share_drifted": 2 / 3},
             "failing_features": [HOSTILE], "test_cases": cases},
            {"test_type": "subset_accuracy", "test_name": "Subset Accuracy",
             "category": "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE",
             "severity": "SEVERITY_WARNING",
             "test_cases": [{"features": [HOSTILE], "status": "TEST_CASE_STATUS_WARNING",
                             "severity": "SEVERITY_WARNING",
                             "metrics": {"overall": 0.8, "gap": 0.08, "num_subsets": 2},
                             "details": {"overall": 0.8, "subsets": [
                                 {"subset": "<low>", "size": 30, "value": 0.72},
                                 {"subset": "high", "size": 40, "value": 0.9},
                                 {"subset": "null", "size": 2, "value": None}]}}]},
            {"test_type": "accuracy", "category": "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE",
             "severity": "SEVERITY_PASS", "test_cases": []},
        ],
    }


@pytest.fixture
def report_of(tmp_path, assay_cli):
    """report_of(document) -> the HTML `assay debug report` writes for it."""
    def make(document, name="doc"):
        doc = tmp_path / (name + ".json")
        out = tmp_path / (name + ".html")
        doc.write_text(json.dumps(document))
        run_cli(assay_cli, "debug", "report", str(doc), "-o", str(out))
        return out.read_text(encoding="utf-8")
    return make


# --- the page ------------------------------------------------------------------

def test_report_is_well_formed_self_contained_and_escaped(report_of):
    html = report_of(handcrafted_document())
    page = check_page(html)
    # the hostile name is text everywhere, never markup
    assert HOSTILE not in html
    assert "<img" not in html and "onerror=alert(2)>" not in html
    assert "script" not in page.tags and "img" not in page.tags
    drift = page.charts("drift")
    # one chart per drift case with a distribution, the most severe first
    assert [f["caption"] for f in drift] == [HOSTILE, "mild", "steady"]
    hostile = drift[0]
    assert "<2 & 3>" in hostile["texts"]  # an axis label, escaped in the file
    assert any(t.startswith("<2 & 3> \u2014 evaluation: 30%") for t in hostile["titles"])
    assert sum(t.split(" \u2014 ")[1].startswith("reference") for t in hostile["titles"]) == 4
    # subset chart with its overall line
    subset = page.charts("subset")
    assert [f["caption"] for f in subset] == [HOSTILE]
    assert "overall: 0.8" in subset[0]["titles"]
    assert "<low>" in subset[0]["texts"]
    # the title and texts of the run come back as they were
    assert "<title>Stress test report: report &lt;test&gt; &amp; &quot;quotes&quot;</title>" \
        in html
    assert "PSI over &lt;reference&gt; quantile bins" in html
    assert "all null" in html
    assert html.count("<details class=\"batch\">") == 3


def test_report_replaces_bidi_and_c1_controls(report_of):
    """A name holding bidi overrides or isolates (a "Trojan Source" trick:
    'gpj.exe' shown reversed) or C1 controls comes back with each replaced
    by U+FFFD — in the title, the run's heading and a chart's caption and
    axis labels — while other characters (the LRM mark, accents) stay."""
    sneaky = "invoice\u202egpj.exe \u2066a\u2069 \u202ab\u202c \u0085c \u200e\u00e9"
    shown = "invoice\ufffdgpj.exe \ufffda\ufffd \ufffdb\ufffd \ufffdc \u200e\u00e9"
    doc = handcrafted_document()
    doc["name"] = sneaky
    doc["test_batches"][0]["test_cases"][2]["features"] = [sneaky]
    doc["test_batches"][0]["test_cases"][2]["details"]["bins"] = ["\u202dlow", "high\u2067"]
    html = report_of(doc)
    page = check_page(html)  # no control left anywhere, the policy in place
    in_file = shown.replace("\ufffd", "&#xFFFD;")
    assert "<title>Stress test report: %s</title>" % in_file in html
    assert "<h1>Stress test report: %s" % in_file in html
    chart = [f for f in page.charts("drift") if f["caption"] == shown]
    assert chart, [f["caption"] for f in page.charts("drift")]
    assert "\ufffdlow" in chart[0]["texts"] and "high\ufffd" in chart[0]["texts"]


def test_report_tolerates_old_and_partial_documents(report_of):
    for i, doc in enumerate([
            {},
            {"test_run_id": "x", "test_batches": [{}]},
            {"test_batches": [{"test_cases": [{"details": {"reference": [0.5, None],
                                                           "evaluation": [0.1]}},
                                              {"metrics": None, "features": None},
                                              {"details": {"subsets": [None, 3]}}]}],
             "summary_counts": None, "category_results": "nope"},
    ]):
        page = check_page(report_of(doc, "doc%d" % i))
        assert "html" in page.tags


def test_report_cli_errors(tmp_path, assay_cli):
    doc = tmp_path / "bad.json"
    doc.write_text("[1, 2]")
    proc = run_cli(assay_cli, "debug", "report", str(doc), "-o", str(tmp_path / "r.html"),
                   expect=1)
    assert "ConfigError" in proc.stderr and "not a JSON object" in proc.stderr
    assert not (tmp_path / "r.html").exists()
    proc = run_cli(assay_cli, "debug", "report", str(doc), expect=2)
    assert proc.stderr.startswith("assay: debug report needs -o FILE\n")
    proc = run_cli(assay_cli, "report", MISSING_ID, expect=2)
    assert proc.stderr.startswith("assay: report needs -o FILE\n")
    proc = run_cli(assay_cli, "report", expect=2)
    assert proc.stderr.startswith("assay: report needs RUN_ID -o FILE\n")
    proc = run_cli(assay_cli, "report", MISSING_ID, "--url", "x", "-o", expect=2)
    assert proc.stderr.startswith("assay: option -o needs a value\n")
    proc = run_cli(assay_cli, "job", "list", "p", "-o", "f", expect=2)
    assert proc.stderr.startswith("assay: unknown option '-o' for this command\n")


# --- end to end: a stress test on the platform, then `assay report` ---------------

SHIFTED = "shifted <x> & \"y\""


def write_csvs(tmp_path, n=400):
    """Reference and evaluation sets: SHIFTED moves by +3 standard deviations,
    `steady` and `colour` keep their distributions."""
    rng = random.Random(5)

    def rows(shift):
        out = []
        for _ in range(n):
            x = rng.gauss(shift, 1.0)
            s = rng.gauss(0.0, 1.0)
            colour = rng.choice(["red", "green", "blue"])
            p = 1 / (1 + pow(2.718281828, -(0.8 * s)))
            label = 1 if rng.random() < p else 0
            out.append("%.6f,%.6f,%s,%d,%.6f" % (x, s, colour, label, p))
        return out

    header = '"%s",steady,colour,label,prob' % SHIFTED.replace('"', '""')
    ref, ev = tmp_path / "ref.csv", tmp_path / "eval.csv"
    ref.write_text("\n".join([header] + rows(0.0)) + "\n")
    ev.write_text("\n".join([header] + rows(3.0)) + "\n")
    return ref, ev


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished stress test on an embedded home: (home, project_id,
    job_id, test_run_id, report html from the client)."""
    tmp = tmp_path_factory.mktemp("report-e2e")
    home = tmp / "home"
    ref, ev = write_csvs(tmp)
    params = {"label_col": "label", "pred_col": "prob"}
    with assay.Client(home=home) as client:
        project = client.create_project("report-e2e", "report",
                                        "MODEL_TASK_BINARY_CLASSIFICATION")
        ref_id = project.upload_and_register_dataset_from_file("ref", ref, data_params=params)
        eval_id = project.upload_and_register_dataset_from_file("eval", ev, data_params=params)
        model_id = project.register_model("model")
        job = client.start_stress_test({
            "run_name": "report <e2e>", "model_id": model_id,
            "data_info": {"ref_dataset_id": ref_id, "eval_dataset_id": eval_id},
            "categories": ["TEST_CATEGORY_TYPE_DRIFT", "TEST_CATEGORY_TYPE_SUBSET_PERFORMANCE",
                           "TEST_CATEGORY_TYPE_MODEL_PERFORMANCE"]}, project.project_id)
        status = job.get_status(verbose=False, wait_until_finish=True, poll_rate_sec=0.1)
        assert status["status"] == "JOB_STATUS_SUCCEEDED", job.get_log()
        run_id = job.get_test_run_id()
        html = client.get_test_run(run_id).get_report_html()
    return home, project.project_id, job.job_id, run_id, html


def test_cli_report_of_a_stress_test(finished_run, tmp_path, assay_cli):
    home, _, _, run_id, client_html = finished_run
    out = tmp_path / "report.html"
    proc = run_cli(assay_cli, "report", run_id, "-o", str(out), home=home)
    assert proc.stdout == "" and proc.stderr == ""
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    html = out.read_text(encoding="utf-8")
    assert html == client_html
    assert sorted(os.listdir(tmp_path)) == ["report.html"]  # no temporary file left
    page = check_page(html)
    assert SHIFTED not in html  # the column name is escaped
    drift = {f["caption"]: f for f in page.charts("drift")}
    assert SHIFTED in drift and "steady" in drift and "colour" in drift
    # the shifted feature's chart comes first and is flagged; the others pass
    first = page.charts("drift")[0]
    assert first["caption"] == SHIFTED
    assert "<span class=\"badge alert\">ALERT</span> <strong>shifted &lt;x&gt;" in html
    assert page.charts("subset"), "no subset performance chart"
    # stdout with -o -, and --json prints nothing more
    proc = run_cli(assay_cli, "--json", "report", run_id, "-o", "-", home=home)
    assert proc.stdout == html
    # the file is replaced atomically on a second run
    run_cli(assay_cli, "report", run_id, "--output", str(out), home=home)
    assert out.read_text(encoding="utf-8") == html


def test_cli_report_from_an_assayd(finished_run, tmp_path, assay_cli, start_assayd):
    """The same report through a server: --url and --token-file."""
    home, _, _, run_id, client_html = finished_run
    server = start_assayd(home)
    out = tmp_path / "remote.html"
    run_cli(assay_cli, "--url", server.url, "--token-file", str(home / "admin.token"), "report",
            run_id, "-o", str(out))
    assert out.read_text(encoding="utf-8") == client_html
    proc = run_cli(assay_cli, "--url", server.url, "--token-file", str(home / "admin.token"),
                   "report", MISSING_ID, "-o", str(out), expect=1)
    assert proc.stderr.startswith("assay: NotFoundError: ")


def test_cli_report_of_an_unknown_run(finished_run, tmp_path, assay_cli):
    home = finished_run[0]
    out = tmp_path / "report.html"
    proc = run_cli(assay_cli, "report", MISSING_ID, "-o", str(out), home=home, expect=1)
    assert proc.stderr.startswith("assay: NotFoundError: ")
    assert MISSING_ID in proc.stderr
    assert not out.exists()
    proc = run_cli(assay_cli, "report", finished_run[3], "-o",
                   str(tmp_path / "no" / "such" / "dir.html"), home=home, expect=1)
    assert "cannot write" in proc.stderr


def test_cli_job_list_and_cancel(finished_run, assay_cli):
    home, project_id, job_id, _, _ = finished_run
    lines = run_cli(assay_cli, "job", "list", project_id, home=home).stdout.splitlines()
    rows = [line.split("\t") for line in lines]
    stress = [r for r in rows if r[0] == job_id]
    assert stress and stress[0][1] == "JOB_TYPE_STRESS_TEST"
    assert stress[0][2] == "JOB_STATUS_SUCCEEDED"
    done, total = stress[0][3].split("/")
    assert done == total and int(total) > 0
    only = run_cli(assay_cli, "job", "list", project_id, "--status", "JOB_STATUS_SUCCEEDED",
                   "--job-type", "JOB_TYPE_STRESS_TEST", home=home).stdout.splitlines()
    assert [line.split("\t")[0] for line in only] == [job_id]
    assert run_cli(assay_cli, "job", "list", project_id, "--status",
                   "JOB_STATUS_PENDING,JOB_STATUS_RUNNING", home=home).stdout == ""
    proc = run_cli(assay_cli, "job", "list", project_id, "--status", "JOB_STATUS_NOPE",
                   home=home, expect=1)
    assert "ConfigError" in proc.stderr and "JOB_STATUS_SUCCEEDED" in proc.stderr
    proc = run_cli(assay_cli, "job", "cancel", job_id, home=home, expect=1)
    assert "ConfigError" in proc.stderr and "already finished" in proc.stderr
    record = json.loads(run_cli(assay_cli, "--json", "job", "get", job_id, home=home).stdout)
    assert record["status"] == "JOB_STATUS_SUCCEEDED"
    runs = run_cli(assay_cli, "test-run", "list", project_id, home=home).stdout
    assert finished_run[3] in runs


def test_debug_stress_then_debug_report(tmp_path, assay_cli):
    ref, ev = write_csvs(tmp_path)
    request = tmp_path / "request.json"
    params = {"label_col": "label", "pred_col": "prob"}
    request.write_text(json.dumps({
        "model_task": "MODEL_TASK_BINARY_CLASSIFICATION", "ref_path": str(ref),
        "eval_path": str(ev), "ref_params": params, "eval_params": params,
        "config": {"categories": ["TEST_CATEGORY_TYPE_DRIFT"]}}))
    proc = run_cli(assay_cli, "debug", "stress", str(request))
    doc = json.loads(proc.stdout)
    assert "timing" in doc and doc["test_batches"]
    docfile = tmp_path / "doc.json"
    docfile.write_text(proc.stdout)
    out = tmp_path / "doc.html"
    run_cli(assay_cli, "debug", "report", str(docfile), "-o", str(out))
    page = check_page(out.read_text(encoding="utf-8"))
    assert page.charts("drift")[0]["caption"] == SHIFTED


# --- rendered by a real browser, when one is installed ---------------------------

BROWSERS = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "firefox"]


def test_report_renders_in_a_headless_browser(report_of, tmp_path):
    exe = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if exe is None:
        pytest.skip("no headless browser on this machine (%s)" % ", ".join(BROWSERS))
    page = tmp_path / "page.html"
    page.write_text(report_of(handcrafted_document()), encoding="utf-8")
    png = tmp_path / "page.png"
    if "firefox" in Path(exe).name:
        cmd = [exe, "--headless", "--screenshot", str(png), "--window-size=1200,2400",
               page.as_uri()]
    else:
        cmd = [exe, "--headless", "--disable-gpu", "--no-sandbox", "--screenshot=%s" % png,
               "--window-size=1200,2400", page.as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120, env=cli_env())
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000
