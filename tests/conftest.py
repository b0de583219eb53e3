"""Shared fixtures: a fresh plugin manager per test, so no registry state leaks between tests."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

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


@pytest.fixture
def shipped_member() -> Callable[[], dict]:
    """``shipped_member() -> dict``: a fresh load of the shipped checkpoint's first model (the
    shipped model may be an ensemble), a trained F that finds nuclei, for tests to alter."""
    import torch
    from nucbench_scale_ssl.ensemble import member

    path = resources.files("nucbench_scale_ssl") / "scale-ssl.pt"
    return lambda: member(torch.load(str(path), map_location="cpu", weights_only=True), 0)


@pytest.fixture(autouse=True)
def _fresh_global_manager():
    reset_plugin_manager()
    yield
    reset_plugin_manager()
