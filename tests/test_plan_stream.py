"""Plan and deliver over a catalog larger than a share (issue 15: memory flat in catalog size).

The share size is made tiny here so that a handful of releases goes over many shares; the
plan must be the one a single share makes, and deliver must hold a bounded number of rendered
packages and parsed releases whatever the catalog's size.
"""

from __future__ import annotations

import json
import weakref
from pathlib import Path

import pytest
from stdnum import ean

import stardust_git.choreography as choreography
import stardust_git.render as render
from stardust_git import plan as planning
from stardust_git.deliver import DeliverOptions, deliver
from stardust_git.gitio import Git
from stardust_git.models import Release
from stardust_git.plan import Plan, compute_plan
from stardust_git.source import catalog as catalog_module
from stardust_git.source.catalog import (
    Loaded,
    ReleaseCache,
    ReleaseSource,
    load_catalog_from,
    release_loader,
)
from stardust_git.source.tree import Tree
from tests.gitrepo import Repo, make_catalog


def upc_of(index: int) -> str:
    body = f"5{index:011d}"
    return body + ean.calc_check_digit(body)


def add_releases(repo: Repo, count: int) -> list[str]:
    return [repo.add_release(upc_of(index), f"Release {index}") for index in range(count)]


def summary(plan: Plan) -> dict[str, object]:
    """What a plan decided (problems as a set: a plan in shares lists them share by share)."""
    return {
        "actions": plan.as_dict()["actions"],
        "blocked": [(p.upc, p.target, p.action, p.blocked) for p in plan.blocked],
        "held": plan.held,
        "problems": sorted(plan.problems),
        "examined": plan.examined,
        "titles": plan.titles,
    }


@pytest.fixture
def mixed(tmp_path: Path) -> Repo:
    """Seven releases delivered; then one title edited, one taken down, one held for a later
    date, and three new ones, one of them with truncated audio (the gate stops it)."""
    repo = make_catalog(tmp_path)
    paths = add_releases(repo, 7)
    repo.commit("Seven releases")
    assert deliver(repo.root, DeliverOptions(all_=True, commit=True, retry_wait=0.01)).ok
    repo.write(paths[1], repo.read(paths[1]).replace("Release 1", "Release 1 Edited"))
    repo.write(paths[2], repo.read(paths[2]) + "takedown: true\n")
    repo.add_release(upc_of(10), "Release 10")
    audio = repo.root / "assets" / upc_of(10) / "01.wav"
    audio.write_bytes(audio.read_bytes()[:12000])
    repo.add_release(upc_of(7), "Release 7", deliver_after="2999-01-01")
    repo.add_release(upc_of(8), "Release 8")
    repo.add_release(upc_of(9), "Release 9")
    repo.commit("Edits")
    return repo


def test_a_plan_in_shares_is_the_plan_in_one(mixed: Repo, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = summary(compute_plan(mixed.root, all_=True))
    monkeypatch.setattr(planning, "SHARE", 2)

    shared = summary(compute_plan(mixed.root, all_=True))

    assert shared == whole
    assert [(a["upc"], a["action"]) for a in whole["actions"]][::2] == [  # type: ignore[index]
        (upc_of(1), "update"),
        (upc_of(2), "takedown"),
        (upc_of(8), "initial"),
        (upc_of(9), "initial"),
    ]
    assert {upc for upc, *_ in whole["blocked"]} == {upc_of(10)}  # type: ignore[misc]


def test_a_release_failing_the_gate_in_a_later_share_fails_alone(
    mixed: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(planning, "SHARE", 2)

    result = deliver(mixed.root, DeliverOptions(all_=True, dry_run=True))

    by_upc = {(o.upc, o.target): (o.status, o.stage) for o in result.outcomes}
    assert by_upc[(upc_of(10), "alpha")] == ("failed", "gate")
    assert by_upc[(upc_of(1), "alpha")] == ("rendered", "")
    assert sum(status == "rendered" for status, _ in by_upc.values()) == 8


def most_packages_alive(repo: Repo, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """The most packages rendered by ``deliver --all --dry-run`` alive at once, and the
    releases still parsed at the end."""
    alive: list[weakref.ref[object]] = []
    most = 0
    sent_as = choreography.package_as_sent

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal most
        package = sent_as(*args, **kwargs)  # type: ignore[arg-type]
        alive[:] = [ref for ref in alive if ref() is not None]
        alive.append(weakref.ref(package))
        most = max(most, len(alive))
        return package

    monkeypatch.setattr(choreography, "package_as_sent", counting)
    # The lanes render here (forked workers would render where this cannot count).
    result = deliver(repo.root, DeliverOptions(all_=True, dry_run=True, prepare_workers=0))
    assert all(o.status == "rendered" for o in result.outcomes), result.outcomes
    assert result.plan.catalog is not None
    return most, len(result.plan.catalog.releases)


@pytest.mark.parametrize("connections", [1, 3])
def test_deliver_holds_a_bounded_number_of_packages_whatever_the_catalog_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, connections: int
) -> None:
    monkeypatch.setattr(planning, "SHARE", 2)
    monkeypatch.setattr(planning, "HELD_RELEASES", 2)
    counts = []
    for size in (3, 9):
        (tmp_path / str(size)).mkdir()
        repo = make_catalog(tmp_path / str(size))
        for name in ("alpha", "beta"):
            text = repo.read(f"targets/{name}.yaml")
            repo.write(f"targets/{name}.yaml", text + f"  connections: {connections}\n")
        add_releases(repo, size)
        repo.commit(f"{size} releases")
        counts.append(most_packages_alive(repo, monkeypatch))

    (small_alive, small_parsed), (large_alive, large_parsed) = counts
    assert large_alive <= 2 * connections  # a lane's package, per target
    assert large_parsed <= 2 and small_parsed <= 2
    assert large_alive <= max(small_alive, 2 * connections)


def test_a_plan_after_one_change_renders_only_that_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_catalog(tmp_path)
    paths = add_releases(repo, 6)
    repo.commit("Six releases")
    assert deliver(repo.root, DeliverOptions(all_=True, commit=True, retry_wait=0.01)).ok
    base = repo.head()
    repo.write(paths[3], repo.read(paths[3]).replace("Release 3", "Release 3 Edited"))
    repo.commit("One title")
    rendered: list[str] = []
    render_package = render.render_package

    def counting(catalog: object, loaded: planning.Loaded, *args: object) -> object:  # type: ignore[type-arg]
        rendered.append(loaded.path)
        return render_package(catalog, loaded, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(render, "render_package", counting)

    plan = compute_plan(repo.root, base)

    assert (plan.examined, sorted(set(rendered))) == (1, [paths[3]])
    assert [(a.upc, a.action) for a in plan.actions] == [
        (upc_of(3), "update"),
        (upc_of(3), "update"),
    ]


def test_a_release_cache_reads_ahead_along_the_expected_order_and_parses_what_is_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_catalog(tmp_path)
    paths = add_releases(repo, 9)
    tree = Tree(Git(repo.root), repo.commit("Nine releases"))
    catalog = load_catalog_from(tree, [])
    source = release_loader(catalog, tree)
    reads: list[list[str]] = []
    parsed: list[str] = []

    def reading(wanted: list[str]) -> dict[str, bytes]:
        reads.append(wanted)
        return source.read(wanted)

    def parsing(path: str, data: bytes) -> Loaded[Release] | None:
        parsed.append(path)
        return source.parse(path, data)

    monkeypatch.setattr(catalog_module, "READ_AHEAD", 4)
    cache = ReleaseCache(ReleaseSource(reading, parsing), limit=2)
    cache.expect(paths)

    titles = [cache[path].model.title for path in paths[::2]]
    again = cache[paths[0]].model.title  # let go (2 held): parsed again, not read again

    assert titles == [f"Release {index}" for index in range(0, 9, 2)]
    assert again == "Release 0"
    assert reads == [paths[0:4], paths[4:8], paths[8:9]]  # 4 read at a time
    assert parsed == [*paths[::2], paths[0]]  # only those asked for
    assert list(cache) == [paths[8], paths[0]]


def test_what_the_triage_processes_render_is_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a renderer upgrade that changes no output, the processes that triage the shares
    render every release once and find nothing to send; the main process keeps what they
    learnt, so the next plan renders none."""
    import stardust_git.fingerprints as fingerprints

    repo = make_catalog(tmp_path)
    add_releases(repo, 5)
    repo.commit("Five releases")
    assert deliver(repo.root, DeliverOptions(all_=True, commit=True, retry_wait=0.01)).ok
    monkeypatch.setattr(planning, "SHARE", 2)
    for module in (planning, fingerprints):
        monkeypatch.setattr(module, "renderer_digest", lambda: "an upgraded renderer")

    first = compute_plan(repo.root, all_=True)

    assert (first.actions, first.problems, first.examined) == ([], [], 5)
    saved = json.loads((repo.root / ".stardust-cache" / "fingerprints.json").read_text())
    assert len(saved["entries"]) == 10  # five releases at two targets

    def no_rendering(*args: object, **kwargs: object) -> object:
        raise AssertionError("rendered again")

    monkeypatch.setattr(render, "render_package", no_rendering)
    again = compute_plan(repo.root, all_=True)
    assert (again.actions, again.problems, again.examined) == ([], [], 5)
