"""The pre-commit run on one changed file starts fast (issue 15): it imports only what its
checks need, and asks git once which files differ, in the background while Python imports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stardust_git.gitio import REFRESH_ABOVE, Git
from tests.gitrepo import UPCS, Repo, git_env, make_catalog

CHECKED_FILE = f"catalog/{UPCS[0]}.yaml"


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = make_catalog(tmp_path)
    repo.add_release(UPCS[0])
    repo.add_release(UPCS[1])
    repo.commit("Two releases")
    return repo


def run_validate(repo: Repo, *options: str, env: dict[str, str] | None = None) -> str:
    """``validate CHECKED_FILE`` in a new process; returns its stdout."""
    command = [sys.executable, "-m", "stardust_git", "validate", CHECKED_FILE, *options]
    done = subprocess.run(
        command, cwd=repo.root, env=env or git_env(), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_differing_from_head_names_every_kind_of_difference(repo: Repo) -> None:
    repo.write(".gitignore", "outbox/\n.stardust-cache/\ncatalog/*.ignored\n")
    repo.commit("Ignore *.ignored")
    (repo.root / CHECKED_FILE).write_text("changed\n", encoding="utf-8")
    repo.delete(f"catalog/{UPCS[1]}.yaml")
    repo.write("catalog/staged.yaml", "staged\n")
    repo.git("add", "catalog/staged.yaml")
    repo.write("catalog/sub/untracked.yaml", "new\n")
    repo.write("catalog/x.ignored", "ignored\n")
    repo.write("targets/outside.yaml", "not under catalog/\n")
    assert Git(repo.root).differing_from_head("catalog") == {
        CHECKED_FILE,
        f"catalog/{UPCS[1]}.yaml",
        "catalog/staged.yaml",
        "catalog/sub/untracked.yaml",
        "catalog/x.ignored",
    }


def test_touched_files_are_refreshed_not_named(repo: Repo) -> None:
    """A checkout or copy that changed every file's mtime but no content: git's stat data is
    stale, so every tracked file would look changed on every run until the index is refreshed;
    above REFRESH_ABOVE files it is refreshed, and only the real change is named."""
    names = [f"catalog/bulk/{number:04}.yaml" for number in range(REFRESH_ABOVE + 20)]
    for name in names:
        repo.write(name, f"n: {name}\n")
    repo.commit("Many files")
    later = time.time() + 100
    for name in names:
        os.utime(repo.root / name, (later, later))
    repo.write(names[0], "changed: true\n")

    assert Git(repo.root).differing_from_head("catalog") == {names[0]}
    assert repo.git("diff-files", "--name-only", "--", "catalog").split() == [names[0]]


def test_a_one_file_validate_asks_git_each_question_once(repo: Repo, tmp_path: Path) -> None:
    """The commands started early are the ones the facts index takes (a second of any would
    mean the early one ran for nothing)."""
    log, shim = tmp_path / "git.log", tmp_path / "bin"
    shim.mkdir()
    real_git = shutil.which("git")
    (shim / "git").write_text(f'#!/bin/sh\necho "$*" >> {log}\nexec {real_git} "$@"\n')
    (shim / "git").chmod(0o755)
    env = {**git_env(), "PATH": f"{shim}:{git_env()['PATH']}"}
    run_validate(repo, "--no-assets", "--no-render", env=env)  # warms the facts index
    log.unlink()
    repo.write(CHECKED_FILE, repo.read(CHECKED_FILE) + "# an edit\n")
    run_validate(repo, "--no-assets", env=env)
    calls = log.read_text().splitlines()
    for question in ("diff-files", "diff-index", "ls-files --others"):
        asked = [line for line in calls if f" {question} " in line and " catalog" in line]
        assert len(asked) == 1, (question, calls)
    assert not [line for line in calls if " status " in line], calls


LOADED = (
    "import runpy, sys\n"
    "sys.argv = ['stardust-git', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('stardust_git', run_name='__main__')\n"
    "except SystemExit:\n"
    "    pass\n"
    "print(' '.join(sorted(sys.modules)))\n"
)


def loaded_modules(repo: Repo, *options: str) -> set[str]:
    """The modules a ``validate CHECKED_FILE`` run has imported when it ends."""
    return modules_after(repo, "validate", CHECKED_FILE, *options)


def modules_after(repo: Repo, *arguments: str) -> set[str]:
    """The modules ``stardust-git ARGUMENTS`` has imported when it ends."""
    command = [sys.executable, "-c", LOADED, *arguments]
    done = subprocess.run(
        command, cwd=repo.root, env=git_env(), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.splitlines()[-1].split())


UNNEEDED_WITHOUT_ASSETS = {"PIL", "mutagen", "stardust_git.checks.audio_qc", "tenacity"}
APPLE = {"stardust_git.checks.apple", "stardust_git.render.apple"}


def test_validate_imports_only_what_its_checks_need(repo: Repo) -> None:
    without_render = loaded_modules(repo, "--no-assets", "--no-render")
    assert "stardust_git.index" in without_render  # the run did validate
    unneeded = {"stardust_git.checks.ern", "stardust_git.xsd", *UNNEEDED_WITHOUT_ASSETS, *APPLE}
    assert unneeded & without_render == set()
    rendered = loaded_modules(repo, "--no-assets")
    assert {"lxml", "stardust_git.checks.ern"} <= rendered
    # The ERN renderer reads the audio it finds (mutagen); no Apple target is named.
    assert {"tenacity", *APPLE} & rendered == set()


def test_help_imports_no_command(repo: Repo) -> None:
    modules = modules_after(repo, "--help")
    assert {"pydantic", "stardust_git.models", "yaml", "lxml"} & modules == set()
