"""What every ERN reader (3.8.2, 4.2, 4.3) needs, one function per job.

Reading an item's elements the same way in every version (allowed values, P/C lines, genres,
the header, what was left unread), and plain functions over plain values: durations, dates,
identifiers, party and deal dicts, pre-orders, the merging of deals a message splits per
territory, takedown detection and the names files get under ``assets/<UPC>/``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from lxml import etree
from stdnum import ean

from stardust_git import vocabulary
from stardust_git.errors import did_you_mean
from stardust_git.importers.genres import GenreLookup
from stardust_git.importers.model import ImportNote, PurgeNotSupported
from stardust_git.importers.xmlsafe import ItemReader, Message, input_error
from stardust_git.models.release import Deal

USER_DEFINED = "UserDefined"
NOT_CARRIED = "not carried over: the release file has no place for it"
FILE_DETAILS = (
    "TechnicalResourceDetailsReference",
    "AudioCodecType",
    "NumberOfChannels",
    "SamplingRate",
    "BitsPerSample",
    "ImageCodecType",
    "ImageHeight",
    "ImageWidth",
    "IsPreview",
    "IsProvidedInDelivery",
)
"""What the message says of a resource's file that the file itself carries: read as carried."""
_ISO_DURATION = re.compile(
    r"P(?:(\d+)D)?T?(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?"
)
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d|2100)\b")
_NOTICE = re.compile(r"^\s*(?:\([PC]\)|[℗©]|[PC]\s)\s*", re.IGNORECASE)
_DEAL_TERMS = tuple(name for name in Deal.model_fields if name != "territories")
"""What two deals must share to be one deal over both their territories."""


# --- reading an item ----------------------------------------------------------------------


def allowed_value(reader: ItemReader, element: etree._Element) -> str | None:
    """An allowed-value element's value (a UserDefined one's ``UserDefinedValue``), marked."""
    reader.mark(element)
    text = (element.text or "").strip()
    if text == USER_DEFINED:
        return element.get("UserDefinedValue") or USER_DEFINED
    return text or None


def allowed_values(reader: ItemReader, path: str, base: etree._Element | None = None) -> list[str]:
    """Every value at ``path``, in order, without empties (repeats kept, as the message says)."""
    values = (allowed_value(reader, e) for e in reader.findall(path, base))
    return [value for value in values if value]


def first_value(reader: ItemReader, path: str, base: etree._Element | None = None) -> str | None:
    """The first allowed value at ``path`` (later ones stay unread)."""
    found = reader.findall(path, base)
    return allowed_value(reader, found[0]) if found else None


def marked_text(reader: ItemReader, element: etree._Element) -> str:
    """The stripped text of ``element``, marked as read."""
    reader.mark(element)
    return (element.text or "").strip()


def read_line(reader: ItemReader, tag: str, base: etree._Element | None = None) -> dict[str, Any]:
    """A PLine or CLine as ``{year, owner}`` (empty when absent, parts left out when unstated)."""
    element = reader.find(tag, base)
    if element is None:
        return {}
    year = reader.text("Year", element)
    company = reader.text(f"{tag}Company", element)
    return copyright_line(year, company, reader.text(f"{tag}Text", element))


def read_genre(
    reader: ItemReader, base: etree._Element | None = None
) -> tuple[str, str | None] | None:
    """(GenreText, SubGenre) of the first Genre."""
    element = reader.find("Genre", base)
    if element is None:
        return None
    text = reader.text("GenreText", element)
    return (text, reader.text("SubGenre", element)) if text else None


def read_header(reader: ItemReader) -> dict[str, str]:
    """The MessageHeader's MessageId and MessageCreatedDateTime (for baseline receipts)."""
    return {
        "message_id": reader.text("MessageId") or "",
        "message_created": reader.text("MessageCreatedDateTime") or "",
    }


def unmapped(reader: ItemReader) -> list[ImportNote]:
    """An ``unmapped`` note for every element of the item nothing read."""
    return [ImportNote("unmapped", where, NOT_CARRIED) for where in reader.unread()]


@dataclass(frozen=True)
class GenreBack:
    """A message's genre matched back to the catalog's taxonomy."""

    code: str | None
    """The taxonomy code (the closest one when the genre is not in the taxonomy), or None."""
    guess: str | None
    """The comment for the release file when the code was chosen, not stated."""
    problem: str | None
    """What to tell the user when the genre is not in the taxonomy."""


def genre_back(lookup: GenreLookup, genre: tuple[str, str | None] | None) -> GenreBack:
    """(GenreText, SubGenre) back to a code through the genre maps (see :class:`GenreBack`)."""
    if genre is None:
        return GenreBack(None, None, None)
    text, sub = genre
    shown = f"{text} > {sub}" if sub else text
    match = lookup.match(text, sub)
    if match.code is not None:
        guess = f"guessed: several genres are sent as '{shown}'" if match.guessed else None
        return GenreBack(match.code, guess, None)
    problem = f"genre '{shown}' is not in the taxonomy{did_you_mean(match.suggestion)}"
    guess = f"guessed: the message says '{shown}'" if match.suggestion else None
    return GenreBack(match.suggestion, guess, problem)


# --- plain values ---------------------------------------------------------------------------


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


def read_date(text: str | None) -> tuple[dt.date | None, str | None]:
    """A date, also from a year or a month alone (its first day), and then the comment saying
    the day was guessed; (None, None) when absent or unreadable."""
    found = parse_date(text)
    if found is not None or not text:
        return found, None
    try:
        numbers = [int(part) for part in text.strip().split("-")[:2]]
        month = numbers[1] if len(numbers) > 1 else 1
        return dt.date(numbers[0], month, 1), f"guessed: the message says '{text}'"
    except (ValueError, IndexError):
        return None, None


def integer(text: str | None) -> int | None:
    """A whole number; None when absent or not one."""
    try:
        return int(text) if text is not None else None
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
    message must not make the import copy a file that is not part of its delivery. A drive
    letter (``C:/music``) is a scheme too: the sender's disk, not the delivery."""
    if urlparse(uri).scheme:
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


_PREORDER_TERMS = (
    "territories",
    "excluded_territories",
    "commercial_models",
    "use_types",
    "price_tier",
)
"""What a pre-order deal shares with the deal it opens (the renderers copy them)."""


def preorder_marks(flag: str | None, instant: list[str], opens: dt.date | None) -> dict[str, Any]:
    """The keys a reader adds to a deal dict for IsPreOrderDeal, the references of its
    InstantGratificationResourceList and 3.8.2's PreOrderReleaseDate (see
    :func:`fold_preorders`)."""
    if (flag or "").strip().lower() != "true":
        return {}
    return {"preorder": True, "instant_grat": instant, "opens": opens}


def fold_preorders(
    deals: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[str], list[dict[str, Any]]]:
    """(the regular deals, each with the ``preorder_date`` of its pre-order deal; the resource
    references of the instant-gratification tracks of those pre-orders; the pre-order deals no
    regular deal matches, whose tracks are not instant-gratification tracks then).

    The renderers write a deal's pre-order as a deal of the same terms from the day it opens
    (3.8.2 also states it as PreOrderReleaseDate) to the day before the deal starts."""
    regular = [deal for deal in deals if not deal.get("preorder")]
    instant: list[str] = []
    unmatched = []
    for preorder in (deal for deal in deals if deal.get("preorder")):
        found = _opened_by(regular, preorder)
        if found is None:
            unmatched.append(preorder)
            continue
        # compact() has dropped the keys an empty list or a missing date left empty
        found["preorder_date"] = preorder.get("opens") or preorder["start_date"]
        instant.extend(preorder.get("instant_grat", []))
    return regular, list(dict.fromkeys(instant)), unmatched


def _opened_by(regular: list[dict[str, Any]], preorder: dict[str, Any]) -> dict[str, Any] | None:
    """The first deal without a pre-order yet that has the terms of ``preorder`` and starts the
    day after it ends."""
    end = preorder.get("end_date")
    for deal in regular:
        same = all(deal.get(key) == preorder.get(key) for key in _PREORDER_TERMS)
        start = deal.get("start_date")
        follows = end is None or (start is not None and start == end + dt.timedelta(days=1))
        if same and follows and not deal.get("preorder_date"):
            return deal
    return None


LONE_PREORDER = (
    "a pre-order deal whose regular deal (same terms, starting the day after it ends) the"
    " message does not state: not carried over"
)


def refuse_other_kinds(message: Message) -> None:
    """Raise :class:`PurgeNotSupported`, located at the first item after the header, unless
    ``message`` is a NewReleaseMessage: only those describe releases."""
    if message.kind == "NewReleaseMessage":
        return
    error = input_error(message.shown, f"a {message.kind} cannot be imported", 1)
    for item in message.items:
        if item.tag != "MessageHeader":
            ids = " ".join(t.strip() for t in item.element.itertext() if t.strip())
            text = (
                f"a {message.kind} ({item.tag} {ids}) cannot be imported: only"
                " NewReleaseMessages describe releases"
            )
            error = input_error(message.shown, text, item.line)
            break
    raise PurgeNotSupported(error, message.kind)


def compact(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without empty values (None, empty lists and dicts), nested dicts included."""
    kept: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = compact(value)
        elif isinstance(value, list):
            value = [compact(v) if isinstance(v, dict) else v for v in value]
        if value is None or value == [] or value == {}:
            continue
        kept[key] = value
    return kept
