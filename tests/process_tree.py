"""Processes below a pid, read from /proc (Linux), for the tests that SIGKILL a parent and look for orphans."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from muxnet.runtime.processes import descendants, process_state  # noqa: F401 - the orphan tests import it from here

PROC = Path("/proc")

needs_proc = pytest.mark.skipif(not (PROC / "self" / "stat").exists(), reason="needs Linux /proc")


def alive(pid: int) -> bool:
    stat = process_state(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def survivors(pids: list[int], within: float) -> list[int]:
    """The pids still running after waiting up to ``within`` seconds for them to end."""
    deadline = time.time() + within
    while time.time() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


def wait_for(condition, timeout: float, what: str):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
