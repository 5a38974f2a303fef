#!/usr/bin/env bash
# The development sweep behind the arms' defaults (issue 7): every variant of the GP's output transform,
# the forest's output transform and TPE's split and bandwidth, on the development functions (10 seeds x 100
# evaluations, with Optuna's samplers) and the development tables (10 seeds at the default budget).
# Resumable: runs already in the results file are reused. The committed results/synthetic/dev_sweep.* were made
# when the defaults were gp_output=copula, rf_output=log (label gp-copula-rf-log) and `tail` scaled by the
# interquartile range (label gp-tail-iqr; now the good half's spread, measured in runs.jsonl by synthetic.py). Usage: experiments/dev_sweep.sh RESULTS WORKERS
set -euo pipefail
cd "$(dirname "$0")/.."
RESULTS=${1:-experiments/results/synthetic/dev_sweep.jsonl}
WORKERS=${2:-2}
PY=${PY:-.venv/bin/python}
VARIANTS=(
  --variant 'gp-copula-rf-log={"gp_output": "copula", "rf_output": "log", "methods": ["GP-EI", "TPE", "RF-EI", "RANDOM"]}'
  --variant 'gp-raw={"gp_output": "raw", "methods": ["GP-EI"]}'
  --variant 'gp-tail={"gp_output": "tail", "methods": ["GP-EI"]}'
  --variant 'rf-log={"rf_output": "log", "methods": ["RF-EI"]}'
  --variant 'gp-power={"gp_output": "power", "methods": ["GP-EI"]}'
  --variant 'gp-pool-only={"gp_output": "raw", "acq_starts": 0, "methods": ["GP-EI"]}'
  --variant 'rf-raw={"rf_output": "raw", "methods": ["RF-EI"]}'
  --variant 'rf-tail={"rf_output": "tail", "methods": ["RF-EI"]}'
  --variant 'rf-copula={"rf_output": "copula", "methods": ["RF-EI"]}'
  --variant 'tpe-fixed={"tpe_bandwidth": "fixed", "methods": ["TPE"]}'
  --variant 'tpe-sqrt={"tpe_gamma": "sqrt", "methods": ["TPE"]}'
  --variant 'tpe-fixed-sqrt={"tpe_bandwidth": "fixed", "tpe_gamma": "sqrt", "methods": ["TPE"]}'
)
$PY experiments/synthetic.py --methods GP-EI TPE RF-EI RANDOM optuna-gp optuna-tpe "${VARIANTS[@]}" \
  --workers "$WORKERS" --results "$RESULTS" ${EXTRA_FUNCTIONS:-}
$PY experiments/synthetic.py --tables ${EXTRA_TABLES:-} --methods GP-EI TPE RF-EI RANDOM "${VARIANTS[@]}" \
  --workers "$WORKERS" --results "$RESULTS" --seeds ${TABLE_SEEDS:-10}
