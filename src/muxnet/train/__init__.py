"""Training, evaluation and transfer with the paper's recipes (``muxnet train`` / ``muxnet eval``).

Modules: ``recipes`` (the YAML schema), ``optim`` (optimizer, schedule, loss), ``distributed`` (torchrun
ranks), ``rng``, ``checkpoint`` (run-directory I/O), ``epoch`` (the training step the loop and the search's
proxy run), ``loop`` (the one training loop, for any task), ``classification`` (the classification task),
``tasks`` (the dense tasks' protocol, recipes and runs), ``run`` (``train``), ``proxy`` (``train_and_evaluate``),
``eval`` and ``report`` (metrics, logs, summary). Data comes from :mod:`muxnet.data`.
"""

from ..data import BadImageError, DataError, DataSplits, build_data, detect_dataset
from .checkpoint import RunError
from .eval import evaluate, evaluate_checkpoint, evaluate_target
from .optim import lr_at_steps
from .proxy import train_and_evaluate
from .recipes import RecipeError, apply_overrides, build_recipe, load_recipe, recipe_names
from .run import train

__all__ = [
    "BadImageError",
    "DataError",
    "DataSplits",
    "RecipeError",
    "RunError",
    "apply_overrides",
    "build_data",
    "build_recipe",
    "detect_dataset",
    "evaluate",
    "evaluate_checkpoint",
    "evaluate_target",
    "load_recipe",
    "lr_at_steps",
    "recipe_names",
    "train",
    "train_and_evaluate",
]
