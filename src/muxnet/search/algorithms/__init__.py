"""Search algorithms behind one ask/tell protocol (:class:`~.base.SearchAlgorithm`) and a registry.

Both algorithms propose a batch of genomes (``ask``), receive their normalised objective vectors (``tell``; a
failed candidate is a row of ``inf``), say when their budget is spent (``done``), report the best genome of
each sub-problem (``best``) and can be saved and restored between generations with
``state_dict``/``load_state_dict``: the random generator's state is part of it, so a resumed search proposes
exactly the genomes the uninterrupted one would have. The scalarisation is an object passed in.
"""

from .base import ALGORITHMS, Genome, SearchAlgorithm, create_algorithm, register_algorithm
from .moead import MOEAD
from .regularized_evolution import MultiTargetRegularizedEvolution, RegularizedEvolution
from .surrogate_moead import SurrogateMOEAD

__all__ = ["ALGORITHMS", "MOEAD", "Genome", "MultiTargetRegularizedEvolution", "RegularizedEvolution",
           "SearchAlgorithm", "SurrogateMOEAD", "create_algorithm", "register_algorithm"]
