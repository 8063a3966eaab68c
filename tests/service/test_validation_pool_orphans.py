"""The bulk-ingest worker processes end when the process that made them is killed,
instead of waiting forever for work and keeping the forkserver alive with them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = """
import sys, time
from trailbook.model.normalize import TenantInfo
from trailbook.service.validation_pool import ValidationPool
pool = ValidationPool(2)
info = TenantInfo(1, "t", frozenset({"access"}))
list(pool.prepare(info, [[b'{"action":"a.b","actor":{"id":"u"}}']] * 4))
print(" ".join(str(pid) for pid in pool.pids), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its entry is left


def test_workers_end_when_their_parent_is_killed() -> None:
    maker = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert maker.stdout is not None
        workers = [int(pid) for pid in maker.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
        os.kill(maker.pid, signal.SIGKILL)
        maker.wait(10)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers)
    finally:
        if maker.poll() is None:
            maker.kill()
