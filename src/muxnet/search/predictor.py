"""An accuracy predictor over genomes, learned from the evaluations so far (NSGANetV2's surrogate).

Every candidate the search trains costs minutes; a model of error as a function of the genome, fitted on the
archive, costs milliseconds. Following NSGANetV2 (Lu et al., ECCV 2020), several scikit-learn regressors are
fitted and the one whose out-of-fold predictions rank the archive best (Kendall tau in cross-validation) is
used: which model type ranks best changes with the size and shape of the data, so it is chosen anew each time
the predictor is refitted ("adaptive switching"). Ranking, not squared error, is the criterion because the
search only uses the predictor to order proposals.

A genome is encoded as one-hot indicators of the options of every gene the space lets vary, followed by the
genome's exact normalised costs (params, MAdds, ...): those are free to compute and carry most of the
capacity signal, so the models only have to learn what the costs do not explain.

The interface is small: ``fit(genomes, costs, errors)`` and ``predict(genomes, costs) -> (mean, std)``, with
``std`` ``None`` where the chosen model has no uncertainty (a Gaussian process's posterior standard deviation,
a random forest's spread over its trees otherwise). ``training_set`` reads what to fit on from archive rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from scipy.stats import kendalltau


@runtime_checkable
class Predictor(Protocol):
    """What the surrogate-assisted search needs from a predictor of error."""

    name: str  # the model in use (after ``fit``)
    tau: float  # its cross-validated Kendall tau (nan: not measured)

    def fit(self, genomes: Sequence[Sequence[int]], costs: np.ndarray, errors: np.ndarray) -> Predictor:
        ...

    def predict(self, genomes: Sequence[Sequence[int]], costs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Predicted error per genome, and its standard deviation where the model has one (else ``None``)."""
        ...


class GenomeEncoder:
    """One-hot per free gene (each option between the space's bounds; fixed genes carry no information) and
    the normalised costs appended: ``encode(genomes, costs)`` is ``(n, sum of free options + n_costs)``."""

    def __init__(self, space):
        lower, upper = np.asarray(space.lower, dtype=int), np.asarray(space.upper, dtype=int)
        self.columns = [(int(i), int(v)) for i in np.flatnonzero(upper > lower) for v in range(lower[i], upper[i] + 1)]
        self._genes = np.array([i for i, _ in self.columns], dtype=int)
        self._options = np.array([v for _, v in self.columns], dtype=int)

    def encode(self, genomes: Sequence[Sequence[int]], costs: np.ndarray) -> np.ndarray:
        G = np.asarray([list(g) for g in genomes], dtype=int).reshape(len(genomes), -1)
        onehot = (G[:, self._genes] == self._options).astype(float) if len(G) else np.zeros((0, len(self.columns)))
        costs = np.asarray(costs, dtype=float).reshape(len(onehot), -1)
        return np.hstack([onehot, costs])


# -- the candidate models ----------------------------------------------------------------------------------------
def _gaussian_process(seed: int):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

    kernel = ConstantKernel(1.0, (1e-3, 1e3)) * Matern(length_scale=1.0, length_scale_bounds=(1e-2, 1e3), nu=2.5) \
        + WhiteKernel(0.1, (1e-6, 1e1))
    return GaussianProcessRegressor(kernel, n_restarts_optimizer=0, random_state=seed)


def _random_forest(seed: int):
    from sklearn.ensemble import RandomForestRegressor

    return RandomForestRegressor(n_estimators=60, min_samples_leaf=2, random_state=seed, n_jobs=1)


def _gradient_boosting(seed: int):
    from sklearn.ensemble import GradientBoostingRegressor

    return GradientBoostingRegressor(n_estimators=80, max_depth=2, learning_rate=0.1, subsample=0.8,
                                     random_state=seed)


def _mlp(seed: int):
    from sklearn.neural_network import MLPRegressor

    return MLPRegressor(hidden_layer_sizes=(32,), alpha=1e-2, solver="lbfgs", max_iter=200, random_state=seed)


def _rbf(seed: int):
    from sklearn.kernel_ridge import KernelRidge

    return KernelRidge(kernel="rbf", alpha=1e-2, gamma=0.1)  # RBF regression with a ridge on the weights


# name -> factory(seed): the models adaptive switching chooses among (all scikit-learn)
MODELS: dict[str, Callable[[int], object]] = {"gp": _gaussian_process, "rf": _random_forest,
                                              "gb": _gradient_boosting, "mlp": _mlp, "rbf": _rbf}


def _fit(model, X: np.ndarray, y: np.ndarray):
    from threadpoolctl import threadpool_limits

    # small samples: lbfgs iteration limits and GP bounds warn, and the fit stands; matrices of a few hundred
    # rows are fastest on one BLAS thread (with several, a loaded machine made the MLP's fits 30 times slower)
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        return model.fit(X, y)


def _predict(model, X: np.ndarray, with_std: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _predict_mean_std(model, X, with_std)


def _predict_mean_std(model, X: np.ndarray, with_std: bool) -> tuple[np.ndarray, np.ndarray | None]:
    if with_std and hasattr(model, "kernel_"):  # a fitted Gaussian process
        mean, std = model.predict(X, return_std=True)
        return mean, std
    mean = model.predict(X)
    if with_std and hasattr(model, "estimators_") and isinstance(model.estimators_, list):  # a random forest
        return mean, np.stack([tree.predict(X) for tree in model.estimators_]).std(axis=0)
    return mean, None


def kendall(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b between two rankings (0 where either is constant: a predictor that cannot rank)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(kendalltau(a, b).statistic)


def cross_validated_predictions(name: str, X: np.ndarray, y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Out-of-fold predictions of model ``name`` for every row (shuffled ``folds``-fold split, seeded)."""
    from sklearn.model_selection import KFold

    out = np.empty(len(y), dtype=float)
    for train, test in KFold(n_splits=min(folds, len(y)), shuffle=True, random_state=seed).split(X):
        out[test] = _predict(_fit(MODELS[name](seed), X[train], y[train]), X[test])[0]
    return out


@dataclass
class AdaptivePredictor:
    """The model among ``models`` with the best cross-validated Kendall tau on the data it was fitted on,
    refitted on all of it. ``taus`` holds every candidate's tau from the last ``fit`` (``oof`` their
    out-of-fold predictions), ``name``/``tau`` the chosen one's.

    Targets are standardised before fitting (the models' defaults assume unit scale) and predictions mapped
    back, so ``predict`` returns errors in the units given to ``fit``.
    """

    encoder: GenomeEncoder
    models: Sequence[str] = tuple(MODELS)
    folds: int = 5
    seed: int = 0
    name: str = "none"
    tau: float = float("nan")
    taus: dict[str, float] = field(default_factory=dict)
    oof: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [m for m in self.models if m not in MODELS]
        if unknown or not self.models:
            raise ValueError(f"models: choose among {', '.join(MODELS)}, got {list(self.models)!r}")
        if self.folds < 2:
            raise ValueError(f"folds: cross-validation needs at least 2, got {self.folds}")
        self._model = None

    def fit(self, genomes: Sequence[Sequence[int]], costs: np.ndarray, errors: np.ndarray) -> AdaptivePredictor:
        y = np.asarray(errors, dtype=float)
        if len(y) < 3:
            raise ValueError(f"fit: a predictor needs at least 3 evaluated genomes, got {len(y)}")
        X = self.encoder.encode(genomes, costs)
        self._shift, self._scale = float(y.mean()), float(y.std()) or 1.0
        z = (y - self._shift) / self._scale
        self.oof = {m: cross_validated_predictions(m, X, z, self.folds, self.seed) for m in self.models}
        self.taus = {m: kendall(self.oof[m], z) for m in self.models}
        self.name = max(self.models, key=lambda m: self.taus[m])  # ties: the earlier model of ``models``
        self.tau = self.taus[self.name]
        self._model = _fit(MODELS[self.name](self.seed), X, z)
        return self

    def predict(self, genomes: Sequence[Sequence[int]], costs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        if self._model is None:
            raise RuntimeError("predict() before fit()")
        mean, std = _predict(self._model, self.encoder.encode(genomes, costs), with_std=True)
        return self._shift + self._scale * mean, None if std is None else self._scale * std


def training_set(rows, normaliser) -> tuple[list[tuple[int, ...]], np.ndarray, np.ndarray]:
    """Genomes, normalised costs and errors of the successful archive rows (:class:`~.archive.Evaluation`),
    in the order the archive holds them: what a predictor is fitted on."""
    from .space import parse_genome_key

    ok = [r for r in rows if r.ok]
    genomes = [parse_genome_key(r.genome) for r in ok]
    raw = np.array([[r.error, *(r.cost(n) for n in normaliser.names)] for r in ok], dtype=float)
    F = normaliser.normalise_many(raw) if len(ok) else np.zeros((0, len(normaliser.objectives)))
    return genomes, F[:, 1:], F[:, 0]


__all__ = ["MODELS", "AdaptivePredictor", "GenomeEncoder", "Predictor", "cross_validated_predictions", "kendall",
           "training_set"]
