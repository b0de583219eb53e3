"""Shared fixtures: a fresh plugin manager per test, so no registry state leaks between tests."""

from __future__ import annotations

import pytest

from nucbench.plugins import PluginManager, reset_plugin_manager


@pytest.fixture
def manager() -> PluginManager:
    """An empty manager (no entry points loaded)."""
    return PluginManager(load_entrypoints=False)


@pytest.fixture
def full_manager() -> PluginManager:
    """A manager with every installed plugin loaded, as the CLI sees them."""
    return PluginManager()


@pytest.fixture(autouse=True)
def _fresh_global_manager():
    reset_plugin_manager()
    yield
    reset_plugin_manager()
