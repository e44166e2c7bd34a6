"""Benchmarks: what a run costs, how it scales with customers, and what the framework adds to the science.

    uv run python benchmarks/run.py                          # everything (3 repeats; 10k, 100k, 1M customers)
    uv run python benchmarks/run.py --repeats 1 --sizes 10000 100000 --only startup demo plain
    uv run python benchmarks/run.py --help

Sections (``--only``), each measured as the median over ``--repeats`` fresh processes:
  startup  ``kedro --help`` and ``import mlflow`` alone (the fixed price of every command)
  demo     cold ``uv run kedro run`` of the default pipeline on the shipped demo portfolio, in a fresh copy
           of the project (empty MLflow store, empty Optuna study): wall, CPU, peak memory, per pipeline/node
  plain    the same science as a plain script (benchmarks/plain_science.py): no Kedro, MLflow or report;
           framework overhead = demo / plain
  pinned   cold ``uv run kedro run`` of the default pipeline with the model pinned (model_choice.mode=pinned):
           the sweep and the search skip themselves, so it must be faster than the demo run
  scaling  synthetic portfolios of ``--sizes`` customers (the demo_data pipeline's generate_portfolio):
           data processing + a FIXED configuration (model_choice.mode pinned: no sweep, no search)
           + its metrics + scoring (``--score-share`` of new customers) + reporting, through ``kedro run``
  mlflow   cost of one nested MLflow run (batched log_batch vs one call per value) and of a fresh store
Tuning trials per second come from the demo runs (the tune_segmentation node, MLflow logging included).

Prints a table with every measure beside its target and writes benchmarks/results.json.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import harness
from harness import REPO_ROOT, median, median_dict

SECTIONS = ("startup", "demo", "plain", "pinned", "scaling", "mlflow")
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
SCALING_PIPELINES = "data_processing,clustering,tuning,model_choice,training,reporting,scoring"
# A fixed configuration: the pinned seed recipe; the sweep and the search skip themselves.
FIXED_CONFIGURATION = {
    "model_choice.mode": "pinned",
    "model_choice.pinned.variant": "seed_baseline",
    "model_choice.pinned.k": "7",
}
SCALING_SEED = 20240601
TARGETS = {
    "overhead_ratio": 1.5,  # demo wall time / plain science wall time
    "demo_wall_seconds": 60.0,  # cold `uv run kedro run`, 2 cores
    "pinned_vs_demo": 1.0,  # pinned run wall / demo run wall: a pinned run must be faster
    "million_wall_seconds": 180.0,  # 1M customers end to end, fixed configuration
    "million_peak_mb": 4096.0,
    "linearity_exponent": 1.15,  # t ~ rows^e from 100k to 1M; 1 is linear
}
NESTED_RUNS = 66  # nested runs of the default sweep (6 variants x k 2..12)


# --- sections ----------------------------------------------------------------------------------------
def bench_startup(workdir: Path, repeats: int) -> dict[str, Any]:
    """``kedro --help`` in a project copy, and ``import mlflow`` alone."""
    project = harness.make_project_copy(workdir / "startup", raw_files=False)
    env = harness.kedro_env(project)
    help_runs = [harness.run_measured(harness.uv_run("kedro", "--help"), project, env) for _ in range(repeats)]
    mlflow_runs = [
        harness.run_measured(harness.uv_run("python", "-c", "import mlflow"), project, env) for _ in range(repeats)
    ]
    python_runs = [harness.run_measured(harness.uv_run("python", "-c", "pass"), project, env) for _ in range(repeats)]
    return {
        "kedro_help": _summary(help_runs),
        "import_mlflow": _summary(mlflow_runs),
        "uv_python_noop": _summary(python_runs),
    }


def demo_run(workdir: Path, i: int, membership: Mapping[str, list[str]]) -> dict[str, Any]:
    """One cold ``uv run kedro run`` (default pipeline) in a fresh project copy."""
    run = _kedro_run(harness.make_project_copy(workdir / f"demo-{i}"), [], membership)
    _say(f"demo run {i + 1}: {run['wall_seconds']:.1f} s wall, {run['cpu_seconds']:.1f} s CPU")
    return run


def pinned_run(workdir: Path, i: int, membership: Mapping[str, list[str]]) -> dict[str, Any]:
    """One cold ``uv run kedro run`` with the model pinned (no sweep, no search), in a fresh project copy."""
    params = ",".join(f"{k}={v}" for k, v in FIXED_CONFIGURATION.items())
    run = _kedro_run(harness.make_project_copy(workdir / f"pinned-{i}"), ["--params", params], membership)
    _say(f"pinned run {i + 1}: {run['wall_seconds']:.1f} s wall, {run['cpu_seconds']:.1f} s CPU")
    return run


def plain_run(workdir: Path, i: int) -> dict[str, Any]:
    """One run of the same science as a plain script, in a fresh project copy."""
    project = harness.make_project_copy(workdir / f"plain-{i}")
    timings = project / "plain_timings.json"
    command = harness.uv_run("python", str(REPO_ROOT / "benchmarks" / "plain_science.py"), str(project))
    measured = harness.run_measured([*command, "--timings", str(timings)], project, harness.kedro_env(project))
    _check(measured, "plain science script")
    _say(f"plain run {i + 1}: {measured.wall_seconds:.1f} s wall, {measured.cpu_seconds:.1f} s CPU")
    return {**harness.as_dict(measured), "stages": json.loads(timings.read_text()), "load": harness.load_average()}


def summarise_demo(workdir: Path, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the demo runs, tuning trials per second and MLflow cost per nested sweep run."""
    summary = _summarise_kedro_runs(runs)
    nodes = summary["nodes"]
    sweep_rows = _sweep_rows(workdir / "demo-0")
    trials = _tuning_trials(workdir / "demo-0")
    summary["tuning_trials_per_second"] = (
        trials / nodes["tune_segmentation"] if trials and nodes.get("tune_segmentation") else None
    )
    summary["tuning_trials"] = trials
    summary["mlflow_seconds_per_nested_sweep_run"] = (
        nodes["log_sweep_runs"] / sweep_rows if sweep_rows and nodes.get("log_sweep_runs") else None
    )
    return summary


def summarise_plain(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the plain-script runs."""
    return {
        "runs": runs,
        **{k: median(r[k] for r in runs) for k in ("wall_seconds", "cpu_seconds", "peak_rss_mb", "peak_tree_rss_mb")},
        "stages": median_dict([r["stages"] for r in runs]),
    }


def bench_demo_and_plain(
    workdir: Path, repeats: int, membership: Mapping[str, list[str]], sections: Sequence[str]
) -> dict[str, Any]:
    """Demo and plain runs, interleaved (demo, plain, demo, ...) so that both see the same machine load."""
    demo_runs, plain_runs, pinned_runs = [], [], []
    for i in range(repeats):
        if "demo" in sections:
            demo_runs.append(demo_run(workdir, i, membership))
        if "plain" in sections:
            plain_runs.append(plain_run(workdir, i))
        if "pinned" in sections:
            pinned_runs.append(pinned_run(workdir, i, membership))
    out: dict[str, Any] = {}
    if pinned_runs:
        out["pinned"] = _summarise_kedro_runs(pinned_runs)
    if demo_runs:
        out["demo"] = summarise_demo(workdir, demo_runs)
    if plain_runs:
        out["plain"] = summarise_plain(plain_runs)
    if demo_runs and plain_runs:
        out["overhead"] = {
            "wall_ratio_of_medians": out["demo"]["wall_seconds"] / out["plain"]["wall_seconds"],
            "wall_ratio_median_of_pairs": median(
                d["wall_seconds"] / p["wall_seconds"] for d, p in zip(demo_runs, plain_runs)
            ),
            "cpu_ratio_median_of_pairs": median(
                d["cpu_seconds"] / p["cpu_seconds"] for d, p in zip(demo_runs, plain_runs)
            ),
        }
    return out


def bench_scaling(
    workdir: Path, sizes: Sequence[int], repeats: int, score_share: float, membership: Mapping[str, list[str]]
) -> dict[str, Any]:
    """Data processing + fixed configuration + scoring + reporting on synthetic portfolios of each size."""
    from bank_segmentation.pipelines.demo_data.generator import generate_portfolio

    params = ",".join(f"{k}={v}" for k, v in FIXED_CONFIGURATION.items())
    results = {}
    for n in sizes:
        source = workdir / f"portfolio-{n}"
        source.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        customers, _ = generate_portfolio(n, SCALING_SEED)
        customers.to_csv(source / "customers.csv", index=False)
        n_score = max(100, int(round(score_share * n)))
        to_score, _ = generate_portfolio(n_score, SCALING_SEED + 1, id_start=10 * n + 1)
        to_score.to_csv(source / "customers_to_score.csv", index=False)
        del customers, to_score
        _say(f"{n:,} customers generated in {time.perf_counter() - start:.1f} s (not timed)")
        runs = []
        for i in range(repeats):
            project = harness.make_project_copy(workdir / f"scaling-{n}-{i}", raw_files=False)
            for name in ("customers.csv", "customers_to_score.csv"):
                (project / "data" / "01_raw" / name).symlink_to(source / name)
            runs.append(_kedro_run(project, ["--pipelines", SCALING_PIPELINES, "--params", params], membership))
            _say(
                f"{n:,} customers, run {i + 1}/{repeats}: {runs[-1]['wall_seconds']:.1f} s wall, "
                f"{runs[-1]['peak_rss_mb']:.0f} MB peak"
            )
        results[str(n)] = {"customers": n, "customers_to_score": n_score, **_summarise_kedro_runs(runs)}
    return results


MLFLOW_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
import mlflow
from bank_segmentation.framework import tracking
imported = time.perf_counter() - t0
uri, n = sys.argv[1], int(sys.argv[2])
mlflow.set_tracking_uri(uri)
t0 = time.perf_counter()
mlflow.set_experiment("benchmark")
store = time.perf_counter() - t0
params = {"variant": "log_standard", "steps": "impute=median>log1p[amount,count]>standard", "k": 7, "n_init": 10,
          "seed": 42, "n_rows": 8950, "agreement_refits": 10}
metrics = {f"metric_{i}": 0.1 * i for i in range(14)}
tags = {"stage": "sweep", "variant": "log_standard", "k": 7}
with mlflow.start_run(run_name="parent"):
    parent = tracking.parent_run()
    t0 = time.perf_counter()
    tracking.log_nested_runs([tracking.NestedRun(f"run-{i}", params, metrics, tags) for i in range(n)], parent)
    batched = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for i in range(n):
        with mlflow.start_run(run_name=f"percall-{i}", nested=True):
            for k, v in params.items():
                mlflow.log_param(k, v)
            for k, v in metrics.items():
                mlflow.log_metric(k, v)
            for k, v in tags.items():
                mlflow.set_tag(k, v)
    per_call = (time.perf_counter() - t0) / n
print(json.dumps({"import_seconds": imported, "fresh_store_seconds": store,
                  "batched_seconds_per_run": batched, "per_call_seconds_per_run": per_call}))
"""


def bench_mlflow(workdir: Path, repeats: int) -> dict[str, Any]:
    """Seconds per nested run, logged in one batch (the project's helper) or one call per value."""
    runs = []
    for i in range(repeats):
        folder = workdir / f"mlflow-{i}"
        folder.mkdir(parents=True, exist_ok=True)
        out = subprocess.run(
            harness.uv_run("python", "-c", MLFLOW_SCRIPT, f"sqlite:///{folder / 'mlflow.db'}", str(NESTED_RUNS)),
            cwd=folder,
            env={**harness.kedro_env(folder)},
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"runs": runs, **median_dict(runs), "nested_runs": NESTED_RUNS}


# --- helpers -----------------------------------------------------------------------------------------
def _kedro_run(project: Path, args: Sequence[str], membership: Mapping[str, list[str]]) -> dict[str, Any]:
    measured = harness.run_measured(harness.uv_run("kedro", "run", *args), project, harness.kedro_env(project))
    _check(measured, f"kedro run {' '.join(args)} in {project}")
    timeline = harness.parse_run_log(project / harness.LOG_FILE, measured.started_at, measured.wall_seconds)
    return {
        **harness.as_dict(measured),
        **{k: v for k, v in harness.as_dict(timeline).items() if k != "messages"},
        "pipelines": harness.per_pipeline(timeline.nodes, membership),
        "load": harness.load_average(),
    }


def _summarise_kedro_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("wall_seconds", "cpu_seconds", "peak_rss_mb", "peak_tree_rss_mb", "startup_seconds", "session_seconds")
    return {
        **{k: median(r[k] for r in runs) for k in (*keys, "teardown_seconds")},
        "pipelines": median_dict([r["pipelines"] for r in runs]),
        "nodes": median_dict([r["nodes"] for r in runs]),
        "runs": runs,
    }


def _summary(runs: list[harness.Measured]) -> dict[str, Any]:
    for run in runs:
        _check(run, "start-up command")
    return {
        "wall_seconds": median(r.wall_seconds for r in runs),
        "cpu_seconds": median(r.cpu_seconds for r in runs),
        "peak_rss_mb": median(r.peak_rss_mb for r in runs),
        "runs": [harness.as_dict(r) for r in runs],
    }


def _check(measured: harness.Measured, what: str) -> None:
    if measured.returncode != 0:
        raise SystemExit(f"{what} failed (exit {measured.returncode}):\n{measured.stderr_tail}")


def _sweep_rows(project: Path) -> int | None:
    path = project / "data" / "08_reporting" / "sweep_results.csv"
    return sum(1 for _ in path.open()) - 1 if path.exists() else None


def _tuning_trials(project: Path) -> int | None:
    path = project / "data" / "08_reporting" / "tuning_trials.csv"
    if not path.exists():
        return None
    import pandas as pd

    return len(pd.read_csv(path))


BYTECODE_CACHE = Path.home() / ".cache" / "bank-customer-segmentation" / "benchmark-pycache"


def warm_bytecode_cache() -> Path:
    """Compile the environment and the package once into the benchmark's own bytecode cache."""
    marker = BYTECODE_CACHE / ".complete"
    if not marker.exists():
        _say(f"compiling bytecode into {BYTECODE_CACHE} (once; as `uv sync --compile-bytecode` would)")
        BYTECODE_CACHE.mkdir(parents=True, exist_ok=True)
        harness.use_bytecode_cache(BYTECODE_CACHE)
        site_packages = next((REPO_ROOT / ".venv" / "lib").glob("python*/site-packages"))
        command = harness.uv_run(
            "python", "-m", "compileall", "-q", "-j", "0", str(site_packages), str(REPO_ROOT / "src")
        )
        subprocess.run(command, cwd=REPO_ROOT, env=harness.python_env(), capture_output=True, check=False)
        marker.write_text(time.strftime("%Y-%m-%d %H:%M:%S"))
    return BYTECODE_CACHE


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform()}
    try:
        cpu = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in cpu.splitlines() if "model name" in line)
    except (OSError, StopIteration):
        info["cpu"] = platform.processor()
    try:
        mem_kb = next(
            int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if "MemTotal" in line
        )
        info["memory_gb"] = round(mem_kb / 1024**2, 1)
    except (OSError, StopIteration):
        pass
    info.update(harness.load_average())
    return info


# --- the table ---------------------------------------------------------------------------------------
def verdict(value: float | None, target: float, lower_is_better: bool = True) -> str:
    """'met' or 'MISSED by x%' for a value against its target."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    ok = value <= target if lower_is_better else value >= target
    return "met" if ok else f"MISSED by {100 * (value / target - 1):.0f}%"


def linearity_exponent(t_small: float | None, t_large: float | None, n_small: int, n_large: int) -> float | None:
    """e in t ~ n^e between two sizes (1: linear)."""
    if not t_small or not t_large or n_small == n_large:
        return None
    return math.log(t_large / t_small) / math.log(n_large / n_small)


def build_table(results: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """Rows (measure, value, target, verdict)."""
    rows: list[tuple[str, str, str, str]] = []

    def fmt(v: float | None, unit: str) -> str:
        return "n/a" if v is None else f"{v:,.2f} {unit}".strip()

    startup = results.get("startup")
    if startup:
        rows.append(("`kedro --help` (uv run)", fmt(startup["kedro_help"]["wall_seconds"], "s"), "", ""))
        rows.append(("  CPU", fmt(startup["kedro_help"]["cpu_seconds"], "s"), "", ""))
        rows.append(("`import mlflow` alone", fmt(startup["import_mlflow"]["wall_seconds"], "s"), "", ""))
        rows.append(("`uv run python -c pass`", fmt(startup["uv_python_noop"]["wall_seconds"], "s"), "", ""))
    demo, plain = results.get("demo"), results.get("plain")
    if demo:
        rows.append(
            (
                "demo `kedro run`, cold: wall",
                fmt(demo["wall_seconds"], "s"),
                f"<= {TARGETS['demo_wall_seconds']:.0f} s",
                verdict(demo["wall_seconds"], TARGETS["demo_wall_seconds"]),
            )
        )
        rows.append(("  CPU (user+sys)", fmt(demo["cpu_seconds"], "s"), "", ""))
        rows.append(("  peak memory (process tree)", fmt(_peak(demo), "MB"), "", ""))
        rows.append(("  start-up before the first node", fmt(demo["startup_seconds"], "s"), "", ""))
        for name, seconds in sorted(demo["pipelines"].items(), key=lambda kv: -kv[1]):
            rows.append((f"  pipeline {name}", fmt(seconds, "s"), "", ""))
        rows.append(("  teardown after the last node", fmt(demo["teardown_seconds"], "s"), "", ""))
        rows.append(("tuning trials per second", fmt(demo.get("tuning_trials_per_second"), "/s"), "", ""))
        rows.append(
            (
                "MLflow per nested sweep run (in run)",
                fmt(_ms(demo.get("mlflow_seconds_per_nested_sweep_run")), "ms"),
                "",
                "",
            )
        )
    pinned = results.get("pinned")
    if pinned:
        rows.append(("pinned `kedro run` (no sweep, no search), cold: wall", fmt(pinned["wall_seconds"], "s"), "", ""))
        if demo:
            ratio = pinned["wall_seconds"] / demo["wall_seconds"]
            rows.append(
                (
                    "  pinned / demo wall",
                    f"{ratio:.2f}x",
                    f"< {TARGETS['pinned_vs_demo']:.0f}x",
                    verdict(ratio, TARGETS["pinned_vs_demo"]),
                )
            )
    if plain:
        rows.append(("plain science script: wall", fmt(plain["wall_seconds"], "s"), "", ""))
        rows.append(("  CPU (user+sys)", fmt(plain["cpu_seconds"], "s"), "", ""))
        rows.append(("  peak memory (process tree)", fmt(_peak(plain), "MB"), "", ""))
    overhead = results.get("overhead")
    if demo and plain:
        ratio = overhead["wall_ratio_median_of_pairs"] if overhead else demo["wall_seconds"] / plain["wall_seconds"]
        cpu = overhead["cpu_ratio_median_of_pairs"] if overhead else demo["cpu_seconds"] / plain["cpu_seconds"]
        rows.append(
            (
                "framework overhead (demo / plain, wall, median of interleaved pairs)",
                f"{ratio:.2f}x",
                f"<= {TARGETS['overhead_ratio']}x",
                verdict(ratio, TARGETS["overhead_ratio"]),
            )
        )
        rows.append(("  (CPU time ratio)", f"{cpu:.2f}x", "", ""))
    mlflow_bench = results.get("mlflow")
    if mlflow_bench:
        rows.append(("MLflow nested run, batched", fmt(_ms(mlflow_bench["batched_seconds_per_run"]), "ms"), "", ""))
        rows.append(
            ("MLflow nested run, one call per value", fmt(_ms(mlflow_bench["per_call_seconds_per_run"]), "ms"), "", "")
        )
        rows.append(("MLflow fresh SQLite store", fmt(mlflow_bench["fresh_store_seconds"], "s"), "", ""))
    scaling = results.get("scaling") or {}
    for run in scaling.values():
        n = run["customers"]
        is_million = n == 1_000_000
        rows.append(
            (
                f"{n:,} customers, fixed config: wall",
                fmt(run["wall_seconds"], "s"),
                f"<= {TARGETS['million_wall_seconds']:.0f} s" if is_million else "",
                verdict(run["wall_seconds"], TARGETS["million_wall_seconds"]) if is_million else "",
            )
        )
        rows.append(
            (
                "  peak memory (process tree)",
                fmt(_peak(run), "MB"),
                f"<= {TARGETS['million_peak_mb']:.0f} MB" if is_million else "",
                verdict(_peak(run), TARGETS["million_peak_mb"]) if is_million else "",
            )
        )
        stages = ", ".join(f"{p} {s:.1f}" for p, s in sorted(run["pipelines"].items(), key=lambda kv: -kv[1]))
        rows.append(("  per stage (s)", f"start-up {run['startup_seconds']:.1f}, {stages}", "", ""))
    if "100000" in scaling and "1000000" in scaling:
        small, large = scaling["100000"], scaling["1000000"]
        total = linearity_exponent(small["wall_seconds"], large["wall_seconds"], 100_000, 1_000_000)
        work = linearity_exponent(
            sum(small["pipelines"].values()), sum(large["pipelines"].values()), 100_000, 1_000_000
        )
        rows.append(
            (
                "100k -> 1M: exponent e in t ~ rows^e (nodes only)",
                f"{work:.2f} (whole run {total:.2f})" if work is not None and total is not None else "n/a",
                f"<= {TARGETS['linearity_exponent']}",
                verdict(work, TARGETS["linearity_exponent"]),
            )
        )
    return rows


def _peak(measure: Mapping[str, Any]) -> float | None:
    """Peak memory: the sampled process-tree sum when measured (worker processes), else the largest process."""
    return measure.get("peak_tree_rss_mb") or measure.get("peak_rss_mb")


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else 1000 * seconds


def print_table(rows: Sequence[tuple[str, str, str, str]]) -> str:
    """The rows as a Markdown table (also printed)."""
    lines = ["| measure | value | target | verdict |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    text = "\n".join(lines)
    print(text)
    return text


# --- command line ------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> None:
    """Run the chosen sections, print the table, write the results file."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per measure (median is kept)")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="customers per scaling run")
    parser.add_argument(
        "--scaling-repeats", type=int, default=None, help="repeats of each scaling run (default: --repeats)"
    )
    parser.add_argument("--score-share", type=float, default=0.1, help="new customers scored, as a share of the size")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), help="sections to run")
    parser.add_argument("--workdir", type=Path, default=None, help="where project copies go (default: a temp dir)")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "benchmarks" / "results.json")
    parser.add_argument("--merge", action="store_true", help="keep sections of an existing --output not rerun now")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="measure without a compiled-bytecode cache (as under PYTHONDONTWRITEBYTECODE=1 with an\n"
        "environment installed without --compile-bytecode); default: a cache like `uv sync --compile-bytecode`",
    )
    args = parser.parse_args(argv)
    if not args.no_bytecode_cache:
        harness.use_bytecode_cache(warm_bytecode_cache())

    results: dict[str, Any] = {}
    if args.merge and args.output.exists():
        results = json.loads(args.output.read_text())
    results["machine"] = machine()
    results["bytecode_cache"] = not args.no_bytecode_cache
    results["targets"] = TARGETS
    results.setdefault("measured", {})
    with tempfile.TemporaryDirectory(prefix="bank-seg-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        membership = harness.pipeline_of_nodes() if {"demo", "scaling"} & set(args.only) else {}
        for section in SECTIONS:
            if section not in args.only:
                continue
            _say(f"section {section} (load {harness.load_average()})")
            before = harness.load_average()
            if section == "startup":
                results[section] = bench_startup(workdir, args.repeats)
            elif section == "demo" or (section in ("plain", "pinned") and "demo" not in args.only):
                results.update(bench_demo_and_plain(workdir, args.repeats, membership, args.only))
            elif section in ("plain", "pinned"):
                continue  # measured with the demo runs, interleaved
            elif section == "scaling":
                repeats = args.scaling_repeats or args.repeats
                results[section] = bench_scaling(workdir, args.sizes, repeats, args.score_share, membership)
            elif section == "mlflow":
                results[section] = bench_mlflow(workdir, args.repeats)
            results["measured"][section] = {
                "at": time.strftime("%Y-%m-%d %H:%M:%S"),
                "repeats": (args.scaling_repeats or args.repeats) if section == "scaling" else args.repeats,
                "load_before": before,
                "load_after": harness.load_average(),
            }
            args.output.write_text(json.dumps(results, indent=2, default=str))
    results["table"] = print_table(build_table(results))
    args.output.write_text(json.dumps(results, indent=2, default=str))
    _say(f"results written to {args.output}")


if __name__ == "__main__":
    main()
