"""Safe file access: atomic writes (a reader sees the old file or the new one, never half of one)
and bounded reads that refuse anything but a regular file of a known size."""

from __future__ import annotations

import os
import re
import stat
import tempfile
import unicodedata
from pathlib import Path

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def write_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename over ``path``.

    ``durable=False`` skips the fsync (still atomic: the rename is): for a caller writing
    thousands of files that syncs once when all are written (:func:`os.sync`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            if durable:
                os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def stat_key(found: os.stat_result) -> tuple[int, int, int, int]:
    """What a cache kept between runs compares to trust that a file is unchanged, as git's
    index does: size, modification time, change time and inode (an edit that keeps size and
    mtime, or a file swapped in by rename, changes the last two)."""
    return (found.st_size, found.st_mtime_ns, found.st_ctime_ns, found.st_ino)


def cache_folder(name: str) -> Path:
    """``$XDG_CACHE_HOME`` (or ``~/.cache``)/stardust-git/``name``: kept between runs."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "stardust-git" / name


def write_text_atomic(path: Path, text: str, durable: bool = True) -> None:
    write_atomic(path, text.encode("utf-8"), durable)


MAX_YAML_BYTES = 4 * 1024 * 1024
"""The largest release, target or genre-map file read (checked before reading or parsing)."""

MAX_RECEIPT_BYTES = 16 * 1024 * 1024
"""The largest receipt read: a long delivery history stays far below it."""

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class UnreadableFile(Exception):
    """A file the tool refuses to read (not a regular file, or too large); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_regular(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, a regular file of at most ``limit`` bytes.

    Anything else is refused with :class:`UnreadableFile` before it is opened for reading (a FIFO
    would block forever, a device never end); ``FileNotFoundError`` when there is no such file.
    The open is non-blocking and re-checked, in case the file was swapped in between.
    """
    try:
        refuse_unless_regular(path, os.stat(path), limit)
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        if os.path.islink(path):
            raise UnreadableFile(
                "not a regular file: a symbolic link to nothing; not read"
            ) from None
        raise
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror}") from None
    with os.fdopen(handle, "rb") as stream:
        refuse_unless_regular(path, os.fstat(handle), limit)
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise UnreadableFile(too_large(len(data), limit))
    return data


def refuse_unless_regular(path: Path, info: os.stat_result, limit: int) -> None:
    """:class:`UnreadableFile` unless ``info`` is that of a regular file within ``limit``."""
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
        raise UnreadableFile(f"not a regular file: {kind}{_through_link(path)}; not read")
    if info.st_size > limit:
        raise UnreadableFile(too_large(info.st_size, limit))


def too_large(size: int, limit: int) -> str:
    return (
        f"the file is too large ({size:,} bytes; the limit is {_mib(limit)}): not read; split it up"
    )


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB" if size >= 1024 * 1024 else f"{size:,} bytes"


def _through_link(path: Path) -> str:
    try:
        return " (through a symbolic link)" if os.path.islink(path) else ""
    except (OSError, ValueError):
        return ""


def slug(text: str) -> str:
    """A file-name part: ``Summer Vibes EP`` -> ``summer-vibes-ep`` (ASCII letters and digits
    joined by hyphens; "" when nothing is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
