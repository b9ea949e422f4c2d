#!/usr/bin/env bash
# Run every benchmarks/bench_*.py; each writes its results under benchmarks/results/.
# Usage: benchmarks/run.sh  (run a single benchmark directly for its options, e.g. --profile)
# PYTHON selects the interpreter that has stardust-git installed (default: ../.venv/bin/python,
# made by scripts/setup.sh).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
PYTHON="${PYTHON:-$(pwd)/../.venv/bin/python}"
# the benchmarks run the CLI by name: the environment's bin folder first
PATH="$(dirname "${PYTHON}"):${PATH}"
export PATH
# the official DDEX XSDs beside the checkout, as in CI (the tool would download them)
export STARDUST_XSD_DIR="${STARDUST_XSD_DIR:-$(cd ../.. && pwd)/shared/ddex-xsd}"
mkdir -p results
# bench_defaults.py compares validate with and without _defaults.yaml; BENCH_NOTES (what else
# the machine is running) is recorded in results/defaults.json.

failed=()
for bench in bench_*.py; do
  [[ -e ${bench} ]] || continue
  name="${bench%.py}"
  echo "== ${name}"
  # tee keeps the printed summary beside the JSON results; PIPESTATUS is the benchmark's status.
  "${PYTHON}" "${bench}" 2>&1 | tee "results/${name#bench_}.log"
  status=${PIPESTATUS[0]}
  if [[ ${status} -ne 0 ]]; then
    failed+=("${name} (exit ${status})")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "benchmarks that failed or missed a target: ${failed[*]}" >&2
  exit 1
fi
echo "all benchmarks met their targets; results in benchmarks/results/"
