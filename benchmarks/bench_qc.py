"""Benchmark audio QC and fingerprints of an album, and validate of a large catalog with QC cached.

    python benchmarks/bench_qc.py [--minutes 45] [--tracks 12] [--releases 10000]

Album: ``--tracks`` WAV files of 44.1 kHz / 24-bit stereo, ``--minutes`` in all (generated
chords and noise), measured by :func:`stardust_git.qc.measure.measure_assets` with an empty
cache (cold: hashing, decoding, measuring on every core) and again (warm: from the cache), then
the same for Chromaprint fingerprints. Catalog: ``--releases`` releases of
benchmarks/generate_catalog.py, every track given a short generated WAV; ``validate
--no-render`` (assets included) runs once to fill the caches, then is timed warm. Times are
wall seconds; ``cpu_s`` adds this process's and its children's CPU time (for a loaded
machine). Results go to benchmarks/results/qc.json. Targets: album QC cold < 10 s on 2
cores; catalog warm < 20 s.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
from generate_catalog import generate

from stardust_git.qc.fingerprint import FingerprintStats, fingerprints
from stardust_git.qc.measure import MeasureStats, measure_assets

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
WORK_DIR = RESULTS_DIR / "tmp"
RESULTS_FILE = RESULTS_DIR / "qc.json"
RATE = 44100
TARGET_ALBUM_COLD_S = 10.0
TARGET_CATALOG_WARM_S = 20.0
CATALOG_TRACK = {"seconds": 0.5, "rate": 8000, "channels": 1, "subtype": "PCM_16"}
"""The catalog's tracks are small files (tens of thousands of them): the warm run reads caches."""


def write_track(
    path: Path,
    seconds: float,
    seed: int,
    rate: int = RATE,
    channels: int = 2,
    subtype: str = "PCM_24",
) -> None:
    """Chords with noise, written a minute at a time (memory stays small)."""
    rng = np.random.default_rng(seed)
    with soundfile.SoundFile(str(path), "w", rate, channels, subtype) as out:
        left = round(seconds * rate)
        while left > 0:
            frames = min(left, 60 * rate)
            t = np.arange(frames) / rate
            root = rng.choice([220.0, 262.0, 330.0, 392.0])
            tone = sum(np.sin(2 * np.pi * root * r * t) for r in (1.0, 1.26, 1.5)) / 3
            noise = rng.standard_normal((frames, channels)) * 0.02
            out.write(0.3 * tone[:, None] + noise)
            left -= frames


def bench_album(minutes: float, tracks: int) -> dict[str, Any]:
    folder = WORK_DIR / "album"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    paths = [folder / f"{index + 1:02d}.wav" for index in range(tracks)]
    for index, path in enumerate(paths):
        write_track(path, minutes * 60 / tracks, index)
    cache_dir = folder / "cache"
    result: dict[str, Any] = {
        "tracks": tracks,
        "minutes": minutes,
        "bytes": sum(path.stat().st_size for path in paths),
    }
    for name, run in (("qc", _qc), ("fingerprint", _fingerprint)):
        result[f"{name}_cold_s"], cold = _timed(run, cache_dir, paths)
        result[f"{name}_warm_s"], warm = _timed(run, cache_dir, paths)
        result[f"{name}_cold_work"], result[f"{name}_warm_work"] = cold, warm
    result["target_cold_s"] = TARGET_ALBUM_COLD_S
    result["target_met"] = result["qc_cold_s"] < TARGET_ALBUM_COLD_S
    shutil.rmtree(folder, ignore_errors=True)
    return result


def _qc(cache_dir: Path, paths: list[Path]) -> str:
    stats = MeasureStats()
    measure_assets(cache_dir, paths, stats)
    return f"{stats.decoded} decoded, {stats.cached} cached"


def _fingerprint(cache_dir: Path, paths: list[Path]) -> str:
    stats = FingerprintStats()
    fingerprints(cache_dir, paths, stats)
    return f"{stats.computed} computed, {stats.cached} cached"


def _timed(run: Any, cache_dir: Path, paths: list[Path]) -> tuple[float, str]:
    started, cpu = time.perf_counter(), _cpu_seconds()
    work = run(cache_dir, paths)
    used = _cpu_seconds() - cpu
    return round(time.perf_counter() - started, 3), f"{work}; {used:.2f} cpu_s"


def _cpu_seconds() -> float:
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bench_catalog(releases: int) -> dict[str, Any]:
    root = WORK_DIR / f"qc-catalog-{releases}"
    shutil.rmtree(root, ignore_errors=True)
    generate(root, releases, 0)
    audio = _audio_paths(root)
    for index, relative in enumerate(audio):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        write_track(root / relative, seed=index, **CATALOG_TRACK)
    command = [
        str(Path(sys.executable).parent / "stardust-git"),
        *("validate", "--root", str(root), "--no-render"),
    ]
    fill, _ = _timed_validate(command, root)
    warm, output = _timed_validate(command, root)
    shutil.rmtree(root, ignore_errors=True)
    return {
        "releases": releases,
        "audio_files": len(audio),
        "fill_s": fill,
        "warm_s": warm,
        "summary": output.strip().splitlines()[-1:] if output else [],
        "target_s": TARGET_CATALOG_WARM_S if releases >= 10_000 else None,
        "target_met": warm < TARGET_CATALOG_WARM_S,
    }


def _audio_paths(root: Path) -> list[str]:
    found = set()
    for path in (root / "catalog").rglob("*.yaml"):
        found.update(re.findall(r"audio: (\S+)", path.read_text(encoding="utf-8")))
    return sorted(found)


def _timed_validate(command: list[str], root: Path) -> tuple[float, str]:
    """validate reports the synthetic durations (tracks of minutes, files of 2 s): exit 1."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    elapsed = round(time.perf_counter() - started, 3)
    if done.returncode not in (0, 1) or "Traceback" in done.stderr:
        raise SystemExit(f"validate exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed, done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=45.0)
    parser.add_argument("--tracks", type=int, default=12)
    parser.add_argument("--releases", type=int, default=10_000)
    args = parser.parse_args()
    results = {
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "notes": os.environ.get("BENCH_NOTES", ""),
        "album": bench_album(args.minutes, args.tracks),
        "catalog": bench_catalog(args.releases),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    met = results["album"]["target_met"] and results["catalog"]["target_met"]
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
