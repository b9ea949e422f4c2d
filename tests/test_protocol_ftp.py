"""FTP and FTPS specifics: certificate checks, and servers without MLSD or SIZE."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from stardust_git.models.target import FtpDelivery
from stardust_git.protocols.base import PermanentError
from stardust_git.protocols.ftp import FtpProtocol, FtpsProtocol
from tests.servers import FtpServer
from tests.test_protocol_endpoints import (
    INPROCESS_FTP_PASSWORD,
    MIB,
    ftp_settings,
    inprocess_ftp_server,
    md5_of,
    random_file,
)


@pytest.fixture(autouse=True)
def ftp_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INPROCESS_FTP_PASSWORD", INPROCESS_FTP_PASSWORD)


def server_log(server: FtpServer) -> str:
    return (server.root_dir.parent / "ftps.log").read_text()


def test_an_untrusted_certificate_is_refused_before_logging_in(
    ftps_server: FtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TEST_FTP_PASSWORD", ftps_server.password)
    settings = ftp_settings(ftps_server, ca_file=None)  # the system store lacks the test CA
    with pytest.raises(PermanentError, match="certificate is not trusted"):
        FtpsProtocol("dsp", settings, tmp_path).connect()
    assert list(ftps_server.root_dir.iterdir()) == []
    assert "logged in" not in server_log(ftps_server)


def test_a_relative_ca_file_is_found_from_the_repository_root(
    ftps_server: FtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TEST_FTP_PASSWORD", ftps_server.password)
    assert ftps_server.ca_file is not None
    (tmp_path / "certs").mkdir()
    shutil.copy(ftps_server.ca_file, tmp_path / "certs" / "dsp-ca.pem")
    settings = ftp_settings(ftps_server, ca_file="certs/dsp-ca.pem")
    with FtpsProtocol("dsp", settings, tmp_path) as transport:
        transport.put_bytes(b"<m/>", "m.xml", hashlib.md5(b"<m/>").hexdigest())
    assert (ftps_server.root_dir / "inbox" / "m.xml").read_bytes() == b"<m/>"


def test_plain_ftp_to_a_server_that_requires_tls_is_refused(
    ftps_server: FtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TEST_FTP_PASSWORD", ftps_server.password)
    settings = FtpDelivery(
        protocol="ftp",
        host=ftps_server.host,
        port=ftps_server.port,
        username=ftps_server.username,
        password="${TEST_FTP_PASSWORD}",
    )
    with pytest.raises(PermanentError, match="login refused"):
        FtpProtocol("dsp", settings, tmp_path).connect()


@pytest.mark.parametrize("missing", [("MLSD",), ("SIZE",)], ids=["no-MLSD", "no-SIZE"])
@pytest.mark.parametrize("tls", [False, True], ids=["ftp", "ftps"])
def test_servers_without_mlsd_or_size_still_verify_and_list(
    missing: tuple[str, ...], tls: bool, tmp_path: Path
):
    served = tmp_path / "served"
    served.mkdir()
    audio = random_file(tmp_path / "a.wav", 2 * MIB + 3)
    with (
        inprocess_ftp_server(served, tls=tls, without_commands=missing) as ftp,
        ftp.transport(tmp_path, "${INPROCESS_FTP_PASSWORD}") as transport,
    ):
        transport.put_file(audio, "rel/resources/a.wav", md5_of(audio))
        found = transport.stat("rel/resources/a.wav")
        listed = transport.list("rel/resources")
        missing_file = transport.stat("rel/resources/none.wav")
    assert found is not None and found.size == audio.stat().st_size
    assert [(f.path, f.size) for f in listed] == [("rel/resources/a.wav", audio.stat().st_size)]
    assert missing_file is None
    assert (served / "inbox/rel/resources/a.wav").read_bytes() == audio.read_bytes()
