"""Tissue mask, tile grid and tissue filtering (nucbench.data.tissue)."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.color import rgb2hsv

from nucbench.data.slides import Slide
from nucbench.data.tissue import (
    filter_tiles,
    slide_tissue_mask,
    tile_grid,
    tile_tissue_fractions,
    tissue_fraction,
    tissue_mask,
)
from nucbench.errors import InputError


def test_mask_matches_skimage_hsv():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    hsv = rgb2hsv(image)
    expected = (hsv[..., 1] >= 0.07) & (hsv[..., 2] <= 0.94) & (hsv[..., 2] > 0)
    # tolerate float rounding exactly at the thresholds
    assert (tissue_mask(image) != expected).mean() < 0.01


def test_fraction_and_thresholds():
    image = np.full((4, 4, 3), 245, np.uint8)  # white glass
    image[:, :1] = (160, 60, 140)  # one column of stained tissue: 4 / 16 pixels
    assert tissue_fraction(image) == 0.25
    image[:, 1:2] = (230, 220, 228)  # pale pixel: saturation 10/230 ≈ 0.043, below 0.07
    assert tissue_fraction(image) == 0.25
    assert tissue_fraction(image, saturation_min=0.04) == 0.5


def test_grid_deepzoom_overlap():
    # width 10, stride 4, overlap 2: cells [0,4) [4,8) [8,10) → tiles [0,6) [2,10) [6,10)
    tiles = [t for t in tile_grid(10, 3, tile_size=4, overlap=2) if t.row == 0]
    assert [(t.x, t.x + t.w) for t in tiles] == [(0, 6), (2, 10), (6, 10)]
    assert [t.h for t in tiles] == [3, 3, 3]  # one clipped row
    assert len(tile_grid(10, 3, 4)) == 3 and len(tile_grid(8, 8, 4)) == 4


def test_grid_downsampled_coordinates_are_level0():
    # a 40x slide of 1000×600 tiled at 20x (downsample 2): grid 500×300, tiles 256 → 2×2
    tiles = tile_grid(1000, 600, tile_size=256, downsample=2)
    assert [(t.x, t.y, t.w, t.h) for t in tiles] == [
        (0, 0, 256, 256), (512, 0, 244, 256), (0, 512, 256, 44), (512, 512, 244, 44)]
    assert tiles[3].level0_box == (512, 512, 1000, 600)  # 512 + 244·2, 512 + 44·2


def test_grid_errors():
    with pytest.raises(InputError, match="tile_size"):
        tile_grid(10, 10, 0)
    with pytest.raises(InputError, match="overlap"):
        tile_grid(10, 10, 4, -1)


def test_filter_tiles_min_tissue():
    mask = np.zeros((8, 8), bool)
    mask[:, :3] = True  # both left tiles: 3 of 4 columns = 0.75
    mask[:2, 4:6] = True  # top-right tile: 2×2 of 4×4 = 0.25; bottom-right tile 0
    tiles = tile_grid(8, 8, tile_size=4)  # row by row: (0,0) (1,0) (0,1) (1,1)
    assert tile_tissue_fractions(tiles, mask).tolist() == [0.75, 0.25, 0.75, 0.0]
    assert [(t.col, t.row) for t in filter_tiles(tiles, mask)] == [(0, 0), (0, 1)]
    assert len(filter_tiles(tiles, mask, min_tissue=0.8)) == 0
    assert len(filter_tiles(tiles, mask, min_tissue=0.0)) == 4
    # the same mask at half resolution, tiles in level-0 pixels of a 16×16 image
    tiles16 = tile_grid(16, 16, tile_size=8)
    assert tile_tissue_fractions(tiles16, mask, mask_downsample=2).tolist() == [0.75, 0.25, 0.75, 0.0]


def test_real_slide_tissue(wsi_root):
    with Slide(wsi_root / "CMU-1-Small-Region.svs") as slide:
        mask, down = slide_tissue_mask(slide, max_size=512)
        assert down == pytest.approx(2220 / mask.shape[1])
        # the tissue strip covers about a third of this slide (measured: 0.34)
        assert 0.25 < mask.mean() < 0.45
        tiles = tile_grid(*slide.dimensions, tile_size=224)
        kept = filter_tiles(tiles, mask, mask_downsample=down)
        assert 0 < len(kept) < len(tiles)
        # kept tiles really are tissue at full resolution
        tile = kept[len(kept) // 2]
        assert tissue_fraction(slide.read_region(tile.x, tile.y, tile.w, tile.h)) > 0.6
