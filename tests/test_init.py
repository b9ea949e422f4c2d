"""`stardust-git init`: a new catalog repository that validates, plans and delivers as is;
and the composite action other catalog repositories install the tool with."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from stardust_git import assets
from stardust_git.checks.workflows import with_secret_lines
from stardust_git.commands.init import DEFAULT_ACTION, catalog_workflow
from tests.gitrepo import git
from tests.test_workflows import NAMES, TEMPLATES, actionlint

REPO_ROOT = Path(__file__).resolve().parents[1]
ACTION = "indie-tools/stardust-git@v2"


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["stardust-git", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture
def created(tmp_path: Path) -> Path:
    directory = tmp_path / "my-label"
    done = cli(tmp_path, "init", str(directory), "--action", ACTION, "--label", "My Label")
    assert done.returncode == 0, done.stderr
    return directory


def test_init_creates_a_catalog_repository(created: Path) -> None:
    files = sorted(
        p.relative_to(created).as_posix()
        for p in created.rglob("*")
        if p.is_file() and not p.is_relative_to(created / ".git")
    )

    assert files == sorted(
        [
            ".github/workflows/deliver.yml",
            ".github/workflows/reconcile.yml",
            ".github/workflows/validate.yml",
            ".gitignore",
            ".pre-commit-config.yaml",
            "README.md",
            "assets/1234567890128/01.wav",
            "assets/1234567890128/cover.jpg",
            "catalog/_defaults.yaml",
            "catalog/example/first-light.yaml",
            "genre-maps/amazon.yaml",
            "genre-maps/apple.yaml",
            "genre-maps/beatport.yaml",
            "genre-maps/ddex43.yaml",
            "genre-maps/genres.yaml",
            "genre-maps/vocabularies/amazon.yaml",
            "genre-maps/vocabularies/apple.yaml",
            "genre-maps/vocabularies/beatport.yaml",
            "genre-maps/vocabularies/ddex43.yaml",
            "receipts/.gitkeep",
            "schemas/defaults.schema.json",
            "schemas/genre-map.schema.json",
            "schemas/genre-vocabulary.schema.json",
            "schemas/genres.schema.json",
            "schemas/profile.schema.json",
            "schemas/receipt.schema.json",
            "schemas/release.schema.json",
            "schemas/spreadsheet-mapping.schema.json",
            "schemas/target.schema.json",
            "targets/local.yaml",
            "templates/album.yaml",
            "templates/ep.yaml",
            "templates/single.yaml",
        ]
    )
    assert (created / ".git").is_dir()
    assert git(created, "symbolic-ref", "--short", "HEAD") == "main"
    genres = (REPO_ROOT / "genre-maps" / "genres.yaml").read_bytes()
    assert (created / "genre-maps" / "genres.yaml").read_bytes() == genres
    hooks = yaml.safe_load((created / ".pre-commit-config.yaml").read_text())
    assert hooks["repos"][0]["repo"] == "https://github.com/indie-tools/stardust-git"
    assert hooks["repos"][0]["rev"] == "v2"
    assert [h["id"] for h in hooks["repos"][0]["hooks"]] == ["stardust-validate"]
    assert "label: My Label" in (created / "catalog" / "_defaults.yaml").read_text()
    assert "label:" not in (created / "catalog" / "example" / "first-light.yaml").read_text()


def test_the_example_assets_are_real_media(created: Path) -> None:
    audio = assets.probe_audio(created / "assets" / "1234567890128" / "01.wav")
    cover = assets.probe_image(created / "assets" / "1234567890128" / "cover.jpg")

    assert round(audio.duration) == 3
    assert (cover.width, cover.height) == (1400, 1400)
    assert (created / "assets" / "1234567890128" / "cover.jpg").stat().st_size < 200_000


def test_the_new_repository_validates_plans_and_delivers(created: Path) -> None:
    validated = cli(created, "validate")
    git(created, "add", "-A")
    git(created, "commit", "--quiet", "-m", "Start the catalog")
    planned = cli(created, "plan", "--format", "json", "--detailed-exitcode")
    delivered = cli(created, "deliver", "--commit")
    again = cli(created, "plan", "--all", "--detailed-exitcode")

    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert planned.returncode == 2, planned.stderr
    assert '"action": "initial"' in planned.stdout
    assert delivered.returncode == 0, delivered.stderr
    assert list((created / "outbox" / "local").glob("N_1234567890128_*/1234567890128.xml"))
    assert again.returncode == 0, again.stdout + again.stderr


def test_the_new_workflows_install_through_the_action_and_pass_actionlint(created: Path) -> None:
    workflows = [created / ".github" / "workflows" / name for name in NAMES]

    assert actionlint(workflows) == []
    for path, job in [(p, j) for p in workflows for j in yaml.safe_load(p.read_text())["jobs"]]:
        steps = yaml.safe_load(path.read_text())["jobs"][job]["steps"]
        # the new catalog's only target (local) references no secret
        template = yaml.safe_load(with_secret_lines((TEMPLATES / path.name).read_text(), []))
        template_steps = template["jobs"][job]["steps"]
        install = next(s for s in steps if s.get("id") == "install")
        assert install["uses"] == ACTION
        assert not any(s.get("uses", "").startswith("actions/setup-python") for s in steps)
        # everything else is the project's own workflow, step for step
        assert [s for s in steps if s.get("id") != "install"] == [
            s
            for s in template_steps
            if s.get("id") != "install" and not s.get("uses", "").startswith("actions/setup-python")
        ]


def test_init_refuses_a_directory_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine\n")

    done = cli(tmp_path, "init", str(tmp_path / "busy"))

    assert done.returncode == 1
    assert "not empty" in done.stderr
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["notes.txt"]


def test_catalog_workflow_replaces_exactly_the_install_step() -> None:
    for name in NAMES:
        text = catalog_workflow(name, DEFAULT_ACTION)
        assert f"uses: {DEFAULT_ACTION}" in text
        assert "pip install" not in text


def test_the_composite_action_runs_any_command() -> None:
    action = yaml.safe_load((REPO_ROOT / "action.yml").read_text())

    assert set(action["inputs"]) >= {"command", "args", "python-version"}
    assert action["runs"]["using"] == "composite"
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash"
            done = subprocess.run(
                ["bash", "-n"], input=step["run"], capture_output=True, text=True, check=False
            )
            assert done.returncode == 0, done.stderr


def test_the_new_deliver_workflows_validate_before_they_deliver(created: Path) -> None:
    for name in ("deliver.yml", "reconcile.yml"):
        text = (created / ".github" / "workflows" / name).read_text()
        jobs = yaml.safe_load(text)["jobs"]
        steps = next(job for job in jobs.values() if "stardust-git deliver" in str(job))["steps"]
        runs = [step.get("run", "") for step in steps]
        delivering = next(i for i, run in enumerate(runs) if "stardust-git deliver" in run)
        assert "stardust-git validate" in runs[:delivering], name
        assert not any(step.get("continue-on-error") for step in steps[: delivering + 1][-2:])
        assert "toJSON(secrets)" not in text


SHOP_TARGET = """\
format: ern
ern_version: "4.3"
sender: {party_id: PADPIDA2025110101D, name: My Label}
recipient: {party_id: PADPIDA2025110102B, name: Shop}
delivery:
  protocol: sftp
  host: sftp.shop.example
  username: mylabel
  private_key: ${SHOP_SFTP_KEY}
  host_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl
"""


def test_validate_names_the_workflow_and_the_secret_it_misses(created: Path) -> None:
    (created / "targets" / "shop.yaml").write_text(SHOP_TARGET)

    missing = cli(created, "validate", "--no-render")
    listed = cli(created, "target", "secrets", "--format", "env")
    line = listed.stdout.strip()
    workflows = created / ".github" / "workflows"
    deliver = (workflows / "deliver.yml").read_text()  # its step has an env: to add the line to
    marker = "# The secrets targets/*.yaml reference, by name (stardust-git target secrets):\n"
    (workflows / "deliver.yml").write_text(deliver.replace(marker, f"{marker}          {line}\n"))
    reconcile = (workflows / "reconcile.yml").read_text()  # its step has none yet
    step = "      - name: Deliver what is due\n"
    (workflows / "reconcile.yml").write_text(
        reconcile.replace(step, f"{step}        env:\n          {line}\n")
    )
    fixed_run = cli(created, "validate", "--no-render")

    errors = [line for line in missing.stdout.splitlines() if "SHOP_SFTP_KEY" in line]
    assert missing.returncode == 1
    assert [line.split(": ", 1)[0].rsplit(":", 2)[0] for line in errors] == [
        ".github/workflows/deliver.yml",
        ".github/workflows/reconcile.yml",
    ]
    assert "the secret SHOP_SFTP_KEY that targets/shop.yaml references" in errors[0]
    assert "add `SHOP_SFTP_KEY: ${{ secrets.SHOP_SFTP_KEY }}` to its env" in errors[0]
    assert "add an env: with `SHOP_SFTP_KEY: ${{ secrets.SHOP_SFTP_KEY }}`" in errors[1]
    assert listed.stdout == "SHOP_SFTP_KEY: ${{ secrets.SHOP_SFTP_KEY }}\n"
    assert fixed_run.returncode == 0, fixed_run.stdout
    assert actionlint([created / ".github" / "workflows" / name for name in NAMES]) == []


def test_init_ships_the_projects_genre_maps_and_vocabularies(created: Path) -> None:
    """One set of maps: the packaged copies init writes are the project's own, byte for byte."""
    shipped = sorted(p.relative_to(created) for p in (created / "genre-maps").rglob("*.yaml"))
    ours = sorted(p.relative_to(REPO_ROOT) for p in (REPO_ROOT / "genre-maps").rglob("*.yaml"))
    assert shipped == ours
    for path in shipped:
        assert (created / path).read_bytes() == (REPO_ROOT / path).read_bytes(), path
