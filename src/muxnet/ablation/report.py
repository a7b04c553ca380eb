"""What a sweep reports: per member its mean top-1 over seeds with a 95% interval, a verdict per claim of the
figure computed from those numbers, the terminal table, ``summary.json`` and ``figure.png``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..runtime import atomic_write
from ..runtime.statistics import Contrast, mean_interval, welch_contrast, welch_difference
from .figures import SIMILAR_POINTS, Claim, Figure

SUMMARY = "summary.json"
PLOT = "figure.png"
METRIC = "final-epoch test top-1 (%)"
# Why Welch and not a paired test: two members trained with the same seed share the data order but not their
# initial weights (different architectures draw different numbers), so a seed does not pair their errors.
TEST = "Welch's t-test (unequal variances, Welch-Satterthwaite df), two-sided, 95% intervals"


def _change(new: float, old: float) -> str:
    return f"{100 * (new - old) / old:+.1f}%" if old else "n/a"


def _outcome(kind: str, est: Contrast) -> str:
    """``holds``, ``not shown`` (the interval allows either) or ``contradicted``, by the claim's kind."""
    if est.low is None:
        return "not shown (one seed)"
    if kind in ("better", "larger_gain", "peak"):
        return "holds" if est.low > 0 else "contradicted" if est.high < 0 else "not shown"
    if kind == "not_worse":
        return "holds" if est.low > -SIMILAR_POINTS else "contradicted" if est.high < -SIMILAR_POINTS else "not shown"
    if kind == "similar":
        inside = -SIMILAR_POINTS < est.low and est.high < SIMILAR_POINTS
        outside = est.low > SIMILAR_POINTS or est.high < -SIMILAR_POINTS
        return "holds" if inside else "contradicted" if outside else "not shown"
    raise ValueError(f"claim kind {kind!r} is not one of better, larger_gain, peak, not_worse, similar")


def verdict(claim: Claim, figure: Figure, members: dict[str, dict[str, Any]],
            scores: dict[str, list[float]]) -> dict[str, Any]:
    """One claim's numbers: the difference (``a`` minus ``b``, in top-1 points), its interval, Welch's p, the
    costs it compares, and the outcome. A claim whose members have no runs yet is reported as pending."""
    note = ""
    if claim.kind == "peak":
        line = next(line for line in figure.lines if line.name == claim.a)
        ranked = [m.name for m in line.members if scores.get(m.name)]
        if len(ranked) < len(line.members):
            return {"claim": claim.text, "paper": claim.paper, "kind": claim.kind, "outcome": "pending"}
        best = max(ranked, key=lambda name: mean_interval(scores[name]).mean)
        a, b = best, claim.b
        note = f"best {figure.member(best).label}"
        if best in (line.members[0].name, line.members[-1].name):
            note += " (at the end of the range: no peak inside it)"
        note += "; the best is picked from these runs, so its interval is optimistic"
    else:
        a, b = claim.a, claim.b
    names = [*a, *b] if isinstance(a, tuple) else [a, b]
    if not all(scores.get(name) for name in names):
        return {"claim": claim.text, "paper": claim.paper, "kind": claim.kind, "outcome": "pending"}
    if claim.kind == "larger_gain":
        est = welch_contrast([(1.0, scores[a[0]]), (-1.0, scores[b[0]]), (-1.0, scores[a[1]]),
                              (1.0, scores[b[1]])])
        costs = ""
    else:
        est = welch_difference(scores[a], scores[b])
        costs = (f"MAdds {_change(members[a]['madds'], members[b]['madds'])}, "
                 f"params {_change(members[a]['params'], members[b]['params'])}")
    outcome = _outcome(claim.kind, est)
    if claim.kind == "peak" and "end of the range" in note and outcome == "holds":
        outcome = "not shown"
    text = f"{claim.text}: {est.format()} points"
    if costs:
        text += f"; {costs}"
    if note:
        text += f"; {note}"
    return {"claim": claim.text, "paper": claim.paper, "kind": claim.kind, "a": a, "b": b, **est.to_dict(),
            "costs": costs, "note": note, "outcome": outcome, "text": f"{text}: {outcome}"}


def summarize(plan: dict[str, Any], figure: Figure, results: dict[str, dict[int, dict[str, Any]]],
              elapsed: float) -> dict[str, Any]:
    """``summary.json``: the plan's members with their runs and intervals, and the verdicts."""
    members, scores, runs_done, train_time = {}, {}, set(), 0.0
    for member in plan["members"]:
        runs = [{"seed": seed, **result} for seed, result in sorted(results[member["name"]].items())]
        values = [r["top1"] for r in runs]
        est = mean_interval(values) if values else None
        members[member["name"]] = {**member, "runs": runs, "n": len(values),
                                   "top1": est.to_dict() if est else None}
        scores[member["name"]] = values
        for r in runs:
            if (member["run"], r["seed"]) not in runs_done:
                runs_done.add((member["run"], r["seed"]))
                train_time += r["wall_time_s"]
    total = len({(m["run"], s) for m in plan["members"] for s in plan["seeds"]})
    return {
        "figure": plan["figure"], "description": plan["description"], "dataset": plan["dataset"],
        "recipe": plan["recipe"]["recipe"], "epochs": plan["recipe"]["schedule"]["epochs"],
        "image_size": plan["image_size"], "num_classes": plan["num_classes"], "seeds": plan["seeds"],
        "metric": METRIC, "test": TEST, "runs_done": len(runs_done), "runs_total": total,
        "complete": len(runs_done) == total, "train_time_s": train_time, "wall_time_s": elapsed,
        "lines": {line.name: [m.name for m in line.members] for line in figure.lines},
        "labels": {line.name: [m.label for m in line.members] for line in figure.lines},
        "members": list(members.values()),
        "verdicts": [verdict(claim, figure, members, scores) for claim in figure.claims],
        "notes": list(figure.notes),
    }


def _millions(value: int) -> str:
    return f"{value / 1e6:.3f}M"


def format_table(summary: dict[str, Any]) -> str:
    """The terminal table of a sweep (member, params, MAdds, mean top-1 and its interval) and its verdicts."""
    head = (f"{summary['figure']}: {summary['description']}\n{summary['dataset']} at {summary['image_size']}x"
            f"{summary['image_size']}, recipe {summary['recipe']} ({summary['epochs']} epochs), seeds "
            f"{summary['seeds']}; {summary['metric']}, mean [95% t-interval]; {summary['runs_done']}/"
            f"{summary['runs_total']} runs")
    rows = [("line", "member", "point", "size", "params", "MAdds", "n", "top-1 [95% interval]")]
    by_name = {m["name"]: m for m in summary["members"]}
    for line, names in summary["lines"].items():
        for name, label in zip(names, summary["labels"][line]):
            m = by_name[name]
            top1 = m["top1"]
            if top1 is None:
                score = "-"
            elif top1["n"] < 2:
                score = f"{top1['mean']:.2f}"
            else:
                score = f"{top1['mean']:.2f} [{top1['low']:.2f}, {top1['high']:.2f}]"
            rows.append((line, name, label, str(m["image_size"]), _millions(m["params"]), _millions(m["madds"]),
                         str(m["n"]), score))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [head, ""] + ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    if summary["verdicts"]:
        lines += ["", f"verdicts ({summary['test']}):"]
        for v in summary["verdicts"]:
            lines.append(f"  {v.get('text') or v['claim'] + ': pending (runs missing)'}")
    return "\n".join(lines)


def plot(summary: dict[str, Any], path: Path) -> Path:
    """The figure re-drawn: mean top-1 against MAdds and against params, one line per variant, 95% interval bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_name = {m["name"]: m for m in summary["members"]}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
    for ax, key, label in ((axes[0], "madds", "MAdds (millions)"), (axes[1], "params", "params (millions)")):
        for line, names in summary["lines"].items():
            points = [(by_name[n], lab) for n, lab in zip(names, summary["labels"][line]) if by_name[n]["top1"]]
            if not points:
                continue
            xs = [m[key] / 1e6 for m, _ in points]
            ys = [m["top1"]["mean"] for m, _ in points]
            errors = [[m["top1"]["mean"] - m["top1"]["low"] for m, _ in points],
                      [m["top1"]["high"] - m["top1"]["mean"] for m, _ in points]]
            ax.errorbar(xs, ys, yerr=errors, marker="o", capsize=3, label=line)
            for x, y, (_, lab) in zip(xs, ys, points):
                ax.annotate(lab, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        ax.set_xlabel(label)
        ax.set_ylabel("top-1 (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{summary['description']}\n{summary['dataset']} {summary['image_size']}x{summary['image_size']}, "
                 f"{len(summary['seeds'])} seed(s), mean and 95% interval", fontsize=9)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120))
    plt.close(fig)
    return path


def write_outputs(summary: dict[str, Any], output: Path, plot_figure: bool = True) -> None:
    atomic_write(output / SUMMARY, json.dumps(summary, indent=2) + "\n")
    if plot_figure:
        plot(summary, output / PLOT)


__all__ = ["METRIC", "PLOT", "SUMMARY", "TEST", "format_table", "plot", "summarize", "verdict", "write_outputs"]
