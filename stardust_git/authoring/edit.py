"""Bulk edits of release files that keep comments, key order, flow style and quoting.

Each file goes through ruamel.yaml's round-trip mode: only the values an edit touches are
written anew. An edit is ``FIELD=VALUE`` (set), ``FIELD+=VALUE`` (add to a list, once) or
``FIELD-=VALUE`` (remove from a list); FIELD is a dotted path (``p_line.owner``,
``deals[0].end_date``) and VALUE a YAML scalar or flow value (``[a, b]``, a date, a number).
"""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
from ruamel.yaml.util import load_yaml_guess_indent

from stardust_git.errors import Diagnostic, Diagnostics, UsageError, UserError
from stardust_git.models import Release
from stardust_git.source.catalog import parse_model

Path_ = tuple[str | int, ...]
_ASSIGNMENT = re.compile(r"(?P<field>[A-Za-z_][\w.\[\]-]*?)(?P<op>\+=|-=|=)(?P<value>.*)", re.S)
_STEP = re.compile(r"\.?([A-Za-z_]\w*)|\[(-?\d+)\]")
_NESTED_KEY = re.compile(r"^[A-Za-z_]\w*:[ \t]*(?:#.*)?\n( +)[A-Za-z_]\w*:", re.M)
_QUOTED = (DoubleQuotedScalarString, SingleQuotedScalarString)


@dataclass(frozen=True)
class Edit:
    """One ``--set``: a field path, an operation (``=``, ``+=``, ``-=``) and a value."""

    text: str
    field: Path_
    op: str
    value: Any


@dataclass(frozen=True)
class Where:
    """One ``--where FIELD=VALUE`` filter: the field equals the value, or is a list holding it."""

    text: str
    field: Path_
    value: Any


@dataclass(frozen=True)
class Edited:
    """A file before and after the edits (the same text when nothing changed)."""

    shown: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        """The unified diff of the change."""
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            fromfile=f"a/{self.shown}",
            tofile=f"b/{self.shown}",
        )
        return "".join(lines)


def parse_edit(text: str) -> Edit:
    """``FIELD=VALUE``, ``FIELD+=VALUE`` or ``FIELD-=VALUE`` (a usage error otherwise)."""
    match = _ASSIGNMENT.fullmatch(text)
    if not match:
        raise UsageError(f"--set {text}: expected FIELD=VALUE, FIELD+=VALUE or FIELD-=VALUE")
    field = parse_field(match.group("field"), f"--set {text}")
    return Edit(text, field, match.group("op"), parse_value(match.group("value")))


def parse_where(text: str) -> Where:
    """``FIELD=VALUE`` (a usage error otherwise)."""
    match = _ASSIGNMENT.fullmatch(text)
    if not match or match.group("op") != "=":
        raise UsageError(f"--where {text}: expected FIELD=VALUE")
    field = parse_field(match.group("field"), f"--where {text}")
    return Where(text, field, parse_value(match.group("value")))


def parse_field(text: str, option: str) -> Path_:
    """``deals[0].end_date`` -> ``("deals", 0, "end_date")``."""
    steps: list[str | int] = []
    position = 0
    while position < len(text):
        match = _STEP.match(text, position)
        if not match or (match.group(0).startswith(".") and not steps):
            raise UsageError(f"{option}: '{text}' is not a field path (e.g. deals[0].end_date)")
        name, index = match.groups()
        steps.append(name if name is not None else int(index))
        position = match.end()
    return tuple(steps)


def parse_value(text: str) -> Any:
    """A YAML scalar or flow value; a number written otherwise than Python would print it
    (``0012``, ``1.10``) stays the text it is."""
    try:
        value = _yaml().load(text) if text.strip() else ""
    except YAMLError as error:
        raise UsageError(f"'{text}' is not a YAML value: {error}") from error
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return text.strip() if is_number and str(value) != text.strip() else value


def edit_text(text: str, shown: str, edits: list[Edit], wheres: list[Where]) -> Edited | None:
    """The file with ``edits`` applied; None when a ``--where`` does not hold for it."""
    yaml = _yaml_for(text)
    try:
        data = yaml.load(text.replace("\r\n", "\n"))
    except YAMLError as error:
        raise UserError(f"{shown}: not valid YAML, not edited: {error}") from error
    if not isinstance(data, dict) or not all(_holds(data, where) for where in wheres):
        return None
    for edit in edits:
        try:
            _apply(data, edit)
        except UsageError as error:
            raise UsageError(f"{shown}: --set {edit.text}: {error.message}") from error
    stream = io.StringIO()
    yaml.dump(data, stream)
    after = stream.getvalue()
    return Edited(shown, text, after.replace("\n", "\r\n") if "\r\n" in text else after)


def new_errors(edited: Edited) -> list[Diagnostic]:
    """Errors the edited release has that it did not have before (each located in the edited
    file): a release that was incomplete stays editable, an edit may not break it."""
    before = {(d.field, d.message) for d in _release_errors(edited.before, edited.shown)}
    after = _release_errors(edited.after, edited.shown)
    return [d for d in after if (d.field, d.message) not in before]


def _release_errors(text: str, shown: str) -> list[Diagnostic]:
    diagnostics = Diagnostics()
    parse_model(shown, text.encode("utf-8"), Release, diagnostics)
    return diagnostics.errors


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line that was one line
    return yaml


def _yaml_for(text: str) -> YAML:
    """A round-trip YAML that writes sequences and mappings indented as ``text`` does."""
    yaml = _yaml()
    try:
        _, sequence, offset = load_yaml_guess_indent(text)
    except YAMLError:
        sequence, offset = None, None
    nested = _NESTED_KEY.search(text)
    mapping = len(nested.group(1)) if nested else 2
    yaml.indent(mapping=mapping, sequence=sequence or mapping, offset=offset or 0)
    return yaml


def _holds(data: Any, where: Where) -> bool:
    found, value = _lookup(data, where.field)
    if not found:
        return False
    if isinstance(value, list) and not isinstance(where.value, list):
        return any(_same(item, where.value) for item in value)
    return _same(value, where.value)


def _same(value: Any, expected: Any) -> bool:
    return bool(value == expected or str(value) == str(expected))


def _lookup(data: Any, field: Path_) -> tuple[bool, Any]:
    node = data
    for step in field:
        if not _has(node, step):
            return False, None
        node = node[step]
    return True, node


def _has(node: Any, step: str | int) -> bool:
    if isinstance(step, int):
        return isinstance(node, list) and -len(node) <= step < len(node)
    return isinstance(node, dict) and step in node


def _apply(data: Any, edit: Edit) -> None:
    parent = _parent(data, edit)
    key = edit.field[-1]
    if edit.op == "=":
        _set(parent, key, edit.value)
        return
    current = _child(parent, key)
    if current is None:
        current = _new_list(parent, key)
    if not isinstance(current, list):
        raise UsageError(f"{_dotted(edit.field)} is not a list")
    items = edit.value if isinstance(edit.value, list) else [edit.value]
    for item in items:
        _add_or_remove(current, item, edit.op)


def _add_or_remove(values: list[Any], item: Any, op: str) -> None:
    present = [index for index, value in enumerate(values) if _same(value, item)]
    if op == "+=" and not present:
        values.append(item)
    for index in reversed(present if op == "-=" else []):
        del values[index]


def _parent(data: Any, edit: Edit) -> Any:
    """The mapping or list holding the edited field; missing mappings on the way are made."""
    node = data
    for depth, step in enumerate(edit.field[:-1]):
        child = _child(node, step)
        if child is None and isinstance(step, str) and isinstance(node, dict):
            child = node[step] = {}
        if not isinstance(child, dict | list):
            where = _dotted(edit.field[: depth + 1])
            raise UsageError(f"no {where} to set a field in")
        node = child
    return node


def _child(node: Any, step: str | int) -> Any:
    found, value = _lookup(node, (step,))
    return value if found else None


def _set(parent: Any, key: str | int, value: Any) -> None:
    old = _child(parent, key)
    if isinstance(old, _QUOTED) and isinstance(value, str):
        value = type(old)(value)  # keep the quoting the file chose
    if isinstance(parent, list) and not isinstance(key, int):
        raise UsageError(f"'{key}' names a field of a list")
    if isinstance(parent, list) and not -len(parent) <= key < len(parent):  # type: ignore[operator]
        raise UsageError(f"index {key} is past the end of a list of {len(parent)}")
    parent[key] = value


def _new_list(parent: Any, key: str | int) -> list[Any]:
    parent[key] = []
    return parent[key]  # type: ignore[no-any-return]


def _dotted(field: Iterable[str | int]) -> str:
    text = ""
    for step in field:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
    return text
