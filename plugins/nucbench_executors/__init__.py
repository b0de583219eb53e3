"""Built-in executors: run jobs in this process (``local``) or on a Dask cluster (``dask``)."""

from nucbench import hookimpl


@hookimpl
def nucbench_register(registries):
    """Register the ``local`` and ``dask`` executors."""
    registries.executor.register(
        "local", "nucbench_executors.local:LocalExecutor",
        description="Run jobs one after another in this process, with a progress bar.",
    )
    registries.executor.register(
        "dask", "nucbench_executors.dask_executor:DaskExecutor",
        description="Run jobs on a Dask cluster: a LocalCluster by default, or a scheduler address.",
    )
