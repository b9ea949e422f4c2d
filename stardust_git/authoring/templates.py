"""A new release file from a template: ``templates/<name>.yaml`` in the catalog repository.

A template is a release file whose unknown values are ``TODO(name)`` placeholders. The values
given (``upc``, ``title``, ``artist``, ``label``, ``date``; ``year`` follows from the date)
replace their placeholders as text, so the template's comments and layout are kept; every
placeholder left is an error ``validate`` reports with its file, line and field.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import yaml

from stardust_git.errors import UserError
from stardust_git.fileio import slug, write_text_atomic
from stardust_git.models.common import PLACEHOLDER
from stardust_git.source import defaults as defaults_files
from stardust_git.source.catalog import CATALOG_DIR, relative

TEMPLATES_DIR = "templates"
_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
FILLABLE = ("upc", "title", "artist", "label", "date")
"""The values a new release can be given (flags or prompts)."""
_PLAIN = {"date", "year"}
"""Values written as they are (checked dates and years), never quoted."""
_WHOLE = re.compile(
    r"(?P<lead>(?:^|[:\[{,]|- )[ \t]*)TODO\((?P<name>[^()\n]*)\)(?P<gap>[ \t]*)"
    r"(?=(?P<end>$|#|,|\]|\}))",
    re.MULTILINE,
)
_MODELINE = re.compile(r"^(# yaml-language-server: \$schema=).*release\.schema\.json$", re.M)
_NUMBERISH = re.compile(r"[\d.]+")
"""Digits and dots (a UPC, a version such as 3.8.2): always quoted, so they stay text."""
_SAFE_PLAIN = re.compile(r"[^\s#,\[\]{}:&*!|>'\"%@`?-][^#,\[\]{}:]*")


def packaged_templates() -> dict[str, str]:
    """The release templates shipped with stardust-git (what ``init`` writes), by name."""
    folder = files("stardust_git").joinpath("templates", "releases")
    return {
        Path(item.name).stem: item.read_text(encoding="utf-8")
        for item in sorted(folder.iterdir(), key=lambda item: item.name)
        if item.name.endswith(".yaml")
    }


def template_names(root: Path) -> list[str]:
    """The templates in the catalog repository's templates/ folder."""
    folder = root / TEMPLATES_DIR
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def read_template(root: Path, name: str) -> str:
    """``templates/<name>.yaml`` of the repository; a repository without templates/ (made
    before init shipped them) gets the packaged one of that name."""
    if not _TEMPLATE_NAME.fullmatch(name):
        raise UserError(f"--template {name!r}: a template name is letters, digits, '_' and '-'")
    path = root / TEMPLATES_DIR / f"{name}.yaml"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    packaged = packaged_templates()
    if not (root / TEMPLATES_DIR).is_dir() and name in packaged:
        return packaged[name]
    known = ", ".join(template_names(root) or packaged) or "none"
    raise UserError(f"no template '{name}' in {TEMPLATES_DIR}/ (known: {known})")


def with_year(values: dict[str, str]) -> dict[str, str]:
    """The values with ``year`` taken from ``date`` (the P and C lines' year)."""
    date = values.get("date")
    return {**values, "year": date[:4]} if date else dict(values)


def fill_template(text: str, values: dict[str, str]) -> str:
    """``text`` with each ``TODO(name)`` of a given value replaced: as a YAML scalar where the
    placeholder is the whole value, as plain text inside a longer one (a path)."""

    def whole(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in values:
            return match.group()
        value = values[name] if name in _PLAIN else yaml_scalar(values[name])
        return match.group("lead") + value + _gap_after(match, value)

    filled = _WHOLE.sub(whole, text)
    for name, value in values.items():
        filled = filled.replace(f"TODO({name})", value)
    return filled


def _gap_after(match: re.Match[str], value: str) -> str:
    """The spaces after a filled value: a comment after it keeps its column where there is room."""
    gap = match.group("gap")
    if match.group("end") != "#":
        return gap
    placeholder = f"TODO({match.group('name')})"
    return " " * max(1, len(gap) + len(placeholder) - len(value))


def yaml_scalar(value: str) -> str:
    """``value`` as a YAML string scalar: plain when it reads back as itself, else quoted."""
    if _SAFE_PLAIN.fullmatch(value) and value == value.strip() and not _NUMBERISH.fullmatch(value):
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)


def default_path(root: Path, values: dict[str, str]) -> Path:
    """``catalog/<artist-slug>/<title-slug>.yaml``."""
    artist = slug(values.get("artist", "")) or "new-artist"
    title = slug(values.get("title", "")) or "untitled"
    return root / CATALOG_DIR / artist / f"{title}.yaml"


def with_modeline_for(text: str, path: Path, root: Path) -> str:
    """The schema modeline pointing at schemas/ from where the file is written."""
    schema = root / "schemas" / "release.schema.json"
    target = Path(os.path.relpath(schema, path.parent)).as_posix()
    return _MODELINE.sub(lambda match: match.group(1) + target, text, count=1)


def unfilled(text: str) -> list[str]:
    """The placeholders left in the values of a YAML ``text`` (not its comments), each once."""
    return list(dict.fromkeys(_placeholders(yaml.safe_load(text))))


def _placeholders(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        node = list(node.values())
    if isinstance(node, list):
        for item in node:
            yield from _placeholders(item)
    elif isinstance(node, str):
        yield from (match.group() for match in PLACEHOLDER.finditer(node))


def write_new_release(root: Path, template: str, values: dict[str, str], out: Path | None) -> Path:
    """Write the filled template to ``out`` (default :func:`default_path`); never overwrite."""
    path = (out if out is not None else default_path(root, values)).absolute()
    if path.exists():
        raise UserError(f"{relative(root, path)} exists: choose another --out (never overwritten)")
    filled = fill_template(read_template(root, template), with_year(values))
    inherited = inherited_keys(root, path) - given_keys(values)
    text = with_modeline_for(without_keys(filled, inherited), path, root)
    if inherited:
        text += f"# from the folder's _defaults.yaml: {', '.join(sorted(inherited))}\n"
    _check_parses(text, relative(root, path))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
    return path


FLAG_KEYS = {
    "upc": ("upc",),
    "title": ("title",),
    "artist": ("artists",),
    "label": ("label", "p_line", "c_line"),
    "date": ("release_date",),
}
"""The release fields each flag of ``new release`` fills."""


def given_keys(values: dict[str, str]) -> set[str]:
    return {key for flag in values for key in FLAG_KEYS.get(flag, ())}


def inherited_keys(root: Path, path: Path) -> set[str]:
    """The fields the ``_defaults.yaml`` files above ``path`` supply."""
    shown = relative(root, path)
    keys: set[str] = set()
    for candidate in defaults_files.candidates(shown):
        if (root / candidate).is_file():
            data = yaml.safe_load((root / candidate).read_text(encoding="utf-8"))
            keys |= set(data) if isinstance(data, dict) else set()
    return keys


def without_keys(text: str, keys: set[str]) -> str:
    """``text`` without the top-level ``keys`` and the lines that belong to them (the folder's
    defaults supply them, and a value here would hide theirs)."""
    kept: list[str] = []
    dropping = False
    for line in text.splitlines(keepends=True):
        top = line[:1] not in (" ", "-", "#", "\n", "")
        if top:
            dropping = line.split(":", 1)[0] in keys
        if not dropping:
            kept.append(line)
    return "".join(kept)


def _check_parses(text: str, shown: str) -> None:
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UserError(f"{shown}: the filled template is not valid YAML: {error}") from error
