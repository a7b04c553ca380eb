"""Verdicts from numbers: what each kind of claim needs to hold, to be contradicted, or to stay not shown."""

from __future__ import annotations

import pytest

from muxnet.ablation.figures import get_figure
from muxnet.ablation.report import verdict


def _members(figure):
    return {m.name: {"params": 1_000_000, "madds": 10_000_000} for m in figure.members}


def _judge(figure_name, claim_index, scores):
    figure = get_figure(figure_name)
    return verdict(figure.claims[claim_index], figure, _members(figure), scores)


@pytest.mark.parametrize(("mux", "base", "outcome"), [
    ([72.0, 73.0, 72.5], [70.0, 70.5, 70.2], "holds"),
    ([70.0, 70.5, 70.2], [72.0, 73.0, 72.5], "contradicted"),
    ([71.0, 73.0, 70.0], [70.0, 72.5, 71.5], "not shown"),
])
def test_better_needs_the_whole_interval_above_zero(mux, base, outcome):
    result = _judge("fig8a", 1, {"mobilenetv2_spatialmux_025": mux, "mobilenetv2_baseline_025": base})
    assert result["outcome"] == outcome and result["low"] <= result["value"] <= result["high"]
    assert result["text"].startswith("spatial multiplexing vs depthwise at width 0.25: ")


def test_not_worse_allows_a_loss_below_one_point():
    small_loss = _judge("fig8b", 0, {"mobilenetv2_channelmux_l025": [70.6, 70.7, 70.8],
                                     "mobilenetv2_channelmux_l000": [71.0, 71.1, 71.2]})
    big_loss = _judge("fig8b", 0, {"mobilenetv2_channelmux_l025": [68.0, 68.1, 68.2],
                                   "mobilenetv2_channelmux_l000": [71.0, 71.1, 71.2]})
    assert (small_loss["outcome"], big_loss["outcome"]) == ("holds", "contradicted")


def test_a_missing_member_leaves_the_claim_pending():
    assert _judge("fig8a", 0, {"mobilenetv2_spatialmux_010": [70.0, 71.0]})["outcome"] == "pending"


def _kernels(values):
    names = ["mobilenetv2_vanilla_k3", "mobilenetv2_vanilla_k5", "mobilenetv2_vanilla_k7", "mobilenetv2_vanilla_k9"]
    return {name: [v - 0.2, v, v + 0.2] for name, v in zip(names, values)}


def test_a_peak_must_lie_inside_the_range():
    inside = _judge("mixnet_kernels", 0, _kernels([70.0, 73.0, 72.0, 69.0]))
    at_the_end = _judge("mixnet_kernels", 0, _kernels([70.0, 71.0, 72.0, 73.0]))
    assert inside["outcome"] == "holds" and inside["a"] == "mobilenetv2_vanilla_k5" and "optimistic" in inside["note"]
    assert at_the_end["outcome"] == "not shown" and "no peak" in at_the_end["note"]


def test_the_gain_in_small_models_is_a_difference_of_differences():
    scores = {"mobilenetv2_spatialmux_010": [60.0, 60.5, 61.0], "mobilenetv2_baseline_010": [55.0, 55.5, 56.0],
              "mobilenetv2_spatialmux_100": [80.0, 80.5, 81.0], "mobilenetv2_baseline_100": [79.0, 79.5, 80.0]}
    result = _judge("fig8a", 5, scores)
    assert result["value"] == pytest.approx(5.0 - 1.0) and result["outcome"] == "holds"
