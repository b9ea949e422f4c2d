"""ERN 3.8.2: parties written inline, details grouped by territory (Worldwide).

The deprecated UpdateIndicator and DealTerms/TakeDown are written only for targets that ask for
them, each on its own setting (``update_indicator: true``, ``takedown_form: TakeDown``);
otherwise a takedown is the same end-dated deals as in 4.x. A message sent without its resource
files describes them without a File (3.8.2's File cannot say "not in this delivery").
Functions return compact XML text; every catalog value is escaped with ``x`` / ``xa``.
"""

from __future__ import annotations

from functools import lru_cache

from stardust_git import vocabulary
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
    audio_format,
    avs,
    c_line,
    catalog_number,
    contributor_role,
    duration,
    genre,
    image_format,
    instant_grat_list,
    message_header,
    p_line,
    preview_details,
    release_deal_list,
    root_start,
    split_preorders,
    territories,
    x,
    xa,
)

VERSION = "3.8.2"
SCHEMA_VERSION_ID = "ern/382"
WORLDWIDE_DETAILS = f"<TerritoryCode>{WORLDWIDE}</TerritoryCode>"


def message(view: MessageView) -> str:
    start = root_start(
        VERSION,
        MessageSchemaVersionId=SCHEMA_VERSION_ID,
        LanguageAndScriptCode=view.release.language,
        ReleaseProfileVersionId=view.target.release_profile,
    )
    indicator = ""
    if view.target.update_indicator:
        value = "OriginalMessage" if view.action == "initial" else "UpdateMessage"
        indicator = f"<UpdateIndicator>{value}</UpdateIndicator>"
    return "".join(
        (
            start,
            message_header(view),
            indicator,
            "<ResourceList>",
            *(sound_recording(view, recording) for recording in view.recordings),
            image(view, view.cover),
            "</ResourceList>",
            "<ReleaseList>",
            main_release(view),
            *(track_release(view, recording) for recording in view.recordings),
            "</ReleaseList>",
            deal_list(view),
            "</ern:NewReleaseMessage>",
        )
    )


# --- shared pieces -------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def party_name(party: PartyView) -> str:
    isni = f'<PartyId IsISNI="true">{x(party.isni)}</PartyId>' if party.isni else ""
    ipi = f'<PartyId Namespace="IPI">{x(party.ipi)}</PartyId>' if party.ipi else ""
    return f"<PartyName><FullName>{x(party.name)}</FullName></PartyName>{isni}{ipi}"


def titles(title: str, version: str | None, full: str) -> str:
    """A FormalTitle (title and version as SubTitle) and a DisplayTitle (the full string)."""
    subtitle = f'<SubTitle SubTitleType="Version">{x(version)}</SubTitle>' if version else ""
    return (
        f'<Title TitleType="FormalTitle"><TitleText>{x(title)}</TitleText>{subtitle}</Title>'
        f'<Title TitleType="DisplayTitle"><TitleText>{x(full)}</TitleText></Title>'
    )


def reference_title(title: str, version: str | None) -> str:
    subtitle = f"<SubTitle>{x(version)}</SubTitle>" if version else ""
    return f"<ReferenceTitle><TitleText>{x(title)}</TitleText>{subtitle}</ReferenceTitle>"


def display_artists(view: MessageView, credits: tuple[ArtistCredit, ...]) -> str:
    return _display_artists(credits, view.namespace)


@lru_cache(maxsize=1024)
def _display_artists(credits: tuple[ArtistCredit, ...], namespace: str) -> str:
    return "".join(
        f'<DisplayArtist SequenceNumber="{sequence}">{party_name(credit.party)}'
        + avs("ArtistRole", "ArtistRole", credit.role, VERSION, namespace)
        + "</DisplayArtist>"
        for sequence, credit in enumerate(credits, start=1)
    )


def contributors(view: MessageView, credits: tuple[ContributorCredit, ...]) -> str:
    """ResourceContributors (performers, producers, engineers) come before the
    IndirectResourceContributors (composers, lyricists, publishers: roles on the work)."""
    direct: list[tuple[PartyView, list[str]]] = []
    indirect: list[tuple[PartyView, list[str]]] = []
    for credit in credits:
        roles = dict.fromkeys(contributor_role(name, VERSION) for name in credit.roles)
        work_roles = [r for r in roles if vocabulary.is_indirect_contributor_role(r, VERSION)]
        other_roles = [r for r in roles if r not in work_roles]
        if other_roles:
            direct.append((credit.party, other_roles))
        if work_roles:
            indirect.append((credit.party, work_roles))
    direct_text = "".join(
        f'<ResourceContributor SequenceNumber="{sequence}">{party_name(party)}'
        + "".join(
            avs("ResourceContributorRole", "ContributorRole", role, VERSION, view.namespace)
            for role in roles
        )
        + "</ResourceContributor>"
        for sequence, (party, roles) in enumerate(direct, start=1)
    )
    indirect_text = "".join(
        f'<IndirectResourceContributor SequenceNumber="{sequence}">{party_name(party)}'
        + "".join(
            f"<IndirectResourceContributorRole>{role}</IndirectResourceContributorRole>"
            for role in roles
        )
        + "</IndirectResourceContributor>"
        for sequence, (party, roles) in enumerate(indirect, start=1)
    )
    return direct_text + indirect_text


def parental_warning(view: MessageView, value: str) -> str:
    return avs("ParentalWarningType", "ParentalWarningType", value, VERSION, view.namespace)


def hashed_file(name: str, md5: str) -> str:
    folder, _, file_name = name.rpartition("/")
    path = f"<FilePath>{x(folder)}/</FilePath>" if folder else ""
    return (
        f"<File><FileName>{x(file_name)}</FileName>{path}"
        f"<HashSum><HashSum>{md5}</HashSum><HashSumAlgorithmType>MD5</HashSumAlgorithmType>"
        "</HashSum></File>"
    )


def provided_file(view: MessageView, name: str, md5: str) -> str:
    """The File, when the delivery carries it; none otherwise (the receiver keeps its copy)."""
    return hashed_file(name, md5) if view.files_provided else ""


def language(code: str) -> str | None:
    """3.8.2 takes a plain ISO 639 code: "pt-BR" is written as "pt"."""
    for candidate in (code, code.split("-")[0]):
        if vocabulary.is_language_code(candidate, VERSION):
            return candidate
    return None


# --- resources -----------------------------------------------------------------------------


def sound_recording(view: MessageView, recording: RecordingView) -> str:
    track = recording.track
    work = (
        f"<IndirectSoundRecordingId><ISWC>{track.iswc}</ISWC></IndirectSoundRecordingId>"
        if track.iswc
        else ""
    )
    performance_language = language(recording.language)
    spoken = (
        f"<LanguageOfPerformance>{performance_language}</LanguageOfPerformance>"
        if performance_language
        else ""
    )
    return (
        "<SoundRecording>"
        "<SoundRecordingType>MusicalWorkSoundRecording</SoundRecordingType>"
        f"<SoundRecordingId><ISRC>{track.isrc}</ISRC></SoundRecordingId>{work}"
        f"<ResourceReference>{recording.reference}</ResourceReference>"
        + reference_title(track.title, track.version)
        + spoken
        + f"<Duration>{duration(track.duration)}</Duration>"
        "<SoundRecordingDetailsByTerritory>"
        + WORLDWIDE_DETAILS
        + titles(track.title, track.version, recording.title_text)
        + display_artists(view, recording.artists)
        + contributors(view, recording.contributors)
        + f"<DisplayArtistName>{x(recording.display_artist_name)}</DisplayArtistName>"
        f"<LabelName>{x(view.label.name)}</LabelName>"
        + p_line(view.release.p_line.year, view.release.p_line.owner)
        + genre(recording.genre)
        + parental_warning(view, recording.parental_warning)
        + technical_details(view, recording)
        + "</SoundRecordingDetailsByTerritory>"
        "</SoundRecording>"
    )


def technical_details(view: MessageView, recording: RecordingView) -> str:
    return (
        "<TechnicalSoundRecordingDetails>"
        f"<TechnicalResourceDetailsReference>{recording.technical_reference}"
        "</TechnicalResourceDetailsReference>"
        + audio_format(recording.audio, VERSION, view.namespace)
        + preview_details(recording)
        + provided_file(view, recording.file.name, recording.file.md5)
        + "</TechnicalSoundRecordingDetails>"
    )


def image(view: MessageView, cover: CoverView) -> str:
    return (
        "<Image>"
        "<ImageType>FrontCoverImage</ImageType>"
        f'<ImageId><ProprietaryId Namespace="{xa(view.namespace)}">'
        f"{view.release.upc}_FrontCoverImage</ProprietaryId></ImageId>"
        f"<ResourceReference>{cover.reference}</ResourceReference>"
        "<ImageDetailsByTerritory>"
        + WORLDWIDE_DETAILS
        + c_line(view.release.c_line.year, view.release.c_line.owner)
        + "<TechnicalImageDetails>"
        f"<TechnicalResourceDetailsReference>{cover.technical_reference}"
        "</TechnicalResourceDetailsReference>"
        + image_format(cover.image)
        + provided_file(view, cover.file.name, cover.file.md5)
        + "</TechnicalImageDetails>"
        "</ImageDetailsByTerritory>"
        "</Image>"
    )


# --- releases ------------------------------------------------------------------------------


def primary(reference: str) -> str:
    return (
        '<ReleaseResourceReference ReleaseResourceType="PrimaryResource">'
        f"{reference}</ReleaseResourceReference>"
    )


def main_release(view: MessageView) -> str:
    release = view.release
    is_ean = "true" if len(release.upc) == 13 else "false"
    original = release.original_release_date
    resources = "".join(primary(r.reference) for r in view.recordings) + (
        '<ReleaseResourceReference ReleaseResourceType="SecondaryResource">'
        f"{view.cover.reference}</ReleaseResourceReference>"
    )
    return (
        '<Release IsMainRelease="true">'
        f'<ReleaseId><ICPN IsEan="{is_ean}">{release.upc}</ICPN>'
        + catalog_number(release, view.namespace)
        + "</ReleaseId>"
        f"<ReleaseReference>{view.release_reference}</ReleaseReference>"
        + reference_title(release.title, release.version)
        + f"<ReleaseResourceReferenceList>{resources}</ReleaseResourceReferenceList>"
        + avs(
            "ReleaseType", "ReleaseType", release.effective_release_type(), VERSION, view.namespace
        )
        + "<ReleaseDetailsByTerritory>"
        + WORLDWIDE_DETAILS
        + f"<DisplayArtistName>{x(view.display_artist_name)}</DisplayArtistName>"
        f"<LabelName>{x(view.label.name)}</LabelName>"
        + titles(release.title, release.version, view.title_text)
        + display_artists(view, view.artists)
        + parental_warning(view, release.parental_warning)
        + resource_group(view)
        + genre(view.genre)
        + f"<ReleaseDate>{release.release_date}</ReleaseDate>"
        + (f"<OriginalReleaseDate>{original}</OriginalReleaseDate>" if original else "")
        + "</ReleaseDetailsByTerritory>"
        f"<Duration>{duration(release.duration)}</Duration>"
        + p_line(release.p_line.year, release.p_line.owner)
        + c_line(release.c_line.year, release.c_line.owner)
        + f"<GlobalReleaseDate>{release.release_date}</GlobalReleaseDate>"
        + (f"<GlobalOriginalReleaseDate>{original}</GlobalOriginalReleaseDate>" if original else "")
        + "</Release>"
    )


def resource_group(view: MessageView) -> str:
    if len(view.discs) == 1:
        body = "<SequenceNumber>1</SequenceNumber>" + content_items(view.discs[0])
    else:
        body = "".join(
            f"<ResourceGroup><SequenceNumber>{disc[0].disc}</SequenceNumber>"
            f"{content_items(disc)}</ResourceGroup>"
            for disc in view.discs
        )
    return f"<ResourceGroup>{body}</ResourceGroup>"


def content_items(recordings: tuple[RecordingView, ...]) -> str:
    return "".join(
        "<ResourceGroupContentItem>"
        f"<SequenceNumber>{r.number}</SequenceNumber>"
        "<ResourceType>SoundRecording</ResourceType>"
        f"{primary(r.reference)}"
        "</ResourceGroupContentItem>"
        for r in recordings
    )


def track_release(view: MessageView, recording: RecordingView) -> str:
    track = recording.track
    return (
        "<Release>"
        f"<ReleaseId><ISRC>{track.isrc}</ISRC></ReleaseId>"
        f"<ReleaseReference>{recording.release_reference}</ReleaseReference>"
        + reference_title(track.title, track.version)
        + f"<ReleaseResourceReferenceList>{primary(recording.reference)}"
        "</ReleaseResourceReferenceList>"
        "<ReleaseType>TrackRelease</ReleaseType>"
        "<ReleaseDetailsByTerritory>"
        + WORLDWIDE_DETAILS
        + f"<DisplayArtistName>{x(recording.display_artist_name)}</DisplayArtistName>"
        f"<LabelName>{x(view.label.name)}</LabelName>"
        + titles(track.title, track.version, recording.title_text)
        + display_artists(view, recording.artists)
        + parental_warning(view, recording.parental_warning)
        + genre(recording.genre)
        + "</ReleaseDetailsByTerritory>"
        f"<Duration>{duration(track.duration)}</Duration>"
        "</Release>"
    )


# --- deals ---------------------------------------------------------------------------------


def deal_list(view: MessageView) -> str:
    """Ended deals take the deprecated TakeDown form only when the target asks for it
    (``takedown_form: TakeDown``). Otherwise a deal without use types (a withdrawn territory of
    a release with no deals) cannot be written and is left out, and so is a takedown's deal that
    never started (withdrawn, never given a window)."""
    takedown_form = view.target.takedown_form == "TakeDown"
    regular, preorders = split_preorders(view.deals)
    terms = [
        takedown_terms(view, deal) if deal.ended and takedown_form else deal_terms(view, deal)
        for deal in regular
        if (deal.ended and takedown_form) or (deal.use_types and not deal.never_live)
    ]
    return release_deal_list(view, terms, [deal_terms(view, deal) for deal in preorders])


def deal_terms(view: MessageView, deal: DealView) -> str:
    """A deal's terms; a pre-order deal adds IsPreOrderDeal, PreOrderReleaseDate (the day the
    pre-order opens) and its InstantGratificationResourceList, where the 3.8.2 XSD puts them."""
    uses = "".join(
        avs("UseType", "UseType", use, VERSION, view.namespace) for use in deal.use_types
    )
    price = (
        f'<PriceInformation><PriceType Namespace="{xa(view.namespace)}">{x(deal.price_tier)}'
        "</PriceType></PriceInformation>"
        if deal.price_tier
        else ""
    )
    end = f"<EndDate>{deal.end}</EndDate>" if deal.end else ""
    is_preorder = "<IsPreOrderDeal>true</IsPreOrderDeal>" if deal.preorder else ""
    preorder_date = (
        f"<PreOrderReleaseDate>{deal.preorder}</PreOrderReleaseDate>" if deal.preorder else ""
    )
    return (
        "<DealTerms>"
        + is_preorder
        + commercial_models(view, deal)
        + f"<Usage>{uses}</Usage>"
        + territories(deal, VERSION)
        + price
        + f"<ValidityPeriod><StartDate>{deal.start}</StartDate>{end}</ValidityPeriod>"
        + preorder_date
        + instant_grat_list(view, deal)
        + "</DealTerms>"
    )


def takedown_terms(view: MessageView, deal: DealView) -> str:
    """The deprecated 3.8.2 form: TakeDown, effective the day after the deal's last day."""
    effective = deal.end + ONE_DAY if deal.end else deal.start
    return (
        "<DealTerms>"
        + commercial_models(view, deal)
        + "<TakeDown>true</TakeDown>"
        + territories(deal, VERSION)
        + f"<ValidityPeriod><StartDate>{effective}</StartDate></ValidityPeriod>"
        "</DealTerms>"
    )


def commercial_models(view: MessageView, deal: DealView) -> str:
    return "".join(
        avs("CommercialModelType", "CommercialModelType", model, VERSION, view.namespace)
        for model in deal.commercial_models
    )
