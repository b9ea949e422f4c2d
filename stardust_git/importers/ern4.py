"""The ERN 4.2 / 4.3 reader: a NewReleaseMessage into one :class:`ImportedRelease` per release.

Items arrive one at a time (:mod:`stardust_git.importers.xmlsafe`) and are cleared once read;
each leaves a small dict behind, keyed by its reference (parties, resources, releases, deals
live in different lists). The releases are built when the message ends. Every ``Release`` is a
main release; ``TrackRelease`` items only lend their genre to their track, unless the message
holds nothing else, when each is imported as a release of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from stardust_git.importers import ern4_items as items
from stardust_git.importers import ern_common as common
from stardust_git.importers.ern4_build import ReleaseBuilder
from stardust_git.importers.model import ImportContext, ImportedRelease, ImportNote
from stardust_git.importers.xmlsafe import Item, ItemReader, Message


@dataclass
class Gathered:
    """What a message said, by reference, once its items are read and gone."""

    version: str
    language: str | None = None
    header: dict[str, str] = field(default_factory=dict)
    parties: items.Parties = field(default_factory=dict)
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    releases: list[dict[str, Any]] = field(default_factory=list)
    track_releases: list[dict[str, Any]] = field(default_factory=list)
    deals: list[dict[str, Any]] = field(default_factory=list)
    """One entry per ReleaseDeal: ``refs`` (release references), ``deals``, ``notes``,
    ``xpath``."""
    header_notes: list[ImportNote] = field(default_factory=list)
    """Notes about the MessageHeader: every release's (a few at most)."""
    notes: list[ImportNote] = field(default_factory=list)
    """Notes about items no release owns (a ReleaseVisibility, a Video ...): the first
    release's only, so that a batch of n releases does not hold n copies of n notes."""
    deals_of: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Release reference -> the ReleaseDeal entries naming it (see :meth:`index`)."""
    track_release_of: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Resource reference -> the TrackRelease made of it."""
    party_notes: dict[str, list[ImportNote]] = field(default_factory=dict)
    """Party name -> the notes about its Party elements (parties without notes left out)."""
    only_image: dict[str, Any] | None = None
    """The message's one Image, when it has exactly one: the cover of a release linking none."""

    def index(self) -> None:
        """Look-ups by reference, made once the message is read."""
        for entry in self.deals:
            for reference in entry["refs"]:
                self.deals_of.setdefault(reference, []).append(entry)
        images = [r for r in self.resources.values() if r["kind"] == "Image"]
        self.only_image = images[0] if len(images) == 1 else None
        for party in self.parties.values():
            if party["notes"]:
                self.party_notes.setdefault(party["name"], []).extend(party["notes"])
        for release in self.track_releases:
            for _, references in release["discs"]:
                for reference in references:
                    self.track_release_of.setdefault(reference, release)


def read_ern4(message: Message, context: ImportContext) -> Iterator[ImportedRelease]:
    """Every release of an ERN 4.2/4.3 ``message``, in message order.

    Raises a located :class:`PurgeNotSupported` for a PurgeReleaseMessage or any other kind."""
    common.refuse_other_kinds(message)
    gathered = Gathered(message.version)
    for item in message.items:
        if gathered.language is None:
            root = item.element.getroottree().getroot()
            gathered.language = root.get("LanguageAndScriptCode") or ""
        _take(gathered, item)
    gathered.index()
    releases = gathered.releases or gathered.track_releases
    if releases:
        releases[0]["notes"][:0] = gathered.notes
    for release in releases:
        yield ReleaseBuilder(gathered, release, message, context).build()


def _take(gathered: Gathered, item: Item) -> None:
    reader = ItemReader(item)
    handler = _HANDLERS.get(item.tag)
    if handler is None:
        gathered.notes.append(ImportNote("unmapped", item.xpath, common.NOT_CARRIED))
        return
    handler(gathered, reader).extend(common.unmapped(reader))


def _header(gathered: Gathered, reader: ItemReader) -> list[ImportNote]:
    gathered.header = common.read_header(reader)
    return gathered.header_notes


def _party(gathered: Gathered, reader: ItemReader) -> list[ImportNote]:
    reference, party = items.read_party(reader)
    party["notes"] = []
    gathered.parties[reference] = party
    return party["notes"]


def _recording(gathered: Gathered, reader: ItemReader) -> list[ImportNote]:
    recording = items.read_recording(reader, gathered.parties, gathered.version)
    return _resource(gathered, recording, "SoundRecording")


def _image(gathered: Gathered, reader: ItemReader) -> list[ImportNote]:
    return _resource(gathered, items.read_image(reader), "Image")


def _resource(gathered: Gathered, resource: dict[str, Any], kind: str) -> list[ImportNote]:
    resource.update(kind=kind, notes=[])
    gathered.resources[resource["ref"] or ""] = resource
    return resource["notes"]


def _release(gathered: Gathered, reader: ItemReader) -> list[ImportNote]:
    release = items.read_release(reader, gathered.parties)
    release["notes"] = []
    is_track = reader.item.tag == "TrackRelease" or release["release_type"] == "TrackRelease"
    kind = gathered.track_releases if is_track else gathered.releases
    kind.append(release)
    return release["notes"]


def _release_deal(gathered: Gathered, reader: ItemReader) -> list[ImportNote]:
    references, deals = items.read_release_deal(reader)
    entry = {"refs": references, "deals": deals, "notes": [], "xpath": reader.item.xpath}
    gathered.deals.append(entry)
    return entry["notes"]


_HANDLERS = {
    "MessageHeader": _header,
    "Party": _party,
    "SoundRecording": _recording,
    "Image": _image,
    "Release": _release,
    "TrackRelease": _release,
    "ReleaseDeal": _release_deal,
}
