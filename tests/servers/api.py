"""A small DSP-style delivery API on 127.0.0.1: multipart uploads, three kinds of auth, faults.

POST /deliveries      multipart/form-data; Bearer (static or OAuth2-issued) or Basic auth;
                      stores the files under received_dir/<id>/ and answers 201 {"id": ...}
GET  /deliveries/<id> the stored delivery: {"id", "status": "received", "files": [...]}
POST /oauth/token     OAuth2 client_credentials (client auth by Basic header or form fields)
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from tests.servers._process import HOST

DELIVERIES_PATH = "/deliveries"
TOKEN_PATH = "/oauth/token"
TOKEN_LIFETIME_SECONDS = 3600
_SHUTDOWN_POLL_SECONDS = 0.05
_ROUTES = Map(
    [
        Rule(DELIVERIES_PATH, endpoint="deliver", methods=["POST"]),
        Rule(f"{DELIVERIES_PATH}/<delivery_id>", endpoint="status", methods=["GET"]),
        Rule(TOKEN_PATH, endpoint="token", methods=["POST"]),
    ]
)


@dataclass(frozen=True)
class ApiCredentials:
    token: str
    username: str
    password: str
    client_id: str
    client_secret: str

    @classmethod
    def generate(cls) -> ApiCredentials:
        return cls(
            token=secrets.token_urlsafe(24),
            username="deliver",
            password=secrets.token_urlsafe(12),
            client_id="stardust-test-client",
            client_secret=secrets.token_urlsafe(24),
        )


@dataclass(frozen=True)
class ReceivedFile:
    field: str
    name: str
    """The file name as the client sent it (a relative path)."""
    path: Path
    size: int
    md5: str


@dataclass(frozen=True)
class ReceivedDelivery:
    id: str
    files: tuple[ReceivedFile, ...]
    fields: dict[str, list[str]]
    headers: dict[str, str]


@dataclass(frozen=True)
class HandledRequest:
    method: str
    path: str
    status: int


class _RejectedUpload(Exception):
    pass


class _QuietRequestHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # DeliveryApi.requests records what tests need; no access log on stderr


@dataclass
class DeliveryApi:
    """The WSGI application and everything it received; safe to use from the test thread."""

    received_dir: Path
    credentials: ApiCredentials
    deliveries: list[ReceivedDelivery] = field(default_factory=list)
    requests: list[HandledRequest] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    _faults: deque[tuple[str, int]] = field(default_factory=deque)
    _issued_tokens: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, count: int, status: int = 500, path: str = DELIVERIES_PATH) -> None:
        """Answer the next `count` requests to path with status (e.g. 500, 503, 401)."""
        with self._lock:
            self._faults.extend([(path, status)] * count)

    def revoke_tokens(self) -> None:
        """Forget every OAuth2 token issued so far, as when they expire."""
        with self._lock:
            self._issued_tokens.clear()

    @Request.application
    def __call__(self, request: Request) -> Response:
        response = self._dispatch(request)
        with self._lock:
            self.requests.append(HandledRequest(request.method, request.path, response.status_code))
        return response

    def _dispatch(self, request: Request) -> Response:
        try:
            endpoint, arguments = _ROUTES.bind_to_environ(request.environ).match()
        except HTTPException as error:
            return _json(error.code or 404, {"error": error.name})
        fault_status = self._take_fault(request.path)
        if fault_status is not None:
            return _json(fault_status, {"error": "injected fault"}, _challenge(fault_status))
        try:
            handler = getattr(self, f"_handle_{endpoint}")
            return handler(request, **arguments)
        except Exception as error:  # kept for the fixture to re-raise: a bug in this test server
            with self._lock:
                self.errors.append(error)
            return _json(500, {"error": repr(error)})

    def _take_fault(self, path: str) -> int | None:
        with self._lock:
            for index, (fault_path, status) in enumerate(self._faults):
                if fault_path == path:
                    del self._faults[index]
                    return status
        return None

    def _handle_token(self, request: Request) -> Response:
        expected = (self.credentials.client_id, self.credentials.client_secret)
        if _client_credentials(request) != expected:
            return _json(401, {"error": "invalid_client"}, {"WWW-Authenticate": "Basic"})
        if request.form.get("grant_type") != "client_credentials":
            return _json(400, {"error": "unsupported_grant_type"})
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._issued_tokens.add(token)
        body = {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECONDS}
        return _json(200, body, {"Cache-Control": "no-store"})

    def _handle_deliver(self, request: Request) -> Response:
        if not self._authorized(request):
            return _json(401, {"error": "unauthorized"}, _challenge(401))
        if not request.files:
            return _json(400, {"error": "no files in a multipart/form-data body"})
        delivery_id = secrets.token_hex(8)
        try:
            files = self._store_files(request, self.received_dir / delivery_id)
        except _RejectedUpload as error:
            return _json(400, {"error": str(error)})
        delivery = ReceivedDelivery(
            id=delivery_id,
            files=files,
            fields=request.form.to_dict(flat=False),
            headers=dict(request.headers.items()),
        )
        with self._lock:
            self.deliveries.append(delivery)
        return _json(201, {"id": delivery_id})

    def _handle_status(self, request: Request, delivery_id: str) -> Response:
        if not self._authorized(request):
            return _json(401, {"error": "unauthorized"}, _challenge(401))
        with self._lock:
            found = [delivery for delivery in self.deliveries if delivery.id == delivery_id]
        if not found:
            return _json(404, {"error": "no such delivery"})
        files = [{"name": f.name, "size": f.size, "md5": f.md5} for f in found[0].files]
        return _json(200, {"id": delivery_id, "status": "received", "files": files})

    def _authorized(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            with self._lock:
                return value == self.credentials.token or value in self._issued_tokens
        auth = request.authorization
        return (
            auth is not None
            and auth.type == "basic"
            and (auth.username, auth.password)
            == (self.credentials.username, self.credentials.password)
        )

    def _store_files(self, request: Request, directory: Path) -> tuple[ReceivedFile, ...]:
        stored: list[ReceivedFile] = []
        for field_name, upload in request.files.items(multi=True):
            relative = _safe_relative_path(upload.filename)
            target = directory / relative
            if target.exists():
                raise _RejectedUpload(f"file name sent twice: {relative}")
            target.parent.mkdir(parents=True, exist_ok=True)
            upload.save(target)
            size, md5 = _size_and_md5(target)
            stored.append(ReceivedFile(field_name, str(relative), target, size, md5))
        return tuple(stored)


@dataclass(frozen=True)
class ApiServer:
    url: str
    """The base URL, http://127.0.0.1:PORT."""
    credentials: ApiCredentials
    received_dir: Path
    api: DeliveryApi
    startup_seconds: float

    @property
    def deliveries_url(self) -> str:
        return f"{self.url}{DELIVERIES_PATH}"

    @property
    def token_url(self) -> str:
        return f"{self.url}{TOKEN_PATH}"

    @property
    def token(self) -> str:
        return self.credentials.token

    @property
    def deliveries(self) -> list[ReceivedDelivery]:
        return list(self.api.deliveries)

    def fail_next(self, count: int, status: int = 500, path: str = DELIVERIES_PATH) -> None:
        self.api.fail_next(count, status, path)


@contextmanager
def run_api(workdir: Path) -> Iterator[ApiServer]:
    """Serve DeliveryApi from a thread; re-raise on exit any exception its handlers hit."""
    started = time.perf_counter()
    received_dir = workdir / "received"
    received_dir.mkdir()
    api = DeliveryApi(received_dir, ApiCredentials.generate())
    http_server = make_server(HOST, 0, api, threaded=True, request_handler=_QuietRequestHandler)
    thread = threading.Thread(
        target=http_server.serve_forever,
        kwargs={"poll_interval": _SHUTDOWN_POLL_SECONDS},
        name="delivery-api",
        daemon=True,
    )
    thread.start()
    try:
        yield ApiServer(
            url=f"http://{HOST}:{http_server.server_port}",
            credentials=api.credentials,
            received_dir=received_dir,
            api=api,
            startup_seconds=time.perf_counter() - started,
        )
    finally:
        http_server.shutdown()
        http_server.server_close()
        thread.join()
    if api.errors:
        raise api.errors[0]


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers, content_type="application/json")


def _client_credentials(request: Request) -> tuple[str | None, str | None]:
    """OAuth2 client authentication: an HTTP Basic header, else client_id/client_secret fields."""
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        return auth.username, auth.password
    return request.form.get("client_id"), request.form.get("client_secret")


def _challenge(status: int) -> dict[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="deliveries"'} if status == 401 else {}


def _safe_relative_path(filename: str | None) -> PurePosixPath:
    if not filename:
        raise _RejectedUpload("a file part without a file name")
    path = PurePosixPath(filename)
    if path.is_absolute() or ".." in path.parts or "\\" in filename:
        raise _RejectedUpload(f"unsafe file name: {filename!r}")
    return path


def _size_and_md5(path: Path) -> tuple[int, str]:
    digest = hashlib.md5()
    size = 0
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
