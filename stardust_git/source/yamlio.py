"""Safe YAML loading that remembers where every value came from.

Most files are read by libyaml's own document loader (libyaml_values.py), without a Python object
per node. The rest, and every file with something to report, go through PyYAML's C composer: we
construct plain Python values from its node graph ourselves so that we can record the line and
column of every key and item, refuse duplicate keys, and stop alias bombs after a bounded number
of nodes instead of expanding them. Scalars follow the rules of scalars.py (YAML 1.2's booleans,
numbers with a leading zero kept as text).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stardust_git.errors import Diagnostic
from stardust_git.fileio import MAX_YAML_BYTES, UnreadableFile, read_regular, too_large
from stardust_git.source.libyaml_values import UNVOUCHED, libyaml_values
from stardust_git.source.scalars import NUMBER_START as _NUMBER_START
from stardust_git.source.scalars import SPECIAL_WORDS as _SPECIAL_WORDS
from stardust_git.source.scalars import resolve_plain as _resolve_plain

try:  # the C parser and composer alone: no constructor or resolver to set up for each file
    from yaml.cyaml import CParser as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

Loc = tuple[str | int, ...]

MAX_NODES = 200_000
MAX_DEPTH = 64
"""Collections nested deeper than this are refused (a release needs about six levels)."""
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN_TAG = "tag:stardust-git,2024:plain"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_SCALAR = yaml.ScalarNode
_SEQUENCE = yaml.SequenceNode


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Skips PyYAML's YAML 1.1 implicit resolution: _resolve_plain does ours, once, later."""

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR_TAG
            return _MERGE_TAG if value == "<<" else _PLAIN_TAG
        return _SEQ_TAG if kind is yaml.SequenceNode else _MAP_TAG

    # No path resolvers are registered: the composer's two calls per node need do nothing.
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


class YamlDocument:
    """A parsed YAML file: its data and the position of every key and item in it.

    Positions are found when first asked for, by parsing ``text`` again with the recording
    builder: a valid file (nearly every one) never pays for them. A document made without
    ``text`` or ``positions`` (a model loaded elsewhere) has none.
    """

    def __init__(
        self,
        path: str,
        data: Any,
        positions: dict[Loc, tuple[int, int]] | None = None,
        text: str | None = None,
    ) -> None:
        self.path = path
        self.data = data
        self._positions = positions
        self._text = text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"

    @property
    def positions(self) -> dict[Loc, tuple[int, int]]:
        """Line and column (1-based) of every key and item, by location."""
        if self._positions is None:
            self._positions = self._find_positions()
            self._text = None
        return self._positions

    def _find_positions(self) -> dict[Loc, tuple[int, int]]:
        if self._text is None:
            return {}
        return _recorded(_composed(self._text, self.path), self.path).positions

    def locate(self, loc: Loc) -> tuple[int, int]:
        """Line and column (1-based) of the deepest known prefix of ``loc``."""
        positions = self.positions
        for end in range(len(loc), -1, -1):
            position = positions.get(tuple(loc[:end]))
            if position:
                return position
        return (1, 1)

    def diagnostic(
        self, loc: Loc, message: str, severity: str = "error", rule: str = ""
    ) -> Diagnostic:
        line, col = self.locate(loc)
        return Diagnostic(self.path, line, col, format_loc(loc), message, severity, rule)  # type: ignore[arg-type]


class YamlLoadError(Exception):
    """The file is not usable YAML; carries the diagnostics explaining why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(diagnostics[0].format() if diagnostics else "invalid YAML")
        self.diagnostics = diagnostics


def format_loc(loc: Loc) -> str:
    """``("tracks", 0, "isrc")`` -> ``tracks[0].isrc``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def load_yaml_file(path: Path, display_path: str | None = None) -> YamlDocument:
    """Read and parse ``path``; raise :class:`YamlLoadError` with positioned diagnostics.

    Only a regular file of at most :data:`MAX_YAML_BYTES` is read (a FIFO or device is refused
    unopened, an oversized file before reading it).
    """
    shown = display_path or str(path)
    try:
        data = read_regular(path, MAX_YAML_BYTES)
    except UnreadableFile as exc:
        raise YamlLoadError([Diagnostic(shown, 1, 1, "", exc.reason)]) from None
    except OSError as exc:
        raise YamlLoadError(
            [Diagnostic(shown, 1, 1, "", f"cannot read file: {exc.strerror}")]
        ) from None
    return load_yaml_bytes(data, shown)


def load_yaml_bytes(data: bytes, shown: str) -> YamlDocument:
    """Parse a file's bytes: UTF-8, any newline convention (CRLF and CR read as LF)."""
    if len(data) > MAX_YAML_BYTES:
        raise YamlLoadError([Diagnostic(shown, 1, 1, "", too_large(len(data), MAX_YAML_BYTES))])
    text = decode_utf8(data, shown)
    if "\r" in text:
        return load_yaml_text(text.replace("\r\n", "\n").replace("\r", "\n"), shown)
    return load_yaml_text(text, shown, data)


def decode_utf8(data: bytes, shown: str) -> str:
    """``data`` as text; :class:`YamlLoadError` placing the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise YamlLoadError([_not_utf8(shown, data, exc)]) from None


def _not_utf8(shown: str, data: bytes, error: UnicodeDecodeError) -> Diagnostic:
    """Where the first byte that is not UTF-8 stands, as the line and column an editor shows."""
    line, column = _line_and_column(data[: error.start].decode("utf-8", "replace"))
    byte = data[error.start]
    return Diagnostic(
        shown,
        line,
        column,
        "",
        f"not UTF-8 text: byte 0x{byte:02x} ({error.reason}); save the file as UTF-8",
    )


def _line_and_column(before: str) -> tuple[int, int]:
    """The line and column (1-based) just after ``before``; CR, CRLF and LF each end a line."""
    lines = before.replace("\r\n", "\n").replace("\r", "\n")
    start = lines.rfind("\n") + 1
    return lines.count("\n") + 1, len(lines) - start + 1


def _unacceptable(text: str, display_path: str, error: yaml.reader.ReaderError) -> Diagnostic:
    """A character YAML does not allow (a NUL, other control characters), placed on its line."""
    position = text.find(chr(error.character)) if isinstance(error.character, int) else -1
    line, column = _line_and_column(text[: max(position, 0)])
    name = f"U+{error.character:04X}" if isinstance(error.character, int) else "a character"
    message = f"{name} is not allowed in YAML ({error.reason}); remove it"
    return Diagnostic(display_path, line, column, "", message)


def load_yaml_text(text: str, display_path: str, encoded: bytes | None = None) -> YamlDocument:
    """Parse one YAML document from ``text`` (its positions are found later, if asked for);
    ``encoded``, if given, is ``text`` in UTF-8 (saves encoding it again)."""
    data = libyaml_values(text, encoded)
    if data is UNVOUCHED:
        return pyyaml_document(text, display_path)
    return YamlDocument(display_path, data, text=text)


def pyyaml_document(text: str, display_path: str) -> YamlDocument:
    """:func:`load_yaml_text` by PyYAML alone: the reference, and the path for what libyaml_values
    does not vouch for (it also places every error)."""
    root = _composed(text, display_path)
    try:
        data = _values(root)
    except _Recount:  # something to report: build again, recording where it is
        builder = _recorded(root, display_path)
        return YamlDocument(display_path, builder.data, builder.positions)
    return YamlDocument(display_path, data, text=text)


def _composed(text: str, display_path: str) -> yaml.Node:
    """The node graph of the one document in ``text``."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        if "maximum nesting depth" in str(exc.problem):  # libyaml's own limit (1000)
            where = _deeper_than_limit(text) or (line, col)
            raise YamlLoadError([_too_deep(display_path, *where)]) from None
        message = f"invalid YAML: {exc.problem or exc.context}"
        raise YamlLoadError([Diagnostic(display_path, line, col, "", message)]) from None
    except yaml.reader.ReaderError as exc:
        raise YamlLoadError([_unacceptable(text, display_path, exc)]) from None
    except yaml.YAMLError as exc:
        summary = " ".join(str(exc).split())
        raise YamlLoadError(
            [Diagnostic(display_path, 1, 1, "", f"invalid YAML: {summary}")]
        ) from None
    except RecursionError:  # only without libyaml: the pure-Python composer recurses
        raise YamlLoadError([_too_deep(display_path, 1, 1)]) from None
    if not nodes:
        raise YamlLoadError([Diagnostic(display_path, 1, 1, "", "the file is empty")])
    if len(nodes) > 1:
        line = nodes[1].start_mark.line + 1
        raise YamlLoadError(
            [Diagnostic(display_path, line, 1, "", "only one YAML document per file is allowed")]
        )
    return nodes[0]


def _recorded(root: yaml.Node, display_path: str) -> _Builder:
    """The recording builder run over ``root``; :class:`YamlLoadError` if it found problems."""
    builder = _Builder(display_path)
    builder.data = builder.build(root, (), 1)
    if builder.problems:
        raise YamlLoadError(builder.problems)
    return builder


class _Recount(Exception):
    """The fast build met something to report (or to count exactly): build again, recording."""


def _values(root: yaml.Node) -> Any:
    """The value of ``root`` without positions, the same as :class:`_Builder` makes when the
    document has no problem; :class:`_Recount` at the first sign of one (a duplicate or
    unusable key, a bad merge, too deep, too many nodes), for the recording builder to place."""
    budget = [MAX_NODES - 1]
    value = _value(root, 1, budget)
    if budget[0] < 0:  # the last nodes counted after the last look
        raise _Recount
    return value


def _value(node: yaml.Node, depth: int, budget: list[int]) -> Any:
    kind = type(node)
    if kind is _SCALAR:
        if node.style or node.tag == _STR_TAG:
            return node.value
        return _resolve_plain(node.value)
    children = node.value
    if kind is _SEQUENCE:
        budget[0] -= len(children)
    else:
        budget[0] -= 2 * len(children)  # keys and values
    if depth > MAX_DEPTH or budget[0] < 0:
        raise _Recount
    if kind is _SEQUENCE:
        return [_value(child, depth + 1, budget) for child in children]
    return _mapping_values(children, depth, budget)


def _mapping_values(pairs: list[tuple[yaml.Node, yaml.Node]], depth: int, budget: list[int]) -> Any:
    result: dict[Any, Any] = {}
    merged: dict[Any, Any] | None = None
    for key_node, value_node in pairs:
        if type(key_node) is not _SCALAR:
            raise _Recount
        if key_node.tag == _MERGE_TAG:
            merged = merged or {}
            merged.update(_merged_values(value_node, depth, budget))
            continue
        key = key_node.value
        # Inlined (a call per scalar costs more than the test): most plain scalars are words.
        if not (
            key_node.style
            or key_node.tag == _STR_TAG
            or (key and key[0] not in _NUMBER_START and key not in _SPECIAL_WORDS)
        ):
            key = _resolve_plain(key)
            if not isinstance(key, str | int):
                raise _Recount
        if key in result:
            raise _Recount
        if type(value_node) is _SCALAR:  # most values: no call for them
            text = value_node.value
            if (
                value_node.style
                or value_node.tag == _STR_TAG
                or (text and text[0] not in _NUMBER_START and text not in _SPECIAL_WORDS)
            ):
                result[key] = text
            else:
                result[key] = _resolve_plain(text)
        else:
            result[key] = _value(value_node, depth + 1, budget)
    if merged:
        for key, value in merged.items():
            result.setdefault(key, value)
    return result


def _merged_values(node: yaml.Node, depth: int, budget: list[int]) -> dict[Any, Any]:
    sources = node.value if type(node) is _SEQUENCE else [node]
    budget[0] -= len(sources)  # counted as the recording builder counts them: never fewer
    merged: dict[Any, Any] = {}
    for source in sources:
        value = _value(source, depth + 1, budget)
        if not isinstance(value, dict):
            raise _Recount
        for key, item in value.items():
            merged.setdefault(key, item)
    return merged


class _Builder:
    """Turns a composed node graph into Python values, recording positions."""

    def __init__(self, display_path: str) -> None:
        self.display_path = display_path
        self.positions: dict[Loc, tuple[int, int]] = {}
        self.problems: list[Diagnostic] = []
        self.node_count = 0
        self.saw_alias = False
        self.seen_collections: set[int] = set()
        self.data: Any = None

    def build(self, node: yaml.Node, loc: Loc, depth: int) -> Any:
        """The value of ``node``, a collection ``depth`` levels deep if it is one."""
        self.node_count += 1
        if self.node_count > MAX_NODES:
            self._abort(node)
        # Exact classes (the composer makes no others), scalars first: most nodes are scalars,
        # and a 100,000-release catalog has 17 million of them.
        kind = type(node)
        if kind is yaml.ScalarNode:
            return self._scalar(node)
        if depth > MAX_DEPTH:
            raise YamlLoadError([_too_deep(self.display_path, *_position(node))])
        if id(node) in self.seen_collections:
            self.saw_alias = True
        self.seen_collections.add(id(node))
        if kind is yaml.SequenceNode:
            items = []
            for index, child in enumerate(node.value):
                self.positions[(*loc, index)] = _position(child)
                items.append(self.build(child, (*loc, index), depth + 1))
            return items
        return self._mapping(node, loc, depth)

    def _mapping(self, node: yaml.MappingNode, loc: Loc, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.update(self._merge_source(value_node, loc, depth))
                continue
            key = self.build(key_node, loc, depth + 1)
            if not isinstance(key, str | int):
                self._problem(key_node, "mapping keys must be plain strings")
                continue
            if key in result:
                first_line = self.positions[(*loc, key)][0]
                self._problem(
                    key_node, f"duplicate key '{key}' (first defined on line {first_line})"
                )
                continue
            self.positions[(*loc, key)] = _position(key_node)
            result[key] = self.build(value_node, (*loc, key), depth + 1)
        for key, value in merged.items():
            result.setdefault(key, value)
        return result

    def _merge_source(self, node: yaml.Node, loc: Loc, depth: int) -> dict[Any, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[Any, Any] = {}
        for source in sources:
            value = self.build(source, loc, depth + 1)
            if not isinstance(value, dict):
                self._problem(source, "a merge key (<<) needs a mapping")
                continue
            for key, item in value.items():
                merged.setdefault(key, item)
        return merged

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        # Quoted scalars and anything PyYAML already resolved to a string stay text; the rest is
        # resolved by our stricter rules instead of YAML 1.1's (no yes/no/on/off booleans).
        if node.style or node.tag == _STR_TAG:
            return node.value
        return _resolve_plain(node.value)

    def _problem(self, node: yaml.Node, message: str) -> None:
        line, col = _position(node)
        self.problems.append(Diagnostic(self.display_path, line, col, "", message))

    def _abort(self, node: yaml.Node) -> None:
        line, col = _position(node)
        reason = (
            "aliases expand to more than 200,000 nodes (an alias bomb?)"
            if self.saw_alias
            else "the document has more than 200,000 nodes"
        )
        raise YamlLoadError([Diagnostic(self.display_path, line, col, "", f"refused: {reason}")])


def _too_deep(display_path: str, line: int, col: int) -> Diagnostic:
    return Diagnostic(display_path, line, col, "", f"nesting deeper than {MAX_DEPTH} levels")


def _deeper_than_limit(text: str) -> tuple[int, int] | None:
    """Where the first collection deeper than :data:`MAX_DEPTH` starts, from parser events;
    None when the scanner (which reads ahead in flow style) fails before the parser gets there."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return (event.start_mark.line + 1, event.start_mark.column + 1)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None
    return None


def _position(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)
