"""The ERN reader refuses hostile or broken XML with a located error, and never reads a tree whole.

Each input is a real file; each refusal is checked for its exact location and reason. A DOCTYPE
is refused before any entity could be expanded or any file or URL read (the XXE payload names a
file whose content must never appear anywhere).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from stardust_git.errors import UserError
from stardust_git.importers import xmlsafe
from stardust_git.importers.xmlsafe import ItemReader, open_message

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "ddex-samples"
ERN43 = "http://ddex.net/xml/ern/43"


def refusal(path: Path) -> tuple[int, int, str]:
    with pytest.raises(UserError) as caught:
        message = open_message(path, path.name)
        list(message.items)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.path == path.name
    return diagnostic.line, diagnostic.col, diagnostic.message


def write(tmp_path: Path, text: str, name: str = "message.xml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_xml_is_located_at_the_broken_tag(tmp_path: Path) -> None:
    text = f'<ern:NewReleaseMessage xmlns:ern="{ERN43}">\n<MessageHeader>\n</MessageHeadr>\n'
    line, col, message = refusal(write(tmp_path, text))
    assert line == 3
    assert col > 0
    assert message.startswith("not well-formed XML:")
    assert "MessageHeader" in message


def test_an_xxe_doctype_is_refused_and_the_file_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    text = (
        f'<?xml version="1.0"?>\n<!DOCTYPE m [<!ENTITY x SYSTEM "file://{secret}">]>\n'
        f'<ern:NewReleaseMessage xmlns:ern="{ERN43}"><MessageHeader>&x;</MessageHeader>'
        "</ern:NewReleaseMessage>\n"
    )
    with pytest.raises(UserError) as caught:
        list(open_message(write(tmp_path, text), "m.xml").items)
    (diagnostic,) = caught.value.diagnostics
    assert "DOCTYPE" in diagnostic.message
    assert "TOP-SECRET-VALUE" not in str(caught.value) + diagnostic.format()


def test_an_entity_bomb_is_refused_without_expanding(tmp_path: Path) -> None:
    entities = '<!ENTITY a0 "ha">' + "".join(
        f'<!ENTITY a{n} "{"&a" + str(n - 1) + ";" * 1}' + f"&a{n - 1};" * 9 + '">'
        for n in range(1, 10)
    )
    text = (
        f"<!DOCTYPE m [{entities}]>\n"
        f'<ern:NewReleaseMessage xmlns:ern="{ERN43}"><MessageHeader>&a9;</MessageHeader>'
        "</ern:NewReleaseMessage>\n"
    )
    path = write(tmp_path, text)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _, _, message = refusal(path)
    assert "DOCTYPE" in message
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 50 * 1024


def test_nesting_deeper_than_the_bound_is_refused_at_its_line(tmp_path: Path) -> None:
    depth = xmlsafe.MAX_DEPTH + 5
    opening = "".join(f"<e{n}>\n" for n in range(depth))
    closing = "".join(f"</e{n}>" for n in reversed(range(depth)))
    text = (
        f'<ern:NewReleaseMessage xmlns:ern="{ERN43}">\n{opening}{closing}</ern:NewReleaseMessage>'
    )
    line, _, message = refusal(write(tmp_path, text))
    assert message == f"elements nest deeper than {xmlsafe.MAX_DEPTH} levels"
    assert line == xmlsafe.MAX_DEPTH + 1  # the root is on line 1, one element per line after it


def test_a_root_that_is_not_an_ern_message_names_what_it_found(tmp_path: Path) -> None:
    line, _, message = refusal(write(tmp_path, '<?xml version="1.0"?>\n<catalog><a/></catalog>\n'))
    assert line == 2
    assert message.startswith("<catalog> in no namespace is not an ERN message")
    assert "4.3 (http://ddex.net/xml/ern/43)" in message


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    _, _, message = refusal(write(tmp_path, ""))
    assert message.startswith("not well-formed XML") or message == "no XML element found"


def test_a_file_over_the_size_bound_is_refused_before_parsing(tmp_path: Path) -> None:
    path = write(tmp_path, f'<ern:NewReleaseMessage xmlns:ern="{ERN43}"/>' + " " * 4096)
    script = (
        "import sys; from pathlib import Path; from stardust_git.errors import UserError\n"
        "from stardust_git.importers.xmlsafe import open_message\n"
        "try: open_message(Path(sys.argv[1]), 'm.xml')\n"
        "except UserError as e: print(e.diagnostics[0].message)\n"
    )
    environment = {**os.environ, "STARDUST_IMPORT_MAX_BYTES": "1024"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], env=environment, capture_output=True, text=True
    )
    assert done.stdout.strip() == f"{path.stat().st_size} bytes: larger than the 1024 bytes read"


@pytest.mark.parametrize(
    ("sample", "version"),
    [
        ("ern382/01_delivery.xml", "3.8.2"),
        ("ern42/audio-album.xml", "4.2"),
        ("ern43/audio-album.xml", "4.3"),
    ],
)
def test_the_version_comes_from_the_namespace(sample: str, version: str) -> None:
    message = open_message(SAMPLES / sample, sample)
    assert message.version == version
    assert message.kind == "NewReleaseMessage"


def test_items_come_one_at_a_time_and_are_freed_after_their_turn() -> None:
    message = open_message(SAMPLES / "ern43/audio-album.xml", "album.xml")
    seen = []
    for item in message.items:
        seen.append((item.list_name, item.tag, item.xpath))
        earlier = list(item.element.itersiblings(preceding=True))
        # the item handed over before this one is emptied; all before it are gone
        assert len(earlier) <= 1
        assert all(len(sibling) == 0 for sibling in earlier)
    lists = {list_name for list_name, _, _ in seen}
    assert lists == {"", "PartyList", "ResourceList", "ReleaseList", "DealList"}
    assert ("", "MessageHeader", "/NewReleaseMessage/MessageHeader[1]") in seen
    assert ("ResourceList", "Image", "/NewReleaseMessage/ResourceList/Image[1]") in seen


def test_the_reader_lists_exactly_what_nothing_read(tmp_path: Path) -> None:
    text = (
        f'<ern:NewReleaseMessage xmlns:ern="{ERN43}"><ResourceList><SoundRecording>'
        "<ResourceId><ISRC>USRC12400001</ISRC><ProprietaryId>9</ProprietaryId></ResourceId>"
        "<Keywords>a</Keywords><Keywords>b</Keywords><Duration>PT3M</Duration>"
        "</SoundRecording></ResourceList></ern:NewReleaseMessage>"
    )
    items = open_message(write(tmp_path, text), "m.xml").items
    reader = ItemReader(next(items))  # read while it is the current item: the next one frees it
    assert reader.text("ResourceId/ISRC") == "USRC12400001"
    assert reader.text("Duration") == "PT3M"
    base = "/NewReleaseMessage/ResourceList/SoundRecording[1]"
    assert reader.unread() == [
        f"{base}/ResourceId/ProprietaryId",
        f"{base}/Keywords[1]",
        f"{base}/Keywords[2]",
    ]
    assert list(items) == []
