"""Fixtures for the data-layer tests: the shared read-only data folder beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_root() -> Path:
    """``<repo>/../shared/data`` (MoNuSeg and the two SVS slides; always present)."""
    assert (DATA_ROOT / "monuseg").is_dir(), f"shared data not found at {DATA_ROOT}"
    return DATA_ROOT


@pytest.fixture(scope="session")
def monuseg_root(data_root: Path) -> Path:
    return data_root / "monuseg"


@pytest.fixture(scope="session")
def wsi_root(data_root: Path) -> Path:
    return data_root / "wsi"
