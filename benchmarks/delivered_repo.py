"""A delivered catalog repository of N releases, built in minutes rather than hours.

Plan benchmarks need every release delivered once, with the receipts deliver writes. Delivering
100,000 releases into a local target copies every package (hundreds of gigabytes of audio) and
takes hours, so this builder runs deliver's own engine (``stardust_git.deliver``: plan, render
each package as sent, gate it, write its receipt) in parallel shards (``--shard I/N``, the deliver
workflow's split by UPC hash), with one difference: the local target's writes are discarded
(:class:`DiscardingLocal`: the files are not copied; the transport still answers ``location`` as
the local target does, so the receipts are byte for byte those of a real run but for their clock
times). Both leave out the duplicate-recordings check (without_duplicates.py: the benchmark's
media are shared across releases). The shards write disjoint receipts into the one working
tree (the delivery lock, which keeps two runs from planning from each other's half-written
receipts, is not needed for disjoint shards), then the receipts are committed at once and one
release's title is edited and committed (what bench_plan.py measures).

    python benchmarks/delivered_repo.py DIR N [--workers 2]

``--check`` builds the same N releases twice, once delivered for real (``stardust-git deliver
--all --commit``) and once by this builder, and compares every receipt (clock times aside);
then ``plan --all`` on the built one must find nothing to deliver. With one worker the receipts
are equal; with shards, the receipts of batch targets may differ in the batch's moment (placed_at,
the folder in location, the message's md5): each shard places its batches after its own previous
batch, as the deliver workflow's matrix jobs do.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from bench_plan import GIT_ENV, first_release, generate, git  # noqa: E402
from without_duplicates import leave_out_duplicate_recordings  # noqa: E402

WITHOUT_DUPLICATES = str(BENCH_DIR / "without_duplicates.py")


def dry_run_command(head: str) -> list[str]:
    """``deliver --all --dry-run`` of the catalog at ``head``, without the duplicate-recordings
    check (the benchmark media are shared across releases)."""
    return [sys.executable, WITHOUT_DUPLICATES, "deliver", "--all", "--dry-run", "--head", head]


CLOCK_FIELDS = ("started", "finished")
"""Receipt fields that say when a run happened (differ between any two runs)."""


def discarding_transport() -> None:
    """Deliveries to ``local`` targets keep nothing: every byte is read (as an upload reads it)
    and dropped."""
    import stardust_git.deliver as deliver_module
    from stardust_git.protocols import open_transport
    from stardust_git.protocols.local import LocalProtocol

    class DiscardingLocal(LocalProtocol):
        def put_file(self, source, remote_path, md5, progress=None):  # type: ignore[no-untyped-def]
            if progress is not None:
                progress(Path(source).stat().st_size)

        def put_bytes(self, data: bytes, remote_path: str, md5: str) -> None:
            return None

        def held(self, folder):  # type: ignore[no-untyped-def]
            return {}

        def stat(self, remote_path):  # type: ignore[no-untyped-def]
            return None

        def remove_temporary(self, folder: str) -> None:
            return None

    def opened(name, settings, root):  # type: ignore[no-untyped-def]
        transport = open_transport(name, settings, root)
        if isinstance(transport, LocalProtocol):
            transport.__class__ = DiscardingLocal
        return transport

    deliver_module.open_transport = opened


def deliver_shard(root: Path, index: int, count: int) -> dict[str, int]:
    """Deliver this shard's releases with deliver's engine, receipts written, nothing committed."""
    discarding_transport()
    leave_out_duplicate_recordings()
    from stardust_git.deliver import DeliverOptions, _deliver

    options = DeliverOptions(all_=True, shard=(index, count))
    result = _deliver(root, options, None)
    statuses: dict[str, int] = {}
    for outcome in result.outcomes:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
    return statuses


def deliver_in_shards(
    root: Path, workers: int, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Every release delivered (receipts committed), ``workers`` shards at once; ``env``: of
    the shard processes (PYTHONPATH: the stardust_git measured)."""
    started = time.perf_counter()
    env = {**(env or os.environ), **GIT_ENV}
    runs = [
        subprocess.Popen(
            [sys.executable, __file__, str(root), "0", "--shard", f"{index}/{workers}"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for index in range(1, workers + 1)
    ]
    statuses: dict[str, int] = {}
    for run in runs:
        out, _ = run.communicate()
        if run.returncode != 0:
            raise SystemExit(f"a shard failed (exit {run.returncode})")
        for status, found in json.loads(out.strip().splitlines()[-1]).items():
            statuses[status] = statuses.get(status, 0) + found
    if set(statuses) - {"success"}:
        raise SystemExit(f"not every delivery succeeded: {statuses}")
    git(root, "add", "receipts")
    git(root, "commit", "--quiet", "-m", "stardust-git: receipts [skip ci]")
    return {"deliveries": statuses.get("success", 0), "seconds": time.perf_counter() - started}


def generate_committed(root: Path, n: int) -> None:
    """``n`` releases generated and committed; a catalog committed there before is kept (generating
    100,000 releases takes about 20 minutes: a build stopped while delivering starts again from it).
    """
    if generated_before(root, n):
        git(root, "reset", "--quiet", "--hard")
        git(root, "clean", "--quiet", "-fdx", "receipts")
        return
    git(root, "init", "--quiet", "--initial-branch=main")
    (root / ".gitignore").write_text("outbox/\n.stardust-cache/\n.media/\n", encoding="utf-8")
    generate(root, n)
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", f"{n} releases")


def generated_before(root: Path, n: int) -> bool:
    """Whether ``root`` holds only the commit of ``n`` generated releases (nothing delivered)."""
    done = subprocess.run(
        ["git", "-C", str(root), "log", "--format=%s", "-2"], capture_output=True, text=True
    )
    return done.returncode == 0 and done.stdout.splitlines() == [f"{n} releases"]


def edit_one_title(root: Path) -> None:
    edited = first_release(root)
    text = edited.read_text(encoding="utf-8")
    edited.write_text(re.sub(r"(?m)^title: (.*)$", r"title: \1 Edited", text, count=1))
    git(root, "commit", "--quiet", "-am", "Edit one title")


def build(root: Path, n: int, workers: int) -> dict[str, Any]:
    """The repository bench_plan.py measures: generated, delivered, one title edited."""
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    generate_committed(root, n)
    generated = time.perf_counter() - started
    delivered = deliver_in_shards(root, workers)
    edit_one_title(root)
    return {
        "generate_seconds": round(generated, 1),
        "deliver_seconds": round(delivered["seconds"], 1),
        "deliveries": delivered["deliveries"],
        "workers": workers,
    }


def receipts_of(root: Path) -> dict[str, Any]:
    """Every receipt, clock times left out."""
    found = {}
    for path in sorted((root / "receipts").rglob("*.json")):
        receipt = json.loads(path.read_text(encoding="utf-8"))
        for delivery in receipt.get("history", []):
            for name in CLOCK_FIELDS:
                delivery.pop(name, None)
        found[str(path.relative_to(root))] = receipt
    return found


def check(folder: Path, n: int, workers: int) -> dict[str, Any]:
    """Built vs really delivered: the same receipts; the built one plans nothing."""
    real, built = folder / "delivered", folder / "built"
    for root in (real, built):
        root.mkdir(parents=True)
        generate_committed(root, n)
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(
        [sys.executable, WITHOUT_DUPLICATES, "deliver", "--all", "--commit"],
        cwd=real,
        env=env,
        capture_output=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"deliver --all failed: {done.stderr.decode()[-2000:]}")
    deliver_in_shards(built, workers)
    expected, found = receipts_of(real), receipts_of(built)
    differing = sorted(p for p in expected.keys() | found.keys() if expected.get(p) != found.get(p))
    plan = subprocess.run(
        ["stardust-git", "plan", "--all", "--format", "json"],
        cwd=built,
        env=env,
        capture_output=True,
        text=True,
    )
    actions = json.loads(plan.stdout)["actions"] if plan.returncode == 0 else None
    fields = {name for p in differing for name in _differing_fields(expected.get(p), found.get(p))}
    return {
        "receipts": len(expected),
        "differing": len(differing),
        "differing_fields": sorted(fields),
        "differing_targets": sorted({Path(path).stem for path in differing}),
        "plan_all_actions": actions,
    }


def _differing_fields(expected: Any, found: Any) -> set[str]:
    """The delivery fields in which two versions of a receipt differ."""
    if not expected or not found or len(expected["history"]) != len(found["history"]):
        return {"(the whole receipt)"}
    return {
        name
        for old, new in zip(expected["history"], found["history"], strict=True)
        for name in old.keys() | new.keys()
        if old.get(name) != new.get(name)
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("releases", type=int)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shard", default=None, help="(internal) deliver one shard I/N")
    parser.add_argument("--check", action="store_true", help="compare with a real deliver")
    args = parser.parse_args(argv)
    if args.shard:
        index, count = (int(part) for part in args.shard.split("/"))
        print(json.dumps(deliver_shard(args.folder.resolve(), index, count)))
        return 0
    if args.check:
        result = check(args.folder.resolve(), args.releases, args.workers)
        print(json.dumps(result, indent=2))
        placement = {"placed_at", "location", "files", "message_id"}  # a batch's moment
        same = set(result["differing_fields"]) <= (placement if args.workers > 1 else set())
        return 0 if same and result["plan_all_actions"] == [] else 1
    print(json.dumps(build(args.folder.resolve(), args.releases, args.workers), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
