"""Hostile files where the catalog is read: each is refused at ``path:line:col``, exit 1, in
bounded time and memory, and never opened for reading when it is not a regular file.

Run as users run the tool (a subprocess with a timeout), against real git repositories.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from stardust_git.errors import UserError
from stardust_git.fileio import MAX_RECEIPT_BYTES, MAX_YAML_BYTES
from stardust_git.receipts import read_receipt
from stardust_git.source.yamlio import MAX_DEPTH
from tests.gitrepo import UPCS, Repo, make_catalog
from tests.test_corpus import assert_no_traceback, stardust_git_executable

TIMEOUT = 60
FIFO = "not a regular file: a named pipe (FIFO); not read"
COMMANDS = (
    ("validate", "--no-render"),
    ("plan",),
    ("status",),
    ("deliver", "--dry-run"),
)


def run_tool(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STARDUST_DEBUG"}
    return subprocess.run(
        [stardust_git_executable(), *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    catalog = make_catalog(tmp_path)
    catalog.add_release(UPCS[0])
    catalog.commit("A release")
    return catalog


def assert_refused(result: subprocess.CompletedProcess[str], line: str) -> None:
    assert_no_traceback(result)
    assert result.returncode == 1, result.stdout + result.stderr
    assert line in (result.stdout + result.stderr).replace("\n", " ").replace("  ", " "), (
        result.stdout + result.stderr
    )


# --- finding: non-regular files hung every command -------------------------------------------


FIFO_CASES = [
    (where, command)
    for where in ("catalog/fifo.yaml", "targets/gamma.yaml", f"receipts/{UPCS[0]}/alpha.json")
    for command in COMMANDS
]


@pytest.mark.parametrize(
    ("where", "command"), FIFO_CASES, ids=[f"{w.split('/')[0]}-{c[0]}" for w, c in FIFO_CASES]
)
def test_a_fifo_is_refused_unopened_by_every_command(
    repo: Repo, where: str, command: tuple[str, ...]
) -> None:
    fifo = repo.root / where
    fifo.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(fifo)

    result = run_tool(repo.root, *command)

    if where.startswith("receipts/") and command[0] == "validate":
        # validate reads no receipt of a release the catalog has: it must simply not hang
        assert (result.returncode, result.stdout) == (0, ""), result.stderr
        return
    assert_refused(result, f"{where}:1:1: {FIFO}")


@pytest.mark.parametrize("command", [("plan",), ("deliver", "--dry-run")], ids=lambda c: c[0])
def test_a_fifo_target_is_a_plan_problem(repo: Repo, command: tuple[str, ...]) -> None:
    os.mkfifo(repo.root / "targets/gamma.yaml")

    result = run_tool(repo.root, *command)

    assert_refused(result, f"problem: targets/gamma.yaml:1:1: {FIFO}")


def test_a_socket_a_device_and_links_to_them_are_refused(repo: Repo, tmp_path: Path) -> None:
    catalog = repo.root / "catalog"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(catalog / "socket.yaml"))
    (catalog / "null.yaml").symlink_to("/dev/null")
    (tmp_path / "folder.yaml").mkdir()
    (catalog / "folder.yaml").symlink_to(tmp_path / "folder.yaml")
    (catalog / "dangling.yaml").symlink_to("nowhere.yaml")
    try:
        result = run_tool(repo.root, "validate", "--no-render")
    finally:
        listener.close()

    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "catalog/dangling.yaml:1:1: not a regular file: a symbolic link to nothing; not read",
        "catalog/folder.yaml:1:1: not a regular file: a directory (through a symbolic link);"
        " not read",
        "catalog/null.yaml:1:1: not a regular file: a character device (through a symbolic"
        " link); not read",
        "catalog/socket.yaml:1:1: not a regular file: a socket; not read",
    ]


def test_a_receipt_that_is_a_directory_or_too_large_is_refused(repo: Repo) -> None:
    (repo.root / f"receipts/{UPCS[0]}/alpha.json").mkdir(parents=True)
    big = repo.root / f"receipts/{UPCS[0]}/beta.json"
    with big.open("wb") as stream:
        stream.truncate(MAX_RECEIPT_BYTES + 1)

    with pytest.raises(UserError) as directory:
        read_receipt(repo.root, UPCS[0], "alpha")
    with pytest.raises(UserError) as too_large:
        read_receipt(repo.root, UPCS[0], "beta")

    assert [d.format() for d in directory.value.diagnostics] == [
        f"receipts/{UPCS[0]}/alpha.json:1:1: not a regular file: a directory; not read"
    ]
    assert [d.format() for d in too_large.value.diagnostics] == [
        f"receipts/{UPCS[0]}/beta.json:1:1: the file is too large (16,777,217 bytes; the limit"
        " is 16 MiB): not read; split it up"
    ]


def test_a_one_file_validate_does_not_read_a_fifo_among_the_other_releases(repo: Repo) -> None:
    """The facts index summarises every other release file: it must not open a FIFO."""
    os.mkfifo(repo.root / "catalog/fifo.yaml")

    result = run_tool(repo.root, "validate", "--no-render", f"catalog/{UPCS[0]}.yaml")

    assert_no_traceback(result)
    assert result.returncode == 0, result.stdout + result.stderr


# --- finding: YAML nested ~600-990 deep exited 3 (RecursionError) -----------------------------


def deep_flow(depth: int) -> str:
    return "notes: " + "[" * depth + "]" * depth + "\n"


def deep_block(depth: int) -> str:
    return "notes:\n" + "".join(f"{'  ' * level}- \n" for level in range(1, depth))


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (deep_flow(600), "2:71"),
        (deep_flow(MAX_DEPTH), "2:71"),
        (deep_block(990), "66:129"),
        ("notes:\n  " + "- " * 100_000 + "x\n", "3:129"),
        # Unclosed: libyaml's scanner stops at its own limit (1000) before the parser gets to 64.
        ("notes: " + "[" * 100_000 + "\n", "2:1007"),
        ("notes: " + "{a: " * 100_000 + "\n", "2:260"),
    ],
    ids=["flow-600", "flow-64", "block-990", "compact-100000", "flow-100000", "map-100000"],
)
def test_nesting_deeper_than_the_limit_is_refused_where_it_starts(
    repo: Repo, text: str, where: str
) -> None:
    release = repo.root / f"catalog/{UPCS[0]}.yaml"
    release.write_text(f'upc: "{UPCS[0]}"\n' + text, encoding="utf-8")

    result = run_tool(repo.root, "validate", "--no-render")

    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"catalog/{UPCS[0]}.yaml:{where}: nesting deeper than {MAX_DEPTH} levels"
    ]


# --- finding: a 50 MB YAML file took 833 MiB to refuse ---------------------------------------

MEMORY_CEILING_KIB = 256 * 1024
"""Reading the file cost 833 MiB; a run that refuses it stays at what checking the other
releases costs (since audio QC, NumPy and SciPy measure their audio: 160-200 MiB)."""

MEASURE = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120)
sys.stdout.write(f"{done.returncode}\\n{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}\\n")
sys.stdout.write(done.stdout + done.stderr)
"""


def peak_memory(repo: Path, *args: str) -> tuple[int, int, str]:
    """Exit code, peak resident memory (KiB) and output of one run, measured by a fresh parent
    so that no other process's memory counts."""
    measured = subprocess.run(
        [sys.executable, "-c", MEASURE, stardust_git_executable(), *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 2,
    )
    code, peak, output = measured.stdout.split("\n", 2)
    return int(code), int(peak), output


def write_big_release(path: Path, megabytes: int) -> None:
    line = "  - " + "x" * 95 + "\n"
    with path.open("w", encoding="utf-8") as stream:
        stream.write(f'upc: "{UPCS[1]}"\nnotes:\n')
        stream.write(line * (megabytes * 1024 * 1024 // len(line)))


def too_large_message(repo: Repo) -> str:
    size = (repo.root / "catalog/big.yaml").stat().st_size
    assert size > 50 * 1000 * 1000
    return f"the file is too large ({size:,} bytes; the limit is 4 MiB): not read; split it up"


def test_a_50_mb_file_is_refused_before_parsing_in_little_memory(repo: Repo) -> None:
    write_big_release(repo.root / "catalog/big.yaml", 50)

    code, peak, output = peak_memory(repo.root, "validate", "--no-render")

    assert code == 1, output
    assert f"catalog/big.yaml:1:1: {too_large_message(repo)}" in output
    assert peak < MEMORY_CEILING_KIB, f"{peak / 1024:.0f} MiB"


def test_a_50_mb_committed_file_is_refused_unread_by_plan(repo: Repo) -> None:
    write_big_release(repo.root / "catalog/big.yaml", 50)
    repo.commit("A huge release")

    code, peak, output = peak_memory(repo.root, "plan", "--head", "HEAD", "--all")

    assert code == 1, output
    assert f"catalog/big.yaml:1:1: {too_large_message(repo)}" in (
        output.replace("\n", " ").replace("  ", " ")
    )
    assert peak < MEMORY_CEILING_KIB, f"{peak / 1024:.0f} MiB"


def test_a_file_at_the_limit_is_read(repo: Repo) -> None:
    """The limit is the documented one, not lower: a file of exactly 4 MiB is parsed."""
    release = repo.root / f"catalog/{UPCS[0]}.yaml"
    text = release.read_text(encoding="utf-8")
    release.write_text(text + "#" * (MAX_YAML_BYTES - len(text) - 1) + "\n", encoding="utf-8")
    assert release.stat().st_size == MAX_YAML_BYTES

    result = run_tool(repo.root, "validate", "--no-render")

    assert (result.returncode, result.stdout) == (0, ""), result.stdout + result.stderr


# --- finding: the NUL-byte diagnostic was at line 1 and spanned two lines ---------------------


@pytest.mark.parametrize(
    ("title", "column"), [('"Sum\0mer"', 12), ("Sum\0mer", 11), ('"Café\0"', 13)]
)
def test_a_nul_byte_is_placed_at_its_line_and_column_on_one_line(
    repo: Repo, title: str, column: int
) -> None:
    release = repo.root / f"catalog/{UPCS[0]}.yaml"
    text = release.read_text(encoding="utf-8").replace("title: Summer Vibes", f"title: {title}")
    release.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))

    result = run_tool(repo.root, "validate", "--no-render")

    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"catalog/{UPCS[0]}.yaml:2:{column}: U+0000 is not allowed in YAML"
        " (control characters are not allowed); remove it"
    ]
