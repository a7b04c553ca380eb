"""Ablation families: plain MobileNets match timm, multiplexed variants change the counts as the papers say."""

import dataclasses
import math

import pytest
import timm
import torch

import muxnet
from muxnet.cli import main
from muxnet.layers.spatial_multiplexing import SpatialMultiplexConv
from muxnet.models.ablations import FAMILIES, family_members, for_input_size, mobilenetv2, mobilenetv2_spatialmux


def _counts(name):
    counted = muxnet.profile_spec(muxnet.get_spec(name))
    return counted.params, counted.madds


@pytest.mark.parametrize(("ours", "theirs"), [("mobilenetv2_baseline_100", "mobilenetv2_100"),
                                              ("mobilenetv2_baseline_050", "mobilenetv2_050"),
                                              ("mobilenetv1_vanilla_k3", "mobilenetv1_100")])
def test_plain_mobilenets_reproduce_timm(ours, theirs):
    reference = muxnet.profile(timm.create_model(theirs))
    assert _counts(ours) == (reference.params, reference.madds)


def test_mobilenetv2_matches_the_published_count():
    params, madds = _counts("mobilenetv2_baseline_100")
    assert (params, madds) == (3_504_872, 300_774_272)


@pytest.mark.parametrize("width", ["010", "025", "050", "075", "100"])
def test_spatial_multiplexing_keeps_madds_and_changes_params_by_the_subpixel_superpixel_rule(width):
    base, mux = _counts(f"mobilenetv2_baseline_{width}"), _counts(f"mobilenetv2_spatialmux_{width}")
    assert mux[1] == base[1]  # subpixel/superpixel parts cost the same multiply-adds
    # a C/4 subpixel part has 4x, a C/4 superpixel part 1/4 of the 3x3 weights: 1.5625x the depthwise params
    spec = muxnet.get_spec(f"mobilenetv2_spatialmux_{width}")
    dw_params = sum(9 * round(b.in_channels * 6) for b in spec.blocks() if b.spec.scales)
    assert mux[0] - base[0] == pytest.approx(0.5625 * dw_params, abs=16)


def test_spatial_multiplexing_only_in_normal_blocks_at_14x14_or_more():
    model = muxnet.create_model("mobilenetv2_spatialmux_100")
    spatial = [name for name, m in model.named_modules() if isinstance(m, SpatialMultiplexConv)]
    assert spatial and all(".0.conv_dw" not in name for name in spatial)  # never the reduction block
    for block in model.spec.blocks():
        if block.spec.type == "mux":
            assert block.stride == 1 and block.spec.group_factor == 1 and block.spec.expand_ratio == 6
    assert len(spatial) == 1 + 2 + 3 + 2  # normal blocks of the 24, 32, 64 and 96-channel stages


def test_leaving_out_a_quarter_saves_about_13_percent_params_and_20_percent_madds():
    (p0, m0), (p25, m25) = _counts("mobilenetv2_channelmux_l000"), _counts("mobilenetv2_channelmux_l025")
    assert (p0, m0) == _counts("mobilenetv2_baseline_100")
    assert 1 - p25 / p0 == pytest.approx(0.13, abs=0.01)
    assert 1 - m25 / m0 == pytest.approx(0.20, abs=0.025)


def test_mixconv_families_grow_as_expected():
    for net in ("mobilenetv1", "mobilenetv2"):
        vanilla = [_counts(n)[1] for n in family_members(f"{net}_vanilla")]
        mixed = [_counts(n)[1] for n in family_members(f"{net}_mixconv")]
        exponential = [_counts(n)[1] for n in family_members(f"{net}_mixconv_exp")]
        dilated = {_counts(n) for n in family_members(f"{net}_mixconv_dilated")}
        assert vanilla == sorted(vanilla) and mixed == sorted(mixed) and len(set(vanilla)) == 6
        assert vanilla[0] == mixed[0]  # {3} is the plain 3x3 net
        assert all(m < v for m, v in zip(mixed[1:], vanilla[1:]))  # mixing is cheaper than one large kernel
        assert all(e < m for e, m in zip(exponential[1:], mixed[2:]))  # exponential favours the small kernels
        assert dilated == {_counts(f"{net}_vanilla_k3")}  # dilated 3x3 kernels cost what 3x3 costs


def test_families_are_registered_and_build_at_any_width():
    assert set(FAMILIES) >= {"mobilenetv2_spatialmux", "mobilenetv2_baseline", "mobilenetv2_channelmux"}
    for members in FAMILIES.values():
        assert all(name in muxnet.list_models() for name in members)
    spec = mobilenetv2_spatialmux(0.35)
    assert spec.stages[1][0].out_channels == 8 and spec.head_channels == 1280
    assert mobilenetv2(1.4).head_channels == 1792  # the head only grows above width 1.0, as in timm
    with pytest.raises(KeyError, match="unknown family"):
        family_members("mobilenetv2_nothing")


def test_cli_lists_a_family(capsys):
    assert main(["profile", "--family", "mobilenetv2_channelmux"]) == 0
    out = capsys.readouterr().out
    assert "mobilenetv2_channelmux_l025" in out and "0.87x" in out and "0.78x" in out
    assert main(["profile", "--family", "nope"]) == 2
    assert "unknown family" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["mobilenetv2_spatialmux_025", "mobilenetv1_vanilla_k3", "mobilenetv2_mixconv_k3to9"])
def test_for_input_size_downsamples_32x32_inputs_to_a_4x4_map_and_leaves_224_alone(name):
    spec = muxnet.get_spec(name)
    assert for_input_size(spec, 224) == spec
    small = for_input_size(spec, 32)
    strides = [b.stride for stage in small.stages for b in stage]
    reduction = small.stem_stride * math.prod(strides)
    assert (small.input_size, small.stem_stride, reduction) == ((3, 32, 32), 1, 8)
    # only the earliest strides go; the blocks, their widths and their multiplexing stay
    assert strides.index(2) > [b.stride for stage in spec.stages for b in stage].index(2)
    assert [dataclasses.replace(b, stride=1) for stage in small.stages for b in stage] == \
        [dataclasses.replace(b, stride=1) for stage in spec.stages for b in stage]
    muxnet.create_model(small, num_classes=10)(torch.zeros(1, 3, 32, 32))  # a 4x4 map: every part builds and runs
