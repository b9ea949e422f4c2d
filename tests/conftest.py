"""Session-wide test setup: the official XSDs from ../shared, the real servers, the repo layout."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
XSD_DIR = SHARED / "ddex-xsd"
SAMPLES_DIR = SHARED / "ddex-samples"

# Set before any test imports the product, and inherited by the CLI subprocesses tests start.
os.environ.setdefault("STARDUST_XSD_DIR", str(XSD_DIR))
os.environ.setdefault("COLUMNS", "200")
# The CLI subprocesses run the `stardust-git` of the environment running the tests (.venv/bin).
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])

pytest_plugins = ["tests.servers"]
