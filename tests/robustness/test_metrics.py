import json

import pytest

from muxnet.robustness.corruptions import BENCHMARK_CORRUPTIONS, SEVERITIES
from muxnet.robustness.metrics import (
    ReferenceErrors,
    alexnet_reference,
    corruption_error,
    load_reference,
    relative_corruption_error,
    summarize,
)


def test_ce_and_relative_ce_by_hand():
    model, ref = [10, 20, 30, 40, 50], [50, 60, 70, 80, 90]
    assert corruption_error(model, ref) == pytest.approx(100 * 150 / 350)  # 42.857
    # (150 - 5 * 5) / (350 - 5 * 40) = 125 / 150
    assert relative_corruption_error(model, 5.0, ref, 40.0) == pytest.approx(100 * 125 / 150)
    assert corruption_error(model, [0] * 5) is None


def _errors(top1, top5):
    return {s: {"top1_error": e1, "top5_error": e5} for s, e1, e5 in zip(SEVERITIES, top1, top5)}


def test_summary_by_hand():
    ref = ReferenceErrors("ref", "", {c: (50, 60, 70, 80, 90) for c in BENCHMARK_CORRUPTIONS},
                          {c: (20, 30, 40, 50, 60) for c in BENCHMARK_CORRUPTIONS}, {"top1": 40.0, "top5": 15.0})
    errors = {c: _errors([10, 20, 30, 40, 50], [1, 2, 3, 4, 5]) for c in BENCHMARK_CORRUPTIONS}
    errors["fog"] = _errors([25, 35, 45, 55, 65], [5, 5, 5, 5, 5])  # sum 225 -> CE 225/350
    out = summarize(errors, {"top1_error": 5.0, "top5_error": 1.0}, ref)
    fog = out["per_corruption"]["fog"]
    assert fog["ce"] == pytest.approx(100 * 225 / 350)
    assert fog["top1_error"] == pytest.approx(45.0)
    assert fog["ce_top5"] == pytest.approx(100 * 25 / 200)
    assert fog["relative_ce"] == pytest.approx(100 * (225 - 25) / (350 - 200))
    assert fog["top5_ratio"] == pytest.approx(95.0 / 60.0)  # mean top-5 accuracy 95 vs the reference's 60
    assert out["mce"] == pytest.approx((14 * 100 * 150 / 350 + 100 * 225 / 350) / 15)
    assert out["mce_extra"] is None  # the reference has no held-out corruptions


def test_incomplete_corruptions_get_no_ce_and_no_mce():
    ref = alexnet_reference()
    errors = {"fog": {1: {"top1_error": 30.0, "top5_error": 10.0}}}
    out = summarize(errors, None, ref)
    assert out["per_corruption"]["fog"]["ce"] is None and not out["per_corruption"]["fog"]["complete"]
    assert out["mce"] is None


def test_alexnet_reference_matches_the_published_means():
    ref = alexnet_reference()
    assert set(ref.top1) == set(BENCHMARK_CORRUPTIONS) and not ref.top5
    means = {c: sum(v) / 5 for c, v in ref.top1.items()}
    # the per-corruption means the ImageNet-C mCE is normalised by (Hendrycks & Dietterich, ICLR 2019)
    assert means["gaussian_noise"] == pytest.approx(88.6428)
    assert means["brightness"] == pytest.approx(56.4592)
    assert means["jpeg_compression"] == pytest.approx(60.65)
    assert ref.clean["top1"] == 43.5 and "ICLR 2019" in ref.source


def test_reference_files_are_validated(tmp_path):
    bad = tmp_path / "ref.json"
    bad.write_text(json.dumps({"top1": {"fog": [1, 2, 3]}}))
    with pytest.raises(ValueError, match=r"top1.fog must list 5 errors"):
        load_reference(bad)
    bad.write_text(json.dumps({"top1": {"mist": [1, 2, 3, 4, 5]}}))
    with pytest.raises(ValueError, match="top1.mist is not a corruption"):
        load_reference(bad)
    with pytest.raises(ValueError, match="cannot read reference"):
        load_reference(tmp_path / "missing.json")


def test_a_reference_without_top5_says_why_and_how_to_supply_it():
    """AlexNet's top-5 errors on ImageNet-C are not published: the summary says so instead of leaving bare nulls,
    and names the file that supplies them; a reference with every table leaves nothing to explain."""
    from muxnet.robustness.metrics import reference_gaps

    gaps = reference_gaps(alexnet_reference(), ["fog", "contrast", "saturate"])
    assert set(gaps) == {"top5", "held_out"}
    assert "not published" in gaps["top5"] and "--reference" in gaps["top5"] and "3 of the run's 3" in gaps["top5"]
    assert "saturate" in gaps["held_out"] and "fog" not in gaps["held_out"]
    full = ReferenceErrors("ref", "", {c: (50, 60, 70, 80, 90) for c in BENCHMARK_CORRUPTIONS},
                           {c: (20, 30, 40, 50, 60) for c in BENCHMARK_CORRUPTIONS}, {"top1": 40.0, "top5": 15.0})
    assert reference_gaps(full, BENCHMARK_CORRUPTIONS) == {}
    assert reference_gaps(alexnet_reference(), []) == {}  # nothing measured at all five severities
    no_clean = ReferenceErrors("ref", "", full.top1, full.top5, {"top1": 40.0})
    assert "clean top-5 error" in reference_gaps(no_clean, ["fog"])["top5"]


def test_the_table_prints_the_reference_gaps():
    from muxnet.robustness import format_table

    summary = {"corruptions": ["fog"], "reference": {"name": "AlexNet", "missing": {"top5": "why and how"}},
               "models": {"m": {"clean": None, "metrics": {
                   "per_corruption": {"fog": {"top1_error": 30.0, "ce": 40.0}}, "mce": None, "relative_mce": None,
                   "mce_extra": None, "mce_top5": None, "mean_top5_ratio": None}}}}
    assert format_table(summary).endswith("n/a (top5): why and how")
