"""Built-in trackers: record suites in MLflow (``mlflow``) or nowhere (``none``)."""

from nucbench import hookimpl


@hookimpl
def nucbench_register(registries):
    """Register the ``mlflow`` and ``none`` trackers."""
    registries.tracker.register(
        "mlflow", "nucbench_trackers.mlflow_tracker:MlflowTracker",
        description="Record suites in MLflow: a parent run per suite, a child run per run "
                    "(default store: sqlite:///<cwd>/mlflow.db).",
    )
    registries.tracker.register(
        "none", "nucbench_trackers.null:NullTracker",
        description="Record nothing (a suite then cannot resume; every run is redone).",
    )
