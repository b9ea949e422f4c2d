"""Releases sent one by one are prepared (receipts read, rendered, gated) in forked workers
ahead of the lanes that send them: the same deliveries, the same failures, bounded memory."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from stardust_git.deliver import DeliverOptions, DeliverResult, deliver
from stardust_git.workers import AheadStream
from tests.gitrepo import Repo, clone, make_catalog
from tests.test_deliver_pools import gtin

UPCS = [gtin(2000 + n) for n in range(9)]
BROKEN = UPCS[4]


def catalog(tmp_path: Path) -> None:
    """Nine releases for alpha and beta, one of them with truncated audio (the gate stops it)."""
    repo = make_catalog(tmp_path)
    for upc in UPCS:
        repo.add_release(upc)
    audio = repo.root / "assets" / BROKEN / "01.wav"
    audio.write_bytes(audio.read_bytes()[:12000])
    repo.commit("Nine releases")
    repo.push()


def delivered(repo: Repo, workers: int, send: bool = True) -> DeliverResult:
    options = DeliverOptions(
        all_=True, retry_wait=0.01, prepare_workers=workers, send_in_workers=send
    )
    return deliver(repo.root, options)


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def summary(result: DeliverResult) -> list[tuple[str, ...]]:
    return [
        (o.upc, o.target, o.status, o.stage, str(o.files), str(o.bytes)) for o in result.outcomes
    ]


@pytest.mark.parametrize("send", [True, False], ids=["workers-send", "lanes-send"])
def test_workers_prepare_what_the_lanes_would_and_fail_the_same_releases(
    tmp_path: Path, send: bool
) -> None:
    catalog(tmp_path)
    by_lanes, by_workers = clone(tmp_path, "lanes"), clone(tmp_path, "workers")

    in_lanes = delivered(by_lanes, 0)
    in_workers = delivered(by_workers, 2, send)

    assert in_workers.prepared_in_workers == len(in_workers.outcomes) == 2 * len(UPCS)
    assert in_workers.sent_in_workers == (2 * len(UPCS) if send else 0)
    assert in_lanes.prepared_in_workers == in_lanes.sent_in_workers == 0
    assert summary(in_workers) == summary(in_lanes)
    failed = {(o.upc, o.stage) for o in in_workers.failed}
    assert failed == {(BROKEN, "gate")}
    assert all("truncated WAV" in o.error for o in in_workers.failed), in_workers.failed
    assert tree(by_workers.root / "outbox") == tree(by_lanes.root / "outbox")
    assert len(tree(by_workers.root / "outbox")) > 2 * (len(UPCS) - 1) * 2


class CountingPool(ThreadPoolExecutor):
    """A thread pool that counts what was submitted to it."""

    def __init__(self) -> None:
        super().__init__(2)
        self.submitted = 0
        self.lock = threading.Lock()

    def submit(self, fn: Callable[..., object], /, *args: object, **kwargs: object) -> Future:  # type: ignore[override]
        with self.lock:
            self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def test_a_stream_works_ahead_by_at_most_ahead_items_and_hands_them_out_in_order() -> None:
    items = [f"item {n}" for n in range(50)]
    with CountingPool() as pool:
        stream = AheadStream(pool, lambda index: items[index].upper(), items, ahead=3)
        taken = []
        for count in range(1, 11):
            item = stream.take()
            assert item is not None and item[1] is not None
            taken.append((item[0], item[1].result()))
            assert pool.submitted <= count + 2  # the one taken and at most two more
        while (item := stream.take()) is not None:
            assert item[1] is not None
            taken.append((item[0], item[1].result()))

    assert taken == [(item, item.upper()) for item in items]
    assert pool.submitted == len(items)


def test_a_stream_without_a_pool_hands_out_the_items_alone() -> None:
    stream = AheadStream(None, str, ["a", "b"], ahead=4)

    assert [stream.take(), stream.take(), stream.take()] == [("a", None), ("b", None), None]
