"""The plugin manager: built-ins and third-party plugins come in through one door.

Built-in plugin packages are registered through the ``nucbench`` entry-point group exactly as a
third-party package is; a local file is added with :meth:`PluginManager.load_file`
(``--plugin path.py`` on the command line, ``plugins:`` in a suite YAML).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from nucbench import hookspecs
from nucbench.errors import InputError, RegistrationError
from nucbench.interfaces import CHECKS, REQUIRED_METADATA
from nucbench.registry import Registries

__all__ = ["ENTRY_POINT_GROUP", "PluginManager", "get_plugin_manager", "reset_plugin_manager"]

#: The entry-point group plugin packages declare, e.g. in pyproject.toml:
#: ``[project.entry-points.nucbench] my-plugin = "my_package"``.
ENTRY_POINT_GROUP = "nucbench"


class PluginManager(pluggy.PluginManager):
    """pluggy's manager with nucbench's hook specs and a set of registries.

    Parameters
    ----------
    load_entrypoints : bool
        Load every installed plugin of the ``nucbench`` entry-point group (built-ins included).
        Tests pass ``False`` and register what they need.
    """

    def __init__(self, *, load_entrypoints: bool = True) -> None:
        super().__init__(ENTRY_POINT_GROUP)
        self.add_hookspecs(hookspecs)
        self.registries = Registries(checks=CHECKS, required_metadata=REQUIRED_METADATA)
        self.hook.nucbench_register.call_historic(kwargs={"registries": self.registries})
        if load_entrypoints:
            self.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        self.check_pending()

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        """Register `plugin`; its ``nucbench_register`` runs at once, attributed to `name`."""
        label = name or getattr(plugin, "__name__", None) or self.get_canonical_name(plugin)
        self.registries.set_current_plugin(label)
        try:
            return super().register(plugin, name=label)
        except pluggy.PluginValidationError as exc:
            raise RegistrationError(f"plugin {label}: {exc}") from exc
        finally:
            self.registries.set_current_plugin("<unknown>")

    def load_file(self, path: str | Path) -> ModuleType:
        """Import a plugin from a Python file and register it (idempotent for the same file).

        Raises
        ------
        InputError
            If the file does not exist, is not a ``.py`` file, or fails to import.
        """
        path = Path(path).expanduser().resolve()
        if not path.is_file():
            raise InputError(f"--plugin {path}: no such file")
        if path.suffix != ".py":
            raise InputError(f"--plugin {path}: expected a Python file (.py)")
        name = f"nucbench_file_plugin_{path.stem}"
        existing = self.get_plugin(str(path))
        if existing is not None:
            return existing
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise InputError(f"--plugin {path}: failed to import: {type(exc).__name__}: {exc}") from exc
        self.register(module, name=str(path))
        self.check_pending()
        return module

    def create(self, kind: str, name: str, **params: Any) -> Any:
        """Build entry `name` of `kind` with `params` (see :meth:`nucbench.registry.Registry.create`)."""
        return self.registries[kind].create(name, **params)


_manager: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide manager with every installed plugin loaded (created on first use)."""
    global _manager
    if _manager is None:
        _manager = PluginManager()
    return _manager


def reset_plugin_manager() -> None:
    """Forget the process-wide manager (tests; after installing a plugin package)."""
    global _manager
    _manager = None
