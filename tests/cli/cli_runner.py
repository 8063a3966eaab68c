"""The real `trailbook` command as an operator runs it, for the command-line tests: a
new process on a data folder, with cheap password hashing, wide output, and none of
the caller's database or logs settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHEAP = {"TRAILBOOK_PASSWORD_HASH_TIME_COST": "1", "TRAILBOOK_PASSWORD_HASH_MEMORY_KIB": "64"}


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAILBOOK_DATA_DIR": str(data_dir), **CHEAP, "COLUMNS": "250"}
    env.pop("TRAILBOOK_DATABASE_URL", None)
    env.pop("TRAILBOOK_LOGS_DIR", None)
    return subprocess.run([sys.executable, "-m", "trailbook", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def ok(data_dir: Path, *args: str) -> str:
    """Its output; the command must succeed."""
    result = run(data_dir, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def refused(data_dir: Path, *args: str) -> str:
    """Its one-line error; the command must exit 1."""
    result = run(data_dir, *args)
    assert result.returncode == 1, (result.stdout, result.stderr)
    return result.stderr.strip()
