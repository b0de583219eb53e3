"""Fixtures for the whole-slide tests: a synthetic pyramidal slide with known nuclei, the shared data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

DATA_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PLUGIN_FILE = Path(__file__).resolve().parent / "threshold_plugin.py"

#: Background pink and nucleus purple of the synthetic slide. Pink is tissue for the HSV mask
#: (saturation (225 − 150) / 225 = 0.33 ≥ 0.07, value 225/255 = 0.88 ≤ 0.94); the test
#: segmenter's grey threshold 120 separates them (grey 190 vs 76.7).
PINK = (225, 150, 195)
PURPLE = (70, 40, 120)

#: Synthetic slide: 640×448 level-0 pixels at 0.25 µm/px (40x), nuclei as (cx, cy, r) in level-0
#: pixels. With 128 px tiles, tile sides lie at x = 128, 256, 384, 512 and y = 128, 256, 384: the
#: first eight nuclei straddle them (four sit on a corner shared by four tiles); the next four lie
#: inside a tile; the last two are cut by the slide's own edge (x = 0, x = 640).
WIDTH, HEIGHT = 640, 448
NUCLEI = [
    (128.0, 60.0, 9), (256.0, 128.0, 10), (384.0, 200.0, 8), (60.0, 256.0, 7),
    (512.0, 384.0, 9), (130.0, 381.0, 8), (300.5, 256.5, 6), (384.0, 384.0, 10),
    (200.0, 200.0, 7), (450.0, 90.0, 9), (590.0, 300.0, 8), (40.0, 40.0, 6),
    (3.0, 160.0, 8), (638.0, 220.0, 7),
]


@dataclass(frozen=True)
class SyntheticSlide:
    path: Path
    nuclei: list
    mpp: float = 0.25


def draw_nuclei(width: int, height: int, nuclei) -> np.ndarray:
    """Pink image with purple disks: pixel (r, c) (centre (c + 0.5, r + 0.5)) is in a disk when
    its centre is within r of (cx, cy)."""
    image = np.empty((height, width, 3), np.uint8)
    image[:] = PINK
    rows, cols = np.indices((height, width))
    for cx, cy, r in nuclei:
        image[(cols + 0.5 - cx) ** 2 + (rows + 0.5 - cy) ** 2 <= r * r] = PURPLE
    return image


def write_pyramid(path: Path, image: np.ndarray, *, mpp: float | None = 0.25, n_levels: int = 3,
                  tile: int = 64) -> Path:
    """Write a tiled pyramidal TIFF (levels downsampled ×2 with a box filter) that OpenSlide opens.

    OpenSlide's generic-TIFF backend needs every level tiled, in the main IFD chain, largest
    first; it reads mpp from X/YResolution with ResolutionUnit centimetre (px/cm = 10⁴ / mpp).
    """
    import tifffile
    from PIL import Image

    levels = [image]
    for _ in range(n_levels - 1):
        h, w = levels[-1].shape[:2]
        levels.append(np.asarray(Image.fromarray(levels[-1]).reduce(2)) if min(h, w) >= 2 * tile else None)
    levels = [lv for lv in levels if lv is not None]
    with tifffile.TiffWriter(path) as tif:
        for i, level in enumerate(levels):
            extra = {}
            if mpp is not None:
                res = 1e4 / (mpp * image.shape[1] / level.shape[1])
                extra = {"resolution": (res, res), "resolutionunit": "CENTIMETER"}
            tif.write(level, tile=(tile, tile), photometric="rgb", compression="zlib",
                      subfiletype=1 if i else 0, **extra)
    return path


@pytest.fixture(scope="session")
def synthetic_slide(tmp_path_factory) -> SyntheticSlide:
    folder = tmp_path_factory.mktemp("slide")
    path = write_pyramid(folder / "synthetic.tif", draw_nuclei(WIDTH, HEIGHT, NUCLEI))
    return SyntheticSlide(path, NUCLEI)


@pytest.fixture(scope="session")
def plugin_file() -> Path:
    return PLUGIN_FILE


@pytest.fixture(scope="session")
def data_root() -> Path:
    """``<repo>/../shared/data`` (MoNuSeg and the two SVS slides; always present)."""
    assert (DATA_ROOT / "wsi").is_dir(), f"shared data not found at {DATA_ROOT}"
    return DATA_ROOT


@pytest.fixture(scope="session")
def wsi_root(data_root: Path) -> Path:
    return data_root / "wsi"
