"""SFTP against OpenSSH's sshd: the pinned host key, key types, passwords and the fast path."""

from __future__ import annotations

import hashlib
import socket
import time
from pathlib import Path

import paramiko
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from stardust_git.models.target import SftpDelivery
from stardust_git.protocols import sftp as sftp_module
from stardust_git.protocols._sftp_channel import (
    LEAN_SWITCH,
    TESTED_PARAMIKO,
    FastSendChannel,
    lean_path_allowed,
)
from stardust_git.protocols.base import PermanentError, TransientError
from stardust_git.protocols.sftp import SftpProtocol
from tests.servers import SftpServer, run_sshd
from tests.test_protocol_endpoints import (
    MIB,
    TcpProxy,
    md5_of,
    other_host_key,
    random_file,
    sftp_settings,
)


@pytest.fixture
def key_login(sshd_server: SftpServer, monkeypatch: pytest.MonkeyPatch) -> SftpServer:
    monkeypatch.setenv("TEST_SFTP_KEY", sshd_server.private_key_path.read_text())
    return sshd_server


@pytest.fixture
def password_login(sshd_password_server: SftpServer, monkeypatch: pytest.MonkeyPatch):
    assert sshd_password_server.password is not None
    monkeypatch.setenv("TEST_SFTP_PASSWORD", sshd_password_server.password)
    return sshd_password_server


def server_log(server: SftpServer) -> str:
    """sshd's log (tests.servers runs sshd -e with its output in the work directory)."""
    time.sleep(0.2)  # sshd writes the line for a closed connection right after it closes
    return (server.data_dir.parent / "sshd.log").read_text()


def authentication_lines(log: str) -> list[str]:
    words = ("Accepted", "Failed", "authenticating user", "Invalid user")
    return [line for line in log.splitlines() if any(word in line for word in words)]


def put_probe(settings: SftpDelivery, root: Path) -> None:
    with SftpProtocol("dsp", settings, root) as transport:
        transport.put_bytes(b"<m/>", "probe.xml", hashlib.md5(b"<m/>").hexdigest())


@pytest.mark.parametrize("login", ["key_login", "password_login"])
def test_another_host_key_is_refused_before_any_credential_is_sent(
    login: str, request: pytest.FixtureRequest, tmp_path: Path
):
    server: SftpServer = request.getfixturevalue(login)
    settings = sftp_settings(server, host_key=other_host_key())
    with pytest.raises(PermanentError, match="host key refused") as refused:
        put_probe(settings, tmp_path)
    assert "nothing was sent" in str(refused.value)
    assert list(server.data_dir.iterdir()) == []
    assert authentication_lines(server_log(server)) == []


def test_a_pinned_key_of_another_type_is_refused_too(key_login: SftpServer, tmp_path: Path):
    rsa_public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    pinned = rsa_public.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    with pytest.raises(PermanentError, match="offered ssh-ed25519"):
        put_probe(sftp_settings(key_login, host_key=pinned), tmp_path)
    assert list(key_login.data_dir.iterdir()) == []


def test_the_pinned_host_key_lets_the_delivery_through(key_login: SftpServer, tmp_path: Path):
    put_probe(sftp_settings(key_login), tmp_path)
    assert (key_login.data_dir / "inbox" / "probe.xml").read_bytes() == b"<m/>"
    assert any("Accepted publickey" in line for line in authentication_lines(server_log(key_login)))


def _private_key_text(kind: str, passphrase: bytes | None = None) -> tuple[str, str]:
    """(private key text, authorized_keys line) for a new key of ``kind``."""
    if kind == "rsa-pem":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_format = PrivateFormat.TraditionalOpenSSL
    else:
        key = ec.generate_private_key(ec.SECP256R1())
        private_format = PrivateFormat.OpenSSH
    encryption = BestAvailableEncryption(passphrase) if passphrase else NoEncryption()
    text = key.private_bytes(Encoding.PEM, private_format, encryption).decode()
    public = key.public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    return text, public


@pytest.mark.parametrize("kind", ["rsa-pem", "ecdsa-openssh"])
def test_rsa_and_ecdsa_private_keys_log_in(
    kind: str, key_login: SftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    text, public = _private_key_text(kind)
    authorized_keys = key_login.data_dir.parent / "authorized_keys"
    authorized_keys.write_text(authorized_keys.read_text() + public + "\n")
    monkeypatch.setenv("OTHER_KEY", text)
    put_probe(sftp_settings(key_login, private_key="${OTHER_KEY}"), tmp_path)
    assert (key_login.data_dir / "inbox" / "probe.xml").read_bytes() == b"<m/>"


def test_an_encrypted_key_needs_its_passphrase(
    key_login: SftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    text, public = _private_key_text("ecdsa-openssh", passphrase=b"open sesame")
    authorized_keys = key_login.data_dir.parent / "authorized_keys"
    authorized_keys.write_text(authorized_keys.read_text() + public + "\n")
    monkeypatch.setenv("LOCKED_KEY", text)
    monkeypatch.setenv("LOCKED_KEY_PASSPHRASE", "open sesame")
    without = sftp_settings(key_login, private_key="${LOCKED_KEY}")
    with pytest.raises(PermanentError, match="needs a passphrase"):
        put_probe(without, tmp_path)
    put_probe(without.model_copy(update={"passphrase": "${LOCKED_KEY_PASSPHRASE}"}), tmp_path)
    assert (key_login.data_dir / "inbox" / "probe.xml").read_bytes() == b"<m/>"


def test_password_login_delivers(password_login: SftpServer, tmp_path: Path):
    put_probe(sftp_settings(password_login), tmp_path)
    assert (password_login.data_dir / "inbox" / "probe.xml").read_bytes() == b"<m/>"


def test_a_wrong_password_is_one_clear_error_and_one_login_attempt(
    password_login: SftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TEST_SFTP_PASSWORD", "not-the-password")
    with TcpProxy(password_login.port) as proxy:
        settings = sftp_settings(password_login, port=proxy.port)
        with pytest.raises(PermanentError) as refused:
            put_probe(settings, tmp_path)
    message = str(refused.value)
    assert message == (
        f"dsp: authentication refused for user '{password_login.username}' on "
        f"{password_login.host}:{proxy.port}"
    )
    assert proxy.connections == 1
    failed = [line for line in server_log(password_login).splitlines() if "Failed password" in line]
    assert len(failed) == 1


def test_small_request_sizes_for_strict_servers_deliver_identical_bytes(
    key_login: SftpServer, tmp_path: Path
):
    audio = random_file(tmp_path / "a.wav", 3 * MIB + 7)
    settings = sftp_settings(key_login, request_size=32768)
    with SftpProtocol("dsp", settings, tmp_path) as transport:
        transport.put_file(audio, "deep/er/a.wav", md5_of(audio))
    assert (key_login.data_dir / "inbox" / "deep/er/a.wav").read_bytes() == audio.read_bytes()


def test_the_fast_path_is_on_nodelay_and_aes_gcm(key_login: SftpServer, tmp_path: Path):
    with SftpProtocol("dsp", sftp_settings(key_login), tmp_path) as transport:
        transport.list("")
        ssh = transport._client.get_transport()  # type: ignore[union-attr]
        assert ssh.local_cipher == "aes128-gcm@openssh.com"
        assert ssh.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def lean_channel(transport: SftpProtocol) -> FastSendChannel:
    channel = transport._sftp.get_channel()  # type: ignore[union-attr]
    assert isinstance(channel, FastSendChannel), "the lean send path is off with this paramiko"
    return channel


def test_the_lean_send_path_carries_the_upload_byte_for_byte(key_login: SftpServer, tmp_path: Path):
    audio = random_file(tmp_path / "a.flac", 5 * MIB + 3)
    with SftpProtocol("dsp", sftp_settings(key_login), tmp_path) as transport:
        transport.put_file(audio, "r/a.flac", md5_of(audio))
        packets = lean_channel(transport).packets_sent_lean
    # 32 KiB SSH packets at most: the 5 MiB went through the lean path, not paramiko's.
    assert packets >= (5 * MIB) // (32 * 1024)
    assert (key_login.data_dir / "inbox/r/a.flac").read_bytes() == audio.read_bytes()


def test_key_re_exchanges_in_the_middle_of_an_upload_keep_the_file_intact(
    key_login: SftpServer, tmp_path: Path
):
    # Three parts over three sessions, all of them sending while the keys change.
    audio = random_file(tmp_path / "a.flac", 24 * MIB + 5)
    with SftpProtocol("dsp", sftp_settings(key_login, streams=3), tmp_path) as transport:
        transport.connect()
        ssh = transport._client.get_transport()  # type: ignore[union-attr]
        first_keys = ssh.packetizer._Packetizer__block_engine_out
        # paramiko re-keys after REKEY_BYTES sent (512 MiB); 2 MiB makes it happen mid-file.
        ssh.packetizer.REKEY_BYTES = 2 * MIB
        transport.put_file(audio, "r/a.flac", md5_of(audio))
        assert ssh.packetizer._Packetizer__block_engine_out is not first_keys
        assert lean_channel(transport).packets_sent_lean > 0
    assert (key_login.data_dir / "inbox/r/a.flac").read_bytes() == audio.read_bytes()


def test_without_aes_gcm_paramiko_sends_the_data_itself(
    key_login: SftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(sftp_module, "_CIPHERS_FIRST", ("aes128-ctr",))
    audio = random_file(tmp_path / "a.flac", 2 * MIB + 1)
    with SftpProtocol("dsp", sftp_settings(key_login), tmp_path) as transport:
        transport.put_file(audio, "r/a.flac", md5_of(audio))
        assert transport._client.get_transport().local_cipher == "aes128-ctr"  # type: ignore[union-attr]
        assert lean_channel(transport).packets_sent_lean == 0
    assert (key_login.data_dir / "inbox/r/a.flac").read_bytes() == audio.read_bytes()


def sessions_started(log: str) -> int:
    """SFTP sessions sshd started (one per channel; LogLevel VERBOSE logs each)."""
    return sum("Starting session: forced-command" in line for line in log.splitlines())


@pytest.mark.parametrize(
    ("streams", "max_sessions", "sessions"),
    [(4, None, 4), (1, None, 1), (4, 2, 2), (4, 1, 1)],
)
def test_a_large_file_goes_in_parts_over_as_many_sessions_as_allowed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    streams: int,
    max_sessions: int | None,
    sessions: int,
):
    (tmp_path / "sshd").mkdir()
    audio = random_file(tmp_path / "a.flac", 40 * MIB + 7)
    with run_sshd(tmp_path / "sshd", max_sessions=max_sessions) as server:
        monkeypatch.setenv("TEST_SFTP_KEY", server.private_key_path.read_text())
        settings = sftp_settings(server, streams=streams)
        with SftpProtocol("dsp", settings, tmp_path) as transport:
            transport.put_file(audio, "r/a.flac", md5_of(audio))
            transport.put_file(audio, "r/again.flac", md5_of(audio))  # the sessions are reused
        delivered = server.data_dir / "inbox/r"
        assert (delivered / "a.flac").read_bytes() == audio.read_bytes()
        assert (delivered / "again.flac").read_bytes() == audio.read_bytes()
        assert sorted(path.name for path in delivered.iterdir()) == ["a.flac", "again.flac"]
        assert sessions_started(server_log(server)) == sessions


def test_a_path_leaving_the_delivery_folder_is_refused(key_login: SftpServer, tmp_path: Path):
    transport = SftpProtocol("dsp", sftp_settings(key_login), tmp_path)
    with transport, pytest.raises(PermanentError, match="refusing"):
        transport.put_bytes(b"x", "../escape.xml", hashlib.md5(b"x").hexdigest())
    assert not (key_login.data_dir / "escape.xml").exists()


def plain_channel(transport: SftpProtocol) -> paramiko.Channel:
    channel = transport._sftp.get_channel()  # type: ignore[union-attr]
    assert not isinstance(channel, FastSendChannel), "the lean send path was taken"
    return channel


@pytest.mark.parametrize("version", ["5.2.0", "4.0.0", "6.0"])
def test_a_paramiko_the_tests_do_not_cover_sends_through_its_own_path(
    key_login: SftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str
):
    monkeypatch.setattr(paramiko, "__version__", version)
    audio = random_file(tmp_path / "a.flac", 2 * MIB + 1)
    with SftpProtocol("dsp", sftp_settings(key_login), tmp_path) as transport:
        transport.put_file(audio, "r/a.flac", md5_of(audio))
        plain_channel(transport)
    assert (key_login.data_dir / "inbox/r/a.flac").read_bytes() == audio.read_bytes()


@pytest.mark.parametrize("value", ["0", "off", "false"])
def test_the_lean_send_path_can_be_switched_off(
    key_login: SftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
):
    monkeypatch.setenv(LEAN_SWITCH, value)
    audio = random_file(tmp_path / "a.flac", 2 * MIB + 1)
    with SftpProtocol("dsp", sftp_settings(key_login), tmp_path) as transport:
        transport.put_file(audio, "r/a.flac", md5_of(audio))
        plain_channel(transport)
    assert (key_login.data_dir / "inbox/r/a.flac").read_bytes() == audio.read_bytes()


def test_after_an_ssh_error_the_next_connection_takes_paramikos_path(
    key_login: SftpServer, tmp_path: Path
):
    audio = random_file(tmp_path / "a.flac", 6 * MIB + 1)
    # the first connection is cut in the middle of the file, while the lean path sends it
    with TcpProxy(key_login.port, cut_after=2 * MIB) as proxy:
        settings = sftp_settings(key_login, port=proxy.port, streams=1)
        with SftpProtocol("dsp", settings, tmp_path) as transport:
            transport.connect()
            lean = lean_channel(transport)
            with pytest.raises(TransientError):
                transport.put_file(audio, "r/a.flac", md5_of(audio))
            assert lean.packets_sent_lean > 0
            transport.put_file(audio, "r/a.flac", md5_of(audio))  # the retry, reconnected
            plain_channel(transport)
        assert (proxy.connections, proxy.cuts) == (2, 1)
    assert (key_login.data_dir / "inbox/r/a.flac").read_bytes() == audio.read_bytes()


def test_the_lean_path_is_allowed_on_the_installed_paramiko_only_if_listed():
    installed = tuple(int(part) for part in paramiko.__version__.split(".")[:2])
    assert lean_path_allowed() == (installed in TESTED_PARAMIKO)
    assert installed in TESTED_PARAMIKO, (
        f"paramiko {paramiko.__version__} is not in TESTED_PARAMIKO: run these tests, then add it"
    )
