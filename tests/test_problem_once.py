"""One problem, one message: where a target's DSP profile has a rule (with its id and source)
for what a general check also looks at (cover size and shape, Apple's audio quality), validate
reports it once, as the profile's rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from stardust_git.validate import ValidationOptions, validate_catalog
from tests.media import write_wav
from tests.test_render_support import REPO_ROOT

RELEASE = "catalog/beach-band/summer-vibes.yaml"  # targets: [spotify, apple], both with profiles
COVER = "assets/1234567890128/cover.jpg"
AUDIO = "assets/1234567890128/01.wav"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for folder in ("catalog", "targets", "genre-maps", "assets"):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder)
    return tmp_path


def messages(repo: Path, about: str, field: str = "") -> list[tuple[str | None, str]]:
    """(rule, message) of every diagnostic on the release (field) that mentions ``about``."""
    report = validate_catalog(repo)
    found = [d for d in report.diagnostics if d.path == RELEASE and about in d.message]
    return [(d.rule, d.message) for d in found if d.field.startswith(field)]


def drop_profiles(repo: Path) -> None:
    for name in ("apple", "spotify"):
        target = repo / "targets" / f"{name}.yaml"
        kept = [line for line in target.read_text().splitlines() if not line.startswith("profile:")]
        target.write_text("\n".join(kept) + "\n")


def write_cover(repo: Path, width: int, height: int) -> None:
    Image.new("RGB", (width, height), (40, 90, 160)).save(repo / COVER, format="JPEG")


def test_a_small_cover_is_reported_once_as_the_apple_profile_rule(repo: Path) -> None:
    write_cover(repo, 1500, 1500)
    found = messages(repo, "3000")
    assert [rule for rule, _ in found] == ["APPLE-ART-001"]


def test_without_the_profile_the_general_checks_still_report_a_small_cover(repo: Path) -> None:
    drop_profiles(repo)
    write_cover(repo, 1500, 1500)
    assert messages(repo, "3000"), "the assets and Apple package checks must still report it"


def test_a_cover_that_is_not_square_is_reported_once_per_profile_rule(repo: Path) -> None:
    write_cover(repo, 3200, 3000)
    found = messages(repo, "square")
    assert [rule for rule, _ in found] == ["SPOTIFY-ART-002"]


def test_without_the_profile_a_cover_that_is_not_square_is_still_reported(repo: Path) -> None:
    drop_profiles(repo)
    write_cover(repo, 3200, 3000)
    assert messages(repo, "square")


def test_a_low_sample_rate_is_reported_once_as_the_apple_profile_rule(repo: Path) -> None:
    write_wav(repo / AUDIO, seconds=215.0, rate=22050, channels=2, bits=16)
    found = messages(repo, "22050")
    assert [rule for rule, _ in found] == ["APPLE-AUD-003"]


def test_what_the_profile_does_not_check_stays_with_the_apple_check(repo: Path) -> None:
    write_wav(repo / AUDIO, seconds=215.0, rate=44100, channels=1, bits=16)
    found = messages(repo, "mono", "tracks[0]")  # 02.wav is mono too
    assert len(found) == 1 and "Apple asks for stereo" in found[0][1]


def test_without_assets_no_check_reads_the_audio_and_with_them_the_profile_rule_says_it(
    repo: Path,
) -> None:
    """``--no-assets`` skips the audio and artwork checks, the Apple package check's too (it
    used to read the audio anyway); with assets the 22,050 Hz audio is reported once."""
    write_wav(repo / AUDIO, seconds=215.0, rate=22050, channels=2, bits=16)
    report = validate_catalog(repo, options=ValidationOptions(check_assets=False))
    assert [d for d in report.diagnostics if d.path == RELEASE and "22050" in d.message] == []
    assert [rule for rule, _ in messages(repo, "22050")] == ["APPLE-AUD-003"]
