"""The catalog as it stands at a git revision: targets, genre maps and chosen releases, read from
git objects (not the working tree) by the one catalog loader, the release files parsed on every
CPU when they are many."""

from __future__ import annotations

from stardust_git.catalog import PARALLEL_FROM, Catalog, _load_releases_in_parallel
from stardust_git.catalog import load_catalog_from as _load_catalog_from
from stardust_git.gitio import Tree

__all__ = ["PARALLEL_FROM", "_load_releases_in_parallel", "load_catalog_from"]


def load_catalog_from(
    tree: Tree, release_paths: list[str], digests: dict[str, str] | None = None
) -> Catalog:
    """Targets, genre maps and the given releases, as they are in ``tree`` (in parallel when
    there are many). ``digests`` receives a content digest of every file read."""
    return _load_catalog_from(tree, release_paths, digests, parallel=True)
