"""Real media files for tests, made by scripts/make_example_assets.py (their single source).

The script lives outside the package, so it is loaded from its path once, here. Tests write
the files they need into tmp_path::

    from tests.media import write_flac, write_jpeg, write_mp3, write_png, write_wav

    audio = write_flac(tmp_path / "01.flac", seconds=2.0, rate=48000, bits=24)
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[1]
GENERATOR_PATH = REPO_ROOT / "scripts" / "make_example_assets.py"
ASSETS_DIR = REPO_ROOT / "assets"


def _load_generator() -> ModuleType:
    name = "make_example_assets"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, GENERATOR_PATH)
    assert spec and spec.loader, f"cannot load {GENERATOR_PATH}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


generator = _load_generator()
write_wav = generator.write_wav
write_flac = generator.write_flac
write_mp3 = generator.write_mp3
write_jpeg = generator.write_jpeg
write_png = generator.write_png

__all__ = [
    "ASSETS_DIR",
    "GENERATOR_PATH",
    "REPO_ROOT",
    "generator",
    "write_flac",
    "write_jpeg",
    "write_mp3",
    "write_png",
    "write_wav",
]
