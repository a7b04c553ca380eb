"""A search on a Ray cluster of two nodes on this machine that loses one of them mid-search.

    python benchmarks/check_node_loss.py [--population 4] [--generations 1] [--keep DIR]

``ray start --head`` and ``ray start --address`` start two nodes on this machine, each declaring one CPU and one
(fake) GPU. The search (proxy training on the embedded digits, 240 training images, 1 epoch) asks for half a GPU
and half a CPU per candidate, so Ray schedules candidates by GPU and sets ``CUDA_VISIBLE_DEVICES``, and each
worker, finding no real GPU, trains on the CPU. Once the first candidate is archived, the second node's raylet is
killed (SIGKILL, as a lost machine stops). The check passes (exit 0) when the search finishes, the candidates the
node was running were submitted again, every candidate is in the archive once and none failed, the archive is
the one a local process pool writes for the same configuration, a resumed run changes nothing, and no process the
cluster started is left. It prints each of these with the time taken.

Every process of the cluster is found by its session directory (a temporary folder of its own) or as a descendant
of one of those, and ended by pid: ``ray stop`` would end every Ray process of the machine, other people's too.
A single-node Ray instance and the retry rules are tested in ``tests/search/test_cluster.py``; this check takes
about two minutes on 2 cores (each Ray worker imports torch; longer on a loaded machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from muxnet.runtime.processes import descendants

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
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)  # slow on a loaded machine
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


COLUMNS = "genome, status, error, params, madds, generation"


def archive_rows(run: Path) -> list[tuple]:
    with sqlite3.connect(run / "archive.sqlite") as db:
        return sorted(db.execute(f"SELECT {COLUMNS} FROM evaluations").fetchall())


def kill_when_archived(cluster: LocalRayCluster, raylet: int, archive: Path, done: threading.Event,
                       killed: list) -> None:
    """Kill ``raylet`` as soon as ``archive`` holds one evaluation (the search is then under way)."""
    while not done.is_set():
        try:
            with sqlite3.connect(f"file:{archive}?mode=ro", uri=True) as db:
                count = db.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]
        except sqlite3.Error:
            count = 0
        if count >= 1:
            cluster.kill(raylet)
            killed.append((time.monotonic(), count))
            return
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--population", type=int, default=4)
    parser.add_argument("--generations", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="write the run directories here (default: a temporary folder)")
    args = parser.parse_args(argv)
    os.environ.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")  # the driver, as the nodes

    from muxnet.search.driver import SearchConfig, run_search

    config = SearchConfig(population=args.population, generations=args.generations, epochs=1, max_train_samples=240,
                          seed=5, targets="params=0.6M,madds=2M;params=1.5M,madds=5.5M")
    out = args.keep or Path(tempfile.mkdtemp(prefix="node-loss-"))
    started = time.monotonic()
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        print(f"{time.monotonic() - started:6.1f} s  {line}", flush=True)

    # a short folder: Ray's unix sockets live under it, and their paths may not exceed 107 bytes
    cluster = LocalRayCluster(Path(tempfile.mkdtemp(prefix="mxray", dir="/tmp")))
    killed, done = [], threading.Event()
    try:
        cluster.start_head(cpus=1, gpus=1)
        raylet = cluster.add_node(cpus=1, gpus=1)
        log(f"cluster up at {cluster.address}: head and a second node (raylet pid {raylet}), 1 CPU + 1 fake GPU each")
        watcher = threading.Thread(target=kill_when_archived,
                                   args=(cluster, raylet, out / "ray" / "archive.sqlite", done, killed))
        watcher.start()
        try:
            result = run_search(config, out / "ray", executor="ray", ray_address=cluster.address,
                                gpus_per_candidate=0.5, cpus_per_candidate=0.5, log=log)
        finally:
            done.set()
            watcher.join()
    finally:
        left = cluster.stop()
        if not left:  # the nodes' logs and sockets; kept when something survived, to see what
            shutil.rmtree(cluster.temp_dir, ignore_errors=True)
    cluster_seconds = time.monotonic() - started
    archived = archive_rows(out / "ray")
    run_search(config, out / "local", executor="process", workers=2, log=log)  # one thread per worker, as Ray's
    run_search(config, out / "ray", resume=True, log=log)  # in-process: the cluster is gone
    checks = {
        "the second node was killed mid-search": bool(killed) and killed[0][1] < result.evaluations,
        "its candidates were submitted again": any("its node was lost" in line for line in lines),
        "no candidate failed": result.failed == 0 and all(r[1] == "ok" for r in archived),
        "every candidate archived once": len({r[0] for r in archived}) == len(archived) == result.evaluations,
        "the archive equals a local run's": archived == archive_rows(out / "local"),
        "a resumed run changes nothing": archive_rows(out / "ray") == archived,
        "no process of the cluster left": left == [],
    }
    print(f"\n{result.evaluations} candidates, {sum('submitted again' in x for x in lines)} resubmitted, "
          f"{result.failed} failed; cluster run {cluster_seconds:.0f} s, whole check "
          f"{time.monotonic() - started:.0f} s; runs in {out}")
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'}  {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
