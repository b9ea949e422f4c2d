"""``stardust-git import FILE_OR_DIR...``: ERN messages and spreadsheets into release files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from stardust_git.display import counted, terminal
from stardust_git.errors import UsageError, UserError
from stardust_git.importers.run import ImportOptions, ImportResult, ReleaseOutcome, run_import

_DONE = {"new": "written", "overwritten": "overwritten", "unchanged": "unchanged"}
_WOULD = {"new": "would write", "overwritten": "would overwrite", "unchanged": "unchanged"}


def import_command(root: Path, inputs: list[Path], options: ImportOptions, output: str) -> int:
    """Import, print what happened; exit 1 when the gate finds errors in what was written.

    With ``--format json`` the errors of the inputs are printed as JSON too (exit 1)."""
    try:
        result = run_import(root, inputs, options)
    except UserError as exc:
        if output != "json" or isinstance(exc, UsageError):
            raise
        click.echo(json.dumps(refused_as_dict(exc), indent=2, ensure_ascii=False))
        return 1
    if output == "json":
        click.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        print_result(result)
    return 0 if result.ok else 1


def refused_as_dict(exc: UserError) -> dict[str, object]:
    """The JSON of an import that wrote nothing because its inputs have errors."""
    errors = [diagnostic.as_dict() for diagnostic in exc.diagnostics]
    return {"releases": [], "errors": errors, "summary": {"refused": exc.message}}


def print_result(result: ImportResult) -> None:
    """One line per release, its notes below it, the gate's problems, then the counts."""
    for outcome in result.releases:
        click.echo(_release_line(outcome, _WOULD if result.dry_run else _DONE))
        for line in _details(outcome):
            click.echo(f"    {terminal(line)}")
    for problem in result.problems:
        click.echo(problem.format())
    click.echo(_summary(result), err=True)


def _release_line(outcome: ReleaseOutcome, words: dict[str, str]) -> str:
    status = words.get(outcome.status, "differs: kept (--overwrite replaces it)")
    return f"{outcome.upc}  {terminal(outcome.title)}  {outcome.file}: {status}"


def _details(outcome: ReleaseOutcome) -> list[str]:
    lines = [f"{d.field}: {d.old!r} -> {d.new!r}" for d in outcome.differences]
    lines += [f"{note.kind}: {note.where}: {note.message}" for note in outcome.notes]
    lines += [f"guessed: {where}: {why}" for where, why in outcome.guessed.items()]
    return lines + [f"receipt: {path} (imported)" for path in outcome.receipts]


def _summary(result: ImportResult) -> str:
    counts = result.summary()
    verb = "would import" if result.dry_run else "imported"
    parts = [f"{counts[s]} {s}" for s in ("new", "unchanged", "differs", "overwritten")]
    problems = counted(counts["problems"], "problem")
    gate = f"; the gate found {problems}" if counts["problems"] else ""
    notes = counted(counts["notes"], "note")
    releases = counted(len(result.releases), "release")
    return f"{verb} {releases}: {', '.join(parts)}; {notes}{gate}"
