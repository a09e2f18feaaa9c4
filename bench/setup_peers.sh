#!/usr/bin/env bash
# bench/setup_peers.sh — the peers' interpreters for bench/bench_stress.py.
#
# Evidently and Deepchecks each get a venv of their own: their pins
# conflict with each other and with assay's (.venv has pandas 3, which
# Evidently 0.7 cannot import; Deepchecks 0.19 needs scikit-learn < 1.6 and
# NumPy < 2). Idempotent: a venv whose packages import is left alone.
#   EVIDENTLY_VENV   default /tmp/bench-venv-evidently
#   DEEPCHECKS_VENV  default /tmp/bench-venv-deepchecks
set -euo pipefail
py="${BENCH_PYTHON:-python3}"
ev="${EVIDENTLY_VENV:-/tmp/bench-venv-evidently}"
dc="${DEEPCHECKS_VENV:-/tmp/bench-venv-deepchecks}"

if ! "$ev/bin/python" -c 'import evidently, pyarrow' 2>/dev/null; then
  "$py" -m venv "$ev"
  "$ev/bin/pip" install -q --disable-pip-version-check \
    "evidently==0.7.23" "pandas==2.2.3" "pyarrow>=15" psutil
fi
if ! "$dc/bin/python" -c 'import deepchecks.tabular, pyarrow' 2>/dev/null; then
  "$py" -m venv "$dc"
  "$dc/bin/pip" install -q --disable-pip-version-check \
    "deepchecks==0.19.1" "scikit-learn==1.5.2" "pandas==2.2.3" "numpy<2" \
    "category-encoders<2.7" "pyarrow<19" psutil
fi
"$ev/bin/python" -c 'import evidently; print("evidently", evidently.__version__)'
"$dc/bin/python" -c 'import deepchecks; print("deepchecks", deepchecks.__version__)' 2>/dev/null
