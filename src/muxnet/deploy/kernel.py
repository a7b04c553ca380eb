"""The fused spatial-multiplexing kernel: the whole layer in one pass, compiled from C on first use.

Library calls cannot bring a spatially multiplexed conv near the depthwise conv it replaces: the parts are
split, pixel-(un)shuffled, convolved with tiny groups and concatenated, each step a pass over the map with a
fixed cost that outweighs the convs themselves (BENCHMARKS.md). :class:`FusedSpatialMultiplexing` computes
every part at once as taps on the input's own grid (see ``spatial_kernel.c``), with the BatchNorm folded into
its bias. The kernel is plain C (no PyTorch headers), built with the system's C compiler into a per-user cache
in about a second and called through ``ctypes``; where no compiler is found the layer warns once and runs its
pure-PyTorch form (:class:`~muxnet.deploy.spatial.MultiplexedParts`), which is also the reference the kernel is
tested against and what tracing, ``torch.compile`` and ONNX export see.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import subprocess
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from ..layers.spatial_multiplexing import RATIO, check_multiplexable
from .replace import replace_modules
from .spatial import MultiplexedParts, SubpixelConv

SOURCE = Path(__file__).with_name("spatial_kernel.c")
DISABLE_ENV = "MUXNET_NO_KERNEL"  # set to 1 to force the PyTorch path (e.g. to compare the two)
FLAGS = ["-O3", "-march=native", "-std=c11", "-shared", "-fPIC"]
PHASES = RATIO * RATIO


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line
    except OSError:
        pass
    return platform.processor()


def _cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "muxnet" / "kernels"


def _compile(compiler: str, library: Path) -> None:
    """Build the shared library (with OpenMP when the compiler has it) and move it into place atomically."""
    library.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=library.parent) as tmp:
        target = Path(tmp) / library.name
        errors = ""
        for openmp in (["-fopenmp"], []):
            result = subprocess.run([compiler, *FLAGS, *openmp, str(SOURCE), "-o", str(target)],
                                    capture_output=True, text=True, timeout=120)
            if result.returncode == 0:
                os.replace(target, library)
                return
            errors = result.stderr.strip().splitlines()[-1:] or [f"exit status {result.returncode}"]
        raise RuntimeError(f"{compiler} failed: {errors[0]}")


@functools.cache
def load_kernel() -> ctypes.CDLL | None:
    """The compiled kernel library, built on first use; ``None`` (after one warning) where it cannot be built."""
    if os.environ.get(DISABLE_ENV, "") not in ("", "0"):
        return None
    compiler = os.environ.get("CC", "cc")
    key = hashlib.sha256(b"\0".join([SOURCE.read_bytes(), compiler.encode(), " ".join(FLAGS).encode(),
                                     _cpu_name().encode(), platform.machine().encode()])).hexdigest()[:16]
    library = _cache_dir() / f"spatial_multiplexing_{key}.so"
    try:
        if not library.exists():
            _compile(compiler, library)
        lib = ctypes.CDLL(str(library))
    except (OSError, RuntimeError, subprocess.SubprocessError) as error:
        warnings.warn(f"muxnet.deploy: the fused spatial-multiplexing kernel is unavailable ({error}); "
                      f"spatial multiplexing runs its PyTorch form", RuntimeWarning, stacklevel=2)
        return None
    for name in ("spatial_multiplexing_f32", "spatial_multiplexing_f64"):
        fn = getattr(lib, name)
        fn.restype = None
        fn.argtypes = ([ctypes.c_void_p] * 2 + [ctypes.c_int64] * 4 + [ctypes.c_void_p] * 7 + [ctypes.c_int64] * 2
                       + [ctypes.c_void_p, ctypes.c_int])
    lib.spatial_multiplexing_workspace.restype = ctypes.c_int64
    lib.spatial_multiplexing_workspace.argtypes = [ctypes.c_int64] * 6
    return lib


def kernel_available() -> bool:
    return load_kernel() is not None


def _taps(parts: MultiplexedParts):
    """Per output channel and phase: the taps ``(input channel, dy, dx, weight)`` and the bias of every part."""
    taps: list[list[list[tuple[int, int, int, float]]]] = []  # [channel][phase] -> taps
    biases: list[list[float]] = []
    phased: list[bool] = []
    start = 0
    for part, width in zip(parts.parts, parts.widths):
        subpixel = isinstance(part, SubpixelConv)
        conv = part.conv if subpixel else part
        if (not isinstance(conv, nn.Conv2d) or conv.stride != (1, 1) or conv.dilation != (1, 1)
                or conv.in_channels != conv.out_channels):
            raise ValueError(f"the fused kernel takes stride-1, undilated, width-preserving convs, got {conv}")
        weight = conv.weight.detach().double()
        bias = conv.bias.detach().double() if conv.bias is not None else torch.zeros(conv.out_channels,
                                                                                        dtype=torch.float64)
        group_in = conv.in_channels // conv.groups
        pad_y, pad_x = conv.padding
        k_y, k_x = conv.kernel_size
        for c in range(width):
            per_phase, bias_phase = [], []
            for phase in range(PHASES if subpixel else 1):
                out = PHASES * c + phase if subpixel else c  # the conv's output channel
                first = out // group_in * group_in
                found = []
                for j in range(group_in):
                    i = first + j
                    for ky in range(k_y):
                        for kx in range(k_x):
                            w = weight[out, j, ky, kx].item()
                            if w == 0.0:  # the superpixel rewrite's structural zeros
                                continue
                            if subpixel:  # unshuffled channel i: phase plane i % 4 of layer channel i // 4
                                found.append((PHASES * start + i, ky - pad_y, kx - pad_x, w))
                            else:
                                found.append((start + i, ky - pad_y, kx - pad_x, w))
                per_phase.append(found)
                bias_phase.append(bias[out].item())
            taps.append(per_phase)
            biases.append(bias_phase)
            phased.append(subpixel)
        start += width
    return taps, biases, phased


class FusedSpatialMultiplexing(nn.Module):
    """A deployed spatially multiplexed conv computed by the fused kernel; ``reference`` is its PyTorch form.

    Runs the kernel for CPU float32/float64 inputs in eager mode without autograd, the reference otherwise
    (tracing, export, ``torch.compile``, other devices, no compiler, or ``use_kernel = False``).
    """

    def __init__(self, parts: MultiplexedParts):
        super().__init__()
        self.reference = parts
        self.use_kernel = True
        self.layer_name = next((p.layer_name for p in parts.parts if isinstance(p, SubpixelConv)), None)
        taps, biases, phased = _taps(parts)
        dtype = next(parts.parameters()).dtype
        start, flat, bias = [0], [], []
        for per_phase, bias_phase in zip(taps, biases):
            for phase in range(PHASES):
                found = per_phase[phase] if len(per_phase) > 1 else (per_phase[0] if phase == 0 else [])
                flat.extend(found)
                start.append(len(flat))
            bias.extend(bias_phase if len(bias_phase) > 1 else bias_phase * PHASES)
        self.channels = len(taps)
        # how far the taps reach, at full resolution and on the subpixel parts' half-resolution phase planes
        reach = [max((max(abs(t[1]), abs(t[2])) for t in flat[start[4 * c]:start[4 * c + 4]]), default=0)
                 for c in range(self.channels)]
        self.radius = max([r for r, p in zip(reach, phased) if not p], default=0)
        self.half_radius = max([r for r, p in zip(reach, phased) if p], default=0)
        self.register_buffer("start", torch.tensor(start, dtype=torch.int64), persistent=False)
        self.register_buffer("phased", torch.tensor(phased, dtype=torch.int32), persistent=False)
        self.register_buffer("tap_channel", torch.tensor([t[0] for t in flat], dtype=torch.int32), persistent=False)
        self.register_buffer("tap_dy", torch.tensor([t[1] for t in flat], dtype=torch.int32), persistent=False)
        self.register_buffer("tap_dx", torch.tensor([t[2] for t in flat], dtype=torch.int32), persistent=False)
        self.register_buffer("tap_w", torch.tensor([t[3] for t in flat], dtype=dtype), persistent=False)
        self.register_buffer("bias", torch.tensor(bias, dtype=dtype), persistent=False)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_tables"] = None  # addresses and the loaded library are per process (and cannot be pickled)
        return state

    def _apply(self, fn, *args, **kwargs):
        self._tables = None  # .to() / .double() move the tap tables: take their addresses again
        return super()._apply(fn, *args, **kwargs)

    def _kernel_for(self, x: torch.Tensor):
        """The kernel function and the tap tables' addresses, or ``None`` where the reference must run."""
        if not self.use_kernel or torch.jit.is_tracing() or torch.jit.is_scripting() or torch.compiler.is_compiling():
            return None  # tracing (TorchScript ONNX export), torch.export and torch.compile see the reference
        if x.device.type != "cpu" or x.dim() != 4 or (x.requires_grad and torch.is_grad_enabled()):
            return None
        lib = load_kernel()
        if lib is None:
            return None
        if getattr(self, "_tables", None) is None:
            buffers = self._buffers
            if buffers["tap_w"].dtype not in (torch.float32, torch.float64):
                return None
            fn = lib.spatial_multiplexing_f32 if buffers["tap_w"].dtype == torch.float32 else \
                lib.spatial_multiplexing_f64
            self._tables = (lib, fn, buffers["tap_w"].dtype, tuple(
                buffers[name].data_ptr() for name in ("start", "phased", "tap_channel", "tap_dy", "tap_dx",
                                                      "tap_w", "bias")))
        return self._tables if x.dtype == self._tables[2] else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernel = self._kernel_for(x)
        if kernel is None:
            return self.reference(x)
        if self.layer_name is not None:
            check_multiplexable(x, self.layer_name)
        batch, channels, height, width = x.shape
        if channels != self.channels:
            raise ValueError(f"{self.layer_name or 'spatial multiplexing'}: expected {self.channels} channels, "
                             f"got an input of shape {tuple(x.shape)}")
        lib, fn, _, tables = kernel
        x = x.contiguous()
        out = torch.empty_like(x)
        threads = torch.get_num_threads()
        workspace = x.new_empty(lib.spatial_multiplexing_workspace(channels, height, width, self.radius,
                                                                   self.half_radius, threads))
        fn(x.data_ptr(), out.data_ptr(), batch, channels, height, width, *tables, self.radius, self.half_radius,
           workspace.data_ptr(), threads)
        return out


@torch.no_grad()
def fuse_spatial_multiplexing(model: nn.Module) -> nn.Module:
    """Replace (in place) every :class:`MultiplexedParts` by its :class:`FusedSpatialMultiplexing`.

    Apply after BatchNorm folding (the kernel takes the folded bias) and before the grouped-conv rewrite (which
    then rewrites only the reference form, the one ONNX export and ``torch.compile`` use).
    """
    fused = {id(m.reference) for m in model.modules() if isinstance(m, FusedSpatialMultiplexing)}
    return replace_modules(model, lambda m: isinstance(m, MultiplexedParts) and id(m) not in fused,
                           FusedSpatialMultiplexing)
