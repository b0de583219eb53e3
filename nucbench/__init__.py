"""nucbench: a plugin-based benchmark for label-free nuclei instance segmentation in H&E.

What plugins may import from the core is listed in ``__all__``. Importing nucbench is light (no
torch); heavy modules load when a plugin entry is built.
"""

from __future__ import annotations

from typing import Any

from nucbench.atomic import atomic_path
from nucbench.errors import (
    ConfigError,
    InputError,
    NucbenchError,
    RegistrationError,
    UnknownNameError,
    did_you_mean,
)
from nucbench.hookspecs import hookimpl
from nucbench.interfaces import BackbonePass, RegularizerContext
from nucbench.overlap import Overlap
from nucbench.plugins import get_plugin_manager
from nucbench.registry import KINDS, Entry

__version__ = "0.1.0"

__all__ = [
    "KINDS",
    "BackbonePass",
    "ConfigError",
    "Entry",
    "InputError",
    "NucbenchError",
    "Overlap",
    "RegistrationError",
    "RegularizerContext",
    "UnknownNameError",
    "__version__",
    "atomic_path",
    "create",
    "did_you_mean",
    "hookimpl",
    "list_entries",
]


def create(kind: str, name: str, **params: Any) -> Any:
    """Build the registered entry `name` of plugin `kind` (``None`` params mean "default").

    Examples
    --------
    >>> import nucbench
    >>> nucbench.create("executor", "local").__class__.__name__
    'LocalExecutor'
    """
    return get_plugin_manager().create(kind, name, **params)


def list_entries(kind: str | None = None, pattern: str = "*") -> list[Entry]:
    """Registered entries of `kind` (every kind when ``None``) whose name matches `pattern`."""
    regs = get_plugin_manager().registries
    kinds = [kind] if kind else list(KINDS)
    return [entry for k in kinds for entry in regs[k].list(pattern)]
