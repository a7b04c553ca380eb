"""The derivation of MUXNet-xs/s: its additive cost model is exact, and it reproduces the pinned xs."""

import pytest

import muxnet
from muxnet.models import zoo_muxnet
from muxnet.models.skeleton import MuxNetSkeleton
from muxnet.profiling import count_spec
from muxnet.search import derive
from muxnet.search.space import stage_options


@pytest.mark.parametrize("name, budget, head, stages", [
    ("muxnet_xs", zoo_muxnet.MUXNET_XS_BUDGET, zoo_muxnet.MUXNET_XS_HEAD, zoo_muxnet.MUXNET_XS_STAGES),
    ("muxnet_s", zoo_muxnet.MUXNET_S_BUDGET, zoo_muxnet.MUXNET_S_HEAD,
     zoo_muxnet.MUXNET_S_STAGES)])
def test_a_network_costs_the_base_plus_what_each_stage_adds(name, budget, head, stages):
    """The premise of the derivation's tables: given the widths, stage choices add up independently."""
    skeleton = MuxNetSkeleton(name, zoo_muxnet.width_rule(budget[1]), head)
    base_stages = [stage_options(s)[0] for s in range(1, 5)]
    base = count_spec(skeleton.spec(base_stages))
    total = list(base)
    for s, choice in enumerate(stages):
        trial = list(base_stages)
        trial[s] = choice
        added = count_spec(skeleton.spec(trial))
        total = [t + a - b for t, a, b in zip(total, added, base)]
    full = muxnet.profile_spec(muxnet.get_spec(name))
    assert tuple(total) == (full.params, full.madds)


def test_hard_constraints():
    spatial = zoo_muxnet.MUXNET_XS_STAGES[1]
    assert derive.allowed(2, spatial) and not derive.allowed(2, stage_options(2)[0])  # N = 0 in stage 2
    assert derive.allowed(1, stage_options(1)[0])  # no normal block: nothing to multiplex
    no_leave_out = next(c for c in stage_options(1) if c.repeat and c.leave_out == 0)
    assert not derive.allowed(1, no_leave_out)


@pytest.mark.slow
def test_the_derivation_reproduces_muxnet_xs():
    result = derive.derive("muxnet_xs", *zoo_muxnet.MUXNET_XS_BUDGET)
    assert result.stages == zoo_muxnet.MUXNET_XS_STAGES
    assert result.spec == muxnet.get_spec("muxnet_xs")
    full = muxnet.profile_spec(result.spec)
    assert (result.params, result.madds) == (full.params, full.madds) == (1_791_991, 66_798_512)
    tables = derive.cost_tables(zoo_muxnet.width_rule(zoo_muxnet.MUXNET_XS_BUDGET[1]))
    assert tables.cost(result.stages, zoo_muxnet.MUXNET_XS_HEAD) == (full.params, full.madds)
    assert "51 feasible completions" in result.report()
