"""Start a server process, wait until it answers, and stop it through its own process group."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 10.0
REPO_ROOT = Path(__file__).resolve().parents[2]
_POLL_INTERVAL_SECONDS = 0.02
_LOG_TAIL_CHARS = 4000
_MAX_PORT_TRIES = 200


class ServerStartError(RuntimeError):
    """A test server is missing or did not become ready; the message carries its log."""


def require_executable(name: str, *candidates: Path) -> str:
    """The path of a server binary, or an error that says how to install it."""
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise ServerStartError(f"{name} not found: run scripts/setup.sh")
    return found


def free_ports(count: int, *, twin_offset: int | None = None) -> list[int]:
    """`count` distinct free ports on HOST; with twin_offset, each port + offset is free too."""
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        for _ in range(_MAX_PORT_TRIES):
            if len(ports) == count:
                return ports
            sock = _bind(0)
            held.append(sock)
            port = sock.getsockname()[1]
            if twin_offset is not None:
                try:
                    held.append(_bind(port + twin_offset))
                except (OSError, OverflowError):
                    continue
            ports.append(port)
        raise ServerStartError(f"found only {len(ports)} of {count} free ports")
    finally:
        for sock in held:
            sock.close()


def free_port() -> int:
    return free_ports(1)[0]


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
    except BaseException:
        sock.close()
        raise
    return sock


def read_banner(port: int, prefix: bytes) -> None:
    """Raise unless a TCP server on HOST:port greets with a line starting with prefix."""
    with socket.create_connection((HOST, port), timeout=1.0) as sock:
        banner = sock.recv(256)
    if not banner.startswith(prefix):
        raise ConnectionError(f"unexpected banner {banner!r}")


@dataclass
class ServerProcess:
    """A server started in its own session, so that its whole process group can be stopped."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(
        cls,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        cwd: Path,
        env: Mapping[str, str] | None = None,
    ) -> ServerProcess:
        with log_path.open("wb") as log:
            popen = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=None if env is None else dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(name, popen, log_path)

    def log_tail(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-_LOG_TAIL_CHARS:]

    def wait_until_ready(self, probe: Callable[[], object]) -> None:
        """Poll probe until it returns without raising; fail with the log when it never does."""
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise ServerStartError(
                    f"{self.name} exited with status {self.popen.returncode} before it was ready."
                    f"\n--- {self.log_path} ---\n{self.log_tail()}"
                )
            try:
                probe()
                return
            except Exception as error:
                last_error = error
            time.sleep(_POLL_INTERVAL_SECONDS)
        raise ServerStartError(
            f"{self.name} not ready after {READY_TIMEOUT_SECONDS:.0f} s "
            f"(last probe error: {last_error!r}).\n--- {self.log_path} ---\n{self.log_tail()}"
        )

    def stop(self) -> None:
        # Signal the group only while the leader is unreaped, so its id cannot have been reused.
        if self.popen.poll() is not None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.popen.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.popen.wait(STOP_TIMEOUT_SECONDS)

    def _signal_group(self, signal_number: int) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal_number)


@contextmanager
def running_server(
    name: str,
    argv: Sequence[str],
    workdir: Path,
    probe: Callable[[], object],
    *,
    env: Mapping[str, str] | None = None,
) -> Iterator[ServerProcess]:
    """Start argv with its log in workdir, wait for probe, yield the process; always stop it."""
    process = ServerProcess.start(name, argv, workdir / f"{name}.log", cwd=workdir, env=env)
    try:
        process.wait_until_ready(probe)
        yield process
    finally:
        process.stop()


def run_tool(argv: Sequence[str], *, stdin: str | None = None) -> str:
    """Run a helper command (ssh-keygen, openssl) and return its output; fail with its stderr."""
    result = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServerStartError(f"{argv[0]} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout
