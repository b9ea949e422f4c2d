"""Benchmark ``stardust-git validate`` on synthetic catalogs (assets excluded).

    python benchmarks/bench_validate.py [--sizes 1000 10000] [--repeat 3] [--profile]
    python benchmarks/bench_validate.py --sizes 100000 --keep /tmp/stardust-bench   # large

For each size N: the wall time, CPU time (the process and its workers) and peak RSS (the largest
process) of ``validate --no-assets --no-render`` over the whole catalog as a subprocess (median of
--repeat runs, releases/s), and up to 20,000 releases an in-process breakdown (YAML parsing,
model validation, cross-file rules). For the largest N: the wall time of validating ONE changed
release as pre-commit runs it (``validate catalog/<label>/<upc>.yaml --no-assets``), with the
facts cache removed (cold) and present (warm), median of 5 (one cold run above 20,000 releases:
a cold run summarises every file), and served by ``validate --warm`` (a resident server forks
a child per call; median of 7, each beside the same command run cold). Results go to
benchmarks/results/validate.json and are printed; --profile also writes a cProfile summary of
the in-process full run to benchmarks/results/validate-profile.txt. With --keep DIR the
catalogs are generated once into DIR and reused by later runs (100,000 releases take minutes
to write and 420 MB of disk).
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from generate_catalog import generate
from peakrss import measure

from stardust_git.errors import Diagnostics
from stardust_git.index import collect_facts
from stardust_git.models import Release
from stardust_git.source.catalog import (
    Catalog,
    load_genres,
    load_targets,
    relative,
    release_files,
    validate_document,
)
from stardust_git.source.yamlio import YamlLoadError, load_yaml_file
from stardust_git.validate import (
    ValidationOptions,
    check_cross_file,
    check_release_rules,
    checked_release,
    validate_catalog,
)

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
WORK_DIR = RESULTS_DIR / "tmp"
RESULTS_FILE = RESULTS_DIR / "validate.json"
PROFILE_FILE = RESULTS_DIR / "validate-profile.txt"
CACHE_DIR = ".stardust-cache"
SEED = 0
ONE_FILE_RUNS = 5
TARGET_FULL_SECONDS = {10_000: 20.0, 100_000: 30.0}
TARGET_ONE_FILE_SECONDS = {10_000: 1.0, 100_000: 0.3}
TARGET_PEAK_RSS_MIB = 1536
BREAKDOWN_UP_TO = 20_000
"""The in-process breakdown runs on one core with every model in memory: not at 100,000."""


def stardust_git() -> str:
    script = Path(sys.executable).parent / "stardust-git"
    if not script.is_file():
        raise SystemExit(f"stardust-git is not installed beside {sys.executable}")
    return str(script)


def timed_run(command: list[str], cwd: Path) -> float:
    """Wall seconds of one subprocess; it must exit 0 (the synthetic catalog is valid)."""
    return measured_run(command, cwd)["wall_s"]


def measured_run(command: list[str], cwd: Path) -> dict[str, float]:
    """Wall seconds, CPU seconds (with its workers) and peak RSS in MiB (of its largest
    process) of one subprocess, which must exit 0."""
    run = measure(command, cwd)
    if run.done.returncode != 0:
        output = run.done.stdout + run.done.stderr
        raise SystemExit(f"{' '.join(command)} exited {run.done.returncode}:\n{output[-4000:]}")
    return {"wall_s": run.wall_s, "cpu_s": run.cpu_s, "peak_rss_mib": run.peak_rss_mib}


def drop_cache(root: Path) -> None:
    shutil.rmtree(root / CACHE_DIR, ignore_errors=True)


def catalog_for(n: int, work: Path) -> Path:
    """The synthetic catalog of ``n`` releases under ``work``, generated unless a finished one
    is there (the marker file is written last)."""
    root = work / f"catalog-{n}"
    marker = root / ".stardust-bench-generated"
    if marker.is_file() and marker.read_text(encoding="utf-8") == f"{n} {SEED}\n":
        print(f"reusing {n} releases: {root}")
        if not (root / ".git").exists():  # kept by an older version of this benchmark
            commit_all(root)
        return root
    shutil.rmtree(root, ignore_errors=True)
    started = time.perf_counter()
    generate(root, n, SEED)
    commit_all(root)
    marker.write_text(f"{n} {SEED}\n", encoding="utf-8")
    print(f"generated {n} releases in {time.perf_counter() - started:.1f} s: {root}")
    return root


def commit_all(root: Path) -> None:
    """A catalog is a git repository: pre-commit runs in one, and the facts index asks git which
    files changed."""
    identity = ["-c", "user.name=bench", "-c", "user.email=bench@example.invalid"]
    for args in (
        ["init", "--quiet"],
        ["add", "-A"],
        [*identity, "commit", "--quiet", "-m", "catalog"],
    ):
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


# --- whole catalog ---------------------------------------------------------------------------


def bench_full(root: Path, n: int, repeat: int) -> dict[str, Any]:
    command = [stardust_git(), "validate", "--root", str(root), "--no-assets", "--no-render"]
    runs = []
    for _ in range(repeat):
        drop_cache(root)
        runs.append(measured_run(command, root))
    wall = statistics.median(run["wall_s"] for run in runs)
    peak = max(run["peak_rss_mib"] for run in runs)
    result: dict[str, Any] = {
        "releases": n,
        "wall_s": round(wall, 3),
        "cpu_s": round(statistics.median(run["cpu_s"] for run in runs), 3),
        "peak_rss_mib": round(peak, 1),
        "releases_per_s": round(n / wall, 1),
        "runs_s": [round(run["wall_s"], 3) for run in runs],
        "load_average_after": [round(load, 2) for load in os.getloadavg()],
    }
    if n in TARGET_FULL_SECONDS:
        result["target_s"] = TARGET_FULL_SECONDS[n]
        result["target_met"] = wall < TARGET_FULL_SECONDS[n] and peak < TARGET_PEAK_RSS_MIB
    return result


class Stages:
    """Seconds per stage, with the cyclic garbage collector's time taken out and kept apart."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.gc_seconds = 0.0
        self._gc_started = 0.0

    def on_gc(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_seconds += time.perf_counter() - self._gc_started

    @contextmanager
    def timing(self, stage: str) -> Iterator[None]:
        started, gc_before = time.perf_counter(), self.gc_seconds
        yield
        self.seconds[stage] += time.perf_counter() - started - (self.gc_seconds - gc_before)


def breakdown(root: Path) -> dict[str, float]:
    """In-process seconds per stage of a full validation (imports already paid)."""
    stages = Stages()
    gc.callbacks.append(stages.on_gc)
    try:
        _run_stages(root, stages)
    finally:
        gc.callbacks.remove(stages.on_gc)
    result = {f"{stage}_s": seconds for stage, seconds in stages.seconds.items()}
    result["gc_s"] = stages.gc_seconds
    result["total_s"] = sum(result.values())
    return {name: round(seconds, 3) for name, seconds in result.items()}


def _run_stages(root: Path, stages: Stages) -> None:
    diagnostics = Diagnostics()
    catalog = Catalog(root=root, diagnostics=diagnostics)
    with stages.timing("targets_and_genres"):
        load_targets(root, catalog)
        load_genres(root, catalog)
    for path in release_files(root):
        shown = relative(root, path)
        try:
            with stages.timing("yaml"):
                document = load_yaml_file(path, shown)
        except YamlLoadError as error:
            diagnostics.extend(error.diagnostics)
            continue
        with stages.timing("models"):
            loaded = validate_document(document, Release, diagnostics)
        if loaded:
            catalog.releases[shown] = loaded
    with stages.timing("cross_file"):
        checked = [checked_release(loaded) for loaded in catalog.releases.values()]
        facts = {release.facts.path: release.facts for release in checked}
        others = collect_facts(root, facts, catalog.unreadable).sharing
        diagnostics.extend(check_cross_file(checked, others))
        for loaded in catalog.releases.values():
            check_release_rules(catalog, loaded, diagnostics)
    if diagnostics.errors:
        raise SystemExit(f"the synthetic catalog is invalid: {diagnostics.errors[0].format()}")


def profile_full(root: Path) -> str:
    profiler = cProfile.Profile()
    options = ValidationOptions(check_assets=False, check_render=False)
    profiler.runcall(validate_catalog, root, None, options)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(35)
    stats.sort_stats("tottime").print_stats(25)
    return out.getvalue()


# --- one changed file, as pre-commit runs it --------------------------------------------------


def bench_one_file(root: Path, n: int) -> dict[str, Any]:
    names = sorted(relative(root, p) for p in release_files(root))
    changed = root / names[len(names) // 2]
    original = changed.read_bytes()
    command = [stardust_git(), "validate", str(changed.relative_to(root)), "--no-assets"]
    cold_runs = 5 if n <= BREAKDOWN_UP_TO else 1
    target = TARGET_ONE_FILE_SECONDS.get(n, TARGET_ONE_FILE_SECONDS[10_000])
    try:
        cold = [
            _edit_and_run(changed, original, command, root, run, cold=True)
            for run in range(cold_runs)
        ]
        drop_cache(root)
        timed_run(command, root)  # warms the cache, as the first commit of the day would
        warm = [
            _edit_and_run(changed, original, command, root, run, cold=False) for run in range(5)
        ]
        served = bench_served(root, changed, original, command)
    finally:
        changed.write_bytes(original)
    warm_median = statistics.median(run["wall_s"] for run in warm)
    return {
        **served,
        "file": changed.relative_to(root).as_posix(),
        "cold_s": round(statistics.median(run["wall_s"] for run in cold), 3),
        "warm_s": round(warm_median, 3),
        "warm_cpu_s": round(statistics.median(run["cpu_s"] for run in warm), 3),
        "cold_runs_s": [round(run["wall_s"], 3) for run in cold],
        "warm_runs_s": [round(run["wall_s"], 3) for run in warm],
        "warm_runs_cpu_s": [round(run["cpu_s"], 3) for run in warm],
        "load_average_after": [round(load, 2) for load in os.getloadavg()],
        "target_s": target,
        "target_met": warm_median < target,
    }


def bench_served(root: Path, changed: Path, original: bytes, command: list[str]) -> dict[str, Any]:
    """The same edit and check served by ``validate --warm`` (the stardust-validate-warm hook):
    a resident server forks a child per call. Wall seconds as the hook sees them, timed around
    the command itself (no measuring trampoline), with the same command run cold beside it,
    interleaved. The served child's CPU is the server's, not the caller's: wall only."""
    folder = Path(tempfile.mkdtemp(prefix="sdw-", dir="/tmp"))  # AF_UNIX paths are short
    env = {**os.environ, "STARDUST_WARM_DIR": str(folder), "STARDUST_WARM_VERBOSE": "1"}
    warm_command = [*command, "--warm"]
    try:
        subprocess.run(warm_command, cwd=root, env=env, capture_output=True, check=True)
        _wait_for_socket(folder)
        pairs = [_served_and_cold(root, changed, original, run, env, command) for run in range(7)]
    finally:
        for lock in folder.glob("*.lock"):
            with contextlib.suppress(ValueError, OSError):
                os.kill(int(lock.read_text()), signal.SIGTERM)
        shutil.rmtree(folder, ignore_errors=True)
    served, cold = ([pair[side] for pair in pairs] for side in (0, 1))
    return {
        "served_warm_s": round(statistics.median(served), 3),
        "served_warm_runs_s": [round(seconds, 3) for seconds in served],
        "same_command_cold_direct_s": round(statistics.median(cold), 3),
        "same_command_cold_direct_runs_s": [round(seconds, 3) for seconds in cold],
    }


def _wait_for_socket(folder: Path, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not list(folder.glob("*.sock")):
        if time.monotonic() > deadline:
            raise SystemExit(f"no warm validate server listened in {folder} within {seconds} s")
        time.sleep(0.1)


def _served_and_cold(
    root: Path, changed: Path, original: bytes, run: int, env: dict[str, str], command: list[str]
) -> tuple[float, float]:
    timings = []
    for warm in (True, False):
        changed.write_bytes(original + f"# served edit {run} {warm}\n".encode())
        started = time.perf_counter()
        done = subprocess.run(
            [*command, "--warm"] if warm else command,
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        timings.append(time.perf_counter() - started)
        if done.returncode != 0 or (warm and "warm: served by process" not in done.stderr):
            raise SystemExit(f"validate{' --warm' * warm} failed or was not served:\n{done.stderr}")
    return timings[0], timings[1]


def _edit_and_run(
    path: Path, original: bytes, command: list[str], root: Path, run: int, cold: bool
) -> dict[str, float]:
    """Change the file (a new comment line) the way an edit would, then validate it (wall and
    CPU seconds: on a shared machine the CPU seconds are the ones to compare)."""
    path.write_bytes(original + f"# edit {run}\n".encode())
    if cold:
        drop_cache(root)
    return measured_run(command, root)


# --- report ----------------------------------------------------------------------------------


def environment() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit or None,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def print_summary(results: dict[str, Any]) -> None:
    print(f"\nvalidate --no-assets --no-render ({results['environment']['cpus']} CPUs)")
    for row in results["full"]:
        target = row.get("target_s")
        verdict = (
            f"  target < {target:g} s: {'met' if row['target_met'] else 'MISSED'}" if target else ""
        )
        print(
            f"  {row['releases']:>6} releases  {row['wall_s']:7.2f} s  "
            f"{row['releases_per_s']:8.1f} releases/s  CPU {row['cpu_s']:.1f} s  "
            f"peak RSS {row['peak_rss_mib']:.0f} MiB{verdict}"
        )
        stages = results["breakdown"].get(str(row["releases"]))
        if stages:
            print(
                "          in-process: "
                + ", ".join(f"{name[:-2]} {seconds:.2f} s" for name, seconds in stages.items())
            )
    one = results["one_file"]
    verdict = "met" if one["target_met"] else "MISSED"
    print(
        f"  one changed file in {results['one_file_catalog']} releases: "
        f"cold {one['cold_s']:.2f} s, warm {one['warm_s']:.2f} s ({one['warm_cpu_s']:.2f} CPU-s) "
        f"(target warm < {one['target_s']:g} s: {verdict})"
    )
    print(
        f"  the same served by validate --warm: {one['served_warm_s']:.2f} s "
        f"(cold beside it, timed the same way: {one['same_command_cold_direct_s']:.2f} s)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--repeat", type=int, default=3, help="full runs per size (median)")
    parser.add_argument("--profile", action="store_true", help="write a cProfile summary")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="results JSON file")
    parser.add_argument(
        "--keep", type=Path, default=None, help="generate catalogs here once and keep them"
    )
    parser.add_argument("--notes", default=os.environ.get("BENCH_NOTES", ""))
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"environment": environment(), "full": [], "breakdown": {}}
    results["environment"]["notes"] = args.notes
    for n in sorted(args.sizes):
        root = catalog_for(n, args.keep or WORK_DIR)
        results["full"].append(bench_full(root, n, args.repeat))
        if n <= BREAKDOWN_UP_TO:
            results["breakdown"][str(n)] = breakdown(root)
        if n == max(args.sizes):
            results["one_file_catalog"] = n
            results["one_file"] = bench_one_file(root, n)
            if args.profile:
                PROFILE_FILE.write_text(profile_full(root), encoding="utf-8")
        if args.keep is None:
            shutil.rmtree(root)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print_summary(results)
    print(f"\nwrote {args.output}")
    met = all(row.get("target_met", True) for row in results["full"])
    return 0 if met and results["one_file"]["target_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
