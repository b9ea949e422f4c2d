"""The README's quick start stays true: two commands on a fresh clone, one that installs the tool
and delivers the example catalog, one that installs what the tests need and runs them (CI's)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT

UNREACHABLE = "http://127.0.0.1:9/no-network/"


def quick_start_commands() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the quick start has a sh code block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    deliver, test = quick_start_commands()
    assert deliver.startswith("bash scripts/setup.sh --tool && ")
    assert " deliver --all " in deliver
    assert test.startswith("bash scripts/setup.sh && ") and "pytest" in test
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/setup.sh --fresh" in ci, "CI builds its environment anew"
    assert test in ci, ".ci/run runs the README's test command"


def run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=600, env=env
    )


def test_quick_start_delivery_on_a_fresh_clone(tmp_path: Path) -> None:
    # As on a fresh machine laid out like CI: ../shared beside the clone, no STARDUST_XSD_DIR,
    # an empty cache, no network: setup puts the XSDs into the cache, deliver validates from it.
    clone = tmp_path / "catalog"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
    (tmp_path / "shared").symlink_to(REPO_ROOT.parent / "shared")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARDUST_XSD")}
    env |= {"XDG_CACHE_HOME": str(tmp_path / "cache"), "STARDUST_XSD_BASE_URL": UNREACHABLE}
    deliver, _ = quick_start_commands()
    assert not (clone / ".venv").exists()

    first = run(deliver, clone, env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Traceback" not in first.stderr
    assert (clone / ".venv" / "bin" / "stardust-git").exists(), "the tool went into the clone"
    assert "setup: xsd: from" in first.stdout, "setup put the XSDs into the cache"
    messages = sorted(clone.glob("outbox/local/*/*.xml"))
    releases_for_local = [
        p for p in clone.glob("catalog/**/*.yaml") if "local" in p.read_text(encoding="utf-8")
    ]
    assert len(messages) == len(releases_for_local) >= 3
    assert sorted(clone.glob("outbox/apple/**/metadata.xml"))
    receipts = sorted(clone.glob("receipts/*/*.json"))
    assert {p.stem for p in receipts} == {"local", "apple"}
    for receipt in receipts:
        history = json.loads(receipt.read_text(encoding="utf-8"))["history"]
        assert history[-1]["status"] == "success"

    second = run(deliver, clone, env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "pip: stardust-git (tool) already installed" in second.stdout
    assert sorted(clone.glob("outbox/local/*/*.xml")) == messages, "a rerun sends nothing"
