"""``plan --explain UPC``: for each target, what the plan does with a release and why, or why not.

Every target the release lists, every target in targets/ it does not list and every target its
receipts name gets one line: the planned action and its reasons, or held, blocked by the gate,
unchanged since the last delivery, taken down already, not listed in ``targets:``, outside the
``--base`` scope (with what a plan of every release would do), a target file that does not load.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stardust_git.gitio import Git
from stardust_git.models import Release
from stardust_git.models.receipt import Receipt
from stardust_git.plan import Plan, compute_plan, refuse_unknown_upcs
from stardust_git.receipts import live_delivery, load_recorded
from stardust_git.source.catalog import TARGETS_DIR
from stardust_git.source.tree import Tree


@dataclass(frozen=True)
class Explanation:
    """What the plan does with one release at one target."""

    upc: str
    target: str
    decision: str
    """initial, update, takedown, held, blocked, nothing or not examined."""
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"upc": self.upc, "target": self.target, "decision": self.decision, "why": self.why}

    def line(self) -> str:
        """``UPC -> target: decision: why``."""
        return f"{self.upc} -> {self.target}: {self.decision}: {self.why}"


@dataclass(frozen=True)
class ExplainRequest:
    """The plan options ``--explain`` is read with."""

    base: str | None = None
    head: str | None = None
    all_: bool = False
    targets: list[str] | None = None
    today: dt.date | None = None


def explain(root: Path, upcs: list[str], request: ExplainRequest) -> list[Explanation]:
    """One :class:`Explanation` per target of each release of ``upcs`` (a usage error names an
    unknown UPC)."""
    from stardust_git.checks.conflicts import release_upcs

    git = Git(root)
    tree = Tree(git, git.commit_of(request.head) if request.head else None)
    refuse_unknown_upcs(release_upcs(tree), set(upcs), "--explain")
    plan = _plan(root, upcs, request, request.base, request.all_)
    found = [line for upc in upcs for line in _explain_release(plan, upc, request)]
    outside = sorted({line.upc for line in found if line.decision == "not examined"})
    if not outside:
        return found
    wide = _plan(root, outside, request, None, True)
    return [_outside(line, wide, plan, request) if line.upc in outside else line for line in found]


def _plan(
    root: Path, upcs: list[str], request: ExplainRequest, base: str | None, all_: bool
) -> Plan:
    head, targets, today = request.head, request.targets, request.today
    return compute_plan(root, base, head, all_, today, targets, only=upcs)


def _outside(line: Explanation, wide: Plan, plan: Plan, request: ExplainRequest) -> Explanation:
    """A release the diff left alone: say so, and what a plan of every release would do."""
    whole = next(w for w in _explain_release(wide, line.upc, request) if w.target == line.target)
    since = (plan.base or "")[:12]
    why = f"outside the --base scope (unchanged since {since}); with --all: {whole.decision}"
    return Explanation(line.upc, line.target, "not examined", f"{why}: {whole.why}")


def _explain_release(plan: Plan, upc: str, request: ExplainRequest) -> list[Explanation]:
    catalog = plan.catalog
    assert catalog is not None
    loaded = next((r for r in catalog.releases.values() if r.model.upc == upc), None)
    receipts = _receipts(plan, catalog.root, upc)
    names = _target_names(plan, loaded.model if loaded else None, receipts, request.targets)
    if loaded is None:
        why = _unexamined(plan, upc)
        decision = "nothing" if why.startswith("catalog/") else "not examined"
        return [Explanation(upc, name, decision, why) for name in names]
    explainer = _Target(plan, loaded.model, receipts)
    return [explainer.explain(name) for name in names]


def _receipts(plan: Plan, root: Path, upc: str) -> dict[str, Receipt]:
    return load_recorded(Tree(Git(root), plan.head), {upc}).get(upc, {})


def _target_names(
    plan: Plan, release: Release | None, receipts: dict[str, Receipt], only: list[str] | None
) -> list[str]:
    """The targets to explain: every target file, loaded or not, and those the release and its
    receipts name (``--target`` restricts them)."""
    assert plan.catalog is not None
    names = set(plan.catalog.targets) | set(receipts) | _broken_targets(plan)
    names |= set(release.targets) if release else set()
    return sorted(names & set(only) if only else names)


def _broken_targets(plan: Plan) -> set[str]:
    assert plan.catalog is not None
    errors = plan.catalog.diagnostics.errors
    return {Path(d.path).stem for d in errors if d.path.startswith(f"{TARGETS_DIR}/")}


def _unexamined(plan: Plan, upc: str) -> str:
    """Why a release of the catalog was not planned: its file does not validate, or the diff
    left it alone."""
    from stardust_git.checks.conflicts import release_upcs

    catalog = plan.catalog
    assert catalog is not None
    held = release_upcs(Tree(Git(catalog.root), plan.head))
    paths = sorted(path for path, found in held.items() if found == upc)
    broken = [path for path in paths if path in catalog.unreadable | catalog.refused]
    if broken:
        return f"{broken[0]} does not validate (run stardust-git validate)"
    return "outside the --base scope"


class _Target:
    """Explains the plan's decision for one release at each target."""

    def __init__(self, plan: Plan, release: Release, receipts: dict[str, Receipt]) -> None:
        self.plan = plan
        self.release = release
        self.receipts = receipts

    def explain(self, name: str) -> Explanation:
        decision, why = self._planned(name) or self._not_planned(name)
        return Explanation(self.release.upc, name, decision, why)

    def _planned(self, name: str) -> tuple[str, str] | None:
        key = (self.release.upc, name)
        for planned in self.plan.actions:
            if (planned.upc, planned.target) == key:
                return planned.action, "; ".join(planned.why())
        for planned in self.plan.blocked:
            if (planned.upc, planned.target) == key:
                return "blocked", f"{planned.action} stopped by the gate: {planned.blocked}"
        for held in self.plan.held:
            if (held.upc, held.target) == key:
                return "held", f"{held.action} held until deliver_after {held.until}"
        return None

    def _not_planned(self, name: str) -> tuple[str, str]:
        return "nothing", self._target_problem(name) or self._state(name)

    def _target_problem(self, name: str) -> str:
        assert self.plan.catalog is not None
        if name in self.plan.catalog.targets:
            return ""
        broken = [p for p in self.plan.problems if p.startswith(f"{TARGETS_DIR}/{name}.")]
        if broken:
            return "the target file does not load: " + "; ".join(broken)
        return f"no {TARGETS_DIR}/{name}.yaml"

    def _state(self, name: str) -> str:
        receipt = self.receipts.get(name)
        last_ok = receipt.last_success() if receipt else None
        if last_ok is not None and last_ok.action == "takedown":
            return f"taken down already ({_when(last_ok.commit, last_ok.finished)})"
        if name not in self.release.targets:
            return "not listed in `targets:`"
        if self.release.takedown:
            return "takedown: true, and never delivered there"
        if live_delivery(receipt) is not None and last_ok is not None:
            return f"unchanged since the last delivery ({_when(last_ok.commit, last_ok.finished)})"
        problems = [p for p in self.plan.problems if self.release.upc in p or name in p]
        return "; ".join(problems) or "not planned (see the plan's notes)"


def _when(commit: str, moment: dt.datetime) -> str:
    return f"commit {commit[:12]}, {moment:%Y-%m-%d %H:%M} UTC"
