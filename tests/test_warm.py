"""``validate --warm``: the console script hands the call to a resident server that forks a child.

Every test runs the installed console script as the pre-commit hook does, with a private socket
folder of its own; a served call must print and exit exactly as the same call run cold.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gitrepo import git_env
from tests.test_corpus import REPO_ROOT

RELEASE = "catalog/beach-band/summer-vibes.yaml"
CONSOLE_SCRIPT = Path(sys.executable).parent / "stardust-git"
SERVER_START_SECONDS = 60.0
WARM_LINE = re.compile(r"^warm: .*\n", re.MULTILINE)


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    """The example release with its assets, targets and genre maps, in a git repository."""
    repo = tmp_path / "label"
    (repo / RELEASE).parent.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / RELEASE, repo / RELEASE)
    shutil.copytree(REPO_ROOT / "assets/1234567890128", repo / "assets/1234567890128")
    shutil.copytree(REPO_ROOT / "genre-maps", repo / "genre-maps")
    shutil.copytree(REPO_ROOT / "targets", repo / "targets")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "catalog"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=git_env())
    return repo


@pytest.fixture
def warm_dir() -> Iterator[Path]:
    """A short private folder for the sockets (AF_UNIX paths are short); its servers are
    stopped afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="sdw-", dir="/tmp"))
    try:
        yield folder
    finally:
        for lock in folder.glob("*.lock"):
            stop_server(lock)
        shutil.rmtree(folder, ignore_errors=True)


def stop_server(lock: Path) -> None:
    with contextlib.suppress(ValueError, OSError):
        os.kill(int(lock.read_text()), signal.SIGTERM)


def stardust(
    repo: Path, warm_dir: Path, *args: str, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "STARDUST_WARM_DIR": str(warm_dir), "STARDUST_WARM_VERBOSE": "1"}
    environment.pop("STARDUST_WARM_CHILD", None)
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args],
        cwd=cwd or repo,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def wait_for_server(warm_dir: Path) -> Path:
    """The socket of the server the first call started, once it listens."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        sockets = list(warm_dir.glob("*.sock"))
        if sockets:
            return sockets[0]
        time.sleep(0.1)
    raise AssertionError(f"no warm server listened in {warm_dir} within {SERVER_START_SECONDS} s")


def wait_until_gone(path: Path, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not path.exists(), f"{path} is still there after {seconds} s"


def without_warm_lines(text: str) -> str:
    return WARM_LINE.sub("", text)


def assert_same_run(
    served: subprocess.CompletedProcess[str], cold: subprocess.CompletedProcess[str]
) -> None:
    assert re.search(r"^warm: served by process \d+$", served.stderr, re.MULTILINE), served.stderr
    assert served.returncode == cold.returncode, served.stderr
    assert served.stdout == cold.stdout
    assert without_warm_lines(served.stderr) == without_warm_lines(cold.stderr)


def served_after_start(repo: Path, warm_dir: Path, *args: str, **env: str) -> None:
    """Start the server with one call (run here), then wait for it to listen."""
    first = stardust(repo, warm_dir, "validate", "--warm", *args, **env)
    assert "warm: no server answered: running here" in first.stderr, first.stderr
    wait_for_server(warm_dir)


def test_the_first_call_starts_a_server_and_the_next_one_is_served(
    catalog: Path, warm_dir: Path
) -> None:
    first = stardust(catalog, warm_dir, "validate", "--warm", RELEASE)
    wait_for_server(warm_dir)
    second = stardust(catalog, warm_dir, "validate", "--warm", RELEASE)

    assert "warm: no server answered" in first.stderr, first.stderr
    assert first.returncode == 0, first.stdout + first.stderr
    assert "ok: " in first.stdout + first.stderr
    assert_same_run(second, first)
    lock = next(warm_dir.glob("*.lock"))
    served_by = int(re.search(r"served by process (\d+)", second.stderr).group(1))  # type: ignore[union-attr]
    assert served_by != int(lock.read_text()), "a child of the server runs the call, not the server"


def test_a_served_call_reports_errors_and_exits_as_a_cold_one(
    catalog: Path, warm_dir: Path
) -> None:
    served_after_start(catalog, warm_dir, RELEASE)
    release = catalog / RELEASE
    release.write_text(
        release.read_text(encoding="utf-8").replace('"1234567890128"', '"1234567890123"'),
        encoding="utf-8",
    )

    for args in ([RELEASE], [RELEASE, "--format", "json"], [RELEASE, "--strict", "--no-assets"]):
        cold = stardust(catalog, warm_dir, "validate", *args)
        served = stardust(catalog, warm_dir, "validate", "--warm", *args)

        assert cold.returncode == 1, cold.stdout + cold.stderr
        assert "wrong check digit" in cold.stdout
        assert_same_run(served, cold)


def test_a_served_call_sees_a_target_changed_after_the_server_read_it(
    catalog: Path, warm_dir: Path
) -> None:
    """The server parses targets and genre maps before each fork; a child must use only what
    is byte for byte the file now."""
    served_after_start(catalog, warm_dir, RELEASE)
    stardust(catalog, warm_dir, "validate", "--warm", RELEASE)  # the server has parsed them
    target = catalog / "targets" / "spotify.yaml"
    original = target.read_text(encoding="utf-8")
    target.write_text(original.replace("delivery:", "delivery:\n  colour: blue", 1), "utf-8")

    broken = [stardust(catalog, warm_dir, "validate", *warm, RELEASE) for warm in ([], ["--warm"])]
    target.write_text(original, encoding="utf-8")
    mended = [stardust(catalog, warm_dir, "validate", *warm, RELEASE) for warm in ([], ["--warm"])]

    assert broken[0].returncode == 1
    assert "delivery.colour: unknown field" in broken[0].stdout
    assert_same_run(broken[1], broken[0])
    assert mended[0].returncode == 0, mended[0].stdout
    assert_same_run(mended[1], mended[0])


def test_a_served_call_runs_in_the_callers_directory_and_environment(
    catalog: Path, warm_dir: Path
) -> None:
    served_after_start(catalog, warm_dir, RELEASE)
    folder = catalog / "catalog" / "beach-band"
    missing_xsd = {"STARDUST_XSD_DIR": str(catalog / "no-xsd-here")}

    cold = stardust(catalog, warm_dir, "validate", "summer-vibes.yaml", cwd=folder, **missing_xsd)
    served = stardust(
        catalog, warm_dir, "validate", "--warm", "summer-vibes.yaml", cwd=folder, **missing_xsd
    )

    assert cold.returncode == 1, cold.stdout + cold.stderr
    assert "STARDUST_XSD_DIR" in cold.stdout + cold.stderr
    assert_same_run(served, cold)


def test_a_changed_installation_sends_the_call_back_and_stops_the_server(
    catalog: Path, warm_dir: Path, tmp_path: Path
) -> None:
    installed = tmp_path / "site"
    shutil.copytree(
        REPO_ROOT / "stardust_git",
        installed / "stardust_git",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    on_copy = {"PYTHONPATH": str(installed)}
    served_after_start(catalog, warm_dir, RELEASE, **on_copy)
    sock = next(warm_dir.glob("*.sock"))
    served = stardust(catalog, warm_dir, "validate", "--warm", RELEASE, **on_copy)
    assert "served by process" in served.stderr, served.stderr
    changed = installed / "stardust_git" / "rules.py"
    later = changed.stat().st_mtime + 10
    os.utime(changed, (later, later))

    after_upgrade = stardust(catalog, warm_dir, "validate", "--warm", RELEASE, **on_copy)

    assert "the server's code is older than the installed package: running here" in (
        after_upgrade.stderr
    )
    assert after_upgrade.returncode == 0, after_upgrade.stdout + after_upgrade.stderr
    assert after_upgrade.stdout == served.stdout
    wait_until_gone(sock)


def test_an_idle_server_exits(catalog: Path, warm_dir: Path) -> None:
    sock = warm_dir / "idle.sock"
    environment = {**os.environ, "STARDUST_WARM_IDLE": "5"}
    command = [sys.executable, "-m", "stardust_git.warm.server", str(sock)]
    server = subprocess.Popen(command, env=environment, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_server(warm_dir)
        assert server.wait(timeout=60) == 0, server.stderr.read()  # type: ignore[union-attr]
    finally:
        server.kill()
        server.wait()

    assert not sock.exists(), "an exiting server removes its socket"


def test_a_folder_others_may_use_is_never_used(catalog: Path, warm_dir: Path) -> None:
    warm_dir.chmod(0o777)

    first = stardust(catalog, warm_dir, "validate", "--warm", RELEASE)

    assert first.returncode == 0, first.stdout + first.stderr
    assert f"warm: {warm_dir} is not private to this user: running here" in first.stderr
    assert list(warm_dir.iterdir()) == []


def test_the_server_keeps_none_of_the_callers_other_variables(
    catalog: Path, warm_dir: Path
) -> None:
    secret = {"SFTP_PASSWORD": "warm-secret-value"}
    served_after_start(catalog, warm_dir, RELEASE, **secret)
    pid = int(next(warm_dir.glob("*.lock")).read_text())

    environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")

    assert not [entry for entry in environment if b"warm-secret-value" in entry]
    assert f"STARDUST_WARM_DIR={warm_dir}".encode() in environment
    served = stardust(catalog, warm_dir, "validate", "--warm", RELEASE, **secret)
    assert "served by process" in served.stderr


def test_only_validate_is_served(catalog: Path, warm_dir: Path) -> None:
    served_after_start(catalog, warm_dir, RELEASE)

    shown = stardust(catalog, warm_dir, "show", "1234567890128", "--warm")

    assert shown.returncode == 2, "--warm is validate's option only"
    assert "warm:" not in shown.stderr
