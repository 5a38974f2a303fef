"""Parameter kinds and their encoding to and from the unit interval.

Every numeric parameter takes one encoded dimension in [0, 1]; a categorical `choice` takes one dimension
per value (one-hot); an ordered list (`ordered`, the original tool's `preordered`) takes one dimension,
the value's position scaled to [0, 1].

`intlog` is an integer on a log scale (Optuna's `IntDistribution(log=True)`): integers in [low, high]
(low >= 1; with `step`, low, low + step, ...), encoded as log(v) between log(low - 0.5) and
log(high + 0.5), so each integer owns an equal share of the log-scaled interval around it.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpo_mab.errors import HpoError

NUMERIC_KINDS = ("uniform", "quniform", "loguniform", "qloguniform", "int", "intlog")
KINDS = (*NUMERIC_KINDS, "choice", "ordered")
INT_KINDS = ("int", "intlog")
LOG_KINDS = ("loguniform", "qloguniform")
STEP_KINDS = ("quniform", "qloguniform", "intlog")
SCALARS = (str, int, float, bool, type(None))
INT64 = (-(2**63), 2**63 - 1)  # integer values go to the journal (orjson) and tables (int64): they must fit


def is_number(value: Any) -> bool:
    """A real number that is not a bool (numpy numbers count)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def is_finite(value: Any) -> bool:
    """A number that is a finite float (an int too large for a float is not)."""
    try:
        return is_number(value) and math.isfinite(value)
    except OverflowError:
        return False


def _number(value: Any, what: str) -> float:
    if not is_finite(value):
        raise HpoError(f"{what} must be a finite number, but got {value!r}")
    return float(value)


def _fits_int64(value: Any) -> bool:
    """Whether an integral value (int or float) lies in the 64-bit integer range."""
    return INT64[0] <= int(value) <= INT64[1]


def _same(a: Any, b: Any) -> bool:
    """Two choice values a user cannot tell apart (1 and 1.0; a bool stays apart from numbers)."""
    if is_finite(a) and is_finite(b):
        return math.isclose(a, b, rel_tol=1e-6)
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its name, kind and range.

    `low`/`high` bound numeric kinds (in the value's own units, also for log kinds); `step` quantizes
    `quniform`/`qloguniform` and, optionally (default 1), `intlog`; `base` is the log base of the
    log-uniform kinds; `values` lists the options of `choice`/`ordered`; `default` must be a valid value.
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
        if not isinstance(self.name, str) or not self.name:
            raise HpoError(f"a parameter name must be a non-empty string, but got {self.name!r}")
        where = f"parameter '{self.name}'"
        if self.kind not in KINDS:
            raise HpoError(f"{where}: unknown kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        if self.kind in ("choice", "ordered"):
            self._check_values(where)
        else:
            if self.values:
                raise HpoError(f"{where}: kind {self.kind} takes low/high, not values, but got {list(self.values)}")
            self._check_range(where)
        if self.default is not None and not self.contains(self.default):
            raise HpoError(f"{where}: default {self.default!r} is not a valid value ({self.describe()})")

    def _check_values(self, where: str) -> None:
        if not isinstance(self.values, (list, tuple)):
            raise HpoError(f"{where}: {self.kind} values must be a list, but got {self.values!r}")
        object.__setattr__(self, "values", tuple(self.values))
        if len(self.values) == 0:
            raise HpoError(f"{where}: {self.kind} needs at least one value, but got an empty list")
        for v in self.values:
            if not isinstance(v, SCALARS) or (isinstance(v, float) and not math.isfinite(v)):
                raise HpoError(f"{where}: {self.kind} values must be strings, finite numbers or booleans, "
                               f"but got {v!r}")
            if isinstance(v, int) and not isinstance(v, bool) and not _fits_int64(v):
                raise HpoError(f"{where}: {self.kind} integer values must lie in the 64-bit range "
                               f"[{INT64[0]}, {INT64[1]}], but got {v}")
        for i, a in enumerate(self.values):
            if any(_same(a, b) for b in self.values[:i]):
                raise HpoError(f"{where}: {self.kind} values must be distinct, but got {list(self.values)}")

    def _check_range(self, where: str) -> None:
        low = _number(self.low, f"{where}: low")
        high = _number(self.high, f"{where}: high")
        if not low < high:
            raise HpoError(f"{where}: low < high must hold, but got low={self.low}, high={self.high}")
        if not math.isfinite(high - low):
            raise HpoError(f"{where}: the range [{self.low}, {self.high}] is too wide")
        if self.kind in STEP_KINDS and not (self.kind == "intlog" and self.step is None):
            step = _number(self.step, f"{where}: step")
            if step <= 0:
                raise HpoError(f"{where}: step must be > 0, but got {self.step}")
            if step > high - low:
                raise HpoError(f"{where}: step must not exceed high - low = {high - low:g}, but got {self.step}")
        elif self.step is not None:
            raise HpoError(f"{where}: kind {self.kind} takes no step, but got step={self.step}")
        if self.kind in LOG_KINDS:
            base = _number(self.base, f"{where}: log_base")
            if base <= 0 or base == 1:
                raise HpoError(f"{where}: log_base must be > 0 and != 1, but got {self.base}")
            if low <= 0:
                raise HpoError(f"{where}: a log range needs low > 0, but got low={self.low}")
        if self.kind in INT_KINDS and (low != int(low) or high != int(high)):
            raise HpoError(f"{where}: {self.kind} bounds must be integers, but got low={self.low}, high={self.high}")
        if self.kind in INT_KINDS and not (_fits_int64(self.low) and _fits_int64(self.high)):
            raise HpoError(f"{where}: {self.kind} bounds must lie in the 64-bit range [{INT64[0]}, {INT64[1]}], "
                           f"but got low={self.low}, high={self.high}")
        if self.kind == "intlog":
            if low < 1:
                raise HpoError(f"{where}: an integer log range needs low >= 1, but got low={self.low}")
            if self.step is not None and self.step != int(self.step):
                raise HpoError(f"{where}: intlog step must be an integer, but got {self.step}")

    def describe(self) -> str:
        """The valid values in words, for error messages."""
        if self.kind in ("choice", "ordered"):
            return f"one of {list(self.values)}"
        what = "an integer" if self.kind in INT_KINDS else "a number"
        return f"{what} in [{self.low:g}, {self.high:g}]" + (f" on step {self.step:g}" if self.step else "")

    @property
    def width(self) -> int:
        """Number of encoded dimensions."""
        return len(self.values) if self.kind == "choice" else 1

    @property
    def int_step(self) -> int:
        """The lattice step of `intlog` (1 unless given)."""
        return int(self.step) if self.step is not None else 1

    @property
    def top(self) -> int:
        """The largest `intlog` value on the lattice low, low + step, ..."""
        return int(self.low + (int(self.high) - int(self.low)) // self.int_step * self.int_step)

    def _log(self, x: float | np.ndarray) -> float | np.ndarray:
        return np.log(x) / math.log(self.base)

    def bounds(self) -> tuple[float, float]:
        """The encoded interval's ends in transformed units (log for log kinds, +-0.5 for integers)."""
        if self.kind in LOG_KINDS:
            return float(self._log(self.low)), float(self._log(self.high))
        if self.kind == "int":
            return self.low - 0.5, self.high + 0.5
        if self.kind == "intlog":
            return math.log(self.low - 0.5), math.log(self.high + 0.5)
        return self.low, self.high

    def transform(self, v: float | np.ndarray) -> float | np.ndarray:
        """A numeric value in the units of `bounds`."""
        if self.kind in LOG_KINDS:
            return self._log(np.maximum(v, 1e-300))
        if self.kind == "intlog":
            return np.log(np.maximum(v, 1e-300))
        return v

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
        lo, hi = self.bounds()
        return np.array([float(np.clip((self.transform(v) - lo) / (hi - lo), 0.0, 1.0))])

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
        if self.kind == "intlog":
            return int(self.decode_intlog(np.array([x]))[0])
        if self.kind in LOG_KINDS:
            lo, hi = self.bounds()
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

    def decode_intlog(self, x: np.ndarray) -> np.ndarray:
        """Vectorised `intlog` decoding: the nearest lattice integer (as float64) for each encoded x."""
        lo, hi = self.bounds()
        v = np.exp(lo + np.clip(x, 0.0, 1.0) * (hi - lo))
        k = np.round((v - self.low) / self.int_step)
        return np.clip(self.low + k * self.int_step, self.low, self.top)

    def index_of(self, value: Any) -> int:
        """Position of `value` among `values` (numbers compare with a tolerance)."""
        for i, option in enumerate(self.values):
            if option == value and type(option) is type(value):
                return i
        for i, option in enumerate(self.values):
            numbers_close = is_finite(option) and is_finite(value) and math.isclose(option, value, rel_tol=1e-6)
            same_kind = isinstance(option, (bool, np.bool_)) == isinstance(value, (bool, np.bool_))
            if (option == value and same_kind) or numbers_close:  # True is not 1, nor 1 True
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
        if not is_finite(value):
            return False
        v = float(value)
        if self.kind in INT_KINDS and (v != int(v) or not _fits_int64(value)):
            return False
        if self.kind == "intlog" and (v - self.low) % self.int_step:
            return False
        return self.low - 1e-9 <= v <= self.high + 1e-9
