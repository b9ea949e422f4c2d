"""ERN 3.8.2 NewReleaseMessages read into releases, one item of the message at a time.

Resources (SoundRecording, Image) come before the ReleaseList and the deals after it, so each
item is reduced to a small record as it arrives (:mod:`ern382_items`; its element is cleared
right after) and the releases are built once the message is read (:mod:`ern382_build`). A
release is a main release unless it is a TrackRelease (ReleaseType, or an ISRC-only ReleaseId
without IsMainRelease). Whatever the release file cannot hold is an ``unmapped`` note with its
XPath.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from stardust_git.importers import ern382_items as items
from stardust_git.importers import ern_common as common
from stardust_git.importers.ern382_build import build
from stardust_git.importers.model import ImportContext, ImportedRelease, ImportNote
from stardust_git.importers.xmlsafe import Item, ItemReader, Message, local_name

VERSION = items.VERSION


@dataclass
class MessageState:
    """What a message's items left behind: small records, not trees."""

    message: Message
    context: ImportContext
    header: dict[str, str] = field(default_factory=dict)
    header_notes: list[ImportNote] = field(default_factory=list)
    recordings: dict[str, items.Recording] = field(default_factory=dict)
    pictures: dict[str, items.Picture] = field(default_factory=dict)
    releases: dict[str, items.PendingRelease] = field(default_factory=dict)


def read_ern382(message: Message, context: ImportContext) -> Iterator[ImportedRelease]:
    """The main releases of an ERN 3.8.2 NewReleaseMessage, in message order.

    Raises a located :class:`PurgeNotSupported` for a PurgeReleaseMessage or any other kind.
    """
    common.refuse_other_kinds(message)
    state = MessageState(message, context)
    for item in message.items:
        _take(state, item)
    for index, pending in enumerate(state.releases.values()):
        # What no release owns (the header, unhandled items) is told once, with the first.
        yield build(state, pending, state.header_notes if index == 0 else [])


def _take(state: MessageState, item: Item) -> None:
    reader = ItemReader(item)
    handler = _HANDLERS.get(item.tag)
    if handler is None:
        state.header_notes.extend(common.unmapped(reader))
        return
    handler(state, reader)


def _take_header(state: MessageState, reader: ItemReader) -> None:
    state.header = common.read_header(reader)
    root = reader.item.element.getroottree().getroot()
    language = (root.get("LanguageAndScriptCode") or "").strip()
    if language:
        state.header["language"] = language
    profile = root.get("ReleaseProfileVersionId")
    if profile:
        where = f"/{local_name(root)}/@ReleaseProfileVersionId"
        state.header_notes.append(ImportNote("unmapped", where, f"not carried over: {profile}"))
    state.header_notes.extend(common.unmapped(reader))


def _take_recording(state: MessageState, reader: ItemReader) -> None:
    recording = items.read_recording(reader, state.message.path.parent)
    state.recordings[recording.reference] = recording


def _take_image(state: MessageState, reader: ItemReader) -> None:
    reference, picture = items.read_image(reader, state.message.path.parent)
    state.pictures[reference] = picture


def _take_release(state: MessageState, reader: ItemReader) -> None:
    pending = items.read_release(reader)
    if pending is not None:
        state.releases[pending.reference] = pending


def _take_release_deal(state: MessageState, reader: ItemReader) -> None:
    found = items.read_release_deal(reader)
    notes = common.unmapped(reader)
    for reference in found.references:
        release = state.releases.get(reference)
        if release is None:
            continue
        # Each release its own copies: reading the pre-orders back adds to them.
        release.deals.extend(dict(deal) for deal in found.deals)
        release.taken_down = release.taken_down or bool(found.takedowns)
        release.notes.extend([*found.takedowns, *notes])


_HANDLERS = {
    "MessageHeader": _take_header,
    "SoundRecording": _take_recording,
    "Image": _take_image,
    "Release": _take_release,
    "ReleaseDeal": _take_release_deal,
}
