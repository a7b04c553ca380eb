"""Build the project's tabular NAS benchmark: every genome of an enumerable sub-space, proxy-trained once.

No public tabular benchmark of this search space exists (nor could one be downloaded here), so this script makes
one with the project's own proxy trainer: the ``small`` preset (32x32, 10 classes), a fixed base genome, and ten
genes left two options each (2^10 = 1,024 genomes): whether each of the four stages has a normal block
(N in {0, 1}), the expansion ratio E of each stage's reduction block, and the reduction kernels of stages 3 and 4.
Every one of these genes changes the network (a gene of a stage's normal blocks would collapse when N = 0), so
the table holds 1,024 distinct networks, and none is deeper than one normal block per stage, which keeps the
table buildable on a CPU. Each genome is trained on the digits training split and its error measured on the
validation split, with a per-genome seed, so the table is reproducible row by row.

It is meant to run in the background: each finished genome is appended (and flushed) to a CSV, a restart skips
the rows already there, and ``--shard i/n`` splits the work across processes. The partial CSVs live beside the
table (``--work``; committed while a build is unfinished, so any machine can continue it). When every genome
is done the CSV is compressed to ``--output`` (``.csv.gz``: genome, error, params, madds, seconds) beside a JSON
description of the sub-space and the command that made it.

    python benchmarks/build_tabular_benchmark.py      # resumable; 7-30 s per genome on one core
    python benchmarks/build_tabular_benchmark.py --shard 0/2 & python benchmarks/build_tabular_benchmark.py --shard 1/2
"""

from __future__ import annotations

import argparse
import csv
import gzip
import itertools
import json
import sys
import time
from pathlib import Path

import torch

from muxnet.data.digits import load_digits
from muxnet.profiling import count_spec
from muxnet.runtime.arguments import add_alias
from muxnet.search.evaluators import candidate_seed, train_candidate
from muxnet.search.space import SearchSpace, genome_key

# The genes left free, each with the option indices it takes, and the base genome's option for every other gene
# (MUXNet-m's choices where it has them: K=3, G=2, L=0.5, no spatial multiplexing, E=6).
FREE_GENES: dict[str, tuple[int, ...]] = {
    **{f"stage{s}.normal.repeat": (0, 1) for s in range(1, 5)},  # N = 0 or 1
    **{f"stage{s}.reduction.expand_ratio": (0, 1) for s in range(1, 5)},  # E = 4 or 6
    **{f"stage{s}.reduction.kernel_size": (0, 1) for s in (3, 4)},  # 3 or MixConv [3, 5, 7]
}
BASE_OPTIONS = {"normal.kernel_size": 3, "normal.expand_ratio": 6, "normal.group_factor": 2, "normal.repeat": 1,
                "normal.leave_out": 0.5, "normal.scales": (), "reduction.kernel_size": (3, 5, 7),
                "reduction.expand_ratio": 6}


def base_genome(space: SearchSpace) -> list[int]:
    return [gene.options.index(BASE_OPTIONS[gene.name]) for gene in space.genes]


def enumerate_genomes(space: SearchSpace, free: dict[str, tuple[int, ...]] = FREE_GENES) -> list[tuple[int, ...]]:
    labels = [g.label for g in space.genes]
    positions = [labels.index(name) for name in free]
    base = base_genome(space)
    genomes = []
    for choice in itertools.product(*free.values()):
        genome = list(base)
        for p, v in zip(positions, choice):
            genome[p] = v
        genomes.append(tuple(genome))
    return genomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default="benchmarks/data/tabular_small.parts", help="directory of the partial CSVs")
    output = parser.add_argument("--output", default="benchmarks/data/tabular_small.csv.gz")
    add_alias(parser, "--out", output)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shard", default="0/1", help="i/n: evaluate every n-th genome starting at i")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    index, count = (int(v) for v in args.shard.split("/"))
    torch.set_num_threads(args.threads)

    space = SearchSpace("small")
    genomes = enumerate_genomes(space)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    partial = work / f"shard{index}of{count}.csv"
    done = set()
    if partial.exists():
        with partial.open(newline="") as handle:
            done = {row["genome"] for row in csv.DictReader(handle)}
    data = load_digits(image_size=space.preset.input_size[1], channels=space.preset.input_size[0], seed=args.seed)
    mine = [g for i, g in enumerate(genomes) if i % count == index and genome_key(g) not in done]
    print(f"{len(genomes)} genomes in the sub-space; shard {index}/{count}: {len(done)} done, {len(mine)} to go",
          flush=True)
    new_file = not partial.exists() or partial.stat().st_size == 0
    with partial.open("a", newline="") as handle:
        writer = csv.writer(handle)
        if new_file:
            writer.writerow(["genome", "error", "params", "madds", "seconds"])
        for n, genome in enumerate(mine, start=1):
            key = genome_key(genome)
            spec = space.decode(genome)
            params, madds = count_spec(spec)
            clock = time.perf_counter()
            try:
                error = train_candidate(spec, data.train, data.val, args.epochs, batch_size=64, lr=3e-3,
                                        seed=candidate_seed(args.seed, key))
            except RuntimeError as err:  # a diverging candidate is a row with an empty error, not a crash
                print(f"{key}: {err}", file=sys.stderr)
                error = ""
            writer.writerow([key, error, params, madds, f"{time.perf_counter() - clock:.2f}"])
            handle.flush()
            if n % 20 == 0:
                print(f"shard {index}/{count}: {n}/{len(mine)}", flush=True)
    merge(work, genomes, Path(args.output), args)


def merge(work: Path, genomes: list[tuple[int, ...]], out: Path, args: argparse.Namespace) -> None:
    rows: dict[str, list[str]] = {}
    for path in sorted(work.glob("shard*.csv")):
        with path.open(newline="") as handle:
            for row in csv.reader(handle):
                if row and row[0] != "genome":
                    rows[row[0]] = row
    missing = [genome_key(g) for g in genomes if genome_key(g) not in rows]
    if missing:
        print(f"{len(missing)} genomes still missing (other shards running?); not writing {out}")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(out, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["genome", "error", "params", "madds", "seconds"])
        for g in genomes:
            writer.writerow(rows[genome_key(g)])
    description = {"preset": "small", "free_genes": {k: list(v) for k, v in FREE_GENES.items()}, "base_options": {
        k: list(v) if isinstance(v, tuple) else v for k, v in BASE_OPTIONS.items()},
        "genomes": len(genomes), "epochs": args.epochs, "seed": args.seed, "data": "digits train/val, 32x32",
        "trainer": "muxnet.search.evaluators.train_candidate (AdamW lr 3e-3, batch 64)",
        "command": "python benchmarks/build_tabular_benchmark.py " + " ".join(sys.argv[1:])}
    out.with_suffix("").with_suffix(".json").write_text(json.dumps(description, indent=2) + "\n")
    print(f"wrote {out} ({len(genomes)} rows)")


if __name__ == "__main__":
    main()
