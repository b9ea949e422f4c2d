"""Many releases to one target: `stardust-git deliver` over a pool of connections against the
native tool sending the same files one after another in one batch, on loopback.

A catalog of ``--releases`` (1,000) releases of 12 small tracks each (1 s WAV) and a cover is
delivered, release by release, to each of the test servers: OpenSSH's sshd (SFTP), pyftpdlib
(FTP) and SeaweedFS (S3). Per protocol, each run starting from an empty server and no receipts:

- ours: ``stardust-git deliver --all --target <protocol>`` as a subprocess, wall time, with the
  target's ``connections`` at 4 (the default) and at 1 (what a target did before pools). This is
  the whole run: plan, render, gate (XSD, rules) and upload, receipts written. At 4 also with
  ``STARDUST_SEND_IN_WORKERS=0`` (lanes as threads of one process, workers only preparing).
- the same run with ``--dry-run`` (plan, render, gate; nothing sent): the part that is not
  uploading, for reading the numbers.
- native: the files the first run put on the server (the same tree, byte for byte), sent by the
  native tool in one process, one file after another: OpenSSH ``sftp -b`` (a mkdir per folder,
  a put per file), ``curl`` with one ``upload-file``/``url`` pair per file in a config file
  (``--ftp-create-dirs``, one connection), and for S3 the same ``curl`` config over presigned PUT
  URLs (made before the clock starts).

Before any run is timed, ``validate`` measures the new media's audio QC once (as the pull
request's check did), so every timed run finds the same warm media cache.

Reported: releases per minute of each, and ours (4 connections) over native; target >= 1.5x.
Results: ``results/pools.json``. Run small while the machine is shared (``--releases 50``).

Writing 12,000 WAVs and measuring their audio QC is most of a cold run at 1,000 releases: with
``--keep DIR`` the catalog (a git repository with its media cache) is made in DIR once and reused
by later runs with the same ``--releases`` and ``--only`` (the servers are fresh every run):

    benchmarks/bench_pools.py --releases 1000 --keep /var/tmp/bench-pools-1000

The first run writes the catalog and measures its QC (untimed), later ones go straight to the
timed runs. CPU seconds are ours (the deliver process and its forked workers), not the server's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(REPO_ROOT))  # for tests.servers, the test servers' launchers

from bench_protocols import _emptier, _fresh  # noqa: E402

from stardust_git.models.target import S3Delivery  # noqa: E402
from tests.gitrepo import GIT_ENV  # noqa: E402
from tests.media import write_jpeg, write_wav  # noqa: E402
from tests.servers import S3Server, run_ftp, run_seaweedfs, run_sshd  # noqa: E402
from tests.test_protocol_endpoints import ftp_settings, sftp_settings  # noqa: E402

RESULTS = BENCH_DIR / "results" / "pools.json"
TARGET_RATIO = 1.5
TRACKS = 12
GENRES = REPO_ROOT / "genre-maps" / "genres.yaml"


@dataclass
class Server:
    """A running server: our target settings for it, where our files land, how to empty it, and
    the native tool's upload of a local tree."""

    protocol: str
    settings: dict[str, Any]
    native: Callable[[Path], None]
    native_name: str
    clean: Callable[[], None]
    delivered: Callable[[Path], None]
    """Copy what our run put on the server into a local folder (the native tool's input)."""


# -- the catalog ----------------------------------------------------------------------------


def gtin(number: int) -> str:
    body = f"50{number:010d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str(-total % 10)


def release_yaml(upc: str, index: int, targets: list[str]) -> str:
    tracks = "".join(
        f"  - isrc: USRC1{index % 100000:05d}{number:02d}\n"
        f"    title: Track {number}\n"
        "    duration: 1\n"
        f"    audio: assets/{upc}/{number:02d}.wav\n"
        for number in range(1, TRACKS + 1)
    )
    return (
        f'upc: "{upc}"\ntitle: Release {index}\n'
        "artists:\n  - {name: Bench Band, role: MainArtist}\n"
        "label: Bench Records\nrelease_date: 2024-07-01\ngenre: ELECTRONIC\nlanguage: en\n"
        "p_line: {year: 2024, owner: Bench Records}\nc_line: {year: 2024, owner: Bench Records}\n"
        f"parental_warning: NotExplicit\ncover: assets/{upc}/cover.jpg\ntracks:\n{tracks}"
        "deals:\n  - territories: [Worldwide]\n    commercial_models: [SubscriptionModel]\n"
        "    use_types: [OnDemandStream]\n    start_date: 2024-07-01\n"
        f"targets: [{', '.join(targets)}]\n"
    )


def target_yaml(settings: dict[str, Any]) -> str:
    head = (
        "format: ern\nern_version: '4.3'\n"
        "sender: {party_id: PADPIDA2025110101D, name: Bench Records}\n"
        "recipient: {party_id: PADPIDA2025110102B, name: DSP}\n"
        "message_control_type: TestMessage\n"
    )
    return head + yaml.safe_dump({"delivery": settings}, sort_keys=False)


def git(root: Path, *args: str) -> None:
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def write_catalog(root: Path, releases: int, targets: list[str]) -> None:
    """``releases`` releases of 12 one-second tracks for every target: each track its own
    recording (the duplicate-recordings check refuses one recording under two ISRCs), the
    cover copied from one."""
    cover = root / "media" / "cover.jpg"
    write_jpeg(cover, size=1400, seed=1)
    for index in range(releases):
        upc = gtin(100000 + index)
        folder = root / "assets" / upc
        shutil.copytree(cover.parent, folder)
        for number in range(1, TRACKS + 1):
            seed = index * TRACKS + number
            write_wav(folder / f"{number:02d}.wav", seconds=1.0, rate=8000, seed=seed)
        path = root / "catalog" / f"{upc}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(release_yaml(upc, index, targets))
    shutil.rmtree(cover.parent)
    (root / "genre-maps").mkdir()
    shutil.copy(GENRES, root / "genre-maps" / "genres.yaml")


def prepared_catalog(root: Path, releases: int, servers: list[Server]) -> None:
    """The catalog at ``root``: kept from an earlier run of the same size, or written now and
    its audio QC measured once (as the pull request's validate did), untimed."""
    marker = root / ".bench-pools"
    protocols = [server.protocol for server in servers]
    made_for = f"{releases} releases for {' '.join(protocols)}"
    if marker.is_file() and marker.read_text().strip() == made_for:
        set_targets(root, servers, 4)
        return
    if root.exists() and any(root.iterdir()) and not marker.is_file():
        raise SystemExit(f"{root} is not empty and holds no catalog of this benchmark")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    git(root, "init", "--quiet", "--initial-branch=main")
    write_catalog(root, releases, protocols)
    (root / ".gitignore").write_text(".stardust-cache/\n.bench-pools\n")
    set_targets(root, servers, 4)
    _run(["stardust-git", "validate", "--no-render"], cwd=root)
    marker.write_text(f"{made_for}\n")


def set_targets(root: Path, servers: list[Server], connections: int) -> None:
    (root / "targets").mkdir(exist_ok=True)
    for server in servers:
        settings = server.settings | {"connections": connections}
        (root / "targets" / f"{server.protocol}.yaml").write_text(target_yaml(settings))
    git(root, "add", "-A")
    git(root, "commit", "--quiet", "--allow-empty", "-m", f"connections: {connections}")


# -- the servers ----------------------------------------------------------------------------


def _sftp(stack: ExitStack, work: Path) -> Server:
    server = stack.enter_context(run_sshd(_fresh(work, "sshd")))
    os.environ["TEST_SFTP_KEY"] = server.private_key_path.read_text()
    ours = server.data_dir / "ours"
    settings = sftp_settings(server, directory=str(ours)).model_dump(mode="json")
    batch = work / "sftp-batch"

    def native(tree: Path) -> None:
        lines = ["-mkdir native"]
        for path in sorted(tree.rglob("*")):
            remote = f"native/{path.relative_to(tree).as_posix()}"
            lines.append(f"-mkdir {remote}" if path.is_dir() else f"put {path} {remote}")
        batch.write_text("\n".join(lines) + "\n")
        _run(
            [
                *("sftp", "-q", "-b", str(batch), "-i", str(server.private_key_path)),
                *("-o", f"UserKnownHostsFile={server.known_hosts_path}", "-o", "BatchMode=yes"),
                *("-P", str(server.port), f"{server.username}@{server.host}"),
            ]
        )

    clean = _emptier(server.data_dir)
    copy = _copier(ours)
    return Server("sftp", _compact(settings), native, "OpenSSH sftp -b", clean, copy)


def _ftp(stack: ExitStack, work: Path) -> Server:
    server = stack.enter_context(run_ftp(_fresh(work, "ftp")))
    os.environ["TEST_FTP_PASSWORD"] = server.password
    settings = ftp_settings(server, directory="/ours").model_dump(mode="json")
    base = f"ftp://{server.host}:{server.port}/native"
    login = f"{server.username}:{server.password}"  # the test server's, not a secret

    def native(tree: Path) -> None:
        files = sorted(p for p in tree.rglob("*") if p.is_file())
        urls = [f"{base}/{p.relative_to(tree).as_posix()}" for p in files]
        _curl(work, files, urls, ["--ftp-create-dirs", "--user", login])

    clean = _emptier(server.root_dir)
    copy = _copier(server.root_dir / "ours")
    return Server("ftp", _compact(settings), native, "curl (one process)", clean, copy)


def _s3(stack: ExitStack, work: Path) -> Server:
    server: S3Server = stack.enter_context(run_seaweedfs(_fresh(work, "s3")))
    os.environ["BENCH_S3_KEY_ID"] = server.access_key_id
    os.environ["BENCH_S3_SECRET"] = server.secret_access_key
    bucket = server.new_bucket("pools")
    settings = S3Delivery(
        protocol="s3",
        bucket=bucket,
        prefix="ours/",
        region=server.region,
        endpoint_url=server.endpoint_url,
        access_key_id="${BENCH_S3_KEY_ID}",
        secret_access_key="${BENCH_S3_SECRET}",
    ).model_dump(mode="json")
    client = server.client()
    presigned: dict[Path, list[str]] = {}

    def sign(tree: Path) -> None:
        files = sorted(p for p in tree.rglob("*") if p.is_file())
        presigned[tree] = [
            client.generate_presigned_url(
                "put_object",
                Params={"Bucket": bucket, "Key": f"native/{p.relative_to(tree).as_posix()}"},
                ExpiresIn=3600,
            )
            for p in files
        ]

    def native(tree: Path) -> None:
        files = sorted(p for p in tree.rglob("*") if p.is_file())
        _curl(work, files, presigned[tree], [])

    def clean() -> None:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for page in pages:
            for item in page.get("Contents", []):
                client.delete_object(Bucket=bucket, Key=item["Key"])

    def copy(local: Path) -> None:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="ours/")
        for page in pages:
            for item in page.get("Contents", []):
                path = local / item["Key"].removeprefix("ours/")
                path.parent.mkdir(parents=True, exist_ok=True)
                body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                path.write_bytes(body)
        sign(local)

    return Server("s3", _compact(settings), native, "curl over presigned PUT URLs", clean, copy)


def _curl(work: Path, files: list[Path], urls: list[str], options: list[str]) -> None:
    """One curl process sending ``files`` to ``urls`` one after another (one connection)."""
    config = work / "curl.config"
    pairs = [f'upload-file = "{f}"\nurl = "{u}"\n' for f, u in zip(files, urls, strict=True)]
    config.write_text("".join(pairs))
    _run(["curl", "-sS", "--fail", "-K", str(config), *options])


def _compact(settings: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in settings.items() if value is not None}


def _copier(folder: Path) -> Callable[[Path], None]:
    def copy(local: Path) -> None:
        shutil.copytree(folder, local)

    return copy


def _run(argv: list[str], cwd: Path | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=cwd)
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


# -- measuring ------------------------------------------------------------------------------


def deliver_seconds(root: Path, server: Server, *options: str) -> tuple[float, float]:
    """One ``deliver --all`` to ``server`` from an empty server and no receipts: its wall
    time and the CPU seconds of its processes (it and its forked workers; not the server's)."""
    server.clean()
    shutil.rmtree(root / "receipts", ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    _run(["stardust-git", "deliver", "--all", "--target", server.protocol, *options], cwd=root)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def native_seconds(tree: Path, server: Server) -> float:
    server.clean()
    started = time.perf_counter()
    server.native(tree)
    return time.perf_counter() - started


def measure(root: Path, work: Path, server: Server, releases: int) -> dict[str, Any]:
    set_targets(root, [server], 4)
    pooled, pooled_cpu = deliver_seconds(root, server)
    os.environ["STARDUST_SEND_IN_WORKERS"] = "0"
    threads, threads_cpu = deliver_seconds(root, server)
    del os.environ["STARDUST_SEND_IN_WORKERS"]
    tree = work / f"{server.protocol}-delivered"
    server.delivered(tree)
    files = sum(1 for p in tree.rglob("*") if p.is_file())
    native = native_seconds(tree, server)
    set_targets(root, [server], 1)
    single, single_cpu = deliver_seconds(root, server)
    rendering, rendering_cpu = deliver_seconds(root, server, "--dry-run")
    per_minute = {
        "ours_4_connections": releases * 60 / pooled,
        "ours_1_connection": releases * 60 / single,
        "native": releases * 60 / native,
    }
    ratio = per_minute["ours_4_connections"] / per_minute["native"]
    return {
        "protocol": server.protocol,
        "native_tool": server.native_name,
        "files": files,
        "seconds": {
            "ours_4_connections": pooled,
            "ours_4_connections_threads": threads,
            "ours_1_connection": single,
            "native": native,
            "ours_dry_run": rendering,
        },
        "cpu_seconds": {
            "ours_4_connections": round(pooled_cpu, 2),
            "ours_4_connections_threads": round(threads_cpu, 2),
            "ours_1_connection": round(single_cpu, 2),
            "ours_dry_run": round(rendering_cpu, 2),
        },
        "dry_run_note": "deliver --dry-run: plan, render and gate without sending (the CPU part)",
        "releases_per_minute": {key: round(value, 1) for key, value in per_minute.items()},
        "ratio_4_connections_to_native": round(ratio, 3),
        "ratio_4_to_1_connection": round(single / pooled, 3),
        "met": ratio >= TARGET_RATIO,
    }


@contextmanager
def running(work: Path, only: list[str] | None) -> Iterator[list[Server]]:
    makers = {"sftp": _sftp, "ftp": _ftp, "s3": _s3}
    with ExitStack() as stack:
        yield [make(stack, work) for name, make in makers.items() if not only or name in only]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1000)
    parser.add_argument("--only", nargs="*", help="protocols to run (default: sftp ftp s3)")
    parser.add_argument("--notes", default=os.environ.get("BENCH_NOTES", ""))
    parser.add_argument("--keep", type=Path, help="make the catalog here once and reuse it")
    args = parser.parse_args()
    load_before = os.getloadavg()
    started = time.time()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-pools-") as temp:
        work = Path(temp)
        root = args.keep.resolve() if args.keep else work / "catalog"
        with running(work, args.only) as servers:
            prepared_catalog(root, args.releases, servers)
            for server in servers:
                results.append(measure(root, work, server, args.releases))
                print_row(results[-1])
    report = {
        "benchmark": "pools",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "notes": args.notes,
        "releases": args.releases,
        "tracks_per_release": TRACKS,
        "target_ratio": TARGET_RATIO,
        "results": results,
        "all_met": all(r["met"] for r in results),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {RESULTS.relative_to(REPO_ROOT)}")
    return 0 if report["all_met"] else 1


def print_row(result: dict[str, Any]) -> None:
    rates = result["releases_per_minute"]
    mark = "ok" if result["met"] else "MISSED"
    print(
        f"{result['protocol']:<5} releases/min: 4 connections {rates['ours_4_connections']:.0f},"
        f" 1 connection {rates['ours_1_connection']:.0f}, {result['native_tool']}"
        f" {rates['native']:.0f}; {result['ratio_4_connections_to_native']:.2f}x"
        f" (>= {TARGET_RATIO}) [{mark}]",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
