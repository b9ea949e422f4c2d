"""Benchmark: our delivery protocols against the native tools, on loopback (issue 6 "Must show").

In one run, with the real test servers of tests/servers (sshd, pyftpdlib, SeaweedFS, Azurite,
the HTTP API), each comparison uploads the same file (200 MiB by default) ``--runs`` times per
side after one unmeasured warm-up each (first connections, caches), the two sides alternating,
and compares the medians of wall-clock time (connect, log in, upload, close):

- our SFTP against OpenSSH's ``sftp -b`` (target: at least 1.3x as fast)
- our FTP and FTPS against ``curl -T`` (at least 0.95x)
- our S3 against a plain streamed PUT of the file to a presigned URL (at least 0.8x)
- our Azure upload against the SDK's single-call upload with concurrency 4 (at least 0.95x)

Then, for every protocol, a fresh process delivers a 1 GiB file and reports its peak resident
memory (VmHWM; target: under 150 MiB). Results go to benchmarks/results/protocols.json.

    python benchmarks/bench_protocols.py [--size-mib 200] [--runs 5] [--rss-mib 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from azure.storage.blob import BlobServiceClient

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(REPO_ROOT))  # for tests.servers, the test servers' launchers

from stardust_git.models.target import ApiDelivery, AzureDelivery, S3Delivery  # noqa: E402
from stardust_git.protocols import open_transport  # noqa: E402
from tests.servers import (  # noqa: E402
    AzureServer,
    FtpServer,
    S3Server,
    SftpServer,
    run_api,
    run_azurite,
    run_ftp,
    run_seaweedfs,
    run_sshd,
)
from tests.test_protocol_endpoints import (  # noqa: E402
    ftp_settings,
    md5_of,
    random_file,
    sftp_settings,
)

RESULTS = BENCH_DIR / "results" / "protocols.json"
MIB = 1 << 20
RSS_LIMIT_MIB = 150.0
TARGETS = {"sftp": 1.3, "ftp": 0.95, "ftps": 0.95, "s3": 0.8, "azure": 0.95}
_REMOTE_NAME = "bench.bin"


@dataclass
class Comparison:
    protocol: str
    ours: str
    theirs: str
    target_ratio: float
    ours_seconds: list[float] = field(default_factory=list)
    theirs_seconds: list[float] = field(default_factory=list)
    size_mib: float = 0.0

    @property
    def ours_mib_s(self) -> float:
        return self.size_mib / statistics.median(self.ours_seconds)

    @property
    def theirs_mib_s(self) -> float:
        return self.size_mib / statistics.median(self.theirs_seconds)

    @property
    def ratio(self) -> float:
        return self.ours_mib_s / self.theirs_mib_s

    @property
    def met(self) -> bool:
        return self.ratio >= self.target_ratio

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data |= {
            "ours_mib_s": round(self.ours_mib_s, 1),
            "theirs_mib_s": round(self.theirs_mib_s, 1),
            "ratio": round(self.ratio, 3),
            "met": self.met,
        }
        return data


@dataclass
class MemoryResult:
    protocol: str
    file_mib: float
    peak_rss_mib: float
    rss_before_upload_mib: float
    seconds: float

    @property
    def met(self) -> bool:
        return self.peak_rss_mib < RSS_LIMIT_MIB

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"limit_mib": RSS_LIMIT_MIB, "met": self.met}


# -- a setting per server -------------------------------------------------------------------


@dataclass
class Side:
    """One protocol's server, with our target settings for it and the native tool's upload."""

    protocol: str
    settings: Any
    native: Callable[[Path], None]
    clean: Callable[[], None]
    native_name: str
    env: dict[str, str] = field(default_factory=dict)


def _sftp_side(server: SftpServer, work: Path) -> Side:
    settings = sftp_settings(server, directory=str(server.data_dir))
    batch = work / "sftp-batch"

    def native(source: Path) -> None:
        batch.write_text(f"put {source} native-{_REMOTE_NAME}\n")
        _run(
            [
                *("sftp", "-q", "-b", str(batch), "-i", str(server.private_key_path)),
                *("-o", f"UserKnownHostsFile={server.known_hosts_path}", "-o", "BatchMode=yes"),
                *("-P", str(server.port), f"{server.username}@{server.host}"),
            ]
        )

    env = {"TEST_SFTP_KEY": server.private_key_path.read_text()}
    return Side("sftp", settings, native, _emptier(server.data_dir), "OpenSSH sftp -b", env)


def _ftp_side(server: FtpServer, work: Path) -> Side:
    settings = ftp_settings(server, directory="/")
    tls_options = ["--ssl-reqd", "--cacert", str(server.ca_file)] if server.tls else []
    url = f"ftp://{server.host}:{server.port}/native-{_REMOTE_NAME}"

    def native(source: Path) -> None:
        _run(
            [
                *("curl", "-sS", "-T", str(source), url),
                *("--user", f"{server.username}:{server.password}", *tls_options),
            ]
        )

    env = {"TEST_FTP_PASSWORD": server.password}
    return Side(settings.protocol, settings, native, _emptier(server.root_dir), "curl -T", env)


def _s3_side(server: S3Server, work: Path) -> Side:
    bucket = server.new_bucket("bench")
    settings = S3Delivery(
        protocol="s3",
        bucket=bucket,
        region=server.region,
        endpoint_url=server.endpoint_url,
        access_key_id="${BENCH_S3_KEY_ID}",
        secret_access_key="${BENCH_S3_SECRET}",
    )
    client = server.client()

    def native(source: Path) -> None:
        url = client.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": f"native-{_REMOTE_NAME}"}, ExpiresIn=600
        )
        with source.open("rb") as body:
            headers = {"Content-Length": str(source.stat().st_size)}
            httpx.put(url, content=body, headers=headers, timeout=600).raise_for_status()

    def clean() -> None:
        for key in (_REMOTE_NAME, f"native-{_REMOTE_NAME}"):
            client.delete_object(Bucket=bucket, Key=key)

    env = {"BENCH_S3_KEY_ID": server.access_key_id, "BENCH_S3_SECRET": server.secret_access_key}
    return Side("s3", settings, native, clean, "streamed PUT to a presigned URL", env)


def _azure_side(server: AzureServer, work: Path) -> Side:
    container = server.new_container("bench")
    settings = AzureDelivery(
        protocol="azure", container=container, connection_string="${BENCH_AZURE_CONNECTION}"
    )
    blobs = BlobServiceClient.from_connection_string(server.connection_string)
    container_client = blobs.get_container_client(container)

    def native(source: Path) -> None:
        client = BlobServiceClient.from_connection_string(server.connection_string)
        blob = client.get_blob_client(container, f"native-{_REMOTE_NAME}")
        with source.open("rb") as body:
            blob.upload_blob(body, length=source.stat().st_size, overwrite=True, max_concurrency=4)
        client.close()

    def clean() -> None:
        for blob in container_client.list_blobs():
            container_client.delete_blob(blob.name)

    env = {"BENCH_AZURE_CONNECTION": server.connection_string}
    return Side("azure", settings, native, clean, "SDK upload_blob, concurrency 4", env)


def _emptier(folder: Path) -> Callable[[], None]:
    def clean() -> None:
        for path in folder.iterdir():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()

    return clean


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({done.returncode}): {done.stderr.strip()}")


# -- measuring ------------------------------------------------------------------------------


def _ours(side: Side, source: Path, md5: str, root: Path) -> None:
    with open_transport("bench", side.settings, root) as transport:
        transport.put_file(source, _REMOTE_NAME, md5)


def compare(side: Side, source: Path, md5: str, runs: int, root: Path) -> Comparison:
    result = Comparison(
        side.protocol,
        f"stardust-git {side.protocol}",
        side.native_name,
        TARGETS[side.protocol],
        size_mib=source.stat().st_size / MIB,
    )
    order = [
        ("ours", lambda: _ours(side, source, md5, root)),
        ("theirs", lambda: side.native(source)),
    ]
    for _, upload in order:  # one unmeasured warm-up each: first connections, caches, imports
        side.clean()
        upload()
    for run in range(runs):
        for which, upload in order if run % 2 == 0 else order[::-1]:
            side.clean()
            started = time.perf_counter()
            upload()
            elapsed = time.perf_counter() - started
            (result.ours_seconds if which == "ours" else result.theirs_seconds).append(elapsed)
        side.clean()
    return result


_UPLOADER = """
import hashlib, sys, time
from pathlib import Path
from pydantic import TypeAdapter
from stardust_git.models.target import Delivery
from stardust_git.protocols import open_transport

def vm(name):
    for line in open("/proc/self/status"):
        if line.startswith(name + ":"):
            return int(line.split()[1]) / 1024
settings = TypeAdapter(Delivery).validate_json(sys.argv[1])
transport = open_transport("bench", settings, Path.cwd())
transport.connect()
before = vm("VmRSS")
started = time.perf_counter()
transport.put_file(Path(sys.argv[2]), sys.argv[3], sys.argv[4])
if settings.protocol == "api":  # an api target sends the files with their message
    transport.put_bytes(b"<m/>", "bench/m.xml", hashlib.md5(b"<m/>").hexdigest())
seconds = time.perf_counter() - started
transport.close()
print(before, vm("VmHWM"), seconds)
"""


def peak_memory(side: Side, source: Path, md5: str, root: Path) -> MemoryResult:
    remote = _REMOTE_NAME if side.protocol != "api" else f"bench/{_REMOTE_NAME}"
    argv = [sys.executable, "-c", _UPLOADER, side.settings.model_dump_json(), str(source), remote]
    done = subprocess.run([*argv, md5], capture_output=True, text=True, cwd=root, check=False)
    side.clean()
    if done.returncode != 0:
        raise SystemExit(f"{side.protocol}: the 1 GiB upload failed:\n{done.stderr[-2000:]}")
    before, peak, seconds = (float(value) for value in done.stdout.split()[-3:])
    return MemoryResult(side.protocol, source.stat().st_size / MIB, peak, before, seconds)


@contextmanager
def servers(work: Path) -> Iterator[list[Side]]:
    """Every server running, as Sides in the order of the report; the API last."""
    with ExitStack() as stack:
        sides = [
            _sftp_side(stack.enter_context(run_sshd(_fresh(work, "sshd"))), work),
            _ftp_side(stack.enter_context(run_ftp(_fresh(work, "ftp"))), work),
            _ftp_side(stack.enter_context(run_ftp(_fresh(work, "ftps"), tls=True)), work),
            _s3_side(stack.enter_context(run_seaweedfs(_fresh(work, "s3"))), work),
            _azure_side(stack.enter_context(run_azurite(_fresh(work, "azure"))), work),
        ]
        api = stack.enter_context(run_api(_fresh(work, "api")))
        api_settings = ApiDelivery(
            protocol="api",
            url=api.deliveries_url,
            auth={"type": "bearer", "token": "${BENCH_API_TOKEN}"},
        )
        received = api.received_dir
        sides.append(
            Side(
                "api",
                api_settings,
                lambda _s: None,
                _emptier(received),
                "",
                {"BENCH_API_TOKEN": api.token},
            )
        )
        for side in sides:
            os.environ.update(side.env)
        yield sides


def _fresh(work: Path, name: str) -> Path:
    folder = work / name
    folder.mkdir()
    return folder


# -- reporting ------------------------------------------------------------------------------


def print_table(comparisons: list[Comparison], memory: list[MemoryResult]) -> None:
    header = ("protocol", "ours MiB/s", "native MiB/s", "ratio", "target")
    print("\n{:<8} {:>10} {:>12} {:>6} {:>7}  native".format(*header))
    for c in comparisons:
        mark = "ok" if c.met else "MISSED"
        print(
            f"{c.protocol:<8} {c.ours_mib_s:>10.0f} {c.theirs_mib_s:>12.0f} {c.ratio:>6.2f}"
            f" {'>=' + str(c.target_ratio):>7}  {c.theirs}  [{mark}]"
        )
    header = ("protocol", "file MiB", "peak RSS MiB", "before upload", "MiB/s")
    print("\n{:<8} {:>8} {:>12} {:>13} {:>6}".format(*header))
    for m in memory:
        mark = "ok" if m.met else "MISSED"
        print(
            f"{m.protocol:<8} {m.file_mib:>8.0f} {m.peak_rss_mib:>12.1f}"
            f" {m.rss_before_upload_mib:>13.1f} {m.file_mib / m.seconds:>6.0f}"
            f"  (< {RSS_LIMIT_MIB:.0f}) [{mark}]"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rss-mib", type=int, default=1024)
    parser.add_argument("--only", nargs="*", help="protocols to run (default: all)")
    args, _ = parser.parse_known_args()
    started = time.time()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-protocols-") as temp:
        work = Path(temp)
        source = random_file(work / "payload.bin", args.size_mib * MIB)
        big = random_file(work / "payload-1g.bin", args.rss_mib * MIB)
        md5, big_md5 = md5_of(source), md5_of(big)
        comparisons: list[Comparison] = []
        memory: list[MemoryResult] = []
        with servers(work) as sides:
            chosen = [s for s in sides if not args.only or s.protocol in args.only]
            for side in chosen:
                if side.protocol in TARGETS:
                    comparisons.append(compare(side, source, md5, args.runs, work))
                    print(f"{side.protocol}: {comparisons[-1].ratio:.2f}x", flush=True)
            for side in chosen:
                memory.append(peak_memory(side, big, big_md5, work))
                print(f"{side.protocol}: peak RSS {memory[-1].peak_rss_mib:.0f} MiB", flush=True)
    report = {
        "benchmark": "protocols",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before,
        },
        "size_mib": args.size_mib,
        "runs": args.runs,
        "comparisons": [c.as_dict() for c in comparisons],
        "peak_memory": [m.as_dict() for m in memory],
        "all_met": all(c.met for c in comparisons) and all(m.met for m in memory),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print_table(comparisons, memory)
    print(f"\nresults: {RESULTS.relative_to(REPO_ROOT)}")
    return 0 if report["all_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
