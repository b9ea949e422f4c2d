"""Azurite's Blob service (from ./node_modules) on 127.0.0.1, in memory, telemetry off."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from azure.storage.blob import BlobServiceClient

from tests.servers._process import HOST, REPO_ROOT, free_port, require_executable, running_server

# Azurite's well-known development account (public, documented by Microsoft).
DEV_ACCOUNT_NAME = "devstoreaccount1"
DEV_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
_EXTENT_MEMORY_LIMIT_MB = 4096


@dataclass(frozen=True)
class AzureServer:
    account_name: str
    account_key: str
    account_url: str
    """The Blob endpoint, http://127.0.0.1:PORT/devstoreaccount1 (an `account_url` setting)."""
    connection_string: str
    startup_seconds: float

    def service_client(self) -> BlobServiceClient:
        return BlobServiceClient.from_connection_string(self.connection_string)

    def new_container(self, prefix: str = "test") -> str:
        """Create an empty container with a unique valid name and return the name."""
        name = f"{prefix}-{uuid.uuid4().hex[:16]}"
        self.service_client().create_container(name)
        return name


@contextmanager
def run_azurite(workdir: Path) -> Iterator[AzureServer]:
    """Run azurite-blob keeping blobs in memory; it checks keys, signatures and block MD5s."""
    started = time.perf_counter()
    azurite = require_executable(
        "azurite-blob", REPO_ROOT / "node_modules" / ".bin" / "azurite-blob"
    )
    port = free_port()
    account_url = f"http://{HOST}:{port}/{DEV_ACCOUNT_NAME}"
    server = AzureServer(
        account_name=DEV_ACCOUNT_NAME,
        account_key=DEV_ACCOUNT_KEY,
        account_url=account_url,
        connection_string=(
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT_NAME};"
            f"AccountKey={DEV_ACCOUNT_KEY};BlobEndpoint={account_url};"
        ),
        startup_seconds=0.0,
    )
    argv = [azurite, "--blobHost", HOST, "--blobPort", str(port), "--inMemoryPersistence"]
    argv += ["--extentMemoryLimit", str(_EXTENT_MEMORY_LIMIT_MB)]
    # The SDK may speak a newer API version than this Azurite release knows.
    argv += ["--skipApiVersionCheck", "--disableTelemetry"]
    probe_client = BlobServiceClient.from_connection_string(
        server.connection_string, retry_total=0, connection_timeout=1, read_timeout=2
    )
    with running_server("azurite", argv, workdir, probe_client.get_account_information):
        yield replace(server, startup_seconds=time.perf_counter() - started)
