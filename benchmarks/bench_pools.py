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

Each run's CPU is also taken from the whole machine (``/proc/stat``): on loopback client and
server share the cores, so the machine CPU of a run over the cores is the least wall time it
can take. ``--rtt-ms 10`` puts ``latency_proxy.py`` in front of every server (a shop across a
network); its results go to ``results/pools-rtt-10ms.json``.

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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


def _sftp(stack: ExitStack, work: Path, front: Front) -> Server:
    server = stack.enter_context(run_sshd(_fresh(work, "sshd")))
    os.environ["TEST_SFTP_KEY"] = server.private_key_path.read_text()
    ours = server.data_dir / "ours"
    port = front(server.port, False)
    settings = sftp_settings(server, directory=str(ours), port=port).model_dump(mode="json")
    batch = work / "sftp-batch"
    known_hosts = work / "sftp-known-hosts"
    known_hosts.write_text(f"[{server.host}]:{port} {server.host_key}\n")

    def native(tree: Path) -> None:
        lines = ["-mkdir native"]
        for path in sorted(tree.rglob("*")):
            remote = f"native/{path.relative_to(tree).as_posix()}"
            lines.append(f"-mkdir {remote}" if path.is_dir() else f"put {path} {remote}")
        batch.write_text("\n".join(lines) + "\n")
        _run(
            [
                *("sftp", "-q", "-b", str(batch), "-i", str(server.private_key_path)),
                *("-o", f"UserKnownHostsFile={known_hosts}", "-o", "BatchMode=yes"),
                *("-P", str(port), f"{server.username}@{server.host}"),
            ]
        )

    clean = _emptier(server.data_dir)
    copy = _copier(ours)
    return Server("sftp", _compact(settings), native, "OpenSSH sftp -b", clean, copy)


def _ftp(stack: ExitStack, work: Path, front: Front) -> Server:
    server = stack.enter_context(run_ftp(_fresh(work, "ftp")))
    os.environ["TEST_FTP_PASSWORD"] = server.password
    port = front(server.port, True)
    settings = ftp_settings(server, directory="/ours", port=port).model_dump(mode="json")
    base = f"ftp://{server.host}:{port}/native"
    login = f"{server.username}:{server.password}"  # the test server's, not a secret

    def native(tree: Path) -> None:
        files = sorted(p for p in tree.rglob("*") if p.is_file())
        urls = [f"{base}/{p.relative_to(tree).as_posix()}" for p in files]
        _curl(work, files, urls, ["--ftp-create-dirs", "--user", login])

    clean = _emptier(server.root_dir)
    copy = _copier(server.root_dir / "ours")
    return Server("ftp", _compact(settings), native, "curl (one process)", clean, copy)


def _s3(stack: ExitStack, work: Path, front: Front) -> Server:
    server: S3Server = stack.enter_context(run_seaweedfs(_fresh(work, "s3")))
    endpoint = urlsplit(server.endpoint_url)
    proxied = f"{endpoint.scheme}://{endpoint.hostname}:{front(endpoint.port or 80, False)}"
    os.environ["BENCH_S3_KEY_ID"] = server.access_key_id
    os.environ["BENCH_S3_SECRET"] = server.secret_access_key
    bucket = server.new_bucket("pools")
    settings = S3Delivery(
        protocol="s3",
        bucket=bucket,
        prefix="ours/",
        region=server.region,
        endpoint_url=proxied,
        access_key_id="${BENCH_S3_KEY_ID}",
        secret_access_key="${BENCH_S3_SECRET}",
    ).model_dump(mode="json")
    client = server.client()
    signer = replace(server, endpoint_url=proxied).client()
    presigned: dict[Path, list[str]] = {}

    def sign(tree: Path) -> None:
        files = sorted(p for p in tree.rglob("*") if p.is_file())
        presigned[tree] = [
            signer.generate_presigned_url(
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


def machine_cpu_seconds() -> float:
    """CPU seconds every process on the machine has used since boot (/proc/stat: user, nice,
    system, irq, softirq, steal; not idle nor iowait). On a quiet machine the difference over a
    run is ours plus the server's: what two cores must fit into the run's wall time."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(fields[index]) for index in (0, 1, 2, 5, 6, 7))
    return busy / os.sysconf("SC_CLK_TCK")


@dataclass
class Timed:
    """One timed run: wall seconds, our processes' CPU seconds, every process's CPU seconds."""

    wall: float
    cpu: float
    machine_cpu: float


def deliver_seconds(root: Path, server: Server, *options: str) -> Timed:
    """One ``deliver --all`` to ``server`` from an empty server and no receipts: its wall
    time, the CPU seconds of its processes (it and its forked workers) and of the machine."""
    server.clean()
    shutil.rmtree(root / "receipts", ignore_errors=True)
    argv = ["stardust-git", "deliver", "--all", "--target", server.protocol, *options]
    return _timed(lambda: _run(argv, cwd=root))


def native_seconds(tree: Path, server: Server) -> Timed:
    server.clean()
    return _timed(lambda: server.native(tree))


def _timed(action: Callable[[], None]) -> Timed:
    """``action``'s wall time, its child processes' CPU and the whole machine's."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_before = machine_cpu_seconds()
    started = time.perf_counter()
    action()
    wall = time.perf_counter() - started
    machine = machine_cpu_seconds() - machine_before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return Timed(wall, cpu, machine)


def measure(root: Path, work: Path, server: Server, releases: int) -> dict[str, Any]:
    set_targets(root, [server], 4)
    runs = {"ours_4_connections": deliver_seconds(root, server)}
    os.environ["STARDUST_SEND_IN_WORKERS"] = "0"
    runs["ours_4_connections_threads"] = deliver_seconds(root, server)
    del os.environ["STARDUST_SEND_IN_WORKERS"]
    tree = work / f"{server.protocol}-delivered"
    server.delivered(tree)
    files = sum(1 for p in tree.rglob("*") if p.is_file())
    runs["native"] = native_seconds(tree, server)
    set_targets(root, [server], 1)
    runs["ours_1_connection"] = deliver_seconds(root, server)
    runs["ours_dry_run"] = deliver_seconds(root, server, "--dry-run")
    pooled, native = runs["ours_4_connections"], runs["native"]
    per_minute = {
        "ours_4_connections": releases * 60 / pooled.wall,
        "ours_1_connection": releases * 60 / runs["ours_1_connection"].wall,
        "native": releases * 60 / native.wall,
    }
    ratio = per_minute["ours_4_connections"] / per_minute["native"]
    cores = os.cpu_count() or 1
    return {
        "protocol": server.protocol,
        "native_tool": server.native_name,
        "files": files,
        "seconds": {name: round(run.wall, 2) for name, run in runs.items()},
        "cpu_seconds": {name: round(run.cpu, 2) for name, run in runs.items()},
        "machine_cpu_seconds": {name: round(run.machine_cpu, 2) for name, run in runs.items()},
        "cpu_note": (
            "cpu_seconds: ours (deliver and its workers) or the native tool; "
            "machine_cpu_seconds: every process (the server's too), from /proc/stat"
        ),
        "server_cpu_seconds": {
            name: round(run.machine_cpu - run.cpu, 2) for name, run in runs.items()
        },
        "fastest_possible_ratio": round(native.wall / (pooled.machine_cpu / cores), 3),
        "fastest_possible_note": (
            "native wall over the wall our run would take if its machine CPU (ours and the "
            f"server's) kept all {cores} cores busy all the time"
        ),
        "any_client_ceiling_ratio": round(
            native.wall / ((native.machine_cpu + runs["ours_dry_run"].cpu) / cores), 3
        ),
        "any_client_ceiling_note": (
            "the same for a client that sent as cheaply as the native tool (the native run's "
            "machine CPU, the server's included) and only added our dry run's CPU (plan, "
            "render, gate)"
        ),
        "dry_run_note": "deliver --dry-run: plan, render and gate without sending (the CPU part)",
        "releases_per_minute": {key: round(value, 1) for key, value in per_minute.items()},
        "ratio_4_connections_to_native": round(ratio, 3),
        "ratio_4_to_1_connection": round(runs["ours_1_connection"].wall / pooled.wall, 3),
        "met": ratio >= TARGET_RATIO,
    }


Front = Callable[[int, bool], int]
"""The port to reach a server's port through (its own without ``--rtt-ms``); True for FTP."""


def _fronts(stack: ExitStack, rtt_ms: float) -> Front:
    """Without a round trip, the servers' own ports; with one, a latency_proxy.py in front of
    each (stopped with the servers)."""

    def front(port: int, ftp: bool) -> int:
        if not rtt_ms:
            return port
        argv = [sys.executable, str(BENCH_DIR / "latency_proxy.py"), "--to", str(port)]
        argv += ["--one-way-ms", str(rtt_ms / 2), *(["--ftp"] if ftp else [])]
        proxy = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        stack.callback(proxy.wait, 10)
        stack.callback(proxy.terminate)
        assert proxy.stdout is not None
        return int(proxy.stdout.readline())

    return front


@contextmanager
def running(work: Path, only: list[str] | None, rtt_ms: float) -> Iterator[list[Server]]:
    makers = {"sftp": _sftp, "ftp": _ftp, "s3": _s3}
    with ExitStack() as stack:
        front = _fronts(stack, rtt_ms)
        yield [
            make(stack, work, front) for name, make in makers.items() if not only or name in only
        ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=1000)
    parser.add_argument("--only", nargs="*", help="protocols to run (default: sftp ftp s3)")
    parser.add_argument("--notes", default=os.environ.get("BENCH_NOTES", ""))
    parser.add_argument("--keep", type=Path, help="make the catalog here once and reuse it")
    parser.add_argument(
        "--rtt-ms",
        type=float,
        default=0.0,
        help="reach every server through latency_proxy.py with this round trip (results then "
        "go to results/pools-rtt-<ms>ms.json)",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    started = time.time()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-pools-") as temp:
        work = Path(temp)
        root = args.keep.resolve() if args.keep else work / "catalog"
        with running(work, args.only, args.rtt_ms) as servers:
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
        "round_trip_ms": args.rtt_ms,
        "round_trip_note": "0: loopback as it is; else through latency_proxy.py (each chunk held "
        "half the round trip each way; connection set-up not delayed)",
        "releases": args.releases,
        "tracks_per_release": TRACKS,
        "target_ratio": TARGET_RATIO,
        "results": results,
        "all_met": all(r["met"] for r in results),
    }
    results_file = (
        RESULTS.with_name(f"pools-rtt-{args.rtt_ms:g}ms.json") if args.rtt_ms else RESULTS
    )
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps(report, indent=2) + "\n")
    print(f"results: {results_file.relative_to(REPO_ROOT)}")
    return 0 if report["all_met"] else 1


def print_row(result: dict[str, Any]) -> None:
    rates = result["releases_per_minute"]
    mark = "ok" if result["met"] else "MISSED"
    print(
        f"{result['protocol']:<5} releases/min: 4 connections {rates['ours_4_connections']:.0f},"
        f" 1 connection {rates['ours_1_connection']:.0f}, {result['native_tool']}"
        f" {rates['native']:.0f}; {result['ratio_4_connections_to_native']:.2f}x"
        f" (>= {TARGET_RATIO}) [{mark}]; server CPU-s: ours"
        f" {result['server_cpu_seconds']['ours_4_connections']:.1f},"
        f" native {result['server_cpu_seconds']['native']:.1f};"
        f" fastest possible {result['fastest_possible_ratio']:.2f}x,"
        f" any client {result['any_client_ceiling_ratio']:.2f}x",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
