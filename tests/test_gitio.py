"""Git access against real repositories: diffs, reads at revisions, rewritten history, pushes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from stardust_git.gitio import (
    ZERO_COMMIT,
    Git,
    GitError,
    commit_paths,
    push_with_retry,
    sync_with_remote,
)
from stardust_git.receipts import merge_receipt_files
from stardust_git.source.tree import Tree
from tests.gitrepo import Repo, clone, git, make_catalog


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_catalog(tmp_path)


def test_changed_files_reports_adds_edits_deletes_and_moves(repo: Repo) -> None:
    repo.write("catalog/a.yaml", "a: 1\n")
    repo.write("catalog/b.yaml", "b: 1\n")
    base = repo.commit("two files")
    repo.write("catalog/a.yaml", "a: 2\n")
    (repo.root / "catalog" / "label").mkdir()
    repo.git("mv", "catalog/b.yaml", "catalog/label/b.yaml")
    repo.write("catalog/c.yaml", "c: 1\n")
    head = repo.commit("edit, move, add")

    changes = Git(repo.root).changed_files(base, head, ["catalog"])

    assert sorted((c.status, c.path) for c in changes) == [
        ("A", "catalog/c.yaml"),
        ("A", "catalog/label/b.yaml"),
        ("D", "catalog/b.yaml"),
        ("M", "catalog/a.yaml"),
    ]


def test_changed_files_against_the_working_tree_includes_untracked_files(repo: Repo) -> None:
    base = repo.head()
    repo.write("targets/alpha.yaml", repo.read("targets/alpha.yaml") + "# comment\n")
    repo.write("catalog/new.yaml", "x: 1\n")

    changes = Git(repo.root).changed_files(base, None, ["catalog", "targets"])

    assert sorted((c.status, c.path) for c in changes) == [
        ("A", "catalog/new.yaml"),
        ("M", "targets/alpha.yaml"),
    ]


def test_a_merge_commit_diffs_as_the_sum_of_its_branch(repo: Repo) -> None:
    base = repo.head()
    repo.git("checkout", "--quiet", "-b", "feature")
    repo.write("catalog/f1.yaml", "f: 1\n")
    repo.commit("feature 1")
    repo.write("catalog/f2.yaml", "f: 2\n")
    repo.commit("feature 2")
    repo.git("checkout", "--quiet", "main")
    repo.write("catalog/m.yaml", "m: 1\n")
    repo.commit("main moves on")
    repo.git("merge", "--quiet", "--no-ff", "-m", "merge feature", "feature")

    changes = Git(repo.root).changed_files(base, repo.head(), ["catalog"])

    assert sorted(c.path for c in changes) == [
        "catalog/f1.yaml",
        "catalog/f2.yaml",
        "catalog/m.yaml",
    ]


def test_read_files_reads_many_files_at_a_revision_in_one_go(repo: Repo) -> None:
    for index in range(300):
        repo.write(f"catalog/r{index:03}.yaml", f"index: {index}\n")
    first = repo.commit("300 files")
    repo.write("catalog/r000.yaml", "index: changed\n")
    repo.commit("edit one")
    wanted = [f"catalog/r{index:03}.yaml" for index in range(300)] + ["catalog/missing.yaml"]

    contents = Git(repo.root).read_files(first, wanted)

    assert len(contents) == 300
    assert contents["catalog/r000.yaml"] == b"index: 0\n"
    assert contents["catalog/r299.yaml"] == b"index: 299\n"
    assert Git(repo.root).read_file("HEAD", "catalog/r000.yaml") == b"index: changed\n"


def test_read_objects_mixes_revisions_and_keeps_binary_content(repo: Repo) -> None:
    data = bytes(range(256)) * 4 + b"\n\n"
    (repo.root / "assets").mkdir()
    (repo.root / "assets" / "blob.bin").write_bytes(data)
    first = repo.commit("binary")
    (repo.root / "assets" / "blob.bin").write_bytes(b"second")
    second = repo.commit("binary changed")

    found = Git(repo.root).read_objects([f"{first}:assets/blob.bin", f"{second}:assets/blob.bin"])

    assert found == {f"{first}:assets/blob.bin": data, f"{second}:assets/blob.bin": b"second"}


def test_tree_lists_and_reads_a_revision_or_the_working_tree(repo: Repo) -> None:
    repo.write("catalog/label/a.yaml", "a: 1\n")
    commit = repo.commit("a")
    repo.write("catalog/label/a.yaml", "a: uncommitted\n")
    repo.write("catalog/b.yaml", "b: 1\n")
    git_repo = Git(repo.root)

    at_commit, worktree = Tree(git_repo, commit), Tree(git_repo, None)

    assert at_commit.list("catalog") == ["catalog/label/a.yaml"]
    assert worktree.list("catalog") == ["catalog/b.yaml", "catalog/label/a.yaml"]
    assert at_commit.read(["catalog/label/a.yaml"]) == {"catalog/label/a.yaml": b"a: 1\n"}
    assert worktree.read(["catalog/label/a.yaml", "catalog/none.yaml"]) == {
        "catalog/label/a.yaml": b"a: uncommitted\n"
    }


def test_commit_id_and_committer_time(repo: Repo) -> None:
    repo.write("catalog/a.yaml", "a: 1\n")
    repo.git("add", "-A")
    repo.git("commit", "--quiet", "-m", "dated", "--date", "2001-02-03T04:05:06Z")
    stamp = "2024-05-06T07:08:09+02:00"
    git(repo.root, "commit", "--quiet", "--amend", "--no-edit", "--date", stamp)
    commit = repo.head()
    git_repo = Git(repo.root)
    # The committer time is the amend's wall clock; read it back the way git reports it.
    seconds = int(repo.git("show", "-s", "--format=%ct", commit))

    assert git_repo.commit_of("HEAD") == commit
    assert git_repo.committed_at(commit) == dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    with pytest.raises(GitError):
        git_repo.commit_of("no-such-branch")


def test_a_force_pushed_base_falls_back_to_the_merge_base(repo: Repo) -> None:
    common = repo.head()
    repo.write("catalog/old.yaml", "old: 1\n")
    rewritten_away = repo.commit("later rewritten")
    repo.git("reset", "--quiet", "--hard", common)
    repo.write("catalog/new.yaml", "new: 1\n")
    head = repo.commit("the new history")

    span = Git(repo.root).diff_range(rewritten_away, head)

    assert span.base == common
    assert "not an ancestor" in span.note


def test_a_base_with_no_common_history_examines_everything(repo: Repo) -> None:
    repo.git("checkout", "--quiet", "--orphan", "fresh")
    repo.write("catalog/x.yaml", "x: 1\n")
    head = repo.commit("unrelated root")
    git_repo = Git(repo.root)

    unrelated = git_repo.diff_range("main", head)
    missing = git_repo.diff_range("0123456789abcdef0123456789abcdef01234567", head)
    zero = git_repo.diff_range(ZERO_COMMIT, head)

    assert unrelated.base is None and "no history" in unrelated.note
    assert missing.base is None and "not in this repository" in missing.note
    assert zero.base is None and zero.head == head


def test_commit_paths_commits_only_those_paths(repo: Repo) -> None:
    repo.write("receipts/1/alpha.json", "{}\n")
    repo.write("catalog/unrelated.yaml", "u: 1\n")

    commit = commit_paths(Git(repo.root), ["receipts/1/alpha.json"], "receipts [skip ci]")

    assert commit == repo.head()
    assert repo.git("show", "--name-only", "--format=%s", commit).splitlines() == [
        "receipts [skip ci]",
        "",
        "receipts/1/alpha.json",
    ]
    assert repo.git("status", "--porcelain", "--untracked-files=all") == "?? catalog/unrelated.yaml"
    assert commit_paths(Git(repo.root), ["receipts/1/alpha.json"], "again") is None


def test_push_retries_after_fetching_and_rebasing_when_the_remote_moved(
    repo: Repo, tmp_path: Path
) -> None:
    other = clone(tmp_path, "other")
    other.write("receipts/2/alpha.json", "{}\n")
    other.commit("other runner's receipts")
    other.push()
    repo.write("receipts/1/alpha.json", "{}\n")
    repo.commit("our receipts")

    attempts = push_with_retry(Git(repo.root), "origin", "main", merge_receipt_files)

    assert attempts == 2
    landed = git(tmp_path / "origin.git", "ls-tree", "-r", "--name-only", "main", "receipts")
    assert landed.splitlines() == ["receipts/1/alpha.json", "receipts/2/alpha.json"]


def test_push_gives_up_on_a_conflict_it_cannot_resolve(repo: Repo, tmp_path: Path) -> None:
    other = clone(tmp_path, "other")
    other.write("catalog/same.yaml", "theirs: 1\n")
    other.commit("theirs")
    other.push()
    repo.write("catalog/same.yaml", "ours: 1\n")
    repo.commit("ours")

    with pytest.raises(GitError, match=r"catalog/same\.yaml"):
        push_with_retry(Git(repo.root), "origin", "main", merge_receipt_files)

    assert repo.git("status", "--porcelain") == ""
    assert repo.read("catalog/same.yaml") == "ours: 1\n"


def test_sync_fast_forwards_to_the_remote_before_planning(repo: Repo, tmp_path: Path) -> None:
    other = clone(tmp_path, "other")
    other.write("receipts/9/alpha.json", "{}\n")
    pushed = other.commit("receipts from an earlier run")
    other.push()

    outcome = sync_with_remote(Git(repo.root), "origin", "main", merge_receipt_files)

    assert "fast-forwarded" in outcome
    assert repo.head() == pushed
    assert sync_with_remote(Git(repo.root), "origin", "main", merge_receipt_files) == "up to date"


def test_both_trees_follow_links_inside_and_refuse_what_is_not_a_file(repo: Repo) -> None:
    """The working tree and a commit agree: a link to a file inside the repository is read
    through, a dangling link and a link to a folder are refused, hidden folders are skipped,
    and a blob over the limit is not read (git streams it past, unread)."""
    repo.write("catalog/real.yaml", "a: 1\n")
    repo.write("catalog/big.yaml", "x" * 2000 + "\n")
    repo.write("catalog/.drafts/hidden.yaml", "h: 1\n")
    repo.write("catalog/sub/inner.yaml", "i: 1\n")
    (repo.root / "catalog/link.yaml").symlink_to("real.yaml")
    (repo.root / "catalog/dangling.yaml").symlink_to("nowhere.yaml")
    (repo.root / "catalog/folder.yaml").symlink_to("sub")
    commit = repo.commit("links")
    git_repo = Git(repo.root)
    listed = [
        "catalog/big.yaml",
        "catalog/dangling.yaml",
        "catalog/folder.yaml",
        "catalog/link.yaml",
        "catalog/real.yaml",
        "catalog/sub/inner.yaml",
    ]

    for tree in (Tree(git_repo, commit), Tree(git_repo, None)):
        assert tree.list("catalog") == listed
        contents = tree.fetch(listed, limit=1000)
        assert contents.files == {
            "catalog/link.yaml": b"a: 1\n",
            "catalog/real.yaml": b"a: 1\n",
            "catalog/sub/inner.yaml": b"i: 1\n",
        }
        assert sorted(contents.refused) == [
            "catalog/big.yaml",
            "catalog/dangling.yaml",
            "catalog/folder.yaml",
        ]
        assert contents.refused["catalog/big.yaml"] == (
            "the file is too large (2,001 bytes; the limit is 1,000 bytes): not read; split it up"
        )
        assert contents.refused["catalog/dangling.yaml"] == (
            "not a regular file: a symbolic link to nothing; not read"
        )
        assert contents.refused["catalog/folder.yaml"].startswith("not a regular file: a directory")


def test_a_narrower_status_is_filtered_from_a_wider_scan(repo: Repo) -> None:
    """One working-tree scan serves the narrower questions after it, with the same answers."""
    repo.write("targets/alpha.yaml", repo.read("targets/alpha.yaml") + "# edited\n")
    repo.write("catalog/new.yaml", "upc: 4006381333931\n")
    repo.write("genre-maps/extra.yaml", "x: 1\n")
    narrow = [["catalog"], ["targets/alpha.yaml"], ["catalog", "genre-maps"]]
    direct = [Git(repo.root).worktree_changes(paths) for paths in narrow]
    shared = Git(repo.root)
    shared.worktree_changes(["catalog", "targets", "genre-maps"])
    repo.write("catalog/later.yaml", "upc: 5012345678900\n")  # after the scan: not seen
    assert [shared.worktree_changes(paths) for paths in narrow] == direct
    assert direct[0] == {"catalog/new.yaml": "A"}
