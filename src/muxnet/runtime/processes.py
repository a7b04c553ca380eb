"""Processes we start die with us: worker processes (the search's process pool, DataLoader workers, the ranks
``torchrun`` starts) end when the process that started them dies, even by ``kill -9``.

A parent killed with SIGKILL runs no clean-up, so the child has to notice on its own. On Linux the kernel
does it: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` kills the child the moment its parent exits. Elsewhere a daemon
thread polls the parent's pid. Both are armed from inside the child (a pool initializer, a DataLoader
``worker_init_fn``, the start of a ``torchrun`` rank).
"""

from __future__ import annotations

import concurrent.futures as futures
import multiprocessing
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_POLL_SECONDS = 0.5


def available_cpus() -> int:
    """CPU cores this process may run on (its affinity mask, so a container's or ``taskset``'s limit counts)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def single_thread_pool(workers: int) -> futures.ProcessPoolExecutor:
    """A pool of ``workers`` processes that each run torch on one thread and die with this process.

    For independent trainings (a search's picks, an ablation's runs): a small network uses a core better one per
    process than two threads per network. Spawned, not forked: forking a process that already ran torch can
    deadlock.
    """
    return futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=_init_single_thread_worker, initargs=(os.getpid(),))


def _init_single_thread_worker(parent_pid: int) -> None:
    import torch

    die_with_parent(parent_pid)
    torch.set_num_threads(1)


def die_with_parent(parent_pid: int | None = None) -> None:
    """Make this process exit as soon as its parent does.

    ``parent_pid`` is the pid the parent had when it started us; if the parent already died before this call
    (the process was re-parented), exit now rather than run on as an orphan.
    """
    if not (sys.platform.startswith("linux") and _set_parent_death_signal()):
        threading.Thread(target=_watch_parent, args=(os.getppid(),), name="die-with-parent", daemon=True).start()
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)


def _set_parent_death_signal() -> bool:
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_POLL_SECONDS)
    os._exit(1)


def dataloader_worker_init(worker_id: int, parent_pid: int | None = None) -> None:
    """``worker_init_fn`` for DataLoaders (bind ``parent_pid`` with ``functools.partial``): the worker ends with
    the process that iterates the loader."""
    die_with_parent(parent_pid)


def process_state(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of ``pid`` from Linux's ``/proc``, or None when it is gone (or unreadable)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            text = handle.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
    return fields[0], int(fields[1])


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux ``/proc``): what a check that no process outlives its parent looks for."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            state = process_state(int(entry))
            if state is not None:
                parents[int(entry)] = state[1]
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        children = [p for p, parent in parents.items() if parent == current]
        found += children
        frontier += children
    return found


__all__ = ["available_cpus", "dataloader_worker_init", "descendants", "die_with_parent", "process_state",
           "single_thread_pool"]
