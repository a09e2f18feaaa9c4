#!/usr/bin/env python3
"""bench/bench_load.py — load throughput: a CSV of ROWS x 20 mixed columns
read natively by assay (`assay debug read-csv --quiet`: read + profile)
side by side with pandas.read_csv (C engine) in the same run; and the same
data as a pandas DataFrame handed to assay through the runner (a custom
loader returning it: `assay debug run-loader`), side by side with the
loader's own work (pandas.read_parquet of the same rows).

Each reader runs in its own child process; for each the script reports wall
time, rows/s, MB/s and the child's peak RSS (os.wait4). The CSV is generated
once into a cache folder (default: $TMPDIR/assay-bench) and reused.

    python bench/bench_load.py                  # 10M rows (about 1.6 GB)
    python bench/bench_load.py --rows 1000000   # a quick check
    python bench/bench_load.py --repeat 3 --json results.json

Not run in CI. See bench/README.md.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def find_assay(explicit):
    """The `assay` CLI: --assay, $ASSAY_BUILD_DIR/core/tools/assay, build/, PATH."""
    cands = [explicit] if explicit else []
    if os.environ.get("ASSAY_BUILD_DIR"):
        cands.append(os.path.join(os.environ["ASSAY_BUILD_DIR"], "core", "tools", "assay"))
    cands.append(os.path.join(ROOT, "build", "core", "tools", "assay"))
    cands.append(shutil.which("assay"))
    for c in cands:
        if c and os.access(c, os.X_OK):
            return c
    sys.exit("bench_load: no `assay` binary found (build first, or pass --assay PATH)")


# --- the data ------------------------------------------------------------------------------

def generate_csv(path, rows, seed=7, chunk=1_000_000):
    """ROWS x 20 columns: an id, 5 ints, 5 floats, 2 bools, 5 strings of
    several cardinalities, 2 timestamps; a few columns with nulls. Written
    with pyarrow in chunks (quick: about 10 s per 10M rows)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    cities = np.array([f"city_{i}" for i in range(1000)], dtype=object)
    words = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
                      "iota", "kappa"], dtype=object)
    users = np.array([f"user-{i:06d}" for i in range(100_000)], dtype=object)
    base = np.datetime64("2020-01-01T00:00:00", "s").astype("int64")
    tmp = path + ".part"
    writer = None
    done = 0
    while done < rows:
        n = min(chunk, rows - done)

        def with_nulls(arr, share):
            mask = rng.random(n) < share
            return pa.array(arr, mask=mask)

        secs = base + rng.integers(0, 4 * 365 * 86400, n)
        ts1 = np.datetime_as_string(secs.astype("datetime64[s]"), unit="s")
        ts2 = np.char.add(np.datetime_as_string((secs + rng.integers(0, 3600, n))
                                                .astype("datetime64[s]"), unit="s"), "Z")
        cols = {
            "id": pa.array(np.arange(done, done + n, dtype=np.int64)),
            "i_small": pa.array(rng.integers(0, 100, n)),
            "i_big": pa.array(rng.integers(-2**62, 2**62, n)),
            "i_null": with_nulls(rng.integers(0, 1_000_000, n), 0.05),
            "i_year": pa.array(rng.integers(1950, 2025, n)),
            "i_amount": pa.array(rng.integers(0, 10_000_000, n)),
            "f_price": pa.array(np.round(rng.random(n) * 1000, 2)),
            "f_ratio": pa.array(rng.random(n)),
            "f_null": with_nulls(rng.normal(0, 1, n), 0.1),
            "f_temp": pa.array(np.round(rng.normal(15, 10, n), 1)),
            "f_score": pa.array(np.round(rng.random(n), 4)),
            "b_flag": pa.array(rng.random(n) < 0.5),
            "b_null": with_nulls(rng.random(n) < 0.3, 0.2),
            "s_word": pa.array(words[rng.integers(0, len(words), n)]),
            "s_city": pa.array(cities[rng.integers(0, len(cities), n)]),
            "s_user": pa.array(users[rng.integers(0, len(users), n)]),
            "s_null": with_nulls(words[rng.integers(0, len(words), n)], 0.15),
            "s_code": pa.array(np.char.add("c", rng.integers(0, 10**9, n).astype(str))),
            "t_event": pa.array(ts1),
            "t_seen": pa.array(ts2),
        }
        table = pa.table(cols)
        opts = pacsv.WriteOptions(include_header=writer is None, quoting_style="needed")
        if writer is None:
            writer = pacsv.CSVWriter(tmp, table.schema, write_options=opts)
        writer.write_table(table)
        done += n
    writer.close()
    os.replace(tmp, path)


# --- running a reader in a child ------------------------------------------------------------

def run_measured(argv):
    """Run argv; (wall seconds, the child's own peak RSS in bytes, stdout).
    os.wait4 gives the rusage of that one child (ru_maxrss, KiB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        # close_fds=False lets subprocess use posix_spawn (vfork): the child
        # then does not start as a copy of this process, whose pages would
        # count in its peak RSS
        p = subprocess.Popen(argv, stdout=out, stderr=err, close_fds=False)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if p.returncode != 0:
            sys.exit(f"bench_load: {argv[0]} failed ({p.returncode}):\n"
                     f"{err.read().decode(errors='replace')}")
        return wall, usage.ru_maxrss * 1024, out.read()


PANDAS_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import pandas as pd
t1 = time.perf_counter()
kw = json.loads(sys.argv[2])
df = pd.read_csv(sys.argv[1], **kw)
t2 = time.perf_counter()
print(json.dumps({"rows": len(df), "columns": len(df.columns), "import_seconds": t1 - t0,
                  "read_seconds": t2 - t1,
                  "dtypes": {c: str(t) for c, t in df.dtypes.items()}}))
"""


PARQUET_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import pandas as pd
t1 = time.perf_counter()
df = pd.read_parquet(sys.argv[1])
t2 = time.perf_counter()
print(json.dumps({"rows": len(df), "import_seconds": t1 - t0, "read_seconds": t2 - t1}))
"""

LOADER = """\
import pandas as pd


def load(path):
    return pd.read_parquet(path)
"""


def generate_parquet(csv_path, parquet_path):
    """The CSV's rows as Parquet (what the benchmark's loader reads)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    pq.write_table(pacsv.read_csv(csv_path), parquet_path + ".part")
    os.replace(parquet_path + ".part", parquet_path)


def bench_runner(assay, python, loader, parquet):
    # the CLI's own peak and its runner child's, as the CLI measured them
    # (wait4's figure would be the larger of the two)
    wall, _, out = run_measured([assay, "debug", "run-loader", loader, "load", "--kwargs",
                                   json.dumps({"path": parquet}), "--runner-python", python])
    info = json.loads(out)
    return {"reader": "assay runner (DataFrame)", "rows": info["rows"], "wall_seconds": wall,
            "read_seconds": info["load_seconds"], "profile_seconds": info["profile_seconds"],
            "peak_rss_bytes": info["assay_peak_rss_kb"] * 1024,
            "runner_peak_rss_bytes": info["runner_peak_rss_kb"] * 1024,
            "types": {p["column"]: p["type"] for p in info["profile"]}}


def bench_parquet(python, parquet):
    wall, rss, out = run_measured([python, "-c", PARQUET_CHILD, parquet])
    info = json.loads(out)
    return {"reader": "pandas.read_parquet (loader's part)", "rows": info["rows"],
            "wall_seconds": wall, "read_seconds": info["read_seconds"],
            "import_seconds": info["import_seconds"], "peak_rss_bytes": rss}


def bench_native(assay, path):
    wall, rss, out = run_measured([assay, "debug", "read-csv", "--quiet", path])
    info = json.loads(out)
    return {"reader": "assay native", "rows": info["rows"], "wall_seconds": wall,
            "read_seconds": info["read_seconds"], "profile_seconds": info["profile_seconds"],
            "peak_rss_bytes": rss,
            "types": {p["column"]: p["type"] for p in info["profile"]}}


def bench_pandas(python, path, engine=None):
    kw = {"engine": engine} if engine else {}
    wall, rss, out = run_measured([python, "-c", PANDAS_CHILD, path, json.dumps(kw)])
    info = json.loads(out)
    return {"reader": f"pandas.read_csv ({engine or 'c'} engine)", "rows": info["rows"],
            "wall_seconds": wall, "read_seconds": info["read_seconds"],
            "import_seconds": info["import_seconds"], "peak_rss_bytes": rss,
            "types": info["dtypes"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--data-dir", default=os.path.join(tempfile.gettempdir(), "assay-bench"))
    ap.add_argument("--assay", help="the assay CLI (default: found from ASSAY_BUILD_DIR, build/, PATH)")
    ap.add_argument("--python", default=sys.executable, help="interpreter for pandas")
    ap.add_argument("--repeat", type=int, default=1, help="runs per reader (best is reported)")
    ap.add_argument("--pyarrow", action="store_true", help="also pandas with engine='pyarrow'")
    ap.add_argument("--skip-pandas", action="store_true")
    ap.add_argument("--skip-runner", action="store_true",
                    help="leave out the DataFrame through the runner")
    ap.add_argument("--json", help="write the results to this file")
    ap.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate_only:
        csv_path = os.path.join(args.data_dir, f"mixed_{args.rows}x20.csv")
        if not os.path.exists(csv_path):
            generate_csv(csv_path, args.rows)
        generate_parquet(csv_path, csv_path[:-4] + ".parquet")
        return

    assay = find_assay(args.assay)
    os.makedirs(args.data_dir, exist_ok=True)
    path = os.path.join(args.data_dir, f"mixed_{args.rows}x20.csv")
    parquet = path[:-4] + ".parquet"
    loader = os.path.join(args.data_dir, "bench_loader.py")
    with open(loader, "w") as f:
        f.write(LOADER)
    if not os.path.exists(path) or (not args.skip_runner and not os.path.exists(parquet)):
        print(f"generating {path} and {parquet} ...", flush=True)
        t0 = time.perf_counter()
        # in a child, so this process stays small (see run_measured)
        subprocess.run([sys.executable, os.path.abspath(__file__), "--generate-only",
                        "--rows", str(args.rows), "--data-dir", args.data_dir], check=True)
        print(f"  {time.perf_counter() - t0:.1f} s", flush=True)
    size = os.path.getsize(path)
    # warm the page cache so every reader sees the same conditions
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass

    readers = [lambda: bench_native(assay, path)]
    if not args.skip_pandas:
        readers.append(lambda: bench_pandas(args.python, path))
        if args.pyarrow:
            readers.append(lambda: bench_pandas(args.python, path, "pyarrow"))
    if not args.skip_runner:
        readers.append(lambda: bench_runner(assay, args.python, loader, parquet))
        readers.append(lambda: bench_parquet(args.python, parquet))
    results = []
    for make in readers:
        best = None
        for _ in range(args.repeat):
            r = make()
            if best is None or r["wall_seconds"] < best["wall_seconds"]:
                best = r
        results.append(best)

    print(f"\n{args.rows:,} rows x 20 columns, {size / 1e6:,.0f} MB, "
          f"{os.cpu_count()} CPUs, best of {args.repeat}\n")
    print(f"{'reader':36} {'wall s':>7} {'read s':>7} {'prof. s':>7} {'rows/s':>12} "
          f"{'MB/s':>6} {'peak RSS MB':>11}")
    for r in results:
        if r["rows"] != args.rows:
            sys.exit(f"bench_load: {r['reader']} read {r['rows']} rows, expected {args.rows}")
        secs = r["read_seconds"]
        r["rows_per_second"] = args.rows / secs
        r["mb_per_second"] = size / 1e6 / secs
        prof = r.get("profile_seconds")
        rss = r["peak_rss_bytes"] / 1e6
        rss_text = (f"{rss:,.0f}" if "runner_peak_rss_bytes" not in r else
                    f"{rss:,.0f} + {r['runner_peak_rss_bytes'] / 1e6:,.0f}")
        print(f"{r['reader']:36} {r['wall_seconds']:7.2f} {secs:7.2f} "
              f"{'' if prof is None else format(prof, '7.2f'):>7} {r['rows_per_second']:12,.0f} "
              f"{r['mb_per_second']:6.0f} {rss_text:>11}")
    print("\nwall s: the child process, start to exit (pandas: with `import pandas`);"
          "\nread s: reading inside the child (rows/s and MB/s from it); prof. s: assay's"
          " schema profile\n(types, null shares, exact distinct counts), which pandas"
          " does not compute.\nassay runner: read s is the whole hand-off — start the"
          " interpreter, import pandas,\nrun the loader (read_parquet), write the columns,"
          " map them — and peak RSS is assay's + the\nrunner child's; MB/s is of the CSV"
          " holding the same rows.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": args.rows, "columns": 20, "bytes": size, "results": results},
                      f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
