"""Benchmark what defaults files cost ``stardust-git validate`` (issue 12: within 10 %).

    python benchmarks/bench_defaults.py [--releases 10000] [--repeat 3] [--notes TEXT]

The synthetic catalog of generate_catalog.py is written twice, resolving to the same releases:
once in full (every release file writes its label's label, P and C lines, deals and targets) and
once with those fields moved into one ``catalog/<label>/_defaults.yaml`` per label. Both are
validated with ``validate --no-assets --no-render`` (the synthetic catalog has no media, which
rendering Apple's package reads; defaults cost only in loading) as subprocesses, alternating,
the facts cache removed before each run; the median wall time and the peak RSS of each, and
their ratio, go to
benchmarks/results/defaults.json. Exit 1 when the catalog with defaults is more than 10 % slower.
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
from pathlib import Path
from typing import Any

from bench_import import measured
from generate_catalog import START_YEAR, generate

from stardust_git.source.catalog import load_catalog, release_names

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
WORK_DIR = RESULTS_DIR / "tmp"
RESULTS_FILE = RESULTS_DIR / "defaults.json"
SEED = 0
MOVED = ("label", "p_line", "c_line", "deals", "targets")
TARGET_RATIO = 1.10
LINE_YEAR = re.compile(r"year: \d{4}")
SAMPLE = 200
"""Releases loaded from both catalogs to check they resolve to the same models."""


def split_blocks(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """A release file's lines without the :data:`MOVED` fields, and those fields' blocks."""
    kept: list[str] = []
    moved: dict[str, list[str]] = {}
    current: list[str] = kept
    for line in text.splitlines():
        if not line.startswith((" ", "#")):
            key = line.split(":", 1)[0]
            current = moved.setdefault(key, []) if key in MOVED else kept
        current.append(line)
    return kept, moved


def _shareable(moved: dict[str, list[str]]) -> dict[str, list[str]]:
    """A release's moved fields made true of every release of its label: P and C lines of the
    first year any release of the catalog has (a line's year may not follow the release)."""
    lines = {
        key: [LINE_YEAR.sub(f"year: {START_YEAR}", line) for line in block]
        for key, block in moved.items()
    }
    return lines


def write_both(full: Path, with_defaults: Path) -> None:
    """Give every release its label's first release's moved fields: written out in ``full``,
    from ``catalog/<label>/_defaults.yaml`` in ``with_defaults`` (a copy of ``full``)."""
    shared: dict[str, dict[str, list[str]]] = {}
    for name in release_names(full):
        folder = name.rsplit("/", 1)[0]
        kept, moved = split_blocks((full / name).read_text(encoding="utf-8"))
        fields = shared.setdefault(folder, _shareable(moved))
        lines = [line for key in MOVED for line in fields.get(key, [])]
        (full / name).write_text("\n".join(kept + lines) + "\n", encoding="utf-8")
        (with_defaults / name).write_text("\n".join(kept) + "\n", encoding="utf-8")
    for folder, fields in shared.items():
        header = "# yaml-language-server: $schema=../../schemas/defaults.schema.json"
        lines = [header, *(line for key in MOVED for line in fields.get(key, []))]
        (with_defaults / folder / "_defaults.yaml").write_text("\n".join(lines) + "\n")


def same_releases(full: Path, with_defaults: Path) -> int:
    """How many sampled releases resolve to the same model in both catalogs (all, or exit)."""
    names = release_names(full)[:: max(1, len(release_names(full)) // SAMPLE)]
    left = load_catalog(full, [full / name for name in names])
    right = load_catalog(with_defaults, [with_defaults / name for name in names])
    for name in names:
        if left.releases[name].model != right.releases[name].model:
            raise SystemExit(f"{name}: the two catalogs resolve it differently")
    return len(names)


def catalogs(n: int) -> tuple[Path, Path]:
    full, with_defaults = WORK_DIR / f"full-{n}", WORK_DIR / f"defaults-{n}"
    for root in (full, with_defaults):
        shutil.rmtree(root, ignore_errors=True)
    generate(full, n, SEED)
    shutil.copytree(full, with_defaults)
    write_both(full, with_defaults)
    return full, with_defaults


def validate_once(root: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB, the largest process) of one cold ``validate``."""
    shutil.rmtree(root / ".stardust-cache", ignore_errors=True)
    command = [
        str(Path(sys.executable).parent / "stardust-git"),
        "validate",
        "--no-assets",
        "--no-render",
    ]
    seconds, mib, _ = measured([*command, "--root", str(root)], root)
    return seconds, mib


def side_by_side(roots: dict[str, Path], repeat: int) -> dict[str, dict[str, Any]]:
    """Alternating runs, so both sides share whatever else the machine is doing."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in roots}
    for _ in range(repeat):
        for name, root in roots.items():
            runs[name].append(validate_once(root))
    return {
        name: {
            "wall_s": round(statistics.median(s for s, _ in found), 3),
            "peak_rss_mib": round(max(m for _, m in found), 1),
            "runs_s": [round(s, 3) for s, _ in found],
        }
        for name, found in runs.items()
    }


def environment() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "-C", str(BENCH_DIR), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": commit,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--notes",
        default=os.environ.get("BENCH_NOTES", ""),
        help="what else the machine was doing (default: $BENCH_NOTES)",
    )
    args = parser.parse_args(argv)
    full, with_defaults = catalogs(args.releases)
    checked = same_releases(full, with_defaults)
    results = side_by_side({"full": full, "defaults": with_defaults}, args.repeat)
    ratio = results["defaults"]["wall_s"] / results["full"]["wall_s"]
    rss_ratio = results["defaults"]["peak_rss_mib"] / results["full"]["peak_rss_mib"]
    report = {
        "benchmark": "defaults",
        "releases": args.releases,
        "defaults_files": len(list(with_defaults.glob("catalog/*/_defaults.yaml"))),
        "moved_fields": list(MOVED),
        "same_models_checked": checked,
        "command": "validate --no-assets --no-render (facts cache removed before each run)",
        **results,
        "time_ratio": round(ratio, 3),
        "rss_ratio": round(rss_ratio, 3),
        "target_ratio": TARGET_RATIO,
        "target_met": ratio <= TARGET_RATIO,
        "notes": args.notes,
        "environment": environment(),
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for name in ("full", "defaults"):
        shown = results[name]
        print(f"{name:9} {shown['wall_s']:7.2f} s  {shown['peak_rss_mib']:7.1f} MiB peak RSS")
    print(f"ratio    {ratio:7.3f} time, {rss_ratio:.3f} RSS (target <= {TARGET_RATIO})")
    for root in (full, with_defaults):
        shutil.rmtree(root)
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
