"""Fixtures for the baselines' tests: synthetic H&E-like tiles built from ``np.indices`` disks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

DATA_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data"

#: Eosin-pink background and hematoxylin-purple nuclei, RGB.
PINK = (235, 190, 215)
PURPLE = (70, 40, 130)

CLASSICAL = ["cellprofiler-style", "fiji-style", "otsu"]
ALL_BASELINES = CLASSICAL + ["supervised-unet"]


def disks_image(centres, radius: float, shape=(64, 64), background=PINK, colour=PURPLE) -> np.ndarray:
    """An RGB uint8 tile of `background` with filled disks of `colour` at `centres` (row, col)."""
    yy, xx = np.indices(shape)
    image = np.empty(shape + (3,), np.uint8)
    image[:] = background
    for r, c in centres:
        image[np.hypot(yy - r, xx - c) < radius] = colour
    return image


@pytest.fixture
def four_disks() -> np.ndarray:
    """Four disks of radius 7 centred 32 px apart: (16, 16), (16, 48), (48, 16), (48, 48)."""
    return disks_image([(16, 16), (16, 48), (48, 16), (48, 48)], 7.0)


@pytest.fixture
def blank_tile() -> np.ndarray:
    """All white."""
    return np.full((64, 64, 3), 255, np.uint8)


@pytest.fixture
def glass_tile() -> np.ndarray:
    """No tissue: slide glass (RGB ≈ 242, 241, 243) with ±3 grey levels of seeded noise."""
    rng = np.random.default_rng(0)
    noise = rng.integers(-3, 4, size=(64, 64, 1))
    return np.clip(np.array([242, 241, 243]) + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def data_root() -> Path:
    """``<repo>/../shared/data`` (always present beside the repository)."""
    assert (DATA_ROOT / "monuseg").is_dir(), f"shared data not found at {DATA_ROOT}"
    return DATA_ROOT
