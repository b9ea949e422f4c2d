"""Order and payload of real deliveries (issue 10, items 2 and 3): package folders and
MessageCreatedDateTime strictly increase per release and target whatever the commit dates, a
takedown and an update with unchanged assets are the message alone, and the receipt records
exactly what was sent. Real git repositories, the embedded ``local`` protocol."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from lxml import etree

from stardust_git.choreography import parse_timestamp
from stardust_git.commands.render import render_command
from stardust_git.deliver import DeliverOptions, DeliverResult, deliver
from stardust_git.models.receipt import Delivery
from stardust_git.receipts import read_receipt
from tests.gitrepo import REPO_ROOT, UPCS, Repo, clone, make_catalog
from tests.media import write_jpeg

UPC = UPCS[0]
CREATED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FOLDER = re.compile(rf"^N_{UPC}_(\d{{17}})$")
ASSETS = [f"resources/{UPC}.jpg", f"resources/{UPC}_01_001.wav"]


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_catalog(tmp_path)


def run(repo: Repo, **options: object) -> DeliverResult:
    return deliver(repo.root, DeliverOptions(retry_wait=0.01, **options))  # type: ignore[arg-type]


def commit_at(repo: Repo, monkeypatch: pytest.MonkeyPatch, message: str, date: str) -> str:
    """Commit with a forced committer date (as after a rebase, or on a skewed clock)."""
    monkeypatch.setenv("GIT_COMMITTER_DATE", date)
    try:
        return repo.commit(message)
    finally:
        monkeypatch.delenv("GIT_COMMITTER_DATE")


def write_release(repo: Repo, title: str = "Summer Vibes", **fields: str) -> None:
    repo.add_release(UPC, title=title, targets=("alpha",), **fields)


def history(repo: Repo, target: str = "alpha") -> list[Delivery]:
    receipt = read_receipt(repo.root, UPC, target)
    assert receipt is not None
    return receipt.history


def folder_of(delivery: Delivery) -> str:
    return delivery.location.rsplit("/", 1)[-1]


def files_in(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def created_of(message: Path) -> str:
    return etree.parse(str(message)).getroot().findtext("MessageHeader/MessageCreatedDateTime")


def outbox(repo: Repo, target: str = "alpha") -> Path:
    return repo.root / "outbox" / target


# --- order ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("update_date", "takedown_date"),
    [
        # an update and a takedown committed in the same second as each other and the initial
        ("2026-03-01T12:00:00Z", "2026-03-01T12:00:00Z"),
        # rebased or skewed: each later commit carries an earlier date
        ("2026-03-01T11:00:00Z", "2026-03-01T10:00:00Z"),
    ],
)
def test_folders_and_created_times_increase_in_delivery_order_whatever_the_commit_dates(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, update_date: str, takedown_date: str
) -> None:
    write_release(repo)
    commit_at(repo, monkeypatch, "Add", "2026-03-01T12:00:00Z")
    run(repo, commit=True)
    write_release(repo, title="Summer Vibes Remastered")
    commit_at(repo, monkeypatch, "Retitle", update_date)
    run(repo, commit=True)
    write_release(repo, title="Summer Vibes Remastered", takedown="true")
    commit_at(repo, monkeypatch, "Take down", takedown_date)
    run(repo, commit=True)

    deliveries = history(repo)
    assert [(d.action, d.status) for d in deliveries] == [
        ("initial", "success"),
        ("update", "success"),
        ("takedown", "success"),
    ]
    folders = [folder_of(d) for d in deliveries]
    assert all(FOLDER.match(name) for name in folders)
    assert sorted(p.name for p in outbox(repo).iterdir()) == folders  # name order = sent order
    assert len(set(folders)) == 3
    created = [created_of(outbox(repo) / name / f"{UPC}.xml") for name in folders]
    assert all(CREATED.match(text) for text in created)
    assert created == sorted(set(created))  # strictly increasing, compared as strings
    for delivery, name, text in zip(deliveries, folders, created, strict=True):
        stamp = FOLDER.match(name).group(1)  # type: ignore[union-attr]
        assert delivery.placed_at == parse_timestamp(stamp)
        assert text == delivery.placed_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_a_receipt_written_before_placed_at_still_orders_the_next_delivery(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_release(repo)
    commit_at(repo, monkeypatch, "Add", "2026-03-01T12:00:00Z")
    run(repo)
    # strip the new field, as an older version wrote the receipt
    path = repo.root / "receipts" / UPC / "alpha.json"
    path.write_text(re.sub(r'\s*"placed_at": "[^"]*",', "", path.read_text()))
    assert read_receipt(repo.root, UPC, "alpha").history[0].placed_at is None  # type: ignore[union-attr]
    write_release(repo, takedown="true")
    commit_at(repo, monkeypatch, "Take down", "2026-02-01T12:00:00Z")  # a month earlier

    run(repo)

    initial, takedown = (folder_of(d) for d in history(repo))
    assert initial < takedown
    assert sorted(p.name for p in outbox(repo).iterdir()) == [initial, takedown]


def test_batch_ids_increase_across_deliveries_whatever_the_commit_dates(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write("targets/alpha.yaml", repo.read("targets/alpha.yaml") + "  choreography: batch\n")
    write_release(repo)
    commit_at(repo, monkeypatch, "Add, in batches", "2026-03-01T12:00:00Z")
    run(repo)
    write_release(repo, takedown="true")
    commit_at(repo, monkeypatch, "Take down", "2026-03-01T09:00:00Z")

    run(repo)

    batches = [d.location.rsplit("/", 2)[-2] for d in history(repo)]
    assert batches[0] < batches[1]
    assert sorted(p.name for p in outbox(repo).iterdir()) == batches
    manifests = [
        etree.parse(str(next((outbox(repo) / name).glob("BatchComplete_*.xml")))).getroot()
        for name in batches
    ]
    created = [m.findtext("MessageHeader/MessageCreatedDateTime") for m in manifests]
    assert created[0] < created[1]
    messages = [created_of(outbox(repo) / name / UPC / f"{UPC}.xml") for name in batches]
    assert messages[0] < messages[1]


def test_a_rerun_after_a_failed_upload_resumes_in_the_same_folder(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_release(repo)
    commit_at(repo, monkeypatch, "Add", "2026-03-01T12:00:00Z")
    run(repo)
    write_release(repo, title="Retitled")
    commit_at(repo, monkeypatch, "Retitle", "2026-03-01T08:00:00Z")  # before the initial
    kept = repo.root / "outbox" / "kept"
    outbox(repo).rename(kept)
    outbox(repo).write_text("a file where the delivery directory should be\n")

    failed = run(repo)

    assert [o.status for o in failed.outcomes] == ["failed"]
    attempt = history(repo)[-1]
    assert attempt.status == "failed" and attempt.placed_at is not None
    outbox(repo).unlink()
    kept.rename(outbox(repo))

    resumed = run(repo)

    assert [o.status for o in resumed.outcomes] == ["success"]
    initial, _, update = history(repo)
    assert update.placed_at == attempt.placed_at  # the failed attempt's moment, not a new one
    assert folder_of(update).endswith(attempt.placed_at.strftime("%Y%m%d%H%M%S%f")[:-3])
    assert folder_of(initial) < folder_of(update)


def test_the_same_commit_and_receipts_give_the_same_folder_and_bytes(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_release(repo)
    commit_at(repo, monkeypatch, "Add", "2026-03-01T12:00:00Z")
    repo.push()
    run(repo, push=True)
    write_release(repo, title="Retitled")
    commit_at(repo, monkeypatch, "Retitle", "2026-03-01T11:59:59Z")
    repo.push()
    other = clone(tmp_path, "other")  # another runner: the same commit, the same receipts

    run(repo)
    run(other)

    here, there = history(repo)[-1], history(other)[-1]
    assert folder_of(here) == folder_of(there)
    assert here.placed_at == there.placed_at
    name = folder_of(here)
    mine = (outbox(repo) / name / f"{UPC}.xml").read_bytes()
    theirs = (outbox(other) / name / f"{UPC}.xml").read_bytes()
    assert mine == theirs
    assert folder_of(history(repo)[0]) < name


# --- payload -------------------------------------------------------------------------------


def test_a_takedown_sends_the_message_alone_and_its_receipt_lists_only_it(repo: Repo) -> None:
    write_release(repo)
    repo.commit("Add")
    run(repo)
    write_release(repo, takedown="true")
    repo.commit("Take down")

    result = run(repo)

    (outcome,) = result.outcomes
    assert (outcome.action, outcome.status, outcome.files) == ("takedown", "success", 1)
    takedown = history(repo)[-1]
    folder = outbox(repo) / folder_of(takedown)
    assert files_in(folder) == [f"{UPC}.xml"]
    message = (folder / f"{UPC}.xml").read_bytes()
    assert [(f.name, f.bytes, f.md5) for f in takedown.files] == [
        (f"{UPC}.xml", len(message), hashlib.md5(message).hexdigest())
    ]
    root = etree.fromstring(message)
    assert [e.text for e in root.iter("IsProvidedInDelivery")] == ["false", "false"]


def test_a_title_only_update_sends_the_message_alone(repo: Repo) -> None:
    write_release(repo)
    repo.commit("Add")
    run(repo)
    initial = history(repo)[0]
    write_release(repo, title="Summer Vibes (Deluxe)")
    repo.commit("Retitle")

    run(repo)

    update = history(repo)[-1]
    assert (update.action, update.status) == ("update", "success")
    folder = outbox(repo) / folder_of(update)
    assert files_in(folder) == [f"{UPC}.xml"]
    assert [f.name for f in update.files] == [f"{UPC}.xml"]
    root = etree.fromstring((folder / f"{UPC}.xml").read_bytes())
    described = {
        file.findtext("URI"): (file.findtext("HashSum/HashSumValue"), provided.text)
        for file, provided in zip(root.iter("File"), root.iter("IsProvidedInDelivery"), strict=True)
    }
    held = {f.name: f.md5 for f in initial.files}
    assert described == {name: (held[name], "false") for name in ASSETS}  # the ones it has


def test_resend_assets_always_sends_the_assets_with_every_update(repo: Repo) -> None:
    repo.write("targets/alpha.yaml", repo.read("targets/alpha.yaml") + "resend_assets: always\n")
    write_release(repo)
    repo.commit("Add")
    run(repo)
    write_release(repo, title="Summer Vibes (Deluxe)")
    repo.commit("Retitle")

    run(repo)

    update = history(repo)[-1]
    assert files_in(outbox(repo) / folder_of(update)) == sorted([*ASSETS, f"{UPC}.xml"])
    assert sorted(f.name for f in update.files) == sorted([*ASSETS, f"{UPC}.xml"])
    root = etree.fromstring((outbox(repo) / folder_of(update) / f"{UPC}.xml").read_bytes())
    assert root.find(".//IsProvidedInDelivery") is None


def test_an_update_with_a_new_cover_sends_the_assets_again(repo: Repo) -> None:
    write_release(repo)
    repo.commit("Add")
    run(repo)
    write_jpeg(repo.root / "assets" / UPC / "cover.jpg", size=1400, seed=4242)
    repo.commit("New cover")

    run(repo)

    update = history(repo)[-1]
    assert update.action == "update"
    assert files_in(outbox(repo) / folder_of(update)) == sorted([*ASSETS, f"{UPC}.xml"])


def test_a_release_reinstated_after_a_takedown_gets_its_assets_again(repo: Repo) -> None:
    write_release(repo)
    repo.commit("Add")
    run(repo)
    write_release(repo, takedown="true")
    repo.commit("Take down")
    run(repo)
    write_release(repo)
    repo.commit("Back again")

    run(repo)

    reinstated = history(repo)[-1]
    assert (reinstated.action, reinstated.status) == ("update", "success")
    assert sorted(f.name for f in reinstated.files) == sorted([*ASSETS, f"{UPC}.xml"])


def test_an_update_after_a_metadata_only_one_still_knows_the_assets_are_there(
    repo: Repo,
) -> None:
    write_release(repo)
    repo.commit("Add")
    run(repo)
    for title in ("Second Title", "Third Title"):
        write_release(repo, title=title)
        repo.commit(f"Retitle: {title}")
        run(repo)

    assert [[f.name for f in d.files] for d in history(repo)[1:]] == [[f"{UPC}.xml"]] * 2


def test_the_fingerprint_of_a_metadata_only_update_is_that_of_the_full_package(
    repo: Repo,
) -> None:
    write_release(repo)
    repo.commit("Add")
    run(repo)
    write_release(repo, title="Retitled")
    repo.commit("Retitle")
    run(repo)
    # nothing changed since: the plan must not see the message-only package as a change
    result = run(repo)
    assert result.outcomes == []


APPLE_TARGET = """\
format: apple
provider: IndieRecords
delivery:
  protocol: local
  directory: outbox/apple
"""


def add_apple_target(repo: Repo) -> None:
    for name in ("apple.yaml", "vocabularies/apple.yaml"):
        repo.write(f"genre-maps/{name}", (REPO_ROOT / "genre-maps" / name).read_text("utf-8"))
    repo.write("targets/apple.yaml", APPLE_TARGET)
    repo.add_release(UPC, targets=("apple",))
    write_jpeg(repo.root / "assets" / UPC / "cover.jpg", size=3000, seed=7)


def test_an_apple_update_and_takedown_send_metadata_xml_alone(repo: Repo) -> None:
    add_apple_target(repo)
    repo.commit("Add, for Apple")
    run(repo)
    repo.add_release(UPC, title="Summer Vibes (Deluxe)", targets=("apple",))
    repo.commit("Retitle")
    run(repo)
    repo.add_release(UPC, title="Summer Vibes (Deluxe)", targets=("apple",), takedown="true")
    repo.commit("Take down")
    run(repo)

    initial, update, takedown = history(repo, "apple")
    assert [d.action for d in (initial, update, takedown)] == ["initial", "update", "takedown"]
    package = f"{UPC}.itmsp"
    assert sorted(f.name for f in initial.files) == [
        f"{package}/{UPC}.jpg",
        f"{package}/{UPC}_01_001.wav",
        f"{package}/metadata.xml",
    ]
    for delivery in (update, takedown):
        assert [f.name for f in delivery.files] == [f"{package}/metadata.xml"]
        assert delivery.location.endswith(f"/{package}")
        folder = outbox(repo, "apple") / delivery.location.rsplit("/", 2)[-2]
        assert files_in(folder) == [f"{package}/metadata.xml"]
        xml = (folder / package / "metadata.xml").read_bytes()
        assert b"<file_name>" not in xml  # Apple: a metadata-only package names no files


def test_render_writes_the_package_the_next_delivery_sends(
    repo: Repo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_release(repo)
    commit_at(repo, monkeypatch, "Add", "2026-03-01T12:00:00Z")
    run(repo)
    write_release(repo, title="Retitled")
    commit_at(repo, monkeypatch, "Retitle", "2026-03-01T07:00:00Z")
    rendered = tmp_path / "rendered"
    render_command(repo.root, UPC, "alpha", rendered, "update")

    run(repo)

    name = folder_of(history(repo)[-1])
    assert [p.name for p in rendered.iterdir()] == [name]
    assert files_in(rendered / name) == [f"{UPC}.xml"]  # the metadata-only update
    sent = (outbox(repo) / name / f"{UPC}.xml").read_bytes()
    assert (rendered / name / f"{UPC}.xml").read_bytes() == sent
