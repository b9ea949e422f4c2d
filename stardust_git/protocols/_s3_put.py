"""A leaner PUT for small objects: botocore's own SigV4 signer and HTTP session, without its
per-call machinery.

``client.put_object`` resolves the endpoint from its rule set, emits a dozen events through the
hook system, builds, signs and sends the request, then parses the answer into a dict: on a
loopback store about three quarters of that CPU is not the signing nor the sending, and a
release of small files pays it per file (benchmarks/bench_pools.py). :class:`LeanPut` signs a
PUT with :class:`botocore.auth.S3SigV4Auth` (the credentials the client uses, refreshed as
botocore refreshes them) and sends it through the client's HTTP session (its TLS, proxy and
pool settings) to the bucket URL botocore itself made (a presigned URL's path without the key).
An error answer becomes the :class:`botocore.exceptions.ClientError` ``put_object`` would raise.
botocore's own retries (and its clock-skew correction) are not on this path: a failed PUT is a
transient or permanent error as any other, retried by the delivery engine (``max_attempts``).

A redirect (301/302/307, or a PUT signed for the wrong region) is not followed here:
:class:`Declined` hands the object back to ``put_object``, whose region redirector re-signs it
for the bucket's region, and the lean path is not used again on that connection.

Only for bodies under 1 MiB (no "100 Continue"), and off with ``STARDUST_S3_LEAN_PUT=0``.
tests/test_protocol_s3.py checks against SeaweedFS (which checks signatures and Content-MD5)
that it is the path taken, that a wrong MD5 is refused, and that switching it off works.
"""

from __future__ import annotations

import os
import re
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

import botocore.exceptions
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest

LEAN_SWITCH = "STARDUST_S3_LEAN_PUT"
"""Set to 0 (or off, false, no) to send every object through ``put_object``."""
_OFF = ("0", "off", "false", "no")
_PROBE_KEY = "stardust-probe"
_ERROR_FIELD = re.compile(rb"<(Code|Message)>([^<]*)</\1>")


REDIRECT_STATUSES = (301, 302, 307)
WRONG_REGION_CODES = ("AuthorizationHeaderMalformed", "PermanentRedirect")


class Declined(Exception):  # not an error: put_object takes the object
    """The store sent this PUT elsewhere (another region or endpoint)."""


def lean_put_allowed(client: Any) -> bool:
    """Not switched off, and a botocore client that keeps its HTTP session where we look."""
    if os.environ.get(LEAN_SWITCH, "").strip().lower() in _OFF:
        return False
    return hasattr(getattr(client, "_endpoint", None), "http_session")


class LeanPut:
    """Small PUTs into one bucket through ``client``'s signer settings and HTTP session."""

    def __init__(self, client: Any, credentials: Any, bucket: str) -> None:
        self._client = client
        self._credentials = credentials
        self._http = client._endpoint.http_session  # the client's pool, TLS and proxy settings
        self._region = client.meta.region_name or "us-east-1"
        self._bucket_url = _bucket_url(client, bucket)
        self.puts = 0
        """Objects this path sent (the tests check it is not zero)."""

    def put(self, key: str, body: BinaryIO, headers: dict[str, str]) -> str | None:
        """PUT ``body`` at ``key`` with ``headers``; the ETag the store answered."""
        request = AWSRequest("PUT", self._bucket_url + quote(key, safe="/~"), headers, body)
        request.context["client_config"] = self._client.meta.config
        signer = S3SigV4Auth(self._credentials.get_frozen_credentials(), "s3", self._region)
        signer.add_auth(request)
        response = self._http.send(request.prepare())
        if response.status_code >= 300:
            fields = _error_fields(response.content or b"")
            if _redirected(response.status_code, fields):
                raise Declined(response.status_code)
            raise _client_error(response.status_code, fields)
        self.puts += 1
        etag: str | None = response.headers.get("ETag")
        return etag


def _error_fields(body: bytes) -> dict[str, str]:
    """``Code`` and ``Message`` of an S3 error answer."""
    found = _ERROR_FIELD.findall(body)
    return {name.decode(): value.decode(errors="replace") for name, value in found}


def _redirected(status: int, fields: dict[str, str]) -> bool:
    return status in REDIRECT_STATUSES or fields.get("Code") in WRONG_REGION_CODES


def _bucket_url(client: Any, bucket: str) -> str:
    """The bucket's URL with a trailing slash, as botocore addresses it (path or host style)."""
    presigned = client.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": _PROBE_KEY}, ExpiresIn=60
    )
    parts = urlsplit(presigned)
    path = parts.path.removesuffix(_PROBE_KEY)
    return f"{parts.scheme}://{parts.netloc}{path}"


def _client_error(status: int, fields: dict[str, str]) -> botocore.exceptions.ClientError:
    error = {"Code": fields.get("Code", str(status)), "Message": fields.get("Message", "")}
    answer: Any = {"Error": error, "ResponseMetadata": {"HTTPStatusCode": status}}
    return botocore.exceptions.ClientError(answer, "PutObject")
