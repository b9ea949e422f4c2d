"""XSD provisioning (local folder, download cache), validation and safe parsing."""

from __future__ import annotations

import functools
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lxml import etree

from stardust_git import xsd
from stardust_git.errors import UserError

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
XSD_DIR = SHARED / "ddex-xsd"
SAMPLES = SHARED / "ddex-samples"
VERSION_BY_FOLDER = {"ern382": "3.8.2", "ern42": "4.2", "ern43": "4.3"}
ALBUM_43 = SAMPLES / "ern43" / "audio-album.xml"
OFFICIAL_382_IMPORT = b'schemaLocation="http://ddex.net/xml/avs/avs.xsd"'


@pytest.fixture(autouse=True)
def _local_xsd_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(xsd.ENV_DIR, str(XSD_DIR))
    monkeypatch.delenv(xsd.ENV_BASE_URL, raising=False)


def line_of(data: bytes, needle: bytes) -> int:
    return data[: data.index(needle)].count(b"\n") + 1


# ---------------------------------------------------------------------------------------------
# Validation


SAMPLE_FILES = sorted(SAMPLES.glob("*/*.xml"))


@pytest.mark.parametrize("sample", SAMPLE_FILES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_sample_is_valid_for_its_version(sample: Path) -> None:
    data = sample.read_bytes()
    version = VERSION_BY_FOLDER[sample.parent.name]

    assert xsd.version_of(data) == version
    assert xsd.validate_xml(data, version) == []


def test_samples_cover_every_version() -> None:
    assert {VERSION_BY_FOLDER[path.parent.name] for path in SAMPLE_FILES} == set(xsd.SCHEMA_FILES)


def test_reordered_header_children_give_the_line_and_path() -> None:
    data = ALBUM_43.read_bytes()
    thread_id = b"<MessageThreadId>Test1</MessageThreadId>"
    message_id = b"<MessageId>Test1.1</MessageId>"
    broken = (
        data.replace(thread_id, b"@@").replace(message_id, thread_id).replace(b"@@", message_id)
    )

    problems = xsd.validate_xml(broken, "4.3")

    # MessageThreadId is optional, so MessageId first is fine; the thread id after it is not.
    assert [(p.line, p.xpath) for p in problems] == [
        (line_of(broken, thread_id), "/NewReleaseMessage/MessageHeader/MessageThreadId")
    ]
    assert problems[0].message.startswith("This element is not expected")
    assert "MessageSender" in problems[0].message
    assert "{" not in problems[0].message


def test_missing_required_child_names_the_indexed_parent() -> None:
    data = ALBUM_43.read_bytes()
    second_recording = data.index(b"<SoundRecording>", data.index(b"<SoundRecording>") + 1)
    duration_start = data.index(b"<Duration>", second_recording)
    duration_end = data.index(b"\n", duration_start) + 1
    broken = data[:duration_start] + b"<!-- no duration -->\n" + data[duration_end:]

    problems = xsd.validate_xml(broken, "4.3")

    assert len(problems) == 1
    problem = problems[0]
    following = re.compile(rb"<(\w+)").search(broken, duration_start + 4)[1].decode()
    assert problem.line == line_of(broken, b"<!-- no duration -->") + 1
    assert problem.xpath == f"/NewReleaseMessage/ResourceList/SoundRecording[2]/{following}"
    assert "Duration" in problem.message


def test_attribute_and_value_errors_are_readable() -> None:
    data = ALBUM_43.read_bytes()
    broken = data.replace(b' AvsVersionId="3"', b"").replace(b"<Duration>", b"<Duration>x", 1)

    problems = {(p.line, p.xpath, p.message) for p in xsd.validate_xml(broken, "4.3")}

    assert problems == {
        (5, "/NewReleaseMessage", "The attribute 'AvsVersionId' is required but missing."),
        (
            line_of(broken, b"<Duration>x"),
            "/NewReleaseMessage/ResourceList/SoundRecording[1]/Duration",
            "'xPT2M28S' is not a valid value of the atomic type 'xs:duration'.",
        ),
    }


def test_default_namespace_elements_get_named_paths() -> None:
    data = ALBUM_43.read_bytes()
    # With a default namespace every child lands in the ERN namespace, which DDEX does not allow.
    broken = data.replace(b"<ern:NewReleaseMessage xmlns:ern=", b"<NewReleaseMessage xmlns=")
    broken = broken.replace(b"</ern:NewReleaseMessage>", b"</NewReleaseMessage>")

    problems = xsd.validate_xml(broken, "4.3")

    assert problems[0].xpath == "/NewReleaseMessage/MessageHeader"
    assert problems[0].line == line_of(broken, b"<MessageHeader>")
    assert "namespace http://ddex.net/xml/ern/43" in problems[0].message


def test_validates_an_element_tree_built_in_memory() -> None:
    root = etree.fromstring(ALBUM_43.read_bytes())
    assert xsd.validate_xml(root, "4.3") == []

    header = root.find("MessageHeader")
    header.remove(header.find("MessageSender"))

    problems = xsd.validate_xml(root, "4.3")
    assert [p.xpath for p in problems] == ["/NewReleaseMessage/MessageHeader/MessageRecipient"]
    assert "MessageSender" in problems[0].message


def test_a_message_of_another_version_is_invalid() -> None:
    problems = xsd.validate_xml(ALBUM_43.read_bytes(), "4.2")
    assert problems
    assert problems[0].xpath == "/NewReleaseMessage"


def test_malformed_xml_is_one_problem_with_its_line() -> None:
    problems = xsd.validate_xml(b"<a>\n<b>\n</a>", "4.3")
    assert len(problems) == 1
    assert problems[0].line == 3
    assert "not well-formed" in problems[0].message


def test_version_of_unknown_namespace_is_none() -> None:
    assert xsd.version_of(b'<NewReleaseMessage xmlns="http://ddex.net/xml/ern/41"/>') is None
    assert xsd.version_of(b"<NewReleaseMessage/>") is None


def test_unknown_version_is_a_user_error() -> None:
    with pytest.raises(UserError, match=re.escape("unsupported ERN version '3.7'")):
        xsd.get_schema("3.7")


def test_schema_is_compiled_once_even_under_concurrency() -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        schemas = list(pool.map(lambda _: xsd.get_schema("4.2"), range(16)))
    assert all(schema is schemas[0] for schema in schemas)


def test_concurrent_validations_keep_their_own_problems() -> None:
    good = ALBUM_43.read_bytes()
    bad = good.replace(b' AvsVersionId="3"', b"")

    def check(index: int) -> bool:
        problems = xsd.validate_xml(bad if index % 2 else good, "4.3")
        return len(problems) == (1 if index % 2 else 0)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(check, range(64)))


# ---------------------------------------------------------------------------------------------
# STARDUST_XSD_DIR


def test_local_dir_missing_a_file_is_a_user_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ern43").mkdir()
    (tmp_path / "ern43" / "release-notification.xsd").write_bytes(
        (XSD_DIR / "ern43" / "release-notification.xsd").read_bytes()
    )
    monkeypatch.setenv(xsd.ENV_DIR, str(tmp_path))

    with pytest.raises(UserError, match=re.escape("lacks allowed-value-sets.xsd")):
        xsd.schema_dir("4.3")


def test_imports_outside_the_schema_folder_are_never_fetched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ddex_site: Site
) -> None:
    folder = tmp_path / "xsd" / "ern43"
    folder.mkdir(parents=True)
    main = (XSD_DIR / "ern43" / "release-notification.xsd").read_bytes()
    remote_avs = f'schemaLocation="{ddex_site.base_url}/ern/43/allowed-value-sets.xsd"'
    main = main.replace(b'schemaLocation="allowed-value-sets.xsd"', remote_avs.encode())
    (folder / "release-notification.xsd").write_bytes(main)
    (folder / "allowed-value-sets.xsd").write_bytes(b"<unused/>")
    monkeypatch.setenv(xsd.ENV_DIR, str(tmp_path / "xsd"))

    with pytest.raises(UserError, match=re.escape("refused to fetch: http://127.0.0.1")):
        xsd.get_schema("4.3")
    assert ddex_site.requests == []


# ---------------------------------------------------------------------------------------------
# Download cache


@dataclass
class Site:
    """A local stand-in for ddex.net/xml/ serving the official files."""

    root: Path
    base_url: str
    requests: list[str]
    fail_once: set[str]


class _RecordingHandler(SimpleHTTPRequestHandler):
    requests: list[str]
    fail_once: set[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.path in self.fail_once:
            self.fail_once.discard(self.path)
            self.send_error(503)
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


def _publish_official_files(site: Path) -> None:
    for version, files in xsd.SCHEMA_FILES.items():
        for file in files:
            target = site / file.url.removeprefix(xsd.OFFICIAL_BASE_URL)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = (XSD_DIR / xsd.FOLDERS[version] / file.name).read_bytes()
            if version == "3.8.2" and file.name == xsd.MAIN_FILE:
                data = data.replace(b'schemaLocation="avs.xsd"', OFFICIAL_382_IMPORT)
            target.write_bytes(data)


@pytest.fixture
def ddex_site(tmp_path: Path) -> Iterator[Site]:
    root = tmp_path / "site"
    _publish_official_files(root)
    requests: list[str] = []
    fail_once: set[str] = set()
    handler = type("Handler", (_RecordingHandler,), {"requests": requests, "fail_once": fail_once})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=root))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Site(root, f"http://127.0.0.1:{server.server_address[1]}", requests, fail_once)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ddex_site: Site) -> Path:
    monkeypatch.delenv(xsd.ENV_DIR)
    monkeypatch.setenv(xsd.ENV_BASE_URL, ddex_site.base_url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("version", list(xsd.SCHEMA_FILES))
def test_download_verifies_and_caches(version: str, cache_home: Path, ddex_site: Site) -> None:
    folder = xsd.schema_dir(version)

    assert folder == cache_home / "stardust-git" / "xsd" / xsd.FOLDERS[version]
    names = sorted(path.name for path in folder.iterdir())
    assert names == sorted(file.name for file in xsd.SCHEMA_FILES[version])
    for name in names:
        assert (folder / name).read_bytes() == (XSD_DIR / xsd.FOLDERS[version] / name).read_bytes()
    expected_paths = {
        file.url.removeprefix("http://ddex.net/xml") for file in xsd.SCHEMA_FILES[version]
    }
    assert set(ddex_site.requests) == expected_paths

    sample = next((SAMPLES / xsd.FOLDERS[version]).glob("*.xml")).read_bytes()
    assert xsd.validate_xml(sample, version) == []
    assert xsd.schema_dir(version) == folder
    assert len(ddex_site.requests) == len(expected_paths)


def test_382_import_location_is_normalised(cache_home: Path, ddex_site: Site) -> None:
    served = (ddex_site.root / "ern" / "382" / "release-notification.xsd").read_bytes()
    assert OFFICIAL_382_IMPORT in served

    cached = (xsd.schema_dir("3.8.2") / "release-notification.xsd").read_bytes()

    assert OFFICIAL_382_IMPORT not in cached
    assert b'schemaLocation="avs.xsd"' in cached
    assert cached == (XSD_DIR / "ern382" / "release-notification.xsd").read_bytes()


def test_base_url_argument_overrides_the_official_location(
    cache_home: Path, ddex_site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(xsd.ENV_BASE_URL)
    folder = xsd.schema_dir("4.2", base_url=ddex_site.base_url + "/")
    assert (folder / "avs20200518.xsd").is_file()
    assert "/ern/42/avs20200518.xsd" in ddex_site.requests


def test_tampered_download_is_refused_and_nothing_cached(cache_home: Path, ddex_site: Site) -> None:
    avs = ddex_site.root / "ern" / "43" / "allowed-value-sets.xsd"
    avs.write_bytes(avs.read_bytes() + b"<!-- tampered -->")

    with pytest.raises(UserError) as raised:
        xsd.schema_dir("4.3")

    message = raised.value.message
    assert f"{ddex_site.base_url}/ern/43/allowed-value-sets.xsd" in message
    assert "SHA-256" in message
    assert xsd.ENV_DIR in message
    folder = cache_home / "stardust-git" / "xsd" / "ern43"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_missing_file_on_server_is_a_user_error(cache_home: Path, ddex_site: Site) -> None:
    (ddex_site.root / "ern" / "42" / "avs20200518.xsd").unlink()

    with pytest.raises(UserError) as raised:
        xsd.schema_dir("4.2")

    message = raised.value.message
    assert f"{ddex_site.base_url}/ern/42/avs20200518.xsd" in message
    assert "404" in message
    assert xsd.ENV_DIR in message
    assert ddex_site.requests.count("/ern/42/avs20200518.xsd") == 1  # a 404 is not retried


def test_a_server_error_is_retried(cache_home: Path, ddex_site: Site) -> None:
    ddex_site.fail_once.add("/ern/43/release-notification.xsd")

    folder = xsd.schema_dir("4.3")

    assert ddex_site.requests.count("/ern/43/release-notification.xsd") == 2
    assert (folder / "release-notification.xsd").is_file()


def test_a_corrupted_cache_file_is_downloaded_again_by_a_new_process(
    cache_home: Path, ddex_site: Site
) -> None:
    cached = xsd.schema_dir("4.3") / "allowed-value-sets.xsd"
    cached.write_bytes(b"<corrupted/>")
    ddex_site.requests.clear()

    script = "from stardust_git import xsd; print(xsd.get_schema('4.3') is not None)"
    result = subprocess.run(
        [sys.executable, "-c", script], env=dict(os.environ), capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert ddex_site.requests == ["/ern/43/allowed-value-sets.xsd"]
    assert cached.read_bytes() == (XSD_DIR / "ern43" / "allowed-value-sets.xsd").read_bytes()


# ---------------------------------------------------------------------------------------------
# Safe parsing


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol0 "lol">\n'
    + b"".join(
        b' <!ENTITY lol%d "%s">\n' % (level, b"&lol%d;" % (level - 1) * 10)
        for level in range(1, 10)
    )
    + b"]>\n<lolz>&lol9;</lolz>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?>\n<!DOCTYPE ack [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
    b"<ack>&secret;</ack>"
)


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["bomb", "xxe"])
def test_parse_untrusted_refuses_doctype_quickly(document: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(UserError, match="DOCTYPE"):
        xsd.parse_untrusted(document)
    assert time.perf_counter() - started < 0.5


def test_parse_untrusted_keeps_line_numbers() -> None:
    root = xsd.parse_untrusted(ALBUM_43.read_bytes())
    assert root.find("MessageHeader").sourceline == 6


def test_parse_untrusted_reports_undeclared_entities() -> None:
    with pytest.raises(UserError, match="not well-formed") as raised:
        xsd.parse_untrusted(b"<ack>\n&secret;</ack>")
    assert raised.value.line == 2


# ---------------------------------------------------------------------------------------------
# Measurements (printed, not asserted)


def test_print_compile_and_validation_times(capsys: pytest.CaptureFixture[str]) -> None:
    lines = []
    for version, folder in xsd.FOLDERS.items():
        started = time.perf_counter()
        xsd.compile_schema(XSD_DIR / folder)
        lines.append(f"compile {version}: {(time.perf_counter() - started) * 1000:.1f} ms")

    data = ALBUM_43.read_bytes()
    assert xsd.validate_xml(data, "4.3") == []
    runs = []
    for _ in range(30):
        started = time.perf_counter()
        xsd.validate_xml(data, "4.3")
        runs.append(time.perf_counter() - started)
    median_ms = statistics.median(runs) * 1000
    lines.append(f"parse+validate 4.3 audio-album ({len(data)} B): {median_ms:.2f} ms median")
    schema, root = xsd.get_schema("4.3"), etree.fromstring(data)
    runs = []
    for _ in range(30):
        started = time.perf_counter()
        schema.validate(root)
        runs.append(time.perf_counter() - started)
    lines.append(f"validate only (parsed tree): {statistics.median(runs) * 1000:.2f} ms median")

    with capsys.disabled():
        print("\n" + "\n".join(lines))


def test_xsd_install_fills_the_cache_from_a_copy_and_refuses_an_altered_file(
    tmp_path: Path,
) -> None:
    """`stardust-git xsd install --from DIR` readies an offline machine: deliver then validates
    from the cache, with no STARDUST_XSD_DIR and no network."""
    import hashlib
    import os
    import shutil
    import subprocess

    from stardust_git import xsd as product_xsd

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "STARDUST_XSD_DIR": ""}
    env["STARDUST_XSD_BASE_URL"] = "http://127.0.0.1:9/unreachable/"
    done = subprocess.run(
        ["stardust-git", "xsd", "install", "--from", str(XSD_DIR)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for version, files in product_xsd.SCHEMA_FILES.items():
        folder = tmp_path / "cache" / "stardust-git" / "xsd" / product_xsd.FOLDERS[version]
        assert f"verified {folder}" in done.stdout
        for file in files:
            assert hashlib.sha256((folder / file.name).read_bytes()).hexdigest() == file.sha256

    altered = tmp_path / "altered"
    shutil.copytree(XSD_DIR, altered)
    (altered / "ern43" / "release-notification.xsd").write_bytes(b"<xs:schema/>")
    env["XDG_CACHE_HOME"] = str(tmp_path / "other-cache")
    refused = subprocess.run(
        ["stardust-git", "xsd", "install", "--from", str(altered)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert refused.returncode == 1
    assert "release-notification.xsd is not the official DDEX XSD" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "other-cache" / "stardust-git" / "xsd" / "ern43").exists()
