"""Shared support for the protocol tests: one Endpoint per file-server protocol, a TCP proxy.

(benchmarks/bench_protocols.py uses the settings builders and the local-file helpers too.)
An Endpoint pairs a target's delivery settings (pointing at a real server from tests.servers)
with the server's own view of what it holds, read without the transport under test: the
server's directory for SFTP and FTP, the SDK clients for S3 and Azure. The TCP proxy stands
between a client and a server to count connections and to cut one mid-transfer. The tests at the
bottom check the proxy itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from azure.core.exceptions import ResourceNotFoundError
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from pydantic import BaseModel
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import DTPHandler, FTPHandler, TLS_FTPHandler
from pyftpdlib.servers import FTPServer

from stardust_git.models.target import (
    AzureDelivery,
    FtpDelivery,
    FtpsDelivery,
    S3Delivery,
    SftpDelivery,
)
from stardust_git.protocols import open_transport
from stardust_git.protocols.base import Transport
from stardust_git.protocols.ftp import FtpProtocol, FtpsProtocol
from tests.servers import AzureServer, FtpServer, S3Server, SftpServer, write_tls_files

HOST = "127.0.0.1"
FILE_PROTOCOLS = ["sftp", "ftp", "ftps", "s3", "azure"]
SERVER_FIXTURES = {
    "sftp": "sshd_server",
    "ftp": "ftp_server",
    "ftps": "ftps_server",
    "s3": "s3_server",
    "azure": "azurite_server",
}
DELIVERY_DIR = "inbox/label"
MIB = 1 << 20


@dataclass
class Endpoint:
    """A target's delivery settings for one real server, and that server's view of its files."""

    protocol: str
    settings: BaseModel
    root: Path
    server: Any
    read_remote: Callable[[str], bytes | None]
    """The content the server holds at a path relative to the delivery folder, or None."""
    names_remote: Callable[[], list[str]]
    """Every file the server holds under the delivery folder, temporary ones included."""
    env: dict[str, str] = field(default_factory=dict)
    """The secrets the settings reference (already set in this process's environment)."""

    def transport(self, **changes: Any) -> Transport:
        return open_transport("dsp", self.settings.model_copy(update=changes), self.root)

    def via_proxy(self, port: int, **changes: Any) -> Transport:
        """A transport that reaches the server through a proxy on HOST:port."""
        if self.protocol == "s3":
            return self.transport(endpoint_url=f"http://{HOST}:{port}", **changes)
        if self.protocol == "azure":
            url = str(self.settings.account_url).replace(  # type: ignore[attr-defined]
                f":{server_port(self)}/", f":{port}/"
            )
            return self.transport(account_url=url, **changes)
        return self.transport(host=HOST, port=port, **changes)


def server_port(endpoint: Endpoint) -> int:
    if endpoint.protocol == "s3":
        return int(endpoint.server.endpoint_url.rsplit(":", 1)[1])
    if endpoint.protocol == "azure":
        return int(endpoint.server.account_url.split(":")[2].split("/")[0])
    return int(endpoint.server.port)


def make_endpoint(
    protocol: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Endpoint:
    server = request.getfixturevalue(SERVER_FIXTURES[protocol])
    makers = {
        "sftp": _sftp_endpoint,
        "ftp": _ftp_endpoint,
        "ftps": _ftp_endpoint,
        "s3": _s3_endpoint,
        "azure": _azure_endpoint,
    }
    endpoint = makers[protocol](server, request, tmp_path)
    for name, value in endpoint.env.items():
        monkeypatch.setenv(name, value)
    return endpoint


def file_endpoint_fixture() -> Any:
    """An ``endpoint`` fixture over every file protocol; a module takes it as
    ``endpoint = file_endpoint_fixture()``."""

    @pytest.fixture(params=FILE_PROTOCOLS)
    def endpoint(
        request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> Endpoint:
        return make_endpoint(request.param, request, tmp_path, monkeypatch)

    return endpoint


def sftp_settings(server: SftpServer, **changes: object) -> SftpDelivery:
    """Settings for a test sshd, delivering into its ``inbox``: its key (``${TEST_SFTP_KEY}``),
    or its password (``${TEST_SFTP_PASSWORD}``) where it takes only that."""
    fields: dict[str, object] = {
        "protocol": "sftp",
        "host": server.host,
        "port": server.port,
        "username": server.username,
        "host_key": server.host_key,
        "directory": str(server.data_dir / "inbox"),
    }
    if server.password is None:
        fields["private_key"] = "${TEST_SFTP_KEY}"
    else:
        fields["password"] = "${TEST_SFTP_PASSWORD}"
    return SftpDelivery(**(fields | changes))


def ftp_settings(server: FtpServer, **changes: object) -> FtpDelivery:
    """Settings for a test FTP server (FTPS, trusting its CA, where it speaks TLS), delivering
    into ``/inbox``, with the password ``${TEST_FTP_PASSWORD}``."""
    fields: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "username": server.username,
        "password": "${TEST_FTP_PASSWORD}",
        "directory": "/inbox",
    }
    if server.tls:
        tls = {"protocol": "ftps", "ca_file": str(server.ca_file)}
        return FtpsDelivery(**(fields | tls | changes))
    return FtpDelivery(**(fields | {"protocol": "ftp"} | changes))


def _files_under(folder: Path) -> Callable[[], list[str]]:
    def names() -> list[str]:
        if not folder.is_dir():
            return []
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())

    return names


def _file_reader(folder: Path) -> Callable[[str], bytes | None]:
    def read(path: str) -> bytes | None:
        file = folder / path
        return file.read_bytes() if file.is_file() else None

    return read


def _sftp_endpoint(server: SftpServer, request: pytest.FixtureRequest, tmp_path: Path) -> Endpoint:
    folder = server.data_dir / DELIVERY_DIR
    settings = sftp_settings(server, directory=str(folder))
    env = {"TEST_SFTP_KEY": server.private_key_path.read_text()}
    return Endpoint(
        "sftp", settings, tmp_path, server, _file_reader(folder), _files_under(folder), env
    )


def _ftp_endpoint(server: FtpServer, request: pytest.FixtureRequest, tmp_path: Path) -> Endpoint:
    folder = server.root_dir / DELIVERY_DIR
    settings = ftp_settings(server, directory=f"/{DELIVERY_DIR}")
    env = {"TEST_FTP_PASSWORD": server.password}
    return Endpoint(
        settings.protocol,
        settings,
        tmp_path,
        server,
        _file_reader(folder),
        _files_under(folder),
        env,
    )


def _s3_endpoint(server: S3Server, request: pytest.FixtureRequest, tmp_path: Path) -> Endpoint:
    bucket = server.new_bucket()
    prefix = f"{DELIVERY_DIR}/"
    settings = S3Delivery(
        protocol="s3",
        bucket=bucket,
        prefix=prefix,
        region=server.region,
        endpoint_url=server.endpoint_url,
        access_key_id="${TEST_S3_KEY_ID}",
        secret_access_key="${TEST_S3_SECRET}",
        multipart_threshold_mib=5,
        part_size_mib=16,
    )
    client = server.client()

    def read(path: str) -> bytes | None:
        try:
            return bytes(client.get_object(Bucket=bucket, Key=prefix + path)["Body"].read())
        except client.exceptions.NoSuchKey:
            return None

    def names() -> list[str]:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
        return sorted(key.removeprefix(prefix) for key in keys)

    env = {"TEST_S3_KEY_ID": server.access_key_id, "TEST_S3_SECRET": server.secret_access_key}
    return Endpoint("s3", settings, tmp_path, server, read, names, env)


def _azure_endpoint(
    server: AzureServer, request: pytest.FixtureRequest, tmp_path: Path
) -> Endpoint:
    container = server.new_container()
    prefix = f"{DELIVERY_DIR}/"
    settings = AzureDelivery(
        protocol="azure",
        container=container,
        prefix=prefix,
        account_url=server.account_url,
        account_key="${TEST_AZURE_KEY}",
    )
    blobs = server.service_client().get_container_client(container)

    def read(path: str) -> bytes | None:
        try:
            return blobs.download_blob(prefix + path).readall()
        except ResourceNotFoundError:
            return None

    def names() -> list[str]:
        return sorted(
            b.name.removeprefix(prefix) for b in blobs.list_blobs(name_starts_with=prefix)
        )

    env = {"TEST_AZURE_KEY": server.account_key}
    return Endpoint("azure", settings, tmp_path, server, read, names, env)


def other_private_key() -> str:
    """A fresh Ed25519 private key in OpenSSH format, which no test server knows."""
    key = Ed25519PrivateKey.generate()
    encoded = key.private_bytes(Encoding.PEM, PrivateFormat.OpenSSH, NoEncryption())
    return encoded.decode()


def other_host_key() -> str:
    """A fresh Ed25519 public key as a target pins it ("ssh-ed25519 AAAA...")."""
    public = Ed25519PrivateKey.generate().public_key()
    return public.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()


# -- an FTP server in this process, for faults the pyftpdlib command line cannot make --------

INPROCESS_FTP_USER = "deliver"
INPROCESS_FTP_PASSWORD = "inprocess-password"


@dataclass(frozen=True)
class InprocessFtp:
    port: int
    ca_file: Path | None

    def transport(self, root: Path, password: str) -> Transport:
        """An FTP transport (FTPS where the server has a CA) delivering into ``/inbox`` as
        INPROCESS_FTP_USER with ``password`` (a ``${ENV}`` reference)."""
        common = {"host": HOST, "port": self.port, "username": INPROCESS_FTP_USER}
        common |= {"password": password, "directory": "/inbox"}
        if self.ca_file is None:
            return FtpProtocol("dsp", FtpDelivery(protocol="ftp", **common), root)
        settings = FtpsDelivery(protocol="ftps", ca_file=str(self.ca_file), **common)
        return FtpsProtocol("dsp", settings, root)


@contextmanager
def inprocess_ftp_server(
    root: Path,
    *,
    tls: bool = False,
    dtp_handler: type[DTPHandler] | None = None,
    without_commands: tuple[str, ...] = (),
) -> Iterator[InprocessFtp]:
    """pyftpdlib serving ``root`` from a thread, optionally with its own data handler or with
    some commands missing (answered "500 Command not understood", as by older servers)."""
    authorizer = DummyAuthorizer()
    authorizer.add_user(INPROCESS_FTP_USER, INPROCESS_FTP_PASSWORD, str(root), perm="elradfmwMT")
    base = TLS_FTPHandler if tls else FTPHandler
    attributes: dict[str, object] = {
        "authorizer": authorizer,
        "proto_cmds": {k: v for k, v in base.proto_cmds.items() if k not in without_commands},
    }
    if dtp_handler is not None:
        attributes["dtp_handler"] = dtp_handler
    ca_file = None
    if tls:
        files = write_tls_files(root.parent)
        ca_file = files.ca_file
        attributes |= {"certfile": str(files.cert_file), "keyfile": str(files.key_file)}
        attributes |= {"tls_control_required": True, "tls_data_required": True}
    server = FTPServer((HOST, 0), type("Handler", (base,), attributes))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            server.serve_forever(timeout=0.02, blocking=False, handle_exit=False)

    thread = threading.Thread(target=serve, daemon=True, name="inprocess-ftp")
    thread.start()
    try:
        yield InprocessFtp(server.address[1], ca_file)
    finally:
        stop.set()
        thread.join(5)
        server.close_all()


# -- local files ----------------------------------------------------------------------------


def write_target(root: Path, name: str, delivery: dict[str, object]) -> None:
    """``targets/<name>.yaml``: an ERN 4.3 target delivering by ``delivery``."""
    target = {
        "format": "ern",
        "ern_version": "4.3",
        "sender": {"party_id": "PADPIDA2014120301A", "name": "Indie Records"},
        "recipient": {"party_id": "PADPIDA2011072101T", "name": "A Shop"},
        "delivery": delivery,
    }
    (root / "targets").mkdir(parents=True, exist_ok=True)
    (root / "targets" / f"{name}.yaml").write_text(yaml.safe_dump(target, sort_keys=False))


def random_file(path: Path, size: int) -> Path:
    """A file of ``size`` random bytes, written 1 MiB at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        left = size
        while left > 0:
            left -= out.write(os.urandom(min(MIB, left)))
    return path


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as stream:
        while chunk := stream.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


# -- a TCP proxy ----------------------------------------------------------------------------


class TcpProxy:
    """Forward HOST:port to a server; count connections; optionally cut one mid-stream.

    With ``cut_after``, the first connection that has carried that many bytes from the client
    is closed on both sides at once, as when a server drops a connection; later ones pass.
    """

    def __init__(self, upstream_port: int, cut_after: int | None = None) -> None:
        self.upstream_port = upstream_port
        self.cut_after = cut_after
        self.connections = 0
        self.cuts = 0
        self.bytes_up = 0
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.05)  # so that the accept loop sees the stop flag
        self._stopped = threading.Event()
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True, name="tcp-proxy")

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopped.set()
        self._thread.join(5)
        self._listener.close()
        with self._lock:
            for sock in self._open:
                _close(sock)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            server = socket.create_connection((HOST, self.upstream_port))
            with self._lock:
                self.connections += 1
                self._open += [client, server]
            link = _Link(client, server)
            threading.Thread(target=self._pump_up, args=(link,), daemon=True).start()
            threading.Thread(target=_pump, args=(server, client, link), daemon=True).start()

    def _pump_up(self, link: _Link) -> None:
        while chunk := _receive(link.client):
            with self._lock:
                self.bytes_up += len(chunk)
                link.carried += len(chunk)
                cut = self.cut_after is not None and self.cuts == 0
                cut = cut and link.carried >= self.cut_after  # type: ignore[operator]
                self.cuts += cut
            if cut:
                link.close()
                return
            if not _send(link.server, chunk):
                break
        link.half_close(link.server)


@dataclass
class _Link:
    client: socket.socket
    server: socket.socket
    carried: int = 0
    ended: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def half_close(self, target: socket.socket) -> None:
        """One direction ended: pass the end on; close both once both directions ended."""
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)
        with self.lock:
            self.ended += 1
            both = self.ended == 2
        if both:
            self.close()

    def close(self) -> None:
        _close(self.client)
        _close(self.server)


def _pump(source: socket.socket, target: socket.socket, link: _Link) -> None:
    while chunk := _receive(source):
        if not _send(target, chunk):
            break
    link.half_close(target)


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(1 << 16)
    except OSError:
        return b""


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


@pytest.fixture
def echo_server() -> Iterator[int]:
    """A TCP echo server on HOST, for testing the proxy."""
    listener = socket.create_server((HOST, 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                while data := _receive(conn):
                    _send(conn, data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    listener.close()


def test_proxy_forwards_bytes_both_ways_and_counts_connections(echo_server: int):
    with TcpProxy(echo_server) as proxy:
        for payload in (b"first", b"second" * 1000):
            with socket.create_connection((HOST, proxy.port), timeout=5) as sock:
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
                received = b"".join(iter(lambda: sock.recv(4096), b""))
            assert received == payload
        assert proxy.connections == 2


def test_proxy_cuts_the_first_connection_after_n_bytes_and_only_that_one(echo_server: int):
    with TcpProxy(echo_server, cut_after=10_000) as proxy:
        echoed = 0
        with socket.create_connection((HOST, proxy.port), timeout=5) as sock:
            try:
                for _ in range(1000):
                    sock.sendall(b"x" * 1000)
                    answer = sock.recv(1000)
                    if not answer:
                        break
                    echoed += len(answer)
            except OSError:
                pass
        assert 0 < echoed < 20_000
        with socket.create_connection((HOST, proxy.port), timeout=5) as sock:
            sock.sendall(b"y" * 20_000)
            sock.shutdown(socket.SHUT_WR)
            received = b"".join(iter(lambda: sock.recv(4096), b""))
        assert received == b"y" * 20_000
        assert proxy.cuts == 1
