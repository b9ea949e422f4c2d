"""The README's quick start stays true: its delivery command works on a fresh clone."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT


def quick_start_commands() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the quick start has a sh code block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_is_three_commands_setup_deliver_test() -> None:
    setup, deliver, test = quick_start_commands()
    assert setup == "bash scripts/setup.sh"
    assert deliver.startswith("stardust-git deliver")
    assert "pytest" in test
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/setup.sh" in ci
    assert test in ci, ".ci/run runs the README's test command"


def run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        shlex.split(command), cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_quick_start_delivery_on_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "catalog"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True)
    _, deliver, _ = quick_start_commands()

    first = run(deliver, clone)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Traceback" not in first.stderr
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

    second = run(deliver, clone)
    assert second.returncode == 0, second.stdout + second.stderr
    assert sorted(clone.glob("outbox/local/*/*.xml")) == messages, "a rerun sends nothing"
