"""The media cache (one sqlite database): rebuilt when broken, absent when read-only, shared by
processes writing at once, and the header probes kept in it by content."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from stardust_git import assets
from stardust_git.qc import cache
from stardust_git.qc.measure import MeasureStats, measure_assets
from stardust_git.qc.probes import prime_audio_probes
from tests.audiogen import sine, stereo, write

RATE = 44100


def _next_run() -> None:
    """Forget everything held in memory, as a new process would."""
    assets.clear_cache()
    cache.close_all()


def test_a_database_that_is_not_one_is_started_again(tmp_path: Path) -> None:
    path = write(tmp_path / "a.wav", stereo(sine(1, RATE)), RATE)
    cache_dir = tmp_path / "cache"
    measured = measure_assets(cache_dir, [path])
    _next_run()
    (cache_dir / cache.DB_FILE).write_bytes(b"this is not a database, it was cut short" * 50)
    again, stats = MeasureStats(), MeasureStats()
    assert measure_assets(cache_dir, [path], again) == measured
    _next_run()
    measure_assets(cache_dir, [path], stats)
    assert (again.decoded, stats.decoded, stats.cached) == (1, 0, 1)


def test_a_cache_folder_that_cannot_be_made_measures_without_a_cache(tmp_path: Path) -> None:
    path = write(tmp_path / "a.wav", stereo(sine(1, RATE)), RATE)
    (tmp_path / "blocked").write_text("a file where the cache folder would go", encoding="utf-8")
    cache_dir = (
        tmp_path / "blocked" / "cache"
    )  # as unwritable as a read-only checkout, for root too
    first, second = MeasureStats(), MeasureStats()
    measured = measure_assets(cache_dir, [path], first)
    _next_run()
    assert measure_assets(cache_dir, [path], second) == measured
    assert (first.decoded, second.decoded) == (1, 1)
    assert measured[path].qc is not None


def _measure_share(job: tuple[str, list[str]]) -> int:
    stats = MeasureStats()
    measure_assets(Path(job[0]), [Path(name) for name in job[1]], stats)
    return stats.decoded


def test_processes_writing_at_once_keep_every_result(tmp_path: Path) -> None:
    files = [
        write(tmp_path / f"{n}.wav", stereo(sine(0.5, RATE, 200.0 + 50 * n)), RATE)
        for n in range(8)
    ]
    cache_dir = tmp_path / "cache"
    _next_run()
    shares = [(str(cache_dir), [str(path) for path in files[n::2]]) for n in range(2)]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        decoded = sum(pool.map(_measure_share, shares))
    _next_run()
    stats = MeasureStats()
    measure_assets(cache_dir, files, stats)
    assert (decoded, stats.decoded, stats.cached) == (8, 0, 8)


def test_probes_are_kept_by_content_and_an_edit_keeping_size_and_mtime_is_probed_again(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "a.wav", stereo(sine(2, RATE)), RATE, "PCM_16")
    cache_dir = tmp_path / "cache"
    first = prime_audio_probes(cache_dir, [path])[path]
    md5 = cache.content_hash(cache_dir, path)
    _next_run()
    kept = cache.read_result(cache_dir, "probe", md5, 1)
    assert kept is not None and kept["sample_rate"] == RATE and first.sample_rate == RATE
    before = path.stat()
    write(path, stereo(sine(4, RATE // 2)), RATE // 2, "PCM_16")  # same bytes of audio
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    _next_run()
    again = prime_audio_probes(cache_dir, [path])[path]
    assert (again.sample_rate, round(again.duration)) == (RATE // 2, 4)
    assert assets.probe_audio(path) == again


def test_a_file_that_is_not_audio_is_left_to_the_checks(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(b"not audio at all")
    assert prime_audio_probes(tmp_path / "cache", [path, tmp_path / "missing.wav"]) == {}
    with pytest.raises(assets.AssetError):
        assets.probe_audio(path)


def test_the_memory_memo_is_bounded_and_the_database_still_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that hashes a whole large catalog keeps at most MEMO_HELD hashes in memory
    (memory flat in catalog size); one let go is answered from the database, not read again."""
    monkeypatch.setattr(cache, "MEMO_HELD", 2)
    _next_run()
    paths = [write(tmp_path / f"{n}.wav", stereo(sine(1 + n, RATE)), RATE) for n in range(3)]
    cache_dir = tmp_path / "cache"
    first = {path: cache.content_hash(cache_dir, path) for path in paths}
    held = len(cache._MEMO)
    reads: list[Path] = []
    monkeypatch.setattr(assets, "md5_file", lambda path: reads.append(path) or "read again")

    again = {path: cache.content_hash(cache_dir, path) for path in paths}

    assert held <= 2
    assert again == first and len(set(first.values())) == 3
    assert reads == []
