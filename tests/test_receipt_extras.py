"""What the DSP's side says about a delivery (an HTTP API's delivery id) lands in the receipt and
in ``status``; receipts of protocols that say nothing keep their bytes (no ``remote`` key).

The ids are read from the test API server's own record of what it received, matched to a
release by the message file it got, never from the transport under test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stardust_git.deliver import DeliverOptions, deliver
from stardust_git.receipts import dump_receipt, parse_receipt, read_receipt
from tests.gitrepo import TARGET_TEMPLATE, UPCS, make_catalog
from tests.servers import ApiServer
from tests.test_protocol_e2e import catalog_repository


def ids_by_upc(api: ApiServer) -> dict[str, str]:
    """UPC -> the id the server gave the delivery whose message is ``<UPC>.xml``."""
    found = {}
    for received in api.deliveries:
        [message] = [f for f in received.files if f.field == "message"]
        found[message.name.removesuffix(".xml")] = received.id
    return found


def status(root: Path, *arguments: str) -> str:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "stardust-git"), "status", *arguments],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_example_release_records_the_delivery_id_the_api_assigned(
    http_api_server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    root = tmp_path / "repo"
    root.mkdir()
    catalog_repository(root, {}, http_api_server, monkeypatch)

    options = DeliverOptions(all_=True, retry_wait=0.01, targets=["youtube", "local"])
    result = deliver(root, options)

    assert result.ok
    [(upc, server_id)] = ids_by_upc(http_api_server).items()
    receipt = read_receipt(root, upc, "youtube")
    last = receipt.last() if receipt else None
    assert last is not None and last.remote == {"api_delivery_id": server_id}

    rows = {(r["upc"], r["target"]): r for r in json.loads(status(root, "--format", "json"))}
    assert rows[(upc, "youtube")]["remote"] == {"api_delivery_id": server_id}
    assert rows[(upc, "local")]["remote"] == {}
    assert f"api_delivery_id: {server_id}" in status(root, upc)

    local_receipts = sorted((root / "receipts").glob("*/local.json"))
    assert local_receipts
    for path in local_receipts:
        text = path.read_bytes()
        assert b'"remote"' not in text  # nothing to say: the receipt keeps its old layout
        assert dump_receipt(parse_receipt(text, path.name)) == text


def test_each_release_in_one_run_keeps_its_own_delivery_id(
    http_api_server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("EXTRAS_API_TOKEN", http_api_server.credentials.token)
    repo = make_catalog(tmp_path)
    target = TARGET_TEMPLATE.format(version="4.3", name="dsp").split("delivery:")[0]
    target += (
        f"delivery:\n  protocol: api\n  url: {http_api_server.deliveries_url}\n"
        "  auth: {type: bearer, token: '${EXTRAS_API_TOKEN}'}\n"
    )
    repo.write("targets/dsp.yaml", target)
    for upc in UPCS[:3]:
        repo.add_release(upc, targets=("dsp",))
    repo.commit("Three releases for the API")

    result = deliver(repo.root, DeliverOptions(all_=True, retry_wait=0.01))

    assert result.ok
    server_ids = ids_by_upc(http_api_server)
    assert sorted(server_ids) == sorted(UPCS[:3]) and len(set(server_ids.values())) == 3
    for upc, server_id in server_ids.items():
        receipt = read_receipt(repo.root, upc, "dsp")
        last = receipt.last() if receipt else None
        assert last is not None and last.remote == {"api_delivery_id": server_id}
        text = (repo.root / "receipts" / upc / "dsp.json").read_text()
        assert http_api_server.credentials.token not in text
