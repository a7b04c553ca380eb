"""CPU latency of models on every inference path, measured side by side in one interleaved run.

Paths: ``eager`` (the model as built), ``deploy`` (:func:`muxnet.deploy`, which leaves models without muxnet
layers, e.g. timm's, as they are),
``compile`` (``torch.compile`` of the deployed model with Inductor's freezing) and ``onnxruntime`` (the
deployed model exported to ONNX, every ONNX Runtime graph optimisation on, spinning threads off so that one
session's idle workers do not slow the next measurement). Every repeat runs each (model, path) once, in turn,
so that load from other processes hits all of them alike; medians and interquartile spreads are reported, with
ratios to a baseline model on the same path and to its best path. Absolute times only compare within one run.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

PATHS = ("eager", "deploy", "compile", "onnxruntime")


@dataclass
class Measurement:
    model: str
    path: str
    samples_ms: list[float] = field(default_factory=list)
    peak_mb: float | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def spread(self) -> tuple[float, float]:
        """Interquartile range (25th, 75th percentile) in ms."""
        q = statistics.quantiles(self.samples_ms, n=4) if len(self.samples_ms) > 1 else [self.median] * 3
        return q[0], q[2]


def build_model(name: str, num_classes: int = 1000) -> nn.Module:
    """A zoo model or spec file (ours) or any timm model name, in eval mode; ``timm:NAME`` always means timm's
    (timm has its own ``mixnet_m``)."""
    import timm

    from .models import create_model, list_models

    if name.startswith("timm:"):
        return timm.create_model(name.removeprefix("timm:"), num_classes=num_classes).eval()
    if name in list_models() or Path(name).suffix in (".json", ".yaml", ".yml"):
        return create_model(name, num_classes=num_classes).eval()
    return timm.create_model(name, num_classes=num_classes).eval()


def onnxruntime_session(onnx_path: str | Path, threads: int):
    """An ONNX Runtime CPU session with every graph optimisation and without spinning worker threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def prepare(model: nn.Module, path: str, example: torch.Tensor, threads: int, workdir: Path,
            rewrites: Sequence[str] | None = None) -> Callable[[torch.Tensor], object]:
    """A callable running one batch of ``model`` on ``path`` (compiled or exported for ``example``'s shape)."""
    from .deploy import deploy

    if path not in PATHS:
        raise ValueError(f"unknown path {path!r}; expected one of {list(PATHS)}")
    if path == "eager":
        return _no_grad(model)
    # deploy() rewrites only the muxnet layers it finds; other models (timm's) run as they are
    deployed = deploy(model) if rewrites is None else deploy(model, rewrites=tuple(rewrites))
    if path == "deploy":
        return _no_grad(deployed)
    if path == "compile":
        import torch._inductor.config as inductor_config

        runner = _no_grad(torch.compile(deployed, dynamic=False))
        with inductor_config.patch(freezing=True):  # weights become constants Inductor can fold and lay out
            runner(example)
        return runner
    from .export import export_onnx

    onnx_path = workdir / f"{id(model)}.onnx"
    export_onnx(deployed, onnx_path, tuple(example.shape[1:]))
    session = onnxruntime_session(onnx_path, threads)
    input_name = session.get_inputs()[0].name
    return lambda x: session.run(None, {input_name: x.numpy()})


def _no_grad(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return model(x)

    return run


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def benchmark(models: Sequence[str] | Mapping[str, nn.Module], paths: Sequence[str] = PATHS,
              input_size: tuple[int, int, int] = (3, 224, 224),
              batch_size: int = 1, repeats: int = 30, warmup: int = 5, threads: int = 1,
              rewrites: Sequence[str] | None = None, log: Callable[[str], None] | None = None) -> list[Measurement]:
    """Time every (model, path), interleaved; returns one :class:`Measurement` each.

    ``models`` are names (:func:`build_model`) or a mapping of names to modules (e.g. single layers).
    ``rewrites`` limits what the deployed paths rewrite (default: all of :data:`muxnet.deploy.REWRITES`).

    ``peak_mb`` is how much the process's peak resident memory grew while the path was prepared and first run
    (0 when it fitted in memory already used), a rough upper bound of what that path needs on its own.
    """
    torch.set_num_threads(threads)
    x = torch.randn(batch_size, *input_size)
    runners: dict[tuple[str, str], Callable] = {}
    results: dict[tuple[str, str], Measurement] = {}
    with tempfile.TemporaryDirectory() as tmp:
        named = models.items() if isinstance(models, Mapping) else ((n, None) for n in models)
        for name, model in named:
            model = build_model(name) if model is None else model.eval()
            for path in paths:
                before = _peak_rss_mb()
                if log:
                    log(f"preparing {name} on {path}")
                runner = prepare(model, path, x, threads, Path(tmp), rewrites)
                for _ in range(warmup):
                    runner(x)
                runners[name, path] = runner
                results[name, path] = Measurement(name, path, peak_mb=_peak_rss_mb() - before)
        for _ in range(repeats):
            for key, runner in runners.items():
                start = time.perf_counter()
                runner(x)
                results[key].samples_ms.append((time.perf_counter() - start) * 1e3)
    return list(results.values())


def best_paths(results: Sequence[Measurement]) -> dict[str, Measurement]:
    """Each model's fastest path (lowest median)."""
    best: dict[str, Measurement] = {}
    for m in results:
        if m.model not in best or m.median < best[m.model].median:
            best[m.model] = m
    return best


def format_table(results: Sequence[Measurement], baseline: str | None = None) -> str:
    """Median, spread, ratio to ``baseline`` on the same path, and each model's best path against the baseline's."""
    if not results:
        return "(nothing measured)"
    baseline = baseline or results[0].model
    by_key = {(m.model, m.path): m for m in results}
    best = best_paths(results)
    width = max(len(m.model) for m in results) + 2
    lines = [f"{'model':<{width}}{'path':<13}{'median ms':>10}{'IQR ms':>16}{'vs ' + baseline:>{len(baseline) + 5}}"
             f"{'peak MB':>9}"]
    for m in results:
        ref = by_key.get((baseline, m.path))
        ratio = f"{m.median / ref.median:.2f}x" if ref else "-"
        low, high = m.spread
        lines.append(f"{m.model:<{width}}{m.path:<13}{m.median:>10.2f}{f'{low:.2f}-{high:.2f}':>16}"
                     f"{ratio:>{len(baseline) + 5}}{m.peak_mb or 0:>9.0f}")
    if baseline in best:
        lines.append("")
        lines.append(f"best path per model, ratio to {baseline}'s best ({best[baseline].path}):")
        for name, m in best.items():
            lines.append(f"  {name:<{width}}{m.path:<13}{m.median:>10.2f}{m.median / best[baseline].median:>8.2f}x")
    return "\n".join(lines)


def check_writable(path: str | Path, overwrite: bool = False) -> None:
    """Refuse, before anything is measured, to replace an existing file unless asked to."""
    if Path(path).exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; choose another path or pass --overwrite")


def plot(results: Sequence[Measurement], output: str | Path) -> Path:
    """A grouped bar chart (one group per model, one bar per path) of the medians, with IQR whiskers."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(m.model for m in results))
    paths = list(dict.fromkeys(m.path for m in results))
    by_key = {(m.model, m.path): m for m in results}
    width = 0.8 / len(paths)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(models) * max(1, len(paths) / 2)), 4))
    for j, path in enumerate(paths):
        xs, ys, errs = [], [], [[], []]
        for i, name in enumerate(models):
            m = by_key.get((name, path))
            if m is None:
                continue
            low, high = m.spread
            xs.append(i + (j - (len(paths) - 1) / 2) * width)
            ys.append(m.median)
            errs[0].append(max(0.0, m.median - low))
            errs[1].append(max(0.0, high - m.median))
        ax.bar(xs, ys, width, yerr=errs, label=path, capsize=2)
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels(models, rotation=30, ha="right")
    ax.set_ylabel("median latency (ms)")
    ax.legend()
    fig.tight_layout()
    output = Path(output)
    fig.savefig(output, dpi=120)
    plt.close(fig)
    return output
