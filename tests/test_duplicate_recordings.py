"""Duplicate recordings across the catalog: the same audio re-encoded (FLAC, MP3 at another
rate) under another ISRC is caught with both files named; different recordings are not, unless
they share one ISRC. Fingerprints are computed once per content."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stardust_git.qc import cache
from stardust_git.qc.fingerprint import FingerprintStats, fingerprints, likeness
from stardust_git.validate import validate_catalog
from tests.audiogen import song, write
from tests.gitrepo import UPCS, Repo, make_catalog, release_yaml, write_assets

RATE = 44100


def _release(repo: Repo, upc: str, isrc: str, audio: str) -> None:
    write_assets(repo.root, upc)
    text = release_yaml(upc, f"Album {upc[-4:]}", ("alpha",))
    text = text.replace(f"USRC1240{upc[-4:]}", isrc).replace("duration: 3", "duration: 30")
    repo.write(f"catalog/{upc}.yaml", text.replace(f"assets/{upc}/01.wav", audio))


def _line_of(repo: Repo, path: str, text: str) -> int:
    lines = repo.read(path).splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def _duplicates(repo: Repo) -> list[str]:
    report = validate_catalog(repo.root)
    return [
        f"{d.path}:{d.line}: {d.message}"
        for d in report.diagnostics
        if "recording" in d.message and d.field.endswith(".audio")
    ]


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = make_catalog(tmp_path)
    write(repo.root / "audio/one.wav", song(1), RATE, "PCM_16")
    write(repo.root / "audio/two.wav", song(2), RATE, "PCM_16")
    return repo


def test_the_same_recording_reencoded_under_another_isrc_is_reported(repo: Repo) -> None:
    write(repo.root / "audio/one.flac", song(1), RATE, "PCM_16")
    _release(repo, UPCS[0], "USRC12400001", "audio/one.wav")
    _release(repo, UPCS[1], "USRC12400002", "audio/one.flac")
    _release(repo, UPCS[2], "USRC12400003", "audio/two.wav")

    found = _duplicates(repo)

    first, second = f"catalog/{UPCS[0]}.yaml", f"catalog/{UPCS[1]}.yaml"
    assert found == [
        f"{first}:{_line_of(repo, first, 'audio: audio/')}: 'audio/one.wav' is the same recording"
        f" as 'audio/one.flac' ({second}, track 1) under ISRC USRC12400002, not USRC12400001:"
        " one recording has one ISRC",
        f"{second}:{_line_of(repo, second, 'audio: audio/')}: 'audio/one.flac' is the same"
        f" recording as 'audio/one.wav' ({first}, track 1) under ISRC USRC12400001, not"
        " USRC12400002: one recording has one ISRC",
    ]


def test_an_mp3_at_another_sample_rate_is_still_the_same_recording(repo: Repo) -> None:
    mp3 = repo.root / "audio/one.mp3"
    command = ["ffmpeg", "-loglevel", "error", "-i", str(repo.root / "audio/one.wav")]
    subprocess.run([*command, "-ar", "48000", "-b:a", "128k", str(mp3)], check=True)
    _release(repo, UPCS[0], "USRC12400001", "audio/one.wav")
    _release(repo, UPCS[1], "USRC12400002", "audio/one.mp3")

    found = _duplicates(repo)

    assert len(found) == 2 and "'audio/one.mp3' is the same recording" in found[1]


def test_different_recordings_under_their_own_isrcs_are_not_reported(repo: Repo) -> None:
    _release(repo, UPCS[0], "USRC12400001", "audio/one.wav")
    _release(repo, UPCS[1], "USRC12400002", "audio/two.wav")
    assert _duplicates(repo) == []


def test_two_different_recordings_under_one_isrc_are_reported(repo: Repo) -> None:
    _release(repo, UPCS[0], "USRC12400001", "audio/one.wav")
    _release(repo, UPCS[1], "USRC12400001", "audio/two.wav")

    found = _duplicates(repo)

    assert len(found) == 2
    assert "ISRC USRC12400001 names two different recordings: 'audio/one.wav' and" in found[0]
    assert f"'audio/two.wav' ({'catalog/' + UPCS[1]}.yaml, track 1)" in found[0]


def test_one_file_validate_still_compares_against_the_whole_catalog(repo: Repo) -> None:
    _release(repo, UPCS[0], "USRC12400001", "audio/one.wav")
    _release(repo, UPCS[1], "USRC12400002", "audio/one.wav")
    report = validate_catalog(repo.root, [repo.root / f"catalog/{UPCS[1]}.yaml"])
    found = [d for d in report.diagnostics if "same recording" in d.message]
    assert [d.path for d in found] == [f"catalog/{UPCS[1]}.yaml"]


def test_fingerprints_are_cached_by_content_and_tell_songs_apart(tmp_path: Path) -> None:
    one = write(tmp_path / "one.wav", song(1), RATE, "PCM_16")
    two = write(tmp_path / "two.wav", song(2), RATE, "PCM_16")
    cold, warm = FingerprintStats(), FingerprintStats()
    prints = fingerprints(tmp_path / "cache", [one, two], cold)
    fingerprints(tmp_path / "cache", [one, two], warm)
    assert (cold.computed, warm.computed, warm.cached) == (2, 0, 2)
    same = likeness(prints[one], prints[one])
    different = likeness(prints[one], prints[two])
    assert same == 1.0 and different is not None and different < 0.7
    assert cache.read_result(tmp_path / "cache", "fingerprint", "0" * 32, 1) is None


BLOCKED_CHROMAPRINT = """
import sys
sys.modules["chromaprint"] = None  # as on a machine without libchromaprint: the import fails
from pathlib import Path
from stardust_git.validate import validate_catalog
for diagnostic in validate_catalog(Path(sys.argv[1])).diagnostics:
    print(diagnostic.format())
"""


def test_without_chromaprint_validate_says_so_and_still_finds_identical_files(
    repo: Repo,
) -> None:
    shutil.copy(repo.root / "audio/one.wav", repo.root / "audio/copy.wav")
    _release(repo, UPCS[0], "USRC12400001", "audio/one.wav")
    _release(repo, UPCS[1], "USRC12400002", "audio/copy.wav")
    command = [sys.executable, "-c", BLOCKED_CHROMAPRINT, str(repo.root)]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert "Chromaprint is missing (install Debian's libchromaprint-tools" in output
    assert "'audio/copy.wav' is the same recording as 'audio/one.wav'" in output
