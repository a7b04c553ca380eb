"""MUXNet-xs/s: budgets, spatial multiplexing in stages 2-3, a training step, and the derivation's arithmetic."""

import pytest
import torch

import muxnet
from muxnet.layers.spatial_multiplexing import SpatialMultiplexConv
from muxnet.models import derive, zoo_xs

# measured with muxnet.profile at 224x224, 1000 classes
MEASURED = {"muxnet_xs": (1_791_991, 66_798_512), "muxnet_s": (2_399_083, 117_037_904)}
PAPER = {"muxnet_xs": (1.8e6, 66e6), "muxnet_s": (2.4e6, 117e6)}


@pytest.mark.parametrize("name", sorted(MEASURED))
def test_counts_are_pinned_and_meet_the_paper_budget(name):
    counted = muxnet.profile_spec(muxnet.get_spec(name))
    params, madds = MEASURED[name]
    assert abs(counted.params / params - 1) <= 0.005
    assert abs(counted.madds / madds - 1) <= 0.01
    paper_params, paper_madds = PAPER[name]
    assert abs(counted.params / paper_params - 1) <= 0.03
    assert abs(counted.madds / paper_madds - 1) <= 0.03


@pytest.mark.parametrize("name", sorted(MEASURED))
def test_spatial_multiplexing_only_in_stages_2_and_3_and_channel_multiplexing_everywhere(name):
    model = muxnet.create_model(name)
    stages_with_spatial = {int(name.split(".")[1]) for name, module in model.named_modules()
                           if isinstance(module, SpatialMultiplexConv)}
    assert stages_with_spatial == {2, 3}
    for block in model.spec.blocks():
        if block.spec.type == "mux":
            assert block.spec.leave_out > 0
            assert bool(block.spec.scales) == (block.stage in (2, 3))


@pytest.mark.parametrize("name", sorted(MEASURED))
def test_one_training_step(name):
    model = muxnet.create_model(name, num_classes=10)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(2, 3, 64, 64), torch.tensor([1, 7])
    before = [p.detach().clone() for p in model.parameters()]
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
    changed = sum(not torch.equal(a, p) for a, p in zip(before, model.parameters()))
    assert changed > 0.9 * len(before)
    spatial = [m for m in model.modules() if isinstance(m, SpatialMultiplexConv)]
    assert all(conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0 for m in spatial for conv in m)


@pytest.mark.parametrize("name", sorted(MEASURED))
def test_the_search_sum_of_block_costs_is_exact(name):
    """derive's cost = per-block tables + a fixed part linear in the head width; check on the chosen spec."""
    spec = muxnet.get_spec(name)
    table_params, table_madds = derive.table_cost(spec)
    full = muxnet.profile_spec(spec)
    base = muxnet.profile_spec(spec.replace(stages=tuple(
        tuple(b for b in stage if b.type != "mux") for stage in spec.stages)))
    searched_reduce = derive.table_cost(spec.replace(stages=tuple(
        tuple(b for b in stage if b.type != "mux") for stage in spec.stages)))
    assert full.params - table_params == base.params - searched_reduce[0]
    assert full.madds - table_madds == base.madds - searched_reduce[1]


def test_specs_follow_the_table_1_space_and_the_width_rule():
    for budget, stages in ((zoo_xs.MUXNET_XS_BUDGET, zoo_xs.MUXNET_XS_STAGES),
                           (zoo_xs.MUXNET_S_BUDGET, zoo_xs.MUXNET_S_STAGES)):
        for s, choice in enumerate(stages, start=1):
            assert choice in derive.stage_options(s)
        widths = zoo_xs.width_rule(budget[1])
        assert all(w % 8 == 0 for w in widths)
    assert zoo_xs.width_rule(216_808_112) == zoo_xs.MUXNET_M_WIDTHS
    with pytest.raises(ValueError, match="stages\\[1\\].scales"):
        zoo_xs.small_muxnet_spec("bad", zoo_xs.MUXNET_M_WIDTHS, 1280,
                                 (zoo_xs.StageChoice(3, 4, 3, 4, 1, 1, 0.5, (-1, 0, 0)),) * 4)


@pytest.mark.slow
def test_the_derivation_reproduces_muxnet_xs():
    result = derive.derive("muxnet_xs", *zoo_xs.MUXNET_XS_BUDGET)
    assert result.stages == zoo_xs.MUXNET_XS_STAGES
    assert result.spec == muxnet.get_spec("muxnet_xs")
    assert (result.params, result.madds) == MEASURED["muxnet_xs"]
