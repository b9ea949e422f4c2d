"""``stardust-git target test NAME`` against the real servers: a verdict per step."""

from __future__ import annotations

from pathlib import Path

import pytest

from stardust_git.commands.target import run_target_test, target_test_command
from stardust_git.errors import UserError
from tests.servers import ApiServer, AzureServer
from tests.servers._process import free_port
from tests.test_protocol_endpoints import Endpoint, file_endpoint_fixture, write_target

STEPS = ["connect", "authenticate", "write", "list", "delete"]

endpoint = file_endpoint_fixture()


def verdicts(root: Path, name: str) -> list[tuple[str, bool | None]]:
    return [(result.step, result.ok) for result in run_target_test(root, name)]


def test_every_step_passes_and_the_probe_is_gone_afterwards(
    endpoint: Endpoint, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    write_target(tmp_path, "shop", endpoint.settings.model_dump(mode="json", exclude_none=True))
    code = target_test_command(tmp_path, "shop")
    output = capsys.readouterr()
    assert code == 0, output
    lines = [line.split() for line in output.out.splitlines()[:-1]]
    assert [(words[0], words[1]) for words in lines] == [(step, "ok") for step in STEPS]
    assert "verdict: ok" in output.out
    assert endpoint.names_remote() == []
    assert all(secret not in output.out + output.err for secret in endpoint.env.values())


def test_refused_credentials_fail_authenticate_and_skip_the_rest(
    endpoint: Endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    delivery = endpoint.settings.model_dump(mode="json", exclude_none=True)
    secret_field = {
        "sftp": "private_key",
        "ftp": "password",
        "ftps": "password",
        "s3": "secret_access_key",
        "azure": "account_key",
    }[endpoint.protocol]
    if endpoint.protocol == "sftp":
        from tests.test_protocol_endpoints import other_private_key

        monkeypatch.setenv("WRONG_SECRET", other_private_key())
    else:
        monkeypatch.setenv("WRONG_SECRET", "A" * 86 + "==")
    write_target(tmp_path, "shop", delivery | {secret_field: "${WRONG_SECRET}"})
    assert verdicts(tmp_path, "shop") == [
        ("connect", True),
        ("authenticate", False),
        ("write", None),
        ("list", None),
        ("delete", None),
    ]
    assert endpoint.names_remote() == []


def test_an_unreachable_host_fails_connect(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    port = free_port()
    delivery = {
        "protocol": "ftp",
        "host": "127.0.0.1",
        "port": port,
        "username": "u",
        "password": "${NOT_NEEDED}",
    }
    write_target(tmp_path, "gone", delivery)
    assert target_test_command(tmp_path, "gone") == 1
    output = capsys.readouterr()
    assert f"127.0.0.1:{port}" in output.out
    assert "verdict: FAILED at connect" in output.err


def test_an_api_target_posts_the_probe_and_skips_list_and_delete(
    http_api_server: ApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("SHOP_API_TOKEN", http_api_server.token)
    delivery = {
        "protocol": "api",
        "url": http_api_server.deliveries_url,
        "auth": {"type": "bearer", "token": "${SHOP_API_TOKEN}"},
    }
    write_target(tmp_path, "api-shop", delivery)
    assert verdicts(tmp_path, "api-shop") == [
        ("connect", True),
        ("authenticate", True),
        ("write", True),
        ("list", None),
        ("delete", None),
    ]
    [received] = http_api_server.deliveries
    assert received.files[0].name.startswith("stardust-probe-")


def test_a_local_target_needs_no_connection(tmp_path: Path):
    write_target(tmp_path, "outbox", {"protocol": "local", "directory": "outbox"})
    assert verdicts(tmp_path, "outbox") == [
        ("connect", None),
        ("authenticate", True),
        ("write", True),
        ("list", True),
        ("delete", True),
    ]
    assert list((tmp_path / "outbox").iterdir()) == []


def test_an_unknown_target_names_the_known_ones(tmp_path: Path):
    write_target(tmp_path, "outbox", {"protocol": "local", "directory": "outbox"})
    with pytest.raises(UserError, match=r"no target named 'nope' .*known: outbox"):
        run_target_test(tmp_path, "nope")


def test_an_invalid_target_file_reports_its_problems(tmp_path: Path):
    write_target(tmp_path, "broken", {"protocol": "sftp", "host": "h", "username": "u"})
    with pytest.raises(UserError) as invalid:
        run_target_test(tmp_path, "broken")
    assert invalid.value.message == "targets/broken.yaml is not valid"
    assert invalid.value.diagnostics


def test_an_azure_connection_string_names_its_endpoint_and_never_shows_its_key(
    azurite_server: AzureServer,
    azure_container: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("SHOP_AZURE", azurite_server.connection_string)
    delivery = {
        "protocol": "azure",
        "container": azure_container,
        "connection_string": "${SHOP_AZURE}",
    }
    write_target(tmp_path, "blob-shop", delivery)
    results = run_target_test(tmp_path, "blob-shop")
    assert [(r.step, r.ok) for r in results] == [(step, True) for step in STEPS]
    port = azurite_server.account_url.split(":")[2].split("/")[0]
    assert results[0].detail == f"127.0.0.1:{port} reachable"
    assert all(azurite_server.account_key not in r.detail for r in results)
