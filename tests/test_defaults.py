"""Defaults files (issue 12, item 1): ``_defaults.yaml`` supplies fields to the releases below
it, in real catalog repositories (validate, show, plan, the caches)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stardust_git.deliver import DeliverOptions, deliver
from stardust_git.models import Release
from stardust_git.plan import compute_plan
from stardust_git.source.catalog import load_catalog
from stardust_git.source.yamlio import load_yaml_text
from stardust_git.validate import ValidationOptions, validate_catalog
from tests.gitrepo import UPCS, Repo, make_catalog, release_yaml, write_assets

STARDUST = str(Path(sys.executable).parent / "stardust-git")
OFFLINE = ValidationOptions(check_assets=False, check_render=False)
INHERITED = ("label", "p_line", "c_line", "targets")
A, B, C = UPCS[0], UPCS[1], UPCS[2]


def without(text: str, *keys: str) -> str:
    """A release's YAML without the top-level ``keys`` (and their indented blocks)."""
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        if not line.startswith((" ", "\t")):
            skipping = line.split(":", 1)[0] in keys
        if not skipping:
            kept.append(line)
    return "".join(kept)


def add(repo: Repo, folder: str, upc: str, *inherited: str, **fields: str) -> str:
    """A release in catalog/<folder>/ that leaves ``inherited`` fields to its defaults."""
    write_assets(repo.root, upc)
    relative = f"catalog/{folder}/{upc}.yaml"
    repo.write(
        relative, without(release_yaml(upc, "Summer Vibes", ("alpha",), **fields), *inherited)
    )
    return relative


def line_of(repo: Repo, relative: str, start: str) -> int:
    """The number of the first line of the file that starts with ``start``."""
    lines = repo.read(relative).splitlines()
    return next(number for number, text in enumerate(lines, 1) if text.startswith(start))


def errors(report_root: Path, paths: list[Path] | None = None) -> list:
    return validate_catalog(report_root, paths, OFFLINE).errors


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_catalog(tmp_path)


def test_nearer_defaults_win_and_the_release_wins_over_all(repo: Repo) -> None:
    repo.write(
        "catalog/_defaults.yaml",
        "label: Outer Records\np_line: {year: 2020, owner: Outer}\ntargets: [alpha, beta]\n",
    )
    repo.write("catalog/indie/_defaults.yaml", "label: Inner Records\ntargets: [beta]\n")
    inner = add(repo, "indie", A, "label", "p_line", "targets")
    own = add(repo, "indie", B, "targets")
    outer = add(repo, "top", C, "label", "p_line", "targets")

    catalog = load_catalog(repo.root)

    assert sorted(catalog.releases) == sorted([inner, own, outer])
    assert not catalog.diagnostics.errors
    resolved = {path: loaded.model for path, loaded in catalog.releases.items()}
    assert (resolved[inner].label, resolved[inner].p_line.owner) == ("Inner Records", "Outer")
    assert resolved[own].label == "Indie Records"  # its own, over both defaults
    assert resolved[own].p_line.owner == "Indie Records"  # a mapping replaces as a whole
    assert (resolved[outer].label, resolved[outer].targets) == ("Outer Records", ["alpha", "beta"])
    assert resolved[inner].targets == ["beta"]  # lists replace, they do not merge
    assert catalog.releases[inner].defaults == (
        "catalog/_defaults.yaml",
        "catalog/indie/_defaults.yaml",
    )


def test_an_error_about_a_defaulted_value_points_into_the_defaults_file(repo: Repo) -> None:
    repo.write("catalog/indie/_defaults.yaml", "# the indie label\nlabel: Indie\ngenre: ROCKK\n")
    release = add(repo, "indie", A, "label", "genre")

    found = errors(repo.root)
    alone = errors(repo.root, [repo.root / release])  # the pre-commit path: one file
    through_defaults = errors(repo.root, [repo.root / "catalog/indie/_defaults.yaml"])

    assert [(d.path, d.line, d.field, d.release) for d in found] == [
        ("catalog/indie/_defaults.yaml", 3, "genre", release)
    ]
    assert "unknown genre 'ROCKK'" in found[0].message
    assert f"(for release {release})" in found[0].message
    assert alone == found and through_defaults == found


def test_a_defaults_file_with_an_unknown_field_is_a_located_error(repo: Repo) -> None:
    repo.write("catalog/indie/_defaults.yaml", "label: Indie\n\nlabl: Indie Records\n")
    add(repo, "indie", A, "label")

    report = validate_catalog(repo.root, None, OFFLINE)

    assert [(d.path, d.line, d.field) for d in report.errors] == [
        ("catalog/indie/_defaults.yaml", 3, "labl")
    ]
    assert "did you mean 'label'?" in report.errors[0].message
    assert report.releases == 0  # not loaded below a broken defaults file, never a release


def test_validating_one_release_uses_its_defaults(repo: Repo) -> None:
    repo.write("catalog/indie/_defaults.yaml", "label: Indie\np_line: {year: 2024, owner: X}\n")
    inherits = add(repo, "indie", A, "label", "p_line")
    alone = add(repo, "elsewhere", B, "label", "p_line")

    assert errors(repo.root, [repo.root / inherits]) == []
    missing = errors(repo.root, [repo.root / alone])
    assert {(d.path, d.field, d.message) for d in missing} == {
        (alone, "label", "required field is missing"),
        (alone, "p_line", "required field is missing"),
    }


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [STARDUST, *args], cwd=root, capture_output=True, text=True, env=env, timeout=120
    )


def test_show_prints_the_resolved_release_with_each_inherited_value_s_source(repo: Repo) -> None:
    defaults = "catalog/indie/_defaults.yaml"
    repo.write(defaults, "# shared\nlabel: Indie Label\np_line: {year: 2023, owner: Indie}\n")
    release = add(repo, "indie", A, "label", "p_line")
    expected = load_catalog(repo.root).releases[release].model

    text = run(repo.root, "show", A)
    as_json = run(repo.root, "show", A, "--format", "json")

    assert text.returncode == 0, text.stderr
    shown = Release.model_validate(load_yaml_text(text.stdout, "shown").data)
    assert shown == expected
    lines = text.stdout.splitlines()
    label_line = next(line for line in lines if line.startswith("label:"))
    assert label_line.endswith(f"# from {defaults}:{line_of(repo, defaults, 'label:')}")
    p_line_at = lines.index("p_line:")
    assert lines[p_line_at - 1] == f"# from {defaults}:{line_of(repo, defaults, 'p_line:')}"
    assert not any("# from" in line for line in lines if line.startswith("title:"))
    document = json.loads(as_json.stdout)
    assert Release.model_validate(document["release"]) == expected
    assert document["sources"]["label"] == f"{defaults}:{line_of(repo, defaults, 'label:')}"
    assert document["sources"]["title"] == f"{release}:{line_of(repo, release, 'title:')}"


def test_show_of_an_unknown_upc_is_an_error(repo: Repo) -> None:
    done = run(repo.root, "show", A)
    assert done.returncode == 1
    assert f"no release file in {repo.root / 'catalog'} holds UPC {A}" in done.stderr


def deliver_all(repo: Repo, base: str) -> None:
    result = deliver(repo.root, DeliverOptions(commit=True, retry_wait=0.01, base=base))
    assert not result.plan.problems, result.plan.problems
    assert result.outcomes and all(o.status == "success" for o in result.outcomes)


def updates(repo: Repo, base: str) -> tuple[list[tuple[str, str]], int]:
    plan = compute_plan(repo.root, base, repo.head())
    assert not plan.problems, plan.problems
    return [(a.upc, a.action) for a in plan.actions], plan.examined


def test_changing_adding_or_deleting_defaults_replans_exactly_the_affected_releases(
    repo: Repo,
) -> None:
    repo.write("catalog/_defaults.yaml", "label: Outer Records\n")
    repo.write("catalog/indie/_defaults.yaml", "label: Inner Records\n")
    add(repo, "indie", A, "label")
    add(repo, "indie", B)  # its own label: no defaults value reaches it
    add(repo, "top", C, "label")
    start = repo.head()
    repo.commit("Three releases")
    deliver_all(repo, start)

    base = repo.head()
    repo.write("catalog/indie/_defaults.yaml", "label: Inner Records Ltd\n")
    repo.commit("Rename the inner label")
    assert updates(repo, base) == ([(A, "update")], 2)
    changed = compute_plan(repo.root, base, repo.head()).actions[0]
    assert changed.reasons[0] == "changed: label"
    deliver_all(repo, base)

    base = repo.head()
    repo.delete("catalog/indie/_defaults.yaml")
    repo.commit("The indie releases take the outer label")
    assert updates(repo, base) == ([(A, "update")], 2)
    deliver_all(repo, base)

    base = repo.head()
    repo.write("catalog/top/_defaults.yaml", "label: Top Records\n")
    repo.commit("A label for top/")
    assert updates(repo, base) == ([(C, "update")], 1)


def test_the_facts_cache_notices_a_defaults_file_changed_behind_its_back(repo: Repo) -> None:
    """A release's tracks come from its defaults; the cached summary of that release must not
    survive a change of the defaults file (the release file itself is untouched)."""
    track = "tracks:\n  - {isrc: USRC17607839, title: Shared, duration: 3, audio: a.wav}\n"
    repo.write("catalog/indie/_defaults.yaml", "label: Indie\n" + track)
    add(repo, "indie", A, "label", "tracks")
    other = add(repo, "other", B)
    assert errors(repo.root) == []  # a full run leaves the cache warm
    release_file = repo.root / f"catalog/indie/{A}.yaml"
    before = release_file.stat()

    repo.write(
        "catalog/indie/_defaults.yaml",
        "label: Indie\n" + track.replace("USRC17607839", f"USRC1240{B[-4:]}"),
    )
    os.utime(release_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    found = errors(repo.root, [repo.root / other])

    assert [(d.path, d.field) for d in found] == [(other, "tracks[0].isrc")]
    assert f"is titled 'Shared' in catalog/indie/{A}.yaml" in found[0].message
    both_sides = errors(repo.root)
    assert {(d.path, d.line, d.release) for d in both_sides} == {
        (other, line_of(repo, other, "  - isrc:"), ""),
        ("catalog/indie/_defaults.yaml", 3, f"catalog/indie/{A}.yaml"),
    }


def test_cross_file_errors_found_in_worker_processes_are_placed_like_serial_ones(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers send back no positions (they are found only when asked for); the releases a
    cross-file rule finds wrong are loaded again to place the errors, defaults files included."""
    from stardust_git import validate as validate_module

    track = f"tracks:\n  - {{isrc: USRC1240{B[-4:]}, title: Shared, duration: 3, audio: a.wav}}\n"
    repo.write("catalog/indie/_defaults.yaml", "label: Indie\n" + track)
    add(repo, "indie", A, "label", "tracks")
    other = add(repo, "other", B)
    copy = "catalog/other/copy.yaml"
    repo.write(copy, repo.read(other))
    serial = errors(repo.root)
    monkeypatch.setattr(validate_module, "_worker_count", lambda releases: 2)
    monkeypatch.setattr(validate_module, "SHARE_SIZE", 1)

    parallel = errors(repo.root)

    assert sorted(parallel) == sorted(serial)
    assert {(d.path, d.line, d.field, d.release) for d in parallel} >= {
        (copy, line_of(repo, copy, "upc:"), "upc", ""),
        (other, line_of(repo, other, "  - isrc:"), "tracks[0].isrc", ""),
        ("catalog/indie/_defaults.yaml", 3, "tracks[0].isrc", f"catalog/indie/{A}.yaml"),
    }


def test_parsing_in_worker_processes_resolves_the_same_defaults(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stardust_git.source import catalog as catalog_module
    from stardust_git.source.tree import Tree

    repo.write("catalog/indie/_defaults.yaml", "label: Indie\ngenre: ROCK\n")
    paths = [add(repo, "indie", A, "label", "genre"), add(repo, "top", B)]
    serial = catalog_module.load_catalog_from(Tree.working(repo.root), paths)
    monkeypatch.setattr(catalog_module, "PARALLEL_FROM", 1)

    parallel = catalog_module.load_catalog_from(Tree.working(repo.root), paths, parallel=True)

    assert {p: (r.model, r.defaults) for p, r in parallel.releases.items()} == {
        p: (r.model, r.defaults) for p, r in serial.releases.items()
    }
    assert parallel.releases[paths[0]].model.genre == "ROCK"


def test_the_readme_example_is_a_valid_defaults_file() -> None:
    from stardust_git.models.defaults import Defaults
    from tests.gitrepo import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Defaults", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]

    defaults = Defaults.model_validate(load_yaml_text(example, "README.md").data)
    assert defaults.label == "Indie Records" and defaults.targets == ["spotify", "apple"]
