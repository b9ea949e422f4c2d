"""The warm server: imports what validate needs once, then forks a child per call.

    python -m stardust_git.warm.server SOCKET

One server per user, Python and installation (the socket's name says which); a lock file
beside the socket keeps it to one. It exits after ``STARDUST_WARM_IDLE`` seconds without a call,
and at the first call after the installed package changed (that call runs in the client).
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import json
import os
import signal
import socket
import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stardust_git.warm.client import CHILD_ENV, INTERNAL_ERROR
from stardust_git.warm.paths import PACKAGE_DIR, idle_seconds

PRELOADED = (
    "stardust_git.cli",
    "stardust_git.commands.validate",
    "stardust_git.validate",
    "stardust_git.checks.ern",
    "stardust_git.checks.apple",
    "stardust_git.checks.profiles",
    "stardust_git.checks.history",
    "stardust_git.render.ern_package",
    "PIL.Image",
    "mutagen.wave",
)
"""What a validate imports (the rest a child imports itself, as a cold run would)."""
MAX_REQUEST_BYTES = 4 * 1024 * 1024
REQUEST_SECONDS = 5.0


def main(argv: list[str] | None = None) -> int:
    path = Path((argv or sys.argv[1:])[0])
    with held_lock(path.with_suffix(".lock")) as held:
        if held:
            serve(path, idle_seconds())
    return 0


@contextlib.contextmanager
def held_lock(path: Path) -> Iterator[bool]:
    """Whether this process holds the server lock (another server may already run)."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        yield False
        return
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"{os.getpid()}\n".encode())  # who to stop, for people and tests
    try:
        yield True
    finally:
        os.close(descriptor)


def serve(path: Path, idle: float) -> None:
    signature = code_signature()
    for name in PRELOADED:
        importlib.import_module(name)
    warm_up()
    path.unlink(missing_ok=True)  # a dead server's socket: the lock says none is alive
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen(16)
        listener.settimeout(idle)
        gc.freeze()  # what the imports built stays shared with every child, untouched
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reap themselves
        try:
            while answer_next(listener, signature):
                pass
        finally:
            path.unlink(missing_ok=True)


def warm_up() -> None:
    """Load what every call would read the same way: the compiled XSDs already on this machine,
    the packaged Apple schema and store list, the installed render hooks. Each is best effort:
    what fails here a call loads itself, as a cold run does."""
    from stardust_git import xsd
    from stardust_git.checks.apple import schema as apple_schema
    from stardust_git.render.apple.products import store_territories
    from stardust_git.render.hooks import installed_hooks

    for load in (xsd.compile_ahead, apple_schema, store_territories, installed_hooks):
        with contextlib.suppress(Exception):
            load()


def answer_next(listener: socket.socket, signature: tuple[tuple[str, int], ...]) -> bool:
    """Answer one call; False when the server should exit (idle, or its code is stale)."""
    try:
        connection, _ = listener.accept()
    except TimeoutError:
        return False
    with connection:
        call = received(connection) if same_user(connection) else None
        if call is None:
            return True
        if code_signature() != signature:  # read first: the caller is still sending
            close_all(call[1])
            connection.sendall(b"stale\n")
            return False
        primed(call)
        start_child(listener, connection, *call)
    return True


def primed(call: dict[str, Any]) -> None:
    """Parse the caller's targets and genre files here, before the fork: the child takes what
    did not change since an earlier call (best effort: the child parses whatever is missing)."""
    from stardust_git.source.catalog import prime_support_files
    from stardust_git.source.layout import find_root

    with contextlib.suppress(Exception):
        prime_support_files(find_root(Path(call["cwd"])))


def code_signature() -> tuple[tuple[str, int], ...]:
    """The package's files and the folders on the import path, with their modification times:
    changed code, or a package installed or removed (a plugin), changes it. (``sys.path[0]`` is
    the server's working directory, ``/``.)"""
    package = Path(PACKAGE_DIR).rglob("*")
    files = sorted(path for path in package if "__pycache__" not in path.parts and path.is_file())
    folders = [Path(folder) for folder in sys.path[1:] if folder and Path(folder).is_dir()]
    return tuple((str(path), path.stat().st_mtime_ns) for path in [*files, *folders])


def same_user(connection: socket.socket) -> bool:
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return uid == os.getuid()


def received(connection: socket.socket) -> tuple[dict[str, Any], list[int]] | None:
    """The call and its three standard streams, or None when it is malformed or too big."""
    connection.settimeout(REQUEST_SECONDS)
    try:
        data, fds, _flags, _address = socket.recv_fds(connection, 65536, 3)
    except OSError:
        return None
    try:
        return parsed_call(connection, data, fds), fds
    except (OSError, ValueError):
        close_all(fds)
        return None


def parsed_call(connection: socket.socket, data: bytes, fds: list[int]) -> dict[str, Any]:
    if len(fds) != 3 or len(data) < 8:
        raise ValueError("three streams and a length expected")
    size = int.from_bytes(data[:8], "big")
    if size > MAX_REQUEST_BYTES:
        raise ValueError("too big")
    call = json.loads(data[8:] + read_exactly(connection, size + 8 - len(data)))
    if not isinstance(call, dict):
        raise ValueError("not a call")
    return call


def read_exactly(connection: socket.socket, size: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = connection.recv(min(size, 65536))
        if not chunk:
            raise ValueError("the call ended early")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def start_child(
    listener: socket.socket, connection: socket.socket, call: dict[str, Any], fds: list[int]
) -> None:
    if os.fork() == 0:
        listener.close()
        os._exit(run_child(connection, call, fds))
    close_all(fds)


def close_all(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


def run_child(connection: socket.socket, call: dict[str, Any], fds: list[int]) -> int:
    """In the forked child: become the caller's process (streams, directory, environment), run
    the command, report its exit code."""
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the command waits for git itself
        become_caller(call, fds)
        connection.settimeout(None)
        connection.sendall(f"pid {os.getpid()}\n".encode())
        code = run_command(call["argv"])
        connection.sendall(f"exit {code}\n".encode())
    except BaseException:  # a child must never return into the server's loop
        return 1
    return 0


def become_caller(call: dict[str, Any], fds: list[int]) -> None:
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(call["env"])
    os.environ[CHILD_ENV] = "1"
    os.chdir(call["cwd"])
    (in_encoding, in_errors), *outputs = call["encodings"]
    sys.stdin = open(0, encoding=in_encoding, errors=in_errors, closefd=False)  # noqa: SIM115
    sys.stdout, sys.stderr = (
        # Buffered as Python's own: stdout by line on a terminal, else in blocks; stderr by line.
        open(fd, "w", 1 if fd == 2 or os.isatty(fd) else -1, encoding, errors, closefd=False)  # noqa: SIM115
        for fd, (encoding, errors) in zip((1, 2), outputs, strict=True)
    )
    sys.argv = ["stardust-git", *call["argv"]]


def run_command(argv: list[str]) -> int:
    """The exit code of the command line, as the console script would have exited."""
    from stardust_git.cli import cli

    try:
        cli.main(args=argv, prog_name="stardust-git")
    except SystemExit as done:
        return exit_status(done.code)
    except BaseException as exc:  # the command's own handler caught the rest
        print(f"internal error: {type(exc).__name__}", file=sys.stderr)
        return INTERNAL_ERROR
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    return 0


def exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
