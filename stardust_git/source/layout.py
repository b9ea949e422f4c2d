"""Where things are in a catalog repository: its top-level folders, and how its root is found.

Kept free of heavy imports: the command line finds the root, and a one-file validate starts
git on ``catalog/``, before the models are imported.
"""

from __future__ import annotations

from pathlib import Path

CATALOG_DIR = "catalog"
TARGETS_DIR = "targets"
GENRES_DIR = "genre-maps"
RECEIPTS_DIR = "receipts"


def find_root(start: Path | None = None) -> Path:
    """The catalog repository root: the nearest folder with catalog/ or targets/ (or .git)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CATALOG_DIR).is_dir() or (folder / TARGETS_DIR).is_dir():
            return folder
        if (folder / ".git").exists():
            return folder
    return here
