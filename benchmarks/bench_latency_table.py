"""How well the per-block latency table predicts whole networks (the search's ``latency`` objective).

Builds a latency table from scratch (eager PyTorch, batch 1, ``--threads`` intra-op threads; with one thread
the thread's CPU time, see ``muxnet.profiling.latency.clock_for``) for a few genomes of the ``small`` preset
(the space's cheapest and most expensive genomes and ``--genomes`` seeded random ones, 32x32) and the zoo
models at their input sizes, network by network: the network's missing table entries are timed, then the whole
network (warm-up, median of ``--repeats`` runs); ``--rounds`` times over, each round with a fresh table. It
prints, per network, the median over rounds of the table's sum and of the measured latency, their relative error
(and each round's), the mean and max relative error per group, the table's size and build time per round, and
the load average before and after (the cores may be shared; latencies under load are noisy).

    python benchmarks/bench_latency_table.py [--genomes 6] [--zoo muxnet_xs muxnet_s muxnet_m muxnet_l mixnet_s]
                                             [--threads 1] [--repeats 25] [--rounds 3]
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
    parser.add_argument("--rounds", type=int, default=3, help="fresh tables built and validated one after another")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)

    space = SearchSpace("small")
    rng = np.random.default_rng(args.seed)
    genomes = [*space.extreme_genomes(), *(space.sample(rng) for _ in range(args.genomes))]
    groups = {"small preset (32x32)": [space.decode(g, name=f"small_{i}") for i, g in enumerate(genomes)],
              "zoo (224x224)": [get_spec(name) for name in args.zoo]}

    load_before = os.getloadavg()
    rounds: dict[str, list] = {group: [] for group in groups}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):  # each round builds a fresh table: entries and networks measured anew
            table = LatencyTable(Path(tmp) / f"lut{r}.json", threads=args.threads, repeats=args.repeats)
            for group, specs in groups.items():
                entries_before, clock = len(table), time.perf_counter()
                rounds[group].append((table.validate(specs), len(table) - entries_before,
                                      time.perf_counter() - clock))
    total = time.perf_counter() - started
    load_after = os.getloadavg()
    print(f"machine: {table.machine}; {args.rounds} rounds, median over rounds")
    print(f"{'network':<14}{'input':>9}{'table ms':>11}{'measured ms':>13}{'rel. error':>12}   per round")
    errors: dict[str, list[float]] = {}
    for group, specs in groups.items():
        errors[group] = []
        for i, spec in enumerate(specs):
            predicted = statistics.median(v.table_ms[i] for v, _, _ in rounds[group])
            measured = statistics.median(v.measured_ms[i] for v, _, _ in rounds[group])
            errors[group].append(abs(predicted / measured - 1.0))
            per_round = " ".join(f"{v.relative_errors[i]:.0%}" for v, _, _ in rounds[group])
            size = "x".join(str(v) for v in spec.input_size[1:])
            print(f"{spec.name:<14}{size:>9}{predicted:>11.2f}{measured:>13.2f}{errors[group][-1]:>12.1%}   "
                  f"{per_round}")
    print()
    print(f"{'group':<22}{'networks':>9}{'mean err':>10}{'max err':>9}{'entries':>9}{'build s':>9}")
    for group, specs in groups.items():
        new = rounds[group][0][1]
        seconds = statistics.median(s for _, _, s in rounds[group])
        print(f"{group:<22}{len(specs):>9}{statistics.fmean(errors[group]):>10.1%}{max(errors[group]):>9.1%}"
              f"{new:>9}{seconds:>9.1f}")
    every = [e for group in errors.values() for e in group]
    print(f"all: {len(every)} networks, mean relative error {statistics.fmean(every):.1%}, max {max(every):.1%}; "
          f"{total:.0f} s in all")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")


if __name__ == "__main__":
    main()
