"""Spreadsheet import: the default layout round trip (CSV, XLSX), a mapping file, bad input."""

from __future__ import annotations

import copy
import csv
import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from stardust_git.errors import UserError
from stardust_git.importers.genres import GenreLookup
from stardust_git.importers.model import ImportContext, ImportedRelease
from stardust_git.importers.sheetlayout import FIELDS, release_rows
from stardust_git.importers.sheetmapping import SpreadsheetMapping, load_mapping
from stardust_git.importers.spreadsheet import read_spreadsheet
from stardust_git.source.catalog import Catalog, load_genres
from stardust_git.source.yamlio import load_yaml_file
from tests.conftest import REPO_ROOT

HEADER = [name for name in FIELDS if not name.endswith("_md5")]
NOT_IN_A_SHEET = ("targets", "takedown", "deliver_after")
"""Release fields a spreadsheet row does not carry (the import's options set them)."""


@pytest.fixture(scope="module")
def context() -> ImportContext:
    catalog = Catalog(root=REPO_ROOT)
    load_genres(REPO_ROOT, catalog)
    return ImportContext(GenreLookup.from_catalog(catalog))


def example_releases() -> list[dict[str, Any]]:
    paths = sorted((REPO_ROOT / "catalog").glob("*/*.yaml"))
    return [load_yaml_file(path).data for path in paths]


def example_rows() -> list[dict[str, str]]:
    return [row for release in example_releases() for row in release_rows(release)]


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def expected(release: dict[str, Any]) -> dict[str, Any]:
    """What the import of ``release``'s rows gives: the fields a sheet does not carry dropped,
    the paths' folder assets/<UPC>/, and (First Light) the release type the import guesses."""
    wanted = {k: copy.deepcopy(v) for k, v in release.items() if k not in NOT_IN_A_SHEET}
    if "release_type" not in wanted:
        keys = list(wanted)
        at = keys.index("label") + 1
        guessed = [*keys[:at], "release_type", *keys[at:]]
        wanted = {key: wanted.get(key, "Single") for key in guessed}
    for track in wanted["tracks"]:
        if track["duration"] == "PT3S":  # the sheet states seconds
            track["duration"] = 3
    return wanted


def read(path: Path, context: ImportContext, **kwargs: Any) -> list[ImportedRelease]:
    return list(read_spreadsheet(path, path.name, context, **kwargs))


def located(path: Path, context: ImportContext, **kwargs: Any) -> list[tuple]:
    with pytest.raises(UserError) as caught:
        read(path, context, **kwargs)
    return [(d.path, d.line, d.col, d.field, d.message) for d in caught.value.diagnostics]


def col(name: str) -> int:
    return HEADER.index(name) + 1


# --- the default layout --------------------------------------------------------------------------


def test_csv_round_trip_equals_the_example_catalog(tmp_path: Path, context: ImportContext) -> None:
    sheet = write_csv(tmp_path / "catalog.csv", example_rows())
    imported = read(sheet, context)
    releases = example_releases()
    assert [r.upc for r in imported] == [r["upc"] for r in releases]
    for release, original in zip(imported, releases, strict=True):
        assert release.data == expected(original)
        assert list(release.data) == list(expected(original))
        assert release.source == "catalog.csv"
    first_light = imported[2]
    assert first_light.guessed == {("release_type",): "guessed from 1 track, 0:03 in all"}
    assert [r.line for r in imported] == [2, 4, 6, 7]


def test_resources_are_resolved_beside_the_sheet(tmp_path: Path, context: ImportContext) -> None:
    rows = example_rows()[:2]
    rows[0]["audio"] = "wav/01.wav"
    header = [*HEADER, "audio_md5"]
    rows[0]["audio_md5"] = "0123456789ABCDEF0123456789ABCDEF"
    release = read(write_csv(tmp_path / "s.csv", rows, header), context)[0]
    assert [(f.source, f.name, f.md5, f.where) for f in release.resources] == [
        (tmp_path / "cover.jpg", "cover.jpg", None, "row 2, column cover"),
        (
            tmp_path / "wav/01.wav",
            "01.wav",
            "0123456789abcdef0123456789abcdef",
            "row 2, column audio",
        ),
        (tmp_path / "02.wav", "02.wav", None, "row 3, column audio"),
    ]
    assert release.data["tracks"][0]["audio"] == "assets/1234567890128/01.wav"


def test_rows_of_a_release_need_not_be_adjacent(tmp_path: Path, context: ImportContext) -> None:
    rows = example_rows()
    shuffled = [rows[1], rows[2], rows[0], rows[3]]  # Summer Vibes track 2, Night Shift, track 1
    imported = read(write_csv(tmp_path / "s.csv", shuffled), context)
    assert [r.upc for r in imported] == ["1234567890128", "4250123456789"]
    assert [t["title"] for t in imported[0].data["tracks"]] == ["Sunset Dreams", "Ocean Waves"]
    assert imported[0].line == 2


def test_release_cells_may_be_left_empty_on_later_rows(
    tmp_path: Path, context: ImportContext
) -> None:
    rows = example_rows()[:2]
    rows[1] = {**rows[1], "release_title": "", "label": "", "deal_territories": ""}
    release = read(write_csv(tmp_path / "s.csv", rows), context)[0]
    assert release.data == expected(example_releases()[0])


def test_xlsx_round_trip_equals_the_example_catalog(tmp_path: Path, context: ImportContext) -> None:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Tracks")
    sheet.append(HEADER)
    for row in example_rows():
        sheet.append([_typed(name, row.get(name, "")) for name in HEADER])
    book.save(tmp_path / "catalog.xlsx")
    imported = read(tmp_path / "catalog.xlsx", context)
    for release, original in zip(imported, example_releases(), strict=True):
        assert release.data == expected(original)


def _typed(name: str, text: str) -> Any:
    """Cells as a spreadsheet program keeps them: real dates and numbers, identifiers as text."""
    if name.endswith("date") and text:
        return dt.datetime.fromisoformat(text)
    if name in ("p_line_year", "c_line_year", "track_number", "disc") and text:
        return int(text)
    if name == "duration" and text.isdigit():
        return float(text)
    return text


# --- a mapping file ------------------------------------------------------------------------------

DISTRIBUTOR_EXPORT = """\
UPC;Album Title;Album Artist;Label Name;Release Date;Primary Genre;Metadata Language;(P) Year;\
(P) Line;(C) Year;(C) Line;Artwork File;Volume;Track No.;ISRC;Track Title;Track Length;\
Audio File;Credits;Territories;Sales Start Date;Store Count
0885686123454;Café Society;The Meridians;Indie Records;05/09/2025;House;en;2025;Indie Records;\
2025;Indie Records;art/cover.jpg;1;2;USIR12500002;Prime Vertical;3:05;02.flac;\
Ada Moreno (producer);Worldwide;05/09/2025;212
1234567890128;Summer Vibes EP;Beach Band;Indie Records;01/07/2024;Electronic;en;2024;\
Indie Records;2024;Indie Records;cover.jpg;1;1;USRC12400001;Sunset Dreams;215;01.wav;;US GB;;40
0885686123454;Café Society;The Meridians;Indie Records;05/09/2025;House;en;2025;Indie Records;\
2025;Indie Records;art/cover.jpg;1;1;USIR12500001;Zero Meridian;1:02:03;01.flac;\
Ada Moreno (Composer, Lyricist);Worldwide;05/09/2025;212
"""


def test_the_distributor_export_mapping_reads_its_layout(
    tmp_path: Path, context: ImportContext
) -> None:
    mapping = load_mapping(REPO_ROOT / "docs" / "mappings" / "distributor-export.yaml")
    sheet = tmp_path / "export.csv"
    sheet.write_bytes(DISTRIBUTOR_EXPORT.encode("cp1252"))
    meridians, beach = read(sheet, context, mapping=mapping)
    assert meridians.data == {
        "upc": "0885686123454",
        "title": "Café Society",
        "artists": [{"name": "The Meridians", "role": "MainArtist"}],
        "label": "Indie Records",
        "release_type": "Album",
        "release_date": dt.date(2025, 9, 5),
        "genre": "HOUSE",
        "language": "en",
        "p_line": {"year": 2025, "owner": "Indie Records"},
        "c_line": {"year": 2025, "owner": "Indie Records"},
        "cover": "assets/0885686123454/cover.jpg",
        "tracks": [
            {
                "isrc": "USIR12500001",
                "title": "Zero Meridian",
                "duration": 3723,
                "disc": 1,
                "audio": "assets/0885686123454/01.flac",
                "contributors": [
                    {"name": "Ada Moreno", "role": "Composer"},
                    {"name": "Ada Moreno", "role": "Lyricist"},
                ],
            },
            {
                "isrc": "USIR12500002",
                "title": "Prime Vertical",
                "duration": 185,
                "disc": 1,
                "audio": "assets/0885686123454/02.flac",
                "contributors": [{"name": "Ada Moreno", "role": "Producer"}],
            },
        ],
        "deals": [
            {
                "territories": ["Worldwide"],
                "commercial_models": ["SubscriptionModel", "AdvertisementSupportedModel"],
                "use_types": ["OnDemandStream", "NonInteractiveStream"],
                "start_date": dt.date(2025, 9, 5),
            }
        ],
    }
    assert meridians.guessed == {("release_type",): "guessed from 2 tracks, 65:08 in all"}
    assert meridians.resources[0].source == tmp_path / "art" / "cover.jpg"
    assert beach.data["deals"][0]["start_date"] == dt.date(2024, 7, 1)
    assert beach.guessed == {
        ("release_type",): "guessed from 1 track, 3:35 in all",
        ("deals", 0, "start_date"): "the release date: the sheet gives no start date",
    }


def test_a_mapping_file_with_mistakes_is_located(tmp_path: Path) -> None:
    path = tmp_path / "m.yaml"
    path.write_text("columns:\n  relase_title: Album\ndelimiter: ';;'\nencoding: klingon\n")
    with pytest.raises(UserError) as caught:
        load_mapping(path)
    assert [(d.line, d.field, d.message) for d in caught.value.diagnostics] == [
        (
            2,
            "columns.relase_title",
            "'relase_title' is not a column of the default layout; did you mean 'release_title'?",
        ),
        (3, "delimiter", "String should have at most 1 character"),
        (4, "encoding", "'klingon' is not a text encoding Python knows"),
    ]


# --- bad input -----------------------------------------------------------------------------------


def test_rows_that_disagree_on_a_release_field(tmp_path: Path, context: ImportContext) -> None:
    rows = example_rows()
    rows[1]["release_title"] = "Summer Vibes"
    rows[13]["label"] = "Other Records"  # Longitude's 8th row
    assert located(write_csv(tmp_path / "s.csv", rows), context) == [
        (
            "s.csv",
            3,
            col("release_title"),
            "release_title",
            "row 3 says 'Summer Vibes' but row 2 says 'Summer Vibes EP': the rows of release"
            " 1234567890128 must agree",
        ),
        (
            "s.csv",
            15,
            col("label"),
            "label",
            "row 15 says 'Other Records' but row 7 says 'Indie Records': the rows of release"
            " 0885686123454 must agree",
        ),
    ]


def test_unknown_and_missing_columns(tmp_path: Path, context: ImportContext) -> None:
    header = [("relase_title" if h == "release_title" else h) for h in HEADER if h != "genre"]
    rows = [
        {("relase_title" if k == "release_title" else k): v for k, v in r.items()}
        for r in example_rows()
    ]
    position = header.index("relase_title") + 1
    assert located(write_csv(tmp_path / "s.csv", rows, header), context) == [
        (
            "s.csv",
            1,
            0,
            "genre",
            "missing column 'genre' (required; or give a constant in defaults:)",
        ),
        (
            "s.csv",
            1,
            0,
            "release_title",
            "missing column 'release_title' (required; or give a constant in defaults:)",
        ),
        (
            "s.csv",
            1,
            position,
            "relase_title",
            "unknown column 'relase_title'; did you mean 'release_title'? (a mapping file can"
            " rename or ignore it)",
        ),
    ]


def test_a_mapping_ignores_a_column(tmp_path: Path, context: ImportContext) -> None:
    rows = [{**row, "Mood": "sunny"} for row in example_rows()[:2]]
    sheet = write_csv(tmp_path / "s.csv", rows, [*HEADER, "Mood"])
    assert located(sheet, context)[0][3:] == (
        "Mood",
        "unknown column 'Mood' (a mapping file can rename or ignore it)",
    )
    assert len(read(sheet, context, mapping=SpreadsheetMapping(ignore=["mood"]))) == 1


def test_bad_cells_are_each_located(tmp_path: Path, context: ImportContext) -> None:
    rows = example_rows()
    rows[0].update(upc="1234567890123", release_date="2024-13-01")
    rows[1].update(upc="1234567890123", release_date="2024-13-01", isrc="USRC1240002")
    rows[2].update(duration="3:7x", genre="Trapp")
    rows[3]["genre"] = "Trapp"
    rows[2]["deal_territories"] = "US XX"
    rows[3].update(contributors="Mara Voss (Prodcer)", deal_territories="US XX")
    assert located(write_csv(tmp_path / "s.csv", rows), context) == [
        (
            "s.csv",
            2,
            col("release_date"),
            "release_date",
            "'2024-13-01' is not a date (expected YYYY-MM-DD)",
        ),
        (
            "s.csv",
            4,
            col("genre"),
            "genre",
            "'Trapp' is not a genre of the taxonomy; did you mean 'TRAP'?",
        ),
        (
            "s.csv",
            4,
            col("duration"),
            "duration",
            "'3:7x' is not a duration (m:ss, h:mm:ss, seconds or ISO 8601 such as PT3M35S)",
        ),
        (
            "s.csv",
            5,
            col("contributors"),
            "contributors",
            "'Prodcer' is not a DDEX contributor role; did you mean 'Producer'?",
        ),
    ]
    rows[0]["release_date"] = rows[1]["release_date"] = "2024-07-01"
    rows[2].update(duration="4", genre="TRAP")
    rows[3]["genre"] = "TRAP"
    rows[3]["contributors"] = ""
    assert located(write_csv(tmp_path / "s.csv", rows), context) == [
        ("s.csv", 2, col("upc"), "upc", "'1234567890123' has a wrong check digit"),
        (
            "s.csv",
            3,
            col("isrc"),
            "isrc",
            "'USRC1240002' is not a valid ISRC (CC-XXX-YY-NNNNN, 12 characters)",
        ),
        (
            "s.csv",
            4,
            col("deal_territories"),
            "deal_territories",
            "'XX' is not a DDEX territory code",
        ),
    ]


def test_duplicate_track_numbers(tmp_path: Path, context: ImportContext) -> None:
    rows = example_rows()[:2]
    rows[1]["track_number"] = "1"
    assert located(write_csv(tmp_path / "s.csv", rows), context) == [
        ("s.csv", 3, col("track_number"), "track_number", "track 1 of disc 1 is also on row 2"),
    ]


def test_a_numeric_upc_in_xlsx_is_refused(tmp_path: Path, context: ImportContext) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    row = example_rows()[-1]  # Longitude: an EAN-13 with a leading zero
    sheet.append([int(row["upc"]) if name == "upc" else row[name] for name in HEADER])
    book.save(tmp_path / "s.xlsx")
    assert located(tmp_path / "s.xlsx", context) == [
        (
            "s.xlsx",
            2,
            col("upc"),
            "upc",
            "the cell holds the number 885686123454, which loses leading zeros: format the column"
            " as text and type the codes again",
        ),
    ]


def test_a_csv_that_is_not_utf8(tmp_path: Path, context: ImportContext) -> None:
    rows = example_rows()[:2]
    write_csv(tmp_path / "s.csv", rows)
    text = (tmp_path / "s.csv").read_text(encoding="utf-8").replace("Ocean", "Océan")
    (tmp_path / "s.csv").write_bytes(text.encode("latin-1"))
    column = text.splitlines()[2].index("é") + 1
    assert located(tmp_path / "s.csv", context) == [
        (
            "s.csv",
            3,
            column,
            "",
            "not UTF-8 text: byte 0xe9 (invalid continuation byte); save the file as UTF-8 or name"
            " its encoding in a mapping file (encoding: cp1252)",
        ),
    ]
    release = read(tmp_path / "s.csv", context, mapping=SpreadsheetMapping(encoding="latin-1"))[0]
    assert release.data["tracks"][1]["title"] == "Océan Waves"


def test_an_empty_file_and_a_header_alone(tmp_path: Path, context: ImportContext) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    assert located(tmp_path / "empty.csv", context) == [
        ("empty.csv", 1, 0, "", "the file is empty: expected a header row"),
    ]
    write_csv(tmp_path / "header.csv", [])
    assert located(tmp_path / "header.csv", context) == [
        ("header.csv", 1, 0, "", "no rows below the header: nothing to import"),
    ]
