"""A throwaway OpenSSH sshd on 127.0.0.1 that serves SFTP only, from a temporary directory."""

from __future__ import annotations

import os
import pwd
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.servers._process import (
    HOST,
    ServerStartError,
    free_port,
    read_banner,
    require_executable,
    run_tool,
    running_server,
)

_PRIVILEGE_SEPARATION_DIR = Path("/run/sshd")


@dataclass(frozen=True)
class SftpServer:
    host: str
    port: int
    username: str
    private_key_path: Path
    host_key: str
    """The host key as a target pins it: "ssh-ed25519 AAAA..."."""
    known_hosts_path: Path
    """A known_hosts file with that key, for OpenSSH clients (`sftp -o UserKnownHostsFile=`)."""
    data_dir: Path
    """Each SFTP session starts here: relative remote paths land in it."""
    startup_seconds: float
    password: str | None = None
    """Set only when the server takes password logins (and then only those)."""


@contextmanager
def run_sshd(
    workdir: Path, *, password: str | None = None, max_sessions: int | None = None
) -> Iterator[SftpServer]:
    """Run sshd in workdir; with a password it accepts only that password, else only the key.

    Its log (``sshd.log`` in workdir) has a line per SFTP session and per file closed, with the
    bytes written through it. ``max_sessions`` caps the SFTP sessions of one connection.

    Password login needs root: sshd checks the password against /etc/shadow, so sshd runs in a
    private mount namespace where a one-line shadow file is mounted over /etc/shadow. The real
    file and the real account are never touched.
    """
    started = time.perf_counter()
    if any(character.isspace() for character in str(workdir)):
        raise ServerStartError(f"sshd_config paths cannot contain spaces: {workdir}")
    sshd = require_executable("sshd", Path("/usr/sbin/sshd"))
    keygen = require_executable("ssh-keygen")
    username = pwd.getpwuid(os.geteuid()).pw_name
    data_dir = workdir / "data"
    data_dir.mkdir()
    host_key_path = _generate_key(keygen, workdir / "host_ed25519")
    client_key_path = _generate_key(keygen, workdir / "client_ed25519")
    authorized_keys = workdir / "authorized_keys"
    authorized_keys.write_text(_public_key_file(client_key_path).read_text())
    authorized_keys.chmod(0o644)
    port = free_port()
    config = workdir / "sshd_config"
    config.write_text(
        _config_text(
            port,
            host_key_path,
            authorized_keys,
            data_dir,
            password_login=bool(password),
            max_sessions=max_sessions,
        )
    )
    argv = [sshd, "-D", "-e", "-f", str(config)]
    if password:
        argv = _with_private_shadow(argv, workdir, username, password)
    if os.geteuid() == 0:
        _PRIVILEGE_SEPARATION_DIR.mkdir(exist_ok=True)
    host_key = " ".join(_public_key_file(host_key_path).read_text().split()[:2])
    known_hosts = workdir / "known_hosts"
    known_hosts.write_text(f"[{HOST}]:{port} {host_key}\n")
    with running_server("sshd", argv, workdir, lambda: read_banner(port, b"SSH-2.0-")):
        yield SftpServer(
            host=HOST,
            port=port,
            username=username,
            private_key_path=client_key_path,
            host_key=host_key,
            known_hosts_path=known_hosts,
            data_dir=data_dir,
            startup_seconds=time.perf_counter() - started,
            password=password,
        )


def _generate_key(keygen: str, path: Path) -> Path:
    run_tool([keygen, "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)])
    return path


def _public_key_file(private_key_path: Path) -> Path:
    return private_key_path.with_name(f"{private_key_path.name}.pub")


def _config_text(
    port: int,
    host_key: Path,
    authorized_keys: Path,
    data_dir: Path,
    *,
    password_login: bool,
    max_sessions: int | None,
) -> str:
    method = "password" if password_login else "publickey"
    lines = [
        f"ListenAddress {HOST}",
        f"Port {port}",
        f"HostKey {host_key}",
        f"PidFile {host_key.parent / 'sshd.pid'}",
        f"AuthorizedKeysFile {authorized_keys}",
        f"AuthenticationMethods {method}",
        f"PasswordAuthentication {'yes' if password_login else 'no'}",
        "KbdInteractiveAuthentication no",
        f"PermitRootLogin {'yes' if password_login else 'prohibit-password'}",
        "UsePAM no",
        "StrictModes no",
        "Subsystem sftp internal-sftp",
        f"ForceCommand internal-sftp -d {data_dir}",
        "LogLevel VERBOSE",
    ]
    if max_sessions is not None:
        lines.append(f"MaxSessions {max_sessions}")
    return "\n".join(lines) + "\n"


def _with_private_shadow(argv: list[str], workdir: Path, username: str, password: str) -> list[str]:
    if os.geteuid() != 0:
        raise ServerStartError("sshd password login needs root (a private mount of /etc/shadow)")
    openssl = require_executable("openssl")
    password_hash = run_tool([openssl, "passwd", "-6", "-stdin"], stdin=password).strip()
    shadow = workdir / "shadow"
    shadow.write_text(f"{username}:{password_hash}:19000:0:99999:7:::\n")
    shadow.chmod(0o600)
    unshare = require_executable("unshare")
    mount_then_exec = 'mount --bind "$1" /etc/shadow && shift && exec "$@"'
    return [unshare, "--mount", "sh", "-c", mount_then_exec, "sh", str(shadow), *argv]
