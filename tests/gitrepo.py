"""Real temporary catalog repositories for the plan and deliver tests.

``make_catalog(tmp_path)`` creates a bare ``origin.git`` and a clone of it holding a small,
valid catalog: two ``local`` targets (``alpha``: ERN 4.3, ``beta``: ERN 4.2) delivering into
``outbox/<name>``, the project's genre taxonomy, and real assets. Releases are written with
:func:`release_yaml`; :class:`Repo` runs git in the clone.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.media import write_jpeg, write_wav

REPO_ROOT = Path(__file__).resolve().parents[1]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}
UPCS = ("1234567890128", "4006381333931", "5012345678900", "0012345678905")
TARGET_TEMPLATE = """\
format: ern
ern_version: "{version}"
sender: {{party_id: PADPIDA2025110101D, name: Indie Records}}
recipient: {{party_id: PADPIDA2025110102B, name: {name}}}
message_control_type: TestMessage
delivery:
  protocol: local
  directory: outbox/{name}
"""


def git_env() -> dict[str, str]:
    return {**os.environ, **GIT_ENV, "HOME": os.environ.get("HOME", "/tmp")}


def git(cwd: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=git_env(), capture_output=True, text=True, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


class Repo:
    """A working clone: write files, commit, push."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def git(self, *args: str, check: bool = True) -> str:
        return git(self.root, *args, check=check)

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def read(self, relative: str) -> str:
        return (self.root / relative).read_text(encoding="utf-8")

    def delete(self, relative: str) -> None:
        (self.root / relative).unlink()

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def push(self) -> None:
        self.git("push", "--quiet", "origin", "HEAD:refs/heads/main")

    def add_release(
        self,
        upc: str,
        title: str = "Summer Vibes",
        targets: tuple[str, ...] = ("alpha", "beta"),
        **fields: str,
    ) -> str:
        """Write catalog/<upc>.yaml and its assets; returns the release file's path."""
        write_assets(self.root, upc)
        relative = f"catalog/{upc}.yaml"
        self.write(relative, release_yaml(upc, title, targets, **fields))
        return relative


def write_assets(root: Path, upc: str) -> None:
    folder = root / "assets" / upc
    if not (folder / "cover.jpg").exists():
        write_jpeg(folder / "cover.jpg", size=1400, seed=int(upc[-4:]))
        write_wav(folder / "01.wav", seconds=3.0, rate=8000, seed=int(upc[-4:]))


def release_yaml(upc: str, title: str, targets: tuple[str, ...], **fields: str) -> str:
    """A valid release; extra top-level ``fields`` are appended as ``key: value`` lines."""
    extra = "".join(f"{key}: {value}\n" for key, value in fields.items())
    return f"""\
upc: "{upc}"
title: {title}
artists:
  - {{name: Beach Band, role: MainArtist}}
label: Indie Records
release_date: 2024-07-01
genre: ELECTRONIC
language: en
p_line: {{year: 2024, owner: Indie Records}}
c_line: {{year: 2024, owner: Indie Records}}
parental_warning: NotExplicit
cover: assets/{upc}/cover.jpg
tracks:
  - isrc: USRC1240{upc[-4:]}
    title: Sunset Dreams
    duration: 3
    audio: assets/{upc}/01.wav
deals:
  - territories: [Worldwide]
    commercial_models: [SubscriptionModel]
    use_types: [OnDemandStream]
    start_date: 2024-07-01
targets: [{", ".join(targets)}]
{extra}"""


def make_catalog(tmp_path: Path, name: str = "work") -> Repo:
    """A bare origin and a clone with targets, genres and one commit on main (no releases)."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    repo = Repo(tmp_path / name)
    git(tmp_path, "clone", "--quiet", str(origin), str(repo.root))
    repo.git("checkout", "--quiet", "-B", "main")
    repo.write("targets/alpha.yaml", TARGET_TEMPLATE.format(version="4.3", name="alpha"))
    repo.write("targets/beta.yaml", TARGET_TEMPLATE.format(version="4.2", name="beta"))
    genres = (REPO_ROOT / "genre-maps" / "genres.yaml").read_text(encoding="utf-8")
    repo.write("genre-maps/genres.yaml", genres)
    repo.write(".gitignore", "outbox/\n.stardust-cache/\n")
    repo.commit("Start the catalog")
    repo.push()
    return repo


def clone(tmp_path: Path, name: str) -> Repo:
    """Another clone of the same origin (a second CI runner)."""
    repo = Repo(tmp_path / name)
    git(
        tmp_path,
        "clone",
        "--quiet",
        "--branch",
        "main",
        str(tmp_path / "origin.git"),
        str(repo.root),
    )
    return repo
