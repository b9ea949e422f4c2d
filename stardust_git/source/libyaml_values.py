"""A YAML file's values from libyaml's own document loader, without a Python object per node.

PyYAML's C parser drives libyaml one event at a time and makes a Python node for each (the most
expensive part of validating a catalog). libyaml can also load a whole document in C
(``yaml_parser_load``): we call it through ctypes, copy its node table out in one read and build
the same values as yamlio's fast build (same parser, same scalar rules: scalars.resolve_plain).

The nodes come in document order (a collection before its children) with their child counts, so
the tree is rebuilt from the end with one stack and no read per collection. A plain scalar on one
line is the source text between its marks (libyaml counts marks in characters); other scalars are
read from libyaml's copy. Anything this reader does not vouch for gives :data:`UNVOUCHED`, and the
caller parses with PyYAML as before (which also places every error): a parse error, an empty file
or a second document, a tag or an anchor, a merge key (``<<``), a duplicate or unusable key, a
byte-order mark, more than yamlio.MAX_NODES nodes, deeper than yamlio.MAX_DEPTH, or more than
MAX_FLOW_OPENINGS brackets and braces.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from typing import Any

from stardust_git.source.scalars import NUMBER_START, SPECIAL_WORDS, resolve_plain

UNVOUCHED: Any = object()
"""Returned for a document this reader does not vouch for: parse it with PyYAML."""

MAX_NODES = 200_000  # as yamlio
MAX_DEPTH = 64  # as yamlio
MAX_FLOW_OPENINGS = 2_000
"""Documents with more '[' and '{' (a 300-track release has fewer) go to PyYAML."""

# libyaml's structures (yaml.h, stable since 0.1): the parser and document are only passed back to
# libyaml (buffers larger than they are: 480 and 104 bytes on 64-bit Linux); a node is 12 words:
# type, tag, then data (a scalar: value, length, style; a collection: start, end, top of its
# items, or of its key-value pairs), then the start mark and end mark (index, line, column).
_PARSER_BYTES = 1024
_DOCUMENT_BYTES = 256
_NODE_WORDS = 12
_SCALAR, _SEQUENCE = 1, 2
_PLAIN, _SINGLE_QUOTED, _DOUBLE_QUOTED = 1, 2, 3
_NODES = struct.Struct("@PPP")  # the document's node stack: start, end, top

_ATTENTION = NUMBER_START | frozenset("!&<")
"""A plain scalar starting with one of these may be a number, a date, a tag or anchor, or <<."""


_STR_ONLY = frozenset({str})


class _Unvouched(Exception):
    """Something in the document this reader does not vouch for."""


class _LibYaml:
    """The few libyaml functions the loader needs, with their C signatures."""

    def __init__(self, library: ctypes.CDLL) -> None:
        pointer, size = ctypes.c_void_p, ctypes.c_size_t
        self.initialize = _function(library, "yaml_parser_initialize", [pointer])
        self.set_input = _function(
            library, "yaml_parser_set_input_string", [pointer, ctypes.c_char_p, size]
        )
        self.load = _function(library, "yaml_parser_load", [pointer, pointer])
        self.parser_delete = _function(library, "yaml_parser_delete", [pointer])
        self.document_delete = _function(library, "yaml_document_delete", [pointer])


def _function(library: ctypes.CDLL, name: str, arguments: list[Any]) -> Callable[..., int]:
    function = getattr(library, name)
    function.argtypes = arguments
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


_LIBRARY: list[_LibYaml | None] = []


def _library() -> _LibYaml | None:
    """libyaml, loaded once; None where it is missing (PyYAML parses every file then)."""
    if not _LIBRARY:
        _LIBRARY.append(_loaded_library())
    return _LIBRARY[0]


def _loaded_library() -> _LibYaml | None:
    for name in ("libyaml-0.so.2", "libyaml.so", "libyaml-0.2.dylib", "libyaml.dylib"):
        try:
            library = _LibYaml(ctypes.CDLL(name))
        except (OSError, AttributeError):
            continue
        # the structures are read as laid out on 64-bit Linux: make sure they are
        if _parsed(library, _SELF_CHECK, _SELF_CHECK.encode()) == _SELF_CHECK_VALUE:
            return library
    return None


_SELF_CHECK = 'a: [1, "b", c]\nd: {e: ~}\n'
_SELF_CHECK_VALUE = {"a": [1, "b", "c"], "d": {"e": None}}


def libyaml_values(text: str, encoded: bytes | None = None) -> Any:
    """The values of the one YAML document in ``text`` (``encoded``: the same in UTF-8, if at
    hand), or :data:`UNVOUCHED`."""
    library = _library()
    if library is None or text.startswith("\ufeff") or _flow_heavy(text):
        return UNVOUCHED  # (libyaml's marks do not count a byte-order mark)
    return _parsed(library, text, text.encode() if encoded is None else encoded)


def _flow_heavy(text: str) -> bool:
    """Whether ``text`` may nest flow collections deeper than libyaml parses quickly: the
    system's libyaml may have no nesting limit, and its time grows with the square of the
    depth (PyYAML's own copy refuses more than 1,000 levels)."""
    return text.count("[") + text.count("{") > MAX_FLOW_OPENINGS


def _parsed(library: _LibYaml, text: str, data: bytes) -> Any:
    parser = ctypes.create_string_buffer(_PARSER_BYTES)
    if not library.initialize(parser):
        raise MemoryError
    try:
        library.set_input(parser, data, len(data))
        return _document_values(library, parser, text)
    finally:
        library.parser_delete(parser)


def _document_values(library: _LibYaml, parser: ctypes.Array[ctypes.c_char], text: str) -> Any:
    document = ctypes.create_string_buffer(_DOCUMENT_BYTES)
    if not library.load(parser, document):
        return UNVOUCHED  # a syntax error (libyaml freed the document)
    try:
        nodes = _node_table(document)
        if not nodes or len(nodes) > MAX_NODES * _NODE_WORDS or _more_documents(library, parser):
            return UNVOUCHED
        return _values(nodes, text)
    except _Unvouched:
        return UNVOUCHED
    finally:
        library.document_delete(document)


def _node_table(document: ctypes.Array[ctypes.c_char]) -> memoryview:
    """The document's nodes, copied out of libyaml: 12 machine words each."""
    start, _, top = _NODES.unpack_from(document)
    return memoryview(ctypes.string_at(start, top - start)).cast("q")


def _more_documents(library: _LibYaml, parser: ctypes.Array[ctypes.c_char]) -> bool:
    """Whether anything but the end of the stream follows the first document."""
    document = ctypes.create_string_buffer(_DOCUMENT_BYTES)
    if not library.load(parser, document):
        return True  # a syntax error further on
    start, _, top = _NODES.unpack_from(document)
    library.document_delete(document)
    return top != start


def _values(nodes: memoryview, text: str) -> Any:
    """The value of the root node, built from the last node to the first: a collection's
    children are the values on top of the stack by then (its first child on top).

    An alias is an item naming an earlier node, not a node after its collection, and the start
    mark of an anchored scalar is its value's, not its anchor's: an alias is found by counting.
    With no alias, the collections take exactly the nodes after the first, one each; every alias
    asks for one value more, so some collection finds too few on the stack."""
    stack: list[Any] = []
    push = stack.append
    collections: list[tuple[int, int]] = []
    # fmt: off
    columns = (nodes[-12::-12], nodes[-10::-12], nodes[-9::-12], nodes[-8::-12],
               nodes[-6::-12], nodes[-5::-12], nodes[-3::-12], nodes[-2::-12])
    # fmt: on
    for kind, first, second, third, start, line, end, end_line in zip(*columns, strict=True):
        if kind == _SCALAR:
            # third is the scalar's style; first and second its value and length in libyaml
            if third == _PLAIN and line == end_line:
                value = text[start:end]
                if not value or value[0] in _ATTENTION or value in SPECIAL_WORDS:
                    value = _plain(value)
            else:
                value = _styled(text, start, end, third, line == end_line, first, second)
            push(value)
            continue
        if text[start] in "!&":
            raise _Unvouched  # a tagged or anchored collection
        collections.append((start, end))
        count = (third - first) >> 2  # items are 4-byte ints; a pair is two of them
        if count > len(stack):
            raise _Unvouched  # an alias: an item that is no node of its own (see below)
        children = stack[: -count - 1 : -1] if count else []
        del stack[len(stack) - count :]
        push(children if kind == _SEQUENCE else _mapping(children))
    if len(stack) != 1 or (len(collections) > MAX_DEPTH and _depth(collections) > MAX_DEPTH):
        raise _Unvouched
    return stack[0]


def _plain(text: str) -> Any:
    """A plain scalar that may be more than a word: PyYAML's path takes tags, anchors, merges."""
    if text[:1] in ("!", "&") or text == "<<":
        raise _Unvouched
    return resolve_plain(text)


def _styled(
    text: str, start: int, end: int, style: int, one_line: bool, value: int, length: int
) -> Any:
    """A quoted or block scalar, or a plain one over several lines."""
    if text[start] in "!&":
        raise _Unvouched  # a tagged or anchored scalar
    if one_line and style in (_SINGLE_QUOTED, _DOUBLE_QUOTED):
        inside = text[start + 1 : end - 1]
        if ("'" if style == _SINGLE_QUOTED else "\\") not in inside:
            return inside  # no escapes: the text between the quotes
    written = ctypes.string_at(value, length).decode()
    return _plain(written) if style == _PLAIN else written


def _mapping(children: list[Any]) -> dict[Any, Any]:
    keys = children[0::2]
    if not _STR_ONLY.issuperset(map(type, keys)) and not all(
        isinstance(key, str | int) for key in keys
    ):
        raise _Unvouched  # a null, float, date or collection key: PyYAML's path refuses it
    mapping = dict(zip(keys, children[1::2], strict=True))
    if len(mapping) != len(keys):
        raise _Unvouched  # a duplicate key: PyYAML's path reports both lines
    return mapping


def _depth(collections: list[tuple[int, int]]) -> int:
    """How deep the collections nest, from their spans in the text (``collections`` listed last
    first): in document order, a collection starting before the open one ends is inside it."""
    open_ends: list[int] = []
    deepest = 0
    for start, end in reversed(collections):
        while open_ends and open_ends[-1] <= start:
            open_ends.pop()
        open_ends.append(end)
        deepest = max(deepest, len(open_ends))
    return deepest
