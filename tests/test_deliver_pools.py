"""Many releases to one target over a pool of connections (``delivery.connections``).

Every test delivers to a real server (sshd, pyftpdlib, SeaweedFS, Azurite, the HTTP API) through
a proxy at its port that numbers every chunk a client sends in the order the server gets it:
connections whose traffic interleaves in that order were open and sending at once. The
choreography is checked on what the server holds (file servers: the order files were written;
object stores and the API: the order their PUTs and POSTs arrived).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from stardust_git.choreography import commit_moment, timestamp
from stardust_git.deliver import DeliverOptions, DeliverResult, deliver
from stardust_git.receipts import read_receipt
from tests.gitrepo import Repo, make_catalog
from tests.media import write_wav
from tests.servers import ApiServer
from tests.test_protocol_endpoints import (
    Endpoint,
    TcpProxy,
    _Link,
    _send,
    make_endpoint,
    server_port,
)

RELEASES = 8
PUTS = ("PUT", "POST")
HOLD_SECONDS = 10.0
_REQUEST_LINE = re.compile(rb"(GET|HEAD|PUT|POST|DELETE) (\S+) HTTP/1\.1\r\n")


def gtin(number: int) -> str:
    """A valid 13-digit GTIN (UPC/EAN) ending in ``number``."""
    body = f"50{number:010d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str(-total % 10)


UPCS = [gtin(1000 + n) for n in range(RELEASES)]


class SequencingProxy(TcpProxy):
    """A TcpProxy that numbers each client chunk in arrival order, per connection, and keeps
    the HTTP requests (method and path) in the order they reached the server."""

    def __init__(self, upstream_port: int, meet: int = 0) -> None:
        super().__init__(upstream_port)
        self.meet = meet
        """Hold the first chunk of every connection but the first until ``meet`` connections
        were opened (at most HOLD_SECONDS): connections that come one after another, such as
        one HTTP request each, then overlap only if the client really sends them at once."""
        self._numbers = itertools.count(1)
        self.chunks: list[int] = []
        """The connection (numbered as it starts) of every chunk the server got, in order."""
        self.requests: list[str] = []
        self.expects = 0
        """Requests that asked to wait for "100 Continue" before their body."""

    def _pump_up(self, link: _Link) -> None:
        number = next(self._numbers)
        first = True
        while chunk := _receive_chunk(link):
            if first and number > 1:
                self._wait_for_company()
            first = False
            with self._lock:
                self.chunks.append(number)
                self.requests += [
                    f"{m[1].decode()} {m[2].decode()}" for m in _REQUEST_LINE.finditer(chunk)
                ]
                self.expects += chunk.lower().count(b"\r\nexpect: 100-continue\r\n")
            if not _send(link.server, chunk):
                break
        link.half_close(link.server)

    def _wait_for_company(self) -> None:
        deadline = time.monotonic() + HOLD_SECONDS
        while self.connections < self.meet and time.monotonic() < deadline:
            time.sleep(0.01)

    def most_at_once(self) -> int:
        """The most connections that had sent and were still to send at one point of the
        server's arrival order."""
        first = {n: self.chunks.index(n) for n in set(self.chunks)}
        last = {n: len(self.chunks) - 1 - self.chunks[::-1].index(n) for n in set(self.chunks)}
        points = range(len(self.chunks))
        return max((sum(first[n] <= i <= last[n] for n in first) for i in points), default=0)


def _receive_chunk(link: _Link) -> bytes:
    try:
        return link.client.recv(1 << 16)
    except OSError:
        return b""


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_catalog(tmp_path)


@dataclass
class Delivered:
    endpoint: Endpoint
    proxy: SequencingProxy
    result: DeliverResult


Deliver = Callable[..., Delivered]


@pytest.fixture
def deliver_to(
    repo: Repo, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Deliver:
    """Deliver ``count`` releases to a real server of ``protocol`` through a SequencingProxy,
    the target's delivery settings changed by ``changes``; ``before`` gets the server's folder
    (file servers) once the releases are committed, before the run."""

    def deliver_over(
        protocol: str,
        count: int = RELEASES,
        before: Callable[[Path], object] | None = None,
        **changes: object,
    ) -> Delivered:
        (tmp_path / "server").mkdir()
        endpoint = make_endpoint(protocol, request, tmp_path / "server", monkeypatch)
        with SequencingProxy(server_port(endpoint)) as proxy:
            base = add_releases(repo, proxied_settings(endpoint, proxy, **changes), count)
            if before is not None:
                before(server_folder(endpoint))
            result = run(repo, base)
        return Delivered(endpoint, proxy, result)

    return deliver_over


def target_yaml(settings: dict[str, object]) -> str:
    head = "format: ern\nern_version: '4.3'\n"
    head += "sender: {party_id: PADPIDA2025110101D, name: Indie Records}\n"
    head += "recipient: {party_id: PADPIDA2025110102B, name: DSP}\n"
    head += "message_control_type: TestMessage\n"
    return head + yaml.safe_dump({"delivery": settings}, sort_keys=False)


def proxied_settings(endpoint: Endpoint, proxy: TcpProxy, **changes: object) -> dict[str, object]:
    settings = endpoint.via_proxy(proxy.port).settings.model_dump(mode="json", exclude_none=True)
    return settings | changes


def add_releases(repo: Repo, settings: dict[str, object], count: int = RELEASES) -> str:
    """Write target ``dsp`` with ``settings`` and ``count`` releases for it; the base commit."""
    repo.write("targets/dsp.yaml", target_yaml(settings))
    base = repo.commit("The dsp target")
    for upc in UPCS[:count]:
        repo.add_release(upc, targets=("dsp",))
    repo.commit("Releases for dsp")
    return base


def run(repo: Repo, base: str) -> DeliverResult:
    return deliver(repo.root, DeliverOptions(base=base, retry_wait=0.01, commit=True))


def file_order(folder: Path) -> list[str]:
    """The files under ``folder`` in the order the server wrote them."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    files.sort(key=lambda p: p.stat().st_mtime_ns)
    return [p.relative_to(folder).as_posix() for p in files]


def arrival_order(endpoint: Endpoint, proxy: SequencingProxy) -> list[str]:
    """The delivered files, first to last, as the server received them."""
    if endpoint.protocol in ("sftp", "ftp"):
        return file_order(server_folder(endpoint))
    names = endpoint.names_remote()
    paths = [r.split(" ")[1].split("?")[0] for r in proxy.requests if r.split(" ")[0] in PUTS]
    arrived = [next((n for n in names if path.endswith(f"/{n}")), "") for path in paths]
    return [name for name in arrived if name]


def check_release_order(order: list[str]) -> None:
    """Per release folder, its resources (under resources/) first and its message last."""
    releases: dict[str, list[str]] = {}
    for name in order:
        top, _, rest = name.partition("/")
        if rest:
            releases.setdefault(top, []).append(rest)
    for top, files in releases.items():
        assert len(files) >= 3, (top, files)
        assert all(f.startswith("resources/") for f in files[:-1]), (top, files)
        assert files[-1].endswith(".xml") and "/" not in files[-1], (top, files)


def server_folder(endpoint: Endpoint) -> Path:
    """Where a file server (sshd, pyftpdlib) keeps what is delivered, on this machine."""
    directory = str(endpoint.settings.directory)  # type: ignore[attr-defined]
    if endpoint.protocol == "ftp":
        return Path(endpoint.server.root_dir) / directory.strip("/")
    return Path(directory)


@pytest.mark.parametrize("protocol", ["sftp", "ftp", "s3", "azure"])
def test_releases_go_over_four_connections_at_once_each_in_its_order(
    protocol: str, deliver_to: Deliver
) -> None:
    done = deliver_to(protocol, connections=4)

    outcomes = [(o.upc, o.status) for o in done.result.outcomes]
    assert outcomes == [(u, "success") for u in sorted(UPCS)]
    assert done.proxy.most_at_once() >= 2, done.proxy.chunks
    order = arrival_order(done.endpoint, done.proxy)
    assert len({name.split("/")[0] for name in order}) == RELEASES
    check_release_order(order)


def test_one_connection_sends_one_release_after_another(deliver_to: Deliver) -> None:
    done = deliver_to("sftp", count=3, connections=1)

    assert [o.status for o in done.result.outcomes] == ["success"] * 3
    assert done.proxy.most_at_once() == 1
    folders = [name.split("/")[0] for name in arrival_order(done.endpoint, done.proxy)]
    assert folders == sorted(folders, key=folders.index)  # each release whole, then the next
    assert len(set(folders)) == 3


def test_the_http_api_takes_releases_over_four_connections_at_once(
    repo: Repo, http_api_server: ApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_API_TOKEN", http_api_server.token)
    port = int(http_api_server.url.rsplit(":", 1)[1])
    with SequencingProxy(port, meet=3) as proxy:  # one connection per request
        url = http_api_server.deliveries_url.replace(f":{port}/", f":{proxy.port}/")
        auth = {"type": "bearer", "token": "${TEST_API_TOKEN}"}
        settings = {"protocol": "api", "url": url, "auth": auth, "connections": 4}
        base = add_releases(repo, settings)
        for seed, upc in enumerate(UPCS):  # audio big enough that sending outlasts rendering
            # a recording each: one under several ISRCs would be a duplicate recording
            write_wav(repo.root / "assets" / upc / "01.wav", seconds=3.0, rate=96000, seed=seed)
        repo.commit("Longer audio")
        result = run(repo, base)

    assert [o.status for o in result.outcomes] == ["success"] * RELEASES
    assert proxy.most_at_once() >= 2, proxy.chunks
    assert len(http_api_server.deliveries) == RELEASES
    for received in http_api_server.deliveries:  # each release whole, its message included
        fields = sorted(f.field for f in received.files)
        assert "message" in fields and len(fields) >= 3, fields


def head_moment(repo: Repo) -> str:
    """The timestamp a first delivery of HEAD names its folders with."""
    committed = dt.datetime.fromisoformat(repo.git("show", "-s", "--format=%cI", "HEAD"))
    return timestamp(commit_moment(repo.head(), committed))


def test_a_release_that_fails_leaves_the_others_delivered(repo: Repo, deliver_to: Deliver):
    def block(root: Path) -> None:  # a file where one release's folder goes
        root.mkdir(parents=True, exist_ok=True)
        (root / f"N_{UPCS[2]}_{head_moment(repo)}").write_text("in the way")

    done = deliver_to("sftp", before=block, connections=4)

    assert [o.upc for o in done.result.outcomes if o.status == "failed"] == [UPCS[2]]
    assert sum(o.status == "success" for o in done.result.outcomes) == RELEASES - 1
    assert done.proxy.most_at_once() >= 2
    receipt = read_receipt(repo.root, UPCS[2], "dsp")
    last = receipt.last() if receipt else None
    assert last is not None and last.status == "failed" and "not a folder" in last.error


@pytest.mark.parametrize("protocol", ["sftp", "s3"])
def test_a_batch_goes_over_the_pool_and_its_batch_complete_last(
    protocol: str, deliver_to: Deliver
) -> None:
    done = deliver_to(protocol, connections=4, choreography="batch")

    assert [o.status for o in done.result.outcomes] == ["success"] * RELEASES
    assert done.proxy.most_at_once() >= 2, done.proxy.chunks
    order = arrival_order(done.endpoint, done.proxy)
    (batch,) = {name.split("/")[0] for name in order}
    assert order[-1] == f"{batch}/BatchComplete_{batch.split('_', 1)[1]}.xml"
    assert len(order) > RELEASES * 3
    check_release_order([name.split("/", 1)[1] for name in order])
    manifest = done.endpoint.read_remote(order[-1]) or b""
    assert all(upc.encode() in manifest for upc in UPCS)


def test_a_batch_names_only_the_releases_that_arrived(repo: Repo, deliver_to: Deliver):
    batch = ""

    def block(root: Path) -> None:  # a file where one release's folder in the batch goes
        nonlocal batch
        batch = f"N_{head_moment(repo)}"
        (root / batch).mkdir(parents=True)
        (root / batch / UPCS[5]).write_text("in the way")

    done = deliver_to("sftp", before=block, connections=4, choreography="batch")

    assert [o.upc for o in done.result.outcomes if o.status == "failed"] == [UPCS[5]]
    root = server_folder(done.endpoint)
    manifest = (root / batch / f"BatchComplete_{batch[2:]}.xml").read_bytes()
    assert UPCS[5].encode() not in manifest
    assert all(upc.encode() in manifest for upc in UPCS if upc != UPCS[5])
    assert file_order(root)[-1].endswith(f"BatchComplete_{batch[2:]}.xml")


def test_a_release_to_an_object_store_costs_a_put_per_file_and_a_listing_per_folder(
    deliver_to: Deliver,
) -> None:
    done = deliver_to("s3", count=2, connections=1)

    assert [o.status for o in done.result.outcomes] == ["success"] * 2
    files = sum(o.files for o in done.result.outcomes)
    methods = [r.split(" ")[0] for r in done.proxy.requests]
    assert methods.count("PUT") == files
    assert methods.count("HEAD") <= 1  # the bucket, when the transport connects
    assert methods.count("GET") <= 2 * 2  # a listing per folder (the release's, resources/)
    assert done.proxy.expects == 0  # a small body goes at once, without waiting for 100 Continue
