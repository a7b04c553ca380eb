"""What a finished search leaves behind: the non-dominated set, the best specs per target, a plot."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from ..decomposition import SubProblems
from ..scalarization import Scalarization
from ..space import parse_genome_key


def write_outputs(out_dir: Path, rows, space, normaliser, subproblems: SubProblems, scalarization: Scalarization,
                  targets, config, log) -> dict:
    ok = [r for r in rows if r.ok]
    summary: dict = {"evaluations": len(rows), "failed": len(rows) - len(ok), "pareto": [], "best_per_target": [],
                     "scalarization": scalarization.name, "space_size": space.size, "config": config.to_dict()}
    if not ok:
        log("no candidate was evaluated successfully; nothing to report")
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
        return summary
    raw = np.array([[r.error, r.params, r.madds] for r in ok], dtype=float)
    F = normaliser.normalise_many(raw)

    spec_dir, top_dir = out_dir / "specs", out_dir / "top"
    spec_dir.mkdir(exist_ok=True)
    top_dir.mkdir(exist_ok=True)

    front = NonDominatedSorting().do(raw, only_non_dominated_front=True)
    front = sorted(int(i) for i in front)
    with (out_dir / "pareto.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["genome", "spec", "error", "params", "madds"])
        for i in sorted(front, key=lambda i: (ok[i].params, ok[i].error)):
            r = ok[i]
            path = spec_dir / f"{r.genome}.yaml"
            space.decode(parse_genome_key(r.genome)).save(path)
            writer.writerow([r.genome, str(path.relative_to(out_dir)), f"{r.error:.6f}", r.params, r.madds])
            summary["pareto"].append({"genome": r.genome, "error": r.error, "params": r.params, "madds": r.madds})

    for t, (target, weight) in enumerate(zip(targets, subproblems.target_weights())):
        scores = scalarization(F, weight, subproblems.ideal)
        best = []
        for rank, i in enumerate(np.argsort(scores, kind="stable")[: config.top_k], start=1):
            r = ok[int(i)]
            path = top_dir / f"target{t + 1}_rank{rank}.yaml"
            spec = space.decode(parse_genome_key(r.genome), name=f"search_target{t + 1}_rank{rank}")
            spec.save(path)
            best.append({"rank": rank, "genome": r.genome, "spec": str(path.relative_to(out_dir)),
                         "error": r.error, "params": r.params, "madds": r.madds, "scalarized": float(scores[i])})
        summary["best_per_target"].append({"target": target.label(), "models": best})
        top = best[0]
        log(f"target {t + 1} [{target.label()}]: best err {top['error']:.3f}, {top['params'] / 1e6:.3f}M params, "
            f"{top['madds'] / 1e6:.2f}M MAdds ({scalarization.name} {top['scalarized']:.3f}) -> {top['spec']}")
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    plot_front(out_dir / "pareto.png", raw, front, targets)
    return summary


def plot_front(path: Path, raw: np.ndarray, front, targets) -> None:
    """Error vs params and error vs MAdds: every evaluation, the non-dominated set, the targets."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, column, name in ((axes[0], 1, "params (M)"), (axes[1], 2, "MAdds (M)")):
        ax.scatter(raw[:, column] / 1e6, raw[:, 0], s=10, c="0.7", label="evaluated")
        ax.scatter(raw[front, column] / 1e6, raw[front, 0], s=24, c="C0", label="non-dominated")
        for t, target in enumerate(targets):
            value = target.params if column == 1 else target.madds
            ax.axvline(value / 1e6, color=f"C{t + 1}", ls="--", lw=1, label=f"target {t + 1}")
        ax.set_xlabel(name)
        ax.set_ylabel("validation error")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = ["plot_front", "write_outputs"]
