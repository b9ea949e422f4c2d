"""FTP and FTPS delivery: passive mode, 1 MiB blocks, a temporary name, then RNFR/RNTO.

Built on the standard library's ftplib rather than ftputil: ftputil opens a second login for every
file it transfers and exposes neither SIZE, nor the block size, nor the TLS context, which are the
three things this module needs. FTPS is explicit TLS (AUTH TLS) with the server certificate
verified against the system store or the target's ``ca_file``, and TLS on the data connections
too (PROT P), reusing the control connection's TLS session as strict servers require. Blocks of
``block_size`` bytes (1 MiB): with 8 KiB blocks TLS loses about 30 %. Plain data connections
are written from one reused buffer too, not with sendfile: sendfile saves our process a copy,
but the receiving server then spends about 25 % more CPU per byte (pyftpdlib on loopback, where
the server is the bottleneck). The size the server reports (SIZE) is checked before the
temporary file is renamed to its final name.
"""

from __future__ import annotations

import ftplib
import io
import posixpath
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from stardust_git.models.common import resolve_secret
from stardust_git.models.target import FtpDelivery, FtpsDelivery
from stardust_git.protocols._common import FileServerTransport, short_reason
from stardust_git.protocols.base import PermanentError, Progress, RemoteFile, TransientError

TIMEOUT_SECONDS = 60.0
# Replies meaning "this command is not implemented here" (so fall back to another one).
_NOT_IMPLEMENTED = ("500", "502", "504")


class _FtpTls(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS session.

    Servers such as vsftpd (require_ssl_reuse) refuse data connections that do not, so a third
    party cannot hijack them; ftplib itself starts a fresh TLS session for each.
    """

    def ntransfercmd(self, cmd: str, rest: int | str | None = None) -> tuple[socket.socket, int]:
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:  # type: ignore[attr-defined]
            session = getattr(self.sock, "session", None)
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=session)
        return conn, size


class FtpProtocol(FileServerTransport[ftplib.FTP]):
    """Delivery to a plain FTP server (passive mode)."""

    protocol = "ftp"
    settings: FtpDelivery

    def __init__(self, target_name: str, settings: object, root: Path) -> None:
        super().__init__(target_name, settings, root)
        self._ftp: ftplib.FTP | None = None

    # -- connection ---------------------------------------------------------------------------

    def close(self) -> None:
        if self._ftp is not None:
            with suppress(Exception):
                self._ftp.quit()
        self._drop()

    def _drop(self) -> None:
        """Close the connection without a goodbye (it failed: QUIT could wait for a timeout)."""
        ftp, self._ftp = self._ftp, None
        self._made_dirs.clear()
        if ftp is not None:
            with suppress(Exception):
                ftp.close()

    def _session(self) -> ftplib.FTP:
        if self._ftp is not None and self._ftp.sock is not None:
            return self._ftp
        ftp = self._new_session()
        try:
            ftp.connect(self.settings.host, self.settings.port)
            self._login(ftp)
            ftp.set_pasv(True)
            ftp.voidcmd("TYPE I")
        except BaseException:
            with suppress(Exception):
                ftp.close()
            raise
        self._ftp = ftp
        self._remove_abandoned(ftp)
        return ftp

    def _remove_abandoned(self, ftp: ftplib.FTP) -> None:
        for temporary in sorted(self._abandoned):
            with suppress(ftplib.error_perm):
                ftp.delete(temporary)
            self._abandoned.discard(temporary)

    def _new_session(self) -> ftplib.FTP:
        return ftplib.FTP(timeout=TIMEOUT_SECONDS, encoding="utf-8")

    def _login(self, ftp: ftplib.FTP) -> None:
        try:
            ftp.login(self.settings.username, resolve_secret(self.settings.password) or "")
        except ftplib.error_perm as error:
            raise PermanentError(
                f"{self.target_name}: login refused for user '{self.settings.username}' on "
                f"{self.settings.host}:{self.settings.port}: {short_reason(error, self.redact)}"
            ) from error

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Sort ftplib, TLS and socket errors into Transient/PermanentError."""
        try:
            yield
        except TransientError:
            self._drop()
            raise
        except PermanentError:
            raise
        except ftplib.error_perm as error:
            raise PermanentError(
                f"{self.target_name}: {action}: {short_reason(error, self.redact)}"
            ) from error
        except ssl.SSLCertVerificationError as error:
            self._drop()
            raise PermanentError(
                f"{self.target_name}: {action}: the server certificate is not trusted "
                f"({error.verify_message})"
            ) from error
        except (ftplib.error_temp, ftplib.error_reply, ftplib.error_proto) as error:
            self._drop()
            raise TransientError(
                f"{self.target_name}: {action}: {short_reason(error, self.redact)}"
            ) from error
        except (EOFError, OSError) as error:
            self._drop()
            raise TransientError(
                f"{self.target_name}: {action}: {short_reason(error, self.redact)}"
            ) from error

    # -- uploads ------------------------------------------------------------------------------

    def _makedirs(self, ftp: ftplib.FTP, directory: str) -> None:
        if directory in ("", "/", ".") or directory in self._made_dirs:
            return
        self._makedirs(ftp, posixpath.dirname(directory))
        # A 550 means it exists already; a folder we may not create shows up as a refused STOR.
        with suppress(ftplib.error_perm):
            ftp.mkd(directory)
        self._made_dirs.add(directory)

    def _discard(self, ftp: ftplib.FTP, temporary: str, error: BaseException) -> None:
        if isinstance(error, ftplib.error_perm | TransientError):
            # The connection still works: take the partial file away.
            with suppress(ftplib.Error, OSError, EOFError):
                ftp.delete(temporary)
        else:
            self._abandoned.add(temporary)

    def _write(
        self, ftp: ftplib.FTP, source: BinaryIO, remote: str, progress: Progress | None
    ) -> None:
        """STOR ``source`` as ``remote`` (ftplib's storbinary, with a faster send). No TYPE I
        first: a session is binary from its login on, and every listing switches it back."""
        with ftp.transfercmd(f"STOR {remote}") as conn:
            _send_blocks(conn, source, self.settings.block_size, progress)
            if isinstance(conn, ssl.SSLSocket):
                conn.unwrap()  # a clean TLS close, or the server may take the file as cut
        ftp.voidresp()

    def _rename_over(self, ftp: ftplib.FTP, source: str, target: str) -> None:
        """RNFR/RNTO; where the server will not rename over a file, delete the old one first."""
        try:
            ftp.rename(source, target)
        except ftplib.error_perm:
            with suppress(ftplib.error_perm):
                ftp.delete(target)
            ftp.rename(source, target)

    def _size(self, ftp: ftplib.FTP, path: str) -> int | None:
        """The size of ``path`` (SIZE, or the listing where SIZE is missing); None if absent."""
        try:
            return ftp.size(path)
        except ftplib.error_perm as error:
            if not str(error).startswith(_NOT_IMPLEMENTED):
                return None
        found = self._listing(ftp, posixpath.dirname(path)).get(posixpath.basename(path))
        return found

    def _listing(self, ftp: ftplib.FTP, directory: str) -> dict[str, int]:
        """File name -> size for the files directly in ``directory``."""
        try:
            return self._listing_in_ascii_mode(ftp, directory)
        finally:
            ftp.voidcmd("TYPE I")  # listings switch to ASCII; SIZE and STOR need binary

    def _listing_in_ascii_mode(self, ftp: ftplib.FTP, directory: str) -> dict[str, int]:
        try:
            return {
                name: int(facts.get("size", 0))
                for name, facts in ftp.mlsd(directory or ".", ["type", "size"])
                if facts.get("type") == "file"
            }
        except ftplib.error_perm as error:
            if not str(error).startswith(_NOT_IMPLEMENTED):
                return {}
        try:
            names = ftp.nlst(directory or ".")
        except ftplib.error_perm:
            return {}
        ftp.voidcmd("TYPE I")
        sizes: dict[str, int] = {}
        for name in (posixpath.basename(name) for name in names):
            with suppress(ftplib.error_perm):  # folders have no SIZE
                size = ftp.size(posixpath.join(directory, name))
                if size is not None:
                    sizes[name] = size
        return sizes

    # -- queries ------------------------------------------------------------------------------

    def stat(self, remote_path: str) -> RemoteFile | None:
        with self._errors(f"stat {remote_path}"):
            size = self._size(self._session(), self._remote(remote_path))
        return None if size is None else RemoteFile(remote_path, size)

    def list(self, remote_dir: str) -> list[RemoteFile]:
        with self._errors(f"list {remote_dir}"):
            sizes = self._listing(self._session(), self._remote(remote_dir))
        return [
            RemoteFile(posixpath.join(remote_dir, name), size)
            for name, size in sorted(sizes.items())
        ]

    def read(self, remote_path: str) -> bytes:
        buffer = io.BytesIO()
        with self._errors(f"read {remote_path}"):
            self._session().retrbinary(f"RETR {self._remote(remote_path)}", buffer.write)
        return buffer.getvalue()

    def delete(self, remote_path: str) -> None:
        with self._errors(f"delete {remote_path}"):
            self._session().delete(self._remote(remote_path))


class FtpsProtocol(FtpProtocol):
    """Delivery over FTP with explicit TLS on the control and the data connections."""

    protocol = "ftps"
    settings: FtpsDelivery

    def _new_session(self) -> ftplib.FTP:
        context = ssl.create_default_context(cafile=self._ca_file())
        return _FtpTls(context=context, timeout=TIMEOUT_SECONDS, encoding="utf-8")

    def _ca_file(self) -> str | None:
        ca_file = self.settings.ca_file
        if ca_file is None:
            return None
        path = Path(ca_file)
        return str(path if path.is_absolute() else self.root / path)

    def _login(self, ftp: ftplib.FTP) -> None:
        assert isinstance(ftp, ftplib.FTP_TLS)
        ftp.auth()
        super()._login(ftp)
        ftp.prot_p()


def _send_blocks(
    conn: socket.socket, source: BinaryIO, block_size: int, progress: Progress | None
) -> None:
    """Send ``source`` through one buffer of ``block_size`` bytes, reused for every block."""
    buffer = bytearray(block_size)
    block = memoryview(buffer)
    while count := source.readinto(buffer):
        conn.sendall(block[:count])
        if progress is not None:
            progress(count)
