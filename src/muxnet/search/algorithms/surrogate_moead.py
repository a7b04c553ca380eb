"""Surrogate-assisted MOEA/D: many proposals per sub-problem, pre-screened by an accuracy predictor.

Plain MOEA/D trains every child it proposes. Here each sub-problem proposes ``proposals`` children per
generation (crossover and mutation as in MOEA/D) and walks from the best of them through their one-gene
neighbourhoods, a local search on the predictor; an accuracy predictor
(:class:`~muxnet.search.predictor.AdaptivePredictor`, refitted each generation on everything evaluated so far
and chosen by cross-validated Kendall tau) predicts their errors, the exact normalised costs (free to count)
complete their objective vectors, and only the child with the best predicted scalarised value is sent for
evaluation: the number of trained candidates per generation stays one per sub-problem, as in MOEA/D, so the
budget, the archive, resume and the executors are unchanged. Generation 0 is MOEA/D's (nothing to learn from
yet).

The predictor is refitted in ``ask`` from the evaluations held in the state, with a seed fixed by the run seed
and the generation, so a resumed run refits the same model and proposes the same genomes. ``screened`` holds,
for the genomes of the last ``ask``, the predicted error (and standard deviation), the model and its tau: the
driver records them in the archive beside the measured error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..decomposition import SubProblems
from ..predictor import AdaptivePredictor, GenomeEncoder, Predictor
from ..scalarization import Scalarization
from ._state import decode_matrix, encode_matrix, genomes_to_lists, lists_to_genomes
from .base import Genome, check_state, register_algorithm
from .moead import MOEAD

STATE_VERSION = 1
MIN_TRAINING_ROWS = 6  # below this, cross-validation ranks noise; MOEA/D's first child is taken instead


@register_algorithm("moead-surrogate")
class SurrogateMOEAD(MOEAD):
    """MOEA/D whose children are the predictor's picks among ``proposals`` per sub-problem.

    Args (besides :class:`MOEAD`'s):
        costs: genome -> its normalised cost objectives (the columns of ``F`` after error), exact.
        proposals: MOEA/D offspring per sub-problem per generation, the local search's starting points
            (NSGANetV2 screens tens of times more than it trains).
        rounds: the first round (the offspring) and ``rounds - 1`` steps of the local search on the predictor.
        elite: proposals whose whole one-gene neighbourhood each step adds.
        predictor: a :class:`~muxnet.search.predictor.Predictor`; default the adaptive choice among
            scikit-learn's models over the space's one-hot encoding.
    """

    def __init__(self, space, weights: np.ndarray, costs: Callable[[Genome], Sequence[float]], proposals: int = 30,
                 predictor: Predictor | None = None, rounds: int = 6, elite: int = 3, **moead_options):
        super().__init__(space, weights, **moead_options)
        if proposals < 1:
            raise ValueError(f"proposals: at least 1 per sub-problem, got {proposals}")
        if rounds < 1 or elite < 1:
            raise ValueError(f"rounds and elite: at least 1, got {rounds} and {elite}")
        self.costs, self.proposals, self.rounds, self.elite = costs, int(proposals), int(rounds), int(elite)
        self.predictor = predictor if predictor is not None else AdaptivePredictor(GenomeEncoder(space))
        self._seed = int(moead_options.get("seed", 0))
        self.evaluated: list[Genome] = []  # every evaluation told, successful ones only: the training set
        self.evaluated_F = np.zeros((0, len(self.weights[0])))
        self.screened: dict[Genome, dict] = {}

    @classmethod
    def from_subproblems(cls, space, subproblems: SubProblems, scalarization: Scalarization, budget: int,
                         seed: int, proposals: int = 30, predictor: Predictor | None = None) -> SurrogateMOEAD:
        """As MOEA/D's (one neighbourhood per target, at most two replacements, no repeated proposal), with the
        exact costs from the search's :class:`~muxnet.search.sampling.TargetedSampler` (``space``)."""
        per_target = len(subproblems) // max(1, subproblems.n_targets)
        low, span = np.asarray(space.low[1:], dtype=float), np.asarray(space.span[1:], dtype=float)

        def costs(genome: Genome) -> np.ndarray:
            return (np.asarray(space.complexity.vector(genome), dtype=float) - low) / span

        return cls(space, subproblems.weights, costs, proposals=proposals, predictor=predictor,
                   n_neighbors=per_target, scalarization=scalarization, ideal=subproblems.ideal, seed=seed,
                   budget=budget, n_replace=2, avoid_duplicates=True)

    @property
    def progress_note(self) -> str:
        """For the driver's progress line: the model in use and its cross-validated tau."""
        if not np.isfinite(self.predictor.tau):
            return "predictor: not fitted yet"
        return f"predictor {self.predictor.name} tau {self.predictor.tau:.2f}"

    def ask(self) -> list[Genome]:
        self.screened = {}
        if self.population is None:
            return super().ask()
        fitted = self._refit()
        order = self.rng.permutation(self.pop_size)
        children: list[Genome] = []
        for k in order:
            child, note = self._screen(int(k), fitted)
            self.seen.add(child)
            children.append(child)
            if note is not None:
                self.screened[child] = note
        self._order = [int(k) for k in order]
        return children

    def _refit(self) -> bool:
        if len(self.evaluated) < MIN_TRAINING_ROWS:
            return False
        if isinstance(self.predictor, AdaptivePredictor):
            self.predictor.seed = self._seed + self.generation  # the same refit after a resume
        self.predictor.fit(self.evaluated, self.evaluated_F[:, 1:], self.evaluated_F[:, 0])
        return True

    def _screen(self, k: int, fitted: bool) -> tuple[Genome, dict | None]:
        """Sub-problem ``k``'s child: the best predicted of its distinct, never proposed proposals. The first
        round is ``proposals`` of MOEA/D's offspring (crossover of neighbours, mutation); each later round adds
        the whole one-gene neighbourhood of the ``elite`` best predicted proposals not expanded yet, a
        steepest-descent step of a local search on the predictor, which reaches genomes several genes away from
        any offspring."""
        first = self._offspring(k)
        if not fitted:  # MOEA/D's own child
            return self._unseen(first), None
        pool: list[Genome] = []
        means, stds, scores = [], [], []
        expanded: set[Genome] = set()
        for round_ in range(self.rounds):
            if round_ == 0:
                children = [first, *(self._offspring(k) for _ in range(self.proposals - 1))]
            else:
                elite = [pool[i] for i in np.argsort(scores, kind="stable") if pool[i] not in expanded][:self.elite]
                expanded.update(elite)
                children = [n for g in elite for n in self.space.neighbours(g)]
            fresh = [c for c in dict.fromkeys(children) if c not in self.seen and c not in pool]
            if not fresh:
                continue
            costs = np.array([self.costs(g) for g in fresh], dtype=float).reshape(len(fresh), -1)
            mean, std = self.predictor.predict(fresh, costs)
            pool += fresh
            means += list(mean)
            stds += [None] * len(fresh) if std is None else list(std)
            scores += list(self.scalarization(np.column_stack([mean, costs]), self.weights[k], self._ideal_point()))
        if not pool:  # every proposal was evaluated before: MOEA/D's way out
            return self._unseen(first), None
        best = int(np.argmin(scores))
        note = {"predicted_error": float(means[best]),
                "predicted_std": None if stds[best] is None else float(stds[best]),
                "model": self.predictor.name, "tau": float(self.predictor.tau), "proposals": len(pool)}
        return pool[best], note

    def tell(self, genomes: Sequence[Sequence[int]], F: np.ndarray) -> None:
        F = np.asarray(F, dtype=float).reshape(len(genomes), -1)
        ok = np.all(np.isfinite(F), axis=1)
        self.evaluated += [tuple(int(v) for v in g) for g, good in zip(genomes, ok) if good]
        self.evaluated_F = np.vstack([self.evaluated_F, F[ok]])
        super().tell(genomes, F)

    # -- state ------------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {"version": STATE_VERSION, "algorithm": self.name, "moead": super().state_dict(),
                "proposals": self.proposals, "evaluated": genomes_to_lists(self.evaluated),
                "evaluated_F": encode_matrix(self.evaluated_F)}

    def load_state_dict(self, state: dict) -> None:
        check_state(state, self.name, STATE_VERSION)
        if state["proposals"] != self.proposals:
            raise ValueError(f"state: {state['proposals']} proposals per sub-problem, this search makes "
                             f"{self.proposals}")
        super().load_state_dict(state["moead"])  # MOEA/D's own part, checked and restored by MOEA/D
        self.evaluated = lists_to_genomes(state["evaluated"])
        self.evaluated_F = decode_matrix(state["evaluated_F"]).reshape(len(self.evaluated), len(self.weights[0]))
        self.screened = {}


__all__ = ["SurrogateMOEAD"]
