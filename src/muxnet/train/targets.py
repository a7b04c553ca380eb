"""A trained model to analyse: a run directory, a zoo name or spec file with a checkpoint, or the embedded default.

``muxnet robustness`` and ``muxnet cam`` analyse one model; with no model named they train-or-load the embedded
default (``muxnet_digits`` on digits, in the ``digits`` recipe's default run directory), so their first run
trains it once and later runs reuse it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from torch import nn

from ..runtime import config_from


@dataclass
class Target:
    """A model with its weights loaded, and where they came from."""

    model: nn.Module
    name: str
    checkpoint: str | None
    recipe: dict[str, Any]
    run_dir: Path | None = None  # set when the model came from a run directory (its recipe describes its data)

    @property
    def trained_on_digits(self) -> bool:
        return self.run_dir is not None and self.recipe["data"]["dataset"] == "digits"


def digits_run(run_dir: str | Path | None = None, overrides: Iterable[tuple[str, Any]] = (),
               log: Callable[[str], None] = print) -> Path:
    """A finished run of the ``digits`` recipe (with ``overrides``) in ``run_dir`` (default: the recipe's default
    run directory): reused when it is there, resumed when a previous training was interrupted, trained otherwise."""
    from .recipes import build_recipe
    from .run import default_run_dir, train

    recipe = build_recipe("digits", overrides=overrides)
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(recipe)
    if (run_dir / "summary.json").is_file() and (run_dir / "best.safetensors").is_file():
        return run_dir
    resume = (run_dir / "last.pt").is_file()
    log(f"{'resuming' if resume else 'training'} {recipe['model']['name']} on digits in {run_dir} "
        "(once; later runs reuse it)")
    if resume:
        recipe = build_recipe(resume=run_dir)
    recipe["output"].update(dir=str(run_dir), progress=False)
    train(recipe, resume=resume, log=log)
    return run_dir


def default_digits_run(log: Callable[[str], None] = print) -> Path:
    """The embedded default's run directory (``muxnet_digits`` on digits), trained the first time it is needed."""
    return digits_run(log=log)


def load_target(model: str | Path | None = None, checkpoint: str | Path | None = None, num_classes: int | None = None,
                log: Callable[[str], None] = print) -> Target:
    """The model to analyse, in eval mode.

    ``model``: a run directory (its recipe's model, its ``best.safetensors`` unless ``checkpoint`` is given), a zoo
    name or spec file (``checkpoint`` then holds the weights; ``num_classes`` sizes the classifier, 1000 when not
    given), or ``None`` for the embedded default.
    """
    from ..models import create_model, load_checkpoint
    from .recipes import build_recipe

    run = default_digits_run(log) if model is None else Path(model)
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise FileNotFoundError(f"no checkpoint file at {checkpoint}")
    if run.is_dir():
        recipe = build_recipe(resume=run)
        name = str(recipe["model"]["name"])
        checkpoint = checkpoint or run / "best.safetensors"
        if not Path(checkpoint).is_file():
            raise FileNotFoundError(f"{run} has no {Path(checkpoint).name}: is the run finished?")
        if num_classes is None:
            num_classes = _classes_in(checkpoint)
    else:
        recipe = build_recipe("digits", overrides=[("model.name", str(model))])
        name = str(model)
        if num_classes is None:
            num_classes = _classes_in(checkpoint) if checkpoint else 1000
    # a run trained at its recipe's image size; a zoo model keeps its spec's
    size = recipe["data"]["image_size"] if run.is_dir() else None
    net = create_model(name, num_classes=num_classes, **({"input_size": (3, size, size)} if size else {}))
    if checkpoint:
        load_checkpoint(net, checkpoint)
    net.eval()
    return Target(net, name, str(checkpoint) if checkpoint else None, recipe, run if run.is_dir() else None)


def _classes_in(checkpoint: str | Path) -> int:
    """The class count of a checkpoint's classifier (so a model can be built to fit it)."""
    from ..models.checkpoint import CLASSIFIER_PREFIX, read_state_dict

    weights = read_state_dict(checkpoint)
    bias = weights.get(f"{CLASSIFIER_PREFIX}bias", weights.get(f"{CLASSIFIER_PREFIX}weight"))
    if bias is None:
        raise ValueError(f"checkpoint {checkpoint} has no classifier ({CLASSIFIER_PREFIX}weight/bias): "
                         "class scores, corruption errors and class activation maps need one")
    return int(bias.shape[0])


def check_target(model: str | Path | None, checkpoint: str | Path | None, digits_data: bool, other_data: str) -> None:
    """Check what :func:`load_target` will be given, before any work: a wrong path then fails at once, not after
    the data were scanned or the embedded default trained. The checkpoint must be a file; a run on the embedded
    digits (``digits_data``) needs a digits run directory or no model at all, and the error names the options
    that give other data (``other_data``)."""
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise FileNotFoundError(f"no checkpoint file at {checkpoint}")
    if digits_data and model is not None and not Path(model).is_dir():
        raise ValueError(f"{model} is not a digits run: pass {other_data} (the embedded digits images need the run "
                         "directory of a digits model)")


class AnalysisConfig(Protocol):
    """What an analysis's config names of its model (the arguments of :func:`load_target`)."""

    model: str | Path | None
    checkpoint: str | Path | None


Config = TypeVar("Config", bound=AnalysisConfig)
Checked = TypeVar("Checked")  # what a config's check found


def start_analysis(kind: type[Config], config: Config | None, settings: Mapping[str, Any], caller: str,
                   check: Callable[[Config], Checked], log: Callable[[str], None] = print
                   ) -> tuple[Config, Checked, Target, float]:
    """Begin an analysis of one model (``muxnet robustness``, ``muxnet cam``): its config (``config``, or
    ``settings`` as its fields), what ``check`` found checking every path it names, the model loaded, and the
    time the run started. The checks come first because loading may train the embedded default, which takes
    minutes that a wrong path should not cost."""
    config = config_from(kind, config, settings, caller)
    started = time.time()
    inputs = check(config)
    return config, inputs, load_target(config.model, config.checkpoint, log=log), started


__all__ = ["AnalysisConfig", "Target", "check_target", "default_digits_run", "digits_run", "load_target",
           "start_analysis"]
