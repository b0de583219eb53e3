"""Hook specifications: the contract between nucbench and its plugins (pluggy, project "nucbench").

A plugin is a module (or object) with functions decorated by :data:`hookimpl`. Hooks are called
with keyword arguments only; an implementation may accept any subset of a spec's arguments, and one
that names an argument the spec lacks fails at registration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from nucbench.registry import Registries

__all__ = ["hookspec", "hookimpl", "nucbench_register"]

hookspec = pluggy.HookspecMarker("nucbench")
hookimpl = pluggy.HookimplMarker("nucbench")


@hookspec(historic=True)
def nucbench_register(registries: Registries) -> None:
    """Register this plugin's entries in the registries.

    Called once for every plugin, including plugins added after start-up (``--plugin file.py``,
    a suite's ``plugins:`` list): the hook is historic, so a late plugin still gets the call.

    Parameters
    ----------
    registries : nucbench.registry.Registries
        One registry per kind: ``registries.metric.register("aji", ...)``,
        ``registries["post-processor"].register(...)``. Entries are attributed to the plugin
        being registered.

    Returns
    -------
    None
        Return values are ignored.

    Examples
    --------
    >>> from nucbench import hookimpl
    >>> @hookimpl
    ... def nucbench_register(registries):
    ...     registries.regularizer.register("area-prior", "my_pkg:AreaPrior",
    ...                                     description="Pull the nuclei fraction towards a prior.")
    """
