"""The HTTP API protocol against the test delivery API: one streamed multipart POST a message."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from stardust_git.models.target import ApiDelivery
from stardust_git.protocols.api import ApiProtocol
from stardust_git.protocols.base import PermanentError, TransientError
from tests.servers import ApiServer
from tests.test_protocol_endpoints import MIB, md5_of, random_file

FOLDER = "N_1234567890128_20250101120000000"
MESSAGE = b'<?xml version="1.0"?><NewReleaseMessage/>'


@pytest.fixture
def api(http_api_server: ApiServer, monkeypatch: pytest.MonkeyPatch) -> ApiServer:
    credentials = http_api_server.credentials
    monkeypatch.setenv("TEST_API_TOKEN", credentials.token)
    monkeypatch.setenv("TEST_API_PASSWORD", credentials.password)
    monkeypatch.setenv("TEST_API_CLIENT_SECRET", credentials.client_secret)
    monkeypatch.setenv("TEST_API_LABEL_KEY", "label-key-123")
    return http_api_server


def auth_settings(server: ApiServer, kind: str) -> dict[str, object]:
    if kind == "bearer":
        return {"type": "bearer", "token": "${TEST_API_TOKEN}"}
    if kind == "basic":
        username = server.credentials.username
        return {"type": "basic", "username": username, "password": "${TEST_API_PASSWORD}"}
    return {
        "type": "oauth2",
        "token_url": server.token_url,
        "client_id": server.credentials.client_id,
        "client_secret": "${TEST_API_CLIENT_SECRET}",
    }


def api_settings(server: ApiServer, kind: str = "bearer", **changes: object) -> ApiDelivery:
    fields: dict[str, object] = {
        "protocol": "api",
        "url": server.deliveries_url,
        "auth": auth_settings(server, kind),
        "headers": {"X-Label": "indie-records", "X-Label-Key": "${TEST_API_LABEL_KEY}"},
    }
    return ApiDelivery(**(fields | changes))  # type: ignore[arg-type]


def deliver(transport: ApiProtocol, files: dict[str, Path]) -> None:
    for name, local in files.items():
        transport.put_file(local, f"{FOLDER}/{name}", md5_of(local))
    transport.put_bytes(MESSAGE, f"{FOLDER}/1234567890128.xml", hashlib.md5(MESSAGE).hexdigest())


@pytest.mark.parametrize("kind", ["bearer", "basic", "oauth2"])
def test_a_release_arrives_in_one_request_with_every_file_intact(
    kind: str, api: ApiServer, tmp_path: Path
):
    files = {
        "resources/1234567890128_01_001.flac": random_file(tmp_path / "a.flac", 5 * MIB + 1),
        "resources/1234567890128.jpg": random_file(tmp_path / "c.jpg", 70_000),
    }
    with ApiProtocol("dsp", api_settings(api, kind), tmp_path) as transport:
        deliver(transport, files)
        extras = transport.receipt_extras()

    [delivery] = api.deliveries
    assert extras == {"api_delivery_id": delivery.id}
    assert delivery.fields["delivery"] == [FOLDER]
    assert delivery.headers["X-Label"] == "indie-records"
    assert delivery.headers["X-Label-Key"] == "label-key-123"
    received = {f.name: (f.field, f.path.read_bytes()) for f in delivery.files}
    assert received == {
        "resources/1234567890128_01_001.flac": ("files", files[next(iter(files))].read_bytes()),
        "resources/1234567890128.jpg": ("files", files["resources/1234567890128.jpg"].read_bytes()),
        "1234567890128.xml": ("message", MESSAGE),
    }
    assert [f.field for f in delivery.files][-1] == "message"  # the message comes last


def test_what_was_delivered_is_what_stat_reports_for_resume(api: ApiServer, tmp_path: Path):
    audio = random_file(tmp_path / "a.flac", 1000)
    with ApiProtocol("dsp", api_settings(api), tmp_path) as transport:
        assert transport.stat(f"{FOLDER}/resources/a.flac") is None
        deliver(transport, {"resources/a.flac": audio})
        found = transport.stat(f"{FOLDER}/resources/a.flac")
    assert found is not None and (found.size, found.md5) == (1000, md5_of(audio))


def test_the_oauth2_token_is_fetched_once_per_run_and_again_after_it_lapses(
    api: ApiServer, tmp_path: Path
):
    settings = api_settings(api, "oauth2", auth=auth_settings(api, "oauth2") | {"scope": "once"})
    for _ in range(2):
        with ApiProtocol("dsp", settings, tmp_path) as transport:
            deliver(transport, {})
    token_requests = [r for r in api.api.requests if r.path.endswith("/token")]
    assert len(token_requests) == 1

    api.api.revoke_tokens()
    with ApiProtocol("dsp", settings, tmp_path) as transport:
        deliver(transport, {})
    statuses = [(r.path.rsplit("/", 1)[-1], r.status) for r in api.api.requests[-3:]]
    assert statuses == [("deliveries", 401), ("token", 200), ("deliveries", 201)]
    assert len(api.deliveries) == 3


def test_a_5xx_is_transient_and_the_retry_resends_the_files(api: ApiServer, tmp_path: Path):
    audio = random_file(tmp_path / "a.flac", 2 * MIB)
    api.fail_next(1, 503)
    with ApiProtocol("dsp", api_settings(api), tmp_path) as transport:
        transport.put_file(audio, f"{FOLDER}/resources/a.flac", md5_of(audio))
        message_path = f"{FOLDER}/1234567890128.xml"
        with pytest.raises(TransientError, match="HTTP 503"):
            transport.put_bytes(MESSAGE, message_path, hashlib.md5(MESSAGE).hexdigest())
        transport.close()  # as the engine does before it retries
        transport.put_bytes(MESSAGE, message_path, hashlib.md5(MESSAGE).hexdigest())
    [delivery] = api.deliveries
    assert sorted(f.name for f in delivery.files) == ["1234567890128.xml", "resources/a.flac"]


def test_a_refused_token_is_permanent_and_nothing_is_delivered(
    api: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TEST_API_TOKEN", "not-the-token")
    with (
        ApiProtocol("dsp", api_settings(api), tmp_path) as transport,
        pytest.raises(PermanentError, match="HTTP 401"),
    ):
        deliver(transport, {})
    assert api.deliveries == []
    assert [r.status for r in api.api.requests] == [401]


def test_a_4xx_shows_the_body_without_any_secret(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def echo_authorization(request: Request) -> Response:
        body = f"rejected: {request.headers.get('Authorization')} {request.headers.get('X-Key')}"
        return Response(body + " " + "x" * 2000, status=422)

    httpserver.expect_request("/deliveries", method="POST").respond_with_handler(echo_authorization)
    monkeypatch.setenv("TEST_API_TOKEN", "sekrit-token-value")
    monkeypatch.setenv("TEST_API_KEY", "sekrit-header-value")
    settings = ApiDelivery(
        protocol="api",
        url=httpserver.url_for("/deliveries"),
        auth={"type": "bearer", "token": "${TEST_API_TOKEN}"},  # type: ignore[arg-type]
        headers={"X-Key": "${TEST_API_KEY}"},
    )
    with (
        ApiProtocol("dsp", settings, tmp_path) as transport,
        pytest.raises(PermanentError) as refused,
    ):
        deliver(transport, {})
    message = str(refused.value)
    assert message.startswith("dsp: deliver N_1234567890128_20250101120000000: HTTP 422: rejected:")
    assert "Bearer ***" in message and "sekrit" not in message
    assert len(message) < 700


def test_a_timeout_is_transient(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response("{}", status=201)

    httpserver.expect_request("/deliveries", method="POST").respond_with_handler(slow)
    monkeypatch.setenv("TEST_API_TOKEN", "token")
    settings = ApiDelivery(
        protocol="api",
        url=httpserver.url_for("/deliveries"),
        auth={"type": "bearer", "token": "${TEST_API_TOKEN}"},  # type: ignore[arg-type]
        timeout=0.3,
    )
    with (
        ApiProtocol("dsp", settings, tmp_path) as transport,
        pytest.raises(TransientError, match="Timeout"),
    ):
        deliver(transport, {})


def test_an_api_has_no_files_to_list_read_or_delete(api: ApiServer, tmp_path: Path):
    transport = ApiProtocol("dsp", api_settings(api), tmp_path)
    assert transport.list(FOLDER) == []
    with pytest.raises(PermanentError, match="cannot read"):
        transport.read(f"{FOLDER}/ACK_1.xml")
    with pytest.raises(PermanentError, match="cannot delete"):
        transport.delete(f"{FOLDER}/probe.txt")
    assert transport.location(FOLDER) == f"{api.deliveries_url}#{FOLDER}"
