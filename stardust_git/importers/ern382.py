"""ERN 3.8.2 NewReleaseMessages read into releases, one item of the message at a time.

Resources (SoundRecording, Image) come before the ReleaseList and the deals after it, so each
item is reduced to a small record as it arrives (its element is cleared right after) and the
releases are built once the message is read. A release is a main release unless it is a
TrackRelease (ReleaseType, or an ISRC-only ReleaseId without IsMainRelease). Parties are inline
in 3.8.2; roles come back through the renderers' alias table (:func:`catalog_role`). Whatever
the release file cannot hold is an ``unmapped`` note with its XPath.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from lxml import etree

from stardust_git import vocabulary
from stardust_git.importers.ern_common import (
    LONE_PREORDER,
    fold_preorders,
    parse_date,
    preorder_marks,
    refuse_other_kinds,
)
from stardust_git.importers.model import (
    ImportContext,
    ImportedRelease,
    ImportNote,
    Loc,
    ResourceFile,
)
from stardust_git.importers.xmlsafe import Item, ItemReader, Message, local_name
from stardust_git.models.release import parse_duration

VERSION = "3.8.2"
WORLDWIDE = "Worldwide"
_EMPTY = etree.Element("absent")
"""Stands in for a missing container, so that lookups below it find nothing."""
_TRACK_RELEASE = "TrackRelease"
_DERIVED = frozenset(
    {
        "TerritoryCode",
        "DisplayArtistName",
        "Title",
        "LabelName",
        "Duration",
        "TechnicalResourceDetailsReference",
        "AudioCodecType",
        "NumberOfChannels",
        "SamplingRate",
        "BitsPerSample",
        "ImageCodecType",
        "ImageHeight",
        "ImageWidth",
        "IsPreview",
    }
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


@dataclass
class MessageState:
    """What a message's items left behind: small records, not trees."""

    message: Message
    context: ImportContext
    header: dict[str, str] = field(default_factory=dict)
    header_notes: list[ImportNote] = field(default_factory=list)
    recordings: dict[str, Recording] = field(default_factory=dict)
    pictures: dict[str, Picture] = field(default_factory=dict)
    releases: dict[str, PendingRelease] = field(default_factory=dict)


def read_ern382(message: Message, context: ImportContext) -> Iterator[ImportedRelease]:
    """The main releases of an ERN 3.8.2 NewReleaseMessage, in message order.

    Raises a located :class:`PurgeNotSupported` for a PurgeReleaseMessage or any other kind.
    """
    refuse_other_kinds(message)
    state = MessageState(message, context)
    for item in message.items:
        _take(state, item)
    for index, pending in enumerate(state.releases.values()):
        # What no release owns (the header, unhandled items) is told once, with the first.
        yield _built(state, pending, state.header_notes if index == 0 else [])


def _take(state: MessageState, item: Item) -> None:
    reader = ItemReader(item)
    handler = _HANDLERS.get(item.tag)
    if handler is None:
        state.header_notes.extend(_unmapped(reader))
        return
    handler(state, reader)


def _unmapped(reader: ItemReader) -> list[ImportNote]:
    return [
        ImportNote("unmapped", where, "not carried over: the release file has no place for it")
        for where in reader.unread()
    ]


# --- the header ----------------------------------------------------------------------------


def _take_header(state: MessageState, reader: ItemReader) -> None:
    state.header = {
        "message_id": reader.text("MessageId") or "",
        "message_created": reader.text("MessageCreatedDateTime") or "",
    }
    root = reader.item.element.getroottree().getroot()
    language = (root.get("LanguageAndScriptCode") or "").strip()
    if language:
        state.header["language"] = language
    profile = root.get("ReleaseProfileVersionId")
    if profile:
        where = f"/{local_name(root)}/@ReleaseProfileVersionId"
        state.header_notes.append(ImportNote("unmapped", where, f"not carried over: {profile}"))
    state.header_notes.extend(_unmapped(reader))


# --- resources -----------------------------------------------------------------------------


def _take_recording(state: MessageState, reader: ItemReader) -> None:
    reference = reader.text("ResourceReference") or reader.item.xpath
    kind = reader.item.element.find("SoundRecordingType")
    if kind is not None and (kind.text or "").strip() == "MusicalWorkSoundRecording":
        reader.mark(kind)  # what every track of the catalog is
    details = _details(reader, "SoundRecordingDetailsByTerritory")
    duration = reader.text("Duration")
    title, version = _title(reader, reader.item.element, details)
    technical = _technical(reader, details, "TechnicalSoundRecordingDetails")
    track = {
        "isrc": reader.text("SoundRecordingId/ISRC"),
        "title": title,
        "version": version,
        "duration": _seconds(duration),
        "artists": _artists(reader, details) or None,
        "parental_warning": _avs(reader, "ParentalWarningType", details),
        "language": reader.text("LanguageOfPerformance"),
        "preview_start": _preview_start(reader, technical),
        "iswc": reader.text("IndirectSoundRecordingId/ISWC"),
        "contributors": _contributors(reader, details),
    }
    genre = _genre(reader, details)
    p_line = _copyright(reader, details, "PLine")
    file = _file(state, reader, technical)
    _mark_derived(reader, details, technical)
    notes = _unmapped(reader)
    if duration and track["duration"] is None:
        where = f"{reader.item.xpath}/Duration"
        notes.append(ImportNote("info", where, f"'{duration}' is not an ISO 8601 duration"))
    state.recordings[reference] = Recording(track, genre, p_line, file, notes, reference)


def _preview_start(reader: ItemReader, technical: etree._Element) -> int | None:
    """Where the preview starts; the catalog's previews are all Instructive."""
    if (technical.findtext("PreviewDetails/ExpressionType") or "").strip() == "Instructive":
        reader.text("PreviewDetails/ExpressionType", technical)
    return _int(reader.text("PreviewDetails/StartPoint", technical))


def _take_image(state: MessageState, reader: ItemReader) -> None:
    reference = reader.text("ResourceReference") or reader.item.xpath
    kind = _avs(reader, "ImageType") or ""
    details = _details(reader, "ImageDetailsByTerritory")
    technical = _technical(reader, details, "TechnicalImageDetails")
    c_line = _copyright(reader, details, "CLine")
    file = _file(state, reader, technical)
    _mark_derived(reader, details, technical)
    state.pictures[reference] = Picture(kind, c_line, file, _unmapped(reader))


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


def _file(state: MessageState, reader: ItemReader, technical: etree._Element) -> FileRef | None:
    """The File's name, where it is beside the message and its MD5 (when MD5 is the hash).

    A File outside the message's folder (an absolute path, "..") is left unread: it is listed
    as not carried over, never brought in."""
    element = technical.find("File")
    if element is None or not (element.findtext("FileName") or "").strip():
        return None
    relative = PurePosixPath(
        (element.findtext("FilePath") or "").strip().lstrip("/"),
        element.findtext("FileName").strip(),
    )
    if ".." in relative.parts or ":" in str(relative):
        return None
    reader.mark(element)
    algorithm = (element.findtext("HashSum/HashSumAlgorithmType") or "").strip()
    md5 = (element.findtext("HashSum/HashSum") or "").strip().lower() or None
    return FileRef(
        relative.name,
        state.message.path.parent / relative,
        md5 if algorithm.upper() == "MD5" else None,
        reader.xpath(element),
    )


# --- releases ------------------------------------------------------------------------------


def _take_release(state: MessageState, reader: ItemReader) -> None:
    if _is_track_release(reader.item.element):
        # Its title, artists and genre are its recording's, read with the SoundRecording.
        reader.mark(reader.item.element)
        return
    reference = reader.text("ReleaseReference") or reader.item.xpath
    details = _details(reader, "ReleaseDetailsByTerritory")
    pending = PendingRelease(
        reference,
        reader.item.xpath,
        reader.item.line,
        _release_fields(reader, details),
        _genre(reader, details),
        [reader.text(".", e) or "" for e in reader.findall(_RESOURCE_REFERENCES)],
        _discs(reader, details),
        [],
    )
    _mark_derived(reader, details)
    reader.text("Duration")
    pending.notes = _unmapped(reader)
    state.releases[reference] = pending


_RESOURCE_REFERENCES = "ReleaseResourceReferenceList/ReleaseResourceReference"


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
        "release_type": _avs(reader, "ReleaseType"),
        "release_date": _either(
            reader.text("ReleaseDate", details), reader.text("GlobalReleaseDate")
        ),
        "original_release_date": _either(
            reader.text("OriginalReleaseDate", details), reader.text("GlobalOriginalReleaseDate")
        ),
        "p_line": _copyright(reader, reader.item.element, "PLine"),
        "c_line": _copyright(reader, reader.item.element, "CLine"),
        "parental_warning": _avs(reader, "ParentalWarningType", details),
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
            number = _int(reader.text("SequenceNumber", group)) if nested else None
            discs.append((number or position, _group_items(reader, group)))
    return sorted(discs, key=lambda disc: disc[0])


def _group_items(reader: ItemReader, group: etree._Element) -> list[str]:
    items: list[tuple[int, str]] = []
    for position, item in enumerate(reader.findall("ResourceGroupContentItem", group)):
        number = _int(reader.text("SequenceNumber", item)) or position
        reader.text("ResourceType", item)
        reference = reader.text("ReleaseResourceReference", item)
        if reference:
            items.append((number, reference))
    return [reference for _, reference in sorted(items, key=lambda entry: entry[0])]


# --- deals ---------------------------------------------------------------------------------


def _take_release_deal(state: MessageState, reader: ItemReader) -> None:
    references = [reader.text(".", e) or "" for e in reader.findall("DealReleaseReference")]
    concerned = [state.releases[r] for r in references if r in state.releases]
    for deal in reader.findall("Deal"):
        terms = reader.find("DealTerms", deal)
        if terms is None:
            continue
        taken_down = (reader.text("TakeDown", terms) or "").lower() == "true"
        values = _deal(reader, terms)
        for release in concerned:
            if taken_down:
                release.taken_down = True
                release.notes.append(_takedown_note(reader, terms, values))
            else:
                release.deals.append(dict(values))
    notes = _unmapped(reader)
    for release in concerned:
        release.notes.extend(notes)


def _deal(reader: ItemReader, terms: etree._Element) -> dict[str, Any]:
    included = _texts(reader, "TerritoryCode", terms)
    excluded = _texts(reader, "ExcludedTerritoryCode", terms)
    instant = _texts(reader, "InstantGratificationResourceList/DealResourceReference", terms)
    opens = reader.text("PreOrderReleaseDate", terms)
    preorder = preorder_marks(reader.text("IsPreOrderDeal", terms), instant, parse_date(opens))
    return preorder | {
        "territories": included or ([WORLDWIDE] if excluded else []),
        "excluded_territories": excluded,
        "commercial_models": _avs_all(reader, "CommercialModelType", terms),
        "use_types": _avs_all(reader, "Usage/UseType", terms),
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


# --- building a release --------------------------------------------------------------------


def _built(
    state: MessageState, pending: PendingRelease, shared: list[ImportNote]
) -> ImportedRelease:
    upc = pending.fields["upc"]
    builder = _Builder(state, pending, upc or "unknown")
    data = builder.data()
    guessed = {**pending.guessed, **builder.guessed}
    return ImportedRelease(
        upc,
        _compact(data),
        state.message.shown,
        pending.line,
        notes=[
            *_absent(pending, data),
            *_guesses(pending, guessed),
            *shared,
            *pending.notes,
            *builder.notes,
        ],
        guessed=guessed,
        resources=builder.resources,
        delivered_action="takedown" if _taken_down(state, pending, data["deals"]) else "initial",
        version=VERSION,
        message_id=state.header.get("message_id", ""),
        message_created=state.header.get("message_created", ""),
    )


def _taken_down(state: MessageState, pending: PendingRelease, deals: list[dict[str, Any]]) -> bool:
    """TakeDown deals, no deals, or only deals ended when the message was created."""
    on = created_date(state.header.get("message_created", ""))
    live = [deal for deal in deals if not deal.get("end_date") or deal["end_date"] >= on]
    return pending.taken_down or not live


def _guesses(pending: PendingRelease, guessed: dict[Loc, str]) -> list[ImportNote]:
    return [
        ImportNote("guessed", pending.xpath, f"{_loc_text(loc)}: {comment}")
        for loc, comment in guessed.items()
    ]


_REQUIRED = {
    "upc": "no ICPN (UPC)",
    "language": "no LanguageAndScriptCode",
    "c_line": "no C line",
    "cover": "no cover image file",
    "release_date": "no release date",
    "genre": "no genre",
}


def _absent(pending: PendingRelease, data: dict[str, Any]) -> list[ImportNote]:
    """Notes for what the release file needs and the message does not state."""
    where = pending.xpath
    return [
        ImportNote("info", where, f"the message states {missing}: the release file needs one")
        for key, missing in _REQUIRED.items()
        if not data.get(key)
    ]


class _Builder:
    """One release's data from its pending record and the resources it references."""

    def __init__(self, state: MessageState, pending: PendingRelease, folder: str) -> None:
        self.state, self.pending, self.folder = state, pending, folder
        self.notes: list[ImportNote] = []
        self.guessed: dict[Loc, str] = {}
        self.resources: list[ResourceFile] = []
        self.seen_notes: set[int] = set()
        self.instant_grat: list[str] = []
        """The resource references of the instant-gratification tracks (see :meth:`_deals`)."""

    def data(self) -> dict[str, Any]:
        fields = self.pending.fields
        recordings = self._recordings()
        genre = self._genre(self.pending.genre, ("genre",))
        language = self._language(recordings)
        deals = self._deals()  # before the tracks: it finds the instant-gratification ones
        return {
            "upc": fields["upc"],
            "title": fields["title"],
            "version": fields["version"],
            "artists": self._artist_roles(fields["artists"], ("artists",)),
            "label": fields["label"],
            "release_type": fields["release_type"],
            "release_date": self._date(fields["release_date"], ("release_date",)),
            "original_release_date": self._date(
                fields["original_release_date"], ("original_release_date",)
            ),
            "genre": genre,
            "language": language,
            "p_line": self._p_line(recordings),
            "c_line": self._c_line(),
            "parental_warning": fields["parental_warning"],
            "cover": self._cover(),
            "catalog_number": fields["catalog_number"],
            "tracks": self._tracks(recordings, genre, language),
            "deals": deals,
        }

    def _recordings(self) -> list[tuple[int, Recording]]:
        """(disc, recording) in play order: the resource groups, else the reference list."""
        discs = self.pending.discs or [(1, self.pending.references)]
        found = []
        for disc, references in discs:
            for reference in references:
                recording = self.state.recordings.get(reference)
                if recording is not None:
                    found.append((disc, recording))
                    self._note(recording.notes)
                elif reference not in self.state.pictures:
                    self.notes.append(_missing(self.pending, reference))
        return found

    def _note(self, notes: list[ImportNote]) -> None:
        if id(notes) not in self.seen_notes:
            self.seen_notes.add(id(notes))
            self.notes.extend(notes)

    def _genre(self, texts: tuple[str, str | None] | None, loc: Loc) -> str | None:
        if texts is None:
            return None
        text, sub = texts
        shown = f"{text} > {sub}" if sub else text
        found = self.state.context.genres.match(text, sub)
        if found.code is None:
            hint = f"; the closest is {found.suggestion}" if found.suggestion else ""
            message = f"genre '{shown}' is not in the taxonomy{hint}"
            self.notes.append(
                ImportNote("info", self.pending.xpath, f"{_loc_text(loc)}: {message}")
            )
            if found.suggestion:
                self.guessed[loc] = f"guessed: the message says '{shown}'"
            return found.suggestion
        if found.guessed:
            self.guessed[loc] = f"guessed: several genres are sent as '{shown}'"
        return found.code

    def _language(self, recordings: list[tuple[int, Recording]]) -> str | None:
        stated = self.state.header.get("language")
        if stated:
            return stated
        spoken = [r.track["language"] for _, r in recordings if r.track["language"]]
        if spoken:
            self.guessed[("language",)] = "guessed: the first track's language of performance"
            return spoken[0]
        return None

    def _date(self, text: str | None, loc: Loc) -> dt.date | None:
        value, comment = read_date(text)
        if comment:
            self.guessed[loc] = comment
        if text and value is None:
            message = f"{_loc_text(loc)}: '{text}' is not a date (YYYY-MM-DD)"
            self.notes.append(ImportNote("info", self.pending.xpath, message))
        return value

    def _p_line(self, recordings: list[tuple[int, Recording]]) -> dict[str, Any] | None:
        stated = self.pending.fields["p_line"]
        if stated or not recordings:
            return stated
        first = recordings[0][1].p_line
        if first:
            self.guessed[("p_line",)] = "guessed: the first track's P line"
        return first

    def _c_line(self) -> dict[str, Any] | None:
        stated = self.pending.fields["c_line"]
        if stated:
            return stated
        cover = self._picture()
        if cover and cover.c_line:
            self.guessed[("c_line",)] = "guessed: the cover image's C line"
            return cover.c_line
        return None

    def _picture(self) -> Picture | None:
        pictures = [
            self.state.pictures[r] for r in self.pending.references if r in self.state.pictures
        ]
        fronts = [p for p in pictures if p.kind == "FrontCoverImage"]
        return (fronts or pictures or [None])[0]

    def _cover(self) -> str | None:
        picture = self._picture()
        if picture is None:
            return None
        self._note(picture.notes)
        return self._asset(picture.file, "cover", "jpg")

    def _asset(self, file: FileRef | None, stem: str, default: str) -> str | None:
        """The file's ``assets/<UPC>/`` path, named as the example catalog names them."""
        if file is None:
            return None
        name = f"{stem}.{extension(file.name, default)}"
        self.resources.append(ResourceFile(file.source, name, file.md5, file.where))
        return f"assets/{self.folder}/{name}"

    def _tracks(
        self, recordings: list[tuple[int, Recording]], genre: str | None, language: str | None
    ) -> list[dict[str, Any]]:
        several_discs = len({disc for disc, _ in recordings}) > 1
        tracks = []
        for index, (disc, recording) in enumerate(recordings):
            track = dict(recording.track)
            track["disc"] = disc if several_discs else None
            track["audio"] = self._asset(recording.file, f"{index + 1:02}", "wav")
            self._same_as_release(track, genre, language)
            track["artists"] = self._artist_roles(track["artists"], ("tracks", index, "artists"))
            self._check_roles(track["contributors"], index)
            track["genre"] = self._track_genre(recording, genre, index)
            track["instant_grat"] = True if recording.reference in self.instant_grat else None
            tracks.append(_compact(_track_order(track)))
        return tracks

    def _same_as_release(
        self, track: dict[str, Any], genre: str | None, language: str | None
    ) -> None:
        """Values the track states that are the release's are left to the release."""
        fields = self.pending.fields
        if track["artists"] == fields["artists"]:
            track["artists"] = None
        if track["parental_warning"] == fields["parental_warning"]:
            track["parental_warning"] = None
        if language and track["language"] in (language, language.split("-")[0]):
            track["language"] = None

    def _artist_roles(self, artists: list[dict[str, Any]] | None, loc: Loc) -> Any:
        """3.8.2 roles the catalog has no display role for (Conductor, Band ...) become Artist."""
        for index, artist in enumerate(artists or ()):
            if not vocabulary.is_artist_role(artist["role"]):
                self.guessed[(*loc, index, "role")] = (
                    f"guessed: the message says '{artist['role']}'"
                )
                artist["role"] = "Artist"
        return artists

    def _check_roles(self, contributors: list[dict[str, Any]], index: int) -> None:
        for number, contributor in enumerate(contributors):
            if not vocabulary.known_contributor_role(contributor["role"]):
                loc = _loc_text(("tracks", index, "contributors", number, "role"))
                message = f"{loc}: contributor role '{contributor['role']}' has no catalog name"
                self.notes.append(ImportNote("info", self.pending.xpath, message))

    def _track_genre(self, recording: Recording, genre: str | None, index: int) -> str | None:
        code = self._genre(recording.genre, ("tracks", index, "genre"))
        return None if code == genre else code

    def _deals(self) -> list[dict[str, Any]]:
        deals = []
        for index, deal in enumerate(self.pending.deals):
            start = self._date(deal["start_date"], ("deals", index, "start_date"))
            if start is None:
                start = self._date(self.pending.fields["release_date"], ())
                self.guessed[("deals", index, "start_date")] = "guessed: the release date"
            end = self._date(deal["end_date"], ("deals", index, "end_date"))
            deals.append(_compact({**deal, "start_date": start, "end_date": end}))
        regular, self.instant_grat, unmatched = fold_preorders(deals)
        for _ in unmatched:
            self.notes.append(ImportNote("unmapped", self.pending.xpath, LONE_PREORDER))
        return regular


def _track_order(track: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "isrc",
        "title",
        "version",
        "duration",
        "disc",
        "audio",
        "artists",
        "parental_warning",
        "language",
        "preview_start",
        "iswc",
        "genre",
        "contributors",
        "instant_grat",
    )
    return {key: track.get(key) for key in keys}


def _missing(pending: PendingRelease, reference: str) -> ImportNote:
    return ImportNote(
        "info",
        pending.xpath,
        f"the release lists resource {reference}, which the message does not describe",
    )


def _loc_text(loc: Loc) -> str:
    return ".".join(str(part) for part in loc)


_HANDLERS = {
    "MessageHeader": _take_header,
    "SoundRecording": _take_recording,
    "Image": _take_image,
    "Release": _take_release,
    "ReleaseDeal": _take_release_deal,
}


# --- version-neutral helpers (to move to importers/ern_common.py) ------------------------------


def _avs(reader: ItemReader, path: str, base: etree._Element | None = None) -> str | None:
    """An allowed value; ``UserDefined`` gives its UserDefinedValue."""
    element = (reader.item.element if base is None else base).find(path)
    if element is None:
        return None
    return _avs_text(reader, element)


def _avs_text(reader: ItemReader, element: etree._Element) -> str | None:
    reader.mark(element)
    text = (element.text or "").strip()
    if text == "UserDefined":
        return element.get("UserDefinedValue") or text
    return text or None


def _avs_all(reader: ItemReader, path: str, base: etree._Element) -> list[str]:
    values = (_avs_text(reader, element) for element in reader.findall(path, base))
    return list(dict.fromkeys(value for value in values if value))


def _texts(reader: ItemReader, path: str, base: etree._Element) -> list[str]:
    values = (reader.text(".", element) for element in reader.findall(path, base))
    return list(dict.fromkeys(value for value in values if value))


def _title(
    reader: ItemReader, base: etree._Element, details: etree._Element | None = None
) -> tuple[str | None, str | None]:
    """(title, version): the ReferenceTitle, else the FormalTitle, else the DisplayTitle."""
    if base.find("ReferenceTitle") is not None:
        return reader.text("ReferenceTitle/TitleText", base), reader.text(
            "ReferenceTitle/SubTitle", base
        )
    for kind in ("FormalTitle", "DisplayTitle"):
        path = f"Title[@TitleType='{kind}']"
        for where in (base, details if details is not None else _EMPTY):
            if where.find(path) is not None:
                return reader.text(f"{path}/TitleText", where), reader.text(
                    f"{path}/SubTitle", where
                )
    return None, None


def _party(reader: ItemReader, element: etree._Element) -> dict[str, Any]:
    """Name, ISNI and IPI of an inline party (other ids stay unread)."""
    party: dict[str, Any] = {"name": reader.text("PartyName/FullName", element)}
    for party_id in reader.findall("PartyId", element):
        if party_id.get("IsISNI") == "true":
            party["isni"] = reader.text(".", party_id)
        elif (party_id.get("Namespace") or "").upper() == "IPI":
            party["ipi"] = reader.text(".", party_id)
    return party


def _artists(reader: ItemReader, details: etree._Element) -> list[dict[str, Any]]:
    artists = []
    for element in _in_sequence(reader.findall("DisplayArtist", details)):
        party = _party(reader, element)
        role = _avs(reader, "ArtistRole", element) or "MainArtist"
        artists.append({"name": party.pop("name"), "role": role, **party})
    return artists


def _in_sequence(elements: list[etree._Element]) -> list[etree._Element]:
    return sorted(elements, key=lambda element: _int(element.get("SequenceNumber")) or 0)


def _contributors(reader: ItemReader, details: etree._Element) -> list[dict[str, Any]]:
    contributors = []
    for tag in ("ResourceContributor", "IndirectResourceContributor"):
        for element in _in_sequence(reader.findall(tag, details)):
            party = _party(reader, element)
            name = party.pop("name")
            for role_element in reader.findall(f"{tag}Role", element):
                role = _avs_text(reader, role_element)
                if role:
                    contributors.append(
                        {"name": name, "role": vocabulary.catalog_role(role, VERSION), **party}
                    )
    return contributors


def _genre(reader: ItemReader, details: etree._Element) -> tuple[str, str | None] | None:
    text = reader.text("Genre/GenreText", details)
    return (text, reader.text("Genre/SubGenre", details)) if text else None


def _copyright(reader: ItemReader, base: etree._Element, tag: str) -> dict[str, Any] | None:
    """A P or C line: its year and its company, else its text without the "(P) 2024" prefix."""
    element = base.find(tag)
    if element is None:
        return None
    year = _int(reader.text("Year", element))
    owner = reader.text(f"{tag}Company", element)
    text = reader.text(f"{tag}Text", element) or ""
    if owner is None:
        owner = _owner_from_text(text, year)
    if year is None or not owner:
        return None
    return {"year": year, "owner": owner}


def _owner_from_text(text: str, year: int | None) -> str | None:
    words = text.split()
    if words and words[0].upper() in ("(P)", "(C)", "℗", "©", "P", "C"):
        words = words[1:]
    if words and year is not None and words[0] == str(year):
        words = words[1:]
    return " ".join(words) or None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _seconds(text: str | None) -> int | float | None:
    """An ISO 8601 duration in seconds: whole seconds as an int."""
    if text is None:
        return None
    try:
        seconds = round(parse_duration(text), 3)
    except ValueError:
        return None
    return int(seconds) if seconds == int(seconds) else seconds


def read_date(text: str | None) -> tuple[dt.date | None, str | None]:
    """A date and, when the text gives only a year or a month, the comment saying so."""
    if not text:
        return None, None
    try:
        return dt.date.fromisoformat(text[:10]), None
    except ValueError:
        pass
    parts = text.split("-")
    try:
        numbers = [int(part) for part in parts[:2]]
        return dt.date(numbers[0], numbers[1] if len(numbers) > 1 else 1, 1), (
            f"guessed: the message says '{text}'"
        )
    except (ValueError, IndexError):
        return None, None


def extension(name: str, default: str) -> str:
    """The lower-case extension of a file name (``jpeg`` as ``jpg``), ``default`` without one."""
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    return {"jpeg": "jpg"}.get(suffix, suffix) or default


def created_date(created: str) -> dt.date:
    """The day a message was created (deals are judged against it); today when unreadable."""
    try:
        return dt.datetime.fromisoformat(created.strip().replace("Z", "+00:00")).date()
    except ValueError:
        return dt.date.today()


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None and value != []}
