"""What one validate worker spends on its releases, in-process: the first N release files of a
catalog (benchmarks/generate_catalog.py) checked in shares of 250 as a worker checks them
(options --no-assets --no-render), after a warm-up share of 100.

    python benchmarks/profile_validate.py CATALOG [--releases 3000] [--repeat 3] [--pyyaml]
        [--profile] [--top 25]

Prints the CPU seconds of each repeat (process time, best last); ``--pyyaml`` parses every file
with PyYAML alone (the reader before source/libyaml_values.py), to compare in the same process
conditions; ``--profile`` runs once under cProfile and prints the functions with the most
cumulative time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from pathlib import Path


def _shares(root: Path, releases: int) -> list[list[Path]]:
    from stardust_git.source.catalog import release_files

    files = release_files(root)[: releases + 100]
    return [files[:100]] + [files[i : i + 250] for i in range(100, len(files), 250)]


def _prepare(root: Path, pyyaml: bool) -> None:
    from stardust_git import validate
    from stardust_git.source import yamlio
    from stardust_git.source.catalog import load_catalog
    from stardust_git.source.libyaml_values import UNVOUCHED

    validate._PRELOADED["support"] = load_catalog(root, [])
    if pyyaml:
        yamlio.libyaml_values = lambda text, encoded=None: UNVOUCHED  # type: ignore[assignment]


def _check(root: Path, shares: list[list[Path]]) -> float:
    """CPU seconds to check every share but the warm-up one."""
    from stardust_git.validate import ValidationOptions, _check_share

    options = ValidationOptions(check_assets=False, check_render=False)
    _check_share((root, shares[0], options))
    started = time.process_time()
    for share in shares[1:]:
        _check_share((root, share, options))
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("catalog", type=Path)
    parser.add_argument("--releases", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pyyaml", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    root = args.catalog.resolve()
    shares = _shares(root, args.releases)
    _prepare(root, args.pyyaml)
    reader = "PyYAML alone" if args.pyyaml else "libyaml_values, PyYAML for the rest"
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(_check, root, shares)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
        print(f"{args.releases} releases, {reader}, under cProfile:\n{out.getvalue()}")
        return
    runs = sorted(_check(root, shares) for _ in range(args.repeat))
    shown = ", ".join(f"{run:.3f}" for run in runs)
    print(f"{args.releases} releases, {reader}: CPU-s {shown} (best {runs[0]:.3f})")


if __name__ == "__main__":
    main()
