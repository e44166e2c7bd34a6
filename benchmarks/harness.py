"""Measurement helpers of the benchmarks: throw-away project copies, timed child processes, Kedro logs.

A measured command runs as a child process; ``os.wait4`` returns its resource usage (and that of every
process it waited for, e.g. ``uv`` -> ``kedro``), so the numbers are wall time, CPU time (user + system)
and peak resident memory of the command alone, never of this harness.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: its tests' project-copy helper
from tests.workspace import copy_project  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
LOG_FILE = "benchmark_run.log"
# Every log record with a precise timestamp, in a file of the project copy (nothing on the console).
LOGGING_CONFIG = f"""\
version: 1
disable_existing_loggers: False
formatters:
  timed:
    format: "%(created).3f|%(name)s|%(levelname)s|%(message)s"
handlers:
  file:
    class: logging.FileHandler
    level: INFO
    formatter: timed
    filename: {LOG_FILE}
loggers:
  kedro: {{level: INFO}}
  bank_segmentation: {{level: INFO}}
root:
  level: WARNING
  handlers: [file]
"""
QUIET_ENV = {"KEDRO_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "1", "COLUMNS": "200", "TQDM_DISABLE": "1"}
# Python normally caches compiled bytecode (__pycache__). Where PYTHONDONTWRITEBYTECODE is set and the
# environment was installed without compiling it (uv's default), every process compiles every imported
# module again: ~3 s of CPU per `kedro` command here. The benchmark keeps its own cache, outside the
# repository and the virtual environment, unless asked to measure without one.
BYTECODE = {"cache": None}


def use_bytecode_cache(folder: Path | None) -> None:
    """Measure with a bytecode cache in ``folder`` (normal Python behaviour), or with none (``None``)."""
    BYTECODE["cache"] = folder


def python_env() -> dict[str, str]:
    """The environment of every measured process (bytecode cache policy included)."""
    env = {**os.environ, **QUIET_ENV}
    if BYTECODE["cache"] is None:
        # An empty prefix hides any __pycache__ of the environment; nothing is written: every import compiles.
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "bank-seg-bench-no-bytecode-cache")
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(BYTECODE["cache"])
    return env


# --- project copies ----------------------------------------------------------------------------------
def make_project_copy(destination: Path, raw_files: bool = True) -> Path:
    """A fresh copy of the project with the benchmark's timed logging configuration."""
    project = copy_project(REPO_ROOT, destination, raw_files)
    (project / "conf" / "benchmark_logging.yml").write_text(LOGGING_CONFIG)
    return project


def kedro_env(project: Path) -> dict[str, str]:
    """Environment of a measured ``kedro run``: its own MLflow store and the timed log file."""
    return {
        **python_env(),
        "MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}",
        "KEDRO_LOGGING_CONFIG": str(project / "conf" / "benchmark_logging.yml"),
    }


def uv_run(*args: str) -> list[str]:
    """``uv run`` in this repository's environment (works from any working directory)."""
    uv = shutil.which("uv")
    if uv is None:  # already inside the environment (e.g. started without uv): use its interpreter
        return [sys.executable, "-m", args[0], *args[1:]] if args[0] != "python" else [sys.executable, *args[1:]]
    return [uv, "run", "--frozen", "--project", str(REPO_ROOT), *args]


# --- timed processes ---------------------------------------------------------------------------------
@dataclass
class Measured:
    """Wall time, CPU time and peak memory of one child process (and the children it waited for)."""

    wall_seconds: float
    cpu_seconds: float
    peak_rss_mb: float  # the largest single process (os.wait4: max over the process and its waited children)
    peak_tree_rss_mb: float  # the largest sum over the process tree, sampled every 0.1 s (worker processes)
    returncode: int
    started_at: float
    stderr_tail: str = ""
    # the same sum in proportional set size: a page shared by processes (forked workers) is counted once
    peak_tree_pss_mb: float = 0.0


def run_measured(command: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float = 3600) -> Measured:
    """Run ``command`` to completion; wall, CPU (user+sys) and peak RSS from ``os.wait4``."""
    err_path = cwd / "benchmark_stderr.txt"
    with open(err_path, "w") as err, open(cwd / "benchmark_stdout.txt", "w") as out:
        started_at = time.time()
        start = time.perf_counter()
        proc = subprocess.Popen(list(command), cwd=cwd, env=dict(env), stdout=out, stderr=err)
        deadline = start + timeout
        peak_tree = peak_pss = 0.0
        timeline = [("seconds", "tree_rss_mb", "tree_pss_mb", "processes")]
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            rss, pss, processes = tree_memory(proc.pid)
            peak_tree, peak_pss = max(peak_tree, rss), max(peak_pss, pss)
            timeline.append((round(time.perf_counter() - start, 1), round(rss), round(pss), processes))
            time.sleep(0.1)
        wall = time.perf_counter() - start
    # when the memory peaked, and in how many processes (a memory target is read against this, not the peak alone)
    (cwd / "benchmark_memory.csv").write_text("\n".join(",".join(map(str, row)) for row in timeline) + "\n")
    proc.returncode = os.waitstatus_to_exitcode(status)
    tail = err_path.read_text(errors="replace")[-3000:] if proc.returncode else ""
    return Measured(
        wall_seconds=wall,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # Linux reports KiB
        peak_tree_rss_mb=max(peak_tree, usage.ru_maxrss / 1024),
        returncode=proc.returncode,
        started_at=started_at,
        stderr_tail=tail,
        peak_tree_pss_mb=peak_pss,
    )


def tree_memory(root: int) -> tuple[float, float, int]:
    """RSS and PSS (MB) of a process and all its descendants now, and how many processes they are (Linux)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            rss[int(entry.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    total, pss, todo, processes = 0, 0, [root], 0
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        pss += _pss_bytes(pid)
        processes += pid in rss
        todo.extend(children.get(pid, []))
    return total / 1024**2, pss / 1024**2, processes


def _pss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def load_average() -> dict[str, Any]:
    """The machine's load (1/5/15-minute averages) and core count, to read timings against."""
    one, five, fifteen = os.getloadavg()
    return {"load_1m": round(one, 2), "load_5m": round(five, 2), "load_15m": round(fifteen, 2), "cores": os.cpu_count()}


# --- Kedro run logs ----------------------------------------------------------------------------------
@dataclass
class RunTimeline:
    """Where the time of one ``kedro run`` went, read from its timestamped log."""

    startup_seconds: float  # process start -> first node starts (imports, session, catalog, MLflow run)
    imports_seconds: float  # process start -> Kedro configures logging (interpreter, Kedro, CLI plugins)
    session_seconds: float  # logging configured -> first node starts (context, hooks, catalog, MLflow run)
    teardown_seconds: float  # last node done -> process exit (MLflow run closed, hooks)
    nodes: dict[str, float] = field(default_factory=dict)  # node -> load + run + save seconds
    messages: list[str] = field(default_factory=list)


RECORD = re.compile(r"^(\d+\.\d+)\|([^|]*)\|([^|]*)\|(.*)$")


def parse_run_log(log_path: Path, started_at: float, wall_seconds: float) -> RunTimeline:
    """Per-node durations (sequential runner: one node's end to the next one's end) and start-up cost."""
    records = []
    for line in log_path.read_text(errors="replace").splitlines():
        match = RECORD.match(line)
        if match:
            records.append((float(match[1]), match[2], match[3], match[4]))
    if not records:
        raise RuntimeError(f"{log_path} holds no log record: did the run start?")
    first_log = records[0][0]
    runner_start = next((t for t, name, _, _ in records if name.startswith("kedro.runner")), first_log)
    nodes: dict[str, float] = {}
    previous = runner_start
    for t, _, _, message in records:
        if message.startswith("Completed node: "):
            nodes[message.removeprefix("Completed node: ").strip()] = t - previous
            previous = t
    messages = [f"{m}" for _, name, level, m in records if name.startswith("bank_segmentation") or level == "WARNING"]
    return RunTimeline(
        startup_seconds=runner_start - started_at,
        imports_seconds=first_log - started_at,
        session_seconds=runner_start - first_log,
        teardown_seconds=started_at + wall_seconds - previous,
        nodes=nodes,
        messages=messages,
    )


def pipeline_of_nodes() -> dict[str, list[str]]:
    """Node names of every registered pipeline (asked of the project in a separate process)."""
    script = (
        "import json; from kedro.framework.project import configure_project; configure_project('bank_segmentation');"
        "from bank_segmentation.pipeline_registry import register_pipelines;"
        "print(json.dumps({k: [n.name for n in p.nodes] for k, p in register_pipelines().items()}))"
    )
    out = subprocess.run(
        uv_run("python", "-c", script),
        cwd=REPO_ROOT,
        env=python_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def per_pipeline(nodes: Mapping[str, float], membership: Mapping[str, Iterable[str]]) -> dict[str, float]:
    """Seconds per pipeline (a node belongs to the first registered pipeline that holds it)."""
    owner = {}
    for name, members in membership.items():
        if name == "__default__":
            continue
        for node in members:
            owner.setdefault(node, name)
    totals: dict[str, float] = {}
    for node, seconds in nodes.items():
        key = owner.get(node, "other")
        totals[key] = totals.get(key, 0.0) + seconds
    return totals


# --- statistics --------------------------------------------------------------------------------------
def median(values: Iterable[float | None]) -> float | None:
    """Median of the values that are not None (None when there is none)."""
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def median_dict(dicts: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Key-wise median of several dicts of numbers (keys missing in some dicts use the others)."""
    keys = list(dict.fromkeys(k for d in dicts for k in d))
    return {k: median(d.get(k) for d in dicts) for k in keys}


def as_dict(obj: Any) -> Any:
    """A dataclass as a plain dict (for results.json)."""
    return asdict(obj)
