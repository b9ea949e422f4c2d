"""Per-file upload progress from the deliver step to its Reporter, and how each reporter shows it.

The byte counts are compared with what arrived (the files in the delivery directory, or on the
server), never with the engine's own bookkeeping.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from posixpath import basename

import pytest
from rich.console import Console

from stardust_git.commands.deliver import LARGE_FILE_BYTES, PlainReporter, RichReporter
from stardust_git.deliver import DeliverOptions, Reporter, deliver
from tests.gitrepo import UPCS, Repo, make_catalog
from tests.servers import ApiServer
from tests.test_protocol_e2e import catalog_repository, point_target, served_folder
from tests.test_protocol_endpoints import MIB, Endpoint, TcpProxy, make_endpoint


class Recording(Reporter):
    """Keeps every file event; checks they come one at a time (the engine's lock)."""

    def __init__(self) -> None:
        self.started: dict[tuple[str, str], int] = {}
        self.finished: dict[tuple[str, str], int] = {}
        self.net_bytes: dict[str, int] = {}
        self.taken_back = 0
        self.busy = threading.Lock()

    def file_started(self, target: str, remote_path: str, size: int) -> None:
        with self._alone():
            assert (target, remote_path) not in self.started  # once per file, not per retry
            self.started[(target, remote_path)] = size

    def file_progress(self, target: str, nbytes: int) -> None:
        with self._alone():
            self.net_bytes[target] = self.net_bytes.get(target, 0) + nbytes
            self.taken_back += -nbytes if nbytes < 0 else 0

    def file_done(self, target: str, remote_path: str, size: int, seconds: float) -> None:
        with self._alone():
            assert seconds >= 0
            self.finished[(target, remote_path)] = size

    def _alone(self) -> threading.Lock:
        assert not self.busy.locked(), "two reporter calls at once"
        return self.busy


def files_under(folder: Path) -> dict[str, int]:
    """Relative path -> size of every file delivered under ``folder``."""
    return {
        p.relative_to(folder).as_posix(): p.stat().st_size for p in folder.rglob("*") if p.is_file()
    }


def test_two_targets_in_parallel_report_every_file_and_bytes_that_add_up(tmp_path: Path):
    repo: Repo = make_catalog(tmp_path)
    for upc in UPCS[:3]:
        repo.add_release(upc, targets=("alpha", "beta"))
    repo.commit("Three releases")
    reporter = Recording()

    result = deliver(repo.root, DeliverOptions(all_=True, retry_wait=0.01), reporter)

    assert result.ok and len(result.outcomes) == 6
    for target in ("alpha", "beta"):
        arrived = files_under(repo.root / "outbox" / target)
        assert len(arrived) == 9  # three files a release
        reported = {
            path: size for (name, path), size in reporter.finished.items() if name == target
        }
        assert reported == arrived
        assert reporter.net_bytes[target] == sum(arrived.values())
    assert reporter.started == reporter.finished


def test_a_retried_file_takes_back_its_cut_attempt_and_still_adds_up(
    http_api_server: ApiServer,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    """The example catalog over SFTP through a proxy that cuts the first connection, and to
    the HTTP API, whose files go with their message: the bytes still add up per target."""
    (tmp_path / "spotify").mkdir()
    sftp: Endpoint = make_endpoint("sftp", request, tmp_path / "spotify", monkeypatch)
    root = tmp_path / "repo"
    root.mkdir()
    catalog_repository(root, {"spotify": sftp}, http_api_server, monkeypatch)
    reporter = Recording()
    with TcpProxy(sftp.server.port, cut_after=MIB) as proxy:
        point_target(root, "spotify", port=proxy.port)
        options = DeliverOptions(all_=True, retry_wait=0.01, targets=["spotify", "youtube"])
        result = deliver(root, options, reporter)

    assert result.ok and proxy.cuts == 1
    assert reporter.taken_back > 0
    on_sftp = files_under(served_folder(sftp))
    assert reporter.net_bytes["spotify"] == sum(on_sftp.values())
    received = [f for delivery in http_api_server.deliveries for f in delivery.files]
    assert reporter.net_bytes["youtube"] == sum(f.path.stat().st_size for f in received)
    assert reporter.started == reporter.finished
    youtube_done = sorted(basename(path) for name, path in reporter.finished if name == "youtube")
    assert youtube_done == sorted(basename(f.name) for f in received)


def test_plain_logs_get_one_line_per_large_file_and_nothing_per_chunk(
    capsys: pytest.CaptureFixture[str],
):
    reporter = PlainReporter()
    big = 40 * MIB
    reporter.file_started("tidal", "N_1/resources/A1.flac", big)
    for _ in range(big // (255 * 1024)):
        reporter.file_progress("tidal", 255 * 1024)
    reporter.file_done("tidal", "N_1/resources/A1.flac", big, 0.84)
    reporter.file_started("tidal", "N_1/resources/cover.jpg", LARGE_FILE_BYTES - 1)
    reporter.file_done("tidal", "N_1/resources/cover.jpg", LARGE_FILE_BYTES - 1, 0.1)

    assert capsys.readouterr().err == "  tidal: N_1/resources/A1.flac 41.9 MB in 0.8 s\n"


def test_the_terminal_shows_a_bytes_bar_per_target():
    reporter = RichReporter()
    reporter.file_started("tidal", "N_1/resources/A1.flac", 40 * MIB)
    reporter.file_started("tidal", "N_1/1.xml", 10 * MIB)
    reporter.file_progress("tidal", 30 * MIB)
    reporter.file_progress("tidal", -5 * MIB)  # a retry took back part of a failed attempt
    reporter.file_started("spotify", "N_1/resources/A1.flac", 2 * MIB)
    screen = io.StringIO()
    Console(file=screen, width=120).print(reporter.uploads)

    lines = screen.getvalue().splitlines()
    [tidal] = [line for line in lines if "tidal" in line]
    [spotify] = [line for line in lines if "spotify" in line]
    assert "26.2/52.4 MB" in tidal and "/s" in tidal
    assert "0.0/2.1 MB" in spotify
