"""Benchmark: CPU seconds per delivery and peak RSS of ``deliver --all --dry-run`` at N releases.

Issue 15: the 100,000 build and dry run must be affordable, memory flat in catalog size. Runs
on a repository bench_memory.py built and kept (``--repo``: its ``catalog-repo``, read only: a
clone is made, objects shared), with N of its releases: a commit of the catalog before the
receipts (``HEAD~2``) with every other release file left out, made with a private index (the
working tree, and so the media and the media cache, is untouched). Each size runs
``deliver --all --dry-run --head <that commit>`` (without the duplicate-recordings check, as
bench_memory.py does) once per ``--tool`` (a folder holding a ``stardust_git``: compare a
snapshot of main with this checkout), as a subprocess measured by peakrss.py. The first run
warms the clone's media cache (its files are new inodes): ``--warm`` runs one first, unmeasured.

    python benchmarks/bench_render_deliver.py --repo DIR/catalog-repo --sizes 1000 10000 \\
        --tool before=/tmp/main-snapshot --tool after=. [--clone /tmp/rd] [--warm]

Results: benchmarks/results/render-deliver.json (CPU-s per delivery, peak RSS, the slope in KiB
per release between the smallest and largest size).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from peakrss import measure

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "render-deliver.json"
WITHOUT_DUPLICATES = str(BENCH_DIR / "without_duplicates.py")
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


def subset_commit(root: Path, n: int) -> str:
    """A commit of ``HEAD~2`` holding only the first ``n`` release files (by UPC)."""
    env = {**os.environ, **GIT_ENV, "GIT_INDEX_FILE": str(root / ".git" / f"bench-{n}.index")}
    env.update(GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")
    git(root, "read-tree", "HEAD~2", env=env)
    releases = [p for p in git(root, "ls-files", "catalog", env=env).splitlines() if _upc(p)]
    dropped = sorted(releases, key=_upc)[n:]
    for start in range(0, len(dropped), 2000):
        git(root, "rm", "-q", "--cached", *dropped[start : start + 2000], env=env)
    tree = git(root, "write-tree", env=env)
    return git(root, "commit-tree", tree, "-p", "HEAD~2", "-m", f"{n} releases", env=env)


def _upc(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name[:-5] if name.endswith(".yaml") and name[:-5].isdigit() else ""


def dry_run(root: Path, commit: str, tool: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tool.resolve())}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = [sys.executable, WITHOUT_DUPLICATES, "deliver", "--all", "--dry-run"]
    run = measure([*command, "--head", commit], root, env)
    if run.done.returncode != 0:
        raise SystemExit(f"the dry run failed:\n{run.done.stderr[-3000:]}")
    rendered = run.done.stderr.count("\nrendered ") + run.done.stderr.startswith("rendered ")
    return {
        "deliveries": rendered,
        "cpu_s": round(run.cpu_s, 1),
        "ms_cpu_per_delivery": round(1000 * run.cpu_s / max(rendered, 1), 2),
        "peak_rss_mib": round(run.peak_rss_mib, 1),
        "wall_s": round(run.wall_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, required=True)
    parser.add_argument("--clone", type=Path, default=BENCH_DIR / "results" / "tmp" / "rd")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--tool", action="append", default=[], help="NAME=DIR")
    parser.add_argument("--warm", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--notes", default=os.environ.get("BENCH_NOTES", ""))
    args = parser.parse_args()
    tools = dict(item.split("=", 1) for item in args.tool) or {"this": str(BENCH_DIR.parent)}
    if not args.clone.exists():
        subprocess.run(["git", "clone", "-q", str(args.repo), str(args.clone)], check=True)
    commits = {n: subset_commit(args.clone, n) for n in args.sizes}
    if args.warm:
        dry_run(args.clone, commits[max(args.sizes)], Path(next(iter(tools.values()))))
    runs = [
        {"releases": n, "tool": name, **dry_run(args.clone, commits[n], Path(folder))}
        for n in args.sizes
        for name, folder in tools.items()
    ]
    write_results(runs, args.notes, args.out)


def slope(runs: list[dict[str, object]], tool: str) -> float | None:
    """KiB of peak RSS per release between the smallest and the largest size."""
    mine = sorted((r for r in runs if r["tool"] == tool), key=lambda r: int(r["releases"]))  # type: ignore[call-overload]
    if len(mine) < 2 or mine[-1]["releases"] == mine[0]["releases"]:
        return None
    rss = float(mine[-1]["peak_rss_mib"]) - float(mine[0]["peak_rss_mib"])  # type: ignore[arg-type]
    releases = int(mine[-1]["releases"]) - int(mine[0]["releases"])  # type: ignore[call-overload]
    return round(1024 * rss / releases, 2)


def write_results(runs: list[dict[str, object]], notes: str, out: Path) -> None:
    tools = dict.fromkeys(str(r["tool"]) for r in runs)
    result = {
        "measured_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average_at_end": list(os.getloadavg()),
        "notes": notes,
        "runs": runs,
        "kib_per_release": {tool: slope(runs, tool) for tool in tools},
    }
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
