"""Azure Blob specifics against Azurite, which checks keys, signatures and MD5s."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from stardust_git.models.target import AzureDelivery
from stardust_git.protocols.azure import BLOCK_BYTES, AzureProtocol
from stardust_git.protocols.base import PermanentError
from tests.servers import AzureServer
from tests.test_protocol_endpoints import MIB, md5_of, random_file


@pytest.fixture
def secrets_set(azurite_server: AzureServer, monkeypatch: pytest.MonkeyPatch) -> AzureServer:
    monkeypatch.setenv("TEST_AZURE_CONNECTION", azurite_server.connection_string)
    monkeypatch.setenv("TEST_AZURE_KEY", azurite_server.account_key)
    return azurite_server


def by_connection_string(container: str, **changes: object) -> AzureDelivery:
    fields = {"protocol": "azure", "container": container, "prefix": "dsp"}
    fields |= {"connection_string": "${TEST_AZURE_CONNECTION}"}
    return AzureDelivery(**(fields | changes))  # type: ignore[arg-type]


def test_every_blob_carries_its_md5_small_or_in_blocks(
    secrets_set: AzureServer, azure_container: str, tmp_path: Path
):
    large = random_file(tmp_path / "large.wav", 3 * BLOCK_BYTES + 5)
    small = random_file(tmp_path / "small.jpg", MIB)
    with AzureProtocol("dsp", by_connection_string(azure_container), tmp_path) as transport:
        transport.put_file(large, "r/large.wav", md5_of(large))
        transport.put_file(small, "r/small.jpg", md5_of(small))

    blobs = secrets_set.service_client().get_container_client(azure_container)
    for name, local in (("dsp/r/large.wav", large), ("dsp/r/small.jpg", small)):
        properties = blobs.get_blob_client(name).get_blob_properties()
        assert bytes(properties.content_settings.content_md5).hex() == md5_of(local)
        assert blobs.download_blob(name).readall() == local.read_bytes()
    committed, _ = blobs.get_blob_client("dsp/r/large.wav").get_block_list("committed")
    assert len(committed) == 4  # three full blocks and five bytes, sent four at a time


def test_content_that_does_not_match_its_md5_is_refused_and_not_stored(
    secrets_set: AzureServer, azure_container: str, tmp_path: Path
):
    settings = by_connection_string(azure_container)
    with (
        AzureProtocol("dsp", settings, tmp_path) as transport,
        pytest.raises(PermanentError, match="400"),
    ):
        transport.put_bytes(b"<m/>", "m.xml", hashlib.md5(b"something else").hexdigest())
    blobs = secrets_set.service_client().get_container_client(azure_container)
    assert list(blobs.list_blobs()) == []


def test_account_url_with_an_account_key_logs_in(
    secrets_set: AzureServer, azure_container: str, tmp_path: Path
):
    settings = AzureDelivery(
        protocol="azure",
        container=azure_container,
        account_url=secrets_set.account_url,
        account_key="${TEST_AZURE_KEY}",
    )
    with AzureProtocol("dsp", settings, tmp_path) as transport:
        transport.put_bytes(b"<m/>", "r/m.xml", hashlib.md5(b"<m/>").hexdigest())
        assert transport.location("r") == f"azure://{azure_container}/r"
    blobs = secrets_set.service_client().get_container_client(azure_container)
    assert blobs.download_blob("r/m.xml").readall() == b"<m/>"


def test_a_missing_container_is_a_permanent_error(secrets_set: AzureServer, tmp_path: Path):
    settings = by_connection_string("no-such-container")
    with pytest.raises(PermanentError, match="'no-such-container' not found"):
        AzureProtocol("dsp", settings, tmp_path).connect()


def test_progress_adds_up_to_the_file_size(
    secrets_set: AzureServer, azure_container: str, tmp_path: Path
):
    large = random_file(tmp_path / "large.wav", 2 * BLOCK_BYTES + 1)
    reported: list[int] = []
    with AzureProtocol("dsp", by_connection_string(azure_container), tmp_path) as transport:
        transport.put_file(large, "r/large.wav", md5_of(large), reported.append)
    assert sum(reported) == large.stat().st_size
    assert len(reported) > 1
