"""Where a user's warm server listens (standard library only, no pathlib: the client imports
this, and every millisecond of its start-up is the hook's)."""

from __future__ import annotations

import hashlib
import os
import stat
import sys

WARM_DIR_ENV = "STARDUST_WARM_DIR"
"""A folder for the sockets instead of ``$XDG_RUNTIME_DIR`` or ``$TMPDIR`` (tests use it)."""
IDLE_ENV = "STARDUST_WARM_IDLE"
"""Seconds a server waits for its next call before it exits (default 900)."""
DEFAULT_IDLE_SECONDS = 900.0
MAX_SOCKET_PATH = 100
"""AF_UNIX paths hold 107 bytes on Linux; a longer one means no warm server."""
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def folder_name() -> str:
    """This user's folder for warm sockets."""
    base = os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("TMPDIR") or "/tmp"
    return os.environ.get(WARM_DIR_ENV) or os.path.join(base, f"stardust-git-{os.getuid()}")


def private_folder() -> str | None:
    """The folder for warm sockets, made if missing; None when it is not private (another owner,
    or group or others may use it): then no server is used."""
    folder = folder_name()
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        found = os.lstat(folder)
    except OSError:
        return None
    private = found.st_uid == os.getuid() and not found.st_mode & 0o077
    return folder if stat.S_ISDIR(found.st_mode) and private else None


def socket_path(folder: str) -> str | None:
    """The socket of the server for this Python and this installation of stardust-git."""
    installation = f"{sys.executable}\0{PACKAGE_DIR}".encode()
    path = os.path.join(folder, f"{hashlib.sha256(installation).hexdigest()[:16]}.sock")
    return path if len(os.fsencode(path)) <= MAX_SOCKET_PATH else None


def idle_seconds() -> float:
    try:
        return max(0.1, float(os.environ.get(IDLE_ENV, DEFAULT_IDLE_SECONDS)))
    except ValueError:
        return DEFAULT_IDLE_SECONDS
