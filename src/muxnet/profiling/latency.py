"""Latency of a spec from a per-block look-up table measured on this machine (eager PyTorch, batch 1).

A network's latency is the sum of its parts' latencies: the stem, every block of
:func:`~muxnet.profiling.spec_cost.block_layout` (the same per-block keys as :func:`block_cost`: the block's
spec, its input width, stride and input resolution) times its repetitions, and the head (1x1 conv, pooling,
classifier). Each distinct part is timed once, when a network first needs it (warm-up runs, then the median of
``repeats`` runs, ``torch.inference_mode``, ``threads`` intra-op threads; with one thread the thread's CPU time,
see :func:`clock_for`), and remembered in a JSON file together
with the description of the machine that measured it. A table measured on another machine (CPU model, core
count, torch version, runtime, threads, clock) is refused: its numbers say nothing about this one.

Summing isolated parts ignores what they share in a whole network (caches, allocator state), so the table is
checked against whole networks measured the same way (:meth:`LatencyTable.validate`); the search reports that
error, and ``benchmarks/bench_latency_table.py`` measures it for the ``small`` preset and the zoo.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..models.blocks import create_block
from ..models.network import build_model
from ..models.spec import BlockSpec, NetworkSpec, ResolvedBlock
from ..runtime import atomic_write
from .spec_cost import block_layout

TABLE_VERSION = 1
RUNTIME = "eager"

# A timer measures one module on one input shape (N, C, H, W) and returns milliseconds; tests pass a fake one.
Timer = Callable[[nn.Module, tuple[int, ...]], float]


class LatencyTableError(ValueError):
    """A latency table cannot be used here: unreadable, of another format, or measured on another machine."""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def clock_for(threads: int) -> str:
    """The clock a measurement reads: with one intra-op thread the operators run on the calling thread, so its
    CPU time (``thread``) is the latency without the time other processes held the core (the machine is
    shared; wall time of a 20 ms network absorbs their time slices where a 0.2 ms block escapes them); with more
    threads only wall time (``wall``) counts them all."""
    return "thread" if threads == 1 else "wall"


def machine_description(threads: int = 1) -> dict:
    """What decides the table's numbers besides the network: CPU, cores, torch version, runtime, threads, clock."""
    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__.split("+")[0],
            "runtime": RUNTIME, "threads": int(threads), "batch": 1, "clock": clock_for(threads)}


def default_table_path(threads: int = 1) -> Path:
    """``$MUXNET_CACHE_DIR`` (default ``~/.cache/muxnet``) ``/latency_eager_<threads>thread.json``."""
    root = Path(os.environ.get("MUXNET_CACHE_DIR") or Path.home() / ".cache" / "muxnet")
    return root / f"latency_{RUNTIME}_{int(threads)}thread.json"


def measure_module(module: nn.Module, shape: Sequence[int], threads: int = 1, warmup: int = 5,
                   repeats: int = 25) -> float:
    """Median time in milliseconds of ``module`` on a random input of ``shape`` after ``warmup`` runs, on the
    clock of :func:`clock_for`."""
    clock = time.thread_time if clock_for(threads) == "thread" else time.perf_counter
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        module = module.eval()
        x = torch.randn(*shape)
        times = []
        with torch.inference_mode():
            for i in range(warmup + repeats):
                start = clock()
                module(x)
                if i >= warmup:
                    times.append(clock() - start)
        return 1e3 * statistics.median(times)
    finally:
        torch.set_num_threads(previous)


def _head(model: nn.Module) -> nn.Module:
    """A network's head as one module (in eval mode, where its dropout does nothing): 1x1 conv, BN, activation,
    global pooling, classifier."""
    return nn.Sequential(model.conv_head, model.bn2, model.act2, model.global_pool, model.classifier)


def _block_key(block: BlockSpec, in_channels: int, stride: int, height: int, width: int) -> str:
    return json.dumps(["block", block.to_dict(), in_channels, stride, height, width], sort_keys=True)


def _stem_key(spec: NetworkSpec, stem_input: Sequence[int]) -> str:
    return json.dumps(["stem", spec.in_channels, spec.stem_channels, spec.stem_stride, spec.stem_activation,
                       *stem_input[1:]])


def _head_key(spec: NetworkSpec, head_input: Sequence[int]) -> str:
    return json.dumps(["head", *head_input, spec.head_channels, spec.head_activation, spec.num_classes])


@dataclass(frozen=True)
class Validation:
    """The table's sum against the measured whole network, per network (milliseconds)."""

    names: tuple[str, ...]
    table_ms: tuple[float, ...]
    measured_ms: tuple[float, ...]

    @property
    def relative_errors(self) -> list[float]:
        return [abs(t / m - 1.0) for t, m in zip(self.table_ms, self.measured_ms)]

    @property
    def mean_error(self) -> float:
        return statistics.fmean(self.relative_errors)

    @property
    def max_error(self) -> float:
        return max(self.relative_errors)

    def summary(self) -> str:
        return (f"latency table vs {len(self.names)} whole networks: mean relative error {self.mean_error:.1%}, "
                f"max {self.max_error:.1%}")

    def to_dict(self) -> dict:
        return {"networks": [{"name": n, "table_ms": t, "measured_ms": m, "relative_error": abs(t / m - 1.0)}
                             for n, t, m in zip(self.names, self.table_ms, self.measured_ms)],
                "mean_relative_error": self.mean_error, "max_relative_error": self.max_error}


class LatencyTable:
    """Per-part latencies (ms) of this machine, measured lazily and cached in ``path`` (JSON).

    ``rebuild`` discards a table found at ``path`` (of this or another machine) and measures anew; without it a
    table of another machine is refused with :class:`LatencyTableError`. ``timer`` replaces the real measurement
    (tests). New entries are written by :meth:`save` (merged with entries another process saved meanwhile).
    """

    def __init__(self, path: str | Path | None = None, threads: int = 1, rebuild: bool = False,
                 timer: Timer | None = None, warmup: int = 5, repeats: int = 25):
        if threads < 1:
            raise ValueError(f"threads: must be at least 1, got {threads}")
        self.path = Path(path) if path else default_table_path(threads)
        self.threads, self.warmup, self.repeats = int(threads), warmup, repeats
        self.machine = machine_description(threads)
        self.timer: Timer = timer or (lambda module, shape: measure_module(module, shape, self.threads,
                                                                           self.warmup, self.repeats))
        self.entries: dict[str, float] = {}
        self.measured = 0  # entries timed by this object (the rest came from the file)
        self._dirty = False
        if self.path.exists() and not rebuild:
            self.entries = self._read(self.path)

    def _read(self, path: Path) -> dict[str, float]:
        try:
            data = json.loads(path.read_text())
            version, machine, entries = data["version"], data["machine"], data["entries"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise LatencyTableError(f"{path}: not a readable muxnet latency table ({err}); pass "
                                    "--rebuild-latency-table to measure a new one") from None
        if version != TABLE_VERSION:
            raise LatencyTableError(f"{path}: latency table version {version!r}, this muxnet reads {TABLE_VERSION}; "
                                    "pass --rebuild-latency-table to measure a new one")
        if machine != self.machine:
            keys = sorted(k for k in set(machine) | set(self.machine) if machine.get(k) != self.machine.get(k))
            differ = ", ".join(f"{k} {machine.get(k)!r}, here {self.machine.get(k)!r}" for k in keys)
            raise LatencyTableError(f"{path}: latency table measured on another machine ({differ}); pass "
                                    "--rebuild-latency-table to measure this one, or another --latency-table")
        return {str(k): float(v) for k, v in entries.items()}

    def __len__(self) -> int:
        return len(self.entries)

    def _lookup(self, key: str, make: Callable[[], tuple[nn.Module, tuple[int, ...]]]) -> float:
        if key not in self.entries:
            module, shape = make()
            self.entries[key] = float(self.timer(module, shape))
            self.measured += 1
            self._dirty = True
        return self.entries[key]

    def block(self, block: BlockSpec, in_channels: int, stride: int, height: int, width: int) -> float:
        """Milliseconds of one repetition of ``block`` (``repeat`` 1) on a (1, in_channels, height, width) input."""
        def make():
            with torch.device("cpu"):
                module = create_block(ResolvedBlock(0, 0, in_channels, block, stride, 0.0))
            return module, (1, in_channels, height, width)
        return self._lookup(_block_key(block, in_channels, stride, height, width), make)

    def network(self, spec: NetworkSpec, input_size: Sequence[int] | None = None) -> float:
        """The table's latency of ``spec`` in milliseconds: stem + blocks (times repetitions) + head."""
        layout = block_layout(spec, input_size)
        model: list[nn.Module] = []  # built at most once, only when the stem or head is missing

        def whole() -> nn.Module:
            if not model:
                model.append(build_model(spec))
            return model[0]

        total = self._lookup(_stem_key(spec, layout.stem_input),
                             lambda: (nn.Sequential(whole().conv_stem, whole().bn1, whole().act1),
                                      (1, *layout.stem_input)))
        for key, count in layout.blocks:
            total += count * self.block(*key)
        total += self._lookup(_head_key(spec, layout.head_input),
                              lambda: (_head(whole()), (1, *layout.head_input)))
        return total

    def measure_network(self, spec: NetworkSpec, input_size: Sequence[int] | None = None) -> float:
        """The whole network measured by this table's timer (what :meth:`network` approximates)."""
        size = tuple(int(v) for v in (input_size or spec.input_size))
        return float(self.timer(build_model(spec), (1, *size)))

    def validate(self, specs: Iterable[NetworkSpec], input_size: Sequence[int] | None = None) -> Validation:
        """The table's sum against the measured whole network for each spec (measured one after the other)."""
        names, table, measured = [], [], []
        for spec in specs:
            names.append(spec.name)
            table.append(self.network(spec, input_size))
            measured.append(self.measure_network(spec, input_size))
        if not names:
            raise ValueError("validate: give at least one spec")
        return Validation(tuple(names), tuple(table), tuple(measured))

    def save(self) -> Path:
        """Write the table (if it has new entries), keeping entries another process added to the file since."""
        if not self._dirty:
            return self.path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entries = dict(self.entries)
        if self.path.exists():
            try:
                entries = {**self._read(self.path), **entries}
            except LatencyTableError:
                pass  # a table of another machine or format at this path is replaced (rebuild was asked for)
        atomic_write(self.path, json.dumps({"version": TABLE_VERSION, "machine": self.machine,
                                            "entries": entries}, indent=0, sort_keys=True))
        self.entries, self._dirty = entries, False
        return self.path

    def describe(self) -> dict:
        return {"path": str(self.path), "machine": self.machine, "entries": len(self.entries),
                "measured_now": self.measured}


__all__ = ["LatencyTable", "LatencyTableError", "Timer", "Validation", "clock_for", "default_table_path",
           "machine_description", "measure_module"]
