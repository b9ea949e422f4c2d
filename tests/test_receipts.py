"""Receipts: deterministic bytes, atomic appends, history merges, no secrets."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from stardust_git.errors import UserError
from stardust_git.gitio import Git
from stardust_git.models import Target
from stardust_git.models.receipt import Acknowledgement, Delivery, Receipt, SentFile
from stardust_git.receipts import (
    dump_receipt,
    load_recorded,
    merge_receipt_files,
    parse_receipt,
    pending_retries,
    read_receipt,
    receipt_listing,
    receipt_path,
    record_delivery,
    redact,
    retry_marker,
    secret_values,
    update_retry_marker,
)
from stardust_git.source.tree import Tree
from tests.gitrepo import make_catalog

UPC = "1234567890128"
COMMIT = "a" * 40


def delivery(status: str = "success", minute: int = 0, **changes: object) -> Delivery:
    started = dt.datetime(2025, 3, 1, 12, minute, tzinfo=dt.UTC)
    fields: dict[str, object] = {
        "message_id": f"MSG-{minute}",
        "action": "initial",
        "commit": COMMIT,
        "format": "ern/4.3",
        "files": [SentFile(name=f"{UPC}.xml", bytes=1234, md5="0" * 32)],
        "location": f"local:outbox/alpha/{UPC}",
        "started": started,
        "finished": started + dt.timedelta(seconds=3),
        "attempts": 1,
        "status": status,
        "fingerprint": "f" * 64,
    }
    fields.update(changes)
    return Delivery(**fields)  # type: ignore[arg-type]


def test_a_receipt_is_versioned_sorted_and_byte_stable(tmp_path: Path) -> None:
    path = record_delivery(tmp_path, UPC, "alpha", delivery())
    data = (tmp_path / path).read_bytes()
    content = json.loads(data)

    assert path == f"receipts/{UPC}/alpha.json"
    assert content["schema_version"] == 1
    assert list(content) == sorted(content)
    assert list(content["history"][0]) == sorted(content["history"][0])
    assert content["history"][0]["started"] == "2025-03-01T12:00:00Z"
    assert dump_receipt(parse_receipt(data, path)) == data
    assert data.endswith(b"}\n")


def test_record_delivery_appends_to_the_history_atomically(tmp_path: Path) -> None:
    record_delivery(tmp_path, UPC, "alpha", delivery("failed", 0, error="connection refused"))
    record_delivery(tmp_path, UPC, "alpha", delivery("success", 5))

    receipt = read_receipt(tmp_path, UPC, "alpha")

    assert receipt is not None
    assert [d.status for d in receipt.history] == ["failed", "success"]
    assert receipt.last_success() == receipt.last()
    assert sorted(p.name for p in (tmp_path / "receipts" / UPC).iterdir()) == ["alpha.json"]


def test_an_invalid_receipt_is_a_user_error_naming_the_file() -> None:
    with pytest.raises(UserError, match=f"receipts/{UPC}/alpha.json"):
        parse_receipt(
            b'{"schema_version": 2, "upc": "1", "target": "x"}', receipt_path(UPC, "alpha")
        )


def test_merging_two_runs_histories_keeps_both_in_time_order() -> None:
    base = Receipt(upc=UPC, target="alpha", history=[delivery(minute=0)])
    upstream = base.model_copy(update={"history": [*base.history, delivery("failed", 9)]})
    ours = base.model_copy(update={"history": [*base.history, delivery(minute=4)]})

    merged = merge_receipt_files(
        receipt_path(UPC, "alpha"), dump_receipt(upstream), dump_receipt(ours)
    )

    assert merged is not None
    history = parse_receipt(merged, "merged").history
    assert [(d.message_id, d.status) for d in history] == [
        ("MSG-0", "success"),
        ("MSG-4", "success"),
        ("MSG-9", "failed"),
    ]
    assert merge_receipt_files("catalog/x.yaml", b"a", b"b") is None


def test_retry_markers_follow_the_last_attempt(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    record_delivery(repo.root, UPC, "alpha", delivery("success", 0))
    record_delivery(repo.root, "4006381333931", "beta", delivery("failed", 2, error="boom"))
    marker = update_retry_marker(repo.root, "4006381333931", "beta", "catalog/x.yaml", True)
    untouched = update_retry_marker(repo.root, UPC, "alpha", "catalog/y.yaml", failed=False)
    tree = Tree(Git(repo.root), None)

    assert marker == retry_marker("4006381333931", "beta") == "receipts/.retry/4006381333931.beta"
    assert untouched is None
    assert pending_retries(tree) == {"4006381333931": "catalog/x.yaml"}
    assert set(load_recorded(tree)) == {UPC, "4006381333931"}  # markers are not receipts
    assert set(load_recorded(tree, {UPC})[UPC]) == {"alpha"}
    removed = update_retry_marker(repo.root, "4006381333931", "beta", "catalog/x.yaml", False)
    assert removed == marker and pending_retries(tree) == {}


def test_acknowledgements_round_trip(tmp_path: Path) -> None:
    ack = Acknowledgement(
        status="ProcessedOK",
        message_id="ACK-1",
        received_at=dt.datetime(2025, 3, 2, tzinfo=dt.UTC),
        file="acks/ACK-1.xml",
    )
    record_delivery(tmp_path, UPC, "alpha", delivery(acknowledgements=[ack]))

    receipt = read_receipt(tmp_path, UPC, "alpha")

    assert receipt is not None and receipt.history[0].acknowledgements == [ack]


def test_secrets_are_redacted_from_error_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_FTP_PASSWORD", "hunter2-very-secret")
    target = Target.model_validate(
        {
            "format": "ern",
            "ern_version": "4.3",
            "sender": {"party_id": "PADPIDA2025110101D", "name": "Us"},
            "recipient": {"party_id": "PADPIDA2025110102B", "name": "Them"},
            "delivery": {
                "protocol": "ftp",
                "host": "ftp.example.com",
                "username": "indie",
                "password": "${TEST_FTP_PASSWORD}",
            },
        }
    )
    secrets = secret_values(target.delivery)
    error = "login failed for ftp://indie:hunter2-very-secret@ftp.example.com/: hunter2-very-secret"

    cleaned = redact(error, secrets)

    assert secrets == ["hunter2-very-secret", "indie:hunter2-very-secret"]  # the pair: Basic
    assert "hunter2" not in cleaned
    assert cleaned == "login failed for ftp://***@ftp.example.com/: ***"


def test_the_receipt_listing_is_the_trees_listing(tmp_path: Path) -> None:
    """Two scandir levels (working tree) or one ls-tree (commit) list what a recursive listing
    of receipts/ keeps: hidden folders skipped, a link listed as a file, deeper files ignored."""
    repo = make_catalog(tmp_path)
    other = "4006381333931"
    for upc, target in ((UPC, "alpha"), (UPC, "beta"), (other, "alpha")):
        record_delivery(repo.root, upc, target, delivery("success", 0))
    repo.write(f"receipts/{other}/deeper/x.json", "{}")
    repo.write("receipts/.hidden/x.json", "{}")
    repo.write("receipts/stray.json", "{}")
    (repo.root / "receipts" / other / "link.json").symlink_to("alpha.json")
    (repo.root / "receipts" / "5012345678900").symlink_to(other)
    commit = repo.commit("Receipts")

    def by_tree_list(tree: Tree, upcs: set[str] | None) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for path in tree.list("receipts"):
            parts = path.split("/")
            if len(parts) == 3 and parts[2].endswith(".json") and (not upcs or parts[1] in upcs):
                found.setdefault(parts[1], []).append(path)
        return found

    for tree in (Tree(Git(repo.root), None), Tree(Git(repo.root), commit)):
        assert receipt_listing(tree) == by_tree_list(tree, None)
        assert receipt_listing(tree, {other, "036000291452"}) == by_tree_list(tree, {other})
    assert receipt_listing(Tree(Git(repo.root), None), {UPC}) == {
        UPC: [f"receipts/{UPC}/alpha.json", f"receipts/{UPC}/beta.json"]
    }
