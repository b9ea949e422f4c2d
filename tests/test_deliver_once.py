"""Once: concurrent deliver runs send nothing twice; a killed run leaves no temporary file
behind; a receipt that cannot be written stops the run before anything is sent.

Every test runs the real ``stardust-git deliver`` in subprocesses on a real git repository.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from stardust_git.models.receipt import Acknowledgement, Delivery, Receipt
from stardust_git.models.target import LocalDelivery
from stardust_git.protocols.local import LocalProtocol
from stardust_git.receipts import (
    dump_receipt,
    merge_receipt_files,
    parse_receipt,
    read_receipt,
    receipt_path,
)
from tests.gitrepo import UPCS, Repo, make_catalog, release_yaml, write_assets
from tests.media import write_wav
from tests.test_protocol_endpoints import DELIVERY_DIR, Endpoint, make_endpoint

RUN_SECONDS = 180
TEMPORARY_NAMES = ("*.part", "*.part-*")


def deliver_process(repo: Repo, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "stardust_git", "deliver", "--root", str(repo.root), *args]
    env = {**os.environ, "CI": "1"}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=RUN_SECONDS)
    return process.returncode, stderr


def package_folders(outbox: Path) -> Counter[str]:
    """UPC -> how many package folders (``N_<UPC>_<time>``) hold its message."""
    found: Counter[str] = Counter()
    for message in outbox.rglob("*.xml"):
        found[message.stem] += 1
    return found


def temporary_files(folder: Path) -> list[str]:
    return sorted(
        p.relative_to(folder).as_posix()
        for pattern in TEMPORARY_NAMES
        for p in folder.rglob(pattern)
    )


# --- concurrent runs -------------------------------------------------------------------------


def test_three_concurrent_runs_send_each_package_once(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    for upc in UPCS:
        repo.add_release(upc, targets=("alpha", "beta"))
    repo.commit("Four releases")

    runs = [deliver_process(repo) for _ in range(3)]
    finished = [finish(process) for process in runs]

    assert [code for code, _ in finished] == [0, 0, 0], [err for _, err in finished]
    for target in ("alpha", "beta"):
        assert package_folders(repo.root / "outbox" / target) == {upc: 1 for upc in UPCS}
        for upc in UPCS:
            receipt = read_receipt(repo.root, upc, target)
            assert receipt is not None
            assert [d.status for d in receipt.history] == ["success"]
    summaries = sorted(err.strip().splitlines()[-1] for _, err in finished)
    assert summaries[0].startswith("delivered 8, failed 0")
    assert summaries[1:] == ["nothing to deliver", "nothing to deliver"]


def test_a_run_that_cannot_get_the_lock_in_time_sends_nothing(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    repo.add_release(UPCS[0], targets=("alpha",))
    repo.commit("One release")
    lock = Path(repo.git("rev-parse", "--absolute-git-dir")) / "stardust-git-deliver.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        code, stderr = finish(deliver_process(repo, "--lock-wait", "0.5"))
    finally:
        holder.kill()
        holder.wait(timeout=10)

    assert code == 1
    assert f"another stardust-git deliver (pid {holder.pid}) holds {lock}" in stderr
    assert "waited 0.5 s" in stderr and "Traceback" not in stderr
    assert not (repo.root / "outbox").exists()
    assert not (repo.root / "receipts").exists()


HOLD_LOCK = """
import fcntl, os, sys, time
handle = open(sys.argv[1], "a+b")
fcntl.flock(handle, fcntl.LOCK_EX)
handle.truncate(0); handle.write(f"{os.getpid()}\\n".encode()); handle.flush()
print("locked", flush=True)
time.sleep(120)
"""


def test_a_plan_read_at_head_does_not_send_again_what_the_working_tree_records(
    tmp_path: Path,
) -> None:
    repo = make_catalog(tmp_path)
    repo.add_release(UPCS[0], targets=("alpha",))
    head = repo.commit("One release")
    assert finish(deliver_process(repo))[0] == 0  # receipts written, not committed

    code, stderr = finish(deliver_process(repo, "--head", head))

    assert code == 0, stderr
    assert f"skipped   {UPCS[0]} -> alpha (initial): already delivered" in stderr
    assert stderr.strip().splitlines()[-1] == "delivered 0, failed 0, skipped 1 (already delivered)"
    assert package_folders(repo.root / "outbox" / "alpha") == {UPCS[0]: 1}
    receipt = read_receipt(repo.root, UPCS[0], "alpha")
    assert receipt is not None and len(receipt.history) == 1


# --- a receipt that cannot be written ----------------------------------------------------------


def test_a_receipt_folder_that_is_a_file_stops_the_run_before_sending(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    repo.add_release(UPCS[0], targets=("alpha",))
    repo.add_release(UPCS[1], targets=("alpha",))
    repo.commit("Two releases")
    repo.write(f"receipts/{UPCS[1]}", "a file where the receipt folder goes\n")

    code, stderr = finish(deliver_process(repo))

    assert code == 1, stderr
    assert f"receipts/{UPCS[1]} is not a folder" in stderr
    assert "nothing was sent" in stderr and "Traceback" not in stderr
    assert not (repo.root / "outbox").exists()
    assert not (repo.root / "receipts" / UPCS[0]).exists()


def test_a_receipt_that_is_a_folder_stops_the_run_before_sending(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    repo.add_release(UPCS[0], targets=("alpha",))
    repo.commit("One release")
    (repo.root / "receipts" / UPCS[0] / "alpha.json").mkdir(parents=True)

    code, stderr = finish(deliver_process(repo))

    assert code == 1, stderr
    assert f"receipts/{UPCS[0]}/alpha.json is not a regular file" in stderr
    assert not (repo.root / "outbox").exists()


# --- a run killed mid-upload -----------------------------------------------------------------

LONG_SECONDS = 420  # 48 kHz mono 16-bit: about 40 MB, long enough to be caught mid-upload


def add_long_release(repo: Repo, upc: str, target: str) -> None:
    write_assets(repo.root, upc)  # the cover, and a short WAV replaced here
    write_wav(repo.root / "assets" / upc / "01.wav", seconds=LONG_SECONDS, rate=48000, seed=7)
    text = release_yaml(upc, "Long Player", (target,)).replace(
        "duration: 3", f"duration: {LONG_SECONDS}"
    )
    repo.write(f"catalog/{upc}.yaml", text)


def kill_when_a_temporary_file_appears(process: subprocess.Popen[str], folder: Path) -> list[str]:
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        found = temporary_files(folder) if folder.is_dir() else []
        if found:
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=30)
            return found
        time.sleep(0.002)
    process.kill()
    raise AssertionError(f"no temporary file appeared under {folder}: {process.communicate()}")


def file_endpoint(
    protocol: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, object], Path]:
    """The delivery settings of a real server and the local folder it stores deliveries in."""
    (tmp_path / "server").mkdir()
    endpoint: Endpoint = make_endpoint(protocol, request, tmp_path / "server", monkeypatch)
    settings = endpoint.settings.model_dump(mode="json", exclude_none=True)
    server_root = endpoint.server.root_dir if protocol == "ftp" else endpoint.server.data_dir
    return settings, server_root / DELIVERY_DIR


@pytest.mark.parametrize("protocol", ["local", "ftp", "sftp"])
def test_a_run_killed_mid_upload_leaves_no_temporary_file_once_rerun(
    protocol: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_catalog(tmp_path)
    if protocol == "local":
        outbox = repo.root / "outbox" / "alpha"
    else:
        settings, outbox = file_endpoint(protocol, request, tmp_path, monkeypatch)
        target = yaml.safe_load(repo.read("targets/alpha.yaml"))
        target["delivery"] = settings
        repo.write("targets/alpha.yaml", yaml.safe_dump(target, sort_keys=False))
    add_long_release(repo, UPCS[0], "alpha")
    repo.commit("A long release")

    left = kill_when_a_temporary_file_appears(deliver_process(repo), outbox)
    assert left  # the killed run left a partial upload behind (what the rerun must clean)
    code, stderr = finish(deliver_process(repo))

    assert code == 0, stderr
    assert temporary_files(outbox) == []
    assert not [p for p in outbox.rglob(".*") if p.is_file()]
    receipt = read_receipt(repo.root, UPCS[0], "alpha")
    assert receipt is not None and [d.status for d in receipt.history] == ["success"]
    (delivery,) = receipt.history
    (folder,) = {message.parent for message in outbox.rglob(f"{UPCS[0]}.xml")}
    sent = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert sent == sorted(f.name for f in delivery.files)
    for file in delivery.files:
        assert (folder / file.name).stat().st_size == file.bytes


def test_only_the_temporary_names_of_an_upload_are_removed(tmp_path: Path) -> None:
    folder = tmp_path / "outbox" / "N_1_2" / "resources"
    folder.mkdir(parents=True)
    kept = ["a.wav", "a.wav.part", ".a.wav.part", "notes.part-ab"]
    for name in [*kept, ".a.wav.k3_9x0qz.part"]:
        (folder / name).write_bytes(b"x")
    transport = LocalProtocol("t", LocalDelivery(protocol="local", directory="outbox"), tmp_path)

    removed = transport.remove_temporary("N_1_2/resources")

    assert removed == ["N_1_2/resources/.a.wav.k3_9x0qz.part"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(kept)


# --- receipts: a locked read-modify-write ------------------------------------------------------

APPEND_RECEIPTS = """
import datetime as dt, sys
from pathlib import Path
from stardust_git.models.receipt import Delivery
from stardust_git.receipts import record_delivery

root, writer = Path(sys.argv[1]), int(sys.argv[2])
for index in range(int(sys.argv[3])):
    started = dt.datetime(2025, 3, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=writer * 1000 + index)
    delivery = Delivery(
        message_id=f"M-{writer}-{index}", action="initial", commit="a" * 40, format="ern/4.3",
        started=started, finished=started, attempts=1, status="success",
    )
    record_delivery(root, "1234567890128", "alpha", delivery)
"""


def test_processes_appending_to_one_receipt_lose_no_entry(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    writers, each = 4, 40
    command = [sys.executable, "-c", APPEND_RECEIPTS, str(repo.root)]
    running = [subprocess.Popen([*command, str(w), str(each)]) for w in range(writers)]
    assert [process.wait(timeout=RUN_SECONDS) for process in running] == [0] * writers

    receipt = read_receipt(repo.root, UPCS[0], "alpha")

    assert receipt is not None
    expected = {f"M-{w}-{i}" for w in range(writers) for i in range(each)}
    assert {d.message_id for d in receipt.history} == expected
    assert len(receipt.history) == writers * each


def test_a_merge_keeps_the_acknowledgements_of_both_sides() -> None:
    started = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    delivered = Delivery(
        message_id="M-1",
        action="initial",
        commit="a" * 40,
        format="ern/4.3",
        started=started,
        finished=started,
        attempts=1,
        status="success",
    )

    def acked(status: str, day: int) -> Receipt:
        ack = Acknowledgement(
            status=status, received_at=started + dt.timedelta(days=day), file=f"acks/{status}.xml"
        )
        with_ack = delivered.model_copy(update={"acknowledgements": [ack]})
        return Receipt(upc=UPCS[0], target="alpha", history=[with_ack])

    upstream, ours = acked("FileOK", 1), acked("ProcessedOK", 2)
    path = receipt_path(UPCS[0], "alpha")

    merged = merge_receipt_files(path, dump_receipt(upstream), dump_receipt(ours))

    assert merged is not None
    (only,) = parse_receipt(merged, path).history
    assert [ack.status for ack in only.acknowledgements] == ["FileOK", "ProcessedOK"]
