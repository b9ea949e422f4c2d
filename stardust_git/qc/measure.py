"""Measure many assets at once: from the content-hash cache when measured before, otherwise in
parallel processes (one file each), caching every new result.

``QC_VERSION`` names the measuring code: change it with any change of what :mod:`.audio`
measures, and every asset is measured again.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stardust_git.qc import cache
from stardust_git.qc.result import AudioQC
from stardust_git.workers import forked_pool

QC_VERSION = 1


@dataclass
class MeasureStats:
    """What one call measured: ``decoded`` files were decoded, ``cached`` came from the cache."""

    decoded: int = 0
    cached: int = 0


@dataclass(frozen=True)
class Measured:
    """One asset's result, or why it could not be measured."""

    qc: AudioQC | None
    problem: str = ""


def cached_qc(cache_dir: Path, md5: str) -> AudioQC | None:
    """The QC of the content ``md5`` when this version of the code measured it before (nothing
    is decoded: a report shows what validate measured)."""
    data = cache.read_result(cache_dir, "qc", md5, QC_VERSION)
    return AudioQC(**data) if data else None


def measure_assets(
    cache_dir: Path, paths: Sequence[Path], stats: MeasureStats | None = None
) -> dict[Path, Measured]:
    """The QC of every file in ``paths``; each new content is decoded once, ever."""
    stats = stats if stats is not None else MeasureStats()
    found, missing = cache.split_cached(cache_dir, "qc", QC_VERSION, paths, _decode, keep=True)
    stats.cached += len(found)
    if not missing:
        return found
    jobs = [(md5, str(same[0])) for md5, same in missing.items()]
    new: dict[str, bytes] = {}
    for (md5, _), (data, problem) in zip(jobs, _run_parallel(_measure_one, jobs), strict=True):
        stats.decoded += 1
        if data is not None:
            new[md5] = cache.encode_json(data)
        for path in missing[md5]:
            found[path] = Measured(AudioQC(**data) if data else None, problem)
    cache.write_results(cache_dir, "qc", QC_VERSION, new)
    return found


def _decode(data: bytes) -> Measured | None:
    found = cache.decode_json(data)
    try:
        return Measured(AudioQC(**found)) if found is not None else None
    except TypeError:  # fields of another layout: measured again
        return None


def _measure_one(job: tuple[str, str]) -> tuple[dict[str, Any] | None, str]:
    import soundfile  # the measuring libraries load only when something must be decoded

    from stardust_git.qc.audio import measure_audio

    try:
        return measure_audio(job[1]).as_dict(), ""
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as error:
        return None, f"cannot be decoded ({error})"


def _run_parallel(work: Callable[[Any], Any], jobs: list[Any]) -> list[Any]:
    """``work`` over ``jobs`` on the machine's cores; in this process when there is one job or
    this is already a worker process (no pools within pools)."""
    workers = min(len(jobs), os.cpu_count() or 1)
    if workers <= 1 or multiprocessing.parent_process() is not None:
        return [work(job) for job in jobs]
    with forked_pool(workers) as pool:
        return list(pool.map(work, jobs))
