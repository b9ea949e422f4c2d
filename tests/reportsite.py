"""A copy of the project's example catalog with delivery receipts and a hostile title, and the
report built from it: shared by the structural and the browser tests of the HTML report."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from stardust_git.models.receipt import Acknowledgement, Delivery, SentFile
from stardust_git.receipts import record_delivery
from stardust_git.report.build import BuildOptions, build_report
from tests.gitrepo import Repo, git, release_yaml, write_assets

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_FOLDERS = ("catalog", "targets", "genre-maps", "assets")
HOSTILE_UPC = "4006381333931"
HOSTILE_TITLE = "<script>alert(1)</script>"
BASE_URL = "https://git.example.com/indie/catalog"
TODAY = dt.date(2026, 1, 15)


@dataclass(frozen=True)
class ReportSite:
    repo: Path
    out: Path
    commit: str


def example_repo(folder: Path) -> Repo:
    """The example catalog, a release with a hostile title and a held one, committed."""
    repo = Repo(folder)
    folder.mkdir(parents=True)
    for name in EXAMPLE_FOLDERS:
        shutil.copytree(REPO_ROOT / name, folder / name)
    git(folder, "init", "--quiet", "--initial-branch=main")
    write_assets(folder, HOSTILE_UPC)
    hostile = release_yaml(HOSTILE_UPC, f"'{HOSTILE_TITLE}'", ("local", "spotify"))
    repo.write(f"catalog/{HOSTILE_UPC}.yaml", hostile.replace("Beach Band", "'Evil & Sons'"))
    write_assets(folder, "5012345678900")
    held = release_yaml("5012345678900", "Held Back", ("local",), deliver_after="2027-03-01")
    repo.write("catalog/5012345678900.yaml", held.replace("ELECTRONIC", "JAZZ"))
    repo.commit("The example catalog")
    return repo


def _delivery(commit: str, started: dt.datetime, status: str = "success", **extra: object):
    files = [SentFile(name="message.xml", bytes=1234, md5="0" * 32)]
    finished = started + dt.timedelta(minutes=2)
    fields = {"message_id": "M1", "action": "initial", "commit": commit, "format": "ern/4.3"}
    return Delivery(
        **fields,  # type: ignore[arg-type]
        files=files,
        started=started,
        finished=finished,
        attempts=1,
        status=status,  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


def record_history(root: Path, commit: str) -> None:
    """Receipts through the real writer: live, acknowledged, rejected, failed then retried,
    failed, and a takedown."""
    start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    ok = Acknowledgement(status="FileOK", received_at=start + dt.timedelta(hours=3))
    bad = Acknowledgement(status="ErrorInFile", received_at=start + dt.timedelta(hours=30))
    record_delivery(root, "5060236631114", "local", _delivery(commit, start))
    record_delivery(
        root, "5060236631114", "spotify", _delivery(commit, start, acknowledgements=[ok])
    )
    record_delivery(
        root, "5060236631114", "apple", _delivery(commit, start, acknowledgements=[bad])
    )
    failed = {"error": "connection refused by sftp.example.com"}
    record_delivery(root, "0885686123454", "tidal", _delivery(commit, start, "failed", **failed))
    later = start + dt.timedelta(days=2)
    record_delivery(root, "0885686123454", "tidal", _delivery(commit, later))
    record_delivery(root, "0885686123454", "beatport", _delivery(commit, later, "failed", **failed))
    takedown = _delivery(commit, later).model_copy(update={"action": "takedown"})
    record_delivery(root, "4250123456789", "deezer", takedown)
    hostile_error = {"error": "<b>bold</b> & <script>alert(2)</script>"}
    record_delivery(
        root, HOSTILE_UPC, "spotify", _delivery(commit, later, "failed", **hostile_error)
    )


def build_site(folder: Path) -> ReportSite:
    """The example repository with receipts, and its report in ``folder/site``."""
    repo = example_repo(folder / "repo")
    commit = repo.head()
    record_history(repo.root, commit)
    options = BuildOptions(base_url=BASE_URL, cache=folder / "cache", today=TODAY)
    build_report(repo.root, folder / "site", options)
    return ReportSite(repo.root, folder / "site", commit)
