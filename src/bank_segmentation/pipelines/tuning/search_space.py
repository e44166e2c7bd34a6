"""The Optuna search space, written once and read two ways: sampled by a trial, or enumerated as a grid.

``suggest_config`` asks a trial-like object (an ``optuna.Trial`` or the ``GridPoint`` below) for every
choice declared in ``params:tuning.search_space`` and turns the answers into what training understands:
a variant spec of ``bank_segmentation.preprocessing`` plus ``k`` and ``n_init``. The exhaustive grid of
the benchmark walks the very same function, so "the same discrete space" holds by construction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

OUTLIER_TREATMENTS = ("none", "winsorize", "log1p", "winsorize_log1p")
PCA_KINDS = ("none", "components", "variance")


class TrialLike(Protocol):
    """The part of ``optuna.Trial`` the search space uses."""

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any: ...

    def suggest_int(self, name: str, low: int, high: int) -> int: ...


@dataclass(frozen=True)
class SegmentationCandidate:
    """One point of the search space: the variant spec, k and n_init (``spec`` is None when invalid)."""

    params: dict[str, Any]
    spec: dict[str, Any] | None
    k: int
    n_init: int
    groups: list[str] = field(default_factory=list)
    invalid_reason: str | None = None


def group_param(name: str) -> str:
    """The Optuna parameter switching one feature group on or off."""
    return f"group_{name}"


def suggest_config(trial: TrialLike, space: Mapping[str, Any]) -> SegmentationCandidate:
    """Ask ``trial`` for every choice of ``space`` and build the candidate segmentation."""
    groups = [g for g in space["groups"] if trial.suggest_categorical(group_param(g), [True, False])]
    spec: dict[str, Any] = {"groups": groups}

    outliers = space["outliers"]
    treatment = trial.suggest_categorical("outliers", list(outliers["choices"]))
    if treatment not in OUTLIER_TREATMENTS:
        raise ValueError(f"tuning.search_space.outliers: unknown treatment {treatment!r}; use {OUTLIER_TREATMENTS}")
    if "winsorize" in treatment:
        spec["winsorize"] = trial.suggest_categorical("winsorize_quantile", list(outliers["winsorize_quantiles"]))
    if "log1p" in treatment:
        spec["log1p"] = True

    spec["scaler"] = trial.suggest_categorical("scaler", list(space["scalers"]))

    pca = space["pca"]
    kind = trial.suggest_categorical("pca", list(pca["choices"]))
    if kind not in PCA_KINDS:
        raise ValueError(f"tuning.search_space.pca: unknown choice {kind!r}; use {PCA_KINDS}")
    if kind == "components":
        spec["pca"] = int(trial.suggest_categorical("pca_components", [int(c) for c in pca["components"]]))
    elif kind == "variance":
        spec["pca"] = float(trial.suggest_categorical("pca_variance", [float(v) for v in pca["variance"]]))

    k_low, k_high = (int(v) for v in space["k"])
    k = trial.suggest_int("k", k_low, k_high)
    n_init = int(trial.suggest_categorical("n_init", [int(n) for n in space["n_init"]]))

    params = dict(getattr(trial, "params", {}))
    min_groups = int(space.get("min_groups", 1))
    if len(groups) < min_groups:
        reason = f"{len(groups)} feature group(s) switched on, at least {min_groups} required"
        return SegmentationCandidate(params, None, k, n_init, groups, reason)
    return SegmentationCandidate(params, spec, k, n_init, groups)


# --- the exhaustive grid -----------------------------------------------------------------------------
class GridPoint:
    """A trial stand-in answering each choice from a fixed path of choice indices (depth-first walk)."""

    def __init__(self, path: Sequence[int]) -> None:
        self.path = list(path)
        self.params: dict[str, Any] = {}
        self.arity: list[int] = []

    def _choose(self, name: str, choices: Sequence[Any]) -> Any:
        depth = len(self.arity)
        self.arity.append(len(choices))
        index = self.path[depth] if depth < len(self.path) else 0
        self.params[name] = choices[index]
        return choices[index]

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """The choice the path points at."""
        return self._choose(name, list(choices))

    def suggest_int(self, name: str, low: int, high: int) -> int:
        """The integer the path points at."""
        return int(self._choose(name, list(range(low, high + 1))))


def grid(space: Mapping[str, Any]) -> Iterator[SegmentationCandidate]:
    """Every point of the discrete search space (invalid ones included, flagged), depth first."""
    path: list[int] = []
    while True:
        point = GridPoint(path)
        candidate = suggest_config(point, space)
        yield SegmentationCandidate(dict(point.params), candidate.spec, candidate.k, candidate.n_init,
                                    candidate.groups, candidate.invalid_reason)
        path = list(point.path[: len(point.arity)]) + [0] * (len(point.arity) - len(point.path))
        # odometer step on the deepest choice that can still advance
        depth = len(point.arity) - 1
        while depth >= 0 and path[depth] + 1 >= point.arity[depth]:
            depth -= 1
        if depth < 0:
            return
        path = path[:depth] + [path[depth] + 1]
