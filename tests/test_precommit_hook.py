"""The published pre-commit hook, run by pre-commit itself in a temporary catalog repository.

The catalog repository's .pre-commit-config.yaml points at a git snapshot of this working tree
(``repo: <path>``, ``rev: <commit>``), exactly as a label's repository points at the project on
GitHub: pre-commit clones it, reads .pre-commit-hooks.yaml and pip-installs the project into the
hook's own virtualenv (about 20 s from PyPI, once per test session).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pre_commit.clientlib import load_config, load_manifest

from tests.test_corpus import REPO_ROOT
from tests.test_warm import stop_server, wait_for_server

HOOK_ID = "stardust-validate"
WARM_HOOK_ID = "stardust-validate-warm"
RELEASE = "catalog/beach-band/summer-vibes.yaml"
RELEASE_ASSETS = "assets/1234567890128"
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Hook Test",
    "GIT_AUTHOR_EMAIL": "hook@example.com",
    "GIT_COMMITTER_NAME": "Hook Test",
    "GIT_COMMITTER_EMAIL": "hook@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def tool_env(pre_commit_home: Path | None = None) -> dict[str, str]:
    env = {**os.environ, **GIT_IDENTITY, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("STARDUST_DEBUG", None)
    if pre_commit_home:
        env["PRE_COMMIT_HOME"] = str(pre_commit_home)
    return env


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=repo, env=tool_env(), capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def pre_commit(repo: Path, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).parent / "pre-commit"
    assert executable.is_file(), f"pre-commit is not installed beside {sys.executable}"
    return subprocess.run(
        [str(executable), *args],
        cwd=repo,
        env={**tool_env(home), **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def working_tree_files() -> list[str]:
    """Tracked and untracked, not ignored: what a commit of the working tree would hold."""
    listed = git(REPO_ROOT, "ls-files", "--cached", "--others", "--exclude-standard", "-z")
    return sorted({name for name in listed.split("\0") if name and (REPO_ROOT / name).exists()})


def shared_temp(factory: pytest.TempPathFactory, name: str) -> Path:
    """A temporary path all pytest-xdist workers of this run share (one hook install, not two)."""
    base = factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / name


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def project_snapshot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git repository holding this working tree as one commit: (path, commit id)."""
    snapshot = shared_temp(tmp_path_factory, "pre-commit-project")
    with file_lock(snapshot.with_name("pre-commit-project.lock")):
        if not snapshot.is_dir():
            building = Path(tempfile.mkdtemp(dir=snapshot.parent, prefix=".building-"))
            for name in working_tree_files():
                (building / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO_ROOT / name, building / name, follow_symlinks=False)
            git(building, "init", "--quiet")
            git(building, "add", "--all")
            git(building, "commit", "--quiet", "--message", "snapshot of the working tree")
            building.rename(snapshot)
    return snapshot, git(snapshot, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hook environment for the run; pre-commit locks its store against parallel installs."""
    return shared_temp(tmp_path_factory, "pre-commit-home")


@pytest.fixture
def catalog_repo(tmp_path: Path, project_snapshot: tuple[Path, str]) -> Path:
    """A label's catalog repository: one release, its assets, its targets and the genre maps."""
    project, commit = project_snapshot
    repo = tmp_path / "label-catalog"
    (repo / RELEASE).parent.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / RELEASE, repo / RELEASE)
    shutil.copytree(REPO_ROOT / RELEASE_ASSETS, repo / RELEASE_ASSETS)
    shutil.copytree(REPO_ROOT / "genre-maps", repo / "genre-maps")
    (repo / "targets").mkdir()
    for name in release_targets(repo / RELEASE):
        shutil.copy2(REPO_ROOT / "targets" / f"{name}.yaml", repo / "targets" / f"{name}.yaml")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {project}\n    rev: {commit}\n    hooks:\n      - id: {HOOK_ID}\n",
        encoding="utf-8",
    )
    git(repo, "init", "--quiet")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", "catalog")
    return repo


def release_targets(release: Path) -> list[str]:
    match = re.search(r"^targets: \[(.*)\]", release.read_text(encoding="utf-8"), re.MULTILINE)
    assert match, f"{release} lists no targets"
    return [name.strip() for name in match.group(1).split(",")]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- the published hook through pre-commit -------------------------------------------------------


@pytest.mark.slow
def test_hook_passes_a_good_release_edit(catalog_repo: Path, pre_commit_home: Path) -> None:
    edit(catalog_repo / RELEASE, "title: Summer Vibes EP", "title: Summer Vibes (EP)")

    result = pre_commit(catalog_repo, pre_commit_home, "run", HOOK_ID, "--files", RELEASE)

    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"stardust-git validate\.+Passed", result.stdout), result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.slow
def test_hook_fails_a_broken_release_with_the_positioned_message(
    catalog_repo: Path, pre_commit_home: Path
) -> None:
    edit(catalog_repo / RELEASE, 'upc: "1234567890128"', 'upc: "1234567890123"')

    result = pre_commit(catalog_repo, pre_commit_home, "run", HOOK_ID, "--files", RELEASE)

    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"stardust-git validate\.+Failed", result.stdout), result.stdout
    assert f"{RELEASE}:2:1: upc: '1234567890123' has a wrong check digit" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.slow
def test_hook_fails_a_broken_target(catalog_repo: Path, pre_commit_home: Path) -> None:
    target = f"targets/{release_targets(catalog_repo / RELEASE)[0]}.yaml"
    edit(catalog_repo / target, "delivery:", "delivery:\n  colour: blue")

    result = pre_commit(catalog_repo, pre_commit_home, "run", HOOK_ID, "--files", target)

    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(rf"{re.escape(target)}:\d+:3: delivery\.colour: unknown field", result.stdout)


@pytest.mark.slow
def test_hook_ignores_files_outside_the_catalog(catalog_repo: Path, pre_commit_home: Path) -> None:
    (catalog_repo / "notes.yaml").write_text("not: [a, catalog, file\n", encoding="utf-8")

    result = pre_commit(catalog_repo, pre_commit_home, "run", HOOK_ID, "--files", "notes.yaml")

    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"stardust-git validate\.+\(no files to check\)Skipped", result.stdout)


@pytest.mark.slow
def test_warm_hook_is_served_from_the_second_run(catalog_repo: Path, pre_commit_home: Path) -> None:
    config = catalog_repo / ".pre-commit-config.yaml"
    edit(config, f"id: {HOOK_ID}", f"id: {WARM_HOOK_ID}")
    git(catalog_repo, "add", ".pre-commit-config.yaml")
    edit(catalog_repo / RELEASE, 'upc: "1234567890128"', 'upc: "1234567890123"')
    warm_dir = Path(tempfile.mkdtemp(prefix="sdw-", dir="/tmp"))  # AF_UNIX paths are short
    warm = {"STARDUST_WARM_DIR": str(warm_dir), "STARDUST_WARM_VERBOSE": "1"}
    try:
        first = pre_commit(
            catalog_repo, pre_commit_home, "run", "--verbose", "--files", RELEASE, **warm
        )
        wait_for_server(warm_dir)
        second = pre_commit(
            catalog_repo, pre_commit_home, "run", "--verbose", "--files", RELEASE, **warm
        )
    finally:
        for lock in warm_dir.glob("*.lock"):
            stop_server(lock)
        shutil.rmtree(warm_dir, ignore_errors=True)

    assert "warm: no server answered" in first.stdout, first.stdout
    assert re.search(r"warm: served by process \d+", second.stdout), second.stdout
    for run in (first, second):
        assert run.returncode == 1, run.stdout + run.stderr
        assert f"{RELEASE}:2:1: upc: '1234567890123' has a wrong check digit" in run.stdout


# --- the hook manifest and the project's own configuration ---------------------------------------


def test_hook_manifest_passes_pre_commits_own_schema() -> None:
    hooks = {hook["id"]: hook for hook in load_manifest(str(REPO_ROOT / ".pre-commit-hooks.yaml"))}

    assert {name: (hook["language"], hook["entry"]) for name, hook in hooks.items()} == {
        HOOK_ID: ("python", "stardust-git validate"),
        WARM_HOOK_ID: ("python", "stardust-git validate --warm"),
    }
    for hook in hooks.values():
        assert hook["pass_filenames"] is True
        assert hook["require_serial"] is True
        files = re.compile(hook["files"])
        for name in (RELEASE, "catalog/x.yml", "targets/spotify.yaml", "genre-maps/genres.yaml"):
            assert files.search(name), name
        for name in ("README.md", "assets/x.yaml", "receipts/r.yaml", "tests/catalog/x.yaml"):
            assert not files.search(name), name


def test_project_config_works_offline() -> None:
    """Every hook is local (no GitHub needed): ruff and stardust-git from the environment."""
    config = load_config(str(REPO_ROOT / ".pre-commit-config.yaml"))

    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = {hook["id"]: hook for hook in config["repos"][0]["hooks"]}
    assert set(hooks) == {"ruff-check", "ruff-format", HOOK_ID}
    assert (
        hooks[HOOK_ID]["files"]
        == load_manifest(str(REPO_ROOT / ".pre-commit-hooks.yaml"))[0]["files"]
    )


@pytest.mark.slow
def test_project_config_runs_on_the_example_catalog(
    project_snapshot: tuple[Path, str], pre_commit_home: Path
) -> None:
    project, _commit = project_snapshot
    files = [RELEASE, "targets/spotify.yaml", "tests/test_precommit_hook.py"]

    result = pre_commit(project, pre_commit_home, "run", "--files", *files)

    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("ruff check", "ruff format", "stardust-git validate"):
        assert re.search(rf"{name}\.+Passed", result.stdout), result.stdout
