"""What a run tells the terminal: one line per stage with its time, what it found, and where to look next.

Everything else Kedro, MLflow and the nodes log goes to ``info.log`` (``conf/logging.yml``): the terminal gets
this logger's lines, warnings and errors, and the progress bars of the long loops.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from bank_segmentation.core.preprocessing import as_list
from bank_segmentation.framework import tracking
from bank_segmentation.framework.parameters import in_project
from bank_segmentation.framework.runs import FILEPATH, MODEL_INFO, VERSIONED, PublishedSet, file_config

STORY_LOGGER = "bank_segmentation.story"
logger = logging.getLogger(STORY_LOGGER)

# Stages in the order they run; a node belongs to the registered pipeline that holds it.
STAGES = ("demo_data", "data_processing", "clustering", "tuning", "model_choice", "training", "reporting", "scoring")
NAME_WIDTH = 34  # characters of a segment name in the summary table
ACTION_WIDTH = 44
MLFLOW_UI = "uv run mlflow ui --backend-store-uri sqlite:///mlflow.db"
LOCAL_UI = "http://127.0.0.1:5000"  # where `mlflow ui` and `kedro mlflow ui` listen by default
RAW_FOLDER = "data/01_raw/"  # left out of the table's path in a run name
HOW_CHOSEN = {"search": "tuned", "sweep": "swept"}  # the model choice's sources, as a run name says them
# The outputs a user opens next, by catalog name, with their label.
SHOWN_OUTPUTS = {
    "segmentation_report": "Report",
    "campaign_list": "Campaign list",
    "scored_customers": "Scored",
    "scoring_report": "Report",
}


def stage_of_nodes() -> dict[str, str]:
    """The stage (registered pipeline) of every node name; scoring's own copy of the cleaning is scoring's."""
    from kedro.framework.project import pipelines

    stages: dict[str, str] = {}
    for stage in STAGES:
        if stage in pipelines:
            stages.update({node.name: stage for node in pipelines[stage].nodes})
    return stages


def data_line(quality: Mapping[str, Any]) -> str:
    """Rows in, kept, quarantined; values repaired and imputed."""
    repaired = sum(quality.get("repairs", {}).values())
    line = (
        f"Data: {in_project(str(quality.get('source', '?')))}: {quality['rows_in']:,} rows in, "
        f"{quality['rows_kept']:,} kept, {quality['rows_quarantined']:,} quarantined, {repaired:,} values repaired"
    )
    if "imputed" not in quality:
        return line
    return line + f", {sum(sum(counts.values()) for counts in quality['imputed'].values()):,} imputed"


def model_line(selection: Mapping[str, Any]) -> str:
    """The shipped model in one line: k, where it came from, its preprocessing, agreement and coverage."""
    chosen = selection["chosen"]
    metrics = chosen.get("metrics") or {}
    measured = [
        f"{label} {metrics[key]:{spec}}"
        for key, label, spec in (("agreement", "agreement", ".2f"), ("coverage", "in named segments", ".0%"))
        if metrics.get(key) is not None
    ]
    spec = chosen.get("spec") or {}
    features = ", ".join(spec.get("groups") or []) or ", ".join(map(str, as_list(spec.get("columns")))) or "raw columns"
    return f"Model: {chosen['k']} segments, {chosen['id']}, on {features} ({chosen.get('steps', '')}); " + ", ".join(
        measured
    )


def segment_table(catalogue: Mapping[str, Any]) -> list[str]:
    """Name, share and first action of every segment, as fixed-width lines."""
    lines = [f"  {'segment':<{NAME_WIDTH}} {'share':>6}  first action"]
    for segment in catalogue["segments"]:
        name, action = (
            _clip(segment["name"], NAME_WIDTH),
            _clip(segment["recommendations"]["campaign_action"], ACTION_WIDTH),
        )
        lines.append(f"  {name:<{NAME_WIDTH}} {segment['share']:>6.1%}  {action}")
    return lines


def run_name(pipeline: str, table: str, selection: Mapping[str, Any] | None) -> str:
    """The MLflow parent run's name, e.g. ``default · tuned k=7 · customers.csv``."""
    parts = [pipeline]
    if selection is not None:
        chosen = selection["chosen"]
        how = "pinned" if selection.get("mode") == "pinned" else HOW_CHOSEN.get(chosen.get("source"), "chosen")
        parts.append(f"{how} k={chosen['k']}")
    return " · ".join([*parts, table])


def compare_runs_lines(parent: tracking.ParentRun | None) -> list[str]:
    """How to open this run's experiment on its runs table: the command for a local store, then the link."""
    if parent is None:
        return [f"{'Compare runs:':<15}{MLFLOW_UI}"]
    remote = parent.tracking_uri.startswith(("http://", "https://"))
    link = (
        f"{parent.tracking_uri.rstrip('/') if remote else LOCAL_UI}/{tracking.runs_table_route(parent.experiment_id)}"
    )
    if remote:
        return [f"{'Compare runs:':<15}{link}"]
    return [f"{'Compare runs:':<15}{MLFLOW_UI}", f"{'':<15}then open {link}"]


def migration_lines(migration: Mapping[str, Any] | None) -> list[str]:
    """Who moved since the customers were last segmented, and the watched moves with customers in them."""
    if not migration:
        return []
    counts = migration["counts"]
    since = {"training": "training", "scoring": "the previous scoring"}.get(migration["previous_source"], "ever")
    lines = [
        f"Since {since}: {counts['stayed']:,} stayed, {counts['moved']:,} moved ({migration['moved_share']:.1%}), "
        f"{counts['new']:,} new, {counts['left']:,} left, {counts['rejected']:,} rejected."
    ]
    lines += [f"  {rule['name']}: {rule['customers']:,}" for rule in migration["watched"] if rule["customers"]]
    return lines


def served_model_lines(registered: Mapping[str, Any] | None) -> list[str]:
    """Where the run's served model is registered (nothing when tracking or registering is off)."""
    if not registered:
        return []
    uri = f"models:/{registered['name']}" + (f"@{registered['alias']}" if registered.get("alias") else "")
    return [f"{'Served model:':<15}{uri} (version {registered['version']})"]


def description(lines: list[str]) -> str:
    """The run's story as the Markdown of its MLflow description."""
    return "\n".join(["```", *lines, "```"])


def _file(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The part of a catalog entry that names its file (``runs.file_config``); empty for a memory dataset."""
    return (file_config(config) if config else None) or {}


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class RunStoryHook:
    """Logs the run's story on ``bank_segmentation.story``: stages with their times, then what was found."""

    def __init__(self) -> None:
        self._stages: dict[str, str] = {}
        self._left: dict[str, int] = {}
        self._seconds: dict[str, float] = {}
        self._started = 0.0
        self._paths: dict[str, str] = {}
        self._found: dict[str, Any] = {}
        self._pipeline = "default"
        self._table = ""
        self._parent: tracking.ParentRun | None = None
        self._project = Path.cwd()

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        self._project = Path(context.project_path)

    @hook_impl(tryfirst=True)  # before the run's outputs are redirected to its own folder: the documented paths
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        stages = stage_of_nodes()
        self._stages = {node.name: stages.get(node.name, "run") for node in pipeline.nodes}
        self._left = {}
        for stage in self._stages.values():
            self._left[stage] = self._left.get(stage, 0) + 1
        self._seconds, self._found, self._parent = {}, {}, None
        self._pipeline = ",".join(run_params.get("pipeline_names") or []) or "default"
        configs = catalog.to_config()[0]
        self._table = Path(_file(configs.get("customers_raw")).get(FILEPATH) or "").name
        published = catalog.load("params:publish") if "params:publish" in catalog else {}
        paths = {}
        for name in SHOWN_OUTPUTS:
            # an MLflow artifact dataset's own config no longer says its file: the catalog's entry does
            file = _file(catalog.config_resolver.resolve_pattern(name))
            # a versioned dataset is published to its `publish` path; any other is found at its own
            paths[name] = published[name]["path"] if name in published and file.get(VERSIONED) else file.get(FILEPATH)
        self._paths = {name: in_project(path) for name, path in paths.items() if path}

    @hook_impl
    def before_node_run(self, node: Any) -> None:
        if self._parent is None and (parent := tracking.parent_run()) is not None:  # kedro-mlflow's run is open
            self._parent = parent
            tracking.mark_model_training_experiment(parent)
            self._name_run(None)
        self._started = time.perf_counter()

    def _name_run(self, selection: Mapping[str, Any] | None) -> None:
        if self._parent is not None:
            tracking.log_to_parent(
                tags={tracking.RUN_NAME_TAG: run_name(self._pipeline, self._table, selection)}, parent=self._parent
            )

    @hook_impl
    def after_node_run(self, node: Any, outputs: dict[str, Any]) -> None:
        if "scoring_validation_report" in outputs:  # the customers to score (imputation is not counted there)
            logger.info(data_line(outputs["scoring_validation_report"]))
        if "data_quality" in outputs:
            logger.info(data_line(outputs["data_quality"]))
            self._table = in_project(str(outputs["data_quality"].get("source", ""))).removeprefix(RAW_FOLDER)
            self._name_run(None)
        if "model_selection" in outputs:
            logger.info(model_line(outputs["model_selection"]))
            self._name_run(outputs["model_selection"])
        for name in ("segment_catalogue", "drift_report", "segment_migration"):
            if name in outputs:
                self._found[name] = outputs[name]
        # Kedro interleaves the stages' nodes: a stage's time is the sum of its nodes' times
        stage = self._stages.get(node.name, "run")
        self._seconds[stage] = self._seconds.get(stage, 0.0) + time.perf_counter() - self._started
        self._left[stage] = self._left.get(stage, 1) - 1
        if self._left[stage] == 0:
            logger.info("✓ %-16s %6.1f s", stage.replace("_", " "), self._seconds[stage])

    @hook_impl(trylast=True)  # after publishing: the paths below hold this run's outputs
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        lines = []
        catalogue = self._found.get("segment_catalogue")
        if catalogue is not None:
            lines += ["", f"{len(catalogue['segments'])} segments of {catalogue['customers']:,} customers:"]
            lines += [*segment_table(catalogue), ""]
        drift = self._found.get("drift_report")  # counted by either engine, unlike the scored customers' rows
        if drift is not None:
            scored, outside = drift["n_scored"], drift["outside_training"]["n_flagged"]
            lines += ["", f"Scored {scored:,} customers, {outside:,} outside what the model was trained on."]
            lines += [*migration_lines(self._found.get("segment_migration")), ""]
        if not lines:
            return
        produced = set(pipeline.all_outputs())
        shown = [name for name in SHOWN_OUTPUTS if name in produced and name in self._paths]
        lines += [f"{SHOWN_OUTPUTS[name] + ':':<15}{self._paths[name]}" for name in shown]
        if MODEL_INFO in produced:
            lines += served_model_lines(PublishedSet.load(self._project).registered_model)
        lines += compare_runs_lines(self._parent)
        for line in lines:
            logger.info(line)
        if self._parent is not None:  # the run is closed by now: its description is set through the client
            tracking.log_to_parent(tags={tracking.DESCRIPTION_TAG: description(lines)}, parent=self._parent)
