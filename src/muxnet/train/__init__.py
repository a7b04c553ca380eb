"""Training, evaluation and transfer with the paper's recipes (``muxnet train`` / ``muxnet eval``)."""

from .data import BadImageError, DataError, DataSplits, build_data, detect_dataset
from .eval import evaluate, evaluate_checkpoint, evaluate_target
from .loop import RunError, lr_at_steps, train, train_and_evaluate
from .recipes import RecipeError, apply_overrides, build_recipe, load_recipe, recipe_names

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
