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

    from ..models import create_model, list_models

    if name.startswith("timm:"):
        return timm.create_model(name.removeprefix("timm:"), num_classes=num_classes).eval()
    if name in list_models() or Path(name).suffix in (".json", ".yaml", ".yml"):
        return create_model(name, num_classes=num_classes).eval()
    return timm.create_model(name, num_classes=num_classes).eval()


def _session_options(threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


def onnxruntime_session(onnx_path: str | Path, threads: int, options=None):
    """An ONNX Runtime CPU session with every graph optimisation and without spinning worker threads
    (``options``: such session options, further configured)."""
    import onnxruntime as ort

    options = options or _session_options(threads)
    return ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])


def prepare(model: nn.Module, path: str, example: torch.Tensor, threads: int, workdir: Path,
            rewrites: Sequence[str] | None = None) -> Callable[[torch.Tensor], object]:
    """A callable running one batch of ``model`` on ``path`` (compiled or exported for ``example``'s shape)."""
    from . import deploy

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
    import torch._dynamo

    torch.set_num_threads(threads)
    x = torch.randn(batch_size, *input_size)
    runners: dict[tuple[str, str], Callable] = {}
    results: dict[tuple[str, str], Measurement] = {}
    # every compiled model is a new variant of the same wrapped frame: past Dynamo's default of 8 variants the
    # rest would silently run eagerly, and the `compile` column would time eager code
    variants = len(models) + 1
    with (tempfile.TemporaryDirectory() as tmp,
          torch._dynamo.config.patch(recompile_limit=max(8, variants),
                                     fail_on_recompile_limit_hit="compile" in paths)):
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


OP_CATEGORIES = {
    "convolution": ("Conv", "FusedConv", "Gemm", "MatMul"),
    "activation": ("QuickGelu", "Relu", "Sigmoid", "HardSigmoid", "HardSwish", "Clip", "Tanh"),
    "squeeze-excite and residual": ("ReduceMean", "GlobalAveragePool", "Mul", "Add", "Sum"),
}


def op_category(op: str) -> str:
    """The category of an operator kind from :func:`onnxruntime_op_times`: ``convolution``, ``activation``,
    ``squeeze-excite and residual``, or ``layout`` (reorders, reshapes, splits, concats, gathers: data movement
    without arithmetic)."""
    kind = op.split(" ")[0]
    return next((name for name, ops in OP_CATEGORIES.items() if kind in ops), "layout")


def category_times(times: Mapping[str, float]) -> dict[str, float]:
    """One model's :func:`onnxruntime_op_times` summed per :func:`op_category`, in ms per inference."""
    totals = dict.fromkeys((*OP_CATEGORIES, "layout"), 0.0)
    for kind, ms in times.items():
        totals[op_category(kind)] += ms
    return totals


def _op_kinds(optimized_path: Path) -> dict[str, str]:
    """Node name -> operator kind in ONNX Runtime's optimised graph; convs are told apart by kernel and groups."""
    import onnx

    graph = onnx.load(str(optimized_path)).graph
    shapes = {t.name: list(t.dims) for t in graph.initializer}
    kinds = {}
    for node in graph.node:
        kind = node.op_type
        weight = shapes.get(node.input[1]) if node.op_type in ("Conv", "FusedConv") and len(node.input) > 1 else None
        if weight is not None and len(weight) == 4:
            groups = next((a.i for a in node.attribute if a.name == "group"), 1)
            kind = f"{node.op_type} {'depthwise ' if groups > 1 else ''}{weight[2]}x{weight[3]}"
        kinds[node.name] = kind
    return kinds


def onnxruntime_op_times(models: Mapping[str, nn.Module], input_size: tuple[int, int, int] = (3, 224, 224),
                         repeats: int = 30, warmup: int = 5, threads: int = 1) -> dict[str, dict[str, float]]:
    """ONNX Runtime's own kernel time per operator kind, in ms per inference, for each (already deployed) model.

    Each model is exported and run in a profiling session; the runs are interleaved like :func:`benchmark`'s.
    The kinds are those of ORT's optimised graph (e.g. its NCHWc ``ReorderInput``/``ReorderOutput`` and fused
    ``QuickGelu``), so the table shows where the time goes once ORT has done its own fusions.
    """
    import json

    from .export import export_onnx

    x = torch.randn(1, *input_size).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        sessions = {}
        for i, (name, model) in enumerate(models.items()):
            onnx_path, optimized = Path(tmp) / f"{i}.onnx", Path(tmp) / f"{i}.optimized.onnx"
            export_onnx(model.eval(), onnx_path, input_size)
            options = _session_options(threads)
            options.optimized_model_filepath = str(optimized)
            options.log_severity_level = 3  # saving an NCHWc graph warns that it is specific to this CPU
            options.enable_profiling = True
            options.profile_file_prefix = str(Path(tmp) / f"profile{i}")
            session = onnxruntime_session(onnx_path, threads, options)
            sessions[name] = (session, session.get_inputs()[0].name, optimized)
        for _ in range(warmup + repeats):  # the warm-up runs are left out of the totals below
            for session, input_name, _ in sessions.values():
                session.run(None, {input_name: x})
        times: dict[str, dict[str, float]] = {}
        for name, (session, _, optimized) in sessions.items():
            kinds = _op_kinds(optimized)
            with open(session.end_profiling()) as f:
                events = json.load(f)
            runs = sorted((e for e in events if e.get("name") == "model_run"), key=lambda e: e["ts"])
            measured_from = runs[warmup - 1]["ts"] + runs[warmup - 1]["dur"] if warmup else 0
            totals: dict[str, float] = {}
            for event in events:
                if (event.get("cat") != "Node" or not event["name"].endswith("_kernel_time")
                        or event["ts"] < measured_from):
                    continue
                kind = kinds.get(event["name"].removesuffix("_kernel_time"), event["args"].get("op_name", "?"))
                totals[kind] = totals.get(kind, 0.0) + event["dur"] / 1e3 / repeats
            times[name] = dict(sorted(totals.items(), key=lambda item: -item[1]))
    return times


def format_op_times(times: Mapping[str, Mapping[str, float]]) -> str:
    """One row per operator kind, one column per model (ms per inference), then the categories' totals."""
    names = list(times)
    kinds = sorted({k for t in times.values() for k in t}, key=lambda k: -max(t.get(k, 0.0) for t in times.values()))
    width = max([len(k) for k in kinds] + [27]) + 2
    column = max([len(n) for n in names] + [10]) + 2
    lines = [f"{'operator (ms per inference)':<{width}}" + "".join(f"{n:>{column}}" for n in names)]
    lines += [f"{k:<{width}}" + "".join(f"{times[n].get(k, 0.0):>{column}.3f}" for n in names) for k in kinds]
    lines.append("")
    categories = {n: category_times(times[n]) for n in names}
    for category in (*OP_CATEGORIES, "layout"):
        lines.append(f"{category:<{width}}" + "".join(f"{categories[n][category]:>{column}.3f}" for n in names))
    lines.append(f"{'total':<{width}}" + "".join(f"{sum(times[n].values()):>{column}.3f}" for n in names))
    return "\n".join(lines)


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
