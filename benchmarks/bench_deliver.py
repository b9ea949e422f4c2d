"""Benchmark: what the gate costs `deliver`, side by side with the tool before the gate.

Builds one synthetic catalog (benchmarks/generate_catalog.py, every referenced asset written),
copies it twice, and lets each tool deliver its own copy once (`deliver --all --commit`, into
local targets). Then, alternating the two tools, it times as wall clock of the real CLI:

- ``deliver --all`` of the unchanged catalog: nothing to send (target: the gated tool at most
  10 % slower than the tool before the gate)
- ``deliver --base HEAD~1`` after one title edit: one release gated, rendered and sent (reported)

The tool before the gate is the package as it was at BASELINE_REV (``git archive``); the gated
tool is this checkout's package, copied at the start so edits during the run cannot leak in.
Medians of --runs runs per side. Results go to benchmarks/results/deliver.json.

    python benchmarks/bench_deliver.py [--releases 1000] [--runs 5] [--baseline REV]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "deliver.json"
#: main before issue 10 (the fail-closed gate, ordering, payload, locking)
BASELINE_REV = "9961654"
MAX_SLOWDOWN = 1.10

sys.path.insert(0, str(BENCH_DIR))
from bench_plan import deliver_locally, generate, git, snapshot_tool  # noqa: E402


def unpack(rev: str, folder: Path, *paths: str) -> Path:
    """``paths`` of this repository as they were at ``rev``, written under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "archive", rev, *paths], cwd=REPO_ROOT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def timed(root: Path, tool: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPATH": str(tool)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "stardust_git", *args],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    return time.perf_counter() - started, done


def checked(what: str, run: tuple[float, subprocess.CompletedProcess[str]]) -> float:
    seconds, done = run
    if done.returncode != 0:
        raise SystemExit(f"{what} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return seconds


def build_catalog(workdir: Path, n: int, rev: str) -> Path:
    """The synthetic catalog with the targets and genre maps as they were at ``rev``, which
    both tools read alike (targets written since may use settings the older tool lacks)."""
    root = workdir / "template"
    root.mkdir(parents=True)
    git(root, "init", "--quiet", "--initial-branch=main")
    (root / ".gitignore").write_text("outbox/\n.stardust-cache/\n.media/\n", encoding="utf-8")
    generate(root, n)
    shutil.rmtree(root / "targets")
    unpack(rev, root, "targets", "genre-maps")
    deliver_locally(root)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", f"{n} releases")
    return root


def edit_one_title(root: Path) -> None:
    edited = min((root / "catalog").rglob("*.yaml"))
    text = edited.read_text(encoding="utf-8")
    edited.write_text(re.sub(r"(?m)^title: (.*)$", r"title: \1 Edited", text, count=1))
    git(root, "commit", "--quiet", "-am", "Edit one title")


def measure(workdir: Path, n: int, runs: int, rev: str) -> dict[str, object]:
    template = build_catalog(workdir, n, rev)
    tools = {
        "before": unpack(rev, workdir / "baseline", "stardust_git"),
        "gated": snapshot_tool(workdir),
    }
    repos = {}
    first_seconds = {}
    for side, tool in tools.items():
        repos[side] = workdir / side
        shutil.copytree(template, repos[side], symlinks=True)
        run = timed(repos[side], tool, "deliver", "--all", "--commit")
        first_seconds[side] = round(checked(f"{side}: first deliver --all", run), 2)
    unchanged: dict[str, list[float]] = {side: [] for side in tools}
    for _ in range(runs):
        for side, tool in tools.items():
            run = timed(repos[side], tool, "deliver", "--all")
            unchanged[side].append(round(checked(f"{side}: deliver --all", run), 3))
            if "nothing to deliver" not in run[1].stdout + run[1].stderr:
                sys.stderr.write(f"{side}: unchanged deliver said:\n{run[1].stdout[-500:]}\n")
    one_change: dict[str, float] = {}
    for side, tool in tools.items():
        edit_one_title(repos[side])
        run = timed(repos[side], tool, "deliver", "--base", "HEAD~1")
        one_change[side] = round(checked(f"{side}: deliver one change", run), 3)
    medians = {side: statistics.median(values) for side, values in unchanged.items()}
    ratio = medians["gated"] / medians["before"]
    return {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "releases": n,
        "baseline_rev": rev,
        "first_deliver_all_seconds": first_seconds,
        "unchanged_deliver_all_seconds": unchanged,
        "unchanged_median_seconds": medians,
        "unchanged_ratio_gated_to_before": round(ratio, 3),
        "one_change_deliver_seconds": one_change,
        "target_max_ratio": MAX_SLOWDOWN,
        "within_targets": ratio <= MAX_SLOWDOWN,
        "load_average_at_end": [round(load, 2) for load in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", default=BASELINE_REV)
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-deliver-"))
    try:
        result = measure(workdir, args.releases, args.runs, args.baseline)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0 if result["within_targets"] else 1


if __name__ == "__main__":
    sys.exit(main())
