"""Write a synthetic catalog of N releases in the real format, for benchmarks.

    python benchmarks/generate_catalog.py DIR N [--seed S]

Releases go to ``catalog/<label>/<upc>.yaml`` (about half singles of 1-3 tracks, a quarter EPs of
4-6, a quarter albums of 8-20), with one to three deals, contributors and targets; the project's
``targets/`` and ``genre-maps/`` are copied beside them. Some albums reuse a single's recording
(same ISRC, title and duration), as real catalogs do. Asset paths are referenced but no media is
written: benchmarks validate with ``--no-assets``. The same N and seed give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from stdnum import ean

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LABELS = 24
START_YEAR = 2012
_WORDS = (
    "after amber angel arrow autumn blue broken candle city cold crystal dawn desert diamond "
    "dream echo electric ember endless fire forest ghost gold gravity harbor heart highway "
    "honey horizon island last light little lost lunar midnight mirror moon neon night ocean "
    "open paper paradise pulse rain river rose satellite shadow silver sky slow smoke snow "
    "solar storm summer sun sweet thunder tide velvet violet wave wild winter wire young"
)
WORDS = _WORDS.split()
GIVEN = "Ada Ben Cleo Dani Eli Finn Gia Hugo Ines Jude Kai Lena Milo Nia Omar Pia Rafa Sol Theo Uma"
FAMILY = "Adler Berg Costa Duarte Ekman Fox Garcia Hale Ito Jensen Kova Lund Moreau Novak Okafor"
ROLES = ("Producer", "Composer", "Lyricist", "MixingEngineer", "MasteringEngineer", "Arranger")
LANGUAGES = ("en", "en", "en", "es", "de", "fr", "pt-BR", "ja", "sv")
WARNINGS = ("NotExplicit", "NotExplicit", "Explicit", "NoAdviceAvailable")
COUNTRIES = ("US", "GB", "DE", "FR", "SE", "NO", "BR", "JP", "CA", "AU")
STREAMING = ("SubscriptionModel", "AdvertisementSupportedModel")
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 .()-]*[A-Za-z0-9.)]")
_YAML_WORDS = {"yes", "no", "on", "off", "true", "false", "null", "y", "n"}


@dataclass(frozen=True)
class Recording:
    isrc: str
    title: str
    duration: int


@dataclass
class Label:
    name: str
    folder: str
    registrant: str
    isrc_serial: int = 0
    singles: list[Recording] = field(default_factory=list)


def generate(root: Path, n: int, seed: int = 0) -> None:
    """Write ``n`` releases plus the project's targets and genre maps under ``root``."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    _copy_project_config(root)
    genres = _genre_codes(root)
    targets = sorted(p.stem for p in (root / "targets").glob("*.yaml"))
    labels = [_label(index, rng) for index in range(LABELS)]
    for index in range(n):
        label = labels[index % LABELS]
        upc = _upc(seed, index)
        text = _release(rng, label, upc, genres, targets)
        path = root / "catalog" / label.folder / f"{upc}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _copy_project_config(root: Path) -> None:
    for folder in ("targets", "genre-maps"):
        shutil.copytree(PROJECT_ROOT / folder, root / folder, dirs_exist_ok=True)


def _genre_codes(root: Path) -> list[str]:
    text = (root / "genre-maps" / "genres.yaml").read_text(encoding="utf-8")
    return re.findall(r"^  ([A-Z][A-Z0-9_]*):$", text, re.MULTILINE)


def _label(index: int, rng: random.Random) -> Label:
    name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} Records"
    folder = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") + f"-{index:02d}"
    registrant = f"{chr(65 + index % 26)}{chr(65 + (index * 7) % 26)}{index % 10}"
    return Label(name, folder, registrant)


def _upc(seed: int, index: int) -> str:
    """A unique, valid EAN-13 per (seed, index)."""
    body = f"5{seed % 100:02d}{index:09d}"
    return body + ean.calc_check_digit(body)


def _title(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).title()


def _person(rng: random.Random) -> str:
    return f"{rng.choice(GIVEN.split())} {rng.choice(FAMILY.split())}"


def _scalar(text: str) -> str:
    """Plain when YAML reads it back unchanged, else a JSON (= YAML double-quoted) string."""
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text, ensure_ascii=False)


def _new_recording(rng: random.Random, label: Label, year: int) -> Recording:
    label.isrc_serial += 1
    country = COUNTRIES[int(label.registrant[2]) % len(COUNTRIES)]
    isrc = f"{country}{label.registrant}{year % 100:02d}{label.isrc_serial:05d}"
    return Recording(isrc, _title(rng, rng.randint(1, 4)), rng.randint(95, 420))


def _track_count(rng: random.Random) -> int:
    kind = rng.random()
    if kind < 0.5:
        return rng.randint(1, 3)
    if kind < 0.75:
        return rng.randint(4, 6)
    return rng.randint(8, 20)


def _recordings(rng: random.Random, label: Label, year: int, count: int) -> list[Recording]:
    reuse = count >= 8 and label.singles and rng.random() < 0.3
    recordings = [rng.choice(label.singles)] if reuse else []
    while len(recordings) < count:
        recordings.append(_new_recording(rng, label, year))
    if count <= 3:
        label.singles.append(recordings[0])
    return recordings


def _release(
    rng: random.Random, label: Label, upc: str, genres: list[str], targets: list[str]
) -> str:
    year = rng.randint(START_YEAR, 2025)
    date = f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    recordings = _recordings(rng, label, year, _track_count(rng))
    artist = f"{rng.choice(WORDS).title()} {rng.choice(['Band', 'Collective', 'Trio', ''])}".strip()
    lines = [
        "# yaml-language-server: $schema=../../schemas/release.schema.json",
        f'upc: "{upc}"',
        f"title: {_scalar(_title(rng, rng.randint(1, 3)))}",
        "artists:",
        f"  - {{name: {_scalar(artist)}, role: MainArtist}}",
    ]
    if rng.random() < 0.15:
        lines.append(f"  - {{name: {_scalar(_person(rng))}, role: FeaturedArtist}}")
    lines += [
        f"label: {_scalar(label.name)}",
        f"release_date: {date}",
        f"genre: {rng.choice(genres)}",
        f"language: {rng.choice(LANGUAGES)}",
        f"p_line: {{year: {year}, owner: {_scalar(label.name)}}}",
        f"c_line: {{year: {year}, owner: {_scalar(label.name)}}}",
        f"parental_warning: {rng.choice(WARNINGS)}",
        f"catalog_number: {label.registrant}-{upc[-6:]}",
        f"cover: assets/{upc}/cover.jpg",
        "tracks:",
    ]
    for number, recording in enumerate(recordings, start=1):
        lines += _track_lines(rng, upc, number, recording)
    lines += _deal_lines(rng, date, year)
    chosen = sorted(rng.sample(targets, rng.randint(1, min(4, len(targets)))))
    lines.append(f"targets: [{', '.join(chosen)}]")
    return "\n".join(lines) + "\n"


def _track_lines(rng: random.Random, upc: str, number: int, recording: Recording) -> list[str]:
    duration = recording.duration
    shown = f"PT{duration // 60}M{duration % 60}S" if rng.random() < 0.2 else str(duration)
    lines = [
        f"  - isrc: {recording.isrc}",
        f"    title: {_scalar(recording.title)}",
        f"    duration: {shown}",
        f"    audio: assets/{upc}/{number:02d}.flac",
    ]
    contributors = rng.randint(0, 3)
    if contributors:
        lines.append("    contributors:")
        for role in rng.sample(ROLES, contributors):
            lines.append(f"      - {{name: {_scalar(_person(rng))}, role: {role}}}")
    return lines


def _deal_lines(rng: random.Random, date: str, year: int) -> list[str]:
    lines = [
        "deals:",
        "  - territories: [Worldwide]",
        f"    commercial_models: [{', '.join(STREAMING)}]",
        "    use_types: [OnDemandStream]",
        f"    start_date: {date}",
    ]
    if rng.random() < 0.5:
        countries = sorted(rng.sample(COUNTRIES, rng.randint(1, 4)))
        lines += [
            f"  - territories: [{', '.join(countries)}]",
            "    commercial_models: [PayAsYouGoModel]",
            "    use_types: [PermanentDownload]",
            f"    start_date: {date}",
            f"    price_tier: {rng.choice(['Budget', 'Mid', 'Front'])}",
        ]
        if rng.random() < 0.3:
            lines.append(f"    end_date: {year + rng.randint(1, 5)}-12-31")
    if rng.random() < 0.15:
        excluded = rng.choice(COUNTRIES)
        lines += [
            "  - territories: [Worldwide]",
            f"    excluded_territories: [{excluded}]",
            "    commercial_models: [PayAsYouGoModel]",
            "    use_types: [PermanentDownload]",
            f"    start_date: {date}",
        ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="where to write the catalog")
    parser.add_argument("releases", type=int, help="number of releases")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    generate(args.directory, args.releases, args.seed)
    print(f"wrote {args.releases} releases to {args.directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
