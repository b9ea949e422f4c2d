"""Benchmark: peak RSS of `deliver --all --dry-run` over an undelivered catalog of N releases.

Issue 15 asks for the peak RSS of ``deliver --all --dry-run`` at 10,000 and 100,000 releases.
bench_memory.py measures it on a delivered repository (its dry run goes back to the commit before
the receipts), which at 100,000 releases first needs hours of building. The dry run itself needs
no receipts: on the generated, committed catalog (generate_catalog.py's mix, as delivered_repo.py
commits it) every release is planned, rendered and gated, and nothing is sent. Measured as a
subprocess of the real CLI, with the peak RSS of the largest process (peakrss.py: the parent or
one of its forked workers) and the CPU seconds of all of them; the duplicate-recordings check is
left out (without_duplicates.py: the benchmark media are shared across releases).

    python benchmarks/bench_dry_run.py --releases 100000 --keep /tmp/mem-keep/memory-100000

The catalog is generated into ``KEEP/catalog-repo`` once (about 20 minutes at 100,000) and reused
by later runs of the same size (another size generates it again).
Results: benchmarks/results/dry-run-<N>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from delivered_repo import (  # noqa: E402
    dry_run_command,
    generate_committed,
    generated_before,
)
from peakrss import measure  # noqa: E402

TARGET_PEAK_RSS_MIB = 1536


def dry_run(root: Path) -> dict[str, object]:
    """``deliver --all --dry-run`` of every release committed at ``root``'s HEAD."""
    run = measure(dry_run_command("HEAD"), root)
    if run.done.returncode != 0:
        raise SystemExit(f"deliver --dry-run failed:\n{run.done.stderr[-3000:]}")
    return {
        "wall_s": round(run.wall_s, 1),
        "cpu_s": round(run.cpu_s, 1),
        "peak_rss_mib": round(run.peak_rss_mib, 1),
        "rendered": run.done.stderr.count("rendered "),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=10_000)
    parser.add_argument(
        "--keep",
        type=Path,
        default=BENCH_DIR / "results" / "tmp" / "dry-run",
        help="generate the catalog here once (default: results/tmp/dry-run)",
    )
    parser.add_argument("--notes", default=os.environ.get("BENCH_NOTES", ""))
    args = parser.parse_args(argv)
    root = args.keep / "catalog-repo"
    if not generated_before(root, args.releases):  # another size, or a build left in it
        shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True, exist_ok=True)
    generate_committed(root, args.releases)
    load_before = [round(load, 2) for load in os.getloadavg()]
    measured = dry_run(root)
    result = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "releases": args.releases,
        "cpus": os.cpu_count(),
        "notes": args.notes,
        "load_average_before": load_before,
        "load_average_at_end": [round(load, 2) for load in os.getloadavg()],
        "deliver_dry_run": measured,
        "target_peak_rss_mib": TARGET_PEAK_RSS_MIB,
        "within_target": float(measured["peak_rss_mib"]) < TARGET_PEAK_RSS_MIB,  # type: ignore[arg-type]
    }
    output = BENCH_DIR / "results" / f"dry-run-{args.releases}.json"
    output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0 if result["within_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
