"""The catalog page's data: one compact row per release, for the shipped script to search,
filter and page through (about 200 bytes a release, so 10,000 stay under 2 MB).

``window.STARDUST_CATALOG = {"targets", "labels", "genres", "states", "rows"}``; a row is
``[upc, title, artist, label index, date, tracks, genre index, thumbnail MD5, ISRCs, states]``
with ``states`` as space-separated ``<target index><state letter>[until date]``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from stardust_git.report.gather import ReleaseEntry
from stardust_git.report.states import STATE_NAMES, TargetState

#: One letter per state; the script maps them back (STATE_LETTERS in catalog.js).
STATE_LETTERS = {code: code[0].upper() for code in STATE_NAMES}


def catalog_script(entries: list[ReleaseEntry], thumbs: Mapping[str, str | None]) -> str:
    """The data as a script (``<script src>`` works from file://, a fetch of JSON does not)."""
    releases = [entry.release for entry in entries if entry.release]
    index = {
        "targets": sorted({state.target for entry in entries for state in entry.states}),
        "labels": sorted({release.label for release in releases}),
        "genres": sorted({release.genre for release in releases}),
    }
    positions = {key: {name: i for i, name in enumerate(names)} for key, names in index.items()}
    rows = [_row(entry, positions, thumbs) for entry in entries]
    data = {**index, "states": STATE_LETTERS, "rows": rows}
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return "window.STARDUST_CATALOG = " + text.replace("</", "<\\/") + ";\n"


def _row(
    entry: ReleaseEntry, positions: dict[str, dict[str, int]], thumbs: Mapping[str, str | None]
) -> list[object]:
    states = " ".join(_state(state, positions["targets"]) for state in entry.states)
    release = entry.release
    if release is None:
        return [entry.upc, entry.title, "", -1, "", 0, -1, "", "", states]
    artist = ", ".join(a.name for a in release.artists if a.role == "MainArtist")
    isrcs = " ".join(track.isrc for track in release.tracks)
    label, genre = positions["labels"][release.label], positions["genres"][release.genre]
    thumb = (thumbs.get(release.cover) or "").removeprefix("thumbs/").removesuffix(".jpg")
    date = release.release_date.isoformat()
    return [
        entry.upc,
        release.title,
        artist,
        label,
        date,
        len(release.tracks),
        genre,
        thumb,
        isrcs,
        states,
    ]


def _state(state: TargetState, targets: dict[str, int]) -> str:
    return f"{targets[state.target]}{STATE_LETTERS[state.code]}{state.until}"
