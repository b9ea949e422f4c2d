"""Every protocol reports upload progress: the ``progress`` callback of ``put_file`` adds up to
the file's size, in more than one step for a large file, against the real servers.

Sizes: the small file goes in one request everywhere (S3 single PUT, Azure single PUT); the large
one is above the test S3 endpoint's 5 MiB multipart threshold (two 16 MiB parts) and above
Azure's single-PUT limit (three blocks).
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from stardust_git.models.target import LocalDelivery
from stardust_git.protocols.api import ApiProtocol
from stardust_git.protocols.azure import BLOCK_BYTES
from stardust_git.protocols.local import LocalProtocol
from tests.servers import ApiServer
from tests.test_protocol_api import api_settings
from tests.test_protocol_endpoints import (
    MIB,
    Endpoint,
    file_endpoint_fixture,
    md5_of,
    random_file,
)

SMALL = 300 * 1024 + 7
LARGE = 2 * BLOCK_BYTES + MIB + 1
FOLDER = "N_1234567890128_20250101120000000"

endpoint = file_endpoint_fixture()


class Recorder:
    """A progress callback that keeps every report (transports may call it from threads)."""

    def __init__(self) -> None:
        self.reports: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, nbytes: int) -> None:
        with self.lock:
            self.reports.append(nbytes)


@pytest.mark.parametrize("size", [SMALL, LARGE], ids=["small", "large"])
def test_file_protocols_report_progress_adding_up_to_the_file_size(
    endpoint: Endpoint, tmp_path: Path, size: int
):
    local = random_file(tmp_path / "upload.bin", size)
    progress = Recorder()
    with endpoint.transport() as transport:
        transport.put_file(local, f"{FOLDER}/resources/a.flac", md5_of(local), progress)

    assert sum(progress.reports) == size
    if size == LARGE:
        assert len(progress.reports) > 1  # a bar that moves while the file goes, not at the end
    held = endpoint.read_remote(f"{FOLDER}/resources/a.flac")
    assert held is not None and len(held) == size


def test_the_local_protocol_reports_progress_per_chunk(tmp_path: Path):
    local = random_file(tmp_path / "upload.bin", LARGE)
    settings = LocalDelivery(protocol="local", directory="outbox")
    progress = Recorder()
    with LocalProtocol("local", settings, tmp_path) as transport:
        transport.put_file(local, f"{FOLDER}/resources/a.flac", md5_of(local), progress)

    assert sum(progress.reports) == LARGE
    assert len(progress.reports) > 1
    assert (tmp_path / "outbox" / FOLDER / "resources" / "a.flac").stat().st_size == LARGE


def test_the_api_protocol_reports_each_file_while_its_message_request_streams(
    http_api_server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TEST_API_TOKEN", http_api_server.credentials.token)
    files = {
        "resources/a.flac": (random_file(tmp_path / "a.flac", LARGE), Recorder()),
        "resources/c.jpg": (random_file(tmp_path / "c.jpg", SMALL), Recorder()),
    }
    message = b'<?xml version="1.0"?><NewReleaseMessage/>'
    settings = api_settings(http_api_server, headers={})
    with ApiProtocol("dsp", settings, tmp_path) as transport:
        for name, (local, progress) in files.items():
            transport.put_file(local, f"{FOLDER}/{name}", md5_of(local), progress)
        assert [progress.reports for _, progress in files.values()] == [[], []]  # queued only
        md5 = hashlib.md5(message).hexdigest()
        transport.put_bytes(message, f"{FOLDER}/1234567890128.xml", md5)

    for local, progress in files.values():
        assert sum(progress.reports) == local.stat().st_size
    assert len(files["resources/a.flac"][1].reports) > 1
    [delivery] = http_api_server.deliveries
    received = {f.name: f.path.stat().st_size for f in delivery.files if f.field == "files"}
    assert received == {"resources/a.flac": LARGE, "resources/c.jpg": SMALL}
