"""Project settings (see https://docs.kedro.org/en/stable/configure/configuration_basics/)."""

from omegaconf.resolvers import oc

from bank_segmentation.framework.quiet import (
    import_kedro_mlflow_quietly,
    route_mlflow_logs_to_project_logging,
    silence_third_party_warnings,
)

silence_third_party_warnings()
import_kedro_mlflow_quietly()
route_mlflow_logs_to_project_logging()

from bank_segmentation.framework.hooks import ParametersCheckHook, ProjectMlflowHook  # noqa: E402
from bank_segmentation.framework.runs import RunIsolationHook  # noqa: E402
from bank_segmentation.framework.session import UniqueVersionSession  # noqa: E402
from bank_segmentation.framework.spark_session import SparkHook  # noqa: E402
from bank_segmentation.framework.story import RunStoryHook  # noqa: E402

# Runs started in the same millisecond would otherwise share a save version.
SESSION_CLASS = UniqueVersionSession

# kedro-mlflow's hook is registered here, in its guarded form, instead of automatically. The run-isolation
# hook comes second: its after_pipeline_run (publishing) runs first, while the MLflow run is still open.
# The parameters check runs first of all (tryfirst): a wrong key stops the run before tracking is contacted.
# The run's story reads the documented paths first (tryfirst) and tells what was found last (trylast).
# The Spark session starts only in an environment with a spark.yml (conf/spark: the optional Spark engine).
HOOKS = (ProjectMlflowHook(), RunIsolationHook(), ParametersCheckHook(), RunStoryHook(), SparkHook())
DISABLE_HOOKS_FOR_PLUGINS = ("kedro-mlflow", "kedro_mlflow")  # the name as published, and as installed

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Lets conf/base/mlflow.yml fall back to the embedded SQLite store unless
    # MLFLOW_TRACKING_URI points at a shared server.
    "custom_resolvers": {"oc.env": oc.env},
    "config_patterns": {"spark": ["spark*", "spark*/**"]},
}
