"""Long-running app processes a bench starts itself (Celery worker and beat), each in its own
process group so that stopping it reaches every child, and nothing else."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path


def start_group(command: list[str], *, env: Mapping[str, str], log_file: Path, cwd: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` in a new session (its own process group), output to ``log_file``."""
    with log_file.open("ab") as log:
        return subprocess.Popen(command, env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop_group(process: subprocess.Popen[bytes] | None, *, timeout: float = 20.0) -> None:
    """SIGTERM to the process group (a Celery worker's warm shutdown), SIGKILL after ``timeout``."""
    if process is None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # the leader is gone; children of the group may linger a moment
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
    if process.poll() is None:
        process.wait(timeout=5)


def log_tail(log_file: Path, lines: int = 20) -> str:
    if not log_file.exists():
        return ""
    return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
