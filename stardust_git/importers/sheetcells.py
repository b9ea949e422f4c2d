"""Spreadsheet cells read into release values: dates, durations, years, artists, contributors."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from stardust_git import vocabulary
from stardust_git.errors import closest, did_you_mean
from stardust_git.models.release import parse_duration

_CLOCK = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)")
_SECONDS = re.compile(r"\d+(?:\.\d+)?")
_PARENTHESES = re.compile(r"(.*?)\s*\(([^()]*)\)")
_LIST_SEPARATORS = re.compile(r"[\s,;]+")


class CellError(ValueError):
    """A cell that cannot be read; the message says what it holds and what was expected."""


def as_text(value: Any) -> str:
    """An XLSX cell value as the text a CSV would hold (dates ISO, whole numbers without ``.0``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return f"{value.hour}:{value.minute:02d}:{value.second:02d}"
    if isinstance(value, dt.timedelta):
        return _number_text(value.total_seconds())
    if isinstance(value, float):
        return _number_text(value)
    return str(value).strip()


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def number_instead_of_text(value: Any) -> str | None:
    """The complaint for a number where an identifier belongs (a UPC's leading zero is lost)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (
            f"the cell holds the number {_number_text(float(value))}, which loses leading zeros:"
            " format the column as text and type the codes again"
        )
    return None


def read_date(text: str, date_format: str) -> dt.date:
    """A date written in ``date_format`` or ISO 8601."""
    for pattern in dict.fromkeys((date_format, "%Y-%m-%d")):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    shown = date_format.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
    raise CellError(f"'{text}' is not a date (expected {shown})")


def read_duration(text: str) -> int | float:
    """Seconds from ``m:ss``, ``h:mm:ss``, a number of seconds or ISO 8601 (``PT3M35S``)."""
    clock = _CLOCK.fullmatch(text)
    if clock:
        hours, minutes, seconds = clock.groups()
        total = int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)
    elif _SECONDS.fullmatch(text):
        total = float(text)
    else:
        total = _iso_duration(text)
    if total <= 0:
        raise CellError(f"'{text}' is not a duration longer than zero")
    return int(total) if total.is_integer() else total


def _iso_duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError:
        raise CellError(
            f"'{text}' is not a duration (m:ss, h:mm:ss, seconds or ISO 8601 such as PT3M35S)"
        ) from None


def read_int(text: str, what: str) -> int:
    """A whole number (``2024``, ``2024.0`` as a spreadsheet may write it)."""
    try:
        number = float(text)
    except ValueError:
        number = 0.5
    if not number.is_integer():
        raise CellError(f"'{text}' is not {what}")
    return int(number)


def read_list(text: str) -> list[str]:
    """Codes separated by spaces, commas or semicolons (``US GB``, ``US, GB``)."""
    return [part for part in _LIST_SEPARATORS.split(text) if part]


def read_artists(text: str) -> list[dict[str, str]]:
    """``A; B (FeaturedArtist)``: MainArtist unless a DDEX artist role follows in parentheses."""
    artists = []
    for entry in _entries(text):
        named = _PARENTHESES.fullmatch(entry)
        if named and vocabulary.is_artist_role(named.group(2).strip()):
            artists.append({"name": named.group(1), "role": named.group(2).strip()})
        else:
            artists.append({"name": entry, "role": "MainArtist"})
    return artists


def read_contributors(text: str) -> list[dict[str, str]]:
    """``Name (Producer, Composer); Name2 (Lyricist)``: one contributor per name and role."""
    contributors = []
    for entry in _entries(text):
        named = _PARENTHESES.fullmatch(entry)
        roles = [role.strip() for role in named.group(2).split(",")] if named else []
        if not named or not named.group(1) or not all(roles):
            raise CellError(f"'{entry}' is not 'Name (Role, Role)'")
        contributors += [{"name": named.group(1), "role": read_role(r)} for r in roles]
    return contributors


def read_role(text: str) -> str:
    """A friendly role name or a DDEX contributor role, as the catalog writes it."""
    if text in vocabulary.ROLE_ALIASES:
        return text
    ddex = vocabulary.contributor_role(text)
    if ddex is None:
        names = [*vocabulary.ROLE_ALIASES, *sorted(vocabulary.contributor_roles())]
        hint = did_you_mean(closest(text, names))
        raise CellError(f"'{text}' is not a DDEX contributor role{hint}")
    return vocabulary.catalog_role(ddex)


def _entries(text: str) -> list[str]:
    entries = [entry.strip() for entry in text.split(";")]
    if not all(entries):
        raise CellError(f"'{text}' has an empty entry between semicolons")
    return entries
