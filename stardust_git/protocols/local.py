"""The embedded ``local`` protocol: delivery into a directory on this machine.

Files are written under a temporary name beside their final one, fsynced, checked against the
expected MD5 and renamed into place, so a DSP watching the folder never sees half a file.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import tempfile
from pathlib import Path, PurePosixPath
from typing import ClassVar

from stardust_git.protocols.base import (
    PermanentError,
    Progress,
    RemoteFile,
    TransientError,
    Transport,
)

CHUNK = 1 << 20
TEMPORARY_SUFFIX = ".part"
#: The temporary name of an upload: ``.<final name>.<8 random characters>.part`` (mkstemp).
_TEMPORARY_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.part")
#: Errors that may pass (a full disk, an interrupted call); any other OSError is permanent.
_TRANSIENT_ERRNOS = {errno.ENOSPC, errno.EINTR, errno.EAGAIN, errno.EBUSY, errno.EIO}


def _failure(error: OSError, what: str) -> Exception:
    kind = TransientError if error.errno in _TRANSIENT_ERRNOS else PermanentError
    return kind(f"{what}: {error.strerror or error}")


class LocalProtocol(Transport):
    """Delivers into ``delivery.directory`` (relative to the repository root, or absolute)."""

    protocol: ClassVar[str] = "local"

    @property
    def base(self) -> Path:
        directory = Path(self.settings.directory)  # type: ignore[attr-defined]
        return directory if directory.is_absolute() else self.root / directory

    def connect(self) -> None:
        try:
            self.base.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _failure(exc, f"cannot use {self.base} as the delivery directory") from None
        if not os.access(self.base, os.W_OK | os.X_OK):
            raise PermanentError(f"the delivery directory {self.base} is not writable")

    def close(self) -> None:
        return None

    def _path(self, remote_path: str) -> Path:
        relative = PurePosixPath(remote_path.lstrip("/"))
        if ".." in relative.parts or not relative.parts:
            raise PermanentError(f"refusing remote path '{remote_path}'")
        return self.base.joinpath(*relative.parts)

    def put_file(
        self, local: Path, remote_path: str, md5: str, progress: Progress | None = None
    ) -> None:
        try:
            with local.open("rb") as source:
                self._write(source.read, remote_path, md5, progress)
        except FileNotFoundError:
            raise PermanentError(f"{local} does not exist") from None

    def put_bytes(self, data: bytes, remote_path: str, md5: str) -> None:
        chunks = iter([data, b""])
        self._write(lambda _size: next(chunks), remote_path, md5, None)

    def _write(self, read, remote_path: str, md5: str, progress: Progress | None) -> None:  # type: ignore[no-untyped-def]
        final = self._path(remote_path)
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(
                dir=final.parent, prefix=f".{final.name}.", suffix=TEMPORARY_SUFFIX
            )
        except OSError as exc:
            raise _failure(exc, f"cannot write into {final.parent}") from None
        try:
            digest = self._copy(read, handle, progress)
            if digest != md5:
                raise PermanentError(f"{remote_path}: MD5 {digest} differs from the expected {md5}")
            os.replace(temp, final)
            _fsync_directory(final.parent)
        except OSError as exc:
            Path(temp).unlink(missing_ok=True)
            raise _failure(exc, f"cannot write {final}") from None
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    @staticmethod
    def _copy(read, handle: int, progress: Progress | None) -> str:  # type: ignore[no-untyped-def]
        digest = hashlib.md5(usedforsecurity=False)
        with os.fdopen(handle, "wb") as stream:
            while chunk := read(CHUNK):
                digest.update(chunk)
                stream.write(chunk)
                if progress:
                    progress(len(chunk))
            stream.flush()
            os.fsync(stream.fileno())
        return digest.hexdigest()

    def stat(self, remote_path: str) -> RemoteFile | None:
        path = self._path(remote_path)
        if not path.is_file():
            return None
        return RemoteFile(remote_path, path.stat().st_size, _md5(path))

    def list(self, remote_dir: str) -> list[RemoteFile]:
        folder = self._path(remote_dir) if remote_dir.strip("/") else self.base
        if not folder.is_dir():
            return []
        prefix = remote_dir.strip("/")
        return [
            RemoteFile(f"{prefix}/{p.name}" if prefix else p.name, p.stat().st_size)
            for p in sorted(folder.iterdir())
            if p.is_file() and not _TEMPORARY_NAME.fullmatch(p.name)
        ]

    def remove_temporary(self, remote_dir: str) -> list[str]:
        folder = self._path(remote_dir) if remote_dir.strip("/") else self.base
        if not folder.is_dir():
            return []
        removed = []
        for path in sorted(folder.iterdir()):
            if _TEMPORARY_NAME.fullmatch(path.name) and path.is_file():
                try:
                    path.unlink(missing_ok=True)
                except OSError as exc:
                    raise _failure(exc, f"cannot delete {path}") from None
                removed.append(f"{remote_dir.rstrip('/')}/{path.name}".lstrip("/"))
        return removed

    def read(self, remote_path: str) -> bytes:
        try:
            return self._path(remote_path).read_bytes()
        except OSError as exc:
            raise _failure(exc, f"cannot read {remote_path}") from None

    def delete(self, remote_path: str) -> None:
        try:
            self._path(remote_path).unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _failure(exc, f"cannot delete {remote_path}") from None

    def location(self, remote_path: str) -> str:
        directory = self.settings.directory.rstrip("/")  # type: ignore[attr-defined]
        return f"local:{directory}/{remote_path.lstrip('/')}"


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_directory(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
