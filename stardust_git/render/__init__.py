"""Rendering releases into the packages a target receives (DDEX ERN or Apple .itmsp).

A :class:`Package` is everything one delivery sends: resource files first, the message last.
Its ``fingerprint`` hashes the rendered content without the volatile header fields, so the plan
can tell a real change from a reformatted YAML file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from stardust_git.errors import UserError

if TYPE_CHECKING:
    from stardust_git.models import Release, Target
    from stardust_git.source.catalog import Catalog, Loaded

Action = Literal["initial", "update", "takedown"]
ACTIONS: tuple[Action, ...] = ("initial", "update", "takedown")


@dataclass(frozen=True)
class RenderContext:
    """What a render depends on besides the catalog: the commit it is made from."""

    commit: str
    """The commit id (40 hex characters) the catalog was read at."""
    committed_at: dt.datetime
    """The commit's committer time (UTC); message creation times derive from it."""
    today: dt.date | None = None
    """The date deals are judged against (takedowns, resent start dates); commit date when None."""
    created_at: dt.datetime | None = None
    """The moment the message states as MessageCreatedDateTime (UTC, milliseconds): set per
    delivery by the deliver step, the same moment that names the package's folder
    (:func:`stardust_git.choreography.placement`); ``committed_at`` when None."""

    @property
    def created(self) -> dt.datetime:
        """The message's creation moment: ``created_at``, else the commit's time."""
        return self.created_at or self.committed_at


@dataclass(frozen=True)
class PackageFile:
    """One file of a delivery."""

    name: str
    """Path inside the delivery folder, e.g. ``resources/1234567890128_01_001.wav`` or
    ``1234567890128.xml``."""
    kind: Literal["resource", "message", "manifest"]
    """``manifest``: a batch's BatchComplete file, made by :mod:`stardust_git.choreography`."""
    size: int
    md5: str
    source: Path | None = None
    """The asset on disk (resources)."""
    data: bytes | None = None
    """Generated content (the message)."""


@dataclass(frozen=True)
class Package:
    """Everything one delivery of one release to one target sends."""

    upc: str
    target: str
    action: Action
    format: str
    """"ern/4.3", "ern/4.2", "ern/3.8.2" or "apple/5.3"."""
    release_id: str
    """The id that names the delivery folder (the UPC/ICPN)."""
    message_id: str
    files: tuple[PackageFile, ...]
    fingerprint: str
    sender: str | None = None
    """The sender's DDEX party id (ERN), for batch manifests."""
    recipient: str | None = None
    """The recipient's DDEX party id (ERN), for batch manifests."""
    test: bool = False
    """True when the message is a TestMessage."""
    withdrawn: frozenset[str] = frozenset()
    """Territories the message states as withdrawn (rendering it again must say the same)."""
    assets_included: bool = True
    """False when the package is the message alone (a takedown, a metadata-only update)."""

    @property
    def message(self) -> PackageFile:
        return next(f for f in self.files if f.kind == "message")

    @property
    def resources(self) -> tuple[PackageFile, ...]:
        return tuple(f for f in self.files if f.kind == "resource")


class RenderError(UserError):
    """A release that cannot be rendered for a target; ``loc`` points at the field to blame."""

    def __init__(self, message: str, loc: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.loc = loc


def target_of(catalog: Catalog, target_name: str) -> Target:
    """The target called ``target_name`` (a file in targets/)."""
    loaded = catalog.targets.get(target_name)
    if loaded is None:
        raise RenderError(f"unknown target '{target_name}' (no targets/{target_name}.yaml)")
    return loaded.model


def render_package(
    catalog: Catalog,
    loaded: Loaded[Release],
    target_name: str,
    action: Action,
    context: RenderContext,
    withdrawn_territories: frozenset[str] = frozenset(),
    include_assets: bool = True,
) -> Package:
    """Everything one delivery of ``loaded`` to ``target_name`` sends: resources, then the message.

    ``withdrawn_territories``: territories an earlier delivery had a deal for and the catalog no
    longer has; the message states explicitly that each has no deal any more (ERN only).
    ``include_assets``: False for the message alone (a metadata-only update: the target has the
    assets; a takedown never carries them). The message then states the files without sending
    them, and the fingerprint stays that of the full package.
    """
    target = target_of(catalog, target_name)
    if target.format == "apple":
        from stardust_git.render.apple import render_apple_package

        return render_apple_package(
            catalog, loaded, target_name, action, context, include_assets=include_assets
        )
    from stardust_git.render.ern_package import render_ern_package

    return render_ern_package(
        catalog, loaded, target_name, action, context, withdrawn_territories, include_assets
    )


def render_message(
    catalog: Catalog,
    loaded: Loaded[Release],
    target_name: str,
    action: Action,
    context: RenderContext,
    withdrawn_territories: frozenset[str] = frozenset(),
    include_assets: bool = True,
) -> bytes:
    """Just the message XML of :func:`render_package`."""
    target = target_of(catalog, target_name)
    if target.format == "apple":
        package = render_package(
            catalog, loaded, target_name, action, context, include_assets=include_assets
        )
        return package.message.data or b""
    from stardust_git.render.ern_package import build_view, render_view

    provided = include_assets and action != "takedown"
    return render_view(
        build_view(
            catalog, loaded, target_name, action, context, withdrawn_territories, True, provided
        )
    )
