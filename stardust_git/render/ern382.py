"""ERN 3.8.2: parties written inline, details grouped by territory (Worldwide).

The deprecated UpdateIndicator and DealTerms/TakeDown are written only for targets that ask for
them (``update_indicator: true``); otherwise a takedown is the same end-dated deals as in 4.x.
"""

from __future__ import annotations

from lxml import etree

from stardust_git import vocabulary
from stardust_git.models.release import CopyrightLine
from stardust_git.render.deals import ONE_DAY
from stardust_git.render.ern import (
    WORLDWIDE,
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
    duration,
    iso_date,
    new_root,
    p_line_text,
    sub,
    territory,
)
from stardust_git.render.genres import GenreValue

VERSION = "3.8.2"
SCHEMA_VERSION_ID = "ern/382"


def build(view: MessageView) -> etree._Element:
    root = new_root(
        VERSION, MessageSchemaVersionId=SCHEMA_VERSION_ID, LanguageAndScriptCode=view.release.language
    )
    if view.target.release_profile:
        root.set("ReleaseProfileVersionId", view.target.release_profile)
    header(root, view)
    if view.target.update_indicator:
        indicator = "OriginalMessage" if view.action == "initial" else "UpdateMessage"
        sub(root, "UpdateIndicator", indicator)
    resources = sub(root, "ResourceList")
    for recording in view.recordings:
        sound_recording(resources, view, recording)
    image(resources, view, view.cover)
    releases = sub(root, "ReleaseList")
    main_release(releases, view)
    for recording in view.recordings:
        track_release(releases, view, recording)
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


# --- shared pieces -------------------------------------------------------------------------


def party_name(parent: etree._Element, party: PartyView) -> None:
    sub(sub(parent, "PartyName"), "FullName", party.name)
    if party.isni:
        sub(parent, "PartyId", party.isni, IsISNI="true")
    if party.ipi:
        sub(parent, "PartyId", party.ipi, Namespace="IPI")


def titles(parent: etree._Element, title: str, version: str | None, full: str) -> None:
    """A FormalTitle (title and version as SubTitle) and a DisplayTitle (the full string)."""
    formal = sub(parent, "Title", TitleType="FormalTitle")
    sub(formal, "TitleText", title)
    if version:
        sub(formal, "SubTitle", version, SubTitleType="Version")
    sub(sub(parent, "Title", TitleType="DisplayTitle"), "TitleText", full)


def reference_title(parent: etree._Element, title: str, version: str | None) -> None:
    element = sub(parent, "ReferenceTitle")
    sub(element, "TitleText", title)
    if version:
        sub(element, "SubTitle", version)


def display_artists(
    parent: etree._Element, view: MessageView, credits: tuple[ArtistCredit, ...]
) -> None:
    for sequence, credit in enumerate(credits, start=1):
        element = sub(parent, "DisplayArtist", SequenceNumber=str(sequence))
        party_name(element, credit.party)
        avs(element, "ArtistRole", "ArtistRole", credit.role, VERSION, view.namespace)


def contributors(
    parent: etree._Element, view: MessageView, credits: tuple[ContributorCredit, ...]
) -> None:
    """ResourceContributors (performers, producers, engineers) come before the
    IndirectResourceContributors (composers, lyricists, publishers: roles on the work)."""
    direct, indirect = [], []
    for credit in credits:
        roles = dict.fromkeys(contributor_role(name, VERSION) for name in credit.roles)
        work_roles = [r for r in roles if vocabulary.is_indirect_contributor_role(r, VERSION)]
        other_roles = [r for r in roles if r not in work_roles]
        if other_roles:
            direct.append((credit.party, other_roles))
        if work_roles:
            indirect.append((credit.party, work_roles))
    for sequence, (party, roles) in enumerate(direct, start=1):
        element = sub(parent, "ResourceContributor", SequenceNumber=str(sequence))
        party_name(element, party)
        for role in roles:
            avs(element, "ResourceContributorRole", "ContributorRole", role, VERSION, view.namespace)
    for sequence, (party, roles) in enumerate(indirect, start=1):
        element = sub(parent, "IndirectResourceContributor", SequenceNumber=str(sequence))
        party_name(element, party)
        for role in roles:
            sub(element, "IndirectResourceContributorRole", role)


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


def hashed_file(parent: etree._Element, name: str, md5: str) -> None:
    folder, _, file_name = name.rpartition("/")
    element = sub(parent, "File")
    sub(element, "FileName", file_name)
    if folder:
        sub(element, "FilePath", f"{folder}/")
    hash_sum = sub(element, "HashSum")
    sub(hash_sum, "HashSum", md5)
    sub(hash_sum, "HashSumAlgorithmType", "MD5")


def language(code: str) -> str | None:
    """3.8.2 takes a plain ISO 639 code: "pt-BR" is written as "pt"."""
    for candidate in (code, code.split("-")[0]):
        if vocabulary.is_language_code(candidate, VERSION):
            return candidate
    return None


# --- resources -----------------------------------------------------------------------------


def sound_recording(parent: etree._Element, view: MessageView, recording: RecordingView) -> None:
    track = recording.track
    element = sub(parent, "SoundRecording")
    sub(element, "SoundRecordingType", "MusicalWorkSoundRecording")
    sub(sub(element, "SoundRecordingId"), "ISRC", track.isrc)
    if track.iswc:
        sub(sub(element, "IndirectSoundRecordingId"), "ISWC", track.iswc)
    sub(element, "ResourceReference", recording.reference)
    reference_title(element, track.title, track.version)
    performance_language = language(recording.language)
    if performance_language:
        sub(element, "LanguageOfPerformance", performance_language)
    sub(element, "Duration", duration(track.duration))
    details = sub(element, "SoundRecordingDetailsByTerritory")
    sub(details, "TerritoryCode", WORLDWIDE)
    titles(details, track.title, track.version, recording.title_text)
    display_artists(details, view, recording.artists)
    contributors(details, view, recording.contributors)
    sub(details, "DisplayArtistName", recording.display_artist_name)
    sub(details, "LabelName", view.label.name)
    p_line(details, view.release.p_line)
    genre(details, recording.genre)
    avs(details, "ParentalWarningType", "ParentalWarningType", recording.parental_warning,
        VERSION, view.namespace)
    technical_details(sub(details, "TechnicalSoundRecordingDetails"), view, recording)


def technical_details(element: etree._Element, view: MessageView, recording: RecordingView) -> None:
    audio = recording.audio
    sub(element, "TechnicalResourceDetailsReference", recording.technical_reference)
    avs(element, "AudioCodecType", "AudioCodecType", audio.codec, VERSION, view.namespace)
    sub(element, "NumberOfChannels", str(audio.channels))
    sub(element, "SamplingRate", str(audio.sample_rate), UnitOfMeasure="Hz")
    if audio.bits_per_sample:
        sub(element, "BitsPerSample", str(audio.bits_per_sample))
    if recording.track.preview_start is not None:
        sub(element, "IsPreview", "false")
        preview = sub(element, "PreviewDetails")
        sub(preview, "StartPoint", str(recording.track.preview_start))
        sub(preview, "ExpressionType", "Instructive")
    hashed_file(element, recording.file.name, recording.file.md5)


def image(parent: etree._Element, view: MessageView, cover: CoverView) -> None:
    element = sub(parent, "Image")
    sub(element, "ImageType", "FrontCoverImage")
    image_id = sub(element, "ImageId")
    sub(image_id, "ProprietaryId", f"{view.release.upc}_FrontCoverImage", Namespace=view.namespace)
    sub(element, "ResourceReference", cover.reference)
    details = sub(element, "ImageDetailsByTerritory")
    sub(details, "TerritoryCode", WORLDWIDE)
    c_line(details, view.release.c_line)
    technical = sub(details, "TechnicalImageDetails")
    sub(technical, "TechnicalResourceDetailsReference", cover.technical_reference)
    sub(technical, "ImageCodecType", cover.image.codec)
    sub(technical, "ImageHeight", str(cover.image.height), UnitOfMeasure="Pixel")
    sub(technical, "ImageWidth", str(cover.image.width), UnitOfMeasure="Pixel")
    hashed_file(technical, cover.file.name, cover.file.md5)


# --- releases ------------------------------------------------------------------------------


def main_release(parent: etree._Element, view: MessageView) -> None:
    release = view.release
    element = sub(parent, "Release", IsMainRelease="true")
    ids = sub(element, "ReleaseId")
    sub(ids, "ICPN", release.upc, IsEan="true" if len(release.upc) == 13 else "false")
    if release.catalog_number:
        sub(ids, "CatalogNumber", release.catalog_number, Namespace=view.namespace)
    sub(element, "ReleaseReference", view.release_reference)
    reference_title(element, release.title, release.version)
    references = sub(element, "ReleaseResourceReferenceList")
    for recording in view.recordings:
        sub(references, "ReleaseResourceReference", recording.reference,
            ReleaseResourceType="PrimaryResource")
    sub(references, "ReleaseResourceReference", view.cover.reference,
        ReleaseResourceType="SecondaryResource")
    release_type = release.effective_release_type()
    avs(element, "ReleaseType", "ReleaseType", release_type, VERSION, view.namespace)
    details = sub(element, "ReleaseDetailsByTerritory")
    sub(details, "TerritoryCode", WORLDWIDE)
    sub(details, "DisplayArtistName", view.display_artist_name)
    sub(details, "LabelName", view.label.name)
    titles(details, release.title, release.version, view.title_text)
    display_artists(details, view, view.artists)
    avs(details, "ParentalWarningType", "ParentalWarningType", release.parental_warning,
        VERSION, view.namespace)
    resource_group(details, view)
    genre(details, view.genre)
    sub(details, "ReleaseDate", iso_date(release.release_date))
    if release.original_release_date:
        sub(details, "OriginalReleaseDate", iso_date(release.original_release_date))
    sub(element, "Duration", duration(release.duration))
    p_line(element, release.p_line)
    c_line(element, release.c_line)
    sub(element, "GlobalReleaseDate", iso_date(release.release_date))
    if release.original_release_date:
        sub(element, "GlobalOriginalReleaseDate", iso_date(release.original_release_date))


def resource_group(parent: etree._Element, view: MessageView) -> None:
    group = sub(parent, "ResourceGroup")
    if len(view.discs) == 1:
        sub(group, "SequenceNumber", "1")
        content_items(group, view.discs[0])
        return
    for disc in view.discs:
        disc_group = sub(group, "ResourceGroup")
        sub(disc_group, "SequenceNumber", str(disc[0].disc))
        content_items(disc_group, disc)


def content_items(group: etree._Element, recordings: tuple[RecordingView, ...]) -> None:
    for recording in recordings:
        item = sub(group, "ResourceGroupContentItem")
        sub(item, "SequenceNumber", str(recording.number))
        sub(item, "ResourceType", "SoundRecording")
        sub(item, "ReleaseResourceReference", recording.reference,
            ReleaseResourceType="PrimaryResource")


def track_release(parent: etree._Element, view: MessageView, recording: RecordingView) -> None:
    track = recording.track
    element = sub(parent, "Release")
    sub(sub(element, "ReleaseId"), "ISRC", track.isrc)
    sub(element, "ReleaseReference", recording.release_reference)
    reference_title(element, track.title, track.version)
    references = sub(element, "ReleaseResourceReferenceList")
    sub(references, "ReleaseResourceReference", recording.reference,
        ReleaseResourceType="PrimaryResource")
    sub(element, "ReleaseType", "TrackRelease")
    details = sub(element, "ReleaseDetailsByTerritory")
    sub(details, "TerritoryCode", WORLDWIDE)
    sub(details, "DisplayArtistName", recording.display_artist_name)
    sub(details, "LabelName", view.label.name)
    titles(details, track.title, track.version, recording.title_text)
    display_artists(details, view, recording.artists)
    avs(details, "ParentalWarningType", "ParentalWarningType", recording.parental_warning,
        VERSION, view.namespace)
    genre(details, recording.genre)
    sub(element, "Duration", duration(track.duration))


# --- deals ---------------------------------------------------------------------------------


def deal_list(root: etree._Element, view: MessageView) -> None:
    takedown_form = view.target.update_indicator
    deals = [d for d in view.deals if (d.ended and takedown_form) or d.use_types]
    if not deals:
        return
    release_deal = sub(sub(root, "DealList"), "ReleaseDeal")
    for reference in view.release_references:
        sub(release_deal, "DealReleaseReference", reference)
    for deal in deals:
        terms = sub(sub(release_deal, "Deal"), "DealTerms")
        if deal.ended and takedown_form:
            takedown_terms(terms, view, deal)
        else:
            deal_terms(terms, view, deal)


def deal_terms(element: etree._Element, view: MessageView, deal: DealView) -> None:
    commercial_models(element, view, deal)
    usage = sub(element, "Usage")
    for use_type in deal.use_types:
        avs(usage, "UseType", "UseType", use_type, VERSION, view.namespace)
    territories(element, deal)
    if deal.price_tier:
        price = sub(element, "PriceInformation")
        sub(price, "PriceType", deal.price_tier, Namespace=view.namespace)
    period = sub(element, "ValidityPeriod")
    sub(period, "StartDate", iso_date(deal.start))
    if deal.end:
        sub(period, "EndDate", iso_date(deal.end))


def takedown_terms(element: etree._Element, view: MessageView, deal: DealView) -> None:
    """The deprecated 3.8.2 form: TakeDown, effective the day after the deal's last day."""
    commercial_models(element, view, deal)
    sub(element, "TakeDown", "true")
    territories(element, deal)
    effective = deal.end + ONE_DAY if deal.end else deal.start
    sub(sub(element, "ValidityPeriod"), "StartDate", iso_date(effective))


def commercial_models(element: etree._Element, view: MessageView, deal: DealView) -> None:
    for model in deal.commercial_models:
        avs(element, "CommercialModelType", "CommercialModelType", model, VERSION, view.namespace)


def territories(element: etree._Element, deal: DealView) -> None:
    tag, codes = ("TerritoryCode", deal.territories) if deal.territories else (
        "ExcludedTerritoryCode", deal.excluded
    )
    for code in dict.fromkeys(territory(code, VERSION) for code in codes):
        sub(element, tag, code)
