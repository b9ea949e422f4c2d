"""How many runners a plan needs: the shard list of the deliver workflow's matrix.

``deliver --shard I/N`` takes the releases whose UPC hashes to its share (:func:`in_shard`):
the same release always lands in the same shard for the same N, with all its targets. This
module sizes a plan (deliveries, and the bytes of assets the initial deliveries send) and says
how many shards to split it into: one per so many deliveries or bytes, capped.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

from stardust_git.errors import UserError
from stardust_git.models.release import Release
from stardust_git.plan import Plan, PlannedAction

DEFAULT_DELIVERIES_PER_SHARD = 500
DEFAULT_BYTES_PER_SHARD = 20 * 1024**3
DEFAULT_MAX_SHARDS = 16


@dataclass(frozen=True)
class ShardSettings:
    """One shard per ``deliveries`` deliveries or ``bytes`` bytes sent, at most ``most``."""

    deliveries: int = DEFAULT_DELIVERIES_PER_SHARD
    bytes: int = DEFAULT_BYTES_PER_SHARD
    most: int = DEFAULT_MAX_SHARDS


@dataclass
class Sizing:
    """The work of a plan, and the shards it is split into."""

    deliveries: int
    releases: int
    bytes: int
    shards: int
    per_shard: list[int] = field(default_factory=list)
    """Deliveries in each shard, shard 1 first."""

    def shard_list(self) -> list[int]:
        """``[1, 2, .., N]``: the matrix of the deliver workflow."""
        return list(range(1, self.shards + 1))


def parse_size(text: str) -> int:
    """``"500"`` bytes, ``"20G"``, ``"1.5T"`` (binary units K, M, G, T) -> bytes."""
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    power = "KMGT".find(cleaned[-1:]) + 1 if cleaned else 0
    try:
        value = float(cleaned[:-1] if power else cleaned)
    except ValueError:
        raise UserError(f"'{text}' is not a size: bytes, or a number with K, M, G or T") from None
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"a size must be more than 0, not '{text}'")
    return int(value * 1024**power)


def describe(sizing: Sizing, settings: ShardSettings) -> str:
    """One line for the log and the job summary."""
    least, most = min(sizing.per_shard, default=0), max(sizing.per_shard, default=0)
    spread = f"{least}-{most}" if least != most else str(most)
    return (
        f"{sizing.deliveries} deliveries of {sizing.releases} releases, "
        f"{sizing.bytes / 1024**2:.1f} MiB of assets: {sizing.shards} "
        f"shard{'s' * (sizing.shards != 1)} of {spread} deliveries (one per "
        f"{settings.deliveries} deliveries or {settings.bytes / 1024**3:g} GiB, at most "
        f"{settings.most})"
    )


def in_shard(upc: str, shard: tuple[int, int] | None) -> bool:
    """Whether ``upc`` belongs to ``shard`` (index from 1, count): a stable hash, so every
    target of a release and every rerun land in the same shard."""
    if shard is None:
        return True
    index, count = shard
    return shard_of(upc, count) == index


def shard_of(upc: str, count: int) -> int:
    """The shard (from 1) of ``count`` that delivers ``upc``."""
    return int.from_bytes(hashlib.sha256(upc.encode()).digest()[:8], "big") % count + 1


def size_plan(root: Path, plan: Plan, settings: ShardSettings) -> Sizing:
    """Count the plan's deliveries and bytes and choose the number of shards."""
    actions = plan.actions + plan.blocked
    releases = _releases_by_upc(plan)
    sizes: dict[str, int] = {}
    nbytes = 0
    for planned in actions:
        if sends_assets(planned) and planned.upc in releases:
            if planned.upc not in sizes:
                sizes[planned.upc] = assets_size(root, releases[planned.upc])
            nbytes += sizes[planned.upc]
    upcs = {planned.upc for planned in actions}
    count = shard_count(len(actions), len(upcs), nbytes, settings)
    per_shard = [0] * count
    for planned in actions:
        per_shard[shard_of(planned.upc, count) - 1] += 1
    return Sizing(len(actions), len(upcs), nbytes, count, per_shard)


def shard_count(deliveries: int, releases: int, nbytes: int, settings: ShardSettings) -> int:
    """Enough shards for the deliveries and the bytes, no more than ``settings.most`` nor than
    releases (a release is never split), and at least one."""
    wanted = max(
        math.ceil(deliveries / max(settings.deliveries, 1)),
        math.ceil(nbytes / max(settings.bytes, 1)),
    )
    return max(1, min(wanted, settings.most, releases))


def sends_assets(planned: PlannedAction) -> bool:
    """An initial delivery (or a resend) sends the assets; an update or a takedown sends a
    message only, which is small."""
    return planned.action == "initial" or planned.resend


def _releases_by_upc(plan: Plan) -> dict[str, Release]:
    loaded = plan.catalog.releases.values() if plan.catalog else []
    return {release.model.upc: release.model for release in loaded}


def assets_size(root: Path, release: Release) -> int:
    """Bytes of the release's cover and audio files (a missing one counts nothing)."""
    paths = [release.cover, *(track.audio for track in release.tracks)]
    return sum(_size(root / path) for path in paths)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
