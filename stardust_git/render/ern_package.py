"""Rendering a release for an ERN target: the view, the XML of its version, and the package.

Identifiers derive from the commit, never from the clock or chance: MessageThreadId from the UPC
and the target, MessageId from the commit, UPC and target, MessageCreatedDateTime from the
context's creation moment (the commit's time, or the placement moment deliver derives from the
commit and the receipt). The same release, target, commit and receipts give byte-identical XML.

A takedown, and an update sent without its assets, is the message alone: every file is still
described (technical details, name, MD5), but ERN 4.x marks it ``IsProvidedInDelivery`` false
and 3.8.2 (whose File cannot say that) leaves the File out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from stardust_git.models import Release, Target
from stardust_git.render import (
    Action,
    Package,
    PackageFile,
    RenderContext,
    RenderError,
    ern42,
    ern43,
    ern382,
    hooks,
    target_of,
)
from stardust_git.render.deals import deal_views
from stardust_git.render.ern import (
    CoverView,
    MessageView,
    RecordingView,
    display_artist_name,
    finish,
    title_text,
)
from stardust_git.render.genres import GenreValue, genre_value, release_label
from stardust_git.render.media import Asset, audio_asset, image_asset
from stardust_git.render.parties import PartyRegistry
from stardust_git.render.shared import render_date, track_order, utc
from stardust_git.source.catalog import Catalog, Loaded

WRITERS: dict[str, Callable[[MessageView], str]] = {
    "3.8.2": ern382.message,
    "4.2": ern42.message,
    "4.3": ern43.message,
}
FORMATS = {"3.8.2": "ern/3.8.2", "4.2": "ern/4.2", "4.3": "ern/4.3"}
RESOURCES = "resources"
AUDIO_EXTENSIONS = {"wav": "wav", "flac": "flac", "mp3": "mp3"}
IMAGE_EXTENSIONS = {"jpeg": "jpg", "png": "png"}


# --- identifiers and dates -----------------------------------------------------------------


def created_date_time(context: RenderContext) -> str:
    """MessageCreatedDateTime: the creation moment in UTC, always with milliseconds and Z."""
    created = utc(context.created)
    return created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z"


def thread_id(upc: str, target_name: str) -> str:
    return f"{upc}-{re.sub(r'[^A-Za-z0-9._-]', '_', target_name)}"


def message_id(commit: str, upc: str, target_name: str) -> str:
    digest = hashlib.sha256(f"{commit}\0{upc}\0{target_name}".encode()).hexdigest()
    return f"{upc}-{commit[:12]}-{digest[:8]}"


# --- the view ------------------------------------------------------------------------------


def build_view(
    catalog: Catalog,
    loaded: Loaded[Release],
    target_name: str,
    action: Action,
    context: RenderContext,
    withdrawn: frozenset[str] = frozenset(),
    resend_in_past: bool = True,
    files_provided: bool = True,
) -> MessageView:
    target = target_of(catalog, target_name)
    if target.format != "ern" or target.ern_version is None or target.sender is None:
        raise RenderError(f"target '{target_name}' is not an ERN target")
    release = loaded.model
    registry = PartyRegistry()
    artists = registry.artists(release.artists)
    label = registry.party(release.label)
    genre_where = release_label(loaded, target_name)
    recordings = _recordings(catalog, target, release, registry, genre_where)
    return MessageView(
        version=target.ern_version,
        target=target,
        release=release,
        action=action,
        thread_id=thread_id(release.upc, target_name),
        message_id=message_id(context.commit, release.upc, target_name),
        created=created_date_time(context),
        namespace=target.sender.party_id,
        parties=registry.all,
        label=label,
        artists=artists,
        title_text=title_text(release.title, release.version),
        display_artist_name=display_artist_name(artists),
        recordings=recordings,
        discs=_discs(recordings),
        cover=_cover(catalog.root, release, len(recordings) + 1),
        genre=genre_value(catalog, target, release.genre, genre_where),
        deals=deal_views(
            release,
            action,
            render_date(context),
            withdrawn,
            resend_in_past,
            target.takedown_end_days_ago,
        ),
        files_provided=files_provided,
    )


def _recordings(
    catalog: Catalog,
    target: Target,
    release: Release,
    registry: PartyRegistry,
    genre_where: str,
) -> tuple[RecordingView, ...]:
    views = []
    for sequence, (index, disc, number) in enumerate(track_order(release.tracks), start=1):
        track = release.tracks[index]
        asset = audio_asset(catalog.root, track.audio, ("tracks", index, "audio"))
        audio = asset.info
        name = f"{RESOURCES}/{release.upc}_{disc:02}_{number:03}.{AUDIO_EXTENSIONS[audio.kind]}"
        artists = registry.artists(track.artists or release.artists)
        views.append(
            RecordingView(
                reference=f"A{sequence}",
                technical_reference=f"T{sequence}",
                release_reference=f"R{sequence}",
                track=track,
                track_index=index,
                disc=disc,
                number=number,
                file=_resource(name, asset),
                audio=audio,
                title_text=title_text(track.title, track.version),
                display_artist_name=display_artist_name(artists),
                artists=artists,
                contributors=registry.contributors(track.contributors),
                genre=_track_genre(catalog, target, release, index, genre_where),
                parental_warning=track.parental_warning or release.parental_warning,
                language=track.language or release.language,
            )
        )
    return tuple(views)


def _track_genre(
    catalog: Catalog, target: Target, release: Release, index: int, genre_where: str
) -> GenreValue:
    track = release.tracks[index]
    if not track.genre:
        return genre_value(catalog, target, release.genre, genre_where)
    return genre_value(catalog, target, track.genre, genre_where, index)


def _discs(recordings: tuple[RecordingView, ...]) -> tuple[tuple[RecordingView, ...], ...]:
    discs: dict[int, list[RecordingView]] = {}
    for recording in recordings:
        discs.setdefault(recording.disc, []).append(recording)
    return tuple(tuple(group) for group in discs.values())


def _cover(root: Path, release: Release, sequence: int) -> CoverView:
    asset = image_asset(root, release.cover, ("cover",))
    name = f"{RESOURCES}/{release.upc}.{IMAGE_EXTENSIONS[asset.info.kind]}"
    return CoverView(f"A{sequence}", f"T{sequence}", _resource(name, asset), asset.info)


def _resource(name: str, asset: Asset) -> PackageFile:
    return PackageFile(
        name=name, kind="resource", size=asset.info.bytes, md5=asset.md5, source=asset.path
    )


# --- rendering -----------------------------------------------------------------------------


def render_view(view: MessageView) -> bytes:
    """The message of ``view``, after the installed render hooks (:mod:`.hooks`)."""
    return hooks.apply(finish(WRITERS[view.version](view)), view.release, view.target)


def render_ern_package(
    catalog: Catalog,
    loaded: Loaded[Release],
    target_name: str,
    action: Action,
    context: RenderContext,
    withdrawn_territories: frozenset[str] = frozenset(),
    include_assets: bool = True,
) -> Package:
    """The package: the resources (unless ``include_assets`` is False or it is a takedown), then
    the message."""
    sent_assets = include_assets and action != "takedown"
    view = build_view(
        catalog, loaded, target_name, action, context, withdrawn_territories, True, sent_assets
    )
    xml = render_view(view)
    resources = (*(r.file for r in view.recordings), view.cover.file)
    message = PackageFile(
        name=f"{view.release.upc}.xml",
        kind="message",
        size=len(xml),
        md5=hashlib.md5(xml, usedforsecurity=False).hexdigest(),
        data=xml,
    )
    content_view = replace(view, files_provided=True)
    if action == "update":
        # The resend rule moves live start dates to yesterday; the fingerprint ignores that, so
        # an update and the initial delivery of unchanged content fingerprint the same.
        days = view.target.takedown_end_days_ago
        deals = deal_views(
            view.release, action, render_date(context), withdrawn_territories, False, days
        )
        content_view.deals = deals
    same = content_view.deals == view.deals and sent_assets
    content = xml if same else render_view(content_view)
    target = view.target
    return Package(
        upc=view.release.upc,
        target=target_name,
        action=action,
        format=FORMATS[view.version],
        release_id=view.release.upc,
        message_id=view.message_id,
        files=(*resources, message) if sent_assets else (message,),
        fingerprint=fingerprint(content, view, resources),
        sender=target.sender.party_id if target.sender else None,
        recipient=target.recipient.party_id if target.recipient else None,
        test=target.message_control_type == "TestMessage",
        withdrawn=withdrawn_territories,
        assets_included=sent_assets,
    )


_VOLATILE = (b"MessageId", b"MessageCreatedDateTime", b"UpdateIndicator")


def fingerprint(xml: bytes, view: MessageView, resources: tuple[PackageFile, ...]) -> str:
    """SHA-256 of the message without its volatile header fields (message id, creation time,
    3.8.2 update indicator), plus each resource file's name and MD5."""
    digest = hashlib.sha256(blank_volatile(xml))
    for file in resources:
        digest.update(f"\0{file.name}\0{file.md5}".encode())
    return digest.hexdigest()


def blank_volatile(xml: bytes) -> bytes:
    for tag in _VOLATILE:
        xml = re.sub(rb"<" + tag + rb">[^<]*</" + tag + rb">", b"<" + tag + b"/>", xml, count=1)
    return xml
