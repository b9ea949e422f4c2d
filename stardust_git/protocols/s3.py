"""Amazon S3 (and S3-compatible stores) delivery with boto3.

Files up to ``multipart_threshold_mib`` go in one PUT with Content-MD5, which the store checks;
larger ones in ``part_size_mib`` parts, ``max_concurrency`` at a time (s3transfer), each part
with a CRC32 checksum the store checks, and a failed multipart upload is aborted. Every object
carries its MD5 as ``x-amz-meta-md5`` so that resuming can compare it (a multipart ETag is not an
MD5). Object stores have no rename, but an object only appears once its PUT or its multipart
upload completes, and the delivery engine writes the XML and the batch marker last.

Credentials: ``access_key_id``/``secret_access_key`` from ``${ENV}`` secrets, or else boto3's
standard chain (environment, profile, the web identity token GitHub Actions' OIDC provides).
"""

from __future__ import annotations

import io
import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

import boto3
import botocore.exceptions
import botocore.loaders
import botocore.session
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.utils import determine_content_length
from s3transfer.manager import TransferManager
from s3transfer.subscribers import BaseSubscriber

from stardust_git.models.common import resolve_secret
from stardust_git.models.target import S3Delivery
from stardust_git.protocols._common import by_path, listing_prefix, md5_base64, object_key
from stardust_git.protocols._s3_put import Declined, LeanPut, lean_put_allowed
from stardust_git.protocols.base import (
    PermanentError,
    Progress,
    RemoteFile,
    TransientError,
    Transport,
)

MIB = 1 << 20
EXPECT_MIN_BYTES = MIB
"""Bodies this large or larger wait for the store's "100 Continue" before they are sent."""
CONNECT_TIMEOUT_SECONDS = 20
READ_TIMEOUT_SECONDS = 120
# botocore retries throttling, 5xx and dropped connections itself, a few times, never a 4xx.
_CLIENT_RETRIES = {"mode": "standard", "total_max_attempts": 3}
_TRANSIENT_CODES = {
    "InternalError",
    "OperationAborted",
    "RequestTimeout",
    "ServiceUnavailable",
    "SlowDown",
    "Throttling",
    "ThrottlingException",
}
_PERMANENT_BOTO_ERRORS = (
    botocore.exceptions.NoCredentialsError,
    botocore.exceptions.PartialCredentialsError,
    botocore.exceptions.NoRegionError,
    botocore.exceptions.ParamValidationError,
    botocore.exceptions.ProfileNotFound,
    botocore.exceptions.ConfigParseError,
)
_PLAIN_MD5 = re.compile(r"[0-9a-f]{32}")


class _ProgressSubscriber(BaseSubscriber):  # type: ignore[misc]
    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def on_progress(self, future: Any, bytes_transferred: int, **kwargs: Any) -> None:
        if bytes_transferred > 0:
            self._progress(bytes_transferred)


class S3Protocol(Transport):
    """Delivery into an S3 bucket under ``prefix``."""

    protocol = "s3"
    settings: S3Delivery

    def __init__(self, target_name: str, settings: object, root: Path) -> None:
        super().__init__(target_name, settings, root)
        self._client: Any = None
        self._credentials: Any = None
        self._lean: LeanPut | None = None
        """Small objects' PUTs without botocore's per-call machinery (_s3_put), per client."""
        self._lean_declined = False
        """The store redirected a lean PUT: every object goes through put_object from then on."""
        self._transfers: TransferManager | None = None

    # -- connection ---------------------------------------------------------------------------

    def connect(self) -> None:
        with self._errors("connect"):
            self._s3().head_bucket(Bucket=self.settings.bucket)

    def close(self) -> None:
        transfers, self._transfers = self._transfers, None
        client, self._client = self._client, None
        self._lean = None
        if transfers is not None:
            with suppress(Exception):
                transfers.shutdown()
        if client is not None:
            with suppress(Exception):
                client.close()

    def prepare_for_workers(self) -> None:
        """Make a client and drop it: the S3 model and endpoint rules it parsed stay in the
        process's shared loader, which workers inherit instead of parsing them each. A client
        that cannot be made here fails again, with its proper message, where a worker connects."""
        with suppress(Exception):
            self._s3()
        self.close()

    def _s3(self) -> Any:
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def _new_client(self) -> Any:
        settings = self.settings
        core = botocore.session.get_session()
        core.register_component("data_loader", _shared_loader())
        session = boto3.session.Session(
            botocore_session=core,
            aws_access_key_id=resolve_secret(settings.access_key_id),
            aws_secret_access_key=resolve_secret(settings.secret_access_key),
            region_name=settings.region,
        )
        config = Config(
            retries=_CLIENT_RETRIES,  # type: ignore[arg-type]
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            max_pool_connections=settings.max_concurrency + 2,
            s3=_s3_options(settings.endpoint_url),
        )
        client = session.client("s3", endpoint_url=settings.endpoint_url, config=config)
        self._credentials = session.get_credentials()
        client.meta.events.register_last("before-call.s3", _no_expect_for_small_bodies)
        return client

    def _transfer_manager(self) -> TransferManager:
        if self._transfers is None:
            settings = self.settings
            config = TransferConfig(
                multipart_threshold=settings.multipart_threshold_mib * MIB,
                multipart_chunksize=settings.part_size_mib * MIB,
                max_concurrency=settings.max_concurrency,
            )
            self._transfers = TransferManager(self._s3(), config)
        return self._transfers

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Sort boto errors into Transient/PermanentError (their text never holds a secret)."""
        try:
            yield
        except (TransientError, PermanentError):
            raise
        except botocore.exceptions.ClientError as error:
            raise self._client_error(action, error) from error
        except _PERMANENT_BOTO_ERRORS as error:
            raise PermanentError(f"{self.target_name}: {action}: {error}") from error
        except (botocore.exceptions.BotoCoreError, OSError) as error:
            self.close()
            raise TransientError(f"{self.target_name}: {action}: {error}") from error

    def _client_error(self, action: str, error: botocore.exceptions.ClientError) -> Exception:
        details = error.response.get("Error", {})
        code = str(details.get("Code", ""))
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        message = f"{self.target_name}: {action}: {code or status}: {details.get('Message', '')}"
        if status >= 500 or code in _TRANSIENT_CODES:
            return TransientError(message.rstrip(": "))
        if action == "connect" and status in (403, 404):
            problem = "not found" if status == 404 else "refused the credentials (403)"
            return PermanentError(f"{self.target_name}: bucket '{self.settings.bucket}' {problem}")
        return PermanentError(message.rstrip(": "))

    # -- keys ---------------------------------------------------------------------------------

    def _key(self, remote_path: str) -> str:
        return object_key(self.settings.prefix, remote_path)

    def location(self, remote_path: str) -> str:
        return f"s3://{self.settings.bucket}/{self._key(remote_path)}"

    # -- uploads ------------------------------------------------------------------------------

    def put_file(
        self, local: Path, remote_path: str, md5: str, progress: Progress | None = None
    ) -> None:
        size = local.stat().st_size
        with self._errors(f"upload {remote_path}"):
            if size > self.settings.multipart_threshold_mib * MIB:
                self._put_multipart(local, remote_path, md5, progress)
                self._verify_size(remote_path, size)
            else:
                with local.open("rb") as body:
                    self._put_single(body, remote_path, md5, size)
                if progress is not None:
                    progress(size)

    def put_bytes(self, data: bytes, remote_path: str, md5: str) -> None:
        with self._errors(f"upload {remote_path}"):
            self._put_single(io.BytesIO(data), remote_path, md5, len(data))

    def _put_single(self, body: BinaryIO, remote_path: str, md5: str, size: int) -> None:
        """One PUT with its Content-MD5; an answer whose ETag is that MD5 confirms the whole
        object (an ETag that is not, as under SSE-KMS, sends a HEAD for its size)."""
        lean = self._lean_put() if size < EXPECT_MIN_BYTES else None
        if lean is None:
            etag = self._put_object(body, remote_path, md5)
        else:
            etag = self._put_lean(lean, body, remote_path, md5)
        if _etag_md5(etag) != md5:
            self._verify_size(remote_path, size)

    def _put_lean(self, lean: LeanPut, body: BinaryIO, remote_path: str, md5: str) -> str | None:
        """The lean PUT, or put_object when the store redirects it (botocore follows S3's
        redirects, the lean path does not); every later object then goes to put_object."""
        try:
            return lean.put(self._key(remote_path), body, self._object_headers(md5))
        except Declined:
            self._lean_declined = True
            body.seek(0)
            return self._put_object(body, remote_path, md5)

    def _put_object(self, body: BinaryIO, remote_path: str, md5: str) -> str | None:
        answer = self._s3().put_object(
            Bucket=self.settings.bucket,
            Key=self._key(remote_path),
            Body=body,
            ContentMD5=md5_base64(md5),
            **self._object_args(md5),
        )
        etag: str | None = answer.get("ETag")
        return etag

    def _lean_put(self) -> LeanPut | None:
        client = self._s3()
        if self._lean_declined:
            return None
        if self._lean is None and self._credentials is not None and lean_put_allowed(client):
            self._lean = LeanPut(client, self._credentials, self.settings.bucket)
        return self._lean

    def _object_headers(self, md5: str) -> dict[str, str]:
        """:meth:`_object_args` as the headers of a PUT, with the Content-MD5."""
        settings = self.settings
        headers = {"Content-MD5": md5_base64(md5), "x-amz-meta-md5": md5}
        if settings.server_side_encryption:
            headers["x-amz-server-side-encryption"] = settings.server_side_encryption
        if settings.kms_key_id:
            headers["x-amz-server-side-encryption-aws-kms-key-id"] = settings.kms_key_id
        return headers

    def _put_multipart(
        self, local: Path, remote_path: str, md5: str, progress: Progress | None
    ) -> None:
        subscribers = [_ProgressSubscriber(progress)] if progress is not None else None
        future = self._transfer_manager().upload(
            str(local),
            self.settings.bucket,
            self._key(remote_path),
            extra_args={"ChecksumAlgorithm": "CRC32", **self._object_args(md5)},
            subscribers=subscribers,
        )
        future.result()

    def _object_args(self, md5: str) -> dict[str, Any]:
        settings = self.settings
        arguments: dict[str, Any] = {"Metadata": {"md5": md5}}
        if settings.server_side_encryption:
            arguments["ServerSideEncryption"] = settings.server_side_encryption
        if settings.kms_key_id:
            arguments["SSEKMSKeyId"] = settings.kms_key_id
        return arguments

    def _verify_size(self, remote_path: str, size: int) -> None:
        found = self.stat(remote_path)
        if found is None or found.size != size:
            held = "nothing" if found is None else f"{found.size} bytes"
            raise TransientError(
                f"{self.target_name}: {remote_path}: the store holds {held} after uploading "
                f"{size} bytes"
            )

    # -- queries ------------------------------------------------------------------------------

    def stat(self, remote_path: str) -> RemoteFile | None:
        with self._errors(f"stat {remote_path}"):
            try:
                head = self._s3().head_object(
                    Bucket=self.settings.bucket, Key=self._key(remote_path)
                )
            except botocore.exceptions.ClientError as error:
                if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                    return None
                raise
        md5 = head.get("Metadata", {}).get("md5") or _etag_md5(head.get("ETag"))
        return RemoteFile(remote_path, int(head["ContentLength"]), md5)

    def list(self, remote_dir: str) -> list[RemoteFile]:
        prefix = listing_prefix(self._key(remote_dir))
        found: list[RemoteFile] = []
        with self._errors(f"list {remote_dir}"):
            pages = (
                self._s3()
                .get_paginator("list_objects_v2")
                .paginate(Bucket=self.settings.bucket, Prefix=prefix, Delimiter="/")
            )
            for page in pages:
                for item in page.get("Contents", []):
                    name = item["Key"][len(prefix) :]
                    found.append(
                        RemoteFile(
                            posixpath.join(remote_dir, name),
                            int(item["Size"]),
                            self._listed_md5(item.get("ETag")),
                        )
                    )
        return by_path(found)

    def _listed_md5(self, etag: str | None) -> str | None:
        # Under SSE-KMS an ETag is not the MD5 even for a single PUT.
        return None if self.settings.server_side_encryption == "aws:kms" else _etag_md5(etag)

    def read(self, remote_path: str) -> bytes:
        with self._errors(f"read {remote_path}"):
            answer = self._s3().get_object(Bucket=self.settings.bucket, Key=self._key(remote_path))
            with answer["Body"] as body:
                return bytes(body.read())

    def delete(self, remote_path: str) -> None:
        with self._errors(f"delete {remote_path}"):
            self._s3().delete_object(Bucket=self.settings.bucket, Key=self._key(remote_path))


def _s3_options(endpoint_url: str | None) -> dict[str, Any]:
    # Every body goes with a Content-MD5 or CRC32 that the store checks and the signature
    # covers, so the extra SHA-256 pass over each byte buys nothing: boto3 skips it on https
    # already; skip it on plain-http endpoints (S3-compatible stores) too.
    options: dict[str, Any] = {"payload_signing_enabled": False}
    if endpoint_url:
        options["addressing_style"] = "path"  # IP addresses and custom hosts: no bucket DNS
    return options


def _no_expect_for_small_bodies(model: Any, params: dict[str, Any], **_: Any) -> None:
    """botocore asks every PUT to wait for a "100 Continue" before its body: a round trip more
    per file, which for a small body costs more than sending it (curl waits only above 1 MiB)."""
    body = params.get("body")
    if hasattr(body, "read") and determine_content_length(body) < EXPECT_MIN_BYTES:
        params.get("headers", {}).pop("Expect", None)


def _etag_md5(etag: str | None) -> str | None:
    """The MD5 an ETag stands for, when it is one (single-part upload without KMS)."""
    value = (etag or "").strip('"').lower()
    return value if _PLAIN_MD5.fullmatch(value) else None


@cache
def _shared_loader() -> botocore.loaders.Loader:
    """One loader of botocore's service models for the process: a fresh session would parse the
    S3 model again for every connection (about 70 ms each). Credentials stay per session."""
    return botocore.loaders.create_loader()
