"""Do the dense tasks learn? The default ``muxnet detect train`` / ``muxnet segment train`` over several seeds.

A test cannot show it: a run short enough for the suite (48 scenes, three epochs) moves its mAP by a few points
in either direction, and which way depends on the CPU's floating-point kernels. The claim needs the real
recipe: this script trains each task's embedded default once per seed (``training.seed``: initial weights and
batch order; the scenes are the same for every seed), and prints, per epoch, the mean test metric with its 95%
interval over the seeds (Student's t), then the rise from the first to the last epoch as a paired interval.

Each run is a plain ``muxnet <task> train`` in its own process, written under ``--output``; a seed whose run
already has its ``summary.json`` is read, not retrained, and one cut short is resumed, so the script continues
where a killed invocation stopped.

    python benchmarks/bench_dense_learning.py --tasks detect --seeds 0 1 2
    python benchmarks/bench_dense_learning.py --tasks segment --seeds 0 1 2 --set schedule.epochs=3
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

from scipy import stats

PRIMARY = {"detect": "voc07_map", "segment": "miou"}


def run_seed(task: str, seed: int, output: Path, overrides: list[str]) -> list[dict]:
    """Train ``task``'s default recipe with ``seed`` in ``output/<task>-seed<seed>`` (or finish/read that run)."""
    run = output / f"{task}-seed{seed}"
    if not (run / "summary.json").is_file():
        command = [sys.executable, "-m", "muxnet.cli", task, "train", "--no-progress"]
        if (run / "last.pt").is_file():
            command += ["--resume", str(run)]
        else:
            command += ["--output", str(run), "--seed", str(seed)]
            for item in overrides:
                command += ["--set", item]
        print("$ " + " ".join(command[1:]), file=sys.stderr, flush=True)
        subprocess.run(command, check=True)
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def interval(values: list[float]) -> tuple[float, float, float]:
    """Mean and the two ends of its 95% t-interval (both ends the mean itself for a single value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, mean, mean
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def report(task: str, runs: dict[int, list[dict]]) -> str:
    key = PRIMARY[task]
    epochs = min(len(records) for records in runs.values())
    lines = [f"{task}: test {key} (%) over seeds {sorted(runs)}, mean [95% interval]",
             f"{'epoch':>6} {'mean':>8} {'interval':>17}  per seed"]
    for e in range(epochs):
        values = [runs[s][e]["test"][key] for s in sorted(runs)]
        mean, low, high = interval(values)
        lines.append(f"{e + 1:>6} {mean:>8.2f} [{low:>6.2f}, {high:>6.2f}]  " + ", ".join(f"{v:.2f}" for v in values))
    rises = [runs[s][epochs - 1]["test"][key] - runs[s][0]["test"][key] for s in sorted(runs)]
    mean, low, high = interval(rises)
    lines.append(f"rise from epoch 1 to {epochs}: {mean:+.2f} points [95% interval {low:+.2f}, {high:+.2f}] "
                 f"(paired over {len(rises)} seed(s))")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", default=["detect", "segment"], choices=sorted(PRIMARY))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--output", type=Path, default=Path("runs/dense_learning"), help="where the runs go")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="recipe override passed to every run (e.g. schedule.epochs=2)")
    args = parser.parse_args()
    for task in args.tasks:
        runs = {seed: run_seed(task, seed, args.output, args.set) for seed in args.seeds}
        print(report(task, runs), flush=True)


if __name__ == "__main__":
    main()
