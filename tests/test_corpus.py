"""The bad-input corpus: every broken catalog under tests/corpus/ fails with exactly its message.

Each ``tests/corpus/<case>/`` is a minimal catalog with one defect and an ``expected.txt`` holding
the exact diagnostic lines ``stardust-git validate`` must print. Media files are made at test time
from ``tests/corpus/assets.json`` (the shared default set) merged with the case's own
``assets.json`` (an entry set to null removes a default). ``_control`` is a catalog that passes.
The fuzz test mutates the example catalog at random and asserts that no run ever crashes.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from stardust_git.cli import cli

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parent / "corpus"
CONTROL = CORPUS / "_control"
CASE_FILES = {"expected.txt", "assets.json", "args.txt"}
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir() and not p.name.startswith("_"))
WAV_RATE = 8000
MIN_CASES = 45


def stardust_git_executable() -> str:
    """The console script installed beside this interpreter (what a user runs)."""
    script = Path(sys.executable).parent / "stardust-git"
    assert script.is_file(), f"stardust-git is not installed beside {sys.executable}"
    return str(script)


def run_validate(
    repo: Path, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    command = [stardust_git_executable(), "validate", "--root", str(repo), *args]
    env = {k: v for k, v in os.environ.items() if k != "STARDUST_DEBUG"}
    return subprocess.run(
        command, cwd=cwd or repo, capture_output=True, text=True, timeout=120, env=env
    )


# --- media made at test time -------------------------------------------------------------------


def write_wav(path: Path, seconds: float) -> None:
    """Silent 8 kHz 8-bit mono PCM: a few kilobytes per second."""
    with wave.open(str(path), "wb") as stream:
        stream.setnchannels(1)
        stream.setsampwidth(1)
        stream.setframerate(WAV_RATE)
        stream.writeframes(b"\x80" * round(seconds * WAV_RATE))


def write_image(path: Path, width: int, height: int, kind: str) -> None:
    image = Image.new("RGB", (width, height), (40, 90, 160))
    image.save(path, format={"jpeg": "JPEG", "png": "PNG"}[kind])


def write_asset(path: Path, spec: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = spec["kind"]
    if kind == "symlink":
        path.symlink_to(spec["to"])
        return
    if kind == "wav":
        write_wav(path, spec["seconds"])
    elif kind in ("jpeg", "png"):
        write_image(path, spec["width"], spec["height"], kind)
    else:
        raise ValueError(f"{path}: unknown asset kind {kind!r}")
    if "truncate" in spec:
        with open(path, "r+b") as stream:
            stream.truncate(spec["truncate"])


def asset_specs(case_dir: Path) -> dict[str, dict[str, Any] | None]:
    specs = json.loads((CORPUS / "assets.json").read_text(encoding="utf-8"))
    own = case_dir / "assets.json"
    if own.is_file():
        specs.update(json.loads(own.read_text(encoding="utf-8")))
    return specs


def materialise(case_dir: Path, workspace: Path) -> Path:
    """Copy a corpus case into ``workspace/repo`` and create its media; return the repo root.

    Asset paths are relative to the repo root and may climb out of it (``../outside/x.jpg``),
    but never out of ``workspace``.
    """
    repo = workspace / "repo"
    shutil.copytree(case_dir, repo, ignore=lambda _dir, names: CASE_FILES & set(names))
    for relative_path, spec in asset_specs(case_dir).items():
        if spec is None:
            continue
        path = repo / relative_path
        assert path.resolve().is_relative_to(workspace.resolve()), relative_path
        write_asset(path, spec)
    return repo


def case_args(case_dir: Path) -> list[str]:
    """Extra validate options from ``args.txt``; ``--no-render`` unless the case needs render."""
    args_file = case_dir / "args.txt"
    return args_file.read_text(encoding="utf-8").split() if args_file.is_file() else ["--no-render"]


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert "internal error" not in output, output


# --- the corpus ----------------------------------------------------------------------------------


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= MIN_CASES, CASES


@pytest.mark.parametrize("case", CASES)
def test_broken_catalog_reports_exactly_its_defect(case: str, tmp_path: Path) -> None:
    case_dir = CORPUS / case
    repo = materialise(case_dir, tmp_path)
    expected = (case_dir / "expected.txt").read_text(encoding="utf-8").splitlines()

    result = run_validate(repo, *case_args(case_dir))

    assert_no_traceback(result)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines() == expected, result.stderr
    assert result.stderr.startswith("invalid: "), result.stderr


def test_control_catalog_passes(tmp_path: Path) -> None:
    """NO (Norway), unquoted leading-zero EANs, yes/no titles, ERN 3.8.2/4.2/4.3 targets are
    fine, rendered and XSD-validated too, with no warning even under --strict."""
    repo = materialise(CONTROL, tmp_path)

    result = run_validate(repo, "--strict")

    assert_no_traceback(result)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("ok: "), result.stderr


def test_control_catalog_passes_in_json(tmp_path: Path) -> None:
    repo = materialise(CONTROL, tmp_path)

    result = run_validate(repo, "--format", "json", "--no-render")

    report = json.loads(result.stdout)
    assert result.returncode == 0
    assert (report["valid"], report["errors"], report["warnings"]) == (True, [], [])
    assert report["releases"] == len(list((repo / "catalog").rglob("*.yaml")))


# --- fuzz: no traceback, ever ---------------------------------------------------------------------

MUTATIONS = 200
SEED = 20241124
YAML_NOISE = [":", "-", " ", "\t", "'", '"', "&", "*", "!", "{", "}", "[", "]", "#", "|", ">", "%"]


def mutate(text: str, rng: random.Random) -> str:
    """One random edit: delete, duplicate or swap lines, swap characters, or insert YAML noise."""
    lines = text.splitlines(keepends=True)
    edit = rng.choice(["delete", "duplicate", "swap_lines", "swap_chars", "insert", "indent"])
    at = rng.randrange(len(lines))
    if edit == "delete":
        del lines[at]
    elif edit == "duplicate":
        lines.insert(at, lines[at])
    elif edit == "swap_lines":
        other = rng.randrange(len(lines))
        lines[at], lines[other] = lines[other], lines[at]
    elif edit == "indent":
        lines[at] = rng.choice(["  ", "    ", "\t", "- "]) + lines[at]
    else:
        joined = "".join(lines)
        pos = rng.randrange(max(len(joined) - 1, 1))
        if edit == "swap_chars":
            return joined[:pos] + joined[pos + 1] + joined[pos] + joined[pos + 2 :]
        return joined[:pos] + rng.choice(YAML_NOISE) + joined[pos:]
    return "".join(lines)


def copy_example_catalog(dest: Path) -> Path:
    for folder in ("catalog", "targets", "genre-maps", "assets"):
        shutil.copytree(REPO_ROOT / folder, dest / folder)
    return dest


def test_random_mutations_never_crash(tmp_path: Path) -> None:
    """200 mutated copies of the example catalog: every run exits 0 or 1, never with a traceback.

    In-process through the click entry point (the same wrapper users run) to keep 200 runs fast.
    """
    repo = copy_example_catalog(tmp_path / "repo")
    files = sorted(
        p
        for folder in ("catalog", "targets", "genre-maps")
        for p in (repo / folder).rglob("*.yaml")
    )
    rng = random.Random(SEED)
    runner = CliRunner()
    outcomes: list[int] = []
    for round_number in range(MUTATIONS):
        victim = rng.choice(files)
        original = victim.read_bytes()
        mutated = mutate(original.decode("utf-8"), rng)
        victim.write_text(mutated, encoding="utf-8")
        try:
            result = runner.invoke(cli, ["validate", "--root", str(repo), "--no-render"])
        finally:
            victim.write_bytes(original)
        where = f"mutation {round_number} of {victim.relative_to(repo)}:\n{mutated}"
        assert result.exit_code in (0, 1), f"{where}\n{result.output}"
        assert "Traceback" not in result.output, where
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit
        ), where
        outcomes.append(result.exit_code)
    assert outcomes.count(1) > MUTATIONS // 4, "the mutations hardly ever broke the catalog"
