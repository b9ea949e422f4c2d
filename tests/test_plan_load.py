"""Reading the catalog at a revision, in one process or in parallel worker processes."""

from __future__ import annotations

from pathlib import Path

from stardust_git.gitio import Git
from stardust_git.source.catalog import (
    Catalog,
    _load_releases_in_parallel,
    load_catalog,
    load_catalog_from,
)
from stardust_git.source.tree import Tree
from tests.gitrepo import REPO_ROOT, UPCS, make_catalog


def test_parallel_loading_gives_the_same_releases_and_problems(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    for upc in UPCS:
        repo.add_release(upc)
    repo.write("catalog/broken.yaml", 'upc: "1234567890128"\ntitle: [unclosed\n')
    repo.write("catalog/invalid.yaml", 'upc: "123"\ntitle: X\n')
    commit = repo.commit("Four releases and two broken files")
    tree = Tree(Git(repo.root), commit)
    paths = tree.list("catalog")

    in_one = load_catalog_from(tree, paths)
    in_parallel = Catalog(root=repo.root)
    _load_releases_in_parallel(in_parallel, list(tree.read(paths).items()))

    assert (
        sorted(in_parallel.releases)
        == sorted(in_one.releases)
        == sorted(f"catalog/{upc}.yaml" for upc in UPCS)
    )
    for path, loaded in in_one.releases.items():
        assert in_parallel.releases[path].model == loaded.model
    assert (
        in_parallel.unreadable
        == in_one.unreadable
        == {
            "catalog/broken.yaml",
            "catalog/invalid.yaml",
        }
    )
    assert sorted(d.format() for d in in_parallel.diagnostics.items) == sorted(
        d.format() for d in in_one.diagnostics.items
    )


def test_a_revision_is_read_as_committed_not_as_in_the_working_tree(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    path = repo.add_release(UPCS[0], "Committed Title")
    commit = repo.commit("Add")
    repo.write(path, repo.read(path).replace("Committed Title", "Uncommitted Title"))
    git = Git(repo.root)
    digests: dict[str, str] = {}

    at_commit = load_catalog_from(Tree(git, commit), [path], digests)
    worktree = load_catalog_from(Tree(git, None), [path])

    assert at_commit.releases[path].model.title == "Committed Title"
    assert worktree.releases[path].model.title == "Uncommitted Title"
    assert set(at_commit.targets) == {"alpha", "beta"}
    assert at_commit.taxonomy is not None
    assert set(digests) == {
        path,
        "targets/alpha.yaml",
        "targets/beta.yaml",
        "genre-maps/genres.yaml",
    }


def test_a_committed_file_that_is_not_utf8_is_placed_at_its_bad_byte(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    (repo.root / "catalog").mkdir(exist_ok=True)
    (repo.root / "catalog/latin1.yaml").write_bytes(
        'upc: "1234567890128"\ntitle: Café\n'.encode("latin-1")
    )
    tree = Tree(Git(repo.root), repo.commit("A Latin-1 file"))

    catalog = load_catalog_from(tree, ["catalog/latin1.yaml"])

    assert catalog.unreadable == {"catalog/latin1.yaml"}
    assert [d.format() for d in catalog.diagnostics.items] == [
        "catalog/latin1.yaml:2:11: not UTF-8 text: byte 0xe9 (invalid continuation byte);"
        " save the file as UTF-8"
    ]


def test_the_working_tree_and_a_commit_load_the_same_catalog(tmp_path: Path) -> None:
    """One loader over one tree abstraction: a ``.yml`` release, a ``.yml`` target, CRLF line
    ends and broken files give the same releases, targets and diagnostics (with positions) from
    the working tree (validate's loader) and from a commit (plan's)."""
    repo = make_catalog(tmp_path)
    repo.add_release(UPCS[0])
    yml = repo.add_release(UPCS[1], "Short Suffix")
    (repo.root / yml).rename(repo.root / yml.replace(".yaml", ".yml"))
    crlf = repo.add_release(UPCS[2], "Windows Lines")
    (repo.root / crlf).write_bytes(repo.read(crlf).replace("\n", "\r\n").encode())
    repo.write("catalog/broken-crlf.yaml", 'upc: "0012345678905"\r\ntitle: x\r\ntitle: y\r\n')
    repo.write("targets/gamma.yml", repo.read("targets/alpha.yaml").replace("alpha", "gamma"))
    repo.write("targets/delta.yaml", "format: ern\r\ndelivery: [\r\n")
    vocabulary = (REPO_ROOT / "genre-maps/vocabularies/amazon.yaml").read_text(encoding="utf-8")
    repo.write("genre-maps/vocabularies/amazon.yml", vocabulary)
    genre_map = (REPO_ROOT / "genre-maps/amazon.yaml").read_text(encoding="utf-8")
    repo.write("genre-maps/amazon.yml", genre_map.replace("\n", "\r\n"))
    commit = repo.commit("A .yml release and target, CRLF files, broken files")
    git = Git(repo.root)

    worktree = load_catalog(repo.root)
    paths = [p for p in Tree(git, commit).list("catalog") if p.endswith((".yaml", ".yml"))]
    at_commit = load_catalog_from(Tree(git, commit), paths, parallel=True)

    expected_releases = {
        f"catalog/{UPCS[0]}.yaml",
        f"catalog/{UPCS[1]}.yml",
        f"catalog/{UPCS[2]}.yaml",
    }
    assert set(worktree.releases) == set(at_commit.releases) == expected_releases
    for path, loaded in worktree.releases.items():
        assert at_commit.releases[path].model == loaded.model
    assert worktree.releases[f"catalog/{UPCS[2]}.yaml"].model.title == "Windows Lines"
    assert set(worktree.targets) == set(at_commit.targets) == {"alpha", "beta", "gamma"}
    assert set(worktree.genre_maps) == set(at_commit.genre_maps) == {"amazon"}
    assert set(worktree.vocabularies) == set(at_commit.vocabularies) == {"amazon"}
    assert worktree.genre_maps["amazon"].model == at_commit.genre_maps["amazon"].model
    assert (
        worktree.unreadable
        == at_commit.unreadable
        == {
            "catalog/broken-crlf.yaml",
            "targets/delta.yaml",
        }
    )
    lines = [d.format() for d in worktree.diagnostics.sorted()]
    assert lines == [d.format() for d in at_commit.diagnostics.sorted()]
    assert lines == [
        "catalog/broken-crlf.yaml:3:1: duplicate key 'title' (first defined on line 2)",
        "targets/delta.yaml:3:1: invalid YAML: did not find expected node content",
    ]
