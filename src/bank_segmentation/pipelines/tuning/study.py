"""The Optuna study: SQLite storage, seeded sampler, and a deterministic parallel ask/tell loop.

Why not ``study.optimize(n_jobs=...)``: with several threads the order in which trials are asked depends
on timing, so a seeded rerun is no longer reproducible, and per-trial callbacks run in worker threads.
Here trials are asked in batches of ``batch_size`` in the main thread (the sampler sees the same history
every time), evaluated in parallel threads (K-means releases the GIL), then told in trial order and
logged as nested MLflow runs from the main thread.

Not every trial is the sampler's: a fresh study starts from the point of the space nearest to the
reference space (where the objective measures), and whenever the best feasible trial has an untried
neighbour (any one choice changed, ``local_search: all``; one feature group switched, ``groups``) that
neighbour is tried before the sampler is asked. Both are enqueued Optuna trials decided from the stored
history (asked trials included), so they are reproducible and a resumed study carries on where it stopped.

Several processes may share the storage: SQLite runs in WAL mode with a lock timeout, and a heartbeat lets
any process fail the RUNNING trials of a process that died.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from tqdm.auto import tqdm

from bank_segmentation.framework.locking import sqlite_initialisation_lock, sqlite_path
from bank_segmentation.pipelines.tuning.objective import Objective
from bank_segmentation.pipelines.tuning.search_space import SegmentationCandidate, neighbours, suggest_config

logger = logging.getLogger(__name__)

SPEC_ATTR = "spec"
METRICS_ATTR = "metrics"
INVALID_ATTR = "invalid_reason"
DUPLICATE_ATTR = "duplicate_of"
ERROR_ATTR = "error"
ORIGIN_ATTR = "origin"  # start | local_search | sampler
LOCAL_SEARCH_MOVES = ("none", "groups", "all")


@dataclass(frozen=True)
class StudySettings:
    """Where the study lives and how many trials a run adds (``params:tuning.study``)."""

    storage: str
    name: str
    n_trials: int
    timeout: float | None
    n_jobs: int
    batch_size: int
    seed: int
    n_startup_trials: int
    lock_timeout: float
    heartbeat_interval: int
    grace_period: int
    start_from_reference: bool
    local_search: str

    @classmethod
    def from_params(cls, study: Mapping[str, Any]) -> StudySettings:
        """Read the ``tuning.study`` parameters block."""
        sampler = study.get("sampler", {})
        timeout = study.get("timeout")
        local_search = str(study.get("local_search", "all"))
        if local_search not in LOCAL_SEARCH_MOVES:
            raise ValueError(f"tuning.study.local_search must be one of {LOCAL_SEARCH_MOVES}, got {local_search!r}")
        return cls(
            storage=str(study["storage"]),
            name=str(study["name"]),
            n_trials=int(study["n_trials"]),
            timeout=None if timeout is None else float(timeout),
            n_jobs=max(1, int(study["n_jobs"])),
            batch_size=max(1, int(study.get("batch_size", 2))),
            seed=int(study["seed"]),
            n_startup_trials=int(sampler["n_startup_trials"]),
            lock_timeout=float(study["lock_timeout"]),
            heartbeat_interval=int(study["heartbeat_interval"]),
            grace_period=int(study["grace_period"]),
            start_from_reference=bool(study.get("start_from_reference", True)),
            local_search=local_search,
        )


# --- storage and study -------------------------------------------------------------------------------
def create_storage(settings: StudySettings) -> optuna.storages.RDBStorage:
    """An RDB storage; SQLite gets its folder, WAL journaling and a lock timeout (several processes)."""
    path = sqlite_path(settings.storage)
    engine_kwargs: dict[str, Any] = {}
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs["creator"] = functools.partial(_sqlite_connection, str(path), settings.lock_timeout)
    # Creating the tables of a fresh study database from two processes at once fails or corrupts it.
    with sqlite_initialisation_lock(settings.storage), warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # heartbeat is experimental
        return optuna.storages.RDBStorage(
            settings.storage,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=settings.heartbeat_interval,
            grace_period=settings.grace_period,
        )


def _sqlite_connection(path: str, timeout: float) -> sqlite3.Connection:
    """A SQLite connection in WAL mode: readers never block the writer; a writer waits ``timeout`` s."""
    connection = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
    # Switching the journal mode takes an exclusive lock without waiting for it; the mode is stored in the
    # file, so only the connection that creates the database (under the initialisation lock) switches it.
    if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")  # WAL-safe: no fsync per commit, still consistent
    return connection


def create_sampler(settings: StudySettings) -> optuna.samplers.BaseSampler:
    """Seeded multivariate, grouped TPE."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # `group` is experimental
        return optuna.samplers.TPESampler(
            n_startup_trials=settings.n_startup_trials,
            multivariate=True,
            group=True,
            seed=settings.seed,
        )


@contextlib.contextmanager
def stored(settings: StudySettings) -> Iterator[optuna.storages.RDBStorage]:
    """The storage, closed on exit (SQLite then folds its write-ahead log back into the one .db file)."""
    storage = create_storage(settings)
    try:
        yield storage
    finally:
        storage.remove_session()
        storage.engine.dispose()


def open_study(storage: optuna.storages.RDBStorage, settings: StudySettings, objective: Objective) -> optuna.Study:
    """Create the study, or load it when it exists (a rerun continues it)."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # this module logs what happens instead
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=settings.name,
            sampler=create_sampler(settings),
            directions=objective.directions,
            load_if_exists=True,
        )
    finally:
        optuna.logging.set_verbosity(verbosity)
    logger.info("tuning: study %r in %s (%d trials so far)", settings.name, settings.storage, len(study.trials))
    existing = [d.name.lower() for d in study.directions]
    if existing != objective.directions:
        raise ValueError(
            f"study {settings.name!r} in {settings.storage} optimises {existing}, but the parameters ask for "
            f"{objective.directions}: set tuning.study.name to a new study"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    return study


def load_study(storage: optuna.storages.RDBStorage, settings: StudySettings) -> optuna.Study:
    """The stored study, for reading (figures, summaries)."""
    return optuna.load_study(study_name=settings.name, storage=storage)


@contextlib.contextmanager
def heartbeat(storage: optuna.storages.RDBStorage, trial_id: int, interval: int) -> Iterator[None]:
    """Record the trial's heartbeat every ``interval`` seconds while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while True:
            storage.record_heartbeat(trial_id)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, name=f"optuna-heartbeat-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


# --- the loop ----------------------------------------------------------------------------------------
@dataclass
class TrialOutcome:
    """What evaluating one asked trial produced."""

    trial: optuna.Trial
    candidate: SegmentationCandidate
    metrics: dict[str, float] | None = None
    duplicate_of: int | None = None
    error: str | None = None


def _finished_by_params(study: optuna.Study) -> dict[tuple, FrozenTrial]:
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return {_params_key(t.params): t for t in trials if METRICS_ATTR in t.user_attrs}


def _params_key(params: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


def _proposal(
    study: optuna.Study,
    space: Mapping[str, Any],
    settings: StudySettings,
    start_point: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], str] | None:
    """The next point to try before asking the sampler: the start point, then the incumbent's neighbours."""
    # a trial failed by an interruption or a dead process (no error recorded) is tried again
    tried = {
        _params_key(t.params)
        for t in study.get_trials(deepcopy=False)
        if t.state != TrialState.FAIL or ERROR_ATTR in t.user_attrs
    }
    if start_point is not None and settings.start_from_reference and _params_key(start_point) not in tried:
        return dict(start_point), "start"
    if settings.local_search == "none":
        return None
    incumbent = chosen_trial(study)
    if incumbent is None:
        return None
    for params in neighbours(incumbent.params, space, settings.local_search):
        if _params_key(params) not in tried:
            return params, "local_search"
    return None


def _ask(study: optuna.Study, proposal: tuple[dict[str, Any], str] | None) -> optuna.Trial:
    if proposal is not None:
        study.enqueue_trial(proposal[0], user_attrs={ORIGIN_ATTR: proposal[1]})
    with warnings.catch_warnings():
        # the heartbeat is recorded by this loop (see `heartbeat`), not by Study.optimize
        warnings.filterwarnings("ignore", "Heartbeat of storage", UserWarning)
        trial = study.ask()
    if ORIGIN_ATTR not in trial.user_attrs:
        trial.set_user_attr(ORIGIN_ATTR, "sampler")
    return trial


def _evaluate(
    outcome: TrialOutcome,
    score: Callable[[SegmentationCandidate], dict[str, float]],
    storage: optuna.storages.BaseStorage,
    study_id: int,
    interval: int,
) -> TrialOutcome:
    if outcome.candidate.spec is None or outcome.metrics is not None:
        return outcome
    try:
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, outcome.trial.number)
        with heartbeat(storage, trial_id, interval):
            outcome.metrics = score(outcome.candidate)
    except Exception as error:  # noqa: BLE001 - a failing candidate is a FAIL trial, not a failed run
        outcome.error = f"{type(error).__name__}: {error}"
    return outcome


def _tell(study: optuna.Study, outcome: TrialOutcome, objective: Objective) -> FrozenTrial:
    trial, candidate = outcome.trial, outcome.candidate
    if candidate.spec is not None:
        trial.set_user_attr(SPEC_ATTR, candidate.spec)
    if candidate.invalid_reason is not None:
        trial.set_user_attr(INVALID_ATTR, candidate.invalid_reason)
        study.tell(trial, state=TrialState.PRUNED)
    elif outcome.error is not None or outcome.metrics is None:
        trial.set_user_attr(ERROR_ATTR, outcome.error or "no metrics")
        study.tell(trial, state=TrialState.FAIL)
    else:
        values = objective.values(outcome.metrics)
        if not all(math.isfinite(v) for v in values):
            trial.set_user_attr(ERROR_ATTR, f"non-finite objective {values}")
            study.tell(trial, state=TrialState.FAIL)
        else:
            trial.set_user_attr(METRICS_ATTR, outcome.metrics)
            if outcome.duplicate_of is not None:
                trial.set_user_attr(DUPLICATE_ATTR, outcome.duplicate_of)
            for name, value in objective.constraints(outcome.metrics).items():
                trial.set_constraint(name, value)
            study.tell(trial, values=values[0])
    return study.get_trials(deepcopy=False)[trial.number]


def run_trials(
    study: optuna.Study,
    storage: optuna.storages.BaseStorage,
    score: Callable[[SegmentationCandidate], dict[str, float]],
    space: Mapping[str, Any],
    ks: Sequence[int],
    objective: Objective,
    settings: StudySettings,
    on_trial: Callable[[FrozenTrial], None] | None = None,
    start_point: Mapping[str, Any] | None = None,
) -> list[FrozenTrial]:
    """Add ``n_trials`` trials to ``study`` (or fewer when ``timeout`` passes); return them in order.

    ``start_point`` (trial parameters) is the first point of a fresh study when ``start_from_reference`` is on.
    """
    study_id = storage.get_study_id_from_name(study.study_name)
    done: list[FrozenTrial] = []
    start = time.perf_counter()
    progress = tqdm(total=settings.n_trials, desc=f"optuna study {settings.name}", unit="trial")
    with progress, ThreadPoolExecutor(max_workers=settings.n_jobs) as pool:
        while len(done) < settings.n_trials:
            if settings.timeout is not None and time.perf_counter() - start >= settings.timeout:
                logger.info("tuning: timeout of %.0f s reached after %d trials", settings.timeout, len(done))
                break
            known = _finished_by_params(study)
            batch: list[TrialOutcome] = []
            # the batch size, not the thread count, decides what the sampler has seen: same trials whatever n_jobs
            for _ in range(min(settings.batch_size, settings.n_trials - len(done))):
                # the batch's earlier trials are RUNNING in the study with their parameters: not proposed again
                trial = _ask(study, _proposal(study, space, settings, start_point))
                outcome = TrialOutcome(trial, suggest_config(trial, space, ks))
                twin = known.get(_params_key(trial.params))
                if twin is not None:  # the sampler proposed a configuration already scored: reuse it
                    outcome.metrics, outcome.duplicate_of = dict(twin.user_attrs[METRICS_ATTR]), twin.number
                batch.append(outcome)
            try:
                outcomes = list(
                    pool.map(lambda o: _evaluate(o, score, storage, study_id, settings.heartbeat_interval), batch)
                )
            except BaseException:
                for outcome in batch:  # interrupted: never leave RUNNING trials behind
                    with contextlib.suppress(Exception):
                        study.tell(outcome.trial, state=TrialState.FAIL)
                raise
            for outcome in outcomes:
                frozen = _tell(study, outcome, objective)
                done.append(frozen)
                if on_trial is not None:
                    on_trial(frozen)
                progress.update(1)
            progress.set_postfix_str(_best_text(study, objective), refresh=False)
    return done


def _best_text(study: optuna.Study, objective: Objective) -> str:
    best = best_trials(study)
    if not best:
        return "no feasible trial yet"
    return f"best {objective.metrics[0]}={best[0].values[0]:.4f} (trial {best[0].number})"


# --- results -----------------------------------------------------------------------------------------
def is_feasible(trial: FrozenTrial) -> bool:
    """Complete and meeting every constraint."""
    return trial.state == TrialState.COMPLETE and all(v <= 0 for v in trial.constraints.values())


def best_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The best feasible trial (or none)."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not any(is_feasible(t) for t in complete):
        return []
    return [study.best_trial]


def chosen_trial(study: optuna.Study) -> FrozenTrial | None:
    """The study's best feasible trial: the incumbent of the local search."""
    front = best_trials(study)
    return front[0] if front else None
