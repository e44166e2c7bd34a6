"""The exploration notebook runs against the outputs of a fresh pipeline run (it never goes stale)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import NoSuchKernel
from nbclient import NotebookClient

from tests.pipelines.reporting.conftest import PIPELINES, REPORTING, SMALL_SWEEP

TEXT_TYPES = ("text/plain", "text/html")
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_explore_segments.ipynb"


def _text(outputs: list) -> str:
    """Every plain-text output of a cell."""
    return "".join(out.get("text", "") + out.get("data", {}).get("text/plain", "") for out in outputs)


@pytest.mark.slow
def test_exploration_notebook_runs_on_the_latest_outputs(run_pipeline, project_copy: Path):
    run_pipeline(PIPELINES, SMALL_SWEEP)
    folder = project_copy / "notebooks"
    folder.mkdir()
    shutil.copy(NOTEBOOK, folder / NOTEBOOK.name)
    notebook = nbformat.read(folder / NOTEBOOK.name, as_version=4)
    assert not any(cell.get("outputs") for cell in notebook.cells), "commit the notebook clean"

    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    try:
        client.execute()  # a failing cell raises CellExecutionError: a real failure
    except (NoSuchKernel, RuntimeError) as exc:
        if any(cell.get("execution_count") for cell in notebook.cells):
            raise  # the kernel started and died while running the notebook
        pytest.skip(f"cannot start a python3 Jupyter kernel here: {exc!r}")

    catalogue = json.loads((project_copy / REPORTING / "segments.json").read_text())
    shown = _text([out for cell in notebook.cells for out in cell.get("outputs", [])])
    missing = [seg["name"] for seg in catalogue["segments"] if seg["name"] not in shown]
    assert not missing, f"segments not shown by the notebook: {missing}"
