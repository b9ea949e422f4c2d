"""What a new user tripped on (issue 12, item 7), each as the user met it, through the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from stardust_git.cli import cli
from tests.terminal import read_terminal
from tests.test_render_command import copy_example_catalog, git
from tests.test_render_support import REPO_ROOT as REPO

STARDUST = str(Path(sys.executable).parent / "stardust-git")
PLACEHOLDER = re.compile(r"__[A-Z_]+__")


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a pipe runs it (not a terminal), in ``root``."""
    return subprocess.run(
        [STARDUST, *args],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "80"},
    )


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example_catalog(tmp_path_factory.mktemp("example"))
    git(root, "init", "--quiet")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "catalog")
    return root


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("init")
    done = run(parent, "init", "my-label", "--label", "My Label")
    assert done.returncode == 0, done.stderr
    return parent / "my-label"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("deliver", "--dry-run", "--target", "nope"), "--target nope: no targets/nope.yaml"),
        (("plan", "--target", "spotfy"), "did you mean 'spotify'?"),
        (("plan", "--base", "deadbeef"), "--base deadbeef: no such branch, tag or commit"),
        (("plan", "--base", "mian"), "--base mian: no such branch, tag or commit"),
    ],
)
def test_unknown_target_or_base_is_a_usage_error(example: Path, args: tuple[str, ...], said: str):
    done = run(example, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert said in done.stderr
    assert "Traceback" not in done.stderr


def test_a_full_commit_id_this_clone_lacks_still_widens_with_a_note(example: Path) -> None:
    """What CI passes after a force push: the old tip is gone, every release is examined."""
    done = run(example, "plan", "--base", "0123456789" * 4)
    assert done.returncode == 0, done.stderr
    assert "is not in this repository: examined every release" in done.stdout
    assert "12 deliveries" in done.stdout


def test_init_leaves_no_unfilled_placeholder(initialised: Path) -> None:
    for path in initialised.rglob("*"):
        if path.is_file() and ".git" not in path.parts and path.suffix in {".md", ".yml", ".yaml"}:
            found = PLACEHOLDER.findall(path.read_text())
            assert not found, f"{path.relative_to(initialised)}: {found}"


def test_init_sender_id_is_reported_as_a_placeholder(initialised: Path) -> None:
    done = run(initialised, "validate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(
        r"targets/local.yaml:\d+:\d+: warning: sender.party_id: PADPIDA0000000000Q is the"
        r" placeholder stardust-git init wrote",
        done.stdout,
    )
    assert "ok: 2 files valid, 1 release (1 warning)" in done.stderr


def test_the_placeholder_sender_id_blocks_a_real_shop(example: Path, tmp_path: Path) -> None:
    root = copy_example_catalog(tmp_path)
    deezer = root / "targets" / "deezer.yaml"
    deezer.write_text(deezer.read_text().replace("PADPIDA2025110101D", "PADPIDA0000000000Q"))
    done = run(root, "validate", "--no-assets")
    assert done.returncode == 1
    assert re.search(
        r"targets/deezer.yaml:\d+:\d+: sender.party_id: PADPIDA0000000000Q", done.stdout
    )


def test_status_of_an_unknown_upc_says_only_that(example: Path) -> None:
    done = run(example, "status", "123")
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.strip() == "error: nothing is known about 123 (no release file, no receipt)"


def _long_title(root: Path) -> Path:
    release = root / "catalog" / "nova-lane" / "first-light.yaml"
    title = "First Light (A Very Long Title That Would Wrap Any Table On An Eighty Column Log)"
    release.write_text(release.read_text().replace("title: First Light\n", f"title: {title}\n", 1))
    return release


@pytest.mark.parametrize("command", ["status", "plan"])
def test_tables_never_wrap_when_piped(tmp_path: Path, command: str) -> None:
    root = copy_example_catalog(tmp_path)
    _long_title(root)
    git(root, "init", "--quiet")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "catalog")
    done = run(root, command)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if re.match(r"\d{13}\s", line)]
    assert len(rows) == 12, done.stdout
    for row in rows:
        assert re.match(
            r"\d{13}  .+  (local|spotify|apple|beatport|tidal|deezer|amazon|youtube)  ", row
        )
    header = done.stdout.splitlines()[0]
    assert header.split()[:3] == ["UPC", "Release", "Target"]
    target_column = header.index("Target")
    assert {row[target_column - 2 : target_column] for row in rows} == {"  "}


def test_genre_coverage_lists_only_releases_that_use_the_map(example: Path) -> None:
    """Beatport's map leaves SYNTH_POP unmapped; First Light is SYNTH_POP and is not sent there."""
    done = run(example, "genre", "coverage", "beatport", "--format", "json")
    assert done.returncode == 0, done.stderr
    (coverage,) = json.loads(done.stdout)
    assert "SYNTH_POP" in coverage["unmapped"]
    affected = {item["upc"] for item in coverage["affected"]}
    assert "5060236631114" not in affected
    assert all("beatport" in item["targets"] for item in coverage["affected"])
    text = run(example, "genre", "coverage", "beatport")
    assert "5060236631114" not in text.stdout


def test_target_test_does_not_say_skipped_twice(example: Path) -> None:
    done = run(example, "target", "test", "local")
    assert "skipped skipped" not in done.stdout
    assert re.search(r"connect\s+skipped a local directory needs no connection", done.stdout)


def _committed_copy(where: Path) -> Path:
    root = copy_example_catalog(where)
    git(root, "init", "--quiet")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "catalog")
    return root


def _rendered_message(root: Path, out: Path) -> str:
    (message,) = out.rglob("5060236631114.xml")
    return message.read_text()


def test_render_without_action_previews_what_the_plan_would_send(tmp_path: Path) -> None:
    root = _committed_copy(tmp_path / "repo")
    first = run(root, "render", "5060236631114", "--target", "local", "--out", str(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    assert "note: rendering the initial: the release is not live at this target" in first.stderr
    assert list((tmp_path / "a").rglob("*.flac"))  # an initial carries the audio

    delivered = run(root, "deliver", "--target", "local")
    assert delivered.returncode == 0, delivered.stdout + delivered.stderr
    (delivery,) = json.loads((root / "receipts/5060236631114/local.json").read_text())["history"]
    assert len(delivery["files"]) >= 3 and delivery["attempts"] == 1  # tries, not files
    again = run(root, "render", "5060236631114", "--target", "local", "--out", str(tmp_path / "b"))
    assert re.search(
        r"note: rendering the update: it is live there since \d{4}-\d\d-\d\d", again.stderr
    )
    assert not list((tmp_path / "b").rglob("*.flac"))  # the shop has the audio already

    release = root / "catalog" / "nova-lane" / "first-light.yaml"
    release.write_text(release.read_text() + "takedown: true\n")
    down = run(root, "render", "5060236631114", "--target", "local", "--out", str(tmp_path / "c"))
    assert "note: rendering the takedown: the release says takedown: true" in down.stderr
    assert "<EndDate>" in _rendered_message(root, tmp_path / "c")  # 4.x ends the deals
    assert "<EndDate>" not in _rendered_message(root, tmp_path / "b")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
    return found


ALL_COMMANDS = _commands(cli)
GROUPS = [(name,) for name, command in cli.commands.items() if isinstance(command, click.Group)]


def _help(path: tuple[str, ...]) -> str:
    done = CliRunner().invoke(cli, [*path, "--help"], terminal_width=80)
    assert done.exit_code == 0, done.output
    return done.output


@pytest.mark.parametrize("path", [(), *[p for p in ALL_COMMANDS if p in GROUPS]], ids=str)
def test_every_summary_fits_an_80_column_help(path: tuple[str, ...]) -> None:
    listed = _help(path).split("Commands:", 1)[1]
    assert "..." not in listed, listed


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_every_command_shows_an_example(path: tuple[str, ...]) -> None:
    shown = _help(path)
    assert re.search(rf"Examples:\n(  +stardust-git {' '.join(path)}\b.*\n)+", shown), shown


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=" ".join)
def test_every_format_option_is_described(path: tuple[str, ...]) -> None:
    command: click.Command = cli
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    for option in command.params:
        if "--format" in getattr(option, "opts", ()):
            assert option.help and len(option.help) > 20, path  # type: ignore[attr-defined]


def test_validate_says_which_files_it_skipped(example: Path) -> None:
    (example / "README.md").write_text("# the label's notes\n")
    done = run(example, "validate", "--no-assets", "--format", "json", "README.md")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["skipped"] == ["README.md"]
    text = run(example, "validate", "--no-assets", "README.md")
    assert "note: README.md: skipped (not a release, target, genre map or message)" in text.stdout


@pytest.fixture(scope="module")
def messages(example: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An ERN 4.3, an ERN 3.8.2 and an Apple metadata.xml as stardust-git renders them."""
    out = tmp_path_factory.mktemp("messages")
    for upc, target in (("5060236631114", "local"), ("0885686123454", "beatport")):
        done = run(example, "render", upc, "--target", target, "--out", str(out / target))
        assert done.returncode == 0, done.stderr
    done = run(example, "render", "1234567890128", "--target", "apple", "--out", str(out / "apple"))
    assert done.returncode == 0, done.stderr
    return {
        "4.3": next((out / "local").rglob("5060236631114.xml")),
        "3.8.2": next((out / "beatport").rglob("0885686123454.xml")),
        "apple": next((out / "apple").rglob("metadata.xml")),
    }


@pytest.mark.parametrize("kind", ["4.3", "3.8.2", "apple"])
def test_validate_checks_a_message_file(example: Path, messages: dict[str, Path], kind: str):
    done = run(example, "validate", "--no-assets", str(messages[kind]))
    assert done.returncode == 0, done.stdout + done.stderr
    assert ": error" not in done.stdout and "[xsd]" not in done.stdout


def test_validate_locates_what_is_wrong_in_an_ern_message(
    example: Path, messages: dict[str, Path], tmp_path: Path
) -> None:
    text = messages["4.3"].read_text()
    broken = tmp_path / "broken.xml"
    broken.write_text(text.replace("<ISRC>", "<Isrc>").replace("</ISRC>", "</Isrc>"))
    done = run(example, "validate", "--no-assets", str(broken))
    assert done.returncode == 1
    line = text[: text.index("<ISRC>")].count("\n") + 1
    assert re.search(
        rf"broken.xml:{line}:1: /NewReleaseMessage/.*/Isrc: This element is not expected",
        done.stdout,
    )
    assert re.search(
        r"broken.xml:\d+:1: .*SoundRecording.* has no ISRC \[BR-ISRC-001\]", done.stdout
    )


def test_validate_locates_what_is_wrong_in_an_apple_package(
    example: Path, messages: dict[str, Path], tmp_path: Path
) -> None:
    text = messages["apple"].read_text()
    broken = tmp_path / "metadata.xml"
    broken.write_text(text.replace("<title>", "<titel>", 1).replace("</title>", "</titel>", 1))
    done = run(example, "validate", "--no-assets", str(broken))
    assert done.returncode == 1
    line = text[: text.index("<title>")].count("\n") + 1
    assert re.search(
        rf"metadata.xml:{line}:1: Element .*titel.*: This element is not expected", done.stdout
    )


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("<a/>\n", "other.xml:1:1: <a> in namespace '' is not an ERN 3.8.2, 4.2 or 4.3 message"),
        ('<!DOCTYPE a [<!ENTITY x "y">]>\n<a/>\n', "other.xml: XML with a DOCTYPE (a) is refused"),
        ("<a>\n<b>\n</a>\n", "other.xml:3:"),
    ],
)
def test_validate_refuses_other_xml(example: Path, tmp_path: Path, content: str, said: str) -> None:
    other = tmp_path / "other.xml"
    other.write_text(content)
    done = run(example, "validate", "--no-assets", str(other))
    assert done.returncode == 1
    assert said in done.stdout
    assert "Traceback" not in done.stderr


LONGITUDE = "catalog/the-meridians/longitude.yaml"
FIRST_LIGHT = "catalog/nova-lane/first-light.yaml"
TWO_DEALS = """deals:
  - territories: [Worldwide]
    commercial_models: [SubscriptionModel]
    use_types: [OnDemandStream]
    start_date: 2025-03-14
  - territories: [{territory}]
    commercial_models: [SubscriptionModel]
    use_types: [OnDemandStream]
    start_date: {start}
"""


def _edited(tmp_path: Path, path: str, old: str, new: str) -> Path:
    root = copy_example_catalog(tmp_path)
    release = root / path
    text = release.read_text()
    assert old in text, old
    release.write_text(text.replace(old, new))
    return root


def _warnings(root: Path, path: str) -> list[str]:
    done = run(root, "validate", "--no-assets", "--no-render", "--format", "json", path)
    assert done.returncode == 0, done.stdout + done.stderr
    return [f"{w['field']}: {w['message']}" for w in json.loads(done.stdout)["warnings"]]


def _deals_block(text: str) -> str:
    return text[text.index("deals:\n") : text.index("targets:")]


@pytest.mark.parametrize(
    ("path", "old", "new", "warned"),
    [
        (LONGITUDE, "    disc: 2\n", "    disc: 3\n", "tracks[6].disc: no track is on disc 2"),
        (
            LONGITUDE,
            "    disc: 1\n",
            "    disc: 1\n    parental_warning: Explicit\n",
            "tracks[0].parental_warning: an Explicit track on a release marked NotExplicit",
        ),
        (
            FIRST_LIGHT,
            "use_types: [OnDemandStream, NonInteractiveStream]",
            "use_types: [OnDemandStream, PermanentDownload]",
            "deals[0].use_types: this deal also licenses subscription downloads"
            " (SubscriptionModel + PermanentDownload)",
        ),
    ],
    ids=["disc gap", "explicit track", "subscription downloads"],
)
def test_likely_mistakes_are_warned(tmp_path: Path, path: str, old: str, new: str, warned: str):
    assert not any(w.startswith(warned.split(":")[0]) for w in _warnings(REPO, path))
    root = _edited(tmp_path, path, old, new)
    assert any(w.startswith(warned) for w in _warnings(root, path)), _warnings(root, path)


@pytest.mark.parametrize(
    ("territory", "start", "warned"),
    [("GB", "2025-03-01", True), ("GB", "2025-03-14", False), ("Worldwide", "2025-04-01", True)],
)
def test_one_territory_with_two_start_dates_is_warned(
    tmp_path: Path, territory: str, start: str, warned: bool
) -> None:
    text = (REPO / FIRST_LIGHT).read_text()
    deals = TWO_DEALS.format(territory=territory, start=start)
    root = _edited(tmp_path, FIRST_LIGHT, _deals_block(text), deals)
    found = [w for w in _warnings(root, FIRST_LIGHT) if "two start dates" in w]
    expected = f"deals[1].start_date: {territory} gets two start dates for the same licence"
    assert [w.startswith(expected) for w in found] == ([True] if warned else [])


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (
            "release_date: 2025-03-14",
            "release_date: 14/03/2025",
            "release_date: '14/03/2025' is not a date: write it as YYYY-MM-DD",
        ),
        (
            "territories: [Worldwide]",
            "territories: [UK]",
            "deals[0].territories[0]: 'UK' is not a DDEX territory code; did you mean 'GB'?",
        ),
    ],
)
def test_common_spelling_mistakes_get_a_hint(tmp_path: Path, old: str, new: str, said: str):
    root = _edited(tmp_path, FIRST_LIGHT, old, new)
    done = run(root, "validate", "--no-assets", FIRST_LIGHT)
    assert done.returncode == 1
    assert re.search(rf"{FIRST_LIGHT}:\d+:\d+: {re.escape(said)}", done.stdout), done.stdout


def run_on_terminal(root: Path, *args: str, colour: bool = True) -> str:
    """What the CLI prints on a terminal (stdout a pseudo-terminal)."""
    leader, follower = os.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    process = subprocess.Popen(
        [STARDUST, *args],
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env={**env, **({} if colour else {"NO_COLOR": "1"})},
    )
    os.close(follower)
    shown = read_terminal(leader)
    process.wait(timeout=10)
    return shown.decode()


@pytest.mark.parametrize("colour", [True, False])
def test_validate_on_a_terminal_labels_errors_in_colour(tmp_path: Path, colour: bool) -> None:
    root = _edited(tmp_path, FIRST_LIGHT, "territories: [Worldwide]", "territories: [UK]")
    shown = run_on_terminal(root, "validate", "--no-assets", FIRST_LIGHT, colour=colour)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", shown)
    assert re.search(rf"{FIRST_LIGHT}:\d+:\d+: error: deals\[0\].territories\[0\]: 'UK'", plain)
    assert re.search(r"targets/spotify.yaml:\d+:\d+: warning: ", plain)
    assert ("\x1b[31m" in shown or "\x1b[1m\x1b[31m" in shown or ";31m" in shown) == colour
    piped = run(root, "validate", "--no-assets", FIRST_LIGHT)
    assert re.search(rf"{FIRST_LIGHT}:\d+:\d+: deals\[0\].territories\[0\]: 'UK'", piped.stdout)
