"""Built-in executors: run a function over many items in this process (``local``)."""

from nucbench import hookimpl


@hookimpl
def nucbench_register(registries):
    registries.executor.register(
        "local", "nucbench_executors.local:LocalExecutor",
        description="Run jobs one after another in this process, with a progress bar.",
    )
