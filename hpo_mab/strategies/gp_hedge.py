"""GP-Hedge (Hoffman, Brochu & de Freitas, UAI 2011) and its log-error and oracle variants.

At each step every arm nominates a candidate (the optimizer asks them); one nominee is drawn with
p_i proportional to exp(eta (g_i - max g)), eta = 0.1 by default (option "eta"). After the evaluation the
judge, the GP that the GP arms use (the portfolio's shared fit of the same output transform, `arms.fits`),
predicts each nominee's target; the prediction goes back to a loss through the transform's monotone
inverse (interpolated between the observed losses, linear beyond them), and g_i adds the reward of its own
nominee's predicted loss: the same GP for every arm, so that the gains share one scale.

The judge favours the GP arms' own nominees: they sit where that GP is optimistic. Measured by
experiments/judge_bias.py (results/judge_bias.txt; six development functions, 5 seeds x 60 evaluations),
the raw judge ranked a GP arm's nominee first in 96% of steps where one truly was best in 81%, and predicted
GP-EI's and GP-UCB's nominees a median 0.65 and 0.92 standard deviations better than they were. So the judge
learns each arm's bias as it goes: when an arm's nominee is evaluated, the prediction made before the
evaluation is compared with the observed loss, and the median of those errors (in units of the losses' std)
is subtracted from the arm's later predictions (`judged_losses`). That removes the systematic error (every
arm's median error within 0.2 std) but overshoots in the ranking: GP arms' nominees are then judged first
in 63% of steps against 81% truly first (total variation over the seven arms' first-place shares 0.35 vs
0.37 raw; a mean instead of the median gave 52%). Whether the portfolio gains is the study's question
(issue 8). The oracle variants need no correction.

The oracle variants BO-HEDGE-T and BO-HEDGE-LET credit each nominee with its true table value
(`context.oracle(row)`) instead of the GP's prediction: they peek at the table, so reports label them
and leave them out of rankings (`oracle = True`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hpo_mab.arms import Nominee
from hpo_mab.arms.fits import SharedFits
from hpo_mab.arms.gp import ModelFitError
from hpo_mab.arms.outputs import output_transform
from hpo_mab.errors import HpoError
from hpo_mab.history import History, Trial
from hpo_mab.strategies.base import BaseStrategy, StrategyContext, draw, hedge_probabilities, rounded
from hpo_mab.threads import one_blas_thread

MIN_OBSERVATIONS = 2


def monotone_inverse(t: np.ndarray, targets: np.ndarray, losses: np.ndarray) -> np.ndarray:
    """Losses of targets `t` under the monotone map losses -> targets seen on the data: linear
    interpolation between the observed pairs, linear extrapolation beyond the ends."""
    order = np.argsort(targets, kind="stable")
    tx, ly = targets[order], losses[order]
    tx, first = np.unique(tx, return_index=True)
    ly = ly[first]
    if len(tx) == 1:
        return np.full(len(t), ly[0])
    out = np.interp(t, tx, ly)
    low, high = t < tx[0], t > tx[-1]
    out[low] = ly[0] + (t[low] - tx[0]) * (ly[1] - ly[0]) / (tx[1] - tx[0])
    out[high] = ly[-1] + (t[high] - tx[-1]) * (ly[-1] - ly[-2]) / (tx[-1] - tx[-2])
    return out


class GPHedge(BaseStrategy):
    """BO-HEDGE: gains from the GP's predicted plain reward of every arm's nominee."""

    name = "BO-HEDGE"
    wants_nominees = True

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        self.eta = self.option("eta", 0.1)
        self.gains: np.ndarray = np.zeros(0)
        self.fits: SharedFits | None = None
        self.output = "tail"
        self.last_rewards: dict[str, float] = {}
        self._before: np.ndarray | None = None

    def _start(self) -> None:
        self.gains = np.zeros(len(self.arms))
        self.bias = np.zeros(len(self.arms))
        self.errors: list[list[float]] = [[] for _ in self.arms]

    def probabilities(self) -> np.ndarray:
        return hedge_probabilities(self.gains, self.eta)

    def _choose(self, history: History, rng: np.random.Generator, nominees: Mapping[str, Nominee] | None) -> str:
        if nominees is None:
            raise HpoError(f"{self.name} needs every arm's nominee (wants_nominees) but got none")
        if not self.oracle:  # the judge's predictions before the evaluation, to learn its bias per arm
            self._before = self.nominee_losses(nominees, history)
            self._scale = float(np.std(history.y)) if history.n_finished else 1.0
        return self.arms[draw(self.probabilities(), rng)]

    def judged_losses(self, nominees: Mapping[str, Nominee], history: History) -> np.ndarray | None:
        """The judge's predicted losses less each arm's learnt bias (in units of the losses' std)."""
        losses = self.nominee_losses(nominees, history)
        if losses is None or self.oracle:
            return losses
        return losses - self.bias * (float(np.std(history.y)) or 1.0)

    def _learn_bias(self, trial: Trial) -> None:
        """Median of (prediction - observed loss) / std over the evaluated nominees of the arm (a median: the
        errors are heavy-tailed, and their mean over-corrected, see judge_bias.txt)."""
        if self._before is None or trial.loss is None or trial.arm not in self.arms or not self._scale:
            return
        i = self.arms.index(trial.arm)
        self.errors[i].append((self._before[i] - trial.loss) / self._scale)
        self.bias[i] = float(np.median(self.errors[i]))
        self._before = None

    def use_fits(self, fits: SharedFits, output: str) -> None:
        """Judge with the portfolio's shared GP fit of the arms' output transform."""
        self.fits, self.output = fits, output

    def nominee_losses(self, nominees: Mapping[str, Nominee], history: History) -> np.ndarray | None:
        """The judge's predicted loss of each arm's nominee (None if the GP cannot be fitted yet)."""
        if history.n_finished < MIN_OBSERVATIONS:
            return None
        if self.fits is None:
            self.fits = SharedFits(self.context.space, np.random.SeedSequence(0))
        x = np.vstack([nominees[a].x for a in self.arms])
        targets = output_transform(self.output)(history.y)
        try:
            with one_blas_thread():  # also when a caller drives the strategy without the Optimizer
                gp = self.fits.get("GP", self.output, history, targets)
                mean, _ = gp.predict(x)
        except (ModelFitError, np.linalg.LinAlgError, FloatingPointError):
            return None
        losses = monotone_inverse(mean * gp.std_ + gp.mean_, targets, np.asarray(history.y))
        return losses if np.all(np.isfinite(losses)) else None

    def update(self, trial: Trial, history: History, nominees: Mapping[str, Nominee] | None = None) -> None:
        if not nominees or not self.arms:
            return
        self._learn_bias(trial)
        losses = self.judged_losses(nominees, history)
        if losses is None:
            return
        rewards = np.array([self.rewarder.reward(float(v), history) for v in losses])
        self.gains += rewards
        self.last_rewards = dict(zip(self.arms, rounded(rewards)))

    def state(self) -> dict[str, Any]:
        if not self.arms:
            return {}
        state = {"p": dict(zip(self.arms, rounded(self.probabilities()))),
                 "gains": dict(zip(self.arms, rounded(self.gains))), "eta": self.eta}
        if not self.oracle:
            state["bias"] = dict(zip(self.arms, rounded(self.bias)))
        return state


class GPHedgeLE(GPHedge):
    """BO-HEDGE-LE: GP-Hedge with gains on the log-error scale."""

    name = "BO-HEDGE-LE"
    reward_scale = "le"


class GPHedgeTrue(GPHedge):
    """BO-HEDGE-T: GP-Hedge crediting each nominee's true table value (an oracle; tables only)."""

    name = "BO-HEDGE-T"
    oracle = True

    def __init__(self, context: StrategyContext) -> None:
        super().__init__(context)
        if context.oracle is None:
            raise HpoError(f"{self.name} reads the true table values, so it runs on lookup tables only")
        if context.metric is None:
            raise HpoError(f"{self.name} needs the table's metric")

    def nominee_losses(self, nominees: Mapping[str, Nominee], history: History) -> np.ndarray:
        missing = [a for a in self.arms if nominees[a].row is None]
        if missing:
            raise HpoError(f"{self.name}: the nominees of {missing} have no table row; oracle variants run on "
                           "lookup tables only")
        values = np.array([self.context.oracle(int(nominees[a].row)) for a in self.arms], dtype=float)
        return np.asarray(self.context.metric.to_loss(values), dtype=float)


class GPHedgeLETrue(GPHedgeTrue):
    """BO-HEDGE-LET: the oracle variant on the log-error scale."""

    name = "BO-HEDGE-LET"
    reward_scale = "le"
