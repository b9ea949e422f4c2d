"""``stardust-git target secrets``: the secrets the targets reference; and
``stardust-git target test NAME``: connect, authenticate, write, list and delete a probe file.

Each step gets a verdict; after a failed step the rest are skipped. "connect" opens a plain TCP
connection to the endpoint (so an unreachable host reads differently from refused credentials),
"authenticate" is the protocol's own login. An api target cannot list or delete files: there the
probe is POSTed like a message and those two steps are skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import socket
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click

from stardust_git.checks.workflows import referenced_secrets, secret_line
from stardust_git.errors import UserError
from stardust_git.models.common import resolve_secret
from stardust_git.protocols import open_transport
from stardust_git.protocols.base import PermanentError, TransientError, Transport
from stardust_git.receipts import redact, secret_values
from stardust_git.source.catalog import Catalog, load_targets

CONNECT_TIMEOUT_SECONDS = 10.0
_CANNOT_LIST = {"api"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class StepResult:
    """The verdict on one step: ok, failed, or skipped (``ok`` is None)."""

    step: str
    ok: bool | None
    detail: str = ""
    seconds: float = 0.0


class _StepFailed(Exception):
    pass


def target_secrets_command(root: Path, output: str = "text") -> int:
    """Print the ``${NAME}`` secrets targets/*.yaml reference: names one per line (text), the
    workflow ``env:`` lines (env), or names with their target files (json)."""
    catalog = Catalog(root=root)
    load_targets(root, catalog)
    if catalog.diagnostics.errors:
        raise UserError("targets/ is not valid", catalog.diagnostics.errors)
    secrets = referenced_secrets(catalog)
    if output == "json":
        rows = [{"name": name, "targets": targets} for name, targets in secrets.items()]
        click.echo(json.dumps(rows, indent=2))
        return 0
    for name in secrets:
        click.echo(secret_line(name) if output == "env" else name)
    return 0


def target_test_command(root: Path, name: str) -> int:
    """Run the steps against target ``name``, print a verdict per step; exit 1 on a failure."""
    results = run_target_test(root, name)
    for result in results:
        click.echo(_format(result))
    failed = [result.step for result in results if result.ok is False]
    verdict = "FAILED at " + failed[0] if failed else "ok"
    click.echo(f"verdict: {verdict}", err=bool(failed))
    return 1 if failed else 0


def run_target_test(root: Path, name: str) -> list[StepResult]:
    """The verdicts for target ``name`` (targets/NAME.yaml)."""
    catalog = Catalog(root=root)
    load_targets(root, catalog)
    if name not in catalog.targets:
        mine = [d for d in catalog.diagnostics.items if d.path.endswith(f"/{name}.yaml")]
        if mine:
            raise UserError(f"targets/{name}.yaml is not valid", mine)
        known = ", ".join(sorted(catalog.targets)) or "none"
        raise UserError(f"no target named '{name}' in targets/ (known: {known})")
    delivery = catalog.targets[name].model.delivery
    return _Probe(root, name, delivery).run()


class _Probe:
    def __init__(self, root: Path, name: str, delivery: object) -> None:
        self.root = root
        self.name = name
        self.delivery = delivery
        self.protocol: str = delivery.protocol  # type: ignore[attr-defined]
        self.secrets = secret_values(delivery)  # type: ignore[arg-type]
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        self.probe_path = f"stardust-probe-{stamp}-{secrets.token_hex(4)}.txt"
        self.probe = f"stardust-git target test {name} {stamp}\n".encode()
        self.transport: Transport | None = None
        self.left_behind = False

    def run(self) -> list[StepResult]:
        steps: list[tuple[str, Callable[[], str]]] = [
            ("connect", self._connect),
            ("authenticate", self._authenticate),
            ("write", self._write),
            ("list", self._list),
            ("delete", self._delete),
        ]
        results: list[StepResult] = []
        try:
            for step, action in steps:
                if any(result.ok is False for result in results):
                    results.append(StepResult(step, None, "skipped after the failure above"))
                    continue
                results.append(self._timed(step, action))
        finally:
            self._clean_up()
        return results

    def _clean_up(self) -> None:
        """Close the connection; remove the probe if a step after "write" failed."""
        if self.transport is None:
            return
        if self.left_behind:
            with suppress(TransientError, PermanentError, UserError):
                self.transport.delete(self.probe_path)
        self.transport.close()

    def _timed(self, step: str, action: Callable[[], str]) -> StepResult:
        started = time.perf_counter()
        try:
            detail = action()
        except _StepFailed as failure:
            return StepResult(step, False, self._clean(str(failure)), time.perf_counter() - started)
        except (TransientError, PermanentError) as error:
            return StepResult(step, False, self._clean(str(error)), time.perf_counter() - started)
        except UserError as error:
            return StepResult(
                step, False, self._clean(error.message), time.perf_counter() - started
            )
        if detail.startswith("skipped"):
            return StepResult(step, None, detail)
        return StepResult(step, True, detail, time.perf_counter() - started)

    def _clean(self, text: str) -> str:
        return redact(text, self.secrets)

    # -- the steps ----------------------------------------------------------------------------

    def _connect(self) -> str:
        address = endpoint_address(self.delivery)
        if address is None:
            return "skipped: a local directory needs no connection"
        host, port = address
        try:
            with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS):
                pass
        except OSError as error:
            raise _StepFailed(f"{host}:{port}: {error.strerror or error}") from error
        return f"{host}:{port} reachable"

    def _authenticate(self) -> str:
        self.transport = open_transport(self.name, self.delivery, self.root)
        self.transport.connect()
        return f"{self.protocol} login accepted"

    def _write(self) -> str:
        assert self.transport is not None
        md5 = hashlib.md5(self.probe).hexdigest()
        self.transport.put_bytes(self.probe, self.probe_path, md5)
        self.left_behind = self.protocol not in _CANNOT_LIST
        return f"{self.transport.location(self.probe_path)} ({len(self.probe)} bytes)"

    def _list(self) -> str:
        if self.protocol in _CANNOT_LIST:
            return f"skipped: the {self.protocol} protocol cannot list files"
        assert self.transport is not None
        listed = {remote.path: remote.size for remote in self.transport.list("")}
        if listed.get(self.probe_path) != len(self.probe):
            raise _StepFailed(f"the probe is not in the listing of {len(listed)} files")
        return f"the probe is there among {len(listed)} files"

    def _delete(self) -> str:
        if self.protocol in _CANNOT_LIST:
            return f"skipped: the {self.protocol} protocol cannot delete files"
        assert self.transport is not None
        self.transport.delete(self.probe_path)
        self.left_behind = False
        if self.transport.stat(self.probe_path) is not None:
            raise _StepFailed("the probe is still there after deleting it")
        return "the probe is gone"


def endpoint_address(delivery: object) -> tuple[str, int] | None:
    """The host and port a target's protocol talks to (None for a local directory)."""
    protocol = delivery.protocol  # type: ignore[attr-defined]
    if protocol in ("sftp", "ftp", "ftps"):
        return delivery.host, delivery.port  # type: ignore[attr-defined]
    if protocol == "s3":
        aws = f"https://s3.{_aws_region(delivery)}.amazonaws.com"
        url = delivery.endpoint_url or aws  # type: ignore[attr-defined]
        return _url_address(url)
    if protocol == "azure":
        return _url_address(_azure_url(delivery))
    if protocol == "api":
        return _url_address(delivery.url)  # type: ignore[attr-defined]
    return None


def _aws_region(delivery: object) -> str:
    region = delivery.region  # type: ignore[attr-defined]
    return (
        region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )


def _azure_url(delivery: object) -> str:
    if delivery.account_url:  # type: ignore[attr-defined]
        return str(delivery.account_url)  # type: ignore[attr-defined]
    # The connection string holds the account key: read only the endpoint out of it.
    text = resolve_secret(delivery.connection_string) or ""  # type: ignore[attr-defined]
    fields = dict(part.split("=", 1) for part in text.split(";") if "=" in part)
    if "BlobEndpoint" in fields:
        return fields["BlobEndpoint"]
    scheme = fields.get("DefaultEndpointsProtocol", "https")
    suffix = fields.get("EndpointSuffix", "core.windows.net")
    return f"{scheme}://{fields.get('AccountName', '')}.blob.{suffix}"


def _url_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if not parts.hostname:
        raise UserError(f"cannot tell the host of the endpoint '{parts.scheme}://...'")
    return parts.hostname, parts.port or _DEFAULT_PORTS.get(parts.scheme, 443)


def _format(result: StepResult) -> str:
    if result.ok is None:
        verdict = click.style("skipped", fg="yellow")
    elif result.ok:
        verdict = click.style("ok     ", fg="green")
    else:
        verdict = click.style("FAILED ", fg="red", bold=True)
    timing = f" ({result.seconds * 1000:.0f} ms)" if result.ok is not None else ""
    detail = result.detail.removeprefix("skipped: ") if result.ok is None else result.detail
    return f"  {result.step:<13} {verdict} {detail}{timing}"
