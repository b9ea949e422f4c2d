"""The catalog and its delivery state as rows a spreadsheet opens (``stardust-git export``).

Three tables: ``releases`` (one row per release), ``tracks`` (one row per track) and
``deliveries`` (one row per delivery in the receipts' history). Values are plain JSON values
(strings, numbers, lists, objects); :func:`csv_text` flattens them and defuses cells a
spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from stardust_git.models.receipt import Receipt
from stardust_git.models.release import Artist, Release, Track
from stardust_git.receipts import RecordedState
from stardust_git.status import StatusRow, catalog_status

Table = Literal["releases", "tracks", "deliveries"]
TABLES: tuple[Table, ...] = ("releases", "tracks", "deliveries")
Row = dict[str, Any]
#: What a spreadsheet reads as the start of a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
UTF8_BOM = "\ufeff"


@dataclass(frozen=True)
class State:
    """The catalog, its receipts and the status rows, loaded once for every table."""

    releases: list[Release]
    recorded: RecordedState
    status: dict[str, list[StatusRow]]
    """UPC -> its rows, one per target."""


def load_state(root: Path) -> State:
    catalog, recorded, rows = catalog_status(root)
    by_upc: dict[str, list[StatusRow]] = {}
    for row in rows:
        by_upc.setdefault(row.upc, []).append(row)
    releases = sorted((loaded.model for loaded in catalog.releases.values()), key=_by_upc)
    return State(releases, recorded, by_upc)


def _by_upc(release: Release) -> str:
    return release.upc


def export_rows(root: Path, table: Table) -> list[Row]:
    """The rows of ``table`` for the catalog at ``root`` (the working tree)."""
    state = load_state(root)
    if table == "releases":
        return [release_row(one, state.status.get(one.upc, [])) for one in state.releases]
    if table == "tracks":
        return [row for release in state.releases for row in track_rows(release, state)]
    return delivery_rows(state)


# --- the tables ---------------------------------------------------------------------------------


def release_row(release: Release, status: list[StatusRow]) -> Row:
    return {
        "upc": release.upc,
        "title": release.title,
        "version": release.version or "",
        "artists": artist_names(release.artists),
        "label": release.label,
        "release_date": release.release_date.isoformat(),
        "genre": release.genre,
        "release_type": release.effective_release_type(),
        "tracks": len(release.tracks),
        "duration": clock(release.duration),
        "seconds": round(release.duration, 3),
        "live_at": live_at(status),
        "status": status_by_target(status),
    }


def track_rows(release: Release, state: State) -> list[Row]:
    status = state.status.get(release.upc, [])
    where, by_target = live_at(status), status_by_target(status)
    return [
        {
            "upc": release.upc,
            "isrc": track.isrc,
            "release_title": release.title,
            "disc": track.disc,
            "track": number,
            "track_title": track.title,
            "version": track.version or "",
            "artists": artist_names(track_artists(release, track)),
            "duration": clock(track.duration),
            "seconds": round(track.duration, 3),
            "label": release.label,
            "release_date": release.release_date.isoformat(),
            "live_at": where,
            "status": by_target,
        }
        for number, track in enumerate(release.tracks, start=1)
    ]


def delivery_rows(state: State) -> list[Row]:
    titles = {release.upc: release.title for release in state.releases}
    rows = []
    for upc in sorted(state.recorded):
        for target, receipt in sorted(state.recorded[upc].items()):
            rows += _history_rows(receipt, titles.get(upc, ""), target)
    return rows


def _history_rows(receipt: Receipt, title: str, target: str) -> list[Row]:
    return [
        {
            "upc": receipt.upc,
            "release_title": title,
            "target": target,
            "action": delivery.action,
            "status": delivery.status,
            "started": delivery.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "finished": delivery.finished.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "commit": delivery.commit,
            "attempts": delivery.attempts,
            "files": len(delivery.files),
            "bytes": sum(sent.bytes for sent in delivery.files),
            "acknowledgement": delivery.acknowledgements[-1].status
            if delivery.acknowledgements
            else "",
            "resend": delivery.resend,
            "error": delivery.error or "",
        }
        for delivery in receipt.history
    ]


# --- values ---------------------------------------------------------------------------------------


def track_artists(release: Release, track: Track) -> list[Artist]:
    """A track's own artists, else the release's."""
    return track.artists or release.artists


def artist_names(artists: Iterable[Artist]) -> list[str]:
    return [artist.name for artist in artists]


def clock(seconds: float) -> str:
    """``215`` -> ``"3:35"``; an hour or more ``"1:02:03"``."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def is_live(row: StatusRow) -> bool:
    """Delivered, wanted live, and the last delivery was not a takedown."""
    return row.wanted == "live" and row.status == "success" and row.action != "takedown"


def live_at(status: list[StatusRow]) -> list[str]:
    return [row.target for row in status if is_live(row)]


def status_by_target(status: list[StatusRow]) -> dict[str, str]:
    """Target -> ``live``, ``pending``, ``failed``, ``taken down`` or what the receipt says."""
    return {row.target: target_state(row) for row in status}


def target_state(row: StatusRow) -> str:
    if is_live(row):
        return "live"
    if row.status == "success" and row.action == "takedown":
        return "taken down"
    if row.wanted == "takedown" and row.status == "pending":
        return "not delivered"
    return row.status


# --- formats --------------------------------------------------------------------------------------


def json_text(rows: list[Row]) -> str:
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def csv_text(rows: list[Row], table: Table, bom: bool = False) -> str:
    """A header and one line per row; lists joined with "; ", per-target status as
    ``target: state``; every cell a spreadsheet would read as a formula starts with ``'``."""
    columns = list(rows[0]) if rows else empty_columns(table)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(flat(row[column])) for column in columns])
    return (UTF8_BOM if bom else "") + buffer.getvalue()


def empty_columns(table: Table) -> list[str]:
    """The header of a table with no rows (the columns of a made-up row)."""
    return list(_COLUMNS[table])


_COLUMNS: dict[Table, tuple[str, ...]] = {
    "releases": (
        "upc", "title", "version", "artists", "label", "release_date", "genre", "release_type",
        "tracks", "duration", "seconds", "live_at", "status",
    ),
    "tracks": (
        "upc", "isrc", "release_title", "disc", "track", "track_title", "version", "artists",
        "duration", "seconds", "label", "release_date", "live_at", "status",
    ),
    "deliveries": (
        "upc", "release_title", "target", "action", "status", "started", "finished", "commit",
        "attempts", "files", "bytes", "acknowledgement", "resend", "error",
    ),
}  # fmt: skip


def flat(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(flat(item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{key}: {flat(item)}" for key, item in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def safe_cell(text: str) -> str:
    """Text a spreadsheet shows as text: a leading ``'`` before what would start a formula."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
