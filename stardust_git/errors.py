"""Diagnostics and the one exception base for user errors.

A :class:`Diagnostic` points at a file, line, column and field. Loading and validation collect
diagnostics instead of stopping at the first problem; :class:`UserError` carries them to the CLI,
which prints them and exits 1. Anything else that escapes is a bug and exits 3.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from stardust_git.display import visible

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in the catalog, pointing at where it is."""

    path: str
    line: int = 0
    col: int = 0
    field: str = ""
    message: str = ""
    severity: Severity = "error"
    rule: str = ""

    def format(self, label_errors: bool = False) -> str:
        """``path:line:col: [warning: ]field: message [rule]``; ``label_errors`` also says
        ``error:`` (validate's report, where errors and warnings are listed together)."""
        where = self.path
        if self.line:
            where += f":{self.line}:{self.col or 1}"
        prefix = f"{self.field}: " if self.field else ""
        tag = f"{self.severity}: " if label_errors or self.severity == "warning" else ""
        rule = f" [{self.rule}]" if self.rule else ""
        # A message may quote catalog text: a terminal shows its control characters, never obeys.
        return visible(f"{where}: {tag}{prefix}{self.message}{rule}", keep_newlines=True)

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "field": self.field,
            "message": self.message,
            "severity": self.severity,
            "rule": self.rule,
        }


@dataclass
class Diagnostics:
    """An ordered collection of diagnostics gathered over a run."""

    items: list[Diagnostic] = field(default_factory=list)

    def add(self, diagnostic: Diagnostic) -> None:
        self.items.append(diagnostic)

    def error(
        self,
        path: str,
        message: str,
        *,
        line: int = 0,
        col: int = 0,
        field: str = "",
        rule: str = "",
    ) -> None:
        self.items.append(Diagnostic(path, line, col, field, message, "error", rule))

    def warning(
        self,
        path: str,
        message: str,
        *,
        line: int = 0,
        col: int = 0,
        field: str = "",
        rule: str = "",
    ) -> None:
        self.items.append(Diagnostic(path, line, col, field, message, "warning", rule))

    def extend(self, other: Diagnostics | list[Diagnostic]) -> None:
        self.items.extend(other.items if isinstance(other, Diagnostics) else other)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if d.severity == "warning"]

    def sorted(self) -> list[Diagnostic]:
        return sorted(set(self.items), key=lambda d: (d.path, d.line, d.col, d.field, d.message))

    def __len__(self) -> int:
        return len(self.items)


def closest(value: str, choices: Iterable[str]) -> str | None:
    """The choice most like ``value`` (difflib ratio at least 0.6), for "did you mean" hints."""
    found = difflib.get_close_matches(value, list(choices), n=1)
    return found[0] if found else None


def did_you_mean(suggestion: str | None) -> str:
    """``"; did you mean 'X'?"`` to end a message with, or nothing without a suggestion."""
    return f"; did you mean '{suggestion}'?" if suggestion else ""


class UserError(Exception):
    """A problem the user can fix: bad input, a missing file, a refused connection.

    The CLI prints it without a traceback and exits with ``exit_code`` (1 by default).
    """

    exit_code = 1

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.diagnostics = diagnostics or []


class UsageError(UserError):
    """The command line itself is wrong (exit 2)."""

    exit_code = 2
