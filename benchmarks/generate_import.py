"""Write the inputs the import benchmark reads: a synthetic catalog rendered as ERN, and as CSV.

    python benchmarks/generate_import.py DIR N

Under DIR: ``source/`` (the synthetic catalog of :mod:`generate_catalog`, with one small FLAC
and one JPEG linked as every asset), ``batch/<UPC>/<UPC>.xml`` (each release rendered by
stardust-git as ERN 4.3, a DDEX batch as a previous distributor leaves it), ``big.xml`` (the
first releases merged into one ERN 3.8.2 NewReleaseMessage of at least 100 MB, references
renamed per release) and ``catalog.csv`` (one row per track in the import's default column
layout, written here from the YAML, not by the importer's code). The same N gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml
from lxml import etree

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
TARGET = "ern43bench"
BIG_MESSAGE_BYTES = 100 * 1024 * 1024
TARGET_TEXT = """format: ern
ern_version: "4.3"
sender: {party_id: PADPIDA2025110101D, name: Indie Records}
recipient: {party_id: PADPIDA2025110102B, name: Previous Distributor}
delivery: {protocol: local, directory: outbox/bench}
"""
TARGET_382 = "ern382bench"
_LISTS = ("ResourceList", "ReleaseList", "DealList")
_ORDER = (
    "ResourceList/SoundRecording",
    "ResourceList/Image",
    "ReleaseList/Release",
    "DealList/ReleaseDeal",
)
_REFERENCE = re.compile(rb"(<(\w*Reference)(?: [^>]*)?>)([A-Z])([\w-]+)(</\2>)")


def _media_module():  # type: ignore[no-untyped-def]
    path = PROJECT_ROOT / "scripts" / "make_example_assets.py"
    spec = importlib.util.spec_from_file_location("make_example_assets", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def make_source(root: Path, n: int) -> None:
    """The synthetic catalog, every asset a link to one small FLAC or JPEG, and the ERN target."""
    sys.path.insert(0, str(BENCH_DIR))
    from generate_catalog import generate

    generate(root, n)
    media = _media_module()
    flac = media.write_flac(root / "assets/_media/track.flac", seconds=0.2)
    cover = media.write_jpeg(root / "assets/_media/cover.jpg", size=64)
    for path in sorted((root / "catalog").rglob("*.yaml")):
        for asset in re.findall(r"(?:audio|cover): (assets/\S+)$", path.read_text(), re.M):
            _link(root / asset, cover if asset.endswith(".jpg") else flac)
    (root / "targets" / f"{TARGET}.yaml").write_text(TARGET_TEXT, encoding="utf-8")
    text_382 = TARGET_TEXT.replace('"4.3"', '"3.8.2"')
    (root / "targets" / f"{TARGET_382}.yaml").write_text(text_382, encoding="utf-8")


def _link(path: Path, target: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.symlink_to(os.path.relpath(target, path.parent))


def render_batch(source: Path, batch: Path) -> list[Path]:
    """Every release of ``source`` rendered as an ERN 4.3 initial: ``batch/<UPC>/<UPC>.xml``."""
    written = []
    for upc, message in _rendered(source, TARGET):
        path = batch / upc / f"{upc}.xml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(message)
        written.append(path)
    return written


def _rendered(source: Path, target: str) -> Iterator[tuple[str, bytes]]:
    from stardust_git.render import RenderContext, render_message
    from stardust_git.source.catalog import load_catalog

    catalog = load_catalog(source)
    context = RenderContext("0" * 40, dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC))
    for loaded in sorted(catalog.releases.values(), key=lambda loaded: loaded.model.upc):
        yield loaded.model.upc, render_message(catalog, loaded, target, "initial", context)


def write_big_message(source: Path, out: Path, at_least: int = BIG_MESSAGE_BYTES) -> int:
    """One ERN 3.8.2 NewReleaseMessage (the version whose ReleaseList takes many releases)
    holding the releases of ``source`` in UPC order until it is ``at_least`` bytes: each list's
    items gathered by kind, references made unique per release. Returns the release count."""
    items: dict[str, list[bytes]] = {}
    head, size, count = b"", 0, 0
    for number, (_, message) in enumerate(_rendered(source, TARGET_382)):
        root = etree.fromstring(message)
        head = head or message[: message.index(b"<ResourceList>")]
        for item in (item for name in _LISTS for item in root.findall(f"{name}/*")):
            text = _REFERENCE.sub(lambda m, n=number: _renamed(m, n), etree.tostring(item))
            items.setdefault(f"{item.getparent().tag}/{item.tag}", []).append(text)
            size += len(text)
        count += 1
        if size >= at_least:
            break
    out.write_bytes(head + b"".join(_lists(items)) + b"</ern:NewReleaseMessage>\n")
    return count


def _lists(items: dict[str, list[bytes]]) -> Iterator[bytes]:
    for name in _LISTS:
        kinds = [key for key in _ORDER if key.startswith(f"{name}/") and key in items]
        if kinds:
            yield f"<{name}>\n".encode()
            yield from (text for kind in kinds for text in items[kind])
            yield f"</{name}>\n".encode()


def _renamed(match: re.Match[bytes], number: int) -> bytes:
    start, _, letter, rest, end = match.groups()
    return start + letter + str(number).encode() + b"x" + rest + end


# --- CSV -------------------------------------------------------------------------------------

#: The default layout's columns (docs/import-spreadsheets.md), in the order written.
COLUMNS = [
    "upc",
    "release_title",
    "release_version",
    "release_artists",
    "label",
    "release_type",
    "release_date",
    "original_release_date",
    "genre",
    "language",
    "p_line_year",
    "p_line_owner",
    "c_line_year",
    "c_line_owner",
    "parental_warning",
    "cover",
    "catalog_number",
    "disc",
    "track_number",
    "isrc",
    "track_title",
    "track_version",
    "duration",
    "audio",
    "track_artists",
    "contributors",
    "iswc",
    "deal_territories",
    "deal_excluded_territories",
    "deal_commercial_models",
    "deal_use_types",
    "deal_start_date",
    "deal_end_date",
    "deal_price_tier",
]
COLUMNS += [column.replace("deal_", "deal2_") for column in COLUMNS if column.startswith("deal_")]
_DURATION = re.compile(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?")


def write_csv(source: Path, out: Path) -> int:
    """One row per track of every release in ``source``, in the default column layout."""
    rows = 0
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for path in sorted((source / "catalog").rglob("*.yaml")):
            # every scalar as written: YAML 1.1 would read the territory NO as false
            release = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
            for row in _rows(release):
                writer.writerow(row)
                rows += 1
    return rows


def _rows(release: dict) -> Iterator[dict[str, str]]:
    deals = release.get("deals") or [{}]
    shared = {**_release_cells(release), **_deal_cells(deals[0], "deal_")}
    if len(deals) > 1:
        shared |= _deal_cells(deals[1], "deal2_")
    numbers: dict[int, int] = {}
    for track in release["tracks"]:
        disc = int(track.get("disc", 1))
        numbers[disc] = numbers.get(disc, 0) + 1
        yield {
            **shared,
            **_track_cells(track),
            "disc": str(disc),
            "track_number": str(numbers[disc]),
        }


def _release_cells(release: dict) -> dict[str, str]:
    return {
        "upc": release["upc"],
        "release_title": release["title"],
        "release_version": release.get("version") or "",
        "release_artists": _people(release["artists"]),
        "label": release["label"],
        "release_type": release.get("release_type") or "",
        "release_date": str(release["release_date"]),
        "original_release_date": str(release.get("original_release_date") or ""),
        "genre": release["genre"],
        "language": release["language"],
        "p_line_year": str(release["p_line"]["year"]),
        "p_line_owner": release["p_line"]["owner"],
        "c_line_year": str(release["c_line"]["year"]),
        "c_line_owner": release["c_line"]["owner"],
        "parental_warning": release.get("parental_warning") or "",
        "cover": Path(release["cover"]).name,
        "catalog_number": release.get("catalog_number") or "",
    }


def _track_cells(track: dict) -> dict[str, str]:
    return {
        "isrc": track["isrc"],
        "track_title": track["title"],
        "track_version": track.get("version") or "",
        "duration": _minutes_seconds(track["duration"]),
        "audio": Path(track["audio"]).name,
        "track_artists": _people(track.get("artists") or []),
        "contributors": _people(track.get("contributors") or []),
        "iswc": track.get("iswc") or "",
    }


def _deal_cells(deal: dict, prefix: str) -> dict[str, str]:
    cells = {
        "territories": " ".join(deal.get("territories", [])),
        "excluded_territories": " ".join(deal.get("excluded_territories", [])),
        "commercial_models": " ".join(deal.get("commercial_models", [])),
        "use_types": " ".join(deal.get("use_types", [])),
        "start_date": str(deal.get("start_date") or ""),
        "end_date": str(deal.get("end_date") or ""),
        "price_tier": deal.get("price_tier") or "",
    }
    return {prefix + name: value for name, value in cells.items()}


def _people(people: list[dict]) -> str:
    """``Name (Role); Name2 (Role2)``, the default layout's artist and contributor cells."""
    return "; ".join(f"{person['name']} ({person.get('role', 'MainArtist')})" for person in people)


def _minutes_seconds(duration: str) -> str:
    """``m:ss`` from an ISO 8601 duration or a number of seconds (the release format takes both)."""
    if duration.isdigit():
        return f"{int(duration) // 60}:{int(duration) % 60:02d}"
    hours, minutes, seconds = (int(part or 0) for part in _DURATION.fullmatch(duration).groups())
    return f"{hours * 60 + minutes}:{seconds:02d}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("n", type=int)
    args = parser.parse_args(argv)
    make_source(args.dir / "source", args.n)
    messages = render_batch(args.dir / "source", args.dir / "batch")
    merged = write_big_message(args.dir / "source", args.dir / "big.xml")
    rows = write_csv(args.dir / "source", args.dir / "catalog.csv")
    print(f"{len(messages)} messages, big.xml with {merged} releases, catalog.csv {rows} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
