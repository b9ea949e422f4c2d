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

# The pools again with every server 10 ms away (latency_proxy.py), as shops are: 100 releases.
echo "== bench_pools (10 ms round trip)"
"${PYTHON}" bench_pools.py --releases 100 --rtt-ms 10 2>&1 | tee results/pools-rtt-10ms.log
status=${PIPESTATUS[0]}
[[ ${status} -eq 0 ]] || failed+=("bench_pools --rtt-ms 10 (exit ${status})")

# BENCH_LARGE=1 adds the 100,000-release runs of issue 15 (validate, plan, deliver --dry-run):
# the catalogs are generated once into BENCH_KEEP (default results/tmp/large, about 1 GB with the
# plan repository's receipts) and reused by the next run; building the plan repository delivers
# every release once and takes hours.
if [[ ${BENCH_LARGE:-0} == 1 ]]; then
  keep="${BENCH_KEEP:-results/tmp/large}"
  echo "== bench_validate (100,000 releases)"
  "${PYTHON}" bench_validate.py --sizes 100000 --repeat 1 --keep "${keep}" \
    --output results/validate-100k.json 2>&1 | tee results/validate-100k.log
  [[ ${PIPESTATUS[0]} -eq 0 ]] || failed+=("bench_validate 100k")
  echo "== bench_plan (100,000 releases)"
  "${PYTHON}" bench_plan.py --releases 100000 --keep "${keep}/plan-100000" 2>&1 |
    tee results/plan-100000.log
  [[ ${PIPESTATUS[0]} -eq 0 ]] || failed+=("bench_plan 100k")
  echo "== bench_dry_run (100,000 releases)"
  "${PYTHON}" bench_dry_run.py --releases 100000 --keep "${keep}/dry-run-100000" 2>&1 |
    tee results/dry-run-100000.log
  [[ ${PIPESTATUS[0]} -eq 0 ]] || failed+=("bench_dry_run 100k")
fi

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "benchmarks that failed or missed a target: ${failed[*]}" >&2
  exit 1
fi
echo "all benchmarks met their targets; results in benchmarks/results/"
