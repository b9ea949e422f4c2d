"""S3 specifics against SeaweedFS, which checks signatures, Content-MD5 and part checksums."""

from __future__ import annotations

import hashlib
import http.client
import http.server
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from stardust_git.models.target import S3Delivery
from stardust_git.protocols.base import PermanentError
from stardust_git.protocols.s3 import S3Protocol, _shared_loader
from tests.servers import S3Server
from tests.servers._process import free_port
from tests.test_protocol_endpoints import MIB, md5_of, random_file


def s3_settings(server: S3Server, bucket: str, **changes: object) -> S3Delivery:
    fields: dict[str, object] = {
        "protocol": "s3",
        "bucket": bucket,
        "prefix": "dsp/",
        "region": server.region,
        "endpoint_url": server.endpoint_url,
        "access_key_id": "${TEST_S3_KEY_ID}",
        "secret_access_key": "${TEST_S3_SECRET}",
        "multipart_threshold_mib": 5,
        "part_size_mib": 16,
    }
    return S3Delivery(**(fields | changes))


@pytest.fixture
def keys(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    monkeypatch.setenv("TEST_S3_KEY_ID", s3_server.access_key_id)
    monkeypatch.setenv("TEST_S3_SECRET", s3_server.secret_access_key)
    return s3_server


def test_large_files_go_in_parts_small_ones_in_one_put_each_with_its_md5(
    keys: S3Server, s3_bucket: str, tmp_path: Path
):
    large = random_file(tmp_path / "large.wav", 40 * MIB + 1)
    small = random_file(tmp_path / "small.jpg", 3 * MIB)
    with S3Protocol("dsp", s3_settings(keys, s3_bucket), tmp_path) as transport:
        transport.put_file(large, "r/large.wav", md5_of(large))
        transport.put_file(small, "r/small.jpg", md5_of(small))

    client = keys.client()
    large_head = client.head_object(Bucket=s3_bucket, Key="dsp/r/large.wav", ChecksumMode="ENABLED")
    small_head = client.head_object(Bucket=s3_bucket, Key="dsp/r/small.jpg")
    assert large_head["ETag"].strip('"').endswith("-3")  # 16 + 16 + 8 MiB parts
    assert "ChecksumCRC32" in large_head  # each part was sent with a CRC32 the store checked
    assert small_head["ETag"].strip('"') == md5_of(small)
    assert large_head["Metadata"]["md5"] == md5_of(large)
    body = client.get_object(Bucket=s3_bucket, Key="dsp/r/large.wav")["Body"].read()
    assert body == large.read_bytes()


def test_content_that_does_not_match_its_md5_is_refused_and_not_stored(
    keys: S3Server, s3_bucket: str, tmp_path: Path
):
    with (
        S3Protocol("dsp", s3_settings(keys, s3_bucket), tmp_path) as transport,
        pytest.raises(PermanentError, match="BadDigest"),
    ):
        transport.put_bytes(b"<m/>", "m.xml", hashlib.md5(b"something else").hexdigest())
    assert keys.client().list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0


def test_a_missing_bucket_is_a_permanent_error(keys: S3Server, tmp_path: Path):
    settings = s3_settings(keys, "no-such-bucket-here")
    with pytest.raises(PermanentError, match="'no-such-bucket-here' not found"):
        S3Protocol("dsp", settings, tmp_path).connect()


def test_the_standard_credential_chain_is_used_without_keys_in_the_target(
    keys: S3Server, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    credentials = tmp_path / "aws-credentials"
    credentials.write_text(
        f"[dsp-profile]\naws_access_key_id = {keys.access_key_id}\n"
        f"aws_secret_access_key = {keys.secret_access_key}\n"
    )
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_PROFILE", "dsp-profile")
    settings = s3_settings(keys, s3_bucket, access_key_id=None, secret_access_key=None)
    with S3Protocol("dsp", settings, tmp_path) as transport:
        transport.put_bytes(b"<m/>", "m.xml", hashlib.md5(b"<m/>").hexdigest())
    monkeypatch.delenv("AWS_PROFILE")  # boto3's default session, used below, never knew it
    body = keys.client().get_object(Bucket=s3_bucket, Key="dsp/m.xml")["Body"].read()
    assert body == b"<m/>"


def test_no_credentials_anywhere_is_a_clear_permanent_error(
    keys: S3Server, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    settings = s3_settings(keys, s3_bucket, access_key_id=None, secret_access_key=None)
    with pytest.raises(PermanentError, match="Unable to locate credentials"):
        S3Protocol("dsp", settings, tmp_path).connect()


def test_server_side_encryption_is_requested(keys: S3Server, s3_bucket: str, tmp_path: Path):
    settings = s3_settings(keys, s3_bucket, server_side_encryption="AES256")
    with S3Protocol("dsp", settings, tmp_path) as transport:
        transport.put_bytes(b"<m/>", "m.xml", hashlib.md5(b"<m/>").hexdigest())
    head = keys.client().head_object(Bucket=s3_bucket, Key="dsp/m.xml")
    assert head.get("ServerSideEncryption") == "AES256"


def test_an_empty_prefix_delivers_at_the_bucket_root(
    keys: S3Server, s3_bucket: str, tmp_path: Path
):
    with S3Protocol("dsp", s3_settings(keys, s3_bucket, prefix=""), tmp_path) as transport:
        transport.put_bytes(b"<m/>", "r/m.xml", hashlib.md5(b"<m/>").hexdigest())
        assert [f.path for f in transport.list("r")] == ["r/m.xml"]
        assert transport.location("r") == f"s3://{s3_bucket}/r"
    keys_found = [o["Key"] for o in keys.client().list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert keys_found == ["r/m.xml"]


@pytest.mark.parametrize("switch", ["", "0"])
def test_small_objects_take_the_lean_put_unless_it_is_switched_off(
    keys: S3Server, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, switch: str
):
    monkeypatch.setenv("STARDUST_S3_LEAN_PUT", switch)
    cover = random_file(tmp_path / "cover.jpg", 300_000)
    with S3Protocol("dsp", s3_settings(keys, s3_bucket), tmp_path) as transport:
        transport.put_file(cover, "r/resources/cover one.jpg", md5_of(cover))
        transport.put_bytes(b"<m/>", "r/m.xml", hashlib.md5(b"<m/>").hexdigest())
        lean_puts = transport._lean.puts if transport._lean else 0

    assert lean_puts == (2 if switch == "" else 0)
    client = keys.client()
    head = client.head_object(Bucket=s3_bucket, Key="dsp/r/resources/cover one.jpg")
    assert head["ETag"].strip('"') == md5_of(cover) == head["Metadata"]["md5"]
    body = client.get_object(Bucket=s3_bucket, Key="dsp/r/resources/cover one.jpg")["Body"]
    assert body.read() == cover.read_bytes()
    assert client.get_object(Bucket=s3_bucket, Key="dsp/r/m.xml")["Body"].read() == b"<m/>"


# --- a bucket in another region ------------------------------------------------------------


class _RegionFront(http.server.BaseHTTPRequestHandler):
    """In front of SeaweedFS: a PUT signed for ``refused_region`` gets S3's 301 PermanentRedirect
    naming ``bucket_region`` (as a bucket in another region answers); everything else is passed
    through as sent, Host header included (the signatures cover it)."""

    protocol_version = "HTTP/1.1"
    upstream: tuple[str, int]
    refused_region: str
    bucket_region: str
    redirected: list[str]

    def do_PUT(self) -> None:
        credential = re.search(r"Credential=[^/]+/\d+/([^/]+)/", self.headers["Authorization"])
        if credential and credential.group(1) == self.refused_region:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.redirected.append(self.path)
            body = b"<Error><Code>PermanentRedirect</Code><Message>elsewhere</Message></Error>"
            self.send_response_only(301)
            self.send_header("x-amz-bucket-region", self.bucket_region)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self._forward()

    do_GET = do_HEAD = do_POST = do_DELETE = lambda self: self._forward()

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = http.client.HTTPConnection(*self.upstream, timeout=30)
        upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            upstream.putheader(name, value)
        upstream.endheaders(body or None)
        answer = upstream.getresponse()
        data = answer.read()
        self.send_response_only(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        upstream.close()

    def log_message(self, format: str, *args: object) -> None:
        pass  # quiet


@pytest.fixture
def region_front(keys: S3Server) -> Iterator[tuple[S3Server, list[str]]]:
    """``keys`` reached through :class:`_RegionFront`: (that server, the paths it redirected)."""
    upstream = urlsplit(keys.endpoint_url)
    redirected: list[str] = []
    handler = type(
        "Front",
        (_RegionFront,),
        {
            "upstream": (upstream.hostname, upstream.port),
            "refused_region": keys.region,
            "bucket_region": "eu-west-1",
            "redirected": redirected,
        },
    )
    front = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=front.serve_forever, daemon=True)
    thread.start()
    try:
        yield replace(keys, endpoint_url=f"http://127.0.0.1:{front.server_port}"), redirected
    finally:
        front.shutdown()
        front.server_close()
        thread.join(timeout=10)


def test_a_redirected_small_put_is_sent_again_through_put_object(
    region_front: tuple[S3Server, list[str]], s3_bucket: str, tmp_path: Path
):
    """The lean PUT does not follow S3's redirects: the object goes to put_object (whose region
    redirector re-signs it for the bucket's region) and the next ones go there directly."""
    front, redirected = region_front
    cover = random_file(tmp_path / "cover.jpg", 300_000)
    with S3Protocol("dsp", s3_settings(front, s3_bucket), tmp_path) as transport:
        transport.put_file(cover, "r/cover.jpg", md5_of(cover))
        transport.put_bytes(b"<m/>", "r/m.xml", hashlib.md5(b"<m/>").hexdigest())
        lean_puts = transport._lean.puts if transport._lean else 0

    cover_path, message_path = f"/{s3_bucket}/dsp/r/cover.jpg", f"/{s3_bucket}/dsp/r/m.xml"
    assert lean_puts == 0
    assert redirected[:2] == [cover_path, cover_path]  # the lean PUT, then put_object's first
    assert set(redirected) <= {cover_path, message_path}
    client = front.client()
    body = client.get_object(Bucket=s3_bucket, Key="dsp/r/cover.jpg")["Body"].read()
    assert body == cover.read_bytes()
    assert client.get_object(Bucket=s3_bucket, Key="dsp/r/m.xml")["Body"].read() == b"<m/>"


def test_workers_inherit_the_s3_model_loaded_before_they_fork(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """deliver calls prepare_for_workers before forking its sending workers: the S3 model and
    endpoint rules are parsed there once, and nothing is sent (nothing listens here)."""
    monkeypatch.setenv("TEST_S3_UNUSED_ID", "id")
    monkeypatch.setenv("TEST_S3_UNUSED_SECRET", "secret")
    _shared_loader.cache_clear()
    settings = S3Delivery(
        protocol="s3",
        bucket="anything",
        region="us-east-1",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        access_key_id="${TEST_S3_UNUSED_ID}",
        secret_access_key="${TEST_S3_UNUSED_SECRET}",
    )
    try:
        S3Protocol("dsp", settings, tmp_path).prepare_for_workers()
        loaded = {key[1:3] for key in _shared_loader()._cache if key[0] == "load_service_model"}
    finally:
        _shared_loader.cache_clear()

    assert {("s3", "service-2"), ("s3", "endpoint-rule-set-1")} <= loaded
