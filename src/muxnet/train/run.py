"""``train``: a classification recipe in, a run directory out (metrics, checkpoints, summary).

The run itself is the one training loop (:func:`muxnet.train.loop.run_training`) with a
:class:`~muxnet.train.classification.ClassificationTask`; the same entry point runs single-process or under
``torchrun`` (DistributedDataParallel), and ``resume=True`` continues an interrupted run bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .classification import ClassificationTask
from .loop import default_run_dir, run_training
from .recipes import load_recipe


def train(recipe: dict[str, Any] | str = "digits", resume: bool = False,
          log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train as ``recipe`` says (a recipe mapping or a shipped recipe name) and return the run's summary.

    ``resume=True`` continues the run in ``recipe["output"]["dir"]`` from its ``last.pt``; without it, a
    directory that already holds a run is refused rather than overwritten.
    """
    if isinstance(recipe, str):
        recipe = load_recipe(recipe)
    return run_training(ClassificationTask(recipe), resume, log)


__all__ = ["default_run_dir", "train"]
