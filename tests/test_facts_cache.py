"""The facts cache (index.py) must not hide changes made behind its back.

One release file is validated the way pre-commit runs it, against the rest of the catalog as the
warm facts cache summarises it; the other file is changed between runs in ways a size and mtime
check cannot see (same size, mtime put back), deleted, or renamed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stardust_git.validate import ValidationOptions, validate_catalog
from tests.gitrepo import UPCS, Repo, make_catalog

CHECKED, OTHER = UPCS[0], UPCS[1]
CHECKED_FILE, OTHER_FILE = f"catalog/{CHECKED}.yaml", f"catalog/{OTHER}.yaml"
OPTIONS = ValidationOptions(check_assets=False, check_render=False)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """Two releases with their own ISRCs; the facts cache warmed by a full run."""
    repo = make_catalog(tmp_path)
    repo.add_release(CHECKED)
    repo.add_release(OTHER)
    assert validate_catalog(repo.root, None, OPTIONS).ok
    return repo


def isrc_problems(repo: Repo) -> list[str]:
    """What validating only the checked file says about its ISRC."""
    report = validate_catalog(repo.root, [repo.root / CHECKED_FILE], OPTIONS)
    return [d.message for d in report.errors if d.field == "tracks[0].isrc"]


def reuse_checked_isrc(repo: Repo, path: str) -> None:
    """Give the other release the checked release's ISRC under another title: same size,
    and the file's access and modification times put back."""
    full = repo.root / path
    before = full.stat()
    text = full.read_text(encoding="utf-8")
    changed = text.replace(f"USRC1240{OTHER[-4:]}", f"USRC1240{CHECKED[-4:]}")
    changed = changed.replace("title: Sunset Dreams", "title: Sunset Creams")
    assert changed != text and len(changed) == len(text)
    full.write_text(changed, encoding="utf-8")
    os.utime(full, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert full.stat().st_size == before.st_size
    assert full.stat().st_mtime_ns == before.st_mtime_ns


def test_a_change_keeping_size_and_mtime_is_seen(repo: Repo) -> None:
    assert isrc_problems(repo) == []
    reuse_checked_isrc(repo, OTHER_FILE)
    problems = isrc_problems(repo)
    assert len(problems) == 1 and OTHER_FILE in problems[0]


def test_a_deleted_file_is_forgotten(repo: Repo) -> None:
    reuse_checked_isrc(repo, OTHER_FILE)
    assert len(isrc_problems(repo)) == 1  # the cache now holds the conflicting facts
    repo.delete(OTHER_FILE)
    assert isrc_problems(repo) == []


def test_a_renamed_file_is_known_by_its_new_name(repo: Repo) -> None:
    reuse_checked_isrc(repo, OTHER_FILE)
    assert len(isrc_problems(repo)) == 1
    moved = repo.root / "catalog" / "moved" / f"{OTHER}.yaml"
    moved.parent.mkdir()
    os.rename(repo.root / OTHER_FILE, moved)
    problems = isrc_problems(repo)
    assert len(problems) == 1
    assert f"catalog/moved/{OTHER}.yaml" in problems[0] and OTHER_FILE not in problems[0]


def test_a_file_swapped_for_another_of_the_same_size_and_mtime_is_seen(repo: Repo) -> None:
    """A rename over the file (what editors and git checkout do) with the old times kept."""
    full = repo.root / OTHER_FILE
    before = full.stat()
    spare = repo.root / "spare.yaml"
    spare.write_bytes(full.read_bytes())
    reuse_checked_isrc(repo, "spare.yaml")
    os.utime(spare, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(spare, full)
    assert len(isrc_problems(repo)) == 1
