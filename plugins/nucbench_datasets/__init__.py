"""Built-in nucbench plugin package (entries are added as they are implemented)."""

from nucbench import hookimpl


@hookimpl
def nucbench_register(registries):
    """Register this package's entries."""
