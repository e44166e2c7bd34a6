"""End to end through the real Kedro runner: demo data and the real CC GENERAL table."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from .conftest import PERSONA_ARCHETYPES, PIPELINES, REPORTING, SMALL_SWEEP


def _named_assignments(project: Path) -> pd.DataFrame:
    assignments = pd.read_parquet(project / "data/07_model_output/segment_assignments.parquet")
    catalogue = json.loads((project / REPORTING / "segments.json").read_text())
    names = {seg["id"]: seg["name"] for seg in catalogue["segments"]}
    return assignments.assign(name=assignments["segment"].map(names))


@pytest.mark.slow
def test_demo_segments_are_named_after_their_dominant_persona(run_pipeline, project_copy):
    run_pipeline(PIPELINES, SMALL_SWEEP)

    named = _named_assignments(project_copy)
    personas = pd.read_csv(project_copy / "data/01_raw/customer_personas.csv")
    table = pd.crosstab(named["name"], named.merge(personas, on="CUST_ID")["PERSONA"].to_numpy())
    dominant = table.idxmax(axis=1)
    assert {name: PERSONA_ARCHETYPES[p] for name, p in dominant.items()} == {name: name for name in dominant.index}, (
        table
    )

    campaign = pd.read_csv(project_copy / REPORTING / "campaign_list.csv", dtype=str)
    assert len(campaign) == len(named) and set(campaign["segment_name"]) == set(dominant.index)
    html = (project_copy / REPORTING / "segmentation_report.html").read_text()
    assert all(name.replace("&", "&amp;") in html for name in dominant.index)
    profiles = pd.read_csv(project_copy / REPORTING / "segment_profiles.csv")
    assert len(profiles) == named["segment"].nunique()

    # Segment-level outputs and figures are logged on the run of the kedro session (not on a nested
    # sweep run); customer-level outputs never reach MLflow.
    client = MlflowClient(f"sqlite:///{project_copy / 'mlflow.db'}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    logged = {
        run.info.run_id: {
            item.path for folder in ("reporting", "figures") for item in client.list_artifacts(run.info.run_id, folder)
        }
        for run in client.search_runs(experiments)
    }
    session_runs = [paths for paths in logged.values() if paths]
    assert len(session_runs) == 1
    assert {"reporting/segmentation_report.html", "reporting/segments.json"} <= session_runs[0]
    assert "figures/profile_heatmap.json" in session_runs[0]
    assert not any("campaign" in path or "segment_map" in path for path in session_runs[0])
