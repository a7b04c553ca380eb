"""A Ray cluster of several nodes on this machine (``ray start --head`` plus ``ray start --address``), for the tests
that kill a node mid-search.

Every process it starts is found again by its session directory (a temporary folder of the test's own) or as a
descendant of one of those, and ended by pid when the cluster stops; ``ray stop`` would end every Ray process of
the machine, other people's included.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from process_tree import descendants

PROC = Path("/proc")
# a token left in ~/.ray by another cluster must not switch this one to token authentication
ENV = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class LocalRayCluster:
    """Nodes started with the ``ray`` command of this interpreter, all under ``temp_dir``."""

    def __init__(self, temp_dir: Path):
        self.temp_dir = Path(temp_dir)
        self.ray = str(Path(sys.executable).with_name("ray"))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.seen: set[int] = set()

    def _run(self, *args: str) -> None:
        subprocess.run([self.ray, "start", *args, "--disable-usage-stats"], env=ENV, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        self._remember()

    def start_head(self, cpus: int = 1, gpus: int = 0) -> None:
        self._run("--head", "--port", str(self.port), "--num-cpus", str(cpus), "--num-gpus", str(gpus),
                  "--include-dashboard", "false", "--temp-dir", str(self.temp_dir))

    def add_node(self, cpus: int = 1, gpus: int = 0) -> int:
        """Start a node joining the head; return its raylet's pid."""
        manager_port = free_port()
        self._run("--address", self.address, "--num-cpus", str(cpus), "--num-gpus", str(gpus),
                  "--node-manager-port", str(manager_port))
        for pid in self.processes():
            if "raylet/raylet" in _cmdline(pid) and f"--node_manager_port={manager_port} " in _cmdline(pid):
                return pid
        raise RuntimeError(f"no raylet with node manager port {manager_port} after ray start")

    def processes(self) -> list[int]:
        """Live processes of this cluster: those naming its session directory, and their descendants."""
        marker = str(self.temp_dir)
        roots = [int(p.name) for p in PROC.iterdir() if p.name.isdigit() and marker in _cmdline(int(p.name))]
        return sorted({*roots, *(d for r in roots for d in descendants(r))})

    def _remember(self) -> None:
        self.seen.update(self.processes())

    def kill(self, pid: int) -> None:
        """SIGKILL ``pid`` as a lost machine would stop, after noting its descendants (ended in :meth:`stop`)."""
        self.seen.update(descendants(pid))
        os.kill(pid, signal.SIGKILL)

    def stop(self) -> list[int]:
        """End every process of the cluster; return those still alive afterwards (none, normally)."""
        self._remember()
        for pid in sorted(self.seen):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + 10
        alive = self.seen
        while alive and time.monotonic() < deadline:
            alive = {p for p in alive if _alive(p)}
            time.sleep(0.1)
        return sorted(alive | set(self.processes()))


def _alive(pid: int) -> bool:
    try:
        state = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


__all__ = ["ENV", "LocalRayCluster", "free_port"]
