"""DDEX choreography: folder names, upload order, batch manifests."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from lxml import etree

from stardust_git import choreography
from stardust_git.models.receipt import Delivery, SentFile
from stardust_git.render import Package, render_package
from tests.test_render_support import context, example_catalog

PLACED_AT = dt.datetime(2025, 11, 3, 14, 5, 9, 123456, tzinfo=dt.UTC)
STAMP = "20251103140509123"


def packages(action: str = "initial") -> list[Package]:
    catalog = example_catalog()
    return [
        render_package(catalog, catalog.releases[path], "ern43", action, context())
        for path in sorted(catalog.releases)[:2]
    ]


def test_names_follow_the_choreography_standard() -> None:
    package = packages()[0]
    assert choreography.timestamp(PLACED_AT) == STAMP
    local = dt.datetime(2025, 11, 3, 15, 5, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert choreography.timestamp(local) == STAMP
    assert choreography.release_folder(package, "P", PLACED_AT) == f"P_{package.release_id}_{STAMP}"
    assert choreography.batch_id(PLACED_AT) == STAMP
    assert choreography.batch_folder(STAMP) == f"N_{STAMP}"
    assert choreography.batch_folder(STAMP, "P") == f"P_{STAMP}"
    with pytest.raises(ValueError, match="priority"):
        choreography.release_folder(package, "X", PLACED_AT)


def test_release_by_release_uploads_resources_before_each_message() -> None:
    first, second = packages()
    placed = choreography.layout([first, second], "release-by-release", "N", PLACED_AT)
    assert len(placed) == len(first.files) + len(second.files)
    for package in (first, second):
        folder = f"N_{package.release_id}_{STAMP}"
        mine = [(path, file) for path, file in placed if path.startswith(folder + "/")]
        assert [file.kind for _, file in mine][-1] == "message"
        assert all(file.kind == "resource" for _, file in mine[:-1])
        assert mine[-1][0] == f"{folder}/{package.release_id}.xml"
        assert {path for path, _ in mine[:-1]} == {f"{folder}/{f.name}" for f in package.resources}
        assert all(path.startswith(f"{folder}/resources/") for path, _ in mine[:-1])


def test_the_same_release_twice_never_reuses_a_folder() -> None:
    package = packages()[0]
    placed = choreography.layout([package, package], "release-by-release", "L", PLACED_AT)
    folders = {path.split("/")[0] for path, _ in placed}
    assert folders == {
        f"L_{package.release_id}_{STAMP}",
        f"L_{package.release_id}_20251103140509124",
    }


def test_batch_puts_releases_in_sub_folders_and_the_manifest_last() -> None:
    first, second = packages()
    placed = choreography.layout([first, second], "batch", "N", PLACED_AT)
    root = f"N_{STAMP}"
    assert all(path.startswith(root + "/") for path, _ in placed)
    manifest_path, manifest = placed[-1]
    assert manifest_path == f"{root}/BatchComplete_{STAMP}.xml"
    assert manifest.kind == "manifest"
    assert manifest.md5 == hashlib.md5(manifest.data).hexdigest()
    assert manifest.size == len(manifest.data)
    paths = [path for path, _ in placed]
    for package in (first, second):
        folder = f"{root}/{package.release_id}"
        message_index = paths.index(f"{folder}/{package.release_id}.xml")
        assert placed[message_index][1] == package.message
        resources = [i for i, path in enumerate(paths) if path.startswith(f"{folder}/resources/")]
        assert len(resources) == len(package.resources)
        assert max(resources) < message_index
    message = etree.fromstring(manifest.data)
    assert etree.QName(message).localname == "ManifestMessage"
    assert message.findtext("NumberOfMessages") == "2"
    assert message.findtext("RootDirectory") == root
    items = message.findall("MessageInBatch")
    assert [i.findtext("URL") for i in items] == [
        f"{p.release_id}/{p.release_id}.xml" for p in (first, second)
    ]
    assert [i.findtext("HashSum/HashSum") for i in items] == [first.message.md5, second.message.md5]
    assert [i.findtext("MessageId") for i in items] == [first.message_id, second.message_id]
    assert {i.findtext("DeliveryType") for i in items} == {"NewReleaseDelivery"}
    assert message.findtext("MessageHeader/MessageSender/PartyId") == first.sender
    assert message.findtext("IsTestFlag") == "false"


def test_batch_manifest_names_takedowns() -> None:
    placed = choreography.layout(packages("takedown"), "batch", "N", PLACED_AT)
    items = etree.fromstring(placed[-1][1].data).findall("MessageInBatch")
    assert {i.findtext("DeliveryType") for i in items} == {"TakeDown"}


def test_layout_is_pure_and_repeatable() -> None:
    batch = packages()
    assert choreography.layout(batch, "batch", "N", PLACED_AT) == choreography.layout(
        batch, "batch", "N", PLACED_AT
    )
    with pytest.raises(ValueError, match="choreography"):
        choreography.layout(batch, "carrier-pigeon", "N", PLACED_AT)


# --- placement: strictly increasing per release and target ------------------------------------

COMMIT_A = "00000001" + "a" * 32  # 1 ms from its id
COMMIT_B = "000003e9" + "b" * 32  # 1001 % 1000: 1 ms as well
NOON = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
MS = dt.timedelta(milliseconds=1)


def delivery(
    commit: str = COMMIT_A,
    status: str = "success",
    action: str = "initial",
    placed_at: dt.datetime | None = None,
    location: str = "",
    started: dt.datetime = NOON,
    files: tuple[tuple[str, str], ...] = (),
) -> Delivery:
    return Delivery(
        message_id="m",
        action=action,  # type: ignore[arg-type]
        commit=commit,
        format="ern/4.3",
        files=[SentFile(name=name, bytes=1, md5=md5) for name, md5 in files],
        location=location,
        started=started,
        finished=started,
        attempts=1,
        status=status,  # type: ignore[arg-type]
        placed_at=placed_at,
    )


def test_the_first_placement_is_the_commit_moment() -> None:
    assert choreography.placement(COMMIT_A, NOON, []) == NOON + MS


def test_a_later_commit_with_an_earlier_date_is_placed_after_the_last_delivery() -> None:
    last = delivery(placed_at=NOON + MS)
    earlier_commit = NOON - dt.timedelta(hours=3)
    assert choreography.placement(COMMIT_B, earlier_commit, [last]) == NOON + 2 * MS
    later_commit = NOON + dt.timedelta(hours=1)
    assert choreography.placement(COMMIT_B, later_commit, [last]) == later_commit + MS


def test_a_receipt_without_placed_at_falls_back_to_its_folder_then_its_start() -> None:
    folder = delivery(location="sftp://dsp/in/N_1234567890128_20260301130000250", started=NOON)
    assert choreography.placed_moment(folder) == NOON + dt.timedelta(hours=1, milliseconds=250)
    batch = delivery(location="s3://b/N_20260301130000250/1234567890128")
    assert choreography.placed_moment(batch) == NOON + dt.timedelta(hours=1, milliseconds=250)
    api = delivery(location="https://dsp.example/api/deliveries", started=NOON)
    assert choreography.placed_moment(api) == NOON
    assert choreography.placed_moment(delivery(status="failed")) is None  # never placed


def test_a_rerun_of_a_failed_attempt_resumes_its_moment() -> None:
    success = delivery(placed_at=NOON)
    failed = delivery(COMMIT_B, "failed", "update", placed_at=NOON + 5 * MS)
    assert choreography.placement(COMMIT_B, NOON - dt.timedelta(days=1), [success, failed]) == (
        NOON + 5 * MS
    )
    # a new commit after the failure goes after it, not into its folder
    assert choreography.placement(COMMIT_A, NOON, [success, failed]) == NOON + 6 * MS
    # a merged history with a later success before the failed attempt: no resume
    merged = [delivery(placed_at=NOON + 9 * MS), failed]
    assert choreography.placement(COMMIT_B, NOON, merged) == NOON + 10 * MS


def test_the_assets_at_a_target_come_from_successes_since_the_last_takedown() -> None:
    cover = ("resources/1.jpg", "1" * 32)
    message = ("1.xml", "2" * 32)
    full = delivery(files=(cover, message))
    alone = delivery(action="update", files=(("1.xml", "3" * 32),))
    failed = delivery(status="failed", files=(("resources/1.jpg", "4" * 32),))
    assert choreography.assets_at_target([full, alone, failed])["resources/1.jpg"] == "1" * 32
    takedown = delivery(action="takedown", files=(message,))
    assert choreography.assets_at_target([full, takedown]) == {}  # it may have dropped them
