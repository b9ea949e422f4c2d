"""The parts ERN 4.2 and 4.3 write alike: PartyList, image, releases and deals.

4.x names parties, resources, releases and technical details by reference (P1, A1, R0, T1) and
has no update flag: an update is the same full message, a takedown one whose deals have ended.
Element order follows the XSD sequences exactly. Functions return compact XML text; every
catalog value is escaped with ``x`` / ``xa``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from stardust_git.models.release_profile import release_profile_id
from stardust_git.render.ern import (
    ArtistCredit,
    ContributorCredit,
    CoverView,
    DealView,
    MessageView,
    PartyView,
    RecordingView,
    avs,
    c_line,
    catalog_number,
    contributor_role,
    display_artist_role,
    duration,
    genre,
    image_format,
    instant_grat_list,
    ipi_name_number,
    message_header,
    p_line,
    release_deal_list,
    root_start,
    split_preorders,
    territories,
    x,
    xa,
)

SoundRecordingWriter = Callable[[MessageView, RecordingView], str]


def message(view: MessageView, sound_recording: SoundRecordingWriter, **root_attrib: str) -> str:
    """A NewReleaseMessage: the version's sound recordings, everything else shared."""
    start = root_start(
        view.version,
        **root_attrib,
        LanguageAndScriptCode=view.release.language,
        ReleaseProfileVersionId=release_profile_id(view.release, view.target),
    )
    return "".join(
        (
            start,
            message_header(view),
            party_list(view),
            "<ResourceList>",
            *(sound_recording(view, recording) for recording in view.recordings),
            image(view, view.cover),
            "</ResourceList>",
            release_list(view),
            deal_list(view),
            "</ern:NewReleaseMessage>",
        )
    )


def party_list(view: MessageView) -> str:
    return f"<PartyList>{''.join(party(p) for p in view.parties)}</PartyList>"


def party(entry: PartyView) -> str:
    ids = ""
    if entry.isni or entry.ipi:
        isni = f"<ISNI>{x(entry.isni)}</ISNI>" if entry.isni else ""
        ipi = f"<IpiNameNumber>{ipi_name_number(entry.ipi)}</IpiNameNumber>" if entry.ipi else ""
        ids = f"<PartyId>{isni}{ipi}</PartyId>"
    return (
        "<Party>"
        f"<PartyReference>{entry.reference}</PartyReference>"
        f"<PartyName><FullName>{x(entry.name)}</FullName></PartyName>"
        f"{ids}"
        "</Party>"
    )


# --- pieces the resources and releases share ------------------------------------------------


def display_title(text: str, title: str, version: str | None) -> str:
    """DisplayTitleText (the full string) and DisplayTitle (title + version as SubTitle)."""
    subtitle = f'<SubTitle SubTitleType="Version">{x(version)}</SubTitle>' if version else ""
    return (
        f"<DisplayTitleText>{x(text)}</DisplayTitleText>"
        f"<DisplayTitle><TitleText>{x(title)}</TitleText>{subtitle}</DisplayTitle>"
    )


def display_artists(view: MessageView, name: str, credits: tuple[ArtistCredit, ...]) -> str:
    return _display_artists(name, credits, view.version, view.namespace)


@lru_cache(maxsize=1024)
def _display_artists(
    name: str, credits: tuple[ArtistCredit, ...], version: str, namespace: str
) -> str:
    artists = "".join(
        f'<DisplayArtist SequenceNumber="{sequence}">'
        f"<ArtistPartyReference>{credit.party.reference}</ArtistPartyReference>"
        + avs(
            "DisplayArtistRole",
            "DisplayArtistRole",
            display_artist_role(credit.role, version),
            version,
            namespace,
        )
        + "</DisplayArtist>"
        for sequence, credit in enumerate(credits, start=1)
    )
    return f"<DisplayArtistName>{x(name)}</DisplayArtistName>{artists}"


def contributors(view: MessageView, credits: tuple[ContributorCredit, ...]) -> str:
    return "".join(
        f'<Contributor SequenceNumber="{sequence}">'
        f"<ContributorPartyReference>{credit.party.reference}</ContributorPartyReference>"
        + "".join(
            avs("Role", "ContributorRole", role, view.version, view.namespace)
            for role in dict.fromkeys(contributor_role(n, view.version) for n in credit.roles)
        )
        + "</Contributor>"
        for sequence, credit in enumerate(credits, start=1)
    )


def parental_warning(view: MessageView, value: str) -> str:
    return avs("ParentalWarningType", "ParentalWarningType", value, view.version, view.namespace)


def hashed_file(name: str, md5: str, size: int) -> str:
    return (
        f"<File><URI>{x(name)}</URI>"
        f"<HashSum><Algorithm>MD5</Algorithm><HashSumValue>{md5}</HashSumValue></HashSum>"
        f"<FileSize>{size}</FileSize></File>"
    )


def not_provided(view: MessageView) -> str:
    """After a File the delivery does not carry (a takedown, a metadata-only update): the
    receiver keeps the file it has, which the File's MD5 names."""
    return "" if view.files_provided else "<IsProvidedInDelivery>false</IsProvidedInDelivery>"


def release_p_line(view: MessageView) -> str:
    return p_line(view.release.p_line.year, view.release.p_line.owner)


def recording_credits(view: MessageView, recording: RecordingView) -> str:
    """WorkId, titles, display artists and contributors: the part of a SoundRecording between
    its edition (4.3) or ids (4.2) and its PLine/Duration."""
    track = recording.track
    work = f"<WorkId><ISWC>{track.iswc}</ISWC></WorkId>" if track.iswc else ""
    return (
        work
        + display_title(recording.title_text, track.title, track.version)
        + display_artists(view, recording.display_artist_name, recording.artists)
        + contributors(view, recording.contributors)
    )


def recording_tail(view: MessageView, recording: RecordingView) -> str:
    """Duration, parental warning and language: how every SoundRecording ends (before 4.2's
    TechnicalDetails)."""
    return (
        f"<Duration>{duration(recording.track.duration)}</Duration>"
        + parental_warning(view, recording.parental_warning)
        + f"<LanguageOfPerformance>{x(recording.language)}</LanguageOfPerformance>"
    )


# --- image, releases, deals ----------------------------------------------------------------


def image(view: MessageView, cover: CoverView) -> str:
    return (
        "<Image>"
        f"<ResourceReference>{cover.reference}</ResourceReference>"
        "<Type>FrontCoverImage</Type>"
        f'<ResourceId><ProprietaryId Namespace="{xa(view.namespace)}">'
        f"{view.release.upc}_FrontCoverImage</ProprietaryId></ResourceId>"
        f"{c_line(view.release.c_line.year, view.release.c_line.owner)}"
        "<TechnicalDetails>"
        f"<TechnicalResourceDetailsReference>{cover.technical_reference}"
        "</TechnicalResourceDetailsReference>"
        f"{image_format(cover.image)}"
        f"{hashed_file(cover.file.name, cover.file.md5, cover.file.size)}"
        f"{not_provided(view)}"
        "</TechnicalDetails>"
        "</Image>"
    )


def release_list(view: MessageView) -> str:
    tracks = "".join(track_release(view, recording) for recording in view.recordings)
    return f"<ReleaseList>{main_release(view)}{tracks}</ReleaseList>"


def main_release(view: MessageView) -> str:
    release = view.release
    original = (
        f"<OriginalReleaseDate>{release.original_release_date}</OriginalReleaseDate>"
        if release.original_release_date
        else ""
    )
    release_type = release.effective_release_type()
    return (
        "<Release>"
        f"<ReleaseReference>{view.release_reference}</ReleaseReference>"
        + avs("ReleaseType", "ReleaseType", release_type, view.version, view.namespace)
        + f"<ReleaseId><ICPN>{release.upc}</ICPN>"
        + catalog_number(release, view.namespace)
        + "</ReleaseId>"
        + display_title(view.title_text, release.title, release.version)
        + display_artists(view, view.display_artist_name, view.artists)
        + f"<ReleaseLabelReference>{view.label.reference}</ReleaseLabelReference>"
        + p_line(release.p_line.year, release.p_line.owner)
        + c_line(release.c_line.year, release.c_line.owner)
        + f"<Duration>{duration(release.duration)}</Duration>"
        + genre(view.genre)
        + f"<ReleaseDate>{release.release_date}</ReleaseDate>"
        + original
        + parental_warning(view, release.parental_warning)
        + resource_group(view)
        + "</Release>"
    )


def resource_group(view: MessageView) -> str:
    """One group for the release; with several discs, one Component sub-group per disc. The
    cover is linked to the whole group."""
    if len(view.discs) == 1:
        body = "<SequenceNumber>1</SequenceNumber>" + content_items(view.discs[0])
    else:
        body = "".join(
            '<ResourceGroup ResourceGroupType="Component">'
            f"<SequenceNumber>{disc[0].disc}</SequenceNumber>{content_items(disc)}"
            "</ResourceGroup>"
            for disc in view.discs
        )
    cover = (
        f"<LinkedReleaseResourceReference>{view.cover.reference}</LinkedReleaseResourceReference>"
    )
    return f"<ResourceGroup>{body}{cover}</ResourceGroup>"


def content_items(recordings: tuple[RecordingView, ...]) -> str:
    return "".join(
        "<ResourceGroupContentItem>"
        f"<SequenceNumber>{r.number}</SequenceNumber>"
        f"<ReleaseResourceReference>{r.reference}</ReleaseResourceReference>"
        "</ResourceGroupContentItem>"
        for r in recordings
    )


def track_release(view: MessageView, recording: RecordingView) -> str:
    track = recording.track
    return (
        "<TrackRelease>"
        f"<ReleaseReference>{recording.release_reference}</ReleaseReference>"
        f'<ReleaseId><ProprietaryId Namespace="{xa(view.namespace)}">'
        f"{view.release.upc}_{track.isrc}</ProprietaryId></ReleaseId>"
        + display_title(recording.title_text, track.title, track.version)
        + f"<ReleaseResourceReference>{recording.reference}</ReleaseResourceReference>"
        f"<ReleaseLabelReference>{view.label.reference}</ReleaseLabelReference>"
        + genre(recording.genre)
        + "</TrackRelease>"
    )


def deal_list(view: MessageView) -> str:
    """All releases share the deals (one ReleaseDeal); pre-order deals, for the main release
    only, follow in their own. No deals at all: no DealList. A takedown's deal that never
    started is withdrawn: left out, never given a window."""
    regular, preorders = split_preorders(view.deals)
    terms = [deal_terms(view, deal) for deal in regular if not deal.never_live]
    return release_deal_list(view, terms, [deal_terms(view, deal) for deal in preorders])


def deal_terms(view: MessageView, deal: DealView) -> str:
    """A deal's terms. 4.x has no PreOrderReleaseDate: a pre-order deal is flagged
    IsPreOrderDeal (ERN 4 part 1, 6.19.8) and its ValidityPeriod starts on the day the pre-order
    opens; its instant-gratification tracks follow in InstantGratificationResourceList."""
    version, namespace = view.version, view.namespace
    end = f"<EndDate>{deal.end}</EndDate>" if deal.end else ""
    price = (
        f'<PriceInformation><PriceCode Namespace="{xa(namespace)}">{x(deal.price_tier)}'
        "</PriceCode></PriceInformation>"
        if deal.price_tier
        else ""
    )
    return (
        "<DealTerms>"
        + territories(deal, version)
        + f"<ValidityPeriod><StartDate>{deal.start}</StartDate>{end}</ValidityPeriod>"
        + "".join(
            avs("CommercialModelType", "CommercialModelType", model, version, namespace)
            for model in deal.commercial_models
        )
        + "".join(avs("UseType", "UseType", use, version, namespace) for use in deal.use_types)
        + price
        + ("<IsPreOrderDeal>true</IsPreOrderDeal>" if deal.preorder else "")
        + instant_grat_list(view, deal)
        + "</DealTerms>"
    )
