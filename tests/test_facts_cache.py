"""The facts cache (index.py) must not hide changes made behind its back.

One release file is validated the way pre-commit runs it, against the rest of the catalog as the
warm facts cache summarises it; the other file is changed between runs in ways a size and mtime
check cannot see (same size, mtime put back), deleted, or renamed.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from stardust_git.index import CACHE_DIR, CACHE_FILE
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


def test_a_committed_change_is_seen_after_the_index_was_refreshed_at_an_older_commit(
    repo: Repo,
) -> None:
    """The index remembers the commit it was refreshed at; files that differ from it are looked
    at again even when they no longer differ from HEAD."""
    reuse_checked_isrc(repo, OTHER_FILE)
    repo.commit("reuse an ISRC")
    problems = isrc_problems(repo)
    assert len(problems) == 1 and OTHER_FILE in problems[0]


def test_a_branch_switched_back_is_seen(repo: Repo) -> None:
    """A commit the index was refreshed at, then left: the files that differ from it are read."""
    reuse_checked_isrc(repo, OTHER_FILE)
    repo.commit("reuse an ISRC")
    assert len(isrc_problems(repo)) == 1
    subprocess.run(["git", "reset", "--quiet", "--hard", "HEAD~1"], cwd=repo.root, check=True)
    assert isrc_problems(repo) == []


def test_an_untracked_file_is_seen(repo: Repo) -> None:
    copy = repo.root / "catalog" / "extra" / f"{OTHER}.yaml"
    copy.parent.mkdir()
    copy.write_bytes((repo.root / OTHER_FILE).read_bytes())
    reuse_checked_isrc(repo, f"catalog/extra/{OTHER}.yaml")
    problems = isrc_problems(repo)
    assert len(problems) == 1 and f"catalog/extra/{OTHER}.yaml" in problems[0]


def test_a_corrupt_index_is_rebuilt(repo: Repo) -> None:
    index = repo.root / CACHE_DIR / CACHE_FILE
    assert index.is_file()
    index.write_bytes(b"not a database" * 100)
    reuse_checked_isrc(repo, OTHER_FILE)
    assert len(isrc_problems(repo)) == 1


def test_a_one_file_run_reads_only_the_rows_it_needs(repo: Repo) -> None:
    """The other file's facts come from the index by ISRC: a row changed behind git's back
    (a file whose stat key and content git still sees as committed) is what the run reports."""
    reuse_checked_isrc(repo, OTHER_FILE)
    repo.commit("reuse an ISRC")
    assert len(isrc_problems(repo)) == 1
    with sqlite3.connect(repo.root / CACHE_DIR / CACHE_FILE) as db:
        db.execute("DELETE FROM isrcs WHERE path = ?", (OTHER_FILE,))
    assert isrc_problems(repo) == []


def index_contents(root: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """The files rows (stat key left out: the next run's writes move ctimes) and ISRC pairs."""
    with sqlite3.connect(root / CACHE_DIR / CACHE_FILE) as db:
        files = db.execute("SELECT path, upc, tracks, defaults FROM files ORDER BY rowid")
        pairs = db.execute("SELECT isrc, path FROM isrcs ORDER BY isrc, path")
        return list(files), list(pairs)


def test_a_run_in_worker_processes_leaves_the_index_a_serial_run_leaves(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers' facts are written as each share arrives, with the bulk write's indexes built
    again after it: the same rows and ISRCs as one pass in one process, a file that does not
    load (summarised from its text) and one that is not YAML included."""
    from stardust_git import index as index_module
    from stardust_git import validate as validate_module

    repo.add_release(UPCS[2])
    repo.write(f"catalog/{UPCS[3]}.yaml", f'upc: "{UPCS[3]}"\ntitle: [unclosed\n')
    broken = repo.read(f"catalog/{UPCS[2]}.yaml").replace("title:", "titel:", 1)
    repo.write(f"catalog/{UPCS[2]}.yaml", broken)
    (repo.root / CACHE_DIR).joinpath(CACHE_FILE).unlink()
    serial = validate_catalog(repo.root, None, OPTIONS)
    expected = index_contents(repo.root)
    (repo.root / CACHE_DIR).joinpath(CACHE_FILE).unlink()
    monkeypatch.setattr(validate_module, "_worker_count", lambda releases: 2)
    monkeypatch.setattr(validate_module, "SHARE_SIZE", 1)
    monkeypatch.setattr(index_module, "BULK_FROM", 1)

    parallel = validate_catalog(repo.root, None, OPTIONS)

    assert parallel.diagnostics == serial.diagnostics
    assert index_contents(repo.root) == expected
    assert len(expected[0]) == 4 and len(expected[1]) == 3  # the unparsable file: no ISRCs
    with sqlite3.connect(repo.root / CACHE_DIR / CACHE_FILE) as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert set(index_module.INDEX_NAMES) <= names
