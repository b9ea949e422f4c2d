"""The HTTP API protocol against the test delivery API: one streamed multipart POST a message."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from stardust_git.models.target import ApiDelivery
from stardust_git.protocols.api import BODY_SHOWN_CHARS, ID_MAX_CHARS, ApiProtocol
from stardust_git.protocols.base import PermanentError, TransientError
from stardust_git.redaction import Redactor, secret_names
from tests.gitrepo import UPCS, make_catalog
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


# --- secrets never leave through an echoing server (issue 10, item 6) -------------------------

ECHO_USER = "indie-label"
ECHO_PASSWORD = "pa ss/w0rd+Secret=%42"
ECHO_HEADER_KEY = "hdr key/with+plus 42"
ECHO_CLIENT_SECRET = "client secret/+=%zz 7"
ECHO_ACCESS_TOKEN = "ya29.access-token/for+echo=="


def echo_of(request: Request, shown: int) -> str:
    """Everything the server received, in the forms a server tends to echo it: header lines
    (the Authorization one placed to straddle the ``shown``-th character of what is kept), JSON,
    a query string and base64; then the request body."""
    headers = dict(request.headers)
    lines = "\n".join(f"{name}: {value}" for name, value in headers.items())
    credential = request.headers.get("Authorization", "")
    straddle = "." * max(0, shown - 60 - len("Authorization: ") - len(credential) // 2)
    return (
        f"{straddle}Authorization: {credential}\n{lines}\n{json.dumps(headers)}\n"
        f"{urllib.parse.urlencode(headers)}\n{base64.b64encode(lines.encode()).decode()}\n"
        f"{request.get_data(as_text=True)[:2000]}"
    )


def echoing_api(httpserver: HTTPServer, status: int) -> None:
    """A delivery API (and token endpoint) that answers ``status`` with everything it got, in
    the body of an error, or as the ``id`` (and ``status``) of a success."""

    def token(request: Request) -> Response:
        if status == 400:  # the token endpoint refuses, echoing the client's Basic credentials
            return Response(echo_of(request, BODY_SHOWN_CHARS), status=status)
        answer = {"access_token": ECHO_ACCESS_TOKEN, "expires_in": 3600}
        return Response(json.dumps(answer), status=200, content_type="application/json")

    def deliveries(request: Request) -> Response:
        if status < 400:
            echo = echo_of(request, ID_MAX_CHARS)
            answer = {"id": echo, "status": echo}
            return Response(json.dumps(answer), status=status, content_type="application/json")
        return Response(echo_of(request, BODY_SHOWN_CHARS), status=status)

    httpserver.expect_request("/token", method="POST").respond_with_handler(token)
    httpserver.expect_request("/deliveries", method="POST").respond_with_handler(deliveries)


def echo_target(httpserver: HTTPServer, kind: str) -> str:
    if kind == "basic":
        auth = f"{{type: basic, username: {ECHO_USER}, password: '${{ECHO_PASSWORD}}'}}"
    else:
        auth = (
            f"{{type: oauth2, token_url: '{httpserver.url_for('/token')}', "
            f"client_id: {ECHO_USER}, client_secret: '${{ECHO_CLIENT_SECRET}}'}}"
        )
    return (
        "format: ern\nern_version: '4.3'\n"
        "sender: {party_id: PADPIDA2025110101D, name: Indie Records}\n"
        "recipient: {party_id: PADPIDA2025110102B, name: Echo}\n"
        "delivery:\n  protocol: api\n"
        f"  url: '{httpserver.url_for('/deliveries')}'\n  max_attempts: 1\n  auth: {auth}\n"
        "  headers: {X-Label: indie, X-Label-Key: '${ECHO_HEADER_KEY}'}\n"
    )


def derived_forms(*secrets: str) -> set[str]:
    """Each secret as written, percent- and plus-encoded, JSON-escaped and in base64 (alone and
    as the Basic pair with the user name), and every 10 characters of the pair's base64 that
    encode the secret (half a credential, cut where the shown text ends, is a leak too)."""
    forms = set()
    user_chars = (len(ECHO_USER) + 1) * 4 // 3 + 1
    for secret in secrets:
        pair = base64.b64encode(f"{ECHO_USER}:{secret}".encode()).decode()
        forms |= {
            secret,
            urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret),
            json.dumps(secret)[1:-1],
            base64.b64encode(secret.encode()).decode(),
            *(pair[start : start + 10] for start in range(user_chars, len(pair) - 9)),
        }
    return forms


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("basic", 422),
        ("basic", 503),
        ("basic", 201),
        ("oauth2", 400),
        ("oauth2", 401),
        ("oauth2", 201),
    ],
)
def test_an_echoing_server_gets_no_secret_into_receipts_or_output(
    kind: str, status: int, httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_catalog(tmp_path)
    repo.write("targets/echo.yaml", echo_target(httpserver, kind))
    repo.add_release(UPCS[0], targets=("echo",))
    repo.commit("A release for the echoing API")
    echoing_api(httpserver, status)
    monkeypatch.setenv("ECHO_PASSWORD", ECHO_PASSWORD)
    monkeypatch.setenv("ECHO_HEADER_KEY", ECHO_HEADER_KEY)
    monkeypatch.setenv("ECHO_CLIENT_SECRET", ECHO_CLIENT_SECRET)

    done = subprocess.run(
        ["stardust-git", "deliver", "--all", "--commit"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )

    receipt_path = f"receipts/{UPCS[0]}/echo.json"
    committed = repo.git("show", f"HEAD:{receipt_path}")
    [attempt] = json.loads(committed)["history"]
    assert (done.returncode, attempt["status"]) == (
        (0, "success") if status < 400 else (1, "failed")
    ), done.stderr
    shown = attempt["remote"]["api_delivery_id"] if status < 400 else attempt["error"]
    assert "Authorization: ***" in shown  # the echo did arrive, blanked out
    assert len(shown) <= (200 if status < 400 else 700)
    secrets = [ECHO_PASSWORD, ECHO_HEADER_KEY, ECHO_CLIENT_SECRET, ECHO_ACCESS_TOKEN]
    for text in (committed, done.stdout, done.stderr):
        leaked = [form for form in derived_forms(*secrets) if form in text]
        assert leaked == [], text


# --- no literal credentials in a target (issue 10, item 6) -------------------------------------

LITERAL_CREDENTIALS = """\
format: ern
ern_version: '4.3'
sender: {party_id: PADPIDA2025110101D, name: Indie Records}
recipient: {party_id: PADPIDA2025110102B, name: Shop}
delivery:
  protocol: api
  url: https://user:pass@shop.example/x?api_key=abc
  auth:
    type: oauth2
    token_url: https://shop.example/token?Signature=c2lnbmVk
    client_id: indie
    client_secret: ${SHOP_CLIENT_SECRET}
  headers: {X-Label: indie, X-Api-Key: abc123}
"""


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        (
            None,
            None,
            [
                "targets/shop.yaml:7:3: delivery.url: a URL may not carry user:password@",
                "targets/shop.yaml:10:5: delivery.auth.token_url: the query parameter "
                "'Signature' holds a literal value",
                "targets/shop.yaml:13:3: delivery.headers: the header 'X-Api-Key' is a "
                "credential and holds a literal value",
            ],
        ),
        (
            "user:pass@shop.example/x?api_key=abc",
            "shop.example/x?API_KEY=abc&page=2",
            ["targets/shop.yaml:7:3: delivery.url: the query parameter 'API_KEY' holds a literal"],
        ),
        (
            "protocol: api\n  url: https://user:pass@shop.example/x?api_key=abc",
            "protocol: s3\n  bucket: shop\n  endpoint_url: https://s3.example/?X-Amz-Credential=${K}",
            [
                "targets/shop.yaml:8:3: delivery.endpoint_url: the query parameter "
                "'X-Amz-Credential' is a credential: a URL here may carry none"
            ],
        ),
    ],
)
def test_validate_refuses_literal_credentials_in_urls_and_headers(
    replace: str | None, by: str | None, expected: list[str], tmp_path: Path
) -> None:
    text = LITERAL_CREDENTIALS
    if replace is not None and by is not None:
        text = text.replace(replace, by)
        if "protocol: s3" in text:
            text = text[: text.index("  auth:")]
        else:
            text = text.replace("https://shop.example/token?Signature=c2lnbmVk", "/token")
            text = text.replace("X-Api-Key: abc123", "X-Api-Key: '${SHOP_KEY}'")
    repo = make_catalog(tmp_path)
    repo.write("targets/shop.yaml", text)

    done = subprocess.run(
        ["stardust-git", "validate"], cwd=repo.root, capture_output=True, text=True, check=False
    )

    found = [line for line in done.stdout.splitlines() if line.startswith("targets/shop.yaml")]
    assert done.returncode == 1, done.stderr
    assert len(found) == len(expected), found
    for line, start in zip(found, expected, strict=True):
        assert line.startswith(start), line
    for literal in ("pass@", "abc123", "c2lnbmVk", "=abc"):
        assert literal not in done.stdout + done.stderr  # the refusal does not repeat it


def test_a_credential_in_the_query_is_a_reference_resolved_when_sending(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_API_TOKEN", "sekrit-token-value")
    monkeypatch.setenv("SHOP_API_KEY", "key with/odd+chars")
    httpserver.expect_request(
        "/deliveries", method="POST", query_string={"api_key": "key with/odd+chars", "v": "2"}
    ).respond_with_json({"id": "d-1"}, status=201)
    settings = ApiDelivery(
        protocol="api",
        url=httpserver.url_for("/deliveries") + "?api_key=${SHOP_API_KEY}&v=2",
        auth={"type": "bearer", "token": "${TEST_API_TOKEN}"},  # type: ignore[arg-type]
    )

    with ApiProtocol("dsp", settings, tmp_path) as transport:
        deliver(transport, {})
        extras = transport.receipt_extras()

    assert extras == {"api_delivery_id": "d-1"}
    assert "SHOP_API_KEY" in secret_names(settings)
    assert "odd" not in transport.location(FOLDER)


# --- the redactor on its own ------------------------------------------------------------------

PASSWORD = "pa ss/wörd+Secret=%42"


@pytest.mark.parametrize(
    "shown",
    [
        PASSWORD,
        urllib.parse.quote(PASSWORD, safe=""),
        re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(PASSWORD, safe="")),
        urllib.parse.quote_plus(PASSWORD),
        json.dumps(PASSWORD),
        json.dumps(PASSWORD, ensure_ascii=False),
        base64.b64encode(PASSWORD.encode()).decode(),
        base64.urlsafe_b64encode(b"x" + PASSWORD.encode()).decode(),
        base64.b64encode(f"indie:{PASSWORD}".encode()).decode(),
        base64.b64encode(f"someone-else:{PASSWORD}:more".encode()).decode(),
    ],
)
def test_redaction_blanks_every_derived_form_of_a_secret(shown: str) -> None:
    redact = Redactor([PASSWORD, f"indie:{PASSWORD}"])

    cleaned = redact(f"the server said: {shown} (end)")

    assert cleaned.startswith("the server said: ") and cleaned.endswith(" (end)")
    assert "***" in cleaned
    if shown.startswith(base64.b64encode(b"someone-else:")[:16].decode()):
        first = -(-len(b"someone-else:") * 8 // 6)  # the characters that encode the secret only
        shown = shown[first : first + len(PASSWORD.encode()) * 8 // 6 - 1]
    assert not any(shown[i : i + 8] in cleaned for i in range(len(shown) - 7))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Basic Zm9vOmJhcg==", "Authorization: ***"),
        ('{"Proxy-Authorization": "Bearer abc.def"}', '{"Proxy-Authorization": "***"}'),
        ("[('Authorization', 'Token xyz')]", "[('Authorization', '***')]"),
        ("Authorization=Basic+Zm9vOmJhcg%3D%3D&x=1", "Authorization=***&x=1"),
        ("got Basic Zm9vOmJhcg== back", "got Basic *** back"),
        ("got Bearer ya29.a0AfH6SMBxyz0123456789 back", "got Bearer *** back"),
        (
            '{"access_token": "ya29.x", "expires_in": 3600}',
            '{"access_token": "***", "expires_in": 3600}',
        ),
        ("https://bucket/k?X-Amz-Signature=abc&x=1", "https://bucket/k?X-Amz-Signature=***&x=1"),
        ("ftp://indie:pw@host/x", "ftp://***@host/x"),
        ('{"X-Api-Key": "k-123", "X-Label": "indie"}', '{"X-Api-Key": "***", "X-Label": "indie"}'),
        ("?token=abc&v=2", "?token=***&v=2"),
        ("Basic authentication failed", "Basic authentication failed"),
        ("dsp: fetch the OAuth2 token: HTTP 400: no", "dsp: fetch the OAuth2 token: HTTP 400: no"),
        ("Bearer token expired", "Bearer token expired"),
    ],
)
def test_redaction_blanks_credentials_whose_value_is_unknown(text: str, expected: str) -> None:
    assert Redactor()(text) == expected


def test_redaction_stays_linear_on_a_long_answer() -> None:
    redact = Redactor([PASSWORD, "ya29.access-token-from-the-run"])
    hostile = (
        "a" * 1_000_000
        + "a://" * 100_000
        + "Authorization: Basic Zm9vOmJhcg==\n" * 50_000
        + PASSWORD
    )

    started = time.monotonic()
    cleaned = redact(hostile)

    assert time.monotonic() - started < 20  # quadratic would take hours
    assert cleaned.endswith("Authorization: ***\n***") and "Zm9v" not in cleaned
