"""One ERN 3.8.2 item (a SoundRecording, an Image, a Release, a ReleaseDeal) read into a small
record, every element used marked on its :class:`ItemReader`.

Parties are inline in 3.8.2; what a resource or release says for a territory sits in its
``...DetailsByTerritory``, of which the Worldwide one (else the first) is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from stardust_git.importers import ern_common as common
from stardust_git.importers.model import ImportNote, Loc
from stardust_git.importers.xmlsafe import ItemReader

VERSION = "3.8.2"
WORLDWIDE = "Worldwide"
_EMPTY = etree.Element("absent")
"""Stands in for a missing container, so that lookups below it find nothing."""
_TRACK_RELEASE = "TrackRelease"
_RESOURCE_REFERENCES = "ReleaseResourceReferenceList/ReleaseResourceReference"
_DERIVED = frozenset(
    {"TerritoryCode", "DisplayArtistName", "Title", "LabelName", "Duration", *common.FILE_DETAILS}
)
"""Elements the catalog derives from what it holds (the file's measurements, the titles and
display names built from title, version and artists): read as carried over."""


@dataclass
class FileRef:
    """A File element: where the resource is and the MD5 the message states for it."""

    name: str
    source: Path
    md5: str | None
    where: str


@dataclass
class Recording:
    """A SoundRecording reduced to a track's fields."""

    track: dict[str, Any]
    genre: tuple[str, str | None] | None
    p_line: dict[str, Any] | None
    file: FileRef | None
    notes: list[ImportNote]
    reference: str = ""


@dataclass
class Picture:
    """An Image reduced to what a release's cover needs."""

    kind: str
    c_line: dict[str, Any] | None
    file: FileRef | None
    notes: list[ImportNote]


@dataclass
class PendingRelease:
    """A main release as read, waiting for the deals that follow the ReleaseList."""

    reference: str
    xpath: str
    line: int
    fields: dict[str, Any]
    genre: tuple[str, str | None] | None
    references: list[str]
    discs: list[tuple[int, list[str]]]
    """(disc number, resource references in play order) per disc."""
    notes: list[ImportNote]
    guessed: dict[Loc, str] = field(default_factory=dict)
    deals: list[dict[str, Any]] = field(default_factory=list)
    taken_down: bool = False


# --- resources -----------------------------------------------------------------------------


def read_recording(reader: ItemReader, folder: Path) -> Recording:
    """A SoundRecording; its files are looked for in ``folder`` (the message's)."""
    reference = reader.text("ResourceReference") or reader.item.xpath
    kind = reader.item.element.find("SoundRecordingType")
    if kind is not None and (kind.text or "").strip() == "MusicalWorkSoundRecording":
        reader.mark(kind)  # what every track of the catalog is
    details = _details(reader, "SoundRecordingDetailsByTerritory")
    duration = reader.text("Duration")
    technical = _technical(reader, details, "TechnicalSoundRecordingDetails")
    track = _track(reader, details, technical)
    genre = common.read_genre(reader, details)
    p_line = _whole(common.read_line(reader, "PLine", details))
    file = _file(reader, technical, folder)
    _mark_derived(reader, details, technical)
    notes = common.unmapped(reader)
    if duration and track["duration"] is None:
        where = f"{reader.item.xpath}/Duration"
        notes.append(ImportNote("info", where, f"'{duration}' is not an ISO 8601 duration"))
    return Recording(track, genre, p_line, file, notes, reference)


def _track(
    reader: ItemReader, details: etree._Element, technical: etree._Element
) -> dict[str, Any]:
    title, version = _title(reader, reader.item.element, details)
    seconds = common.duration_seconds(reader.text("Duration"))
    return {
        "isrc": reader.text("SoundRecordingId/ISRC"),
        "title": title,
        "version": version,
        "duration": common.catalog_number(seconds) if seconds is not None else None,
        "artists": _artists(reader, details) or None,
        "parental_warning": common.first_value(reader, "ParentalWarningType", details),
        "language": reader.text("LanguageOfPerformance"),
        "preview_start": _preview_start(reader, technical),
        "iswc": reader.text("IndirectSoundRecordingId/ISWC"),
        "contributors": _contributors(reader, details),
    }


def _preview_start(reader: ItemReader, technical: etree._Element) -> int | None:
    """Where the preview starts; the catalog's previews are all Instructive."""
    if (technical.findtext("PreviewDetails/ExpressionType") or "").strip() == "Instructive":
        reader.text("PreviewDetails/ExpressionType", technical)
    return common.integer(reader.text("PreviewDetails/StartPoint", technical))


def read_image(reader: ItemReader, folder: Path) -> tuple[str, Picture]:
    """(reference, picture) of an Image; its file is looked for in ``folder``."""
    reference = reader.text("ResourceReference") or reader.item.xpath
    kind = common.first_value(reader, "ImageType") or ""
    details = _details(reader, "ImageDetailsByTerritory")
    technical = _technical(reader, details, "TechnicalImageDetails")
    c_line = _whole(common.read_line(reader, "CLine", details))
    file = _file(reader, technical, folder)
    _mark_derived(reader, details, technical)
    return reference, Picture(kind, c_line, file, common.unmapped(reader))


def _whole(line: dict[str, Any]) -> dict[str, Any] | None:
    """A P or C line with both its year and its owner; None otherwise (the builder falls back
    to another line)."""
    return line if line.get("year") and line.get("owner") else None


def _details(reader: ItemReader, tag: str) -> etree._Element:
    """The Worldwide details (else the first); details for other territories stay unread."""
    candidates = reader.findall(tag)
    for details in candidates:
        if (details.findtext("TerritoryCode") or "").strip() == WORLDWIDE:
            return details
    return candidates[0] if candidates else _EMPTY


def _technical(reader: ItemReader, details: etree._Element, tag: str) -> etree._Element:
    """The technical details of the full file (not a preview clip) that has a File."""
    candidates = reader.findall(tag, details)
    for technical in candidates:
        if technical.find("File") is not None and technical.findtext("IsPreview") != "true":
            return technical
    return candidates[0] if candidates else _EMPTY


def _mark_derived(reader: ItemReader, *bases: etree._Element) -> None:
    for base in bases:
        for child in base:
            if child.tag in _DERIVED:
                reader.mark(child)


def _file(reader: ItemReader, technical: etree._Element, folder: Path) -> FileRef | None:
    """The File's name, where it is in ``folder`` and its MD5 (when MD5 is the hash).

    A File outside the message's folder (an absolute path, "..") is left unread: it is listed
    as not carried over, never brought in."""
    element = technical.find("File")
    name = (element.findtext("FileName") or "").strip() if element is not None else ""
    if not name:
        return None
    uri = "/".join(part for part in ((element.findtext("FilePath") or "").strip(), name) if part)
    source = common.local_file(uri, folder)
    if source is None:
        return None
    reader.mark(element)
    md5 = common.md5_value(
        element.findtext("HashSum/HashSumAlgorithmType"), element.findtext("HashSum/HashSum")
    )
    return FileRef(name, source, md5, reader.xpath(element))


# --- parties and titles --------------------------------------------------------------------


def _title(
    reader: ItemReader, base: etree._Element, details: etree._Element
) -> tuple[str | None, str | None]:
    """(title, version): the ReferenceTitle, else the FormalTitle, else the DisplayTitle."""
    if base.find("ReferenceTitle") is not None:
        return _title_parts(reader, "ReferenceTitle", base)
    for kind in ("FormalTitle", "DisplayTitle"):
        path = f"Title[@TitleType='{kind}']"
        for where in (base, details):
            if where.find(path) is not None:
                return _title_parts(reader, path, where)
    return None, None


def _title_parts(
    reader: ItemReader, path: str, base: etree._Element
) -> tuple[str | None, str | None]:
    return reader.text(f"{path}/TitleText", base), reader.text(f"{path}/SubTitle", base)


def _party(reader: ItemReader, element: etree._Element) -> dict[str, Any]:
    """Name, ISNI and IPI of an inline party (other ids stay unread)."""
    isni = ipi = None
    for party_id in reader.findall("PartyId", element):
        if party_id.get("IsISNI") == "true":
            isni = reader.text(".", party_id)
        elif (party_id.get("Namespace") or "").upper() == "IPI":
            ipi = reader.text(".", party_id)
    return common.party_dict(reader.text("PartyName/FullName", element) or "", isni, ipi)


def _artists(reader: ItemReader, details: etree._Element) -> list[dict[str, Any]]:
    artists = []
    for element in _in_sequence(reader.findall("DisplayArtist", details)):
        party = _party(reader, element)
        role = common.first_value(reader, "ArtistRole", element) or "MainArtist"
        artists.append({"name": party.pop("name"), "role": role, **party})
    return artists


def _in_sequence(elements: list[etree._Element]) -> list[etree._Element]:
    return sorted(elements, key=lambda element: common.integer(element.get("SequenceNumber")) or 0)


def _contributors(reader: ItemReader, details: etree._Element) -> list[dict[str, Any]]:
    contributors = []
    for tag in ("ResourceContributor", "IndirectResourceContributor"):
        for element in _in_sequence(reader.findall(tag, details)):
            party = _party(reader, element)
            for role in common.allowed_values(reader, f"{tag}Role", element):
                name = common.contributor_role_back(role, VERSION)
                contributors.append({"name": party["name"], "role": name, **party})
    return contributors


# --- releases ------------------------------------------------------------------------------


def read_release(reader: ItemReader) -> PendingRelease | None:
    """A main release; None for a track release (its title, artists and genre are its
    recording's, read with the SoundRecording)."""
    if _is_track_release(reader.item.element):
        reader.mark(reader.item.element)
        return None
    details = _details(reader, "ReleaseDetailsByTerritory")
    pending = PendingRelease(
        reader.text("ReleaseReference") or reader.item.xpath,
        reader.item.xpath,
        reader.item.line,
        _release_fields(reader, details),
        common.read_genre(reader, details),
        [reader.text(".", e) or "" for e in reader.findall(_RESOURCE_REFERENCES)],
        _discs(reader, details),
        [],
    )
    _mark_derived(reader, details)
    reader.text("Duration")
    pending.notes = common.unmapped(reader)
    return pending


def _is_track_release(release: etree._Element) -> bool:
    if (release.findtext("ReleaseType") or "").strip() == _TRACK_RELEASE:
        return True
    if release.get("IsMainRelease") == "true" or release.find("ReleaseId/ICPN") is not None:
        return False
    return release.find("ReleaseId/ISRC") is not None and release.find("ReleaseId/GRid") is None


def _release_fields(reader: ItemReader, details: etree._Element) -> dict[str, Any]:
    title, version = _title(reader, reader.item.element, details)
    return {
        "upc": reader.text("ReleaseId/ICPN") or "",
        "title": title,
        "version": version,
        "artists": _artists(reader, details),
        "label": reader.text("LabelName", details),
        "release_type": common.first_value(reader, "ReleaseType"),
        "release_date": _either(
            reader.text("ReleaseDate", details), reader.text("GlobalReleaseDate")
        ),
        "original_release_date": _either(
            reader.text("OriginalReleaseDate", details), reader.text("GlobalOriginalReleaseDate")
        ),
        "p_line": _whole(common.read_line(reader, "PLine")),
        "c_line": _whole(common.read_line(reader, "CLine")),
        "parental_warning": common.first_value(reader, "ParentalWarningType", details),
        "catalog_number": reader.text("ReleaseId/CatalogNumber"),
    }


def _either(territorial: str | None, global_: str | None) -> str | None:
    """The Worldwide details' date, else the global one (both are read)."""
    return territorial or global_


def _discs(reader: ItemReader, details: etree._Element) -> list[tuple[int, list[str]]]:
    """Resource references per disc, in play order: nested ResourceGroups are discs; a single
    group is disc 1."""
    discs: list[tuple[int, list[str]]] = []
    for top in reader.findall("ResourceGroup", details):
        reader.text("SequenceNumber", top)
        nested = reader.findall("ResourceGroup", top)
        for position, group in enumerate(nested or [top], start=1):
            number = common.integer(reader.text("SequenceNumber", group)) if nested else None
            discs.append((number or position, _group_items(reader, group)))
    return sorted(discs, key=lambda disc: disc[0])


def _group_items(reader: ItemReader, group: etree._Element) -> list[str]:
    items: list[tuple[int, str]] = []
    for position, item in enumerate(reader.findall("ResourceGroupContentItem", group)):
        number = common.integer(reader.text("SequenceNumber", item)) or position
        reader.text("ResourceType", item)
        reference = reader.text("ReleaseResourceReference", item)
        if reference:
            items.append((number, reference))
    return [reference for _, reference in sorted(items, key=lambda entry: entry[0])]


# --- deals ---------------------------------------------------------------------------------


@dataclass
class ReleaseDeal:
    """A ReleaseDeal: the releases it names, their deals and their TakeDown notes."""

    references: list[str]
    deals: list[dict[str, Any]]
    takedowns: list[ImportNote]


def read_release_deal(reader: ItemReader) -> ReleaseDeal:
    """The deals of a ReleaseDeal; a TakeDown deal is a note (the release is taken down)."""
    found = ReleaseDeal(
        [reader.text(".", e) or "" for e in reader.findall("DealReleaseReference")], [], []
    )
    for deal in reader.findall("Deal"):
        terms = reader.find("DealTerms", deal)
        if terms is None:
            continue
        values = _deal(reader, terms)
        if (reader.text("TakeDown", terms) or "").lower() == "true":
            found.takedowns.append(_takedown_note(reader, terms, values))
        else:
            found.deals.append(values)
    return found


def _deal(reader: ItemReader, terms: etree._Element) -> dict[str, Any]:
    included = common.allowed_values(reader, "TerritoryCode", terms)
    excluded = common.allowed_values(reader, "ExcludedTerritoryCode", terms)
    instant = [
        common.marked_text(reader, e)
        for e in reader.findall("InstantGratificationResourceList/DealResourceReference", terms)
    ]
    opens = common.parse_date(reader.text("PreOrderReleaseDate", terms))
    preorder = common.preorder_marks(reader.text("IsPreOrderDeal", terms), instant, opens)
    return preorder | {
        "territories": included or ([WORLDWIDE] if excluded else []),
        "excluded_territories": excluded,
        "commercial_models": common.allowed_values(reader, "CommercialModelType", terms),
        "use_types": common.allowed_values(reader, "Usage/UseType", terms),
        "start_date": _period(reader, terms, "Start"),
        "end_date": _period(reader, terms, "End"),
        "price_tier": reader.text("PriceInformation/PriceType", terms),
    }


def _period(reader: ItemReader, terms: etree._Element, edge: str) -> str | None:
    value = reader.text(f"ValidityPeriod/{edge}Date", terms)
    moment = reader.text(f"ValidityPeriod/{edge}DateTime", terms)
    return value or (moment[:10] if moment else None)


def _takedown_note(reader: ItemReader, terms: etree._Element, values: dict[str, Any]) -> ImportNote:
    where = ", ".join(values["territories"]) or WORLDWIDE
    since = values["start_date"] or "an unstated date"
    return ImportNote("info", reader.xpath(terms), f"taken down in {where} from {since}")
