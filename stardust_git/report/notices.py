"""Failure notices: one GitHub issue per target while deliveries to it have failed.

:func:`compute_notices` reads the receipts (the last delivery of each release at each target)
and says, per target, whether its issue should be open (with the failures listed) or closed
(nothing failed any more). The workflows apply that with ``gh issue``; finding the issue again
goes by its title, which holds the target's name and nothing else that changes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from stardust_git.display import markdown
from stardust_git.status import StatusRow, catalog_status

LABEL = "stardust-git-delivery"
"""The label every notice carries (the workflows list open issues by it)."""
MAX_LISTED = 200
"""Failures listed in one issue body (GitHub caps a body at 65,536 characters)."""
MAX_ERROR = 200


@dataclass(frozen=True)
class Failure:
    upc: str
    title: str
    action: str
    when: str
    attempts: int
    error: str


@dataclass
class Notice:
    """What the issue of one target should say, or that it should be closed."""

    target: str
    state: Literal["open", "closed"]
    title: str
    body: str
    failures: list[Failure] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def notice_title(target: str) -> str:
    return f"Deliveries to {target} failed"


def compute_notices(root: Path) -> list[Notice]:
    """One notice per target known to the catalog or the receipts, sorted by target."""
    catalog, _, rows = catalog_status(root)
    by_target: dict[str, list[StatusRow]] = {name: [] for name in catalog.targets}
    for row in rows:
        by_target.setdefault(row.target, []).append(row)
    return [notice_for(target, by_target[target]) for target in sorted(by_target)]


def notice_for(target: str, rows: list[StatusRow]) -> Notice:
    failures = [failure_of(row) for row in rows if is_open_failure(row)]
    if not failures:
        body = f"Every delivery to {markdown(target)} that had failed has since succeeded."
        return Notice(target, "closed", notice_title(target), body)
    return Notice(target, "open", notice_title(target), issue_body(target, failures), failures)


def is_open_failure(row: StatusRow) -> bool:
    """The last delivery failed and the release is still meant to be there (or taken down):
    a target taken out of a release's list no longer owes it anything."""
    return row.status == "failed" and row.wanted in ("live", "takedown")


def failure_of(row: StatusRow) -> Failure:
    error = " ".join(row.error.split())
    if len(error) > MAX_ERROR:
        error = error[: MAX_ERROR - 1] + "…"
    return Failure(row.upc, row.title, row.action, row.when, row.attempts, error)


def issue_body(target: str, failures: list[Failure]) -> str:
    count = len(failures)
    lines = [
        f"{count} release{'s' * (count != 1)} could not be delivered to **{markdown(target)}**. "
        "The reconcile workflow retries them every day; this issue closes itself once they "
        "are delivered.",
        "",
        "| UPC | Release | Action | Last attempt | Attempts | Error |",
        "|---|---|---|---|---|---|",
    ]
    lines += [_failure_line(failure) for failure in failures[:MAX_LISTED]]
    if count > MAX_LISTED:
        lines += ["", f"… and {count - MAX_LISTED} more: run `stardust-git status`."]
    return "\n".join(lines) + "\n"


def _failure_line(failure: Failure) -> str:
    cells = [failure.upc, failure.title, failure.action, failure.when, str(failure.attempts)]
    cells.append(failure.error)
    return "| " + " | ".join(markdown(cell) for cell in cells) + " |"
