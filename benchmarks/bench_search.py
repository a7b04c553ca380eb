"""MOEA/D against regularized evolution at equal budget: the paper's Fig. 9 protocol.

Both algorithms run through the same driver, with the same targets, scalarisation and number of proposed
models. Regularized evolution splits its budget into one run per target; MOEA/D solves all sub-problems
together. For each seed and target the table prints the best scalarised value among everything the run
evaluated (``--scalarization``, default the search's ASF; ``pbi`` for the paper's; lower is better) and that
pick's relative distance to the target; below it, per target, the mean over seeds, how many seeds each
algorithm won, and a paired Wilcoxon signed-rank test over the seeds (two-sided p).

The evaluator is either the project's tabular benchmark (``--table``, made by
``benchmarks/build_tabular_benchmark.py``: every genome of an enumerable sub-space proxy-trained once, so a
search is a sequence of look-ups and the best value the table holds for each target is known: the table also
prints each algorithm's gap to it), or the deterministic synthetic stand-in (``--synthetic``; error falls with
capacity, plus genome-seeded noise) over the whole ``small`` space.

    python benchmarks/bench_search.py --table benchmarks/data/tabular_small.csv.gz --plot fig9.png
    python benchmarks/bench_search.py --synthetic --seeds 0 1 2 --population 18 --generations 6
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon

from muxnet.search.decomposition import parse_targets
from muxnet.search.driver.search_run import SearchConfig, build_problem, run_search
from muxnet.search.evaluators import TableEvaluator
from muxnet.search.objectives import ComplexityCache
from muxnet.search.space import SearchSpace, parse_genome_key

# Three targets spread over the tabular benchmark's range (params 0.41-0.58M, MAdds 1.41-2.18M).
TABLE_TARGETS = "params=0.45M,madds=1.55M;params=0.5M,madds=1.8M;params=0.56M,madds=2.05M"


def table_optimum(config: SearchConfig) -> list[float]:
    """Per target, the best scalarised value any genome of the table reaches (the search's own problem, built
    from ``config``)."""
    table = TableEvaluator(config.evaluator[len("table:"):])
    space = SearchSpace.covering([parse_genome_key(k) for k in table.table], config.preset)
    complexity = ComplexityCache(space)
    problem = build_problem(config, space, complexity, parse_targets(config.targets))
    raw = []
    for key, error in table.table.items():
        cost = complexity(parse_genome_key(key))
        raw.append((error, cost.params, cost.madds))
    F = problem.normaliser.normalise_many(np.array(raw))
    return [float(scores.min()) for scores in problem.target_scores(F)]


def run_once(config: SearchConfig) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result = run_search(config, tmp, log=lambda _line: None)
        summary = json.loads((Path(tmp) / "summary.json").read_text())
    picks = [t["models"][0] for t in summary["best_per_target"]]
    return {"evaluations": result.evaluations, "best": [p["scalarized"] for p in picks],
            "distance": [p["distance"] for p in picks]}


def paired_test(moead: np.ndarray, re: np.ndarray) -> float:
    """Two-sided p of the Wilcoxon signed-rank test over seeds (1.0 when the two never differ)."""
    if np.allclose(moead, re):
        return 1.0
    return float(wilcoxon(moead, re, zero_method="zsplit").pvalue)


def plot(results: dict, targets: list[str], optimum: list[float] | None, path: Path, name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(targets), figsize=(3.6 * len(targets), 3.4), squeeze=False)
    for t, (ax, label) in enumerate(zip(axes[0], targets)):
        data = [[run["best"][t] for run in results[a]] for a in ("moead", "re")]
        ax.boxplot(data, tick_labels=["MOEA/D", "RE (split)"])
        for i, values in enumerate(data, start=1):
            ax.scatter(np.full(len(values), i) + np.linspace(-0.08, 0.08, len(values)), values, s=10, alpha=0.6)
        if optimum is not None:
            ax.axhline(optimum[t], color="grey", linestyle="--", linewidth=1, label="table optimum")
            ax.legend(fontsize=7)
        ax.set_title(f"target {t + 1}: {label}", fontsize=8)
        ax.set_ylabel(f"best {name} (lower is better)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--table", type=Path, help="a tabular benchmark (.csv.gz from build_tabular_benchmark.py)")
    source.add_argument("--synthetic", action="store_true", help="the synthetic evaluator over the whole space")
    parser.add_argument("--targets", help="default: three targets inside the table's range, or the search's "
                        "default targets with --synthetic")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--population", type=int, default=18, help="sub-problems (MOEA/D's population)")
    parser.add_argument("--generations", type=int, default=6,
                        help="budget = population x (generations + 1) proposed models for each algorithm")
    parser.add_argument("--scalarization", default=SearchConfig().scalarization)
    parser.add_argument("--json", type=Path, help="write every run's numbers here")
    parser.add_argument("--plot", type=Path, help="write a box plot per target here (PNG)")
    args = parser.parse_args()

    if args.table is not None and not args.table.is_file():
        sys.exit(f"no tabular benchmark at {args.table}; build it with benchmarks/build_tabular_benchmark.py")
    evaluator = "synthetic" if args.synthetic else f"table:{args.table}"
    targets = args.targets or (SearchConfig().targets if args.synthetic else TABLE_TARGETS)

    def config(algorithm: str, seed: int) -> SearchConfig:
        return SearchConfig(algorithm=algorithm, evaluator=evaluator, restrict_to_table=not args.synthetic,
                            targets=targets, population=args.population, generations=args.generations,
                            seed=seed, scalarization=args.scalarization)

    optimum = None if args.synthetic else table_optimum(config("moead", 0))
    results: dict[str, list[dict]] = {"moead": [], "re": []}
    started = time.perf_counter()
    for seed in args.seeds:
        for algorithm in results:
            results[algorithm].append(run_once(config(algorithm, seed)))
    seconds = time.perf_counter() - started

    labels = targets.split(";")
    name = args.scalarization.upper()
    size = f"{len(TableEvaluator(args.table).table)}-genome table {args.table}" if args.table else "synthetic"
    print(f"{size}, population {args.population}, {args.generations} generations "
          f"(budget {config('moead', 0).budget} proposals each), {len(args.seeds)} seeds, scalarisation "
          f"{args.scalarization}, {seconds:.0f} s")
    header = "".join(f"  best {name} t{i + 1:<3} dist" for i in range(len(labels)))
    print(f"{'algorithm':<10}{'seed':>5}{'evals':>7}{header}")
    for algorithm, runs in results.items():
        for seed, run in zip(args.seeds, runs):
            cells = "".join(f"  {b:>11.4f} {d:>4.0%}" for b, d in zip(run["best"], run["distance"]))
            print(f"{algorithm:<10}{seed:>5}{run['evaluations']:>7}{cells}")
    print(f"\nper target over {len(args.seeds)} seeds ({name}, lower is better; wins: seeds where one is "
          "strictly lower)")
    for t, label in enumerate(labels):
        moead = np.array([run["best"][t] for run in results["moead"]])
        re = np.array([run["best"][t] for run in results["re"]])
        gap = "" if optimum is None else (f", table optimum {optimum[t]:.4f} (mean gap MOEA/D "
                                          f"{moead.mean() - optimum[t]:.4f}, RE {re.mean() - optimum[t]:.4f})")
        print(f"  target {t + 1} ({label}): MOEA/D {moead.mean():.4f} ± {moead.std():.4f}, RE {re.mean():.4f} ± "
              f"{re.std():.4f}; wins MOEA/D {int((moead < re).sum())}, RE {int((re < moead).sum())}; "
              f"Wilcoxon p = {paired_test(moead, re):.3g}{gap}")
    for algorithm, runs in results.items():
        print(f"  {algorithm}: distinct models evaluated {np.mean([r['evaluations'] for r in runs]):.1f} on average")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "targets": labels,
                                         "optimum": optimum, "results": results}, indent=1))
    if args.plot:
        plot(results, labels, optimum, args.plot, name)


if __name__ == "__main__":
    main()
