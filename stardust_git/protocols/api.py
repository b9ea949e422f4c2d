"""Delivery to an HTTP API (httpx): one streamed multipart POST per message.

A DSP's API takes a delivery in one request, so this transport keeps the resource files the
engine hands it (``put_file``) until the message that references them arrives (``put_bytes`` of
an ``.xml``), then POSTs them together to ``url`` as ``multipart/form-data``:

- ``delivery``: the delivery folder's name (the choreography's ``<P|N|L>_<ReleaseId>_<time>``),
  stable across retries of the same delivery;
- ``files``: each resource, named by its path inside the folder (``resources/...``);
- ``message``: the XML, named by its path inside the folder (``<ReleaseId>.xml``), last.

Every file part carries a ``Content-MD5`` header. The body is streamed from the files on disk in
64 KiB chunks with a known Content-Length, never read whole into memory. A 2xx answer's JSON
``id`` is kept for the receipt (``receipt_extras``). A 408, 429, 5xx, timeout or dropped
connection is a TransientError (the engine retries the message, and the files go again with it);
any other 4xx is a PermanentError showing the start of the answer, with every secret blanked out.

Authentication: a static Bearer token, HTTP Basic, or OAuth2 client credentials (the token is
fetched once per run and process, kept until shortly before it expires, and fetched again once
if the API answers 401). ``headers`` adds fixed request headers; their values may be secrets.
"""

from __future__ import annotations

import base64
import posixpath
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import httpx

from stardust_git.models.common import resolve_secret
from stardust_git.models.target import ApiDelivery, BasicAuth, BearerAuth, OAuth2Auth
from stardust_git.protocols._common import md5_base64
from stardust_git.protocols.base import (
    PermanentError,
    Progress,
    RemoteFile,
    TransientError,
    Transport,
)

BODY_SHOWN_CHARS = 500
ID_MAX_CHARS = 200
TOKEN_EARLY_REFRESH_SECONDS = 60
_TRANSIENT_STATUS = {408, 425, 429}
_SECRET_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_tokens: dict[tuple[str, str, str], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


class _Refused(PermanentError):
    """A 4xx answer, with its status kept to tell an expired token (401) from the rest."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class _Pending:
    local: Path
    size: int
    md5: str
    progress: Progress | None


class _ReportingReader:
    """A file for httpx to stream from that reports each chunk read to ``progress``."""

    def __init__(self, source: BinaryIO, progress: Progress | None) -> None:
        self._source = source
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        chunk = self._source.read(size)
        if chunk and self._progress is not None:
            self._progress(len(chunk))
        return chunk

    def fileno(self) -> int:  # lets httpx size the part without reading it
        return self._source.fileno()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._source.seek(offset, whence)

    def tell(self) -> int:
        return self._source.tell()


class ApiProtocol(Transport):
    """Delivery to an HTTP endpoint that takes a message and its files in one request."""

    protocol = "api"
    settings: ApiDelivery

    def __init__(self, target_name: str, settings: object, root: Path) -> None:
        super().__init__(target_name, settings, root)
        self._client: httpx.Client | None = None
        self._pending: dict[str, _Pending] = {}
        self._sent: dict[str, RemoteFile] = {}
        self.last_response_id: str | None = None

    # -- connection ---------------------------------------------------------------------------

    def connect(self) -> None:
        self._http()
        if isinstance(self.settings.auth, OAuth2Auth):
            self._oauth2_token()

    def close(self) -> None:
        # Files waiting for their message stay queued: the engine reconnects and retries.
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _http(self) -> httpx.Client:
        if self._client is None:
            headers = {name: _resolve_value(value) for name, value in self.settings.headers.items()}
            self._client = httpx.Client(timeout=self.settings.timeout, headers=headers)
        return self._client

    # -- authentication -----------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        auth = self.settings.auth
        if isinstance(auth, BearerAuth):
            return {"Authorization": f"Bearer {resolve_secret(auth.token)}"}
        if isinstance(auth, BasicAuth):
            pair = f"{auth.username}:{resolve_secret(auth.password)}".encode()
            return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
        return {"Authorization": f"Bearer {self._oauth2_token()}"}

    def _token_key(self) -> tuple[str, str, str]:
        auth = self.settings.auth
        assert isinstance(auth, OAuth2Auth)
        return (auth.token_url, auth.client_id, auth.scope or "")

    def _oauth2_token(self) -> str:
        key = self._token_key()
        with _tokens_lock:
            cached = _tokens.get(key)
            if cached and cached[1] > time.monotonic():
                self.redact.add(cached[0])  # a token obtained at run time is a secret too
                return cached[0]
            token, lifetime = self._fetch_token()
            _tokens[key] = (
                token,
                time.monotonic() + max(lifetime - TOKEN_EARLY_REFRESH_SECONDS, 0),
            )
            return token

    def _forget_token(self) -> None:
        with _tokens_lock:
            _tokens.pop(self._token_key(), None)

    def _fetch_token(self) -> tuple[str, float]:
        auth = self.settings.auth
        assert isinstance(auth, OAuth2Auth)
        form = {"grant_type": "client_credentials"}
        if auth.scope:
            form["scope"] = auth.scope
        secret = resolve_secret(auth.client_secret) or ""
        response = self._send(
            "fetch the OAuth2 token",
            lambda: self._http().post(
                _resolve_references(auth.token_url), data=form, auth=(auth.client_id, secret)
            ),
        )
        try:
            answer = response.json()
            token = str(answer["access_token"])
            self.redact.add(token)
            return token, float(answer.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError) as error:
            raise PermanentError(
                f"{self.target_name}: the token endpoint answered without an access_token"
            ) from error

    # -- requests -----------------------------------------------------------------------------

    def _send(self, action: str, request: Any) -> httpx.Response:
        """Make a request; sort failures into Transient/PermanentError."""
        try:
            response: httpx.Response = request()
        except httpx.TransportError as error:  # timeouts, refused or dropped connections
            self.close()
            raise TransientError(
                f"{self.target_name}: {action}: {type(error).__name__}: {self.redact(str(error))}"
            ) from error
        if response.is_success:
            return response
        # The whole answer is redacted before it is cut: a secret cut in half is not found.
        body = self.redact(response.text)[:BODY_SHOWN_CHARS].strip()
        message = f"{self.target_name}: {action}: HTTP {response.status_code}: {body}".rstrip()
        if response.status_code >= 500 or response.status_code in _TRANSIENT_STATUS:
            raise TransientError(message)
        raise _Refused(message, response.status_code)

    # -- uploads ------------------------------------------------------------------------------

    def put_file(
        self, local: Path, remote_path: str, md5: str, progress: Progress | None = None
    ) -> None:
        if not local.is_file():
            raise PermanentError(f"{self.target_name}: {local} is not a file")
        self._pending[remote_path] = _Pending(local, local.stat().st_size, md5, progress)

    def put_bytes(self, data: bytes, remote_path: str, md5: str) -> None:
        folder = posixpath.dirname(remote_path)
        files = {path: pending for path, pending in self._pending.items() if _inside(path, folder)}
        try:
            answer = self._post(folder, data, remote_path, md5, files)
        except PermanentError:
            self._pending.clear()
            raise
        self._pending.clear()
        self.last_response_id = answer if answer is None else self.redact(answer)[:ID_MAX_CHARS]
        self._sent[remote_path] = RemoteFile(remote_path, len(data), md5)
        for path, pending in files.items():
            self._sent[path] = RemoteFile(path, pending.size, pending.md5)

    def _post(
        self, folder: str, message: bytes, message_path: str, md5: str, files: dict[str, _Pending]
    ) -> str | None:
        opened: list[BinaryIO] = []
        try:
            parts: list[tuple[str, Any]] = []
            for path, pending in sorted(files.items()):
                source = pending.local.open("rb")
                opened.append(source)
                reader = _ReportingReader(source, pending.progress)
                parts.append(
                    ("files", (_relative(path, folder), reader, None, _md5_header(pending.md5)))
                )
            # The message goes last, after the files it references, as on a file server.
            message_part = (_relative(message_path, folder), message, "application/xml")
            parts.append(("message", (*message_part, _md5_header(md5))))
            response = self._post_with_auth(folder, parts)
        finally:
            for source in opened:
                source.close()
        return _response_id(response)

    def _post_with_auth(self, folder: str, parts: list[tuple[str, Any]]) -> httpx.Response:
        action = f"deliver {folder or 'message'}"

        def post() -> httpx.Response:
            return self._http().post(
                _resolve_references(self.settings.url),
                data={"delivery": posixpath.basename(folder)},
                files=parts,
                headers=self._auth_headers(),
            )

        try:
            return self._send(action, post)
        except _Refused as refused:
            if refused.status != 401 or not isinstance(self.settings.auth, OAuth2Auth):
                raise
        # An OAuth2 token can lapse before its announced expiry: fetch a new one, once.
        self._forget_token()
        return self._send(action, post)

    # -- queries ------------------------------------------------------------------------------

    def stat(self, remote_path: str) -> RemoteFile | None:
        """What this run delivered; an API cannot be asked about files of earlier runs."""
        return self._sent.get(remote_path)

    def held(self, remote_dir: str) -> dict[str, RemoteFile] | None:
        return None  # only stat knows: what this run delivered

    def list(self, remote_dir: str) -> list[RemoteFile]:
        """An API has no folders to list: always empty (acknowledgements are not read back)."""
        return []

    def read(self, remote_path: str) -> bytes:
        raise PermanentError(f"{self.target_name}: the api protocol cannot read files back")

    def delete(self, remote_path: str) -> None:
        raise PermanentError(f"{self.target_name}: the api protocol cannot delete files")

    def receipt_extras(self) -> dict[str, str]:
        return {"api_delivery_id": self.last_response_id} if self.last_response_id else {}

    def location(self, remote_path: str) -> str:
        url = httpx.URL(self.settings.url)
        base = str(url.copy_with(query=None, fragment=None, userinfo=b""))
        return f"{base}#{remote_path.lstrip('/')}" if remote_path else base


def _inside(path: str, folder: str) -> bool:
    return not folder or path.startswith(f"{folder}/")


def _relative(path: str, folder: str) -> str:
    return path[len(folder) + 1 :] if folder else path.lstrip("/")


def _md5_header(md5: str) -> dict[str, str]:
    return {"Content-MD5": md5_base64(md5)}


def _response_id(response: httpx.Response) -> str | None:
    try:
        answer = response.json()
    except ValueError:
        return None
    value = answer.get("id") if isinstance(answer, dict) else None
    return str(value) if value is not None else None


def _is_secret(value: str) -> bool:
    return bool(_SECRET_REFERENCE.fullmatch(value))


def _resolve_references(url: str) -> str:
    """A URL with each ``${ENV}`` in its query replaced by the variable's value, URL-encoded."""
    return _SECRET_REFERENCE.sub(lambda m: quote(resolve_secret(m.group(0)) or "", safe=""), url)


def _resolve_value(value: str) -> str:
    """A header value: a ``${ENV}`` reference is replaced by the variable's value."""
    return (resolve_secret(value) or "") if _is_secret(value) else value
