"""``stardust-git genre coverage [MAP]`` and ``stardust-git genre suggest MAP``."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from stardust_git.errors import UserError
from stardust_git.genre_tools import (
    MapCoverage,
    map_coverage,
    suggest_mappings,
    suggestion_lines,
)
from stardust_git.source.catalog import GENRES_DIR, Catalog, load_catalog


def genre_coverage_command(root: Path, map_name: str | None = None, output: str = "text") -> int:
    """Print, per map (or just ``map_name``), the genres it does not map and the releases hit
    (the releases sent to a target that uses the map)."""
    catalog = _load(root)
    names = [map_name] if map_name else sorted(catalog.genre_maps)
    if not names:
        raise UserError(f"no genre maps in {GENRES_DIR}/")
    if output == "json":
        coverages = [dataclasses.asdict(map_coverage(catalog, name)) for name in names]
        click.echo(json.dumps(coverages, indent=2))
        return 0
    for index, name in enumerate(names):
        if index:
            click.echo("")
        for line in coverage_lines(map_coverage(catalog, name)):
            click.echo(line)
    return 0


def genre_suggest_command(root: Path, map_name: str) -> int:
    """Print YAML ``mappings:`` entries for the map's unmapped genres, closest entry first."""
    catalog = _load(root)
    suggestions = suggest_mappings(catalog, map_name)
    path = f"{GENRES_DIR}/{map_name}.yaml"
    if not suggestions:
        click.echo(f"# every genre has a mapping in {path}")
        return 0
    count = len(suggestions)
    click.echo(
        f"# {count} genre{'s' * (count != 1)} without a mapping in {path};"
        " paste under `mappings:` and check each one"
    )
    for suggestion in suggestions:
        for line in suggestion_lines(suggestion):
            click.echo(line)
    return 0


def _load(root: Path) -> Catalog:
    catalog = load_catalog(root)
    broken = [d for d in catalog.diagnostics.errors if d.path.startswith(GENRES_DIR + "/")]
    if broken:
        raise UserError(f"the genre maps in {GENRES_DIR}/ do not load", broken)
    return catalog


def coverage_lines(coverage: MapCoverage) -> list[str]:
    """The report of one map: a summary, the genres it misses, the releases they affect."""
    fallback = f"fallback {coverage.fallback}" if coverage.fallback else "no fallback"
    used_by = ", ".join(coverage.targets) or "no target"
    lines = [
        f"{coverage.name}: vocabulary {coverage.vocabulary}, {fallback}, used by {used_by}",
        f"  {coverage.total} genres: {len(coverage.direct)} mapped directly,"
        f" {len(coverage.via_ancestor)} through an ancestor,"
        f" {len(coverage.fallback_only)} only by the fallback, {len(coverage.unmapped)} unmapped",
    ]
    lines += _genre_section("covered only by the fallback", coverage.fallback_only)
    lines += _genre_section("unmapped", coverage.unmapped)
    if coverage.affected:
        lines.append(f"  releases affected ({len(coverage.affected)}):")
    for item in coverage.affected:
        sent = f"  (sent to {', '.join(item.targets)})" if item.targets else ""
        lines.append(f"    {item.genre}  {item.upc}  {item.title}  {item.path}{sent}")
    return lines


def _genre_section(title: str, codes: tuple[str, ...]) -> list[str]:
    if not codes:
        return []
    return [f"  {title} ({len(codes)}):", *(f"    {code}" for code in codes)]
