"""Resolving a release file against the ``_defaults.yaml`` files of the folders above it.

Each top-level key of a defaults file replaces as a whole (a mapping or a list too); nearer
folders win and the release file wins over all. The resolved document keeps every value's
position in the file it came from, so an error about a defaulted value points at the defaults
file (and says for which release).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from stardust_git.errors import Diagnostic
from stardust_git.source.yamlio import Loc, YamlDocument, format_loc

DEFAULTS_NAMES = ("_defaults.yaml", "_defaults.yml")


def is_defaults(path: str) -> bool:
    """Whether the repository path names a defaults file (never a release)."""
    return path.rsplit("/", 1)[-1] in DEFAULTS_NAMES


def candidates(release_path: str) -> list[str]:
    """Where defaults of ``release_path`` may be, outermost folder first."""
    folders = release_path.split("/")[:-1]
    return [
        f"{'/'.join(folders[:end])}/{name}"
        for end in range(1, len(folders) + 1)
        for name in DEFAULTS_NAMES
    ]


def all_candidates(release_paths: Iterable[str]) -> list[str]:
    """Every place defaults of any of ``release_paths`` may be, without repeats."""
    found: dict[str, None] = {}
    for path in release_paths:
        found.update(dict.fromkeys(candidates(path)))
    return list(found)


def chain(release_path: str, present: Collection[str]) -> tuple[str, ...]:
    """The defaults files that apply to ``release_path``, outermost first."""
    return tuple(path for path in candidates(release_path) if path in present)


def below(defaults_path: str, release_paths: Iterable[str]) -> list[str]:
    """The release files a defaults file applies to."""
    folder = defaults_path.rsplit("/", 1)[0] + "/"
    return [path for path in release_paths if path.startswith(folder) and not is_defaults(path)]


class ResolvedDocument(YamlDocument):
    """A release file merged with its defaults; ``origins`` names the defaults file each
    inherited top-level key came from. Positions come from the files, when first asked for."""

    def __init__(
        self,
        document: YamlDocument,
        data: dict[Any, Any],
        inherited: dict[str, YamlDocument],
        defaults: list[YamlDocument],
    ) -> None:
        super().__init__(document.path, data)
        self.origins = {key: source.path for key, source in inherited.items()}
        self._parts = (document, inherited, defaults)

    def _find_positions(self) -> dict[Loc, tuple[int, int]]:
        document, inherited, defaults = self._parts
        positions = dict(document.positions)
        for source in defaults:
            positions.update(
                (loc, at)
                for loc, at in source.positions.items()
                if inherited.get(loc[0]) is source  # type: ignore[arg-type]
            )
        return positions

    def source_of(self, key: str | int) -> str:
        """The file the top-level ``key``'s value came from."""
        return self.origins.get(str(key), self.path)

    def diagnostic(
        self, loc: Loc, message: str, severity: str = "error", rule: str = ""
    ) -> Diagnostic:
        source = self.origins.get(str(loc[0])) if loc else None
        if source is None:
            return super().diagnostic(loc, message, severity, rule)
        line, col = self.locate(loc)
        shown = f"{message} (for release {self.path})"
        return Diagnostic(source, line, col, format_loc(loc), shown, severity, rule, self.path)  # type: ignore[arg-type]


def resolve(document: YamlDocument, defaults: list[YamlDocument]) -> YamlDocument:
    """``document`` with the top-level keys of ``defaults`` (outermost first) it lacks."""
    if not defaults or not isinstance(document.data, dict):
        return document
    inherited: dict[str, YamlDocument] = {}
    for source in defaults:
        if isinstance(source.data, dict):
            inherited.update(dict.fromkeys(source.data, source))
    for key in document.data:
        inherited.pop(key, None)
    data: dict[Any, Any] = {key: source.data[key] for key, source in inherited.items()}
    data.update(document.data)
    return ResolvedDocument(document, data, inherited, defaults)
