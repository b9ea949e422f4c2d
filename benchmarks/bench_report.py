"""Benchmark ``stardust-git report`` on a synthetic catalog with delivery receipts.

    python benchmarks/bench_report.py [--releases 10000] [--no-validate] [--no-messages]

Generates N releases (benchmarks/generate_catalog.py, no media: asset problems are reported and
messages cannot be rendered, which the report shows per release), commits them, writes receipts
for every release at each of its targets (1-3 attempts, about 6 % failed, 70 % acknowledged
after 10 minutes to 4 days, a few takedowns), then times ``stardust-git report --out`` as a
subprocess. Targets for 10,000 releases: under 30 s on 2 cores, the site under 200 MB, the
catalog page (index.html and its data script) under 2 MB. Results go to
benchmarks/results/report.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench_plan import git  # git with a fixed identity
from generate_catalog import generate

from stardust_git.models.receipt import Acknowledgement, Delivery, Receipt, SentFile
from stardust_git.receipts import dump_receipt, receipt_path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_FILE = BENCH_DIR / "results" / "report.json"
WORK_DIR = BENCH_DIR / "results" / "tmp"
SEED = 0
TARGET_SECONDS = 30.0
TARGET_SITE_BYTES = 200_000_000
TARGET_CATALOG_PAGE_BYTES = 2_000_000
_TARGETS_LINE = re.compile(r"^upc: \"(\d+)\"$|^targets: \[(.*)\]$", re.MULTILINE)


def release_targets(root: Path) -> dict[str, list[str]]:
    """UPC -> targets, read from the generated files without loading them."""
    found = {}
    for path in sorted((root / "catalog").rglob("*.yaml")):
        upc, targets = "", []
        for match in _TARGETS_LINE.finditer(path.read_text()):
            upc = match.group(1) or upc
            targets = match.group(2).split(", ") if match.group(2) else targets
        found[upc] = targets
    return found


def history(rng: random.Random, commit: str, start: dt.datetime) -> list[Delivery]:
    """1-3 attempts: failures retried, the last one successful 94 % of the time."""
    attempts = rng.choice((1, 1, 1, 2, 3))
    deliveries = []
    for number in range(attempts):
        started = start + dt.timedelta(days=7 * number, minutes=rng.randint(0, 600))
        last = number == attempts - 1
        failed = rng.random() < 0.06 if last else rng.random() < 0.5
        deliveries.append(delivery(rng, commit, started, failed, number))
    return deliveries


def delivery(
    rng: random.Random, commit: str, started: dt.datetime, failed: bool, number: int
) -> Delivery:
    finished = started + dt.timedelta(seconds=rng.randint(5, 400))
    acks = []
    if not failed and rng.random() < 0.7:
        received = finished + dt.timedelta(minutes=rng.randint(10, 4 * 24 * 60))
        status = "ErrorInFile" if rng.random() < 0.03 else "FileOK"
        acks.append(Acknowledgement(status=status, received_at=received))
    action = "takedown" if number and rng.random() < 0.05 else ("update" if number else "initial")
    return Delivery(
        message_id=f"M{rng.getrandbits(48):012x}",
        action=action,
        commit=commit,
        format="ern/4.3",
        files=[SentFile(name="message.xml", bytes=rng.randint(9_000, 60_000), md5="0" * 32)],
        started=started,
        finished=finished,
        attempts=rng.randint(1, 3),
        status="failed" if failed else "success",
        error="connection reset by peer" if failed else None,
        acknowledgements=acks,
    )


def write_receipts(root: Path, commit: str) -> int:
    rng = random.Random(SEED)
    first = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
    written = 0
    for upc, targets in release_targets(root).items():
        for target in targets:
            start = first + dt.timedelta(days=rng.randint(0, 90))
            receipt = Receipt(upc=upc, target=target, history=history(rng, commit, start))
            path = root / receipt_path(upc, target)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(dump_receipt(receipt))
            written += 1
    return written


def prepare(n: int) -> tuple[Path, int]:
    shutil.rmtree(WORK_DIR / f"report-{n}", ignore_errors=True)
    root = WORK_DIR / f"report-{n}" / "repo"
    generate(root, n, SEED)
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "catalog")
    receipts = write_receipts(root, git(root, "rev-parse", "HEAD"))
    return root, receipts


def size_of(folder: Path) -> tuple[int, int]:
    sizes = [p.stat().st_size for p in folder.rglob("*") if p.is_file()]
    return len(sizes), sum(sizes)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_report(root: Path, extra: list[str]) -> tuple[float, Path]:
    out = root.parent / "site"
    script = Path(sys.executable).parent / "stardust-git"
    command = [str(script), "report", "--root", str(root), "--out", str(out), *extra]
    env = {**os.environ, "XDG_CACHE_HOME": str(root.parent / "cache")}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"report exited {done.returncode}:\n{done.stdout}{done.stderr}")
    print(done.stdout.strip())
    return wall, out


def measure(n: int, extra: list[str]) -> dict[str, Any]:
    root, receipts = prepare(n)
    cpu_before = children_cpu()
    wall, out = run_report(root, extra)
    cpu = children_cpu() - cpu_before
    files, total = size_of(out)
    page = (out / "index.html").stat().st_size + (out / "data" / "catalog.js").stat().st_size
    result = {
        "releases": n,
        "receipts": receipts,
        "options": extra,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "load_average": [round(load, 1) for load in os.getloadavg()],
        "files": files,
        "site_bytes": total,
        "catalog_page_bytes": page,
    }
    shutil.rmtree(root.parent, ignore_errors=True)
    if n >= 10_000:
        result["met"] = (
            wall < TARGET_SECONDS and total < TARGET_SITE_BYTES and page < TARGET_CATALOG_PAGE_BYTES
        )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=10_000)
    parser.add_argument("--no-validate", action="store_true")
    parser.add_argument("--no-messages", action="store_true")
    args = parser.parse_args()
    extra = [
        flag
        for flag, on in (("--no-validate", args.no_validate), ("--no-messages", args.no_messages))
        if on
    ]
    result = measure(args.releases, extra)
    report = {
        "benchmark": "report",
        "targets": {
            "wall_s": TARGET_SECONDS,
            "site_bytes": TARGET_SITE_BYTES,
            "catalog_page_bytes": TARGET_CATALOG_PAGE_BYTES,
        },
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "result": result,
    }
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result.get("met", True) else 1


if __name__ == "__main__":
    raise SystemExit(main())
