"""The parts ERN 4.2 and 4.3 write alike: header, PartyList, images, releases and deals.

4.x names parties, resources, releases and technical details by reference (P1, A1, R0, T1) and
has no update flag: an update is the same full message, a takedown one whose deals have ended.
Element order follows the XSD sequences exactly.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from stardust_git.models.release import CopyrightLine
from stardust_git.render.ern import (
    ArtistCredit,
    ContributorCredit,
    CoverView,
    DealView,
    MessageView,
    PartyView,
    RecordingView,
    avs,
    c_line_text,
    contributor_role,
    display_artist_role,
    duration,
    ipi_name_number,
    iso_date,
    new_root,
    p_line_text,
    sub,
    territory,
)
from stardust_git.render.genres import GenreValue

SoundRecordingBuilder = Callable[[etree._Element, MessageView, RecordingView], None]


def build(
    view: MessageView, sound_recording: SoundRecordingBuilder, **root_attrib: str
) -> etree._Element:
    """A NewReleaseMessage: the version's sound recordings, everything else shared."""
    root = new_root(view.version, **root_attrib, LanguageAndScriptCode=view.release.language)
    if view.target.release_profile:
        root.set("ReleaseProfileVersionId", view.target.release_profile)
    header(root, view)
    party_list(root, view)
    resources = sub(root, "ResourceList")
    for recording in view.recordings:
        sound_recording(resources, view, recording)
    image(resources, view, view.cover)
    release_list(root, view)
    deal_list(root, view)
    return root


def header(root: etree._Element, view: MessageView) -> None:
    target = view.target
    element = sub(root, "MessageHeader")
    sub(element, "MessageThreadId", view.thread_id)
    sub(element, "MessageId", view.message_id)
    for tag, party in (("MessageSender", target.sender), ("MessageRecipient", target.recipient)):
        if party is None:
            continue
        messaging = sub(element, tag)
        sub(messaging, "PartyId", party.party_id)
        sub(sub(messaging, "PartyName"), "FullName", party.name)
    sub(element, "MessageCreatedDateTime", view.created)
    sub(element, "MessageControlType", target.message_control_type)


def party_list(root: etree._Element, view: MessageView) -> None:
    element = sub(root, "PartyList")
    for party in view.parties:
        party_element(element, party)


def party_element(parent: etree._Element, party: PartyView) -> None:
    element = sub(parent, "Party")
    sub(element, "PartyReference", party.reference)
    sub(sub(element, "PartyName"), "FullName", party.name)
    if party.isni or party.ipi:
        ids = sub(element, "PartyId")
        if party.isni:
            sub(ids, "ISNI", party.isni)
        if party.ipi:
            sub(ids, "IpiNameNumber", ipi_name_number(party.ipi))


# --- pieces the resources and releases share ------------------------------------------------


def display_title(parent: etree._Element, text: str, title: str, version: str | None) -> None:
    """DisplayTitleText (the full string) and DisplayTitle (title + version as SubTitle)."""
    sub(parent, "DisplayTitleText", text)
    element = sub(parent, "DisplayTitle")
    sub(element, "TitleText", title)
    if version:
        sub(element, "SubTitle", version, SubTitleType="Version")


def display_artists(
    parent: etree._Element, view: MessageView, name: str, credits: tuple[ArtistCredit, ...]
) -> None:
    sub(parent, "DisplayArtistName", name)
    for sequence, credit in enumerate(credits, start=1):
        element = sub(parent, "DisplayArtist", SequenceNumber=str(sequence))
        sub(element, "ArtistPartyReference", credit.party.reference)
        role = display_artist_role(credit.role, view.version)
        avs(element, "DisplayArtistRole", "DisplayArtistRole", role, view.version, view.namespace)


def contributors(
    parent: etree._Element, view: MessageView, credits: tuple[ContributorCredit, ...]
) -> None:
    for sequence, credit in enumerate(credits, start=1):
        element = sub(parent, "Contributor", SequenceNumber=str(sequence))
        sub(element, "ContributorPartyReference", credit.party.reference)
        roles = dict.fromkeys(contributor_role(name, view.version) for name in credit.roles)
        for role in roles:
            avs(element, "Role", "ContributorRole", role, view.version, view.namespace)


def p_line(parent: etree._Element, line: CopyrightLine) -> None:
    element = sub(parent, "PLine")
    sub(element, "Year", str(line.year))
    sub(element, "PLineCompany", line.owner)
    sub(element, "PLineText", p_line_text(line.year, line.owner))


def c_line(parent: etree._Element, line: CopyrightLine) -> None:
    element = sub(parent, "CLine")
    sub(element, "Year", str(line.year))
    sub(element, "CLineCompany", line.owner)
    sub(element, "CLineText", c_line_text(line.year, line.owner))


def genre(parent: etree._Element, value: GenreValue) -> None:
    element = sub(parent, "Genre")
    sub(element, "GenreText", value.text)
    if value.sub:
        sub(element, "SubGenre", value.sub)


def parental_warning(parent: etree._Element, view: MessageView, value: str) -> None:
    avs(parent, "ParentalWarningType", "ParentalWarningType", value, view.version, view.namespace)


def hashed_file(parent: etree._Element, name: str, md5: str, size: int) -> None:
    element = sub(parent, "File")
    sub(element, "URI", name)
    hash_sum = sub(element, "HashSum")
    sub(hash_sum, "Algorithm", "MD5")
    sub(hash_sum, "HashSumValue", md5)
    sub(element, "FileSize", str(size))


def recording_credits(parent: etree._Element, view: MessageView, recording: RecordingView) -> None:
    """WorkId, titles, display artists and contributors: the part of a SoundRecording that
    comes between its edition (4.3) or ids (4.2) and its PLine/Duration."""
    track = recording.track
    if track.iswc:
        sub(sub(parent, "WorkId"), "ISWC", track.iswc)
    display_title(parent, recording.title_text, track.title, track.version)
    display_artists(parent, view, recording.display_artist_name, recording.artists)
    contributors(parent, view, recording.contributors)


# --- image, releases, deals ----------------------------------------------------------------


def image(parent: etree._Element, view: MessageView, cover: CoverView) -> None:
    element = sub(parent, "Image")
    sub(element, "ResourceReference", cover.reference)
    sub(element, "Type", "FrontCoverImage")
    resource_id = sub(element, "ResourceId")
    sub(resource_id, "ProprietaryId", f"{view.release.upc}_FrontCoverImage", Namespace=view.namespace)
    c_line(element, view.release.c_line)
    details = sub(element, "TechnicalDetails")
    sub(details, "TechnicalResourceDetailsReference", cover.technical_reference)
    sub(details, "ImageCodecType", cover.image.codec)
    sub(details, "ImageHeight", str(cover.image.height), UnitOfMeasure="Pixel")
    sub(details, "ImageWidth", str(cover.image.width), UnitOfMeasure="Pixel")
    hashed_file(details, cover.file.name, cover.file.md5, cover.file.size)


def release_list(root: etree._Element, view: MessageView) -> None:
    element = sub(root, "ReleaseList")
    main_release(element, view)
    for recording in view.recordings:
        track_release(element, view, recording)


def main_release(parent: etree._Element, view: MessageView) -> None:
    release = view.release
    element = sub(parent, "Release")
    sub(element, "ReleaseReference", view.release_reference)
    release_type = release.effective_release_type()
    avs(element, "ReleaseType", "ReleaseType", release_type, view.version, view.namespace)
    ids = sub(element, "ReleaseId")
    sub(ids, "ICPN", release.upc)
    if release.catalog_number:
        sub(ids, "CatalogNumber", release.catalog_number, Namespace=view.namespace)
    display_title(element, view.title_text, release.title, release.version)
    display_artists(element, view, view.display_artist_name, view.artists)
    sub(element, "ReleaseLabelReference", view.label.reference)
    p_line(element, release.p_line)
    c_line(element, release.c_line)
    sub(element, "Duration", duration(release.duration))
    genre(element, view.genre)
    sub(element, "ReleaseDate", iso_date(release.release_date))
    if release.original_release_date:
        sub(element, "OriginalReleaseDate", iso_date(release.original_release_date))
    parental_warning(element, view, release.parental_warning)
    resource_group(element, view)


def resource_group(parent: etree._Element, view: MessageView) -> None:
    """One group for the release; with several discs, one Component sub-group per disc."""
    group = sub(parent, "ResourceGroup")
    if len(view.discs) == 1:
        sub(group, "SequenceNumber", "1")
        content_items(group, view.discs[0])
    else:
        for disc in view.discs:
            disc_group = sub(group, "ResourceGroup", ResourceGroupType="Component")
            sub(disc_group, "SequenceNumber", str(disc[0].disc))
            content_items(disc_group, disc)
    sub(group, "LinkedReleaseResourceReference", view.cover.reference)


def content_items(group: etree._Element, recordings: tuple[RecordingView, ...]) -> None:
    for recording in recordings:
        item = sub(group, "ResourceGroupContentItem")
        sub(item, "SequenceNumber", str(recording.number))
        sub(item, "ReleaseResourceReference", recording.reference)


def track_release(parent: etree._Element, view: MessageView, recording: RecordingView) -> None:
    track = recording.track
    element = sub(parent, "TrackRelease")
    sub(element, "ReleaseReference", recording.release_reference)
    release_id = sub(element, "ReleaseId")
    sub(release_id, "ProprietaryId", f"{view.release.upc}_{track.isrc}", Namespace=view.namespace)
    display_title(element, recording.title_text, track.title, track.version)
    sub(element, "ReleaseResourceReference", recording.reference)
    sub(element, "ReleaseLabelReference", view.label.reference)
    genre(element, recording.genre)


def deal_list(root: etree._Element, view: MessageView) -> None:
    """All releases share the deals (one ReleaseDeal); no deals at all: no DealList."""
    if not view.deals:
        return
    release_deal = sub(sub(root, "DealList"), "ReleaseDeal")
    for reference in view.release_references:
        sub(release_deal, "DealReleaseReference", reference)
    for deal in view.deals:
        deal_terms(sub(release_deal, "Deal"), view, deal)


def deal_terms(deal_element: etree._Element, view: MessageView, deal: DealView) -> None:
    element = sub(deal_element, "DealTerms")
    territories(element, view, deal)
    period = sub(element, "ValidityPeriod")
    sub(period, "StartDate", iso_date(deal.start))
    if deal.end:
        sub(period, "EndDate", iso_date(deal.end))
    for model in deal.commercial_models:
        avs(element, "CommercialModelType", "CommercialModelType", model, view.version, view.namespace)
    for use_type in deal.use_types:
        avs(element, "UseType", "UseType", use_type, view.version, view.namespace)
    if deal.price_tier:
        price = sub(element, "PriceInformation")
        sub(price, "PriceCode", deal.price_tier, Namespace=view.namespace)


def territories(parent: etree._Element, view: MessageView, deal: DealView) -> None:
    """TerritoryCode list, or ExcludedTerritoryCode list meaning "worldwide except these"."""
    tag, codes = ("TerritoryCode", deal.territories) if deal.territories else (
        "ExcludedTerritoryCode", deal.excluded
    )
    for code in dict.fromkeys(territory(code, view.version) for code in codes):
        sub(parent, tag, code)


def duration_element(parent: etree._Element, seconds: float) -> None:
    sub(parent, "Duration", duration(seconds))
