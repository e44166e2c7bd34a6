"""The one builder of the feature pipeline (a scikit-learn ``Pipeline``) from a variant spec.

Used by the clustering sweep, the Optuna search, training and scoring, so that a variant means the same
thing everywhere. A *variant spec* is a small mapping (YAML in ``parameters_clustering.yml``)::

    columns: raw            # which columns: "raw" (the schema's behavioural columns), "all" (every
                            # model-input column), any group name of params:features.groups, or a list
                            # of column names. Default: raw (unless `groups` is given).
    groups: [spending, kpis]   # optional: named column groups, added to `columns` (order kept, no dups)
    roles: [frequency]      # optional: every model-input column with one of these roles, added too
    exclude: [TENURE]       # optional: columns dropped after the selection above
    impute: median          # median | mean | none                     (default median)
    winsorize: 0.99         # none | upper quantile q in (0, 1) | {quantile: q, roles: [...]}
                            # clips each heavy-tailed column at its q-quantile learned at fit
    log1p: true             # false | true (= heavy-tailed roles amount, count, limit, ratio) | [roles]
    scaler: standard        # standard | robust | minmax | quantile_normal | yeo_johnson | none
    pca: null               # none | int n_components | float share of variance in (0, 1)

Steps run in that order: select -> impute -> winsorize -> log1p -> scale -> pca. Every step is a fitted
scikit-learn transformer, so the whole pipeline pickles and transforms new customers without refitting.
The pipeline reads a DataFrame (columns by name) and returns a float64 NumPy array.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    MinMaxScaler,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted

from bank_segmentation.core.schema import model_input_roles, raw_feature_columns
from bank_segmentation.core.settings import Features, Schema

HEAVY_TAILED_ROLES = ("amount", "count", "limit", "ratio")
SPEC_KEYS = {"columns", "groups", "roles", "exclude", "impute", "winsorize", "log1p", "scaler", "pca", "description"}
IMPUTERS = ("median", "mean", "none")
SCALERS = ("standard", "robust", "minmax", "quantile_normal", "yeo_johnson", "none")
RAW_GROUP = "raw"
ALL_GROUP = "all"
DEFAULT_SPEC: dict[str, Any] = {
    "impute": "median",
    "winsorize": None,
    "log1p": False,
    "scaler": "standard",
    "pca": None,
}


# --- column roles and groups -------------------------------------------------------------------------
def feature_space(schema: Schema, features: Features) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Role of every model-input column and the named column groups (with ``raw`` and ``all``)."""
    roles = model_input_roles(schema, features)
    groups = {name: list(cols) for name, cols in features.groups.items()}
    groups[RAW_GROUP] = raw_feature_columns(schema, features)
    groups[ALL_GROUP] = list(roles)
    return roles, groups


def resolve_columns(
    spec: Mapping[str, Any], roles: Mapping[str, str], groups: Mapping[str, Sequence[str]]
) -> list[str]:
    """The ordered model-input columns a variant spec selects."""
    selected: list[str] = []
    columns = spec.get("columns", None if spec.get("groups") or spec.get("roles") else RAW_GROUP)
    for item in as_list(columns) + as_list(spec.get("groups")):
        if item in groups:
            selected.extend(groups[item])
        elif item in roles:
            selected.append(item)
        else:
            raise ValueError(
                f"variant spec: {item!r} is neither a column group ({sorted(groups)}) nor a model-input column"
            )
    wanted_roles = set(as_list(spec.get("roles")))
    selected.extend(col for col, role in roles.items() if role in wanted_roles)
    exclude = set(as_list(spec.get("exclude")))
    columns_out = [c for c in dict.fromkeys(selected) if c not in exclude]
    missing = [c for c in columns_out if c not in roles]
    if missing:
        raise ValueError(f"variant spec: columns {missing} are not model-input columns")
    if not columns_out:
        raise ValueError("variant spec selects no column")
    return columns_out


def validate_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec with defaults filled in; raises ``ValueError`` naming any invalid entry."""
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise ValueError(f"variant spec: unknown key(s) {sorted(unknown)}; allowed: {sorted(SPEC_KEYS)}")
    full = {**DEFAULT_SPEC, **dict(spec)}
    if str(full["impute"]).lower() not in IMPUTERS:
        raise ValueError(f"variant spec: impute must be one of {IMPUTERS}, got {full['impute']!r}")
    if str(full["scaler"]).lower() not in SCALERS:
        raise ValueError(f"variant spec: scaler must be one of {SCALERS}, got {full['scaler']!r}")
    quantile, _ = _winsorize_settings(full["winsorize"])
    if quantile is not None and not 0 < quantile < 1:
        raise ValueError(f"variant spec: winsorize quantile must be in (0, 1), got {quantile}")
    pca = full["pca"]
    if pca is not None and not ((isinstance(pca, int) and pca >= 1) or (isinstance(pca, float) and 0 < pca < 1)):
        raise ValueError(f"variant spec: pca must be an int >= 1 or a float in (0, 1), got {pca!r}")
    return full


def describe_steps(spec: Mapping[str, Any]) -> str:
    """A short, human-readable list of the steps of a spec, e.g. ``impute=median>log1p>standard``."""
    full = validate_spec(spec)
    steps = [f"impute={full['impute']}"] if str(full["impute"]).lower() != "none" else []
    quantile, w_roles = _winsorize_settings(full["winsorize"])
    if quantile is not None:
        steps.append(f"winsorize={quantile}[{','.join(w_roles)}]")
    log_roles = _log1p_roles(full["log1p"])
    if log_roles:
        steps.append(f"log1p[{','.join(log_roles)}]")
    if str(full["scaler"]).lower() != "none":
        steps.append(str(full["scaler"]))
    if full["pca"] is not None:
        steps.append(f"pca={full['pca']}")
    return ">".join(steps)


# --- the builder -------------------------------------------------------------------------------------
def build_preprocessor(
    spec: Mapping[str, Any],
    roles: Mapping[str, str],
    groups: Mapping[str, Sequence[str]],
    random_state: int = 0,
) -> Pipeline:
    """An unfitted scikit-learn Pipeline (DataFrame in, float64 array out) for a variant spec."""
    full = validate_spec(spec)
    columns = resolve_columns(full, roles, groups)
    column_roles = [roles[c] for c in columns]
    steps: list[tuple[str, Any]] = [("select", ColumnSelector(columns))]
    impute = str(full["impute"]).lower()
    if impute != "none":
        steps.append(("impute", SimpleImputer(strategy=impute)))
    quantile, w_roles = _winsorize_settings(full["winsorize"])
    if quantile is not None:
        steps.append(("winsorize", UpperWinsorizer(quantile, _mask(column_roles, w_roles))))
    log_roles = _log1p_roles(full["log1p"])
    if log_roles:
        steps.append(("log1p", Log1pColumns(_mask(column_roles, log_roles))))
    scaler = _scaler(str(full["scaler"]).lower(), random_state)
    if scaler is not None:
        steps.append(("scale", scaler))
    if full["pca"] is not None:
        steps.append(("pca", PCA(n_components=full["pca"], random_state=random_state)))
    return Pipeline(steps)


def _scaler(name: str, random_state: int) -> Any:
    return {
        "standard": lambda: StandardScaler(),
        "robust": lambda: RobustScaler(),
        "minmax": lambda: MinMaxScaler(),
        "quantile_normal": lambda: QuantileTransformer(output_distribution="normal", random_state=random_state),
        "yeo_johnson": lambda: PowerTransformer(method="yeo-johnson", standardize=True),
        "none": lambda: None,
    }[name]()


def as_list(value: Any) -> list[Any]:
    """A spec entry that may be one name or several, as a list (``None``: empty)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _winsorize_settings(value: Any) -> tuple[float | None, list[str]]:
    if value is None or value is False:
        return None, []
    if isinstance(value, Mapping):
        return float(value["quantile"]), as_list(value.get("roles", HEAVY_TAILED_ROLES))
    return float(value), list(HEAVY_TAILED_ROLES)


def _log1p_roles(value: Any) -> list[str]:
    if value is None or value is False:
        return []
    if value is True:
        return list(HEAVY_TAILED_ROLES)
    return as_list(value)


def _mask(column_roles: Sequence[str], wanted: Sequence[str]) -> list[bool]:
    return [role in set(wanted) for role in column_roles]


# --- transformers ------------------------------------------------------------------------------------
class ColumnSelector(BaseEstimator, TransformerMixin):
    """Select columns of a DataFrame by name, as a float64 array."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = columns

    def fit(self, X: pd.DataFrame, y: Any = None) -> ColumnSelector:
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            raise ValueError(f"input lacks the column(s) {missing} the model was built on")
        self.n_features_in_ = len(self.columns)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.columns if c not in X.columns]
        if missing:
            raise ValueError(f"input lacks the column(s) {missing} the model was built on")
        return X[list(self.columns)].to_numpy(dtype=np.float64, copy=True)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.columns, dtype=object)


class UpperWinsorizer(OneToOneFeatureMixin, BaseEstimator, TransformerMixin):
    """Clip the masked columns at their upper ``quantile`` learned at fit."""

    def __init__(self, quantile: float = 0.99, mask: Sequence[bool] | None = None) -> None:
        self.quantile = quantile
        self.mask = mask

    def fit(self, X: np.ndarray, y: Any = None) -> UpperWinsorizer:
        X = np.asarray(X, dtype=np.float64)
        self.n_features_in_ = X.shape[1]
        mask = np.ones(X.shape[1], bool) if self.mask is None else np.asarray(self.mask, bool)
        self.upper_ = np.full(X.shape[1], np.inf)
        if mask.any():
            self.upper_[mask] = np.nanquantile(X[:, mask], self.quantile, axis=0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "upper_")
        return np.minimum(np.asarray(X, dtype=np.float64), self.upper_)


class Log1pColumns(OneToOneFeatureMixin, BaseEstimator, TransformerMixin):
    """``log1p`` on the masked columns (negative values are treated as 0)."""

    def __init__(self, mask: Sequence[bool] | None = None) -> None:
        self.mask = mask

    def fit(self, X: np.ndarray, y: Any = None) -> Log1pColumns:
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64, copy=True)
        mask = np.ones(X.shape[1], bool) if self.mask is None else np.asarray(self.mask, bool)
        X[:, mask] = np.log1p(np.maximum(X[:, mask], 0.0))
        return X
