"""Plan semantics in real git repositories: desired state (catalog) against recorded (receipts)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path

import pytest

from stardust_git.deliver import DeliverOptions, DeliverResult, deliver
from stardust_git.plan import Plan, compute_plan
from stardust_git.receipts import read_receipt
from tests.gitrepo import UPCS, Repo, make_catalog

UPC, OTHER = UPCS[0], UPCS[1]


def actions(plan: Plan) -> list[tuple[str, str, str, list[str]]]:
    return [(a.upc, a.target, a.action, a.reasons) for a in plan.actions]


def run_deliver(repo: Repo, **options: object) -> DeliverResult:
    """Deliver and commit the receipts, as the deliver workflow does."""
    result = deliver(repo.root, DeliverOptions(commit=True, retry_wait=0.01, **options))  # type: ignore[arg-type]
    assert not result.plan.problems, result.plan.problems
    return result


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_catalog(tmp_path)


@pytest.fixture
def delivered(repo: Repo) -> Repo:
    """One release delivered to alpha and beta, receipts committed."""
    base = repo.head()
    repo.add_release(UPC, "Summer Vibes")
    repo.commit("Add Summer Vibes")
    result = run_deliver(repo, base=base)
    assert [(o.target, o.status) for o in result.outcomes] == [
        ("alpha", "success"),
        ("beta", "success"),
    ]
    return repo


def test_a_new_release_is_an_initial_delivery_to_each_of_its_targets(repo: Repo) -> None:
    base = repo.head()
    repo.add_release(UPC, "Summer Vibes")
    head = repo.commit("Add a release")

    plan = compute_plan(repo.root, base, head)

    assert actions(plan) == [(UPC, "alpha", "initial", ["new"]), (UPC, "beta", "initial", ["new"])]
    assert plan.base == base and plan.head == head


def test_a_title_edit_is_an_update_naming_the_field(delivered: Repo) -> None:
    base = delivered.head()
    path = f"catalog/{UPC}.yaml"
    delivered.write(
        path, delivered.read(path).replace("title: Summer Vibes", "title: Winter Vibes")
    )
    delivered.commit("Retitle")

    plan = compute_plan(delivered.root, base)

    assert actions(plan) == [
        (UPC, "alpha", "update", ["changed: title"]),
        (UPC, "beta", "update", ["changed: title"]),
    ]


def test_a_track_edit_names_the_track_field(delivered: Repo) -> None:
    base = delivered.head()
    path = f"catalog/{UPC}.yaml"
    delivered.write(path, delivered.read(path).replace("title: Sunset Dreams", "title: Sunrise"))
    delivered.commit("Rename the track")

    plan = compute_plan(delivered.root, base)

    assert {tuple(a.reasons) for a in plan.actions} == {("changed: tracks[0].title",)}


def test_a_reformat_or_a_comment_sends_nothing(delivered: Repo) -> None:
    base = delivered.head()
    path = f"catalog/{UPC}.yaml"
    text = delivered.read(path)
    reformatted = "# Summer Vibes, remastered metadata\n" + text.replace(
        "  - {name: Beach Band, role: MainArtist}",
        "  - name: Beach Band   # the band\n    role: MainArtist",
    ).replace('upc: "', "upc: '").replace(f'{UPC}"', f"{UPC}'")
    assert reformatted != text
    delivered.write(path, reformatted)
    delivered.commit("Reformat")

    plan = compute_plan(delivered.root, base)

    assert plan.actions == [] and plan.problems == []
    assert plan.examined == 1


def test_a_target_added_is_an_initial_delivery_there_alone(repo: Repo) -> None:
    base = repo.head()
    repo.add_release(UPC, targets=("alpha",))
    repo.commit("Add for alpha")
    run_deliver(repo, base=base)
    before = repo.head()
    path = f"catalog/{UPC}.yaml"
    repo.write(path, repo.read(path).replace("targets: [alpha]", "targets: [alpha, beta]"))
    repo.commit("Also beta")

    plan = compute_plan(repo.root, before)

    assert actions(plan) == [(UPC, "beta", "initial", ["target added"])]


def test_a_target_removed_is_a_takedown_there_alone(delivered: Repo) -> None:
    base = delivered.head()
    path = f"catalog/{UPC}.yaml"
    delivered.write(
        path, delivered.read(path).replace("targets: [alpha, beta]", "targets: [alpha]")
    )
    delivered.commit("Leave beta")

    plan = compute_plan(delivered.root, base)

    assert actions(plan) == [(UPC, "beta", "takedown", ["target removed"])]


def test_takedown_true_takes_down_wherever_it_was_delivered(repo: Repo) -> None:
    base = repo.head()
    repo.add_release(UPC)
    repo.commit("Add for alpha and beta")
    run_deliver(repo, base=base, targets=["alpha"])
    before = repo.head()
    repo.write(f"catalog/{UPC}.yaml", repo.read(f"catalog/{UPC}.yaml") + "takedown: true\n")
    repo.commit("Take it down")

    plan = compute_plan(repo.root, before)

    assert actions(plan) == [(UPC, "alpha", "takedown", ["takedown requested"])]


def test_a_takedown_delivered_is_not_sent_again(delivered: Repo) -> None:
    base = delivered.head()
    path = f"catalog/{UPC}.yaml"
    delivered.write(path, delivered.read(path) + "takedown: true\n")
    delivered.commit("Take it down")
    result = run_deliver(delivered, base=base)
    assert [(o.action, o.status) for o in result.outcomes] == [("takedown", "success")] * 2

    assert compute_plan(delivered.root, all_=True).actions == []


def test_a_deleted_delivered_release_is_a_plan_problem_not_a_takedown(delivered: Repo) -> None:
    base = delivered.head()
    delivered.delete(f"catalog/{UPC}.yaml")
    delivered.commit("Delete it")

    for plan in (compute_plan(delivered.root, base), compute_plan(delivered.root, all_=True)):
        assert plan.actions == []
        assert len(plan.problems) == 1
        assert UPC in plan.problems[0] and "takedown: true" in plan.problems[0]


def test_a_deleted_delivered_release_fails_validation(delivered: Repo) -> None:
    delivered.delete(f"catalog/{UPC}.yaml")
    delivered.add_release(OTHER)

    done = subprocess.run(
        ["stardust-git", "validate", "--no-render"],
        cwd=delivered.root,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 1
    assert f"receipts/{UPC}/alpha.json" in done.stdout
    assert "takedown: true" in done.stdout


def test_a_moved_release_file_is_the_same_release(delivered: Repo) -> None:
    base = delivered.head()
    (delivered.root / "catalog" / "beach-band").mkdir()
    delivered.git("mv", f"catalog/{UPC}.yaml", "catalog/beach-band/summer-vibes.yaml")
    delivered.commit("Move into a label folder")

    plan = compute_plan(delivered.root, base)

    assert plan.actions == [] and plan.problems == []


def test_a_rerun_on_the_same_commit_sends_nothing(repo: Repo) -> None:
    base = repo.head()
    repo.add_release(UPC)
    repo.commit("Add")
    first = run_deliver(repo, base=base)
    assert len(first.outcomes) == 2

    second = run_deliver(repo, base=base)

    assert second.outcomes == [] and second.receipts == [] and second.commit is None


def test_a_changed_target_file_replans_the_releases_that_use_it(delivered: Repo) -> None:
    delivered.add_release(OTHER, targets=("beta",))
    base = delivered.commit("Another release, beta only")
    run_deliver(delivered, base=base)
    before = delivered.head()
    target = delivered.read("targets/alpha.yaml")
    delivered.write("targets/alpha.yaml", target.replace("name: alpha}", "name: Alpha Music}"))
    delivered.commit("Rename alpha's recipient")

    plan = compute_plan(delivered.root, before)

    assert [(a.upc, a.target, a.action) for a in plan.actions] == [(UPC, "alpha", "update")]
    assert plan.actions[0].reasons[0].startswith("changed: rendered content")


def test_deliver_after_holds_then_releases_a_delivery(repo: Repo) -> None:
    base = repo.head()
    repo.add_release(UPC, targets=("alpha",), deliver_after="2030-01-01")
    head = repo.commit("Add, held")

    held = compute_plan(repo.root, base, head, today=dt.date(2029, 12, 31))
    due = compute_plan(repo.root, all_=True, today=dt.date(2030, 1, 1))

    assert held.actions == [] and [(h.upc, h.target, h.until) for h in held.held] == [
        (UPC, "alpha", dt.date(2030, 1, 1))
    ]
    assert actions(due) == [(UPC, "alpha", "initial", ["new", "due: deliver_after reached"])]


def _feature_commits(repo: Repo) -> None:
    repo.add_release(OTHER, "Night Shift")
    repo.commit("feature: add Night Shift")
    path = f"catalog/{UPC}.yaml"
    repo.write(path, repo.read(path).replace("title: Summer Vibes", "title: Summer Vibes (Deluxe)"))
    repo.commit("feature: deluxe title")
    repo.add_release(UPCS[2], "Longitude", targets=("beta",))
    repo.commit("feature: add Longitude")


def test_squash_merge_and_merge_commit_histories_plan_like_a_linear_one(delivered: Repo) -> None:
    base = delivered.head()
    delivered.git("checkout", "--quiet", "-b", "feature")
    _feature_commits(delivered)
    linear = compute_plan(delivered.root, base, "feature")
    delivered.git("checkout", "--quiet", "main")
    delivered.git("merge", "--quiet", "--squash", "feature")
    squashed = compute_plan(delivered.root, base, delivered.commit("Squash merge"))
    delivered.git("reset", "--quiet", "--hard", base)
    delivered.write("catalog/unrelated-note.txt", "main moved on\n")
    delivered.commit("main moves on")
    delivered.git("merge", "--quiet", "--no-ff", "-m", "Merge feature", "feature")
    merged = compute_plan(delivered.root, base, "HEAD")

    assert actions(linear) == [
        (UPC, "alpha", "update", ["changed: title"]),
        (UPC, "beta", "update", ["changed: title"]),
        (OTHER, "alpha", "initial", ["new"]),
        (OTHER, "beta", "initial", ["new"]),
        (UPCS[2], "beta", "initial", ["new"]),
    ]
    assert actions(squashed) == actions(linear)
    assert actions(merged) == actions(linear)


def test_a_force_pushed_history_plans_like_a_linear_one(delivered: Repo) -> None:
    base = delivered.head()
    delivered.write("catalog/draft.txt", "a commit that will be rewritten away\n")
    rewritten_away = delivered.commit("draft")
    delivered.git("reset", "--quiet", "--hard", base)
    _feature_commits(delivered)
    head = delivered.head()

    linear = compute_plan(delivered.root, base, head)
    forced = compute_plan(delivered.root, rewritten_away, head)

    assert actions(forced) == actions(linear) and len(linear.actions) == 5
    assert any("not an ancestor" in note for note in forced.notes)


def test_restricting_to_a_target(repo: Repo) -> None:
    base = repo.head()
    repo.add_release(UPC)
    repo.commit("Add")

    plan = compute_plan(repo.root, base, targets=["beta"])

    assert actions(plan) == [(UPC, "beta", "initial", ["new"])]


def test_plan_json_is_exactly_the_documented_shape(repo: Repo) -> None:
    base = repo.head()
    repo.add_release(UPC, targets=("alpha",))
    head = repo.commit("Add")

    done = subprocess.run(
        [
            "stardust-git",
            "plan",
            "--base",
            base,
            "--head",
            head,
            "--format",
            "json",
            "--detailed-exitcode",
        ],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 2, done.stderr
    assert json.loads(done.stdout) == {
        "base": base,
        "head": head,
        "actions": [
            {"upc": UPC, "target": "alpha", "action": "initial", "reasons": ["new"], "changes": []}
        ],
    }


def test_detailed_exitcode_is_0_when_there_is_nothing_to_do(repo: Repo) -> None:
    done = subprocess.run(
        ["stardust-git", "plan", "--all", "--detailed-exitcode"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert "nothing to deliver" in done.stdout


def test_new_audio_with_the_same_metadata_is_an_update(delivered: Repo) -> None:
    from tests.media import write_wav

    base = delivered.head()
    write_wav(delivered.root / "assets" / UPC / "01.wav", seconds=3.0, rate=8000, seed=99)
    delivered.commit("Remastered audio")

    plan = compute_plan(delivered.root, base)

    assert [(a.target, a.action) for a in plan.actions] == [("alpha", "update"), ("beta", "update")]
    assert plan.actions[0].reasons[0].startswith("changed: rendered content")


def test_a_changed_genre_map_replans_the_releases_of_its_targets(delivered: Repo) -> None:
    project = Path(__file__).resolve().parents[1] / "genre-maps"
    delivered.write("genre-maps/ddex43.yaml", (project / "ddex43.yaml").read_text())
    vocabulary = (project / "vocabularies" / "ddex43.yaml").read_text()
    delivered.write("genre-maps/vocabularies/ddex43.yaml", vocabulary)
    target = delivered.read("targets/alpha.yaml")
    delivered.write("targets/alpha.yaml", target + "genre_map: ddex43\n")
    delivered.commit("alpha maps genres")
    run_deliver(delivered, base=delivered.git("rev-parse", "HEAD~1"))
    before = delivered.head()
    mapping = delivered.read("genre-maps/ddex43.yaml")
    delivered.write(
        "genre-maps/ddex43.yaml", mapping.replace("ELECTRONIC: Electronic", "ELECTRONIC: Dance")
    )
    delivered.commit("Electronic is Dance at alpha")

    plan = compute_plan(delivered.root, before)

    assert [(a.upc, a.target, a.action) for a in plan.actions] == [(UPC, "alpha", "update")]


def test_a_territory_dropped_from_the_deals_is_withdrawn_explicitly(repo: Repo) -> None:
    base = repo.head()
    path = repo.add_release(UPC, targets=("alpha",))
    repo.write(path, repo.read(path).replace("[Worldwide]", "[US, CA]"))
    repo.commit("North America")
    run_deliver(repo, base=base)
    before = repo.head()
    repo.write(path, repo.read(path).replace("[US, CA]", "[US]"))
    repo.commit("Not in Canada any more")

    plan = compute_plan(repo.root, before)

    (planned,) = plan.actions
    assert (planned.action, planned.reasons) == ("update", ["changed: deals[0].territories"])
    assert planned.package is not None
    message = planned.package.message.data or b""
    assert b"<TerritoryCode>CA</TerritoryCode>" in message


def test_a_release_taken_down_and_restored_is_sent_again(delivered: Repo) -> None:
    path = f"catalog/{UPC}.yaml"
    live = delivered.read(path)
    base = delivered.head()
    delivered.write(path, live + "takedown: true\n")
    delivered.commit("Down")
    run_deliver(delivered, base=base)
    before = delivered.head()
    delivered.write(path, live)
    delivered.commit("Back up")

    plan = compute_plan(delivered.root, before)

    assert {(a.action, tuple(a.reasons)) for a in plan.actions} == {
        ("update", ("reinstated after takedown",))
    }


def test_fingerprints_of_new_inputs_are_remembered(delivered: Repo) -> None:
    base = delivered.head()
    path = f"catalog/{UPC}.yaml"
    delivered.write(
        path, "# a comment changes the file, not what it renders\n" + delivered.read(path)
    )
    delivered.commit("Comment")
    cache = delivered.root / ".stardust-cache" / "fingerprints.json"

    first = compute_plan(delivered.root, base)
    learnt = json.loads(cache.read_text())["entries"]
    second = compute_plan(delivered.root, base)

    assert first.actions == second.actions == []
    fingerprints = {
        read_receipt(delivered.root, UPC, name).last_success().fingerprint  # type: ignore[union-attr]
        for name in ("alpha", "beta")
    }
    assert len(learnt) == 2 and set(learnt.values()) == fingerprints
    assert json.loads(cache.read_text())["entries"] == learnt
