"""Deliveries into real directories from real git repositories: receipts, retries, races."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from pathlib import Path

import pytest

from stardust_git.deliver import DeliverOptions, DeliverResult, deliver, in_shard, parse_shard
from stardust_git.errors import UserError
from stardust_git.gitio import Git, push_with_retry
from stardust_git.plan import compute_plan
from stardust_git.receipts import merge_receipt_files, read_receipt
from tests.gitrepo import UPCS, Repo, clone, git, make_catalog

UPC, OTHER = UPCS[0], UPCS[1]


def run(repo: Repo, **options: object) -> DeliverResult:
    return deliver(repo.root, DeliverOptions(retry_wait=0.01, **options))  # type: ignore[arg-type]


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_catalog(tmp_path)


def delivered_folders(repo: Repo, target: str) -> list[Path]:
    outbox = repo.root / "outbox" / target
    return sorted(p for p in outbox.iterdir() if p.is_dir()) if outbox.is_dir() else []


def test_a_delivery_lands_in_the_ddex_layout_and_its_receipt_records_it(repo: Repo) -> None:
    base = repo.head()
    repo.add_release(UPC, targets=("alpha",))
    head = repo.commit("Add")

    result = run(repo, base=base, commit=True)

    (folder,) = delivered_folders(repo, "alpha")
    assert folder.name.startswith(f"N_{UPC}_")
    sent = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert sent == [f"{UPC}.xml", f"resources/{UPC}.jpg", f"resources/{UPC}_01_001.wav"]
    receipt = read_receipt(repo.root, UPC, "alpha")
    assert receipt is not None
    (entry,) = receipt.history
    assert (entry.action, entry.status, entry.commit, entry.format) == (
        "initial",
        "success",
        head,
        "ern/4.3",
    )
    for file in entry.files:
        data = (folder / file.name).read_bytes()
        assert (file.bytes, file.md5) == (len(data), hashlib.md5(data).hexdigest())
    assert entry.location == f"local:outbox/alpha/{folder.name}"
    assert entry.message_id and entry.message_id in (folder / f"{UPC}.xml").read_text()
    assert result.commit == repo.head()
    assert repo.git("log", "-1", "--format=%s").endswith("[skip ci]")
    assert repo.git("status", "--porcelain") == ""


def test_a_failed_delivery_is_recorded_and_retried_by_the_next_run(repo: Repo) -> None:
    base = repo.head()
    repo.add_release(UPC)
    repo.commit("Add")
    (repo.root / "outbox").mkdir()
    (repo.root / "outbox" / "beta").write_text("a file where the directory should be\n")

    first = run(repo, base=base, commit=True)

    assert [(o.target, o.status) for o in first.outcomes] == [
        ("alpha", "success"),
        ("beta", "failed"),
    ]
    assert not first.ok
    failed = read_receipt(repo.root, UPC, "beta")
    assert failed is not None and failed.last().status == "failed"  # type: ignore[union-attr]
    assert "outbox/beta" in (failed.last().error or "")  # type: ignore[union-attr]
    (repo.root / "outbox" / "beta").unlink()
    repo.write("targets/README.md", "unrelated change\n")
    after_failure = repo.head()
    repo.commit("An unrelated commit")

    plan = compute_plan(repo.root, after_failure)
    second = run(repo, base=after_failure, commit=True)

    assert [(a.target, a.action, a.reasons) for a in plan.actions] == [
        ("beta", "initial", ["new", "retry: previous attempt failed"])
    ]
    assert [(o.target, o.status) for o in second.outcomes] == [("beta", "success")]
    history = read_receipt(repo.root, UPC, "beta").history  # type: ignore[union-attr]
    assert [d.status for d in history] == ["failed", "success"]
    assert f"receipts/.retry/{UPC}.beta" in repo.git("show", "--name-only", "HEAD~2")
    assert not (repo.root / "receipts" / ".retry").exists() or not any(
        (repo.root / "receipts" / ".retry").iterdir()
    )
    assert repo.git("status", "--porcelain") == ""
    assert compute_plan(repo.root, after_failure).actions == []


def test_the_circuit_breaker_stops_a_failing_target_after_three_failures(repo: Repo) -> None:
    base = repo.head()
    for upc in UPCS:
        repo.add_release(upc, targets=("beta",))
    repo.commit("Four releases")
    (repo.root / "outbox").mkdir()
    (repo.root / "outbox" / "beta").write_text("not a directory\n")

    result = run(repo, base=base)

    assert [o.status for o in result.outcomes] == ["failed"] * 4
    attempts = [read_receipt(repo.root, upc, "beta").last().attempts for upc in sorted(UPCS)]  # type: ignore[union-attr]
    assert sorted(attempts) == [0, 1, 1, 1]
    skipped = [o for o in result.outcomes if o.attempts == 0]
    assert "in a row failed" in skipped[0].error


def test_a_rerun_resumes_without_rewriting_files_already_there(repo: Repo) -> None:
    base = repo.head()
    repo.add_release(UPC, targets=("alpha",))
    repo.commit("Add")
    run(repo, base=base, dry_run=True)
    first = run(repo, base=base)
    (folder,) = delivered_folders(repo, "alpha")
    audio = folder / "resources" / f"{UPC}_01_001.wav"
    message = folder / f"{UPC}.xml"
    inodes = (audio.stat().st_ino, message.stat().st_ino)
    # Forget the delivery (as if the receipt had been lost) and deliver the same commit again.
    (repo.root / "receipts" / UPC / "alpha.json").unlink()

    second = run(repo, base=base)

    assert [o.status for o in first.outcomes + second.outcomes] == ["success", "success"]
    assert delivered_folders(repo, "alpha") == [folder]
    assert audio.stat().st_ino == inodes[0]  # skipped: same size and MD5
    assert message.stat().st_ino != inodes[1]  # the message is always written


def test_dry_run_renders_and_validates_but_sends_and_records_nothing(repo: Repo) -> None:
    base = repo.head()
    repo.add_release(UPC)
    repo.commit("Add")

    result = run(repo, base=base, dry_run=True, commit=True)

    assert [(o.target, o.status) for o in result.outcomes] == [
        ("alpha", "rendered"),
        ("beta", "rendered"),
    ]
    assert not (repo.root / "outbox").exists()
    assert not (repo.root / "receipts").exists()
    assert result.commit is None


def test_deliver_refuses_uncommitted_catalog_changes(repo: Repo) -> None:
    repo.add_release(UPC)

    with pytest.raises(UserError, match="uncommitted"):
        run(repo)


def test_shards_split_the_plan_without_overlap(repo: Repo) -> None:
    base = repo.head()
    for upc in UPCS:
        repo.add_release(upc)
    repo.commit("Four releases")
    plan = compute_plan(repo.root, base)

    shares = [
        {(a.upc, a.target) for a in plan.actions if in_shard(a.upc, (index, 3))}
        for index in (1, 2, 3)
    ]

    assert set.union(*shares) == {(a.upc, a.target) for a in plan.actions}
    assert sum(len(share) for share in shares) == len(plan.actions) == 8
    for share in shares:  # every target of a release lands in the same shard
        assert all((upc, "alpha") in share for upc, _ in share)
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/3", "4/3", "x", "1/0"):
        with pytest.raises(UserError):
            parse_shard(bad)


def test_sharded_runs_deliver_each_release_once(repo: Repo) -> None:
    base = repo.head()
    for upc in UPCS:
        repo.add_release(upc, targets=("alpha",))
    repo.commit("Four releases")

    outcomes = [run(repo, base=base, shard=(index, 2)).outcomes for index in (1, 2)]

    delivered = sorted(o.upc for share in outcomes for o in share)
    assert delivered == sorted(UPCS)
    assert compute_plan(repo.root, base).actions == []


def test_batch_choreography_writes_batch_complete_last(repo: Repo) -> None:
    target = repo.read("targets/alpha.yaml") + "  choreography: batch\n"
    repo.write("targets/alpha.yaml", target)
    base = repo.commit("alpha takes batches")
    repo.add_release(UPC, targets=("alpha",))
    repo.add_release(OTHER, targets=("alpha",))
    repo.commit("Two releases")

    result = run(repo, base=base)

    assert [o.status for o in result.outcomes] == ["success", "success"]
    (batch,) = delivered_folders(repo, "alpha")
    files = sorted(batch.rglob("*"), key=lambda p: p.stat().st_mtime_ns)
    assert files[-1].name.startswith("BatchComplete_")
    assert {p.name for p in batch.iterdir() if p.is_dir()} == {UPC, OTHER}


def test_a_large_batch_is_split_into_batches_of_its_own(repo: Repo) -> None:
    repo.write("targets/alpha.yaml", repo.read("targets/alpha.yaml") + "  choreography: batch\n")
    base = repo.commit("alpha takes batches")
    for upc in UPCS[:3]:
        repo.add_release(upc, targets=("alpha",))
    repo.commit("Three releases")

    result = run(repo, base=base, batch_size=2)

    assert [o.status for o in result.outcomes] == ["success"] * 3
    batches = delivered_folders(repo, "alpha")
    assert len(batches) == 2
    assert sorted(len([p for p in b.iterdir() if p.is_dir()]) for b in batches) == [1, 2]
    completes = {p.name for b in batches for p in b.glob("BatchComplete_*.xml")}
    assert len(completes) == 2


def test_two_runs_racing_to_push_both_land_and_nothing_is_sent_twice(
    repo: Repo, tmp_path: Path
) -> None:
    start = repo.head()
    repo.add_release(UPC, targets=("alpha",))
    first = repo.commit("Add one")
    repo.add_release(OTHER, targets=("alpha",))
    second = repo.commit("Add another")
    repo.push()
    runner_a, runner_b = clone(tmp_path, "runner-a"), clone(tmp_path, "runner-b")
    results: dict[str, DeliverResult] = {}

    def work(name: str, runner: Repo, base: str, head: str) -> None:
        results[name] = run(runner, base=base, head=head, commit=True, push=True)

    threads = [
        threading.Thread(target=work, args=("a", runner_a, start, first)),
        threading.Thread(target=work, args=("b", runner_b, first, second)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [o.upc for o in results["a"].outcomes] == [UPC]
    assert [o.upc for o in results["b"].outcomes] == [OTHER]
    origin = tmp_path / "origin.git"
    landed = git(origin, "ls-tree", "-r", "--name-only", "main", "receipts").splitlines()
    assert landed == [f"receipts/{UPC}/alpha.json", f"receipts/{OTHER}/alpha.json"]
    latest = clone(tmp_path, "after")
    assert compute_plan(latest.root, all_=True).actions == []


def test_a_receipt_push_rejected_by_a_moved_remote_is_rebased_and_lands(
    repo: Repo, tmp_path: Path
) -> None:
    start = repo.head()
    repo.add_release(UPC, targets=("alpha",))
    first = repo.commit("Add one")
    repo.add_release(OTHER, targets=("alpha",))
    second = repo.commit("Add another")
    repo.push()
    runner_a, runner_b = clone(tmp_path, "runner-a"), clone(tmp_path, "runner-b")
    run(runner_a, base=start, head=first, commit=True)  # committed, not pushed yet
    run(runner_b, base=first, head=second, push=True)  # pushes first

    attempts = push_with_retry(Git(runner_a.root), "origin", "main", merge_receipt_files)

    assert attempts == 2
    origin = tmp_path / "origin.git"
    log = git(origin, "log", "--format=%s", "main").splitlines()
    assert sum(line.endswith("[skip ci]") for line in log) == 2


def test_a_stale_runner_syncs_first_and_does_not_deliver_again(repo: Repo, tmp_path: Path) -> None:
    base = repo.head()
    repo.add_release(UPC, targets=("alpha",))
    repo.commit("Add")
    repo.push()
    stale = clone(tmp_path, "stale")
    run(repo, base=base, push=True)

    again = run(stale, all_=True, push=True)

    assert again.outcomes == []
    assert not (stale.root / "outbox").exists()


def test_receipts_never_hold_the_secrets_of_a_target(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-value-that-must-not-leak"
    monkeypatch.setenv("BROKEN_FTP_PASSWORD", secret)
    repo.write(
        "targets/gamma.yaml",
        "format: ern\nern_version: '4.3'\n"
        "sender: {party_id: PADPIDA2025110101D, name: Indie Records}\n"
        "recipient: {party_id: PADPIDA2025110102B, name: Gamma}\n"
        "delivery:\n  protocol: ftp\n  host: 127.0.0.1\n  port: 9\n  username: indie\n"
        "  password: ${BROKEN_FTP_PASSWORD}\n  max_attempts: 1\n",
    )
    base = repo.commit("A target nobody listens at")
    repo.add_release(UPC, targets=("gamma",))
    repo.commit("Add for gamma")

    result = run(repo, base=base)

    assert [o.status for o in result.outcomes] == ["failed"]
    text = (repo.root / "receipts" / UPC / "gamma.json").read_text()
    assert secret not in text
    assert json.loads(text)["history"][0]["error"]


def test_status_reports_each_release_at_each_target(repo: Repo) -> None:
    base = repo.head()
    repo.add_release(UPC)
    repo.add_release(OTHER, targets=("beta",))
    repo.commit("Two")
    run(repo, base=base, targets=["alpha"], commit=True)

    done = subprocess.run(
        ["stardust-git", "status", "--format", "json"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )

    rows = {(r["upc"], r["target"]): r for r in json.loads(done.stdout)}
    assert done.returncode == 0, done.stderr
    assert set(rows) == {(UPC, "alpha"), (UPC, "beta"), (OTHER, "beta")}
    assert rows[(UPC, "alpha")]["status"] == "success"
    assert rows[(UPC, "alpha")]["action"] == "initial"
    assert rows[(UPC, "alpha")]["commit"] == repo.git("rev-parse", "HEAD~1")[:12]
    assert rows[(UPC, "beta")]["status"] == rows[(OTHER, "beta")]["status"] == "pending"
    one = subprocess.run(
        ["stardust-git", "status", OTHER],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert one.returncode == 0 and OTHER in one.stdout and UPC not in one.stdout
