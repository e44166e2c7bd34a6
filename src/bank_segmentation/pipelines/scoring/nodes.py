"""Scoring nodes: segment names for scored customers and drift against the training population."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from bank_segmentation import tracking
from bank_segmentation.spreadsheet import spreadsheet_safe

logger = logging.getLogger(__name__)


def population_stability_index(expected: np.ndarray, actual: np.ndarray, bins: int, eps: float) -> float:
    """PSI of ``actual`` against ``expected``, on the expected population's quantile bins."""
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    expected_share = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1)
    actual_share = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1)
    expected_share = np.clip(expected_share / max(len(expected), 1), eps, None)
    actual_share = np.clip(actual_share / max(len(actual), 1), eps, None)
    return float(np.sum((actual_share - expected_share) * np.log(actual_share / expected_share)))


def _drift_level(psi: float, thresholds: dict[str, float]) -> str:
    """stable / moderate / major, from the PSI thresholds in parameters."""
    if psi >= thresholds["major"]:
        return "major"
    return "moderate" if psi >= thresholds["moderate"] else "stable"


def _segment_share_shift(training_assignments: pd.DataFrame, scored: pd.DataFrame) -> list[dict[str, Any]]:
    """Share of every segment among training and scored customers, and the shift between them."""
    training_share = training_assignments["segment"].value_counts(normalize=True)
    scored_share = scored["segment"].value_counts(normalize=True)
    segments = sorted(set(training_share.index) | set(scored_share.index))
    return [
        {
            "segment": int(seg),
            "training_share": round(float(training_share.get(seg, 0.0)), 6),
            "scored_share": round(float(scored_share.get(seg, 0.0)), 6),
            "shift": round(float(scored_share.get(seg, 0.0) - training_share.get(seg, 0.0)), 6),
        }
        for seg in segments
    ]


def measure_drift(
    training_input: pd.DataFrame,
    scoring_input: pd.DataFrame,
    training_assignments: pd.DataFrame,
    scored_assignments: pd.DataFrame,
    schema: dict[str, Any],
    drift: dict[str, Any],
) -> dict[str, Any]:
    """PSI per model-input feature and the shift in segment shares, scored vs training customers."""
    columns = [col for col in training_input.columns if col != schema["id_column"]]
    psi = {
        col: round(
            population_stability_index(
                training_input[col].to_numpy(),
                scoring_input[col].to_numpy(),
                drift["bins"],
                drift["epsilon"],
            ),
            6,
        )
        for col in columns
    }
    shifts = _segment_share_shift(training_assignments, scored_assignments)
    worst = max(psi, key=psi.get)
    report = {
        "n_training": len(training_input),
        "n_scored": len(scoring_input),
        "psi_thresholds": drift["psi_thresholds"],
        "features": {
            col: {"psi": value, "level": _drift_level(value, drift["psi_thresholds"])} for col, value in psi.items()
        },
        "max_psi": {"feature": worst, "psi": psi[worst]},
        "segment_shares": shifts,
        "max_share_shift": max(abs(row["shift"]) for row in shifts),
    }
    logger.info(
        "Drift: max PSI %.3f (%s, %s); largest segment-share shift %.1f pp",
        psi[worst],
        worst,
        _drift_level(psi[worst], drift["psi_thresholds"]),
        100 * report["max_share_shift"],
    )
    return report


def export_scored_customers(scored_assignments: pd.DataFrame, segment_names: pd.DataFrame) -> pd.DataFrame:
    """Scored customers with their segment's name, safe to open in a spreadsheet."""
    names = segment_names[["segment", "name"]].rename(columns={"name": "segment_name"})
    named = scored_assignments.merge(names, on="segment", how="left", validate="many_to_one")
    first = list(scored_assignments.columns[:2]) + ["segment_name"]
    return spreadsheet_safe(named[first + [col for col in named.columns if col not in first]])


def log_drift_metrics(drift_report: dict[str, Any]) -> None:
    """Log the drift figures (aggregates only) on the run's MLflow parent run."""
    metrics = {f"psi.{col}": row["psi"] for col, row in drift_report["features"].items()}
    metrics["psi.max"] = drift_report["max_psi"]["psi"]
    metrics["segment_share_shift.max"] = drift_report["max_share_shift"]
    tracking.log_to_parent(metrics=metrics, tags={"stage": "scoring"})
