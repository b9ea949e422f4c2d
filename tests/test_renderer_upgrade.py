"""An upgrade of stardust-git that changes the output is planned as such, never skipped.

The "upgrade" is honest: a copy of the installed package, one module changed in it, put first
on PYTHONPATH of a real ``stardust-git`` subprocess, against receipts the original wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import stardust_git
from stardust_git.receipts import read_receipt
from tests.gitrepo import UPCS, Repo, make_catalog

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(stardust_git.__file__).parent
UPC = UPCS[0]
MAPPED = 'return GenreResolution(code, genre_map.mappings[code], "direct", code)'
RENDERER_CHANGED = "renderer changed: stardust-git output differs from the last delivery"


def run_tool(*args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": "1"}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-c", TOOL, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(os.sep),  # not the checkout: -c puts the working directory first on sys.path
        timeout=180,
        check=False,
    )


# Runs the CLI and says which package it ran (the copy, when it is first on PYTHONPATH).
TOOL = """
import sys, stardust_git
from stardust_git.cli import main
print(f"package: {stardust_git.__file__}", file=sys.stderr)
sys.argv[0] = "stardust-git"
main()
"""


def upgraded(tmp_path: Path, module: str, old: str, new: str) -> Path:
    """A copy of the package with ``old`` replaced by ``new`` in ``module``; its parent folder."""
    folder = tmp_path / "upgraded"
    copy = folder / "stardust_git"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    source = copy / module
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{module} no longer holds {old!r}"
    source.write_text(text.replace(old, new), encoding="utf-8")
    return folder


def plan_json(repo: Repo, pythonpath: Path | None = None) -> list[dict[str, object]]:
    done = run_tool("plan", "--root", str(repo.root), "--format", "json", pythonpath=pythonpath)
    assert done.returncode == 0, done.stderr
    expected = (pythonpath or PACKAGE.parent) / "stardust_git" / "__init__.py"
    assert f"package: {expected}" in done.stderr
    return json.loads(done.stdout)["actions"]


@pytest.fixture
def delivered(tmp_path: Path) -> Repo:
    """A release delivered to a target with a genre map (so genre_tools.py shapes its output)."""
    repo = make_catalog(tmp_path)
    for name in ("amazon.yaml", "vocabularies/amazon.yaml"):
        repo.write(f"genre-maps/{name}", (REPO_ROOT / "genre-maps" / name).read_text())
    repo.write("targets/alpha.yaml", repo.read("targets/alpha.yaml") + "genre_map: amazon\n")
    repo.add_release(UPC, targets=("alpha",))
    repo.commit("A release for a target with a genre map")
    done = run_tool("deliver", "--root", str(repo.root))
    assert done.returncode == 0, done.stderr
    return repo


def test_an_upgrade_that_changes_the_output_is_its_own_reason(
    delivered: Repo, tmp_path: Path
) -> None:
    new_mapping = MAPPED.replace("mappings[code]", 'mappings[code] + " (2.0)"')
    copy = upgraded(tmp_path, "genre_tools.py", MAPPED, new_mapping)

    assert plan_json(delivered) == []
    actions = plan_json(delivered, pythonpath=copy)

    assert actions == [
        {
            "upc": UPC,
            "target": "alpha",
            "action": "update",
            "reasons": [RENDERER_CHANGED],
            "changes": [],
        }
    ]


def test_an_upgrade_that_renders_the_same_sends_nothing(delivered: Repo, tmp_path: Path) -> None:
    copy = upgraded(tmp_path, "genre_tools.py", MAPPED, f"{MAPPED}  # 2.0: same output")

    assert plan_json(delivered, pythonpath=copy) == []


def test_a_catalog_change_after_an_upgrade_names_the_field_not_the_renderer(
    delivered: Repo, tmp_path: Path
) -> None:
    new_mapping = MAPPED.replace("mappings[code]", 'mappings[code] + " (2.0)"')
    copy = upgraded(tmp_path, "genre_tools.py", MAPPED, new_mapping)
    delivered.write(
        f"catalog/{UPC}.yaml", delivered.read(f"catalog/{UPC}.yaml").replace("Summer", "Winter")
    )
    delivered.commit("Retitle")

    (action,) = plan_json(delivered, pythonpath=copy)

    assert action["reasons"] == ["changed: title"]
    assert action["changes"] == [{"field": "title", "old": "Summer Vibes", "new": "Winter Vibes"}]


def test_receipts_name_the_renderer_that_rendered(delivered: Repo) -> None:
    receipt = read_receipt(delivered.root, UPC, "alpha")

    assert receipt is not None
    (delivery,) = receipt.history
    assert delivery.renderer == digest_of(None)


def digest_of(pythonpath: Path | None) -> str:
    env = {**os.environ}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    code = "from stardust_git.fingerprints import renderer_digest; print(renderer_digest())"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(os.sep),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    "module",
    ["genre_tools.py", "models/release.py", "render/ern43.py", "data/ddex_vocabulary.json"],
)
def test_every_module_of_the_package_is_in_the_renderer_digest(module: str, tmp_path: Path) -> None:
    text = (PACKAGE / module).read_text(encoding="utf-8")
    copy = upgraded(tmp_path, module, text, text + "\n# an upgrade\n")

    assert digest_of(copy) != digest_of(None)
