#!/usr/bin/env bash
# TPE's bandwidth factor on the development functions (issue 7), beside Optuna's TPESampler:
# multiples of the (clipped) Scott bandwidth and the univariate kernels, 10 seeds x 100 evaluations. Resumable.
# Usage: experiments/tpe_bandwidth.sh [WORKERS]   (report: results/synthetic/tpe_bandwidth.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
variants=()
for f in 0.25 0.4 0.6 1.0 1.6; do
  variants+=(--variant "bw-x$f={\"tpe_bandwidth_factor\": $f, \"methods\": [\"TPE\"]}")
done
variants+=(--variant 'univariate={"tpe_kernel": "univariate", "methods": ["TPE"]}')
$PY experiments/synthetic.py --methods TPE optuna-tpe "${variants[@]}" --workers "${1:-2}" \
  --results experiments/results/synthetic/dev_sweep.jsonl | tee experiments/results/synthetic/tpe_bandwidth.txt
