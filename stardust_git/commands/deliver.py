"""``stardust-git deliver``: execute the plan, write receipts, optionally commit and push them."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from stardust_git.deliver import (
    DeliverOptions,
    DeliverResult,
    Outcome,
    Reporter,
    deliver,
    describe_outcome,
    is_interactive,
    parse_shard,
)


class PlainReporter(Reporter):
    """One line per event on stderr: readable in CI logs."""

    def note(self, text: str) -> None:
        click.echo(text, err=True)

    def start(self, total: int) -> None:
        click.echo(f"delivering {total} package{'s' * (total != 1)}", err=True)

    def done(self, outcome: Outcome) -> None:
        click.echo(describe_outcome(outcome), err=True)


class RichReporter(Reporter):
    """A progress bar on a terminal, with the same lines printed above it."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("[bold]deliver"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True, highlight=False),
            transient=True,
        )
        self.task = self.progress.add_task("deliver", total=0)

    def note(self, text: str) -> None:
        self.progress.console.print(escape(text))

    def start(self, total: int) -> None:
        self.progress.update(self.task, total=total)
        self.progress.start()

    def done(self, outcome: Outcome) -> None:
        line = escape(describe_outcome(outcome))
        self.progress.console.print(f"[red]{line}[/red]" if outcome.status == "failed" else line)
        self.progress.advance(self.task)

    def stop(self) -> None:
        self.progress.stop()


def deliver_command(
    root: Path,
    base: str | None = None,
    head: str | None = None,
    all_: bool = False,
    dry_run: bool = False,
    commit: bool = False,
    push: bool = False,
    shard: str | None = None,
    targets: list[str] | None = None,
) -> int:
    """Deliver; exit 1 when any delivery failed or the plan had problems (after all the rest)."""
    options = DeliverOptions(
        base=base,
        head=head,
        all_=all_,
        dry_run=dry_run,
        commit=commit,
        push=push,
        shard=parse_shard(shard) if shard else None,
        targets=targets or None,
    )
    reporter = RichReporter() if is_interactive() else PlainReporter()
    try:
        result = deliver(root, options, reporter)
    finally:
        if isinstance(reporter, RichReporter):
            reporter.stop()
    click.echo(result_summary(result, options), err=True)
    return 0 if result.ok else 1


def result_summary(result: DeliverResult, options: DeliverOptions) -> str:
    done = sum(o.status in ("success", "rendered") for o in result.outcomes)
    verb = "rendered" if options.dry_run else "delivered"
    text = f"{verb} {done}, failed {len(result.failed)}"
    if options.shard:
        text += f" (shard {options.shard[0]}/{options.shard[1]})"
    if not result.outcomes:
        text = "nothing to deliver"
    if result.receipts:
        text += f"; {len(result.receipts)} receipt{'s' * (len(result.receipts) != 1)} written"
    if result.commit:
        text += f"; committed {result.commit[:12]}"
    if result.push_attempts:
        text += f"; pushed ({result.push_attempts} tr{'ies' if result.push_attempts > 1 else 'y'})"
    if result.plan.problems:
        text += f"; {len(result.plan.problems)} problem(s) in the plan"
    return text
