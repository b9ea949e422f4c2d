"""Files are streamed, never read whole: a fresh process's memory while it sends a large file.

benchmarks/bench_protocols.py measures the issue's figure (a 1 GiB file under 150 MiB); this
test keeps the property with a smaller file, for every protocol, in every test run.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from stardust_git.models.target import ApiDelivery
from tests.servers import ApiServer
from tests.test_protocol_endpoints import FILE_PROTOCOLS, MIB, make_endpoint, md5_of, random_file

FILE_MIB = 192
PEAK_LIMIT_MIB = 150
GROWTH_LIMIT_MIB = 96  # well under the file's size: a whole-file read cannot hide under it

_UPLOADER = """
import hashlib, sys
from pathlib import Path
from pydantic import TypeAdapter
from stardust_git.models.target import Delivery
from stardust_git.protocols import open_transport

def vm(name):
    for line in open("/proc/self/status"):
        if line.startswith(name + ":"):
            return int(line.split()[1]) / 1024
settings = TypeAdapter(Delivery).validate_json(sys.argv[1])
with open_transport("dsp", settings, Path.cwd()) as transport:
    transport.connect()
    before = vm("VmRSS")
    transport.put_file(Path(sys.argv[2]), "big/resources/a.wav", sys.argv[3])
    transport.put_bytes(b"<m/>", "big/a.xml", hashlib.md5(b"<m/>").hexdigest())
print(before, vm("VmHWM"))
"""


def peak_and_growth(settings_json: str, source: Path, cwd: Path) -> tuple[float, float]:
    argv = [sys.executable, "-c", _UPLOADER, settings_json, str(source), md5_of(source)]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    before, peak = (float(value) for value in done.stdout.split()[-2:])
    return peak, peak - before


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return random_file(tmp_path_factory.mktemp("big") / "a.wav", FILE_MIB * MIB)


@pytest.mark.slow
@pytest.mark.parametrize("protocol", FILE_PROTOCOLS)
def test_sending_a_large_file_keeps_memory_flat(
    protocol: str,
    big_file: Path,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    endpoint = make_endpoint(protocol, request, tmp_path, monkeypatch)
    peak, growth = peak_and_growth(endpoint.settings.model_dump_json(), big_file, tmp_path)
    assert endpoint.read_remote("big/resources/a.wav") is not None
    assert growth < GROWTH_LIMIT_MIB and peak < PEAK_LIMIT_MIB, (peak, growth)


@pytest.mark.slow
def test_the_api_streams_its_multipart_body(
    big_file: Path, http_api_server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("MEMORY_API_TOKEN", http_api_server.token)
    settings = ApiDelivery(
        protocol="api",
        url=http_api_server.deliveries_url,
        auth={"type": "bearer", "token": "${MEMORY_API_TOKEN}"},  # type: ignore[arg-type]
    )
    peak, growth = peak_and_growth(settings.model_dump_json(), big_file, tmp_path)
    [delivery] = http_api_server.deliveries
    received = {f.name: f.md5 for f in delivery.files}
    assert received["resources/a.wav"] == md5_of(big_file)
    assert received["a.xml"] == hashlib.md5(b"<m/>").hexdigest()
    assert growth < GROWTH_LIMIT_MIB and peak < PEAK_LIMIT_MIB, (peak, growth)
