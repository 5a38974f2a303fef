"""The search space: an ordered set of parameters and the unit-cube encoding of configurations."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from hpo_mab.errors import HpoError
from hpo_mab.space.params import Param

Config = dict[str, Any]


class Space:
    """Parameters in a fixed order; configurations encode to rows of the unit cube."""

    def __init__(self, params: Sequence[Param], metadata: Mapping[str, Any] | None = None) -> None:
        if isinstance(params, (str, bytes, Param, Mapping)) or not isinstance(params, Iterable):
            raise HpoError(f"a search space takes a list of hpo_mab.Param, but got {type(params).__name__}")
        params = tuple(params)  # a generator is read once
        wrong = [type(p).__name__ for p in params if not isinstance(p, Param)]
        if wrong:
            raise HpoError(f"a search space takes a list of hpo_mab.Param, but the list holds {wrong[0]}")
        if not params:
            raise HpoError("a search space needs at least one parameter, but got none")
        names = [p.name for p in params]
        if len(set(names)) != len(names):
            raise HpoError(f"parameter names must be unique, but got {names}")
        self.params: tuple[Param, ...] = tuple(params)
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.dim_owner = np.concatenate([np.full(p.width, i) for i, p in enumerate(self.params)])

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.params]

    @property
    def n_dims(self) -> int:
        """Number of encoded dimensions (one-hot blocks count one per value)."""
        return int(self.dim_owner.size)

    def __len__(self) -> int:
        return len(self.params)

    def __repr__(self) -> str:
        return f"Space({', '.join(f'{p.name}:{p.kind}' for p in self.params)})"

    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """Encode one configuration to a vector in [0, 1]^n_dims."""
        missing = [n for n in self.names if n not in config]
        if missing:
            raise HpoError(f"configuration lacks parameter(s) {missing}; expected {self.names}")
        return np.concatenate([p.encode(config[p.name]) for p in self.params])

    def encode_many(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Encode configurations row by row."""
        if len(configs) == 0:
            return np.zeros((0, self.n_dims))
        return np.vstack([self.encode(c) for c in configs])

    def decode(self, u: np.ndarray) -> Config:
        """Decode one encoded vector to a valid configuration."""
        out: Config = {}
        start = 0
        for p in self.params:
            out[p.name] = p.decode(u[start : start + p.width])
            start += p.width
        return out

    def sobol(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` scrambled Sobol points in the encoded cube (a categorical picks its one-hot value by bin)."""
        from scipy.stats import qmc  # late: scipy.stats costs 0.5 s to import (`hpo-runner list` needs none)

        sampler = qmc.Sobol(d=len(self.params), scramble=True, seed=rng)
        m = int(np.ceil(np.log2(max(n, 1))))
        raw = sampler.random_base2(m)[:n]
        blocks = []
        for j, p in enumerate(self.params):
            if p.kind == "choice":
                blocks.append(np.eye(p.width)[np.minimum((raw[:, j] * p.width).astype(int), p.width - 1)])
            else:
                blocks.append(raw[:, j : j + 1])
        return np.hstack(blocks)

    def snap(self, u: np.ndarray) -> np.ndarray:
        """Round encoded vectors to the encoding of the configuration they decode to (vectorised)."""
        u = np.clip(np.atleast_2d(np.asarray(u, dtype=float)), 0.0, 1.0)
        out = u.copy()
        start = 0
        for p in self.params:
            cols = slice(start, start + p.width)
            if p.kind == "choice":
                out[:, cols] = np.eye(p.width)[np.argmax(u[:, cols], axis=1)]
            elif p.kind == "ordered":
                n = len(p.values)
                out[:, cols] = np.round(u[:, cols] * (n - 1)) / (n - 1) if n > 1 else 0.5
            elif p.kind == "int":
                k = np.clip(np.floor(p.low - 0.5 + u[:, start] * (p.high - p.low + 1) + 0.5), p.low, p.high)
                out[:, start] = (k - p.low + 0.5) / (p.high - p.low + 1)
            elif p.kind == "intlog":
                lo, hi = p.bounds()
                out[:, start] = (np.log(p.decode_intlog(u[:, start])) - lo) / (hi - lo)
            elif p.kind in ("quniform", "qloguniform"):
                out[:, start] = [p.encode(p.decode(np.array([x])))[0] for x in u[:, start]]
            start += p.width
        return out

    def validate(self, config: Mapping[str, Any]) -> None:
        """Raise HpoError unless every parameter has a valid value."""
        for p in self.params:
            if p.name not in config:
                raise HpoError(f"configuration lacks parameter '{p.name}'")
            if not p.contains(config[p.name]):
                raise HpoError(f"parameter '{p.name}': value {config[p.name]!r} is not {p.describe()}")

    def defaults(self) -> Config | None:
        """The configuration of declared defaults, if every parameter declares one."""
        if any(p.default is None for p in self.params):
            return None
        return {p.name: p.default for p in self.params}


def space_to_dict(space: Space) -> list[dict[str, Any]]:
    """Serialise a Space to JSON-ready dicts (used in table metadata)."""
    out = []
    for p in space.params:
        d = {"name": p.name, "kind": p.kind}
        if p.kind in ("choice", "ordered"):
            d["values"] = list(p.values)
        else:
            d.update(low=p.low, high=p.high)
            if p.step is not None:
                d["step"] = p.step
            if p.kind.endswith("loguniform"):
                d["base"] = p.base
        if p.default is not None:
            d["default"] = p.default
        out.append(d)
    return out


def space_from_dict(items: Sequence[Mapping[str, Any]]) -> Space:
    """Inverse of `space_to_dict`."""
    params = []
    fields = {"name", "kind", "low", "high", "step", "base", "values", "default"}
    for i, d in enumerate(items):
        if not isinstance(d, Mapping) or not set(d) <= fields or "name" not in d or "kind" not in d:
            raise HpoError(f"space[{i}]: expected a mapping with name, kind and some of {sorted(fields)}, "
                           f"but got {d!r}")
        d = dict(d)
        if isinstance(d.get("values"), list):
            d["values"] = tuple(d["values"])
        params.append(Param(**d))
    return Space(params)
