"""Plan output: the markdown of PR comments stays under GitHub's limit; tables; exit codes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from stardust_git.commands.plan import COMMENT_MARKER, plan_markdown
from stardust_git.plan import Plan, PlannedAction, changed_fields
from tests.gitrepo import UPCS, make_catalog

GITHUB_COMMENT_LIMIT = 65_535


def big_plan(count: int) -> Plan:
    actions = [
        PlannedAction(
            f"{index:013d}",
            "spotify",
            "update",
            [f"changed: {', '.join(f'tracks[{n}].title' for n in range(12))}"],
        )
        for index in range(count)
    ]
    return Plan(base="a" * 40, head="b" * 40, actions=actions, examined=count)


def test_a_huge_plan_is_cut_with_a_summary_line() -> None:
    text = plan_markdown(big_plan(5_000))

    assert len(text) < GITHUB_COMMENT_LIMIT - 10_000
    assert text.startswith(COMMENT_MARKER)
    assert "5000 deliveries: 5000 update" in text
    rows = [line for line in text.splitlines() if line.startswith("| 0")]
    assert 100 < len(rows) < 5_000
    assert f"{5_000 - len(rows)} more rows not shown" in text


def test_a_small_plan_is_shown_whole_as_one_table() -> None:
    text = plan_markdown(big_plan(3))

    assert text.count("| UPC | Release | Target | Action | Why |") == 1
    assert len([line for line in text.splitlines() if line.startswith("| 0")]) == 3
    assert "not shown" not in text


def test_pipes_in_titles_and_reasons_do_not_break_the_table() -> None:
    plan = Plan(
        base=None,
        head=None,
        actions=[
            PlannedAction("1234567890128", "a|b", "initial", ["new | shiny"]),
        ],
    )

    row = next(line for line in plan_markdown(plan).splitlines() if line.startswith("| 1"))

    assert row == "| 1234567890128 |  | a\\|b | Initial | new \\| shiny |"


def test_changed_fields_names_nested_paths() -> None:
    before = {"title": "A", "tracks": [{"title": "x", "duration": 1.0}], "deals": [1]}
    after = {"title": "B", "tracks": [{"title": "x", "duration": 2.0}], "deals": [1, 2]}

    assert changed_fields(before, after) == ["deals", "title", "tracks[0].duration"]
    assert changed_fields(before, before) == []


def test_the_table_names_each_action_and_its_reason(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    base = repo.head()
    repo.add_release(UPCS[0], "Summer Vibes", deliver_after="2999-01-01")
    repo.add_release(UPCS[1], "Night Shift", targets=("beta",))
    repo.commit("Two releases")

    done = subprocess.run(
        ["stardust-git", "plan", "--base", base],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(UPCS[1] in line and "Night Shift" in line and "Initial" in line for line in lines)
    assert any(UPCS[0] in line and "held (Initial)" in line for line in lines)
    assert lines[-1] == "1 delivery: 1 initial, 2 held (2 releases examined)"
