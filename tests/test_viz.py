"""kedro-viz: a static build of the project lists every node of every registered pipeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project

REPORTING_LAYER = "reporting"


@pytest.mark.slow
def test_viz_build_lists_every_pipeline_and_node(project_copy: Path):
    bootstrap_project(project_copy)
    registered = {name: {n.name for n in pipe.nodes} for name, pipe in pipelines.items()}
    kedro = Path(sys.executable).with_name("kedro")
    result = subprocess.run(
        [str(kedro), "viz", "build"],
        cwd=project_copy,
        env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    api = project_copy / "build" / "api"
    graph = json.loads((api / "main").read_text())
    assert {p["id"] for p in graph["pipelines"]} == set(registered)
    for name, node_names in registered.items():
        shown = json.loads((api / "pipelines" / name).read_text())
        tasks = {n.get("full_name") or n["name"] for n in shown["nodes"] if n["type"] == "task"}
        missing = node_names - tasks
        assert not missing, f"pipeline {name}: nodes missing from the kedro-viz build: {missing}"

    # Reporting outputs (tables, report, figures) sit in the reporting layer of the graph.
    reporting_data = [
        n
        for n in graph["nodes"]
        if n["type"] == "data" and "reporting" in n["pipelines"] and n["name"].endswith("_figure")
    ]
    assert reporting_data and all(n.get("layer") == REPORTING_LAYER for n in reporting_data)
