"""Tissue detection (HSV threshold) and DeepZoom-like tiling with overlap.

Sahasrabudhe et al. (MICCAI 2020, Sec. 4.1) keep only tiles with at least 70 % tissue, found by
"a simple thresholding in the HSV color space". Here a pixel is tissue when its saturation is at
least `saturation_min` (stain is coloured, glass is grey-white) and its value is at most
`value_max` (not white). The defaults were checked on the two SVS slides in ``../shared/data/wsi``:
glass has saturation ≤ 0.02 and value 0.95–1.0, stained tissue saturation mostly ≥ 0.2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nucbench.errors import InputError

if TYPE_CHECKING:
    from nucbench.data.slides import Slide

__all__ = [
    "SATURATION_MIN",
    "VALUE_MAX",
    "MIN_TISSUE",
    "Tile",
    "tissue_mask",
    "tissue_fraction",
    "slide_tissue_mask",
    "tile_grid",
    "tile_tissue_fractions",
    "filter_tiles",
]

#: Default minimum HSV saturation (0..1) of a tissue pixel.
SATURATION_MIN = 0.07
#: Default maximum HSV value (0..1) of a tissue pixel: brighter is white background.
VALUE_MAX = 0.94
#: Default minimum tissue fraction of a kept tile (the paper's 70 %).
MIN_TISSUE = 0.7


def _check_rgb(image: np.ndarray, name: str = "image") -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise InputError(f"`{name}` has shape {image.shape}; expected H×W×3 RGB")
    return image


def tissue_mask(image: np.ndarray, *, saturation_min: float = SATURATION_MIN,
                value_max: float = VALUE_MAX) -> np.ndarray:
    """Boolean mask of tissue pixels by an HSV threshold.

    Parameters
    ----------
    image : ndarray
        H×W×3 RGB uint8.
    saturation_min : float, optional
        A tissue pixel has HSV saturation ≥ this (0..1), default 0.07.
    value_max : float, optional
        A tissue pixel has HSV value ≤ this (0..1), default 0.94 (≈ 240/255).

    Returns
    -------
    ndarray
        H×W bool.

    Notes
    -----
    Computed on integers, equivalent to :func:`skimage.color.rgb2hsv`: value = max(R, G, B) / 255,
    saturation = (max − min) / max (0 for black).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[[250, 250, 250], [180, 80, 160], [30, 30, 30]]], np.uint8)
    >>> tissue_mask(image).tolist()
    [[False, True, False]]
    """
    image = _check_rgb(image)
    red, green, blue = image[..., 0], image[..., 1], image[..., 2]
    vmax = np.maximum(np.maximum(red, green), blue)  # faster than a reduction over 3 channels
    vmin = np.minimum(np.minimum(red, green), blue)
    saturated = (vmax - vmin) >= saturation_min * vmax
    return saturated & (vmax > 0) & (vmax <= value_max * 255.0)


def tissue_fraction(image: np.ndarray, *, saturation_min: float = SATURATION_MIN,
                    value_max: float = VALUE_MAX) -> float:
    """Fraction (0..1) of the pixels of `image` that :func:`tissue_mask` calls tissue.

    Examples
    --------
    >>> import numpy as np
    >>> tissue_fraction(np.array([[[255, 255, 255], [180, 80, 160]]], np.uint8))
    0.5
    """
    return float(tissue_mask(image, saturation_min=saturation_min, value_max=value_max).mean())


def slide_tissue_mask(slide: Slide, *, max_size: int = 2048, saturation_min: float = SATURATION_MIN,
                      value_max: float = VALUE_MAX) -> tuple[np.ndarray, float]:
    """Tissue mask of a whole slide, computed on its thumbnail.

    Parameters
    ----------
    slide : Slide
        An open slide.
    max_size : int, optional
        Longer side of the thumbnail, default 2048 pixels.

    Returns
    -------
    mask : ndarray
        Bool mask of the thumbnail.
    mask_downsample : float
        Level-0 pixels per mask pixel (for :func:`tile_tissue_fractions`).
    """
    thumb = slide.thumbnail(max_size)
    mask = tissue_mask(thumb, saturation_min=saturation_min, value_max=value_max)
    return mask, slide.dimensions[0] / mask.shape[1]


@dataclass(frozen=True)
class Tile:
    """One tile of a grid.

    Attributes
    ----------
    col, row : int
        Grid position.
    x, y : int
        Top-left corner in level-0 pixels (what :meth:`Slide.read_region` takes).
    w, h : int
        Size in pixels at the grid's resolution (``tile_size`` plus overlap, clipped at edges).
    downsample : float
        Level-0 pixels per grid pixel.
    """

    col: int
    row: int
    x: int
    y: int
    w: int
    h: int
    downsample: float = 1.0

    @property
    def level0_box(self) -> tuple[float, float, float, float]:
        """``(x0, y0, x1, y1)`` of the tile in level-0 pixels."""
        return (self.x, self.y, self.x + self.w * self.downsample, self.y + self.h * self.downsample)


def tile_grid(width: int, height: int, tile_size: int, overlap: int = 0, *,
              downsample: float = 1.0) -> list[Tile]:
    """Tiles covering an image, DeepZoom-style: a `tile_size` stride, `overlap` pixels on inner sides.

    Parameters
    ----------
    width, height : int
        Size of the image (a slide's level 0) in level-0 pixels.
    tile_size : int
        Stride of the grid, in pixels at the grid's resolution.
    overlap : int, optional
        Pixels each tile extends past its cell into each neighbour (not past the image edge),
        default 0. Tile (c, r) covers ``[c·s − o, (c + 1)·s + o)`` clipped to the image, as in
        OpenSlide's DeepZoom generator.
    downsample : float, optional
        Level-0 pixels per grid pixel, e.g. 2 to tile a 40x slide at 20x. The grid covers
        ``floor(width / downsample)`` × ``floor(height / downsample)`` pixels.

    Returns
    -------
    list of Tile
        Row by row. Edge tiles are clipped (smaller).

    Examples
    --------
    >>> [(t.x, t.w) for t in tile_grid(10, 4, tile_size=4, overlap=1) if t.row == 0]
    [(0, 5), (3, 6), (7, 3)]
    >>> [(t.x, t.y, t.w, t.h) for t in tile_grid(16, 8, tile_size=4, downsample=2)][:2]
    [(0, 0, 4, 4), (8, 0, 4, 4)]
    """
    if tile_size <= 0:
        raise InputError(f"tile_size must be a positive number of pixels; got {tile_size}")
    if overlap < 0:
        raise InputError(f"overlap must be ≥ 0 pixels; got {overlap}")
    if not (math.isfinite(downsample) and downsample > 0):
        raise InputError(f"downsample must be positive; got {downsample}")
    grid_w = int(math.floor(width / downsample + 1e-9))
    grid_h = int(math.floor(height / downsample + 1e-9))
    if grid_w <= 0 or grid_h <= 0:
        raise InputError(f"image of {width}×{height} pixels is empty at downsample {downsample:g}")
    tiles = []
    for row in range(math.ceil(grid_h / tile_size)):
        y0 = max(row * tile_size - overlap, 0)
        y1 = min((row + 1) * tile_size + overlap, grid_h)
        for col in range(math.ceil(grid_w / tile_size)):
            x0 = max(col * tile_size - overlap, 0)
            x1 = min((col + 1) * tile_size + overlap, grid_w)
            tiles.append(Tile(col, row, round(x0 * downsample), round(y0 * downsample), x1 - x0, y1 - y0,
                              float(downsample)))
    return tiles


def tile_tissue_fractions(tiles: list[Tile], mask: np.ndarray, *, mask_downsample: float = 1.0) -> np.ndarray:
    """Tissue fraction of each tile, from a tissue mask at `mask_downsample` (level-0 px per mask px).

    Each tile's level-0 box is mapped onto the mask (rounded to whole mask pixels, at least one)
    and the fraction of tissue pixels in it is computed with an integral image.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((4, 8), bool); mask[:, :2] = True
    >>> tile_tissue_fractions(tile_grid(8, 4, tile_size=4), mask).tolist()
    [0.5, 0.0]
    """
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim != 2 or 0 in mask.shape:
        raise InputError(f"`mask` has shape {mask.shape}; expected a non-empty H×W tissue mask")
    integral = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), np.int64)
    integral[1:, 1:] = mask.cumsum(0).cumsum(1)
    out = np.empty(len(tiles))
    for i, tile in enumerate(tiles):
        x0, y0, x1, y1 = (v / mask_downsample for v in tile.level0_box)
        c0 = min(max(round(x0), 0), mask.shape[1] - 1)
        r0 = min(max(round(y0), 0), mask.shape[0] - 1)
        c1 = min(max(round(x1), c0 + 1), mask.shape[1])
        r1 = min(max(round(y1), r0 + 1), mask.shape[0])
        total = integral[r1, c1] - integral[r0, c1] - integral[r1, c0] + integral[r0, c0]
        out[i] = total / ((r1 - r0) * (c1 - c0))
    return out


def filter_tiles(tiles: list[Tile], mask: np.ndarray, *, min_tissue: float = MIN_TISSUE,
                 mask_downsample: float = 1.0) -> list[Tile]:
    """The tiles whose tissue fraction is at least `min_tissue` (default 0.7, the paper's 70 %).

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((4, 8), bool); mask[:, :3] = True
    >>> [t.col for t in filter_tiles(tile_grid(8, 4, tile_size=4), mask)]
    [0]
    """
    if not 0.0 <= min_tissue <= 1.0:
        raise InputError(f"min_tissue must be a fraction in [0, 1]; got {min_tissue}")
    fractions = tile_tissue_fractions(tiles, mask, mask_downsample=mask_downsample)
    return [t for t, f in zip(tiles, fractions, strict=True) if f >= min_tissue]
