"""``stardust-git notices``: one issue per target while its deliveries fail, closed once delivered.

Failures are real: the local target ``beta`` delivers into ``outbox/beta``, which the test makes
a file, so every delivery to it fails and is recorded as failed in the receipts.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.gitrepo import UPCS, Repo, make_catalog
from tests.test_workflows import StepResult, context_for, run_job, write_workflows


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["stardust-git", *args], cwd=root, capture_output=True, text=True, check=False
    )


def notices(root: Path) -> dict[str, dict[str, Any]]:
    done = cli(root, "notices", "--format", "json")
    assert done.returncode == 0, done.stderr
    return {notice["target"]: notice for notice in json.loads(done.stdout)}


def failing_beta(tmp_path: Path) -> Repo:
    """Two releases delivered: to alpha, and (failing) to beta."""
    repo = make_catalog(tmp_path)
    repo.add_release(UPCS[0], "Summer Vibes")
    repo.add_release(UPCS[1], "<script>alert(1)</script> @indie/team")
    repo.commit("Two releases")
    repo.write("outbox/beta", "not a folder\n")
    delivered = cli(repo.root, "deliver", "--commit")
    assert delivered.returncode == 1, delivered.stdout + delivered.stderr
    return repo


def test_a_target_whose_deliveries_failed_gets_one_open_notice_listing_them(
    tmp_path: Path,
) -> None:
    repo = failing_beta(tmp_path)

    found = notices(repo.root)

    assert {target: notice["state"] for target, notice in found.items()} == {
        "alpha": "closed",
        "beta": "open",
    }
    beta = found["beta"]
    assert beta["title"] == "Deliveries to beta failed"
    assert [f["upc"] for f in beta["failures"]] == [UPCS[0], UPCS[1]]
    assert all(f["action"] == "initial" and f["error"] for f in beta["failures"])
    assert "outbox/beta" in beta["failures"][0]["error"]
    assert f"| {UPCS[0]} | Summer Vibes | initial |" in beta["body"]
    assert "2 releases could not be delivered to **beta**" in beta["body"]


def test_catalog_text_in_a_notice_is_shown_not_obeyed(tmp_path: Path) -> None:
    body = notices(failing_beta(tmp_path).root)["beta"]["body"]

    assert "<script>" not in body and "&lt;script&gt;" in body
    assert "@indie/team" not in body  # nobody is notified


def test_the_notice_closes_once_the_failures_are_delivered(tmp_path: Path) -> None:
    repo = failing_beta(tmp_path)
    (repo.root / "outbox" / "beta").unlink()

    delivered = cli(repo.root, "deliver", "--commit")

    assert delivered.returncode == 0, delivered.stdout + delivered.stderr
    beta = notices(repo.root)["beta"]
    assert (beta["state"], beta["failures"]) == ("closed", [])
    assert beta["title"] == "Deliveries to beta failed"  # the same issue is found and closed


def test_a_target_dropped_from_the_release_owes_it_nothing(tmp_path: Path) -> None:
    repo = failing_beta(tmp_path)
    for upc in UPCS[:2]:
        path = f"catalog/{upc}.yaml"
        repo.write(path, repo.read(path).replace("targets: [alpha, beta]", "targets: [alpha]"))
    repo.commit("No more beta")

    found = notices(repo.root)

    assert found["beta"]["state"] == "closed"


def test_the_text_format_says_a_line_per_target(tmp_path: Path) -> None:
    done = cli(failing_beta(tmp_path).root, "notices")

    assert done.stdout.splitlines() == [
        "closed  alpha: nothing failed",
        "open    beta: 2 failed releases",
    ]


# --- the workflow step, with a stand-in for the gh CLI (tests/bin/gh) ----------------------------


def run_notices_job(repo: Repo, runner_temp: Path, state: Path) -> list[StepResult]:
    context = context_for(repo, {"repository": {"default_branch": "main"}}, "schedule")
    path = f"{Path(__file__).parent / 'bin'}{os.pathsep}{os.environ['PATH']}"
    runner_env = {"PATH": path, "FAKE_GH_STATE": str(state)}
    return run_job("reconcile.yml", "notices", repo.root, context, runner_temp, runner_env)


def test_the_workflow_opens_updates_then_closes_one_issue_per_target(tmp_path: Path) -> None:
    repo = failing_beta(tmp_path)
    write_workflows(repo)
    repo.commit("The workflows")
    state = tmp_path / "github.json"

    first = run_notices_job(repo, tmp_path / "rt1", state)
    second = run_notices_job(repo, tmp_path / "rt2", state)
    opened = json.loads(state.read_text())["issues"]
    (repo.root / "outbox" / "beta").unlink()
    assert cli(repo.root, "deliver", "--commit").returncode == 0
    third = run_notices_job(repo, tmp_path / "rt3", state)

    for results in (first, second, third):
        assert [r.returncode for r in results] == [0, 0], results
    [issue] = opened  # created once, then updated in place; alpha never had one
    assert (issue["title"], issue["state"], issue["labels"]) == (
        "Deliveries to beta failed",
        "open",
        ["stardust-git-delivery"],
    )
    assert f"| {UPCS[0]} | Summer Vibes | initial |" in issue["body"]
    [closed] = json.loads(state.read_text())["issues"]
    assert closed["state"] == "closed"
    assert closed["comments"] == ["Every delivery to beta that had failed has since succeeded."]
    assert "Deliveries to beta failed: 2" in (tmp_path / "rt1" / "summary.md").read_text()
