"""bench/bench_stress.py — assay's stress test against Evidently and Deepchecks on the same data.

The issue's benchmark: synthetic binary-classification reference and
evaluation sets of N rows x 50 features (40 numeric, 10 categorical, plus
the label and the model's positive-class probability), drift put into 6
numeric and 2 categorical features of the evaluation set. Then, each tool
in its own child process (so its peak memory is its own):

  assay       registers both CSVs (native reader, validation, columnar
              cache) in one process, then runs the stress test — every
              category of this version (model performance, subset
              performance and its degradation, drift, abnormal inputs, data
              cleanliness) on all rows — in another, timed from
              start_stress_test to the finished run;
  evidently   Report([DataDriftPreset(), ClassificationPreset()]) on the
              same rows as pandas DataFrames (read from Parquet, not timed);
  deepchecks  train_test_validation() and model_evaluation() suites with the
              probabilities given (no model), on the same DataFrames, with
              their default settings (which sample; see the write-up).

and prints one JSON line per tool plus the ratios. Peak memory is the
child's maximum resident set size (wait4). Raw column bytes = rows x
columns x 8 per dataset.

    python bench/bench_stress.py --rows 1000000                 # everything
    python bench/bench_stress.py --rows 10000000 --tools assay   # scaling
    python bench/bench_stress.py --rows 100000 --keep /tmp/bench-data

Evidently and Deepchecks need their own interpreters (their pins conflict
with each other and with assay's venv): bench/setup_peers.sh makes
/tmp/bench-venv-evidently and /tmp/bench-venv-deepchecks; --evidently-python
and --deepchecks-python choose others. See bench/README.md.
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NUMERIC, CATEGORICAL = 40, 10
SHIFTED_NUMERIC = ["num_%02d" % i for i in (0, 5, 10, 15, 20, 25)]
SHIFTED_CATEGORICAL = ["cat_00", "cat_05"]


# --- data ---------------------------------------------------------------------
def generate(rows, out_dir, seed=7):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    os.makedirs(out_dir, exist_ok=True)
    weights = rng.normal(0, 0.3, NUMERIC)
    levels = [5 + 5 * (j % 6) for j in range(CATEGORICAL)]

    def one(n, drift, rng):
        cols = {}
        z = np.zeros(n)
        for i in range(NUMERIC):
            name = "num_%02d" % i
            if i % 4 == 3:   # integer-valued columns
                x = rng.poisson(3 + i % 7, n).astype(np.float64)
            else:
                x = rng.normal(i % 5, 1 + (i % 3), n)
            if drift and name in SHIFTED_NUMERIC:
                x = x + 0.5 * (1 + (i % 3))
            cols[name] = x
            z += weights[i] * (x - x.mean()) / (x.std() + 1e-9)
        for j in range(CATEGORICAL):
            name = "cat_%02d" % j
            k = levels[j]
            p = np.arange(k, 0, -1, dtype=float)
            if drift and name in SHIFTED_CATEGORICAL:
                p = p[::-1]
            p /= p.sum()
            codes = rng.choice(k, n, p=p)
            cols[name] = np.array(["%s_v%02d" % (name, c) for c in range(k)], dtype=object)[codes]
            z += 0.2 * (codes % 3 - 1)
        prob_true = 1 / (1 + np.exp(-(z - 0.5)))
        label = (rng.random(n) < prob_true).astype(np.int64)
        noise = rng.normal(0, 0.6 if not drift else 0.9, n)
        pred = 1 / (1 + np.exp(-(z - 0.5 + noise)))
        cols["label"] = label
        cols["pred"] = pred
        return pd.DataFrame(cols)

    paths = {}
    for side, drift in (("ref", False), ("eval", True)):
        df = one(rows, drift, rng)
        csv = os.path.join(out_dir, side + ".csv")
        pq = os.path.join(out_dir, side + ".parquet")
        df.to_csv(csv, index=False)
        df.to_parquet(pq, index=False)
        paths[side] = {"csv": csv, "parquet": pq}
    return paths


# --- child processes ------------------------------------------------------------
MARK = "BENCH-RESULT "


def emit(result):
    """A child's result: one marked JSON line (progress bars may share stdout)."""
    print(MARK + json.dumps(result), flush=True)


def run_child(argv, env=None):
    """Run argv, return (its last stdout line as JSON, its peak RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("child failed (%d): %s" % (proc.returncode, " ".join(argv)))
    at = out.rfind(MARK)
    if at < 0:
        raise SystemExit("child printed no result: %s" % " ".join(argv))
    result = json.loads(out[at + len(MARK):].splitlines()[0])
    result["peak_rss_mb"] = usage.ru_maxrss / 1024.0
    result["process_wall_s"] = wall
    return result


def child_assay_register(data_dir, home):
    import assay
    client = assay.Client(home=home)
    project = client.create_project("bench", "stress benchmark", "MODEL_TASK_BINARY_CLASSIFICATION")
    t0 = time.perf_counter()
    ids = {}
    for side in ("ref", "eval"):
        url = client.upload_file(os.path.join(data_dir, side + ".csv"), upload_path="bench")
        ids[side] = project.register_dataset(
            side, {"connection_info": {"data_file": {"path": url}},
                   "data_params": {"label_col": "label", "pred_col": "pred"}})
    model_id = project.register_model("model")
    elapsed = time.perf_counter() - t0
    emit({"tool": "assay-register", "seconds": elapsed, "project_id": project.project_id,
                      "ref_id": ids["ref"], "eval_id": ids["eval"], "model_id": model_id})


def child_assay_run(home, project_id, ref_id, eval_id, model_id):
    import assay
    client = assay.Client(home=home)
    config = {"run_name": "bench", "model_id": model_id,
              "data_info": {"ref_dataset_id": ref_id, "eval_dataset_id": eval_id}}
    t0 = time.perf_counter()
    job = client.start_stress_test(config, project_id)
    job.get_status(verbose=False, wait_until_finish=True, poll_rate_sec=0.05)
    elapsed = time.perf_counter() - t0
    run = job.get_test_run()
    cases = run.get_test_cases_df(show_test_case_metrics=True)
    drift = cases[cases["test_batch_type"].isin(["numeric_feature_drift",
                                                 "categorical_feature_drift"])]
    flagged = sorted(f[0] for f, s in zip(drift["features"], drift["status"])
                     if s != "TEST_CASE_STATUS_PASS")
    emit({"tool": "assay", "seconds": elapsed, "test_cases": len(cases),
                      "drift_flagged": flagged, "status": job.get_status(verbose=False)["status"]})


def child_evidently(data_dir):
    import pandas as pd
    from evidently import BinaryClassification, DataDefinition, Dataset, Report
    from evidently.presets import ClassificationPreset, DataDriftPreset

    ref = pd.read_parquet(os.path.join(data_dir, "ref.parquet"))
    cur = pd.read_parquet(os.path.join(data_dir, "eval.parquet"))
    num = [c for c in ref.columns if c.startswith("num_")]
    cat = [c for c in ref.columns if c.startswith("cat_")]
    definition = DataDefinition(
        numerical_columns=num + ["pred"], categorical_columns=cat + ["label"],
        classification=[BinaryClassification(target="label", prediction_probas="pred")])
    t0 = time.perf_counter()
    r = Dataset.from_pandas(ref, data_definition=definition)
    c = Dataset.from_pandas(cur, data_definition=definition)
    report = Report([DataDriftPreset(), ClassificationPreset()])
    snapshot = report.run(current_data=c, reference_data=r)
    result = snapshot.dict()
    elapsed = time.perf_counter() - t0
    flagged = []
    for m in result.get("metrics", []):
        cfg = m.get("config", {})
        if cfg.get("type", "").endswith("ValueDrift") and isinstance(m.get("value"), (int, float)):
            if m["value"] >= cfg.get("threshold", 0.1) and cfg.get("column") not in ("label", "pred"):
                flagged.append(cfg["column"])
    emit({"tool": "evidently", "seconds": elapsed, "metrics": len(result.get("metrics", [])),
                      "drift_flagged": sorted(flagged)})


def child_deepchecks(data_dir):
    import warnings
    warnings.filterwarnings("ignore")
    import numpy as np
    import pandas as pd
    from deepchecks.tabular import Dataset
    from deepchecks.tabular.suites import model_evaluation, train_test_validation

    ref = pd.read_parquet(os.path.join(data_dir, "ref.parquet"))
    cur = pd.read_parquet(os.path.join(data_dir, "eval.parquet"))
    cat = [c for c in ref.columns if c.startswith("cat_")]
    t0 = time.perf_counter()
    feats = [c for c in ref.columns if c not in ("label", "pred")]
    train = Dataset(ref[feats + ["label"]], label="label", cat_features=cat)
    test = Dataset(cur[feats + ["label"]], label="label", cat_features=cat)
    ttv = train_test_validation().run(train_dataset=train, test_dataset=test)

    def proba(df):
        p = df["pred"].to_numpy()
        return np.column_stack([1 - p, p])

    me = model_evaluation().run(train_dataset=train, test_dataset=test,
                                y_proba_train=proba(ref), y_proba_test=proba(cur),
                                y_pred_train=(ref["pred"].to_numpy() >= 0.5).astype(int),
                                y_pred_test=(cur["pred"].to_numpy() >= 0.5).astype(int),
                                model_classes=[0, 1])
    elapsed = time.perf_counter() - t0
    emit({"tool": "deepchecks", "seconds": elapsed,
                      "results": len(ttv.results) + len(me.results)})


# --- the orchestration ---------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--tools", default="assay,evidently,deepchecks")
    ap.add_argument("--keep", help="data folder to reuse / keep (default: a temporary one)")
    ap.add_argument("--python", default=sys.executable, help="assay's interpreter")
    ap.add_argument("--evidently-python", default="/tmp/bench-venv-evidently/bin/python")
    ap.add_argument("--deepchecks-python", default="/tmp/bench-venv-deepchecks/bin/python")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        kind, rest = args.child[0], args.child[1:]
        {"assay-register": child_assay_register, "assay-run": child_assay_run,
         "evidently": child_evidently, "deepchecks": child_deepchecks}[kind](*rest)
        return

    data_dir = args.keep or tempfile.mkdtemp(prefix="assay-bench-")
    marker = os.path.join(data_dir, "rows-%d" % args.rows)
    if not os.path.exists(marker):
        t0 = time.perf_counter()
        generate(args.rows, data_dir)
        open(marker, "w").close()
        print("# generated %d rows x 52 columns x 2 in %.1f s into %s" % (
            args.rows, time.perf_counter() - t0, data_dir), file=sys.stderr)
    raw_mb = 2 * args.rows * 52 * 8 / 1e6
    results = {"rows": args.rows, "raw_column_mb": raw_mb}
    me = os.path.abspath(__file__)
    tools = args.tools.split(",")
    try:
        if "assay" in tools:
            home = tempfile.mkdtemp(prefix="assay-bench-home-")
            try:
                reg = run_child([args.python, me, "--child", "assay-register", data_dir, home])
                run = run_child([args.python, me, "--child", "assay-run", home, reg["project_id"],
                                 reg["ref_id"], reg["eval_id"], reg["model_id"]])
            finally:
                shutil.rmtree(home, ignore_errors=True)
            results["assay_register"] = reg
            results["assay"] = run
        if "evidently" in tools:
            results["evidently"] = run_child([args.evidently_python, me, "--child", "evidently",
                                              data_dir])
        if "deepchecks" in tools:
            results["deepchecks"] = run_child([args.deepchecks_python, me, "--child",
                                               "deepchecks", data_dir])
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    if "assay" in results:
        a = results["assay"]["seconds"]
        for peer in ("evidently", "deepchecks"):
            if peer in results:
                results["%s_over_assay" % peer] = results[peer]["seconds"] / a
        results["assay_peak_over_raw"] = results["assay"]["peak_rss_mb"] / raw_mb
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
