"""Authoring through the CLI (issue 12, items 2 and 3): new releases from templates, target
scaffolds and the target list, and bulk edits that keep every other byte of a file."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
import yaml

from stardust_git.errors import Diagnostics
from stardust_git.models import Target
from stardust_git.models.target import Delivery, PluginDelivery, SftpDelivery
from stardust_git.source.catalog import parse_model
from tests.terminal import read_terminal
from tests.test_render_command import copy_example_catalog, git

STARDUST = str(Path(sys.executable).parent / "stardust-git")
LOCATED = re.compile(r"^(?P<path>[^:\s]+):(?P<line>\d+):\d+: (?:error: )?(?P<field>[\w.\[\]]+): ")
PROTOCOLS = [
    get_args(model.model_fields["protocol"].annotation)[0]
    for model in (get_args(member)[0] for member in get_args(get_args(Delivery)[0]))
    if model is not PluginDelivery
]
"""Every built-in protocol the model knows (the CLI must offer each)."""
FILLED = {
    "party id": "PADPIDA2014120301A",
    "name": "Indie Records",
    "host": "files.example.com",
    "username": "indie",
    "host key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGAETUkKYKQlHVcdYGxvb2GcP/OLo14ZgyfWwAdi9Zuv",
    "bucket": "indie-deliveries",
    "container": "indie-deliveries",
    "url": "https://api.example.com/deliveries",
    "provider": "IndieRecords",
}
"""A valid value for each placeholder a target scaffold leaves."""


def run(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a pipe runs it: no terminal, nothing on stdin."""
    environment = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **env}
    return subprocess.run(
        [STARDUST, *args],
        cwd=root,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
        env=environment,
    )


@pytest.fixture(scope="module")
def label(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("authoring")
    done = run(parent, "init", "label", "--label", "Indie Records")
    assert done.returncode == 0, done.stderr
    return parent / "label"


def located(output: str) -> list[tuple[str, int, str]]:
    """(path, line, field) of each located error line."""
    found = [LOCATED.match(line) for line in output.splitlines()]
    return [(m["path"], int(m["line"]), m["field"]) for m in found if m]


def placeholder_errors(root: Path, path: str) -> list[tuple[str, int, str]]:
    """What validate reports about ``path``, each error checked to sit on a TODO(...) line."""
    done = run(root, "validate", "--no-assets", path)
    errors = [error for error in located(done.stdout) if error[0] == path]
    lines = (root / path).read_text().splitlines()
    for _, line, field in errors:
        assert "TODO(" in lines[line - 1], (field, lines[line - 1])
    assert "is a placeholder: replace it with the value" in done.stdout
    return errors


# --- new release ------------------------------------------------------------------------------


def test_new_release_with_every_flag_leaves_only_what_no_flag_gives(label: Path) -> None:
    done = run(
        label,
        *("new", "release", "--upc", "5060236631114", "--title", "Summer: Vibes"),
        *("--artist", "Beach Band", "--label", "Indie Records", "--date", "2025-07-01"),
    )
    assert done.returncode == 0, done.stderr
    path = "catalog/beach-band/summer-vibes.yaml"
    assert f"created {path}" in done.stdout
    written = yaml.safe_load((label / path).read_text())
    assert written["upc"] == "5060236631114"
    assert written["title"] == written["tracks"][0]["title"] == "Summer: Vibes"
    assert written["p_line"] == {"year": 2025, "owner": "Indie Records"}
    assert written["cover"] == "assets/5060236631114/cover.jpg"
    assert (
        (label / path)
        .read_text()
        .startswith("# yaml-language-server: $schema=../../schemas/release.schema.json\n")
    )
    fields = [field for _, _, field in placeholder_errors(label, path)]
    assert fields == ["genre", "tracks[0].isrc", "tracks[0].duration"]

    filled = run(
        label,
        *("edit", "--set", "genre=ELECTRONIC", "--set", "tracks[0].isrc=QZDA92500002"),
        *("--set", "tracks[0].duration=PT3M5S", path),
    )
    assert filled.returncode == 0, filled.stderr
    valid = run(label, "validate", "--no-assets", path)
    assert valid.returncode == 0, valid.stdout + valid.stderr


def test_what_the_folders_defaults_supply_is_left_to_them(label: Path) -> None:
    """init's catalog/_defaults.yaml gives label, P and C lines and targets: a new release
    without --label inherits them (a template value would hide them); with --label, the flag's
    label, lines and all are written."""
    done = run(
        label,
        *("new", "release", "--upc", "4250123456789", "--title", "Night Walk"),
        *("--artist", "Kid Sable", "--date", "2025-09-01"),
    )
    assert done.returncode == 0, done.stderr
    path = "catalog/kid-sable/night-walk.yaml"
    written = yaml.safe_load((label / path).read_text())
    assert not {"label", "p_line", "c_line", "targets"} & set(written)
    filled = run(
        label,
        *("edit", "--set", "genre=ELECTRONIC", "--set", "tracks[0].isrc=QZDA92500003"),
        *("--set", "tracks[0].duration=PT3M5S", path),
    )
    assert filled.returncode == 0, filled.stderr
    shown = json.loads(run(label, "show", "4250123456789", "--format", "json").stdout)
    assert shown["release"]["label"] == "Indie Records"
    assert shown["release"]["targets"] == ["local"]
    assert shown["sources"]["label"].startswith("catalog/_defaults.yaml:")

    flagged = run(
        label,
        *("new", "release", "--upc", "0885686123454", "--title", "Other Label"),
        *("--artist", "Kid Sable", "--label", "Side Label", "--date", "2025-09-01"),
    )
    assert flagged.returncode == 0, flagged.stderr
    kept = yaml.safe_load((label / "catalog/kid-sable/other-label.yaml").read_text())
    assert kept["label"] == "Side Label" and kept["p_line"]["owner"] == "Side Label"
    assert "targets" not in kept


def test_missing_values_stay_placeholders_that_validate_locates(label: Path) -> None:
    done = run(label, "new", "release", "--template", "album", "--out", "catalog/draft.yaml")
    assert done.returncode == 0, done.stderr  # no prompt: stdin is not a terminal
    fields = {field for _, _, field in placeholder_errors(label, "catalog/draft.yaml")}
    expected = {"upc", "title", "artists[0].name", "release_date", "genre", "tracks[7].title"}
    assert expected <= fields
    assert not {"label", "p_line.owner"} & fields  # catalog/_defaults.yaml supplies them
    assert len(yaml.safe_load((label / "catalog/draft.yaml").read_text())["tracks"]) == 8


def test_an_existing_file_is_never_overwritten(label: Path) -> None:
    path = label / "catalog" / "kept.yaml"
    path.write_text("kept: true\n")
    done = run(label, "new", "release", "--template", "ep", "--out", "catalog/kept.yaml")
    assert done.returncode == 1
    assert "exists" in done.stderr
    assert path.read_text() == "kept: true\n"


def test_an_unknown_template_names_the_known_ones(label: Path) -> None:
    done = run(label, "new", "release", "--template", "boxset")
    assert done.returncode == 1
    assert "no template 'boxset' in templates/ (known: album, ep, single)" in done.stderr


def _on_a_terminal(root: Path, answers: bytes, **env: str) -> str:
    """Run ``new release`` with a pseudo-terminal as stdin and stdout; type ``answers``."""
    main, secondary = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k != "CI"} | env
    process = subprocess.Popen(
        [STARDUST, "new", "release", "--template", "single"],
        cwd=root,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=environment,
    )
    os.close(secondary)
    os.write(main, answers)
    output = read_terminal(main, seconds=60)
    process.wait(timeout=30)
    return output.decode(errors="replace")


def test_a_terminal_is_asked_for_what_the_flags_did_not_give(label: Path) -> None:
    answers = b"5060236631114\nNight Drive\nKid Sable\nIndie Records\n2025-09-05\n"
    shown = _on_a_terminal(label, answers)
    assert "Release title:" in shown, shown
    written = yaml.safe_load((label / "catalog/kid-sable/night-drive.yaml").read_text())
    assert (written["title"], written["artists"][0]["name"]) == ("Night Drive", "Kid Sable")
    assert written["release_date"].isoformat() == "2025-09-05"


def test_ci_is_never_asked_even_on_a_terminal(label: Path) -> None:
    shown = _on_a_terminal(label, b"", CI="true")
    assert "Release title:" not in shown, shown
    assert "created catalog/new-artist/untitled.yaml" in shown


# --- target add and target list ---------------------------------------------------------------


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_target_add_scaffolds_a_target_that_loads_once_filled(label: Path, protocol: str) -> None:
    name = f"shop-{protocol}"
    done = run(label, "target", "add", name, "--protocol", protocol, "--ern-version", "4.2")
    assert done.returncode == 0, done.stderr
    path = f"targets/{name}.yaml"
    assert placeholder_errors(label, path)
    text = (label / path).read_text()
    assert "# Where and how the packages are sent.\ndelivery:\n" in text
    for placeholder, value in FILLED.items():
        text = text.replace(f"TODO({placeholder})", value)
    diagnostics = Diagnostics()
    loaded = parse_model(path, text.encode(), Target, diagnostics)
    assert loaded is not None, [d.format() for d in diagnostics.items]
    assert loaded.model.delivery.protocol == protocol
    assert loaded.model.ern_version == "4.2"


def test_target_add_describes_each_setting_from_the_model(label: Path) -> None:
    done = run(label, "target", "add", "spotify", "--protocol", "sftp")
    assert done.returncode == 0, done.stderr
    lines = (label / "targets/spotify.yaml").read_text().splitlines()
    host_key = lines.index("  host_key: TODO(host key)")
    described = SftpDelivery.model_fields["host_key"].description
    assert lines[host_key - 1] == f"  # {described}"
    assert "  private_key: ${SPOTIFY_PRIVATE_KEY}" in lines
    assert "  # streams: 4" in lines  # optional settings: commented out with their default
    again = run(label, "target", "add", "spotify", "--protocol", "ftp")
    assert again.returncode == 1
    assert "never overwritten" in again.stderr


def test_an_apple_target_has_a_provider_and_no_ern_parties(label: Path) -> None:
    done = run(label, "target", "add", "itunes", "--protocol", "local", "--format", "apple")
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load((label / "targets/itunes.yaml").read_text())
    assert data == {
        "format": "apple",
        "provider": "TODO(provider)",
        "delivery": {"protocol": "local", "directory": "outbox/itunes"},
    }


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example_catalog(tmp_path_factory.mktemp("delivered"))
    git(root, "init", "--quiet")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "catalog")
    done = run(root, "deliver", "--target", "local")
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def test_target_list_as_json(delivered: Path) -> None:
    done = run(delivered, "target", "list", "--format", "json")
    assert done.returncode == 0, done.stderr
    targets = {entry["name"]: entry for entry in json.loads(done.stdout)}
    assert sorted(targets) == sorted(p.stem for p in (delivered / "targets").glob("*.yaml"))
    spotify = targets["spotify"]
    assert (spotify["format"], spotify["ern_version"], spotify["protocol"]) == (
        "ern",
        "4.3",
        "sftp",
    )
    assert spotify["secrets"] == ["SPOTIFY_SFTP_KEY"]
    assert spotify["dsp_profile"] == "spotify" and targets["local"]["dsp_profile"] is None
    assert spotify["last_delivery"] is None
    local = targets["local"]
    receipts = [
        json.loads(p.read_text())["history"][-1] for p in delivered.glob("receipts/*/local.json")
    ]
    latest = max(receipts, key=lambda delivery: delivery["finished"])
    assert local["last_status"] == "success"
    assert local["last_delivery"][:19] == latest["finished"][:19]
    assert targets["apple"]["format"] == "apple" and targets["apple"]["ern_version"] is None


def test_target_list_as_a_table(delivered: Path) -> None:
    done = run(delivered, "target", "list")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert done.stdout.splitlines()[0].split() == [
        "target", "format", "protocol", "dsp", "profile", "secrets", "last", "delivery"
    ]  # fmt: skip
    assert re.search(
        r"ern 4\.2 +azure +tidal +- +TIDAL_AZURE_CONNECTION_STRING +never$", rows["tidal"]
    )
    assert re.search(r"UTC success \(\d{13}\)$", rows["local"])


# --- edit ---------------------------------------------------------------------------------------

STYLED = """\
# yaml-language-server: $schema=../../schemas/release.schema.json
upc: "5060236631114"            # quoted on purpose
title: 'Single Quoted'
artists:
  - {name: Beach Band, role: MainArtist}
label: Indie Records            # the label
release_date: 2025-07-01
genre: ELECTRONIC
language: en
p_line: {year: 2025, owner: Indie Records}
c_line:
  year: 2025
  owner: Indie Records
cover: assets/5060236631114/cover.jpg
tracks:
  - isrc: QZDA92500002
    title: One
    duration: 185   # seconds
    audio: assets/5060236631114/01.wav
deals:
  - territories: [Worldwide]
    commercial_models: [SubscriptionModel]
    use_types: [OnDemandStream]
    start_date: 2025-07-01
targets: [local]
"""


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    shutil.copytree(Path(__file__).resolve().parents[1] / "targets", tmp_path / "targets")
    (tmp_path / "catalog" / "a").mkdir(parents=True)
    (tmp_path / "catalog" / "a" / "one.yaml").write_text(STYLED)
    other = STYLED.replace("Indie Records", "Other Label").replace("5060236631114", "4250123456789")
    (tmp_path / "catalog" / "b.yaml").write_text(other)
    return tmp_path


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    old, new = before.splitlines(), after.splitlines()
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


def test_edit_changes_only_the_value_and_keeps_every_other_byte(catalog: Path) -> None:
    done = run(catalog, "edit", "--set", "label=Indie Records Ltd", "--set", "title=Renamed")
    assert done.returncode == 0, done.stderr
    after = (catalog / "catalog/a/one.yaml").read_text()
    assert _changed_lines(STYLED, after) == [
        ("title: 'Single Quoted'", "title: 'Renamed'"),
        (
            "label: Indie Records            # the label",
            "label: Indie Records Ltd        # the label",
        ),
    ]
    assert "changed 2 releases of 2 matching files" in done.stderr


def test_edit_a_nested_and_a_flow_value(catalog: Path) -> None:
    args = ("--set", "p_line.owner=New Owner", "--set", "c_line.owner=New Owner")
    done = run(catalog, "edit", *args, "catalog/a")
    assert done.returncode == 0, done.stderr
    after = (catalog / "catalog/a/one.yaml").read_text()
    assert _changed_lines(STYLED, after) == [
        ("p_line: {year: 2025, owner: Indie Records}", "p_line: {year: 2025, owner: New Owner}"),
        ("  owner: Indie Records", "  owner: New Owner"),
    ]
    assert (catalog / "catalog/b.yaml").read_text().count("Other Label") == 3


def test_where_filters_the_releases(catalog: Path) -> None:
    other = (catalog / "catalog/b.yaml").read_text()
    done = run(catalog, "edit", "--set", "targets+=spotify", "--where", "label=Indie Records")
    assert done.returncode == 0, done.stderr
    assert "targets: [local, spotify]\n" in (catalog / "catalog/a/one.yaml").read_text()
    assert (catalog / "catalog/b.yaml").read_text() == other
    assert "changed 1 release of 1 matching file, 1 not matching --where" in done.stderr


def test_add_to_a_list_once_and_remove_from_it(catalog: Path) -> None:
    path = catalog / "catalog/a/one.yaml"
    for _ in range(2):
        done = run(catalog, "edit", "--set", "targets+=[spotify, deezer]", str(path))
        assert done.returncode == 0, done.stderr
    assert "targets: [local, spotify, deezer]\n" in path.read_text()
    done = run(catalog, "edit", "--set", "targets-=local", "--where", "targets=spotify")
    assert done.returncode == 0, done.stderr
    assert "targets: [spotify, deezer]\n" in path.read_text()
    assert "targets: [local]\n" in (catalog / "catalog/b.yaml").read_text()


def test_an_edit_that_breaks_a_release_is_refused_and_nothing_is_written(catalog: Path) -> None:
    before = {p: p.read_text() for p in (catalog / "catalog").rglob("*.yaml")}
    done = run(catalog, "edit", "--set", "deals[0].end_date=2020-01-01", "--set", "title=Fine")
    assert done.returncode == 1
    assert "nothing was written" in done.stderr
    errors = located(done.stderr)
    assert ("catalog/a/one.yaml", 21, "deals[0]") in errors  # the deal, in the edited file
    assert ("catalog/b.yaml", 21, "deals[0]") in errors  # every release's problem, together
    assert "end_date is before start_date" in done.stderr
    assert {p: p.read_text() for p in before} == before


def test_dry_run_prints_the_diff_and_writes_nothing(catalog: Path) -> None:
    done = run(catalog, "edit", "--dry-run", "--set", "deals[0].end_date=2030-12-31")
    assert done.returncode == 0, done.stderr
    assert "--- a/catalog/a/one.yaml\n+++ b/catalog/a/one.yaml\n" in done.stdout
    assert "\n+    end_date: 2030-12-31\n" in done.stdout
    assert (catalog / "catalog/a/one.yaml").read_text() == STYLED
    assert "would change 2 releases" in done.stderr


@pytest.mark.parametrize(
    ("option", "said"),
    [
        (("--set", "label"), "expected FIELD=VALUE"),
        (("--set", "deals[x]=1"), "is not a field path"),
        (("--set", "label=x", "--where", "label+=y"), "--where label+=y: expected FIELD=VALUE"),
    ],
)
def test_a_malformed_edit_is_a_usage_error(catalog: Path, option: tuple[str, ...], said: str):
    done = run(catalog, "edit", *option)
    assert done.returncode == 2
    assert said in done.stderr


def test_edit_keeps_crlf_line_ends(catalog: Path) -> None:
    path = catalog / "catalog/a/one.yaml"
    path.write_bytes(STYLED.replace("\n", "\r\n").encode())
    done = run(catalog, "edit", "--set", "genre=POP", str(path))
    assert done.returncode == 0, done.stderr
    expected = STYLED.replace("genre: ELECTRONIC", "genre: POP").replace("\n", "\r\n")
    assert path.read_bytes() == expected.encode()


def test_a_file_that_is_not_yaml_stops_the_edit_before_anything_is_written(catalog: Path):
    (catalog / "catalog/broken.yaml").write_text("title: [unclosed\n")
    done = run(catalog, "edit", "--set", "genre=POP")
    assert done.returncode == 1
    assert "catalog/broken.yaml: not valid YAML, not edited" in done.stderr
    assert (catalog / "catalog/a/one.yaml").read_text() == STYLED
