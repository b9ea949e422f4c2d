"""``stardust-git plan``: what a delivery run would send, and why (table, markdown or JSON)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from stardust_git.commands.tables import Rows, print_rows
from stardust_git.display import markdown, terminal, visible
from stardust_git.explain import ExplainRequest
from stardust_git.explain import explain as explain_plan
from stardust_git.plan import Plan, compute_plan
from stardust_git.shards import ShardSettings, describe, size_plan

#: GitHub refuses comments over 65,535 characters; the markdown stays well under.
MARKDOWN_LIMIT = 50_000
COMMENT_MARKER = "<!-- stardust-git-plan -->"
ACTION_TITLES = {"initial": "Initial", "update": "Update", "takedown": "Takedown"}


def plan_command(
    root: Path,
    base: str | None = None,
    head: str | None = None,
    all_: bool = False,
    output: str = "table",
    detailed_exitcode: bool = False,
    targets: list[str] | None = None,
    only: list[str] | None = None,
    explain: list[str] | None = None,
    shards: ShardSettings | None = None,
) -> int:
    """Print the plan; exit 0 (or, with ``detailed_exitcode``, 2 when there is something to do),
    1 when the plan has problems. With ``explain``, say per target what the plan does with
    those releases, and why or why not."""
    if explain:
        request = ExplainRequest(base, head, all_, targets)
        return print_explanations(root, explain, request, output)
    plan = compute_plan(root, base, head, all_, targets=targets, only=only)
    if shards is not None:
        return print_shards(root, plan, shards)
    if output == "json":
        click.echo(json.dumps(plan.as_dict(), indent=2))
        for line in plan.notes + [f"problem: {p}" for p in plan.problems]:
            click.echo(visible(line), err=True)
    elif output == "markdown":
        click.echo(plan_markdown(plan))
    else:
        print_table(plan)
    if plan.problems:
        return 1
    return 2 if detailed_exitcode and plan.actions else 0


def print_shards(root: Path, plan: Plan, settings: ShardSettings) -> int:
    """``plan --shards``: the shard list as JSON on stdout (a workflow's matrix), the sizing
    and any problems on stderr; exit 0 (the deliver jobs validate and report the problems)."""
    sizing = size_plan(root, plan, settings)
    click.echo(json.dumps(sizing.shard_list(), separators=(",", ":")))
    said = [*plan.notes, *(f"problem: {p}" for p in plan.problems), describe(sizing, settings)]
    for line in said:
        click.echo(visible(line), err=True)
    return 0


def print_explanations(root: Path, upcs: list[str], request: ExplainRequest, output: str) -> int:
    """``plan --explain``: one line per release and target (json: a list of objects)."""
    found = explain_plan(root, upcs, request)
    if output == "json":
        click.echo(json.dumps([line.as_dict() for line in found], indent=2))
    else:
        for line in found:
            click.echo(visible(line.line()))
    return 0


def summary(plan: Plan) -> str:
    counts = plan.counts()
    total = len(plan.actions)
    if not total:
        text = "nothing to deliver"
    else:
        parts = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
        text = f"{total} deliver{'y' if total == 1 else 'ies'}: {parts}"
    held = f", {len(plan.held)} held" if plan.held else ""
    examined = f"{plan.examined} release{'s' * (plan.examined != 1)} examined"
    return f"{text}{held} ({examined})"


def _titles(plan: Plan) -> dict[str, str]:
    return plan.titles


def print_table(plan: Plan) -> None:
    console = Console(highlight=False, soft_wrap=True)  # a note is one line in a log
    titles = _titles(plan)
    if plan.actions or plan.held:
        table = Rows(("UPC", "Release", "Target", "Action", "Why"))
        for planned in plan.actions:
            table.add(
                [
                    planned.upc,
                    terminal(titles.get(planned.upc, "")),
                    terminal(planned.target),
                    ACTION_TITLES[planned.action],
                    terminal("\n".join(planned.why()), keep_newlines=True),
                ]
            )
        for held in plan.held:
            table.add(
                [
                    held.upc,
                    terminal(titles.get(held.upc, "")),
                    terminal(held.target),
                    f"held ({ACTION_TITLES[held.action]})",
                    f"deliver_after {held.until}",
                ],
                style="dim",
            )
        print_rows(table, console)
    for note in plan.notes:
        console.print(f"note: {terminal(note)}")
    for problem in plan.problems:
        console.print(f"[red]problem:[/red] {terminal(problem)}")
    console.print(summary(plan))


def _cell(text: str) -> str:
    """Catalog text as one markdown table cell: literal, one line, no HTML, links or mentions."""
    return markdown(text.replace("\n", " "))


def plan_markdown(plan: Plan, limit: int = MARKDOWN_LIMIT) -> str:
    """One markdown table for a PR comment or job summary, cut well under GitHub's limit."""
    titles = _titles(plan)
    head = (plan.head or "working tree")[:12]
    lines = [
        COMMENT_MARKER,
        "### stardust-git plan",
        "",
        f"**On merge: {summary(plan)}** · base `{(plan.base or 'none')[:12]}` · head `{head}`",
        "",
    ]
    rows = [
        f"| {p.upc} | {_cell(titles.get(p.upc, ''))} | {_cell(p.target)} | "
        f"{ACTION_TITLES[p.action]} | {'<br>'.join(_cell(line) for line in p.why())} |"
        for p in plan.actions
    ] + [
        f"| {h.upc} | {_cell(titles.get(h.upc, ''))} | {_cell(h.target)} | "
        f"held ({ACTION_TITLES[h.action]}) | deliver_after {h.until} |"
        for h in plan.held
    ]
    tail = [f"- note: {_cell(n)}" for n in plan.notes]
    tail += [f"- :warning: problem: {_cell(p)}" for p in plan.problems]
    if rows:
        lines += ["| UPC | Release | Target | Action | Why |", "|---|---|---|---|---|"]
        budget = limit - sum(len(line) + 1 for line in lines + tail[:50]) - 500
        shown = _fit(rows, budget)
        lines += rows[:shown]
        if shown < len(rows):
            lines += [
                "",
                f"_… {len(rows) - shown} more rows not shown (the comment is cut to "
                f"stay under GitHub's size limit); run `stardust-git plan` for all._",
            ]
    if tail:
        lines += ["", *tail[:50]]
        if len(tail) > 50:
            lines.append(f"- … {len(tail) - 50} more notes")
    return "\n".join(lines) + "\n"


def _fit(rows: list[str], budget: int) -> int:
    used = 0
    for index, row in enumerate(rows):
        used += len(row) + 1
        if used > budget:
            return index
    return len(rows)
