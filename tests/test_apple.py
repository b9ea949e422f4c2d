"""The Apple Music package renderer and its validate check, on the example catalog and on small
catalogs written into tmp_path (real WAV and JPEG files, the repository's genre maps)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest
import yaml
from lxml import etree
from PIL import Image

from stardust_git import assets, checks, validate
from stardust_git.checks.apple import (
    check_apple_packages,
    file_problems,
    package_problems,
    xsd_problems,
)
from stardust_git.errors import Diagnostics
from stardust_git.render import Package, RenderContext, RenderError
from stardust_git.render.apple import (
    NAMESPACE,
    render_apple_package,
    store_territories,
)
from stardust_git.source.catalog import Catalog, load_catalog
from tests.media import write_flac, write_jpeg, write_mp3, write_wav

REPO_ROOT = Path(__file__).resolve().parents[1]
GOLDEN_DIR = Path(__file__).resolve().parent / "golden" / "apple"
UPDATE_GOLDEN = os.environ.get("STARDUST_UPDATE_GOLDEN") == "1"
NS = {"a": NAMESPACE}
CONTEXT = RenderContext(
    commit="3f1c2a9be07d4c55a0d1e6b8f2c94a7d10e5b3c8",
    committed_at=dt.datetime(2025, 11, 1, 12, 0, tzinfo=dt.UTC),
)
EXAMPLES = {
    "1234567890128": "catalog/beach-band/summer-vibes.yaml",
    "4250123456789": "catalog/kid-sable/night-shift.yaml",
    "5060236631114": "catalog/nova-lane/first-light.yaml",
    "0885686123454": "catalog/the-meridians/longitude.yaml",
}


@pytest.fixture(scope="module")
def examples() -> Catalog:
    return load_catalog(REPO_ROOT)


def _render(catalog: Catalog, upc: str, action: str = "initial", **kwargs: object) -> Package:
    loaded = catalog.release_by_upc(upc)
    assert loaded is not None, upc
    return render_apple_package(catalog, loaded, "apple", action, CONTEXT, **kwargs)  # type: ignore[arg-type]


def _xml(package: Package) -> etree._Element:
    return etree.fromstring(package.message.data or b"")


def _texts(root: etree._Element, path: str) -> list[str]:
    return [element.text or "" for element in root.findall(path, NS)]


def _products(root: etree._Element) -> dict[str, dict[str, str]]:
    found = {}
    for product in root.findall("a:album/a:products/a:product", NS):
        fields = {etree.QName(child).localname: child.text or "" for child in product}
        found[fields.pop("territory")] = fields
    return found


# --- the example catalog ---------------------------------------------------------------------


@pytest.mark.parametrize("upc", sorted(EXAMPLES))
def test_each_example_release_renders_a_valid_package(examples: Catalog, upc: str) -> None:
    package = _render(examples, upc)
    data = package.message.data or b""
    root = _xml(package)

    assert package_problems(package) == []
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<package ')
    assert root.tag == f"{{{NAMESPACE}}}package" and root.get("version") == "music5.3"
    assert package.files[-1] is package.message
    assert package.message.name == f"{upc}.itmsp/metadata.xml"
    assert (package.format, package.release_id, package.action) == ("apple/5.3", upc, "initial")
    release = examples.release_by_upc(upc).model  # type: ignore[union-attr]
    assert len(package.resources) == 1 + len(release.tracks)
    assert _texts(root, "a:album/a:tracks/a:track/a:isrc") == [t.isrc for t in release.tracks]


@pytest.mark.parametrize(
    ("upc", "action"),
    [*((upc, "initial") for upc in sorted(EXAMPLES)), ("4250123456789", "takedown")],
)
def test_metadata_matches_the_reviewed_golden_file(
    examples: Catalog, upc: str, action: str
) -> None:
    data = _render(examples, upc, action).message.data or b""
    golden = GOLDEN_DIR / (f"{upc}.xml" if action == "initial" else f"{upc}-{action}.xml")
    if UPDATE_GOLDEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(data)

    # Sizes and MD5s in the golden files are those of assets/; regenerated assets need a review
    # and STARDUST_UPDATE_GOLDEN=1.
    assert data.decode("utf-8") == golden.read_text(encoding="utf-8")


def test_files_are_named_by_vendor_id_and_upc(examples: Catalog) -> None:
    package = _render(examples, "1234567890128")

    assert [(f.name, f.kind) for f in package.files] == [
        ("1234567890128.itmsp/1234567890128.jpg", "resource"),
        ("1234567890128.itmsp/1234567890128_01_001.wav", "resource"),
        ("1234567890128.itmsp/1234567890128_01_002.wav", "resource"),
        ("1234567890128.itmsp/metadata.xml", "message"),
    ]
    cover = package.files[0]
    assert cover.source == REPO_ROOT / "assets/1234567890128/cover.jpg"
    assert (cover.size, cover.md5) == (cover.source.stat().st_size, assets.md5_file(cover.source))


def test_album_disc_and_track_numbers(examples: Catalog) -> None:
    root = _xml(_render(examples, "0885686123454"))
    tracks = root.findall("a:album/a:tracks/a:track", NS)

    positions = [(_texts(t, "a:volume_number")[0], _texts(t, "a:track_number")[0]) for t in tracks]
    assert positions == [("1", str(n)) for n in range(1, 7)] + [("2", str(n)) for n in range(1, 7)]
    assert _texts(tracks[6], "a:audio_file/a:file_name") == ["0885686123454_02_001.flac"]
    featured = tracks[6].findall("a:artists/a:artist", NS)
    assert [
        (_texts(a, "a:artist_name")[0], _texts(a, "a:roles/a:role"), _texts(a, "a:primary")[0])
        for a in featured
    ] == [
        ("The Meridians", ["Performer"], "true"),
        ("Solenne", ["Featuring"], "false"),
        ("Ada Moreno", ["Producer"], "false"),
    ]


def test_rendering_is_deterministic_and_the_fingerprint_ignores_the_commit(
    examples: Catalog,
) -> None:
    first = _render(examples, "0885686123454")
    assets.clear_cache()
    again = _render(examples, "0885686123454")
    loaded = examples.release_by_upc("0885686123454")
    assert loaded is not None
    other_commit = RenderContext("0" * 40, CONTEXT.committed_at)
    elsewhere = render_apple_package(examples, loaded, "apple", "initial", other_commit)

    assert first.message.data == again.message.data
    assert first.fingerprint == again.fingerprint == elsewhere.fingerprint
    assert first.message_id != elsewhere.message_id


def test_deals_become_one_product_per_store_territory_or_one_worldwide(examples: Catalog) -> None:
    night_shift = _products(_xml(_render(examples, "4250123456789")))
    longitude = _products(_xml(_render(examples, "0885686123454")))

    assert night_shift == {
        "CA": {
            "cleared_for_sale": "false",
            "cleared_for_stream": "true",
            "sales_start_date": "2025-10-17",
        },
        "DE": {
            "cleared_for_sale": "true",
            "cleared_for_stream": "false",
            "sales_start_date": "2025-10-24",
        },
        "FR": {
            "cleared_for_sale": "true",
            "cleared_for_stream": "false",
            "sales_start_date": "2025-10-24",
        },
        "GB": {
            "cleared_for_sale": "true",
            "cleared_for_stream": "false",
            "sales_start_date": "2025-10-24",
        },
        "NO": {
            "cleared_for_sale": "true",
            "cleared_for_stream": "false",
            "sales_start_date": "2025-10-24",
        },
        "US": {
            "cleared_for_sale": "false",
            "cleared_for_stream": "true",
            "sales_start_date": "2025-10-17",
        },
    }
    # Longitude's one deal is Worldwide: the same terms everywhere, so one WW product
    assert longitude == {
        "WW": {
            "cleared_for_sale": "true",
            "cleared_for_stream": "true",
            "sales_start_date": "2025-09-05",
            "wholesale_price_tier": "1",
        }
    }


def test_genres_come_from_the_apple_map_when_the_target_names_none(examples: Catalog) -> None:
    assert examples.targets["apple"].model.genre_map is None
    codes = {
        upc: _xml(_render(examples, upc)).find("a:album/a:genres/a:genre", NS).get("code")  # type: ignore[union-attr]
        for upc in EXAMPLES
    }

    # SYNTH_POP and HOUSE's neighbours: SYNTH_POP is unmapped, its parent POP is mapped
    assert codes == {
        "1234567890128": "ELECTRONIC-00",
        "4250123456789": "TRAP-00",
        "5060236631114": "POP-00",
        "0885686123454": "HOUSE-00",
    }


def test_takedown_clears_every_product_and_sends_no_files(examples: Catalog) -> None:
    package = _render(examples, "4250123456789", "takedown")
    root = _xml(package)

    assert [f.name for f in package.files] == ["4250123456789.itmsp/metadata.xml"]
    assert package.action == "takedown"
    assert xsd_problems(root) == []
    assert _products(root) == {
        country: {"cleared_for_sale": "false", "cleared_for_stream": "false"}
        for country in ("CA", "DE", "FR", "GB", "NO", "US")
    }
    assert root.findall(".//a:file_name", NS) == []
    assert root.find("a:album/a:tracks", NS) is None


def test_metadata_only_update_sends_no_assets_and_keeps_the_fingerprint(examples: Catalog) -> None:
    full = _render(examples, "1234567890128", "update")
    metadata_only = _render(examples, "1234567890128", "update", include_assets=False)
    root = _xml(metadata_only)

    assert [f.name for f in metadata_only.files] == ["1234567890128.itmsp/metadata.xml"]
    assert package_problems(metadata_only) == []
    assert root.find("a:album/a:artwork_files", NS) is None
    assert root.findall(".//a:audio_file", NS) == []
    assert len(root.findall("a:album/a:tracks/a:track", NS)) == 2
    assert metadata_only.fingerprint == full.fingerprint
    assert metadata_only.message.data != full.message.data


def test_validate_accepts_every_example_apple_package(monkeypatch: pytest.MonkeyPatch) -> None:
    apple_only = tuple(c for c in checks.RELEASE_CHECKS if c.name in ("references", "apple"))
    monkeypatch.setattr(checks.gate, "RELEASE_CHECKS", apple_only)

    report = validate.validate_catalog(REPO_ROOT)

    assert [d.format() for d in report.diagnostics if d.severity == "error"] == []
    assert report.releases == len(EXAMPLES)
    # The contract EP's WAVs are 8 kHz mono on purpose (a small repository): Apple may refuse them.
    assert [(d.path, d.field, d.severity) for d in report.diagnostics if "apple" in d.message] == [
        (EXAMPLES["1234567890128"], "tracks[0].audio", "warning"),
        (EXAMPLES["1234567890128"], "tracks[1].audio", "warning"),
    ]


# --- small catalogs in tmp_path --------------------------------------------------------------

UPC = "1234567890128"


@pytest.fixture(scope="session")
def cover_3000(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jpeg(tmp_path_factory.mktemp("cover") / "cover.jpg", size=3000)


def _write_yaml(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _track(number: int, audio: str = "assets/01.wav", **fields: object) -> dict[str, object]:
    return {
        "isrc": f"USRC125{number:05d}",
        "title": f"Track {number}",
        "duration": 1,
        "audio": audio,
        **fields,
    }


def _release(**fields: object) -> dict[str, object]:
    return {
        "upc": UPC,
        "title": "Test Release",
        "artists": [{"name": "Test Artist", "role": "MainArtist"}],
        "label": "Indie Records",
        "release_date": "2025-05-02",
        "genre": "SYNTH_POP",
        "language": "en",
        "p_line": {"year": 2025, "owner": "Indie Records"},
        "c_line": {"year": 2025, "owner": "Indie Records"},
        "parental_warning": "NotExplicit",
        "cover": "assets/cover.jpg",
        "tracks": [_track(1)],
        "deals": [
            {
                "territories": ["US", "GB"],
                "commercial_models": ["PayAsYouGoModel"],
                "use_types": ["PermanentDownload"],
                "start_date": "2025-05-02",
            }
        ],
        "targets": ["shop"],
        **fields,
    }


def _tmp_catalog(
    root: Path, cover: Path, release: dict[str, object] | None = None, **target: object
) -> Catalog:
    shutil.copytree(REPO_ROOT / "genre-maps", root / "genre-maps")
    (root / "assets").mkdir(parents=True, exist_ok=True)
    shutil.copy(cover, root / "assets" / "cover.jpg")
    write_wav(root / "assets" / "01.wav", seconds=1.0, rate=44100, channels=2)
    settings = {"format": "apple", "provider": "IndieRecords", **target}
    _write_yaml(
        root / "targets/shop.yaml",
        {**settings, "delivery": {"protocol": "local", "directory": "out"}},
    )
    _write_yaml(root / "catalog/release.yaml", release or _release())
    catalog = load_catalog(root)
    assert catalog.diagnostics.errors == []
    return catalog


def _render_tmp(catalog: Catalog, action: str = "initial", **kwargs: object) -> Package:
    loaded = catalog.releases["catalog/release.yaml"]
    return render_apple_package(catalog, loaded, "shop", action, CONTEXT, **kwargs)  # type: ignore[arg-type]


def _check(catalog: Catalog) -> list[tuple[int, str, str]]:
    """(line, field, message) of each diagnostic the check reports on catalog/release.yaml."""
    diagnostics = Diagnostics()
    check_apple_packages(catalog, catalog.releases["catalog/release.yaml"], diagnostics)
    assert {d.path for d in diagnostics.items} <= {"catalog/release.yaml"}
    return [(d.line, d.field, d.message) for d in diagnostics.sorted()]


def _line(root: Path, text: str, after: str = "") -> int:
    """The number of the first line of catalog/release.yaml that is ``text`` (stripped), below
    the line ``after``."""
    lines = (root / "catalog/release.yaml").read_text(encoding="utf-8").splitlines()
    start = lines.index(after) + 1 if after else 0
    return next(n for n, line in enumerate(lines[start:], start + 1) if line.strip() == text)


def test_strict_map_without_a_mapping_fails_naming_genre_release_and_map(
    tmp_path: Path, cover_3000: Path
) -> None:
    catalog = _tmp_catalog(tmp_path, cover_3000, genre_map="beatport", genre_strict=True)

    with pytest.raises(RenderError) as raised:
        _render_tmp(catalog)
    problems = _check(catalog)

    message = raised.value.message
    assert "SYNTH_POP" in message and "'beatport'" in message
    assert f"release {UPC} (catalog/release.yaml)" in message
    assert raised.value.loc == ("genre",)
    genre_line = _line(tmp_path, "genre: SYNTH_POP")
    assert problems == [(genre_line, "genre", f"apple target 'shop': {message}")]


def test_strict_map_error_points_at_the_track_genre(tmp_path: Path, cover_3000: Path) -> None:
    release = _release(genre="HOUSE", tracks=[_track(1, genre="SYNTHWAVE")])
    catalog = _tmp_catalog(tmp_path, cover_3000, release, genre_map="beatport", genre_strict=True)

    with pytest.raises(RenderError, match="SYNTHWAVE") as raised:
        _render_tmp(catalog)

    assert raised.value.loc == ("tracks", 0, "genre")


def test_without_strict_mode_the_fallback_is_applied(tmp_path: Path, cover_3000: Path) -> None:
    release = _release(tracks=[_track(1, genre="DEEP_HOUSE"), _track(2, genre="SYNTHWAVE")])
    catalog = _tmp_catalog(
        tmp_path, cover_3000, release, genre_map="beatport", genre_fallback="Electronica"
    )

    package = _render_tmp(catalog)
    root = _xml(package)

    assert package_problems(package) == []
    assert root.find("a:album/a:genres/a:genre", NS).get("code") == "Electronica"  # type: ignore[union-attr]
    tracks = root.findall("a:album/a:tracks/a:track", NS)
    assert [g.get("code") for g in tracks[0].findall("a:genres/a:genre", NS)] == ["Deep House"]
    assert tracks[1].find("a:genres", NS) is None  # the fallback again, the same as the album's


def test_a_map_without_fallback_or_strict_mode_still_refuses_an_unmapped_genre(
    tmp_path: Path, cover_3000: Path
) -> None:
    catalog = _tmp_catalog(tmp_path, cover_3000, genre_map="beatport")

    with pytest.raises(RenderError, match=r"SYNTH_POP.*'beatport'.*release 1234567890128"):
        _render_tmp(catalog)


def test_the_nearest_mapped_ancestor_is_used(tmp_path: Path, cover_3000: Path) -> None:
    catalog = _tmp_catalog(tmp_path, cover_3000, _release(genre="JUNGLE"))

    root = _xml(_render_tmp(catalog))

    assert root.find("a:album/a:genres/a:genre", NS).get("code") == "DRUM-AND-BASS-00"  # type: ignore[union-attr]


def test_vendor_id_prefix_and_product_details(tmp_path: Path, cover_3000: Path) -> None:
    release = _release(
        deals=[
            {
                "territories": ["Worldwide"],
                "excluded_territories": ["US", "826"],
                "commercial_models": ["SubscriptionModel"],
                "use_types": ["OnDemandStream"],
                "start_date": "2025-06-01",
                "end_date": "2026-06-01",
            },
            {
                "territories": ["FR"],
                "commercial_models": ["PayAsYouGoModel"],
                "use_types": ["PermanentDownload"],
                "start_date": "2025-05-02",
                "price_tier": "2",
            },
            {
                "territories": ["DE"],
                "commercial_models": ["PayAsYouGoModel"],
                "use_types": ["PermanentDownload"],
                "start_date": "2024-01-01",
                "end_date": "2024-12-31",
            },
        ]
    )
    catalog = _tmp_catalog(tmp_path, cover_3000, release, vendor_id_prefix="IR_")

    package = _render_tmp(catalog)
    products = _products(_xml(package))

    assert package.message.name == f"IR_{UPC}.itmsp/metadata.xml"
    assert package.release_id == f"IR_{UPC}"
    assert package_problems(package) == []
    assert "US" not in products and "GB" not in products  # excluded, "826" is GB's number
    assert "WW" not in products  # the terms differ by country
    assert set(products) == store_territories() - {"US", "GB"}  # no AQ, BV, HM: no Apple store
    assert products["FR"] == {
        "cleared_for_sale": "true",
        "cleared_for_stream": "true",
        "sales_start_date": "2025-05-02",
        "stream_start_date": "2025-06-01",
        "wholesale_price_tier": "2",
    }
    assert products["JP"] == {
        "cleared_for_sale": "false",
        "cleared_for_stream": "true",
        "sales_start_date": "2025-06-01",
        "sales_end_date": "2026-06-01",
    }
    # the download deal in DE ended before the render date; streaming runs on
    assert products["DE"]["cleared_for_sale"] == "false"


def test_a_region_code_is_refused_and_a_numeric_country_accepted(
    tmp_path: Path, cover_3000: Path
) -> None:
    deal = {
        "commercial_models": ["SubscriptionModel"],
        "use_types": ["OnDemandStream"],
        "start_date": "2025-05-02",
    }
    catalog = _tmp_catalog(
        tmp_path, cover_3000, _release(deals=[{**deal, "territories": ["2136"]}])
    )

    with pytest.raises(RenderError, match="territory '2136' is not a country"):
        _render_tmp(catalog)
    _write_yaml(
        tmp_path / "catalog/release.yaml", _release(deals=[{**deal, "territories": ["840"]}])
    )
    assert set(_products(_xml(_render_tmp(load_catalog(tmp_path))))) == {"US"}


def test_takedown_without_deals_clears_every_country(tmp_path: Path, cover_3000: Path) -> None:
    catalog = _tmp_catalog(tmp_path, cover_3000, _release(deals=[], takedown=True))

    package = _render_tmp(catalog, "takedown")
    products = _products(_xml(package))

    assert len(package.files) == 1 and package_problems(package) == []
    assert products == {"WW": {"cleared_for_sale": "false", "cleared_for_stream": "false"}}
    assert _check(catalog) == []


def test_a_changed_audio_file_changes_the_fingerprint(tmp_path: Path, cover_3000: Path) -> None:
    catalog = _tmp_catalog(tmp_path, cover_3000)
    before = _render_tmp(catalog)

    write_wav(tmp_path / "assets/01.wav", seconds=1.5)
    after = _render_tmp(catalog)

    assert after.fingerprint != before.fingerprint
    assert after.resources[1].size != before.resources[1].size


def test_the_check_finds_a_file_that_changed_after_rendering(
    tmp_path: Path, cover_3000: Path
) -> None:
    catalog = _tmp_catalog(tmp_path, cover_3000)
    package = _render_tmp(catalog)

    # Same size, new content.
    write_wav(tmp_path / "assets/01.wav", seconds=1.0, rate=44100, channels=2, freq=880.0)
    problems = file_problems(_xml(package), package)

    size = 44 + 44100 * 2 * 2
    assert len(problems) == 1
    assert problems[0].startswith(f"{UPC}_01_001.wav: the file has {size} bytes, MD5 ")
    assert problems[0].endswith(f"metadata.xml states {size} bytes, MD5 {package.resources[1].md5}")


def test_the_check_finds_files_missing_from_the_package(tmp_path: Path, cover_3000: Path) -> None:
    catalog = _tmp_catalog(tmp_path, cover_3000)
    full = _render_tmp(catalog)
    without_cover = Package(**{**full.__dict__, "files": full.files[1:]})

    assert file_problems(_xml(without_cover), without_cover) == [
        f"{UPC}.jpg is named in metadata.xml but not in the package"
    ]


@pytest.mark.parametrize("prefix", ["_IR", "IR-", "../../x/"])
def test_the_target_model_refuses_a_bad_vendor_id_prefix(
    tmp_path: Path, cover_3000: Path, prefix: str
) -> None:
    # issue 10: refused where it is written (targets/shop.yaml), before any render or write
    with pytest.raises(AssertionError):
        _tmp_catalog(tmp_path, cover_3000, vendor_id_prefix=prefix)
    errors = load_catalog(tmp_path).diagnostics.errors

    assert [(d.path, d.field, d.message) for d in errors] == [
        (
            "targets/shop.yaml",
            "vendor_id_prefix",
            f"'{prefix}' may hold only letters, digits and '_', starting with a letter or digit"
            " (it becomes part of a file name)",
        )
    ]


def test_the_check_wants_square_artwork_of_3000_pixels(tmp_path: Path, cover_3000: Path) -> None:
    catalog = _tmp_catalog(tmp_path, cover_3000)
    Image.new("RGB", (2000, 1500), "navy").save(tmp_path / "assets/cover.jpg", format="JPEG")

    cover_line = _line(tmp_path, "cover: assets/cover.jpg")
    assert _check(catalog) == [
        (
            cover_line,
            "cover",
            "apple target 'shop': cover art is 2000x1500, Apple needs at least 3000x3000",
        ),
        (
            cover_line,
            "cover",
            "apple target 'shop': cover art must be square for Apple, it is 2000x1500",
        ),
    ]


def test_the_check_allows_at_most_500_tracks(tmp_path: Path, cover_3000: Path) -> None:
    catalog = _tmp_catalog(
        tmp_path, cover_3000, _release(tracks=[_track(n) for n in range(1, 502)])
    )

    assert _check(catalog) == [
        (
            _line(tmp_path, "- shop", after="targets:"),
            "targets[0]",
            "apple target 'shop': 501 tracks; Apple takes at most 500 per album",
        )
    ]


def test_the_xsd_rejects_what_the_renderer_does_not_emit(examples: Catalog) -> None:
    root = _xml(_render(examples, "1234567890128"))
    root.find("a:album", NS).remove(root.find("a:album/a:upc", NS))  # type: ignore[union-attr]
    takedown = _xml(_render(examples, "4250123456789", "takedown"))
    takedown.find(".//a:cleared_for_sale", NS).text = "true"  # type: ignore[union-attr]

    assert any("upc" in problem for problem in xsd_problems(root))
    assert any("cleared_for_sale" in problem for problem in xsd_problems(takedown))


def test_lossy_audio_is_refused_for_apple(tmp_path: Path, cover_3000: Path) -> None:
    write_mp3(tmp_path / "assets" / "02.mp3", seconds=1.0)
    release = _release(tracks=[_track(1), _track(2, audio="assets/02.mp3")])
    catalog = _tmp_catalog(tmp_path, cover_3000, release)

    assert _check(catalog) == [
        (
            _line(tmp_path, "audio: assets/02.mp3"),
            "tracks[1].audio",
            "apple target 'shop': Apple takes lossless audio only (WAV or FLAC); this is MP3",
        )
    ]


@pytest.mark.parametrize(
    ("rate", "channels", "bits", "shortfall"),
    [
        (22050, 2, 16, "22050 Hz"),
        (44100, 1, 16, "mono"),
        (8000, 1, 8, "8000 Hz, 8-bit, mono"),
    ],
)
def test_audio_below_apple_quality_is_a_warning_naming_what_falls_short(
    tmp_path: Path, cover_3000: Path, rate: int, channels: int, bits: int, shortfall: str
) -> None:
    catalog = _tmp_catalog(tmp_path, cover_3000)
    write_wav(tmp_path / "assets" / "01.wav", seconds=1.0, rate=rate, channels=channels, bits=bits)
    diagnostics = Diagnostics()

    check_apple_packages(catalog, catalog.releases["catalog/release.yaml"], diagnostics)

    assert diagnostics.errors == []
    assert [(d.field, d.message) for d in diagnostics.warnings] == [
        (
            "tracks[0].audio",
            f"apple target 'shop': {shortfall}: Apple asks for stereo at 44.1 kHz or more and"
            " 16-bit or more, and may reject this audio",
        )
    ]


def test_hi_res_flac_passes_the_apple_audio_check(tmp_path: Path, cover_3000: Path) -> None:
    write_flac(tmp_path / "assets" / "02.flac", seconds=1.0, rate=96000, bits=24)
    release = _release(tracks=[_track(1, audio="assets/02.flac")])
    catalog = _tmp_catalog(tmp_path, cover_3000, release)

    assert _check(catalog) == []


def _track_products(root: etree._Element) -> list[dict[str, dict[str, str]]]:
    found = []
    for track in root.findall("a:album/a:tracks/a:track", NS):
        products = {}
        for product in track.findall("a:products/a:product", NS):
            fields = {etree.QName(child).localname: child.text or "" for child in product}
            products[fields.pop("territory")] = fields
        found.append(products)
    return found


def test_every_track_has_the_album_products_without_price_or_preorder(examples: Catalog) -> None:
    root = _xml(_render(examples, "0885686123454"))
    album = _products(root)
    expected = {
        territory: {k: v for k, v in fields.items() if k != "wholesale_price_tier"}
        for territory, fields in album.items()
    }

    tracks = _track_products(root)

    assert "wholesale_price_tier" in album["WW"]
    assert len(tracks) == 12 and all(products == expected for products in tracks)


def test_codes_without_an_apple_store_are_left_out(tmp_path: Path, cover_3000: Path) -> None:
    deal = {
        "territories": ["US", "AQ", "BV", "HM"],
        "commercial_models": ["SubscriptionModel"],
        "use_types": ["OnDemandStream"],
        "start_date": "2025-05-02",
    }
    catalog = _tmp_catalog(tmp_path, cover_3000, _release(deals=[deal]))

    package = _render_tmp(catalog)

    assert set(_products(_xml(package))) == {"US"}
    assert [set(p) for p in _track_products(_xml(package))] == [{"US"}]
    assert package_problems(package) == []


def test_a_release_with_no_store_territory_is_refused(tmp_path: Path, cover_3000: Path) -> None:
    deal = {
        "territories": ["AQ"],
        "commercial_models": ["SubscriptionModel"],
        "use_types": ["OnDemandStream"],
        "start_date": "2025-05-02",
    }
    catalog = _tmp_catalog(tmp_path, cover_3000, _release(deals=[deal]))

    with pytest.raises(RenderError, match="no deal names a territory where Apple has a store"):
        _render_tmp(catalog)


def test_the_store_list_is_real_countries_and_leaves_out_uninhabited_codes() -> None:
    territories = store_territories()

    assert len(territories) == 175  # App Store Connect's count of countries and regions
    assert {"US", "GB", "JP", "BR", "NG", "XK"} <= territories
    assert not {"AQ", "BV", "HM", "TF", "GS", "UM", "WW"} & territories


def test_validate_without_assets_opens_no_asset_file_of_an_apple_release(
    tmp_path: Path, cover_3000: Path
) -> None:
    """``--no-assets`` promises that nothing needing the assets is checked: the Apple check then
    checks the metadata alone. With the cover and audio gone, only a run with assets says so."""
    _tmp_catalog(tmp_path, cover_3000)
    (tmp_path / "assets" / "cover.jpg").unlink()
    (tmp_path / "assets" / "01.wav").unlink()

    with_assets = validate.validate_catalog(tmp_path)
    without = validate.validate_catalog(tmp_path, options=validate.ValidationOptions(False))

    assert {d.field for d in with_assets.errors} >= {"cover", "tracks[0].audio"}
    assert any("apple target 'shop'" in d.message for d in with_assets.errors)
    assert without.errors == []
    assert without.releases == 1
