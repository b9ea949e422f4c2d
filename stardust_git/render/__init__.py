"""Rendering releases into the packages a target receives (DDEX ERN or Apple .itmsp).

A :class:`Package` is everything one delivery sends: resource files first, the message last.
Its ``fingerprint`` hashes the rendered content without the volatile header fields, so the plan
can tell a real change from a reformatted YAML file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Action = Literal["initial", "update", "takedown"]


@dataclass(frozen=True)
class RenderContext:
    """What a render depends on besides the catalog: the commit it is made from."""

    commit: str
    """The commit id (40 hex characters) the catalog was read at."""
    committed_at: dt.datetime
    """The commit's committer time (UTC); message creation times derive from it."""
    today: dt.date | None = None
    """The date deals are judged against (takedowns, resent start dates); commit date when None."""


@dataclass(frozen=True)
class PackageFile:
    """One file of a delivery."""

    name: str
    """Path inside the delivery folder, e.g. ``resources/1234567890128_01_001.wav`` or ``1234567890128.xml``."""
    kind: Literal["resource", "message"]
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

    @property
    def message(self) -> PackageFile:
        return next(f for f in self.files if f.kind == "message")

    @property
    def resources(self) -> tuple[PackageFile, ...]:
        return tuple(f for f in self.files if f.kind == "resource")
