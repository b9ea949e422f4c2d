"""Plans that show values (old -> new, in the table, the markdown and the JSON) and
``plan --explain``, in real git repositories through the CLI and the core API."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from stardust_git.changes import VALUE_LIMIT, FieldChange, field_changes, shown
from stardust_git.explain import ExplainRequest, Explanation, explain
from stardust_git.plan import compute_plan
from tests.gitrepo import UPCS, Repo, make_catalog
from tests.media import write_wav
from tests.test_plan import run_deliver

UPC, OTHER = UPCS[0], UPCS[1]
LONG_TITLE = "A Very Long Track Title " * 5
NEW_TRACK = f"""\
  - isrc: USRC12400002
    title: {LONG_TITLE.strip()}
    duration: 3
    audio: assets/{UPC}/02.wav
"""


def cli(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["stardust-git", *args], cwd=repo.root, capture_output=True, text=True, check=False
    )


@pytest.fixture
def delivered(tmp_path: Path) -> Repo:
    return two_delivered(tmp_path)


def two_delivered(tmp_path: Path) -> Repo:
    """UPC delivered to alpha and beta, OTHER to beta only; receipts committed."""
    repo = make_catalog(tmp_path)
    repo.add_release(UPC, "Summer Vibes")
    repo.add_release(OTHER, "Night Shift", targets=("beta",))
    repo.commit("Two releases")
    run_deliver(repo)
    return repo


@pytest.fixture
def edited(delivered: Repo) -> tuple[Repo, str]:
    """UPC retitled, its deal moved a month and a track with a long title added; the base."""
    base = delivered.head()
    path = f"catalog/{UPC}.yaml"
    text = delivered.read(path).replace("title: Summer Vibes", "title: Winter Vibes")
    text = text.replace("start_date: 2024-07-01", "start_date: 2024-08-01")
    text = text.replace("deals:\n", NEW_TRACK + "deals:\n")
    delivered.write(path, text)
    # a recording of its own: the same file under a second ISRC is a duplicate recording
    write_wav(delivered.root / "assets" / UPC / "02.wav", seconds=3.0, rate=8000, seed=4242)
    delivered.commit("Retitle, move the deal, add a track")
    return delivered, base


def test_the_core_api_carries_each_change_with_its_values(edited: tuple[Repo, str]) -> None:
    repo, base = edited

    plan = compute_plan(repo.root, base)

    alpha = next(a for a in plan.actions if a.target == "alpha")
    assert alpha.reasons == ["changed: deals[0].start_date, title, tracks[1]"]
    assert [change.field for change in alpha.changes] == [
        "deals[0].start_date",
        "title",
        "tracks[1]",
    ]
    assert alpha.changes[0] == FieldChange("deals[0].start_date", "2024-07-01", "2024-08-01")
    assert alpha.changes[1] == FieldChange("title", "Summer Vibes", "Winter Vibes")
    added = alpha.changes[2]
    assert added.old is None and added.new["isrc"] == "USRC12400002"


def test_the_table_shows_old_and_new_values(edited: tuple[Repo, str]) -> None:
    repo, base = edited

    done = cli(repo, "plan", "--base", base)

    assert done.returncode == 0, done.stderr
    [row] = [line for line in done.stdout.splitlines() if " alpha " in line]
    assert 'changed title: "Summer Vibes" -> "Winter Vibes"' in row
    assert 'changed deals[0].start_date: "2024-07-01" -> "2024-08-01"' in row
    assert 'changed tracks[1]: added {"isrc": "USRC12400002", "title": "A Very Long' in row
    assert LONG_TITLE.strip() not in row and "…" in row


def test_the_markdown_shows_the_values_escaped_one_per_line(edited: tuple[Repo, str]) -> None:
    repo, base = edited

    done = cli(repo, "plan", "--base", base, "--format", "markdown")

    [row] = [
        line
        for line in done.stdout.splitlines()
        if line.startswith(f"| {UPC} ") and "alpha" in line
    ]
    why = row.split(" | ")[4]
    lines = why.removesuffix(" |").split("<br>")
    assert lines[0] == (
        "changed deals\\[0\\].start\\_date: &quot;2024-07-01&quot; -&gt; &quot;2024-08-01&quot;"
    )
    assert lines[1] == "changed title: &quot;Summer Vibes&quot; -&gt; &quot;Winter Vibes&quot;"
    assert lines[2].startswith("changed tracks\\[1\\]: added {&quot;isrc&quot;")
    assert lines[2].endswith("…")


def test_the_json_lists_changes_beside_the_reasons(edited: tuple[Repo, str]) -> None:
    repo, base = edited

    done = cli(repo, "plan", "--base", base, "--format", "json")

    alpha = next(a for a in json.loads(done.stdout)["actions"] if a["target"] == "alpha")
    assert alpha["reasons"] == ["changed: deals[0].start_date, title, tracks[1]"]
    assert alpha["changes"][:2] == [
        {"field": "deals[0].start_date", "old": "2024-07-01", "new": "2024-08-01"},
        {"field": "title", "old": "Summer Vibes", "new": "Winter Vibes"},
    ]
    track = alpha["changes"][2]
    assert (track["field"], track["old"]) == ("tracks[1]", None)
    assert track["new"]["isrc"] == "USRC12400002" and track["new"]["duration"] == 3.0
    assert len(track["new"]["title"]) == VALUE_LIMIT and track["new"]["title"].endswith("…")
    assert "genre" not in track["new"]  # a compact object: the fields left empty are not shown


def test_field_changes_say_added_removed_and_changed() -> None:
    before = {"title": "A", "version": None, "territories": ["GB"], "tracks": [{"t": 1}, {"t": 2}]}
    after = {"title": "A", "version": "Remix", "territories": ["GB", "US"], "tracks": [{"t": 1}]}

    found = field_changes(before, after)

    assert [change.describe() for change in found] == [
        'territories: ["GB"] -> ["GB", "US"]',
        'tracks[1]: removed (was {"t": 2})',
        'version: added "Remix"',
    ]
    assert field_changes(before, before) == []


def test_long_values_are_cut_with_an_ellipsis() -> None:
    text = "x" * 200

    assert shown(text) == '"' + "x" * (VALUE_LIMIT - 1) + '…"'
    assert len(shown(list(range(100)))) == VALUE_LIMIT
    assert shown("short") == '"short"'


def test_a_catalog_wide_change_keeps_its_reason_without_values(delivered: Repo) -> None:
    base = delivered.head()
    delivered.write(
        "targets/beta.yaml",
        delivered.read("targets/beta.yaml").replace("name: beta}", "name: Beta Music}"),
    )
    delivered.commit("Rename the shop")

    plan = compute_plan(delivered.root, base)

    assert [(a.upc, a.target) for a in plan.actions] == [(UPC, "beta"), (OTHER, "beta")]
    assert all(a.reasons[0].startswith("changed: rendered content (target") for a in plan.actions)
    assert all(a.changes == [] and a.why() == a.reasons for a in plan.actions)


# --- plan --explain ------------------------------------------------------------------------


def why(found: list[Explanation], upc: str, target: str) -> tuple[str, str]:
    line = next(e for e in found if (e.upc, e.target) == (upc, target))
    return line.decision, line.why


def test_explain_says_what_is_sent_and_why_not_elsewhere(edited: tuple[Repo, str]) -> None:
    repo, base = edited
    repo.write("targets/gamma.yaml", repo.read("targets/alpha.yaml").replace("alpha", "gamma"))
    repo.write("targets/broken.yaml", "format: nope\n")
    repo.commit("Two more targets")

    found = explain(repo.root, [UPC, OTHER], ExplainRequest(base=base))

    decision, text = why(found, UPC, "alpha")
    assert decision == "update" and 'changed title: "Summer Vibes" -> "Winter Vibes"' in text
    assert why(found, UPC, "gamma") == ("nothing", "not listed in `targets:`")
    decision, text = why(found, UPC, "broken")
    assert decision == "nothing"
    assert text.startswith("the target file does not load: targets/broken.yaml:1:1: format:")
    decision, text = why(found, OTHER, "beta")
    assert decision == "not examined"
    assert text.startswith(f"outside the --base scope (unchanged since {base[:12]}); with --all:")
    assert "nothing: unchanged since the last delivery (commit " in text
    assert {e.target for e in found if e.upc == OTHER} == {"alpha", "beta", "broken", "gamma"}


def test_explain_unchanged_held_taken_down_and_blocked(delivered: Repo) -> None:
    path = f"catalog/{UPC}.yaml"
    delivered.write(
        path,
        delivered.read(path).replace(
            "targets: [alpha, beta]", "takedown: true\ntargets: [alpha, beta]"
        ),
    )
    delivered.commit("Take it down")
    run_deliver(delivered)
    third = UPCS[2]
    delivered.add_release(third, "Later", targets=("alpha",), deliver_after="2999-01-01")
    fourth = UPCS[3]
    delivered.add_release(fourth, "Broken Audio", targets=("alpha",))
    audio = delivered.root / "assets" / fourth / "01.wav"
    audio.write_bytes(audio.read_bytes()[:12000])
    delivered.commit("Two more")

    found = explain(delivered.root, [UPC, OTHER, third, fourth], ExplainRequest())

    decision, text = why(found, UPC, "alpha")
    assert decision == "nothing" and text.startswith("taken down already (commit ")
    decision, text = why(found, OTHER, "beta")
    assert decision == "nothing" and text.startswith("unchanged since the last delivery (commit ")
    assert why(found, third, "alpha") == ("held", "initial held until deliver_after 2999-01-01")
    decision, text = why(found, fourth, "alpha")
    assert decision == "blocked" and "initial stopped by the gate: " in text
    assert "tracks[0].audio: truncated WAV" in text


def test_explain_through_the_cli_in_text_and_json(delivered: Repo) -> None:
    text = cli(delivered, "plan", "--explain", OTHER)
    as_json = cli(delivered, "plan", "--explain", OTHER, "--format", "json")
    unknown = cli(delivered, "plan", "--explain", f"{OTHER},0000000000000")

    assert text.returncode == 0, text.stderr
    assert f"{OTHER} -> alpha: nothing: not listed in `targets:`" in text.stdout.splitlines()
    assert json.loads(as_json.stdout)[0] == {
        "upc": OTHER,
        "target": "alpha",
        "decision": "nothing",
        "why": "not listed in `targets:`",
    }
    assert unknown.returncode == 2
    assert "--explain 0000000000000: no release file in catalog/ has this UPC" in unknown.stderr


def test_explain_names_a_release_that_does_not_validate(delivered: Repo) -> None:
    path = f"catalog/{OTHER}.yaml"
    delivered.write(path, delivered.read(path).replace("label: Indie Records\n", ""))
    delivered.commit("Break it")

    found = explain(delivered.root, [OTHER], ExplainRequest())

    assert why(found, OTHER, "beta") == (
        "nothing",
        f"{path} does not validate (run stardust-git validate)",
    )
