"""Reading an ERN message safely and in bounded memory: one top-level item at a time.

The parser loads no DTD, expands no entity and opens no network connection; a message that
declares a DOCTYPE is refused outright (an internal subset is how XXE and entity bombs start).
The file size and the element depth are bounded. Items are the children of the message's
``*List`` elements (a SoundRecording, a Release, a ReleaseDeal ...) and the message's other
top-level elements (MessageHeader, UpdateIndicator ...): each is complete when it is handed over
and cleared once the caller is done with it, so a 100 MB batch never lives in memory as a tree.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from stardust_git.errors import Diagnostic, UserError

MAX_MESSAGE_BYTES = int(os.environ.get("STARDUST_IMPORT_MAX_BYTES", 2 * 1024**3))
"""The largest message read (2 GiB unless STARDUST_IMPORT_MAX_BYTES says otherwise)."""
PROLOG_BYTES = 64 * 1024
"""How far the prolog is scanned for a DOCTYPE before parsing (the parser checks again)."""
MAX_DEPTH = 48
"""The deepest element nesting accepted; ERN messages nest about 10 deep."""

ERN_VERSIONS = {
    "http://ddex.net/xml/ern/382": "3.8.2",
    "http://ddex.net/xml/ern/42": "4.2",
    "http://ddex.net/xml/ern/43": "4.3",
}


@dataclass
class Item:
    """One top-level piece of a message, complete, with where it sits."""

    list_name: str
    """The ``*List`` element it belongs to (``ResourceList``), or "" for a direct child of the
    message (``MessageHeader``)."""
    element: etree._Element
    xpath: str
    """``/NewReleaseMessage/ResourceList/SoundRecording[3]``: local names, positions counted
    per tag among its siblings."""

    @property
    def tag(self) -> str:
        return local_name(self.element)

    @property
    def line(self) -> int:
        return self.element.sourceline or 0


@dataclass
class Message:
    """A message being read: its version and kind, then its items (see :func:`open_message`)."""

    path: Path
    shown: str
    version: str
    kind: str
    """The root's local name: NewReleaseMessage, PurgeReleaseMessage ..."""
    items: Iterator[Item] = field(repr=False, default=iter(()))


def local_name(element: etree._Element) -> str:
    """The tag without its namespace."""
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def input_error(shown: str, message: str, line: int = 0, col: int = 0) -> UserError:
    """A located error about an input file."""
    return UserError(f"cannot import {shown}", [Diagnostic(shown, line, col, "", message)])


def open_message(path: Path, shown: str) -> Message:
    """The message at ``path``: version detected from the root's namespace, items to iterate.

    Raises a located :class:`UserError` for a file too big, malformed XML, a DOCTYPE, nesting
    deeper than :data:`MAX_DEPTH`, or a root that is not an ERN 3.8.2/4.2/4.3 message.
    """
    size = path.stat().st_size
    if size > MAX_MESSAGE_BYTES:
        raise input_error(shown, f"{size} bytes: larger than the {MAX_MESSAGE_BYTES} bytes read")
    _refuse_doctype_in_prolog(path, shown)
    ends = _ends(path, shown)
    first = next(ends, None)
    if first is None:
        raise input_error(shown, "no XML element found")
    root = first.getroottree().getroot()
    _refuse_doctype(root, shown)
    version, kind = _version_and_kind(root, shown)
    return Message(path, shown, version, kind, _items(itertools.chain([first], ends), root, shown))


def _parser_events(path: Path) -> etree.iterparse:
    return etree.iterparse(
        str(path),
        events=("end",),
        load_dtd=False,
        dtd_validation=False,
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _ends(path: Path, shown: str) -> Iterator[etree._Element]:
    """Every element as it ends (children before their parent); parse errors located.

    Only end events reach Python (half the events of a start/end loop); the nesting bound is
    checked per item (:func:`_refuse_deep`), in libxml2, not per element here.
    """
    try:
        for _, element in _parser_events(path):
            yield element
    except etree.XMLSyntaxError as exc:
        line, col = exc.position if exc.position else (exc.lineno or 0, 0)
        raise input_error(shown, f"not well-formed XML: {exc.msg}", line, col) from None


def _refuse_doctype_in_prolog(path: Path, shown: str) -> None:
    """Refuse a DOCTYPE before the parser sees it: libxml2 would otherwise report an entity
    bomb as its own syntax error (amplification limit) and the reason would be lost."""
    with path.open("rb") as stream:
        head = stream.read(PROLOG_BYTES)
    position = head.find(b"<")
    while 0 <= position < len(head):
        if head.startswith(b"<!DOCTYPE", position):
            raise _doctype_error(shown, head.count(b"\n", 0, position) + 1)
        ends = {b"<?": b"?>", b"<!--": b"-->"}
        end = next((e for s, e in ends.items() if head.startswith(s, position)), None)
        if end is None:
            return
        close = head.find(end, position)
        position = head.find(b"<", close) if close >= 0 else -1


def _doctype_error(shown: str, line: int) -> UserError:
    return input_error(
        shown,
        "the message declares a DOCTYPE: DTDs and entities are refused (they can read local"
        " files or expand without bound); ERN messages never need one",
        line,
    )


def _refuse_doctype(root: etree._Element, shown: str) -> None:
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _doctype_error(shown, 1)


def _version_and_kind(root: etree._Element, shown: str) -> tuple[str, str]:
    namespace = etree.QName(root).namespace or ""
    version = ERN_VERSIONS.get(namespace)
    if version is None:
        known = ", ".join(f"{v} ({ns})" for ns, v in ERN_VERSIONS.items())
        found = f"namespace '{namespace}'" if namespace else "no namespace"
        raise input_error(
            shown,
            f"<{local_name(root)}> in {found} is not an ERN message; expected one of {known}",
            root.sourceline or 0,
        )
    return version, local_name(root)


def _items(elements: Iterator[etree._Element], root: etree._Element, shown: str) -> Iterator[Item]:
    """The items, each as its element ends: a child of the root, or of a ``*List`` child of it."""
    root_path = "/" + local_name(root)
    positions: dict[tuple[str, str], int] = {}
    for element in elements:
        parent = element.getparent()
        if parent is None or (parent is not root and parent.getparent() is not root):
            continue
        in_list = parent is not root
        if in_list and not local_name(parent).endswith("List"):
            continue
        _refuse_deep(element, 3 if in_list else 2, shown)
        if not in_list and local_name(element).endswith("List"):
            _release(element)
            continue
        list_name = local_name(parent) if in_list else ""
        tag = local_name(element)
        position = positions[(list_name, tag)] = positions.get((list_name, tag), 0) + 1
        prefix = f"{root_path}/{list_name}" if list_name else root_path
        yield Item(list_name, element, f"{prefix}/{tag}[{position}]")
        _release(element)


_TOO_DEEP = {
    depth: etree.XPath("(" + "/".join(["*"] * (MAX_DEPTH + 1 - depth)) + ")[1]") for depth in (2, 3)
}
"""Per item depth: the first element below it deeper than :data:`MAX_DEPTH`, found by libxml2."""


def _refuse_deep(element: etree._Element, depth: int, shown: str) -> None:
    """Refuse an item (at ``depth``) with an element nested deeper than :data:`MAX_DEPTH`."""
    found = _TOO_DEEP[depth](element)
    if found:
        line = found[0].sourceline or 0
        raise input_error(shown, f"elements nest deeper than {MAX_DEPTH} levels", line)


def _release(element: etree._Element) -> None:
    """Free what was read: the element's content and the siblings before it."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


class ItemReader:
    """Reads values out of one item and remembers which elements were read.

    :meth:`unread` then lists, as XPaths, every element whose content nothing read: what the
    shop was told that the release file will not say.
    """

    def __init__(self, item: Item) -> None:
        self.item = item
        self._read: set[etree._Element] = set()

    def find(self, path: str, base: etree._Element | None = None) -> etree._Element | None:
        """The first element at ``path`` below ``base`` (the item), marked as read (itself, not
        what it holds: read its children with :meth:`text` or mark them)."""
        found = (self.item.element if base is None else base).find(path)
        if found is not None:
            self._read.add(found)
        return found

    def findall(self, path: str, base: etree._Element | None = None) -> list[etree._Element]:
        """Every element at ``path``; the caller marks what it uses (:meth:`mark`, :meth:`text`)."""
        return list((self.item.element if base is None else base).iterfind(path))

    def text(self, path: str, base: etree._Element | None = None) -> str | None:
        """The stripped text at ``path`` (None when absent or empty), marked as read."""
        found = (self.item.element if base is None else base).find(path)
        if found is None:
            return None
        self.mark(found)
        return (found.text or "").strip() or None

    def mark(self, element: etree._Element) -> None:
        """Count ``element`` and all it holds as read."""
        if len(element):
            self._read.update(element.iter())
        else:
            self._read.add(element)

    def xpath(self, element: etree._Element) -> str:
        """Where ``element`` sits in the message (positions among same-tag siblings)."""
        steps: list[str] = []
        node = element
        while node is not None and node is not self.item.element:
            parent = node.getparent()
            tag = local_name(node)
            same = [c for c in parent if c.tag == node.tag] if parent is not None else []
            steps.append(f"{tag}[{same.index(node) + 1}]" if len(same) > 1 else tag)
            node = parent
        return "/".join([self.item.xpath, *reversed(steps)])

    def unread(self) -> list[str]:
        """XPaths of the largest elements with nothing read inside them, in document order."""
        touched = self._touched()
        return [self.xpath(element) for element in self._unread_below(self.item.element, touched)]

    def _touched(self) -> set[etree._Element]:
        """Every element read and every element holding one (each ancestor walk stops at one
        already seen, so this is linear in the item's size)."""
        touched: set[etree._Element] = set()
        top = self.item.element
        for element in self._read:
            node = element
            while node is not None and node is not top and node not in touched:
                touched.add(node)
                node = node.getparent()
        return touched

    def _unread_below(
        self, element: etree._Element, touched: set[etree._Element]
    ) -> Iterator[etree._Element]:
        for child in element:
            if not isinstance(child.tag, str):
                continue
            if child not in touched:
                yield child
            elif child not in self._read or child.find("*") is not None:
                yield from self._unread_below(child, touched)
