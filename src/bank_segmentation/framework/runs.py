"""Every run an island: a run writes only its own files, reads only its own or the published ones, and makes
its outputs current all together, or not at all.

* **Own files.** Every file dataset a ``kedro run`` produces is saved under ``data/runs/<save version>/``
  (a versioned dataset in its own ``<version>`` folder) and read back from there by the run's later nodes,
  never from "the newest on disk": two runs in one project at once each see only their own outputs.
* **The published set.** ``data/published.json`` names, for every dataset a successful run published, the
  file that run wrote and its SHA-256. A dataset a run only reads (scoring reads the model, the imputer,
  the segment names) comes from that set, after its checksum is verified: a file dropped in a versions
  folder, or changed after publication, is never loaded.
* **Publishing, whole or not at all.** When the whole run has succeeded: copies of its outputs are staged
  beside their documented paths, its MLflow model is registered, then the manifest is replaced in one
  atomic rename (the switch), then the staged copies are moved in place. If a step before the switch fails,
  the staged copies and the registered model version are removed, the previous set stays published, and
  the MLflow run is marked FAILED.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.framework.context import KedroContext
from kedro.framework.hooks import hook_impl
from kedro.io import AbstractDataset

from bank_segmentation.core.errors import SegmentationError
from bank_segmentation.framework import tracking
from bank_segmentation.framework.locking import exclusive_file_lock
from bank_segmentation.framework.quiet import quiet_logger

logger = logging.getLogger(__name__)

RUNS_DIR = Path("data") / "runs"
MANIFEST = Path("data") / "published.json"
PUBLISH_LOCK = Path("data") / ".publish.lock"  # held while a run publishes
PREVIOUS = "previous_"  # an input named previous_<name> reads the published <name>, never the run's own
PUBLISHED_MARK, FAILED_MARK = ".published", ".failed"
FILEPATH, VERSIONED, NESTED = "filepath", "versioned", "dataset"
KEDRO_CATALOG_LOGGER = "kedro.io.data_catalog"


class PublishedSetError(SegmentationError):
    """The published set cannot be trusted: a file changed after publication, or the manifest is damaged."""


class PublishError(SegmentationError):
    """Publishing a successful run failed; the previous set stays published."""


# --- the manifest ------------------------------------------------------------------------------------
@dataclass
class PublishedSet:
    """What ``data/published.json`` records: the run that published each dataset, its file and checksum."""

    datasets: dict[str, dict[str, str]] = field(default_factory=dict)
    version: str | None = None
    published_at: str | None = None
    mlflow_run_id: str | None = None
    registered_model: dict[str, Any] | None = None

    @classmethod
    def load(cls, project: Path) -> PublishedSet:
        """The published set of ``project`` (empty when nothing was ever published)."""
        path = project / MANIFEST
        if not path.exists():
            return cls()
        try:
            content = json.loads(path.read_text())
            return cls(
                **{k: content.get(k) for k in ("version", "published_at", "mlflow_run_id", "registered_model")},
                datasets=dict(content["datasets"]),
            )
        except (ValueError, KeyError, TypeError) as error:
            raise PublishedSetError(
                f"{path} is damaged ({error}). It records which run's outputs are current; restore it from a "
                "backup, or delete it and rerun `kedro run` to publish a new set"
            ) from error

    def save(self, project: Path) -> None:
        """Replace the manifest in one atomic rename: the switch of the published set."""
        path = project / MANIFEST
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.{self.version}")
        content = {
            "version": self.version,
            "published_at": self.published_at,
            "mlflow_run_id": self.mlflow_run_id,
            "registered_model": self.registered_model,
            "datasets": dict(sorted(self.datasets.items())),
        }
        staging.write_text(json.dumps(content, indent=2))
        os.replace(staging, path)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes; of a folder (Spark's partitioned outputs), of its files' names and bytes."""
    digest = hashlib.sha256()
    if path.is_dir():
        for part in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(f"{part.relative_to(path).as_posix()}\0{sha256(part)}\n".encode())
        return digest.hexdigest()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():  # a Spark folder can hold gigabytes: its files are linked, as nothing rewrites them
        shutil.copytree(source, target, copy_function=_link_or_copy)
    else:
        shutil.copyfile(source, target)


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:  # another file system
        shutil.copy2(source, target)


def _move_into_place(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging``: one rename for a file; for a folder, the old one is moved aside first."""
    if staging.is_dir() and target.exists():
        aside = target.with_name(f".{target.name}.replaced")
        os.replace(target, aside)
        os.replace(staging, target)
        _remove(aside)
    else:
        os.replace(staging, target)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# --- dataset configurations --------------------------------------------------------------------------
def file_config(config: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The part of a dataset configuration that holds its file (the wrapped dataset of an MLflow artifact)."""
    if isinstance(config.get(NESTED), Mapping) and FILEPATH in config[NESTED]:
        return config[NESTED]
    return config if FILEPATH in config else None


def _with_file(config: Mapping[str, Any], filepath: str, versioned: bool) -> dict[str, Any]:
    """A copy of ``config`` reading and writing ``filepath`` (versioned or not)."""
    new = copy.deepcopy(dict(config))
    target = new[NESTED] if isinstance(new.get(NESTED), Mapping) and FILEPATH in new[NESTED] else new
    target[FILEPATH] = filepath
    target.pop(VERSIONED, None)
    if versioned:
        target[VERSIONED] = True
    return new


@dataclass(frozen=True)
class FileDataset:
    """A file dataset of the catalog: its configuration, documented path and whether it is versioned."""

    name: str
    config: Mapping[str, Any]
    path: Path
    versioned: bool

    def file_of(self, version: str, project: Path) -> Path:
        """The file a run with save ``version`` writes."""
        if self.versioned:
            return self.path / version / self.path.name
        return project / RUNS_DIR / version / _relative(self.path, project)


def _relative(path: Path, project: Path) -> Path:
    try:
        return path.relative_to(project)
    except ValueError:
        return Path(*path.parts[1:])  # a file outside the project keeps its full path under the run folder


def file_datasets(catalog: Any, names: set[str], project: Path) -> dict[str, FileDataset]:
    """The file datasets among ``names`` (memory datasets and parameters are left out)."""
    out = {}
    for name in sorted(names):
        if name.startswith("params:") or name == "parameters" or name not in catalog:
            continue
        config = catalog.config_resolver.resolve_pattern(name)
        inner = file_config(config) if config else None
        if inner is None:
            continue
        path = Path(str(PurePosixPath(str(inner[FILEPATH]))))
        path = path if path.is_absolute() else project / path
        out[name] = FileDataset(name, config, path, bool(inner.get(VERSIONED, False)))
    return out


def _replace(catalog: Any, name: str, config: Mapping[str, Any], load_version: str | None, save_version: str) -> None:
    old = catalog.get(name)
    new = AbstractDataset.from_config(name, dict(config), load_version=load_version, save_version=save_version)
    # PRIVATE API (tests/test_private_api.py): kedro-mlflow's per-dataset switch, set by its public
    # switch_catalog_logging when tracking is off; a re-created dataset must keep it.
    if hasattr(old, "_logging_activated"):
        new._logging_activated = old._logging_activated
    catalog[name] = new


# --- the hook ----------------------------------------------------------------------------------------
class RunIsolationHook:
    """Redirects a run's outputs to its own folder and its other inputs to the published set; publishes."""

    def __init__(self) -> None:
        self._project = Path.cwd()
        self._targets: dict[str, dict[str, Any]] = {}
        self._registered_name: str | None = None
        self._alias: str | None = None
        self._keep_runs = 3
        self._produced: dict[str, FileDataset] = {}
        self._version: str | None = None
        self._owner_tagged = False

    @hook_impl
    def after_context_created(self, context: KedroContext) -> None:
        params = context.config_loader["parameters"]
        self._project = Path(context.project_path)
        self._targets = dict(params.get("publish") or {})
        self._keep_runs = int((params.get("runs") or {}).get("keep", 3))
        model = (params.get("training") or {}).get("mlflow") or {}
        self._registered_name, self._alias = model.get("registered_model_name"), model.get("champion_alias")
        self._produced, self._version, self._owner_tagged = {}, None, False

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        version = catalog.to_config()[3] or run_params["session_id"]
        tracking.close_dead_runs()
        produced = file_datasets(catalog, set(pipeline.all_outputs()), self._project)
        read_only = file_datasets(catalog, set(pipeline.inputs()), self._project)
        published = PublishedSet.load(self._project)
        with quiet_logger(KEDRO_CATALOG_LOGGER):  # Kedro warns on every dataset replaced: here it is the point
            for dataset in produced.values():
                if dataset.versioned:  # its own version folder, and read back from it
                    _replace(catalog, dataset.name, dataset.config, version, version)
                else:
                    path = dataset.file_of(version, self._project)
                    _replace(catalog, dataset.name, _with_file(dataset.config, str(path), False), None, version)
            for dataset in read_only.values():
                entry = published.datasets.get(dataset.name)
                if dataset.name.startswith(PREVIOUS):  # e.g. the memberships a run compares its own with
                    entry = self._previous(dataset.name, published)
                if entry is None:
                    continue  # never published (raw inputs, or a project from before): its documented path
                path = self._project / entry["path"]
                self._verify(dataset.name, path, entry["sha256"])
                _replace(catalog, dataset.name, _with_file(dataset.config, str(path), False), None, version)
        (self._project / RUNS_DIR / version).mkdir(parents=True, exist_ok=True)
        self._produced, self._version = produced, version
        if published.version and read_only.keys() & published.datasets.keys():
            logger.info("reading the published set of run %s", published.version)

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any, inputs: dict[str, Any], is_async: bool) -> None:
        if not self._owner_tagged and self._version is not None:  # the MLflow run exists from here on
            tracking.tag_active_run_owner(self._version)
            self._owner_tagged = True

    @staticmethod
    def _previous(name: str, published: PublishedSet) -> dict[str, Any]:
        """The published entry ``previous_<name>`` reads: that of ``<name>``, as the last good run left it."""
        entry = published.datasets.get(name.removeprefix(PREVIOUS))
        if entry is None:
            raise PublishedSetError(
                f"{name}: no published {name.removeprefix(PREVIOUS)} to compare with (data/published.json); it is "
                "published by `kedro run` since this version of the project. Retrain with `kedro run`"
            )
        return entry

    def _verify(self, name: str, path: Path, expected: str) -> None:
        if not path.exists():
            raise PublishedSetError(f"{name}: the published file {path} is missing (data/published.json)")
        if sha256(path) != expected:
            raise PublishedSetError(
                f"{name}: the published file {path} changed after it was published (its SHA-256 differs from "
                "data/published.json); it is not loaded. Rerun `kedro run` to publish a new set"
            )

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if self._version is None:
            return
        try:
            registry = (self._registered_name, self._alias)
            # one publication at a time: the manifest, the documented copies and the alias name the same run
            with exclusive_file_lock(self._project / PUBLISH_LOCK):
                publish_run(self._project, self._version, self._produced, self._targets, *registry)
        except Exception as error:
            _mark(self._project, self._version, FAILED_MARK)
            tracking.fail_active_run(f"publishing failed: {type(error).__name__}: {error}")
            raise
        _mark(self._project, self._version, PUBLISHED_MARK)
        prune_runs(self._project, self._keep_runs)

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if self._version is not None:
            _mark(self._project, self._version, FAILED_MARK)


def _mark(project: Path, version: str, mark: str) -> None:
    folder = project / RUNS_DIR / version
    if folder.is_dir():
        (folder / mark).touch()


# --- publishing --------------------------------------------------------------------------------------
def publish_run(
    project: Path,
    version: str,
    produced: Mapping[str, FileDataset],
    targets: Mapping[str, Mapping[str, Any]],
    registered_name: str | None,
    alias: str | None = None,
) -> PublishedSet:
    """Make a successful run's outputs the published set: stage, register, switch, move into place.

    The registered model version gets ``alias`` (champion) only here, with the switch: a run that fails
    earlier never moves it, and one that fails while publishing points it back."""
    published = PublishedSet.load(project)
    entries, staged = {}, []
    registered, previous = None, None
    try:
        # registering first: it completes the run's model info file, which is then checksummed and staged
        registered = _register_model(project, version, produced, registered_name)
        for dataset in produced.values():
            source = dataset.file_of(version, project)
            if not source.exists():
                continue  # a dataset saved nowhere (e.g. a plot skipped), nothing to publish
            entries[dataset.name] = {"path": str(_relative(source, project)), "sha256": sha256(source)}
            target = _documented_path(dataset, targets, project)
            if target is not None:
                staging = target.with_name(f".{target.name}.publishing-{version}")
                target.parent.mkdir(parents=True, exist_ok=True)
                _copy(source, staging)
                staged.append((staging, target))
        published.datasets.update(entries)
        published.version = version
        published.published_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        published.mlflow_run_id = tracking.active_run_id()
        if registered is not None:
            if alias:
                previous = tracking.move_alias(registered["name"], alias, registered["version"])
                registered["alias"] = alias
            published.registered_model = registered
        published.save(project)  # the switch
    except Exception as error:
        for staging, _ in staged:
            _remove(staging)
        if registered is not None:
            tracking.delete_model_version(registered["name"], registered["version"])
            if alias:
                tracking.restore_alias(registered["name"], alias, previous)
        raise PublishError(f"run {version} was not published ({type(error).__name__}: {error})") from error
    for staging, target in staged:
        _move_into_place(staging, target)
    for name, target in targets.items():
        if name in entries and target.get("mlflow_artifact_path"):
            tracking.log_artifact(project / target["path"], target["mlflow_artifact_path"])
    logger.info("Published run %s: %d outputs (data/published.json)", version, len(entries))
    return published


def _documented_path(dataset: FileDataset, targets: Mapping[str, Mapping[str, Any]], project: Path) -> Path | None:
    """Where users find a dataset: its catalog path, or for a versioned one its ``publish`` path (if any)."""
    if not dataset.versioned:
        return dataset.path
    target = targets.get(dataset.name)
    return project / target["path"] if target else None


MODEL_INFO = "segmentation_model_mlflow"


def _register_model(
    project: Path, version: str, produced: Mapping[str, FileDataset], registered_name: str | None
) -> dict[str, Any] | None:
    """Register the run's logged MLflow model now that the run succeeded; record the version in its info file."""
    info_dataset = produced.get(MODEL_INFO)
    if info_dataset is None or not registered_name:
        return None
    info_path = info_dataset.file_of(version, project)
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    if not info.get("model_uri"):
        return None  # tracking off or model logging disabled: nothing to register
    registered = tracking.register_model(info["model_uri"], registered_name)
    info.update(registered_model_name=registered["name"], registered_model_version=registered["version"])
    info_path.write_text(json.dumps(info, indent=2))
    return registered


def prune_runs(project: Path, keep: int) -> list[Path]:
    """Delete finished run folders beyond the ``keep`` newest, never the published one or a running one."""
    published = PublishedSet.load(project).version
    runs = project / RUNS_DIR
    finished = (
        sorted(
            (p for p in runs.iterdir() if p.is_dir() and ((p / PUBLISHED_MARK).exists() or (p / FAILED_MARK).exists())),
            key=lambda p: p.name,
            reverse=True,
        )
        if runs.is_dir()
        else []
    )
    pruned = [p for p in finished[keep:] if p.name != published]
    for folder in pruned:
        shutil.rmtree(folder, ignore_errors=True)
    return pruned
