"""Acknowledgements: parsed safely, read back from real targets, recorded in the receipts."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from pathlib import Path

import pytest

from stardust_git.acks import collect_acknowledgements, parse_ack
from stardust_git.commands.acks import acks_command
from stardust_git.errors import UserError
from stardust_git.models.receipt import Delivery
from stardust_git.protocols import open_transport
from stardust_git.receipts import read_receipt, record_delivery
from tests.servers._process import free_port
from tests.test_protocol_endpoints import FILE_PROTOCOLS, make_endpoint, write_target

UPC = "1234567890128"
OTHER_UPC = "5012345678900"
FOLDER = f"N_{UPC}_20250101120000000"
OTHER_FOLDER = f"N_{OTHER_UPC}_20250101120500000"
NOW = dt.datetime(2025, 1, 2, 9, 30, tzinfo=dt.UTC)


def ftp_ack(acknowledged_file: str, status: str, ack_id: str = "ACK-1", error: str = "") -> bytes:
    """An ERN choreography FtpAcknowledgementMessage, as a DSP writes it."""
    error_text = f"<ErrorText>{error}</ErrorText>" if error else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ernc:FtpAcknowledgementMessage xmlns:ernc="http://ddex.net/xml/ern-c/15" MessageVersionId="1.5">
  <MessageHeader>
    <MessageId>{ack_id}</MessageId>
    <MessageSender><PartyId>PADPIDA2011072101T</PartyId></MessageSender>
    <MessageRecipient><PartyId>PADPIDA2014120301A</PartyId></MessageRecipient>
    <MessageCreatedDateTime>2025-01-01T12:30:00Z</MessageCreatedDateTime>
  </MessageHeader>
  <AcknowledgedFile><FileName>{acknowledged_file}</FileName></AcknowledgedFile>
  <FileStatus>{status}</FileStatus>{error_text}
</ernc:FtpAcknowledgementMessage>
""".encode()


def test_an_ern_choreography_acknowledgement_is_read_by_element_names():
    document = parse_ack(
        ftp_ack(f"{FOLDER}/{UPC}.xml", "ResourceCorrupt", error="track 2 is truncated"),
        "acknowledgements/ACK_MSG-7_20250101123000.xml",
    )
    assert document.status == "ResourceCorrupt"
    assert document.message_id == "ACK-1"
    assert document.detail == "track 2 is truncated"
    assert document.references == {UPC, "MSG-7"}  # the acknowledged file and the ACK's name


def test_an_acknowledgement_naming_the_original_message_id_refers_to_it():
    data = b"""<AcknowledgementMessage><MessageHeader><MessageId>A9</MessageId></MessageHeader>
    <Acknowledgement><OriginalMessageId>MSG-42</OriginalMessageId>
    <MessageStatus>ProcessedOK</MessageStatus></Acknowledgement></AcknowledgementMessage>"""
    document = parse_ack(data, "ACK_x.xml")
    assert (document.status, document.references) == ("ProcessedOK", {"MSG-42", "x"})


@pytest.mark.parametrize(
    "hostile",
    [
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<a><FileStatus>&x;</FileStatus></a>",
        b'<!DOCTYPE a [<!ENTITY l "lol"><!ENTITY l2 "&l;&l;&l;&l;">]><a><FileStatus>&l2;'
        b"</FileStatus></a>",
    ],
    ids=["external-entity", "entity-expansion"],
)
def test_a_doctype_is_refused_before_any_entity_is_read(hostile: bytes):
    with pytest.raises(UserError, match="DOCTYPE"):
        parse_ack(hostile, "ACK_evil.xml")


def test_a_file_without_a_status_is_not_an_acknowledgement():
    with pytest.raises(UserError, match="no status"):
        parse_ack(b"<Something><MessageId>1</MessageId></Something>", "ACK_1.xml")


# -- against the targets ----------------------------------------------------------------------


def record(root: Path, upc: str, message_id: str, location: str) -> None:
    started = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)
    delivery = Delivery(
        message_id=message_id,
        action="initial",
        commit="a" * 40,
        format="ern/4.3",
        location=location,
        started=started,
        finished=started + dt.timedelta(seconds=5),
        attempts=1,
        status="success",
    )
    record_delivery(root, upc, "shop", delivery)


def put(transport, path: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    transport.put_bytes(data, path, hashlib.md5(data).hexdigest())


@pytest.fixture(params=[*FILE_PROTOCOLS, "local"])
def shop(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A repository with the target "shop" on a real server and two delivered releases."""
    root = tmp_path / "repo"
    root.mkdir()
    if request.param == "local":
        delivery: dict[str, object] = {"protocol": "local", "directory": "outbox"}
    else:
        endpoint = make_endpoint(request.param, request, tmp_path, monkeypatch)
        delivery = endpoint.settings.model_dump(mode="json", exclude_none=True)
    write_target(root, "shop", delivery)
    from stardust_git.source.catalog import Catalog, load_targets

    catalog = Catalog(root=root)
    load_targets(root, catalog)
    transport = open_transport("shop", catalog.targets["shop"].model.delivery, root)
    record(root, UPC, "MSG-1", transport.location(FOLDER))
    record(root, OTHER_UPC, "MSG-2", transport.location(OTHER_FOLDER))
    with transport:
        yield root, transport


def last_acks(root: Path, upc: str) -> list[tuple[str, str | None]]:
    receipt = read_receipt(root, upc, "shop")
    assert receipt is not None
    last = receipt.last()
    assert last is not None
    return [(ack.status, ack.file) for ack in last.acknowledgements]


def test_acknowledgements_are_matched_to_their_deliveries_and_recorded_once(shop):
    root, transport = shop
    put(transport, f"{FOLDER}/ACK_{UPC}_20250101123000.xml", ftp_ack(f"{UPC}.xml", "FileOK"))
    put(
        transport,
        "acknowledgements/ACK_MSG-2_20250101124000.xml",
        ftp_ack(f"{OTHER_UPC}.xml", "ResourceCorrupt", "ACK-2", "bad audio"),
    )
    put(transport, f"{FOLDER}/{UPC}.xml", b"<NewReleaseMessage/>")  # not an acknowledgement

    report = collect_acknowledgements(root, now=NOW)

    assert sorted((a.upc, a.status) for a in report.recorded) == [
        (UPC, "FileOK"),
        (OTHER_UPC, "ResourceCorrupt"),
    ]
    assert last_acks(root, UPC) == [("FileOK", f"{FOLDER}/ACK_{UPC}_20250101123000.xml")]
    other_receipt = read_receipt(root, OTHER_UPC, "shop")
    other_last = other_receipt.last() if other_receipt else None
    assert other_last is not None
    other = other_last.acknowledgements
    assert [(a.status, a.detail, a.message_id, a.received_at) for a in other] == [
        ("ResourceCorrupt", "bad audio", "ACK-2", NOW)
    ]
    assert report.problems == [] and report.unreachable == []

    again = collect_acknowledgements(root, now=NOW)
    assert again.recorded == [] and again.receipts == []
    assert len(last_acks(root, UPC)) == 1


def test_a_later_acknowledgement_changes_the_status(shop):
    root, transport = shop
    put(transport, f"{FOLDER}/ACK_{UPC}_20250101123000.xml", ftp_ack(f"{UPC}.xml", "FileOK"))
    collect_acknowledgements(root, now=NOW)
    put(transport, f"{FOLDER}/ACK_{UPC}_20250102090000.xml", ftp_ack(f"{UPC}.xml", "ProcessedOK"))
    collect_acknowledgements(root, now=NOW)
    assert [status for status, _ in last_acks(root, UPC)] == ["FileOK", "ProcessedOK"]


def test_an_unreadable_acknowledgement_is_reported_and_the_others_recorded(shop):
    root, transport = shop
    put(transport, f"{FOLDER}/ACK_{UPC}_1.xml", b"<not-closed>")
    put(transport, f"{FOLDER}/ACK_{UPC}_20250101123000.xml", ftp_ack(f"{UPC}.xml", "FileOK"))
    report = collect_acknowledgements(root, now=NOW)
    assert [a.status for a in report.recorded] == ["FileOK"]
    assert len(report.problems) == 1
    assert f"{FOLDER}/ACK_{UPC}_1.xml" in report.problems[0]


def test_an_unreachable_target_fails_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    port = free_port()
    write_target(
        tmp_path,
        "shop",
        {"protocol": "ftp", "host": "127.0.0.1", "port": port, "username": "u", "password": "${P}"},
    )
    record(tmp_path, UPC, "MSG-1", f"ftp://127.0.0.1:{port}/{FOLDER}")
    assert acks_command(tmp_path) == 1
    assert "error: shop:" in capsys.readouterr().err


def test_acks_commits_the_changed_receipts_when_asked(tmp_path: Path):
    root = tmp_path / "repo"
    root.mkdir()
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    write_target(root, "shop", {"protocol": "local", "directory": "outbox"})
    record(root, UPC, "MSG-1", f"local:outbox/{FOLDER}")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "start"], check=True)
    ack_file = root / "outbox" / FOLDER / f"ACK_{UPC}_20250101123000.xml"
    ack_file.parent.mkdir(parents=True)
    ack_file.write_bytes(ftp_ack(f"{UPC}.xml", "FileOK"))

    assert acks_command(root, commit=True) == 0

    log = subprocess.run([*git, "log", "--format=%s", "-1"], capture_output=True, text=True)
    assert log.stdout.strip() == "stardust-git: acknowledgements (1 new) [skip ci]"
    changed = subprocess.run(
        [*git, "show", "--name-only", "--format="], capture_output=True, text=True
    )
    assert changed.stdout.split() == [f"receipts/{UPC}/shop.json"]


# --- issue 10: what a DSP writes is capped --------------------------------------------------------


def local_shop(tmp_path: Path) -> tuple[Path, Path]:
    """A repository with a local target and one delivered release; its delivery folder."""
    root = tmp_path / "repo"
    root.mkdir()
    write_target(root, "shop", {"protocol": "local", "directory": "outbox"})
    record(root, UPC, "MSG-1", f"local:outbox/{FOLDER}")
    folder = root / "outbox" / FOLDER
    folder.mkdir(parents=True)
    return root, folder


def test_a_3_mb_acknowledgement_is_refused_before_parsing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """Before: a 3 MB status was stored verbatim in the receipt. Now: the file is not read."""
    root, folder = local_shop(tmp_path)
    name = f"ACK_{UPC}_20250101123000.xml"
    (folder / name).write_bytes(ftp_ack(f"{UPC}.xml", "ErrorInFile" + "x" * 3_000_000))
    receipt_before = (root / f"receipts/{UPC}/shop.json").read_bytes()
    size = (folder / name).stat().st_size

    assert acks_command(root) == 0

    assert (root / f"receipts/{UPC}/shop.json").read_bytes() == receipt_before
    assert capsys.readouterr().err.splitlines()[0] == (
        f"warning: shop: {FOLDER}/{name}: {size:,} bytes is too large for an acknowledgement"
        " (at most 1,048,576); not read"
    )


def test_every_acknowledgement_field_kept_is_capped_at_1000_characters(tmp_path: Path):
    root, folder = local_shop(tmp_path)
    name = f"ACK_{UPC}_20250101123000.xml"
    status = "ErrorInFile" + "s" * 900_000  # under the file limit, far over the field limit
    (folder / name).write_bytes(
        ftp_ack(f"{UPC}.xml", status, ack_id="A" * 5_000, error="d" * 5_000)
    )

    report = collect_acknowledgements(root, now=NOW)

    assert [a.upc for a in report.recorded] == [UPC]
    receipt = read_receipt(root, UPC, "shop")
    assert receipt is not None and receipt.last() is not None
    (ack,) = receipt.last().acknowledgements  # type: ignore[union-attr]
    assert ack.status == status[:999] + "…"
    assert ack.message_id == "A" * 999 + "…"
    assert ack.detail == "d" * 999 + "…"
    assert (root / f"receipts/{UPC}/shop.json").stat().st_size < 10_000
