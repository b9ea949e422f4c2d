"""The DDEX ERN XSDs: provisioning, compiling, validating, and safe parsing of XML we read back.

The official XSDs are downloaded once into a user cache (``$XDG_CACHE_HOME/stardust-git/xsd``),
each file checked against a pinned SHA-256, or read from ``STARDUST_XSD_DIR`` (a folder with
``ern382/ ern42/ ern43/`` sub-folders) for offline use. Schemas are compiled with lxml from the
local files only: imports resolve inside the schema folder and nothing is fetched while compiling.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from lxml import etree

from stardust_git.errors import UserError
from stardust_git.fileio import cache_folder, write_atomic

ENV_DIR = "STARDUST_XSD_DIR"
ENV_BASE_URL = "STARDUST_XSD_BASE_URL"
OFFICIAL_BASE_URL = "http://ddex.net/xml/"
MAIN_FILE = "release-notification.xsd"
DOWNLOAD_TIMEOUT = 30.0
DOWNLOAD_ATTEMPTS = 3
MAX_DOWNLOAD_BYTES = 32 * 1024 * 1024


class SchemaFile(NamedTuple):
    """One XSD file of a version: its name in the schema folder, where DDEX publishes it, and the
    SHA-256 of the bytes we keep."""

    name: str
    url: str
    sha256: str


SCHEMA_FILES: dict[str, list[SchemaFile]] = {
    "3.8.2": [
        # DDEX publishes this file importing the AVS by absolute URL
        # (schemaLocation="http://ddex.net/xml/avs/avs.xsd"). After download we rewrite that one
        # attribute to the sibling "avs.xsd" (see _NORMALISE) so the schema compiles offline; the
        # pin is the SHA-256 of the rewritten bytes, which is the only difference from the original.
        SchemaFile(
            MAIN_FILE,
            "http://ddex.net/xml/ern/382/release-notification.xsd",
            "698baf0ba714dd07992b7369d096d0565795f7afccfa1d0d060dc0602fe023e9",
        ),
        # The 2020-01-08 AVS (namespace http://ddex.net/xml/avs/avs). Its header carries no version;
        # its content is the file DDEX publishes beside ERN 3.8.3 under the dated, immutable name
        # avs_20200108.xsd, whereas avs/avs.xsd is an undated name whose content may change.
        SchemaFile(
            "avs.xsd",
            "http://ddex.net/xml/ern/383/avs_20200108.xsd",
            "8eb563994025a6e32375a4ae2bc003baa73873967c9f9ae1bb30d0c4a36753b2",
        ),
    ],
    "4.2": [
        SchemaFile(
            MAIN_FILE,
            "http://ddex.net/xml/ern/42/release-notification.xsd",
            "1c535db929eb3809e7dd59d12be5f36b1281a8840f1e87e4cd391b00968bf2c5",
        ),
        SchemaFile(
            "avs20200518.xsd",
            "http://ddex.net/xml/ern/42/avs20200518.xsd",
            "5e6a6e3641cb7f7491d7f0a1802a2f83d37f66c81674042279105b38c65efd88",
        ),
    ],
    "4.3": [
        SchemaFile(
            MAIN_FILE,
            "http://ddex.net/xml/ern/43/release-notification.xsd",
            "bb06f41a844d86dcc9ce06abf827e58594b5f153afdf7c72e0108ef61e7ce7a3",
        ),
        SchemaFile(
            "allowed-value-sets.xsd",
            "http://ddex.net/xml/ern/43/allowed-value-sets.xsd",
            "acde387be0fb0b787c2e886349b2e6d2b78f8c3745d6f99998dd93c975ee93d1",
        ),
    ],
}

# Byte rewrites applied to a downloaded file before its hash is checked, keyed by official URL.
_NORMALISE: dict[str, tuple[bytes, bytes]] = {
    "http://ddex.net/xml/ern/382/release-notification.xsd": (
        b'schemaLocation="http://ddex.net/xml/avs/avs.xsd"',
        b'schemaLocation="avs.xsd"',
    ),
}

FOLDERS = {"3.8.2": "ern382", "4.2": "ern42", "4.3": "ern43"}
_VERSION_BY_NAMESPACE = {
    "http://ddex.net/xml/ern/382": "3.8.2",
    "http://ddex.net/xml/ern/42": "4.2",
    "http://ddex.net/xml/ern/43": "4.3",
}
_OFFLINE_HINT = (
    f"To work offline, set {ENV_DIR} to a folder with ern382/ ern42/ ern43/ sub-folders "
    "holding the official DDEX XSDs."
)

_lock = threading.RLock()
_verified_dirs: set[Path] = set()
_schemas: dict[tuple[str, Path, tuple[tuple[int, int], ...]], etree.XMLSchema] = {}
# An XMLSchema keeps its error log on the object, so validations must not overlap.
_validate_lock = threading.Lock()


@dataclass(frozen=True)
class XsdProblem:
    """One XSD validation error: the line, a readable path of the element, and what is wrong."""

    line: int
    xpath: str
    message: str

    def format(self) -> str:
        return f"line {self.line}: {self.xpath}: {self.message}"


class XmlRejected(UserError):
    """XML that we refuse to read: not well-formed, or carrying a DOCTYPE."""

    def __init__(self, message: str, line: int = 0) -> None:
        super().__init__(message)
        self.line = line


# ---------------------------------------------------------------------------------------------
# Provisioning


def schema_dir(version: str, *, base_url: str | None = None) -> Path:
    """The folder holding the XSD files of ``version``, downloading them into the cache if needed.

    ``base_url`` (or ``STARDUST_XSD_BASE_URL``) replaces ``http://ddex.net/xml/`` in the official
    URLs, for mirrors and tests.
    """
    files = _files_of(version)
    directory = _schema_folder(version)
    if os.environ.get(ENV_DIR):
        with _lock:
            if directory not in _verified_dirs:
                _checked_local_dir(directory, files)
                _verified_dirs.add(directory)
        return directory
    with _lock:
        if directory not in _verified_dirs:
            _provision(directory, files, base_url or os.environ.get(ENV_BASE_URL))
            _verified_dirs.add(directory)
    return directory


def _schema_folder(version: str) -> Path:
    """Where the XSDs of ``version`` are read from: ``STARDUST_XSD_DIR`` or the cache."""
    local = os.environ.get(ENV_DIR)
    return (Path(local).expanduser() if local else cache_root()) / FOLDERS[version]


def install(source: Path | None = None, *, base_url: str | None = None) -> list[Path]:
    """Put every supported version's XSDs into the cache, ahead of a delivery: copied from
    ``source`` (a folder with ern382/ ern42/ ern43/ sub-folders) or downloaded, each file
    checked against its pinned SHA-256 before it is written. Returns the folders filled."""
    filled = []
    for version, files in SCHEMA_FILES.items():
        directory = cache_root() / FOLDERS[version]
        if source is None:
            _provision(directory, files, base_url or os.environ.get(ENV_BASE_URL))
        else:
            _copy_verified(source / FOLDERS[version], directory, files)
        filled.append(directory)
    return filled


def _copy_verified(source: Path, directory: Path, files: list[SchemaFile]) -> None:
    copies = [(file, _read_pinned(source / file.name, file.sha256)) for file in files]
    for file, data in copies:
        write_atomic(directory / file.name, data)


def _read_pinned(path: Path, sha256: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise UserError(f"{path} is not the official DDEX XSD (its SHA-256 differs from the pin)")
    return data


def cache_root() -> Path:
    """Where downloaded XSDs are kept: ``$XDG_CACHE_HOME`` (or ``~/.cache``)/stardust-git/xsd."""
    return cache_folder("xsd")


def _files_of(version: str) -> list[SchemaFile]:
    if version not in SCHEMA_FILES:
        supported = ", ".join(SCHEMA_FILES)
        raise UserError(f"unsupported ERN version {version!r} (supported: {supported})")
    return SCHEMA_FILES[version]


def _checked_local_dir(directory: Path, files: list[SchemaFile]) -> Path:
    missing = [file.name for file in files if not (directory / file.name).is_file()]
    if missing:
        raise UserError(f"{ENV_DIR}: {directory} lacks {', '.join(missing)}")
    return directory


def _provision(directory: Path, files: list[SchemaFile], base_url: str | None) -> None:
    """Download every missing or altered file, verify all, and only then move them into place."""
    wanted = [file for file in files if not _has_pinned_file(directory / file.name, file.sha256)]
    fetched = [(file, _fetch_verified(file, base_url)) for file in wanted]
    for file, data in fetched:
        write_atomic(directory / file.name, data)


def _has_pinned_file(path: Path, sha256: str) -> bool:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    except FileNotFoundError:
        return False


def _fetch_verified(file: SchemaFile, base_url: str | None) -> bytes:
    url = _source_url(file.url, base_url)
    data = _download(url)
    old, new = _NORMALISE.get(file.url, (b"", b""))
    if old:
        data = data.replace(old, new)
    digest = hashlib.sha256(data).hexdigest()
    if digest != file.sha256:
        raise UserError(
            f"the DDEX XSD downloaded from {url} does not match its pinned SHA-256 "
            f"(expected {file.sha256}, got {digest}); refusing to use it. {_OFFLINE_HINT}"
        )
    return data


def _source_url(official_url: str, base_url: str | None) -> str:
    if not base_url:
        return official_url
    return base_url.rstrip("/") + "/" + official_url.removeprefix(OFFICIAL_BASE_URL)


def _download(url: str) -> bytes:
    # Only `xsd install` and a first run without the XSDs download: urllib and tenacity load here.
    from http.client import HTTPException

    from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

    retrying = Retrying(
        stop=stop_after_attempt(DOWNLOAD_ATTEMPTS),
        wait=wait_exponential(multiplier=0.5, max=4),
        retry=retry_if_exception(_is_transient),
        reraise=True,
    )
    try:
        return retrying(_read_url, url)
    except (OSError, HTTPException, ValueError) as error:
        raise UserError(
            f"could not download the DDEX XSD {url}: {error}. {_OFFLINE_HINT}"
        ) from error


def _read_url(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
        data = response.read(MAX_DOWNLOAD_BYTES + 1)
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise ValueError(f"larger than {MAX_DOWNLOAD_BYTES} bytes")
    return data


def _is_transient(error: BaseException) -> bool:
    import urllib.error
    from http.client import HTTPException

    if isinstance(error, urllib.error.HTTPError):
        return error.code >= 500 or error.code == 429
    return isinstance(error, OSError | HTTPException)


# ---------------------------------------------------------------------------------------------
# Compiling and validating


def get_schema(version: str) -> etree.XMLSchema:
    """The compiled XSD of ``version``, compiled once per process and schema folder.

    Validate through :func:`validate_xml`: an XMLSchema keeps its error log on itself, so two
    threads validating with the same object at once would mix their errors.
    """
    directory = schema_dir(version).resolve()
    key = _schema_key(version, directory)
    with _lock:
        if key not in _schemas:
            _schemas[key] = compile_schema(directory)
        return _schemas[key]


def _schema_key(version: str, directory: Path) -> tuple[str, Path, tuple[tuple[int, int], ...]]:
    """The compiled schema's key: the version, its resolved folder and the files' stamps."""
    return version, directory, _stamps(directory, version)


def _stamps(directory: Path, version: str) -> tuple[tuple[int, int], ...]:
    """Size and modification time of each file: a schema compiled before a file changed (in a
    long-lived process: the warm validate server) is not used after."""
    stamps = []
    for file in _files_of(version):
        try:
            found = (directory / file.name).stat()
        except OSError:
            return ()
        stamps.append((found.st_size, found.st_mtime_ns))
    return tuple(stamps)


def compile_ahead() -> None:
    """Compile every version whose XSDs are already on this machine (``STARDUST_XSD_DIR`` or the
    cache; never downloaded here), for the processes forked after: the warm validate server."""
    for version in FOLDERS:
        directory = _schema_folder(version).resolve()
        key = _schema_key(version, directory)
        if key[2]:  # every file is there
            with contextlib.suppress(UserError), _lock:
                _schemas[key] = compile_schema(directory)


def compile_schema(directory: Path) -> etree.XMLSchema:
    """Compile ``directory/release-notification.xsd`` (uncached), resolving imports only there."""
    resolver = _LocalOnlyResolver(directory)
    parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
    parser.resolvers.add(resolver)
    try:
        return etree.XMLSchema(etree.parse(str(directory / MAIN_FILE), parser))
    except (etree.XMLSyntaxError, etree.XMLSchemaParseError, OSError) as error:
        refused = f" (refused to fetch: {', '.join(resolver.refused)})" if resolver.refused else ""
        raise UserError(f"cannot compile the DDEX XSD in {directory}: {error}{refused}") from error


class _LocalOnlyResolver(etree.Resolver):
    """Serves files from the schema folder and refuses any other location (URLs, other folders)."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self._directory = directory.resolve()
        self.refused: list[str] = []

    def resolve(self, system_url: str | None, public_id: str | None, context: object) -> object:
        candidate = self._local_path(system_url or "")
        if candidate is None:
            self.refused.append(system_url or "")
            raise PermissionError(f"not in the schema folder: {system_url}")
        return self.resolve_filename(str(candidate), context)

    def _local_path(self, system_url: str) -> Path | None:
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+:", system_url):  # any URL scheme: never fetched
            return None
        candidate = (self._directory / system_url).resolve()
        return candidate if candidate.parent == self._directory else None


def validate_xml(xml: bytes | etree._Element, version: str) -> list[XsdProblem]:
    """Validate a message against the ERN ``version`` XSD; an empty list means valid.

    Bytes are parsed with :func:`parse_untrusted`; a document that is not well-formed or carries a
    DOCTYPE comes back as a single problem.
    """
    schema = get_schema(version)
    try:
        root = parse_untrusted(xml) if isinstance(xml, bytes) else xml
    except XmlRejected as error:
        return [XsdProblem(error.line, "", error.message)]
    with _validate_lock:
        schema.validate(root)
        entries = list(schema.error_log)
    tree = root.getroottree()
    return [
        XsdProblem(entry.line, _readable_path(tree, entry.path), _readable_message(entry.message))
        for entry in entries
    ]


def version_of(xml: bytes | etree._Element) -> str | None:
    """The ERN version ("3.8.2", "4.2", "4.3") named by the root element's namespace, if any."""
    root = parse_untrusted(xml) if isinstance(xml, bytes) else xml
    return _VERSION_BY_NAMESPACE.get(etree.QName(root).namespace or "")


def _readable_path(tree: etree._ElementTree, raw_path: str | None) -> str:
    """libxml2's node path with prefixes dropped; elements in a default namespace come as ``*``
    there, so those are looked up in the tree and named."""
    if not raw_path:
        return ""
    try:
        found = tree.xpath(raw_path, namespaces=_prefixes(tree))
    except etree.XPathError:
        found = []
    if len(found) == 1 and isinstance(found[0], etree._Element):
        return _path_of(found[0])
    return re.sub(r"(?<=/)[\w.-]+:", "", raw_path)


def _prefixes(tree: etree._ElementTree) -> dict[str, str]:
    prefixes: dict[str, str] = {}
    for element in tree.iter(tag=etree.Element):
        for prefix, uri in element.nsmap.items():
            if prefix:
                prefixes.setdefault(prefix, uri)
    return prefixes


def _path_of(element: etree._Element) -> str:
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        steps.append(_step(node))
        node = node.getparent()
    return "/" + "/".join(reversed(steps))


def _step(element: etree._Element) -> str:
    name = etree.QName(element).localname
    parent = element.getparent()
    if parent is None:
        return name
    namesakes = [sibling for sibling in parent if sibling.tag == element.tag]
    if len(namesakes) == 1:
        return name
    return f"{name}[{namesakes.index(element) + 1}]"


_ELEMENT_PREFIX = re.compile(
    r"^Element '(?:\{(?P<ns>[^}]*)\})?(?P<name>[^']*)'(?:, attribute '(?P<attr>[^']*)')?: "
)


def _readable_message(message: str) -> str:
    """Drop libxml2's "Element '{ns}X': " lead-in (the path names the element) but keep the
    attribute it is about, and say so when the element is in a namespace DDEX does not expect."""
    match = _ELEMENT_PREFIX.match(message)
    if match is None:
        return message
    rest = re.sub(r"\{[^}]*\}", "", message[match.end() :])
    if match["attr"] and f"'{match['attr']}'" not in rest:
        rest = f"attribute '{match['attr']}': {rest}"
    if match["ns"] and "not expected" in rest:
        rest = f"{match['name']} is in namespace {match['ns']}, where DDEX wants none: {rest}"
    return rest


# ---------------------------------------------------------------------------------------------
# Safe parsing


class _DoctypeFound(Exception):
    pass


class _RootReached(Exception):
    pass


class _PrologProbe:
    """A parser target that stops at the root element, raising if a DOCTYPE came before it."""

    def doctype(self, name: str, public_id: str | None, system_url: str | None) -> None:
        raise _DoctypeFound(name)

    def start(self, tag: str, attrib: object, nsmap: object = None) -> None:
        raise _RootReached

    def end(self, tag: str) -> None:
        pass

    def data(self, text: str) -> None:
        pass

    def close(self) -> None:
        return None


def _safe_parser(target: object | None = None) -> etree.XMLParser:
    return etree.XMLParser(
        target=target,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
    )


def parse_untrusted(data: bytes) -> etree._Element:
    """Parse XML from outside (ACKs, imports): no DTD, no entities, no network, size limits on.

    A document with a DOCTYPE is refused outright, before its internal subset is read, so entity
    bombs (billion laughs) and external entities (XXE) never get a chance.
    """
    try:
        etree.fromstring(data, _safe_parser(_PrologProbe()))
    except _DoctypeFound as found:
        raise XmlRejected(
            f"XML with a DOCTYPE ({found}) is refused: DTDs and entity declarations are not allowed"
        ) from None
    except (_RootReached, etree.XMLSyntaxError):
        pass  # the full parse below reports syntax errors with their line
    try:
        return etree.fromstring(data, _safe_parser())
    except etree.XMLSyntaxError as error:
        raise XmlRejected(f"not well-formed XML: {error.msg}", error.lineno or 0) from error
