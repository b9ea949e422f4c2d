"""Azure Blob Storage delivery with azure-storage-blob.

Credentials: a connection string, or ``account_url`` with an account key (both ``${ENV}``
secrets), or ``account_url`` alone with DefaultAzureCredential (environment, workload identity,
managed identity, Azure CLI). Every blob carries its Content-MD5. Small files (XML, manifests,
up to ``SINGLE_PUT_BYTES``) go in one PUT whose MD5 the service checks on arrival; larger ones in
``BLOCK_BYTES`` blocks, ``max_concurrency`` at a time, each read from the file as it is sent
(per-block MD5s would cost about a third of the speed). A block blob appears only when its
block list is committed, so no reader sees half of it; the delivery engine writes the XML and the
batch marker last.
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
)
from azure.storage.blob import (
    BlobProperties,
    BlobServiceClient,
    ContainerClient,
    ContentSettings,
    ExponentialRetry,
)

from stardust_git.models.common import resolve_secret
from stardust_git.models.target import AzureDelivery
from stardust_git.protocols._common import StreamingTransport, by_path, listing_prefix, object_key
from stardust_git.protocols.base import PermanentError, Progress, RemoteFile, TransientError

MIB = 1 << 20
SINGLE_PUT_BYTES = 8 * MIB
# Above the SDK's 4 MiB + 1 threshold, blocks are read straight from the file by each worker.
BLOCK_BYTES = 8 * MIB
CONNECT_TIMEOUT_SECONDS = 20
READ_TIMEOUT_SECONDS = 120
_TRANSIENT_STATUS = {408, 429}
_TRANSIENT_CODES = {"OperationTimedOut", "ServerBusy", "InternalError"}


class AzureProtocol(StreamingTransport):
    """Delivery into an Azure Blob container under ``prefix``."""

    protocol = "azure"
    settings: AzureDelivery

    def __init__(self, target_name: str, settings: object, root: Path) -> None:
        super().__init__(target_name, settings, root)
        self._container: ContainerClient | None = None

    # -- connection ---------------------------------------------------------------------------

    def connect(self) -> None:
        with self._errors("connect"):
            try:
                self._blobs().get_container_properties()
            except ResourceNotFoundError as error:
                raise PermanentError(
                    f"{self.target_name}: container '{self.settings.container}' not found"
                ) from error

    def close(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            with suppress(Exception):
                container.close()

    def _blobs(self) -> ContainerClient:
        if self._container is None:
            self._container = self._service().get_container_client(self.settings.container)
        return self._container

    def _service(self) -> BlobServiceClient:
        settings = self.settings
        options: dict[str, Any] = {
            # The SDK's default waits 15 s and more between tries; the engine retries files too.
            "retry_policy": ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=2),
            "connection_timeout": CONNECT_TIMEOUT_SECONDS,
            "read_timeout": READ_TIMEOUT_SECONDS,
            "max_single_put_size": SINGLE_PUT_BYTES,
            "max_block_size": BLOCK_BYTES,
        }
        connection_string = resolve_secret(settings.connection_string)
        if connection_string:
            return BlobServiceClient.from_connection_string(connection_string, **options)
        assert settings.account_url is not None  # the model requires one of the two
        return BlobServiceClient(settings.account_url, credential=self._credential(), **options)

    def _credential(self) -> Any:
        account_key = resolve_secret(self.settings.account_key)
        if account_key:
            return account_key
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential(exclude_interactive_browser_credential=True)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Sort Azure SDK errors into Transient/PermanentError (first line of the message only)."""
        try:
            yield
        except (TransientError, PermanentError):
            raise
        except ClientAuthenticationError as error:
            reason = _first_line(error, self.redact)
            raise PermanentError(
                f"{self.target_name}: {action}: authentication refused: {reason}"
            ) from error
        except HttpResponseError as error:
            status = error.status_code or 0
            message = f"{self.target_name}: {action}: {status} {_first_line(error, self.redact)}"
            if status >= 500 or status in _TRANSIENT_STATUS or error.error_code in _TRANSIENT_CODES:
                raise TransientError(message) from error
            raise PermanentError(message) from error
        except (AzureError, OSError) as error:
            self.close()
            raise TransientError(
                f"{self.target_name}: {action}: {_first_line(error, self.redact)}"
            ) from error

    # -- names --------------------------------------------------------------------------------

    def _name(self, remote_path: str) -> str:
        return object_key(self.settings.prefix, remote_path)

    def location(self, remote_path: str) -> str:
        return f"azure://{self.settings.container}/{self._name(remote_path)}"

    # -- uploads ------------------------------------------------------------------------------

    def _upload(
        self, source: BinaryIO, size: int, remote_path: str, md5: str, progress: Progress | None
    ) -> None:
        with self._errors(f"upload {remote_path}"):
            blob = self._blobs().get_blob_client(self._name(remote_path))
            blob.upload_blob(
                source,
                length=size,
                overwrite=True,
                max_concurrency=self.settings.max_concurrency,
                content_settings=ContentSettings(content_md5=bytearray(bytes.fromhex(md5))),
                validate_content=size <= SINGLE_PUT_BYTES,
                progress_hook=_progress_hook(progress),
            )
            held = blob.get_blob_properties().size
            if held != size:
                raise TransientError(
                    f"{self.target_name}: {remote_path}: the container holds {held} bytes "
                    f"after uploading {size}"
                )

    # -- queries ------------------------------------------------------------------------------

    def stat(self, remote_path: str) -> RemoteFile | None:
        with self._errors(f"stat {remote_path}"):
            try:
                found = self._blobs().get_blob_client(self._name(remote_path)).get_blob_properties()
            except ResourceNotFoundError:
                return None
        return RemoteFile(remote_path, int(found.size), _md5_hex(found))

    def list(self, remote_dir: str) -> list[RemoteFile]:
        prefix = listing_prefix(self._name(remote_dir))
        with self._errors(f"list {remote_dir}"):
            items = list(self._blobs().walk_blobs(name_starts_with=prefix, delimiter="/"))
        return by_path(
            RemoteFile(
                posixpath.join(remote_dir, item.name[len(prefix) :]),
                int(item.size),
                _md5_hex(item),
            )
            for item in items
            if isinstance(item, BlobProperties)
        )

    def read(self, remote_path: str) -> bytes:
        with self._errors(f"read {remote_path}"):
            return self._blobs().download_blob(self._name(remote_path)).readall()

    def delete(self, remote_path: str) -> None:
        with self._errors(f"delete {remote_path}"):
            self._blobs().delete_blob(self._name(remote_path))


def _progress_hook(progress: Progress | None) -> Callable[[int, int | None], None] | None:
    """The SDK reports running totals (from several threads); the engine wants increments."""
    if progress is None:
        return None
    reported = 0
    lock = threading.Lock()

    def hook(current: int, total: int | None) -> None:
        nonlocal reported
        with lock:
            added, reported = max(0, current - reported), max(reported, current)
        if added:
            progress(added)

    return hook


def _md5_hex(properties: BlobProperties) -> str | None:
    md5 = properties.content_settings.content_md5 if properties.content_settings else None
    return bytes(md5).hex() if md5 else None


def _first_line(error: BaseException, redact: Callable[[str], str]) -> str:
    """The first line of the error's message, redacted before it is cut."""
    text = str(getattr(error, "message", None) or str(error)).strip() or type(error).__name__
    return redact(text).strip().splitlines()[0][:300]
