"""Wall time, CPU time and peak RSS of one command, measured honestly.

The peak RSS Linux reports for a child (``wait4``) includes what the process held before it
exec'd the command: a fork of a benchmark that holds a generated catalog would report the
benchmark's own size. So the command runs under a small Python trampoline, and the trampoline's
*children's* peak (``RUSAGE_CHILDREN``: the command or the largest of its workers) is reported;
their CPU seconds too, which hold up on a shared machine where wall time does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

_TRAMPOLINE = """
import json, resource, subprocess, sys
code = subprocess.run(sys.argv[2:]).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[1], "w") as out:
    json.dump({"cpu_s": usage.ru_utime + usage.ru_stime, "rss_kib": usage.ru_maxrss}, out)
sys.exit(code)
"""


@dataclass
class Measured:
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    done: subprocess.CompletedProcess[str]


def measure(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Measured:
    """Run ``command`` in ``cwd`` with its output captured; it may fail (see ``done``)."""
    with tempfile.TemporaryDirectory(prefix="peakrss-") as folder:
        usage_file = Path(folder) / "usage.json"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _TRAMPOLINE, str(usage_file), *command],
            cwd=cwd,
            env=env or dict(os.environ),
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        usage = json.loads(usage_file.read_text(encoding="utf-8"))
    done.args = command
    return Measured(wall, usage["cpu_s"], usage["rss_kib"] / 1024, done)
