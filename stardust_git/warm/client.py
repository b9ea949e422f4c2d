"""The console script: ``validate --warm`` through the warm server, every other call through
click. Standard library only until it falls back, so a served call imports almost nothing."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import sys

from stardust_git.warm.paths import folder_name, private_folder, socket_path

WARM_FLAG = "--warm"
CHILD_ENV = "STARDUST_WARM_CHILD"
"""Set in a served child: its own ``--warm`` must not call a server again."""
INTERNAL_ERROR = 3
INTERRUPTED = 130
CONNECT_SECONDS = 2.0
VERBOSE_ENV = "STARDUST_WARM_VERBOSE"
"""Set to 1: say on stderr whether the call was served, and by which process."""


def main() -> None:
    """Run the command line, served warm when asked and a server answers."""
    code = served(sys.argv[1:]) if wants_warm(sys.argv[1:]) else None
    if code is not None:
        sys.exit(code)
    from stardust_git.cli import main as run_here

    run_here()


def wants_warm(args: list[str]) -> bool:
    asked = args[:1] == ["validate"] and WARM_FLAG in args
    return asked and not os.environ.get(CHILD_ENV) and hasattr(socket, "send_fds")


def served(args: list[str]) -> int | None:
    """The exit code of ``args`` run by the warm server, or None to run here (no server yet: one
    is started for the next call; or the server's code is older than the installed package)."""
    folder = private_folder()
    if folder is None:
        say(f"{folder_name()} is not private to this user: running here")
        return None
    path = socket_path(folder)
    if path is None or not standard_streams_open():
        say("no socket path for this folder, or a standard stream is closed: running here")
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.settimeout(CONNECT_SECONDS)
        connection.connect(path)
    except OSError:
        connection.close()
        say("no server answered: running here, starting one for the next call")
        start_server(path)
        return None
    with connection:
        return exchange(connection, args)


def say(message: str) -> None:
    if os.environ.get(VERBOSE_ENV) == "1":
        print(f"warm: {message}", file=sys.stderr, flush=True)


def standard_streams_open() -> bool:
    try:
        for fd in (0, 1, 2):
            os.fstat(fd)
    except OSError:
        return False
    return True


def start_server(path: str) -> None:
    """Start a server in its own session, detached from this call's streams."""
    import contextlib  # only here: a served call never needs these
    import subprocess

    command = [sys.executable, "-m", "stardust_git.warm.server", path]
    environment = {key: value for key, value in os.environ.items() if kept_for_server(key)}
    with contextlib.suppress(OSError):  # this call runs here; so will the next
        subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env=environment,
            cwd="/",
        )


SERVER_ENV = frozenset(
    {"PATH", "HOME", "LANG", "TMPDIR", "VIRTUAL_ENV", "STARDUST_XSD_DIR", "STARDUST_WARM_DIR"}
    | {"STARDUST_WARM_IDLE", "STARDUST_XSD_BASE_URL"}
)
SERVER_ENV_PREFIXES = ("LC_", "XDG_", "PYTHON")


def kept_for_server(name: str) -> bool:
    """What the long-lived server inherits: where to import from and find the XSDs, never the
    rest of the caller's environment (a secret there would outlive the call in the server's
    environment; each call's child gets the caller's whole environment, and exits)."""
    return name in SERVER_ENV or name.startswith(SERVER_ENV_PREFIXES)


def exchange(connection: socket.socket, args: list[str]) -> int | None:
    """Send the call with this process's standard streams and wait for the child's exit code."""
    connection.settimeout(None)
    try:
        payload = json.dumps(request(args)).encode()
        message = len(payload).to_bytes(8, "big") + payload
        sent = socket.send_fds(connection, [message], [0, 1, 2])
        if sent < len(message):  # an empty send after the server's reply would fail (EPIPE)
            connection.sendall(message[sent:])
        replies = connection.makefile("rb")
        first = replies.readline()
    except OSError as exc:
        say(f"the server did not take the call ({exc.strerror}): running here")
        return None
    if not first.startswith(b"pid "):
        say("the server's code is older than the installed package: running here")
        return None
    child = int(first.split()[1])
    say(f"served by process {child}")
    return exit_code(replies, child)


def request(args: list[str]) -> dict[str, object]:
    return {
        "argv": args,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "encodings": [stream_encoding(stream) for stream in (sys.stdin, sys.stdout, sys.stderr)],
    }


def stream_encoding(stream: object) -> list[str]:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    return [encoding, getattr(stream, "errors", None) or "strict"]


def exit_code(replies: io.BufferedReader, child: int) -> int:
    """Wait for ``exit N``; a Ctrl-C here is passed on to the child (not in our terminal's
    process group), which stops as the command would have."""
    try:
        last = replies.readline()
    except KeyboardInterrupt:
        os.kill(child, signal.SIGINT)
        try:
            last = replies.readline()
        except KeyboardInterrupt:
            return INTERRUPTED
    if last.startswith(b"exit "):
        return int(last.split()[1])
    print("internal error: the warm validate process ended without an exit code", file=sys.stderr)
    return INTERNAL_ERROR
