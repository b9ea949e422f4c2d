"""SFTP delivery (paramiko): a pinned host key, pipelined writes, a temporary name, then a rename.

The host key is checked right after the key exchange, before the client authenticates or sends a
byte of content: every key is refused except the one pinned in the target (``host_key``), compared
byte for byte. Speed on a fast link comes from three settings paramiko leaves off by default
(issue 6, measured): TCP_NODELAY on the socket, aes128-gcm first in the cipher list, and
pipelined write requests of ``request_size`` bytes; from a leaner send path for the channel's
data (:mod:`stardust_git.protocols._sftp_channel`: only on the paramiko versions the tests cover,
off with ``STARDUST_SFTP_LEAN_SEND=0``, and off for a transport after its first SSH error; under
the same switch a whole file's CLOSE is sent without awaiting its answer, a round trip less);
and, for large files, from ``streams`` sessions on the one connection each writing its part of
the temporary file in place: every session has its own flow-control window (2 MiB on OpenSSH),
which is what holds one session back, on loopback as on a long-distance link. Pipelined writes
report a failure only when the file is closed, so the size on the server is checked before the
temporary file is renamed: with the CLOSE not awaited, that size is what proves the file whole
(a server that fails a CLOSE, a full disk or a quota, would otherwise go unnoticed).
"""

from __future__ import annotations

import base64
import io
import os
import posixpath
import socket
import stat as stat_mode
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

import paramiko

from stardust_git.models.common import resolve_secret
from stardust_git.models.target import SftpDelivery
from stardust_git.protocols._common import FileServerTransport, by_path, short_reason
from stardust_git.protocols._sftp_channel import (
    FastSendChannel,
    lean_path_allowed,
    lean_path_available,
)
from stardust_git.protocols.base import PermanentError, Progress, RemoteFile, TransientError

CONNECT_TIMEOUT_SECONDS = 20.0
PART_MIN_BYTES = 8 << 20
"""A file is split across sessions in parts of at least this many bytes."""
_CIPHERS_FIRST = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
_KEY_CLASSES = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)
# Host key algorithms that an "ssh-rsa" key in known_hosts format can be offered under.
_RSA_SIGNATURES = ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa")


class _PinnedHostKey(paramiko.MissingHostKeyPolicy):
    """Accept exactly the pinned key; refuse any other before authentication starts."""

    def __init__(self, target_name: str, key_type: str, key_blob: bytes) -> None:
        self.target_name = target_name
        self.key_type = key_type
        self.key_blob = key_blob

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        if key.get_name() == self.key_type and key.asbytes() == self.key_blob:
            return
        offered = f"{key.get_name()} SHA256:{key.fingerprint.removeprefix('SHA256:')}"
        raise PermanentError(
            f"{self.target_name}: host key refused for {hostname}: the server offered {offered},"
            " which is not the host_key pinned in the target (nothing was sent)"
        )


class SftpProtocol(FileServerTransport[paramiko.SFTPClient]):
    """Delivery to an SFTP server."""

    protocol = "sftp"
    settings: SftpDelivery

    def __init__(self, target_name: str, settings: object, root: Path) -> None:
        super().__init__(target_name, settings, root)
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        # More sessions on the same connection, for the parts of large files (``streams``).
        self._part_sessions: list[paramiko.SFTPClient] = []
        self._sessions_refused = False
        self._lean = lean_path_allowed()
        """The lean send path (_sftp_channel): off for good after the first SSH error."""

    # -- connection ---------------------------------------------------------------------------

    def close(self) -> None:
        sftp, client = self._sftp, self._client
        self._sftp = self._client = None
        sessions, self._part_sessions = self._part_sessions, []
        self._made_dirs.clear()
        for session in (sftp, *sessions):
            if session is not None:
                with suppress(Exception):
                    session.close()
        if client is not None:
            with suppress(Exception):
                client.close()

    def _session(self) -> paramiko.SFTPClient:
        if self._sftp is not None and self._client is not None:
            transport = self._client.get_transport()
            if transport is not None and transport.is_active():
                return self._sftp
            self.close()
        try:
            sftp = self._open_session()
        except BaseException:
            self.close()
            raise
        self._remove_abandoned(sftp)
        return sftp

    def _remove_abandoned(self, sftp: paramiko.SFTPClient) -> None:
        for temporary in sorted(self._abandoned):
            with suppress(FileNotFoundError):
                sftp.remove(temporary)
            self._abandoned.discard(temporary)

    def _open_session(self) -> paramiko.SFTPClient:
        settings = self.settings
        key_type, key_blob = _parse_host_key(settings.host_key)
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(_PinnedHostKey(self.target_name, key_type, key_blob))
        self._client = client
        client.connect(
            settings.host,
            settings.port,
            username=settings.username,
            password=resolve_secret(settings.password),
            pkey=_private_key(settings.private_key, settings.passphrase),
            sock=_fast_socket(settings.host, settings.port),
            allow_agent=False,
            look_for_keys=False,
            timeout=CONNECT_TIMEOUT_SECONDS,
            banner_timeout=CONNECT_TIMEOUT_SECONDS,
            auth_timeout=CONNECT_TIMEOUT_SECONDS,
            transport_factory=_transport_factory(key_type),
        )
        self._sftp = _open_sftp(client, self._lean)
        return self._sftp

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn paramiko and socket errors into Transient/PermanentError, without secrets."""
        try:
            yield
        except (TransientError, PermanentError) as error:
            if isinstance(error, TransientError):
                self.close()
            raise
        except paramiko.BadHostKeyException as error:
            self.close()
            raise PermanentError(f"{self.target_name}: {action}: host key mismatch") from error
        except paramiko.AuthenticationException as error:
            self.close()
            raise PermanentError(
                f"{self.target_name}: authentication refused for user "
                f"'{self.settings.username}' on {self.settings.host}:{self.settings.port}"
            ) from error
        except (PermissionError, FileNotFoundError) as error:
            raise PermanentError(
                f"{self.target_name}: {action}: {short_reason(error, self.redact)}"
            ) from error
        except (paramiko.SSHException, EOFError, OSError) as error:
            self._lean = False  # whatever the cause, the next connections take paramiko's path
            self.close()
            raise TransientError(
                f"{self.target_name}: {action}: {short_reason(error, self.redact)}"
            ) from error

    # -- uploads ------------------------------------------------------------------------------

    def _makedirs(self, sftp: paramiko.SFTPClient, directory: str) -> None:
        if directory in ("", "/", ".") or directory in self._made_dirs:
            return
        try:
            attributes = sftp.stat(directory)
        except FileNotFoundError:
            self._makedirs(sftp, posixpath.dirname(directory))
            try:
                sftp.mkdir(directory)
            except OSError:
                # Another writer may have made it meanwhile; anything else shows in stat().
                attributes = sftp.stat(directory)
                if not stat_mode.S_ISDIR(attributes.st_mode or 0):
                    raise
        else:
            if not stat_mode.S_ISDIR(attributes.st_mode or 0):
                raise PermanentError(f"{self.target_name}: {directory} exists and is not a folder")
        self._made_dirs.add(directory)

    def _discard(self, sftp: paramiko.SFTPClient, temporary: str, error: BaseException) -> None:
        """Remove the temporary file while the connection lives, else on the next connection."""
        transport = self._client.get_transport() if self._client else None
        try:
            if transport is None or not transport.is_active():
                raise EOFError
            sftp.remove(temporary)
        except FileNotFoundError:
            pass
        except (paramiko.SSHException, EOFError, OSError):
            self._abandoned.add(temporary)

    def _write(
        self, sftp: paramiko.SFTPClient, source: BinaryIO, remote: str, progress: Progress | None
    ) -> None:
        size = _file_size(source)
        sessions = self._sessions_for(sftp, size or 0)
        if size is None or len(sessions) == 1:
            self._write_whole(sftp, source, remote, progress)
            return
        with sftp.open(remote, "wb"):
            pass  # created empty; each session writes its part in place
        bounds = [size * index // len(sessions) for index in range(len(sessions) + 1)]
        stop = threading.Event()
        with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
            parts = [
                pool.submit(
                    self._write_part, session, source, remote, bounds[i : i + 2], progress, stop
                )
                for i, session in enumerate(sessions)
            ]
            wait(parts, return_when=FIRST_EXCEPTION)
            stop.set()  # after a failure the other parts stop at their next request
        for part in parts:
            part.result()

    def _write_whole(
        self, sftp: paramiko.SFTPClient, source: BinaryIO, remote: str, progress: Progress | None
    ) -> None:
        request_size = self.settings.request_size
        with self._pipelined(sftp, remote, "wb") as target:
            while chunk := source.read(request_size):
                target.write(chunk)
                if progress is not None:
                    progress(len(chunk))
            if self._lean:
                # The writes' answers are awaited (a failed write raises here), the CLOSE's not:
                # the server answers a session in order, so the size asked next on it is read
                # after the close (a round trip less per file). paramiko ignores a failed CLOSE.
                target._close(async_=True)

    def _write_part(
        self,
        session: paramiko.SFTPClient,
        source: BinaryIO,
        remote: str,
        bounds: list[int],
        progress: Progress | None,
        stop: threading.Event,
    ) -> None:
        """Write bytes ``bounds[0]`` to ``bounds[1]`` of ``source`` at the same offsets of
        ``remote``, through ``session``; read with pread, so the parts share no file position."""
        request_size = self.settings.request_size
        position, end = bounds
        with self._pipelined(session, remote, "r+b") as target:
            target.seek(position)
            while position < end and not stop.is_set():
                chunk = os.pread(source.fileno(), min(request_size, end - position), position)
                if not chunk:
                    raise TransientError(f"{self.target_name}: {remote}: the file shrank")
                target.write(chunk)
                position += len(chunk)
                if progress is not None:
                    progress(len(chunk))

    @contextmanager
    def _pipelined(
        self, session: paramiko.SFTPClient, remote: str, mode: str
    ) -> Iterator[paramiko.SFTPFile]:
        """``remote`` opened for pipelined writes of ``request_size`` bytes each."""
        with session.open(remote, mode, bufsize=0) as target:
            # paramiko splits writes into MAX_REQUEST_SIZE requests (32 KiB by default).
            target.MAX_REQUEST_SIZE = self.settings.request_size
            target.set_pipelined(True)
            yield target

    def _sessions_for(self, sftp: paramiko.SFTPClient, size: int) -> list[paramiko.SFTPClient]:
        """The sessions to send ``size`` bytes through: one per ``PART_MIN_BYTES`` up to
        ``streams``, opening more on the connection as needed while the server allows it."""
        wanted = max(1, min(self.settings.streams, size // PART_MIN_BYTES))
        while len(self._part_sessions) < wanted - 1 and not self._sessions_refused:
            assert self._client is not None
            try:
                self._part_sessions.append(_open_sftp(self._client, self._lean))
            except paramiko.ChannelException:
                self._sessions_refused = True  # e.g. OpenSSH's MaxSessions; not asked again
        return [sftp, *self._part_sessions[: wanted - 1]]

    def _size(self, sftp: paramiko.SFTPClient, path: str) -> int | None:
        return sftp.stat(path).st_size

    def _rename_over(self, sftp: paramiko.SFTPClient, source: str, target: str) -> None:
        """Rename, replacing ``target``: atomically where the server has posix-rename (OpenSSH)."""
        try:
            sftp.posix_rename(source, target)
        except (PermissionError, ConnectionError, EOFError):
            raise
        except OSError:
            with suppress(FileNotFoundError):
                sftp.remove(target)
            sftp.rename(source, target)

    # -- queries ------------------------------------------------------------------------------

    def stat(self, remote_path: str) -> RemoteFile | None:
        with self._errors(f"stat {remote_path}"):
            try:
                attributes = self._session().stat(self._remote(remote_path))
            except FileNotFoundError:
                return None
            if stat_mode.S_ISDIR(attributes.st_mode or 0):
                return None
            return RemoteFile(remote_path, attributes.st_size or 0)

    def list(self, remote_dir: str) -> list[RemoteFile]:
        with self._errors(f"list {remote_dir}"):
            try:
                entries = self._session().listdir_attr(self._remote(remote_dir))
            except FileNotFoundError:
                return []
        return by_path(
            RemoteFile(posixpath.join(remote_dir, entry.filename), entry.st_size or 0)
            for entry in entries
            if stat_mode.S_ISREG(entry.st_mode or 0)
        )

    def read(self, remote_path: str) -> bytes:
        with (
            self._errors(f"read {remote_path}"),
            self._session().open(self._remote(remote_path), "rb") as source,
        ):
            source.prefetch()
            return source.read()

    def delete(self, remote_path: str) -> None:
        with self._errors(f"delete {remote_path}"):
            self._session().remove(self._remote(remote_path))


def _open_sftp(client: paramiko.SSHClient, lean: bool) -> paramiko.SFTPClient:
    sftp = client.open_sftp()
    channel = sftp.get_channel()
    channel.settimeout(CONNECT_TIMEOUT_SECONDS * 3)
    if lean and lean_path_available(channel):
        sftp.sock = FastSendChannel(channel)
    return sftp


def _file_size(source: BinaryIO) -> int | None:
    """The size of a file on disk (which parts can be read from at once); None in memory."""
    try:
        return os.fstat(source.fileno()).st_size
    except (OSError, io.UnsupportedOperation):
        return None


def _parse_host_key(host_key: str) -> tuple[str, bytes]:
    key_type, blob = host_key.split()[:2]
    return key_type, base64.b64decode(blob)


def _transport_factory(host_key_type: str):  # type: ignore[no-untyped-def]
    """A Transport that prefers AES-GCM and asks the server for the pinned kind of host key."""
    wanted = _RSA_SIGNATURES if host_key_type == "ssh-rsa" else (host_key_type,)

    def make(sock: socket.socket, **kwargs: object) -> paramiko.Transport:
        transport = paramiko.Transport(sock, **kwargs)  # type: ignore[arg-type]
        options = transport.get_security_options()
        options.ciphers = _first(options.ciphers, _CIPHERS_FIRST)
        options.key_types = _first(options.key_types, wanted)
        return transport

    return make


def _first(available: tuple[str, ...], preferred: tuple[str, ...]) -> tuple[str, ...]:
    chosen = [name for name in preferred if name in available]
    return (*chosen, *(name for name in available if name not in chosen))


def _fast_socket(host: str, port: int) -> socket.socket:
    try:
        sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS)
    except OSError as error:
        raise TransientError(
            f"cannot connect to {host}:{port}: {short_reason(error, str)}"
        ) from error
    # Without it each small SSH packet waits for the peer's delayed ACK (Nagle).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _private_key(reference: str | None, passphrase_reference: str | None) -> paramiko.PKey | None:
    text = resolve_secret(reference)
    if text is None:
        return None
    passphrase = resolve_secret(passphrase_reference)
    for key_class in _KEY_CLASSES:
        try:
            return key_class.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.PasswordRequiredException as error:
            raise PermanentError(f"the private key {reference} needs a passphrase") from error
        except (paramiko.SSHException, ValueError):
            continue
    raise PermanentError(
        f"the private key in {reference} is not an Ed25519, ECDSA or RSA key paramiko can read"
        " (or its passphrase is wrong)"
    )
