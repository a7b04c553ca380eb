"""The papers' ablations, trained (``muxnet ablate``): does multiplexing pay at small scale?

Modules: ``figures`` (the figures as data: lines of members and the claims they test), ``sweep`` (every member
over several seeds through the one training loop, resumable run by run) and ``report`` (t-intervals and Welch
verdicts from :mod:`muxnet.runtime.statistics`, the table, ``summary.json``, ``figure.png``).
"""

from .figures import FIGURES, Claim, Figure, Line, Member, figure_names, get_figure
from .report import format_table
from .sweep import AblationConfig, AblationError, run_ablation

__all__ = ["FIGURES", "AblationConfig", "AblationError", "Claim", "Figure", "Line", "Member", "figure_names",
           "format_table", "get_figure", "run_ablation"]
