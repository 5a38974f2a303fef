"""Parameter kinds and their encoding to and from the unit interval.

Every numeric parameter takes one encoded dimension in [0, 1]; a categorical `choice` takes one dimension
per value (one-hot); an ordered list (`ordered`, the original tool's `preordered`) takes one dimension,
the value's position scaled to [0, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpo_mab.errors import HpoError

NUMERIC_KINDS = ("uniform", "quniform", "loguniform", "qloguniform", "int")
KINDS = (*NUMERIC_KINDS, "choice", "ordered")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise HpoError(f"{what} must be a finite number, but got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its name, kind and range.

    `low`/`high` bound numeric kinds (in the value's own units, also for log kinds); `step` quantizes
    `quniform`/`qloguniform`; `base` is the log base; `values` lists the options of `choice`/`ordered`.
    """

    name: str
    kind: str
    low: float = 0.0
    high: float = 1.0
    step: float | None = None
    base: float = 10.0
    values: tuple[Any, ...] = ()
    default: Any = None

    def __post_init__(self) -> None:
        where = f"parameter '{self.name}'"
        if self.kind not in KINDS:
            raise HpoError(f"{where}: unknown kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.kind in ("choice", "ordered"):
            if len(self.values) == 0:
                raise HpoError(f"{where}: {self.kind} needs at least one value, but got an empty list")
            if len(set(map(repr, self.values))) != len(self.values):
                raise HpoError(f"{where}: {self.kind} values must be distinct, but got {list(self.values)}")
            return
        low = _number(self.low, f"{where}: low")
        high = _number(self.high, f"{where}: high")
        if not low < high:
            raise HpoError(f"{where}: low < high must hold, but got low={self.low}, high={self.high}")
        if self.kind in ("quniform", "qloguniform"):
            step = _number(self.step, f"{where}: step")
            if step <= 0:
                raise HpoError(f"{where}: step must be > 0, but got {self.step}")
        if self.kind in ("loguniform", "qloguniform"):
            base = _number(self.base, f"{where}: log_base")
            if base <= 0 or base == 1:
                raise HpoError(f"{where}: log_base must be > 0 and != 1, but got {self.base}")
            if low <= 0:
                raise HpoError(f"{where}: a log range needs low > 0, but got low={self.low}")
        if self.kind == "int" and (low != int(low) or high != int(high)):
            raise HpoError(f"{where}: int bounds must be integers, but got low={self.low}, high={self.high}")

    @property
    def width(self) -> int:
        """Number of encoded dimensions."""
        return len(self.values) if self.kind == "choice" else 1

    def _log(self, x: float | np.ndarray) -> float | np.ndarray:
        return np.log(x) / math.log(self.base)

    def encode(self, value: Any) -> np.ndarray:
        """Map a value to its encoded dimensions in [0, 1]."""
        if self.kind == "choice":
            out = np.zeros(len(self.values))
            out[self.index_of(value)] = 1.0
            return out
        if self.kind == "ordered":
            n = len(self.values)
            return np.array([self.index_of(value) / (n - 1) if n > 1 else 0.5])
        v = _number(value, f"parameter '{self.name}' value")
        if self.kind in ("loguniform", "qloguniform"):
            lo, hi, v = self._log(self.low), self._log(self.high), self._log(max(v, 1e-300))
        elif self.kind == "int":
            lo, hi = self.low - 0.5, self.high + 0.5
        else:
            lo, hi = self.low, self.high
        return np.array([float(np.clip((v - lo) / (hi - lo), 0.0, 1.0))])

    def decode(self, u: np.ndarray) -> Any:
        """Map encoded dimensions back to a valid value (argmax for one-hot, nearest for the rest)."""
        u = np.asarray(u, dtype=float)
        if self.kind == "choice":
            return self.values[int(np.argmax(u))]
        x = float(np.clip(u[0], 0.0, 1.0))
        if self.kind == "ordered":
            return self.values[int(round(x * (len(self.values) - 1)))]
        if self.kind == "int":
            return int(min(self.high, max(self.low, math.floor(self.low - 0.5 + x * (self.high - self.low + 1) + 0.5))))
        if self.kind in ("loguniform", "qloguniform"):
            lo, hi = self._log(self.low), self._log(self.high)
            v = float(self.base ** (lo + x * (hi - lo)))
        else:
            v = self.low + x * (self.high - self.low)
        if self.step is not None and self.kind in ("quniform", "qloguniform"):
            v = self.low + round((v - self.low) / self.step) * self.step
            while v > self.high + 1e-12:
                v -= self.step
            v = max(v, self.low)
            v = round(v, 12)
        return float(min(max(v, self.low), self.high))

    def index_of(self, value: Any) -> int:
        """Position of `value` among `values` (numbers compare with a tolerance)."""
        for i, option in enumerate(self.values):
            if option == value and type(option) is type(value):
                return i
        for i, option in enumerate(self.values):
            if option == value or (
                isinstance(option, (int, float))
                and isinstance(value, (int, float))
                and not isinstance(option, bool)
                and math.isclose(option, value, rel_tol=1e-6)
            ):
                return i
        raise HpoError(f"parameter '{self.name}': value {value!r} is not one of {list(self.values)}")

    def contains(self, value: Any) -> bool:
        """Whether `value` is a valid value of this parameter."""
        if self.kind in ("choice", "ordered"):
            try:
                self.index_of(value)
                return True
            except HpoError:
                return False
        try:
            v = _number(value, "value")
        except HpoError:
            return False
        return self.low - 1e-9 <= v <= self.high + 1e-9
