"""DSP profiles: every rule of every built-in profile fails one release and passes another.

The cases are in tests/profile_cases.yaml, keyed by rule id; a rule without a case fails
``test_every_rule_has_cases``. Covers and audio are real files (Pillow, soundfile).
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from stardust_git.models import Release, Target
from stardust_git.profiles import ProfileError, Subject, apply_profile, load_profile, profile_names
from stardust_git.profiles.loader import builtin_names, parse_profile
from tests.audiogen import write_signal
from tests.gitrepo import UPCS, Repo, make_catalog
from tests.media import generator, write_flac, write_mp3, write_wav

CASES_FILE = Path(__file__).with_name("profile_cases.yaml")
CASES: dict[str, dict[str, Any]] = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
TODAY = dt.datetime.now(dt.UTC).date()
MIB = 1024 * 1024

BASE_RELEASE: dict[str, Any] = {
    "upc": "123456789012",
    "title": "Summer Vibes",
    "artists": [{"name": "Beach Band", "role": "MainArtist"}],
    "label": "Indie Records",
    "release_date": "2024-07-01",
    "genre": "ELECTRONIC",
    "language": "en",
    "p_line": {"year": 2024, "owner": "Indie Records"},
    "c_line": {"year": 2024, "owner": "Indie Records"},
    "cover": "cover.jpg",
    "tracks": [
        {"isrc": "USRC12400001", "title": "Sunset Dreams", "duration": 3, "audio": "01.wav"}
    ],
    "deals": [
        {
            "territories": ["Worldwide"],
            "commercial_models": ["SubscriptionModel"],
            "use_types": ["OnDemandStream"],
            "start_date": "2024-07-01",
        }
    ],
    "targets": ["shop"],
}
BASE_TARGET: dict[str, Any] = {
    "format": "ern",
    "ern_version": "4.3",
    "sender": {"party_id": "PADPIDA2025110101D", "name": "Indie Records"},
    "recipient": {"party_id": "PADPIDA20251101055", "name": "Shop"},
    "delivery": {"protocol": "local", "directory": "outbox"},
}


def every_rule() -> list[tuple[str, str]]:
    """(profile, rule id) for each rule a built-in profile file itself states."""
    found = []
    for name in builtin_names():
        own = {rule.id for rule in load_profile(name).rules}
        if base := load_profile(name).extends:
            own -= {rule.id for rule in load_profile(base).rules}
        found += [(name, rule_id) for rule_id in sorted(own)]
    return found


RULES = every_rule()


def resolve_dates(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: resolve_dates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_dates(item) for item in value]
    if isinstance(value, str) and (match := re.fullmatch(r"today([+-]\d+)?", value)):
        return (TODAY + dt.timedelta(days=int(match.group(1) or 0))).isoformat()
    return value


def write_cover(
    path: Path, size: int | list[int] = 1400, mode: str = "RGB", **options: Any
) -> None:
    width, height = (size, size) if isinstance(size, int) else size
    image = Image.fromarray(generator.cover_pixels(max(width, height))).crop((0, 0, width, height))
    fmt = options.pop("format", "JPEG")
    image.convert(mode).save(path.with_suffix("." + fmt.lower()), format=fmt, **options)


def write_audio(
    folder: Path, kind: str = "wav", pad_mib: int = 0, signal: str = "", **options: Any
) -> str:
    if signal:  # measured-audio rules: a generated signal of known peaks, loudness, ...
        return write_signal(folder / f"01.{kind}", signal).name
    writers = {"wav": write_wav, "flac": write_flac, "mp3": write_mp3}
    defaults = {"seconds": 1.0, "rate": 44100, "channels": 2}
    path = writers[kind](folder / f"01.{kind}", **{**defaults, **options})
    if pad_mib:  # trailing bytes after the RIFF chunk: the size a shop sees, sparse on disk
        os.truncate(path, path.stat().st_size + pad_mib * MIB)
    return path.name


def build(side: dict[str, Any], folder: Path) -> tuple[Release, Target]:
    """The release and target of one side of a case, with its cover and audio in ``folder``."""
    side = resolve_dates(copy.deepcopy(side))
    release = {**copy.deepcopy(BASE_RELEASE), **side.get("release", {})}
    release["tracks"][0] = {**release["tracks"][0], **side.get("track", {})}
    cover = side.get("cover", {})
    write_cover(folder / "cover", **cover)
    release["cover"] = "cover." + cover.get("format", "JPEG").lower()
    audio = write_audio(folder, **side.get("audio", {}))
    for track in release["tracks"]:
        track["audio"] = audio
    target = {**BASE_TARGET, **side.get("target", {})}
    return Release.model_validate(release), Target.model_validate(target)


def breaches(profile: str, rule_id: str, side: dict[str, Any], folder: Path) -> list[str]:
    release, target = build(side, folder)
    subject = Subject(release, "shop", target, folder, TODAY)
    found = apply_profile(load_profile(profile), subject, with_assets=True)
    return [breach.message for breach in found if breach.rule.id == rule_id]


def test_every_rule_has_cases() -> None:
    missing = [rule_id for _, rule_id in RULES if rule_id not in CASES]
    assert not missing, f"rules without cases in {CASES_FILE.name}: {missing}"
    stale = set(CASES) - {rule_id for _, rule_id in RULES}
    assert not stale, f"cases for rules no profile has: {sorted(stale)}"


@pytest.mark.parametrize(("profile", "rule_id"), RULES, ids=[r for _, r in RULES])
def test_rule_fails_and_passes(profile: str, rule_id: str, tmp_path: Path) -> None:
    case = CASES[rule_id]
    (tmp_path / "fail").mkdir()
    (tmp_path / "pass").mkdir()
    failed = breaches(profile, rule_id, case["fail"], tmp_path / "fail")
    assert failed, f"{rule_id}: the failing release was not caught"
    passed = breaches(profile, rule_id, case["pass"], tmp_path / "pass")
    assert not passed, f"{rule_id}: the passing release was refused: {passed}"


def test_every_builtin_profile_loads() -> None:
    for name in profile_names():
        profile = load_profile(name)
        assert profile.name == name
        assert all(rule.source.url or rule.source.note for rule in profile.rules)


# --- through validate, in a real catalog repository ------------------------------------------


def validate(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stardust_git", "validate", *args],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = make_catalog(tmp_path)
    repo.write("targets/alpha.yaml", repo.read("targets/alpha.yaml") + "profile: youtube\n")
    return repo


def test_validate_reports_the_rule_target_and_source_at_the_release_line(repo: Repo) -> None:
    path = repo.add_release(UPCS[0], title="SUMMER VIBES")  # alpha renders 4.3, beta 4.2
    repo.write("targets/beta.yaml", repo.read("targets/beta.yaml") + "profile: youtube\n")
    done = validate(repo)
    assert done.returncode == 1, done.stderr
    lines = repo.read(path).splitlines()
    targets_line = next(i for i, line in enumerate(lines, 1) if line.startswith("targets:"))
    title_line = next(i for i, line in enumerate(lines, 1) if line.startswith("title:"))
    ern = [
        line
        for line in done.stdout.splitlines() + done.stderr.splitlines()
        if "[YOUTUBE-ERN-001]" in line
    ]
    assert len(ern) == 1 and f"{path}:{targets_line}:" in ern[0], done.stdout + done.stderr
    assert "target 'beta'" in ern[0] and "support.google.com/youtube/answer/3503737" in ern[0]
    caps = [
        line for line in (done.stdout + done.stderr).splitlines() if "[GENERIC-TEXT-001]" in line
    ]
    assert caps and all(f"{path}:{title_line}:" in line and "warning" in line for line in caps)


def test_text_and_deal_rules_run_without_assets(repo: Repo) -> None:
    repo.add_release(UPCS[0], targets=("alpha",))
    text = repo.read(f"catalog/{UPCS[0]}.yaml").replace("Sunset Dreams", "Track 1")
    repo.write(f"catalog/{UPCS[0]}.yaml", text)
    done = validate(repo, "--no-assets")
    assert done.returncode == 1 and "[GENERIC-TEXT-002]" in done.stdout + done.stderr


def test_a_target_without_profile_gets_no_dsp_rules(repo: Repo) -> None:
    repo.add_release(UPCS[0], title="SUMMER VIBES", targets=("beta",))
    done = validate(repo)
    assert "GENERIC-TEXT-001" not in done.stdout + done.stderr, done.stdout + done.stderr


def test_an_unknown_profile_is_an_error_at_the_target_line(repo: Repo) -> None:
    repo.write("targets/beta.yaml", repo.read("targets/beta.yaml") + "profile: youtub\n")
    done = validate(repo)
    line = len(repo.read("targets/beta.yaml").splitlines())
    assert done.returncode == 1
    assert f"targets/beta.yaml:{line}:" in done.stdout + done.stderr
    assert "unknown profile 'youtub'; did you mean 'youtube'?" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


# --- profile list / profile show ---------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stardust_git", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_profile_show_prints_every_rule_with_its_level_and_source() -> None:
    done = run_cli("profile", "show", "youtube")
    assert done.returncode == 0, done.stderr
    for rule in load_profile("youtube").rules:
        assert f"{rule.id} [{rule.level}] {rule.message}" in done.stdout
        assert (rule.source.url or rule.source.note) in done.stdout


def test_profile_show_json_is_the_profile_as_loaded() -> None:
    done = run_cli("profile", "show", "audius", "--format", "json")
    shown = yaml.safe_load(done.stdout)
    assert [rule["id"] for rule in shown["rules"]][:3] == [
        "GENERIC-TEXT-001",
        "GENERIC-TEXT-002",
        "GENERIC-TEXT-003",
    ]
    assert shown["rules"][-1]["params"] == {
        "allowed": ["Stream", "OnDemandStream", "PermanentDownload"]
    }


def test_profile_list_names_every_profile_of_the_issue() -> None:
    done = run_cli("profile", "list", "--format", "json")
    names = [row["name"] for row in yaml.safe_load(done.stdout)]
    wanted = "youtube apple spotify amazon deezer tidal audius musixmatch beatport generic"
    assert sorted(names) == sorted(wanted.split())


def test_an_unknown_profile_name_is_a_user_error() -> None:
    done = run_cli("profile", "show", "spotfy")
    assert done.returncode == 1
    assert "unknown profile 'spotfy'; did you mean 'spotify'?" in done.stderr
    assert "Traceback" not in done.stderr


# --- profile files that are wrong ----------------------------------------------------------------

BROKEN = """\
name: mystore
title: My Store
version: 1
read: 2026-12-06
rules:
  - id: MYSTORE-ART-001
    level: error
    message: big covers
    source: {read: 2026-12-06, note: their e-mail}
    check: artwork_sise
  - id: MYSTORE-ART-002
    level: error
    message: big covers
    source: {read: 2026-12-06, note: their e-mail}
    check: artwork_size
    params: {min: many}
"""


def test_a_broken_profile_file_names_each_problem_and_its_line() -> None:
    with pytest.raises(ProfileError) as raised:
        parse_profile(BROKEN.encode(), "mystore.yaml")
    found = {(d.line, d.field): d.message for d in raised.value.diagnostics}
    assert "did you mean 'artwork_size'" in found[(10, "rules[0].check")]
    assert "valid integer" in found[(16, "rules[1].params.min")]


def test_a_profile_file_is_parsed_into_the_rules_it_states() -> None:
    fixed = BROKEN.replace("artwork_sise", "artwork_size").replace("many", "3000")
    profile = parse_profile(fixed.encode(), "mystore.yaml")
    assert [rule.params for rule in profile.rules] == [{}, {"min": 3000}]
