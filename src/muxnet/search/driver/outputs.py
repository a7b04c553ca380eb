"""What a finished search leaves behind: the non-dominated set, the best specs per target, a plot."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from ..decomposition import SubProblems
from ..sampling import relative_distance
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
    ok_index = {r.genome: i for i, r in enumerate(ok)}
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
            distance = relative_distance(r.params, r.madds, target.params, target.madds)
            best.append({"rank": rank, "genome": r.genome, "spec": str(path.relative_to(out_dir)),
                         "error": r.error, "params": r.params, "madds": r.madds, "scalarized": float(scores[i]),
                         "params_deviation": r.params / target.params - 1.0,
                         "madds_deviation": r.madds / target.madds - 1.0, "distance": distance})
        summary["best_per_target"].append({"target": target.label(), "target_params": target.params,
                                           "target_madds": target.madds, "models": best})
        top = best[0]
        log(f"target {t + 1} [{target.label()}]: best err {top['error']:.3f}, {top['params'] / 1e6:.3f}M params, "
            f"{top['madds'] / 1e6:.2f}M MAdds ({top['distance']:.0%} from the target; {scalarization.name} "
            f"{top['scalarized']:.3f}) -> {top['spec']}")
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    picks = [[ok_index[m["genome"]] for m in entry["models"]] for entry in summary["best_per_target"]]
    plot_front(out_dir / "pareto.png", raw, front, targets, picks)
    return summary


def plot_front(path: Path, raw: np.ndarray, front, targets, picks=None) -> None:
    """(params, MAdds) and (params, error): every evaluation, the non-dominated set, each target as a point
    (in the error panel at its error target) and each target's top picks (the rank-1 pick larger)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    picks = picks or [[] for _ in targets]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), constrained_layout=True)
    for ax, column, name in ((axes[0], 2, "MAdds (M)"), (axes[1], 0, "validation error")):
        ax.scatter(raw[:, 1] / 1e6, raw[:, column] / (1e6 if column else 1), s=10, c="0.75", label="evaluated")
        ax.scatter(raw[front, 1] / 1e6, raw[front, column] / (1e6 if column else 1), s=14, facecolors="none",
                   edgecolors="0.3", label="non-dominated")
        for t, (target, chosen) in enumerate(zip(targets, picks)):
            color = f"C{t}"
            y = target.madds / 1e6 if column else target.error
            ax.scatter([target.params / 1e6], [y], marker="*", s=220, c=color, edgecolors="k",
                       label=f"target {t + 1}", zorder=4)
            if chosen:
                values = raw[chosen]
                ax.scatter(values[:, 1] / 1e6, values[:, column] / (1e6 if column else 1), s=30, c=color,
                           alpha=0.6, zorder=3)
                ax.scatter(values[:1, 1] / 1e6, values[:1, column] / (1e6 if column else 1), s=90, c=color,
                           edgecolors="k", zorder=5, label=f"target {t + 1} picks")
        ax.set_xlabel("params (M)")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = ["plot_front", "write_outputs"]
