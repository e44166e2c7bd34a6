"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# Pipelines that only run on demand (``kedro run --pipelines <name>``).
ON_DEMAND_PIPELINES = ("demo_data", "scoring")


def register_pipelines() -> dict[str, Pipeline]:
    """Register every pipeline folder; the default run excludes the on-demand ones."""
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(
        (pipe for name, pipe in pipelines.items() if name not in ON_DEMAND_PIPELINES),
        Pipeline([]),
    )
    return pipelines
