"""Figure specifications: the data of every report figure, as plain JSON-like dicts.

Each figure is described once here and drawn twice by ``render.py``: as an interactive plotly figure
(a catalog dataset kedro-viz previews and MLflow stores) and as a static PNG for the HTML report.
Kinds: ``bars``, ``heatmap``, ``lines`` (one or more panels), ``scatter`` and ``histograms``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bank_segmentation.core.naming import feature_label
from bank_segmentation.core.preprocessing import build_preprocessor, feature_space
from bank_segmentation.core.profiles import SEGMENT, SHARE, profile_matrix
from bank_segmentation.core.settings import EvaluationSettings, Features, Schema

logger = logging.getLogger(__name__)

EDA_FIGURES = ("feature_distributions", "correlation", "missing_values")
SELECTION_FIGURES = ("elbow", "silhouette", "agreement")
SEGMENT_FIGURES = ("segment_sizes", "profile_heatmap", "snake_plot", "segment_map")
HEAVY_TAILED = ("amount", "count", "limit", "ratio")
MAP_COLUMNS = ("x", "y")


def _floats(values: Any) -> list[float | None]:
    """JSON-friendly floats (NaN becomes None)."""
    return [None if pd.isna(v) else float(v) for v in values]


# --- exploratory data analysis -------------------------------------------------------------------------
def eda_figures(
    customer_features: pd.DataFrame,
    data_quality: Mapping[str, Any],
    schema: Schema,
    labels: Mapping[str, str],
    params: Mapping[str, Any],
) -> dict[str, dict[str, Any]]:
    """Distributions and correlations of the raw columns, and the missing values found in the data."""
    columns = schema.feature_columns
    panels = []
    for col in columns:
        values = customer_features[col].to_numpy(dtype=float)
        log = schema.roles[col] in HEAVY_TAILED
        counts, edges = np.histogram(
            np.log1p(np.clip(values, 0, None)) if log else values, bins=int(params["histogram_bins"])
        )
        title = feature_label(col, labels) + (" (log 1+x)" if log else "")
        panels.append({"title": title, "edges": _floats(edges), "counts": counts.tolist()})
    corr = customer_features[columns].corr().round(3)
    names = [feature_label(c, labels) for c in columns]
    missing = data_quality.get("missing_values", {}) or {}
    return {
        "feature_distributions": {
            "kind": "histograms",
            "title": "Distribution of every behavioural column (cleaned data)",
            "panels": panels,
        },
        "correlation": {
            "kind": "heatmap",
            "title": "Correlation between behavioural columns (Pearson)",
            "rows": names,
            "columns": names,
            "values": corr.to_numpy().tolist(),
            "zmin": -1.0,
            "zmax": 1.0,
            "diverging": True,
            "annotate": False,
            "value_label": "correlation",
        },
        "missing_values": {
            "kind": "bars",
            "title": "Missing values per column in the raw data (filled by imputation)",
            "categories": [feature_label(c, labels) for c in columns],
            "values": [float(missing.get(c, 0)) for c in columns],
            "value_label": "missing values",
            "percent": False,
        },
    }


# --- the sweep behind the model choice ---------------------------------------------------------------
def selection_figures(sweep_results: pd.DataFrame, model_selection: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The sweep's curves by k: elbow, silhouette (own and reference space), agreement, coverage, smallest share."""
    chosen = model_selection.get("chosen", {})
    thresholds = model_selection.get("thresholds", {}) or {}
    groups = list(sweep_results.groupby("variant", sort=False))
    from_sweep = chosen.get("source") == "sweep"

    def series(column: str, relative: bool = False) -> list[dict[str, Any]]:
        out = []
        for name, group in groups:
            y = group[column].to_numpy(dtype=float)
            out.append(
                {"name": name, "x": group["k"].astype(int).tolist(), "y": _floats(y / y[0] if relative and y[0] else y)}
            )
        return out

    def chosen_marker(column: str, relative: bool = False) -> list[dict[str, Any]]:
        if not from_sweep:
            return []
        variant = sweep_results["variant"] == chosen.get("name")
        hit = sweep_results[variant & (sweep_results["k"] == chosen.get("k"))]
        if hit.empty:
            return []
        base = sweep_results.loc[variant, column].iloc[0]
        y = float(hit[column].iloc[0]) / (base if relative and base else 1.0)
        return [
            {
                "name": f"chosen: {chosen['name']}, k={chosen['k']}",
                "x": [int(chosen["k"])],
                "y": [y],
                "symbol": "circle-open",
            }
        ]

    def hline(key: str, label: str) -> list[dict[str, Any]]:
        return [{"y": float(thresholds[key]), "label": label}] if key in thresholds else []

    def panel(title: str, ylabel: str, column: str, threshold: str | None = None) -> dict[str, Any]:
        return {
            "title": title,
            "xlabel": "number of segments k",
            "ylabel": ylabel,
            "series": series(column),
            "markers": chosen_marker(column),
            **({"hlines": hline(threshold, "minimum")} if threshold else {}),
        }

    return {
        "elbow": {
            "kind": "lines",
            "title": "Elbow: inertia in each variant's own space, relative to the smallest k",
            "panels": [
                {
                    "title": "",
                    "xlabel": "number of segments k",
                    "ylabel": "relative inertia",
                    "series": series("inertia_own", relative=True),
                    "markers": chosen_marker("inertia_own", relative=True),
                }
            ],
        },
        "silhouette": {
            "kind": "lines",
            "title": "Silhouette: own space (not comparable across variants) and common reference space",
            "panels": [
                panel("own space", "silhouette", "silhouette_own"),
                panel("reference space", "silhouette", "silhouette_ref"),
            ],
        },
        "agreement": {
            "kind": "lines",
            "title": "Within the business bounds: agreement of refits, archetype coverage, smallest segment "
            "(dashed: the rule's minimum)",
            "panels": [
                panel("agreement of refits (mean ARI)", "agreement", "agreement", "min_agreement"),
                panel("customers in archetype-named segments", "coverage", "coverage", "min_coverage"),
                panel("smallest segment share", "share of customers", "smallest_segment_share", "min_segment_share"),
            ],
        },
    }


# --- segments --------------------------------------------------------------------------------------------
def segment_map(
    model_input: pd.DataFrame,
    segment_assignments: pd.DataFrame,
    segment_names: pd.DataFrame,
    schema: Schema,
    features: Features,
    evaluation: EvaluationSettings,
    params: Mapping[str, Any],
) -> pd.DataFrame:
    """2-D PCA of the common reference space, for a seeded sample of customers, with segment names."""
    roles, groups = feature_space(schema, features)
    spec = {**evaluation.reference_space, "pca": 2}
    random_state = evaluation.random_state
    id_column = schema.id_column
    frame = model_input.merge(segment_assignments[[id_column, SEGMENT]], on=id_column, how="inner")
    coords = build_preprocessor(spec, roles, groups, random_state).fit_transform(frame)
    names = dict(zip(segment_names[SEGMENT], segment_names["name"], strict=True))
    points = pd.DataFrame(coords, columns=list(MAP_COLUMNS))
    points["segment_name"] = frame[SEGMENT].map(names).to_numpy()
    max_points = int(params["map_max_points"])
    if len(points) > max_points:
        points = points.sample(n=max_points, random_state=random_state)
    return points.reset_index(drop=True)


def segment_figures(
    segment_profiles: pd.DataFrame,
    segment_names: pd.DataFrame,
    segment_map_points: pd.DataFrame,
    labels: Mapping[str, str],
    params: Mapping[str, Any],
) -> dict[str, dict[str, Any]]:
    """Segment sizes, the z-score profile heatmap, a snake plot and the PCA map, by segment name."""
    names = dict(zip(segment_names[SEGMENT], segment_names["name"], strict=True))
    ordered = [names[s] for s in segment_profiles[SEGMENT]]
    z = profile_matrix(segment_profiles, "z")
    heat_features = [f for f in params["heatmap_features"] if f in z.columns] or list(z.columns)
    snake_features = [f for f in params["snake_features"] if f in z.columns] or heat_features
    clip = float(params["z_clip"])
    heat = z[heat_features].clip(-clip, clip).round(2)
    return {
        "segment_sizes": {
            "kind": "bars",
            "title": "Segment sizes (share of customers)",
            "categories": ordered,
            "values": _floats(segment_profiles[SHARE]),
            "value_label": "share of customers",
            "percent": True,
            "colour_by_category": True,
        },
        "profile_heatmap": {
            "kind": "heatmap",
            "title": f"Segment profiles: mean vs portfolio in standard deviations (clipped at ±{clip:g})",
            "rows": ordered,
            "columns": [feature_label(f, labels) for f in heat_features],
            "values": heat.to_numpy().tolist(),
            "zmin": -clip,
            "zmax": clip,
            "diverging": True,
            "annotate": True,
            "value_label": "z-score",
        },
        "snake_plot": {
            "kind": "lines",
            "title": "Snake plot: each segment's profile (z-score of its mean vs the portfolio)",
            "panels": [
                {
                    "title": "",
                    "xlabel": "",
                    "ylabel": "z-score",
                    "categorical_x": True,
                    "series": [
                        {
                            "name": names[seg],
                            "x": [feature_label(f, labels) for f in snake_features],
                            "y": _floats(z.loc[seg, snake_features].clip(-clip, clip)),
                        }
                        for seg in segment_profiles[SEGMENT]
                    ],
                    "hlines": [{"y": 0.0, "label": "portfolio"}],
                }
            ],
        },
        "segment_map": {
            "kind": "scatter",
            "title": f"Segment map: 2-D PCA of the reference space ({len(segment_map_points):,} customers)",
            "xlabel": "principal component 1",
            "ylabel": "principal component 2",
            "groups": [
                {"name": name, "x": _floats(part["x"].round(3)), "y": _floats(part["y"].round(3))}
                for name in ordered
                for part in [segment_map_points[segment_map_points["segment_name"] == name]]
            ],
        },
    }
