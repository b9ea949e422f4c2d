"""What changed in a release, field by field, with the old and the new value (``terraform plan``).

Values are the release's JSON form (``model_dump(mode="json")``). Objects are compared key by key
and lists of objects (tracks, deals, artists) item by item, so a track added is one change
(``tracks[1]: added {...}``); a list of plain values (territories) is one value. Long text is cut
with an ellipsis: a plan shows what moves, the catalog holds the full value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: Values are cut to this many characters (an ellipsis marks the cut).
VALUE_LIMIT = 60
ELLIPSIS = "…"
_EMPTY: tuple[Any, ...] = (None, [], {})


@dataclass(frozen=True)
class FieldChange:
    """One value that differs: ``old`` None when the field was added, ``new`` None when removed."""

    field: str
    old: Any
    new: Any

    def as_dict(self) -> dict[str, Any]:
        """``{"field", "old", "new"}`` with long text cut (the plan's JSON)."""
        return {"field": self.field, "old": shortened(self.old), "new": shortened(self.new)}

    def describe(self) -> str:
        """``title: "Old" -> "New"``, ``tracks[1]: added {...}``, ``isrc: removed (was "X")``."""
        if self.old is None:
            return f"{self.field}: added {shown(self.new)}"
        if self.new is None:
            return f"{self.field}: removed (was {shown(self.old)})"
        return f"{self.field}: {shown(self.old)} -> {shown(self.new)}"


def field_changes(before: Any, after: Any, prefix: str = "") -> list[FieldChange]:
    """Every value that differs between ``before`` and ``after``, by path (sorted keys)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(before.keys() | after.keys()):
            where = f"{prefix}.{key}" if prefix else str(key)
            found += field_changes(before.get(key), after.get(key), where)
        return found
    if _itemwise(before, after):
        return _list_changes(before, after, prefix)
    if before == after:
        return []
    return [FieldChange(prefix or "(release)", before, after)]


def _itemwise(before: Any, after: Any) -> bool:
    """Lists compared item by item: same length, or both lists of objects."""
    if not (isinstance(before, list) and isinstance(after, list)):
        return False
    if len(before) == len(after):
        return True
    return all(isinstance(item, dict) for item in before + after)


def _list_changes(before: list[Any], after: list[Any], prefix: str) -> list[FieldChange]:
    found = []
    for index in range(max(len(before), len(after))):
        old = before[index] if index < len(before) else None
        new = after[index] if index < len(after) else None
        found += field_changes(old, new, f"{prefix}[{index}]")
    return found


def shortened(value: Any) -> Any:
    """``value`` with every text longer than :data:`VALUE_LIMIT` cut with an ellipsis."""
    if isinstance(value, str):
        return value if len(value) <= VALUE_LIMIT else value[: VALUE_LIMIT - 1] + ELLIPSIS
    if isinstance(value, list):
        return [shortened(item) for item in value]
    if isinstance(value, dict):  # compact: the fields an object leaves empty are not shown
        return {key: shortened(item) for key, item in value.items() if item not in _EMPTY}
    return value


def shown(value: Any) -> str:
    """A value on one line: text quoted, lists and objects compact, cut at the limit."""
    text = json.dumps(shortened(value), ensure_ascii=False, separators=(", ", ": "))
    if isinstance(value, str) or len(text) <= VALUE_LIMIT:
        return text
    return text[: VALUE_LIMIT - 1] + ELLIPSIS
