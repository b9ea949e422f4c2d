"""Delivery secrets in the GitHub workflows: by name, only those the targets reference.

A target names each secret as ``${NAME}``; the workflow step that runs ``stardust-git deliver``
(or ``acks``) gets exactly those, one ``NAME: ${{ secrets.NAME }}`` line each, never every
repository secret (``toJSON(secrets)``). :func:`referenced_secrets` lists them,
:func:`with_secret_lines` writes them into a workflow at its marker comment, and
:func:`check_workflows` (run by validate) reports a delivering step that misses one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from stardust_git.errors import Diagnostic, Diagnostics
from stardust_git.redaction import secret_names
from stardust_git.source.catalog import Catalog
from stardust_git.source.yamlio import Loc, YamlDocument, YamlLoadError, load_yaml_file

WORKFLOWS_DIR = ".github/workflows"
#: The comment after which a workflow's delivering step lists its secrets.
SECRETS_MARKER = "# The secrets targets/*.yaml reference, by name (stardust-git target secrets):"
_DELIVERING_RUN = re.compile(r"\bstardust-git\s+(deliver|acks)\b")
_DELIVERING_COMMANDS = {"deliver", "acks"}
_EVERY_SECRET = re.compile(r"toJSON\(\s*secrets\s*\)")


def referenced_secrets(catalog: Catalog) -> dict[str, list[str]]:
    """Secret name -> the target files whose delivery settings reference it, by name."""
    found: dict[str, list[str]] = {}
    for loaded in sorted(catalog.targets.values(), key=lambda loaded: loaded.path):
        for name in secret_names(loaded.model.delivery):
            found.setdefault(name, []).append(loaded.path)
    return dict(sorted(found.items()))


def secret_line(name: str) -> str:
    """The workflow ``env:`` entry that hands the repository secret ``name`` to a step."""
    return f"{name}: ${{{{ secrets.{name} }}}}"


def with_secret_lines(text: str, names: list[str]) -> str:
    """A workflow template with one ``env:`` line per secret after each marker comment (an
    ``env:`` left empty, holding only the marker, is dropped: GitHub refuses an empty one)."""
    written: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.strip() != SECRETS_MARKER:
            written.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        if not names:
            _drop_empty_env(written, indent)
        written.append(line)
        written += [f"{indent}{secret_line(name)}\n" for name in names]
    return "".join(written)


def _drop_empty_env(written: list[str], indent: str) -> None:
    """Remove the ``env:`` key the marker (after its comments) would have been alone under."""
    index = len(written) - 1
    while index >= 0 and written[index].startswith(f"{indent}#"):
        index -= 1
    if index >= 0 and written[index].rstrip() == f"{indent[:-2]}env:":
        del written[index]


# --- the check ---------------------------------------------------------------------------------


def check_workflows(catalog: Catalog, diagnostics: Diagnostics) -> None:
    """Every step under .github/workflows that delivers gets every secret a target references,
    by name, and not every repository secret."""
    folder = catalog.root / WORKFLOWS_DIR
    if not folder.is_dir():
        return
    wanted = referenced_secrets(catalog)
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        if not path.is_file():
            continue
        try:
            document = load_yaml_file(path, f"{WORKFLOWS_DIR}/{path.name}")
        except YamlLoadError as error:
            for found in error.diagnostics:
                diagnostics.warning(found.path, f"not checked: {found.message}", line=found.line)
            continue
        _check_workflow(document, wanted, diagnostics)


def _check_workflow(
    document: YamlDocument, wanted: dict[str, list[str]], diagnostics: Diagnostics
) -> None:
    workflow = document.data if isinstance(document.data, dict) else {}
    for loc, job, step in _delivering_steps(workflow):
        given = _env_names(workflow, job, step)
        for name, targets in wanted.items():
            if name not in given:
                diagnostics.add(_missing(document, loc, step, name, targets))
        if any(_EVERY_SECRET.search(str(value)) for value in _env(step).values()):
            diagnostics.add(_every_secret(document, loc))


def _delivering_steps(workflow: dict[str, Any]) -> Iterator[tuple[Loc, dict[str, Any], Any]]:
    """(location, job, step) of each step that runs ``stardust-git deliver`` or ``acks``."""
    jobs = workflow.get("jobs")
    for job_name, job in jobs.items() if isinstance(jobs, dict) else []:
        steps = job.get("steps") if isinstance(job, dict) else None
        for index, step in enumerate(steps if isinstance(steps, list) else []):
            if isinstance(step, dict) and _delivers(step):
                yield ("jobs", job_name, "steps", index), job, step


def _delivers(step: dict[str, Any]) -> bool:
    if _DELIVERING_RUN.search(str(step.get("run", ""))):
        return True
    inputs = step.get("with")
    command = str(inputs.get("command", "")) if isinstance(inputs, dict) else ""
    return "stardust-git" in str(step.get("uses", "")) and command in _DELIVERING_COMMANDS


def _env(node: object) -> dict[str, Any]:
    env = node.get("env") if isinstance(node, dict) else None
    return env if isinstance(env, dict) else {}


def _env_names(workflow: dict[str, Any], job: dict[str, Any], step: dict[str, Any]) -> set[str]:
    return {str(name) for node in (workflow, job, step) for name in _env(node)}


def _missing(
    document: YamlDocument,
    loc: Loc,
    step: dict[str, Any],
    name: str,
    targets: list[str],
) -> Diagnostic:
    shown = step.get("name") or str(step.get("run", step.get("uses", "")))[:40]
    where = "to its env" if "env" in step else "to the step"
    message = (
        f"the step '{shown}' delivers without the secret {name} that {', '.join(targets)} "
        f"reference{'s' * (len(targets) == 1)}: add "
        f"{'' if 'env' in step else 'an env: with '}`{secret_line(name)}` {where}"
    )
    return document.diagnostic((*loc, "env") if "env" in step else loc, message, rule="secrets")


def _every_secret(document: YamlDocument, loc: Loc) -> Diagnostic:
    message = (
        "hands every repository secret to the step (toJSON(secrets)): name only those the "
        "targets reference (`stardust-git target secrets --format env` lists the lines)"
    )
    return document.diagnostic((*loc, "env"), message, rule="secrets")
