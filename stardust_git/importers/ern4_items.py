"""One ERN 4.2/4.3 item (a Party, a SoundRecording, a Release, a ReleaseDeal ...) read into a
small plain dict, every element used marked on its :class:`ItemReader`.

4.2 keeps a SoundRecording's ISRC, P line and TechnicalDetails on the recording; 4.3 inside its
first SoundRecordingEdition. Values a version's allowed-value set lacks arrive as
``UserDefined`` with the value in ``UserDefinedValue``, and are read back as that value.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from stardust_git.importers import ern_common as common
from stardust_git.importers.xmlsafe import ItemReader
from stardust_git.render.ern import ArtistCredit, PartyView, display_artist_name, title_text

Parties = dict[str, dict[str, Any]]


def read_party(reader: ItemReader) -> tuple[str, dict[str, Any]]:
    """(reference, {name, isni, ipi}) of a PartyList Party."""
    reference = reader.text("PartyReference") or ""
    name = reader.text("PartyName/FullName") or ""
    ids = reader.find("PartyId")
    isni = reader.text("ISNI", ids) if ids is not None else None
    ipi = reader.text("IpiNameNumber", ids) if ids is not None else None
    return reference, common.party_dict(name, isni, ipi)


def read_title(reader: ItemReader) -> tuple[str | None, str | None]:
    """(title, version) from DisplayTitle (its TitleText and Version SubTitle), else from
    DisplayTitleText. DisplayTitleText counts as read when the catalog rebuilds it the same."""
    titles = reader.findall("DisplayTitle")
    chosen = next(
        (t for t in titles if t.get("IsDefault") == "true"), titles[0] if titles else None
    )
    full = reader.item.element.find("DisplayTitleText")
    if chosen is None:
        return (reader.text("DisplayTitleText"), None)
    reader.find(".", chosen)
    title = reader.text("TitleText", chosen)
    version = reader.text("SubTitle", chosen)
    if full is not None and (full.text or "").strip() == title_text(title or "", version):
        reader.mark(full)
    return title, version


def read_artists(reader: ItemReader, parties: Parties) -> list[dict[str, Any]]:
    """Display artists with their roles; DisplayArtistName counts as read when the catalog
    rebuilds it the same."""
    artists = []
    for element in reader.findall("DisplayArtist"):
        reference = reader.text("ArtistPartyReference", element)
        role = common.first_value(reader, "DisplayArtistRole", element)
        party = parties.get(reference or "")
        if party is None:
            continue
        reader.find(".", element)
        artists.append({"name": party["name"], "role": role or "MainArtist", **_ids(party)})
    _mark_display_name(reader, artists)
    return artists


def _ids(party: dict[str, Any]) -> dict[str, Any]:
    return {key: party[key] for key in ("isni", "ipi") if key in party}


def _mark_display_name(reader: ItemReader, artists: list[dict[str, Any]]) -> None:
    names = reader.findall("DisplayArtistName")
    credits = tuple(ArtistCredit(PartyView("", a["name"]), a["role"]) for a in artists)
    if names and (names[0].text or "").strip() == display_artist_name(credits):
        reader.mark(names[0])


def read_contributors(reader: ItemReader, parties: Parties, version: str) -> list[dict[str, Any]]:
    """One entry per contributor and role, roles named as the catalog names them."""
    contributors = []
    for element in reader.findall("Contributor"):
        party = parties.get(reader.text("ContributorPartyReference", element) or "")
        if party is None:
            continue
        reader.find(".", element)
        for role in common.allowed_values(reader, "Role", element):
            name = common.contributor_role_back(role, version)
            contributors.append({"name": party["name"], "role": name, **_ids(party)})
    return contributors


def read_file(reader: ItemReader, details: etree._Element | None) -> dict[str, Any]:
    """``{uri, md5, where}`` of the File in TechnicalDetails (4.3: in its DeliveryFile); the
    format details that describe the file count as read (the file itself carries them)."""
    if details is None:
        return {}
    reader.find(".", details)
    reader.text("TechnicalResourceDetailsReference", details)
    holder = reader.find("DeliveryFile", details)
    holder = details if holder is None else holder
    for tag in ("Type", *common.FILE_DETAILS):
        for element in reader.findall(tag, holder):
            reader.mark(element)
    file = reader.find("File", holder)
    if file is None or not reader.text("URI", file):
        return {}
    reader.mark(file)
    md5 = common.md5_value(
        file.findtext("HashSum/Algorithm") or file.findtext("HashSum/HashAlgorithmType"),
        file.findtext("HashSum/HashSumValue") or file.findtext("HashSum/HashSum"),
    )
    return {"uri": reader.text("URI", file), "md5": md5, "where": reader.xpath(file)}


def read_preview(reader: ItemReader, details: etree._Element | None) -> int | None:
    """Where the preview starts: 4.3 ClipDetails (ClipType Preview), 4.2 PreviewDetails."""
    if details is None:
        return None
    for clip in reader.findall("ClipDetails", details):
        if (clip.findtext("ClipType") or "").strip() == "Preview":
            return _start_point(reader, clip, "Timing/StartPoint")
    preview = reader.find("PreviewDetails", details)
    return _start_point(reader, preview, "StartPoint") if preview is not None else None


def _start_point(reader: ItemReader, element: etree._Element, path: str) -> int | None:
    text = element.findtext(path)
    try:
        start = round(float(text or ""))
    except ValueError:
        return None
    for tag in ("ClipType", "ExpressionType", "TechnicalResourceDetailsReference", path):
        for found in reader.findall(tag, element):
            reader.mark(found)
    reader.find(".", element)
    if path.startswith("Timing"):
        reader.find("Timing", element)
    return start


def read_recording(reader: ItemReader, parties: Parties, version: str) -> dict[str, Any]:
    """A SoundRecording's track fields (``ref`` and ``file`` besides)."""
    edition = reader.find("SoundRecordingEdition")
    base = edition if edition is not None else reader.item.element
    reader.find("ResourceId", base)
    reader.text("Type")
    details = reader.find("TechnicalDetails", base)
    title, track_version = read_title(reader)
    reader.find("WorkId")
    return {
        "ref": reader.text("ResourceReference"),
        "xpath": reader.item.xpath,
        "isrc": reader.text("ResourceId/ISRC", base),
        "title": title,
        "version": track_version,
        "duration": common.duration_seconds(reader.text("Duration")),
        "artists": read_artists(reader, parties),
        "contributors": read_contributors(reader, parties, version),
        "parental_warning": common.first_value(reader, "ParentalWarningType"),
        "iswc": reader.text("WorkId/ISWC"),
        "language": reader.text("LanguageOfPerformance"),
        "preview_start": read_preview(reader, details),
        "p_line": common.read_line(reader, "PLine", base),
        "file": read_file(reader, details),
    }


def read_image(reader: ItemReader) -> dict[str, Any]:
    """An Image: its reference, type, C line and file."""
    return {
        "ref": reader.text("ResourceReference"),
        "xpath": reader.item.xpath,
        "type": common.first_value(reader, "Type"),
        "c_line": common.read_line(reader, "CLine"),
        "file": read_file(reader, reader.find("TechnicalDetails")),
    }


Discs = list[tuple[int, list[str]]]


def read_groups(reader: ItemReader) -> tuple[Discs, list[str]]:
    """((disc number, resource references in order) per disc; linked references such as the
    cover) from a release's ResourceGroup: each sub-group is a disc numbered by its
    SequenceNumber, a group without sub-groups is disc 1."""
    top = reader.find("ResourceGroup")
    if top is None:
        return [], []
    discs: Discs = []
    direct = _content(reader, top)
    if direct:
        discs.append((1, direct))
    for position, group in enumerate(reader.findall("ResourceGroup", top), start=len(discs) + 1):
        number = reader.text("SequenceNumber", group) or ""
        disc = int(number) if number.isdigit() and 0 < int(number) < 100 else position
        discs.append((disc, _content(reader, group)))
    linked = [common.marked_text(reader, e) for e in top.iter("LinkedReleaseResourceReference")]
    return [d for d in discs if d[1]], [ref for ref in linked if ref]


def _content(reader: ItemReader, group: etree._Element) -> list[str]:
    reader.find(".", group)
    reader.text("SequenceNumber", group)
    references = []
    for item in reader.findall("ResourceGroupContentItem", group):
        reader.text("SequenceNumber", item)
        reference = reader.text("ReleaseResourceReference", item)
        if reference:
            references.append(reference)
    return references


def read_release(reader: ItemReader, parties: Parties) -> dict[str, Any]:
    """A Release or TrackRelease: its fields, references and where it sits."""
    ids = reader.find("ReleaseId")
    title, version = read_title(reader)
    label = reader.text("ReleaseLabelReference")
    discs, linked = read_groups(reader)
    own = reader.text("ReleaseResourceReference")
    reader.text("Duration")
    return {
        "ref": reader.text("ReleaseReference"),
        "line": reader.item.line,
        "xpath": reader.item.xpath,
        "icpn": reader.text("ICPN", ids) if ids is not None else None,
        "catalog_number": reader.text("CatalogNumber", ids) if ids is not None else None,
        "release_type": common.first_value(reader, "ReleaseType"),
        "title": title,
        "version": version,
        "artists": read_artists(reader, parties),
        "label": parties.get(label or "", {}).get("name"),
        "p_line": common.read_line(reader, "PLine"),
        "c_line": common.read_line(reader, "CLine"),
        "genre": common.read_genre(reader),
        "release_date": common.parse_date(reader.text("ReleaseDate")),
        "original_release_date": common.parse_date(reader.text("OriginalReleaseDate")),
        "parental_warning": common.first_value(reader, "ParentalWarningType"),
        "discs": discs or ([(1, [own])] if own else []),
        "linked": linked,
    }


def read_release_deal(reader: ItemReader) -> tuple[list[str], list[dict[str, Any]]]:
    """(the release references, the deals) of a ReleaseDeal."""
    references = [common.marked_text(reader, e) for e in reader.findall("DealReleaseReference")]
    deals = []
    for deal in reader.findall("Deal"):
        terms = deal.find("DealTerms")
        if terms is None:
            continue
        reader.find(".", deal)
        reader.find(".", terms)
        deals.append(_deal_terms(reader, terms))
    return references, deals


def _deal_terms(reader: ItemReader, terms: etree._Element) -> dict[str, Any]:
    period = reader.find("ValidityPeriod", terms)
    start = end = None
    if period is not None:
        start = reader.text("StartDate", period) or reader.text("StartDateTime", period)
        end = reader.text("EndDate", period) or reader.text("EndDateTime", period)
    price = reader.find("PriceInformation", terms)
    instant = [
        common.marked_text(reader, e)
        for e in reader.findall("InstantGratificationResourceList/DealResourceReference", terms)
    ]
    preorder = common.preorder_marks(reader.text("IsPreOrderDeal", terms), instant, None)
    return preorder | common.deal_dict(
        common.allowed_values(reader, "TerritoryCode", terms),
        common.allowed_values(reader, "ExcludedTerritoryCode", terms),
        common.allowed_values(reader, "CommercialModelType", terms),
        common.allowed_values(reader, "UseType", terms),
        common.parse_date(start),
        common.parse_date(end),
        reader.text("PriceCode", price) if price is not None else None,
    )
