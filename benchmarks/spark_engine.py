"""The Spark engine against the pandas engine on large synthetic portfolios: `kedro run --pipelines
data_processing`, wall time, CPU and peak memory of the whole process tree (the JVM included).

    uv run --extra spark python benchmarks/spark_engine.py                      # 1M customers, both engines
    uv run --extra spark python benchmarks/spark_engine.py --sizes 1000000 10000000 --engines spark
    uv run --extra spark python benchmarks/spark_engine.py --sizes 10000000 --engines spark --pipelines default
    uv run --extra spark python benchmarks/spark_engine.py --score-in KEPT_PROJECT --sizes 10000000

``--score-in`` scores a project a kept default run trained (``--keep``): ``--sizes`` customers to score, a tenth
of them new (ids past the trained ones) and a tenth of the trained ones gone, their behaviour drawn anew.

The portfolio is generated in chunks (never one pandas frame of every customer) and written once as CSV parts
(the Spark engine reads the folder) and once as a single CSV file (the pandas engine reads a file).
Results go to benchmarks/spark_results.json; docs/benchmarks.md reports them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bank_segmentation.pipelines.demo_data.generator import generate_portfolio  # noqa: E402
from benchmarks.harness import REPO_ROOT, as_dict, kedro_env, make_project_copy, run_measured, uv_run  # noqa: E402

CHUNK = 250_000
SEED = 20261130
SCORING_SEED = 20261230  # the customers to score behave anew
NEW_SHARE_DIVISOR = 10  # a tenth of the customers to score are new, a tenth of the trained ones are gone
RESULTS = Path(__file__).with_name("spark_results.json")
DEFAULT = "default"


def write_portfolio(size: int, parts: Path, single: Path | None, seed: int = SEED, first_id: int = 1) -> float:
    """Write ``size`` customers (ids from ``first_id``) as CSV parts (and, if asked, one CSV file); the seconds it
    took."""
    start = time.perf_counter()
    if parts.is_file():  # the project copy's own customers.csv: the parts folder takes its place
        parts.unlink()
    parts.mkdir(parents=True, exist_ok=True)
    with single.open("w") if single else open("/dev/null", "w") as whole:
        for index, first in enumerate(range(0, size, CHUNK)):
            customers, _ = generate_portfolio(min(CHUNK, size - first), seed=seed + index, id_start=first + first_id)
            customers.to_csv(parts / f"part-{index:05d}.csv", index=False)
            customers.to_csv(whole, index=False, header=index == 0)
    return time.perf_counter() - start


def measure(engine: str, size: int, workspace: Path, pipelines: str, keep: bool = False) -> dict:
    """One run of ``pipelines`` (``default``: the whole default job) by ``engine`` on ``size`` customers, in a
    fresh project copy."""
    project = make_project_copy(workspace / f"{engine}-{size}")
    raw = project / "data" / "01_raw"
    args = ["kedro", "run", *([] if pipelines == DEFAULT else ["--pipelines", pipelines])]
    if engine == "spark":
        shutil.copytree(REPO_ROOT / "conf" / "spark", project / "conf" / "spark")
        generated = write_portfolio(size, raw / "customers.csv", None)
        command = uv_run("--extra", "spark", *args, "--env", "spark")
    else:
        generated = write_portfolio(size, workspace / "unused-parts", raw / "customers.csv")
        shutil.rmtree(workspace / "unused-parts")
        command = uv_run(*args)
    measured = run_measured(command, project, kedro_env(project))
    if not keep:
        shutil.rmtree(project, ignore_errors=True)
    result = {"engine": engine, "customers": size, "pipelines": pipelines, "generation_seconds": round(generated, 1)}
    result.update(as_dict(measured))
    status = "ok" if measured.returncode == 0 else f"FAILED ({measured.stderr_tail[-500:]})"
    print(
        f"{engine:6} {size:>11,} customers, {pipelines}: {measured.wall_seconds:7.1f} s wall, "
        f"{measured.cpu_seconds:7.1f} s CPU, "
        f"peak {measured.peak_tree_rss_mb:7.0f} MB RSS, {measured.peak_tree_pss_mb:7.0f} MB PSS (process tree) "
        f"{status}",
        flush=True,
    )
    return result


def measure_scoring(project: Path, size: int) -> dict:
    """One Spark scoring run of ``size`` customers in a project a default run trained."""
    parts = project / "data" / "01_raw" / "customers_to_score.csv"
    shutil.rmtree(parts, ignore_errors=True)
    generated = write_portfolio(size, parts, None, SCORING_SEED, size // NEW_SHARE_DIVISOR + 1)
    command = uv_run("--extra", "spark", "kedro", "run", "--env", "spark", "--pipelines", "scoring")
    measured = run_measured(command, project, kedro_env(project))
    result = {"engine": "spark", "customers": size, "pipelines": "scoring", "generation_seconds": round(generated, 1)}
    result.update(as_dict(measured))
    status = "ok" if measured.returncode == 0 else f"FAILED ({measured.stderr_tail[-500:]})"
    print(
        f"spark  {size:>11,} customers scored: {measured.wall_seconds:7.1f} s wall, {measured.cpu_seconds:7.1f} s "
        f"CPU, peak {measured.peak_tree_rss_mb:7.0f} MB RSS, {measured.peak_tree_pss_mb:7.0f} MB PSS {status}",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--engines", nargs="+", default=["pandas", "spark"], choices=["pandas", "spark"])
    parser.add_argument("--pipelines", default="data_processing", help=f"'{DEFAULT}': the whole default job")
    parser.add_argument("--workspace", type=Path, default=None, help="folder for the project copies (default: /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the project copies (in --workspace) to read them")
    parser.add_argument("--score-in", type=Path, default=None, help="a kept project a default Spark run trained")
    args = parser.parse_args()
    if args.score_in:
        save([measure_scoring(args.score_in.resolve(), size) for size in args.sizes])
        return
    results = []
    folder = Path(tempfile.mkdtemp(prefix="bank-seg-spark-bench-", dir=args.workspace))
    try:
        for size in args.sizes:
            for engine in args.engines:
                results.append(measure(engine, size, folder, args.pipelines, args.keep))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    save(results)


def save(results: list[dict]) -> None:
    """Add ``results`` to benchmarks/spark_results.json, replacing earlier ones of the same kind."""
    key = lambda r: (r.get("engine"), r["customers"], r.get("pipelines", "data_processing"))  # noqa: E731
    measured = {key(r) for r in results}
    earlier = json.loads(RESULTS.read_text()) if RESULTS.exists() else []
    kept = [r for r in earlier if key(r) not in measured]  # other sizes, engines and pipelines stay
    RESULTS.write_text(json.dumps(kept + results, indent=2))
    print(f"results: {RESULTS}")


if __name__ == "__main__":
    main()
