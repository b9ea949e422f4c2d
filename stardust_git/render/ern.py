"""What the three ERN renderers share: the version-neutral view of a message and XML helpers.

:mod:`stardust_git.render.ern_package` turns a release and a target into a :class:`MessageView`
(parties, resources with their real technical details, deals already judged against the date);
``ern382``, ``ern42`` and ``ern43`` each turn that view into their version's XML. Values that a
version's allowed-value sets lack are written as ``UserDefined`` with the value in
``UserDefinedValue`` (the XSDs' own escape hatch), never as invalid XML.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from lxml import etree

from stardust_git import vocabulary
from stardust_git.assets import AudioInfo, ImageInfo
from stardust_git.models import Release, Target, Track
from stardust_git.render import Action, PackageFile, RenderError
from stardust_git.render.genres import GenreValue

NAMESPACES = {
    "3.8.2": "http://ddex.net/xml/ern/382",
    "4.2": "http://ddex.net/xml/ern/42",
    "4.3": "http://ddex.net/xml/ern/43",
}
SCHEMA_URLS = {
    "3.8.2": "http://ddex.net/xml/ern/382/release-notification.xsd",
    "4.2": "http://ddex.net/xml/ern/42/release-notification.xsd",
    "4.3": "http://ddex.net/xml/ern/43/release-notification.xsd",
}
XSI = "http://www.w3.org/2001/XMLSchema-instance"
WORLDWIDE = "Worldwide"
USER_DEFINED = "UserDefined"


@dataclass(frozen=True)
class PartyView:
    """A person or company named in the message (4.x: one PartyList entry)."""

    reference: str
    name: str
    isni: str | None = None
    ipi: str | None = None


@dataclass(frozen=True)
class ArtistCredit:
    """A display artist: the party and its role (MainArtist, FeaturedArtist ...)."""

    party: PartyView
    role: str


@dataclass(frozen=True)
class ContributorCredit:
    """A contributor with every role they had on one recording, as the catalog names them."""

    party: PartyView
    roles: tuple[str, ...]


@dataclass(slots=True)
class RecordingView:
    """One track as a SoundRecording, with the file that carries it."""

    reference: str
    technical_reference: str
    release_reference: str
    track: Track
    track_index: int
    disc: int
    number: int
    file: PackageFile
    audio: AudioInfo
    title_text: str
    display_artist_name: str
    artists: tuple[ArtistCredit, ...]
    contributors: tuple[ContributorCredit, ...]
    genre: GenreValue
    parental_warning: str
    language: str


@dataclass(slots=True)
class CoverView:
    """The front cover image and its file."""

    reference: str
    technical_reference: str
    file: PackageFile
    image: ImageInfo


@dataclass(frozen=True)
class DealView:
    """One deal as the message states it; ``ended`` marks a takedown or withdrawn-territory
    statement (3.8.2 writes those as TakeDown when the target asks for the deprecated form)."""

    territories: tuple[str, ...]
    excluded: tuple[str, ...]
    commercial_models: tuple[str, ...]
    use_types: tuple[str, ...]
    start: dt.date
    end: dt.date | None
    price_tier: str | None = None
    ended: bool = False
    never_live: bool = False
    """A takedown's deal that had not started by the takedown's end date: it is withdrawn, so
    no window is written for it (that would be a window it never had); only the 3.8.2 TakeDown
    form states it, as a TakeDown effective the day after ``end``."""
    preorder: dt.date | None = None
    """Set on a pre-order deal (IsPreOrderDeal): the day the pre-order opens. Such a deal covers
    the main release from then until the day before the street date."""
    instant_grat: tuple[int, ...] = ()
    """Indexes (in the catalog's track list) of the tracks a pre-order delivers at once."""


@dataclass(slots=True)
class MessageView:
    """Everything a renderer writes, already resolved and in order."""

    version: str
    target: Target
    release: Release
    action: Action
    thread_id: str
    message_id: str
    created: str
    namespace: str
    """The sender's DPID: the namespace of proprietary ids and user-defined values."""
    parties: tuple[PartyView, ...]
    label: PartyView
    artists: tuple[ArtistCredit, ...]
    title_text: str
    display_artist_name: str
    recordings: tuple[RecordingView, ...]
    discs: tuple[tuple[RecordingView, ...], ...]
    cover: CoverView
    genre: GenreValue
    deals: tuple[DealView, ...]
    release_reference: str = "R0"
    files_provided: bool = True
    """False when the message goes without its resource files (a takedown, a metadata-only
    update): the files are described but not in the delivery."""

    @property
    def release_references(self) -> tuple[str, ...]:
        """The main release, then every track release."""
        return (self.release_reference, *(r.release_reference for r in self.recordings))


# --- XML text ------------------------------------------------------------------------------
# The renderers write XML text with f-strings: creating one lxml element costs ~0.8 us, which
# alone would take a 12-track album past 1 ms, and a parse + pretty-print round trip costs
# another 0.3-0.45 ms. The structure comes only from the templates' literal tags; every value
# from the catalog goes through x() (text) or xa() (attribute), which escape it and refuse
# characters XML cannot carry. The message is written one element per line; the tests parse
# every rendered message and validate it against the XSD.

_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


def _checked(text: str) -> str:
    if not text:
        raise RenderError("an empty value cannot be written")
    if not (text.isascii() and text.isprintable()):
        bad = _NOT_XML.search(text)
        if bad:
            raise RenderError(f"{text!r} holds {bad.group()!r}, a character XML cannot carry")
    return text


def x(text: str) -> str:
    """Escape element text."""
    _checked(text)
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return text.translate(_TEXT)
    return text


def xa(value: str) -> str:
    """Escape an attribute value."""
    return _checked(value).translate(_ATTRIBUTE)


def finish(text: str) -> bytes:
    """The message bytes: declaration, then one element per line. Escaped values never hold
    "<" or ">", so "><" only ever stands between two tags."""
    return XML_DECLARATION + text.encode("utf-8").replace(b"><", b">\n<") + b"\n"


def parse(data: bytes) -> etree._Element:
    """The tree of a rendered message (for validation and the business rules)."""
    return etree.fromstring(data, _PARSER)


@cache
def avs(tag: str, set_name: str, value: str, version: str, namespace: str) -> str:
    """An element holding an allowed value; one the version lacks becomes UserDefined."""
    allowed = vocabulary.allowed(set_name, version)
    if value in allowed:
        return f"<{tag}>{value}</{tag}>"
    if USER_DEFINED not in allowed:
        raise RenderError(f"'{value}' is not a {set_name} in ERN {version}")
    return (
        f'<{tag} Namespace="{xa(namespace)}" UserDefinedValue="{xa(value)}">{USER_DEFINED}</{tag}>'
    )


def root_start(version: str, tag: str = "NewReleaseMessage", **attrib: str | None) -> str:
    """The root's start tag in the version's namespace (prefix ``ern``); children unqualified."""
    namespace = NAMESPACES[version]
    attributes = "".join(f' {name}="{xa(value)}"' for name, value in attrib.items() if value)
    return (
        f'<ern:{tag} xmlns:ern="{namespace}" xmlns:xsi="{XSI}"{attributes} '
        f'xsi:schemaLocation="{namespace} {SCHEMA_URLS[version]}">'
    )


# --- values --------------------------------------------------------------------------------


def territory(code: str, version: str) -> str:
    """A territory code as ``version`` accepts it (ISO numeric codes fall back to alpha-2)."""
    if vocabulary.is_territory(code, version):
        return code
    if code.isdigit():
        import pycountry  # only for numeric codes: ~30 ms of every validate's start-up otherwise

        country = pycountry.countries.get(numeric=code.zfill(3))
        if country and vocabulary.is_territory(country.alpha_2, version):
            return country.alpha_2
    raise RenderError(f"territory {code} cannot be written in ERN {version}", ("deals",))


def display_artist_role(role: str, version: str) -> str:
    """4.2 has no Composer display role; that artist is shown as a plain Artist there."""
    return role if vocabulary.is_artist_role(role, version) else "Artist"


@cache
def contributor_role(name: str, version: str) -> str:
    """The DDEX role of a catalog role name in ``version``; its 4.3 value when the version has
    none (written as UserDefined by :func:`avs`)."""
    return (
        vocabulary.contributor_role(name, version)
        or vocabulary.contributor_role(name, vocabulary.DEFAULT_VERSION)
        or name
    )


def ipi_name_number(ipi: str) -> str:
    """ERN 4 wants the IPI name number as 11 digits."""
    return ipi.zfill(11)


@lru_cache(maxsize=4096)
def duration(seconds: float) -> str:
    """ISO 8601 duration: 215 -> PT3M35S, 3725.5 -> PT1H2M5.5S."""
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    text = "PT"
    if hours:
        text += f"{hours}H"
    if minutes or hours:
        text += f"{minutes}M"
    fraction = f".{millis:03d}".rstrip("0") if millis else ""
    return f"{text}{secs}{fraction}S"


def p_line_text(year: int, owner: str) -> str:
    return f"(P) {year} {owner}"


def c_line_text(year: int, owner: str) -> str:
    return f"(C) {year} {owner}"


# Fragments every version writes alike and a message repeats (once per track); cached.


@lru_cache(maxsize=1024)
def p_line(year: int, owner: str) -> str:
    return (
        f"<PLine><Year>{year}</Year><PLineCompany>{x(owner)}</PLineCompany>"
        f"<PLineText>{x(p_line_text(year, owner))}</PLineText></PLine>"
    )


@lru_cache(maxsize=1024)
def c_line(year: int, owner: str) -> str:
    return (
        f"<CLine><Year>{year}</Year><CLineCompany>{x(owner)}</CLineCompany>"
        f"<CLineText>{x(c_line_text(year, owner))}</CLineText></CLine>"
    )


@lru_cache(maxsize=1024)
def genre(value: GenreValue) -> str:
    subgenre = f"<SubGenre>{x(value.sub)}</SubGenre>" if value.sub else ""
    return f"<Genre><GenreText>{x(value.text)}</GenreText>{subgenre}</Genre>"


def title_text(title: str, version: str | None) -> str:
    """The full display title: "Night Shift (Clean)"."""
    return f"{title} ({version})" if version else title


def joined_names(names: list[str]) -> str:
    """ "A", "A & B", "A, B & C"."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} & {names[-1]}"


def display_artist_name(credits: tuple[ArtistCredit, ...]) -> str:
    """Main artists, then "feat." and the featured ones: "The Meridians feat. Solenne"."""
    main = [c.party.name for c in credits if c.role != "FeaturedArtist"]
    featured = [c.party.name for c in credits if c.role == "FeaturedArtist"]
    if not main:
        return joined_names(featured)
    return joined_names(main) + (f" feat. {joined_names(featured)}" if featured else "")


# --- fragments 3.8.2 and 4.x write alike -----------------------------------------------------


def message_header(view: MessageView) -> str:
    target = view.target
    parties = "".join(
        f"<{tag}><PartyId>{x(party.party_id)}</PartyId>"
        f"<PartyName><FullName>{x(party.name)}</FullName></PartyName></{tag}>"
        for tag, party in (("MessageSender", target.sender), ("MessageRecipient", target.recipient))
        if party is not None
    )
    return (
        "<MessageHeader>"
        f"<MessageThreadId>{x(view.thread_id)}</MessageThreadId>"
        f"<MessageId>{x(view.message_id)}</MessageId>"
        f"{parties}"
        f"<MessageCreatedDateTime>{view.created}</MessageCreatedDateTime>"
        f"<MessageControlType>{target.message_control_type}</MessageControlType>"
        "</MessageHeader>"
    )


def catalog_number(release: Release, namespace: str) -> str:
    """The label's CatalogNumber in the sender's namespace; empty when the release has none."""
    if not release.catalog_number:
        return ""
    return f'<CatalogNumber Namespace="{xa(namespace)}">{x(release.catalog_number)}</CatalogNumber>'


def audio_format(audio: AudioInfo, version: str, namespace: str) -> str:
    """Codec, channels, sampling rate and (when the format has one) bit depth."""
    bits = (
        f"<BitsPerSample>{audio.bits_per_sample}</BitsPerSample>" if audio.bits_per_sample else ""
    )
    return (
        avs("AudioCodecType", "AudioCodecType", audio.codec, version, namespace)
        + f"<NumberOfChannels>{audio.channels}</NumberOfChannels>"
        f'<SamplingRate UnitOfMeasure="Hz">{audio.sample_rate}</SamplingRate>'
        f"{bits}"
    )


def image_format(image: ImageInfo) -> str:
    """Codec and size of an image."""
    return (
        f"<ImageCodecType>{image.codec}</ImageCodecType>"
        f'<ImageHeight UnitOfMeasure="Pixel">{image.height}</ImageHeight>'
        f'<ImageWidth UnitOfMeasure="Pixel">{image.width}</ImageWidth>'
    )


def preview_details(recording: RecordingView) -> str:
    """3.8.2 and 4.2: the full file is not a preview; PreviewDetails say where the preview
    starts."""
    start = recording.track.preview_start
    if start is None:
        return ""
    return (
        "<IsPreview>false</IsPreview>"
        f"<PreviewDetails><StartPoint>{start}</StartPoint>"
        "<ExpressionType>Instructive</ExpressionType></PreviewDetails>"
    )


def release_deal_list(
    view: MessageView, terms: list[str], preorder_terms: Sequence[str] = ()
) -> str:
    """One ReleaseDeal every release shares, a Deal per DealTerms text; none: no DealList.

    Pre-order deals go in a second ReleaseDeal for the main release alone: a pre-order (and
    3.8.2's PreOrderReleaseDate) does not apply to track releases."""
    if not terms and not preorder_terms:
        return ""
    shared = _release_deal(view.release_references, terms) if terms else ""
    preorders = _release_deal((view.release_reference,), preorder_terms) if preorder_terms else ""
    return f"<DealList>{shared}{preorders}</DealList>"


def _release_deal(release_references: Sequence[str], terms: Sequence[str]) -> str:
    references = "".join(
        f"<DealReleaseReference>{reference}</DealReleaseReference>"
        for reference in release_references
    )
    deals = "".join(f"<Deal>{text}</Deal>" for text in terms)
    return f"<ReleaseDeal>{references}{deals}</ReleaseDeal>"


def split_preorders(deals: Iterable[DealView]) -> tuple[list[DealView], list[DealView]]:
    """(regular deals, pre-order deals), each in message order."""
    regular, preorders = [], []
    for deal in deals:
        (regular if deal.preorder is None else preorders).append(deal)
    return regular, preorders


def instant_grat_list(view: MessageView, deal: DealView) -> str:
    """The InstantGratificationResourceList of a pre-order deal; empty when it has none."""
    if not deal.instant_grat:
        return ""
    wanted = set(deal.instant_grat)
    references = "".join(
        f"<DealResourceReference>{recording.reference}</DealResourceReference>"
        for recording in view.recordings
        if recording.track_index in wanted
    )
    return f"<InstantGratificationResourceList>{references}</InstantGratificationResourceList>"


def territories(deal: DealView, version: str) -> str:
    """TerritoryCode list, or ExcludedTerritoryCode list meaning "worldwide except these"."""
    tag, codes = (
        ("TerritoryCode", deal.territories)
        if deal.territories
        else ("ExcludedTerritoryCode", deal.excluded)
    )
    written = dict.fromkeys(territory(code, version) for code in codes)
    return "".join(f"<{tag}>{code}</{tag}>" for code in written)
