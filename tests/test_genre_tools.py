"""Genre-map tooling: resolution, `genre coverage` and `genre suggest` on a small real catalog."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stardust_git.commands.genre import genre_coverage_command, genre_suggest_command
from stardust_git.errors import UserError
from stardust_git.genre_tools import (
    map_coverage,
    name_similarity,
    normalise_genre_name,
    resolve_genre,
    suggest_mappings,
)
from stardust_git.source.catalog import load_catalog

REPO_ROOT = Path(__file__).resolve().parents[1]

TAXONOMY = {
    "genres": {
        "ELECTRONIC": {"name": "Electronic"},
        "HOUSE": {"name": "House", "parent": "ELECTRONIC"},
        "DEEP_HOUSE": {"name": "Deep House", "parent": "HOUSE"},
        "DRUM_AND_BASS": {"name": "Drum and Bass", "parent": "ELECTRONIC"},
        "SYNTHWAVE": {"name": "Synthwave", "parent": "ELECTRONIC", "aliases": ["Retrowave"]},
        "ROCK": {"name": "Rock"},
    }
}
VOCABULARY = {
    "name": "Shop",
    "entries": {
        "House": {"name": "House"},
        "Deep House": {"name": "Deep House"},
        "Drum & Bass": {"name": "Drum & Bass"},
        "Electronica": {"name": "Electronica"},
        "Retro Wave": {"name": "Retro Wave"},
    },
}
PARTIAL_MAP = {"vocabulary": "shop", "mappings": {"HOUSE": "House"}}
FALLBACK_MAP = {"vocabulary": "shop", "fallback": "Electronica", "mappings": {"HOUSE": "House"}}


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _release(upc: str, title: str, genre: str, targets: list[str]) -> dict[str, object]:
    return {
        "upc": upc,
        "title": title,
        "artists": [{"name": "Some Artist"}],
        "label": "Indie Records",
        "release_date": "2025-01-10",
        "genre": genre,
        "language": "en",
        "p_line": {"year": 2025, "owner": "Indie Records"},
        "c_line": {"year": 2025, "owner": "Indie Records"},
        "cover": f"assets/{upc}/cover.jpg",
        "tracks": [
            {
                "isrc": f"USRC1250{upc[-4:]}",
                "title": title,
                "duration": 3,
                "audio": f"assets/{upc}/01.wav",
            }
        ],
        "deals": [
            {
                "territories": ["Worldwide"],
                "commercial_models": ["SubscriptionModel"],
                "use_types": ["OnDemandStream"],
                "start_date": "2025-01-10",
            }
        ],
        "targets": targets,
    }


@pytest.fixture
def gap_catalog(tmp_path: Path) -> Path:
    """Two maps over a six-genre taxonomy, a target using the partial one, three releases."""
    _write(tmp_path / "genre-maps/genres.yaml", TAXONOMY)
    _write(tmp_path / "genre-maps/vocabularies/shop.yaml", VOCABULARY)
    _write(tmp_path / "genre-maps/partial.yaml", PARTIAL_MAP)
    _write(tmp_path / "genre-maps/withfallback.yaml", FALLBACK_MAP)
    _write(
        tmp_path / "targets/shop.yaml",
        {
            "format": "ern",
            "ern_version": "4.3",
            "sender": {"party_id": "PADPIDA2025110101D", "name": "Indie Records"},
            "recipient": {"party_id": "PADPIDA20251101047", "name": "Shop"},
            "genre_map": "partial",
            "delivery": {"protocol": "local", "directory": "outbox/shop"},
        },
    )
    _write(
        tmp_path / "catalog/a.yaml", _release("1234567890128", "Deep One", "DEEP_HOUSE", ["shop"])
    )
    _write(tmp_path / "catalog/b.yaml", _release("5060236631114", "Neon", "SYNTHWAVE", ["shop"]))
    _write(tmp_path / "catalog/c.yaml", _release("4250123456789", "Riffs", "ROCK", []))
    return tmp_path


def test_resolution_uses_the_genre_then_its_nearest_mapped_ancestor_then_the_fallback(
    gap_catalog: Path,
) -> None:
    catalog = load_catalog(gap_catalog)
    taxonomy = catalog.taxonomy.model
    partial = catalog.genre_maps["partial"].model
    with_fallback = catalog.genre_maps["withfallback"].model

    house = resolve_genre(taxonomy, partial, "HOUSE")
    deep = resolve_genre(taxonomy, partial, "DEEP_HOUSE")
    rock = resolve_genre(taxonomy, partial, "ROCK")
    rock_fallback = resolve_genre(taxonomy, with_fallback, "ROCK")
    target_fallback = resolve_genre(taxonomy, with_fallback, "ROCK", fallback="Retro Wave")

    assert (house.value, house.source, house.via) == ("House", "direct", "HOUSE")
    assert (deep.value, deep.source, deep.via) == ("House", "ancestor", "HOUSE")
    assert (rock.value, rock.source, rock.mapped) == (None, "unmapped", False)
    assert (rock_fallback.value, rock_fallback.source) == ("Electronica", "fallback")
    assert target_fallback.value == "Retro Wave"


def test_coverage_lists_gaps_and_the_releases_they_affect(
    gap_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert genre_coverage_command(gap_catalog, None) == 0

    assert capsys.readouterr().out == (
        "partial: vocabulary shop, no fallback, used by shop\n"
        "  6 genres: 1 mapped directly, 1 through an ancestor, 0 only by the fallback, 4 unmapped\n"
        "  unmapped (4):\n"
        "    DRUM_AND_BASS\n"
        "    ELECTRONIC\n"
        "    ROCK\n"
        "    SYNTHWAVE\n"
        "  releases affected (1):\n"
        "    SYNTHWAVE  5060236631114  Neon  catalog/b.yaml  (sent to shop)\n"
        "\n"
        "withfallback: vocabulary shop, fallback Electronica, used by no target\n"
        "  6 genres: 1 mapped directly, 1 through an ancestor, 4 only by the fallback, 0 unmapped\n"
        "  covered only by the fallback (4):\n"
        "    DRUM_AND_BASS\n"
        "    ELECTRONIC\n"
        "    ROCK\n"
        "    SYNTHWAVE\n"
    )  # no target uses this map, so no release is affected


def test_coverage_of_one_map_counts_track_genres(gap_catalog: Path) -> None:
    release = _release("1234567890128", "Deep One", "DEEP_HOUSE", ["shop"])
    release["tracks"][0]["genre"] = "DRUM_AND_BASS"  # type: ignore[index]
    _write(gap_catalog / "catalog/a.yaml", release)

    coverage = map_coverage(load_catalog(gap_catalog), "partial")

    assert [(item.genre, item.upc) for item in coverage.affected] == [
        ("DRUM_AND_BASS", "1234567890128"),
        ("SYNTHWAVE", "5060236631114"),
    ]  # Riffs (ROCK) is not sent to a target that uses the map


def test_suggest_prints_yaml_to_paste_under_mappings(
    gap_catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert genre_suggest_command(gap_catalog, "partial") == 0

    out = capsys.readouterr().out
    assert out == (
        "# 4 genres without a mapping in genre-maps/partial.yaml;"
        " paste under `mappings:` and check each one\n"
        '  DRUM_AND_BASS: Drum & Bass  # 1.00 from "Drum and Bass";'
        ' or: Electronica (0.81 from "Electronic")\n'
        '  ELECTRONIC: Electronica  # 0.95 from "Electronic"\n'
        "  # ROCK (Rock): no close entry\n"
        '  SYNTHWAVE: Retro Wave  # 1.00 from "Retrowave";'
        ' or: Electronica (0.81 from "Electronic")\n'
    )
    pasted = yaml.safe_load("mappings:\n" + out)["mappings"]
    assert pasted == {
        "DRUM_AND_BASS": "Drum & Bass",
        "ELECTRONIC": "Electronica",
        "SYNTHWAVE": "Retro Wave",
    }


def test_suggest_says_so_when_every_genre_is_mapped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert genre_suggest_command(REPO_ROOT, "apple") == 0

    assert capsys.readouterr().out == "# every genre has a mapping in genre-maps/apple.yaml\n"


def test_the_example_beatport_map_has_gaps_with_suggestions() -> None:
    catalog = load_catalog(REPO_ROOT)

    suggestions = {s.genre: s for s in suggest_mappings(catalog, "beatport")}
    coverage = map_coverage(catalog, "beatport")

    assert "ELECTRONIC" in coverage.unmapped and "SYNTHWAVE" in coverage.unmapped
    assert coverage.fallback_only == ()
    assert suggestions["ELECTRONIC"].candidates[0].code == "Electronica"
    assert suggestions["TRAP"].candidates[0].code == "Trap / Future Bass"
    assert suggestions["NU_DISCO"].candidates[0].code == "Nu Disco / Disco"
    assert "HOUSE" not in suggestions


def test_unknown_map_is_a_user_error_with_a_hint(gap_catalog: Path) -> None:
    with pytest.raises(UserError, match=r"unknown genre map 'partal'.*did you mean 'partial'"):
        genre_suggest_command(gap_catalog, "partal")


def test_broken_genre_map_files_are_reported(gap_catalog: Path) -> None:
    (gap_catalog / "genre-maps/partial.yaml").write_text("vocabulary: shop\nmapings: {}\n")

    with pytest.raises(UserError) as raised:
        genre_coverage_command(gap_catalog, None)

    assert [d.path for d in raised.value.diagnostics] == ["genre-maps/partial.yaml"]


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("Drum & Bass", "drum and bass"),
        ("Drum-Bass", "DRUM BASS"),
        ("Reggaetón", "Reggaeton"),
        ("Hip-Hop/Rap", "hip hop rap"),
    ],
)
def test_normalised_names_ignore_case_punctuation_and_and(left: str, right: str) -> None:
    assert normalise_genre_name(left) == normalise_genre_name(right)


def test_similarity_prefers_shared_words_over_shared_letters() -> None:
    assert name_similarity("Trap", "Trap / Future Bass") > name_similarity("Trap", "Tropical")
    assert name_similarity("Indian", "Indie Dance") < 0.6
    assert name_similarity("Retrowave", "Retro Wave") == 1.0
