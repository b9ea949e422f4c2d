"""The forked worker processes a large catalog's report is shared out to."""

from __future__ import annotations

import os

from stardust_git.workers import forked_pool

__all__ = ["forked_pool", "shares", "worker_count"]


def worker_count(releases: int, parallel_from: int) -> int:
    """One process below ``parallel_from`` releases (forking costs more), else one per core."""
    if releases < parallel_from:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def shares(count: int, size: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each share of ``count`` items, ``size`` at a time."""
    return [(start, start + size) for start in range(0, count, size)]
