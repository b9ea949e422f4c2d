"""End to end: `deliver --all` sends every example release to every kind of endpoint, for real.

The project's own example catalog (catalog/, assets/, genre-maps/) is copied into a fresh git
repository whose targets keep their DDEX settings and choreography but deliver to the real test
servers: spotify over SFTP, beatport over FTP, deezer over FTPS (batch), amazon to S3 (batch),
tidal to Azure Blob, youtube to the HTTP API (OAuth2); apple and local stay local directories.
Every file the receipts record must be on its server with the recorded MD5.
"""

from __future__ import annotations

import hashlib
import posixpath
import shutil
from pathlib import Path

import pytest
import yaml

from stardust_git.acks import collect_acknowledgements
from stardust_git.deliver import DeliverOptions, deliver
from stardust_git.models.receipt import Receipt, SentFile
from stardust_git.protocols import open_transport
from stardust_git.receipts import read_receipt
from tests.gitrepo import git
from tests.servers import ApiServer
from tests.test_protocol_endpoints import DELIVERY_DIR, Endpoint, TcpProxy, make_endpoint

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVED = {
    "spotify": "sftp",
    "beatport": "ftp",
    "deezer": "ftps",
    "amazon": "s3",
    "tidal": "azure",
}


@pytest.fixture
def endpoints(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Endpoint]:
    found = {}
    for target, protocol in SERVED.items():
        (tmp_path / target).mkdir()
        found[target] = make_endpoint(protocol, request, tmp_path / target, monkeypatch)
    return found


@pytest.fixture
def root(
    endpoints: dict[str, Endpoint],
    http_api_server: ApiServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """The example catalog's repository, delivering to ``endpoints`` and the HTTP API."""
    root = tmp_path / "repo"
    root.mkdir()
    catalog_repository(root, endpoints, http_api_server, monkeypatch)
    return root


def catalog_repository(
    root: Path, endpoints: dict[str, Endpoint], api: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A git repository with the example catalog, its targets pointed at the test servers."""
    for folder in ("catalog", "assets", "genre-maps"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    (root / "targets").mkdir()
    for source in sorted((REPO_ROOT / "targets").glob("*.yaml")):
        target = yaml.safe_load(source.read_text())
        choreography = target["delivery"].get("choreography", "release-by-release")
        if source.stem in endpoints:
            settings = endpoints[source.stem].settings.model_dump(mode="json", exclude_none=True)
            target["delivery"] = settings | {"choreography": choreography}
        elif target["delivery"]["protocol"] == "api":
            monkeypatch.setenv("E2E_API_CLIENT_SECRET", api.credentials.client_secret)
            target["delivery"] |= {
                "url": api.deliveries_url,
                "auth": target["delivery"]["auth"]
                | {
                    "token_url": api.token_url,
                    "client_id": api.credentials.client_id,
                    "client_secret": "${E2E_API_CLIENT_SECRET}",
                },
            }
        (root / "targets" / source.name).write_text(yaml.safe_dump(target, sort_keys=False))
    (root / ".gitignore").write_text("outbox/\n.stardust-cache/\n")
    git(root, "init", "--quiet", "--initial-branch=main")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "The example catalog")


def receipts(root: Path) -> dict[tuple[str, str], Receipt]:
    found = {}
    for path in sorted((root / "receipts").glob("*/*.json")):
        receipt = read_receipt(root, path.parent.name, path.stem)
        assert receipt is not None
        found[(receipt.upc, receipt.target)] = receipt
    return found


def wanted_pairs(root: Path) -> set[tuple[str, str]]:
    pairs = set()
    for path in (root / "catalog").rglob("*.yaml"):
        release = yaml.safe_load(path.read_text())
        pairs |= {(str(release["upc"]), name) for name in release["targets"]}
    return pairs


def test_every_example_release_reaches_every_kind_of_endpoint_with_receipts(
    root: Path, endpoints: dict[str, Endpoint], http_api_server: ApiServer
):
    result = deliver(root, DeliverOptions(all_=True, retry_wait=0.01))

    assert [o for o in result.outcomes if o.status != "success"] == []
    delivered = receipts(root)
    assert set(delivered) == wanted_pairs(root)
    assert {target for _, target in delivered} >= {*SERVED, "youtube"}
    for (upc, target), receipt in delivered.items():
        last = receipt.last()
        assert last is not None and last.status == "success", (upc, target)
        if target in endpoints:
            check_on_server(endpoints[target], root, target, last.location, last.files)

    for endpoint in endpoints.values():
        assert not [name for name in endpoint.names_remote() if ".part-" in name]
    check_batches_closed_last(endpoints)
    check_api(http_api_server, delivered)

    again = deliver(root, DeliverOptions(all_=True, retry_wait=0.01))
    assert again.outcomes == []  # everything is recorded: a rerun sends nothing

    for target in ("spotify", "amazon"):  # release by release, and in a batch
        upc = acknowledge_one(endpoints[target], root, target, delivered)
        report = collect_acknowledgements(root, [target])
        assert [(a.upc, a.status) for a in report.recorded] == [(upc, "FileOK")]
        receipt = read_receipt(root, upc, target)
        last = receipt.last() if receipt else None
        assert last is not None and last.acknowledgements[0].status == "FileOK"


def acknowledge_one(
    endpoint: Endpoint, root: Path, target: str, delivered: dict[tuple[str, str], Receipt]
) -> str:
    """Write a DSP's FileOK acknowledgement into one delivery's folder; the release's UPC."""
    upc = sorted(upc for upc, name in delivered if name == target)[0]
    last = delivered[(upc, target)].last()
    assert last is not None
    transport = open_transport(target, endpoint.settings, root)
    folder = last.location[len(transport.location("")) :].strip("/")
    ack = (
        "<FtpAcknowledgementMessage><MessageHeader><MessageId>A1</MessageId></MessageHeader>"
        f"<AcknowledgedFile><FileName>{upc}.xml</FileName></AcknowledgedFile>"
        "<FileStatus>FileOK</FileStatus></FtpAcknowledgementMessage>"
    ).encode()
    with transport:
        name = f"{folder}/ACK_{last.message_id}_20250101123000.xml"
        transport.put_bytes(ack, name, hashlib.md5(ack).hexdigest())
    return upc


def check_on_server(
    endpoint: Endpoint,
    root: Path,
    target: str,
    location: str,
    files: list[SentFile],
    **changes: object,
) -> None:
    """Every file of a receipt is on the server with its MD5 (``changes``: as delivered)."""
    settings = endpoint.settings.model_copy(update=changes)
    base = open_transport(target, settings, root).location("")
    assert location.startswith(base), (location, base)
    folder = location[len(base) :].strip("/")
    for sent in files:
        content = endpoint.read_remote(posixpath.join(folder, sent.name))
        assert content is not None, (target, folder, sent.name)
        assert hashlib.md5(content).hexdigest() == sent.md5, (target, sent.name)


def check_batches_closed_last(endpoints: dict[str, Endpoint]) -> None:
    for target in ("deezer", "amazon"):
        names = endpoints[target].names_remote()
        batches = {name.split("/")[0] for name in names}
        for batch in batches:
            markers = [n for n in names if n.startswith(f"{batch}/BatchComplete_")]
            assert markers == [f"{batch}/BatchComplete_{batch.split('_', 1)[1]}.xml"], names


def check_api(api: ApiServer, delivered: dict[tuple[str, str], Receipt]) -> None:
    youtube = {upc for upc, target in delivered if target == "youtube"}
    assert len(api.deliveries) == len(youtube)
    for received in api.deliveries:
        [message] = [f for f in received.files if f.field == "message"]
        upc = message.name.removesuffix(".xml")
        last = delivered[(upc, "youtube")].last()
        assert last is not None
        sent = {f.name: f.md5 for f in last.files}
        assert {f.name: f.md5 for f in received.files} == sent


def test_a_rerun_resumes_in_the_same_folder_without_sending_complete_files_again(
    root: Path, endpoints: dict[str, Endpoint]
):
    """As after a run that died before its receipts: the resources are there, the XML is not."""
    first = deliver(root, DeliverOptions(all_=True, retry_wait=0.01))
    assert [o for o in first.outcomes if o.status != "success"] == []
    checked = {"spotify": "sftp", "beatport": "ftp", "tidal": "azure"}
    before = {target: identities(endpoints[target]) for target in checked}
    for target in checked:
        for name in before[target]:
            if name.endswith(".xml"):
                remove_remote(endpoints[target], name)
    shutil.rmtree(root / "receipts")  # no receipts: the plan sends every release again

    second = deliver(root, DeliverOptions(all_=True, retry_wait=0.01))

    assert [o for o in second.outcomes if o.status != "success"] == []
    for target in checked:
        after = identities(endpoints[target])
        assert sorted(after) == sorted(before[target])  # the same folders, the same files
        resent = sorted(name for name in after if after[name] != before[target][name])
        assert resent == sorted(name for name in after if name.endswith(".xml")), target


def identities(endpoint: Endpoint) -> dict[str, object]:
    """Each file's identity on the server: inode and change time, or the blob's ETag.

    The inode alone is not enough: a file removed and written again may get its old inode back.
    """
    if endpoint.protocol == "azure":
        blobs = endpoint.server.service_client().get_container_client(endpoint.settings.container)
        prefix = endpoint.settings.prefix
        return {
            blob.name.removeprefix(prefix): blob.etag
            for blob in blobs.list_blobs(name_starts_with=prefix)
        }
    folder = served_folder(endpoint)
    stats = {name: (folder / name).stat() for name in endpoint.names_remote()}
    return {name: (stat.st_ino, stat.st_ctime_ns) for name, stat in stats.items()}


def remove_remote(endpoint: Endpoint, name: str) -> None:
    if endpoint.protocol == "azure":
        blobs = endpoint.server.service_client().get_container_client(endpoint.settings.container)
        blobs.delete_blob(endpoint.settings.prefix + name)
    else:
        (served_folder(endpoint) / name).unlink()


def served_folder(endpoint: Endpoint) -> Path:
    base = endpoint.server.data_dir if endpoint.protocol == "sftp" else endpoint.server.root_dir
    return base / DELIVERY_DIR


def point_target(root: Path, name: str, **changes: object) -> None:
    """Change a target's delivery settings and commit (deliver wants a clean catalog)."""
    path = root / "targets" / f"{name}.yaml"
    target = yaml.safe_load(path.read_text())
    target["delivery"] |= changes
    path.write_text(yaml.safe_dump(target, sort_keys=False))
    git(root, "commit", "--quiet", "-am", f"Point {name} elsewhere")


def test_a_connection_dropped_mid_file_is_retried_by_the_engine_and_completes(
    root: Path, endpoints: dict[str, Endpoint]
):
    sftp = endpoints["spotify"]
    with TcpProxy(sftp.server.port, cut_after=1 << 20) as proxy:
        point_target(root, "spotify", port=proxy.port)
        result = deliver(root, DeliverOptions(all_=True, retry_wait=0.01, targets=["spotify"]))
    assert proxy.cuts == 1
    assert [o.status for o in result.outcomes] == ["success"] * len(result.outcomes)
    assert sum(o.retries for o in result.outcomes) == 1
    for (_, target), receipt in receipts(root).items():
        last = receipt.last()
        assert last is not None
        check_on_server(sftp, root, target, last.location, last.files, port=proxy.port)


def test_a_wrong_password_fails_once_without_retries(
    root: Path, endpoints: dict[str, Endpoint], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("WRONG_FTP_PASSWORD", "not-the-password")
    ftp = endpoints["beatport"]
    with TcpProxy(ftp.server.port) as proxy:
        point_target(root, "beatport", port=proxy.port, password="${WRONG_FTP_PASSWORD}")
        result = deliver(root, DeliverOptions(all_=True, retry_wait=0.01, targets=["beatport"]))
    [outcome] = result.outcomes
    assert (outcome.status, outcome.attempts, outcome.retries) == ("failed", 1, 0)
    assert "login refused for user" in outcome.error and "not-the-password" not in outcome.error
    assert proxy.connections == 1
    [receipt] = receipts(root).values()
    last = receipt.last()
    assert last is not None and (last.status, last.attempts) == ("failed", 1)
    assert ftp.names_remote() == []
