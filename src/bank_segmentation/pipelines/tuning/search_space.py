"""The Optuna search space, written once and read two ways: sampled by a trial, or enumerated as a grid.

``suggest_config`` asks a trial-like object (an ``optuna.Trial``, the ``GridPoint`` or ``PointFrom`` below)
for every choice declared in ``params:tuning.search_space`` and turns the answers into what training
understands: a variant spec of ``bank_segmentation.core.preprocessing``. The exhaustive grid of the benchmark
walks the very same function, so "the same discrete space" holds by construction.

``k`` is not sampled: a trial fits every k of the business bounds (``model_choice.rule``) on its feature
space — one K-means fit each, against the feature build and the refits every trial pays anyway — and each
of them is a candidate of the model choice. K-means restarts are not searched at all: every fit keeps the
lowest-inertia partition of ``evaluation.n_init`` restarts.
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


@dataclass(frozen=True)
class SegmentationCandidate:
    """A trial's feature space (``spec``, None when invalid) and the numbers of segments it fits there."""

    params: dict[str, Any]
    spec: dict[str, Any] | None
    ks: tuple[int, ...]
    groups: list[str] = field(default_factory=list)
    invalid_reason: str | None = None


def group_param(name: str) -> str:
    """The Optuna parameter switching one feature group on or off."""
    return f"group_{name}"


def suggest_config(trial: TrialLike, space: Mapping[str, Any], ks: Sequence[int]) -> SegmentationCandidate:
    """Ask ``trial`` for every choice of ``space`` and build the candidate segmentation, fitted at every k."""
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

    ks = tuple(int(k) for k in ks)
    params = dict(getattr(trial, "params", {}))
    min_groups = int(space.get("min_groups", 1))
    if len(groups) < min_groups:
        reason = f"{len(groups)} feature group(s) switched on, at least {min_groups} required"
        return SegmentationCandidate(params, None, ks, groups, reason)
    return SegmentationCandidate(params, spec, ks, groups)


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


def grid(space: Mapping[str, Any], ks: Sequence[int]) -> Iterator[SegmentationCandidate]:
    """Every trial of the discrete search space (invalid ones included, flagged), depth first."""
    path: list[int] = []
    while True:
        point = GridPoint(path)
        candidate = suggest_config(point, space, ks)
        yield SegmentationCandidate(
            dict(point.params), candidate.spec, candidate.ks, candidate.groups, candidate.invalid_reason
        )
        path = list(point.path[: len(point.arity)]) + [0] * (len(point.arity) - len(point.path))
        # odometer step on the deepest choice that can still advance
        depth = len(point.arity) - 1
        while depth >= 0 and path[depth] + 1 >= point.arity[depth]:
            depth -= 1
        if depth < 0:
            return
        path = path[:depth] + [path[depth] + 1]


# --- named points and their neighbours (the start and the local search of the study) -----------------
class PointFrom:
    """A trial stand-in answering each choice from ``params`` (the first choice when absent or not offered)."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.given = dict(params)
        self.params: dict[str, Any] = {}
        self.choices: dict[str, list[Any]] = {}

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """The given value if it is a choice, else the first choice."""
        self.choices[name] = list(choices)
        value = self.given.get(name, choices[0])
        self.params[name] = value if value in self.choices[name] else choices[0]
        return self.params[name]


def _walk(params: Mapping[str, Any], space: Mapping[str, Any]) -> tuple[PointFrom, SegmentationCandidate]:
    answer = PointFrom(params)
    return answer, suggest_config(answer, space, ())


def point(params: Mapping[str, Any], space: Mapping[str, Any]) -> tuple[dict[str, Any], SegmentationCandidate]:
    """The trial parameters of the point ``params`` names (only the choices it uses) and its candidate."""
    answer, candidate = _walk(params, space)
    return answer.params, candidate


def params_of_spec(
    spec: Mapping[str, Any], columns: Sequence[str], space: Mapping[str, Any], groups: Mapping[str, Sequence[str]]
) -> dict[str, Any]:
    """The point of the space nearest to a variant spec selecting ``columns``: the groups inside them, the
    same outlier treatment, scaler and PCA where the space offers them."""
    wanted = set(columns)
    params: dict[str, Any] = {group_param(g): set(groups[g]) <= wanted for g in space["groups"]}
    winsorize, log1p = spec.get("winsorize") is not None, bool(spec.get("log1p"))
    params["outliers"] = {
        (False, False): "none",
        (True, False): "winsorize",
        (False, True): "log1p",
        (True, True): "winsorize_log1p",
    }[(winsorize, log1p)]
    if winsorize:
        quantile = spec["winsorize"]
        params["winsorize_quantile"] = quantile.get("quantile") if isinstance(quantile, Mapping) else quantile
    params["scaler"] = spec.get("scaler", "standard")
    pca = spec.get("pca")
    if pca is None:
        params["pca"] = "none"
    elif isinstance(pca, int):
        params.update(pca="components", pca_components=pca)
    else:
        params.update(pca="variance", pca_variance=float(pca))
    return point(params, space)[0]


def neighbours(params: Mapping[str, Any], space: Mapping[str, Any], moves: str) -> list[dict[str, Any]]:
    """Valid points one step from ``params``: one feature group switched (``groups``), or any one choice
    changed (``all``), in the order the space declares its choices."""
    answer, _ = _walk(params, space)
    base = answer.params
    names = list(map(group_param, space["groups"])) if moves == "groups" else list(answer.choices)
    out = []
    for name in names:
        for value in answer.choices[name]:
            if value == base[name]:
                continue
            moved, candidate = point({**base, name: value}, space)
            if candidate.spec is not None:
                out.append(moved)
    return out
