"""``deliver --resend`` (the full package again, with the reason in the receipt) and ``--only`` on
plan and deliver, in real git repositories through the CLI and the core API."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lxml import etree

from stardust_git.deliver import DeliverOptions, deliver
from stardust_git.errors import UsageError
from stardust_git.plan import Resend, compute_plan
from stardust_git.receipts import read_receipt
from stardust_git.xsd import get_schema
from tests.gitrepo import UPCS, Repo, make_catalog
from tests.test_plan import run_deliver
from tests.test_plan_values import cli, two_delivered

UPC, OTHER, THIRD = UPCS[0], UPCS[1], UPCS[2]
REASON = "Shop ticket #4411: the audio never arrived"


@pytest.fixture
def delivered(tmp_path: Path) -> Repo:
    """UPC live at alpha and beta, OTHER live at beta only; receipts committed."""
    return two_delivered(tmp_path)


def sent_files(repo: Repo, target: str) -> list[Path]:
    return sorted(p for p in (repo.root / "outbox" / target).rglob("*") if p.is_file())


def test_resend_sends_the_full_package_again_and_records_why(delivered: Repo) -> None:
    shutil.rmtree(delivered.root / "outbox" / "alpha")  # the shop lost what it was sent
    assert (
        cli(delivered, "plan").stdout.strip().endswith("nothing to deliver (2 releases examined)")
    )

    done = cli(delivered, "deliver", "--resend", UPC, "--target", "alpha", "--reason", REASON)

    assert done.returncode == 0, done.stderr
    assert f"delivered {UPC} -> alpha (update)" in done.stderr
    names = sorted(p.name for p in sent_files(delivered, "alpha"))
    assert names == [f"{UPC}.jpg", f"{UPC}.xml", f"{UPC}_01_001.wav"]
    message = next(p for p in sent_files(delivered, "alpha") if p.suffix == ".xml")
    document = etree.parse(str(message))
    get_schema("4.3").assertValid(document)
    receipt = read_receipt(delivered.root, UPC, "alpha")
    assert receipt is not None
    last, first = receipt.history[-1], receipt.history[0]
    assert (last.action, last.status, last.resend, last.reason) == (
        "update",
        "success",
        True,
        REASON,
    )
    assert sorted(f.name.rsplit("/", 1)[-1] for f in last.files) == names
    assert last.fingerprint == first.fingerprint  # the same content, sent again
    written = json.loads((delivered.root / f"receipts/{UPC}/alpha.json").read_text())
    assert "resend" not in written["history"][0] and "reason" not in written["history"][0]
    assert written["history"][-1]["reason"] == REASON
    assert read_receipt(delivered.root, UPC, "beta").history[-1].resend is False  # type: ignore[union-attr]


def test_resend_refuses_a_release_that_is_not_live_there(delivered: Repo) -> None:
    before = sent_files(delivered, "alpha")
    done = cli(
        delivered, "deliver", "--resend", f"{UPC},{OTHER}", "--target", "alpha", "--reason", "x"
    )

    assert done.returncode == 2
    assert f"--resend {OTHER}: not live at 'alpha' (never delivered there)" in done.stderr
    assert sent_files(delivered, "alpha") == before  # nothing was sent, not even UPC
    assert len(read_receipt(delivered.root, UPC, "alpha").history) == 1  # type: ignore[union-attr]


def test_resend_refuses_a_release_taken_down(delivered: Repo) -> None:
    path = f"catalog/{OTHER}.yaml"
    delivered.write(path, delivered.read(path) + "takedown: true\n")
    delivered.commit("Take it down")
    run_deliver(delivered)

    with pytest.raises(UsageError, match=rf"--resend {OTHER}: not live at 'beta' \(taken down"):
        compute_plan(delivered.root, targets=["beta"], resend=Resend(frozenset({OTHER}), "x"))


def test_a_failed_resend_is_retried_by_the_next_run(delivered: Repo) -> None:
    outbox = delivered.root / "outbox" / "alpha"
    shutil.rmtree(outbox)
    outbox.write_text("not a folder: every upload there fails")
    options = DeliverOptions(
        targets=["alpha"], resend=Resend(frozenset({UPC}), REASON), commit=True, retry_wait=0.01
    )

    failed = deliver(delivered.root, options)
    outbox.unlink()
    again = deliver(delivered.root, DeliverOptions(commit=True))

    assert [(o.upc, o.status, o.stage) for o in failed.outcomes] == [(UPC, "failed", "upload")]
    assert [(a.upc, a.target, a.reasons) for a in again.plan.actions] == [
        (UPC, "alpha", [f"resend: {REASON}", "retry: previous attempt failed"])
    ]
    assert [(o.upc, o.status) for o in again.outcomes] == [(UPC, "success")]
    history = read_receipt(delivered.root, UPC, "alpha").history  # type: ignore[union-attr]
    assert [(d.status, d.resend, d.reason) for d in history] == [
        ("success", False, ""),
        ("failed", True, REASON),
        ("success", True, REASON),
    ]
    assert any(p.suffix == ".wav" for p in sent_files(delivered, "alpha"))
    assert compute_plan(delivered.root).actions == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resend", UPC, "--reason", "x"], "--resend needs --target NAME"),
        (["--resend", UPC, "--target", "alpha"], "--resend needs --reason TEXT"),
        (["--reason", "x"], "--reason goes with --resend UPC"),
        (["--resend", "0000000000000", "--target", "alpha", "--reason", "x"], "no release file"),
    ],
)
def test_resend_usage_errors(delivered: Repo, args: list[str], message: str) -> None:
    done = cli(delivered, "deliver", *args)

    assert done.returncode == 2, done.stderr
    assert message in done.stderr


def test_a_resend_passes_the_gate(delivered: Repo) -> None:
    audio = delivered.root / "assets" / UPC / "01.wav"
    audio.write_bytes(audio.read_bytes()[:12000])
    delivered.commit("The audio got truncated")
    options = DeliverOptions(targets=["alpha"], resend=Resend(frozenset({UPC}), "x"))

    result = deliver(delivered.root, options)

    assert [(o.upc, o.status, o.stage) for o in result.outcomes] == [(UPC, "failed", "gate")]
    assert "truncated WAV" in result.outcomes[0].error


# --- --only ----------------------------------------------------------------------------------


@pytest.fixture
def three_new(tmp_path: Path) -> Repo:
    repo = make_catalog(tmp_path)
    for upc, title in ((UPC, "One"), (OTHER, "Two"), (THIRD, "Three")):
        repo.add_release(upc, title, targets=("alpha",))
    repo.commit("Three releases")
    return repo


def test_only_restricts_the_plan_comma_separated_or_repeated(three_new: Repo) -> None:
    done = cli(three_new, "plan", "--only", f"{UPC},{THIRD}", "--format", "json")
    repeated = cli(three_new, "plan", "--only", UPC, "--only", THIRD, "--format", "json")

    assert done.returncode == 0, done.stderr
    planned = [(a["upc"], a["action"]) for a in json.loads(done.stdout)["actions"]]
    assert planned == [(UPC, "initial"), (THIRD, "initial")]
    assert json.loads(repeated.stdout) == json.loads(done.stdout)


def test_only_restricts_a_delivery(three_new: Repo) -> None:
    done = cli(three_new, "deliver", "--only", OTHER)

    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (three_new.root / "receipts").iterdir()) == [OTHER]
    assert [a.upc for a in compute_plan(three_new.root).actions] == [UPC, THIRD]


def test_only_narrows_the_diff_never_widens_it(three_new: Repo) -> None:
    base = three_new.head()
    three_new.add_release(UPCS[3], "Four", targets=("alpha",))
    three_new.commit("A fourth")

    plan = compute_plan(three_new.root, base, only=[UPC, UPCS[3]])

    assert [a.upc for a in plan.actions] == [UPCS[3]]


@pytest.mark.parametrize("command", ["plan", "deliver"])
def test_only_refuses_an_unknown_upc(three_new: Repo, command: str) -> None:
    done = cli(three_new, command, "--only", f"{UPC},0000000000000")

    assert done.returncode == 2
    assert "--only 0000000000000: no release file in catalog/ has this UPC" in done.stderr
    assert not (three_new.root / "receipts").exists()
