"""How well the per-block latency table predicts whole networks (the search's ``latency`` objective).

Builds a latency table from scratch (eager PyTorch, batch 1, ``--threads`` intra-op threads; with one thread
the thread's CPU time, see ``muxnet.profiling.latency.clock_for``) for a few genomes of the ``small`` preset
(the space's cheapest and most expensive genomes and ``--genomes`` seeded random ones, 32x32) and the zoo
models at their input sizes, network by network: the network's missing table entries are timed, then the whole
network (warm-up, median of ``--repeats`` runs). It prints, per network, the table's sum, the measured latency
and the relative error, the mean and max relative error per group, the table's size and build time, and the
load average before and after (the cores may be shared; latencies under load are noisy).

    python benchmarks/bench_latency_table.py [--genomes 6] [--zoo muxnet_xs muxnet_s muxnet_m muxnet_l mixnet_s]
                                             [--threads 1] [--repeats 25]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from muxnet.models.zoo import get_spec
from muxnet.profiling.latency import LatencyTable
from muxnet.search.space import SearchSpace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--genomes", type=int, default=6, help="random small-preset genomes besides the extremes")
    parser.add_argument("--zoo", nargs="*", default=["muxnet_xs", "muxnet_s", "muxnet_m", "muxnet_l", "mixnet_s"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)

    space = SearchSpace("small")
    rng = np.random.default_rng(args.seed)
    genomes = [*space.extreme_genomes(), *(space.sample(rng) for _ in range(args.genomes))]
    groups = {"small preset (32x32)": [space.decode(g, name=f"small_{i}") for i, g in enumerate(genomes)],
              "zoo (224x224)": [get_spec(name) for name in args.zoo]}

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        table = LatencyTable(Path(tmp) / "lut.json", threads=args.threads, repeats=args.repeats)
        print(f"machine: {table.machine}")
        print(f"{'network':<14}{'input':>9}{'table ms':>11}{'measured ms':>13}{'rel. error':>12}")
        summary = []
        started = time.perf_counter()
        for group, specs in groups.items():
            entries_before = len(table)
            clock = time.perf_counter()
            validation = table.validate(specs)
            for spec, predicted, measured, error in zip(specs, validation.table_ms, validation.measured_ms,
                                                        validation.relative_errors):
                size = "x".join(str(v) for v in spec.input_size[1:])
                print(f"{spec.name:<14}{size:>9}{predicted:>11.2f}{measured:>13.2f}{error:>12.1%}")
            summary.append((group, validation, len(table) - entries_before, time.perf_counter() - clock))
        total = time.perf_counter() - started
    load_after = os.getloadavg()
    print()
    print(f"{'group':<22}{'networks':>9}{'mean err':>10}{'max err':>9}{'new entries':>13}{'seconds':>9}")
    for group, validation, new, seconds in summary:
        print(f"{group:<22}{len(validation.names):>9}{validation.mean_error:>10.1%}{validation.max_error:>9.1%}"
              f"{new:>13}{seconds:>9.1f}")
    errors = [e for _, v, _, _ in summary for e in v.relative_errors]
    print(f"all: {len(errors)} networks, mean relative error {statistics.fmean(errors):.1%}, max {max(errors):.1%}; "
          f"{len(table)} table entries measured, {total:.0f} s in all")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
