"""DDEX choreography: folder names, upload order, batch manifests."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from lxml import etree

from stardust_git import choreography
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
