"""Where the files of a delivery go, and in which order (DDEX ERN choreography, SFTP/cloud).

Release-by-release: one folder per delivery, ``<P|N|L>_<ReleaseId>_<YYYYMMDDhhmmssnnn>``, holding
``resources/`` and the message, resources first and the XML last. Batch: one folder
``<P|N>_<BatchId>`` with a sub-folder per release, and ``BatchComplete_<BatchId>.xml`` written
strictly last. The deliver step uses :func:`layout` for every protocol; everything but
:func:`package_as_sent` (which renders) is pure.

Order: receivers apply the deliveries of a release in folder-timestamp (and MessageCreatedDateTime)
order, so :func:`placement` makes that moment strictly increase per release and target, whatever
the commit dates (two commits in one second, a rebase, a skewed clock): the later of the commit's
moment and one millisecond after the last placement the receipt records. It reads only the commit
and the receipt, so rendering again gives the same moment, and a rerun after a failed upload
resumes in the folder that attempt used.

Payload: :func:`sends_assets` decides whether a delivery carries the audio and the cover again
(a takedown never does; an update only when they changed since the target last received them).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lxml import etree

from stardust_git.models.receipt import Delivery
from stardust_git.render import Action, Package, PackageFile, RenderContext

if TYPE_CHECKING:
    from stardust_git.models import Release
    from stardust_git.source.catalog import Catalog, Loaded

RELEASE_BY_RELEASE = "release-by-release"
BATCH = "batch"
PRIORITIES = ("P", "N", "L")
# The batch profile knows priority and normal batches only; a low-priority batch is a normal one.
BATCH_PREFIXES = {"P": "P", "N": "N", "L": "N"}
DELIVERY_TYPES = {"initial": "NewReleaseDelivery", "update": "ReDelivery", "takedown": "TakeDown"}
MANIFEST_NAMESPACE = "http://ddex.net/xml/ech/12"
ONE_MILLISECOND = dt.timedelta(milliseconds=1)
# The timestamp of a folder this module named, in a receipt's location: release-by-release
# <P|N|L>_<ReleaseId>_<ts>, or a batch <P|N>_<ts> (its release sub-folder may follow).
_FOLDER_TIMESTAMP = re.compile(r"(?:^|[/:])[PMNL]_(?:[^/]*_)?(\d{17})(?=/|$)")


def _to_utc_millisecond(moment: dt.datetime) -> dt.datetime:
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def commit_moment(commit: str, committed_at: dt.datetime) -> dt.datetime:
    """The commit's time plus milliseconds taken from the commit id: two commits made in the
    same second still name different folders."""
    milliseconds = int(commit[:8], 16) % 1000
    return _to_utc_millisecond(committed_at) + dt.timedelta(milliseconds=milliseconds)


def parse_timestamp(text: str) -> dt.datetime:
    """The moment a YYYYMMDDhhmmssnnn timestamp names (UTC)."""
    moment = dt.datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    return moment + dt.timedelta(milliseconds=int(text[14:17]))


def placed_moment(delivery: Delivery) -> dt.datetime | None:
    """When ``delivery`` was placed, as far as its record tells: ``placed_at``; for a successful
    delivery recorded before that field existed, the later of its folder's timestamp and its
    start (a failed one without ``placed_at`` never got that far)."""
    if delivery.placed_at is not None:
        return _to_utc_millisecond(delivery.placed_at)
    if delivery.status != "success":
        return None
    found = [_to_utc_millisecond(delivery.started)]
    folder = _FOLDER_TIMESTAMP.search(delivery.location)
    if folder:
        found.append(parse_timestamp(folder.group(1)))
    return max(found)


def resumed_moment(history: Sequence[Delivery], commit: str) -> dt.datetime | None:
    """The moment of an attempt to resume: the last one failed, at this commit, once placed."""
    last = history[-1] if history else None
    if last is None or last.status != "failed" or last.commit != commit:
        return None
    return _to_utc_millisecond(last.placed_at) if last.placed_at else None


def placement(commit: str, committed_at: dt.datetime, history: Sequence[Delivery]) -> dt.datetime:
    """The moment a delivery of ``commit`` states (folder timestamp, MessageCreatedDateTime),
    given the receipt's ``history`` for that release and target: the failed attempt it resumes,
    else the later of the commit's moment and 1 ms after every placement recorded."""
    resumed = resumed_moment(history, commit)
    before = history[:-1] if resumed is not None else history
    earlier = [m for m in map(placed_moment, before) if m is not None]
    moment = max([commit_moment(commit, committed_at), *(m + ONE_MILLISECOND for m in earlier)])
    # a history merged from concurrent runs may hold a later placement before the failed attempt
    return resumed if resumed is not None and resumed >= moment else moment


def assets_at_target(history: Sequence[Delivery]) -> dict[str, str]:
    """File name -> MD5 of what the target holds: the files of the successful deliveries since
    the last takedown (after one, a DSP may have dropped them)."""
    held: dict[str, str] = {}
    for delivery in history:
        if delivery.status != "success":
            continue
        if delivery.action == "takedown":
            held = {}
            continue
        held.update((file.name, file.md5) for file in delivery.files)
    return held


def package_as_sent(
    catalog: Catalog,
    loaded: Loaded[Release],
    target_name: str,
    action: Action,
    context: RenderContext,
    history: Sequence[Delivery],
    withdrawn: frozenset[str] = frozenset(),
    full: bool = False,
) -> Package:
    """The package a delivery sends, created at ``context.created_at`` (see :func:`placement`):
    the full package (always with ``full``: a resend), or the message alone when
    :func:`sends_assets` says so."""
    from stardust_git.render import render_package

    package = render_package(catalog, loaded, target_name, action, context, withdrawn)
    resend = catalog.targets[target_name].model.resend_assets
    if full or not package.assets_included or sends_assets(action, resend, history, package):
        return package
    return render_package(
        catalog, loaded, target_name, action, context, withdrawn, include_assets=False
    )


def sends_assets(
    action: str, resend_assets: str, history: Sequence[Delivery], package: Package
) -> bool:
    """Whether the delivery of ``package`` (rendered with its assets) carries them: never for a
    takedown; for an update, with ``resend_assets: changed``, only when one differs from what the
    target holds."""
    if action == "takedown":
        return False
    if action == "initial" or resend_assets == "always":
        return True
    held = assets_at_target(history)
    return any(held.get(file.name) != file.md5 for file in package.resources)


def timestamp(moment: dt.datetime) -> str:
    """YYYYMMDDhhmmssnnn in UTC (milliseconds)."""
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return utc.strftime("%Y%m%d%H%M%S") + f"{utc.microsecond // 1000:03d}"


def release_folder(package: Package, priority: str, placed_at: dt.datetime) -> str:
    """``<P|N|L>_<ReleaseId>_<YYYYMMDDhhmmssnnn>``: one release-by-release delivery's folder."""
    return f"{_priority(priority)}_{package.release_id}_{timestamp(placed_at)}"


def batch_id(placed_at: dt.datetime) -> str:
    """A batch is named by its creation time."""
    return timestamp(placed_at)


def batch_folder(batch_id: str, priority: str = "N") -> str:
    return f"{BATCH_PREFIXES[_priority(priority)]}_{batch_id}"


def layout(
    packages: list[Package], choreography: str, priority: str, placed_at: dt.datetime
) -> list[tuple[str, PackageFile]]:
    """Remote paths of every file, in upload order."""
    if choreography == RELEASE_BY_RELEASE:
        return _release_by_release(packages, priority, placed_at)
    if choreography == BATCH:
        return _batch(packages, priority, placed_at)
    raise ValueError(f"unknown choreography {choreography!r}")


def _release_by_release(
    packages: list[Package], priority: str, placed_at: dt.datetime
) -> list[tuple[str, PackageFile]]:
    placed: list[tuple[str, PackageFile]] = []
    used: set[str] = set()
    for package in packages:
        moment = placed_at
        folder = release_folder(package, priority, moment)
        while folder in used:  # the same release twice in one run: never reuse a folder name
            moment += ONE_MILLISECOND
            folder = release_folder(package, priority, moment)
        used.add(folder)
        placed.extend((f"{folder}/{file.name}", file) for file in _in_upload_order(package))
    return placed


def _batch(
    packages: list[Package], priority: str, placed_at: dt.datetime
) -> list[tuple[str, PackageFile]]:
    root = batch_folder(batch_id(placed_at), priority)
    placed: list[tuple[str, PackageFile]] = []
    folders = release_folders(packages)
    for package, folder in zip(packages, folders, strict=True):
        placed.extend((f"{root}/{folder}/{file.name}", file) for file in _in_upload_order(package))
    placed.append(batch_complete(packages, folders, priority, placed_at))
    return placed


def batch_complete(
    packages: list[Package], folders: list[str], priority: str, placed_at: dt.datetime
) -> tuple[str, PackageFile]:
    """The batch's ``BatchComplete_<BatchId>.xml`` and its remote path, naming ``packages`` (in
    their ``folders``): the releases of the batch that arrived."""
    identifier = batch_id(placed_at)
    manifest = render_batch_manifest(packages, identifier, placed_at, priority, folders)
    name = f"BatchComplete_{identifier}.xml"
    return f"{batch_folder(identifier, priority)}/{name}", _generated(name, manifest)


def release_folders(packages: list[Package]) -> list[str]:
    """One sub-folder per release id; a second package of the same release gets a suffix."""
    seen: dict[str, int] = {}
    folders = []
    for package in packages:
        count = seen.get(package.release_id, 0)
        seen[package.release_id] = count + 1
        folders.append(package.release_id if count == 0 else f"{package.release_id}_{count + 1}")
    return folders


def _in_upload_order(package: Package) -> list[PackageFile]:
    return [*package.resources, *(f for f in package.files if f.kind != "resource")]


def render_batch_manifest(
    packages: list[Package],
    batch_id: str,
    placed_at: dt.datetime,
    priority: str = "N",
    folders: list[str] | None = None,
) -> bytes:
    """A small DDEX-style ManifestMessage naming each release's message file and its MD5.

    No official XSD is available to check it against, so it keeps to the few fields receivers
    read: the batch id, the number of messages, and per message its id, file, release id,
    delivery type and hash.
    """
    folders = folders or release_folders(packages)
    root = etree.Element(
        f"{{{MANIFEST_NAMESPACE}}}ManifestMessage", nsmap={"ech": MANIFEST_NAMESPACE}
    )
    root.set("MessageSchemaVersionId", "ech/12")
    _manifest_header(root, packages, batch_id, placed_at)
    _text(root, "IsTestFlag", "true" if any(p.test for p in packages) else "false")
    _text(root, "RootDirectory", batch_folder(batch_id, priority))
    _text(root, "NumberOfMessages", str(len(packages)))
    for package, folder in zip(packages, folders, strict=True):
        _message_in_batch(root, package, folder)
    body = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def _manifest_header(
    root: etree._Element, packages: list[Package], batch_id: str, placed_at: dt.datetime
) -> None:
    header = etree.SubElement(root, "MessageHeader")
    _text(header, "MessageThreadId", f"BATCH-{batch_id}")
    _text(header, "MessageId", f"BATCH-{batch_id}-{_digest(packages)[:8]}")
    for tag, party in (
        ("MessageSender", _first(packages, "sender")),
        ("MessageRecipient", _first(packages, "recipient")),
    ):
        if party:
            _text(etree.SubElement(header, tag), "PartyId", party)
    utc = placed_at.astimezone(dt.UTC) if placed_at.tzinfo else placed_at.replace(tzinfo=dt.UTC)
    created = utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    _text(header, "MessageCreatedDateTime", created)


def _message_in_batch(root: etree._Element, package: Package, folder: str) -> None:
    message = package.message
    element = etree.SubElement(root, "MessageInBatch")
    _text(element, "MessageType", "NewReleaseMessage")
    _text(element, "MessageId", package.message_id)
    _text(element, "URL", f"{folder}/{message.name}")
    _text(etree.SubElement(element, "IncludedReleaseId"), "ICPN", package.release_id)
    _text(element, "DeliveryType", DELIVERY_TYPES[package.action])
    _text(element, "ProductType", "AudioProduct")
    hash_sum = etree.SubElement(element, "HashSum")
    _text(hash_sum, "HashSum", message.md5)
    _text(hash_sum, "HashSumAlgorithmType", "MD5")


def _generated(name: str, data: bytes) -> PackageFile:
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    return PackageFile(name=name, kind="manifest", size=len(data), md5=md5, data=data)


def _digest(packages: list[Package]) -> str:
    joined = "\0".join(f"{p.release_id}:{p.message_id}" for p in packages)
    return hashlib.sha256(joined.encode()).hexdigest()


def _first(packages: list[Package], attribute: str) -> str | None:
    return next((getattr(p, attribute) for p in packages if getattr(p, attribute)), None)


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, tag)
    element.text = text
    return element


def _priority(priority: str) -> str:
    if priority not in PRIORITIES:
        raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}, not {priority!r}")
    return priority
