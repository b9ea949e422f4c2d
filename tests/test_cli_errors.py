"""Exit codes and error output of ``stardust-git validate``, run as users run it (a subprocess).

0 clean, 1 invalid (or warnings under --strict), 2 usage error, 3 unexpected internal error; no
Python traceback in any of them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from tests.test_corpus import (
    CONTROL,
    CORPUS,
    assert_no_traceback,
    materialise,
    run_validate,
    stardust_git_executable,
)

DIAGNOSTIC_KEYS = {"path", "line", "col", "field", "message", "severity", "rule"}
REPORT_KEYS = {"valid", "files", "releases", "errors", "warnings", "skipped"}
CONTROL_TARGET = "targets/sftp-shop.yaml"
CONTROL_RELEASE = "catalog/corpus/1234567890128.yaml"


def control_repo(tmp_path: Path) -> Path:
    return materialise(CONTROL, tmp_path)


def break_check_character(repo: Path) -> None:
    """A party id with a wrong ISO 7064 check character: a warning, not an error."""
    target = repo / CONTROL_TARGET
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("PADPIDA2025110102B", "PADPIDA2025110102C"), encoding="utf-8")


def test_clean_catalog_exits_0(tmp_path: Path) -> None:
    result = run_validate(control_repo(tmp_path), "--no-render")

    assert_no_traceback(result)
    assert (result.returncode, result.stdout) == (0, "")
    assert re.fullmatch(r"ok: \d+ files valid, 2 releases\n", result.stderr), result.stderr


def test_invalid_catalog_exits_1_and_reports_every_error_of_the_run(tmp_path: Path) -> None:
    repo = control_repo(tmp_path)
    release = repo / CONTROL_RELEASE
    text = release.read_text(encoding="utf-8")
    release.write_text(text.replace("language: nb", "language: norsk"), encoding="utf-8")
    target = repo / "targets/s3-shop.yaml"
    target.write_text(target.read_text(encoding="utf-8") + "  colour: blue\n", encoding="utf-8")

    result = run_validate(repo, "--no-render")

    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{CONTROL_RELEASE}:13:1: language: 'norsk' is not an ISO 639 language code"
        " (e.g. en, pt-BR)",
        "targets/s3-shop.yaml:12:3: delivery.colour: unknown field",
    ]
    assert result.stderr.startswith("invalid: 2 errors, 0 warnings in "), result.stderr


def test_warnings_pass_but_strict_turns_them_into_exit_1(tmp_path: Path) -> None:
    repo = control_repo(tmp_path)
    break_check_character(repo)
    warning = (
        f"{CONTROL_TARGET}:4:13: warning: recipient.party_id: PADPIDA2025110102C: the check"
        " character should be 'B' (ISO 7064 Mod 37,36); is the id right?"
    )

    relaxed = run_validate(repo, "--no-render")
    strict = run_validate(repo, "--no-render", "--strict")

    assert (relaxed.returncode, relaxed.stdout.splitlines()) == (0, [warning])
    assert re.fullmatch(r"ok: \d+ files valid, 2 releases \(1 warning\)\n", relaxed.stderr)
    assert (strict.returncode, strict.stdout.splitlines()) == (1, [warning])
    assert strict.stderr.startswith("invalid: 0 errors, 1 warning in "), strict.stderr


def test_unknown_option_is_a_usage_error(tmp_path: Path) -> None:
    result = run_validate(control_repo(tmp_path), "--no-such-option")

    assert_no_traceback(result)
    assert result.returncode == 2
    assert "No such option" in result.stderr and "--no-such-option" in result.stderr
    assert result.stdout == ""


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    result = run_validate(control_repo(tmp_path), "--format", "xml")

    assert_no_traceback(result)
    assert result.returncode == 2
    assert "'xml' is not one of 'text', 'json'" in result.stderr


def test_missing_root_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-catalog"

    result = run_validate(missing, "--no-render", cwd=tmp_path)

    assert_no_traceback(result)
    assert result.returncode == 2, result.stderr
    assert "does not exist" in result.stderr


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    """A typo in a file name must not pass as "0 releases, all valid"."""
    repo = control_repo(tmp_path)

    result = run_validate(repo, "--no-render", "catalog/corpus/no-such-release.yaml")

    assert_no_traceback(result)
    assert result.returncode == 2, result.stderr
    assert "catalog/corpus/no-such-release.yaml" in result.stderr


def test_json_report_of_a_clean_catalog(tmp_path: Path) -> None:
    repo = control_repo(tmp_path)
    break_check_character(repo)

    result = run_validate(repo, "--no-render", "--format", "json")

    assert (result.returncode, result.stderr) == (0, "")
    report = json.loads(result.stdout)
    assert set(report) == REPORT_KEYS
    assert (report["valid"], report["releases"], report["errors"]) == (True, 2, [])
    assert report["files"] >= 5  # 2 releases and 3 targets at least
    assert report["warnings"] == [
        {
            "path": CONTROL_TARGET,
            "line": 4,
            "col": 13,
            "field": "recipient.party_id",
            "message": "PADPIDA2025110102C: the check character should be 'B'"
            " (ISO 7064 Mod 37,36); is the id right?",
            "severity": "warning",
            "rule": "",
        }
    ]


def test_json_report_of_an_invalid_catalog_matches_the_text_lines(tmp_path: Path) -> None:
    case = CORPUS / "duplicate-upc-across-files"
    repo = materialise(case, tmp_path)

    result = run_validate(repo, "--no-render", "--format", "json")

    assert (result.returncode, result.stderr) == (1, "")
    report = json.loads(result.stdout)
    assert (report["valid"], report["releases"], report["warnings"]) == (False, 2, [])
    assert all(set(error) == DIAGNOSTIC_KEYS for error in report["errors"])
    as_lines = [
        f"{e['path']}:{e['line']}:{e['col']}: {e['field']}: {e['message']}"
        for e in report["errors"]
    ]
    assert as_lines == (case / "expected.txt").read_text(encoding="utf-8").splitlines()


def test_internal_error_exits_3_without_a_traceback(tmp_path: Path) -> None:
    """A full disk under stdout is nothing the catalog did wrong: exit 3, one line, no traceback."""
    repo = control_repo(tmp_path)
    command = [stardust_git_executable(), "validate", "--root", str(repo), "--no-render"]
    env = {k: v for k, v in os.environ.items() if k != "STARDUST_DEBUG"}

    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [*command, "--format", "json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "internal error: OSError: [Errno 28] No space left on device",
        "this is a bug in stardust-git; rerun with STARDUST_DEBUG=1 for details",
    ]


def test_debug_switch_shows_the_traceback_of_an_internal_error(tmp_path: Path) -> None:
    repo = control_repo(tmp_path)
    command = [stardust_git_executable(), "validate", "--root", str(repo), "--no-render"]

    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [*command, "--format", "json"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "STARDUST_DEBUG": "1"},
            timeout=120,
            check=False,
        )

    assert result.returncode not in (0, 3)
    assert "Traceback (most recent call last)" in result.stderr
    assert "No space left on device" in result.stderr


def test_one_file_run_checks_that_file_against_the_rest_of_the_catalog(tmp_path: Path) -> None:
    """What pre-commit runs: only the named release is validated, but its UPC must stay unique
    and a broken release elsewhere is not blamed on this commit."""
    repo = control_repo(tmp_path)
    other = repo / "catalog/corpus/0885686123454.yaml"
    other.write_text(
        other.read_text(encoding="utf-8").replace("upc: 0885686123454", 'upc: "1234567890128"')
        + "colour: blue\n",
        encoding="utf-8",
    )

    result = run_validate(repo, "--no-render", CONTROL_RELEASE)

    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{CONTROL_RELEASE}:3:1: upc: UPC 1234567890128 is also used by"
        " catalog/corpus/0885686123454.yaml: a UPC names one release, in one file; give one"
        " of them its own UPC (or remove the copy)"
    ]
