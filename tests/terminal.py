"""Reading what a command printed on a pseudo-terminal, until it closes or a deadline passes."""

from __future__ import annotations

import os
import select
import time


def read_terminal(leader: int, seconds: float = 120) -> bytes:
    """Everything written to the terminal whose leader side is ``leader``, until the child
    closes it (or ``seconds`` pass); ``leader`` is closed."""
    chunks = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        try:
            chunk = os.read(leader, 65536) if ready else b""
        except OSError:  # the child closed the terminal
            break
        if ready and not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return b"".join(chunks)
