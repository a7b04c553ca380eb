"""Corruption errors as Hendrycks & Dietterich (ICLR 2019) define them, and the MUXNet paper's top-5 form.

With E(f, c, s) the error of classifier f on corruption c at severity s and E_clean(f) its clean error:

* CE(f, c) = sum_s E(f, c, s) / sum_s E(ref, c, s)                       (the reference is AlexNet on ImageNet-C)
* relative CE(f, c) = sum_s (E(f, c, s) - E_clean(f)) / sum_s (E(ref, c, s) - E_clean(ref))
* mCE, relative mCE: their means over the 15 benchmark corruptions (the 4 held-out ones are reported apart).

The paper (MUXNet, appendix C.2, Fig. 15b) "normalised the top-5 accuracy by AlexNet's top-5 accuracy": we report
that as ``top5_ratio`` = mean_s A5(f, c, s) / mean_s A5(ref, c, s), beside the CE of the top-5 errors
(``ce_top5``). Every quantity needs the reference's errors for that corruption; where the reference has none
(AlexNet's top-5 and held-out errors are not published) the value is ``None``, never a guess.
Errors and accuracies are in percent; CEs are reported in percent too (AlexNet = 100), as in the paper.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from .corruptions import BENCHMARK_CORRUPTIONS, CORRUPTIONS, SEVERITIES

ALEXNET_FILE = "alexnet_imagenet_c.json"


@dataclass(frozen=True)
class ReferenceErrors:
    """A normalising model's errors (percent): ``top1[c]``/``top5[c]`` list the 5 severities; ``clean`` the
    clean errors (keys ``top1``/``top5``)."""

    name: str
    source: str
    top1: dict[str, tuple[float, ...]]
    top5: dict[str, tuple[float, ...]] = field(default_factory=dict)
    clean: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "reference") -> ReferenceErrors:
        def table(key: str) -> dict[str, tuple[float, ...]]:
            out = {}
            for name, values in (data.get(key) or {}).items():
                if name not in CORRUPTIONS:
                    raise ValueError(f"{where}: {key}.{name} is not a corruption ({', '.join(CORRUPTIONS)})")
                if not isinstance(values, Sequence) or len(values) != len(SEVERITIES):
                    raise ValueError(f"{where}: {key}.{name} must list {len(SEVERITIES)} errors (severities 1-5)")
                out[name] = tuple(float(v) for v in values)
            return out

        if "top1" not in data:
            raise ValueError(f"{where}: needs a 'top1' table of per-severity errors")
        return cls(str(data.get("name", "reference")), str(data.get("source", "")), table("top1"), table("top5"),
                   {k: float(v) for k, v in (data.get("clean") or {}).items()})

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "units": "percent error", "clean": dict(self.clean),
                "top1": {k: list(v) for k, v in self.top1.items()}, "top5": {k: list(v) for k, v in self.top5.items()}}


def alexnet_reference() -> ReferenceErrors:
    """AlexNet's published ImageNet-C errors (the package data file names its source)."""
    text = resources.files(__package__).joinpath(ALEXNET_FILE).read_text()
    return ReferenceErrors.from_dict(json.loads(text), ALEXNET_FILE)


def load_reference(path: str | Path | None = None) -> ReferenceErrors:
    """A reference from a JSON file (the layout of the shipped AlexNet file), or AlexNet's when ``path`` is None."""
    if path is None:
        return alexnet_reference()
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read reference errors {path}: {err}") from err
    return ReferenceErrors.from_dict(data, str(path))


def reference_gaps(reference: ReferenceErrors, corruptions: Sequence[str]) -> dict[str, str]:
    """Why the reference leaves metrics of ``corruptions`` null, and how to supply what is missing, by topic
    (``top5``, ``held_out``); empty when it covers them all. A summary carries these instead of bare nulls.
    ``corruptions``: those measured at all five severities (the others get no CE whatever the reference)."""
    if not corruptions:
        return {}
    layout = (f"--reference FILE, a JSON file laid out as the shipped {ALEXNET_FILE} (per corruption, five "
              "errors in percent for severities 1-5)")
    gaps = {}
    no_top5 = [c for c in corruptions if c not in reference.top5]
    if no_top5 or "top5" not in reference.clean:
        lacking = (f"top-5 errors for {len(no_top5)} of the run's {len(corruptions)} corruptions" if no_top5
                   else "clean top-5 error")
        gaps["top5"] = (f"{reference.name} has no {lacking}, so the top-5 forms (ce_top5, relative_ce_top5, "
                        "top5_ratio, mce_top5, mean_top5_ratio: the paper's Fig. 15b) are null where it lacks them; "
                        "AlexNet's top-5 errors on ImageNet-C are not published. Supply them with "
                        f"{layout}, with a 'top5' table and clean.top5")
    no_top1 = [c for c in corruptions if c not in BENCHMARK_CORRUPTIONS and c not in reference.top1]
    if no_top1:
        gaps["held_out"] = (f"{reference.name} has no errors for the held-out corruption(s) {', '.join(no_top1)}, "
                            "so their CE and mce_extra / mce_all19 are null (AlexNet's are not published). Supply "
                            f"them with {layout}, under 'top1'")
    return gaps


def corruption_error(errors: Sequence[float], reference: Sequence[float]) -> float | None:
    """CE in percent: the model's summed errors over the reference's (``None`` when the reference's sum is 0)."""
    denominator = sum(reference)
    return None if denominator <= 0 else 100.0 * sum(errors) / denominator


def relative_corruption_error(errors: Sequence[float], clean: float, reference: Sequence[float],
                              reference_clean: float) -> float | None:
    """Relative CE in percent: the degradation over the clean error, relative to the reference's."""
    denominator = sum(e - reference_clean for e in reference)
    return None if denominator <= 0 else 100.0 * sum(e - clean for e in errors) / denominator


def _mean(values: Sequence[float | None]) -> float | None:
    """Mean over all values, or ``None`` when any is missing (a partial mean would not be an mCE)."""
    if not values or any(v is None or math.isnan(v) for v in values):
        return None
    return float(sum(values)) / len(values)  # type: ignore[arg-type]


def summarize(errors: Mapping[str, Mapping[int, Mapping[str, float]]], clean: Mapping[str, float] | None,
              reference: ReferenceErrors) -> dict[str, Any]:
    """Per-corruption CE, relative CE and the top-5 forms, and their means.

    ``errors[c][s]`` holds ``top1_error``/``top5_error`` (percent) for each evaluated severity; a corruption
    without all five severities gets no CE (the formula sums over all five). ``clean`` holds the clean
    ``top1_error``/``top5_error`` (needed for relative CE).
    """
    per: dict[str, dict[str, Any]] = {}
    for name, by_severity in errors.items():
        complete = all(s in by_severity for s in SEVERITIES)
        row: dict[str, Any] = {"complete": complete}
        for k in ("top1", "top5"):
            model = [by_severity[s][f"{k}_error"] for s in SEVERITIES] if complete else None
            ref = getattr(reference, k).get(name)
            row[f"{k}_error"] = None if model is None else sum(model) / len(model)
            row[f"ce_{k}" if k == "top5" else "ce"] = (
                corruption_error(model, ref) if model is not None and ref is not None else None)
            ref_clean = reference.clean.get(k)
            model_clean = (clean or {}).get(f"{k}_error")
            rel = None
            if model is not None and ref is not None and ref_clean is not None and model_clean is not None:
                rel = relative_corruption_error(model, model_clean, ref, ref_clean)
            row[f"relative_ce_{k}" if k == "top5" else "relative_ce"] = rel
        ref5 = reference.top5.get(name)
        row["top5_ratio"] = None
        if complete and ref5 is not None:
            ref_acc = sum(100.0 - e for e in ref5) / len(ref5)
            model_acc = 100.0 - row["top5_error"]
            row["top5_ratio"] = None if ref_acc <= 0 else model_acc / ref_acc
        per[name] = row

    def mean_over(names: Sequence[str], key: str) -> float | None:
        present = [n for n in names if n in per]
        return _mean([per[n][key] for n in present]) if len(present) == len(names) else None

    extra = [c for c in CORRUPTIONS if c not in BENCHMARK_CORRUPTIONS]
    return {
        "reference": reference.name,
        "per_corruption": per,
        "mce": mean_over(BENCHMARK_CORRUPTIONS, "ce"),
        "relative_mce": mean_over(BENCHMARK_CORRUPTIONS, "relative_ce"),
        "mce_top5": mean_over(BENCHMARK_CORRUPTIONS, "ce_top5"),
        "relative_mce_top5": mean_over(BENCHMARK_CORRUPTIONS, "relative_ce_top5"),
        "mean_top5_ratio": mean_over(BENCHMARK_CORRUPTIONS, "top5_ratio"),
        "mce_extra": mean_over(extra, "ce"),
        "mce_all19": mean_over(CORRUPTIONS, "ce"),
    }


__all__ = ["ReferenceErrors", "alexnet_reference", "corruption_error", "load_reference", "reference_gaps",
           "relative_corruption_error", "summarize"]
