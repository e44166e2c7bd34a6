"""Every run an island: concurrent, killed and failing runs through real `kedro run` processes.

Each test reproduces an attack of issue 12 on a project copy and checks what a user would: every run's
result is its own and complete, a killed or failed run changes nothing that is published, and scoring
loads only the published, checksummed model.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
import types
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from bank_segmentation.framework.runs import MANIFEST, PUBLISHED_MARK, RUNS_DIR, prune_runs
from tests.conftest import BackgroundRun, kedro_command, kedro_run, make_project_copy, mlflow_server, read_output

PINNED = "model_choice.mode=pinned,model_choice.pinned.variant=seed_baseline"
MODEL_DIR = Path("data/06_models/segmentation_model.pkl")
PACKAGE_DIR = Path("data/06_models/segmentation_package.pkl")
CONSOLE = "first_run.stdout"


def pinned(k: int, *extra: str) -> tuple[str, ...]:
    """`kedro run` arguments of a fast run with the seed recipe pinned at ``k`` (no sweep, no search)."""
    return ("--params", ",".join([PINNED, f"model_choice.pinned.k={k}", *extra]))


def published(project: Path) -> dict:
    return json.loads((project / MANIFEST).read_text())


def run_folder(project: Path, version: str) -> Path:
    return project / RUNS_DIR / version


def model_of(project: Path, version: str):
    """The segmentation model a run saved (its own version), loaded as the catalog would."""
    return pickle.loads((project / MODEL_DIR / version / MODEL_DIR.name).read_bytes())


def published_names(project: Path) -> pd.DataFrame:
    return pd.read_csv(project / published(project)["datasets"]["segment_names"]["path"])


@pytest.fixture(scope="module")
def first_published_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project copy after one good run (seed recipe pinned at k=5), made once for the tests that start there."""
    project = make_project_copy(tmp_path_factory.mktemp("first_run") / "project")
    good = kedro_run(project, *pinned(5))
    assert good.returncode == 0, good.stderr[-3000:]
    (project.parent / CONSOLE).write_text(good.stdout)  # what the terminal showed, besides stderr's progress bars
    return project


@pytest.fixture
def published_project(first_published_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own copy of the project after its first good run (a moved project: its store follows)."""
    project = Path(shutil.copytree(first_published_run, tmp_path / "project", symlinks=True))
    monkeypatch.chdir(project)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{project / 'mlflow.db'}")
    return project


def test_concurrent_runs_each_produce_their_own_complete_result(published_project: Path):
    # after a first run (k=5) that created the stores, three runs at once, as a scheduler and two analysts would
    keep_all = "runs.keep=10"  # every run folder stays, to be checked
    runs = [BackgroundRun(published_project, *pinned(k, keep_all)) for k in (4, 6, 7)]
    codes = [run.wait(timeout=900) for run in runs]
    assert codes == [0, 0, 0], [run.output[-2000:] for run in runs]

    runs = sorted(p for p in (published_project / RUNS_DIR).iterdir() if (p / PUBLISHED_MARK).exists())
    assert len(runs) == 4
    seen_k = set()
    for folder in runs:  # each run's own outputs agree with each other
        version = folder.name
        config = yaml.safe_load((folder / "data/06_models/segmentation_config.yml").read_text())
        k = config["k"]
        seen_k.add(k)
        assert model_of(published_project, version).named_steps["segment"].n_clusters == k
        assignments = pd.read_parquet(
            published_project
            / f"data/07_model_output/versions/segment_assignments.parquet/{version}/segment_assignments.parquet"
        )
        assert assignments["segment"].nunique() == k
        assert len(pd.read_csv(folder / "data/08_reporting/segment_names.csv")) == k
        assert len(pd.read_parquet(folder / "data/04_feature/customer_features.parquet")) == 8950
    assert seen_k == {4, 5, 6, 7}

    # the published set is one whole run: model, names, assignments and the documented copies agree
    manifest = published(published_project)
    k = model_of(published_project, manifest["version"]).named_steps["segment"].n_clusters
    assert len(published_names(published_project)) == k
    assert read_output(published_project, "data/07_model_output/segment_assignments.parquet")["segment"].nunique() == k
    catalogue = json.loads((published_project / "data/08_reporting/segments.json").read_text())
    assert len(catalogue["segments"]) == k
    client = MlflowClient(f"sqlite:///{published_project / 'mlflow.db'}")
    champion = client.get_model_version_by_alias("bank-segmentation", "champion")
    assert str(champion.version) == manifest["registered_model"]["version"]  # the served model is that run's


def test_a_killed_run_changes_nothing_that_scoring_uses(published_project: Path):
    before = published(published_project)
    documented = [
        path for path in (published_project / "data").rglob("*") if path.is_file() and "runs" not in path.parts
    ]
    documented = {path: path.read_bytes() for path in documented if "versions" not in path.parts}

    command, env = kedro_command(published_project, *pinned(7))
    run = subprocess.Popen(
        command, cwd=published_project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while len(list((published_project / MODEL_DIR).iterdir())) < 2:  # the k=7 model is saved: training is done
        assert run.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.2)
    os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=60)

    assert published(published_project) == before  # nothing of the killed run is published
    # ... and no file at a documented path changed: profiles, names, figures, data quality, the config
    assert {path: path.read_bytes() for path in documented} == documented
    scoring = kedro_run(published_project, "--pipelines", "scoring")
    assert scoring.returncode == 0, scoring.stderr[-3000:]
    scored = read_output(published_project, "data/07_model_output/scored_customers.csv")
    names = published_names(published_project)
    assert set(scored["segment"]) <= set(names["segment"]) and len(names) == 5
    lookup = dict(zip(names["segment"], names["name"], strict=True))
    assert (scored["segment"].map(lookup) == scored["segment_name"]).all()


def test_scoring_never_loads_a_dropped_or_changed_model(published_project: Path):
    marker = published_project / "payload_ran"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    # a newer-named version folder, as anyone with write access to data/ could drop
    dropped = published_project / PACKAGE_DIR / "9999-12-31T23.59.59.999Z" / PACKAGE_DIR.name
    dropped.parent.mkdir(parents=True)
    dropped.write_bytes(pickle.dumps(Payload()))
    scoring = kedro_run(published_project, "--pipelines", "scoring")
    assert scoring.returncode == 0, scoring.stderr[-3000:]
    assert not marker.exists()

    # the published package itself replaced after publication: refused before it is unpickled
    entry = published(published_project)["datasets"]["segmentation_package"]
    (published_project / entry["path"]).write_bytes(pickle.dumps(Payload()))
    refused = kedro_run(published_project, "--pipelines", "scoring")
    assert refused.returncode == 2
    assert "changed after it was published" in refused.stderr and "segmentation_package" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not marker.exists()


def test_a_model_trained_without_naming_its_segments_is_never_scored_with_other_names(published_project: Path):
    # a partial run: a new model (k=7) is trained and published, its segments are not named
    partial = kedro_run(
        published_project, "--pipelines", "data_processing,clustering,tuning,model_choice,training", *pinned(7)
    )
    assert partial.returncode == 0, partial.stderr[-3000:]
    assert published(published_project)["datasets"]["segmentation_model"]["path"] != good_model_path(published_project)

    scoring = kedro_run(published_project, "--pipelines", "scoring")
    assert scoring.returncode == 0, scoring.stderr[-3000:]
    scored = read_output(published_project, "data/07_model_output/scored_customers.csv")
    package = pickle.loads(
        (published_project / published(published_project)["datasets"]["segmentation_package"]["path"]).read_bytes()
    )
    segments = package["segments"]
    assert package["model"].named_steps["segment"].n_clusters == len(segments) == 5  # model and names together
    lookup = dict(zip(segments["segment"], segments["name"], strict=True))
    assert (scored["segment"].map(lookup) == scored["segment_name"]).all()


def good_model_path(project: Path) -> str:
    """The path of the first published run's model (the package built from it still refers to it)."""
    versions = sorted((project / MODEL_DIR).iterdir())
    return str((versions[0] / MODEL_DIR.name).relative_to(project))


def test_a_run_that_fails_to_publish_leaves_the_previous_set_and_registers_nothing(published_project: Path):
    before = published(published_project)
    report_before = (published_project / "data/08_reporting/segmentation_report.html").read_bytes()
    figures = published_project / "data/08_reporting/figures"
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(figures)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tiny tmpfs to fill the disk while publishing: {mounted.stderr.strip()}")
    try:
        failed = kedro_run(published_project, *pinned(7))
    finally:
        subprocess.run(["umount", str(figures)], check=True)
    assert failed.returncode == 2, failed.stderr[-3000:]
    assert "was not published" in failed.stderr

    assert published(published_project) == before
    assert (published_project / "data/08_reporting/segmentation_report.html").read_bytes() == report_before
    assert not list(published_project.glob("data/**/.*.publishing-*"))  # every staged copy rolled back
    client = MlflowClient(f"sqlite:///{published_project / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("bank-customer-segmentation")
    latest = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1)[0]
    assert latest.info.status == "FAILED" and "publishing failed" in latest.data.tags["error"]
    versions = client.search_model_versions("name='bank-segmentation'")
    assert [str(v.version) for v in versions] == [before["registered_model"]["version"]]
    champion = client.get_model_version_by_alias("bank-segmentation", "champion")
    assert str(champion.version) == before["registered_model"]["version"]  # the alias stayed where it was


def test_old_finished_runs_are_pruned_but_never_the_published_or_a_running_one(tmp_path: Path):
    runs = tmp_path / RUNS_DIR
    for version in (f"2026-01-0{i}" for i in range(1, 7)):
        (runs / version).mkdir(parents=True)
        (runs / version / PUBLISHED_MARK).touch()
    (runs / "2026-01-07").mkdir()  # still running: no mark
    (tmp_path / MANIFEST).write_text(json.dumps({"version": "2026-01-01", "datasets": {}}))
    pruned = prune_runs(tmp_path, keep=3)
    assert sorted(p.name for p in pruned) == ["2026-01-02", "2026-01-03"]
    assert sorted(p.name for p in runs.iterdir()) == [
        "2026-01-01",
        "2026-01-04",
        "2026-01-05",
        "2026-01-06",
        "2026-01-07",
    ]


def test_a_model_saved_before_the_code_moved_is_refused_with_what_to_do(published_project: Path):
    """Published files pickled by an earlier layout of the package name modules that no longer exist."""
    old_module = types.ModuleType("bank_segmentation.imputation")  # where the imputer lived before core/

    CustomerImputer = type("CustomerImputer", (), {"__module__": old_module.__name__})
    old_module.CustomerImputer = CustomerImputer
    sys.modules[old_module.__name__] = old_module
    try:
        stale = pickle.dumps(CustomerImputer())
    finally:
        del sys.modules[old_module.__name__]
    manifest = published(published_project)
    entry = manifest["datasets"]["customer_imputer"]
    (published_project / entry["path"]).write_bytes(stale)
    entry["sha256"] = hashlib.sha256(stale).hexdigest()  # as the earlier version published it
    (published_project / MANIFEST).write_text(json.dumps(manifest))

    scoring = kedro_run(published_project, "--pipelines", "scoring")
    assert scoring.returncode == 2
    assert "Traceback" not in scoring.stdout + scoring.stderr
    assert "customer_imputer was saved by an earlier version of this project" in scoring.stderr
    assert "Retrain with `kedro run`" in scoring.stderr


def test_the_terminal_tells_what_the_run_found_and_where_to_look(first_published_run: Path):
    """The first run's terminal: a line per stage, data quality, then the segments as segments.json has them."""
    console = (first_published_run.parent / CONSOLE).read_text().splitlines()
    assert len(console) <= 40, console
    assert console[0].startswith("Data: data/01_raw/customers.csv: 8,950 rows in, 8,950 kept, 0 quarantined")
    (model,) = [line for line in console if line.startswith("Model: ")]
    assert model.startswith("Model: 5 segments, pinned") and "agreement" in model
    stages = [line[2:19].strip() for line in console if line.startswith("✓ ")]
    assert stages[0] == "data processing" and {"model choice", "training", "reporting"} <= set(stages)
    catalogue = json.loads((first_published_run / "data/08_reporting/segments.json").read_text())
    table = console[console.index(f"{len(catalogue['segments'])} segments of {catalogue['customers']:,} customers:") :]
    rows = table[2 : 2 + len(catalogue["segments"])]
    for row, segment in zip(rows, catalogue["segments"], strict=True):
        assert row.split(f"{segment['share']:.1%}")[0].strip() == segment["name"]
    assert console[-5:] == [
        "Report:        data/08_reporting/segmentation_report.html",
        "Campaign list: data/08_reporting/campaign_list.csv",
        "Served model:  models:/bank-segmentation@champion (version 1)",
        "Compare runs:  uv run mlflow ui --backend-store-uri sqlite:///mlflow.db",
        "               then open http://127.0.0.1:5000/#/experiments/1/runs?workflowType=machine_learning",
    ]


def test_mlflow_opens_on_the_experiments_runs_named_for_what_ran(first_published_run: Path, tmp_path: Path):
    """What the MLflow UI reads, through the REST API of a real server over the first run's store."""
    store = tmp_path / "mlflow.db"
    shutil.copy(first_published_run / "mlflow.db", store)
    with mlflow_server(store) as base:
        query = urllib.parse.urlencode({"experiment_name": "bank-customer-segmentation"})
        with urllib.request.urlopen(f"{base}/api/2.0/mlflow/experiments/get-by-name?{query}", timeout=30) as answer:
            experiment = json.load(answer)["experiment"]
        search = json.dumps({"experiment_ids": [experiment["experiment_id"]]}).encode()
        request = urllib.request.Request(
            f"{base}/api/2.0/mlflow/runs/search", data=search, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            (run,) = json.load(answer)["runs"]
    assert {tag["key"]: tag["value"] for tag in experiment["tags"]}["mlflow.experimentKind"] == (
        "custom_model_development"  # the UI opens the runs table, not the GenAI view
    )
    assert run["info"]["run_name"] == "default · pinned k=5 · customers.csv"
    tags = {tag["key"]: tag["value"] for tag in run["data"]["tags"]}
    catalogue = json.loads((first_published_run / "data/08_reporting/segments.json").read_text())
    assert f"{len(catalogue['segments'])} segments of 8,950 customers:" in tags["mlflow.note.content"]
    assert all(segment["name"] in tags["mlflow.note.content"] for segment in catalogue["segments"])
