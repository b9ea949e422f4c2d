"""The default spreadsheet layout: one row per track, its columns, rows written from releases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

DEAL_PARTS = (
    "territories",
    "excluded_territories",
    "commercial_models",
    "use_types",
    "start_date",
    "end_date",
    "price_tier",
)
"""A deal's columns after the ``deal_`` / ``deal2_`` prefix."""

DEAL_PREFIXES = ("deal_", "deal2_")
"""One prefix per deal a row can state."""

RELEASE_FIELDS = (
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
    "cover_md5",
    "catalog_number",
    *(prefix + part for prefix in DEAL_PREFIXES for part in DEAL_PARTS),
)
"""Columns that describe the release: every row of a release must agree on them."""

TRACK_FIELDS = (
    "disc",
    "track_number",
    "isrc",
    "track_title",
    "track_version",
    "duration",
    "audio",
    "audio_md5",
    "track_artists",
    "contributors",
    "iswc",
    "track_parental_warning",
    "track_language",
    "preview_start",
)
"""Columns that describe the row's track."""

FIELDS = RELEASE_FIELDS + TRACK_FIELDS

REQUIRED = (
    "upc",
    "release_title",
    "release_artists",
    "label",
    "release_date",
    "genre",
    "language",
    "p_line_year",
    "p_line_owner",
    "c_line_year",
    "c_line_owner",
    "cover",
    "isrc",
    "track_title",
    "duration",
    "audio",
)
"""Columns a spreadsheet must have (or a mapping must give a constant for)."""


def release_rows(release: dict[str, Any]) -> Iterator[dict[str, str]]:
    """The default layout's rows for a release as its YAML holds it (cover and audio reduced to
    their file names): what an export of the catalog to a spreadsheet writes."""
    shared = _release_cells(release)
    for number, track in enumerate(release["tracks"], start=1):
        yield {**shared, "track_number": str(number), **_track_cells(track)}


def _release_cells(release: dict[str, Any]) -> dict[str, str]:
    cells = {
        "upc": release["upc"],
        "release_title": release["title"],
        "release_version": release.get("version"),
        "release_artists": format_artists(release["artists"]),
        "label": release["label"],
        "release_type": release.get("release_type"),
        "release_date": release["release_date"],
        "original_release_date": release.get("original_release_date"),
        "genre": release["genre"],
        "language": release["language"],
        "p_line_year": release["p_line"]["year"],
        "p_line_owner": release["p_line"]["owner"],
        "c_line_year": release["c_line"]["year"],
        "c_line_owner": release["c_line"]["owner"],
        "parental_warning": release.get("parental_warning"),
        "cover": _file_name(release["cover"]),
        "catalog_number": release.get("catalog_number"),
    }
    for prefix, deal in zip(DEAL_PREFIXES, release.get("deals") or [], strict=False):
        cells.update({prefix + part: _joined(deal.get(part)) for part in DEAL_PARTS})
    return _as_text(cells)


def _track_cells(track: dict[str, Any]) -> dict[str, str]:
    cells = {
        "disc": track.get("disc"),
        "isrc": track["isrc"],
        "track_title": track["title"],
        "track_version": track.get("version"),
        "duration": track["duration"],
        "audio": _file_name(track["audio"]),
        "track_artists": format_artists(track["artists"]) if track.get("artists") else None,
        "contributors": format_contributors(track.get("contributors") or []),
        "iswc": track.get("iswc"),
        "track_parental_warning": track.get("parental_warning"),
        "track_language": track.get("language"),
        "preview_start": track.get("preview_start"),
    }
    return _as_text(cells)


def format_artists(artists: list[dict[str, str]]) -> str:
    """``A; B (FeaturedArtist)``: the role is written when it is not MainArtist."""
    return "; ".join(
        artist["name"]
        if artist.get("role", "MainArtist") == "MainArtist"
        else f"{artist['name']} ({artist['role']})"
        for artist in artists
    )


def format_contributors(contributors: list[dict[str, str]]) -> str:
    """``Name (Producer, Composer); Name2 (Lyricist)``: one entry per run of the same name."""
    runs: list[tuple[str, list[str]]] = []
    for contributor in contributors:
        if runs and runs[-1][0] == contributor["name"]:
            runs[-1][1].append(contributor["role"])
        else:
            runs.append((contributor["name"], [contributor["role"]]))
    return "; ".join(f"{name} ({', '.join(roles)})" for name, roles in runs)


def _joined(value: Any) -> Any:
    return " ".join(value) if isinstance(value, list) else value


def _file_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _as_text(cells: dict[str, Any]) -> dict[str, str]:
    return {name: "" if value is None else str(value) for name, value in cells.items()}
