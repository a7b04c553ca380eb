import pytest
import torch
from torch import nn

import muxnet
from muxnet.cli import main
from muxnet.models.blocks import InvertedResidual, MuxConvBlock
from muxnet.models.spec import BlockSpec, ResolvedBlock
from muxnet.profile import (
    complexity_ratio,
    count_spec,
    mobilenet_block_complexity,
    muxconv_block_complexity,
    profile,
    profile_spec,
)


def _conv_counts(block: nn.Module, channels: int, size: int):
    """Params and MAdds of the conv layers alone (the appendix ignores BN, activations and SE)."""
    p = profile(block, (channels, size, size))
    return sum(r.params for r in p.layers), p.madds


@pytest.mark.parametrize("channels, expand, group_factor, leave_out",
                         [(24, 4, 2, 0.5), (40, 6, 1, 0.25), (64, 4, 4, 0.0), (80, 6, 2, 0.5)])
def test_muxconv_block_costs_equal_appendix_b(channels, expand, group_factor, leave_out):
    spec = BlockSpec("mux", channels, kernel_size=3, expand_ratio=expand, group_factor=group_factor,
                     leave_out=leave_out)
    block = MuxConvBlock(ResolvedBlock(0, 0, channels, spec, 1, 0.0))
    params, madds = _conv_counts(block, channels, 14)
    expected_params, expected_flops = muxconv_block_complexity(channels, expand, group_factor, leave_out, 3, 14, 14)
    assert params == expected_params
    assert madds == expected_flops


@pytest.mark.parametrize("channels, expand", [(24, 6), (32, 4)])
def test_mobilenet_block_costs_equal_appendix_b(channels, expand):
    spec = BlockSpec("ir", channels, kernel_size=3, expand_ratio=expand)
    block = InvertedResidual(ResolvedBlock(0, 0, channels, spec, 1, 0.0))
    params, madds = _conv_counts(block, channels, 7)
    assert (params, madds) == mobilenet_block_complexity(channels, expand, 3, 7, 7)


def test_search_space_choices_are_cheaper_than_a_mobilenet_block():
    # the paper's Fig. 13: the searched G and L keep MUXConv at or below MobileNet's cost
    for group_factor in (1, 2, 4):
        for leave_out in (0.25, 0.5):
            assert complexity_ratio(40, 6, group_factor, leave_out) < 1.0
    assert complexity_ratio(40, 6, 4, 0.0) > 1.0


def test_profile_counts_linear_and_grouped_convs_by_hand():
    model = nn.Sequential(nn.Conv2d(4, 8, 3, padding=1, groups=2, bias=False), nn.Flatten(), nn.Linear(8 * 25, 3))
    p = profile(model, (4, 5, 5))
    assert p.madds == 8 * 25 * 2 * 9 + 8 * 25 * 3
    assert p.params == 8 * 2 * 9 + 8 * 25 * 3 + 3
    assert [r.kind for r in p.layers] == ["gconv", "linear"]
    assert "total" in p.table()


def test_profile_restores_training_mode_and_rejects_bad_sizes():
    model = muxnet.create_model("mixnet_s")
    model.train()
    profile(model, (3, 64, 64))
    assert model.training
    with pytest.raises(ValueError, match="channels, height, width"):
        profile(model, (64, 64))


def test_cli_profile_prints_a_table(capsys):
    assert main(["profile", "muxnet_m", "mixnet_m", "mobilenetv3_large_100"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line and line.split()[0] in
             ("muxnet_m", "mixnet_m", "mobilenetv3_large_100")}
    assert lines["muxnet_m"][1:5] == ["3.354M", "1.00x", "216.8M", "1.00x"]
    assert lines["mixnet_m"][1] == "5.014M" and lines["mobilenetv3_large_100"][3] == "216.6M"


def test_cli_profile_errors_are_one_line(capsys):
    assert main(["profile", "not_a_model"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown model 'not_a_model'" in err


def test_profile_works_on_meta_models():
    with torch.device("meta"):
        model = muxnet.create_model("muxnet_l")
    p = profile(model)
    assert (p.params, p.madds) == (4041178, 316454832)


def test_count_spec_equals_the_full_profile():
    import numpy as np

    from muxnet.search.space import SearchSpace

    specs = [muxnet.get_spec(name) for name in ("muxnet_m", "muxnet_xs", "mixnet_s")]
    for preset in ("small", "imagenet224"):
        space = SearchSpace(preset)
        rng = np.random.default_rng(1)
        specs += [space.decode(space.sample(rng)) for _ in range(8)]
    for spec in specs:
        full = profile_spec(spec)
        assert count_spec(spec) == (full.params, full.madds), spec.name
    assert count_spec(specs[0], (3, 256, 256)) == (lambda p: (p.params, p.madds))(profile_spec(specs[0], (3, 256, 256)))
