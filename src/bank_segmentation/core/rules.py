"""Readable rules per segment: a shallow decision tree on the customers' own columns that mimics K-means.

K-means puts a customer where its distance is smallest in a scaled space no one reads. A surrogate tree on the
original units explains each segment as a few conditions ("Purchase Frequency ≥ 80% and Cash Advance = 0"),
with its fidelity (the share of customers the rules place in the segment K-means chose) and coverage (the share
of the segment's customers its rules reach). The tree travels in the package, so a scored customer gets the
conditions of the leaf it falls in as its ``why``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

PERCENT_ROLES = ("frequency", "share")
WHOLE_NUMBER_ROLES = ("count", "tenure")  # transaction counts and months: a threshold between integers


@dataclass(frozen=True)
class Bound:
    """What a leaf asks of one column: above ``lower`` (exclusive) and at most ``upper``."""

    column: str
    lower: float = -np.inf
    upper: float = np.inf


@dataclass
class SegmentRules:
    """The surrogate tree, its columns, its fidelity, and each leaf's segment, customers and conditions."""

    tree: DecisionTreeClassifier
    columns: list[str]
    fidelity: float
    leaves: dict[int, list[Bound]] = field(default_factory=dict)

    def leaf_of(self, values: pd.DataFrame) -> np.ndarray:
        """The leaf every customer falls in."""
        return self.tree.apply(values[self.columns].to_numpy(dtype=float))

    def segment_of_leaf(self, leaf: int) -> int:
        """The segment a leaf places its customers in."""
        return int(self.tree.classes_[int(np.argmax(self.tree.tree_.value[leaf][0]))])


def fit_rules(values: pd.DataFrame, segments: np.ndarray, params: Mapping[str, Any]) -> SegmentRules:
    """Fit the surrogate tree to the K-means segments; note every leaf's conditions."""
    columns = list(values.columns)
    tree = DecisionTreeClassifier(
        max_depth=int(params["max_depth"]),
        min_samples_leaf=max(1, int(params["min_leaf_share"] * len(values))),
        random_state=int(params["random_state"]),
    ).fit(values.to_numpy(dtype=float), segments)
    fidelity = float(tree.score(values.to_numpy(dtype=float), segments))
    rules = SegmentRules(tree=tree, columns=columns, fidelity=fidelity)
    smallest_positive = {c: values[c][values[c] > 0].min() if (values[c] >= 0).all() else np.nan for c in columns}
    for leaf, path in _paths(tree).items():
        bounds = [_snapped(bound, smallest_positive[bound.column]) for bound in _bounds(tree, columns, path)]
        rules.leaves[leaf] = _simplified(bounds, values, segments == rules.segment_of_leaf(leaf), params)
    return rules


def _snapped(bound: Bound, smallest_positive: float) -> Bound:
    """A split between 0 and a column's smallest positive value, said as "none" (≤ 0) or "some" (> 0)."""
    if np.isnan(smallest_positive):
        return bound
    lower = 0.0 if 0 <= bound.lower < smallest_positive else bound.lower
    upper = 0.0 if 0 <= bound.upper < smallest_positive else bound.upper
    return Bound(bound.column, lower, upper)


def _meets(bounds: Sequence[Bound], values: pd.DataFrame) -> np.ndarray:
    """Which customers meet every bound."""
    met = np.ones(len(values), dtype=bool)
    for bound in bounds:
        column = values[bound.column].to_numpy(dtype=float)
        met &= (column > bound.lower) & (column <= bound.upper)
    return met


def _precision(bounds: Sequence[Bound], values: pd.DataFrame, in_segment: np.ndarray) -> float:
    met = _meets(bounds, values)
    return float(in_segment[met].mean()) if met.any() else 0.0


def _simplified(
    bounds: list[Bound], values: pd.DataFrame, in_segment: np.ndarray, params: Mapping[str, Any]
) -> list[Bound]:
    """The leaf's conditions without those that barely matter: one by one, the condition whose removal costs
    the least precision goes while the loss stays within ``precision_tolerance``, or while there are more than
    ``max_conditions``."""
    full = _precision(bounds, values, in_segment)
    kept = list(bounds)
    while len(kept) > 1:
        options = [(_precision([b for b in kept if b is not gone], values, in_segment), gone) for gone in kept]
        best, gone = max(options, key=lambda option: option[0])
        if full - best > params["precision_tolerance"] and len(kept) <= params["max_conditions"]:
            break
        kept.remove(gone)
    return kept


def _paths(tree: DecisionTreeClassifier) -> dict[int, list[tuple[int, bool, float]]]:
    """Every leaf's path from the root: (feature index, went right, threshold) per split."""
    structure = tree.tree_
    paths: dict[int, list[tuple[int, bool, float]]] = {}
    stack: list[tuple[int, list[tuple[int, bool, float]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        left, right = structure.children_left[node], structure.children_right[node]
        if left == right:  # a leaf
            paths[node] = path
            continue
        feature, threshold = int(structure.feature[node]), float(structure.threshold[node])
        stack.append((left, [*path, (feature, False, threshold)]))
        stack.append((right, [*path, (feature, True, threshold)]))
    return paths


def _bounds(tree: DecisionTreeClassifier, columns: Sequence[str], path: list[tuple[int, bool, float]]) -> list[Bound]:
    """A path's splits merged into one lower and one upper bound per column, in the order they are met."""
    bounds: dict[str, Bound] = {}
    for feature, went_right, threshold in path:
        column = columns[feature]
        current = bounds.get(column, Bound(column))
        if went_right:
            bounds[column] = Bound(column, max(current.lower, threshold), current.upper)
        else:
            bounds[column] = Bound(column, current.lower, min(current.upper, threshold))
    return list(bounds.values())


def segment_rules(rules: SegmentRules, values: pd.DataFrame, segments: np.ndarray, per_segment: int) -> dict[int, Any]:
    """Per segment: the simplified rules of its ``per_segment`` largest leaves, each with its precision and
    coverage, and the precision and coverage of the segment's rules together."""
    leaves = rules.leaf_of(values)
    summary: dict[int, Any] = {}
    for segment in np.unique(segments):
        in_segment = segments == segment
        own = pd.Series(leaves[in_segment]).value_counts()
        chosen, seen = [], []
        for leaf in (int(leaf) for leaf in own.index if rules.segment_of_leaf(int(leaf)) == segment):
            if rules.leaves[leaf] not in seen and len(chosen) < per_segment:  # two leaves may simplify alike
                chosen.append(leaf)
                seen.append(rules.leaves[leaf])
        met = [_meets(rules.leaves[leaf], values) for leaf in chosen]
        together = np.logical_or.reduce(met) if met else np.zeros(len(values), dtype=bool)
        summary[int(segment)] = {
            "leaves": chosen,
            "rules": [
                {"precision": float(in_segment[m].mean()) if m.any() else 0.0, "coverage": float(m[in_segment].mean())}
                for m in met
            ],
            "precision": float(in_segment[together].mean()) if together.any() else 0.0,
            "coverage": float(together[in_segment].mean()),
        }
    return summary


def rule_text(bounds: Sequence[Bound], roles: Mapping[str, str], labels: Mapping[str, str]) -> str:
    """A leaf's conditions in plain words, e.g. ``Purchase Frequency > 80% and Cash Advance = 0``."""
    return " and ".join(_condition(bound, roles.get(bound.column), labels) for bound in bounds) or "every customer"


def _condition(bound: Bound, role: str | None, labels: Mapping[str, str]) -> str:
    label = labels.get(bound.column) or bound.column.replace("_", " ").title()
    if role == "indicator":
        return f"{label}: {'yes' if bound.lower >= 0 else 'no'}"
    if bound.upper == 0 and not np.isfinite(bound.lower):
        return f"{label} = 0"
    if bound.lower == 0 and not np.isfinite(bound.upper):
        return f"{label} > 0"
    if role in WHOLE_NUMBER_ROLES:  # a cut at 11.5 months reads "≤ 11" or "≥ 12"
        low, high = (_value(v, role) for v in (np.floor(bound.lower) + 1, np.floor(bound.upper)))
        above = f"{label} ≥ {low}"
    else:
        low, high = (_value(v, role) for v in (bound.lower, bound.upper))
        above = f"{label} > {low}"
    if np.isfinite(bound.lower) and np.isfinite(bound.upper):
        return f"{label} between {low} and {high}"
    return above if np.isfinite(bound.lower) else f"{label} ≤ {high}"


def _value(value: float, role: str | None) -> str:
    if role in PERCENT_ROLES:
        return f"{value:.0%}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def explain(
    rules: SegmentRules, values: pd.DataFrame, roles: Mapping[str, str], labels: Mapping[str, str]
) -> pd.Series:
    """The conditions of the leaf each customer falls in (its ``why``)."""
    texts = {leaf: rule_text(bounds, roles, labels) for leaf, bounds in rules.leaves.items()}
    return pd.Series([texts[leaf] for leaf in rules.leaf_of(values)], index=values.index)
