"""MOEA/D + PBI against regularized evolution on the same evaluator and budget (the paper's Fig. 9 setting).

Both algorithms run through the same driver with the same targets and the same number of evaluated models;
regularized evolution splits its budget across the targets (one run per target), MOEA/D solves all
sub-problems together. The evaluator is the deterministic synthetic stand-in (error falls with capacity, plus
genome-seeded noise), so the comparison isolates the search algorithm. For each seed the table prints, per
target, the best PBI value found (lower is better), and the hypervolume of everything evaluated, in the
normalised (error, params, MAdds) space with reference point (1.1, 1.1, 1.1) (higher is better).

    python benchmarks/bench_search.py [--seeds 0 1 2] [--population 18] [--generations 10]
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
    args = parser.parse_args()

    space = SearchSpace("small")
    normaliser = Normaliser.for_space(space, ComplexityCache(space))
    results: dict[str, list[tuple[list[float], float, int]]] = {"moead": [], "re": []}
    for seed in args.seeds:
        for algorithm in results:
            config = SearchConfig(algorithm=algorithm, evaluator="synthetic", population=args.population,
                                  generations=args.generations, seed=seed)
            with tempfile.TemporaryDirectory() as tmp:
                result = run_search(config, tmp, log=lambda _line: None)
                summary = json.loads((Path(tmp) / "summary.json").read_text())
                best = [t["models"][0]["scalarized"] for t in summary["best_per_target"]]
                results[algorithm].append((best, hypervolume(Path(tmp), normaliser), result.evaluations))

    targets = SearchConfig().targets.split(";")
    print(f"synthetic evaluator, small preset, population {args.population}, {args.generations} generations, "
          f"seeds {args.seeds}")
    header = "".join(f"  best PBI t{i + 1:<4}" for i in range(len(targets)))
    print(f"{'algorithm':<10}{'seed':>5}{'evals':>7}{header}  hypervolume")
    for algorithm, runs in results.items():
        for seed, (best, hv, evaluations) in zip(args.seeds, runs):
            cells = "".join(f"  {b:>13.4f}" for b in best)
            print(f"{algorithm:<10}{seed:>5}{evaluations:>7}{cells}  {hv:>11.4f}")
    print("\nmean over seeds (ratio RE / MOEA/D; PBI: >1 means MOEA/D found better models; HV: <1 means MOEA/D "
          "covered more)")
    for t, label in enumerate(targets):
        moead = np.mean([run[0][t] for run in results["moead"]])
        re = np.mean([run[0][t] for run in results["re"]])
        print(f"  target {t + 1} ({label}): best PBI MOEA/D {moead:.4f}, RE {re:.4f}, ratio {re / moead:.3f}")
    moead_hv = np.mean([run[1] for run in results["moead"]])
    re_hv = np.mean([run[1] for run in results["re"]])
    print(f"  hypervolume: MOEA/D {moead_hv:.4f}, RE {re_hv:.4f}, ratio {re_hv / moead_hv:.3f}")


if __name__ == "__main__":
    main()
