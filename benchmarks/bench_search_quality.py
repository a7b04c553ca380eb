"""Are the search's answers good? Its picks against random search and a hand-designed network, retrained.

For each target of a search (by default ``muxnet search``'s own default run), three arms are fully trained with
the data's recipe for ``--seeds`` seeds each:

* **search**: the target's rank-1 pick of the search (run here into ``OUTPUT/search``, or ``--search RUN``);
* **random**: random search at the same cost: as many proxy evaluations per target as the search spent per
  target (its budget over its targets), each a random genome walked to within 3% of the target's params and
  MAdds (the search's own initial-member walk), scored by the same proxy and seed rule; the best by proxy wins;
* **mobilenet_v2**: the search skeleton filled with MobileNetV2's choices (every block k3, e6, two per stage, no
  multiplexing), width-scaled to the target's params (``muxnet.search.baselines``).

It prints per target each arm's params, MAdds, proxy error and mean test top-1 with its 95% t-interval, and Welch's
t-test of the search's pick against each other arm, and the paired t-test over the seeds both have (a seed fixes the
data order for every arm alike; where that moves every arm, pairing takes it out), then every p-value again,
Holm-adjusted over the whole table (one small p among a dozen tests is expected by chance). Everything is resumable
(rerun with the same ``--output``): the search resumes, random candidates and trainings already finished are read
back. Finished trainings are also kept in ``--records`` (fingerprinted by spec text, seed and resolved recipe), so
on a machine without ``--output`` the search and the random proxies are rerun (with one thread per worker they give
the same picks) and the trainings are read back.

    PYTHONPATH=src python benchmarks/bench_search_quality.py --output runs/quality
    PYTHONPATH=src python benchmarks/bench_search_quality.py --output runs/quality --report-only   # table so far
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from muxnet.profiling import count_spec
from muxnet.runtime.statistics import holm_adjusted, mean_interval, paired_test, welch_test
from muxnet.search.baselines import mobilenet_v2_at
from muxnet.search.decomposition import parse_targets
from muxnet.search.driver import SearchConfig, recorded_config, run_search
from muxnet.search.driver.search_run import _build_evaluator
from muxnet.search.evaluators import EvalTask, candidate_seed
from muxnet.search.executors import make_executor
from muxnet.search.objectives import ComplexityCache
from muxnet.search.retrain import TrainingRecords, TrainJob, full_recipe, test_top1, train_jobs
from muxnet.search.sampling import TargetedSampler
from muxnet.search.space import SearchSpace, genome_key

ARMS = ("search", "random", "mobilenet_v2")


def random_search(config: SearchConfig, out: Path, per_target: int, workers: int | None) -> list[dict]:
    """Per target, ``per_target`` random genomes near it, proxy-evaluated; the best of each (by proxy error)."""
    space = SearchSpace(config.preset)
    complexity = ComplexityCache(space)
    sampler = TargetedSampler(space, complexity, np.zeros(3), np.ones(3))
    targets = parse_targets(config.targets, ["error", "params", "madds"])
    rng = np.random.default_rng(config.seed + 1)
    genomes = []
    for target in targets:
        goal = [target["params"], target["madds"]]
        genomes.append([sampler.walk(space.sample(rng), goal, rng)[0] for _ in range(per_target)])
    path = out / "random.jsonl"
    done = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            row = json.loads(line)
            done[row["genome"]] = row
    todo = {genome_key(g): g for per in genomes for g in per if genome_key(g) not in done}
    if todo:
        evaluator, _ = _build_evaluator(config, space, out)
        runner = make_executor("process", evaluator, workers)
        try:
            tasks = [EvalTask(k, space.decode(g).to_dict(), *count_spec(space.decode(g)),
                              candidate_seed(config.seed, k)) for k, g in todo.items()]
            for result in runner.map_unordered(tasks):
                row = {"genome": result.genome, "status": result.status, "error": result.error}
                done[result.genome] = row
                with path.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(f"  random {result.genome}: proxy error {result.error}", flush=True)
        finally:
            runner.close()
    picks = []
    for per in genomes:
        ok = [done[genome_key(g)] for g in per if done[genome_key(g)]["status"] == "ok"]
        picks.append(min(ok, key=lambda row: row["error"]))
    return picks


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output", default="runs/search_quality")
    p.add_argument("--search", help="an existing search run to judge (default: run the default search here)")
    p.add_argument("--seeds", type=int, default=5, help="training seeds per arm and target")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe override for every run")
    p.add_argument("--search-set", action="append", default=[], metavar="FIELD=VALUE",
                   help="SearchConfig field for the search run here, e.g. population=6 or dataset=digits")
    p.add_argument("--report-only", action="store_true",
                   help="print the table of the trainings already finished (recorded or in --output); train nothing")
    p.add_argument("--records", default=str(Path(__file__).parent / "data" / "search_quality" / "trainings.jsonl"),
                   help="finished trainings kept across machines (read back instead of retrained)")
    args = p.parse_args()

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    search_dir = Path(args.search) if args.search else out / "search"
    if args.search:
        config = SearchConfig(**recorded_config(search_dir))
    else:
        fields = {k: int(v) if v.isdigit() else v for k, v in (item.split("=", 1) for item in args.search_set)}
        config = SearchConfig(**fields)
        resume = (search_dir / "archive.sqlite").is_file()
        run_search(config, search_dir, resume=resume, executor="process", workers=args.workers,
                   log=lambda line: print(line, flush=True))
    summary = json.loads((search_dir / "summary.json").read_text())
    per_target = config.budget // len(summary["best_per_target"])
    random_picks = random_search(config, out, per_target, args.workers)

    space = SearchSpace(config.preset)
    (out / "specs").mkdir(exist_ok=True)
    arms: dict[tuple[int, str], dict] = {}
    for t, entry in enumerate(summary["best_per_target"]):
        pick = entry["models"][0]
        arms[t, "search"] = {"spec": str(search_dir / pick["spec"]), "proxy_error": pick["error"]}
        path = out / "specs" / f"target{t + 1}_random.yaml"
        space.decode(tuple(int(v) for v in random_picks[t]["genome"].split("-"))).save(path)
        arms[t, "random"] = {"spec": str(path), "proxy_error": random_picks[t]["error"]}
        path = out / "specs" / f"target{t + 1}_mobilenet_v2.yaml"
        mobilenet_v2_at(lambda s: count_spec(s)[0], entry["target_params"], config.preset).save(path)
        arms[t, "mobilenet_v2"] = {"spec": str(path), "proxy_error": None}
    # seed by seed, so a run stopped early already holds every arm of every target over fewer seeds
    jobs = [TrainJob(f"target{t + 1}_{arm}", info["spec"], seed, str(out / "runs" / f"target{t + 1}_{arm}_seed{seed}"))
            for seed in range(args.seeds) for (t, arm), info in arms.items()]
    recipe, data, overrides = full_recipe(config.dataset, config.difficulty)
    records = TrainingRecords(args.records)
    if args.report_only:
        jobs = [j for j in jobs if records.get(records.fingerprint(j, recipe, data, [*overrides, *args.set]))
                is not None or (Path(j.run_dir) / "summary.json").is_file()]
    by_seed: dict[str, dict[int, float]] = {}
    costs: dict[str, tuple[int, int]] = {}
    for job, run in train_jobs(jobs, recipe, data, [*overrides, *args.set], args.workers, records):
        by_seed.setdefault(job.name, {})[job.seed] = test_top1(run)
        costs[job.name] = (run["params"], run["madds"])
        print(f"  {job.name} seed {job.seed}: test top-1 {test_top1(run):.2f} ({run['wall_time_s']:.0f} s)",
              flush=True)
    print(f"\n{len(jobs)} trainings; {time.perf_counter() - started:.0f} s in all\n")
    table = []
    top1 = {name: [by_seed[name][seed] for seed in sorted(by_seed[name])] for name in by_seed}
    for t, entry in enumerate(summary["best_per_target"]):
        print(f"target {t + 1} [{entry['target']}]")
        search = by_seed.get(f"target{t + 1}_search", {})
        reference = top1.get(f"target{t + 1}_search", [])
        for arm in ARMS:
            name = f"target{t + 1}_{arm}"
            if name not in top1:
                print(f"  {arm:<13} not trained yet")
                continue
            interval = mean_interval(top1[name])
            params, madds = costs[name]
            proxy = arms[t, arm]["proxy_error"]
            p_value = paired = math.nan
            versus = ""
            if arm != "search" and reference:
                shared = sorted(set(search) & set(by_seed[name]))
                p_value = welch_test(reference, top1[name])
                paired = paired_test([search[seed] for seed in shared], [by_seed[name][seed] for seed in shared])
                versus = f"  search - this {np.mean(reference) - interval.mean:+.2f}, Welch p={p_value:.3g}, " \
                         f"paired p={paired:.3g} ({len(shared)} seeds)"
            print(f"  {arm:<13} {params / 1e6:5.2f}M {madds / 1e6:6.2f}M  proxy error "
                  f"{'-' if proxy is None else f'{proxy:.3f}':>6}  test top-1 {interval.format():<22}{versus}")
            table.append({"target": entry["target"], "arm": arm, "params": params, "madds": madds,
                          "proxy_error": proxy, "top1": top1[name], **interval.to_dict(),
                          "welch_p": None if math.isnan(p_value) else p_value,
                          "paired_p": None if math.isnan(paired) else paired})
    # Every Welch and paired p of the table is one family: one small p among a dozen is expected by chance.
    tested = [(row, kind) for row in table for kind in ("welch_p", "paired_p") if row[kind] is not None]
    adjusted = holm_adjusted([row[kind] for row, kind in tested])
    if tested:
        print(f"\nHolm-adjusted over the {len(tested)} tests above (search minus the arm):")
    for (row, kind), p_adjusted in zip(tested, adjusted):
        row[f"{kind}_holm"] = p_adjusted
        print(f"  {row['target']:<24} {row['arm']:<13} {kind.split('_')[0]:<7} p={row[kind]:.3g} -> {p_adjusted:.3g}")
    (out / "summary.json").write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
