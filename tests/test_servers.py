"""Smoke tests: each test server works with the client library the product uses against it."""

from __future__ import annotations

import base64
import dataclasses
import ftplib
import hashlib
import io
import ssl
from pathlib import Path

import azure.core.exceptions
import botocore.exceptions
import ftputil
import ftputil.session
import httpx
import paramiko
import pytest
from azure.storage.blob import BlobServiceClient
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.servers import ApiServer, AzureServer, FtpServer, S3Server, SftpServer

PAYLOAD = b"DDEX resource bytes \x00\x01\x02" * 4096


def report_startup(name: str, seconds: float) -> None:
    print(f"\n{name} ready in {seconds * 1000:.0f} ms")


def sftp_client(
    server: SftpServer, pinned_host_key: str, **credentials: object
) -> paramiko.SSHClient:
    key_type, key_base64 = pinned_host_key.split()[:2]
    client = paramiko.SSHClient()
    client.get_host_keys().add(
        f"[{server.host}]:{server.port}",
        key_type,
        paramiko.PKey.from_type_string(key_type, base64.b64decode(key_base64)),
    )
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        server.host,
        server.port,
        server.username,
        look_for_keys=False,
        allow_agent=False,
        timeout=5,
        **credentials,
    )
    return client


def other_ed25519_host_key() -> str:
    public_key = ed25519.Ed25519PrivateKey.generate().public_key()
    return public_key.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ).decode()


def test_sftp_put_and_stat_with_the_pinned_host_key(sshd_server: SftpServer, tmp_path: Path):
    report_startup("sshd", sshd_server.startup_seconds)
    local_file = tmp_path / "resource.wav"
    local_file.write_bytes(PAYLOAD)
    client = sftp_client(
        sshd_server, sshd_server.host_key, key_filename=str(sshd_server.private_key_path)
    )
    with client, client.open_sftp() as sftp:
        sftp.mkdir("inbox")
        sftp.put(str(local_file), "inbox/resource.wav.part")
        sftp.rename("inbox/resource.wav.part", "inbox/resource.wav")
        remote_size = sftp.stat("inbox/resource.wav").st_size
    assert remote_size == len(PAYLOAD)
    assert (sshd_server.data_dir / "inbox" / "resource.wav").read_bytes() == PAYLOAD


def test_sftp_refuses_a_host_key_other_than_the_pinned_one(sshd_server: SftpServer):
    with pytest.raises(paramiko.BadHostKeyException):
        sftp_client(
            sshd_server, other_ed25519_host_key(), key_filename=str(sshd_server.private_key_path)
        )


def test_sftp_password_login(sshd_password_server: SftpServer):
    report_startup("sshd (password)", sshd_password_server.startup_seconds)
    server = sshd_password_server
    client = sftp_client(server, server.host_key, password=server.password)
    with client, client.open_sftp() as sftp:
        sftp.putfo(io.BytesIO(PAYLOAD), "release.xml")
    assert (server.data_dir / "release.xml").read_bytes() == PAYLOAD
    with pytest.raises(paramiko.AuthenticationException):
        sftp_client(server, server.host_key, password=f"not-{server.password}")


def test_ftp_upload_and_rename_with_ftputil(ftp_server: FtpServer, tmp_path: Path):
    report_startup("ftp", ftp_server.startup_seconds)
    local_file = tmp_path / "cover.jpg"
    local_file.write_bytes(PAYLOAD)
    session_factory = ftputil.session.session_factory(port=ftp_server.port)
    with ftputil.FTPHost(
        ftp_server.host, ftp_server.username, ftp_server.password, session_factory=session_factory
    ) as host:
        host.makedirs("inbox/batch")
        host.upload(str(local_file), "inbox/batch/cover.jpg.part")
        host.rename("inbox/batch/cover.jpg.part", "inbox/batch/cover.jpg")
        remote_size = host.path.getsize("inbox/batch/cover.jpg")
    assert remote_size == len(PAYLOAD)
    assert (ftp_server.root_dir / "inbox" / "batch" / "cover.jpg").read_bytes() == PAYLOAD


def test_ftp_rejects_a_wrong_password(ftp_server: FtpServer):
    with ftplib.FTP() as ftp:
        ftp.connect(ftp_server.host, ftp_server.port, timeout=5)
        with pytest.raises(ftplib.error_perm):
            ftp.login(ftp_server.username, f"not-{ftp_server.password}")


def test_ftps_upload_verifying_the_certificate_with_ca_file(ftps_server: FtpServer):
    report_startup("ftps", ftps_server.startup_seconds)
    context = ssl.create_default_context(cafile=str(ftps_server.ca_file))
    with ftplib.FTP_TLS(context=context) as ftps:
        ftps.connect(ftps_server.host, ftps_server.port, timeout=5)
        ftps.login(ftps_server.username, ftps_server.password)
        with pytest.raises(ftplib.error_perm, match=r"TLS required on the data channel"):
            ftps.storbinary("STOR plain-data.bin", io.BytesIO(PAYLOAD))
        ftps.prot_p()
        ftps.storbinary("STOR release.xml", io.BytesIO(PAYLOAD))
        assert ftps.size("release.xml") == len(PAYLOAD)
    assert (ftps_server.root_dir / "release.xml").read_bytes() == PAYLOAD


def test_ftps_certificate_is_refused_without_the_test_ca(ftps_server: FtpServer):
    with ftplib.FTP_TLS(context=ssl.create_default_context()) as ftps:
        ftps.connect(ftps_server.host, ftps_server.port, timeout=5)
        with pytest.raises(ssl.SSLCertVerificationError):
            ftps.auth()


def test_ftps_refuses_a_login_without_tls(ftps_server: FtpServer):
    with ftplib.FTP() as ftp:
        ftp.connect(ftps_server.host, ftps_server.port, timeout=5)
        with pytest.raises(ftplib.error_perm, match=r"TLS required on the control channel"):
            ftp.login(ftps_server.username, ftps_server.password)


def content_md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def test_s3_put_with_content_md5_and_get(s3_server: S3Server, s3_bucket: str):
    report_startup("seaweedfs", s3_server.startup_seconds)
    s3 = s3_server.client()
    s3.put_object(
        Bucket=s3_bucket, Key="inbox/release.xml", Body=PAYLOAD, ContentMD5=content_md5(PAYLOAD)
    )
    stored = s3.get_object(Bucket=s3_bucket, Key="inbox/release.xml")["Body"].read()
    assert stored == PAYLOAD


def test_s3_rejects_a_wrong_content_md5(s3_server: S3Server, s3_bucket: str):
    s3 = s3_server.client()
    with pytest.raises(botocore.exceptions.ClientError) as rejected:
        s3.put_object(
            Bucket=s3_bucket, Key="corrupt.bin", Body=PAYLOAD, ContentMD5=content_md5(b"other")
        )
    assert rejected.value.response["Error"]["Code"] in {"BadDigest", "InvalidDigest"}
    listed = s3.list_objects_v2(Bucket=s3_bucket)
    assert listed["KeyCount"] == 0


def test_s3_rejects_a_wrong_secret_key(s3_server: S3Server, s3_bucket: str):
    s3 = dataclasses.replace(s3_server, secret_access_key="not-the-secret").client()
    with pytest.raises(botocore.exceptions.ClientError) as rejected:
        s3.put_object(Bucket=s3_bucket, Key="x.bin", Body=b"x")
    assert rejected.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_azure_upload_and_download(azurite_server: AzureServer, azure_container: str):
    report_startup("azurite", azurite_server.startup_seconds)
    blob = azurite_server.service_client().get_blob_client(azure_container, "inbox/release.xml")
    blob.upload_blob(PAYLOAD, validate_content=True, max_concurrency=2)
    assert blob.download_blob(validate_content=True).readall() == PAYLOAD
    assert blob.get_blob_properties().size == len(PAYLOAD)


def test_azure_rejects_a_wrong_account_key(azurite_server: AzureServer, azure_container: str):
    wrong_key = base64.b64encode(b"not the account key").decode()
    service = BlobServiceClient(
        azurite_server.account_url,
        credential={"account_name": azurite_server.account_name, "account_key": wrong_key},
        retry_total=0,
    )
    with pytest.raises(azure.core.exceptions.HttpResponseError) as rejected:
        service.get_blob_client(azure_container, "x.bin").upload_blob(b"x")
    assert rejected.value.status_code == 403


def multipart_files() -> list[tuple[str, tuple[str, bytes, str]]]:
    return [
        ("files", ("resources/A1.flac", PAYLOAD, "audio/flac")),
        ("files", ("release.xml", b"<NewReleaseMessage/>", "application/xml")),
    ]


def test_api_multipart_upload_with_bearer_token(http_api_server: ApiServer):
    report_startup("http api", http_api_server.startup_seconds)
    headers = {"Authorization": f"Bearer {http_api_server.token}"}
    response = httpx.post(
        http_api_server.deliveries_url,
        headers=headers,
        files=multipart_files(),
        data={"upc": "1234567890128"},
    )
    assert response.status_code == 201
    delivery_id = response.json()["id"]
    (delivery,) = http_api_server.deliveries
    assert delivery.id == delivery_id
    assert delivery.fields == {"upc": ["1234567890128"]}
    stored = http_api_server.received_dir / delivery_id / "resources" / "A1.flac"
    assert stored.read_bytes() == PAYLOAD
    status = httpx.get(f"{http_api_server.deliveries_url}/{delivery_id}", headers=headers).json()
    assert {
        "name": "resources/A1.flac",
        "size": len(PAYLOAD),
        "md5": hashlib.md5(PAYLOAD).hexdigest(),
    } in status["files"]


def test_api_oauth2_client_credentials(http_api_server: ApiServer):
    credentials = http_api_server.credentials
    token_response = httpx.post(
        http_api_server.token_url,
        data={"grant_type": "client_credentials"},
        auth=(credentials.client_id, credentials.client_secret),
    )
    assert token_response.status_code == 200
    access_token = token_response.json()["access_token"]
    headers = {"Authorization": f"Bearer {access_token}"}
    response = httpx.post(http_api_server.deliveries_url, headers=headers, files=multipart_files())
    assert response.status_code == 201
    http_api_server.api.revoke_tokens()
    response = httpx.post(http_api_server.deliveries_url, headers=headers, files=multipart_files())
    assert response.status_code == 401


def test_api_refuses_wrong_client_secret_and_wrong_basic_password(http_api_server: ApiServer):
    credentials = http_api_server.credentials
    token_response = httpx.post(
        http_api_server.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": credentials.client_id,
            "client_secret": "wrong",
        },
    )
    assert token_response.status_code == 401
    wrong_basic = (credentials.username, f"not-{credentials.password}")
    response = httpx.post(http_api_server.deliveries_url, auth=wrong_basic, files=multipart_files())
    assert response.status_code == 401
    right_basic = (credentials.username, credentials.password)
    response = httpx.post(http_api_server.deliveries_url, auth=right_basic, files=multipart_files())
    assert response.status_code == 201


def test_api_injected_faults_come_first_then_uploads_succeed(http_api_server: ApiServer):
    http_api_server.fail_next(2, status=503)
    http_api_server.fail_next(1, status=401)
    headers = {"Authorization": f"Bearer {http_api_server.token}"}
    statuses = [
        httpx.post(
            http_api_server.deliveries_url, headers=headers, files=multipart_files()
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [503, 503, 401, 201]
    assert len(http_api_server.deliveries) == 1
