"""Faults against real servers (issue 6 item 10): dropped connections, refused credentials, and
the delivering process killed mid-upload.

Connections are cut by a TCP proxy between the client and the server (SFTP, S3, Azure) or, for
FTP, whose file bytes travel on separate data connections, by an in-process pyftpdlib whose data
handler drops the whole session once mid-file.
"""

from __future__ import annotations

import signal
import socket
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyftpdlib.handlers import DTPHandler, TLS_DTPHandler

from stardust_git.protocols.base import PermanentError, TransientError, Transport
from tests.test_protocol_endpoints import (
    INPROCESS_FTP_PASSWORD,
    MIB,
    Endpoint,
    TcpProxy,
    file_endpoint_fixture,
    inprocess_ftp_server,
    make_endpoint,
    md5_of,
    other_private_key,
    random_file,
    server_port,
)

REMOTE = "N_1234567890128_20250101120000000/resources/1234567890128_01_001.wav"
TEMPORARY_MARK = ".part-"

endpoint = file_endpoint_fixture()


def put_with_retries(transport: Transport, local: Path, remote: str, attempts: int = 3) -> int:
    """What the engine does on transient errors, without its waits; the attempts it took."""
    for attempt in range(1, attempts + 1):
        try:
            transport.put_file(local, remote, md5_of(local))
            return attempt
        except TransientError:
            transport.close()
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


# -- a connection dropped mid-file ---------------------------------------------------------


@pytest.mark.parametrize("protocol", ["sftp", "s3", "azure"])
def test_a_connection_dropped_mid_file_completes_on_retry_byte_identical(
    protocol: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    endpoint = make_endpoint(protocol, request, tmp_path, monkeypatch)
    audio = random_file(tmp_path / "audio.wav", 24 * MIB)
    with TcpProxy(server_port(endpoint), cut_after=5 * MIB) as proxy:
        transport = endpoint.via_proxy(proxy.port)
        try:
            attempts = put_with_retries(transport, audio, REMOTE)
        finally:
            transport.close()
    assert proxy.cuts == 1 and proxy.connections >= 2
    # SFTP sees the drop (a second attempt); the S3 and Azure SDKs resend the part themselves.
    assert attempts == (2 if protocol == "sftp" else 1)
    assert endpoint.read_remote(REMOTE) == audio.read_bytes()
    assert endpoint.names_remote() == [REMOTE]  # the abandoned temporary file was removed


@dataclass
class _Cut:
    after: int
    count: int = 0


def _dropping(base: type[DTPHandler], cut: _Cut) -> type[DTPHandler]:
    class DroppingDataConnection(base):  # type: ignore[valid-type,misc]
        def handle_read_event(self) -> None:
            super().handle_read_event()
            if cut.count == 0 and self.tot_bytes_received >= cut.after:
                cut.count += 1
                # Reset rather than close politely: the client must see the drop mid-file.
                linger = struct.pack("ii", 1, 0)
                self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                self.cmd_channel.close()

    return DroppingDataConnection


@pytest.mark.parametrize("tls", [False, True], ids=["ftp", "ftps"])
def test_ftp_data_connection_dropped_mid_file_completes_on_retry(
    tls: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DROP_FTP_PASSWORD", INPROCESS_FTP_PASSWORD)
    served = tmp_path / "served"
    served.mkdir()
    audio = random_file(tmp_path / "audio.wav", 24 * MIB)
    cut = _Cut(after=8 * MIB)
    dtp_base = TLS_DTPHandler if tls else DTPHandler
    with inprocess_ftp_server(served, tls=tls, dtp_handler=_dropping(dtp_base, cut)) as ftp:
        transport = ftp.transport(tmp_path, "${DROP_FTP_PASSWORD}")
        try:
            attempts = put_with_retries(transport, audio, REMOTE)
        finally:
            transport.close()
    assert cut.count == 1
    assert attempts == 2
    assert (served / "inbox" / REMOTE).read_bytes() == audio.read_bytes()
    leftovers = [p.name for p in served.rglob("*") if TEMPORARY_MARK in p.name]
    assert leftovers == []


# -- refused credentials ------------------------------------------------------------------------


_WRONG_SECRETS = {
    "sftp": ("private_key", other_private_key()),
    "ftp": ("password", "wrong-password-" + "x" * 24),
    "ftps": ("password", "wrong-password-" + "x" * 24),
    "s3": ("secret_access_key", "wrong-secret-" + "x" * 27),
    "azure": ("account_key", "A" * 86 + "=="),
}


def test_refused_credentials_are_one_permanent_error_on_one_connection(
    endpoint: Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    message = tmp_path / "m.xml"
    message.write_bytes(b"<m/>")
    field, wrong = _WRONG_SECRETS[endpoint.protocol]
    monkeypatch.setenv("WRONG_SECRET", wrong)
    with TcpProxy(server_port(endpoint)) as proxy:
        transport = endpoint.via_proxy(proxy.port, **{field: "${WRONG_SECRET}"})
        with pytest.raises(PermanentError) as refused:
            transport.connect()
            transport.put_file(message, "m.xml", md5_of(message))
        transport.close()
    assert proxy.connections == 1
    assert wrong not in str(refused.value)
    assert endpoint.names_remote() == []


# -- the delivering process killed mid-upload -------------------------------------------------

_UPLOADER = """
import sys
from pathlib import Path
from pydantic import TypeAdapter
from stardust_git.models.target import Delivery
from stardust_git.protocols import open_transport

settings = TypeAdapter(Delivery).validate_json(sys.argv[1])
with open_transport("dsp", settings, Path.cwd()) as transport:
    transport.put_file(Path(sys.argv[2]), sys.argv[3], sys.argv[4], lambda n: print(n, flush=True))
print("done", flush=True)
"""


def test_killed_mid_upload_leaves_no_file_under_its_final_name_and_a_rerun_completes(
    endpoint: Endpoint, tmp_path: Path
):
    audio = random_file(tmp_path / "audio.wav", 96 * MIB)
    settings = endpoint.settings.model_dump_json()
    uploader = subprocess.Popen(
        [sys.executable, "-c", _UPLOADER, settings, str(audio), REMOTE, md5_of(audio)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    )
    sent = 0
    assert uploader.stdout is not None
    for line in uploader.stdout:
        sent += int(line) if line.strip().isdigit() else 0
        if sent >= 16 * MIB:
            uploader.send_signal(signal.SIGKILL)
            break
    uploader.wait(30)
    assert uploader.returncode == -signal.SIGKILL, "the upload ended before it could be killed"
    assert endpoint.read_remote(REMOTE) is None

    with endpoint.transport() as transport:
        transport.put_file(audio, REMOTE, md5_of(audio))

    assert endpoint.read_remote(REMOTE) == audio.read_bytes()
    # The killed process's temporary file may remain beside it, never under the final name.
    others = [name for name in endpoint.names_remote() if name != REMOTE]
    assert all(TEMPORARY_MARK in name for name in others)
