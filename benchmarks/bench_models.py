"""CPU inference latency of the zoo next to timm baselines, measured side by side in one run.

Timings are interleaved (model A, B, C, A, B, C, ...) so that machine noise hits every model alike; the table
reports the median per model and its ratio to the first model. Absolute milliseconds are not comparable across
runs or machines; the ratios are what to read.

    python benchmarks/bench_models.py [--threads 1] [--repeats 30] [--size 224] [--models muxnet_m mixnet_m ...]
        [--deploy]   # time the muxnet.deploy() forms (timm models run as built)
"""

from __future__ import annotations

import argparse
import statistics
import time

import timm
import torch

import muxnet

DEFAULT_MODELS = ["muxnet_m", "muxnet_l", "mixnet_s", "mixnet_m", "mobilenetv2_100", "mobilenetv3_large_100"]


def build(name: str) -> torch.nn.Module:
    model = muxnet.create_model(name) if name in muxnet.list_models() else timm.create_model(name)
    return model.eval()


def layer_models(channels: int) -> dict[str, torch.nn.Module]:
    """The kxk convolution of a normal block: depthwise vs grouped (G=2) vs spatially multiplexed."""
    from torch import nn

    from muxnet.layers import SpatialMultiplexConv

    return {
        "depthwise 3x3": nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
        "grouped 3x3 (G=2)": nn.Conv2d(channels, channels, 3, padding=1, groups=channels // 2, bias=False),
        "spatial mux [-1,0,0,1] G=2": SpatialMultiplexConv(channels, 3, 2, (-1, 0, 0, 1)),
        "spatial mux [1,0,1] G=2": SpatialMultiplexConv(channels, 3, 2, (1, 0, 1)),
    }


@torch.no_grad()
def time_side_by_side(models: dict[str, torch.nn.Module], inputs: torch.Tensor, repeats: int) -> dict[str, float]:
    for model in models.values():  # warm-up
        for _ in range(3):
            model(inputs)
    samples: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(repeats):
        for name, model in models.items():
            start = time.perf_counter()
            model(inputs)
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1e3 for name, values in samples.items()}


def print_table(title: str, times: dict[str, float], extra: dict[str, str] | None = None) -> None:
    reference = next(iter(times.values()))
    width = max(len(n) for n in times) + 2
    print(f"\n{title}")
    print(f"{'model':<{width}}{'median ms':>10}{'ratio':>8}  {'' if not extra else 'params / MAdds'}")
    for name, ms in times.items():
        print(f"{name:<{width}}{ms:>10.2f}{ms / reference:>7.2f}x  {(extra or {}).get(name, '')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--deploy", action="store_true", help="time the exact muxnet.deploy() forms")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), batch 1, {args.size}x{args.size}, "
          f"median of {args.repeats} interleaved runs")

    models = {name: build(name) for name in args.models}
    counts = {}
    for name, model in models.items():
        p = muxnet.profile(model, (3, args.size, args.size))
        counts[name] = f"{p.params / 1e6:.2f}M / {p.madds / 1e6:.0f}M"
    if args.deploy:
        models = {name: muxnet.deploy(model) for name, model in models.items()}
    form = "deployed" if args.deploy else "as built"
    times = time_side_by_side(models, torch.randn(1, 3, args.size, args.size), args.repeats)
    print_table(f"Whole models (CPU, batch 1, {form})", times, counts)

    layers = layer_models(240)
    if args.deploy:
        layers = {name: muxnet.deploy(layer) for name, layer in layers.items()}
    layer_times = time_side_by_side(layers, torch.randn(8, 240, 28, 28), args.repeats)
    print_table(f"The kxk conv of a normal block: 240 channels, 28x28, batch 8, {form}", layer_times)


if __name__ == "__main__":
    main()
