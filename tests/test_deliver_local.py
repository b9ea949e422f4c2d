"""The embedded `local` protocol against a real directory."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from stardust_git.models.target import LocalDelivery
from stardust_git.protocols import open_transport, transport_class
from stardust_git.protocols.base import PermanentError, RemoteFile
from stardust_git.protocols.local import LocalProtocol


def transport(root: Path, directory: str = "outbox/local") -> LocalProtocol:
    settings = LocalDelivery(protocol="local", directory=directory)
    opened = open_transport("local", settings, root)
    assert isinstance(opened, LocalProtocol)
    return opened


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_the_entry_point_names_the_local_protocol() -> None:
    assert transport_class("local") is LocalProtocol


def test_put_file_creates_folders_and_lands_the_whole_file(tmp_path: Path) -> None:
    source = tmp_path / "audio.wav"
    data = os.urandom(3 * (1 << 20) + 17)
    source.write_bytes(data)
    seen: list[int] = []

    with transport(tmp_path) as local:
        local.put_file(source, "N_1_2/resources/1_01_001.wav", md5(data), seen.append)
        there = local.stat("N_1_2/resources/1_01_001.wav")

    final = tmp_path / "outbox" / "local" / "N_1_2" / "resources" / "1_01_001.wav"
    assert final.read_bytes() == data
    assert sum(seen) == len(data)
    assert there == RemoteFile("N_1_2/resources/1_01_001.wav", len(data), md5(data))
    assert [p.name for p in final.parent.iterdir()] == ["1_01_001.wav"]  # no temporary left


def test_a_wrong_md5_leaves_nothing_behind(tmp_path: Path) -> None:
    with transport(tmp_path) as local, pytest.raises(PermanentError, match="MD5"):
        local.put_bytes(b"<xml/>", "N_1_2/1.xml", "0" * 32)

    folder = tmp_path / "outbox" / "local" / "N_1_2"
    assert list(folder.iterdir()) == []


def test_a_replaced_file_is_swapped_whole(tmp_path: Path) -> None:
    with transport(tmp_path) as local:
        local.put_bytes(b"first", "a/message.xml", md5(b"first"))
        local.put_bytes(b"second version", "a/message.xml", md5(b"second version"))
        assert local.read("a/message.xml") == b"second version"
        assert local.list("a") == [RemoteFile("a/message.xml", 14)]
        local.delete("a/message.xml")
        local.delete("a/message.xml")  # twice: nothing there is fine
        assert local.stat("a/message.xml") is None
        assert local.list("missing") == []


def test_a_delivery_directory_that_is_a_file_is_a_permanent_error(tmp_path: Path) -> None:
    (tmp_path / "outbox").write_text("not a folder\n")

    with pytest.raises(PermanentError, match="delivery directory"):
        transport(tmp_path).connect()


def test_paths_cannot_escape_the_delivery_directory(tmp_path: Path) -> None:
    with transport(tmp_path) as local, pytest.raises(PermanentError, match="refusing"):
        local.put_bytes(b"x", "../escaped.txt", md5(b"x"))

    assert not (tmp_path / "outbox" / "escaped.txt").exists()


def test_an_absolute_directory_is_used_as_is(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    with transport(tmp_path / "repo", str(elsewhere)) as local:
        local.put_bytes(b"x", "f.txt", md5(b"x"))
        location = local.location("f.txt")

    assert (elsewhere / "f.txt").read_bytes() == b"x"
    assert location == f"local:{elsewhere}/f.txt"
