"""What a finished search leaves behind: the non-dominated set, the best specs per target, a plot, all in the
search's objectives (error and its costs)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from ..decomposition import SubProblems, format_value
from ..sampling import relative_distance
from ..scalarization import Scalarization
from ..space import parse_genome_key


def _axis(name: str) -> tuple[str, float]:
    """A plot axis' label and the divisor that turns raw values into it."""
    if name in ("params", "madds"):
        return f"{'MAdds' if name == 'madds' else 'params'} (M)", 1e6
    if name == "latency":
        return "latency (ms, look-up table)", 1.0
    return ("validation error", 1.0) if name == "error" else (name, 1.0)


def write_outputs(out_dir: Path, rows, space, normaliser, subproblems: SubProblems, scalarization: Scalarization,
                  targets, config, log, extra: dict | None = None, retrained: dict | None = None) -> dict:
    """Write ``pareto.csv``, ``specs/``, ``top/``, ``summary.json`` and ``pareto.png`` and return the summary.
    ``retrained`` (from :func:`~muxnet.search.retrain.retrain_picks`, by pick spec path) adds each retrained
    pick's test accuracy beside its proxy error: in the summary (``retrained``), the log and the plot."""
    retrained = retrained or {}
    names = normaliser.names  # the cost objectives, in order
    ok = [r for r in rows if r.ok]
    summary: dict = {"evaluations": len(rows), "failed": len(rows) - len(ok), "pareto": [], "best_per_target": [],
                     "scalarization": scalarization.name, "space_size": space.size, **(extra or {}),
                     "config": config.to_dict()}
    if not ok:
        log("no candidate was evaluated successfully; nothing to report")
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
        return summary
    raw = np.array([[r.error, *(r.cost(n) for n in names)] for r in ok], dtype=float)
    ok_index = {r.genome: i for i, r in enumerate(ok)}
    F = normaliser.normalise_many(raw)
    # params and MAdds are always counted: reported beside the chosen costs
    shown = [*names, *(n for n in ("params", "madds") if n not in names)]

    def values(r) -> dict:
        return {n: r.cost(n) for n in shown}

    spec_dir, top_dir = out_dir / "specs", out_dir / "top"
    spec_dir.mkdir(exist_ok=True)
    top_dir.mkdir(exist_ok=True)

    front = NonDominatedSorting().do(raw, only_non_dominated_front=True)
    front = sorted(int(i) for i in front)
    with (out_dir / "pareto.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["genome", "spec", "error", *shown])
        for i in sorted(front, key=lambda i: (raw[i, 1], ok[i].error)):
            r = ok[i]
            path = spec_dir / f"{r.genome}.yaml"
            space.decode(parse_genome_key(r.genome)).save(path)
            writer.writerow([r.genome, str(path.relative_to(out_dir)), f"{r.error:.6f}",
                             *(f"{r.cost(n):.6g}" if n not in ("params", "madds") else r.cost(n) for n in shown)])
            summary["pareto"].append({"genome": r.genome, "error": r.error, **values(r)})

    for t, (target, weight) in enumerate(zip(targets, subproblems.target_weights())):
        scores = scalarization(F, weight, subproblems.ideal)
        goal = [target[n] for n in names]
        best = []
        for rank, i in enumerate(np.argsort(scores, kind="stable")[: config.top_k], start=1):
            r = ok[int(i)]
            path = top_dir / f"target{t + 1}_rank{rank}.yaml"
            spec = space.decode(parse_genome_key(r.genome), name=f"search_target{t + 1}_rank{rank}")
            spec.save(path)
            distance = relative_distance(raw[int(i), 1:], goal)
            best.append({"rank": rank, "genome": r.genome, "spec": str(path.relative_to(out_dir)),
                         "error": r.error, **values(r), "scalarized": float(scores[i]),
                         **{f"{n}_deviation": r.cost(n) / target[n] - 1.0 for n in names}, "distance": distance})
            if best[-1]["spec"] in retrained:
                best[-1]["retrained"] = retrained[best[-1]["spec"]]
        summary["best_per_target"].append({"target": target.label(),
                                           **{f"target_{n}": target[n] for n in names}, "models": best})
        top = best[0]
        achieved = ", ".join(f"{format_value(n, top[n])} {n}" for n in names)
        log(f"target {t + 1} [{target.label()}]: best err {top['error']:.3f}, {achieved} "
            f"({top['distance']:.0%} from the target; {scalarization.name} {top['scalarized']:.3f}) -> {top['spec']}")
        for model in best:
            if "retrained" in model:
                log(f"  rank {model['rank']} retrained: test top-1 {_retrained_text(model['retrained'])} "
                    f"(proxy error {model['error']:.3f})")
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    picks = [[ok_index[m["genome"]] for m in entry["models"]] for entry in summary["best_per_target"]]
    labels = [[_retrained_text(m["retrained"], 1) if "retrained" in m else "" for m in entry["models"]]
              for entry in summary["best_per_target"]]
    plot_front(out_dir / "pareto.png", raw, front, targets, picks, names, labels)
    return summary


def _retrained_text(result: dict, digits: int = 2) -> str:
    """A retrained pick's test top-1: the mean, with its 95% interval over several seeds."""
    mean, low, high = result["test_top1_mean"], result["test_top1_low"], result["test_top1_high"]
    text = f"{mean:.{digits}f}%"
    return text if result["test_top1_n"] < 2 else f"{text} [{low:.{digits}f}, {high:.{digits}f}]"


def plot_front(path: Path, raw: np.ndarray, front, targets, picks=None, names=("params", "madds"),
               labels=None) -> None:
    """Every evaluation, the non-dominated set, each target as a point and each target's top picks (the rank-1
    pick larger), in (first cost, second cost) when there are two costs and in (first cost, error). ``raw`` has
    the columns ``(error, *names)``; ``labels`` (per target, per pick) are written beside the picks in the error
    panel (a retrained pick's test accuracy)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    picks = picks or [[] for _ in targets]
    columns = ["error", *names]
    panels = ([(names[0], names[1])] if len(names) > 1 else []) + [(names[0], "error")]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.5), constrained_layout=True,
                             squeeze=False)
    for ax, (x_name, y_name) in zip(axes[0], panels):
        (x_label, x_div), (y_label, y_div) = _axis(x_name), _axis(y_name)
        x, y = columns.index(x_name), columns.index(y_name)
        ax.scatter(raw[:, x] / x_div, raw[:, y] / y_div, s=10, c="0.75", label="evaluated")
        ax.scatter(raw[front, x] / x_div, raw[front, y] / y_div, s=14, facecolors="none", edgecolors="0.3",
                   label="non-dominated")
        for t, (target, chosen) in enumerate(zip(targets, picks)):
            color = f"C{t}"
            point = target.vector()
            ax.scatter([point[x] / x_div], [point[y] / y_div], marker="*", s=220, c=color, edgecolors="k",
                       label=f"target {t + 1}", zorder=4)
            if chosen:
                chosen_raw = raw[chosen]
                ax.scatter(chosen_raw[:, x] / x_div, chosen_raw[:, y] / y_div, s=30, c=color, alpha=0.6, zorder=3)
                ax.scatter(chosen_raw[:1, x] / x_div, chosen_raw[:1, y] / y_div, s=90, c=color, edgecolors="k",
                           zorder=5, label=f"target {t + 1} picks")
                for k, text in enumerate((labels or [[]] * len(targets))[t] if y_name == "error" else []):
                    if text:
                        ax.annotate(f"test {text}", (chosen_raw[k, x] / x_div, chosen_raw[k, y] / y_div),
                                    xytext=(6, 6), textcoords="offset points", fontsize=7, color=color)
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.savefig(path, dpi=110)
    plt.close(fig)


__all__ = ["plot_front", "write_outputs"]
