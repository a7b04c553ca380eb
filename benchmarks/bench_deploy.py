"""Every inference path (eager, deployed, torch.compile with freezing, ONNX Runtime) for the zoo and timm baselines,
and a spatially multiplexed conv against the depthwise conv of the same width, each in one interleaved run.

    python benchmarks/bench_deploy.py models [--paths eager deploy onnxruntime] [--repeats 40] [--threads 1]
    python benchmarks/bench_deploy.py layers [--repeats 40]   # also the deployed layers without the fused kernel
    python benchmarks/bench_deploy.py rewrites [--models muxnet_m muxnet_s]   # what each rewrite buys
    python benchmarks/bench_deploy.py subset --models muxnet_xs muxnet_m --rewrites batchnorm grouped_conv \
        --references mobilenetv3_small_100   # every rewrite vs only the given ones, next to as-built references
    python benchmarks/bench_deploy.py ops --models muxnet_m mobilenetv3_large_100 muxnet_xs mobilenetv3_small_100
        # ONNX Runtime's kernel time per operator, and each pair's floor: a model without its layout work (and its
        # convs and activations alone) against the other model's whole inference
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from muxnet.deploy import REWRITES, FusedSpatialMultiplexing, deploy
from muxnet.deploy.latency_benchmark import (
    PATHS,
    benchmark,
    build_model,
    category_times,
    format_op_times,
    format_table,
    onnxruntime_op_times,
    plot,
)
from muxnet.layers import SpatialMultiplexConv

MODELS = ["muxnet_m", "mobilenetv3_large_100", "muxnet_l", "muxnet_s", "muxnet_xs", "mobilenetv3_small_100",
          "mixnet_s", "mixnet_m", "timm:mixnet_m", "mobilenetv2_100", "efficientnet_b0"]


def layers(channels: int) -> dict[str, nn.Module]:
    """The kxk conv of MUXNet-xs/s blocks next to the depthwise conv it replaces (same width and kernel)."""
    def bn(module: nn.Module) -> nn.Module:  # with the BatchNorm that follows it in a block, so folding counts
        return nn.Sequential(module, nn.BatchNorm2d(channels))

    return {
        "depthwise 3x3": bn(nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False)),
        "spatial mux [-1,0,0] G=1 k3 (xs)": bn(SpatialMultiplexConv(channels, 3, 1, (-1, 0, 0))),
        "spatial mux [-1,0,0,1] G=2 k3 (s)": bn(SpatialMultiplexConv(channels, 3, 2, (-1, 0, 0, 1))),
        "depthwise 5x5": bn(nn.Conv2d(channels, channels, 5, padding=2, groups=channels, bias=False)),
        "spatial mux [1,0,1] G=1 k5 (xs)": bn(SpatialMultiplexConv(channels, 5, 1, (1, 0, 1))),
        "spatial mux [0,0,1] G=1 k5 (s)": bn(SpatialMultiplexConv(channels, 5, 1, (0, 0, 1))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("models", "layers", "rewrites", "subset", "ops"))
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--paths", nargs="+", default=list(PATHS), choices=PATHS)
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rewrites", nargs="+", default=[], choices=REWRITES, help="subset: the smaller rewrite set")
    parser.add_argument("--references", nargs="+", default=[], help="subset: models timed as built alongside")
    parser.add_argument("--chart", help="also write a PNG bar chart")
    parser.add_argument("--pairs", nargs="*", default=["muxnet_m:mobilenetv3_large_100",
                                                       "muxnet_xs:mobilenetv3_small_100"],
                        help="ops: MODEL:REFERENCE pairs whose floor to print")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {args.threads} thread(s), median of {args.repeats} interleaved runs")
    if args.what == "models":
        results = benchmark([m.removeprefix("timm/") if m == "timm:mixnet_m" else m for m in args.models],
                            args.paths, repeats=args.repeats, threads=args.threads)
        print("batch 1, 3x224x224")
        print(format_table(results))
    elif args.what == "ops":
        models = {name: deploy(build_model(name)) for name in args.models}
        times = onnxruntime_op_times(models, repeats=args.repeats, threads=args.threads)
        print("batch 1, 3x224x224, ONNX Runtime kernel time per operator kind (its optimised graph)")
        print(format_op_times(times))
        print()
        for pair in args.pairs:
            name, reference = pair.split(":")
            if name in times and reference in times:
                categories = category_times(times[name])
                arithmetic = sum(categories.values()) - categories["layout"]
                convs = categories["convolution"] + categories["activation"]
                total = sum(times[reference].values())
                print(f"{name} without its layout work: {arithmetic:.2f} ms = {arithmetic / total:.2f}x "
                      f"{reference}'s whole inference ({total:.2f} ms); its convolutions and activations alone: "
                      f"{convs:.2f} ms = {convs / total:.2f}x")
        results = []  # nothing to chart
    elif args.what == "subset":
        variants = {}
        for name in args.models:
            model = build_model(name)
            variants[f"{name} deployed"] = deploy(model)
            variants[f"{name} only {'+'.join(args.rewrites) or 'none'}"] = deploy(model, rewrites=tuple(args.rewrites))
        variants.update({name: build_model(name) for name in args.references})
        results = benchmark(variants, args.paths, repeats=args.repeats, threads=args.threads, rewrites=())
        print(f"batch 1, 3x224x224; every rewrite vs only {args.rewrites}; references as built")
        print(format_table(results))
    elif args.what == "rewrites":
        variants = {}
        for name in args.models:
            model = build_model(name)
            variants[f"{name} as built"] = model
            for rewrite in REWRITES:
                variants[f"{name} + {rewrite}"] = deploy(model, rewrites=(rewrite,))
            variants[f"{name} deployed"] = deploy(model)
        paths = [p for p in args.paths if p in ("eager", "onnxruntime")]
        results = benchmark(variants, paths, repeats=args.repeats, threads=args.threads, rewrites=())
        print("batch 1, 3x224x224; each rewrite alone, then all of them")
        print(format_table(results))
    else:
        channels, size = 120, 28
        variants = layers(channels)
        for name, layer in list(variants.items()):  # the deployed layer without the fused kernel, for comparison
            if name.startswith("spatial mux"):
                reference = deploy(layer)
                for module in reference.modules():
                    if isinstance(module, FusedSpatialMultiplexing):
                        module.use_kernel = False
                variants[f"{name} PyTorch form"] = reference
        results = benchmark(variants, args.paths, input_size=(channels, size, size), repeats=args.repeats,
                            threads=args.threads)
        print(f"one layer (+ its BatchNorm): {channels} channels, {size}x{size}, batch 1")
        print(format_table(results))
    if args.chart and results:
        plot(results, args.chart)


if __name__ == "__main__":
    main()
