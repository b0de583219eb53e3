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


def write_pyramid(path: Path, levels: list, *, mpp: float | None = 0.25, tile: int = 64) -> Path:
    """Write a tiled pyramidal TIFF that OpenSlide opens as ``generic-tiff``.

    OpenSlide's generic-TIFF backend needs every level tiled and stored as its own IFD in the main
    chain (largest first); it reads mpp from X/YResolution when ResolutionUnit is centimetre
    (pixels per cm = 10⁴ / mpp).
    """
    import tifffile

    with tifffile.TiffWriter(path) as tif:
        for i, level in enumerate(levels):
            down = levels[0].shape[1] / level.shape[1]
            extra = {}
            if mpp is not None:
                res = 1e4 / (mpp * down)
                extra = {"resolution": (res, res), "resolutionunit": "CENTIMETER"}
            tif.write(level, tile=(tile, tile), photometric="rgb", compression="zlib",
                      subfiletype=1 if i else 0, **extra)
    return path
