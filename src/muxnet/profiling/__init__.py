"""Profiling: what a model or a spec costs, counted the way the MUXConv paper counts (above ``models``).

* :mod:`.counting`: params and MAdds of a built model, with a per-layer table (:func:`profile`).
* :mod:`.spec_cost`: the cost of a spec, by building it on the meta device (:func:`profile_spec`) or from
  cached per-block counts (:func:`count_spec`, :func:`block_cost`).
* :mod:`.latency`: latency from a per-block look-up table measured on this machine (:class:`LatencyTable`).
* :mod:`.analytic`: appendix B's closed-form block costs (MobileNet vs MUXConv block, Fig. 13).
* :mod:`.tables`: the comparison tables behind ``muxnet profile``.
"""

from .analytic import complexity_ratio, mobilenet_block_complexity, muxconv_block_complexity
from .counting import LayerCount, Profile, profile
from .latency import LatencyTable, LatencyTableError
from .spec_cost import block_cost, block_layout, count_spec, profile_spec
from .tables import TIMM_BASELINES, family_table, profile_named, profile_table

__all__ = [
    "TIMM_BASELINES",
    "LatencyTable",
    "LatencyTableError",
    "LayerCount",
    "Profile",
    "block_cost",
    "block_layout",
    "complexity_ratio",
    "count_spec",
    "family_table",
    "mobilenet_block_complexity",
    "muxconv_block_complexity",
    "profile",
    "profile_named",
    "profile_spec",
    "profile_table",
]
