"""``stardust-git render UPC --target NAME --out DIR``: the exact package, laid out, on disk."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from stardust_git import choreography, xsd
from stardust_git.commands.render import head_context, render_command
from stardust_git.errors import UsageError, UserError
from tests.test_render_support import REPO_ROOT

ALBUM = "0885686123454"
SINGLE = "4250123456789"
COMMIT_TIME = "2025-11-03T14:05:09+00:00"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Render Test",
    "GIT_AUTHOR_EMAIL": "render@example.com",
    "GIT_COMMITTER_NAME": "Render Test",
    "GIT_COMMITTER_EMAIL": "render@example.com",
    "GIT_AUTHOR_DATE": COMMIT_TIME,
    "GIT_COMMITTER_DATE": COMMIT_TIME,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def copy_example_catalog(root: Path) -> Path:
    for folder in ("catalog", "targets", "genre-maps", "assets"):
        shutil.copytree(REPO_ROOT / folder, root / folder)
    return root


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=root,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_example_catalog(tmp_path_factory.mktemp("repo"))
    git(root, "init", "--quiet")
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "-m", "catalog")
    return root


def head_stamp(repo: Path) -> str:
    """The folder timestamp of the first delivery of HEAD: its time plus the commit's ms."""
    found = head_context(repo)
    assert found is not None
    return choreography.timestamp(choreography.commit_moment(found.commit, found.committed_at))


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_head_context_reads_the_commit(repo: Path, tmp_path: Path) -> None:
    found = head_context(repo)
    assert found is not None
    assert found.commit == git(repo, "rev-parse", "HEAD")
    assert found.committed_at.isoformat() == COMMIT_TIME
    assert head_context(tmp_path) is None


def test_release_by_release_package_on_disk(repo: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert render_command(repo, ALBUM, "local", out, "initial") == 0
    stamp = head_stamp(repo)
    assert stamp.startswith("20251103140509")
    folder = f"N_{ALBUM}_{stamp}"
    assert [p.name for p in out.iterdir()] == [folder]
    written = files_under(out / folder)
    assert written[0] == f"{ALBUM}.xml"
    assert written[1:] == [f"resources/{ALBUM}.jpg"] + [
        f"resources/{ALBUM}_{disc:02}_{track:03}.flac" for disc in (1, 2) for track in range(1, 7)
    ]
    source = repo / "assets" / ALBUM / "07.flac"
    copied = out / folder / f"resources/{ALBUM}_02_001.flac"
    assert copied.read_bytes() == source.read_bytes()
    xml = (out / folder / f"{ALBUM}.xml").read_bytes()
    assert xsd.validate_xml(xml, "4.3") == []
    root = etree.fromstring(xml)
    commit = git(repo, "rev-parse", "HEAD")
    assert root.findtext("MessageHeader/MessageId").startswith(f"{ALBUM}-{commit[:12]}-")
    created = f"2025-11-03T14:05:09.{stamp[-3:]}Z"  # the folder's moment, to the millisecond
    assert root.findtext("MessageHeader/MessageCreatedDateTime") == created
    assert root.findtext("MessageHeader/MessageControlType") == "TestMessage"  # local target
    uri = f"resources/{ALBUM}_02_001.flac"
    file = next(f for f in root.iter("File") if f.findtext("URI") == uri)
    assert file.findtext("HashSum/HashSumValue") == hashlib.md5(source.read_bytes()).hexdigest()
    printed = capsys.readouterr()
    assert f"{folder}/{ALBUM}.xml" in printed.out
    assert printed.out.index(f"{folder}/resources/") < printed.out.index(f"{folder}/{ALBUM}.xml")
    assert "rendered ern/4.3 initial" in printed.err


def test_rendering_twice_writes_the_same_bytes(repo: Path, tmp_path: Path) -> None:
    render_command(repo, SINGLE, "local", tmp_path / "a", "update")
    render_command(repo, SINGLE, "local", tmp_path / "b", "update")
    first, second = files_under(tmp_path / "a"), files_under(tmp_path / "b")
    assert first == second
    for name in first:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_batch_target_gets_a_batch_folder_and_manifest(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    render_command(repo, SINGLE, "amazon", out, "takedown")
    stamp = head_stamp(repo)
    batch = f"N_{stamp}"
    assert files_under(out) == [  # a takedown is the message alone
        f"{batch}/{SINGLE}/{SINGLE}.xml",
        f"{batch}/BatchComplete_{stamp}.xml",
    ]
    manifest = etree.fromstring((out / batch / f"BatchComplete_{stamp}.xml").read_bytes())
    assert manifest.findtext("MessageInBatch/DeliveryType") == "TakeDown"
    message = (out / batch / SINGLE / f"{SINGLE}.xml").read_bytes()
    assert manifest.findtext("MessageInBatch/HashSum/HashSum") == hashlib.md5(message).hexdigest()


def test_outside_git_renders_at_a_zero_commit_with_a_note(tmp_path: Path, capsys) -> None:
    root = copy_example_catalog(tmp_path / "plain")
    render_command(root, SINGLE, "local", tmp_path / "out", "initial")
    assert "not a git repository" in capsys.readouterr().err
    xml = next((tmp_path / "out").rglob(f"{SINGLE}.xml")).read_bytes()
    message_id = etree.fromstring(xml).findtext("MessageHeader/MessageId")
    assert message_id.startswith(f"{SINGLE}-000000000000-")


def test_bad_requests_are_user_errors(repo: Path, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no release with UPC 0000000000000"):
        render_command(repo, "0000000000000", "local", tmp_path, "initial")
    with pytest.raises(UserError, match="unknown target 'nowhere'"):
        render_command(repo, SINGLE, "nowhere", tmp_path, "initial")
    with pytest.raises(UsageError, match="--action"):
        render_command(repo, SINGLE, "local", tmp_path, "purge")
    assert not any(tmp_path.iterdir())
