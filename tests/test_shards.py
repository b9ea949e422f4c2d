"""The shard matrix: ``plan --shards`` sizes the work, ``deliver --shard I/N`` runs one share.

The proof without GitHub: N real ``stardust-git deliver --shard i/N --push`` processes start at
once, each in its own clone of one bare origin (N runners), and every planned delivery happens
exactly once and every receipt lands on origin.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from stardust_git.errors import UserError
from stardust_git.shards import ShardSettings, in_shard, parse_size, shard_count, shard_of
from tests.gitrepo import Repo, clone, git, git_env, make_catalog
from tests.test_workflows import context_for, run_job, write_workflows


def upc_a(number: int) -> str:
    """A valid UPC-A: eleven digits from ``number`` and their check digit."""
    digits = f"{number:011d}"
    odd = sum(int(d) for d in digits[0::2])
    even = sum(int(d) for d in digits[1::2])
    return digits + str((10 - (odd * 3 + even) % 10) % 10)


RELEASES = [upc_a(50000000000 + index) for index in range(9)]


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["stardust-git", *args], cwd=root, capture_output=True, text=True, check=False
    )


def nine_releases(tmp_path: Path) -> Repo:
    """Nine releases for alpha (batch choreography) and beta, committed and pushed."""
    repo = make_catalog(tmp_path)
    repo.write("targets/alpha.yaml", repo.read("targets/alpha.yaml") + "  choreography: batch\n")
    for upc in RELEASES:
        repo.add_release(upc)
    repo.commit("Nine releases")
    repo.push()
    return repo


# --- sizing -------------------------------------------------------------------------------------


def test_one_shard_per_so_many_deliveries_or_bytes_capped() -> None:
    settings = ShardSettings(deliveries=10, bytes=1000, most=4)

    assert shard_count(0, 0, 0, settings) == 1
    assert shard_count(10, 10, 0, settings) == 1
    assert shard_count(11, 11, 0, settings) == 2
    assert shard_count(5, 5, 2500, settings) == 3  # the bytes need more runners
    assert shard_count(100, 100, 0, settings) == 4  # capped
    assert shard_count(30, 2, 0, settings) == 2  # a release is never split


def test_a_release_stays_in_its_shard() -> None:
    for count in (1, 2, 3, 7):
        for upc in RELEASES:
            homes = [index for index in range(1, count + 1) if in_shard(upc, (index, count))]
            assert homes == [shard_of(upc, count)]
    assert {shard_of(upc, 3) for upc in RELEASES} == {1, 2, 3}  # the hash spreads them


def test_sizes_read_with_binary_units() -> None:
    assert [parse_size(text) for text in ("500", "2K", "1.5M", "20G", "1TiB")] == [
        500,
        2048,
        1572864,
        20 * 1024**3,
        1024**4,
    ]
    for bad in ("", "lots", "-1G", "0", "nan", "infG"):
        with pytest.raises(UserError):
            parse_size(bad)


def test_plan_shards_prints_the_matrix(tmp_path: Path) -> None:
    repo = nine_releases(tmp_path)

    by_deliveries = cli(repo.root, "plan", "--shards", "--per-shard", "5")
    capped = cli(repo.root, "plan", "--shards", "--per-shard", "5", "--max-shards", "2")
    by_bytes = cli(repo.root, "plan", "--shards", "--per-shard-bytes", "1M")
    bad = cli(repo.root, "plan", "--shards", "--per-shard-bytes", "lots")

    assert (by_deliveries.returncode, by_deliveries.stdout) == (0, "[1,2,3,4]\n")
    assert "18 deliveries of 9 releases" in by_deliveries.stderr
    assert "4 shards of" in by_deliveries.stderr
    assert capped.stdout == "[1,2]\n"
    sent = sum(p.stat().st_size for p in (repo.root / "assets").rglob("*") if p.is_file())
    shards = min(-(-sent * 2 // 1024**2), 9)  # each asset goes to two targets
    assert json.loads(by_bytes.stdout) == list(range(1, shards + 1))
    assert bad.returncode == 2 and "not a size" in bad.stderr


# --- N runners at once --------------------------------------------------------------------------


def delivered_by(runner: Repo) -> list[tuple[str, str]]:
    """(UPC, target) of every message in the runner's outbox."""
    outbox = runner.root / "outbox"
    return [
        (message.stem, message.relative_to(outbox).parts[0])
        for message in outbox.rglob("*.xml")
        if message.stem.isdigit()
    ]


def test_shards_run_at_once_deliver_everything_exactly_once(tmp_path: Path) -> None:
    nine_releases(tmp_path)
    count = 3
    planned = json.loads(cli(clone(tmp_path, "planner").root, "plan", "--format", "json").stdout)
    wanted = sorted((a["upc"], a["target"]) for a in planned["actions"])
    runners = [clone(tmp_path, f"runner-{index}") for index in range(1, count + 1)]

    processes = [
        subprocess.Popen(
            ["stardust-git", "deliver", "--shard", f"{index}/{count}", "--commit", "--push"],
            cwd=runner.root,
            env=git_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for index, runner in enumerate(runners, start=1)
    ]
    outputs = [process.communicate(timeout=600)[0] for process in processes]

    assert [process.returncode for process in processes] == [0] * count, outputs
    sent = [pair for runner in runners for pair in delivered_by(runner)]
    assert len(wanted) == 18
    assert sorted(sent) == wanted  # every delivery, none twice
    for index, runner in enumerate(runners, start=1):
        assert {upc for upc, _ in delivered_by(runner)} == {
            upc for upc in RELEASES if shard_of(upc, count) == index
        }
        for batch in (runner.root / "outbox" / "alpha").glob("*"):
            assert len(list(batch.glob("BatchComplete_*.xml"))) == 1  # one per shard batch
    origin = tmp_path / "origin.git"
    landed = git(origin, "ls-tree", "-r", "--name-only", "main", "receipts").splitlines()
    assert landed == sorted(f"receipts/{upc}/{target}.json" for upc, target in wanted)
    for path in landed:
        receipt = json.loads(git(origin, "show", f"main:{path}"))
        assert [d["status"] for d in receipt["history"]] == ["success"]
    again = cli(clone(tmp_path, "after").root, "plan", "--shards")
    assert "0 deliveries" in again.stderr and again.stdout == "[1]\n"


# --- the workflow's plan job --------------------------------------------------------------------


def test_the_deliver_workflows_plan_job_emits_the_shard_matrix(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    write_workflows(repo)
    workflow = repo.read(".github/workflows/deliver.yml")
    repo.write(
        ".github/workflows/deliver.yml",
        workflow.replace('STARDUST_PER_SHARD: "500"', 'STARDUST_PER_SHARD: "5"'),
    )
    before = repo.commit("The workflows, five deliveries a runner")
    for upc in RELEASES:
        repo.add_release(upc)
    repo.commit("Nine releases")
    repo.push()
    runner = clone(tmp_path, "runner")
    context = context_for(runner, {"before": before}, "push")

    results = run_job("deliver.yml", "plan", runner.root, context, tmp_path / "rt")

    assert [(r.name, r.returncode) for r in results] == [("Plan the shards", 0)], results
    assert (tmp_path / "rt" / "output").read_text() == "shards=[1,2,3,4]\n"
    summary = (tmp_path / "rt" / "summary.md").read_text()
    assert summary.startswith("18 deliveries of 9 releases") and "4 shards" in summary
