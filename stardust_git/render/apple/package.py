"""One delivery of a release to an apple target: the package and its fingerprint."""

from __future__ import annotations

import hashlib

from stardust_git.models import Release, Target
from stardust_git.render import Action, Package, PackageFile, RenderContext, RenderError, target_of
from stardust_git.render.apple.files import package_assets
from stardust_git.render.apple.spec import FORMAT, METADATA_FILE
from stardust_git.render.apple.xml import AlbumInput, album_xml, takedown_xml
from stardust_git.render.shared import render_date
from stardust_git.source.catalog import Catalog, Loaded

# --- the package -----------------------------------------------------------------------------


def render_apple_package(
    catalog: Catalog,
    loaded: Loaded[Release],
    target_name: str,
    action: Action,
    context: RenderContext,
    *,
    include_assets: bool = True,
    read_assets: bool = True,
) -> Package:
    """The package one delivery of ``loaded`` to the apple target ``target_name`` sends.

    ``include_assets=False`` renders a metadata-only update: no files beside ``metadata.xml``
    and no file elements in it (the deliver engine decides, from what was sent before).
    ``read_assets=False`` (``validate --no-assets``) renders that update without opening an
    asset file: its fingerprint is then the metadata's own, for checking, never for a plan.
    """
    target = apple_target(catalog, target_name)
    release = loaded.model
    vendor_id = vendor_id_of(target, release)
    folder = f"{vendor_id}.itmsp/"
    if action == "takedown":
        resources: tuple[PackageFile, ...] = ()
        full = takedown_xml(target, release, vendor_id)
        sent = full
    else:
        asset_files = package_assets(catalog.root, release, folder) if read_assets else None
        album = AlbumInput(catalog, loaded, target_name, target, vendor_id, render_date(context))
        full = album_xml(album, asset_files)
        sent = full if include_assets or asset_files is None else album_xml(album, None)
        resources = asset_files.all() if include_assets and asset_files is not None else ()
    message = PackageFile(
        folder + METADATA_FILE,
        "message",
        len(sent),
        hashlib.md5(sent, usedforsecurity=False).hexdigest(),
        data=sent,
    )
    return Package(
        upc=release.upc,
        target=target_name,
        action=action,
        format=FORMAT,
        release_id=vendor_id,
        message_id=f"{vendor_id}-{context.commit[:12]}",
        files=(*resources, message),
        fingerprint=hashlib.sha256(full).hexdigest(),
        assets_included=bool(resources),
    )


def apple_target(catalog: Catalog, target_name: str) -> Target:
    target = target_of(catalog, target_name)
    if target.format != "apple":
        raise RenderError(f"target '{target_name}' is not an apple target")
    return target


def vendor_id_of(target: Target, release: Release) -> str:
    """The package's vendor id: the target's prefix and the UPC."""
    return target.vendor_id_prefix + release.upc
