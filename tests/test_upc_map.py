"""The cached path -> UPC map (source/upc_map.py) answers what ``git grep`` over the catalog answers
(checks/conflicts.release_upcs), and after a change reads only the files that changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stardust_git.checks.conflicts import release_upcs
from stardust_git.gitio import Git
from stardust_git.source.tree import Tree
from stardust_git.source.upc_map import CACHE_NAME, held_upcs
from tests.gitrepo import Repo, git

CACHE = Path(".stardust-cache") / CACHE_NAME


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """Releases in two label folders, a defaults file, a file with no UPC and one whose UPC is
    not on a top-level line; committed."""
    repo = Repo(tmp_path / "work")
    repo.root.mkdir()
    git(repo.root, "init", "--quiet", "--initial-branch=main")
    repo.write(".gitignore", ".stardust-cache/\n")
    repo.write("catalog/a/1.yaml", 'upc: "4006381333931"\ntitle: One\n')
    repo.write("catalog/a/2.yml", "title: Two\nupc: 5012345678900\n")
    repo.write("catalog/b/3.yaml", "upc: '036000291452'\n")
    repo.write("catalog/b/_defaults.yaml", "label: Indie\n")
    repo.write("catalog/b/nested.yaml", "title: x\nrelease:\n  upc: 4006381333931\n")
    repo.write("catalog/b/notes.txt", "upc: 4006381333931\n")
    repo.commit("Catalog")
    return repo


def grepped(repo: Repo, commit: str | None) -> dict[str, str]:
    return release_upcs(Tree(Git(repo.root), commit))


def test_a_commit_first_grepped_then_cached(repo: Repo) -> None:
    commit = repo.head()
    assert held_upcs(Tree(Git(repo.root), commit)) == grepped(repo, commit)
    cached = json.loads((repo.root / CACHE).read_text(encoding="utf-8"))
    assert cached["upcs"] == grepped(repo, commit)
    assert held_upcs(Tree(Git(repo.root), commit)) == grepped(repo, commit)


def test_another_commit_reads_only_the_changed_files(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    held_upcs(Tree(Git(repo.root), repo.head()))
    repo.write("catalog/a/1.yaml", 'upc: "5012345678900"\ntitle: One, rekeyed\n')
    repo.delete("catalog/b/3.yaml")
    repo.write("catalog/c/4.yaml", "upc: 4006381333931\n")
    commit = repo.commit("Rekey, delete, add")
    asked: list[str] = []
    original = Git.read_objects

    def recording(self: Git, specs, *args, **kwargs):  # type: ignore[no-untyped-def]
        specs = list(specs)
        asked.extend(specs)
        return original(self, specs, *args, **kwargs)

    monkeypatch.setattr(Git, "read_objects", recording)
    assert held_upcs(Tree(Git(repo.root), commit)) == grepped(repo, commit)
    assert sorted(spec.split(":", 1)[1] for spec in asked) == [
        "catalog/a/1.yaml",
        "catalog/c/4.yaml",
    ]


def test_the_working_tree_adds_what_git_status_reports(repo: Repo) -> None:
    held_upcs(Tree(Git(repo.root), repo.head()))
    repo.write("catalog/a/1.yaml", "upc: 0036000291452\n")  # modified
    repo.delete("catalog/a/2.yml")  # deleted
    repo.write("catalog/new/5.yaml", 'upc: "4006381333931"\n')  # untracked
    repo.write("catalog/new/empty.yaml", "title: no upc yet\n")
    repo.write("catalog/new/binary.yaml", "upc: 5012345678900\n\0")  # git greps no binary file
    expected = grepped(repo, None)
    assert "catalog/new/5.yaml" in expected and "catalog/a/2.yml" not in expected
    assert held_upcs(Tree(Git(repo.root), None)) == expected


def test_a_broken_or_stale_cache_is_not_trusted(repo: Repo) -> None:
    (repo.root / CACHE).parent.mkdir()
    (repo.root / CACHE).write_text("{not json", encoding="utf-8")
    commit = repo.head()
    assert held_upcs(Tree(Git(repo.root), commit)) == grepped(repo, commit)
    gone = {"version": 1, "tree": "0" * 40, "upcs": {"catalog/x.yaml": "4006381333931"}}
    (repo.root / CACHE).write_text(json.dumps(gone), encoding="utf-8")
    assert held_upcs(Tree(Git(repo.root), commit)) == grepped(repo, commit)


def test_no_catalog_folder_holds_nothing(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "empty")
    repo.root.mkdir()
    git(repo.root, "init", "--quiet", "--initial-branch=main")
    repo.write("README.md", "hi\n")
    commit = repo.commit("No catalog")
    assert held_upcs(Tree(Git(repo.root), commit)) == {}
