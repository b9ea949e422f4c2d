"""Benchmark audio QC and fingerprints of an album, and validate of a large catalog with QC cached.

    python benchmarks/bench_qc.py [--minutes 45] [--tracks 12] [--releases 10000]
        [--only album|catalog] [--error-heavy]

Album: ``--tracks`` WAV files of 44.1 kHz / 24-bit stereo, ``--minutes`` in all (generated
chords and noise), measured by :func:`stardust_git.qc.measure.measure_assets` with an empty
cache (cold: hashing, decoding, measuring on every core) and again (warm: from the cache), then
the same for Chromaprint fingerprints. Catalog: ``--releases`` releases of
benchmarks/generate_catalog.py made valid with their media: every recording gets a short FLAC of
44.1 kHz / 24-bit stereo (one file content per ISRC, as a label reuses a master), every track
declares that file's duration, every release gets a 3000x3000 RGB cover; Beatport is left out
of the targets (its 30 s minimum would need long files). ``validate --no-render`` (assets
included) runs once to fill the caches, then is timed warm: the realistic "everything fine"
run. ``--error-heavy`` then declares wrong durations in every track and times validate again
(QC still cached: the cost of reporting tens of thousands of problems). Times are wall
seconds; ``cpu_s`` adds the CPU time of validate and its workers (for a loaded machine).
Results go to benchmarks/results/qc.json (``--only`` keeps the other part's last results).
Targets: album QC cold < 10 s on 2 cores; catalog warm < 20 s.
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
KEPT_MARKER = ".bench-qc-catalog"
RESULTS_FILE = RESULTS_DIR / "qc.json"
RATE = 44100
TARGET_ALBUM_COLD_S = 10.0
TARGET_CATALOG_WARM_S = 20.0
CATALOG_TRACK = {"seconds": 1.0, "rate": RATE, "channels": 2, "subtype": "PCM_24", "noise": 0.0}
"""The catalog's tracks are short (tens of thousands of them) but as shops take them; the warm
run reads caches, whatever the length."""


def write_track(
    path: Path,
    seconds: float,
    seed: int,
    rate: int = RATE,
    channels: int = 2,
    subtype: str = "PCM_24",
    noise: float = 0.02,
) -> None:
    """Chords with noise (the right channel a little softer: stereo, not mono), written a
    minute at a time (memory stays small)."""
    rng = np.random.default_rng(seed)
    with soundfile.SoundFile(str(path), "w", rate, channels, subtype) as out:
        left = round(seconds * rate)
        while left > 0:
            frames = min(left, 60 * rate)
            t = np.arange(frames) / rate
            root = rng.uniform(200.0, 400.0)  # a different chord per seed: no two alike
            tone = sum(np.sin(2 * np.pi * root * r * t) for r in (1.0, 1.26, 1.5)) / 3
            hiss = rng.standard_normal((frames, channels)) * noise
            out.write(0.3 * tone[:, None] * np.linspace(1.0, 0.8, channels) + hiss)
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


def bench_catalog(
    releases: int, error_heavy: bool = False, keep: Path | None = None
) -> dict[str, Any]:
    root = keep or WORK_DIR / f"qc-catalog-{releases}"
    audio = _prepared(root, releases) if keep else _prepare(root, releases)
    command = [
        str(Path(sys.executable).parent / "stardust-git"),
        *("validate", "--root", str(root), "--no-render"),
    ]
    fill, fill_cpu, _ = _timed_validate(command, root)
    warm, warm_cpu, output = _timed_validate(command, root)
    result = {
        "releases": releases,
        "audio_files": audio,
        "fill_s": fill,
        "fill_cpu_s": fill_cpu,
        "warm_s": warm,
        "warm_cpu_s": warm_cpu,
        "summary": _summary(output),
        "target_s": TARGET_CATALOG_WARM_S if releases >= 10_000 else None,
        "target_met": warm < TARGET_CATALOG_WARM_S,
    }
    if error_heavy:
        _declare_wrong_durations(root)
        heavy, heavy_cpu, output = _timed_validate(command, root)
        result["error_heavy"] = {"s": heavy, "cpu_s": heavy_cpu, "summary": _summary(output)}
    if keep is None:
        shutil.rmtree(root, ignore_errors=True)
    return result


def _prepare(root: Path, releases: int) -> int:
    """A new valid catalog of ``releases`` at ``root``; the number of audio files."""
    shutil.rmtree(root, ignore_errors=True)
    generate(root, releases, 0)
    count = _make_valid(root)
    (root / KEPT_MARKER).write_text(f"{releases} {count}\n", encoding="utf-8")
    return count


def _prepared(root: Path, releases: int) -> int:
    """The catalog kept at ``root`` by an earlier run of the same size (else a new one)."""
    try:
        kept, count = (root / KEPT_MARKER).read_text(encoding="utf-8").split()
    except (OSError, ValueError):
        return _prepare(root, releases)
    return int(count) if int(kept) == releases else _prepare(root, releases)


_DURATION = re.compile(r"^(    duration: ).*$", re.MULTILINE)
_TARGETS = re.compile(r"^targets: \[(.*)\]$", re.MULTILINE)
_TRACK = re.compile(r"^  - isrc: (\S+)\n(?:    .*\n)*?    audio: (\S+)$", re.MULTILINE)


def _make_valid(root: Path) -> int:
    """Give every release its media and matching metadata; the number of audio files."""
    contents: dict[str, int] = {}
    written = 0
    cover = _write_cover(WORK_DIR / "cover.jpg")
    for path in sorted((root / "catalog").rglob("*.yaml")):
        text = _valid_text(path.read_text(encoding="utf-8"))
        path.write_text(text, encoding="utf-8")
        for isrc, relative in _TRACK.findall(text):
            seed = contents.setdefault(isrc, len(contents))
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            write_track(root / relative, seed=seed, **CATALOG_TRACK)
            written += 1
        cover_path = root / re.findall(r"^cover: (\S+)$", text, re.MULTILINE)[0]
        cover_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cover, cover_path)
    return written


def _valid_text(text: str) -> str:
    """Durations as long as the files; targets whose rules short files can meet."""
    text = _DURATION.sub(lambda found: f"{found[1]}{CATALOG_TRACK['seconds']:g}", text)

    def targets(found: re.Match[str]) -> str:
        kept = [name for name in found[1].split(", ") if name != "beatport"] or ["spotify"]
        return f"targets: [{', '.join(kept)}]"

    return _TARGETS.sub(targets, text)


def _write_cover(path: Path) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (3000, 3000), (40, 90, 160)).save(path, "JPEG", quality=80)
    return path


def _declare_wrong_durations(root: Path) -> None:
    for path in (root / "catalog").rglob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(_DURATION.sub(lambda found: f"{found[1]}200", text), encoding="utf-8")


def _summary(output: str) -> list[str]:
    return output.strip().splitlines()[-1:] if output else []


def _timed_validate(command: list[str], root: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds (validate and its workers) of one run, and what it printed."""
    started, cpu = time.perf_counter(), _cpu_seconds()
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    elapsed = round(time.perf_counter() - started, 3)
    if done.returncode not in (0, 1) or "Traceback" in done.stderr:
        raise SystemExit(f"validate exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed, round(_cpu_seconds() - cpu, 2), done.stderr + done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=45.0)
    parser.add_argument("--tracks", type=int, default=12)
    parser.add_argument("--releases", type=int, default=10_000)
    parser.add_argument("--only", choices=("album", "catalog"))
    parser.add_argument("--error-heavy", action="store_true")
    parser.add_argument(
        "--keep",
        type=Path,
        help="build the catalog here once and reuse it (its media take minutes to write)",
    )
    args = parser.parse_args()
    results = _previous() if args.only else {}
    results.update(
        cpus=os.cpu_count(),
        load_average=os.getloadavg(),
        notes=os.environ.get("BENCH_NOTES", ""),
    )
    if args.only != "catalog":
        results["album"] = bench_album(args.minutes, args.tracks)
    if args.only != "album":
        results["catalog"] = bench_catalog(args.releases, args.error_heavy, args.keep)
    results["load_average_after"] = os.getloadavg()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    met = all(part["target_met"] for part in (results.get("album"), results.get("catalog")) if part)
    return 0 if met else 1


def _previous() -> dict[str, Any]:
    try:
        return dict(json.loads(RESULTS_FILE.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


if __name__ == "__main__":
    raise SystemExit(main())
