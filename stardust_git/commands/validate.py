"""``stardust-git validate``: everything checkable offline."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from stardust_git.display import counted, visible
from stardust_git.errors import Diagnostic
from stardust_git.gitio import differing_from_head_commands, started_early
from stardust_git.source.layout import CATALOG_DIR
from stardust_git.warm.client import CHILD_ENV as WARM_CHILD_ENV

if TYPE_CHECKING:
    from stardust_git.validate import ValidationReport

EARLY_GIT = differing_from_head_commands(CATALOG_DIR)
"""What the facts index asks git first (``index._git_view``): started before the imports
below, it runs meanwhile."""


def validate_command(
    root: Path,
    paths: list[Path] | None,
    output: str = "text",
    strict: bool = False,
    check_assets: bool = True,
    check_render: bool = True,
) -> int:
    with started_early(root, EARLY_GIT, one_thread=not os.environ.get(WARM_CHILD_ENV)):
        from stardust_git.validate import ValidationOptions, validate_catalog

        options = ValidationOptions(check_assets, check_render, strict)
        report = validate_catalog(root, paths, options)
    if output == "json":
        click.echo(json.dumps(report_as_dict(report), indent=2))
    else:
        print_report(report)
    return 0 if report.ok else 1


SEVERITY_COLOURS = {"error": "red", "warning": "yellow"}


def report_as_dict(report: ValidationReport) -> dict[str, object]:
    return {
        "valid": report.ok,
        "files": report.files,
        "releases": report.releases,
        "errors": [d.as_dict() for d in report.errors],
        "warnings": [d.as_dict() for d in report.warnings],
        "skipped": report.skipped,
    }


def _coloured(diagnostic: Diagnostic) -> str:
    """The line labelled ``error:`` or ``warning:``, in red or yellow: on a terminal people read
    it; piped, the lines keep the form scripts and problem matchers parse."""
    text = diagnostic.format(label_errors=True)
    tag = f": {diagnostic.severity}: "
    shown = click.style(diagnostic.severity, fg=SEVERITY_COLOURS[diagnostic.severity], bold=True)
    return text.replace(tag, f": {shown}: ", 1)


def print_report(report: ValidationReport) -> None:
    terminal = sys.stdout.isatty()
    colour = terminal and not os.environ.get("NO_COLOR")
    for diagnostic in report.diagnostics:
        line = _coloured(diagnostic) if colour else diagnostic.format(label_errors=terminal)
        click.echo(line)
    for shown in report.skipped:
        click.echo(f"note: {visible(shown)}: skipped (not a release, target, genre map or message)")
    errors, warnings = len(report.errors), len(report.warnings)
    files, releases = counted(report.files, "file"), counted(report.releases, "release")
    if report.ok:
        note = f" ({counted(warnings, 'warning')})" if warnings else ""
        click.echo(f"ok: {files} valid, {releases}{note}", err=True)
    else:
        summary = f"{counted(errors, 'error')}, {counted(warnings, 'warning')} in {files}"
        click.echo(f"invalid: {summary}", err=True)
