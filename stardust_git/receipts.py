"""Receipts: the recorded state. ``receipts/<UPC>/<target>.json``, one file per release x target.

A receipt is appended to after every delivery attempt and written atomically, as JSON with
sorted keys and a fixed layout, so the same history always gives the same bytes and concurrent
runs (which touch different files) rebase without conflicts. When two runs did touch the same
file, :func:`merge_receipt_files` unions their histories.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

from pydantic import ValidationError

from stardust_git.errors import Diagnostic, UserError
from stardust_git.fileio import (
    MAX_RECEIPT_BYTES,
    UnreadableFile,
    read_regular,
    too_large,
    write_atomic,
)
from stardust_git.models.receipt import Acknowledgement, Delivery, Receipt

# Their callers import them from here; they live in redaction.
from stardust_git.redaction import redact as redact
from stardust_git.redaction import secret_values as secret_values
from stardust_git.source.catalog import RECEIPTS_DIR
from stardust_git.source.tree import Tree

#: upc -> target name -> receipt
RecordedState = dict[str, dict[str, Receipt]]

RETRY_DIR = f"{RECEIPTS_DIR}/.retry"
RECEIPTS_LOCK = "stardust-git-receipts.lock"
RECEIPTS_LOCK_WAIT = 120.0
"""Seconds to wait for another process's receipt write (each holds it for one file's write)."""


def live_delivery(receipt: Receipt | None) -> Delivery | None:
    """The last successful delivery when it left the release live at the target."""
    last_ok = receipt.last_success() if receipt else None
    return last_ok if last_ok and last_ok.action != "takedown" else None


def receipt_path(upc: str, target: str) -> str:
    """Where the receipt of ``upc`` at ``target`` lives, relative to the repository root."""
    return f"{RECEIPTS_DIR}/{upc}/{target}.json"


def dump_receipt(receipt: Receipt) -> bytes:
    """The canonical bytes of a receipt: sorted keys, two-space indent, a final newline."""
    data = receipt.model_dump(mode="json")
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def parse_receipt(data: bytes, shown: str) -> Receipt:
    if len(data) > MAX_RECEIPT_BYTES:
        raise unreadable_receipt(shown, too_large(len(data), MAX_RECEIPT_BYTES))
    try:
        return Receipt.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise UserError(f"{shown}: not a valid receipt ({where}: {first['msg']})") from None


def unreadable_receipt(shown: str, reason: str) -> UserError:
    """A receipt that is not a regular file, or too large: placed, and never read."""
    diagnostic = Diagnostic(shown, 1, 1, "", reason)
    return UserError(f"cannot read the receipt {shown}", [diagnostic])


def read_receipt(root: Path, upc: str, target: str) -> Receipt | None:
    """The receipt in the working tree, or None when there is none yet."""
    shown = receipt_path(upc, target)
    return read_receipt_file(root / shown, shown)


def read_receipt_file(path: Path, shown: str) -> Receipt | None:
    """The receipt at ``path`` (None when there is none); only a regular file is read."""
    try:
        data = read_regular(path, MAX_RECEIPT_BYTES)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except UnreadableFile as exc:
        raise unreadable_receipt(shown, exc.reason) from None
    return parse_receipt(data, shown)


def record_delivery(root: Path, upc: str, target: str, delivery: Delivery) -> str:
    """Append ``delivery`` to the receipt of ``upc`` at ``target``; returns the receipt's path."""

    def append(receipt: Receipt) -> Receipt:
        receipt.history.append(delivery)
        return receipt

    return update_receipt(root, upc, target, append)


def update_receipt(root: Path, upc: str, target: str, change: Callable[[Receipt], Receipt]) -> str:
    """Read, ``change`` and write the receipt under the repository's receipt lock, so that
    writers in other processes (deliver, acks) never overwrite each other's entries."""
    shown = receipt_path(upc, target)
    with receipts_lock(root):
        receipt = read_receipt(root, upc, target) or Receipt(upc=upc, target=target)
        write_atomic(root / shown, dump_receipt(change(receipt)))
    return shown


@contextlib.contextmanager
def receipts_lock(root: Path) -> Iterator[None]:
    """An flock on ``<git dir>/stardust-git-receipts.lock`` (``.stardust-git-receipts.lock``
    under ``root`` outside git), held for one read-modify-write."""
    path = _receipts_lock_path(root.resolve())
    deadline = time.monotonic() + RECEIPTS_LOCK_WAIT
    try:
        handle = path.open("a+b")
    except OSError as exc:
        raise UserError(f"cannot open the receipts lock {path}: {exc.strerror}") from None
    with handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise UserError(f"{path} stayed locked for {RECEIPTS_LOCK_WAIT:g} s") from None
                time.sleep(0.01)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@cache
def _receipts_lock_path(root: Path) -> Path:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--git-common-dir"],  # absolute, or relative to root
            cwd=root,
            capture_output=True,
            check=False,
        )
    except OSError:  # no git: the lock lives beside the receipts
        return root / f".{RECEIPTS_LOCK}"
    folder = done.stdout.decode().strip() if done.returncode == 0 else ""
    return (root / folder).resolve() / RECEIPTS_LOCK if folder else root / f".{RECEIPTS_LOCK}"


def _split(path: str) -> tuple[str, str] | None:
    parts = path.split("/")
    if len(parts) != 3 or parts[0] != RECEIPTS_DIR or not parts[2].endswith(".json"):
        return None
    return parts[1], parts[2].removesuffix(".json")


def load_recorded(tree: Tree, upcs: set[str] | None = None) -> RecordedState:
    """The receipts in ``tree``: of the given releases, or all of them. A receipt that is not a
    regular file, or is too large, stops the run (a UserError placing it)."""
    listing = receipt_listing(tree, upcs)
    return read_recorded(tree, [path for upc in sorted(listing) for path in listing[upc]])


def receipt_listing(tree: Tree, upcs: set[str] | None = None) -> dict[str, list[str]]:
    """UPC -> the sorted paths of its receipts in ``tree`` (of ``upcs``, or of every release),
    from one listing (read them a share of the releases at a time with :func:`read_recorded`).

    Lists what ``tree.list`` would (hidden folders skipped, a link listed as a file) but only
    the two levels a receipt lives at: ``receipts/<UPC>/<target>.json``.
    """
    folders = None if upcs is None else sorted(upcs)
    if tree.commit:
        paths = _committed_receipts(tree, folders)
    else:
        paths = _working_receipts(tree.root / RECEIPTS_DIR, folders)
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(paths):
        split = _split(path)
        if split and (upcs is None or split[0] in upcs):
            found[split[0]].append(path)
    return dict(found)


def _committed_receipts(tree: Tree, folders: list[str] | None) -> list[str]:
    """The receipt paths at the tree's commit: one ``git ls-tree`` (per 500 folders)."""
    if folders is None:
        return [p for p in tree.list(RECEIPTS_DIR) if p.count("/") == 2]
    found: list[str] = []
    for start in range(0, len(folders), 500):
        specs = [f"{RECEIPTS_DIR}/{upc}/" for upc in folders[start : start + 500]]
        done = tree.git.run("ls-tree", "-r", "-z", "--name-only", tree.commit or "", "--", *specs)
        found += [p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p]
    return found


def _working_receipts(top: Path, folders: list[str] | None) -> list[str]:
    """The receipt paths in the working tree, two ``scandir`` levels deep (no recursion)."""
    if folders is None:
        try:
            folders = [e.name for e in os.scandir(top) if _real_folder(e)]
        except (FileNotFoundError, NotADirectoryError):
            return []
    found = []
    for upc in folders:
        try:
            entries = list(os.scandir(top / upc))
        except (FileNotFoundError, NotADirectoryError):
            continue
        found += [f"{RECEIPTS_DIR}/{upc}/{e.name}" for e in entries if not _real_folder(e)]
    return found


def _real_folder(entry: os.DirEntry[str]) -> bool:
    """A folder to look into: not hidden, not a link (a link is listed as a file)."""
    return not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False)


def read_recorded(tree: Tree, paths: list[str]) -> RecordedState:
    """The receipts at ``paths``; one that is not a regular file, or is too large, stops the
    run (a UserError placing it)."""
    contents = tree.fetch(paths, MAX_RECEIPT_BYTES)
    if contents.refused:
        refused = [
            Diagnostic(path, 1, 1, "", why) for path, why in sorted(contents.refused.items())
        ]
        raise UserError("cannot read the receipts (fix or remove them)", refused)
    return _parse_all(contents.files)


def _parse_all(contents: dict[str, bytes]) -> RecordedState:
    recorded: RecordedState = defaultdict(dict)
    for path, data in contents.items():
        upc, target = _split(path)  # type: ignore[misc]
        recorded[upc][target] = parse_receipt(data, path)
    return dict(recorded)


def retry_marker(upc: str, target: str) -> str:
    """``receipts/.retry/<UPC>.<target>``: present while the last attempt there failed.

    The receipt stays the record; the markers only let a plan narrowed to a diff find the
    failures to retry by listing one small folder instead of reading every receipt.
    """
    return f"{RETRY_DIR}/{upc}.{target}"


def update_retry_marker(
    root: Path, upc: str, target: str, release_path: str, failed: bool
) -> str | None:
    """Create (failed) or remove (delivered) the marker; its path when that changed anything.

    A marker holds the release file's path, so the plan finds the release without a search.
    """
    marker = retry_marker(upc, target)
    if failed:
        write_atomic(root / marker, f"{release_path}\n".encode())
        return marker
    try:
        (root / marker).unlink()
    except FileNotFoundError:
        return None
    return marker


def pending_retries(tree: Tree) -> dict[str, str]:
    """UPC -> release file path, of every release with a failed last attempt somewhere."""
    markers = [p for p in tree.list(RETRY_DIR) if p.count("/") == 2]
    pending = {}
    for path, data in tree.read(markers).items():
        upc = path.rsplit("/", 1)[1].split(".", 1)[0]
        pending[upc] = data.decode("utf-8", "replace").strip()
    return pending


def merge_receipt_files(path: str, upstream: bytes | None, ours: bytes | None) -> bytes | None:
    """Resolve a rebase conflict on a receipt: the union of both histories, by start time.

    Returns None for anything that is not a receipt (the rebase is then aborted).
    """
    if _split(path) is None:
        return None
    versions = [parse_receipt(data, path) for data in (upstream, ours) if data is not None]
    if not versions:
        return None
    return dump_receipt(merge_receipts(versions))


def merge_receipts(versions: list[Receipt]) -> Receipt:
    """One receipt of several versions of it: the union of their deliveries (by start time,
    message and commit) and of each delivery's acknowledgements."""
    seen: dict[tuple[str, str, str], Delivery] = {}
    for receipt in versions:
        for delivery in receipt.history:
            key = (delivery.started.isoformat(), delivery.message_id, delivery.commit)
            known = seen.get(key)
            if known is None:
                seen[key] = delivery.model_copy(deep=True)
            else:
                known.acknowledgements = _union_acks(known, delivery)
    history = sorted(seen.values(), key=lambda d: (d.started, d.message_id))
    return versions[0].model_copy(update={"history": history})


def _union_acks(first: Delivery, second: Delivery) -> list[Acknowledgement]:
    """Both deliveries' acknowledgements, one per file, status and message id, oldest first."""
    found: dict[tuple[str | None, str, str | None], Acknowledgement] = {}
    for ack in [*first.acknowledgements, *second.acknowledgements]:
        found.setdefault((ack.file, ack.status, ack.message_id), ack)
    return sorted(found.values(), key=lambda ack: ack.received_at)
