"""Search algorithms with an ask/tell loop and an explicit, JSON-serialisable state.

Both algorithms propose a batch of genomes (``ask``), receive their normalised objective vectors
(``tell``; a failed candidate is a row of ``inf``) and can be saved and restored between generations with
``state_dict``/``load_state_dict``: the random generator's state is part of it, so a resumed search proposes
exactly the genomes the uninterrupted one would have.
"""

from .moead import MOEAD
from .regularized_evolution import MultiTargetRegularizedEvolution, RegularizedEvolution

ALGORITHMS = ("moead", "re")

__all__ = ["ALGORITHMS", "MOEAD", "MultiTargetRegularizedEvolution", "RegularizedEvolution"]
