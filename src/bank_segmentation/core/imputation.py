"""Missing-value imputation learned on the training customers and re-applied unchanged when scoring."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.impute import KNNImputer

from bank_segmentation.core.errors import ConfigurationError

STRATEGIES = ("median", "domain", "knn")


@dataclass
class CustomerImputer:
    """Fitted imputation: training medians, domain rules and, for ``knn``, a fitted KNN imputer."""

    strategy: str
    columns: list[str]
    medians: dict[str, float]
    domain_rules: list[dict[str, Any]] = field(default_factory=list)
    knn: KNNImputer | None = None
    log_mean: np.ndarray | None = None
    log_std: np.ndarray | None = None

    def transform(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
        """Fill missing values; return the filled frame and per-column counts by strategy."""
        filled = frame.copy()
        counts: dict[str, dict[str, Any]] = {}
        if self.strategy == "domain":
            for rule in self.domain_rules:
                col, trigger = rule["column"], rule["when_zero"]
                hit = filled[col].isna() & filled[trigger].eq(0)
                filled.loc[hit, col] = rule["value"]
                count_imputed(counts, col, domain_label(rule), int(hit.sum()))
        if self.strategy == "knn" and filled[self.columns].isna().any().any():
            filled = self._knn_fill(filled, counts)
        for col in self.columns:
            hit = filled[col].isna()
            filled.loc[hit, col] = self.medians[col]
            count_imputed(counts, col, "median", int(hit.sum()))
        return filled, counts

    def _knn_fill(self, frame: pd.DataFrame, counts: dict[str, dict[str, Any]]) -> pd.DataFrame:
        """Impute in standardised log space, where amounts of every size weigh alike."""
        values = frame[self.columns].to_numpy(dtype="float64", copy=True)
        missing = np.isnan(values)
        scaled = (np.log1p(np.clip(values, 0, None)) - self.log_mean) / self.log_std
        imputed = np.expm1(self.knn.transform(scaled) * self.log_std + self.log_mean)
        values[missing] = imputed[missing]
        frame[self.columns] = values
        for col, n in zip(self.columns, missing.sum(axis=0)):
            count_imputed(counts, col, "knn", int(n))
        return frame


def domain_label(rule: Mapping[str, Any]) -> str:
    """How the imputed counts name a domain rule, e.g. ``domain: PAYMENTS == 0 -> 0.0``."""
    return f"domain: {rule['when_zero']} == 0 -> {rule['value']}"


def count_imputed(counts: dict[str, dict[str, Any]], column: str, strategy: str, n: int) -> None:
    """Add ``n`` imputed values of ``column`` under ``strategy``."""
    if n:
        counts.setdefault(column, {})[strategy] = counts.get(column, {}).get(strategy, 0) + n


def fit_imputer(frame: pd.DataFrame, columns: Sequence[str], params: Mapping[str, Any]) -> CustomerImputer:
    """Learn the imputation statistics from the validated training customers."""
    strategy = params["strategy"]
    if strategy not in STRATEGIES:
        raise ConfigurationError(f"parameters 'imputation.strategy': {strategy!r} not in {STRATEGIES}")
    columns = list(columns)
    medians = frame[columns].median().fillna(0.0).astype(float).to_dict()
    imputer = CustomerImputer(
        strategy=strategy,
        columns=columns,
        medians=medians,
        domain_rules=[dict(rule) for rule in params.get("domain_rules", [])],
    )
    if strategy == "knn":
        logged = np.log1p(np.clip(frame[columns].to_numpy(dtype="float64"), 0, None))
        imputer.log_mean = np.nanmean(logged, axis=0)
        imputer.log_std = np.where(np.nanstd(logged, axis=0) > 0, np.nanstd(logged, axis=0), 1.0)
        imputer.knn = KNNImputer(n_neighbors=params["knn_neighbors"]).fit((logged - imputer.log_mean) / imputer.log_std)
    return imputer
