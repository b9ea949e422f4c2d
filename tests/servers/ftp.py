"""pyftpdlib as an FTP or FTPS server process on 127.0.0.1, serving a temporary directory."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.servers._process import HOST, free_port, read_banner, running_server
from tests.servers.tls import write_tls_files

FTP_USERNAME = "deliver"
FTP_PASSWORD = "ftp-test-password"
_FTPD_SCRIPT = Path(__file__).with_name("ftpd_main.py")
_PASSWORD_VARIABLE = "FTP_TEST_PASSWORD"


@dataclass(frozen=True)
class FtpServer:
    host: str
    port: int
    username: str
    password: str
    root_dir: Path
    """The user's home: remote "/" is this directory."""
    tls: bool
    """FTPS (explicit AUTH TLS), with TLS required on the control and the data connections."""
    ca_file: Path | None
    """The CA that signed the server's certificate (for 127.0.0.1 and localhost); FTPS only."""
    startup_seconds: float


@contextmanager
def run_ftp(workdir: Path, *, tls: bool = False) -> Iterator[FtpServer]:
    """Run pyftpdlib in its own process; its one user may list, read, write, rename, delete."""
    started = time.perf_counter()
    root_dir = workdir / "root"
    root_dir.mkdir()
    port = free_port()
    argv = [sys.executable, str(_FTPD_SCRIPT), "--host", HOST, "--port", str(port)]
    argv += ["--root", str(root_dir), "--username", FTP_USERNAME]
    argv += ["--password-variable", _PASSWORD_VARIABLE]
    ca_file = None
    if tls:
        tls_files = write_tls_files(workdir)
        ca_file = tls_files.ca_file
        argv += ["--certfile", str(tls_files.cert_file), "--keyfile", str(tls_files.key_file)]
    env = {**os.environ, _PASSWORD_VARIABLE: FTP_PASSWORD}
    name = "ftps" if tls else "ftp"
    with running_server(name, argv, workdir, lambda: read_banner(port, b"220 "), env=env):
        yield FtpServer(
            host=HOST,
            port=port,
            username=FTP_USERNAME,
            password=FTP_PASSWORD,
            root_dir=root_dir,
            tls=tls,
            ca_file=ca_file,
            startup_seconds=time.perf_counter() - started,
        )
