"""Search algorithms at equal budget: MOEA/D, surrogate-assisted MOEA/D and regularized evolution (Fig. 9).

Every algorithm runs through the same driver, with the same targets, scalarisation and number of proposed
models. Regularized evolution splits its budget into one run per target; MOEA/D solves all sub-problems
together; ``moead-surrogate`` is MOEA/D whose children are an accuracy predictor's picks among 30 proposals per
sub-problem. What is counted is **trained candidates**: the archive's rows in the order they were evaluated
(the in-process executor keeps that order). For each seed and target, the best scalarised value (``--scalarization``,
default the search's ASF; lower is better) among the first n trained candidates gives a best-so-far curve;
from it, per target:

* the trained candidates needed to come within ``--within`` (0.005) of the optimum (the table's best
  genome; on the synthetic evaluator, where no optimum is known, the best any run of any algorithm found); a run
  that never does counts as budget + 1 (censored, so the plain algorithms' counts and the ratios are
  underestimates);
* the best value reached after each of ``--checkpoints`` (25, 50, 126) trained candidates;
* the trained candidates each algorithm needs to match plain MOEA/D's mean best value at the full budget (what
  the surrogate saves for the quality MOEA/D delivers; meaningful where no optimum is known);
* paired Wilcoxon signed-rank tests over the seeds (two-sided p): the surrogate against each other algorithm.

The evaluator is either the project's tabular benchmark (``--table``, made by
``benchmarks/build_tabular_benchmark.py``: every genome of an enumerable sub-space proxy-trained once, so a
search is a sequence of look-ups and the optimum is known), or the deterministic synthetic stand-in
(``--synthetic``; error falls with capacity, plus genome-seeded noise) over the whole ``small`` space, or the
real thing (``--proxy``): ``muxnet search``'s own proxy training on its default data (``--set FIELD=VALUE`` changes
any ``SearchConfig`` field, e.g. ``dataset=digits``), in a process pool of ``--workers`` (the archive's order
is then the order in which candidates finished, still the order they were paid for). Each proxy run is kept in
``--runs`` and resumes there, so a killed benchmark loses only the candidates in flight; no optimum is known, so
runs are scored against the best any of them found.

**Several seeds per genome.** ``--table`` takes several files (one seed each), or a file with a ``seed``
column (a row per genome and seed). The search then looks errors up in the first seed's table (what one proxy
training run would have measured), while every result is scored against the per-genome mean over all seeds
(``--score mean``, the default; ``--score searched`` scores against the searched table): the optimum of the mean
table is the genome that is best, not the luckiest draw. With one seed the two are the same. ``--search-on mean``
lets the search look up the mean instead, as a proxy repeated with every seed would measure it: what the
algorithms would do with a less noisy proxy (each candidate then costs as many trainings as there are seeds).

    python benchmarks/bench_search.py --table benchmarks/data/tabular_small.csv.gz --seeds $(seq 0 19) \\
        --curves docs/images/surrogate_table.png
    python benchmarks/bench_search.py --synthetic --seeds $(seq 0 19) --curves docs/images/surrogate_synthetic.png
    python benchmarks/bench_search.py --proxy --population 9 --generations 5 --seeds 0 1 2 3 4 \
        --algorithms moead moead-surrogate --checkpoints 18 36 54 --runs runs/bench_search_proxy
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, wilcoxon
from scipy.stats import t as student_t

from muxnet.search.decomposition import parse_targets
from muxnet.search.driver.search_run import SearchConfig, SearchProblem, build_problem, run_search
from muxnet.search.objectives import ComplexityCache
from muxnet.search.space import SearchSpace, parse_genome_key

# Three targets spread over the tabular benchmark's range (params 0.41-0.58M, MAdds 1.41-2.18M).
TABLE_TARGETS = "params=0.45M,madds=1.55M;params=0.5M,madds=1.8M;params=0.56M,madds=2.05M"
ALGORITHMS = ("moead", "moead-surrogate", "re")
LABELS = {"moead": "MOEA/D", "moead-surrogate": "MOEA/D + surrogate", "re": "RE (split)"}


# -- tables -------------------------------------------------------------------------------------------------------
def _read_rows(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"genome", "error"} <= set(reader.fieldnames):
            sys.exit(f"{path}: a tabular benchmark needs the columns 'genome' and 'error'")
        return list(reader)


def load_seed_tables(paths: list[Path]) -> list[dict[str, float]]:
    """One ``genome -> error`` table per seed: each file is one seed, unless it has a ``seed`` column, whose
    values then split it (in order of first appearance). Every seed must cover the same genomes."""
    tables: list[dict[str, float]] = []
    for path in paths:
        rows = _read_rows(path)
        if rows and "seed" in rows[0]:
            by_seed: dict[str, dict[str, float]] = {}
            for row in rows:
                by_seed.setdefault(row["seed"], {})[row["genome"]] = float(row["error"])
            tables += list(by_seed.values())
        else:
            tables.append({row["genome"]: float(row["error"]) for row in rows if row["error"] != ""})
    for i, table in enumerate(tables[1:], start=1):
        if set(table) != set(tables[0]):
            sys.exit(f"--table: seed {i} covers {len(table)} genomes, seed 0 {len(tables[0])}; every seed must "
                     "cover the same genomes")
    return tables


def mean_table(tables: list[dict[str, float]]) -> dict[str, float]:
    return {genome: float(np.mean([t[genome] for t in tables])) for genome in tables[0]}


def seed_noise(tables: list[dict[str, float]]) -> dict[str, float]:
    """How much of a table's spread is the genome and how much the seed: the within-genome std (pooled over
    genomes), the std of the per-genome means, the genome's share of one seed's variance (one-way random
    effects: var(means) - within / seeds, over that plus within) and Kendall's tau between two seeds' rankings
    (the mean over pairs of seeds)."""
    keys = [g for g in tables[0] if all(np.isfinite(t[g]) for t in tables)]
    E = np.array([[t[g] for g in keys] for t in tables])  # seeds x genomes
    means = E.mean(axis=0)
    within = float(E.var(axis=0, ddof=1).mean())
    between = max(0.0, float(means.var(ddof=1)) - within / len(tables))
    taus = [kendalltau(E[i], E[j]).statistic for i in range(len(E)) for j in range(i + 1, len(E))]
    return {"seeds": len(tables), "genomes": len(keys), "within_std": within ** 0.5,
            "mean_std": float(means.std(ddof=1)), "genome_share": between / (between + within),
            "tau_between_seeds": float(np.mean(taus))}


# -- scoring -----------------------------------------------------------------------------------------------------
def problem_for(config: SearchConfig, genomes) -> tuple[SearchProblem, ComplexityCache]:
    """The search's own problem (normaliser, sub-problems, scalarisation) for ``config``: over the sub-space the
    table's ``genomes`` span, or the whole space."""
    space = SearchSpace.covering(genomes, config.preset) if genomes else SearchSpace(config.preset)
    complexity = ComplexityCache(space)
    return build_problem(config, space, complexity, parse_targets(config.targets)), complexity


def target_scores(problem: SearchProblem, complexity: ComplexityCache, genomes: list[str],
                  errors: list[float]) -> np.ndarray:
    """(targets, genomes): each genome's scalarised value for each target (``inf`` where the error is)."""
    raw = []
    for key, error in zip(genomes, errors):
        cost = complexity(parse_genome_key(key))
        raw.append((error, cost.params, cost.madds))
    F = problem.normaliser.normalise_many(np.array(raw, dtype=float))
    scores = np.stack(problem.target_scores(F))
    return np.where(np.isfinite(np.array(errors, dtype=float))[None], scores, np.inf)


def run_once(config: SearchConfig, score_table: dict[str, float] | None, problem: SearchProblem,
             complexity: ComplexityCache, run_dir: Path | None = None, workers: int | None = None) -> dict:
    """One search; per target its best-so-far curve over trained candidates (archive order), scored with the
    run's own errors or, given ``score_table``, with that table's. With ``run_dir`` the run is kept there and
    resumed if it was cut off (``workers``: a process pool of that size instead of evaluating in-process)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = run_dir or Path(tmp)
        started = time.perf_counter()
        run_search(config, out, resume=(out / "archive.sqlite").is_file(),
                   executor="process" if workers else "inprocess", workers=workers, log=lambda _line: None)
        seconds = time.perf_counter() - started
        with sqlite3.connect(out / "archive.sqlite") as db:
            rows = db.execute("SELECT genome, status, error, predicted_error, predictor FROM evaluations "
                              "ORDER BY id").fetchall()
            evaluating = db.execute("SELECT COALESCE(SUM(duration), 0) FROM evaluations").fetchone()[0]
    genomes = [r[0] for r in rows]
    errors = [(score_table[g] if score_table else e) if s == "ok" else np.inf for g, s, e, *_ in rows]
    curves = np.minimum.accumulate(target_scores(problem, complexity, genomes, errors), axis=1)
    picked = [(e, p, json.loads(m)["tau"]) for _, s, e, p, m in rows if p is not None and s == "ok"]
    return {"evaluations": len(rows), "seconds": seconds, "evaluation_s": evaluating, "curves": curves.tolist(),
            "predicted": [[e, p] for e, p, _ in picked], "taus": [t for *_, t in picked]}


def curve_at(curve: list[float], n: int) -> float:
    """Best value within the first ``n`` trained candidates (the last value when the run trained fewer)."""
    return float(curve[min(n, len(curve)) - 1])


def to_reach(curve: list[float], goal: float, censored: int) -> int:
    """Trained candidates until the curve is within the goal; ``censored`` when it never is."""
    hits = np.flatnonzero(np.asarray(curve) <= goal + 1e-12)
    return int(hits[0]) + 1 if len(hits) else censored


def paired_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p of the Wilcoxon signed-rank test over seeds (1.0 when the two never differ)."""
    if np.allclose(a, b):
        return 1.0
    return float(wilcoxon(a, b, zero_method="zsplit").pvalue)


def interval(values: np.ndarray) -> tuple[float, float]:
    """Mean and the half-width of its 95% t-interval over seeds."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()), float("nan")
    return float(values.mean()), float(student_t.ppf(0.975, len(values) - 1) * values.std(ddof=1)
                                       / np.sqrt(len(values)))


# -- report ------------------------------------------------------------------------------------------------------
def report(results: dict[str, list[dict]], labels: list[str], optimum: list[float], reference: str, budget: int,
           checkpoints: list[int], within: float) -> None:
    names = list(results)
    surrogate = "moead-surrogate" if "moead-surrogate" in results else None
    for t, label in enumerate(labels):
        goal = optimum[t] + within
        print(f"\ntarget {t + 1} ({label}): {reference} {optimum[t]:.4f}; within {within} means ASF <= {goal:.4f}")
        head = "".join(f"  best@{c:<4} mean ± 95%   " for c in checkpoints)
        print(f"  {'algorithm':<20}{'reached':>8}  {'trained to reach: mean ± 95%':<29}{'median':>7}{head}")
        reach = {}
        for name in names:
            curves = [run["curves"][t] for run in results[name]]
            reach[name] = np.array([to_reach(c, goal, budget + 1) for c in curves])
            reached = int((reach[name] <= budget).sum())
            mean, half = interval(reach[name])
            cells = ""
            for c in checkpoints:
                m, h = interval(np.array([curve_at(curve, c) for curve in curves]))
                cells += f"  {m:>8.4f} ± {h:<6.4f}      "
            print(f"  {LABELS.get(name, name):<20}{reached:>5}/{len(curves):<2}  {mean:>7.1f} ± {half:<5.1f}"
                  f"{'':<15}{np.median(reach[name]):>7.0f}{cells}")
        if surrogate is None:
            continue
        for other in names:
            if other == surrogate:
                continue
            ratio = reach[other].mean() / reach[surrogate].mean()
            median_ratio = np.median(reach[other]) / np.median(reach[surrogate])
            tests = ", ".join(
                f"best@{c} p = "
                f"{paired_p(np.array([curve_at(r['curves'][t], c) for r in results[surrogate]]), np.array([curve_at(r['curves'][t], c) for r in results[other]])):.3g}"  # noqa: E501
                for c in checkpoints)
            print(f"  surrogate vs {LABELS.get(other, other)}: {ratio:.2f}x fewer trained to reach (means; medians "
                  f"{median_ratio:.2f}x), Wilcoxon p = {paired_p(reach[surrogate], reach[other]):.3g}; {tests}")
        if "moead" in results:  # the cost of MOEA/D's quality: trained candidates to match its mean at the budget
            level = float(np.mean([run["curves"][t][-1] for run in results["moead"]]))
            cells = []
            for name in names:
                counts = np.array([to_reach(run["curves"][t], level, budget + 1) for run in results[name]])
                mean, half = interval(counts)
                cells.append(f"{LABELS.get(name, name)} {mean:.1f} ± {half:.1f} ({int((counts <= budget).sum())}/"
                             f"{len(counts)} reach it)")
            print(f"  to match MOEA/D's mean best at the budget ({level:.4f}), trained: " + "; ".join(cells))


def compare(record: dict, other: dict, other_name: Path) -> None:
    """Each algorithm both records hold, this record against the other, paired by seed: trained candidates to
    come within ``within`` of this record's optimum (unreached = budget + 1) and the best value at the budget."""
    if (record["targets"], record["budget"], record["args"]["seeds"]) != (
            other["targets"], other["budget"], other["args"]["seeds"]):
        sys.exit(f"--against {other_name}: other targets, budget or seeds than this record's")
    budget, within = record["budget"], record["within"]
    for name in [n for n in record["results"] if n in other["results"]]:
        ours, theirs = record["results"][name], other["results"][name]
        print(f"\n{LABELS.get(name, name)}: this record against {other_name} ({len(ours)} seeds, Wilcoxon)")
        for t, label in enumerate(record["targets"]):
            goal = record["optimum"][t] + within
            reach = [np.array([to_reach(r["curves"][t], goal, budget + 1) for r in runs]) for runs in (ours, theirs)]
            final = [np.array([r["curves"][t][-1] for r in runs]) for runs in (ours, theirs)]
            print(f"  target {t + 1} ({label}): reached {(reach[0] <= budget).sum()} vs {(reach[1] <= budget).sum()}"
                  f" of {len(ours)}; trained to reach {reach[0].mean():.1f} vs {reach[1].mean():.1f} "
                  f"(p = {paired_p(reach[0], reach[1]):.3g}); best@{budget} {final[0].mean():.4f} vs "
                  f"{final[1].mean():.4f} (p = {paired_p(final[0], final[1]):.3g})")


def plot_final(results: dict[str, list[dict]], labels: list[str], optimum: list[float] | None, path: Path,
               name: str) -> None:
    """Fig. 9's box plot: per target, each algorithm's best value at the full budget over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(labels), figsize=(3.6 * len(labels), 3.4), squeeze=False)
    for t, (ax, label) in enumerate(zip(axes[0], labels)):
        data = [[run["curves"][t][-1] for run in runs] for runs in results.values()]
        ax.boxplot(data, tick_labels=[LABELS.get(a, a) for a in results])
        for i, values in enumerate(data, start=1):
            ax.scatter(np.full(len(values), i) + np.linspace(-0.08, 0.08, len(values)), values, s=10, alpha=0.6)
        if optimum is not None:
            ax.axhline(optimum[t], color="grey", linestyle="--", linewidth=1, label="table optimum")
            ax.legend(fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(f"target {t + 1}: {label}", fontsize=8)
        ax.set_ylabel(f"best {name} (lower is better)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def plot_curves(results: dict[str, list[dict]], labels: list[str], optimum: list[float], budget: int, path: Path,
                name: str, reference: str, within: float) -> None:
    """Best-so-far gap to the optimum against trained candidates: the mean over seeds and its 95% t-interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(labels), figsize=(4.0 * len(labels), 3.4), squeeze=False)
    x = np.arange(1, budget + 1)
    for t, (ax, label) in enumerate(zip(axes[0], labels)):
        for algorithm, runs in results.items():
            gaps = np.array([[curve_at(run["curves"][t], n) - optimum[t] for n in x] for run in runs])
            mean = gaps.mean(axis=0)
            half = student_t.ppf(0.975, len(runs) - 1) * gaps.std(axis=0, ddof=1) / np.sqrt(len(runs)) \
                if len(runs) > 1 else np.zeros_like(mean)
            line, = ax.plot(x, mean, label=LABELS.get(algorithm, algorithm), linewidth=1.2)
            ax.fill_between(x, mean - half, mean + half, color=line.get_color(), alpha=0.2, linewidth=0)
        ax.axhline(within, color="grey", linestyle="--", linewidth=0.8, label=f"within {within}")
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.set_ylim(bottom=0)  # a gap is never negative; the interval's lower edge can be
        ax.set_title(f"target {t + 1}: {label}", fontsize=8)
        ax.set_xlabel("trained candidates", fontsize=8)
        ax.set_ylabel(f"best {name} - {reference}", fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--table", type=Path, nargs="+",
                        help="a tabular benchmark (.csv.gz from build_tabular_benchmark.py); several files, or a "
                        "'seed' column, give several seeds per genome")
    source.add_argument("--synthetic", action="store_true", help="the synthetic evaluator over the whole space")
    source.add_argument("--proxy", action="store_true", help="muxnet search's proxy training (slow: minutes a run)")
    source.add_argument("--from-json", type=Path, help="print and plot the runs a --json file holds, running nothing")
    parser.add_argument("--targets", help="default: three targets inside the table's range, or the search's "
                        "default targets with --synthetic")
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS), choices=ALGORITHMS)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(20)))
    parser.add_argument("--population", type=int, default=18, help="sub-problems (MOEA/D's population)")
    parser.add_argument("--generations", type=int, default=6,
                        help="budget = population x (generations + 1) proposed models for each algorithm")
    parser.add_argument("--scalarization", default=SearchConfig().scalarization)
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[25, 50, 126],
                        help="report the best value after this many trained candidates")
    parser.add_argument("--within", type=float, default=0.005, help="how close to the optimum counts as reached")
    parser.add_argument("--score", choices=("mean", "searched"), default="mean",
                        help="score against the per-genome mean over the table's seeds, or against what was searched")
    parser.add_argument("--search-on", choices=("first", "mean"), default="first",
                        help="what the search looks up: the first seed's errors (one proxy training per candidate) "
                        "or the per-genome mean over the seeds (a proxy repeated with every seed: less noise for "
                        "as many times the training)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="with --proxy: a SearchConfig field, e.g. dataset=digits or max_train_samples=5000")
    parser.add_argument("--runs", type=Path, default=Path("runs/bench_search_proxy"),
                        help="with --proxy: where each run is kept (rerun to resume)")
    parser.add_argument("--workers", type=int, default=2, help="with --proxy: proxy trainings at a time")
    parser.add_argument("--json", type=Path, help="write every run's numbers here")
    parser.add_argument("--curves", type=Path, help="plot best-so-far against trained candidates here (PNG)")
    parser.add_argument("--plot", type=Path, help="box plot of the best value at the full budget per target (PNG)")
    parser.add_argument("--against", type=Path, metavar="JSON",
                        help="another --json record of the same targets and seeds (e.g. an earlier version of an "
                        "algorithm): each algorithm both hold, compared seed by seed")
    args = parser.parse_args()

    for path in args.table or []:
        if not path.is_file():
            sys.exit(f"no tabular benchmark at {path}; build it with benchmarks/build_tabular_benchmark.py")
    if args.against is not None and not args.against.is_file():
        sys.exit(f"--against: no file at {args.against}")
    if args.from_json is not None:
        if not args.from_json.is_file():
            sys.exit(f"--from-json: no file at {args.from_json}")
        record = json.loads(args.from_json.read_text())
    else:
        record = measure(args)
        if args.json:
            args.json.write_text(json.dumps(record))
    present(record, args)
    if args.against is not None:
        compare(record, json.loads(args.against.read_text()), args.against)


def _number_or_text(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def measure(args) -> dict:
    """Run every algorithm for every seed; the record ``present`` prints and plots (and ``--json`` keeps)."""
    table = bool(args.table)
    fields = {k: _number_or_text(v) for k, v in (item.split("=", 1) for item in args.set)}
    targets = args.targets or fields.pop("targets", None) or (TABLE_TARGETS if table else SearchConfig().targets)
    budget = args.population * (args.generations + 1)
    checkpoints = [c for c in args.checkpoints if c <= budget]
    with tempfile.TemporaryDirectory() as tables_dir:
        tables = load_seed_tables(args.table) if args.table else []
        score_table = None
        if tables:
            searched = Path(tables_dir) / "searched.csv"  # what the search looks up
            mean = mean_table(tables)
            looked_up = mean if args.search_on == "mean" else tables[0]
            searched.write_text("genome,error\n" + "".join(f"{g},{e!r}\n" for g, e in looked_up.items()))
            score_table = mean if args.score == "mean" else looked_up
        noise = seed_noise(tables) if len(tables) > 1 else None
        evaluator = f"table:{searched}" if table else "synthetic" if args.synthetic else "train"

        def config(algorithm: str, seed: int) -> SearchConfig:
            return SearchConfig(**{**dict(algorithm=algorithm, evaluator=evaluator, restrict_to_table=table,
                                          targets=targets, population=args.population, generations=args.generations,
                                          seed=seed, scalarization=args.scalarization), **fields})

        genomes = [parse_genome_key(g) for g in score_table] if score_table else None
        problem, complexity = problem_for(config("moead", 0), genomes)
        results: dict[str, list[dict]] = {a: [] for a in args.algorithms}
        started = time.perf_counter()
        for seed in args.seeds:
            for algorithm in results:
                run_dir = args.runs / f"{algorithm}_seed{seed}" if args.proxy else None
                results[algorithm].append(run_once(config(algorithm, seed), score_table, problem, complexity,
                                                   run_dir, args.workers if args.proxy else None))
        seconds = time.perf_counter() - started

    labels = targets.split(";")
    if score_table:
        keys = list(score_table)
        optimum = [float(s.min()) for s in target_scores(problem, complexity, keys, [score_table[k] for k in keys])]
        reference = ("table optimum" if len(tables) == 1 else f"optimum of the per-genome mean of {len(tables)} seeds"
                     if args.score == "mean" else "optimum of the searched table")
    else:  # no known optimum: the best any run found
        optimum = [min(min(run["curves"][t]) for runs in results.values() for run in runs) for t in range(len(labels))]
        reference = "best of all runs"
    searched_on = (f", searching the mean of {len(tables)} seeds" if len(tables) > 1 and args.search_on == "mean"
                   else ", searching the first seed" if len(tables) > 1 else "")
    size = (f"{len(tables[0])}-genome table ({len(tables)} seed(s){searched_on})" if tables else
            "synthetic (whole small space)" if args.synthetic else
            f"proxy training on {config('moead', 0).dataset} (whole small space)")
    header = (f"{size}, population {args.population}, {args.generations} generations (budget {budget} proposals "
              f"each), {len(args.seeds)} seeds, {args.scalarization.upper()}, {seconds:.0f} s")
    return {"args": {k: str(v) for k, v in vars(args).items()}, "header": header, "targets": labels,
            "optimum": optimum, "reference": reference, "known_optimum": bool(score_table), "budget": budget,
            "checkpoints": checkpoints, "within": args.within, "name": args.scalarization.upper(), "results": results,
            "noise": noise}


def present(record: dict, args) -> None:
    """Print the table of a record (from ``measure`` or a --json file) and draw the plots asked for."""
    results, labels, optimum = record["results"], record["targets"], record["optimum"]
    reference, budget, name = record["reference"], record["budget"], record["name"]
    print(record["header"])
    noise = record.get("noise")
    if noise:
        print(f"  the table's seeds: {noise['seeds']} per genome over {noise['genomes']} genomes; within-genome std "
              f"{noise['within_std']:.4f}, std of the per-genome means {noise['mean_std']:.4f}; the genome is "
              f"{noise['genome_share']:.0%} of one seed's variance; Kendall tau between seeds "
              f"{noise['tau_between_seeds']:.2f}")
    for algorithm, runs in results.items():
        taus = [t for run in runs for t in run["taus"]]
        realised = [kendalltau(*np.array(run["predicted"]).T).statistic for run in runs if len(run["predicted"]) > 2]
        extra = (f", the predictor's cross-validated tau {np.mean(taus):.2f} on average, its picks' predicted "
                 f"against measured error tau {np.nanmean(realised):.2f}") if taus else ""
        print(f"  {LABELS.get(algorithm, algorithm)}: {np.mean([r['evaluations'] for r in runs]):.1f} trained "
              f"candidates, {np.mean([r['seconds'] for r in runs]):.1f} s a run here, "
              f"{np.mean([r.get('evaluation_s', np.nan) for r in runs]):.1f} s of evaluation a run{extra}")
    report(results, labels, optimum, reference, budget, record["checkpoints"], record["within"])
    if args.curves:
        plot_curves(results, labels, optimum, budget, args.curves, name, reference, record["within"])
    if args.plot:
        plot_final(results, labels, optimum if record["known_optimum"] else None, args.plot, name)


if __name__ == "__main__":
    main()
