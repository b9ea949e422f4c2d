"""Forked worker processes: the one way the package shares work out over the machine's cores."""

from __future__ import annotations

import gc
import multiprocessing
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from typing import Generic, TypeVar

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


def forked_pool(
    workers: int, initializer: Callable[[], object] | None = None
) -> ProcessPoolExecutor:
    """Workers forked from this process: they inherit what it holds, unpickled; each runs
    ``initializer`` first. Python 3.11 forks them all at the first ``submit``: call that before
    starting threads of your own."""
    gc.freeze()  # the workers' collections then neither walk nor unshare the inherited pages
    context = multiprocessing.get_context("fork")
    return ProcessPoolExecutor(workers, mp_context=context, initializer=initializer)


class AheadStream(Generic[_Item, _Result]):
    """``items`` handed out in order, each with the future of ``work(index)`` that was submitted
    to ``pool`` before it was taken: at most ``ahead`` futures wait to be taken (memory stays
    flat however many items there are). Without a pool an item comes with no future (the taker
    does the work itself). Thread-safe: several takers share one stream."""

    def __init__(
        self,
        pool: Executor | None,
        work: Callable[[int], _Result],
        items: list[_Item],
        ahead: int,
    ) -> None:
        self._pool = pool
        self._work = work
        self._items = items
        self.ahead = max(1, ahead)
        """How many futures may wait to be taken (a taker may change it between takes)."""
        self._lock = threading.Lock()
        self._taken = 0
        self._waiting: deque[Future[_Result]] = deque()

    def take(self) -> tuple[_Item, Future[_Result] | None] | None:
        """The next item and its future; None when every item was taken."""
        with self._lock:
            if self._taken == len(self._items):
                return None
            self._submit_ahead()
            item = self._items[self._taken]
            self._taken += 1
            return item, self._waiting.popleft() if self._pool is not None else None

    def _submit_ahead(self) -> None:
        if self._pool is None:
            return
        submitted = self._taken + len(self._waiting)
        end = min(len(self._items), self._taken + max(1, self.ahead))
        for index in range(submitted, end):
            self._waiting.append(self._pool.submit(self._work, index))

    def close(self) -> None:
        """Cancel what was submitted and not taken (a breaker opened, a run stopped)."""
        with self._lock:
            for future in self._waiting:
                future.cancel()
            self._waiting.clear()
