"""What every ERN reader (3.8.2, 4.2, 4.3) needs: plain functions over plain values.

Durations, dates, P/C lines, identifiers, party and deal dicts, the merging of deals a message
splits per territory, takedown detection and the names files get under ``assets/<UPC>/``. Nothing
here knows an element tree: the readers pull texts out of their items and hand them over.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from stdnum import ean

from stardust_git import vocabulary
from stardust_git.models.release import Deal

USER_DEFINED = "UserDefined"
_ISO_DURATION = re.compile(
    r"P(?:(\d+)D)?T?(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?"
)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d|2100)\b")
_NOTICE = re.compile(r"^\s*(?:\([PC]\)|[℗©]|[PC]\s)\s*", re.IGNORECASE)
_DEAL_TERMS = tuple(name for name in Deal.model_fields if name != "territories")
"""What two deals must share to be one deal over both their territories."""


def duration_seconds(text: str | None) -> float | None:
    """Seconds of an ISO 8601 duration (``PT3M35S``, ``PT1H2M5.5S``, ``P0DT0H3M0S``); None when
    absent or not a duration."""
    match = _ISO_DURATION.fullmatch((text or "").strip())
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return days * 86_400 + hours * 3600 + minutes * 60 + seconds


def catalog_number(value: float) -> int | float:
    """A number as the catalog writes it: 215 rather than 215.0, milliseconds kept."""
    rounded = round(value, 3)
    return int(rounded) if rounded == int(rounded) else rounded


def parse_date(text: str | None) -> dt.date | None:
    """A date from ``2024-07-01`` or the date part of a date-time; None when absent or invalid."""
    try:
        return dt.date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None


def icpn(text: str | None) -> str:
    """The release's UPC from an ICPN: a GTIN-14 with a leading zero becomes its EAN-13;
    "" when absent or not a valid UPC-A/EAN-13 (the writer reports the release)."""
    value = (text or "").strip()
    if len(value) == 14 and value.startswith("0"):
        value = value[1:]
    valid = value.isdigit() and len(value) in (12, 13) and ean.is_valid(value)
    return value if valid else ""


def copyright_line(year: str | None, company: str | None, text: str | None) -> dict[str, Any]:
    """``{year, owner}`` from a PLine/CLine: the company when stated, else the notice text
    without its (P)/(C) symbol and leading year. Missing parts are left out."""
    line: dict[str, Any] = {}
    found_year = year or _first_year(text)
    if found_year and found_year.strip().isdigit():
        line["year"] = int(found_year)
    owner = company or _owner_from_notice(text or "", found_year)
    if owner:
        line["owner"] = owner
    return line


def _first_year(text: str | None) -> str | None:
    found = _YEAR.search(text or "")
    return found.group() if found else None


def _owner_from_notice(text: str, year: str | None) -> str:
    owner = _NOTICE.sub("", text).strip()
    if year and owner.startswith(year.strip()):
        owner = owner[len(year.strip()) :].strip()
    return owner


def party_dict(name: str, isni: str | None = None, ipi: str | None = None) -> dict[str, Any]:
    """An artist or contributor entry's name and identifiers (absent ids left out)."""
    party: dict[str, Any] = {"name": name}
    if isni:
        party["isni"] = isni.replace(" ", "")
    if ipi:
        party["ipi"] = ipi
    return party


def contributor_role_back(value: str, version: str) -> str:
    """The catalog's role for a DDEX contributor role of ``version``, through the renderers'
    alias table. A role the table would turn into a display artist role (4.x writes Main and
    Featured artists alike as ``Artist``) stays as the message says it."""
    alias = vocabulary.catalog_role(value, version)
    if alias != value and vocabulary.is_artist_role(alias, version):
        return value
    return alias


def deal_dict(
    territories: list[str],
    excluded: list[str],
    commercial_models: list[str],
    use_types: list[str],
    start: dt.date | None,
    end: dt.date | None,
    price_tier: str | None,
) -> dict[str, Any]:
    """A deal as the catalog writes it. Only excluded territories means "Worldwide except"."""
    deal: dict[str, Any] = {"territories": territories or (["Worldwide"] if excluded else [])}
    if excluded:
        deal["excluded_territories"] = excluded
    deal["commercial_models"] = commercial_models
    deal["use_types"] = use_types
    deal["start_date"] = start
    if end:
        deal["end_date"] = end
    if price_tier:
        deal["price_tier"] = price_tier
    return deal


def merge_deals(deals: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Deals that differ only in their (disjoint) territories as one deal: messages often state
    a deal per country; the catalog lists the countries of one deal."""
    merged: list[dict[str, Any]] = []
    by_terms: dict[tuple, dict[str, Any]] = {}
    for deal in deals:
        key = tuple(_frozen(deal.get(name)) for name in _DEAL_TERMS)
        found = by_terms.get(key)
        if found is not None and not set(found["territories"]) & set(deal["territories"]):
            found["territories"] = [*found["territories"], *deal["territories"]]
            continue
        copy = {**deal, "territories": list(deal["territories"])}
        by_terms[key] = copy
        merged.append(copy)
    return merged


def _frozen(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def is_takedown(deals: list[dict[str, Any]], on: dt.date) -> bool:
    """True when no deal is live or to come on ``on``: none at all, or every one ended."""
    return all(deal.get("end_date") is not None and deal["end_date"] < on for deal in deals)


def local_file(uri: str, folder: Path) -> Path | None:
    """The file a resource URI names, resolved against the message's ``folder``; None for a
    remote URI (http, s3 ...) and for a path outside ``folder`` (an absolute path, ``..``): a
    message must not make the import copy a file that is not part of its delivery."""
    parsed = urlparse(uri)
    if parsed.scheme and (len(parsed.scheme) > 1 or parsed.scheme == "file"):
        return None
    path = (folder / unquote(uri)).resolve()
    return path if path.is_relative_to(_resolved(folder)) else None


@functools.lru_cache(maxsize=64)
def _resolved(folder: Path) -> Path:
    """``folder`` resolved once per message folder, not once per resource."""
    return folder.resolve()


def extension(uri: str, default: str) -> str:
    """The lower-case file extension of ``uri`` (``jpeg`` as ``jpg``), ``default`` without one."""
    suffix = PurePosixPath(urlparse(uri).path).suffix.lower().lstrip(".")
    return {"jpeg": "jpg"}.get(suffix, suffix) or default


def audio_name(sequence: int, uri: str) -> str:
    """A track's file name under ``assets/<UPC>/``: ``01.wav``, numbered across discs."""
    return f"{sequence:02}.{extension(uri, 'wav')}"


def cover_name(uri: str) -> str:
    """The cover's file name under ``assets/<UPC>/``."""
    return f"cover.{extension(uri, 'jpg')}"


def asset_path(upc: str, name: str) -> str:
    """The repository path of an imported file (what ``audio:``/``cover:`` holds)."""
    return f"assets/{upc or 'unknown'}/{name}"


def md5_value(algorithm: str | None, value: str | None) -> str | None:
    """A stated MD5 (lower-case hex); None for another algorithm or a malformed value."""
    text = (value or "").strip().lower()
    is_md5 = (algorithm or "MD5").strip().upper() == "MD5"
    return text if is_md5 and re.fullmatch(r"[0-9a-f]{32}", text) else None


def created_date(created: str) -> dt.date:
    """The day a message was created (MessageCreatedDateTime; deals are judged against it);
    today when absent or unreadable."""
    try:
        return dt.datetime.fromisoformat(created.strip().replace("Z", "+00:00")).date()
    except ValueError:
        return dt.date.today()
