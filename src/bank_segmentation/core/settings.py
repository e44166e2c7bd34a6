"""Every parameter block as a typed, frozen object that refuses unknown keys.

Kedro builds the blocks that nodes take typed (``schema``, ``features``, ``evaluation``) once, when the context
starts: a node annotated ``schema: Schema`` receives the parsed object, never the raw dict. ``ProjectParameters``
checks the whole parameter tree at the same moment, so a typo or a wrong value anywhere stops the run before
data is read, with every problem listed at once (``framework.hooks`` adds the file each key came from).
Blocks without a model of their own yet (``reporting``'s archetypes and playbook texts) are checked one level
deep: their top-level keys are fixed, their contents are read by the reporting pipeline.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

NUMERIC_ROLES = ("amount", "frequency", "count", "limit", "tenure", "numeric", "ratio", "share")
# Columns read as text: described per segment (categorical, label) or only carried to the outputs (ignore).
TEXT_ROLES = ("categorical", "label", "ignore")
ROLES = (*NUMERIC_ROLES, *TEXT_ROLES)
Role = Literal[
    "amount", "frequency", "count", "limit", "tenure", "numeric", "ratio", "share", "categorical", "label", "ignore"
]
KpiRole = Literal["amount", "ratio", "share"]
Policy = Literal["quarantine", "repair", "fail"]
DEFAULT_REFERENCE_SPACE = {"columns": "raw", "log1p": True, "scaler": "standard"}


def _checked_spec(spec: dict[str, Any]) -> dict[str, Any]:
    # Imported here: the variant-spec rules live with the builder that applies them, which imports this module.
    from bank_segmentation.core.preprocessing import validate_spec

    validate_spec(spec)
    return spec


# A preprocessing recipe (see core.preprocessing), checked by the rules of the builder that applies it.
VariantSpec = Annotated[dict[str, Any], AfterValidator(_checked_spec)]


class Strict(BaseModel):
    """A settings block: immutable, and an unknown key is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- shared blocks: the table, its features, how candidates are measured ------------------------------
class Schema(Strict):
    """The id column and the role of every behavioural column (``params:schema``)."""

    id_column: str
    columns: dict[str, Role]

    @property
    def roles(self) -> dict[str, str]:
        """Role of every behavioural column, in declaration order."""
        return dict(self.columns)

    @property
    def feature_columns(self) -> list[str]:
        """The numeric behavioural columns: read as numbers, imputed, usable as model features."""
        return self.columns_with(*NUMERIC_ROLES)

    @property
    def text_columns(self) -> list[str]:
        """Columns read as text and carried to the outputs: categoricals, labels and ignored columns."""
        return self.columns_with(*TEXT_ROLES)

    @property
    def described_columns(self) -> list[str]:
        """Text columns described per segment (shares of their values; a label's rate): categoricals, labels."""
        return self.columns_with("categorical", "label")

    @property
    def optional_columns(self) -> list[str]:
        """Columns a table may lack (left blank): an outcome (label) is unknown for customers scored before it
        happens, and a carried (ignored) column is a courtesy."""
        return self.columns_with("label", "ignore")

    def columns_with(self, *roles: str) -> list[str]:
        """Columns whose role is one of ``roles``, in declaration order."""
        return [col for col, role in self.columns.items() if role in roles]


class Kpi(Strict):
    """An engineered ratio column: numerator over the sum of the denominators."""

    numerator: str
    denominator: list[str]
    when_zero: float = 0.0
    role: KpiRole


class PurchaseType(Strict):
    """Whether customers are typed by how they buy (one-off, instalments, both, none)."""

    enabled: bool = False
    oneoff_column: str | None = None
    installment_column: str | None = None


class Features(Strict):
    """Engineered columns and the named column groups the search chooses from (``params:features``)."""

    kpis_enabled: bool = True
    kpis: dict[str, Kpi] = Field(default_factory=dict)
    purchase_type: PurchaseType = PurchaseType()
    groups: dict[str, list[str]] = Field(default_factory=dict)
    # Categorical columns used as model features: each listed value becomes a 0/1 column ``COLUMN=value``
    # (other values: 0 in all of them). The values are written here so that training and scoring encode alike.
    one_hot: dict[str, list[str]] = Field(default_factory=dict)

    @property
    def active_kpis(self) -> dict[str, Kpi]:
        """The KPIs engineered in this run (none when switched off)."""
        return dict(self.kpis) if self.kpis_enabled else {}


class Agreement(Strict):
    """How refits with other seeds are drawn to measure a partition's agreement."""

    n_refits: int = Field(10, ge=1)
    sample_share: float = Field(0.8, gt=0, lt=1)


class EvaluationSettings(Strict):
    """How candidate segmentations are fitted and scored (``params:evaluation``)."""

    random_state: int = 42
    n_init: int = Field(10, ge=1)
    agreement: Agreement = Agreement()
    silhouette_max_rows: int = Field(5000, ge=2)
    single_thread_max_rows: int = Field(200_000, ge=0)
    fit_max_rows: int | None = Field(None, ge=2)
    agreement_max_rows: int | None = Field(None, ge=2)
    reference_space: VariantSpec = Field(default_factory=lambda: dict(DEFAULT_REFERENCE_SPACE))

    @property
    def n_refits(self) -> int:
        """Number of refits per agreement measurement."""
        return self.agreement.n_refits

    @property
    def refit_share(self) -> float:
        """Share of customers each refit is fitted on."""
        return self.agreement.sample_share


# --- data processing --------------------------------------------------------------------------------
class NumberFormat(Strict):
    """How numbers are written in the bank's export (``validation.numbers``)."""

    decimal: Literal["auto", ".", ","] = "auto"  # auto: "," in ";"-separated exports, "." otherwise
    thousands_separators: list[str] = Field(default_factory=lambda: [",", ".", " ", "'", "\u00a0", "\u202f"])
    currency_symbols: list[str] = Field(default_factory=lambda: ["$", "€", "£", "¥", "CHF", "USD", "EUR", "GBP"])
    parentheses_negative: bool = True  # (1,234.50) is -1234.5, as accounting exports write it


class ValidationSettings(Strict):
    """The data contract's policies and limits (``params:validation``)."""

    policies: dict[str, Policy]
    max_abs_value: float = Field(gt=0)
    max_quarantine_share: float = Field(ge=0, le=1)
    min_customers: int = Field(ge=1)
    min_distinct_customers: int = Field(ge=1)
    example_rows: int = Field(ge=1)
    numbers: NumberFormat = NumberFormat()


class DomainRule(Strict):
    """A missing value that has a known meaning (e.g. no minimum payment when nothing was paid)."""

    column: str
    value: float
    when_zero: str


class ImputationSettings(Strict):
    """How the remaining missing values are filled (``params:imputation``)."""

    strategy: Literal["domain", "median", "knn"]
    domain_rules: list[DomainRule] = Field(default_factory=list)
    knn_neighbors: int = Field(5, ge=1)


# --- candidates: sweep, search, choice, training -----------------------------------------------------
class Sweep(Strict):
    """The grid of preprocessing variants × k."""

    variants: list[str] | None = None
    k_min: int = Field(ge=2)
    k_max: int = Field(ge=2)
    n_jobs: int = Field(1, ge=1)
    log_nested_runs: bool = True


class ClusteringSettings(Strict):
    """The named preprocessing variants and the sweep over them (``params:clustering``)."""

    variants: dict[str, VariantSpec]
    sweep: Sweep


class Pinned(Strict):
    """The variant and k a pinned run ships."""

    variant: str
    k: int = Field(ge=2)


class Rule(Strict):
    """The admission thresholds and tie-breaks of the model choice."""

    k_min: int = Field(ge=2)
    k_max: int = Field(ge=2)
    min_segment_share: float = Field(ge=0, lt=1)
    min_agreement: float = Field(ge=-1, le=1)
    min_coverage: float = Field(ge=0, le=1)
    tie_z: float = Field(ge=0)
    prefer: list[Literal["coverage", "agreement", "k", "silhouette_ref"]]
    tolerances: dict[str, float] = Field(default_factory=dict)


class ModelChoiceSettings(Strict):
    """How the shipped model is chosen (``params:model_choice``)."""

    mode: Literal["rule", "pinned"]
    sources: list[Literal["sweep", "search"]]
    pinned: Pinned
    rule: Rule
    n_jobs: int = Field(1, ge=1)


class SearchOutliers(Strict):
    choices: list[Literal["none", "winsorize", "log1p"]]
    winsorize_quantiles: list[float] = Field(default_factory=list)


class SearchPca(Strict):
    choices: list[Literal["none", "components", "variance"]]
    components: list[int] = Field(default_factory=list)
    variance: list[float] = Field(default_factory=list)


class SearchSpace(Strict):
    groups: list[str]
    min_groups: int = Field(1, ge=1)
    outliers: SearchOutliers
    scalers: list[str]
    pca: SearchPca


class Sampler(Strict):
    n_startup_trials: int = Field(ge=0)


class Study(Strict):
    storage: str
    name: str
    name_with_fingerprint: bool = True
    n_trials: int = Field(ge=1)
    timeout: float | None = None
    batch_size: int = Field(1, ge=1)
    n_jobs: int = Field(1, ge=1)
    seed: int
    start_from_reference: bool = True
    local_search: Literal["none", "groups", "all"] = "all"
    sampler: Sampler
    lock_timeout: float = Field(ge=0)
    heartbeat_interval: int = Field(ge=1)
    grace_period: int = Field(ge=1)


class TuningSettings(Strict):
    """The Optuna search over feature groups and preprocessing (``params:tuning``)."""

    search_space: SearchSpace
    study: Study
    log_nested_runs: bool = True


class TrainingMlflow(Strict):
    log_model: bool = True
    artifact_name: str
    registered_model_name: str | None = None
    champion_alias: str | None = None
    pip_requirements: list[str] = Field(default_factory=list)


class TrainingSettings(Strict):
    """What the final fit logs (``params:training``)."""

    mlflow: TrainingMlflow


# --- scoring, reporting, demo data, run plumbing ------------------------------------------------------
class PsiThresholds(Strict):
    moderate: float = Field(gt=0)
    major: float = Field(gt=0)


class DriftSettings(Strict):
    """Population stability of scored customers against training (``params:drift``)."""

    bins: int = Field(ge=2)
    epsilon: float = Field(gt=0)
    psi_thresholds: PsiThresholds


class OutsideTrainingSettings(Strict):
    """When a scored customer lies outside what the model was trained on (``params:outside_training``)."""

    quantile: float = Field(gt=0, le=1)
    factor: float = Field(gt=0)


class WatchedMove(Strict):
    name: str
    from_: list[str] = Field(alias="from", min_length=1)
    to: list[str] = Field(min_length=1)


class MigrationSettings(Strict):
    """Segment migration of scored customers since they were last segmented (``params:migration``)."""

    top_flows: int = Field(ge=1)
    watch: list[WatchedMove] = Field(default_factory=list)


class PageText(Strict):
    title: str
    subtitle: str
    footer: str


class ReportingSettings(Strict):
    """The reporting pipeline's blocks; their contents are read by the reporting pipeline."""

    profiles: dict[str, Any]
    naming: dict[str, Any]
    feature_labels: dict[str, str] = Field(default_factory=dict)
    playbook: dict[str, Any] = Field(default_factory=dict)
    campaign: dict[str, Any]
    catalogue: dict[str, Any]
    figures: dict[str, Any]
    report: dict[str, Any]
    rules: dict[str, Any]


class DemoPortfolio(Strict):
    n_customers: int = Field(ge=1)
    seed: int
    id_prefix: str
    id_start: int = Field(ge=0)
    persona_shares: dict[str, float]


class MonthLater(Strict):
    seed: int
    stay_share: float = Field(gt=0, le=1)
    moves: dict[str, dict[str, float]] = Field(default_factory=dict)
    amount_drift_sigma: float = Field(ge=0)
    new_customers: DemoPortfolio


class DemoDataSettings(DemoPortfolio):
    """The synthetic demo portfolio and its month-later file to score (``params:demo_data``)."""

    to_score: MonthLater


class TrackingSettings(Strict):
    on_unreachable: Literal["fail", "continue"]
    connect_timeout_seconds: float = Field(gt=0)
    http_max_retries: int = Field(ge=0)
    http_timeout_seconds: float = Field(gt=0)


class PublishTarget(Strict):
    path: str
    mlflow_artifact_path: str | None = None


class RunsSettings(Strict):
    keep: int = Field(ge=0)


class ProjectParameters(Strict):
    """The whole parameter tree of ``conf/<env>/parameters*.yml``: every block and no other."""

    schema_: Schema = Field(alias="schema")
    features: Features
    evaluation: EvaluationSettings
    validation: ValidationSettings
    imputation: ImputationSettings
    clustering: ClusteringSettings
    model_choice: ModelChoiceSettings
    tuning: TuningSettings
    training: TrainingSettings
    drift: DriftSettings
    outside_training: OutsideTrainingSettings
    migration: MigrationSettings
    scoring_report: PageText
    reporting: ReportingSettings
    demo_data: DemoDataSettings
    tracking: TrackingSettings
    publish: dict[str, PublishTarget]
    runs: RunsSettings
