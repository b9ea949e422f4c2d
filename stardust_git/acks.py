"""Acknowledgements: read the DSPs' ``ACK_*.xml`` files back and record them in the receipts.

DSPs answer a delivery with an acknowledgement file (the DDEX choreography's
FtpAcknowledgementMessage, or a look-alike) named ``ACK_<MessageId>_<timestamp>.xml``, in the
delivery's folder or in ``acknowledgements/``; a later one may change the status. Each is parsed
as untrusted XML (no DTD, no entities, no network) and read by local element names, so the
namespace and the exact message version do not matter. An acknowledgement belongs to a delivery
when it names the delivery's MessageId (in its file name, an OriginalMessageId, or the
acknowledged file's name) or when it lies in the delivery's own folder.

What a DSP writes is untrusted: a file over ``MAX_ACK_BYTES`` (1 MiB) is refused before it is
parsed, and every field kept in a receipt (status, ids, detail, file name) is cut to
``MAX_ACK_FIELD`` (1,000) characters, ending in an ellipsis.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from stardust_git.errors import UserError
from stardust_git.models import Target
from stardust_git.models.receipt import Acknowledgement, Delivery, Receipt
from stardust_git.protocols import open_transport
from stardust_git.protocols.base import PermanentError, RemoteFile, TransientError, Transport
from stardust_git.receipts import (
    merge_receipts,
    read_receipt_file,
    receipt_path,
    redact,
    secret_values,
    update_receipt,
)
from stardust_git.source.catalog import RECEIPTS_DIR, Catalog, load_targets
from stardust_git.xsd import parse_untrusted

ACK_FOLDER = "acknowledgements"
#: Real acknowledgements are a few KiB; anything over this is refused unparsed.
MAX_ACK_BYTES = 1 << 20
#: The longest text kept from an acknowledgement field, ellipsis included.
MAX_ACK_FIELD = 1_000
_ACK_NAME = re.compile(r"ACK_(?P<id>.+?)(?:_(?P<time>\d{8,}[\dTZ:.+-]*))?\.xml", re.IGNORECASE)
#: Where the status may stand, most specific first (ERN choreography, then look-alikes).
_STATUS_ELEMENTS = (
    "FileStatus",
    "MessageStatus",
    "AcknowledgementStatus",
    "ProcessingStatus",
    "Status",
    "AcknowledgementType",
)
_REFERENCE_ELEMENTS = ("OriginalMessageId", "AcknowledgedMessageId", "MessageIdOfOriginalMessage")
_DETAIL_ELEMENTS = ("ErrorText", "ErrorMessage", "Description", "Comment")
_UNREACHABLE_PROTOCOLS = {"api"}  # an API has no files to read back


@dataclass(frozen=True)
class AckDocument:
    """What one acknowledgement file says."""

    file: str
    """Its path on the target, relative to the target's folder."""
    status: str
    references: frozenset[str]
    """MessageIds and acknowledged file names (without .xml) it refers to."""
    message_id: str | None = None
    """The acknowledgement's own MessageId."""
    detail: str | None = None


@dataclass(frozen=True)
class RecordedAck:
    upc: str
    target: str
    status: str
    file: str
    message_id: str


@dataclass
class AckReport:
    """What a run of ``stardust-git acks`` found and recorded."""

    recorded: list[RecordedAck] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)
    """Receipt paths (relative to the root) that changed."""
    problems: list[str] = field(default_factory=list)
    """Files that are not acknowledgements we can read."""
    unreachable: list[str] = field(default_factory=list)
    """Targets that could not be reached or listed (why, without secrets)."""
    skipped: list[str] = field(default_factory=list)
    """Targets whose protocol has no files to read back."""


def is_ack_name(path: str) -> bool:
    return bool(_ACK_NAME.fullmatch(posixpath.basename(path)))


def parse_ack(data: bytes, file: str) -> AckDocument:
    """Parse one acknowledgement; UserError (XmlRejected) when it is not one we can read."""
    root = parse_untrusted(data)
    texts = _texts_by_name(root)
    status = next((texts[name][0] for name in _STATUS_ELEMENTS if texts.get(name)), None)
    if status is None:
        raise UserError(f"{file}: no status in the acknowledgement (looked for FileStatus etc.)")
    references = {text for name in _REFERENCE_ELEMENTS for text in texts.get(name, [])}
    references |= {_stem(name) for name in _acknowledged_files(root)}
    named = _ACK_NAME.fullmatch(posixpath.basename(file))
    if named:
        references.add(named.group("id"))
    details = [text for name in _DETAIL_ELEMENTS for text in texts.get(name, [])]
    message_id = _header_message_id(root)
    return AckDocument(
        file=capped(file),
        status=capped(status),
        references=frozenset(references),
        message_id=capped(message_id) if message_id else None,
        detail=capped("; ".join(details)) or None,
    )


def capped(text: str) -> str:
    """``text``, cut to ``MAX_ACK_FIELD`` characters with an ellipsis when longer."""
    return text if len(text) <= MAX_ACK_FIELD else text[: MAX_ACK_FIELD - 1] + "…"


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _texts_by_name(root: etree._Element) -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {}
    for element in root.iter():
        text = (element.text or "").strip()
        if text and len(element) == 0:
            texts.setdefault(_local(element), []).append(text)
    return texts


def _acknowledged_files(root: etree._Element) -> list[str]:
    return [
        (child.text or "").strip()
        for element in root.iter()
        if _local(element) == "AcknowledgedFile"
        for child in element.iter()
        if _local(child) == "FileName" and (child.text or "").strip()
    ]


def _header_message_id(root: etree._Element) -> str | None:
    for element in root.iter():
        if _local(element) == "MessageId" and _local(element.getparent()) == "MessageHeader":
            return (element.text or "").strip() or None
    return None


def _stem(file_name: str) -> str:
    name = posixpath.basename(file_name.replace("\\", "/"))
    return name[:-4] if name.lower().endswith(".xml") else name


# -- reading them back ----------------------------------------------------------------------


def read_acks(transport: Transport, folders: Iterable[str]) -> tuple[list[AckDocument], list[str]]:
    """Every acknowledgement in ``folders`` on the target, and the files that could not be read."""
    documents: list[AckDocument] = []
    problems: list[str] = []
    seen: set[str] = set()
    for folder in sorted(set(folders)):
        for remote in transport.list(folder):
            if remote.path in seen or not is_ack_name(remote.path):
                continue
            seen.add(remote.path)
            document = _read_one(transport, remote, problems)
            if document is not None:
                documents.append(document)
    return documents, problems


def _read_one(transport: Transport, remote: RemoteFile, problems: list[str]) -> AckDocument | None:
    if remote.size > MAX_ACK_BYTES:
        problems.append(_too_large(remote.path, remote.size))
        return None
    try:
        data = transport.read(remote.path)
        if len(data) > MAX_ACK_BYTES:  # the listing said less: still not parsed
            problems.append(_too_large(remote.path, len(data)))
            return None
        return parse_ack(data, remote.path)
    except UserError as error:
        problems.append(
            error.message
            if error.message.startswith(remote.path)
            else f"{remote.path}: {error.message}"
        )
        return None


def _too_large(path: str, size: int) -> str:
    return (
        f"{path}: {size:,} bytes is too large for an acknowledgement"
        f" (at most {MAX_ACK_BYTES:,}); not read"
    )


def delivery_folder(transport: Transport, delivery: Delivery) -> str | None:
    """The delivery's folder relative to the target (the engine records its location)."""
    base = transport.location("")
    if not delivery.location or not delivery.location.startswith(base):
        return None
    return delivery.location[len(base) :].strip("/") or None


# -- recording them -------------------------------------------------------------------------


def collect_acknowledgements(
    root: Path, target_names: list[str] | None = None, now: dt.datetime | None = None
) -> AckReport:
    """Read acknowledgements from each target and add the new ones to the receipts."""
    catalog = Catalog(root=root)
    load_targets(root, catalog)
    unknown = sorted(set(target_names or []) - set(catalog.targets))
    if unknown:
        raise UserError(f"no target named {', '.join(unknown)} in targets/")
    report = AckReport()
    received_at = now or dt.datetime.now(dt.UTC).replace(microsecond=0)
    for name in sorted(target_names or catalog.targets):
        target = catalog.targets[name].model
        if target.delivery.protocol in _UNREACHABLE_PROTOCOLS:
            report.skipped.append(name)
            continue
        _collect_for_target(root, name, target, received_at, report)
    return report


def _receipts_of(root: Path, target: str) -> dict[str, Receipt]:
    receipts: dict[str, Receipt] = {}
    for path in sorted((root / RECEIPTS_DIR).glob(f"*/{target}.json")):
        upc = path.parent.name
        receipt = read_receipt_file(path, receipt_path(upc, target))
        if receipt is not None:
            receipts[upc] = receipt
    return receipts


def _collect_for_target(
    root: Path, name: str, target: Target, received_at: dt.datetime, report: AckReport
) -> None:
    receipts = _receipts_of(root, name)
    transport = open_transport(name, target.delivery, root)
    try:
        with transport:
            folders = {"", ACK_FOLDER} | _delivery_folders(transport, receipts.values())
            documents, problems = read_acks(transport, folders)
            folder_of = {
                id(delivery): delivery_folder(transport, delivery)
                for receipt in receipts.values()
                for delivery in receipt.history
            }
    except (TransientError, PermanentError, UserError) as error:
        text = error.message if isinstance(error, UserError) else str(error)
        report.unreachable.append(f"{name}: {redact(text, secret_values(target.delivery))}")
        return
    report.problems.extend(f"{name}: {problem}" for problem in problems)
    for upc, receipt in receipts.items():
        added = _match(receipt, documents, folder_of, received_at)
        if not added:
            continue
        shown = update_receipt(root, upc, name, lambda now, r=receipt: merge_receipts([now, r]))
        report.receipts.append(shown)
        report.recorded.extend(
            RecordedAck(upc, name, ack.status, ack.file or "", message_id)
            for message_id, ack in added
        )


def _delivery_folders(transport: Transport, receipts: Iterable[Receipt]) -> set[str]:
    """The folder of each release's latest successful delivery, and its batch folder."""
    folders: set[str] = set()
    for receipt in receipts:
        last = receipt.last_success()
        folder = delivery_folder(transport, last) if last else None
        if folder:
            folders.add(folder)
            if "/" in folder:
                folders.add(posixpath.dirname(folder))
    return folders


def _match(
    receipt: Receipt,
    documents: list[AckDocument],
    folder_of: dict[int, str | None],
    received_at: dt.datetime,
) -> list[tuple[str, Acknowledgement]]:
    added: list[tuple[str, Acknowledgement]] = []
    for delivery in receipt.history:
        if delivery.status != "success" or not delivery.message_id:
            continue
        folder = folder_of.get(id(delivery))
        for document in documents:
            ours = delivery.message_id in document.references or (
                folder is not None and posixpath.dirname(document.file) == folder
            )
            known = any(
                ack.file == document.file and ack.status == document.status
                for ack in delivery.acknowledgements
            )
            if ours and not known:
                ack = Acknowledgement(
                    status=document.status,
                    message_id=document.message_id,
                    received_at=received_at,
                    file=document.file,
                    detail=document.detail,
                )
                delivery.acknowledgements.append(ack)
                added.append((delivery.message_id, ack))
    return added
