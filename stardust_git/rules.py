"""Business rules beyond the XSD, each with an id, checked on a rendered message (any ERN
version, ours or anyone's) or, where the message cannot show the problem, on the release.

The message rules read the tree once and do not care who wrote it, so they also run on the
official DDEX samples. Rules that depend on why a message is sent (a resend, a takedown) run only
when told the action.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree
from stdnum import ean, isrc

from stardust_git.models import Release

RULES: dict[str, str] = {
    "BR-REF-001": "every reference resolves to a party, resource, release or technical detail",
    "BR-ISRC-001": "every SoundRecording has a valid ISRC",
    "BR-ICPN-001": "the main release has a valid ICPN (or a GRid)",
    "BR-RES-001": "every resource belongs to a release",
    "BR-TERR-001": "deal territories do not contradict each other",
    "BR-DEAL-001": "resent live deals start in the past",
    "BR-TAKE-001": "a takedown's deals have ended in every time zone",
    "BR-PRE-001": "a pre-order opens before the deal's start date and the release date",
    "BR-PRE-002": "instant-grat tracks need a deal with a pre-order date",
    "BR-PRE-003": "not every track of a release is instant-grat",
    "DDEX-RP-6.1": "a message declaring a release profile has exactly one main release",
    "DDEX-RP-6.2": "an Audio message has one Track Release per primary resource and one cover",
    "DDEX-RP-6.5": "a SimpleAudioSingle message has one sound recording and no Track Release",
    "DDEX-RP-7.3": "a Track Release is identified by a GRid, an ICPN or a ProprietaryId",
    "DDEX-RP-9": "a Track Release holds one primary resource of the main release, no other",
}

# Which anchors each kind of reference points at (local names; ERN children are unqualified).
_USES = {
    "party": {
        "ArtistPartyReference",
        "ContributorPartyReference",
        "ReleaseLabelReference",
        "CharacterPartyReference",
        "RightsControllerPartyReference",
        "RecordCompanyPartyReference",
    },
    "resource": {
        "ReleaseResourceReference",
        "LinkedReleaseResourceReference",
        "DealResourceReference",
        "ResourceGroupResourceReference",
    },
    "release": {
        "DealReleaseReference",
        "ResourceGroupReleaseReference",
        "ResourceGroupContentItemReleaseReference",
    },
    "technical": {"DealTechnicalResourceDetailsReference"},
}
_KIND_OF_USE = {tag: kind for kind, tags in _USES.items() for tag in tags}
_RELEASE_USES = {
    "ReleaseResourceReference",
    "LinkedReleaseResourceReference",
    "ResourceGroupResourceReference",
}
_ISRC_PATHS = ("SoundRecordingEdition/ResourceId/ISRC", "ResourceId/ISRC", "SoundRecordingId/ISRC")


# python-stdnum's checks cost ~8 us each; the same codes come back on every render.
_valid_isrc = lru_cache(maxsize=65_536)(isrc.is_valid)
_valid_icpn = lru_cache(maxsize=65_536)(ean.is_valid)


@dataclass(frozen=True)
class RuleProblem:
    """One broken rule: its id, what is wrong, and where (an XML path or a release field)."""

    rule: str
    message: str
    path: str = ""
    loc: tuple[str | int, ...] = ()


def check_message(
    root: etree._Element, action: str | None = None, today: dt.date | None = None
) -> list[RuleProblem]:
    """Every rule that applies to a NewReleaseMessage; ``action`` ("update", "takedown") and
    ``today`` enable the rules about resent and taken-down deals."""
    if _local(root) != "NewReleaseMessage":
        return []
    problems = [
        *_references(root),
        *_isrcs(root),
        *_icpn(root),
        *_resources_in_releases(root),
        *_overlapping_deals(root),
        *_release_profile(root),
    ]
    if today is not None and action == "update":
        problems += _resent_deals_start_in_past(root, today)
    if today is not None and action == "takedown":
        problems += _takedown_without_live_deal(root, today)
    return problems


def check_release(release: Release) -> list[RuleProblem]:
    """Rules the message cannot show: a territory both included and excluded by one deal, and
    the pre-order rules (dates, instant-grat tracks)."""
    problems = []
    for index, deal in enumerate(release.deals):
        both = sorted(set(deal.territories) & set(deal.excluded_territories))
        if both:
            problems.append(
                RuleProblem(
                    "BR-TERR-001",
                    f"territories {', '.join(both)} are both included and excluded",
                    loc=("deals", index, "excluded_territories"),
                )
            )
    return [*problems, *_preorder_dates(release), *_instant_grat_tracks(release)]


# --- pre-orders: BR-PRE-001, BR-PRE-002, BR-PRE-003 ----------------------------------------


def _preorder_dates(release: Release) -> Iterator[RuleProblem]:
    for index, deal in enumerate(release.deals):
        opens = deal.preorder_date
        if opens is None:
            continue
        street = min(deal.start_date, release.release_date)
        if opens >= street:
            yield RuleProblem(
                "BR-PRE-001",
                f"the pre-order opens on {opens.isoformat()}, not before the deal's start date "
                f"({deal.start_date.isoformat()}) and the release date "
                f"({release.release_date.isoformat()})",
                loc=("deals", index, "preorder_date"),
            )


def _instant_grat_tracks(release: Release) -> Iterator[RuleProblem]:
    instant = [index for index, track in enumerate(release.tracks) if track.instant_grat]
    if not instant:
        return
    if not any(deal.preorder_date for deal in release.deals):
        for index in instant:
            yield RuleProblem(
                "BR-PRE-002",
                "an instant-grat track needs a pre-order: no deal has a preorder_date",
                loc=("tracks", index, "instant_grat"),
            )
    if len(instant) == len(release.tracks):
        yield RuleProblem(
            "BR-PRE-003",
            "every track is instant-grat: a pre-order must hold some track back for the "
            "street date",
            loc=("tracks", instant[-1], "instant_grat"),
        )


# --- BR-REF-001 ----------------------------------------------------------------------------
# Compiled XPath runs in libxml2: several times faster than walking the tree in Python.

_ANCHORS = {
    "party": etree.XPath("PartyList/Party/PartyReference/text()"),
    "resource": etree.XPath("ResourceList/*/ResourceReference/text()"),
    "release": etree.XPath("ReleaseList/*/ReleaseReference/text()"),
    "technical": etree.XPath("ResourceList//TechnicalResourceDetailsReference/text()"),
}
_RESOURCES = etree.XPath("ResourceList/*")
_RESOURCE_REFERENCE = etree.XPath("ResourceReference/text()")
_ISRC = etree.XPath(" | ".join(f"{path}/text()" for path in _ISRC_PATHS))


def _references(root: etree._Element) -> Iterator[RuleProblem]:
    anchors = {kind: {text.strip() for text in xpath(root)} for kind, xpath in _ANCHORS.items()}
    for element in root.iter(*_KIND_OF_USE):
        kind = _KIND_OF_USE[_local(element)]
        value = (element.text or "").strip()
        if value not in anchors[kind]:
            yield RuleProblem(
                "BR-REF-001",
                f"{_local(element)} '{value}' does not name any {kind} in the message",
                path_of(element),
            )


# --- BR-ISRC-001, BR-ICPN-001, BR-RES-001 --------------------------------------------------


def _first(texts: list[str]) -> str:
    return texts[0].strip() if texts else ""


def _isrcs(root: etree._Element) -> Iterator[RuleProblem]:
    for recording in root.iterfind("ResourceList/SoundRecording"):
        reference = _first(_RESOURCE_REFERENCE(recording))
        codes = _ISRC(recording)
        if not codes:
            yield RuleProblem(
                "BR-ISRC-001", f"SoundRecording {reference} has no ISRC", path_of(recording)
            )
        elif not _valid_isrc(codes[0].strip()):
            yield RuleProblem(
                "BR-ISRC-001",
                f"SoundRecording {reference}: '{codes[0].strip()}' is not a valid ISRC",
                path_of(recording),
            )


def _main_release(root: etree._Element) -> etree._Element | None:
    releases = root.findall("ReleaseList/Release")
    marked = [r for r in releases if r.get("IsMainRelease") == "true"]
    return (marked or releases or [None])[0]


def _icpn(root: etree._Element) -> Iterator[RuleProblem]:
    release = _main_release(root)
    if release is None:
        return
    ids = release.find("ReleaseId")
    icpn = ids.findtext("ICPN") if ids is not None else None
    if icpn is None:
        if ids is None or ids.find("GRid") is None:
            yield RuleProblem("BR-ICPN-001", "the main release has no ICPN", path_of(release))
    elif not (icpn.strip().isdigit() and _valid_icpn(icpn.strip())):
        yield RuleProblem(
            "BR-ICPN-001",
            f"the main release's ICPN '{icpn.strip()}' is not a valid UPC/EAN",
            path_of(ids),
        )


def _resources_in_releases(root: etree._Element) -> Iterator[RuleProblem]:
    releases = root.find("ReleaseList")
    found = releases.iter(*_RELEASE_USES) if releases is not None else ()
    used = {(element.text or "").strip() for element in found}
    for resource in _RESOURCES(root):
        reference = _first(_RESOURCE_REFERENCE(resource))
        if reference and reference not in used:
            yield RuleProblem(
                "BR-RES-001",
                f"{_local(resource)} {reference} belongs to no release",
                path_of(resource),
            )


# --- DDEX ERN 4 Release Profiles: DDEX-RP-* ---------------------------------------------------
# ERN 4 Part 2, "Release Profiles" (https://ern-rp.ddex.net, read 2026-12-06); each id is the
# clause it comes from. They bind only an ERN 4 message that declares a profile (clause 7.6.1).

_RP_SOURCE = "DDEX release profile rule"
_PRIMARY = etree.XPath("ResourceGroup//ResourceGroupContentItem/ReleaseResourceReference/text()")
_SECONDARY = etree.XPath(".//LinkedReleaseResourceReference/text()")
_TRACK_RELEASE_IDS = ("GRid", "ICPN", "ProprietaryId")


def _release_profile(root: etree._Element) -> Iterator[RuleProblem]:
    """The clause 6, 7.3 and 9 rules for the profile the message declares."""
    profile = root.get("ReleaseProfileVersionId")
    if not profile or "/ern/4" not in etree.QName(root).namespace:
        return
    mains = root.findall("ReleaseList/Release")
    if len(mains) != 1:
        where = path_of(root.find("ReleaseList") if mains else root)
        yield _rp("6.1", f"a message has exactly one main release, not {len(mains)}", where)
        return
    main, tracks = mains[0], root.findall("ReleaseList/TrackRelease")
    if profile == "Audio":
        yield from _audio_profile(root, main, tracks)
    elif profile == "SimpleAudioSingle":
        yield from _simple_audio_single(root, main, tracks)
    primary = set(_primary_resources(main))
    for track in tracks:
        yield from _track_release(primary, track)


def _rp(clause: str, message: str, path: str) -> RuleProblem:
    return RuleProblem(f"DDEX-RP-{clause}", f"{_RP_SOURCE} {clause}: {message}", path)


def _primary_resources(main: etree._Element) -> list[str]:
    return [text.strip() for text in _PRIMARY(main)]


def _front_covers(root: etree._Element, main: etree._Element) -> int:
    """How many FrontCoverImage images the main release carries as secondary resources."""
    linked = {text.strip() for text in _SECONDARY(main)}
    images = root.iterfind("ResourceList/Image")
    covers = (i for i in images if (i.findtext("Type") or "").strip() == "FrontCoverImage")
    return sum(1 for image in covers if _first(_RESOURCE_REFERENCE(image)) in linked)


def _audio_profile(
    root: etree._Element, main: etree._Element, tracks: list[etree._Element]
) -> Iterator[RuleProblem]:
    """Clause 6.2 (with 6.1): one Track Release per primary resource, one front cover image."""
    released = [(t.findtext("ReleaseResourceReference") or "").strip() for t in tracks]
    for reference in _primary_resources(main):
        count = released.count(reference)
        if count != 1:
            message = f"the Audio profile needs one Track Release of {reference}, found {count}"
            yield _rp("6.2", message, path_of(main))
    covers = _front_covers(root, main)
    if covers != 1:
        message = f"the Audio profile's main release has one FrontCoverImage, found {covers}"
        yield _rp("6.2", message, path_of(main))


def _simple_audio_single(
    root: etree._Element, main: etree._Element, tracks: list[etree._Element]
) -> Iterator[RuleProblem]:
    """Clause 6.5: one primary sound recording, at most one front cover, no Track Release."""
    primary = _primary_resources(main)
    if len(primary) != 1:
        message = f"a SimpleAudioSingle has one primary resource, found {len(primary)}"
        yield _rp("6.5", message, path_of(main))
    if _front_covers(root, main) > 1:
        yield _rp("6.5", "a SimpleAudioSingle has at most one FrontCoverImage", path_of(main))
    for track in tracks:
        yield _rp("6.5", "a SimpleAudioSingle has no Track Release", path_of(track))


def _track_release(primary: set[str], track: etree._Element) -> Iterator[RuleProblem]:
    """Clause 7.3 (how a Track Release is identified) and clause 9 (what it holds)."""
    ids = track.find("ReleaseId")
    if ids is None or not any(ids.find(kind) is not None for kind in _TRACK_RELEASE_IDS):
        message = "a Track Release is identified by a GRid, an ICPN or a ProprietaryId (an ISRC "
        yield _rp("7.3", message + "goes in a ProprietaryId)", path_of(track))
    reference = (track.findtext("ReleaseResourceReference") or "").strip()
    if reference not in primary:
        message = f"a Track Release holds a primary resource of the main release, not {reference}"
        yield _rp("9", message, path_of(track))
    if _SECONDARY(track):
        yield _rp("9", "a Track Release holds no secondary resources", path_of(track))


# --- deals: BR-TERR-001, BR-DEAL-001, BR-TAKE-001 ------------------------------------------


@dataclass(frozen=True)
class _Terms:
    element: etree._Element
    territories: tuple[str, ...]
    excluded: tuple[str, ...]
    models: tuple[str, ...]
    uses: tuple[str, ...]
    periods: tuple[tuple[dt.date | None, dt.date | None], ...]
    takedown: bool
    channel: tuple[str, ...]


def _deal_terms(root: etree._Element) -> Iterator[tuple[tuple[str, ...], _Terms]]:
    """(release references, terms) of every deal."""
    for release_deal in root.iterfind("DealList/ReleaseDeal"):
        references = tuple(sorted(_texts(release_deal, "DealReleaseReference")))
        for terms in release_deal.iterfind("Deal/DealTerms"):
            yield (
                references,
                _Terms(
                    element=terms,
                    territories=tuple(_values(terms, "TerritoryCode")),
                    excluded=tuple(_values(terms, "ExcludedTerritoryCode")),
                    models=tuple(_values(terms, "CommercialModelType")),
                    uses=tuple(_values(terms, "UseType") + _values(terms, "Usage/UseType")),
                    periods=tuple(_period(p) for p in terms.iterfind("ValidityPeriod")),
                    takedown=terms.findtext("TakeDown", "").strip() == "true",
                    channel=(
                        terms.findtext("IsPreOrderDeal", "").strip(),
                        *_values(terms, "DistributionChannel/*"),
                        *_values(terms, "ExcludedDistributionChannel/*"),
                    ),
                ),
            )


def _overlapping_deals(root: etree._Element) -> Iterator[RuleProblem]:
    periods: dict[tuple[object, ...], list[tuple[dt.date, dt.date, _Terms]]] = defaultdict(list)
    for references, terms in _deal_terms(root):
        if terms.takedown:
            continue
        places = terms.territories or [("except", *sorted(terms.excluded))]
        for place in places:
            for model in terms.models or (None,):
                for use in terms.uses or (None,):
                    key = (references, place, model, use, terms.channel)
                    for start, end in terms.periods:
                        periods[key].append((start or dt.date.min, end or dt.date.max, terms))
    for key, spans in periods.items():
        spans.sort(key=lambda span: (span[0], span[1]))
        for before, after in itertools.pairwise(spans):
            if after[0] <= before[1]:
                place = (
                    key[1]
                    if isinstance(key[1], str)
                    else "worldwide except " + ", ".join(key[1][1:])
                )
                yield RuleProblem(
                    "BR-TERR-001",
                    f"two deals for {place} ({key[2] or 'any model'}, {key[3] or 'any use'}) "
                    f"overlap: {_span(before)} and {_span(after)}",
                    path_of(after[2].element),
                )


def _live_terms(root: etree._Element, today: dt.date) -> Iterator[tuple[_Terms, dt.date | None]]:
    for _, terms in _deal_terms(root):
        if terms.takedown:
            continue
        for start, end in terms.periods:
            if (start is None or start <= today) and (end is None or end >= today):
                yield terms, start


def _resent_deals_start_in_past(root: etree._Element, today: dt.date) -> Iterator[RuleProblem]:
    for terms, start in _live_terms(root, today):
        if start is not None and start >= today:
            yield RuleProblem(
                "BR-DEAL-001",
                f"a resent live deal starts on {start.isoformat()}, not before {today.isoformat()} "
                "(a start of today is tomorrow in some time zones)",
                path_of(terms.element),
            )


TAKEDOWN_PAST_EVERYWHERE = dt.timedelta(days=2)
"""A takedown's deals end at least this long before today (UTC): yesterday is still today west
of UTC, so an end date is past in every time zone only from two days back."""


def _takedown_without_live_deal(root: etree._Element, today: dt.date) -> Iterator[RuleProblem]:
    """Every end-dated deal of a takedown is over everywhere (a future deal, one without an end
    and one ending yesterday are not); the 3.8.2 TakeDown form states no window and passes."""
    latest = today - TAKEDOWN_PAST_EVERYWHERE
    for _, terms in _deal_terms(root):
        ends = [end for _, end in terms.periods] or [None]
        if terms.takedown or all(end is not None and end <= latest for end in ends):
            continue
        places = ", ".join(terms.territories) or "worldwide"
        shown = ", ".join(end.isoformat() if end else "never" for end in ends)
        yield RuleProblem(
            "BR-TAKE-001",
            f"the takedown carries a deal ({places}) that is not over in every time zone on "
            f"{today.isoformat()}: it ends {shown}, not by {latest.isoformat()}",
            path_of(terms.element),
        )


# --- helpers -------------------------------------------------------------------------------


def _local(element: etree._Element) -> str:
    tag = element.tag
    return tag if tag[0] != "{" else etree.QName(tag).localname


def _texts(parent: etree._Element, path: str) -> set[str]:
    return {(e.text or "").strip() for e in parent.iterfind(path)}


def _values(parent: etree._Element, path: str) -> list[str]:
    """Allowed values as meant: UserDefined ones by their UserDefinedValue."""
    found = []
    for element in parent.iterfind(path):
        text = (element.text or "").strip()
        found.append(element.get("UserDefinedValue", text) if text == "UserDefined" else text)
    return found


def _period(element: etree._Element) -> tuple[dt.date | None, dt.date | None]:
    return (
        _date(element.findtext("StartDate") or element.findtext("StartDateTime")),
        _date(element.findtext("EndDate") or element.findtext("EndDateTime")),
    )


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    value = text.strip()[:10]
    while len(value) < 10 and len(value) in (4, 7):  # ddex_IsoDate allows "2024" and "2024-05"
        value += "-01"
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _span(span: tuple[dt.date, dt.date, _Terms]) -> str:
    start = "" if span[0] == dt.date.min else span[0].isoformat()
    end = "" if span[1] == dt.date.max else span[1].isoformat()
    return f"{start}..{end}"


def path_of(element: etree._Element) -> str:
    """/NewReleaseMessage/ResourceList/SoundRecording[2]: local names, positions where needed."""
    steps = []
    node: etree._Element | None = element
    while node is not None:
        parent = node.getparent()
        name = _local(node)
        if parent is not None:
            namesakes = [s for s in parent if s.tag == node.tag]
            if len(namesakes) > 1:
                name += f"[{namesakes.index(node) + 1}]"
        steps.append(name)
        node = parent
    return "/" + "/".join(reversed(steps))
