"""Where ``plan --all`` spends its time and keeps its memory, on a repository built by
delivered_repo.py (or bench_plan.py --keep).

    python benchmarks/profile_plan.py REPO [--top 25] [--memory | --time]

``--time``: cProfile, the functions with the most cumulative and own time. ``--memory``:
tracemalloc, a snapshot after each share is planned; printed: the peak, and the lines holding the
most memory at the last share (what grows with the catalog is held across shares).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
import tracemalloc
from pathlib import Path


def profile_time(root: Path, top: int) -> str:
    from stardust_git.plan import compute_plan

    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    plan = compute_plan(root, all_=True)
    profiler.disable()
    seconds = time.perf_counter() - started
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    head = f"plan --all: {plan.examined} releases, {len(plan.actions)} actions, {seconds:.1f} s\n"
    return head + out.getvalue()


def profile_memory(root: Path, top: int) -> str:
    import stardust_git.plan as plan_module

    snapshots: list[tracemalloc.Snapshot] = []
    original = plan_module._plan_share

    def planned_share(*args, **kwargs):  # type: ignore[no-untyped-def]
        original(*args, **kwargs)
        snapshots[:] = [tracemalloc.take_snapshot()]  # only the last one is kept

    plan_module._plan_share = planned_share
    tracemalloc.start(8)
    plan = plan_module.compute_plan(root, all_=True)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    lines = [
        f"plan --all: {plan.examined} releases; traced now {current / 2**20:.1f} MiB, "
        f"peak {peak / 2**20:.1f} MiB",
        "held after the last share, by line:",
    ]
    for stat in snapshots[0].statistics("lineno")[:top]:
        lines.append(f"  {stat.size / 2**20:8.2f} MiB {stat.count:9d} blocks  {stat.traceback[0]}")
    lines.append("held after the last share, by where it was allocated (8 frames):")
    for stat in snapshots[0].statistics("traceback")[: top // 3]:
        lines.append(f"  {stat.size / 2**20:8.2f} MiB {stat.count:9d} blocks")
        lines += [f"      {frame}" for frame in stat.traceback.format()[-12:]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args(argv)
    root = args.repo.resolve()
    report = profile_memory(root, args.top) if args.memory else profile_time(root, args.top)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
