"""MOEA/D against regularized evolution on the same evaluator, budget and scalarisation (the paper's Fig. 9
setting).

Both algorithms run through the same driver with the same targets and the same number of evaluated models;
regularized evolution splits its budget across the targets (one run per target), MOEA/D solves all
sub-problems together. The evaluator is the deterministic synthetic stand-in (error falls with capacity, plus
genome-seeded noise), so the comparison isolates the search algorithm. For each seed the table prints, per
target, the best scalarised value found (``--scalarization``, default the search's ASF; ``pbi`` for the
paper's; lower is better) and the relative distance of that pick to the target, and the hypervolume of
everything evaluated, in the normalised (error, params, MAdds) space with reference point (1.1, 1.1, 1.1)
(higher is better).

    python benchmarks/bench_search.py [--seeds 0 1 2] [--population 18] [--generations 10] [--scalarization pbi]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from pymoo.indicators.hv import HV

from muxnet.search.archive import Archive
from muxnet.search.driver.run import ARCHIVE_NAME, SearchConfig, run_search
from muxnet.search.objectives import ComplexityCache, Normaliser
from muxnet.search.space import SearchSpace


def hypervolume(out_dir: Path, normaliser: Normaliser) -> float:
    with Archive(out_dir / ARCHIVE_NAME) as archive:
        rows = [r for r in archive.all() if r.ok]
    F = normaliser.normalise_many(np.array([[r.error, r.params, r.madds] for r in rows], dtype=float))
    return float(HV(ref_point=np.full(3, 1.1))(F))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--population", type=int, default=18)
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--scalarization", default=SearchConfig().scalarization)
    args = parser.parse_args()

    space = SearchSpace("small")
    normaliser = Normaliser.for_space(space, ComplexityCache(space))
    results: dict[str, list[tuple[list[float], float, int, list[float]]]] = {"moead": [], "re": []}
    for seed in args.seeds:
        for algorithm in results:
            config = SearchConfig(algorithm=algorithm, evaluator="synthetic", population=args.population,
                                  generations=args.generations, seed=seed,
                                  scalarization=args.scalarization)
            with tempfile.TemporaryDirectory() as tmp:
                result = run_search(config, tmp, log=lambda _line: None)
                summary = json.loads((Path(tmp) / "summary.json").read_text())
                best = [t["models"][0]["scalarized"] for t in summary["best_per_target"]]
                distance = [t["models"][0]["distance"] for t in summary["best_per_target"]]
                results[algorithm].append((best, hypervolume(Path(tmp), normaliser), result.evaluations,
                                           distance))

    targets = SearchConfig().targets.split(";")
    print(f"synthetic evaluator, small preset, population {args.population}, {args.generations} generations, "
          f"seeds {args.seeds}, scalarisation {args.scalarization}")
    name = args.scalarization.upper()
    header = "".join(f"  best {name} t{i + 1:<3} dist" for i in range(len(targets)))
    print(f"{'algorithm':<10}{'seed':>5}{'evals':>7}{header}  hypervolume")
    for algorithm, runs in results.items():
        for seed, (best, hv, evaluations, distance) in zip(args.seeds, runs):
            cells = "".join(f"  {b:>11.4f} {d:>4.0%}" for b, d in zip(best, distance))
            print(f"{algorithm:<10}{seed:>5}{evaluations:>7}{cells}  {hv:>11.4f}")
    print(f"\nmean over seeds (ratio RE / MOEA/D; {name}: >1 means MOEA/D found better models; HV: <1 means "
          "MOEA/D covered more)")
    for t, label in enumerate(targets):
        moead = np.mean([run[0][t] for run in results["moead"]])
        re = np.mean([run[0][t] for run in results["re"]])
        print(f"  target {t + 1} ({label}): best {name} MOEA/D {moead:.4f}, RE {re:.4f}, ratio {re / moead:.3f}")
    moead_hv = np.mean([run[1] for run in results["moead"]])
    re_hv = np.mean([run[1] for run in results["re"]])
    print(f"  hypervolume: MOEA/D {moead_hv:.4f}, RE {re_hv:.4f}, ratio {re_hv / moead_hv:.3f}")


if __name__ == "__main__":
    main()
