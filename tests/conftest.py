"""Session-wide test setup: the official XSDs from ../shared, the real servers, the repo layout."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
XSD_DIR = SHARED / "ddex-xsd"
SAMPLES_DIR = SHARED / "ddex-samples"

# Set before any test imports the product, and inherited by the CLI subprocesses tests start.
os.environ.setdefault("STARDUST_XSD_DIR", str(XSD_DIR))
os.environ.setdefault("COLUMNS", "200")

pytest_plugins = ["tests.servers"]
