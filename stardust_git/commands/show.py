"""``stardust-git show UPC``: a release as resolved with its defaults, each value with its source.

YAML: the release's top-level fields, those inherited from a ``_defaults.yaml`` marked with a
comment ``# from <file>:<line>``. JSON: ``{"release": {...}, "sources": {field: "file:line"}}``
for every field written (in the release file or a defaults file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml

from stardust_git.errors import UserError
from stardust_git.models import Release
from stardust_git.source.catalog import Loaded, load_catalog, paths_naming
from stardust_git.source.defaults import ResolvedDocument


def show_command(root: Path, upc: str, output: str = "yaml") -> int:
    """Print the resolved release; a UPC no release file holds, or one that does not
    validate, is a user error (with the located errors)."""
    loaded = _load_release(root, upc)
    values = loaded.model.model_dump(mode="json", exclude_unset=True)
    sources = field_sources(loaded, list(values))
    if output == "json":
        click.echo(json.dumps({"release": values, "sources": sources}, indent=2))
    else:
        click.echo(annotated_yaml(loaded, values, sources), nl=False)
    return 0


def _load_release(root: Path, upc: str) -> Loaded[Release]:
    catalog = load_catalog(root, paths_naming(root, upc))
    loaded = catalog.release_by_upc(upc)
    if loaded is not None:
        return loaded
    if catalog.diagnostics.errors:
        raise UserError(f"release {upc} does not validate", catalog.diagnostics.sorted())
    raise UserError(f"no release file in {root / 'catalog'} holds UPC {upc}")


def field_sources(loaded: Loaded[Release], names: list[str]) -> dict[str, str]:
    """``file:line`` each top-level field's value was written at."""
    document = loaded.document
    origins = document.origins if isinstance(document, ResolvedDocument) else {}
    return {
        name: f"{origins.get(name, loaded.path)}:{document.locate((name,))[0]}" for name in names
    }


def annotated_yaml(loaded: Loaded[Release], values: dict[str, Any], sources: dict[str, str]) -> str:
    """The release as YAML; a field from a defaults file says where (on its line, or on the
    line above when its value spans lines)."""
    inherited = ", ".join(loaded.defaults) or "no defaults"
    lines = [f"# {loaded.path}, resolved with {inherited}"]
    origins = getattr(loaded.document, "origins", {})
    for name, value in values.items():
        text = yaml.safe_dump({name: value}, sort_keys=False, allow_unicode=True, width=10**9)
        block = text.rstrip("\n").split("\n")
        if name in origins and len(block) == 1:
            block[0] += f"  # from {sources[name]}"
        elif name in origins:
            block.insert(0, f"# from {sources[name]}")
        lines += block
    return "\n".join(lines) + "\n"
