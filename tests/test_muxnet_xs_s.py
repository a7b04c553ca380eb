"""MUXNet-xs/s/m/l on the one MUXNet skeleton: budgets, spatial multiplexing in stages 2-3, a training step."""

import pytest
import torch

import muxnet
from muxnet.layers.spatial_multiplexing import SpatialMultiplexConv
from muxnet.models import zoo_muxnet
from muxnet.models.skeleton import MuxNetSkeleton
from muxnet.search.space import stage_options

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


def test_specs_follow_the_table_1_space_and_the_width_rule():
    for budget, stages in ((zoo_muxnet.MUXNET_XS_BUDGET, zoo_muxnet.MUXNET_XS_STAGES),
                           (zoo_muxnet.MUXNET_S_BUDGET, zoo_muxnet.MUXNET_S_STAGES)):
        for s, choice in enumerate(stages, start=1):
            assert choice in stage_options(s)
        widths = zoo_muxnet.width_rule(budget[1])
        assert all(w % 8 == 0 for w in widths)
    assert zoo_muxnet.width_rule(zoo_muxnet.MUXNET_M_MADDS) == zoo_muxnet.MUXNET_M.widths


def test_every_muxnet_is_the_skeleton_with_its_stage_choices():
    """m/l (as released) and xs/s share one skeleton: the specs differ only where the choices and widths do."""
    m = muxnet.get_spec("muxnet_m")
    assert [len(stage) for stage in m.stages] == [1, 2, 2, 4, 3]
    assert m.stages[3][2] == muxnet.BlockSpec("ir", 112, kernel_size=5, expand_ratio=6, se_ratio=0.75)
    assert m.stages[4][0].kernel_size == (3, 5, 7, 9, 11) and m.stages[4][1].repeat == 3
    xs = muxnet.get_spec("muxnet_xs")
    assert [len(stage) for stage in xs.stages] == [1, 1, 2, 4, 2]  # N = 0 in stages 1 and 4
    with pytest.raises(ValueError, match="expected 7 widths"):
        MuxNetSkeleton("bad", (24, 24, 40), 1280)
    with pytest.raises(ValueError, match="4 stages"):
        zoo_muxnet.MUXNET_M.spec(zoo_muxnet.MUXNET_M_STAGES[:3])
