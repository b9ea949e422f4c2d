"""``stardust-git acks``: read acknowledgements back from the targets into the receipts."""

from __future__ import annotations

import json
from pathlib import Path

import click

from stardust_git.acks import AckReport, collect_acknowledgements
from stardust_git.display import visible
from stardust_git.gitio import Git, commit_paths

COMMIT_SUFFIX = "[skip ci]"


def acks_command(
    root: Path, targets: list[str] | None = None, commit: bool = False, output: str = "text"
) -> int:
    """Record new acknowledgements; exit 1 when a target could not be read."""
    report = collect_acknowledgements(root, targets)
    committed = None
    if commit and report.receipts:
        message = f"stardust-git: acknowledgements ({len(report.recorded)} new) {COMMIT_SUFFIX}"
        committed = commit_paths(Git(root), sorted(set(report.receipts)), message)
    if output == "json":
        click.echo(json.dumps(report_as_dict(report, committed), indent=2))
    else:
        print_report(report, committed)
    return 1 if report.unreachable else 0


def report_as_dict(report: AckReport, committed: str | None) -> dict[str, object]:
    return {
        "recorded": [vars(ack) for ack in report.recorded],
        "receipts": sorted(set(report.receipts)),
        "problems": report.problems,
        "unreachable": report.unreachable,
        "skipped": report.skipped,
        "commit": committed,
    }


def print_report(report: AckReport, committed: str | None) -> None:
    for ack in report.recorded:
        click.echo(visible(f"{ack.upc} -> {ack.target}: {ack.status} ({ack.file})"))
    for name in report.skipped:
        click.echo(f"{name}: skipped (an api target has no acknowledgement files)", err=True)
    for problem in report.problems:
        click.echo(f"warning: {problem}", err=True)
    for failure in report.unreachable:
        click.echo(f"error: {failure}", err=True)
    changed = len(set(report.receipts))
    summary = f"{len(report.recorded)} new acknowledgements in {changed} receipts"
    if committed:
        summary += f", committed {committed[:12]}"
    click.echo(summary, err=True)
