"""Whether a process still runs: how a lock, a half-built version or a run record left by a killed process is told
from one still at work."""

from __future__ import annotations

import os


def process_alive(pid: int) -> bool:
    """True while process `pid` exists on this machine (another user's counts: it may be at work)."""
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, the kernel only checks that the process is there
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
