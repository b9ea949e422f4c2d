"""Benchmark: peak RSS of `deliver --all --dry-run` and `plan --all` against catalog size.

Issue 15: memory stays flat in catalog size where it can (plan and deliver stream). For each
size (1,000 and 10,000; 100,000 with BENCH_LARGE=1 or --sizes) a repository is built without
delivering anything (delivering 100,000 releases takes hours): the synthetic catalog
(generate_catalog.py, media as hard links, local targets, as bench_plan.py builds it) is
committed, then every release is delivered by deliver's own engine in two shards at once, the
local target's copies discarded (delivered_repo.py: the receipts a real run writes), and the
receipts committed; then one release's title is edited and committed. The dry run leaves out the
duplicate-recordings check (without_duplicates.py: the benchmark media are shared). Measured,
each once, as subprocesses of the real CLI, with the peak RSS of the largest process (peakrss.py):

- ``deliver --all --dry-run --head HEAD~2`` (the commit before the receipts): every release
  rendered and gated, nothing sent
- ``plan --all``: every release examined against its receipts (finds the one edit)
- ``plan --base HEAD~1``: the one change

and, in-process at the smaller sizes, how many releases ``plan --base HEAD~1`` loads and renders
(it must not grow with the catalog). The slope (KiB per release) between sizes is the number
that says whether memory is flat. Results: benchmarks/results/memory.json.

    python benchmarks/bench_memory.py [--sizes 1000 10000] [--keep DIR] [--tool DIR] [--notes TEXT]

With BENCH_LARGE=1 the repositories are kept in $BENCH_KEEP (default results/tmp/large) and
reused: building the 100,000-release one takes a while (generation, then about 16 CPU-seconds
per 1,000 releases delivering), not hours.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_plan import BUILT_MARKER, WORKERS, built_before, renderer_matches, snapshot_tool
from delivered_repo import (
    deliver_in_shards,
    dry_run_command,
    edit_one_title,
    generate_committed,
    generated_before,
)
from peakrss import measure

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "memory.json"
TARGET_PEAK_RSS_MIB = 1536
COUNTED_UP_TO = 20_000
"""In-process counts of a one-change plan load the whole catalog's receipts in this process."""


def build(root: Path, tool: Path, n: int) -> dict[str, object]:
    """Generated and committed; every release delivered by deliver's engine in shards (the
    local target's copies discarded), receipts committed; one title edited and committed."""
    generate_committed(root, n)
    delivered = deliver_in_shards(root, WORKERS, _env(tool))
    edit_one_title(root)
    built = {"receipts": sum(1 for _ in (root / "receipts").rglob("*.json"))}
    built["deliver_all_seconds"] = round(float(delivered["seconds"]), 1)
    (root / BUILT_MARKER).write_text(json.dumps({"releases": n, **built}), encoding="utf-8")
    return built


def _env(tool: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tool)}


def one_change_counts(root: Path) -> dict[str, int]:
    """How many releases ``plan --base HEAD~1`` loads (examines) and renders, in-process."""
    import stardust_git.render as render
    from stardust_git.plan import compute_plan

    rendered = 0
    original = render.render_package

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal rendered
        rendered += 1
        return original(*args, **kwargs)  # type: ignore[arg-type]

    render.render_package = counting  # type: ignore[assignment]
    try:
        plan = compute_plan(root, base="HEAD~1")
    finally:
        render.render_package = original
    return {"examined": plan.examined, "rendered": rendered, "actions": len(plan.actions)}


def measure_size(n: int, keep: Path | None, tool: Path) -> dict[str, object]:
    workdir = (keep / f"memory-{n}") if keep else Path(tempfile.mkdtemp(prefix="bench-memory-"))
    root = workdir / "catalog-repo"
    built = built_before(root, n)
    if built is None:
        if not generated_before(root, n):  # a build stopped after generating resumes from it
            shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
        built = build(root, tool, n)
    same_renderer = renderer_matches(root, tool)  # else plan --all renders every release
    # the commit before the receipts: every release is delivered, none has been yet
    dry = measure(dry_run_command("HEAD~2"), root, _env(tool))
    every = measure(["stardust-git", "plan", "--all", "--format", "json"], root, _env(tool))
    one = measure(
        ["stardust-git", "plan", "--base", "HEAD~1", "--format", "json"], root, _env(tool)
    )
    for name, run in (("deliver", dry), ("plan --all", every), ("plan --base HEAD~1", one)):
        if run.done.returncode != 0:
            raise SystemExit(f"{name} failed:\n{run.done.stderr[-3000:]}")
    found = [len(json.loads(run.done.stdout)["actions"]) for run in (every, one)]
    assert found == [1, 1], f"each plan must find exactly the one edited release: {found}"
    result: dict[str, object] = {
        "releases": n,
        **built,
        "deliver_dry_run_peak_rss_mib": round(dry.peak_rss_mib, 1),
        "deliver_dry_run_cpu_s": round(dry.cpu_s, 1),
        "deliver_dry_run_rendered": dry.done.stderr.count("rendered "),
        "receipts_name_this_renderer": same_renderer,
        "plan_all_peak_rss_mib": round(every.peak_rss_mib, 1),
        "plan_all_cpu_s": round(every.cpu_s, 1),
        "plan_one_change_peak_rss_mib": round(one.peak_rss_mib, 1),
        "plan_one_change_cpu_s": round(one.cpu_s, 2),
    }
    if n <= COUNTED_UP_TO:
        result["plan_one_change_counts"] = one_change_counts(root)
    if keep is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def slopes(runs: list[dict[str, object]]) -> dict[str, float]:
    """KiB per release between the smallest and the largest size, per measurement."""
    if len(runs) < 2:
        return {}
    small, large = runs[0], runs[-1]
    releases = int(large["releases"]) - int(small["releases"])  # type: ignore[call-overload]
    keys = ["deliver_dry_run_peak_rss_mib", "plan_all_peak_rss_mib"]
    return {
        key.removesuffix("_peak_rss_mib"): round(
            (float(large[key]) - float(small[key])) * 1024 / releases,  # type: ignore[arg-type]
            2,
        )
        for key in keys
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    large = os.environ.get("BENCH_LARGE") == "1"
    default_sizes = [1_000, 10_000, 100_000] if large else [1_000, 10_000]
    parser.add_argument("--sizes", type=int, nargs="+", default=default_sizes)
    kept = os.environ.get("BENCH_KEEP") or (str(BENCH_DIR / "results/tmp/large") if large else "")
    parser.add_argument(
        "--keep", type=Path, default=Path(kept) if kept else None, help="build repositories here"
    )
    parser.add_argument("--notes", default=os.environ.get("BENCH_NOTES", ""))
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--tool", type=Path, default=None, help="a folder holding the stardust_git to measure"
    )
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="bench-memory-tool-"))
    tool = args.tool.resolve() if args.tool else snapshot_tool(scratch)
    import_from(tool)
    load_before = [round(load, 2) for load in os.getloadavg()]
    try:
        runs = [measure_size(n, args.keep, tool) for n in sorted(args.sizes)]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    peak = max(
        float(run[key])  # type: ignore[arg-type]
        for run in runs
        for key in ("deliver_dry_run_peak_rss_mib", "plan_all_peak_rss_mib")
    )
    result = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "commit": _commit(),
        "tool": str(args.tool) if args.tool else "a copy of this checkout's stardust_git",
        "notes": args.notes,
        "load_average_before": load_before,
        "load_average_at_end": [round(load, 2) for load in os.getloadavg()],
        "runs": runs,
        "kib_per_release": slopes(runs),
        "target_peak_rss_mib": TARGET_PEAK_RSS_MIB,
        "within_targets": peak < TARGET_PEAK_RSS_MIB,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0 if result["within_targets"] else 1


def import_from(tool: Path) -> None:
    """This process uses the measured package too: the receipts it writes name that renderer
    (a receipt of another renderer would make the plan render every release again)."""
    sys.path.insert(0, str(tool))
    import stardust_git

    assert Path(stardust_git.__file__).parent == tool / "stardust_git", stardust_git.__file__


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=BENCH_DIR, capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
