"""Real protocol servers on 127.0.0.1 for the tests, as pytest fixtures.

Use from tests/conftest.py with `pytest_plugins = ["tests.servers"]`. Each server listens on a
free port of its own, is stopped through its own process (never by name) even when a test fails,
and fails the test with its log when it does not start. sshd, FTP and the HTTP API are cheap and
start fresh for every test; SeaweedFS and Azurite start once per session (per xdist worker):
take a fresh bucket or container per test (`s3_bucket`, `azure_container`).
Benchmarks can use the `run_*` context managers directly, without pytest.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from tests.servers._process import HOST, ServerStartError
from tests.servers.api import (
    ApiCredentials,
    ApiServer,
    DeliveryApi,
    HandledRequest,
    ReceivedDelivery,
    ReceivedFile,
    run_api,
)
from tests.servers.azure import AzureServer, run_azurite
from tests.servers.ftp import FtpServer, run_ftp
from tests.servers.s3 import S3Server, run_seaweedfs
from tests.servers.sftp import SftpServer, run_sshd
from tests.servers.tls import TlsFiles, write_tls_files

__all__ = [
    "HOST",
    "ApiCredentials",
    "ApiServer",
    "AzureServer",
    "DeliveryApi",
    "FtpServer",
    "HandledRequest",
    "ReceivedDelivery",
    "ReceivedFile",
    "S3Server",
    "ServerStartError",
    "SftpServer",
    "TlsFiles",
    "azure_container",
    "azurite_server",
    "ftp_server",
    "ftps_server",
    "http_api_server",
    "run_api",
    "run_azurite",
    "run_ftp",
    "run_seaweedfs",
    "run_sshd",
    "s3_bucket",
    "s3_server",
    "sshd_password_server",
    "sshd_server",
    "write_tls_files",
]


@pytest.fixture
def sshd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """OpenSSH sshd, SFTP only, public key login for the current user (root in CI)."""
    with run_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def sshd_password_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """OpenSSH sshd, SFTP only, password login only (needs root; see run_sshd)."""
    password = secrets.token_urlsafe(12)
    with run_sshd(tmp_path_factory.mktemp("sshd-password"), password=password) as server:
        yield server


@pytest.fixture
def ftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FtpServer]:
    with run_ftp(tmp_path_factory.mktemp("ftp")) as server:
        yield server


@pytest.fixture
def ftps_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FtpServer]:
    """FTPS with TLS required on control and data; verify with ftps_server.ca_file."""
    with run_ftp(tmp_path_factory.mktemp("ftps"), tls=True) as server:
        yield server


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with run_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """The name of a new empty bucket on s3_server."""
    return s3_server.new_bucket()


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureServer]:
    with run_azurite(tmp_path_factory.mktemp("azurite")) as server:
        yield server


@pytest.fixture
def azure_container(azurite_server: AzureServer) -> str:
    """The name of a new empty container on azurite_server."""
    return azurite_server.new_container()


@pytest.fixture
def http_api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    with run_api(tmp_path_factory.mktemp("api")) as server:
        yield server
