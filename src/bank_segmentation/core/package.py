"""The segmentation package: the fitted model with everything scoring needs from the same run.

Scoring used to combine the newest model with a separate names table, so a model of one run could be labelled
with another run's names. The package binds them: built once per run after the segments are named, it holds
the model, each segment's name, archetype and recommended action, the segment shares and the distances of the
training customers to their centres (to flag new customers outside what training saw). Published as one
checksummed file, it cannot be mismatched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

SEGMENT = "segment"
DISTANCE = "distance_to_centroid"
SEGMENT_COLUMNS = ["segment", "name", "archetype", "match", "recommended_action", "channel", "training_share"]


def build_package(
    model: Any, segment_names: pd.DataFrame, segment_catalogue: Mapping[str, Any], assignments: pd.DataFrame
) -> dict[str, Any]:
    """The model, its segments (names, actions, shares) and the sorted training distances of every segment."""
    playbook = {
        seg["id"]: (seg["recommendations"]["campaign_action"], seg["recommendations"]["channel"])
        for seg in segment_catalogue["segments"]
    }
    shares = assignments[SEGMENT].value_counts(normalize=True)
    segments = pd.DataFrame(
        {
            "segment": segment_names[SEGMENT].astype(int),
            "name": segment_names["name"],
            "archetype": segment_names["archetype"],
            "match": segment_names["match"],
            "recommended_action": [playbook[s][0] for s in segment_names[SEGMENT]],
            "channel": [playbook[s][1] for s in segment_names[SEGMENT]],
            "training_share": [float(shares.get(s, 0.0)) for s in segment_names[SEGMENT]],
        },
        columns=SEGMENT_COLUMNS,
    )
    distances = {
        int(segment): np.sort(group.to_numpy(dtype=float)) for segment, group in assignments.groupby(SEGMENT)[DISTANCE]
    }
    return {"model": model, "segments": segments, "training_distances": distances}


def distance_thresholds(package: Mapping[str, Any], outside_training: Mapping[str, Any]) -> pd.Series:
    """Per segment, the distance to its centre beyond which a customer lies outside what training saw."""
    return pd.Series(
        {
            segment: outside_training["factor"] * float(np.quantile(values, outside_training["quantile"]))
            for segment, values in package["training_distances"].items()
        },
        dtype=float,
    )


def training_percentile(package: Mapping[str, Any], scored: pd.DataFrame) -> pd.Series:
    """Share (%) of the segment's training customers at most as far from its centre as each scored customer."""
    percentile = pd.Series(100.0, index=scored.index)
    for segment, rows in scored.groupby(SEGMENT).groups.items():
        reference = package["training_distances"].get(int(segment))
        if reference is not None and len(reference):
            below = np.searchsorted(reference, scored.loc[rows, DISTANCE].to_numpy(), side="right")
            percentile.loc[rows] = 100 * below / len(reference)
    return percentile.round(2)


def training_shares(package: Mapping[str, Any]) -> pd.Series:
    """Share of the training customers in every segment."""
    segments = package["segments"]
    return pd.Series(segments["training_share"].to_numpy(), index=segments[SEGMENT].to_numpy())
