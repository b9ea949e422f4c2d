"""``stardust-git deliver``: execute the plan, write receipts, optionally commit and push them."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console, Group
from rich.live import Live
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

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
from stardust_git.display import counted, terminal, visible

MIB = 1 << 20
#: Files at least this large get a line of their own in plain logs when they arrive.
LARGE_FILE_BYTES = 8 * MIB


class PlainReporter(Reporter):
    """One line per event on stderr: readable in CI logs."""

    def note(self, text: str) -> None:
        click.echo(visible(text), err=True)

    def start(self, total: int) -> None:
        click.echo(f"delivering {total} package{'s' * (total != 1)}", err=True)

    def done(self, outcome: Outcome) -> None:
        click.echo(visible(describe_outcome(outcome)), err=True)

    def file_done(self, target: str, remote_path: str, size: int, seconds: float) -> None:
        if size >= LARGE_FILE_BYTES:  # no line per chunk or per small file: CI logs stay short
            line = f"  {target}: {remote_path} {size / 1_000_000:.1f} MB in {seconds:.1f} s"
            click.echo(line, err=True)


class RichReporter(Reporter):
    """On a terminal: a bar of deliveries and a bytes bar per target, the lines printed above."""

    def __init__(self) -> None:
        console = Console(stderr=True, highlight=False)
        self.deliveries = Progress(
            TextColumn("[bold]deliver"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self.uploads = Progress(
            TextColumn("  {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=console,
        )
        self.task = self.deliveries.add_task("deliver", total=0)
        self.by_target: dict[str, TaskID] = {}
        self.bytes_wanted: dict[str, int] = {}
        self.live = Live(Group(self.deliveries, self.uploads), console=console, transient=True)

    def note(self, text: str) -> None:
        self.live.console.print(terminal(text))

    def start(self, total: int) -> None:
        self.deliveries.update(self.task, total=total)
        self.live.start()

    def done(self, outcome: Outcome) -> None:
        line = terminal(describe_outcome(outcome))
        self.live.console.print(f"[red]{line}[/red]" if outcome.status == "failed" else line)
        self.deliveries.advance(self.task)

    def file_started(self, target: str, remote_path: str, size: int) -> None:
        if target not in self.by_target:
            self.by_target[target] = self.uploads.add_task(terminal(target), total=0)
        self.bytes_wanted[target] = self.bytes_wanted.get(target, 0) + size
        self.uploads.update(self.by_target[target], total=self.bytes_wanted[target])

    def file_progress(self, target: str, nbytes: int) -> None:
        self.uploads.advance(self.by_target[target], nbytes)

    def stop(self) -> None:
        self.live.stop()


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
    lock_wait: float = 3600.0,
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
        lock_wait=lock_wait,
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
    skipped = sum(o.status == "skipped" for o in result.outcomes)
    if skipped:
        text += f", skipped {skipped} (already delivered)"
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
        text += f"; {counted(len(result.plan.problems), 'problem')} in the plan"
    return text
