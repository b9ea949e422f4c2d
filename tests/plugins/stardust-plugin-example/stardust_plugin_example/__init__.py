"""An example stardust-git plugin.

- ``example-shop``: a DSP profile (a target names it as ``profile: example-shop``) with one
  rule: Example Shop sells downloads only, so any other commercial model is a warning.
- ``drop``: a delivery protocol that writes into the folder a target names as ``folder``
  (``delivery: {protocol: drop, folder: dropbox}``), relative to the repository root.
- ``example-audit-trail``: a render hook that adds a DDEX MessageAuditTrail naming this plugin to
  every ERN 4.3 message header (XSD-valid); with STARDUST_EXAMPLE_HOOK_BREAK=1 it also adds an
  element no XSD allows, to show that a hook cannot get a broken message past validation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from lxml import etree

from stardust_git.protocols.local import LocalProtocol

PARTY_ID = "PADPIDA2026120601X"
PARTY_NAME = "Example Plugin"


class DropProtocol(LocalProtocol):
    """Local delivery into ``delivery.folder``."""

    protocol: ClassVar[str] = "drop"

    @property
    def base(self) -> Path:
        folder = Path(self.settings.folder)  # type: ignore[attr-defined]
        return folder if folder.is_absolute() else self.root / folder

    def location(self, remote_path: str) -> str:
        folder = self.settings.folder.rstrip("/")  # type: ignore[attr-defined]
        return f"drop:{folder}/{remote_path.lstrip('/')}"


def add_audit_trail(message: etree._Element, release: Any, target: Any) -> None:
    """After MessageCreatedDateTime: one audit trail event, this plugin at the creation time."""
    header = _child(message, "MessageHeader")
    created = _child(header, "MessageCreatedDateTime") if header is not None else None
    if created is None:  # not an ERN message (an Apple package): nothing to add
        return
    trail = etree.Element("MessageAuditTrail")
    event = etree.SubElement(trail, "MessageAuditTrailEvent")
    party = etree.SubElement(event, "MessagingPartyDescriptor")
    etree.SubElement(party, "PartyId").text = PARTY_ID
    etree.SubElement(etree.SubElement(party, "PartyName"), "FullName").text = PARTY_NAME
    etree.SubElement(event, "DateTime").text = created.text
    created.addnext(trail)
    if os.environ.get("STARDUST_EXAMPLE_HOOK_BREAK") == "1":
        header.append(etree.Element("NotInTheSchema"))  # type: ignore[union-attr]


def _child(parent: etree._Element, name: str) -> etree._Element | None:
    return next((child for child in parent if etree.QName(child).localname == name), None)


def profile() -> dict[str, Any]:
    """The example-shop profile, in the profile file format."""
    return {
        "name": "example-shop",
        "title": "Example Shop",
        "version": 1,
        "read": "2026-12-06",
        "rules": [
            {
                "id": "EXAMPLESHOP-DEAL-001",
                "level": "warning",
                "message": "Example Shop sells downloads only",
                "source": {"url": "https://shop.example.com/delivery-spec", "read": "2026-12-06"},
                "check": "deal_commercial_models",
                "params": {"allowed": ["PayAsYouGoModel"]},
            }
        ],
    }
