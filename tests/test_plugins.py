"""A third-party plugin package (tests/plugins/stardust-plugin-example) installed beside the tool
and used through the CLI: validate applies its profile's rule, its delivery protocol carries a
delivery, its render hook's element is in the delivered XML, and the XSD still judges the hooked
message.

The plugin is installed into a folder of its own that only the CLI subprocesses see (on their
PYTHONPATH), so tests running in parallel never render with its hook.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from lxml import etree

from stardust_git import xsd
from stardust_git.render import RenderError, hooks
from stardust_git.render.apple import NAMESPACE
from stardust_git.source.catalog import Catalog
from tests.media import write_jpeg, write_wav
from tests.test_apple import _check, _release, _render_tmp, _tmp_catalog
from tests.test_render_shared import ERN_TARGET

REPO_ROOT = Path(__file__).resolve().parents[1]
PLUGIN = REPO_ROOT / "tests" / "plugins" / "stardust-plugin-example"
CLI = Path(sys.executable).with_name("stardust-git")
UPC = "1234567890128"
TARGET = {
    **ERN_TARGET,
    "profile": "example-shop",
    "delivery": {"protocol": "drop", "folder": "dropbox"},
}
STREAMING_WORLDWIDE = {
    "territories": ["Worldwide"],
    "commercial_models": ["SubscriptionModel"],
    "use_types": ["OnDemandStream"],
    "start_date": "2025-05-02",
}
RELEASE = _release(genre="POP", deals=[STREAMING_WORLDWIDE], targets=["dropshop"])


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plugin, installed by pip into a folder of its own (no build isolation: offline)."""
    site = tmp_path_factory.mktemp("plugin-site")
    source = tmp_path_factory.mktemp("plugin-source") / "stardust-plugin-example"
    shutil.copytree(PLUGIN, source)  # pip builds in place: keep the repository clean
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
    command += ["--no-build-isolation", "--target", str(site), str(source)]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return site


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(REPO_ROOT / "genre-maps", tmp_path / "genre-maps")
    write_jpeg(tmp_path / "assets/cover.jpg", size=1400)
    write_wav(tmp_path / "assets/01.wav", seconds=1.0, rate=44100, channels=2)
    for path, data in (("targets/dropshop.yaml", TARGET), ("catalog/release.yaml", RELEASE)):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "catalog"], check=True)
    return tmp_path


def _cli(repo: Path, site: Path | None, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, **env, "PYTHONPATH": str(site) if site else ""}
    return subprocess.run(
        [str(CLI), *args, "--root", str(repo)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )


def test_plugin_profile_protocol_and_hook_work_through_the_cli(
    repo: Path, plugin_path: Path
) -> None:
    validated = _cli(repo, plugin_path, "validate")
    delivered = _cli(repo, plugin_path, "deliver", "--all")

    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "EXAMPLESHOP-DEAL-001" in validated.stdout
    assert "Example Shop sells downloads only" in validated.stdout
    assert delivered.returncode == 0, delivered.stdout + delivered.stderr
    messages = list((repo / "dropbox").rglob(f"{UPC}.xml"))
    assert len(messages) == 1, sorted((repo / "dropbox").rglob("*"))
    assert len(list((repo / "dropbox").rglob("*.wav"))) == 1
    root = etree.fromstring(messages[0].read_bytes())
    trail = root.find("MessageHeader/MessageAuditTrail/MessageAuditTrailEvent")
    assert trail is not None
    assert trail.findtext("MessagingPartyDescriptor/PartyName/FullName") == "Example Plugin"
    assert trail.findtext("DateTime") == root.findtext("MessageHeader/MessageCreatedDateTime")
    assert xsd.validate_xml(messages[0].read_bytes(), "4.3") == []


def test_a_hook_that_breaks_the_xsd_fails_validate_and_sends_nothing(
    repo: Path, plugin_path: Path
) -> None:
    validated = _cli(repo, plugin_path, "validate", STARDUST_EXAMPLE_HOOK_BREAK="1")
    delivered = _cli(repo, plugin_path, "deliver", "--all", STARDUST_EXAMPLE_HOOK_BREAK="1")

    assert validated.returncode == 1, validated.stdout + validated.stderr
    assert "NotInTheSchema" in validated.stdout
    assert "Traceback" not in validated.stderr + delivered.stderr
    assert list((repo / "dropbox").rglob(f"{UPC}.xml")) == []


def test_without_the_plugin_the_protocol_is_unknown(repo: Path) -> None:
    validated = _cli(repo, None, "validate")

    assert validated.returncode == 1
    assert "targets/dropshop.yaml" in validated.stdout
    assert "no delivery protocol 'drop' is installed" in validated.stdout


# --- hooks on Apple packages, in this process ------------------------------------------------


def _apple_catalog(tmp_path: Path) -> Catalog:
    cover = write_jpeg(tmp_path / "cover-source.jpg", size=3000)
    return _tmp_catalog(tmp_path / "repo", cover)


def _add_bonus(message: etree._Element, release: object, target: object) -> None:
    etree.SubElement(message.find(f"{{{NAMESPACE}}}album"), f"{{{NAMESPACE}}}bonus").text = "x"


def _fail(message: etree._Element, release: object, target: object) -> None:
    raise ValueError("no network in the hook")


def test_an_apple_hook_runs_before_the_xsd_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = _apple_catalog(tmp_path)
    monkeypatch.setattr(hooks, "installed_hooks", lambda: (("bonus", _add_bonus),))

    package = _render_tmp(catalog)
    problems = _check(catalog)

    assert b"<bonus>x</bonus>" in (package.message.data or b"")
    assert any("bonus" in message and "not expected" in message for _, _, message in problems)


def test_a_failing_hook_is_a_render_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = _apple_catalog(tmp_path)
    monkeypatch.setattr(hooks, "installed_hooks", lambda: (("fragile", _fail),))

    with pytest.raises(RenderError, match="render hook 'fragile' failed: no network in the hook"):
        _render_tmp(catalog)
