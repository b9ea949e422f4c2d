"""What a label reads per release and target: live, pending, held, failed, taken down,
acknowledged or rejected by the shop, derived from the status rows (stardust_git.status)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from stardust_git.models import Release
from stardust_git.status import StatusRow

#: Words in an acknowledgement status that mean the shop turned the delivery down.
_REJECTING = ("error", "reject", "fail", "invalid")
STATE_NAMES: dict[str, str] = {
    "live": "live",
    "acknowledged": "acknowledged",
    "pending": "pending",
    "held": "held",
    "failed": "failed",
    "rejected": "rejected",
    "takendown": "taken down",
}


@dataclass(frozen=True)
class TargetState:
    """One release at one target, as the report shows it."""

    target: str
    code: str
    """A key of STATE_NAMES."""
    until: str = ""
    """For ``held``: the deliver_after date."""
    row: StatusRow | None = None

    @property
    def label(self) -> str:
        name = STATE_NAMES[self.code]
        return f"{name} until {self.until}" if self.until else name


def target_state(row: StatusRow, release: Release | None, today: dt.date) -> TargetState:
    """The state of ``row``; ``release`` (None when its file is gone) tells a held delivery."""
    if row.status == "failed":
        return TargetState(row.target, "failed", row=row)
    if row.status == "pending":
        hold = release.deliver_after if release else None
        if hold and hold > today and row.wanted == "live":
            return TargetState(row.target, "held", hold.isoformat(), row)
        return TargetState(row.target, "pending", row=row)
    if row.action.startswith("takedown"):
        return TargetState(row.target, "takendown", row=row)
    return TargetState(row.target, _acknowledged(row.acknowledgement), row=row)


def _acknowledged(acknowledgement: str) -> str:
    if not acknowledgement:
        return "live"
    status = acknowledgement.split(" ", 1)[0].lower()
    return "rejected" if any(word in status for word in _REJECTING) else "acknowledged"
