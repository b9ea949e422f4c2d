"""Delivery protocols: one module each, behind the small :class:`Transport` interface.

Protocols are found through the ``stardust_git.protocols`` entry point group, so a plugin package
can add one without touching this project.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

from stardust_git.errors import UserError
from stardust_git.protocols.base import Transport

ENTRY_POINT_GROUP = "stardust_git.protocols"


@cache
def _registry() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def transport_class(protocol: str) -> type[Transport]:
    """The Transport class registered for ``protocol``."""
    entry = _registry().get(protocol)
    if entry is None:
        known = ", ".join(sorted(_registry()))
        raise UserError(f"no delivery protocol '{protocol}' is installed (known: {known})")
    return entry.load()  # type: ignore[attr-defined,no-any-return]


def open_transport(target_name: str, delivery: object, root: Path) -> Transport:
    """A connected-on-demand Transport for a target's delivery settings."""
    cls = transport_class(delivery.protocol)  # type: ignore[attr-defined]
    return cls(target_name, delivery, root)
