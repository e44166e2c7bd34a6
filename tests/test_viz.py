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
    # a segment table to preview, and quarantined customer rows that must not be
    names = project_copy / "data/08_reporting/segment_names.csv"
    names.write_text("segment,name\n0,Dormant Users\n1,Active Transactors\n")
    rejected = project_copy / "data/02_intermediate/rejected_customers.csv"
    rejected.write_text("line,reasons,CUST_ID,BALANCE\n2,non_negative: BALANCE=-5,C10001,-5\n")
    registered = {name: {n.name for n in pipe.nodes} for name, pipe in pipelines.items()}
    kedro = Path(sys.executable).with_name("kedro")
    result = subprocess.run(
        [str(kedro), "viz", "build", "--include-previews"],
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

    # Every stage is a tag; segment tables are previewed, customer rows never (a build can be shared).
    assert {"data_processing", "clustering", "tuning", "model_choice", "training", "reporting"} <= {
        tag["id"] for tag in graph["tags"]
    }
    ids = {n["name"]: n["id"] for n in graph["nodes"] if n["type"] == "data"}
    preview = {name: json.loads((api / "nodes" / ids[name]).read_text()).get("preview") for name in ids}
    assert preview["segment_names"]["data"] == [[0, "Dormant Users"], [1, "Active Transactors"]]
    assert preview["rejected_customers"] is None
