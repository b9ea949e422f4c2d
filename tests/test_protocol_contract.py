"""Every file-server protocol against its real server: the Transport contract, end to end.

Parametrized over SFTP (OpenSSH), FTP and FTPS (pyftpdlib), S3 (SeaweedFS) and Azure Blob
(Azurite). What the server holds is read from the server's side (its directory, or the SDK),
never through the transport under test.
"""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

from stardust_git.protocols.base import Transport
from tests.test_protocol_endpoints import (
    MIB,
    Endpoint,
    file_endpoint_fixture,
    md5_of,
    random_file,
)

RELEASE_FOLDER = "N_1234567890128_20250101120000000"

endpoint = file_endpoint_fixture()


def deliver_release(transport: Transport, files: dict[str, Path], message: bytes) -> str:
    """Resources first, then the message, as the choreography orders them; the message path."""
    for name, local in files.items():
        transport.put_file(local, f"{RELEASE_FOLDER}/{name}", md5_of(local))
    message_path = f"{RELEASE_FOLDER}/1234567890128.xml"
    transport.put_bytes(message, message_path, hashlib.md5(message).hexdigest())
    return message_path


def test_a_release_arrives_byte_identical_with_nothing_else_beside_it(
    endpoint: Endpoint, tmp_path: Path
):
    files = {
        "resources/1234567890128_01_001.flac": random_file(tmp_path / "a.flac", 7 * MIB + 13),
        "resources/1234567890128_01_002.flac": random_file(tmp_path / "b.flac", 300_001),
        "resources/1234567890128.jpg": random_file(tmp_path / "c.jpg", 0),
    }
    message = b'<?xml version="1.0"?><NewReleaseMessage/>'

    with endpoint.transport() as transport:
        deliver_release(transport, files, message)

    expected = {f"{RELEASE_FOLDER}/{name}": path.read_bytes() for name, path in files.items()}
    expected[f"{RELEASE_FOLDER}/1234567890128.xml"] = message
    assert endpoint.names_remote() == sorted(expected)
    for name, content in expected.items():
        assert endpoint.read_remote(name) == content, name


def test_stat_and_list_report_sizes_and_what_resume_compares(endpoint: Endpoint, tmp_path: Path):
    audio = random_file(tmp_path / "a.flac", 2 * MIB + 5)
    with endpoint.transport() as transport:
        assert transport.stat(f"{RELEASE_FOLDER}/resources/a.flac") is None
        assert transport.list(RELEASE_FOLDER) == []
        deliver_release(transport, {"resources/a.flac": audio}, b"<m/>")
        found = transport.stat(f"{RELEASE_FOLDER}/resources/a.flac")
        listed = transport.list(RELEASE_FOLDER)
        listed_resources = transport.list(f"{RELEASE_FOLDER}/resources")

    assert found is not None and found.size == audio.stat().st_size
    assert found.md5 in (None, md5_of(audio))
    if endpoint.protocol in ("s3", "azure"):
        assert found.md5 == md5_of(audio)  # object stores keep the MD5: resume compares it
    assert [(f.path, f.size) for f in listed] == [(f"{RELEASE_FOLDER}/1234567890128.xml", 4)]
    assert [(f.path, f.size) for f in listed_resources] == [
        (f"{RELEASE_FOLDER}/resources/a.flac", audio.stat().st_size)
    ]


def test_redelivery_replaces_the_file_under_the_same_name(endpoint: Endpoint):
    path = f"{RELEASE_FOLDER}/1234567890128.xml"
    with endpoint.transport() as transport:
        transport.put_bytes(b"<first/>", path, hashlib.md5(b"<first/>").hexdigest())
        transport.put_bytes(b"<second-longer/>", path, hashlib.md5(b"<second-longer/>").hexdigest())
    assert endpoint.read_remote(path) == b"<second-longer/>"
    assert endpoint.names_remote() == [path]


def test_read_and_delete_a_probe(endpoint: Endpoint):
    with endpoint.transport() as transport:
        transport.put_bytes(b"probe", "probe.txt", hashlib.md5(b"probe").hexdigest())
        assert transport.read("probe.txt") == b"probe"
        transport.delete("probe.txt")
        assert transport.stat("probe.txt") is None
    assert endpoint.names_remote() == []


def test_the_final_name_never_shows_a_partial_file(endpoint: Endpoint, tmp_path: Path):
    """A reader polling the final name sees nothing, then the whole file; never a part of it."""
    big = random_file(tmp_path / "big.wav", 48 * MIB)
    remote = f"{RELEASE_FOLDER}/resources/big.wav"
    size = big.stat().st_size
    seen_sizes: list[int | None] = []
    uploading = threading.Event()
    finished = threading.Event()

    def watch() -> None:
        uploading.wait()
        while not finished.is_set():
            content = endpoint.read_remote(remote)
            seen_sizes.append(None if content is None else len(content))
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with endpoint.transport() as transport:
            uploading.set()
            transport.put_file(big, remote, md5_of(big))
    finally:
        finished.set()
        watcher.join()

    assert None in seen_sizes, "the watcher never looked during the upload"
    assert set(seen_sizes) <= {None, size}
    assert endpoint.read_remote(remote) == big.read_bytes()
    assert endpoint.names_remote() == [remote]


def test_transport_reconnects_by_itself_after_close(endpoint: Endpoint):
    transport = endpoint.transport()
    transport.connect()
    transport.put_bytes(b"one", "one.txt", hashlib.md5(b"one").hexdigest())
    transport.close()
    transport.close()  # twice is safe
    transport.put_bytes(b"two", "two.txt", hashlib.md5(b"two").hexdigest())
    transport.close()
    assert endpoint.names_remote() == ["one.txt", "two.txt"]


def test_location_names_the_server_and_the_folder_but_no_secret(endpoint: Endpoint):
    transport = endpoint.transport()
    where = transport.location(RELEASE_FOLDER)
    assert where.startswith(f"{endpoint.protocol}://")
    assert where.endswith(f"inbox/label/{RELEASE_FOLDER}")
    assert all(secret not in where for secret in endpoint.env.values())
