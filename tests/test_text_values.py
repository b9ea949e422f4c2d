"""Issue 10, hostile values: text XML cannot carry, numbers written as titles, path values, and
catalog text shown in a terminal or a pull request comment.

Each finding is run as a user runs it (the installed console script, in a real git repository)
with the exact input of the issue, and the exact outcome asserted.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import pytest
from lxml import etree
from pydantic import ValidationError

from stardust_git.commands.deliver import PlainReporter
from stardust_git.deliver import Outcome
from stardust_git.display import markdown, terminal, visible
from stardust_git.models import Release, Target
from stardust_git.models.receipt import Acknowledgement, Delivery
from stardust_git.receipts import record_delivery
from tests.gitrepo import UPCS, Repo, make_catalog
from tests.test_corpus import assert_no_traceback, stardust_git_executable

UPC = UPCS[0]
TITLE_LINE = 2  # release_yaml writes upc:, then title:


def run(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STARDUST_DEBUG"}
    return subprocess.run(
        [stardust_git_executable(), *args],
        cwd=repo.root,
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "COLUMNS": "250"},
    )


def catalog_with_title(tmp_path: Path, title: str) -> Repo:
    repo = make_catalog(tmp_path)
    repo.add_release(UPC, title, targets=("alpha",))
    repo.commit("A release")
    return repo


# --- 1. text XML cannot carry is refused by the model, located, exit 1 -------------------------

HOSTILE_TEXT = [
    ('"Night\\x01Shift"', "U+0001 (a control character) at position 6"),
    ('"Night\\x1b[31mShift"', "U+001B (a control character) at position 6"),
    ('"Night\\uFFFEShift"', "U+FFFE (a non-character) at position 6"),
    ('"Night\\uFFFFShift"', "U+FFFF (a non-character) at position 6"),
    ('"Night\\uFDD0Shift"', "U+FDD0 (a non-character) at position 6"),
    ('"Night\\U0002FFFEShift"', "U+2FFFE (a non-character) at position 6"),
    ('"Night\\x85Shift"', "U+0085 (a control character) at position 6"),
    ('"Night\\tShift"', "U+0009 (a tab) at position 6"),
    ('"Night\\nShift"', "U+000A (a line break) at position 6"),
]


@pytest.mark.parametrize("command", ["validate", "plan", "render", "deliver"])
def test_a_control_character_in_a_title_is_a_located_error_in_every_command(
    tmp_path: Path, command: str
) -> None:
    """Before: exit 3 (lxml refused the character at render time). Now: exit 1, located."""
    repo = catalog_with_title(tmp_path, '"Night\\x01Shift"')
    args = {
        "validate": ["validate"],
        "plan": ["plan", "--all"],
        "render": ["render", UPC, "--target", "alpha", "--out", str(tmp_path / "out")],
        "deliver": ["deliver", "--all"],
    }[command]

    result = run(repo, *args)

    assert_no_traceback(result)
    assert result.returncode == 1, result.stdout + result.stderr
    located = (
        f"catalog/{UPC}.yaml:{TITLE_LINE}:1: title: U+0001 (a control character) at position 6:"
        " remove it; text fields take one line of printable characters"
    )
    output = result.stdout + result.stderr
    if command in ("validate", "render"):
        assert located in output.splitlines()
    else:  # plan and deliver skip the release and say why
        assert f"catalog/{UPC}.yaml: does not validate" in output
    assert not (tmp_path / "out").exists()
    assert not (repo.root / "outbox").exists()


@pytest.mark.parametrize(("written", "message"), HOSTILE_TEXT)
def test_every_character_xml_cannot_carry_is_named(
    tmp_path: Path, written: str, message: str
) -> None:
    repo = catalog_with_title(tmp_path, written)

    result = run(repo, "validate", "--no-render")

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"catalog/{UPC}.yaml:{TITLE_LINE}:1: title: {message}: remove it; text fields take one"
        " line of printable characters"
    ]


def release_data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "upc": UPC,
        "title": "Night Shift",
        "artists": [{"name": "Kid Sable"}],
        "label": "Indie Records",
        "release_date": "2024-07-01",
        "genre": "ELECTRONIC",
        "language": "en",
        "p_line": {"year": 2024, "owner": "Indie Records"},
        "c_line": {"year": 2024, "owner": "Indie Records"},
        "cover": "assets/cover.jpg",
        "tracks": [
            {"isrc": "USRC12400001", "title": "One", "duration": 3, "audio": "assets/01.wav"}
        ],
    }
    return {**data, **changes}


@pytest.mark.parametrize(
    "field",
    ["title", "label", "version", "catalog_number", "cover"],
)
def test_every_release_text_field_refuses_a_lone_surrogate(field: str) -> None:
    # YAML cannot write one; JSON and Python callers can.
    with pytest.raises(ValidationError, match=r"U\+D800 \(a lone surrogate\) at position 2"):
        Release.model_validate(release_data(**{field: "a\ud800"}))


def test_text_in_other_scripts_emoji_and_right_to_left_marks_is_fine() -> None:
    title = "Noche \u05e9\u05dc\u05d5\u05dd \u200f\u0645\u0631\u062d\u0628\u0627 \U0001f3b5 \u00e9"
    assert Release.model_validate(release_data(title=title)).title == title


# --- 2. plain numbers and dates where text is expected: kept as written -----------------------


@pytest.mark.parametrize(
    ("written", "kept"),
    [("1.10", "1.10"), ("2024-01-01", "2024-01-01"), ("007", "007"), ("1_000", "1_000")],
)
def test_a_plain_number_or_date_title_is_kept_as_written_into_the_xml(
    tmp_path: Path, written: str, kept: str
) -> None:
    """Before: ``title: 1.10`` became "1.1" (a YAML float) silently; a date was refused."""
    repo = catalog_with_title(tmp_path, written)

    result = run(repo, "render", UPC, "--target", "alpha", "--out", str(tmp_path / "out"))

    assert result.returncode == 0, result.stderr
    (message,) = (tmp_path / "out").glob(f"*/{UPC}.xml")
    titles = etree.parse(str(message)).xpath("//ReleaseList/Release[1]//TitleText/text()")
    assert set(titles) == {kept}


def test_a_yes_no_value_where_text_is_expected_asks_for_quotes(tmp_path: Path) -> None:
    repo = catalog_with_title(tmp_path, "true")

    result = run(repo, "validate", "--no-render")

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"catalog/{UPC}.yaml:{TITLE_LINE}:1: title: true is a yes/no value, not text: put it in"
        " quotes ('true')"
    ]


# --- 3. target values that become paths ---------------------------------------------------------

APPLE_TARGET = """\
format: apple
provider: IndieRecords
vendor_id_prefix: "../../x/"
delivery:
  protocol: local
  directory: outbox/apple
"""
PREFIX_ERROR = (
    "targets/apple.yaml:3:1: vendor_id_prefix: '../../x/' may hold only letters, digits and '_',"
    " starting with a letter or digit (it becomes part of a file name)"
)


def repo_with_escaping_prefix(tmp_path: Path) -> Repo:
    repo = make_catalog(tmp_path)
    repo.write("targets/apple.yaml", APPLE_TARGET)
    repo.add_release(UPC, "Night Shift", targets=("apple",))
    repo.commit("An apple target")
    return repo


@pytest.mark.parametrize("command", ["validate", "render", "plan", "deliver"])
def test_a_vendor_id_prefix_climbing_out_is_refused_and_nothing_is_written(
    tmp_path: Path, command: str
) -> None:
    """Before: ``render``/``deliver`` wrote ``<out>/../../x/<UPC>.itmsp``. Now: exit 1, located."""
    repo = repo_with_escaping_prefix(tmp_path)
    out = repo.root / "deep" / "er" / "out"
    args = {
        "validate": ["validate", "--no-render"],
        "render": ["render", UPC, "--target", "apple", "--out", str(out)],
        "plan": ["plan", "--all"],
        "deliver": ["deliver", "--all"],
    }[command]
    before = sorted(tmp_path.rglob("*"))

    result = run(repo, *args)

    assert_no_traceback(result)
    assert result.returncode == 1, result.stdout + result.stderr
    output = (result.stdout + result.stderr).replace("\n", " ")
    assert " ".join(PREFIX_ERROR.split()) in " ".join(output.split())
    created = sorted(set(tmp_path.rglob("*")) - set(before))
    # the tool's own state (the fingerprint cache, the delivery lock in .git/) is not output
    assert [p for p in created if not {".stardust-cache", ".git"} & set(p.parts)] == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("vendor_id_prefix", "IR_", None),
        ("vendor_id_prefix", "a/b", "may hold only letters, digits and '_'"),
        ("provider", "../x", "is not a name"),
        ("genre_map", "../../etc/passwd", "is not a name"),
    ],
)
def test_target_values_that_become_names_are_safe(
    field: str, value: str, message: str | None
) -> None:
    data = {
        "format": "apple",
        "provider": "IndieRecords",
        "delivery": {"protocol": "local", "directory": "outbox"},
        field: value,
    }
    if message is None:
        assert getattr(Target.model_validate(data), field) == value
        return
    with pytest.raises(ValidationError, match=message):
        Target.model_validate(data)


HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


@pytest.mark.parametrize(
    ("delivery", "accepted"),
    [
        ({"protocol": "local", "directory": "outbox/local"}, True),
        ({"protocol": "local", "directory": "/srv/drop box/in"}, True),
        ({"protocol": "local", "directory": "outbox/../../x"}, False),
        ({"protocol": "local", "directory": ".."}, False),
        ({"protocol": "sftp", "host": "h", "username": "u", "password": "${P}",
          "host_key": HOST_KEY,
          "directory": "/in/../../etc"}, False),
        ({"protocol": "s3", "bucket": "shop-bucket", "prefix": "a/../../b/"}, False),
        ({"protocol": "s3", "bucket": "shop-bucket", "prefix": "in\\box/"}, False),
        ({"protocol": "azure", "container": "shop", "account_url": "https://a.example",
          "prefix": "in\x00box/"}, False),
    ],
)  # fmt: skip
def test_directories_and_prefixes_hold_safe_characters_and_no_dotdot(
    delivery: dict[str, str], accepted: bool
) -> None:
    data = {"format": "apple", "provider": "IndieRecords", "delivery": delivery}
    if accepted:
        Target.model_validate(data)
        return
    with pytest.raises(ValidationError, match=r"'\.\.' segment|may hold only|U\+0000"):
        Target.model_validate(data)


def test_a_release_naming_a_target_by_a_path_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"'\.\./receipts/x' is not a name"):
        Release.model_validate(release_data(targets=["../receipts/x"]))


# --- 5. catalog text in the terminal and in the PR comment ---------------------------------------

HOSTILE_TITLE = (
    "<img src=x onerror=alert(1)> <details> @org/team [click](https://evil.example) "
    "![x](https://evil.example/i.png) a|b [bold]loud[/bold] *em* `code`"
)


def test_a_hostile_title_is_literal_text_in_the_pull_request_comment(tmp_path: Path) -> None:
    """Before: raw HTML, @mentions, links and images from titles went into the comment."""
    repo = catalog_with_title(tmp_path, f"'{HOSTILE_TITLE}'")

    result = run(repo, "plan", "--all", "--format", "markdown")

    assert result.returncode == 0, result.stderr
    (row,) = [line for line in result.stdout.splitlines() if line.startswith(f"| {UPC}")]
    assert row == (
        f"| {UPC} | &lt;img src=x onerror=alert\\(1\\)&gt; &lt;details&gt; @\u200borg/team"
        " \\[click\\]\\(https:\u200b//evil.example\\) \\!\\[x\\]\\(https:\u200b//evil.example/"
        "i.png\\) a\\|b \\[bold\\]loud\\[/bold\\] \\*em\\* \\`code\\` | alpha | Initial | new |"
    )
    assert "<" not in result.stdout.replace("<!-- stardust-git-plan -->", "")


def test_a_hostile_title_is_shown_as_written_in_the_plan_table(tmp_path: Path) -> None:
    repo = catalog_with_title(tmp_path, "'[bold]Night[/bold] \u202eShift'")

    result = run(repo, "plan", "--all")

    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "[bold]Night[/bold] \\u202eShift" in result.stdout


def test_terminal_text_shows_controls_and_markup_literally() -> None:
    assert visible("a\x1b[2Jb\x07\u202e") == "a\\x1b[2Jb\\x07\\u202e"
    assert terminal("[red]x[/red]\x1b") == "\\[red]x\\[/red]\\x1b"
    assert visible("one\ntwo", keep_newlines=True) == "one\ntwo"


def test_markdown_text_is_inert() -> None:
    assert markdown("<details>") == "&lt;details&gt;"
    assert markdown("@org/team") == "@\u200borg/team"
    assert markdown("see www.evil.example") == "see www\u200b.evil.example"
    assert markdown("a|b\\c") == "a\\|b\\\\c"


def test_a_validate_message_quoting_a_hostile_value_shows_its_controls(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    repo.add_release(UPC, "Night Shift", targets=("alpha",))
    path = repo.root / f"catalog/{UPC}.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[Worldwide]", '["\\e[2J\\e[31mXX"]'), encoding="utf-8")
    repo.commit("A hostile territory")

    result = run(repo, "validate", "--no-render")

    assert result.returncode == 1
    assert "\x1b" not in result.stdout + result.stderr
    assert "'\\x1b[2J\\x1b[31mXX' is not a DDEX territory code" in result.stdout


def test_a_hostile_acknowledgement_status_is_shown_literally_by_status(tmp_path: Path) -> None:
    """What a DSP wrote (kept in the receipt) reaches the status table as text, not commands."""
    started = dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC)
    hostile = "\x1b]8;;https://evil.example\x07[bold]OK[/bold]\x1b[2J"
    delivery = Delivery(
        message_id="MSG-1",
        action="initial",
        commit="a" * 40,
        format="ern/4.3",
        started=started,
        finished=started,
        attempts=1,
        status="success",
        acknowledgements=[Acknowledgement(status=hostile, received_at=started)],
    )
    record_delivery(tmp_path, UPC, "shop", delivery)
    env = {k: v for k, v in os.environ.items() if k != "STARDUST_DEBUG"}

    result = subprocess.run(
        [stardust_git_executable(), "status", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "COLUMNS": "400"},
    )

    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "\\x1b]8;;https://evil.example\\x07[bold]OK[/bold]\\x1b[2J" in result.stdout


def test_deliver_progress_lines_show_a_hostile_error_literally(
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcome = Outcome(UPC, "shop", "initial", "failed", error="550 \x1b[2Jno \u202eroom")

    PlainReporter().done(outcome)

    assert capsys.readouterr().err == (
        f"FAILED    {UPC} -> shop (initial): 550 \\x1b[2Jno \\u202eroom\n"
    )
