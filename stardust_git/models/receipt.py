"""A delivery receipt: receipts/<UPC>/<target>.json, the history of one release at one target.

Written only by the tool (after each delivery), committed back by CI. One file per release and
target, so concurrent delivery runs touch different files and rebase cleanly. Never a secret.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from stardust_git.models.docs import describe_fields

RECEIPT_SCHEMA_VERSION = 1


class _ReceiptModel(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first used

    def __init_subclass__(cls, **kwargs: Any) -> None:
        describe_fields(cls)  # see StrictModel
        super().__init_subclass__(**kwargs)


class SentFile(_ReceiptModel):
    """One file of a delivery, as it was sent."""

    name: str = Field(min_length=1)
    """Path inside the delivery folder, e.g. ``resources/1234567890128_01_001.wav``."""
    bytes: int = Field(ge=0)
    """Size in bytes."""
    md5: str = Field(pattern=r"^[0-9a-f]{32}$")
    """MD5 of the content, lower-case hex."""


class Acknowledgement(_ReceiptModel):
    """An acknowledgement read back from the DSP (a DDEX ACK / Apple status file)."""

    status: str = Field(min_length=1)
    """What the DSP said, e.g. ``FileOK``, ``ProcessedOK``, ``ErrorInFile``."""
    message_id: str | None = None
    """The id of the acknowledgement message."""
    received_at: dt.datetime
    """When the acknowledgement was read back (UTC)."""
    file: str | None = None
    """The remote file it was read from."""
    detail: str | None = None
    """Any explanation the DSP gave."""


class Delivery(_ReceiptModel):
    """One attempt to deliver a release to a target (successful or failed)."""

    message_id: str
    """The MessageId of the message sent (empty when rendering failed)."""
    action: Literal["initial", "update", "takedown"]
    """What was sent."""
    commit: str = Field(pattern=r"^[0-9a-f]{40}$")
    """The commit the catalog was read at."""
    format: str
    """The package format and version, e.g. ``ern/4.3`` or ``apple/5.3``."""
    files: list[SentFile] = []
    """The files actually sent (a takedown or a metadata-only update: the message alone), with
    sizes and MD5s; for a failed delivery, the files it was sending."""
    location: str = ""
    """Where the package went (a URL without credentials)."""
    started: dt.datetime
    """When the delivery began (UTC)."""
    finished: dt.datetime
    """When it ended (UTC)."""
    attempts: int = Field(ge=0)
    """Upload attempts made (retries on transient errors included)."""
    status: Literal["success", "failed"]
    """Whether every file arrived."""
    error: str | None = None
    """Why a failed delivery failed (never a secret)."""
    fingerprint: str = ""
    """Hash of the rendered content without volatile header fields; "changed" compares it."""
    inputs: str = ""
    """Digest of everything the rendering read (release, target, genre map, asset ids, renderer
    version): when it is unchanged, so is the fingerprint, and the plan need not render again."""
    renderer: str = Field(default="", exclude_if=lambda digest: not digest)
    """Digest of the stardust-git code that rendered the delivery (part of ``inputs``): lets
    the plan tell an upgrade that changes the output from a change of the catalog. Left out
    of the file when empty."""
    acknowledgements: list[Acknowledgement] = []
    """Acknowledgements read back from the DSP, oldest first."""
    placed_at: dt.datetime | None = Field(default=None, exclude_if=lambda moment: moment is None)
    """The moment the package states (UTC, milliseconds): its folder's timestamp (a batch's
    id) and the message's MessageCreatedDateTime. The next delivery of the release to the
    target is placed strictly later, whatever the commit dates. Absent in receipts written
    before it existed (the folder's timestamp in ``location``, else ``started``, stands in) and
    for a delivery that failed before anything was placed."""
    remote: dict[str, str] = Field(default={}, exclude_if=lambda facts: not facts)
    """What the DSP's side said about the delivery, e.g. ``api_delivery_id`` (the id an HTTP
    API assigned); never a secret. Left out of the file when empty, so receipts written before
    it existed keep their bytes."""
    imported: bool = Field(default=False, exclude_if=lambda imported: not imported)
    """True for a baseline written by ``stardust-git import --delivered-to``: the release was
    delivered before the catalog moved to stardust-git (by the previous distributor), nothing
    was sent. Left out of the file when False, so other receipts keep their bytes."""
    resend: bool = Field(default=False, exclude_if=lambda asked: not asked)
    """Sent again on request (``deliver --resend``): the full package, assets included, as an
    update though nothing changed. Left out of the file when false."""
    reason: str = Field(default="", exclude_if=lambda text: not text)
    """Why it was sent again (``deliver --reason``), e.g. the shop's ticket. Left out of the
    file when empty."""


class Receipt(_ReceiptModel):
    """The delivery history of one release at one target."""

    schema_version: Literal[1] = RECEIPT_SCHEMA_VERSION
    """The receipt format version."""
    upc: str = Field(pattern=r"^\d{12,13}$")
    """The release's UPC/EAN."""
    target: str = Field(min_length=1)
    """The target's name (its file name in targets/)."""
    history: list[Delivery] = []
    """Every delivery attempt, oldest first."""

    def last(self) -> Delivery | None:
        """The most recent delivery attempt."""
        return self.history[-1] if self.history else None

    def last_success(self) -> Delivery | None:
        """The most recent successful delivery."""
        return next((d for d in reversed(self.history) if d.status == "success"), None)
