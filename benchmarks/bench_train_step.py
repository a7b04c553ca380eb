"""Training-step time by memory layout: NCHW (PyTorch's default) against channels-last, side by side in one run.

A training step is what the ablation sweeps, the capacity check and the retrained picks spend their hours on: a
forward, a backward and an SGD update of one batch. The step is timed for each model in each layout, interleaved
(model A in NCHW, A channels-last, B in NCHW, ...) after a warm-up, and the table reports the median per
layout and its ratio to NCHW. The same weights and batch go through both layouts, and the largest difference of
their first losses is printed, to show the layouts compute the same step (they differ in float rounding only).

Zoo names are adapted to ``--image-size`` the way ``muxnet ablate`` adapts its members
(:func:`muxnet.models.ablations.for_input_size`); a spec file (.yaml/.json) is taken as it is.

    PYTHONPATH=src python benchmarks/bench_train_step.py \
        --models mobilenetv2_baseline_050 mobilenetv2_spatialmux_050 mobilenetv2_vanilla_k7 --repeats 10
    # a recipe uses the faster layout with --set training.channels_last=true
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from torch import nn

from muxnet.models import build_model, resolve_spec
from muxnet.models.ablations import for_input_size
from muxnet.models.factory import SPEC_SUFFIXES

LAYOUTS = {"nchw": torch.contiguous_format, "channels_last": torch.channels_last}
DEFAULT_MODELS = ["mobilenetv2_baseline_050", "mobilenetv2_spatialmux_050", "mobilenetv2_channelmux_l025",
                  "mobilenetv2_vanilla_k7", "mobilenetv2_mixconv_k3to9"]


def adapted_model(name: str, image_size: int, num_classes: int) -> nn.Module:
    spec, _ = resolve_spec(name)
    if not name.endswith(SPEC_SUFFIXES):
        spec = for_input_size(spec, image_size).replace(num_classes=num_classes)
    return build_model(spec).train()


class Step:
    """One SGD step of ``model`` on a fixed batch, in ``layout``."""

    def __init__(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor, layout: torch.memory_format):
        self.model = model.to(memory_format=layout)
        self.images = images.contiguous(memory_format=layout)
        self.labels = labels
        self.optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        self.criterion = nn.CrossEntropyLoss()

    def __call__(self) -> float:
        self.optimizer.zero_grad(set_to_none=True)
        loss = self.criterion(self.model(self.images), self.labels)
        loss.backward()
        self.optimizer.step()
        return loss.item()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS, help="zoo names or spec files")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)

    generator = torch.Generator().manual_seed(0)
    images = torch.randn(args.batch_size, 3, args.image_size, args.image_size, generator=generator)
    labels = torch.randint(0, args.num_classes, (args.batch_size,), generator=generator)
    steps: dict[tuple[str, str], Step] = {}
    first_loss: dict[tuple[str, str], float] = {}
    for name in args.models:
        torch.manual_seed(0)
        model = adapted_model(name, args.image_size, args.num_classes)
        for layout, memory_format in LAYOUTS.items():
            step = steps[name, layout] = Step(copy.deepcopy(model), images, labels, memory_format)
            torch.manual_seed(1)  # the same dropout masks in both layouts
            first_loss[name, layout] = step()
            for _ in range(args.warmup - 1):
                step()
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in steps}
    for _ in range(args.repeats):
        for key, step in steps.items():
            start = time.perf_counter()
            step()
            samples[key].append(time.perf_counter() - start)

    print(f"torch {torch.__version__}, {args.threads} thread(s), batch {args.batch_size}, "
          f"{args.image_size}x{args.image_size}, median of {args.repeats} interleaved steps (forward, backward, SGD)")
    width = max(len(name) for name in args.models) + 2
    print(f"{'model':{width}s}{'NCHW ms':>10s}{'channels-last ms':>18s}{'ratio':>8s}{'|loss diff|':>13s}")
    for name in args.models:
        nchw, last = (statistics.median(samples[name, layout]) * 1e3 for layout in LAYOUTS)
        diff = abs(first_loss[name, "nchw"] - first_loss[name, "channels_last"])
        print(f"{name:{width}s}{nchw:10.1f}{last:18.1f}{last / nchw:7.2f}x{diff:13.1e}")


if __name__ == "__main__":
    main()
